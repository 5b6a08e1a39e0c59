/* SPDX-License-Identifier: MIT */
/*
 * zk_size.h - overflow-checked size arithmetic for values that come from the
 * guest (descriptor fields, registers, command fields).
 *
 * Every size, count or offset the engine derives from guest data is built
 * with these helpers.  A ZkSize carries its value and a sticky "bad" bit:
 * once any step overflows 64 bits the result stays bad, so a chain like
 *
 *     ZkSize s = zk_sz_mul(zk_sz_add(zk_sz_mul(zk_sz(n - 1), stride), cols), es);
 *     if (!zk_sz_fits(s, limit, &bytes)) return ZK_FAULT_ENGINE;
 *
 * is checked once at the end and can never wrap to a small number.
 */
#ifndef ZK_SIZE_H
#define ZK_SIZE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ZkSize {
    uint64_t v;
    bool bad;                   /* some step overflowed */
} ZkSize;

static inline ZkSize zk_sz(uint64_t v)
{
    return (ZkSize){ v, false };
}

static inline ZkSize zk_sz_add(ZkSize a, uint64_t b)
{
    ZkSize r;
    bool o = __builtin_add_overflow(a.v, b, &r.v);
    r.bad = a.bad || o;
    return r;
}

static inline ZkSize zk_sz_mul(ZkSize a, uint64_t b)
{
    ZkSize r;
    bool o = __builtin_mul_overflow(a.v, b, &r.v);
    r.bad = a.bad || o;
    return r;
}

static inline ZkSize zk_sz_addsz(ZkSize a, ZkSize b)
{
    ZkSize r = zk_sz_add(a, b.v);
    r.bad |= b.bad;
    return r;
}

/* True (and *out set) when s did not overflow and s <= max. */
static inline bool zk_sz_fits(ZkSize s, uint64_t max, uint64_t *out)
{
    if (s.bad || s.v > max) {
        return false;
    }
    if (out) {
        *out = s.v;
    }
    return true;
}

/* a * b when it fits max, else false: the common one-step case. */
static inline bool zk_mul_fits(uint64_t a, uint64_t b, uint64_t max,
                               uint64_t *out)
{
    return zk_sz_fits(zk_sz_mul(zk_sz(a), b), max, out);
}

#endif /* ZK_SIZE_H */
