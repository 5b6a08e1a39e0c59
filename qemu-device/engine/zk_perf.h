/* SPDX-License-Identifier: MIT */
/*
 * zk_perf.h - the card performance and energy model, independent of QEMU.
 *
 * Turns the work a command really did (flops by dtype from ZkEngineStats,
 * bytes moved from the ZkMemSpace counters) into the time and energy a real
 * Zhikai-class card would need for it: a roofline per command,
 *
 *   duration = overhead + max(compute, memory)
 *   compute  = sum over dtypes of flops[dt] / (peak[dt] * clock / clock_max)
 *   memory   = hbm_bytes / hbm_bw + pcie_bytes / pcie_bw      (LAUNCH)
 *            = max(hbm_bytes / (2 * copy_bw), pcie_bytes / pcie_bw)  (DMA)
 *   energy   = idle * duration + core_dyn * (clock/max)^2.5 * core_time
 *                              + mem_dyn * hbm_time
 *   core_time = compute (+ overhead for a LAUNCH)
 *
 * and an ideal per-command DVFS governor: the highest clock step whose
 * average power over the command stays within the power cap.  The model
 * and its parameters are documented in docs/perf-model.md.
 */
#ifndef ZK_PERF_H
#define ZK_PERF_H

#include <stdbool.h>
#include <stdint.h>

#include "zhikai_hw.h"

/* Dtype buckets of ZkEngineStats.flops (ZK_DT_F32 .. ZK_DT_I8). */
#define ZK_PERF_NDT 4

typedef struct ZkPerfParams {
    uint32_t profile_id;            /* ZK_PROFILE_* */
    const char *name;
    uint64_t hbm_bw_mbs;            /* HBM bandwidth, 1e6 bytes/s */
    uint64_t pcie_bw_mbs;           /* effective host <-> card DMA */
    uint64_t copy_bw_mbs;           /* HBM -> HBM DMA copy, bytes copied/s */
    uint64_t peak_gops[ZK_PERF_NDT];/* at clock_max: fp32, fp16, bf16 GFLOPS, int8 GOPS */
    uint32_t launch_ns;             /* LAUNCH overhead at clock_max (scales 1/clock) */
    uint32_t dma_setup_ns;          /* DMA overhead (clock independent) */
    uint32_t tdp_mw;                /* board power, compute and HBM saturated */
    uint32_t idle_mw;               /* board power, engine idle */
    uint32_t core_power_pct;        /* share of tdp - idle that is the core's */
    uint32_t clock_max_mhz;
    uint32_t clock_min_mhz;
    uint32_t clock_step_mhz;
} ZkPerfParams;

/* What one command did. */
typedef struct ZkPerfWork {
    bool dma;                       /* DMA command (else LAUNCH) */
    uint64_t flops[ZK_PERF_NDT];
    uint64_t hbm_bytes;             /* bytes read + written in HBM */
    uint64_t pcie_bytes;            /* bytes that crossed PCIe */
} ZkPerfWork;

#define ZK_PERF_BOUND_COMPUTE   0
#define ZK_PERF_BOUND_MEMORY    1

/* What it costs on the modelled card. */
typedef struct ZkPerfCost {
    uint32_t clock_mhz;
    double overhead_ns;
    double compute_ns;
    double memory_ns;
    double hbm_ns;                  /* HBM part of memory_ns */
    double duration_ns;             /* overhead + max(compute, memory) */
    double energy_nj;               /* board energy over duration */
    double power_mw;                /* average board power over duration */
    int bound;                      /* ZK_PERF_BOUND_* */
} ZkPerfCost;

/* Running totals of the card clock (card time = sum of durations). */
typedef struct ZkPerfTotals {
    double card_ns;
    double energy_nj;
    double bound_ns[2];             /* body time by ZK_PERF_BOUND_* */
    double overhead_ns;
    uint64_t flops[ZK_PERF_NDT];
    uint64_t hbm_bytes;
    uint64_t pcie_bytes;
    uint64_t launches;
    uint64_t dmas;
    uint32_t last_clock_mhz;
    uint32_t last_power_mw;
} ZkPerfTotals;

/*
 * Fill p with the named profile ("zk100", "zk50").  Returns 0, or -1 for an
 * unknown name (p untouched).
 */
int zk_perf_profile(const char *name, ZkPerfParams *p);
/* Comma-separated list of the profile names, for error messages. */
const char *zk_perf_profile_names(void);
/* NULL if p is usable, else what is wrong with it. */
const char *zk_perf_check(const ZkPerfParams *p);

/* Cost of w at clock_mhz (clamped to clock_min..clock_max). */
void zk_perf_cost(const ZkPerfParams *p, const ZkPerfWork *w,
                  uint32_t clock_mhz, ZkPerfCost *c);
/*
 * The governor: cost of w at the highest clock (clock_max, then down in
 * clock_step steps, not below clock_min) whose average power <= cap_mw.
 * Returns the chosen clock.
 */
uint32_t zk_perf_govern(const ZkPerfParams *p, const ZkPerfWork *w,
                        uint32_t cap_mw, ZkPerfCost *c);
/* Add a command to the totals. */
void zk_perf_account(ZkPerfTotals *t, const ZkPerfWork *w,
                     const ZkPerfCost *c);

#endif /* ZK_PERF_H */
