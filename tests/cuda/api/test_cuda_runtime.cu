/* SPDX-License-Identifier: MIT */
/*
 * test_cuda_runtime.cu - a plain CUDA runtime-API program (<<<>>> launches)
 * run on zhikai's libcudart/libcuda: built by clang-14 with our headers
 * (both launch sequences) and, where nvcc exists, by nvcc -cudart=shared.
 * Every result is checked against a CPU reference.  The illegal-address
 * case comes last: as in CUDA, it poisons the context.
 */
#include <cuda.h>
#include <cuda_runtime.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_tap.h"

#ifndef ZK_TEST_NAME
#define ZK_TEST_NAME "clang"
#endif

__global__ void vadd(const float *a, const float *b, float *c, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        c[i] = a[i] + b[i];
    }
}

__global__ void saxpy(int n, float a, const float *x, float *y)
{
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        y[i] = a * x[i] + y[i];
    }
}

/* Mixed argument sizes and alignments: packed from the PTX .entry layout. */
__global__ void mixed_args(char c, long long v, short s, unsigned char u, int *out)
{
    out[0] = c + (int)(v >> 32) + s + u;
    out[1] = (int)(v & 0xffffffff);
}

/* Block sum: shared memory, __syncthreads, then warp shuffles. */
__global__ void block_sum(const int *in, int *out)
{
    __shared__ int part[8];
    int t = threadIdx.x;
    int v = in[blockIdx.x * blockDim.x + t];
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_down_sync(0xffffffffu, v, o);
    }
    if ((t & 31) == 0) {
        part[t >> 5] = v;
    }
    __syncthreads();
    if (t == 0) {
        int s = 0;
        for (int w = 0; w < (int)(blockDim.x >> 5); w++) {
            s += part[w];
        }
        out[blockIdx.x] = s;
    }
}

/* Dynamic shared memory: reverse each block's slice. */
__global__ void reverse_block(const float *in, float *out)
{
    extern __shared__ float buf[];
    int t = threadIdx.x, base = blockIdx.x * blockDim.x;
    buf[t] = in[base + t];
    __syncthreads();
    out[base + t] = buf[blockDim.x - 1 - t];
}

__device__ int table[4];

__global__ void use_table(int *out)
{
    int t = threadIdx.x;
    out[t] = table[t & 3] * 10 + t;
    if (t == 0) {
        table[0] = 99;
    }
}

__global__ void scale(float *p, float f, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        p[i] *= f;
    }
}

__global__ void poke(int *p)
{
    p[threadIdx.x] = 1;
}

#define CK(call) ((call) == cudaSuccess)

static void test_device(void)
{
    int n = 0, dev = -1, v = 0, rt = 0;
    struct cudaDeviceProp p;
    TAP(CK(cudaGetDeviceCount(&n)) && n >= 1, "cudaGetDeviceCount: %d", n);
    TAP(CK(cudaSetDevice(0)) && CK(cudaGetDevice(&dev)) && dev == 0, "cudaSetDevice(0)");
    TAP(CK(cudaGetDeviceProperties(&p, 0)) && p.name[0] && p.warpSize == 32 &&
            p.maxThreadsPerBlock == 1024 && p.totalGlobalMem > 0 && p.major == 7,
        "cudaGetDeviceProperties: %s, %zu MiB, cc %d.%d", p.name, p.totalGlobalMem >> 20,
        p.major, p.minor);
    TAP(CK(cudaDeviceGetAttribute(&v, cudaDevAttrMaxBlockDimZ, 0)) && v == 64,
        "cudaDeviceGetAttribute(MaxBlockDimZ) = %d", v);
    TAP(cudaSetDevice(n) == cudaErrorInvalidDevice && cudaGetLastError() == cudaErrorInvalidDevice &&
            cudaGetLastError() == cudaSuccess, "cudaSetDevice(%d) -> cudaErrorInvalidDevice, sets the last error", n);
    TAP(CK(cudaRuntimeGetVersion(&rt)) && rt >= 12000, "cudaRuntimeGetVersion %d", rt);
}

static void test_vadd(void)
{
    const int n = 10007;
    size_t bytes = n * sizeof(float);
    float *a = (float *)malloc(bytes), *b = (float *)malloc(bytes), *c = (float *)malloc(bytes);
    float *da = NULL, *db = NULL, *dc = NULL;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        a[i] = (float)i * 0.5f;
        b[i] = (float)(n - i);
    }
    TAP(CK(cudaMalloc(&da, bytes)) && CK(cudaMalloc(&db, bytes)) && CK(cudaMalloc(&dc, bytes)),
        "cudaMalloc x3");
    TAP(CK(cudaMemcpy(da, a, bytes, cudaMemcpyHostToDevice)) &&
            CK(cudaMemcpy(db, b, bytes, cudaMemcpyDefault)), "cudaMemcpy HtoD (explicit, Default)");
    vadd<<<(n + 255) / 256, 256>>>(da, db, dc, n);
    TAP(CK(cudaGetLastError()), "vadd<<<%d, 256>>> launched", (n + 255) / 256);
    memset(c, 0, bytes);
    TAP(CK(cudaMemcpy(c, dc, bytes, cudaMemcpyDeviceToHost)), "cudaMemcpy DtoH");
    for (int i = 0; i < n; i++) {
        bad += c[i] != a[i] + b[i];
    }
    TAP(!bad, "vadd: %d of %d elements match the CPU", n - bad, n);

    /* saxpy: a float and an int among pointer arguments, grid-stride loop. */
    for (int i = 0; i < n; i++) {
        c[i] = 2.5f * a[i] + b[i];
    }
    saxpy<<<8, 128>>>(n, 2.5f, da, db);
    TAP(CK(cudaMemcpy(b, db, bytes, cudaMemcpyDeviceToHost)), "saxpy result copied back");
    bad = 0;
    for (int i = 0; i < n; i++) {
        bad += b[i] != c[i];
    }
    TAP(!bad, "saxpy<<<8, 128>>>: %d of %d elements match", n - bad, n);

    /* Device to device and memset. */
    TAP(CK(cudaMemcpy(dc, db, bytes, cudaMemcpyDeviceToDevice)) && CK(cudaMemset(da, 0, bytes)) &&
            CK(cudaMemcpy(a, da, bytes, cudaMemcpyDeviceToHost)) &&
            CK(cudaMemcpy(c, dc, bytes, cudaMemcpyDeviceToHost)) && a[n - 1] == 0.0f &&
            !memcmp(b, c, bytes), "cudaMemcpy DtoD and cudaMemset");
    TAP(CK(cudaFree(da)) && CK(cudaFree(db)) && CK(cudaFree(dc)) && CK(cudaFree(NULL)), "cudaFree");
    free(a);
    free(b);
    free(c);
}

static void test_kernels(void)
{
    const int blocks = 16, threads = 256, n = blocks * threads;
    int *in = (int *)malloc(n * sizeof(int)), sums[16], out[2], *din, *dout;
    float *f = (float *)malloc(n * sizeof(float)), *g = (float *)malloc(n * sizeof(float));
    float *dfi, *dfo;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        in[i] = (i * 7919) % 1000 - 500;
        f[i] = (float)i;
    }
    cudaMalloc(&din, n * sizeof(int));
    cudaMalloc(&dout, 64 * sizeof(int));
    cudaMemcpy(din, in, n * sizeof(int), cudaMemcpyHostToDevice);

    mixed_args<<<1, 1>>>((char)-3, 0x0000000700001234ll, (short)300, (unsigned char)200, dout);
    TAP(CK(cudaMemcpy(out, dout, sizeof(out), cudaMemcpyDeviceToHost)) &&
            out[0] == -3 + 7 + 300 + 200 && out[1] == 0x1234,
        "mixed char/long long/short/uchar arguments: %d %#x", out[0], out[1]);

    block_sum<<<blocks, threads>>>(din, dout);
    cudaMemcpy(sums, dout, sizeof(sums), cudaMemcpyDeviceToHost);
    for (int b = 0; b < blocks; b++) {
        int s = 0;
        for (int t = 0; t < threads; t++) {
            s += in[b * threads + t];
        }
        bad += s != sums[b];
    }
    TAP(!bad, "block_sum (shared memory + __shfl_down_sync): %d of %d blocks", blocks - bad, blocks);

    cudaMalloc(&dfi, n * sizeof(float));
    cudaMalloc(&dfo, n * sizeof(float));
    cudaMemcpy(dfi, f, n * sizeof(float), cudaMemcpyHostToDevice);
    reverse_block<<<blocks, threads, threads * sizeof(float)>>>(dfi, dfo);
    cudaMemcpy(g, dfo, n * sizeof(float), cudaMemcpyDeviceToHost);
    bad = 0;
    for (int i = 0; i < n; i++) {
        bad += g[i] != f[(i / threads) * threads + threads - 1 - i % threads];
    }
    TAP(!bad, "reverse_block with %zu bytes of dynamic shared memory", threads * sizeof(float));

    /* __device__ variables: cudaMemcpyToSymbol / FromSymbol. */
    int tab[4] = { 1, 2, 3, 4 }, back[4] = { 0 }, res[32];
    TAP(CK(cudaMemcpyToSymbol(table, tab, sizeof(tab))), "cudaMemcpyToSymbol");
    use_table<<<1, 32>>>(dout);
    cudaMemcpy(res, dout, sizeof(res), cudaMemcpyDeviceToHost);
    bad = 0;
    for (int t = 0; t < 32; t++) {
        bad += res[t] != tab[t & 3] * 10 + t;
    }
    TAP(!bad && CK(cudaMemcpyFromSymbol(back, table, sizeof(back))) && back[0] == 99 && back[3] == 4,
        "kernel reads the symbol, writes table[0] = %d", back[0]);

    /* Occupancy helper and function attributes. */
    int minGrid = 0, bs = 0;
    struct cudaFuncAttributes fa;
    TAP(CK(cudaFuncGetAttributes(&fa, reverse_block)) && fa.maxThreadsPerBlock == 1024,
        "cudaFuncGetAttributes: maxThreadsPerBlock %d, shared %zu", fa.maxThreadsPerBlock,
        fa.sharedSizeBytes);
    TAP(CK(cudaOccupancyMaxPotentialBlockSize(&minGrid, &bs, scale)) && bs > 0 && bs <= 1024 &&
            minGrid > 0, "cudaOccupancyMaxPotentialBlockSize: block %d, grid %d", bs, minGrid);
    scale<<<(n + bs - 1) / bs, bs>>>(dfi, 3.0f, n);
    cudaMemcpy(g, dfi, n * sizeof(float), cudaMemcpyDeviceToHost);
    bad = 0;
    for (int i = 0; i < n; i++) {
        bad += g[i] != f[i] * 3.0f;
    }
    TAP(!bad, "scale<<<%d, %d>>> with the suggested block size", (n + bs - 1) / bs, bs);
    cudaFree(din);
    cudaFree(dout);
    cudaFree(dfi);
    cudaFree(dfo);
    free(in);
    free(f);
    free(g);
}

/* Two streams ordered by an event; pinned memory; elapsed time. */
static void test_streams(void)
{
    const int n = 1 << 16;
    cudaStream_t s1, s2;
    cudaEvent_t e0, e1, e2;
    float *h, *d, ms = -1.0f;
    int bad = 0;
    TAP(CK(cudaStreamCreate(&s1)) && CK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking)),
        "two streams");
    TAP(CK(cudaEventCreate(&e0)) && CK(cudaEventCreate(&e1)) &&
            CK(cudaEventCreateWithFlags(&e2, cudaEventDisableTiming)), "three events");
    TAP(CK(cudaMallocHost(&h, n * sizeof(float))) && CK(cudaMalloc(&d, n * sizeof(float))),
        "cudaMallocHost + cudaMalloc");
    for (int i = 0; i < n; i++) {
        h[i] = (float)(i % 97);
    }
    cudaEventRecord(e0, s1);
    cudaMemcpyAsync(d, h, n * sizeof(float), cudaMemcpyHostToDevice, s1);
    scale<<<n / 256, 256, 0, s1>>>(d, 2.0f, n);
    cudaEventRecord(e1, s1);
    /* s2 must see s1's result: it waits for e1, not for s1 as a whole. */
    TAP(CK(cudaStreamWaitEvent(s2, e1, 0)), "cudaStreamWaitEvent(s2, e1)");
    scale<<<n / 256, 256, 0, s2>>>(d, 0.5f, n);
    scale<<<n / 256, 256, 0, s2>>>(d, 3.0f, n);
    cudaMemcpyAsync(h, d, n * sizeof(float), cudaMemcpyDeviceToHost, s2);
    cudaEventRecord(e2, s2);
    TAP(CK(cudaEventSynchronize(e2)) && CK(cudaEventQuery(e2)), "cudaEventSynchronize(e2)");
    for (int i = 0; i < n; i++) {
        bad += h[i] != (float)(i % 97) * 3.0f;
    }
    TAP(!bad, "s1 (copy, x2) then s2 (x0.5, x3, copy back): %d of %d", n - bad, n);
    TAP(CK(cudaEventElapsedTime(&ms, e0, e1)) && ms >= 0.0f, "cudaEventElapsedTime %.3f ms", ms);
    TAP(cudaEventElapsedTime(&ms, e0, e2) != cudaSuccess, "elapsed time of a no-timing event fails");
    TAP(CK(cudaStreamSynchronize(s1)) && CK(cudaStreamQuery(s1)) && CK(cudaDeviceSynchronize()),
        "stream/device synchronize");
    /* The legacy default stream: ordered after blocking stream s1's work,
     * and s1's later work after it, with no explicit synchronisation. */
    for (int i = 0; i < n; i++) {
        h[i] = (float)(i % 13);
    }
    cudaMemcpy(d, h, n * sizeof(float), cudaMemcpyHostToDevice);
    scale<<<n / 256, 256, 0, s1>>>(d, 2.0f, n);
    scale<<<n / 256, 256>>>(d, 3.0f, n);                 /* default stream */
    cudaMemcpyAsync(h, d, n * sizeof(float), cudaMemcpyDeviceToHost, 0);
    scale<<<n / 256, 256, 0, s1>>>(d, 0.0f, n);          /* after the copy above */
    cudaStreamSynchronize(s1);
    bad = 0;
    for (int i = 0; i < n; i++) {
        bad += h[i] != (float)(i % 13) * 6.0f;
    }
    TAP(!bad, "default stream waits for s1, s1 waits for the default stream: %d of %d", n - bad, n);
    unsigned int fl = 99;
    TAP(cudaStreamQuery(s2) == cudaSuccess, "non-blocking stream s2 idle");
    (void)fl;
    TAP(CK(cudaStreamDestroy(s1)) && CK(cudaStreamDestroy(s2)) && CK(cudaEventDestroy(e0)) &&
            CK(cudaEventDestroy(e1)) && CK(cudaEventDestroy(e2)) && CK(cudaFreeHost(h)) &&
            CK(cudaFree(d)), "streams, events and memory freed");
}

/* The runtime works on the primary context, the driver API sees it. */
static void test_mixing(void)
{
    CUcontext cur = NULL, prim = NULL;
    CUdevice dev;
    CUdeviceptr dp = 0;
    float h[64], *d;
    int bad = 0;
    cudaFree(0);        /* the usual way to initialise the runtime */
    TAP(cuCtxGetCurrent(&cur) == CUDA_SUCCESS && cur != NULL, "driver API sees a current context");
    TAP(cuDeviceGet(&dev, 0) == CUDA_SUCCESS && cuDevicePrimaryCtxRetain(&prim, dev) == CUDA_SUCCESS &&
            prim == cur, "it is device 0's primary context");
    TAP(cuMemAlloc(&dp, sizeof(h)) == CUDA_SUCCESS, "cuMemAlloc in the runtime's context");
    for (int i = 0; i < 64; i++) {
        h[i] = (float)i;
    }
    d = (float *)(uintptr_t)dp;
    cudaMemcpy(d, h, sizeof(h), cudaMemcpyHostToDevice);
    scale<<<1, 64>>>(d, -1.0f, 64);
    TAP(cuMemcpyDtoH(h, dp, sizeof(h)) == CUDA_SUCCESS, "cuMemcpyDtoH after a <<<>>> launch");
    for (int i = 0; i < 64; i++) {
        bad += h[i] != -(float)i;
    }
    TAP(!bad, "runtime kernel on driver-API memory: %d of 64", 64 - bad);
    TAP(cuMemFree(dp) == CUDA_SUCCESS && cuDevicePrimaryCtxRelease(dev) == CUDA_SUCCESS,
        "cuMemFree, primary context released once");
}

/* A second thread: the runtime makes the primary context current there too;
 * its last error is its own. */
static void *thread_body(void *arg)
{
    int *res = (int *)arg;
    float h[128], *d = NULL;
    for (int i = 0; i < 128; i++) {
        h[i] = (float)i;
    }
    res[0] = cudaMalloc(&d, sizeof(h)) == cudaSuccess &&
             cudaMemcpy(d, h, sizeof(h), cudaMemcpyHostToDevice) == cudaSuccess;
    scale<<<1, 128>>>(d, 4.0f, 128);
    res[0] = res[0] && cudaMemcpy(h, d, sizeof(h), cudaMemcpyDeviceToHost) == cudaSuccess &&
             cudaFree(d) == cudaSuccess;
    for (int i = 0; i < 128; i++) {
        res[0] = res[0] && h[i] == 4.0f * (float)i;
    }
    scale<<<1, 4096>>>(d, 1.0f, 1);     /* an error left in this thread only */
    res[1] = cudaPeekAtLastError() == cudaErrorInvalidConfiguration;
    return NULL;
}

static void test_threads(void)
{
    pthread_t t;
    int res[2] = { 0, 0 };
    cudaGetLastError();
    TAP(pthread_create(&t, NULL, thread_body, res) == 0 && pthread_join(t, NULL) == 0 && res[0],
        "a second thread computes on the primary context");
    TAP(res[1] && cudaGetLastError() == cudaSuccess, "its last error stays in that thread");
}

static void test_errors(void)
{
    float *d;
    int *p = NULL;
    cudaMalloc(&d, 1024);
    scale<<<1, 2048>>>(d, 1.0f, 256);
    TAP(cudaGetLastError() == cudaErrorInvalidConfiguration, "2048 threads per block -> cudaErrorInvalidConfiguration");
    TAP(cudaGetLastError() == cudaSuccess, "cudaGetLastError resets the error");
    scale<<<0, 32>>>(d, 1.0f, 256);
    TAP(cudaPeekAtLastError() == cudaErrorInvalidConfiguration &&
            cudaGetLastError() == cudaErrorInvalidConfiguration, "grid 0 -> cudaErrorInvalidConfiguration");
    scale<<<1, dim3(32, 32, 2)>>>(d, 1.0f, 256);
    TAP(cudaGetLastError() == cudaErrorInvalidConfiguration, "block 32x32x2 -> cudaErrorInvalidConfiguration");
    TAP(cudaLaunchKernel((const void *)test_errors, dim3(1), dim3(1), NULL, 0, 0) ==
            cudaErrorInvalidDeviceFunction, "launching a host function -> cudaErrorInvalidDeviceFunction");
    cudaGetLastError();
    TAP(cudaMemcpy((void *)0x1000, d, 16, cudaMemcpyDeviceToDevice) == cudaErrorInvalidValue,
        "cudaMemcpy from/to an unallocated device address -> cudaErrorInvalidValue");
    TAP(cudaFree((void *)0x1000) == cudaErrorInvalidValue, "cudaFree(bad pointer) -> cudaErrorInvalidValue");
    TAP(cudaMemcpy(d, d, 16, (enum cudaMemcpyKind)7) == cudaErrorInvalidMemcpyDirection,
        "bad memcpy kind -> cudaErrorInvalidMemcpyDirection");
    TAP(cudaStreamSynchronize((cudaStream_t)(uintptr_t)0xdead0) != cudaSuccess,
        "synchronizing a bogus stream fails");
    cudaGetLastError();
    TAP(!strcmp(cudaGetErrorName(cudaErrorInvalidValue), "cudaErrorInvalidValue") &&
            !strcmp(cudaGetErrorString(cudaErrorIllegalAddress), "an illegal memory access was encountered"),
        "cudaGetErrorName/String");
    /* Last: a kernel writing through a bad pointer faults on the card. */
    p = (int *)(uintptr_t)0x7ff00000000ull;
    poke<<<1, 32>>>(p);
    cudaError_t e = cudaDeviceSynchronize();
    TAP(e == cudaErrorIllegalAddress, "kernel storing to an unmapped address -> %s", cudaGetErrorName(e));
}

int main(void)
{
    printf("# CUDA runtime API test (%s)\n", ZK_TEST_NAME);
    test_device();
    test_vadd();
    test_kernels();
    test_streams();
    test_mixing();
    test_threads();
    test_errors();
    return tap_done();
}
