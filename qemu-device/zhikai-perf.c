/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Zhikai device: card performance and energy model ("card time").
 *
 * The engine runs kernels as fast as the host allows, which says nothing
 * about the real card.  Every DMA and LAUNCH therefore also gets a modelled
 * duration and energy from engine/zk_perf.c (a roofline over the work the
 * command really did: engine flop counters by dtype, HBM and PCIe byte
 * counters of the queue's ZkMemSpace) at the clock an ideal DVFS governor
 * picks under the current power cap.
 *
 * Card time is one clock for the whole card: the card is modelled as one
 * in-order engine shared by all queues, so a command starts when the one
 * before it (on any queue, in host execution order) has finished, i.e. a
 * queue's card clock is max(its own, global) = global.  Card time only
 * advances by modelled durations: it stays put while the card is idle
 * (host-side gaps are not card time).  Card time, energy and counters count
 * since power-on and survive every reset.
 *
 * Locking: perf_lock is a leaf lock (nothing else is taken under it).
 * Parameters (s->perf) are written at realize only.
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qapi/error.h"

#include "zhikai.h"
#include "zhikai_isa.h"
#include "zk_engine.h"
#include "zk_perf.h"
#include "trace.h"

bool zhikai_perf_realize(ZhikaiState *s, Error **errp)
{
    ZkPerfParams *p = &s->perf;
    const char *why;

    if (zk_perf_profile(s->perf_profile_name ? s->perf_profile_name : "zk100",
                        p)) {
        error_setg(errp, "zhikai: unknown profile '%s' (known: %s)",
                   s->perf_profile_name, zk_perf_profile_names());
        return false;
    }
    /* Properties left at 0 (-1 for the overheads) take the profile's value. */
    if (s->perf_hbm_bw_mbs) {
        p->hbm_bw_mbs = s->perf_hbm_bw_mbs;
    }
    if (s->perf_pcie_bw_mbs) {
        p->pcie_bw_mbs = s->perf_pcie_bw_mbs;
    }
    if (s->perf_copy_bw_mbs) {
        p->copy_bw_mbs = s->perf_copy_bw_mbs;
    }
    for (int i = 0; i < ZK_PERF_NDT; i++) {
        if (s->perf_peak_gops[i]) {
            p->peak_gops[i] = s->perf_peak_gops[i];
        }
    }
    if (s->perf_launch_ns >= 0) {
        p->launch_ns = s->perf_launch_ns;
    }
    if (s->perf_dma_setup_ns >= 0) {
        p->dma_setup_ns = s->perf_dma_setup_ns;
    }
    if (s->perf_core_power_pct >= 0) {
        p->core_power_pct = s->perf_core_power_pct;
    }
    /* The board power figures are shared with the host-time power model. */
    if (!s->tdp_mw) {
        s->tdp_mw = p->tdp_mw;
    }
    if (!s->idle_mw) {
        s->idle_mw = p->idle_mw;
    }
    if (!s->power_cap_default_mw) {
        s->power_cap_default_mw = s->tdp_mw;
    }
    p->tdp_mw = s->tdp_mw;
    p->idle_mw = s->idle_mw;
    p->clock_max_mhz = s->clock_max_mhz;
    p->clock_min_mhz = s->clock_min_mhz;
    p->clock_step_mhz = s->clock_step_mhz;
    why = zk_perf_check(p);
    if (why) {
        error_setg(errp, "zhikai: performance model: %s", why);
        return false;
    }
    qemu_mutex_init(&s->perf_lock);
    memset(&s->perf_tot, 0, sizeof(s->perf_tot));
    s->perf_tot.last_clock_mhz = p->clock_max_mhz;
    s->perf_tot.last_power_mw = p->idle_mw;
    s->perf_ready = true;
    return true;
}

void zhikai_perf_exit(ZhikaiState *s)
{
    if (s->perf_ready) {
        qemu_mutex_destroy(&s->perf_lock);
        s->perf_ready = false;
    }
}

/* Account one command's work; called by the queue worker. */
static void zhikai_perf_command(ZhikaiQueue *q, const ZkPerfWork *w)
{
    ZhikaiState *s = q->s;
    ZkPerfCost c;

    zk_perf_govern(&s->perf, w, qatomic_read(&s->power_cap_mw), &c);
    qemu_mutex_lock(&s->perf_lock);
    zk_perf_account(&s->perf_tot, w, &c);
    qemu_mutex_unlock(&s->perf_lock);
    trace_zhikai_perf(q->idx, w->dma, c.clock_mhz, (uint64_t)c.duration_ns,
                      (uint64_t)c.compute_ns, (uint64_t)c.memory_ns,
                      (uint32_t)c.power_mw);
}

void zhikai_perf_mark(ZhikaiQueue *q, ZhikaiPerfMark *m)
{
    m->hbm = q->ms.hbm_bytes_read + q->ms.hbm_bytes_written;
    m->sys = q->ms.sys_bytes;
}

void zhikai_perf_dma(ZhikaiQueue *q, const ZhikaiPerfMark *m)
{
    ZkPerfWork w = { .dma = true };

    w.hbm_bytes = q->ms.hbm_bytes_read + q->ms.hbm_bytes_written - m->hbm;
    w.pcie_bytes = q->ms.sys_bytes - m->sys;
    if (w.hbm_bytes || w.pcie_bytes) {
        zhikai_perf_command(q, &w);
    }
}

void zhikai_perf_launch(ZhikaiQueue *q, const ZhikaiPerfMark *m,
                        const ZkEngineStats *st)
{
    ZkPerfWork w = { .dma = false };
    uint64_t bytes = st->bytes_read + st->bytes_written;

    for (int i = 0; i < ZK_PERF_NDT; i++) {
        w.flops[i] = st->flops[i];
    }
    /*
     * SIMT work runs on the same fp32 datapath: one op per lane-instruction,
     * fma 2, fp64 at half rate (2), special functions (div, sqrt, rcp,
     * transcendental, cvt) 4.  Global bytes are already in bytes_*;
     * shared memory stays on chip.
     */
    w.flops[ZK_DT_F32] += st->simt_lane_ops[ZK_SIMT_CLS_INT] +
        st->simt_lane_ops[ZK_SIMT_CLS_F32] + st->simt_fma_ops +
        2 * st->simt_lane_ops[ZK_SIMT_CLS_F64] +
        4 * st->simt_lane_ops[ZK_SIMT_CLS_SFU] +
        st->simt_lane_ops[ZK_SIMT_CLS_MEM] +
        st->simt_lane_ops[ZK_SIMT_CLS_CTRL] +
        st->simt_lane_ops[ZK_SIMT_CLS_WARP];
    /* Tensor and scalar traffic is HBM's unless it went over the bus. */
    w.pcie_bytes = q->ms.sys_bytes - m->sys;
    w.hbm_bytes = bytes > w.pcie_bytes ? bytes - w.pcie_bytes : 0;
    zhikai_perf_command(q, &w);
}

uint64_t zhikai_perf_card_ns(ZhikaiState *s)
{
    uint64_t v;

    qemu_mutex_lock(&s->perf_lock);
    v = (uint64_t)s->perf_tot.card_ns;
    qemu_mutex_unlock(&s->perf_lock);
    return v;
}

uint64_t zhikai_perf_energy_nj(ZhikaiState *s)
{
    uint64_t v;

    qemu_mutex_lock(&s->perf_lock);
    v = (uint64_t)s->perf_tot.energy_nj;
    qemu_mutex_unlock(&s->perf_lock);
    return v;
}

/* 64-bit register pairs: LO reads latch HI. */
static bool perf_read64(ZhikaiState *s, hwaddr addr, const ZkPerfTotals *t,
                        uint64_t *out)
{
    hwaddr lo = addr & ~(hwaddr)7;
    uint64_t v;

    switch (lo) {
    case ZK_REG_CARD_ENERGY_UJ_LO:
        v = (uint64_t)(t->energy_nj / 1000);
        break;
    case ZK_REG_CARD_COMPUTE_NS_LO:
        v = (uint64_t)t->bound_ns[ZK_PERF_BOUND_COMPUTE];
        break;
    case ZK_REG_CARD_MEMORY_NS_LO:
        v = (uint64_t)t->bound_ns[ZK_PERF_BOUND_MEMORY];
        break;
    case ZK_REG_CARD_OVERHEAD_NS_LO:
        v = (uint64_t)t->overhead_ns;
        break;
    case ZK_REG_CARD_LAUNCHES_LO:
        v = t->launches;
        break;
    case ZK_REG_CARD_DMAS_LO:
        v = t->dmas;
        break;
    case ZK_REG_CARD_HBM_BYTES_LO:
        v = t->hbm_bytes;
        break;
    case ZK_REG_CARD_PCIE_BYTES_LO:
        v = t->pcie_bytes;
        break;
    case ZK_REG_CARD_FLOPS_LO(ZK_DT_F32):
    case ZK_REG_CARD_FLOPS_LO(ZK_DT_F16):
    case ZK_REG_CARD_FLOPS_LO(ZK_DT_BF16):
    case ZK_REG_CARD_FLOPS_LO(ZK_DT_I8):
        v = t->flops[(lo - ZK_REG_CARD_FLOPS_LO(0)) / 8];
        break;
    default:
        return false;
    }
    if (addr == lo) {
        s->perf_hi_latch = v >> 32;
        *out = (uint32_t)v;
    } else {
        *out = s->perf_hi_latch;
    }
    return true;
}

bool zhikai_perf_read(ZhikaiState *s, hwaddr addr, uint64_t *v)
{
    const ZkPerfParams *p = &s->perf;
    ZkPerfTotals t;

    switch (addr) {
    case ZK_REG_PERF_PROFILE:
        *v = p->profile_id;
        return true;
    case ZK_REG_PERF_HBM_BW_MBS:
        *v = MIN(p->hbm_bw_mbs, UINT32_MAX);
        return true;
    case ZK_REG_PERF_PCIE_BW_MBS:
        *v = MIN(p->pcie_bw_mbs, UINT32_MAX);
        return true;
    case ZK_REG_PERF_COPY_BW_MBS:
        *v = MIN(p->copy_bw_mbs, UINT32_MAX);
        return true;
    case ZK_REG_PERF_FP32_GFLOPS:
    case ZK_REG_PERF_FP16_GFLOPS:
    case ZK_REG_PERF_BF16_GFLOPS:
    case ZK_REG_PERF_INT8_GOPS:
        *v = MIN(p->peak_gops[(addr - ZK_REG_PERF_FP32_GFLOPS) / 4],
                 UINT32_MAX);
        return true;
    case ZK_REG_PERF_LAUNCH_NS:
        *v = p->launch_ns;
        return true;
    case ZK_REG_PERF_DMA_SETUP_NS:
        *v = p->dma_setup_ns;
        return true;
    case ZK_REG_PERF_TDP_MW:
        *v = p->tdp_mw;
        return true;
    case ZK_REG_PERF_IDLE_MW:
        *v = p->idle_mw;
        return true;
    }
    if (addr < ZK_REG_CARD_CLOCK_MHZ || addr > ZK_REG_CARD_FLOPS_HI(ZK_DT_I8)) {
        return false;
    }
    qemu_mutex_lock(&s->perf_lock);
    t = s->perf_tot;
    qemu_mutex_unlock(&s->perf_lock);
    switch (addr) {
    case ZK_REG_CARD_CLOCK_MHZ:
        *v = t.last_clock_mhz;
        return true;
    case ZK_REG_CARD_POWER_MW:
        *v = t.last_power_mw;
        return true;
    }
    return perf_read64(s, addr, &t, v);
}
