/* SPDX-License-Identifier: MIT */
/* context.c - contexts (one open device file = one address space). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zk_internal.h"

static __thread zk_context current;

zk_status zk__current_ctx(zk_context *out)
{
    zk_context c = current;
    if (!c) {
        return zk__fail(ZK_ERROR_INVALID_CONTEXT, "no current context in this thread "
                        "(zk_ctx_create / zk_ctx_set_current)");
    }
    if (!zk__handle_ok(c, ZK_KIND_CTX)) {
        return zk__fail(ZK_ERROR_INVALID_CONTEXT, "the current context %p was destroyed",
                        (void *)c);
    }
    *out = c;
    return ZK_SUCCESS;
}

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
    current = c;
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

ZK_EXPORT zk_status zk_ctx_destroy(zk_context c)
{
    size_t i;
    if (!zk__handle_ok(c, ZK_KIND_CTX)) {
        return zk__fail(ZK_ERROR_INVALID_HANDLE, "zk_ctx_destroy: bad context handle %p",
                        (void *)c);
    }
    /* Outstanding work first, errors ignored: everything goes anyway. */
    zk__ctx_flush_all(c, 1);
    zk__handle_del(c);
    if (current == c) {
        current = NULL;
    }
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
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_ctx_set_current(zk_context c)
{
    if (c && !zk__handle_ok(c, ZK_KIND_CTX)) {
        return zk__fail(ZK_ERROR_INVALID_HANDLE, "zk_ctx_set_current: bad context handle %p",
                        (void *)c);
    }
    current = c;
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_ctx_get_current(zk_context *out)
{
    if (!out) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_ctx_get_current: ctx is NULL");
    }
    *out = (current && zk__handle_ok(current, ZK_KIND_CTX)) ? current : NULL;
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
