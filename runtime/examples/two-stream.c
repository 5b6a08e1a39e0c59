/* SPDX-License-Identifier: MIT */
/*
 * two-stream - a copy/compute pipeline over two streams: the input is cut
 * into chunks; each chunk is copied in (pinned memory, truly async),
 * processed (out = a + b) and copied back on alternating streams, so one
 * stream's copies overlap the other's kernel.  An event makes the final
 * check wait for both streams.  Checked against the CPU.
 */
#include <math.h>

#include "example_util.h"

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : (4u << 20);
    size_t chunks = 8, per = (n + chunks - 1) / chunks, i, bad = 0;
    zk_context ctx = example_init();
    zk_module mod;
    zk_function f;
    zk_stream s[2];
    zk_event start, done[2];
    float *a, *b, *c;
    zk_deviceptr da, db, dc;
    uint32_t grid[3] = {4, 1, 1};
    float ms;
    CHECK(zk_module_load(&mod, "elementwise.zko"));
    CHECK(zk_module_get_function(&f, mod, "vector_add"));
    CHECK(zk_mem_alloc_host((void **)&a, n * 4));
    CHECK(zk_mem_alloc_host((void **)&b, n * 4));
    CHECK(zk_mem_alloc_host((void **)&c, n * 4));
    CHECK(zk_mem_alloc(&da, n * 4));
    CHECK(zk_mem_alloc(&db, n * 4));
    CHECK(zk_mem_alloc(&dc, n * 4));
    for (i = 0; i < n; i++) {
        a[i] = (float)(i % 1000) * 0.25f;
        b[i] = (float)(i % 77);
        c[i] = -1.0f;
    }
    CHECK(zk_stream_create(&s[0], 0));
    CHECK(zk_stream_create(&s[1], 0));
    CHECK(zk_event_create(&start, 0));
    CHECK(zk_event_create(&done[0], 0));
    CHECK(zk_event_create(&done[1], 0));
    CHECK(zk_event_record(start, s[0]));
    CHECK(zk_stream_wait_event(s[1], start, 0));
    for (i = 0; i < chunks; i++) {
        size_t off = i * per, cnt = off >= n ? 0 : (n - off < per ? n - off : per);
        zk_stream st = s[i % 2];
        uint64_t args[4] = {da + off * 4, db + off * 4, dc + off * 4, cnt};
        if (!cnt) {
            break;
        }
        CHECK(zk_memcpy_htod_async(da + off * 4, a + off, cnt * 4, st));
        CHECK(zk_memcpy_htod_async(db + off * 4, b + off, cnt * 4, st));
        CHECK(zk_launch_kernel(f, grid, args, 4, st));
        CHECK(zk_memcpy_dtoh_async(c + off, dc + off * 4, cnt * 4, st));
        CHECK(zk_stream_flush(st));
    }
    CHECK(zk_event_record(done[0], s[0]));
    CHECK(zk_event_record(done[1], s[1]));
    CHECK(zk_event_synchronize(done[0]));
    CHECK(zk_event_synchronize(done[1]));
    CHECK(zk_event_elapsed_time(&ms, start, done[1]));
    for (i = 0; i < n; i++) {
        if (c[i] != a[i] + b[i] && bad++ < 5) {
            fprintf(stderr, "mismatch at %zu: %g != %g\n", i, c[i], a[i] + b[i]);
        }
    }
    printf("two-stream: %zu elements in %zu chunks over 2 streams, %.3f ms, %s\n", n, chunks,
           ms, bad ? "FAILED" : "PASSED");
    CHECK(zk_stream_destroy(s[0]));
    CHECK(zk_stream_destroy(s[1]));
    CHECK(zk_mem_free_host(a));
    CHECK(zk_mem_free_host(b));
    CHECK(zk_mem_free_host(c));
    CHECK(zk_ctx_destroy(ctx));
    return bad ? 1 : 0;
}
