/* SPDX-License-Identifier: MIT */
/*
 * zk_tops.c - row-wise tensor operations on host tiles.
 *
 * Each operation widens a row to fp32, computes, and narrows the result to
 * the destination dtype.  Working row by row through a scratch buffer makes
 * every op correct for any dtype mix and for exact in-place use (td == ta).
 * Sums (norms, softmax, reductions) accumulate in double so results do not
 * depend on the row length's rounding drift.
 */
#include <math.h>
#include <stdlib.h>

#include "zk_dtype.h"
#include "zk_tensor.h"

/* Scratch rows: n floats each, k of them, one allocation. */
static float *scratch(uint64_t n, int k)
{
    return malloc((n ? n : 1) * (size_t)k * sizeof(float));
}

static float silu(float x)
{
    return x / (1.0f + expf(-x));
}

static float gelu(float x)
{
    const float c = 0.7978845608028654f;    /* sqrt(2/pi) */
    return 0.5f * x * (1.0f + tanhf(c * (x + 0.044715f * x * x * x)));
}

/*
 * One loop per operation, chosen once per row: the per-element loops stay
 * branch-free so the compiler can vectorise them.
 */
static void ebin_row(float *x, const float *y, uint64_t n, unsigned fn)
{
    switch (fn) {
    case ZK_EB_ADD:
        for (uint64_t i = 0; i < n; i++) {
            x[i] += y[i];
        }
        break;
    case ZK_EB_SUB:
        for (uint64_t i = 0; i < n; i++) {
            x[i] -= y[i];
        }
        break;
    case ZK_EB_MUL:
        for (uint64_t i = 0; i < n; i++) {
            x[i] *= y[i];
        }
        break;
    default:
        for (uint64_t i = 0; i < n; i++) {
            x[i] = silu(x[i]) * y[i];
        }
        break;
    }
}

static void eun_row(float *x, uint64_t n, unsigned fn)
{
    switch (fn) {
    case ZK_EU_COPY:
        break;
    case ZK_EU_SILU:
        for (uint64_t i = 0; i < n; i++) {
            x[i] = silu(x[i]);
        }
        break;
    case ZK_EU_GELU:
        for (uint64_t i = 0; i < n; i++) {
            x[i] = gelu(x[i]);
        }
        break;
    case ZK_EU_EXP:
        for (uint64_t i = 0; i < n; i++) {
            x[i] = expf(x[i]);
        }
        break;
    default:
        for (uint64_t i = 0; i < n; i++) {
            x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        }
        break;
    }
}

int zk_ebin(const ZkTile *d, const ZkTile *a, const ZkTile *b, unsigned fn)
{
    uint64_t n = d->cols;
    float *x = scratch(n, 2), *y = x + n;
    if (!x) {
        return -1;
    }
    for (uint64_t r = 0; r < d->rows; r++) {
        zk_load_row(zk_tile_row(a, r), a->dtype, x, n);
        zk_load_row(zk_tile_row(b, b->rows == 1 ? 0 : r), b->dtype, y, n);
        ebin_row(x, y, n, fn);
        zk_store_row(zk_tile_row(d, r), d->dtype, x, n);
    }
    free(x);
    return 0;
}

int zk_eun(const ZkTile *d, const ZkTile *a, unsigned fn)
{
    uint64_t n = d->cols;
    float *x = scratch(n, 1);
    if (!x) {
        return -1;
    }
    for (uint64_t r = 0; r < d->rows; r++) {
        zk_load_row(zk_tile_row(a, r), a->dtype, x, n);
        eun_row(x, n, fn);
        zk_store_row(zk_tile_row(d, r), d->dtype, x, n);
    }
    free(x);
    return 0;
}

int zk_escale(const ZkTile *d, const ZkTile *a, float mul, float add)
{
    uint64_t n = d->cols;
    float *x = scratch(n, 1);
    if (!x) {
        return -1;
    }
    for (uint64_t r = 0; r < d->rows; r++) {
        zk_load_row(zk_tile_row(a, r), a->dtype, x, n);
        for (uint64_t i = 0; i < n; i++) {
            x[i] = x[i] * mul + add;
        }
        zk_store_row(zk_tile_row(d, r), d->dtype, x, n);
    }
    free(x);
    return 0;
}

int zk_reduce(const ZkTile *d, const ZkTile *a, unsigned fn)
{
    uint64_t n = a->cols;
    float *x = scratch(n, 1);
    if (!x) {
        return -1;
    }
    for (uint64_t r = 0; r < a->rows; r++) {
        float out;
        zk_load_row(zk_tile_row(a, r), a->dtype, x, n);
        if (fn == ZK_RED_SUM) {
            double s = 0;
            for (uint64_t i = 0; i < n; i++) {
                s += x[i];
            }
            out = (float)s;
        } else {
            /* First maximum; NaNs never win.  Empty rows: -inf / index 0. */
            uint64_t best = 0;
            float m = -INFINITY;
            for (uint64_t i = 0; i < n; i++) {
                if (x[i] > m) {
                    m = x[i];
                    best = i;
                }
            }
            out = fn == ZK_RED_MAX ? m : (float)best;
        }
        zk_store_row(zk_tile_row(d, r), d->dtype, &out, 1);
    }
    free(x);
    return 0;
}

/* In-place softmax of n floats. */
void zk_softmax_f32(float *x, uint64_t n)
{
    float m = -INFINITY;
    double sum = 0;
    for (uint64_t i = 0; i < n; i++) {
        m = x[i] > m ? x[i] : m;
    }
    for (uint64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - m);
        sum += x[i];
    }
    for (uint64_t i = 0; i < n; i++) {
        x[i] = (float)(x[i] / sum);
    }
}

int zk_softmax(const ZkTile *d, const ZkTile *a)
{
    uint64_t n = d->cols;
    float *x = scratch(n, 1);
    if (!x) {
        return -1;
    }
    for (uint64_t r = 0; r < d->rows; r++) {
        zk_load_row(zk_tile_row(a, r), a->dtype, x, n);
        zk_softmax_f32(x, n);
        zk_store_row(zk_tile_row(d, r), d->dtype, x, n);
    }
    free(x);
    return 0;
}

int zk_rmsnorm(const ZkTile *d, const ZkTile *a, const ZkTile *w, float eps)
{
    uint64_t n = d->cols;
    float *x = scratch(n, 2), *wv = x + n;
    if (!x) {
        return -1;
    }
    zk_load_row(zk_tile_row(w, 0), w->dtype, wv, n);
    for (uint64_t r = 0; r < d->rows; r++) {
        double ss = 0;
        zk_load_row(zk_tile_row(a, r), a->dtype, x, n);
        for (uint64_t i = 0; i < n; i++) {
            ss += (double)x[i] * x[i];
        }
        float inv = (float)(1.0 / sqrt(ss / (double)(n ? n : 1) + eps));
        for (uint64_t i = 0; i < n; i++) {
            x[i] = wv[i] * (inv * x[i]);
        }
        zk_store_row(zk_tile_row(d, r), d->dtype, x, n);
    }
    free(x);
    return 0;
}

int zk_layernorm(const ZkTile *d, const ZkTile *a, const ZkTile *w,
                 const ZkTile *b, float eps)
{
    uint64_t n = d->cols;
    float *x = scratch(n, 3), *wv = x + n, *bv = x + 2 * n;
    if (!x) {
        return -1;
    }
    zk_load_row(zk_tile_row(w, 0), w->dtype, wv, n);
    for (uint64_t i = 0; i < n; i++) {
        bv[i] = 0.0f;
    }
    if (b) {
        zk_load_row(zk_tile_row(b, 0), b->dtype, bv, n);
    }
    for (uint64_t r = 0; r < d->rows; r++) {
        double mean = 0, var = 0;
        zk_load_row(zk_tile_row(a, r), a->dtype, x, n);
        for (uint64_t i = 0; i < n; i++) {
            mean += x[i];
        }
        mean /= (double)(n ? n : 1);
        for (uint64_t i = 0; i < n; i++) {
            var += (x[i] - mean) * (x[i] - mean);
        }
        var /= (double)(n ? n : 1);
        float inv = (float)(1.0 / sqrt(var + eps));
        for (uint64_t i = 0; i < n; i++) {
            x[i] = (float)(x[i] - mean) * inv * wv[i] + bv[i];
        }
        zk_store_row(zk_tile_row(d, r), d->dtype, x, n);
    }
    free(x);
    return 0;
}

/* Exactly llama2.c's loop, so its checkpoints give identical activations. */
int zk_rope(const ZkTile *d, const ZkTile *a, uint64_t pos0, uint64_t head_dim,
            float theta, float scale)
{
    uint64_t n = d->cols;
    float *x = scratch(n, 1);
    if (!x) {
        return -1;
    }
    for (uint64_t r = 0; r < d->rows; r++) {
        float pos = (float)(pos0 + r) * scale;
        zk_load_row(zk_tile_row(a, r), a->dtype, x, n);
        for (uint64_t i = 0; i + 1 < n; i += 2) {
            float hd = (float)(i % head_dim);
            float freq = 1.0f / powf(theta, hd / (float)head_dim);
            float val = pos * freq;
            float fcr = cosf(val), fci = sinf(val);
            float v0 = x[i], v1 = x[i + 1];
            x[i] = v0 * fcr - v1 * fci;
            x[i + 1] = v0 * fci + v1 * fcr;
        }
        zk_store_row(zk_tile_row(d, r), d->dtype, x, n);
    }
    free(x);
    return 0;
}

/* Symmetric per-row int8: s = max|x| / 127, q = round(x / s) (0 if s = 0). */
int zk_quant(const ZkTile *q, const ZkTile *a, const ZkTile *scales)
{
    uint64_t n = a->cols;
    float *x = scratch(n, 1);
    if (!x) {
        return -1;
    }
    for (uint64_t r = 0; r < a->rows; r++) {
        float amax = 0.0f;
        zk_load_row(zk_tile_row(a, r), a->dtype, x, n);
        for (uint64_t i = 0; i < n; i++) {
            float v = fabsf(x[i]);
            amax = v > amax ? v : amax;
        }
        float s = amax / 127.0f;
        for (uint64_t i = 0; i < n; i++) {
            x[i] = s > 0.0f ? x[i] / s : 0.0f;
        }
        zk_store_row(zk_tile_row(q, r), ZK_DT_I8, x, n);
        zk_store_row(zk_tile_row(scales, r), scales->dtype, &s, 1);
    }
    free(x);
    return 0;
}

int zk_dequant(const ZkTile *d, const ZkTile *q, const ZkTile *scales)
{
    uint64_t n = d->cols;
    float *x = scratch(n, 1);
    if (!x) {
        return -1;
    }
    for (uint64_t r = 0; r < d->rows; r++) {
        float s;
        zk_load_row(zk_tile_row(scales, r), scales->dtype, &s, 1);
        zk_load_row(zk_tile_row(q, r), ZK_DT_I8, x, n);
        for (uint64_t i = 0; i < n; i++) {
            x[i] *= s;
        }
        zk_store_row(zk_tile_row(d, r), d->dtype, x, n);
    }
    free(x);
    return 0;
}

/* Copy n rows (converting dtype) from s[srow..] to d[drow..]. */
int zk_copy_rows(const ZkTile *d, uint64_t drow, const ZkTile *s,
                 uint64_t srow, uint64_t n)
{
    float *x = scratch(d->cols, 1);
    if (!x) {
        return -1;
    }
    for (uint64_t r = 0; r < n; r++) {
        zk_load_row(zk_tile_row(s, srow + r), s->dtype, x, d->cols);
        zk_store_row(zk_tile_row(d, drow + r), d->dtype, x, d->cols);
    }
    free(x);
    return 0;
}
