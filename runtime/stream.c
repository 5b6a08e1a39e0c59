/* SPDX-License-Identifier: MIT */
/*
 * stream.c - streams: per-stream command buffers, job submission and
 * completion tracking.
 *
 * Commands are written into a "chunk" (a mmapped host BO of ZK_CHUNK_SIZE):
 * commands grow upwards from the current job's start, inline data (launch
 * arguments, fill patterns, small host-to-device copies) downwards from the
 * top.  A flush submits [job_start, cmd_pos) as one job; the next job
 * continues in the same chunk.  A full chunk is retired with the index of
 * the last job using it and reused once that job is known to be complete.
 *
 * Every job ends with a FENCE writing its stream-local index i to
 * slots[i % ZK_FENCE_SLOTS] of the stream's fence BO.  A faulting job skips
 * the rest of its commands, so "slot == i" proves job i succeeded without an
 * ioctl; otherwise DRM_IOCTL_ZHIKAI_WAIT on its seqno gives the status.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "zk_internal.h"

int64_t zk__deadline(void)
{
    static int64_t timeout_ns;
    if (!timeout_ns) {
        const char *e = getenv("ZK_WAIT_TIMEOUT_MS");
        long long ms = e ? atoll(e) : 0;
        timeout_ns = (ms > 0 ? ms : 600000) * 1000000ll;
    }
    return zkio_now_ns() + timeout_ns;
}

zk_status zk__wait_seqno(zk_context ctx, uint64_t seqno, int block, uint32_t *status)
{
    int r = zkio_wait(ctx->fd, seqno, block ? zk__deadline() : 0, status);
    if (r == -ETIME || r == -ETIMEDOUT) {
        if (!block) {
            return ZK_ERROR_NOT_READY;
        }
        return zk__fail(ZK_ERROR_TIMEOUT, "waiting for job %llu: no completion after "
                        "ZK_WAIT_TIMEOUT_MS", (unsigned long long)seqno);
    }
    if (r == -ENOENT) {
        /* Older than the driver's window of kept job statuses: long finished.
         * Callers only ask when the job's own fence was not written, so it
         * did not complete normally. */
        if (status) {
            *status = ZKIO_JOB_FAULTED;
        }
        zk__fail(ZK_ERROR_LAUNCH_FAILED, "job %llu: status no longer kept by the driver",
                 (unsigned long long)seqno);
        return ZK_SUCCESS;
    }
    if (r != 0) {
        return zk__fail_io(r, "waiting for a job");
    }
    return ZK_SUCCESS;
}

/* How long a blocking wait polls a job's fence slot before sleeping in the
 * driver (ZK_SPIN_US, default 0: measured no gain on the emulated card, and
 * spinning starves the 1-vCPU guest's scheduler thread). */
static int64_t spin_ns(void)
{
    static int64_t ns = -1;
    if (ns < 0) {
        const char *e = getenv("ZK_SPIN_US");
        ns = (e ? atoll(e) : 0) * 1000;
    }
    return ns;
}

/* What a failed job's status means for the application (error details). */
static const char *job_error_text(zk_status st)
{
    switch (st) {
    case ZK_ERROR_TIMEOUT:
        return "it exceeded the driver's job time limit (job_timeout_ms): the job was "
               "declared hung, the driver reset the engine and dropped its remaining work";
    case ZK_ERROR_ABORTED:
        return "a device/engine reset (recovery from a hang, possibly of other work) "
               "dropped it before it finished; its results are not valid";
    case ZK_ERROR_LAUNCH_FAILED:
        return "it faulted on the device (MMU or DMA fault)";
    case ZK_ERROR_ILLEGAL_COMMAND:
        return "the engine rejected one of its commands or kernels";
    case ZK_ERROR_DEVICE_LOST:
        return "the context is lost: the driver refuses its work (banned after repeated "
               "job timeouts, or the device is wedged); destroy it and create a new context";
    default:
        return zk_error_string(st);
    }
}

/*
 * A failed SUBMIT.  EIO means the driver will never take this context's work
 * again (it caused hang_ban_limit job timeouts and was banned, or the device
 * is wedged): report the context as lost instead of a generic OS error.
 */
static zk_status submit_fail(int r, const char *what)
{
    if (r == -EIO) {
        return zk__fail(ZK_ERROR_DEVICE_LOST, "%s: DRM_IOCTL_ZHIKAI_SUBMIT refused (EIO): %s",
                        what, job_error_text(ZK_ERROR_DEVICE_LOST));
    }
    return zk__fail_io(r, what);
}

static uint64_t *slots(zk_stream s)
{
    return (uint64_t *)s->fence_bo->cpu;
}

static zk_status chunk_new(zk_stream s, zk_chunk **out)
{
    zk_chunk *c = calloc(1, sizeof(*c));
    zk_status st;
    if (!c) {
        return zk__fail(ZK_ERROR_OUT_OF_MEMORY, "stream: out of host memory");
    }
    st = zk__bo_new(s->ctx, ZK_CHUNK_SIZE, ZKIO_BO_HOST, ZK_ALLOC_INTERNAL, 1, &c->bo);
    if (st != ZK_SUCCESS) {
        free(c);
        return st;
    }
    s->nchunks++;
    *out = c;
    return ZK_SUCCESS;
}

zk_status zk__stream_new(zk_context ctx, int is_default, zk_stream *out)
{
    zk_stream s = calloc(1, sizeof(*s));
    zk_status st;
    if (!s) {
        return zk__fail(ZK_ERROR_OUT_OF_MEMORY, "zk_stream_create: out of host memory");
    }
    s->ctx = ctx;
    s->is_default = is_default;
    s->next_idx = 1;
    pthread_mutex_init(&s->lock, NULL);
    st = zk__bo_new(ctx, ZK_FENCE_SLOTS * 8, ZKIO_BO_HOST, ZK_ALLOC_INTERNAL, 1, &s->fence_bo);
    if (st != ZK_SUCCESS) {
        goto fail;
    }
    memset(s->fence_bo->cpu, 0, ZK_FENCE_SLOTS * 8);
    st = chunk_new(s, &s->cur);
    if (st != ZK_SUCCESS) {
        zk__bo_delete(ctx, s->fence_bo);
        goto fail;
    }
    s->data_top = ZK_CHUNK_SIZE;
    if (zk__handle_add(s, ZK_KIND_STREAM) != 0) {
        zk__bo_delete(ctx, s->cur->bo);
        free(s->cur);
        zk__bo_delete(ctx, s->fence_bo);
        st = zk__fail(ZK_ERROR_OUT_OF_MEMORY, "zk_stream_create: out of host memory");
        goto fail;
    }
    pthread_rwlock_wrlock(&ctx->slock);
    pthread_mutex_lock(&ctx->lock);
    s->queue = is_default ? 0 : ctx->next_queue++ % ctx->num_queues;
    pthread_mutex_unlock(&ctx->lock);
    s->next = ctx->streams;
    ctx->streams = s;
    pthread_rwlock_unlock(&ctx->slock);
    *out = s;
    return ZK_SUCCESS;
fail:
    pthread_mutex_destroy(&s->lock);
    free(s);
    return st;
}

void zk__stream_free(zk_stream s)
{
    zk_context ctx = s->ctx;
    zk_chunk *c;
    zk__handle_del(s);
    while ((c = s->retired) != NULL) {
        s->retired = c->next;
        zk__bo_delete(ctx, c->bo);
        free(c);
    }
    if (s->cur) {
        zk__bo_delete(ctx, s->cur->bo);
        free(s->cur);
    }
    zk__bo_delete(ctx, s->fence_bo);
    free(s->bos);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

zk_status zk__stream_resolve(zk_stream in, zk_context ctx, zk_stream *out)
{
    zk_status st;
    if (in) {
        if (!zk__handle_ok(in, ZK_KIND_STREAM)) {
            return zk__fail(ZK_ERROR_INVALID_HANDLE, "bad stream handle %p (destroyed?)",
                            (void *)in);
        }
        if (ctx && in->ctx != ctx) {
            return zk__fail(ZK_ERROR_INVALID_HANDLE,
                            "stream %p belongs to another context", (void *)in);
        }
        *out = in;
        return ZK_SUCCESS;
    }
    if (!ctx) {
        st = zk__current_ctx(&ctx);
        if (st != ZK_SUCCESS) {
            return st;
        }
    }
    *out = ctx->default_stream;
    return ZK_SUCCESS;
}

zk_status zk__stream_add_bo(zk_stream s, uint32_t handle)
{
    unsigned int i;
    /* Cheap dedupe of the most recent entries; flush sorts the rest. */
    for (i = s->nbos; i > 0 && i + 8 > s->nbos; i--) {
        if (s->bos[i - 1] == handle) {
            return ZK_SUCCESS;
        }
    }
    if (s->nbos == s->capbos) {
        unsigned int nc = s->capbos ? s->capbos * 2 : 64;
        uint32_t *nb = realloc(s->bos, nc * sizeof(*nb));
        if (!nb) {
            return zk__fail(ZK_ERROR_OUT_OF_MEMORY, "stream: out of host memory");
        }
        s->bos = nb;
        s->capbos = nc;
    }
    s->bos[s->nbos++] = handle;
    return ZK_SUCCESS;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void dedupe_bos(zk_stream s)
{
    unsigned int i, n = 0;
    if (s->nbos < 2) {
        return;
    }
    qsort(s->bos, s->nbos, sizeof(*s->bos), cmp_u32);
    for (i = 0; i < s->nbos; i++) {
        if (n == 0 || s->bos[n - 1] != s->bos[i]) {
            s->bos[n++] = s->bos[i];
        }
    }
    s->nbos = n;
}

zk_status zk__stream_reap_locked(zk_stream s, uint64_t idx, int block)
{
    uint64_t last = s->next_idx - 1;
    int fresh = 0;
    if (idx == 0 || idx > last) {
        idx = last;
    }
    while (s->checked_idx < idx) {
        uint64_t j = s->checked_idx + 1;
        uint64_t v = __atomic_load_n(&slots(s)[j % ZK_FENCE_SLOTS], __ATOMIC_ACQUIRE);
        uint32_t status = 0;
        zk_status st;
        if (v != j && block && spin_ns() > 0) {
            /* Short jobs: watching the fence slot beats sleeping in WAIT. */
            int64_t end = zkio_now_ns() + spin_ns();
            do {
                sched_yield();
                v = __atomic_load_n(&slots(s)[j % ZK_FENCE_SLOTS], __ATOMIC_ACQUIRE);
            } while (v != j && zkio_now_ns() < end);
        }
        if (v != j) {
            st = zk__wait_seqno(s->ctx, s->seqnos[j % ZK_FENCE_SLOTS], block, &status);
            if (st != ZK_SUCCESS) {
                return st;      /* NOT_READY, TIMEOUT or OS: nothing learned */
            }
            if (status != ZKIO_JOB_OK && s->error == ZK_SUCCESS) {
                s->error = zk__job_status(status);
                fresh = 1;
                zk__fail(s->error, "stream %p (queue %u): job %llu (seqno %llu) ended with "
                         "status %u (%s): %s; the error is sticky until "
                         "zk_stream_clear_error", (void *)s, s->queue, (unsigned long long)j,
                         (unsigned long long)s->seqnos[j % ZK_FENCE_SLOTS], status,
                         zk_error_name(s->error), job_error_text(s->error));
            }
        }
        s->checked_idx = j;
    }
    if (fresh) {
        return s->error;        /* the detail names the failed job */
    }
    if (s->error != ZK_SUCCESS) {
        return zk__fail(s->error, "stream %p has a sticky error: %s: %s (zk_stream_clear_error)",
                        (void *)s, zk_error_name(s->error), job_error_text(s->error));
    }
    return ZK_SUCCESS;
}

/* A fresh chunk for the stream (current one full). */
static zk_status next_chunk(zk_stream s)
{
    zk_chunk *c = s->retired;
    zk_status st;
    s->cur->retire_idx = s->next_idx - 1;
    if (c && s->checked_idx < c->retire_idx) {
        /* Poll: maybe it finished already (job errors found stay sticky). */
        zk__stream_reap_locked(s, c->retire_idx, 0);
    }
    if (c && s->checked_idx >= c->retire_idx) {
        s->retired = c->next;
        if (!s->retired) {
            s->retired_tail = NULL;
        }
    } else if (s->nchunks < ZK_CHUNK_MAX) {
        st = chunk_new(s, &c);
        if (st != ZK_SUCCESS) {
            return st;
        }
    } else {
        st = zk__stream_reap_locked(s, c->retire_idx, 1);
        if (s->checked_idx < c->retire_idx) {
            return st;
        }
        s->retired = c->next;
        if (!s->retired) {
            s->retired_tail = NULL;
        }
    }
    c->next = NULL;
    s->cur->next = NULL;
    if (s->retired_tail) {
        s->retired_tail->next = s->cur;
    } else {
        s->retired = s->cur;
    }
    s->retired_tail = s->cur;
    s->cur = c;
    s->job_start = s->cmd_pos = 0;
    s->data_top = ZK_CHUNK_SIZE;
    return ZK_SUCCESS;
}

zk_status zk__stream_reserve(zk_stream s, unsigned int ncmds, size_t data,
                             void **cmds, void **data_ptr, uint64_t *data_va)
{
    /* One command slot is always kept for the closing FENCE. */
    size_t need_cmd = (size_t)(ncmds + 1) * ZK_CMD_SIZE;
    size_t dsz = (data + 63) & ~(size_t)63;
    zk_status st;
    if (need_cmd + dsz > ZK_CHUNK_SIZE) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "stream: request too large for a command chunk");
    }
    if (s->nbos + 24 >= ZKIO_MAX_JOB_BOS) {
        dedupe_bos(s);
    }
    if (s->cmd_pos + need_cmd + dsz > s->data_top ||
        s->cmd_pos + need_cmd - s->job_start > ZKIO_MAX_CMD_BYTES ||
        s->nbos + 24 >= ZKIO_MAX_JOB_BOS) {
        st = zk__stream_flush_locked(s, 0, 0, 0, NULL);
        if (st != ZK_SUCCESS) {
            return st;
        }
        if (s->cmd_pos + need_cmd + dsz > s->data_top) {
            st = next_chunk(s);
            if (st != ZK_SUCCESS) {
                return st;
            }
        }
    }
    *cmds = (uint8_t *)s->cur->bo->cpu + s->cmd_pos;
    memset(*cmds, 0, (size_t)ncmds * ZK_CMD_SIZE);
    s->cmd_pos += ncmds * ZK_CMD_SIZE;
    if (dsz) {
        s->data_top -= (uint32_t)dsz;
        if (data_ptr) {
            *data_ptr = (uint8_t *)s->cur->bo->cpu + s->data_top;
        }
        if (data_va) {
            *data_va = s->cur->bo->va + s->data_top;
        }
    }
    return ZK_SUCCESS;
}

zk_status zk__stream_flush_locked(zk_stream s, uint32_t in_syncobj, uint32_t out_syncobj,
                                  int force, uint64_t *seqno)
{
    zkio_job job;
    struct zk_cmd_fence *f;
    uint64_t idx = s->next_idx;
    zk_status st;
    int r;

    if (s->cmd_pos == s->job_start && !force && !in_syncobj && !out_syncobj) {
        if (seqno) {
            *seqno = s->last_seqno;
        }
        return ZK_SUCCESS;
    }
    /* The slot of job idx must not still hold an unverified older job. */
    if (idx - s->checked_idx >= ZK_FENCE_SLOTS) {
        /* (a job error found here stays sticky for the next synchronize) */
        st = zk__stream_reap_locked(s, idx - ZK_FENCE_SLOTS + 1, 1);
        if (s->checked_idx < idx - ZK_FENCE_SLOTS + 1) {
            return st;
        }
    }
    /* The closing fence (space always reserved by zk__stream_reserve). */
    f = (struct zk_cmd_fence *)((uint8_t *)s->cur->bo->cpu + s->cmd_pos);
    memset(f, 0, sizeof(*f));
    f->hdr.opcode = ZK_CMD_FENCE;
    f->addr = s->fence_bo->va + (idx % ZK_FENCE_SLOTS) * 8;
    f->value = idx;
    s->cmd_pos += ZK_CMD_SIZE;
    if (zk__stream_add_bo(s, s->cur->bo->handle) != ZK_SUCCESS ||
        zk__stream_add_bo(s, s->fence_bo->handle) != ZK_SUCCESS) {
        s->cmd_pos -= ZK_CMD_SIZE;
        return ZK_ERROR_OUT_OF_MEMORY;
    }
    dedupe_bos(s);
    memset(&job, 0, sizeof(job));
    job.queue = s->queue;
    job.cmd_handle = s->cur->bo->handle;
    job.cmd_offset = s->job_start;
    job.cmd_size = s->cmd_pos - s->job_start;
    job.bo_count = s->nbos;
    job.bo_handles = s->bos;
    job.in_syncobj = in_syncobj;
    job.out_syncobj = out_syncobj;
    r = zkio_submit(s->ctx->fd, &job, 1);
    if (r != 0) {
        /* The job's commands are dropped: the stream's order is broken. */
        s->cmd_pos = s->job_start;
        s->nbos = 0;
        st = submit_fail(r, "submitting a stream's job");
        if (s->error == ZK_SUCCESS) {
            s->error = st;
        }
        return st;
    }
    s->seqnos[idx % ZK_FENCE_SLOTS] = job.seqno;
    s->last_seqno = job.seqno;
    s->next_idx++;
    s->jobs_submitted++;
    s->job_start = s->cmd_pos;
    s->nbos = 0;
    if (seqno) {
        *seqno = job.seqno;
    }
    return ZK_SUCCESS;
}

/*
 * Flush every stream of the context with one SUBMIT (the streams' jobs go
 * out together), then optionally wait for all of them.
 */
zk_status zk__ctx_flush_all(zk_context ctx, int wait)
{
    zk_stream s, *list = NULL;
    size_t n = 0, i;
    zk_status first = ZK_SUCCESS, st;
    pthread_rwlock_rdlock(&ctx->slock);
    for (s = ctx->streams; s; s = s->next) {
        n++;
    }
    list = calloc(n ? n : 1, sizeof(*list));
    if (!list) {
        pthread_rwlock_unlock(&ctx->slock);
        return zk__fail(ZK_ERROR_OUT_OF_MEMORY, "out of host memory");
    }
    n = 0;
    for (s = ctx->streams; s; s = s->next) {
        list[n++] = s;
    }
    /* Batched submit: build all jobs under all locks (list order). */
    {
        zkio_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
        size_t *who = calloc(n ? n : 1, sizeof(*who));
        size_t nj = 0;
        if (!jobs || !who) {
            free(jobs);
            free(who);
            free(list);
            pthread_rwlock_unlock(&ctx->slock);
            return zk__fail(ZK_ERROR_OUT_OF_MEMORY, "out of host memory");
        }
        for (i = 0; i < n; i++) {
            pthread_mutex_lock(&list[i]->lock);
        }
        for (i = 0; i < n; i++) {
            s = list[i];
            uint64_t idx = s->next_idx;
            struct zk_cmd_fence *f;
            if (s->cmd_pos == s->job_start || nj == ZKIO_MAX_JOBS ||
                idx - s->checked_idx >= ZK_FENCE_SLOTS) {
                continue;   /* nothing, or handled by the single path below */
            }
            f = (struct zk_cmd_fence *)((uint8_t *)s->cur->bo->cpu + s->cmd_pos);
            memset(f, 0, sizeof(*f));
            f->hdr.opcode = ZK_CMD_FENCE;
            f->addr = s->fence_bo->va + (idx % ZK_FENCE_SLOTS) * 8;
            f->value = idx;
            s->cmd_pos += ZK_CMD_SIZE;
            if (zk__stream_add_bo(s, s->cur->bo->handle) != ZK_SUCCESS ||
                zk__stream_add_bo(s, s->fence_bo->handle) != ZK_SUCCESS) {
                s->cmd_pos -= ZK_CMD_SIZE;
                continue;
            }
            dedupe_bos(s);
            jobs[nj].queue = s->queue;
            jobs[nj].cmd_handle = s->cur->bo->handle;
            jobs[nj].cmd_offset = s->job_start;
            jobs[nj].cmd_size = s->cmd_pos - s->job_start;
            jobs[nj].bo_count = s->nbos;
            jobs[nj].bo_handles = s->bos;
            who[nj++] = i;
        }
        if (nj) {
            int r = zkio_submit(ctx->fd, jobs, (unsigned)nj);
            for (i = 0; i < nj; i++) {
                s = list[who[i]];
                if (r != 0) {
                    s->cmd_pos = s->job_start;
                    s->nbos = 0;
                    st = submit_fail(r, "submitting the context's jobs");
                    if (s->error == ZK_SUCCESS) {
                        s->error = st;
                    }
                    if (first == ZK_SUCCESS) {
                        first = st;
                    }
                    continue;
                }
                s->seqnos[s->next_idx % ZK_FENCE_SLOTS] = jobs[i].seqno;
                s->last_seqno = jobs[i].seqno;
                s->next_idx++;
                s->jobs_submitted++;
                s->job_start = s->cmd_pos;
                s->nbos = 0;
            }
        }
        /* Leftovers (slot ring full, > MAX_JOBS streams): one by one. */
        for (i = 0; i < n; i++) {
            st = zk__stream_flush_locked(list[i], 0, 0, 0, NULL);
            if (st != ZK_SUCCESS && first == ZK_SUCCESS) {
                first = st;
            }
        }
        for (i = n; i > 0; i--) {
            pthread_mutex_unlock(&list[i - 1]->lock);
        }
        free(jobs);
        free(who);
    }
    if (wait) {
        for (i = 0; i < n; i++) {
            pthread_mutex_lock(&list[i]->lock);
            st = zk__stream_reap_locked(list[i], 0, 1);
            pthread_mutex_unlock(&list[i]->lock);
            if (st != ZK_SUCCESS && first == ZK_SUCCESS) {
                first = st;
            }
        }
    }
    pthread_rwlock_unlock(&ctx->slock);
    free(list);
    return first;
}

/* ---- public API ------------------------------------------------------------- */

ZK_EXPORT zk_status zk_stream_create(zk_stream *out, unsigned int flags)
{
    zk_context ctx = NULL;
    zk_status st;
    if (!out) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_stream_create: stream is NULL");
    }
    if (flags & ~ZK_STREAM_NON_BLOCKING) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_stream_create: flags 0x%x: unknown bits", flags);
    }
    st = zk__current_ctx(&ctx);
    if (st != ZK_SUCCESS) {
        return st;
    }
    st = zk__stream_new(ctx, 0, out);
    if (st == ZK_SUCCESS) {
        (*out)->flags = flags;
    }
    return st;
}

ZK_EXPORT zk_status zk_stream_destroy(zk_stream s)
{
    zk_context ctx = NULL;
    zk_stream *pp;
    zk_status st;
    if (!s || !zk__handle_ok(s, ZK_KIND_STREAM)) {
        return zk__fail(ZK_ERROR_INVALID_HANDLE, "zk_stream_destroy: bad stream handle %p",
                        (void *)s);
    }
    if (s->is_default) {
        return zk__fail(ZK_ERROR_INVALID_HANDLE,
                        "zk_stream_destroy: the default stream cannot be destroyed");
    }
    ctx = s->ctx;
    pthread_rwlock_wrlock(&ctx->slock);
    pthread_mutex_lock(&s->lock);
    zk__stream_flush_locked(s, 0, 0, 0, NULL);
    st = zk__stream_reap_locked(s, 0, 1);
    pthread_mutex_unlock(&s->lock);
    for (pp = &ctx->streams; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    zk__stream_free(s);
    pthread_rwlock_unlock(&ctx->slock);
    return st;
}

ZK_EXPORT zk_status zk_stream_flush(zk_stream in)
{
    zk_stream s = NULL;
    zk_status st = zk__stream_resolve(in, NULL, &s);
    if (st != ZK_SUCCESS) {
        return st;
    }
    pthread_mutex_lock(&s->lock);
    st = s->error;
    if (st == ZK_SUCCESS) {
        st = zk__stream_flush_locked(s, 0, 0, 0, NULL);
    } else {
        zk__fail(st, "zk_stream_flush: stream has a sticky error (%s)", zk_error_name(st));
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

ZK_EXPORT zk_status zk_stream_synchronize(zk_stream in)
{
    zk_stream s = NULL;
    zk_status st = zk__stream_resolve(in, NULL, &s);
    if (st != ZK_SUCCESS) {
        return st;
    }
    pthread_mutex_lock(&s->lock);
    st = zk__stream_flush_locked(s, 0, 0, 0, NULL);
    if (st == ZK_SUCCESS || s->error != ZK_SUCCESS) {
        st = zk__stream_reap_locked(s, 0, 1);
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

ZK_EXPORT zk_status zk_stream_synchronize_others(zk_stream in)
{
    zk_stream keep = NULL, s;
    zk_status first = ZK_SUCCESS, st = zk__stream_resolve(in, NULL, &keep);
    if (st != ZK_SUCCESS) {
        return st;
    }
    /* The read lock keeps every stream alive (zk_stream_destroy writes). */
    pthread_rwlock_rdlock(&keep->ctx->slock);
    for (s = keep->ctx->streams; s; s = s->next) {
        if (s == keep || (s->flags & ZK_STREAM_NON_BLOCKING)) {
            continue;
        }
        pthread_mutex_lock(&s->lock);
        st = zk__stream_flush_locked(s, 0, 0, 0, NULL);
        if (st == ZK_SUCCESS || s->error != ZK_SUCCESS) {
            st = zk__stream_reap_locked(s, 0, 1);
        }
        pthread_mutex_unlock(&s->lock);
        if (first == ZK_SUCCESS) {
            first = st;
        }
    }
    pthread_rwlock_unlock(&keep->ctx->slock);
    return first;
}

ZK_EXPORT zk_status zk_stream_get_flags(zk_stream in, unsigned int *flags)
{
    zk_stream s = NULL;
    zk_status st = zk__stream_resolve(in, NULL, &s);
    if (st == ZK_SUCCESS && !flags) {
        st = zk__fail(ZK_ERROR_INVALID_VALUE, "zk_stream_get_flags: flags is NULL");
    }
    if (st == ZK_SUCCESS) {
        *flags = s->flags;
    }
    return st;
}

ZK_EXPORT zk_status zk_stream_query(zk_stream in)
{
    zk_stream s = NULL;
    zk_status st = zk__stream_resolve(in, NULL, &s);
    if (st != ZK_SUCCESS) {
        return st;
    }
    pthread_mutex_lock(&s->lock);
    st = zk__stream_flush_locked(s, 0, 0, 0, NULL);
    if (st == ZK_SUCCESS) {
        st = zk__stream_reap_locked(s, 0, 0);
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

ZK_EXPORT zk_status zk_stream_clear_error(zk_stream in)
{
    zk_stream s = NULL;
    zk_status st = zk__stream_resolve(in, NULL, &s);
    if (st != ZK_SUCCESS) {
        return st;
    }
    pthread_mutex_lock(&s->lock);
    /* Learn about finished jobs first so their errors are not reported later. */
    zk__stream_reap_locked(s, 0, 0);
    st = s->error;
    s->error = ZK_SUCCESS;
    pthread_mutex_unlock(&s->lock);
    return st;
}

ZK_EXPORT zk_status zk_stream_get_queue(zk_stream in, unsigned int *queue)
{
    zk_stream s = NULL;
    zk_status st;
    if (!queue) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_stream_get_queue: queue is NULL");
    }
    st = zk__stream_resolve(in, NULL, &s);
    if (st == ZK_SUCCESS) {
        *queue = s->queue;
    }
    return st;
}
