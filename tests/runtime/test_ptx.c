/* SPDX-License-Identifier: MIT */
/*
 * test_ptx - in-VM test of the PTX front end (issue 17), TAP: CUDA C kernels
 * of tests/cuda/, compiled to PTX by clang-14 (and nvcc when the build had
 * it), loaded with zk_module_load as PTX text and as nvcc's zstd fat
 * binary, and through the fat binary wrapper of a clang-built CUDA host
 * object (tests/cuda/host/register_vadd.cu, linked in: its constructor calls
 * __cudaRegisterFatBinary below); launched with zk_launch_kernel_ex through
 * the driver onto the card, results checked against C references.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zhikai/zhikai.h>
#include "zk_tap.h"

static const char *corpus = "/zk/ptx-corpus";

/* ---- what a CUDA runtime gets from clang's host code ------------------------------ */
static const void *g_wrapper;
static char g_registered[64];

void **__cudaRegisterFatBinary(void *wrapper);
void __cudaRegisterFunction(void **h, const char *stub, char *devfn, const char *name, int tl,
                            void *tid, void *bid, void *bd, void *gd, int *ws);
void __cudaUnregisterFatBinary(void **h);
int cudaSetupArgument(const void *arg, size_t size, size_t offset);
int cudaLaunch(const void *func);

void **__cudaRegisterFatBinary(void *wrapper)
{
    g_wrapper = wrapper;
    return (void **)&g_wrapper;
}

void __cudaRegisterFunction(void **h, const char *stub, char *devfn, const char *name, int tl,
                            void *tid, void *bid, void *bd, void *gd, int *ws)
{
    (void)h, (void)stub, (void)name, (void)tl, (void)tid, (void)bid, (void)bd, (void)gd, (void)ws;
    snprintf(g_registered, sizeof(g_registered), "%s", devfn);
}

void __cudaUnregisterFatBinary(void **h)
{
    (void)h;
}

int cudaSetupArgument(const void *arg, size_t size, size_t offset)
{
    (void)arg, (void)size, (void)offset;
    return 1;
}

int cudaLaunch(const void *func)
{
    (void)func;
    return 1;
}

/* ---- helpers ------------------------------------------------------------------------ */

static uint32_t rs = 777;
static float frand(float lo, float hi)
{
    rs = rs * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(rs >> 8) / 16777216.0f;
}

static zk_deviceptr upload(const void *p, size_t n)
{
    zk_deviceptr d;
    MUST(zk_mem_alloc(&d, n));
    if (p) {
        MUST(zk_memcpy_htod(d, p, n));
    } else {
        void *z = calloc(1, n);
        MUST(zk_memcpy_htod(d, z, n));
        free(z);
    }
    return d;
}

/* Launch with arguments in .entry order, laid out as the kernel says. */
static zk_status launch(zk_function f, uint32_t gx, uint32_t gy, uint32_t bx, uint32_t by,
                        uint32_t dyn, const uint64_t *args, unsigned int nargs)
{
    uint8_t params[512];
    unsigned int np;
    size_t end = 0;
    uint32_t grid[3] = { gx, gy, 1 }, block[3] = { bx, by, 1 };
    zk_status st = zk_function_get_num_params(f, &np);
    if (st != ZK_SUCCESS || np != nargs) {
        return st ? st : ZK_ERROR_INVALID_VALUE;
    }
    memset(params, 0, sizeof(params));
    for (unsigned int i = 0; i < np; i++) {
        size_t off, sz;
        if ((st = zk_function_get_param(f, i, &off, &sz)) != ZK_SUCCESS || off + sz > 512) {
            return st ? st : ZK_ERROR_INVALID_VALUE;
        }
        memcpy(params + off, &args[i], sz);
        end = off + sz > end ? off + sz : end;
    }
    st = zk_launch_kernel_ex(f, grid, block, dyn, params, end, NULL);
    return st == ZK_SUCCESS ? zk_ctx_synchronize() : st;
}

static int close_enough(const float *got, const float *want, size_t n, float tol)
{
    for (size_t i = 0; i < n; i++) {
        if (!(fabsf(got[i] - want[i]) <= tol * (1.0f + fabsf(want[i])))) {
            printf("#   [%zu] = %.7g, want %.7g\n", i, (double)got[i], (double)want[i]);
            return 0;
        }
    }
    return 1;
}

static int have(const char *path)
{
    return access(path, R_OK) == 0;
}

/* vector_add from any loaded module */
static void check_vadd(zk_module mod, const char *how)
{
    enum { N = 100000 };
    static float a[N], b[N], c[N], want[N];
    zk_function f;
    for (int i = 0; i < N; i++) {
        a[i] = frand(-100, 100);
        b[i] = frand(-100, 100);
        want[i] = a[i] + b[i];
    }
    zk_deviceptr da = upload(a, sizeof(a)), db = upload(b, sizeof(b)), dc = upload(NULL, sizeof(c));
    EXPECT_OK(zk_module_get_function(&f, mod, "vector_add"));
    EXPECT_OK(launch(f, (N + 255) / 256, 1, 256, 1, 0, (uint64_t[]){ da, db, dc, N }, 4));
    MUST(zk_memcpy_dtoh(c, dc, sizeof(c)));
    tap_result(close_enough(c, want, N, 0), "vector_add (%s): 100000 sums match", how);
    zk_mem_free(da);
    zk_mem_free(db);
    zk_mem_free(dc);
}

static void check_sgemm(zk_module mod, const char *how)
{
    enum { M = 70, N = 50, K = 90 };
    static float A[M * K], B[K * N], C[M * N], want[M * N];
    zk_function f;
    for (int i = 0; i < M * K; i++) {
        A[i] = frand(-1, 1);
    }
    for (int i = 0; i < K * N; i++) {
        B[i] = frand(-1, 1);
    }
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) {
                s += (double)A[i * K + k] * B[k * N + j];
            }
            want[i * N + j] = (float)s;
        }
    }
    zk_deviceptr dA = upload(A, sizeof(A)), dB = upload(B, sizeof(B)), dC = upload(NULL, sizeof(C));
    EXPECT_OK(zk_module_get_function(&f, mod, "sgemm_tiled"));
    EXPECT_OK(launch(f, (N + 15) / 16, (M + 15) / 16, 16, 16, 0,
                     (uint64_t[]){ dA, dB, dC, M, N, K }, 6));
    MUST(zk_memcpy_dtoh(C, dC, sizeof(C)));
    tap_result(close_enough(C, want, M * N, 1e-5f), "sgemm_tiled (%s): %dx%dx%d matches", how,
               M, N, K);
    zk_mem_free(dA);
    zk_mem_free(dB);
    zk_mem_free(dC);
}

static void check_attention(zk_module mod, const char *how)
{
    enum { H = 8, KVH = 4, D = 64, L = 300 };
    static float q[H * D], k[L * KVH * D], v[L * KVH * D], out[H * D], want[H * D];
    zk_function f;
    for (int i = 0; i < H * D; i++) {
        q[i] = frand(-1, 1);
    }
    for (int i = 0; i < L * KVH * D; i++) {
        k[i] = frand(-1, 1);
        v[i] = frand(-1, 1);
    }
    for (int h = 0; h < H; h++) {
        int kh = h / (H / KVH);
        static double s[L];
        double mx = -1e300, sum = 0;
        for (int t = 0; t < L; t++) {
            double d = 0;
            for (int e = 0; e < D; e++) {
                d += (double)q[h * D + e] * k[(t * KVH + kh) * D + e];
            }
            s[t] = d / sqrt((double)D);
            mx = fmax(mx, s[t]);
        }
        for (int t = 0; t < L; t++) {
            s[t] = exp(s[t] - mx);
            sum += s[t];
        }
        for (int e = 0; e < D; e++) {
            double acc = 0;
            for (int t = 0; t < L; t++) {
                acc += s[t] * v[(t * KVH + kh) * D + e];
            }
            want[h * D + e] = (float)(acc / sum);
        }
    }
    zk_deviceptr dq = upload(q, sizeof(q)), dk = upload(k, sizeof(k)), dv = upload(v, sizeof(v)),
                 dout = upload(NULL, sizeof(out));
    EXPECT_OK(zk_module_get_function(&f, mod, "attention"));
    EXPECT_OK(launch(f, H, 1, 64, 1, L * 4, (uint64_t[]){ dq, dk, dv, dout, L, H, KVH, D }, 8));
    MUST(zk_memcpy_dtoh(out, dout, sizeof(out)));
    tap_result(close_enough(out, want, H * D, 1e-4f),
               "attention (%s): %d heads over a %d-token KV cache match", how, H, L);
    zk_mem_free(dq);
    zk_mem_free(dk);
    zk_mem_free(dv);
    zk_mem_free(dout);
}

static void check_reduce_atomics(zk_module rw, zk_module at, const char *how)
{
    enum { N = 50000, BS = 256, NB = (N + BS - 1) / BS };
    static float in[N];
    static int ints[N];
    float sums[NB], maxes[NB];
    int pos[NB], bins[64] = { 0 }, wb[64] = { 0 }, maxv = -1, sev = 0, wsev = 0, wmax = -1;
    float total = 0, wtot = 0;
    double wsum_all = 0, got_all = 0;
    zk_function f;
    int ok = 1;
    for (int i = 0; i < N; i++) {
        in[i] = frand(-1, 1);
        wsum_all += in[i];
        ints[i] = (int)(frand(0, 100));
        wb[ints[i] & 63]++;
        wmax = ints[i] > wmax ? ints[i] : wmax;
        wtot += (float)ints[i];
        wsev += ints[i] == 7;
    }
    zk_deviceptr di = upload(in, sizeof(in)), ds = upload(NULL, sizeof(sums)),
                 dm = upload(NULL, sizeof(maxes)), dp = upload(NULL, sizeof(pos));
    EXPECT_OK(zk_module_get_function(&f, rw, "reduce_warp"));
    EXPECT_OK(launch(f, NB, 1, BS, 1, 0, (uint64_t[]){ di, ds, dm, dp, N }, 5));
    MUST(zk_memcpy_dtoh(sums, ds, sizeof(sums)));
    for (int b = 0; b < NB; b++) {
        got_all += sums[b];
    }
    ok = fabs(got_all - wsum_all) < 1e-2;
    tap_result(ok, "reduce_warp (%s): warp-shuffle sum %.4f, want %.4f", how, got_all, wsum_all);
    zk_deviceptr dints = upload(ints, sizeof(ints)), dbins = upload(bins, sizeof(bins)),
                 dmax = upload(&maxv, 4), dtot = upload(&total, 4), dsev = upload(&sev, 4);
    EXPECT_OK(zk_module_get_function(&f, at, "histogram"));
    EXPECT_OK(launch(f, NB, 1, BS, 1, 0, (uint64_t[]){ dints, dbins, dmax, dtot, dsev, N }, 6));
    MUST(zk_memcpy_dtoh(bins, dbins, sizeof(bins)));
    MUST(zk_memcpy_dtoh(&maxv, dmax, 4));
    MUST(zk_memcpy_dtoh(&total, dtot, 4));
    MUST(zk_memcpy_dtoh(&sev, dsev, 4));
    ok = maxv == wmax && sev == wsev && total == wtot;
    for (int b = 0; b < 64; b++) {
        ok &= bins[b] == wb[b];
    }
    tap_result(ok, "histogram (%s): atomics across %d blocks (bins, max %d, sum, CAS count %d)",
               how, NB, maxv, sev);
}

static zk_module load(const char *compiler, const char *name)
{
    char path[256];
    zk_module m = NULL;
    snprintf(path, sizeof(path), "%s/%s/%s.ptx", corpus, compiler, name);
    EXPECT_OK(zk_module_load(&m, path));
    return m;
}

static void run_corpus(const char *compiler)
{
    zk_module va = load(compiler, "vector_add"), sg = load(compiler, "sgemm_tiled"),
              att = load(compiler, "attention"), rw = load(compiler, "reduce_warp"),
              at = load(compiler, "atomics");
    if (!va || !sg || !att || !rw || !at) {
        return;
    }
    check_vadd(va, compiler);
    check_sgemm(sg, compiler);
    check_attention(att, compiler);
    check_reduce_atomics(rw, at, compiler);
    zk_module_unload(va);
    zk_module_unload(sg);
    zk_module_unload(att);
    zk_module_unload(rw);
    zk_module_unload(at);
}

int main(int argc, char **argv)
{
    zk_device dev;
    zk_context ctx;
    zk_module m;
    char path[256];
    if (argc > 1) {
        corpus = argv[1];
    }
    MUST(zk_init(0));
    MUST(zk_device_get(&dev, 0));
    MUST(zk_ctx_create(&ctx, 0, dev));

    run_corpus("clang");

    /* the clang-built host object registered its wrapper before main */
    tap_result(g_wrapper != NULL && strcmp(g_registered, "vector_add") == 0,
               "clang host object registered its fat binary and vector_add");
    if (g_wrapper) {
        EXPECT_OK(zk_module_load_data(&m, g_wrapper, 24));
        check_vadd(m, "clang fat binary wrapper");
        zk_module_unload(m);
    }

    snprintf(path, sizeof(path), "%s/nvcc/vector_add.ptx", corpus);
    if (have(path)) {
        run_corpus("nvcc");
        snprintf(path, sizeof(path), "%s/nvcc/vector_add.fatbin", corpus);
        EXPECT_OK(zk_module_load(&m, path));
        check_vadd(m, "nvcc zstd fat binary");
        zk_module_unload(m);
        snprintf(path, sizeof(path), "%s/nvcc/vector_add.sass.fatbin", corpus);
        EXPECT(zk_module_load(&m, path), ZK_ERROR_INVALID_IMAGE);
        tap_result(strstr(zk_last_error_detail(), "only SASS") != NULL,
                   "SASS-only fat binary refused with a clear message");
    } else {
        printf("ok %d - # SKIP nvcc corpus: nvcc was not on PATH at build time\n", ++tap_n);
    }
    {
        static const char bad[] = ".version 7.0\n.target sm_70\n.address_size 64\n"
                                  ".entry k(.param .u64 p)\n{\n\t.reg .f32 %f<3>;\n"
                                  "\ttex.1d.v4.f32.s32 {%f1, %f2, %f1, %f2}, [t, {%f1}];\n}\n";
        EXPECT(zk_module_load_data(&m, bad, sizeof(bad) - 1), ZK_ERROR_INVALID_IMAGE);
        tap_result(strstr(zk_last_error_detail(), ":7: unsupported PTX 'tex.1d.v4.f32.s32'") !=
                   NULL, "unsupported PTX refused at load with its line");
    }
    MUST(zk_ctx_destroy(ctx));
    return tap_done();
}
