/* SPDX-License-Identifier: MIT */
/*
 * zk_engine.h - the compute engine: verifies and executes ISA kernels
 * (include/zhikai_isa.h) natively, independent of QEMU.
 */
#ifndef ZK_ENGINE_H
#define ZK_ENGINE_H

#include "zk_mmu.h"

typedef struct ZkLaunch {
    uint64_t code_va;
    uint32_t code_size;
    uint32_t entry;          /* byte offset of the first instruction */
    uint32_t grid[3];
    uint64_t args_va;
    uint32_t args_size;
    uint64_t insn_budget;    /* 0 = unlimited */
    uint32_t num_cus;        /* compute units (threads) to use, 0 = 1 */
    /* SIMT launches (ZK_LAUNCH_F_SIMT, include/zhikai_simt.h). */
    bool simt;
    uint32_t block[3];       /* threads per block */
    uint32_t shared_bytes;   /* per block */
    uint32_t local_bytes;    /* per thread */
} ZkLaunch;

/* SIMT lane-instruction classes (ZkEngineStats.simt_lane_ops). */
enum {
    ZK_SIMT_CLS_INT,         /* integer, logic, moves, compares */
    ZK_SIMT_CLS_F32,         /* fp32 add/mul/min/...; ffma counts here once */
    ZK_SIMT_CLS_F64,
    ZK_SIMT_CLS_SFU,         /* sqrt, rcp, rsqrt, ex2, lg2, sin, cos, div, cvt */
    ZK_SIMT_CLS_MEM,         /* loads, stores, atomics */
    ZK_SIMT_CLS_CTRL,        /* branches, barriers, exit */
    ZK_SIMT_CLS_WARP,        /* shuffles, votes */
    ZK_SIMT_CLS_COUNT
};

/* Work counters: what the engine really did (for the power/timing model). */
typedef struct ZkEngineStats {
    uint64_t insns;
    uint64_t flops[4];       /* by ZK_DT_* dtype of the math: fp32, fp16, bf16, int8 */
    uint64_t bytes_read;     /* tensor + scalar loads */
    uint64_t bytes_written;
    /* SIMT: lane-instructions by ZK_SIMT_CLS_*, fp32 fma lane-ops (2 flops
     * each), shared-memory bytes moved. */
    uint64_t simt_lane_ops[ZK_SIMT_CLS_COUNT];
    uint64_t simt_fma_ops;
    uint64_t simt_shared_bytes;
} ZkEngineStats;

/*
 * Run one launch.  Returns ZK_FAULT_NONE (0) on success or the ZK_FAULT_*
 * that stopped it (fault filled in).  *abort_flag (may be NULL) is polled
 * between instructions; when it becomes non-zero the launch stops with
 * ZK_FAULT_BUDGET's sibling: ZK_FAULT_ENGINE and fault->va = 0.
 */
int zk_engine_launch(ZkMemSpace *ms, const ZkLaunch *launch,
                     ZkEngineStats *stats, ZkFault *fault,
                     const volatile int *abort_flag);

#endif /* ZK_ENGINE_H */
