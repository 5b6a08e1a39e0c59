/* SPDX-License-Identifier: MIT */
/*
 * many_live.cu - 224 values live at once per thread (all loaded, then a
 * mixing pass that needs every one of them, then stored in reverse): the
 * translator's register allocator has to spill.
 */
#include <cuda_runtime.h>

#define NV 224

extern "C" __global__ void many_live(const float *in, float *out, int n)
{
    float v[NV];
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= n) {
        return;
    }
    const float *p = in + (size_t)t * NV;
    float *o = out + (size_t)t * NV;
#pragma unroll
    for (int j = 0; j < NV; j++) {
        v[j] = p[j];
    }
    float s = 0.0f;
#pragma unroll
    for (int j = 0; j < NV; j++) {
        s = s * 0.5f + v[j];
    }
#pragma unroll
    for (int j = 0; j < NV; j++) {
        o[NV - 1 - j] = v[j] * s + (float)j;
    }
}
