/* SPDX-License-Identifier: MIT */
/*
 * cu_context.c - contexts: libzhikai's per-thread context stack is CUDA's
 * (ctx_current.c), and its primary contexts are CUDA's (shared with
 * libcudart, which retains device 0's on first use).
 */
#include "cu_internal.h"

CU_EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
{
    zk_device d;
    CUresult r;
    if (!pctx) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if ((r = zkcu_device(dev, &d)) != CUDA_SUCCESS) {
        return r;
    }
    return zkcu_result(zk_device_primary_ctx_retain((zk_context *)pctx, d));
}

CU_EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
    zk_device d;
    CUresult r = zkcu_device(dev, &d);
    return r != CUDA_SUCCESS ? r : zkcu_result(zk_device_primary_ctx_release(d));
}

CU_EXPORT CUresult cuDevicePrimaryCtxRelease(CUdevice dev)
{
    return cuDevicePrimaryCtxRelease_v2(dev);
}

/* Scheduling flags only steer how a CPU thread waits: accepted, no effect. */
CU_EXPORT CUresult cuDevicePrimaryCtxSetFlags_v2(CUdevice dev, unsigned int flags)
{
    zk_device d;
    CUresult r = zkcu_device(dev, &d);
    if (r == CUDA_SUCCESS && (flags & ~(unsigned int)CU_CTX_FLAGS_MASK)) {
        r = CUDA_ERROR_INVALID_VALUE;
    }
    return r;
}

CU_EXPORT CUresult cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int *flags, int *active)
{
    zk_device d;
    CUresult r;
    if (!flags || !active) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if ((r = zkcu_device(dev, &d)) != CUDA_SUCCESS) {
        return r;
    }
    *flags = 0;
    return zkcu_result(zk_device_primary_ctx_get_state(d, active));
}

/* cuCtxCreate pushes the new context on the thread's stack. */
CU_EXPORT CUresult cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
    zk_context prev = NULL, c;
    zk_device d;
    CUresult r;
    if (!pctx || (flags & ~(unsigned int)CU_CTX_FLAGS_MASK)) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if ((r = zkcu_device(dev, &d)) != CUDA_SUCCESS) {
        return r;
    }
    zk_ctx_get_current(&prev);
    if ((r = zkcu_result(zk_ctx_create(&c, 0, d))) != CUDA_SUCCESS) {
        return r;
    }
    if (prev) {
        /* zk_ctx_create replaced the top: put the old one back beneath. */
        zk_ctx_set_current(prev);
        zk_ctx_push_current(c);
    }
    *pctx = (CUcontext)c;
    return CUDA_SUCCESS;
}

CU_EXPORT CUresult cuCtxCreate_v4(CUcontext *pctx, CUctxCreateParams *params, unsigned int flags,
                                  CUdevice dev)
{
    if (params && (params->execAffinityParams || params->numExecAffinityParams ||
                   params->cigParams)) {
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    return cuCtxCreate_v2(pctx, flags, dev);
}

CU_EXPORT CUresult cuCtxDestroy_v2(CUcontext ctx)
{
    return zkcu_result(zk_ctx_destroy((zk_context)ctx));
}

CU_EXPORT CUresult cuCtxPushCurrent_v2(CUcontext ctx)
{
    return zkcu_result(zk_ctx_push_current((zk_context)ctx));
}

CU_EXPORT CUresult cuCtxPopCurrent_v2(CUcontext *pctx)
{
    return zkcu_result(zk_ctx_pop_current((zk_context *)pctx));
}

CU_EXPORT CUresult cuCtxSetCurrent(CUcontext ctx)
{
    CUresult r = zkcu_result(zk_ctx_set_current((zk_context)ctx));
    return r == CUDA_ERROR_INVALID_HANDLE ? CUDA_ERROR_INVALID_CONTEXT : r;
}

CU_EXPORT CUresult cuCtxGetCurrent(CUcontext *pctx)
{
    if (!zkcu_initialized()) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    return zkcu_result(zk_ctx_get_current((zk_context *)pctx));
}

CU_EXPORT CUresult cuCtxGetDevice(CUdevice *device)
{
    if (!device) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    return zkcu_current_device(device);
}

CU_EXPORT CUresult cuCtxGetApiVersion(CUcontext ctx, unsigned int *version)
{
    (void)ctx;
    if (!version) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    *version = 3020;        /* the _v2 API generation, as CUDA reports */
    return CUDA_SUCCESS;
}

CU_EXPORT CUresult cuCtxSynchronize(void)
{
    /* Device printf output and failed asserts surface here (cu_printf.c). */
    return zkcu_printf_sync(zkcu_result(zk_ctx_synchronize()), 1);
}

CU_EXPORT CUresult cuCtxGetId(CUcontext ctx, unsigned long long *ctxId)
{
    uint64_t id = 0;
    CUresult r;
    if (!ctxId) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    r = zkcu_result(zk_ctx_get_id((zk_context)ctx, &id));
    if (r == CUDA_SUCCESS) {
        *ctxId = id;
    }
    return r;
}
