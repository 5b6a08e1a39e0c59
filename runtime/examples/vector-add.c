/* SPDX-License-Identifier: MIT */
/* vector-add - c = a + b on the card (kernel vector_add), checked on the CPU. */
#include <math.h>

#include "example_util.h"

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : (1u << 20), i, bad = 0;
    size_t bytes = n * sizeof(float);
    float *a = malloc(bytes), *b = malloc(bytes), *c = malloc(bytes);
    zk_context ctx = example_init();
    zk_module mod;
    zk_function f;
    zk_deviceptr da, db, dc;
    zk_event start, stop;
    uint32_t grid[3] = {16, 1, 1};
    float ms;
    for (i = 0; i < n; i++) {
        a[i] = (float)i * 0.5f;
        b[i] = 1000.0f - (float)i;
    }
    CHECK(zk_module_load(&mod, "elementwise.zko"));
    CHECK(zk_module_get_function(&f, mod, "vector_add"));
    CHECK(zk_mem_alloc(&da, bytes));
    CHECK(zk_mem_alloc(&db, bytes));
    CHECK(zk_mem_alloc(&dc, bytes));
    CHECK(zk_event_create(&start, 0));
    CHECK(zk_event_create(&stop, 0));
    CHECK(zk_memcpy_htod(da, a, bytes));
    CHECK(zk_memcpy_htod(db, b, bytes));
    {
        uint64_t args[4] = {da, db, dc, n};
        CHECK(zk_event_record(start, NULL));
        CHECK(zk_launch_kernel(f, grid, args, 4, NULL));
        CHECK(zk_event_record(stop, NULL));
    }
    CHECK(zk_memcpy_dtoh(c, dc, bytes));
    CHECK(zk_event_elapsed_time(&ms, start, stop));
    for (i = 0; i < n; i++) {
        if (fabsf(c[i] - (a[i] + b[i])) > 1e-6f * fabsf(a[i] + b[i]) + 1e-6f) {
            if (bad++ < 5) {
                fprintf(stderr, "mismatch at %zu: %g != %g\n", i, c[i], a[i] + b[i]);
            }
        }
    }
    printf("vector-add: %zu elements, kernel %.3f ms, %s\n", n, ms, bad ? "FAILED" : "PASSED");
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
