/* SPDX-License-Identifier: MIT */
/*
 * cudart_internal.h - shared by the files of libcudart.so.13 (the CUDA
 * runtime API on libcuda, docs/cuda.md).  The runtime keeps only what
 * CUDA's runtime adds to the driver: the per-thread device choice and last
 * error, the registered kernels/variables of the program's fat binaries,
 * and the <<<>>> launch configuration.
 */
#ifndef ZK_CUDART_INTERNAL_H
#define ZK_CUDART_INTERNAL_H

#include "cuda.h"
#include "cuda_runtime_api.h"

#define RT_EXPORT __attribute__((visibility("default")))

/* Record @e as the thread's last error (unless success) and return it. */
cudaError_t zkrt_ret(cudaError_t e);
/* CUresult -> cudaError_t (CUDA keeps most codes equal). */
cudaError_t zkrt_err(CUresult r);
/* Make sure a context is current: the calling thread's own (driver API) or
 * the primary context of the thread's device (cudaSetDevice, default 0). */
cudaError_t zkrt_ctx(void);
/* Drop every module loaded into @ctx (cudaDeviceReset destroys it). */
void zkrt_forget_ctx(CUcontext ctx);
/* The registered kernel whose host stub is @hostFun, loaded in the current
 * context (cudaErrorInvalidDeviceFunction if none). */
cudaError_t zkrt_function(const void *hostFun, CUfunction *out);
/* The registered device variable whose host shadow is @hostVar. */
cudaError_t zkrt_symbol(const void *hostVar, CUdeviceptr *dptr, size_t *size);

/* Entry points compiled host code calls (declared by no public header). */
void **__cudaRegisterFatBinary(void *fatCubin);
void __cudaRegisterFatBinaryEnd(void **fatCubinHandle);
char __cudaInitModule(void **fatCubinHandle);
void __cudaUnregisterFatBinary(void **fatCubinHandle);
void __cudaRegisterFunction(void **fatCubinHandle, const char *hostFun, char *deviceFun,
                            const char *deviceName, int thread_limit, uint3 *tid, uint3 *bid,
                            dim3 *bDim, dim3 *gDim, int *wSize);
void __cudaRegisterVar(void **fatCubinHandle, char *hostVar, char *deviceAddress,
                       const char *deviceName, int ext, size_t size, int constant, int global);
cudaError_t cudaLaunchKernel_ptsz(const void *func, dim3 gridDim, dim3 blockDim, void **args,
                                  size_t sharedMem, cudaStream_t stream);
cudaError_t __cudaGetKernel(cudaKernel_t *kernel, const void *hostFun);
cudaError_t __cudaLaunchKernel(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim, void **args,
                               size_t sharedMem, cudaStream_t stream);
cudaError_t __cudaLaunchKernel_ptsz(cudaKernel_t kernel, dim3 gridDim, dim3 blockDim, void **args,
                                    size_t sharedMem, cudaStream_t stream);

#endif /* ZK_CUDART_INTERNAL_H */
