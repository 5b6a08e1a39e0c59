/* SPDX-License-Identifier: MIT */
/*
 * test_cublas_api.cu - a plain CUDA + cuBLAS program (runtime API, no
 * zhikai header) run on our libcudart + libcublas: built by clang-14 with
 * our headers and, where nvcc exists, by nvcc -cudart=shared against
 * NVIDIA's own cublas_v2.h and libcublas.so.13, then run on ours (the
 * versioned symbols bind).  Sgemm in the four transpose combinations,
 * GemmEx f32, Sgemv, on a user stream, against a CPU reference; and the
 * status codes a cuBLAS user checks.  TAP.
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef ZK_TEST_NAME
#define ZK_TEST_NAME "clang"
#endif

static int n_test, n_fail;

static void tap(int ok, const char *what, double err)
{
    printf("%sok %d - %s: %s", ok ? "" : "not ", ++n_test, ZK_TEST_NAME, what);
    if (err >= 0) {
        printf(" (max rel err %.2e)", err);
    }
    printf("\n");
    n_fail += !ok;
}

/* C (m x n, ldc) = alpha op(A) op(B) + beta C, column-major, in double. */
static void ref_gemm(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                     const float *b, int ldb, float beta, float *c, int ldc)
{
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < m; i++) {
            double s = 0;
            for (int l = 0; l < k; l++) {
                double av = ta ? a[l + (size_t)i * lda] : a[i + (size_t)l * lda];
                double bv = tb ? b[j + (size_t)l * ldb] : b[l + (size_t)j * ldb];
                s += av * bv;
            }
            c[i + (size_t)j * ldc] = (float)(alpha * s + (beta == 0.0f ? 0.0 : beta * c[i + (size_t)j * ldc]));
        }
    }
}

static float *dput(const float *h, size_t n)
{
    float *d = NULL;
    if (cudaMalloc((void **)&d, n * sizeof(float)) != cudaSuccess ||
        cudaMemcpy(d, h, n * sizeof(float), cudaMemcpyHostToDevice) != cudaSuccess) {
        printf("not ok - cudaMalloc/cudaMemcpy failed\n");
        exit(1);
    }
    return d;
}

static double max_err(const float *got, const float *want, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]) / (1.0 + fabs(want[i]));
        e = d > e || d != d ? d : e;
    }
    return e;
}

int main(void)
{
    const int m = 19, n = 13, k = 11, ld = 24;
    const size_t sz = (size_t)ld * ld;
    float *a = (float *)malloc(sz * 4), *b = (float *)malloc(sz * 4), *c = (float *)malloc(sz * 4);
    float *ref = (float *)malloc(sz * 4), *got = (float *)malloc(sz * 4);
    float alpha = 0.75f, beta = -1.25f, one = 1.0f, zero = 0.0f;
    cublasHandle_t h;
    cudaStream_t s;
    int ver = 0;
    printf("TAP version 13\n");
    /* First CUDA call of the program: cuBLAS brings up the runtime's
     * primary context itself. */
    tap(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS && cublasGetVersion(h, &ver) == CUBLAS_STATUS_SUCCESS &&
        ver >= 13000, "cublasCreate as the first CUDA call, cublasGetVersion", -1);
    srand(7);
    for (size_t i = 0; i < sz; i++) {
        a[i] = (float)(rand() % 2001 - 1000) / 1000.0f;
        b[i] = (float)(rand() % 2001 - 1000) / 1000.0f;
        c[i] = (float)(rand() % 2001 - 1000) / 1000.0f;
    }
    float *da = dput(a, sz), *db = dput(b, sz), *dc = dput(c, sz);
    tap(cudaStreamCreate(&s) == cudaSuccess && cublasSetStream(h, s) == CUBLAS_STATUS_SUCCESS,
        "cublasSetStream(cudaStreamCreate)", -1);
    for (int combo = 0; combo < 4; combo++) {
        int ta = combo & 1, tb = combo >> 1;
        char what[64];
        for (size_t i = 0; i < sz; i++) {
            ref[i] = c[i];
        }
        cudaMemcpy(dc, c, sz * 4, cudaMemcpyHostToDevice);
        ref_gemm(ta, tb, m, n, k, alpha, a, ld, b, ld, beta, ref, ld);
        cublasStatus_t st = cublasSgemm(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                        m, n, k, &alpha, da, ld, db, ld, &beta, dc, ld);
        cudaStreamSynchronize(s);
        cudaMemcpy(got, dc, sz * 4, cudaMemcpyDeviceToHost);
        double e = max_err(got, ref, sz);
        snprintf(what, sizeof(what), "cublasSgemm %c%c", ta ? 'T' : 'N', tb ? 'T' : 'N');
        tap(st == CUBLAS_STATUS_SUCCESS && e < 2e-5, what, e);
    }
    {
        for (size_t i = 0; i < sz; i++) {
            ref[i] = c[i];
        }
        cudaMemcpy(dc, c, sz * 4, cudaMemcpyHostToDevice);
        ref_gemm(0, 1, m, n, k, 1.0f, a, ld, b, ld, 0.0f, ref, ld);
        cublasStatus_t st = cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_T, m, n, k, &one, da, CUDA_R_32F, ld,
                                         db, CUDA_R_32F, ld, &zero, dc, CUDA_R_32F, ld,
                                         CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
        cudaStreamSynchronize(s);
        cudaMemcpy(got, dc, sz * 4, cudaMemcpyDeviceToHost);
        double e = max_err(got, ref, sz);
        tap(st == CUBLAS_STATUS_SUCCESS && e < 2e-5, "cublasGemmEx f32 NT", e);
    }
    {
        /* y (n) = A^T x: the GEMM reference with one column. */
        for (size_t i = 0; i < sz; i++) {
            ref[i] = c[i];
        }
        cudaMemcpy(dc, c, sz * 4, cudaMemcpyHostToDevice);
        ref_gemm(1, 0, n, 1, m, alpha, a, ld, b, ld, beta, ref, ld);
        cublasStatus_t st = cublasSgemv(h, CUBLAS_OP_T, m, n, &alpha, da, ld, db, 1, &beta, dc, 1);
        cudaStreamSynchronize(s);
        cudaMemcpy(got, dc, sz * 4, cudaMemcpyDeviceToHost);
        double e = max_err(got, ref, sz);
        tap(st == CUBLAS_STATUS_SUCCESS && e < 2e-5, "cublasSgemv T", e);
    }
    tap(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, da, m - 1, db, ld, &zero, dc, ld) ==
        CUBLAS_STATUS_INVALID_VALUE, "lda < m: CUBLAS_STATUS_INVALID_VALUE", -1);
    tap(cublasSgemv(h, CUBLAS_OP_N, m, n, &one, da, ld, db, 0, &zero, dc, 1) ==
        CUBLAS_STATUS_INVALID_VALUE, "incx = 0: CUBLAS_STATUS_INVALID_VALUE", -1);
    tap(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS && cudaStreamDestroy(s) == cudaSuccess &&
        cudaFree(da) == cudaSuccess && cudaFree(db) == cudaSuccess && cudaFree(dc) == cudaSuccess &&
        cudaDeviceSynchronize() == cudaSuccess, "cublasDestroy, frees, no sticky error", -1);
    printf("1..%d\n", n_test);
    free(a);
    free(b);
    free(c);
    free(ref);
    free(got);
    return n_fail ? 1 : 0;
}
