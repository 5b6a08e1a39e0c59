/* SPDX-License-Identifier: MIT */
/*
 * zk_gemm.c - the MATMUL instruction on host tiles.
 *
 *  f32:       OpenBLAS sgemm straight on the (mapped) HBM tiles.
 *  f16/bf16:  both operands are widened exactly to dense f32 panels, then
 *             sgemm: the same math as an fp32-accumulating tensor core, and
 *             widening is O(MK + KN) next to the O(MNK) product.
 *  i8:        operands widened to int16 panels (B transposed so both are
 *             K-contiguous, K padded to 16, zero rows to round M/N up) and
 *             multiplied by a 2x4 register-blocked kernel; the AVX2 variant
 *             uses vpmaddwd (16 int16 products -> 8 int32 sums per step).
 *             Sums are exact in int32 for K < 2^17 (127*128*K < 2^31).
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ZK_HAVE_X86 1
#else
#define ZK_HAVE_X86 0
#endif

#include "zk_dtype.h"
#include "zk_tensor.h"

#define KPAD 16             /* int8 K padding: one AVX2 vpmaddwd step */

/* QEMU runs many threads; OpenBLAS must not spawn its own pool per call. */
static void blas_single_thread(void)
{
    static int done;
    if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
        openblas_set_num_threads(1);
        __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    }
}

/*
 * BLAS takes int dimensions.  The engine's chunking keeps every chunk far
 * below INT_MAX and bounces tiles whose stride is larger, so this only
 * refuses (never truncates) if that ever stopped being true.
 */
static bool blas_int(uint64_t v, int *out)
{
    if (v > INT32_MAX) {
        return false;
    }
    *out = (int)v;
    return true;
}

/* Leading dimension of a tile as BLAS sees it (at least 1). */
static bool ld(const ZkTile *t, int *out)
{
    uint64_t l = t->stride > t->cols ? t->stride : t->cols;
    return blas_int(l ? l : 1, out);
}

uint64_t zk_gemm_scratch(uint64_t m, uint64_t n, uint64_t k, unsigned dt,
                         unsigned flags)
{
    uint64_t bytes;
    ZkSize s;
    (void)flags;
    if (dt == ZK_DT_F32) {
        return 0;
    }
    if (dt == ZK_DT_I8) {     /* the padded int16 panels of gemm_i8 */
        uint64_t kp = k / KPAD * KPAD + KPAD;
        s = zk_sz_mul(zk_sz_add(zk_sz_mul(zk_sz(m + 2), kp), 1), 2);
        s = zk_sz_addsz(s, zk_sz_mul(zk_sz_add(zk_sz_mul(zk_sz(n + 4), kp), 1), 2));
    } else {                  /* f16/bf16 widened to f32 panels */
        s = zk_sz_mul(zk_sz_add(zk_sz_mul(zk_sz(m + 1), k), k), 4);
        s = zk_sz_addsz(s, zk_sz_mul(zk_sz_add(zk_sz_mul(zk_sz(n + 1), k), k), 4));
    }
    return zk_sz_fits(s, UINT64_MAX, &bytes) ? bytes : UINT64_MAX;
}

/* Widen a tile to a dense f32 panel (rows x cols). */
static float *to_f32(const ZkTile *t)
{
    uint64_t n = t->rows * t->cols;
    float *p = malloc((n ? n : 1) * sizeof(float));
    if (p) {
        for (uint64_t r = 0; r < t->rows; r++) {
            zk_load_row(zk_tile_row(t, r), t->dtype, p + r * t->cols, t->cols);
        }
    }
    return p;
}

static int gemm_float(const ZkTile *c, const ZkTile *a, const ZkTile *b,
                      unsigned flags)
{
    uint64_t m = c->rows, n = c->cols, k = a->cols;
    bool bt = flags & ZK_MM_BT;
    const float *pa = (const float *)a->p, *pb = (const float *)b->p;
    float *wa = NULL, *wb = NULL;
    int im, in, ik, lda, ldb, ldc;

    if (!blas_int(m, &im) || !blas_int(n, &in) || !blas_int(k, &ik) ||
        !ld(a, &lda) || !ld(b, &ldb) || !ld(c, &ldc)) {
        return -1;
    }
    if (a->dtype != ZK_DT_F32) {
        pa = wa = to_f32(a);
        pb = wb = to_f32(b);
        lda = ik ? ik : 1;
        ldb = (bt ? ik : in) ? (bt ? ik : in) : 1;
        if (!wa || !wb) {
            free(wa);
            free(wb);
            return -1;
        }
    }
    blas_single_thread();
    if (m == 1) {
        /*
         * One row (a decode step at batch 1): sgemv streams B once at memory
         * speed, where sgemm would repack all of B on every call (~3x slower).
         * c[1 x n] = a[1 x k] . B, with B n x k (bt) or k x n.
         */
        cblas_sgemv(CblasRowMajor, bt ? CblasNoTrans : CblasTrans,
                    bt ? in : ik, bt ? ik : in, 1.0f,
                    pb, ldb, pa, 1, (flags & ZK_MM_ACC) ? 1.0f : 0.0f,
                    (float *)c->p, 1);
        free(wa);
        free(wb);
        return 0;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, bt ? CblasTrans : CblasNoTrans,
                im, in, ik, 1.0f, pa, lda, pb, ldb,
                (flags & ZK_MM_ACC) ? 1.0f : 0.0f, (float *)c->p, ldc);
    free(wa);
    free(wb);
    return 0;
}

/* ---- int8 ---------------------------------------------------------- */

/* 2 rows of A x 4 rows of Bt, kp a multiple of KPAD.  out[i*4+j]. */
static void micro_2x4_c(const int16_t *a, const int16_t *b, uint64_t kp,
                        int32_t out[8])
{
    int32_t acc[8] = { 0 };
    for (uint64_t k = 0; k < kp; k++) {
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 4; j++) {
                acc[i * 4 + j] += a[i * kp + k] * b[j * kp + k];
            }
        }
    }
    memcpy(out, acc, sizeof(acc));
}

#if ZK_HAVE_X86
__attribute__((target("avx2")))
static int32_t hsum_avx2(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v),
                              _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

__attribute__((target("avx2")))
static void micro_2x4_avx2(const int16_t *a, const int16_t *b, uint64_t kp,
                           int32_t out[8])
{
    __m256i acc[8];
    for (int i = 0; i < 8; i++) {
        acc[i] = _mm256_setzero_si256();
    }
    for (uint64_t k = 0; k < kp; k += KPAD) {
        __m256i a0 = _mm256_loadu_si256((const __m256i *)(a + k));
        __m256i a1 = _mm256_loadu_si256((const __m256i *)(a + kp + k));
        for (int j = 0; j < 4; j++) {
            __m256i bj = _mm256_loadu_si256((const __m256i *)(b + j * kp + k));
            acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(a0, bj));
            acc[4 + j] = _mm256_add_epi32(acc[4 + j], _mm256_madd_epi16(a1, bj));
        }
    }
    for (int i = 0; i < 8; i++) {
        out[i] = hsum_avx2(acc[i]);
    }
}
#endif

typedef void MicroFn(const int16_t *, const int16_t *, uint64_t, int32_t *);

static MicroFn *pick_micro(void)
{
#if ZK_HAVE_X86
    if (__builtin_cpu_supports("avx2")) {
        return micro_2x4_avx2;
    }
#endif
    return micro_2x4_c;
}

static int gemm_i8(const ZkTile *c, const ZkTile *a, const ZkTile *b,
                   unsigned flags, const float *sa, const float *sb)
{
    uint64_t m = c->rows, n = c->cols, k = a->cols;
    uint64_t kp = (k + KPAD - 1) / KPAD * KPAD;
    uint64_t mp = (m + 1) & ~1ull, np = (n + 3) & ~3ull;
    bool bt = flags & ZK_MM_BT;
    int16_t *pa = calloc(mp * kp + 1, sizeof(int16_t));
    int16_t *pb = calloc(np * kp + 1, sizeof(int16_t));
    MicroFn *micro = pick_micro();

    if (!pa || !pb) {
        free(pa);
        free(pb);
        return -1;
    }
    for (uint64_t i = 0; i < m; i++) {
        const int8_t *row = (const int8_t *)zk_tile_row(a, i);
        for (uint64_t x = 0; x < k; x++) {
            pa[i * kp + x] = row[x];
        }
    }
    for (uint64_t i = 0; i < (bt ? n : k); i++) {
        const int8_t *row = (const int8_t *)zk_tile_row(b, i);
        for (uint64_t x = 0; x < (bt ? k : n); x++) {
            if (bt) {
                pb[i * kp + x] = row[x];
            } else {
                pb[x * kp + i] = row[x];
            }
        }
    }
    for (uint64_t i = 0; i < mp; i += 2) {
        for (uint64_t j = 0; j < np; j += 4) {
            int32_t acc[8];
            micro(pa + i * kp, pb + j * kp, kp, acc);
            for (uint64_t di = 0; di < 2 && i + di < m; di++) {
                uint8_t *crow = zk_tile_row(c, i + di);
                for (uint64_t dj = 0; dj < 4 && j + dj < n; dj++) {
                    int32_t v = acc[di * 4 + dj];
                    if (flags & ZK_MM_DEQ) {
                        float f = (float)v * sa[i + di] * sb[j + dj], old;
                        if (flags & ZK_MM_ACC) {
                            memcpy(&old, crow + 4 * (j + dj), 4);
                            f += old;
                        }
                        memcpy(crow + 4 * (j + dj), &f, 4);
                    } else {
                        int32_t old;
                        if (flags & ZK_MM_ACC) {
                            memcpy(&old, crow + 4 * (j + dj), 4);
                            /* wrap like int32 hardware adders do */
                            v = (int32_t)((uint32_t)v + (uint32_t)old);
                        }
                        memcpy(crow + 4 * (j + dj), &v, 4);
                    }
                }
            }
        }
    }
    free(pa);
    free(pb);
    return 0;
}

int zk_gemm(const ZkTile *c, const ZkTile *a, const ZkTile *b,
            unsigned flags, const float *sa, const float *sb)
{
    if (c->rows == 0 || c->cols == 0) {
        return 0;
    }
    if (a->dtype == ZK_DT_I8) {
        return gemm_i8(c, a, b, flags, sa, sb);
    }
    return gemm_float(c, a, b, flags);
}
