/* SPDX-License-Identifier: MIT */
/*
 * zk_dtype.h - element types: sizes and exact conversions to/from fp32.
 *
 * Software conversions (no F16C / _Float16) so the results are identical
 * on every host and compiler: f16/bf16 -> f32 is exact, f32 -> f16/bf16
 * rounds to nearest even, NaN stays NaN, overflow goes to infinity.
 * Integer destinations round to nearest even and saturate.
 */
#ifndef ZK_DTYPE_H
#define ZK_DTYPE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "zhikai_isa.h"

static inline unsigned zk_dt_size(unsigned dt)
{
    static const uint8_t size[ZK_DT_COUNT] = { 4, 2, 2, 1, 4 };
    return dt < ZK_DT_COUNT ? size[dt] : 0;
}

static inline uint32_t zk_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float zk_bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline float zk_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) {
        return zk_bits_f32(sign | 0x7f800000 | man << 13);
    }
    if (exp == 0) {             /* zero or subnormal: man * 2^-24 */
        float f = (float)man * 0x1p-24f;
        return sign ? -f : f;
    }
    return zk_bits_f32(sign | (exp + 112) << 23 | man << 13);
}

static inline uint16_t zk_f32_to_f16(float f)
{
    uint32_t x = zk_f32_bits(f);
    uint16_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7fffffff;
    if (ax > 0x7f800000) {                      /* NaN: keep it quiet */
        return sign | 0x7e00 | ((ax >> 13) & 0x3ff);
    }
    if (ax >= 0x477ff000) {                     /* >= 65520 rounds to inf */
        return sign | 0x7c00;
    }
    if (ax < 0x38800000) {                      /* below 2^-14: subnormal */
        float v = zk_bits_f32(ax) * 0x1p24f;    /* exact: units of 2^-24 */
        uint32_t m = (uint32_t)v;
        float frac = v - (float)m;
        m += frac > 0.5f || (frac == 0.5f && (m & 1));
        return sign | (uint16_t)m;              /* m == 1024 is 2^-14: ok */
    }
    uint32_t r = ax - 0x38000000;               /* rebias 127 -> 15 */
    r += 0x0fff + ((r >> 13) & 1);              /* round to nearest even */
    return sign | (uint16_t)(r >> 13);
}

static inline float zk_bf16_to_f32(uint16_t h)
{
    return zk_bits_f32((uint32_t)h << 16);
}

static inline uint16_t zk_f32_to_bf16(float f)
{
    uint32_t x = zk_f32_bits(f);
    if ((x & 0x7fffffff) > 0x7f800000) {
        return (uint16_t)(x >> 16) | 0x40;
    }
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

/* Round to nearest even and saturate to [lo, hi]; NaN -> 0. */
static inline int64_t zk_round_sat(float v, int64_t lo, int64_t hi)
{
    if (!(v == v)) {
        return 0;
    }
    if (v <= (float)lo) {
        return lo;
    }
    if (v >= (float)hi) {
        return hi;
    }
    return (int64_t)nearbyintf(v);
}

/* Row conversions (n elements, dense). */
static inline void zk_load_row(const void *src, unsigned dt, float *dst,
                               size_t n)
{
    const uint8_t *s = src;
    if (dt == ZK_DT_F32) {
        memmove(dst, src, n * 4);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        switch (dt) {
        case ZK_DT_F32: {
            float v;
            memcpy(&v, s + 4 * i, 4);
            dst[i] = v;
            break;
        }
        case ZK_DT_F16: {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = zk_f16_to_f32(h);
            break;
        }
        case ZK_DT_BF16: {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = zk_bf16_to_f32(h);
            break;
        }
        case ZK_DT_I8:
            dst[i] = (float)(int8_t)s[i];
            break;
        default: {
            int32_t v;
            memcpy(&v, s + 4 * i, 4);
            dst[i] = (float)v;
            break;
        }
        }
    }
}

static inline void zk_store_row(void *dst, unsigned dt, const float *src,
                                size_t n)
{
    uint8_t *d = dst;
    if (dt == ZK_DT_F32) {
        memmove(dst, src, n * 4);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        switch (dt) {
        case ZK_DT_F32:
            memcpy(d + 4 * i, &src[i], 4);
            break;
        case ZK_DT_F16: {
            uint16_t h = zk_f32_to_f16(src[i]);
            memcpy(d + 2 * i, &h, 2);
            break;
        }
        case ZK_DT_BF16: {
            uint16_t h = zk_f32_to_bf16(src[i]);
            memcpy(d + 2 * i, &h, 2);
            break;
        }
        case ZK_DT_I8:
            d[i] = (uint8_t)(int8_t)zk_round_sat(src[i], -128, 127);
            break;
        default: {
            int32_t v = (int32_t)zk_round_sat(src[i], INT32_MIN, INT32_MAX);
            memcpy(d + 4 * i, &v, 4);
            break;
        }
        }
    }
}

#endif
