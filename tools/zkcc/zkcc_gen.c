/* SPDX-License-Identifier: MIT */
/*
 * zkcc_gen.c - type checking and code generation: AST -> zkas text.
 *
 * One walk over each kernel both checks types and emits code.
 * Registers: r0 is zero; r1..r31 are handed out lowest-first from a
 * bitmask.  A let-bound variable owns its register until its block ends;
 * expression temporaries are freed as soon as their value is consumed;
 * TSET and tensor-op scalar operands take runs of consecutive registers.
 * Kernel arguments live in the argument block and are re-read with ARG at
 * each use, so they cost no register.  Running out of registers is a
 * compile error ("expression too complex"), there is no spilling.
 * Tensor descriptors t0..t7 are allocated the same way: tensor variables
 * keep theirs to the end of the block, tensor(...) operands written inline
 * in a call get one for that call only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhikai_isa.h"
#include "zk_dtype.h"
#include "zk_isa.h"
#include "zkcc_int.h"

#define MAX_VARS 512
#define MAX_LOOPS 64

typedef struct Var {
    const char *name;
    Type ty;
    int reg;                    /* scalar register, or descriptor (TY_TENSOR) */
    int argi;                   /* >= 0: kernel argument number */
    bool is_const;              /* top-level const: value in ival / fval */
    uint64_t ival;
    double fval;
    bool readonly;              /* for-loop variable */
    int depth;
} Var;

typedef struct G {
    Ctx *c;
    Var vars[MAX_VARS];
    int nvars;
    int depth;
    uint32_t used;              /* scalar registers in use (bit 0: r0) */
    uint32_t tused;             /* tensor descriptors in use */
    const char *kname;
    int nlabel;
    int brk[MAX_LOOPS], cont[MAX_LOOPS];
    int nloops;
    int last_line;
} G;

static const Type T_VOID = { TY_VOID, 0 }, T_INT = { TY_INT, 0 }, T_U64 = { TY_U64, 0 },
                  T_I64 = { TY_I64, 0 }, T_F32 = { TY_F32, 0 }, T_TENSOR = { TY_TENSOR, 0 };

static const char *const op_names[] = {
    [OP_ADD] = "+", [OP_SUB] = "-", [OP_MUL] = "*", [OP_DIV] = "/", [OP_REM] = "%",
    [OP_SHL] = "<<", [OP_SHR] = ">>", [OP_AND] = "&", [OP_OR] = "|", [OP_XOR] = "^",
    [OP_LT] = "<", [OP_LE] = "<=", [OP_GT] = ">", [OP_GE] = ">=", [OP_EQ] = "==",
    [OP_NE] = "!=", [OP_LAND] = "&&", [OP_LOR] = "||", [OP_NEG] = "-", [OP_NOT] = "!",
    [OP_BNOT] = "~",
};

const char *zc_type_name(Type t, char *buf, size_t len)
{
    switch (t.k) {
    case TY_VOID: return "void";
    case TY_INT: return "integer constant";
    case TY_U64: return "u64";
    case TY_I64: return "i64";
    case TY_F32: return "f32";
    case TY_TENSOR: return "tensor";
    default:
        snprintf(buf, len, "ptr<%s>", zk_dtype_names[t.dt]);
        return buf;
    }
}

/* Two type names for one message. */
#define TN(t) zc_type_name((t), (char[24]){ 0 }, 24)

#define ERR(at, ...) zc_error(g->c, (at)->line, (at)->col, __VA_ARGS__)

/* ---------------------------------------------------------------- */
/* Output                                                            */
/* ---------------------------------------------------------------- */
static void outv(G *g, const char *fmt, va_list ap)
{
    Ctx *c = g->c;
    for (;;) {
        va_list aq;
        va_copy(aq, ap);
        size_t room = c->out_cap - c->out_len;
        int n = vsnprintf(c->out ? c->out + c->out_len : NULL, c->out ? room : 0, fmt, aq);
        va_end(aq);
        if (n < 0) {
            zc_error(c, 0, 0, "output error");
        }
        if (c->out && (size_t)n < room) {
            c->out_len += (size_t)n;
            return;
        }
        size_t cap = c->out_cap * 2 + (size_t)n + 4096;
        char *o = realloc(c->out, cap);
        if (!o) {
            zc_error(c, 0, 0, "out of memory");
        }
        c->out = o;
        c->out_cap = cap;
    }
}

static void out(G *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(G *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    outv(g, fmt, ap);
    va_end(ap);
}

/* One instruction line. */
static void ins(G *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ins(G *g, const char *fmt, ...)
{
    va_list ap;
    out(g, "    ");
    va_start(ap, fmt);
    outv(g, fmt, ap);
    va_end(ap);
    out(g, "\n");
}

static int new_label(G *g)
{
    return ++g->nlabel;
}

static void place(G *g, int l)
{
    out(g, "%s.L%d:\n", g->kname, l);
}

/* The source line as a comment, once per line, to make -S output readable. */
static void src_comment(G *g, int line)
{
    if (line <= g->last_line) {
        return;
    }
    g->last_line = line;
    const char *s = g->c->src;
    for (int l = 1; l < line && *s; s++) {
        if (*s == '\n') {
            l++;
        }
    }
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    int n = (int)strcspn(s, "\n");
    out(g, "    # %d: %.*s\n", line, n > 100 ? 100 : n, s);
}

/* ---------------------------------------------------------------- */
/* Registers                                                         */
/* ---------------------------------------------------------------- */
static int ralloc_block(G *g, int n, const Expr *at)
{
    for (int r = 1; r + n <= ZK_NUM_REGS; r++) {
        uint32_t mask = (uint32_t)(((1ull << n) - 1) << r);
        if (!(g->used & mask)) {
            g->used |= mask;
            return r;
        }
    }
    zc_error(g->c, at->line, at->col, "expression too complex: out of scalar registers");
}

static int ralloc(G *g, const Expr *at)
{
    return ralloc_block(g, 1, at);
}

static void rfree(G *g, int r)
{
    if (r > 0) {
        g->used &= ~(1u << r);
    }
}

static void rfree_if(G *g, int r, bool tmp)
{
    if (tmp) {
        rfree(g, r);
    }
}

static int talloc(G *g, const Expr *at)
{
    for (int t = 0; t < ZK_NUM_TDESC; t++) {
        if (!(g->tused & (1u << t))) {
            g->tused |= 1u << t;
            return t;
        }
    }
    zc_error(g->c, at->line, at->col,
             "too many tensors live at once (the card has %d descriptors)", ZK_NUM_TDESC);
}

/* ---------------------------------------------------------------- */
/* Names and scopes                                                  */
/* ---------------------------------------------------------------- */
static Var *lookup(G *g, const char *name)
{
    for (int i = g->nvars - 1; i >= 0; i--) {
        if (!strcmp(g->vars[i].name, name)) {
            return &g->vars[i];
        }
    }
    return NULL;
}

static Var *push_var(G *g, const char *name, Type ty, int line, int col)
{
    for (int i = g->nvars - 1; i >= 0 && g->vars[i].depth == g->depth; i--) {
        if (!strcmp(g->vars[i].name, name)) {
            zc_error(g->c, line, col, "'%s' is already defined in this scope", name);
        }
    }
    if (g->nvars == MAX_VARS) {
        zc_error(g->c, line, col, "too many variables");
    }
    Var *v = &g->vars[g->nvars++];
    memset(v, 0, sizeof(*v));
    v->name = name;
    v->ty = ty;
    v->argi = -1;
    v->reg = -1;
    v->depth = g->depth;
    return v;
}

static void push_scope(G *g)
{
    g->depth++;
}

static void pop_scope(G *g)
{
    while (g->nvars > 0 && g->vars[g->nvars - 1].depth == g->depth) {
        Var *v = &g->vars[--g->nvars];
        if (v->argi < 0 && !v->is_const) {
            if (v->ty.k == TY_TENSOR) {
                g->tused &= ~(1u << v->reg);
            } else {
                rfree(g, v->reg);
            }
        }
    }
    g->depth--;
}

static Var *var_of(G *g, const Expr *e)
{
    Var *v = lookup(g, e->name);
    if (!v) {
        zc_error(g->c, e->line, e->col, "undefined name '%s'", e->name);
    }
    return v;
}

/* ---------------------------------------------------------------- */
/* Types                                                             */
/* ---------------------------------------------------------------- */
static bool isint(Type t)
{
    return t.k == TY_INT || t.k == TY_U64 || t.k == TY_I64;
}

static int dt_size(int dt)
{
    return dt == ZK_DT_F32 || dt == ZK_DT_I32 ? 4 : dt == ZK_DT_I8 ? 1 : 2;
}

static int log2i(uint64_t v)
{
    int k = 0;
    while ((1ull << k) < v) {
        k++;
    }
    return (1ull << k) == v ? k : -1;
}

static bool fits32(int64_t v)
{
    return v >= INT32_MIN && v <= INT32_MAX;
}

/* Value type of an element of ptr<dt> read with p[i]. */
static Type elem_type(int dt)
{
    return dt == ZK_DT_F32 ? T_F32 : (dt == ZK_DT_I8 || dt == ZK_DT_I32) ? T_I64 : T_U64;
}

static Type memty_type(int mt)
{
    return mt == MT_F32 ? T_F32 : mt >= MT_I8 ? T_I64 : T_U64;
}

/* Can a value of type `from` be stored in a variable of type `to`? */
static bool assignable(Type to, Type from)
{
    if (from.k == TY_INT) {
        return to.k == TY_U64 || to.k == TY_I64 || to.k == TY_F32;
    }
    return to.k == from.k && (to.k != TY_PTR || to.dt == from.dt);
}

typedef struct TensorOp {
    const char *name;
    uint8_t op;
    int fn;                     /* sub-op, or -1 (flags) */
    int nt_min, nt_max;         /* tensor operands */
    int ns;                     /* scalar operands */
    const char *snames;         /* for messages */
    uint8_t sf32;               /* bit i: scalar operand i is f32 */
    const char *flags[3];       /* flags the user may write */
} TensorOp;

static const TensorOp tensor_ops[] = {
    { "matmul", ZK_OP_MATMUL, -1, 3, 5, 0, "", 0, { "acc", "bt", NULL } },
    { "tadd", ZK_OP_EBIN, ZK_EB_ADD, 3, 3, 0, "", 0, { NULL } },
    { "tsub", ZK_OP_EBIN, ZK_EB_SUB, 3, 3, 0, "", 0, { NULL } },
    { "tmul", ZK_OP_EBIN, ZK_EB_MUL, 3, 3, 0, "", 0, { NULL } },
    { "tswiglu", ZK_OP_EBIN, ZK_EB_SWIGLU, 3, 3, 0, "", 0, { NULL } },
    { "tcopy", ZK_OP_EUN, ZK_EU_COPY, 2, 2, 0, "", 0, { NULL } },
    { "tsilu", ZK_OP_EUN, ZK_EU_SILU, 2, 2, 0, "", 0, { NULL } },
    { "tgelu", ZK_OP_EUN, ZK_EU_GELU, 2, 2, 0, "", 0, { NULL } },
    { "texp", ZK_OP_EUN, ZK_EU_EXP, 2, 2, 0, "", 0, { NULL } },
    { "trelu", ZK_OP_EUN, ZK_EU_RELU, 2, 2, 0, "", 0, { NULL } },
    { "tscale", ZK_OP_ESCALE, 0, 2, 2, 2, "alpha, beta", 3, { NULL } },
    { "tsum", ZK_OP_REDUCE, ZK_RED_SUM, 2, 2, 0, "", 0, { NULL } },
    { "tmax", ZK_OP_REDUCE, ZK_RED_MAX, 2, 2, 0, "", 0, { NULL } },
    { "targmax", ZK_OP_REDUCE, ZK_RED_ARGMAX, 2, 2, 0, "", 0, { NULL } },
    { "softmax", ZK_OP_SOFTMAX, 0, 2, 2, 0, "", 0, { NULL } },
    { "rmsnorm", ZK_OP_RMSNORM, 0, 3, 3, 1, "eps", 1, { NULL } },
    { "layernorm", ZK_OP_LAYERNORM, -1, 3, 4, 1, "eps", 1, { NULL } },
    { "rope", ZK_OP_ROPE, 0, 2, 2, 2, "pos, head_dim", 0, { NULL } },
    { "embed", ZK_OP_EMBED, 0, 3, 3, 0, "", 0, { NULL } },
    { "quant", ZK_OP_QUANT, 0, 3, 3, 0, "", 0, { NULL } },
    { "dequant", ZK_OP_DEQUANT, 0, 3, 3, 0, "", 0, { NULL } },
    { "kvwrite", ZK_OP_KVWRITE, 0, 5, 5, 2, "pos, block_size", 0, { NULL } },
    { "pattn", ZK_OP_PATTN, 0, 5, 5, 4, "ctx_len, n_kv_heads, block_size, head_dim", 0,
      { NULL } },
};

static const TensorOp *tensor_op(const char *name)
{
    for (size_t i = 0; i < sizeof(tensor_ops) / sizeof(tensor_ops[0]); i++) {
        if (!strcmp(tensor_ops[i].name, name)) {
            return &tensor_ops[i];
        }
    }
    return NULL;
}

static Type tyof(G *g, Expr *e);

/* Type of a value operand: not void, not a tensor. */
static Type vtyof(G *g, Expr *e)
{
    Type t = tyof(g, e);
    if (t.k == TY_VOID) {
        ERR(e, "'%s' does not produce a value", e->name);
    }
    if (t.k == TY_TENSOR) {
        ERR(e, "a tensor can only be an operand of a tensor operation");
    }
    return t;
}

static void nargs_check(G *g, Expr *e, int lo, int hi)
{
    if (e->nargs < lo || e->nargs > hi) {
        if (lo == hi) {
            ERR(e, "'%s' takes %d argument%s, got %d", e->name, lo, lo == 1 ? "" : "s",
                e->nargs);
        }
        ERR(e, "'%s' takes %d to %d arguments, got %d", e->name, lo, hi, e->nargs);
    }
}

/* Numeric type two operands share (untyped constants adapt). */
static Type unify(G *g, Expr *at, Op op, Type a, Type b)
{
    if (a.k == TY_INT) {
        a = b;
    } else if (b.k == TY_INT) {
        b = a;
    }
    if (a.k != b.k || (a.k == TY_PTR && a.dt != b.dt)) {
        ERR(at, "mismatched operand types for '%s': %s and %s", op_names[op], TN(a), TN(b));
    }
    return a;
}

static Type tyof_call(G *g, Expr *e)
{
    const char *f = e->name;
    if (!strcmp(f, "min") || !strcmp(f, "max")) {
        nargs_check(g, e, 2, 2);
        Type a = vtyof(g, e->args[0]), b = vtyof(g, e->args[1]);
        Type t = a.k == TY_INT ? b : a;
        if (a.k != TY_INT && b.k != TY_INT && a.k != b.k) {
            ERR(e, "mismatched argument types for '%s': %s and %s", f, TN(a), TN(b));
        }
        if (t.k == TY_PTR) {
            ERR(e, "'%s' is not defined for pointers", f);
        }
        return t;
    }
    if (!strcmp(f, "sqrt")) {
        nargs_check(g, e, 1, 1);
        Type a = vtyof(g, e->args[0]);
        if (a.k != TY_F32 && a.k != TY_INT) {
            ERR(e->args[0], "'sqrt' needs an f32 argument, not %s", TN(a));
        }
        return T_F32;
    }
    if (!strcmp(f, "f32") || !strcmp(f, "u64") || !strcmp(f, "i64")) {
        nargs_check(g, e, 1, 1);
        Type a = vtyof(g, e->args[0]);
        if (f[0] == 'f' && a.k == TY_PTR) {
            ERR(e->args[0], "cannot convert %s to f32", TN(a));
        }
        return f[0] == 'f' ? T_F32 : f[0] == 'u' ? T_U64 : T_I64;
    }
    if (!strcmp(f, "ptr")) {
        nargs_check(g, e, 1, 1);
        Type a = vtyof(g, e->args[0]);
        if (!isint(a) && a.k != TY_PTR) {
            ERR(e->args[0], "cannot convert %s to a pointer", TN(a));
        }
        return (Type){ TY_PTR, (uint8_t)e->targ };
    }
    if (!strcmp(f, "load") && e->has_targ) {
        nargs_check(g, e, 1, 1);
        Type a = vtyof(g, e->args[0]);
        if (a.k != TY_PTR && !isint(a)) {
            ERR(e->args[0], "'load' needs an address (a pointer or u64), not %s", TN(a));
        }
        return memty_type(e->targ);
    }
    if (!strcmp(f, "store") && e->has_targ) {
        return T_VOID;
    }
    if (!strcmp(f, "tensor")) {
        if (e->nargs < 3 || e->nargs > 4) {
            ERR(e, "'tensor' takes 3 or 4 arguments (ptr, rows, cols[, stride]), got %d",
                e->nargs);
        }
        Type p = vtyof(g, e->args[0]);
        if (p.k != TY_PTR) {
            ERR(e->args[0], "first argument of 'tensor' must be a pointer, not %s", TN(p));
        }
        for (int i = 1; i < e->nargs; i++) {
            Type t = vtyof(g, e->args[i]);
            if (!isint(t)) {
                ERR(e->args[i], "argument %d of 'tensor' must be an integer, not %s", i + 1,
                    TN(t));
            }
        }
        return T_TENSOR;
    }
    if (tensor_op(f)) {
        return T_VOID;
    }
    if (!strcmp(f, "load") || !strcmp(f, "store")) {
        ERR(e, "'%s' needs a type: %s<T>(...)", f, f);
    }
    ERR(e, "unknown function '%s'", f);
}

static Type tyof(G *g, Expr *e)
{
    switch (e->k) {
    case E_INT:
        return T_INT;
    case E_FLOAT:
        return T_F32;
    case E_NAME: {
        Var *v = var_of(g, e);
        return v->is_const && v->ty.k != TY_F32 ? T_INT : v->ty;
    }
    case E_FIELD:
        if (!strcmp(e->field, "x") || !strcmp(e->field, "y") || !strcmp(e->field, "z") ||
            (!strcmp(e->field, "linear") && !strcmp(e->name, "wg"))) {
            return T_U64;
        }
        ERR(e, "unknown builtin '%s.%s'", e->name, e->field);
    case E_UN: {
        Type a = vtyof(g, e->a);
        if (e->op == OP_NEG ? (a.k == TY_PTR) : !isint(a)) {
            ERR(e, "operator '%s' is not defined for %s", op_names[e->op], TN(a));
        }
        return e->op == OP_NOT && a.k != TY_INT ? T_U64 : a;
    }
    case E_BIN: {
        Type a = vtyof(g, e->a), b = vtyof(g, e->b);
        Op op = e->op;
        if (op == OP_LAND || op == OP_LOR) {
            Type bad = !isint(a) ? a : b;
            if (!isint(a) || !isint(b)) {
                ERR(e, "operator '%s' needs integer operands, not %s", op_names[op], TN(bad));
            }
            return a.k == TY_INT && b.k == TY_INT ? T_INT : T_U64;
        }
        if (op >= OP_LT && op <= OP_NE) {
            unify(g, e, op, a, b);
            return a.k == TY_INT && b.k == TY_INT ? T_INT : T_U64;
        }
        if (a.k == TY_PTR || b.k == TY_PTR) {
            if ((op == OP_ADD && a.k == TY_PTR && isint(b)) ||
                (op == OP_ADD && b.k == TY_PTR && isint(a)) ||
                (op == OP_SUB && a.k == TY_PTR && isint(b))) {
                return a.k == TY_PTR ? a : b;
            }
            ERR(e, "operator '%s' is not defined for %s and %s", op_names[op], TN(a), TN(b));
        }
        Type t = unify(g, e, op, a, b);
        if (t.k == TY_F32 && op != OP_ADD && op != OP_SUB && op != OP_MUL && op != OP_DIV) {
            ERR(e, "operator '%s' is not defined for f32", op_names[op]);
        }
        if (t.k == TY_I64 && (op == OP_DIV || op == OP_REM)) {
            ERR(e, "operator '%s' is not defined for i64 (the card has no signed division; "
                   "convert with u64(...))", op_names[op]);
        }
        return t;
    }
    case E_INDEX: {
        Type p = vtyof(g, e->a), i = vtyof(g, e->b);
        if (p.k != TY_PTR) {
            ERR(e, "only pointers can be indexed, not %s", TN(p));
        }
        if (!isint(i)) {
            ERR(e->b, "index must be an integer, not %s", TN(i));
        }
        return elem_type(p.dt);
    }
    case E_CALL:
        return tyof_call(g, e);
    }
    return T_VOID;
}

/* ---------------------------------------------------------------- */
/* Constant folding (untyped integer constants, u64 arithmetic)      */
/* ---------------------------------------------------------------- */
static bool const_int(G *g, Expr *e, uint64_t *v)
{
    uint64_t a, b;
    switch (e->k) {
    case E_INT:
        *v = e->ival;
        return true;
    case E_NAME: {
        Var *var = lookup(g, e->name);
        if (var && var->is_const && var->ty.k != TY_F32) {
            *v = var->ival;
            return true;
        }
        return false;
    }
    case E_UN:
        if (!const_int(g, e->a, &a)) {
            return false;
        }
        *v = e->op == OP_NEG ? 0 - a : e->op == OP_NOT ? !a : ~a;
        return true;
    case E_BIN:
        if (!const_int(g, e->a, &a) || !const_int(g, e->b, &b)) {
            return false;
        }
        switch (e->op) {
        case OP_ADD: *v = a + b; break;
        case OP_SUB: *v = a - b; break;
        case OP_MUL: *v = a * b; break;
        case OP_DIV: *v = b ? a / b : ~0ull; break;     /* as the card does */
        case OP_REM: *v = b ? a % b : a; break;
        case OP_SHL: *v = a << (b & 63); break;
        case OP_SHR: *v = a >> (b & 63); break;
        case OP_AND: *v = a & b; break;
        case OP_OR: *v = a | b; break;
        case OP_XOR: *v = a ^ b; break;
        case OP_LT: *v = a < b; break;
        case OP_LE: *v = a <= b; break;
        case OP_GT: *v = a > b; break;
        case OP_GE: *v = a >= b; break;
        case OP_EQ: *v = a == b; break;
        case OP_NE: *v = a != b; break;
        case OP_LAND: *v = a && b; break;
        case OP_LOR: *v = a || b; break;
        default: return false;
        }
        return true;
    default:
        return false;
    }
}

/* ---------------------------------------------------------------- */
/* Expressions                                                       */
/* ---------------------------------------------------------------- */
static void gen_into(G *g, Expr *e, Type ctx, int dst);
static void gen_cond(G *g, Expr *e, bool jump_if, int label);

static void li(G *g, int dst, uint64_t v)
{
    ins(g, "li r%d, %lld", dst, (long long)v);
}

static void li_f32(G *g, int dst, float f)
{
    ins(g, "li r%d, %d    # %g", dst, (int32_t)zk_f32_bits(f), (double)f);
}

/*
 * A register holding e's value.  Variables and zero are returned in place
 * (*tmp = false); anything else is computed into a new temporary.  ctx is
 * the type an untyped constant takes (f32 turns 2 into 2.0).
 */
static int gen(G *g, Expr *e, Type ctx, bool *tmp)
{
    uint64_t v;
    *tmp = false;
    if (const_int(g, e, &v) && v == 0) {
        return 0;
    }
    if (e->k == E_NAME) {
        Var *var = var_of(g, e);
        if (!var->is_const && var->argi < 0) {
            if (var->ty.k == TY_TENSOR) {
                ERR(e, "a tensor can only be an operand of a tensor operation");
            }
            return var->reg;
        }
    }
    int r = ralloc(g, e);
    gen_into(g, e, ctx, r);
    *tmp = true;
    return r;
}

/* Tree depth: evaluating the deeper operand first needs fewer registers. */
static int depth(const Expr *e)
{
    int d = 0;
    switch (e->k) {
    case E_BIN:
    case E_INDEX: {
        int x = depth(e->a), y = depth(e->b);
        d = x > y ? x : y;
        break;
    }
    case E_UN:
        d = depth(e->a);
        break;
    case E_CALL:
        for (int i = 0; i < e->nargs; i++) {
            int x = depth(e->args[i]);
            d = x > d ? x : d;
        }
        break;
    default:
        break;
    }
    return d + 1;
}

static bool is_var_reg(G *g, int r);

/* gen(), but into dst if that is a free temporary (see gen2). */
static int gen_to(G *g, Expr *e, Type t, int dst, bool *tmp)
{
    uint64_t c;
    Var *v = e->k == E_NAME ? var_of(g, e) : NULL;
    bool in_place = v && !v->is_const && v->argi < 0;     /* gen() needs no temp */
    if (dst > 0 && !is_var_reg(g, dst) && !const_int(g, e, &c) && !in_place) {
        gen_into(g, e, t, dst);
        *tmp = false;
        return dst;
    }
    return gen(g, e, t, tmp);
}

static bool is_var_reg(G *g, int r)
{
    for (int i = 0; i < g->nvars; i++) {
        if (g->vars[i].reg == r && g->vars[i].argi < 0 && !g->vars[i].is_const &&
            g->vars[i].ty.k != TY_TENSOR) {
            return true;
        }
    }
    return false;
}

/*
 * Both operands of a binary operation into registers.  If dst (>= 0) is a
 * temporary (no variable lives there) the first operand is computed right
 * into it: a left-deep chain like a + b + c + ... then needs two registers.
 */
static void gen2(G *g, Expr *l, Expr *r, Type t, int dst, int *a, bool *ta, int *b,
                 bool *tb)
{
    bool right_first = depth(r) > depth(l);
    Expr *first = right_first ? r : l, *second = right_first ? l : r;
    int *f = right_first ? b : a, *s = right_first ? a : b;
    bool *tf = right_first ? tb : ta, *ts = right_first ? ta : tb;
    *f = gen_to(g, first, t, dst, tf);
    *s = gen(g, second, t, ts);
}

/* Address of a load/store: base register + constant byte offset. */
static int gen_addr(G *g, Expr *e, int32_t *off, bool *tmp)
{
    Type t = tyof(g, e);
    uint64_t c;
    *off = 0;
    if (e->k == E_BIN && (e->op == OP_ADD || e->op == OP_SUB) &&
        (t.k == TY_PTR || t.k == TY_U64)) {
        Expr *base = e->a, *ce = e->b;
        if (e->op == OP_ADD && const_int(g, e->a, &c)) {
            base = e->b;
            ce = e->a;
        }
        if (const_int(g, ce, &c)) {
            int64_t o = (int64_t)c * (t.k == TY_PTR ? dt_size(t.dt) : 1);
            if (e->op == OP_SUB) {
                o = -o;
            }
            if (fits32(o)) {
                *off = (int32_t)o;
                return gen(g, base, T_U64, tmp);
            }
        }
    }
    return gen(g, e, T_U64, tmp);
}

static void mem_operand(char *buf, size_t len, int reg, int32_t off)
{
    if (off) {
        snprintf(buf, len, "[r%d %c %lld]", reg, off < 0 ? '-' : '+',
                 off < 0 ? -(long long)off : (long long)off);
    } else {
        snprintf(buf, len, "[r%d]", reg);
    }
}

/* Address of p[i] as base + offset. */
static int gen_index_addr(G *g, Expr *e, int32_t *off, bool *tmp)
{
    Type p = tyof(g, e->a);
    int sz = dt_size(p.dt);
    uint64_t c;
    if (const_int(g, e->b, &c) && fits32((int64_t)c * sz)) {
        *off = (int32_t)((int64_t)c * sz);
        return gen(g, e->a, T_U64, tmp);
    }
    bool tb, ti;
    int base = gen(g, e->a, T_U64, &tb);
    int idx = gen(g, e->b, T_U64, &ti);
    int r = ralloc(g, e);
    if (sz > 1) {
        ins(g, "shli r%d, r%d, %d", r, idx, log2i((uint64_t)sz));
        ins(g, "add r%d, r%d, r%d", r, base, r);
    } else {
        ins(g, "add r%d, r%d, r%d", r, base, idx);
    }
    rfree_if(g, base, tb);
    rfree_if(g, idx, ti);
    *off = 0;
    *tmp = true;
    return r;
}

static const char *elem_load(int dt)
{
    return dt == ZK_DT_F32 ? "ld32" : dt == ZK_DT_I32 ? "ld32s" : dt == ZK_DT_I8 ? "ld8s"
                                                                                : "ld16";
}

static const char *const memty_load[MT_COUNT] = {
    "ld8", "ld16", "ld32", "ld64", "ld8s", "ld16s", "ld32s", "ld64", "ld32",
};
static const char *const memty_store[MT_COUNT] = {
    "st8", "st16", "st32", "st64", "st8", "st16", "st32", "st64", "st32",
};

static void gen_cmp_value(G *g, Expr *e, int dst)
{
    Type ta = tyof(g, e->a), tb = tyof(g, e->b);
    Type t = ta.k == TY_INT ? tb : ta;
    bool t1, t2;
    int a, b;
    gen2(g, e->a, e->b, t, dst, &a, &t1, &b, &t2);
    Op op = e->op;
    if (t.k == TY_F32) {
        static const char *const fop[] = { [OP_LT] = "flt", [OP_LE] = "fle", [OP_GT] = "flt",
                                           [OP_GE] = "fle", [OP_EQ] = "feq", [OP_NE] = "feq" };
        bool swap = op == OP_GT || op == OP_GE;
        ins(g, "%s r%d, r%d, r%d", fop[op], dst, swap ? b : a, swap ? a : b);
        if (op == OP_NE) {
            ins(g, "xori r%d, r%d, 1", dst, dst);
        }
    } else if (op == OP_EQ || op == OP_NE) {
        ins(g, "xor r%d, r%d, r%d", dst, a, b);
        ins(g, "sltu r%d, r0, r%d", dst, dst);
        if (op == OP_EQ) {
            ins(g, "xori r%d, r%d, 1", dst, dst);
        }
    } else {
        const char *slt = t.k == TY_I64 ? "slt" : "sltu";
        bool swap = op == OP_GT || op == OP_LE;
        ins(g, "%s r%d, r%d, r%d", slt, dst, swap ? b : a, swap ? a : b);
        if (op == OP_LE || op == OP_GE) {
            ins(g, "xori r%d, r%d, 1", dst, dst);
        }
    }
    rfree_if(g, a, t1);
    rfree_if(g, b, t2);
}

static void gen_arith(G *g, Expr *e, Type t, int dst)
{
    bool t1, t2;
    uint64_t c;
    Op op = e->op;
    if (t.k == TY_PTR) {
        Expr *pe = tyof(g, e->a).k == TY_PTR ? e->a : e->b;
        Expr *ie = pe == e->a ? e->b : e->a;
        int sz = dt_size(t.dt);
        int p = gen(g, pe, T_U64, &t1);
        if (const_int(g, ie, &c) && fits32((int64_t)c * sz)) {
            int64_t o = (int64_t)c * sz;
            ins(g, "addi r%d, r%d, %lld", dst, p, (long long)(op == OP_SUB ? -o : o));
        } else {
            int i = gen(g, ie, T_U64, &t2);
            int s = i;
            if (sz > 1) {
                s = ralloc(g, e);
                ins(g, "shli r%d, r%d, %d", s, i, log2i((uint64_t)sz));
            }
            ins(g, "%s r%d, r%d, r%d", op == OP_SUB ? "sub" : "add", dst, p, s);
            rfree_if(g, i, t2);
            if (s != i) {
                rfree(g, s);
            }
        }
        rfree_if(g, p, t1);
        return;
    }
    if (t.k == TY_F32) {
        static const char *const fop[] = { [OP_ADD] = "fadd", [OP_SUB] = "fsub",
                                           [OP_MUL] = "fmul", [OP_DIV] = "fdiv" };
        int a, b;
    gen2(g, e->a, e->b, t, dst, &a, &t1, &b, &t2);
        ins(g, "%s r%d, r%d, r%d", fop[op], dst, a, b);
        rfree_if(g, a, t1);
        rfree_if(g, b, t2);
        return;
    }
    static const char *const rrr[] = {
        [OP_ADD] = "add", [OP_SUB] = "sub", [OP_MUL] = "mul", [OP_DIV] = "divu",
        [OP_REM] = "remu", [OP_SHL] = "shl", [OP_SHR] = "shr", [OP_AND] = "and",
        [OP_OR] = "or", [OP_XOR] = "xor",
    };
    static const char *const rri[] = {
        [OP_ADD] = "addi", [OP_MUL] = "muli", [OP_SHL] = "shli", [OP_SHR] = "shri",
        [OP_AND] = "andi", [OP_OR] = "ori", [OP_XOR] = "xori",
    };
    Expr *l = e->a, *r = e->b;
    bool comm = op == OP_ADD || op == OP_MUL || op == OP_AND || op == OP_OR || op == OP_XOR;
    if (comm && const_int(g, l, &c) && !const_int(g, r, &c)) {
        l = e->b;
        r = e->a;
    }
    const char *shr = t.k == TY_I64 ? "sra" : "shr";
    if (const_int(g, r, &c)) {
        int k = log2i(c);
        const char *mn = NULL;
        int64_t imm = (int64_t)c;
        if (op == OP_MUL && k >= 0) {
            mn = "shli";
            imm = k;
        } else if (op == OP_DIV && k >= 0) {
            mn = "shri";
            imm = k;
        } else if (op == OP_REM && k >= 0 && k < 31) {
            mn = "andi";
            imm = (int64_t)c - 1;
        } else if (op == OP_SUB && fits32(-(int64_t)c)) {
            mn = "addi";
            imm = -(int64_t)c;
        } else if ((op == OP_SHL || op == OP_SHR)) {
            mn = op == OP_SHL ? "shli" : t.k == TY_I64 ? "srai" : "shri";
            imm = (int64_t)(c & 63);
        } else if (rri[op] && fits32((int64_t)c)) {
            mn = rri[op];
        }
        if (mn) {
            int a = gen_to(g, l, t, dst, &t1);
            ins(g, "%s r%d, r%d, %lld", mn, dst, a, (long long)imm);
            rfree_if(g, a, t1);
            return;
        }
    }
    int a, b;
    gen2(g, l, r, t, dst, &a, &t1, &b, &t2);
    ins(g, "%s r%d, r%d, r%d", op == OP_SHR ? shr : rrr[op], dst, a, b);
    rfree_if(g, a, t1);
    rfree_if(g, b, t2);
}

static void gen_call_into(G *g, Expr *e, int dst)
{
    const char *f = e->name;
    bool t1, t2;
    Type t = tyof(g, e);
    if (!strcmp(f, "min") || !strcmp(f, "max")) {
        int a, b;
    gen2(g, e->args[0], e->args[1], t, dst, &a, &t1, &b, &t2);
        ins(g, "%s%s r%d, r%d, r%d", t.k == TY_F32 ? "f" : "", f, dst, a, b);
        rfree_if(g, a, t1);
        rfree_if(g, b, t2);
    } else if (!strcmp(f, "sqrt")) {
        int a = gen(g, e->args[0], T_F32, &t1);
        ins(g, "fsqrt r%d, r%d", dst, a);
        rfree_if(g, a, t1);
    } else if (!strcmp(f, "f32")) {
        Type at = tyof(g, e->args[0]);
        if (at.k == TY_F32 || at.k == TY_INT) {
            gen_into(g, e->args[0], T_F32, dst);
        } else {
            int a = gen(g, e->args[0], at, &t1);
            ins(g, "fcvtif r%d, r%d", dst, a);
            rfree_if(g, a, t1);
        }
    } else if (!strcmp(f, "u64") || !strcmp(f, "i64")) {
        Type at = tyof(g, e->args[0]);
        if (at.k == TY_F32) {
            int a = gen(g, e->args[0], at, &t1);
            ins(g, "fcvtfi r%d, r%d", dst, a);
            rfree_if(g, a, t1);
        } else {
            gen_into(g, e->args[0], t, dst);
        }
    } else if (!strcmp(f, "ptr")) {
        gen_into(g, e->args[0], T_U64, dst);
    } else if (!strcmp(f, "load")) {
        int32_t off;
        int a = gen_addr(g, e->args[0], &off, &t1);
        char m[48];
        mem_operand(m, sizeof(m), a, off);
        ins(g, "%s r%d, %s", memty_load[e->targ], dst, m);
        rfree_if(g, a, t1);
    } else {
        ERR(e, "'%s' does not produce a value", f);      /* not reached: vtyof */
    }
}

static void gen_into(G *g, Expr *e, Type ctx, int dst)
{
    uint64_t v;
    Type t = vtyof(g, e);
    if (t.k == TY_INT && const_int(g, e, &v)) {
        if (ctx.k == TY_F32) {
            li_f32(g, dst, (float)(int64_t)v);
        } else {
            li(g, dst, v);
        }
        return;
    }
    switch (e->k) {
    case E_INT:
        break;      /* folded above */
    case E_FLOAT:
        li_f32(g, dst, (float)e->fval);
        break;
    case E_NAME: {
        Var *var = var_of(g, e);
        if (var->is_const) {
            li_f32(g, dst, (float)var->fval);
        } else if (var->argi >= 0) {
            ins(g, "arg r%d, %d    # %s", dst, var->argi, var->name);
        } else if (var->reg != dst) {
            ins(g, "mov r%d, r%d", dst, var->reg);
        }
        break;
    }
    case E_FIELD: {
        const char *sr = !strcmp(e->field, "linear") ? "wg_linear" : NULL;
        char buf[16];
        if (!sr) {
            snprintf(buf, sizeof(buf), "%s%s", e->name[0] == 'g' ? "nwg_" : "wg_", e->field);
            sr = buf;
        }
        ins(g, "sreg r%d, %s", dst, sr);
        break;
    }
    case E_UN: {
        bool tmp;
        int a = gen(g, e->a, t, &tmp);
        if (e->op == OP_NEG && t.k == TY_F32) {
            ins(g, "xori r%d, r%d, %d", dst, a, INT32_MIN);    /* flip the sign bit */
        } else if (e->op == OP_NEG) {
            ins(g, "sub r%d, r0, r%d", dst, a);
        } else if (e->op == OP_BNOT) {
            ins(g, "xori r%d, r%d, -1", dst, a);
        } else {
            ins(g, "sltu r%d, r0, r%d", dst, a);
            ins(g, "xori r%d, r%d, 1", dst, dst);
        }
        rfree_if(g, a, tmp);
        break;
    }
    case E_BIN:
        if (e->op == OP_LAND || e->op == OP_LOR) {
            int lf = new_label(g), le = new_label(g);
            gen_cond(g, e, false, lf);
            li(g, dst, 1);
            ins(g, "jmp %s.L%d", g->kname, le);
            place(g, lf);
            li(g, dst, 0);
            place(g, le);
        } else if (e->op >= OP_LT && e->op <= OP_NE) {
            gen_cmp_value(g, e, dst);
        } else {
            gen_arith(g, e, t, dst);
        }
        break;
    case E_INDEX: {
        int32_t off;
        bool tmp;
        int a = gen_index_addr(g, e, &off, &tmp);
        char m[48];
        mem_operand(m, sizeof(m), a, off);
        ins(g, "%s r%d, %s", elem_load(tyof(g, e->a).dt), dst, m);
        rfree_if(g, a, tmp);
        break;
    }
    case E_CALL:
        gen_call_into(g, e, dst);
        break;
    }
}

static Op negate(Op op)
{
    switch (op) {
    case OP_LT: return OP_GE;
    case OP_GE: return OP_LT;
    case OP_GT: return OP_LE;
    case OP_LE: return OP_GT;
    case OP_EQ: return OP_NE;
    default: return OP_EQ;
    }
}

/* Jump to label when e is (jump_if) true / false; fall through otherwise. */
static void gen_cond(G *g, Expr *e, bool jump_if, int label)
{
    uint64_t v;
    bool t1, t2;
    Type t = vtyof(g, e);
    if (t.k == TY_F32) {
        ERR(e, "condition must be an integer or a comparison, not f32");
    }
    if (t.k == TY_INT && const_int(g, e, &v)) {
        if ((v != 0) == jump_if) {
            ins(g, "jmp %s.L%d", g->kname, label);
        }
        return;
    }
    if (e->k == E_UN && e->op == OP_NOT) {
        gen_cond(g, e->a, !jump_if, label);
        return;
    }
    if (e->k == E_BIN && (e->op == OP_LAND || e->op == OP_LOR)) {
        bool and = e->op == OP_LAND;
        if (jump_if != and) {       /* && jumping on false, || jumping on true */
            gen_cond(g, e->a, jump_if, label);
            gen_cond(g, e->b, jump_if, label);
        } else {
            int skip = new_label(g);
            gen_cond(g, e->a, !jump_if, skip);
            gen_cond(g, e->b, jump_if, label);
            place(g, skip);
        }
        return;
    }
    if (e->k == E_BIN && e->op >= OP_LT && e->op <= OP_NE) {
        Type ta = tyof(g, e->a), tb = tyof(g, e->b);
        Type ct = ta.k == TY_INT ? tb : ta;
        if (ct.k != TY_F32) {
            Op op = jump_if ? e->op : negate(e->op);
            int a, b;
            gen2(g, e->a, e->b, ct, -1, &a, &t1, &b, &t2);
            bool swap = op == OP_GT || op == OP_LE;
            const char *mn = op == OP_EQ ? "beq" : op == OP_NE ? "bne"
                           : op == OP_LT || op == OP_GT ? "blt" : "bge";
            ins(g, "%s%s r%d, r%d, %s.L%d", mn,
                (op != OP_EQ && op != OP_NE && ct.k != TY_I64) ? "u" : "",
                swap ? b : a, swap ? a : b, g->kname, label);
            rfree_if(g, a, t1);
            rfree_if(g, b, t2);
            return;
        }
    }
    int r = gen(g, e, T_U64, &t1);
    ins(g, "%s r%d, r0, %s.L%d", jump_if ? "bne" : "beq", r, g->kname, label);
    rfree_if(g, r, t1);
}

/* ---------------------------------------------------------------- */
/* Tensors                                                           */
/* ---------------------------------------------------------------- */
static bool is_tensor_call(Expr *e)
{
    return e->k == E_CALL && !strcmp(e->name, "tensor");
}

/* TSET descriptor d from a tensor(ptr, rows, cols[, stride]) call. */
static void gen_tset(G *g, Expr *e, int d)
{
    tyof(g, e);     /* checks the arguments */
    int b = ralloc_block(g, 4, e);
    for (int i = 0; i < 4; i++) {
        if (i < e->nargs) {
            gen_into(g, e->args[i], T_U64, b + i);
        } else {
            li(g, b + i, 0);
        }
    }
    ins(g, "tset t%d, r%d, %s", d, b, zk_dtype_names[tyof(g, e->args[0]).dt]);
    for (int i = 0; i < 4; i++) {
        rfree(g, b + i);
    }
}

static bool is_flag(G *g, const TensorOp *op, Expr *e)
{
    if (e->k != E_NAME || lookup(g, e->name)) {
        return false;
    }
    for (int i = 0; i < 3 && op->flags[i]; i++) {
        if (!strcmp(op->flags[i], e->name)) {
            return true;
        }
    }
    return false;
}

static void gen_tensor_op(G *g, Expr *e, const TensorOp *op)
{
    int td[5], nt = 0, ns = 0;
    Expr *sargs[4];
    char flags[32] = "";
    uint32_t tmp_desc = 0;
    for (int i = 0; i < e->nargs; i++) {
        Expr *a = e->args[i];
        if (is_flag(g, op, a)) {
            if (flags[0]) {
                strcat(flags, "|");
            }
            strcat(flags, a->name);
            continue;
        }
        if (flags[0]) {
            ERR(a, "operands of '%s' must come before its flags", op->name);
        }
        Type t = tyof(g, a);
        if (t.k == TY_TENSOR) {
            if (ns) {
                ERR(a, "tensor operands of '%s' must come before its scalar operands",
                    op->name);
            }
            if (nt == op->nt_max) {
                ERR(a, "too many tensor operands for '%s' (%d expected)", op->name,
                    op->nt_max);
            }
            if (is_tensor_call(a)) {
                td[nt] = talloc(g, a);
                tmp_desc |= 1u << td[nt];
                gen_tset(g, a, td[nt]);
            } else {
                td[nt] = var_of(g, a)->reg;
            }
            nt++;
        } else {
            if (nt < op->nt_min) {
                ERR(a, "argument %d of '%s' must be a tensor, not %s", i + 1, op->name,
                    TN(vtyof(g, a)));
            }
            if (ns == op->ns) {
                if (!op->ns) {
                    ERR(a, "'%s' takes no scalar operands", op->name);
                }
                ERR(a, "too many scalar operands for '%s' (%s)", op->name, op->snames);
            }
            Type want = (op->sf32 >> ns) & 1 ? T_F32 : T_U64;
            Type have = vtyof(g, a);
            if (want.k == TY_F32 ? (have.k != TY_F32 && have.k != TY_INT) : !isint(have)) {
                ERR(a, "scalar operand %d of '%s' must be %s, not %s", ns + 1, op->name,
                    want.k == TY_F32 ? "f32" : "an integer", TN(have));
            }
            sargs[ns++] = a;
        }
    }
    if (nt < op->nt_min) {
        if (op->nt_min == op->nt_max) {
            ERR(e, "'%s' takes %d tensor operands, got %d", op->name, op->nt_min, nt);
        }
        ERR(e, "'%s' takes %d to %d tensor operands, got %d", op->name, op->nt_min,
            op->nt_max, nt);
    }
    if (ns < op->ns) {
        ERR(e, "'%s' needs %d scalar operand%s (%s), got %d", op->name, op->ns,
            op->ns == 1 ? "" : "s", op->snames, ns);
    }
    if (op->op == ZK_OP_MATMUL && nt == 4) {
        ERR(e, "'matmul' takes 3 tensors, or 5 with dequantisation scales, got 4");
    }
    int rs = 0;
    if (ns) {
        rs = ralloc_block(g, ns, e);
        for (int i = 0; i < ns; i++) {
            gen_into(g, sargs[i], (op->sf32 >> i) & 1 ? T_F32 : T_U64, rs + i);
        }
    }
    if (op->op == ZK_OP_MATMUL && nt == 5) {
        snprintf(flags + strlen(flags), sizeof(flags) - strlen(flags), "%sdeq",
                 flags[0] ? "|" : "");
    }
    if (op->op == ZK_OP_LAYERNORM && nt == 4) {
        strcpy(flags, "bias");
    }
    char line[128];
    int n = snprintf(line, sizeof(line), "%s", op->name);
    for (int i = 0; i < nt; i++) {
        n += snprintf(line + n, sizeof(line) - (size_t)n, "%st%d", i ? ", " : " ", td[i]);
    }
    if (ns) {
        n += snprintf(line + n, sizeof(line) - (size_t)n, ", r%d", rs);
    }
    if (flags[0]) {
        snprintf(line + n, sizeof(line) - (size_t)n, ", %s", flags);
    }
    ins(g, "%s", line);
    for (int i = 0; i < ns; i++) {
        rfree(g, rs + i);
    }
    g->tused &= ~tmp_desc;
}

/* ---------------------------------------------------------------- */
/* Statements                                                        */
/* ---------------------------------------------------------------- */
static void gen_stmt(G *g, Stmt *s);

static void gen_block(G *g, Stmt *s)
{
    push_scope(g);
    for (int i = 0; i < s->n; i++) {
        gen_stmt(g, s->list[i]);
    }
    pop_scope(g);
}

static void gen_store(G *g, Expr *at, Expr *addr, Expr *val, int mt)
{
    Type vt = vtyof(g, val);
    Type want = memty_type(mt);
    if (want.k == TY_F32 ? (vt.k != TY_F32 && vt.k != TY_INT) : !isint(vt)) {
        ERR(val, "cannot store %s as %s", TN(vt), zc_memty_names[mt]);
    }
    bool t1, t2;
    int32_t off;
    int v = gen(g, val, want, &t2);
    int a = addr ? gen_addr(g, addr, &off, &t1) : gen_index_addr(g, at, &off, &t1);
    char m[48];
    mem_operand(m, sizeof(m), a, off);
    ins(g, "%s %s, r%d", memty_store[mt], m, v);
    rfree_if(g, a, t1);
    rfree_if(g, v, t2);
}

static void gen_expr_stmt(G *g, Stmt *s)
{
    Expr *e = s->e;
    if (e->k != E_CALL) {
        ERR(e, "expression statement has no effect");
    }
    Type t = tyof(g, e);
    if (t.k != TY_VOID) {
        ERR(e, "result of '%s' is unused", e->name);
    }
    const TensorOp *op = tensor_op(e->name);
    if (op) {
        gen_tensor_op(g, e, op);
        return;
    }
    /* store<T>(addr, value) */
    nargs_check(g, e, 2, 2);
    Type at = vtyof(g, e->args[0]);
    if (at.k != TY_PTR && !isint(at)) {
        ERR(e->args[0], "'store' needs an address (a pointer or u64), not %s", TN(at));
    }
    gen_store(g, e, e->args[0], e->args[1], e->targ);
}

static void gen_let(G *g, Stmt *s)
{
    Expr *e = s->e;
    Type t = tyof(g, e);
    if (t.k == TY_TENSOR) {
        if (!is_tensor_call(e)) {
            ERR(e, "a tensor variable can only be initialised with tensor(...)");
        }
        if (s->has_ty) {
            ERR(s, "tensor variables have no type annotation");
        }
        int d = talloc(g, e);
        gen_tset(g, e, d);
        Var *v = push_var(g, s->name, T_TENSOR, s->line, s->col);
        v->reg = d;
        return;
    }
    t = vtyof(g, e);
    Type vt = s->has_ty ? s->ty : t.k == TY_INT ? T_U64 : t;
    if (!assignable(vt, t)) {
        ERR(e, "cannot initialise '%s' of type %s with a value of type %s", s->name, TN(vt),
            TN(t));
    }
    bool tmp;
    int r = gen(g, e, vt, &tmp);
    if (!tmp) {
        int nr = ralloc(g, e);
        ins(g, "mov r%d, r%d", nr, r);
        r = nr;
    }
    Var *v = push_var(g, s->name, vt, s->line, s->col);
    v->reg = r;
}

static void gen_assign(G *g, Stmt *s)
{
    Expr *tgt = s->target, *val = s->e;
    if (s->aop >= 0) {
        Expr *b = zc_alloc(g->c, sizeof(*b));
        b->k = E_BIN;
        b->op = (Op)s->aop;
        b->a = tgt;
        b->b = val;
        b->line = s->line;
        b->col = s->col;
        val = b;
    }
    if (tgt->k == E_INDEX) {
        Type p = vtyof(g, tgt->a);
        if (p.k != TY_PTR) {
            ERR(tgt, "only pointers can be indexed, not %s", TN(p));
        }
        Type it = vtyof(g, tgt->b);
        if (!isint(it)) {
            ERR(tgt->b, "index must be an integer, not %s", TN(it));
        }
        static const int mt_of[ZK_DT_COUNT] = { MT_F32, MT_U16, MT_U16, MT_I8, MT_I32 };
        gen_store(g, tgt, NULL, val, mt_of[p.dt]);
        return;
    }
    Var *v = var_of(g, tgt);
    if (v->is_const) {
        ERR(tgt, "cannot assign to constant '%s'", v->name);
    }
    if (v->argi >= 0) {
        ERR(tgt, "cannot assign to argument '%s' (copy it into a variable with let)",
            v->name);
    }
    if (v->readonly) {
        ERR(tgt, "cannot assign to loop variable '%s'", v->name);
    }
    if (v->ty.k == TY_TENSOR) {
        if (s->aop >= 0 || !is_tensor_call(val)) {
            ERR(val, "a tensor variable can only be assigned tensor(...)");
        }
        gen_tset(g, val, v->reg);
        return;
    }
    Type t = vtyof(g, val);
    if (!assignable(v->ty, t)) {
        ERR(val, "cannot assign a value of type %s to '%s' of type %s", TN(t), v->name,
            TN(v->ty));
    }
    /* Safe in place: every operand is read before dst is written. */
    gen_into(g, val, v->ty, v->reg);
}

static void gen_for(G *g, Stmt *s)
{
    Type lo = vtyof(g, s->e), hi = vtyof(g, s->e2);
    if (!isint(lo) || !isint(hi)) {
        Expr *bad = !isint(lo) ? s->e : s->e2;
        ERR(bad, "loop bounds must be integers, not %s", TN(!isint(lo) ? lo : hi));
    }
    if (lo.k != TY_INT && hi.k != TY_INT && lo.k != hi.k) {
        ERR(s->e, "mismatched loop bound types: %s and %s", TN(lo), TN(hi));
    }
    Type t = lo.k != TY_INT ? lo : hi.k != TY_INT ? hi : T_U64;
    uint64_t step = 1;
    int rstep = -1;
    if (s->e3) {
        Type st = vtyof(g, s->e3);
        if (!isint(st)) {
            ERR(s->e3, "loop step must be an integer, not %s", TN(st));
        }
        if (const_int(g, s->e3, &step) && (step == 0 || !fits32((int64_t)step))) {
            ERR(s->e3, "loop step must be a non-zero 32-bit constant or a variable");
        }
    }
    push_scope(g);
    int ri = ralloc(g, s->e);
    gen_into(g, s->e, t, ri);
    int rhi = ralloc(g, s->e2);
    gen_into(g, s->e2, t, rhi);
    if (s->e3 && !const_int(g, s->e3, &step)) {
        rstep = ralloc(g, s->e3);
        gen_into(g, s->e3, t, rstep);
    }
    Var *v = push_var(g, s->name, t, s->line, s->col);
    v->reg = ri;
    v->readonly = true;
    int top = new_label(g), cont = new_label(g), end = new_label(g);
    place(g, top);
    ins(g, "bge%s r%d, r%d, %s.L%d", t.k == TY_I64 ? "" : "u", ri, rhi, g->kname, end);
    if (g->nloops == MAX_LOOPS) {
        ERR(s, "loops nested too deeply");
    }
    g->brk[g->nloops] = end;
    g->cont[g->nloops++] = cont;
    gen_stmt(g, s->body);
    g->nloops--;
    place(g, cont);
    if (rstep >= 0) {
        ins(g, "add r%d, r%d, r%d", ri, ri, rstep);
    } else {
        ins(g, "addi r%d, r%d, %lld", ri, ri, (long long)step);
    }
    ins(g, "jmp %s.L%d", g->kname, top);
    place(g, end);
    rfree(g, rhi);
    rfree(g, rstep);
    pop_scope(g);       /* frees ri */
}

static void gen_stmt(G *g, Stmt *s)
{
    if (s->k != S_BLOCK) {
        src_comment(g, s->line);
    }
    switch (s->k) {
    case S_BLOCK:
        gen_block(g, s);
        break;
    case S_LET:
        gen_let(g, s);
        break;
    case S_ASSIGN:
        gen_assign(g, s);
        break;
    case S_EXPR:
        gen_expr_stmt(g, s);
        break;
    case S_IF: {
        int lelse = new_label(g), lend = s->els ? new_label(g) : lelse;
        gen_cond(g, s->e, false, lelse);
        gen_stmt(g, s->body);
        if (s->els) {
            ins(g, "jmp %s.L%d", g->kname, lend);
            place(g, lelse);
            gen_stmt(g, s->els);
        }
        place(g, lend);
        break;
    }
    case S_WHILE: {
        int top = new_label(g), end = new_label(g);
        place(g, top);
        gen_cond(g, s->e, false, end);
        if (g->nloops == MAX_LOOPS) {
            ERR(s, "loops nested too deeply");
        }
        g->brk[g->nloops] = end;
        g->cont[g->nloops++] = top;
        gen_stmt(g, s->body);
        g->nloops--;
        ins(g, "jmp %s.L%d", g->kname, top);
        place(g, end);
        break;
    }
    case S_FOR:
        gen_for(g, s);
        break;
    case S_BREAK:
    case S_CONTINUE:
        if (!g->nloops) {
            ERR(s, "'%s' outside a loop", s->k == S_BREAK ? "break" : "continue");
        }
        ins(g, "jmp %s.L%d", g->kname,
            s->k == S_BREAK ? g->brk[g->nloops - 1] : g->cont[g->nloops - 1]);
        break;
    case S_RETURN:
        ins(g, "halt");
        break;
    }
}

/* ---------------------------------------------------------------- */
/* Kernels and the program                                           */
/* ---------------------------------------------------------------- */
static void gen_kernel(G *g, Kernel *k)
{
    static const char *const acc[] = { "", "r", "w", "rw" };
    g->kname = k->name;
    g->nlabel = 0;
    g->used = 1;
    g->tused = 0;
    g->last_line = 0;
    out(g, "\n.kernel %s\n", k->name);
    push_scope(g);
    for (int i = 0; i < k->nparams; i++) {
        Param *p = &k->params[i];
        if (p->ty.k == TY_PTR) {
            out(g, ".arg %s ptr %s %s\n", p->name, zk_dtype_names[p->ty.dt], acc[p->access]);
        } else {
            out(g, ".arg %s %s\n", p->name, p->ty.k == TY_F32 ? "f32" : "u64");
        }
        Var *v = push_var(g, p->name, p->ty, p->line, p->col);
        v->argi = i;
    }
    gen_stmt(g, k->body);
    ins(g, "halt");
    pop_scope(g);
}

void zc_gen(Ctx *c, Program *p)
{
    G *g = zc_alloc(c, sizeof(*g));
    g->c = c;
    out(g, "# generated by zkcc from %s\n", c->fname);
    for (int i = 0; i < p->norder; i++) {
        int o = p->order[i];
        if (o >= 0) {
            Kernel *k = p->kernels[o];
            for (int j = 0; j < o; j++) {
                if (!strcmp(p->kernels[j]->name, k->name)) {
                    zc_error(c, k->line, k->col, "kernel '%s' is defined twice", k->name);
                }
            }
            gen_kernel(g, k);
            continue;
        }
        Const *cs = p->consts[-o - 1];
        Type t = vtyof(g, cs->e);
        uint64_t v = 0;
        if (t.k == TY_F32 && cs->e->k == E_FLOAT) {
            Var *var = push_var(g, cs->name, T_F32, cs->line, cs->col);
            var->is_const = true;
            var->fval = cs->e->fval;
        } else if (t.k == TY_INT && const_int(g, cs->e, &v)) {
            Var *var = push_var(g, cs->name, T_INT, cs->line, cs->col);
            var->is_const = true;
            var->ival = v;
        } else {
            zc_error(c, cs->e->line, cs->e->col,
                     "constant '%s' must be an integer expression or a float literal",
                     cs->name);
        }
    }
}
