/* SPDX-License-Identifier: MIT */
/*
 * event.c - events: a small host BO written by the card (fence value,
 * device-clock and card-time timestamps) plus a DRM syncobj that receives
 * the recording job's fence, for device-side cross-stream dependencies.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zk_internal.h"

/* Event memory: fence (ZK_EV_FENCE), device clock (ZK_EV_TS), card time
 * (ZK_EV_CARD) and card energy in nJ (ZK_TS_F_CARD_ENERGY). */
#define ZK_EV_ENERGY 24

static uint64_t ev_word(struct zk_event_st *e, unsigned off)
{
    return __atomic_load_n((uint64_t *)((uint8_t *)e->mem->cpu + off), __ATOMIC_ACQUIRE);
}

static zk_status check_event(zk_event e, const char *fn)
{
    if (!zk__handle_ok(e, ZK_KIND_EVENT)) {
        return zk__fail(ZK_ERROR_INVALID_HANDLE, "%s: bad event handle %p (destroyed?)", fn,
                        (void *)e);
    }
    return ZK_SUCCESS;
}

void zk__event_free(struct zk_event_st *e)
{
    zk__handle_del(e);
    zk__bo_delete(e->ctx, e->mem);
    if (e->syncobj) {
        zkio_syncobj_destroy(e->ctx->fd, e->syncobj);
    }
    pthread_mutex_destroy(&e->lock);
    free(e);
}

ZK_EXPORT zk_status zk_event_create(zk_event *out, unsigned int flags)
{
    zk_context ctx = NULL;
    struct zk_event_st *e;
    zk_status st;
    int r;
    if (!out) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_event_create: event is NULL");
    }
    if (flags & ~ZK_EVENT_DISABLE_TIMING) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_event_create: unknown flags 0x%x", flags);
    }
    if ((st = zk__current_ctx(&ctx)) != ZK_SUCCESS) {
        return st;
    }
    e = calloc(1, sizeof(*e));
    if (!e) {
        return zk__fail(ZK_ERROR_OUT_OF_MEMORY, "zk_event_create: out of host memory");
    }
    e->ctx = ctx;
    e->flags = flags;
    pthread_mutex_init(&e->lock, NULL);
    st = zk__bo_new(ctx, ZK_PAGE_SIZE, ZKIO_BO_HOST, ZK_ALLOC_INTERNAL, 1, &e->mem);
    if (st != ZK_SUCCESS) {
        pthread_mutex_destroy(&e->lock);
        free(e);
        return st;
    }
    memset(e->mem->cpu, 0, 64);
    if (ctx->has_syncobj && (r = zkio_syncobj_create(ctx->fd, &e->syncobj)) != 0) {
        st = zk__fail_io(r, "zk_event_create");
        zk__bo_delete(ctx, e->mem);
        pthread_mutex_destroy(&e->lock);
        free(e);
        return st;
    }
    if (zk__handle_add(e, ZK_KIND_EVENT) != 0) {
        e->next = NULL;
        zk__event_free(e);
        return zk__fail(ZK_ERROR_OUT_OF_MEMORY, "zk_event_create: out of host memory");
    }
    pthread_mutex_lock(&ctx->lock);
    e->next = ctx->events;
    ctx->events = e;
    pthread_mutex_unlock(&ctx->lock);
    *out = e;
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_event_destroy(zk_event e)
{
    zk_context ctx = NULL;
    struct zk_event_st **pp;
    zk_status st = check_event(e, "zk_event_destroy");
    if (st != ZK_SUCCESS) {
        return st;
    }
    ctx = e->ctx;
    /* Unflushed WAIT commands (no-syncobj mode) may name its memory. */
    if (!ctx->has_syncobj) {
        zk__ctx_flush_all(ctx, 0);
    }
    pthread_mutex_lock(&ctx->lock);
    for (pp = &ctx->events; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    zk__event_free(e);
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_event_record(zk_event e, zk_stream in)
{
    zk_stream s = NULL;
    zk_status st = check_event(e, "zk_event_record");
    uint8_t *cmds;
    unsigned n = 0, ncmds;
    int timing, card, energy;
    uint64_t seq = 0, gen;
    if (st != ZK_SUCCESS) {
        return st;
    }
    if ((st = zk__stream_resolve(in, e->ctx, &s)) != ZK_SUCCESS) {
        return st;
    }
    timing = !(e->flags & ZK_EVENT_DISABLE_TIMING);
    card = timing && (e->ctx->caps & ZK_CAP_CARD_TIME);
    energy = timing && (e->ctx->caps & ZK_CAP_PERF_MODEL);
    ncmds = 1 + timing + card + energy;
    pthread_mutex_lock(&s->lock);
    if (s->error != ZK_SUCCESS) {
        st = zk__fail(s->error, "zk_event_record: stream has a sticky error %s",
                      zk_error_name(s->error));
        goto out;
    }
    st = zk__stream_reserve(s, ncmds, 0, (void **)&cmds, NULL, NULL);
    if (st == ZK_SUCCESS) {
        st = zk__stream_add_bo(s, e->mem->handle);
    }
    if (st != ZK_SUCCESS) {
        goto out;
    }
    pthread_mutex_lock(&e->lock);
    gen = e->gen + 1;
    if (timing) {
        struct zk_cmd_timestamp *t = (void *)(cmds + ZK_CMD_SIZE * n++);
        t->hdr.opcode = ZK_CMD_TIMESTAMP;
        t->addr = e->mem->va + ZK_EV_TS;
    }
    if (card) {
        struct zk_cmd_timestamp *t = (void *)(cmds + ZK_CMD_SIZE * n++);
        t->hdr.opcode = ZK_CMD_TIMESTAMP;
        t->hdr.flags = ZK_TS_F_CARD_TIME;
        t->addr = e->mem->va + ZK_EV_CARD;
    }
    if (energy) {
        struct zk_cmd_timestamp *t = (void *)(cmds + ZK_CMD_SIZE * n++);
        t->hdr.opcode = ZK_CMD_TIMESTAMP;
        t->hdr.flags = ZK_TS_F_CARD_ENERGY;
        t->addr = e->mem->va + ZK_EV_ENERGY;
    }
    {
        struct zk_cmd_fence *f = (void *)(cmds + ZK_CMD_SIZE * n++);
        f->hdr.opcode = ZK_CMD_FENCE;
        f->addr = e->mem->va + ZK_EV_FENCE;
        f->value = gen;
    }
    st = zk__stream_flush_locked(s, 0, e->syncobj, 1, &seq);
    if (st == ZK_SUCCESS) {
        e->gen = gen;
        e->seqno = seq;
        e->recorded = 1;
        e->error = ZK_SUCCESS;
    }
    pthread_mutex_unlock(&e->lock);
out:
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* With e->lock held. */
static zk_status event_state(struct zk_event_st *e, int block)
{
    uint32_t status = 0;
    zk_status st;
    if (!e->recorded || e->error != ZK_SUCCESS) {
        return e->error;
    }
    if (ev_word(e, ZK_EV_FENCE) >= e->gen) {
        return ZK_SUCCESS;
    }
    st = zk__wait_seqno(e->ctx, e->seqno, block, &status);
    if (st != ZK_SUCCESS) {
        return st;
    }
    if (status != ZKIO_JOB_OK) {
        e->error = zk__job_status(status);
        return zk__fail(e->error, "event %p: the recorded job ended with status %u (%s)",
                        (void *)e, status, zk_error_name(e->error));
    }
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_event_query(zk_event e)
{
    zk_status st = check_event(e, "zk_event_query");
    if (st != ZK_SUCCESS) {
        return st;
    }
    pthread_mutex_lock(&e->lock);
    st = event_state(e, 0);
    pthread_mutex_unlock(&e->lock);
    return st;
}

ZK_EXPORT zk_status zk_event_synchronize(zk_event e)
{
    zk_status st = check_event(e, "zk_event_synchronize");
    if (st != ZK_SUCCESS) {
        return st;
    }
    pthread_mutex_lock(&e->lock);
    st = event_state(e, 1);
    pthread_mutex_unlock(&e->lock);
    return st;
}

/* Difference of the 64-bit words at @off of the records of @a and @b. */
static zk_status elapsed_raw(int64_t *out, zk_event a, zk_event b, unsigned off, const char *fn)
{
    zk_status st;
    uint64_t t0, t1;
    if (!out) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "%s: output pointer is NULL", fn);
    }
    if ((st = check_event(a, fn)) != ZK_SUCCESS || (st = check_event(b, fn)) != ZK_SUCCESS) {
        return st;
    }
    if ((a->flags | b->flags) & ZK_EVENT_DISABLE_TIMING) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "%s: an event was created with "
                        "ZK_EVENT_DISABLE_TIMING", fn);
    }
    if (off == ZK_EV_CARD && !(a->ctx->caps & ZK_CAP_CARD_TIME)) {
        return zk__fail(ZK_ERROR_NOT_SUPPORTED, "%s: the device has no card-time clock", fn);
    }
    if (off == ZK_EV_ENERGY && !(a->ctx->caps & ZK_CAP_PERF_MODEL)) {
        return zk__fail(ZK_ERROR_NOT_SUPPORTED, "%s: the device has no card performance "
                        "model", fn);
    }
    pthread_mutex_lock(&a->lock);
    st = a->recorded ? event_state(a, 0) : ZK_ERROR_INVALID_VALUE;
    t0 = ev_word(a, off);
    pthread_mutex_unlock(&a->lock);
    if (st == ZK_SUCCESS) {
        pthread_mutex_lock(&b->lock);
        st = b->recorded ? event_state(b, 0) : ZK_ERROR_INVALID_VALUE;
        t1 = ev_word(b, off);
        pthread_mutex_unlock(&b->lock);
    }
    if (st == ZK_ERROR_INVALID_VALUE) {
        return zk__fail(st, "%s: an event was never recorded", fn);
    }
    if (st == ZK_ERROR_NOT_READY) {
        return zk__fail(st, "%s: an event has not completed yet", fn);
    }
    if (st != ZK_SUCCESS) {
        return st;
    }
    *out = (int64_t)(t1 - t0);
    return ZK_SUCCESS;
}

static zk_status elapsed(float *ms, zk_event a, zk_event b, unsigned off, const char *fn)
{
    int64_t d = 0;
    zk_status st;
    if (!ms) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "%s: ms is NULL", fn);
    }
    if ((st = elapsed_raw(&d, a, b, off, fn)) == ZK_SUCCESS) {
        *ms = (float)((double)d / 1e6);
    }
    return st;
}

ZK_EXPORT zk_status zk_event_elapsed_time(float *ms, zk_event start, zk_event end)
{
    return elapsed(ms, start, end, ZK_EV_TS, "zk_event_elapsed_time");
}

ZK_EXPORT zk_status zk_event_elapsed_card_time(float *ms, zk_event start, zk_event end)
{
    return elapsed(ms, start, end, ZK_EV_CARD, "zk_event_elapsed_card_time");
}

ZK_EXPORT zk_status zk_event_elapsed_card_energy(double *joules, zk_event start, zk_event end)
{
    int64_t nj = 0;
    zk_status st;
    if (!joules) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_event_elapsed_card_energy: joules is NULL");
    }
    st = elapsed_raw(&nj, start, end, ZK_EV_ENERGY, "zk_event_elapsed_card_energy");
    if (st == ZK_SUCCESS) {
        *joules = (double)nj / 1e9;
    }
    return st;
}

ZK_EXPORT zk_status zk_stream_wait_event(zk_stream in, zk_event e, unsigned int flags)
{
    zk_stream s = NULL;
    zk_status st = check_event(e, "zk_stream_wait_event");
    uint64_t gen;
    int recorded;
    if (st != ZK_SUCCESS) {
        return st;
    }
    if (flags) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_stream_wait_event: flags 0x%x: must be 0",
                        flags);
    }
    if ((st = zk__stream_resolve(in, e->ctx, &s)) != ZK_SUCCESS) {
        return st;
    }
    pthread_mutex_lock(&e->lock);
    recorded = e->recorded;
    gen = e->gen;
    pthread_mutex_unlock(&e->lock);
    if (!recorded || ev_word(e, ZK_EV_FENCE) >= gen) {
        return ZK_SUCCESS;      /* nothing to wait for */
    }
    pthread_mutex_lock(&s->lock);
    if (s->error != ZK_SUCCESS) {
        st = zk__fail(s->error, "zk_stream_wait_event: stream has a sticky error %s",
                      zk_error_name(s->error));
    } else if (e->syncobj) {
        /* Submitting now captures the syncobj's current fence (the last
         * record); the stream's later jobs run after this one. */
        st = zk__stream_flush_locked(s, e->syncobj, 0, 1, NULL);
    } else {
        struct zk_cmd_wait *w;
        st = zk__stream_reserve(s, 1, 0, (void **)&w, NULL, NULL);
        if (st == ZK_SUCCESS) {
            w->hdr.opcode = ZK_CMD_WAIT;
            w->addr = e->mem->va + ZK_EV_FENCE;
            w->value = gen;
            st = zk__stream_add_bo(s, e->mem->handle);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}
