/* SPDX-License-Identifier: MIT */
/*
 * cudart.c - the CUDA runtime API: devices, memory, streams, events, errors,
 * on libcuda (and through it libzhikai).  Each thread works on its current
 * context if it has one (a driver-API program's), else on the primary
 * context of its device (cudaSetDevice, default 0), retained on first use.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cudart_internal.h"

static __thread cudaError_t last_error;
static __thread int cur_device;

cudaError_t zkrt_ret(cudaError_t e)
{
    if (e != cudaSuccess) {
        last_error = e;
    }
    return e;
}

cudaError_t zkrt_err(CUresult r)
{
    switch (r) {
    case CUDA_ERROR_NOT_FOUND: return cudaErrorSymbolNotFound;
    case CUDA_ERROR_INVALID_CONTEXT: return cudaErrorDeviceUninitialized;
    case CUDA_ERROR_NOT_INITIALIZED: return cudaErrorInitializationError;
    case CUDA_ERROR_OUT_OF_MEMORY: return cudaErrorMemoryAllocation;
    default: return (cudaError_t)r;     /* the other codes are numbered alike */
    }
}

static pthread_mutex_t prim_lock = PTHREAD_MUTEX_INITIALIZER;
static CUcontext primary[16];
static cudaError_t init_error = cudaSuccess;
static int init_done;

static cudaError_t primary_ctx(int dev, CUcontext *out)
{
    cudaError_t e = cudaSuccess;
    pthread_mutex_lock(&prim_lock);
    if (!init_done) {
        CUresult r = cuInit(0);
        init_error = r == CUDA_ERROR_NO_DEVICE ? cudaErrorNoDevice
                     : r != CUDA_SUCCESS ? cudaErrorInitializationError : cudaSuccess;
        init_done = 1;
    }
    e = init_error;
    if (e == cudaSuccess && (dev < 0 || dev >= 16)) {
        e = cudaErrorInvalidDevice;
    }
    if (e == cudaSuccess && !primary[dev]) {
        CUresult r = cuDevicePrimaryCtxRetain(&primary[dev], dev);
        e = r == CUDA_ERROR_INVALID_DEVICE ? cudaErrorInvalidDevice : zkrt_err(r);
    }
    if (e == cudaSuccess) {
        *out = primary[dev];
    }
    pthread_mutex_unlock(&prim_lock);
    return e;
}

cudaError_t zkrt_ctx(void)
{
    CUcontext c = NULL, p;
    cudaError_t e;
    if (cuCtxGetCurrent(&c) == CUDA_SUCCESS && c) {
        return cudaSuccess;
    }
    if ((e = primary_ctx(cur_device, &p)) != cudaSuccess) {
        return e;
    }
    return zkrt_err(cuCtxSetCurrent(p));
}

#define CTX_OR_RETURN()                                                                \
    do {                                                                               \
        cudaError_t ctx_e_ = zkrt_ctx();                                               \
        if (ctx_e_ != cudaSuccess) {                                                   \
            return zkrt_ret(ctx_e_);                                                   \
        }                                                                              \
    } while (0)

/* ---- errors ------------------------------------------------------------------- */

RT_EXPORT cudaError_t cudaGetLastError(void)
{
    cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}

RT_EXPORT cudaError_t cudaPeekAtLastError(void)
{
    return last_error;
}

static const struct {
    cudaError_t e;
    const char *name, *text;
} names[] = {
#define E(c, t) { c, #c, t }
    E(cudaSuccess, "no error"),
    E(cudaErrorInvalidValue, "invalid argument"),
    E(cudaErrorMemoryAllocation, "out of memory"),
    E(cudaErrorInitializationError, "initialization error"),
    E(cudaErrorCudartUnloading, "driver shutting down"),
    E(cudaErrorInvalidConfiguration, "invalid configuration argument"),
    E(cudaErrorInvalidSymbol, "invalid device symbol"),
    E(cudaErrorInvalidHostPointer, "invalid host pointer"),
    E(cudaErrorInvalidDevicePointer, "invalid device pointer"),
    E(cudaErrorInvalidMemcpyDirection, "invalid copy direction for memcpy"),
    E(cudaErrorMissingConfiguration, "__global__ function call is not configured"),
    E(cudaErrorInvalidDeviceFunction, "invalid device function"),
    E(cudaErrorNoDevice, "no CUDA-capable device is detected"),
    E(cudaErrorInvalidDevice, "invalid device ordinal"),
    E(cudaErrorInvalidKernelImage, "device kernel image is invalid"),
    E(cudaErrorDeviceUninitialized, "invalid device context"),
    E(cudaErrorNoKernelImageForDevice, "no kernel image is available for execution on the device"),
    E(cudaErrorInvalidPtx, "a PTX JIT compilation failed"),
    E(cudaErrorFileNotFound, "file not found"),
    E(cudaErrorOperatingSystem, "OS call failed or operation not supported on this OS"),
    E(cudaErrorInvalidResourceHandle, "invalid resource handle"),
    E(cudaErrorSymbolNotFound, "named symbol not found"),
    E(cudaErrorNotReady, "device not ready"),
    E(cudaErrorIllegalAddress, "an illegal memory access was encountered"),
    E(cudaErrorLaunchOutOfResources, "too many resources requested for launch"),
    E(cudaErrorLaunchTimeout, "the launch timed out and was terminated"),
    E(cudaErrorHostMemoryAlreadyRegistered, "part or all of the requested memory range is already mapped"),
    E(cudaErrorHostMemoryNotRegistered, "pointer does not correspond to a registered memory region"),
    E(cudaErrorIllegalInstruction, "an illegal instruction was encountered"),
    E(cudaErrorMisalignedAddress, "misaligned address"),
    E(cudaErrorLaunchFailure, "unspecified launch failure"),
    E(cudaErrorAssert, "device-side assert triggered"),
    E(cudaErrorNotSupported, "operation not supported"),
    E(cudaErrorUnknown, "unknown error"),
#undef E
};

RT_EXPORT const char *cudaGetErrorName(cudaError_t error)
{
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].e == error) {
            return names[i].name;
        }
    }
    return "cudaErrorUnknown";
}

RT_EXPORT const char *cudaGetErrorString(cudaError_t error)
{
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].e == error) {
            return names[i].text;
        }
    }
    return "unrecognized error code";
}

/* ---- versions and devices ------------------------------------------------------ */

RT_EXPORT cudaError_t cudaDriverGetVersion(int *v)
{
    return zkrt_ret(v ? zkrt_err(cuDriverGetVersion(v)) : cudaErrorInvalidValue);
}

RT_EXPORT cudaError_t cudaRuntimeGetVersion(int *v)
{
    if (!v) {
        return zkrt_ret(cudaErrorInvalidValue);
    }
    *v = CUDART_VERSION;
    return cudaSuccess;
}

RT_EXPORT cudaError_t cudaGetDeviceCount(int *count)
{
    CUcontext p;
    cudaError_t e;
    if (!count) {
        return zkrt_ret(cudaErrorInvalidValue);
    }
    e = primary_ctx(0, &p);     /* initialises the driver */
    if (e == cudaErrorNoDevice) {
        *count = 0;
        return zkrt_ret(e);
    }
    return zkrt_ret(e != cudaSuccess ? e : zkrt_err(cuDeviceGetCount(count)));
}

RT_EXPORT cudaError_t cudaGetDevice(int *device)
{
    CUcontext c = NULL;
    CUdevice d;
    if (!device) {
        return zkrt_ret(cudaErrorInvalidValue);
    }
    if (cuCtxGetCurrent(&c) == CUDA_SUCCESS && c && cuCtxGetDevice(&d) == CUDA_SUCCESS) {
        *device = d;
    } else {
        *device = cur_device;
    }
    return cudaSuccess;
}

RT_EXPORT cudaError_t cudaSetDevice(int device)
{
    CUcontext p;
    cudaError_t e = primary_ctx(device, &p);
    if (e == cudaSuccess) {
        cur_device = device;
        e = zkrt_err(cuCtxSetCurrent(p));
    }
    return zkrt_ret(e);
}

RT_EXPORT cudaError_t cudaInitDevice(int device, unsigned int deviceFlags, unsigned int flags)
{
    CUcontext p;
    (void)deviceFlags;
    if (flags) {
        return zkrt_ret(cudaErrorInvalidValue);
    }
    return zkrt_ret(primary_ctx(device, &p));
}

/* Scheduling flags only steer how the CPU waits: accepted. */
RT_EXPORT cudaError_t cudaSetDeviceFlags(unsigned int flags)
{
    return zkrt_ret(flags & ~0x1fu ? cudaErrorInvalidValue : cudaSuccess);
}

RT_EXPORT cudaError_t cudaGetDeviceFlags(unsigned int *flags)
{
    if (!flags) {
        return zkrt_ret(cudaErrorInvalidValue);
    }
    *flags = cudaDeviceMapHost;
    return cudaSuccess;
}

RT_EXPORT cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device)
{
    CUcontext p;
    cudaError_t e = primary_ctx(0, &p);
    if (e != cudaSuccess) {
        return zkrt_ret(e);
    }
    e = zkrt_err(cuDeviceGetAttribute(value, (CUdevice_attribute)attr, device));
    return zkrt_ret(e);
}

RT_EXPORT cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device)
{
    CUcontext p;
    size_t mem = 0;
    cudaError_t e;
#define A(field, attr) cuDeviceGetAttribute(&prop->field, CU_DEVICE_ATTRIBUTE_##attr, device)
    if (!prop) {
        return zkrt_ret(cudaErrorInvalidValue);
    }
    if ((e = primary_ctx(0, &p)) != cudaSuccess) {
        return zkrt_ret(e);
    }
    memset(prop, 0, sizeof(*prop));
    if ((e = zkrt_err(cuDeviceGetName(prop->name, sizeof(prop->name), device))) != cudaSuccess) {
        return zkrt_ret(e == cudaErrorInvalidValue ? cudaErrorInvalidDevice : e);
    }
    cuDeviceGetUuid_v2((CUuuid *)&prop->uuid, device);
    cuDeviceTotalMem_v2(&mem, device);
    prop->totalGlobalMem = mem;
    int v = 0;
    cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK, device);
    prop->sharedMemPerBlock = (size_t)v;
    A(regsPerBlock, MAX_REGISTERS_PER_BLOCK);
    A(warpSize, WARP_SIZE);
    cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MAX_PITCH, device);
    prop->memPitch = (size_t)v;
    A(maxThreadsPerBlock, MAX_THREADS_PER_BLOCK);
    A(maxThreadsDim[0], MAX_BLOCK_DIM_X);
    A(maxThreadsDim[1], MAX_BLOCK_DIM_Y);
    A(maxThreadsDim[2], MAX_BLOCK_DIM_Z);
    A(maxGridSize[0], MAX_GRID_DIM_X);
    A(maxGridSize[1], MAX_GRID_DIM_Y);
    A(maxGridSize[2], MAX_GRID_DIM_Z);
    cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY, device);
    prop->totalConstMem = (size_t)v;
    A(major, COMPUTE_CAPABILITY_MAJOR);
    A(minor, COMPUTE_CAPABILITY_MINOR);
    prop->textureAlignment = 512;
    A(multiProcessorCount, MULTIPROCESSOR_COUNT);
    A(canMapHostMemory, CAN_MAP_HOST_MEMORY);
    A(concurrentKernels, CONCURRENT_KERNELS);
    A(pciBusID, PCI_BUS_ID);
    A(pciDeviceID, PCI_DEVICE_ID);
    A(pciDomainID, PCI_DOMAIN_ID);
    A(asyncEngineCount, ASYNC_ENGINE_COUNT);
    A(memoryBusWidth, GLOBAL_MEMORY_BUS_WIDTH);
    A(maxThreadsPerMultiProcessor, MAX_THREADS_PER_MULTIPROCESSOR);
    cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR, device);
    prop->sharedMemPerMultiprocessor = (size_t)v;
    A(regsPerMultiprocessor, MAX_REGISTERS_PER_MULTIPROCESSOR);
    cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, device);
    prop->sharedMemPerBlockOptin = (size_t)v;
    A(maxBlocksPerMultiProcessor, MAX_BLOCKS_PER_MULTIPROCESSOR);
    A(hostRegisterSupported, HOST_REGISTER_SUPPORTED);
#undef A
    return cudaSuccess;
}

RT_EXPORT cudaError_t cudaDeviceGetPCIBusId(char *pciBusId, int len, int device)
{
    CUcontext p;
    cudaError_t e = primary_ctx(0, &p);
    return zkrt_ret(e != cudaSuccess ? e : zkrt_err(cuDeviceGetPCIBusId(pciBusId, len, device)));
}

RT_EXPORT cudaError_t cudaDeviceSynchronize(void)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuCtxSynchronize()));
}

/* Destroy the primary context of the thread's device and all in it. */
RT_EXPORT cudaError_t cudaDeviceReset(void)
{
    CUcontext p = NULL, c = NULL;
    cudaError_t e = cudaSuccess;
    pthread_mutex_lock(&prim_lock);
    if (cur_device >= 0 && cur_device < 16) {
        p = primary[cur_device];
        primary[cur_device] = NULL;
    }
    pthread_mutex_unlock(&prim_lock);
    if (p) {
        if (cuCtxGetCurrent(&c) == CUDA_SUCCESS && c == p) {
            cuCtxPopCurrent(&c);
        }
        zkrt_forget_ctx(p);
        e = zkrt_err(cuDevicePrimaryCtxRelease(cur_device));
    }
    return zkrt_ret(e);
}

/* ---- memory ------------------------------------------------------------------------ */

RT_EXPORT cudaError_t cudaMalloc(void **devPtr, size_t size)
{
    CUdeviceptr d;
    cudaError_t e;
    if (!devPtr) {
        return zkrt_ret(cudaErrorInvalidValue);
    }
    CTX_OR_RETURN();
    if (!size) {
        *devPtr = NULL;
        return cudaSuccess;
    }
    e = zkrt_err(cuMemAlloc(&d, size));
    if (e == cudaSuccess) {
        *devPtr = (void *)(uintptr_t)d;
    }
    return zkrt_ret(e);
}

RT_EXPORT cudaError_t cudaFree(void *devPtr)
{
    CTX_OR_RETURN();
    if (!devPtr) {
        return cudaSuccess;
    }
    return zkrt_ret(zkrt_err(cuMemFree((CUdeviceptr)(uintptr_t)devPtr)));
}

RT_EXPORT cudaError_t cudaMallocHost(void **ptr, size_t size)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuMemAllocHost(ptr, size)));
}

RT_EXPORT cudaError_t cudaHostAlloc(void **ptr, size_t size, unsigned int flags)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuMemHostAlloc(ptr, size, flags)));
}

RT_EXPORT cudaError_t cudaFreeHost(void *ptr)
{
    CTX_OR_RETURN();
    if (!ptr) {
        return cudaSuccess;
    }
    return zkrt_ret(zkrt_err(cuMemFreeHost(ptr)));
}

RT_EXPORT cudaError_t cudaHostGetDevicePointer(void **pDevice, void *pHost, unsigned int flags)
{
    CUdeviceptr d;
    cudaError_t e;
    if (!pDevice) {
        return zkrt_ret(cudaErrorInvalidValue);
    }
    CTX_OR_RETURN();
    e = zkrt_err(cuMemHostGetDevicePointer(&d, pHost, flags));
    if (e == cudaSuccess) {
        *pDevice = (void *)(uintptr_t)d;
    }
    return zkrt_ret(e);
}

RT_EXPORT cudaError_t cudaHostRegister(void *ptr, size_t size, unsigned int flags)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuMemHostRegister(ptr, size, flags)));
}

RT_EXPORT cudaError_t cudaHostUnregister(void *ptr)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuMemHostUnregister(ptr)));
}

RT_EXPORT cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuMemGetInfo(free_bytes, total)));
}

RT_EXPORT cudaError_t cudaPointerGetAttributes(struct cudaPointerAttributes *a, const void *ptr)
{
    unsigned int type = 0;
    CUdeviceptr d = 0;
    int dev = 0;
    if (!a) {
        return zkrt_ret(cudaErrorInvalidValue);
    }
    CTX_OR_RETURN();
    memset(a, 0, sizeof(*a));
    if (cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                              (CUdeviceptr)(uintptr_t)ptr) != CUDA_SUCCESS) {
        a->type = cudaMemoryTypeUnregistered;     /* plain host memory */
        a->device = -2;
        a->hostPointer = (void *)ptr;
        return cudaSuccess;
    }
    cuPointerGetAttribute(&d, CU_POINTER_ATTRIBUTE_DEVICE_POINTER, (CUdeviceptr)(uintptr_t)ptr);
    cuPointerGetAttribute(&dev, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, (CUdeviceptr)(uintptr_t)ptr);
    a->type = type == CU_MEMORYTYPE_HOST ? cudaMemoryTypeHost : cudaMemoryTypeDevice;
    a->device = dev;
    a->devicePointer = (void *)(uintptr_t)d;
    a->hostPointer = type == CU_MEMORYTYPE_HOST ? (void *)ptr : NULL;
    return cudaSuccess;
}

/* Is @p device memory of the current context (cudaMemcpyDefault)? */
static int is_device(const void *p)
{
    unsigned int type = 0;
    return cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
                                 (CUdeviceptr)(uintptr_t)p) == CUDA_SUCCESS &&
           type == CU_MEMORYTYPE_DEVICE;
}

static cudaError_t memcpy_any(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                              cudaStream_t s, int async)
{
    CUdeviceptr dd = (CUdeviceptr)(uintptr_t)dst, sd = (CUdeviceptr)(uintptr_t)src;
    CUresult r;
    if (kind == cudaMemcpyDefault) {
        int d = is_device(dst), sdev = is_device(src);
        kind = d ? (sdev ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                 : (sdev ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
    }
    if (!count) {
        return cudaSuccess;
    }
    switch (kind) {
    case cudaMemcpyHostToHost:
        if (async && (r = cuStreamSynchronize((CUstream)s)) != CUDA_SUCCESS) {
            return zkrt_err(r);
        }
        memmove(dst, src, count);
        return cudaSuccess;
    case cudaMemcpyHostToDevice:
        r = async ? cuMemcpyHtoDAsync(dd, src, count, (CUstream)s) : cuMemcpyHtoD(dd, src, count);
        break;
    case cudaMemcpyDeviceToHost:
        r = async ? cuMemcpyDtoHAsync(dst, sd, count, (CUstream)s) : cuMemcpyDtoH(dst, sd, count);
        break;
    case cudaMemcpyDeviceToDevice:
        r = async ? cuMemcpyDtoDAsync(dd, sd, count, (CUstream)s) : cuMemcpyDtoD(dd, sd, count);
        break;
    default:
        return cudaErrorInvalidMemcpyDirection;
    }
    return zkrt_err(r);
}

RT_EXPORT cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind)
{
    CTX_OR_RETURN();
    return zkrt_ret(memcpy_any(dst, src, count, kind, NULL, 0));
}

RT_EXPORT cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count,
                                      enum cudaMemcpyKind kind, cudaStream_t stream)
{
    CTX_OR_RETURN();
    return zkrt_ret(memcpy_any(dst, src, count, kind, stream, 1));
}

RT_EXPORT cudaError_t cudaMemset(void *devPtr, int value, size_t count)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuMemsetD8((CUdeviceptr)(uintptr_t)devPtr, (unsigned char)value,
                                        count)));
}

RT_EXPORT cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuMemsetD8Async((CUdeviceptr)(uintptr_t)devPtr, (unsigned char)value,
                                             count, (CUstream)stream)));
}

RT_EXPORT cudaError_t cudaGetSymbolAddress(void **devPtr, const void *symbol)
{
    CUdeviceptr d;
    size_t size;
    cudaError_t e;
    if (!devPtr) {
        return zkrt_ret(cudaErrorInvalidValue);
    }
    e = zkrt_symbol(symbol, &d, &size);
    if (e == cudaSuccess) {
        *devPtr = (void *)(uintptr_t)d;
    }
    return zkrt_ret(e);
}

RT_EXPORT cudaError_t cudaGetSymbolSize(size_t *size, const void *symbol)
{
    CUdeviceptr d;
    if (!size) {
        return zkrt_ret(cudaErrorInvalidValue);
    }
    return zkrt_ret(zkrt_symbol(symbol, &d, size));
}

/* The device address of [offset, offset + count) inside @symbol, for a copy
 * whose host side goes @host_dir (D2D and Default are always allowed). */
static cudaError_t symbol_span(const void *symbol, size_t count, size_t offset,
                               enum cudaMemcpyKind kind, enum cudaMemcpyKind host_dir,
                               CUdeviceptr *d)
{
    size_t size;
    cudaError_t e = zkrt_symbol(symbol, d, &size);
    if (e != cudaSuccess) {
        return e;
    }
    if (offset > size || count > size - offset) {
        return cudaErrorInvalidValue;
    }
    if (kind != host_dir && kind != cudaMemcpyDeviceToDevice && kind != cudaMemcpyDefault) {
        return cudaErrorInvalidMemcpyDirection;
    }
    *d += offset;
    return cudaSuccess;
}

RT_EXPORT cudaError_t cudaMemcpyToSymbol(const void *symbol, const void *src, size_t count,
                                         size_t offset, enum cudaMemcpyKind kind)
{
    CUdeviceptr d;
    cudaError_t e = symbol_span(symbol, count, offset, kind, cudaMemcpyHostToDevice, &d);
    if (e == cudaSuccess) {
        e = memcpy_any((void *)(uintptr_t)d, src, count, kind, NULL, 0);
    }
    return zkrt_ret(e);
}

RT_EXPORT cudaError_t cudaMemcpyFromSymbol(void *dst, const void *symbol, size_t count,
                                           size_t offset, enum cudaMemcpyKind kind)
{
    CUdeviceptr d;
    cudaError_t e = symbol_span(symbol, count, offset, kind, cudaMemcpyDeviceToHost, &d);
    if (e == cudaSuccess) {
        e = memcpy_any(dst, (const void *)(uintptr_t)d, count, kind, NULL, 0);
    }
    return zkrt_ret(e);
}

/* ---- streams and events ------------------------------------------------------------- */

RT_EXPORT cudaError_t cudaStreamCreateWithFlags(cudaStream_t *pStream, unsigned int flags)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuStreamCreate((CUstream *)pStream, flags)));
}

RT_EXPORT cudaError_t cudaStreamCreate(cudaStream_t *pStream)
{
    return cudaStreamCreateWithFlags(pStream, cudaStreamDefault);
}

RT_EXPORT cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuStreamDestroy((CUstream)stream)));
}

RT_EXPORT cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuStreamSynchronize((CUstream)stream)));
}

RT_EXPORT cudaError_t cudaStreamQuery(cudaStream_t stream)
{
    cudaError_t e;
    CTX_OR_RETURN();
    e = zkrt_err(cuStreamQuery((CUstream)stream));
    return e == cudaErrorNotReady ? e : zkrt_ret(e);   /* not-ready is no error */
}

RT_EXPORT cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuStreamWaitEvent((CUstream)stream, (CUevent)event, flags)));
}

RT_EXPORT cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuEventCreate((CUevent *)event, flags)));
}

RT_EXPORT cudaError_t cudaEventCreate(cudaEvent_t *event)
{
    return cudaEventCreateWithFlags(event, cudaEventDefault);
}

RT_EXPORT cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuEventRecord((CUevent)event, (CUstream)stream)));
}

RT_EXPORT cudaError_t cudaEventQuery(cudaEvent_t event)
{
    cudaError_t e;
    CTX_OR_RETURN();
    e = zkrt_err(cuEventQuery((CUevent)event));
    return e == cudaErrorNotReady ? e : zkrt_ret(e);
}

RT_EXPORT cudaError_t cudaEventSynchronize(cudaEvent_t event)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuEventSynchronize((CUevent)event)));
}

RT_EXPORT cudaError_t cudaEventDestroy(cudaEvent_t event)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuEventDestroy((CUevent)event)));
}

RT_EXPORT cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuEventElapsedTime(ms, (CUevent)start, (CUevent)end)));
}

/* ---- functions ------------------------------------------------------------------ */

RT_EXPORT cudaError_t cudaFuncGetAttributes(struct cudaFuncAttributes *attr, const void *func)
{
    CUfunction f;
    cudaError_t e;
    int v = 0;
    if (!attr) {
        return zkrt_ret(cudaErrorInvalidValue);
    }
    if ((e = zkrt_function(func, &f)) != cudaSuccess) {
        return zkrt_ret(e);
    }
    memset(attr, 0, sizeof(*attr));
    cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, f);
    attr->sharedSizeBytes = (size_t)v;
    cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, f);
    attr->localSizeBytes = (size_t)v;
    cuFuncGetAttribute(&attr->maxThreadsPerBlock, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f);
    cuFuncGetAttribute(&attr->numRegs, CU_FUNC_ATTRIBUTE_NUM_REGS, f);
    cuFuncGetAttribute(&attr->ptxVersion, CU_FUNC_ATTRIBUTE_PTX_VERSION, f);
    cuFuncGetAttribute(&attr->binaryVersion, CU_FUNC_ATTRIBUTE_BINARY_VERSION, f);
    cuFuncGetAttribute(&attr->maxDynamicSharedSizeBytes,
                       CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, f);
    attr->preferredShmemCarveout = -1;
    return cudaSuccess;
}

RT_EXPORT cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(
    int *numBlocks, const void *func, int blockSize, size_t dynamicSMemSize, unsigned int flags)
{
    CUfunction f;
    cudaError_t e;
    if (flags & ~1u) {
        return zkrt_ret(cudaErrorInvalidValue);
    }
    if ((e = zkrt_function(func, &f)) != cudaSuccess) {
        return zkrt_ret(e);
    }
    return zkrt_ret(zkrt_err(cuOccupancyMaxActiveBlocksPerMultiprocessor(numBlocks, f, blockSize,
                                                                          dynamicSMemSize)));
}

RT_EXPORT cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int *numBlocks, const void *func,
                                                                    int blockSize,
                                                                    size_t dynamicSMemSize)
{
    return cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(numBlocks, func, blockSize,
                                                                  dynamicSMemSize, 0);
}

/* Host functions in stream order: run by the calling thread once the
 * stream's earlier work is done (cu_callback.c says why). */
RT_EXPORT cudaError_t cudaStreamAddCallback(cudaStream_t stream, cudaStreamCallback_t callback,
                                            void *userData, unsigned int flags)
{
    cudaError_t e;
    CTX_OR_RETURN();
    if (!callback || flags) {
        return zkrt_ret(cudaErrorInvalidValue);
    }
    e = zkrt_err(cuStreamSynchronize((CUstream)stream));
    if (e == cudaErrorInvalidResourceHandle) {
        return zkrt_ret(e);
    }
    callback(stream, e, userData);
    return cudaSuccess;
}

RT_EXPORT cudaError_t cudaLaunchHostFunc(cudaStream_t stream, cudaHostFn_t fn, void *userData)
{
    CTX_OR_RETURN();
    if (!fn) {
        return zkrt_ret(cudaErrorInvalidValue);
    }
    return zkrt_ret(zkrt_err(cuLaunchHostFunc((CUstream)stream, fn, userData)));
}

RT_EXPORT cudaError_t cudaProfilerStart(void)
{
    return cudaSuccess;
}

RT_EXPORT cudaError_t cudaProfilerStop(void)
{
    return cudaSuccess;
}

/* cudaLimitPrintfFifoSize sizes the device printf FIFO (cu_printf.c). */
RT_EXPORT cudaError_t cudaDeviceSetLimit(enum cudaLimit limit, size_t value)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuCtxSetLimit((CUlimit)limit, value)));
}

RT_EXPORT cudaError_t cudaDeviceGetLimit(size_t *pValue, enum cudaLimit limit)
{
    CTX_OR_RETURN();
    return zkrt_ret(zkrt_err(cuCtxGetLimit(pValue, (CUlimit)limit)));
}
