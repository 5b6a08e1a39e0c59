/* SPDX-License-Identifier: MIT */
/*
 * zk_asm.c - assembler: .zks text -> .zko object.
 *
 * One pass over the lines builds .text, .rodata and the kernel table;
 * label references are recorded as fixups and patched at the end, when
 * the rodata offset (text size rounded to 8) is known.  Operand encoding
 * comes from the engine's own table (zk_isa.c) so the assembler cannot
 * drift from what the device accepts.
 */
#include "zk_asm.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk_dtype.h"
#include "zk_isa.h"
#include "zk_obj.h"
#include "zk_simt_isa.h"

#define MAX_OPS 8

typedef struct Label {
    char name[64];
    bool rodata;
    uint32_t off;               /* insn index, or rodata byte offset */
} Label;

typedef struct Fixup {
    uint32_t pc;
    char name[64];
    int line;
    bool simt;                  /* SIMT bra: pc is its first word */
} Fixup;

typedef struct Asm {
    const char *fname;
    int line;
    char *err;
    size_t errlen;
    uint64_t *text;
    uint32_t n, cap;
    uint8_t *ro;
    uint32_t ro_len, ro_cap;
    bool in_rodata;
    Label *labels;
    uint32_t nlabels;
    Fixup *fix;
    uint32_t nfix;
    ZkObjKernel *kernels;
    uint32_t nkernels;
    ZkObjKernel *cur;           /* kernel whose .arg lines we are reading */
    bool simt;                  /* the current kernel is SIMT (ISA v2) */
} Asm;

static int error(Asm *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int error(Asm *a, const char *fmt, ...)
{
    int n = snprintf(a->err, a->errlen, "%s:%d: ", a->fname, a->line);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < a->errlen) {
        vsnprintf(a->err + n, a->errlen - (size_t)n, fmt, ap);
    }
    va_end(ap);
    return -1;
}

static void *grow(void *p, uint32_t n, uint32_t *cap, size_t size)
{
    if (n < *cap) {
        return p;
    }
    *cap = *cap ? *cap * 2 : 64;
    return realloc(p, *cap * size);
}

static int emit(Asm *a, uint64_t w)
{
    uint64_t *t = grow(a->text, a->n, &a->cap, sizeof(*t));
    if (!t) {
        return error(a, "out of memory");
    }
    a->text = t;
    a->text[a->n++] = w;
    return 0;
}

static int ro_put(Asm *a, const void *p, uint32_t n)
{
    while (a->ro_len + n > a->ro_cap) {
        uint8_t *r = realloc(a->ro, a->ro_cap * 2 + 64);
        if (!r) {
            return error(a, "out of memory");
        }
        a->ro = r;
        a->ro_cap = a->ro_cap * 2 + 64;
    }
    memcpy(a->ro + a->ro_len, p, n);
    a->ro_len += n;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) {
        s++;
    }
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) {
        *--e = 0;
    }
    return s;
}

static bool parse_int(const char *s, int64_t *v)
{
    char *end;
    errno = 0;
    if (*s == '-') {
        *v = strtoll(s, &end, 0);
    } else {
        *v = (int64_t)strtoull(s, &end, 0);
    }
    return *s && !*end && errno == 0;
}

/* rN or tN with the given prefix. */
static bool parse_reg(const char *s, char prefix, unsigned *r)
{
    int64_t v;
    if (s[0] != prefix || !isdigit((unsigned char)s[1]) || !parse_int(s + 1, &v) ||
        v < 0 || v > 255) {
        return false;
    }
    *r = (unsigned)v;
    return true;
}

static int add_label(Asm *a, const char *name)
{
    for (uint32_t i = 0; i < a->nlabels; i++) {
        if (!strcmp(a->labels[i].name, name)) {
            return error(a, "label %s defined twice", name);
        }
    }
    if (strlen(name) >= sizeof(a->labels->name)) {
        return error(a, "label %s is too long", name);
    }
    Label *l = realloc(a->labels, (a->nlabels + 1) * sizeof(*l));
    if (!l) {
        return error(a, "out of memory");
    }
    a->labels = l;
    snprintf(l[a->nlabels].name, sizeof(l->name), "%s", name);
    l[a->nlabels].rodata = a->in_rodata;
    l[a->nlabels].off = a->in_rodata ? a->ro_len : a->n;
    a->nlabels++;
    return 0;
}

/* A branch target / LEA operand: a label (fixed up later) or @N. */
static int target(Asm *a, const char *s, int64_t *imm)
{
    if (s[0] == '@') {
        return parse_int(s + 1, imm) ? 0 : error(a, "bad target %s", s);
    }
    if (strlen(s) >= sizeof(a->fix->name)) {
        return error(a, "bad label reference %s", s);
    }
    Fixup *f = realloc(a->fix, (a->nfix + 1) * sizeof(*f));
    if (!f) {
        return error(a, "out of memory");
    }
    a->fix = f;
    f[a->nfix].pc = a->n;
    f[a->nfix].line = a->line;
    f[a->nfix].simt = a->simt;
    snprintf(f[a->nfix].name, sizeof(f->name), "%s", s);
    a->nfix++;
    *imm = 0;
    return 0;
}

static int dtype_of(const char *s)
{
    for (int i = 0; i < ZK_DT_COUNT; i++) {
        if (!strcmp(s, zk_dtype_names[i])) {
            return i;
        }
    }
    return -1;
}

/* [rA], [rA + n], [rA - n] */
static bool parse_mem(const char *s, unsigned *ra, int64_t *imm)
{
    char reg[16];
    char sign = '+';
    long long off = 0;
    int n = 0;
    *imm = 0;
    if (sscanf(s, " [ %15[r0-9] %n", reg, &n) != 1 || !parse_reg(reg, 'r', ra)) {
        return false;
    }
    s += n;
    if (*s == ']') {
        return s[1] == 0;
    }
    if (sscanf(s, "%c %lli ]%n", &sign, &off, &n) != 2 || s[n] ||
        (sign != '+' && sign != '-')) {
        return false;
    }
    *imm = sign == '-' ? -off : off;
    return true;
}

static int insn_tensor(Asm *a, uint8_t op, int fn, char **ops, int nops)
{
    const ZkOpInfo *oi = zk_isa_op(op);
    unsigned t[5], nt = 0, rs = 0, flags = fn >= 0 ? (unsigned)fn : 0;
    bool have_rs = false;
    for (int i = 0; i < nops; i++) {
        unsigned r;
        if (parse_reg(ops[i], 't', &r) && nt < 5) {
            t[nt++] = r;
        } else if (parse_reg(ops[i], 'r', &r) && !have_rs) {
            rs = r;
            have_rs = true;
        } else if (fn < 0) {
            /* flags, possibly joined with '|' */
            char *save, *w = strtok_r(ops[i], "|", &save);
            for (; w; w = strtok_r(NULL, "|", &save)) {
                w = trim(w);
                if (!strcmp(w, "acc")) flags |= ZK_MM_ACC;
                else if (!strcmp(w, "bt")) flags |= ZK_MM_BT;
                else if (!strcmp(w, "deq")) flags |= ZK_MM_DEQ;
                else if (!strcmp(w, "bias")) flags |= ZK_LN_BIAS;
                else return error(a, "unknown operand %s", w);
            }
        } else {
            return error(a, "unexpected operand %s", ops[i]);
        }
    }
    unsigned tuse = oi->tuse;
    if (op == ZK_OP_MATMUL && !(flags & ZK_MM_DEQ)) tuse &= ~(ZK_TU_TC | ZK_TU_TE);
    if (op == ZK_OP_LAYERNORM && !(flags & ZK_LN_BIAS)) tuse &= ~ZK_TU_TC;
    unsigned f[5] = { 0 }, k = 0;
    static const unsigned order[5] = { ZK_TU_TD, ZK_TU_TA, ZK_TU_TB, ZK_TU_TC, ZK_TU_TE };
    for (int i = 0; i < 5; i++) {
        if (tuse & order[i]) {
            if (k >= nt) {
                return error(a, "%s: too few tensor operands", oi->name);
            }
            f[i] = t[k++];
        }
    }
    if (k != nt || have_rs != !!(tuse & ZK_TU_RS)) {
        return error(a, "%s: wrong operands", oi->name);
    }
    return emit(a, ZK_INSN(op, f[0], f[1], f[2], ZK_TI(f[3], f[4], rs, flags)));
}

static int insn(Asm *a, char *mn, char **ops, int nops)
{
    uint8_t op = 0;
    int fn = -1;
    const ZkOpInfo *oi = NULL;
    unsigned rd = 0, ra = 0, rb = 0;
    int64_t imm = 0;

    /* Pseudo-instructions. */
    if (!strcmp(mn, "li") || !strcmp(mn, "movf")) {
        double d;
        char *end;
        if (nops != 2 || !parse_reg(ops[0], 'r', &rd)) {
            return error(a, "%s rD, value", mn);
        }
        if (!strcmp(mn, "movf")) {
            d = strtod(ops[1], &end);
            if (*end) {
                return error(a, "bad float %s", ops[1]);
            }
            return emit(a, ZK_INSN(ZK_OP_MOVI, rd, 0, 0, zk_f32_bits((float)d)));
        }
        if (!parse_int(ops[1], &imm)) {
            return error(a, "bad integer %s", ops[1]);
        }
        if (emit(a, ZK_INSN(ZK_OP_MOVI, rd, 0, 0, (uint32_t)imm))) {
            return -1;
        }
        if ((int64_t)(int32_t)imm != imm) {
            return emit(a, ZK_INSN(ZK_OP_MOVHI, rd, 0, 0, (uint32_t)((uint64_t)imm >> 32)));
        }
        return 0;
    }
    for (size_t i = 0; i < zk_isa_num_mnemonics; i++) {
        if (!strcmp(mn, zk_isa_mnemonics[i].name)) {
            op = zk_isa_mnemonics[i].op;
            fn = zk_isa_mnemonics[i].fn;
        }
    }
    for (int i = 1; i < 256 && !op; i++) {
        const ZkOpInfo *o = zk_isa_op((uint8_t)i);
        if (o && !strcmp(o->name, mn) &&
            !(o->fmt == ZK_FMT_T && o->fn_count)) {   /* ebin etc: by sub-op */
            op = (uint8_t)i;
        }
    }
    if (!op) {
        return error(a, "unknown instruction %s", mn);
    }
    oi = zk_isa_op(op);
    static const int nexpect[] = {
        [ZK_FMT_NONE] = 0, [ZK_FMT_J] = 1, [ZK_FMT_JA] = 1, [ZK_FMT_B] = 3,
        [ZK_FMT_LOOP] = 2, [ZK_FMT_RI] = 2, [ZK_FMT_RR] = 2, [ZK_FMT_RRR] = 3,
        [ZK_FMT_RRI] = 3, [ZK_FMT_LD] = 2, [ZK_FMT_ST] = 2, [ZK_FMT_TSET] = 3,
    };
    if (oi->fmt == ZK_FMT_T) {
        return insn_tensor(a, op, fn, ops, nops);
    }
    if (nops != nexpect[oi->fmt]) {
        return error(a, "%s takes %d operands", mn, nexpect[oi->fmt]);
    }
    bool ok = true;
    switch (oi->fmt) {
    case ZK_FMT_NONE:
        break;
    case ZK_FMT_J:
    case ZK_FMT_JA:
        if (target(a, ops[0], &imm)) return -1;
        if (ops[0][0] == '@' && oi->fmt == ZK_FMT_J) imm -= a->n;
        break;
    case ZK_FMT_B:
        ok = parse_reg(ops[0], 'r', &ra) && parse_reg(ops[1], 'r', &rb);
        if (ok && target(a, ops[2], &imm)) return -1;
        if (ops[2][0] == '@') imm -= a->n;
        break;
    case ZK_FMT_LOOP:
        ok = parse_reg(ops[0], 'r', &rd);
        if (ok && target(a, ops[1], &imm)) return -1;
        if (ops[1][0] == '@') imm -= a->n;
        break;
    case ZK_FMT_RI:
        ok = parse_reg(ops[0], 'r', &rd);
        if (op == ZK_OP_SREG) {
            imm = -1;
            for (int i = 0; i < ZK_SREG_COUNT; i++) {
                if (!strcmp(ops[1], zk_sreg_names[i])) imm = i;
            }
            ok = ok && imm >= 0;
        } else if (op == ZK_OP_LEA && !parse_int(ops[1], &imm)) {
            if (ok && target(a, ops[1], &imm)) return -1;
        } else if (op != ZK_OP_LEA) {
            ok = ok && parse_int(ops[1], &imm);
        }
        break;
    case ZK_FMT_RR:
        ok = parse_reg(ops[0], 'r', &rd) && parse_reg(ops[1], 'r', &ra);
        break;
    case ZK_FMT_RRR:
        ok = parse_reg(ops[0], 'r', &rd) && parse_reg(ops[1], 'r', &ra) &&
             parse_reg(ops[2], 'r', &rb);
        break;
    case ZK_FMT_RRI:
        ok = parse_reg(ops[0], 'r', &rd) && parse_reg(ops[1], 'r', &ra) &&
             parse_int(ops[2], &imm);
        break;
    case ZK_FMT_LD:
        ok = parse_reg(ops[0], 'r', &rd) && parse_mem(ops[1], &ra, &imm);
        break;
    case ZK_FMT_ST:
        ok = parse_mem(ops[0], &ra, &imm) && parse_reg(ops[1], 'r', &rb);
        break;
    case ZK_FMT_TSET:
        ok = parse_reg(ops[0], 't', &rd) && parse_reg(ops[1], 'r', &ra) &&
             (imm = dtype_of(ops[2])) >= 0;
        break;
    }
    if (!ok) {
        return error(a, "bad operands for %s", mn);
    }
    if (imm < INT32_MIN || imm > UINT32_MAX) {
        return error(a, "immediate out of range");
    }
    uint64_t w = ZK_INSN(op, rd, ra, rb, (uint32_t)imm);
    /* Label operands are patched later; check the rest now. */
    const char *why = zk_isa_check(w, ZK_MAX_ARGS, UINT32_MAX);
    if (why && oi->fmt != ZK_FMT_J && oi->fmt != ZK_FMT_JA &&
        oi->fmt != ZK_FMT_B && oi->fmt != ZK_FMT_LOOP) {
        return error(a, "%s: %s", mn, why);
    }
    return emit(a, w);
}

/* ---- SIMT (ISA v2) instructions: docs/isa.md, "ISA v2" ---------------- */

static int name_index(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++) {
        if (!strcmp(names[i], s)) {
            return i;
        }
    }
    return -1;
}

/* pN or !pN -> predicate code (bit 3 = negated). */
static bool parse_pred(const char *s, unsigned *code)
{
    bool neg = *s == '!';
    s += neg;
    if (s[0] != 'p' || s[1] < '0' || s[1] > '7' || s[2]) {
        return false;
    }
    *code = (unsigned)(s[1] - '0') | (neg ? 8u : 0u);
    return true;
}

/* Register or immediate (floats for f32/f64; 0fXXXXXXXX/0dXXXX.. raw bits). */
static int simt_operand(Asm *a, const char *s, unsigned type, uint8_t *reg,
                        uint64_t *imm, bool *is_imm)
{
    unsigned r;
    char *end;

    if (parse_reg(s, 'r', &r)) {
        *reg = (uint8_t)r;
        *is_imm = false;
        return 0;
    }
    *is_imm = true;
    if (s[0] == '0' && (s[1] == 'f' || s[1] == 'd') && isxdigit((unsigned char)s[2])) {
        errno = 0;
        *imm = strtoull(s + 2, &end, 16);
        return *end || errno ? error(a, "bad raw float %s", s) : 0;
    }
    if (type == ZK_ST_F32 || type == ZK_ST_F64) {
        double d = strtod(s, &end);
        if (!*s || *end) {
            return error(a, "bad operand %s", s);
        }
        if (type == ZK_ST_F32) {
            *imm = zk_f32_bits((float)d);
        } else {
            memcpy(imm, &d, 8);
        }
        return 0;
    }
    int64_t v;
    if (!parse_int(s, &v)) {
        return error(a, "bad operand %s (register or integer)", s);
    }
    *imm = (uint64_t)v;
    return 0;
}

static int simt_suffix(Asm *a, ZkSimtInsn *in, const ZkSimtOpInfo *oi, const char *sfx,
                       int *ntypes)
{
    int k = name_index(zk_simt_type_names, ZK_ST_COUNT, sfx);
    uint8_t op = in->op;

    if (k >= 0) {
        if (*ntypes == 0) {
            in->type = (uint8_t)k;
        } else if (op == ZK_SOP_CVT && *ntypes == 1) {
            in->type2 = (uint8_t)k;
        } else {
            return error(a, "too many types");
        }
        (*ntypes)++;
        return 0;
    }
    if ((op == ZK_SOP_SETP || op == ZK_SOP_SET) &&
        (k = name_index(zk_simt_cmp_names, ZK_CMP_COUNT, sfx)) >= 0) {
        in->mod = (uint8_t)k;
    } else if ((op == ZK_SOP_LD || op == ZK_SOP_ST || op == ZK_SOP_ATOM ||
                op == ZK_SOP_CVTA) &&
               (k = name_index(zk_simt_space_names, ZK_SPACE_COUNT, sfx)) >= 0) {
        in->type2 = (uint8_t)k;
    } else if (op == ZK_SOP_ATOM && (k = name_index(zk_simt_atom_names, ZK_ATOM_COUNT, sfx)) >= 0) {
        in->mod = (uint8_t)k;
    } else if (op == ZK_SOP_SHFL && (k = name_index(zk_simt_shfl_names, ZK_SHFL_COUNT, sfx)) >= 0) {
        in->mod = (uint8_t)k;
    } else if (op == ZK_SOP_VOTE && (k = name_index(zk_simt_vote_names, ZK_VOTE_COUNT, sfx)) >= 0) {
        in->mod = (uint8_t)k;
    } else if (op == ZK_SOP_PLOP && (k = name_index(zk_simt_plop_names, ZK_PLOP_COUNT, sfx)) >= 0) {
        in->mod = (uint8_t)k;
    } else if (op == ZK_SOP_CVTA && !strcmp(sfx, "to")) {
        in->mod = 1;
    } else if (op == ZK_SOP_SHF && (!strcmp(sfx, "l") || !strcmp(sfx, "wrap"))) {
        /* the defaults */
    } else if (op == ZK_SOP_SHF && !strcmp(sfx, "r")) {
        in->mod |= ZK_SHF_R;
    } else if (op == ZK_SOP_SHF && !strcmp(sfx, "clamp")) {
        in->mod |= ZK_SHF_CLAMP;
    } else if (oi->mod_count == ZK_RND_COUNT && op != ZK_SOP_SETP && op != ZK_SOP_SET &&
               ((k = name_index(zk_simt_rnd_names, ZK_RND_COUNT, sfx)) >= 0 ||
                (op == ZK_SOP_CVT && strlen(sfx) == 3 && sfx[2] == 'i' &&
                 (k = name_index(zk_simt_rnd_names, ZK_RND_COUNT,
                                 (char[3]){ sfx[0], sfx[1], 0 })) >= 0))) {
        in->mod = (uint8_t)k;
    } else {
        return error(a, "unknown suffix .%s for %s", sfx, oi->name);
    }
    return 0;
}

static int simt_insn(Asm *a, const char *guard, char *mn, char **ops, int nops)
{
    ZkSimtInsn in;
    const ZkSimtOpInfo *oi = NULL;
    char *sfx = strchr(mn, '.');
    int ntypes = 0, need, i = 0;
    unsigned code;
    bool bimm = false, cimm = false;
    uint64_t bv = 0, cv = 0;
    int64_t off;

    memset(&in, 0, sizeof(in));
    if (sfx) {
        *sfx++ = 0;
    }
    for (unsigned op = 0x80; op < 0x100 && !oi; op++) {
        const ZkSimtOpInfo *o = zk_simt_op((uint8_t)op);
        if (o && !strcmp(o->name, mn)) {
            oi = o;
            in.op = (uint8_t)op;
        }
    }
    if (!oi) {
        return error(a, "unknown SIMT instruction %s", mn);
    }
    while (sfx) {
        char *next = strchr(sfx, '.');
        if (next) {
            *next++ = 0;
        }
        if (simt_suffix(a, &in, oi, sfx, &ntypes)) {
            return -1;
        }
        sfx = next;
    }
    if (guard) {
        if (!parse_pred(guard + 1, &code)) {
            return error(a, "bad guard %s", guard);
        }
        in.guard = code & 7;
        in.gneg = code >> 3;
    }
    /* Operand count per shape. */
    switch (in.op) {
    case ZK_SOP_BRA: need = 1; break;
    case ZK_SOP_SREG: case ZK_SOP_LD: case ZK_SOP_ST: case ZK_SOP_VOTE: case ZK_SOP_MOV:
        need = 2; break;
    case ZK_SOP_SETP: case ZK_SOP_PLOP: need = 3; break;
    case ZK_SOP_ATOM: need = in.mod == ZK_ATOM_CAS ? 4 : 3; break;
    case ZK_SOP_SELP: case ZK_SOP_SHFL: need = 4; break;
    default:
        need = !!(oi->use & ZK_SU_RD) + !!(oi->use & ZK_SU_RA) + !!(oi->use & ZK_SU_B) +
               !!(oi->use & ZK_SU_C);
        break;
    }
    if (nops != need) {
        return error(a, "%s takes %d operands", oi->name, need);
    }
    unsigned r;
#define REG(dst, s) do { if (!parse_reg((s), 'r', &r)) return error(a, "bad register %s", (s)); \
                         (dst) = (uint8_t)r; } while (0)
#define PRED(dst, s, neg_ok) do { if (!parse_pred((s), &code) || (!(neg_ok) && code > 7)) \
                                      return error(a, "bad predicate %s", (s)); \
                                  (dst) = (uint8_t)code; } while (0)
    switch (in.op) {
    case ZK_SOP_BRA:
        if (ops[0][0] == '@') {
            if (!parse_int(ops[0] + 1, &off)) {
                return error(a, "bad target %s", ops[0]);
            }
            in.imm = (uint64_t)(off - (int64_t)(a->n / 2));
        } else if (target(a, ops[0], &off)) {
            return -1;
        }
        break;
    case ZK_SOP_SREG: {
        REG(in.rd, ops[0]);
        int k = name_index(zk_simt_sreg_names, ZK_SR_COUNT, ops[1] + (ops[1][0] == '%'));
        if (k < 0) {
            return error(a, "unknown special register %s", ops[1]);
        }
        in.imm = (uint64_t)k;
        break;
    }
    case ZK_SOP_LD:
        REG(in.rd, ops[0]);
        if (!parse_mem(ops[1], &r, &off)) {
            return error(a, "bad address %s", ops[1]);
        }
        in.ra = (uint8_t)r;
        in.imm = (uint64_t)off;
        break;
    case ZK_SOP_ST:
        if (!parse_mem(ops[0], &r, &off)) {
            return error(a, "bad address %s", ops[0]);
        }
        in.ra = (uint8_t)r;
        in.imm = (uint64_t)off;
        REG(in.rb, ops[1]);
        break;
    case ZK_SOP_ATOM:
        REG(in.rd, ops[0]);
        if (!parse_mem(ops[1], &r, &off)) {
            return error(a, "bad address %s", ops[1]);
        }
        in.ra = (uint8_t)r;
        in.imm = (uint64_t)off;
        REG(in.rb, ops[2]);
        if (nops == 4) {
            REG(in.rc, ops[3]);
        }
        break;
    case ZK_SOP_PLOP:
        PRED(in.pd, ops[0], false);
        PRED(in.ra, ops[1], true);
        PRED(in.rb, ops[2], true);
        break;
    case ZK_SOP_VOTE:
        if (in.mod == ZK_VOTE_BALLOT) {
            REG(in.rd, ops[0]);
        } else {
            PRED(in.pd, ops[0], false);
        }
        PRED(in.ra, ops[1], true);
        break;
    default: {
        /* rd / pd (setp) / "rd|pd" (shfl), then a, b, c */
        if (in.op == ZK_SOP_SETP) {
            PRED(in.pd, ops[i], false);
            i++;
        } else if (in.op == ZK_SOP_SHFL) {
            char *bar = strchr(ops[0], '|');
            if (!bar) {
                return error(a, "shfl destination is rD|pN");
            }
            *bar = 0;
            REG(in.rd, trim(ops[0]));
            PRED(in.pd, trim(bar + 1), false);
            i++;
        } else if (oi->use & ZK_SU_RD) {
            REG(in.rd, ops[i]);
            i++;
        }
        if (oi->use & ZK_SU_RA) {
            REG(in.ra, ops[i]);
            i++;
        }
        if (oi->use & ZK_SU_B) {
            if (simt_operand(a, ops[i], in.type, &in.rb, &bv, &bimm)) {
                return -1;
            }
            i++;
        }
        if (oi->use & ZK_SU_C) {
            if (simt_operand(a, ops[i], in.type, &in.rc, &cv, &cimm)) {
                return -1;
            }
            i++;
        }
        if (in.op == ZK_SOP_SELP) {
            PRED(in.pd, ops[i], false);
        }
        if (bimm && cimm) {
            if ((int64_t)bv != (int32_t)bv || (int64_t)cv != (int32_t)cv) {
                if (in.type != ZK_ST_F32) {
                    return error(a, "two immediates must each fit 32 bits");
                }
            }
            in.imm = (uint32_t)bv | (uint64_t)(uint32_t)cv << 32;
        } else {
            in.imm = bimm ? bv : cv;
        }
        in.flags = (bimm ? ZK_SF_BIMM : 0) | (cimm ? ZK_SF_CIMM : 0);
        break;
    }
    }
#undef REG
#undef PRED
    uint64_t w[2];
    zk_simt_encode(&in, w);
    const char *why = in.op == ZK_SOP_BRA ? NULL : zk_simt_check(w);
    if (why) {
        return error(a, "%s", why);
    }
    return emit(a, w[0]) || emit(a, w[1]) ? -1 : 0;
}

static int directive(Asm *a, char *d, char **ops, int nops)
{
    if (!strcmp(d, ".kernel")) {
        char name[ZK_NAME_LEN + 1], kind[8] = "";
        if (nops != 1 || a->in_rodata ||
            sscanf(ops[0], "%64s %7s", name, kind) < 1 || strlen(name) >= ZK_NAME_LEN ||
            (kind[0] && strcmp(kind, "simt"))) {
            return error(a, ".kernel NAME [simt] (in the text section)");
        }
        ZkObjKernel *k = realloc(a->kernels, (a->nkernels + 1) * sizeof(*k));
        if (!k) {
            return error(a, "out of memory");
        }
        a->kernels = k;
        a->cur = &k[a->nkernels++];
        memset(a->cur, 0, sizeof(*a->cur));
        snprintf(a->cur->desc.name, ZK_NAME_LEN, "%s", name);
        a->simt = kind[0] != 0;
        if (a->simt) {
            /* SIMT instructions are 16 bytes: align with a (never run) nop. */
            if (a->n % 2 && emit(a, ZK_INSN(ZK_OP_NOP, 0, 0, 0, 0))) {
                return -1;
            }
            a->cur->desc.flags = ZK_KDESC_F_SIMT;
        }
        a->cur->entry = a->n * 8;
        return add_label(a, name);
    }
    if (!strcmp(d, ".shared") || !strcmp(d, ".local") || !strcmp(d, ".params")) {
        int64_t v;
        if (!a->cur || !a->simt || nops != 1 || !parse_int(ops[0], &v) || v < 0 ||
            v > UINT32_MAX) {
            return error(a, "%s BYTES after .kernel NAME simt", d);
        }
        uint32_t *f = d[1] == 's' ? &a->cur->simt.shared_bytes :
                      d[1] == 'l' ? &a->cur->simt.local_bytes : &a->cur->simt.param_bytes;
        *f = (uint32_t)v;
        return 0;
    }
    if (!strcmp(d, ".arg")) {
        /* .arg NAME u64|f32|ptr [dtype] [r|w|rw]   (one line: spaces) */
        char name[32], kind[8], dt[8] = "", acc[4] = "";
        if (!a->cur || nops != 1 ||
            sscanf(ops[0], "%31s %7s %7s %3s", name, kind, dt, acc) < 2) {
            return error(a, ".arg NAME KIND [DTYPE ACCESS] after .kernel");
        }
        struct zk_kernel_desc *k = &a->cur->desc;
        if (k->num_args >= ZK_MAX_ARGS || strlen(name) >= ZK_ARG_NAME_LEN) {
            return error(a, "too many arguments or name too long");
        }
        struct zk_arg_desc *arg = &k->args[k->num_args++];
        snprintf(arg->name, sizeof(arg->name), "%s", name);
        if (!strcmp(kind, "u64")) {
            arg->kind = ZK_ARG_U64;
        } else if (!strcmp(kind, "f32")) {
            arg->kind = ZK_ARG_F32;
        } else if (!strcmp(kind, "ptr") && dtype_of(dt) >= 0 &&
                   (!strcmp(acc, "r") || !strcmp(acc, "w") || !strcmp(acc, "rw"))) {
            arg->kind = ZK_ARG_PTR;
            arg->dtype = (uint8_t)dtype_of(dt);
            arg->access = (strchr(acc, 'r') ? ZK_ACC_READ : 0) |
                          (strchr(acc, 'w') ? ZK_ACC_WRITE : 0);
        } else {
            return error(a, "bad .arg kind (u64, f32 or ptr DTYPE r|w|rw)");
        }
        return 0;
    }
    if (!strcmp(d, ".end")) {
        a->cur = NULL;
        return 0;
    }
    if (!strcmp(d, ".rodata")) {
        a->in_rodata = true;
        a->cur = NULL;
        return 0;
    }
    if (!strcmp(d, ".text")) {
        a->in_rodata = false;
        return 0;
    }
    if (!a->in_rodata && !strcmp(d, ".word") && nops == 1) {
        int64_t v;      /* raw instruction word (zkdis prints unknown ones so) */
        return parse_int(ops[0], &v) ? emit(a, (uint64_t)v)
                                     : error(a, "bad .word %s", ops[0]);
    }
    if (!a->in_rodata) {
        return error(a, "data directive %s outside .rodata", d);
    }
    for (int i = 0; i < nops; i++) {
        int64_t v;
        if (!strcmp(d, ".f32")) {
            char *end;
            float f = strtof(ops[i], &end);
            if (*end || ro_put(a, &f, 4)) {
                return error(a, "bad float %s", ops[i]);
            }
            continue;
        }
        if (!parse_int(ops[i], &v)) {
            return error(a, "bad integer %s", ops[i]);
        }
        uint8_t zero[8] = { 0 };
        if (!strcmp(d, ".align")) {
            while (v > 0 && a->ro_len % v) {
                ro_put(a, zero, 1);
            }
        } else if (!strcmp(d, ".zero")) {
            for (int64_t j = 0; j < v; j++) {
                ro_put(a, zero, 1);
            }
        } else if (!strcmp(d, ".u8") || !strcmp(d, ".u16") ||
                   !strcmp(d, ".u32") || !strcmp(d, ".i32") || !strcmp(d, ".u64")) {
            uint32_t n = d[2] == '8' ? 1 : d[2] == '1' ? 2 : d[2] == '6' ? 8 : 4;
            uint8_t b[8];
            for (uint32_t j = 0; j < n; j++) {
                b[j] = (uint8_t)((uint64_t)v >> (8 * j));
            }
            if (ro_put(a, b, n)) {
                return -1;
            }
        } else {
            return error(a, "unknown directive %s", d);
        }
    }
    return 0;
}

static int line(Asm *a, char *s)
{
    char *c = strpbrk(s, "#;");
    if (c) {
        *c = 0;
    }
    s = trim(s);
    /* label: an identifier followed by ':' at the start of the line */
    size_t id = strspn(s, "abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.");
    if (id > 0 && s[id] == ':') {
        s[id] = 0;
        if (add_label(a, s)) {
            return -1;
        }
        s = trim(s + id + 1);
    }
    if (!*s) {
        return 0;
    }
    char *guard = NULL;
    if (*s == '@') {                    /* SIMT guard predicate: @p1 / @!p1 */
        guard = s;
        s += strcspn(s, " \t");
        if (*s) {
            *s++ = 0;
        }
        s = trim(s);
    }
    char *mn = s;
    size_t l = strcspn(s, " \t");
    char *rest = s + l;
    if (*rest) {
        *rest++ = 0;
    }
    char *ops[MAX_OPS];
    int nops = 0;
    rest = trim(rest);
    if (!strcmp(mn, ".arg")) {          /* space-separated, keep whole */
        ops[nops++] = rest;
        return directive(a, mn, ops, nops);
    }
    while (*rest) {
        if (nops == MAX_OPS) {
            return error(a, "too many operands");
        }
        char *comma = strchr(rest, ',');
        if (comma) {
            *comma = 0;
        }
        ops[nops++] = trim(rest);
        if (!comma) {
            break;
        }
        rest = comma + 1;
    }
    for (char *p = mn; *p; p++) {
        *p = (char)tolower((unsigned char)*p);
    }
    if (mn[0] == '.') {
        return guard ? error(a, "a guard on a directive") : directive(a, mn, ops, nops);
    }
    if (a->simt && !a->in_rodata) {
        return simt_insn(a, guard, mn, ops, nops);
    }
    return guard ? error(a, "guards are for SIMT kernels") : insn(a, mn, ops, nops);
}

static int resolve(Asm *a)
{
    uint32_t ro_off = zk_obj_rodata_offset(a->n * 8);
    for (uint32_t i = 0; i < a->nfix; i++) {
        Fixup *f = &a->fix[i];
        const Label *l = NULL;
        a->line = f->line;
        for (uint32_t j = 0; j < a->nlabels; j++) {
            if (!strcmp(a->labels[j].name, f->name)) {
                l = &a->labels[j];
            }
        }
        if (!l) {
            return error(a, "undefined label %s", f->name);
        }
        if (f->simt) {
            if (l->rodata || l->off % 2) {
                return error(a, "branch to %s, which is not a SIMT instruction", f->name);
            }
            a->text[f->pc + 1] = (uint64_t)(((int64_t)l->off - f->pc) / 2);
            continue;
        }
        uint64_t w = a->text[f->pc];
        uint8_t op = ZK_INSN_OP(w);
        int64_t imm;
        if (op == ZK_OP_LEA) {
            imm = l->rodata ? ro_off + l->off : l->off * 8;
        } else if (l->rodata) {
            return error(a, "branch to data label %s", f->name);
        } else if (op == ZK_OP_JMPA) {
            imm = l->off;
        } else {
            imm = (int64_t)l->off - f->pc;
        }
        a->text[f->pc] = (w & 0xffffffffull) | (uint64_t)(uint32_t)imm << 32;
    }
    return 0;
}

int zk_asm(const char *src, const char *fname, uint8_t **obj, size_t *len,
           char *err, size_t errlen)
{
    Asm a = { .fname = fname, .err = err, .errlen = errlen };
    char *copy = strdup(src), *save = NULL;
    int ret = copy ? 0 : -1;
    /* strtok_r would merge empty lines and break line numbers: split by hand */
    for (char *p = copy; ret == 0 && p; p = save) {
        save = strchr(p, '\n');
        if (save) {
            *save++ = 0;
        }
        a.line++;
        ret = line(&a, p);
    }
    if (!ret) {
        a.line++;
        ret = resolve(&a);
    }
    if (!ret && !a.nkernels) {
        ret = error(&a, "no .kernel in the file");
    }
    if (!ret && zk_obj_write(a.text, a.n * 8, a.ro, a.ro_len, a.kernels,
                             a.nkernels, obj, len)) {
        ret = error(&a, "cannot build the object");
    }
    if (!ret) {
        /* Same checks as the device and the loader, with their messages. */
        ZkObj o;
        char why[256];
        if (zk_obj_load(*obj, *len, &o, why, sizeof(why))) {
            free(*obj);
            *obj = NULL;
            ret = error(&a, "%s", why);
        } else {
            zk_obj_free(&o);
        }
    }
    free(copy);
    free(a.text);
    free(a.ro);
    free(a.labels);
    free(a.fix);
    free(a.kernels);
    return ret;
}
