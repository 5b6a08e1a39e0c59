/* SPDX-License-Identifier: MIT */
/*
 * test_cuda_compat.cu - what CUDA programs written elsewhere (NVIDIA's
 * cuda-samples among them) need beyond the API tests: kernels whose C++
 * mangled names are far longer than 63 characters, host functions in
 * stream order (cudaStreamAddCallback, cudaLaunchHostFunc) and the
 * profiler switches.  Built by zk-cuda-cc (clang-14, our headers) and,
 * where nvcc exists, by nvcc -cudart=shared.  Every result is checked
 * against the CPU.
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cuda_profiler_api.h>
#include <cuda_runtime.h>

#include "cuda_tap.h"

#define CHECK(x) TAP((x) == cudaSuccess, "%s", #x)

/* Two instantiations whose mangled names (~150 characters) differ only near
 * their end: a lookup by a 63-character prefix would run the wrong one. */
namespace zk_compat_tests_a_namespace_with_quite_a_long_name {
template <typename T, int A, int B> struct shape_tag_with_a_long_name {};

template <typename T, int MUL, typename Tag>
__global__ void scale_by_template_constant_kernel_with_long_name(T *out, const T *in, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        out[i] = in[i] * (T)MUL;
}
}  // namespace
namespace ns = zk_compat_tests_a_namespace_with_quite_a_long_name;

static void test_long_names(void)
{
    const int n = 1000;
    int *h = (int *)malloc(n * sizeof(int)), *r2 = (int *)malloc(n * sizeof(int)),
        *r3 = (int *)malloc(n * sizeof(int));
    int *din, *dout2, *dout3, bad = 0;
    for (int i = 0; i < n; i++)
        h[i] = i * 7 - 300;
    CHECK(cudaMalloc(&din, n * sizeof(int)));
    CHECK(cudaMalloc(&dout2, n * sizeof(int)));
    CHECK(cudaMalloc(&dout3, n * sizeof(int)));
    cudaMemcpy(din, h, n * sizeof(int), cudaMemcpyHostToDevice);
    ns::scale_by_template_constant_kernel_with_long_name<int, 2, ns::shape_tag_with_a_long_name<int, 7, 8> >
        <<<(n + 127) / 128, 128>>>(dout2, din, n);
    ns::scale_by_template_constant_kernel_with_long_name<int, 3, ns::shape_tag_with_a_long_name<int, 7, 9> >
        <<<(n + 127) / 128, 128>>>(dout3, din, n);
    CHECK(cudaGetLastError());
    cudaMemcpy(r2, dout2, n * sizeof(int), cudaMemcpyDeviceToHost);
    cudaMemcpy(r3, dout3, n * sizeof(int), cudaMemcpyDeviceToHost);
    for (int i = 0; i < n; i++)
        bad += r2[i] != 2 * h[i] || r3[i] != 3 * h[i];
    TAP(bad == 0, "two template kernels with ~150-character mangled names: %d wrong", bad);
    cudaFree(din);
    cudaFree(dout2);
    cudaFree(dout3);
    free(h);
    free(r2);
    free(r3);
}

__global__ void add_one(int *p, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        p[i] += 1;
}

static int order[8], norder, seen_value = -1;
static cudaError_t seen_status = cudaErrorUnknown;
static int *host_copy;

static void CUDART_CB first_callback(cudaStream_t, cudaError_t status, void *user)
{
    seen_status = status;
    seen_value = host_copy[*(int *)user];       /* the async copy before it is done */
    order[norder++] = 1;
}

static void CUDART_CB second_host_fn(void *user)
{
    order[norder++] = *(int *)user;
}

static void test_callbacks(void)
{
    const int n = 4096;
    int *d, idx = n - 1, two = 2, four = 4;
    cudaStream_t s;
    CHECK(cudaProfilerStart());
    CHECK(cudaStreamCreate(&s));
    CHECK(cudaMallocHost(&host_copy, n * sizeof(int)));
    CHECK(cudaMalloc(&d, n * sizeof(int)));
    cudaMemsetAsync(d, 0, n * sizeof(int), s);
    for (int k = 0; k < 3; k++)
        add_one<<<n / 256, 256, 0, s>>>(d, n);
    cudaMemcpyAsync(host_copy, d, n * sizeof(int), cudaMemcpyDeviceToHost, s);
    CHECK(cudaStreamAddCallback(s, first_callback, &idx, 0));
    CHECK(cudaLaunchHostFunc(s, second_host_fn, &two));
    add_one<<<n / 256, 256, 0, s>>>(d, n);
    cudaMemcpyAsync(host_copy, d, n * sizeof(int), cudaMemcpyDeviceToHost, s);
    CHECK(cudaLaunchHostFunc(s, second_host_fn, &four));
    CHECK(cudaStreamSynchronize(s));
    TAP(norder == 3 && order[0] == 1 && order[1] == 2 && order[2] == 4,
        "host functions ran once each, in stream order (%d: %d %d %d)", norder, order[0],
        order[1], order[2]);
    TAP(seen_status == cudaSuccess && seen_value == 3,
        "the callback saw the stream's earlier work done (status %d, value %d, want 3)",
        (int)seen_status, seen_value);
    TAP(host_copy[0] == 4 && host_copy[n - 1] == 4, "work after the callbacks ran (%d)",
        host_copy[0]);
    TAP(cudaStreamAddCallback(s, NULL, NULL, 0) == cudaErrorInvalidValue,
        "a NULL callback is cudaErrorInvalidValue");
    cudaGetLastError();
    CHECK(cudaProfilerStop());
    cudaFree(d);
    cudaFreeHost(host_copy);
    cudaStreamDestroy(s);
}

int main(void)
{
    test_long_names();
    test_callbacks();
    return tap_done();
}
