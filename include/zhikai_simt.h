/* SPDX-License-Identifier: MIT */
/*
 * zhikai_simt.h - ISA v2: the SIMT unit (threads, warps, shared memory).
 *
 * Included by zhikai_isa.h.  docs/isa.md ("ISA v2: SIMT") is the reference;
 * this header is the authoritative encoding, shared by the engine
 * (qemu-device/engine/zk_simt.c), the ISA library (isa/zk_simt_isa.c:
 * verifier, disassembler), the tools and translators that emit SIMT code.
 *
 * A SIMT launch (ZK_LAUNCH_F_SIMT in zhikai_hw.h) runs grid (x,y,z) blocks
 * of block (x,y,z) threads; a block has at most 1024 threads, run as warps
 * of 32 lanes.  Every thread has its own registers r0..r255 (64 bits; r0
 * reads 0, writes to it are dropped), predicates p0..p7 (p0 is always true,
 * writes to it are dropped) and program counter.
 */
#ifndef ZHIKAI_SIMT_H
#define ZHIKAI_SIMT_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#endif

#define ZK_SIMT_WARP            32
#define ZK_SIMT_MAX_THREADS     1024            /* per block */
#define ZK_SIMT_MAX_BLOCK_X     1024
#define ZK_SIMT_MAX_BLOCK_Y     1024
#define ZK_SIMT_MAX_BLOCK_Z     64
#define ZK_SIMT_MAX_SHARED      (96u << 10)     /* bytes per block */
#define ZK_SIMT_MAX_LOCAL       (16u << 10)     /* bytes per thread */
#define ZK_SIMT_MAX_PARAMS      4096            /* launch parameter bytes */
#define ZK_SIMT_NUM_REGS        256             /* r0 = zero register */
#define ZK_SIMT_NUM_PREDS       8               /* p0 = true */
#define ZK_SIMT_INSN_BYTES      16

/*
 * Generic addresses: global device VAs are below 2^39 (ZK_VA_BITS); shared
 * and local memory appear in windows far above, so one 64-bit generic
 * pointer reaches all three.  Local addresses are private to the thread.
 */
#define ZK_SIMT_SHARED_WINDOW   0x0001000000000000ull
#define ZK_SIMT_LOCAL_WINDOW    0x0002000000000000ull
#define ZK_SIMT_WINDOW_SIZE     0x0000000100000000ull

/*
 * Every SIMT instruction is two little-endian 64-bit words (16 bytes; the
 * kernel entry is 16-byte aligned and branch offsets count instructions).
 *
 * word 0:
 *   bits  0..7   op     opcode, 0x80..0xff (ZK_SOP_*)
 *   bits  8..15  rd     destination register
 *   bits 16..23  ra     first source register
 *   bits 24..31  rb     second source register (or imm, ZK_SF_BIMM)
 *   bits 32..39  rc     third source register (or imm, ZK_SF_CIMM)
 *   bits 40..42  guard  guard predicate: the instruction runs in the lanes
 *                       where p[guard] (xor guard_neg) is true; 0 = always
 *   bit  43      gneg   negate the guard
 *   bits 44..46  pd     predicate destination (SETP, PLOP, SHFL, VOTE) or
 *                       predicate source (SELP)
 *   bit  47      reserved, 0
 *   bits 48..51  type   operand type ZK_ST_*
 *   bits 52..55  mod    per-op modifier: rounding ZK_RND_*, compare ZK_CMP_*,
 *                       atomic ZK_ATOM_*, shuffle ZK_SHFL_*, vote ZK_VOTE_*,
 *                       predicate op ZK_PLOP_*, funnel shift ZK_SHF_*
 *   bits 56..59  type2  CVT: source type ZK_ST_*; LD/ST/ATOM/CVTA: memory
 *                       space ZK_SPACE_*
 *   bits 60..63  flags  ZK_SF_*
 * word 1: imm, a 64-bit immediate.
 *
 * Operand b is register rb, or imm if ZK_SF_BIMM; operand c is register rc,
 * or imm if ZK_SF_CIMM.  With both flags, b = low 32 and c = high 32 bits of
 * imm (sign-extended).  Memory instructions address [ra + imm] (imm signed).
 * Unused fields must be zero (the verifier checks).
 */
#define ZK_SF_BIMM              (1u << 0)
#define ZK_SF_CIMM              (1u << 1)
#define ZK_SF_MASK              0x3u

/* Operand types.  32-bit and narrower results are zero-extended into the
 * 64-bit register, except that signed loads sign-extend.  f32 lives in the
 * low 32 bits, f16/bf16 in the low 16 bits. */
#define ZK_ST_U32               0
#define ZK_ST_S32               1
#define ZK_ST_U64               2
#define ZK_ST_S64               3
#define ZK_ST_F32               4
#define ZK_ST_F64               5
#define ZK_ST_F16               6
#define ZK_ST_BF16              7
#define ZK_ST_U8                8
#define ZK_ST_S8                9
#define ZK_ST_U16               10
#define ZK_ST_S16               11
#define ZK_ST_COUNT             12

/* Rounding modes of fp arithmetic and conversions (float->int: rni..rpi). */
#define ZK_RND_RN               0       /* nearest even (default) */
#define ZK_RND_RZ               1       /* toward zero */
#define ZK_RND_RM               2       /* toward -inf */
#define ZK_RND_RP               3       /* toward +inf */
#define ZK_RND_COUNT            4

/* SETP comparisons; integer signedness from the type.  The U forms are
 * true when an operand is NaN. */
#define ZK_CMP_EQ               0
#define ZK_CMP_NE               1
#define ZK_CMP_LT               2
#define ZK_CMP_LE               3
#define ZK_CMP_GT               4
#define ZK_CMP_GE               5
#define ZK_CMP_EQU              6
#define ZK_CMP_NEU              7
#define ZK_CMP_LTU              8
#define ZK_CMP_LEU              9
#define ZK_CMP_GTU              10
#define ZK_CMP_GEU              11
#define ZK_CMP_NUM              12      /* neither is NaN */
#define ZK_CMP_NAN              13      /* either is NaN */
#define ZK_CMP_COUNT            14

/* Memory spaces (type2 of LD, ST, ATOM, CVTA). */
#define ZK_SPACE_GENERIC        0
#define ZK_SPACE_GLOBAL         1
#define ZK_SPACE_SHARED         2       /* byte offset in the block's shared memory */
#define ZK_SPACE_LOCAL          3       /* byte offset in the thread's local memory */
#define ZK_SPACE_PARAM          4       /* byte offset in the launch parameters (LD only) */
#define ZK_SPACE_CONST          5       /* byte offset in the code image (LD only) */
#define ZK_SPACE_COUNT          6

/* ATOM operations: old value to rd; [a] = op(old, b) (CAS: old == b ? c : old). */
#define ZK_ATOM_ADD             0       /* u32 s32 u64 s64 f32 */
#define ZK_ATOM_MIN             1       /* integer, signedness from type */
#define ZK_ATOM_MAX             2
#define ZK_ATOM_EXCH            3
#define ZK_ATOM_CAS             4
#define ZK_ATOM_AND             5
#define ZK_ATOM_OR              6
#define ZK_ATOM_XOR             7
#define ZK_ATOM_INC             8       /* old >= b ? 0 : old + 1 (u32) */
#define ZK_ATOM_DEC             9       /* old == 0 || old > b ? b : old - 1 (u32) */
#define ZK_ATOM_COUNT           10

/* SHFL modes: source lane j; rd = a of lane j when j is in range (pd =
 * true), else rd = own a (pd = false).  b = lane / delta / xor mask, c =
 * PTX's packed clamp and segment mask (c & 31 = clamp, (c >> 8) & 31 =
 * segmask). */
#define ZK_SHFL_IDX             0
#define ZK_SHFL_UP              1
#define ZK_SHFL_DOWN            2
#define ZK_SHFL_BFLY            3
#define ZK_SHFL_COUNT           4

/* VOTE over the lanes executing it; the source predicate is ra & 7 (ra &
 * 8: negated).  BALLOT: rd = mask; ANY/ALL/UNI: pd. */
#define ZK_VOTE_BALLOT          0
#define ZK_VOTE_ANY             1
#define ZK_VOTE_ALL             2
#define ZK_VOTE_UNI             3
#define ZK_VOTE_COUNT           4

/* PLOP: pd = (p[ra & 7] ^ (ra >> 3)) op (p[rb & 7] ^ (rb >> 3)). */
#define ZK_PLOP_AND             0
#define ZK_PLOP_OR              1
#define ZK_PLOP_XOR             2
#define ZK_PLOP_COUNT           3

/* SHF: the 64-bit value b:a (b high) shifted by c; left: rd = high 32 bits,
 * right: rd = low 32 bits.  mod bits: */
#define ZK_SHF_R                (1u << 0)       /* right (else left) */
#define ZK_SHF_CLAMP            (1u << 1)       /* clamp shift to 32 (else wrap) */

/* Special registers (SREG imm). */
#define ZK_SR_TID_X             0
#define ZK_SR_TID_Y             1
#define ZK_SR_TID_Z             2
#define ZK_SR_NTID_X            3
#define ZK_SR_NTID_Y            4
#define ZK_SR_NTID_Z            5
#define ZK_SR_CTAID_X           6
#define ZK_SR_CTAID_Y           7
#define ZK_SR_CTAID_Z           8
#define ZK_SR_NCTAID_X          9
#define ZK_SR_NCTAID_Y          10
#define ZK_SR_NCTAID_Z          11
#define ZK_SR_LANEID            12
#define ZK_SR_WARPID            13
#define ZK_SR_NWARPID           14
#define ZK_SR_CLOCK             15      /* 32-bit, per-block cycle count */
#define ZK_SR_CLOCK64           16
#define ZK_SR_LANEMASK_EQ       17
#define ZK_SR_LANEMASK_LT       18
#define ZK_SR_LANEMASK_LE       19
#define ZK_SR_LANEMASK_GT       20
#define ZK_SR_LANEMASK_GE       21
#define ZK_SR_SHARED_SIZE       22      /* shared bytes of this block */
#define ZK_SR_LOCAL_SIZE        23      /* local bytes per thread */
#define ZK_SR_PARAM_SIZE        24      /* launch parameter bytes */
#define ZK_SR_CODE_VA           25      /* image base */
#define ZK_SR_SMID              26      /* compute unit running the block */
#define ZK_SR_NSMID             27      /* compute units of the card */
#define ZK_SR_GLOBALTIMER       28      /* host ns (monotonic) */
#define ZK_SR_COUNT             29

/* Opcodes. */
/* Control. */
#define ZK_SOP_EXIT     0x80    /* the lane ends */
#define ZK_SOP_BRA      0x81    /* pc += imm (instructions), per lane */
#define ZK_SOP_BAR      0x82    /* block barrier (bar.sync 0); imm = 0 */
#define ZK_SOP_NOP      0x83
#define ZK_SOP_MEMBAR   0x84    /* memory fence (all levels) */
#define ZK_SOP_TRAP     0x85    /* stop the launch: ZK_FAULT_ENGINE */
/* Moves. */
#define ZK_SOP_MOV      0x88    /* rd = b (64 bits) */
#define ZK_SOP_SREG     0x89    /* rd = special register imm (ZK_SR_*) */
#define ZK_SOP_SELP     0x8a    /* rd = p[pd] ? a : b (64 bits) */
#define ZK_SOP_CVTA     0x8b    /* type2 = space; mod 0: rd = generic of a, 1: back */
/* Integer (type U32 S32 U64 S64 unless noted). */
#define ZK_SOP_ADD      0x90
#define ZK_SOP_SUB      0x91
#define ZK_SOP_MUL      0x92    /* low half */
#define ZK_SOP_MULHI    0x93    /* high half */
#define ZK_SOP_MULWIDE  0x94    /* U32/S32 -> 64-bit product */
#define ZK_SOP_MAD      0x95    /* a * b + c, low half */
#define ZK_SOP_MADWIDE  0x96    /* U32/S32: wide(a * b) + c (64-bit c) */
#define ZK_SOP_DIV      0x97    /* x/0 = all ones; INT_MIN/-1 = INT_MIN */
#define ZK_SOP_REM      0x98    /* x%0 = x */
#define ZK_SOP_MIN      0x99
#define ZK_SOP_MAX      0x9a
#define ZK_SOP_ABS      0x9b
#define ZK_SOP_NEG      0x9c
#define ZK_SOP_AND      0x9d
#define ZK_SOP_OR       0x9e
#define ZK_SOP_XOR      0x9f
#define ZK_SOP_NOT      0xa0
#define ZK_SOP_SHL      0xa1    /* shift >= width gives 0 */
#define ZK_SOP_SHR      0xa2    /* logical (U) or arithmetic (S), clamped */
#define ZK_SOP_POPC     0xa3    /* U32/U64 */
#define ZK_SOP_CLZ      0xa4
#define ZK_SOP_BREV     0xa5
#define ZK_SOP_BFE      0xa6    /* a, pos = b, len = c; S: sign-extended */
#define ZK_SOP_BFI      0xa7    /* insert a into b at pos = c & 0xff, len = (c >> 8) & 0xff */
#define ZK_SOP_SHF      0xa8    /* U32 funnel: (b:a) shifted by c, mod ZK_SHF_* */
/* Compare and predicates. */
#define ZK_SOP_SETP     0xb0    /* pd = a cmp b (mod ZK_CMP_*, any numeric type) */
#define ZK_SOP_PLOP     0xb1    /* pd = pa op pb (mod ZK_PLOP_*) */
#define ZK_SOP_SET      0xb2    /* rd = a cmp b ? 1 : 0 */
/* Floating point (type F32 or F64; mod = rounding where IEEE-exact). */
#define ZK_SOP_FADD     0xb8
#define ZK_SOP_FSUB     0xb9
#define ZK_SOP_FMUL     0xba
#define ZK_SOP_FFMA     0xbb    /* a * b + c, one rounding */
#define ZK_SOP_FDIV     0xbc
#define ZK_SOP_FMIN     0xbd    /* NaN-ignoring (IEEE minNum) */
#define ZK_SOP_FMAX     0xbe
#define ZK_SOP_FABS     0xbf
#define ZK_SOP_FNEG     0xc0
#define ZK_SOP_FSQRT    0xc1
#define ZK_SOP_FRCP     0xc2    /* 1 / a, rounded */
#define ZK_SOP_FRSQRT   0xc3    /* approximate (F32 and F64) */
#define ZK_SOP_FEX2     0xc4    /* approximate 2^a (F32) */
#define ZK_SOP_FLG2     0xc5    /* approximate log2 a (F32) */
#define ZK_SOP_FSIN     0xc6    /* approximate (F32) */
#define ZK_SOP_FCOS     0xc7    /* approximate (F32) */
#define ZK_SOP_CVT      0xc8    /* rd (type) = a (type2), rounding mod */
/* Memory. */
#define ZK_SOP_LD       0xd0    /* rd = [a + imm] of type, space in type2 */
#define ZK_SOP_ST       0xd1    /* [a + imm] = b */
#define ZK_SOP_ATOM     0xd2    /* rd = old [a + imm]; op mod; b, c operands */
/* Warp. */
#define ZK_SOP_SHFL     0xd8    /* mod ZK_SHFL_*: rd = a of another lane, pd = valid */
#define ZK_SOP_VOTE     0xd9    /* mod ZK_VOTE_* */

/* Field access. */
#define ZK_SW_OP(w)             ((uint8_t)(w))
#define ZK_SW_RD(w)             ((uint8_t)((w) >> 8))
#define ZK_SW_RA(w)             ((uint8_t)((w) >> 16))
#define ZK_SW_RB(w)             ((uint8_t)((w) >> 24))
#define ZK_SW_RC(w)             ((uint8_t)((w) >> 32))
#define ZK_SW_GUARD(w)          ((unsigned)((w) >> 40) & 7)
#define ZK_SW_GNEG(w)           ((unsigned)((w) >> 43) & 1)
#define ZK_SW_PD(w)             ((unsigned)((w) >> 44) & 7)
#define ZK_SW_RSVD(w)           ((unsigned)((w) >> 47) & 1)
#define ZK_SW_TYPE(w)           ((unsigned)((w) >> 48) & 15)
#define ZK_SW_MOD(w)            ((unsigned)((w) >> 52) & 15)
#define ZK_SW_TYPE2(w)          ((unsigned)((w) >> 56) & 15)
#define ZK_SW_FLAGS(w)          ((unsigned)((w) >> 60) & 15)

/* The encoder: fill a ZkSimtInsn (zero it first), then zk_simt_encode(). */
typedef struct ZkSimtInsn {
	uint8_t op;             /* ZK_SOP_* */
	uint8_t rd, ra, rb, rc; /* registers 0..255 */
	uint8_t guard;          /* predicate 0..7 (0 = always) */
	uint8_t gneg;           /* 1: run where the guard is false */
	uint8_t pd;             /* predicate 0..7 */
	uint8_t type;           /* ZK_ST_* */
	uint8_t mod;            /* op-specific modifier */
	uint8_t type2;          /* CVT source type, or ZK_SPACE_* */
	uint8_t flags;          /* ZK_SF_* */
	uint64_t imm;
} ZkSimtInsn;

static inline void zk_simt_encode(const ZkSimtInsn *i, uint64_t w[2])
{
	w[0] = (uint64_t)i->op | (uint64_t)i->rd << 8 | (uint64_t)i->ra << 16 |
	       (uint64_t)i->rb << 24 | (uint64_t)i->rc << 32 |
	       (uint64_t)(i->guard & 7) << 40 | (uint64_t)(i->gneg & 1) << 43 |
	       (uint64_t)(i->pd & 7) << 44 | (uint64_t)(i->type & 15) << 48 |
	       (uint64_t)(i->mod & 15) << 52 | (uint64_t)(i->type2 & 15) << 56 |
	       (uint64_t)(i->flags & 15) << 60;
	w[1] = i->imm;
}

static inline void zk_simt_decode(const uint64_t w[2], ZkSimtInsn *i)
{
	i->op = ZK_SW_OP(w[0]);
	i->rd = ZK_SW_RD(w[0]);
	i->ra = ZK_SW_RA(w[0]);
	i->rb = ZK_SW_RB(w[0]);
	i->rc = ZK_SW_RC(w[0]);
	i->guard = (uint8_t)ZK_SW_GUARD(w[0]);
	i->gneg = (uint8_t)ZK_SW_GNEG(w[0]);
	i->pd = (uint8_t)ZK_SW_PD(w[0]);
	i->type = (uint8_t)ZK_SW_TYPE(w[0]);
	i->mod = (uint8_t)ZK_SW_MOD(w[0]);
	i->type2 = (uint8_t)ZK_SW_TYPE2(w[0]);
	i->flags = (uint8_t)ZK_SW_FLAGS(w[0]);
	i->imm = w[1];
}

/*
 * Kernel objects: a SIMT kernel's struct zk_kernel_desc has
 * ZK_KDESC_F_SIMT in its flags word and a struct zk_simt_desc of the same
 * name in section ZK_SECT_SIMT.  Its launch parameters are a packed byte
 * buffer of param_bytes (<= ZK_SIMT_MAX_PARAMS); its args[] (if any) name
 * the pointer/scalar parameters for tools.
 */
#define ZK_KDESC_F_SIMT         (1u << 0)
#define ZK_SECT_SIMT            ".zk.simt"

struct zk_simt_desc {
	char name[64];                  /* ZK_NAME_LEN */
	uint32_t shared_bytes;          /* static shared memory per block */
	uint32_t local_bytes;           /* local memory per thread */
	uint32_t param_bytes;           /* launch parameter buffer size */
	uint32_t reserved[5];           /* 0 */
};

#endif /* ZHIKAI_SIMT_H */
