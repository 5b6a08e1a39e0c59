/* SPDX-License-Identifier: MIT */
/* rmsnorm.cu - y = x * w / sqrt(mean(x^2) + eps), one block (128 threads) per row. */
#include <cuda_runtime.h>

extern "C" __global__ void rmsnorm(const float *x, const float *w, float *y, int n, float eps)
{
    __shared__ float red[128];
    const float *row = x + (size_t)blockIdx.x * n;
    float *out = y + (size_t)blockIdx.x * n;
    unsigned int tid = threadIdx.x;
    float ss = 0.0f;
    for (int j = tid; j < n; j += blockDim.x) {
        ss += row[j] * row[j];
    }
    red[tid] = ss;
    __syncthreads();
    for (unsigned int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) {
            red[tid] += red[tid + s];
        }
        __syncthreads();
    }
    float scale = rsqrtf(red[0] / (float)n + eps);
    for (int j = tid; j < n; j += blockDim.x) {
        out[j] = row[j] * scale * w[j];
    }
}
