/* SPDX-License-Identifier: MIT */
/*
 * ptx_mir.h - the translator's machine IR: SIMT instructions
 * (include/zhikai_simt.h) over unlimited virtual registers and predicates,
 * with branch targets as label ids.  ptx_lower.c builds it from the PTX IR,
 * ptx_regalloc.c maps it onto r1..r255 / p1..p7 (spilling to local memory),
 * ptx_emit.c encodes it.
 */
#ifndef PTX_MIR_H
#define PTX_MIR_H

#include <stdint.h>

#include "ptx_ir.h"
#include "zhikai_isa.h"

typedef struct mir_insn {
    uint8_t op, type, mod, type2, flags;
    uint8_t gneg;
    uint8_t ra_neg, rb_neg;     /* PLOP/VOTE predicate operands: negated */
    uint8_t fix;                /* MIR_FIX_DATA: imm is relative to the image's data */
    uint32_t rd, ra, rb, rc;    /* virtual GPRs (0 = r0), or predicates for PLOP/VOTE ra/rb */
    uint32_t pd;                /* predicate written (PD) or read (SELP) */
    uint32_t guard;             /* predicate, 0 = always */
    uint64_t imm;
    int32_t target;             /* BRA: label id */
    uint32_t line;              /* PTX source line, 0 = generated */
} mir_insn;

#define MIR_FIX_DATA 1

typedef struct mir_func {
    char name[64];
    mir_insn *v;
    uint32_t n, cap;
    uint32_t nvregs;            /* GPR ids 1..nvregs-1 in use */
    uint32_t npregs;            /* predicate ids 1..npregs-1 */
    int32_t *label_pos;         /* label id -> instruction index */
    uint32_t nlabels, label_cap;
    uint32_t shared_bytes;      /* static shared memory */
    uint32_t local_bytes;       /* variables + spill slots */
    uint32_t param_bytes;
    uint32_t spills;            /* values spilled by the allocator */
    uint32_t regs_used;         /* physical registers after allocation */
} mir_func;

/* Image layout shared by every kernel of a module: .const and .global
 * variables live in the image after the code (offsets from its start are
 * fixed up once the code size is known). */
typedef struct mir_module {
    mir_func *funcs;            /* one per .entry */
    uint32_t nfuncs;
    uint64_t *var_offset;       /* module var -> offset in its space (data: from data start) */
    uint32_t data_bytes;        /* .const + .global data */
    uint8_t *data;
    uint32_t shared_static;     /* module-level .shared bytes */
} mir_module;

/* Fields each SIMT opcode reads and writes (from isa/zk_simt_isa.h). */
int mir_insn_uses(const mir_insn *in, uint32_t *gpr_use, int *ngu, uint32_t *pred_use,
                  int *npu, uint32_t *gpr_def, uint32_t *pred_def);

/* leader[i] = 1 where a basic block starts: 0, label targets, after bra/exit/trap. */
void mir_mark_leaders(const mir_func *f, uint8_t *leader);
int ptx_lower(const ptx_module *m, mir_module *out, char *err, size_t errlen);
/* Exact rewrites of clang's patterns (ptx_peephole.c); -1: out of memory. */
int ptx_peephole(mir_func *f);
int ptx_regalloc(mir_func *f, char *err, size_t errlen);
/* As ptx_regalloc with at most max_regs general registers (4..251): tests force spills. */
int ptx_regalloc_limit(mir_func *f, uint32_t max_regs, char *err, size_t errlen);
void mir_module_free(mir_module *mm);

#endif
