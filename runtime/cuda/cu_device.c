/* SPDX-License-Identifier: MIT */
/*
 * cu_device.c - cuInit, devices (CUdevice = the card's ordinal, as
 * zk_device_get and zksmi -i count them) and their attributes.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cu_internal.h"
#include "zhikai_simt.h"

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int initialized;

int zkcu_initialized(void)
{
    return __atomic_load_n(&initialized, __ATOMIC_ACQUIRE);
}

CU_EXPORT CUresult cuInit(unsigned int Flags)
{
    int n = 0;
    CUresult r;
    if (Flags) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    r = zkcu_result(zk_init(0));
    if (r == CUDA_SUCCESS) {
        r = zkcu_result(zk_device_count(&n));
    }
    if (r == CUDA_SUCCESS && n == 0) {
        r = CUDA_ERROR_NO_DEVICE;
    }
    if (r == CUDA_SUCCESS) {
        pthread_mutex_lock(&init_lock);
        __atomic_store_n(&initialized, 1, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&init_lock);
    }
    return r;
}

CU_EXPORT CUresult cuDriverGetVersion(int *driverVersion)
{
    if (!driverVersion) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    *driverVersion = CUDA_VERSION;
    return CUDA_SUCCESS;
}

CUresult zkcu_device(CUdevice ordinal, zk_device *out)
{
    int n = 0;
    if (!zkcu_initialized()) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    if (zk_device_count(&n) != ZK_SUCCESS || ordinal < 0 || ordinal >= n) {
        return CUDA_ERROR_INVALID_DEVICE;
    }
    return zkcu_result(zk_device_get(out, ordinal));
}

CUresult zkcu_current_device(CUdevice *out)
{
    zk_device cur, d;
    int n = 0;
    CUresult r = zkcu_result(zk_ctx_get_device(&cur));
    if (r != CUDA_SUCCESS) {
        return r;
    }
    zk_device_count(&n);
    for (int i = 0; i < n; i++) {
        if (zk_device_get(&d, i) == ZK_SUCCESS && d == cur) {
            *out = i;
            return CUDA_SUCCESS;
        }
    }
    return CUDA_ERROR_INVALID_CONTEXT;
}

CU_EXPORT CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
    zk_device d;
    CUresult r;
    if (!device) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    r = zkcu_device(ordinal, &d);
    if (r == CUDA_SUCCESS) {
        *device = ordinal;
    }
    return r;
}

CU_EXPORT CUresult cuDeviceGetCount(int *count)
{
    if (!count) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (!zkcu_initialized()) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    return zkcu_result(zk_device_count(count));
}

static CUresult props(CUdevice dev, zk_device_properties *p)
{
    zk_device d;
    CUresult r = zkcu_device(dev, &d);
    return r != CUDA_SUCCESS ? r : zkcu_result(zk_device_get_properties(d, p));
}

CU_EXPORT CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
{
    zk_device_properties p;
    CUresult r;
    if (!name || len <= 0) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if ((r = props(dev, &p)) == CUDA_SUCCESS) {
        snprintf(name, (size_t)len, "%s", p.name);
    }
    return r;
}

/* A stable id from what identifies the card: its bus id and device id. */
CU_EXPORT CUresult cuDeviceGetUuid_v2(CUuuid *uuid, CUdevice dev)
{
    zk_device_properties p;
    unsigned long long h = 14695981039346656037ull, h2;
    CUresult r;
    if (!uuid) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if ((r = props(dev, &p)) != CUDA_SUCCESS) {
        return r;
    }
    for (const char *s = p.pci_bus_id; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    }
    h2 = (h ^ p.pci_device_id ^ ((unsigned long long)p.pci_vendor_id << 16)) * 1099511628211ull;
    memcpy(uuid->bytes, &h, 8);
    memcpy(uuid->bytes + 8, &h2, 8);
    return CUDA_SUCCESS;
}

CU_EXPORT CUresult cuDeviceGetUuid(CUuuid *uuid, CUdevice dev)
{
    return cuDeviceGetUuid_v2(uuid, dev);
}

CU_EXPORT CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
{
    zk_device_properties p;
    CUresult r;
    if (!bytes) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if ((r = props(dev, &p)) == CUDA_SUCCESS) {
        *bytes = p.hbm_total;
    }
    return r;
}

/*
 * Compute capability: the PTX target the front end (docs/ptx.md) accepts,
 * sm_70, not the card's own hardware version (zk_device_properties has it).
 */
#define ZKCU_CC_MAJOR 7
#define ZKCU_CC_MINOR 0

CU_EXPORT CUresult cuDeviceComputeCapability(int *major, int *minor, CUdevice dev)
{
    zk_device d;
    CUresult r;
    if (!major || !minor) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if ((r = zkcu_device(dev, &d)) == CUDA_SUCCESS) {
        *major = ZKCU_CC_MAJOR;
        *minor = ZKCU_CC_MINOR;
    }
    return r;
}

CU_EXPORT CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)
{
    zk_device_properties p;
    unsigned int bus = 0, slot = 0, fn = 0, dom = 0;
    CUresult r;
    int v;
    if (!pi) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if ((r = props(dev, &p)) != CUDA_SUCCESS) {
        return r;
    }
    sscanf(p.pci_bus_id, "%x:%x:%x.%x", &dom, &bus, &slot, &fn);
    switch (attrib) {
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: v = ZK_SIMT_MAX_THREADS; break;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X: v = ZK_SIMT_MAX_BLOCK_X; break;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y: v = ZK_SIMT_MAX_BLOCK_Y; break;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z: v = ZK_SIMT_MAX_BLOCK_Z; break;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X: v = 0x7fffffff; break;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y: v = 65535; break;
    case CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z: v = 65535; break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK: v = 48 << 10; break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: v = ZK_SIMT_MAX_SHARED; break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR: v = ZK_SIMT_MAX_SHARED; break;
    case CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY: v = 64 << 10; break;
    case CU_DEVICE_ATTRIBUTE_WARP_SIZE: v = 32; break;
    case CU_DEVICE_ATTRIBUTE_MAX_PITCH: v = 0x7fffffff; break;
    case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK:
    case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR: v = 65536; break;
    case CU_DEVICE_ATTRIBUTE_CLOCK_RATE:
    case CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE: v = (int)p.clock_max_mhz * 1000; break;
    case CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT: v = 512; break;
    case CU_DEVICE_ATTRIBUTE_GPU_OVERLAP: v = 1; break;
    /* Compute units run one block at a time each: CUDA's SMs. */
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: v = (int)p.compute_units; break;
    case CU_DEVICE_ATTRIBUTE_KERNEL_EXEC_TIMEOUT: v = 1; break;
    case CU_DEVICE_ATTRIBUTE_INTEGRATED: v = 0; break;
    case CU_DEVICE_ATTRIBUTE_CAN_MAP_HOST_MEMORY: v = 1; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_MODE: v = 0; break;
    case CU_DEVICE_ATTRIBUTE_CONCURRENT_KERNELS: v = p.num_queues > 1; break;
    case CU_DEVICE_ATTRIBUTE_ECC_ENABLED: v = 0; break;
    case CU_DEVICE_ATTRIBUTE_PCI_BUS_ID: v = (int)bus; break;
    case CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID: v = (int)slot; break;
    case CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID: v = (int)dom; break;
    case CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH: v = 1024 * (int)p.hbm_stacks; break;
    case CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE: v = 0; break;
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR: v = ZK_SIMT_MAX_THREADS; break;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR: v = 1; break;
    case CU_DEVICE_ATTRIBUTE_ASYNC_ENGINE_COUNT: v = 1; break;
    case CU_DEVICE_ATTRIBUTE_UNIFIED_ADDRESSING: v = 0; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: v = ZKCU_CC_MAJOR; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: v = ZKCU_CC_MINOR; break;
    case CU_DEVICE_ATTRIBUTE_STREAM_PRIORITIES_SUPPORTED: v = 0; break;
    case CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY: v = 0; break;
    case CU_DEVICE_ATTRIBUTE_COOPERATIVE_LAUNCH: v = 0; break;
    case CU_DEVICE_ATTRIBUTE_HOST_REGISTER_SUPPORTED: v = 1; break;
    default: return CUDA_ERROR_INVALID_VALUE;
    }
    *pi = v;
    return CUDA_SUCCESS;
}

CU_EXPORT CUresult cuDeviceGetPCIBusId(char *pciBusId, int len, CUdevice dev)
{
    zk_device_properties p;
    CUresult r;
    if (!pciBusId || len <= 0) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if ((r = props(dev, &p)) == CUDA_SUCCESS) {
        snprintf(pciBusId, (size_t)len, "%s", p.pci_bus_id);
    }
    return r;
}

CU_EXPORT CUresult cuDeviceGetByPCIBusId(CUdevice *dev, const char *pciBusId)
{
    zk_device d, e;
    int n = 0;
    CUresult r;
    if (!dev || !pciBusId) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (!zkcu_initialized()) {
        return CUDA_ERROR_NOT_INITIALIZED;
    }
    if ((r = zkcu_result(zk_device_get_by_pci_bus_id(&d, pciBusId))) != CUDA_SUCCESS) {
        return r == CUDA_ERROR_NOT_FOUND ? CUDA_ERROR_INVALID_DEVICE : r;
    }
    zk_device_count(&n);
    for (int i = 0; i < n; i++) {
        if (zk_device_get(&e, i) == ZK_SUCCESS && e == d) {
            *dev = i;
            return CUDA_SUCCESS;
        }
    }
    return CUDA_ERROR_INVALID_DEVICE;
}
