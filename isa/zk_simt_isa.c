/* SPDX-License-Identifier: MIT */
/*
 * zk_simt_isa.c - SIMT (ISA v2) instruction table, verifier, disassembler
 * and emitter.
 *
 * Like the v1 verifier (zk_isa.c) this walks the control-flow graph from the
 * entry: only reachable instructions are decoded, and since SIMT code has no
 * indirect branches the walk covers every instruction that can ever run.
 * Every field an instruction does not use must be zero, so one encoding
 * means one thing and future extensions have room.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk_simt_isa.h"

#define T(x)    (1u << ZK_ST_##x)
#define T_INT   (T(U32) | T(S32) | T(U64) | T(S64))
#define T_UNS   (T(U32) | T(U64))
#define T_W32   (T(U32) | T(S32))
#define T_FP    (T(F32) | T(F64))
#define T_NUM   (T_INT | T_FP)
#define T_ANY   0x0fffu
#define T_NONE  T(U32)          /* the type field must be 0 */

#define RD ZK_SU_RD
#define RA ZK_SU_RA
#define B  ZK_SU_B
#define C  ZK_SU_C
#define PD ZK_SU_PD
#define PS ZK_SU_PS
#define IM ZK_SU_IMM
#define T2 ZK_SU_T2
#define PA ZK_SU_PRA
#define PB ZK_SU_PRB

static const ZkSimtOpInfo simt_table[128] = {
#define E(op, name, use, types, mods) [(op) - 0x80] = { name, use, types, mods }
    E(ZK_SOP_EXIT, "exit", 0, T_NONE, 0),
    E(ZK_SOP_BRA, "bra", IM, T_NONE, 0),
    E(ZK_SOP_BAR, "bar", 0, T_NONE, 0),
    E(ZK_SOP_NOP, "nop", 0, T_NONE, 0),
    E(ZK_SOP_MEMBAR, "membar", 0, T_NONE, 0),
    E(ZK_SOP_TRAP, "trap", 0, T_NONE, 0),
    E(ZK_SOP_MOV, "mov", RD | B, T_NONE, 0),
    E(ZK_SOP_SREG, "sreg", RD | IM, T_NONE, 0),
    E(ZK_SOP_SELP, "selp", RD | RA | B | PS, T_NONE, 0),
    E(ZK_SOP_CVTA, "cvta", RD | RA | T2, T_NONE, 2),
    E(ZK_SOP_ADD, "add", RD | RA | B, T_INT, 0),
    E(ZK_SOP_SUB, "sub", RD | RA | B, T_INT, 0),
    E(ZK_SOP_MUL, "mul", RD | RA | B, T_INT, 0),
    E(ZK_SOP_MULHI, "mulhi", RD | RA | B, T_INT, 0),
    E(ZK_SOP_MULWIDE, "mulwide", RD | RA | B, T_W32, 0),
    E(ZK_SOP_MAD, "mad", RD | RA | B | C, T_INT, 0),
    E(ZK_SOP_MADWIDE, "madwide", RD | RA | B | C, T_W32, 0),
    E(ZK_SOP_DIV, "div", RD | RA | B, T_INT, 0),
    E(ZK_SOP_REM, "rem", RD | RA | B, T_INT, 0),
    E(ZK_SOP_MIN, "min", RD | RA | B, T_INT, 0),
    E(ZK_SOP_MAX, "max", RD | RA | B, T_INT, 0),
    E(ZK_SOP_ABS, "abs", RD | RA, T_INT, 0),
    E(ZK_SOP_NEG, "neg", RD | RA, T_INT, 0),
    E(ZK_SOP_AND, "and", RD | RA | B, T_INT, 0),
    E(ZK_SOP_OR, "or", RD | RA | B, T_INT, 0),
    E(ZK_SOP_XOR, "xor", RD | RA | B, T_INT, 0),
    E(ZK_SOP_NOT, "not", RD | RA, T_INT, 0),
    E(ZK_SOP_SHL, "shl", RD | RA | B, T_INT, 0),
    E(ZK_SOP_SHR, "shr", RD | RA | B, T_INT, 0),
    E(ZK_SOP_POPC, "popc", RD | RA, T_UNS, 0),
    E(ZK_SOP_CLZ, "clz", RD | RA, T_UNS, 0),
    E(ZK_SOP_BREV, "brev", RD | RA, T_UNS, 0),
    E(ZK_SOP_BFE, "bfe", RD | RA | B | C, T_INT, 0),
    E(ZK_SOP_BFI, "bfi", RD | RA | B | C, T_UNS, 0),
    E(ZK_SOP_SHF, "shf", RD | RA | B | C, T(U32), 4),
    E(ZK_SOP_SETP, "setp", PD | RA | B, T_NUM, ZK_CMP_COUNT),
    E(ZK_SOP_PLOP, "plop", PD | PA | PB, T_NONE, ZK_PLOP_COUNT),
    E(ZK_SOP_SET, "set", RD | RA | B, T_NUM, ZK_CMP_COUNT),
    E(ZK_SOP_FADD, "fadd", RD | RA | B, T_FP, ZK_RND_COUNT),
    E(ZK_SOP_FSUB, "fsub", RD | RA | B, T_FP, ZK_RND_COUNT),
    E(ZK_SOP_FMUL, "fmul", RD | RA | B, T_FP, ZK_RND_COUNT),
    E(ZK_SOP_FFMA, "ffma", RD | RA | B | C, T_FP, ZK_RND_COUNT),
    E(ZK_SOP_FDIV, "fdiv", RD | RA | B, T_FP, ZK_RND_COUNT),
    E(ZK_SOP_FMIN, "fmin", RD | RA | B, T_FP, 0),
    E(ZK_SOP_FMAX, "fmax", RD | RA | B, T_FP, 0),
    E(ZK_SOP_FABS, "fabs", RD | RA, T_FP, 0),
    E(ZK_SOP_FNEG, "fneg", RD | RA, T_FP, 0),
    E(ZK_SOP_FSQRT, "fsqrt", RD | RA, T_FP, ZK_RND_COUNT),
    E(ZK_SOP_FRCP, "frcp", RD | RA, T_FP, ZK_RND_COUNT),
    E(ZK_SOP_FRSQRT, "frsqrt", RD | RA, T_FP, 0),
    E(ZK_SOP_FEX2, "fex2", RD | RA, T(F32), 0),
    E(ZK_SOP_FLG2, "flg2", RD | RA, T(F32), 0),
    E(ZK_SOP_FSIN, "fsin", RD | RA, T(F32), 0),
    E(ZK_SOP_FCOS, "fcos", RD | RA, T(F32), 0),
    E(ZK_SOP_CVT, "cvt", RD | RA | T2, T_ANY, ZK_RND_COUNT),
    E(ZK_SOP_LD, "ld", RD | RA | IM | T2, T_ANY, 0),
    E(ZK_SOP_ST, "st", RA | B | IM | T2, T_ANY, 0),
    E(ZK_SOP_ATOM, "atom", RD | RA | B | C | IM | T2, T_INT | T(F32), ZK_ATOM_COUNT),
    E(ZK_SOP_SHFL, "shfl", RD | PD | RA | B | C, T_NONE, ZK_SHFL_COUNT),
    E(ZK_SOP_VOTE, "vote", RD | PD | PA, T_NONE, ZK_VOTE_COUNT),
#undef E
};

const char *const zk_simt_type_names[ZK_ST_COUNT] = {
    "u32", "s32", "u64", "s64", "f32", "f64", "f16", "bf16",
    "u8", "s8", "u16", "s16",
};
const char *const zk_simt_sreg_names[ZK_SR_COUNT] = {
    "tid.x", "tid.y", "tid.z", "ntid.x", "ntid.y", "ntid.z",
    "ctaid.x", "ctaid.y", "ctaid.z", "nctaid.x", "nctaid.y", "nctaid.z",
    "laneid", "warpid", "nwarpid", "clock", "clock64",
    "lanemask_eq", "lanemask_lt", "lanemask_le", "lanemask_gt", "lanemask_ge",
    "shared_size", "local_size", "param_size", "code_va", "smid", "nsmid",
    "globaltimer",
};
const char *const zk_simt_space_names[ZK_SPACE_COUNT] = {
    "generic", "global", "shared", "local", "param", "const",
};
const char *const zk_simt_cmp_names[ZK_CMP_COUNT] = {
    "eq", "ne", "lt", "le", "gt", "ge", "equ", "neu", "ltu", "leu", "gtu",
    "geu", "num", "nan",
};
const char *const zk_simt_rnd_names[ZK_RND_COUNT] = { "rn", "rz", "rm", "rp" };
const char *const zk_simt_atom_names[ZK_ATOM_COUNT] = {
    "add", "min", "max", "exch", "cas", "and", "or", "xor", "inc", "dec",
};
const char *const zk_simt_shfl_names[ZK_SHFL_COUNT] = { "idx", "up", "down", "bfly" };
const char *const zk_simt_vote_names[ZK_VOTE_COUNT] = { "ballot", "any", "all", "uni" };
const char *const zk_simt_plop_names[ZK_PLOP_COUNT] = { "and", "or", "xor" };

const ZkSimtOpInfo *zk_simt_op(uint8_t op)
{
    if (op < 0x80 || !simt_table[op - 0x80].name) {
        return NULL;
    }
    return &simt_table[op - 0x80];
}

static bool is_float(unsigned t)
{
    return t == ZK_ST_F32 || t == ZK_ST_F64 || t == ZK_ST_F16 || t == ZK_ST_BF16;
}

/* Op-specific rules beyond the table. */
static const char *check_special(uint8_t op, unsigned type, unsigned mod,
                                 unsigned t2, unsigned flags, uint64_t imm,
                                 unsigned ra, unsigned rc)
{
    switch (op) {
    case ZK_SOP_BAR:
        return imm ? "bar: only barrier 0 exists" : NULL;
    case ZK_SOP_BRA:
        return (int64_t)imm != (int32_t)imm ? "bra: offset out of range" : NULL;
    case ZK_SOP_SREG:
        return imm >= ZK_SR_COUNT ? "sreg: unknown special register" : NULL;
    case ZK_SOP_CVTA:
        return t2 != ZK_SPACE_GLOBAL && t2 != ZK_SPACE_SHARED &&
               t2 != ZK_SPACE_LOCAL ? "cvta: space must be global, shared "
                                      "or local" : NULL;
    case ZK_SOP_SETP:
    case ZK_SOP_SET:
        return !is_float(type) && mod > ZK_CMP_GE ?
               "setp: unordered comparisons are for floats" : NULL;
    case ZK_SOP_CVT:
        if (t2 >= ZK_ST_COUNT) {
            return "cvt: bad source type";
        }
        if ((type == ZK_ST_F16 || type == ZK_ST_BF16) && mod != ZK_RND_RN) {
            return "cvt: f16/bf16 results round to nearest even only";
        }
        return NULL;
    case ZK_SOP_LD:
    case ZK_SOP_ST:
    case ZK_SOP_ATOM:
        if (flags) {
            return "memory operands take no immediate flags (imm is the offset)";
        }
        if (t2 >= ZK_SPACE_COUNT) {
            return "unknown memory space";
        }
        if (op != ZK_SOP_LD && (t2 == ZK_SPACE_PARAM || t2 == ZK_SPACE_CONST)) {
            return "param and const memory are read-only";
        }
        if (op == ZK_SOP_ATOM) {
            if (t2 == ZK_SPACE_LOCAL) {
                return "atom: global, shared or generic memory only";
            }
            if (type == ZK_ST_F32 && mod != ZK_ATOM_ADD && mod != ZK_ATOM_EXCH) {
                return "atom: f32 supports add and exch only";
            }
            if ((mod == ZK_ATOM_INC || mod == ZK_ATOM_DEC) && type != ZK_ST_U32) {
                return "atom: inc/dec are u32";
            }
            if (mod != ZK_ATOM_CAS && rc) {
                return "atom: operand c is for cas only";
            }
        }
        return NULL;
    case ZK_SOP_VOTE:
        return ra > 15 ? "vote: bad predicate" : NULL;
    case ZK_SOP_PLOP:
        return ra > 15 || rc ? "plop: bad predicate" : NULL;
    default:
        return NULL;
    }
}

const char *zk_simt_check(const uint64_t w[2])
{
    uint64_t w0 = w[0];
    uint8_t op = ZK_SW_OP(w0);
    const ZkSimtOpInfo *oi = zk_simt_op(op);
    unsigned type = ZK_SW_TYPE(w0), mod = ZK_SW_MOD(w0), t2 = ZK_SW_TYPE2(w0);
    unsigned flags = ZK_SW_FLAGS(w0);
    unsigned use;

    if (!oi) {
        return "unknown SIMT opcode";
    }
    use = oi->use;
    if (ZK_SW_RSVD(w0)) {
        return "reserved bit 47 set";
    }
    if (type >= ZK_ST_COUNT || !(oi->types & (1u << type))) {
        return "operand type not allowed for this opcode";
    }
    if (oi->mod_count ? mod >= oi->mod_count : mod != 0) {
        return "bad modifier";
    }
    if (!(use & T2) && t2) {
        return "unused type2/space field set";
    }
    if (flags & ~ZK_SF_MASK) {
        return "reserved flag set";
    }
    if (((flags & ZK_SF_BIMM) && !(use & B)) || ((flags & ZK_SF_CIMM) && !(use & C))) {
        return "immediate flag for an operand the opcode does not have";
    }
    if (!(use & RD) && ZK_SW_RD(w0)) {
        return "unused rd field set";
    }
    if (!(use & (RA | PA)) && ZK_SW_RA(w0)) {
        return "unused ra field set";
    }
    if ((!(use & (B | PB)) || (flags & ZK_SF_BIMM)) && ZK_SW_RB(w0)) {
        return "unused rb field set";
    }
    if ((!(use & C) || (flags & ZK_SF_CIMM)) && ZK_SW_RC(w0)) {
        return "unused rc field set";
    }
    if (!(use & (PD | PS)) && ZK_SW_PD(w0)) {
        return "unused pd field set";
    }
    if ((use & PB) && ZK_SW_RB(w0) > 15) {
        return "bad predicate operand";
    }
    if (!(use & IM) && !(flags & (ZK_SF_BIMM | ZK_SF_CIMM)) && w[1]) {
        return "unused immediate set";
    }
    return check_special(op, type, mod, t2, flags, w[1], ZK_SW_RA(w0),
                         ZK_SW_RC(w0));
}

int64_t zk_simt_target(const uint64_t w[2], uint32_t pc)
{
    if (ZK_SW_OP(w[0]) != ZK_SOP_BRA) {
        return -1;
    }
    return (int64_t)pc + (int32_t)(uint32_t)w[1];
}

static void note_regs(const uint64_t *w, ZkSimtInfo *info)
{
    const ZkSimtOpInfo *oi = zk_simt_op(ZK_SW_OP(w[0]));
    unsigned flags = ZK_SW_FLAGS(w[0]), m = 0;

    if (oi->use & RD) {
        m = ZK_SW_RD(w[0]);
    }
    if ((oi->use & RA) && ZK_SW_RA(w[0]) > m) {
        m = ZK_SW_RA(w[0]);
    }
    if ((oi->use & B) && !(flags & ZK_SF_BIMM) && ZK_SW_RB(w[0]) > m) {
        m = ZK_SW_RB(w[0]);
    }
    if ((oi->use & C) && !(flags & ZK_SF_CIMM) && ZK_SW_RC(w[0]) > m) {
        m = ZK_SW_RC(w[0]);
    }
    if (m + 1 > info->num_regs) {
        info->num_regs = m + 1;
    }
    switch (ZK_SW_OP(w[0])) {
    case ZK_SOP_BAR:
        info->uses_barrier = true;
        break;
    case ZK_SOP_LD:
    case ZK_SOP_ST:
    case ZK_SOP_ATOM:
    case ZK_SOP_CVTA:
        if (ZK_SW_TYPE2(w[0]) == ZK_SPACE_SHARED ||
            ZK_SW_TYPE2(w[0]) == ZK_SPACE_GENERIC) {
            info->uses_shared = true;
        }
        if (ZK_SW_TYPE2(w[0]) == ZK_SPACE_LOCAL ||
            ZK_SW_TYPE2(w[0]) == ZK_SPACE_GENERIC) {
            info->uses_local = true;
        }
        break;
    }
}

int zk_simt_verify(const uint64_t *code, uint32_t n_insns, uint32_t entry,
                   ZkSimtInfo *info, uint32_t *bad_pc, const char **why)
{
    uint8_t *seen;
    uint32_t *stack, sp = 0;
    int ret = 0;

    memset(info, 0, sizeof(*info));
    info->num_regs = 1;
    if (entry >= n_insns) {
        *bad_pc = entry;
        *why = "entry outside the code";
        return -1;
    }
    seen = calloc(n_insns, 1);
    stack = malloc((size_t)n_insns * sizeof(*stack));
    if (!seen || !stack) {
        free(seen);
        free(stack);
        *bad_pc = entry;
        *why = "out of memory";
        return -1;
    }
    stack[sp++] = entry;
    seen[entry] = 1;
    while (sp) {
        uint32_t pc = stack[--sp];
        const uint64_t *w = &code[2 * (size_t)pc];
        uint8_t op = ZK_SW_OP(w[0]);
        bool guarded = ZK_SW_GUARD(w[0]) != 0 || ZK_SW_GNEG(w[0]);
        int64_t succ[2];
        int ns = 0;

        *why = zk_simt_check(w);
        if (*why) {
            *bad_pc = pc;
            ret = -1;
            break;
        }
        note_regs(w, info);
        if (op == ZK_SOP_BRA) {
            succ[ns++] = zk_simt_target(w, pc);
            if (guarded) {
                succ[ns++] = (int64_t)pc + 1;
            }
        } else if (op == ZK_SOP_EXIT || op == ZK_SOP_TRAP) {
            if (guarded) {
                succ[ns++] = (int64_t)pc + 1;
            }
        } else {
            succ[ns++] = (int64_t)pc + 1;
        }
        for (int i = 0; i < ns; i++) {
            if (succ[i] < 0 || succ[i] >= n_insns) {
                *bad_pc = pc;
                *why = succ[i] == (int64_t)pc + 1 ? "path runs off the end of the code"
                                                  : "branch target outside the code";
                ret = -1;
                goto out;
            }
            if (!seen[succ[i]]) {
                seen[succ[i]] = 1;
                stack[sp++] = (uint32_t)succ[i];
            }
        }
    }
out:
    free(seen);
    free(stack);
    return ret;
}

/* ------------------------------------------------------------------ */
/* Disassembler                                                        */
/* ------------------------------------------------------------------ */

typedef struct Out {
    char *p;
    size_t left;
} Out;

static void put(Out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!o->left) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(o->p, o->left, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n >= o->left) {
        o->p += o->left - 1;
        o->left = 1;
    } else {
        o->p += n;
        o->left -= (size_t)n;
    }
}

static void put_pred(Out *o, unsigned code)
{
    put(o, "%sp%u", code & 8 ? "!" : "", code & 7);
}

static void put_imm(Out *o, uint64_t v, unsigned type)
{
    if (type == ZK_ST_F32) {
        float f;
        uint32_t u = (uint32_t)v;
        memcpy(&f, &u, 4);
        put(o, "0f%08" PRIx32, u);
        (void)f;
    } else if (type == ZK_ST_F64) {
        put(o, "0d%016" PRIx64, v);
    } else {
        put(o, "%" PRId64, (int64_t)v);
    }
}

void zk_simt_disasm(const uint64_t w[2], uint32_t pc, char *buf, size_t len)
{
    uint64_t w0 = w[0], imm = w[1];
    uint8_t op = ZK_SW_OP(w0);
    const ZkSimtOpInfo *oi = zk_simt_op(op);
    unsigned type = ZK_SW_TYPE(w0), mod = ZK_SW_MOD(w0), t2 = ZK_SW_TYPE2(w0);
    unsigned flags = ZK_SW_FLAGS(w0), rd = ZK_SW_RD(w0), ra = ZK_SW_RA(w0);
    unsigned rb = ZK_SW_RB(w0), rc = ZK_SW_RC(w0), pd = ZK_SW_PD(w0);
    uint64_t bimm = imm, cimm = imm;
    Out o = { buf, len };

    if (len) {
        buf[0] = 0;
    }
    if (!oi || zk_simt_check(w)) {
        put(&o, ".simt 0x%016" PRIx64 ", 0x%016" PRIx64, w0, imm);
        return;
    }
    if ((flags & ZK_SF_BIMM) && (flags & ZK_SF_CIMM)) {
        bimm = (uint64_t)(int64_t)(int32_t)(uint32_t)imm;
        cimm = (uint64_t)(int64_t)(int32_t)(uint32_t)(imm >> 32);
    }
    if (ZK_SW_GUARD(w0) || ZK_SW_GNEG(w0)) {
        put(&o, "@%sp%u ", ZK_SW_GNEG(w0) ? "!" : "", ZK_SW_GUARD(w0));
    }
    put(&o, "%s", oi->name);
    /* Suffixes: modifier, space, types. */
    switch (op) {
    case ZK_SOP_SETP: case ZK_SOP_SET:
        put(&o, ".%s", zk_simt_cmp_names[mod]);
        break;
    case ZK_SOP_ATOM:
        put(&o, ".%s.%s", zk_simt_space_names[t2], zk_simt_atom_names[mod]);
        break;
    case ZK_SOP_LD: case ZK_SOP_ST:
        put(&o, ".%s", zk_simt_space_names[t2]);
        break;
    case ZK_SOP_CVTA:
        put(&o, "%s.%s", mod ? ".to" : "", zk_simt_space_names[t2]);
        break;
    case ZK_SOP_SHFL:
        put(&o, ".%s", zk_simt_shfl_names[mod]);
        break;
    case ZK_SOP_VOTE:
        put(&o, ".%s", zk_simt_vote_names[mod]);
        break;
    case ZK_SOP_PLOP:
        put(&o, ".%s", zk_simt_plop_names[mod]);
        break;
    case ZK_SOP_SHF:
        put(&o, ".%s.%s", mod & ZK_SHF_R ? "r" : "l", mod & ZK_SHF_CLAMP ? "clamp" : "wrap");
        break;
    default:
        if (oi->mod_count == ZK_RND_COUNT && mod) {
            put(&o, ".%s", zk_simt_rnd_names[mod]);
        }
        break;
    }
    if (oi->types != T_NONE) {
        put(&o, ".%s", zk_simt_type_names[type]);
    }
    if (op == ZK_SOP_CVT) {
        put(&o, ".%s", zk_simt_type_names[t2]);
    }
    /* Operands. */
    switch (op) {
    case ZK_SOP_BRA:
        put(&o, " @%" PRId64, zk_simt_target(w, pc));
        return;
    case ZK_SOP_SREG:
        put(&o, " r%u, %%%s", rd, zk_simt_sreg_names[imm]);
        return;
    case ZK_SOP_LD:
        put(&o, " r%u, [r%u%+" PRId64 "]", rd, ra, (int64_t)imm);
        return;
    case ZK_SOP_ST:
        put(&o, " [r%u%+" PRId64 "], r%u", ra, (int64_t)imm, rb);
        return;
    case ZK_SOP_ATOM:
        put(&o, " r%u, [r%u%+" PRId64 "], r%u", rd, ra, (int64_t)imm, rb);
        if (mod == ZK_ATOM_CAS) {
            put(&o, ", r%u", rc);
        }
        return;
    case ZK_SOP_PLOP:
        put(&o, " p%u, ", pd);
        put_pred(&o, ra);
        put(&o, ", ");
        put_pred(&o, rb);
        return;
    case ZK_SOP_VOTE:
        if (mod == ZK_VOTE_BALLOT) {
            put(&o, " r%u, ", rd);
        } else {
            put(&o, " p%u, ", pd);
        }
        put_pred(&o, ra);
        return;
    case ZK_SOP_SHFL:
        put(&o, " r%u|p%u, r%u", rd, pd, ra);
        break;
    case ZK_SOP_SETP:
        put(&o, " p%u, r%u", pd, ra);
        break;
    default:
        if (oi->use & RD) {
            put(&o, " r%u", rd);
        }
        if (oi->use & RA) {
            put(&o, "%sr%u", oi->use & RD ? ", " : " ", ra);
        }
        break;
    }
    if (oi->use & B) {
        put(&o, (oi->use & (RA | RD)) ? ", " : " ");
        if (flags & ZK_SF_BIMM) {
            put_imm(&o, bimm, type);
        } else {
            put(&o, "r%u", rb);
        }
    }
    if (oi->use & C) {
        put(&o, ", ");
        if (flags & ZK_SF_CIMM) {
            put_imm(&o, cimm, type);
        } else {
            put(&o, "r%u", rc);
        }
    }
    if (oi->use & PS) {
        put(&o, ", p%u", pd);
    }
}

/* ------------------------------------------------------------------ */
/* Emitter                                                             */
/* ------------------------------------------------------------------ */

void zk_simt_buf_init(ZkSimtBuf *b)
{
    memset(b, 0, sizeof(*b));
}

void zk_simt_buf_free(ZkSimtBuf *b)
{
    free(b->w);
    memset(b, 0, sizeof(*b));
}

int64_t zk_simt_emit(ZkSimtBuf *b, const ZkSimtInsn *i)
{
    if (b->oom) {
        return -1;
    }
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? b->cap * 2 : 64;
        uint64_t *w = cap > b->cap ? realloc(b->w, (size_t)cap * 16) : NULL;
        if (!w) {
            b->oom = true;
            return -1;
        }
        b->w = w;
        b->cap = cap;
    }
    zk_simt_encode(i, &b->w[2 * (size_t)b->n]);
    return b->n++;
}

void zk_simt_patch_target(ZkSimtBuf *b, uint32_t at, uint32_t target)
{
    if (!b->oom && at < b->n) {
        b->w[2 * (size_t)at + 1] = (uint64_t)(int64_t)((int64_t)target - at);
    }
}

int64_t zk_simt_rrr(ZkSimtBuf *b, uint8_t op, uint8_t type, uint8_t rd,
                    uint8_t ra, uint8_t rb)
{
    ZkSimtInsn i = { .op = op, .type = type, .rd = rd, .ra = ra, .rb = rb };
    return zk_simt_emit(b, &i);
}

int64_t zk_simt_rri(ZkSimtBuf *b, uint8_t op, uint8_t type, uint8_t rd,
                    uint8_t ra, int64_t imm)
{
    ZkSimtInsn i = { .op = op, .type = type, .rd = rd, .ra = ra,
                     .flags = ZK_SF_BIMM, .imm = (uint64_t)imm };
    return zk_simt_emit(b, &i);
}

int64_t zk_simt_mov_imm(ZkSimtBuf *b, uint8_t rd, uint64_t imm)
{
    ZkSimtInsn i = { .op = ZK_SOP_MOV, .rd = rd, .flags = ZK_SF_BIMM, .imm = imm };
    return zk_simt_emit(b, &i);
}

int64_t zk_simt_sreg(ZkSimtBuf *b, uint8_t rd, unsigned sr)
{
    ZkSimtInsn i = { .op = ZK_SOP_SREG, .rd = rd, .imm = sr };
    return zk_simt_emit(b, &i);
}

int64_t zk_simt_ld(ZkSimtBuf *b, uint8_t space, uint8_t type, uint8_t rd,
                   uint8_t ra, int64_t off)
{
    ZkSimtInsn i = { .op = ZK_SOP_LD, .type = type, .type2 = space, .rd = rd,
                     .ra = ra, .imm = (uint64_t)off };
    return zk_simt_emit(b, &i);
}

int64_t zk_simt_st(ZkSimtBuf *b, uint8_t space, uint8_t type, uint8_t ra,
                   int64_t off, uint8_t rb)
{
    ZkSimtInsn i = { .op = ZK_SOP_ST, .type = type, .type2 = space, .ra = ra,
                     .rb = rb, .imm = (uint64_t)off };
    return zk_simt_emit(b, &i);
}

int64_t zk_simt_setp(ZkSimtBuf *b, uint8_t cmp, uint8_t type, uint8_t pd,
                     uint8_t ra, uint8_t rb)
{
    ZkSimtInsn i = { .op = ZK_SOP_SETP, .mod = cmp, .type = type, .pd = pd,
                     .ra = ra, .rb = rb };
    return zk_simt_emit(b, &i);
}

int64_t zk_simt_setp_imm(ZkSimtBuf *b, uint8_t cmp, uint8_t type, uint8_t pd,
                         uint8_t ra, int64_t imm)
{
    ZkSimtInsn i = { .op = ZK_SOP_SETP, .mod = cmp, .type = type, .pd = pd,
                     .ra = ra, .flags = ZK_SF_BIMM, .imm = (uint64_t)imm };
    return zk_simt_emit(b, &i);
}

int64_t zk_simt_bra(ZkSimtBuf *b, uint8_t guard, bool gneg, uint32_t target)
{
    ZkSimtInsn i = { .op = ZK_SOP_BRA, .guard = guard, .gneg = gneg };
    int64_t at = zk_simt_emit(b, &i);
    if (at >= 0) {
        zk_simt_patch_target(b, (uint32_t)at, target);
    }
    return at;
}

int64_t zk_simt_op0(ZkSimtBuf *b, uint8_t op)
{
    ZkSimtInsn i = { .op = op };
    return zk_simt_emit(b, &i);
}
