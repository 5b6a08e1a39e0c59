/* SPDX-License-Identifier: MIT */
/*
 * test_perf.c - the card performance model (qemu-device/engine/zk_perf.c)
 * against hand-computed rooflines, and the engine's work counters
 * (ZkEngineStats) for library kernels against analytic counts.
 *
 * Kernels are loaded from build/kernels/NAME.zko and run on the host engine
 * exactly as tests/host/test_kernels.c does.
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
#include "zk_obj.h"
#include "zk_kernel_helpers.h"
#include "zk_perf.h"
#include "zk_testmem.h"

/* Relative tolerance for doubles computed two ways. */
static void near(double got, double want)
{
    if (!(fabs(got - want) <= 1e-9 * fabs(want) + 1e-9)) {
        fail_msg("got %.6f want %.6f", got, want);
    }
}

static ZkPerfParams zk100(void)
{
    ZkPerfParams p;
    assert_int_equal(zk_perf_profile("zk100", &p), 0);
    return p;
}

/* ------------------------------------------------------------------ */
/* The model                                                           */
/* ------------------------------------------------------------------ */

static void test_profiles(void **s)
{
    (void)s;
    ZkPerfParams p = zk100(), q;
    assert_int_equal(p.profile_id, ZK_PROFILE_ZK100);
    assert_int_equal(p.hbm_bw_mbs, 1600000);
    assert_int_equal(p.peak_gops[ZK_DT_F16], 96000);
    assert_int_equal(p.peak_gops[ZK_DT_I8], 192000);
    assert_int_equal(p.tdp_mw, 300000);
    assert_null(zk_perf_check(&p));
    assert_int_equal(zk_perf_profile("zk50", &q), 0);
    assert_int_equal(q.profile_id, ZK_PROFILE_ZK50);
    assert_int_equal(q.peak_gops[ZK_DT_F16], 64000);
    assert_true(q.hbm_bw_mbs < p.hbm_bw_mbs);
    assert_null(zk_perf_check(&q));
    assert_int_equal(zk_perf_profile("zk9000", &q), -1);
    assert_int_equal(zk_perf_profile(NULL, &q), -1);
    q = p;
    q.hbm_bw_mbs = 0;
    assert_non_null(zk_perf_check(&q));
    q = p;
    q.idle_mw = q.tdp_mw + 1;
    assert_non_null(zk_perf_check(&q));
}

/* A GEMM of known shape: compute-bound, exactly FLOPs / peak. */
static void test_gemm_compute_bound(void **s)
{
    (void)s;
    ZkPerfParams p = zk100();
    const uint64_t M = 4096, N = 4096, K = 4096;
    ZkPerfWork w = { .dma = false };
    ZkPerfCost c;

    w.flops[ZK_DT_F16] = 2 * M * N * K;
    w.hbm_bytes = (M * K + K * N) * 2 + M * N * 4;
    zk_perf_cost(&p, &w, 1500, &c);
    /* 137.4 GFLOP at 96 TFLOPS = 1.4317 ms; 100 MB at 1.6 TB/s = 63 us. */
    near(c.compute_ns, 2.0 * M * N * K / 96000.0);
    near(c.memory_ns, (double)w.hbm_bytes / 1.6e3);
    assert_int_equal(c.bound, ZK_PERF_BOUND_COMPUTE);
    near(c.overhead_ns, 2000);
    near(c.duration_ns, 2000 + 2.0 * M * N * K / 96000.0);
    /* Without overhead the duration is exactly FLOPs / peak. */
    p.launch_ns = 0;
    zk_perf_cost(&p, &w, 1500, &c);
    near(c.duration_ns, 2.0 * M * N * K / 96e3);
    /* The same work in bf16 runs at the same rate, in fp32 at 1/4. */
    w.flops[ZK_DT_BF16] = w.flops[ZK_DT_F16];
    w.flops[ZK_DT_F16] = 0;
    zk_perf_cost(&p, &w, 1500, &c);
    near(c.duration_ns, 2.0 * M * N * K / 96e3);
    w.flops[ZK_DT_F32] = w.flops[ZK_DT_BF16];
    w.flops[ZK_DT_BF16] = 0;
    zk_perf_cost(&p, &w, 1500, &c);
    near(c.duration_ns, 2.0 * M * N * K / 24e3);
}

/* int8 runs at twice the fp16 rate; mixed work adds up. */
static void test_dtype_ratios(void **s)
{
    (void)s;
    ZkPerfParams p = zk100();
    ZkPerfWork w16 = { 0 }, w8 = { 0 }, mix = { 0 };
    ZkPerfCost c16, c8, cm;

    p.launch_ns = 0;
    w16.flops[ZK_DT_F16] = 1ull << 40;
    w8.flops[ZK_DT_I8] = 1ull << 40;
    zk_perf_cost(&p, &w16, 1500, &c16);
    zk_perf_cost(&p, &w8, 1500, &c8);
    near(c16.compute_ns / c8.compute_ns, 2.0);
    near(c16.compute_ns, (double)(1ull << 40) / 96000);
    mix.flops[ZK_DT_F16] = 1ull << 40;
    mix.flops[ZK_DT_I8] = 1ull << 40;
    mix.flops[ZK_DT_F32] = 1ull << 30;
    zk_perf_cost(&p, &mix, 1500, &cm);
    near(cm.compute_ns, c16.compute_ns + c8.compute_ns +
                        (double)(1ull << 30) / 24000);
}

/* A large copy is memory-bound: bytes / bandwidth. */
static void test_copy_memory_bound(void **s)
{
    (void)s;
    ZkPerfParams p = zk100();
    const uint64_t n = 1ull << 30;
    ZkPerfWork dma = { .dma = true, .hbm_bytes = 2 * n };
    ZkPerfWork kern = { .dma = false, .hbm_bytes = 2 * n };
    ZkPerfWork h2d = { .dma = true, .hbm_bytes = n, .pcie_bytes = n };
    ZkPerfCost c;

    /* DMA engine, HBM -> HBM: 1 GiB copied at 800 GB/s. */
    zk_perf_cost(&p, &dma, 1500, &c);
    assert_int_equal(c.bound, ZK_PERF_BOUND_MEMORY);
    near(c.duration_ns, 1000 + (double)n * 1e3 / 800000);
    near(c.duration_ns - c.overhead_ns, (double)n * 1e3 / 800000);
    /* A copy kernel: reads 1 GiB and writes 1 GiB at 1.6 TB/s. */
    kern.flops[ZK_DT_F32] = 0;
    zk_perf_cost(&p, &kern, 1500, &c);
    near(c.memory_ns, 2.0 * n * 1e3 / 1600000);
    near(c.duration_ns, 2000 + 2.0 * n * 1e3 / 1600000);
    /* Host -> HBM: PCIe-bound at 25 GB/s. */
    zk_perf_cost(&p, &h2d, 1500, &c);
    near(c.duration_ns, 1000 + (double)n * 1e3 / 25000);
    /* A vector add of 256 Mi floats: 1 flop per 12 bytes, memory-bound. */
    ZkPerfWork va = { .hbm_bytes = 3ull * 4 * (256 << 20) };
    va.flops[ZK_DT_F32] = 256 << 20;
    zk_perf_cost(&p, &va, 1500, &c);
    assert_int_equal(c.bound, ZK_PERF_BOUND_MEMORY);
    near(c.duration_ns - c.overhead_ns, (double)va.hbm_bytes / 1.6e3);
}

/* Lower clock: compute and launch overhead stretch, memory time does not. */
static void test_clock_scaling(void **s)
{
    (void)s;
    ZkPerfParams p = zk100();
    ZkPerfWork w = { .hbm_bytes = 1 << 20 };
    ZkPerfCost full, half, lo;

    w.flops[ZK_DT_F16] = 1ull << 36;
    zk_perf_cost(&p, &w, 1500, &full);
    zk_perf_cost(&p, &w, 750, &half);
    near(half.compute_ns, 2 * full.compute_ns);
    near(half.overhead_ns, 2 * full.overhead_ns);
    near(half.memory_ns, full.memory_ns);
    near(half.duration_ns, 2 * full.duration_ns);
    /* Clamped to clock_min..clock_max. */
    zk_perf_cost(&p, &w, 1, &lo);
    assert_int_equal(lo.clock_mhz, 300);
    zk_perf_cost(&p, &w, 99999, &lo);
    assert_int_equal(lo.clock_mhz, 1500);
    /* Memory-bound work does not care about the clock (no overhead). */
    ZkPerfWork m = { .hbm_bytes = 1ull << 32 };
    p.launch_ns = 0;
    zk_perf_cost(&p, &m, 1500, &full);
    zk_perf_cost(&p, &m, 750, &half);
    near(half.duration_ns, full.duration_ns);
}

/* Energy = idle * duration + core * f^2.5 * compute + memory * hbm time. */
static void test_energy(void **s)
{
    (void)s;
    ZkPerfParams p = zk100();
    ZkPerfWork w = { .hbm_bytes = 1 << 24 };
    ZkPerfCost c, h;

    w.flops[ZK_DT_F16] = 1ull << 36;
    zk_perf_cost(&p, &w, 1500, &c);
    near(c.energy_nj, (40000 * c.duration_ns +
                       182000 * (c.compute_ns + c.overhead_ns) +
                       78000 * c.hbm_ns) * 1e-3);
    near(c.power_mw, c.energy_nj * 1e3 / c.duration_ns);
    assert_true(c.power_mw <= p.tdp_mw);
    /* Half clock: lower power, less energy for the same work here. */
    zk_perf_cost(&p, &w, 750, &h);
    assert_true(h.power_mw < c.power_mw);
    near(h.energy_nj, (40000 * h.duration_ns +
                       182000 * pow(0.5, 2.5) * (h.compute_ns + h.overhead_ns) +
                       78000 * h.hbm_ns) * 1e-3);
    assert_true(h.energy_nj < c.energy_nj);
    /* An empty launch is all overhead: idle + core power, and a cap below
     * that lowers the clock and stretches it. */
    ZkPerfWork empty = { .dma = false };
    zk_perf_cost(&p, &empty, 1500, &c);
    near(c.power_mw, 40000 + 182000);
    assert_true(zk_perf_govern(&p, &empty, 100000, &h) < 1500);
    assert_true(h.duration_ns > c.duration_ns);
    /* DMA setup does not burn core power. */
    ZkPerfWork nodma = { .dma = true };
    zk_perf_cost(&p, &nodma, 1500, &c);
    near(c.power_mw, 40000);
    /* Saturating compute and HBM at once draws exactly TDP. */
    ZkPerfWork both = { .hbm_bytes = 1600000ull * 1000 };
    both.flops[ZK_DT_F16] = 96000ull * 1000000;
    p.launch_ns = 0;
    zk_perf_cost(&p, &both, 1500, &c);
    near(c.duration_ns, 1e6);
    near(c.power_mw, 300000);
}

/* The governor: highest clock step with average power within the cap. */
static void test_governor(void **s)
{
    (void)s;
    ZkPerfParams p = zk100();
    ZkPerfWork w = { .hbm_bytes = 1 << 20 };
    ZkPerfCost c, up;
    uint32_t clk;

    w.flops[ZK_DT_F16] = 1ull << 36;
    assert_int_equal(zk_perf_govern(&p, &w, 300000, &c), 1500);
    clk = zk_perf_govern(&p, &w, 150000, &c);
    assert_true(clk < 1500 && clk >= 300);
    assert_true(c.power_mw <= 150000);
    zk_perf_cost(&p, &w, clk + 50, &up);
    assert_true(up.power_mw > 150000);  /* one step up would not fit */
    /* A lower cap gives a lower clock and a longer duration. */
    ZkPerfCost c2;
    assert_true(zk_perf_govern(&p, &w, 100000, &c2) < clk);
    assert_true(c2.duration_ns > c.duration_ns);
    /* Impossible caps bottom out at clock_min. */
    assert_int_equal(zk_perf_govern(&p, &w, 1000, &c), 300);
    /* Memory-bound work hardly throttles. */
    ZkPerfWork m = { .hbm_bytes = 1ull << 32 };
    assert_int_equal(zk_perf_govern(&p, &m, 150000, &c), 1500);
}

static void test_account(void **s)
{
    (void)s;
    ZkPerfParams p = zk100();
    ZkPerfTotals t = { 0 };
    ZkPerfWork a = { .hbm_bytes = 1 << 20 }, d = { .dma = true,
                     .hbm_bytes = 4096, .pcie_bytes = 4096 };
    ZkPerfCost ca, cd;

    a.flops[ZK_DT_F16] = 1ull << 36;
    a.flops[ZK_DT_I8] = 5;
    zk_perf_cost(&p, &a, 1500, &ca);
    zk_perf_cost(&p, &d, 1500, &cd);
    zk_perf_account(&t, &a, &ca);
    zk_perf_account(&t, &d, &cd);
    near(t.card_ns, ca.duration_ns + cd.duration_ns);
    near(t.energy_nj, ca.energy_nj + cd.energy_nj);
    near(t.bound_ns[ZK_PERF_BOUND_COMPUTE], ca.compute_ns);
    near(t.bound_ns[ZK_PERF_BOUND_MEMORY], cd.memory_ns);
    near(t.overhead_ns, 3000);
    assert_int_equal(t.flops[ZK_DT_F16], 1ull << 36);
    assert_int_equal(t.flops[ZK_DT_I8], 5);
    assert_int_equal(t.hbm_bytes, (1 << 20) + 4096);
    assert_int_equal(t.pcie_bytes, 4096);
    assert_int_equal(t.launches, 1);
    assert_int_equal(t.dmas, 1);
    assert_int_equal(t.last_clock_mhz, 1500);
}

/*
 * Worked example of docs/perf-model.md: a decode step of a 7B fp16 model
 * at batch 1 reads ~14 GB of weights: memory-bound, 14e9 / 1.6e12 = 8.75 ms.
 */
static void test_decode_example(void **s)
{
    (void)s;
    ZkPerfParams p = zk100();
    ZkPerfWork w = { .hbm_bytes = 14000000000ull };
    ZkPerfCost c;

    w.flops[ZK_DT_F16] = 14000000000ull;    /* 2 flops per fp16 weight */
    p.launch_ns = 0;
    zk_perf_cost(&p, &w, 1500, &c);
    assert_int_equal(c.bound, ZK_PERF_BOUND_MEMORY);
    near(c.duration_ns, 8.75e6);
    /* Batch 8: 8x the flops, same weight bytes: still memory-bound. */
    w.flops[ZK_DT_F16] *= 8;
    zk_perf_cost(&p, &w, 1500, &c);
    assert_int_equal(c.bound, ZK_PERF_BOUND_MEMORY);
    near(c.duration_ns, 8.75e6);
}

/* ------------------------------------------------------------------ */
/* Engine counters of library kernels vs analytic counts                */
/* ------------------------------------------------------------------ */

static ZkTestMem T;

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

/* Launch kernel `name` of library `lib`; the engine's counters in *st. */
static void launch(const char *lib, const char *name, const uint64_t *args,
                   uint32_t nargs, uint32_t gx, ZkEngineStats *st)
{
    assert_int_equal(zkt_launch_lib(&T, lib, name, args, nargs, gx, st), 0);
}

static void expect(const ZkEngineStats *st, uint64_t f32, uint64_t f16,
                   uint64_t bf16, uint64_t i8, uint64_t rd, uint64_t wr)
{
    assert_int_equal(st->flops[ZK_DT_F32], f32);
    assert_int_equal(st->flops[ZK_DT_F16], f16);
    assert_int_equal(st->flops[ZK_DT_BF16], bf16);
    assert_int_equal(st->flops[ZK_DT_I8], i8);
    assert_int_equal(st->bytes_read, rd);
    assert_int_equal(st->bytes_written, wr);
}

static void test_kernel_gemm_counts(void **s)
{
    (void)s;
    enum { M = 24, N = 40, K = 56 };
    ZkEngineStats st;
    uint64_t va = zkt_alloc(&T, M * K * 4), vb = zkt_alloc(&T, K * N * 4);
    uint64_t vc = zkt_alloc(&T, M * N * 4);
    uint64_t vsa = zkt_alloc(&T, M * 4), vsb = zkt_alloc(&T, N * 4);
    static const char *names[] = { "gemm_f32", "gemm_f16", "gemm_bf16" };

    for (unsigned dt = 0; dt < 3; dt++) {
        for (uint32_t g = 1; g <= 3; g += 2) {
            uint64_t args[] = { va, vb, vc, M, N, K };
            uint64_t es = zk_dt_size(dt), fl = 2ull * M * N * K;
            launch("gemm", names[dt], args, 6, g, &st);
            /* Each of the g row slices reads its A rows and all of B. */
            expect(&st, dt == 0 ? fl : 0, dt == 1 ? fl : 0, dt == 2 ? fl : 0,
                   0, (M * K + g * K * N) * es, M * N * 4);
            char bt[32];
            snprintf(bt, sizeof(bt), "%s_bt", names[dt]);
            launch("gemm", bt, args, 6, g, &st);
            expect(&st, dt == 0 ? fl : 0, dt == 1 ? fl : 0, dt == 2 ? fl : 0,
                   0, (M * K + g * K * N) * es, M * N * 4);
        }
    }
    uint64_t args[] = { va, vb, vc, vsa, vsb, M, N, K };
    launch("gemm", "gemm_i8_deq_bt", args, 8, 1, &st);
    expect(&st, 0, 0, 0, 2ull * M * N * K,
           M * K + K * N + (M + N) * 4, M * N * 4);
}

static void test_kernel_elementwise_counts(void **s)
{
    (void)s;
    enum { R = 6, C = 50, NV = 1001 };
    ZkEngineStats st;
    uint64_t va = zkt_alloc(&T, NV * 4), vb = zkt_alloc(&T, NV * 4);
    uint64_t vo = zkt_alloc(&T, NV * 4);
    uint64_t vadd[] = { va, vb, vo, NV };

    launch("elementwise", "vector_add", vadd, 4, 3, &st);
    expect(&st, NV, 0, 0, 0, 2 * NV * 4, NV * 4);
    /* flops per element as documented in zk_tensor.c */
    static const struct { const char *name; unsigned flops; int bin; } k[] = {
        { "add_f32", 1, 1 }, { "mul_f32", 1, 1 }, { "swiglu_f32", 4, 1 },
        { "silu_f32", 3, 0 }, { "gelu_f32", 8, 0 }, { "exp_f32", 1, 0 },
        { "relu_f32", 1, 0 }, { "scale_f32", 2, 0 },
    };
    for (unsigned i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        uint64_t bin[] = { va, vb, vo, R, C };
        uint64_t un[] = { va, vo, R, C, zk_f32_bits(0.5f), zk_f32_bits(2.0f) };
        bool scale = strcmp(k[i].name, "scale_f32") == 0;
        if (k[i].bin) {
            launch("elementwise", k[i].name, bin, 5, 2, &st);
        } else {
            launch("elementwise", k[i].name, un, scale ? 6 : 4, 3, &st);
        }
        expect(&st, (uint64_t)R * C * k[i].flops, 0, 0, 0,
               (k[i].bin ? 2 : 1) * R * C * 4, R * C * 4);
    }
}

static void test_kernel_row_counts(void **s)
{
    (void)s;
    enum { R = 4, C = 64 };
    ZkEngineStats st;
    uint64_t vx = zkt_alloc(&T, R * C * 4), vw = zkt_alloc(&T, C * 4);
    uint64_t vb = zkt_alloc(&T, C * 4), vo = zkt_alloc(&T, R * C * 4);
    uint64_t eps = zk_f32_bits(1e-5f);
    uint64_t a1[] = { vx, vw, vo, R, C, eps };
    uint64_t a2[] = { vx, vw, vb, vo, R, C, eps };
    uint64_t a3[] = { vx, vo, R, C };

    launch("rowops", "rmsnorm_f32", a1, 6, 1, &st);
    expect(&st, 4 * R * C, 0, 0, 0, (R * C + C) * 4, R * C * 4);
    launch("rowops", "layernorm_f32", a2, 7, 1, &st);
    expect(&st, 6 * R * C, 0, 0, 0, (R * C + 2 * C) * 4, R * C * 4);
    launch("rowops", "softmax_f32", a3, 4, 1, &st);
    expect(&st, 4 * R * C, 0, 0, 0, R * C * 4, R * C * 4);
    launch("rowops", "argmax_f32", a3, 4, 1, &st);
    expect(&st, R * C, 0, 0, 0, R * C * 4, R * 4);
}

static void test_kernel_attention_counts(void **s)
{
    (void)s;
    enum { H = 4, KVH = 2, HD = 8, BS = 4, NB = 6, CTX = 11, KVD = KVH * HD };
    int32_t table[NB] = { 5, 2, 0, 1, 3, 4 };
    ZkEngineStats st;

    for (int dt = 0; dt < 2; dt++) {
        uint64_t es = dt ? 2 : 4;
        uint64_t vk = zkt_alloc(&T, CTX * KVD * 4), vv = zkt_alloc(&T, CTX * KVD * 4);
        uint64_t vq = zkt_alloc(&T, H * HD * 4), vo = zkt_alloc(&T, H * HD * 4);
        uint64_t kc = zkt_alloc(&T, NB * BS * KVD * 4), vc = zkt_alloc(&T, NB * BS * KVD * 4);
        uint64_t vt = zkt_alloc(&T, sizeof(table));
        zkt_put(&T, vt, table, sizeof(table));
        uint64_t w1[] = { vk, vv, kc, vc, vt, CTX, 0, KVD, BS, NB };
        launch("attention", dt ? "kv_write_f16" : "kv_write_f32", w1, 10, 1, &st);
        /* Copies CTX new K and V rows into the cache: no math. */
        assert_int_equal(st.flops[ZK_DT_F32] + st.flops[ZK_DT_F16], 0);
        assert_true(st.bytes_written >= 2 * CTX * KVD * es);
        uint64_t pa[] = { vq, vo, kc, vc, vt, 1, H, KVH, HD, CTX, BS, NB };
        launch("attention", dt ? "paged_attention_f16" : "paged_attention_f32",
               pa, 12, 1, &st);
        /* q.k and p.v per (head, token): 4 flops per head-dim element. */
        assert_int_equal(st.flops[ZK_DT_F32], 4ull * HD * H * CTX);
        /* The whole K and V of the context is read once, plus q and table. */
        uint64_t kv = 2ull * CTX * KVD * es;
        assert_true(st.bytes_read >= kv + H * HD * 4);
        assert_true(st.bytes_read <= kv + H * HD * 4 + sizeof(table));
        assert_int_equal(st.bytes_written, H * HD * 4);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profiles),
        cmocka_unit_test(test_gemm_compute_bound),
        cmocka_unit_test(test_dtype_ratios),
        cmocka_unit_test(test_copy_memory_bound),
        cmocka_unit_test(test_clock_scaling),
        cmocka_unit_test(test_energy),
        cmocka_unit_test(test_governor),
        cmocka_unit_test(test_account),
        cmocka_unit_test(test_decode_example),
        cmocka_unit_test(test_kernel_gemm_counts),
        cmocka_unit_test(test_kernel_elementwise_counts),
        cmocka_unit_test(test_kernel_row_counts),
        cmocka_unit_test(test_kernel_attention_counts),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests_name("perf", tests, setup, teardown);
}
