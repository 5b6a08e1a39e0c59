/* SPDX-License-Identifier: MIT */
/*
 * zk_simt.h - the SIMT unit's interpreter (ISA v2, include/zhikai_simt.h),
 * called by zk_engine_launch for ZK_LAUNCH_F_SIMT launches.
 */
#ifndef ZK_SIMT_H
#define ZK_SIMT_H

#include "zk_engine.h"

/*
 * Run a SIMT launch whose code image (code_size bytes, host copy, already
 * byte-swapped to host order words) has been fetched.  Verifies, then runs
 * every block on the launch's compute units.  Returns 0 or ZK_FAULT_*.
 */
int zk_simt_launch(ZkMemSpace *ms, const ZkLaunch *l, const uint64_t *image,
                   ZkEngineStats *st, ZkFault *fault,
                   const volatile int *abort_flag);

/*
 * Lockstep gangs (blocks of full warps stepping together, docs/isa.md) on
 * (the default) or off, process-wide: differential tests run kernels both
 * ways and require the same results.
 */
void zk_simt_set_gang(bool on);

#endif /* ZK_SIMT_H */
