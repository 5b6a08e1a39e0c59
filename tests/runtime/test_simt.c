/* SPDX-License-Identifier: MIT */
/*
 * test_simt - in-VM test of the SIMT unit end to end (TAP): the library's
 * SIMT kernels (runtime/kernels/simt_demo.zks, assembled by zkas) loaded by
 * libzhikai, launched with zk_launch_kernel_ex through the driver onto the
 * device's compute units, results checked against C references; bad
 * launches are refused by the runtime or fault cleanly on the card.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zhikai/zhikai.h>
#include "zk_tap.h"

static const char *kernel_path(void)
{
    static const char *paths[] = { "/zk/kernels/simt_demo.zko", "build/kernels/simt_demo.zko" };
    for (unsigned i = 0; i < 2; i++) {
        if (access(paths[i], R_OK) == 0) {
            return paths[i];
        }
    }
    return paths[0];
}

int main(void)
{
    zk_device dev;
    zk_context ctx;
    zk_module mod;
    zk_function vadd, bsum, wsum, tile = NULL;
    const uint32_t n = 100000, bs = 256, nb = (n + bs - 1) / bs;
    float *a = malloc(n * 4), *b = malloc(n * 4), *c = malloc(n * 4);
    uint32_t *in = malloc(nb * bs * 4), *out = malloc(nb * 4), total = 0, got = 0;
    zk_deviceptr da, db, dc, din, dout, dt;
    int bad = 0;

    MUST(zk_init(0));
    MUST(zk_device_get(&dev, 0));
    MUST(zk_ctx_create(&ctx, 0, dev));
    MUST(zk_module_load(&mod, kernel_path()));
    MUST(zk_module_get_function(&vadd, mod, "simt_vadd"));
    MUST(zk_module_get_function(&bsum, mod, "simt_block_sum"));
    MUST(zk_module_get_function(&wsum, mod, "simt_warp_sum"));
    for (uint32_t i = 0; i < n; i++) {
        a[i] = (float)i * 0.5f - 1000.0f;
        b[i] = 3.0f / (float)(i + 1);
    }
    for (uint32_t i = 0; i < nb * bs; i++) {
        in[i] = (i * 2654435761u) >> 22;
        total += in[i];
    }
    MUST(zk_mem_alloc(&da, n * 4));
    MUST(zk_mem_alloc(&db, n * 4));
    MUST(zk_mem_alloc(&dc, n * 4));
    MUST(zk_mem_alloc(&din, nb * bs * 4));
    MUST(zk_mem_alloc(&dout, nb * 4));
    MUST(zk_mem_alloc(&dt, 4));
    MUST(zk_memcpy_htod(da, a, n * 4));
    MUST(zk_memcpy_htod(db, b, n * 4));
    MUST(zk_memcpy_htod(din, in, nb * bs * 4));
    MUST(zk_memset(dt, 0, 4));

    /* vector add over 391 blocks */
    struct { uint64_t a, b, c; uint32_t n, pad; } pv = { da, db, dc, n, 0 };
    uint32_t grid[3] = { nb, 1, 1 }, block[3] = { bs, 1, 1 };
    EXPECT_OK(zk_launch_kernel_ex(vadd, grid, block, 0, &pv, sizeof(pv), NULL));
    EXPECT_OK(zk_ctx_synchronize());
    EXPECT_OK(zk_memcpy_dtoh(c, dc, n * 4));
    for (uint32_t i = 0; i < n; i++) {
        bad += c[i] != a[i] + b[i];
    }
    tap_result(!bad, "simt_vadd: %u elements equal a + b (%d differ)", n, bad);

    /* shared-memory tree reduction with dynamic shared memory */
    struct { uint64_t in, out; } ps = { din, dout };
    EXPECT_OK(zk_launch_kernel_ex(bsum, grid, block, bs * 4, &ps, sizeof(ps), NULL));
    EXPECT_OK(zk_ctx_synchronize());
    EXPECT_OK(zk_memcpy_dtoh(out, dout, nb * 4));
    bad = 0;
    for (uint32_t k = 0; k < nb; k++) {
        uint32_t want = 0;
        for (uint32_t i = 0; i < bs; i++) {
            want += in[k * bs + i];
        }
        bad += out[k] != want;
    }
    tap_result(!bad, "simt_block_sum: %u block sums (barriers, shared) correct", nb);

    /* warp shuffles + global atomics */
    ps.out = dt;
    EXPECT_OK(zk_launch_kernel_ex(wsum, grid, block, 0, &ps, sizeof(ps), NULL));
    EXPECT_OK(zk_ctx_synchronize());
    EXPECT_OK(zk_memcpy_dtoh(&got, dt, 4));
    tap_result(got == total, "simt_warp_sum: total %u (want %u)", got, total);

    /* The runtime refuses bad shapes before they reach the card. */
    uint32_t big[3] = { 1025, 1, 1 }, zero[3] = { 0, 1, 1 };
    EXPECT(zk_launch_kernel_ex(vadd, grid, big, 0, &pv, sizeof(pv), NULL), ZK_ERROR_INVALID_VALUE);
    EXPECT(zk_launch_kernel_ex(vadd, zero, block, 0, &pv, sizeof(pv), NULL), ZK_ERROR_INVALID_VALUE);
    EXPECT(zk_launch_kernel_ex(vadd, grid, block, 0, &pv, 8, NULL), ZK_ERROR_INVALID_VALUE);
    EXPECT(zk_launch_kernel_ex(bsum, grid, block, 97 * 1024, &ps, sizeof(ps), NULL),
           ZK_ERROR_INVALID_VALUE);
    {
        uint64_t args[1] = { 0 };
        EXPECT(zk_launch_kernel(vadd, grid, args, 1, NULL), ZK_ERROR_INVALID_VALUE);
    }
    (void)tile;

    /* A kernel reading shared memory it was not given faults on the card,
     * and the context survives it (the fault is reported, nothing hangs). */
    ps.out = dout;
    EXPECT_OK(zk_launch_kernel_ex(bsum, grid, block, 0, &ps, sizeof(ps), NULL));
    zk_status st = zk_ctx_synchronize();
    tap_result(st != ZK_SUCCESS, "block sum without its shared memory faults (%s)",
               zk_error_name(st));
    printf("# fault detail: %s\n", zk_last_error_detail());
    zk_ctx_destroy(ctx);
    MUST(zk_ctx_create(&ctx, 0, dev));
    MUST(zk_module_load(&mod, kernel_path()));
    MUST(zk_module_get_function(&vadd, mod, "simt_vadd"));
    MUST(zk_mem_alloc(&da, n * 4));
    MUST(zk_mem_alloc(&db, n * 4));
    MUST(zk_mem_alloc(&dc, n * 4));
    MUST(zk_memcpy_htod(da, a, n * 4));
    MUST(zk_memcpy_htod(db, b, n * 4));
    pv = (typeof(pv)){ da, db, dc, n, 0 };
    EXPECT_OK(zk_launch_kernel_ex(vadd, grid, block, 0, &pv, sizeof(pv), NULL));
    EXPECT_OK(zk_ctx_synchronize());
    EXPECT_OK(zk_memcpy_dtoh(c, dc, n * 4));
    bad = 0;
    for (uint32_t i = 0; i < n; i++) {
        bad += c[i] != a[i] + b[i];
    }
    tap_result(!bad, "after the fault, a new context runs simt_vadd correctly");
    zk_ctx_destroy(ctx);
    free(a);
    free(b);
    free(c);
    free(in);
    free(out);
    return tap_done();
}
