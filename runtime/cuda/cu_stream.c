/* SPDX-License-Identifier: MIT */
/* cu_stream.c - streams and events: libzhikai's, one to one. */
#include "cu_internal.h"

CUresult zkcu_legacy_order(CUstream h)
{
    zk_stream s = zkcu_stream(h);
    unsigned int flags = 0;
    zk_status st;
    if (!s) {
        return zkcu_result(zk_stream_synchronize_others(NULL));
    }
    st = zk_stream_get_flags(s, &flags);
    if (st == ZK_SUCCESS && !(flags & ZK_STREAM_NON_BLOCKING)) {
        st = zk_stream_synchronize(NULL);
    }
    return zkcu_result(st);
}

/* CU_STREAM_NON_BLOCKING streams do not take part in zkcu_legacy_order. */
CU_EXPORT CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags)
{
    if (!phStream || (Flags & ~(unsigned int)CU_STREAM_NON_BLOCKING)) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    return zkcu_result(zk_stream_create((zk_stream *)phStream, (Flags & CU_STREAM_NON_BLOCKING)
                                                                   ? ZK_STREAM_NON_BLOCKING : 0));
}

CU_EXPORT CUresult cuStreamDestroy_v2(CUstream hStream)
{
    if (!zkcu_stream(hStream)) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    return zkcu_result(zk_stream_destroy((zk_stream)hStream));
}

CU_EXPORT CUresult cuStreamDestroy(CUstream hStream)
{
    return cuStreamDestroy_v2(hStream);
}

CU_EXPORT CUresult cuStreamSynchronize(CUstream hStream)
{
    return zkcu_printf_sync(zkcu_result(zk_stream_synchronize(zkcu_stream(hStream))), 0);
}

CU_EXPORT CUresult cuStreamQuery(CUstream hStream)
{
    return zkcu_result(zk_stream_query(zkcu_stream(hStream)));
}

CU_EXPORT CUresult cuStreamWaitEvent(CUstream hStream, CUevent hEvent, unsigned int Flags)
{
    if (Flags) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    return zkcu_result(zk_stream_wait_event(zkcu_stream(hStream), (zk_event)hEvent, 0));
}

CU_EXPORT CUresult cuStreamGetFlags(CUstream hStream, unsigned int *flags)
{
    if (!flags) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    return zkcu_result(zk_stream_get_flags(zkcu_stream(hStream), flags));
}

CU_EXPORT CUresult cuStreamGetCtx(CUstream hStream, CUcontext *pctx)
{
    (void)hStream;
    if (!pctx) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    return zkcu_result(zk_ctx_get_current((zk_context *)pctx));
}

CU_EXPORT CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags)
{
    if (!phEvent || (Flags & ~(unsigned int)(CU_EVENT_BLOCKING_SYNC | CU_EVENT_DISABLE_TIMING))) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    return zkcu_result(zk_event_create((zk_event *)phEvent, (Flags & CU_EVENT_DISABLE_TIMING)
                                                                ? ZK_EVENT_DISABLE_TIMING : 0));
}

CU_EXPORT CUresult cuEventRecord(CUevent hEvent, CUstream hStream)
{
    /* On the default stream an event also covers the blocking streams. */
    CUresult r = zkcu_stream(hStream) ? CUDA_SUCCESS : zkcu_legacy_order(hStream);
    if (r != CUDA_SUCCESS) {
        return r;
    }
    return zkcu_result(zk_event_record((zk_event)hEvent, zkcu_stream(hStream)));
}

CU_EXPORT CUresult cuEventQuery(CUevent hEvent)
{
    return zkcu_result(zk_event_query((zk_event)hEvent));
}

CU_EXPORT CUresult cuEventSynchronize(CUevent hEvent)
{
    return zkcu_printf_sync(zkcu_result(zk_event_synchronize((zk_event)hEvent)), 0);
}

CU_EXPORT CUresult cuEventDestroy_v2(CUevent hEvent)
{
    return zkcu_result(zk_event_destroy((zk_event)hEvent));
}

CU_EXPORT CUresult cuEventDestroy(CUevent hEvent)
{
    return cuEventDestroy_v2(hEvent);
}

CU_EXPORT CUresult cuEventElapsedTime_v2(float *pMilliseconds, CUevent hStart, CUevent hEnd)
{
    if (!pMilliseconds) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    return zkcu_result(zk_event_elapsed_time(pMilliseconds, (zk_event)hStart, (zk_event)hEnd));
}

CU_EXPORT CUresult cuEventElapsedTime(float *pMilliseconds, CUevent hStart, CUevent hEnd)
{
    return cuEventElapsedTime_v2(pMilliseconds, hStart, hEnd);
}
