/* SPDX-License-Identifier: MIT */
/*
 * test_runtime.c - host unit tests of libzhikai's own logic (no device):
 * error strings, handle registry, VA->allocation map, kernel-argument
 * checking, and the command-buffer / stream / event bookkeeping driven
 * against a software fake of the driver (zk_fake_ioctl.c).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "zk_internal.h"
#include <unistd.h>

#include "module_ptx.h"
#include "zk_fake_ioctl.h"
#include "zk_test_obj.h"
#include "zk_obj.h"

#define OK(x) assert_int_equal((x), ZK_SUCCESS)

/* ---- pure logic ------------------------------------------------------------------ */

static void test_error_strings(void **state)
{
    int s;
    (void)state;
    for (s = ZK_SUCCESS; s <= ZK_ERROR_UNKNOWN; s++) {
        assert_string_not_equal(zk_error_string((zk_status)s), "unknown status");
        assert_true(strncmp(zk_error_name((zk_status)s), "ZK_", 3) == 0);
    }
    assert_string_equal(zk_error_name(ZK_ERROR_TIMEOUT), "ZK_ERROR_TIMEOUT");
    assert_string_equal(zk_error_string((zk_status)999), "unknown status");
    assert_string_equal(zk_error_string((zk_status)-1), "unknown status");
    assert_int_equal(zk__job_status(ZKIO_JOB_FAULTED), ZK_ERROR_LAUNCH_FAILED);
    assert_int_equal(zk__job_status(ZKIO_JOB_ERROR), ZK_ERROR_ILLEGAL_COMMAND);
    assert_int_equal(zk__job_status(ZKIO_JOB_ABORTED), ZK_ERROR_ABORTED);
    assert_int_equal(zk__job_status(ZKIO_JOB_TIMEDOUT), ZK_ERROR_TIMEOUT);
    assert_int_equal(zk__job_status(ZKIO_JOB_OK), ZK_SUCCESS);
    assert_int_equal(zk__fail_io(-ENOMEM, "x"), ZK_ERROR_OUT_OF_MEMORY);
    assert_int_equal(zk__fail_io(-EACCES, "opening"), ZK_ERROR_OS);
    assert_non_null(strstr(zk_last_error_detail(), "opening"));
    assert_non_null(strstr(zk_last_error_detail(), "errno 13"));
}

static void test_handles(void **state)
{
    int a, b;
    size_t n0 = zk__handle_count();
    int i, *many[300];
    (void)state;
    assert_false(zk__handle_ok(&a, ZK_KIND_STREAM));
    assert_int_equal(zk__handle_add(&a, ZK_KIND_STREAM), 0);
    assert_int_equal(zk__handle_add(&b, ZK_KIND_EVENT), 0);
    assert_true(zk__handle_ok(&a, ZK_KIND_STREAM));
    assert_false(zk__handle_ok(&a, ZK_KIND_EVENT));     /* wrong kind */
    assert_true(zk__handle_ok(&b, ZK_KIND_EVENT));
    assert_false(zk__handle_ok(NULL, ZK_KIND_EVENT));
    zk__handle_del(&a);
    assert_false(zk__handle_ok(&a, ZK_KIND_STREAM));
    assert_true(zk__handle_ok(&b, ZK_KIND_EVENT));
    /* growth and tombstones */
    for (i = 0; i < 300; i++) {
        many[i] = malloc(4);
        assert_int_equal(zk__handle_add(many[i], ZK_KIND_MODULE), 0);
    }
    for (i = 0; i < 300; i += 2) {
        zk__handle_del(many[i]);
    }
    for (i = 0; i < 300; i++) {
        assert_int_equal(zk__handle_ok(many[i], ZK_KIND_MODULE), i % 2);
    }
    for (i = 1; i < 300; i += 2) {
        zk__handle_del(many[i]);
    }
    for (i = 0; i < 300; i++) {
        free(many[i]);
    }
    zk__handle_del(&b);
    assert_int_equal(zk__handle_count(), n0);
}

static void test_rangemap(void **state)
{
    zk_rangemap m = {0};
    int o1, o2, o3;
    const zk_range *r;
    (void)state;
    assert_int_equal(zk__rmap_insert(&m, 0x2000, 0x1000, &o2), 0);
    assert_int_equal(zk__rmap_insert(&m, 0x1000, 0x1000, &o1), 0);
    assert_int_equal(zk__rmap_insert(&m, 0x5000, 0x3000, &o3), 0);
    assert_int_equal(zk__rmap_insert(&m, 0x2800, 0x10, &o3), -EEXIST);
    assert_int_equal(zk__rmap_insert(&m, 0x4000, 0x1001, &o3), -EEXIST);
    assert_int_equal(zk__rmap_insert(&m, 0x9000, 0, &o3), -EINVAL);
    assert_int_equal(zk__rmap_insert(&m, ~0ull - 10, 100, &o3), -EINVAL);
    assert_null(zk__rmap_find(&m, 0xfff, 1));
    r = zk__rmap_find(&m, 0x1000, 1);
    assert_non_null(r);
    assert_ptr_equal(r->obj, &o1);
    assert_ptr_equal(zk__rmap_find(&m, 0x1fff, 1)->obj, &o1);
    assert_ptr_equal(zk__rmap_find(&m, 0x2000, 0)->obj, &o2);
    assert_null(zk__rmap_find(&m, 0x1800, 0x1000));     /* spans two */
    assert_ptr_equal(zk__rmap_find(&m, 0x5000, 0x3000)->obj, &o3);
    assert_null(zk__rmap_find(&m, 0x5001, 0x3000));
    assert_null(zk__rmap_find(&m, 0x4000, 1));           /* hole */
    assert_null(zk__rmap_find(&m, 0x8000, 1));           /* one past */
    assert_null(zk__rmap_find(&m, 0x5000, ~0ull));       /* overflow */
    assert_null(zk__rmap_remove(&m, 0x1001));
    assert_ptr_equal(zk__rmap_remove(&m, 0x1000), &o1);
    assert_null(zk__rmap_find(&m, 0x1000, 1));
    assert_null(zk__rmap_remove(&m, 0x1000));            /* double */
    assert_int_equal(m.n, 2);
    zk__rmap_free(&m);
}

static void test_check_args(void **state)
{
    struct zk_kernel_desc d;
    zk_rangemap m = {0};
    zk_alloc a = {.va = 0x100010000ull, .size = 0x1000, .handle = 7};
    zk_alloc *objs[ZK_MAX_ARGS];
    uint64_t args[4];
    (void)state;
    memset(&d, 0, sizeof(d));
    strcpy(d.name, "axpy");
    d.num_args = 4;
    d.args[0].kind = ZK_ARG_PTR;
    strcpy(d.args[0].name, "x");
    d.args[1].kind = ZK_ARG_PTR;
    strcpy(d.args[1].name, "y");
    d.args[2].kind = ZK_ARG_F32;
    strcpy(d.args[2].name, "alpha");
    d.args[3].kind = ZK_ARG_U64;
    strcpy(d.args[3].name, "n");
    assert_int_equal(zk__rmap_insert(&m, a.va, a.size, &a), 0);

    args[0] = 0x100010000ull;
    args[1] = 0x100010ff8ull;
    args[2] = zk_arg_f32(2.5f);
    args[3] = 1024;
    OK(zk__check_args(&d, args, 4, &m, objs));
    assert_ptr_equal(objs[0], &a);
    assert_ptr_equal(objs[1], &a);
    assert_null(objs[2]);
    assert_null(objs[3]);

    assert_int_equal(zk__check_args(&d, args, 3, &m, objs), ZK_ERROR_INVALID_VALUE);
    assert_non_null(strstr(zk_last_error_detail(), "takes 4"));
    assert_int_equal(zk__check_args(&d, NULL, 4, &m, objs), ZK_ERROR_INVALID_VALUE);

    args[1] = 0x100011000ull;                  /* one past the end */
    assert_int_equal(zk__check_args(&d, args, 4, &m, objs), ZK_ERROR_INVALID_ARGUMENT_TYPE);
    assert_non_null(strstr(zk_last_error_detail(), "argument 1 (y)"));
    args[1] = 5;                        /* a scalar where a pointer goes */
    assert_int_equal(zk__check_args(&d, args, 4, &m, objs), ZK_ERROR_INVALID_ARGUMENT_TYPE);
    args[1] = 0x100010000ull;
    args[2] = 0x100010000ull;                  /* a pointer where a float goes */
    assert_int_equal(zk__check_args(&d, args, 4, &m, objs), ZK_ERROR_INVALID_ARGUMENT_TYPE);
    assert_non_null(strstr(zk_last_error_detail(), "alpha"));
    args[2] = 0x3ff0000000000000ull;    /* a double */
    assert_int_equal(zk__check_args(&d, args, 4, &m, objs), ZK_ERROR_INVALID_ARGUMENT_TYPE);
    args[2] = zk_arg_f32(1.0f);
    args[3] = 0x100010010ull;                  /* u64 that happens to be an address: kept alive */
    OK(zk__check_args(&d, args, 4, &m, objs));
    assert_ptr_equal(objs[3], &a);
    d.args[3].kind = 9;
    assert_int_equal(zk__check_args(&d, args, 4, &m, objs), ZK_ERROR_INVALID_IMAGE);
    zk__rmap_free(&m);
}

/* ---- against the fake driver ----------------------------------------------------------- */

static zk_context g_ctx;

static int setup_ctx(void **state)
{
    zk_device dev;
    (void)state;
    fake_reset();
    if (zk_init(0) != ZK_SUCCESS || zk_device_get(&dev, 0) != ZK_SUCCESS ||
        zk_ctx_create(&g_ctx, 0, dev) != ZK_SUCCESS) {
        return -1;
    }
    return 0;
}

static int teardown_ctx(void **state)
{
    (void)state;
    fake.defer = 0;
    if (zk_ctx_destroy(g_ctx) != ZK_SUCCESS) {
        return -1;
    }
    /* Everything the context made is gone. */
    if (fake.live_bos != 0 || fake.live_syncobjs != 0 || fake.maps != 0 ||
        fake.opens != fake.closes) {
        fprintf(stderr, "leak: bos %d syncobjs %d maps %d opens %d closes %d\n",
                fake.live_bos, fake.live_syncobjs, fake.maps, fake.opens, fake.closes);
        return -1;
    }
    return 0;
}

static void test_devices(void **state)
{
    zk_device d, d2;
    zk_device_properties p;
    int n, v;
    (void)state;
    OK(zk_device_count(&n));
    assert_int_equal(n, 1);
    OK(zk_device_get(&d, 0));
    assert_int_equal(zk_device_get(&d2, 1), ZK_ERROR_NO_DEVICE);
    assert_int_equal(zk_device_get(&d2, -1), ZK_ERROR_NO_DEVICE);
    assert_int_equal(zk_device_get(NULL, 0), ZK_ERROR_INVALID_VALUE);
    OK(zk_device_get_by_pci_bus_id(&d2, "0000:00:03.0"));
    assert_ptr_equal(d, d2);
    OK(zk_device_get_by_pci_bus_id(&d2, "00:03.0"));
    OK(zk_device_get_by_pci_bus_id(&d2, "0000:00:03.0"));
    assert_int_equal(zk_device_get_by_pci_bus_id(&d2, "0000:00:04.0"), ZK_ERROR_NOT_FOUND);
    assert_int_equal(zk_device_get_by_pci_bus_id(&d2, "garbage"), ZK_ERROR_INVALID_VALUE);
    OK(zk_device_get_properties(d, &p));
    assert_int_equal(p.hbm_total, 1ull << 30);
    assert_true(p.hbm_free <= p.hbm_total);
    assert_int_equal(p.num_queues, 4);
    assert_int_equal(p.fw_version, 0x010203);
    assert_int_equal(p.compute_capability_major, 1);
    assert_int_equal(p.pci_device_id, ZK_PCI_DEVICE_ID);
    assert_string_equal(p.pci_bus_id, "0000:00:03.0");
    assert_int_equal(zk_device_get_properties((zk_device)&n, &p), ZK_ERROR_INVALID_HANDLE);
    assert_int_equal(zk_device_get_properties(d, NULL), ZK_ERROR_INVALID_VALUE);
    OK(zk_runtime_get_version(&v));
    assert_int_equal(v, ZK_RUNTIME_VERSION);
}

static void test_context_current(void **state)
{
    zk_context c, c2;
    zk_device d;
    zk_deviceptr p;
    (void)state;
    OK(zk_ctx_get_current(&c));
    assert_ptr_equal(c, g_ctx);
    OK(zk_ctx_get_device(&d));
    OK(zk_ctx_set_current(NULL));
    assert_int_equal(zk_mem_alloc(&p, 64), ZK_ERROR_INVALID_CONTEXT);
    assert_int_equal(zk_ctx_set_current((zk_context)&p), ZK_ERROR_INVALID_HANDLE);
    OK(zk_ctx_create(&c2, 0, d));             /* becomes current */
    OK(zk_ctx_get_current(&c));
    assert_ptr_equal(c, c2);
    OK(zk_ctx_destroy(c2));
    OK(zk_ctx_get_current(&c));
    assert_null(c);
    assert_int_equal(zk_ctx_destroy(c2), ZK_ERROR_INVALID_HANDLE);
    assert_int_equal(zk_ctx_create(&c2, 1, d), ZK_ERROR_INVALID_VALUE);
    fake.open_errno = EACCES;
    assert_int_equal(zk_ctx_create(&c2, 0, d), ZK_ERROR_OS);
    assert_non_null(strstr(zk_last_error_detail(), "Permission denied"));
    fake.open_errno = 0;
    OK(zk_ctx_set_current(g_ctx));
}

/* The per-thread context stack (CUDA's model) and primary contexts. */
static void test_context_stack(void **state)
{
    zk_context c, c2, p, p2;
    zk_device d;
    int active = -1;
    (void)state;
    OK(zk_ctx_get_device(&d));
    OK(zk_ctx_create(&c2, 0, d));               /* replaces the top: g_ctx */
    OK(zk_ctx_set_current(g_ctx));
    OK(zk_ctx_push_current(c2));
    OK(zk_ctx_get_current(&c));
    assert_ptr_equal(c, c2);
    OK(zk_ctx_pop_current(&c));
    assert_ptr_equal(c, c2);
    OK(zk_ctx_get_current(&c));
    assert_ptr_equal(c, g_ctx);
    OK(zk_ctx_push_current(c2));
    OK(zk_ctx_push_current(c2));
    OK(zk_ctx_destroy(c2));                     /* drops both entries */
    OK(zk_ctx_get_current(&c));
    assert_ptr_equal(c, g_ctx);
    assert_int_equal(zk_ctx_push_current(c2), ZK_ERROR_INVALID_HANDLE);
    assert_int_equal(zk_ctx_push_current(NULL), ZK_ERROR_INVALID_HANDLE);
    /* Primary context: shared, not made current, refused by zk_ctx_destroy. */
    OK(zk_device_primary_ctx_get_state(d, &active));
    assert_int_equal(active, 0);
    OK(zk_device_primary_ctx_retain(&p, d));
    OK(zk_device_primary_ctx_retain(&p2, d));
    assert_ptr_equal(p, p2);
    assert_ptr_not_equal(p, g_ctx);
    OK(zk_ctx_get_current(&c));
    assert_ptr_equal(c, g_ctx);
    assert_int_equal(zk_ctx_destroy(p), ZK_ERROR_INVALID_CONTEXT);
    OK(zk_ctx_push_current(p));
    OK(zk_stream_synchronize_others(NULL));
    OK(zk_ctx_pop_current(NULL));
    OK(zk_device_primary_ctx_release(d));
    OK(zk_device_primary_ctx_get_state(d, &active));
    assert_int_equal(active, 1);
    OK(zk_device_primary_ctx_release(d));
    OK(zk_device_primary_ctx_get_state(d, &active));
    assert_int_equal(active, 0);
    assert_int_equal(zk_device_primary_ctx_release(d), ZK_ERROR_INVALID_CONTEXT);
    /* Popping the last one empties the stack. */
    OK(zk_ctx_pop_current(&c));
    assert_ptr_equal(c, g_ctx);
    assert_int_equal(zk_ctx_pop_current(&c), ZK_ERROR_INVALID_CONTEXT);
    OK(zk_ctx_set_current(g_ctx));
}

static void test_mem_alloc_free(void **state)
{
    zk_deviceptr a, b, base;
    size_t sz, fr, tot;
    void *h;
    (void)state;
    OK(zk_mem_alloc(&a, 1000));
    OK(zk_mem_alloc(&b, 1 << 20));
    assert_int_equal(zk_mem_alloc(&b, 0), ZK_ERROR_INVALID_VALUE);
    assert_int_equal(zk_mem_alloc(NULL, 10), ZK_ERROR_INVALID_VALUE);
    OK(zk_mem_get_address_range(&base, &sz, a + 999));
    assert_int_equal(base, a);
    assert_int_equal(sz, 1000);
    assert_int_equal(zk_mem_get_address_range(&base, &sz, a + 1000), ZK_ERROR_NOT_FOUND);
    OK(zk_mem_get_info(&fr, &tot));
    assert_int_equal(tot, 1ull << 30);
    assert_true(fr <= tot - (1 << 20));
    assert_int_equal(zk_mem_free(a + 8), ZK_ERROR_INVALID_VALUE);
    OK(zk_mem_free(a));
    assert_int_equal(zk_mem_free(a), ZK_ERROR_INVALID_VALUE);      /* double free */
    assert_non_null(strstr(zk_last_error_detail(), "double free"));
    assert_int_equal(zk_mem_get_address_range(&base, &sz, a), ZK_ERROR_NOT_FOUND);
    fake.hbm_size = 4 << 20;
    assert_int_equal(zk_mem_alloc(&a, 8 << 20), ZK_ERROR_OUT_OF_MEMORY);
    assert_non_null(strstr(zk_last_error_detail(), "BO_CREATE"));
    OK(zk_mem_alloc_host(&h, 5000));
    OK(zk_mem_host_get_device_pointer(&a, (char *)h + 100));
    OK(zk_mem_get_address_range(&base, &sz, a));
    assert_int_equal(sz, 5000);
    assert_int_equal(zk_mem_free(base), ZK_ERROR_INVALID_VALUE);   /* host, not device */
    assert_int_equal(zk_mem_host_get_device_pointer(&a, &sz), ZK_ERROR_INVALID_VALUE);
    assert_int_equal(zk_mem_free_host((char *)h + 1), ZK_ERROR_INVALID_VALUE);
    OK(zk_mem_free_host(h));
    OK(zk_mem_free(b));
}

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
    size_t i;
    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)(i * 31 + seed + (i >> 12));
    }
}

static void roundtrip(size_t n)
{
    uint8_t *src = malloc(n), *dst = malloc(n);
    zk_deviceptr d;
    fill_pattern(src, n, (unsigned)n);
    memset(dst, 0, n);
    OK(zk_mem_alloc(&d, n));
    OK(zk_memcpy_htod(d, src, n));
    OK(zk_memcpy_dtoh(dst, d, n));
    assert_memory_equal(src, dst, n);
    OK(zk_mem_free(d));
    free(src);
    free(dst);
}

static void test_memcpy_sizes(void **state)
{
    uint64_t sub0 = fake.submits;
    (void)state;
    roundtrip(100);                     /* small sync copies: CPU through the mmap */
    assert_int_equal(fake.submits, sub0);
    setenv("ZK_NO_HBM_MMAP", "1", 1);   /* ... or DMA through the command chunk */
    roundtrip(100);
    assert_true(fake.submits > sub0);
    unsetenv("ZK_NO_HBM_MMAP");
    {
        uint8_t a[5000], b[5000];
        zk_deviceptr d;
        fill_pattern(a, sizeof(a), 3);
        OK(zk_mem_alloc(&d, sizeof(a)));
        OK(zk_memcpy_htod_async(d, a, sizeof(a), NULL));
        memset(a, 0, sizeof(a));        /* the source may be reused at once */
        OK(zk_memcpy_dtoh_async(b, d, sizeof(b), NULL));
        fill_pattern(a, sizeof(a), 3);
        assert_memory_equal(a, b, sizeof(a));
        OK(zk_mem_free(d));
    }
    roundtrip(1);
    roundtrip(4096);
    roundtrip(ZK_INLINE_MAX);           /* inline via the command chunk */
    roundtrip(ZK_INLINE_MAX + 1);       /* staged */
    roundtrip((9u << 20) + 123);        /* several staging chunks, pipelined */
    /* 9 MiB in 4 MiB chunks = 3 DMA jobs each way; staging pool stays small */
    assert_true(g_ctx->nstage >= 1 && g_ctx->nstage <= ZK_STAGE_MAX);
}

static void test_memcpy_errors(void **state)
{
    zk_deviceptr d;
    uint8_t buf[64];
    (void)state;
    OK(zk_mem_alloc(&d, 64));
    assert_int_equal(zk_memcpy_htod(d, buf, 65), ZK_ERROR_INVALID_VALUE);
    assert_non_null(strstr(zk_last_error_detail(), "runs past the end"));
    assert_int_equal(zk_memcpy_htod(d + 4096, buf, 1), ZK_ERROR_INVALID_VALUE);
    assert_non_null(strstr(zk_last_error_detail(), "dst"));
    assert_int_equal(zk_memcpy_dtoh(buf, d + 1, 64), ZK_ERROR_INVALID_VALUE);
    assert_non_null(strstr(zk_last_error_detail(), "src"));
    assert_int_equal(zk_memcpy_htod(d, NULL, 8), ZK_ERROR_INVALID_VALUE);
    assert_int_equal(zk_memset_d32(d + 1, 0, 4), ZK_ERROR_INVALID_VALUE);
    OK(zk_memcpy_htod(d, buf, 0));      /* zero size: no-op */
    OK(zk_mem_free(d));
    assert_int_equal(zk_memcpy_htod(d, buf, 8), ZK_ERROR_INVALID_VALUE);   /* freed */
    assert_non_null(strstr(zk_last_error_detail(), "not inside a live allocation"));
}

static void test_memset_dtod_pinned(void **state)
{
    zk_deviceptr a, b;
    uint8_t *h, out[300];
    uint32_t w[10];
    int i;
    (void)state;
    OK(zk_mem_alloc(&a, 300));
    OK(zk_mem_alloc(&b, 300));
    OK(zk_memset(a, 0xab, 300));
    OK(zk_memcpy_dtod(b, a, 300));
    OK(zk_memcpy_dtoh(out, b, 300));
    for (i = 0; i < 300; i++) {
        assert_int_equal(out[i], 0xab);
    }
    OK(zk_memset_d32(a, 0x11223344, 10));
    OK(zk_memcpy_dtoh(w, a, sizeof(w)));
    for (i = 0; i < 10; i++) {
        assert_int_equal(w[i], 0x11223344);
    }
    /* pinned: direct DMA, no staging */
    OK(zk_mem_alloc_host((void **)&h, 300));
    memset(h, 0x5a, 300);
    uint64_t dma0 = fake.dma_bytes;
    OK(zk_memcpy_htod_async(a, h, 300, NULL));
    OK(zk_memset_async(b, 0, 300, NULL));
    OK(zk_memcpy_dtoh_async(h, a, 300, NULL));   /* async into pinned */
    OK(zk_stream_synchronize(NULL));
    assert_int_equal(fake.dma_bytes - dma0, 900);
    for (i = 0; i < 300; i++) {
        assert_int_equal(h[i], 0x5a);
    }
    OK(zk_mem_free_host(h));
    OK(zk_mem_free(a));
    OK(zk_mem_free(b));
}

static void test_batching(void **state)
{
    zk_stream s;
    zk_deviceptr d;
    uint32_t out[64];
    uint64_t sub0;
    int i;
    (void)state;
    OK(zk_stream_create(&s, 0));
    OK(zk_mem_alloc(&d, sizeof(out)));
    sub0 = fake.submits;
    for (i = 0; i < 64; i++) {
        OK(zk_memset_d32_async(d + 4 * i, (uint32_t)i, 1, s));
    }
    assert_int_equal(fake.submits, sub0);       /* nothing sent yet */
    OK(zk_stream_flush(s));
    assert_int_equal(fake.submits, sub0 + 1);   /* ONE job for 64 commands */
    assert_int_equal(s->jobs_submitted, 1);
    OK(zk_stream_flush(s));                      /* empty: no job */
    assert_int_equal(fake.submits, sub0 + 1);
    OK(zk_stream_synchronize(s));
    OK(zk_memcpy_dtoh(out, d, sizeof(out)));
    for (i = 0; i < 64; i++) {
        assert_int_equal(out[i], i);
    }
    OK(zk_mem_free(d));
    OK(zk_stream_destroy(s));
}

static void test_ctx_flush_batches_streams(void **state)
{
    zk_stream s[5];
    zk_deviceptr d;
    unsigned q[5];
    uint64_t sub0;
    int i;
    (void)state;
    OK(zk_mem_alloc(&d, 4096));
    for (i = 0; i < 5; i++) {
        OK(zk_stream_create(&s[i], 0));
        OK(zk_stream_get_queue(s[i], &q[i]));
        OK(zk_memset_async(d + 64 * i, (uint8_t)i, 64, s[i]));
    }
    /* round-robin over the 4 queues */
    assert_int_not_equal(q[0], q[1]);
    assert_int_equal(q[0], q[4]);
    sub0 = fake.submits;
    OK(zk_ctx_synchronize());
    assert_int_equal(fake.submits, sub0 + 1);   /* all streams in one SUBMIT */
    assert_int_equal(fake.max_batch, 5);
    for (i = 0; i < 5; i++) {
        OK(zk_stream_destroy(s[i]));
    }
    OK(zk_mem_free(d));
}

static void test_chunk_and_slot_wrap(void **state)
{
    zk_stream s;
    zk_deviceptr d;
    uint32_t v;
    int i;
    (void)state;
    OK(zk_stream_create(&s, 0));
    OK(zk_mem_alloc(&d, 4));
    /* > one chunk of commands (4096 per chunk) */
    for (i = 0; i < 10000; i++) {
        OK(zk_memset_d32_async(d, (uint32_t)i, 1, s));
    }
    OK(zk_stream_synchronize(s));
    OK(zk_memcpy_dtoh(&v, d, 4));
    assert_int_equal(v, 9999);
    /* > ZK_FENCE_SLOTS jobs: the fence slot ring wraps */
    for (i = 0; i < 3 * ZK_FENCE_SLOTS + 7; i++) {
        OK(zk_memset_d32_async(d, (uint32_t)i, 1, s));
        OK(zk_stream_flush(s));
    }
    OK(zk_stream_synchronize(s));
    OK(zk_memcpy_dtoh(&v, d, 4));
    assert_int_equal(v, 3 * ZK_FENCE_SLOTS + 6);
    assert_true(s->nchunks <= ZK_CHUNK_MAX);
    assert_int_equal(fake.bad_submits, 0);
    OK(zk_mem_free(d));
    OK(zk_stream_destroy(s));
}

static void test_sticky_error(void **state)
{
    zk_stream s;
    zk_deviceptr d;
    (void)state;
    OK(zk_stream_create(&s, 0));
    OK(zk_mem_alloc(&d, 64));
    OK(zk_memset_async(d, 1, 64, s));
    fake.fail_next_status = ZKIO_JOB_FAULTED;
    OK(zk_stream_flush(s));
    assert_int_equal(zk_stream_synchronize(s), ZK_ERROR_LAUNCH_FAILED);
    assert_non_null(strstr(zk_last_error_detail(), "sticky"));
    /* sticky: everything on the stream reports it */
    assert_int_equal(zk_memset_async(d, 1, 64, s), ZK_ERROR_LAUNCH_FAILED);
    assert_int_equal(zk_stream_query(s), ZK_ERROR_LAUNCH_FAILED);
    assert_int_equal(zk_stream_synchronize(s), ZK_ERROR_LAUNCH_FAILED);
    /* other streams are unaffected */
    OK(zk_memset(d, 2, 64));
    assert_int_equal(zk_stream_clear_error(s), ZK_ERROR_LAUNCH_FAILED);
    OK(zk_stream_clear_error(s));
    OK(zk_memset_async(d, 1, 64, s));
    OK(zk_stream_synchronize(s));
    /* an error in a job that is not the last one is still found */
    fake.fail_next_status = ZKIO_JOB_TIMEDOUT;
    OK(zk_memset_async(d, 1, 64, s));
    OK(zk_stream_flush(s));
    OK(zk_memset_async(d, 1, 64, s));
    OK(zk_stream_flush(s));
    assert_int_equal(zk_stream_synchronize(s), ZK_ERROR_TIMEOUT);
    assert_int_equal(zk_stream_clear_error(s), ZK_ERROR_TIMEOUT);
    /* a DMA fault inside a job */
    OK(zk_memcpy_dtod_async(d, d, 64, s));
    OK(zk_stream_synchronize(s));
    /* submit failure */
    fake.submit_errno = EINVAL;
    OK(zk_memset_async(d, 1, 64, s));
    assert_int_equal(zk_stream_flush(s), ZK_ERROR_OS);
    assert_non_null(strstr(zk_last_error_detail(), "SUBMIT"));
    fake.submit_errno = 0;
    assert_int_equal(zk_stream_clear_error(s), ZK_ERROR_OS);
    OK(zk_mem_free(d));
    OK(zk_stream_destroy(s));
}

static void test_destroyed_handles(void **state)
{
    zk_stream s;
    zk_event e;
    zk_deviceptr d;
    (void)state;
    OK(zk_mem_alloc(&d, 64));
    OK(zk_stream_create(&s, 0));
    OK(zk_event_create(&e, 0));
    OK(zk_stream_destroy(s));
    OK(zk_event_destroy(e));
    assert_int_equal(zk_memset_async(d, 0, 64, s), ZK_ERROR_INVALID_HANDLE);
    assert_int_equal(zk_stream_synchronize(s), ZK_ERROR_INVALID_HANDLE);
    assert_int_equal(zk_stream_destroy(s), ZK_ERROR_INVALID_HANDLE);
    assert_int_equal(zk_stream_destroy(NULL), ZK_ERROR_INVALID_HANDLE);
    assert_int_equal(zk_event_record(e, NULL), ZK_ERROR_INVALID_HANDLE);
    assert_int_equal(zk_event_query(e), ZK_ERROR_INVALID_HANDLE);
    assert_int_equal(zk_event_destroy(e), ZK_ERROR_INVALID_HANDLE);
    assert_int_equal(zk_stream_wait_event(NULL, e, 0), ZK_ERROR_INVALID_HANDLE);
    assert_int_equal(zk_stream_create(&s, 3), ZK_ERROR_INVALID_VALUE);
    assert_int_equal(zk_event_create(&e, 0x80), ZK_ERROR_INVALID_VALUE);
    OK(zk_mem_free(d));
}

static void test_events(void **state)
{
    zk_stream s1, s2;
    zk_event a, b, nt;
    zk_deviceptr d;
    float ms, cms;
    uint64_t w0;
    (void)state;
    OK(zk_stream_create(&s1, 0));
    OK(zk_stream_create(&s2, 0));
    OK(zk_event_create(&a, 0));
    OK(zk_event_create(&b, 0));
    OK(zk_event_create(&nt, ZK_EVENT_DISABLE_TIMING));
    OK(zk_mem_alloc(&d, 1 << 20));
    OK(zk_event_query(a));                         /* never recorded */
    assert_int_equal(zk_event_elapsed_time(&ms, a, b), ZK_ERROR_INVALID_VALUE);
    OK(zk_event_record(a, s1));
    OK(zk_memset_async(d, 3, 1 << 20, s1));
    OK(zk_event_record(b, s1));
    assert_int_equal(fake.last_out_syncobj, b->syncobj);
    OK(zk_event_synchronize(b));
    OK(zk_event_query(a));
    OK(zk_event_elapsed_time(&ms, a, b));
    assert_true(ms >= 0.0f);
    OK(zk_event_elapsed_card_time(&cms, a, b));
    assert_true(cms >= 0.0f && cms <= ms + 0.001f);
    assert_int_equal(zk_event_elapsed_time(&ms, a, nt), ZK_ERROR_INVALID_VALUE);
    /* deferred device: NOT_READY until it runs */
    fake.defer = 1;
    OK(zk_memset_async(d, 4, 64, s1));
    OK(zk_event_record(a, s1));
    assert_int_equal(zk_event_query(a), ZK_ERROR_NOT_READY);
    assert_int_equal(zk_stream_query(s1), ZK_ERROR_NOT_READY);
    assert_int_equal(zk_event_elapsed_time(&ms, b, a), ZK_ERROR_NOT_READY);
    /* cross-stream: s2's next job depends on a's syncobj, CPU not blocked */
    w0 = fake.waits;
    OK(zk_stream_wait_event(s2, a, 0));
    assert_int_equal(fake.waits, w0);
    assert_int_equal(fake.last_in_syncobj, a->syncobj);
    OK(zk_event_synchronize(a));
    OK(zk_stream_synchronize(s1));
    OK(zk_stream_synchronize(s2));
    fake.defer = 0;
    /* waiting on a completed event costs nothing */
    w0 = fake.jobs_with_in_syncobj;
    OK(zk_stream_wait_event(s2, a, 0));
    assert_int_equal(fake.jobs_with_in_syncobj, w0);
    /* an event captures a failed job */
    fake.fail_next_status = ZKIO_JOB_FAULTED;
    fake.defer = 1;
    OK(zk_event_record(b, s2));
    assert_int_equal(zk_event_synchronize(b), ZK_ERROR_LAUNCH_FAILED);
    assert_int_equal(zk_event_query(b), ZK_ERROR_LAUNCH_FAILED);
    fake.defer = 0;
    assert_int_equal(zk_stream_synchronize(s2), ZK_ERROR_LAUNCH_FAILED);
    zk_stream_clear_error(s2);
    OK(zk_event_record(b, s2));                    /* re-record resets */
    OK(zk_event_synchronize(b));
    OK(zk_event_destroy(a));
    OK(zk_event_destroy(b));
    OK(zk_event_destroy(nt));
    OK(zk_mem_free(d));
    OK(zk_stream_destroy(s1));
    OK(zk_stream_destroy(s2));
}

static void test_events_without_syncobj(void **state)
{
    zk_context c;
    zk_device dev;
    zk_stream s1, s2;
    zk_event e;
    uint64_t waits0;
    (void)state;
    fake.no_syncobj = 1;
    OK(zk_ctx_get_device(&dev));
    OK(zk_ctx_create(&c, 0, dev));
    assert_int_equal(c->has_syncobj, 0);
    OK(zk_stream_create(&s1, 0));
    OK(zk_stream_create(&s2, 0));
    OK(zk_event_create(&e, 0));
    fake.defer = 1;
    OK(zk_event_record(e, s1));
    waits0 = fake.cmds[ZK_CMD_WAIT];
    OK(zk_stream_wait_event(s2, e, 0));           /* a WAIT command on the event memory */
    fake.defer = 0;
    fake_run();
    OK(zk_stream_synchronize(s2));
    assert_int_equal(fake.cmds[ZK_CMD_WAIT], waits0 + 1);
    OK(zk_event_destroy(e));
    OK(zk_ctx_destroy(c));
    fake.no_syncobj = 0;
    OK(zk_ctx_set_current(g_ctx));
}

/* An object that needs capabilities the card lacks is refused by name
 * (the fake card has MMU, CARD_TIME and SIMT only). */
static void test_module_caps(void **state)
{
    const uint64_t halt = ZK_INSN(ZK_OP_HALT, 0, 0, 0, 0);
    ZkObjKernel k = { .name = "k" };
    struct zk_obj_target t = { .isa_version = ZK_ISA_VERSION, .required_caps = ZK_CAP_FP16 };
    uint8_t *obj;
    size_t len;
    zk_module m;
    (void)state;
    snprintf(k.desc.name, sizeof(k.desc.name), "k");
    assert_int_equal(zk_obj_write_target(&halt, 8, NULL, 0, &k, 1, &t, &obj, &len), 0);
    assert_int_equal(zk_module_load_data(&m, obj, len), ZK_ERROR_NOT_SUPPORTED);
    assert_non_null(strstr(zk_last_error_detail(), "fp16"));
    free(obj);
    t.required_caps = ZK_CAP_CARD_TIME | ZK_CAP_MMU;
    assert_int_equal(zk_obj_write_target(&halt, 8, NULL, 0, &k, 1, &t, &obj, &len), 0);
    OK(zk_module_load_data(&m, obj, len));
    OK(zk_module_unload(m));
    free(obj);
    /* A bare name goes through the search path: not found, and says where it looked. */
    setenv("ZK_KERNEL_PATH", "/nonexistent-zk", 1);
    assert_int_equal(zk_module_load(&m, "no-such-kernel.zko"), ZK_ERROR_NOT_FOUND);
    assert_non_null(strstr(zk_last_error_detail(), "/nonexistent-zk"));
    unsetenv("ZK_KERNEL_PATH");
}

/* SIMT kernels: zk_launch_kernel_ex encodes the ISA v2 launch fields. */
static void test_simt_launch(void **state)
{
    uint64_t w[4];
    ZkSimtInsn ex = { .op = ZK_SOP_EXIT };
    static const uint64_t halt[] = { ZK_INSN(ZK_OP_HALT, 0, 0, 0, 0), 0 };
    ZkObjKernel ks[2];
    uint8_t *obj;
    size_t len;
    zk_module m;
    zk_function f, ftile;
    struct { uint64_t p; uint32_t n; } __attribute__((packed)) params = { 0x1234, 77 };
    uint32_t grid[3] = { 5, 2, 1 }, block[3] = { 32, 4, 2 }, big[3] = { 33, 32, 1 };
    (void)state;

    zk_simt_encode(&ex, w);
    memcpy(&w[2], halt, sizeof(halt));
    memset(ks, 0, sizeof(ks));
    snprintf(ks[0].desc.name, sizeof(ks[0].desc.name), "sk");
    ks[0].desc.flags = ZK_KDESC_F_SIMT;
    ks[0].simt.shared_bytes = 256;
    ks[0].simt.local_bytes = 64;
    ks[0].simt.param_bytes = sizeof(params);
    snprintf(ks[1].desc.name, sizeof(ks[1].desc.name), "tk");
    ks[1].entry = 16;
    assert_int_equal(zk_obj_write(w, sizeof(w), NULL, 0, ks, 2, &obj, &len), 0);
    OK(zk_module_load_data(&m, obj, len));
    free(obj);
    OK(zk_module_get_function(&f, m, "sk"));
    OK(zk_module_get_function(&ftile, m, "tk"));
    OK(zk_launch_kernel_ex(f, grid, block, 1000, &params, sizeof(params), NULL));
    OK(zk_ctx_synchronize());
    assert_int_equal(fake.last_launch.hdr.flags, ZK_LAUNCH_F_SIMT);
    assert_int_equal(fake.last_launch.grid[0], 5);
    assert_int_equal(fake.last_launch.grid[1], 2);
    assert_int_equal(fake.last_launch.block[0], 32);
    assert_int_equal(fake.last_launch.block[1], 4);
    assert_int_equal(fake.last_launch.block[2], 2);
    assert_int_equal(fake.last_launch.shared_bytes, 1256);
    assert_int_equal(fake.last_launch.local_bytes, 64);
    assert_int_equal(fake.last_launch.args_size, sizeof(params));
    assert_int_equal(fake.last_launch.entry, 0);
    assert_memory_equal(fake.last_args, &params, sizeof(params));
    /* wrong kind of launch, bad shapes and sizes */
    assert_int_equal(zk_launch_kernel(f, grid, NULL, 0, NULL), ZK_ERROR_INVALID_VALUE);
    assert_int_equal(zk_launch_kernel_ex(ftile, grid, block, 0, NULL, 0, NULL),
                     ZK_ERROR_INVALID_VALUE);
    assert_int_equal(zk_launch_kernel_ex(f, grid, big, 0, &params, sizeof(params), NULL),
                     ZK_ERROR_INVALID_VALUE);
    assert_int_equal(zk_launch_kernel_ex(f, grid, block, ZK_SIMT_MAX_SHARED - 255, &params,
                                         sizeof(params), NULL), ZK_ERROR_INVALID_VALUE);
    assert_int_equal(zk_launch_kernel_ex(f, grid, block, 0, &params, 4, NULL),
                     ZK_ERROR_INVALID_VALUE);
    assert_int_equal(zk_launch_kernel_ex(f, grid, block, 0, NULL, sizeof(params), NULL),
                     ZK_ERROR_INVALID_VALUE);
    OK(zk_module_unload(m));
}

/* Modules given as PTX (issue 17): translated on load, cached, parameter
 * layout and module variables exposed, errors name the PTX line. */
static const char ptx_vadd[] =
    ".version 6.4\n.target sm_70\n.address_size 64\n"
    ".visible .global .align 4 .u32 counter = 7;\n"
    ".visible .entry vadd(.param .u64 a, .param .u32 n, .param .u64 b)\n{\n"
    "\t.reg .pred %p<2>;\n\t.reg .b32 %r<4>;\n\t.reg .b64 %rd<4>;\n"
    "\tld.param.u32 %r1, [n];\n\tmov.u32 %r2, %tid.x;\n"
    "\tsetp.ge.u32 %p1, %r2, %r1;\n\t@%p1 bra DONE;\n"
    "\tld.param.u64 %rd1, [a];\n\tmul.wide.u32 %rd2, %r2, 4;\n"
    "\tadd.s64 %rd3, %rd1, %rd2;\n\tst.global.u32 [%rd3], %r2;\n"
    "DONE:\n\tret;\n}\n";

/* Kernel and variable names longer than 63 characters (C++ templates):
 * two kernels whose 300-character names differ only in the last one, a
 * 299-character variable; found by their full names, never by a prefix. */
static void test_ptx_long_names(void **state)
{
    char n1[301], n2[301], gname[300], text[2048];
    const char *got;
    zk_module m;
    zk_function f1, f2;
    uint64_t va;
    size_t sz;
    (void)state;
    memset(n1, 'x', 300);
    memcpy(n1, "_Z3fooILi", 9);
    n1[300] = 0;
    memcpy(n2, n1, sizeof(n2));
    n2[299] = 'y';
    memset(gname, 'g', 299);
    gname[299] = 0;
    snprintf(text, sizeof(text),
             ".version 6.4\n.target sm_70\n.address_size 64\n"
             ".visible .global .align 4 .u32 %s = 5;\n"
             ".visible .entry %s(.param .u64 a)\n{\n\tret;\n}\n"
             ".visible .entry %s(.param .u64 a, .param .u32 b)\n{\n\tret;\n}\n",
             gname, n1, n2);
    OK(zk_module_load_data(&m, text, strlen(text)));
    OK(zk_module_get_function(&f1, m, n1));
    OK(zk_module_get_function(&f2, m, n2));
    assert_ptr_not_equal(f1, f2);
    OK(zk_function_get_name(f2, &got));
    assert_string_equal(got, n2);
    OK(zk_function_get_num_params(f2, &(unsigned int){ 0 }));
    n1[63] = 0;                 /* a prefix (the old 63-character limit) is another name */
    assert_int_equal(zk_module_get_function(&f1, m, n1), ZK_ERROR_NOT_FOUND);
    OK(zk_module_get_global(m, gname, &va, &sz));
    assert_int_equal(sz, 4);
    OK(zk_module_unload(m));
}

static void test_ptx_module(void **state)
{
    zk_module m, m2;
    zk_function f;
    unsigned int np;
    size_t off, sz;
    uint64_t va, hits0, miss0, hits1, miss1;
    uint32_t grid[3] = { 1, 1, 1 }, block[3] = { 64, 1, 1 };
    uint8_t params[24] = { 0 };
    zk_fatbin_wrapper w = { ZK_FATBIN_WRAPPER_MAGIC, 1, ptx_vadd, NULL };
    char path[] = "/tmp/zk-ptx-wrapper-XXXXXX";
    int fd;
    (void)state;

    zk__ptx_cache_stats(&hits0, &miss0);
    OK(zk_module_load_data(&m, ptx_vadd, sizeof(ptx_vadd) - 1));
    OK(zk_module_get_function(&f, m, "vadd"));
    OK(zk_function_get_num_params(f, &np));
    assert_int_equal(np, 3);
    OK(zk_function_get_param(f, 1, &off, &sz));
    assert_int_equal(off, 8);
    assert_int_equal(sz, 4);
    OK(zk_function_get_param(f, 2, &off, &sz));
    assert_int_equal(off, 16);
    assert_int_equal(zk_function_get_param(f, 3, &off, &sz), ZK_ERROR_INVALID_VALUE);
    OK(zk_module_get_global(m, "counter", &va, &sz));
    assert_int_equal(sz, 4);
    assert_true(va > 0);
    assert_int_equal(zk_module_get_global(m, "nope", &va, &sz), ZK_ERROR_NOT_FOUND);
    OK(zk_launch_kernel_ex(f, grid, block, 0, params, sizeof(params), NULL));
    OK(zk_ctx_synchronize());
    assert_int_equal(fake.last_launch.hdr.flags, ZK_LAUNCH_F_SIMT);
    assert_int_equal(fake.last_launch.args_size, 24);
    assert_int_equal(fake.last_launch.block[0], 64);
    /* CUDA-style argument pointers, packed by the .entry layout */
    {
        uint64_t a = 0x1000, b = 0x2000;
        uint32_t n = 77, got_n;
        void *args[] = { &a, &n, &b };
        OK(zk_launch_kernel_args(f, grid, block, 0, args, NULL));
        OK(zk_ctx_synchronize());
        memcpy(&got_n, (const uint8_t *)fake.last_args + 8, 4);
        assert_int_equal(fake.last_launch.args_size, 24);
        assert_int_equal(fake.last_args[0], a);
        assert_int_equal(got_n, n);
        assert_int_equal(fake.last_args[2], b);
        args[1] = NULL;
        assert_int_equal(zk_launch_kernel_args(f, grid, block, 0, args, NULL), ZK_ERROR_INVALID_VALUE);
        assert_int_equal(zk_launch_kernel_args(f, grid, block, 0, NULL, NULL), ZK_ERROR_INVALID_VALUE);
    }
    /* the wrong parameter size is refused (the .entry says 24 bytes) */
    assert_int_equal(zk_launch_kernel_ex(f, grid, block, 0, params, 16, NULL),
                     ZK_ERROR_INVALID_VALUE);
    /* the same PTX again (here through a wrapper, as __cudaRegisterFatBinary
     * gets it from clang): translated once */
    OK(zk_module_load_data(&m2, &w, sizeof(w)));
    zk__ptx_cache_stats(&hits1, &miss1);
    assert_int_equal(miss1 - miss0, 1);
    assert_int_equal(hits1 - hits0, 1);
    OK(zk_module_get_function(&f, m2, "vadd"));
    OK(zk_module_unload(m2));
    OK(zk_module_unload(m));
    /* refused PTX names its line; a wrapper read from a file is refused */
    {
        static const char bad[] = ".version 7.0\n.target sm_70\n.address_size 64\n"
                                  ".entry k()\n{\n\ttrap.x;\n}\n";
        assert_int_equal(zk_module_load_data(&m, bad, sizeof(bad) - 1), ZK_ERROR_INVALID_IMAGE);
        assert_non_null(strstr(zk_last_error_detail(), ":6: unsupported PTX 'trap.x'"));
    }
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, &w, sizeof(w)), (ssize_t)sizeof(w));
    close(fd);
    assert_int_equal(zk_module_load(&m, path), ZK_ERROR_INVALID_IMAGE);
    assert_non_null(strstr(zk_last_error_detail(), "pointers into its process"));
    unlink(path);
}

static void test_module_launch(void **state)
{
    static const uint64_t halt[] = {ZK_INSN(ZK_OP_HALT, 0, 0, 0, 0)};
    static const uint8_t kinds[] = {ZK_ARG_PTR, ZK_ARG_F32, ZK_ARG_U64};
    zkt_kernel ks[2] = {
        {"null", halt, 1, 0, NULL},
        {"axpy", halt, 1, 3, kinds},
    };
    size_t len;
    void *obj = zkt_build_obj(ks, 2, &len);
    zk_module m;
    zk_function fnull, faxpy, fx;
    zk_function_arg_info info;
    zk_stream s;
    zk_deviceptr d;
    unsigned n;
    const char *name;
    uint32_t grid[3] = {4, 2, 1};
    uint64_t args[3];
    uint64_t sub0;
    int i;
    (void)state;
    assert_int_equal(zk_module_load_data(&m, obj, 10), ZK_ERROR_INVALID_IMAGE);
    assert_int_equal(zk_module_load(&m, "/nonexistent.zko"), ZK_ERROR_OS);
    OK(zk_module_load_data(&m, obj, len));
    OK(zk_module_get_function(&fnull, m, "null"));
    OK(zk_module_get_function(&faxpy, m, "axpy"));
    assert_int_equal(zk_module_get_function(&fx, m, "nope"), ZK_ERROR_NOT_FOUND);
    OK(zk_function_get_num_args(faxpy, &n));
    assert_int_equal(n, 3);
    OK(zk_function_get_arg_info(faxpy, 1, &info));
    assert_int_equal(info.kind, ZK_KARG_F32);
    assert_int_equal(zk_function_get_arg_info(faxpy, 3, &info), ZK_ERROR_INVALID_VALUE);
    OK(zk_function_get_name(faxpy, &name));
    assert_string_equal(name, "axpy");
    OK(zk_stream_create(&s, 0));
    OK(zk_mem_alloc(&d, 4096));
    args[0] = d;
    args[1] = zk_arg_f32(2.0f);
    args[2] = 1024;
    sub0 = fake.submits;
    for (i = 0; i < 100; i++) {
        OK(zk_launch_kernel(fnull, grid, NULL, 0, s));
    }
    OK(zk_launch_kernel(faxpy, grid, args, 3, s));
    OK(zk_stream_synchronize(s));
    assert_int_equal(fake.submits - sub0, 1);      /* 101 launches, one job */
    assert_int_equal(fake.launches, 101);
    assert_int_equal(fake.last_launch.grid[0], 4);
    assert_int_equal(fake.last_launch.args_size, 24);
    assert_int_equal(fake.last_args[0], d);
    assert_int_equal(fake.last_args[2], 1024);
    assert_int_equal(fake.last_launch.entry, 8);   /* second kernel */
    /* argument errors */
    assert_int_equal(zk_launch_kernel(faxpy, grid, args, 2, s), ZK_ERROR_INVALID_VALUE);
    args[0] = 42;
    assert_int_equal(zk_launch_kernel(faxpy, grid, args, 3, s), ZK_ERROR_INVALID_ARGUMENT_TYPE);
    args[0] = d;
    OK(zk_mem_free(d));                            /* freed memory */
    assert_int_equal(zk_launch_kernel(faxpy, grid, args, 3, s), ZK_ERROR_INVALID_ARGUMENT_TYPE);
    grid[1] = 0;
    assert_int_equal(zk_launch_kernel(fnull, grid, NULL, 0, s), ZK_ERROR_INVALID_VALUE);
    grid[1] = 1;
    OK(zk_stream_destroy(s));
    assert_int_equal(zk_launch_kernel(fnull, grid, NULL, 0, s), ZK_ERROR_INVALID_HANDLE);
    OK(zk_module_unload(m));
    assert_int_equal(zk_launch_kernel(fnull, grid, NULL, 0, NULL), ZK_ERROR_INVALID_HANDLE);
    assert_int_equal(zk_module_unload(m), ZK_ERROR_INVALID_HANDLE);
    free(obj);
}

struct thr {
    int id;
    int ok;
};

static void *thread_main(void *p)
{
    struct thr *t = p;
    zk_stream s;
    zk_deviceptr d;
    size_t n = 100000 + (size_t)t->id * 777;
    uint8_t *src = malloc(n), *dst = malloc(n);
    int it;
    t->ok = 0;
    if (zk_ctx_set_current(g_ctx) || zk_stream_create(&s, 0) || zk_mem_alloc(&d, n)) {
        return NULL;
    }
    for (it = 0; it < 10; it++) {
        fill_pattern(src, n, (unsigned)(t->id * 100 + it));
        if (zk_memcpy_htod_async(d, src, n, s) || zk_memset_async(d, 0, 16, s) ||
            zk_memcpy_dtoh_async(dst, d, n, s) || zk_stream_synchronize(s)) {
            return NULL;
        }
        memset(src, 0, 16);
        if (memcmp(src, dst, n) != 0) {
            return NULL;
        }
    }
    if (zk_mem_free(d) || zk_stream_destroy(s)) {
        return NULL;
    }
    free(src);
    free(dst);
    t->ok = 1;
    return NULL;
}

static void test_threads(void **state)
{
    pthread_t th[4];
    struct thr t[4];
    int i;
    (void)state;
    for (i = 0; i < 4; i++) {
        t[i].id = i;
        pthread_create(&th[i], NULL, thread_main, &t[i]);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_true(t[i].ok);
    }
}

/* Many threads copying through a tiny staging pool must not deadlock. */
static zk_context g_ctx2;

static void *stage_thread(void *p)
{
    struct thr *t = p;
    size_t n = (1u << 20) + 4096 * (size_t)t->id;
    uint8_t *src = malloc(n), *dst = malloc(n);
    zk_stream s;
    zk_deviceptr d;
    int it;
    t->ok = 0;
    if (zk_ctx_set_current(g_ctx2) || zk_stream_create(&s, 0) || zk_mem_alloc(&d, n)) {
        return NULL;
    }
    for (it = 0; it < 4; it++) {
        fill_pattern(src, n, (unsigned)(t->id + it));
        if (zk_memcpy_htod_async(d, src, n, s) || zk_memcpy_dtoh_async(dst, d, n, s) ||
            memcmp(src, dst, n) != 0) {
            return NULL;
        }
    }
    zk_mem_free(d);
    zk_stream_destroy(s);
    free(src);
    free(dst);
    t->ok = 1;
    return NULL;
}

static void test_threads_small_staging(void **state)
{
    pthread_t th[8];
    struct thr t[8];
    zk_device dev;
    int i;
    (void)state;
    OK(zk_ctx_get_device(&dev));
    setenv("ZK_STAGE_KB", "64", 1);
    OK(zk_ctx_create(&g_ctx2, 0, dev));
    unsetenv("ZK_STAGE_KB");
    assert_int_equal(g_ctx2->stage_size, 64 << 10);
    for (i = 0; i < 8; i++) {
        t[i].id = i;
        pthread_create(&th[i], NULL, stage_thread, &t[i]);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_true(t[i].ok);
    }
    assert_true(g_ctx2->nstage <= ZK_STAGE_MAX);
    OK(zk_ctx_destroy(g_ctx2));
    OK(zk_ctx_set_current(g_ctx));
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_error_strings),
        cmocka_unit_test(test_handles),
        cmocka_unit_test(test_rangemap),
        cmocka_unit_test(test_check_args),
    };
#define T(f) cmocka_unit_test_setup_teardown(f, setup_ctx, teardown_ctx)
    const struct CMUnitTest fake_dev[] = {
        T(test_module_caps),
        T(test_devices),
        T(test_context_current),
        T(test_context_stack),
        T(test_mem_alloc_free),
        T(test_memcpy_sizes),
        T(test_memcpy_errors),
        T(test_memset_dtod_pinned),
        T(test_batching),
        T(test_ctx_flush_batches_streams),
        T(test_chunk_and_slot_wrap),
        T(test_sticky_error),
        T(test_destroyed_handles),
        T(test_events),
        T(test_events_without_syncobj),
        T(test_module_launch),
        T(test_simt_launch),
        T(test_ptx_module),
        T(test_ptx_long_names),
        T(test_threads),
        T(test_threads_small_staging),
    };
    int r;
    cmocka_set_message_output(CM_OUTPUT_TAP);
    r = cmocka_run_group_tests_name("runtime logic", pure, NULL, NULL);
    r |= cmocka_run_group_tests_name("runtime vs fake driver", fake_dev, NULL, NULL);
    return r;
}
