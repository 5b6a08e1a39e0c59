/* SPDX-License-Identifier: MIT */
/*
 * cuda_runtime.h - what a CUDA program includes: the runtime API, and when
 * compiled as CUDA by clang (-x cuda), the device side (zk_cuda_device.h)
 * and the C++ conveniences CUDA's header offers (typed cudaMalloc, launch by
 * function pointer, occupancy helper).  docs/cuda.md says how to build.
 */
#ifndef ZK_CUDA_RUNTIME_H_
#define ZK_CUDA_RUNTIME_H_

#include "cuda_runtime_api.h"
#include "zk_cuda_device.h"

#ifdef __cplusplus
template <class T> static inline cudaError_t cudaMalloc(T **devPtr, size_t size)
{
    return ::cudaMalloc((void **)(void *)devPtr, size);
}
template <class T> static inline cudaError_t cudaMallocHost(T **ptr, size_t size)
{
    return ::cudaMallocHost((void **)(void *)ptr, size);
}
template <class T> static inline cudaError_t cudaHostAlloc(T **ptr, size_t size, unsigned int flags)
{
    return ::cudaHostAlloc((void **)(void *)ptr, size, flags);
}
template <class T>
static inline cudaError_t cudaLaunchKernel(T *func, dim3 grid, dim3 block, void **args,
                                           size_t sharedMem = 0, cudaStream_t stream = 0)
{
    return ::cudaLaunchKernel((const void *)func, grid, block, args, sharedMem, stream);
}
template <class T>
static inline cudaError_t cudaFuncGetAttributes(struct cudaFuncAttributes *attr, T *func)
{
    return ::cudaFuncGetAttributes(attr, (const void *)func);
}
template <class T>
static inline cudaError_t cudaMemcpyToSymbol(const T &symbol, const void *src, size_t count,
                                             size_t offset = 0,
                                             enum cudaMemcpyKind kind = cudaMemcpyHostToDevice)
{
    return ::cudaMemcpyToSymbol((const void *)&symbol, src, count, offset, kind);
}
template <class T>
static inline cudaError_t cudaMemcpyFromSymbol(void *dst, const T &symbol, size_t count,
                                               size_t offset = 0,
                                               enum cudaMemcpyKind kind = cudaMemcpyDeviceToHost)
{
    return ::cudaMemcpyFromSymbol(dst, (const void *)&symbol, count, offset, kind);
}
template <class T>
static inline cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int *numBlocks, T func,
                                                                        int blockSize,
                                                                        size_t dynamicSMemSize)
{
    return ::cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(
        numBlocks, (const void *)func, blockSize, dynamicSMemSize, 0);
}
/*
 * The block size with the most resident threads per multiprocessor (the
 * largest on ties) and the grid that fills the device with it, as CUDA's
 * header computes it from the function's and the device's limits.
 */
template <class T>
static inline cudaError_t cudaOccupancyMaxPotentialBlockSize(int *minGridSize, int *blockSize,
                                                             T func, size_t dynamicSMemSize = 0,
                                                             int blockSizeLimit = 0)
{
    struct cudaFuncAttributes fa;
    int dev, sms, maxThreads, best = 0, bestBlocks = 0;
    cudaError_t e;
    if (!minGridSize || !blockSize || !func) {
        return cudaErrorInvalidValue;
    }
    if ((e = ::cudaGetDevice(&dev)) != cudaSuccess ||
        (e = ::cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev)) != cudaSuccess ||
        (e = ::cudaFuncGetAttributes(&fa, (const void *)func)) != cudaSuccess) {
        return e;
    }
    maxThreads = fa.maxThreadsPerBlock;
    if (blockSizeLimit > 0 && blockSizeLimit < maxThreads) {
        maxThreads = blockSizeLimit;
    }
    for (int bs = maxThreads; bs > 0; bs -= 32) {
        int n = 0;
        e = ::cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(&n, (const void *)func, bs,
                                                                     dynamicSMemSize, 0);
        if (e != cudaSuccess) {
            return e;
        }
        if (n * bs > best) {
            best = n * bs;
            *blockSize = bs;
            bestBlocks = n;
        }
    }
    if (!best) {
        return cudaErrorInvalidConfiguration;
    }
    *minGridSize = bestBlocks * sms;
    return cudaSuccess;
}
#endif /* __cplusplus */

#endif /* ZK_CUDA_RUNTIME_H_ */
