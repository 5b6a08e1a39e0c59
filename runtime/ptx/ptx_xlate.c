/* SPDX-License-Identifier: MIT */
/*
 * ptx_xlate.c - the translation driver and the emitter: lower every kernel
 * (ptx_lower.c), allocate its registers (ptx_regalloc.c), encode the
 * instructions back to back (branch offsets resolved, data-relative
 * immediates fixed up once the code size is known), append the module
 * data, and verify every kernel with the ISA library's SIMT verifier, the
 * same one the device runs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptx_mir.h"
#include "ptx_xlate.h"
#include "zk_simt_isa.h"

#define DATA_ALIGN 16u

void zk_ptx_image_free(zk_ptx_image *img)
{
    if (!img) {
        return;
    }
    for (uint32_t i = 0; i < img->nkernels; i++) {
        free(img->kernels[i].params);
    }
    free(img->kernels);
    free(img->globals);
    free(img->image);
    free(img->lines);
    memset(img, 0, sizeof(*img));
}

const zk_ptx_kernel *zk_ptx_find_kernel(const zk_ptx_image *img, const char *name)
{
    for (uint32_t i = 0; i < img->nkernels; i++) {
        if (strcmp(img->kernels[i].name, name) == 0) {
            return &img->kernels[i];
        }
    }
    return NULL;
}

static void encode(const mir_func *f, uint32_t base, uint32_t code_bytes, uint64_t *w,
                   uint32_t *lines)
{
    for (uint32_t i = 0; i < f->n; i++) {
        const mir_insn *m = &f->v[i];
        ZkSimtInsn s;
        memset(&s, 0, sizeof(s));
        s.op = m->op;
        s.rd = (uint8_t)m->rd;
        s.ra = (uint8_t)m->ra;
        s.rb = (uint8_t)m->rb;
        s.rc = (uint8_t)m->rc;
        s.guard = (uint8_t)m->guard;
        s.gneg = m->gneg;
        s.pd = (uint8_t)m->pd;
        s.type = m->type;
        s.mod = m->mod;
        s.type2 = m->type2;
        s.flags = m->flags;
        s.imm = m->imm;
        if (m->op == ZK_SOP_PLOP || m->op == ZK_SOP_VOTE) {
            s.ra = (uint8_t)(m->ra | (m->ra_neg ? 8u : 0u));
            if (m->op == ZK_SOP_PLOP) {
                s.rb = (uint8_t)(m->rb | (m->rb_neg ? 8u : 0u));
            }
        }
        if (m->fix == MIR_FIX_DATA) {
            s.imm += code_bytes;
        }
        if (m->op == ZK_SOP_BRA) {
            s.imm = (uint64_t)(int64_t)((int64_t)f->label_pos[m->target] - (int64_t)i);
        }
        zk_simt_encode(&s, &w[2 * (base + i)]);
        lines[base + i] = m->line;
    }
}

int zk_ptx_translate(const ptx_module *m, const zk_ptx_options *opt, zk_ptx_image *out,
                     char *err, size_t errlen)
{
    mir_module mm;
    uint64_t total = 0;
    uint32_t data_off, max_regs = opt && opt->max_regs ? opt->max_regs : 251;
    uint64_t *w;
    memset(out, 0, sizeof(*out));
    if (ptx_lower(m, &mm, err, errlen) != 0) {
        return -1;
    }
    if (!mm.nfuncs) {
        snprintf(err, errlen, "%s: no kernel (.entry) to translate", m->file);
        mir_module_free(&mm);
        return -1;
    }
    for (uint32_t i = 0; i < mm.nfuncs; i++) {
        char e2[400];
        if (ptx_peephole(&mm.funcs[i]) != 0) {
            snprintf(err, errlen, "%s: out of host memory", m->file);
            mir_module_free(&mm);
            return -1;
        }
        if (ptx_regalloc_limit(&mm.funcs[i], max_regs, e2, sizeof(e2)) != 0) {
            snprintf(err, errlen, "%s: %s", m->file, e2);
            mir_module_free(&mm);
            return -1;
        }
        total += mm.funcs[i].n;
    }
    if (total * 16 + mm.data_bytes + DATA_ALIGN > (64u << 20)) {
        snprintf(err, errlen, "%s: translated image larger than 64 MiB", m->file);
        mir_module_free(&mm);
        return -1;
    }
    out->code_bytes = (uint32_t)(total * 16);
    data_off = (out->code_bytes + DATA_ALIGN - 1) & ~(DATA_ALIGN - 1);
    out->size = data_off + mm.data_bytes;
    out->image = calloc(out->size ? out->size : 1, 1);
    out->lines = calloc(total ? total : 1, sizeof(*out->lines));
    out->kernels = calloc(mm.nfuncs, sizeof(*out->kernels));
    out->globals = calloc(m->nvars ? m->nvars : 1, sizeof(*out->globals));
    w = calloc(total ? total * 2 : 1, sizeof(*w));
    if (!out->image || !out->lines || !out->kernels || !out->globals || !w) {
        free(w);
        mir_module_free(&mm);
        zk_ptx_image_free(out);
        snprintf(err, errlen, "out of host memory");
        return -1;
    }
    {
        uint32_t base = 0, k = 0;
        for (uint32_t i = 0; i < m->nfuncs; i++) {
            const ptx_func *pf = &m->funcs[i];
            zk_ptx_kernel *kd;
            mir_func *f;
            if (!pf->is_entry || !pf->has_body) {
                continue;
            }
            f = &mm.funcs[k];
            kd = &out->kernels[k++];
            encode(f, base, data_off, w, out->lines);
            snprintf(kd->name, sizeof(kd->name), "%s", pf->name);  /* f->name: truncated */
            kd->entry = base * 16;
            kd->ninsns = f->n;
            kd->shared_bytes = f->shared_bytes;
            kd->local_bytes = f->local_bytes;
            kd->param_bytes = f->param_bytes;
            kd->regs = f->regs_used;
            kd->spills = f->spills;
            memcpy(kd->reqntid, pf->reqntid, sizeof(kd->reqntid));
            kd->nparams = pf->nparams;
            kd->params = calloc(pf->nparams ? pf->nparams : 1, sizeof(*kd->params));
            if (!kd->params) {
                out->nkernels = k;
                free(w);
                mir_module_free(&mm);
                zk_ptx_image_free(out);
                snprintf(err, errlen, "out of host memory");
                return -1;
            }
            for (uint32_t j = 0; j < pf->nparams; j++) {
                snprintf(kd->params[j].name, sizeof(kd->params[j].name), "%s",
                         pf->params[j].name);
                kd->params[j].offset = pf->params[j].offset;
                kd->params[j].size = pf->params[j].size;
                kd->params[j].align = pf->params[j].align;
                kd->params[j].type = pf->params[j].type;
            }
            base += f->n;
        }
        out->nkernels = k;
    }
    memcpy(out->image, w, out->code_bytes);
    if (mm.data_bytes) {
        memcpy(out->image + data_off, mm.data, mm.data_bytes);
    }
    for (uint32_t i = 0; i < m->nvars; i++) {
        const ptx_var *v = &m->vars[i];
        if (v->space == PS_GLOBAL || v->space == PS_CONST) {
            zk_ptx_global *g = &out->globals[out->nglobals++];
            snprintf(g->name, sizeof(g->name), "%s", v->name);
            g->offset = data_off + (uint32_t)mm.var_offset[i];
            g->size = (uint32_t)v->size;
            g->is_const = v->space == PS_CONST;
        }
    }
    /* The device's own verifier must accept every kernel. */
    for (uint32_t k = 0; k < out->nkernels; k++) {
        ZkSimtInfo info;
        uint32_t bad = 0;
        const char *why = NULL;
        if (zk_simt_verify(w, (uint32_t)total, out->kernels[k].entry / 16, &info, &bad,
                           &why) != 0) {
            char dis[128];
            zk_simt_disasm(&w[2 * bad], bad, dis, sizeof(dis));
            snprintf(err, errlen, "%s:%u: internal error: kernel %s translates to invalid SIMT "
                     "code at %u (%s): %s", m->file, bad < total ? out->lines[bad] : 0,
                     out->kernels[k].name, bad, dis, why ? why : "?");
            free(w);
            mir_module_free(&mm);
            zk_ptx_image_free(out);
            return -1;
        }
    }
    free(w);
    mir_module_free(&mm);
    return 0;
}

int zk_ptx_compile(const char *text, size_t len, const char *name, const zk_ptx_options *opt,
                   zk_ptx_image *out, char *err, size_t errlen)
{
    ptx_module m;
    int rc;
    memset(out, 0, sizeof(*out));
    if (ptx_parse(text, len, name, &m, err, errlen) != 0) {
        return -1;
    }
    rc = zk_ptx_translate(&m, opt, out, err, errlen);
    ptx_module_free(&m);
    return rc;
}

/* ---- listing ----------------------------------------------------------------------- */

typedef struct obuf {
    char *p;
    size_t len, cap;
    int oom;
} obuf;

static void ob_printf(obuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ob_printf(obuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (b->oom) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t nc = (b->cap ? b->cap * 2 : 8192) + (size_t)n;
        char *q = realloc(b->p, nc);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = nc;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Text of line n (1-based) of the PTX, trimmed. */
static void ptx_line(const char *t, size_t len, uint32_t n, const char **s, int *l)
{
    size_t i = 0;
    uint32_t cur = 1;
    *s = "";
    *l = 0;
    while (i < len && cur < n) {
        if (t[i++] == '\n') {
            cur++;
        }
    }
    if (cur != n) {
        return;
    }
    while (i < len && (t[i] == ' ' || t[i] == '\t')) {
        i++;
    }
    *s = t + i;
    while (i < len && t[i] != '\n') {
        i++;
    }
    *l = (int)(t + i - *s);
}

int zk_ptx_dump(const zk_ptx_image *img, const char *ptx, size_t ptx_len, char **out,
                size_t *out_len)
{
    obuf b = { 0 };
    for (uint32_t k = 0; k < img->nkernels; k++) {
        const zk_ptx_kernel *kd = &img->kernels[k];
        uint32_t first = kd->entry / 16, last_line = 0;
        ob_printf(&b, "%s.kernel %s  // %u instructions, %u registers, %u spilled, shared %u, "
                  "local %u, params %u bytes\n", k ? "\n" : "", kd->name, kd->ninsns, kd->regs,
                  kd->spills, kd->shared_bytes, kd->local_bytes, kd->param_bytes);
        for (uint32_t j = 0; j < kd->nparams; j++) {
            ob_printf(&b, "//   param %s: offset %u, %u bytes\n", kd->params[j].name,
                      kd->params[j].offset, kd->params[j].size);
        }
        for (uint32_t i = first; i < first + kd->ninsns; i++) {
            char dis[160];
            const uint64_t *w = (const uint64_t *)(const void *)(img->image + 16 * (size_t)i);
            uint64_t ww[2];
            memcpy(ww, w, 16);
            zk_simt_disasm(ww, i - first, dis, sizeof(dis));
            if (img->lines[i] && img->lines[i] != last_line && ptx) {
                const char *s;
                int l;
                ptx_line(ptx, ptx_len, img->lines[i], &s, &l);
                ob_printf(&b, "                                        // %u: %.*s\n",
                          img->lines[i], l, s);
                last_line = img->lines[i];
            }
            ob_printf(&b, "  %5u:  %s\n", i - first, dis);
        }
    }
    if (b.oom) {
        free(b.p);
        return -1;
    }
    *out = b.p ? b.p : calloc(1, 1);
    *out_len = b.len;
    return *out ? 0 : -1;
}
