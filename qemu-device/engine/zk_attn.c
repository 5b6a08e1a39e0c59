/* SPDX-License-Identifier: MIT */
/*
 * zk_attn.c - the paged KV-cache instructions KVWRITE and PATTN.
 *
 * The caches are large and only the blocks of one sequence are touched,
 * so both ops map cache rows block by block instead of the whole cache.
 * PATTN uses the one-pass "online softmax": a running max m, running sum l
 * and an un-normalised output acc per (query row, head), rescaled when m
 * grows; one sweep over the stored tokens, no score buffer of ctx_len.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "zk_dtype.h"
#include "zk_tensor.h"

/* Work per chunk of the KV sweep (query elements x tokens): ~1 ms. */
#define ATTN_WORK   (1ull << 22)
/* Tokens per KVWRITE chunk (each maps two cache rows): ~1 ms. */
#define KV_TOKENS   1024

/*
 * First cache row of the block holding position p: the block table entry,
 * read straight from device memory (never the whole table: its size comes
 * from the guest), checked against the cache.
 */
static int block_row(ZkExec *x, const ZkDesc *table, const ZkDesc *cache,
                     uint64_t p, uint64_t bs, uint64_t *row)
{
    int64_t blk;
    uint64_t end;
    int err = zk_desc_int(x, table, p / bs, &blk);
    if (err) {
        return err;
    }
    if (blk < 0 ||
        !zk_sz_fits(zk_sz_mul(zk_sz((uint64_t)blk + 1), bs), cache->rows, &end)) {
        return ZK_FAULT_ENGINE;
    }
    *row = end - bs + p % bs;
    return ZK_FAULT_NONE;
}

static bool is_float(unsigned dt)
{
    return dt == ZK_DT_F32 || dt == ZK_DT_F16 || dt == ZK_DT_BF16;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Copy row r of src into cache row `row` of dst (one-row views). */
static int put_row(ZkExec *x, const ZkDesc *dst, uint64_t row,
                   const ZkTile *src, uint64_t r)
{
    ZkView dv;
    int err = zk_view_get(x, dst, row, 1, ZK_VIEW_OUT, &dv);
    if (!err && zk_copy_rows(&dv.t, 0, src, r, 1)) {
        err = ZK_FAULT_ENGINE;
    }
    int e2 = zk_view_put(x, &dv);
    return err ? err : e2;
}

int zk_exec_kvwrite(ZkExec *x, ZkDesc desc[], const uint64_t regs[],
                    uint64_t insn)
{
    uint32_t imm = (uint32_t)ZK_INSN_IMM(insn);
    const ZkDesc *kc = &desc[ZK_INSN_RD(insn)], *vc = &desc[ZK_TI_TE(imm)];
    const ZkDesc *kn = &desc[ZK_INSN_RA(insn)], *vn = &desc[ZK_INSN_RB(insn)];
    const ZkDesc *tab = &desc[ZK_TI_TC(imm)];
    uint64_t pos0 = regs[ZK_TI_RS(imm)], bs = regs[ZK_TI_RS(imm) + 1];
    uint64_t t_new = kn->rows, scratch, per_t, nt;
    int err = 0;

    if (bs == 0 || vn->rows != t_new || kn->cols != kc->cols ||
        vn->cols != vc->cols || kc->cols != vc->cols || kc->rows != vc->rows ||
        !is_float(kc->dtype) || !is_float(vc->dtype) ||
        !is_float(kn->dtype) || !is_float(vn->dtype) ||
        tab->dtype != ZK_DT_I32 ||
        pos0 > UINT32_MAX || t_new > UINT32_MAX) {
        return ZK_FAULT_ENGINE;
    }
    if (t_new == 0) {
        return ZK_FAULT_NONE;
    }
    /* The table must hold an entry for the last position written. */
    if (tab->rows * tab->cols <= (pos0 + t_new - 1) / bs) {
        return ZK_FAULT_ENGINE;
    }
    /* Staging: copy scratch + one cache row, then new K/V rows per chunk. */
    uint64_t avail = x->host_cap - x->host_used, es = 4;
    if (!zk_sz_fits(zk_sz_mul(zk_sz(kc->cols), 2 * es), avail, &scratch) ||
        !zk_sz_fits(zk_sz_mul(zk_sz(kn->cols), 2 * es), avail - scratch, &per_t)) {
        return ZK_FAULT_ENGINE;
    }
    nt = per_t ? (avail - scratch) / per_t : t_new;
    nt = min_u64(min_u64(nt, t_new), KV_TOKENS);
    for (uint64_t t0 = 0; !err && t0 < t_new; t0 += nt) {
        uint64_t n = min_u64(nt, t_new - t0);
        ZkView kv, vv;
        if (zk_exec_aborted(x)) {
            return ZK_FAULT_ENGINE;
        }
        err = zk_view_get(x, kn, t0, n, ZK_VIEW_IN, &kv);
        if (!err) {
            err = zk_view_get(x, vn, t0, n, ZK_VIEW_IN, &vv);
            for (uint64_t t = 0; !err && t < n; t++) {
                uint64_t row;
                err = block_row(x, tab, kc, pos0 + t0 + t, bs, &row);
                if (!err) {
                    err = put_row(x, kc, row, &kv.t, t);
                }
                if (!err) {
                    err = put_row(x, vc, row, &vv.t, t);
                }
            }
            int e2 = zk_view_put(x, &vv);
            err = err ? err : e2;
        }
        int e3 = zk_view_put(x, &kv);
        err = err ? err : e3;
    }
    return err;
}

typedef struct Attn {
    uint64_t T, H, hd, nkv, group, ctx;
    uint64_t t0, tn;    /* the chunk of query rows being computed */
    float scale;
    float *q;       /* tn*H*hd, f32 */
    float *m, *l;   /* tn*H running max and sum */
    float *acc;     /* tn*H*hd un-normalised output */
    float *krow, *vrow;
} Attn;

/* Fold one stored token (position p, rows k and v) into every query. */
static uint64_t attend_token(Attn *a, uint64_t p)
{
    uint64_t pairs = 0;
    for (uint64_t t = 0; t < a->tn; t++) {
        if (p > a->ctx - a->T + a->t0 + t) {
            continue;           /* causal: token is in this query's future */
        }
        for (uint64_t h = 0; h < a->H; h++) {
            uint64_t i = t * a->H + h;
            const float *q = a->q + i * a->hd;
            const float *k = a->krow + (h / a->group) * a->hd;
            const float *v = a->vrow + (h / a->group) * a->hd;
            float *acc = a->acc + i * a->hd;
            float s = 0.0f;
            for (uint64_t x = 0; x < a->hd; x++) {
                s += q[x] * k[x];
            }
            s *= a->scale;
            float m_new = s > a->m[i] ? s : a->m[i];
            float corr = expf(a->m[i] - m_new), w = expf(s - m_new);
            a->l[i] = a->l[i] * corr + w;
            for (uint64_t x = 0; x < a->hd; x++) {
                acc[x] = acc[x] * corr + w * v[x];
            }
            a->m[i] = m_new;
            pairs++;
        }
    }
    return pairs;
}

/* Sweep the stored tokens [0, p_end) for the current query chunk. */
static int sweep(ZkExec *x, Attn *a, const ZkDesc *kc, const ZkDesc *vc,
                 const ZkDesc *tab, uint64_t bs, uint64_t p_end, uint64_t nk,
                 uint64_t *pairs)
{
    int err = 0;
    for (uint64_t p = 0; !err && p < p_end;) {
        uint64_t row, n = min_u64(min_u64(bs - p % bs, p_end - p), nk);
        ZkView kv, vv;
        if (zk_exec_aborted(x)) {
            return ZK_FAULT_ENGINE;
        }
        err = block_row(x, tab, kc, p, bs, &row);
        if (err) {
            break;
        }
        err = zk_view_get(x, kc, row, n, ZK_VIEW_IN, &kv);
        if (!err) {
            err = zk_view_get(x, vc, row, n, ZK_VIEW_IN, &vv);
            for (uint64_t j = 0; !err && j < n; j++) {
                zk_load_row(zk_tile_row(&kv.t, j), kc->dtype, a->krow, kc->cols);
                zk_load_row(zk_tile_row(&vv.t, j), vc->dtype, a->vrow, vc->cols);
                *pairs += attend_token(a, p + j);
            }
            zk_view_put(x, &vv);
        }
        zk_view_put(x, &kv);
        p += n;
    }
    return err;
}

/*
 * Queries are processed in chunks of tc rows whose running state fits half
 * the staging memory; the KV sweep of each chunk maps at most nk cache rows
 * at a time.  Both are polled for abort, so a PATTN over 2^32 positions
 * stops within a chunk.
 */
int zk_exec_pattn(ZkExec *x, ZkDesc desc[], const uint64_t regs[],
                  uint64_t insn)
{
    uint32_t imm = (uint32_t)ZK_INSN_IMM(insn);
    const ZkDesc *out = &desc[ZK_INSN_RD(insn)], *qd = &desc[ZK_INSN_RA(insn)];
    const ZkDesc *kc = &desc[ZK_INSN_RB(insn)], *vc = &desc[ZK_TI_TC(imm)];
    const ZkDesc *tab = &desc[ZK_TI_TE(imm)];
    const uint64_t *rs = regs + ZK_TI_RS(imm);
    Attn a = { .ctx = rs[0], .nkv = rs[1], .hd = rs[3], .T = qd->rows };
    uint64_t bs = rs[2], kvd;
    int err = 0;

    if (a.hd == 0 || a.nkv == 0 || bs == 0 || a.hd > 4096 ||
        qd->cols % a.hd || out->rows != qd->rows || out->cols != qd->cols ||
        a.T == 0 || a.T > a.ctx || a.ctx > UINT32_MAX ||
        !zk_mul_fits(a.nkv, a.hd, UINT64_MAX, &kvd) ||
        kc->cols != kvd || vc->cols != kc->cols ||
        vc->rows != kc->rows || !is_float(qd->dtype) || tab->dtype != ZK_DT_I32 ||
        !is_float(out->dtype) || !is_float(kc->dtype) || !is_float(vc->dtype)) {
        return ZK_FAULT_ENGINE;
    }
    a.H = qd->cols / a.hd;
    if (a.H == 0 || a.H % a.nkv) {
        return ZK_FAULT_ENGINE;
    }
    /* The table must cover every position: ceil(ctx / bs) entries. */
    if (tab->rows * tab->cols < a.ctx / bs + (a.ctx % bs != 0)) {
        return ZK_FAULT_ENGINE;
    }
    a.group = a.H / a.nkv;
    a.scale = 1.0f / sqrtf((float)a.hd);

    /*
     * Staging: half for the query chunk's state (q, acc: cols floats per
     * row; m, l: H each; plus the q/out view), half for the K/V rows.
     */
    uint64_t avail = x->host_cap - x->host_used, per_t, per_kv, fixed, tc, nk;
    if (!zk_sz_fits(zk_sz_mul(zk_sz_add(zk_sz_mul(zk_sz(qd->cols), 3), 2 * a.H), 4),
                    avail / 2, &per_t) ||
        !zk_sz_fits(zk_sz_mul(zk_sz(kc->cols), 2 * 4), avail / 2, &fixed) ||
        !zk_sz_fits(zk_sz_mul(zk_sz(kc->cols), 2 * 4), avail / 2 - fixed, &per_kv)) {
        return ZK_FAULT_ENGINE;     /* one row does not fit the staging */
    }
    tc = min_u64(a.T, (avail / 2) / per_t);
    nk = min_u64((avail / 2 - fixed) / per_kv, 1 + ATTN_WORK / (tc * qd->cols));
    uint64_t pairs = 0;
    for (a.t0 = 0; !err && a.t0 < a.T; a.t0 += tc) {
        a.tn = min_u64(tc, a.T - a.t0);
        uint64_t nq = a.tn * a.H;
        uint64_t floats = nq * (2 * a.hd + 2) + 2 * kc->cols;   /* fits: above */
        ZkView qv, ov;
        if (!zk_host_reserve(x, floats * sizeof(float))) {
            return ZK_FAULT_ENGINE;
        }
        float *mem = calloc(floats, sizeof(float));
        if (!mem) {
            zk_host_release(x, floats * sizeof(float));
            return ZK_FAULT_ENGINE;
        }
        a.q = mem;
        a.acc = a.q + nq * a.hd;
        a.m = a.acc + nq * a.hd;
        a.l = a.m + nq;
        a.krow = a.l + nq;
        a.vrow = a.krow + kc->cols;
        for (uint64_t i = 0; i < nq; i++) {
            a.m[i] = -INFINITY;
        }
        err = zk_view_get(x, qd, a.t0, a.tn, ZK_VIEW_IN, &qv);
        for (uint64_t t = 0; !err && t < a.tn; t++) {
            zk_load_row(zk_tile_row(&qv.t, t), qd->dtype, a.q + t * qd->cols,
                        qd->cols);
        }
        zk_view_put(x, &qv);
        if (!err) {
            /* Last query of the chunk sees positions < ctx - T + t0 + tn. */
            err = sweep(x, &a, kc, vc, tab, bs, a.ctx - a.T + a.t0 + a.tn, nk,
                        &pairs);
        }
        if (!err) {
            /* Normalise acc in place and store. */
            for (uint64_t i = 0; i < nq; i++) {
                for (uint64_t c = 0; c < a.hd; c++) {
                    a.acc[i * a.hd + c] /= a.l[i];
                }
            }
            err = zk_view_get(x, out, a.t0, a.tn, ZK_VIEW_OUT, &ov);
            for (uint64_t t = 0; !err && t < a.tn; t++) {
                zk_store_row(zk_tile_row(&ov.t, t), out->dtype,
                             a.acc + t * out->cols, out->cols);
            }
            int r = zk_view_put(x, &ov);
            err = err ? err : r;
        }
        free(mem);
        zk_host_release(x, floats * sizeof(float));
    }
    x->st->flops[ZK_DT_F32] += pairs * 4 * a.hd;
    return err;
}
