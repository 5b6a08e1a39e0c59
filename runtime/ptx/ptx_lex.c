/* SPDX-License-Identifier: MIT */
/*
 * ptx_lex.c - PTX lexer: identifiers, dotted directives/modifiers (".f32"
 * is its own token; the parser glues "ld" ".global" ".f32" back together
 * when no blank separates them), numbers in every PTX spelling, hex float
 * bit patterns (0f/0d), strings, punctuation; comments skipped.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ptx_lex.h"

void ptx_lex_init(ptx_lexer *lx, const char *src, size_t len)
{
    memset(lx, 0, sizeof(*lx));
    lx->src = src;
    lx->len = len;
    lx->line = 1;
}

static int is_follow(int c)
{
    return isalnum(c) || c == '_' || c == '$';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Skip blanks and comments; returns whether anything was skipped. */
static int skip_space(ptx_lexer *lx)
{
    size_t start = lx->pos;
    while (lx->pos < lx->len) {
        char c = lx->src[lx->pos];
        if (c == '\n') {
            lx->line++;
            lx->pos++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            lx->pos++;
        } else if (c == '/' && lx->pos + 1 < lx->len && lx->src[lx->pos + 1] == '/') {
            while (lx->pos < lx->len && lx->src[lx->pos] != '\n') {
                lx->pos++;
            }
        } else if (c == '/' && lx->pos + 1 < lx->len && lx->src[lx->pos + 1] == '*') {
            lx->pos += 2;
            while (lx->pos < lx->len &&
                   !(lx->src[lx->pos] == '*' && lx->pos + 1 < lx->len &&
                     lx->src[lx->pos + 1] == '/')) {
                if (lx->src[lx->pos] == '\n') {
                    lx->line++;
                }
                lx->pos++;
            }
            lx->pos = lx->pos + 2 < lx->len ? lx->pos + 2 : lx->len;
        } else {
            break;
        }
    }
    return lx->pos != start;
}

static void lex_number(ptx_lexer *lx, ptx_tok *t)
{
    const char *s = lx->src;
    size_t p = lx->pos, n = lx->len;
    uint64_t v = 0;
    int overflow = 0;
    /* 0f / 0d hex float bit patterns */
    if (s[p] == '0' && p + 1 < n && (s[p + 1] == 'f' || s[p + 1] == 'F' || s[p + 1] == 'd' ||
                                     s[p + 1] == 'D')) {
        int digits = (s[p + 1] == 'f' || s[p + 1] == 'F') ? 8 : 16, i;
        for (i = 0; i < digits && p + 2 + i < n && hexval(s[p + 2 + i]) >= 0; i++) {
            v = v << 4 | (uint64_t)hexval(s[p + 2 + i]);
        }
        if (i == digits && !(p + 2 + i < n && is_follow(s[p + 2 + i]))) {
            t->kind = TK_FBITS;
            t->fbits = digits == 8 ? 32 : 64;
            t->ival = v;
            lx->pos = p + 2 + (size_t)digits;
            return;
        }
        t->kind = TK_BAD;
        lx->pos = p + 2;
        return;
    }
    if (s[p] == '0' && p + 1 < n && (s[p + 1] == 'x' || s[p + 1] == 'X')) {
        p += 2;
        if (p >= n || hexval(s[p]) < 0) {
            t->kind = TK_BAD;
            lx->pos = p;
            return;
        }
        while (p < n && hexval(s[p]) >= 0) {
            overflow |= v >> 60 != 0;
            v = v << 4 | (uint64_t)hexval(s[p++]);
        }
    } else if (s[p] == '0' && p + 1 < n && (s[p + 1] == 'b' || s[p + 1] == 'B')) {
        p += 2;
        while (p < n && (s[p] == '0' || s[p] == '1')) {
            overflow |= v >> 63 != 0;
            v = v << 1 | (uint64_t)(s[p++] - '0');
        }
    } else {
        size_t q = p;
        while (q < n && isdigit((unsigned char)s[q])) {
            q++;
        }
        if (q < n && (s[q] == '.' || s[q] == 'e' || s[q] == 'E')) {
            char buf[64];
            size_t m = 0;
            char *end;
            while (q < n && m < sizeof(buf) - 1 &&
                   (isdigit((unsigned char)s[q]) || s[q] == '.' || s[q] == 'e' || s[q] == 'E' ||
                    ((s[q] == '+' || s[q] == '-') && (s[q - 1] == 'e' || s[q - 1] == 'E')))) {
                q++;
            }
            m = q - p < sizeof(buf) - 1 ? q - p : sizeof(buf) - 1;
            memcpy(buf, s + p, m);
            buf[m] = 0;
            t->kind = TK_FLOAT;
            t->fval = strtod(buf, &end);
            if ((size_t)(end - buf) != m) {
                t->kind = TK_BAD;
            }
            lx->pos = q;
            return;
        }
        if (s[p] == '0') {      /* octal */
            while (p < n && s[p] >= '0' && s[p] <= '7') {
                overflow |= v >> 61 != 0;
                v = v << 3 | (uint64_t)(s[p++] - '0');
            }
        } else {
            while (p < n && isdigit((unsigned char)s[p])) {
                uint64_t d = (uint64_t)(s[p++] - '0');
                overflow |= v > (UINT64_MAX - d) / 10;
                v = v * 10 + d;
            }
        }
    }
    if (p < n && (s[p] == 'U' || s[p] == 'u')) {
        p++;
    }
    t->kind = overflow || (p < n && is_follow(s[p])) ? TK_BAD : TK_INT;
    t->ival = v;
    lx->pos = p;
}

static ptx_tok lex_one(ptx_lexer *lx)
{
    ptx_tok t;
    const char *s = lx->src;
    char c;
    memset(&t, 0, sizeof(t));
    t.space_before = (uint8_t)skip_space(lx);
    t.line = lx->line;
    t.s = s + lx->pos;
    if (lx->pos >= lx->len) {
        t.kind = TK_EOF;
        return t;
    }
    c = s[lx->pos];
    if (isalpha((unsigned char)c) || c == '_' || c == '$' || c == '%') {
        lx->pos++;
        while (lx->pos < lx->len && is_follow((unsigned char)s[lx->pos])) {
            lx->pos++;
        }
        t.kind = TK_IDENT;
    } else if (c == '.' && lx->pos + 1 < lx->len &&
               (isalnum((unsigned char)s[lx->pos + 1]) || s[lx->pos + 1] == '_')) {
        lx->pos++;
        while (lx->pos < lx->len && (isalnum((unsigned char)s[lx->pos]) || s[lx->pos] == '_')) {
            lx->pos++;
        }
        /* .shared::cta, .L2::evict_last: keep the qualifier in the token */
        while (lx->pos + 2 < lx->len && s[lx->pos] == ':' && s[lx->pos + 1] == ':' &&
               (isalnum((unsigned char)s[lx->pos + 2]) || s[lx->pos + 2] == '_')) {
            lx->pos += 2;
            while (lx->pos < lx->len &&
                   (isalnum((unsigned char)s[lx->pos]) || s[lx->pos] == '_')) {
                lx->pos++;
            }
        }
        t.kind = TK_DIR;
    } else if (isdigit((unsigned char)c)) {
        lex_number(lx, &t);
    } else if (c == '"') {
        lx->pos++;
        t.s = s + lx->pos;
        while (lx->pos < lx->len && s[lx->pos] != '"' && s[lx->pos] != '\n') {
            lx->pos++;
        }
        t.n = (uint32_t)(s + lx->pos - t.s);
        t.kind = lx->pos < lx->len && s[lx->pos] == '"' ? TK_STRING : TK_BAD;
        if (lx->pos < lx->len && s[lx->pos] == '"') {
            lx->pos++;
        }
        return t;
    } else if (strchr(",;:[]{}()+-!@|=<>", c) && c) {
        lx->pos++;
        t.kind = TK_PUNCT;
        t.punct = c;
    } else {
        lx->pos++;
        t.kind = TK_BAD;
    }
    t.n = (uint32_t)(s + lx->pos - t.s);
    return t;
}

const ptx_tok *ptx_lex_peek(ptx_lexer *lx, int k)
{
    while (lx->npeek <= k) {
        lx->peek[lx->npeek++] = lex_one(lx);
    }
    return &lx->peek[k];
}

ptx_tok ptx_lex_next(ptx_lexer *lx)
{
    ptx_tok t;
    ptx_lex_peek(lx, 0);
    t = lx->peek[0];
    memmove(&lx->peek[0], &lx->peek[1], sizeof(lx->peek[0]) * (size_t)(lx->npeek - 1));
    lx->npeek--;
    return t;
}

int ptx_tok_is(const ptx_tok *t, const char *text)
{
    size_t n = strlen(text);
    return (t->kind == TK_IDENT || t->kind == TK_DIR) && t->n == n && memcmp(t->s, text, n) == 0;
}

int ptx_tok_punct(const ptx_tok *t, char c)
{
    return t->kind == TK_PUNCT && t->punct == c;
}
