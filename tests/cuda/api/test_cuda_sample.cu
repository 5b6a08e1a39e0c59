/* SPDX-License-Identifier: MIT */
/*
 * test_cuda_sample.cu - a CUDA program in the style people write elsewhere,
 * built the way a user would: by zk-cuda-cc (clang-14, no NVIDIA SDK) and,
 * where nvcc exists, by nvcc -cudart=shared.  It uses what samples use and
 * the API tests do not single out: a template kernel, __constant__ memory
 * filled by cudaMemcpyToSymbol, dynamic shared memory, warp shuffles then a
 * block reduction, a float atomicAdd, a non-default stream with async copies
 * and events, cudaGetDeviceProperties, and a bad launch caught by
 * cudaGetLastError.  Every number is checked against the CPU.
 */
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cuda_runtime.h>

#include "cuda_tap.h"

#define CHECK(x) TAP((x) == cudaSuccess, "%s", #x)

__constant__ float coeffs[4];

template <typename T, int BLOCK>
__global__ void poly_sum(const T *in, T *out, float *total, int n)
{
    extern __shared__ float warp_sums[];
    int i = blockIdx.x * BLOCK + threadIdx.x;
    float v = 0.0f;
    if (i < n) {
        float x = (float)in[i];
        v = coeffs[0] + x * (coeffs[1] + x * (coeffs[2] + x * coeffs[3]));
        out[i] = (T)v;
    }
    for (int off = 16; off > 0; off >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, off);
    if ((threadIdx.x & 31) == 0)
        warp_sums[threadIdx.x / 32] = v;
    __syncthreads();
    if (threadIdx.x < 32) {
        v = threadIdx.x < BLOCK / 32 ? warp_sums[threadIdx.x] : 0.0f;
        for (int off = 16; off > 0; off >>= 1)
            v += __shfl_down_sync(0xffffffffu, v, off);
        if (threadIdx.x == 0)
            atomicAdd(total, v);
    }
}

int main(void)
{
    const int n = 100003, B = 256;
    int dev = -1, count = 0;
    cudaDeviceProp prop;
    CHECK(cudaGetDeviceCount(&count));
    CHECK(cudaGetDevice(&dev));
    CHECK(cudaGetDeviceProperties(&prop, dev));
    TAP(count >= 1 && prop.warpSize == 32 && prop.totalGlobalMem > 0 && prop.maxThreadsPerBlock >= B,
        "device %d of %d: %s, %zu MiB, warp %d, %d threads/block", dev, count, prop.name,
        (size_t)(prop.totalGlobalMem >> 20), prop.warpSize, prop.maxThreadsPerBlock);

    float h_c[4] = { 0.5f, -1.0f, 0.25f, 0.125f };
    CHECK(cudaMemcpyToSymbol(coeffs, h_c, sizeof(h_c)));
    float *h_in = (float *)malloc(n * sizeof(float)), *h_out = (float *)malloc(n * sizeof(float));
    for (int i = 0; i < n; i++)
        h_in[i] = (float)((i % 97) - 48) / 17.0f;
    float *d_in = NULL, *d_out = NULL, *d_total = NULL, h_total = 0.0f, ms = -1.0f;
    cudaStream_t s;
    cudaEvent_t e0, e1;
    CHECK(cudaMalloc(&d_in, n * sizeof(float)));
    CHECK(cudaMalloc(&d_out, n * sizeof(float)));
    CHECK(cudaMalloc(&d_total, sizeof(float)));
    CHECK(cudaMemset(d_total, 0, sizeof(float)));
    CHECK(cudaStreamCreate(&s));
    CHECK(cudaEventCreate(&e0));
    CHECK(cudaEventCreate(&e1));
    CHECK(cudaMemcpyAsync(d_in, h_in, n * sizeof(float), cudaMemcpyHostToDevice, s));
    CHECK(cudaEventRecord(e0, s));
    poly_sum<float, B><<<(n + B - 1) / B, B, (B / 32) * sizeof(float), s>>>(d_in, d_out, d_total, n);
    CHECK(cudaGetLastError());
    CHECK(cudaEventRecord(e1, s));
    CHECK(cudaMemcpyAsync(h_out, d_out, n * sizeof(float), cudaMemcpyDeviceToHost, s));
    CHECK(cudaMemcpyAsync(&h_total, d_total, sizeof(float), cudaMemcpyDeviceToHost, s));
    CHECK(cudaStreamSynchronize(s));
    CHECK(cudaEventElapsedTime(&ms, e0, e1));
    TAP(ms >= 0.0f, "kernel time from events: %.3f ms", ms);

    double ref_total = 0.0;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        float x = h_in[i];
        float r = h_c[0] + x * (h_c[1] + x * (h_c[2] + x * h_c[3]));
        ref_total += r;
        if (fabsf(r - h_out[i]) > 1e-5f * (1.0f + fabsf(r)))
            bad++;
    }
    TAP(bad == 0, "template kernel with __constant__ coefficients: %d of %d outputs wrong", bad, n);
    TAP(fabs(h_total - ref_total) <= 1e-4 * fabs(ref_total) + 1e-2,
        "shuffle + shared-memory reduction + atomicAdd: %.3f (CPU %.3f)", h_total, ref_total);

    poly_sum<float, B><<<1, 2048, 0, s>>>(d_in, d_out, d_total, n);
    cudaError_t le = cudaGetLastError();
    TAP(le == cudaErrorInvalidConfiguration, "2048-thread block: %s (%s)", cudaGetErrorName(le),
        cudaGetErrorString(le));
    TAP(cudaGetLastError() == cudaSuccess, "the launch error is not sticky");
    CHECK(cudaStreamDestroy(s));
    CHECK(cudaEventDestroy(e0));
    CHECK(cudaEventDestroy(e1));
    CHECK(cudaFree(d_in));
    CHECK(cudaFree(d_out));
    CHECK(cudaFree(d_total));
    free(h_in);
    free(h_out);
    return tap_done();
}
