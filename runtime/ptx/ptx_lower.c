/* SPDX-License-Identifier: MIT */
/*
 * ptx_lower.c - PTX IR -> machine IR (ptx_mir.h), one kernel at a time.
 *
 * Each PTX register becomes a virtual register (one 64-bit SIMT register
 * holds any PTX scalar) or a virtual predicate.  Memory layout is decided
 * here: kernel parameters stay in the param space at their .entry offsets;
 * .local variables and the .param variables of call sequences get slots in
 * the thread's local memory; .shared variables (module and function) are
 * laid out per kernel with dynamic (extern) shared memory after them;
 * .const and .global variables live in the image after the code.  Calls
 * are inlined (the SIMT ISA has no call/return): the callee's parameters
 * alias the caller's argument variables.  Every PTX form without an exact
 * SIMT lowering is refused as "file:line: unsupported PTX 'op.mods'".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptx_mir.h"
#include "ptx_xlate.h"
#include "zk_simt_isa.h"

#define FIX_NONE 0
#define MAX_INLINE_DEPTH 8
#define DATA_ALIGN 16u

/* A call-site .param variable kept in a virtual register (vloc.off). */
#define LOC_REG 0xffu

/* Where a variable lives. */
typedef struct vloc {
    uint8_t space;      /* ZK_SPACE_*; GLOBAL: imm is a data offset (address = code_va + ...) */
    uint8_t data;       /* offset is relative to the data start in the image */
    uint64_t off;
} vloc;

typedef struct lctx {
    const ptx_func *pf;
    uint32_t *gmap;     /* PTX reg -> GPR vreg (0 for predicates) */
    uint32_t *pmap;     /* PTX reg -> predicate vreg */
    int32_t label_base;
    int32_t ret_label;  /* -1: ret exits the thread (kernel level) */
    vloc *vars;         /* per function variable */
} lctx;

typedef struct lowerer {
    const ptx_module *m;
    mir_module *mm;
    mir_func *f;
    uint32_t shared_top;
    uint32_t **fshared;     /* [func][var] shared offsets for this kernel (+1, 0 = unset) */
    const ptx_func *stack[MAX_INLINE_DEPTH + 1];
    int depth;
    uint32_t guard, gneg;   /* of the PTX instruction being lowered */
    uint32_t line;
    uint32_t labels_below;  /* every label placed so far is at an index < this */
    const ptx_insn *cur;
    void *owned[4 * (MAX_INLINE_DEPTH + 2)];   /* per-function scratch, freed on failure */
    int nowned;
    jmp_buf fail;
    char *err;
    size_t errlen;
} lowerer;


static void lfail(lowerer *l, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void lfail(lowerer *l, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(l->err, l->errlen, "%s:%u: ", l->m->file ? l->m->file : "<ptx>", l->line);
    if (n >= 0 && (size_t)n < l->errlen) {
        va_start(ap, fmt);
        vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    longjmp(l->fail, 1);
}

static void unsupported(lowerer *l, const char *why) __attribute__((noreturn));
static void unsupported(lowerer *l, const char *why)
{
    char op[96];
    ptx_insn_opcode(l->cur, op, sizeof(op));
    lfail(l, "unsupported PTX '%s'%s%s", op, why ? ": " : "", why ? why : "");
}

static void *lalloc(lowerer *l, void *p, size_t n, size_t sz)
{
    void *q;
    if (sz && n > SIZE_MAX / sz) {
        lfail(l, "out of host memory");
    }
    q = realloc(p, (n && sz) ? n * sz : 1);
    if (!q) {
        lfail(l, "out of host memory");
    }
    return q;
}

/* Scratch arrays of the functions being lowered (LIFO), so a failure
 * (longjmp) frees them too. */
static void *own(lowerer *l, size_t n, size_t sz)
{
    void *p = lalloc(l, NULL, n ? n : 1, sz);
    memset(p, 0, (n ? n : 1) * sz);
    l->owned[l->nowned++] = p;
    return p;
}

static void disown(lowerer *l, void *p)
{
    for (int i = l->nowned; i-- > 0;) {
        if (l->owned[i] == p) {
            l->owned[i] = l->owned[--l->nowned];
            break;
        }
    }
    free(p);
}

/* ---- emitting ---------------------------------------------------------------------- */

static mir_insn *emit_raw(lowerer *l, uint8_t op)
{
    mir_func *f = l->f;
    mir_insn *in;
    if (f->n >= (1u << 20)) {
        lfail(l, "kernel %s too large (more than 1M SIMT instructions after inlining)", f->name);
    }
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 256;
        f->v = lalloc(l, f->v, f->cap, sizeof(*f->v));
    }
    in = &f->v[f->n++];
    memset(in, 0, sizeof(*in));
    in->op = op;
    in->target = -1;
    in->line = l->line;
    return in;
}

/* Under the PTX instruction's guard. */
static mir_insn *emit(lowerer *l, uint8_t op)
{
    mir_insn *in = emit_raw(l, op);
    in->guard = l->guard;
    in->gneg = (uint8_t)l->gneg;
    return in;
}

static uint32_t new_vreg(lowerer *l)
{
    if (l->f->nvregs >= (1u << 21)) {
        lfail(l, "too many values");
    }
    return l->f->nvregs++;
}

static uint32_t new_preg(lowerer *l)
{
    if (l->f->npregs >= (1u << 20)) {
        lfail(l, "too many predicates");
    }
    return l->f->npregs++;
}

static int32_t new_label(lowerer *l)
{
    mir_func *f = l->f;
    if (f->nlabels >= (1u << 24)) {
        lfail(l, "too many labels");
    }
    if (f->nlabels == f->label_cap) {
        f->label_cap = f->label_cap ? f->label_cap * 2 : 64;
        f->label_pos = lalloc(l, f->label_pos, f->label_cap, sizeof(*f->label_pos));
    }
    f->label_pos[f->nlabels] = -1;
    return (int32_t)f->nlabels++;
}

/*
 * "@p bra LAB; bra X; LAB:" (clang's loop latches and if/else joins)
 * becomes "@!p bra X", and a bra to the label right after it ("bra LAB;
 * LAB:") goes: one warp instruction less on every pass.  Only when no
 * label sits on the removed bra or after it (nothing else reaches it, no
 * label position moves).
 */
static void place_label(lowerer *l, int32_t lab)
{
    mir_func *f = l->f;
    uint32_t n = f->n;
    if (n >= 2 && l->labels_below < n) {
        mir_insn *c = &f->v[n - 2], *u = &f->v[n - 1];
        if (c->op == ZK_SOP_BRA && c->guard && c->target == lab && u->op == ZK_SOP_BRA &&
            !u->guard) {
            c->gneg ^= 1;
            c->target = u->target;
            f->n--;
        }
    }
    while (f->n >= 1 && l->labels_below < f->n && f->v[f->n - 1].op == ZK_SOP_BRA &&
           f->v[f->n - 1].target == lab) {
        f->n--;
    }
    f->label_pos[lab] = (int32_t)f->n;
    l->labels_below = f->n + 1;
}

/* ---- types ------------------------------------------------------------------------- */

static uint8_t st_of(lowerer *l, unsigned int t)
{
    switch (t) {
    case PT_B8: case PT_U8: return ZK_ST_U8;
    case PT_S8: return ZK_ST_S8;
    case PT_B16: case PT_U16: return ZK_ST_U16;
    case PT_S16: return ZK_ST_S16;
    case PT_B32: case PT_U32: return ZK_ST_U32;
    case PT_S32: return ZK_ST_S32;
    case PT_B64: case PT_U64: return ZK_ST_U64;
    case PT_S64: return ZK_ST_S64;
    case PT_F16: return ZK_ST_F16;
    case PT_BF16: return ZK_ST_BF16;
    case PT_F32: return ZK_ST_F32;
    case PT_F64: return ZK_ST_F64;
    default:
        unsupported(l, "type");
    }
}

static int st_is_int(uint8_t st)
{
    return st <= ZK_ST_S64;
}

static int st_is_fp(uint8_t st)
{
    return st == ZK_ST_F32 || st == ZK_ST_F64;
}

/* Arithmetic type: 32/64-bit integer or f32/f64, else unsupported. */
static uint8_t arith_type(lowerer *l)
{
    uint8_t st = st_of(l, l->cur->type);
    if (!st_is_int(st) && !st_is_fp(st)) {
        unsupported(l, "8/16-bit and half-precision arithmetic are not translated");
    }
    return st;
}

/*
 * 16-bit integers (clang's bool and char handling: ld.u8 into a .b16
 * register, and.b16, setp.ne.s16): only the low 16 bits of such a register
 * are meaningful, so add/sub/and/or/xor run as 32-bit operations and
 * compares look at the low halves shifted to the top (see lower_setp).
 */
static int is_int16(unsigned int t)
{
    return t == PT_B16 || t == PT_U16 || t == PT_S16;
}

static uint8_t rnd_of(lowerer *l, unsigned int r)
{
    switch (r) {
    case PR_NONE: case PR_RN: case PR_RNI: return ZK_RND_RN;
    case PR_RZ: case PR_RZI: return ZK_RND_RZ;
    case PR_RM: case PR_RMI: return ZK_RND_RM;
    case PR_RP: case PR_RPI: return ZK_RND_RP;
    default:
        unsupported(l, "rounding mode");
    }
}

/* ---- operands ---------------------------------------------------------------------- */

static uint32_t greg(lowerer *l, const lctx *c, int32_t ptx_reg)
{
    uint32_t v = c->gmap[ptx_reg];
    if (!v) {
        lfail(l, "a predicate used as a value");
    }
    return v;
}

static uint32_t preg(lowerer *l, const lctx *c, int32_t ptx_reg)
{
    uint32_t v = c->pmap[ptx_reg];
    if (!v) {
        lfail(l, "a value register used as a predicate");
    }
    return v;
}

static vloc mod_loc(lowerer *l, int32_t var)
{
    const ptx_var *v = &l->m->vars[var];
    vloc r = { 0, 0, 0 };
    switch (v->space) {
    case PS_SHARED:
        r.space = ZK_SPACE_SHARED;
        r.off = v->is_extern ? 0xffffffffull : l->mm->var_offset[var];
        if (v->is_extern) {
            r.off = (l->shared_top + DATA_ALIGN - 1) & ~(uint64_t)(DATA_ALIGN - 1);
        }
        break;
    case PS_CONST:
        r.space = ZK_SPACE_CONST;
        r.data = 1;
        r.off = l->mm->var_offset[var];
        break;
    case PS_GLOBAL:
        r.space = ZK_SPACE_GLOBAL;
        r.data = 1;
        r.off = l->mm->var_offset[var];
        break;
    default:
        lfail(l, "unsupported PTX: module-level .%s variable %s", ptx_space_name(v->space),
              v->name);
    }
    return r;
}

static vloc loc_of(lowerer *l, const lctx *c, int local, int32_t var)
{
    if (local) {
        return c->vars[var];
    }
    return mod_loc(l, var);
}

/* The address a variable name stands for, in its own space (global: generic). */
static uint32_t var_addr(lowerer *l, vloc loc, int64_t off)
{
    uint32_t r = new_vreg(l);
    mir_insn *in;
    if (loc.space == ZK_SPACE_GLOBAL) {
        uint32_t base = new_vreg(l);
        in = emit_raw(l, ZK_SOP_SREG);
        in->rd = base;
        in->imm = ZK_SR_CODE_VA;
        in = emit_raw(l, ZK_SOP_ADD);
        in->type = ZK_ST_U64;
        in->rd = r;
        in->ra = base;
        in->flags = ZK_SF_BIMM;
        in->imm = loc.off + (uint64_t)off;
        in->fix = MIR_FIX_DATA;
        return r;
    }
    if ((loc.space == ZK_SPACE_PARAM && l->depth > 0) || loc.space == LOC_REG) {
        lfail(l, "unsupported PTX: address of a function parameter");
    }
    in = emit_raw(l, ZK_SOP_MOV);
    in->rd = r;
    in->flags = ZK_SF_BIMM;
    in->imm = loc.off + (uint64_t)off;
    if (loc.data) {
        in->fix = MIR_FIX_DATA;
    }
    return r;
}

static uint32_t mov_imm(lowerer *l, uint64_t v)
{
    uint32_t r = new_vreg(l);
    mir_insn *in;
    if (v == 0) {
        return 0;   /* r0 */
    }
    in = emit_raw(l, ZK_SOP_MOV);
    in->rd = r;
    in->flags = ZK_SF_BIMM;
    in->imm = v;
    return r;
}

static const uint8_t sreg_map[][3] = {
    [PSR_TID] = { ZK_SR_TID_X, ZK_SR_TID_Y, ZK_SR_TID_Z },
    [PSR_NTID] = { ZK_SR_NTID_X, ZK_SR_NTID_Y, ZK_SR_NTID_Z },
    [PSR_CTAID] = { ZK_SR_CTAID_X, ZK_SR_CTAID_Y, ZK_SR_CTAID_Z },
    [PSR_NCTAID] = { ZK_SR_NCTAID_X, ZK_SR_NCTAID_Y, ZK_SR_NCTAID_Z },
};

static uint32_t sreg_value(lowerer *l, const ptx_operand *o)
{
    uint32_t r = new_vreg(l);
    mir_insn *in = emit_raw(l, ZK_SOP_SREG);
    int sr;
    in->rd = r;
    switch (o->val) {
    case PSR_TID: case PSR_NTID: case PSR_CTAID: case PSR_NCTAID:
        sr = sreg_map[o->val][o->comp % 3];
        break;
    case PSR_LANEID: sr = ZK_SR_LANEID; break;
    case PSR_WARPID: sr = ZK_SR_WARPID; break;
    case PSR_NWARPID: sr = ZK_SR_NWARPID; break;
    case PSR_SMID: sr = ZK_SR_SMID; break;
    case PSR_NSMID: sr = ZK_SR_NSMID; break;
    case PSR_LANEMASK_EQ: sr = ZK_SR_LANEMASK_EQ; break;
    case PSR_LANEMASK_LT: sr = ZK_SR_LANEMASK_LT; break;
    case PSR_LANEMASK_LE: sr = ZK_SR_LANEMASK_LE; break;
    case PSR_LANEMASK_GT: sr = ZK_SR_LANEMASK_GT; break;
    case PSR_LANEMASK_GE: sr = ZK_SR_LANEMASK_GE; break;
    case PSR_CLOCK: sr = ZK_SR_CLOCK; break;
    case PSR_CLOCK64: sr = ZK_SR_CLOCK64; break;
    case PSR_GLOBALTIMER: sr = ZK_SR_GLOBALTIMER; break;
    case PSR_TOTAL_SMEM_SIZE: sr = ZK_SR_SHARED_SIZE; break;
    case PSR_DYN_SMEM_SIZE: {
        uint32_t t = r;
        uint32_t d = new_vreg(l);
        in->imm = ZK_SR_SHARED_SIZE;
        in = emit_raw(l, ZK_SOP_SUB);
        in->type = ZK_ST_U32;
        in->rd = d;
        in->ra = t;
        in->flags = ZK_SF_BIMM;
        in->imm = (l->shared_top + DATA_ALIGN - 1) & ~(uint64_t)(DATA_ALIGN - 1);
        return d;
    }
    default:
        unsupported(l, "special register");
    }
    in->imm = (uint64_t)sr;
    return r;
}

/* Float immediate bits for type st. */
static uint64_t imm_bits(lowerer *l, const ptx_operand *o, uint8_t st)
{
    if (o->kind == POK_FIMM) {
        if (st == ZK_ST_F32) {
            float f = (float)o->fimm;
            uint32_t b;
            memcpy(&b, &f, 4);
            return b;
        }
        if (st == ZK_ST_F64) {
            uint64_t b;
            memcpy(&b, &o->fimm, 8);
            return b;
        }
        lfail(l, "a float literal for an integer operand");
    }
    if (o->comp == 32 && st == ZK_ST_F64) {
        /* 0f literal in a double instruction: widen the value */
        float f;
        double d;
        uint32_t b = (uint32_t)o->imm;
        uint64_t r;
        memcpy(&f, &b, 4);
        d = f;
        memcpy(&r, &d, 8);
        return r;
    }
    if (o->comp == 64 && st == ZK_ST_F32) {
        double d;
        float f;
        uint32_t b;
        memcpy(&d, &o->imm, 8);
        f = (float)d;
        memcpy(&b, &f, 4);
        return b;
    }
    if (!o->comp && (st == ZK_ST_F32 || st == ZK_ST_F64)) {
        /* decimal integer in a float instruction: its value */
        if (st == ZK_ST_F32) {
            float f = (float)o->imm;
            uint32_t b;
            memcpy(&b, &f, 4);
            return b;
        }
        double d = (double)o->imm;
        uint64_t b;
        memcpy(&b, &d, 8);
        return b;
    }
    return (uint64_t)o->imm;
}

/* Any source operand as a GPR holding it. */
static uint32_t val(lowerer *l, const lctx *c, const ptx_operand *o, uint8_t st)
{
    switch (o->kind) {
    case POK_REG:
        if (o->neg) {
            lfail(l, "a negated predicate used as a value");
        }
        return greg(l, c, o->val);
    case POK_IMM:
    case POK_FIMM:
        return mov_imm(l, imm_bits(l, o, st));
    case POK_SREG:
        return sreg_value(l, o);
    case POK_VAR:
        return var_addr(l, loc_of(l, c, o->var_local, o->val), o->imm);
    default:
        lfail(l, "unsupported operand");
    }
}

/* Operand b of in: an immediate when possible, else a register. */
static void set_b(lowerer *l, const lctx *c, mir_insn **inp, const ptx_operand *o, uint8_t st)
{
    if (o->kind == POK_IMM || o->kind == POK_FIMM) {
        uint64_t v = imm_bits(l, o, st);
        (*inp)->flags |= ZK_SF_BIMM;
        (*inp)->imm = v;
        return;
    }
    if (o->kind == POK_REG) {
        (*inp)->rb = val(l, c, o, st);
        return;
    }
    {
        /* The value takes instructions of its own: they must come first,
         * so move the (already emitted) instruction after them. */
        size_t idx = (size_t)(*inp - l->f->v);
        uint32_t r = val(l, c, o, st);
        mir_insn save = l->f->v[idx];
        memmove(&l->f->v[idx], &l->f->v[idx + 1], (l->f->n - idx - 1) * sizeof(mir_insn));
        l->f->v[l->f->n - 1] = save;
        *inp = &l->f->v[l->f->n - 1];
        (*inp)->rb = r;
    }
}

/* Emit op with a = ops[1], b = ops[2] (and c = ops[3] if has_c) to rd = ops[0]. */
static mir_insn *emit_abc(lowerer *l, const lctx *c, uint8_t op, uint8_t st, int nsrc)
{
    const ptx_insn *pi = l->cur;
    uint32_t a = val(l, c, &pi->ops[1], st), b = 0, cc = 0;
    int b_imm = 0;
    uint64_t bi = 0;
    mir_insn *in;
    if (nsrc >= 2) {
        if (pi->ops[2].kind == POK_IMM || pi->ops[2].kind == POK_FIMM) {
            if (nsrc == 3 && (pi->ops[3].kind == POK_IMM || pi->ops[3].kind == POK_FIMM)) {
                b = val(l, c, &pi->ops[2], st);
            } else {
                b_imm = 1;
                bi = imm_bits(l, &pi->ops[2], st);
            }
        } else {
            b = val(l, c, &pi->ops[2], st);
        }
    }
    if (nsrc == 3) {
        if (pi->ops[3].kind == POK_IMM || pi->ops[3].kind == POK_FIMM) {
            if (b_imm) {
                cc = val(l, c, &pi->ops[3], st);
            } else {
                in = emit(l, op);
                in->type = st;
                in->rd = greg(l, c, pi->ops[0].val);
                in->ra = a;
                in->rb = b;
                in->flags = ZK_SF_CIMM;
                in->imm = imm_bits(l, &pi->ops[3], st);
                return in;
            }
        } else {
            cc = val(l, c, &pi->ops[3], st);
        }
    }
    in = emit(l, op);
    in->type = st;
    in->rd = greg(l, c, pi->ops[0].val);
    in->ra = a;
    in->rb = b;
    in->rc = cc;
    if (b_imm) {
        in->flags = ZK_SF_BIMM;
        in->imm = bi;
    }
    return in;
}

static void need_reg_dst(lowerer *l)
{
    if (l->cur->ops[0].kind != POK_REG) {
        unsupported(l, "destination");
    }
}

/* Clamp a float result to [0, 1] (.sat); NaN becomes 0. */
static void saturate(lowerer *l, uint32_t r, uint8_t st)
{
    mir_insn *in = emit(l, ZK_SOP_FMAX);
    in->type = st;
    in->rd = r;
    in->ra = r;
    in->flags = ZK_SF_BIMM;
    in->imm = 0;
    in = emit(l, ZK_SOP_FMIN);
    in->type = st;
    in->rd = r;
    in->ra = r;
    in->flags = ZK_SF_BIMM;
    in->imm = st == ZK_ST_F32 ? 0x3f800000ull : 0x3ff0000000000000ull;
}

/* ---- memory ------------------------------------------------------------------------ */

static uint8_t space_of_insn(lowerer *l)
{
    switch (l->cur->space) {
    case PS_GENERIC: return ZK_SPACE_GENERIC;
    case PS_GLOBAL: return ZK_SPACE_GLOBAL;
    case PS_SHARED: return ZK_SPACE_SHARED;
    case PS_LOCAL: return ZK_SPACE_LOCAL;
    case PS_PARAM:
        if (l->depth > 0) {
            unsupported(l, "register-addressed .param inside a called function");
        }
        return ZK_SPACE_PARAM;
    case PS_CONST: return ZK_SPACE_CONST;
    default:
        unsupported(l, "state space");
    }
}

/* Resolve [..] into (space, base register, offset, data fixup). */
typedef struct maddr {
    uint8_t space, fix;
    uint32_t base;
    uint64_t off;
} maddr;

static maddr mem_addr(lowerer *l, const lctx *c, const ptx_operand *o)
{
    maddr a = { 0, 0, 0, 0 };
    if (o->kind != POK_MEM) {
        unsupported(l, "address operand");
    }
    if (o->var >= 0) {
        vloc loc = loc_of(l, c, o->var_local, o->var);
        if (loc.space == LOC_REG && l->cur->op != PO_LD && l->cur->op != PO_ST) {
            lfail(l, "internal: register-held .param variable used by memory");
        }
        if (loc.space == ZK_SPACE_GLOBAL) {
            a.space = ZK_SPACE_GLOBAL;
            a.base = var_addr(l, loc, o->imm);
            return a;
        }
        a.space = loc.space;
        a.off = loc.off + (uint64_t)o->imm;
        a.fix = loc.data;
        return a;
    }
    a.space = space_of_insn(l);
    a.off = (uint64_t)o->imm;
    if (o->val >= 0) {
        a.base = greg(l, c, o->val);
    }
    return a;
}

/*
 * Call lowering: is .param variable var of pf only ever read or written
 * whole (ld/st.param of its 4 or 8 bytes at offset 0), or handed to a call
 * whose callee only does that with its parameter?  Then it lives in a
 * virtual register: argument passing and results become register moves
 * the allocator coalesces away, instead of a store and a reload through
 * the thread's local memory (per-lane accesses on the card).  Upper bits
 * of 32-bit values are never read (every consumer of a 32-bit register
 * uses its low half), so a move is exactly the store/load pair.
 */
static int param_in_reg(const ptx_module *m, const ptx_func *pf, uint32_t var, int depth)
{
    const ptx_var *v;
    if (var >= pf->nvars || depth > MAX_INLINE_DEPTH) {
        return 0;
    }
    v = &pf->vars[var];
    if (v->space != PS_PARAM || (v->size != 4 && v->size != 8)) {
        return 0;
    }
    for (uint32_t i = 0; i < pf->ninsns; i++) {
        const ptx_insn *in = &pf->insns[i];
        if (in->op == PO_CALL) {
            const ptx_func *callee;
            if (in->ops[in->nret].kind != POK_FUNC) {
                return 0;
            }
            callee = &m->funcs[in->ops[in->nret].val];
            for (uint32_t k = 0; k < in->nret; k++) {
                const ptx_operand *o = &in->ops[k];
                if (o->kind == POK_VAR && o->var_local && o->val == (int32_t)var &&
                    (callee == pf || callee->nrets != in->nret ||
                     !param_in_reg(m, callee, callee->nparams + k, depth + 1))) {
                    return 0;
                }
            }
            for (uint32_t k = 0; k < in->ncall_args; k++) {
                const ptx_operand *o = &in->call_args[k];
                if (o->kind == POK_VAR && o->var_local && o->val == (int32_t)var &&
                    (callee == pf || callee->nparams != in->ncall_args ||
                     !param_in_reg(m, callee, k, depth + 1))) {
                    return 0;
                }
            }
            continue;
        }
        for (uint32_t k = 0; k < in->nops; k++) {
            const ptx_operand *o = &in->ops[k];
            if (!o->var_local) {
                continue;
            }
            if (o->kind == POK_VAR && o->val == (int32_t)var) {
                return 0;       /* address taken */
            }
            if (o->kind == POK_MEM && o->var == (int32_t)var &&
                (!((in->op == PO_LD && k == 1) || (in->op == PO_ST && k == 0)) ||
                 in->vec != 1 || o->imm != 0 || ptx_type_bytes(in->type) != v->size ||
                 (in->flags & PF_VOLATILE) || in->order > PM_RELAXED)) {
                return 0;
            }
        }
    }
    return 1;
}

static void lower_ld(lowerer *l, const lctx *c)
{
    const ptx_insn *pi = l->cur;
    uint8_t st = st_of(l, pi->type);
    maddr a = mem_addr(l, c, &pi->ops[1]);
    if (a.space == LOC_REG) {
        mir_insn *in;
        if (pi->ops[0].kind != POK_REG) {
            return;     /* ld into '_' */
        }
        in = emit(l, ZK_SOP_MOV);
        in->rd = greg(l, c, pi->ops[0].val);
        in->rb = (uint32_t)a.off;
        return;
    }
    unsigned int n = pi->vec, sz = ptx_type_bytes(pi->type);
    for (unsigned int i = 0; i < n; i++) {
        int32_t dst = pi->ops[0].kind == POK_VEC ? pi->ops[0].vec[i] : pi->ops[0].val;
        mir_insn *in;
        if (pi->ops[0].kind == POK_SINK || dst < 0) {
            continue;
        }
        in = emit(l, ZK_SOP_LD);
        in->type = st;
        in->type2 = a.space;
        in->rd = greg(l, c, dst);
        in->ra = a.base;
        in->imm = a.off + (uint64_t)i * sz;
        in->fix = a.fix;
    }
    if (pi->order == PM_ACQUIRE || pi->order == PM_ACQ_REL || pi->order == PM_SC ||
        (pi->flags & PF_VOLATILE)) {
        emit(l, ZK_SOP_MEMBAR);
    }
}

static void lower_st(lowerer *l, const lctx *c)
{
    const ptx_insn *pi = l->cur;
    uint8_t st = st_of(l, pi->type);
    maddr a = mem_addr(l, c, &pi->ops[0]);
    unsigned int n = pi->vec, sz = ptx_type_bytes(pi->type);
    if (a.space == LOC_REG) {
        uint32_t v = val(l, c, &pi->ops[1], st);
        mir_insn *in = emit(l, ZK_SOP_MOV);
        in->rd = (uint32_t)a.off;
        in->rb = v;
        return;
    }
    if (a.space == ZK_SPACE_PARAM || a.space == ZK_SPACE_CONST) {
        unsupported(l, "store to a read-only space");
    }
    if (pi->order == PM_RELEASE || pi->order == PM_ACQ_REL || pi->order == PM_SC ||
        (pi->flags & PF_VOLATILE)) {
        emit(l, ZK_SOP_MEMBAR);
    }
    for (unsigned int i = 0; i < n; i++) {
        ptx_operand e;
        uint32_t v;
        mir_insn *in;
        if (pi->ops[1].kind == POK_VEC) {
            if (pi->ops[1].vec[i] < 0) {
                continue;
            }
            memset(&e, 0, sizeof(e));
            e.kind = POK_REG;
            e.val = pi->ops[1].vec[i];
            v = val(l, c, &e, st);
        } else {
            v = val(l, c, &pi->ops[1], st);
        }
        in = emit(l, ZK_SOP_ST);
        in->type = st;
        in->type2 = a.space;
        in->ra = a.base;
        in->rb = v;
        in->imm = a.off + (uint64_t)i * sz;
        in->fix = a.fix;
    }
}

static void lower_atom(lowerer *l, const lctx *c, int is_red)
{
    const ptx_insn *pi = l->cur;
    int ai = is_red ? 0 : 1;
    uint8_t st = st_of(l, pi->type), mod;
    maddr a = mem_addr(l, c, &pi->ops[ai]);
    uint32_t b, cc = 0;
    mir_insn *in;
    switch (pi->sub) {
    case PX_ADD: mod = ZK_ATOM_ADD; break;
    case PX_MIN: mod = ZK_ATOM_MIN; break;
    case PX_MAX: mod = ZK_ATOM_MAX; break;
    case PX_EXCH: mod = ZK_ATOM_EXCH; break;
    case PX_CAS: mod = ZK_ATOM_CAS; break;
    case PX_AND: mod = ZK_ATOM_AND; break;
    case PX_OR: mod = ZK_ATOM_OR; break;
    case PX_XOR: mod = ZK_ATOM_XOR; break;
    case PX_INC: mod = ZK_ATOM_INC; break;
    case PX_DEC: mod = ZK_ATOM_DEC; break;
    default:
        unsupported(l, "atomic operation");
    }
    if (st == ZK_ST_F64 || (!st_is_int(st) && st != ZK_ST_F32) ||
        (st == ZK_ST_F32 && mod != ZK_ATOM_ADD && mod != ZK_ATOM_EXCH) ||
        ((mod == ZK_ATOM_INC || mod == ZK_ATOM_DEC) && st != ZK_ST_U32)) {
        unsupported(l, "atomic type");
    }
    if (a.space != ZK_SPACE_GLOBAL && a.space != ZK_SPACE_SHARED &&
        a.space != ZK_SPACE_GENERIC) {
        unsupported(l, "atomic state space");
    }
    b = val(l, c, &pi->ops[ai + 1], st);
    if (mod == ZK_ATOM_CAS) {
        cc = val(l, c, &pi->ops[ai + 2], st);
    }
    if (pi->order == PM_RELEASE || pi->order == PM_ACQ_REL || pi->order == PM_SC) {
        emit(l, ZK_SOP_MEMBAR);
    }
    in = emit(l, ZK_SOP_ATOM);
    in->type = st;
    in->mod = mod;
    in->type2 = a.space;
    in->rd = is_red ? 0 : greg(l, c, pi->ops[0].val);
    in->ra = a.base;
    in->rb = b;
    in->rc = cc;
    in->imm = a.off;
    in->fix = a.fix;
    if (pi->order == PM_ACQUIRE || pi->order == PM_ACQ_REL || pi->order == PM_SC) {
        emit(l, ZK_SOP_MEMBAR);
    }
}

/* ---- compare / predicates ---------------------------------------------------------- */

static uint8_t cmp_of(lowerer *l, unsigned int c, uint8_t st)
{
    int fp = st_is_fp(st);
    switch (c) {
    case PC_EQ: return ZK_CMP_EQ;
    case PC_NE: return ZK_CMP_NE;
    case PC_LT: case PC_LO: return ZK_CMP_LT;
    case PC_LE: case PC_LS: return ZK_CMP_LE;
    case PC_GT: case PC_HI: return ZK_CMP_GT;
    case PC_GE: case PC_HS: return ZK_CMP_GE;
    default:
        break;
    }
    if (fp) {
        switch (c) {
        case PC_EQU: return ZK_CMP_EQU;
        case PC_NEU: return ZK_CMP_NEU;
        case PC_LTU: return ZK_CMP_LTU;
        case PC_LEU: return ZK_CMP_LEU;
        case PC_GTU: return ZK_CMP_GTU;
        case PC_GEU: return ZK_CMP_GEU;
        case PC_NUM: return ZK_CMP_NUM;
        case PC_NAN: return ZK_CMP_NAN;
        default:
            break;
        }
    }
    unsupported(l, "comparison");
}

static void plop(lowerer *l, uint32_t pd, uint8_t op, uint32_t pa, int na, uint32_t pb, int nb)
{
    mir_insn *in = emit(l, ZK_SOP_PLOP);
    in->mod = op;
    in->pd = pd;
    in->ra = pa;
    in->ra_neg = (uint8_t)na;
    in->rb = pb;
    in->rb_neg = (uint8_t)nb;
}

/* A 16-bit operand moved to the top half of a 32-bit value (compares). */
static void set_b16_high(lowerer *l, const lctx *c, mir_insn **inp, const ptx_operand *o)
{
    if (o->kind == POK_IMM) {
        (*inp)->flags |= ZK_SF_BIMM;
        (*inp)->imm = ((uint64_t)o->imm & 0xffffu) << 16;
        return;
    }
    if (o->kind != POK_REG) {
        unsupported(l, "16-bit compare operand");
    }
    {
        size_t idx = (size_t)(*inp - l->f->v);
        uint32_t r = new_vreg(l);
        mir_insn save = l->f->v[idx], *sh = emit(l, ZK_SOP_SHL);
        sh->type = ZK_ST_U32;
        sh->rd = r;
        sh->ra = val(l, c, o, ZK_ST_U32);
        sh->flags = ZK_SF_BIMM;
        sh->imm = 16;
        memmove(&l->f->v[idx], &l->f->v[idx + 1], (l->f->n - idx - 1) * sizeof(mir_insn));
        l->f->v[l->f->n - 1] = save;
        *inp = &l->f->v[l->f->n - 1];
        (*inp)->rb = r;
    }
}

static void lower_setp(lowerer *l, const lctx *c)
{
    const ptx_insn *pi = l->cur;
    int b16 = is_int16(pi->type);
    uint8_t st = b16 ? (pi->type == PT_S16 ? ZK_ST_S32 : ZK_ST_U32) : arith_type(l);
    uint8_t cmp = cmp_of(l, pi->cmp, st);
    int two = pi->ndst == 2;
    int srcs = two ? 2 : 1;
    uint32_t p = pi->ops[0].kind == POK_SINK ? 0 : preg(l, c, pi->ops[0].val);
    uint32_t q = two && pi->ops[1].kind != POK_SINK ? preg(l, c, pi->ops[1].val) : 0;
    uint32_t t;
    uint32_t a = val(l, c, &pi->ops[srcs], st);
    mir_insn *in;
    if (b16) {
        /* (a << 16) against (b << 16) as 32-bit: the 16-bit order, signed or not */
        uint32_t ah = new_vreg(l);
        in = emit(l, ZK_SOP_SHL);
        in->type = ZK_ST_U32;
        in->rd = ah;
        in->ra = a;
        in->flags = ZK_SF_BIMM;
        in->imm = 16;
        a = ah;
    }
    if (!pi->boolop && !two) {
        in = emit(l, ZK_SOP_SETP);
        in->type = st;
        in->mod = cmp;
        in->pd = p;
        in->ra = a;
        if (b16) {
            set_b16_high(l, c, &in, &pi->ops[srcs + 1]);
        } else {
            set_b(l, c, &in, &pi->ops[srcs + 1], st);
        }
        return;
    }
    t = new_preg(l);
    in = emit(l, ZK_SOP_SETP);
    in->type = st;
    in->mod = cmp;
    in->pd = t;
    in->ra = a;
    if (b16) {
        set_b16_high(l, c, &in, &pi->ops[srcs + 1]);
    } else {
        set_b(l, c, &in, &pi->ops[srcs + 1], st);
    }
    if (pi->boolop) {
        const ptx_operand *pc = &pi->ops[srcs + 2];
        uint8_t op = pi->boolop == PB_AND ? ZK_PLOP_AND : pi->boolop == PB_OR ? ZK_PLOP_OR :
                     ZK_PLOP_XOR;
        if (pi->nops < srcs + 3 || pc->kind != POK_REG) {
            unsupported(l, "predicate combine operand");
        }
        if (p) {
            plop(l, p, op, t, 0, preg(l, c, pc->val), pc->neg);
        }
        if (q) {
            plop(l, q, op, t, 1, preg(l, c, pc->val), pc->neg);
        }
    } else {
        if (p) {
            plop(l, p, ZK_PLOP_AND, t, 0, 0, 0);
        }
        if (q) {
            plop(l, q, ZK_PLOP_AND, t, 1, 0, 0);
        }
    }
}

/* and/or/xor/not/mov on predicates */
static void lower_pred_logic(lowerer *l, const lctx *c)
{
    const ptx_insn *pi = l->cur;
    uint32_t d = preg(l, c, pi->ops[0].val);
    const ptx_operand *a = &pi->ops[1], *b = pi->nops > 2 ? &pi->ops[2] : NULL;
    if (a->kind != POK_REG || (b && b->kind != POK_REG)) {
        unsupported(l, "predicate operand");
    }
    switch (pi->op) {
    case PO_NOT:
        plop(l, d, ZK_PLOP_AND, preg(l, c, a->val), !a->neg, 0, 0);
        break;
    case PO_MOV:
        plop(l, d, ZK_PLOP_AND, preg(l, c, a->val), a->neg, 0, 0);
        break;
    default:
        plop(l, d, pi->op == PO_AND ? ZK_PLOP_AND : pi->op == PO_OR ? ZK_PLOP_OR : ZK_PLOP_XOR,
             preg(l, c, a->val), a->neg, preg(l, c, b->val), b->neg);
    }
}

/* ---- the instruction switch -------------------------------------------------------- */

static void lower_body(lowerer *l, const ptx_func *pf, lctx *c);

/* The value of a register whose only definition is an unguarded mov of an
 * immediate (how compilers pass constant selectors). */
static int const_reg(const ptx_func *pf, int32_t reg, uint64_t *v)
{
    int defs = 0;
    for (uint32_t i = 0; i < pf->ninsns; i++) {
        const ptx_insn *in = &pf->insns[i];
        int nd = in->op == PO_CALL ? in->nret : in->ndst;
        for (int k = 0; k < nd && k < in->nops; k++) {
            const ptx_operand *o = &in->ops[k];
            int hit = o->kind == POK_REG && o->val == reg;
            for (int e = 0; o->kind == POK_VEC && e < o->comp; e++) {
                hit |= o->vec[e] == reg;
            }
            if (!hit) {
                continue;
            }
            if (++defs > 1 || in->op != PO_MOV || in->guard >= 0 || in->ops[1].kind != POK_IMM) {
                return 0;
            }
            *v = (uint64_t)in->ops[1].imm;
        }
    }
    return defs == 1;
}

static void lower_call(lowerer *l, const lctx *c)
{
    const ptx_insn *pi = l->cur;
    const ptx_func *callee = &l->m->funcs[pi->ops[pi->nret].val];
    lctx cc;
    uint32_t saved_guard = l->guard, saved_gneg = l->gneg;
    if (l->guard) {
        unsupported(l, "predicated call");
    }
    if (!callee->has_body) {
        unsupported(l, "call of a function without a body");
    }
    if (l->depth >= MAX_INLINE_DEPTH) {
        unsupported(l, "calls nested deeper than 8 (recursion?)");
    }
    for (int i = 0; i <= l->depth; i++) {
        if (l->stack[i] == callee) {
            unsupported(l, "recursive call");
        }
    }
    if (pi->ncall_args != callee->nparams || pi->nret != callee->nrets) {
        lfail(l, "call of %s with %u argument(s) and %u result(s); it takes %u and %u",
              callee->name, pi->ncall_args, pi->nret, callee->nparams, callee->nrets);
    }
    memset(&cc, 0, sizeof(cc));
    cc.pf = callee;
    cc.vars = own(l, callee->nvars, sizeof(*cc.vars));
    /* callee params alias the caller's argument variables, rets its result variables */
    for (uint32_t i = 0; i < callee->nparams + callee->nrets; i++) {
        const ptx_operand *o = i < callee->nparams ? &pi->call_args[i] :
                               &pi->ops[i - callee->nparams];
        if (o->kind != POK_VAR || !o->var_local) {
            unsupported(l, "call arguments and results must be .param variables");
        }
        cc.vars[i] = c->vars[o->val];
        if (cc.vars[i].space != ZK_SPACE_LOCAL && cc.vars[i].space != LOC_REG) {
            unsupported(l, "call argument is not a call-site .param variable");
        }
    }
    l->stack[++l->depth] = callee;
    cc.ret_label = new_label(l);
    lower_body(l, callee, &cc);
    place_label(l, cc.ret_label);
    l->depth--;
    disown(l, cc.vars);
    l->guard = saved_guard;
    l->gneg = saved_gneg;
}

/* Half precision and 16-bit packs (its own file, sharing the helpers above). */
#include "ptx_f16.inc"

static void lower_insn(lowerer *l, lctx *c, const ptx_insn *pi)
{
    uint8_t st;
    mir_insn *in;
    l->cur = pi;
    l->line = pi->line;
    l->guard = pi->guard >= 0 ? preg(l, c, pi->guard) : 0;
    l->gneg = pi->guard_neg;
    if (pi->flags & PF_CC) {
        unsupported(l, "carry (.cc)");
    }
    if (lower_f16(l, c, pi)) {
        return;
    }
    switch (pi->op) {
    case PO_MOV:
        need_reg_dst(l);
        if (pi->type == PT_PRED) {
            lower_pred_logic(l, c);
            return;
        }
        if (pi->ops[1].kind == POK_VEC) {      /* mov.b64 d, {lo, hi} */
            uint32_t lo, hi, t;
            if (pi->type != PT_B64 || pi->ops[1].comp != 2) {
                unsupported(l, "vector pack");
            }
            lo = greg(l, c, pi->ops[1].vec[0]);
            hi = greg(l, c, pi->ops[1].vec[1]);
            t = new_vreg(l);
            in = emit(l, ZK_SOP_SHL);
            in->type = ZK_ST_U64;
            in->rd = t;
            in->ra = hi;
            in->flags = ZK_SF_BIMM;
            in->imm = 32;
            in = emit(l, ZK_SOP_OR);
            in->type = ZK_ST_U64;
            in->rd = greg(l, c, pi->ops[0].val);
            in->ra = t;
            in->rb = lo;
            return;
        }
        st = st_of(l, pi->type);
        if (pi->ops[1].kind == POK_SREG && pi->ops[1].val != PSR_DYN_SMEM_SIZE) {
            /* straight into the destination */
            uint32_t n0 = l->f->n;
            sreg_value(l, &pi->ops[1]);
            in = &l->f->v[n0];
            in->rd = greg(l, c, pi->ops[0].val);
            in->guard = l->guard;
            in->gneg = (uint8_t)l->gneg;
            return;
        }
        if (pi->ops[1].kind == POK_SREG) {
            uint32_t r = sreg_value(l, &pi->ops[1]);
            in = emit(l, ZK_SOP_MOV);
            in->rd = greg(l, c, pi->ops[0].val);
            in->rb = r;
            return;
        }
        in = emit(l, ZK_SOP_MOV);
        in->rd = greg(l, c, pi->ops[0].val);
        set_b(l, c, &in, &pi->ops[1], st);
        return;
    case PO_ADD: case PO_SUB: case PO_MUL: case PO_DIV: case PO_REM: case PO_MIN:
    case PO_MAX: case PO_AND: case PO_OR: case PO_XOR: case PO_SHL: case PO_SHR: {
        static const uint8_t iop[] = {
            [PO_ADD] = ZK_SOP_ADD, [PO_SUB] = ZK_SOP_SUB, [PO_MUL] = ZK_SOP_MUL,
            [PO_DIV] = ZK_SOP_DIV, [PO_REM] = ZK_SOP_REM, [PO_MIN] = ZK_SOP_MIN,
            [PO_MAX] = ZK_SOP_MAX, [PO_AND] = ZK_SOP_AND, [PO_OR] = ZK_SOP_OR,
            [PO_XOR] = ZK_SOP_XOR, [PO_SHL] = ZK_SOP_SHL, [PO_SHR] = ZK_SOP_SHR,
        };
        static const uint8_t fop[] = {
            [PO_ADD] = ZK_SOP_FADD, [PO_SUB] = ZK_SOP_FSUB, [PO_MUL] = ZK_SOP_FMUL,
            [PO_DIV] = ZK_SOP_FDIV, [PO_MIN] = ZK_SOP_FMIN, [PO_MAX] = ZK_SOP_FMAX,
        };
        need_reg_dst(l);
        if (pi->type == PT_PRED && (pi->op == PO_AND || pi->op == PO_OR || pi->op == PO_XOR)) {
            lower_pred_logic(l, c);
            return;
        }
        if (is_int16(pi->type) && !pi->sub && (pi->op == PO_ADD || pi->op == PO_SUB ||
            pi->op == PO_AND || pi->op == PO_OR || pi->op == PO_XOR)) {
            emit_abc(l, c, iop[pi->op], ZK_ST_U32, 2);      /* low 16 bits exact */
            return;
        }
        st = arith_type(l);
        if (st_is_fp(st)) {
            uint8_t op = pi->op < sizeof(fop) ? fop[pi->op] : 0;
            if (!op || pi->sub) {
                unsupported(l, NULL);
            }
            in = emit_abc(l, c, op, st, 2);
            if (op == ZK_SOP_FADD || op == ZK_SOP_FSUB || op == ZK_SOP_FMUL ||
                op == ZK_SOP_FDIV) {
                in->mod = rnd_of(l, pi->rnd);
            }
            if (pi->flags & PF_SAT) {
                saturate(l, greg(l, c, pi->ops[0].val), st);
            }
            return;
        }
        if (pi->rnd || (pi->flags & (PF_SAT | PF_FTZ | PF_APPROX))) {
            unsupported(l, NULL);
        }
        if (pi->op == PO_MUL) {
            if (pi->sub == PX_HI) {
                emit_abc(l, c, ZK_SOP_MULHI, st, 2);
                return;
            }
            if (pi->sub == PX_WIDE) {
                if (st != ZK_ST_U32 && st != ZK_ST_S32) {
                    unsupported(l, NULL);
                }
                emit_abc(l, c, ZK_SOP_MULWIDE, st, 2);
                return;
            }
        } else if (pi->sub) {
            unsupported(l, NULL);
        }
        if ((pi->op == PO_AND || pi->op == PO_OR || pi->op == PO_XOR || pi->op == PO_SHL) &&
            ptx_type_is_signed(pi->type)) {
            st = st == ZK_ST_S32 ? ZK_ST_U32 : ZK_ST_U64;
        }
        emit_abc(l, c, iop[pi->op], st, 2);
        return;
    }
    case PO_MAD: case PO_FMA:
        need_reg_dst(l);
        st = arith_type(l);
        if (st_is_fp(st)) {
            in = emit_abc(l, c, ZK_SOP_FFMA, st, 3);
            in->mod = rnd_of(l, pi->rnd);
            if (pi->flags & PF_SAT) {
                saturate(l, greg(l, c, pi->ops[0].val), st);
            }
            return;
        }
        if (pi->op == PO_FMA || pi->sub == PX_HI || (pi->flags & PF_SAT)) {
            unsupported(l, NULL);
        }
        if (pi->sub == PX_WIDE) {
            if (st != ZK_ST_U32 && st != ZK_ST_S32) {
                unsupported(l, NULL);
            }
            emit_abc(l, c, ZK_SOP_MADWIDE, st, 3);
            return;
        }
        emit_abc(l, c, ZK_SOP_MAD, st, 3);
        return;
    case PO_ABS: case PO_NEG: case PO_NOT: case PO_POPC: case PO_CLZ: case PO_BREV:
    case PO_SQRT: case PO_RCP: case PO_RSQRT: case PO_EX2: case PO_LG2: case PO_SIN:
    case PO_COS: {
        uint8_t op;
        need_reg_dst(l);
        if (pi->type == PT_PRED && pi->op == PO_NOT) {
            lower_pred_logic(l, c);
            return;
        }
        st = arith_type(l);
        if (st_is_fp(st)) {
            switch (pi->op) {
            case PO_ABS: op = ZK_SOP_FABS; break;
            case PO_NEG: op = ZK_SOP_FNEG; break;
            case PO_SQRT: op = ZK_SOP_FSQRT; break;
            case PO_RCP: op = ZK_SOP_FRCP; break;
            case PO_RSQRT: op = ZK_SOP_FRSQRT; break;
            case PO_EX2: op = ZK_SOP_FEX2; break;
            case PO_LG2: op = ZK_SOP_FLG2; break;
            case PO_SIN: op = ZK_SOP_FSIN; break;
            case PO_COS: op = ZK_SOP_FCOS; break;
            default: unsupported(l, NULL);
            }
            if (st == ZK_ST_F64 && (op == ZK_SOP_FEX2 || op == ZK_SOP_FLG2 || op == ZK_SOP_FSIN ||
                                    op == ZK_SOP_FCOS)) {
                unsupported(l, NULL);
            }
            in = emit_abc(l, c, op, st, 1);
            if (op == ZK_SOP_FSQRT || op == ZK_SOP_FRCP) {
                in->mod = rnd_of(l, pi->rnd);
            }
            return;
        }
        switch (pi->op) {
        case PO_ABS: op = ZK_SOP_ABS; break;
        case PO_NEG: op = ZK_SOP_NEG; break;
        case PO_NOT: op = ZK_SOP_NOT; st = st_is_int(st) && (st & 1) ? st - 1 : st; break;
        case PO_POPC: op = ZK_SOP_POPC; st = st == ZK_ST_S32 ? ZK_ST_U32 : st; break;
        case PO_CLZ: op = ZK_SOP_CLZ; st = st == ZK_ST_S32 ? ZK_ST_U32 : st; break;
        case PO_BREV: op = ZK_SOP_BREV; st = st == ZK_ST_S32 ? ZK_ST_U32 : st; break;
        default: unsupported(l, NULL);
        }
        if (st == ZK_ST_S64 && (op == ZK_SOP_POPC || op == ZK_SOP_CLZ || op == ZK_SOP_BREV)) {
            st = ZK_ST_U64;
        }
        emit_abc(l, c, op, st, 1);
        return;
    }
    case PO_COPYSIGN: {
        /* copysign d, a, b: magnitude of b, sign of a */
        uint32_t a, b, t1 = new_vreg(l), t2 = new_vreg(l);
        int d64;
        need_reg_dst(l);
        st = arith_type(l);
        if (!st_is_fp(st)) {
            unsupported(l, NULL);
        }
        d64 = st == ZK_ST_F64;
        a = val(l, c, &pi->ops[1], st);
        b = val(l, c, &pi->ops[2], st);
        in = emit(l, ZK_SOP_AND);
        in->type = d64 ? ZK_ST_U64 : ZK_ST_U32;
        in->rd = t1;
        in->ra = b;
        in->flags = ZK_SF_BIMM;
        in->imm = d64 ? 0x7fffffffffffffffull : 0x7fffffffull;
        in = emit(l, ZK_SOP_AND);
        in->type = d64 ? ZK_ST_U64 : ZK_ST_U32;
        in->rd = t2;
        in->ra = a;
        in->flags = ZK_SF_BIMM;
        in->imm = d64 ? 0x8000000000000000ull : 0x80000000ull;
        in = emit(l, ZK_SOP_OR);
        in->type = d64 ? ZK_ST_U64 : ZK_ST_U32;
        in->rd = greg(l, c, pi->ops[0].val);
        in->ra = t1;
        in->rb = t2;
        return;
    }
    case PO_BFE:
        need_reg_dst(l);
        st = arith_type(l);
        emit_abc(l, c, ZK_SOP_BFE, st, 3);
        return;
    case PO_BFI: {
        /* bfi d, a, b, pos, len -> BFI d, a, b, pos | len << 8 */
        const ptx_operand *pos = &pi->ops[3], *len = &pi->ops[4];
        uint32_t a, b;
        need_reg_dst(l);
        st = arith_type(l);
        st = st == ZK_ST_S32 ? ZK_ST_U32 : st == ZK_ST_S64 ? ZK_ST_U64 : st;
        a = val(l, c, &pi->ops[1], st);
        b = val(l, c, &pi->ops[2], st);
        if (pos->kind == POK_IMM && len->kind == POK_IMM) {
            in = emit(l, ZK_SOP_BFI);
            in->type = st;
            in->rd = greg(l, c, pi->ops[0].val);
            in->ra = a;
            in->rb = b;
            in->flags = ZK_SF_CIMM;
            in->imm = ((uint64_t)pos->imm & 0xff) | ((uint64_t)len->imm & 0xff) << 8;
            return;
        } else {
            uint32_t p = val(l, c, pos, ZK_ST_U32), n = val(l, c, len, ZK_ST_U32);
            uint32_t t1 = new_vreg(l), t2 = new_vreg(l), t3 = new_vreg(l);
            in = emit(l, ZK_SOP_AND);
            in->type = ZK_ST_U32;
            in->rd = t1;
            in->ra = p;
            in->flags = ZK_SF_BIMM;
            in->imm = 0xff;
            in = emit(l, ZK_SOP_AND);
            in->type = ZK_ST_U32;
            in->rd = t2;
            in->ra = n;
            in->flags = ZK_SF_BIMM;
            in->imm = 0xff;
            in = emit(l, ZK_SOP_SHL);
            in->type = ZK_ST_U32;
            in->rd = t2;
            in->ra = t2;
            in->flags = ZK_SF_BIMM;
            in->imm = 8;
            in = emit(l, ZK_SOP_OR);
            in->type = ZK_ST_U32;
            in->rd = t3;
            in->ra = t1;
            in->rb = t2;
            in = emit(l, ZK_SOP_BFI);
            in->type = st;
            in->rd = greg(l, c, pi->ops[0].val);
            in->ra = a;
            in->rb = b;
            in->rc = t3;
            return;
        }
    }
    case PO_PRMT: {
        /*
         * Default mode, immediate selector: result byte i = byte sel_i of b:a.
         * Byte 0 is extracted (or taken as the whole source when it is that
         * source's byte 0: bytes 1..3 are all overwritten), bytes 1..3 are
         * bfi-inserted, from the source directly when it is its byte 0; the
         * last insert writes the destination.
         */
        uint32_t src[2], acc = 0, dst;
        uint64_t sel;
        need_reg_dst(l);
        if (pi->sub || (pi->ops[3].kind != POK_IMM &&
                        !(pi->ops[3].kind == POK_REG && const_reg(c->pf, pi->ops[3].val, &sel)))) {
            unsupported(l, "only the default mode with a constant selector");
        }
        if (pi->ops[3].kind == POK_IMM) {
            sel = (uint64_t)pi->ops[3].imm;
        }
        for (int i = 0; i < 4; i++) {
            if ((sel >> (4 * i)) & 8) {
                unsupported(l, "sign-replicating selector");
            }
        }
        src[0] = val(l, c, &pi->ops[1], ZK_ST_U32);
        src[1] = val(l, c, &pi->ops[2], ZK_ST_U32);
        dst = greg(l, c, pi->ops[0].val);
        for (int i = 0; i < 4; i++) {
            unsigned int s = (unsigned int)(sel >> (4 * i)) & 7;
            uint32_t byte = src[s >> 2];
            if (s & 3 || i == 0) {
                if (i == 0 && !(s & 3)) {
                    acc = byte; /* upper bytes get replaced below */
                    continue;
                }
                byte = new_vreg(l);
                in = emit(l, ZK_SOP_BFE);
                in->type = ZK_ST_U32;
                in->rd = byte;
                in->ra = src[s >> 2];
                in->flags = ZK_SF_BIMM | ZK_SF_CIMM;
                in->imm = (uint64_t)(8 * (s & 3)) | 8ull << 32;
                if (i == 0) {
                    acc = byte;
                    continue;
                }
            }
            in = emit(l, ZK_SOP_BFI);
            in->type = ZK_ST_U32;
            in->rd = i == 3 ? dst : new_vreg(l);
            in->ra = byte;
            in->rb = acc;
            in->flags = ZK_SF_CIMM;
            in->imm = (uint64_t)(8 * i) | 8u << 8;
            acc = in->rd;
        }
        return;
    }
    case PO_SETP:
        lower_setp(l, c);
        return;
    case PO_SELP: {
        const ptx_operand *p = &pi->ops[3];
        need_reg_dst(l);
        st = st_of(l, pi->type);
        if (p->kind != POK_REG || p->neg) {
            unsupported(l, "selector");
        }
        in = emit_abc(l, c, ZK_SOP_SELP, st, 2);
        in->type = 0;
        in->pd = preg(l, c, p->val);
        return;
    }
    case PO_CVT: {
        uint8_t dt, stt;
        uint32_t a;
        need_reg_dst(l);
        dt = st_of(l, pi->type);
        stt = st_of(l, pi->type2);
        a = val(l, c, &pi->ops[1], stt);
        if (dt == stt) {
            if (st_is_fp(dt) && (pi->flags & PF_SAT) && !pi->rnd) {
                in = emit(l, ZK_SOP_MOV);
                in->rd = greg(l, c, pi->ops[0].val);
                in->rb = a;
                saturate(l, greg(l, c, pi->ops[0].val), dt);
                return;
            }
            if (pi->rnd || (pi->flags & PF_SAT)) {
                unsupported(l, "rounding to an integral value in the same type");
            }
            in = emit(l, ZK_SOP_MOV);
            in->rd = greg(l, c, pi->ops[0].val);
            in->rb = a;
            return;
        }
        if ((pi->flags & PF_SAT) && !(st_is_int(dt) && !st_is_int(stt))) {
            /* float -> int saturates anyway; other .sat forms are not translated */
            unsupported(l, NULL);
        }
        in = emit(l, ZK_SOP_CVT);
        in->type = dt;
        in->type2 = stt;
        in->rd = greg(l, c, pi->ops[0].val);
        in->ra = a;
        in->mod = rnd_of(l, pi->rnd);
        return;
    }
    case PO_CVTA: {
        uint8_t sp;
        uint32_t a;
        need_reg_dst(l);
        switch (pi->space) {
        case PS_GLOBAL: sp = ZK_SPACE_GLOBAL; break;
        case PS_SHARED: sp = ZK_SPACE_SHARED; break;
        case PS_LOCAL: sp = ZK_SPACE_LOCAL; break;
        default: unsupported(l, "state space");
        }
        a = val(l, c, &pi->ops[1], ZK_ST_U64);
        if (sp == ZK_SPACE_GLOBAL) {
            /* global addresses are generic addresses */
            in = emit(l, ZK_SOP_MOV);
            in->rd = greg(l, c, pi->ops[0].val);
            in->rb = a;
            return;
        }
        in = emit(l, ZK_SOP_CVTA);
        in->type2 = sp;
        in->mod = (pi->flags & PF_TO) ? 1 : 0;
        in->rd = greg(l, c, pi->ops[0].val);
        in->ra = a;
        return;
    }
    case PO_LD: case PO_LDU:
        lower_ld(l, c);
        return;
    case PO_ST:
        lower_st(l, c);
        return;
    case PO_ATOM:
        lower_atom(l, c, 0);
        return;
    case PO_RED:
        lower_atom(l, c, 1);
        return;
    case PO_SHFL: {
        static const uint8_t mode[] = {
            [PX_IDX] = ZK_SHFL_IDX, [PX_UP] = ZK_SHFL_UP, [PX_DOWN] = ZK_SHFL_DOWN,
            [PX_BFLY] = ZK_SHFL_BFLY,
        };
        int two = pi->ndst == 2, s = two ? 2 : 1;
        const ptx_operand *b = &pi->ops[s + 1], *cc = &pi->ops[s + 2];
        uint32_t a;
        if (pi->sub < PX_UP || pi->sub > PX_IDX || (pi->type != PT_B32 && pi->type != PT_NONE)) {
            unsupported(l, NULL);
        }
        a = val(l, c, &pi->ops[s], ZK_ST_U32);
        if (b->kind == POK_IMM && cc->kind == POK_IMM) {
            in = emit(l, ZK_SOP_SHFL);
            in->flags = ZK_SF_BIMM | ZK_SF_CIMM;
            in->imm = ((uint64_t)b->imm & 0xffffffffull) | (uint64_t)cc->imm << 32;
        } else {
            uint32_t rb = val(l, c, b, ZK_ST_U32), rc = val(l, c, cc, ZK_ST_U32);
            in = emit(l, ZK_SOP_SHFL);
            in->rb = rb;
            in->rc = rc;
        }
        in->mod = mode[pi->sub];
        in->ra = a;
        in->rd = pi->ops[0].kind == POK_REG ? greg(l, c, pi->ops[0].val) : 0;
        in->pd = two && pi->ops[1].kind == POK_REG ? preg(l, c, pi->ops[1].val) : 0;
        return;
    }
    case PO_VOTE: {
        const ptx_operand *p = &pi->ops[1];
        if (p->kind != POK_REG) {
            unsupported(l, "vote source");
        }
        in = emit(l, ZK_SOP_VOTE);
        in->ra = preg(l, c, p->val);
        in->ra_neg = p->neg;
        switch (pi->sub) {
        case PX_BALLOT:
            in->mod = ZK_VOTE_BALLOT;
            in->rd = greg(l, c, pi->ops[0].val);
            break;
        case PX_ANY: case PX_ALL: case PX_UNI:
            in->mod = pi->sub == PX_ANY ? ZK_VOTE_ANY : pi->sub == PX_ALL ? ZK_VOTE_ALL :
                      ZK_VOTE_UNI;
            in->pd = preg(l, c, pi->ops[0].val);
            break;
        default:
            unsupported(l, NULL);
        }
        return;
    }
    case PO_ACTIVEMASK:
        in = emit(l, ZK_SOP_VOTE);
        in->mod = ZK_VOTE_BALLOT;
        in->rd = greg(l, c, pi->ops[0].val);
        in->ra = 0;     /* p0: true in every executing lane */
        return;
    case PO_BRA:
        in = emit(l, ZK_SOP_BRA);
        in->target = c->label_base + pi->ops[0].val;
        return;
    case PO_RET:
        if (c->ret_label >= 0) {
            in = emit(l, ZK_SOP_BRA);
            in->target = c->ret_label;
        } else {
            emit(l, ZK_SOP_EXIT);
        }
        return;
    case PO_EXIT:
        emit(l, ZK_SOP_EXIT);
        return;
    case PO_TRAP:
        emit(l, ZK_SOP_TRAP);
        return;
    case PO_BAR: case PO_BARRIER:
        if (pi->sub == PX_ALL && pi->op == PO_BAR) {
            /* bar.warp.sync: the min-PC scheduler reconverges the warp by itself */
            emit(l, ZK_SOP_NOP);
            return;
        }
        if ((pi->flags & PF_ARRIVE) || pi->nops != 1 || pi->ops[0].kind != POK_IMM ||
            pi->ops[0].imm != 0 || pi->sub) {
            unsupported(l, "only bar.sync 0 / barrier.sync 0 (one block-wide barrier)");
        }
        emit(l, ZK_SOP_BAR);
        return;
    case PO_MEMBAR: case PO_FENCE:
        emit(l, ZK_SOP_MEMBAR);
        return;
    case PO_NANOSLEEP: case PO_PREFETCH:
        emit(l, ZK_SOP_NOP);
        return;
    case PO_CALL:
        lower_call(l, c);
        return;
    default:
        unsupported(l, NULL);
    }
}

static void lower_body(lowerer *l, const ptx_func *pf, lctx *c)
{
    uint32_t fi = (uint32_t)(pf - l->m->funcs);
    mir_func *f = l->f;
    c->gmap = own(l, pf->nregs, sizeof(*c->gmap));
    c->pmap = own(l, pf->nregs, sizeof(*c->pmap));
    for (uint32_t i = 0; i < pf->nregs; i++) {
        if (pf->reg_type[i] == PT_PRED) {
            c->gmap[i] = 0;
            c->pmap[i] = new_preg(l);
        } else {
            c->gmap[i] = new_vreg(l);
            c->pmap[i] = 0;
        }
    }
    /* labels */
    c->label_base = (int32_t)f->nlabels;
    for (uint32_t i = 0; i < pf->nlabels; i++) {
        new_label(l);
    }
    /* body variables (params/rets of inlined functions are set by the caller) */
    for (uint32_t i = 0; i < pf->nvars; i++) {
        const ptx_var *v = &pf->vars[i];
        int is_arg = i < pf->nparams + pf->nrets;
        if (is_arg && l->depth > 0) {
            continue;
        }
        if (is_arg) {
            c->vars[i].space = ZK_SPACE_PARAM;
            c->vars[i].off = i < pf->nparams ? pf->params[i].offset : 0;
            if (i >= pf->nparams) {
                lfail(l, "a kernel has no return values");
            }
            continue;
        }
        if (v->space == PS_SHARED) {
            c->vars[i].space = ZK_SPACE_SHARED;
            c->vars[i].off = l->fshared[fi][i] - 1;
            continue;
        }
        if (param_in_reg(l->m, pf, i, l->depth)) {
            c->vars[i].space = LOC_REG;
            c->vars[i].off = new_vreg(l);
            continue;
        }
        /* .local and call-site .param variables: thread-local slots */
        {
            uint64_t a = v->align ? v->align : 1;
            uint64_t off = (f->local_bytes + a - 1) & ~(a - 1);
            if (off + v->size > ZK_SIMT_MAX_LOCAL) {
                l->line = v->line;
                lfail(l, "local memory of %s exceeds the card's %u bytes per thread", f->name,
                      ZK_SIMT_MAX_LOCAL);
            }
            c->vars[i].space = ZK_SPACE_LOCAL;
            c->vars[i].off = off;
            f->local_bytes = (uint32_t)(off + v->size);
        }
    }
    for (uint32_t i = 0; i < pf->ninsns; i++) {
        for (uint32_t k = 0; k < pf->nlabels; k++) {
            if (pf->labels[k].insn == (int32_t)i) {
                place_label(l, c->label_base + (int32_t)k);
            }
        }
        lower_insn(l, c, &pf->insns[i]);
    }
    for (uint32_t k = 0; k < pf->nlabels; k++) {
        if (pf->labels[k].insn == (int32_t)pf->ninsns) {
            place_label(l, c->label_base + (int32_t)k);
        }
    }
    if (l->depth == 0) {
        /* falling off the end of a kernel ends the thread */
        l->guard = 0;
        l->gneg = 0;
        emit(l, ZK_SOP_EXIT);
    }
    disown(l, c->gmap);
    disown(l, c->pmap);
    c->gmap = c->pmap = NULL;
}

/* Static shared memory of every function reachable from the kernel. */
static void layout_shared(lowerer *l, const ptx_func *pf, int depth)
{
    uint32_t fi = (uint32_t)(pf - l->m->funcs);
    if (depth > MAX_INLINE_DEPTH) {
        return;
    }
    if (!l->fshared[fi]) {
        l->fshared[fi] = lalloc(l, NULL, pf->nvars ? pf->nvars : 1, sizeof(uint32_t));
        memset(l->fshared[fi], 0, sizeof(uint32_t) * (pf->nvars ? pf->nvars : 1));
        for (uint32_t i = 0; i < pf->nvars; i++) {
            const ptx_var *v = &pf->vars[i];
            uint64_t a = v->align ? v->align : 1, off;
            if (v->space != PS_SHARED) {
                continue;
            }
            off = (l->shared_top + a - 1) & ~(a - 1);
            if (off + v->size > ZK_SIMT_MAX_SHARED) {
                l->line = v->line;
                lfail(l, "static shared memory exceeds the card's %u bytes", ZK_SIMT_MAX_SHARED);
            }
            l->fshared[fi][i] = (uint32_t)off + 1;
            l->shared_top = (uint32_t)(off + v->size);
        }
    }
    for (uint32_t i = 0; i < pf->ninsns; i++) {
        const ptx_insn *in = &pf->insns[i];
        if (in->op == PO_CALL) {
            layout_shared(l, &l->m->funcs[in->ops[in->nret].val], depth + 1);
        }
    }
}

static void lower_kernel(lowerer *l, const ptx_func *pf, mir_func *f)
{
    lctx c;
    memset(&c, 0, sizeof(c));
    l->f = f;
    l->labels_below = 0;
    snprintf(f->name, sizeof(f->name), "%s", pf->name);   /* for messages */
    if (strlen(pf->name) >= ZK_PTX_NAME_MAX) {
        l->line = pf->line;
        lfail(l, "kernel name %.40s... longer than %d characters", pf->name,
              ZK_PTX_NAME_MAX - 1);
    }
    f->nvregs = 1;      /* 0 is r0 */
    f->npregs = 1;      /* 0 is p0 */
    f->param_bytes = pf->param_bytes;
    if (pf->param_bytes > ZK_SIMT_MAX_PARAMS) {
        l->line = pf->line;
        lfail(l, "kernel %s has %u parameter bytes (the card takes %u)", pf->name,
              pf->param_bytes, ZK_SIMT_MAX_PARAMS);
    }
    l->shared_top = l->mm->shared_static;
    l->fshared = lalloc(l, NULL, l->m->nfuncs, sizeof(*l->fshared));
    memset(l->fshared, 0, sizeof(*l->fshared) * l->m->nfuncs);
    layout_shared(l, pf, 0);
    f->shared_bytes = l->shared_top;
    c.pf = pf;
    c.ret_label = -1;
    c.vars = own(l, pf->nvars, sizeof(*c.vars));
    l->depth = 0;
    l->stack[0] = pf;
    lower_body(l, pf, &c);
    disown(l, c.vars);
    for (uint32_t i = 0; i < l->m->nfuncs; i++) {
        free(l->fshared[i]);
    }
    free(l->fshared);
    l->fshared = NULL;
}

void mir_module_free(mir_module *mm)
{
    for (uint32_t i = 0; i < mm->nfuncs; i++) {
        free(mm->funcs[i].v);
        free(mm->funcs[i].label_pos);
    }
    free(mm->funcs);
    free(mm->var_offset);
    free(mm->data);
    memset(mm, 0, sizeof(*mm));
}

int ptx_lower(const ptx_module *m, mir_module *out, char *err, size_t errlen)
{
    lowerer *l = calloc(1, sizeof(*l));
    volatile int rc = 0;
    volatile uint32_t nk = 0;
    memset(out, 0, sizeof(*out));
    if (!l) {
        snprintf(err, errlen, "out of host memory");
        return -1;
    }
    l->m = m;
    l->mm = out;
    l->err = err;
    l->errlen = errlen;
    if (setjmp(l->fail)) {
        while (l->nowned > 0) {
            free(l->owned[--l->nowned]);
        }
        if (l->fshared) {
            for (uint32_t i = 0; i < m->nfuncs; i++) {
                free(l->fshared[i]);
            }
            free(l->fshared);
        }
        free(l);
        mir_module_free(out);
        return -1;
    }
    /* module variables: static shared first, then .const/.global data */
    out->var_offset = lalloc(l, NULL, m->nvars ? m->nvars : 1, sizeof(*out->var_offset));
    for (uint32_t i = 0; i < m->nvars; i++) {
        const ptx_var *v = &m->vars[i];
        uint64_t a = v->align ? v->align : 1, off;
        l->line = v->line;
        out->var_offset[i] = 0;
        if (v->space == PS_SHARED && !v->is_extern) {
            off = (out->shared_static + a - 1) & ~(a - 1);
            if (off + v->size > ZK_SIMT_MAX_SHARED) {
                lfail(l, "static shared memory exceeds the card's %u bytes", ZK_SIMT_MAX_SHARED);
            }
            out->var_offset[i] = off;
            out->shared_static = (uint32_t)(off + v->size);
        } else if (v->space == PS_CONST || v->space == PS_GLOBAL) {
            off = (out->data_bytes + a - 1) & ~(a - 1);
            if (off + v->size > (64u << 20)) {
                lfail(l, "module variables exceed 64 MiB");
            }
            out->var_offset[i] = off;
            out->data_bytes = (uint32_t)(off + v->size);
        }
    }
    out->data = lalloc(l, NULL, out->data_bytes ? out->data_bytes : 1, 1);
    memset(out->data, 0, out->data_bytes ? out->data_bytes : 1);
    for (uint32_t i = 0; i < m->nvars; i++) {
        if (m->vars[i].init && (m->vars[i].space == PS_CONST || m->vars[i].space == PS_GLOBAL)) {
            memcpy(out->data + out->var_offset[i], m->vars[i].init, m->vars[i].size);
        }
    }
    for (uint32_t i = 0; i < m->nfuncs; i++) {
        nk += m->funcs[i].is_entry && m->funcs[i].has_body;
    }
    out->funcs = lalloc(l, NULL, nk ? nk : 1, sizeof(*out->funcs));
    memset(out->funcs, 0, sizeof(*out->funcs) * (nk ? nk : 1));
    for (uint32_t i = 0; i < m->nfuncs; i++) {
        if (m->funcs[i].is_entry && m->funcs[i].has_body) {
            out->nfuncs++;
            lower_kernel(l, &m->funcs[i], &out->funcs[out->nfuncs - 1]);
        }
    }
    free(l);
    return rc;
}
