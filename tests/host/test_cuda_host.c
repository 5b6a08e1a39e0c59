/* SPDX-License-Identifier: MIT */
/*
 * test_cuda_host.c - libcuda and libcudart (runtime/cuda) against the fake
 * driver (zk_fake_ioctl.c), under ASan/UBSan: CUresult/cudaError_t codes,
 * the context stack and primary contexts, 16-bit fills at every alignment,
 * kernel parameter packing (kernelParams, extra, cudaSetupArgument) checked
 * byte for byte in the launch the fake records, fat binary registration,
 * symbols, and the bounds on everything a program hands in.  TAP.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cuda.h"
#include "cuda_runtime_api.h"
#include "cudart_internal.h"
#include "zk_fake_ioctl.h"

static int n_tests, n_failed;
#define CHECK(cond, ...) do { int ok_ = !!(cond); n_tests++; if (!ok_) n_failed++; \
    printf("%sok %d - ", ok_ ? "" : "not ", n_tests); printf(__VA_ARGS__); printf("\n"); } while (0)
#define CU(call, want) CHECK((call) == (want), "%s -> %d", #call, (int)(want))

static const char ptx[] =
    ".version 6.4\n.target sm_70\n.address_size 64\n"
    ".visible .global .align 4 .u32 counter = 7;\n"
    ".visible .entry vadd(.param .u64 a, .param .u32 n, .param .u64 b)\n{\n"
    "\t.reg .pred %p<2>;\n\t.reg .b32 %r<4>;\n\t.reg .b64 %rd<4>;\n"
    "\tld.param.u32 %r1, [n];\n\tmov.u32 %r2, %tid.x;\n"
    "\tsetp.ge.u32 %p1, %r2, %r1;\n\t@%p1 bra DONE;\n"
    "\tld.param.u64 %rd1, [a];\n\tmul.wide.u32 %rd2, %r2, 4;\n"
    "\tadd.s64 %rd3, %rd1, %rd2;\n\tst.global.u32 [%rd3], %r2;\n"
    "DONE:\n\tret;\n}\n";

/* What clang/nvcc emit: a fat binary wrapper, a host stub, a shadow variable. */
static struct {
    uint32_t magic, version;
    const void *data;
    void *filename;
} wrapper = { 0x466243B1u, 1, ptx, NULL };
static void host_stub(void) {}
static int host_counter;

/* The launch the fake saw: parameter bytes [8..12) are n, [16..24) b. */
static int launched(uint64_t a, uint32_t n, uint64_t b)
{
    uint32_t got_n;
    memcpy(&got_n, (const uint8_t *)fake.last_args + 8, 4);
    return fake.last_launch.args_size == 24 && fake.last_args[0] == a && got_n == n &&
           fake.last_args[2] == b;
}

static void test_driver(void)
{
    CUdevice dev;
    CUcontext c1, c2, cur, prim;
    CUdeviceptr d, base;
    CUmodule m;
    CUfunction f;
    int n = -1, v = 0, active = -1;
    unsigned int flags, mt = 0;
    size_t size = 0;
    const char *s;
    uint16_t h16[64];
    uint8_t h8[200];

    CU(cuDeviceGetCount(&n), CUDA_ERROR_NOT_INITIALIZED);
    CU(cuInit(2), CUDA_ERROR_INVALID_VALUE);
    CU(cuInit(0), CUDA_SUCCESS);
    CU(cuDeviceGetCount(&n), CUDA_SUCCESS);
    CHECK(n == fake.ndev, "device count %d", n);
    CU(cuDeviceGet(&dev, n), CUDA_ERROR_INVALID_DEVICE);
    CU(cuDeviceGet(&dev, -1), CUDA_ERROR_INVALID_DEVICE);
    CU(cuDeviceGet(&dev, 0), CUDA_SUCCESS);
    CU(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_WARP_SIZE, dev), CUDA_SUCCESS);
    CU(cuDeviceGetAttribute(&v, (CUdevice_attribute)-5, dev), CUDA_ERROR_INVALID_VALUE);
    CU(cuDeviceGetName(NULL, 10, dev), CUDA_ERROR_INVALID_VALUE);
    CU(cuGetErrorName((CUresult)12345, &s), CUDA_ERROR_INVALID_VALUE);
    CU(cuGetErrorString(CUDA_ERROR_NOT_READY, &s), CUDA_SUCCESS);
    CU(cuMemAlloc(&d, 64), CUDA_ERROR_INVALID_CONTEXT);

    /* Context stack. */
    CU(cuCtxCreate(&c1, 0, dev), CUDA_SUCCESS);
    CU(cuCtxCreate(&c2, 0xff, dev), CUDA_ERROR_INVALID_VALUE);
    CU(cuCtxCreate(&c2, CU_CTX_SCHED_YIELD, dev), CUDA_SUCCESS);
    CU(cuCtxPopCurrent(&cur), CUDA_SUCCESS);
    CHECK(cur == c2, "pop returns the pushed context");
    CU(cuCtxGetCurrent(&cur), CUDA_SUCCESS);
    CHECK(cur == c1, "c1 current after pop");
    CU(cuCtxDestroy(c2), CUDA_SUCCESS);
    CU(cuCtxPushCurrent(c2), CUDA_ERROR_INVALID_HANDLE);
    CU(cuCtxSetCurrent(c2), CUDA_ERROR_INVALID_CONTEXT);
    CU(cuDevicePrimaryCtxRetain(&prim, dev), CUDA_SUCCESS);
    CU(cuDevicePrimaryCtxGetState(dev, &flags, &active), CUDA_SUCCESS);
    CHECK(active == 1, "primary active");
    CU(cuCtxDestroy(prim), CUDA_ERROR_INVALID_CONTEXT);
    CU(cuDevicePrimaryCtxRelease(dev), CUDA_SUCCESS);
    CU(cuDevicePrimaryCtxRelease(dev), CUDA_ERROR_INVALID_CONTEXT);

    /* 16-bit fills: every start alignment and odd counts. */
    CU(cuMemAlloc(&d, 200), CUDA_SUCCESS);
    for (unsigned int off = 0; off < 8; off += 2) {
        for (unsigned int cnt = 0; cnt < 7; cnt++) {
            int ok = 1;
            memset(h8, 0x11, sizeof(h8));
            cuMemcpyHtoD(d, h8, sizeof(h8));
            ok &= cuMemsetD16(d + off, 0xa5b6, cnt) == CUDA_SUCCESS;
            ok &= cuMemcpyDtoH(h8, d, sizeof(h8)) == CUDA_SUCCESS;
            for (unsigned int i = 0; i < sizeof(h8); i++) {
                int in = i >= off && i < off + 2 * cnt;
                uint8_t want = in ? ((i - off) & 1 ? 0xa5 : 0xb6) : 0x11;
                ok &= h8[i] == want;
            }
            CHECK(ok, "cuMemsetD16 at +%u, %u values", off, cnt);
        }
    }
    CU(cuMemsetD16(d + 1, 0, 4), CUDA_ERROR_INVALID_VALUE);
    CU(cuMemsetD32(d + 2, 0, 4), CUDA_ERROR_INVALID_VALUE);
    CU(cuMemsetD16Async(d + 4, 0x1234, 5, NULL), CUDA_SUCCESS);
    CU(cuMemcpyDtoH(h16, d + 4, 10), CUDA_SUCCESS);
    CHECK(h16[0] == 0x1234 && h16[4] == 0x1234, "cuMemsetD16Async");
    CU(cuMemsetD8(d + 190, 0x7f, 20), CUDA_ERROR_INVALID_VALUE);   /* past the end */
    CU(cuPointerGetAttribute(&mt, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, d + 7), CUDA_SUCCESS);
    CHECK(mt == CU_MEMORYTYPE_DEVICE, "device memory type");
    CU(cuPointerGetAttribute(&base, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, d + 7), CUDA_SUCCESS);
    CU(cuPointerGetAttribute(&size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, d + 7), CUDA_SUCCESS);
    CHECK(base == d && size == 200, "range %#llx + %zu", (unsigned long long)base, size);
    CU(cuPointerGetAttribute(&mt, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, 0x10), CUDA_ERROR_INVALID_VALUE);
    CU(cuPointerGetAttribute(&mt, (CUpointer_attribute)77, d), CUDA_ERROR_INVALID_VALUE);
    static char reg[4096];
    CU(cuMemHostRegister(reg, sizeof(reg), CU_MEMHOSTREGISTER_DEVICEMAP), CUDA_ERROR_NOT_SUPPORTED);
    CU(cuMemHostRegister(reg, sizeof(reg), 0), CUDA_SUCCESS);
    CU(cuMemHostRegister(reg + 4000, 200, 0), CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED);
    CU(cuMemHostUnregister(reg + 1), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED);
    CU(cuMemHostUnregister(reg), CUDA_SUCCESS);

    /* Modules and launches: parameters packed by the .entry layout. */
    CU(cuModuleLoadData(&m, ptx), CUDA_SUCCESS);
    CU(cuModuleGetFunction(&f, m, "nope"), CUDA_ERROR_NOT_FOUND);
    CU(cuModuleGetFunction(&f, m, "vadd"), CUDA_SUCCESS);
    CU(cuModuleGetGlobal(&base, &size, m, "counter"), CUDA_SUCCESS);
    CU(cuMemcpyDtoH(&v, base, 4), CUDA_SUCCESS);
    CHECK(v == 7 && size == 4, "global initialised to %d", v);
    CU(cuMemsetD32(base, 9, 1), CUDA_SUCCESS);
    CU(cuMemFree(base), CUDA_ERROR_INVALID_VALUE);                 /* not an allocation */
    uint64_t pa = d;
    uint32_t pn = 33;
    uint64_t pb = d + 64;
    void *params[] = { &pa, &pn, &pb };
    CU(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, NULL, params, NULL), CUDA_SUCCESS);
    CU(cuCtxSynchronize(), CUDA_SUCCESS);
    CHECK(launched(d, 33, d + 64) && fake.last_launch.block[0] == 32, "kernelParams packed");
    struct {
        uint64_t a;
        uint32_t n, pad;
        uint64_t b;
    } buf = { d + 8, 5, 0, d + 16 };
    size_t bsz = sizeof(buf), small = 16;
    void *extra[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, &buf, CU_LAUNCH_PARAM_BUFFER_SIZE, &bsz,
                      CU_LAUNCH_PARAM_END };
    void *extra_small[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, &buf, CU_LAUNCH_PARAM_BUFFER_SIZE, &small,
                            CU_LAUNCH_PARAM_END };
    void *extra_bad[] = { (void *)(uintptr_t)9, &buf, CU_LAUNCH_PARAM_END };
    CU(cuLaunchKernel(f, 2, 1, 1, 64, 1, 1, 0, NULL, NULL, extra), CUDA_SUCCESS);
    CU(cuCtxSynchronize(), CUDA_SUCCESS);
    CHECK(launched(d + 8, 5, d + 16), "extra buffer passed through");
    CU(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, NULL, NULL, extra_small), CUDA_ERROR_INVALID_VALUE);
    CU(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, NULL, NULL, extra_bad), CUDA_ERROR_INVALID_VALUE);
    CU(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, NULL, params, extra), CUDA_ERROR_INVALID_VALUE);
    CU(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 0, NULL, NULL, NULL), CUDA_ERROR_INVALID_VALUE);
    CU(cuLaunchKernel(f, 1, 1, 1, 1025, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE);
    CU(cuLaunchKernel(f, 1, 70000, 1, 32, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE);
    CU(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 200u << 10, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE);
    CU(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_NUM_REGS, f), CUDA_SUCCESS);
    CU(cuFuncGetAttribute(&v, (CUfunction_attribute)99, f), CUDA_ERROR_INVALID_VALUE);
    CU(cuModuleLoadData(&m, ".version 6.4\n.target sm_70\n.address_size 64\n"
                            ".visible .entry k()\n{\n\tfrobnicate.u32 %r1;\n}\n"), CUDA_ERROR_INVALID_PTX);
    CU(cuModuleUnload(m), CUDA_SUCCESS);
    CU(cuMemFree(d), CUDA_SUCCESS);
    CU(cuCtxDestroy(c1), CUDA_SUCCESS);
}

static void test_runtime(void)
{
    void **h;
    float *d = NULL;
    int v = 0;
    dim3 g = { 1, 1, 1 }, b = { 64, 1, 1 }, gp, bp;
    size_t shm;
    cudaStream_t st;
    cudaKernel_t k;
    uint64_t a64;
    uint32_t n32 = 17;

    h = __cudaRegisterFatBinary(&wrapper);
    CHECK(h != NULL, "__cudaRegisterFatBinary");
    __cudaRegisterFunction(h, (const char *)host_stub, (char *)"vadd", "vadd", -1, NULL, NULL, NULL,
                           NULL, NULL);
    __cudaRegisterVar(h, (char *)&host_counter, (char *)"counter", "counter", 0, 4, 0, 0);
    __cudaRegisterFatBinaryEnd(h);
    CHECK(cudaMalloc((void **)&d, 256) == cudaSuccess && d, "cudaMalloc on the primary context");
    a64 = (uint64_t)(uintptr_t)d;
    void *args[] = { &a64, &n32, &a64 };
    CHECK(cudaLaunchKernel((const void *)host_stub, g, b, args, 0, NULL) == cudaSuccess &&
              cudaDeviceSynchronize() == cudaSuccess && launched(a64, 17, a64),
          "cudaLaunchKernel packs void *args[] by the .entry");
    CHECK(cudaMemcpyFromSymbol(&v, &host_counter, 4, 0, cudaMemcpyDeviceToHost) == cudaSuccess && v == 7,
          "cudaMemcpyFromSymbol: %d", v);
    v = 42;
    CHECK(cudaMemcpyToSymbol(&host_counter, &v, 4, 0, cudaMemcpyHostToDevice) == cudaSuccess &&
              cudaMemcpyFromSymbol(&v, &host_counter, 4, 0, cudaMemcpyDeviceToHost) == cudaSuccess &&
              v == 42, "cudaMemcpyToSymbol");
    CHECK(cudaMemcpyToSymbol(&host_counter, &v, 4, 2, cudaMemcpyHostToDevice) == cudaErrorInvalidValue,
          "symbol copy past its end -> cudaErrorInvalidValue");
    CHECK(cudaMemcpyToSymbol(&v, &v, 4, 0, cudaMemcpyHostToDevice) == cudaErrorInvalidSymbol,
          "unregistered symbol -> cudaErrorInvalidSymbol");
    /* nvcc 13's pair. */
    CHECK(__cudaGetKernel(&k, (const void *)host_stub) == cudaSuccess &&
              __cudaLaunchKernel(k, g, b, args, 0, NULL) == cudaSuccess, "__cudaGetKernel + __cudaLaunchKernel");
    /* <<<>>> configuration stack. */
    CHECK(__cudaPopCallConfiguration(&gp, &bp, &shm, &st) == cudaErrorMissingConfiguration,
          "pop without push -> cudaErrorMissingConfiguration");
    CHECK(__cudaPushCallConfiguration(g, b, 16, NULL) == 0 &&
              __cudaPopCallConfiguration(&gp, &bp, &shm, &st) == cudaSuccess && bp.x == 64 && shm == 16,
          "push/pop configuration");
    /* Legacy sequence: arguments at the offsets the compiler computed. */
    CHECK(cudaConfigureCall(g, b, 0, NULL) == cudaSuccess && cudaSetupArgument(&a64, 8, 0) == cudaSuccess &&
              cudaSetupArgument(&n32, 4, 8) == cudaSuccess && cudaSetupArgument(&a64, 8, 16) == cudaSuccess &&
              cudaLaunch((const void *)host_stub) == cudaSuccess && cudaDeviceSynchronize() == cudaSuccess &&
              launched(a64, 17, a64), "cudaConfigureCall/SetupArgument/Launch");
    CHECK(cudaConfigureCall(g, b, 0, NULL) == cudaSuccess &&
              cudaSetupArgument(&a64, 8, 4090) == cudaErrorInvalidValue &&
              cudaLaunch((const void *)host_stub) == cudaErrorInvalidValue,
          "argument past the 4 KiB parameter space refused");
    CHECK(cudaSetupArgument(&a64, (size_t)-1, 8) == cudaErrorInvalidValue, "size overflow refused");
    cudaGetLastError();
    CHECK(cudaLaunch((const void *)host_stub) == cudaErrorMissingConfiguration, "cudaLaunch unconfigured");
    CHECK(cudaLaunchKernel((const void *)test_runtime, g, b, args, 0, NULL) == cudaErrorInvalidDeviceFunction,
          "unregistered function -> cudaErrorInvalidDeviceFunction");
    CHECK(cudaLaunchKernel((const void *)host_stub, g, (dim3){ 2048, 1, 1 }, args, 0, NULL) ==
              cudaErrorInvalidConfiguration && cudaGetLastError() == cudaErrorInvalidConfiguration &&
              cudaGetLastError() == cudaSuccess, "2048 threads -> cudaErrorInvalidConfiguration, last error");
    CHECK(cudaMemcpy(d, d, 4, (enum cudaMemcpyKind)9) == cudaErrorInvalidMemcpyDirection, "bad kind");
    CHECK(cudaMemcpy((void *)0x40, d, 4, cudaMemcpyDeviceToDevice) == cudaErrorInvalidValue, "bad pointer");
    CHECK(cudaFree((void *)0x40) == cudaErrorInvalidValue && cudaFree(NULL) == cudaSuccess, "cudaFree");
    CHECK(!strcmp(cudaGetErrorName(cudaErrorMissingConfiguration), "cudaErrorMissingConfiguration") &&
              !strcmp(cudaGetErrorName((cudaError_t)4242), "cudaErrorUnknown"), "cudaGetErrorName");
    /* A driver-API context the runtime used, destroyed and replaced (its
     * address may come back): the runtime must load the module afresh. */
    for (int i = 0; i < 3; i++) {
        CUcontext c = NULL, prev = NULL;
        CUdevice dev0;
        unsigned long long id1 = 0, id2 = 0;
        int ok = cuDeviceGet(&dev0, 0) == CUDA_SUCCESS && cuCtxCreate(&c, 0, dev0) == CUDA_SUCCESS;
        ok = ok && cuCtxGetId(c, &id1) == CUDA_SUCCESS && cuCtxGetId(NULL, &id2) == CUDA_SUCCESS && id1 == id2;
        ok = ok && cudaMemcpyFromSymbol(&v, &host_counter, 4, 0, cudaMemcpyDeviceToHost) == cudaSuccess && v == 7;
        ok = ok && cudaLaunchKernel((const void *)host_stub, g, b, args, 0, NULL) == cudaSuccess &&
             cudaDeviceSynchronize() == cudaSuccess;
        ok = ok && cuCtxPopCurrent(&prev) == CUDA_SUCCESS && prev == c && cuCtxDestroy(c) == CUDA_SUCCESS;
        ok = ok && cuCtxGetId(c, &id1) == CUDA_ERROR_INVALID_CONTEXT;
        CHECK(ok, "runtime on a driver-API context, destroyed (round %d)", i);
    }
    /* Reset: a fresh primary context, the module loads again (counter = 7). */
    CHECK(cudaDeviceReset() == cudaSuccess, "cudaDeviceReset");
    CHECK(cudaMemcpyFromSymbol(&v, &host_counter, 4, 0, cudaMemcpyDeviceToHost) == cudaSuccess && v == 7,
          "after reset the module is reloaded: %d", v);
    __cudaUnregisterFatBinary(h);
    CHECK(cudaLaunchKernel((const void *)host_stub, g, b, args, 0, NULL) == cudaErrorInvalidDeviceFunction,
          "unregistered binary's kernel is gone");
    cudaDeviceReset();
}

/* What cuCtxSynchronize printed (stdout to a file meanwhile), malloc'd. */
static char *sync_output(CUresult *r)
{
    char path[] = "/tmp/zk-cuda-host-XXXXXX";
    int fd = mkstemp(path), saved;
    FILE *f;
    char *out;
    long n;
    fflush(stdout);
    saved = dup(1);
    dup2(fd, 1);
    *r = cuCtxSynchronize();
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    f = fdopen(fd, "r");
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    out = calloc(1, (size_t)n + 1);
    if (fread(out, 1, (size_t)n, f) != (size_t)n) {
        out[0] = 0;
    }
    fclose(f);
    unlink(path);
    return out;
}

/*
 * Device printf's host side (cu_printf.c) on records a hostile kernel could
 * write: the FIFO is filled by hand here (the fake driver runs no kernels).
 */
static void test_printf_fifo(void)
{
    static const char pf_ptx[] =
        ".version 6.4\n.target sm_70\n.address_size 64\n"
        ".extern .func (.param .b32 func_retval0) vprintf\n(\n\t.param .b64 vprintf_param_0,"
        "\n\t.param .b64 vprintf_param_1\n)\n;\n"
        ".global .align 1 .b8 fmt[32] = {118, 61, 37, 100, 32, 115, 61, 37, 115, 32, 119, 61, 37, "
        "57, 57, 57, 57, 57, 57, 100, 32, 37, 110, 32, 37, 113, 10, 0};\n"
        ".visible .entry k()\n{\n\tret;\n}\n";
    CUcontext c;
    CUmodule m;
    CUdeviceptr fifo_var, fmt, str, fifo;
    size_t size, lim = 0;
    uint64_t hdr[2];
    uint8_t rec[88];
    uint32_t w;
    char *out, want[600];
    CUresult r;
    int dummy;
    /* CUDA 13 headers' cuCtxCreate: an empty parameter struct is the plain one */
    CU(cuCtxCreate_v4(&c, &(CUctxCreateParams){ .cigParams = &dummy }, 0, 0),
       CUDA_ERROR_NOT_SUPPORTED);
    CU(cuCtxCreate_v4(&c, &(CUctxCreateParams){ 0 }, 0, 0), CUDA_SUCCESS);
    CU(cuCtxSetLimit(CU_LIMIT_PRINTF_FIFO_SIZE, 100), CUDA_ERROR_INVALID_VALUE);
    CU(cuCtxSetLimit(CU_LIMIT_PRINTF_FIFO_SIZE, 8192), CUDA_SUCCESS);
    CU(cuModuleLoadData(&m, pf_ptx), CUDA_SUCCESS);
    CU(cuCtxGetLimit(&lim, CU_LIMIT_PRINTF_FIFO_SIZE), CUDA_SUCCESS);
    CHECK(lim == 8192, "FIFO size %zu", lim);
    CU(cuCtxSetLimit(CU_LIMIT_PRINTF_FIFO_SIZE, 4096), CUDA_ERROR_NOT_SUPPORTED);
    CU(cuModuleGetGlobal(&fifo_var, &size, m, "__zk_printf_fifo"), CUDA_SUCCESS);
    CU(cuMemcpyDtoH(&fifo, fifo_var, 8), CUDA_SUCCESS);
    CU(cuMemcpyDtoH(hdr, fifo, sizeof(hdr)), CUDA_SUCCESS);
    CHECK(fifo && hdr[0] == 0 && hdr[1] == 8192, "the module has the context's FIFO");
    CU(cuModuleGetGlobal(&fmt, &size, m, "fmt"), CUDA_SUCCESS);
    CU(cuMemAlloc(&str, 4), CUDA_SUCCESS);
    CU(cuMemcpyHtoD(str, "dev", 4), CUDA_SUCCESS);
    /* record 1: "v=%d s=%s w=%999999d %n %q\n" with 42, str, 7; record 2: a
     * format outside any allocation; record 3: a size past what was written */
    memset(rec, 0, sizeof(rec));
    w = 40;
    memcpy(rec, &w, 4);
    w = 1;
    memcpy(rec + 4, &w, 4);
    memcpy(rec + 8, &fmt, 8);
    w = 42;
    memcpy(rec + 16, &w, 4);
    memcpy(rec + 24, &str, 8);
    w = 7;
    memcpy(rec + 32, &w, 4);
    w = 16;
    memcpy(rec + 40, &w, 4);
    w = 1;
    memcpy(rec + 44, &w, 4);
    memcpy(rec + 48, &(uint64_t){ 0x1234 }, 8);
    w = 0xfffffff8u;
    memcpy(rec + 56, &w, 4);
    /* (async copies: a blocking one is a synchronize point that prints) */
    CU(cuMemcpyHtoDAsync(fifo + 64, rec, sizeof(rec), NULL), CUDA_SUCCESS);
    hdr[0] = 1u << 30;          /* "used": far more than the FIFO holds */
    CU(cuMemcpyHtoDAsync(fifo, hdr, 8, NULL), CUDA_SUCCESS);
    out = sync_output(&r);
    snprintf(want, sizeof(want), "v=42 s=dev w=%512d %%n %%q\n(bad address)", 7);
    CHECK(r == CUDA_SUCCESS && strcmp(out, want) == 0, "hostile records: formatted, bounded, "
          "stopped at a bad size (%zu bytes printed)", strlen(out));
    free(out);
    CU(cuMemcpyDtoH(hdr, fifo, sizeof(hdr)), CUDA_SUCCESS);
    CU(cuMemcpyDtoH(rec, fifo + 64, sizeof(rec)), CUDA_SUCCESS);
    CHECK(hdr[0] == 0 && hdr[1] == 8192 && rec[0] == 0 && rec[40] == 0,
          "an idle synchronize empties the FIFO");
    /* Random bytes everywhere, three times: no crash, no error. */
    srand(3);
    for (int round = 0; round < 3; round++) {
        uint8_t *junk = malloc(8192);
        for (int i = 0; i < 8192; i++) {
            junk[i] = (uint8_t)rand();
        }
        /* a chain of plausible records: printf and assert kinds, the real
         * format or garbage addresses, random arguments */
        for (int i = 0; i + 72 <= 8192;) {
            uint64_t a = rand() % 2 ? fmt : (uint64_t)rand() << 20;
            w = (uint32_t)(16 + 8 * (rand() % 8));
            memcpy(junk + i, &w, 4);
            memcpy(junk + i + 4, &(uint32_t){ (uint32_t)(rand() % 3) }, 4);
            memcpy(junk + i + 8, &a, 8);
            i += (int)w;
        }
        CU(cuMemcpyHtoDAsync(fifo + 64, junk, 8192, NULL), CUDA_SUCCESS);
        hdr[0] = 8192;
        CU(cuMemcpyHtoDAsync(fifo, hdr, 8, NULL), CUDA_SUCCESS);
        out = sync_output(&r);
        CHECK((r == CUDA_SUCCESS || r == CUDA_ERROR_ASSERT) && strlen(out) > 1000,
              "random FIFO contents %d: %zu bytes printed, %d", round, strlen(out), (int)r);
        free(out);
        free(junk);
    }
    CU(cuModuleUnload(m), CUDA_SUCCESS);
    CU(cuCtxDestroy(c), CUDA_SUCCESS);
}

int main(void)
{
    fake_reset();
    test_driver();
    test_runtime();
    test_printf_fifo();
    printf("1..%d\n", n_tests);
    return n_failed ? 1 : 0;
}
