/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * zhikai.h - internal state of the Zhikai inference card device model.
 *
 * The hardware contract (registers, commands, MMU, firmware header) is
 * include/zhikai_hw.h; this header is private to the device's
 * sources in qemu-device/.
 *
 * Locking:
 *  - The BQL protects the global register state (ZhikaiState fields not
 *    marked otherwise) and is held by MMIO handlers, timers and bottom halves.
 *  - ZhikaiQueue.lock protects the queue's registers and worker state.  The
 *    lock order is BQL -> queue lock.  Workers never take the BQL at all:
 *    their DMA is RAM-only (MemTxAttrs.memory), so resets holding the BQL
 *    may wait (briefly, bounded) for a worker to stop its command.  Side
 *    effects of a command outside HBM (guest-RAM writes, registers, IRQs)
 *    are made under the queue lock after a generation check.
 *  - Interrupts from the workers are latched in ZhikaiState.irq_status and
 *    irq_pending (atomics) and delivered by a bottom half under the BQL
 *    (msix_notify).
 *  - Workers read state, clock_mhz, power_cap_mw and inject_dma_fail with
 *    atomics (written with qatomic_set under the BQL); the
 *    power timer reads each queue's busy time under its queue lock.
 *  - perf_lock (zhikai-perf.c) is a leaf lock protecting perf_tot (card
 *    time, modelled energy, counters); workers take it after each DMA or
 *    LAUNCH, MMIO reads under the BQL; nothing is taken while holding it.
 */
#ifndef HW_MISC_ZHIKAI_H
#define HW_MISC_ZHIKAI_H

#include "hw/pci/pci_device.h"
#include "qemu/thread.h"
#include "qemu/timer.h"
#include "qom/object.h"

#include "zhikai_hw.h"
#include "zk_mmu.h"
#include "zk_engine.h"
#include "zk_perf.h"

#define TYPE_ZHIKAI "zhikai"
OBJECT_DECLARE_SIMPLE_TYPE(ZhikaiState, ZHIKAI)

typedef struct ZhikaiQueue {
    struct ZhikaiState *s;
    unsigned idx;

    QemuThread thread;
    QemuMutex lock;
    QemuCond cond;          /* worker waits here for work */
    QemuCond idle_cond;     /* resets wait here for a command to finish */
    bool thread_started;
    bool stopping;

    /* Registers (under lock). */
    uint64_t base;
    uint32_t size;
    uint32_t head;
    uint32_t tail;
    bool enabled;
    uint64_t fence_wb;
    uint64_t fence;
    uint32_t fault_type;
    uint64_t fault_addr;
    uint32_t fault_ctx;
    uint32_t fault_count;
    uint32_t fence_hi_latch;
    uint32_t busy_hi_latch;

    /* Worker state (under lock). */
    bool hung;              /* injected hang in effect */
    /* Injected: resets that leave the hang (ZK_STUCK_*); device reset clears. */
    unsigned stuck;
    bool skipping;          /* skipping to the next JOB_END after a fault */
    uint32_t job_status;    /* ZK_JOB_* of the job being executed */
    bool running;           /* a command is being executed */
    /* Generation the running command belongs to (set under lock). */
    uint32_t running_gen;
    uint32_t generation;    /* bumped by resets: drops in-flight results */
    /* Guest writes in progress outside the lock (resets wait for them). */
    unsigned dma_writers;
    bool ctx_reset;         /* reset: worker forgets its context */
    uint64_t busy_ns;       /* accumulated busy time of finished stretches */
    int64_t busy_since;     /* host ns the current busy stretch began, or 0 */

    /* Polled by the engine and long-running commands; set by resets. */
    volatile int abort;

    /* Address space of the running job: only touched by the worker. */
    ZkMemSpace ms;
} ZhikaiQueue;

struct ZhikaiState {
    PCIDevice parent_obj;

    MemoryRegion bar0;      /* 64 KiB container: regs + MSI-X */
    MemoryRegion regs;      /* the register block below the MSI-X table */
    MemoryRegion hbm_bar;   /* power-of-2 container for the HBM BAR */
    MemoryRegion hbm;       /* RAM, RAM_NORESERVE */
    uint8_t *hbm_ptr;

    /* Properties. */
    uint64_t hbm_size;
    uint32_t hbm_stacks;
    uint32_t num_queues;
    uint32_t power_cap_default_mw;
    uint32_t power_cap_min_mw;
    uint32_t power_cap_max_mw;
    uint32_t tdp_mw;
    uint32_t idle_mw;
    uint32_t d3_mw;         /* board power in D3hot (0: idle-mw / 10) */
    uint32_t clock_max_mhz;
    uint32_t clock_min_mhz;
    uint32_t clock_step_mhz;
    uint32_t power_window_ms;
    uint32_t ambient_mc;
    uint32_t temp_limit_mc;
    uint32_t thermal_r_mc_per_w;
    uint32_t thermal_tau_ms;
    uint64_t insn_budget;
    uint32_t compute_units;     /* engine threads per launch (0: host cores) */
    uint32_t heartbeat_ms_prop;
    uint32_t boot_delay_ms;
    bool inject_boot_hang;
    int32_t inject_hang_queue;
    bool inject_dma_fail_prop;
    bool throttle_slowdown;
    char *perf_profile_name;        /* "profile": zk100, zk50 */
    uint64_t perf_hbm_bw_mbs;       /* 0 = the profile's (also below) */
    uint64_t perf_pcie_bw_mbs;
    uint64_t perf_copy_bw_mbs;
    uint64_t perf_peak_gops[4];     /* fp32, fp16, bf16, int8 */
    int32_t perf_launch_ns;         /* -1 = the profile's (also below) */
    int32_t perf_dma_setup_ns;
    int32_t perf_core_power_pct;

    /* Global registers (BQL). */
    uint32_t scratch;
    uint64_t fw_addr;
    uint32_t fw_size;
    uint32_t state;         /* ZK_STATE_*; read by workers with qatomic_read */
    uint32_t boot_error;
    uint32_t fw_version;
    uint32_t heartbeat;
    uint32_t heartbeat_ms;
    uint32_t fw_queues;     /* queues the firmware drives */
    uint32_t fw_isa_version;
    uint32_t reset_count;
    uint32_t reset_time_us; /* ZK_REG_RESET_TIME_US (atomic: set by resets) */
    bool powered_on;        /* the power-on reset has happened */
    bool d3;                /* PCI PM state D3hot: engine off, BARs closed */
    uint32_t irq_status;    /* atomic: workers set bits */
    uint32_t irq_mask;
    uint32_t irq_pending;   /* atomic: vectors to notify from the BH */
    QEMUBH *irq_bh;
    QEMUTimer boot_timer;
    QEMUTimer heartbeat_timer;
    uint32_t ras_ce_count;
    uint32_t ras_ue_count;
    uint64_t ras_addr;
    uint64_t inject_addr;
    bool inject_dma_fail;   /* atomic: next DMA command fails */
    uint32_t tlb_epoch;     /* atomic: bumped by ZK_CMD_MMU_INVALIDATE */
    uint32_t energy_hi_latch;
    uint32_t ts_hi_latch;
    uint32_t card_hi_latch;
    uint32_t busy_hi_latch;
    int64_t card_time_base;

    /* Power model (BQL; clock_mhz read atomically by workers). */
    QEMUTimer power_timer;
    int64_t power_last_ns;
    uint64_t power_last_busy;
    uint32_t power_cap_mw;
    uint32_t power_mw;
    uint32_t power_avg_mw;
    double power_avg_acc;   /* exponentially weighted average, mW */
    double energy_uj;
    double temp_mc;
    uint32_t clock_mhz;
    uint32_t throttle;
    uint32_t util;

    /* Card performance model (zhikai-perf.c). */
    ZkPerfParams perf;      /* resolved parameters, const after realize */
    bool perf_ready;
    QemuMutex perf_lock;    /* leaf lock: protects perf_tot */
    ZkPerfTotals perf_tot;  /* card time, energy, counters since power-on */
    uint32_t perf_hi_latch; /* BQL */

    ZhikaiQueue queues[ZK_MAX_QUEUES];
};

/* Counters of a queue's address space before a command (zhikai-perf.c). */
typedef struct ZhikaiPerfMark {
    uint64_t hbm;
    uint64_t sys;
} ZhikaiPerfMark;

/* zhikai.c */
void zhikai_raise_irq(ZhikaiState *s, uint32_t irq_bits);
int64_t zhikai_host_ns(void);

/* zhikai-queue.c */
void zhikai_queues_realize(ZhikaiState *s);
void zhikai_queues_exit(ZhikaiState *s);
void zhikai_queue_reset(ZhikaiQueue *q, bool device_reset);
/* All queues: abort all, then wait (bounded) for all; BQL held. */
void zhikai_queues_reset(ZhikaiState *s, bool device_reset);
uint64_t zhikai_queue_read(ZhikaiState *s, unsigned q, hwaddr reg);
void zhikai_queue_write(ZhikaiState *s, unsigned q, hwaddr reg, uint32_t val);
void zhikai_queue_inject_hang(ZhikaiState *s, unsigned q);
#define ZK_STUCK_QUEUE_RESET    1   /* survives ZK_QCTRL_RESET */
#define ZK_STUCK_ENGINE_RESET   2   /* survives ZK_RESET_ENGINE as well */
void zhikai_queue_inject_stuck(ZhikaiState *s, unsigned q, unsigned level);
void zhikai_queues_keep_stuck(ZhikaiState *s, unsigned level);
uint64_t zhikai_queue_busy_ns(ZhikaiQueue *q);

/* zhikai-hbm.c */
bool zhikai_hbm_range_ok(ZhikaiState *s, uint64_t off, uint64_t len);
void zhikai_hbm_discard(ZhikaiState *s, uint64_t off, uint64_t len);

/* zhikai-fw.c */
void zhikai_fw_init(ZhikaiState *s);
void zhikai_fw_exit(ZhikaiState *s);
void zhikai_fw_reset(ZhikaiState *s);
void zhikai_fw_boot(ZhikaiState *s);

/* zhikai-power.c */
void zhikai_power_init(ZhikaiState *s);
void zhikai_power_exit(ZhikaiState *s);
void zhikai_power_reset(ZhikaiState *s);
void zhikai_power_set_cap(ZhikaiState *s, uint32_t mw);
void zhikai_power_set_d3(ZhikaiState *s, bool d3);
uint64_t zhikai_power_energy_uj(ZhikaiState *s);
uint64_t zhikai_power_busy_ns(ZhikaiState *s);

/* zhikai-perf.c */
bool zhikai_perf_realize(ZhikaiState *s, Error **errp);
void zhikai_perf_exit(ZhikaiState *s);
void zhikai_perf_mark(ZhikaiQueue *q, ZhikaiPerfMark *m);
void zhikai_perf_dma(ZhikaiQueue *q, const ZhikaiPerfMark *m);
void zhikai_perf_launch(ZhikaiQueue *q, const ZhikaiPerfMark *m,
                        const ZkEngineStats *st);
uint64_t zhikai_perf_card_ns(ZhikaiState *s);
uint64_t zhikai_perf_energy_nj(ZhikaiState *s);
bool zhikai_perf_read(ZhikaiState *s, hwaddr addr, uint64_t *v);

#endif /* HW_MISC_ZHIKAI_H */
