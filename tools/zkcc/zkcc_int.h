/* SPDX-License-Identifier: MIT */
/*
 * zkcc_int.h - internals of zkcc shared by the lexer (zkcc_lex.c), the
 * parser (zkcc_parse.c) and the code generator (zkcc_gen.c).
 *
 * Errors anywhere unwind with longjmp to zkcc_compile(); every allocation
 * of one compilation lives in an arena that is freed in one go.
 */
#ifndef ZKCC_INT_H
#define ZKCC_INT_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- */
/* Compilation context, arena, errors                                */
/* ---------------------------------------------------------------- */
typedef struct ArenaBlock ArenaBlock;

typedef struct Ctx {
    const char *src;
    const char *fname;
    char *err;
    size_t errlen;
    jmp_buf jb;
    ArenaBlock *arena;
    char *out;                  /* generated assembly (malloc'd) */
    size_t out_len, out_cap;
} Ctx;

void *zc_alloc(Ctx *c, size_t n);               /* zeroed, arena */
char *zc_strndup(Ctx *c, const char *s, size_t n);
void zc_arena_free(Ctx *c);
_Noreturn void zc_error(Ctx *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---------------------------------------------------------------- */
/* Tokens                                                            */
/* ---------------------------------------------------------------- */
typedef enum { TK_EOF, TK_IDENT, TK_INT, TK_FLOAT, TK_PUNCT } TokKind;

typedef struct Tok {
    TokKind k;
    const char *s;              /* text in the source */
    int len;
    uint64_t ival;
    double fval;
    int line, col;
} Tok;

/* Tokenize the whole source; the array ends with a TK_EOF token. */
Tok *zc_lex(Ctx *c, int *ntok);

/* ---------------------------------------------------------------- */
/* Types                                                             */
/* ---------------------------------------------------------------- */
typedef enum {
    TY_VOID, TY_INT /* untyped integer constant */, TY_U64, TY_I64, TY_F32,
    TY_PTR, TY_TENSOR,
} TyKind;

typedef struct Type {
    uint8_t k;                  /* TyKind */
    uint8_t dt;                 /* TY_PTR: element ZK_DT_* */
} Type;

/* Scalar memory types of load<T> / store<T>. */
typedef enum { MT_U8, MT_U16, MT_U32, MT_U64, MT_I8, MT_I16, MT_I32, MT_I64,
               MT_F32, MT_COUNT } MemTy;

/* ---------------------------------------------------------------- */
/* AST                                                               */
/* ---------------------------------------------------------------- */
typedef enum {
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_REM, OP_SHL, OP_SHR, OP_AND, OP_OR,
    OP_XOR, OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE, OP_LAND, OP_LOR,
    OP_NEG, OP_NOT, OP_BNOT,
} Op;

typedef enum { E_INT, E_FLOAT, E_NAME, E_BIN, E_UN, E_CALL, E_INDEX, E_FIELD } EKind;

typedef struct Expr {
    EKind k;
    int line, col;
    Op op;                      /* E_BIN, E_UN */
    uint64_t ival;              /* E_INT */
    double fval;                /* E_FLOAT */
    const char *name;           /* E_NAME, E_CALL (function), E_FIELD (base) */
    const char *field;          /* E_FIELD */
    bool has_targ;              /* E_CALL with <T>: load/store/ptr */
    int targ;                   /* MemTy (load/store) or ZK_DT_* (ptr) */
    struct Expr *a, *b;         /* operands; E_INDEX: base, index */
    struct Expr **args;
    int nargs;
} Expr;

typedef enum {
    S_LET, S_ASSIGN, S_IF, S_WHILE, S_FOR, S_BREAK, S_CONTINUE, S_RETURN,
    S_EXPR, S_BLOCK,
} SKind;

typedef struct Stmt {
    SKind k;
    int line, col;
    const char *name;           /* S_LET, S_FOR: variable */
    bool has_ty;                /* S_LET: annotated type */
    Type ty;
    Expr *target;               /* S_ASSIGN: NAME or INDEX */
    int aop;                    /* S_ASSIGN: -1, or the Op of "op=" */
    Expr *e, *e2, *e3;          /* value / condition; S_FOR: lo, hi, step */
    struct Stmt *body, *els;
    struct Stmt **list;         /* S_BLOCK */
    int n;
} Stmt;

typedef struct Param {
    const char *name;
    Type ty;
    int access;                 /* ZK_ACC_* for pointers */
    int line, col;
} Param;

typedef struct Kernel {
    const char *name;
    int line, col;
    Param *params;
    int nparams;
    Stmt *body;
    int end_line, end_col;
} Kernel;

typedef struct Const {
    const char *name;
    Expr *e;
    int line, col;
} Const;

typedef struct Program {
    Kernel **kernels;
    int nkernels;
    Const **consts;             /* in source order */
    int nconsts;
    /* Top-level items in order: index >= 0 kernel, < 0 const -(i+1). */
    int *order;
    int norder;
} Program;

Program *zc_parse(Ctx *c, Tok *toks, int ntok);

/* Generate the assembly for the whole program into c->out. */
void zc_gen(Ctx *c, Program *p);

const char *zc_type_name(Type t, char *buf, size_t len);
extern const char *const zc_memty_names[MT_COUNT];

#endif
