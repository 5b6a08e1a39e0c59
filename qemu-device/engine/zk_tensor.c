/* SPDX-License-Identifier: MIT */
/*
 * zk_tensor.c - executes tensor instructions: checks shapes, makes the
 * operands reachable from the host (zk_view_get), runs the math and counts
 * the work.
 *
 * Flop counts are analytic, per output element unless noted (docs/isa.md):
 *   matmul 2*M*N*K in the bucket of the input dtype (i8 -> flops[ZK_DT_I8]);
 *   everything else in flops[ZK_DT_F32]: add/sub/mul/exp/relu 1, scale 2,
 *   silu 3, swiglu 4, gelu 8, copy 0, reduce 1 per input element,
 *   softmax 4, rmsnorm 4, layernorm 6, rope 3, quant 2, dequant 1.
 */
#include <stdlib.h>
#include <string.h>

#include "zk_dtype.h"
#include "zk_tensor.h"

#define MAX_DIM     (1ull << 31)        /* rows, cols, stride */
#define MAX_BOUNCE  (256ull << 20)      /* slow-path copy limit */

int64_t zk_tile_int(const ZkTile *t, uint64_t i)
{
    const uint8_t *p = zk_tile_row(t, i / t->cols) + (i % t->cols) *
                       zk_dt_size(t->dtype);
    int32_t v;
    if (t->dtype == ZK_DT_I8) {
        return (int8_t)*p;
    }
    memcpy(&v, p, 4);
    return v;
}

int zk_view_get(ZkMemSpace *ms, ZkEngineStats *st, const ZkDesc *d,
                uint64_t row0, uint64_t nrows, int mode, ZkView *v,
                ZkFault *fault)
{
    uint64_t es = zk_dt_size(d->dtype);
    bool write = mode != ZK_VIEW_IN;

    memset(v, 0, sizeof(*v));
    v->mode = mode;
    v->t = (ZkTile){ NULL, nrows, d->cols, d->stride, d->dtype };
    if (es == 0) {      /* block-quantized: only QMATMUL reads those */
        return ZK_FAULT_ENGINE;
    }
    if (d->rows > MAX_DIM || d->cols > MAX_DIM || d->stride > MAX_DIM ||
        row0 + nrows > d->rows || (nrows > 1 && d->stride < d->cols)) {
        return ZK_FAULT_ENGINE;
    }
    if (nrows == 0 || d->cols == 0) {
        v->t.p = (uint8_t *)v;  /* never dereferenced */
        return ZK_FAULT_NONE;
    }
    v->va = d->va + row0 * d->stride * es;
    v->bytes = ((nrows - 1) * d->stride + d->cols) * es;
    if (v->va < d->va) {
        return ZK_FAULT_ENGINE;
    }
    uint64_t elems = nrows * d->cols * es;
    if (mode != ZK_VIEW_OUT) {
        st->bytes_read += elems;
    }
    if (write) {
        st->bytes_written += elems;
    }
    v->t.p = zk_mem_map(ms, v->va, v->bytes, write, fault);
    if (v->t.p) {
        if (mode == ZK_VIEW_INOUT) {
            ms->hbm_bytes_read += v->bytes;
        }
        return ZK_FAULT_NONE;
    }
    if (fault->type != ZK_FAULT_NONE) {
        return (int)fault->type;
    }
    if (v->bytes > MAX_BOUNCE || !(v->bounce = malloc(v->bytes))) {
        return ZK_FAULT_ENGINE;
    }
    v->t.p = v->bounce;
    /* Gaps between rows must survive the write-back, so read them too. */
    if (mode != ZK_VIEW_OUT || v->bytes != elems) {
        int r = zk_mem_read(ms, v->va, v->bounce, v->bytes, fault);
        if (r) {
            free(v->bounce);
            v->bounce = NULL;
            return r;
        }
    }
    return ZK_FAULT_NONE;
}

int zk_view_put(ZkMemSpace *ms, ZkView *v, ZkFault *fault)
{
    int r = ZK_FAULT_NONE;
    if (v->bounce) {
        if (v->mode != ZK_VIEW_IN) {
            r = zk_mem_write(ms, v->va, v->bounce, v->bytes, fault);
        }
        free(v->bounce);
        v->bounce = NULL;
    }
    return r;
}

/* Operands of one instruction, with cleanup in one place. */
typedef struct Ops {
    ZkMemSpace *ms;
    ZkEngineStats *st;
    ZkView v[5];
    int n;
    ZkFault *fault;
} Ops;

static const ZkTile *get(Ops *o, const ZkDesc *d, int mode, int *err)
{
    ZkView *v = &o->v[o->n];
    if (*err) {
        return NULL;
    }
    *err = zk_view_get(o->ms, o->st, d, 0, d->rows, mode, v, o->fault);
    o->n++;
    return &v->t;
}

static int finish(Ops *o, int err)
{
    /* Write back in reverse order so an exactly aliased output wins. */
    for (int i = o->n - 1; i >= 0; i--) {
        int r = zk_view_put(o->ms, &o->v[i], o->fault);
        if (!err) {
            err = r;
        }
    }
    return err;
}

static bool same_shape(const ZkDesc *a, const ZkDesc *b)
{
    return a->rows == b->rows && a->cols == b->cols;
}

static bool is_float(unsigned dt)
{
    return dt == ZK_DT_F32 || dt == ZK_DT_F16 || dt == ZK_DT_BF16;
}

static float reg_f32(uint64_t r)
{
    return zk_bits_f32((uint32_t)r);
}

static int exec_matmul(Ops *o, ZkDesc *c, ZkDesc *a, ZkDesc *b,
                       ZkDesc *sa, ZkDesc *sb, unsigned fn)
{
    bool bt = fn & ZK_MM_BT, deq = fn & ZK_MM_DEQ;
    uint64_t m = a->rows, k = a->cols;
    uint64_t n = bt ? b->rows : b->cols, kb = bt ? b->cols : b->rows;
    int err = 0;

    if (k != kb || c->rows != m || c->cols != n || a->dtype != b->dtype) {
        return ZK_FAULT_ENGINE;
    }
    if (a->dtype == ZK_DT_I8) {
        unsigned want = deq ? ZK_DT_F32 : ZK_DT_I32;
        if (c->dtype != want || k >= (1u << 17) ||
            (deq && (sa->rows * sa->cols != m || sb->rows * sb->cols != n ||
                     sa->dtype != ZK_DT_F32 || sb->dtype != ZK_DT_F32 ||
                     (sa->rows > 1 && sa->cols > 1) ||
                     (sb->rows > 1 && sb->cols > 1)))) {
            return ZK_FAULT_ENGINE;
        }
    } else if (!is_float(a->dtype) || c->dtype != ZK_DT_F32 || deq) {
        return ZK_FAULT_ENGINE;
    }
    const ZkTile *tc = get(o, c, (fn & ZK_MM_ACC) ? ZK_VIEW_INOUT : ZK_VIEW_OUT, &err);
    const ZkTile *ta = get(o, a, ZK_VIEW_IN, &err);
    const ZkTile *tb = get(o, b, ZK_VIEW_IN, &err);
    float *scale = NULL;
    if (!err && deq) {
        /* Scale vectors may be a row or a column: gather them densely. */
        const ZkTile *ts = get(o, sa, ZK_VIEW_IN, &err);
        const ZkTile *tt = get(o, sb, ZK_VIEW_IN, &err);
        scale = err ? NULL : malloc((m + n + 1) * sizeof(float));
        if (!err && !scale) {
            err = ZK_FAULT_ENGINE;
        }
        for (uint64_t i = 0; !err && i < m + n; i++) {
            const ZkTile *t = i < m ? ts : tt;
            uint64_t j = i < m ? i : i - m;
            memcpy(&scale[i], zk_tile_row(t, j / t->cols) + 4 * (j % t->cols), 4);
        }
    }
    if (!err && zk_gemm(tc, ta, tb, fn, scale, scale ? scale + m : NULL)) {
        err = ZK_FAULT_ENGINE;
    }
    free(scale);
    o->st->flops[a->dtype == ZK_DT_I8 ? ZK_DT_I8 : a->dtype] += 2 * m * n * k;
    return finish(o, err);
}

int zk_tensor_exec(ZkMemSpace *ms, ZkEngineStats *st, ZkDesc desc[],
                   const uint64_t regs[], uint64_t insn, ZkFault *fault)
{
    static const uint8_t eb_flops[ZK_EB_COUNT] = { 1, 1, 1, 4 };
    static const uint8_t eu_flops[ZK_EU_COUNT] = { 0, 3, 8, 1, 1 };
    uint8_t op = ZK_INSN_OP(insn);
    uint32_t imm = (uint32_t)ZK_INSN_IMM(insn);
    unsigned fn = ZK_TI_FN(imm);
    const uint64_t *rs = regs + ZK_TI_RS(imm);
    ZkDesc *d = &desc[ZK_INSN_RD(insn)], *a = &desc[ZK_INSN_RA(insn)];
    ZkDesc *b = &desc[ZK_INSN_RB(insn)], *c = &desc[ZK_TI_TC(imm)];
    ZkDesc *e = &desc[ZK_TI_TE(imm)];
    Ops o = { .ms = ms, .st = st, .fault = fault };
    uint64_t elems = d->rows * d->cols;
    int err = 0, r = 0;

    switch (op) {
    case ZK_OP_MATMUL:
        return exec_matmul(&o, d, a, b, c, e, fn);
    case ZK_OP_KVWRITE:
        return zk_exec_kvwrite(ms, st, desc, regs, insn, fault);
    case ZK_OP_PATTN:
        return zk_exec_pattn(ms, st, desc, regs, insn, fault);
    case ZK_OP_QMATMUL:
        return zk_exec_qmatmul(ms, st, desc, regs, insn, fault);
    case ZK_OP_TOPK:
        return zk_exec_topk(ms, st, desc, regs, insn, fault);
    case ZK_OP_EBIN:
        if (!same_shape(d, a) || b->cols != a->cols ||
            (b->rows != a->rows && b->rows != 1) || !is_float(d->dtype) ||
            !is_float(a->dtype) || !is_float(b->dtype)) {
            return ZK_FAULT_ENGINE;
        }
        {
            const ZkTile *ta = get(&o, a, ZK_VIEW_IN, &err);
            const ZkTile *tb = get(&o, b, ZK_VIEW_IN, &err);
            const ZkTile *td = get(&o, d, ZK_VIEW_OUT, &err);
            r = err ? 0 : zk_ebin(td, ta, tb, fn);
        }
        st->flops[ZK_DT_F32] += elems * eb_flops[fn];
        break;
    case ZK_OP_EUN:
    case ZK_OP_ESCALE:
    case ZK_OP_SOFTMAX:
    case ZK_OP_ROPE:
        /* Same-shape unary family; COPY converts to/from integer types. */
        if (!same_shape(d, a) ||
            (!(op == ZK_OP_EUN && fn == ZK_EU_COPY) &&
             (!is_float(d->dtype) || !is_float(a->dtype)))) {
            return ZK_FAULT_ENGINE;
        }
        float theta = 10000.0f, pscale = 1.0f;
        if (op == ZK_OP_ROPE && (fn & ZK_ROPE_PARAMS)) {
            theta = reg_f32(rs[2]);
            pscale = reg_f32(rs[3]);
        }
        if (op == ZK_OP_ROPE &&
            (rs[1] == 0 || rs[1] % 2 || d->cols % rs[1] || !(theta > 1.0f && theta < 1e30f) ||
             !(pscale > 0.0f && pscale < 1e30f))) {
            return ZK_FAULT_ENGINE;
        }
        {
            const ZkTile *ta = get(&o, a, ZK_VIEW_IN, &err);
            const ZkTile *td = get(&o, d, ZK_VIEW_OUT, &err);
            if (err) {
                break;
            }
            switch (op) {
            case ZK_OP_EUN:
                r = zk_eun(td, ta, fn);
                st->flops[ZK_DT_F32] += elems * eu_flops[fn];
                break;
            case ZK_OP_ESCALE:
                r = zk_escale(td, ta, reg_f32(rs[0]), reg_f32(rs[1]));
                st->flops[ZK_DT_F32] += elems * 2;
                break;
            case ZK_OP_SOFTMAX:
                r = zk_softmax(td, ta);
                st->flops[ZK_DT_F32] += elems * 4;
                break;
            default:
                r = zk_rope(td, ta, rs[0], rs[1], theta, pscale);
                st->flops[ZK_DT_F32] += elems * 3;
                break;
            }
        }
        break;
    case ZK_OP_REDUCE:
        if (d->rows != a->rows || d->cols != 1 || !is_float(a->dtype) ||
            (fn == ZK_RED_ARGMAX ? d->dtype != ZK_DT_I32 : !is_float(d->dtype))) {
            return ZK_FAULT_ENGINE;
        }
        {
            const ZkTile *ta = get(&o, a, ZK_VIEW_IN, &err);
            const ZkTile *td = get(&o, d, ZK_VIEW_OUT, &err);
            r = err ? 0 : zk_reduce(td, ta, fn);
        }
        st->flops[ZK_DT_F32] += a->rows * a->cols;
        break;
    case ZK_OP_RMSNORM:
    case ZK_OP_LAYERNORM: {
        bool bias = op == ZK_OP_LAYERNORM && (fn & ZK_LN_BIAS);
        if (!same_shape(d, a) || b->cols != a->cols || b->rows < 1 ||
            !is_float(d->dtype) || !is_float(a->dtype) || !is_float(b->dtype) ||
            (bias && (c->cols != a->cols || c->rows < 1 || !is_float(c->dtype)))) {
            return ZK_FAULT_ENGINE;
        }
        ZkDesc w1 = *b, b1 = *c;
        w1.rows = b1.rows = 1;      /* only the first row is read */
        const ZkTile *ta = get(&o, a, ZK_VIEW_IN, &err);
        const ZkTile *tw = get(&o, &w1, ZK_VIEW_IN, &err);
        const ZkTile *tb = bias ? get(&o, &b1, ZK_VIEW_IN, &err) : NULL;
        const ZkTile *td = get(&o, d, ZK_VIEW_OUT, &err);
        if (!err) {
            r = op == ZK_OP_RMSNORM ? zk_rmsnorm(td, ta, tw, reg_f32(rs[0]))
                : zk_layernorm(td, ta, tw, tb, reg_f32(rs[0]));
        }
        st->flops[ZK_DT_F32] += elems * (op == ZK_OP_RMSNORM ? 4 : 6);
        break;
    }
    case ZK_OP_EMBED: {
        if (d->cols != a->cols || (b->dtype != ZK_DT_I32 && b->dtype != ZK_DT_I8) ||
            b->rows * b->cols < d->rows || (d->dtype == ZK_DT_I8) != (a->dtype == ZK_DT_I8)) {
            return ZK_FAULT_ENGINE;
        }
        ZkDesc idx = *b;
        /* Only the first d->rows indices are read. */
        const ZkTile *ti = get(&o, &idx, ZK_VIEW_IN, &err);
        const ZkTile *td = get(&o, d, ZK_VIEW_OUT, &err);
        for (uint64_t i = 0; !err && !r && i < d->rows; i++) {
            int64_t row = zk_tile_int(ti, i);
            ZkView tv;
            if (row < 0 || (uint64_t)row >= a->rows) {
                err = ZK_FAULT_ENGINE;
                break;
            }
            err = zk_view_get(ms, st, a, (uint64_t)row, 1, ZK_VIEW_IN, &tv, fault);
            if (!err) {
                r = zk_copy_rows(td, i, &tv.t, 0, 1);
                err = zk_view_put(ms, &tv, fault);
            }
        }
        break;
    }
    case ZK_OP_QUANT:
    case ZK_OP_DEQUANT: {
        ZkDesc *q = op == ZK_OP_QUANT ? d : a, *f = op == ZK_OP_QUANT ? a : d;
        if (!same_shape(d, a) || q->dtype != ZK_DT_I8 || !is_float(f->dtype) ||
            b->rows != a->rows || b->cols != 1 || b->dtype != ZK_DT_F32) {
            return ZK_FAULT_ENGINE;
        }
        const ZkTile *ta = get(&o, a, ZK_VIEW_IN, &err);
        const ZkTile *tb = get(&o, b, op == ZK_OP_QUANT ? ZK_VIEW_OUT : ZK_VIEW_IN, &err);
        const ZkTile *td = get(&o, d, ZK_VIEW_OUT, &err);
        if (!err) {
            r = op == ZK_OP_QUANT ? zk_quant(td, ta, tb) : zk_dequant(td, ta, tb);
        }
        st->flops[ZK_DT_F32] += elems * (op == ZK_OP_QUANT ? 2 : 1);
        break;
    }
    default:
        return ZK_FAULT_ENGINE;
    }
    if (!err && r) {
        err = ZK_FAULT_ENGINE;
    }
    return finish(&o, err);
}
