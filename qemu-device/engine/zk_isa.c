/* SPDX-License-Identifier: MIT */
/*
 * zk_isa.c - instruction table, static verifier and disassembler.
 *
 * The verifier walks the control-flow graph from the entry point instead of
 * scanning linearly: the image holds code followed by constants, and only
 * the launch entry is known, so "every reachable instruction" is the exact
 * set that can ever execute.  With no indirect jumps in the ISA this check
 * is complete: a verified kernel can never decode an unchecked word.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk_isa.h"

#define TD ZK_TU_TD
#define TA ZK_TU_TA
#define TB ZK_TU_TB
#define TC ZK_TU_TC
#define TE ZK_TU_TE
#define RS ZK_TU_RS

static const ZkOpInfo op_table[256] = {
    [ZK_OP_HALT] = { "halt", ZK_FMT_NONE, 0, 0, 0, 0 },
    [ZK_OP_NOP] = { "nop", ZK_FMT_NONE, 0, 0, 0, 0 },
    [ZK_OP_JMP] = { "jmp", ZK_FMT_J, 0, 0, 0, 0 },
    [ZK_OP_JMPA] = { "jmpa", ZK_FMT_JA, 0, 0, 0, 0 },
    [ZK_OP_BEQ] = { "beq", ZK_FMT_B, 0, 0, 0, 0 },
    [ZK_OP_BNE] = { "bne", ZK_FMT_B, 0, 0, 0, 0 },
    [ZK_OP_BLT] = { "blt", ZK_FMT_B, 0, 0, 0, 0 },
    [ZK_OP_BGE] = { "bge", ZK_FMT_B, 0, 0, 0, 0 },
    [ZK_OP_BLTU] = { "bltu", ZK_FMT_B, 0, 0, 0, 0 },
    [ZK_OP_BGEU] = { "bgeu", ZK_FMT_B, 0, 0, 0, 0 },
    [ZK_OP_LOOP] = { "loop", ZK_FMT_LOOP, 0, 0, 0, 0 },
    [ZK_OP_MOVI] = { "movi", ZK_FMT_RI, 0, 0, 0, 0 },
    [ZK_OP_MOVHI] = { "movhi", ZK_FMT_RI, 0, 0, 0, 0 },
    [ZK_OP_MOV] = { "mov", ZK_FMT_RR, 0, 0, 0, 0 },
    [ZK_OP_ARG] = { "arg", ZK_FMT_RI, 0, 0, 0, 0 },
    [ZK_OP_SREG] = { "sreg", ZK_FMT_RI, 0, 0, 0, 0 },
    [ZK_OP_LEA] = { "lea", ZK_FMT_RI, 0, 0, 0, 0 },
    [ZK_OP_ADD] = { "add", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_SUB] = { "sub", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_MUL] = { "mul", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_DIVU] = { "divu", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_REMU] = { "remu", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_AND] = { "and", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_OR] = { "or", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_XOR] = { "xor", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_SHL] = { "shl", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_SHR] = { "shr", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_SRA] = { "sra", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_MIN] = { "min", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_MAX] = { "max", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_SLT] = { "slt", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_SLTU] = { "sltu", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_ADDI] = { "addi", ZK_FMT_RRI, 0, 0, 0, 0 },
    [ZK_OP_MULI] = { "muli", ZK_FMT_RRI, 0, 0, 0, 0 },
    [ZK_OP_ANDI] = { "andi", ZK_FMT_RRI, 0, 0, 0, 0 },
    [ZK_OP_ORI] = { "ori", ZK_FMT_RRI, 0, 0, 0, 0 },
    [ZK_OP_XORI] = { "xori", ZK_FMT_RRI, 0, 0, 0, 0 },
    [ZK_OP_SHLI] = { "shli", ZK_FMT_RRI, 0, 0, 0, 0 },
    [ZK_OP_SHRI] = { "shri", ZK_FMT_RRI, 0, 0, 0, 0 },
    [ZK_OP_SRAI] = { "srai", ZK_FMT_RRI, 0, 0, 0, 0 },
    [ZK_OP_SLTI] = { "slti", ZK_FMT_RRI, 0, 0, 0, 0 },
    [ZK_OP_FADD] = { "fadd", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_FSUB] = { "fsub", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_FMUL] = { "fmul", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_FDIV] = { "fdiv", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_FMIN] = { "fmin", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_FMAX] = { "fmax", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_FSQRT] = { "fsqrt", ZK_FMT_RR, 0, 0, 0, 0 },
    [ZK_OP_FCVTIF] = { "fcvtif", ZK_FMT_RR, 0, 0, 0, 0 },
    [ZK_OP_FCVTFI] = { "fcvtfi", ZK_FMT_RR, 0, 0, 0, 0 },
    [ZK_OP_FLT] = { "flt", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_FLE] = { "fle", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_FEQ] = { "feq", ZK_FMT_RRR, 0, 0, 0, 0 },
    [ZK_OP_LD8] = { "ld8", ZK_FMT_LD, 0, 0, 0, 0 },
    [ZK_OP_LD16] = { "ld16", ZK_FMT_LD, 0, 0, 0, 0 },
    [ZK_OP_LD32] = { "ld32", ZK_FMT_LD, 0, 0, 0, 0 },
    [ZK_OP_LD64] = { "ld64", ZK_FMT_LD, 0, 0, 0, 0 },
    [ZK_OP_LD8S] = { "ld8s", ZK_FMT_LD, 0, 0, 0, 0 },
    [ZK_OP_LD16S] = { "ld16s", ZK_FMT_LD, 0, 0, 0, 0 },
    [ZK_OP_LD32S] = { "ld32s", ZK_FMT_LD, 0, 0, 0, 0 },
    [ZK_OP_ST8] = { "st8", ZK_FMT_ST, 0, 0, 0, 0 },
    [ZK_OP_ST16] = { "st16", ZK_FMT_ST, 0, 0, 0, 0 },
    [ZK_OP_ST32] = { "st32", ZK_FMT_ST, 0, 0, 0, 0 },
    [ZK_OP_ST64] = { "st64", ZK_FMT_ST, 0, 0, 0, 0 },
    [ZK_OP_TSET] = { "tset", ZK_FMT_TSET, 0, 0, 0, 0 },
    [ZK_OP_MATMUL] = { "matmul", ZK_FMT_T, TD | TA | TB | TC | TE, 0, 0,
                       ZK_MM_ACC | ZK_MM_BT | ZK_MM_DEQ },
    [ZK_OP_EBIN] = { "ebin", ZK_FMT_T, TD | TA | TB, 0, ZK_EB_COUNT, 0 },
    [ZK_OP_EUN] = { "eun", ZK_FMT_T, TD | TA, 0, ZK_EU_COUNT, 0 },
    [ZK_OP_ESCALE] = { "tscale", ZK_FMT_T, TD | TA | RS, 2, 0, 0 },
    [ZK_OP_REDUCE] = { "reduce", ZK_FMT_T, TD | TA, 0, ZK_RED_COUNT, 0 },
    [ZK_OP_SOFTMAX] = { "softmax", ZK_FMT_T, TD | TA, 0, 0, 0 },
    [ZK_OP_RMSNORM] = { "rmsnorm", ZK_FMT_T, TD | TA | TB | RS, 1, 0, 0 },
    [ZK_OP_LAYERNORM] = { "layernorm", ZK_FMT_T, TD | TA | TB | TC | RS, 1, 0,
                          ZK_LN_BIAS },
    [ZK_OP_ROPE] = { "rope", ZK_FMT_T, TD | TA | RS, 2, 0, ZK_ROPE_PARAMS },
    [ZK_OP_EMBED] = { "embed", ZK_FMT_T, TD | TA | TB, 0, 0, 0 },
    [ZK_OP_QUANT] = { "quant", ZK_FMT_T, TD | TA | TB, 0, 0, 0 },
    [ZK_OP_DEQUANT] = { "dequant", ZK_FMT_T, TD | TA | TB, 0, 0, 0 },
    [ZK_OP_KVWRITE] = { "kvwrite", ZK_FMT_T, TD | TA | TB | TC | TE | RS, 2, 0, 0 },
    [ZK_OP_PATTN] = { "pattn", ZK_FMT_T, TD | TA | TB | TC | TE | RS, 4, 0, 0 },
    [ZK_OP_QMATMUL] = { "qmatmul", ZK_FMT_T, TD | TA | TB, 0, 0, ZK_MM_ACC },
    [ZK_OP_TOPK] = { "topk", ZK_FMT_T, TD | TA | TB, 0, 0, 0 },
};

const ZkMnemonic zk_isa_mnemonics[] = {
    { "tadd", ZK_OP_EBIN, ZK_EB_ADD },
    { "tsub", ZK_OP_EBIN, ZK_EB_SUB },
    { "tmul", ZK_OP_EBIN, ZK_EB_MUL },
    { "tswiglu", ZK_OP_EBIN, ZK_EB_SWIGLU },
    { "tcopy", ZK_OP_EUN, ZK_EU_COPY },
    { "tsilu", ZK_OP_EUN, ZK_EU_SILU },
    { "tgelu", ZK_OP_EUN, ZK_EU_GELU },
    { "texp", ZK_OP_EUN, ZK_EU_EXP },
    { "trelu", ZK_OP_EUN, ZK_EU_RELU },
    { "tsum", ZK_OP_REDUCE, ZK_RED_SUM },
    { "tmax", ZK_OP_REDUCE, ZK_RED_MAX },
    { "targmax", ZK_OP_REDUCE, ZK_RED_ARGMAX },
};
const size_t zk_isa_num_mnemonics =
    sizeof(zk_isa_mnemonics) / sizeof(zk_isa_mnemonics[0]);

const char *const zk_dtype_names[ZK_DT_COUNT] = {
    "f32", "f16", "bf16", "i8", "i32", "q8_0", "q4_0",
};

const char *const zk_sreg_names[ZK_SREG_COUNT] = {
    "wg_x", "wg_y", "wg_z", "nwg_x", "nwg_y", "nwg_z", "wg_linear",
    "code_va", "args_va",
};

/* Flag names of the fn field, bit by bit, for ops that take flags. */
static const char *const *flag_names(uint8_t op)
{
    static const char *const mm[] = { "acc", "bt", "deq", NULL };
    static const char *const ln[] = { "bias", NULL };
    static const char *const rope[] = { "params", NULL };
    if (op == ZK_OP_QMATMUL) {
        return mm;      /* only "acc" is allowed by the mask */
    }
    if (op == ZK_OP_ROPE) {
        return rope;
    }
    if (op == ZK_OP_MATMUL) {
        return mm;
    }
    return op == ZK_OP_LAYERNORM ? ln : NULL;
}

const ZkOpInfo *zk_isa_op(uint8_t op)
{
    return op_table[op].name ? &op_table[op] : NULL;
}

static bool is_reg(unsigned r)
{
    return r < ZK_NUM_REGS;
}

static bool is_tdesc(unsigned t)
{
    return t < ZK_NUM_TDESC;
}

/* Tensor-op operand checks; optional operands (tc/te) must be 0 when off. */
static const char *check_tensor(const ZkOpInfo *oi, uint8_t op, unsigned rd,
                                unsigned ra, unsigned rb, uint32_t imm)
{
    unsigned fn = ZK_TI_FN(imm);
    unsigned tuse = oi->tuse;

    if (ZK_TI_RESERVED(imm)) {
        return "reserved immediate bits set";
    }
    if (oi->fn_mask ? (fn & ~oi->fn_mask) != 0
                    : (oi->fn_count ? fn >= oi->fn_count : fn != 0)) {
        return "bad sub-operation or flags";
    }
    if (op == ZK_OP_MATMUL && !(fn & ZK_MM_DEQ)) {
        tuse &= ~(TC | TE);
    }
    if (op == ZK_OP_LAYERNORM && !(fn & ZK_LN_BIAS)) {
        tuse &= ~TC;
    }
    if ((tuse & TD) ? !is_tdesc(rd) : rd != 0) {
        return "bad destination descriptor";
    }
    if ((tuse & TA) ? !is_tdesc(ra) : ra != 0) {
        return "bad first source descriptor";
    }
    if ((tuse & TB) ? !is_tdesc(rb) : rb != 0) {
        return "bad second source descriptor";
    }
    if ((tuse & TC) ? !is_tdesc(ZK_TI_TC(imm)) : ZK_TI_TC(imm) != 0) {
        return "bad third source descriptor";
    }
    if ((tuse & TE) ? !is_tdesc(ZK_TI_TE(imm)) : ZK_TI_TE(imm) != 0) {
        return "bad fourth source descriptor";
    }
    /* rope with parameters reads theta and scale too. */
    unsigned nscalar = oi->nscalar + (op == ZK_OP_ROPE && (fn & ZK_ROPE_PARAMS) ? 2 : 0);
    if ((tuse & RS) ? ZK_TI_RS(imm) + nscalar > ZK_NUM_REGS
                    : ZK_TI_RS(imm) != 0) {
        return "bad scalar parameter register";
    }
    return NULL;
}

const char *zk_isa_check(uint64_t insn, uint32_t num_args, uint32_t image_size)
{
    uint8_t op = ZK_INSN_OP(insn);
    unsigned rd = ZK_INSN_RD(insn), ra = ZK_INSN_RA(insn), rb = ZK_INSN_RB(insn);
    int32_t imm = ZK_INSN_IMM(insn);
    const ZkOpInfo *oi = zk_isa_op(op);

    if (!oi) {
        return "unknown opcode";
    }
    /* Which of rd/ra/rb/imm each format uses: 1 = register, 0 = must be 0. */
    switch (oi->fmt) {
    case ZK_FMT_NONE:
        return (rd | ra | rb | imm) ? "operands must be 0" : NULL;
    case ZK_FMT_J:
    case ZK_FMT_JA:
        return (rd | ra | rb) ? "unused register fields must be 0" : NULL;
    case ZK_FMT_B:
        return (rd || !is_reg(ra) || !is_reg(rb)) ? "bad register" : NULL;
    case ZK_FMT_LOOP:
        return (!is_reg(rd) || ra || rb) ? "bad register" : NULL;
    case ZK_FMT_RI:
        if (!is_reg(rd) || ra || rb) {
            return "bad register";
        }
        if (op == ZK_OP_ARG && (uint32_t)imm >= num_args) {
            return "argument index out of range";
        }
        if (op == ZK_OP_SREG && (uint32_t)imm >= ZK_SREG_COUNT) {
            return "unknown special register";
        }
        if (op == ZK_OP_LEA && (uint32_t)imm > image_size) {
            return "address outside the image";
        }
        return NULL;
    case ZK_FMT_RR:
        return (!is_reg(rd) || !is_reg(ra) || rb || imm) ? "bad operands" : NULL;
    case ZK_FMT_RRR:
        return (!is_reg(rd) || !is_reg(ra) || !is_reg(rb) || imm) ?
               "bad operands" : NULL;
    case ZK_FMT_RRI:
        if (!is_reg(rd) || !is_reg(ra) || rb) {
            return "bad register";
        }
        if ((op == ZK_OP_SHLI || op == ZK_OP_SHRI || op == ZK_OP_SRAI) &&
            (imm < 0 || imm > 63)) {
            return "shift amount out of range";
        }
        return NULL;
    case ZK_FMT_LD:
        return (!is_reg(rd) || !is_reg(ra) || rb) ? "bad register" : NULL;
    case ZK_FMT_ST:
        return (rd || !is_reg(ra) || !is_reg(rb)) ? "bad register" : NULL;
    case ZK_FMT_TSET:
        if (!is_tdesc(rd) || ra + 4 > ZK_NUM_REGS || rb) {
            return "bad descriptor or register";
        }
        return (uint32_t)imm >= ZK_DT_COUNT ? "unknown dtype" : NULL;
    case ZK_FMT_T:
        return check_tensor(oi, op, rd, ra, rb, (uint32_t)imm);
    }
    return "bad format";
}

int64_t zk_isa_target(uint64_t insn, uint32_t pc)
{
    const ZkOpInfo *oi = zk_isa_op(ZK_INSN_OP(insn));
    if (!oi) {
        return -1;
    }
    switch (oi->fmt) {
    case ZK_FMT_J:
    case ZK_FMT_B:
    case ZK_FMT_LOOP:
        return (int64_t)pc + ZK_INSN_IMM(insn);
    case ZK_FMT_JA:
        return (uint32_t)ZK_INSN_IMM(insn);
    }
    return -1;
}

int zk_isa_verify(const uint64_t *code, uint32_t n_insns, uint32_t entry,
                  uint32_t num_args, uint32_t image_size,
                  uint32_t *bad_pc, const char **why)
{
    uint8_t *seen;
    uint32_t *stack;
    uint32_t sp = 0;
    int ret = 0;

    *bad_pc = entry;
    if (entry >= n_insns) {
        *why = "entry point outside the code";
        return -1;
    }
    seen = calloc(n_insns, 1);
    stack = malloc(sizeof(*stack) * n_insns);
    if (!seen || !stack) {
        free(seen);
        free(stack);
        *why = "out of memory";
        return -1;
    }
    seen[entry] = 1;
    stack[sp++] = entry;
    while (sp && !ret) {
        uint32_t pc = stack[--sp];
        uint64_t w = code[pc];
        const char *err = zk_isa_check(w, num_args, image_size);
        uint8_t op = ZK_INSN_OP(w);

        if (err) {
            *bad_pc = pc;
            *why = err;
            ret = -1;
            break;
        }
        uint8_t fmt = zk_isa_op(op)->fmt;
        bool jumps = fmt == ZK_FMT_J || fmt == ZK_FMT_JA || fmt == ZK_FMT_B ||
                     fmt == ZK_FMT_LOOP;
        bool falls = op != ZK_OP_HALT && op != ZK_OP_JMP && op != ZK_OP_JMPA;
        int64_t succ[2];
        int nsucc = 0;
        if (jumps) {
            succ[nsucc++] = zk_isa_target(w, pc);
            if (succ[0] < 0 || succ[0] >= n_insns) {
                *why = "branch target outside the code";
            }
        }
        if (falls) {
            succ[nsucc++] = (int64_t)pc + 1;
            if (pc + 1 >= n_insns) {
                *why = "execution runs off the end of the code";
            }
        }
        for (int i = 0; i < nsucc; i++) {
            if (succ[i] < 0 || succ[i] >= n_insns) {
                *bad_pc = pc;
                ret = -1;
                break;
            }
            if (!seen[succ[i]]) {
                seen[succ[i]] = 1;
                stack[sp++] = (uint32_t)succ[i];
            }
        }
    }
    free(seen);
    free(stack);
    return ret;
}

static void print_flags(uint8_t op, unsigned fn, char *p, size_t len)
{
    const char *const *names = flag_names(op);
    bool first = true;
    for (unsigned b = 0; names && names[b] && len > 1; b++) {
        if (fn & (1u << b)) {
            int n = snprintf(p, len, "%s%s", first ? ", " : "|", names[b]);
            if (n < 0 || (size_t)n >= len) {
                return;
            }
            p += n;
            len -= (size_t)n;
            first = false;
        }
    }
}

void zk_isa_disasm(uint64_t insn, uint32_t pc, char *buf, size_t len)
{
    uint8_t op = ZK_INSN_OP(insn);
    unsigned rd = ZK_INSN_RD(insn), ra = ZK_INSN_RA(insn), rb = ZK_INSN_RB(insn);
    int32_t imm = ZK_INSN_IMM(insn);
    const ZkOpInfo *oi = zk_isa_op(op);
    const char *name = oi ? oi->name : NULL;

    if (!oi || zk_isa_check(insn, 256, UINT32_MAX)) {
        snprintf(buf, len, ".word 0x%016" PRIx64, insn);
        return;
    }
    if (oi->fmt == ZK_FMT_T && oi->fn_count) {
        for (size_t i = 0; i < zk_isa_num_mnemonics; i++) {
            if (zk_isa_mnemonics[i].op == op &&
                zk_isa_mnemonics[i].fn == (int)ZK_TI_FN(imm)) {
                name = zk_isa_mnemonics[i].name;
            }
        }
    }
    switch (oi->fmt) {
    case ZK_FMT_NONE:
        snprintf(buf, len, "%s", name);
        break;
    case ZK_FMT_J:
    case ZK_FMT_JA:
        snprintf(buf, len, "%s @%" PRId64, name, zk_isa_target(insn, pc));
        break;
    case ZK_FMT_B:
        snprintf(buf, len, "%s r%u, r%u, @%" PRId64, name, ra, rb,
                 zk_isa_target(insn, pc));
        break;
    case ZK_FMT_LOOP:
        snprintf(buf, len, "%s r%u, @%" PRId64, name, rd,
                 zk_isa_target(insn, pc));
        break;
    case ZK_FMT_RI:
        if (op == ZK_OP_SREG) {
            snprintf(buf, len, "%s r%u, %s", name, rd, zk_sreg_names[imm]);
        } else if (op == ZK_OP_MOVHI || op == ZK_OP_LEA) {
            snprintf(buf, len, "%s r%u, 0x%x", name, rd, (uint32_t)imm);
        } else {
            snprintf(buf, len, "%s r%u, %d", name, rd, imm);
        }
        break;
    case ZK_FMT_RR:
        snprintf(buf, len, "%s r%u, r%u", name, rd, ra);
        break;
    case ZK_FMT_RRR:
        snprintf(buf, len, "%s r%u, r%u, r%u", name, rd, ra, rb);
        break;
    case ZK_FMT_RRI:
        snprintf(buf, len, "%s r%u, r%u, %d", name, rd, ra, imm);
        break;
    case ZK_FMT_LD:
        snprintf(buf, len, "%s r%u, [r%u %c %" PRId64 "]", name, rd, ra,
                 imm < 0 ? '-' : '+', imm < 0 ? -(int64_t)imm : imm);
        break;
    case ZK_FMT_ST:
        snprintf(buf, len, "%s [r%u %c %" PRId64 "], r%u", name, ra,
                 imm < 0 ? '-' : '+', imm < 0 ? -(int64_t)imm : imm, rb);
        break;
    case ZK_FMT_TSET:
        snprintf(buf, len, "%s t%u, r%u, %s", name, rd, ra,
                 zk_dtype_names[imm]);
        break;
    case ZK_FMT_T: {
        unsigned fn = ZK_TI_FN(imm), tuse = oi->tuse;
        if (op == ZK_OP_MATMUL && !(fn & ZK_MM_DEQ)) {
            tuse &= ~(TC | TE);
        }
        if (op == ZK_OP_LAYERNORM && !(fn & ZK_LN_BIAS)) {
            tuse &= ~TC;
        }
        int n = snprintf(buf, len, "%s t%u, t%u", name, rd, ra);
        size_t used = n > 0 ? (size_t)n : 0;
        const unsigned fields[4] = { TB, TC, TE, RS };
        const unsigned vals[4] = { rb, ZK_TI_TC(imm), ZK_TI_TE(imm),
                                   ZK_TI_RS(imm) };
        for (int i = 0; i < 4 && used < len; i++) {
            if (tuse & fields[i]) {
                n = snprintf(buf + used, len - used, ", %c%u",
                             i == 3 ? 'r' : 't', vals[i]);
                used += n > 0 ? (size_t)n : 0;
            }
        }
        if (oi->fn_mask && used < len) {
            print_flags(op, fn, buf + used, len - used);
        }
        break;
    }
    }
}
