/* SPDX-License-Identifier: MIT */
/*
 * test_cuda_compat.cu - what CUDA programs written elsewhere (NVIDIA's
 * cuda-samples among them) need beyond the API tests: kernels whose C++
 * mangled names are far longer than 63 characters, host functions in
 * stream order (cudaStreamAddCallback, cudaLaunchHostFunc), the profiler
 * switches, device printf (its output captured and compared exactly, a full
 * FIFO dropping records) and device assert (the message and the sticky
 * cudaErrorAssert).  Built by zk-cuda-cc (clang-14, our headers) and,
 * where nvcc exists, by nvcc -cudart=shared.  Every result is checked
 * against the CPU.
 */
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
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

/* ---- device printf and assert -------------------------------------------- */

/* Runs @fn with stdout going to a file; returns what it printed (malloc'd). */
static char *capture(void (*fn)(void *), void *arg)
{
    char path[] = "/tmp/zk-cuda-compat-XXXXXX";
    int fd = mkstemp(path), saved;
    char *out;
    long n;
    FILE *f;
    fflush(stdout);
    saved = dup(1);
    dup2(fd, 1);
    fn(arg);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    f = fdopen(fd, "r");
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    out = (char *)calloc(1, (size_t)n + 1);
    if (fread(out, 1, (size_t)n, f) != (size_t)n)
        out[0] = 0;
    fclose(f);
    unlink(path);
    return out;
}

__global__ void say(int n, double x, const char *s, long long big, unsigned int u)
{
    if (threadIdx.x == 0 && blockIdx.x == 0)
        printf("n=%d x=%.3f e=%e s=%s big=%lld u=%u hex=%#x c=%c 100%% [%5d] [%-4d] [%*d] "
               "[%.2s] [%+d]\n", n, x, x * 1e10, s, big, u, 255, 'Z', 42, 7, 3, 9, "abc", n);
}

__global__ void say_twice(const char *s)
{
    printf("%s from block %d thread %d\n", s ? s : "literal", blockIdx.x, threadIdx.x);
}

__global__ void flood(void)
{
    printf("x\n");
}

static void run_printf(void *arg)
{
    char *dstr = (char *)arg;
    say<<<2, 64>>>(-17, 3.14159, dstr, -1234567890123LL, 4000000000u);
    cudaDeviceSynchronize();
    say_twice<<<1, 1>>>(NULL);
    say_twice<<<dim3(1, 1, 1), 1>>>(dstr);
    cudaDeviceSynchronize();
}

static void run_flood(void *arg)
{
    (void)arg;
    flood<<<16, 256>>>();       /* 4096 records of 16 bytes: only 256 fit */
    cudaDeviceSynchronize();
    flood<<<1, 32>>>();         /* the FIFO was emptied at the synchronize */
    cudaDeviceSynchronize();
}

static void test_printf(void)
{
    char *dstr, *out;
    size_t limit = 0;
    int lines = 0;
    CHECK(cudaDeviceGetLimit(&limit, cudaLimitPrintfFifoSize));
    TAP(limit == 4096, "cudaLimitPrintfFifoSize as set: %zu", limit);
    CHECK(cudaMalloc(&dstr, 16));
    cudaMemcpy(dstr, "device string", 14, cudaMemcpyHostToDevice);
    out = capture(run_printf, dstr);
    const char *want =
        "n=-17 x=3.142 e=3.141590e+10 s=device string big=-1234567890123 u=4000000000 hex=0xff "
        "c=Z 100% [   42] [7   ] [  9] [ab] [-17]\n"
        "literal from block 0 thread 0\n"
        "device string from block 0 thread 0\n";
    TAP(strcmp(out, want) == 0, "device printf output, in order, formatted as on the CPU");
    if (strcmp(out, want) != 0)
        printf("# got:\n%s# want:\n%s", out, want);
    free(out);
    out = capture(run_flood, NULL);
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    TAP(lines == 256 + 32, "a full FIFO drops records (4096 bytes: 256 of 4096 lines) and "
        "is reused after a synchronize: %d lines", lines);
    free(out);
    CHECK(cudaGetLastError());
    cudaFree(dstr);
}

__global__ void assert_kernel(int *out, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    assert(i < n);
    out[i] = i;
}

static cudaError_t assert_sync;

static void run_assert(void *arg)
{
    assert_kernel<<<2, 32>>>((int *)arg, 60);
    assert_sync = cudaDeviceSynchronize();
}

static void test_assert(void)
{
    int *d, x = 0, lines = 0, ok = 1;
    char *out;
    CHECK(cudaMalloc(&d, 64 * sizeof(int)));
    out = capture(run_assert, d);
    TAP(assert_sync == cudaErrorAssert, "a failed device assert: cudaDeviceSynchronize gives "
        "cudaErrorAssert (%d)", (int)assert_sync);
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        char file[256], fn[256], expr[64];
        unsigned int ln, b[3], t[3];
        if (sscanf(line, "%255[^:]:%u: %255[^:]: block [%u,%u,%u], thread [%u,%u,%u] "
                   "Assertion `%63[^`]` failed.", file, &ln, fn, &b[0], &b[1], &b[2], &t[0],
                   &t[1], &t[2], expr) != 10) {
            printf("# unexpected line: %s\n", line);
            ok = 0;
            continue;
        }
        ok &= strstr(file, "test_cuda_compat.cu") && strstr(fn, "assert_kernel") &&
              !strcmp(expr, "i < n") && b[0] == 1 && b[1] == 0 && b[2] == 0 &&
              t[0] == 28 + (unsigned int)lines && t[1] == 0 && t[2] == 0;
        lines++;
    }
    TAP(ok && lines == 4, "the 4 failing threads print file:line: function: block, thread, "
        "Assertion `i < n` failed. (%d lines)", lines);
    free(out);
    TAP(cudaMemcpy(&x, d, 4, cudaMemcpyDeviceToHost) == cudaErrorAssert,
        "the error is sticky: a later cudaMemcpy gives cudaErrorAssert");
    assert_kernel<<<1, 1>>>(d, 60);
    TAP(cudaGetLastError() == cudaErrorAssert, "and a later launch too");
}

int main(void)
{
    /* Before any module with printf is loaded: the FIFO's size. */
    CHECK(cudaDeviceSetLimit(cudaLimitPrintfFifoSize, 4096));
    test_long_names();
    test_callbacks();
    test_printf();
    test_assert();              /* last: the context is unusable after it */
    return tap_done();
}
