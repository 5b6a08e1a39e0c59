/* SPDX-License-Identifier: MIT */
/*
 * zk_cu.h - the card's compute units: run the independent workgroups /
 * blocks of one launch on N host threads.
 */
#ifndef ZK_CU_H
#define ZK_CU_H

#include <stdint.h>

/* Compute units when the device does not say: the host's online cores. */
uint32_t zk_cu_default_count(void);

/*
 * Work function: run item `item` on compute unit `cu` (0..n_cus-1; one
 * thread per cu, so per-cu state needs no locking).  Returns 0 or a
 * ZK_FAULT_*; the first non-zero result stops the other units (they see
 * *stop become non-zero and should return promptly).
 */
typedef int (*ZkCuFn)(void *ctx, uint32_t cu, uint64_t item,
                      const volatile int *stop);

/*
 * Run items 0..n_items-1, in increasing order per unit, on min(n_cus,
 * n_items) units (the caller's thread is unit 0; if threads cannot be
 * created the remaining units are simply not used).  Returns 0 or the first
 * failure.  *units_used (may be NULL) gets the number of units that ran.
 */
int zk_cu_run(uint32_t n_cus, uint64_t n_items, ZkCuFn fn, void *ctx,
              uint32_t *units_used);

/*
 * Hooks run at the start and end of every compute-unit thread (the device
 * model registers its threads with QEMU's RCU here, since system-memory
 * DMA from a unit goes through RCU-protected address spaces).
 */
void zk_cu_set_thread_hooks(void (*enter)(void), void (*leave)(void));

#endif /* ZK_CU_H */
