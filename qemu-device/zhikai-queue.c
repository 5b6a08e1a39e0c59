/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Zhikai device: hardware queues.
 *
 * Each queue is a ring of 64-byte commands in host memory (Q_BASE, Q_SIZE)
 * executed in order by its own worker thread (edu.c style: a QemuThread
 * sleeping on a condition variable).  A doorbell write sets the tail and
 * wakes the worker, which bus-master reads each command with pci_dma_read,
 * executes it and advances the head.  Device memory is reached through the
 * device MMU (engine/zk_mmu.c); system-memory pages through pci_dma_rw so
 * that they honour the IOMMU and bus-master enable.
 *
 * Hostile guests (issue 14):
 *  - Every bus-master access of a worker carries MemTxAttrs.memory, so it
 *    reaches guest RAM only: a ring, page-table entry or fence address that
 *    points at MMIO (another device's BAR, the card's own BAR0 and its RESET
 *    register) fails with a DMA fault instead of dispatching MMIO from the
 *    worker (which would need the BQL that a reset or unplug holds while
 *    waiting for the worker).
 *  - Resets bump the queue's generation and set its abort flag; long
 *    commands (WAIT, DMA in 1 MiB pieces, LAUNCH in ~1 ms engine chunks)
 *    poll it.  Every side effect a command has outside HBM - guest-RAM
 *    writes, fault registers, fences, head, interrupts - happens under the
 *    queue lock after checking that the command's generation is still the
 *    queue's, so once a reset has taken the lock and bumped the generation
 *    nothing of the dropped work can become visible, whether or not the
 *    worker has noticed the abort yet.
 *  - A reset therefore only waits briefly (ZK_RESET_QUIESCE_MS for all
 *    queues together) for the workers to stop touching HBM; the longest
 *    wait is traced (zhikai_reset_quiesce).
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/rcu.h"
#include "qemu/units.h"
#include "qemu/main-loop.h"
#include "hw/pci/pci.h"
#include "system/dma.h"

#include "zhikai.h"
#include "zhikai_isa.h"
#include "zk_engine.h"
#include "trace.h"

/* Results of executing one command besides ZK_FAULT_* (> 0) and 0. */
#define ZK_EXEC_ABORTED   (-1)  /* dropped by a reset or device exit */
#define ZK_EXEC_RETRY     (-2)  /* queue disabled: re-run this cmd later */

/* DMA commands are executed in pieces of this size, polling abort. */
#define ZK_DMA_CHUNK      (1 * MiB)

/* Longest a reset (of all queues together) waits for aborted commands. */
#define ZK_RESET_QUIESCE_MS 30

/* Worker bus-master accesses: guest RAM only, never MMIO. */
#define ZK_DMA_ATTRS ((MemTxAttrs){ .memory = 1 })

static bool queue_aborted(ZhikaiQueue *q)
{
    return qatomic_read(&q->abort) != 0;
}

/*
 * A write to guest RAM on behalf of the command of generation gen: done
 * under the queue lock, and only if no reset has dropped that command.
 * Returns MEMTX_OK, an error, or MEMTX_OK without writing when dropped
 * (*dropped set).
 */
static MemTxResult queue_guest_write(ZhikaiQueue *q, uint32_t gen,
                                     uint64_t bus, const void *buf,
                                     uint64_t len, bool *dropped)
{
    MemTxResult r;

    /*
     * The DMA runs outside q->lock (it can be long, and must not hold the
     * lock the register handlers take); a reset that bumps the generation
     * meanwhile waits for dma_writers to drain before it completes, so no
     * write of an aborted job lands after the reset.
     */
    qemu_mutex_lock(&q->lock);
    *dropped = q->generation != gen;
    if (*dropped) {
        qemu_mutex_unlock(&q->lock);
        return MEMTX_OK;
    }
    q->dma_writers++;
    qemu_mutex_unlock(&q->lock);

    r = pci_dma_rw(PCI_DEVICE(q->s), bus, (void *)buf, len,
                   DMA_DIRECTION_FROM_DEVICE, ZK_DMA_ATTRS);

    qemu_mutex_lock(&q->lock);
    if (!--q->dma_writers) {
        qemu_cond_broadcast(&q->idle_cond);
    }
    qemu_mutex_unlock(&q->lock);
    return r;
}

static MemTxResult queue_guest_read(ZhikaiQueue *q, uint64_t bus, void *buf,
                                    uint64_t len)
{
    return pci_dma_rw(PCI_DEVICE(q->s), bus, buf, len,
                      DMA_DIRECTION_TO_DEVICE, ZK_DMA_ATTRS);
}

/* Bus-master access for SYSMEM pages (ZkSysRw). */
static int zhikai_sys_rw(void *opaque, uint64_t bus, void *buf, uint64_t len,
                         bool write)
{
    ZhikaiQueue *q = opaque;
    MemTxResult r;
    bool dropped = false;

    if (write) {
        r = queue_guest_write(q, qatomic_read(&q->running_gen), bus, buf, len,
                              &dropped);
    } else {
        r = queue_guest_read(q, bus, buf, len);
    }
    trace_zhikai_sys_rw(q->idx, bus, len, write, r == MEMTX_OK);
    /* A dropped command fails its access: it is being aborted anyway. */
    return r == MEMTX_OK && !dropped ? 0 : -1;
}

/* Sleep up to us microseconds, in slices, unless aborted. */
static bool queue_sleep(ZhikaiQueue *q, int64_t us)
{
    while (us > 0) {
        int64_t n = MIN(us, 1000);
        if (queue_aborted(q)) {
            return false;
        }
        g_usleep(n);
        us -= n;
    }
    return !queue_aborted(q);
}

/*
 * A throttled engine is slower: stretch a command that took busy_ns at the
 * maximum clock by max/clock.  The stretch counts as busy time.
 */
static void queue_throttle_stretch(ZhikaiQueue *q, int64_t busy_ns)
{
    ZhikaiState *s = q->s;
    uint32_t clk = qatomic_read(&s->clock_mhz);

    if (!s->throttle_slowdown || clk >= s->clock_max_mhz || clk == 0) {
        return;
    }
    queue_sleep(q, busy_ns * (int64_t)(s->clock_max_mhz - clk) / clk / 1000);
}

static bool job_faulted_kind(uint32_t fault)
{
    return fault == ZK_FAULT_MMU_READ || fault == ZK_FAULT_MMU_WRITE ||
           fault == ZK_FAULT_MMU_EXEC || fault == ZK_FAULT_DMA;
}

/* Record a fault in the queue registers (lock held); caller raises IRQ. */
static void queue_record_fault(ZhikaiQueue *q, uint32_t type, uint64_t va)
{
    q->fault_type = type;
    q->fault_addr = va;
    q->fault_ctx = q->ms.has_ctx ? q->ms.ctx_id : 0;
    q->fault_count++;
    trace_zhikai_fault(q->idx, type, va, q->fault_ctx);
}

/* A fault of the command of generation gen, unless a reset dropped it. */
static void queue_fault_now(ZhikaiQueue *q, uint32_t gen, uint32_t type,
                            uint64_t va)
{
    qemu_mutex_lock(&q->lock);
    if (q->generation == gen) {
        queue_record_fault(q, type, va);
        zhikai_raise_irq(q->s, ZK_IRQ_FAULT);
    }
    qemu_mutex_unlock(&q->lock);
}

/* An interrupt of the command of generation gen, unless dropped. */
static void queue_irq(ZhikaiQueue *q, uint32_t gen, uint32_t bits)
{
    qemu_mutex_lock(&q->lock);
    if (q->generation == gen) {
        zhikai_raise_irq(q->s, bits);
    }
    qemu_mutex_unlock(&q->lock);
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

/*
 * Bytes from va on that are mapped contiguously (same kind, consecutive
 * addresses) for the access, up to max; x is the translation of va.
 */
static uint64_t dma_run(ZkMemSpace *ms, uint64_t va, const ZkXlate *x,
                        bool write, uint64_t max)
{
    uint64_t run = MIN(x->span, max);

    while (run < max) {
        ZkXlate n;
        if (zk_mmu_translate(ms, va + run, write, &n, NULL) != ZK_FAULT_NONE ||
            n.sysmem != x->sysmem || n.addr != x->addr + run) {
            break;
        }
        run += MIN(n.span, max - run);
    }
    return run;
}

/*
 * VA-to-VA copy for DMA commands.  HBM <-> system memory moves whole
 * contiguous runs with one bus-master access straight from/to the HBM
 * backing (no bounce buffer, no per-page dispatch): at 4 KiB pages through
 * a bounce buffer the copy ran at ~2-3 GB/s, a fraction of memcpy.
 * System-to-system copies keep the engine's bounce path (zk_mem_copy).
 */
static int dma_copy(ZhikaiQueue *q, uint64_t dst, uint64_t src, uint64_t len,
                    ZkFault *f)
{
    ZkMemSpace *ms = &q->ms;

    while (len) {
        ZkXlate xs, xd;
        uint64_t n;
        int r = zk_mmu_translate(ms, src, false, &xs, f);
        if (r) {
            return r;
        }
        r = zk_mmu_translate(ms, dst, true, &xd, f);
        if (r) {
            return r;
        }
        if (xs.sysmem && xd.sysmem) {
            n = MIN(len, MIN(xs.span, xd.span));
            r = zk_mem_copy(ms, dst, src, n, f);
            if (r) {
                return r;
            }
        } else {
            n = dma_run(ms, src, &xs, false, len);
            n = dma_run(ms, dst, &xd, true, n);
            if (!xs.sysmem && !xd.sysmem) {
                memmove(ms->hbm + xd.addr, ms->hbm + xs.addr, n);
            } else {
                bool to_sys = xd.sysmem, dropped = false;
                uint64_t bus = to_sys ? xd.addr : xs.addr;
                uint8_t *p = ms->hbm + (to_sys ? xs.addr : xd.addr);
                MemTxResult mr = to_sys ?
                    queue_guest_write(q, qatomic_read(&q->running_gen), bus,
                                      p, n, &dropped) :
                    queue_guest_read(q, bus, p, n);
                trace_zhikai_sys_rw(q->idx, bus, n, to_sys, mr == MEMTX_OK);
                if (dropped) {
                    return ZK_EXEC_ABORTED;
                }
                if (mr != MEMTX_OK) {
                    f->type = ZK_FAULT_DMA;
                    f->va = to_sys ? dst : src;
                    return ZK_FAULT_DMA;
                }
                ms->sys_bytes += n;
            }
            if (!xs.sysmem) {
                ms->hbm_bytes_read += n;
            }
            if (!xd.sysmem) {
                ms->hbm_bytes_written += n;
            }
        }
        src += n;
        dst += n;
        len -= n;
    }
    return 0;
}

static int dma_one(ZhikaiQueue *q, uint64_t dst, uint64_t src, uint64_t size,
                   bool fill, ZkFault *f)
{
    uint64_t done = 0;

    while (done < size) {
        uint64_t n = MIN(size - done, ZK_DMA_CHUNK);
        int r;

        if (queue_aborted(q)) {
            return ZK_EXEC_ABORTED;
        }
        if (fill) {
            r = zk_mem_fill(&q->ms, dst + done, (uint32_t)src, n, f);
        } else {
            r = dma_copy(q, dst + done, src + done, n, f);
        }
        if (r) {
            return r;
        }
        done += n;
    }
    return 0;
}

static int exec_dma_work(ZhikaiQueue *q, const struct zk_cmd_dma *c,
                         ZkFault *f)
{
    uint64_t src = le64_to_cpu(c->src), dst = le64_to_cpu(c->dst);
    uint64_t size = le64_to_cpu(c->size);
    bool fill = c->hdr.flags & ZK_DMA_F_FILL;

    trace_zhikai_dma(q->idx, dst, src, size, c->hdr.flags);
    if (qatomic_xchg(&q->s->inject_dma_fail, false)) {
        f->type = ZK_FAULT_DMA;
        f->va = (c->hdr.flags & (ZK_DMA_F_FILL | ZK_DMA_F_SGLIST)) ==
                ZK_DMA_F_FILL ? dst : src;
        return ZK_FAULT_DMA;
    }
    if (!q->ms.has_ctx) {
        f->type = ZK_FAULT_NO_CONTEXT;
        f->va = dst;
        return ZK_FAULT_NO_CONTEXT;
    }
    if (!(c->hdr.flags & ZK_DMA_F_SGLIST)) {
        return dma_one(q, dst, src, size, fill, f);
    }
    if (size > ZK_DMA_MAX_SG) {
        f->type = ZK_FAULT_ILLEGAL_CMD;
        f->va = src;
        return ZK_FAULT_ILLEGAL_CMD;
    }
    for (uint64_t i = 0; i < size; i++) {
        struct zk_dma_sg sg;
        int r = zk_mem_read(&q->ms, src + i * sizeof(sg), &sg, sizeof(sg), f);
        if (r) {
            return r;
        }
        r = dma_one(q, le64_to_cpu(sg.dst), le64_to_cpu(sg.src),
                    le64_to_cpu(sg.size), fill, f);
        if (r) {
            return r;
        }
    }
    return 0;
}

/*
 * DMA plus its modelled cost: whatever the copy moved (all of it, or the
 * part before a fault) costs card time; a reset-aborted copy does not.
 */
static int exec_dma(ZhikaiQueue *q, const struct zk_cmd_dma *c, ZkFault *f)
{
    ZhikaiPerfMark m;
    int r;

    zhikai_perf_mark(q, &m);
    r = exec_dma_work(q, c, f);
    if (r != ZK_EXEC_ABORTED) {
        zhikai_perf_dma(q, &m);
    }
    return r;
}

static int exec_launch(ZhikaiQueue *q, const struct zk_cmd_launch *c,
                       ZkFault *f)
{
    ZkEngineStats stats = { 0 };
    ZhikaiPerfMark m;
    ZkLaunch l = {
        .code_va = le64_to_cpu(c->code_va),
        .code_size = le32_to_cpu(c->code_size),
        .entry = le32_to_cpu(c->entry),
        .grid = { le32_to_cpu(c->grid[0]), le32_to_cpu(c->grid[1]),
                  le32_to_cpu(c->grid[2]) },
        .args_va = le64_to_cpu(c->args_va),
        .args_size = le32_to_cpu(c->args_size),
        .insn_budget = q->s->insn_budget,
        .num_cus = q->s->compute_units,
        .simt = c->hdr.flags & ZK_LAUNCH_F_SIMT,
        .block = { le16_to_cpu(c->block[0]), le16_to_cpu(c->block[1]),
                   le16_to_cpu(c->block[2]) },
        .shared_bytes = le32_to_cpu(c->shared_bytes),
        .local_bytes = le32_to_cpu(c->local_bytes),
    };
    int r;

    /* Tile launches keep ISA v1's rules: the SIMT fields must be zero.
     * SIMT shapes and sizes are checked by the engine (ILLEGAL_CMD). */
    if ((c->hdr.flags & ~ZK_LAUNCH_F_SIMT) || c->reserved ||
        (!l.simt && (l.shared_bytes || l.local_bytes || l.block[0] ||
                     l.block[1] || l.block[2] ||
                     (l.args_size & 7) || l.args_size > ZK_MAX_ARGS * 8))) {
        f->type = ZK_FAULT_ILLEGAL_CMD;
        f->va = l.args_va;
        return ZK_FAULT_ILLEGAL_CMD;
    }
    if (!q->ms.has_ctx) {
        f->type = ZK_FAULT_NO_CONTEXT;
        f->va = l.code_va;
        return ZK_FAULT_NO_CONTEXT;
    }
    f->type = ZK_FAULT_NONE;
    f->va = 0;
    zhikai_perf_mark(q, &m);
    r = zk_engine_launch(&q->ms, &l, &stats, f, &q->abort);
    if (r && queue_aborted(q)) {
        return ZK_EXEC_ABORTED;
    }
    /* The work done (up to a fault, if any) costs card time and energy. */
    zhikai_perf_launch(q, &m, &stats);
    if (r) {
        f->type = r;
    }
    return r;
}

static int exec_wait(ZhikaiQueue *q, const struct zk_cmd_wait *c, ZkFault *f)
{
    uint64_t addr = le64_to_cpu(c->addr), want = le64_to_cpu(c->value);
    int64_t delay_us = 20;
    bool enabled;

    for (;;) {
        uint64_t v;
        int r = zk_mem_read(&q->ms, addr, &v, sizeof(v), f);
        if (r) {
            return r;
        }
        if (le64_to_cpu(v) >= want) {
            return 0;
        }
        if (queue_aborted(q)) {
            return ZK_EXEC_ABORTED;
        }
        qemu_mutex_lock(&q->lock);
        enabled = q->enabled;
        qemu_mutex_unlock(&q->lock);
        if (!enabled) {
            return ZK_EXEC_RETRY;
        }
        g_usleep(delay_us);
        delay_us = MIN(delay_us * 2, 1000);
    }
}

/* HBM discard in pieces, polling abort (HBM offsets: privileged). */
static int exec_hbm_discard(ZhikaiQueue *q, const struct zk_cmd_hbm_discard *c,
                            ZkFault *f)
{
    uint64_t off = le64_to_cpu(c->hbm_off), size = le64_to_cpu(c->size);

    if (!zhikai_hbm_range_ok(q->s, off, size)) {
        f->type = ZK_FAULT_ILLEGAL_CMD;
        f->va = off;
        return ZK_FAULT_ILLEGAL_CMD;
    }
    while (size) {
        uint64_t n = MIN(size, ZK_HBM_DISCARD_MAX);
        if (queue_aborted(q)) {
            return ZK_EXEC_ABORTED;
        }
        zhikai_hbm_discard(q->s, off, n);
        off += n;
        size -= n;
    }
    return 0;
}

/* JOB_END; never skipped.  job_status is the status of the job it ends. */
static int exec_job_end(ZhikaiQueue *q, const struct zk_cmd_job_end *c,
                        uint32_t job_status, uint32_t gen)
{
    uint64_t seqno = le64_to_cpu(c->seqno);
    uint64_t status_bus = le64_to_cpu(c->status_bus);
    uint32_t st = cpu_to_le32(job_status);
    uint64_t seq_le = cpu_to_le64(seqno);
    uint64_t wb;
    bool same_gen, dropped;

    trace_zhikai_job_end(q->idx, seqno, job_status);
    if (status_bus &&
        queue_guest_write(q, gen, status_bus, &st, sizeof(st),
                          &dropped) != MEMTX_OK) {
        queue_fault_now(q, gen, ZK_FAULT_DMA, status_bus);
    }
    qemu_mutex_lock(&q->lock);
    wb = q->fence_wb;
    qemu_mutex_unlock(&q->lock);
    if (wb && queue_guest_write(q, gen, wb, &seq_le, sizeof(seq_le),
                                &dropped) != MEMTX_OK) {
        queue_fault_now(q, gen, ZK_FAULT_DMA, wb);
    }
    qemu_mutex_lock(&q->lock);
    same_gen = q->generation == gen;
    if (same_gen) {
        q->fence = seqno;
        if (c->hdr.flags & ZK_JOB_END_F_IRQ) {
            zhikai_raise_irq(q->s, ZK_IRQ_QUEUE(q->idx));
        }
    }
    qemu_mutex_unlock(&q->lock);
    return 0;
}

/*
 * Execute one command.  Returns 0, a ZK_FAULT_* (f filled in) or
 * ZK_EXEC_*.  skipping: the job already faulted, only JOB_END runs.
 */
static int exec_cmd(ZhikaiQueue *q, const uint8_t *raw, uint32_t off,
                    bool skipping, uint32_t job_status, uint32_t gen,
                    ZkFault *f)
{
    const struct zk_cmd_hdr *h = (const void *)raw;
    ZhikaiState *s = q->s;
    uint64_t v;

    trace_zhikai_cmd(q->idx, off, h->opcode, h->flags, skipping);
    f->type = ZK_FAULT_NONE;
    f->va = 0;
    if (h->opcode == ZK_CMD_JOB_END) {
        if (h->reserved0 || h->reserved1) {
            /* Still ends the job, but the job is in error. */
            qemu_log_mask(LOG_GUEST_ERROR, "zhikai: q%u JOB_END with reserved "
                          "bits set\n", q->idx);
            queue_fault_now(q, gen, ZK_FAULT_ILLEGAL_CMD, off);
            if (job_status == ZK_JOB_OK) {
                job_status = ZK_JOB_ERROR;
            }
        }
        return exec_job_end(q, (const void *)raw, job_status, gen);
    }
    if (skipping) {
        return 0;
    }
    if (h->reserved0 || h->reserved1 || h->opcode >= ZK_CMD_COUNT) {
        f->type = ZK_FAULT_ILLEGAL_CMD;
        f->va = off;
        return ZK_FAULT_ILLEGAL_CMD;
    }

    switch (h->opcode) {
    case ZK_CMD_NOP:
        return 0;
    case ZK_CMD_SET_CONTEXT: {
        const struct zk_cmd_set_context *c = (const void *)raw;
        q->ms.has_ctx = true;
        q->ms.ctx_id = le32_to_cpu(c->ctx_id);
        q->ms.pt_root = le64_to_cpu(c->pt_root);
        return 0;
    }
    case ZK_CMD_DMA:
        return exec_dma(q, (const void *)raw, f);
    case ZK_CMD_LAUNCH:
        return exec_launch(q, (const void *)raw, f);
    case ZK_CMD_FENCE: {
        const struct zk_cmd_fence *c = (const void *)raw;
        v = c->value;   /* already little-endian */
        if (zk_mem_write(&q->ms, le64_to_cpu(c->addr), &v, sizeof(v), f)) {
            return f->type;
        }
        if (h->flags & ZK_FENCE_F_IRQ) {
            queue_irq(q, gen, ZK_IRQ_QUEUE(q->idx));
        }
        return 0;
    }
    case ZK_CMD_WAIT:
        return exec_wait(q, (const void *)raw, f);
    case ZK_CMD_MMU_INVALIDATE: {
        const struct zk_cmd_mmu_invalidate *c = (const void *)raw;
        /* Every queue drops its cache before its next translation. */
        trace_zhikai_mmu_invalidate(q->idx, le32_to_cpu(c->ctx_id),
                                    le64_to_cpu(c->va), le64_to_cpu(c->size));
        qatomic_inc(&s->tlb_epoch);
        zk_mmu_tlb_flush(&q->ms);
        return 0;
    }
    case ZK_CMD_HBM_DISCARD:
        return exec_hbm_discard(q, (const void *)raw, f);
    case ZK_CMD_TIMESTAMP: {
        const struct zk_cmd_timestamp *c = (const void *)raw;
        if (h->flags & ZK_TS_F_CARD_ENERGY) {
            v = zhikai_perf_energy_nj(s);
        } else if (h->flags & ZK_TS_F_CARD_TIME) {
            v = zhikai_perf_card_ns(s);
        } else {
            v = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
        }
        v = cpu_to_le64(v);
        if (zk_mem_write(&q->ms, le64_to_cpu(c->addr), &v, sizeof(v), f)) {
            return f->type;
        }
        return 0;
    }
    default:
        /* Numbers below ZK_CMD_COUNT this model does not implement. */
        f->type = ZK_FAULT_ILLEGAL_CMD;
        f->va = off;
        return ZK_FAULT_ILLEGAL_CMD;
    }
}

/* ------------------------------------------------------------------ */
/* Worker                                                              */
/* ------------------------------------------------------------------ */

static bool queue_has_work(ZhikaiQueue *q)
{
    return q->enabled && !q->hung && q->head != q->tail;
}

static void *zhikai_queue_thread(void *opaque)
{
    ZhikaiQueue *q = opaque;
    ZhikaiState *s = q->s;

    rcu_register_thread();
    for (;;) {
        /* One ring slot; every command struct is exactly ZK_CMD_SIZE bytes
         * (ZK_ASSERT_CMD_SIZE in include/zhikai_hw.h). */
        uint8_t raw[ZK_CMD_SIZE] = { 0 };
        uint32_t off, gen, job_status, opcode;
        uint64_t bus;
        bool skipping, busy;
        int64_t t0, t1;
        ZkFault f;
        int rc;

        qemu_mutex_lock(&q->lock);
        while (!q->stopping && !queue_has_work(q)) {
            qemu_cond_wait(&q->cond, &q->lock);
        }
        if (q->stopping) {
            qemu_mutex_unlock(&q->lock);
            break;
        }
        off = q->head;
        bus = q->base + off;
        gen = q->generation;
        skipping = q->skipping;
        job_status = q->job_status;
        if (q->ctx_reset) {
            q->ms.has_ctx = false;
            zk_mmu_tlb_flush(&q->ms);
            q->ctx_reset = false;
        }
        qatomic_set(&q->abort, 0);
        q->running = true;
        qatomic_set(&q->running_gen, gen);
        qemu_mutex_unlock(&q->lock);

        if (queue_guest_read(q, bus, raw, ZK_CMD_SIZE) != MEMTX_OK) {
            /* The ring itself is unreachable: stop the queue. */
            qemu_mutex_lock(&q->lock);
            if (q->generation == gen) {
                queue_record_fault(q, ZK_FAULT_DMA, bus);
                q->enabled = false;
                zhikai_raise_irq(s, ZK_IRQ_FAULT);
            }
            q->running = false;
            qemu_cond_broadcast(&q->idle_cond);
            qemu_mutex_unlock(&q->lock);
            continue;
        }

        opcode = raw[0];
        busy = !skipping && (opcode == ZK_CMD_DMA || opcode == ZK_CMD_LAUNCH ||
                             opcode == ZK_CMD_FENCE ||
                             opcode == ZK_CMD_TIMESTAMP);
        t0 = zhikai_host_ns();
        if (busy) {
            qemu_mutex_lock(&q->lock);
            q->busy_since = t0;
            qemu_mutex_unlock(&q->lock);
        }
        rc = exec_cmd(q, raw, off, skipping, job_status, gen, &f);
        t1 = zhikai_host_ns();
        if (busy && rc >= 0 && (opcode == ZK_CMD_DMA ||
                                opcode == ZK_CMD_LAUNCH)) {
            queue_throttle_stretch(q, t1 - t0);
        }
        trace_zhikai_cmd_done(q->idx, off, rc, zhikai_host_ns() - t0);

        qemu_mutex_lock(&q->lock);
        if (q->busy_since) {
            q->busy_ns += zhikai_host_ns() - q->busy_since;
            q->busy_since = 0;
        }
        q->running = false;
        qemu_cond_broadcast(&q->idle_cond);
        if (q->generation != gen || rc == ZK_EXEC_ABORTED ||
            rc == ZK_EXEC_RETRY) {
            /* Dropped by a reset, or to be re-run when re-enabled. */
            qemu_mutex_unlock(&q->lock);
            continue;
        }
        if (rc > 0) {
            queue_record_fault(q, f.type ? f.type : (uint32_t)rc, f.va);
            q->skipping = true;
            q->job_status = job_faulted_kind(rc) ? ZK_JOB_FAULTED
                                                 : ZK_JOB_ERROR;
        } else if (opcode == ZK_CMD_JOB_END) {
            q->skipping = false;
            q->job_status = ZK_JOB_OK;
        }
        q->head = (off + ZK_CMD_SIZE) & (q->size - 1);
        if (rc > 0) {
            zhikai_raise_irq(s, ZK_IRQ_FAULT);
        }
        qemu_mutex_unlock(&q->lock);
    }
    rcu_unregister_thread();
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Registers                                                           */
/* ------------------------------------------------------------------ */

/*
 * Drop the ring and in-flight work (lock held).  From here on nothing the
 * dropped command does is visible outside HBM (generation checks); the
 * caller may wait for the worker to stop (queue_quiesce).
 */
static uint32_t queue_reset_locked(ZhikaiQueue *q, bool device_reset)
{
    uint32_t old_gen = q->generation++;

    qatomic_set(&q->abort, 1);
    q->enabled = false;
    q->head = 0;
    q->tail = 0;
    q->hung = false;
    q->skipping = false;
    q->job_status = ZK_JOB_OK;
    if (q->busy_since) {
        q->busy_ns += zhikai_host_ns() - q->busy_since;
        q->busy_since = 0;
    }
    q->ctx_reset = true;    /* the worker drops its context at next fetch */
    if (device_reset) {
        q->stuck = 0;
        q->base = 0;
        q->size = 0;
        q->fence_wb = 0;
        q->fence = 0;
        q->fault_type = ZK_FAULT_NONE;
        q->fault_addr = 0;
        q->fault_ctx = 0;
        q->fault_count = 0;
    }
    qemu_cond_broadcast(&q->cond);
    return old_gen;
}

/*
 * Let the command of generation old_gen see the abort and stop, until the
 * deadline (realtime ms).  The queue is disabled and empty, so the worker
 * cannot pick up more work while the lock is dropped in the wait.  Returns
 * false if it was still running at the deadline: harmless for everything
 * but HBM, which it stops touching within one engine chunk.
 */
static bool queue_quiesce_locked(ZhikaiQueue *q, uint32_t old_gen,
                                 int64_t deadline)
{
    while ((q->running && q->running_gen == old_gen && q->thread_started) ||
           q->dma_writers) {
        int64_t left = deadline - qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
        if (left <= 0) {
            qemu_log_mask(LOG_UNIMP, "zhikai: q%u command still running "
                          "after reset\n", q->idx);
            return false;
        }
        qemu_cond_timedwait(&q->idle_cond, &q->lock, left);
    }
    return true;
}

void zhikai_queues_reset(ZhikaiState *s, bool device_reset)
{
    int64_t t0 = zhikai_host_ns();
    int64_t deadline = qemu_clock_get_ms(QEMU_CLOCK_REALTIME) +
                       ZK_RESET_QUIESCE_MS;
    uint32_t old_gen[ZK_MAX_QUEUES];
    unsigned stuck = 0;

    /* Abort everything first, so all workers stop in parallel. */
    for (unsigned i = 0; i < s->num_queues; i++) {
        ZhikaiQueue *q = &s->queues[i];
        qemu_mutex_lock(&q->lock);
        old_gen[i] = queue_reset_locked(q, device_reset);
        qemu_mutex_unlock(&q->lock);
    }
    for (unsigned i = 0; i < s->num_queues; i++) {
        ZhikaiQueue *q = &s->queues[i];
        qemu_mutex_lock(&q->lock);
        stuck += !queue_quiesce_locked(q, old_gen[i], deadline);
        qemu_mutex_unlock(&q->lock);
    }
    trace_zhikai_reset_quiesce(s->num_queues, stuck,
                               (zhikai_host_ns() - t0) / 1000);
}

void zhikai_queue_reset(ZhikaiQueue *q, bool device_reset)
{
    int64_t deadline = qemu_clock_get_ms(QEMU_CLOCK_REALTIME) +
                       ZK_RESET_QUIESCE_MS;

    qemu_mutex_lock(&q->lock);
    queue_quiesce_locked(q, queue_reset_locked(q, device_reset), deadline);
    qemu_mutex_unlock(&q->lock);
}

/*
 * Fault injection: @qi hangs, and resets up to @level (ZK_STUCK_*) leave it
 * hung: the driver's queue reset, then its engine reset, fail.
 */
void zhikai_queue_inject_stuck(ZhikaiState *s, unsigned qi, unsigned level)
{
    ZhikaiQueue *q = &s->queues[qi];

    qemu_mutex_lock(&q->lock);
    q->hung = true;
    q->stuck = level;
    qemu_mutex_unlock(&q->lock);
}

/* After a reset of @level: queues stuck at least that deep hang again. */
void zhikai_queues_keep_stuck(ZhikaiState *s, unsigned level)
{
    for (unsigned i = 0; i < s->num_queues; i++) {
        ZhikaiQueue *q = &s->queues[i];

        qemu_mutex_lock(&q->lock);
        if (q->stuck >= level) {
            q->hung = true;
        }
        qemu_mutex_unlock(&q->lock);
    }
}

void zhikai_queue_inject_hang(ZhikaiState *s, unsigned qi)
{
    ZhikaiQueue *q = &s->queues[qi];

    qemu_mutex_lock(&q->lock);
    q->hung = true;
    qemu_mutex_unlock(&q->lock);
}

uint64_t zhikai_queue_busy_ns(ZhikaiQueue *q)
{
    uint64_t v;

    qemu_mutex_lock(&q->lock);
    v = q->busy_ns;
    if (q->busy_since) {
        v += zhikai_host_ns() - q->busy_since;
    }
    qemu_mutex_unlock(&q->lock);
    return v;
}

static uint32_t queue_status(ZhikaiQueue *q)
{
    uint32_t st = 0;

    if (q->enabled) {
        st |= ZK_QSTAT_ENABLED;
    }
    if ((q->running && q->running_gen == q->generation) ||
        (q->enabled && q->head != q->tail)) {
        st |= ZK_QSTAT_BUSY;
    }
    if (q->hung) {
        st |= ZK_QSTAT_HUNG;
    }
    if (q->skipping) {
        st |= ZK_QSTAT_SKIPPING;
    }
    return st;
}

uint64_t zhikai_queue_read(ZhikaiState *s, unsigned qi, hwaddr reg)
{
    ZhikaiQueue *q = &s->queues[qi];
    uint64_t v = 0;

    qemu_mutex_lock(&q->lock);
    switch (reg) {
    case ZK_Q_BASE_LO:
        v = (uint32_t)q->base;
        break;
    case ZK_Q_BASE_HI:
        v = q->base >> 32;
        break;
    case ZK_Q_SIZE:
        v = q->size;
        break;
    case ZK_Q_HEAD:
        v = q->head;
        break;
    case ZK_Q_TAIL:
        v = q->tail;
        break;
    case ZK_Q_DOORBELL:
        v = 0;
        break;
    case ZK_Q_CTRL:
        v = q->enabled ? ZK_QCTRL_ENABLE : 0;
        break;
    case ZK_Q_STATUS:
        v = queue_status(q);
        break;
    case ZK_Q_FENCE_WB_LO:
        v = (uint32_t)q->fence_wb;
        break;
    case ZK_Q_FENCE_WB_HI:
        v = q->fence_wb >> 32;
        break;
    case ZK_Q_FENCE_LO:
        v = (uint32_t)q->fence;
        q->fence_hi_latch = q->fence >> 32;
        break;
    case ZK_Q_FENCE_HI:
        v = q->fence_hi_latch;
        break;
    case ZK_Q_FAULT_TYPE:
        v = q->fault_type;
        break;
    case ZK_Q_FAULT_ADDR_LO:
        v = (uint32_t)q->fault_addr;
        break;
    case ZK_Q_FAULT_ADDR_HI:
        v = q->fault_addr >> 32;
        break;
    case ZK_Q_FAULT_CTX:
        v = q->fault_ctx;
        break;
    case ZK_Q_FAULT_COUNT:
        v = q->fault_count;
        break;
    case ZK_Q_BUSY_NS_LO: {
        uint64_t b = q->busy_ns;
        if (q->busy_since) {
            b += zhikai_host_ns() - q->busy_since;
        }
        v = (uint32_t)b;
        q->busy_hi_latch = b >> 32;
        break;
    }
    case ZK_Q_BUSY_NS_HI:
        v = q->busy_hi_latch;
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR, "zhikai: read of unknown queue %u "
                      "register 0x%" HWADDR_PRIx "\n", qi, reg);
        break;
    }
    qemu_mutex_unlock(&q->lock);
    return v;
}

static const char *queue_enable_refusal(ZhikaiState *s, ZhikaiQueue *q)
{
    if (qatomic_read(&s->state) != ZK_STATE_READY) {
        return "firmware not ready";
    }
    if (q->idx >= s->fw_queues) {
        return "queue not driven by the firmware";
    }
    if (q->size < 4096 || (q->size & (q->size - 1))) {
        return "Q_SIZE not a power of 2 >= 4096";
    }
    if (q->base & (ZK_CMD_SIZE - 1)) {
        return "Q_BASE not 64-byte aligned";
    }
    return NULL;
}

void zhikai_queue_write(ZhikaiState *s, unsigned qi, hwaddr reg, uint32_t val)
{
    ZhikaiQueue *q = &s->queues[qi];
    const char *why;

    qemu_mutex_lock(&q->lock);
    switch (reg) {
    case ZK_Q_BASE_LO:
    case ZK_Q_BASE_HI:
    case ZK_Q_SIZE:
        if (q->enabled || (q->running && q->running_gen == q->generation)) {
            qemu_log_mask(LOG_GUEST_ERROR, "zhikai: q%u ring registers "
                          "written while enabled or busy\n", qi);
            break;
        }
        if (reg == ZK_Q_SIZE) {
            q->size = val;
        } else {
            q->base = deposit64(q->base, reg == ZK_Q_BASE_LO ? 0 : 32, 32,
                                val);
        }
        /* A new ring starts empty. */
        q->head = 0;
        q->tail = 0;
        break;
    case ZK_Q_DOORBELL:
        trace_zhikai_doorbell(qi, val, q->head);
        if (q->size < 4096 || (q->size & (q->size - 1)) || val >= q->size ||
            (val & (ZK_CMD_SIZE - 1))) {
            qemu_log_mask(LOG_GUEST_ERROR, "zhikai: q%u bad doorbell 0x%x "
                          "(size 0x%x)\n", qi, val, q->size);
            break;
        }
        q->tail = val;
        qemu_cond_broadcast(&q->cond);
        break;
    case ZK_Q_CTRL:
        if (val & ZK_QCTRL_RESET) {
            int64_t t0 = zhikai_host_ns();

            trace_zhikai_reset(0, "queue");
            queue_quiesce_locked(q, queue_reset_locked(q, false),
                                 qemu_clock_get_ms(QEMU_CLOCK_REALTIME) +
                                 ZK_RESET_QUIESCE_MS);
            q->hung = q->stuck >= ZK_STUCK_QUEUE_RESET;
            qatomic_set(&s->reset_time_us,
                        (uint32_t)((zhikai_host_ns() - t0) / 1000));
        }
        if ((val & ZK_QCTRL_ENABLE) && !q->enabled) {
            why = queue_enable_refusal(s, q);
            if (why) {
                trace_zhikai_queue_refused(qi, why);
                qemu_log_mask(LOG_GUEST_ERROR, "zhikai: q%u enable refused: "
                              "%s\n", qi, why);
            } else {
                q->enabled = true;
            }
        } else if (!(val & ZK_QCTRL_ENABLE)) {
            q->enabled = false;
        }
        trace_zhikai_queue_ctrl(qi, val, q->enabled);
        qemu_cond_broadcast(&q->cond);
        break;
    case ZK_Q_FENCE_WB_LO:
        q->fence_wb = deposit64(q->fence_wb, 0, 32, val);
        break;
    case ZK_Q_FENCE_WB_HI:
        q->fence_wb = deposit64(q->fence_wb, 32, 32, val);
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR, "zhikai: write 0x%x to read-only or "
                      "unknown queue %u register 0x%" HWADDR_PRIx "\n",
                      val, qi, reg);
        break;
    }
    qemu_mutex_unlock(&q->lock);
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */
/* ------------------------------------------------------------------ */

void zhikai_queues_realize(ZhikaiState *s)
{
    for (unsigned i = 0; i < s->num_queues; i++) {
        ZhikaiQueue *q = &s->queues[i];
        char name[32];

        q->s = s;
        q->idx = i;
        q->ms.hbm = s->hbm_ptr;
        q->ms.inval_epoch = &s->tlb_epoch;
        q->ms.hbm_size = s->hbm_size;
        q->ms.sys_rw = zhikai_sys_rw;
        q->ms.sys_opaque = q;
        qemu_mutex_init(&q->lock);
        qemu_cond_init(&q->cond);
        qemu_cond_init(&q->idle_cond);
        snprintf(name, sizeof(name), "zhikai-q%u", i);
        qemu_thread_create(&q->thread, name, zhikai_queue_thread, q,
                           QEMU_THREAD_JOINABLE);
        q->thread_started = true;
    }
}

/*
 * Unrealize (hot-unplug): stop every worker first so they wind down in
 * parallel, then join.  Workers never need the BQL (RAM-only DMA, IRQs via
 * a bottom half) and see the abort within one engine chunk or DMA piece,
 * so the joins are short; the total is traced (zhikai_queues_exit).
 */
void zhikai_queues_exit(ZhikaiState *s)
{
    int64_t t0 = zhikai_host_ns();

    for (unsigned i = 0; i < s->num_queues; i++) {
        ZhikaiQueue *q = &s->queues[i];

        if (!q->thread_started) {
            continue;
        }
        qemu_mutex_lock(&q->lock);
        q->stopping = true;
        q->generation++;        /* nothing in flight may land any more */
        qatomic_set(&q->abort, 1);
        qemu_cond_broadcast(&q->cond);
        qemu_mutex_unlock(&q->lock);
    }
    for (unsigned i = 0; i < s->num_queues; i++) {
        ZhikaiQueue *q = &s->queues[i];

        if (!q->thread_started) {
            continue;
        }
        qemu_thread_join(&q->thread);
        qemu_cond_destroy(&q->cond);
        qemu_cond_destroy(&q->idle_cond);
        qemu_mutex_destroy(&q->lock);
        q->thread_started = false;
    }
    trace_zhikai_queues_exit(s->num_queues, (zhikai_host_ns() - t0) / 1000);
}
