/* SPDX-License-Identifier: MIT */
/*
 * cu_callback.c - host functions in stream order (cuStreamAddCallback,
 * cuLaunchHostFunc) and the profiler switches (cuProfilerStart/Stop).
 *
 * libzhikai streams have no host-side wait node, so a host function is run
 * by the calling thread once the stream's earlier work is done: CUDA's
 * order holds (everything queued before it has finished, nothing queued
 * after it can start before it returns), but the call blocks instead of
 * returning at once.  docs/cuda.md says so.
 */
#include "cu_internal.h"

CU_EXPORT CUresult cuStreamAddCallback(CUstream hStream, CUstreamCallback callback,
                                       void *userData, unsigned int flags)
{
    CUresult r;
    if (!callback || flags) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    r = cuStreamSynchronize(hStream);
    if (r == CUDA_ERROR_INVALID_HANDLE || r == CUDA_ERROR_INVALID_CONTEXT ||
        r == CUDA_ERROR_NOT_INITIALIZED) {
        return r;                       /* no stream to run it on */
    }
    /* As in CUDA, the callback sees the stream's error (and still runs). */
    callback(hStream, r, userData);
    return CUDA_SUCCESS;
}

CU_EXPORT CUresult cuLaunchHostFunc(CUstream hStream, CUhostFn fn, void *userData)
{
    CUresult r;
    if (!fn) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    r = cuStreamSynchronize(hStream);
    if (r != CUDA_SUCCESS) {
        return r;                       /* CUDA does not run it after an error */
    }
    fn(userData);
    return CUDA_SUCCESS;
}

/* No profiler to drive: success, as CUDA returns without one attached. */
CU_EXPORT CUresult cuProfilerStart(void)
{
    return CUDA_SUCCESS;
}

CU_EXPORT CUresult cuProfilerStop(void)
{
    return CUDA_SUCCESS;
}
