/* SPDX-License-Identifier: MIT */
/*
 * simt_pairs.cu - CUDA C twins of the hand-written SIMT kernels in
 * runtime/kernels/simt_demo.zks (same parameters, same results), for the
 * translated-vs-handwritten benchmark (tests/bench/bench_ptx.c).
 */
#include <cuda_runtime.h>

/* out[block] = sum of the block's inputs; dynamic shared memory of ntid words */
extern "C" __global__ void block_sum_u32(const unsigned int *in, unsigned int *out)
{
    extern __shared__ unsigned int part[];
    unsigned int t = threadIdx.x;
    part[t] = in[blockIdx.x * blockDim.x + t];
    __syncthreads();
    for (unsigned int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) {
            part[t] += part[t + s];
        }
        __syncthreads();
    }
    if (t == 0) {
        out[blockIdx.x] = part[0];
    }
}

/* *total += sum of the inputs: warp shuffles, one atomic per warp */
extern "C" __global__ void warp_sum_u32(const unsigned int *in, unsigned int *total)
{
    int v = (int)in[blockIdx.x * blockDim.x + threadIdx.x];
    for (int m = 16; m > 0; m >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, m);
    }
    if ((threadIdx.x & 31) == 0) {
        atomicAdd(total, (unsigned int)v);
    }
}

/* x = i; iters times 4x (x = x * 0.999 + i); out[i] = x */
extern "C" __global__ void fma_loop(float *out, unsigned int iters)
{
    unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    float f = (float)i, x = f;
    for (unsigned int k = 0; k < iters; k++) {
        x = fmaf(x, 0.999f, f);
        x = fmaf(x, 0.999f, f);
        x = fmaf(x, 0.999f, f);
        x = fmaf(x, 0.999f, f);
    }
    out[i] = x;
}
