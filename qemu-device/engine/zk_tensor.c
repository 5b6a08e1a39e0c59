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
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "zk_dtype.h"
#include "zk_tensor.h"

#define VA_SPAN     (1ull << ZK_VA_BITS)
/* Work per chunk of a long instruction: ~1 ms of host time, so an abort
 * (reset, unplug, job timeout) is seen within a few milliseconds. */
#define ROW_WORK    (1ull << 20)        /* elements per row-wise chunk */
#define MM_FLOPS    (1ull << 28)        /* flops per matmul chunk */

bool zk_host_reserve(ZkExec *x, uint64_t bytes)
{
    if (bytes > x->host_cap - x->host_used) {
        return false;
    }
    x->host_used += bytes;
    if (x->st->host_bytes_peak < x->host_used) {
        x->st->host_bytes_peak = x->host_used;
    }
    return true;
}

void zk_host_release(ZkExec *x, uint64_t bytes)
{
    x->host_used -= bytes;
}

bool zk_exec_aborted(const ZkExec *x)
{
    return x->abort_flag && __atomic_load_n(x->abort_flag, __ATOMIC_ACQUIRE);
}

bool zk_desc_ok(const ZkDesc *d)
{
    uint64_t es = zk_dt_size(d->dtype), span;

    if (!es || d->rows > VA_SPAN || d->cols > VA_SPAN || d->stride > VA_SPAN ||
        (d->rows > 1 && d->stride < d->cols)) {
        return false;
    }
    if (d->rows == 0 || d->cols == 0) {
        return true;
    }
    ZkSize s = zk_sz_mul(zk_sz(d->rows - 1), d->stride);
    s = zk_sz_mul(zk_sz_add(s, d->cols), es);
    return zk_sz_fits(s, VA_SPAN, &span) && d->va <= UINT64_MAX - span;
}

ZkDesc zk_desc_sub(const ZkDesc *d, uint64_t r0, uint64_t nr, uint64_t c0,
                   uint64_t nc)
{
    ZkDesc s = *d;
    /* In range for a checked descriptor: (r0*stride + c0)*es <= its span. */
    s.va = d->va + (r0 * d->stride + c0) * zk_dt_size(d->dtype);
    s.rows = nr;
    s.cols = nc;
    return s;
}

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

int zk_desc_int(ZkExec *x, const ZkDesc *d, uint64_t i, int64_t *val)
{
    uint64_t es = zk_dt_size(d->dtype), r, c;
    uint8_t b[4] = { 0 };
    int err;

    if ((d->dtype != ZK_DT_I32 && d->dtype != ZK_DT_I8) || d->cols == 0 ||
        (r = i / d->cols) >= d->rows) {
        return ZK_FAULT_ENGINE;
    }
    c = i % d->cols;
    err = zk_mem_read(x->ms, d->va + (r * d->stride + c) * es, b, es, x->fault);
    if (err) {
        return err;
    }
    x->st->bytes_read += es;
    *val = es == 1 ? (int8_t)b[0] :
           (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 |
                     (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
    return ZK_FAULT_NONE;
}

int zk_view_get(ZkExec *x, const ZkDesc *d, uint64_t row0, uint64_t nrows,
                int mode, ZkView *v)
{
    ZkMemSpace *ms = x->ms;
    uint64_t es = zk_dt_size(d->dtype);
    int kind = mode & 3;
    bool write = kind != ZK_VIEW_IN;

    memset(v, 0, sizeof(*v));
    v->mode = kind;
    v->t = (ZkTile){ NULL, nrows, d->cols, d->stride, d->dtype };
    if (!zk_desc_ok(d) || row0 > d->rows || nrows > d->rows - row0) {
        return ZK_FAULT_ENGINE;
    }
    if (nrows == 0 || d->cols == 0) {
        v->t.p = (uint8_t *)v;  /* never dereferenced */
        return ZK_FAULT_NONE;
    }
    /* All below is within the descriptor's checked span. */
    v->va = d->va + row0 * d->stride * es;
    v->stride_bytes = d->stride * es;
    v->row_bytes = d->cols * es;
    uint64_t span = (nrows - 1) * v->stride_bytes + v->row_bytes;
    uint64_t elems = nrows * v->row_bytes;
    if (kind != ZK_VIEW_OUT) {
        x->st->bytes_read += elems;
    }
    if (write) {
        x->st->bytes_written += elems;
    }
    if (!(mode & ZK_VIEW_DENSE)) {
        v->t.p = zk_mem_map(ms, v->va, span, write, x->fault);
        if (v->t.p) {
            if (kind == ZK_VIEW_INOUT) {
                ms->hbm_bytes_read += span;
            }
            return ZK_FAULT_NONE;
        }
        if (x->fault->type != ZK_FAULT_NONE) {
            return (int)x->fault->type;
        }
    }
    /* Dense bounce: only the elements, never the gaps between rows. */
    if (!zk_host_reserve(x, elems)) {
        return ZK_FAULT_ENGINE;
    }
    v->bounce = malloc(elems);
    if (!v->bounce) {
        zk_host_release(x, elems);
        return ZK_FAULT_ENGINE;
    }
    v->bounce_bytes = elems;
    v->t.p = v->bounce;
    v->t.stride = d->cols;
    if (kind != ZK_VIEW_OUT) {
        bool packed = v->stride_bytes == v->row_bytes;
        for (uint64_t r = 0; r < (packed ? 1 : nrows); r++) {
            int e = zk_mem_read(ms, v->va + r * v->stride_bytes,
                                v->bounce + r * v->row_bytes,
                                packed ? elems : v->row_bytes, x->fault);
            if (e) {
                free(v->bounce);
                v->bounce = NULL;
                zk_host_release(x, elems);
                return e;
            }
        }
    }
    return ZK_FAULT_NONE;
}

int zk_view_put(ZkExec *x, ZkView *v)
{
    int r = ZK_FAULT_NONE;
    if (v->bounce) {
        if (v->mode != ZK_VIEW_IN) {
            bool packed = v->stride_bytes == v->row_bytes;
            uint64_t nrows = v->t.rows;
            for (uint64_t i = 0; !r && i < (packed ? 1 : nrows); i++) {
                r = zk_mem_write(x->ms, v->va + i * v->stride_bytes,
                                 v->bounce + i * v->row_bytes,
                                 packed ? v->bounce_bytes : v->row_bytes,
                                 x->fault);
            }
        }
        free(v->bounce);
        v->bounce = NULL;
        zk_host_release(x, v->bounce_bytes);
    }
    return r;
}

/* Operands of one chunk, with cleanup in one place. */
typedef struct Ops {
    ZkExec *x;
    ZkView v[6];
    int n;
} Ops;

static const ZkTile *get(Ops *o, const ZkDesc *d, uint64_t row0,
                         uint64_t nrows, int mode, int *err)
{
    ZkView *v = &o->v[o->n];
    if (*err) {
        return NULL;
    }
    *err = zk_view_get(o->x, d, row0, nrows, mode, v);
    o->n++;
    return &v->t;
}

static int finish(Ops *o, int err)
{
    /* Write back in reverse order so an exactly aliased output wins. */
    for (int i = o->n - 1; i >= 0; i--) {
        int r = zk_view_put(o->x, &o->v[i]);
        if (!err) {
            err = r;
        }
    }
    o->n = 0;
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

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Dense host bytes of one row of d. */
static uint64_t row_bytes(const ZkDesc *d)
{
    return d->cols * zk_dt_size(d->dtype);
}

/* ---- matmul --------------------------------------------------------- */

/* Worst-case host bytes of one mc x nc matmul chunk (every operand bounced). */
static bool mm_chunk_bytes(const ZkDesc *a, const ZkDesc *b, uint64_t mc,
                           uint64_t nc, uint64_t k, unsigned fn, uint64_t avail)
{
    ZkSize s = zk_sz_mul(zk_sz_mul(zk_sz(mc), k), zk_dt_size(a->dtype));
    s = zk_sz_addsz(s, zk_sz_mul(zk_sz_mul(zk_sz(nc), k), zk_dt_size(b->dtype)));
    s = zk_sz_addsz(s, zk_sz_mul(zk_sz_mul(zk_sz(mc), nc), 4));
    s = zk_sz_add(s, zk_gemm_scratch(mc, nc, k, a->dtype, fn));
    if (fn & ZK_MM_DEQ) {   /* two scale chunks, bounced, plus the gather */
        s = zk_sz_addsz(s, zk_sz_mul(zk_sz_add(zk_sz(mc), nc), 12));
    }
    return zk_sz_fits(s, avail, NULL);
}

/* Scale j0..j0+cnt of a row or column vector, gathered densely. */
static int gather_scales(Ops *o, const ZkDesc *s, uint64_t j0, uint64_t cnt,
                         float *out)
{
    ZkDesc sub = s->cols == 1 ? zk_desc_sub(s, j0, cnt, 0, 1)
                              : zk_desc_sub(s, 0, 1, j0, cnt);
    int err = 0;
    const ZkTile *t = get(o, &sub, 0, sub.rows, ZK_VIEW_IN, &err);
    for (uint64_t j = 0; !err && j < cnt; j++) {
        memcpy(&out[j], zk_tile_row(t, j / t->cols) + 4 * (j % t->cols), 4);
    }
    return err;
}

static int exec_matmul(ZkExec *x, const ZkDesc *c, const ZkDesc *a,
                       const ZkDesc *b, const ZkDesc *sa, const ZkDesc *sb,
                       unsigned fn)
{
    bool bt = fn & ZK_MM_BT, deq = fn & ZK_MM_DEQ;
    uint64_t m = a->rows, k = a->cols;
    uint64_t n = bt ? b->rows : b->cols, kb = bt ? b->cols : b->rows;
    uint64_t mc, nc, avail = x->host_cap - x->host_used;

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
    if (m == 0 || n == 0) {
        return ZK_FAULT_NONE;
    }
    /*
     * Chunks of C: at most MM_FLOPS each (abort latency), and small enough
     * that the worst case (every operand bounced and widened) fits the
     * staging memory.  A single 1 x 1 chunk that does not fit (K too long)
     * is an ENGINE fault.  The products below are exact: descriptors are
     * checked, so m*k, n*k and m*n are all < 2^39.
     */
    /* Work per output: K (int8: padded to 16, zk_gemm.c) plus a fixed
     * cost for writing it, so short-K products get smaller chunks too. */
    uint64_t kw = (a->dtype == ZK_DT_I8 ? (k + 15) / 16 * 16 : k) + 128;
    uint64_t cells = MM_FLOPS / (2 * kw);           /* mc * nc per chunk */
    cells = cells ? cells : 1;
    mc = min_u64(m, (uint64_t)sqrt((double)cells));
    mc = mc ? mc : 1;
    nc = min_u64(n, cells / mc ? cells / mc : 1);
    mc = min_u64(m, cells / nc ? cells / nc : 1);   /* grow if n is small */
    while (!mm_chunk_bytes(a, b, mc, nc, k, fn, avail)) {
        if (mc > 1 && mc >= nc) {
            mc = (mc + 1) / 2;
        } else if (nc > 1) {
            nc = (nc + 1) / 2;
        } else {
            return ZK_FAULT_ENGINE;     /* not even one row x one column */
        }
    }
    /* BLAS takes int leading dimensions: bounce (dense) what would not fit. */
    int dense_a = a->stride > INT32_MAX ? ZK_VIEW_DENSE : 0;
    int dense_b = b->stride > INT32_MAX ? ZK_VIEW_DENSE : 0;
    int dense_c = c->stride > INT32_MAX ? ZK_VIEW_DENSE : 0;
    float *scale = NULL;
    uint64_t scale_bytes = deq ? (mc + nc) * sizeof(float) : 0;
    if (deq) {
        if (!zk_host_reserve(x, scale_bytes)) {
            return ZK_FAULT_ENGINE;
        }
        scale = malloc(scale_bytes);
        if (!scale) {
            zk_host_release(x, scale_bytes);
            return ZK_FAULT_ENGINE;
        }
    }
    int err = 0;
    for (uint64_t i0 = 0; !err && i0 < m; i0 += mc) {
        uint64_t im = min_u64(mc, m - i0);
        for (uint64_t j0 = 0; !err && j0 < n; j0 += nc) {
            uint64_t jn = min_u64(nc, n - j0);
            Ops o = { .x = x };
            if (zk_exec_aborted(x)) {
                err = ZK_FAULT_ENGINE;
                break;
            }
            ZkDesc cs = zk_desc_sub(c, i0, im, j0, jn);
            ZkDesc as = zk_desc_sub(a, i0, im, 0, k);
            ZkDesc bs = bt ? zk_desc_sub(b, j0, jn, 0, k)
                           : zk_desc_sub(b, 0, k, j0, jn);
            const ZkTile *tc = get(&o, &cs, 0, im, dense_c |
                                   ((fn & ZK_MM_ACC) ? ZK_VIEW_INOUT : ZK_VIEW_OUT),
                                   &err);
            const ZkTile *ta = get(&o, &as, 0, im, ZK_VIEW_IN | dense_a, &err);
            const ZkTile *tb = get(&o, &bs, 0, bs.rows, ZK_VIEW_IN | dense_b, &err);
            if (!err && deq) {
                err = gather_scales(&o, sa, i0, im, scale);
                if (!err) {
                    err = gather_scales(&o, sb, j0, jn, scale + im);
                }
            }
            if (!err && zk_gemm(tc, ta, tb, fn, scale, scale ? scale + im : NULL)) {
                err = ZK_FAULT_ENGINE;
            }
            err = finish(&o, err);
        }
    }
    if (scale) {
        free(scale);
        zk_host_release(x, scale_bytes);
    }
    x->st->flops[a->dtype == ZK_DT_I8 ? ZK_DT_I8 : a->dtype] += 2 * m * n * k;
    return err;
}

/* ---- row-wise ops --------------------------------------------------- */

/*
 * The row-wise family (EBIN, EUN, ESCALE, SOFTMAX, ROPE, REDUCE, RMSNORM,
 * LAYERNORM, QUANT, DEQUANT, EMBED), shapes already checked: runs over the
 * rows of d in chunks of at most ROW_WORK elements and of the staging
 * memory left after the math's scratch rows, polling abort in between.
 * Operands read whole-row-for-row (a, and b when it is per-row) are viewed
 * per chunk; broadcast rows (EBIN's one-row b, norm weights and bias) are
 * viewed as their single row.
 */
static int rowwise(ZkExec *x, uint8_t op, unsigned fn, const ZkDesc *d,
                   const ZkDesc *a, const ZkDesc *b, const ZkDesc *c,
                   const uint64_t *rs)
{
    uint64_t rows = d->rows, cols = a->cols > d->cols ? a->cols : d->cols;
    bool b_rows = (op == ZK_OP_EBIN && b->rows != 1) ||
                  op == ZK_OP_QUANT || op == ZK_OP_DEQUANT;
    bool bias = op == ZK_OP_LAYERNORM && (fn & ZK_LN_BIAS);
    unsigned nscratch = op == ZK_OP_LAYERNORM ? 3 :
                        op == ZK_OP_EBIN || op == ZK_OP_RMSNORM ? 2 : 1;
    uint64_t scratch, fixed, per_row, n;
    int err = 0;

    if (rows == 0 || d->cols == 0) {
        return ZK_FAULT_NONE;       /* nothing is written */
    }
    /* Scratch rows (allocated inside the math) and broadcast rows. */
    ZkSize f = zk_sz_mul(zk_sz_mul(zk_sz(cols ? cols : 1), nscratch), 4);
    if (!zk_sz_fits(f, UINT64_MAX, &scratch)) {
        return ZK_FAULT_ENGINE;
    }
    if (op == ZK_OP_EBIN && !b_rows) {
        f = zk_sz_add(f, row_bytes(b));
    } else if (op == ZK_OP_RMSNORM || op == ZK_OP_LAYERNORM) {
        f = zk_sz_add(f, row_bytes(b));
        f = zk_sz_add(f, bias ? row_bytes(c) : 0);
    }
    /* Per-row operands, bounced densely in the worst case. */
    ZkSize pr = zk_sz_add(zk_sz(row_bytes(a)), row_bytes(d));
    pr = zk_sz_add(pr, b_rows ? row_bytes(b) : 0);
    if (!zk_sz_fits(f, x->host_cap - x->host_used, &fixed) ||
        !zk_sz_fits(zk_sz_addsz(f, pr), x->host_cap - x->host_used, &per_row)) {
        return ZK_FAULT_ENGINE;     /* one row does not fit the staging */
    }
    per_row -= fixed;
    n = ROW_WORK / (cols ? cols : 1);
    if (per_row) {
        n = min_u64(n, (x->host_cap - x->host_used - fixed) / per_row);
    }
    n = n ? min_u64(n, rows) : 1;
    if (!zk_host_reserve(x, scratch)) {
        return ZK_FAULT_ENGINE;
    }
    for (uint64_t r0 = 0; !err && r0 < rows; r0 += n) {
        uint64_t nr = min_u64(n, rows - r0);
        Ops o = { .x = x };
        int r = 0;
        if (zk_exec_aborted(x)) {
            err = ZK_FAULT_ENGINE;
            break;
        }
        /* Inputs first, the output last: written back first by finish(). */
        const ZkTile *ta = get(&o, a, op == ZK_OP_EMBED ? 0 : r0,
                               op == ZK_OP_EMBED ? 0 : nr, ZK_VIEW_IN, &err);
        const ZkTile *tb = NULL, *tc = NULL;
        if (op == ZK_OP_EBIN) {
            tb = get(&o, b, b_rows ? r0 : 0, b_rows ? nr : 1, ZK_VIEW_IN, &err);
        } else if (op == ZK_OP_RMSNORM || op == ZK_OP_LAYERNORM) {
            tb = get(&o, b, 0, 1, ZK_VIEW_IN, &err);
            tc = bias ? get(&o, c, 0, 1, ZK_VIEW_IN, &err) : NULL;
        } else if (op == ZK_OP_QUANT || op == ZK_OP_DEQUANT) {
            tb = get(&o, b, r0, nr,
                     op == ZK_OP_QUANT ? ZK_VIEW_OUT : ZK_VIEW_IN, &err);
        }
        const ZkTile *td = get(&o, d, r0, nr, ZK_VIEW_OUT, &err);
        if (err) {
            err = finish(&o, err);
            break;
        }
        switch (op) {
        case ZK_OP_EBIN:
            r = zk_ebin(td, ta, tb, fn);
            break;
        case ZK_OP_EUN:
            r = zk_eun(td, ta, fn);
            break;
        case ZK_OP_ESCALE:
            r = zk_escale(td, ta, reg_f32(rs[0]), reg_f32(rs[1]));
            break;
        case ZK_OP_SOFTMAX:
            r = zk_softmax(td, ta);
            break;
        case ZK_OP_ROPE:
            r = (fn & ZK_ROPE_PARAMS) ?
                zk_rope(td, ta, rs[0] + r0, rs[1], reg_f32(rs[2]), reg_f32(rs[3])) :
                zk_rope(td, ta, rs[0] + r0, rs[1], 10000.0f, 1.0f);
            break;
        case ZK_OP_REDUCE:
            r = zk_reduce(td, ta, fn);
            break;
        case ZK_OP_RMSNORM:
            r = zk_rmsnorm(td, ta, tb, reg_f32(rs[0]));
            break;
        case ZK_OP_LAYERNORM:
            r = zk_layernorm(td, ta, tb, tc, reg_f32(rs[0]));
            break;
        case ZK_OP_QUANT:
            r = zk_quant(td, ta, tb);
            break;
        case ZK_OP_DEQUANT:
            r = zk_dequant(td, ta, tb);
            break;
        default:    /* EMBED: one table row per output row */
            for (uint64_t i = 0; !err && !r && i < nr; i++) {
                int64_t row;
                ZkView tv;
                err = zk_desc_int(x, b, r0 + i, &row);
                if (!err && (row < 0 || (uint64_t)row >= a->rows)) {
                    err = ZK_FAULT_ENGINE;
                }
                if (!err) {
                    err = zk_view_get(x, a, (uint64_t)row, 1, ZK_VIEW_IN, &tv);
                    if (!err) {
                        r = zk_copy_rows(td, i, &tv.t, 0, 1);
                    }
                    int e2 = zk_view_put(x, &tv);
                    err = err ? err : e2;
                }
            }
            break;
        }
        err = finish(&o, err ? err : r ? ZK_FAULT_ENGINE : 0);
    }
    zk_host_release(x, scratch);
    return err;
}

/* Bit i set: descriptor operand i (d, a, b, c, e) is used by the op. */
static unsigned operands(uint8_t op, unsigned fn)
{
    switch (op) {
    case ZK_OP_MATMUL:
        return (fn & ZK_MM_DEQ) ? 0x1f : 0x07;
    case ZK_OP_KVWRITE:
    case ZK_OP_PATTN:
        return 0x1f;
    case ZK_OP_LAYERNORM:
        return (fn & ZK_LN_BIAS) ? 0x0f : 0x07;
    case ZK_OP_QMATMUL:     /* b is block-quantized: zk_exec_qmatmul checks it */
        return 0x03;
    case ZK_OP_EUN:
    case ZK_OP_ESCALE:
    case ZK_OP_SOFTMAX:
    case ZK_OP_ROPE:
    case ZK_OP_REDUCE:
        return 0x03;
    default:
        return 0x07;
    }
}

int zk_tensor_exec(ZkExec *x, ZkDesc desc[], const uint64_t regs[],
                   uint64_t insn)
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
    const ZkDesc *ops[5] = { d, a, b, c, e };
    unsigned used = operands(op, fn);
    ZkEngineStats *st = x->st;

    /* Every descriptor the op reads is checked before anything else. */
    for (int i = 0; i < 5; i++) {
        if ((used >> i & 1) && !zk_desc_ok(ops[i])) {
            return ZK_FAULT_ENGINE;
        }
    }
    uint64_t elems = d->rows * d->cols;     /* exact: d is checked */
    switch (op) {
    case ZK_OP_MATMUL:
        return exec_matmul(x, d, a, b, c, e, fn);
    case ZK_OP_KVWRITE:
        return zk_exec_kvwrite(x, desc, regs, insn);
    case ZK_OP_PATTN:
        return zk_exec_pattn(x, desc, regs, insn);
    case ZK_OP_QMATMUL:
        return zk_exec_qmatmul(x, desc, regs, insn);
    case ZK_OP_TOPK:
        return zk_exec_topk(x, desc, regs, insn);
    case ZK_OP_EBIN:
        if (!same_shape(d, a) || b->cols != a->cols ||
            (b->rows != a->rows && b->rows != 1) || !is_float(d->dtype) ||
            !is_float(a->dtype) || !is_float(b->dtype)) {
            return ZK_FAULT_ENGINE;
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
        st->flops[ZK_DT_F32] += elems * (op == ZK_OP_EUN ? eu_flops[fn] :
                                         op == ZK_OP_ESCALE ? 2 :
                                         op == ZK_OP_SOFTMAX ? 4 : 3);
        break;
    case ZK_OP_REDUCE:
        if (d->rows != a->rows || d->cols != 1 || !is_float(a->dtype) ||
            (fn == ZK_RED_ARGMAX ? d->dtype != ZK_DT_I32 : !is_float(d->dtype))) {
            return ZK_FAULT_ENGINE;
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
        st->flops[ZK_DT_F32] += elems * (op == ZK_OP_RMSNORM ? 4 : 6);
        break;
    }
    case ZK_OP_EMBED:
        if (d->cols != a->cols || (b->dtype != ZK_DT_I32 && b->dtype != ZK_DT_I8) ||
            b->rows * b->cols < d->rows || (d->dtype == ZK_DT_I8) != (a->dtype == ZK_DT_I8)) {
            return ZK_FAULT_ENGINE;
        }
        break;
    case ZK_OP_QUANT:
    case ZK_OP_DEQUANT: {
        ZkDesc *q = op == ZK_OP_QUANT ? d : a, *f = op == ZK_OP_QUANT ? a : d;
        if (!same_shape(d, a) || q->dtype != ZK_DT_I8 || !is_float(f->dtype) ||
            b->rows != a->rows || b->cols != 1 || b->dtype != ZK_DT_F32) {
            return ZK_FAULT_ENGINE;
        }
        st->flops[ZK_DT_F32] += elems * (op == ZK_OP_QUANT ? 2 : 1);
        break;
    }
    default:
        return ZK_FAULT_ENGINE;
    }
    return rowwise(x, op, fn, d, a, b, c, rs);
}
