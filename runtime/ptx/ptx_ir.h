/* SPDX-License-Identifier: MIT */
/*
 * ptx_ir.h - the typed PTX module the parser builds (docs/ptx.md).
 *
 * One ptx_module holds module variables (.global/.shared/.const/.local,
 * addressable by name) and functions (.entry kernels and .func device
 * functions).  A function keeps its parameter layout (offsets, sizes,
 * alignment: the CUDA layers size kernel arguments from it), its virtual
 * registers (each .reg declaration, ranged "%r<N>" or single, becomes
 * consecutive ids), its own variables (.local/.shared/.param declared in
 * the body, scoped by braces) and a flat instruction list with labels as
 * instruction indices.  Every instruction remembers its source line.
 */
#ifndef PTX_IR_H
#define PTX_IR_H

#include <stddef.h>
#include <stdint.h>

typedef enum ptx_type {
    PT_NONE = 0,
    PT_PRED,
    PT_B8, PT_B16, PT_B32, PT_B64,
    PT_U8, PT_U16, PT_U32, PT_U64,
    PT_S8, PT_S16, PT_S32, PT_S64,
    PT_F16, PT_F16X2, PT_BF16, PT_F32, PT_F64,
    PT_COUNT
} ptx_type;

typedef enum ptx_space {
    PS_GENERIC = 0,
    PS_REG,
    PS_PARAM,
    PS_GLOBAL,
    PS_SHARED,
    PS_LOCAL,
    PS_CONST,
    PS_COUNT
} ptx_space;

/* Base instructions (ptx_op_names[] in ptx_ir.c spells them). */
#define PTX_OPS(X) \
    X(ABS, "abs") X(ADD, "add") X(AND, "and") X(ATOM, "atom") X(BAR, "bar") \
    X(BARRIER, "barrier") X(BFE, "bfe") X(BFI, "bfi") X(BRA, "bra") X(BREV, "brev") \
    X(CALL, "call") X(CLZ, "clz") X(CNOT, "cnot") X(COPYSIGN, "copysign") X(COS, "cos") \
    X(CVT, "cvt") X(CVTA, "cvta") X(DIV, "div") X(EX2, "ex2") X(EXIT, "exit") \
    X(FMA, "fma") X(LD, "ld") X(LDU, "ldu") X(LG2, "lg2") X(MAD, "mad") X(MAX, "max") \
    X(MEMBAR, "membar") X(FENCE, "fence") X(MIN, "min") X(MOV, "mov") X(MUL, "mul") \
    X(MUL24, "mul24") X(MAD24, "mad24") X(NEG, "neg") X(NOT, "not") X(OR, "or") \
    X(POPC, "popc") X(PRMT, "prmt") X(RCP, "rcp") X(RED, "red") X(REM, "rem") \
    X(RET, "ret") X(RSQRT, "rsqrt") X(SAD, "sad") X(SELP, "selp") X(SET, "set") \
    X(SETP, "setp") X(SHF, "shf") X(SHFL, "shfl") X(SHL, "shl") X(SHR, "shr") \
    X(SIN, "sin") X(SLCT, "slct") X(SQRT, "sqrt") X(ST, "st") X(SUB, "sub") \
    X(TANH, "tanh") X(TESTP, "testp") X(TRAP, "trap") X(VOTE, "vote") X(XOR, "xor") \
    X(ACTIVEMASK, "activemask") X(MATCH, "match") X(NANOSLEEP, "nanosleep") \
    X(PREFETCH, "prefetch")

typedef enum ptx_op {
#define PTX_OP_ENUM(e, s) PO_##e,
    PTX_OPS(PTX_OP_ENUM)
#undef PTX_OP_ENUM
    PO_COUNT
} ptx_op;

/* Rounding modes. */
enum { PR_NONE = 0, PR_RN, PR_RZ, PR_RM, PR_RP, PR_RNI, PR_RZI, PR_RMI, PR_RPI };

/* Comparison (setp/set), also the bool combine of setp. */
enum {
    PC_NONE = 0, PC_EQ, PC_NE, PC_LT, PC_LE, PC_GT, PC_GE, PC_LO, PC_LS, PC_HI, PC_HS,
    PC_EQU, PC_NEU, PC_LTU, PC_LEU, PC_GTU, PC_GEU, PC_NUM, PC_NAN
};
enum { PB_NONE = 0, PB_AND, PB_OR, PB_XOR };

/* Sub-operation: atom/red op, shfl mode, vote mode, mul/mad width. */
enum {
    PX_NONE = 0,
    PX_ADD, PX_MIN, PX_MAX, PX_INC, PX_DEC, PX_AND, PX_OR, PX_XOR, PX_EXCH, PX_CAS,
    PX_UP, PX_DOWN, PX_BFLY, PX_IDX,
    PX_ALL, PX_ANY, PX_UNI, PX_BALLOT,
    PX_LO, PX_HI, PX_WIDE,
    PX_F4E, PX_B4E, PX_RC8, PX_ECL, PX_ECR, PX_RC16,   /* prmt modes */
    PX_L, PX_R,                                        /* shf direction */
};

/* Flag modifiers. */
#define PF_FTZ      (1u << 0)
#define PF_SAT      (1u << 1)
#define PF_APPROX   (1u << 2)
#define PF_FULL     (1u << 3)
#define PF_UNI      (1u << 4)
#define PF_SYNC     (1u << 5)
#define PF_ALIGNED  (1u << 6)
#define PF_NC       (1u << 7)
#define PF_VOLATILE (1u << 8)
#define PF_TO       (1u << 9)   /* cvta.to */
#define PF_CC       (1u << 10)
#define PF_WRAP     (1u << 11)  /* shf.wrap */
#define PF_CLAMP    (1u << 12)
#define PF_SHIFTAMT (1u << 13)  /* clz/bfind .shiftamt */
#define PF_ARRIVE   (1u << 14)

/* Memory ordering / scope (accepted on ld/st/atom/red/fence). */
enum { PM_NONE = 0, PM_WEAK, PM_RELAXED, PM_ACQUIRE, PM_RELEASE, PM_ACQ_REL, PM_SC };
enum { PSC_NONE = 0, PSC_CTA, PSC_GPU, PSC_SYS };

typedef enum ptx_opnd_kind {
    POK_NONE = 0,
    POK_REG,        /* virtual register (val = id) */
    POK_IMM,        /* integer immediate (imm), or float bits for 0f/0d literals */
    POK_FIMM,       /* float immediate given in decimal (fimm) */
    POK_SREG,       /* special register: val = PSR_*, comp = 0..3 (x..z) */
    POK_VAR,        /* address of a variable: val = var id (module or local), imm = offset */
    POK_FUNC,       /* function symbol: val = function index */
    POK_LABEL,      /* branch target: val = label id */
    POK_MEM,        /* [base + imm]: base is a REG (val) or a VAR (var >= 0) or absolute */
    POK_VEC,        /* {a, b, c, d}: regs in vec[] (val = count) */
    POK_SINK,       /* _ */
} ptx_opnd_kind;

/* Special registers. */
enum {
    PSR_TID = 1, PSR_NTID, PSR_CTAID, PSR_NCTAID, PSR_LANEID, PSR_WARPID, PSR_NWARPID,
    PSR_SMID, PSR_NSMID, PSR_GRIDID, PSR_LANEMASK_EQ, PSR_LANEMASK_LT, PSR_LANEMASK_LE,
    PSR_LANEMASK_GT, PSR_LANEMASK_GE, PSR_CLOCK, PSR_CLOCK64, PSR_GLOBALTIMER,
    PSR_DYN_SMEM_SIZE, PSR_TOTAL_SMEM_SIZE,
};

#define PTX_VEC_MAX 4

typedef struct ptx_operand {
    uint8_t kind;               /* ptx_opnd_kind */
    uint8_t neg;                /* !%p (predicate sources) */
    uint8_t comp;               /* special register component / vector count */
    uint8_t var_local;          /* POK_VAR/POK_MEM: var is the function's, not the module's */
    int32_t val;                /* reg id, sreg, label, func; -1 = none */
    int32_t var;                /* POK_MEM: variable base, -1 = none */
    int64_t imm;                /* immediate / memory offset */
    double fimm;
    int32_t vec[PTX_VEC_MAX];   /* POK_VEC: reg ids, -1 for _ */
} ptx_operand;

#define PTX_MAX_OPNDS 6

typedef struct ptx_insn {
    uint16_t op;                /* ptx_op */
    uint8_t type;               /* ptx_type (the instruction's type) */
    uint8_t type2;              /* second type: cvt source, setp dest in set */
    uint8_t space;              /* ptx_space */
    uint8_t vec;                /* 1, 2 or 4 */
    uint8_t rnd, cmp, boolop, sub, order, scope;
    uint8_t nops;
    uint8_t ndst;               /* leading operands that are written */
    uint32_t flags;             /* PF_* */
    int32_t guard;              /* predicate register id, -1 = always */
    uint8_t guard_neg;
    uint32_t line;
    /* call: ops[0..nret) return params, ops[nret] the callee, then args */
    uint8_t nret;
    ptx_operand ops[PTX_MAX_OPNDS];
    ptx_operand *call_args;     /* call: argument list (malloc'd) */
    uint16_t ncall_args;
} ptx_insn;

/* A variable: module scope, or a function's .local/.shared/.param. */
typedef struct ptx_var {
    char *name;
    uint8_t space;              /* ptx_space */
    uint8_t type;
    uint8_t is_extern;          /* extern .shared: dynamic shared memory */
    uint8_t visible;
    uint32_t align;
    uint64_t size;              /* bytes (0 for unsized extern arrays) */
    uint8_t *init;              /* initial bytes (.global/.const), size bytes, or NULL */
    uint32_t line;
} ptx_var;

/* A kernel or function parameter. */
typedef struct ptx_param {
    char *name;
    uint8_t type;
    uint8_t is_ptr;             /* .ptr attribute */
    uint32_t align;
    uint32_t size;              /* bytes */
    uint32_t offset;            /* in the parameter buffer */
} ptx_param;

/* A .reg declaration: ids [first, first + count). */
typedef struct ptx_regdecl {
    char *name;                 /* "%r" for %r<N>, "%SP" for a single */
    uint8_t type;
    uint8_t ranged;
    uint32_t count;
    uint32_t first;
    uint32_t depth;             /* brace depth of the declaration */
} ptx_regdecl;

typedef struct ptx_label {
    char *name;
    int32_t insn;               /* index of the next instruction, -1 until defined */
    uint32_t line;
} ptx_label;

typedef struct ptx_func {
    char *name;
    uint8_t is_entry;
    uint8_t visible;
    uint8_t is_extern;          /* declaration only */
    uint8_t has_body;
    uint32_t line;
    ptx_param *params;
    uint32_t nparams;
    uint32_t param_bytes;       /* size of the parameter buffer */
    ptx_param *rets;            /* .func return parameters */
    uint32_t nrets;
    uint32_t maxntid[3], reqntid[3], minnctapersm, maxnreg;
    ptx_regdecl *regdecls;
    uint32_t nregdecls;
    uint32_t nregs;             /* virtual register ids in use */
    uint8_t *reg_type;          /* nregs entries */
    ptx_var *vars;              /* body .local/.shared/.param */
    uint32_t nvars;
    ptx_insn *insns;
    uint32_t ninsns;
    ptx_label *labels;
    uint32_t nlabels;
} ptx_func;

typedef struct ptx_module {
    char *file;                 /* name used in diagnostics */
    uint32_t version_major, version_minor;
    char target[32];
    uint32_t address_size;
    ptx_var *vars;
    uint32_t nvars;
    ptx_func *funcs;
    uint32_t nfuncs;
} ptx_module;

/* Limits that bound memory use on hostile input. */
#define PTX_MAX_REGS       (1u << 20)    /* virtual registers per function */
#define PTX_MAX_INSNS      (1u << 20)
#define PTX_MAX_VAR_BYTES  (1ull << 32)
#define PTX_MAX_PARAM_BYTES 32764u        /* CUDA's kernel parameter limit */

/*
 * Parse PTX text (len bytes, need not be NUL-terminated).  file names the
 * input in diagnostics.  Returns 0 and *out, or -1 with
 * "file:line: message" in err (unsupported constructs read
 * "file:line: unsupported PTX 'instr.mod'").
 */
int ptx_parse(const char *text, size_t len, const char *file, ptx_module *out, char *err,
              size_t errlen);
void ptx_module_free(ptx_module *m);

/* Device printf/assert (ptx_devlib.c): when @text calls vprintf or
 * __assertfail, a malloc'd copy with their PTX definitions and the module
 * variable __zk_printf_fifo appended (1), else 0 (*out NULL); -1: no memory.
 * ptx_parse() applies it. */
int zk_ptx_devlib_augment(const char *text, size_t len, char **out, size_t *out_len);

/* Lookups and names. */
const char *ptx_op_name(unsigned int op);
const char *ptx_type_name(unsigned int t);
const char *ptx_space_name(unsigned int s);
unsigned int ptx_type_bytes(unsigned int t);
int ptx_type_is_float(unsigned int t);
int ptx_type_is_signed(unsigned int t);
const ptx_func *ptx_find_func(const ptx_module *m, const char *name);
const ptx_var *ptx_find_var(const ptx_module *m, const char *name);

/* The instruction's opcode with its modifiers ("cvt.rzi.s32.f32"). */
void ptx_insn_opcode(const ptx_insn *in, char *buf, size_t len);

/* Print a module back as PTX-like text (one instruction per line, with
 * its source line), for zkptx --dump and the round-trip tests. */
struct zk_strbuf;
int ptx_module_print(const ptx_module *m, char **out, size_t *len);

#endif
