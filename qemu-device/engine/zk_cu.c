/* SPDX-License-Identifier: MIT */
/*
 * zk_cu.c - compute units: a launch's workgroups/blocks on N host threads.
 *
 * Workgroups of one launch are independent by definition of the ISA (no
 * ordering between them is promised), so units take items from a shared
 * counter, in guided chunks (a share of what is left, shrinking to single
 * items at the end): a launch of 65536 short blocks then costs a few dozen
 * contended atomics instead of 65536, and the last items still balance.
 * The counter has a cache line of its own; everything else the units read
 * is written before they start.  Threads live for one launch: a launch already
 * costs a queue round trip, and per-launch threads need no shutdown or
 * reset protocol with the device model.  Plain pthreads keep the engine
 * independent of QEMU (the device model's own threads stay QemuThreads).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "zk_cu.h"

#define ZK_CU_MAX 256

typedef struct CuShared {
    ZkCuFn fn;
    void *ctx;
    uint64_t n_items;
    uint32_t n_units;
    int stop;               /* atomic: first failure, 0 while running */
    /* atomic: next item to hand out; written by every grab */
    uint64_t next __attribute__((aligned(64)));
    char pad[56];
} CuShared;

/* Largest chunk: bounds how long a stop request can go unnoticed between
 * grabs (the work function also polls *stop). */
#define CU_MAX_CHUNK 1024

/* Grab the next chunk: [*first, *first + return value); 0 when all gone. */
static uint64_t cu_grab(CuShared *sh, uint64_t *first)
{
    uint64_t start = __atomic_load_n(&sh->next, __ATOMIC_RELAXED), chunk;

    do {
        if (start >= sh->n_items) {
            return 0;
        }
        chunk = (sh->n_items - start) / (2ull * sh->n_units);
        chunk = chunk < 1 ? 1 : chunk > CU_MAX_CHUNK ? CU_MAX_CHUNK : chunk;
    } while (!__atomic_compare_exchange_n(&sh->next, &start, start + chunk, false,
                                          __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    *first = start;
    return chunk;
}

typedef struct CuArg {
    CuShared *sh;
    uint32_t cu;
    pthread_t thread;
} CuArg;

static void (*hook_enter)(void);
static void (*hook_leave)(void);

void zk_cu_set_thread_hooks(void (*enter)(void), void (*leave)(void))
{
    hook_enter = enter;
    hook_leave = leave;
}

static void *cu_thread(void *opaque);

uint32_t zk_cu_default_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > ZK_CU_MAX ? ZK_CU_MAX : (uint32_t)n;
}

static void *cu_main(void *opaque)
{
    CuArg *a = opaque;
    CuShared *sh = a->sh;

    for (;;) {
        uint64_t first, n = cu_grab(sh, &first);

        if (!n) {
            break;
        }
        for (uint64_t item = first; item < first + n; item++) {
            int r;

            if (__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
                return NULL;
            }
            r = sh->fn(sh->ctx, a->cu, item, (const volatile int *)&sh->stop);
            if (r) {
                int zero = 0;
                __atomic_compare_exchange_n(&sh->stop, &zero, r, false,
                                            __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
                return NULL;
            }
        }
    }
    return NULL;
}

static void *cu_thread(void *opaque)
{
    if (hook_enter) {
        hook_enter();
    }
    cu_main(opaque);
    if (hook_leave) {
        hook_leave();
    }
    return NULL;
}

int zk_cu_run(uint32_t n_cus, uint64_t n_items, ZkCuFn fn, void *ctx,
              uint32_t *units_used)
{
    CuShared sh = { .fn = fn, .ctx = ctx, .n_items = n_items };
    CuArg args[ZK_CU_MAX];
    uint32_t n = n_cus ? n_cus : 1, started = 1;

    if (n > ZK_CU_MAX) {
        n = ZK_CU_MAX;
    }
    if (n > n_items) {
        n = n_items ? (uint32_t)n_items : 1;
    }
    sh.n_units = n;
    for (uint32_t i = 0; i < n; i++) {
        args[i] = (CuArg){ .sh = &sh, .cu = i };
    }
    for (uint32_t i = 1; i < n; i++) {
        if (pthread_create(&args[i].thread, NULL, cu_thread, &args[i])) {
            break;
        }
        started++;
    }
    cu_main(&args[0]);
    for (uint32_t i = 1; i < started; i++) {
        pthread_join(args[i].thread, NULL);
    }
    if (units_used) {
        *units_used = started;
    }
    return sh.stop;
}
