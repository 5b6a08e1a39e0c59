/* SPDX-License-Identifier: MIT */
/*
 * atomics.cu - a 64-bin histogram (atomicAdd on ints in shared memory,
 * then global), the global maximum (atomicMax), a float total (atomicAdd)
 * and a CAS-based counter of the elements equal to 7.
 */
#include <cuda_runtime.h>

extern "C" __global__ void histogram(const int *in, int *bins, int *maxv, float *total,
                                     int *sevens, int n)
{
    __shared__ int local[64];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    for (int b = threadIdx.x; b < 64; b += blockDim.x) {
        local[b] = 0;
    }
    __syncthreads();
    if (i < n) {
        int v = in[i];
        atomicAdd(&local[v & 63], 1);
        atomicMax(maxv, v);
        atomicAdd(total, (float)v);
        if (v == 7) {
            int old = *sevens, seen;
            do {
                seen = old;
                old = atomicCAS(sevens, seen, seen + 1);
            } while (old != seen);
        }
    }
    __syncthreads();
    for (int b = threadIdx.x; b < 64; b += blockDim.x) {
        if (local[b]) {
            atomicAdd(&bins[b], local[b]);
        }
    }
}
