/* SPDX-License-Identifier: MIT */
/*
 * cublas_level1.c - cublasSscal, cublasSaxpy, cublasScopy, cublasSdot: one
 * launch of cublas_vec_f32 (cublas_level1.zkc) each.  As in reference BLAS,
 * n <= 0 does nothing (Sdot returns 0); increments must be positive here
 * (BLAS's reversed negative-increment vectors are not supported).  Sdot's
 * result goes to host memory (pointer mode host), so it waits for the
 * stream, as cuBLAS does.
 */
#include "cublas_internal.h"

enum { OP_SCAL, OP_AXPY, OP_COPY, OP_DOT };

static cublasStatus_t vec(struct cublasContext *h, int op, int n, float alpha, const float *x,
                          int incx, float *y, int incy, float *result)
{
    size_t w_bytes = 0, res_off = 0;
    cublasStatus_t s;
    uint64_t args[8];
    if (op == OP_AXPY) {
        w_bytes = (size_t)n * 4;
    } else if (op == OP_DOT) {
        res_off = ((size_t)n + 63) / 64 * 64 * 4;
        w_bytes = res_off + 4;
    }
    s = cublas_ws_reserve(h, w_bytes);
    if (s != CUBLAS_STATUS_SUCCESS) {
        return s;
    }
    args[0] = (zk_deviceptr)(uintptr_t)x;
    args[1] = op == OP_SCAL ? (zk_deviceptr)(uintptr_t)x : (zk_deviceptr)(uintptr_t)y;
    args[2] = h->ws;
    args[3] = (uint64_t)n;
    args[4] = (uint64_t)incx;
    args[5] = (uint64_t)(op == OP_SCAL ? 1 : incy);
    args[6] = (uint64_t)op;
    args[7] = zk_arg_f32(alpha);
    s = cublas_launch(h, h->f_vec, 1, args, 8);
    if (s == CUBLAS_STATUS_SUCCESS && op == OP_DOT) {
        zk_context old = cublas_enter(h);
        zk_status st = zk_memcpy_dtoh_async(result, h->ws + res_off, 4, h->stream);
        if (st == ZK_SUCCESS) {
            st = zk_stream_synchronize(h->stream);
        }
        cublas_leave(h, old);
        s = cublas_from_zk(st);
    }
    return s;
}

CUBLAS_EXPORT cublasStatus_t cublasSscal_v2(cublasHandle_t handle, int n, const float *alpha, float *x,
                                            int incx)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    if (!alpha) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (n <= 0) {
        return CUBLAS_STATUS_SUCCESS;
    }
    if (incx <= 0) {
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    return vec(h, OP_SCAL, n, *alpha, x, incx, NULL, 1, NULL);
}

CUBLAS_EXPORT cublasStatus_t cublasSaxpy_v2(cublasHandle_t handle, int n, const float *alpha,
                                            const float *x, int incx, float *y, int incy)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    if (!alpha) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (n <= 0 || *alpha == 0.0f) {
        return CUBLAS_STATUS_SUCCESS;
    }
    if (incx <= 0 || incy <= 0) {
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    return vec(h, OP_AXPY, n, *alpha, x, incx, y, incy, NULL);
}

CUBLAS_EXPORT cublasStatus_t cublasScopy_v2(cublasHandle_t handle, int n, const float *x, int incx,
                                            float *y, int incy)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    if (n <= 0) {
        return CUBLAS_STATUS_SUCCESS;
    }
    if (incx <= 0 || incy <= 0) {
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    return vec(h, OP_COPY, n, 1.0f, x, incx, y, incy, NULL);
}

CUBLAS_EXPORT cublasStatus_t cublasSdot_v2(cublasHandle_t handle, int n, const float *x, int incx,
                                           const float *y, int incy, float *result)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    if (!result) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (n <= 0) {
        *result = 0.0f;
        return CUBLAS_STATUS_SUCCESS;
    }
    if (incx <= 0 || incy <= 0) {
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    return vec(h, OP_DOT, n, 1.0f, x, incx, (float *)y, incy, result);
}
