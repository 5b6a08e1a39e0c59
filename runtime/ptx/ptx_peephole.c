/* SPDX-License-Identifier: MIT */
/*
 * ptx_peephole.c - exact machine IR rewrites between lowering and register
 * allocation (ptx_mir.h): instruction patterns clang's PTX leaves that the
 * SIMT ISA does in fewer instructions, with bit-identical results.
 *
 *  - mulwide t, x, y; add.64 d, a, t     ->  madwide d, x, y, a
 *    (base + index * size address arithmetic: one instruction per use);
 *  - cvt.u32.u64 t, x feeding only 32-bit compares and 32-bit arithmetic
 *    (they read the low half of a register)  ->  those read x;
 *  - mov t, IMM; sub.f32 d, t, x         ->  fma.f32 d, x, -1.0, IMM
 *    (x * -1 is exact, so one rounding as in the subtraction);
 *  - mul.f32 t, x, P; mul.f32 d, t, C    ->  mul.f32 d, x, P*C when P is
 *    +-2^k (k >= 0: x*P is exact unless it overflows) and |C| >= 1 (then
 *    an overflow of x*P overflows the product too) and P*C is exact;
 *  - two st.local.b32 of zero to [a+o] and [a+o+4] with a+o provably
 *    8-byte aligned  ->  one st.local.b64 of r0 (clearing local arrays);
 *  - t = OP x, y; ...; mov d, t (t's only use, x and y unchanged between)
 *    ->  d = OP x, y at the mov (loop latches: "i' = i + 12; j = i; i = i'"
 *    needs no third register and one instruction less).
 *
 * The temporary t qualifies when it has exactly one definition, unguarded,
 * and all its uses sit after it in the same basic block with the operands
 * they take over unchanged in between; its definition is then dropped.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ptx_mir.h"
#include "zk_simt_isa.h"

typedef struct peep {
    mir_func *f;
    uint32_t *blk;      /* basic block of each instruction */
    uint32_t *ndefs;    /* per vreg */
    uint32_t *nuses;
    uint8_t *dead;      /* instruction dropped */
} peep;

static uint32_t defs_of(const mir_insn *in)
{
    uint32_t gu[8], pu[8], gd, pd;
    int ngu, npu;
    if (mir_insn_uses(in, gu, &ngu, pu, &npu, &gd, &pd)) {
        return 0;
    }
    return gd;
}

/* Is register v written by an instruction strictly between i and j? */
static int written_between(const peep *p, uint32_t v, uint32_t i, uint32_t j)
{
    if (!v) {
        return 0;
    }
    for (uint32_t k = i + 1; k < j; k++) {
        if (!p->dead[k] && defs_of(&p->f->v[k]) == v) {
            return 1;
        }
    }
    return 0;
}

/* Reads of v by in (a guarded definition of v reads it too). */
static int reads(const mir_insn *in, uint32_t v)
{
    uint32_t gu[8], pu[8], gd, pd;
    int ngu, npu, n = 0;
    if (mir_insn_uses(in, gu, &ngu, pu, &npu, &gd, &pd)) {
        return 0;
    }
    for (int k = 0; k < ngu; k++) {
        n += gu[k] == v;
    }
    return n;
}

/* Add (sign 1) or remove (-1) in's reads from the use counts: kept exact
 * across rewrites so later candidates still see every use. */
static void count_reads(peep *p, const mir_insn *in, int sign)
{
    uint32_t gu[8], pu[8], gd, pd;
    int ngu, npu;
    if (mir_insn_uses(in, gu, &ngu, pu, &npu, &gd, &pd)) {
        return;
    }
    for (int k = 0; k < ngu; k++) {
        if (gu[k] < p->f->nvregs) {
            p->nuses[gu[k]] += (uint32_t)sign;
        }
    }
}

/* Before rewriting def i and its uses, and after (sign -1, then 1). */
static void recount(peep *p, uint32_t i, const uint32_t *use, int n, int sign)
{
    if (!p->dead[i]) {
        count_reads(p, &p->f->v[i], sign);
    }
    for (int k = 0; k < n; k++) {
        count_reads(p, &p->f->v[use[k]], sign);
    }
}

/*
 * The uses of t (defined at i): their indices in use[] (at most cap), or -1
 * when t is not a single-definition temporary used only later in i's block.
 */
static int uses_in_block(const peep *p, uint32_t i, uint32_t t, uint32_t *use, int cap)
{
    const mir_func *f = p->f;
    uint32_t seen = 0;
    int n = 0;
    if (!t || p->ndefs[t] != 1 || f->v[i].guard || reads(&f->v[i], t)) {
        return -1;
    }
    for (uint32_t j = i + 1; j < f->n && p->blk[j] == p->blk[i] && seen < p->nuses[t]; j++) {
        int r;
        if (p->dead[j]) {
            continue;
        }
        r = reads(&f->v[j], t);
        if (r) {
            if (n == cap) {
                return -1;
            }
            use[n++] = j;
            seen += (uint32_t)r;
        }
    }
    return seen == p->nuses[t] ? n : -1;
}

enum { MAX_USES = 8 };

static void fuse_madwide(peep *p, uint32_t i)
{
    mir_insn *m = &p->f->v[i];
    uint32_t use[MAX_USES], b = (m->flags & ZK_SF_BIMM) ? 0 : m->rb;
    int n = uses_in_block(p, i, m->rd, use, MAX_USES);
    if (n <= 0 || (m->flags & ZK_SF_CIMM) || m->fix) {
        return;
    }
    for (int k = 0; k < n; k++) {
        const mir_insn *a = &p->f->v[use[k]];
        if (a->op != ZK_SOP_ADD || (a->type != ZK_ST_U64 && a->type != ZK_ST_S64) ||
            (a->flags & (ZK_SF_BIMM | ZK_SF_CIMM)) || a->fix || (a->ra == m->rd) == (a->rb == m->rd) ||
            written_between(p, m->ra, i, use[k]) || written_between(p, b, i, use[k])) {
            return;
        }
    }
    recount(p, i, use, n, -1);
    for (int k = 0; k < n; k++) {
        mir_insn *a = &p->f->v[use[k]];
        uint32_t other = a->ra == m->rd ? a->rb : a->ra;
        a->op = ZK_SOP_MADWIDE;
        a->type = m->type;
        a->ra = m->ra;
        a->rb = m->rb;
        a->rc = other;
        a->flags = m->flags & ZK_SF_BIMM;
        a->imm = m->imm;
    }
    p->dead[i] = 1;
    recount(p, i, use, n, 1);
}

/* Ops whose reading of ra/rb only looks at the low 32 bits at 32-bit types. */
static int reads_low_half(const mir_insn *in, uint32_t t)
{
    if (in->type != ZK_ST_U32 && in->type != ZK_ST_S32) {
        return 0;
    }
    switch (in->op) {
    case ZK_SOP_SETP: case ZK_SOP_ADD: case ZK_SOP_SUB: case ZK_SOP_AND: case ZK_SOP_OR:
    case ZK_SOP_XOR:
        /* t only as a or b, and not the destination */
        return in->rd != t && !((in->flags & ZK_SF_CIMM) == 0 && in->rc == t);
    default:
        return 0;
    }
}

static void fold_trunc(peep *p, uint32_t i)
{
    mir_insn *m = &p->f->v[i];
    uint32_t use[MAX_USES];
    int n;
    if ((m->type != ZK_ST_U32 && m->type != ZK_ST_S32) ||
        (m->type2 != ZK_ST_U64 && m->type2 != ZK_ST_S64) || !m->ra) {
        return;
    }
    n = uses_in_block(p, i, m->rd, use, MAX_USES);
    if (n <= 0) {
        return;
    }
    for (int k = 0; k < n; k++) {
        if (!reads_low_half(&p->f->v[use[k]], m->rd) ||
            written_between(p, m->ra, i, use[k])) {
            return;
        }
    }
    recount(p, i, use, n, -1);
    for (int k = 0; k < n; k++) {
        mir_insn *u = &p->f->v[use[k]];
        if (u->ra == m->rd) {
            u->ra = m->ra;
        }
        if (!(u->flags & ZK_SF_BIMM) && u->rb == m->rd) {
            u->rb = m->ra;
        }
    }
    p->dead[i] = 1;
    recount(p, i, use, n, 1);
}

static float f32_of(uint64_t bits)
{
    uint32_t b = (uint32_t)bits;
    float x;
    memcpy(&x, &b, 4);
    return x;
}

static uint64_t of_f32(float x)
{
    uint32_t b;
    memcpy(&b, &x, 4);
    return b;
}

/* mov t, IMM; fsub.f32 d, t, x  ->  ffma.f32 d, x, -1.0, IMM */
static void fold_rsub(peep *p, uint32_t i)
{
    mir_insn *m = &p->f->v[i];
    uint32_t use[MAX_USES];
    int n;
    if (!(m->flags & ZK_SF_BIMM) || m->fix || m->imm > 0xffffffffull) {
        return;
    }
    n = uses_in_block(p, i, m->rd, use, MAX_USES);
    if (n <= 0) {
        return;
    }
    for (int k = 0; k < n; k++) {
        const mir_insn *s = &p->f->v[use[k]];
        if (s->op != ZK_SOP_FSUB || s->type != ZK_ST_F32 || s->ra != m->rd ||
            (s->flags & ZK_SF_BIMM) || s->rb == m->rd || !s->rb) {
            return;
        }
    }
    recount(p, i, use, n, -1);
    for (int k = 0; k < n; k++) {
        mir_insn *s = &p->f->v[use[k]];
        s->op = ZK_SOP_FFMA;
        s->ra = s->rb;
        s->rb = 0;
        s->rc = 0;
        s->flags = ZK_SF_BIMM | ZK_SF_CIMM;
        s->imm = of_f32(-1.0f) | m->imm << 32;
    }
    p->dead[i] = 1;
    recount(p, i, use, n, 1);
}

/* fmul.f32 t, x, P; fmul.f32 d, t, C  ->  fmul.f32 d, x, P*C (see the top) */
static void fold_fmul(peep *p, uint32_t i)
{
    mir_insn *m = &p->f->v[i];
    uint32_t use[1];
    float pw, cc, pc;
    int e, n;
    if (m->type != ZK_ST_F32 || m->mod != ZK_RND_RN || (m->flags != ZK_SF_BIMM) || m->fix) {
        return;
    }
    pw = f32_of(m->imm);
    if (!isfinite(pw) || fabsf(frexpf(pw, &e)) != 0.5f || e < 1) {
        return;                         /* not +-2^k, k >= 0 */
    }
    n = uses_in_block(p, i, m->rd, use, 1);
    if (n != 1) {
        return;
    }
    mir_insn *u = &p->f->v[use[0]];
    if (u->op != ZK_SOP_FMUL || u->type != ZK_ST_F32 || u->mod != ZK_RND_RN ||
        u->flags != ZK_SF_BIMM || u->ra != m->rd || u->fix ||
        written_between(p, m->ra, i, use[0])) {
        return;
    }
    cc = f32_of(u->imm);
    pc = pw * cc;                       /* exact: scaling by a power of two */
    if (!isfinite(cc) || fabsf(cc) < 1.0f || !isfinite(pc)) {
        return;
    }
    recount(p, i, use, 1, -1);
    u->ra = m->ra;
    u->imm = of_f32(pc);
    p->dead[i] = 1;
    recount(p, i, use, 1, 1);
}

static unsigned ctz_imm(uint64_t v)
{
    return v ? (unsigned)__builtin_ctzll(v) : 64u;
}

static unsigned umin(unsigned a, unsigned b)
{
    return a < b ? a : b;
}

/*
 * Known trailing zero bits of each register (64: the value is 0), the
 * greatest solution of "at most what every definition gives" (registers
 * start at zero, so every value the program computes keeps the bound).
 * NULL when it does not settle in a few rounds (nothing is then known).
 */
static uint8_t *trailing_zeros(const peep *p)
{
    const mir_func *f = p->f;
    uint8_t *tz = malloc(f->nvregs ? f->nvregs : 1);
    if (!tz) {
        return NULL;
    }
    memset(tz, 64, f->nvregs ? f->nvregs : 1);
    for (int round = 0; round < 16; round++) {
        int changed = 0;
        for (uint32_t i = 0; i < f->n; i++) {
            const mir_insn *in = &f->v[i];
            uint32_t d = p->dead[i] ? 0 : defs_of(in);
            unsigned a, b, c, r;
            if (!d || d >= f->nvregs) {
                continue;
            }
            a = in->ra < f->nvregs ? tz[in->ra] : 0;
            b = (in->flags & ZK_SF_BIMM) ? ctz_imm(in->imm) : in->rb < f->nvregs ? tz[in->rb] : 0;
            c = (in->flags & ZK_SF_CIMM) ? 0 : in->rc < f->nvregs ? tz[in->rc] : 0;
            if ((in->flags & ZK_SF_BIMM) && (in->flags & ZK_SF_CIMM)) {
                b = c = 0;      /* packed immediates: not worth decoding */
            }
            switch (in->op) {
            case ZK_SOP_MOV: r = b; break;
            case ZK_SOP_ADD: case ZK_SOP_SUB: r = umin(a, b); break;
            case ZK_SOP_AND: r = a > b ? a : b; break;
            case ZK_SOP_MUL: case ZK_SOP_MULWIDE: r = umin(64, a + b); break;
            case ZK_SOP_MAD: case ZK_SOP_MADWIDE: r = umin(umin(64, a + b), c); break;
            case ZK_SOP_SHL:
                r = (in->flags & ZK_SF_BIMM) && in->imm < 64 ? umin(64, a + (unsigned)in->imm) : 0;
                break;
            default: r = 0; break;
            }
            if (r < tz[d]) {
                tz[d] = (uint8_t)r;
                changed = 1;
            }
        }
        if (!changed) {
            return tz;
        }
    }
    free(tz);
    return NULL;
}

static int is_store32_local(const mir_insn *in)
{
    return in->op == ZK_SOP_ST && in->type2 == ZK_SPACE_LOCAL && !in->fix &&
           (in->type == ZK_ST_U32 || in->type == ZK_ST_S32 || in->type == ZK_ST_F32) &&
           !(in->flags & ZK_SF_BIMM);
}

/* Control flow for zero_at(): blocks and their predecessors. */
typedef struct cfg {
    uint32_t nb, *first, *last;     /* block b: instructions first[b]..last[b] */
    uint32_t *pred_start, *preds;   /* preds of b: preds[pred_start[b]..pred_start[b+1]) */
    uint8_t *seen;
    uint32_t *stack;
    uint64_t budget;                /* instructions zero_at() may still scan */
} cfg;

static int cfg_build(const peep *p, const uint8_t *leader, cfg *g)
{
    const mir_func *f = p->f;
    uint32_t nb = p->blk[f->n - 1] + 1, *cnt, ne = 0;
    memset(g, 0, sizeof(*g));
    g->nb = nb;
    g->first = calloc(nb, sizeof(uint32_t));
    g->last = calloc(nb, sizeof(uint32_t));
    g->pred_start = calloc(nb + 1, sizeof(uint32_t));
    g->preds = calloc(2 * (size_t)nb + 1, sizeof(uint32_t));
    g->seen = calloc(nb, 1);
    g->stack = calloc(nb + 1, sizeof(uint32_t));
    cnt = calloc(nb + 1, sizeof(uint32_t));
    if (!g->first || !g->last || !g->pred_start || !g->preds || !g->seen || !g->stack || !cnt) {
        free(cnt);
        return -1;
    }
    (void)leader;
    for (uint32_t i = 0; i < f->n; i++) {
        if (!i || p->blk[i] != p->blk[i - 1]) {
            g->first[p->blk[i]] = i;
        }
        g->last[p->blk[i]] = i;
    }
    /* successors (branch target, fall-through) counted into predecessor lists */
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t b = 0; b < nb; b++) {
            const mir_insn *l = &f->v[g->last[b]];
            int32_t succ[2] = { -1, -1 };
            int fall = 1;
            if (l->op == ZK_SOP_BRA) {
                int32_t t = l->target >= 0 && (uint32_t)l->target < f->nlabels ?
                            f->label_pos[l->target] : -1;
                succ[0] = t >= 0 && (uint32_t)t < f->n ? (int32_t)p->blk[t] : -1;
                fall = l->guard != 0;
            } else if (l->op == ZK_SOP_EXIT || l->op == ZK_SOP_TRAP) {
                fall = l->guard != 0;
            }
            if (fall && b + 1 < nb) {
                succ[1] = (int32_t)(b + 1);
            }
            for (int k = 0; k < 2; k++) {
                if (succ[k] < 0) {
                    continue;
                }
                if (pass == 0) {
                    g->pred_start[succ[k] + 1]++;
                    ne++;
                } else {
                    g->preds[g->pred_start[succ[k]] + cnt[succ[k]]++] = b;
                }
            }
        }
        if (pass == 0) {
            for (uint32_t b = 0; b < nb; b++) {
                g->pred_start[b + 1] += g->pred_start[b];
            }
        }
    }
    (void)ne;
    free(cnt);
    g->budget = 1u << 22;
    return 0;
}

static void cfg_free(cfg *g)
{
    free(g->first);
    free(g->last);
    free(g->pred_start);
    free(g->preds);
    free(g->seen);
    free(g->stack);
}

/*
 * Is register v zero whenever instruction i runs?  Every definition that
 * can reach i (searched backwards over the control flow) writes zero; with
 * none, v still holds its launch value, zero.  Gives up (0) past a budget.
 */
static int zero_at(const peep *p, cfg *g, uint32_t v, uint32_t i)
{
    const mir_func *f = p->f;
    uint32_t sp = 0, b = p->blk[i], from = i;
    int ok = 1;
    if (!v) {
        return 1;
    }
    memset(g->seen, 0, g->nb);
    for (;;) {
        int found = 0;
        for (uint32_t k = from; k-- > g->first[b];) {
            const mir_insn *in = &f->v[k];
            if (!g->budget--) {
                return 0;
            }
            if (p->dead[k] || defs_of(in) != v) {
                continue;
            }
            if (in->op != ZK_SOP_MOV || !(in->flags & ZK_SF_BIMM) || in->imm || in->fix) {
                return 0;
            }
            if (!in->guard) {
                found = 1;      /* zero from here on */
                break;
            }
        }
        if (!found) {
            for (uint32_t e = g->pred_start[b]; e < g->pred_start[b + 1]; e++) {
                uint32_t q = g->preds[e];
                if (!g->seen[q]) {
                    g->seen[q] = 1;
                    g->stack[sp++] = q;
                }
            }
        }
        if (!sp) {
            return ok;
        }
        b = g->stack[--sp];
        from = g->last[b] + 1;
    }
}

/* Pairs of zero stores into one 8-byte store (see the top). */
static void merge_zero_stores(peep *p, const uint8_t *leader)
{
    mir_func *f = p->f;
    uint8_t *tz = trailing_zeros(p);
    cfg g;
    if (!tz) {
        return;
    }
    if (cfg_build(p, leader, &g)) {
        cfg_free(&g);
        free(tz);
        return;
    }
    for (uint32_t i = 0; i + 1 < f->n; i++) {
        mir_insn *s0 = &f->v[i], *s1;
        uint32_t j = i + 1;
        if (p->dead[i] || !is_store32_local(s0)) {
            continue;
        }
        while (j < f->n && p->dead[j] && !leader[j]) {
            j++;
        }
        if (j >= f->n || leader[j]) {
            continue;
        }
        s1 = &f->v[j];
        if (!is_store32_local(s1) || s1->ra != s0->ra || s1->imm != s0->imm + 4 ||
            s1->guard != s0->guard || s1->gneg != s0->gneg || s0->ra >= f->nvregs ||
            s0->rb >= f->nvregs || s1->rb >= f->nvregs || tz[s0->ra] < 3 || (s0->imm & 7) ||
            !zero_at(p, &g, s0->rb, i) || !zero_at(p, &g, s1->rb, j)) {
            continue;
        }
        count_reads(p, s0, -1);
        count_reads(p, s1, -1);
        s0->type = ZK_ST_U64;
        s0->rb = 0;
        p->dead[j] = 1;
        count_reads(p, s0, 1);
        i = j;
    }
    cfg_free(&g);
    free(tz);
}

/* Pure register operations (no memory, predicates or lanes read). */
static int pure_alu(const mir_insn *in)
{
    switch (in->op) {
    case ZK_SOP_ADD: case ZK_SOP_SUB: case ZK_SOP_MUL: case ZK_SOP_MAD: case ZK_SOP_AND:
    case ZK_SOP_OR: case ZK_SOP_XOR: case ZK_SOP_SHL: case ZK_SOP_SHR:
    case ZK_SOP_MULWIDE: case ZK_SOP_MADWIDE: case ZK_SOP_FADD: case ZK_SOP_FSUB:
    case ZK_SOP_FMUL: case ZK_SOP_FFMA:
        return !in->guard && !in->gneg && !in->fix && !in->pd;
    default:
        return 0;
    }
}

/* mov d, t where t's single definition i is a pure operation: compute it at the mov. */
static void sink_into_copy(peep *p, uint32_t j, const uint32_t *defpos)
{
    mir_func *f = p->f;
    mir_insn *mv = &f->v[j];
    uint32_t t = mv->rb, i, use[1];
    mir_insn *d;
    if (mv->guard || mv->gneg || (mv->flags & ZK_SF_BIMM) || !t || t >= f->nvregs ||
        !mv->rd || p->ndefs[t] != 1 || p->nuses[t] != 1) {
        return;
    }
    i = defpos[t];
    if (i >= j || p->dead[i] || p->blk[i] != p->blk[j] || uses_in_block(p, i, t, use, 1) != 1 ||
        use[0] != j) {
        return;
    }
    d = &f->v[i];
    if (!pure_alu(d) || written_between(p, d->ra, i, j) ||
        (!(d->flags & ZK_SF_BIMM) && written_between(p, d->rb, i, j)) ||
        (!(d->flags & ZK_SF_CIMM) && written_between(p, d->rc, i, j))) {
        return;
    }
    recount(p, i, use, 1, -1);
    {
        mir_insn n = *d;
        n.rd = mv->rd;
        *mv = n;
    }
    p->dead[i] = 1;
    recount(p, i, use, 1, 1);
}

int ptx_peephole(mir_func *f)
{
    peep p;
    uint32_t *newpos, *defpos;
    uint8_t *leader;
    uint32_t nb = 0, nn = 0;
    int rc = -1;
    memset(&p, 0, sizeof(p));
    if (!f->n) {
        return 0;
    }
    p.f = f;
    p.blk = calloc(f->n, sizeof(*p.blk));
    p.ndefs = calloc(f->nvregs ? f->nvregs : 1, sizeof(*p.ndefs));
    p.nuses = calloc(f->nvregs ? f->nvregs : 1, sizeof(*p.nuses));
    p.dead = calloc(f->n, 1);
    newpos = calloc(f->n + 1, sizeof(*newpos));
    leader = calloc(f->n + 1, 1);
    defpos = calloc(f->nvregs ? f->nvregs : 1, sizeof(*defpos));
    if (!p.blk || !p.ndefs || !p.nuses || !p.dead || !newpos || !leader || !defpos) {
        goto out;
    }
    /* basic blocks: labels start them, branches and exits end them */
    mir_mark_leaders(f, leader);
    for (uint32_t i = 0; i < f->n; i++) {
        nb += i && leader[i];
        p.blk[i] = nb;
    }
    for (uint32_t i = 0; i < f->n; i++) {
        uint32_t gu[8], pu[8], gd, pd;
        int ngu, npu;
        if (mir_insn_uses(&f->v[i], gu, &ngu, pu, &npu, &gd, &pd)) {
            continue;
        }
        for (int k = 0; k < ngu; k++) {
            if (gu[k] < f->nvregs) {
                p.nuses[gu[k]]++;
            }
        }
        if (gd && gd < f->nvregs) {
            p.ndefs[gd]++;
            defpos[gd] = i;
        }
    }
    for (uint32_t i = 0; i < f->n; i++) {
        const mir_insn *in = &f->v[i];
        if (in->guard || in->gneg || !in->rd || in->rd >= f->nvregs) {
            continue;
        }
        switch (in->op) {
        case ZK_SOP_MULWIDE: fuse_madwide(&p, i); break;
        case ZK_SOP_CVT: fold_trunc(&p, i); break;
        case ZK_SOP_MOV: fold_rsub(&p, i); break;
        case ZK_SOP_FMUL: fold_fmul(&p, i); break;
        default: break;
        }
    }
    merge_zero_stores(&p, leader);
    for (uint32_t j = 0; j < f->n; j++) {
        if (!p.dead[j] && f->v[j].op == ZK_SOP_MOV) {
            sink_into_copy(&p, j, defpos);
        }
    }
    /* drop the dead definitions; labels follow their instructions */
    for (uint32_t i = 0; i < f->n; i++) {
        newpos[i] = nn;
        if (!p.dead[i]) {
            f->v[nn++] = f->v[i];
        }
    }
    newpos[f->n] = nn;
    for (uint32_t i = 0; i < f->nlabels; i++) {
        if (f->label_pos[i] >= 0 && (uint32_t)f->label_pos[i] <= f->n) {
            f->label_pos[i] = (int32_t)newpos[f->label_pos[i]];
        }
    }
    f->n = nn;
    rc = 0;
out:
    free(p.blk);
    free(p.ndefs);
    free(p.nuses);
    free(p.dead);
    free(newpos);
    free(leader);
    free(defpos);
    return rc;
}
