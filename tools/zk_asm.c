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
                else if (!strcmp(w, "params")) flags |= ZK_ROPE_PARAMS;
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

static int directive(Asm *a, char *d, char **ops, int nops)
{
    if (!strcmp(d, ".kernel")) {
        if (nops != 1 || strlen(ops[0]) >= ZK_NAME_LEN || a->in_rodata) {
            return error(a, ".kernel NAME (in the text section)");
        }
        ZkObjKernel *k = realloc(a->kernels, (a->nkernels + 1) * sizeof(*k));
        if (!k) {
            return error(a, "out of memory");
        }
        a->kernels = k;
        a->cur = &k[a->nkernels++];
        memset(a->cur, 0, sizeof(*a->cur));
        snprintf(a->cur->desc.name, ZK_NAME_LEN, "%s", ops[0]);
        a->cur->entry = a->n * 8;
        return add_label(a, ops[0]);
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
    return mn[0] == '.' ? directive(a, mn, ops, nops) : insn(a, mn, ops, nops);
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
