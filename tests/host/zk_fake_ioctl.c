/* SPDX-License-Identifier: MIT */
/*
 * zk_fake_ioctl.c - a software stand-in for the zhikai driver + card,
 * implementing runtime/zk_ioctl.h for host unit tests.  Jobs run at submit
 * time (or, with fake.defer, when waited for / fake_run()): DMA, FILL,
 * FENCE, TIMESTAMP and WAIT commands are executed on malloc'd BOs; LAUNCH
 * commands are recorded.  Faults can be injected.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zhikai_hw.h"
#include "zk_fake_ioctl.h"

struct fake_state fake;

typedef struct fbo {
    int used;
    uint32_t handle;
    uint32_t flags;
    uint64_t size, va;
    uint8_t *mem;
} fbo;

#define MAX_BO 4096
#define MAX_JOBS_REC 8192
static fbo bos[MAX_BO];
static uint64_t next_va = 0x100000000ull;
static pthread_mutex_t flock = PTHREAD_MUTEX_INITIALIZER;

typedef struct fjob {
    uint64_t seqno;
    int done;
    uint32_t status;
    uint32_t queue, handle, off, size, in_syncobj, out_syncobj;
} fjob;
static fjob jobs[MAX_JOBS_REC];
static uint64_t next_seqno = 1;
static uint32_t next_syncobj = 1;
static __thread const char *last = "";

const char *zkio_last_call(void)
{
    return last;
}

int64_t zkio_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

void fake_reset(void)
{
    int i;
    pthread_mutex_lock(&flock);
    for (i = 0; i < MAX_BO; i++) {
        free(bos[i].mem);
    }
    memset(bos, 0, sizeof(bos));
    memset(jobs, 0, sizeof(jobs));
    memset(&fake, 0, sizeof(fake));
    next_seqno = 1;
    fake.ndev = 1;
    fake.num_queues = 4;
    fake.hbm_size = 1ull << 30;
    fake.caps = ZK_CAP_MMU | ZK_CAP_CARD_TIME | ZK_CAP_SIMT;
    pthread_mutex_unlock(&flock);
}

static fbo *find_handle(uint32_t h)
{
    if (h == 0 || h > MAX_BO || !bos[h - 1].used) {
        return NULL;
    }
    return &bos[h - 1];
}

static uint8_t *xlate(uint64_t va, uint64_t len)
{
    int i;
    for (i = 0; i < MAX_BO; i++) {
        fbo *b = &bos[i];
        if (b->used && va >= b->va && va - b->va < b->size && len <= b->size - (va - b->va)) {
            return b->mem + (va - b->va);
        }
    }
    return NULL;
}

int zkio_enumerate(zkio_node *nodes, int max)
{
    int i;
    for (i = 0; i < fake.ndev && i < max; i++) {
        memset(&nodes[i], 0, sizeof(nodes[i]));
        snprintf(nodes[i].path, sizeof(nodes[i].path), "/dev/fake/accel%d", i);
        snprintf(nodes[i].bus_id, sizeof(nodes[i].bus_id), "0000:00:%02x.0", 3 + i);
        snprintf(nodes[i].driver_name, sizeof(nodes[i].driver_name), "zhikai");
        nodes[i].vendor_id = ZK_PCI_VENDOR_ID;
        nodes[i].device_id = ZK_PCI_DEVICE_ID;
        nodes[i].drv_major = 1;
    }
    return i;
}

int zkio_open(const char *path)
{
    (void)path;
    if (fake.open_errno) {
        last = "open";
        return -fake.open_errno;
    }
    fake.opens++;
    return 100 + fake.opens;
}

void zkio_close(int fd)
{
    (void)fd;
    fake.closes++;
}

int zkio_get_param(int fd, uint32_t param, uint64_t *value)
{
    (void)fd;
    switch (param) {
    case ZKIO_PARAM_DEVICE_ID: *value = ZK_PCI_DEVICE_ID; break;
    case ZKIO_PARAM_REVISION: *value = 1; break;
    case ZKIO_PARAM_HW_VERSION: *value = ZK_HW_VERSION; break;
    case ZKIO_PARAM_HBM_SIZE: *value = fake.hbm_size; break;
    case ZKIO_PARAM_HBM_STACKS: *value = 4; break;
    case ZKIO_PARAM_NUM_QUEUES: *value = fake.num_queues; break;
    case ZKIO_PARAM_FW_VERSION: *value = 0x010203; break;
    case ZKIO_PARAM_API_VERSION: *value = ZK_API_VERSION; break;
    case ZKIO_PARAM_CAPS: *value = fake.caps; break;
    case ZKIO_PARAM_CLOCK_MAX_MHZ: *value = 1500; break;
    case ZKIO_PARAM_HBM_USED: *value = fake.hbm_used; break;
    case ZKIO_PARAM_CTX_MEM_USED: *value = fake.hbm_used; break;
    case ZKIO_PARAM_CTX_MEM_LIMIT: *value = 0; break;
    case ZKIO_PARAM_VA_START: *value = 0x100000000ull; break;
    case ZKIO_PARAM_VA_SIZE: *value = 1ull << 39; break;
    default:
        last = "DRM_IOCTL_ZHIKAI_GET_PARAM";
        return -EINVAL;
    }
    return 0;
}

int zkio_bo_create(int fd, uint64_t size, uint32_t flags, uint32_t *handle, uint64_t *va)
{
    int i;
    uint64_t rs = (size + 4095) & ~4095ull;
    (void)fd;
    pthread_mutex_lock(&flock);
    if (!(flags & ZKIO_BO_HOST) && fake.hbm_used + rs > fake.hbm_size) {
        pthread_mutex_unlock(&flock);
        last = "DRM_IOCTL_ZHIKAI_BO_CREATE";
        return -ENOMEM;
    }
    for (i = 0; i < MAX_BO && bos[i].used; i++) {
    }
    if (i == MAX_BO || size == 0) {
        pthread_mutex_unlock(&flock);
        last = "DRM_IOCTL_ZHIKAI_BO_CREATE";
        return size ? -ENOSPC : -EINVAL;
    }
    bos[i].mem = aligned_alloc(4096, rs);
    if (!bos[i].mem) {
        pthread_mutex_unlock(&flock);
        return -ENOMEM;
    }
    memset(bos[i].mem, 0xcd, rs);
    bos[i].used = 1;
    bos[i].handle = (uint32_t)i + 1;
    bos[i].flags = flags;
    bos[i].size = rs;
    bos[i].va = next_va;
    next_va += rs + 4096;           /* guard page */
    if (!(flags & ZKIO_BO_HOST)) {
        fake.hbm_used += rs;
    }
    fake.live_bos++;
    *handle = bos[i].handle;
    *va = bos[i].va;
    pthread_mutex_unlock(&flock);
    return 0;
}

int zkio_bo_info(int fd, uint32_t handle, uint64_t *off, uint64_t *size)
{
    fbo *b;
    (void)fd;
    pthread_mutex_lock(&flock);
    b = find_handle(handle);
    if (b) {
        *off = (uint64_t)handle << 32;
        if (size) {
            *size = b->size;
        }
    }
    pthread_mutex_unlock(&flock);
    if (!b) {
        last = "DRM_IOCTL_ZHIKAI_BO_INFO";
        return -ENOENT;
    }
    return 0;
}

int zkio_bo_close(int fd, uint32_t handle)
{
    fbo *b;
    (void)fd;
    pthread_mutex_lock(&flock);
    b = find_handle(handle);
    if (b) {
        if (!(b->flags & ZKIO_BO_HOST)) {
            fake.hbm_used -= b->size;
        }
        free(b->mem);
        memset(b, 0, sizeof(*b));
        fake.live_bos--;
    }
    pthread_mutex_unlock(&flock);
    if (!b) {
        last = "DRM_IOCTL_GEM_CLOSE";
        return -ENOENT;
    }
    return 0;
}

int zkio_bo_mmap(int fd, uint64_t off, size_t size, void **out)
{
    fbo *b;
    (void)fd;
    pthread_mutex_lock(&flock);
    b = find_handle((uint32_t)(off >> 32));
    if (b && size <= b->size) {
        *out = b->mem;
    }
    pthread_mutex_unlock(&flock);
    if (!b || size > b->size) {
        last = "mmap";
        return -EINVAL;
    }
    fake.maps++;
    return 0;
}

int zkio_munmap(void *addr, size_t size)
{
    (void)addr;
    (void)size;
    fake.maps--;
    return 0;
}

/* Run one job (flock held). */
static void run_job(fjob *j)
{
    fbo *cb = find_handle(j->handle);
    uint32_t o;
    j->status = ZKIO_JOB_OK;
    if (fake.fail_next_status) {
        j->status = fake.fail_next_status;
        fake.fail_next_status = 0;
        j->done = 1;
        return;
    }
    for (o = j->off; cb && o < j->off + j->size; o += ZK_CMD_SIZE) {
        const uint8_t *c = cb->mem + o;
        const struct zk_cmd_hdr *h = (const void *)c;
        fake.cmds[h->opcode < 16 ? h->opcode : 15]++;
        switch (h->opcode) {
        case ZK_CMD_NOP:
            break;
        case ZK_CMD_DMA: {
            const struct zk_cmd_dma *d = (const void *)c;
            uint8_t *dst = xlate(d->dst, d->size);
            if (h->flags & ZK_DMA_F_FILL) {
                uint32_t pat = (uint32_t)d->src;     /* src is the pattern */
                uint64_t k;
                if (!dst) {
                    j->status = ZKIO_JOB_FAULTED;
                    break;
                }
                for (k = 0; k < d->size; k++) {
                    dst[k] = (uint8_t)(pat >> (8 * (k % 4)));
                }
            } else {
                const uint8_t *src = xlate(d->src, d->size);
                if (!dst || !src) {
                    j->status = ZKIO_JOB_FAULTED;
                    break;
                }
                memmove(dst, src, d->size);
            }
            fake.dma_bytes += d->size;
            break;
        }
        case ZK_CMD_LAUNCH: {
            const struct zk_cmd_launch *l = (const void *)c;
            uint8_t *code = xlate(l->code_va, l->code_size);
            uint8_t *args = l->args_size ? xlate(l->args_va, l->args_size) : NULL;
            if (!code || (l->args_size && !args) || l->entry >= l->code_size) {
                j->status = ZKIO_JOB_FAULTED;
                break;
            }
            fake.launches++;
            fake.last_launch = *l;
            if (args) {
                memcpy(fake.last_args, args, l->args_size < sizeof(fake.last_args) ?
                       l->args_size : sizeof(fake.last_args));
            }
            break;
        }
        case ZK_CMD_FENCE: {
            const struct zk_cmd_fence *f = (const void *)c;
            uint8_t *p = xlate(f->addr, 8);
            if (!p) {
                j->status = ZKIO_JOB_FAULTED;
                break;
            }
            memcpy(p, &f->value, 8);
            break;
        }
        case ZK_CMD_WAIT: {
            const struct zk_cmd_wait *w = (const void *)c;
            uint8_t *p = xlate(w->addr, 8);
            uint64_t v;
            if (!p) {
                j->status = ZKIO_JOB_FAULTED;
                break;
            }
            memcpy(&v, p, 8);
            if (v < w->value) {
                j->status = ZKIO_JOB_TIMEDOUT;   /* would stall forever */
            }
            break;
        }
        case ZK_CMD_TIMESTAMP: {
            const struct zk_cmd_timestamp *t = (const void *)c;
            uint8_t *p = xlate(t->addr, 8);
            uint64_t now = (uint64_t)zkio_now_ns();
            if (!p) {
                j->status = ZKIO_JOB_FAULTED;
                break;
            }
            if (h->flags & ZK_TS_F_CARD_TIME) {
                now /= 2;
            }
            memcpy(p, &now, 8);
            break;
        }
        default:
            j->status = ZKIO_JOB_ERROR;
            break;
        }
        if (j->status != ZKIO_JOB_OK) {
            break;              /* skip the rest of the job */
        }
    }
    j->done = 1;
}

void fake_run(void)
{
    uint64_t s;
    pthread_mutex_lock(&flock);
    for (s = 1; s < next_seqno; s++) {
        fjob *j = &jobs[s % MAX_JOBS_REC];
        if (j->seqno == s && !j->done) {
            run_job(j);
        }
    }
    pthread_mutex_unlock(&flock);
}

int zkio_submit(int fd, zkio_job *js, unsigned int count)
{
    unsigned int i, k;
    (void)fd;
    last = "DRM_IOCTL_ZHIKAI_SUBMIT";
    pthread_mutex_lock(&flock);
    fake.submits++;
    if (fake.submit_errno) {
        pthread_mutex_unlock(&flock);
        return -fake.submit_errno;
    }
    if (count == 0 || count > ZKIO_MAX_JOBS) {
        pthread_mutex_unlock(&flock);
        return -EINVAL;
    }
    for (i = 0; i < count; i++) {
        fbo *cb = find_handle(js[i].cmd_handle);
        if (js[i].queue >= fake.num_queues || !cb || js[i].cmd_size == 0 ||
            js[i].cmd_size % 64 || js[i].cmd_offset % 64 ||
            js[i].cmd_offset + (uint64_t)js[i].cmd_size > cb->size ||
            js[i].cmd_size > ZKIO_MAX_CMD_BYTES || js[i].bo_count > ZKIO_MAX_JOB_BOS) {
            fake.bad_submits++;
            pthread_mutex_unlock(&flock);
            return -EINVAL;
        }
        for (k = 0; k < js[i].bo_count; k++) {
            if (!find_handle(js[i].bo_handles[k])) {
                fake.bad_submits++;
                pthread_mutex_unlock(&flock);
                return -ENOENT;
            }
        }
        if ((js[i].in_syncobj && js[i].in_syncobj >= next_syncobj) ||
            (js[i].out_syncobj && js[i].out_syncobj >= next_syncobj)) {
            fake.bad_submits++;
            pthread_mutex_unlock(&flock);
            return -ENOENT;
        }
    }
    for (i = 0; i < count; i++) {
        fjob *j = &jobs[next_seqno % MAX_JOBS_REC];
        memset(j, 0, sizeof(*j));
        j->seqno = next_seqno++;
        j->queue = js[i].queue;
        j->handle = js[i].cmd_handle;
        j->off = js[i].cmd_offset;
        j->size = js[i].cmd_size;
        j->in_syncobj = js[i].in_syncobj;
        j->out_syncobj = js[i].out_syncobj;
        if (js[i].in_syncobj) {
            fake.jobs_with_in_syncobj++;
            fake.last_in_syncobj = js[i].in_syncobj;
        }
        if (js[i].out_syncobj) {
            fake.last_out_syncobj = js[i].out_syncobj;
        }
        fake.jobs++;
        if (count > fake.max_batch) {
            fake.max_batch = count;
        }
        js[i].seqno = j->seqno;
        if (!fake.defer) {
            run_job(j);
        }
    }
    pthread_mutex_unlock(&flock);
    return 0;
}

int zkio_wait(int fd, uint64_t seqno, int64_t deadline, uint32_t *status)
{
    fjob *j;
    (void)fd;
    last = "DRM_IOCTL_ZHIKAI_WAIT";
    pthread_mutex_lock(&flock);
    fake.waits++;
    j = &jobs[seqno % MAX_JOBS_REC];
    if (seqno == 0 || seqno >= next_seqno || j->seqno != seqno) {
        pthread_mutex_unlock(&flock);
        return -EINVAL;
    }
    if (!j->done) {
        if (deadline <= zkio_now_ns()) {
            pthread_mutex_unlock(&flock);
            return -ETIME;
        }
        /* "Time passes": run everything up to it in order. */
        {
            uint64_t s;
            for (s = 1; s <= seqno; s++) {
                fjob *k = &jobs[s % MAX_JOBS_REC];
                if (k->seqno == s && !k->done) {
                    run_job(k);
                }
            }
        }
    }
    *status = j->status;
    pthread_mutex_unlock(&flock);
    return 0;
}

int zkio_syncobj_create(int fd, uint32_t *handle)
{
    (void)fd;
    if (fake.no_syncobj) {
        last = "DRM_IOCTL_SYNCOBJ_CREATE";
        return -EOPNOTSUPP;
    }
    pthread_mutex_lock(&flock);
    *handle = next_syncobj++;
    fake.live_syncobjs++;
    pthread_mutex_unlock(&flock);
    return 0;
}

int zkio_syncobj_destroy(int fd, uint32_t handle)
{
    (void)fd;
    (void)handle;
    pthread_mutex_lock(&flock);
    fake.live_syncobjs--;
    pthread_mutex_unlock(&flock);
    return 0;
}
