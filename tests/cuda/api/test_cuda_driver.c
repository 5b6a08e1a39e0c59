/* SPDX-License-Identifier: MIT */
/*
 * test_cuda_driver.c - a driver-API program (C, cuda.h only) on zhikai's
 * libcuda.so.1: contexts and the context stack, memory, PTX text and fat
 * binaries from the corpus (/zk/ptx-corpus: clang-14's PTX, nvcc's zstd and
 * uncompressed fat binaries), cuLaunchKernel with kernelParams and with
 * extra, streams/events, pointer attributes and the error codes a CUDA
 * program expects.  Results are checked against the CPU.
 */
#include <cuda.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_tap.h"

#define CORPUS "/zk/ptx-corpus"
#define OK(call) ((call) == CUDA_SUCCESS)
#define IS(call, want) ((call) == (want))

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf) {
        buf[n] = 0;
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* vector_add (tests/cuda/vector_add.cu) from @mod, checked. */
static int run_vadd(CUmodule mod, int use_extra, CUstream s)
{
    enum { N = 3001 };
    float a[N], b[N], c[N];
    CUdeviceptr da, db, dc;
    CUfunction f;
    int n = N, bad = 0;
    for (int i = 0; i < N; i++) {
        a[i] = (float)i;
        b[i] = 1.0f / (float)(i + 1);
    }
    if (!OK(cuModuleGetFunction(&f, mod, "vector_add")) || !OK(cuMemAlloc(&da, sizeof(a))) ||
        !OK(cuMemAlloc(&db, sizeof(b))) || !OK(cuMemAlloc(&dc, sizeof(c)))) {
        return -1;
    }
    cuMemcpyHtoD(da, a, sizeof(a));
    cuMemcpyHtoDAsync(db, b, sizeof(b), s);
    cuMemsetD32Async(dc, 0, N, s);
    if (use_extra) {
        struct {
            CUdeviceptr a, b, c;
            int n;
            int pad;
        } args = { da, db, dc, n, 0 };
        size_t size = 28;       /* the .entry layout: three pointers and an int */
        void *extra[] = { CU_LAUNCH_PARAM_BUFFER_POINTER, &args, CU_LAUNCH_PARAM_BUFFER_SIZE, &size,
                          CU_LAUNCH_PARAM_END };
        if (!OK(cuLaunchKernel(f, (N + 127) / 128, 1, 1, 128, 1, 1, 0, s, NULL, extra))) {
            return -1;
        }
    } else {
        void *params[] = { &da, &db, &dc, &n };
        if (!OK(cuLaunchKernel(f, (N + 127) / 128, 1, 1, 128, 1, 1, 0, s, params, NULL))) {
            return -1;
        }
    }
    if (!OK(cuMemcpyDtoHAsync(c, dc, sizeof(c), s)) || !OK(cuStreamSynchronize(s))) {
        return -1;
    }
    for (int i = 0; i < N; i++) {
        bad += c[i] != a[i] + b[i];
    }
    cuMemFree(da);
    cuMemFree(db);
    cuMemFree(dc);
    return bad;
}

static void test_modules(void)
{
    CUmodule m;
    size_t len;
    char *ptx = read_file(CORPUS "/clang/vector_add.ptx", &len);
    char *fb = read_file(CORPUS "/nvcc/vector_add.fatbin", &len);
    char *fbnc = read_file(CORPUS "/nvcc/vector_add.nc.fatbin", &len);
    char *sass = read_file(CORPUS "/nvcc/vector_add.sass.fatbin", &len);
    int bad;

    TAP(ptx && OK(cuModuleLoadData(&m, ptx)), "cuModuleLoadData(clang PTX text)");
    bad = run_vadd(m, 0, NULL);
    TAP(bad == 0, "vector_add via kernelParams: %d wrong", bad);
    bad = run_vadd(m, 1, NULL);
    TAP(bad == 0, "vector_add via extra (BUFFER_POINTER/SIZE): %d wrong", bad);
    TAP(OK(cuModuleUnload(m)), "cuModuleUnload");
    TAP(OK(cuModuleLoad(&m, CORPUS "/clang/vector_add.ptx")) && run_vadd(m, 0, NULL) == 0 &&
            OK(cuModuleUnload(m)), "cuModuleLoad(file) runs vector_add");
    if (fb) {
        TAP(OK(cuModuleLoadFatBinary(&m, fb)) && run_vadd(m, 0, NULL) == 0 && OK(cuModuleUnload(m)),
            "cuModuleLoadFatBinary(nvcc 13, zstd-compressed PTX) runs vector_add");
        TAP(fbnc && OK(cuModuleLoadDataEx(&m, fbnc, 0, NULL, NULL)) && run_vadd(m, 1, NULL) == 0 &&
                OK(cuModuleUnload(m)), "cuModuleLoadDataEx(uncompressed fat binary)");
        TAP(sass && cuModuleLoadData(&m, sass) != CUDA_SUCCESS, "a SASS-only fat binary is refused");
    } else {
        printf("# no nvcc fat binaries in the corpus: skipped\n");
    }
    TAP(IS(cuModuleLoadData(&m, ".version 7.0\n.target sm_70\n.address_size 64\n"
                                ".visible .entry k() { bogus.op r; }\n"), CUDA_ERROR_INVALID_PTX) ||
            IS(cuModuleLoadData(&m, ".version 7.0\n.target sm_70\n.address_size 64\n"
                                    ".visible .entry k() { bogus.op r; }\n"), CUDA_ERROR_INVALID_IMAGE),
        "bad PTX -> CUDA_ERROR_INVALID_PTX/IMAGE");
    TAP(IS(cuModuleLoad(&m, "/nonexistent.ptx"), CUDA_ERROR_FILE_NOT_FOUND), "missing file -> FILE_NOT_FOUND");
    TAP(OK(cuModuleLoadData(&m, ptx)), "reload");
    CUfunction f;
    int v = 0;
    TAP(IS(cuModuleGetFunction(&f, m, "no_such_kernel"), CUDA_ERROR_NOT_FOUND), "unknown kernel -> NOT_FOUND");
    TAP(OK(cuModuleGetFunction(&f, m, "vector_add")) &&
            OK(cuFuncGetAttribute(&v, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, f)) && v == 1024,
        "cuFuncGetAttribute(MAX_THREADS_PER_BLOCK) = %d", v);
    int minGrid = 0, bs = 0;
    TAP(OK(cuOccupancyMaxPotentialBlockSize(&minGrid, &bs, f, NULL, 0, 0)) && bs > 0 && bs <= 1024,
        "cuOccupancyMaxPotentialBlockSize: %d", bs);
    void *params[4] = { 0 };
    TAP(IS(cuLaunchKernel(f, 1, 1, 1, 2048, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE),
        "2048 threads per block -> CUDA_ERROR_INVALID_VALUE");
    TAP(IS(cuLaunchKernel(f, 0, 1, 1, 32, 1, 1, 0, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE),
        "grid 0 -> CUDA_ERROR_INVALID_VALUE");
    TAP(IS(cuLaunchKernel(f, 1, 1, 1, 32, 1, 1, 1u << 20, NULL, params, NULL), CUDA_ERROR_INVALID_VALUE),
        "1 MiB dynamic shared memory -> CUDA_ERROR_INVALID_VALUE");
    cuModuleUnload(m);
    free(ptx);
    free(fb);
    free(fbnc);
    free(sass);
}

static void test_contexts(CUdevice dev)
{
    CUcontext c1, c2, cur, popped, prim, prim2;
    CUdeviceptr p;
    unsigned int flags;
    int active = 0;
    TAP(OK(cuCtxCreate(&c1, 0, dev)) && OK(cuCtxGetCurrent(&cur)) && cur == c1, "cuCtxCreate: current");
    TAP(OK(cuCtxCreate(&c2, 0, dev)) && OK(cuCtxGetCurrent(&cur)) && cur == c2, "second context pushed");
    TAP(OK(cuMemAlloc(&p, 4096)), "cuMemAlloc in c2");
    TAP(OK(cuCtxPopCurrent(&popped)) && popped == c2 && OK(cuCtxGetCurrent(&cur)) && cur == c1,
        "cuCtxPopCurrent: c1 current again");
    TAP(IS(cuMemFree(p), CUDA_ERROR_INVALID_VALUE), "c2's memory is not c1's");
    TAP(OK(cuCtxPushCurrent(c2)) && OK(cuMemFree(p)) && OK(cuCtxPopCurrent(NULL)), "push c2, free, pop");
    TAP(OK(cuCtxDestroy(c2)) && OK(cuCtxGetCurrent(&cur)) && cur == c1, "cuCtxDestroy(c2)");
    TAP(IS(cuCtxPushCurrent(c2), CUDA_ERROR_INVALID_HANDLE) || IS(cuCtxPushCurrent(c2), CUDA_ERROR_INVALID_CONTEXT),
        "pushing a destroyed context fails");
    TAP(OK(cuDevicePrimaryCtxRetain(&prim, dev)) && OK(cuDevicePrimaryCtxRetain(&prim2, dev)) &&
            prim == prim2 && prim != c1, "cuDevicePrimaryCtxRetain: one primary context");
    TAP(OK(cuDevicePrimaryCtxGetState(dev, &flags, &active)) && active, "primary context active");
    TAP(IS(cuCtxDestroy(prim), CUDA_ERROR_INVALID_CONTEXT), "cuCtxDestroy(primary) refused");
    TAP(OK(cuCtxSetCurrent(prim)) && OK(cuCtxGetCurrent(&cur)) && cur == prim, "cuCtxSetCurrent(primary)");
    TAP(OK(cuCtxSetCurrent(c1)) && OK(cuDevicePrimaryCtxRelease(dev)) && OK(cuDevicePrimaryCtxRelease(dev)) &&
            OK(cuDevicePrimaryCtxGetState(dev, &flags, &active)) && !active, "released twice: inactive");
    TAP(IS(cuDevicePrimaryCtxRelease(dev), CUDA_ERROR_INVALID_CONTEXT), "third release fails");
}

static void test_memory(void)
{
    enum { N = 1000 };
    CUdeviceptr d, base;
    uint16_t h16[N];
    uint8_t h8[N];
    size_t fr = 0, tot = 0, size = 0;
    unsigned int mt = 0;
    void *pinned;
    int bad = 0;
    TAP(OK(cuMemGetInfo(&fr, &tot)) && tot > 0 && fr <= tot, "cuMemGetInfo %zu/%zu MiB", fr >> 20, tot >> 20);
    TAP(IS(cuMemAlloc(&d, 0), CUDA_ERROR_INVALID_VALUE), "cuMemAlloc(0) -> INVALID_VALUE");
    TAP(OK(cuMemAlloc(&d, N * 2 + 2)), "cuMemAlloc");
    TAP(OK(cuMemsetD16(d + 2, 0xbeef, N)) && OK(cuMemsetD8(d, 0x11, 2)) && OK(cuMemcpyDtoH(h16, d + 2, sizeof(h16))) &&
            OK(cuMemcpyDtoH(h8, d, 2)), "cuMemsetD16/D8");
    for (int i = 0; i < N; i++) {
        bad += h16[i] != 0xbeef;
    }
    TAP(!bad && h8[0] == 0x11 && h8[1] == 0x11, "D16 fill at a 2-byte offset, D8 fill before it");
    TAP(OK(cuMemsetD8(d, 0x5a, N)) && OK(cuMemcpyDtoH(h8, d, N)) && h8[0] == 0x5a && h8[N - 1] == 0x5a,
        "cuMemsetD8");
    TAP(OK(cuPointerGetAttribute(&mt, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, d + 10)) && mt == CU_MEMORYTYPE_DEVICE &&
            OK(cuPointerGetAttribute(&base, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR, d + 10)) && base == d &&
            OK(cuPointerGetAttribute(&size, CU_POINTER_ATTRIBUTE_RANGE_SIZE, d + 10)) && size >= N * 2 + 2,
        "cuPointerGetAttribute: device, range start and size");
    TAP(OK(cuMemGetAddressRange(&base, &size, d + 5)) && base == d, "cuMemGetAddressRange");
    TAP(OK(cuMemHostAlloc(&pinned, 4096, CU_MEMHOSTALLOC_DEVICEMAP)) &&
            OK(cuPointerGetAttribute(&mt, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, (CUdeviceptr)(uintptr_t)pinned)) &&
            mt == CU_MEMORYTYPE_HOST, "cuMemHostAlloc: host memory type");
    CUdeviceptr hd = 0;
    TAP(OK(cuMemHostGetDevicePointer(&hd, pinned, 0)) && hd != 0 && OK(cuMemcpyDtoD(d, hd, 16)),
        "cuMemHostGetDevicePointer usable by the card");
    TAP(OK(cuMemFreeHost(pinned)), "cuMemFreeHost");
    static char reg[8192];
    TAP(OK(cuMemHostRegister(reg, sizeof(reg), 0)) &&
            IS(cuMemHostRegister(reg + 100, 10, 0), CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED) &&
            OK(cuMemcpyHtoD(d, reg, 100)) && OK(cuMemHostUnregister(reg)) &&
            IS(cuMemHostUnregister(reg), CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED),
        "cuMemHostRegister/Unregister bookkeeping");
    TAP(IS(cuMemcpyHtoD(0x1000, h8, 10), CUDA_ERROR_INVALID_VALUE), "copy to an unallocated address -> INVALID_VALUE");
    TAP(OK(cuMemFree(d)) && IS(cuMemFree(d), CUDA_ERROR_INVALID_VALUE), "double cuMemFree -> INVALID_VALUE");
}

static void test_streams(void)
{
    CUstream s;
    CUevent a, b;
    CUmodule m;
    float ms = -1;
    size_t len;
    char *ptx = read_file(CORPUS "/clang/vector_add.ptx", &len);
    TAP(OK(cuStreamCreate(&s, CU_STREAM_NON_BLOCKING)) && OK(cuEventCreate(&a, 0)) && OK(cuEventCreate(&b, 0)),
        "stream + events");
    TAP(ptx && OK(cuModuleLoadData(&m, ptx)), "module");
    TAP(OK(cuEventRecord(a, s)) && run_vadd(m, 0, s) == 0 && OK(cuEventRecord(b, s)) &&
            OK(cuEventSynchronize(b)) && OK(cuEventQuery(b)), "vector_add on a stream between events");
    TAP(OK(cuEventElapsedTime(&ms, a, b)) && ms >= 0, "cuEventElapsedTime %.3f ms", ms);
    TAP(OK(cuStreamWaitEvent(NULL, b, 0)) && OK(cuStreamSynchronize(CU_STREAM_LEGACY)), "legacy stream waits");
    TAP(OK(cuStreamDestroy(s)) && OK(cuEventDestroy(a)) && OK(cuEventDestroy(b)) && OK(cuModuleUnload(m)), "destroyed");
    free(ptx);
}

int main(void)
{
    CUdevice dev;
    CUcontext ctx;
    int n = 0, v = 0, major = 0, minor = 0, drv = 0;
    char name[128];
    size_t mem = 0;
    const char *s = NULL;
    CUuuid u;

    TAP(IS(cuDeviceGetCount(&n), CUDA_ERROR_NOT_INITIALIZED), "before cuInit -> NOT_INITIALIZED");
    TAP(IS(cuInit(1), CUDA_ERROR_INVALID_VALUE), "cuInit(1) -> INVALID_VALUE");
    if (!OK(cuInit(0))) {
        TAP(0, "cuInit(0)");
        return tap_done();
    }
    TAP(OK(cuDriverGetVersion(&drv)) && drv >= 12000, "cuDriverGetVersion %d", drv);
    TAP(OK(cuDeviceGetCount(&n)) && n >= 1, "cuDeviceGetCount %d", n);
    TAP(IS(cuDeviceGet(&dev, n), CUDA_ERROR_INVALID_DEVICE), "cuDeviceGet(%d) -> INVALID_DEVICE", n);
    TAP(OK(cuDeviceGet(&dev, 0)) && OK(cuDeviceGetName(name, sizeof(name), dev)) && name[0], "device 0: %s", name);
    TAP(OK(cuDeviceTotalMem(&mem, dev)) && mem > 0, "cuDeviceTotalMem %zu MiB", mem >> 20);
    TAP(OK(cuDeviceComputeCapability(&major, &minor, dev)) && major == 7, "compute capability %d.%d", major, minor);
    TAP(OK(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_WARP_SIZE, dev)) && v == 32, "warp size %d", v);
    TAP(OK(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, dev)) && v == 1024, "max threads %d", v);
    TAP(OK(cuDeviceGetAttribute(&v, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev)) && v >= 1,
        "multiprocessors (the card's compute units) %d", v);
    TAP(IS(cuDeviceGetAttribute(&v, (CUdevice_attribute)100000, dev), CUDA_ERROR_INVALID_VALUE), "unknown attribute");
    TAP(OK(cuDeviceGetUuid(&u, dev)), "cuDeviceGetUuid");
    TAP(OK(cuGetErrorName(CUDA_ERROR_ILLEGAL_ADDRESS, &s)) && !strcmp(s, "CUDA_ERROR_ILLEGAL_ADDRESS") &&
            OK(cuGetErrorString(CUDA_ERROR_OUT_OF_MEMORY, &s)) && !strcmp(s, "out of memory"),
        "cuGetErrorName/String");
    TAP(IS(cuMemAlloc((CUdeviceptr *)&mem, 16), CUDA_ERROR_INVALID_CONTEXT), "no context -> INVALID_CONTEXT");
    test_contexts(dev);
    TAP(OK(cuCtxGetCurrent(&ctx)) && ctx, "a context is current");
    test_memory();
    test_modules();
    test_streams();
    TAP(OK(cuCtxSynchronize()) && OK(cuCtxDestroy(ctx)), "cuCtxSynchronize, cuCtxDestroy");
    return tap_done();
}
