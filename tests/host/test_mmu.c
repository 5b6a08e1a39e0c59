/* SPDX-License-Identifier: MIT */
/* test_mmu.c - device MMU walk and VA memory access (zk_mmu.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "zhikai_hw.h"
#include "zk_mmu.h"
#include "zk_testmem.h"

#define HBM_SIZE (8u << 20)

/* A fake host bus: bus addresses SYS_BASE.. map onto sysmem[]. */
#define SYS_BASE 0x100000000ull
static uint8_t sysmem[64 << 10];
static int sys_fail;

static int fake_sys_rw(void *opaque, uint64_t bus, void *buf, uint64_t len,
                       bool write)
{
    (void)opaque;
    if (sys_fail || bus < SYS_BASE || bus - SYS_BASE + len > sizeof(sysmem)) {
        return -1;
    }
    if (write) {
        memcpy(sysmem + (bus - SYS_BASE), buf, len);
    } else {
        memcpy(buf, sysmem + (bus - SYS_BASE), len);
    }
    return 0;
}

static int setup(void **state)
{
    ZkTestMem *t = malloc(sizeof(*t));
    zkt_init(t, HBM_SIZE);
    t->ms.sys_rw = fake_sys_rw;
    sys_fail = 0;
    memset(sysmem, 0, sizeof(sysmem));
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    ZkTestMem *t = *state;
    zkt_fini(t);
    free(t);
    return 0;
}

static void test_translate_4k(void **state)
{
    ZkTestMem *t = *state;
    ZkXlate x;
    ZkFault f = { 0 };
    zkt_map(t, 0x40000000, 0x200000, 2 * ZK_PAGE_SIZE, ZK_PTE_WRITE);
    assert_int_equal(zk_mmu_translate(&t->ms, 0x40000123, false, &x, &f), 0);
    assert_false(x.sysmem);
    assert_true(x.writable);
    assert_int_equal(x.addr, 0x200123);
    assert_int_equal(x.span, ZK_PAGE_SIZE - 0x123);
    assert_int_equal(zk_mmu_translate(&t->ms, 0x40001fff, true, &x, &f), 0);
    assert_int_equal(x.addr, 0x201fff);
    assert_int_equal(x.span, 1);
    /* The page after the mapping is not mapped. */
    assert_int_equal(zk_mmu_translate(&t->ms, 0x40002000, false, &x, &f),
                     ZK_FAULT_MMU_READ);
    assert_int_equal(f.type, ZK_FAULT_MMU_READ);
    assert_int_equal(f.va, 0x40002000);
}

static void test_translate_huge(void **state)
{
    ZkTestMem *t = *state;
    ZkXlate x;
    ZkFault f;
    zkt_map_huge(t, 0x80000000, 0x400000, 0);
    assert_int_equal(zk_mmu_translate(&t->ms, 0x80123456, false, &x, &f), 0);
    assert_int_equal(x.addr, 0x400000 + 0x123456);
    assert_int_equal(x.span, ZK_HUGE_SIZE - 0x123456);
    assert_false(x.writable);
    assert_int_equal(zk_mmu_translate(&t->ms, 0x80000000, true, &x, &f),
                     ZK_FAULT_MMU_WRITE);
    assert_int_equal(f.va, 0x80000000);
}

static void test_readonly_page(void **state)
{
    ZkTestMem *t = *state;
    ZkFault f;
    uint32_t v = 7;
    zkt_map(t, 0x1000, 0x200000, ZK_PAGE_SIZE, 0);
    assert_int_equal(zk_mem_read(&t->ms, 0x1000, &v, 4, &f), 0);
    assert_int_equal(zk_mem_write(&t->ms, 0x1004, &v, 4, &f),
                     ZK_FAULT_MMU_WRITE);
    assert_int_equal(f.va, 0x1004);
}

static void test_bad_tables(void **state)
{
    ZkTestMem *t = *state;
    ZkXlate x;
    ZkFault f;
    /* VA beyond 39 bits. */
    assert_int_equal(zk_mmu_translate(&t->ms, 1ull << 39, false, &x, &f),
                     ZK_FAULT_MMU_READ);
    assert_int_equal(f.va, 1ull << 39);
    /* Level-0 entry pointing past the end of HBM. */
    zkt_set_pte(t, 1ull << 30, 0, (uint64_t)HBM_SIZE | ZK_PTE_VALID);
    assert_int_equal(zk_mmu_translate(&t->ms, 1ull << 30, false, &x, &f),
                     ZK_FAULT_MMU_READ);
    /* Level-0 entry with HUGE or SYSMEM set (reserved at level 0). */
    zkt_set_pte(t, 2ull << 30, 0, 0x1000 | ZK_PTE_VALID | ZK_PTE_HUGE);
    assert_int_equal(zk_mmu_translate(&t->ms, 2ull << 30, false, &x, &f),
                     ZK_FAULT_MMU_READ);
    /* Leaf page just past the end of HBM, and far outside. */
    zkt_map(t, 0x5000, HBM_SIZE, ZK_PAGE_SIZE, 0);
    zkt_map(t, 0x6000, 0xfffff000000ull, ZK_PAGE_SIZE, 0);
    assert_int_equal(zk_mmu_translate(&t->ms, 0x5000, false, &x, &f),
                     ZK_FAULT_MMU_READ);
    assert_int_equal(zk_mmu_translate(&t->ms, 0x6000, false, &x, &f),
                     ZK_FAULT_MMU_READ);
    /* Huge leaf misaligned, and huge leaf past the end of HBM. */
    zkt_map_huge(t, 0xc0000000, 0x201000, 0);
    assert_int_equal(zk_mmu_translate(&t->ms, 0xc0000000, false, &x, &f),
                     ZK_FAULT_MMU_READ);
    zkt_map_huge(t, 0xc0200000, HBM_SIZE, 0);
    assert_int_equal(zk_mmu_translate(&t->ms, 0xc0200000, false, &x, &f),
                     ZK_FAULT_MMU_READ);
    /* Invalid root. */
    t->ms.pt_root = HBM_SIZE - 4;
    assert_int_equal(zk_mmu_translate(&t->ms, 0, false, &x, &f),
                     ZK_FAULT_MMU_READ);
    t->ms.pt_root = UINT64_MAX - 8;
    assert_int_equal(zk_mmu_translate(&t->ms, 0, false, &x, &f),
                     ZK_FAULT_MMU_READ);
}

static void test_no_context(void **state)
{
    ZkTestMem *t = *state;
    ZkXlate x;
    ZkFault f;
    zkt_map(t, 0x1000, 0x200000, ZK_PAGE_SIZE, 0);
    t->ms.has_ctx = false;
    assert_int_equal(zk_mmu_translate(&t->ms, 0x1000, false, &x, &f),
                     ZK_FAULT_NO_CONTEXT);
}

static void test_sysmem(void **state)
{
    ZkTestMem *t = *state;
    ZkFault f;
    uint8_t buf[6000], back[6000];
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (uint8_t)(i * 7 + 1);
    }
    /* Two sysmem pages at 0x10000, then an HBM page. */
    zkt_map(t, 0x10000, SYS_BASE, 2 * ZK_PAGE_SIZE, ZK_PTE_SYSMEM | ZK_PTE_WRITE);
    zkt_map(t, 0x12000, 0x300000, ZK_PAGE_SIZE, ZK_PTE_WRITE);
    uint64_t va = 0x12000 - 3000;
    assert_int_equal(zk_mem_write(&t->ms, va, buf, sizeof(buf), &f), 0);
    assert_int_equal(t->ms.sys_bytes, 3000);
    assert_int_equal(t->ms.hbm_bytes_written, 3000);
    assert_memory_equal(sysmem + 0x2000 - 3000, buf, 3000);
    assert_memory_equal(t->ms.hbm + 0x300000, buf + 3000, 3000);
    assert_int_equal(zk_mem_read(&t->ms, va, back, sizeof(back), &f), 0);
    assert_memory_equal(back, buf, sizeof(buf));
    /* zk_mem_map never returns a pointer for system memory. */
    f.type = 99;
    assert_null(zk_mem_map(&t->ms, 0x10000, 16, false, &f));
    assert_int_equal(f.type, ZK_FAULT_NONE);
    /* Failing bus access and missing callback: DMA fault. */
    sys_fail = 1;
    assert_int_equal(zk_mem_read(&t->ms, 0x10010, back, 8, &f), ZK_FAULT_DMA);
    assert_int_equal(f.va, 0x10010);
    sys_fail = 0;
    t->ms.sys_rw = NULL;
    assert_int_equal(zk_mem_read(&t->ms, 0x10010, back, 8, &f), ZK_FAULT_DMA);
}

static void test_map(void **state)
{
    ZkTestMem *t = *state;
    ZkFault f;
    zkt_map(t, 0x100000, 0x200000, 3 * ZK_PAGE_SIZE, ZK_PTE_WRITE);
    t->ms.hbm_bytes_read = 0;
    uint8_t *p = zk_mem_map(&t->ms, 0x100010, 3 * ZK_PAGE_SIZE - 0x10, true, &f);
    assert_ptr_equal(p, t->ms.hbm + 0x200010);
    assert_int_equal(t->ms.hbm_bytes_written, 3 * ZK_PAGE_SIZE - 0x10);
    /* One byte too far: fault at the first unmapped VA. */
    assert_null(zk_mem_map(&t->ms, 0x100010, 3 * ZK_PAGE_SIZE - 0xf, false, &f));
    assert_int_equal(f.type, ZK_FAULT_MMU_READ);
    assert_int_equal(f.va, 0x103000);
    /* Valid but discontiguous. */
    zkt_map(t, 0x200000, 0x300000, ZK_PAGE_SIZE, 0);
    zkt_map(t, 0x201000, 0x200000, ZK_PAGE_SIZE, 0);
    assert_null(zk_mem_map(&t->ms, 0x200000, 2 * ZK_PAGE_SIZE, false, &f));
    assert_int_equal(f.type, ZK_FAULT_NONE);
    /* Read-only for write. */
    assert_null(zk_mem_map(&t->ms, 0x200000, 8, true, &f));
    assert_int_equal(f.type, ZK_FAULT_MMU_WRITE);
    /* Wrap-around. */
    assert_null(zk_mem_map(&t->ms, UINT64_MAX - 4, 8, false, &f));
    assert_int_equal(f.type, ZK_FAULT_MMU_READ);
    /* A huge page followed by contiguous 4 KiB pages is one range. */
    zkt_map_huge(t, 0x40000000, 0x200000, 0);
    zkt_map(t, 0x40200000, 0x400000, ZK_PAGE_SIZE, 0);
    assert_ptr_equal(zk_mem_map(&t->ms, 0x401ffff0, 0x20, false, &f),
                     t->ms.hbm + 0x3ffff0);
}

static void test_copy_fill(void **state)
{
    ZkTestMem *t = *state;
    ZkFault f;
    uint8_t ref[10000], got[10000];
    uint64_t a = zkt_alloc_scattered(t, sizeof(ref));
    uint64_t b = zkt_alloc(t, sizeof(ref));
    zkt_map(t, 0x7000000, SYS_BASE, 4 * ZK_PAGE_SIZE, ZK_PTE_SYSMEM | ZK_PTE_WRITE);
    for (size_t i = 0; i < sizeof(ref); i++) {
        ref[i] = (uint8_t)rand();
    }
    zkt_put(t, a + 1, ref, sizeof(ref) - 1);
    assert_int_equal(zk_mem_copy(&t->ms, b + 3, a + 1, sizeof(ref) - 1, &f), 0);
    zkt_get(t, b + 3, got, sizeof(ref) - 1);
    assert_memory_equal(got, ref, sizeof(ref) - 1);
    /* HBM -> sysmem -> HBM. */
    assert_int_equal(zk_mem_copy(&t->ms, 0x7000005, b + 3, 9000, &f), 0);
    assert_memory_equal(sysmem + 5, ref, 9000);
    assert_int_equal(zk_mem_copy(&t->ms, a, 0x7000005, 9000, &f), 0);
    zkt_get(t, a, got, 9000);
    assert_memory_equal(got, ref, 9000);
    /* Fill keeps the pattern phase relative to dst, across memory kinds. */
    uint64_t fill_va = 0x7000000 + 4 * ZK_PAGE_SIZE - 4097;
    zkt_map(t, 0x7000000 + 4 * ZK_PAGE_SIZE, 0x600000, 2 * ZK_PAGE_SIZE,
            ZK_PTE_WRITE);
    assert_int_equal(zk_mem_fill(&t->ms, fill_va, 0x44332211, 8195, &f), 0);
    zkt_get(t, fill_va, got, 8195);
    for (size_t i = 0; i < 8195; i++) {
        assert_int_equal(got[i], 0x11 + 0x11 * (i & 3));
    }
    /* Copy into a read-only page faults with the destination VA. */
    zkt_map(t, 0x9000000, 0x700000, ZK_PAGE_SIZE, 0);
    assert_int_equal(zk_mem_copy(&t->ms, 0x9000000, a, 16, &f),
                     ZK_FAULT_MMU_WRITE);
    assert_int_equal(f.va, 0x9000000);
}

/* Random mappings checked against a simple reference model. */
static void test_random_walks(void **state)
{
    ZkTestMem *t = *state;
    enum { NPAGES = 256 };
    uint64_t phys[NPAGES];
    for (int i = 0; i < NPAGES; i++) {
        phys[i] = ZKT_PT_AREA + (uint64_t)i * ZK_PAGE_SIZE;
    }
    for (int i = NPAGES - 1; i > 0; i--) {   /* random permutation */
        int j = rand() % (i + 1);
        uint64_t tmp = phys[i];
        phys[i] = phys[j];
        phys[j] = tmp;
    }
    /* VA pages spread across L0/L1 boundaries. */
    uint64_t va0 = (5ull << 30) - 100 * ZK_PAGE_SIZE;
    for (int i = 0; i < NPAGES; i++) {
        if (i % 17 != 3) {
            zkt_map(t, va0 + (uint64_t)i * ZK_PAGE_SIZE, phys[i], ZK_PAGE_SIZE,
                    (i & 1) ? ZK_PTE_WRITE : 0);
        }
    }
    for (int n = 0; n < 5000; n++) {
        int page = rand() % NPAGES;
        uint64_t va = va0 + (uint64_t)page * ZK_PAGE_SIZE + rand() % 4096;
        bool write = rand() & 1;
        ZkXlate x;
        ZkFault f;
        int r = zk_mmu_translate(&t->ms, va, write, &x, &f);
        bool mapped = page % 17 != 3;
        bool ok = mapped && (!write || (page & 1));
        if (ok) {
            assert_int_equal(r, 0);
            assert_int_equal(x.addr, phys[page] + (va & 0xfff));
            assert_int_equal(x.span, ZK_PAGE_SIZE - (va & 0xfff));
        } else {
            assert_int_equal(r, write ? ZK_FAULT_MMU_WRITE : ZK_FAULT_MMU_READ);
            assert_int_equal(f.va, va);
        }
    }
}

/*
 * The MMU caches leaf translations and, like hardware, does not snoop the
 * page tables: a cleared entry keeps translating until ZK_CMD_MMU_INVALIDATE
 * (modelled by the device-wide epoch) drops the cache.  This is why the
 * driver must invalidate after every unmap before the memory is reused.
 */
static void test_tlb_invalidate(void **state)
{
    ZkTestMem *t = *state;
    uint32_t epoch = 0;
    ZkXlate x;
    ZkFault f;

    t->ms.inval_epoch = &epoch;
    zk_mmu_tlb_flush(&t->ms);
    zkt_map(t, 0x40000000, 0x200000, ZK_PAGE_SIZE, ZK_PTE_WRITE);
    assert_int_equal(zk_mmu_translate(&t->ms, 0x40000010, true, &x, &f), 0);
    assert_int_equal(x.addr, 0x200010);
    uint64_t misses = t->ms.tlb_misses;

    /* Unmapped without an invalidate: the stale entry still translates. */
    zkt_set_pte_noinval(t, 0x40000000, 2, 0);
    assert_int_equal(zk_mmu_translate(&t->ms, 0x40000020, true, &x, &f), 0);
    assert_int_equal(x.addr, 0x200020);
    assert_int_equal(t->ms.tlb_misses, misses);

    /* Another queue's invalidate (epoch bump) reaches this space too. */
    __atomic_add_fetch(&epoch, 1, __ATOMIC_RELEASE);
    assert_int_equal(zk_mmu_translate(&t->ms, 0x40000020, true, &x, &f),
                     ZK_FAULT_MMU_WRITE);
    assert_int_equal(f.va, 0x40000020);

    /* Remapped elsewhere + invalidated: the new page, never the old one. */
    zkt_set_pte(t, 0x40000000, 2, 0x300000 | ZK_PTE_WRITE | ZK_PTE_VALID);
    assert_int_equal(zk_mmu_translate(&t->ms, 0x40000020, false, &x, &f), 0);
    assert_int_equal(x.addr, 0x300020);

    /* Entries are tagged by context: another (empty) root never hits. */
    t->ms.pt_root = 0x400000;
    t->ms.ctx_id = 2;
    assert_int_equal(zk_mmu_translate(&t->ms, 0x40000020, false, &x, &f),
                     ZK_FAULT_MMU_READ);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_translate_4k, setup, teardown),
        cmocka_unit_test_setup_teardown(test_translate_huge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sysmem, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_fill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_walks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tlb_invalidate, setup, teardown),
    };
    srand(12345);
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests_name("mmu", tests, NULL, NULL);
}
