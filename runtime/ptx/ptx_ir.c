/* SPDX-License-Identifier: MIT */
/* ptx_ir.c - names and sizes of the IR's enums, lookups, freeing, printing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptx_ir.h"

static const char *const op_names[PO_COUNT] = {
#define PTX_OP_NAME(e, s) s,
    PTX_OPS(PTX_OP_NAME)
#undef PTX_OP_NAME
};

static const char *const type_names[PT_COUNT] = {
    "", "pred", "b8", "b16", "b32", "b64", "u8", "u16", "u32", "u64",
    "s8", "s16", "s32", "s64", "f16", "f16x2", "bf16", "f32", "f64",
};

static const uint8_t type_bytes[PT_COUNT] = {
    0, 1, 1, 2, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8, 2, 4, 2, 4, 8,
};

static const char *const space_names[PS_COUNT] = {
    "", "reg", "param", "global", "shared", "local", "const",
};

const char *ptx_op_name(unsigned int op)
{
    return op < PO_COUNT ? op_names[op] : "?";
}

const char *ptx_type_name(unsigned int t)
{
    return t < PT_COUNT ? type_names[t] : "?";
}

const char *ptx_space_name(unsigned int s)
{
    return s < PS_COUNT ? space_names[s] : "?";
}

unsigned int ptx_type_bytes(unsigned int t)
{
    return t < PT_COUNT ? type_bytes[t] : 0;
}

int ptx_type_is_float(unsigned int t)
{
    return t == PT_F16 || t == PT_F16X2 || t == PT_BF16 || t == PT_F32 || t == PT_F64;
}

int ptx_type_is_signed(unsigned int t)
{
    return t >= PT_S8 && t <= PT_S64;
}

const ptx_func *ptx_find_func(const ptx_module *m, const char *name)
{
    for (uint32_t i = 0; i < m->nfuncs; i++) {
        if (strcmp(m->funcs[i].name, name) == 0) {
            return &m->funcs[i];
        }
    }
    return NULL;
}

const ptx_var *ptx_find_var(const ptx_module *m, const char *name)
{
    for (uint32_t i = 0; i < m->nvars; i++) {
        if (strcmp(m->vars[i].name, name) == 0) {
            return &m->vars[i];
        }
    }
    return NULL;
}

static void free_vars(ptx_var *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].init);
    }
    free(v);
}

static void free_params(ptx_param *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        free(p[i].name);
    }
    free(p);
}

void ptx_module_free(ptx_module *m)
{
    if (!m) {
        return;
    }
    for (uint32_t i = 0; i < m->nfuncs; i++) {
        ptx_func *f = &m->funcs[i];
        free(f->name);
        free_params(f->params, f->nparams);
        free_params(f->rets, f->nrets);
        for (uint32_t j = 0; j < f->nregdecls; j++) {
            free(f->regdecls[j].name);
        }
        free(f->regdecls);
        free(f->reg_type);
        free_vars(f->vars, f->nvars);
        for (uint32_t j = 0; j < f->ninsns; j++) {
            free(f->insns[j].call_args);
        }
        free(f->insns);
        for (uint32_t j = 0; j < f->nlabels; j++) {
            free(f->labels[j].name);
        }
        free(f->labels);
    }
    free(m->funcs);
    free_vars(m->vars, m->nvars);
    free(m->file);
    memset(m, 0, sizeof(*m));
}

/* ---- printing ---------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (b->oom) {
        return;
    }
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

static const char *const sreg_names[] = {
    "", "%tid", "%ntid", "%ctaid", "%nctaid", "%laneid", "%warpid", "%nwarpid", "%smid",
    "%nsmid", "%gridid", "%lanemask_eq", "%lanemask_lt", "%lanemask_le", "%lanemask_gt",
    "%lanemask_ge", "%clock", "%clock64", "%globaltimer", "%dynamic_smem_size",
    "%total_smem_size",
};

static void print_var_ref(sbuf *b, const ptx_module *m, const ptx_func *f, int local, int32_t v)
{
    if (local && f && v >= 0 && (uint32_t)v < f->nvars) {
        sb_printf(b, "%s", f->vars[v].name);
    } else if (!local && v >= 0 && (uint32_t)v < m->nvars) {
        sb_printf(b, "%s", m->vars[v].name);
    } else {
        sb_printf(b, "?var%d", v);
    }
}

static void print_opnd(sbuf *b, const ptx_module *m, const ptx_func *f, const ptx_operand *o)
{
    switch (o->kind) {
    case POK_REG:
        sb_printf(b, "%s%%v%d", o->neg ? "!" : "", o->val);
        break;
    case POK_IMM:
        if (o->comp == 32) {
            sb_printf(b, "0f%08llX", (unsigned long long)o->imm & 0xffffffffull);
        } else if (o->comp == 64) {
            sb_printf(b, "0d%016llX", (unsigned long long)o->imm);
        } else {
            sb_printf(b, "%lld", (long long)o->imm);
        }
        break;
    case POK_FIMM:
        sb_printf(b, "%.17g", o->fimm);
        break;
    case POK_SREG:
        sb_printf(b, "%s", o->val > 0 && (size_t)o->val < sizeof(sreg_names) / sizeof(sreg_names[0]) ?
                  sreg_names[o->val] : "%?");
        if (o->val <= PSR_NCTAID) {
            sb_printf(b, ".%c", "xyz"[o->comp % 3]);
        }
        break;
    case POK_VAR:
        print_var_ref(b, m, f, o->var_local, o->val);
        if (o->imm) {
            sb_printf(b, "+%lld", (long long)o->imm);
        }
        break;
    case POK_FUNC:
        sb_printf(b, "%s", o->val >= 0 && (uint32_t)o->val < m->nfuncs ? m->funcs[o->val].name : "?");
        break;
    case POK_LABEL:
        sb_printf(b, "%s", f && o->val >= 0 && (uint32_t)o->val < f->nlabels ?
                  f->labels[o->val].name : "?");
        break;
    case POK_MEM:
        sb_printf(b, "[");
        if (o->var >= 0) {
            print_var_ref(b, m, f, o->var_local, o->var);
        } else if (o->val >= 0) {
            sb_printf(b, "%%v%d", o->val);
        }
        if (o->imm || (o->var < 0 && o->val < 0)) {
            sb_printf(b, "%s%lld", (o->var >= 0 || o->val >= 0) ? "+" : "", (long long)o->imm);
        }
        sb_printf(b, "]");
        break;
    case POK_VEC:
        sb_printf(b, "{");
        for (int i = 0; i < o->comp && i < PTX_VEC_MAX; i++) {
            if (o->vec[i] < 0) {
                sb_printf(b, "%s_", i ? ", " : "");
            } else {
                sb_printf(b, "%s%%v%d", i ? ", " : "", o->vec[i]);
            }
        }
        sb_printf(b, "}");
        break;
    case POK_SINK:
        sb_printf(b, "_");
        break;
    default:
        sb_printf(b, "?");
    }
}

static const char *const rnd_names[] = { "", "rn", "rz", "rm", "rp", "rni", "rzi", "rmi", "rpi" };
static const char *const cmp_names[] = {
    "", "eq", "ne", "lt", "le", "gt", "ge", "lo", "ls", "hi", "hs", "equ", "neu", "ltu", "leu",
    "gtu", "geu", "num", "nan",
};
static const char *const sub_names[] = {
    "", "add", "min", "max", "inc", "dec", "and", "or", "xor", "exch", "cas", "up", "down",
    "bfly", "idx", "all", "any", "uni", "ballot", "lo", "hi", "wide", "f4e", "b4e", "rc8",
    "ecl", "ecr", "rc16", "l", "r",
};

/* The instruction's spelling: op and its modifiers, in a canonical order. */
static void print_opcode(sbuf *b, const ptx_insn *in)
{
    static const char *const flag_names[] = {
        "ftz", "sat", "approx", "full", "uni", "sync", "aligned", "nc", "volatile", "to", "cc",
        "wrap", "clamp", "shiftamt", "arrive",
    };
    sb_printf(b, "%s", ptx_op_name(in->op));
    if (in->flags & PF_TO) {
        sb_printf(b, ".to");
    }
    if (in->space) {
        sb_printf(b, ".%s", ptx_space_name(in->space));
    }
    if (in->sub && in->sub < sizeof(sub_names) / sizeof(sub_names[0])) {
        sb_printf(b, ".%s", sub_names[in->sub]);
    }
    if (in->cmp && in->cmp < sizeof(cmp_names) / sizeof(cmp_names[0])) {
        sb_printf(b, ".%s", cmp_names[in->cmp]);
    }
    if (in->boolop) {
        sb_printf(b, ".%s", in->boolop == PB_AND ? "and" : in->boolop == PB_OR ? "or" : "xor");
    }
    if (in->rnd && in->rnd < sizeof(rnd_names) / sizeof(rnd_names[0])) {
        sb_printf(b, ".%s", rnd_names[in->rnd]);
    }
    for (unsigned int i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
        if ((in->flags & (1u << i)) && (1u << i) != PF_TO) {
            sb_printf(b, ".%s", flag_names[i]);
        }
    }
    if (in->vec > 1) {
        sb_printf(b, ".v%u", in->vec);
    }
    if (in->type) {
        sb_printf(b, ".%s", ptx_type_name(in->type));
    }
    if (in->type2) {
        sb_printf(b, ".%s", ptx_type_name(in->type2));
    }
}

void ptx_insn_opcode(const ptx_insn *in, char *buf, size_t len)
{
    sbuf b = { 0 };
    print_opcode(&b, in);
    snprintf(buf, len, "%s", b.p && !b.oom ? b.p : ptx_op_name(in->op));
    free(b.p);
}

static void print_insn(sbuf *b, const ptx_module *m, const ptx_func *f, const ptx_insn *in)
{
    if (in->guard >= 0) {
        sb_printf(b, "@%s%%v%d ", in->guard_neg ? "!" : "", in->guard);
    }
    print_opcode(b, in);
    if (in->op == PO_CALL) {
        sb_printf(b, " ");
        if (in->nret) {
            sb_printf(b, "(");
            for (int i = 0; i < in->nret; i++) {
                sb_printf(b, "%s", i ? ", " : "");
                print_opnd(b, m, f, &in->ops[i]);
            }
            sb_printf(b, "), ");
        }
        print_opnd(b, m, f, &in->ops[in->nret]);
        sb_printf(b, ", (");
        for (int i = 0; i < in->ncall_args; i++) {
            sb_printf(b, "%s", i ? ", " : "");
            print_opnd(b, m, f, &in->call_args[i]);
        }
        sb_printf(b, ")");
    } else {
        for (int i = 0; i < in->nops; i++) {
            sb_printf(b, "%s", i ? ", " : " ");
            print_opnd(b, m, f, &in->ops[i]);
        }
    }
    sb_printf(b, ";");
}

static void print_params(sbuf *b, const ptx_param *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        sb_printf(b, "%s\t.param .%s %s /* offset %u size %u align %u */", i ? ",\n" : "\n",
                  ptx_type_name(p[i].type), p[i].name, p[i].offset, p[i].size, p[i].align);
    }
}

int ptx_module_print(const ptx_module *m, char **out, size_t *len)
{
    sbuf b = { 0 };
    sb_printf(&b, ".version %u.%u\n.target %s\n.address_size %u\n", m->version_major,
              m->version_minor, m->target, m->address_size);
    for (uint32_t i = 0; i < m->nvars; i++) {
        const ptx_var *v = &m->vars[i];
        sb_printf(&b, "%s.%s .align %u .%s %s /* %llu bytes%s */;\n", v->is_extern ? ".extern " : "",
                  ptx_space_name(v->space), v->align, ptx_type_name(v->type), v->name,
                  (unsigned long long)v->size, v->init ? ", initialised" : "");
    }
    for (uint32_t i = 0; i < m->nfuncs; i++) {
        const ptx_func *f = &m->funcs[i];
        sb_printf(&b, "\n%s", f->is_entry ? ".entry " : ".func ");
        if (f->nrets) {
            sb_printf(&b, "(");
            print_params(&b, f->rets, f->nrets);
            sb_printf(&b, ") ");
        }
        sb_printf(&b, "%s(", f->name);
        print_params(&b, f->params, f->nparams);
        sb_printf(&b, ")\n");
        if (!f->has_body) {
            sb_printf(&b, ";\n");
            continue;
        }
        sb_printf(&b, "{ // %u virtual registers, %u parameter bytes\n", f->nregs,
                  f->param_bytes);
        for (uint32_t j = 0; j < f->nvars; j++) {
            const ptx_var *v = &f->vars[j];
            sb_printf(&b, "\t.%s .align %u .%s %s /* %llu bytes */;\n", ptx_space_name(v->space),
                      v->align, ptx_type_name(v->type), v->name, (unsigned long long)v->size);
        }
        for (uint32_t j = 0; j <= f->ninsns; j++) {
            for (uint32_t k = 0; k < f->nlabels; k++) {
                if (f->labels[k].insn == (int32_t)j) {
                    sb_printf(&b, "%s:\n", f->labels[k].name);
                }
            }
            if (j < f->ninsns) {
                sb_printf(&b, "\t");
                print_insn(&b, m, f, &f->insns[j]);
                sb_printf(&b, "\t// line %u\n", f->insns[j].line);
            }
        }
        sb_printf(&b, "}\n");
    }
    if (b.oom) {
        free(b.p);
        return -1;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
