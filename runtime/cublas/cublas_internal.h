/* SPDX-License-Identifier: MIT */
/*
 * cublas_internal.h - libcublas's handle and the helpers its files share.
 * libcublas is a thin layer over libzhikai: a handle is a module of tile
 * kernels (cublas_kernels.zkc.in) loaded into the context that was current
 * at cublasCreate, a stream, and a scratch allocation.
 */
#ifndef ZK_CUBLAS_INTERNAL_H
#define ZK_CUBLAS_INTERNAL_H

#include <stdint.h>

#include <zhikai/zhikai.h>

#include "cublas_api.h"

#define CUBLAS_EXPORT __attribute__((visibility("default")))

/* Input types of the GEMM kernel (one instantiation each). */
enum cublas_dt { CUBLAS_DT_F32, CUBLAS_DT_F16, CUBLAS_DT_BF16, CUBLAS_DT_COUNT };

struct cublasContext {
    uint32_t magic;                 /* CUBLAS_HANDLE_MAGIC while alive */
    zk_context ctx;                 /* current at cublasCreate */
    zk_stream stream;               /* NULL: the context's default stream */
    cudaStream_t user_stream;       /* what cublasGetStream returns */
    zk_module mod;
    zk_function f_gemm[CUBLAS_DT_COUNT];
    zk_function f_gemm_c16[CUBLAS_DT_COUNT];  /* C of the input type (f16, bf16) */
    zk_function f_axpby;
    zk_function f_vec;                        /* Level 1 (cublas_level1.zkc) */
    zk_deviceptr ws;                /* scratch for transposes and partial results */
    size_t ws_size;
    int ws_used;                    /* queued work may still read ws */
    cublasPointerMode_t pointer_mode;
    cublasMath_t math_mode;
};

#define CUBLAS_HANDLE_MAGIC 0x7a6b4243u  /* "CBkz" */

/* The kernel object (built from cublas_kernels.zkc.in, embedded). */
extern const unsigned char cublas_kernels_zko[];
extern const unsigned int cublas_kernels_zko_len;

/* A live handle, or NULL. */
struct cublasContext *cublas_handle_ok(cublasHandle_t handle);
/* Make the handle's context current (returns the previous one) / restore. */
zk_context cublas_enter(struct cublasContext *h);
void cublas_leave(struct cublasContext *h, zk_context old);
/* A cuBLAS status for a failed libzhikai call. */
cublasStatus_t cublas_from_zk(zk_status st);
/* Make sure the scratch holds @bytes (synchronizing the stream if it must
 * replace a buffer queued work may still use). */
cublasStatus_t cublas_ws_reserve(struct cublasContext *h, size_t bytes);
/* Queue a launch of @f (grid g x 1 x 1) on the handle's stream. */
cublasStatus_t cublas_launch(struct cublasContext *h, zk_function f, uint32_t g,
                             const uint64_t *args, unsigned int nargs);

#endif
