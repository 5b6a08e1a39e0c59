/* SPDX-License-Identifier: MIT */
/*
 * bench_engine.c - engine MATMUL throughput against references, same run:
 *   fp32 1024^3 through zk_engine_launch vs OpenBLAS sgemm (1 thread);
 *   int8 1024^3 (int32 accumulate) vs a plain C int32 loop.
 * Best of several runs each.  Usage: bench_engine [out.json]
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zk_asm_helpers.h"

#define N 1024

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double run_engine(ZkTestMem *t, unsigned dt, unsigned cdt, int reps)
{
    unsigned es = dt == ZK_DT_I8 ? 1 : 4;
    uint64_t a = zkt_alloc(t, (uint64_t)N * N * es), b = zkt_alloc(t, (uint64_t)N * N * es);
    uint64_t c = zkt_alloc(t, (uint64_t)N * N * 4);
    uint8_t *pa = zkt_ptr(t, a), *pb = zkt_ptr(t, b);
    for (size_t i = 0; i < (size_t)N * N * es; i++) {
        pa[i] = (uint8_t)rand();
        pb[i] = (uint8_t)rand();
    }
    if (dt == ZK_DT_F32) {      /* sane floats, not random bit patterns */
        float *fa = (float *)pa, *fb = (float *)pb;
        for (size_t i = 0; i < (size_t)N * N; i++) {
            fa[i] = (float)rand() / RAND_MAX;
            fb[i] = (float)rand() / RAND_MAX;
        }
    }
    Prog p = { .n = 0 };
    tdesc(&p, 0, a, N, N, 0, dt);
    tdesc(&p, 1, b, N, N, 0, dt);
    tdesc(&p, 2, c, N, N, 0, cdt);
    tensor(&p, ZK_OP_MATMUL, 2, 0, 1, 0, 0, 0, 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        ZkEngineStats st;
        ZkFault f;
        double t0 = now();
        if (run_prog(t, &p, NULL, 0, 1, 1, 1, 0, &st, &f, NULL)) {
            fprintf(stderr, "launch failed: fault %u\n", f.type);
            exit(1);
        }
        double dtm = now() - t0;
        best = dtm < best ? dtm : best;
    }
    return best;
}

static double run_sgemm(int reps)
{
    float *a = malloc(sizeof(float) * N * N), *b = malloc(sizeof(float) * N * N);
    float *c = malloc(sizeof(float) * N * N);
    for (size_t i = 0; i < (size_t)N * N; i++) {
        a[i] = (float)rand() / RAND_MAX;
        b[i] = (float)rand() / RAND_MAX;
    }
    openblas_set_num_threads(1);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f,
                    a, N, b, N, 0.0f, c, N);
        double dtm = now() - t0;
        best = dtm < best ? dtm : best;
    }
    free(a); free(b); free(c);
    return best;
}

static double run_int8_ref(int reps)
{
    int8_t *a = malloc((size_t)N * N), *b = malloc((size_t)N * N);
    int32_t *c = malloc(sizeof(int32_t) * N * N);
    for (size_t i = 0; i < (size_t)N * N; i++) {
        a[i] = (int8_t)rand();
        b[i] = (int8_t)rand();
    }
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        memset(c, 0, sizeof(int32_t) * N * N);
        for (int i = 0; i < N; i++) {         /* i-k-j: the usual plain loop */
            for (int k = 0; k < N; k++) {
                int32_t av = a[i * N + k];
                for (int j = 0; j < N; j++) {
                    c[i * N + j] += av * b[k * N + j];
                }
            }
        }
        double dtm = now() - t0;
        best = dtm < best ? dtm : best;
    }
    free(a); free(b); free(c);
    return best;
}

int main(int argc, char **argv)
{
    ZkTestMem t;
    zkt_init(&t, 64u << 20);
    double flop = 2.0 * N * N * N;
    double blas = run_sgemm(5), eng = run_engine(&t, ZK_DT_F32, ZK_DT_F32, 5);
    double iref = run_int8_ref(2), ieng = run_engine(&t, ZK_DT_I8, ZK_DT_I32, 3);
    printf("fp32 %dx%dx%d: engine %.1f ms (%.2f GFLOP/s), OpenBLAS 1 thread "
           "%.1f ms (%.2f GFLOP/s), ratio %.2fx\n", N, N, N, eng * 1e3,
           flop / eng * 1e-9, blas * 1e3, flop / blas * 1e-9, blas / eng);
    printf("int8 %dx%dx%d: engine %.1f ms (%.2f GOP/s), plain C int32 "
           "%.1f ms (%.2f GOP/s), speedup %.2fx\n", N, N, N, ieng * 1e3,
           flop / ieng * 1e-9, iref * 1e3, flop / iref * 1e-9, iref / ieng);
    if (argc > 1) {
        FILE *f = fopen(argv[1], "w");
        if (!f) {
            perror(argv[1]);
            return 1;
        }
        fprintf(f, "{\"engine\": {\"fp32_1024_ms\": %.3f, \"openblas_1t_1024_ms\": "
                "%.3f, \"fp32_ratio_vs_openblas\": %.3f, \"int8_1024_ms\": %.3f, "
                "\"int8_ref_ms\": %.3f, \"int8_speedup_vs_ref\": %.3f}}\n",
                eng * 1e3, blas * 1e3, blas / eng, ieng * 1e3, iref * 1e3,
                iref / ieng);
        fclose(f);
    }
    zkt_fini(&t);
    return 0;
}
