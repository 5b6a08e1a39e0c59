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

/* A loaded module that uses device printf/assert gets the context's FIFO. */
static CUresult loaded(CUmodule *module, CUresult r)
{
    if (r == CUDA_SUCCESS && (r = zkcu_printf_module_loaded(*module)) != CUDA_SUCCESS) {
        zk_module_unload((zk_module)*module);
        *module = NULL;
    }
    return r;
}

CU_EXPORT CUresult cuModuleLoad(CUmodule *module, const char *fname)
{
    if (!module || !fname) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    return loaded(module, load_status(zk_module_load((zk_module *)module, fname)));
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
    return loaded(module, load_status(zk_module_load_data((zk_module *)module, image, len)));
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

CU_EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned int gx, unsigned int gy, unsigned int gz,
                                  unsigned int bx, unsigned int by, unsigned int bz,
                                  unsigned int sharedMemBytes, CUstream hStream,
                                  void **kernelParams, void **extra)
{
    uint32_t grid[3] = { gx, gy, gz }, block[3] = { bx, by, bz };
    const void *p = NULL;
    const size_t *psize = NULL;
    CUresult r;

    if ((r = zkcu_printf_sticky()) != CUDA_SUCCESS) {
        return r;                       /* a device assert failed: the context is unusable */
    }
    /* CUDA's grid limits (y, z); the rest libzhikai checks (INVALID_VALUE). */
    if (gy > 65535 || gz > 65535 || (kernelParams && extra)) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    for (unsigned int i = 0; extra && extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
        if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER) {
            p = extra[i + 1];
        } else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE) {
            psize = extra[i + 1];
        } else {
            return CUDA_ERROR_INVALID_VALUE;
        }
    }
    if (extra && (!p || !psize)) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if ((r = zkcu_legacy_order(hStream)) != CUDA_SUCCESS) {
        return r;
    }
    if (extra) {
        return zkcu_result(zk_launch_kernel_ex((zk_function)f, grid, block, sharedMemBytes, p,
                                               *psize, zkcu_stream(hStream)));
    }
    return zkcu_result(zk_launch_kernel_args((zk_function)f, grid, block, sharedMemBytes,
                                             kernelParams, zkcu_stream(hStream)));
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
