/* SPDX-License-Identifier: MIT */
/*
 * test_ptx_exec.c - CUDA C kernels run on the card's engine: each corpus
 * kernel (tests/cuda/NAME.cu, compiled to PTX by clang-14 and, when present,
 * nvcc) is translated by the PTX front end, launched on the SIMT
 * interpreter over a fake HBM (tests/host/zk_testmem.c) and its output
 * compared with a C reference.  Every kernel also runs with the register
 * file cut to 16 so the allocator's spill code is exercised for real.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ptx_xlate.h"
#include "zk_engine.h"
#include "zk_obj.h"
#include "zk_testmem.h"
#include "zk_fatbin.h"

#define HBM (256u << 20)

static const char *g_compiler = "clang";
static uint32_t g_max_regs;         /* 0: all registers */

static char *slurp(const char *path, size_t *len)
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
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

typedef struct Mod {
    zk_ptx_image img;
    ZkTestMem *t;
    uint64_t code_va;
} Mod;

/* Returns 0, or -1 when this compiler's corpus is absent (skip). */
static int load(ZkTestMem *t, const char *name, Mod *m)
{
    const char *dir = getenv("ZK_PTX_CORPUS");
    char path[512], err[512];
    zk_ptx_options opt = { .max_regs = g_max_regs };
    size_t len;
    char *text;
    snprintf(path, sizeof(path), "%s/%s/%s.ptx", dir ? dir : "build/ptx-corpus", g_compiler,
             name);
    text = slurp(path, &len);
    if (!text) {
        return -1;
    }
    if (zk_ptx_compile(text, len, path, &opt, &m->img, err, sizeof(err)) != 0) {
        free(text);
        fail_msg("%s", err);
    }
    free(text);
    m->t = t;
    m->code_va = zkt_alloc(t, m->img.size);
    zkt_put(t, m->code_va, m->img.image, m->img.size);
    return 0;
}

/* A module from PTX text written in the test. */
static void load_text(ZkTestMem *t, const char *text, Mod *m)
{
    char err[512];
    zk_ptx_options opt = { .max_regs = g_max_regs };
    if (zk_ptx_compile(text, strlen(text), "inline.ptx", &opt, &m->img, err, sizeof(err))) {
        fail_msg("%s", err);
    }
    m->t = t;
    m->code_va = zkt_alloc(t, m->img.size);
    zkt_put(t, m->code_va, m->img.image, m->img.size);
}

#define LOAD_OR_SKIP(t, name, m) do { \
        if (load((t), (name), (m)) != 0) { \
            print_message("# SKIP %s corpus not built\n", g_compiler); \
            skip(); \
        } \
    } while (0)

/* Launch kernel with arguments in .entry order (each written at its offset
 * with its size: the layout the CUDA API layers use). */
static void launch(Mod *m, const char *kernel, const uint32_t grid[3], const uint32_t block[3],
                   uint32_t dyn_shared, const uint64_t *args, unsigned int nargs)
{
    const zk_ptx_kernel *k = zk_ptx_find_kernel(&m->img, kernel);
    uint8_t params[4096];
    uint64_t pva = 0;
    ZkEngineStats st;
    ZkFault fault;
    int rc;
    assert_non_null(k);
    assert_int_equal(k->nparams, nargs);
    memset(params, 0, sizeof(params));
    for (unsigned int i = 0; i < nargs; i++) {
        memcpy(params + k->params[i].offset, &args[i], k->params[i].size);
    }
    if (k->param_bytes) {
        pva = zkt_alloc(m->t, k->param_bytes);
        zkt_put(m->t, pva, params, k->param_bytes);
    }
    ZkLaunch l = {
        .code_va = m->code_va, .code_size = m->img.size, .entry = k->entry,
        .args_va = pva, .args_size = k->param_bytes, .num_cus = 2, .simt = true,
        .shared_bytes = k->shared_bytes + dyn_shared, .local_bytes = k->local_bytes,
    };
    for (int i = 0; i < 3; i++) {
        l.grid[i] = grid[i];
        l.block[i] = block[i];
    }
    memset(&st, 0, sizeof(st));
    memset(&fault, 0, sizeof(fault));
    rc = zk_engine_launch(&m->t->ms, &l, &st, &fault, NULL);
    if (rc != 0) {
        fail_msg("%s: launch fault %d (type %u, va 0x%llx)", kernel, rc, fault.type,
                 (unsigned long long)fault.va);
    }
    if (g_max_regs) {
        print_message("# %s: %u registers, %u values spilled, %u local bytes\n", kernel,
                      k->regs, k->spills, k->local_bytes);
    }
}

static void unload(Mod *m)
{
    zk_ptx_image_free(&m->img);
}

static uint64_t buf(ZkTestMem *t, const void *data, size_t len)
{
    uint64_t va = zkt_alloc(t, len ? len : 4);
    if (data) {
        zkt_put(t, va, data, len);
    } else {
        void *z = calloc(1, len ? len : 4);
        zkt_put(t, va, z, len ? len : 4);
        free(z);
    }
    return va;
}

static uint32_t rng_state = 12345;
static float frand(float lo, float hi)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(rng_state >> 8) / 16777216.0f;
}
static uint32_t urand(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state ^ (rng_state >> 13) * 2654435761u;
}

static uint64_t f32arg(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

static void close_enough(const float *got, const float *want, size_t n, float tol,
                         const char *what)
{
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(got[i] - want[i]);
        if (!(d <= tol * (1.0f + fabsf(want[i])))) {
            fail_msg("%s[%zu] = %.7g, want %.7g", what, i, (double)got[i], (double)want[i]);
        }
    }
}

#define G(x, y, z) ((const uint32_t[3]){ (x), (y), (z) })

/* ---- kernels ------------------------------------------------------------------------ */

static void test_vector_add(void **state)
{
    ZkTestMem *t = *state;
    enum { N = 1000 };
    float a[N], b[N], c[N], want[N];
    Mod m;
    LOAD_OR_SKIP(t, "vector_add", &m);
    for (int i = 0; i < N; i++) {
        a[i] = frand(-10, 10);
        b[i] = frand(-10, 10);
        want[i] = a[i] + b[i];
    }
    uint64_t da = buf(t, a, sizeof(a)), db = buf(t, b, sizeof(b)), dc = buf(t, NULL, sizeof(c));
    launch(&m, "vector_add", G(8, 1, 1), G(128, 1, 1), 0, (uint64_t[]){ da, db, dc, N }, 4);
    zkt_get(t, dc, c, sizeof(c));
    close_enough(c, want, N, 0, "c");
    unload(&m);
}

static void test_sgemm(void **state)
{
    ZkTestMem *t = *state;
    enum { M = 37, N = 29, K = 45 };
    static float A[M * K], B[K * N], C[M * N], want[M * N];
    Mod m;
    LOAD_OR_SKIP(t, "sgemm_tiled", &m);
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
    uint64_t dA = buf(t, A, sizeof(A)), dB = buf(t, B, sizeof(B)), dC = buf(t, NULL, sizeof(C));
    launch(&m, "sgemm_tiled", G((N + 15) / 16, (M + 15) / 16, 1), G(16, 16, 1), 0,
           (uint64_t[]){ dA, dB, dC, M, N, K }, 6);
    zkt_get(t, dC, C, sizeof(C));
    close_enough(C, want, M * N, 1e-5f, "C");
    unload(&m);
}

static void test_reduce_tree(void **state)
{
    ZkTestMem *t = *state;
    enum { N = 3000, BS = 256, NB = (N + 2 * BS - 1) / (2 * BS) };
    static float in[N];
    float sums[NB], want[NB] = { 0 };
    Mod m;
    LOAD_OR_SKIP(t, "reduce_tree", &m);
    for (int i = 0; i < N; i++) {
        in[i] = frand(-1, 1);
        want[i / (2 * BS)] += in[i];
    }
    uint64_t di = buf(t, in, sizeof(in)), ds = buf(t, NULL, sizeof(sums));
    launch(&m, "reduce_tree", G(NB, 1, 1), G(BS, 1, 1), 0, (uint64_t[]){ di, ds, N }, 3);
    zkt_get(t, ds, sums, sizeof(sums));
    close_enough(sums, want, NB, 1e-4f, "block_sums");
    unload(&m);
}

static void test_reduce_warp(void **state)
{
    ZkTestMem *t = *state;
    enum { N = 1000, BS = 128, NB = (N + BS - 1) / BS };
    static float in[N];
    float sums[NB], maxes[NB], wsum[NB] = { 0 }, wmax[NB];
    int pos[NB], wpos[NB] = { 0 };
    Mod m;
    LOAD_OR_SKIP(t, "reduce_warp", &m);
    for (int b = 0; b < NB; b++) {
        wmax[b] = -3.0e38f;
    }
    for (int i = 0; i < N; i++) {
        in[i] = frand(-1, 1);
        wsum[i / BS] += in[i];
        wmax[i / BS] = fmaxf(wmax[i / BS], in[i]);
        wpos[i / BS] += in[i] > 0;
    }
    uint64_t di = buf(t, in, sizeof(in)), ds = buf(t, NULL, sizeof(sums)),
             dm = buf(t, NULL, sizeof(maxes)), dp = buf(t, NULL, sizeof(pos));
    launch(&m, "reduce_warp", G(NB, 1, 1), G(BS, 1, 1), 0, (uint64_t[]){ di, ds, dm, dp, N }, 5);
    zkt_get(t, ds, sums, sizeof(sums));
    zkt_get(t, dm, maxes, sizeof(maxes));
    zkt_get(t, dp, pos, sizeof(pos));
    close_enough(sums, wsum, NB, 1e-4f, "sums");
    close_enough(maxes, wmax, NB, 0, "maxes");
    for (int b = 0; b < NB; b++) {
        assert_int_equal(pos[b], wpos[b]);
    }
    unload(&m);
}

static void test_softmax(void **state)
{
    ZkTestMem *t = *state;
    enum { R = 5, N = 300 };
    static float x[R * N], y[R * N], want[R * N];
    Mod m;
    LOAD_OR_SKIP(t, "softmax", &m);
    for (int i = 0; i < R * N; i++) {
        x[i] = frand(-8, 8);
    }
    for (int r = 0; r < R; r++) {
        float mx = -3e38f;
        double s = 0;
        for (int j = 0; j < N; j++) {
            mx = fmaxf(mx, x[r * N + j]);
        }
        for (int j = 0; j < N; j++) {
            s += exp((double)x[r * N + j] - mx);
        }
        for (int j = 0; j < N; j++) {
            want[r * N + j] = (float)(exp((double)x[r * N + j] - mx) / s);
        }
    }
    uint64_t dx = buf(t, x, sizeof(x)), dy = buf(t, NULL, sizeof(y));
    launch(&m, "softmax", G(R, 1, 1), G(128, 1, 1), 0, (uint64_t[]){ dx, dy, N }, 3);
    zkt_get(t, dy, y, sizeof(y));
    close_enough(y, want, R * N, 2e-5f, "softmax");
    unload(&m);
}

static void test_rmsnorm(void **state)
{
    ZkTestMem *t = *state;
    enum { R = 4, N = 200 };
    static float x[R * N], w[N], y[R * N], want[R * N];
    const float eps = 1e-5f;
    Mod m;
    LOAD_OR_SKIP(t, "rmsnorm", &m);
    for (int i = 0; i < R * N; i++) {
        x[i] = frand(-3, 3);
    }
    for (int i = 0; i < N; i++) {
        w[i] = frand(0.5f, 1.5f);
    }
    for (int r = 0; r < R; r++) {
        double ss = 0;
        for (int j = 0; j < N; j++) {
            ss += (double)x[r * N + j] * x[r * N + j];
        }
        double sc = 1.0 / sqrt(ss / N + eps);
        for (int j = 0; j < N; j++) {
            want[r * N + j] = (float)(x[r * N + j] * sc * w[j]);
        }
    }
    uint64_t dx = buf(t, x, sizeof(x)), dw = buf(t, w, sizeof(w)), dy = buf(t, NULL, sizeof(y));
    launch(&m, "rmsnorm", G(R, 1, 1), G(128, 1, 1), 0,
           (uint64_t[]){ dx, dw, dy, N, f32arg(eps) }, 5);
    zkt_get(t, dy, y, sizeof(y));
    close_enough(y, want, R * N, 1e-5f, "rmsnorm");
    unload(&m);
}

static void test_rope(void **state)
{
    ZkTestMem *t = *state;
    enum { H = 4, D = 64 };
    const int pos = 7;
    const float theta = 10000.0f;
    float q[H * D], want[H * D];
    Mod m;
    LOAD_OR_SKIP(t, "rope", &m);
    for (int i = 0; i < H * D; i++) {
        q[i] = frand(-1, 1);
    }
    for (int h = 0; h < H; h++) {
        for (int i = 0; i < D / 2; i++) {
            double f = pow(theta, -2.0 * i / D), a = pos * f;
            double x0 = q[h * D + 2 * i], x1 = q[h * D + 2 * i + 1];
            want[h * D + 2 * i] = (float)(x0 * cos(a) - x1 * sin(a));
            want[h * D + 2 * i + 1] = (float)(x0 * sin(a) + x1 * cos(a));
        }
    }
    uint64_t dq = buf(t, q, sizeof(q));
    launch(&m, "rope", G(2, 1, 1), G(64, 1, 1), 0,
           (uint64_t[]){ dq, H, D, (uint64_t)pos, f32arg(theta) }, 5);
    zkt_get(t, dq, q, sizeof(q));
    close_enough(q, want, H * D, 1e-4f, "rope");
    unload(&m);
}

static void test_attention(void **state)
{
    ZkTestMem *t = *state;
    enum { H = 4, KVH = 2, D = 32, L = 50 };
    static float q[H * D], k[L * KVH * D], v[L * KVH * D], out[H * D], want[H * D];
    Mod m;
    LOAD_OR_SKIP(t, "attention", &m);
    for (int i = 0; i < H * D; i++) {
        q[i] = frand(-1, 1);
    }
    for (int i = 0; i < L * KVH * D; i++) {
        k[i] = frand(-1, 1);
        v[i] = frand(-1, 1);
    }
    for (int h = 0; h < H; h++) {
        int kh = h / (H / KVH);
        double s[L], mx = -1e300, sum = 0;
        for (int tt = 0; tt < L; tt++) {
            double d = 0;
            for (int e = 0; e < D; e++) {
                d += (double)q[h * D + e] * k[(tt * KVH + kh) * D + e];
            }
            s[tt] = d / sqrt((double)D);
            mx = fmax(mx, s[tt]);
        }
        for (int tt = 0; tt < L; tt++) {
            s[tt] = exp(s[tt] - mx);
            sum += s[tt];
        }
        for (int e = 0; e < D; e++) {
            double acc = 0;
            for (int tt = 0; tt < L; tt++) {
                acc += s[tt] * v[(tt * KVH + kh) * D + e];
            }
            want[h * D + e] = (float)(acc / sum);
        }
    }
    uint64_t dq = buf(t, q, sizeof(q)), dk = buf(t, k, sizeof(k)), dv = buf(t, v, sizeof(v)),
             dout = buf(t, NULL, sizeof(out));
    launch(&m, "attention", G(H, 1, 1), G(64, 1, 1), L * sizeof(float),
           (uint64_t[]){ dq, dk, dv, dout, L, H, KVH, D }, 8);
    zkt_get(t, dout, out, sizeof(out));
    close_enough(out, want, H * D, 1e-4f, "attention");
    unload(&m);
}

static void test_activations(void **state)
{
    ZkTestMem *t = *state;
    enum { N = 500 };
    float x[N], g[N], y[N], want[N];
    Mod m;
    LOAD_OR_SKIP(t, "activations", &m);
    for (int i = 0; i < N; i++) {
        x[i] = frand(-6, 6);
        g[i] = frand(-2, 2);
        want[i] = (float)(x[i] / (1.0 + exp(-(double)x[i])) * g[i]);
    }
    uint64_t dx = buf(t, x, sizeof(x)), dg = buf(t, g, sizeof(g)), dy = buf(t, NULL, sizeof(y));
    launch(&m, "silu_mul", G(4, 1, 1), G(128, 1, 1), 0, (uint64_t[]){ dx, dg, dy, N }, 4);
    zkt_get(t, dy, y, sizeof(y));
    close_enough(y, want, N, 1e-5f, "silu_mul");
    for (int i = 0; i < N; i++) {
        double v = x[i];
        want[i] = (float)(0.5 * v * (1.0 + tanh(0.7978845608 * (v + 0.044715 * v * v * v))));
    }
    launch(&m, "gelu", G(4, 1, 1), G(128, 1, 1), 0, (uint64_t[]){ dx, dy, N }, 3);
    zkt_get(t, dy, y, sizeof(y));
    close_enough(y, want, N, 1e-5f, "gelu");
    unload(&m);
}

static void test_atomics(void **state)
{
    ZkTestMem *t = *state;
    enum { N = 2000 };
    static int in[N];
    int bins[64] = { 0 }, wbins[64] = { 0 }, maxv = -1, wmax = -1, sevens = 0, wsev = 0;
    float total = 0, wtot = 0;
    Mod m;
    LOAD_OR_SKIP(t, "atomics", &m);
    for (int i = 0; i < N; i++) {
        in[i] = (int)(urand() % 100);
        wbins[in[i] & 63]++;
        wmax = in[i] > wmax ? in[i] : wmax;
        wtot += (float)in[i];
        wsev += in[i] == 7;
    }
    uint64_t di = buf(t, in, sizeof(in)), db = buf(t, bins, sizeof(bins)),
             dm = buf(t, &maxv, 4), dt = buf(t, &total, 4), ds = buf(t, &sevens, 4);
    launch(&m, "histogram", G((N + 127) / 128, 1, 1), G(128, 1, 1), 0,
           (uint64_t[]){ di, db, dm, dt, ds, N }, 6);
    zkt_get(t, db, bins, sizeof(bins));
    zkt_get(t, dm, &maxv, 4);
    zkt_get(t, dt, &total, 4);
    zkt_get(t, ds, &sevens, 4);
    for (int b = 0; b < 64; b++) {
        assert_int_equal(bins[b], wbins[b]);
    }
    assert_int_equal(maxv, wmax);
    assert_int_equal(sevens, wsev);
    assert_true(total == wtot);     /* integers below 2^24: exact in any order */
    unload(&m);
}

static void test_device_call(void **state)
{
    ZkTestMem *t = *state;
    enum { N = 300, DEG = 5 };
    float x[N], y[N], want[N], coef[DEG + 1];
    Mod m;
    LOAD_OR_SKIP(t, "device_call", &m);
    for (int k = 0; k <= DEG; k++) {
        coef[k] = frand(-1, 1);
    }
    for (int i = 0; i < N; i++) {
        x[i] = frand(-1.5f, 1.5f);
        double p = 0, q = 0;
        for (int k = DEG; k >= 0; k--) {
            p = p * x[i] + coef[k];
            q = q * -x[i] + coef[k];
        }
        want[i] = (float)(p - q);
    }
    uint64_t dx = buf(t, x, sizeof(x)), dc = buf(t, coef, sizeof(coef)),
             dy = buf(t, NULL, sizeof(y));
    launch(&m, "eval_poly", G(3, 1, 1), G(128, 1, 1), 0, (uint64_t[]){ dx, dc, dy, DEG, N }, 5);
    zkt_get(t, dy, y, sizeof(y));
    close_enough(y, want, N, 1e-5f, "eval_poly");
    unload(&m);
}

static void test_local_array(void **state)
{
    ZkTestMem *t = *state;
    enum { W = 64, T = 64, N = W * T - 10 };
    static unsigned char in[W * T];
    int mode[T], want[T];
    Mod m;
    LOAD_OR_SKIP(t, "local_array", &m);
    for (int i = 0; i < N; i++) {
        in[i] = (unsigned char)(urand() % 7 * 37);
    }
    for (int th = 0; th < T; th++) {
        int counts[256] = { 0 }, best = 0;
        for (int j = 0; j < W && th * W + j < N; j++) {
            counts[in[th * W + j]]++;
        }
        for (int b = 1; b < 256; b++) {
            if (counts[b] > counts[best]) {
                best = b;
            }
        }
        want[th] = best;
    }
    uint64_t di = buf(t, in, sizeof(in)), dm = buf(t, NULL, sizeof(mode));
    launch(&m, "local_mode", G(2, 1, 1), G(32, 1, 1), 0, (uint64_t[]){ di, dm, W, N }, 4);
    zkt_get(t, dm, mode, sizeof(mode));
    for (int th = 0; th < T; th++) {
        assert_int_equal(mode[th], want[th]);
    }
    unload(&m);
}

static void test_many_live(void **state)
{
    ZkTestMem *t = *state;
    enum { NV = 224, T = 40 };
    static float in[T * NV], out[T * NV], want[T * NV];
    Mod m;
    LOAD_OR_SKIP(t, "many_live", &m);
    for (int i = 0; i < T * NV; i++) {
        in[i] = frand(-1, 1);
    }
    for (int th = 0; th < T; th++) {
        float s = 0;
        for (int j = 0; j < NV; j++) {
            s = s * 0.5f + in[th * NV + j];
        }
        for (int j = 0; j < NV; j++) {
            want[th * NV + NV - 1 - j] = in[th * NV + j] * s + (float)j;
        }
    }
    uint64_t di = buf(t, in, sizeof(in)), dout = buf(t, NULL, sizeof(out));
    launch(&m, "many_live", G(2, 1, 1), G(32, 1, 1), 0, (uint64_t[]){ di, dout, T }, 3);
    zkt_get(t, dout, out, sizeof(out));
    close_enough(out, want, T * NV, 1e-6f, "many_live");
    {
        const zk_ptx_kernel *k = zk_ptx_find_kernel(&m.img, "many_live");
        if (!g_max_regs) {
            assert_true(k->regs > 200);     /* really 200+ live values in registers */
        } else {
            assert_true(k->spills > 100);
        }
    }
    unload(&m);
}

static void test_bitops(void **state)
{
    ZkTestMem *t = *state;
    enum { N = 256 };
    uint32_t a[N], b[N], out[8 * N], want[8 * N];
    Mod m;
    LOAD_OR_SKIP(t, "bitops", &m);
    for (int i = 0; i < N; i++) {
        a[i] = urand();
        b[i] = i % 5 ? urand() >> (i % 29) : 0;
        a[i] = i == 3 ? 0 : i == 4 ? 0x80000000u : a[i];
        uint32_t x = a[i], y = b[i] | 1u, rev = 0;
        uint64_t yx = (uint64_t)y << 32 | x;
        for (int k = 0; k < 32; k++) {
            rev |= ((x >> k) & 1u) << (31 - k);
        }
        want[8 * i + 0] = (uint32_t)__builtin_popcount(x);
        want[8 * i + 1] = x ? (uint32_t)__builtin_clz(x) : 32;
        want[8 * i + 2] = rev;
        want[8 * i + 3] = 0;
        for (int k = 0; k < 4; k++) {
            unsigned int s = (0x5140u >> (4 * k)) & 7;
            want[8 * i + 3] |= (uint32_t)((yx >> (8 * s)) & 0xff) << (8 * k);
        }
        want[8 * i + 4] = (x & ~0xff0u) | ((y << 4) & 0xff0u);
        want[8 * i + 5] = (x >> (y & 31)) ^ (x << 3);
        want[8 * i + 6] = x / y + x % y;
        want[8 * i + 7] = (uint32_t)((int32_t)x / (int32_t)y);
    }
    uint64_t da = buf(t, a, sizeof(a)), db = buf(t, b, sizeof(b)), dout = buf(t, NULL, sizeof(out));
    launch(&m, "bitops", G(2, 1, 1), G(128, 1, 1), 0, (uint64_t[]){ da, db, dout, N }, 4);
    zkt_get(t, dout, out, sizeof(out));
    for (int i = 0; i < 8 * N; i++) {
        if (out[i] != want[i]) {
            fail_msg("bitops[%d] op %d (a=0x%x b=0x%x) = 0x%x, want 0x%x", i / 8, i % 8,
                     a[i / 8], b[i / 8], out[i], want[i]);
        }
    }
    unload(&m);
}

/* zkptx -o: the .zko object loads back (runtime/zk_obj.c, the ISA
 * verifier) with the same image and SIMT kernel descriptors, and runs. */
/*
 * The translator's exact rewrites (ptx_peephole.c) next to the cases they
 * must leave alone: mulwide+add with the index changed in between, 1 - x,
 * (x*2)*1.5 (folds) and (x*2)*0.75 (must not: x*2 may overflow where x*1.5
 * does not), a truncation feeding a compare (folds) and one feeding a
 * 64-bit conversion (must not).
 */
static const char peep_ptx[] =
    ".version 6.4\n.target sm_70\n.address_size 64\n"
    ".visible .entry peep(.param .u64 in, .param .u64 out)\n{\n"
    "  .reg .pred %p<3>;\n  .reg .b32 %r<10>;\n  .reg .f32 %f<10>;\n  .reg .b64 %rd<12>;\n"
    "  mov.u32 %r1, %tid.x;\n"
    "  ld.param.u64 %rd1, [in];\n"
    "  ld.param.u64 %rd2, [out];\n"
    "  mul.wide.u32 %rd3, %r1, 4;\n"
    "  add.s64 %rd4, %rd1, %rd3;\n"
    "  ld.global.f32 %f1, [%rd4];\n"
    "  mul.wide.u32 %rd5, %r1, 32;\n"
    "  add.u32 %r1, %r1, 1;\n"
    "  add.s64 %rd6, %rd2, %rd5;\n"
    "  sub.f32 %f2, 0f3F800000, %f1;\n"
    "  st.global.f32 [%rd6], %f2;\n"
    "  mul.f32 %f3, %f1, 0f40000000;\n"
    "  mul.f32 %f4, %f3, 0f3FC00000;\n"
    "  st.global.f32 [%rd6+4], %f4;\n"
    "  mul.f32 %f5, %f1, 0f40000000;\n"
    "  mul.f32 %f6, %f5, 0f3F400000;\n"
    "  st.global.f32 [%rd6+8], %f6;\n"
    "  cvt.u64.u32 %rd7, %r1;\n"
    "  add.s64 %rd8, %rd7, 4294967296;\n"
    "  cvt.u32.u64 %r2, %rd8;\n"
    "  setp.eq.s32 %p1, %r2, %r1;\n"
    "  selp.u32 %r3, 1, 0, %p1;\n"
    "  st.global.u32 [%rd6+12], %r3;\n"
    "  cvt.u32.u64 %r4, %rd8;\n"
    "  cvt.u64.u32 %rd9, %r4;\n"
    "  st.global.u64 [%rd6+16], %rd9;\n"
    "  add.u32 %r6, %r1, 7;\n"
    "  add.u32 %r1, %r1, 100;\n"
    "  mov.u32 %r7, %r6;\n"
    "  st.global.u32 [%rd6+24], %r7;\n"
    "  add.u32 %r8, %r1, 3;\n"
    "  mov.u32 %r9, %r1;\n"
    "  mov.u32 %r1, %r8;\n"
    "  sub.u32 %r9, %r1, %r9;\n"
    "  st.global.u32 [%rd6+28], %r9;\n"
    "  ret;\n}\n";

static void test_peephole(void **state)
{
    ZkTestMem *t = *state;
    enum { N = 64 };
    float x[N];
    uint32_t o[N][8];
    Mod m;
    for (int i = 0; i < N; i++) {
        x[i] = i == 0 ? 2.5e38f : i == 1 ? -3e38f : i == 2 ? 1.5e-40f : frand(-100, 100);
    }
    load_text(t, peep_ptx, &m);
    uint64_t dx = buf(t, x, sizeof(x)), dout = buf(t, NULL, sizeof(o));
    launch(&m, "peep", G(1, 1, 1), G(N, 1, 1), 0, (uint64_t[]){ dx, dout }, 2);
    zkt_get(t, dout, o, sizeof(o));
    for (int i = 0; i < N; i++) {
        volatile float two = x[i] * 2.0f;
        float want[3] = { 1.0f - x[i], two * 1.5f, two * 0.75f };
        uint64_t wide;
        for (int k = 0; k < 3; k++) {
            uint32_t w;
            memcpy(&w, &want[k], 4);
            if (o[i][k] != w) {
                fail_msg("thread %d output %d: 0x%08x, want 0x%08x (x = %g)", i, k, o[i][k], w,
                         (double)x[i]);
            }
        }
        assert_int_equal(o[i][3], 1);
        memcpy(&wide, &o[i][4], 8);
        assert_int_equal(wide, (uint64_t)i + 1);
        assert_int_equal(o[i][6], (uint32_t)i + 8);   /* t computed before its operand changed */
        assert_int_equal(o[i][7], 3);                 /* a copy's source computed at the copy */
    }
    unload(&m);
}

/*
 * Local memory through generic addresses (cvta.local, then ld/st without a
 * space): every thread must see its own copy even when all lanes use the
 * same address (what a device function taking a local array's pointer
 * does), and consecutive addresses must not be read as one run.
 */
static const char generic_local_ptx[] =
    ".version 6.4\n.target sm_70\n.address_size 64\n"
    ".visible .entry gl(.param .u64 out)\n{\n"
    "  .local .align 8 .b8 buf[8];\n"
    "  .reg .b32 %r<8>;\n  .reg .b64 %rd<8>;\n"
    "  mov.u32 %r1, %tid.x;\n"
    "  mul.lo.u32 %r2, %r1, 3;\n"
    "  st.local.u32 [buf], %r1;\n"
    "  st.local.u32 [buf+4], %r2;\n"
    "  mov.u64 %rd1, buf;\n"
    "  cvta.local.u64 %rd2, %rd1;\n"
    "  ld.u32 %r3, [%rd2];\n"
    "  ld.u32 %r4, [%rd2+4];\n"
    "  add.u32 %r5, %r4, 1;\n"
    "  st.u32 [%rd2+4], %r5;\n"
    "  ld.local.u32 %r6, [buf+4];\n"
    "  ld.param.u64 %rd3, [out];\n"
    "  mul.wide.u32 %rd4, %r1, 8;\n"
    "  add.s64 %rd5, %rd3, %rd4;\n"
    "  st.global.u32 [%rd5], %r3;\n"
    "  st.global.u32 [%rd5+4], %r6;\n"
    "  ret;\n}\n";

static void test_generic_local(void **state)
{
    ZkTestMem *t = *state;
    enum { N = 96 };
    uint32_t o[N][2];
    Mod m;
    load_text(t, generic_local_ptx, &m);
    uint64_t dout = buf(t, NULL, sizeof(o));
    launch(&m, "gl", G(2, 1, 1), G(N / 2, 1, 1), 0, (uint64_t[]){ dout }, 1);
    zkt_get(t, dout, o, N / 2 * 8);
    for (int i = 0; i < N / 2; i++) {
        assert_int_equal(o[i][0], (uint32_t)i);
        assert_int_equal(o[i][1], (uint32_t)(3 * i + 1));
    }
    unload(&m);
}

/* 16-bit integers as clang writes them for bool/char: add (wrapping),
 * and, signed and unsigned compares of the low 16 bits, cvt out. */
static const char int16_ptx[] =
    ".version 6.4\n.target sm_70\n.address_size 64\n"
    ".visible .entry b16(.param .u64 in, .param .u64 out)\n{\n"
    "  .reg .pred %p<4>;\n  .reg .b16 %rs<6>;\n  .reg .b32 %r<8>;\n  .reg .b64 %rd<6>;\n"
    "  mov.u32 %r1, %tid.x;\n"
    "  ld.param.u64 %rd1, [in];\n"
    "  ld.param.u64 %rd2, [out];\n"
    "  mul.wide.u32 %rd3, %r1, 2;\n"
    "  add.s64 %rd4, %rd1, %rd3;\n"
    "  ld.global.u16 %rs1, [%rd4];\n"
    "  add.s16 %rs2, %rs1, 30000;\n"
    "  and.b16 %rs3, %rs1, 255;\n"
    "  setp.lt.s16 %p1, %rs2, 0;\n"
    "  setp.ne.s16 %p2, %rs3, 0;\n"
    "  setp.hi.u16 %p3, %rs1, %rs3;\n"
    "  selp.u32 %r2, 1, 0, %p1;\n"
    "  selp.u32 %r3, 2, 0, %p2;\n"
    "  selp.u32 %r4, 4, 0, %p3;\n"
    "  or.b32 %r5, %r2, %r3;\n"
    "  or.b32 %r5, %r5, %r4;\n"
    "  cvt.u32.u16 %r6, %rs2;\n"
    "  shl.b32 %r6, %r6, 8;\n"
    "  or.b32 %r5, %r5, %r6;\n"
    "  mul.wide.u32 %rd5, %r1, 4;\n"
    "  add.s64 %rd5, %rd2, %rd5;\n"
    "  st.global.u32 [%rd5], %r5;\n"
    "  ret;\n}\n";

static void test_int16(void **state)
{
    ZkTestMem *t = *state;
    enum { N = 128 };
    uint16_t x[N];
    uint32_t o[N];
    Mod m;
    for (int i = 0; i < N; i++) {
        x[i] = i < 4 ? (uint16_t)(0x8000 - 30000 + i - 2) : (uint16_t)urand();
    }
    load_text(t, int16_ptx, &m);
    uint64_t dx = buf(t, x, sizeof(x)), dout = buf(t, NULL, sizeof(o));
    launch(&m, "b16", G(1, 1, 1), G(N, 1, 1), 0, (uint64_t[]){ dx, dout }, 2);
    zkt_get(t, dout, o, sizeof(o));
    for (int i = 0; i < N; i++) {
        uint16_t s = (uint16_t)(x[i] + 30000), a = x[i] & 255;
        uint32_t want = ((int16_t)s < 0) | (a != 0) << 1 | (x[i] > a) << 2 | (uint32_t)s << 8;
        assert_int_equal(o[i], want);
    }
    unload(&m);
}

static void test_zko_roundtrip(void **state)
{
    ZkTestMem *t = *state;
    uint8_t *obj;
    size_t len;
    ZkObj o;
    char err[256];
    Mod m;
    LOAD_OR_SKIP(t, "attention", &m);
    assert_int_equal(zk_ptx_write_zko(&m.img, &obj, &len), 0);
    if (zk_obj_load(obj, len, &o, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    assert_int_equal(o.image_size, m.img.size);
    assert_memory_equal(o.image, m.img.image, m.img.size);
    assert_int_equal(o.num_kernels, m.img.nkernels);
    {
        const ZkObjKernel *k = zk_obj_find(&o, "attention");
        const zk_ptx_kernel *pk = zk_ptx_find_kernel(&m.img, "attention");
        assert_non_null(k);
        assert_int_equal(k->entry, pk->entry);
        assert_true(k->desc.flags & ZK_KDESC_F_SIMT);
        assert_int_equal(k->simt.shared_bytes, pk->shared_bytes);
        assert_int_equal(k->simt.param_bytes, pk->param_bytes);
    }
    zk_obj_free(&o);
    free(obj);
    unload(&m);
}

static int setup(void **state)
{
    ZkTestMem *t = malloc(sizeof(*t));
    zkt_init(t, HBM);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    zkt_fini(*state);
    free(*state);
    return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        T(test_vector_add), T(test_sgemm), T(test_reduce_tree), T(test_reduce_warp),
        T(test_softmax), T(test_rmsnorm), T(test_rope), T(test_attention), T(test_activations),
        T(test_atomics), T(test_device_call), T(test_local_array), T(test_many_live),
        T(test_bitops), T(test_peephole), T(test_generic_local), T(test_int16),
        T(test_zko_roundtrip),
    };
    char name[64];
    int fails = 0;
    /* argv: compiler names (clang, nvcc); --spill runs with 16 registers */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--spill") == 0) {
            g_max_regs = 16;
            continue;
        }
        g_compiler = argv[i];
        snprintf(name, sizeof(name), "ptx_exec_%s%s", g_compiler, g_max_regs ? "_spill" : "");
        fails += cmocka_run_group_tests_name(name, tests, NULL, NULL);
    }
    if (argc < 2) {
        fails += cmocka_run_group_tests_name("ptx_exec_clang", tests, NULL, NULL);
    }
    return fails;
}
