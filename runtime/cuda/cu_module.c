/* SPDX-License-Identifier: MIT */
/*
 * cu_module.c - modules (PTX text, fat binaries, zhikai kernel objects: the
 * PTX front end of libzhikai, docs/ptx.md), functions and cuLaunchKernel.
 * Kernel parameters are packed into the .entry's parameter layout
 * (zk_function_get_param) and launched with zk_launch_kernel_ex.
 */
#include <stdint.h>
#include <string.h>

#include "cu_internal.h"
#include "zhikai_simt.h"

#define FATBIN_MAGIC 0xBA55ED50u
#define WRAPPER_MAGIC 0x466243B1u

/*
 * cuModuleLoadData gets no length: take it from the image's own header
 * (fat binary, fat binary wrapper, ELF kernel object) or, for PTX, the text.
 */
static size_t image_length(const void *image)
{
    const unsigned char *b = image;
    uint32_t magic;
    memcpy(&magic, b, 4);
    if (magic == FATBIN_MAGIC) {
        uint16_t hdr;
        uint64_t size;
        memcpy(&hdr, b + 6, 2);
        memcpy(&size, b + 8, 8);
        return size > SIZE_MAX - hdr ? 0 : hdr + (size_t)size;
    }
    if (magic == WRAPPER_MAGIC) {
        return 24;
    }
    if (!memcmp(b, "\177ELF", 4) && b[4] == 2) {
        uint64_t shoff, phoff, end1, end2;
        uint16_t shentsize, shnum, phentsize, phnum;
        memcpy(&phoff, b + 0x20, 8);
        memcpy(&shoff, b + 0x28, 8);
        memcpy(&phentsize, b + 0x36, 2);
        memcpy(&phnum, b + 0x38, 2);
        memcpy(&shentsize, b + 0x3a, 2);
        memcpy(&shnum, b + 0x3c, 2);
        end1 = shoff + (uint64_t)shentsize * shnum;
        end2 = phoff + (uint64_t)phentsize * phnum;
        return (size_t)(end1 > end2 ? end1 : end2);
    }
    return strlen(image) + 1;
}

static CUresult load_status(zk_status st)
{
    const char *d = zk_last_error_detail();
    if (st == ZK_ERROR_INVALID_IMAGE && d && strstr(d, "ptx")) {
        return CUDA_ERROR_INVALID_PTX;
    }
    if (st == ZK_ERROR_OS) {
        return CUDA_ERROR_FILE_NOT_FOUND;
    }
    return zkcu_result(st);
}

CU_EXPORT CUresult cuModuleLoad(CUmodule *module, const char *fname)
{
    if (!module || !fname) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    return load_status(zk_module_load((zk_module *)module, fname));
}

CU_EXPORT CUresult cuModuleLoadData(CUmodule *module, const void *image)
{
    size_t len;
    if (!module || !image) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    len = image_length(image);
    if (!len) {
        return CUDA_ERROR_INVALID_IMAGE;
    }
    return load_status(zk_module_load_data((zk_module *)module, image, len));
}

/* JIT options steer NVIDIA's PTX compiler; ours takes none, and writes no log. */
CU_EXPORT CUresult cuModuleLoadDataEx(CUmodule *module, const void *image, unsigned int numOptions,
                                      CUjit_option *options, void **optionValues)
{
    if (numOptions && (!options || !optionValues)) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    for (unsigned int i = 0; i < numOptions; i++) {
        if (options[i] == CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES ||
            options[i] == CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES) {
            optionValues[i] = (void *)0;        /* no log written */
        }
    }
    return cuModuleLoadData(module, image);
}

CU_EXPORT CUresult cuModuleLoadFatBinary(CUmodule *module, const void *fatCubin)
{
    return cuModuleLoadData(module, fatCubin);
}

CU_EXPORT CUresult cuModuleUnload(CUmodule hmod)
{
    return zkcu_result(zk_module_unload((zk_module)hmod));
}

CU_EXPORT CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)
{
    if (!hfunc || !name) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    return zkcu_result(zk_module_get_function((zk_function *)hfunc, (zk_module)hmod, name));
}

CU_EXPORT CUresult cuModuleGetGlobal_v2(CUdeviceptr *dptr, size_t *bytes, CUmodule hmod,
                                        const char *name)
{
    uint64_t va = 0;
    size_t size = 0;
    CUresult r;
    if (!name) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    r = zkcu_result(zk_module_get_global((zk_module)hmod, name, &va, &size));
    if (r == CUDA_SUCCESS) {
        if (dptr) {
            *dptr = va;
        }
        if (bytes) {
            *bytes = size;
        }
    }
    return r;
}

CU_EXPORT CUresult cuFuncGetAttribute(int *pi, CUfunction_attribute attrib, CUfunction hfunc)
{
    zk_function_attributes a;
    CUresult r;
    if (!pi) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if ((r = zkcu_result(zk_function_get_attributes((zk_function)hfunc, &a))) != CUDA_SUCCESS) {
        return r;
    }
    switch (attrib) {
    case CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *pi = (int)a.max_threads_per_block; break;
    case CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES: *pi = (int)a.shared_bytes; break;
    case CU_FUNC_ATTRIBUTE_CONST_SIZE_BYTES: *pi = 0; break;
    case CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES: *pi = (int)a.local_bytes; break;
    case CU_FUNC_ATTRIBUTE_NUM_REGS: *pi = (int)a.num_regs; break;
    case CU_FUNC_ATTRIBUTE_PTX_VERSION:
    case CU_FUNC_ATTRIBUTE_BINARY_VERSION: *pi = 70; break;
    case CU_FUNC_ATTRIBUTE_CACHE_MODE_CA: *pi = 0; break;
    case CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES: *pi = (int)a.max_dynamic_shared_bytes; break;
    case CU_FUNC_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT: *pi = -1; break;
    default: return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}

/* Pack kernelParams[i] (pointers to each value) into the .entry layout. */
static CUresult pack_params(zk_function f, void **kernelParams, unsigned char *buf, size_t *len)
{
    unsigned int n = 0;
    size_t end = 0;
    if (zk_function_get_num_params(f, &n) != ZK_SUCCESS) {
        return CUDA_ERROR_INVALID_HANDLE;
    }
    if (n && !kernelParams) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    for (unsigned int i = 0; i < n; i++) {
        size_t off, size;
        if (zk_function_get_param(f, i, &off, &size) != ZK_SUCCESS ||
            off > ZK_SIMT_MAX_PARAMS || size > ZK_SIMT_MAX_PARAMS - off) {
            return CUDA_ERROR_INVALID_IMAGE;
        }
        if (!kernelParams[i]) {
            return CUDA_ERROR_INVALID_VALUE;
        }
        memcpy(buf + off, kernelParams[i], size);
        if (off + size > end) {
            end = off + size;
        }
    }
    *len = end;
    return CUDA_SUCCESS;
}

CU_EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
                                  unsigned int bx, unsigned int by, unsigned int bz,
                                  unsigned int sharedMemBytes, CUstream hStream,
                                  void **kernelParams, void **extra)
{
    unsigned char buf[ZK_SIMT_MAX_PARAMS];
    const void *params = buf;
    size_t len = 0;
    zk_function_attributes a;
    uint32_t grid[3] = { gx, gy, gz }, block[3] = { bx, by, bz };
    CUresult r;

    if ((r = zkcu_result(zk_function_get_attributes((zk_function)f, &a))) != CUDA_SUCCESS) {
        return r;
    }
    if (!a.simt) {
        return CUDA_ERROR_NOT_SUPPORTED;    /* tile kernels: zk_launch_kernel */
    }
    if (!gx || !gy || !gz || !bx || !by || !bz || gy > 65535 || gz > 65535 ||
        bx > ZK_SIMT_MAX_BLOCK_X || by > ZK_SIMT_MAX_BLOCK_Y || bz > ZK_SIMT_MAX_BLOCK_Z ||
        (uint64_t)bx * by * bz > a.max_threads_per_block) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (sharedMemBytes > a.max_dynamic_shared_bytes) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (kernelParams && extra) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (extra) {
        const void *p = NULL;
        const size_t *psize = NULL;
        for (unsigned int i = 0; extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
            if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER) {
                p = extra[i + 1];
            } else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE) {
                psize = extra[i + 1];
            } else {
                return CUDA_ERROR_INVALID_VALUE;
            }
        }
        if (!p || !psize || *psize > ZK_SIMT_MAX_PARAMS) {
            return CUDA_ERROR_INVALID_VALUE;
        }
        params = p;
        len = *psize;
    } else {
        memset(buf, 0, sizeof(buf));
        if ((r = pack_params((zk_function)f, kernelParams, buf, &len)) != CUDA_SUCCESS) {
            return r;
        }
    }
    if ((r = zkcu_legacy_order(hStream)) != CUDA_SUCCESS) {
        return r;
    }
    if (a.param_bytes && len < a.param_bytes && !extra) {
        len = a.param_bytes;    /* trailing alignment padding of the .entry */
    }
    return zkcu_result(zk_launch_kernel_ex((zk_function)f, grid, block, sharedMemBytes, params,
                                           len, zkcu_stream(hStream)));
}

/*
 * Occupancy: the card runs one block at a time per compute unit, up to
 * 1024 threads, limited by shared memory (96 KiB per block).
 */
CU_EXPORT CUresult cuOccupancyMaxActiveBlocksPerMultiprocessor(int *numBlocks, CUfunction func,
                                                               int blockSize, size_t dynamicSMemSize)
{
    zk_function_attributes a;
    CUresult r;
    if (!numBlocks || blockSize <= 0) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if ((r = zkcu_result(zk_function_get_attributes((zk_function)func, &a))) != CUDA_SUCCESS) {
        return r;
    }
    *numBlocks = ((unsigned int)blockSize <= a.max_threads_per_block &&
                  dynamicSMemSize <= a.max_dynamic_shared_bytes) ? 1 : 0;
    return CUDA_SUCCESS;
}

CU_EXPORT CUresult cuOccupancyMaxPotentialBlockSize(int *minGridSize, int *blockSize, CUfunction func,
                                                    CUoccupancyB2DSize blockSizeToDynamicSMemSize,
                                                    size_t dynamicSMemSize, int blockSizeLimit)
{
    zk_function_attributes a;
    CUresult r;
    int best = 0;
    if (!minGridSize || !blockSize) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if ((r = zkcu_result(zk_function_get_attributes((zk_function)func, &a))) != CUDA_SUCCESS) {
        return r;
    }
    if (!a.simt) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    int limit = (int)a.max_threads_per_block;
    if (blockSizeLimit > 0 && blockSizeLimit < limit) {
        limit = blockSizeLimit;
    }
    for (int bs = limit; bs > 0 && !best; bs--) {
        size_t smem = blockSizeToDynamicSMemSize ? blockSizeToDynamicSMemSize(bs) : dynamicSMemSize;
        if (smem <= a.max_dynamic_shared_bytes && (bs % 32 == 0 || bs == limit)) {
            best = bs;
        }
    }
    if (!best) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    *blockSize = best;
    *minGridSize = 1;       /* one block per compute unit, one compute unit reported */
    return CUDA_SUCCESS;
}
