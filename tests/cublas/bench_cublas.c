/* SPDX-License-Identifier: MIT */
/*
 * bench_cublas.c - `make bench` (in the VM): what libcublas's layer costs.
 * The same product through cublasSgemm and through libzhikai's own kernel
 * library (gemm.zko, gemm_f32 / gemm_f32_bt): a column-major C = A B is the
 * row-major C^T = B^T A^T, so cublasSgemm(N, N) on row-major buffers does
 * exactly gemm_f32's work, and cublasSgemm(T, N) gemm_f32_bt's; (N, T) adds
 * the transpose pass into scratch.  Also the decode-shaped GEMV.
 *
 * The metric is the card's modelled time (docs/perf-model.md: events'
 * card time), which is what a real card would spend on the work: it is
 * deterministic, unlike wall time on this shared host, where identical work
 * measured 0.5x-2.4x apart from run to run.  Wall time (best of the runs)
 * is printed for information.  One "BENCH {json}" line per case; the two
 * paths' results are compared too.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cublas_v2.h>
#include <zhikai/zhikai.h>

#define CK(x) do { zk_status s_ = (x); if (s_) { fprintf(stderr, "%s: %s\n", #x, zk_last_error_detail()); \
    exit(1); } } while (0)
#define CB(x) do { cublasStatus_t s_ = (x); if (s_) { fprintf(stderr, "%s: %s (%s)\n", #x, zk_last_error_detail(), \
    cublasGetStatusName(s_)); exit(1); } } while (0)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

enum { CALLS = 5 };

struct job {
    cublasHandle_t h;
    zk_function f;
    int which;                  /* 0 cuBLAS, 1 libzhikai */
    cublasOperation_t ta, tb;
    uint64_t a, b, c, m, n, k;  /* row-major C (m x n) = A (m x k) . B (k x n, or n x k) */
};

/* CALLS calls of @j between two events; the card time and wall time. */
static void run(const struct job *j, double *card_us, double *wall_us)
{
    const float one = 1.0f, zero = 0.0f;
    zk_event e0, e1;
    float ms = 0;
    double t0 = now();
    CK(zk_event_create(&e0, 0));
    CK(zk_event_create(&e1, 0));
    CK(zk_event_record(e0, NULL));
    for (int i = 0; i < CALLS; i++) {
        if (j->which == 0) {
            int lda = j->tb == CUBLAS_OP_N ? (int)j->n : (int)j->k;
            CB(cublasSgemm(j->h, j->tb, j->ta, (int)j->n, (int)j->m, (int)j->k, &one,
                           (const float *)(uintptr_t)j->b, lda, (const float *)(uintptr_t)j->a,
                           j->ta == CUBLAS_OP_N ? (int)j->k : (int)j->m, &zero,
                           (float *)(uintptr_t)j->c, (int)j->n));
        } else {
            uint64_t args[6] = { j->a, j->b, j->c, j->m, j->n, j->k };
            uint32_t grid[3] = { j->m * j->n * j->k >= (1u << 25) ? 8 : 1, 1, 1 };
            CK(zk_launch_kernel(j->f, grid, args, 6, NULL));
        }
    }
    CK(zk_event_record(e1, NULL));
    CK(zk_event_synchronize(e1));
    *wall_us = (now() - t0) / CALLS * 1e6;
    CK(zk_event_elapsed_card_time(&ms, e0, e1));
    *card_us = ms * 1e3 / CALLS;
    CK(zk_event_destroy(e0));
    CK(zk_event_destroy(e1));
}

int main(void)
{
    struct { const char *name; uint64_t m, n, k; int bt; } cases[] = {
        { "GEMM 256x256x256 NN", 256, 256, 256, 0 },
        { "GEMM 512x512x512 NN", 512, 512, 512, 0 },
        { "GEMM 512x512x512 weights^T (cuBLAS TN)", 512, 512, 512, 1 },
        { "GEMM 512x512x512 cuBLAS NT (+ transpose)", 512, 512, 512, 2 },
        { "GEMV 1x2048x2048 weights^T (decode)", 1, 2048, 2048, 1 },
    };
    zk_device dev;
    zk_context ctx;
    zk_module mod;
    zk_function f, fbt;
    cublasHandle_t h;
    zk_deviceptr a, b, c1, c2;
    size_t big = 2048 * 2048 * 4;
    float *h1 = malloc(big), *h2 = malloc(big);
    CK(zk_init(0));
    CK(zk_device_get(&dev, 0));
    CK(zk_ctx_create(&ctx, 0, dev));
    CK(zk_module_load(&mod, "gemm.zko"));
    CK(zk_module_get_function(&f, mod, "gemm_f32"));
    CK(zk_module_get_function(&fbt, mod, "gemm_f32_bt"));
    CB(cublasCreate(&h));
    CK(zk_mem_alloc(&a, big));
    CK(zk_mem_alloc(&b, big));
    CK(zk_mem_alloc(&c1, big));
    CK(zk_mem_alloc(&c2, big));
    for (size_t i = 0; i < big / 4; i++) {
        h1[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    }
    CK(zk_memcpy_htod(a, h1, big));
    CK(zk_memcpy_htod(b, h1, big));
    printf("%-44s %12s %12s %8s %12s %12s\n", "libcublas vs libzhikai (card time)", "cuBLAS us", "zk us",
           "ratio", "wall cuBLAS", "wall zk");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* bt 2: cuBLAS gets B^T's storage with transb = T (the transpose
         * pass); libzhikai the plain gemm_f32 on B. */
        struct job jc = { h, NULL, 0, cases[i].bt == 2 ? CUBLAS_OP_T : CUBLAS_OP_N,
                          cases[i].bt == 1 ? CUBLAS_OP_T : CUBLAS_OP_N,
                          a, b, c1, cases[i].m, cases[i].n, cases[i].k };
        struct job jz = jc;
        double tc, tz, wc, wz, err = 0;
        jz.which = 1;
        jz.f = cases[i].bt == 1 ? fbt : f;
        jz.c = c2;
        run(&jc, &tc, &wc);     /* warm-up: scratch allocation, first-use costs */
        run(&jc, &tc, &wc);
        run(&jz, &tz, &wz);
        CK(zk_memcpy_dtoh(h1, c1, cases[i].m * cases[i].n * 4));
        CK(zk_memcpy_dtoh(h2, c2, cases[i].m * cases[i].n * 4));
        for (size_t q = 0; cases[i].bt != 2 && q < cases[i].m * cases[i].n; q++) {
            double d = fabs((double)h1[q] - h2[q]) / (1.0 + fabs(h2[q]));
            err = d > err ? d : err;
        }
        printf("%-44s %12.1f %12.1f %8.3f %12.1f %12.1f%s\n", cases[i].name, tc, tz, tc / tz, wc, wz,
               err < 1e-5 ? "" : "  RESULTS DIFFER");
        printf("BENCH {\"bench\": \"cublas\", \"metric\": \"%s, card time\", \"value\": %.1f, "
               "\"unit\": \"us\", \"baseline\": %.1f, \"baseline_name\": \"libzhikai gemm.zko\", "
               "\"ratio\": %.4g, \"target\": \"%s\"}\n", cases[i].name, tc, tz, tc / tz,
               cases[i].bt == 2 ? "reported" : "<= 1.05");
    }
    CB(cublasDestroy(h));
    CK(zk_ctx_destroy(ctx));
    free(h1);
    free(h2);
    return 0;
}
