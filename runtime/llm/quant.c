/* SPDX-License-Identifier: MIT */
/* quant.c - ggml encodings: reference quantizers and dequantizers. */
#include <math.h>
#include <string.h>

#include "gguf.h"
#include "quant.h"
#include "zk_dtype.h"

#define QK 32
#define QK_K 256

float zk_quant_f16_to_f32(uint16_t h)
{
    return zk_f16_to_f32(h);
}

uint16_t zk_quant_f32_to_f16(float f)
{
    return zk_f32_to_f16(f);
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

int zk_quant_supported(uint32_t type)
{
    return type == ZK_GGML_F32 || type == ZK_GGML_F16 || type == ZK_GGML_BF16 ||
           type == ZK_GGML_Q8_0 || type == ZK_GGML_Q4_0 || type == ZK_GGML_Q4_K ||
           type == ZK_GGML_Q6_K;
}

size_t zk_quant_bytes(uint32_t type, uint64_t n)
{
    uint32_t block, bytes;
    if (!zk_ggml_type_size(type, &block, &bytes) || n % block || n / block > SIZE_MAX / bytes) {
        return 0;
    }
    return (size_t)(n / block * bytes);
}

static void quant_q8_0(const float *x, uint8_t *b)
{
    float amax = 0;
    for (int i = 0; i < QK; i++) {
        amax = fmaxf(amax, fabsf(x[i]));
    }
    float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
    wr16(b, zk_f32_to_f16(d));
    for (int i = 0; i < QK; i++) {
        b[2 + i] = (uint8_t)(int8_t)roundf(x[i] * id);
    }
}

static void quant_q4_0(const float *x, uint8_t *b)
{
    float amax = 0, max = 0;
    for (int i = 0; i < QK; i++) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    }
    float d = max / -8.0f, id = d != 0 ? 1.0f / d : 0.0f;
    wr16(b, zk_f32_to_f16(d));
    for (int j = 0; j < QK / 2; j++) {
        float v0 = x[j] * id + 8.5f, v1 = x[j + QK / 2] * id + 8.5f;
        uint8_t q0 = (uint8_t)fminf(15.0f, fmaxf(0.0f, v0));
        uint8_t q1 = (uint8_t)fminf(15.0f, fmaxf(0.0f, v1));
        b[2 + j] = (uint8_t)(q0 | q1 << 4);
    }
}

int zk_quantize(uint32_t type, const float *x, void *out, size_t n)
{
    uint8_t *o = out;
    switch (type) {
    case ZK_GGML_F32:
        memcpy(out, x, n * 4);
        return 0;
    case ZK_GGML_F16:
    case ZK_GGML_BF16:
        for (size_t i = 0; i < n; i++) {
            wr16(o + 2 * i, type == ZK_GGML_F16 ? zk_f32_to_f16(x[i]) : zk_f32_to_bf16(x[i]));
        }
        return 0;
    case ZK_GGML_Q8_0:
    case ZK_GGML_Q4_0:
        if (n % QK) {
            return -1;
        }
        for (size_t b = 0; b < n / QK; b++) {
            if (type == ZK_GGML_Q8_0) {
                quant_q8_0(x + b * QK, o + b * 34);
            } else {
                quant_q4_0(x + b * QK, o + b * 18);
            }
        }
        return 0;
    default:
        return -1;
    }
}

/* Q4_K / Q6_K super-blocks (ggml-common.h layouts). */
static void scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m)
{
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* Q4_K: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles. */
static void deq_q4_k(const uint8_t *b, float *y)
{
    float d = zk_f16_to_f32(rd16(b)), dmin = zk_f16_to_f32(rd16(b + 2));
    const uint8_t *scales = b + 4, *q = b + 16;
    int is = 0;
    for (int j = 0; j < QK_K; j += 64) {
        uint8_t sc, m;
        scale_min_k4(is, scales, &sc, &m);
        float d1 = d * sc, m1 = dmin * m;
        scale_min_k4(is + 1, scales, &sc, &m);
        float d2 = d * sc, m2 = dmin * m;
        for (int l = 0; l < 32; l++) {
            *y++ = d1 * (q[l] & 0xF) - m1;
        }
        for (int l = 0; l < 32; l++) {
            *y++ = d2 * (q[l] >> 4) - m2;
        }
        q += 32;
        is += 2;
    }
}

/* Q6_K: 128 bytes low 4 bits, 64 bytes high 2 bits, 16 int8 scales, f16 d. */
static void deq_q6_k(const uint8_t *b, float *y)
{
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    float d = zk_f16_to_f32(rd16(b + 208));
    for (int n = 0; n < QK_K; n += 128) {
        for (int l = 0; l < 32; l++) {
            int is = l / 16;
            int q1 = (int)((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32;
            int q2 = (int)((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32;
            int q3 = (int)((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
            int q4 = (int)((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
            y[l] = d * sc[is] * q1;
            y[l + 32] = d * sc[is + 2] * q2;
            y[l + 64] = d * sc[is + 4] * q3;
            y[l + 96] = d * sc[is + 6] * q4;
        }
        y += 128;
        ql += 64;
        qh += 32;
        sc += 8;
    }
}

int zk_dequantize(uint32_t type, const void *src, float *out, size_t n)
{
    const uint8_t *s = src;
    switch (type) {
    case ZK_GGML_F32:
        memcpy(out, src, n * 4);
        return 0;
    case ZK_GGML_F16:
        for (size_t i = 0; i < n; i++) {
            out[i] = zk_f16_to_f32(rd16(s + 2 * i));
        }
        return 0;
    case ZK_GGML_BF16:
        for (size_t i = 0; i < n; i++) {
            out[i] = zk_bf16_to_f32(rd16(s + 2 * i));
        }
        return 0;
    case ZK_GGML_Q8_0:
        if (n % QK) {
            return -1;
        }
        for (size_t b = 0; b < n / QK; b++, s += 34) {
            float d = zk_f16_to_f32(rd16(s));
            for (int i = 0; i < QK; i++) {
                out[b * QK + i] = (float)(int8_t)s[2 + i] * d;
            }
        }
        return 0;
    case ZK_GGML_Q4_0:
        if (n % QK) {
            return -1;
        }
        for (size_t b = 0; b < n / QK; b++, s += 18) {
            float d = zk_f16_to_f32(rd16(s));
            for (int j = 0; j < QK / 2; j++) {
                out[b * QK + j] = (float)((s[2 + j] & 0xF) - 8) * d;
                out[b * QK + j + QK / 2] = (float)((s[2 + j] >> 4) - 8) * d;
            }
        }
        return 0;
    case ZK_GGML_Q4_K:
    case ZK_GGML_Q6_K:
        if (n % QK_K) {
            return -1;
        }
        for (size_t b = 0; b < n / QK_K; b++) {
            if (type == ZK_GGML_Q4_K) {
                deq_q4_k(s + b * 144, out + b * QK_K);
            } else {
                deq_q6_k(s + b * 210, out + b * QK_K);
            }
        }
        return 0;
    default:
        return -1;
    }
}
