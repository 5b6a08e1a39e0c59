/* SPDX-License-Identifier: MIT */
/*
 * zkcc_lex.c - arena, error reporting, the lexer and the public entry
 * points of the zhikai kernel-language compiler.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk_asm.h"
#include "zkcc.h"
#include "zkcc_int.h"

struct ArenaBlock {
    ArenaBlock *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

void *zc_alloc(Ctx *c, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    ArenaBlock *b = c->arena;
    if (!b || b->used + n > b->cap) {
        size_t cap = n > 65536 ? n : 65536;
        b = malloc(sizeof(*b) + cap);
        if (!b) {
            zc_error(c, 0, 0, "out of memory");
        }
        b->next = c->arena;
        b->used = 0;
        b->cap = cap;
        c->arena = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *zc_strndup(Ctx *c, const char *s, size_t n)
{
    char *p = zc_alloc(c, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void zc_arena_free(Ctx *c)
{
    while (c->arena) {
        ArenaBlock *n = c->arena->next;
        free(c->arena);
        c->arena = n;
    }
}

void zc_error(Ctx *c, int line, int col, const char *fmt, ...)
{
    int n = line > 0 ? snprintf(c->err, c->errlen, "%s:%d:%d: error: ", c->fname, line, col)
                     : snprintf(c->err, c->errlen, "%s: error: ", c->fname);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < c->errlen) {
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    }
    va_end(ap);
    longjmp(c->jb, 1);
}

/* ---------------------------------------------------------------- */
/* Lexer                                                             */
/* ---------------------------------------------------------------- */
static const char *const puncts[] = {
    /* longest first */
    "<<=", ">>=",
    "..", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "+=", "-=", "*=",
    "/=", "%=", "&=", "|=", "^=",
    "(", ")", "{", "}", "[", "]", ",", ";", ":", ".", "+", "-", "*", "/",
    "%", "&", "|", "^", "~", "!", "<", ">", "=",
};

Tok *zc_lex(Ctx *c, int *ntok)
{
    int cap = 256, n = 0;
    Tok *t = zc_alloc(c, sizeof(*t) * (size_t)cap);
    const char *p = c->src;
    int line = 1;
    const char *bol = p;        /* beginning of the current line */
    for (;;) {
        /* whitespace and comments */
        for (;;) {
            if (*p == '\n') {
                p++;
                line++;
                bol = p;
            } else if (isspace((unsigned char)*p)) {
                p++;
            } else if (p[0] == '/' && p[1] == '/') {
                while (*p && *p != '\n') {
                    p++;
                }
            } else if (p[0] == '/' && p[1] == '*') {
                int l0 = line, c0 = (int)(p - bol) + 1;
                p += 2;
                while (*p && !(p[0] == '*' && p[1] == '/')) {
                    if (*p == '\n') {
                        line++;
                        bol = p + 1;
                    }
                    p++;
                }
                if (!*p) {
                    zc_error(c, l0, c0, "unterminated comment");
                }
                p += 2;
            } else {
                break;
            }
        }
        if (n + 1 >= cap) {
            Tok *nt = zc_alloc(c, sizeof(*t) * (size_t)cap * 2);
            memcpy(nt, t, sizeof(*t) * (size_t)n);
            t = nt;
            cap *= 2;
        }
        Tok *k = &t[n++];
        k->s = p;
        k->line = line;
        k->col = (int)(p - bol) + 1;
        if (!*p) {
            k->k = TK_EOF;
            break;
        }
        if (isalpha((unsigned char)*p) || *p == '_') {
            while (isalnum((unsigned char)*p) || *p == '_') {
                p++;
            }
            k->k = TK_IDENT;
        } else if (isdigit((unsigned char)*p)) {
            const char *q = p;
            bool isfloat = false;
            if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
                q = p + 2;
                while (isxdigit((unsigned char)*q)) {
                    q++;
                }
            } else {
                while (isdigit((unsigned char)*q)) {
                    q++;
                }
                if (q[0] == '.' && isdigit((unsigned char)q[1])) {
                    isfloat = true;
                    q++;
                    while (isdigit((unsigned char)*q)) {
                        q++;
                    }
                }
                if ((*q == 'e' || *q == 'E') &&
                    (isdigit((unsigned char)q[1]) ||
                     ((q[1] == '-' || q[1] == '+') && isdigit((unsigned char)q[2])))) {
                    isfloat = true;
                    q += 2;
                    while (isdigit((unsigned char)*q)) {
                        q++;
                    }
                }
            }
            char buf[128];
            size_t len = (size_t)(q - p);
            if (len >= sizeof(buf)) {
                zc_error(c, k->line, k->col, "number too long");
            }
            memcpy(buf, p, len);
            buf[len] = 0;
            errno = 0;
            if (isfloat) {
                k->k = TK_FLOAT;
                k->fval = strtod(buf, NULL);
                if (*q == 'f') {
                    q++;
                }
            } else {
                k->k = TK_INT;
                k->ival = strtoull(buf, NULL, 0);
                if (errno == ERANGE || (len == 2 && (buf[1] == 'x' || buf[1] == 'X'))) {
                    zc_error(c, k->line, k->col, "bad integer constant '%s'", buf);
                }
            }
            if (isalnum((unsigned char)*q) || *q == '_') {
                zc_error(c, k->line, k->col, "bad number '%.*s'", (int)(q - p) + 1, p);
            }
            p = q;
        } else {
            k->k = TK_PUNCT;
            for (size_t i = 0; i < sizeof(puncts) / sizeof(puncts[0]); i++) {
                size_t l = strlen(puncts[i]);
                if (!strncmp(p, puncts[i], l)) {
                    p += l;
                    break;
                }
            }
            if (p == k->s) {
                if (isprint((unsigned char)*p)) {
                    zc_error(c, k->line, k->col, "unexpected character '%c'", *p);
                }
                zc_error(c, k->line, k->col, "unexpected byte 0x%02x", (unsigned char)*p);
            }
        }
        k->len = (int)(p - k->s);
    }
    *ntok = n;
    return t;
}

/* ---------------------------------------------------------------- */
/* Entry points                                                      */
/* ---------------------------------------------------------------- */
int zkcc_compile(const char *src, const char *fname, char **asm_text,
                 char *err, size_t errlen)
{
    Ctx c = { .src = src, .fname = fname, .err = err, .errlen = errlen };
    *asm_text = NULL;
    if (errlen) {
        err[0] = 0;
    }
    if (setjmp(c.jb)) {
        zc_arena_free(&c);
        free(c.out);
        return -1;
    }
    int ntok;
    Tok *toks = zc_lex(&c, &ntok);
    Program *p = zc_parse(&c, toks, ntok);
    zc_gen(&c, p);
    zc_arena_free(&c);
    *asm_text = c.out;
    return 0;
}

int zkcc_compile_obj(const char *src, const char *fname, uint8_t **obj,
                     size_t *len, char *err, size_t errlen)
{
    char *text;
    if (zkcc_compile(src, fname, &text, err, errlen)) {
        return -1;
    }
    char aerr[512];
    int r = zk_asm(text, fname, obj, len, aerr, sizeof(aerr));
    if (r) {
        /* The generated code should always assemble: a compiler bug. */
        snprintf(err, errlen, "%s: internal error: assembler: %s", fname, aerr);
    }
    free(text);
    return r;
}
