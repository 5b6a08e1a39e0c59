/* SPDX-License-Identifier: MIT */
/*
 * register_vadd.cu - host side of a CUDA program, compiled by clang-14
 * (--cuda-host-only) with the PTX of vector_add embedded as its GPU binary
 * (-fcuda-include-gpubinary): clang emits the fat binary wrapper and the
 * __cudaRegisterFatBinary/__cudaRegisterFunction constructor a real CUDA
 * program has.  tests/runtime/test_ptx.c catches those calls and loads the
 * wrapper into libzhikai.
 */
#include <cuda_runtime.h>

extern "C" __global__ void vector_add(const float *a, const float *b, float *c, int n);
#ifndef __CUDA_ARCH__
/* The host stub clang generates launches through cudaLaunch; never called here. */
extern "C" __global__ void vector_add(const float *a, const float *b, float *c, int n)
{
    (void)a;
    (void)b;
    (void)c;
    (void)n;
}
#endif
