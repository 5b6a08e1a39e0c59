/* SPDX-License-Identifier: MIT */
/*
 * zk_kernel_helpers.h - run library kernels (build/kernels/NAME.zko) and
 * check float results on a ZkTestMem, for cmocka host tests.
 */
#ifndef ZK_KERNEL_HELPERS_H
#define ZK_KERNEL_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "zk_engine.h"
#include "zk_testmem.h"

#ifndef ZK_KERNEL_DIR
#define ZK_KERNEL_DIR "build/kernels"
#endif

/* Uniform random float in [-1, 1] (rand()). */
float zkt_frand(void);
/* Fill h[0..n) with zkt_frand(), upload it to new device memory; its VA. */
uint64_t zkt_put_rand(ZkTestMem *t, float *h, size_t n);
/* Fail unless |got - want| <= tol * (1 + |want|) elementwise. */
void zkt_close_all(const float *got, const float *want, size_t n, float tol);
/*
 * Load ZK_KERNEL_DIR/lib.zko, upload it and the nargs 64-bit args, launch
 * kernel `name` on grid {gx, 1, 1}; fails the test if the library or kernel
 * is missing or its argument count differs.  *st is zeroed, then gets the
 * engine's counters.  Returns zk_engine_launch's result.
 */
int zkt_launch_lib(ZkTestMem *t, const char *lib, const char *name, const uint64_t *args,
                   uint32_t nargs, uint32_t gx, ZkEngineStats *st);

#endif
