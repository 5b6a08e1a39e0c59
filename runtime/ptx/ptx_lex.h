/* SPDX-License-Identifier: MIT */
/* ptx_lex.h - PTX tokens (internal to the parser). */
#ifndef PTX_LEX_H
#define PTX_LEX_H

#include <stddef.h>
#include <stdint.h>

enum {
    TK_EOF = 0,
    TK_IDENT,       /* foo, %r1, $L__BB0_2, _ */
    TK_DIR,         /* .version, .f32, .x (the text includes the dot) */
    TK_INT,         /* 42, 0x2a, 052, 0b101 (ival), optional U suffix */
    TK_FLOAT,       /* 1.5, 2e3 (fval) */
    TK_FBITS,       /* 0f3F800000 (bits 32), 0d3FF0000000000000 (bits 64) */
    TK_STRING,      /* "..." (text without quotes) */
    TK_PUNCT,       /* one of , ; : [ ] { } ( ) + - ! @ | = < > */
    TK_BAD,         /* a character PTX does not use */
};

typedef struct ptx_tok {
    int kind;
    const char *s;      /* points into the source */
    uint32_t n;
    uint32_t line;
    uint8_t space_before;   /* whitespace/comment separates it from the previous token */
    uint8_t fbits;          /* TK_FBITS: 32 or 64 */
    char punct;
    uint64_t ival;
    double fval;
} ptx_tok;

typedef struct ptx_lexer {
    const char *src;
    size_t len, pos;
    uint32_t line;
    ptx_tok peek[3];
    int npeek;
} ptx_lexer;

void ptx_lex_init(ptx_lexer *lx, const char *src, size_t len);
/* The token k places ahead (0 = next), without consuming it. */
const ptx_tok *ptx_lex_peek(ptx_lexer *lx, int k);
ptx_tok ptx_lex_next(ptx_lexer *lx);
int ptx_tok_is(const ptx_tok *t, const char *text);
int ptx_tok_punct(const ptx_tok *t, char c);

#endif
