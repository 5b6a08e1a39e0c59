/* SPDX-License-Identifier: MIT */
/*
 * Stand-in for runtime/cuda/include/driver_types.h while libcublas is built
 * without the CUDA runtime headers: only the stream type cublas_api.h needs.
 * The include path puts runtime/cuda/include first, so the real header wins.
 */
#ifndef ZHIKAI_CUBLAS_COMPAT_DRIVER_TYPES_H
#define ZHIKAI_CUBLAS_COMPAT_DRIVER_TYPES_H
typedef struct CUstream_st *cudaStream_t;
#endif
