/* SPDX-License-Identifier: MIT */
/*
 * rope.cu - rotary position embedding in place on q[heads][dim] for one
 * position: pair (2i, 2i+1) rotated by pos * theta^(-2i/dim).
 */
#include <cuda_runtime.h>

extern "C" __global__ void rope(float *q, int heads, int dim, int pos, float theta)
{
    int idx = blockIdx.x * blockDim.x + threadIdx.x;
    int half = dim / 2;
    if (idx >= heads * half) {
        return;
    }
    int h = idx / half, i = idx % half;
    float freq = expf(-(float)(2 * i) / (float)dim * logf(theta));
    float a = (float)pos * freq;
    float c = cosf(a), s = sinf(a);
    float *v = q + h * dim + 2 * i;
    float x0 = v[0], x1 = v[1];
    v[0] = x0 * c - x1 * s;
    v[1] = x0 * s + x1 * c;
}
