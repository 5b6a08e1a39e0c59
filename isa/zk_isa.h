/* SPDX-License-Identifier: MIT */
/*
 * zk_isa.h - instruction table, verifier and disassembler for the ISA of
 * include/zhikai_isa.h.  Shared by the engine, the object loader
 * (runtime/zk_obj.c) and the tools, so all of them accept exactly the same
 * programs.
 */
#ifndef ZK_ISA_H
#define ZK_ISA_H

#include <stddef.h>
#include <stdint.h>

#include "zhikai_isa.h"

/* Operand formats (which fields an instruction uses; the rest must be 0). */
enum {
    ZK_FMT_NONE,    /* halt */
    ZK_FMT_J,       /* jmp rel */
    ZK_FMT_JA,      /* jmpa abs */
    ZK_FMT_B,       /* beq ra, rb, rel */
    ZK_FMT_LOOP,    /* loop rd, rel */
    ZK_FMT_RI,      /* movi rd, imm */
    ZK_FMT_RR,      /* mov rd, ra */
    ZK_FMT_RRR,     /* add rd, ra, rb */
    ZK_FMT_RRI,     /* addi rd, ra, imm */
    ZK_FMT_LD,      /* ld32 rd, [ra + imm] */
    ZK_FMT_ST,      /* st32 [ra + imm], rb */
    ZK_FMT_TSET,    /* tset td, ra, dtype */
    ZK_FMT_T,       /* tensor op, see ZkOpInfo.tuse */
};

/* Tensor operand fields an op uses (ZkOpInfo.tuse). */
#define ZK_TU_TD  (1u << 0)
#define ZK_TU_TA  (1u << 1)
#define ZK_TU_TB  (1u << 2)
#define ZK_TU_TC  (1u << 3)
#define ZK_TU_TE  (1u << 4)
#define ZK_TU_RS  (1u << 5)

typedef struct ZkOpInfo {
    const char *name;       /* mnemonic (tensor ops with fn: generic name) */
    uint8_t fmt;            /* ZK_FMT_* */
    uint8_t tuse;           /* ZK_FMT_T: ZK_TU_* */
    uint8_t nscalar;        /* ZK_TU_RS: registers read from rs on */
    uint8_t fn_count;       /* fn must be < fn_count (enumerated sub-ops) */
    uint8_t fn_mask;        /* ... or a subset of fn_mask (flags) */
} ZkOpInfo;

/* Table entry for an opcode, NULL if the opcode does not exist. */
const ZkOpInfo *zk_isa_op(uint8_t op);

/*
 * Assembler mnemonics.  Tensor sub-ops have their own mnemonic (tadd =
 * EBIN/ZK_EB_ADD); fn < 0 means the fn field is written as flags.
 */
typedef struct ZkMnemonic {
    const char *name;
    uint8_t op;
    int16_t fn;
} ZkMnemonic;
extern const ZkMnemonic zk_isa_mnemonics[];
extern const size_t zk_isa_num_mnemonics;

/* Check one instruction in isolation.  Returns NULL or why it is bad. */
const char *zk_isa_check(uint64_t insn, uint32_t num_args, uint32_t image_size);

/*
 * Verify every instruction reachable from `entry` (an instruction index)
 * in code[0..n_insns): zk_isa_check, branch targets < n_insns, and no
 * path falls off the end.  image_size (bytes) bounds LEA.  Returns 0 on
 * success, -1 with *bad_pc and *why set otherwise.
 */
int zk_isa_verify(const uint64_t *code, uint32_t n_insns, uint32_t entry,
                  uint32_t num_args, uint32_t image_size,
                  uint32_t *bad_pc, const char **why);

/* Branch target (instruction index) of a jump/branch at pc; -1 if none. */
int64_t zk_isa_target(uint64_t insn, uint32_t pc);

/* Text of one instruction ("add r1, r2, r3"), like the assembler reads it.
 * Branch targets are printed as absolute instruction indices "@N". */
void zk_isa_disasm(uint64_t insn, uint32_t pc, char *buf, size_t len);

extern const char *const zk_dtype_names[ZK_DT_COUNT];
extern const char *const zk_sreg_names[ZK_SREG_COUNT];

#endif
