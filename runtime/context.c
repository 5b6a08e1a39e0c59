/* SPDX-License-Identifier: MIT */
/* context.c - contexts (one open device file = one address space). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zk_internal.h"

/* Context ids are never reused (a freed context's address may be). */
static uint64_t next_ctx_id;

ZK_EXPORT zk_status zk_ctx_create(zk_context *out, unsigned int flags, zk_device dev)
{
    zk_context c = NULL;
    uint64_t v;
    uint32_t so;
    zk_status st;
    int fd, r;

    if (!out) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_ctx_create: ctx is NULL");
    }
    if (flags) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_ctx_create: flags 0x%x: must be 0", flags);
    }
    if (!zk__initialized()) {
        return zk__fail(ZK_ERROR_NOT_INITIALIZED, "zk_ctx_create: call zk_init first");
    }
    if (!zk__handle_ok(dev, ZK_KIND_DEVICE)) {
        return zk__fail(ZK_ERROR_INVALID_HANDLE, "zk_ctx_create: bad device handle %p",
                        (void *)dev);
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        return zk__fail(ZK_ERROR_OUT_OF_MEMORY, "zk_ctx_create: out of host memory");
    }
    fd = zkio_open(dev->node.path);
    if (fd < 0) {
        free(c);
        return zk__fail_io(fd, dev->node.path);
    }
    c->dev = dev;
    c->fd = fd;
    c->id = __atomic_add_fetch(&next_ctx_id, 1, __ATOMIC_RELAXED);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->stage_cv, NULL);
    pthread_rwlock_init(&c->slock, NULL);
    c->stage_size = 4u << 20;
    if (getenv("ZK_STAGE_KB")) {
        size_t kb = strtoul(getenv("ZK_STAGE_KB"), NULL, 0);
        if (kb >= 64 && kb <= 65536) {
            c->stage_size = kb << 10;
        }
    }
    r = zkio_get_param(fd, ZKIO_PARAM_NUM_QUEUES, &v);
    if (r != 0) {
        st = zk__fail_io(r, "zk_ctx_create: GET_PARAM(NUM_QUEUES)");
        goto fail;
    }
    c->num_queues = v ? (uint32_t)v : 1;
    c->caps = zkio_get_param(fd, ZKIO_PARAM_CAPS, &v) == 0 ? (uint32_t)v : 0;
    if (!getenv("ZK_NO_SYNCOBJ") && zkio_syncobj_create(fd, &so) == 0) {
        c->has_syncobj = 1;
        zkio_syncobj_destroy(fd, so);
    }
    st = zk__stream_new(c, 1, &c->default_stream);
    if (st != ZK_SUCCESS) {
        goto fail;
    }
    if (zk__handle_add(c, ZK_KIND_CTX) != 0) {
        st = zk__fail(ZK_ERROR_OUT_OF_MEMORY, "zk_ctx_create: out of host memory");
        zk__stream_free(c->default_stream);
        goto fail;
    }
    zk__ctx_make_current(c);
    *out = c;
    return ZK_SUCCESS;
fail:
    zkio_close(fd);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->stage_cv);
    pthread_rwlock_destroy(&c->slock);
    free(c);
    return st;
}

static void ctx_free(zk_context c);

ZK_EXPORT zk_status zk_ctx_get_id(zk_context c, uint64_t *id)
{
    if (!id) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_ctx_get_id: id is NULL");
    }
    if (!c && zk__current_ctx(&c) != ZK_SUCCESS) {
        return ZK_ERROR_INVALID_CONTEXT;
    }
    if (!zk__handle_ok(c, ZK_KIND_CTX)) {
        return zk__fail(ZK_ERROR_INVALID_CONTEXT, "zk_ctx_get_id: bad context handle %p", (void *)c);
    }
    *id = c->id;
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_ctx_destroy(zk_context c)
{
    if (!zk__handle_ok(c, ZK_KIND_CTX)) {
        return zk__fail(ZK_ERROR_INVALID_HANDLE, "zk_ctx_destroy: bad context handle %p",
                        (void *)c);
    }
    if (c->primary) {
        return zk__fail(ZK_ERROR_INVALID_CONTEXT, "zk_ctx_destroy: %p is the device's primary "
                        "context (zk_device_primary_ctx_release it)", (void *)c);
    }
    ctx_free(c);
    return ZK_SUCCESS;
}

static void ctx_free(zk_context c)
{
    size_t i;
    /* Outstanding work first, errors ignored: everything goes anyway. */
    zk__ctx_flush_all(c, 1);
    zk__handle_del(c);
    zk__ctx_forget(c);
    while (c->modules) {
        struct zk_module_st *m = c->modules;
        c->modules = m->next;
        zk__module_free(m);
    }
    while (c->events) {
        struct zk_event_st *e = c->events;
        c->events = e->next;
        zk__event_free(e);
    }
    while (c->streams) {
        zk_stream s = c->streams;
        c->streams = s->next;
        zk__stream_free(s);
    }
    zk__staging_free_all(c);
    for (i = 0; i < c->va_map.n; i++) {
        zk_alloc *a = c->va_map.v[i].obj;
        zk__bo_delete(c, a);
    }
    zk__rmap_free(&c->va_map);
    zk__rmap_free(&c->host_map);
    zkio_close(c->fd);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->stage_cv);
    pthread_rwlock_destroy(&c->slock);
    free(c);
}

/* ---- primary contexts: one per device, shared by whoever retains it --------- */

static pthread_mutex_t primary_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    zk_context ctx;
    unsigned int refs;
} primary[ZK_MAX_DEVICES];

ZK_EXPORT zk_status zk_device_primary_ctx_retain(zk_context *out, zk_device dev)
{
    zk_context prev = NULL, c;
    zk_status st = ZK_SUCCESS;
    if (!out) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_device_primary_ctx_retain: ctx is NULL");
    }
    if (!zk__handle_ok(dev, ZK_KIND_DEVICE)) {
        return zk__fail(ZK_ERROR_INVALID_HANDLE, "zk_device_primary_ctx_retain: bad device "
                        "handle %p", (void *)dev);
    }
    pthread_mutex_lock(&primary_lock);
    c = primary[dev->index].ctx;
    if (!c) {
        /* Creating it must not change what is current in this thread. */
        zk_ctx_get_current(&prev);
        st = zk_ctx_create(&c, 0, dev);
        if (st == ZK_SUCCESS) {
            c->primary = 1;
            primary[dev->index].ctx = c;
            zk__ctx_forget(c);
            if (prev) {
                zk__ctx_make_current(prev);
            }
        }
    }
    if (st == ZK_SUCCESS) {
        primary[dev->index].refs++;
        *out = c;
    }
    pthread_mutex_unlock(&primary_lock);
    return st;
}

ZK_EXPORT zk_status zk_device_primary_ctx_release(zk_device dev)
{
    zk_context c = NULL;
    if (!zk__handle_ok(dev, ZK_KIND_DEVICE)) {
        return zk__fail(ZK_ERROR_INVALID_HANDLE, "zk_device_primary_ctx_release: bad device "
                        "handle %p", (void *)dev);
    }
    pthread_mutex_lock(&primary_lock);
    if (!primary[dev->index].refs) {
        pthread_mutex_unlock(&primary_lock);
        return zk__fail(ZK_ERROR_INVALID_CONTEXT, "zk_device_primary_ctx_release: device %d's "
                        "primary context is not retained", dev->index);
    }
    if (--primary[dev->index].refs == 0) {
        c = primary[dev->index].ctx;
        primary[dev->index].ctx = NULL;
    }
    pthread_mutex_unlock(&primary_lock);
    if (c) {
        ctx_free(c);
    }
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_device_primary_ctx_get_state(zk_device dev, int *active)
{
    if (!active) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_device_primary_ctx_get_state: active is NULL");
    }
    if (!zk__handle_ok(dev, ZK_KIND_DEVICE)) {
        return zk__fail(ZK_ERROR_INVALID_HANDLE, "zk_device_primary_ctx_get_state: bad device "
                        "handle %p", (void *)dev);
    }
    pthread_mutex_lock(&primary_lock);
    *active = primary[dev->index].refs > 0;
    pthread_mutex_unlock(&primary_lock);
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_ctx_get_device(zk_device *dev)
{
    zk_context c = NULL;
    zk_status st;
    if (!dev) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_ctx_get_device: dev is NULL");
    }
    st = zk__current_ctx(&c);
    if (st == ZK_SUCCESS) {
        *dev = c->dev;
    }
    return st;
}

ZK_EXPORT zk_status zk_ctx_synchronize(void)
{
    zk_context c = NULL;
    zk_status st = zk__current_ctx(&c);
    if (st != ZK_SUCCESS) {
        return st;
    }
    return zk__ctx_flush_all(c, 1);
}
