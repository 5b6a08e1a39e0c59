/* SPDX-License-Identifier: MIT */
/* cu_error.c - CUresult codes: libzhikai's statuses mapped, names and strings. */
#include <stddef.h>

#include "cu_internal.h"

CUresult zkcu_result(zk_status st)
{
    switch (st) {
    case ZK_SUCCESS: return CUDA_SUCCESS;
    case ZK_ERROR_INVALID_VALUE: return CUDA_ERROR_INVALID_VALUE;
    case ZK_ERROR_INVALID_HANDLE: return CUDA_ERROR_INVALID_HANDLE;
    case ZK_ERROR_OUT_OF_MEMORY: return CUDA_ERROR_OUT_OF_MEMORY;
    case ZK_ERROR_NOT_INITIALIZED: return CUDA_ERROR_NOT_INITIALIZED;
    case ZK_ERROR_NO_DEVICE: return CUDA_ERROR_NO_DEVICE;
    case ZK_ERROR_INVALID_CONTEXT: return CUDA_ERROR_INVALID_CONTEXT;
    /* A job that faulted on the card's MMU touched a bad address. */
    case ZK_ERROR_LAUNCH_FAILED: return CUDA_ERROR_ILLEGAL_ADDRESS;
    case ZK_ERROR_ILLEGAL_COMMAND: return CUDA_ERROR_ILLEGAL_INSTRUCTION;
    case ZK_ERROR_ABORTED: return CUDA_ERROR_LAUNCH_FAILED;
    case ZK_ERROR_DEVICE_LOST: return CUDA_ERROR_LAUNCH_FAILED;
    case ZK_ERROR_TIMEOUT: return CUDA_ERROR_LAUNCH_TIMEOUT;
    case ZK_ERROR_NOT_READY: return CUDA_ERROR_NOT_READY;
    case ZK_ERROR_INVALID_IMAGE: return CUDA_ERROR_INVALID_IMAGE;
    case ZK_ERROR_NOT_FOUND: return CUDA_ERROR_NOT_FOUND;
    case ZK_ERROR_INVALID_ARGUMENT_TYPE: return CUDA_ERROR_INVALID_VALUE;
    case ZK_ERROR_NOT_SUPPORTED: return CUDA_ERROR_NOT_SUPPORTED;
    case ZK_ERROR_OS: return CUDA_ERROR_OPERATING_SYSTEM;
    default: return CUDA_ERROR_UNKNOWN;
    }
}

static const struct {
    CUresult code;
    const char *name, *text;
} errors[] = {
#define E(c, t) { c, #c, t }
    E(CUDA_SUCCESS, "no error"),
    E(CUDA_ERROR_INVALID_VALUE, "invalid argument"),
    E(CUDA_ERROR_OUT_OF_MEMORY, "out of memory"),
    E(CUDA_ERROR_NOT_INITIALIZED, "initialization error"),
    E(CUDA_ERROR_DEINITIALIZED, "driver shutting down"),
    E(CUDA_ERROR_STUB_LIBRARY, "CUDA driver is a stub library"),
    E(CUDA_ERROR_NO_DEVICE, "no CUDA-capable device is detected"),
    E(CUDA_ERROR_INVALID_DEVICE, "invalid device ordinal"),
    E(CUDA_ERROR_INVALID_IMAGE, "device kernel image is invalid"),
    E(CUDA_ERROR_INVALID_CONTEXT, "invalid device context"),
    E(CUDA_ERROR_CONTEXT_ALREADY_CURRENT, "context already current"),
    E(CUDA_ERROR_MAP_FAILED, "mapping of buffer object failed"),
    E(CUDA_ERROR_NO_BINARY_FOR_GPU, "no kernel image is available for execution on the device"),
    E(CUDA_ERROR_UNSUPPORTED_LIMIT, "limit is not supported on this architecture"),
    E(CUDA_ERROR_INVALID_PTX, "a PTX JIT compilation failed"),
    E(CUDA_ERROR_UNSUPPORTED_PTX_VERSION, "the provided PTX was compiled with an unsupported toolchain."),
    E(CUDA_ERROR_INVALID_SOURCE, "device kernel image is invalid"),
    E(CUDA_ERROR_FILE_NOT_FOUND, "file not found"),
    E(CUDA_ERROR_OPERATING_SYSTEM, "OS call failed or operation not supported on this OS"),
    E(CUDA_ERROR_INVALID_HANDLE, "invalid resource handle"),
    E(CUDA_ERROR_ILLEGAL_STATE, "the operation cannot be performed in the present state"),
    E(CUDA_ERROR_NOT_FOUND, "named symbol not found"),
    E(CUDA_ERROR_NOT_READY, "device not ready"),
    E(CUDA_ERROR_ILLEGAL_ADDRESS, "an illegal memory access was encountered"),
    E(CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, "too many resources requested for launch"),
    E(CUDA_ERROR_LAUNCH_TIMEOUT, "the launch timed out and was terminated"),
    E(CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE, "cannot set while device is active in this process"),
    E(CUDA_ERROR_CONTEXT_IS_DESTROYED, "context is destroyed"),
    E(CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED, "part or all of the requested memory range is already mapped"),
    E(CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED, "pointer does not correspond to a registered memory region"),
    E(CUDA_ERROR_ILLEGAL_INSTRUCTION, "an illegal instruction was encountered"),
    E(CUDA_ERROR_MISALIGNED_ADDRESS, "misaligned address"),
    E(CUDA_ERROR_LAUNCH_FAILED, "unspecified launch failure"),
    E(CUDA_ERROR_ASSERT, "device-side assert triggered"),
    E(CUDA_ERROR_NOT_PERMITTED, "operation not permitted"),
    E(CUDA_ERROR_NOT_SUPPORTED, "operation not supported"),
    E(CUDA_ERROR_TIMEOUT, "wait operation timed out"),
    E(CUDA_ERROR_UNKNOWN, "unknown error"),
#undef E
};

static int find(CUresult e)
{
    for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
        if (errors[i].code == e) {
            return (int)i;
        }
    }
    return -1;
}

CU_EXPORT CUresult cuGetErrorName(CUresult error, const char **pStr)
{
    int i = find(error);
    if (!pStr) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    *pStr = i >= 0 ? errors[i].name : NULL;
    return i >= 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CU_EXPORT CUresult cuGetErrorString(CUresult error, const char **pStr)
{
    int i = find(error);
    if (!pStr) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    *pStr = i >= 0 ? errors[i].text : NULL;
    return i >= 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}
