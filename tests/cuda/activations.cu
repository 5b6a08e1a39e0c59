/* SPDX-License-Identifier: MIT */
/* activations.cu - SiLU(x) * g (the SwiGLU gate) and tanh-approximated GELU. */
#include <cuda_runtime.h>

extern "C" __global__ void silu_mul(const float *x, const float *g, float *y, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float v = x[i];
        y[i] = v / (1.0f + expf(-v)) * g[i];
    }
}

extern "C" __global__ void gelu(const float *x, float *y, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float v = x[i];
        float u = 0.7978845608f * (v + 0.044715f * v * v * v);
        y[i] = 0.5f * v * (1.0f + tanhf(u));
    }
}
