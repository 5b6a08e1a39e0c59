/* SPDX-License-Identifier: MIT */
/*
 * test_hostile.c - hostile kernels against the engine (issue 14).
 *
 * Each case is a kernel an unprivileged guest user can launch.  The engine
 * must end it with a clean fault (or the right numbers), hold at most
 * ZK_ENGINE_STAGING bytes of host memory per instruction, and stop a long
 * instruction within a few milliseconds of an abort.  The first two are the
 * measured QEMU crashes (PATTN scratch wrap, 2^31 tile -> 0-byte bounce);
 * a watchdog turns a hang into a failure.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "zk_asm_helpers.h"
#include "zk_dtype.h"

#define HBM         (64u << 20)
#define ALIAS_HBM   (48u << 20)         /* 2 MiB of HBM that alias VAs map */
#define ALIAS_VA    (1ull << 36)

static int setup(void **state)
{
    ZkTestMem *t = malloc(sizeof(*t));
    zkt_init(t, HBM);
    *state = t;
    alarm(60);              /* a hang is a failure, not a stuck make test */
    return 0;
}

static int teardown(void **state)
{
    alarm(0);
    zkt_fini(*state);
    free(*state);
    return 0;
}

/* Map [va, va+len) to the same 2 MiB of HBM over and over: huge, valid,
 * physically discontiguous tiles at no host cost. */
static void map_alias(ZkTestMem *t, uint64_t va, uint64_t len)
{
    for (uint64_t o = 0; o < len; o += ZK_HUGE_SIZE) {
        zkt_map_huge(t, va + o, ALIAS_HBM, ZK_PTE_WRITE);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Run p; returns the fault and checks the staging bound. */
static int run(ZkTestMem *t, const Prog *p, const uint64_t *args, uint32_t n,
               ZkFault *f, const volatile int *abort_flag)
{
    ZkEngineStats st;
    int r = run_prog(t, p, args, n, 1, 1, 1, 0, &st, f, abort_flag);
    assert_true(st.host_bytes_peak <= ZK_ENGINE_STAGING);
    return r;
}

/* The measured crash: TSET with 2^62 columns, head dim 1, then PATTN. */
static void test_pattn_scratch_wrap(void **state)
{
    ZkTestMem *t = *state;
    uint64_t buf = zkt_alloc(t, 1 << 16);
    Prog p = { .n = 0 };
    ZkFault f;
    tdesc(&p, 0, buf, 1, 1ull << 62, 1ull << 62, ZK_DT_F32);   /* out */
    tdesc(&p, 1, buf, 1, 1ull << 62, 1ull << 62, ZK_DT_F32);   /* q */
    tdesc(&p, 2, buf, 4, 1, 1, ZK_DT_F32);                     /* K cache */
    tdesc(&p, 3, buf, 4, 1, 1, ZK_DT_F32);                     /* V cache */
    tdesc(&p, 4, buf, 1, 4, 4, ZK_DT_I32);                     /* table */
    li(&p, 8, 1);       /* ctx */
    li(&p, 9, 1);       /* kv heads */
    li(&p, 10, 4);      /* block size */
    li(&p, 11, 1);      /* head dim */
    tensor(&p, ZK_OP_PATTN, 0, 1, 2, 3, 4, 8, 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    assert_int_equal(run(t, &p, NULL, 0, &f, NULL), ZK_FAULT_ENGINE);
    /* Same with a plausible descriptor but 2^31 heads: staging, not calloc. */
    p.n = 0;
    tdesc(&p, 0, buf, 1, 1ull << 31, 1ull << 31, ZK_DT_F32);
    tdesc(&p, 1, buf, 1, 1ull << 31, 1ull << 31, ZK_DT_F32);
    tdesc(&p, 2, buf, 4, 1, 1, ZK_DT_F32);
    tdesc(&p, 3, buf, 4, 1, 1, ZK_DT_F32);
    tdesc(&p, 4, buf, 1, 4, 4, ZK_DT_I32);
    li(&p, 8, 1);
    li(&p, 9, 1);
    li(&p, 10, 4);
    li(&p, 11, 1);
    tensor(&p, ZK_OP_PATTN, 0, 1, 2, 3, 4, 8, 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    assert_int_equal(run(t, &p, NULL, 0, &f, NULL), ZK_FAULT_ENGINE);
}

/* The measured crash: rows = cols = stride = 2^31 f32 is 2^64 bytes = 0. */
static void test_tile_2p31_bounce(void **state)
{
    ZkTestMem *t = *state;
    uint64_t buf = zkt_alloc(t, 1 << 16);
    Prog p = { .n = 0 };
    ZkFault f;
    tdesc(&p, 0, buf, 1ull << 31, 1ull << 31, 1ull << 31, ZK_DT_F32);
    tdesc(&p, 1, buf, 1ull << 31, 1ull << 31, 1ull << 31, ZK_DT_F32);
    tensor(&p, ZK_OP_EUN, 1, 0, 0, 0, 0, 0, ZK_EU_COPY);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    assert_int_equal(run(t, &p, NULL, 0, &f, NULL), ZK_FAULT_ENGINE);
    /* Kin: span that wraps the VA, and a stride below cols. */
    p.n = 0;
    tdesc(&p, 0, ~0ull - 64, 2, 16, 16, ZK_DT_F32);
    tdesc(&p, 1, buf, 2, 16, 16, ZK_DT_F32);
    tensor(&p, ZK_OP_EUN, 1, 0, 0, 0, 0, 0, ZK_EU_COPY);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    assert_int_equal(run(t, &p, NULL, 0, &f, NULL), ZK_FAULT_ENGINE);
    p.n = 0;
    tdesc(&p, 0, buf, 2, 16, 8, ZK_DT_F32);
    tdesc(&p, 1, buf, 2, 16, 16, ZK_DT_F32);
    tensor(&p, ZK_OP_EUN, 1, 0, 0, 0, 0, 0, ZK_EU_COPY);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    assert_int_equal(run(t, &p, NULL, 0, &f, NULL), ZK_FAULT_ENGINE);
}

/*
 * Host memory amplification: rows too long for the staging memory fault;
 * big tiles that are valid but discontiguous run in bounded chunks.
 */
static void test_host_memory_bounded(void **state)
{
    ZkTestMem *t = *state;
    Prog p = { .n = 0 };
    ZkFault f;
    ZkEngineStats st;

    map_alias(t, ALIAS_VA, 8ull << 30);
    /* One 2^30-column f32 row: 4 GiB of scratch per row -> ENGINE. */
    tdesc(&p, 0, ALIAS_VA, 1, 1ull << 30, 1ull << 30, ZK_DT_F32);
    tdesc(&p, 1, ALIAS_VA, 1, 1ull << 30, 1ull << 30, ZK_DT_F32);
    tensor(&p, ZK_OP_EBIN, 1, 0, 0, 0, 0, 0, ZK_EB_ADD);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    assert_int_equal(run(t, &p, NULL, 0, &f, NULL), ZK_FAULT_ENGINE);

    /* 128 MiB of f16 softmax rows through bounce buffers: chunks. */
    p.n = 0;
    tdesc(&p, 0, ALIAS_VA, 1u << 14, 4096, 4096, ZK_DT_F16);
    tdesc(&p, 1, ALIAS_VA + (4ull << 30), 1u << 14, 4096, 4096, ZK_DT_F16);
    tensor(&p, ZK_OP_SOFTMAX, 1, 0, 0, 0, 0, 0, 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    assert_int_equal(run_prog(t, &p, NULL, 0, 1, 1, 1, 0, &st, &f, NULL), 0);
    assert_true(st.host_bytes_peak > 0);
    assert_true(st.host_bytes_peak <= ZK_ENGINE_STAGING);

    /* bf16 matmul whose widened B would be 1 GiB: bounded panels. */
    p.n = 0;
    tdesc(&p, 0, ALIAS_VA, 2, 16384, 16384, ZK_DT_BF16);           /* A */
    tdesc(&p, 1, ALIAS_VA, 16384, 16384, 16384, ZK_DT_BF16);        /* B */
    tdesc(&p, 2, ALIAS_VA + (2ull << 30), 2, 16384, 16384, ZK_DT_F32);
    tensor(&p, ZK_OP_MATMUL, 2, 0, 1, 0, 0, 0, 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    assert_int_equal(run_prog(t, &p, NULL, 0, 1, 1, 1, 0, &st, &f, NULL), 0);
    assert_true(st.host_bytes_peak <= ZK_ENGINE_STAGING);
    assert_int_equal(st.flops[ZK_DT_BF16], 2ull * 2 * 16384 * 16384);
}

/* A stride beyond INT_MAX must not be truncated on its way into BLAS. */
static void test_matmul_huge_stride(void **state)
{
    ZkTestMem *t = *state;
    const uint64_t stride = (1ull << 32) + 4;   /* elements */
    uint64_t va = 1ull << 37, row1 = va + stride * 4;
    uint64_t hbm_a = 40u << 20;
    float a[2][4] = { { 1, 2, 3, 4 }, { -1, 0.5f, 2, 8 } };
    float b[4][3], c[2][3], want[2][3];
    Prog p = { .n = 0 };
    ZkFault f;

    zkt_map(t, va, hbm_a, ZK_PAGE_SIZE, ZK_PTE_WRITE);
    zkt_map(t, row1 & ~(uint64_t)(ZK_PAGE_SIZE - 1), hbm_a + ZK_PAGE_SIZE,
            ZK_PAGE_SIZE, ZK_PTE_WRITE);
    zkt_put(t, va, a[0], sizeof(a[0]));
    zkt_put(t, row1, a[1], sizeof(a[1]));
    uint64_t bv = zkt_alloc(t, sizeof(b)), cv = zkt_alloc(t, sizeof(c));
    for (int k = 0; k < 4; k++) {
        for (int j = 0; j < 3; j++) {
            b[k][j] = (float)(k * 3 + j) * 0.25f - 1.0f;
        }
    }
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 3; j++) {
            want[i][j] = 0;
            for (int k = 0; k < 4; k++) {
                want[i][j] += a[i][k] * b[k][j];
            }
        }
    }
    zkt_put(t, bv, b, sizeof(b));
    tdesc(&p, 0, va, 2, 4, stride, ZK_DT_F32);
    tdesc(&p, 1, bv, 4, 3, 3, ZK_DT_F32);
    tdesc(&p, 2, cv, 2, 3, 3, ZK_DT_F32);
    tensor(&p, ZK_OP_MATMUL, 2, 0, 1, 0, 0, 0, 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    assert_int_equal(run(t, &p, NULL, 0, &f, NULL), 0);
    zkt_get(t, cv, c, sizeof(c));
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 3; j++) {
            assert_float_equal(c[i][j], want[i][j], 1e-5);
        }
    }
}

typedef struct Aborter {
    volatile int *flag;
    unsigned delay_ms;
} Aborter;

static void *abort_later(void *arg)
{
    Aborter *a = arg;
    usleep(a->delay_ms * 1000);
    __atomic_store_n(a->flag, 1, __ATOMIC_RELEASE);
    return NULL;
}

/*
 * Run p with an abort after 50 ms; it must stop within a second of it
 * (chunks are ~1-10 ms; the margin is for a loaded shared host).  Without
 * chunking these run for minutes to hours.
 */
static void expect_abortable(ZkTestMem *t, const Prog *p, const char *what)
{
    volatile int flag = 0;
    Aborter ab = { &flag, 50 };
    pthread_t th;
    ZkEngineStats st;
    ZkFault f;
    double t0 = now_s();
    assert_int_equal(pthread_create(&th, NULL, abort_later, &ab), 0);
    int r = run_prog(t, p, NULL, 0, 1, 1, 1, 0, &st, &f, &flag);
    double dt = now_s() - t0;
    pthread_join(th, NULL);
    printf("# %s: stopped %.0f ms after the abort, staging peak %llu KiB\n",
           what, (dt - 0.05) * 1e3, (unsigned long long)st.host_bytes_peak >> 10);
    assert_true(st.host_bytes_peak <= ZK_ENGINE_STAGING);
    assert_int_equal(r, ZK_FAULT_ENGINE);
    assert_int_equal(f.va, 0);
    assert_true(dt < 1.05);
}

/* PATTN over 2^32 - 1 positions: every block maps to block 0. */
static void test_pattn_long_abort(void **state)
{
    ZkTestMem *t = *state;
    const uint64_t bs = 1u << 16;
    uint64_t cache = zkt_alloc(t, bs * 4), q = zkt_alloc(t, 64);
    uint64_t tab = zkt_alloc(t, (UINT32_MAX / bs + 1) * 4);
    Prog p = { .n = 0 };
    tdesc(&p, 0, q, 1, 1, 1, ZK_DT_F32);
    tdesc(&p, 1, q, 1, 1, 1, ZK_DT_F32);
    tdesc(&p, 2, cache, bs, 1, 1, ZK_DT_F32);
    tdesc(&p, 3, cache, bs, 1, 1, ZK_DT_F32);
    tdesc(&p, 4, tab, 1, UINT32_MAX / bs + 1, 0, ZK_DT_I32);
    li(&p, 8, UINT32_MAX);
    li(&p, 9, 1);
    li(&p, 10, bs);
    li(&p, 11, 1);
    tensor(&p, ZK_OP_PATTN, 0, 1, 2, 3, 4, 8, 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    expect_abortable(t, &p, "PATTN over 2^32 positions");
}

/* A 4096 x 16384 x 16384 f32 matmul (2 TFLOP) on aliased memory. */
static void test_matmul_long_abort(void **state)
{
    ZkTestMem *t = *state;
    Prog p = { .n = 0 };
    map_alias(t, ALIAS_VA, 4ull << 30);
    tdesc(&p, 0, ALIAS_VA, 4096, 16384, 16384, ZK_DT_F32);
    tdesc(&p, 1, ALIAS_VA, 16384, 16384, 16384, ZK_DT_F32);
    tdesc(&p, 2, ALIAS_VA, 4096, 16384, 16384, ZK_DT_F32);
    tensor(&p, ZK_OP_MATMUL, 2, 0, 1, 0, 0, 0, 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    expect_abortable(t, &p, "2 TFLOP matmul");
}

/* 2^26 rows of softmax on aliased memory; KVWRITE of 2^32-1 rows; an int8
 * matmul whose K padding would be 16x its input. */
static void test_rowwise_long_abort(void **state)
{
    ZkTestMem *t = *state;
    Prog p = { .n = 0 };
    map_alias(t, ALIAS_VA, 64ull << 30);
    tdesc(&p, 0, ALIAS_VA, 1u << 26, 256, 256, ZK_DT_F32);
    tensor(&p, ZK_OP_SOFTMAX, 0, 0, 0, 0, 0, 0, 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    expect_abortable(t, &p, "64 GiB softmax");

    p.n = 0;
    uint64_t tab = zkt_alloc(t, 4096 * 4);      /* every block is block 0 */
    tdesc(&p, 0, ALIAS_VA, 1u << 20, 4, 4, ZK_DT_F32);         /* K cache */
    tdesc(&p, 4, ALIAS_VA, 1u << 20, 4, 4, ZK_DT_F32);         /* V cache */
    tdesc(&p, 1, ALIAS_VA, UINT32_MAX, 4, 4, ZK_DT_F32);        /* new K */
    tdesc(&p, 2, ALIAS_VA, UINT32_MAX, 4, 4, ZK_DT_F32);        /* new V */
    tdesc(&p, 3, tab, 1, 4096, 4096, ZK_DT_I32);
    li(&p, 8, 0);
    li(&p, 9, 1u << 20);
    tensor(&p, ZK_OP_KVWRITE, 0, 1, 2, 3, 4, 8, 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    expect_abortable(t, &p, "KVWRITE of 2^32 rows");

    p.n = 0;
    tdesc(&p, 0, ALIAS_VA, 1u << 22, 1, 1, ZK_DT_I8);
    tdesc(&p, 1, ALIAS_VA, 1, 4096, 4096, ZK_DT_I8);
    tdesc(&p, 2, ALIAS_VA, 1u << 22, 4096, 4096, ZK_DT_I32);
    tensor(&p, ZK_OP_MATMUL, 2, 0, 1, 0, 0, 0, 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    expect_abortable(t, &p, "int8 matmul, K=1");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_pattn_scratch_wrap), T(test_tile_2p31_bounce),
        T(test_host_memory_bounded), T(test_matmul_huge_stride),
        T(test_pattn_long_abort), T(test_matmul_long_abort),
        T(test_rowwise_long_abort),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests_name("hostile", tests, NULL, NULL);
}
