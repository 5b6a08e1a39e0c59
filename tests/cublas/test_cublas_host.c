/* SPDX-License-Identifier: MIT */
/*
 * test_cublas_host.c - libcublas on the host against the fake driver
 * (tests/host/zk_fake_ioctl.c, which runs DMA and records launches), under
 * ASan/UBSan: handle life cycle, cuBLAS's argument checks and status codes,
 * and the column-major -> row-major mapping each call hands the GEMM kernel
 * (the numbers themselves are checked on the card by test_cublas).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <cublas_v2.h>
#include <zhikai/zhikai.h>

#include "zk_fake_ioctl.h"

static zk_context g_ctx;
static cublasHandle_t g_h;
static void *g_buf;         /* one device allocation big enough for every case */
static const float one = 1.0f, zero = 0.0f, half = 0.5f;

/* The GEMM kernel's argument slots (cublas_kernels.zkc.in). */
enum { A_X, A_Y, A_C, A_WX, A_WT, A_N, A_M, A_K, A_LDX, A_LDY, A_LDC, A_MODE, A_ALPHA, A_BETA };

static int setup(void **state)
{
    zk_device dev;
    zk_deviceptr d;
    (void)state;
    fake_reset();
    if (zk_init(0) != ZK_SUCCESS || zk_device_get(&dev, 0) != ZK_SUCCESS ||
        zk_ctx_create(&g_ctx, 0, dev) != ZK_SUCCESS || cublasCreate(&g_h) != 0 ||
        zk_mem_alloc(&d, 1 << 20) != ZK_SUCCESS) {
        return -1;
    }
    g_buf = (void *)(uintptr_t)d;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (cublasDestroy(g_h) != 0 || zk_ctx_destroy(g_ctx) != ZK_SUCCESS) {
        return -1;
    }
    return fake.live_bos == 0 ? 0 : -1;
}

/* Launches queued since @before, after flushing the stream. */
static uint64_t launches_since(uint64_t before)
{
    assert_int_equal(zk_ctx_synchronize(), ZK_SUCCESS);
    return fake.launches - before;
}

static void test_status_and_handles(void **state)
{
    cublasHandle_t h2;
    cublasStatus_t s;
    int v;
    (void)state;
    assert_int_equal(cublasCreate(NULL), CUBLAS_STATUS_INVALID_VALUE);
    assert_int_equal(cublasDestroy(NULL), CUBLAS_STATUS_NOT_INITIALIZED);
    assert_int_equal(cublasSetStream(NULL, NULL), CUBLAS_STATUS_NOT_INITIALIZED);
    assert_int_equal(cublasGetProperty(MAJOR_VERSION, &v), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(v, CUBLAS_VER_MAJOR);
    assert_int_equal(cublasGetProperty((libraryPropertyType)9, &v), CUBLAS_STATUS_INVALID_VALUE);
    for (s = 0; s <= 20; s++) {
        assert_non_null(cublasGetStatusName(s));
        assert_non_null(cublasGetStatusString(s));
    }
    assert_string_equal(cublasGetStatusName(CUBLAS_STATUS_NOT_SUPPORTED), "CUBLAS_STATUS_NOT_SUPPORTED");
    /* A second handle in the same context, then no context at all. */
    assert_int_equal(cublasCreate(&h2), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(cublasDestroy(h2), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(zk_ctx_set_current(NULL), ZK_SUCCESS);
    assert_int_equal(cublasCreate(&h2), CUBLAS_STATUS_NOT_INITIALIZED);
    assert_int_equal(zk_ctx_set_current(g_ctx), ZK_SUCCESS);
    assert_int_equal(cublasSetMathMode(g_h, (cublasMath_t)7), CUBLAS_STATUS_INVALID_VALUE);
    assert_int_equal(cublasSetMathMode(g_h, CUBLAS_TF32_TENSOR_OP_MATH), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(cublasSetPointerMode(g_h, (cublasPointerMode_t)5), CUBLAS_STATUS_INVALID_VALUE);
    assert_int_equal(cublasSetPointerMode(g_h, CUBLAS_POINTER_MODE_DEVICE), CUBLAS_STATUS_NOT_SUPPORTED);
}

static void test_bad_arguments_launch_nothing(void **state)
{
    const cublasStatus_t E = CUBLAS_STATUS_INVALID_VALUE;
    void *d = g_buf;
    uint64_t before = fake.launches;
    (void)state;
    assert_int_equal(cublasSgemm(g_h, (cublasOperation_t)-1, CUBLAS_OP_N, 1, 1, 1, &one, d, 1, d, 1,
                                 &zero, d, 1), E);
    assert_int_equal(cublasSgemm(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 1, -1, 1, &one, d, 1, d, 1, &zero,
                                 d, 1), E);
    assert_int_equal(cublasSgemm(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 3, 2, 5, &one, d, 2, d, 5, &zero,
                                 d, 3), E);                                  /* lda < m */
    assert_int_equal(cublasSgemm(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 3, 2, 5, &one, d, 3, d, 4, &zero,
                                 d, 3), E);                                  /* ldb < k */
    assert_int_equal(cublasSgemm(g_h, CUBLAS_OP_T, CUBLAS_OP_T, 3, 2, 5, &one, d, 5, d, 1, &zero,
                                 d, 3), E);                                  /* ldb < n */
    assert_int_equal(cublasSgemm(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 3, 2, 5, &one, d, 3, d, 5, &zero,
                                 d, 2), E);                                  /* ldc < m */
    assert_int_equal(cublasSgemm(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 3, 2, 5, &one, d, 3, d, 5, NULL,
                                 d, 3), E);
    assert_int_equal(cublasSgemv(g_h, CUBLAS_OP_N, 3, 2, &one, d, 3, d, 1, &zero, d, 0), E);
    assert_int_equal(cublasSgemv(g_h, CUBLAS_OP_N, 3, -2, &one, d, 3, d, 1, &zero, d, 1), E);
    assert_int_equal(cublasSgemv(g_h, CUBLAS_OP_CONJG, 3, 2, &one, d, 3, d, 1, &zero, d, 1), E);
    assert_int_equal(cublasGemmEx(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, d, CUDA_R_16BF, 1, d,
                                  CUDA_R_16BF, 1, &zero, d, CUDA_R_16F, 1, CUBLAS_COMPUTE_32F,
                                  CUBLAS_GEMM_DEFAULT), CUBLAS_STATUS_NOT_SUPPORTED);
    assert_int_equal(cublasGemmEx(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, d, CUDA_R_32F, 1, d,
                                  CUDA_R_32F, 1, &zero, d, CUDA_R_16F, 1, CUBLAS_COMPUTE_32F,
                                  CUBLAS_GEMM_DEFAULT), CUBLAS_STATUS_NOT_SUPPORTED);
    assert_int_equal(cublasGemmEx(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, d, CUDA_R_16F, 1, d,
                                  CUDA_R_16F, 1, &zero, d, CUDA_R_32F, 1, CUBLAS_COMPUTE_16F,
                                  CUBLAS_GEMM_DEFAULT), CUBLAS_STATUS_NOT_SUPPORTED);
    /* Quick returns: nothing to compute, nothing launched, SUCCESS. */
    assert_int_equal(cublasSgemm(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 0, 2, 5, &one, NULL, 1, NULL, 5,
                                 &zero, NULL, 1), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(cublasSgemm(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 3, 2, 5, &zero, d, 3, d, 5, &one,
                                 d, 3), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(cublasSgemv(g_h, CUBLAS_OP_T, 3, 0, &one, d, 3, d, 1, &zero, d, 1),
                     CUBLAS_STATUS_SUCCESS);
    assert_int_equal(launches_since(before), 0);
    /* Scratch the card cannot hold (a 32768^2 transpose: 4 GiB, the fake
     * card has 1): ALLOC_FAILED, nothing queued, the handle still works. */
    assert_int_equal(cublasSgemm(g_h, CUBLAS_OP_N, CUBLAS_OP_T, 1, 32768, 32768, &one, d, 1, d, 32768,
                                 &zero, d, 1), CUBLAS_STATUS_ALLOC_FAILED);
    assert_int_equal(launches_since(before), 0);
    /* A device pointer that is in no allocation never reaches the card. */
    assert_int_equal(cublasSgemm(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, (void *)0x40, 2, d, 2,
                                 &zero, d, 2), CUBLAS_STATUS_EXECUTION_FAILED);
    assert_int_equal(launches_since(before), 0);
}

/* One Sgemm; the kernel's (n, m, k, ldx, ldy, ldc, mode) and X/Y roles. */
static void expect_gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, int lda,
                        int ldb, int ldc, const float *alpha, const float *beta, uint64_t mode)
{
    uint64_t before = fake.launches;
    char *a = g_buf, *b = (char *)g_buf + 65536, *c = (char *)g_buf + 131072;
    assert_int_equal(cublasSgemm(g_h, ta, tb, m, n, k, alpha, (float *)a, lda, (float *)b, ldb, beta,
                                 (float *)c, ldc), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(launches_since(before), 1);
    if (!(mode & 4)) {
        assert_int_equal(fake.last_args[A_X], (uintptr_t)b);    /* X = op(B)^T */
        assert_int_equal(fake.last_args[A_Y], (uintptr_t)a);    /* Y = op(A)^T */
    }
    assert_int_equal(fake.last_args[A_C], (uintptr_t)c);
    assert_int_equal(fake.last_args[A_N], n);
    assert_int_equal(fake.last_args[A_M], m);
    assert_int_equal(fake.last_args[A_K], k);
    assert_int_equal(fake.last_args[A_LDX], ldb);
    assert_int_equal(fake.last_args[A_LDY], lda);
    assert_int_equal(fake.last_args[A_LDC], ldc);
    assert_int_equal(fake.last_args[A_MODE], mode);
    assert_int_equal(fake.last_args[A_ALPHA], zk_arg_f32(*alpha));
    assert_int_equal(fake.last_args[A_BETA], zk_arg_f32(*beta));
}

static void test_gemm_mapping(void **state)
{
    const float two = 2.0f;
    (void)state;
    /* transb = N: X is B's row-major view; transb = T: transposed in scratch (1). */
    expect_gemm(CUBLAS_OP_N, CUBLAS_OP_N, 5, 3, 4, 7, 4, 6, &one, &zero, 8);
    expect_gemm(CUBLAS_OP_T, CUBLAS_OP_N, 5, 3, 4, 4, 4, 5, &one, &zero, 8 | 2);
    expect_gemm(CUBLAS_OP_N, CUBLAS_OP_T, 5, 3, 4, 5, 3, 5, &one, &zero, 8 | 1);
    expect_gemm(CUBLAS_OP_C, CUBLAS_OP_C, 5, 3, 4, 4, 3, 5, &one, &zero, 8 | 2 | 1);
    /* alpha/beta: scale (16), accumulate (32), general, C = beta C (4). */
    expect_gemm(CUBLAS_OP_N, CUBLAS_OP_N, 5, 3, 4, 5, 4, 5, &two, &zero, 8 | 16);
    expect_gemm(CUBLAS_OP_N, CUBLAS_OP_N, 5, 3, 4, 5, 4, 5, &one, &one, 32);
    expect_gemm(CUBLAS_OP_N, CUBLAS_OP_N, 5, 3, 4, 5, 4, 5, &half, &two, 16);
    expect_gemm(CUBLAS_OP_N, CUBLAS_OP_N, 5, 3, 4, 5, 4, 5, &zero, &two, 4);
    expect_gemm(CUBLAS_OP_N, CUBLAS_OP_N, 5, 3, 4, 5, 4, 5, &zero, &zero, 4 | 8);
    expect_gemm(CUBLAS_OP_N, CUBLAS_OP_N, 5, 3, 0, 5, 1, 5, &one, &zero, 4 | 8);
    /* The transpose scratch exactly fills the scratch buffer (32 * 32 * 4 =
     * 4096 bytes, its first size) and no product scratch is needed: every
     * pointer argument must still be inside the allocation. */
    expect_gemm(CUBLAS_OP_N, CUBLAS_OP_T, 5, 32, 32, 5, 32, 5, &one, &zero, 8 | 1);
}

static void test_gemv_mapping(void **state)
{
    void *d = g_buf;
    uint64_t before;
    (void)state;
    /* trans = T: y (n, incy) = A^T x is C^T n x 1, X = A's view, Y = x (stride incx). */
    before = fake.launches;
    assert_int_equal(cublasSgemv(g_h, CUBLAS_OP_T, 6, 4, &one, d, 8, d, 2, &zero, d, 3),
                     CUBLAS_STATUS_SUCCESS);
    assert_int_equal(launches_since(before), 1);
    assert_int_equal(fake.last_args[A_N], 4);
    assert_int_equal(fake.last_args[A_M], 1);
    assert_int_equal(fake.last_args[A_K], 6);
    assert_int_equal(fake.last_args[A_LDX], 8);
    assert_int_equal(fake.last_args[A_LDY], 2);
    assert_int_equal(fake.last_args[A_LDC], 3);
    /* trans = N, unit strides: one row x^T . A^T. */
    before = fake.launches;
    assert_int_equal(cublasSgemv(g_h, CUBLAS_OP_N, 6, 4, &one, d, 8, d, 1, &zero, d, 1),
                     CUBLAS_STATUS_SUCCESS);
    assert_int_equal(launches_since(before), 1);
    assert_int_equal(fake.last_args[A_N], 1);
    assert_int_equal(fake.last_args[A_M], 6);
    assert_int_equal(fake.last_args[A_K], 4);
    assert_int_equal(fake.last_args[A_LDY], 8);
    assert_int_equal(fake.last_args[A_MODE], 8);
    /* trans = N, incx 2 (gathered: mode 1), incy 3: GEMM to scratch + axpby scatter. */
    before = fake.launches;
    assert_int_equal(cublasSgemv(g_h, CUBLAS_OP_N, 6, 4, &half, d, 8, d, 2, &one, d, 3),
                     CUBLAS_STATUS_SUCCESS);
    assert_int_equal(launches_since(before), 2);
    assert_int_equal(fake.last_args[1], (uintptr_t)d);  /* axpby's y */
    assert_int_equal(fake.last_args[2], 6);
    assert_int_equal(fake.last_args[3], 3);
    assert_int_equal(fake.last_args[4], 0);
    assert_int_equal(fake.last_args[5], zk_arg_f32(0.5f));
}

static void test_stream(void **state)
{
    zk_stream s;
    cudaStream_t got;
    uint64_t before = fake.launches;
    (void)state;
    assert_int_equal(zk_stream_create(&s, 0), ZK_SUCCESS);
    assert_int_equal(cublasSetStream(g_h, (cudaStream_t)s), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(cublasGetStream(g_h, &got), CUBLAS_STATUS_SUCCESS);
    assert_ptr_equal(got, s);
    assert_int_equal(cublasSgemv(g_h, CUBLAS_OP_T, 6, 4, &one, g_buf, 8, g_buf, 1, &zero, g_buf, 1),
                     CUBLAS_STATUS_SUCCESS);
    assert_int_equal(zk_stream_synchronize(s), ZK_SUCCESS);
    assert_int_equal(fake.launches - before, 1);
    /* cudaStreamLegacy / PerThread are the default stream. */
    assert_int_equal(cublasSetStream(g_h, (cudaStream_t)0x2), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(cublasGetStream(g_h, &got), CUBLAS_STATUS_SUCCESS);
    assert_ptr_equal(got, (cudaStream_t)0x2);
    assert_int_equal(zk_stream_destroy(s), ZK_SUCCESS);
    assert_int_equal(cublasSetStream(g_h, NULL), CUBLAS_STATUS_SUCCESS);
}

static void test_strided_batched(void **state)
{
    char *a = g_buf, *b = (char *)g_buf + 65536, *c = (char *)g_buf + 131072;
    uint64_t before = fake.launches;
    (void)state;
    assert_int_equal(cublasSgemmStridedBatched(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 3, 2, &one, (float *)a,
                                               4, 8, (float *)b, 2, 6, &zero, (float *)c, 4, 12, -1),
                     CUBLAS_STATUS_INVALID_VALUE);
    assert_int_equal(cublasSgemmStridedBatched(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 3, 2, &one, (float *)a,
                                               3, 8, (float *)b, 2, 6, &zero, (float *)c, 4, 12, 5),
                     CUBLAS_STATUS_INVALID_VALUE);          /* lda < m: nothing queued */
    assert_int_equal(cublasSgemmStridedBatched(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 3, 2, &one, (float *)a,
                                               4, 8, (float *)b, 2, 6, &zero, (float *)c, 4, 12, 0),
                     CUBLAS_STATUS_SUCCESS);
    assert_int_equal(launches_since(before), 0);
    assert_int_equal(cublasSgemmStridedBatched(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 3, 2, &one, (float *)a,
                                               4, 8, (float *)b, 2, 0, &zero, (float *)c, 4, 12, 3),
                     CUBLAS_STATUS_SUCCESS);
    assert_int_equal(launches_since(before), 3);
    /* the last batch: A + 2*8 floats, B repeated (stride 0), C + 2*12 floats */
    assert_int_equal(fake.last_args[A_Y], (uintptr_t)(a + 2 * 8 * 4));
    assert_int_equal(fake.last_args[A_X], (uintptr_t)b);
    assert_int_equal(fake.last_args[A_C], (uintptr_t)(c + 2 * 12 * 4));
    before = fake.launches;
    assert_int_equal(cublasGemmStridedBatchedEx(g_h, CUBLAS_OP_T, CUBLAS_OP_N, 4, 3, 2, &one, a,
                                                CUDA_R_16BF, 2, 8, b, CUDA_R_16BF, 2, 6, &zero, c,
                                                CUDA_R_32F, 4, 12, 2, CUBLAS_COMPUTE_32F,
                                                CUBLAS_GEMM_DEFAULT), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(launches_since(before), 2);
    assert_int_equal(fake.last_args[A_Y], (uintptr_t)(a + 8 * 2));   /* bf16: 2 bytes */
    assert_int_equal(fake.last_args[A_X], (uintptr_t)(b + 6 * 2));
    assert_int_equal(fake.last_args[A_C], (uintptr_t)(c + 12 * 4));
}

static void test_level1(void **state)
{
    float r = 3.0f;
    uint64_t before = fake.launches;
    (void)state;
    assert_int_equal(cublasSscal(NULL, 4, &one, g_buf, 1), CUBLAS_STATUS_NOT_INITIALIZED);
    assert_int_equal(cublasSscal(g_h, 4, NULL, g_buf, 1), CUBLAS_STATUS_INVALID_VALUE);
    assert_int_equal(cublasSaxpy(g_h, 4, &one, g_buf, -1, g_buf, 1), CUBLAS_STATUS_NOT_SUPPORTED);
    assert_int_equal(cublasSaxpy(g_h, 4, &zero, g_buf, 1, g_buf, 1), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(cublasScopy(g_h, -3, g_buf, 1, g_buf, 1), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(cublasSdot(g_h, 4, g_buf, 1, g_buf, 1, NULL), CUBLAS_STATUS_INVALID_VALUE);
    assert_int_equal(cublasSdot(g_h, 0, g_buf, 1, g_buf, 1, &r), CUBLAS_STATUS_SUCCESS);
    assert_true(r == 0.0f);
    assert_int_equal(launches_since(before), 0);
    /* One launch each; Sdot waits for its result (the fake only records
     * launches, so the value itself is checked in the VM). */
    assert_int_equal(cublasSscal(g_h, 4, &half, g_buf, 2), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(cublasSaxpy(g_h, 4, &half, g_buf, 1, g_buf, 3), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(cublasScopy(g_h, 4, g_buf, 1, g_buf, 1), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(cublasSdot(g_h, 4, g_buf, 2, g_buf, 1, &r), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(fake.launches - before, 4);
    assert_int_equal(fake.last_args[3], 4);     /* n, incx, incy, op */
    assert_int_equal(fake.last_args[4], 2);
    assert_int_equal(fake.last_args[5], 1);
    assert_int_equal(fake.last_args[6], 3);
}

/* A random dimension: mostly small, sometimes 0, negative or huge. */
static int rdim(void)
{
    int r = rand() % 20;
    return r == 0 ? 0 : r == 1 ? -(rand() % 3 + 1) : r == 2 ? (1 << 30) + rand() % 1000 : rand() % 40 + 1;
}

static cublasOperation_t rop(void)
{
    int r = rand() % 9;
    return r < 8 ? (cublasOperation_t)(r % 3) : (cublasOperation_t)(rand() % 7 - 2);
}

/* 3000 calls with random (often invalid) arguments: every one returns a
 * cuBLAS status (SUCCESS only for a call the checks accept), nothing
 * crashes or trips ASan/UBSan, and the handle still works afterwards. */
static void test_random_arguments(void **state)
{
    static const cudaDataType types[] = { CUDA_R_32F, CUDA_R_16F, CUDA_R_16BF, CUDA_R_64F, CUDA_R_8I };
    static const float vals[] = { 0.0f, 1.0f, -0.5f, 2.0f };
    int n_ok = 0, n_bad = 0;
    (void)state;
    srand(1818);
    for (int i = 0; i < 3000; i++) {
        int m = rdim(), n = rdim(), k = rdim(), lda = rdim(), ldb = rdim(), ldc = rdim();
        int incx = rand() % 5 - 1, incy = rand() % 5 - 1;
        const float *alpha = rand() % 50 ? &vals[rand() % 4] : NULL;
        const float *beta = rand() % 50 ? &vals[rand() % 4] : NULL;
        cublasOperation_t ta = rop(), tb = rop();
        cublasStatus_t s;
        switch (rand() % 4) {
        case 0:
            s = cublasSgemm(g_h, ta, tb, m, n, k, alpha, g_buf, lda, g_buf, ldb, beta, g_buf, ldc);
            break;
        case 1:
            s = cublasSgemv(g_h, ta, m, n, alpha, g_buf, lda, g_buf, incx, beta, g_buf, incy);
            break;
        case 2:
            s = cublasGemmEx(g_h, ta, tb, m, n, k, alpha, g_buf, types[rand() % 5], lda, g_buf,
                             types[rand() % 5], ldb, beta, g_buf, types[rand() % 5], ldc,
                             rand() % 2 ? CUBLAS_COMPUTE_32F : (cublasComputeType_t)(rand() % 80),
                             (cublasGemmAlgo_t)(rand() % 130 - 2));
            break;
        default:
            s = cublasSgemmStridedBatched(g_h, ta, tb, m, n, k, alpha, g_buf, lda, rand() % 64, g_buf,
                                          ldb, rand() % 64, beta, g_buf, ldc, rand() % 64,
                                          rand() % 5 - 1);
            break;
        }
        assert_true(s == CUBLAS_STATUS_SUCCESS || s == CUBLAS_STATUS_INVALID_VALUE ||
                    s == CUBLAS_STATUS_NOT_SUPPORTED || s == CUBLAS_STATUS_ALLOC_FAILED ||
                    s == CUBLAS_STATUS_EXECUTION_FAILED);
        if (s == CUBLAS_STATUS_SUCCESS) {
            assert_true(m >= 0 && n >= 0);
        }
        n_ok += s == CUBLAS_STATUS_SUCCESS;
        n_bad += s == CUBLAS_STATUS_INVALID_VALUE;
    }
    print_message("# random arguments: %d accepted, %d INVALID_VALUE\n", n_ok, n_bad);
    assert_true(n_ok > 100 && n_bad > 100);     /* both paths really exercised */
    assert_int_equal(zk_ctx_synchronize(), ZK_SUCCESS);
    assert_int_equal(cublasSgemv(g_h, CUBLAS_OP_T, 6, 4, &one, g_buf, 8, g_buf, 1, &zero, g_buf, 1),
                     CUBLAS_STATUS_SUCCESS);
    assert_int_equal(zk_ctx_synchronize(), ZK_SUCCESS);
}

static void test_pointer_array_batched(void **state)
{
    char *base = (char *)g_buf + 262144;
    uint64_t ptrs[6] = { (uintptr_t)g_buf, (uintptr_t)g_buf + 64, (uintptr_t)g_buf + 4096,
                         (uintptr_t)g_buf + 8192, (uintptr_t)g_buf + 16384, (uintptr_t)g_buf + 20480 };
    uint64_t before = fake.launches;
    (void)state;
    /* arrays: A[2], B[2], C[2] in device memory */
    assert_int_equal(zk_memcpy_htod((zk_deviceptr)(uintptr_t)base, ptrs, sizeof(ptrs)), ZK_SUCCESS);
    assert_int_equal(cublasSgemmBatched(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 3, 2, &one,
                                        (const float *const *)base, 4,
                                        (const float *const *)(base + 16), 2, &zero,
                                        (float *const *)(base + 32), 4, -2), CUBLAS_STATUS_INVALID_VALUE);
    assert_int_equal(cublasSgemmBatched(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 3, 2, &one,
                                        (const float *const *)base, 4,
                                        (const float *const *)(base + 16), 2, &zero,
                                        (float *const *)(base + 32), 4, 2), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(launches_since(before), 2);
    assert_int_equal(fake.last_args[A_Y], ptrs[1]);     /* batch 1: A[1] */
    assert_int_equal(fake.last_args[A_X], ptrs[3]);     /* B[1] */
    assert_int_equal(fake.last_args[A_C], ptrs[5]);     /* C[1] */
    /* arrays that are not device memory (an address the compiler cannot see) */
    {
        volatile uintptr_t bogus = 0x40;
        const float *const *arr = (const float *const *)bogus;
        assert_int_equal(cublasSgemmBatched(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 3, 2, &one, arr, 4, arr,
                                            2, &zero, (float *const *)arr, 4, 2),
                         CUBLAS_STATUS_EXECUTION_FAILED);
    }
    assert_int_equal(launches_since(before), 2);
}

/* The handle keeps working on its own context while another is current,
 * and leaves the caller's current context alone. */
static void test_other_context_current(void **state)
{
    zk_context c2, cur = NULL;
    zk_device dev;
    uint64_t before = fake.launches;
    (void)state;
    assert_int_equal(zk_device_get(&dev, 0), ZK_SUCCESS);
    assert_int_equal(zk_ctx_create(&c2, 0, dev), ZK_SUCCESS);     /* now current */
    /* alpha = beta = 0 also queues a memset of the scratch (a NULL-stream call). */
    assert_int_equal(cublasSgemm(g_h, CUBLAS_OP_N, CUBLAS_OP_N, 5, 3, 4, &zero, g_buf, 5, g_buf, 4,
                                 &zero, g_buf, 5), CUBLAS_STATUS_SUCCESS);
    assert_int_equal(zk_ctx_get_current(&cur), ZK_SUCCESS);
    assert_ptr_equal(cur, c2);
    assert_int_equal(zk_ctx_set_current(g_ctx), ZK_SUCCESS);
    assert_int_equal(launches_since(before), 1);
    assert_int_equal(fake.last_args[A_MODE], 4 | 8);
    assert_int_equal(zk_ctx_destroy(c2), ZK_SUCCESS);
    assert_int_equal(zk_ctx_set_current(g_ctx), ZK_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_and_handles),
        cmocka_unit_test(test_bad_arguments_launch_nothing),
        cmocka_unit_test(test_gemm_mapping),
        cmocka_unit_test(test_gemv_mapping),
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_strided_batched),
        cmocka_unit_test(test_other_context_current),
        cmocka_unit_test(test_pointer_array_batched),
        cmocka_unit_test(test_level1),
        cmocka_unit_test(test_random_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
