/* SPDX-License-Identifier: MIT */
/*
 * bench_ptx - the PTX translator's code against hand-written SIMT assembly
 * (host, no VM): CUDA C kernels of tests/cuda/simt_pairs.cu and
 * vector_add.cu, compiled by clang-14 and translated, run on the engine's
 * SIMT interpreter next to their twins in runtime/kernels/simt_demo.zks on
 * the same launch; results must agree.  Reports time per launch (best of 5)
 * and warp instructions, ratio = hand time / translated time (target
 * >= 0.8), and PTX load+translate time of the largest corpus kernel.
 * Writes build/bench-ptx.json (tools/bench.sh convention).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ptx_xlate.h"
#include "zk_engine.h"
#include "zk_obj.h"
#include "zk_testmem.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f) {
        fprintf(stderr, "bench_ptx: cannot open %s\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        exit(1);
    }
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

typedef struct Code {
    uint64_t va;
    uint32_t size, entry, shared, local;
} Code;

static ZkTestMem tm;

/* Best wall time of 5 launches; *insns = warp instructions of one. */
static double run(const Code *c, uint32_t grid, uint32_t block, uint32_t dyn_shared,
                  const void *params, uint32_t psize, uint64_t *insns)
{
    uint64_t pva = zkt_alloc(&tm, psize);
    double best = 1e30;
    zkt_put(&tm, pva, params, psize);
    for (int rep = 0; rep < 5; rep++) {
        ZkLaunch l = {
            .code_va = c->va, .code_size = c->size, .entry = c->entry,
            .grid = { grid, 1, 1 }, .args_va = pva, .args_size = psize, .num_cus = 1,
            .simt = true, .block = { block, 1, 1 }, .shared_bytes = c->shared + dyn_shared,
            .local_bytes = c->local,
        };
        ZkEngineStats st;
        ZkFault f;
        double t0;
        memset(&st, 0, sizeof(st));
        t0 = now();
        if (zk_engine_launch(&tm.ms, &l, &st, &f, NULL) != 0) {
            fprintf(stderr, "bench_ptx: launch fault %u at 0x%llx\n", f.type,
                    (unsigned long long)f.va);
            exit(1);
        }
        t0 = now() - t0;
        best = t0 < best ? t0 : best;
        *insns = st.insns;
    }
    return best;
}

static FILE *json;
static int nrec;

static void record(const char *metric, double value, const char *unit, double base,
                   const char *base_name, double ratio, const char *target)
{
    fprintf(json, "%s  {\"bench\": \"ptx\", \"metric\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"",
            nrec++ ? ",\n" : "", metric, value, unit);
    if (base_name) {
        fprintf(json, ", \"baseline\": %.6g, \"baseline_name\": \"%s\", \"ratio\": %.4f, "
                "\"target\": \"%s\"", base, base_name, ratio, target);
    }
    fprintf(json, "}");
}

int main(int argc, char **argv)
{
    const char *corpus = argc > 1 ? argv[1] : "build/ptx-corpus/clang";
    const char *zko = argc > 2 ? argv[2] : "build/kernels/simt_demo.zko";
    const char *out = argc > 3 ? argv[3] : "build/bench-ptx.json";
    char path[512], err[512];
    size_t len;
    char *text;
    zk_ptx_image pairs, vadd;
    ZkObj hand;
    enum { N = 1 << 18, BS = 256 };
    uint32_t *in = malloc(N * 4), *o1 = malloc(N * 4), *o2 = malloc(N * 4);
    float *fa = malloc(N * 4), *fb = malloc(N * 4);
    int rc = 0;

    zkt_init(&tm, 1u << 30);
    snprintf(path, sizeof(path), "%s/simt_pairs.ptx", corpus);
    text = slurp(path, &len);
    if (zk_ptx_compile(text, len, path, NULL, &pairs, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    free(text);
    snprintf(path, sizeof(path), "%s/vector_add.ptx", corpus);
    text = slurp(path, &len);
    if (zk_ptx_compile(text, len, path, NULL, &vadd, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    free(text);
    text = slurp(zko, &len);
    if (zk_obj_load(text, len, &hand, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", zko, err);
        return 1;
    }
    free(text);
    json = fopen(out, "w");
    if (!json) {
        return 1;
    }
    fprintf(json, "[\n");

    uint64_t hva = zkt_alloc(&tm, hand.image_size), pva = zkt_alloc(&tm, pairs.size),
             vva = zkt_alloc(&tm, vadd.size);
    zkt_put(&tm, hva, hand.image, hand.image_size);
    zkt_put(&tm, pva, pairs.image, pairs.size);
    zkt_put(&tm, vva, vadd.image, vadd.size);
    for (uint32_t i = 0; i < N; i++) {
        in[i] = (i * 2654435761u) >> 20;
        fa[i] = (float)i * 0.25f;
        fb[i] = 1.0f / (float)(i + 1);
    }
    uint64_t din = zkt_alloc(&tm, N * 4), d1 = zkt_alloc(&tm, N * 4), d2 = zkt_alloc(&tm, N * 4);
    uint64_t da = zkt_alloc(&tm, N * 4), db = zkt_alloc(&tm, N * 4);
    zkt_put(&tm, din, in, N * 4);
    zkt_put(&tm, da, fa, N * 4);
    zkt_put(&tm, db, fb, N * 4);

    static const struct {
        const char *ptx, *hand, *what;
    } P[] = {
        { "vector_add", "simt_vadd", "vector add 256K" },
        { "block_sum_u32", "simt_block_sum", "block sum (shared tree) 256K" },
        { "warp_sum_u32", "simt_warp_sum", "warp-shuffle sum 256K" },
        { "fma_loop", "simt_fma_loop", "fma loop 256K x 64" },
    };
    printf("%-32s %12s %12s %10s %10s %7s\n", "kernel", "ptx us", "hand us", "ptx insn",
           "hand insn", "ratio");
    for (size_t k = 0; k < sizeof(P) / sizeof(P[0]); k++) {
        const zk_ptx_image *img = k == 0 ? &vadd : &pairs;
        const zk_ptx_kernel *pk = zk_ptx_find_kernel(img, P[k].ptx);
        const ZkObjKernel *hk = zk_obj_find(&hand, P[k].hand);
        Code cp = { k == 0 ? vva : pva, img->size, pk->entry, pk->shared_bytes, pk->local_bytes };
        Code ch = { hva, hand.image_size, hk->entry, hk->simt.shared_bytes, hk->simt.local_bytes };
        uint8_t pp[32], ph[32];
        uint32_t ppsz = pk->param_bytes, phsz = hk->simt.param_bytes, dyn = 0;
        uint64_t ip, ih, zero = 0;
        double tp, th;
        memset(pp, 0, sizeof(pp));
        memset(ph, 0, sizeof(ph));
        if (k == 0) {
            uint64_t a[4] = { da, db, d1, N };
            memcpy(pp, a, 24);
            memcpy(pp + 24, &a[3], 4);
            memcpy(ph, pp, 32);
            a[2] = d2;
            memcpy(ph + 16, &a[2], 8);
        } else if (k == 1 || k == 2) {
            memcpy(pp, &din, 8);
            memcpy(pp + 8, &d1, 8);
            memcpy(ph, &din, 8);
            memcpy(ph + 8, &d2, 8);
            dyn = BS * 4;
            zkt_put(&tm, d1, &zero, 8);
            zkt_put(&tm, d2, &zero, 8);
        } else {
            uint32_t it = 64;
            memcpy(pp, &d1, 8);
            memcpy(pp + 8, &it, 4);
            memcpy(ph, &d2, 8);
            memcpy(ph + 8, &it, 4);
        }
        tp = run(&cp, N / BS, BS, dyn, pp, ppsz, &ip);
        th = run(&ch, N / BS, BS, dyn, ph, phsz, &ih);
        /* same results (warp sums ran 5 times into one total each) */
        zkt_get(&tm, d1, o1, N * 4);
        zkt_get(&tm, d2, o2, N * 4);
        if (memcmp(o1, o2, k == 2 ? 4 : k == 1 ? (N / BS) * 4 : N * 4) != 0) {
            fprintf(stderr, "bench_ptx: %s and %s disagree\n", P[k].ptx, P[k].hand);
            rc = 1;
        }
        printf("%-32s %12.1f %12.1f %10llu %10llu %7.3f\n", P[k].what, tp * 1e6, th * 1e6,
               (unsigned long long)ip, (unsigned long long)ih, th / tp);
        snprintf(path, sizeof(path), "%s: translated vs hand-written SIMT", P[k].what);
        record(path, tp * 1e6, "us", th * 1e6, P[k].hand, th / tp, ">= 0.8");
        snprintf(path, sizeof(path), "%s: warp instructions (translated / hand)", P[k].what);
        record(path, (double)ip, "insns", (double)ih, P[k].hand, (double)ih / (double)ip, "info");
    }
    /* load + translate of the largest corpus kernels */
    static const char *const big[] = { "many_live", "attention" };
    for (size_t k = 0; k < 2; k++) {
        zk_ptx_image img;
        double best = 1e30;
        snprintf(path, sizeof(path), "%s/%s.ptx", corpus, big[k]);
        text = slurp(path, &len);
        for (int rep = 0; rep < 5; rep++) {
            double t0 = now();
            if (zk_ptx_compile(text, len, path, NULL, &img, err, sizeof(err))) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            t0 = now() - t0;
            best = t0 < best ? t0 : best;
            if (rep < 4) {
                zk_ptx_image_free(&img);
            }
        }
        printf("%-32s %9.3f ms (%zu bytes of PTX -> %u SIMT instructions)\n", big[k],
               best * 1e3, len, img.code_bytes / 16);
        snprintf(path, sizeof(path), "PTX load+translate %s (%zu B PTX, %u insns)", big[k], len,
                 img.code_bytes / 16);
        record(path, best * 1e3, "ms", 0, NULL, 0, NULL);
        zk_ptx_image_free(&img);
        free(text);
    }
    fprintf(json, "\n]\n");
    fclose(json);
    zk_ptx_image_free(&pairs);
    zk_ptx_image_free(&vadd);
    zk_obj_free(&hand);
    zkt_fini(&tm);
    free(in);
    free(o1);
    free(o2);
    free(fa);
    free(fb);
    return rc;
}
