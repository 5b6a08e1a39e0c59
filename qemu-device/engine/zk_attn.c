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

/* Cache row of position p, or -1 if the block table entry is bad. */
static int64_t cache_row(const ZkTile *table, const ZkDesc *cache, uint64_t p,
                         uint64_t bs)
{
    int64_t blk = zk_tile_int(table, p / bs);
    if (blk < 0 || ((uint64_t)blk + 1) * bs > cache->rows) {
        return -1;
    }
    return blk * (int64_t)bs + (int64_t)(p % bs);
}

static bool is_float(unsigned dt)
{
    return dt == ZK_DT_F32 || dt == ZK_DT_F16 || dt == ZK_DT_BF16;
}

/* Block table: the first n entries, read as one view. */
static int table_view(ZkMemSpace *ms, ZkEngineStats *st, const ZkDesc *t,
                      uint64_t n, ZkView *v, ZkFault *fault)
{
    ZkDesc d = *t;
    if ((t->dtype != ZK_DT_I32) || t->rows * t->cols < n || t->cols == 0) {
        return ZK_FAULT_ENGINE;
    }
    d.rows = (n + t->cols - 1) / t->cols;
    return zk_view_get(ms, st, &d, 0, d.rows, ZK_VIEW_IN, v, fault);
}

int zk_exec_kvwrite(ZkMemSpace *ms, ZkEngineStats *st, ZkDesc desc[],
                    const uint64_t regs[], uint64_t insn, ZkFault *fault)
{
    uint32_t imm = (uint32_t)ZK_INSN_IMM(insn);
    const ZkDesc *kc = &desc[ZK_INSN_RD(insn)], *vc = &desc[ZK_TI_TE(imm)];
    const ZkDesc *kn = &desc[ZK_INSN_RA(insn)], *vn = &desc[ZK_INSN_RB(insn)];
    const ZkDesc *tab = &desc[ZK_TI_TC(imm)];
    uint64_t pos0 = regs[ZK_TI_RS(imm)], bs = regs[ZK_TI_RS(imm) + 1];
    uint64_t t_new = kn->rows;
    ZkView tv = { 0 }, kv = { 0 }, vv = { 0 };
    int err;

    if (bs == 0 || vn->rows != t_new || kn->cols != kc->cols ||
        vn->cols != vc->cols || kc->cols != vc->cols || kc->rows != vc->rows ||
        !is_float(kc->dtype) || !is_float(vc->dtype) ||
        !is_float(kn->dtype) || !is_float(vn->dtype) ||
        pos0 > UINT32_MAX || t_new > UINT32_MAX) {
        return ZK_FAULT_ENGINE;
    }
    if (t_new == 0) {
        return ZK_FAULT_NONE;
    }
    err = table_view(ms, st, tab, (pos0 + t_new - 1) / bs + 1, &tv, fault);
    if (err) {
        zk_view_put(ms, &tv, fault);
        return err;
    }
    err = zk_view_get(ms, st, kn, 0, t_new, ZK_VIEW_IN, &kv, fault);
    if (!err) {
        err = zk_view_get(ms, st, vn, 0, t_new, ZK_VIEW_IN, &vv, fault);
        for (uint64_t t = 0; !err && t < t_new; t++) {
            int64_t row = cache_row(&tv.t, kc, pos0 + t, bs);
            ZkView dk = { 0 }, dv = { 0 };
            if (row < 0) {
                err = ZK_FAULT_ENGINE;
                break;
            }
            err = zk_view_get(ms, st, kc, (uint64_t)row, 1, ZK_VIEW_OUT, &dk, fault);
            if (!err) {
                zk_copy_rows(&dk.t, 0, &kv.t, t, 1);
                err = zk_view_put(ms, &dk, fault);
            } else {
                zk_view_put(ms, &dk, fault);
            }
            if (err) {
                break;
            }
            err = zk_view_get(ms, st, vc, (uint64_t)row, 1, ZK_VIEW_OUT, &dv, fault);
            if (!err) {
                zk_copy_rows(&dv.t, 0, &vv.t, t, 1);
                err = zk_view_put(ms, &dv, fault);
            } else {
                zk_view_put(ms, &dv, fault);
            }
        }
        zk_view_put(ms, &vv, fault);
    }
    zk_view_put(ms, &kv, fault);
    zk_view_put(ms, &tv, fault);
    return err;
}

typedef struct Attn {
    uint64_t T, H, hd, nkv, group, ctx;
    float scale;
    float *q;       /* T*H*hd, f32 */
    float *m, *l;   /* T*H running max and sum */
    float *acc;     /* T*H*hd un-normalised output */
    float *krow, *vrow;
} Attn;

/* Fold one stored token (position p, rows k and v) into every query. */
static uint64_t attend_token(Attn *a, uint64_t p)
{
    uint64_t pairs = 0;
    for (uint64_t t = 0; t < a->T; t++) {
        if (p > a->ctx - a->T + t) {
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

int zk_exec_pattn(ZkMemSpace *ms, ZkEngineStats *st, ZkDesc desc[],
                  const uint64_t regs[], uint64_t insn, ZkFault *fault)
{
    uint32_t imm = (uint32_t)ZK_INSN_IMM(insn);
    const ZkDesc *out = &desc[ZK_INSN_RD(insn)], *qd = &desc[ZK_INSN_RA(insn)];
    const ZkDesc *kc = &desc[ZK_INSN_RB(insn)], *vc = &desc[ZK_TI_TC(imm)];
    const ZkDesc *tab = &desc[ZK_TI_TE(imm)];
    const uint64_t *rs = regs + ZK_TI_RS(imm);
    Attn a = { .ctx = rs[0], .nkv = rs[1], .hd = rs[3], .T = qd->rows };
    uint64_t bs = rs[2];
    ZkView tv = { 0 }, qv = { 0 }, ov = { 0 };
    int err;

    if (a.hd == 0 || a.nkv == 0 || bs == 0 || a.hd > 4096 ||
        qd->cols % a.hd || out->rows != qd->rows || out->cols != qd->cols ||
        a.T == 0 || a.T > a.ctx || a.ctx > UINT32_MAX ||
        kc->cols != a.nkv * a.hd || vc->cols != kc->cols ||
        vc->rows != kc->rows || !is_float(qd->dtype) ||
        !is_float(out->dtype) || !is_float(kc->dtype) || !is_float(vc->dtype)) {
        return ZK_FAULT_ENGINE;
    }
    a.H = qd->cols / a.hd;
    if (a.H == 0 || a.H % a.nkv) {
        return ZK_FAULT_ENGINE;
    }
    a.group = a.H / a.nkv;
    a.scale = 1.0f / sqrtf((float)a.hd);

    uint64_t nq = a.T * a.H;
    float *mem = calloc(nq * (2 * a.hd + 2) + 2 * kc->cols, sizeof(float));
    if (!mem) {
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

    err = table_view(ms, st, tab, (a.ctx + bs - 1) / bs, &tv, fault);
    if (!err) {
        err = zk_view_get(ms, st, qd, 0, a.T, ZK_VIEW_IN, &qv, fault);
        for (uint64_t t = 0; !err && t < a.T; t++) {
            zk_load_row(zk_tile_row(&qv.t, t), qd->dtype, a.q + t * qd->cols,
                        qd->cols);
        }
        zk_view_put(ms, &qv, fault);
    }
    uint64_t pairs = 0;
    /* Block by block: map the used rows of one K and one V block. */
    for (uint64_t p0 = 0; !err && p0 < a.ctx; p0 += bs) {
        int64_t row = cache_row(&tv.t, kc, p0, bs);
        uint64_t n = a.ctx - p0 < bs ? a.ctx - p0 : bs;
        ZkView kv = { 0 }, vv = { 0 };
        if (row < 0) {
            err = ZK_FAULT_ENGINE;
            break;
        }
        err = zk_view_get(ms, st, kc, (uint64_t)row, n, ZK_VIEW_IN, &kv, fault);
        if (!err) {
            err = zk_view_get(ms, st, vc, (uint64_t)row, n, ZK_VIEW_IN, &vv, fault);
            for (uint64_t j = 0; !err && j < n; j++) {
                zk_load_row(zk_tile_row(&kv.t, j), kc->dtype, a.krow, kc->cols);
                zk_load_row(zk_tile_row(&vv.t, j), vc->dtype, a.vrow, vc->cols);
                pairs += attend_token(&a, p0 + j);
            }
            zk_view_put(ms, &vv, fault);
        }
        zk_view_put(ms, &kv, fault);
    }
    zk_view_put(ms, &tv, fault);
    if (!err) {
        /* Normalise acc in place and store. */
        for (uint64_t i = 0; i < nq; i++) {
            for (uint64_t x = 0; x < a.hd; x++) {
                a.acc[i * a.hd + x] /= a.l[i];
            }
        }
        err = zk_view_get(ms, st, out, 0, a.T, ZK_VIEW_OUT, &ov, fault);
        for (uint64_t t = 0; !err && t < a.T; t++) {
            zk_store_row(zk_tile_row(&ov.t, t), out->dtype,
                         a.acc + t * out->cols, out->cols);
        }
        int r = zk_view_put(ms, &ov, fault);
        err = err ? err : r;
    }
    st->flops[ZK_DT_F32] += pairs * 4 * a.hd;
    free(mem);
    return err;
}
