/* SPDX-License-Identifier: MIT */
/* reduce_tree.cu - per-block sums (blockDim.x = 256), a shared-memory tree. */
#include <cuda_runtime.h>

extern "C" __global__ void reduce_tree(const float *in, float *block_sums, int n)
{
    __shared__ float s[256];
    unsigned int tid = threadIdx.x;
    unsigned int i = blockIdx.x * blockDim.x * 2 + tid;
    float v = 0.0f;
    if (i < (unsigned int)n) {
        v = in[i];
    }
    if (i + blockDim.x < (unsigned int)n) {
        v += in[i + blockDim.x];
    }
    s[tid] = v;
    __syncthreads();
    for (unsigned int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
        if (tid < stride) {
            s[tid] += s[tid + stride];
        }
        __syncthreads();
    }
    if (tid == 0) {
        block_sums[blockIdx.x] = s[0];
    }
}
