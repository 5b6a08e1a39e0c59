/* SPDX-License-Identifier: MIT */
/*
 * bench_ptx - the PTX translator's code against hand-written SIMT assembly
 * (host, no VM): CUDA C corpus kernels (tests/cuda/), compiled by clang-14
 * and translated, run on the engine's SIMT interpreter next to their twins
 * in runtime/kernels/simt_demo.zks and ptx_twins.zks on the same launch;
 * results must agree with each other or with a C reference.  Reports CPU
 * time per launch (best of 7, translated and hand alternating) and warp
 * instructions, ratio = hand time / translated time (target >= 0.8), and
 * PTX load+translate time of the largest corpus kernels.
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

/*
 * Launch time is the CPU time of this thread (a one-unit launch runs on
 * the calling thread): on a machine shared with other jobs, wall time
 * mostly measures the others; both kernels of a pair are timed alike.
 */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct Code {
    uint64_t va;
    uint32_t size, entry, shared, local;
} Code;

static ZkTestMem tm;

/* CPU time of one launch; *insns = its warp instructions. */
static uint32_t g_grid_y = 1, g_block_y = 1; /* y extents of the next launches */

static double run1(const Code *c, uint32_t grid, uint32_t block, uint32_t dyn_shared,
                   uint64_t pva, uint32_t psize, uint64_t *insns)
{
    ZkLaunch l = {
        .code_va = c->va, .code_size = c->size, .entry = c->entry,
        .grid = { grid, g_grid_y, 1 }, .args_va = pva, .args_size = psize, .num_cus = 1,
        .simt = true, .block = { block, g_block_y, 1 }, .shared_bytes = c->shared + dyn_shared,
        .local_bytes = c->local,
    };
    ZkEngineStats st;
    ZkFault f;
    double t0;
    memset(&st, 0, sizeof(st));
    t0 = cpu_now();
    if (zk_engine_launch(&tm.ms, &l, &st, &f, NULL) != 0) {
        fprintf(stderr, "bench_ptx: launch fault %u at 0x%llx\n", f.type,
                (unsigned long long)f.va);
        exit(1);
    }
    *insns = st.insns;
    return cpu_now() - t0;
}

/*
 * Best of REPS launches each, translated and hand-written alternating so a
 * load spike on the shared machine hits both alike.
 */
enum { REPS = 7 };

static void run_pair(const Code *cp, const Code *ch, uint32_t grid, uint32_t block,
                     uint32_t dyn, const void *pp, uint32_t ppsz, const void *ph, uint32_t phsz,
                     double *tp, double *th, uint64_t *ip, uint64_t *ih)
{
    uint64_t ppva = zkt_alloc(&tm, ppsz ? ppsz : 1), phva = zkt_alloc(&tm, phsz ? phsz : 1);
    zkt_put(&tm, ppva, pp, ppsz);
    zkt_put(&tm, phva, ph, phsz);
    *tp = *th = 1e30;
    for (int rep = 0; rep < REPS; rep++) {
        double t = run1(cp, grid, block, dyn, ppva, ppsz, ip);
        *tp = t < *tp ? t : *tp;
        t = run1(ch, grid, block, dyn, phva, phsz, ih);
        *th = t < *th ? t : *th;
    }
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

static void report(const char *what, const char *hand, double tp, double th, uint64_t ip,
                   uint64_t ih)
{
    char m[256];
    printf("%-32s %12.1f %12.1f %10llu %10llu %7.3f %7.3f%s\n", what, tp * 1e6, th * 1e6,
           (unsigned long long)ip, (unsigned long long)ih, th / tp, (double)ih / (double)ip,
           th / tp < 0.8 ? "  < 0.8" : "");
    snprintf(m, sizeof(m), "%s: translated vs hand-written SIMT", what);
    record(m, tp * 1e6, "us", th * 1e6, hand, th / tp, ">= 0.8");
    snprintf(m, sizeof(m), "%s: warp instructions (translated / hand)", what);
    record(m, (double)ip, "insns", (double)ih, hand, (double)ih / (double)ip, "info");
}

/* C references of the twin kernels; inputs are set up in main(). */
enum { TN = (1 << 18) - 3 }; /* elements; not a multiple of the block: tail guard */
static float *tx, *tg;
static uint32_t *ta, *tb;

static int near(float got, double want)
{
    return fabs((double)got - want) <= 1e-5 * (1.0 + fabs(want));
}

static int check_silu(const void *out)
{
    const uint32_t n = TN;
    const float *y = out;
    int bad = 0;
    for (uint32_t i = 0; i < n; i++) {
        bad += !near(y[i], tx[i] / (1.0 + exp(-(double)tx[i])) * tg[i]);
    }
    return bad + (y[n] != 0); /* nothing written past n */
}

static int check_gelu(const void *out)
{
    const uint32_t n = TN;
    const float *y = out;
    int bad = 0;
    for (uint32_t i = 0; i < n; i++) {
        double v = tx[i];
        bad += !near(y[i], 0.5 * v * (1.0 + tanh(0.7978845608 * (v + 0.044715 * v * v * v))));
    }
    return bad + (y[n] != 0);
}

static int check_bitops(const void *out)
{
    const uint32_t n = TN;
    const uint32_t *o = out;
    int bad = 0;
    for (uint32_t i = 0; i < n; i++, o += 8) {
        uint32_t x = ta[i], y = tb[i] | 1u, rev = 0, perm;
        for (int k = 0; k < 32; k++) {
            rev |= ((x >> k) & 1u) << (31 - k);
        }
        perm = (x & 0xff) | (y & 0xff) << 8 | (x & 0xff00) << 8 | (y & 0xff00) << 16;
        bad += o[0] != (uint32_t)__builtin_popcount(x);
        bad += o[1] != (x ? (uint32_t)__builtin_clz(x) : 32);
        bad += o[2] != rev;
        bad += o[3] != perm;
        bad += o[4] != ((x & ~0xff0u) | ((y << 4) & 0xff0u));
        bad += o[5] != ((x >> (y & 31)) ^ (x << 3));
        bad += o[6] != x / y + x % y;
        bad += o[7] != (uint32_t)((int32_t)x / (int32_t)y);
    }
    return bad + (o[0] != 0);
}

enum { RN_ROWS = 512, RN_N = 1000 };
static float *rx, *rw;

static int check_rmsnorm(const void *out)
{
    const float *y = out;
    int bad = 0;
    for (int r = 0; r < RN_ROWS; r++) {
        double ss = 0, sc;
        for (int j = 0; j < RN_N; j++) {
            ss += (double)rx[r * RN_N + j] * rx[r * RN_N + j];
        }
        sc = 1.0 / sqrt(ss / RN_N + 1e-5f);
        for (int j = 0; j < RN_N; j++) {
            bad += !near(y[r * RN_N + j], rx[r * RN_N + j] * sc * rw[j]);
        }
    }
    return bad;
}

enum { RO_HEADS = 2048, RO_DIM = 128, RO_POS = 7 };
static float *rq;

static int check_rope(const void *out)
{
    const float *q = out;
    int bad = 0;
    for (int h = 0; h < RO_HEADS; h++) {
        for (int i = 0; i < RO_DIM / 2; i++) {
            double a = RO_POS * pow(10000.0, -2.0 * i / RO_DIM);
            double x0 = rq[h * RO_DIM + 2 * i], x1 = rq[h * RO_DIM + 2 * i + 1];
            float g0 = q[h * RO_DIM + 2 * i], g1 = q[h * RO_DIM + 2 * i + 1];
            bad += fabs(g0 - (x0 * cos(a) - x1 * sin(a))) > 1e-4 * (1 + fabs(x0) + fabs(x1));
            bad += fabs(g1 - (x0 * sin(a) + x1 * cos(a))) > 1e-4 * (1 + fabs(x0) + fabs(x1));
        }
    }
    return bad;
}

static int check_softmax(const void *out)
{
    const float *y = out;
    int bad = 0;
    for (int r = 0; r < RN_ROWS; r++) {
        const float *x = rx + r * RN_N;
        double m = -3e38, sum = 0;
        for (int j = 0; j < RN_N; j++) {
            m = x[j] > m ? x[j] : m;
        }
        for (int j = 0; j < RN_N; j++) {
            sum += exp(x[j] - m);
        }
        for (int j = 0; j < RN_N; j++) {
            bad += fabs(y[r * RN_N + j] - exp(x[j] - m) / sum) > 2e-5 * (1 + exp(x[j] - m) / sum);
        }
    }
    return bad;
}

enum { RT_BLOCKS = (TN + 511) / 512 };

static int check_reduce_tree(const void *out)
{
    const float *sums = out;
    int bad = 0;
    for (int b = 0; b < RT_BLOCKS; b++) {
        double want = 0;
        for (int i = 512 * b; i < 512 * (b + 1) && i < TN; i++) {
            want += tx[i];
        }
        bad += !(fabs(sums[b] - want) <= 1e-4 * (1 + fabs(want)));
    }
    return bad;
}

enum { PD = 8 }; /* polynomial degree */
static float pc[PD + 1];

static int check_eval_poly(const void *out)
{
    const float *y = out;
    int bad = 0;
    for (int i = 0; i < TN; i++) {
        double x = rq[i], a = 0, b = 0;
        for (int k = PD; k >= 0; k--) {
            a = a * x + pc[k];
            b = b * -x + pc[k];
        }
        bad += !near(y[i], a - b);
    }
    return bad + (y[TN] != 0);
}

enum { RW_BLOCKS = (TN + 127) / 128 };

static int check_reduce_warp(const void *out)
{
    const float *sums = out, *maxes = sums + RW_BLOCKS;
    const int32_t *pos = (const int32_t *)(maxes + RW_BLOCKS);
    int bad = 0;
    for (int b = 0; b < RW_BLOCKS; b++) {
        double sum = 0;
        float m = -3.0e38f;
        int32_t p = 0;
        for (int i = 128 * b; i < 128 * (b + 1) && i < TN; i++) {
            sum += tx[i];
            m = tx[i] > m ? tx[i] : m;
            p += tx[i] > 0;
        }
        bad += !(fabs(sums[b] - sum) <= 1e-4 * (1 + fabs(sum))) + (maxes[b] != m) + (pos[b] != p);
    }
    return bad;
}

enum { LM_WIN = 64, LM_N = TN * 4, LM_THREADS = (LM_N + LM_WIN - 1) / LM_WIN };

static int check_local_mode(const void *out)
{
    const int32_t *mode = out;
    const uint8_t *in = (const uint8_t *)ta;
    int bad = 0;
    for (int t = 0; t < LM_THREADS; t++) {
        int counts[256] = { 0 }, best = 0;
        for (int j = 0; j < LM_WIN && t * LM_WIN + j < LM_N; j++) {
            counts[in[t * LM_WIN + j]]++;
        }
        for (int b = 1; b < 256; b++) {
            best = counts[b] > counts[best] ? b : best;
        }
        bad += mode[t] != best;
    }
    return bad + (mode[LM_THREADS] != 0);
}

static int32_t *hv; /* histogram inputs: 0..60, so the float total stays exact */

static int check_histogram(const void *out)
{
    const int32_t *o = out;
    int32_t bins[64] = { 0 }, maxv = 0, sevens = 0;
    float total;
    double sum = 0;
    int bad = 0;
    for (int i = 0; i < TN; i++) {
        bins[hv[i] & 63]++;
        maxv = hv[i] > maxv ? hv[i] : maxv;
        sum += hv[i];
        sevens += hv[i] == 7;
    }
    for (int b = 0; b < 64; b++) {
        bad += o[b] != bins[b];
    }
    memcpy(&total, &o[65], 4);
    return bad + (o[64] != maxv) + (total != (float)sum) + (o[66] != sevens);
}

enum { SG_M = 256, SG_N = 256, SG_K = 250 }; /* A = rx, B = tx */

static int check_sgemm(const void *out)
{
    const float *c = out;
    int bad = 0;
    for (int i = 0; i < SG_M; i++) {
        for (int j = 0; j < SG_N; j++) {
            double want = 0;
            for (int k = 0; k < SG_K; k++) {
                want += (double)rx[i * SG_K + k] * tx[k * SG_N + j];
            }
            bad += !(fabs(c[i * SG_N + j] - want) <= 1e-4 * (1 + fabs(want)));
        }
    }
    return bad;
}

/* attention: q = tx (heads x dim), k = rx, v = rq ([len][kv_heads][dim]) */
enum { AT_LEN = 500, AT_HEADS = 32, AT_KVH = 4, AT_DIM = 128, AT_BLOCK = 64 };

static int check_attention(const void *out)
{
    const float *o = out;
    static double p[AT_LEN];
    int bad = 0;
    for (int h = 0; h < AT_HEADS; h++) {
        int kvh = h / (AT_HEADS / AT_KVH);
        double m = -3e38, sum = 0;
        for (int t = 0; t < AT_LEN; t++) {
            double s = 0;
            for (int d = 0; d < AT_DIM; d++) {
                s += (double)tx[h * AT_DIM + d] * rx[(t * AT_KVH + kvh) * AT_DIM + d];
            }
            p[t] = s / sqrt((double)AT_DIM);
            m = p[t] > m ? p[t] : m;
        }
        for (int t = 0; t < AT_LEN; t++) {
            p[t] = exp(p[t] - m);
            sum += p[t];
        }
        for (int d = 0; d < AT_DIM; d++) {
            double acc = 0;
            for (int t = 0; t < AT_LEN; t++) {
                acc += p[t] * rq[(t * AT_KVH + kvh) * AT_DIM + d];
            }
            acc /= sum;
            bad += !(fabs(o[h * AT_DIM + d] - acc) <= 1e-4 * (1 + fabs(acc)));
        }
    }
    return bad;
}

/* many_live: in = rx as rows of 224, 2285 threads */
enum { ML_NV = 224, ML_T = RN_ROWS * RN_N / ML_NV };

static int check_many_live(const void *out)
{
    const float *o = out;
    int bad = 0;
    for (int t = 0; t < ML_T; t++) {
        const float *v = rx + (size_t)t * ML_NV;
        float s = v[0];
        for (int j = 1; j < ML_NV; j++) {
            s = fmaf(s, 0.5f, v[j]);
        }
        for (int j = 0; j < ML_NV; j++) {
            /* the same fp32 fma chain on both sides: exact */
            bad += o[t * ML_NV + ML_NV - 1 - j] != fmaf(v[j], s, (float)j);
        }
    }
    return bad + (o[ML_T * ML_NV] != 0);
}

typedef struct Twin {
    const char *file, *ptx, *hand, *what;
    uint32_t grid, block, dyn_shared;
    uint32_t grid_y, block_y; /* 0: 1 */
    unsigned nargs, out_mask; /* args[k], k in out_mask: offset into the output buffer */
    uint64_t args[8];         /* packed by the PTX .entry parameter layout */
    size_t out_bytes;
    const void *out_init;    /* initial output contents (in-place kernels); NULL: zeros */
    int (*check)(const void *out); /* mismatches against the C reference */
} Twin;

static void pack(uint8_t *buf, const zk_ptx_kernel *pk, const uint64_t *args, unsigned nargs)
{
    if (pk->nparams != nargs || pk->param_bytes > 64) {
        fprintf(stderr, "bench_ptx: %s: %u parameters, bench passes %u\n", pk->name,
                pk->nparams, nargs);
        exit(1);
    }
    memset(buf, 0, 64);
    for (unsigned k = 0; k < nargs; k++) {
        memcpy(buf + pk->params[k].offset, &args[k], pk->params[k].size); /* LE */
    }
}

/*
 * Runs corpus kernel T->ptx (translated from T->file's clang PTX) and its
 * hand-written twin (same parameter layout) into separate output buffers:
 * timed launches, then, from freshly initialised outputs, one launch each
 * checked against the C reference.  Returns 0 when both agree with it.
 */
static int twin(const Twin *T, const char *corpus, const ZkObj *hand, uint64_t hand_va)
{
    char path[512], err[512];
    size_t len;
    char *text;
    zk_ptx_image img;
    int rc = 0;

    snprintf(path, sizeof(path), "%s/%s.ptx", corpus, T->file);
    text = slurp(path, &len);
    if (zk_ptx_compile(text, len, path, NULL, &img, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    free(text);
    const zk_ptx_kernel *pk = zk_ptx_find_kernel(&img, T->ptx);
    const ZkObjKernel *hk = zk_obj_find(hand, T->hand);
    if (!pk || !hk || hk->simt.param_bytes != pk->param_bytes) {
        fprintf(stderr, "bench_ptx: no kernel %s, or %s with other parameters\n", T->ptx,
                T->hand);
        exit(1);
    }
    uint64_t iva = zkt_alloc(&tm, img.size), o[2], args[8], pva[2], ins[2];
    void *init = calloc(1, T->out_bytes), *got = malloc(T->out_bytes);
    uint8_t pp[2][64];
    double t[2];
    if (T->out_init) {
        memcpy(init, T->out_init, T->out_bytes);
    }
    zkt_put(&tm, iva, img.image, img.size);
    memcpy(args, T->args, sizeof(args));
    for (int w = 0; w < 2; w++) {
        o[w] = zkt_alloc(&tm, T->out_bytes);
        zkt_put(&tm, o[w], init, T->out_bytes);
        for (unsigned k = 0; k < T->nargs; k++) {
            args[k] = T->out_mask >> k & 1 ? o[w] + T->args[k] : T->args[k];
        }
        pack(pp[w], pk, args, T->nargs);
        pva[w] = zkt_alloc(&tm, 64);
        zkt_put(&tm, pva[w], pp[w], 64);
    }
    Code c[2] = { { iva, img.size, pk->entry, pk->shared_bytes, pk->local_bytes },
                  { hand_va, hand->image_size, hk->entry, hk->simt.shared_bytes,
                    hk->simt.local_bytes } };
    g_grid_y = T->grid_y ? T->grid_y : 1;
    g_block_y = T->block_y ? T->block_y : 1;
    run_pair(&c[0], &c[1], T->grid, T->block, T->dyn_shared, pp[0], pk->param_bytes, pp[1],
             pk->param_bytes, &t[0], &t[1], &ins[0], &ins[1]);
    for (int w = 0; w < 2; w++) {
        int bad;
        uint64_t dummy;
        zkt_put(&tm, o[w], init, T->out_bytes);
        run1(&c[w], T->grid, T->block, T->dyn_shared, pva[w], pk->param_bytes, &dummy);
        zkt_get(&tm, o[w], got, T->out_bytes);
        bad = T->check(got);
        if (bad) {
            fprintf(stderr, "bench_ptx: %s: %d results differ from the C reference\n",
                    w ? T->hand : T->ptx, bad);
            rc = 1;
        }
    }
    g_grid_y = g_block_y = 1;
    report(T->what, T->hand, t[0], t[1], ins[0], ins[1]);
    free(init);
    free(got);
    zk_ptx_image_free(&img);
    return rc;
}

int main(int argc, char **argv)
{
    const char *corpus = argc > 1 ? argv[1] : "build/ptx-corpus/clang";
    const char *zko = argc > 2 ? argv[2] : "build/kernels/simt_demo.zko";
    const char *out = argc > 3 ? argv[3] : "build/bench-ptx.json";
    const char *tzko = argc > 4 ? argv[4] : "build/kernels/ptx_twins.zko";
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
    printf("%-32s %12s %12s %10s %10s %7s %7s  (ratio = hand / ptx; target >= 0.8)\n", "kernel",
           "ptx us", "hand us", "ptx insn", "hand insn", "ratio", "insn r");
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
        run_pair(&cp, &ch, N / BS, BS, dyn, pp, ppsz, ph, phsz, &tp, &th, &ip, &ih);
        /* same results (warp sums ran REPS times into one total each) */
        zkt_get(&tm, d1, o1, N * 4);
        zkt_get(&tm, d2, o2, N * 4);
        if (memcmp(o1, o2, k == 2 ? 4 : k == 1 ? (N / BS) * 4 : N * 4) != 0) {
            fprintf(stderr, "bench_ptx: %s and %s disagree\n", P[k].ptx, P[k].hand);
            rc = 1;
        }
        report(P[k].what, P[k].hand, tp, th, ip, ih);
    }
    /* corpus kernels with twins in runtime/kernels/ptx_twins.zks: table below */
    ZkObj twins;
    text = slurp(tzko, &len);
    if (zk_obj_load(text, len, &twins, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", tzko, err);
        return 1;
    }
    free(text);
    uint64_t tva = zkt_alloc(&tm, twins.image_size);
    zkt_put(&tm, tva, twins.image, twins.image_size);
    tx = malloc(TN * 4);
    tg = malloc(TN * 4);
    ta = malloc(TN * 4);
    tb = malloc(TN * 4);
    for (uint32_t i = 0, r = 12345; i < TN; i++) {
        r = r * 1664525u + 1013904223u;
        tx[i] = -6.0f + 12.0f * (float)(r >> 8) / 16777216.0f;
        r = r * 1664525u + 1013904223u;
        tg[i] = -2.0f + 4.0f * (float)(r >> 8) / 16777216.0f;
        r = r * 1664525u + 1013904223u;
        ta[i] = i == 3 ? 0 : i == 4 ? 0x80000000u : r ^ (r >> 13) * 2654435761u;
        r = r * 1664525u + 1013904223u;
        tb[i] = i % 5 ? (r ^ (r >> 13) * 2654435761u) >> (i % 29) : 0;
    }
    uint64_t dtx = zkt_alloc(&tm, TN * 4), dtg = zkt_alloc(&tm, TN * 4),
             dta = zkt_alloc(&tm, TN * 4), dtb = zkt_alloc(&tm, TN * 4);
    zkt_put(&tm, dtx, tx, TN * 4);
    zkt_put(&tm, dtg, tg, TN * 4);
    zkt_put(&tm, dta, ta, TN * 4);
    zkt_put(&tm, dtb, tb, TN * 4);
    rx = malloc(RN_ROWS * RN_N * 4);
    rw = malloc(RN_N * 4);
    for (uint32_t i = 0, r = 777; i < RN_ROWS * RN_N; i++) {
        r = r * 1664525u + 1013904223u;
        rx[i] = -3.0f + 6.0f * (float)(r >> 8) / 16777216.0f;
        if (i < RN_N) {
            rw[i] = 0.5f + (float)(r >> 8) / 16777216.0f;
        }
    }
    uint64_t drx = zkt_alloc(&tm, RN_ROWS * RN_N * 4), drw = zkt_alloc(&tm, RN_N * 4);
    zkt_put(&tm, drx, rx, RN_ROWS * RN_N * 4);
    zkt_put(&tm, drw, rw, RN_N * 4);
    const uint32_t eps = 0x3727c5ac; /* 1e-5f */
    rq = malloc(RO_HEADS * RO_DIM * 4);
    for (uint32_t i = 0, r = 99; i < RO_HEADS * RO_DIM; i++) {
        r = r * 1664525u + 1013904223u;
        rq[i] = -1.0f + 2.0f * (float)(r >> 8) / 16777216.0f;
    }
    for (int k = 0; k <= PD; k++) {
        pc[k] = 1.0f / (float)(k + 1) - 0.3f * (float)(k & 1);
    }
    hv = malloc(TN * 4);
    for (uint32_t i = 0; i < TN; i++) {
        hv[i] = (int32_t)(ta[i] % 61);
    }
    uint64_t dhv = zkt_alloc(&tm, TN * 4);
    zkt_put(&tm, dhv, hv, TN * 4);
    uint64_t drq = zkt_alloc(&tm, RO_HEADS * RO_DIM * 4), dpc = zkt_alloc(&tm, sizeof(pc));
    zkt_put(&tm, drq, rq, RO_HEADS * RO_DIM * 4);
    zkt_put(&tm, dpc, pc, sizeof(pc));
    const Twin T[] = {
        { "activations", "silu_mul", "twin_silu_mul", "silu_mul 256K", (TN + 255) / 256, 256,
          0, 0, 0, 4, 1 << 2, { dtx, dtg, 0, TN }, (TN + 1) * 4, NULL, check_silu },
        { "activations", "gelu", "twin_gelu", "gelu 256K", (TN + 255) / 256, 256, 0, 0, 0, 3,
          1 << 1, { dtx, 0, TN }, (TN + 1) * 4, NULL, check_gelu },
        { "bitops", "bitops", "twin_bitops", "bitops 256K (x8 outputs)", (TN + 255) / 256, 256,
          0, 0, 0, 4, 1 << 2, { dta, dtb, 0, TN }, (TN + 1) * 32, NULL, check_bitops },
        { "rmsnorm", "rmsnorm", "twin_rmsnorm", "rmsnorm 512 x 1000", RN_ROWS, 128, 0, 0, 0, 5,
          1 << 2, { drx, drw, 0, RN_N, eps }, RN_ROWS * RN_N * 4, NULL, check_rmsnorm },
        { "rope", "rope", "twin_rope", "rope 2048 heads x 128", RO_HEADS * RO_DIM / 2 / 256, 256,
          0, 0, 0, 5, 1 << 0, { 0, RO_HEADS, RO_DIM, RO_POS, 0x461c4000 /* 10000.0f */ },
          RO_HEADS * RO_DIM * 4, rq, check_rope },
        { "softmax", "softmax", "twin_softmax", "softmax 512 x 1000", RN_ROWS, 128, 0, 0, 0, 3,
          1 << 1, { drx, 0, RN_N }, RN_ROWS * RN_N * 4, NULL, check_softmax },
        { "reduce_tree", "reduce_tree", "twin_reduce_tree", "reduce_tree 256K", RT_BLOCKS, 256,
          0, 0, 0, 3, 1 << 1, { dtx, 0, TN }, RT_BLOCKS * 4, NULL, check_reduce_tree },
        { "device_call", "eval_poly", "twin_eval_poly", "eval_poly (device call) 256K",
          (TN + 255) / 256, 256, 0, 0, 0, 5, 1 << 2, { drq, dpc, 0, PD, TN }, (TN + 1) * 4, NULL,
          check_eval_poly },
        { "reduce_warp", "reduce_warp", "twin_reduce_warp", "reduce_warp (sum max ballot) 256K",
          RW_BLOCKS, 128, 0, 0, 0, 5, 7 << 1, { dtx, 0, RW_BLOCKS * 4, RW_BLOCKS * 8, TN },
          RW_BLOCKS * 12, NULL, check_reduce_warp },
        { "local_array", "local_mode", "twin_local_mode", "local_mode 16K threads x 64 B",
          (LM_THREADS + 255) / 256, 256, 0, 0, 0, 4, 1 << 1, { dta, 0, LM_WIN, LM_N },
          (LM_THREADS + 1) * 4, NULL, check_local_mode },
        { "atomics", "histogram", "twin_histogram", "histogram (atomics) 256K",
          (TN + 255) / 256, 256, 0, 0, 0, 6, 15 << 1, { dhv, 0, 256, 260, 264, TN }, 67 * 4, NULL,
          check_histogram },
        { "sgemm_tiled", "sgemm_tiled", "twin_sgemm_tiled", "sgemm_tiled 256x256x250",
          (SG_N + 15) / 16, 16, 0, (SG_M + 15) / 16, 16, 6, 1 << 2,
          { drx, dtx, 0, SG_M, SG_N, SG_K }, SG_M * SG_N * 4, NULL, check_sgemm },
        { "attention", "attention", "twin_attention", "attention 32 heads x 500 x 128",
          AT_HEADS, AT_BLOCK, AT_LEN * 4, 0, 0, 8, 1 << 3,
          { dtx, drx, drq, 0, AT_LEN, AT_HEADS, AT_KVH, AT_DIM }, AT_HEADS * AT_DIM * 4, NULL,
          check_attention },
        { "many_live", "many_live", "twin_many_live", "many_live 2285 threads x 224",
          (ML_T + 127) / 128, 128, 0, 0, 0, 3, 1 << 1, { drx, 0, ML_T },
          (ML_T * ML_NV + 1) * 4, NULL, check_many_live },
    };
    const char *only = getenv("BENCH_PTX_ONLY"); /* one twin (profiling) */
    for (size_t k = 0; k < sizeof(T) / sizeof(T[0]); k++) {
        if (!only || !strcmp(only, T[k].ptx)) {
            rc |= twin(&T[k], corpus, &twins, tva);
        }
    }
    zk_obj_free(&twins);
    free(tx);
    free(tg);
    free(ta);
    free(tb);
    free(rx);
    free(rw);
    free(rq);
    free(hv);
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
