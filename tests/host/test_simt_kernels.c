/* SPDX-License-Identifier: MIT */
/*
 * test_simt_kernels.c - the SIMT kernels of the library
 * (runtime/kernels/simt_demo.zks, assembled by zkas) through the object
 * loader and the engine, against C references: the assembler, the .zk.simt
 * object format and the interpreter agree.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "zhikai_hw.h"
#include "zk_engine.h"
#include "zk_obj.h"
#include "zk_testmem.h"
#include "zk_tool_io.h"

static ZkTestMem tm;
static ZkObj obj;
static uint64_t code_va;

static int setup(void **state)
{
    char err[256];
    size_t len;
    char *data = zk_read_file(ZK_KERNEL_DIR "/simt_demo.zko", &len);
    (void)state;
    if (!data || zk_obj_load(data, len, &obj, err, sizeof(err))) {
        fprintf(stderr, "simt_demo.zko: %s\n", data ? err : "cannot read");
        free(data);
        return -1;
    }
    free(data);
    zkt_init(&tm, 256u << 20);
    code_va = zkt_alloc(&tm, obj.image_size);
    zkt_put(&tm, code_va, obj.image, obj.image_size);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    zkt_fini(&tm);
    zk_obj_free(&obj);
    return 0;
}

static int launch(const char *name, uint32_t grid, uint32_t block, uint32_t dyn_shared,
                  const void *params, uint32_t psize, uint32_t cus, ZkEngineStats *st)
{
    const ZkObjKernel *k = zk_obj_find(&obj, name);
    ZkFault f;
    assert_non_null(k);
    assert_true(k->desc.flags & ZK_KDESC_F_SIMT);
    assert_int_equal(k->simt.param_bytes, psize);
    uint64_t pva = zkt_alloc(&tm, psize);
    zkt_put(&tm, pva, params, psize);
    ZkLaunch l = { .code_va = code_va, .code_size = obj.image_size, .entry = k->entry,
                   .grid = { grid, 1, 1 }, .block = { block, 1, 1 }, .simt = true,
                   .args_va = pva, .args_size = psize, .num_cus = cus,
                   .shared_bytes = k->simt.shared_bytes + dyn_shared,
                   .local_bytes = k->simt.local_bytes };
    memset(st, 0, sizeof(*st));
    return zk_engine_launch(&tm.ms, &l, st, &f, NULL);
}

static void test_vadd(void **state)
{
    const uint32_t n = 5000;
    float *a = malloc(n * 4), *b = malloc(n * 4), *c = malloc(n * 4);
    ZkEngineStats st;
    (void)state;
    for (uint32_t i = 0; i < n; i++) {
        a[i] = (float)i * 0.25f - 7.0f;
        b[i] = 1.0f / (float)(i + 1);
    }
    uint64_t va = zkt_alloc(&tm, n * 4), vb = zkt_alloc(&tm, n * 4), vc = zkt_alloc(&tm, n * 4);
    zkt_put(&tm, va, a, n * 4);
    zkt_put(&tm, vb, b, n * 4);
    struct { uint64_t a, b, c; uint32_t n, pad; } p = { va, vb, vc, n, 0 };
    assert_int_equal(launch("simt_vadd", (n + 127) / 128, 128, 0, &p, sizeof(p), 2, &st), 0);
    zkt_get(&tm, vc, c, n * 4);
    for (uint32_t i = 0; i < n; i++) {
        assert_true(c[i] == a[i] + b[i]);
    }
    free(a);
    free(b);
    free(c);
}

static void test_sums(void **state)
{
    const uint32_t nb = 20, bs = 512, n = nb * bs;
    uint32_t *in = malloc(n * 4), out[20], total = 0, got;
    ZkEngineStats st;
    (void)state;
    for (uint32_t i = 0; i < n; i++) {
        in[i] = (i * 2654435761u) >> 20;
        total += in[i];
    }
    uint64_t vin = zkt_alloc(&tm, n * 4), vout = zkt_alloc(&tm, nb * 4), vt = zkt_alloc(&tm, 4);
    zkt_put(&tm, vin, in, n * 4);
    struct { uint64_t in, out; } p = { vin, vout };
    assert_int_equal(launch("simt_block_sum", nb, bs, bs * 4, &p, sizeof(p), 3, &st), 0);
    zkt_get(&tm, vout, out, sizeof(out));
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t want = 0;
        for (uint32_t i = 0; i < bs; i++) {
            want += in[b * bs + i];
        }
        assert_int_equal(out[b], want);
    }
    /* Without the dynamic shared memory the kernel faults cleanly. */
    assert_int_equal(launch("simt_block_sum", nb, bs, 0, &p, sizeof(p), 3, &st),
                     ZK_FAULT_MMU_WRITE);
    p.out = vt;
    memset(zkt_ptr(&tm, vt), 0, 4);
    assert_int_equal(launch("simt_warp_sum", nb, bs, 0, &p, sizeof(p), 2, &st), 0);
    zkt_get(&tm, vt, &got, 4);
    assert_int_equal(got, total);
    free(in);
}

static void test_fma_loop(void **state)
{
    const uint32_t n = 256, iters = 50;
    float out[256];
    ZkEngineStats st;
    (void)state;
    uint64_t vo = zkt_alloc(&tm, sizeof(out));
    struct { uint64_t out; uint32_t iters, pad; } p = { vo, iters, 0 };
    assert_int_equal(launch("simt_fma_loop", n / 64, 64, 0, &p, sizeof(p), 2, &st), 0);
    zkt_get(&tm, vo, out, sizeof(out));
    for (uint32_t i = 0; i < n; i++) {
        float x = (float)i;
        for (uint32_t k = 0; k < 4 * iters; k++) {
            x = fmaf(x, 0.999f, (float)i);
        }
        assert_true(out[i] == x);
    }
    assert_int_equal(st.simt_fma_ops, 4ull * iters * n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vadd),
        cmocka_unit_test(test_sums),
        cmocka_unit_test(test_fma_loop),
    };
    return cmocka_run_group_tests_name("simt_kernels", tests, setup, teardown);
}
