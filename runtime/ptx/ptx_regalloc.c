/* SPDX-License-Identifier: MIT */
/*
 * ptx_regalloc.c - register allocation for machine IR (ptx_mir.h).
 *
 * Liveness over the control-flow graph (basic blocks split at labels and
 * after branches/exits, bit sets iterated to a fixed point), one live
 * interval per virtual register (the hull of its uses, definitions and the
 * blocks it is live through; a guarded definition also counts as a use, as
 * the old value survives in the lanes the guard turns off), then linear
 * scan: general registers onto r1..r251 (r252..r255 are kept for spill
 * code), predicates onto p1..p7.  When registers run out the interval that
 * ends last is spilled to an 8-byte slot in the thread's local memory
 * after the kernel's own variables; each instruction touching a spilled
 * value reloads it into a spill register before and stores it after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptx_mir.h"
#include "zk_simt_isa.h"

#define SCRATCH_FIRST 252u          /* r252..r255: spill code */
#define MAX_PREDS 7u

void mir_mark_leaders(const mir_func *f, uint8_t *leader)
{
    if (f->n) {
        leader[0] = 1;
    }
    for (uint32_t i = 0; i < f->nlabels; i++) {
        if (f->label_pos[i] >= 0 && (uint32_t)f->label_pos[i] < f->n) {
            leader[f->label_pos[i]] = 1;
        }
    }
    for (uint32_t i = 0; i < f->n; i++) {
        uint8_t op = f->v[i].op;
        if ((op == ZK_SOP_BRA || op == ZK_SOP_EXIT || op == ZK_SOP_TRAP) && i + 1 < f->n) {
            leader[i + 1] = 1;
        }
    }
}

int mir_insn_uses(const mir_insn *in, uint32_t *gu, int *ngu, uint32_t *pu, int *npu,
                  uint32_t *gd, uint32_t *pd)
{
    const ZkSimtOpInfo *oi = zk_simt_op(in->op);
    unsigned int use = oi ? oi->use : 0;
    *ngu = *npu = 0;
    *gd = *pd = 0;
    if (!oi) {
        return -1;
    }
    if ((use & ZK_SU_RA) && in->ra) {
        gu[(*ngu)++] = in->ra;
    }
    if ((use & ZK_SU_PRA) && in->ra) {
        pu[(*npu)++] = in->ra;
    }
    if ((use & ZK_SU_B) && !(in->flags & ZK_SF_BIMM) && in->rb) {
        gu[(*ngu)++] = in->rb;
    }
    if ((use & ZK_SU_PRB) && in->rb) {
        pu[(*npu)++] = in->rb;
    }
    if ((use & ZK_SU_C) && !(in->flags & ZK_SF_CIMM) && in->rc) {
        gu[(*ngu)++] = in->rc;
    }
    if ((use & ZK_SU_PS) && in->pd) {
        pu[(*npu)++] = in->pd;
    }
    if (in->guard) {
        pu[(*npu)++] = in->guard;
    }
    if ((use & ZK_SU_RD) && in->rd) {
        *gd = in->rd;
        if (in->guard) {
            gu[(*ngu)++] = in->rd;      /* partial definition */
        }
    }
    if ((use & ZK_SU_PD) && in->pd) {
        *pd = in->pd;
        if (in->guard) {
            pu[(*npu)++] = in->pd;
        }
    }
    return 0;
}

typedef struct bitset {
    uint64_t *w;
    uint32_t words;
} bitset;

static int bs_test(const uint64_t *w, uint32_t i)
{
    return (int)((w[i >> 6] >> (i & 63)) & 1);
}

static void bs_set(uint64_t *w, uint32_t i)
{
    w[i >> 6] |= 1ull << (i & 63);
}

static void bs_clear(uint64_t *w, uint32_t i)
{
    w[i >> 6] &= ~(1ull << (i & 63));
}

typedef struct block {
    uint32_t first, last;   /* instruction range [first, last] */
    int32_t succ[2];
} block;

typedef struct interval {
    uint32_t vreg, start, end;
    int32_t phys;           /* -1: spilled */
} interval;

static int by_start(const void *a, const void *b)
{
    const interval *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start ? 1 :
           (x->vreg < y->vreg ? -1 : x->vreg > y->vreg);
}

/* Liveness and intervals for one register class (preds or GPRs). */
static int build_intervals(const mir_func *f, int preds, uint32_t nv, const block *bl,
                           uint32_t nb, const uint32_t *blk_of, interval **out, char *err,
                           size_t errlen)
{
    uint32_t words = (nv + 63) / 64;
    uint64_t *in_s, *out_s, *use_s, *def_s;
    interval *iv;
    int changed;
    if ((uint64_t)words * nb * 4 > (1ull << 27)) {
        snprintf(err, errlen, "kernel %s too large to allocate registers (%u blocks, %u values)",
                 f->name, nb, nv);
        return -1;
    }
    in_s = calloc((size_t)words * nb + 1, 8);
    out_s = calloc((size_t)words * nb + 1, 8);
    use_s = calloc((size_t)words * nb + 1, 8);
    def_s = calloc((size_t)words * nb + 1, 8);
    iv = calloc(nv ? nv : 1, sizeof(*iv));
    if (!in_s || !out_s || !use_s || !def_s || !iv) {
        free(in_s);
        free(out_s);
        free(use_s);
        free(def_s);
        free(iv);
        snprintf(err, errlen, "out of host memory");
        return -1;
    }
    for (uint32_t v = 0; v < nv; v++) {
        iv[v].vreg = v;
        iv[v].start = UINT32_MAX;
        iv[v].end = 0;
        iv[v].phys = -1;
    }
    for (uint32_t b = 0; b < nb; b++) {
        uint64_t *u = use_s + (size_t)b * words, *d = def_s + (size_t)b * words;
        for (uint32_t i = bl[b].first; i <= bl[b].last; i++) {
            uint32_t gu[8], pu[8], gd, pd;
            int ngu, npu;
            mir_insn_uses(&f->v[i], gu, &ngu, pu, &npu, &gd, &pd);
            const uint32_t *uses = preds ? pu : gu;
            int nu = preds ? npu : ngu;
            uint32_t def = preds ? pd : gd;
            for (int k = 0; k < nu; k++) {
                if (!bs_test(d, uses[k])) {
                    bs_set(u, uses[k]);
                }
                if (iv[uses[k]].start > i) {
                    iv[uses[k]].start = i;
                }
                if (iv[uses[k]].end < i) {
                    iv[uses[k]].end = i;
                }
            }
            if (def) {
                bs_set(d, def);
                if (iv[def].start > i) {
                    iv[def].start = i;
                }
                if (iv[def].end < i) {
                    iv[def].end = i;
                }
            }
        }
    }
    /* live_in = use | (live_out & ~def); live_out = U live_in(succ).
     * Backward order converges in a few rounds on compiler output; bound
     * the rounds so hostile control flow cannot stall the loader. */
    int rounds = 0;
    do {
        if (++rounds > 200) {
            free(in_s);
            free(out_s);
            free(use_s);
            free(def_s);
            free(iv);
            snprintf(err, errlen, "kernel %s: control flow too complex to allocate registers",
                     f->name);
            return -1;
        }
        changed = 0;
        for (uint32_t bb = nb; bb-- > 0;) {
            uint64_t *o = out_s + (size_t)bb * words, *in = in_s + (size_t)bb * words;
            const uint64_t *u = use_s + (size_t)bb * words, *d = def_s + (size_t)bb * words;
            for (int s = 0; s < 2; s++) {
                if (bl[bb].succ[s] >= 0) {
                    const uint64_t *si = in_s + (size_t)bl[bb].succ[s] * words;
                    for (uint32_t w = 0; w < words; w++) {
                        o[w] |= si[w];
                    }
                }
            }
            for (uint32_t w = 0; w < words; w++) {
                uint64_t n = u[w] | (o[w] & ~d[w]);
                if (n != in[w]) {
                    in[w] = n;
                    changed = 1;
                }
            }
        }
    } while (changed);
    for (uint32_t b = 0; b < nb; b++) {
        const uint64_t *in = in_s + (size_t)b * words, *o = out_s + (size_t)b * words;
        for (uint32_t w = 0; w < words; w++) {
            uint64_t bits = in[w] | o[w];
            while (bits) {
                uint32_t v = w * 64 + (uint32_t)__builtin_ctzll(bits);
                bits &= bits - 1;
                if (bs_test(in, v) && iv[v].start > bl[b].first) {
                    iv[v].start = bl[b].first;
                }
                if (bs_test(o, v) && iv[v].end < bl[b].last) {
                    iv[v].end = bl[b].last;
                }
                if (bs_test(in, v) && iv[v].end < bl[b].first) {
                    iv[v].end = bl[b].first;
                }
            }
        }
    }
    (void)blk_of;
    (void)bs_clear;
    free(in_s);
    free(out_s);
    free(use_s);
    free(def_s);
    *out = iv;
    return 0;
}

/* Linear scan; phys[v] = register (1-based) or -1 (spilled). */
static int linear_scan(interval *iv, uint32_t nv, uint32_t nregs, int32_t *phys,
                       int allow_spill, uint32_t *spills, uint32_t *maxreg,
                       const uint32_t *hint)
{
    interval *sorted = malloc((nv ? nv : 1) * sizeof(*sorted));
    uint32_t *active = malloc((nregs + 1) * sizeof(*active)), nact = 0;
    uint8_t *busy = calloc(nregs + 2, 1);
    uint32_t n = 0;
    if (!sorted || !active || !busy) {
        free(sorted);
        free(active);
        free(busy);
        return -1;
    }
    for (uint32_t v = 1; v < nv; v++) {
        phys[v] = -1;
        if (iv[v].start != UINT32_MAX) {
            sorted[n++] = iv[v];
        }
    }
    phys[0] = 0;
    qsort(sorted, n, sizeof(*sorted), by_start);
    for (uint32_t k = 0; k < n; k++) {
        interval *cur = &sorted[k];
        uint32_t r;
        /* expire */
        for (uint32_t a = 0; a < nact;) {
            if (sorted[active[a]].end < cur->start) {
                busy[phys[sorted[active[a]].vreg]] = 0;
                active[a] = active[--nact];
            } else {
                a++;
            }
        }
        /* Coalesce copies: "mov d, s" where s dies at the mov takes over s's
         * register (the mov then disappears).  Only for unguarded movs that
         * define d (hint[] is set for exactly those). */
        if (hint && hint[cur->vreg] && phys[hint[cur->vreg]] > 0 &&
            iv[hint[cur->vreg]].end == cur->start) {
            uint32_t src = hint[cur->vreg];
            for (uint32_t a = 0; a < nact; a++) {
                if (sorted[active[a]].vreg == src) {
                    phys[cur->vreg] = phys[src];
                    active[a] = k;
                    break;
                }
            }
            if (phys[cur->vreg] > 0) {
                continue;
            }
        }
        for (r = 1; r <= nregs && busy[r]; r++) {
        }
        if (r <= nregs) {
            phys[cur->vreg] = (int32_t)r;
            busy[r] = 1;
            active[nact++] = k;
            if (r > *maxreg) {
                *maxreg = r;
            }
            continue;
        }
        if (!allow_spill) {
            free(sorted);
            free(active);
            free(busy);
            return -2;
        }
        /* spill whichever of cur and the active intervals ends last */
        {
            uint32_t far = 0;
            for (uint32_t a = 1; a < nact; a++) {
                if (sorted[active[a]].end > sorted[active[far]].end) {
                    far = a;
                }
            }
            if (nact && sorted[active[far]].end > cur->end) {
                uint32_t victim = sorted[active[far]].vreg;
                phys[cur->vreg] = phys[victim];
                phys[victim] = -1;
                active[far] = k;
            }
            (*spills)++;
        }
    }
    free(sorted);
    free(active);
    free(busy);
    return 0;
}

int ptx_regalloc(mir_func *f, char *err, size_t errlen)
{
    return ptx_regalloc_limit(f, SCRATCH_FIRST - 1, err, errlen);
}

int ptx_regalloc_limit(mir_func *f, uint32_t max_regs, char *err, size_t errlen)
{
    block *bl = NULL;
    uint32_t nb = 0, *blk_of = NULL, *start_of = NULL;
    uint8_t *leader;
    interval *giv = NULL, *piv = NULL;
    int32_t *gphys = NULL, *pphys = NULL, *slot = NULL;
    uint32_t *hint = NULL;
    mir_insn *nv = NULL;
    uint32_t nn = 0, ncap, *newpos = NULL, maxreg = 0, maxpred = 0, pspills = 0;
    int rc = -1;

    if (max_regs < 4 || max_regs > SCRATCH_FIRST - 1) {
        snprintf(err, errlen, "register limit %u out of range", max_regs);
        return -1;
    }
    if (!f->n) {
        return 0;
    }
    leader = calloc(f->n + 1, 1);
    blk_of = calloc(f->n, sizeof(*blk_of));
    start_of = calloc(f->n + 1, sizeof(*start_of));
    if (!leader || !blk_of || !start_of) {
        goto oom;
    }
    /* basic blocks */
    mir_mark_leaders(f, leader);
    for (uint32_t i = 0; i < f->n; i++) {
        nb += leader[i];
    }
    bl = calloc(nb, sizeof(*bl));
    if (!bl) {
        goto oom;
    }
    nb = 0;
    for (uint32_t i = 0; i < f->n; i++) {
        if (leader[i]) {
            if (nb) {
                bl[nb - 1].last = i - 1;
            }
            bl[nb].first = i;
            start_of[i] = nb;
            nb++;
        }
        blk_of[i] = nb - 1;
    }
    bl[nb - 1].last = f->n - 1;
    for (uint32_t b = 0; b < nb; b++) {
        const mir_insn *last = &f->v[bl[b].last];
        int fall = 1;
        bl[b].succ[0] = bl[b].succ[1] = -1;
        if (last->op == ZK_SOP_BRA) {
            int32_t t = last->target >= 0 && (uint32_t)last->target < f->nlabels ?
                        f->label_pos[last->target] : -1;
            if (t < 0 || (uint32_t)t >= f->n) {
                snprintf(err, errlen, "%s: branch to an unplaced label", f->name);
                goto fail;
            }
            bl[b].succ[0] = (int32_t)blk_of[t];
            fall = last->guard != 0;
        } else if (last->op == ZK_SOP_EXIT || last->op == ZK_SOP_TRAP) {
            fall = last->guard != 0;
        }
        if (fall && b + 1 < nb) {
            bl[b].succ[1] = (int32_t)(b + 1);
        }
    }
    if (build_intervals(f, 0, f->nvregs, bl, nb, blk_of, &giv, err, errlen) ||
        build_intervals(f, 1, f->npregs, bl, nb, blk_of, &piv, err, errlen)) {
        goto fail;
    }
    gphys = calloc(f->nvregs ? f->nvregs : 1, sizeof(*gphys));
    pphys = calloc(f->npregs ? f->npregs : 1, sizeof(*pphys));
    slot = calloc(f->nvregs ? f->nvregs : 1, sizeof(*slot));
    if (!gphys || !pphys || !slot) {
        goto oom;
    }
    hint = calloc(f->nvregs ? f->nvregs : 1, sizeof(*hint));
    if (!hint) {
        goto oom;
    }
    for (uint32_t i = 0; i < f->n; i++) {
        const mir_insn *in = &f->v[i];
        if (in->op == ZK_SOP_MOV && !in->guard && !(in->flags & ZK_SF_BIMM) && in->rb &&
            in->rd && giv[in->rd].start == i) {
            hint[in->rd] = in->rb;
        }
    }
    if (linear_scan(giv, f->nvregs, max_regs, gphys, 1, &f->spills, &maxreg, hint) != 0 ||
        linear_scan(piv, f->npregs, MAX_PREDS, pphys, 0, &pspills, &maxpred, NULL) != 0) {
        snprintf(err, errlen, "%s: more than %u predicates live at once (not translated)",
                 f->name, MAX_PREDS);
        goto fail;
    }
    /* spill slots after the kernel's variables */
    {
        uint32_t top = (f->local_bytes + 7) & ~7u;
        for (uint32_t v = 1; v < f->nvregs; v++) {
            slot[v] = -1;
            if (giv[v].start != UINT32_MAX && gphys[v] < 0) {
                if (top + 8 > ZK_SIMT_MAX_LOCAL) {
                    snprintf(err, errlen, "%s: spilled values exceed the card's %u bytes of "
                             "local memory per thread", f->name, ZK_SIMT_MAX_LOCAL);
                    goto fail;
                }
                slot[v] = (int32_t)top;
                top += 8;
            }
        }
        if (f->spills) {
            f->local_bytes = top;
        }
    }
    /* rewrite with physical registers and spill code */
    ncap = f->n + 16;
    nv = malloc(ncap * sizeof(*nv));
    newpos = malloc((f->n + 1) * sizeof(*newpos));
    if (!nv || !newpos) {
        goto oom;
    }
    for (uint32_t i = 0; i < f->n; i++) {
        mir_insn in = f->v[i];
        uint32_t gu[8], pu[8], gd, pd, sv[4], sr[4];
        int ngu, npu, nsv = 0;
        mir_insn_uses(&in, gu, &ngu, pu, &npu, &gd, &pd);
        newpos[i] = nn;
        if (in.op == ZK_SOP_MOV && !(in.flags & ZK_SF_BIMM) && in.rd && in.rb &&
            gphys[in.rd] > 0 && gphys[in.rd] == gphys[in.rb]) {
            continue;   /* coalesced copy */
        }
        if (nn + 12 > ncap) {
            ncap = ncap * 2 + 16;
            mir_insn *t = realloc(nv, ncap * sizeof(*nv));
            if (!t) {
                goto oom;
            }
            nv = t;
        }
        /* spilled values of this instruction get r252.. */
        uint32_t *regs[4] = { &in.rd, &in.ra, &in.rb, &in.rc };
        const ZkSimtOpInfo *oi = zk_simt_op(in.op);
        int is_gpr[4];
        is_gpr[0] = (oi->use & ZK_SU_RD) != 0;
        is_gpr[1] = (oi->use & ZK_SU_RA) != 0;
        is_gpr[2] = (oi->use & ZK_SU_B) && !(in.flags & ZK_SF_BIMM);
        is_gpr[3] = (oi->use & ZK_SU_C) && !(in.flags & ZK_SF_CIMM);
        for (int k = 0; k < 4; k++) {
            uint32_t v = *regs[k];
            int s;
            if (!is_gpr[k] || !v) {
                continue;
            }
            if (gphys[v] >= 0) {
                *regs[k] = (uint32_t)gphys[v];
                continue;
            }
            for (s = 0; s < nsv && sv[s] != v; s++) {
            }
            if (s == nsv) {
                sv[nsv] = v;
                sr[nsv] = SCRATCH_FIRST + (uint32_t)nsv;
                nsv++;
                /* reload unless it is only written (unguarded) */
                int read = 0;
                for (int u = 0; u < ngu; u++) {
                    read |= gu[u] == v;
                }
                if (read) {
                    mir_insn *ld = &nv[nn++];
                    memset(ld, 0, sizeof(*ld));
                    ld->op = ZK_SOP_LD;
                    ld->type = ZK_ST_U64;
                    ld->type2 = ZK_SPACE_LOCAL;
                    ld->rd = sr[s];
                    ld->imm = (uint64_t)slot[v];
                    ld->target = -1;
                    ld->line = in.line;
                }
            }
            *regs[k] = sr[s];
        }
        if (in.pd) {
            in.pd = (uint32_t)pphys[in.pd];
        }
        if (in.guard) {
            in.guard = (uint32_t)pphys[in.guard];
        }
        if (oi->use & ZK_SU_PRA) {
            in.ra = in.ra ? (uint32_t)pphys[in.ra] : 0;
        }
        if (oi->use & ZK_SU_PRB) {
            in.rb = in.rb ? (uint32_t)pphys[in.rb] : 0;
        }
        nv[nn++] = in;
        if (gd && gphys[gd] < 0) {
            mir_insn *stn = &nv[nn++];
            int s;
            for (s = 0; s < nsv && sv[s] != gd; s++) {
            }
            memset(stn, 0, sizeof(*stn));
            stn->op = ZK_SOP_ST;
            stn->type = ZK_ST_U64;
            stn->type2 = ZK_SPACE_LOCAL;
            stn->rb = sr[s];
            stn->imm = (uint64_t)slot[gd];
            stn->target = -1;
            stn->line = in.line;
        }
    }
    newpos[f->n] = nn;
    for (uint32_t i = 0; i < f->nlabels; i++) {
        if (f->label_pos[i] >= 0) {
            f->label_pos[i] = (int32_t)newpos[f->label_pos[i]];
        }
    }
    free(f->v);
    f->v = nv;
    f->n = f->cap = nn;
    nv = NULL;
    f->regs_used = maxreg + (f->spills ? 4 : 0);
    rc = 0;
    goto fail;
oom:
    snprintf(err, errlen, "out of host memory");
fail:
    free(leader);
    free(blk_of);
    free(start_of);
    free(bl);
    free(giv);
    free(piv);
    free(gphys);
    free(pphys);
    free(slot);
    free(hint);
    free(nv);
    free(newpos);
    return rc;
}
