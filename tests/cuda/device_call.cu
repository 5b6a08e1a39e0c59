/* SPDX-License-Identifier: MIT */
/* device_call.cu - a kernel calling a non-inlined device function (a real PTX call). */
#include <cuda_runtime.h>

extern "C" __device__ __noinline__ float poly(float x, const float *c, int deg)
{
    float r = 0.0f;
    for (int k = deg; k >= 0; k--) {
        r = r * x + c[k];
    }
    return r;
}

extern "C" __global__ void eval_poly(const float *x, const float *coef, float *y, int deg, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        y[i] = poly(x[i], coef, deg) - poly(-x[i], coef, deg);
    }
}
