/* SPDX-License-Identifier: MIT */
/* gemm - C = A x B in f32 on the card (kernel gemm_f32), checked on the CPU. */
#include <math.h>

#include "example_util.h"

int main(int argc, char **argv)
{
    size_t m = argc > 1 ? strtoul(argv[1], NULL, 0) : 256;
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 0) : 192;
    size_t k = argc > 3 ? strtoul(argv[3], NULL, 0) : 320;
    float *a = malloc(m * k * 4), *b = malloc(k * n * 4), *c = malloc(m * n * 4);
    double maxerr = 0;
    size_t i, j, l, bad = 0;
    zk_context ctx = example_init();
    zk_module mod;
    zk_function f;
    zk_deviceptr da, db, dc;
    zk_event start, stop;
    uint32_t grid[3] = {8, 1, 1};
    float ms, card_ms = -1;
    srand(1);
    for (i = 0; i < m * k; i++) {
        a[i] = (float)(rand() % 200 - 100) / 64.0f;
    }
    for (i = 0; i < k * n; i++) {
        b[i] = (float)(rand() % 200 - 100) / 64.0f;
    }
    CHECK(zk_module_load(&mod, "gemm.zko"));
    CHECK(zk_module_get_function(&f, mod, "gemm_f32"));
    CHECK(zk_mem_alloc(&da, m * k * 4));
    CHECK(zk_mem_alloc(&db, k * n * 4));
    CHECK(zk_mem_alloc(&dc, m * n * 4));
    CHECK(zk_event_create(&start, 0));
    CHECK(zk_event_create(&stop, 0));
    CHECK(zk_memcpy_htod(da, a, m * k * 4));
    CHECK(zk_memcpy_htod(db, b, k * n * 4));
    {
        uint64_t args[6] = {da, db, dc, m, n, k};
        CHECK(zk_event_record(start, NULL));
        CHECK(zk_launch_kernel(f, grid, args, 6, NULL));
        CHECK(zk_event_record(stop, NULL));
    }
    CHECK(zk_memcpy_dtoh(c, dc, m * n * 4));
    CHECK(zk_event_elapsed_time(&ms, start, stop));
    if (zk_event_elapsed_card_time(&card_ms, start, stop) != ZK_SUCCESS) {
        card_ms = -1;
    }
    for (i = 0; i < m; i++) {
        for (j = 0; j < n; j++) {
            double ref = 0, err;
            for (l = 0; l < k; l++) {
                ref += (double)a[i * k + l] * b[l * n + j];
            }
            err = fabs(ref - c[i * n + j]);
            maxerr = err > maxerr ? err : maxerr;
            if (err > 1e-3 * (fabs(ref) + 1.0) && bad++ < 5) {
                fprintf(stderr, "mismatch at (%zu,%zu): %g != %g\n", i, j, c[i * n + j], ref);
            }
        }
    }
    printf("gemm: %zux%zux%zu f32, kernel %.3f ms emulated", m, n, k, ms);
    if (card_ms >= 0) {
        printf(" / %.4f ms modelled card time", card_ms);
    }
    printf(", %.2f GFLOP/s emulated, max error %.2e, %s\n",
           2.0 * m * n * k / (ms * 1e6), maxerr, bad ? "FAILED" : "PASSED");
    CHECK(zk_mem_free(da));
    CHECK(zk_mem_free(db));
    CHECK(zk_mem_free(dc));
    CHECK(zk_module_unload(mod));
    CHECK(zk_ctx_destroy(ctx));
    free(a);
    free(b);
    free(c);
    return bad ? 1 : 0;
}
