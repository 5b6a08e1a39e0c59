/* SPDX-License-Identifier: MIT */
/* softmax.cu - row softmax, one block (blockDim.x = 128) per row of n columns. */
#include <cuda_runtime.h>

extern "C" __global__ void softmax(const float *x, float *y, int n)
{
    __shared__ float red[128];
    const float *row = x + (size_t)blockIdx.x * n;
    float *out = y + (size_t)blockIdx.x * n;
    unsigned int tid = threadIdx.x;
    float m = -3.0e38f;
    for (int j = tid; j < n; j += blockDim.x) {
        m = fmaxf(m, row[j]);
    }
    red[tid] = m;
    __syncthreads();
    for (unsigned int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) {
            red[tid] = fmaxf(red[tid], red[tid + s]);
        }
        __syncthreads();
    }
    m = red[0];
    __syncthreads();
    float sum = 0.0f;
    for (int j = tid; j < n; j += blockDim.x) {
        float e = expf(row[j] - m);
        out[j] = e;
        sum += e;
    }
    red[tid] = sum;
    __syncthreads();
    for (unsigned int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) {
            red[tid] += red[tid + s];
        }
        __syncthreads();
    }
    float inv = 1.0f / red[0];
    for (int j = tid; j < n; j += blockDim.x) {
        out[j] *= inv;
    }
}
