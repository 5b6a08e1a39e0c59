/* SPDX-License-Identifier: MIT */
/*
 * zk_mmu.c - device MMU page walk and VA-based memory access.
 *
 * Page tables (include/zhikai_hw.h) live in HBM: three levels of 512
 * little-endian 8-byte entries.  Every table entry and every leaf range is
 * bounds-checked against the HBM size before it is touched, so a hostile
 * page table can only produce a fault, never an out-of-bounds access.
 *
 * Rules the walk enforces (anything else is a fault of the access kind):
 *  - no context (SET_CONTEXT not run yet)       -> ZK_FAULT_NO_CONTEXT
 *  - VA >= 2^39                                 -> fault
 *  - level-0 entries are always table pointers: HUGE or SYSMEM set -> fault
 *  - a level-1 entry with HUGE is a 2 MiB leaf; its address must be 2 MiB
 *    aligned (the low bits are reserved)
 *  - table pointers and HBM leaf pages must lie wholly inside HBM
 *  - SYSMEM leaves are host bus addresses reached through ms->sys_rw; a
 *    failing or missing sys_rw is ZK_FAULT_DMA
 */
#include <string.h>

#include "zhikai_hw.h"
#include "zk_mmu.h"

/* Little-endian 64-bit load from an arbitrary HBM offset. */
static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* True when [off, off+len) lies inside HBM (overflow-safe). */
static bool hbm_contains(const ZkMemSpace *ms, uint64_t off, uint64_t len)
{
    return off <= ms->hbm_size && len <= ms->hbm_size - off;
}

/* Read entry `idx` of the table at HBM offset `table`; false if outside HBM. */
static bool read_pte(const ZkMemSpace *ms, uint64_t table, unsigned idx,
                     uint64_t *pte)
{
    uint64_t off = table + (uint64_t)idx * 8;
    if (table > UINT64_MAX - ZK_PAGE_SIZE || !hbm_contains(ms, off, 8)) {
        return false;
    }
    *pte = load_le64(ms->hbm + off);
    return true;
}

static int xlate_fault(ZkFault *fault, uint32_t type, uint64_t va)
{
    if (fault) {
        fault->type = type;
        fault->va = va;
    }
    return (int)type;
}

void zk_mmu_tlb_flush(ZkMemSpace *ms)
{
    memset(ms->tlb, 0, sizeof(ms->tlb));
    if (ms->inval_epoch) {
        ms->tlb_epoch = __atomic_load_n(ms->inval_epoch, __ATOMIC_ACQUIRE);
    }
}

static ZkTlbEntry *tlb_slot(ZkMemSpace *ms, uint64_t va)
{
    return &ms->tlb[(va >> ZK_PAGE_SHIFT) % ZK_TLB_ENTRIES];
}

static ZkTlbEntry *tlb_lookup(ZkMemSpace *ms, uint64_t va)
{
    ZkTlbEntry *e;

    if (ms->inval_epoch &&
        __atomic_load_n(ms->inval_epoch, __ATOMIC_ACQUIRE) != ms->tlb_epoch) {
        zk_mmu_tlb_flush(ms);
    }
    /* A 2 MiB leaf is cached in the slot of the 4 KiB page first used. */
    e = tlb_slot(ms, va);
    if (e->valid && e->ctx_id == ms->ctx_id && e->pt_root == ms->pt_root &&
        (va & ~(e->leaf_size - 1)) == e->va_base) {
        return e;
    }
    return NULL;
}

int zk_mmu_translate(ZkMemSpace *ms, uint64_t va, bool write,
                     ZkXlate *out, ZkFault *fault)
{
    uint32_t kind = write ? ZK_FAULT_MMU_WRITE : ZK_FAULT_MMU_READ;
    uint64_t pte, leaf_size;
    ZkTlbEntry *e;

    if (!ms->has_ctx) {
        return xlate_fault(fault, ZK_FAULT_NO_CONTEXT, va);
    }
    if (va >> ZK_VA_BITS) {
        return xlate_fault(fault, kind, va);
    }
    e = tlb_lookup(ms, va);
    if (e) {
        ms->tlb_hits++;
        pte = e->pte;
        leaf_size = e->leaf_size;
        goto leaf;
    }
    ms->tlb_misses++;
    /* Level 0: always a pointer to a level-1 table. */
    if (!read_pte(ms, ms->pt_root, ZK_PT_INDEX(va, ZK_PT_L0_SHIFT), &pte) ||
        !(pte & ZK_PTE_VALID) || (pte & (ZK_PTE_HUGE | ZK_PTE_SYSMEM))) {
        return xlate_fault(fault, kind, va);
    }
    /* Level 1: a 2 MiB leaf or a pointer to a level-2 table. */
    if (!read_pte(ms, pte & ZK_PTE_ADDR_MASK, ZK_PT_INDEX(va, ZK_PT_L1_SHIFT),
                  &pte) || !(pte & ZK_PTE_VALID)) {
        return xlate_fault(fault, kind, va);
    }
    if (pte & ZK_PTE_HUGE) {
        if (pte & ZK_PTE_ADDR_MASK & (ZK_HUGE_SIZE - 1)) {
            return xlate_fault(fault, kind, va);
        }
        leaf_size = ZK_HUGE_SIZE;
    } else {
        if ((pte & ZK_PTE_SYSMEM) ||
            !read_pte(ms, pte & ZK_PTE_ADDR_MASK,
                      ZK_PT_INDEX(va, ZK_PT_L2_SHIFT), &pte) ||
            !(pte & ZK_PTE_VALID)) {
            return xlate_fault(fault, kind, va);
        }
        leaf_size = ZK_PAGE_SIZE;
    }
    e = tlb_slot(ms, va);
    *e = (ZkTlbEntry){
        .valid = true, .ctx_id = ms->ctx_id, .pt_root = ms->pt_root,
        .va_base = va & ~(leaf_size - 1), .leaf_size = leaf_size, .pte = pte,
    };
leaf:
    if (write && !(pte & ZK_PTE_WRITE)) {
        return xlate_fault(fault, kind, va);
    }
    uint64_t base = pte & ZK_PTE_ADDR_MASK;
    bool sysmem = pte & ZK_PTE_SYSMEM;
    if (!sysmem && !hbm_contains(ms, base, leaf_size)) {
        return xlate_fault(fault, kind, va);
    }
    uint64_t in_page = va & (leaf_size - 1);
    out->sysmem = sysmem;
    out->addr = base + in_page;
    out->span = leaf_size - in_page;
    out->writable = pte & ZK_PTE_WRITE;
    return ZK_FAULT_NONE;
}

/* One contiguous chunk of a VA range: translation clipped to `len`. */
static int next_chunk(ZkMemSpace *ms, uint64_t va, uint64_t len, bool write,
                      ZkXlate *x, ZkFault *fault)
{
    int r = zk_mmu_translate(ms, va, write, x, fault);
    if (r == ZK_FAULT_NONE && x->span > len) {
        x->span = len;
    }
    return r;
}

/* Bus-master access to a SYSMEM chunk; ZK_FAULT_DMA if it cannot be done. */
static int sys_access(ZkMemSpace *ms, const ZkXlate *x, uint64_t va,
                      void *buf, bool write, ZkFault *fault)
{
    if (!ms->sys_rw || ms->sys_rw(ms->sys_opaque, x->addr, buf, x->span,
                                  write) != 0) {
        return xlate_fault(fault, ZK_FAULT_DMA, va);
    }
    ms->sys_bytes += x->span;
    return ZK_FAULT_NONE;
}

int zk_mem_read(ZkMemSpace *ms, uint64_t va, void *buf, uint64_t len,
                ZkFault *fault)
{
    uint8_t *dst = buf;
    while (len) {
        ZkXlate x;
        int r = next_chunk(ms, va, len, false, &x, fault);
        if (r) {
            return r;
        }
        if (x.sysmem) {
            r = sys_access(ms, &x, va, dst, false, fault);
            if (r) {
                return r;
            }
        } else {
            memcpy(dst, ms->hbm + x.addr, x.span);
            ms->hbm_bytes_read += x.span;
        }
        dst += x.span;
        va += x.span;
        len -= x.span;
    }
    return ZK_FAULT_NONE;
}

int zk_mem_write(ZkMemSpace *ms, uint64_t va, const void *buf, uint64_t len,
                 ZkFault *fault)
{
    const uint8_t *src = buf;
    while (len) {
        ZkXlate x;
        int r = next_chunk(ms, va, len, true, &x, fault);
        if (r) {
            return r;
        }
        if (x.sysmem) {
            /* sys_rw takes a non-const buffer; it only reads it here. */
            r = sys_access(ms, &x, va, (void *)src, true, fault);
            if (r) {
                return r;
            }
        } else {
            memcpy(ms->hbm + x.addr, src, x.span);
            ms->hbm_bytes_written += x.span;
        }
        src += x.span;
        va += x.span;
        len -= x.span;
    }
    return ZK_FAULT_NONE;
}

/*
 * VA-to-VA copy, chunked at page boundaries of both sides.  HBM-to-HBM
 * chunks are copied directly; anything touching system memory goes through
 * a small bounce buffer.  Overlapping VA ranges give unspecified results,
 * as on a real DMA engine.
 */
int zk_mem_copy(ZkMemSpace *ms, uint64_t dst, uint64_t src, uint64_t len,
                ZkFault *fault)
{
    uint8_t bounce[4096];
    while (len) {
        ZkXlate xs, xd;
        int r = next_chunk(ms, src, len, false, &xs, fault);
        if (r) {
            return r;
        }
        r = next_chunk(ms, dst, xs.span, true, &xd, fault);
        if (r) {
            return r;
        }
        uint64_t n = xd.span;   /* <= xs.span <= len */
        if (!xs.sysmem && !xd.sysmem) {
            memmove(ms->hbm + xd.addr, ms->hbm + xs.addr, n);
            ms->hbm_bytes_read += n;
            ms->hbm_bytes_written += n;
        } else {
            if (n > sizeof(bounce)) {
                n = sizeof(bounce);
            }
            r = zk_mem_read(ms, src, bounce, n, fault);
            if (!r) {
                r = zk_mem_write(ms, dst, bounce, n, fault);
            }
            if (r) {
                return r;
            }
        }
        src += n;
        dst += n;
        len -= n;
    }
    return ZK_FAULT_NONE;
}

/* Fill with a repeating 32-bit pattern; byte i of dst gets pattern byte i%4. */
int zk_mem_fill(ZkMemSpace *ms, uint64_t dst, uint32_t pattern, uint64_t len,
                ZkFault *fault)
{
    uint8_t pat[4] = { pattern, pattern >> 8, pattern >> 16, pattern >> 24 };
    uint8_t bounce[4096];
    uint64_t done = 0;

    for (size_t i = 0; i < sizeof(bounce); i++) {
        bounce[i] = pat[i & 3];
    }
    while (done < len) {
        ZkXlate x;
        int r = next_chunk(ms, dst + done, len - done, true, &x, fault);
        if (r) {
            return r;
        }
        if (x.sysmem) {
            /* The bounce buffer starts at pattern phase 0; keep the phase. */
            if (x.span > sizeof(bounce) - 4) {
                x.span = sizeof(bounce) - 4;
            }
            ZkXlate part = x;
            r = sys_access(ms, &part, dst + done, bounce + (done & 3), true,
                           fault);
            if (r) {
                return r;
            }
        } else {
            uint8_t *p = ms->hbm + x.addr;
            for (uint64_t i = 0; i < x.span; i++) {
                p[i] = pat[(done + i) & 3];
            }
            ms->hbm_bytes_written += x.span;
        }
        done += x.span;
    }
    return ZK_FAULT_NONE;
}

/*
 * Direct pointer to a VA range backed by one contiguous HBM range.  Every
 * page of the range is checked even after a discontinuity so that a NULL
 * with fault->type == ZK_FAULT_NONE really means "valid, use the slow path".
 * The whole range is counted once in hbm_bytes_read (or _written if write);
 * callers that both read and write through the pointer add the other side.
 */
void *zk_mem_map(ZkMemSpace *ms, uint64_t va, uint64_t len, bool write,
                 ZkFault *fault)
{
    uint64_t base = 0, off = 0;
    bool contiguous = true;

    if (fault) {
        fault->type = ZK_FAULT_NONE;
        fault->va = 0;
    }
    if (len == 0) {
        return NULL;
    }
    if (va > UINT64_MAX - len) {
        xlate_fault(fault, write ? ZK_FAULT_MMU_WRITE : ZK_FAULT_MMU_READ, va);
        return NULL;
    }
    while (off < len) {
        ZkXlate x;
        if (next_chunk(ms, va + off, len - off, write, &x, fault)) {
            return NULL;
        }
        if (off == 0) {
            base = x.addr;
        }
        if (x.sysmem || x.addr != base + off) {
            contiguous = false;
        }
        off += x.span;
    }
    if (!contiguous) {
        return NULL;
    }
    if (write) {
        ms->hbm_bytes_written += len;
    } else {
        ms->hbm_bytes_read += len;
    }
    return ms->hbm + base;
}
