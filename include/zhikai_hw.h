/* SPDX-License-Identifier: MIT */
/*
 * zhikai_hw.h - the hardware contract of the Zhikai-class inference card.
 *
 * This is the single source of truth for the register map (BAR0), the
 * command formats the hardware queues execute, the device MMU page-table
 * format and the firmware image header.  It is included unchanged by the
 * QEMU device model, the Linux driver and the firmware image builder.
 * All multi-byte fields are little-endian.
 */
#ifndef ZHIKAI_HW_H
#define ZHIKAI_HW_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#endif

/* ------------------------------------------------------------------ */
/* PCI identity                                                       */
/* ------------------------------------------------------------------ */

/* 0x1234 is the ID QEMU uses for its emulated devices (edu, bochs-display). */
#define ZK_PCI_VENDOR_ID        0x1234
#define ZK_PCI_DEVICE_ID        0x5a4b          /* "ZK" */
#define ZK_PCI_REVISION         0x01
#define ZK_PCI_CLASS            0x1200          /* processing accelerator */

#define ZK_BAR_REGS             0               /* 64 KiB registers + MSI-X */
#define ZK_BAR_HBM              2               /* 64-bit prefetchable HBM */
#define ZK_BAR_REGS_SIZE        0x10000
#define ZK_MSIX_TABLE_OFFSET    0x8000
#define ZK_MSIX_PBA_OFFSET      0xc000

#define ZK_MAX_QUEUES           16
/* MSI-X vectors: one per queue, then the fault and the event vector. */
#define ZK_MSIX_VEC_QUEUE(q)    (q)
#define ZK_MSIX_VEC_FAULT       16
#define ZK_MSIX_VEC_EVENT       17
#define ZK_MSIX_VECTORS         18

/* ------------------------------------------------------------------ */
/* BAR0: global registers (32-bit access unless noted)                */
/* ------------------------------------------------------------------ */

#define ZK_REG_ID               0x000   /* RO: ZK_ID_MAGIC */
#define ZK_REG_VERSION          0x004   /* RO: hw version major << 16 | minor */
#define ZK_REG_CAPS             0x008   /* RO: ZK_CAP_* */
#define ZK_REG_SCRATCH          0x00c   /* RW: no side effects */
#define ZK_REG_HBM_SIZE_LO      0x010   /* RO: HBM bytes */
#define ZK_REG_HBM_SIZE_HI      0x014
#define ZK_REG_HBM_STACKS       0x018   /* RO: HBM stacks (equal-sized regions) */
#define ZK_REG_NUM_QUEUES       0x01c   /* RO: hardware queues */
#define ZK_REG_NUM_VECTORS      0x020   /* RO: MSI-X vectors */
#define ZK_REG_API_VERSION      0x024   /* RO: device API, ZK_API_VERSION */
#define ZK_REG_COMPUTE_UNITS    0x028   /* RO: compute units running blocks (0: 1) */

#define ZK_ID_MAGIC             0x5a4b4149      /* "ZKAI" */
#define ZK_HW_VERSION           0x00010000
#define ZK_API_VERSION_MAJOR    1
#define ZK_API_VERSION_MINOR    0
#define ZK_API_VERSION          ((ZK_API_VERSION_MAJOR << 16) | ZK_API_VERSION_MINOR)

#define ZK_CAP_MMU              (1u << 0)
#define ZK_CAP_DMA_SGLIST       (1u << 1)
#define ZK_CAP_FP16             (1u << 2)
#define ZK_CAP_BF16             (1u << 3)
#define ZK_CAP_INT8             (1u << 4)
#define ZK_CAP_POWER_CAP        (1u << 5)
#define ZK_CAP_FAULT_INJECT     (1u << 6)
#define ZK_CAP_CARD_TIME        (1u << 7)
#define ZK_CAP_HBM_DISCARD      (1u << 9)   /* ZK_CMD_HBM_DISCARD */

/* Firmware boot (see "Boot protocol" in qemu-device/README.md). */
#define ZK_REG_FW_ADDR_LO       0x040   /* RW: bus address of the image */
#define ZK_REG_FW_ADDR_HI       0x044
#define ZK_REG_FW_SIZE          0x048   /* RW: image bytes */
#define ZK_REG_BOOT             0x04c   /* WO: write ZK_BOOT_KEY to boot */
#define ZK_REG_STATUS           0x050   /* RO: ZK_STATE_* */
#define ZK_REG_BOOT_ERROR       0x054   /* RO: ZK_BOOT_ERR_* of the last boot */
#define ZK_REG_FW_VERSION       0x058   /* RO: image_version of the running fw */
#define ZK_REG_HEARTBEAT        0x05c   /* RO: advances while fw is alive */
#define ZK_REG_RESET            0x060   /* WO: ZK_RESET_* */
#define ZK_REG_RESET_COUNT      0x064   /* RO: resets since power-on */
/*
 * 0x068..0x074: reserved (read 0, writes ignored).  They held a synchronous
 * HBM discard whose MMIO write did the work on the writing vCPU; HBM is
 * discarded in ring order by ZK_CMD_HBM_DISCARD (ZK_CAP_HBM_DISCARD), at
 * most ZK_HBM_DISCARD_MAX bytes per step between abort checks.
 */
#define ZK_HBM_DISCARD_MAX      (256u << 20)
/* RO: microseconds the last reset (queue, engine, device, FLR) took inside
 * the device, waiting for the engine included. */
#define ZK_REG_RESET_TIME_US    0x078

#define ZK_BOOT_KEY             0x424f4f54      /* "BOOT" */

#define ZK_STATE_RESET          0       /* after power-on/FLR: waiting for fw */
#define ZK_STATE_BOOTING        1       /* image being loaded and checked */
#define ZK_STATE_READY          2       /* queues may be enabled */
#define ZK_STATE_ERROR          3       /* boot failed, see ZK_REG_BOOT_ERROR */

#define ZK_BOOT_ERR_NONE        0
#define ZK_BOOT_ERR_MAGIC       1
#define ZK_BOOT_ERR_SIZE        2       /* too small, too big or size mismatch */
#define ZK_BOOT_ERR_CRC         3
#define ZK_BOOT_ERR_API         4       /* api_version major differs */
#define ZK_BOOT_ERR_DMA         5       /* image could not be read */
#define ZK_BOOT_ERR_HANG        6       /* injected: firmware never comes up */
#define ZK_BOOT_ERR_STATE       7       /* BOOT written while not in RESET */

#define ZK_RESET_ENGINE         1       /* stop queues, drop work, stay READY */
#define ZK_RESET_DEVICE         2       /* full reset back to ZK_STATE_RESET */

/* Interrupt status: write 1 to clear.  Bits 0..15 = queue completion. */
#define ZK_REG_IRQ_STATUS       0x080
#define ZK_REG_IRQ_MASK         0x084   /* RW: 1 = enabled */
#define ZK_IRQ_QUEUE(q)         (1u << (q))
#define ZK_IRQ_FAULT            (1u << 24)
#define ZK_IRQ_EVENT            (1u << 25)  /* telemetry: throttle change, RAS */

/* Telemetry and power management. */
#define ZK_REG_POWER_MW         0x100   /* RO: instantaneous board power */
#define ZK_REG_POWER_AVG_MW     0x104   /* RO: average over the last window */
#define ZK_REG_POWER_CAP_MW     0x108   /* RW: power cap, clamped to MIN..MAX */
#define ZK_REG_ENERGY_UJ_LO     0x10c   /* RO: energy since power-on, uJ */
#define ZK_REG_ENERGY_UJ_HI     0x110   /*     (read LO first: latches HI) */
#define ZK_REG_TEMP_MC          0x114   /* RO: die temperature, milli-deg C */
#define ZK_REG_CLOCK_MHZ        0x118   /* RO: current engine clock */
#define ZK_REG_CLOCK_MAX_MHZ    0x11c   /* RO: nominal max clock */
#define ZK_REG_THROTTLE         0x120   /* RO: ZK_THROTTLE_* reasons */
#define ZK_REG_UTIL             0x124   /* RO: engine utilization, 0..10000 */
#define ZK_REG_BUSY_NS_LO       0x128   /* RO: total engine busy ns */
#define ZK_REG_BUSY_NS_HI       0x12c
#define ZK_REG_POWER_CAP_MIN_MW 0x130   /* RO */
#define ZK_REG_POWER_CAP_MAX_MW 0x134   /* RO */
#define ZK_REG_TIMESTAMP_LO     0x138   /* RO: device clock ns (LO latches HI) */
#define ZK_REG_TIMESTAMP_HI     0x13c
#define ZK_REG_CARD_TIME_LO     0x140   /* RO: modelled card time ns */
#define ZK_REG_CARD_TIME_HI     0x144

#define ZK_THROTTLE_POWER       (1u << 0)
#define ZK_THROTTLE_THERMAL     (1u << 1)

/* Fault injection and RAS. */
#define ZK_REG_INJECT           0x200   /* WO: ZK_INJECT_* | queue << 8 */
#define ZK_REG_RAS_CE_COUNT     0x204   /* RO: corrected memory errors */
#define ZK_REG_RAS_UE_COUNT     0x208   /* RO: uncorrected memory errors */
#define ZK_REG_RAS_ADDR_LO      0x20c   /* RO: HBM offset of the last error */
#define ZK_REG_RAS_ADDR_HI      0x210

#define ZK_INJECT_HANG_QUEUE    (1u << 0)   /* queue in bits 8..15 stops */
#define ZK_INJECT_DMA_FAIL      (1u << 1)   /* next DMA command fails */
#define ZK_INJECT_MEM_CE        (1u << 2)   /* report a corrected error */
#define ZK_INJECT_MEM_UE        (1u << 3)   /* report an uncorrected error */
/* The queue hangs and its hang outlives queue resets (ZK_QCTRL_RESET) ... */
#define ZK_INJECT_STUCK_QUEUE   (1u << 4)
/* ... and engine resets too: only ZK_RESET_DEVICE (or FLR) clears it. */
#define ZK_INJECT_STUCK_ENGINE  (1u << 5)
#define ZK_INJECT_QUEUE_SHIFT   8
/* ZK_REG_RAS_ADDR is set to the value of ZK_REG_INJECT_ADDR for MEM_* */
#define ZK_REG_INJECT_ADDR_LO   0x214
#define ZK_REG_INJECT_ADDR_HI   0x218

/* ------------------------------------------------------------------ */
/* Per-queue registers: ZK_QREG(q, ZK_Q_*)                             */
/* ------------------------------------------------------------------ */

#define ZK_QREG_BASE            0x1000
#define ZK_QREG_STRIDE          0x100
#define ZK_QREG(q, reg)         (ZK_QREG_BASE + (q) * ZK_QREG_STRIDE + (reg))

#define ZK_Q_BASE_LO            0x00    /* RW: ring bus address (host memory) */
#define ZK_Q_BASE_HI            0x04
#define ZK_Q_SIZE               0x08    /* RW: ring bytes, power of 2, >= 4096 */
#define ZK_Q_HEAD               0x0c    /* RO: byte offset of next cmd to run */
#define ZK_Q_TAIL               0x10    /* RO: byte offset after last cmd */
#define ZK_Q_DOORBELL           0x14    /* WO: new tail; starts execution */
#define ZK_Q_CTRL               0x18    /* RW: ZK_QCTRL_* */
#define ZK_Q_STATUS             0x1c    /* RO: ZK_QSTAT_* */
#define ZK_Q_FENCE_WB_LO        0x20    /* RW: bus address, 8 bytes: seqno */
#define ZK_Q_FENCE_WB_HI        0x24
#define ZK_Q_FENCE_LO           0x28    /* RO: last completed job seqno */
#define ZK_Q_FENCE_HI           0x2c
#define ZK_Q_FAULT_TYPE         0x30    /* RO: ZK_FAULT_* of the last fault */
#define ZK_Q_FAULT_ADDR_LO      0x34    /* RO: faulting device VA */
#define ZK_Q_FAULT_ADDR_HI      0x38
#define ZK_Q_FAULT_CTX          0x3c    /* RO: ctx_id of the faulting job */
#define ZK_Q_FAULT_COUNT        0x40    /* RO: faults on this queue */
#define ZK_Q_BUSY_NS_LO         0x44    /* RO: busy time of this queue */
#define ZK_Q_BUSY_NS_HI         0x48

#define ZK_QCTRL_ENABLE         (1u << 0)   /* refused (stays 0) unless READY */
#define ZK_QCTRL_RESET          (1u << 1)   /* self-clearing: drop ring, head=tail=0 */

#define ZK_QSTAT_ENABLED        (1u << 0)
#define ZK_QSTAT_BUSY           (1u << 1)   /* commands pending or running */
#define ZK_QSTAT_HUNG           (1u << 2)   /* injected hang in effect */
#define ZK_QSTAT_SKIPPING       (1u << 3)   /* skipping the rest of a bad job */

#define ZK_FAULT_NONE           0
#define ZK_FAULT_MMU_READ       1   /* no valid mapping for a read */
#define ZK_FAULT_MMU_WRITE      2   /* no valid or writable mapping */
#define ZK_FAULT_MMU_EXEC       3   /* code fetch outside a mapping */
#define ZK_FAULT_DMA            4   /* host DMA failed (or injected) */
#define ZK_FAULT_ILLEGAL_CMD    5   /* unknown opcode / bad reserved field */
#define ZK_FAULT_ILLEGAL_INSN   6   /* kernel failed verification */
#define ZK_FAULT_BUDGET         7   /* instruction budget exhausted */
#define ZK_FAULT_ENGINE         8   /* engine error (bad tensor shape ...) */
#define ZK_FAULT_NO_CONTEXT     9   /* memory command before SET_CONTEXT */

/* ------------------------------------------------------------------ */
/* Commands: fixed 64-byte records in the ring (never wrap mid-command) */
/* ------------------------------------------------------------------ */

#define ZK_CMD_SIZE             64

#define ZK_CMD_NOP              0x00
#define ZK_CMD_SET_CONTEXT      0x01    /* privileged: driver only */
#define ZK_CMD_DMA              0x02
#define ZK_CMD_LAUNCH           0x03
#define ZK_CMD_FENCE            0x04
#define ZK_CMD_WAIT             0x05
#define ZK_CMD_TIMESTAMP        0x06
#define ZK_CMD_JOB_END          0x07    /* privileged: driver only */
#define ZK_CMD_HBM_DISCARD      0x08    /* privileged: driver only */
#define ZK_CMD_MMU_INVALIDATE   0x09    /* privileged: driver only */
#define ZK_CMD_COUNT            0x0a

struct zk_cmd_hdr {
	uint8_t opcode;
	uint8_t flags;          /* per-opcode ZK_*_F_* */
	uint16_t reserved0;     /* must be 0 */
	uint32_t reserved1;     /* must be 0 */
};

/* Switch the device address space for the commands that follow. */
struct zk_cmd_set_context {
	struct zk_cmd_hdr hdr;
	uint32_t ctx_id;
	uint32_t reserved;
	uint64_t pt_root;       /* HBM offset of the level-0 page table */
	uint64_t pad[5];
};

/*
 * Copy size bytes from src to dst (device VAs of the current context;
 * system-memory pages are reached by bus-master DMA through the MMU).
 * ZK_DMA_F_FILL: src is the 32-bit pattern itself (low bits, not an address);
 * dst is filled with it.
 * ZK_DMA_F_SGLIST: src is the VA of `size` struct zk_dma_sg entries.
 */
#define ZK_DMA_F_FILL           (1u << 0)
#define ZK_DMA_F_SGLIST         (1u << 1)
#define ZK_DMA_MAX_SG           4096
struct zk_cmd_dma {
	struct zk_cmd_hdr hdr;
	uint64_t src;
	uint64_t dst;
	uint64_t size;
	uint64_t pad[4];
};

struct zk_dma_sg {
	uint64_t src;
	uint64_t dst;
	uint64_t size;
};

/*
 * Run a compiled kernel (ISA: include/zhikai_isa.h) over a grid of
 * workgroups.  code_va/code_size: the loaded image (code then constants),
 * entry: byte offset of the kernel's first instruction in that image.
 *
 * ZK_LAUNCH_F_SIMT (ISA v2, include/zhikai_simt.h): the entry is SIMT code
 * (16-byte aligned); grid counts blocks of block[0]*block[1]*block[2]
 * threads (1..ZK_SIMT_MAX_THREADS); args_va/args_size is the byte-addressed
 * parameter buffer (<= ZK_SIMT_MAX_PARAMS bytes, any size); shared_bytes is
 * the block's shared memory (the kernel's static size plus the launch's
 * dynamic size, <= ZK_SIMT_MAX_SHARED) and local_bytes the local memory of
 * each thread (<= ZK_SIMT_MAX_LOCAL).  Without the flag those three fields
 * and `reserved` must be 0 (a tile launch, as in ISA v1).
 */
#define ZK_LAUNCH_F_SIMT        (1u << 0)
struct zk_cmd_launch {
	struct zk_cmd_hdr hdr;
	uint64_t code_va;
	uint32_t code_size;
	uint32_t entry;
	uint32_t grid[3];
	uint32_t shared_bytes;  /* SIMT: shared memory per block, else 0 */
	uint64_t args_va;
	uint32_t args_size;     /* tile: multiple of 8, <= ZK_MAX_ARGS * 8 */
	uint32_t local_bytes;   /* SIMT: local memory per thread, else 0 */
	uint16_t block[3];      /* SIMT: threads per block x, y, z, else 0 */
	uint16_t reserved;      /* 0 */
};

/* Write value (64-bit) to addr; ZK_FENCE_F_IRQ raises the queue vector. */
#define ZK_FENCE_F_IRQ          (1u << 0)
struct zk_cmd_fence {
	struct zk_cmd_hdr hdr;
	uint64_t addr;
	uint64_t value;
	uint64_t pad[5];
};

/* Stall this queue until the 64-bit value at addr is >= value. */
struct zk_cmd_wait {
	struct zk_cmd_hdr hdr;
	uint64_t addr;
	uint64_t value;
	uint64_t pad[5];
};

/* Write the device clock (ns) to addr; ZK_TS_F_CARD_TIME: modelled time. */
#define ZK_TS_F_CARD_TIME       (1u << 0)
struct zk_cmd_timestamp {
	struct zk_cmd_hdr hdr;
	uint64_t addr;
	uint64_t pad[6];
};

/*
 * End of a driver job.  Never skipped: writes the job's status (u32
 * ZK_JOB_*) to status_bus, then seqno to the queue's FENCE_WB address and
 * the FENCE register, then raises the queue vector if ZK_JOB_END_F_IRQ.
 * After a fault the queue skips commands up to the next JOB_END.
 */
#define ZK_JOB_END_F_IRQ        (1u << 0)
struct zk_cmd_job_end {
	struct zk_cmd_hdr hdr;
	uint64_t seqno;
	uint64_t status_bus;    /* bus address of a u32, 0 = none */
	uint64_t pad[5];
};

/*
 * Drop every translation the device has cached (all queues, all contexts)
 * and complete.  The driver issues it after clearing page-table entries and
 * before the memory they pointed to is reused.  A command that is already
 * executing on another queue may finish with translations it took before
 * the invalidate: the driver waits for the context's jobs to retire too.
 * ctx_id/va/size name what was unmapped (for tracing); 0 = everything.
 */
struct zk_cmd_mmu_invalidate {
	struct zk_cmd_hdr hdr;
	uint32_t ctx_id;
	uint32_t reserved;
	uint64_t va;
	uint64_t size;
	uint64_t pad[4];
};

/*
 * Drop the host backing of HBM [hbm_off, hbm_off+size) (HBM offsets, not
 * VAs): it reads back as zero and costs the host no memory.  In ring order,
 * so the driver can scrub memory after the last job that used it.  A range
 * outside HBM is ZK_FAULT_ILLEGAL_CMD.
 */
struct zk_cmd_hbm_discard {
	struct zk_cmd_hdr hdr;
	uint64_t hbm_off;
	uint64_t size;
	uint64_t pad[5];
};

/* Every command is exactly one ring slot. */
#define ZK_ASSERT_CMD_SIZE(t) \
	_Static_assert(sizeof(struct t) == ZK_CMD_SIZE, #t " must be 64 bytes")
ZK_ASSERT_CMD_SIZE(zk_cmd_set_context);
ZK_ASSERT_CMD_SIZE(zk_cmd_dma);
ZK_ASSERT_CMD_SIZE(zk_cmd_launch);
ZK_ASSERT_CMD_SIZE(zk_cmd_fence);
ZK_ASSERT_CMD_SIZE(zk_cmd_wait);
ZK_ASSERT_CMD_SIZE(zk_cmd_timestamp);
ZK_ASSERT_CMD_SIZE(zk_cmd_job_end);
ZK_ASSERT_CMD_SIZE(zk_cmd_mmu_invalidate);
ZK_ASSERT_CMD_SIZE(zk_cmd_hbm_discard);

#define ZK_JOB_OK               0
#define ZK_JOB_FAULTED          1   /* MMU or DMA fault */
#define ZK_JOB_ERROR            2   /* engine/command error */
#define ZK_JOB_ABORTED          3   /* dropped by a reset */

/* ------------------------------------------------------------------ */
/* Device MMU: 3 levels of 512 x 8-byte entries, 39-bit VA, 4 KiB pages */
/* ------------------------------------------------------------------ */

#define ZK_VA_BITS              39
#define ZK_PAGE_SHIFT           12
#define ZK_PAGE_SIZE            (1ull << ZK_PAGE_SHIFT)
#define ZK_HUGE_SHIFT           21              /* level-1 leaf: 2 MiB */
#define ZK_HUGE_SIZE            (1ull << ZK_HUGE_SHIFT)
#define ZK_PT_ENTRIES           512
#define ZK_PT_L0_SHIFT          30
#define ZK_PT_L1_SHIFT          21
#define ZK_PT_L2_SHIFT          12
#define ZK_PT_INDEX(va, shift)  (((va) >> (shift)) & (ZK_PT_ENTRIES - 1))

#define ZK_PTE_VALID            (1ull << 0)
#define ZK_PTE_WRITE            (1ull << 1)
#define ZK_PTE_HUGE             (1ull << 2)     /* level-1 leaf of 2 MiB */
#define ZK_PTE_SYSMEM           (1ull << 3)     /* addr is a host bus address */
#define ZK_PTE_ADDR_MASK        0x000ffffffffff000ull
/* Non-leaf entries point (HBM offset) at the next table. */

/* ------------------------------------------------------------------ */
/* Firmware image: header, then payload; CRC32 (IEEE, zlib) of payload */
/* ------------------------------------------------------------------ */

#define ZK_FW_MAGIC             0x57464b5a      /* "ZKFW" */
#define ZK_FW_MAX_SIZE          (4u << 20)
#define ZK_FW_MAX_CAPS          8

#define ZK_FW_CAP_NONE          0
#define ZK_FW_CAP_QUEUES        1   /* value: queues the firmware drives */
#define ZK_FW_CAP_HEARTBEAT_MS  2   /* value: heartbeat period */
#define ZK_FW_CAP_ISA_VERSION   3   /* value: ZK_ISA_VERSION supported */

struct zk_fw_cap {
	uint32_t id;
	uint32_t value;
};

struct zk_fw_header {
	uint32_t magic;
	uint32_t header_size;   /* sizeof(struct zk_fw_header) */
	uint32_t image_version; /* major << 16 | minor << 8 | patch */
	uint32_t api_version;   /* ZK_API_VERSION it was built for */
	uint32_t image_size;    /* header + payload bytes */
	uint32_t payload_crc32;
	uint32_t num_caps;
	uint32_t reserved;      /* must be 0 */
	struct zk_fw_cap caps[ZK_FW_MAX_CAPS];
};
_Static_assert(sizeof(struct zk_fw_header) == 96, "firmware header layout");

/* ------------------------------------------------------------------ */
/* Card performance model (appended; see docs/perf-model.md)            */
/* ------------------------------------------------------------------ */

/*
 * Modelled card time (ZK_REG_CARD_TIME, TIMESTAMP with ZK_TS_F_CARD_TIME)
 * advances by the roofline duration of every DMA and LAUNCH the card runs,
 * not by host time; it stays put while the card is idle.
 * ZK_TS_F_CARD_ENERGY: TIMESTAMP writes the modelled card energy in nJ
 * (ZK_REG_CARD_ENERGY_UJ, finer) instead of a time; it wins over
 * ZK_TS_F_CARD_TIME if both are set.
 */
#define ZK_TS_F_CARD_ENERGY     (1u << 1)

#define ZK_CAP_PERF_MODEL       (1u << 8)   /* the registers below exist */
#define ZK_CAP_SIMT             (1u << 10)  /* SIMT unit: ISA 2 (zhikai_simt.h) */

#define ZK_PROFILE_CUSTOM       0           /* never reported; reserved */
#define ZK_PROFILE_ZK100        1           /* 32 GB, 96 TFLOPS fp16, 300 W */
#define ZK_PROFILE_ZK50         2           /* 16 GB, 64 TFLOPS fp16, 150 W */

/* Model parameters (RO; rates at the max clock). */
#define ZK_REG_PERF_PROFILE         0x300   /* ZK_PROFILE_* the card was made as */
#define ZK_REG_PERF_HBM_BW_MBS      0x304   /* HBM bandwidth, 1e6 bytes/s */
#define ZK_REG_PERF_PCIE_BW_MBS     0x308   /* host <-> HBM DMA bandwidth */
#define ZK_REG_PERF_COPY_BW_MBS     0x30c   /* HBM -> HBM DMA, bytes copied/s */
#define ZK_REG_PERF_FP32_GFLOPS     0x310   /* peak dense fp32 */
#define ZK_REG_PERF_FP16_GFLOPS     0x314   /* peak dense fp16 */
#define ZK_REG_PERF_BF16_GFLOPS     0x318   /* peak dense bf16 */
#define ZK_REG_PERF_INT8_GOPS       0x31c   /* peak dense int8 */
#define ZK_REG_PERF_LAUNCH_NS       0x320   /* LAUNCH overhead at max clock */
#define ZK_REG_PERF_DMA_SETUP_NS    0x324   /* DMA overhead */
#define ZK_REG_PERF_TDP_MW          0x328   /* board power, fully busy */
#define ZK_REG_PERF_IDLE_MW         0x32c   /* board power, idle */

/* Model state (RO).  64-bit values: read LO first, it latches HI. */
#define ZK_REG_CARD_CLOCK_MHZ       0x330   /* clock the last command ran at */
#define ZK_REG_CARD_POWER_MW        0x334   /* avg power of the last command */
#define ZK_REG_CARD_ENERGY_UJ_LO    0x338   /* modelled energy, uJ */
#define ZK_REG_CARD_ENERGY_UJ_HI    0x33c
#define ZK_REG_CARD_COMPUTE_NS_LO   0x340   /* card time in compute-bound bodies */
#define ZK_REG_CARD_COMPUTE_NS_HI   0x344
#define ZK_REG_CARD_MEMORY_NS_LO    0x348   /* card time in memory-bound bodies */
#define ZK_REG_CARD_MEMORY_NS_HI    0x34c
#define ZK_REG_CARD_OVERHEAD_NS_LO  0x350   /* card time in launch/DMA overheads */
#define ZK_REG_CARD_OVERHEAD_NS_HI  0x354
#define ZK_REG_CARD_LAUNCHES_LO     0x358   /* modelled LAUNCH commands */
#define ZK_REG_CARD_LAUNCHES_HI     0x35c
#define ZK_REG_CARD_DMAS_LO         0x360   /* modelled DMA commands */
#define ZK_REG_CARD_DMAS_HI         0x364
#define ZK_REG_CARD_HBM_BYTES_LO    0x368   /* bytes read + written in HBM */
#define ZK_REG_CARD_HBM_BYTES_HI    0x36c
#define ZK_REG_CARD_PCIE_BYTES_LO   0x370   /* bytes moved over PCIe */
#define ZK_REG_CARD_PCIE_BYTES_HI   0x374
/* FLOPs (int8: ops) by the dtype of the math, dt = ZK_DT_F32..ZK_DT_I8. */
#define ZK_REG_CARD_FLOPS_LO(dt)    (0x380 + (dt) * 8)
#define ZK_REG_CARD_FLOPS_HI(dt)    (0x384 + (dt) * 8)

#endif /* ZHIKAI_HW_H */
