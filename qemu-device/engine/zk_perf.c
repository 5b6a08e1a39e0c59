/* SPDX-License-Identifier: MIT */
/*
 * zk_perf.c - the card performance and energy model (see zk_perf.h and
 * docs/perf-model.md for the parameters and where they come from).
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "zk_perf.h"

/*
 * zk100: the seed's Zhikai 100 figures (96 TFLOPS fp16, 192 TOPS int8,
 * 32 GB HBM2E, ~300 W, PCIe 4.0 x16) plus stated assumptions: fp32 = 1/4
 * of fp16, bf16 = fp16, HBM2E = 4 stacks x 1024 bit x 3.2 Gb/s = 1.64 TB/s
 * rounded to 1.6 TB/s, PCIe 4.0 x16 = 31.5 GB/s raw, ~25 GB/s effective,
 * HBM -> HBM copies at half the HBM bandwidth (each byte read and written).
 * zk50: a half-size part, 2 stacks / 16 GB, 64 TFLOPS fp16, 150 W.
 */
static const ZkPerfParams zk_profiles[] = {
    {
        .profile_id = ZK_PROFILE_ZK100, .name = "zk100",
        .hbm_bw_mbs = 1600000, .pcie_bw_mbs = 25000, .copy_bw_mbs = 800000,
        .peak_gops = { 24000, 96000, 96000, 192000 },
        .launch_ns = 2000, .dma_setup_ns = 1000,
        .tdp_mw = 300000, .idle_mw = 40000, .core_power_pct = 70,
        .clock_max_mhz = 1500, .clock_min_mhz = 300, .clock_step_mhz = 50,
    },
    {
        .profile_id = ZK_PROFILE_ZK50, .name = "zk50",
        .hbm_bw_mbs = 800000, .pcie_bw_mbs = 25000, .copy_bw_mbs = 400000,
        .peak_gops = { 16000, 64000, 64000, 128000 },
        .launch_ns = 2000, .dma_setup_ns = 1000,
        .tdp_mw = 150000, .idle_mw = 25000, .core_power_pct = 70,
        .clock_max_mhz = 1500, .clock_min_mhz = 300, .clock_step_mhz = 50,
    },
};

int zk_perf_profile(const char *name, ZkPerfParams *p)
{
    for (size_t i = 0; i < sizeof(zk_profiles) / sizeof(zk_profiles[0]); i++) {
        if (name && strcmp(name, zk_profiles[i].name) == 0) {
            *p = zk_profiles[i];
            return 0;
        }
    }
    return -1;
}

const char *zk_perf_profile_names(void)
{
    return "zk100, zk50";
}

const char *zk_perf_check(const ZkPerfParams *p)
{
    if (!p->hbm_bw_mbs || !p->pcie_bw_mbs || !p->copy_bw_mbs) {
        return "bandwidths must be > 0";
    }
    for (int i = 0; i < ZK_PERF_NDT; i++) {
        if (!p->peak_gops[i]) {
            return "peak rates must be > 0";
        }
    }
    if (p->clock_min_mhz < 1 || p->clock_min_mhz > p->clock_max_mhz ||
        p->clock_step_mhz < 1) {
        return "need 1 <= clock_min <= clock_max and clock_step >= 1";
    }
    if (p->idle_mw > p->tdp_mw || p->core_power_pct > 100) {
        return "need idle <= tdp and core power share <= 100%";
    }
    return NULL;
}

static uint32_t clamp_clock(const ZkPerfParams *p, uint32_t mhz)
{
    return mhz < p->clock_min_mhz ? p->clock_min_mhz
         : mhz > p->clock_max_mhz ? p->clock_max_mhz : mhz;
}

void zk_perf_cost(const ZkPerfParams *p, const ZkPerfWork *w,
                  uint32_t clock_mhz, ZkPerfCost *c)
{
    double f, dyn, core_dyn, mem_dyn, pcie_ns;

    memset(c, 0, sizeof(*c));
    c->clock_mhz = clamp_clock(p, clock_mhz);
    f = (double)c->clock_mhz / p->clock_max_mhz;
    /* GOPS = ops per ns; MB/s = 1e-3 bytes per ns. */
    for (int i = 0; i < ZK_PERF_NDT; i++) {
        c->compute_ns += (double)w->flops[i] / ((double)p->peak_gops[i] * f);
    }
    pcie_ns = (double)w->pcie_bytes * 1e3 / (double)p->pcie_bw_mbs;
    if (w->dma) {
        /* A copy reads and writes each HBM byte: copy_bw bytes copied/s. */
        c->hbm_ns = (double)w->hbm_bytes * 1e3 / (2.0 * p->copy_bw_mbs);
        c->memory_ns = c->hbm_ns > pcie_ns ? c->hbm_ns : pcie_ns;
        c->overhead_ns = p->dma_setup_ns;
    } else {
        c->hbm_ns = (double)w->hbm_bytes * 1e3 / (double)p->hbm_bw_mbs;
        c->memory_ns = c->hbm_ns + pcie_ns;
        /* The command processor runs on the engine clock. */
        c->overhead_ns = (double)p->launch_ns / f;
    }
    c->bound = c->memory_ns >= c->compute_ns && c->memory_ns > 0
               ? ZK_PERF_BOUND_MEMORY : ZK_PERF_BOUND_COMPUTE;
    c->duration_ns = c->overhead_ns +
                     (c->compute_ns > c->memory_ns ? c->compute_ns
                                                   : c->memory_ns);
    dyn = (double)(p->tdp_mw - p->idle_mw);
    core_dyn = dyn * p->core_power_pct / 100.0;
    mem_dyn = dyn - core_dyn;
    /* mW * ns = pJ = 1e-3 nJ */
    /*
     * The core burns its dynamic power while computing and, for a LAUNCH,
     * while the command processor on the engine clock sets it up.
     */
    c->energy_nj = ((double)p->idle_mw * c->duration_ns +
                    core_dyn * pow(f, 2.5) *
                    (c->compute_ns + (w->dma ? 0 : c->overhead_ns)) +
                    mem_dyn * c->hbm_ns) * 1e-3;
    c->power_mw = c->duration_ns > 0 ? c->energy_nj * 1e3 / c->duration_ns
                                     : p->idle_mw;
}

uint32_t zk_perf_govern(const ZkPerfParams *p, const ZkPerfWork *w,
                        uint32_t cap_mw, ZkPerfCost *c)
{
    uint32_t clk = p->clock_max_mhz;

    /* Average power rises with the clock: walk down until it fits. */
    for (;;) {
        zk_perf_cost(p, w, clk, c);
        if (c->power_mw <= (double)cap_mw || clk <= p->clock_min_mhz) {
            return c->clock_mhz;
        }
        clk = clk > p->clock_min_mhz + p->clock_step_mhz
              ? clk - p->clock_step_mhz : p->clock_min_mhz;
    }
}

void zk_perf_account(ZkPerfTotals *t, const ZkPerfWork *w,
                     const ZkPerfCost *c)
{
    t->card_ns += c->duration_ns;
    t->energy_nj += c->energy_nj;
    t->overhead_ns += c->overhead_ns;
    t->bound_ns[c->bound] += c->duration_ns - c->overhead_ns;
    for (int i = 0; i < ZK_PERF_NDT; i++) {
        t->flops[i] += w->flops[i];
    }
    t->hbm_bytes += w->hbm_bytes;
    t->pcie_bytes += w->pcie_bytes;
    if (w->dma) {
        t->dmas++;
    } else {
        t->launches++;
    }
    t->last_clock_mhz = c->clock_mhz;
    t->last_power_mw = (uint32_t)(c->power_mw + 0.5);
}
