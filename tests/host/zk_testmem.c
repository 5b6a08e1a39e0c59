/* SPDX-License-Identifier: MIT */
#include "zk_testmem.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "zhikai_hw.h"

static uint64_t pt_alloc(ZkTestMem *t)
{
    assert(t->pt_next + ZK_PAGE_SIZE <= ZKT_PT_AREA);
    uint64_t p = t->pt_next;
    t->pt_next += ZK_PAGE_SIZE;
    memset(t->ms.hbm + p, 0, ZK_PAGE_SIZE);
    return p;
}

static uint64_t *pte_at(ZkTestMem *t, uint64_t table, unsigned idx)
{
    return (uint64_t *)(t->ms.hbm + table) + idx;
}

void zkt_init(ZkTestMem *t, uint64_t hbm_size)
{
    memset(t, 0, sizeof(*t));
    t->ms.hbm = calloc(1, hbm_size);
    assert(t->ms.hbm);
    t->ms.hbm_size = hbm_size;
    t->ms.has_ctx = true;
    t->ms.pt_root = pt_alloc(t);
    t->data_next = ZKT_PT_AREA;
    t->va_next = 0x10000000;
}

void zkt_fini(ZkTestMem *t)
{
    free(t->ms.hbm);
    t->ms.hbm = NULL;
}

/* Walk to the table of `level` for va, creating missing tables. */
static uint64_t table_for(ZkTestMem *t, uint64_t va, int level)
{
    static const int shift[3] = { ZK_PT_L0_SHIFT, ZK_PT_L1_SHIFT,
                                  ZK_PT_L2_SHIFT };
    uint64_t table = t->ms.pt_root;
    for (int l = 0; l < level; l++) {
        uint64_t *e = pte_at(t, table, ZK_PT_INDEX(va, shift[l]));
        if (!(*e & ZK_PTE_VALID)) {
            *e = pt_alloc(t) | ZK_PTE_VALID;
        }
        table = *e & ZK_PTE_ADDR_MASK;
    }
    return table;
}

void zkt_set_pte_noinval(ZkTestMem *t, uint64_t va, int level, uint64_t pte)
{
    static const int shift[3] = { ZK_PT_L0_SHIFT, ZK_PT_L1_SHIFT,
                                  ZK_PT_L2_SHIFT };
    *pte_at(t, table_for(t, va, level), ZK_PT_INDEX(va, shift[level])) = pte;
}

void zkt_set_pte(ZkTestMem *t, uint64_t va, int level, uint64_t pte)
{
    zkt_set_pte_noinval(t, va, level, pte);
    zk_mmu_tlb_flush(&t->ms);   /* what the driver's MMU_INVALIDATE does */
}

void zkt_map(ZkTestMem *t, uint64_t va, uint64_t hbm_off, uint64_t len,
             uint64_t flags)
{
    for (uint64_t o = 0; o < len; o += ZK_PAGE_SIZE) {
        zkt_set_pte(t, va + o, 2, (hbm_off + o) | flags | ZK_PTE_VALID);
    }
}

void zkt_map_huge(ZkTestMem *t, uint64_t va, uint64_t addr, uint64_t flags)
{
    zkt_set_pte(t, va, 1, addr | flags | ZK_PTE_VALID | ZK_PTE_HUGE);
}

static uint64_t round_page(uint64_t n)
{
    return (n + ZK_PAGE_SIZE - 1) & ~(ZK_PAGE_SIZE - 1);
}

uint64_t zkt_alloc(ZkTestMem *t, uint64_t len)
{
    uint64_t n = round_page(len ? len : 1);
    assert(t->data_next + n <= t->ms.hbm_size);
    uint64_t va = t->va_next;
    zkt_map(t, va, t->data_next, n, ZK_PTE_WRITE);
    t->data_next += n;
    t->va_next += n + ZK_PAGE_SIZE;
    return va;
}

uint64_t zkt_alloc_scattered(ZkTestMem *t, uint64_t len)
{
    uint64_t n = round_page(len ? len : 1);
    assert(t->data_next + n <= t->ms.hbm_size);
    uint64_t va = t->va_next;
    for (uint64_t o = 0; o < n; o += ZK_PAGE_SIZE) {
        zkt_map(t, va + o, t->data_next + n - ZK_PAGE_SIZE - o, ZK_PAGE_SIZE,
                ZK_PTE_WRITE);
    }
    t->data_next += n;
    t->va_next += n + ZK_PAGE_SIZE;
    return va;
}

void *zkt_ptr(ZkTestMem *t, uint64_t va)
{
    ZkXlate x;
    ZkFault f;
    int r = zk_mmu_translate(&t->ms, va, false, &x, &f);
    assert(r == 0 && !x.sysmem);
    (void)r;
    return t->ms.hbm + x.addr;
}

void zkt_put(ZkTestMem *t, uint64_t va, const void *src, uint64_t len)
{
    ZkFault f;
    int r = zk_mem_write(&t->ms, va, src, len, &f);
    assert(r == 0);
    (void)r;
}

void zkt_get(ZkTestMem *t, uint64_t va, void *dst, uint64_t len)
{
    ZkFault f;
    int r = zk_mem_read(&t->ms, va, dst, len, &f);
    assert(r == 0);
    (void)r;
}
