/* SPDX-License-Identifier: MIT */
/*
 * ptx_parse.c - PTX text -> ptx_module (ptx_ir.h).
 *
 * Recursive descent over the lexer's tokens: module directives, variables,
 * .entry/.func headers with their parameter layout, and function bodies
 * (register declarations, scoped variables, labels, instructions).  Names
 * resolve through small hash tables with shadowing for brace scopes.
 * Anything outside the supported grammar stops the parse with
 * "file:line: ..." (unsupported instructions and modifiers:
 * "file:line: unsupported PTX 'op.mod'"); nothing is skipped silently.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptx_ir.h"
#include "ptx_lex.h"

/* ---- string -> int hash map with shadowing (for brace scopes) --------------------- */

typedef struct sym {
    char *name;         /* owned by the IR object it names */
    int32_t val;
    int32_t prev;       /* entry this one shadows, -1 */
    uint32_t depth;
} sym;

typedef struct symtab {
    sym *ents;          /* insertion order (scopes pop from the end) */
    uint32_t n, cap;
    int32_t *slots;     /* hash -> index into ents, -1 empty */
    uint32_t nslots;
} symtab;

static uint32_t hash_str(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    }
    return h;
}

typedef struct parser {
    ptx_lexer lx;
    ptx_module *m;
    ptx_func *f;            /* function being parsed */
    uint32_t depth;
    symtab gsyms;           /* module vars (val = id) and funcs (val = -1 - index) */
    symtab regs;            /* single regs and ranged prefixes (val = regdecl index) */
    symtab lvars;           /* function variables */
    symtab labels;
    jmp_buf fail;
    char *err;
    size_t errlen;
    const char *file;
} parser;

static void perr(parser *p, uint32_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static void perr(parser *p, uint32_t line, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(p->err, p->errlen, "%s:%u: ", p->file, line);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    longjmp(p->fail, 1);
}

static void *xrealloc(parser *p, void *ptr, size_t n, size_t size)
{
    void *q;
    if (size && n > SIZE_MAX / size) {
        perr(p, p->lx.line, "out of host memory");
    }
    q = realloc(ptr, (n && size) ? n * size : 1);
    if (!q) {
        perr(p, p->lx.line, "out of host memory");
    }
    return q;
}

/* Grow *arr (element size sz) to hold n + 1 elements. */
#define GROW(p, arr, n, cap) do { \
        if ((n) >= (cap)) { \
            (cap) = (cap) ? (cap) * 2 : 8; \
            (arr) = xrealloc((p), (arr), (cap), sizeof(*(arr))); \
        } \
    } while (0)

static char *xstrndup(parser *p, const char *s, size_t n)
{
    char *d = xrealloc(p, NULL, n + 1, 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static void st_rehash(parser *p, symtab *t, uint32_t ns)
{
    int32_t *slots = xrealloc(p, NULL, ns, sizeof(*slots));
    for (uint32_t i = 0; i < ns; i++) {
        slots[i] = -1;
    }
    for (uint32_t i = 0; i < t->n; i++) {
        if (!t->ents[i].name) {
            continue;
        }
        /* only the newest entry of a name sits in a slot */
        uint32_t h = hash_str(t->ents[i].name, strlen(t->ents[i].name)) & (ns - 1);
        while (slots[h] >= 0 && strcmp(t->ents[slots[h]].name, t->ents[i].name) != 0) {
            h = (h + 1) & (ns - 1);
        }
        slots[h] = (int32_t)i;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = ns;
}

static int32_t *st_slot(symtab *t, const char *s, size_t n)
{
    uint32_t h = hash_str(s, n) & (t->nslots - 1);
    while (t->slots[h] >= 0) {
        const char *e = t->ents[t->slots[h]].name;
        if (strlen(e) == n && memcmp(e, s, n) == 0) {
            return &t->slots[h];
        }
        h = (h + 1) & (t->nslots - 1);
    }
    return &t->slots[h];
}

/* Entry index of name, or -1. */
static int32_t st_find(symtab *t, const char *s, size_t n)
{
    if (!t->nslots) {
        return -1;
    }
    return *st_slot(t, s, n);
}

/* Adds name (not copied: must outlive the table) at depth; returns -1 if a
 * name of the same depth exists. */
static int st_add(parser *p, symtab *t, char *name, int32_t val, uint32_t depth)
{
    int32_t *slot, old;
    if ((t->n + 1) * 2 > t->nslots) {
        st_rehash(p, t, t->nslots ? t->nslots * 2 : 64);
    }
    slot = st_slot(t, name, strlen(name));
    old = *slot;
    if (old >= 0 && t->ents[old].depth == depth) {
        return -1;
    }
    GROW(p, t->ents, t->n, t->cap);
    t->ents[t->n] = (sym){ name, val, old, depth };
    *slot = (int32_t)t->n++;
    return 0;
}

/* Drop the entries declared deeper than depth, un-shadowing older ones. */
static void st_pop(parser *p, symtab *t, uint32_t depth)
{
    uint32_t n0 = t->n;
    while (t->n && t->ents[t->n - 1].depth > depth) {
        sym *e = &t->ents[t->n - 1];
        int32_t *slot = st_slot(t, e->name, strlen(e->name));
        *slot = e->prev;
        t->n--;
    }
    /* A slot set to -1 may break probe chains: rebuild (scopes are rare). */
    if (t->n != n0) {
        st_rehash(p, t, t->nslots);
    }
}

static void st_free(symtab *t)
{
    free(t->ents);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

/* ---- tokens ------------------------------------------------------------------------ */

static const ptx_tok *peek(parser *p)
{
    return ptx_lex_peek(&p->lx, 0);
}

static ptx_tok next(parser *p)
{
    ptx_tok t = ptx_lex_next(&p->lx);
    if (t.kind == TK_BAD) {
        perr(p, t.line, "invalid token '%.*s'", (int)(t.n > 32 ? 32 : t.n), t.s);
    }
    return t;
}

static void tokstr(const ptx_tok *t, char *buf, size_t n)
{
    if (t->kind == TK_EOF) {
        snprintf(buf, n, "end of file");
    } else {
        snprintf(buf, n, "'%.*s'", (int)(t->n > 40 ? 40 : t->n), t->s);
    }
}

static void expect_punct(parser *p, char c)
{
    ptx_tok t = next(p);
    if (!ptx_tok_punct(&t, c)) {
        char b[64];
        tokstr(&t, b, sizeof(b));
        perr(p, t.line, "expected '%c', found %s", c, b);
    }
}

static int accept_punct(parser *p, char c)
{
    if (ptx_tok_punct(peek(p), c)) {
        next(p);
        return 1;
    }
    return 0;
}

static int accept_dir(parser *p, const char *d)
{
    if (peek(p)->kind == TK_DIR && ptx_tok_is(peek(p), d)) {
        next(p);
        return 1;
    }
    return 0;
}

static ptx_tok expect_ident(parser *p, const char *what)
{
    ptx_tok t = next(p);
    if (t.kind != TK_IDENT) {
        char b[64];
        tokstr(&t, b, sizeof(b));
        perr(p, t.line, "expected %s, found %s", what, b);
    }
    return t;
}

static uint64_t expect_uint(parser *p, const char *what, uint64_t max)
{
    ptx_tok t = next(p);
    if (t.kind != TK_INT || t.ival > max) {
        char b[64];
        tokstr(&t, b, sizeof(b));
        perr(p, t.line, "expected %s (0..%llu), found %s", what, (unsigned long long)max, b);
    }
    return t.ival;
}

/* Skip to the end of a directive we do not need (.file, .pragma, .loc...). */
static void skip_statement(parser *p, uint32_t line, int to_eol)
{
    for (;;) {
        const ptx_tok *t = peek(p);
        if (t->kind == TK_EOF || (to_eol && t->line != line)) {
            return;
        }
        if (ptx_tok_punct(t, ';')) {
            next(p);
            return;
        }
        next(p);
    }
}

/* ---- types ------------------------------------------------------------------------- */

static int type_of(const ptx_tok *t)
{
    static const char *const names[PT_COUNT] = {
        "", ".pred", ".b8", ".b16", ".b32", ".b64", ".u8", ".u16", ".u32", ".u64",
        ".s8", ".s16", ".s32", ".s64", ".f16", ".f16x2", ".bf16", ".f32", ".f64",
    };
    if (t->kind != TK_DIR) {
        return PT_NONE;
    }
    for (int i = 1; i < PT_COUNT; i++) {
        if (ptx_tok_is(t, names[i])) {
            return i;
        }
    }
    return PT_NONE;
}

static int space_of(const ptx_tok *t)
{
    static const char *const names[PS_COUNT] = {
        "", ".reg", ".param", ".global", ".shared", ".local", ".const",
    };
    if (t->kind != TK_DIR) {
        return -1;
    }
    for (int i = 1; i < PS_COUNT; i++) {
        if (ptx_tok_is(t, names[i])) {
            return i;
        }
    }
    if (ptx_tok_is(t, ".shared::cta")) {
        return PS_SHARED;
    }
    return -1;
}

static int expect_type(parser *p)
{
    ptx_tok t = next(p);
    int ty = type_of(&t);
    if (!ty) {
        char b[64];
        tokstr(&t, b, sizeof(b));
        perr(p, t.line, "expected a type, found %s", b);
    }
    return ty;
}

static uint32_t expect_align(parser *p)
{
    ptx_tok t = *peek(p);
    uint64_t a = expect_uint(p, "alignment", 1u << 16);
    if (!a || (a & (a - 1))) {
        perr(p, t.line, "alignment %llu is not a power of two", (unsigned long long)a);
    }
    return (uint32_t)a;
}

/* ---- variables --------------------------------------------------------------------- */

/* Parse an initializer list of numbers into v->init. */
static void parse_init(parser *p, ptx_var *v, uint64_t count)
{
    unsigned int esz = ptx_type_bytes(v->type);
    uint64_t i = 0;
    int braced = accept_punct(p, '{');
    if (!v->size || v->size > (1u << 24)) {
        perr(p, p->lx.line, "initialised variable %s must have 1..16M bytes", v->name);
    }
    v->init = xrealloc(p, NULL, v->size, 1);
    memset(v->init, 0, v->size);
    do {
        int neg = accept_punct(p, '-');
        ptx_tok t = next(p);
        uint64_t bits;
        if (t.kind == TK_INT) {
            bits = neg ? (uint64_t)0 - t.ival : t.ival;
            if (ptx_type_is_float(v->type)) {
                double d = neg ? -(double)t.ival : (double)t.ival;
                float f = (float)d;
                if (esz == 4) {
                    memcpy(&bits, &f, 4);
                } else {
                    memcpy(&bits, &d, 8);
                }
            }
        } else if (t.kind == TK_FBITS) {
            bits = t.ival;
            if (neg) {
                bits ^= t.fbits == 32 ? 0x80000000ull : 0x8000000000000000ull;
            }
        } else if (t.kind == TK_FLOAT) {
            double d = neg ? -t.fval : t.fval;
            float f = (float)d;
            bits = 0;
            if (esz == 4) {
                memcpy(&bits, &f, 4);
            } else {
                memcpy(&bits, &d, 8);
            }
        } else {
            char b[64];
            tokstr(&t, b, sizeof(b));
            perr(p, t.line, "unsupported initializer %s for %s", b, v->name);
        }
        if (i >= count) {
            perr(p, t.line, "too many initializers for %s", v->name);
        }
        for (unsigned int k = 0; k < esz && k < 8; k++) {
            v->init[i * esz + k] = (uint8_t)(bits >> (8 * k));
        }
        i++;
    } while (braced && accept_punct(p, ','));
    if (braced) {
        expect_punct(p, '}');
    }
}

/* [.align N] .type [.v2|.v4] name [ '[' N ']' ]... [= init] ';' after the space. */
static void parse_var(parser *p, ptx_var *v, int space, int is_extern, uint32_t line)
{
    ptx_tok name;
    uint64_t count = 1;
    unsigned int vec = 1;
    int unsized = 0;
    memset(v, 0, sizeof(*v));
    v->space = (uint8_t)space;
    v->is_extern = (uint8_t)is_extern;
    v->line = line;
    if (accept_dir(p, ".align")) {
        v->align = expect_align(p);
    }
    if (accept_dir(p, ".v2")) {
        vec = 2;
    } else if (accept_dir(p, ".v4")) {
        vec = 4;
    }
    if (!v->align && peek(p)->kind == TK_DIR && ptx_tok_is(peek(p), ".align")) {
        next(p);
        v->align = expect_align(p);
    }
    v->type = (uint8_t)expect_type(p);
    if (v->type == PT_PRED) {
        perr(p, line, "a .pred variable outside .reg");
    }
    name = expect_ident(p, "a variable name");
    v->name = xstrndup(p, name.s, name.n);
    while (accept_punct(p, '[')) {
        if (accept_punct(p, ']')) {
            unsized = 1;
            count = 0;
            continue;
        }
        uint64_t n = expect_uint(p, "an array size", PTX_MAX_VAR_BYTES);
        expect_punct(p, ']');
        if (n && count > PTX_MAX_VAR_BYTES / n) {
            perr(p, line, "variable %s is larger than 4 GiB", v->name);
        }
        count *= n;
    }
    uint64_t esz = (uint64_t)ptx_type_bytes(v->type) * vec;
    if (count > PTX_MAX_VAR_BYTES / esz) {
        perr(p, line, "variable %s is larger than 4 GiB", v->name);
    }
    v->size = count * esz;
    if (!v->align) {
        v->align = (uint32_t)esz;
    }
    if (unsized && !(is_extern && space == PS_SHARED)) {
        if (!(peek(p)->kind == TK_PUNCT && peek(p)->punct == '=')) {
            perr(p, line, "unsized array %s is only supported as extern .shared", v->name);
        }
    }
    if (accept_punct(p, '=')) {
        if (space != PS_GLOBAL && space != PS_CONST) {
            perr(p, line, "initializer on a .%s variable", ptx_space_name((unsigned int)space));
        }
        if (unsized) {
            perr(p, line, "unsupported PTX: unsized initialised array %s", v->name);
        }
        parse_init(p, v, count * vec);
    }
    expect_punct(p, ';');
}

/* ---- registers --------------------------------------------------------------------- */

static void declare_regs(parser *p, uint32_t line)
{
    ptx_func *f = p->f;
    int ty, vec = 1;
    if (accept_dir(p, ".v2")) {
        vec = 2;
    } else if (accept_dir(p, ".v4")) {
        vec = 4;
    }
    if (vec > 1) {
        perr(p, line, "unsupported PTX '.reg.v%d' (vector registers)", vec);
    }
    ty = expect_type(p);
    do {
        ptx_tok name = expect_ident(p, "a register name");
        uint64_t count = 1;
        int ranged = 0;
        ptx_regdecl *d;
        if (accept_punct(p, '<')) {
            count = expect_uint(p, "a register count", PTX_MAX_REGS);
            expect_punct(p, '>');
            ranged = 1;
        }
        if (f->nregs + count > PTX_MAX_REGS) {
            perr(p, name.line, "more than %u virtual registers", PTX_MAX_REGS);
        }
        if (f->nregdecls >= 65536) {
            perr(p, name.line, "more than 65536 register declarations");
        }
        f->regdecls = xrealloc(p, f->regdecls, f->nregdecls + 1, sizeof(*f->regdecls));
        d = &f->regdecls[f->nregdecls];
        memset(d, 0, sizeof(*d));
        d->name = xstrndup(p, name.s, name.n);
        d->type = (uint8_t)ty;
        d->ranged = (uint8_t)ranged;
        d->count = (uint32_t)count;
        d->first = f->nregs;
        d->depth = p->depth;
        f->nregdecls++;
        f->reg_type = xrealloc(p, f->reg_type, f->nregs + count, 1);
        memset(f->reg_type + f->nregs, ty, count);
        f->nregs += (uint32_t)count;
        if (st_add(p, &p->regs, d->name, (int32_t)(f->nregdecls - 1), p->depth) != 0) {
            perr(p, name.line, "register %s declared twice", d->name);
        }
    } while (accept_punct(p, ','));
    expect_punct(p, ';');
}

/* Register id of %name, or -1. */
static int32_t find_reg(parser *p, const char *s, size_t n)
{
    int32_t e = st_find(&p->regs, s, n);
    size_t k = n;
    uint64_t idx = 0;
    if (e >= 0) {
        const ptx_regdecl *d = &p->f->regdecls[p->regs.ents[e].val];
        return d->ranged ? -1 : (int32_t)d->first;
    }
    while (k > 0 && s[k - 1] >= '0' && s[k - 1] <= '9') {
        k--;
    }
    if (k == n || n - k > 9 || (s[k] == '0' && n - k > 1)) {
        return -1;
    }
    for (size_t i = k; i < n; i++) {
        idx = idx * 10 + (uint64_t)(s[i] - '0');
    }
    e = st_find(&p->regs, s, k);
    if (e >= 0) {
        const ptx_regdecl *d = &p->f->regdecls[p->regs.ents[e].val];
        if (d->ranged && idx < d->count) {
            return (int32_t)(d->first + idx);
        }
    }
    return -1;
}

/* ---- function headers -------------------------------------------------------------- */

/* .param [.align N] .type [.ptr [.space] [.align N]] name ['[' N ']'] */
static void parse_param(parser *p, ptx_param *pa, int is_kernel)
{
    ptx_tok t = next(p), name;
    uint64_t count = 1;
    int ty;
    memset(pa, 0, sizeof(*pa));
    if (!ptx_tok_is(&t, ".param")) {
        if (!is_kernel && ptx_tok_is(&t, ".reg")) {
            perr(p, t.line, "unsupported PTX '.reg' function parameter");
        }
        char b[64];
        tokstr(&t, b, sizeof(b));
        perr(p, t.line, "expected .param, found %s", b);
    }
    if (accept_dir(p, ".align")) {
        pa->align = expect_align(p);
    }
    ty = expect_type(p);
    if (accept_dir(p, ".ptr")) {
        pa->is_ptr = 1;
        if (space_of(peek(p)) > 0) {
            next(p);
        }
        if (accept_dir(p, ".align")) {
            expect_align(p);
        }
    }
    name = expect_ident(p, "a parameter name");
    pa->name = xstrndup(p, name.s, name.n);
    if (accept_punct(p, '[')) {
        count = expect_uint(p, "an array size", PTX_MAX_PARAM_BYTES);
        expect_punct(p, ']');
    }
    pa->type = (uint8_t)ty;
    pa->size = (uint32_t)(count * ptx_type_bytes((unsigned int)ty));
    if (!pa->align) {
        pa->align = ptx_type_bytes((unsigned int)ty);
    }
    if (!pa->size) {
        perr(p, name.line, "parameter %s has no size", pa->name);
    }
}

/* ( param, ... ) with the buffer layout: each at its alignment. */
static void parse_param_list(parser *p, ptx_param **out, uint32_t *n, uint32_t *bytes,
                             int is_kernel)
{
    uint32_t off = 0, cap = 0;
    expect_punct(p, '(');
    if (accept_punct(p, ')')) {
        *bytes = 0;
        return;
    }
    do {
        ptx_param *pa;
        GROW(p, *out, *n, cap);
        pa = &(*out)[*n];
        memset(pa, 0, sizeof(*pa));
        (*n)++;
        parse_param(p, pa, is_kernel);
        off = (off + pa->align - 1) & ~(pa->align - 1);
        pa->offset = off;
        off += pa->size;
        if (off > PTX_MAX_PARAM_BYTES || *n > 4096) {
            perr(p, p->lx.line, "parameters exceed %u bytes", PTX_MAX_PARAM_BYTES);
        }
    } while (accept_punct(p, ','));
    expect_punct(p, ')');
    *bytes = off;
}

/* ---- instructions ------------------------------------------------------------------ */

typedef struct opinfo {
    uint8_t min_ops, max_ops, ndst;
} opinfo;

static const opinfo op_table[PO_COUNT] = {
    [PO_ABS] = { 2, 2, 1 }, [PO_ADD] = { 3, 3, 1 }, [PO_AND] = { 3, 3, 1 },
    [PO_ATOM] = { 3, 4, 1 }, [PO_BAR] = { 1, 2, 0 }, [PO_BARRIER] = { 1, 2, 0 },
    [PO_BFE] = { 4, 4, 1 }, [PO_BFI] = { 5, 5, 1 }, [PO_BRA] = { 1, 1, 0 },
    [PO_BREV] = { 2, 2, 1 }, [PO_CLZ] = { 2, 2, 1 }, [PO_CNOT] = { 2, 2, 1 },
    [PO_COPYSIGN] = { 3, 3, 1 }, [PO_COS] = { 2, 2, 1 }, [PO_CVT] = { 2, 2, 1 },
    [PO_CVTA] = { 2, 2, 1 }, [PO_DIV] = { 3, 3, 1 }, [PO_EX2] = { 2, 2, 1 },
    [PO_EXIT] = { 0, 0, 0 }, [PO_FMA] = { 4, 4, 1 }, [PO_LD] = { 2, 2, 1 },
    [PO_LDU] = { 2, 2, 1 }, [PO_LG2] = { 2, 2, 1 }, [PO_MAD] = { 4, 4, 1 },
    [PO_MAX] = { 3, 3, 1 }, [PO_MEMBAR] = { 0, 0, 0 }, [PO_FENCE] = { 0, 0, 0 },
    [PO_MIN] = { 3, 3, 1 }, [PO_MOV] = { 2, 2, 1 }, [PO_MUL] = { 3, 3, 1 },
    [PO_MUL24] = { 3, 3, 1 }, [PO_MAD24] = { 4, 4, 1 }, [PO_NEG] = { 2, 2, 1 },
    [PO_NOT] = { 2, 2, 1 }, [PO_OR] = { 3, 3, 1 }, [PO_POPC] = { 2, 2, 1 },
    [PO_PRMT] = { 4, 4, 1 }, [PO_RCP] = { 2, 2, 1 }, [PO_RED] = { 2, 2, 0 },
    [PO_REM] = { 3, 3, 1 }, [PO_RET] = { 0, 0, 0 }, [PO_RSQRT] = { 2, 2, 1 },
    [PO_SAD] = { 4, 4, 1 }, [PO_SELP] = { 4, 4, 1 }, [PO_SET] = { 3, 4, 1 },
    [PO_SETP] = { 3, 4, 1 }, [PO_SHF] = { 4, 4, 1 }, [PO_SHFL] = { 4, 5, 1 },
    [PO_SHL] = { 3, 3, 1 }, [PO_SHR] = { 3, 3, 1 }, [PO_SIN] = { 2, 2, 1 },
    [PO_SLCT] = { 4, 4, 1 }, [PO_SQRT] = { 2, 2, 1 }, [PO_ST] = { 2, 2, 0 },
    [PO_SUB] = { 3, 3, 1 }, [PO_TANH] = { 2, 2, 1 }, [PO_TESTP] = { 2, 2, 1 },
    [PO_TRAP] = { 0, 0, 0 }, [PO_VOTE] = { 2, 3, 1 }, [PO_XOR] = { 3, 3, 1 },
    [PO_ACTIVEMASK] = { 1, 1, 1 }, [PO_MATCH] = { 3, 4, 1 }, [PO_NANOSLEEP] = { 1, 1, 0 },
    [PO_PREFETCH] = { 1, 1, 0 }, [PO_CALL] = { 0, 0, 0 },
};

typedef struct modname {
    const char *name;
    uint8_t field;      /* which insn field it sets */
    uint8_t val;
} modname;

enum { F_RND = 1, F_CMP, F_BOOL, F_SUB, F_FLAG, F_ORDER, F_SCOPE, F_VEC, F_IGNORE };

/* Modifiers whose meaning does not depend on the instruction. */
static const modname mods[] = {
    { ".rn", F_RND, PR_RN }, { ".rz", F_RND, PR_RZ }, { ".rm", F_RND, PR_RM },
    { ".rp", F_RND, PR_RP }, { ".rni", F_RND, PR_RNI }, { ".rzi", F_RND, PR_RZI },
    { ".rmi", F_RND, PR_RMI }, { ".rpi", F_RND, PR_RPI },
    { ".eq", F_CMP, PC_EQ }, { ".ne", F_CMP, PC_NE }, { ".lt", F_CMP, PC_LT },
    { ".le", F_CMP, PC_LE }, { ".gt", F_CMP, PC_GT }, { ".ge", F_CMP, PC_GE },
    { ".ls", F_CMP, PC_LS }, { ".hs", F_CMP, PC_HS }, { ".equ", F_CMP, PC_EQU },
    { ".neu", F_CMP, PC_NEU }, { ".ltu", F_CMP, PC_LTU }, { ".leu", F_CMP, PC_LEU },
    { ".gtu", F_CMP, PC_GTU }, { ".geu", F_CMP, PC_GEU }, { ".num", F_CMP, PC_NUM },
    { ".nan", F_CMP, PC_NAN },
    { ".add", F_SUB, PX_ADD }, { ".min", F_SUB, PX_MIN }, { ".max", F_SUB, PX_MAX },
    { ".inc", F_SUB, PX_INC }, { ".dec", F_SUB, PX_DEC }, { ".exch", F_SUB, PX_EXCH },
    { ".cas", F_SUB, PX_CAS }, { ".up", F_SUB, PX_UP }, { ".down", F_SUB, PX_DOWN },
    { ".bfly", F_SUB, PX_BFLY }, { ".idx", F_SUB, PX_IDX }, { ".all", F_SUB, PX_ALL },
    { ".any", F_SUB, PX_ANY }, { ".ballot", F_SUB, PX_BALLOT }, { ".wide", F_SUB, PX_WIDE },
    { ".f4e", F_SUB, PX_F4E }, { ".b4e", F_SUB, PX_B4E }, { ".rc8", F_SUB, PX_RC8 },
    { ".ecl", F_SUB, PX_ECL }, { ".ecr", F_SUB, PX_ECR }, { ".rc16", F_SUB, PX_RC16 },
    { ".l", F_SUB, PX_L }, { ".r", F_SUB, PX_R },
    { ".ftz", F_FLAG, 0 }, { ".sat", F_FLAG, 1 }, { ".approx", F_FLAG, 2 },
    { ".full", F_FLAG, 3 }, { ".sync", F_FLAG, 5 }, { ".aligned", F_FLAG, 6 },
    { ".nc", F_FLAG, 7 }, { ".volatile", F_FLAG, 8 }, { ".to", F_FLAG, 9 },
    { ".cc", F_FLAG, 10 }, { ".wrap", F_FLAG, 11 }, { ".clamp", F_FLAG, 12 },
    { ".shiftamt", F_FLAG, 13 }, { ".arrive", F_FLAG, 14 },
    { ".weak", F_ORDER, PM_WEAK }, { ".relaxed", F_ORDER, PM_RELAXED },
    { ".acquire", F_ORDER, PM_ACQUIRE }, { ".release", F_ORDER, PM_RELEASE },
    { ".acq_rel", F_ORDER, PM_ACQ_REL }, { ".sc", F_ORDER, PM_SC },
    { ".cta", F_SCOPE, PSC_CTA }, { ".gpu", F_SCOPE, PSC_GPU }, { ".sys", F_SCOPE, PSC_SYS },
    { ".gl", F_SCOPE, PSC_GPU },
    { ".v2", F_VEC, 2 }, { ".v4", F_VEC, 4 },
    /* hints with no effect on results */
    { ".ca", F_IGNORE, 0 }, { ".cg", F_IGNORE, 0 }, { ".cs", F_IGNORE, 0 },
    { ".lu", F_IGNORE, 0 }, { ".cv", F_IGNORE, 0 }, { ".wb", F_IGNORE, 0 },
    { ".wt", F_IGNORE, 0 }, { ".mode", F_IGNORE, 0 }, { ".noftz", F_IGNORE, 0 },
};

static int lookup_op(const char *s, size_t n)
{
    for (int i = 0; i < PO_COUNT; i++) {
        if (strlen(ptx_op_name((unsigned int)i)) == n && memcmp(ptx_op_name((unsigned int)i), s, n) == 0) {
            return i;
        }
    }
    return -1;
}

/* The whole dotted opcode as written (for messages). */
typedef struct opcode_text {
    char s[96];
    uint32_t line;
} opcode_text;

static void unsupported(parser *p, const opcode_text *ot) __attribute__((noreturn));
static void unsupported(parser *p, const opcode_text *ot)
{
    perr(p, ot->line, "unsupported PTX '%s'", ot->s);
}

static void apply_mod(parser *p, ptx_insn *in, const ptx_tok *t, const opcode_text *ot)
{
    int ty = type_of(t), sp = space_of(t);
    if (ty) {
        if (!in->type) {
            in->type = (uint8_t)ty;
        } else if (!in->type2) {
            in->type2 = (uint8_t)ty;
        } else {
            unsupported(p, ot);
        }
        return;
    }
    if (sp > 0 && sp != PS_REG) {
        if (in->space) {
            unsupported(p, ot);
        }
        in->space = (uint8_t)sp;
        return;
    }
    /* Modifiers that read differently per instruction. */
    if (ptx_tok_is(t, ".lo") || ptx_tok_is(t, ".hi")) {
        int hi = ptx_tok_is(t, ".hi");
        if (in->op == PO_SETP || in->op == PO_SET) {
            in->cmp = hi ? PC_HI : PC_LO;
        } else {
            in->sub = hi ? PX_HI : PX_LO;
        }
        return;
    }
    if (ptx_tok_is(t, ".and") || ptx_tok_is(t, ".or") || ptx_tok_is(t, ".xor")) {
        int v = ptx_tok_is(t, ".and") ? 0 : ptx_tok_is(t, ".or") ? 1 : 2;
        if (in->op == PO_SETP || in->op == PO_SET) {
            in->boolop = (uint8_t)(PB_AND + v);
        } else {
            in->sub = (uint8_t)(PX_AND + v);
        }
        return;
    }
    if (ptx_tok_is(t, ".uni")) {
        if (in->op == PO_VOTE) {
            in->sub = PX_UNI;
        } else {
            in->flags |= PF_UNI;
        }
        return;
    }
    if (ptx_tok_is(t, ".warp") && in->op == PO_BAR) {
        in->flags |= PF_SYNC;
        in->sub = PX_ALL;       /* bar.warp.sync: a warp-level barrier */
        return;
    }
    for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
        if (!ptx_tok_is(t, mods[i].name)) {
            continue;
        }
        switch (mods[i].field) {
        case F_RND:
            in->rnd = mods[i].val;
            break;
        case F_CMP:
            if (in->op != PO_SETP && in->op != PO_SET) {
                unsupported(p, ot);
            }
            in->cmp = mods[i].val;
            break;
        case F_SUB:
            in->sub = mods[i].val;
            break;
        case F_FLAG:
            in->flags |= 1u << mods[i].val;
            break;
        case F_ORDER:
            in->order = mods[i].val;
            break;
        case F_SCOPE:
            in->scope = mods[i].val;
            break;
        case F_VEC:
            in->vec = mods[i].val;
            break;
        default:
            break;
        }
        return;
    }
    unsupported(p, ot);
}

static int sreg_of(const char *s, size_t n)
{
    static const char *const names[] = {
        "", "%tid", "%ntid", "%ctaid", "%nctaid", "%laneid", "%warpid", "%nwarpid", "%smid",
        "%nsmid", "%gridid", "%lanemask_eq", "%lanemask_lt", "%lanemask_le", "%lanemask_gt",
        "%lanemask_ge", "%clock", "%clock64", "%globaltimer", "%dynamic_smem_size",
        "%total_smem_size",
    };
    for (size_t i = 1; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) {
            return (int)i;
        }
    }
    return 0;
}

/* Label id for name, created (undefined) on first use. */
static int32_t label_ref(parser *p, const ptx_tok *t)
{
    ptx_func *f = p->f;
    int32_t e = st_find(&p->labels, t->s, t->n);
    if (e >= 0) {
        return p->labels.ents[e].val;
    }
    if (f->nlabels >= (1u << 20)) {
        perr(p, t->line, "too many labels");
    }
    f->labels = xrealloc(p, f->labels, f->nlabels + 1, sizeof(*f->labels));
    f->labels[f->nlabels].name = xstrndup(p, t->s, t->n);
    f->labels[f->nlabels].insn = -1;
    f->labels[f->nlabels].line = t->line;
    st_add(p, &p->labels, f->labels[f->nlabels].name, (int32_t)f->nlabels, 0);
    return (int32_t)f->nlabels++;
}

/* A named symbol as an operand: variable (function's first), function. */
static int resolve_symbol(parser *p, const ptx_tok *t, ptx_operand *o)
{
    int32_t e = st_find(&p->lvars, t->s, t->n);
    if (e >= 0) {
        o->kind = POK_VAR;
        o->val = p->lvars.ents[e].val;
        o->var_local = 1;
        return 1;
    }
    e = st_find(&p->gsyms, t->s, t->n);
    if (e >= 0) {
        int32_t v = p->gsyms.ents[e].val;
        if (v >= 0) {
            o->kind = POK_VAR;
            o->val = v;
        } else {
            o->kind = POK_FUNC;
            o->val = -1 - v;
        }
        return 1;
    }
    return 0;
}

static int64_t parse_offset(parser *p)
{
    int neg = ptx_tok_punct(peek(p), '-');
    ptx_tok t;
    if (!neg && !ptx_tok_punct(peek(p), '+')) {
        return 0;
    }
    next(p);
    if (!neg && accept_punct(p, '-')) {     /* clang writes [%rd1+-8] */
        neg = 1;
    }
    t = next(p);
    if (t.kind != TK_INT || t.ival > (1ull << 40)) {
        perr(p, t.line, "expected an offset after '%c'", neg ? '-' : '+');
    }
    return neg ? -(int64_t)t.ival : (int64_t)t.ival;
}

static int32_t expect_reg(parser *p, const ptx_tok *t)
{
    int32_t r = t->kind == TK_IDENT ? find_reg(p, t->s, t->n) : -1;
    if (r < 0) {
        perr(p, t->line, "undeclared register '%.*s'", (int)(t->n > 40 ? 40 : t->n), t->s);
    }
    return r;
}

static void parse_operand(parser *p, ptx_operand *o, int is_branch)
{
    ptx_tok t;
    memset(o, 0, sizeof(*o));
    o->val = -1;
    o->var = -1;
    if (accept_punct(p, '[')) {
        o->kind = POK_MEM;
        t = next(p);
        if (t.kind == TK_IDENT) {
            int32_t r = find_reg(p, t.s, t.n);
            if (r >= 0) {
                o->val = r;
            } else {
                ptx_operand s;
                memset(&s, 0, sizeof(s));
                if (!resolve_symbol(p, &t, &s) || s.kind != POK_VAR) {
                    perr(p, t.line, "undeclared register or variable '%.*s'",
                         (int)(t.n > 40 ? 40 : t.n), t.s);
                }
                o->var = s.val;
                o->var_local = s.var_local;
            }
            o->imm = parse_offset(p);
        } else if (t.kind == TK_INT) {
            o->imm = (int64_t)t.ival;
        } else {
            perr(p, t.line, "unsupported address expression");
        }
        expect_punct(p, ']');
        return;
    }
    if (accept_punct(p, '{')) {
        o->kind = POK_VEC;
        do {
            if (o->comp >= PTX_VEC_MAX) {
                perr(p, p->lx.line, "more than %d vector elements", PTX_VEC_MAX);
            }
            t = next(p);
            if (ptx_tok_is(&t, "_")) {
                o->vec[o->comp++] = -1;
            } else {
                o->vec[o->comp++] = expect_reg(p, &t);
            }
        } while (accept_punct(p, ','));
        expect_punct(p, '}');
        return;
    }
    if (accept_punct(p, '!')) {
        t = next(p);
        o->kind = POK_REG;
        o->val = expect_reg(p, &t);
        o->neg = 1;
        return;
    }
    int neg = accept_punct(p, '-');
    t = next(p);
    switch (t.kind) {
    case TK_INT:
        o->kind = POK_IMM;
        o->imm = neg ? (int64_t)(0 - t.ival) : (int64_t)t.ival;
        return;
    case TK_FBITS:
        o->kind = POK_IMM;
        o->comp = t.fbits;      /* float bits of this width */
        o->imm = (int64_t)t.ival;
        if (neg) {
            o->imm ^= t.fbits == 32 ? 0x80000000ll : INT64_MIN;
        }
        return;
    case TK_FLOAT:
        o->kind = POK_FIMM;
        o->fimm = neg ? -t.fval : t.fval;
        return;
    case TK_IDENT:
        if (neg) {
            break;
        }
        if (t.n == 1 && t.s[0] == '_') {
            o->kind = POK_SINK;
            return;
        }
        if (t.s[0] == '%') {
            int32_t r = find_reg(p, t.s, t.n);
            int sr;
            if (r >= 0) {
                o->kind = POK_REG;
                o->val = r;
                return;
            }
            sr = sreg_of(t.s, t.n);
            if (sr) {
                o->kind = POK_SREG;
                o->val = sr;
                if (sr <= PSR_NCTAID) {
                    const ptx_tok *c = peek(p);
                    if (c->kind != TK_DIR || c->space_before || c->n != 2 ||
                        (c->s[1] != 'x' && c->s[1] != 'y' && c->s[1] != 'z')) {
                        perr(p, t.line, "%.*s needs .x, .y or .z", (int)t.n, t.s);
                    }
                    o->comp = (uint8_t)(c->s[1] - 'x');
                    next(p);
                }
                return;
            }
            perr(p, t.line, "undeclared register '%.*s' (or unsupported special register)",
                 (int)(t.n > 40 ? 40 : t.n), t.s);
        }
        {
            int32_t r = find_reg(p, t.s, t.n);     /* registers need no '%' */
            if (r >= 0) {
                o->kind = POK_REG;
                o->val = r;
                return;
            }
        }
        if (is_branch) {
            o->kind = POK_LABEL;
            o->val = label_ref(p, &t);
            return;
        }
        if (resolve_symbol(p, &t, o)) {
            if (o->kind == POK_VAR) {
                o->imm = parse_offset(p);
            }
            return;
        }
        perr(p, t.line, "undeclared symbol '%.*s'", (int)(t.n > 40 ? 40 : t.n), t.s);
    default:
        break;
    }
    {
        char b[64];
        tokstr(&t, b, sizeof(b));
        perr(p, t.line, "expected an operand, found %s", b);
    }
}

static ptx_insn *new_insn(parser *p, uint32_t line)
{
    ptx_func *f = p->f;
    ptx_insn *in;
    if (f->ninsns >= PTX_MAX_INSNS) {
        perr(p, line, "more than %u instructions in %s", PTX_MAX_INSNS, f->name);
    }
    if ((f->ninsns & (f->ninsns - 1)) == 0) {
        f->insns = xrealloc(p, f->insns, f->ninsns ? f->ninsns * 2 : 16, sizeof(*f->insns));
    }
    in = &f->insns[f->ninsns++];
    memset(in, 0, sizeof(*in));
    in->guard = -1;
    in->line = line;
    in->vec = 1;
    return in;
}

/* call[.uni] [(ret, ...),] func, (arg, ...) [, proto]; */
static void parse_call(parser *p, ptx_insn *in)
{
    ptx_tok t;
    int32_t e;
    uint32_t cap = 0;
    if (accept_punct(p, '(')) {
        do {
            if (in->nret >= PTX_MAX_OPNDS - 1) {
                perr(p, in->line, "too many call results");
            }
            parse_operand(p, &in->ops[in->nret], 0);
            in->nret++;
        } while (accept_punct(p, ','));
        expect_punct(p, ')');
        expect_punct(p, ',');
    }
    t = expect_ident(p, "a function name");
    e = st_find(&p->gsyms, t.s, t.n);
    if (e < 0 || p->gsyms.ents[e].val >= 0) {
        perr(p, t.line, "unsupported PTX 'call' of '%.*s' (not a declared function; indirect "
             "calls are not supported)", (int)(t.n > 40 ? 40 : t.n), t.s);
    }
    memset(&in->ops[in->nret], 0, sizeof(in->ops[0]));
    in->ops[in->nret].kind = POK_FUNC;
    in->ops[in->nret].val = -1 - p->gsyms.ents[e].val;
    in->ops[in->nret].var = -1;
    in->nops = (uint8_t)(in->nret + 1);
    if (accept_punct(p, ',')) {
        expect_punct(p, '(');
        if (!accept_punct(p, ')')) {
            do {
                if (in->ncall_args >= 4096) {
                    perr(p, in->line, "too many call arguments");
                }
                GROW(p, in->call_args, in->ncall_args, cap);
                parse_operand(p, &in->call_args[in->ncall_args], 0);
                in->ncall_args++;
            } while (accept_punct(p, ','));
            expect_punct(p, ')');
        }
    }
    expect_punct(p, ';');
}

static void parse_insn(parser *p, ptx_tok first, int32_t guard, int guard_neg)
{
    opcode_text ot;
    ptx_insn *in;
    int op = lookup_op(first.s, first.n);
    size_t l;
    const opinfo *oi;

    /* the dotted opcode as written (for messages), then its modifiers */
    ptx_tok modt[16];
    int nmod = 0;
    l = (size_t)snprintf(ot.s, sizeof(ot.s), "%.*s", (int)(first.n > 40 ? 40 : first.n),
                         first.s);
    ot.line = first.line;
    for (;;) {
        const ptx_tok *t = ptx_lex_peek(&p->lx, 0);
        if (t->kind != TK_DIR || t->space_before) {
            break;
        }
        if (l < sizeof(ot.s) - 1) {
            l += (size_t)snprintf(ot.s + l, sizeof(ot.s) - l, "%.*s",
                                  (int)(t->n > 40 ? 40 : t->n), t->s);
        }
        if (nmod < 16) {
            modt[nmod] = *t;
        }
        nmod++;
        next(p);
    }
    if (op < 0 || nmod > 16) {
        unsupported(p, &ot);
    }
    in = new_insn(p, first.line);
    in->op = (uint16_t)op;
    in->guard = guard;
    in->guard_neg = (uint8_t)guard_neg;
    for (int k = 0; k < nmod; k++) {
        apply_mod(p, in, &modt[k], &ot);
    }
    if (op == PO_CALL) {
        parse_call(p, in);
        return;
    }
    oi = &op_table[op];
    in->ndst = oi->ndst;
    if (!ptx_tok_punct(peek(p), ';')) {
        do {
            if (in->nops >= PTX_MAX_OPNDS) {
                perr(p, first.line, "too many operands for '%s'", ot.s);
            }
            parse_operand(p, &in->ops[in->nops], op == PO_BRA);
            in->nops++;
            /* setp's two results: p|q */
            if (in->nops == 1 && (op == PO_SETP || op == PO_SHFL) && accept_punct(p, '|')) {
                parse_operand(p, &in->ops[in->nops], 0);
                in->nops++;
                in->ndst = 2;
            }
        } while (accept_punct(p, ','));
    }
    expect_punct(p, ';');
    {
        int n = in->nops - (in->ndst == 2 ? 1 : 0);
        if (n < oi->min_ops || n > oi->max_ops) {
            perr(p, first.line, "'%s' takes %u..%u operands, %d given", ot.s, oi->min_ops,
                 oi->max_ops, n);
        }
    }
    if (in->ndst && in->nops && in->ops[0].kind != POK_REG && in->ops[0].kind != POK_VEC &&
        in->ops[0].kind != POK_SINK) {
        perr(p, first.line, "'%s': the destination must be a register", ot.s);
    }
    if ((op == PO_LD || op == PO_LDU) && in->ops[1].kind != POK_MEM) {
        perr(p, first.line, "'%s': the source must be an address [..]", ot.s);
    }
    if ((op == PO_ST || op == PO_RED || op == PO_ATOM) &&
        in->ops[op == PO_ATOM ? 1 : 0].kind != POK_MEM) {
        perr(p, first.line, "'%s': needs an address [..]", ot.s);
    }
    if (op == PO_ATOM || op == PO_RED) {
        int want = (op == PO_ATOM ? 3 : 2) + (in->sub == PX_CAS ? 1 : 0);
        if (!in->sub || in->nops != want) {
            perr(p, first.line, "'%s': wrong operation or operand count", ot.s);
        }
    }
    if ((in->vec > 1) != (in->nops && (in->ops[op == PO_ST ? 1 : 0].kind == POK_VEC)) &&
        (op == PO_LD || op == PO_ST || op == PO_LDU)) {
        perr(p, first.line, "'%s': vector width and operand do not match", ot.s);
    }
    if (in->vec > 1 && (op == PO_LD || op == PO_ST || op == PO_LDU) &&
        in->ops[op == PO_ST ? 1 : 0].comp != in->vec) {
        perr(p, first.line, "'%s': %u-element vector expected", ot.s, in->vec);
    }
}

static void parse_perf_directives(parser *p)
{
    for (;;) {
        const ptx_tok *t = peek(p);
        uint32_t *dst = NULL;
        int n = 0;
        if (t->kind != TK_DIR) {
            return;
        }
        if (ptx_tok_is(t, ".maxntid")) {
            dst = p->f->maxntid;
            n = 3;
        } else if (ptx_tok_is(t, ".reqntid")) {
            dst = p->f->reqntid;
            n = 3;
        } else if (ptx_tok_is(t, ".minnctapersm")) {
            dst = &p->f->minnctapersm;
            n = 1;
        } else if (ptx_tok_is(t, ".maxnreg")) {
            dst = &p->f->maxnreg;
            n = 1;
        } else if (ptx_tok_is(t, ".noreturn")) {
            next(p);
            continue;
        } else {
            return;
        }
        next(p);
        for (int i = 0; i < n; i++) {
            dst[i] = (uint32_t)expect_uint(p, "a number", 1u << 20);
            if (i + 1 < n && !accept_punct(p, ',')) {
                break;
            }
        }
    }
}

static void add_local_var(parser *p, int space, uint32_t line)
{
    ptx_func *f = p->f;
    if (f->nvars >= 65536) {
        perr(p, line, "too many variables in %s", f->name);
    }
    f->vars = xrealloc(p, f->vars, f->nvars + 1, sizeof(*f->vars));
    memset(&f->vars[f->nvars], 0, sizeof(f->vars[0]));
    f->nvars++;     /* counted first: freed with the module if parsing fails */
    parse_var(p, &f->vars[f->nvars - 1], space, 0, line);
    if (f->vars[f->nvars - 1].space == PS_SHARED && !f->vars[f->nvars - 1].size) {
        perr(p, line, "unsized .shared array inside a function");
    }
    if (st_add(p, &p->lvars, f->vars[f->nvars - 1].name, (int32_t)(f->nvars - 1), p->depth)) {
        perr(p, line, "variable %s declared twice", f->vars[f->nvars - 1].name);
    }
}

static void parse_body(parser *p)
{
    ptx_func *f = p->f;
    p->depth = 1;
    while (p->depth > 0) {
        ptx_tok t = next(p);
        int32_t guard = -1;
        int guard_neg = 0;
        if (t.kind == TK_EOF) {
            perr(p, t.line, "unexpected end of file in %s", f->name);
        }
        if (ptx_tok_punct(&t, '{')) {
            if (++p->depth > 64) {
                perr(p, t.line, "braces nested too deep");
            }
            continue;
        }
        if (ptx_tok_punct(&t, '}')) {
            p->depth--;
            st_pop(p, &p->regs, p->depth);
            st_pop(p, &p->lvars, p->depth);
            continue;
        }
        if (t.kind == TK_DIR) {
            int sp = space_of(&t);
            if (sp == PS_REG) {
                declare_regs(p, t.line);
            } else if (sp == PS_LOCAL || sp == PS_SHARED || sp == PS_PARAM) {
                add_local_var(p, sp, t.line);
            } else if (ptx_tok_is(&t, ".pragma")) {
                skip_statement(p, t.line, 0);
            } else if (ptx_tok_is(&t, ".loc")) {
                skip_statement(p, t.line, 1);
            } else {
                perr(p, t.line, "unsupported PTX '%.*s' in a function body",
                     (int)(t.n > 40 ? 40 : t.n), t.s);
            }
            continue;
        }
        if (t.kind == TK_IDENT && ptx_tok_punct(peek(p), ':')) {
            int32_t id = label_ref(p, &t);
            next(p);
            if (f->labels[id].insn >= 0) {
                perr(p, t.line, "label %.*s defined twice", (int)t.n, t.s);
            }
            f->labels[id].insn = (int32_t)f->ninsns;
            f->labels[id].line = t.line;
            continue;
        }
        if (ptx_tok_punct(&t, '@')) {
            guard_neg = accept_punct(p, '!');
            t = next(p);
            guard = expect_reg(p, &t);
            if (f->reg_type[guard] != PT_PRED) {
                perr(p, t.line, "guard %.*s is not a predicate", (int)t.n, t.s);
            }
            t = next(p);
        }
        if (t.kind != TK_IDENT) {
            char b[64];
            tokstr(&t, b, sizeof(b));
            perr(p, t.line, "expected an instruction, found %s", b);
        }
        parse_insn(p, t, guard, guard_neg);
    }
    for (uint32_t i = 0; i < f->nlabels; i++) {
        if (f->labels[i].insn < 0) {
            perr(p, f->labels[i].line, "label %s used but not defined", f->labels[i].name);
        }
    }
    f->has_body = 1;
}

/* [.visible|.extern|.weak] .entry/.func ... */
static void parse_function(parser *p, int is_entry, int visible, int is_extern, uint32_t line)
{
    ptx_module *m = p->m;
    ptx_func *f;
    ptx_tok name;
    int32_t e;
    if (m->nfuncs >= 65536) {
        perr(p, line, "too many functions");
    }
    m->funcs = xrealloc(p, m->funcs, m->nfuncs + 1, sizeof(*m->funcs));
    f = &m->funcs[m->nfuncs++];
    memset(f, 0, sizeof(*f));
    p->f = f;
    f->is_entry = (uint8_t)is_entry;
    f->visible = (uint8_t)visible;
    f->is_extern = (uint8_t)is_extern;
    f->line = line;
    if (!is_entry && ptx_tok_punct(peek(p), '(')) {
        uint32_t bytes;
        parse_param_list(p, &f->rets, &f->nrets, &bytes, 0);
    }
    name = expect_ident(p, "a function name");
    f->name = xstrndup(p, name.s, name.n);
    if (ptx_tok_punct(peek(p), '(')) {
        parse_param_list(p, &f->params, &f->nparams, &f->param_bytes, is_entry);
    }
    parse_perf_directives(p);
    /* A definition after a prototype replaces it. */
    e = st_find(&p->gsyms, f->name, strlen(f->name));
    if (e >= 0) {
        int32_t v = p->gsyms.ents[e].val;
        ptx_func *old = v < 0 ? &m->funcs[-1 - v] : NULL;
        if (!old || old->has_body || ptx_tok_punct(peek(p), ';')) {
            perr(p, line, "%s declared twice", f->name);
        }
        p->gsyms.ents[e].val = -1 - (int32_t)(m->nfuncs - 1);
        old->name[0] = 0;   /* the prototype stays, nameless, as a declaration */
    } else {
        st_add(p, &p->gsyms, f->name, -1 - (int32_t)(m->nfuncs - 1), 0);
    }
    if (accept_punct(p, ';')) {
        return;
    }
    expect_punct(p, '{');
    for (uint32_t i = 0; i < f->nparams; i++) {
        /* parameters are addressed by name in ld.param */
        ptx_var v;
        memset(&v, 0, sizeof(v));
        v.name = xstrndup(p, f->params[i].name, strlen(f->params[i].name));
        v.space = PS_PARAM;
        v.type = f->params[i].type;
        v.align = f->params[i].align;
        v.size = f->params[i].size;
        v.line = line;
        f->vars = xrealloc(p, f->vars, f->nvars + 1, sizeof(*f->vars));
        f->vars[f->nvars++] = v;
        if (st_add(p, &p->lvars, f->vars[f->nvars - 1].name, (int32_t)(f->nvars - 1), 0)) {
            perr(p, line, "parameter %s declared twice", v.name);
        }
    }
    for (uint32_t i = 0; i < f->nrets; i++) {
        ptx_var v;
        memset(&v, 0, sizeof(v));
        v.name = xstrndup(p, f->rets[i].name, strlen(f->rets[i].name));
        v.space = PS_PARAM;
        v.type = f->rets[i].type;
        v.align = f->rets[i].align;
        v.size = f->rets[i].size;
        v.line = line;
        f->vars = xrealloc(p, f->vars, f->nvars + 1, sizeof(*f->vars));
        f->vars[f->nvars++] = v;
        if (st_add(p, &p->lvars, f->vars[f->nvars - 1].name, (int32_t)(f->nvars - 1), 0)) {
            perr(p, line, "parameter %s declared twice", v.name);
        }
    }
    parse_body(p);
    st_free(&p->regs);
    st_free(&p->lvars);
    st_free(&p->labels);
    p->f = NULL;
}

static void parse_module(parser *p)
{
    ptx_module *m = p->m;
    ptx_tok t = next(p);
    if (!ptx_tok_is(&t, ".version")) {
        perr(p, t.line, "PTX must start with .version");
    }
    t = next(p);
    if (t.kind != TK_FLOAT) {
        perr(p, t.line, "expected a version number after .version");
    }
    {
        /* "6.4" lexes as a float: take the text apart instead */
        const char *dot = memchr(t.s, '.', t.n);
        m->version_major = (uint32_t)strtoul(t.s, NULL, 10);
        m->version_minor = dot ? (uint32_t)strtoul(dot + 1, NULL, 10) : 0;
    }
    if (m->version_major < 6 || m->version_major > 9) {
        perr(p, t.line, "unsupported PTX ISA version %u.%u (6.0 to 9.x are)", m->version_major,
             m->version_minor);
    }
    for (;;) {
        int visible = 0, is_extern = 0, sp;
        t = next(p);
        if (t.kind == TK_EOF) {
            break;
        }
        if (ptx_tok_is(&t, ".target")) {
            ptx_tok a = expect_ident(p, "a target");
            snprintf(m->target, sizeof(m->target), "%.*s", (int)(a.n > 31 ? 31 : a.n), a.s);
            while (accept_punct(p, ',')) {
                ptx_tok o = expect_ident(p, "a target option");
                if (ptx_tok_is(&o, "texmode_independent") || ptx_tok_is(&o, "map_f64_to_f32")) {
                    perr(p, o.line, "unsupported PTX '.target %.*s'", (int)o.n, o.s);
                }
            }
            continue;
        }
        if (ptx_tok_is(&t, ".address_size")) {
            m->address_size = (uint32_t)expect_uint(p, "an address size", 64);
            if (m->address_size != 64) {
                perr(p, t.line, "unsupported PTX '.address_size %u' (the card is 64-bit)",
                     m->address_size);
            }
            continue;
        }
        if (ptx_tok_is(&t, ".file")) {
            skip_statement(p, t.line, 1);
            continue;
        }
        if (ptx_tok_is(&t, ".section")) {
            perr(p, t.line, "unsupported PTX '.section' (debug sections: build without -g)");
        }
        while (t.kind == TK_DIR && (ptx_tok_is(&t, ".visible") || ptx_tok_is(&t, ".extern") ||
                                    ptx_tok_is(&t, ".weak"))) {
            visible |= ptx_tok_is(&t, ".visible") || ptx_tok_is(&t, ".weak");
            is_extern |= ptx_tok_is(&t, ".extern");
            t = next(p);
        }
        if (ptx_tok_is(&t, ".entry") || ptx_tok_is(&t, ".func")) {
            parse_function(p, ptx_tok_is(&t, ".entry"), visible, is_extern, t.line);
            continue;
        }
        sp = space_of(&t);
        if (sp == PS_GLOBAL || sp == PS_SHARED || sp == PS_CONST || sp == PS_LOCAL) {
            ptx_var *v;
            if (m->nvars >= 65536) {
                perr(p, t.line, "too many module variables");
            }
            m->vars = xrealloc(p, m->vars, m->nvars + 1, sizeof(*m->vars));
            v = &m->vars[m->nvars];
            memset(v, 0, sizeof(*v));
            m->nvars++;
            parse_var(p, v, sp, is_extern, t.line);
            v->visible = (uint8_t)visible;
            if (is_extern && sp != PS_SHARED) {
                perr(p, t.line, "unsupported PTX '.extern .%s' (no linking of separate "
                     "modules)", ptx_space_name((unsigned int)sp));
            }
            if (st_add(p, &p->gsyms, v->name, (int32_t)(m->nvars - 1), 0)) {
                perr(p, t.line, "%s declared twice", v->name);
            }
            continue;
        }
        {
            char b[64];
            tokstr(&t, b, sizeof(b));
            if (t.kind == TK_DIR) {
                perr(p, t.line, "unsupported PTX %s", b);
            }
            perr(p, t.line, "expected a directive, found %s", b);
        }
    }
    if (!m->address_size) {
        perr(p, p->lx.line, "missing .address_size 64");
    }
    for (uint32_t i = 0; i < m->nfuncs; i++) {
        const ptx_func *f = &m->funcs[i];
        if (f->name[0] && !f->has_body) {
            /* called but never defined: nothing to link against */
            for (uint32_t j = 0; j < m->nfuncs; j++) {
                for (uint32_t k = 0; k < m->funcs[j].ninsns; k++) {
                    const ptx_insn *in = &m->funcs[j].insns[k];
                    if (in->op == PO_CALL && in->ops[in->nret].val == (int32_t)i) {
                        perr(p, in->line, "unsupported PTX 'call' of %s: declared but not "
                             "defined (libdevice/external functions are not linked)", f->name);
                    }
                }
            }
        }
    }
}

static int parse_text(const char *text, size_t len, const char *file, ptx_module *out,
                      char *err, size_t errlen)
{
    parser *p = calloc(1, sizeof(*p));
    volatile int rc = 0;
    char dummy[8];
    memset(out, 0, sizeof(*out));
    if (!p) {
        snprintf(err, errlen, "%s: out of host memory", file);
        return -1;
    }
    ptx_lex_init(&p->lx, text, len);
    p->m = out;
    p->file = file ? file : "<ptx>";
    p->err = err && errlen ? err : dummy;
    p->errlen = err && errlen ? errlen : sizeof(dummy);
    if (setjmp(p->fail) == 0) {
        out->file = xstrndup(p, p->file, strlen(p->file));
        parse_module(p);
    } else {
        rc = -1;
    }
    st_free(&p->gsyms);
    st_free(&p->regs);
    st_free(&p->lvars);
    st_free(&p->labels);
    free(p);
    if (rc) {
        ptx_module_free(out);
    }
    return rc;
}

/* Calls of vprintf/__assertfail get their definitions (ptx_devlib.c). */
int ptx_parse(const char *text, size_t len, const char *file, ptx_module *out, char *err,
              size_t errlen)
{
    char *lib;
    size_t lib_len;
    int rc = zk_ptx_devlib_augment(text, len, &lib, &lib_len);
    if (rc < 0) {
        memset(out, 0, sizeof(*out));
        snprintf(err, errlen, "%s: out of host memory", file ? file : "<ptx>");
        return -1;
    }
    rc = parse_text(lib ? lib : text, lib ? lib_len : len, file, out, err, errlen);
    free(lib);
    return rc;
}
