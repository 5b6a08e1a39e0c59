/* SPDX-License-Identifier: MIT */
/*
 * test_cuda_compat.cu - what CUDA programs written elsewhere (NVIDIA's
 * cuda-samples among them) need beyond the API tests: kernels whose C++
 * mangled names are far longer than 63 characters, host functions in
 * stream order (cudaStreamAddCallback, cudaLaunchHostFunc), the profiler
 * switches, device printf (its output captured and compared exactly, a full
 * FIFO dropping records), half precision in PTX (f16/f16x2 arithmetic and
 * 16-bit packs, written as inline PTX so both compilers emit the same
 * instructions, against a C reference) and device assert (the message and
 * the sticky cudaErrorAssert).  Built by zk-cuda-cc (clang-14, our headers) and,
 * where nvcc exists, by nvcc -cudart=shared.  Every result is checked
 * against the CPU.
 */
#include <cassert>
#include <cmath>
#include <cstdint>
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

/* ---- half precision ------------------------------------------------------- */

/* f16 <-> double on the host, written out (round to nearest even). */
static double h2d(uint16_t h)
{
    int e = (h >> 10) & 31, f = h & 1023;
    double v = e == 0 ? ldexp(f, -24) : e == 31 ? (f ? NAN : INFINITY) : ldexp(1024 + f, e - 25);
    return (h & 0x8000) ? -v : v;
}

static uint16_t d2h(double d)
{
    uint16_t sign = std::signbit(d) ? 0x8000 : 0;
    int e;
    d = fabs(d);
    if (std::isnan(d))
        return 0x7e00;
    if (std::isinf(d))
        return sign | 0x7c00;
    if (d < ldexp(1.0, -14))
        return sign | (uint16_t)nearbyint(d * 16777216.0);     /* 2^-24 units */
    double s = nearbyint(ldexp(frexp(d, &e), 11));
    if (s == 2048) {
        s = 1024;
        e++;
    }
    if (e - 1 > 15)
        return sign | 0x7c00;
    return sign | (uint16_t)((e - 1 + 15) << 10) | (uint16_t)(s - 1024);
}

static int same_half(uint16_t a, uint16_t b)
{
    int an = (a & 0x7c00) == 0x7c00 && (a & 1023), bn = (b & 0x7c00) == 0x7c00 && (b & 1023);
    return an || bn ? an && bn : a == b;
}

enum { H_ADD, H_SUB, H_MUL, H_FMA, H_MIN, H_MAX, H_NEG, H_ABS, H_LT, H_NOPS };

/* out[i * H_NOPS + op]: packed f16x2 results of a[i], b[i], c[i]; H_LT is
 * setp.lt.f16 on the low halves; the scalar .f16 forms go through the
 * packs and unpacks (mov.b32 {lo, hi}). */
__global__ void half_ops(const unsigned int *a, const unsigned int *b, const unsigned int *c,
                         unsigned int *out, unsigned int *scalar, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    unsigned int x, y, z, *o = out + i * H_NOPS;
    unsigned short lo, hi, s, t;
    if (i >= n)
        return;
    x = a[i];
    y = b[i];
    z = c[i];
    asm("add.f16x2 %0, %1, %2;" : "=r"(o[H_ADD]) : "r"(x), "r"(y));
    asm("sub.f16x2 %0, %1, %2;" : "=r"(o[H_SUB]) : "r"(x), "r"(y));
    asm("mul.f16x2 %0, %1, %2;" : "=r"(o[H_MUL]) : "r"(x), "r"(y));
    asm("fma.rn.f16x2 %0, %1, %2, %3;" : "=r"(o[H_FMA]) : "r"(x), "r"(y), "r"(z));
    asm("min.f16x2 %0, %1, %2;" : "=r"(o[H_MIN]) : "r"(x), "r"(y));
    asm("max.f16x2 %0, %1, %2;" : "=r"(o[H_MAX]) : "r"(x), "r"(y));
    asm("neg.f16x2 %0, %1;" : "=r"(o[H_NEG]) : "r"(x));
    asm("abs.f16x2 %0, %1;" : "=r"(o[H_ABS]) : "r"(x));
    asm("{.reg .pred p; .reg .f16 l, m;\n\t"
        "mov.b32 {l, _}, %1;\n\tmov.b32 {m, _}, %2;\n\t"
        "setp.lt.f16 p, l, m;\n\tselp.u32 %0, 1, 0, p;}" : "=r"(o[H_LT]) : "r"(x), "r"(y));
    /* scalar: (hi(x) * lo(y)) + hi(y), then packed with lo(x) swapped in */
    asm("mov.b32 {%0, %1}, %2;" : "=h"(lo), "=h"(hi) : "r"(x));
    asm("{.reg .b16 u, v;\n\tmov.b32 {u, v}, %2;\n\tmul.f16 %0, %1, u;\n\t"
        "add.f16 %0, %0, v;}" : "=h"(s) : "h"(hi), "r"(y));
    asm("mov.b16 %0, %1;" : "=h"(t) : "h"(lo));
    asm("mov.b32 %0, {%1, %2};" : "=r"(scalar[i]) : "h"(s), "h"(t));
}

static void test_half(void)
{
    const int n = 4096;
    unsigned int *h[3], *out, *sc, *d[5];
    int bad[H_NOPS + 1] = { 0 }, fma_off = 0;
    srand(7);
    for (int k = 0; k < 3; k++) {
        h[k] = (unsigned int *)malloc(n * 4);
        for (int i = 0; i < n; i++) {
            uint16_t v[2];
            for (int j = 0; j < 2; j++) {
                int r = rand() % 16;
                double x = (rand() / (double)RAND_MAX - 0.5) * (r < 8 ? 200.0 : r < 12 ? 2.0 : 1e-3);
                v[j] = r == 15 ? (uint16_t)(rand() & 0x7bff) : r == 14 ? 0x7800 /* 32768 */ : d2h(x);
            }
            h[k][i] = v[0] | (unsigned int)v[1] << 16;
        }
    }
    out = (unsigned int *)malloc(n * 4 * H_NOPS);
    sc = (unsigned int *)malloc(n * 4);
    for (int k = 0; k < 3; k++) {
        cudaMalloc(&d[k], n * 4);
        cudaMemcpy(d[k], h[k], n * 4, cudaMemcpyHostToDevice);
    }
    cudaMalloc(&d[3], n * 4 * H_NOPS);
    cudaMalloc(&d[4], n * 4);
    half_ops<<<n / 128, 128>>>(d[0], d[1], d[2], d[3], d[4], n);
    CHECK(cudaGetLastError());
    CHECK(cudaMemcpy(out, d[3], n * 4 * H_NOPS, cudaMemcpyDeviceToHost));
    cudaMemcpy(sc, d[4], n * 4, cudaMemcpyDeviceToHost);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < 2; j++) {
            uint16_t x = (uint16_t)(h[0][i] >> 16 * j), y = (uint16_t)(h[1][i] >> 16 * j),
                     z = (uint16_t)(h[2][i] >> 16 * j);
            double a = h2d(x), b = h2d(y), c = h2d(z);
            uint16_t want[H_NOPS] = { d2h(a + b), d2h(a - b), d2h(a * b), d2h(fma(a, b, c)),
                                      d2h(fmin(a, b)), d2h(fmax(a, b)),
                                      (uint16_t)(x ^ 0x8000), (uint16_t)(x & 0x7fff), 0 };
            for (int op = 0; op < H_LT; op++) {
                uint16_t got = (uint16_t)(out[i * H_NOPS + op] >> 16 * j);
                if (op == H_FMA && !same_half(got, want[op]) && abs(got - want[op]) == 1) {
                    fma_off++;          /* one ulp: f32 then f16 rounding (docs/ptx.md) */
                    continue;
                }
                bad[op] += !same_half(got, want[op]);
            }
            if (j == 0)
                bad[H_LT] += out[i * H_NOPS + H_LT] != (unsigned int)(a < b);
        }
        uint16_t lo = (uint16_t)h[0][i], hi = (uint16_t)(h[0][i] >> 16);
        uint16_t s = d2h(h2d(d2h(h2d(hi) * h2d((uint16_t)h[1][i]))) + h2d((uint16_t)(h[1][i] >> 16)));
        if (sc[i] != (s | (unsigned int)lo << 16) && bad[H_NOPS] < 4)
            printf("# scalar %d: x %08x y %08x got %08x want %08x\n", i, h[0][i], h[1][i], sc[i],
                   s | (unsigned int)lo << 16);
        bad[H_NOPS] += sc[i] != (s | (unsigned int)lo << 16);
    }
    TAP(!bad[H_ADD] && !bad[H_SUB] && !bad[H_MUL], "add/sub/mul.f16x2 correctly rounded: "
        "%d/%d/%d of %d wrong", bad[H_ADD], bad[H_SUB], bad[H_MUL], 2 * n);
    TAP(!bad[H_FMA], "fma.rn.f16x2 within one ulp (%d exact misses of %d, %d off by one)",
        bad[H_FMA], 2 * n, fma_off);
    TAP(!bad[H_MIN] && !bad[H_MAX] && !bad[H_NEG] && !bad[H_ABS],
        "min/max/neg/abs.f16x2: %d/%d/%d/%d wrong", bad[H_MIN], bad[H_MAX], bad[H_NEG],
        bad[H_ABS]);
    TAP(!bad[H_LT], "setp.lt.f16: %d wrong", bad[H_LT]);
    TAP(!bad[H_NOPS], "scalar mul/add.f16 through mov.b32 packs and unpacks: %d wrong",
        bad[H_NOPS]);
    for (int k = 0; k < 5; k++)
        cudaFree(d[k]);
    for (int k = 0; k < 3; k++)
        free(h[k]);
    free(out);
    free(sc);
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
    test_half();
    test_printf();
    test_assert();              /* last: the context is unusable after it */
    return tap_done();
}
