/* SPDX-License-Identifier: MIT */
/*
 * zkcc_parse.c - recursive-descent parser: tokens -> AST.
 * The grammar is in docs/zkcc.md.
 */
#include <stdio.h>
#include <string.h>

#include "zhikai_isa.h"
#include "zk_isa.h"
#include "zkcc_int.h"

typedef struct P {
    Ctx *c;
    Tok *t;
    int pos, n;
    int nest;                   /* expression/block nesting, bounded */
} P;

#define MAX_NEST 256

static void enter(P *p)
{
    if (++p->nest > MAX_NEST) {
        zc_error(p->c, p->t[p->pos].line, p->t[p->pos].col, "nesting too deep");
    }
}

const char *const zc_memty_names[MT_COUNT] = {
    "u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64", "f32",
};

static Tok *peek(P *p)
{
    return &p->t[p->pos];
}

static bool is(Tok *t, const char *s)
{
    return (t->k == TK_PUNCT || t->k == TK_IDENT) && (int)strlen(s) == t->len &&
           !strncmp(t->s, s, (size_t)t->len);
}

static bool accept(P *p, const char *s)
{
    if (is(peek(p), s)) {
        p->pos++;
        return true;
    }
    return false;
}

/* "'x'" or "end of file" for messages. */
static const char *describe(Tok *t, char *buf, size_t len)
{
    if (t->k == TK_EOF) {
        return "end of file";
    }
    snprintf(buf, len, "'%.*s'", t->len > 40 ? 40 : t->len, t->s);
    return buf;
}

static _Noreturn void expected(P *p, const char *what)
{
    char b[64];
    Tok *t = peek(p);
    zc_error(p->c, t->line, t->col, "expected %s, found %s", what, describe(t, b, sizeof(b)));
}

static void expect(P *p, const char *s)
{
    if (!accept(p, s)) {
        char w[16];
        snprintf(w, sizeof(w), "'%s'", s);
        expected(p, w);
    }
}

static const char *const keywords[] = {
    "kernel", "let", "if", "else", "while", "for", "break", "continue",
    "return", "const", "ptr", "u64", "i64", "f32", "grid", "wg",
};

static bool is_keyword(Tok *t)
{
    for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
        if (is(t, keywords[i])) {
            return true;
        }
    }
    return false;
}

static const char *ident(P *p, const char *what)
{
    Tok *t = peek(p);
    if (t->k != TK_IDENT || is_keyword(t)) {
        expected(p, what);
    }
    p->pos++;
    return zc_strndup(p->c, t->s, (size_t)t->len);
}

static int dtype_of(Tok *t)
{
    /* Element types only: block-quantized weights (q8_0, q4_0) have no
     * per-element address and are only read by the qmatmul op. */
    for (int i = 0; i < ZK_DT_Q8_0; i++) {
        if (is(t, zk_dtype_names[i])) {
            return i;
        }
    }
    return -1;
}

static int parse_dtype(P *p)
{
    int dt = dtype_of(peek(p));
    if (dt < 0) {
        expected(p, "an element type (f32, f16, bf16, i8, i32)");
    }
    p->pos++;
    return dt;
}

/* u64 | i64 | f32 | ptr<DTYPE> */
static Type parse_type(P *p)
{
    Type ty = { 0, 0 };
    if (accept(p, "u64")) {
        ty.k = TY_U64;
    } else if (accept(p, "i64")) {
        ty.k = TY_I64;
    } else if (accept(p, "f32")) {
        ty.k = TY_F32;
    } else if (accept(p, "ptr")) {
        expect(p, "<");
        ty.k = TY_PTR;
        ty.dt = (uint8_t)parse_dtype(p);
        expect(p, ">");
    } else {
        expected(p, "a type (u64, i64, f32 or ptr<T>)");
    }
    return ty;
}

/* ---------------------------------------------------------------- */
/* Expressions                                                       */
/* ---------------------------------------------------------------- */
static Expr *expr(P *p);

static Expr *node(P *p, EKind k, Tok *at)
{
    Expr *e = zc_alloc(p->c, sizeof(*e));
    e->k = k;
    e->line = at->line;
    e->col = at->col;
    return e;
}

static void call_args(P *p, Expr *e)
{
    Expr *buf[32];
    int n = 0;
    expect(p, "(");
    if (!accept(p, ")")) {
        do {
            if (n == 32) {
                Tok *t = peek(p);
                zc_error(p->c, t->line, t->col, "too many arguments");
            }
            buf[n++] = expr(p);
        } while (accept(p, ","));
        expect(p, ")");
    }
    e->nargs = n;
    e->args = zc_alloc(p->c, sizeof(Expr *) * (size_t)(n ? n : 1));
    memcpy(e->args, buf, sizeof(Expr *) * (size_t)n);
}

static Expr *primary(P *p)
{
    Tok *t = peek(p);
    Expr *e;
    if (t->k == TK_INT) {
        p->pos++;
        e = node(p, E_INT, t);
        e->ival = t->ival;
        return e;
    }
    if (t->k == TK_FLOAT) {
        p->pos++;
        e = node(p, E_FLOAT, t);
        e->fval = t->fval;
        return e;
    }
    if (accept(p, "(")) {
        e = expr(p);
        expect(p, ")");
        return e;
    }
    if (is(t, "grid") || is(t, "wg")) {
        p->pos++;
        e = node(p, E_FIELD, t);
        e->name = is(t, "grid") ? "grid" : "wg";
        expect(p, ".");
        Tok *f = peek(p);
        if (f->k != TK_IDENT) {
            expected(p, "a field name (x, y, z, linear)");
        }
        p->pos++;
        e->field = zc_strndup(p->c, f->s, (size_t)f->len);
        return e;
    }
    /* Casts to a type: u64(x), i64(x), f32(x), ptr<T>(x). */
    if (is(t, "u64") || is(t, "i64") || is(t, "f32") || is(t, "ptr")) {
        p->pos++;
        e = node(p, E_CALL, t);
        e->name = zc_strndup(p->c, t->s, (size_t)t->len);
        if (is(t, "ptr")) {
            expect(p, "<");
            e->has_targ = true;
            e->targ = parse_dtype(p);
            expect(p, ">");
        }
        call_args(p, e);
        return e;
    }
    if (t->k == TK_IDENT && !is_keyword(t)) {
        p->pos++;
        const char *name = zc_strndup(p->c, t->s, (size_t)t->len);
        if ((is(t, "load") || is(t, "store")) && is(peek(p), "<")) {
            e = node(p, E_CALL, t);
            e->name = name;
            p->pos++;
            Tok *mt = peek(p);
            e->targ = -1;
            for (int i = 0; i < MT_COUNT; i++) {
                if (is(mt, zc_memty_names[i])) {
                    e->targ = i;
                }
            }
            if (e->targ < 0) {
                expected(p, "a scalar type (u8, u16, u32, u64, i8, i16, i32, i64, f32)");
            }
            p->pos++;
            e->has_targ = true;
            expect(p, ">");
            call_args(p, e);
            return e;
        }
        if (is(peek(p), "(")) {
            e = node(p, E_CALL, t);
            e->name = name;
            call_args(p, e);
            return e;
        }
        e = node(p, E_NAME, t);
        e->name = name;
        return e;
    }
    expected(p, "an expression");
}

static Expr *postfix(P *p)
{
    Expr *e = primary(p);
    for (;;) {
        Tok *t = peek(p);
        if (accept(p, "[")) {
            Expr *i = node(p, E_INDEX, t);
            i->a = e;
            i->b = expr(p);
            expect(p, "]");
            e = i;
        } else {
            return e;
        }
    }
}

static Expr *unary(P *p)
{
    Tok *t = peek(p);
    Op op;
    if (is(t, "-")) {
        op = OP_NEG;
    } else if (is(t, "!")) {
        op = OP_NOT;
    } else if (is(t, "~")) {
        op = OP_BNOT;
    } else {
        return postfix(p);
    }
    p->pos++;
    enter(p);
    Expr *a = unary(p);
    p->nest--;
    /* Fold negative literals right here: -1, -0.5 */
    if (op == OP_NEG && a->k == E_FLOAT) {
        a->fval = -a->fval;
        a->line = t->line;
        a->col = t->col;
        return a;
    }
    Expr *e = node(p, E_UN, t);
    e->op = op;
    e->a = a;
    return e;
}

/* Binary operators by precedence level, loosest first. */
static const struct { const char *s; Op op; int prec; } binops[] = {
    { "||", OP_LOR, 1 }, { "&&", OP_LAND, 2 },
    { "==", OP_EQ, 3 }, { "!=", OP_NE, 3 }, { "<", OP_LT, 3 }, { "<=", OP_LE, 3 },
    { ">", OP_GT, 3 }, { ">=", OP_GE, 3 },
    { "|", OP_OR, 4 }, { "^", OP_XOR, 5 }, { "&", OP_AND, 6 },
    { "<<", OP_SHL, 7 }, { ">>", OP_SHR, 7 },
    { "+", OP_ADD, 8 }, { "-", OP_SUB, 8 },
    { "*", OP_MUL, 9 }, { "/", OP_DIV, 9 }, { "%", OP_REM, 9 },
};

static Expr *binary(P *p, int prec)
{
    if (prec > 9) {
        return unary(p);
    }
    Expr *l = binary(p, prec + 1);
    int chained = 0;            /* a chain is a left-deep tree: bound it too */
    for (;;) {
        Tok *t = peek(p);
        int found = -1;
        for (size_t i = 0; i < sizeof(binops) / sizeof(binops[0]); i++) {
            if (binops[i].prec == prec && t->k == TK_PUNCT && is(t, binops[i].s)) {
                found = (int)i;
            }
        }
        if (found < 0) {
            p->nest -= chained;
            return l;
        }
        enter(p);
        chained++;
        p->pos++;
        Expr *r = binary(p, prec + 1);
        if (prec == 3 && l->k == E_BIN && l->op >= OP_LT && l->op <= OP_NE) {
            zc_error(p->c, t->line, t->col,
                     "comparisons cannot be chained; use parentheses or &&");
        }
        Expr *e = node(p, E_BIN, t);
        e->op = binops[found].op;
        e->a = l;
        e->b = r;
        l = e;
    }
}

static Expr *expr(P *p)
{
    enter(p);
    Expr *e = binary(p, 1);
    p->nest--;
    return e;
}

/* ---------------------------------------------------------------- */
/* Statements                                                        */
/* ---------------------------------------------------------------- */
static Stmt *stmt(P *p);

static Stmt *snode(P *p, SKind k, Tok *at)
{
    Stmt *s = zc_alloc(p->c, sizeof(*s));
    s->k = k;
    s->line = at->line;
    s->col = at->col;
    return s;
}

static Stmt *block(P *p)
{
    Tok *t = peek(p);
    expect(p, "{");
    enter(p);
    Stmt *s = snode(p, S_BLOCK, t);
    int cap = 8;
    s->list = zc_alloc(p->c, sizeof(Stmt *) * (size_t)cap);
    while (!accept(p, "}")) {
        if (peek(p)->k == TK_EOF) {
            zc_error(p->c, t->line, t->col, "'{' is never closed");
        }
        if (s->n == cap) {
            Stmt **l = zc_alloc(p->c, sizeof(Stmt *) * (size_t)cap * 2);
            memcpy(l, s->list, sizeof(Stmt *) * (size_t)cap);
            s->list = l;
            cap *= 2;
        }
        s->list[s->n++] = stmt(p);
    }
    p->nest--;
    return s;
}

static void semi(P *p)
{
    if (!accept(p, ";")) {
        expected(p, "';'");
    }
}

static const struct { const char *s; Op op; } assignops[] = {
    { "+=", OP_ADD }, { "-=", OP_SUB }, { "*=", OP_MUL }, { "/=", OP_DIV },
    { "%=", OP_REM }, { "&=", OP_AND }, { "|=", OP_OR }, { "^=", OP_XOR },
    { "<<=", OP_SHL }, { ">>=", OP_SHR },
};

static Stmt *if_stmt(P *p, Tok *t)
{
    Stmt *s = snode(p, S_IF, t);
    s->e = expr(p);
    s->body = block(p);
    if (accept(p, "else")) {
        Tok *t2 = peek(p);
        if (accept(p, "if")) {
            enter(p);
            s->els = if_stmt(p, t2);
            p->nest--;
        } else {
            s->els = block(p);
        }
    }
    return s;
}

static Stmt *stmt(P *p)
{
    Tok *t = peek(p);
    Stmt *s;
    if (is(t, "{")) {
        return block(p);
    }
    if (accept(p, "let")) {
        s = snode(p, S_LET, t);
        s->name = ident(p, "a variable name");
        if (accept(p, ":")) {
            s->has_ty = true;
            s->ty = parse_type(p);
        }
        expect(p, "=");
        s->e = expr(p);
        semi(p);
        return s;
    }
    if (accept(p, "if")) {
        return if_stmt(p, t);
    }
    if (accept(p, "while")) {
        s = snode(p, S_WHILE, t);
        s->e = expr(p);
        s->body = block(p);
        return s;
    }
    if (accept(p, "for")) {
        s = snode(p, S_FOR, t);
        s->name = ident(p, "a loop variable name");
        expect(p, "in");
        s->e = expr(p);
        expect(p, "..");
        s->e2 = expr(p);
        if (accept(p, "step")) {
            s->e3 = expr(p);
        }
        s->body = block(p);
        return s;
    }
    if (accept(p, "break")) {
        s = snode(p, S_BREAK, t);
        semi(p);
        return s;
    }
    if (accept(p, "continue")) {
        s = snode(p, S_CONTINUE, t);
        semi(p);
        return s;
    }
    if (accept(p, "return")) {
        s = snode(p, S_RETURN, t);
        semi(p);
        return s;
    }
    if (is(t, "else")) {
        zc_error(p->c, t->line, t->col, "'else' without 'if'");
    }
    Expr *e = expr(p);
    Tok *a = peek(p);
    int aop = -2;
    if (is(a, "=")) {
        aop = -1;
    }
    for (size_t i = 0; i < sizeof(assignops) / sizeof(assignops[0]); i++) {
        if (is(a, assignops[i].s)) {
            aop = (int)assignops[i].op;
        }
    }
    if (aop != -2) {
        p->pos++;
        if (e->k != E_NAME && e->k != E_INDEX) {
            zc_error(p->c, a->line, a->col,
                     "left side of '%.*s' must be a variable or p[i]", a->len, a->s);
        }
        s = snode(p, S_ASSIGN, t);
        s->target = e;
        s->aop = aop;
        s->e = expr(p);
        semi(p);
        return s;
    }
    s = snode(p, S_EXPR, t);
    s->e = e;
    semi(p);
    return s;
}

/* ---------------------------------------------------------------- */
/* Top level                                                         */
/* ---------------------------------------------------------------- */
static Kernel *kernel(P *p, Tok *kt)
{
    Kernel *k = zc_alloc(p->c, sizeof(*k));
    Tok *nt = peek(p);
    k->name = ident(p, "a kernel name");
    k->line = kt->line;
    k->col = kt->col;
    if (strlen(k->name) >= ZK_NAME_LEN) {
        zc_error(p->c, nt->line, nt->col, "kernel name is longer than %d characters",
                 ZK_NAME_LEN - 1);
    }
    k->params = zc_alloc(p->c, sizeof(Param) * ZK_MAX_ARGS);
    expect(p, "(");
    if (!accept(p, ")")) {
        do {
            Tok *pt = peek(p);
            if (k->nparams == ZK_MAX_ARGS) {
                zc_error(p->c, pt->line, pt->col, "a kernel takes at most %d arguments",
                         ZK_MAX_ARGS);
            }
            Param *pa = &k->params[k->nparams++];
            pa->name = ident(p, "an argument name");
            pa->line = pt->line;
            pa->col = pt->col;
            if (strlen(pa->name) >= ZK_ARG_NAME_LEN) {
                zc_error(p->c, pt->line, pt->col,
                         "argument name is longer than %d characters", ZK_ARG_NAME_LEN - 1);
            }
            for (int i = 0; i < k->nparams - 1; i++) {
                if (!strcmp(k->params[i].name, pa->name)) {
                    zc_error(p->c, pt->line, pt->col, "duplicate argument '%s'", pa->name);
                }
            }
            expect(p, ":");
            pa->ty = parse_type(p);
            if (pa->ty.k == TY_PTR) {
                if (accept(p, "in")) {
                    pa->access = ZK_ACC_READ;
                } else if (accept(p, "out")) {
                    pa->access = ZK_ACC_WRITE;
                } else if (accept(p, "inout")) {
                    pa->access = ZK_ACC_READ | ZK_ACC_WRITE;
                } else {
                    Tok *at = peek(p);
                    zc_error(p->c, at->line, at->col,
                             "pointer argument '%s' needs an access mode: in, out or inout",
                             pa->name);
                }
            }
        } while (accept(p, ","));
        expect(p, ")");
    }
    k->body = block(p);
    Tok *end = &p->t[p->pos - 1];
    k->end_line = end->line;
    k->end_col = end->col;
    return k;
}

Program *zc_parse(Ctx *c, Tok *toks, int ntok)
{
    P p = { .c = c, .t = toks, .n = ntok };
    Program *prog = zc_alloc(c, sizeof(*prog));
    int cap = 16;
    prog->kernels = zc_alloc(c, sizeof(Kernel *) * (size_t)cap);
    prog->consts = zc_alloc(c, sizeof(Const *) * (size_t)cap);
    prog->order = zc_alloc(c, sizeof(int) * (size_t)cap * 2);
    while (peek(&p)->k != TK_EOF) {
        Tok *t = peek(&p);
        if (prog->nkernels == cap || prog->nconsts == cap) {
            Kernel **k = zc_alloc(c, sizeof(Kernel *) * (size_t)cap * 2);
            Const **cs = zc_alloc(c, sizeof(Const *) * (size_t)cap * 2);
            int *o = zc_alloc(c, sizeof(int) * (size_t)cap * 4);
            memcpy(k, prog->kernels, sizeof(Kernel *) * (size_t)prog->nkernels);
            memcpy(cs, prog->consts, sizeof(Const *) * (size_t)prog->nconsts);
            memcpy(o, prog->order, sizeof(int) * (size_t)prog->norder);
            prog->kernels = k;
            prog->consts = cs;
            prog->order = o;
            cap *= 2;
        }
        if (accept(&p, "kernel")) {
            prog->order[prog->norder++] = prog->nkernels;
            prog->kernels[prog->nkernels++] = kernel(&p, t);
        } else if (accept(&p, "const")) {
            Const *k = zc_alloc(c, sizeof(*k));
            k->line = peek(&p)->line;
            k->col = peek(&p)->col;
            k->name = ident(&p, "a constant name");
            expect(&p, "=");
            k->e = expr(&p);
            semi(&p);
            prog->order[prog->norder++] = -(prog->nconsts + 1);
            prog->consts[prog->nconsts++] = k;
        } else {
            expected(&p, "'kernel' or 'const'");
        }
    }
    if (!prog->nkernels) {
        Tok *t = peek(&p);
        zc_error(c, t->line, t->col, "no kernel in the file");
    }
    return prog;
}
