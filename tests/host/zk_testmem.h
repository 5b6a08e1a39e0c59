/* SPDX-License-Identifier: MIT */
/*
 * zk_testmem.h - a fake HBM with a page-table builder, for host tests.
 *
 * The first ZKT_PT_AREA bytes of HBM hold page tables (bump-allocated);
 * the rest is data.  zkt_map() writes real zhikai_hw.h PTEs so the code
 * under test walks them exactly as it would on the device.
 */
#ifndef ZK_TESTMEM_H
#define ZK_TESTMEM_H

#include <stdbool.h>
#include <stdint.h>

#include "zk_mmu.h"

#define ZKT_PT_AREA (1u << 20)

typedef struct ZkTestMem {
    ZkMemSpace ms;
    uint64_t pt_next;        /* next free table page */
    uint64_t data_next;      /* next free data byte (for zkt_alloc) */
    uint64_t va_next;        /* next free VA (for zkt_alloc) */
} ZkTestMem;

/* HBM of hbm_size bytes (zeroed), empty level-0 table, context set. */
void zkt_init(ZkTestMem *t, uint64_t hbm_size);
void zkt_fini(ZkTestMem *t);
/* Map [va, va+len) to HBM [hbm_off, ...) with 4 KiB pages; flags ZK_PTE_*. */
void zkt_map(ZkTestMem *t, uint64_t va, uint64_t hbm_off, uint64_t len,
             uint64_t flags);
/* One 2 MiB level-1 leaf. */
void zkt_map_huge(ZkTestMem *t, uint64_t va, uint64_t addr, uint64_t flags);
/*
 * Write a raw PTE at level (0..2) for va, allocating tables above it, then
 * drop the MMU's translation cache (as the driver's MMU_INVALIDATE does).
 */
void zkt_set_pte(ZkTestMem *t, uint64_t va, int level, uint64_t pte);
/* The same without the invalidate: the cache may keep the old entry. */
void zkt_set_pte_noinval(ZkTestMem *t, uint64_t va, int level, uint64_t pte);
/*
 * Allocate len bytes of writable, contiguous device memory; returns its VA.
 * Allocations are page-aligned and separated by an unmapped guard page.
 */
uint64_t zkt_alloc(ZkTestMem *t, uint64_t len);
/*
 * Like zkt_alloc, but the pages are mapped to HBM in reverse order so the
 * range is valid yet physically discontiguous (exercises slow paths).
 */
uint64_t zkt_alloc_scattered(ZkTestMem *t, uint64_t len);
/* Host pointer for a VA (must be mapped to HBM). */
void *zkt_ptr(ZkTestMem *t, uint64_t va);
void zkt_put(ZkTestMem *t, uint64_t va, const void *src, uint64_t len);
void zkt_get(ZkTestMem *t, uint64_t va, void *dst, uint64_t len);

#endif
