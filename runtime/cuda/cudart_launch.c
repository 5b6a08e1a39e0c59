/* SPDX-License-Identifier: MIT */
/*
 * cudart_launch.c - kernel launches: the three ways compiled host code
 * launches <<<>>> (clang with -target-sdk-version >= 9.2 and nvcc < 13:
 * __cudaPush/PopCallConfiguration + cudaLaunchKernel; older clang:
 * cudaConfigureCall + cudaSetupArgument + cudaLaunch; nvcc 13:
 * __cudaGetKernel + __cudaLaunchKernel), all ending in cuLaunchKernel.
 */
#include <string.h>

#include "cudart_internal.h"
#include "zhikai/zhikai.h"
#include "zhikai_simt.h"

#define CONF_DEPTH 16

typedef struct launch_conf {
    dim3 grid, block;
    size_t shared;
    cudaStream_t stream;
} launch_conf;

static __thread launch_conf confs[CONF_DEPTH];
static __thread unsigned int nconf;
/* cudaSetupArgument's buffer (legacy launch). */
static __thread unsigned char argbuf[ZK_SIMT_MAX_PARAMS];
static __thread size_t arglen;
static __thread int argbad;

RT_EXPORT unsigned __cudaPushCallConfiguration(dim3 gridDim, dim3 blockDim, size_t sharedMem,
                                               struct CUstream_st *stream)
{
    if (nconf == CONF_DEPTH) {
        return 1;
    }
    confs[nconf].grid = gridDim;
    confs[nconf].block = blockDim;
    confs[nconf].shared = sharedMem;
    confs[nconf].stream = stream;
    nconf++;
    return 0;
}

RT_EXPORT cudaError_t __cudaPopCallConfiguration(dim3 *gridDim, dim3 *blockDim, size_t *sharedMem,
                                                 void *stream)
{
    if (!nconf) {
        return cudaErrorMissingConfiguration;
    }
    nconf--;
    *gridDim = confs[nconf].grid;
    *blockDim = confs[nconf].block;
    *sharedMem = confs[nconf].shared;
    *(cudaStream_t *)stream = confs[nconf].stream;
    return cudaSuccess;
}

static cudaError_t launch(CUfunction f, dim3 grid, dim3 block, void **args, void **extra,
                          size_t shared, cudaStream_t stream)
{
    CUresult r;
    if (!grid.x || !grid.y || !grid.z || !block.x || !block.y || !block.z ||
        (unsigned long long)block.x * block.y * block.z > ZK_SIMT_MAX_THREADS ||
        block.x > ZK_SIMT_MAX_BLOCK_X || block.y > ZK_SIMT_MAX_BLOCK_Y ||
        block.z > ZK_SIMT_MAX_BLOCK_Z || grid.y > 65535 || grid.z > 65535 ||
        shared > ZK_SIMT_MAX_SHARED) {
        return cudaErrorInvalidConfiguration;
    }
    r = cuLaunchKernel(f, grid.x, grid.y, grid.z, block.x, block.y, block.z, (unsigned int)shared,
                       (CUstream)stream, args, extra);
    if (r == CUDA_ERROR_INVALID_VALUE && shared) {
        /* Static + dynamic shared memory over the limit, the one shape
         * check left to libzhikai (it knows the static size). */
        const char *d = zk_last_error_detail();
        if (d && strstr(d, "shared memory")) {
            return cudaErrorInvalidConfiguration;
        }
    }
    return zkrt_err(r);
}

RT_EXPORT cudaError_t cudaLaunchKernel(const void *func, dim3 gridDim, dim3 blockDim, void **args,
                                       size_t sharedMem, cudaStream_t stream)
{
    CUfunction f;
    cudaError_t e = zkrt_function(func, &f);
    if (e == cudaSuccess) {
        e = launch(f, gridDim, blockDim, args, NULL, sharedMem, stream);
    }
    return zkrt_ret(e);
}

RT_EXPORT cudaError_t cudaLaunchKernel_ptsz(const void *func, dim3 gridDim, dim3 blockDim,
                                            void **args, size_t sharedMem, cudaStream_t stream)
{
    return cudaLaunchKernel(func, gridDim, blockDim, args, sharedMem, stream);
}

/* nvcc 13: the kernel handle is the host stub's address itself. */
RT_EXPORT cudaError_t __cudaGetKernel(cudaKernel_t *kernel, const void *hostFun)
{
    CUfunction f;
    cudaError_t e;
    if (!kernel) {
        return zkrt_ret(cudaErrorInvalidValue);
    }
    e = zkrt_function(hostFun, &f);
    if (e == cudaSuccess) {
        *kernel = (cudaKernel_t)hostFun;
    }
    return zkrt_ret(e);
}

RT_EXPORT cudaError_t __cudaLaunchKernel(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim,
                                         void **args, size_t sharedMem, cudaStream_t stream)
{
    return cudaLaunchKernel((const void *)kernel, gridDim, blockDim, args, sharedMem, stream);
}

RT_EXPORT cudaError_t __cudaLaunchKernel_ptsz(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim,
                                              void **args, size_t sharedMem, cudaStream_t stream)
{
    return cudaLaunchKernel((const void *)kernel, gridDim, blockDim, args, sharedMem, stream);
}

/* ---- the pre-CUDA-10 sequence ------------------------------------------------- */

RT_EXPORT cudaError_t cudaConfigureCall(dim3 gridDim, dim3 blockDim, size_t sharedMem,
                                        cudaStream_t stream)
{
    if (__cudaPushCallConfiguration(gridDim, blockDim, sharedMem, stream)) {
        return zkrt_ret(cudaErrorInvalidConfiguration);
    }
    arglen = 0;
    argbad = 0;
    return cudaSuccess;
}

RT_EXPORT cudaError_t cudaSetupArgument(const void *arg, size_t size, size_t offset)
{
    if (!arg || offset > sizeof(argbuf) || size > sizeof(argbuf) - offset) {
        argbad = 1;
        return zkrt_ret(cudaErrorInvalidValue);
    }
    memcpy(argbuf + offset, arg, size);
    if (offset + size > arglen) {
        arglen = offset + size;
    }
    return cudaSuccess;
}

RT_EXPORT cudaError_t cudaLaunch(const void *func)
{
    launch_conf c;
    CUfunction f;
    cudaError_t e;
    size_t len = arglen;
    void *extra[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, argbuf, CU_LAUNCH_PARAM_BUFFER_SIZE, &len,
                      CU_LAUNCH_PARAM_END };
    if ((e = __cudaPopCallConfiguration(&c.grid, &c.block, &c.shared, &c.stream)) != cudaSuccess) {
        return zkrt_ret(e);
    }
    if (argbad) {
        return zkrt_ret(cudaErrorInvalidValue);
    }
    e = zkrt_function(func, &f);
    if (e == cudaSuccess) {
        zk_function_attributes a;
        /* The .entry may end in padding the last argument does not cover. */
        if (zk_function_get_attributes((zk_function)f, &a) == ZK_SUCCESS && a.param_bytes > len) {
            len = a.param_bytes;
        }
        e = launch(f, c.grid, c.block, NULL, extra, c.shared, c.stream);
    }
    return zkrt_ret(e);
}
