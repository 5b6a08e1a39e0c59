/* SPDX-License-Identifier: MIT */
/*
 * cu_memory.c - device and host memory, copies, fills and pointer queries
 * on libzhikai's memory.c.  Synchronous copies and fills run on the default
 * stream, which (CUDA's legacy default stream) first waits for the other
 * blocking streams' work: zk_stream_synchronize_others before the copy;
 * async ones follow zkcu_legacy_order.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cu_internal.h"

CU_EXPORT CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total)
{
    if (!free_bytes || !total) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    return zkcu_result(zk_mem_get_info(free_bytes, total));
}

CU_EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
{
    zk_deviceptr p;
    CUresult r;
    if (!dptr || !bytesize) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    r = zkcu_result(zk_mem_alloc(&p, bytesize));
    if (r == CUDA_SUCCESS) {
        *dptr = (CUdeviceptr)p;
    }
    return r;
}

CU_EXPORT CUresult cuMemFree_v2(CUdeviceptr dptr)
{
    return zkcu_result(zk_mem_free((zk_deviceptr)dptr));
}

CU_EXPORT CUresult cuMemGetAddressRange_v2(CUdeviceptr *pbase, size_t *psize, CUdeviceptr dptr)
{
    zk_deviceptr base = 0;
    size_t size = 0;
    CUresult r = zkcu_result(zk_mem_get_address_range(&base, &size, (zk_deviceptr)dptr));
    if (r == CUDA_ERROR_NOT_FOUND) {
        r = CUDA_ERROR_INVALID_VALUE;
    }
    if (r == CUDA_SUCCESS) {
        if (pbase) {
            *pbase = (CUdeviceptr)base;
        }
        if (psize) {
            *psize = size;
        }
    }
    return r;
}

CU_EXPORT CUresult cuMemAllocHost_v2(void **pp, size_t bytesize)
{
    if (!pp || !bytesize) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    return zkcu_result(zk_mem_alloc_host(pp, bytesize));
}

CU_EXPORT CUresult cuMemFreeHost(void *p)
{
    return zkcu_result(zk_mem_free_host(p));
}

/* Pinned host memory is always mapped for the card and portable within the
 * context, so the flags change nothing. */
CU_EXPORT CUresult cuMemHostAlloc(void **pp, size_t bytesize, unsigned int Flags)
{
    if (Flags & ~(unsigned int)(CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP |
                                CU_MEMHOSTALLOC_WRITECOMBINED)) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    return cuMemAllocHost_v2(pp, bytesize);
}

CU_EXPORT CUresult cuMemHostGetDevicePointer_v2(CUdeviceptr *pdptr, void *p, unsigned int Flags)
{
    zk_deviceptr d;
    CUresult r;
    if (!pdptr || Flags) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    r = zkcu_result(zk_mem_host_get_device_pointer(&d, p));
    if (r == CUDA_SUCCESS) {
        *pdptr = (CUdeviceptr)d;
    }
    return r;
}

/*
 * Host registration.  Copies from any host memory already work (pageable
 * memory is staged), so registering without DEVICEMAP only records the
 * range; mapping user memory into the card's address space needs a
 * user-pointer BO the driver does not offer: DEVICEMAP is refused.
 */
typedef struct hostreg {
    char *p;
    size_t size;
    struct hostreg *next;
} hostreg;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static hostreg *regs;

CU_EXPORT CUresult cuMemHostRegister_v2(void *p, size_t bytesize, unsigned int Flags)
{
    hostreg *h;
    zk_context c = NULL;
    if (!p || !bytesize || (Flags & ~(unsigned int)(CU_MEMHOSTREGISTER_PORTABLE |
                                                    CU_MEMHOSTREGISTER_DEVICEMAP |
                                                    CU_MEMHOSTREGISTER_IOMEMORY |
                                                    CU_MEMHOSTREGISTER_READ_ONLY))) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (zk_ctx_get_current(&c) != ZK_SUCCESS || !c) {
        return CUDA_ERROR_INVALID_CONTEXT;
    }
    if (Flags & (CU_MEMHOSTREGISTER_DEVICEMAP | CU_MEMHOSTREGISTER_IOMEMORY)) {
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    pthread_mutex_lock(&reg_lock);
    for (h = regs; h; h = h->next) {
        if ((char *)p < h->p + h->size && h->p < (char *)p + bytesize) {
            pthread_mutex_unlock(&reg_lock);
            return CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
        }
    }
    h = malloc(sizeof(*h));
    if (h) {
        h->p = p;
        h->size = bytesize;
        h->next = regs;
        regs = h;
    }
    pthread_mutex_unlock(&reg_lock);
    return h ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

CU_EXPORT CUresult cuMemHostRegister(void *p, size_t bytesize, unsigned int Flags)
{
    return cuMemHostRegister_v2(p, bytesize, Flags);
}

CU_EXPORT CUresult cuMemHostUnregister(void *p)
{
    hostreg **pp, *h;
    pthread_mutex_lock(&reg_lock);
    for (pp = &regs; (h = *pp) != NULL; pp = &h->next) {
        if (h->p == (char *)p) {
            *pp = h->next;
            break;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    free(h);
    return h ? CUDA_SUCCESS : CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
}

/* The legacy default stream waits for every other stream first (its own
 * earlier work is ordered before the copy anyway). */
static CUresult legacy_wait(void)
{
    return zkcu_result(zk_stream_synchronize_others(NULL));
}

CU_EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n)
{
    CUresult r = legacy_wait();
    r = r != CUDA_SUCCESS ? r : zkcu_result(zk_memcpy_htod((zk_deviceptr)dst, src, n));
    return zkcu_printf_sync(r, 0);      /* a blocking copy: device printf output */
}

CU_EXPORT CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n)
{
    CUresult r = legacy_wait();
    r = r != CUDA_SUCCESS ? r : zkcu_result(zk_memcpy_dtoh(dst, (zk_deviceptr)src, n));
    return zkcu_printf_sync(r, 0);
}

CU_EXPORT CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n)
{
    CUresult r = legacy_wait();
    return r != CUDA_SUCCESS ? r : zkcu_result(zk_memcpy_dtod((zk_deviceptr)dst,
                                                              (zk_deviceptr)src, n));
}

CU_EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, CUstream s)
{
    CUresult r = zkcu_legacy_order(s);
    if (r != CUDA_SUCCESS) {
        return r;
    }
    return zkcu_result(zk_memcpy_htod_async((zk_deviceptr)dst, src, n, zkcu_stream(s)));
}

CU_EXPORT CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, CUstream s)
{
    CUresult r = zkcu_legacy_order(s);
    if (r != CUDA_SUCCESS) {
        return r;
    }
    return zkcu_result(zk_memcpy_dtoh_async(dst, (zk_deviceptr)src, n, zkcu_stream(s)));
}

CU_EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s)
{
    CUresult r = zkcu_legacy_order(s);
    if (r != CUDA_SUCCESS) {
        return r;
    }
    return zkcu_result(zk_memcpy_dtod_async((zk_deviceptr)dst, (zk_deviceptr)src, n,
                                            zkcu_stream(s)));
}

/* 16-bit fills: 32-bit fills of the pattern twice, the odd ends copied. */
static CUresult memset_d16(CUdeviceptr dst, unsigned short us, size_t n, zk_stream s, int async)
{
    uint32_t pat = (uint32_t)us | (uint32_t)us << 16;
    zk_status st = ZK_SUCCESS;
    if (dst & 1) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (n && (dst & 3)) {
        st = async ? zk_memcpy_htod_async(dst, &pat, 2, s) : zk_memcpy_htod(dst, &pat, 2);
        dst += 2;
        n--;
    }
    if (st == ZK_SUCCESS && n >= 2) {
        st = async ? zk_memset_d32_async(dst, pat, n / 2, s) : zk_memset_d32(dst, pat, n / 2);
    }
    if (st == ZK_SUCCESS && (n & 1)) {
        CUdeviceptr last = dst + (n - 1) * 2;
        st = async ? zk_memcpy_htod_async(last, &pat, 2, s) : zk_memcpy_htod(last, &pat, 2);
    }
    if (async && st == ZK_SUCCESS) {
        /* The 2-byte sources above live on this stack frame. */
        st = zk_stream_synchronize(s);
    }
    return zkcu_result(st);
}

CU_EXPORT CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char uc, size_t n)
{
    CUresult r = legacy_wait();
    return r != CUDA_SUCCESS ? r : zkcu_result(zk_memset((zk_deviceptr)dst, uc, n));
}

CU_EXPORT CUresult cuMemsetD16_v2(CUdeviceptr dst, unsigned short us, size_t n)
{
    CUresult r = legacy_wait();
    return r != CUDA_SUCCESS ? r : memset_d16(dst, us, n, NULL, 0);
}

CU_EXPORT CUresult cuMemsetD32_v2(CUdeviceptr dst, unsigned int ui, size_t n)
{
    CUresult r = legacy_wait();
    if (r == CUDA_SUCCESS && (dst & 3)) {
        r = CUDA_ERROR_INVALID_VALUE;
    }
    return r != CUDA_SUCCESS ? r : zkcu_result(zk_memset_d32((zk_deviceptr)dst, ui, n));
}

CU_EXPORT CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char uc, size_t n, CUstream s)
{
    CUresult r = zkcu_legacy_order(s);
    if (r != CUDA_SUCCESS) {
        return r;
    }
    return zkcu_result(zk_memset_async((zk_deviceptr)dst, uc, n, zkcu_stream(s)));
}

CU_EXPORT CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short us, size_t n, CUstream s)
{
    CUresult r = zkcu_legacy_order(s);
    if (r != CUDA_SUCCESS) {
        return r;
    }
    return memset_d16(dst, us, n, zkcu_stream(s), 1);
}

CU_EXPORT CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int ui, size_t n, CUstream s)
{
    CUresult r = zkcu_legacy_order(s);
    if (r != CUDA_SUCCESS) {
        return r;
    }
    if (dst & 3) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    return zkcu_result(zk_memset_d32_async((zk_deviceptr)dst, ui, n, zkcu_stream(s)));
}

CU_EXPORT CUresult cuPointerGetAttribute(void *data, CUpointer_attribute attribute, CUdeviceptr ptr)
{
    zk_deviceptr base = 0, hd = 0;
    zk_context c = NULL;
    size_t size = 0;
    int host = 0;
    CUdevice dev = 0;
    CUresult r;
    if (!data) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (zk_ctx_get_current(&c) != ZK_SUCCESS || !c) {
        return CUDA_ERROR_INVALID_CONTEXT;
    }
    if (zk_mem_get_address_range(&base, &size, (zk_deviceptr)ptr) != ZK_SUCCESS) {
        /* Not device memory of this context: pinned host memory? */
        if (zk_mem_host_get_device_pointer(&hd, (void *)(uintptr_t)ptr) != ZK_SUCCESS) {
            return CUDA_ERROR_INVALID_VALUE;
        }
        host = 1;
    }
    if ((r = zkcu_current_device(&dev)) != CUDA_SUCCESS) {
        return r;
    }
    switch (attribute) {
    case CU_POINTER_ATTRIBUTE_CONTEXT: *(CUcontext *)data = (CUcontext)c; break;
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
        *(unsigned int *)data = host ? CU_MEMORYTYPE_HOST : CU_MEMORYTYPE_DEVICE;
        break;
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER: *(CUdeviceptr *)data = host ? hd : ptr; break;
    case CU_POINTER_ATTRIBUTE_HOST_POINTER:
        if (!host) {
            return CUDA_ERROR_INVALID_VALUE;    /* device memory has no host mapping */
        }
        *(void **)data = (void *)(uintptr_t)ptr;
        break;
    case CU_POINTER_ATTRIBUTE_IS_MANAGED: *(unsigned int *)data = 0; break;
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL: *(int *)data = dev; break;
    case CU_POINTER_ATTRIBUTE_RANGE_START_ADDR:
        if (host) {
            return CUDA_ERROR_INVALID_VALUE;
        }
        *(CUdeviceptr *)data = (CUdeviceptr)base;
        break;
    case CU_POINTER_ATTRIBUTE_RANGE_SIZE:
        if (host) {
            return CUDA_ERROR_INVALID_VALUE;
        }
        *(size_t *)data = size;
        break;
    default:
        return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}
