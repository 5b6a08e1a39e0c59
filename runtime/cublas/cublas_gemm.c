/* SPDX-License-Identifier: MIT */
/*
 * cublas_gemm.c - cublasSgemm, cublasGemmEx, their strided-batched forms and
 * cublasSgemv: cuBLAS's argument checks, then one launch of the tile GEMM
 * kernel per product (cublas_kernels.zkc.in explains the column-major ->
 * row-major mapping).
 */
#include <stdlib.h>

#include "cublas_internal.h"

/* Mode bits of the GEMM kernel (cublas_kernels.zkc.in). */
enum {
    GM_X_T = 1,
    GM_Y_BT = 2,
    GM_SCALE_ONLY = 4,
    GM_BETA_ZERO = 8,
    GM_ALPHA_SCALE = 16,
    GM_ACC = 32,
};

static const size_t dt_size[CUBLAS_DT_COUNT] = { 4, 2, 2 };

/* The workgroup count: one unless each of several workgroups gets >= 2^24
 * multiply-adds (a launch's extra workgroups cost more than a small GEMM:
 * a 384 x 128 GEMV took 9x longer on 6 workgroups than on 1); at most 8. */
static uint32_t grid_for(uint64_t rows, uint64_t m, uint64_t k)
{
    uint64_t work, g;
    if (__builtin_mul_overflow(rows, m, &work) || __builtin_mul_overflow(work, k ? k : 1, &work)) {
        work = UINT64_MAX;      /* each < 2^31, the product may not fit */
    }
    g = work >> 24;
    g = g < 1 ? 1 : g > 8 ? 8 : g;
    return (uint32_t)(g > rows ? rows : g);
}

static size_t align_up(size_t v)
{
    return (v + 255) & ~(size_t)255;
}

/* One call of the GEMM kernel, in row-major terms: C^T (n x m, ldc) = alpha
 * X (n x k) . Y + beta C^T.  @x_t: X is given as its k x n transpose
 * (stride ldx); @y_bt: Y is given as m x k. */
struct gemm_call {
    enum cublas_dt dt;
    zk_deviceptr x, y, c;
    uint64_t n, m, k, ldx, ldy, ldc;
    int x_t, y_bt;
    int c16;            /* C has the input type (f16/bf16), not f32 */
    float alpha, beta;
};

static cublasStatus_t run_gemm(struct cublasContext *h, const struct gemm_call *g)
{
    uint64_t mode = 0, args[15];
    size_t wx_bytes = 0, wt_bytes = 0, wc_bytes = 0, need, mn4;
    unsigned int na = 0;
    cublasStatus_t s;
    int scale_only = g->alpha == 0.0f || g->k == 0;
    uint32_t grid = grid_for(g->n, g->m, g->k);

    if (scale_only) {
        mode |= GM_SCALE_ONLY;
    } else {
        mode |= (g->x_t ? GM_X_T : 0) | (g->y_bt ? GM_Y_BT : 0);
        if (g->x_t && __builtin_mul_overflow((size_t)g->n, (size_t)g->k, &wx_bytes)) {
            return CUBLAS_STATUS_ALLOC_FAILED;
        }
        wx_bytes *= dt_size[g->dt];     /* n*k < 2^62, elements <= 4 bytes */
    }
    if (g->beta == 0.0f) {
        mode |= GM_BETA_ZERO;
    } else if (g->alpha == 1.0f && g->beta == 1.0f && !g->c16) {
        mode |= GM_ACC;
    }
    mode |= !scale_only && g->alpha != 1.0f ? GM_ALPHA_SCALE : 0;
    if (__builtin_mul_overflow((size_t)g->n, (size_t)g->m, &mn4) ||
        __builtin_mul_overflow(mn4, (size_t)4, &mn4)) {
        return CUBLAS_STATUS_ALLOC_FAILED;
    }
    /* wt: the partial product (general alpha/beta, any 16-bit C) or the
     * zeros C takes; wc: a 16-bit C widened to fp32 (beta != 0). */
    if (g->c16 || (scale_only ? (mode & GM_BETA_ZERO) != 0 : (mode & (GM_BETA_ZERO | GM_ACC)) == 0)) {
        wt_bytes = mn4;
    }
    wc_bytes = g->c16 && !(mode & GM_BETA_ZERO) ? mn4 : 0;
    if (__builtin_add_overflow(align_up(wx_bytes), align_up(wt_bytes), &need) ||
        __builtin_add_overflow(need, wc_bytes, &need)) {
        return CUBLAS_STATUS_ALLOC_FAILED;
    }
    s = cublas_ws_reserve(h, need);
    if (s != CUBLAS_STATUS_SUCCESS) {
        return s;
    }
    if (scale_only && (mode & GM_BETA_ZERO)) {
        zk_context old = cublas_enter(h);
        zk_status st = zk_memset_async(h->ws + align_up(wx_bytes), 0, wt_bytes, h->stream);
        cublas_leave(h, old);
        if (st != ZK_SUCCESS) {
            return cublas_from_zk(st);
        }
    }
    args[na++] = scale_only ? h->ws : g->x;     /* not read when scale_only: A, B may be NULL */
    args[na++] = scale_only ? h->ws : g->y;
    args[na++] = g->c;
    /* Unused scratch regions are empty and may start at the end of the
     * buffer: pass its base, since every pointer argument must be inside a
     * live allocation. */
    args[na++] = h->ws;
    args[na++] = wt_bytes ? h->ws + align_up(wx_bytes) : h->ws;
    if (g->c16) {
        args[na++] = wc_bytes ? h->ws + align_up(wx_bytes) + align_up(wt_bytes) : h->ws;
    }
    args[na++] = g->n;
    args[na++] = g->m;
    args[na++] = g->k;
    args[na++] = g->ldx;
    args[na++] = g->ldy;
    args[na++] = g->ldc;
    args[na++] = mode;
    args[na++] = zk_arg_f32(g->alpha);
    args[na++] = zk_arg_f32(g->beta);
    return cublas_launch(h, g->c16 ? h->f_gemm_c16[g->dt] : h->f_gemm[g->dt], grid, args, na);
}

static int op_ok(cublasOperation_t op)
{
    return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C;
}

static int imax1(int v)
{
    return v > 1 ? v : 1;
}

/* cuBLAS's argument checks of a GEMM. */
static cublasStatus_t gemm_check(cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                                 int k, const float *alpha, int lda, int ldb, const float *beta,
                                 int ldc)
{
    if (!op_ok(transa) || !op_ok(transb) || m < 0 || n < 0 || k < 0 ||
        lda < imax1(transa == CUBLAS_OP_N ? m : k) ||
        ldb < imax1(transb == CUBLAS_OP_N ? k : n) || ldc < imax1(m) || !alpha || !beta) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    return CUBLAS_STATUS_SUCCESS;
}

/* Nothing to do (reference BLAS's quick return); after gemm_check. */
static int gemm_noop(int m, int n, int k, const float *alpha, const float *beta)
{
    return m == 0 || n == 0 || ((*alpha == 0.0f || k == 0) && *beta == 1.0f);
}

/* The shared part of Sgemm and GemmEx, after the type checks. */
static cublasStatus_t gemm(struct cublasContext *h, enum cublas_dt dt, int c16,
                           cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
                           const float *alpha, const void *A, int lda, const void *B, int ldb,
                           const float *beta, void *C, int ldc)
{
    struct gemm_call g;
    cublasStatus_t s = gemm_check(transa, transb, m, n, k, alpha, lda, ldb, beta, ldc);
    if (s != CUBLAS_STATUS_SUCCESS || gemm_noop(m, n, k, alpha, beta)) {
        return s;
    }
    g.dt = dt;
    g.x = (zk_deviceptr)(uintptr_t)B;   /* X = op(B)^T */
    g.y = (zk_deviceptr)(uintptr_t)A;   /* Y = op(A)^T */
    g.c = (zk_deviceptr)(uintptr_t)C;
    g.n = (uint64_t)n;
    g.m = (uint64_t)m;
    g.k = (uint64_t)k;
    g.ldx = (uint64_t)ldb;
    g.ldy = (uint64_t)lda;
    g.ldc = (uint64_t)ldc;
    g.x_t = transb != CUBLAS_OP_N;
    g.y_bt = transa != CUBLAS_OP_N;
    g.c16 = c16;
    g.alpha = *alpha;
    g.beta = *beta;
    return run_gemm(h, &g);
}

CUBLAS_EXPORT cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
                                            cublasOperation_t transb, int m, int n, int k,
                                            const float *alpha, const float *A, int lda,
                                            const float *B, int ldb, const float *beta,
                                            float *C, int ldc)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    return gemm(h, CUBLAS_DT_F32, 0, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* GemmEx's type checks: the kernel instantiation for Atype/Btype, or why not. */
static cublasStatus_t ex_types(cudaDataType Atype, cudaDataType Btype, cudaDataType Ctype,
                               cublasComputeType_t computeType, cublasGemmAlgo_t algo,
                               enum cublas_dt *dt, int *c16)
{
    if (!((algo >= CUBLAS_GEMM_DEFAULT && algo <= CUBLAS_GEMM_ALGO23) ||
          (algo >= CUBLAS_GEMM_DEFAULT_TENSOR_OP && algo <= CUBLAS_GEMM_ALGO15_TENSOR_OP) ||
          algo == CUBLAS_GEMM_AUTOTUNE)) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    /* fp32 compute with fp32 scalars; CUDA_R_32F (0) is what pre-11 code passes. */
    switch ((int)computeType) {
    case CUBLAS_COMPUTE_32F:
    case CUBLAS_COMPUTE_32F_PEDANTIC:
    case CUBLAS_COMPUTE_32F_FAST_16F:
    case CUBLAS_COMPUTE_32F_FAST_16BF:
    case CUBLAS_COMPUTE_32F_FAST_TF32:
    case CUDA_R_32F:
        break;
    default:
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    /* C: fp32, or the 16-bit input type itself. */
    if (Atype != Btype || (Ctype != CUDA_R_32F && (Ctype != Atype || Atype == CUDA_R_32F))) {
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    *c16 = Ctype != CUDA_R_32F;
    switch (Atype) {
    case CUDA_R_32F:
        *dt = CUBLAS_DT_F32;
        return CUBLAS_STATUS_SUCCESS;
    case CUDA_R_16F:
        *dt = CUBLAS_DT_F16;
        return CUBLAS_STATUS_SUCCESS;
    case CUDA_R_16BF:
        *dt = CUBLAS_DT_BF16;
        return CUBLAS_STATUS_SUCCESS;
    default:
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
}

CUBLAS_EXPORT cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
                                          cublasOperation_t transb, int m, int n, int k,
                                          const void *alpha, const void *A, cudaDataType Atype,
                                          int lda, const void *B, cudaDataType Btype, int ldb,
                                          const void *beta, void *C, cudaDataType Ctype, int ldc,
                                          cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    enum cublas_dt dt;
    cublasStatus_t s;
    int c16;
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    s = ex_types(Atype, Btype, Ctype, computeType, algo, &dt, &c16);
    if (s != CUBLAS_STATUS_SUCCESS) {
        return s;
    }
    return gemm(h, dt, c16, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

/*
 * Strided batches: batch i uses A + i*strideA, B + i*strideB, C + i*strideC
 * (in elements; 0 repeats a matrix).  One GEMM launch per batch, queued on
 * the handle's stream in order.  The arguments are checked once, before
 * anything is queued.
 */
static cublasStatus_t gemm_strided(struct cublasContext *h, enum cublas_dt dt, int c16,
                                   cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                                   int k, const float *alpha, const void *A, int lda,
                                   long long strideA, const void *B, int ldb, long long strideB,
                                   const float *beta, void *C, int ldc, long long strideC,
                                   int batchCount)
{
    const uint64_t es = dt_size[dt];
    cublasStatus_t s;
    s = gemm_check(transa, transb, m, n, k, alpha, lda, ldb, beta, ldc);
    if (s == CUBLAS_STATUS_SUCCESS && batchCount < 0) {
        s = CUBLAS_STATUS_INVALID_VALUE;
    }
    if (s != CUBLAS_STATUS_SUCCESS || batchCount == 0 || gemm_noop(m, n, k, alpha, beta)) {
        return s;
    }
    for (int i = 0; i < batchCount && s == CUBLAS_STATUS_SUCCESS; i++) {
        /* Device addresses: wrap-around arithmetic, a bad one is refused by the launch. */
        uint64_t a = (uint64_t)(uintptr_t)A + (uint64_t)i * (uint64_t)strideA * es;
        uint64_t b = (uint64_t)(uintptr_t)B + (uint64_t)i * (uint64_t)strideB * es;
        uint64_t c = (uint64_t)(uintptr_t)C + (uint64_t)i * (uint64_t)strideC * (c16 ? es : 4);
        s = gemm(h, dt, c16, transa, transb, m, n, k, alpha, (const void *)(uintptr_t)a, lda,
                 (const void *)(uintptr_t)b, ldb, beta, (void *)(uintptr_t)c, ldc);
    }
    return s;
}

CUBLAS_EXPORT cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                                       cublasOperation_t transb, int m, int n, int k,
                                                       const float *alpha, const float *A, int lda,
                                                       long long int strideA, const float *B, int ldb,
                                                       long long int strideB, const float *beta,
                                                       float *C, int ldc, long long int strideC,
                                                       int batchCount)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    return gemm_strided(h, CUBLAS_DT_F32, 0, transa, transb, m, n, k, alpha, A, lda, strideA, B, ldb,
                        strideB, beta, C, ldc, strideC, batchCount);
}

CUBLAS_EXPORT cublasStatus_t cublasGemmStridedBatchedEx(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
    const void *alpha, const void *A, cudaDataType Atype, int lda, long long int strideA,
    const void *B, cudaDataType Btype, int ldb, long long int strideB, const void *beta, void *C,
    cudaDataType Ctype, int ldc, long long int strideC, int batchCount,
    cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    enum cublas_dt dt;
    cublasStatus_t s;
    int c16;
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    s = ex_types(Atype, Btype, Ctype, computeType, algo, &dt, &c16);
    if (s != CUBLAS_STATUS_SUCCESS) {
        return s;
    }
    return gemm_strided(h, dt, c16, transa, transb, m, n, k, alpha, A, lda, strideA, B, ldb, strideB,
                        beta, C, ldc, strideC, batchCount);
}

/*
 * Pointer-array batches: Aarray, Barray, Carray are arrays of batchCount
 * device pointers in device memory (as in cuBLAS).  They are read back to
 * the host after the stream has finished what was queued before (which may
 * have written them), then one GEMM per batch is queued.
 */
static cublasStatus_t gemm_ptr_batched(struct cublasContext *h, enum cublas_dt dt, int c16,
                                       cublasOperation_t transa, cublasOperation_t transb, int m,
                                       int n, int k, const float *alpha, const void *const *Aarray,
                                       int lda, const void *const *Barray, int ldb,
                                       const float *beta, void *const *Carray, int ldc,
                                       int batchCount)
{
    const void *const *arrays[3] = { Aarray, Barray, (const void *const *)Carray };
    uint64_t *ptrs;
    zk_context old;
    zk_status st;
    cublasStatus_t s = gemm_check(transa, transb, m, n, k, alpha, lda, ldb, beta, ldc);
    if (s == CUBLAS_STATUS_SUCCESS && batchCount < 0) {
        s = CUBLAS_STATUS_INVALID_VALUE;
    }
    if (s != CUBLAS_STATUS_SUCCESS || batchCount == 0 || gemm_noop(m, n, k, alpha, beta)) {
        return s;
    }
    ptrs = malloc((size_t)batchCount * 3 * sizeof(uint64_t));
    if (!ptrs) {
        return CUBLAS_STATUS_ALLOC_FAILED;
    }
    old = cublas_enter(h);
    st = zk_stream_synchronize(h->stream);
    for (int a = 0; a < 3 && st == ZK_SUCCESS; a++) {
        st = zk_memcpy_dtoh(ptrs + (size_t)a * batchCount, (zk_deviceptr)(uintptr_t)arrays[a],
                            (size_t)batchCount * sizeof(uint64_t));
    }
    cublas_leave(h, old);
    s = cublas_from_zk(st);
    for (int i = 0; i < batchCount && s == CUBLAS_STATUS_SUCCESS; i++) {
        s = gemm(h, dt, c16, transa, transb, m, n, k, alpha, (const void *)(uintptr_t)ptrs[i], lda,
                 (const void *)(uintptr_t)ptrs[batchCount + i], ldb, beta,
                 (void *)(uintptr_t)ptrs[2 * (size_t)batchCount + i], ldc);
    }
    free(ptrs);
    return s;
}

CUBLAS_EXPORT cublasStatus_t cublasSgemmBatched(cublasHandle_t handle, cublasOperation_t transa,
                                                cublasOperation_t transb, int m, int n, int k,
                                                const float *alpha, const float *const Aarray[],
                                                int lda, const float *const Barray[], int ldb,
                                                const float *beta, float *const Carray[], int ldc,
                                                int batchCount)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    return gemm_ptr_batched(h, CUBLAS_DT_F32, 0, transa, transb, m, n, k, alpha,
                            (const void *const *)Aarray, lda, (const void *const *)Barray, ldb, beta,
                            (void *const *)Carray, ldc, batchCount);
}

CUBLAS_EXPORT cublasStatus_t cublasGemmBatchedEx(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
    const void *alpha, const void *const Aarray[], cudaDataType Atype, int lda,
    const void *const Barray[], cudaDataType Btype, int ldb, const void *beta, void *const Carray[],
    cudaDataType Ctype, int ldc, int batchCount, cublasComputeType_t computeType,
    cublasGemmAlgo_t algo)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    enum cublas_dt dt;
    cublasStatus_t s;
    int c16;
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    s = ex_types(Atype, Btype, Ctype, computeType, algo, &dt, &c16);
    if (s != CUBLAS_STATUS_SUCCESS) {
        return s;
    }
    return gemm_ptr_batched(h, dt, c16, transa, transb, m, n, k, alpha, Aarray, lda, Barray, ldb,
                            beta, Carray, ldc, batchCount);
}

/*
 * y = alpha op(A) x + beta y as a GEMM with one column:
 *  trans != N: y (n, incy) = A^T x: C^T = y as n x 1 (stride incy), X = the
 *    row-major view of A (n x m, lda), Y = x as m x 1 (stride incx).
 *  trans == N: y (m) = A x: y^T (1 x m) = x^T (1 x n) . A^T, where A^T is the
 *    row-major view of A (n x m, lda).  x with incx != 1 is gathered by the
 *    kernel's X_T path (x as its n x 1 transpose, stride incx); y with incy
 *    != 1 cannot be a row, so the product goes to scratch and
 *    cublas_axpby_f32 scatters alpha t + beta y into it.
 * Negative increments (BLAS's reversed vectors) are not supported.
 */
CUBLAS_EXPORT cublasStatus_t cublasSgemv_v2(cublasHandle_t handle, cublasOperation_t trans,
                                            int m, int n, const float *alpha, const float *A,
                                            int lda, const float *x, int incx, const float *beta,
                                            float *y, int incy)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    struct gemm_call g;
    cublasStatus_t s;
    size_t t_off;
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    if (!op_ok(trans) || m < 0 || n < 0 || lda < imax1(m) || incx == 0 || incy == 0 ||
        !alpha || !beta) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (m == 0 || n == 0 || (*alpha == 0.0f && *beta == 1.0f)) {
        return CUBLAS_STATUS_SUCCESS;
    }
    if (incx < 0 || incy < 0) {
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    g.dt = CUBLAS_DT_F32;
    g.c16 = 0;
    g.alpha = *alpha;
    g.beta = *beta;
    if (trans != CUBLAS_OP_N) {
        g.x = (zk_deviceptr)(uintptr_t)A;
        g.y = (zk_deviceptr)(uintptr_t)x;
        g.c = (zk_deviceptr)(uintptr_t)y;
        g.n = (uint64_t)n;
        g.m = 1;
        g.k = (uint64_t)m;
        g.ldx = (uint64_t)lda;
        g.ldy = (uint64_t)incx;
        g.ldc = (uint64_t)incy;
        g.x_t = 0;
        g.y_bt = 0;
        return run_gemm(h, &g);
    }
    g.x = (zk_deviceptr)(uintptr_t)x;
    g.y = (zk_deviceptr)(uintptr_t)A;
    g.c = (zk_deviceptr)(uintptr_t)y;
    g.n = 1;
    g.m = (uint64_t)m;
    g.k = (uint64_t)n;
    g.ldx = incx == 1 ? (uint64_t)n : (uint64_t)incx;
    g.ldy = (uint64_t)lda;
    g.ldc = (uint64_t)m;
    g.x_t = incx != 1;
    g.y_bt = 0;
    if (incy == 1 || g.alpha == 0.0f) {
        if (incy != 1) {
            /* C = beta C only: y as n x 1 with stride incy is fine. */
            g.n = (uint64_t)m;
            g.m = 1;
            g.ldc = (uint64_t)incy;
        }
        return run_gemm(h, &g);
    }
    /* t = x^T A^T into scratch past the GEMM's own, then y = alpha t + beta y. */
    t_off = align_up((size_t)n * 4) + align_up((size_t)m * 4);
    s = cublas_ws_reserve(h, t_off + (size_t)m * 4);
    if (s != CUBLAS_STATUS_SUCCESS) {
        return s;
    }
    g.c = h->ws + t_off;
    g.alpha = 1.0f;
    g.beta = 0.0f;
    s = run_gemm(h, &g);
    if (s == CUBLAS_STATUS_SUCCESS) {
        uint64_t args[7] = { h->ws + t_off, (zk_deviceptr)(uintptr_t)y, (uint64_t)m,
                             (uint64_t)incy, *beta == 0.0f ? GM_BETA_ZERO : 0,
                             zk_arg_f32(*alpha), zk_arg_f32(*beta) };
        s = cublas_launch(h, h->f_axpby, 1, args, 7);
    }
    return s;
}
