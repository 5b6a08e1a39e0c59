/* SPDX-License-Identifier: MIT */
/* module_ptx.h - PTX, fat binaries and wrappers as modules (module_ptx.c). */
#ifndef ZK_MODULE_PTX_H
#define ZK_MODULE_PTX_H

#include <stddef.h>
#include <stdint.h>

#include "zhikai/zhikai.h"
#include "ptx_xlate.h"
#include "zk_fatbin.h"

/* Whether zk_module_load_data should take the PTX path for this input. */
int zk__is_ptx_input(const void *data, size_t len, int allow_wrapper);
/* Extract, translate (or find in the cache) into *out (caller frees). */
zk_status zk__ptx_load(const void *data, size_t len, int allow_wrapper, zk_ptx_image *out);
/* Translation cache counters (tests). */
void zk__ptx_cache_stats(uint64_t *hits, uint64_t *misses);

#endif
