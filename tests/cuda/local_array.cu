/* SPDX-License-Identifier: MIT */
/*
 * local_array.cu - a 256-entry per-thread table in .local memory, indexed
 * by data: each thread counts its window's byte values, then reports the
 * most frequent one (ties: the smallest).
 */
#include <cuda_runtime.h>

extern "C" __global__ void local_mode(const unsigned char *in, int *mode, int window, int n)
{
    int counts[256];
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t * window >= n) {
        return;
    }
    for (int b = 0; b < 256; b++) {
        counts[b] = 0;
    }
    for (int j = 0; j < window && t * window + j < n; j++) {
        counts[in[t * window + j]]++;
    }
    int best = 0;
    for (int b = 1; b < 256; b++) {
        if (counts[b] > counts[best]) {
            best = b;
        }
    }
    mode[t] = best;
}
