/* SPDX-License-Identifier: MIT */
/*
 * test_kernels.c - the kernel library (build/kernels/NAME.zko) end to end:
 * load with zk_obj_load, upload, launch by name with the documented
 * argument list, compare with plain C on random inputs.  The engine's ops
 * are tested in depth by test_engine; this checks each kernel's argument
 * plumbing, tiling and grid split.  Tolerances as in test_engine.c.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "zk_dtype.h"
#include "zk_engine.h"
#include "zk_isa.h"
#include "zk_kernel_helpers.h"
#include "zk_obj.h"
#include "zk_testmem.h"

static ZkTestMem T;

/* Launch kernel `name` from library file `lib` with 64-bit args. */
static int launch(const char *lib, const char *name, const uint64_t *args,
                  uint32_t nargs, uint32_t gx)
{
    ZkEngineStats st;
    return zkt_launch_lib(&T, lib, name, args, nargs, gx, &st);
}


static int setup(void **s)
{
    (void)s;
    zkt_init(&T, 64u << 20);
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    zkt_fini(&T);
    return 0;
}

static void test_vector_add(void **s)
{
    (void)s;
    enum { N = 1001 };
    float a[N], b[N], got[N], want[N];
    uint64_t va = zkt_put_rand(&T, a, N), vb = zkt_put_rand(&T, b, N), vo = zkt_alloc(&T, N * 4);
    for (uint32_t g = 1; g <= 7; g += 3) {
        uint64_t args[] = { va, vb, vo, N };
        memset(got, 0, sizeof(got));
        zkt_put(&T, vo, got, sizeof(got));
        assert_int_equal(launch("elementwise", "vector_add", args, 4, g), 0);
        zkt_get(&T, vo, got, sizeof(got));
        for (int i = 0; i < N; i++) want[i] = a[i] + b[i];
        assert_memory_equal(got, want, sizeof(got));
    }
}

static void test_elementwise_kernels(void **s)
{
    (void)s;
    enum { R = 5, C = 37, N = R * C };
    float a[N], b[N], got[N], want[N];
    uint64_t va = zkt_put_rand(&T, a, N), vb = zkt_put_rand(&T, b, N), vo = zkt_alloc(&T, N * 4);
    static const char *names[] = { "add_f32", "mul_f32", "swiglu_f32", "silu_f32",
                                   "gelu_f32", "exp_f32", "relu_f32", "scale_f32" };
    for (int k = 0; k < 8; k++) {
        uint64_t bin[] = { va, vb, vo, R, C };
        uint64_t un[] = { va, vo, R, C, zk_f32_bits(0.5f), zk_f32_bits(2.0f) };
        int r = k < 3 ? launch("elementwise", names[k], bin, 5, 2)
                      : launch("elementwise", names[k], un, k == 7 ? 6 : 4, 3);
        assert_int_equal(r, 0);
        zkt_get(&T, vo, got, sizeof(got));
        for (int i = 0; i < N; i++) {
            float x = a[i], y = b[i];
            float sil = x / (1.0f + expf(-x));
            want[i] = k == 0 ? x + y : k == 1 ? x * y : k == 2 ? sil * y
                    : k == 3 ? sil
                    : k == 4 ? 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)))
                    : k == 5 ? expf(x) : k == 6 ? (x > 0 ? x : 0) : x * 0.5f + 2.0f;
        }
        zkt_close_all(got, want, N, 0.0f);
    }
}

static void test_gemm_kernels(void **s)
{
    (void)s;
    enum { M = 9, N = 13, K = 21 };
    float a[M * K], b[K * N], got[M * N], want[M * N];
    for (int bt = 0; bt < 2; bt++) {
        for (unsigned dt = 0; dt < 3; dt++) {
            for (int i = 0; i < M * K; i++) a[i] = zkt_frand();
            for (int i = 0; i < K * N; i++) b[i] = zkt_frand();
            uint8_t ha[M * K * 4], hb[K * N * 4];
            zk_store_row(ha, dt, a, M * K);
            zk_store_row(hb, dt, b, K * N);
            zk_load_row(ha, dt, a, M * K);      /* what the kernel sees */
            zk_load_row(hb, dt, b, K * N);
            uint64_t va = zkt_alloc(&T, sizeof(ha)), vb = zkt_alloc(&T, sizeof(hb));
            uint64_t vc = zkt_alloc(&T, sizeof(got));
            zkt_put(&T, va, ha, sizeof(ha));
            zkt_put(&T, vb, hb, sizeof(hb));
            char name[64];
            snprintf(name, sizeof(name), "gemm_%s%s", zk_dtype_names[dt], bt ? "_bt" : "");
            uint64_t args[] = { va, vb, vc, M, N, K };
            assert_int_equal(launch("gemm", name, args, 6, 4), 0);
            zkt_get(&T, vc, got, sizeof(got));
            for (int i = 0; i < M; i++) {
                for (int j = 0; j < N; j++) {
                    double acc = 0;
                    for (int x = 0; x < K; x++)
                        acc += (double)a[i * K + x] * (bt ? b[j * K + x] : b[x * N + j]);
                    want[i * N + j] = (float)acc;
                }
            }
            zkt_close_all(got, want, M * N, 1e-5f * K);
            /* Grid M: one row per workgroup, the engine's single-row (gemv) path. */
            memset(got, 0, sizeof(got));
            zkt_put(&T, vc, got, sizeof(got));
            assert_int_equal(launch("gemm", name, args, 6, M), 0);
            zkt_get(&T, vc, got, sizeof(got));
            zkt_close_all(got, want, M * N, 1e-5f * K);
        }
    }
    /* int8 with dequantisation scales */
    int8_t qa[M * K], qb[N * K];
    float sa[M], sb[N];
    for (int i = 0; i < M * K; i++) qa[i] = (int8_t)(rand() % 255 - 127);
    for (int i = 0; i < N * K; i++) qb[i] = (int8_t)(rand() % 255 - 127);
    uint64_t va = zkt_alloc(&T, sizeof(qa)), vb = zkt_alloc(&T, sizeof(qb));
    uint64_t vsa = zkt_put_rand(&T, sa, M), vsb = zkt_put_rand(&T, sb, N), vc = zkt_alloc(&T, sizeof(got));
    zkt_put(&T, va, qa, sizeof(qa));
    zkt_put(&T, vb, qb, sizeof(qb));
    uint64_t args[] = { va, vb, vc, vsa, vsb, M, N, K };
    assert_int_equal(launch("gemm", "gemm_i8_deq_bt", args, 8, 2), 0);
    zkt_get(&T, vc, got, sizeof(got));
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            int32_t acc = 0;
            for (int x = 0; x < K; x++) acc += qa[i * K + x] * qb[j * K + x];
            want[i * N + j] = (float)acc * sa[i] * sb[j];
        }
    }
    assert_memory_equal(got, want, sizeof(got));
}

static void test_row_kernels(void **s)
{
    (void)s;
    enum { R = 4, C = 64, V = 10 };
    float x[R * C], w[C], bias[C], got[R * C], want[R * C];
    uint64_t vx = zkt_put_rand(&T, x, R * C), vw = zkt_put_rand(&T, w, C), vb = zkt_put_rand(&T, bias, C);
    uint64_t vo = zkt_alloc(&T, sizeof(got));
    uint64_t eps = zk_f32_bits(1e-5f);
    /* rmsnorm */
    uint64_t a1[] = { vx, vw, vo, R, C, eps };
    assert_int_equal(launch("rowops", "rmsnorm_f32", a1, 6, 1), 0);
    zkt_get(&T, vo, got, sizeof(got));
    for (int r = 0; r < R; r++) {
        double ss = 0;
        for (int c = 0; c < C; c++) ss += (double)x[r * C + c] * x[r * C + c];
        for (int c = 0; c < C; c++)
            want[r * C + c] = (float)(w[c] * x[r * C + c] / sqrt(ss / C + 1e-5));
    }
    zkt_close_all(got, want, R * C, 1e-5f);
    /* layernorm */
    uint64_t a2[] = { vx, vw, vb, vo, R, C, eps };
    assert_int_equal(launch("rowops", "layernorm_f32", a2, 7, 1), 0);
    zkt_get(&T, vo, got, sizeof(got));
    for (int r = 0; r < R; r++) {
        double m = 0, v = 0;
        for (int c = 0; c < C; c++) m += x[r * C + c];
        m /= C;
        for (int c = 0; c < C; c++) v += (x[r * C + c] - m) * (x[r * C + c] - m);
        v /= C;
        for (int c = 0; c < C; c++)
            want[r * C + c] = (float)((x[r * C + c] - m) / sqrt(v + 1e-5) * w[c] + bias[c]);
    }
    zkt_close_all(got, want, R * C, 1e-5f);
    /* softmax, argmax */
    uint64_t a3[] = { vx, vo, R, C };
    assert_int_equal(launch("rowops", "softmax_f32", a3, 4, 1), 0);
    zkt_get(&T, vo, got, sizeof(got));
    for (int r = 0; r < R; r++) {
        double mx = -INFINITY, z = 0;
        for (int c = 0; c < C; c++) mx = fmax(mx, x[r * C + c]);
        for (int c = 0; c < C; c++) z += exp(x[r * C + c] - mx);
        for (int c = 0; c < C; c++) want[r * C + c] = (float)(exp(x[r * C + c] - mx) / z);
    }
    zkt_close_all(got, want, R * C, 2e-5f);
    assert_int_equal(launch("rowops", "argmax_f32", a3, 4, 1), 0);
    int32_t idx[R];
    zkt_get(&T, vo, idx, sizeof(idx));
    for (int r = 0; r < R; r++) {
        int best = 0;
        for (int c = 1; c < C; c++) if (x[r * C + c] > x[r * C + best]) best = c;
        assert_int_equal(idx[r], best);
    }
    /* embedding */
    float tab[V * C];
    int32_t ids[R] = { 9, 0, 4, 9 };
    uint64_t vt = zkt_put_rand(&T, tab, V * C), vi = zkt_alloc(&T, sizeof(ids));
    zkt_put(&T, vi, ids, sizeof(ids));
    uint64_t a4[] = { vt, vi, vo, R, C, V };
    assert_int_equal(launch("rowops", "embedding_f32", a4, 6, 1), 0);
    zkt_get(&T, vo, got, sizeof(got));
    for (int r = 0; r < R; r++) assert_memory_equal(got + r * C, tab + ids[r] * C, C * 4);
    /* rope */
    uint64_t a5[] = { vx, vo, R, C, 5, 16 };
    assert_int_equal(launch("rowops", "rope_f32", a5, 6, 1), 0);
    zkt_get(&T, vo, got, sizeof(got));
    for (int r = 0; r < R; r++) {
        for (int i = 0; i < C; i += 2) {
            float freq = 1.0f / powf(10000.0f, (float)(i % 16) / 16.0f);
            float val = (float)(5 + r) * freq, fcr = cosf(val), fci = sinf(val);
            float v0 = x[r * C + i], v1 = x[r * C + i + 1];
            want[r * C + i] = v0 * fcr - v1 * fci;
            want[r * C + i + 1] = v0 * fci + v1 * fcr;
        }
    }
    zkt_close_all(got, want, R * C, 0.0f);
    /* quantize + dequantize */
    uint64_t vq = zkt_alloc(&T, R * C), vs = zkt_alloc(&T, R * 4);
    uint64_t a6[] = { vx, vq, vs, R, C }, a7[] = { vq, vs, vo, R, C };
    assert_int_equal(launch("rowops", "quantize_i8", a6, 5, 1), 0);
    assert_int_equal(launch("rowops", "dequantize_i8", a7, 5, 1), 0);
    zkt_get(&T, vo, got, sizeof(got));
    float sc[R];
    zkt_get(&T, vs, sc, sizeof(sc));
    for (int i = 0; i < R * C; i++) assert_true(fabsf(got[i] - x[i]) <= sc[i / C] * 0.5f + 1e-7f);
}

static void test_attention_kernels(void **s)
{
    (void)s;
    enum { H = 4, KVH = 2, HD = 8, BS = 4, NB = 6, CTX = 11, KVD = KVH * HD };
    int32_t table[NB] = { 5, 2, 0, 1, 3, 4 };
    float k[CTX * KVD], v[CTX * KVD], q[H * HD], got[H * HD];
    for (int dt = 0; dt < 2; dt++) {
        uint64_t vk = zkt_put_rand(&T, k, CTX * KVD), vv = zkt_put_rand(&T, v, CTX * KVD), vq = zkt_put_rand(&T, q, H * HD);
        uint64_t kc = zkt_alloc(&T, NB * BS * KVD * 4), vc = zkt_alloc(&T, NB * BS * KVD * 4);
        uint64_t vt = zkt_alloc(&T, sizeof(table)), vo = zkt_alloc(&T, sizeof(got));
        zkt_put(&T, vt, table, sizeof(table));
        /* prompt of 10 tokens, then one decode token at position 10 */
        uint64_t w1[] = { vk, vv, kc, vc, vt, 10, 0, KVD, BS, NB };
        uint64_t w2[] = { vk + 10 * KVD * 4, vv + 10 * KVD * 4, kc, vc, vt, 1, 10, KVD, BS, NB };
        const char *kw = dt ? "kv_write_f16" : "kv_write_f32";
        assert_int_equal(launch("attention", kw, w1, 10, 1), 0);
        assert_int_equal(launch("attention", kw, w2, 10, 1), 0);
        uint64_t pa[] = { vq, vo, kc, vc, vt, 1, H, KVH, HD, CTX, BS, NB };
        assert_int_equal(launch("attention", dt ? "paged_attention_f16" : "paged_attention_f32",
                                pa, 12, 1), 0);
        zkt_get(&T, vo, got, sizeof(got));
        for (int i = 0; i < CTX * KVD; i++) {
            if (dt) {
                k[i] = zk_f16_to_f32(zk_f32_to_f16(k[i]));
                v[i] = zk_f16_to_f32(zk_f32_to_f16(v[i]));
            }
        }
        for (int h = 0; h < H; h++) {
            int kh = h / (H / KVH);
            double sc[CTX], mx = -INFINITY, z = 0;
            for (int p = 0; p < CTX; p++) {
                double d = 0;
                for (int x = 0; x < HD; x++) d += q[h * HD + x] * k[p * KVD + kh * HD + x];
                sc[p] = d / sqrt(HD);
                mx = fmax(mx, sc[p]);
            }
            for (int p = 0; p < CTX; p++) z += exp(sc[p] - mx);
            for (int x = 0; x < HD; x++) {
                double o = 0;
                for (int p = 0; p < CTX; p++) o += exp(sc[p] - mx) / z * v[p * KVD + kh * HD + x];
                assert_true(fabs(got[h * HD + x] - o) <= 1e-5 * (1 + fabs(o)));
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_add),
        cmocka_unit_test(test_elementwise_kernels),
        cmocka_unit_test(test_gemm_kernels),
        cmocka_unit_test(test_row_kernels),
        cmocka_unit_test(test_attention_kernels),
    };
    srand(99);
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests_name("kernels", tests, setup, teardown);
}
