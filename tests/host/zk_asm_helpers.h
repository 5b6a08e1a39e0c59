/* SPDX-License-Identifier: MIT */
/*
 * zk_asm_helpers.h - build kernels in C for engine tests (no assembler
 * needed), and run them on a ZkTestMem.
 */
#ifndef ZK_ASM_HELPERS_H
#define ZK_ASM_HELPERS_H

#include <assert.h>
#include <string.h>

#include "zhikai_hw.h"
#include "zhikai_isa.h"
#include "zk_engine.h"
#include "zk_testmem.h"

typedef struct Prog {
    uint64_t code[1024];
    uint32_t n;
} Prog;

static inline void emit(Prog *p, uint8_t op, unsigned rd, unsigned ra,
                        unsigned rb, int64_t imm)
{
    assert(p->n < 1024);
    p->code[p->n++] = ZK_INSN(op, rd, ra, rb, (uint32_t)imm);
}

/* Load a 64-bit constant. */
static inline void li(Prog *p, unsigned rd, uint64_t v)
{
    emit(p, ZK_OP_MOVI, rd, 0, 0, (int32_t)(uint32_t)v);
    if ((uint64_t)(int64_t)(int32_t)(uint32_t)v != v) {
        emit(p, ZK_OP_MOVHI, rd, 0, 0, (uint32_t)(v >> 32));
    }
}

/* t = {va, rows, cols, stride, dtype}, through scratch registers r24..r27. */
static inline void tdesc(Prog *p, unsigned t, uint64_t va, uint64_t rows,
                         uint64_t cols, uint64_t stride, unsigned dt)
{
    li(p, 24, va);
    li(p, 25, rows);
    li(p, 26, cols);
    li(p, 27, stride);
    emit(p, ZK_OP_TSET, t, 24, 0, dt);
}

static inline void tensor(Prog *p, uint8_t op, unsigned td, unsigned ta,
                          unsigned tb, unsigned tc, unsigned te, unsigned rs,
                          unsigned fn)
{
    emit(p, op, td, ta, tb, ZK_TI(tc, te, rs, fn));
}

/* Copy code + args into device memory and launch over grid gx x gy x gz. */
static inline int run_prog(ZkTestMem *t, const Prog *p, const uint64_t *args,
                           uint32_t nargs, uint32_t gx, uint32_t gy,
                           uint32_t gz, uint64_t budget, ZkEngineStats *st,
                           ZkFault *f, const volatile int *abort_flag)
{
    uint64_t code = zkt_alloc(t, p->n * 8);
    uint64_t av = zkt_alloc(t, nargs * 8 + 8);
    zkt_put(t, code, p->code, p->n * 8);
    if (nargs) {
        zkt_put(t, av, args, nargs * 8);
    }
    ZkLaunch l = { .code_va = code, .code_size = p->n * 8, .entry = 0,
                   .grid = { gx, gy, gz }, .args_va = av,
                   .args_size = nargs * 8, .insn_budget = budget };
    memset(st, 0, sizeof(*st));
    return zk_engine_launch(&t->ms, &l, st, f, abort_flag);
}

#endif
