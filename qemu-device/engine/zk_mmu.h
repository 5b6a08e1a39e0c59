/* SPDX-License-Identifier: MIT */
/*
 * zk_mmu.h - the device MMU and device-memory access, independent of QEMU.
 *
 * Walks the page tables of include/zhikai_hw.h (stored in HBM) to turn a
 * device VA into an HBM offset or a host bus address.  Used by the DMA
 * engine and the compute engine; the device model supplies the HBM pointer
 * and a callback for system-memory (bus-master DMA) access.
 */
#ifndef ZK_MMU_H
#define ZK_MMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ZkFault {
    uint32_t type;          /* ZK_FAULT_* */
    uint64_t va;            /* first failing VA */
} ZkFault;

/* Returns 0 on success, non-zero if the bus access failed. */
typedef int (*ZkSysRw)(void *opaque, uint64_t bus_addr, void *buf,
                       uint64_t len, bool write);

/*
 * Translation cache: leaf entries (4 KiB or 2 MiB) tagged by context and
 * page-table root, direct-mapped by VA.  Like a real MMU's TLB it is NOT
 * coherent with the page tables: after clearing entries the driver must
 * send ZK_CMD_MMU_INVALIDATE before it reuses the memory.
 */
#define ZK_TLB_ENTRIES 64

typedef struct ZkTlbEntry {
    bool valid;
    uint32_t ctx_id;
    uint64_t pt_root;
    uint64_t va_base;       /* va & ~(leaf_size - 1) */
    uint64_t leaf_size;
    uint64_t pte;           /* the leaf entry as read */
} ZkTlbEntry;

typedef struct ZkMemSpace {
    uint8_t *hbm;           /* host pointer to the HBM backing */
    uint64_t hbm_size;
    bool has_ctx;           /* false until SET_CONTEXT */
    uint32_t ctx_id;
    uint64_t pt_root;       /* HBM offset of the level-0 table */
    ZkSysRw sys_rw;         /* may be NULL: SYSMEM pages then fault */
    void *sys_opaque;
    /* Byte counters for the power/timing model (HBM side only). */
    uint64_t hbm_bytes_read;
    uint64_t hbm_bytes_written;
    uint64_t sys_bytes;
    /*
     * Device-wide invalidate epoch (ZK_CMD_MMU_INVALIDATE bumps it, read
     * atomically; NULL = none): a space whose tlb_epoch differs drops its
     * cache before the next lookup.
     */
    const uint32_t *inval_epoch;
    uint32_t tlb_epoch;
    ZkTlbEntry tlb[ZK_TLB_ENTRIES];
    uint64_t tlb_hits, tlb_misses;
} ZkMemSpace;

typedef struct ZkXlate {
    bool sysmem;            /* true: addr is a bus address */
    uint64_t addr;          /* HBM offset or bus address of va */
    uint64_t span;          /* bytes from va to the end of its page */
    bool writable;
} ZkXlate;

/* Translate one VA. Returns 0 or a ZK_FAULT_* (fault->va set). */
int zk_mmu_translate(ZkMemSpace *ms, uint64_t va, bool write,
                     ZkXlate *out, ZkFault *fault);

/* Drop every cached translation of this space. */
void zk_mmu_tlb_flush(ZkMemSpace *ms);

/* Copy between device VAs and a host buffer; page by page, any memory kind. */
int zk_mem_read(ZkMemSpace *ms, uint64_t va, void *buf, uint64_t len,
                ZkFault *fault);
int zk_mem_write(ZkMemSpace *ms, uint64_t va, const void *buf, uint64_t len,
                 ZkFault *fault);
/* VA to VA copy and fill (the DMA engine). */
int zk_mem_copy(ZkMemSpace *ms, uint64_t dst, uint64_t src, uint64_t len,
                ZkFault *fault);
int zk_mem_fill(ZkMemSpace *ms, uint64_t dst, uint32_t pattern, uint64_t len,
                ZkFault *fault);

/*
 * Direct pointer to [va, va+len) when the whole range is mapped to one
 * physically contiguous HBM range with the needed permission; otherwise
 * NULL.  fault->type is ZK_FAULT_NONE when the range is valid but not
 * contiguous (caller falls back to zk_mem_read/zk_mem_write).
 */
void *zk_mem_map(ZkMemSpace *ms, uint64_t va, uint64_t len, bool write,
                 ZkFault *fault);

#endif /* ZK_MMU_H */
