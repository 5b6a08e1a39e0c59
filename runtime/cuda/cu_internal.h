/* SPDX-License-Identifier: MIT */
/*
 * cu_internal.h - shared by the files of libcuda.so.1 (the CUDA driver API
 * over libzhikai, docs/cuda.md).  Every cu* function maps its arguments,
 * calls libzhikai and maps the status back: no state of its own beyond the
 * host-registration list (cu_memory.c).
 */
#ifndef ZK_CU_INTERNAL_H
#define ZK_CU_INTERNAL_H

#include "cuda.h"
#include "zhikai/zhikai.h"

/* libcuda also exports the unversioned (v1) names some of these replace. */
#undef cuDeviceGetUuid
#undef cuDevicePrimaryCtxRelease
#undef cuMemHostRegister
#undef cuStreamDestroy
#undef cuEventDestroy
#undef cuEventElapsedTime
CUresult cuDeviceGetUuid(CUuuid *uuid, CUdevice dev);
CUresult cuDevicePrimaryCtxRelease(CUdevice dev);
CUresult cuMemHostRegister(void *p, size_t bytesize, unsigned int Flags);
CUresult cuStreamDestroy(CUstream hStream);
CUresult cuEventDestroy(CUevent hEvent);
CUresult cuEventElapsedTime(float *pMilliseconds, CUevent hStart, CUevent hEnd);

#define CU_EXPORT __attribute__((visibility("default")))

/* zk_status -> CUresult (the detail stays in zk_last_error_detail()). */
CUresult zkcu_result(zk_status st);
/* The default stream: NULL, CU_STREAM_LEGACY and CU_STREAM_PER_THREAD. */
static inline zk_stream zkcu_stream(CUstream s)
{
    return (s == CU_STREAM_LEGACY || s == CU_STREAM_PER_THREAD) ? NULL : (zk_stream)s;
}
/*
 * CUDA's legacy default stream, by waiting on the CPU: work queued on the
 * default stream first waits for the blocking streams, work queued on a
 * blocking stream first waits for the default stream (cu_stream.c).
 */
CUresult zkcu_legacy_order(CUstream s);
/* Device ordinal -> handle (CUDA_ERROR_INVALID_DEVICE for a bad one). */
CUresult zkcu_device(CUdevice ordinal, zk_device *out);
/* Handle of the current context's device -> ordinal. */
CUresult zkcu_current_device(CUdevice *out);
/* cuInit was called (CUDA_ERROR_NOT_INITIALIZED otherwise). */
int zkcu_initialized(void);

/* Device printf/assert (cu_printf.c).  After loading a module: give it the
 * context's printf FIFO if it uses one. */
CUresult zkcu_printf_module_loaded(CUmodule mod);
/* At a synchronize point that returned @r: print the finished records
 * (@idle: the whole context is idle, the FIFO can be emptied); returns
 * CUDA_ERROR_ASSERT once a device assert failed, else @r. */
CUresult zkcu_printf_sync(CUresult r, int idle);
/* CUDA_ERROR_ASSERT if a device assert failed in the current context. */
CUresult zkcu_printf_sticky(void);

#endif /* ZK_CU_INTERNAL_H */
