/* SPDX-License-Identifier: MIT */
/*
 * zk_qgemm.c - QMATMUL: f32 activations times block-quantized weights
 * (Q8_0 / Q4_0, ggml's layouts; include/zhikai_isa.h) read in place, so the
 * bytes a decode step moves follow the quantized size.  Each activation row
 * is quantized to int8 per 32-block (as llama.cpp's Q8_0 activations), then
 * every weight row is a run of int8 block dot products (plain loops over 32
 * lanes) scaled by the two block scales, summed in one defined order
 * (qdot_c) that the AVX2 path reproduces bit for bit.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "zk_dtype.h"
#include "zk_tensor.h"

static unsigned block_bytes(unsigned dt)
{
    return dt == ZK_DT_Q8_0 ? ZK_Q8_0_BYTES : dt == ZK_DT_Q4_0 ? ZK_Q4_0_BYTES : 0;
}

void zk_q8_quantize_row(const float *x, uint64_t n, int8_t *aq, float *ad)
{
    for (uint64_t b = 0; b < n / ZK_QBLOCK; b++) {
        const float *xb = x + b * ZK_QBLOCK;
        float amax = 0.0f;
        for (int i = 0; i < ZK_QBLOCK; i++) {
            amax = fmaxf(amax, fabsf(xb[i]));
        }
        float d = amax / 127.0f, id = d > 0.0f ? 1.0f / d : 0.0f;
        ad[b] = d;
        for (int i = 0; i < ZK_QBLOCK; i++) {
            aq[b * ZK_QBLOCK + i] = (int8_t)roundf(xb[i] * id);
        }
    }
}

static float half(const uint8_t *p)
{
    return zk_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/* qdot_c's sums with AVX2: |w| * sign(a, w) in u8 x s8 pairs (no
 * saturation: |w| <= 128, |a| <= 127), widened to the eight int32 partial
 * sums, scaled and accumulated as floats across blocks, so the horizontal
 * sum happens once per row, not once per block. */
__attribute__((target("avx2,fma,f16c")))
static float qdot_avx2(unsigned dtype, const uint8_t *brow, const int8_t *aq, const float *ad,
                       uint64_t n)
{
    const __m256i ones = _mm256_set1_epi16(1);
    const __m128i low4 = _mm_set1_epi8(15);
    __m256 acc = _mm256_setzero_ps();
    uint64_t bb = dtype == ZK_DT_Q8_0 ? ZK_Q8_0_BYTES : ZK_Q4_0_BYTES;
    for (uint64_t b = 0; b < n / ZK_QBLOCK; b++, brow += bb) {
        __m256i w;
        if (dtype == ZK_DT_Q8_0) {
            w = _mm256_loadu_si256((const __m256i *)(brow + 2));
        } else {
            __m128i q = _mm_loadu_si128((const __m128i *)(brow + 2));
            __m128i lo = _mm_and_si128(q, low4), hi = _mm_and_si128(_mm_srli_epi16(q, 4), low4);
            w = _mm256_sub_epi8(_mm256_set_m128i(hi, lo), _mm256_set1_epi8(8));
        }
        __m256i a = _mm256_loadu_si256((const __m256i *)(aq + b * ZK_QBLOCK));
        __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w),
                                                           _mm256_sign_epi8(a, w)), ones);
        uint16_t h;
        memcpy(&h, brow, 2);
        float d = _cvtsh_ss(h) * ad[b];
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(d), acc);
    }
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    s4 = _mm_add_ss(s4, _mm_movehdup_ps(s4));
    return _mm_cvtss_f32(s4);
}
#endif

static float qdot_c(unsigned dtype, const uint8_t *brow, const int8_t *aq, const float *ad, uint64_t n);

#if defined(__x86_64__)
/* clang 14's __builtin_cpu_supports does not know "f16c": ask CPUID. */
static int has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}
#endif

float zk_qdot(unsigned dtype, const uint8_t *brow, const int8_t *aq, const float *ad, uint64_t n)
{
#if defined(__x86_64__)
    static int avx2 = -1;      /* ZK_QGEMM_NO_SIMD=1: the C loops */
    if (avx2 < 0) {
        avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               has_f16c() && !getenv("ZK_QGEMM_NO_SIMD") ? 1 : 0;
    }
    if (avx2) {
        return qdot_avx2(dtype, brow, aq, ad, n);
    }
#endif
    return qdot_c(dtype, brow, aq, ad, n);
}

/* Weight element i (0..31) of a block: Q8_0 bytes as they are; Q4_0 low
 * nibbles first (elements 0..15), then the high ones (16..31), minus 8. */
static int qweight(unsigned dtype, const uint8_t *blk, int i)
{
    if (dtype == ZK_DT_Q8_0) {
        return (int8_t)blk[2 + i];
    }
    return i < 16 ? (blk[2 + i] & 15) - 8 : (blk[2 + i - 16] >> 4) - 8;
}

/*
 * The defined summation order (docs/isa.md, qmatmul), which the AVX2 path
 * computes too, so results do not depend on the host CPU: per block, eight
 * int32 partial sums of four products each (elements 4j..4j+3), each added
 * into float lane j with one fused multiply-add by the block's scale
 * (f16 weight scale x activation scale); at the end of the row the lanes
 * reduce as ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)).
 */
static float qdot_c(unsigned dtype, const uint8_t *brow, const int8_t *aq, const float *ad, uint64_t n)
{
    float l[8] = { 0 };
    uint64_t bb = dtype == ZK_DT_Q8_0 ? ZK_Q8_0_BYTES : ZK_Q4_0_BYTES;
    for (uint64_t b = 0; b < n / ZK_QBLOCK; b++, brow += bb) {
        const int8_t *a = aq + b * ZK_QBLOCK;
        float d = half(brow) * ad[b];
        for (int j = 0; j < 8; j++) {
            int32_t p = 0;
            for (int i = 4 * j; i < 4 * j + 4; i++) {
                p += qweight(dtype, brow, i) * a[i];
            }
            l[j] = fmaf((float)p, d, l[j]);
        }
    }
    return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
}

int zk_exec_qmatmul(ZkExec *ex, ZkDesc desc[], const uint64_t regs[], uint64_t insn)
{
    uint32_t imm = (uint32_t)ZK_INSN_IMM(insn);
    unsigned fn = ZK_TI_FN(imm);
    const ZkDesc *c = &desc[ZK_INSN_RD(insn)], *a = &desc[ZK_INSN_RA(insn)];
    const ZkDesc *b = &desc[ZK_INSN_RB(insn)];
    unsigned bb = block_bytes(b->dtype);
    uint64_t m = a->rows, k = a->cols, n = b->rows;
    ZkView vc, va, vb;
    int err;
    (void)regs;

    /* Whole blocks only: a row length that is not a multiple of 32 is a
     * fault, not a partial block read past the row. */
    if (!bb || k % ZK_QBLOCK || b->cols != k || b->stride % ZK_QBLOCK ||
        (b->stride && b->stride < b->cols) || c->rows != m || c->cols != n ||
        c->dtype != ZK_DT_F32 || (a->dtype != ZK_DT_F32 && a->dtype != ZK_DT_F16 &&
                                  a->dtype != ZK_DT_BF16) ||
        k > (1u << 20) || b->stride > (1ull << 39)) {
        return ZK_FAULT_ENGINE;
    }
    /* The weights as bytes: cols / 32 blocks per row. */
    ZkDesc braw = { b->va, b->rows, k / ZK_QBLOCK * bb, b->stride / ZK_QBLOCK * bb, ZK_DT_I8 };
    err = zk_view_get(ex, &braw, 0, n, ZK_VIEW_IN, &vb);
    if (err) {
        return err;
    }
    err = zk_view_get(ex, a, 0, m, ZK_VIEW_IN, &va);
    if (err) {
        zk_view_put(ex, &vb);
        return err;
    }
    err = zk_view_get(ex, c, 0, m, (fn & ZK_MM_ACC) ? ZK_VIEW_INOUT : ZK_VIEW_OUT, &vc);
    if (err) {
        zk_view_put(ex, &va);
        zk_view_put(ex, &vb);
        return err;
    }
    float *x = malloc(k * sizeof(float) + 1);
    int8_t *aq = malloc(k + 1);
    float *ad = malloc(k / ZK_QBLOCK * sizeof(float) + 1);
    if (!x || !aq || !ad) {
        err = ZK_FAULT_ENGINE;
    }
    for (uint64_t i = 0; !err && i < m; i++) {
        float *crow = (float *)zk_tile_row(&vc.t, i);
        if (zk_exec_aborted(ex)) {      /* a reset or unplug: stop between rows */
            err = ZK_FAULT_ENGINE;
            break;
        }
        zk_load_row(zk_tile_row(&va.t, i), a->dtype, x, k);
        zk_q8_quantize_row(x, k, aq, ad);
        for (uint64_t j = 0; j < n; j++) {
            float v = zk_qdot(b->dtype, vb.t.p + j * vb.t.stride, aq, ad, k), old;
            if (fn & ZK_MM_ACC) {
                memcpy(&old, crow + j, 4);
                v += old;
            }
            memcpy(crow + j, &v, 4);
        }
    }
    free(x);
    free(aq);
    free(ad);
    ex->st->flops[ZK_DT_I8] += 2 * m * n * k;
    /* Reverse order: an output aliasing an input is written last. */
    int r = zk_view_put(ex, &vc);
    int r2 = zk_view_put(ex, &va);
    int r3 = zk_view_put(ex, &vb);
    return err ? err : r ? r : r2 ? r2 : r3;
}

/* a before b in top-k order: larger first, NaN last, ties to the lower index. */
static bool topk_before(float va, uint32_t ia, float vb, uint32_t ib)
{
    if (isnan(va) || isnan(vb)) {
        return isnan(vb) && (!isnan(va) || ia < ib);
    }
    return va > vb || (va == vb && ia < ib);
}

/* Replace the root of the m-entry heap by (v, i) and sift it down. */
static void topk_replace_root(float *hv, uint32_t *hi, uint64_t m, float v, uint32_t i)
{
    uint64_t at = 0;
    for (;;) {
        uint64_t l = 2 * at + 1, w = at;
        float wv = v;
        uint32_t wi = i;
        if (l < m && topk_before(wv, wi, hv[l], hi[l])) {
            w = l;
            wv = hv[l];
            wi = hi[l];
        }
        if (l + 1 < m && topk_before(wv, wi, hv[l + 1], hi[l + 1])) {
            w = l + 1;
        }
        if (w == at) {
            break;
        }
        hv[at] = hv[w];
        hi[at] = hi[w];
        at = w;
    }
    hv[at] = v;
    hi[at] = i;
}

int zk_exec_topk(ZkExec *ex, ZkDesc desc[], const uint64_t regs[], uint64_t insn)
{
    const ZkDesc *d = &desc[ZK_INSN_RD(insn)], *a = &desc[ZK_INSN_RA(insn)];
    const ZkDesc *b = &desc[ZK_INSN_RB(insn)];
    uint64_t rows = a->rows, n = a->cols, k = d->cols;
    ZkView vd, va, vb;
    int err;
    (void)regs;

    if (k == 0 || k > 1024 || k > n || d->rows != rows || b->rows != rows || b->cols != k ||
        d->dtype != ZK_DT_F32 || b->dtype != ZK_DT_I32 ||
        (a->dtype != ZK_DT_F32 && a->dtype != ZK_DT_F16 && a->dtype != ZK_DT_BF16)) {
        return ZK_FAULT_ENGINE;
    }
    if ((err = zk_view_get(ex, a, 0, rows, ZK_VIEW_IN, &va))) {
        return err;
    }
    if ((err = zk_view_get(ex, d, 0, rows, ZK_VIEW_OUT, &vd))) {
        zk_view_put(ex, &va);
        return err;
    }
    if ((err = zk_view_get(ex, b, 0, rows, ZK_VIEW_OUT, &vb))) {
        zk_view_put(ex, &vd);
        zk_view_put(ex, &va);
        return err;
    }
    float *x = malloc(n * sizeof(float) + 1), *hv = malloc(k * sizeof(float));
    uint32_t *hi = malloc(k * sizeof(uint32_t));
    if (!x || !hv || !hi) {
        err = ZK_FAULT_ENGINE;
    }
    for (uint64_t r = 0; !err && r < rows; r++) {
        uint64_t m = 0;
        if (zk_exec_aborted(ex)) {
            err = ZK_FAULT_ENGINE;
            break;
        }
        zk_load_row(zk_tile_row(&va.t, r), a->dtype, x, n);
        /* Min-heap (by top-k order) of the best k so far: root = worst kept. */
        for (uint64_t i = 0; i < n; i++) {
            if (m < k) {
                uint64_t at = m++;
                while (at && topk_before(hv[(at - 1) / 2], hi[(at - 1) / 2], x[i], (uint32_t)i)) {
                    hv[at] = hv[(at - 1) / 2];
                    hi[at] = hi[(at - 1) / 2];
                    at = (at - 1) / 2;
                }
                hv[at] = x[i];
                hi[at] = (uint32_t)i;
            } else if (topk_before(x[i], (uint32_t)i, hv[0], hi[0])) {
                topk_replace_root(hv, hi, k, x[i], (uint32_t)i);
            }
        }
        /* Pop worst-first into the row from its end. */
        float *dv = (float *)zk_tile_row(&vd.t, r);
        uint8_t *di = zk_tile_row(&vb.t, r);
        for (uint64_t j = k; j-- > 0;) {
            float v0 = hv[0];
            int32_t i0 = (int32_t)hi[0];
            memcpy(dv + j, &v0, 4);
            memcpy(di + 4 * j, &i0, 4);
            m--;
            topk_replace_root(hv, hi, m, hv[m], hi[m]);
        }
    }
    free(x);
    free(hv);
    free(hi);
    ex->st->flops[ZK_DT_F32] += rows * n;
    int r1 = zk_view_put(ex, &vb);
    int r2 = zk_view_put(ex, &vd);
    int r3 = zk_view_put(ex, &va);
    return err ? err : r1 ? r1 : r2 ? r2 : r3;
}
