/* SPDX-License-Identifier: MIT */
/*
 * reduce_warp.cu - warp-shuffle reductions: per-block sum and max of a
 * vector (shuffles down and xor, one shared slot per warp), and a ballot
 * count of the positive elements.
 */
#include <cuda_runtime.h>

static __device__ __forceinline__ float warp_sum(float v)
{
    for (int off = 16; off > 0; off >>= 1) {
        v += __shfl_down_sync(0xffffffffu, v, off);
    }
    return v;
}

static __device__ __forceinline__ float warp_max(float v)
{
    for (int off = 16; off > 0; off >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
    }
    return v;
}

extern "C" __global__ void reduce_warp(const float *in, float *sums, float *maxes,
                                       int *positives, int n)
{
    __shared__ float wsum[32];
    __shared__ float wmax[32];
    __shared__ int wpos[32];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int nwarps = (blockDim.x + 31) >> 5;
    float v = i < n ? in[i] : 0.0f;
    float m = i < n ? in[i] : -3.0e38f;
    unsigned int pos = __ballot_sync(0xffffffffu, i < n && v > 0.0f);
    v = warp_sum(v);
    m = warp_max(m);
    if (lane == 0) {
        wsum[warp] = v;
        wmax[warp] = m;
        wpos[warp] = __popc(pos);
    }
    __syncthreads();
    if (warp == 0) {
        v = lane < nwarps ? wsum[lane] : 0.0f;
        m = lane < nwarps ? wmax[lane] : -3.0e38f;
        int p = lane < nwarps ? wpos[lane] : 0;
        v = warp_sum(v);
        m = warp_max(m);
        for (int off = 16; off > 0; off >>= 1) {
            p += __shfl_xor_sync(0xffffffffu, p, off);
        }
        if (lane == 0) {
            sums[blockIdx.x] = v;
            maxes[blockIdx.x] = m;
            positives[blockIdx.x] = p;
        }
    }
}
