/* SPDX-License-Identifier: MIT */
/*
 * zk_test_kernels.h - tiny hand-assembled kernels for the runtime's in-VM
 * tests and benchmark, independent of the kernel library:
 *   null()                     does nothing
 *   inc(u32 *p, u64 add)       p[wg_linear] += add
 *   poke(u64 addr)             *(u32 *)addr = 1  (used to provoke a fault)
 */
#ifndef ZK_TEST_KERNELS_H
#define ZK_TEST_KERNELS_H

#include "zk_test_obj.h"

static const uint64_t zkt_null_code[] = {
    ZK_INSN(ZK_OP_HALT, 0, 0, 0, 0),
};
static const uint64_t zkt_inc_code[] = {
    ZK_INSN(ZK_OP_ARG, 1, 0, 0, 0),
    ZK_INSN(ZK_OP_ARG, 2, 0, 0, 1),
    ZK_INSN(ZK_OP_SREG, 3, 0, 0, ZK_SREG_WG_LINEAR),
    ZK_INSN(ZK_OP_SHLI, 3, 3, 0, 2),
    ZK_INSN(ZK_OP_ADD, 1, 1, 3, 0),
    ZK_INSN(ZK_OP_LD32, 4, 1, 0, 0),
    ZK_INSN(ZK_OP_ADD, 4, 4, 2, 0),
    ZK_INSN(ZK_OP_ST32, 0, 1, 4, 0),
    ZK_INSN(ZK_OP_HALT, 0, 0, 0, 0),
};
static const uint64_t zkt_poke_code[] = {
    ZK_INSN(ZK_OP_ARG, 1, 0, 0, 0),
    ZK_INSN(ZK_OP_MOVI, 2, 0, 0, 1),
    ZK_INSN(ZK_OP_ST32, 0, 1, 2, 0),
    ZK_INSN(ZK_OP_HALT, 0, 0, 0, 0),
};
static const uint8_t zkt_inc_kinds[] = {ZK_ARG_PTR, ZK_ARG_U64};
static const uint8_t zkt_poke_kinds[] = {ZK_ARG_U64};

static inline void *zkt_test_module(size_t *len)
{
    zkt_kernel ks[3] = {
        {"null", zkt_null_code, 1, 0, NULL},
        {"inc", zkt_inc_code, sizeof(zkt_inc_code) / 8, 2, zkt_inc_kinds},
        {"poke", zkt_poke_code, sizeof(zkt_poke_code) / 8, 1, zkt_poke_kinds},
    };
    return zkt_build_obj(ks, 3, len);
}

#endif
