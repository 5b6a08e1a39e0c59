/* SPDX-License-Identifier: MIT */
/*
 * test_qgemm.c - the card's block-quantized matmul (QMATMUL, zk_qgemm.c)
 * and RoPE parameters, and the card's top-k selection (TOPK).  Weights are quantized by the runtime's ggml
 * encoder (runtime/llm/quant.c), so the card is checked against the file
 * format: result vs dequantize-then-multiply in double, within the bound
 * of the int8 activation rounding (per 32-block max|a|/254 times the
 * block's sum |w|); odd shapes, padded strides, accumulate, f16 and bf16
 * activations, bytes read = the quantized size; rows that are not whole
 * blocks and every other op given a quantized operand fault cleanly.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gguf.h"
#include "quant.h"
#include "zk_asm_helpers.h"
#include "zk_dtype.h"
#include "zk_isa.h"
#include "zk_tensor.h"

static uint64_t seed = 12345;
static float frand(void)
{
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((seed >> 33) % 20001) / 10000.0f - 1.0f;
}

static int setup(void **state)
{
    ZkTestMem *t = calloc(1, sizeof(*t));
    zkt_init(t, 64u << 20);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    zkt_fini(*state);
    free(*state);
    return 0;
}

/* C[m x n] (+)= A[m x k] * W[n x k]^T with W in @qt (ZK_DT_Q8_0/Q4_0). */
static void check(ZkTestMem *t, unsigned qt, unsigned adt, int m, int n, int k, int pad, int acc)
{
    uint32_t gtype = qt == ZK_DT_Q8_0 ? ZK_GGML_Q8_0 : ZK_GGML_Q4_0;
    unsigned bb = qt == ZK_DT_Q8_0 ? ZK_Q8_0_BYTES : ZK_Q4_0_BYTES;
    int lda = k + pad, ldw = k + (pad ? 32 : 0), ldc = n + pad;
    float *a = calloc((size_t)m * lda, 4), *w = malloc((size_t)n * k * 4), *wd = malloc((size_t)n * k * 4);
    float *c = malloc((size_t)m * ldc * 4), *want = malloc((size_t)m * ldc * 4);
    uint8_t *wq = calloc((size_t)n * (ldw / 32) * bb, 1);
    for (int i = 0; i < m * lda; i++) {
        a[i] = frand() * 3;
    }
    for (int i = 0; i < m; i++) {
        /* f16/bf16 activations: the card sees the rounded values. */
        for (int j = 0; j < k; j++) {
            float *x = &a[i * lda + j];
            *x = adt == ZK_DT_F16 ? zk_f16_to_f32(zk_f32_to_f16(*x))
                 : adt == ZK_DT_BF16 ? zk_bf16_to_f32(zk_f32_to_bf16(*x)) : *x;
        }
    }
    for (int i = 0; i < n * k; i++) {
        w[i] = frand() * (i % 7 == 0 ? 4.0f : 1.0f);
    }
    for (int r = 0; r < n; r++) {
        assert_int_equal(zk_quantize(gtype, w + (size_t)r * k, wq + (size_t)r * (ldw / 32) * bb, (size_t)k), 0);
        assert_int_equal(zk_dequantize(gtype, wq + (size_t)r * (ldw / 32) * bb, wd + (size_t)r * k, (size_t)k), 0);
    }
    for (int i = 0; i < m * ldc; i++) {
        c[i] = want[i] = frand();
    }
    /* Reference and its bound. */
    float *bound = malloc((size_t)m * n * 4);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double s = acc ? want[i * ldc + j] : 0, mag = 0, qerr = 0;
            for (int b0 = 0; b0 < k; b0 += 32) {
                double amax = 0, wsum = 0;
                for (int x = b0; x < b0 + 32; x++) {
                    double p = (double)a[i * lda + x] * wd[j * k + x];
                    s += p;
                    mag += fabs(p);
                    amax = fmax(amax, fabs(a[i * lda + x]));
                    wsum += fabs(wd[j * k + x]);
                }
                qerr += amax / 254.0 * wsum;
            }
            want[i * ldc + j] = (float)s;
            bound[i * n + j] = (float)(qerr * 1.01 + 1e-5 * (1 + mag + fabs(s)));
        }
    }
    uint64_t va = zkt_alloc(t, (uint64_t)m * lda * 4), vw = zkt_alloc(t, (uint64_t)n * (ldw / 32) * bb);
    uint64_t vc = zkt_alloc(t, (uint64_t)m * ldc * 4);
    uint8_t *tmp = malloc((size_t)m * lda * 4);
    zk_store_row(tmp, adt, a, (uint64_t)m * lda);
    zkt_put(t, va, tmp, (uint64_t)m * lda * zk_dt_size(adt));
    zkt_put(t, vw, wq, (uint64_t)n * (ldw / 32) * bb);
    zkt_put(t, vc, c, (uint64_t)m * ldc * 4);
    Prog p = { .n = 0 };
    tdesc(&p, 0, va, m, k, lda, adt);
    tdesc(&p, 1, vw, n, k, ldw, qt);
    tdesc(&p, 2, vc, m, n, ldc, ZK_DT_F32);
    tensor(&p, ZK_OP_QMATMUL, 2, 0, 1, 0, 0, 0, acc ? ZK_MM_ACC : 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    for (uint32_t i = 0; i < p.n; i++) {
        assert_null(zk_isa_check(p.code[i], 0, p.n * 8));
    }
    ZkEngineStats st;
    ZkFault f;
    assert_int_equal(run_prog(t, &p, NULL, 0, 1, 1, 1, 0, &st, &f, NULL), 0);
    assert_int_equal(st.flops[ZK_DT_I8], 2ull * m * n * k);
    /* Bytes read: the weights at their quantized size (+ A). */
    assert_int_equal(st.bytes_read, (uint64_t)n * (k / 32) * bb + (uint64_t)m * k * zk_dt_size(adt) +
                                    (acc ? (uint64_t)m * n * 4 : 0));
    zkt_get(t, vc, c, (uint64_t)m * ldc * 4);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < ldc; j++) {
            float g = c[i * ldc + j], e = want[i * ldc + j];
            if (j >= n) {
                assert_true(g == e);            /* padding untouched */
            } else if (!(fabsf(g - e) <= bound[i * n + j])) {
                fail_msg("%s %ux%dx%dx%d [%d,%d] got %g want %g (bound %g)",
                         qt == ZK_DT_Q8_0 ? "q8_0" : "q4_0", adt, m, n, k, i, j, g, e, bound[i * n + j]);
            }
        }
    }
    free(a); free(w); free(wd); free(c); free(want); free(wq); free(bound); free(tmp);
}

static void test_qmatmul(void **state)
{
    ZkTestMem *t = *state;
    static const int shapes[][3] = { { 1, 1, 32 }, { 1, 7, 32 }, { 3, 33, 96 }, { 5, 64, 288 },
                                     { 2, 130, 64 }, { 1, 257, 768 } };
    for (int q = 0; q < 2; q++) {
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
            for (int v = 0; v < 3; v++) {
                unsigned adt = v == 2 ? ZK_DT_F16 : ZK_DT_F32;
                check(t, q ? ZK_DT_Q4_0 : ZK_DT_Q8_0, adt, shapes[s][0], shapes[s][1], shapes[s][2],
                      v == 1 ? 5 : 0, v == 1);
            }
        }
        check(t, q ? ZK_DT_Q4_0 : ZK_DT_Q8_0, ZK_DT_BF16, 3, 17, 64, 3, 0);
    }
}

/* zk_qdot (AVX2 when the host has it) is bit-identical to the order
 * docs/isa.md defines (eight int32 partial sums of four products per
 * block, fused into float lanes with the block scale, the lanes reduced
 * pairwise), including w = -128 and all-extreme blocks. */
static void test_qdot_exact(void **state)
{
    (void)state;
    enum { K = 256 };
    uint8_t b8[K / 32 * 34], b4[K / 32 * 18];
    int8_t aq[K];
    float ad[K / 32];
    for (int it = 0; it < 200; it++) {
        for (int i = 0; i < K; i++) {
            aq[i] = (int8_t)(it % 3 == 0 ? (i & 1 ? 127 : -127) : (int)(frand() * 127));
        }
        for (int b = 0; b < K / 32; b++) {
            ad[b] = frand();
            uint16_t d = zk_f32_to_f16(frand());
            memcpy(b8 + b * 34, &d, 2);
            memcpy(b4 + b * 18, &d, 2);
            for (int i = 0; i < 32; i++) {
                b8[b * 34 + 2 + i] = (uint8_t)(it % 3 == 0 ? 0x80 : (int)(frand() * 128) & 0xff);
            }
            for (int i = 0; i < 16; i++) {
                b4[b * 18 + 2 + i] = (uint8_t)(frand() * 255);
            }
        }
        float l8[8] = { 0 }, l4[8] = { 0 };
        for (int b = 0; b < K / 32; b++) {
            uint16_t d;
            memcpy(&d, b8 + b * 34, 2);
            float sc = zk_f16_to_f32(d) * ad[b];
            for (int j = 0; j < 8; j++) {
                int32_t s8 = 0, s4 = 0;
                for (int i = 4 * j; i < 4 * j + 4; i++) {
                    int q4 = i < 16 ? (b4[b * 18 + 2 + i] & 15) - 8 : (b4[b * 18 + 2 + i - 16] >> 4) - 8;
                    s8 += (int8_t)b8[b * 34 + 2 + i] * aq[b * 32 + i];
                    s4 += q4 * aq[b * 32 + i];
                }
                l8[j] = fmaf((float)s8, sc, l8[j]);
                l4[j] = fmaf((float)s4, sc, l4[j]);
            }
        }
        float w8 = ((l8[0] + l8[4]) + (l8[2] + l8[6])) + ((l8[1] + l8[5]) + (l8[3] + l8[7]));
        float w4 = ((l4[0] + l4[4]) + (l4[2] + l4[6])) + ((l4[1] + l4[5]) + (l4[3] + l4[7]));
        assert_true(zk_qdot(ZK_DT_Q8_0, b8, aq, ad, K) == w8);
        assert_true(zk_qdot(ZK_DT_Q4_0, b4, aq, ad, K) == w4);
    }
}

static int run_one(ZkTestMem *t, Prog *p)
{
    ZkEngineStats st;
    ZkFault f;
    emit(p, ZK_OP_HALT, 0, 0, 0, 0);
    return run_prog(t, p, NULL, 0, 1, 1, 1, 0, &st, &f, NULL);
}

static void test_rejects(void **state)
{
    ZkTestMem *t = *state;
    uint64_t v = zkt_alloc(t, 1 << 16), w = zkt_alloc(t, 1 << 16), c = zkt_alloc(t, 1 << 16);
    Prog p;
    /* K = 48: not whole blocks. */
    p.n = 0;
    tdesc(&p, 0, v, 1, 48, 0, ZK_DT_F32);
    tdesc(&p, 1, w, 4, 48, 0, ZK_DT_Q8_0);
    tdesc(&p, 2, c, 1, 4, 0, ZK_DT_F32);
    tensor(&p, ZK_OP_QMATMUL, 2, 0, 1, 0, 0, 0, 0);
    assert_int_equal(run_one(t, &p), ZK_FAULT_ENGINE);
    /* B stride not whole blocks; K mismatch; f32 B; i32 C. */
    const unsigned bad[][5] = {
        { 64, 64, 80, ZK_DT_Q4_0, ZK_DT_F32 }, { 64, 32, 32, ZK_DT_Q4_0, ZK_DT_F32 },
        { 64, 64, 64, ZK_DT_F32, ZK_DT_F32 }, { 64, 64, 64, ZK_DT_Q8_0, ZK_DT_I32 },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p.n = 0;
        tdesc(&p, 0, v, 1, bad[i][0], 0, ZK_DT_F32);
        tdesc(&p, 1, w, 4, bad[i][1], bad[i][2], bad[i][3]);
        tdesc(&p, 2, c, 1, 4, 0, bad[i][4]);
        tensor(&p, ZK_OP_QMATMUL, 2, 0, 1, 0, 0, 0, 0);
        assert_int_equal(run_one(t, &p), ZK_FAULT_ENGINE);
    }
    /* Weights past the mapping: an MMU fault, not a host read. */
    p.n = 0;
    tdesc(&p, 0, v, 1, 64, 0, ZK_DT_F32);
    tdesc(&p, 1, w + (1 << 16) - 34, 2, 64, 0, ZK_DT_Q8_0);
    tdesc(&p, 2, c, 1, 2, 0, ZK_DT_F32);
    tensor(&p, ZK_OP_QMATMUL, 2, 0, 1, 0, 0, 0, 0);
    int r = run_one(t, &p);
    assert_true(r != 0 && r != ZK_FAULT_ENGINE);
    /* Every element op refuses block-quantized operands. */
    const uint8_t ops[] = { ZK_OP_EBIN, ZK_OP_EUN, ZK_OP_SOFTMAX, ZK_OP_EMBED, ZK_OP_REDUCE, ZK_OP_MATMUL };
    for (size_t i = 0; i < sizeof(ops); i++) {
        p.n = 0;
        tdesc(&p, 0, v, 2, 64, 0, ZK_DT_F32);
        tdesc(&p, 1, w, 2, 64, 0, ZK_DT_Q4_0);
        tdesc(&p, 2, c, 2, 64, 0, ZK_DT_F32);
        tdesc(&p, 3, c, 2, 1, 0, ZK_DT_I32);
        if (ops[i] == ZK_OP_EMBED) {
            tensor(&p, ops[i], 0, 1, 3, 0, 0, 0, 0);
        } else if (ops[i] == ZK_OP_REDUCE) {
            tensor(&p, ops[i], 3, 1, 0, 0, 0, 0, ZK_RED_ARGMAX);
        } else if (ops[i] == ZK_OP_MATMUL) {
            tensor(&p, ops[i], 2, 1, 1, 0, 0, 0, ZK_MM_BT);
        } else {
            tensor(&p, ops[i], 2, 1, ops[i] == ZK_OP_EBIN ? 0 : 0, 0, 0, 0, 0);
        }
        assert_int_equal(run_one(t, &p), ZK_FAULT_ENGINE);
    }
    /* The verifier: qmatmul takes only the acc flag, rope only params. */
    assert_non_null(zk_isa_check(ZK_INSN(ZK_OP_QMATMUL, 2, 0, 1, ZK_TI(0, 0, 0, ZK_MM_BT)), 0, 8));
    assert_null(zk_isa_check(ZK_INSN(ZK_OP_QMATMUL, 2, 0, 1, ZK_TI(0, 0, 0, ZK_MM_ACC)), 0, 8));
    assert_null(zk_isa_check(ZK_INSN(ZK_OP_ROPE, 2, 0, 0, ZK_TI(0, 0, 28, ZK_ROPE_PARAMS)), 0, 8));
    assert_non_null(zk_isa_check(ZK_INSN(ZK_OP_ROPE, 2, 0, 0, ZK_TI(0, 0, 30, ZK_ROPE_PARAMS)), 0, 8));
    assert_non_null(zk_isa_check(ZK_INSN(ZK_OP_ROPE, 2, 0, 0, ZK_TI(0, 0, 4, 2)), 0, 8));
}

/* RoPE with theta / scale parameters against the formula; no flag = 10000. */
static void test_rope_params(void **state)
{
    ZkTestMem *t = *state;
    const int rows = 3, cols = 16, hd = 8;
    float x[3 * 16], y[3 * 16];
    for (int i = 0; i < rows * cols; i++) {
        x[i] = frand();
    }
    uint64_t vx = zkt_alloc(t, sizeof(x)), vy = zkt_alloc(t, sizeof(y));
    zkt_put(t, vx, x, sizeof(x));
    for (int flag = 0; flag < 2; flag++) {
        float theta = flag ? 500000.0f : 10000.0f, scale = flag ? 0.25f : 1.0f;
        Prog p = { .n = 0 };
        tdesc(&p, 0, vx, rows, cols, 0, ZK_DT_F32);
        tdesc(&p, 1, vy, rows, cols, 0, ZK_DT_F32);
        li(&p, 10, 5);                  /* pos0 */
        li(&p, 11, hd);
        li(&p, 12, zk_f32_bits(theta));
        li(&p, 13, zk_f32_bits(scale));
        tensor(&p, ZK_OP_ROPE, 1, 0, 0, 0, 0, 10, flag ? ZK_ROPE_PARAMS : 0);
        assert_int_equal(run_one(t, &p), 0);
        zkt_get(t, vy, y, sizeof(y));
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < cols; i += 2) {
                double ang = (5 + r) * (double)scale * pow(theta, -(double)(i % hd) / hd);
                double a0 = x[r * cols + i], a1 = x[r * cols + i + 1];
                assert_float_equal(y[r * cols + i], a0 * cos(ang) - a1 * sin(ang), 2e-4);
                assert_float_equal(y[r * cols + i + 1], a0 * sin(ang) + a1 * cos(ang), 2e-4);
            }
        }
    }
    /* Bad parameters fault. */
    Prog p = { .n = 0 };
    tdesc(&p, 0, vx, rows, cols, 0, ZK_DT_F32);
    li(&p, 10, 0);
    li(&p, 11, hd);
    li(&p, 12, zk_f32_bits(0.5f));      /* theta <= 1 */
    li(&p, 13, zk_f32_bits(1.0f));
    tensor(&p, ZK_OP_ROPE, 0, 0, 0, 0, 0, 10, ZK_ROPE_PARAMS);
    assert_int_equal(run_one(t, &p), ZK_FAULT_ENGINE);
}

/* Top-k against a full sort (ties to the lower index, NaN last). */
static const float *sort_vals;
static int by_topk(const void *x, const void *y)
{
    uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
    float a = sort_vals[i], b = sort_vals[j];
    if (isnan(a) || isnan(b)) {
        return isnan(a) && isnan(b) ? (i > j) - (i < j) : isnan(a) ? 1 : -1;
    }
    if (a != b) {
        return a > b ? -1 : 1;
    }
    return (i > j) - (i < j);
}

static void test_topk(void **state)
{
    ZkTestMem *t = *state;
    static const int cases[][3] = { { 1, 1, 1 }, { 1, 5, 5 }, { 3, 100, 7 }, { 2, 4096, 64 }, { 1, 33, 32 } };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        int rows = cases[c][0], n = cases[c][1], k = cases[c][2];
        float *x = malloc((size_t)rows * n * 4), *v = malloc((size_t)rows * k * 4);
        int32_t *id = malloc((size_t)rows * k * 4);
        uint32_t *ord = malloc((size_t)n * 4);
        for (int i = 0; i < rows * n; i++) {
            x[i] = (float)((int)(frand() * 50));       /* many ties */
            if (i % 97 == 13) {
                x[i] = NAN;
            }
        }
        uint64_t vx = zkt_alloc(t, (uint64_t)rows * n * 4), vv = zkt_alloc(t, (uint64_t)rows * k * 4);
        uint64_t vi = zkt_alloc(t, (uint64_t)rows * k * 4);
        zkt_put(t, vx, x, (uint64_t)rows * n * 4);
        Prog p = { .n = 0 };
        tdesc(&p, 0, vx, rows, n, 0, ZK_DT_F32);
        tdesc(&p, 1, vv, rows, k, 0, ZK_DT_F32);
        tdesc(&p, 2, vi, rows, k, 0, ZK_DT_I32);
        tensor(&p, ZK_OP_TOPK, 1, 0, 2, 0, 0, 0, 0);
        assert_int_equal(run_one(t, &p), 0);
        zkt_get(t, vv, v, (uint64_t)rows * k * 4);
        zkt_get(t, vi, id, (uint64_t)rows * k * 4);
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < n; i++) {
                ord[i] = (uint32_t)i;
            }
            sort_vals = x + (size_t)r * n;
            qsort(ord, (size_t)n, 4, by_topk);
            for (int j = 0; j < k; j++) {
                if (id[r * k + j] != (int32_t)ord[j]) {
                    fail_msg("topk %dx%d k %d row %d [%d]: index %d, want %u", rows, n, k, r, j,
                             id[r * k + j], ord[j]);
                }
                float w = sort_vals[ord[j]];
                assert_true(isnan(w) ? isnan(v[r * k + j]) : v[r * k + j] == w);
            }
        }
        free(x); free(v); free(id); free(ord);
    }
    /* k > n, k = 0, wrong output types fault. */
    uint64_t m = zkt_alloc(t, 4096);
    const unsigned bad[][4] = { { 8, 9, ZK_DT_F32, ZK_DT_I32 }, { 8, 0, ZK_DT_F32, ZK_DT_I32 },
                                { 8, 4, ZK_DT_I32, ZK_DT_I32 }, { 8, 4, ZK_DT_F32, ZK_DT_F32 } };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        Prog p = { .n = 0 };
        tdesc(&p, 0, m, 1, bad[i][0], 0, ZK_DT_F32);
        tdesc(&p, 1, m + 1024, 1, bad[i][1], 0, bad[i][2]);
        tdesc(&p, 2, m + 2048, 1, bad[i][1], 0, bad[i][3]);
        tensor(&p, ZK_OP_TOPK, 1, 0, 2, 0, 0, 0, 0);
        assert_int_equal(run_one(t, &p), ZK_FAULT_ENGINE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_qmatmul, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rope_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topk, setup, teardown),
        cmocka_unit_test(test_qdot_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
