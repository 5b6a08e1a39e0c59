/* SPDX-License-Identifier: MIT */
/*
 * zk_simt_isa.h - instruction table, verifier, disassembler and emitter for
 * ISA v2 SIMT code (include/zhikai_simt.h).  Part of the ISA library (isa/)
 * that the engine, the runtime's loader and the tools all build from, so
 * every one of them accepts exactly the same SIMT programs.
 */
#ifndef ZK_SIMT_ISA_H
#define ZK_SIMT_ISA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhikai_isa.h"

/* Which fields an opcode uses (ZkSimtOpInfo.use). */
#define ZK_SU_RD        (1u << 0)       /* writes register rd */
#define ZK_SU_RA        (1u << 1)       /* reads register ra */
#define ZK_SU_B         (1u << 2)       /* operand b: rb or imm */
#define ZK_SU_C         (1u << 3)       /* operand c: rc or imm */
#define ZK_SU_PD        (1u << 4)       /* writes predicate pd */
#define ZK_SU_PS        (1u << 5)       /* reads predicate pd (SELP) */
#define ZK_SU_IMM       (1u << 6)       /* imm is an offset/selector */
#define ZK_SU_T2        (1u << 7)       /* type2 used (CVT type, space) */
#define ZK_SU_PRA       (1u << 8)       /* ra holds a predicate code (0..15) */
#define ZK_SU_PRB       (1u << 9)       /* rb holds a predicate code */

typedef struct ZkSimtOpInfo {
    const char *name;       /* mnemonic stem */
    uint16_t use;           /* ZK_SU_* */
    uint16_t types;         /* allowed ZK_ST_* (bit mask) */
    uint8_t mod_count;      /* mod < mod_count (0: mod must be 0) */
} ZkSimtOpInfo;

/* Table entry for a SIMT opcode, NULL if it does not exist. */
const ZkSimtOpInfo *zk_simt_op(uint8_t op);

/* Check one instruction in isolation.  Returns NULL or why it is bad. */
const char *zk_simt_check(const uint64_t w[2]);

/* What the verifier learns about a kernel. */
typedef struct ZkSimtInfo {
    uint32_t num_regs;      /* highest register used + 1 (>= 1) */
    bool uses_barrier;
    bool uses_shared;
    bool uses_local;
} ZkSimtInfo;

/*
 * Verify every SIMT instruction reachable from instruction index `entry` in
 * code[0..2*n_insns): zk_simt_check, branch targets inside the code, no path
 * falls off the end.  Returns 0 (info filled) or -1 with *bad_pc and *why.
 */
int zk_simt_verify(const uint64_t *code, uint32_t n_insns, uint32_t entry,
                   ZkSimtInfo *info, uint32_t *bad_pc, const char **why);

/* Branch target (instruction index) of a BRA at pc; -1 if not a branch. */
int64_t zk_simt_target(const uint64_t w[2], uint32_t pc);

/* Text of one instruction, like zkas reads it ("@!p1 add.s32 r1, r2, 5").
 * Branch targets print as absolute instruction indices "@N". */
void zk_simt_disasm(const uint64_t w[2], uint32_t pc, char *buf, size_t len);

extern const char *const zk_simt_type_names[ZK_ST_COUNT];
extern const char *const zk_simt_sreg_names[ZK_SR_COUNT];
extern const char *const zk_simt_space_names[ZK_SPACE_COUNT];
extern const char *const zk_simt_cmp_names[ZK_CMP_COUNT];
extern const char *const zk_simt_rnd_names[ZK_RND_COUNT];
extern const char *const zk_simt_atom_names[ZK_ATOM_COUNT];
extern const char *const zk_simt_shfl_names[ZK_SHFL_COUNT];
extern const char *const zk_simt_vote_names[ZK_VOTE_COUNT];
extern const char *const zk_simt_plop_names[ZK_PLOP_COUNT];

/*
 * Emitter: a growable buffer of SIMT instructions for code generators
 * (tests, translators).  Each call appends one instruction and returns its
 * index, or -1 when out of memory (then every later call fails too and
 * zk_simt_buf_ok() is false).
 */
typedef struct ZkSimtBuf {
    uint64_t *w;            /* 2 words per instruction */
    uint32_t n, cap;
    bool oom;
} ZkSimtBuf;

void zk_simt_buf_init(ZkSimtBuf *b);
void zk_simt_buf_free(ZkSimtBuf *b);
static inline bool zk_simt_buf_ok(const ZkSimtBuf *b) { return !b->oom; }
int64_t zk_simt_emit(ZkSimtBuf *b, const ZkSimtInsn *i);
/* Point the BRA at index `at` to instruction index `target`. */
void zk_simt_patch_target(ZkSimtBuf *b, uint32_t at, uint32_t target);

/* Shorthands for the common shapes (guard 0 = always; use the struct for
 * predicated or unusual forms). */
int64_t zk_simt_rrr(ZkSimtBuf *b, uint8_t op, uint8_t type, uint8_t rd,
                    uint8_t ra, uint8_t rb);
int64_t zk_simt_rri(ZkSimtBuf *b, uint8_t op, uint8_t type, uint8_t rd,
                    uint8_t ra, int64_t imm);
int64_t zk_simt_mov_imm(ZkSimtBuf *b, uint8_t rd, uint64_t imm);
int64_t zk_simt_sreg(ZkSimtBuf *b, uint8_t rd, unsigned sr);
int64_t zk_simt_ld(ZkSimtBuf *b, uint8_t space, uint8_t type, uint8_t rd,
                   uint8_t ra, int64_t off);
int64_t zk_simt_st(ZkSimtBuf *b, uint8_t space, uint8_t type, uint8_t ra,
                   int64_t off, uint8_t rb);
int64_t zk_simt_setp(ZkSimtBuf *b, uint8_t cmp, uint8_t type, uint8_t pd,
                     uint8_t ra, uint8_t rb);
int64_t zk_simt_setp_imm(ZkSimtBuf *b, uint8_t cmp, uint8_t type, uint8_t pd,
                         uint8_t ra, int64_t imm);
/* bra to instruction index target (patch later if not yet known), under
 * guard (0 = always) negated if gneg. */
int64_t zk_simt_bra(ZkSimtBuf *b, uint8_t guard, bool gneg, uint32_t target);
int64_t zk_simt_op0(ZkSimtBuf *b, uint8_t op);   /* exit, bar, nop, membar, trap */

#endif /* ZK_SIMT_ISA_H */
