/* SPDX-License-Identifier: MIT */
/*
 * cublas_handle.c - cuBLAS handles, streams, modes, status strings, and the
 * scratch and launch helpers the BLAS routines share.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

#include "cublas_internal.h"

static const char *const gemm_names[CUBLAS_DT_COUNT] = {
    "cublas_gemm_f32", "cublas_gemm_f16", "cublas_gemm_bf16",
};

struct cublasContext *cublas_handle_ok(cublasHandle_t handle)
{
    return handle && handle->magic == CUBLAS_HANDLE_MAGIC ? handle : NULL;
}

cublasStatus_t cublas_from_zk(zk_status st)
{
    switch (st) {
    case ZK_SUCCESS:
        return CUBLAS_STATUS_SUCCESS;
    case ZK_ERROR_OUT_OF_MEMORY:
        return CUBLAS_STATUS_ALLOC_FAILED;
    case ZK_ERROR_NOT_INITIALIZED:
    case ZK_ERROR_NO_DEVICE:
    case ZK_ERROR_INVALID_CONTEXT:
        return CUBLAS_STATUS_NOT_INITIALIZED;
    case ZK_ERROR_NOT_SUPPORTED:
        return CUBLAS_STATUS_NOT_SUPPORTED;
    case ZK_ERROR_INVALID_IMAGE:
        return CUBLAS_STATUS_ARCH_MISMATCH;
    default:
        /* bad device pointers (not in a live allocation), faults, lost device */
        return CUBLAS_STATUS_EXECUTION_FAILED;
    }
}

/*
 * A CUDA program may call cublasCreate before anything made a context
 * current.  cuBLAS then initializes the runtime; we do the same through
 * libcudart's cudaFree(0) idiom when libcudart is in the process.
 */
static zk_context current_or_runtime_ctx(void)
{
    zk_context c = NULL;
    int (*cuda_free)(void *);
    if (zk_init(0) != ZK_SUCCESS || zk_ctx_get_current(&c) != ZK_SUCCESS) {
        return NULL;
    }
    if (c) {
        return c;
    }
    *(void **)&cuda_free = dlsym(RTLD_DEFAULT, "cudaFree");
    if (cuda_free && cuda_free(NULL) == 0 && zk_ctx_get_current(&c) == ZK_SUCCESS) {
        return c;
    }
    return NULL;
}

CUBLAS_EXPORT cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
{
    struct cublasContext *h;
    zk_status st;
    int i;
    if (!handle) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    h = calloc(1, sizeof(*h));
    if (!h) {
        return CUBLAS_STATUS_ALLOC_FAILED;
    }
    h->ctx = current_or_runtime_ctx();
    if (!h->ctx) {
        free(h);
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    st = zk_module_load_data(&h->mod, cublas_kernels_zko, cublas_kernels_zko_len);
    for (i = 0; st == ZK_SUCCESS && i < CUBLAS_DT_COUNT; i++) {
        st = zk_module_get_function(&h->f_gemm[i], h->mod, gemm_names[i]);
    }
    if (st == ZK_SUCCESS) {
        st = zk_module_get_function(&h->f_gemm_c16[CUBLAS_DT_F16], h->mod, "cublas_gemm_f16_cf16");
    }
    if (st == ZK_SUCCESS) {
        st = zk_module_get_function(&h->f_gemm_c16[CUBLAS_DT_BF16], h->mod, "cublas_gemm_bf16_cbf16");
    }
    if (st == ZK_SUCCESS) {
        st = zk_module_get_function(&h->f_axpby, h->mod, "cublas_axpby_f32");
    }
    if (st == ZK_SUCCESS) {
        st = zk_module_get_function(&h->f_vec, h->mod, "cublas_vec_f32");
    }
    /* Every pointer argument of a launch must be inside a live allocation,
     * unused scratch included: start with a small one. */
    if (st == ZK_SUCCESS) {
        h->ws_size = 4096;
        st = zk_mem_alloc(&h->ws, h->ws_size);
    }
    if (st != ZK_SUCCESS) {
        if (h->mod) {
            zk_module_unload(h->mod);
        }
        free(h);
        return st == ZK_ERROR_OUT_OF_MEMORY ? CUBLAS_STATUS_ALLOC_FAILED
                                            : CUBLAS_STATUS_NOT_INITIALIZED;
    }
    h->pointer_mode = CUBLAS_POINTER_MODE_HOST;
    h->math_mode = CUBLAS_DEFAULT_MATH;
    h->magic = CUBLAS_HANDLE_MAGIC;
    *handle = h;
    return CUBLAS_STATUS_SUCCESS;
}

/* libzhikai's NULL stream and allocations use the calling thread's current
 * context: make the handle's current around such calls (the caller may have
 * switched contexts since cublasCreate). */
zk_context cublas_enter(struct cublasContext *h)
{
    zk_context old = NULL;
    zk_ctx_get_current(&old);
    if (old != h->ctx) {
        zk_ctx_set_current(h->ctx);
    }
    return old;
}

void cublas_leave(struct cublasContext *h, zk_context old)
{
    if (old != h->ctx) {
        zk_ctx_set_current(old);
    }
}

CUBLAS_EXPORT cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    zk_context old;
    zk_status st;
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    old = cublas_enter(h);
    /* The scratch and the kernels may still be in use by queued work. */
    st = zk_stream_synchronize(h->stream);
    zk_mem_free(h->ws);
    zk_module_unload(h->mod);
    cublas_leave(h, old);
    h->magic = 0;
    free(h);
    return st == ZK_SUCCESS ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
}

CUBLAS_EXPORT cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version)
{
    (void)handle;   /* cuBLAS answers without a valid handle too */
    if (!version) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    *version = CUBLAS_VERSION;
    return CUBLAS_STATUS_SUCCESS;
}

CUBLAS_EXPORT cublasStatus_t cublasGetProperty(libraryPropertyType type, int *value)
{
    if (!value) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    switch (type) {
    case MAJOR_VERSION:
        *value = CUBLAS_VER_MAJOR;
        return CUBLAS_STATUS_SUCCESS;
    case MINOR_VERSION:
        *value = CUBLAS_VER_MINOR;
        return CUBLAS_STATUS_SUCCESS;
    case PATCH_LEVEL:
        *value = CUBLAS_VER_PATCH;
        return CUBLAS_STATUS_SUCCESS;
    }
    return CUBLAS_STATUS_INVALID_VALUE;
}

CUBLAS_EXPORT size_t cublasGetCudartVersion(void)
{
    return 13000;
}

CUBLAS_EXPORT cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    zk_stream next;
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    /* NULL, cudaStreamLegacy (0x1) and cudaStreamPerThread (0x2) are the
     * context's default stream in libzhikai. */
    next = (uintptr_t)stream <= 2 ? NULL : (zk_stream)stream;
    if (next != h->stream && h->ws_used) {
        /* One scratch per handle: work queued on the old stream must be done
         * with it before the new stream may overwrite it. */
        zk_context old = cublas_enter(h);
        zk_status st = zk_stream_synchronize(h->stream);
        cublas_leave(h, old);
        if (st != ZK_SUCCESS) {
            return CUBLAS_STATUS_EXECUTION_FAILED;
        }
        h->ws_used = 0;
    }
    h->stream = next;
    h->user_stream = stream;
    return CUBLAS_STATUS_SUCCESS;
}

CUBLAS_EXPORT cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t *stream)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    if (!stream) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    *stream = h->user_stream;
    return CUBLAS_STATUS_SUCCESS;
}

CUBLAS_EXPORT cublasStatus_t cublasGetPointerMode_v2(cublasHandle_t handle,
                                                     cublasPointerMode_t *mode)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    if (!mode) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    *mode = h->pointer_mode;
    return CUBLAS_STATUS_SUCCESS;
}

CUBLAS_EXPORT cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle,
                                                     cublasPointerMode_t mode)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    if (mode == CUBLAS_POINTER_MODE_HOST) {
        h->pointer_mode = mode;
        return CUBLAS_STATUS_SUCCESS;
    }
    return mode == CUBLAS_POINTER_MODE_DEVICE ? CUBLAS_STATUS_NOT_SUPPORTED
                                              : CUBLAS_STATUS_INVALID_VALUE;
}

CUBLAS_EXPORT cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t *mode)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    if (!mode) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    *mode = h->math_mode;
    return CUBLAS_STATUS_SUCCESS;
}

/* The card computes every mode in fp32; the mode is stored, not acted on. */
CUBLAS_EXPORT cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode)
{
    struct cublasContext *h = cublas_handle_ok(handle);
    unsigned int base = (unsigned int)mode & ~(unsigned int)CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
    if (!h) {
        return CUBLAS_STATUS_NOT_INITIALIZED;
    }
    if (base > CUBLAS_TF32_TENSOR_OP_MATH) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    h->math_mode = mode;
    return CUBLAS_STATUS_SUCCESS;
}

CUBLAS_EXPORT const char *cublasGetStatusName(cublasStatus_t status)
{
    switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    }
    return "CUBLAS_STATUS_UNKNOWN";
}

CUBLAS_EXPORT const char *cublasGetStatusString(cublasStatus_t status)
{
    switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "an absent device architectural feature is required";
    case CUBLAS_STATUS_MAPPING_ERROR: return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "an internal operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    case CUBLAS_STATUS_LICENSE_ERROR: return "license error";
    }
    return "unknown error";
}

cublasStatus_t cublas_ws_reserve(struct cublasContext *h, size_t bytes)
{
    zk_context old;
    zk_deviceptr p;
    zk_status st;
    /* Grow geometrically (fewer reallocations), but fall back to the exact
     * size when the card cannot hold the doubled one. */
    size_t size = h->ws_size <= SIZE_MAX / 2 ? 2 * h->ws_size : SIZE_MAX;
    if (bytes <= h->ws_size) {
        return CUBLAS_STATUS_SUCCESS;
    }
    size = size > bytes ? size : bytes;
    old = cublas_enter(h);
    st = h->ws_used ? zk_stream_synchronize(h->stream) : ZK_SUCCESS;
    if (st == ZK_SUCCESS) {
        h->ws_used = 0;
        st = zk_mem_alloc(&p, size);
        if (st == ZK_ERROR_OUT_OF_MEMORY && size > bytes) {
            size = bytes;
            st = zk_mem_alloc(&p, size);
        }
        if (st == ZK_SUCCESS) {
            zk_mem_free(h->ws);
            h->ws = p;
            h->ws_size = size;
        }
    }
    cublas_leave(h, old);
    return st == ZK_SUCCESS ? CUBLAS_STATUS_SUCCESS
           : st == ZK_ERROR_OUT_OF_MEMORY ? CUBLAS_STATUS_ALLOC_FAILED
                                          : CUBLAS_STATUS_EXECUTION_FAILED;
}

cublasStatus_t cublas_launch(struct cublasContext *h, zk_function f, uint32_t g,
                             const uint64_t *args, unsigned int nargs)
{
    uint32_t grid[3] = { g ? g : 1, 1, 1 };
    zk_status st = zk_launch_kernel(f, grid, args, nargs, h->stream);
    h->ws_used = 1;
    return cublas_from_zk(st);
}
