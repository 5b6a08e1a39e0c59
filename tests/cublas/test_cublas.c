/* SPDX-License-Identifier: MIT */
/*
 * test_cublas.c - in-VM test of libcublas (runtime/cublas/) on the card:
 * cublasSgemm over the four transpose combinations with odd sizes, padded
 * leading dimensions and the alpha/beta special cases, cublasGemmEx with
 * f32/f16/bf16 inputs, cublasSgemv with strided vectors, each checked
 * against OpenBLAS (cblas_sgemm / cblas_sgemv) on the same column-major
 * data; plus cuBLAS's error codes for bad arguments.  TAP.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cublas_v2.h>
#include <zhikai/zhikai.h>

#include "zk_dtype.h"

static int n_test, n_fail;

static void ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void ok(int cond, const char *fmt, ...)
{
    va_list ap;
    printf("%sok %d - ", cond ? "" : "not ", ++n_test);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    n_fail += !cond;
}

static float frand(void)
{
    return (float)(rand() % 2001 - 1000) / 1000.0f;
}

/* Device copy of n floats (or of their f16/bf16 roundings, @dt 1/2; the
 * host array is rounded the same way so the reference sees what the card
 * sees). */
static void *dev_put(float *h, size_t n, int dt)
{
    size_t es = dt ? 2 : 4, i;
    void *buf = malloc(n * es);
    zk_deviceptr d;
    for (i = 0; i < n; i++) {
        if (dt == 1) {
            uint16_t v = zk_f32_to_f16(h[i]);
            h[i] = zk_f16_to_f32(v);
            memcpy((char *)buf + 2 * i, &v, 2);
        } else if (dt == 2) {
            uint16_t v = zk_f32_to_bf16(h[i]);
            h[i] = zk_bf16_to_f32(v);
            memcpy((char *)buf + 2 * i, &v, 2);
        } else {
            memcpy((char *)buf + 4 * i, &h[i], 4);
        }
    }
    if (zk_mem_alloc(&d, n * es) != ZK_SUCCESS || zk_memcpy_htod(d, buf, n * es) != ZK_SUCCESS) {
        fprintf(stderr, "device allocation/copy failed: %s\n", zk_last_error_detail());
        exit(1);
    }
    free(buf);
    return (void *)(uintptr_t)d;
}

static void dev_get(float *h, const void *d, size_t n)
{
    if (zk_memcpy_dtoh(h, (zk_deviceptr)(uintptr_t)d, n * 4) != ZK_SUCCESS) {
        fprintf(stderr, "copy back failed: %s\n", zk_last_error_detail());
        exit(1);
    }
}

static void dev_free(void *d)
{
    zk_mem_free((zk_deviceptr)(uintptr_t)d);
}

/* Max over elements of |got - want| / (1 + |want|); NaN counts as huge. */
static double rel_err(const float *got, const float *want, size_t n)
{
    double e = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]) / (1.0 + fabs(want[i]));
        if (isnan(got[i]) != isnan(want[i]) || d > e || isnan(d)) {
            e = isnan(d) || isnan(got[i]) != isnan(want[i]) ? 1e30 : d;
            if (e >= 1e30) {
                break;
            }
        }
    }
    return e;
}

static CBLAS_TRANSPOSE cb(cublasOperation_t op)
{
    return op == CUBLAS_OP_N ? CblasNoTrans : CblasTrans;
}

static const char *opn(cublasOperation_t op)
{
    return op == CUBLAS_OP_N ? "N" : op == CUBLAS_OP_T ? "T" : "C";
}

/*
 * One GEMM: C (m x n, ldc) = alpha op(A) op(B) + beta C with inputs of type
 * @dt (0 f32 via Sgemm, 0/1/2 via GemmEx when @ex), A and B padded (lda,
 * ldb > rows), C's padding rows hold a sentinel that must survive, and C's
 * body holds NaN when beta == 0 (it must not be read).
 */
static void gemm_case(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                      int k, float alpha, float beta, int dt, int ex)
{
    int ar = ta == CUBLAS_OP_N ? m : k, ac = ta == CUBLAS_OP_N ? k : m;
    int br = tb == CUBLAS_OP_N ? k : n, bc = tb == CUBLAS_OP_N ? n : k;
    int lda = ar + 3, ldb = br + 1, ldc = m + 2, i, j;
    size_t na = (size_t)lda * ac, nb = (size_t)ldb * bc, nc = (size_t)ldc * n;
    float *a = malloc(na * 4), *b = malloc(nb * 4), *c = malloc(nc * 4), *ref = malloc(nc * 4);
    float *got = malloc(nc * 4);
    void *da, *db, *dc;
    cublasStatus_t s;
    int sentinel_ok = 1;
    static const char *const dtn[] = { "f32", "f16", "bf16" };
    static const cudaDataType types[] = { CUDA_R_32F, CUDA_R_16F, CUDA_R_16BF };
    for (size_t q = 0; q < na; q++) {
        a[q] = frand();
    }
    for (size_t q = 0; q < nb; q++) {
        b[q] = frand();
    }
    for (j = 0; j < n; j++) {
        for (i = 0; i < ldc; i++) {
            c[i + (size_t)j * ldc] = i >= m ? 12345.0f : beta == 0.0f ? NAN : frand();
        }
    }
    da = dev_put(a, na, dt);
    db = dev_put(b, nb, dt);
    dc = dev_put(c, nc, 0);
    memcpy(ref, c, nc * 4);
    if (beta == 0.0f) {
        /* BLAS semantics: with beta == 0, C is not read. */
        for (j = 0; j < n; j++) {
            for (i = 0; i < m; i++) {
                ref[i + (size_t)j * ldc] = 0.0f;
            }
        }
    }
    cblas_sgemm(CblasColMajor, cb(ta), cb(tb), m, n, k, alpha, a, lda, b, ldb, beta, ref, ldc);
    if (ex) {
        s = cublasGemmEx(h, ta, tb, m, n, k, &alpha, da, types[dt], lda, db, types[dt], ldb, &beta,
                         dc, CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    } else {
        s = cublasSgemm(h, ta, tb, m, n, k, &alpha, da, lda, db, ldb, &beta, dc, ldc);
    }
    dev_get(got, dc, nc);
    for (j = 0; j < n; j++) {
        for (i = m; i < ldc; i++) {
            sentinel_ok &= got[i + (size_t)j * ldc] == 12345.0f;
        }
    }
    {
        double e = rel_err(got, ref, nc);
        ok(s == CUBLAS_STATUS_SUCCESS && e < 2e-5 && sentinel_ok,
           "%s%s%s %s%s m=%d n=%d k=%d lda=%d ldb=%d ldc=%d alpha=%g beta=%g: status %d, max rel err %.2e%s",
           ex ? "GemmEx " : "Sgemm", ex ? dtn[dt] : "", ex ? " in," : "", opn(ta), opn(tb), m, n, k, lda, ldb, ldc, alpha, beta, s, e,
           sentinel_ok ? "" : ", wrote outside C");
    }
    dev_free(da);
    dev_free(db);
    dev_free(dc);
    free(a);
    free(b);
    free(c);
    free(ref);
    free(got);
}

/* Round f to f16 (@dt 1) or bf16 (2) and back. */
static float round16(float f, int dt)
{
    return dt == 1 ? zk_f16_to_f32(zk_f32_to_f16(f)) : zk_bf16_to_f32(zk_f32_to_bf16(f));
}

/* GemmEx with C of the 16-bit input type: C's body NaN when beta == 0, its
 * padding rows a sentinel; the reference is cblas_sgemm on the same rounded
 * inputs, rounded once to the type: equal within one unit in the last place
 * (the fp32 sums may round to either neighbour). */
static void gemm16_case(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                        int k, float alpha, float beta, int dt)
{
    int ar = ta == CUBLAS_OP_N ? m : k, ac = ta == CUBLAS_OP_N ? k : m;
    int br = tb == CUBLAS_OP_N ? k : n, bc = tb == CUBLAS_OP_N ? n : k;
    int lda = ar + 2, ldb = br + 1, ldc = m + 3, i, j, sentinel_ok = 1;
    size_t na = (size_t)lda * ac, nb = (size_t)ldb * bc, nc = (size_t)ldc * n, q;
    float *a = malloc(na * 4), *b = malloc(nb * 4), *c = malloc(nc * 4), *ref = malloc(nc * 4);
    float *got = malloc(nc * 4);
    uint16_t *c16 = malloc(nc * 2);
    static const cudaDataType types[] = { CUDA_R_32F, CUDA_R_16F, CUDA_R_16BF };
    double ulp = dt == 1 ? 1.0 / 1024 : 1.0 / 128, e;
    void *da, *db;
    zk_deviceptr dc;
    cublasStatus_t s;
    for (q = 0; q < na; q++) {
        a[q] = frand();
    }
    for (q = 0; q < nb; q++) {
        b[q] = frand();
    }
    for (j = 0; j < n; j++) {
        for (i = 0; i < ldc; i++) {
            c[i + (size_t)j * ldc] = i >= m ? 96.0f : beta == 0.0f ? NAN : round16(frand(), dt);
        }
    }
    for (q = 0; q < nc; q++) {
        c16[q] = dt == 1 ? zk_f32_to_f16(c[q]) : zk_f32_to_bf16(c[q]);
    }
    da = dev_put(a, na, dt);
    db = dev_put(b, nb, dt);
    if (zk_mem_alloc(&dc, nc * 2) || zk_memcpy_htod(dc, c16, nc * 2)) {
        fprintf(stderr, "device allocation/copy failed\n");
        exit(1);
    }
    memcpy(ref, c, nc * 4);
    for (j = 0; j < n; j++) {
        for (i = 0; i < m && beta == 0.0f; i++) {
            ref[i + (size_t)j * ldc] = 0.0f;
        }
    }
    cblas_sgemm(CblasColMajor, cb(ta), cb(tb), m, n, k, alpha, a, lda, b, ldb, beta, ref, ldc);
    for (q = 0; q < nc; q++) {
        ref[q] = round16(ref[q], dt);
    }
    s = cublasGemmEx(h, ta, tb, m, n, k, &alpha, da, types[dt], lda, db, types[dt], ldb, &beta,
                     (void *)(uintptr_t)dc, types[dt], ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    if (zk_memcpy_dtoh(c16, dc, nc * 2)) {
        fprintf(stderr, "copy back failed\n");
        exit(1);
    }
    for (q = 0; q < nc; q++) {
        got[q] = dt == 1 ? zk_f16_to_f32(c16[q]) : zk_bf16_to_f32(c16[q]);
        sentinel_ok &= (int)(q % ldc) < m || got[q] == 96.0f;
    }
    e = rel_err(got, ref, nc);
    ok(s == CUBLAS_STATUS_SUCCESS && e <= ulp && sentinel_ok,
       "GemmEx %s in and out %s%s m=%d n=%d k=%d alpha=%g beta=%g: status %d, max rel err %.2e (1 ulp %.1e)%s",
       dt == 1 ? "f16" : "bf16", opn(ta), opn(tb), m, n, k, alpha, beta, s, e, ulp,
       sentinel_ok ? "" : ", wrote outside C");
    dev_free(da);
    dev_free(db);
    zk_mem_free(dc);
    free(a);
    free(b);
    free(c);
    free(ref);
    free(got);
    free(c16);
}

/* @batch GEMMs through (Gemm)StridedBatched(Ex): matrices one after the
 * other with a gap (stride > size), B shared by all (stride 0) when
 * @shared_b; each batch against cblas_sgemm. */
static void batched_case(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                         int k, int batch, int shared_b, float alpha, float beta, int dt, int ptr_arrays)
{
    int ar = ta == CUBLAS_OP_N ? m : k, ac = ta == CUBLAS_OP_N ? k : m;
    int br = tb == CUBLAS_OP_N ? k : n, bc = tb == CUBLAS_OP_N ? n : k;
    int lda = ar + 1, ldb = br + 2, ldc = m + 1, i;
    long long sa = (long long)lda * ac + 5, sb = shared_b ? 0 : (long long)ldb * bc + 3,
              sc = (long long)ldc * n + 7;
    size_t na = (size_t)sa * batch, nb = shared_b ? (size_t)ldb * bc : (size_t)sb * batch,
           nc = (size_t)sc * batch, q;
    float *a = malloc(na * 4), *b = malloc(nb * 4), *c = malloc(nc * 4), *ref = malloc(nc * 4),
          *got = malloc(nc * 4);
    static const cudaDataType types[] = { CUDA_R_32F, CUDA_R_16F, CUDA_R_16BF };
    void *da, *db, *dc;
    cublasStatus_t s;
    for (q = 0; q < na; q++) {
        a[q] = frand();
    }
    for (q = 0; q < nb; q++) {
        b[q] = frand();
    }
    for (q = 0; q < nc; q++) {
        c[q] = frand();
    }
    da = dev_put(a, na, dt);
    db = dev_put(b, nb, dt);
    dc = dev_put(c, nc, 0);
    memcpy(ref, c, nc * 4);
    for (i = 0; i < batch; i++) {
        cblas_sgemm(CblasColMajor, cb(ta), cb(tb), m, n, k, alpha, a + i * sa, lda, b + i * sb, ldb,
                    beta, ref + i * sc, ldc);
    }
    if (ptr_arrays) {
        /* the same matrices through arrays of device pointers in device memory */
        uint64_t *p = malloc((size_t)batch * 3 * 8);
        size_t es = dt ? 2 : 4;
        void *darr;
        for (i = 0; i < batch; i++) {
            p[i] = (uintptr_t)da + (uint64_t)i * sa * es;
            p[batch + i] = (uintptr_t)db + (uint64_t)i * sb * es;
            p[2 * batch + i] = (uintptr_t)dc + (uint64_t)i * sc * 4;
        }
        darr = dev_put((float *)p, (size_t)batch * 6, 0);   /* 8-byte pointers as pairs of floats' bits */
        if (dt == 0) {
            s = cublasSgemmBatched(h, ta, tb, m, n, k, &alpha, (const float *const *)darr, lda,
                                   (const float *const *)((uint64_t *)darr + batch), ldb, &beta,
                                   (float *const *)((uint64_t *)darr + 2 * batch), ldc, batch);
        } else {
            s = cublasGemmBatchedEx(h, ta, tb, m, n, k, &alpha, (const void *const *)darr, types[dt], lda,
                                    (const void *const *)((uint64_t *)darr + batch), types[dt], ldb,
                                    &beta, (void *const *)((uint64_t *)darr + 2 * batch), CUDA_R_32F,
                                    ldc, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        }
        dev_free(darr);
        free(p);
    } else if (dt == 0) {
        s = cublasSgemmStridedBatched(h, ta, tb, m, n, k, &alpha, da, lda, sa, db, ldb, sb, &beta, dc,
                                      ldc, sc, batch);
    } else {
        s = cublasGemmStridedBatchedEx(h, ta, tb, m, n, k, &alpha, da, types[dt], lda, sa, db,
                                       types[dt], ldb, sb, &beta, dc, CUDA_R_32F, ldc, sc, batch,
                                       CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    }
    dev_get(got, dc, nc);
    {
        double e = rel_err(got, ref, nc);
        ok(s == CUBLAS_STATUS_SUCCESS && e < 2e-5,
           "%s %s%s x%d m=%d n=%d k=%d strides %lld/%lld/%lld: status %d, max rel err %.2e",
           ptr_arrays ? (dt ? "GemmBatchedEx bf16 (pointer arrays)" : "SgemmBatched (pointer arrays)")
                      : (dt ? "GemmStridedBatchedEx bf16" : "SgemmStridedBatched"), opn(ta), opn(tb), batch, m, n, k,
           sa, sb, sc, s, e);
    }
    dev_free(da);
    dev_free(db);
    dev_free(dc);
    free(a);
    free(b);
    free(c);
    free(ref);
    free(got);
}

static void gemv_case(cublasHandle_t h, cublasOperation_t t, int m, int n, int incx, int incy,
                      float alpha, float beta)
{
    int lda = m + 5, xl = t == CUBLAS_OP_N ? n : m, yl = t == CUBLAS_OP_N ? m : n;
    size_t na = (size_t)lda * n, nx = (size_t)xl * incx, ny = (size_t)yl * incy, q;
    float *a = malloc(na * 4), *x = malloc(nx * 4), *y = malloc(ny * 4), *ref = malloc(ny * 4);
    float *got = malloc(ny * 4);
    void *da, *dx, *dy;
    cublasStatus_t s;
    int sentinel_ok = 1;
    for (q = 0; q < na; q++) {
        a[q] = frand();
    }
    for (q = 0; q < nx; q++) {
        x[q] = frand();
    }
    for (q = 0; q < ny; q++) {
        y[q] = q % incy ? 777.0f : beta == 0.0f ? NAN : frand();
    }
    memcpy(ref, y, ny * 4);
    if (beta == 0.0f) {
        for (q = 0; q < ny; q += incy) {
            ref[q] = 0.0f;
        }
    }
    cblas_sgemv(CblasColMajor, cb(t), m, n, alpha, a, lda, x, incx, beta, ref, incy);
    da = dev_put(a, na, 0);
    dx = dev_put(x, nx, 0);
    dy = dev_put(y, ny, 0);
    s = cublasSgemv(h, t, m, n, &alpha, da, lda, dx, incx, &beta, dy, incy);
    dev_get(got, dy, ny);
    for (q = 0; q < ny; q++) {
        sentinel_ok &= q % incy == 0 || got[q] == 777.0f;
    }
    {
        double e = rel_err(got, ref, ny);
        ok(s == CUBLAS_STATUS_SUCCESS && e < 2e-5 && sentinel_ok,
           "Sgemv %s m=%d n=%d lda=%d incx=%d incy=%d alpha=%g beta=%g: status %d, max rel err %.2e%s",
           opn(t), m, n, lda, incx, incy, alpha, beta, s, e, sentinel_ok ? "" : ", wrote outside y");
    }
    dev_free(da);
    dev_free(dx);
    dev_free(dy);
    free(a);
    free(x);
    free(y);
    free(ref);
    free(got);
}

/* Level 1 with increments incx, incy: scal, axpy, copy, dot against
 * OpenBLAS; elements between the strided ones must stay untouched. */
static void level1_case(cublasHandle_t h, int n, int incx, int incy)
{
    size_t nx = (size_t)n * incx, ny = (size_t)n * incy, q;
    float *x = malloc(nx * 4), *y = malloc(ny * 4), *rx = malloc(nx * 4), *ry = malloc(ny * 4);
    float *got = malloc((nx > ny ? nx : ny) * 4);
    float alpha = -1.75f, dot = 0, rdot;
    cublasStatus_t s1, s2, s3, s4;
    void *dx, *dy;
    for (q = 0; q < nx; q++) {
        x[q] = q % incx ? 555.0f : frand();
    }
    for (q = 0; q < ny; q++) {
        y[q] = q % incy ? 666.0f : frand();
    }
    dx = dev_put(x, nx, 0);
    dy = dev_put(y, ny, 0);
    memcpy(rx, x, nx * 4);
    memcpy(ry, y, ny * 4);
    /* dot first (x, y as uploaded), then y += alpha x, x *= alpha, then y = x */
    rdot = cblas_sdot(n, rx, incx, ry, incy);
    s1 = cublasSdot(h, n, dx, incx, dy, incy, &dot);
    ok(s1 == CUBLAS_STATUS_SUCCESS && fabs(dot - rdot) <= 1e-5 * (1 + n),
       "Sdot n=%d incx=%d incy=%d: %.6f vs %.6f", n, incx, incy, dot, rdot);
    cblas_saxpy(n, alpha, rx, incx, ry, incy);
    s2 = cublasSaxpy(h, n, &alpha, dx, incx, dy, incy);
    dev_get(got, dy, ny);
    ok(s2 == CUBLAS_STATUS_SUCCESS && rel_err(got, ry, ny) < 2e-6, "Saxpy n=%d incx=%d incy=%d: err %.2e",
       n, incx, incy, rel_err(got, ry, ny));
    cblas_sscal(n, alpha, rx, incx);
    s3 = cublasSscal(h, n, &alpha, dx, incx);
    dev_get(got, dx, nx);
    ok(s3 == CUBLAS_STATUS_SUCCESS && rel_err(got, rx, nx) == 0, "Sscal n=%d incx=%d: err %.2e", n, incx,
       rel_err(got, rx, nx));
    cblas_scopy(n, rx, incx, ry, incy);
    s4 = cublasScopy(h, n, dx, incx, dy, incy);
    dev_get(got, dy, ny);
    ok(s4 == CUBLAS_STATUS_SUCCESS && rel_err(got, ry, ny) == 0, "Scopy n=%d incx=%d incy=%d: err %.2e",
       n, incx, incy, rel_err(got, ry, ny));
    dev_free(dx);
    dev_free(dy);
    free(x);
    free(y);
    free(rx);
    free(ry);
    free(got);
}

static void error_cases(cublasHandle_t h)
{
    float one = 1.0f, zero = 0.0f;
    void *d = dev_put(&one, 1, 0);
    cublasStatus_t E = CUBLAS_STATUS_INVALID_VALUE;
    cublasPointerMode_t pm;
    zk_stream zs;
    cudaStream_t st = (cudaStream_t)0x5;
    ok(cublasSgemm(NULL, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, d, 1, d, 1, &zero, d, 1) ==
       CUBLAS_STATUS_NOT_INITIALIZED, "Sgemm with a NULL handle: NOT_INITIALIZED");
    ok(cublasSgemm(h, (cublasOperation_t)7, CUBLAS_OP_N, 1, 1, 1, &one, d, 1, d, 1, &zero, d, 1) == E,
       "Sgemm bad transa: INVALID_VALUE");
    ok(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_CONJG, 1, 1, 1, &one, d, 1, d, 1, &zero, d, 1) == E,
       "Sgemm transb CONJG: INVALID_VALUE");
    ok(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, -1, 1, 1, &one, d, 1, d, 1, &zero, d, 1) == E,
       "Sgemm m < 0: INVALID_VALUE");
    ok(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, -2, &one, d, 1, d, 1, &zero, d, 1) == E,
       "Sgemm k < 0: INVALID_VALUE");
    ok(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 2, 3, &one, d, 3, d, 3, &zero, d, 4) == E,
       "Sgemm lda < m (N): INVALID_VALUE");
    ok(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, 4, 2, 3, &one, d, 2, d, 3, &zero, d, 4) == E,
       "Sgemm lda < k (T): INVALID_VALUE");
    ok(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, 4, 2, 3, &one, d, 4, d, 1, &zero, d, 4) == E,
       "Sgemm ldb < n (T): INVALID_VALUE");
    ok(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 2, 3, &one, d, 4, d, 3, &zero, d, 3) == E,
       "Sgemm ldc < m: INVALID_VALUE");
    ok(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 2, 3, NULL, d, 4, d, 3, &zero, d, 4) == E,
       "Sgemm alpha NULL: INVALID_VALUE");
    ok(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 0, 2, 3, &one, NULL, 1, NULL, 3, &zero, NULL, 1) ==
       CUBLAS_STATUS_SUCCESS, "Sgemm m = 0: quick return SUCCESS");
    ok(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, (void *)0x10, 4, (void *)0x10, 4,
                   &zero, (void *)0x10, 4) == CUBLAS_STATUS_EXECUTION_FAILED,
       "Sgemm with pointers outside any allocation: EXECUTION_FAILED");
    ok(cublasSgemv(h, CUBLAS_OP_N, 2, 2, &one, d, 2, d, 0, &zero, d, 1) == E,
       "Sgemv incx = 0: INVALID_VALUE");
    ok(cublasSgemv(h, CUBLAS_OP_T, 3, 2, &one, d, 2, d, 1, &zero, d, 1) == E,
       "Sgemv lda < m: INVALID_VALUE");
    ok(cublasSgemv(h, CUBLAS_OP_N, 2, 2, &one, d, 2, d, -1, &zero, d, 1) ==
       CUBLAS_STATUS_NOT_SUPPORTED, "Sgemv negative incx: NOT_SUPPORTED");
    ok(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, d, CUDA_R_16F, 1, d, CUDA_R_32F, 1,
                    &zero, d, CUDA_R_32F, 1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) ==
       CUBLAS_STATUS_NOT_SUPPORTED, "GemmEx mixed A/B types: NOT_SUPPORTED");
    ok(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, d, CUDA_R_64F, 1, d, CUDA_R_64F, 1,
                    &zero, d, CUDA_R_64F, 1, CUBLAS_COMPUTE_64F, CUBLAS_GEMM_DEFAULT) ==
       CUBLAS_STATUS_NOT_SUPPORTED, "GemmEx f64: NOT_SUPPORTED");
    ok(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, d, CUDA_R_16F, 1, d, CUDA_R_16F, 1,
                    &zero, d, CUDA_R_32F, 1, CUBLAS_COMPUTE_32F, (cublasGemmAlgo_t)555) == E,
       "GemmEx bad algo: INVALID_VALUE");
    ok(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_DEVICE) == CUBLAS_STATUS_NOT_SUPPORTED &&
       cublasGetPointerMode(h, &pm) == CUBLAS_STATUS_SUCCESS && pm == CUBLAS_POINTER_MODE_HOST,
       "pointer mode device refused, host kept");
    ok(zk_stream_create(&zs, 0) == ZK_SUCCESS && cublasSetStream(h, (cudaStream_t)zs) == 0 &&
       cublasGetStream(h, &st) == 0 && st == (cudaStream_t)zs, "SetStream/GetStream round trip");
    gemm_case(h, CUBLAS_OP_T, CUBLAS_OP_N, 9, 7, 5, 1.0f, 0.0f, 0, 0);
    ok(cublasSetStream(h, NULL) == 0 && zk_stream_destroy(zs) == ZK_SUCCESS,
       "GEMM on a user stream, then back to the default stream");
    {
        float r = 5.0f;
        ok(cublasSdot(h, 0, d, 1, d, 1, &r) == CUBLAS_STATUS_SUCCESS && r == 0.0f &&
           cublasSdot(h, 1, d, 1, d, 1, NULL) == E && cublasSaxpy(h, 1, NULL, d, 1, d, 1) == E &&
           cublasScopy(h, 1, d, 0, d, 1) == CUBLAS_STATUS_NOT_SUPPORTED,
           "Level 1 argument checks (n = 0 dot is 0, NULL result/alpha, increment 0)");
    }
    ok(strcmp(cublasGetStatusName(CUBLAS_STATUS_INVALID_VALUE), "CUBLAS_STATUS_INVALID_VALUE") == 0,
       "cublasGetStatusName");
    dev_free(d);
}

int main(int argc, char **argv)
{
    static const cublasOperation_t ops[] = { CUBLAS_OP_N, CUBLAS_OP_T };
    static const float ab[][2] = { { 1.5f, -0.5f }, { 1.0f, 0.0f }, { 1.0f, 1.0f }, { -2.0f, 0.0f },
                                   { 0.0f, 0.0f }, { 0.0f, 2.0f } };
    cublasHandle_t h;
    zk_device dev;
    zk_context ctx;
    cublasStatus_t s;
    int ia, ib, i, v = 0;
    /* The guest's TCG CPU (qemu64: SSE3, no SSSE3) makes OpenBLAS's CPU
     * detection pick kernels it cannot run (SIGILL); the SSE3 ones are
     * enough for a reference.  OpenBLAS reads this when it loads: re-exec. */
    if (!getenv("OPENBLAS_CORETYPE")) {
        setenv("OPENBLAS_CORETYPE", "Prescott", 1);
        execv("/proc/self/exe", argv);
    }
    (void)argc;
    srand(18);
    printf("TAP version 13\n");
    if (zk_init(0) != ZK_SUCCESS || zk_device_get(&dev, 0) != ZK_SUCCESS ||
        zk_ctx_create(&ctx, 0, dev) != ZK_SUCCESS) {
        printf("1..1\nnot ok 1 - no card/context: %s\n", zk_last_error_detail());
        return 1;
    }
    ok(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS, "cublasCreate");
    s = cublasGetVersion(h, &v);
    ok(s == CUBLAS_STATUS_SUCCESS && v == CUBLAS_VERSION, "cublasGetVersion %d", v);
    for (ia = 0; ia < 2; ia++) {
        for (ib = 0; ib < 2; ib++) {
            for (i = 0; i < 6; i++) {
                gemm_case(h, ops[ia], ops[ib], 37, 29, 23, ab[i][0], ab[i][1], 0, 0);
            }
        }
    }
    gemm_case(h, CUBLAS_OP_C, CUBLAS_OP_C, 5, 3, 8, 1.0f, 0.0f, 0, 0);
    gemm_case(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, 1.0f, 0.0f, 0, 0);
    gemm_case(h, CUBLAS_OP_N, CUBLAS_OP_T, 150, 130, 70, 1.0f, 0.0f, 0, 0);
    gemm_case(h, CUBLAS_OP_N, CUBLAS_OP_T, 130, 401, 660, 1.0f, 0.5f, 0, 0);  /* 2^25+ MACs: 2 workgroups */
    gemm_case(h, CUBLAS_OP_T, CUBLAS_OP_N, 64, 200, 96, 0.5f, 0.25f, 0, 0);
    for (i = 0; i < 3; i++) {
        gemm_case(h, CUBLAS_OP_N, CUBLAS_OP_N, 33, 17, 19, 1.0f, 0.0f, i, 1);
        gemm_case(h, CUBLAS_OP_T, CUBLAS_OP_T, 33, 17, 19, 1.5f, -1.0f, i, 1);
        gemm_case(h, CUBLAS_OP_N, CUBLAS_OP_T, 20, 31, 13, 1.0f, 1.0f, i, 1);
        gemm_case(h, CUBLAS_OP_T, CUBLAS_OP_N, 20, 31, 13, 2.0f, 0.0f, i, 1);
    }
    for (i = 1; i < 3; i++) {
        gemm16_case(h, CUBLAS_OP_N, CUBLAS_OP_N, 21, 14, 17, 1.0f, 0.0f, i);
        gemm16_case(h, CUBLAS_OP_T, CUBLAS_OP_T, 21, 14, 17, 0.5f, 0.75f, i);
        gemm16_case(h, CUBLAS_OP_N, CUBLAS_OP_T, 9, 12, 8, 0.0f, -2.0f, i);
    }
    batched_case(h, CUBLAS_OP_T, CUBLAS_OP_N, 11, 9, 16, 5, 0, 0.125f, 0.0f, 0, 0);
    batched_case(h, CUBLAS_OP_N, CUBLAS_OP_T, 12, 7, 5, 4, 1, 1.0f, -1.0f, 0, 0);
    batched_case(h, CUBLAS_OP_N, CUBLAS_OP_N, 9, 10, 11, 3, 0, 1.0f, 1.0f, 2, 0);
    batched_case(h, CUBLAS_OP_T, CUBLAS_OP_T, 10, 8, 7, 4, 0, 1.5f, 0.5f, 0, 1);
    batched_case(h, CUBLAS_OP_N, CUBLAS_OP_N, 9, 10, 11, 3, 1, 1.0f, 0.0f, 2, 1);
    for (ia = 0; ia < 2; ia++) {
        gemv_case(h, ops[ia], 41, 27, 1, 1, 1.0f, 0.0f);
        gemv_case(h, ops[ia], 41, 27, 2, 1, 1.5f, -0.5f);
        gemv_case(h, ops[ia], 41, 27, 1, 3, 1.0f, 1.0f);
        gemv_case(h, ops[ia], 41, 27, 3, 2, -1.0f, 0.0f);
        gemv_case(h, ops[ia], 41, 27, 2, 2, 0.0f, 0.0f);
        gemv_case(h, ops[ia], 41, 27, 1, 2, 0.0f, 0.5f);
    }
    gemv_case(h, CUBLAS_OP_T, 256, 384, 1, 1, 1.0f, 0.0f);
    level1_case(h, 1000, 1, 1);
    level1_case(h, 77, 3, 2);
    error_cases(h);
    ok(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS, "cublasDestroy");
    ok(cublasDestroy(NULL) == CUBLAS_STATUS_NOT_INITIALIZED, "cublasDestroy(NULL)");
    zk_ctx_destroy(ctx);
    printf("1..%d\n", n_test);
    return n_fail ? 1 : 0;
}
