/* SPDX-License-Identifier: MIT */
/*
 * test_runtime_api.c - in-VM tests of libzhikai on the real driver and card:
 * every API call, error paths (invalid handles, freed memory, wrong kernel
 * argument types, destroyed streams, faults), async copy + launch + copy
 * back on several streams from several threads, cross-stream events,
 * monotonic event timestamps.  TAP output.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zhikai/zhikai.h>
#include "zk_tap.h"
#include "zk_test_kernels.h"

static zk_context ctx;
static zk_function k_null, k_inc, k_poke;

static uint64_t parse_size(const char *s)
{
    char *end;
    uint64_t v = strtoull(s, &end, 0);
    switch (*end) {
    case 'G': case 'g': return v << 30;
    case 'M': case 'm': return v << 20;
    case 'K': case 'k': return v << 10;
    default: return v;
    }
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    size_t i;
    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)(i * 131 + seed + (i >> 13));
    }
}

static void test_devices(void)
{
    zk_device dev, d2;
    zk_device_properties p;
    const char *exp = getenv("ZK_EXPECT_HBM");
    int n = 0;
    EXPECT(zk_device_count(&n), ZK_ERROR_NOT_INITIALIZED);
    EXPECT(zk_init(1), ZK_ERROR_INVALID_VALUE);
    EXPECT_OK(zk_init(0));
    EXPECT_OK(zk_init(0));
    EXPECT_OK(zk_device_count(&n));
    tap_result(n >= 1, "at least one zhikai device (%d)", n);
    MUST(zk_device_get(&dev, 0));
    EXPECT(zk_device_get(&d2, n), ZK_ERROR_NO_DEVICE);
    EXPECT_OK(zk_device_get_properties(dev, &p));
    printf("# %s at %s (%s): %llu MiB HBM, %u queues, fw 0x%x, caps 0x%x\n", p.name,
           p.pci_bus_id, p.node, (unsigned long long)(p.hbm_total >> 20), p.num_queues,
           p.fw_version, p.caps);
    tap_result(p.hbm_total > 0 && p.hbm_free <= p.hbm_total, "HBM total/free sane");
    if (exp) {
        tap_result(p.hbm_total == parse_size(exp), "HBM size %llu = expected %s",
                   (unsigned long long)p.hbm_total, exp);
    }
    tap_result(p.num_queues >= 1 && p.num_queues <= 16, "queue count %u", p.num_queues);
    tap_result(p.pci_device_id == 0x5a4b, "PCI device id 0x%x", p.pci_device_id);
    tap_result(strcmp(p.driver_name, "zhikai") == 0, "driver name %s", p.driver_name);
    EXPECT_OK(zk_device_get_by_pci_bus_id(&d2, p.pci_bus_id));
    tap_result(d2 == dev, "bus id lookup returns the same device");
    EXPECT(zk_device_get_by_pci_bus_id(&d2, "00ff:ff:1f.7"), ZK_ERROR_NOT_FOUND);
    EXPECT(zk_device_get_by_pci_bus_id(&d2, "nonsense"), ZK_ERROR_INVALID_VALUE);
    EXPECT(zk_device_get_properties((zk_device)&n, &p), ZK_ERROR_INVALID_HANDLE);
}

static void test_contexts(void)
{
    zk_device dev;
    zk_context c2, cur;
    zk_deviceptr d;
    MUST(zk_device_get(&dev, 0));
    EXPECT_OK(zk_ctx_create(&ctx, 0, dev));
    EXPECT_OK(zk_ctx_get_current(&cur));
    tap_result(cur == ctx, "new context is current");
    EXPECT_OK(zk_ctx_create(&c2, 0, dev));
    EXPECT_OK(zk_mem_alloc(&d, 4096));        /* in c2 */
    EXPECT_OK(zk_ctx_set_current(ctx));
    EXPECT(zk_mem_free(d), ZK_ERROR_INVALID_VALUE);   /* not in this address space */
    EXPECT_OK(zk_ctx_set_current(c2));
    EXPECT_OK(zk_ctx_destroy(c2));            /* frees d with it */
    EXPECT(zk_mem_alloc(&d, 64), ZK_ERROR_INVALID_CONTEXT);
    EXPECT(zk_ctx_destroy(c2), ZK_ERROR_INVALID_HANDLE);
    EXPECT(zk_ctx_set_current(c2), ZK_ERROR_INVALID_HANDLE);
    EXPECT_OK(zk_ctx_set_current(ctx));
    EXPECT_OK(zk_ctx_synchronize());
}

static void test_memory(void)
{
    static const size_t sizes[] = {1, 100, 4096, 32768, 32769, 1 << 20, (20 << 20) + 5};
    zk_deviceptr d, d2, base;
    size_t i, fr, tot, sz;
    void *h;
    EXPECT_OK(zk_mem_get_info(&fr, &tot));
    EXPECT(zk_mem_alloc(&d, 0), ZK_ERROR_INVALID_VALUE);
    EXPECT(zk_mem_alloc(&d, (size_t)tot * 2), ZK_ERROR_OUT_OF_MEMORY);
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        uint8_t *a = malloc(n), *b = malloc(n);
        fill(a, n, (unsigned)i);
        memset(b, 0, n);
        MUST(zk_mem_alloc(&d, n));
        MUST(zk_mem_alloc(&d2, n));
        EXPECT_OK(zk_memcpy_htod(d, a, n));
        EXPECT_OK(zk_memcpy_dtod(d2, d, n));
        EXPECT_OK(zk_memcpy_dtoh(b, d2, n));
        tap_result(memcmp(a, b, n) == 0, "htod/dtod/dtoh round trip of %zu bytes", n);
        EXPECT_OK(zk_memset(d, 0x7e, n));
        EXPECT_OK(zk_memcpy_dtoh(b, d, n));
        memset(a, 0x7e, n);
        tap_result(memcmp(a, b, n) == 0, "memset of %zu bytes", n);
        EXPECT_OK(zk_mem_free(d));
        EXPECT_OK(zk_mem_free(d2));
        free(a);
        free(b);
    }
    MUST(zk_mem_alloc(&d, 8192));
    EXPECT_OK(zk_mem_get_address_range(&base, &sz, d + 100));
    tap_result(base == d && sz == 8192, "address range of an interior pointer");
    EXPECT(zk_memcpy_htod(d + 4096, &sz, 8192), ZK_ERROR_INVALID_VALUE);
    EXPECT_OK(zk_memset_d32(d, 0xdeadbeef, 2048));
    EXPECT_OK(zk_mem_free(d));
    EXPECT(zk_mem_free(d), ZK_ERROR_INVALID_VALUE);
    EXPECT(zk_memcpy_htod(d, &sz, 8), ZK_ERROR_INVALID_VALUE);
    EXPECT(zk_memcpy_dtoh(&sz, d, 8), ZK_ERROR_INVALID_VALUE);
    /* pinned host memory */
    EXPECT_OK(zk_mem_alloc_host(&h, 1 << 20));
    MUST(zk_mem_alloc(&d, 1 << 20));
    fill(h, 1 << 20, 9);
    EXPECT_OK(zk_memcpy_htod_async(d, h, 1 << 20, NULL));
    EXPECT_OK(zk_memset_async(d, 1, 16, NULL));
    EXPECT_OK(zk_memcpy_dtoh_async(h, d, 1 << 20, NULL));
    EXPECT_OK(zk_stream_synchronize(NULL));
    {
        uint8_t *ref = malloc(1 << 20);
        fill(ref, 1 << 20, 9);
        memset(ref, 1, 16);
        tap_result(memcmp(ref, h, 1 << 20) == 0, "pinned async round trip (1 MiB)");
        free(ref);
    }
    EXPECT_OK(zk_mem_host_get_device_pointer(&base, (char *)h + 10));
    EXPECT_OK(zk_mem_free_host(h));
    EXPECT(zk_mem_free_host(h), ZK_ERROR_INVALID_VALUE);
    EXPECT_OK(zk_mem_free(d));
}

static zk_module load_test_module(void)
{
    size_t len;
    void *obj = zkt_test_module(&len);
    zk_module m = NULL;
    unsigned n;
    EXPECT(zk_module_load_data(&m, obj, 16), ZK_ERROR_INVALID_IMAGE);
    EXPECT(zk_module_load(&m, "/nonexistent/x.zko"), ZK_ERROR_OS);
    MUST(zk_module_load_data(&m, obj, len));
    free(obj);
    MUST(zk_module_get_function(&k_null, m, "null"));
    MUST(zk_module_get_function(&k_inc, m, "inc"));
    MUST(zk_module_get_function(&k_poke, m, "poke"));
    EXPECT(zk_module_get_function(&k_poke, m, "missing"), ZK_ERROR_NOT_FOUND);
    MUST(zk_module_get_function(&k_poke, m, "poke"));
    EXPECT_OK(zk_function_get_num_args(k_inc, &n));
    tap_result(n == 2, "inc takes 2 arguments");
    {
        /* an illegal instruction never gets past the loader's verifier */
        static const uint64_t bad[] = {0xffull, ZK_INSN(ZK_OP_HALT, 0, 0, 0, 0)};
        zkt_kernel k = {"bad", bad, 2, 0, NULL};
        void *o = zkt_build_obj(&k, 1, &len);
        zk_module mb;
        EXPECT(zk_module_load_data(&mb, o, len), ZK_ERROR_INVALID_IMAGE);
        free(o);
    }
    return m;
}

static void test_launch(zk_module m)
{
    enum { N = 1024 };
    uint32_t *h = malloc(N * 4), grid[3] = {N, 1, 1};
    uint64_t args[2];
    zk_deviceptr d;
    zk_stream s;
    int i, ok = 1;
    MUST(zk_mem_alloc(&d, N * 4));
    MUST(zk_stream_create(&s, 0));
    for (i = 0; i < N; i++) {
        h[i] = (uint32_t)i;
    }
    args[0] = d;
    args[1] = 5;
    EXPECT_OK(zk_memcpy_htod_async(d, h, N * 4, s));
    EXPECT_OK(zk_launch_kernel(k_inc, grid, args, 2, s));
    EXPECT_OK(zk_launch_kernel(k_inc, grid, args, 2, s));
    EXPECT_OK(zk_launch_kernel(k_null, grid, NULL, 0, s));
    EXPECT_OK(zk_memcpy_dtoh_async(h, d, N * 4, s));
    EXPECT_OK(zk_stream_synchronize(s));
    for (i = 0; i < N; i++) {
        ok &= h[i] == (uint32_t)i + 10;
    }
    tap_result(ok, "copy, 2 launches, copy back on one stream are ordered");
    /* argument checking */
    EXPECT(zk_launch_kernel(k_inc, grid, args, 1, s), ZK_ERROR_INVALID_VALUE);
    args[0] = 12345;
    EXPECT(zk_launch_kernel(k_inc, grid, args, 2, s), ZK_ERROR_INVALID_ARGUMENT_TYPE);
    args[0] = d + N * 4;                      /* one past the end */
    EXPECT(zk_launch_kernel(k_inc, grid, args, 2, s), ZK_ERROR_INVALID_ARGUMENT_TYPE);
    grid[2] = 0;
    EXPECT(zk_launch_kernel(k_null, grid, NULL, 0, s), ZK_ERROR_INVALID_VALUE);
    grid[2] = 1;
    /* a fault on the device: sticky on its stream only */
    args[0] = 0x1000;                         /* unmapped device VA */
    EXPECT_OK(zk_launch_kernel(k_poke, grid, args, 1, s));
    EXPECT(zk_stream_synchronize(s), ZK_ERROR_LAUNCH_FAILED);
    EXPECT(zk_launch_kernel(k_null, grid, NULL, 0, s), ZK_ERROR_LAUNCH_FAILED);
    EXPECT_OK(zk_memset(d, 0, N * 4));        /* default stream unaffected */
    EXPECT(zk_stream_clear_error(s), ZK_ERROR_LAUNCH_FAILED);
    EXPECT_OK(zk_launch_kernel(k_null, grid, NULL, 0, s));
    EXPECT_OK(zk_stream_synchronize(s));
    /* freed memory and destroyed streams */
    args[0] = d;
    EXPECT_OK(zk_mem_free(d));
    EXPECT(zk_launch_kernel(k_inc, grid, args, 2, s), ZK_ERROR_INVALID_ARGUMENT_TYPE);
    EXPECT_OK(zk_stream_destroy(s));
    EXPECT(zk_launch_kernel(k_null, grid, NULL, 0, s), ZK_ERROR_INVALID_HANDLE);
    EXPECT(zk_stream_synchronize(s), ZK_ERROR_INVALID_HANDLE);
    EXPECT(zk_stream_destroy(s), ZK_ERROR_INVALID_HANDLE);
    (void)m;
    free(h);
}

static void test_events(void)
{
    enum { NEV = 8 };
    zk_event ev[NEV], nt;
    zk_stream s1, s2;
    zk_deviceptr d;
    uint32_t grid[3] = {256, 1, 1}, out[256];
    uint64_t args[2];
    float ms, total = 0, card;
    int i, mono = 1, ok = 1;
    zk_device_properties p;
    zk_device dev;
    MUST(zk_stream_create(&s1, 0));
    MUST(zk_stream_create(&s2, 0));
    MUST(zk_mem_alloc(&d, 1 << 20));
    for (i = 0; i < NEV; i++) {
        MUST(zk_event_create(&ev[i], 0));
    }
    EXPECT_OK(zk_event_create(&nt, ZK_EVENT_DISABLE_TIMING));
    EXPECT_OK(zk_event_query(ev[0]));         /* never recorded */
    args[0] = d;
    args[1] = 1;
    EXPECT_OK(zk_memset(d, 0, 1 << 20));
    for (i = 0; i < NEV; i++) {
        EXPECT_OK(zk_event_record(ev[i], s1));
        if (i + 1 < NEV) {
            EXPECT_OK(zk_memset_async(d + 4096, (uint8_t)i, (1 << 20) - 4096, s1));
            EXPECT_OK(zk_launch_kernel(k_inc, grid, args, 2, s1));
        }
    }
    EXPECT_OK(zk_event_record(nt, s1));
    EXPECT_OK(zk_event_synchronize(ev[NEV - 1]));
    for (i = 0; i + 1 < NEV; i++) {
        zk_status st = zk_event_elapsed_time(&ms, ev[i], ev[i + 1]);
        mono &= st == ZK_SUCCESS && ms >= 0.0f;
        total += ms;
    }
    tap_result(mono, "event timestamps are monotonic (%.3f ms over %d steps)", total, NEV - 1);
    EXPECT_OK(zk_event_elapsed_time(&ms, ev[0], ev[NEV - 1]));
    tap_result(ms >= total * 0.99f - 0.01f, "elapsed(first,last) %.3f ms = sum of steps", ms);
    EXPECT(zk_event_elapsed_time(&ms, ev[0], nt), ZK_ERROR_INVALID_VALUE);
    MUST(zk_ctx_get_device(&dev));
    MUST(zk_device_get_properties(dev, &p));
    if (p.caps & ZK_DEVICE_CAP_CARD_TIME) {
        EXPECT_OK(zk_event_elapsed_card_time(&card, ev[0], ev[NEV - 1]));
        printf("# modelled card time %.4f ms vs emulated %.3f ms\n", card, ms);
        tap_result(card >= 0.0f, "card time is non-negative");
    } else {
        EXPECT(zk_event_elapsed_card_time(&card, ev[0], ev[NEV - 1]), ZK_ERROR_NOT_SUPPORTED);
    }
    /* cross-stream ordering: s2 adds 100 after s1's launches, without the CPU waiting */
    EXPECT_OK(zk_memset(d, 0, 1024));
    args[1] = 1;
    for (i = 0; i < 20; i++) {
        EXPECT_OK(zk_launch_kernel(k_inc, grid, args, 2, s1));
    }
    EXPECT_OK(zk_event_record(ev[0], s1));
    args[1] = 100;
    EXPECT_OK(zk_stream_wait_event(s2, ev[0], 0));
    EXPECT_OK(zk_launch_kernel(k_inc, grid, args, 2, s2));
    EXPECT_OK(zk_memcpy_dtoh_async(out, d, sizeof(out), s2));   /* pageable: syncs s2 */
    for (i = 0; i < 256; i++) {
        ok &= out[i] == 120;
    }
    tap_result(ok, "stream_wait_event orders s2 after s1 (got %u, want 120)", out[0]);
    EXPECT_OK(zk_event_query(ev[0]));
    for (i = 0; i < NEV; i++) {
        EXPECT_OK(zk_event_destroy(ev[i]));
    }
    EXPECT_OK(zk_event_destroy(nt));
    EXPECT(zk_event_query(nt), ZK_ERROR_INVALID_HANDLE);
    EXPECT(zk_event_record(nt, s1), ZK_ERROR_INVALID_HANDLE);
    EXPECT_OK(zk_mem_free(d));
    EXPECT_OK(zk_stream_destroy(s1));
    EXPECT_OK(zk_stream_destroy(s2));
}

/* Several threads, each with its own stream: copy in, launch, copy out. */
struct worker {
    int id, iters, ok;
    char why[128];
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    size_t n = (256u << 10) + (size_t)w->id * 4096, words = n / 4, i;
    uint32_t *in = malloc(n), *out = malloc(n), grid[3] = {(uint32_t)(n / 4), 1, 1};
    uint64_t args[2];
    zk_deviceptr d;
    zk_stream s;
    int it;
    w->ok = 0;
    if (zk_ctx_set_current(ctx) || zk_stream_create(&s, 0) || zk_mem_alloc(&d, n)) {
        snprintf(w->why, sizeof(w->why), "setup: %s", zk_last_error_detail());
        return NULL;
    }
    args[0] = d;
    for (it = 0; it < w->iters; it++) {
        for (i = 0; i < words; i++) {
            in[i] = (uint32_t)(i * 7 + (size_t)it * 1000 + (size_t)w->id);
        }
        args[1] = (uint64_t)(w->id + 1);
        if (zk_memcpy_htod_async(d, in, n, s) || zk_launch_kernel(k_inc, grid, args, 2, s) ||
            zk_launch_kernel(k_inc, grid, args, 2, s) ||
            zk_memcpy_dtoh_async(out, d, n, s) || zk_stream_synchronize(s)) {
            snprintf(w->why, sizeof(w->why), "iteration %d: %s", it, zk_last_error_detail());
            return NULL;
        }
        for (i = 0; i < words; i++) {
            if (out[i] != in[i] + 2 * (uint32_t)(w->id + 1)) {
                snprintf(w->why, sizeof(w->why), "iteration %d word %zu: %u != %u", it, i,
                         out[i], in[i] + 2 * (w->id + 1));
                return NULL;
            }
        }
    }
    if (zk_mem_free(d) || zk_stream_destroy(s)) {
        snprintf(w->why, sizeof(w->why), "teardown: %s", zk_last_error_detail());
        return NULL;
    }
    free(in);
    free(out);
    w->ok = 1;
    return NULL;
}

static void test_threads(void)
{
    enum { NT = 4 };
    pthread_t th[NT];
    struct worker w[NT];
    int i;
    for (i = 0; i < NT; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].id = i;
        w[i].iters = 6;
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    for (i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        tap_result(w[i].ok, "thread %d: async copy/launch/copy-back on its own stream%s%s", i,
                   w[i].ok ? "" : ": ", w[i].why);
    }
}

static void test_misc_errors(void)
{
    zk_stream s;
    zk_event e;
    unsigned q;
    EXPECT(zk_stream_create(&s, 7), ZK_ERROR_INVALID_VALUE);
    EXPECT(zk_stream_create(NULL, 0), ZK_ERROR_INVALID_VALUE);
    EXPECT(zk_stream_destroy(NULL), ZK_ERROR_INVALID_HANDLE);
    EXPECT(zk_event_create(&e, 0x100), ZK_ERROR_INVALID_VALUE);
    EXPECT(zk_stream_get_queue((zk_stream)&q, &q), ZK_ERROR_INVALID_HANDLE);
    EXPECT(zk_event_synchronize((zk_event)&q), ZK_ERROR_INVALID_HANDLE);
    EXPECT(zk_stream_wait_event(NULL, (zk_event)&q, 0), ZK_ERROR_INVALID_HANDLE);
    EXPECT_OK(zk_stream_query(NULL));
    EXPECT_OK(zk_stream_flush(NULL));
    tap_result(strcmp(zk_error_string(ZK_ERROR_LAUNCH_FAILED), "unknown status") != 0,
               "error strings exist");
}

int main(void)
{
    zk_module m;
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_devices();
    test_contexts();
    test_memory();
    m = load_test_module();
    test_launch(m);
    test_events();
    test_threads();
    test_misc_errors();
    EXPECT_OK(zk_module_unload(m));
    EXPECT(zk_launch_kernel(k_null, (uint32_t[3]){1, 1, 1}, NULL, 0, NULL),
           ZK_ERROR_INVALID_HANDLE);
    EXPECT_OK(zk_ctx_destroy(ctx));
    return tap_done();
}
