/* SPDX-License-Identifier: MIT */
/*
 * bench_qgemm.c - the card's batch-1 decode matmuls on the host, same run:
 * every weight matrix of one token of the issue-19 reference model (dim 288,
 * hidden 768, 6 layers, 6/2 heads, vocab 32000) through QMATMUL (Q8_0,
 * Q4_0, one workgroup = one compute unit) against OpenBLAS sgemv on the
 * same shapes in f32 (1 thread).  This is the engine's share of a decode
 * step with the VM taken out: matmul-only tokens/s, and the weight bytes
 * per second it streams.  Best of several runs.  Usage: bench_qgemm [out.json]
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zk_asm_helpers.h"
#include "zk_dtype.h"

#define DIM 288
#define HIDDEN 768
#define KVDIM 96
#define LAYERS 6
#define VOCAB 32000
#define REPS 7

typedef struct Shape {
    uint32_t n, k;      /* output channels, input length */
} Shape;

/* One token's matmuls: per layer q, k, v, o, w1, w3, w2; then the classifier. */
static const Shape layer_shapes[] = {
    { DIM, DIM }, { KVDIM, DIM }, { KVDIM, DIM }, { DIM, DIM },
    { HIDDEN, DIM }, { HIDDEN, DIM }, { DIM, HIDDEN },
};
#define NSHAPES (sizeof(layer_shapes) / sizeof(layer_shapes[0]))

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t qbytes(unsigned dt, uint64_t n, uint64_t k)
{
    return n * (k / ZK_QBLOCK) * (dt == ZK_DT_Q8_0 ? ZK_Q8_0_BYTES : ZK_Q4_0_BYTES);
}

/* Random blocks with sane f16 scales (0.01): the values do not matter for
 * speed, NaNs and infinities would only make the check below useless. */
static void fill_blocks(uint8_t *p, unsigned dt, uint64_t n, uint64_t k)
{
    uint64_t bb = dt == ZK_DT_Q8_0 ? ZK_Q8_0_BYTES : ZK_Q4_0_BYTES;
    for (uint64_t b = 0; b < n * (k / ZK_QBLOCK); b++) {
        uint8_t *blk = p + b * bb;
        blk[0] = 0x1f;          /* f16 0x211f ~= 0.0101 */
        blk[1] = 0x21;
        for (uint64_t i = 2; i < bb; i++) {
            blk[i] = (uint8_t)rand();
        }
    }
}

typedef struct Mat {
    uint64_t w, x, y;
    uint32_t n, k;
} Mat;

/* Seconds for one token's worth of QMATMULs (one program, one launch). */
static double run_card(ZkTestMem *t, unsigned dt, uint64_t *bytes)
{
    Mat mats[LAYERS * NSHAPES + 1];
    unsigned nm = 0;
    *bytes = 0;
    for (unsigned l = 0; l <= LAYERS; l++) {
        for (unsigned s = 0; s < (l < LAYERS ? NSHAPES : 1); s++) {
            Shape sh = l < LAYERS ? layer_shapes[s] : (Shape){ VOCAB, DIM };
            Mat *m = &mats[nm++];
            m->n = sh.n;
            m->k = sh.k;
            m->w = zkt_alloc(t, qbytes(dt, sh.n, sh.k));
            m->x = zkt_alloc(t, sh.k * 4);
            m->y = zkt_alloc(t, sh.n * 4);
            fill_blocks(zkt_ptr(t, m->w), dt, sh.n, sh.k);
            float *x = zkt_ptr(t, m->x);
            for (uint32_t i = 0; i < sh.k; i++) {
                x[i] = (float)rand() / RAND_MAX - 0.5f;
            }
            *bytes += qbytes(dt, sh.n, sh.k);
        }
    }
    Prog p = { .n = 0 };
    for (unsigned i = 0; i < nm; i++) {
        tdesc(&p, 0, mats[i].x, 1, mats[i].k, 0, ZK_DT_F32);
        tdesc(&p, 1, mats[i].w, mats[i].n, mats[i].k, 0, dt);
        tdesc(&p, 2, mats[i].y, 1, mats[i].n, 0, ZK_DT_F32);
        tensor(&p, ZK_OP_QMATMUL, 2, 0, 1, 0, 0, 0, 0);
    }
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    double best = 1e30;
    for (int r = 0; r < REPS; r++) {
        ZkEngineStats st;
        ZkFault f;
        double t0 = now();
        if (run_prog(t, &p, NULL, 0, 1, 1, 1, 0, &st, &f, NULL)) {
            fprintf(stderr, "bench_qgemm: launch failed: fault %u\n", f.type);
            exit(1);
        }
        double d = now() - t0;
        best = d < best ? d : best;
    }
    /* The classifier's first output against a dequantize-then-dot reference. */
    const Mat *c = &mats[nm - 1];
    const uint8_t *w = zkt_ptr(t, c->w);
    const float *x = zkt_ptr(t, c->x), *y = zkt_ptr(t, c->y);
    double ref = 0, mag = 0;
    uint64_t bb = dt == ZK_DT_Q8_0 ? ZK_Q8_0_BYTES : ZK_Q4_0_BYTES;
    for (uint32_t b = 0; b < c->k / ZK_QBLOCK; b++) {
        const uint8_t *blk = w + b * bb;
        float d = zk_f16_to_f32((uint16_t)(blk[0] | blk[1] << 8));
        for (int i = 0; i < ZK_QBLOCK; i++) {
            int q = dt == ZK_DT_Q8_0 ? (int8_t)blk[2 + i]
                    : i < 16 ? (blk[2 + i] & 15) - 8 : (blk[2 + i - 16] >> 4) - 8;
            ref += d * q * x[b * ZK_QBLOCK + i];
            mag += fabs(d * q * x[b * ZK_QBLOCK + i]);
        }
    }
    if (fabs(y[0] - ref) > 0.02 * mag + 1e-4) {
        fprintf(stderr, "bench_qgemm: wrong result %g vs %g\n", y[0], ref);
        exit(1);
    }
    return best;
}

/* The same shapes as f32 sgemv through OpenBLAS (1 thread). */
static double run_sgemv(uint64_t *bytes)
{
    float *w[LAYERS * NSHAPES + 1], *x = malloc(HIDDEN * 4), *y = malloc(VOCAB * 4);
    Shape sh[LAYERS * NSHAPES + 1];
    unsigned nm = 0;
    *bytes = 0;
    for (unsigned l = 0; l <= LAYERS; l++) {
        for (unsigned s = 0; s < (l < LAYERS ? NSHAPES : 1); s++) {
            sh[nm] = l < LAYERS ? layer_shapes[s] : (Shape){ VOCAB, DIM };
            w[nm] = malloc((size_t)sh[nm].n * sh[nm].k * 4);
            for (size_t i = 0; i < (size_t)sh[nm].n * sh[nm].k; i++) {
                w[nm][i] = (float)rand() / RAND_MAX - 0.5f;
            }
            *bytes += (uint64_t)sh[nm].n * sh[nm].k * 4;
            nm++;
        }
    }
    for (int i = 0; i < HIDDEN; i++) {
        x[i] = (float)rand() / RAND_MAX;
    }
    openblas_set_num_threads(1);
    double best = 1e30;
    for (int r = 0; r < REPS; r++) {
        double t0 = now();
        for (unsigned i = 0; i < nm; i++) {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, sh[i].n, sh[i].k, 1.0f, w[i], sh[i].k,
                        x, 1, 0.0f, y, 1);
        }
        double d = now() - t0;
        best = d < best ? d : best;
    }
    for (unsigned i = 0; i < nm; i++) {
        free(w[i]);
    }
    free(x);
    free(y);
    return best;
}

int main(int argc, char **argv)
{
    ZkTestMem t;
    uint64_t b8, b4, bf;
    zkt_init(&t, 64ull << 20);
    double q8 = run_card(&t, ZK_DT_Q8_0, &b8);
    zkt_fini(&t);
    zkt_init(&t, 64ull << 20);
    double q4 = run_card(&t, ZK_DT_Q4_0, &b4);
    zkt_fini(&t);
    double f32 = run_sgemv(&bf);

    printf("one decode token's matmuls (dim %d, hidden %d, %d layers, vocab %d), 1 thread:\n",
           DIM, HIDDEN, LAYERS, VOCAB);
    printf("  QMATMUL Q8_0        %8.3f ms  %7.0f tok/s  %6.2f GB/s of weights\n", q8 * 1e3,
           1 / q8, b8 / q8 / 1e9);
    printf("  QMATMUL Q4_0        %8.3f ms  %7.0f tok/s  %6.2f GB/s of weights\n", q4 * 1e3,
           1 / q4, b4 / q4 / 1e9);
    printf("  OpenBLAS sgemv f32  %8.3f ms  %7.0f tok/s  %6.2f GB/s of weights\n", f32 * 1e3,
           1 / f32, bf / f32 / 1e9);
    printf("  Q8_0 vs f32 sgemv: %.2fx the speed; Q4_0: %.2fx\n", f32 / q8, f32 / q4);
    if (argc > 1) {
        FILE *f = fopen(argv[1], "w");
        if (!f) {
            perror(argv[1]);
            return 1;
        }
        fprintf(f, "[\n");
        const char *names[2] = { "Q8_0", "Q4_0" };
        double ts[2] = { q8, q4 };
        for (int i = 0; i < 2; i++) {
            fprintf(f, "{\"bench\": \"qgemm\", \"metric\": \"decode matmuls %s (1 CU)\", "
                    "\"value\": %.1f, \"unit\": \"tok/s\", \"baseline\": %.1f, "
                    "\"baseline_name\": \"OpenBLAS sgemv f32, 1 thread\", \"ratio\": %.3f},\n",
                    names[i], 1 / ts[i], 1 / f32, f32 / ts[i]);
        }
        fprintf(f, "{\"bench\": \"qgemm\", \"metric\": \"decode matmuls Q8_0 weight stream\", "
                "\"value\": %.3f, \"unit\": \"GB/s\"}\n]\n", b8 / q8 / 1e9);
        fclose(f);
    }
    return 0;
}
