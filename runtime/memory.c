/* SPDX-License-Identifier: MIT */
/*
 * memory.c - device and pinned host allocations, copies and fills.
 *
 * Copies are DMA commands on a stream.  Pageable host memory goes through
 * the command chunk (small copies, <= ZK_INLINE_MAX) or through a pool of
 * staging host BOs (ctx->stage_size each) in pipelined chunks, so the CPU
 * memcpy of one chunk overlaps the DMA of the previous ones.  Pinned host
 * memory (zk_mem_alloc_host) is DMAed directly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zk_internal.h"

typedef struct dref {
    uint64_t va;
    uint32_t handle;
} dref;

/* ---- staging pool -------------------------------------------------------------- */

/*
 * Take a staging buffer, waiting for the job that last used it.  With
 * @may_block 0, returns ZK_ERROR_NOT_READY instead of waiting for other
 * threads to release one (a caller already holding buffers must not wait:
 * several such callers could hold them all).
 */
static zk_status staging_acquire(zk_context ctx, zk_staging **out, int may_block)
{
    zk_staging *pick;
    uint64_t seq;
    int i;
    pthread_mutex_lock(&ctx->lock);
    for (;;) {
        pick = NULL;
        for (i = 0; i < ctx->nstage; i++) {
            zk_staging *g = &ctx->stage[i];
            if (!g->owned && (!pick || g->seqno < pick->seqno)) {
                pick = g;
            }
        }
        if ((!pick || pick->seqno) && ctx->nstage < ZK_STAGE_MAX) {
            zk_staging *g = &ctx->stage[ctx->nstage];
            zk_status st = zk__bo_new(ctx, ctx->stage_size, ZKIO_BO_HOST, ZK_ALLOC_INTERNAL,
                                      1, &g->bo);
            if (st == ZK_SUCCESS) {
                g->owned = 0;
                g->seqno = 0;
                ctx->nstage++;
                pick = g;
            } else if (!pick && ctx->nstage == 0) {
                pthread_mutex_unlock(&ctx->lock);
                return st;
            }
        }
        if (pick) {
            break;
        }
        if (!may_block) {
            pthread_mutex_unlock(&ctx->lock);
            return ZK_ERROR_NOT_READY;
        }
        pthread_cond_wait(&ctx->stage_cv, &ctx->lock);
    }
    pick->owned = 1;
    seq = pick->seqno;
    pthread_mutex_unlock(&ctx->lock);
    if (seq) {
        uint32_t status;
        zk_status st = zk__wait_seqno(ctx, seq, 1, &status);
        if (st != ZK_SUCCESS) {
            pthread_mutex_lock(&ctx->lock);
            pick->owned = 0;
            pthread_cond_broadcast(&ctx->stage_cv);
            pthread_mutex_unlock(&ctx->lock);
            return st;
        }
        pick->seqno = 0;
    }
    *out = pick;
    return ZK_SUCCESS;
}

static void staging_release(zk_context ctx, zk_staging *g, uint64_t seqno)
{
    pthread_mutex_lock(&ctx->lock);
    g->owned = 0;
    g->seqno = seqno;
    pthread_cond_broadcast(&ctx->stage_cv);
    pthread_mutex_unlock(&ctx->lock);
}

void zk__staging_free_all(zk_context ctx)
{
    int i;
    for (i = 0; i < ctx->nstage; i++) {
        zk__bo_delete(ctx, ctx->stage[i].bo);
        ctx->stage[i].bo = NULL;
    }
    ctx->nstage = 0;
}

/* ---- lookups -------------------------------------------------------------------- */

static zk_status resolve_dev(zk_context ctx, uint64_t va, size_t len, const char *fn,
                             const char *arg, dref *out)
{
    const zk_range *r;
    zk_status st = ZK_SUCCESS;
    pthread_mutex_lock(&ctx->lock);
    r = zk__rmap_find(&ctx->va_map, va, len);
    if (r) {
        zk_alloc *a = r->obj;
        out->va = va;
        out->handle = a->handle;
    } else {
        const zk_range *base = zk__rmap_find(&ctx->va_map, va, 1);
        if (base) {
            st = zk__fail(ZK_ERROR_INVALID_VALUE, "%s: %s: 0x%llx + %zu bytes runs past the end "
                          "of its allocation (0x%llx, %llu bytes)", fn, arg,
                          (unsigned long long)va, len, (unsigned long long)base->base,
                          (unsigned long long)base->size);
        } else {
            st = zk__fail(ZK_ERROR_INVALID_VALUE, "%s: %s: 0x%llx is not inside a live "
                          "allocation of this context", fn, arg, (unsigned long long)va);
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

/* Pinned host range [p, p+len) -> device VA, or 0 if not pinned. */
static int find_pinned(zk_context ctx, const void *p, size_t len, dref *out)
{
    const zk_range *r;
    int found = 0;
    pthread_mutex_lock(&ctx->lock);
    r = zk__rmap_find(&ctx->host_map, (uintptr_t)p, len);
    if (r) {
        zk_alloc *a = r->obj;
        out->va = a->va + ((uintptr_t)p - r->base);
        out->handle = a->handle;
        found = 1;
    }
    pthread_mutex_unlock(&ctx->lock);
    return found;
}

/* ---- command emission (stream lock held) -------------------------------------------- */

static zk_status emit_dma(zk_stream s, uint64_t src, uint64_t dst, uint64_t size,
                          uint8_t flags)
{
    struct zk_cmd_dma *c;
    zk_status st = zk__stream_reserve(s, 1, 0, (void **)&c, NULL, NULL);
    if (st != ZK_SUCCESS) {
        return st;
    }
    c->hdr.opcode = ZK_CMD_DMA;
    c->hdr.flags = flags;
    c->src = src;
    c->dst = dst;
    c->size = size;
    return ZK_SUCCESS;
}

static zk_status sticky(zk_stream s, const char *fn)
{
    if (s->error != ZK_SUCCESS) {
        return zk__fail(s->error, "%s: stream %p has a sticky error %s (zk_stream_clear_error)",
                        fn, (void *)s, zk_error_name(s->error));
    }
    return ZK_SUCCESS;
}

zk_status zk__h2d_locked(zk_stream s, uint64_t dst, uint32_t dst_handle,
                         const void *src, size_t len)
{
    zk_context ctx = s->ctx;
    zk_status st;
    dref pin;
    size_t off;

    if (find_pinned(ctx, src, len, &pin)) {
        if ((st = emit_dma(s, pin.va, dst, len, 0)) != ZK_SUCCESS ||
            (st = zk__stream_add_bo(s, pin.handle)) != ZK_SUCCESS) {
            return st;
        }
        return zk__stream_add_bo(s, dst_handle);
    }
    if (len <= ZK_INLINE_MAX) {
        struct zk_cmd_dma *c;
        void *data;
        uint64_t data_va;
        st = zk__stream_reserve(s, 1, len, (void **)&c, &data, &data_va);
        if (st != ZK_SUCCESS) {
            return st;
        }
        if ((st = zk__stream_add_bo(s, dst_handle)) != ZK_SUCCESS) {
            return st;
        }
        memcpy(data, src, len);
        c->hdr.opcode = ZK_CMD_DMA;
        c->src = data_va;
        c->dst = dst;
        c->size = len;
        return ZK_SUCCESS;
    }
    for (off = 0; off < len; off += ctx->stage_size) {
        size_t n = len - off < ctx->stage_size ? len - off : ctx->stage_size;
        zk_staging *g;
        uint64_t seq = 0;
        st = staging_acquire(ctx, &g, 1);
        if (st != ZK_SUCCESS) {
            return st;
        }
        memcpy(g->bo->cpu, (const uint8_t *)src + off, n);
        st = emit_dma(s, g->bo->va, dst + off, n, 0);
        if (st == ZK_SUCCESS) {
            st = zk__stream_add_bo(s, g->bo->handle);
        }
        if (st == ZK_SUCCESS) {
            st = zk__stream_add_bo(s, dst_handle);
        }
        if (st == ZK_SUCCESS) {
            st = zk__stream_flush_locked(s, 0, 0, 0, &seq);
        }
        staging_release(ctx, g, st == ZK_SUCCESS ? seq : 0);
        if (st != ZK_SUCCESS) {
            return st;
        }
    }
    return ZK_SUCCESS;
}

/* Device to pageable/pinned host.  Pageable: completes before returning. */
static zk_status d2h_locked(zk_stream s, void *dst, dref src, size_t len, int async)
{
    zk_context ctx = s->ctx;
    zk_status st;
    dref pin;
    uint64_t seq;

    if (find_pinned(ctx, dst, len, &pin)) {
        if ((st = emit_dma(s, src.va, pin.va, len, 0)) != ZK_SUCCESS ||
            (st = zk__stream_add_bo(s, pin.handle)) != ZK_SUCCESS ||
            (st = zk__stream_add_bo(s, src.handle)) != ZK_SUCCESS) {
            return st;
        }
        if (async) {
            return ZK_SUCCESS;
        }
        if ((st = zk__stream_flush_locked(s, 0, 0, 0, NULL)) != ZK_SUCCESS) {
            return st;
        }
        return zk__stream_reap_locked(s, 0, 1);
    }
    if (len <= ZK_INLINE_MAX) {
        struct zk_cmd_dma *c;
        void *data;
        uint64_t data_va;
        st = zk__stream_reserve(s, 1, len, (void **)&c, &data, &data_va);
        if (st != ZK_SUCCESS) {
            return st;
        }
        if ((st = zk__stream_add_bo(s, src.handle)) != ZK_SUCCESS) {
            return st;
        }
        c->hdr.opcode = ZK_CMD_DMA;
        c->src = src.va;
        c->dst = data_va;
        c->size = len;
        if ((st = zk__stream_flush_locked(s, 0, 0, 0, &seq)) != ZK_SUCCESS) {
            return st;
        }
        if ((st = zk__stream_reap_locked(s, 0, 1)) != ZK_SUCCESS) {
            return st;
        }
        memcpy(dst, data, len);
        return ZK_SUCCESS;
    }
    {
        /* Pipeline: up to 3 chunks in flight; copy out the oldest. */
        struct { zk_staging *g; size_t off, n; uint64_t seq; } fl[3];
        int head = 0, cnt = 0;
        size_t off = 0;
        zk_status err = ZK_SUCCESS;
        while ((off < len && err == ZK_SUCCESS) || cnt) {
            zk_staging *g = NULL;
            if (cnt < 3 && off < len && err == ZK_SUCCESS) {
                st = staging_acquire(ctx, &g, cnt == 0);
                if (st != ZK_SUCCESS && st != ZK_ERROR_NOT_READY) {
                    err = st;
                    continue;
                }
            }
            if (!g) {
                uint32_t status = 0;
                int k = head;
                st = zk__wait_seqno(ctx, fl[k].seq, 1, &status);
                if (st == ZK_SUCCESS && status != ZKIO_JOB_OK) {
                    st = zk__fail(zk__job_status(status), "copy to host: DMA job failed (%s)",
                                  zk_error_name(zk__job_status(status)));
                    if (s->error == ZK_SUCCESS) {
                        s->error = st;
                    }
                }
                if (st == ZK_SUCCESS && err == ZK_SUCCESS) {
                    memcpy((uint8_t *)dst + fl[k].off, fl[k].g->bo->cpu, fl[k].n);
                } else if (err == ZK_SUCCESS) {
                    err = st;
                }
                staging_release(ctx, fl[k].g, 0);
                head = (head + 1) % 3;
                cnt--;
                continue;
            }
            {
                size_t n = len - off < ctx->stage_size ? len - off : ctx->stage_size;
                st = emit_dma(s, src.va + off, g->bo->va, n, 0);
                if (st == ZK_SUCCESS) {
                    st = zk__stream_add_bo(s, g->bo->handle);
                }
                if (st == ZK_SUCCESS) {
                    st = zk__stream_add_bo(s, src.handle);
                }
                if (st == ZK_SUCCESS) {
                    st = zk__stream_flush_locked(s, 0, 0, 0, &seq);
                }
                if (st != ZK_SUCCESS) {
                    staging_release(ctx, g, 0);
                    err = st;
                    continue;
                }
                fl[(head + cnt) % 3].g = g;
                fl[(head + cnt) % 3].off = off;
                fl[(head + cnt) % 3].n = n;
                fl[(head + cnt) % 3].seq = seq;
                cnt++;
                off += n;
            }
        }
        if (err != ZK_SUCCESS) {
            return err;
        }
        /* Keep the stream's bookkeeping current (cheap: the fences are written). */
        return zk__stream_reap_locked(s, 0, 1);
    }
}

/* ZK_DMA_F_FILL: the command's src field *is* the 32-bit pattern. */
static zk_status fill_locked(zk_stream s, dref dst, uint32_t pattern, size_t len)
{
    struct zk_cmd_dma *c;
    zk_status st = zk__stream_reserve(s, 1, 0, (void **)&c, NULL, NULL);
    if (st != ZK_SUCCESS) {
        return st;
    }
    if ((st = zk__stream_add_bo(s, dst.handle)) != ZK_SUCCESS) {
        return st;
    }
    c->hdr.opcode = ZK_CMD_DMA;
    c->hdr.flags = ZK_DMA_F_FILL;
    c->src = pattern;
    c->dst = dst.va;
    c->size = len;
    return ZK_SUCCESS;
}

/* ---- public: allocation -------------------------------------------------------------- */

ZK_EXPORT zk_status zk_mem_alloc(zk_deviceptr *dptr, size_t bytes)
{
    zk_context ctx = NULL;
    zk_alloc *a;
    zk_status st;
    int r;
    if (!dptr) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_mem_alloc: dptr is NULL");
    }
    if (bytes == 0) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_mem_alloc: bytes is 0");
    }
    if ((st = zk__current_ctx(&ctx)) != ZK_SUCCESS) {
        return st;
    }
    st = zk__bo_new(ctx, bytes, ZKIO_BO_HBM, ZK_ALLOC_DEVICE, 0, &a);
    if (st != ZK_SUCCESS) {
        return st;
    }
    pthread_mutex_lock(&ctx->lock);
    r = zk__rmap_insert(&ctx->va_map, a->va, a->size, a);
    pthread_mutex_unlock(&ctx->lock);
    if (r != 0) {
        zk__bo_delete(ctx, a);
        return zk__fail(r == -ENOMEM ? ZK_ERROR_OUT_OF_MEMORY : ZK_ERROR_UNKNOWN,
                        "zk_mem_alloc: VA bookkeeping failed (%d)", r);
    }
    *dptr = a->va;
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_mem_free(zk_deviceptr dptr)
{
    zk_context ctx = NULL;
    zk_alloc *a = NULL;
    const zk_range *r;
    zk_status st;
    if ((st = zk__current_ctx(&ctx)) != ZK_SUCCESS) {
        return st;
    }
    pthread_mutex_lock(&ctx->lock);
    r = zk__rmap_find(&ctx->va_map, dptr, 1);
    if (r && r->base == dptr && ((zk_alloc *)r->obj)->kind == ZK_ALLOC_DEVICE) {
        a = r->obj;
    }
    pthread_mutex_unlock(&ctx->lock);
    if (!a) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_mem_free: 0x%llx is not the start of a live "
                        "device allocation (double free?)", (unsigned long long)dptr);
    }
    /* Unflushed commands may name the BO: submit them while it exists. */
    zk__ctx_flush_all(ctx, 0);
    pthread_mutex_lock(&ctx->lock);
    a = zk__rmap_remove(&ctx->va_map, dptr);
    pthread_mutex_unlock(&ctx->lock);
    if (!a) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_mem_free: 0x%llx freed concurrently",
                        (unsigned long long)dptr);
    }
    zk__bo_delete(ctx, a);
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_mem_alloc_host(void **pp, size_t bytes)
{
    zk_context ctx = NULL;
    zk_alloc *a;
    zk_status st;
    int r;
    if (!pp) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_mem_alloc_host: pp is NULL");
    }
    if (bytes == 0) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_mem_alloc_host: bytes is 0");
    }
    if ((st = zk__current_ctx(&ctx)) != ZK_SUCCESS) {
        return st;
    }
    st = zk__bo_new(ctx, bytes, ZKIO_BO_HOST, ZK_ALLOC_HOST, 1, &a);
    if (st != ZK_SUCCESS) {
        return st;
    }
    pthread_mutex_lock(&ctx->lock);
    r = zk__rmap_insert(&ctx->va_map, a->va, a->size, a);
    if (r == 0) {
        r = zk__rmap_insert(&ctx->host_map, (uintptr_t)a->cpu, a->size, a);
        if (r != 0) {
            zk__rmap_remove(&ctx->va_map, a->va);
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    if (r != 0) {
        zk__bo_delete(ctx, a);
        return zk__fail(ZK_ERROR_OUT_OF_MEMORY, "zk_mem_alloc_host: bookkeeping failed (%d)", r);
    }
    *pp = a->cpu;
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_mem_free_host(void *p)
{
    zk_context ctx = NULL;
    zk_alloc *a = NULL;
    const zk_range *r;
    zk_status st;
    if ((st = zk__current_ctx(&ctx)) != ZK_SUCCESS) {
        return st;
    }
    pthread_mutex_lock(&ctx->lock);
    r = zk__rmap_find(&ctx->host_map, (uintptr_t)p, 1);
    if (r && r->base == (uintptr_t)p) {
        a = r->obj;
    }
    pthread_mutex_unlock(&ctx->lock);
    if (!a) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_mem_free_host: %p is not the start of a "
                        "live pinned allocation", p);
    }
    zk__ctx_flush_all(ctx, 0);
    pthread_mutex_lock(&ctx->lock);
    zk__rmap_remove(&ctx->host_map, (uintptr_t)p);
    zk__rmap_remove(&ctx->va_map, a->va);
    pthread_mutex_unlock(&ctx->lock);
    zk__bo_delete(ctx, a);
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_mem_host_get_device_pointer(zk_deviceptr *dptr, void *p)
{
    zk_context ctx = NULL;
    zk_status st;
    dref d;
    if (!dptr) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_mem_host_get_device_pointer: dptr is NULL");
    }
    if ((st = zk__current_ctx(&ctx)) != ZK_SUCCESS) {
        return st;
    }
    if (!find_pinned(ctx, p, 1, &d)) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_mem_host_get_device_pointer: %p is not "
                        "pinned host memory of this context", p);
    }
    *dptr = d.va;
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_mem_get_address_range(zk_deviceptr *base, size_t *size, zk_deviceptr dptr)
{
    zk_context ctx = NULL;
    const zk_range *r;
    zk_status st;
    if ((st = zk__current_ctx(&ctx)) != ZK_SUCCESS) {
        return st;
    }
    pthread_mutex_lock(&ctx->lock);
    r = zk__rmap_find(&ctx->va_map, dptr, 1);
    if (r) {
        if (base) {
            *base = r->base;
        }
        if (size) {
            *size = r->size;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    if (!r) {
        return zk__fail(ZK_ERROR_NOT_FOUND, "zk_mem_get_address_range: 0x%llx is in no live "
                        "allocation", (unsigned long long)dptr);
    }
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_mem_get_info(size_t *free_bytes, size_t *total_bytes)
{
    zk_context ctx = NULL;
    uint64_t total, used, limit = 0, cused = 0, fr;
    zk_status st;
    int r;
    if ((st = zk__current_ctx(&ctx)) != ZK_SUCCESS) {
        return st;
    }
    if ((r = zkio_get_param(ctx->fd, ZKIO_PARAM_HBM_SIZE, &total)) != 0 ||
        (r = zkio_get_param(ctx->fd, ZKIO_PARAM_HBM_USED, &used)) != 0) {
        return zk__fail_io(r, "zk_mem_get_info");
    }
    fr = used < total ? total - used : 0;
    if (zkio_get_param(ctx->fd, ZKIO_PARAM_CTX_MEM_LIMIT, &limit) == 0 &&
        zkio_get_param(ctx->fd, ZKIO_PARAM_CTX_MEM_USED, &cused) == 0 && limit &&
        limit < total) {
        uint64_t cf = cused < limit ? limit - cused : 0;
        fr = cf < fr ? cf : fr;
    }
    if (free_bytes) {
        *free_bytes = fr;
    }
    if (total_bytes) {
        *total_bytes = total;
    }
    return ZK_SUCCESS;
}

/* ---- public: copies ------------------------------------------------------------------- */

enum op { OP_HTOD, OP_DTOH, OP_DTOD, OP_FILL };

struct op_args {
    enum op op;
    const char *fn;
    zk_deviceptr dst, src;
    void *hdst;
    const void *hsrc;
    size_t bytes;
    uint32_t pattern;
};

/* With s locked. */
static zk_status run_op(zk_stream s, const struct op_args *a, int async)
{
    zk_context ctx = s->ctx;
    dref d, sr;
    zk_status st;
    if ((st = sticky(s, a->fn)) != ZK_SUCCESS) {
        return st;
    }
    switch (a->op) {
    case OP_HTOD:
        if (!a->hsrc) {
            return zk__fail(ZK_ERROR_INVALID_VALUE, "%s: src is NULL", a->fn);
        }
        if ((st = resolve_dev(ctx, a->dst, a->bytes, a->fn, "dst", &d)) != ZK_SUCCESS) {
            return st;
        }
        return zk__h2d_locked(s, d.va, d.handle, a->hsrc, a->bytes);
    case OP_DTOH:
        if (!a->hdst) {
            return zk__fail(ZK_ERROR_INVALID_VALUE, "%s: dst is NULL", a->fn);
        }
        if ((st = resolve_dev(ctx, a->src, a->bytes, a->fn, "src", &sr)) != ZK_SUCCESS) {
            return st;
        }
        return d2h_locked(s, a->hdst, sr, a->bytes, async);
    case OP_DTOD:
        if ((st = resolve_dev(ctx, a->dst, a->bytes, a->fn, "dst", &d)) != ZK_SUCCESS ||
            (st = resolve_dev(ctx, a->src, a->bytes, a->fn, "src", &sr)) != ZK_SUCCESS) {
            return st;
        }
        if ((st = emit_dma(s, sr.va, d.va, a->bytes, 0)) != ZK_SUCCESS ||
            (st = zk__stream_add_bo(s, d.handle)) != ZK_SUCCESS) {
            return st;
        }
        return zk__stream_add_bo(s, sr.handle);
    case OP_FILL:
        if ((st = resolve_dev(ctx, a->dst, a->bytes, a->fn, "dst", &d)) != ZK_SUCCESS) {
            return st;
        }
        return fill_locked(s, d, a->pattern, a->bytes);
    }
    return ZK_ERROR_UNKNOWN;
}

static zk_status do_async(const struct op_args *a, zk_stream in)
{
    zk_stream s = NULL;
    zk_status st = zk__stream_resolve(in, NULL, &s);
    if (st != ZK_SUCCESS || a->bytes == 0) {
        return st;
    }
    pthread_mutex_lock(&s->lock);
    st = run_op(s, a, 1);
    pthread_mutex_unlock(&s->lock);
    return st;
}

/*
 * CPU pointer for [va, va+len) of an allocation: pinned host memory, or an
 * HBM BO mapped on first use.  NULL if not mappable (caller uses DMA).
 */
static void *map_dev(zk_context ctx, uint64_t va, size_t len)
{
    const zk_range *r;
    zk_alloc *a;
    void *p = NULL;
    if (getenv("ZK_NO_HBM_MMAP")) {
        return NULL;
    }
    pthread_mutex_lock(&ctx->lock);
    r = zk__rmap_find(&ctx->va_map, va, len);
    a = r ? r->obj : NULL;
    if (a && !a->cpu && !a->nomap) {
        uint64_t off, size = 0;
        void *m;
        if (zkio_bo_info(ctx->fd, a->handle, &off, &size) == 0 && size >= a->size &&
            zkio_bo_mmap(ctx->fd, off, size, &m) == 0) {
            a->cpu = m;
            a->bo_size = size;
        } else {
            a->nomap = 1;
        }
    }
    if (a && a->cpu) {
        p = (uint8_t *)a->cpu + (va - a->va);
    }
    pthread_mutex_unlock(&ctx->lock);
    return p;
}

static zk_status do_sync(const struct op_args *a)
{
    zk_context ctx = NULL;
    zk_stream s = NULL;
    zk_status st = zk__current_ctx(&ctx);
    if (st != ZK_SUCCESS || a->bytes == 0) {
        return st;
    }
    /* Legacy default-stream semantics: after everything issued before. */
    zk__ctx_flush_all(ctx, 1);
    s = ctx->default_stream;
    pthread_mutex_lock(&s->lock);
    if ((a->op == OP_HTOD || a->op == OP_DTOH) && a->bytes <= ZK_MMAP_COPY_MAX &&
        s->error == ZK_SUCCESS && (a->op == OP_HTOD ? a->hsrc != NULL : a->hdst != NULL)) {
        /* Small copies: the card is idle for us, the CPU copies directly. */
        uint8_t *p = map_dev(ctx, a->op == OP_HTOD ? a->dst : a->src, a->bytes);
        if (p) {
            if (a->op == OP_HTOD) {
                memcpy(p, a->hsrc, a->bytes);
            } else {
                memcpy(a->hdst, p, a->bytes);
            }
            pthread_mutex_unlock(&s->lock);
            return ZK_SUCCESS;
        }
    }
    st = run_op(s, a, 0);
    if (st == ZK_SUCCESS) {
        st = zk__stream_flush_locked(s, 0, 0, 0, NULL);
    }
    if (st == ZK_SUCCESS) {
        st = zk__stream_reap_locked(s, 0, 1);
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

ZK_EXPORT zk_status zk_memcpy_htod(zk_deviceptr dst, const void *src, size_t bytes)
{
    struct op_args a = {.op = OP_HTOD, .fn = "zk_memcpy_htod", .dst = dst, .hsrc = src,
                        .bytes = bytes};
    return do_sync(&a);
}

ZK_EXPORT zk_status zk_memcpy_dtoh(void *dst, zk_deviceptr src, size_t bytes)
{
    struct op_args a = {.op = OP_DTOH, .fn = "zk_memcpy_dtoh", .src = src, .hdst = dst,
                        .bytes = bytes};
    return do_sync(&a);
}

ZK_EXPORT zk_status zk_memcpy_dtod(zk_deviceptr dst, zk_deviceptr src, size_t bytes)
{
    struct op_args a = {.op = OP_DTOD, .fn = "zk_memcpy_dtod", .dst = dst, .src = src,
                        .bytes = bytes};
    return do_sync(&a);
}

ZK_EXPORT zk_status zk_memset(zk_deviceptr dst, uint8_t value, size_t bytes)
{
    struct op_args a = {.op = OP_FILL, .fn = "zk_memset", .dst = dst, .bytes = bytes,
                        .pattern = value * 0x01010101u};
    return do_sync(&a);
}

ZK_EXPORT zk_status zk_memset_d32(zk_deviceptr dst, uint32_t value, size_t count)
{
    struct op_args a = {.op = OP_FILL, .fn = "zk_memset_d32", .dst = dst, .bytes = count * 4,
                        .pattern = value};
    if (dst & 3) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_memset_d32: dst 0x%llx is not 4-aligned",
                        (unsigned long long)dst);
    }
    if (count > SIZE_MAX / 4) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_memset_d32: count too large");
    }
    return do_sync(&a);
}

ZK_EXPORT zk_status zk_memcpy_htod_async(zk_deviceptr dst, const void *src, size_t bytes,
                                         zk_stream stream)
{
    struct op_args a = {.op = OP_HTOD, .fn = "zk_memcpy_htod_async", .dst = dst, .hsrc = src,
                        .bytes = bytes};
    return do_async(&a, stream);
}

ZK_EXPORT zk_status zk_memcpy_dtoh_async(void *dst, zk_deviceptr src, size_t bytes,
                                         zk_stream stream)
{
    struct op_args a = {.op = OP_DTOH, .fn = "zk_memcpy_dtoh_async", .src = src, .hdst = dst,
                        .bytes = bytes};
    return do_async(&a, stream);
}

ZK_EXPORT zk_status zk_memcpy_dtod_async(zk_deviceptr dst, zk_deviceptr src, size_t bytes,
                                         zk_stream stream)
{
    struct op_args a = {.op = OP_DTOD, .fn = "zk_memcpy_dtod_async", .dst = dst, .src = src,
                        .bytes = bytes};
    return do_async(&a, stream);
}

ZK_EXPORT zk_status zk_memset_async(zk_deviceptr dst, uint8_t value, size_t bytes,
                                    zk_stream stream)
{
    struct op_args a = {.op = OP_FILL, .fn = "zk_memset_async", .dst = dst, .bytes = bytes,
                        .pattern = value * 0x01010101u};
    return do_async(&a, stream);
}

ZK_EXPORT zk_status zk_memset_d32_async(zk_deviceptr dst, uint32_t value, size_t count,
                                        zk_stream stream)
{
    struct op_args a = {.op = OP_FILL, .fn = "zk_memset_d32_async", .dst = dst,
                        .bytes = count * 4, .pattern = value};
    if (dst & 3) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_memset_d32_async: dst 0x%llx is not "
                        "4-aligned", (unsigned long long)dst);
    }
    if (count > SIZE_MAX / 4) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_memset_d32_async: count too large");
    }
    return do_async(&a, stream);
}
