/* SPDX-License-Identifier: MIT */
/*
 * zhikai_isa.h - the card's instruction set and kernel object format.
 *
 * Shared by the compute engine (qemu-device/engine), the assembler,
 * disassembler and compiler (tools/), and the runtime's module loader.
 */
#ifndef ZHIKAI_ISA_H
#define ZHIKAI_ISA_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#endif

#define ZK_ISA_VERSION          1

/* ------------------------------------------------------------------ */
/* Data types                                                          */
/* ------------------------------------------------------------------ */
#define ZK_DT_F32               0
#define ZK_DT_F16               1
#define ZK_DT_BF16              2
#define ZK_DT_I8                3
#define ZK_DT_I32               4
/*
 * Block-quantized weights (ggml's formats; only QMATMUL's B operand takes
 * them).  A descriptor counts elements: cols and stride are multiples of
 * 32, a row holds cols / 32 blocks of, little-endian:
 *   Q8_0 (34 bytes): fp16 d, int8 q[32];        w[i] = q[i] * d
 *   Q4_0 (18 bytes): fp16 d, uint8 qs[16];      w[j] = ((qs[j] & 15) - 8) * d,
 *                                               w[j + 16] = ((qs[j] >> 4) - 8) * d
 */
#define ZK_DT_Q8_0              5
#define ZK_DT_Q4_0              6
#define ZK_DT_COUNT             7
#define ZK_QBLOCK               32      /* weights per Q8_0 / Q4_0 block */
#define ZK_Q8_0_BYTES           34
#define ZK_Q4_0_BYTES           18

/* ------------------------------------------------------------------ */
/* Kernel object format (ELF64, little-endian, ET_REL or ET_EXEC)      */
/* ------------------------------------------------------------------ */
#define EM_ZHIKAI               0x5a4b
#define ZK_SECT_TEXT            ".text"         /* instructions */
#define ZK_SECT_RODATA          ".rodata"       /* constants, placed after .text */
#define ZK_SECT_KERNELS         ".zk.kernels"   /* struct zk_kernel_desc[] */
/*
 * Every kernel has an STT_FUNC symbol in .text (st_value = byte offset of
 * its entry) and a descriptor of the same name in .zk.kernels.  Images have
 * no relocations: code reaches .rodata through a special register holding
 * the image's constant base.  The loader uploads .text followed by .rodata
 * (8-byte aligned) as one image; LAUNCH gets its VA, size and the entry.
 */
#define ZK_MAX_ARGS             16
#define ZK_NAME_LEN             64
#define ZK_ARG_NAME_LEN         24

#define ZK_ARG_U64              1       /* integer scalar */
#define ZK_ARG_F32              2       /* float scalar (IEEE bits in low 32) */
#define ZK_ARG_PTR              3       /* device VA of a buffer */

#define ZK_ACC_READ             (1u << 0)
#define ZK_ACC_WRITE            (1u << 1)

struct zk_arg_desc {
	uint8_t kind;                   /* ZK_ARG_* */
	uint8_t dtype;                  /* ZK_ARG_PTR: element ZK_DT_* */
	uint8_t access;                 /* ZK_ARG_PTR: ZK_ACC_* */
	uint8_t reserved;               /* 0 */
	uint32_t reserved2;             /* 0 */
	char name[ZK_ARG_NAME_LEN];     /* NUL-terminated */
};

struct zk_kernel_desc {
	char name[ZK_NAME_LEN];         /* NUL-terminated, matches the symbol */
	uint32_t num_args;              /* <= ZK_MAX_ARGS */
	uint32_t reserved;              /* 0 */
	struct zk_arg_desc args[ZK_MAX_ARGS];
};

/*
 * Launch arguments are an array of num_args 64-bit slots in device memory
 * (ZK_ARG_F32 in the low 32 bits), read by the ARG instruction.
 */

/* ------------------------------------------------------------------ */
/* Instruction set (docs/isa.md has the full reference)                */
/* ------------------------------------------------------------------ */
/*
 * Every instruction is one little-endian 64-bit word:
 *
 *   bits  0..7   op    opcode (ZK_OP_*)
 *   bits  8..15  rd    destination register (or tensor descriptor)
 *   bits 16..23  ra    first source
 *   bits 24..31  rb    second source
 *   bits 32..63  imm   32-bit immediate (sign-extended unless noted)
 *
 * State per workgroup: 32 scalar registers r0..r31 of 64 bits (r0 always
 * reads 0, writes to it are dropped), 8 tensor descriptors t0..t7, pc.
 * All registers start at 0.  Scalar fp32 values live in the low 32 bits of
 * a register (fp instructions ignore the high bits and zero them).
 *
 * Branch targets: "rel" immediates count instructions from the branching
 * instruction; JMPA takes an absolute instruction index in the image.  The
 * engine verifies every instruction reachable from the entry before running
 * anything: known opcode, register/descriptor indices in range, unused
 * fields zero, branch targets inside the image's code, no path running off
 * the end.  Any failure is ZK_FAULT_ILLEGAL_INSN and nothing runs.
 */
#define ZK_NUM_REGS             32
#define ZK_NUM_TDESC            8

#define ZK_INSN(op, rd, ra, rb, imm) \
	((uint64_t)(uint8_t)(op) | (uint64_t)(uint8_t)(rd) << 8 | \
	 (uint64_t)(uint8_t)(ra) << 16 | (uint64_t)(uint8_t)(rb) << 24 | \
	 (uint64_t)(uint32_t)(imm) << 32)
#define ZK_INSN_OP(w)           ((uint8_t)(w))
#define ZK_INSN_RD(w)           ((uint8_t)((w) >> 8))
#define ZK_INSN_RA(w)           ((uint8_t)((w) >> 16))
#define ZK_INSN_RB(w)           ((uint8_t)((w) >> 24))
#define ZK_INSN_IMM(w)          ((int32_t)(uint32_t)((w) >> 32))

/* Control. */
#define ZK_OP_HALT      0x01    /* end of this workgroup */
#define ZK_OP_NOP       0x02
#define ZK_OP_JMP       0x03    /* pc += imm */
#define ZK_OP_JMPA      0x04    /* pc = imm (absolute index, unsigned) */
#define ZK_OP_BEQ       0x05    /* if ra == rb: pc += imm */
#define ZK_OP_BNE       0x06
#define ZK_OP_BLT       0x07    /* signed */
#define ZK_OP_BGE       0x08    /* signed */
#define ZK_OP_BLTU      0x09
#define ZK_OP_BGEU      0x0a
#define ZK_OP_LOOP      0x0b    /* rd -= 1; if rd != 0: pc += imm */
/* Moves and special values. */
#define ZK_OP_MOVI      0x10    /* rd = sext(imm) */
#define ZK_OP_MOVHI     0x11    /* rd = (rd & 0xffffffff) | (u32)imm << 32 */
#define ZK_OP_MOV       0x12    /* rd = ra */
#define ZK_OP_ARG       0x13    /* rd = 64-bit launch argument number imm */
#define ZK_OP_SREG      0x14    /* rd = special value ZK_SREG_<imm> */
#define ZK_OP_LEA       0x15    /* rd = code_va + (u32)imm (image offset) */
/* Integer ALU, rd = ra op rb.  x/0 = ~0, x%0 = x; shifts use rb & 63. */
#define ZK_OP_ADD       0x20
#define ZK_OP_SUB       0x21
#define ZK_OP_MUL       0x22
#define ZK_OP_DIVU      0x23
#define ZK_OP_REMU      0x24
#define ZK_OP_AND       0x25
#define ZK_OP_OR        0x26
#define ZK_OP_XOR       0x27
#define ZK_OP_SHL       0x28
#define ZK_OP_SHR       0x29
#define ZK_OP_SRA       0x2a
#define ZK_OP_MIN       0x2b    /* signed */
#define ZK_OP_MAX       0x2c    /* signed */
#define ZK_OP_SLT       0x2d    /* rd = (s64)ra < (s64)rb */
#define ZK_OP_SLTU      0x2e
/* Integer ALU with immediate, rd = ra op sext(imm); shift imm 0..63. */
#define ZK_OP_ADDI      0x30
#define ZK_OP_MULI      0x31
#define ZK_OP_ANDI      0x32
#define ZK_OP_ORI       0x33
#define ZK_OP_XORI      0x34
#define ZK_OP_SHLI      0x35
#define ZK_OP_SHRI      0x36
#define ZK_OP_SRAI      0x37
#define ZK_OP_SLTI      0x38
/* Scalar fp32 (IEEE single in the low 32 bits). */
#define ZK_OP_FADD      0x40    /* rd = ra + rb */
#define ZK_OP_FSUB      0x41
#define ZK_OP_FMUL      0x42
#define ZK_OP_FDIV      0x43
#define ZK_OP_FMIN      0x44
#define ZK_OP_FMAX      0x45
#define ZK_OP_FSQRT     0x46    /* rd = sqrt(ra) */
#define ZK_OP_FCVTIF    0x47    /* rd = (float)(s64)ra */
#define ZK_OP_FCVTFI    0x48    /* rd = (s64)trunc(ra), saturating, NaN -> 0 */
#define ZK_OP_FLT       0x49    /* rd = ra < rb (0/1) */
#define ZK_OP_FLE       0x4a
#define ZK_OP_FEQ       0x4b
/* Memory through the device MMU, address ra + sext(imm), any alignment. */
#define ZK_OP_LD8       0x50    /* zero-extending loads into rd */
#define ZK_OP_LD16      0x51
#define ZK_OP_LD32      0x52
#define ZK_OP_LD64      0x53
#define ZK_OP_LD8S      0x54    /* sign-extending loads */
#define ZK_OP_LD16S     0x55
#define ZK_OP_LD32S     0x56
#define ZK_OP_ST8       0x58    /* store rb (rd must be 0) */
#define ZK_OP_ST16      0x59
#define ZK_OP_ST32      0x5a
#define ZK_OP_ST64      0x5b

/*
 * Tensor instructions work on 2-D tiles described by tensor descriptors:
 * {va, rows, cols, stride (elements between row starts), dtype}.
 * TSET rd=t, ra=r, imm=dtype loads t from r, r+1, r+2, r+3 =
 * {va, rows, cols, stride}; stride 0 means cols (dense).
 *
 * Other tensor instructions: rd/ra/rb are descriptors td, ta, tb and imm
 * is split into more operands (unused ones must be 0):
 *   bits  0..3  tc   third source descriptor
 *   bits  4..7  te   fourth source descriptor
 *   bits  8..15 rs   first of consecutive scalar registers with parameters
 *   bits 16..23 fn   sub-operation / flags
 *   bits 24..31 reserved, 0
 * Element math is fp32 (int8 matmul: int32); results are rounded to the
 * destination dtype (round to nearest even).  Destinations may alias a
 * source exactly (same va and layout) for element-wise, unary, scale,
 * softmax, norm and rope ops; other overlaps give unspecified results.
 * Shape or dtype mismatches stop the launch with ZK_FAULT_ENGINE.
 */
#define ZK_TI(tc, te, rs, fn) \
	((uint32_t)((tc) & 15) | (uint32_t)((te) & 15) << 4 | \
	 (uint32_t)((rs) & 255) << 8 | (uint32_t)((fn) & 255) << 16)
#define ZK_TI_TC(imm)           ((uint32_t)(imm) & 15)
#define ZK_TI_TE(imm)           (((uint32_t)(imm) >> 4) & 15)
#define ZK_TI_RS(imm)           (((uint32_t)(imm) >> 8) & 255)
#define ZK_TI_FN(imm)           (((uint32_t)(imm) >> 16) & 255)
#define ZK_TI_RESERVED(imm)     ((uint32_t)(imm) >> 24)

#define ZK_OP_TSET      0x60
/* C[td] (+)= A[ta] x B[tb]; fn ZK_MM_*.  A MxK, B KxN (NxK with BT), C MxN.
 * f32/f16/bf16 A,B (same dtype) -> f32 C.  i8 A,B -> i32 C, or with
 * ZK_MM_DEQ f32 C = acc * sa[m] * sb[n], sa = tc (M f32), sb = te (N f32). */
#define ZK_OP_MATMUL    0x61
#define ZK_MM_ACC       (1u << 0)
#define ZK_MM_BT        (1u << 1)
#define ZK_MM_DEQ       (1u << 2)
/* td = ta (op) tb element-wise; tb may have 1 row (broadcast over rows). */
#define ZK_OP_EBIN      0x62
#define ZK_EB_ADD       0
#define ZK_EB_SUB       1
#define ZK_EB_MUL       2
#define ZK_EB_SWIGLU    3       /* silu(a) * b */
#define ZK_EB_COUNT     4
/* td = f(ta) element-wise (COPY also converts dtypes). */
#define ZK_OP_EUN       0x63
#define ZK_EU_COPY      0
#define ZK_EU_SILU      1       /* x / (1 + exp(-x)) */
#define ZK_EU_GELU      2       /* tanh approximation (GPT-2) */
#define ZK_EU_EXP       3
#define ZK_EU_RELU      4
#define ZK_EU_COUNT     5
#define ZK_OP_ESCALE    0x64    /* td = ta * f32 r[rs] + f32 r[rs+1] */
/* td (rows x 1) = reduction of each row of ta; ARGMAX: td is i32, first max. */
#define ZK_OP_REDUCE    0x65
#define ZK_RED_SUM      0
#define ZK_RED_MAX      1
#define ZK_RED_ARGMAX   2
#define ZK_RED_COUNT    3
#define ZK_OP_SOFTMAX   0x66    /* td = softmax of each row of ta */
/* td = ta / sqrt(mean(ta^2) + eps) * w; w = tb (1 x cols), eps = f32 r[rs]. */
#define ZK_OP_RMSNORM   0x67
/* td = (ta - mean) / sqrt(var + eps) * w + b; w = tb, b = tc (1 x cols)
 * if fn bit 0 (ZK_LN_BIAS) else none; eps = f32 r[rs]. */
#define ZK_OP_LAYERNORM 0x68
#define ZK_LN_BIAS      (1u << 0)
/* RoPE (llama2.c): row i of ta is token at position r[rs] + i; each row is
 * heads of head_dim = r[rs+1]; pair (2j, 2j+1) inside a head is rotated by
 * pos * scale * theta^(-2j/head_dim).  Without fn ZK_ROPE_PARAMS (old
 * kernels) theta = 10000 and scale = 1; with it theta = f32 r[rs+2] (> 1)
 * and scale = f32 r[rs+3] (> 0; linear RoPE scaling = 1 / factor). */
#define ZK_OP_ROPE      0x69
#define ZK_ROPE_PARAMS  (1u << 0)
/* td row i = row idx[i] of table ta; tb = i32 indices (rows*cols of them
 * taken in row-major order, count = td rows).  Out-of-range index: fault. */
#define ZK_OP_EMBED     0x6a
/* td (i8) = round(ta / s), s = max|row| / 127 written to tb (rows x 1 f32). */
#define ZK_OP_QUANT     0x6b
/* td = ta (i8) * s[row], s = tb (rows x 1 f32). */
#define ZK_OP_DEQUANT   0x6c
/* KV-cache write for one sequence.  ta = K rows, tb = V rows of T new
 * tokens (T x kv_dim); td = K cache, te = V cache, each one layer laid out
 * [num_blocks][block_size][kv_dim] (rows = num_blocks*block_size); tc = i32
 * block table.  r[rs] = position of the first new token, r[rs+1] =
 * block_size.  Token at position p goes to cache row
 * table[p / block_size] * block_size + p % block_size. */
#define ZK_OP_KVWRITE   0x6d
/* Paged attention for one sequence.  ta = q (T x n_heads*head_dim), td =
 * out (same shape), tb = K cache, tc = V cache (layout as KVWRITE), te = i32
 * block table.  r[rs] = ctx_len (tokens stored), r[rs+1] = n_kv_heads,
 * r[rs+2] = block_size, r[rs+3] = head_dim.  Query row t sits at position
 * ctx_len - T + t and attends causally to positions 0 .. itself; head h
 * uses kv head h / (n_heads / n_kv_heads); scores scaled by 1/sqrt(hd). */
#define ZK_OP_PATTN     0x6e
/* C[td] (+)= A[ta] x B[tb]^T with block-quantized B: A M x K (f32/f16/bf16),
 * B N x K (ZK_DT_Q8_0 or ZK_DT_Q4_0, one output channel per row, K a
 * multiple of 32), C M x N f32; fn ZK_MM_ACC accumulates.  Like llama.cpp
 * the A row is quantized to int8 per 32-block (d = max|a|/127, round to
 * nearest) and each block pair is an int8 dot product scaled by both d.
 * Launches split N over workgroups with sub-descriptors of B and C. */
#define ZK_OP_QMATMUL   0x6f
/* Top-k of each row of ta (f32/f16/bf16, rows x n): td (rows x k f32) gets
 * the k largest values in descending order (ties: lower index first, NaN
 * never selected before a number), tb (rows x k i32) their column indices;
 * k = td cols, 1..1024 and <= n.  A sampling step copies back k values per
 * sequence instead of the logits. */
#define ZK_OP_TOPK      0x70
/* SREG selectors. */
#define ZK_SREG_WG_X            0       /* workgroup index */
#define ZK_SREG_WG_Y            1
#define ZK_SREG_WG_Z            2
#define ZK_SREG_NWG_X           3       /* grid size */
#define ZK_SREG_NWG_Y           4
#define ZK_SREG_NWG_Z           5
#define ZK_SREG_WG_LINEAR       6       /* x + nx * (y + ny * z) */
#define ZK_SREG_CODE_VA         7       /* image base (LEA with imm 0) */
#define ZK_SREG_ARGS_VA         8
#define ZK_SREG_COUNT           9

#endif /* ZHIKAI_ISA_H */
