/* SPDX-License-Identifier: MIT */
/*
 * test_simt.c - the SIMT unit (ISA v2): kernels built with the ISA
 * library's emitter (isa/zk_simt_isa.h), run by the engine on a fake HBM
 * and checked against C references; hostile launches and kernels must fault
 * cleanly; the verifier and disassembler on their own.
 */
#include <fenv.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "zhikai_hw.h"
#include "zk_dtype.h"
#include "zk_engine.h"
#include "zk_simt.h"
#include "zk_simt_isa.h"
#include "zk_testmem.h"

#define HBM (128u << 20)

static int setup(void **state)
{
    ZkTestMem *t = malloc(sizeof(*t));
    zkt_init(t, HBM);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    zkt_fini(*state);
    free(*state);
    return 0;
}

/* ---- kernel building ---------------------------------------------- */

static ZkSimtBuf kb;

static int64_t emit(ZkSimtInsn i)
{
    int64_t at = zk_simt_emit(&kb, &i);
    assert_true(at >= 0);
    return at;
}
#define INS(...) emit((ZkSimtInsn){ __VA_ARGS__ })
#define HERE() ((uint32_t)kb.n)

/* Common shapes. */
static void sreg(uint8_t rd, unsigned sr)
{
    INS(.op = ZK_SOP_SREG, .rd = rd, .imm = sr);
}
static void op3(uint8_t op, uint8_t t, uint8_t rd, uint8_t ra, uint8_t rb)
{
    INS(.op = op, .type = t, .rd = rd, .ra = ra, .rb = rb);
}
static void opi(uint8_t op, uint8_t t, uint8_t rd, uint8_t ra, int64_t imm)
{
    INS(.op = op, .type = t, .rd = rd, .ra = ra, .flags = ZK_SF_BIMM, .imm = (uint64_t)imm);
}
static void ldp(uint8_t t, uint8_t rd, int64_t off)     /* ld.param [r0+off] */
{
    INS(.op = ZK_SOP_LD, .type = t, .type2 = ZK_SPACE_PARAM, .rd = rd, .imm = (uint64_t)off);
}
static void ld(uint8_t sp, uint8_t t, uint8_t rd, uint8_t ra, int64_t off)
{
    INS(.op = ZK_SOP_LD, .type = t, .type2 = sp, .rd = rd, .ra = ra, .imm = (uint64_t)off);
}
static void st(uint8_t sp, uint8_t t, uint8_t ra, int64_t off, uint8_t rb)
{
    INS(.op = ZK_SOP_ST, .type = t, .type2 = sp, .ra = ra, .rb = rb, .imm = (uint64_t)off);
}
static void setpi(uint8_t cmp, uint8_t t, uint8_t pd, uint8_t ra, int64_t imm)
{
    INS(.op = ZK_SOP_SETP, .mod = cmp, .type = t, .pd = pd, .ra = ra,
        .flags = ZK_SF_BIMM, .imm = (uint64_t)imm);
}
static void setp(uint8_t cmp, uint8_t t, uint8_t pd, uint8_t ra, uint8_t rb)
{
    INS(.op = ZK_SOP_SETP, .mod = cmp, .type = t, .pd = pd, .ra = ra, .rb = rb);
}
/* Branch, target patched later with patch(). */
static uint32_t bra(uint8_t guard, bool neg)
{
    return (uint32_t)INS(.op = ZK_SOP_BRA, .guard = guard, .gneg = neg);
}
static void patch(uint32_t at, uint32_t target)
{
    zk_simt_patch_target(&kb, at, target);
}
static void bra_to(uint8_t guard, bool neg, uint32_t target)
{
    patch(bra(guard, neg), target);
}
static void ex(void)
{
    INS(.op = ZK_SOP_EXIT);
}
/* r_dst = global thread index x (ctaid.x * ntid.x + tid.x), uses r250..252 */
static void gtid(uint8_t rd)
{
    sreg(250, ZK_SR_CTAID_X);
    sreg(251, ZK_SR_NTID_X);
    sreg(252, ZK_SR_TID_X);
    INS(.op = ZK_SOP_MAD, .type = ZK_ST_U32, .rd = rd, .ra = 250, .rb = 251, .rc = 252);
}
/* rd = base (u64 reg) + idx (u32 reg) * size */
static void addr_of(uint8_t rd, uint8_t base, uint8_t idx, unsigned size)
{
    INS(.op = ZK_SOP_MADWIDE, .type = ZK_ST_U32, .rd = rd, .ra = idx,
        .flags = ZK_SF_BIMM, .imm = size, .rc = base);
}

/* ---- running ------------------------------------------------------- */

typedef struct Run {
    uint32_t grid[3], block[3];
    uint32_t shared, local;
    const void *params;
    uint32_t psize;
    uint32_t cus;
    uint64_t budget;
    uint32_t entry;             /* instruction index */
    ZkFault fault;
    ZkEngineStats st;
} Run;

static int run(ZkTestMem *t, Run *r)
{
    uint64_t code_va = zkt_alloc(t, (uint64_t)kb.n * 16);
    uint64_t pva = r->psize ? zkt_alloc(t, r->psize) : 0;
    ZkLaunch l = {
        .code_va = code_va, .code_size = kb.n * 16, .entry = r->entry * 16,
        .args_va = pva, .args_size = r->psize, .insn_budget = r->budget,
        .num_cus = r->cus ? r->cus : 1, .simt = true,
        .shared_bytes = r->shared, .local_bytes = r->local,
    };
    for (int i = 0; i < 3; i++) {
        l.grid[i] = r->grid[i] ? r->grid[i] : 1;
        l.block[i] = r->block[i] ? r->block[i] : 1;
    }
    zkt_put(t, code_va, kb.w, (uint64_t)kb.n * 16);
    if (r->psize) {
        zkt_put(t, pva, r->params, r->psize);
    }
    memset(&r->st, 0, sizeof(r->st));
    if (r->budget) {
        return zk_engine_launch(&t->ms, &l, &r->st, &r->fault, NULL);
    }
    /*
     * Twice: as the engine picks (blocks of full warps run as lockstep
     * gangs), then with gangs off (warps one at a time).  Both must leave
     * the same memory, stats and fault (every
     * kernel here is free of races between warps that are not resolved by
     * barriers or atomics with order-independent results).
     */
    size_t used = t->data_next;
    uint8_t *before = malloc(used), *after = malloc(used);
    ZkEngineStats st2;
    ZkFault f2;
    assert_non_null(before);
    assert_non_null(after);
    memcpy(before, t->ms.hbm, used);
    int ret = zk_engine_launch(&t->ms, &l, &r->st, &r->fault, NULL);
    memcpy(after, t->ms.hbm, used);
    memcpy(t->ms.hbm, before, used);
    memset(&st2, 0, sizeof(st2));
    zk_simt_set_gang(false);
    int ret2 = zk_engine_launch(&t->ms, &l, &st2, &f2, NULL);
    zk_simt_set_gang(true);
    assert_int_equal(ret2, ret);
    if (ret) {
        assert_int_equal(f2.type, r->fault.type);
        assert_int_equal(f2.va, r->fault.va);
    } else {
        assert_int_equal(st2.insns, r->st.insns);
        assert_memory_equal(st2.simt_lane_ops, r->st.simt_lane_ops, sizeof(st2.simt_lane_ops));
        assert_int_equal(st2.simt_fma_ops, r->st.simt_fma_ops);
        assert_int_equal(st2.bytes_read, r->st.bytes_read);
        assert_int_equal(st2.bytes_written, r->st.bytes_written);
        assert_int_equal(st2.simt_shared_bytes, r->st.simt_shared_bytes);
        assert_memory_equal(after, t->ms.hbm, used);
    }
    free(before);
    free(after);
    return ret;
}

static void kernel_begin(void)
{
    zk_simt_buf_free(&kb);
    zk_simt_buf_init(&kb);
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* ---- vector add over many blocks ---------------------------------- */

/* c[i] = a[i] + b[i], params {a, b, c, n} */
static void build_vadd(void)
{
    kernel_begin();
    gtid(4);
    ldp(ZK_ST_U32, 5, 24);
    setp(ZK_CMP_GE, ZK_ST_U32, 1, 4, 5);
    INS(.op = ZK_SOP_EXIT, .guard = 1);
    ldp(ZK_ST_U64, 6, 0);
    ldp(ZK_ST_U64, 7, 8);
    ldp(ZK_ST_U64, 8, 16);
    addr_of(10, 6, 4, 4);
    ld(ZK_SPACE_GLOBAL, ZK_ST_F32, 11, 10, 0);
    addr_of(12, 7, 4, 4);
    ld(ZK_SPACE_GLOBAL, ZK_ST_F32, 13, 12, 0);
    op3(ZK_SOP_FADD, ZK_ST_F32, 14, 11, 13);
    addr_of(15, 8, 4, 4);
    st(ZK_SPACE_GLOBAL, ZK_ST_F32, 15, 0, 14);
    ex();
}

static void test_vector_add(void **state)
{
    ZkTestMem *t = *state;
    const uint32_t n = 100003;
    float *a = malloc(n * 4), *b = malloc(n * 4), *c = malloc(n * 4);
    uint32_t s = 1;

    for (uint32_t i = 0; i < n; i++) {
        a[i] = (float)lcg(&s) / 65536.0f - 100.0f;
        b[i] = (float)lcg(&s) / 1024.0f;
    }
    uint64_t va = zkt_alloc(t, n * 4), vb = zkt_alloc(t, n * 4), vc = zkt_alloc(t, n * 4);
    zkt_put(t, va, a, n * 4);
    zkt_put(t, vb, b, n * 4);
    build_vadd();
    for (uint32_t cus = 1; cus <= 3; cus++) {
        struct { uint64_t a, b, c; uint32_t n, pad; } p = { va, vb, vc, n, 0 };
        Run r = { .grid = { (n + 255) / 256 }, .block = { 256 }, .params = &p,
                  .psize = sizeof(p), .cus = cus };
        memset(zkt_ptr(t, vc), 0, n * 4);
        assert_int_equal(run(t, &r), 0);
        zkt_get(t, vc, c, n * 4);
        for (uint32_t i = 0; i < n; i++) {
            if (c[i] != a[i] + b[i]) {
                fail_msg("cus %u: c[%u] = %g, want %g", cus, i, c[i], a[i] + b[i]);
            }
        }
        assert_int_equal(r.st.bytes_read, 2ull * n * 4 + 0);
        assert_int_equal(r.st.bytes_written, (uint64_t)n * 4);
        assert_true(r.st.simt_lane_ops[ZK_SIMT_CLS_F32] == n);
    }
    free(a);
    free(b);
    free(c);
}

/* ---- f32 setp: every compare mode, NaN, signed zeros, infinities ------ */

/* C reference of PTX setp.f32 (ordered forms false on NaN, unordered true). */
static bool setp_f32_ref(unsigned c, float x, float y)
{
    bool un = isnan(x) || isnan(y);
    switch (c) {
    case ZK_CMP_EQ: return !un && x == y;
    case ZK_CMP_NE: return !un && x != y;
    case ZK_CMP_LT: return !un && x < y;
    case ZK_CMP_LE: return !un && x <= y;
    case ZK_CMP_GT: return !un && x > y;
    case ZK_CMP_GE: return !un && x >= y;
    case ZK_CMP_EQU: return un || x == y;
    case ZK_CMP_NEU: return un || x != y;
    case ZK_CMP_LTU: return un || x < y;
    case ZK_CMP_LEU: return un || x <= y;
    case ZK_CMP_GTU: return un || x > y;
    case ZK_CMP_GEU: return un || x >= y;
    case ZK_CMP_NUM: return !un;
    default: return un;
    }
}

/*
 * out[i * ZK_CMP_COUNT + c] = setp.c.f32(a[i], b[i]), params {a, b, out, n}.
 * Threads past n exit first, so the last warp is partial and the compares run
 * both on full warps (the vector path) and on a partial one (per lane).
 */
static void test_setp_f32(void **state)
{
    ZkTestMem *t = *state;
    static const float vals[] = { 0.0f, -0.0f, 1.0f, -1.0f, 1.5f, INFINITY, -INFINITY, NAN,
                                  1e-45f, -3.4e38f };
    const uint32_t nv = sizeof(vals) / sizeof(vals[0]), n = nv * nv;
    float a[sizeof(vals) / sizeof(vals[0]) * sizeof(vals) / sizeof(vals[0])];
    float b[sizeof(a) / sizeof(a[0])];
    uint32_t *out = malloc((size_t)n * ZK_CMP_COUNT * 4);

    for (uint32_t i = 0; i < n; i++) {
        a[i] = vals[i / nv];
        b[i] = vals[i % nv];
    }
    uint64_t va = zkt_alloc(t, n * 4), vb = zkt_alloc(t, n * 4);
    uint64_t vo = zkt_alloc(t, (uint64_t)n * ZK_CMP_COUNT * 4);
    zkt_put(t, va, a, n * 4);
    zkt_put(t, vb, b, n * 4);

    kernel_begin();
    gtid(4);
    ldp(ZK_ST_U32, 5, 24);
    setp(ZK_CMP_GE, ZK_ST_U32, 1, 4, 5);
    INS(.op = ZK_SOP_EXIT, .guard = 1);
    ldp(ZK_ST_U64, 6, 0);
    ldp(ZK_ST_U64, 7, 8);
    ldp(ZK_ST_U64, 8, 16);
    addr_of(10, 6, 4, 4);
    ld(ZK_SPACE_GLOBAL, ZK_ST_F32, 11, 10, 0);
    addr_of(12, 7, 4, 4);
    ld(ZK_SPACE_GLOBAL, ZK_ST_F32, 13, 12, 0);
    INS(.op = ZK_SOP_MOV, .rd = 20, .flags = ZK_SF_BIMM, .imm = 1);
    INS(.op = ZK_SOP_MOV, .rd = 21, .flags = ZK_SF_BIMM, .imm = 0);
    opi(ZK_SOP_MUL, ZK_ST_U32, 14, 4, ZK_CMP_COUNT);
    addr_of(15, 8, 14, 4);
    for (unsigned c = 0; c < ZK_CMP_COUNT; c++) {
        setp((uint8_t)c, ZK_ST_F32, 2, 11, 13);
        INS(.op = ZK_SOP_SELP, .type = ZK_ST_U32, .rd = 16, .ra = 20, .rb = 21, .pd = 2);
        st(ZK_SPACE_GLOBAL, ZK_ST_U32, 15, c * 4, 16);
    }
    ex();

    struct { uint64_t a, b, o; uint32_t n, pad; } p = { va, vb, vo, n, 0 };
    Run r = { .grid = { (n + 63) / 64 }, .block = { 64 }, .params = &p, .psize = sizeof(p) };
    assert_int_equal(run(t, &r), 0);
    zkt_get(t, vo, out, (uint64_t)n * ZK_CMP_COUNT * 4);
    for (uint32_t i = 0; i < n; i++) {
        for (unsigned c = 0; c < ZK_CMP_COUNT; c++) {
            if (out[i * ZK_CMP_COUNT + c] != (uint32_t)setp_f32_ref(c, a[i], b[i])) {
                fail_msg("setp mode %u (%g, %g) = %u", c, a[i], b[i], out[i * ZK_CMP_COUNT + c]);
            }
        }
    }
    free(out);
}

/* ---- shared-memory tree reduction with barriers -------------------- */

static void test_shared_reduction(void **state)
{
    ZkTestMem *t = *state;
    const uint32_t nb = 37, bs = 256, n = nb * bs;
    uint32_t *in = malloc(n * 4), out[37], s = 7;

    for (uint32_t i = 0; i < n; i++) {
        in[i] = lcg(&s) & 0xffff;
    }
    uint64_t vin = zkt_alloc(t, n * 4), vout = zkt_alloc(t, nb * 4);
    zkt_put(t, vin, in, n * 4);

    kernel_begin();
    gtid(4);
    sreg(3, ZK_SR_TID_X);
    sreg(2, ZK_SR_NTID_X);
    ldp(ZK_ST_U64, 6, 0);
    addr_of(7, 6, 4, 4);
    ld(ZK_SPACE_GLOBAL, ZK_ST_U32, 5, 7, 0);
    opi(ZK_SOP_SHL, ZK_ST_U32, 8, 3, 2);                /* my shared slot */
    st(ZK_SPACE_SHARED, ZK_ST_U32, 8, 0, 5);
    INS(.op = ZK_SOP_BAR);
    opi(ZK_SOP_SHR, ZK_ST_U32, 9, 2, 1);                /* s = ntid / 2 */
    uint32_t loop = HERE();
    setpi(ZK_CMP_EQ, ZK_ST_U32, 1, 9, 0);
    uint32_t to_done = bra(1, false);
    setp(ZK_CMP_LT, ZK_ST_U32, 2, 3, 9);
    uint32_t to_skip = bra(2, true);
    op3(ZK_SOP_ADD, ZK_ST_U32, 10, 3, 9);
    opi(ZK_SOP_SHL, ZK_ST_U32, 10, 10, 2);
    ld(ZK_SPACE_SHARED, ZK_ST_U32, 11, 10, 0);
    ld(ZK_SPACE_SHARED, ZK_ST_U32, 12, 8, 0);
    op3(ZK_SOP_ADD, ZK_ST_U32, 12, 12, 11);
    st(ZK_SPACE_SHARED, ZK_ST_U32, 8, 0, 12);
    patch(to_skip, HERE());
    INS(.op = ZK_SOP_BAR);
    opi(ZK_SOP_SHR, ZK_ST_U32, 9, 9, 1);
    bra_to(0, false, loop);
    patch(to_done, HERE());
    setpi(ZK_CMP_NE, ZK_ST_U32, 3, 3, 0);
    INS(.op = ZK_SOP_EXIT, .guard = 3);
    ld(ZK_SPACE_SHARED, ZK_ST_U32, 13, 0, 0);
    sreg(14, ZK_SR_CTAID_X);
    ldp(ZK_ST_U64, 15, 8);
    addr_of(16, 15, 14, 4);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 16, 0, 13);
    ex();

    struct { uint64_t in, out; } p = { vin, vout };
    Run r = { .grid = { nb }, .block = { bs }, .shared = bs * 4, .params = &p,
              .psize = sizeof(p), .cus = 2 };
    assert_int_equal(run(t, &r), 0);
    zkt_get(t, vout, out, nb * 4);
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t want = 0;
        for (uint32_t i = 0; i < bs; i++) {
            want += in[b * bs + i];
        }
        assert_int_equal(out[b], want);
    }
    free(in);
}

/* ---- warp-shuffle reduction + global atomics ----------------------- */

static void test_shuffle_reduction(void **state)
{
    ZkTestMem *t = *state;
    const uint32_t n = 8192;
    uint32_t *in = malloc(n * 4), total = 0, got, s = 3;

    for (uint32_t i = 0; i < n; i++) {
        in[i] = lcg(&s) & 0xfff;
        total += in[i];
    }
    uint64_t vin = zkt_alloc(t, n * 4), vout = zkt_alloc(t, 4);
    zkt_put(t, vin, in, n * 4);
    for (int mode = 0; mode < 2; mode++) {
        kernel_begin();
        gtid(4);
        ldp(ZK_ST_U64, 6, 0);
        addr_of(7, 6, 4, 4);
        ld(ZK_SPACE_GLOBAL, ZK_ST_U32, 5, 7, 0);
        for (int d = 16; d >= 1; d /= 2) {
            /* bfly (xor) or down, clamp 31 in c */
            INS(.op = ZK_SOP_SHFL, .mod = mode ? ZK_SHFL_DOWN : ZK_SHFL_BFLY, .rd = 8,
                .pd = 1, .ra = 5, .flags = ZK_SF_BIMM | ZK_SF_CIMM,
                .imm = (uint32_t)d | (uint64_t)31 << 32);
            op3(ZK_SOP_ADD, ZK_ST_U32, 5, 5, 8);
        }
        sreg(9, ZK_SR_LANEID);
        setpi(ZK_CMP_NE, ZK_ST_U32, 2, 9, 0);
        INS(.op = ZK_SOP_EXIT, .guard = 2);
        ldp(ZK_ST_U64, 10, 8);
        INS(.op = ZK_SOP_ATOM, .mod = ZK_ATOM_ADD, .type = ZK_ST_U32,
            .type2 = ZK_SPACE_GLOBAL, .rd = 11, .ra = 10, .rb = 5);
        ex();
        struct { uint64_t in, out; } p = { vin, vout };
        Run r = { .grid = { n / 128 }, .block = { 128 }, .params = &p,
                  .psize = sizeof(p), .cus = 3 };
        memset(zkt_ptr(t, vout), 0, 4);
        assert_int_equal(run(t, &r), 0);
        zkt_get(t, vout, &got, 4);
        assert_int_equal(got, total);
        assert_true(r.st.simt_lane_ops[ZK_SIMT_CLS_WARP] == 5ull * n);
    }
    free(in);
}

/* ---- atomics histogram (shared, then global) ----------------------- */

static void test_atomic_histogram(void **state)
{
    ZkTestMem *t = *state;
    const uint32_t n = 50000, bins = 64;
    uint32_t *in = malloc(n * 4), want[64] = { 0 }, got[64], s = 11;
    uint64_t wmax = 0, gmax;

    for (uint32_t i = 0; i < n; i++) {
        in[i] = lcg(&s) % bins;
        want[in[i]]++;
        if ((uint64_t)i * 977 > wmax) {
            wmax = (uint64_t)i * 977;
        }
    }
    uint64_t vin = zkt_alloc(t, n * 4), vh = zkt_alloc(t, bins * 4), vm = zkt_alloc(t, 8);
    zkt_put(t, vin, in, n * 4);

    kernel_begin();
    gtid(4);
    sreg(3, ZK_SR_TID_X);
    ldp(ZK_ST_U32, 20, 24);
    setp(ZK_CMP_GE, ZK_ST_U32, 1, 4, 20);
    uint32_t skip_load = bra(1, false);
    ldp(ZK_ST_U64, 6, 0);
    addr_of(7, 6, 4, 4);
    ld(ZK_SPACE_GLOBAL, ZK_ST_U32, 5, 7, 0);
    opi(ZK_SOP_SHL, ZK_ST_U32, 8, 5, 2);
    INS(.op = ZK_SOP_MOV, .rd = 9, .flags = ZK_SF_BIMM, .imm = 1);
    INS(.op = ZK_SOP_ATOM, .mod = ZK_ATOM_ADD, .type = ZK_ST_U32,
        .type2 = ZK_SPACE_SHARED, .rd = 10, .ra = 8, .rb = 9);
    /* 64-bit max of i * 977 in global memory */
    opi(ZK_SOP_MULWIDE, ZK_ST_U32, 21, 4, 977);
    ldp(ZK_ST_U64, 22, 16);
    INS(.op = ZK_SOP_ATOM, .mod = ZK_ATOM_MAX, .type = ZK_ST_U64,
        .type2 = ZK_SPACE_GLOBAL, .rd = 0, .ra = 22, .rb = 21);
    patch(skip_load, HERE());
    INS(.op = ZK_SOP_BAR);
    setpi(ZK_CMP_GE, ZK_ST_U32, 2, 3, bins);
    INS(.op = ZK_SOP_EXIT, .guard = 2);
    opi(ZK_SOP_SHL, ZK_ST_U32, 11, 3, 2);
    ld(ZK_SPACE_SHARED, ZK_ST_U32, 12, 11, 0);
    ldp(ZK_ST_U64, 13, 8);
    addr_of(14, 13, 3, 4);
    INS(.op = ZK_SOP_ATOM, .mod = ZK_ATOM_ADD, .type = ZK_ST_U32,
        .type2 = ZK_SPACE_GENERIC, .rd = 0, .ra = 14, .rb = 12);
    ex();

    struct { uint64_t in, hist, max; uint32_t n, pad; } p = { vin, vh, vm, n, 0 };
    Run r = { .grid = { (n + 255) / 256 }, .block = { 256 }, .shared = bins * 4,
              .params = &p, .psize = sizeof(p), .cus = 2 };
    assert_int_equal(run(t, &r), 0);
    zkt_get(t, vh, got, bins * 4);
    zkt_get(t, vm, &gmax, 8);
    assert_memory_equal(got, want, sizeof(want));
    assert_int_equal(gmax, wmax);
    free(in);
}

/* ---- divergence: loops with break/continue, early return, nesting -- */

static uint32_t ref_diverge(uint32_t i)
{
    uint32_t acc = 0, x;
    if (i % 7 == 3) {
        return 0xdead;          /* early return path writes a marker */
    }
    for (uint32_t j = 1;; j++) {
        if (j > i % 13) {
            break;
        }
        if (j % 3 == 0) {
            continue;
        }
        acc += j * i;
    }
    if (i & 1) {
        x = (i & 2) ? 1 : 2;
    } else {
        x = (i & 4) ? 3 : 4;
    }
    return acc * 10 + x;
}

static void test_divergence(void **state)
{
    ZkTestMem *t = *state;
    const uint32_t n = 3000;
    uint32_t *out = malloc(n * 4);
    uint64_t vout = zkt_alloc(t, n * 4);

    kernel_begin();
    gtid(4);
    ldp(ZK_ST_U32, 5, 8);
    setp(ZK_CMP_GE, ZK_ST_U32, 1, 4, 5);
    INS(.op = ZK_SOP_EXIT, .guard = 1);
    ldp(ZK_ST_U64, 6, 0);
    addr_of(7, 6, 4, 4);                        /* r7 = &out[i] */
    opi(ZK_SOP_REM, ZK_ST_U32, 8, 4, 7);
    setpi(ZK_CMP_NE, ZK_ST_U32, 2, 8, 3);
    uint32_t not_early = bra(2, false);
    INS(.op = ZK_SOP_MOV, .rd = 9, .flags = ZK_SF_BIMM, .imm = 0xdead);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 7, 0, 9);
    ex();                                       /* early return */
    patch(not_early, HERE());
    INS(.op = ZK_SOP_MOV, .rd = 10, .flags = ZK_SF_BIMM, .imm = 0);  /* acc */
    INS(.op = ZK_SOP_MOV, .rd = 11, .flags = ZK_SF_BIMM, .imm = 1);  /* j */
    opi(ZK_SOP_REM, ZK_ST_U32, 12, 4, 13);      /* i % 13 */
    uint32_t loop = HERE();
    setp(ZK_CMP_GT, ZK_ST_U32, 3, 11, 12);
    uint32_t brk = bra(3, false);               /* break */
    opi(ZK_SOP_REM, ZK_ST_U32, 13, 11, 3);
    setpi(ZK_CMP_EQ, ZK_ST_U32, 4, 13, 0);
    uint32_t cont = bra(4, false);              /* continue */
    INS(.op = ZK_SOP_MAD, .type = ZK_ST_U32, .rd = 10, .ra = 11, .rb = 4, .rc = 10);
    patch(cont, HERE());
    opi(ZK_SOP_ADD, ZK_ST_U32, 11, 11, 1);
    bra_to(0, false, loop);
    patch(brk, HERE());
    /* nested if/else on bits of i */
    opi(ZK_SOP_AND, ZK_ST_U32, 14, 4, 1);
    setpi(ZK_CMP_NE, ZK_ST_U32, 5, 14, 0);
    uint32_t to_odd = bra(5, false);
    opi(ZK_SOP_AND, ZK_ST_U32, 14, 4, 4);
    setpi(ZK_CMP_NE, ZK_ST_U32, 6, 14, 0);
    INS(.op = ZK_SOP_MOV, .rd = 15, .flags = ZK_SF_BIMM, .imm = 4);
    INS(.op = ZK_SOP_MOV, .rd = 15, .flags = ZK_SF_BIMM, .imm = 3, .guard = 6);
    uint32_t to_join = bra(0, false);
    patch(to_odd, HERE());
    opi(ZK_SOP_AND, ZK_ST_U32, 14, 4, 2);
    setpi(ZK_CMP_EQ, ZK_ST_U32, 6, 14, 0);
    uint32_t to_two = bra(6, false);
    INS(.op = ZK_SOP_MOV, .rd = 15, .flags = ZK_SF_BIMM, .imm = 1);
    uint32_t to_join2 = bra(0, false);
    patch(to_two, HERE());
    INS(.op = ZK_SOP_MOV, .rd = 15, .flags = ZK_SF_BIMM, .imm = 2);
    patch(to_join, HERE());
    patch(to_join2, HERE());
    opi(ZK_SOP_MUL, ZK_ST_U32, 16, 10, 10);
    op3(ZK_SOP_ADD, ZK_ST_U32, 16, 16, 15);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 7, 0, 16);
    ex();

    struct { uint64_t out; uint32_t n, pad; } p = { vout, n, 0 };
    Run r = { .grid = { (n + 95) / 96 }, .block = { 96 }, .params = &p,
              .psize = sizeof(p), .cus = 2 };
    assert_int_equal(run(t, &r), 0);
    zkt_get(t, vout, out, n * 4);
    for (uint32_t i = 0; i < n; i++) {
        if (out[i] != ref_diverge(i)) {
            fail_msg("out[%u] = %u, want %u", i, out[i], ref_diverge(i));
        }
    }
    free(out);
}

/* ---- 64-bit integers and fp64 -------------------------------------- */

static void test_int64_fp64(void **state)
{
    ZkTestMem *t = *state;
    const uint32_t n = 1000;
    uint64_t *o64 = malloc(n * 8), *od = malloc(n * 8);
    uint64_t v64 = zkt_alloc(t, n * 8), vd = zkt_alloc(t, n * 8);

    kernel_begin();
    gtid(4);
    ldp(ZK_ST_U64, 6, 0);
    ldp(ZK_ST_U64, 7, 8);
    /* x = (u64)i * 0x100000001 + (i << 40) - mulhi(i<<33, 3), s64 div by -7 */
    INS(.op = ZK_SOP_CVT, .type = ZK_ST_U64, .type2 = ZK_ST_U32, .rd = 8, .ra = 4);
    opi(ZK_SOP_MUL, ZK_ST_U64, 9, 8, 0x100000001ll);
    opi(ZK_SOP_SHL, ZK_ST_U64, 10, 8, 40);
    op3(ZK_SOP_ADD, ZK_ST_U64, 9, 9, 10);
    opi(ZK_SOP_SHL, ZK_ST_U64, 11, 8, 33);
    opi(ZK_SOP_MULHI, ZK_ST_U64, 11, 11, 3ll << 40);
    op3(ZK_SOP_SUB, ZK_ST_U64, 9, 9, 11);
    opi(ZK_SOP_DIV, ZK_ST_S64, 12, 9, -7);
    op3(ZK_SOP_XOR, ZK_ST_U64, 9, 9, 12);
    addr_of(13, 6, 4, 8);
    st(ZK_SPACE_GLOBAL, ZK_ST_U64, 13, 0, 9);
    /* d = (double)i / 3.0 + sqrt((double)i) - fma(i, 0.1, -1) */
    INS(.op = ZK_SOP_CVT, .type = ZK_ST_F64, .type2 = ZK_ST_U32, .rd = 14, .ra = 4);
    double three = 3.0, tenth = 0.1, m1 = -1.0;
    uint64_t b3, b01, bm1;
    memcpy(&b3, &three, 8);
    memcpy(&b01, &tenth, 8);
    memcpy(&bm1, &m1, 8);
    opi(ZK_SOP_FDIV, ZK_ST_F64, 15, 14, (int64_t)b3);
    INS(.op = ZK_SOP_FSQRT, .type = ZK_ST_F64, .rd = 16, .ra = 14);
    op3(ZK_SOP_FADD, ZK_ST_F64, 15, 15, 16);
    INS(.op = ZK_SOP_MOV, .rd = 17, .flags = ZK_SF_BIMM, .imm = bm1);
    INS(.op = ZK_SOP_FFMA, .type = ZK_ST_F64, .rd = 18, .ra = 14, .flags = ZK_SF_BIMM,
        .imm = b01, .rc = 17);
    op3(ZK_SOP_FSUB, ZK_ST_F64, 15, 15, 18);
    addr_of(19, 7, 4, 8);
    st(ZK_SPACE_GLOBAL, ZK_ST_F64, 19, 0, 15);
    ex();

    struct { uint64_t a, b; } p = { v64, vd };
    Run r = { .grid = { (n + 63) / 64 }, .block = { 64 }, .params = &p, .psize = 16 };
    /* The last block has 40 extra threads: keep them out with n a multiple. */
    r.grid[0] = n / 40;
    r.block[0] = 40;
    assert_int_equal(run(t, &r), 0);
    zkt_get(t, v64, o64, n * 8);
    zkt_get(t, vd, od, n * 8);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t x = (uint64_t)i * 0x100000001ull + ((uint64_t)i << 40);
        x -= (uint64_t)(((unsigned __int128)((uint64_t)i << 33) * (3ull << 40)) >> 64);
        x ^= (uint64_t)((int64_t)x / -7);
        double d = (double)i / 3.0 + sqrt((double)i) - fma((double)i, 0.1, -1.0), g;
        assert_int_equal(o64[i], x);
        memcpy(&g, &od[i], 8);
        if (g != d) {
            fail_msg("fp64 %u: %.17g want %.17g", i, g, d);
        }
    }
    assert_true(r.st.simt_lane_ops[ZK_SIMT_CLS_F64] == 3ull * n);
    free(o64);
    free(od);
}

/* ---- rounding modes ------------------------------------------------ */

static float ref_f32(unsigned op, int mode, float a, float b, float c)
{
    static const int fm[] = { FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD };
    volatile float va = a, vb = b, vc = c;
    float r;
    int old = fegetround();
    fesetround(fm[mode]);
    switch (op) {
    case 0: r = va + vb; break;
    case 1: r = va * vb; break;
    case 2: r = va / vb; break;
    case 3: r = fmaf(va, vb, vc); break;
    default: r = sqrtf(va); break;
    }
    volatile float out = r;
    fesetround(old);
    return out;
}

static void test_rounding_modes(void **state)
{
    ZkTestMem *t = *state;
    const uint32_t n = 256;
    static const uint8_t ops[] = { ZK_SOP_FADD, ZK_SOP_FMUL, ZK_SOP_FDIV, ZK_SOP_FFMA, ZK_SOP_FSQRT };
    float *a = malloc(n * 4), *b = malloc(n * 4), *c = malloc(n * 4);
    uint32_t *out = malloc(n * 4 * 28), s = 99;
    uint64_t va = zkt_alloc(t, n * 4), vb = zkt_alloc(t, n * 4), vc = zkt_alloc(t, n * 4);
    uint64_t vo = zkt_alloc(t, n * 4 * 28);

    for (uint32_t i = 0; i < n; i++) {
        a[i] = ((float)lcg(&s) - 8388608.0f) / 77777.0f;
        b[i] = ((float)lcg(&s) + 1.0f) / 3333.0f * (i & 1 ? -1.0f : 1.0f);
        c[i] = ((float)lcg(&s) - 8388608.0f) / 12345.0f;
        if (i % 5 == 0) {
            a[i] = fabsf(a[i]);
        }
    }
    zkt_put(t, va, a, n * 4);
    zkt_put(t, vb, b, n * 4);
    zkt_put(t, vc, c, n * 4);

    kernel_begin();
    gtid(4);
    ldp(ZK_ST_U64, 6, 0);
    ldp(ZK_ST_U64, 7, 8);
    ldp(ZK_ST_U64, 8, 16);
    ldp(ZK_ST_U64, 9, 24);
    addr_of(10, 6, 4, 4);
    ld(ZK_SPACE_GLOBAL, ZK_ST_F32, 11, 10, 0);
    addr_of(10, 7, 4, 4);
    ld(ZK_SPACE_GLOBAL, ZK_ST_F32, 12, 10, 0);
    addr_of(10, 8, 4, 4);
    ld(ZK_SPACE_GLOBAL, ZK_ST_F32, 13, 10, 0);
    addr_of(20, 9, 4, 4);
    /* out[(k * n) + i] for k = op * 4 + mode, then 8 cvt results */
    for (unsigned o = 0; o < 5; o++) {
        for (unsigned m = 0; m < 4; m++) {
            uint8_t rs = ops[o] == ZK_SOP_FSQRT ? 0 : 12;
            if (ops[o] == ZK_SOP_FSQRT) {
                INS(.op = ZK_SOP_FSQRT, .type = ZK_ST_F32, .mod = m, .rd = 14, .ra = 11);
            } else {
                INS(.op = ops[o], .type = ZK_ST_F32, .mod = m, .rd = 14, .ra = 11, .rb = rs,
                    .rc = ops[o] == ZK_SOP_FFMA ? 13 : 0);
            }
            st(ZK_SPACE_GLOBAL, ZK_ST_F32, 20, (int64_t)(o * 4 + m) * n * 4, 14);
        }
    }
    /* cvt.{rni,rzi,rmi,rpi}.s32.f32 of c, and cvt.{rn..rp}.f32.f64 of a*c in f64 */
    INS(.op = ZK_SOP_CVT, .type = ZK_ST_F64, .type2 = ZK_ST_F32, .rd = 15, .ra = 11);
    INS(.op = ZK_SOP_CVT, .type = ZK_ST_F64, .type2 = ZK_ST_F32, .rd = 16, .ra = 13);
    op3(ZK_SOP_FMUL, ZK_ST_F64, 15, 15, 16);
    for (unsigned m = 0; m < 4; m++) {
        INS(.op = ZK_SOP_CVT, .type = ZK_ST_S32, .type2 = ZK_ST_F32, .mod = m, .rd = 14, .ra = 13);
        st(ZK_SPACE_GLOBAL, ZK_ST_U32, 20, (int64_t)(20 + m) * n * 4, 14);
        INS(.op = ZK_SOP_CVT, .type = ZK_ST_F32, .type2 = ZK_ST_F64, .mod = m, .rd = 14, .ra = 15);
        st(ZK_SPACE_GLOBAL, ZK_ST_F32, 20, (int64_t)(24 + m) * n * 4, 14);
    }
    ex();

    struct { uint64_t a, b, c, o; } p = { va, vb, vc, vo };
    Run r = { .grid = { n / 64 }, .block = { 64 }, .params = &p, .psize = sizeof(p) };
    assert_int_equal(run(t, &r), 0);
    zkt_get(t, vo, out, n * 4 * 28);
    unsigned differs = 0;
    for (uint32_t i = 0; i < n; i++) {
        for (unsigned o = 0; o < 5; o++) {
            for (unsigned m = 0; m < 4; m++) {
                float want = ref_f32(o, (int)m, a[i], b[i], c[i]);
                uint32_t wb = zk_f32_bits(want), gb = out[(o * 4 + m) * n + i];
                if (wb != gb && !(want != want && zk_bits_f32(gb) != zk_bits_f32(gb))) {
                    fail_msg("op %u mode %u lane %u: %08x want %08x", o, m, i, gb, wb);
                }
            }
            differs += out[(o * 4 + 1) * n + i] != out[(o * 4 + 3) * n + i];
        }
        static const int fm[] = { FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD };
        double prod = (double)a[i] * (double)c[i];
        for (unsigned m = 0; m < 4; m++) {
            double rr = m == 0 ? nearbyint((double)c[i]) : m == 1 ? trunc((double)c[i]) :
                        m == 2 ? floor((double)c[i]) : ceil((double)c[i]);
            assert_int_equal((int32_t)out[(20 + m) * n + i], (int32_t)rr);
            int old = fegetround();
            fesetround(fm[m]);
            volatile double vp = prod;
            volatile float f = (float)vp;
            fesetround(old);
            assert_int_equal(out[(24 + m) * n + i], zk_f32_bits(f));
        }
    }
    /* The modes really differ somewhere (the test can fail if they were ignored). */
    assert_true(differs > 100);
    free(a);
    free(b);
    free(c);
    free(out);
}

/* ---- local memory arrays ------------------------------------------ */

static void test_local_arrays(void **state)
{
    ZkTestMem *t = *state;
    const uint32_t n = 512, len = 16;
    uint32_t *out = malloc(n * 4);
    uint64_t vo = zkt_alloc(t, n * 4);

    kernel_begin();
    gtid(4);
    /* for k in 0..15: local[k] = i * k + k * k */
    INS(.op = ZK_SOP_MOV, .rd = 5, .flags = ZK_SF_BIMM, .imm = 0);
    uint32_t l1 = HERE();
    op3(ZK_SOP_MUL, ZK_ST_U32, 6, 4, 5);
    INS(.op = ZK_SOP_MAD, .type = ZK_ST_U32, .rd = 6, .ra = 5, .rb = 5, .rc = 6);
    opi(ZK_SOP_SHL, ZK_ST_U32, 7, 5, 2);
    st(ZK_SPACE_LOCAL, ZK_ST_U32, 7, 0, 6);
    opi(ZK_SOP_ADD, ZK_ST_U32, 5, 5, 1);
    setpi(ZK_CMP_LT, ZK_ST_U32, 1, 5, len);
    bra_to(1, false, l1);
    /* sum local[(i + k) % 16] * (k + 1) through a generic pointer */
    INS(.op = ZK_SOP_CVTA, .type2 = ZK_SPACE_LOCAL, .rd = 8, .ra = 0);
    INS(.op = ZK_SOP_MOV, .rd = 5, .flags = ZK_SF_BIMM, .imm = 0);
    INS(.op = ZK_SOP_MOV, .rd = 9, .flags = ZK_SF_BIMM, .imm = 0);
    uint32_t l2 = HERE();
    op3(ZK_SOP_ADD, ZK_ST_U32, 10, 4, 5);
    opi(ZK_SOP_AND, ZK_ST_U32, 10, 10, len - 1);
    addr_of(11, 8, 10, 4);
    ld(ZK_SPACE_GENERIC, ZK_ST_U32, 12, 11, 0);
    opi(ZK_SOP_ADD, ZK_ST_U32, 13, 5, 1);
    INS(.op = ZK_SOP_MAD, .type = ZK_ST_U32, .rd = 9, .ra = 12, .rb = 13, .rc = 9);
    opi(ZK_SOP_ADD, ZK_ST_U32, 5, 5, 1);
    setpi(ZK_CMP_LT, ZK_ST_U32, 1, 5, len);
    bra_to(1, false, l2);
    ldp(ZK_ST_U64, 14, 0);
    addr_of(15, 14, 4, 4);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 15, 0, 9);
    ex();

    uint64_t p = vo;
    Run r = { .grid = { n / 128 }, .block = { 128 }, .local = len * 4, .params = &p,
              .psize = 8, .cus = 2 };
    assert_int_equal(run(t, &r), 0);
    zkt_get(t, vo, out, n * 4);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t arr[16], sum = 0;
        for (uint32_t k = 0; k < len; k++) {
            arr[k] = i * k + k * k;
        }
        for (uint32_t k = 0; k < len; k++) {
            sum += arr[(i + k) % len] * (k + 1);
        }
        assert_int_equal(out[i], sum);
    }
    free(out);
}

/*
 * Each thread's local memory is its own, also through generic pointers
 * whose addresses look coalesced: all lanes at one offset (a broadcast for
 * global memory) or at consecutive offsets must still reach each lane's
 * own copy, and the warp-wide local paths must agree with the per-lane one.
 */
static void test_local_generic_per_thread(void **state)
{
    ZkTestMem *t = *state;
    const uint32_t blocks = 4, ntid = 64, n = blocks * ntid, words = 64;
    uint32_t *out = malloc(n * 32);
    uint64_t vo = zkt_alloc(t, n * 32);

    kernel_begin();
    gtid(4);
    sreg(3, ZK_SR_LANEID);
    /* for k in 0..63: local[k] = gtid * 1000 + k (st.local, uniform offsets) */
    INS(.op = ZK_SOP_MOV, .rd = 5, .flags = ZK_SF_BIMM, .imm = 0);
    uint32_t l1 = HERE();
    INS(.op = ZK_SOP_MAD, .type = ZK_ST_U32, .rd = 6, .ra = 4, .flags = ZK_SF_BIMM,
        .imm = 1000, .rc = 5);
    opi(ZK_SOP_SHL, ZK_ST_U32, 7, 5, 2);
    st(ZK_SPACE_LOCAL, ZK_ST_U32, 7, 0, 6);
    opi(ZK_SOP_ADD, ZK_ST_U32, 5, 5, 1);
    setpi(ZK_CMP_LT, ZK_ST_U32, 1, 5, words);
    bra_to(1, false, l1);
    INS(.op = ZK_SOP_CVTA, .type2 = ZK_SPACE_LOCAL, .rd = 8, .ra = 0);
    /* (a) every lane at local[5] through the generic pointer */
    ld(ZK_SPACE_GENERIC, ZK_ST_U32, 10, 8, 20);
    /* (b) lane l at local[l]: consecutive generic addresses */
    addr_of(9, 8, 3, 4);
    ld(ZK_SPACE_GENERIC, ZK_ST_U32, 11, 9, 0);
    /* (c) lane l stores gtid + 7 at local[32 + l] (consecutive generic
     * addresses); read back per lane with ld.local, and local[35] (lane 3's
     * slot) with a uniform ld.local */
    opi(ZK_SOP_ADD, ZK_ST_U32, 12, 4, 7);
    st(ZK_SPACE_GENERIC, ZK_ST_U32, 9, 128, 12);
    opi(ZK_SOP_SHL, ZK_ST_U32, 17, 3, 2);
    ld(ZK_SPACE_LOCAL, ZK_ST_U32, 18, 17, 128);
    ld(ZK_SPACE_LOCAL, ZK_ST_U32, 13, 0, 128 + 12);
    /* (d) a 64-bit uniform ld.local: local[2..3] */
    ld(ZK_SPACE_LOCAL, ZK_ST_U64, 14, 0, 8);
    /* (e) a signed 16-bit uniform ld.local of a word's upper half */
    ld(ZK_SPACE_LOCAL, ZK_ST_S16, 19, 0, 4 * 7 + 2);
    ldp(ZK_ST_U64, 15, 0);
    addr_of(16, 15, 4, 32);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 16, 0, 10);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 16, 4, 11);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 16, 8, 18);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 16, 12, 13);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 16, 16, 14);
    opi(ZK_SOP_SHR, ZK_ST_U64, 14, 14, 32);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 16, 20, 14);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 16, 24, 19);
    ex();

    for (uint32_t cus = 1; cus <= 2; cus++) {
        uint64_t p = vo;
        Run r = { .grid = { blocks }, .block = { ntid }, .local = words * 4, .params = &p,
                  .psize = 8, .cus = cus };
        memset(zkt_ptr(t, vo), 0, n * 32);
        assert_int_equal(run(t, &r), 0);
        zkt_get(t, vo, out, n * 32);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t lane = i % 32, *o = &out[8 * i];
            assert_int_equal(o[0], i * 1000 + 5);
            assert_int_equal(o[1], i * 1000 + lane);
            assert_int_equal(o[2], i + 7);
            assert_int_equal(o[3], lane == 3 ? i + 7 : i * 1000 + 35);
            assert_int_equal(o[4], i * 1000 + 2);
            assert_int_equal(o[5], i * 1000 + 3);
            assert_int_equal(o[6], (uint32_t)(int32_t)(int16_t)((i * 1000 + 7) >> 16));
        }
    }
    free(out);
}

/* ---- f16/bf16 conversions, special registers, votes ---------------- */

static void test_conversions_sregs_votes(void **state)
{
    ZkTestMem *t = *state;
    const uint32_t bx = 8, by = 4, bz = 2, nt = bx * by * bz;   /* 64 threads */
    uint32_t out[64 * 6];
    uint64_t vo = zkt_alloc(t, sizeof(out));

    kernel_begin();
    sreg(1, ZK_SR_TID_X);
    sreg(2, ZK_SR_TID_Y);
    sreg(3, ZK_SR_TID_Z);
    /* linear tid = x + 8 * (y + 4 * z) */
    INS(.op = ZK_SOP_MAD, .type = ZK_ST_U32, .rd = 4, .ra = 3, .flags = ZK_SF_BIMM, .imm = 4, .rc = 2);
    INS(.op = ZK_SOP_MAD, .type = ZK_ST_U32, .rd = 4, .ra = 4, .flags = ZK_SF_BIMM, .imm = 8, .rc = 1);
    ldp(ZK_ST_U64, 5, 0);
    addr_of(6, 5, 4, 24);
    /* f32 (tid * 1.1 - 20) -> f16 -> f32 and -> bf16 -> f32 */
    INS(.op = ZK_SOP_CVT, .type = ZK_ST_F32, .type2 = ZK_ST_U32, .rd = 7, .ra = 4);
    INS(.op = ZK_SOP_FFMA, .type = ZK_ST_F32, .rd = 7, .ra = 7,
        .flags = ZK_SF_BIMM | ZK_SF_CIMM,
        .imm = zk_f32_bits(1.1f) | (uint64_t)zk_f32_bits(-20.0f) << 32);
    INS(.op = ZK_SOP_CVT, .type = ZK_ST_F16, .type2 = ZK_ST_F32, .rd = 8, .ra = 7);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 6, 0, 8);
    INS(.op = ZK_SOP_CVT, .type = ZK_ST_BF16, .type2 = ZK_ST_F32, .rd = 9, .ra = 7);
    INS(.op = ZK_SOP_CVT, .type = ZK_ST_F32, .type2 = ZK_ST_BF16, .rd = 9, .ra = 9);
    st(ZK_SPACE_GLOBAL, ZK_ST_F32, 6, 4, 9);
    /* ballot of (tid & 3) == 1, laneid, warpid */
    opi(ZK_SOP_AND, ZK_ST_U32, 10, 4, 3);
    setpi(ZK_CMP_EQ, ZK_ST_U32, 1, 10, 1);
    INS(.op = ZK_SOP_VOTE, .mod = ZK_VOTE_BALLOT, .rd = 11, .ra = 1);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 6, 8, 11);
    /* any(tid == 40) per warp -> p2; all(tid < 60) -> p3 */
    setpi(ZK_CMP_EQ, ZK_ST_U32, 4, 4, 40);
    INS(.op = ZK_SOP_VOTE, .mod = ZK_VOTE_ANY, .pd = 2, .ra = 4);
    setpi(ZK_CMP_LT, ZK_ST_U32, 5, 4, 60);
    INS(.op = ZK_SOP_VOTE, .mod = ZK_VOTE_ALL, .pd = 3, .ra = 5);
    INS(.op = ZK_SOP_SELP, .rd = 12, .ra = 0, .flags = ZK_SF_BIMM, .imm = 1, .pd = 2);
    INS(.op = ZK_SOP_SELP, .rd = 12, .ra = 12, .flags = ZK_SF_BIMM, .imm = 0, .pd = 0);
    /* r12 = any ? 0 : 1 (selp a=r0 when p2) ; encode all in bit 1 */
    INS(.op = ZK_SOP_SELP, .rd = 13, .flags = ZK_SF_BIMM, .imm = 0, .ra = 0, .pd = 3);
    INS(.op = ZK_SOP_MOV, .rd = 13, .flags = ZK_SF_BIMM, .imm = 2, .guard = 3);
    op3(ZK_SOP_OR, ZK_ST_U32, 12, 12, 13);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 6, 12, 12);
    sreg(14, ZK_SR_LANEID);
    sreg(15, ZK_SR_WARPID);
    opi(ZK_SOP_SHL, ZK_ST_U32, 15, 15, 8);
    op3(ZK_SOP_OR, ZK_ST_U32, 14, 14, 15);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 6, 16, 14);
    /* f16 -> f32 round trip of the stored half */
    INS(.op = ZK_SOP_CVT, .type = ZK_ST_F32, .type2 = ZK_ST_F16, .rd = 16, .ra = 8);
    st(ZK_SPACE_GLOBAL, ZK_ST_F32, 6, 20, 16);
    ex();

    uint64_t p = vo;
    Run r = { .block = { bx, by, bz }, .params = &p, .psize = 8 };
    assert_int_equal(run(t, &r), 0);
    zkt_get(t, vo, out, sizeof(out));
    uint32_t ballot[2] = { 0, 0 };
    for (uint32_t i = 0; i < nt; i++) {
        if ((i & 3) == 1) {
            ballot[i / 32] |= 1u << (i % 32);
        }
    }
    for (uint32_t i = 0; i < nt; i++) {
        const uint32_t *o = &out[i * 6];
        float x = fmaf((float)i, 1.1f, -20.0f), g;
        assert_int_equal(o[0], zk_f32_to_f16(x));
        memcpy(&g, &o[1], 4);
        assert_true(g == zk_bf16_to_f32(zk_f32_to_bf16(x)));
        assert_int_equal(o[2], ballot[i / 32]);
        uint32_t any = i / 32 == 1, all = i / 32 == 0;
        assert_int_equal(o[3], (any ? 0u : 1u) | (all ? 2u : 0u));
        assert_int_equal(o[4], (i % 32) | (i / 32) << 8);
        memcpy(&g, &o[5], 4);
        assert_true(g == zk_f16_to_f32(zk_f32_to_f16(x)));
    }
}

/* ---- integer op corner cases against C ----------------------------- */

static void test_integer_ops(void **state)
{
    ZkTestMem *t = *state;
    static const uint32_t vals[] = { 0, 1, 2, 7, 31, 32, 33, 0x7fffffff, 0x80000000u,
                                     0xffffffffu, 0x12345678, 0xdeadbeef, 100, 63, 64, 5 };
    const uint32_t n = 16 * 16;
    uint32_t *out = malloc(n * 4 * 12);
    uint64_t vo = zkt_alloc(t, n * 4 * 12), vv = zkt_alloc(t, sizeof(vals));
    zkt_put(t, vv, vals, sizeof(vals));

    kernel_begin();
    sreg(4, ZK_SR_TID_X);
    ldp(ZK_ST_U64, 5, 0);
    ldp(ZK_ST_U64, 6, 8);
    opi(ZK_SOP_SHR, ZK_ST_U32, 7, 4, 4);
    opi(ZK_SOP_AND, ZK_ST_U32, 8, 4, 15);
    addr_of(9, 6, 7, 4);
    ld(ZK_SPACE_GLOBAL, ZK_ST_U32, 10, 9, 0);     /* a */
    addr_of(9, 6, 8, 4);
    ld(ZK_SPACE_GLOBAL, ZK_ST_U32, 11, 9, 0);     /* b */
    addr_of(12, 5, 4, 4);
    static const struct { uint8_t op, type; } ops[] = {
        { ZK_SOP_DIV, ZK_ST_S32 }, { ZK_SOP_REM, ZK_ST_S32 }, { ZK_SOP_DIV, ZK_ST_U32 },
        { ZK_SOP_MULHI, ZK_ST_S32 }, { ZK_SOP_SHL, ZK_ST_U32 }, { ZK_SOP_SHR, ZK_ST_S32 },
        { ZK_SOP_MIN, ZK_ST_S32 }, { ZK_SOP_MAX, ZK_ST_U32 }, { ZK_SOP_BFE, ZK_ST_S32 },
        { ZK_SOP_BFI, ZK_ST_U32 }, { ZK_SOP_SHF, ZK_ST_U32 }, { ZK_SOP_CLZ, ZK_ST_U32 },
    };
    for (unsigned k = 0; k < 12; k++) {
        if (ops[k].op == ZK_SOP_BFE || ops[k].op == ZK_SOP_BFI || ops[k].op == ZK_SOP_SHF) {
            /* c = b & 0x0f0f (pos/len for bfi), b for bfe len */
            opi(ZK_SOP_AND, ZK_ST_U32, 13, 11, 0x0f1f);
            INS(.op = ops[k].op, .type = ops[k].type, .rd = 14, .ra = 10, .rb = 11, .rc = 13,
                .mod = ops[k].op == ZK_SOP_SHF ? ZK_SHF_R : 0);
        } else if (ops[k].op == ZK_SOP_CLZ) {
            INS(.op = ops[k].op, .type = ops[k].type, .rd = 14, .ra = 10);
        } else {
            op3(ops[k].op, ops[k].type, 14, 10, 11);
        }
        st(ZK_SPACE_GLOBAL, ZK_ST_U32, 12, (int64_t)k * n * 4, 14);
    }
    ex();
    struct { uint64_t o, v; } p = { vo, vv };
    Run r = { .block = { n }, .params = &p, .psize = 16 };
    assert_int_equal(run(t, &r), 0);
    zkt_get(t, vo, out, n * 4 * 12);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t a = vals[i >> 4], b = vals[i & 15], c = b & 0x0f1f;
        int32_t sa = (int32_t)a, sb = (int32_t)b;
        uint32_t w[12];
        w[0] = !b ? ~0u : (sa == INT32_MIN && sb == -1) ? a : (uint32_t)(sa / sb);
        w[1] = !b ? a : sb == -1 ? 0 : (uint32_t)(sa % sb);
        w[2] = b ? a / b : ~0u;
        w[3] = (uint32_t)(((int64_t)sa * sb) >> 32);
        w[4] = b >= 32 ? 0 : a << b;
        w[5] = (uint32_t)(sa >> (b >= 32 ? 31 : b));
        w[6] = (uint32_t)(sa < sb ? sa : sb);
        w[7] = a > b ? a : b;
        {   /* bfe.s32 a, pos = b & 0xff, len = c & 0xff */
            unsigned pos = b & 0xff, len = c & 0xff;
            uint32_t f = 0;
            if (len) {
                f = pos >= 32 ? 0 : a >> pos;
                if (len < 32) {
                    f &= (1u << len) - 1;
                }
                unsigned top = pos + len - 1 >= 31 ? 31 : pos + len - 1;
                if ((a >> top) & 1 && len < 32) {
                    f |= ~0u << len;
                }
            }
            w[8] = f;
        }
        {   /* bfi: a into b at pos = c & 0xff, len = (c >> 8) & 0xff */
            unsigned pos = c & 0xff, len = (c >> 8) & 0xff;
            uint32_t f = b;
            if (len && pos < 32) {
                uint64_t m = ((len >= 64 ? ~0ull : (1ull << len) - 1) << pos) & 0xffffffffu;
                f = (uint32_t)((b & ~m) | (((uint64_t)a << pos) & m));
            }
            w[9] = f;
        }
        w[10] = (uint32_t)((((uint64_t)b << 32) | a) >> (c & 31));
        w[11] = a ? (uint32_t)__builtin_clz(a) : 32;
        for (unsigned k = 0; k < 12; k++) {
            if (out[k * n + i] != w[k]) {
                fail_msg("op %u a=%08x b=%08x: %08x want %08x", k, a, b, out[k * n + i], w[k]);
            }
        }
    }
    free(out);
}

/* ---- hostile launches and kernels ---------------------------------- */

static void test_hostile(void **state)
{
    ZkTestMem *t = *state;
    uint64_t p = 0;

    build_vadd();
    Run r = { .block = { 1025 }, .params = &p, .psize = 8 };
    assert_int_equal(run(t, &r), ZK_FAULT_ILLEGAL_CMD);
    r = (Run){ .block = { 32, 32, 2 }, .params = &p, .psize = 8 };
    assert_int_equal(run(t, &r), ZK_FAULT_ILLEGAL_CMD);
    r = (Run){ .block = { 32 }, .shared = ZK_SIMT_MAX_SHARED + 1, .params = &p, .psize = 8 };
    assert_int_equal(run(t, &r), ZK_FAULT_ILLEGAL_CMD);
    r = (Run){ .block = { 32 }, .local = ZK_SIMT_MAX_LOCAL + 1 };
    assert_int_equal(run(t, &r), ZK_FAULT_ILLEGAL_CMD);
    static uint8_t big[ZK_SIMT_MAX_PARAMS + 1];
    r = (Run){ .block = { 32 }, .params = big, .psize = sizeof(big) };
    assert_int_equal(run(t, &r), ZK_FAULT_ILLEGAL_CMD);

    /* A barrier in divergent code (only even threads reach it). */
    kernel_begin();
    sreg(1, ZK_SR_TID_X);
    opi(ZK_SOP_AND, ZK_ST_U32, 2, 1, 1);
    setpi(ZK_CMP_EQ, ZK_ST_U32, 1, 2, 0);
    uint32_t odd = bra(1, true);
    INS(.op = ZK_SOP_BAR);
    ex();
    patch(odd, HERE());
    INS(.op = ZK_SOP_BAR);
    ex();
    r = (Run){ .block = { 64 } };
    assert_int_equal(run(t, &r), ZK_FAULT_ENGINE);

    /* Shared memory out of range: the fault names the window address. */
    kernel_begin();
    INS(.op = ZK_SOP_MOV, .rd = 1, .flags = ZK_SF_BIMM, .imm = 4096);
    ld(ZK_SPACE_SHARED, ZK_ST_U32, 2, 1, -2);
    ex();
    r = (Run){ .block = { 32 }, .shared = 4096 };
    assert_int_equal(run(t, &r), ZK_FAULT_MMU_READ);
    assert_int_equal(r.fault.va, ZK_SIMT_SHARED_WINDOW + 4094);

    /* Param read beyond the buffer, and an unmapped global store. */
    kernel_begin();
    ldp(ZK_ST_U64, 1, 8);
    ex();
    r = (Run){ .block = { 32 }, .params = &p, .psize = 8 };
    assert_int_equal(run(t, &r), ZK_FAULT_MMU_READ);
    kernel_begin();
    INS(.op = ZK_SOP_MOV, .rd = 1, .flags = ZK_SF_BIMM, .imm = 0x7000000000ull);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 1, 0, 1);
    ex();
    r = (Run){ .block = { 32 } };
    assert_int_equal(run(t, &r), ZK_FAULT_MMU_WRITE);
    assert_int_equal(r.fault.va, 0x7000000000ull);

    /* An endless loop stops at the budget. */
    kernel_begin();
    bra_to(0, false, 0);
    r = (Run){ .block = { 1024 }, .grid = { 4 }, .budget = 100000, .cus = 2 };
    assert_int_equal(run(t, &r), ZK_FAULT_BUDGET);

    /* Bad encodings never run: unused field, bad type, off the end. */
    kernel_begin();
    INS(.op = ZK_SOP_ADD, .type = ZK_ST_F32, .rd = 1, .ra = 2, .rb = 3);
    ex();
    r = (Run){ .block = { 32 } };
    assert_int_equal(run(t, &r), ZK_FAULT_ILLEGAL_INSN);
    kernel_begin();
    INS(.op = ZK_SOP_EXIT, .rc = 1);
    r = (Run){ .block = { 32 } };
    assert_int_equal(run(t, &r), ZK_FAULT_ILLEGAL_INSN);
    kernel_begin();
    INS(.op = ZK_SOP_NOP);
    r = (Run){ .block = { 32 } };
    assert_int_equal(run(t, &r), ZK_FAULT_ILLEGAL_INSN);
    /* Misaligned atomic. */
    kernel_begin();
    INS(.op = ZK_SOP_MOV, .rd = 1, .flags = ZK_SF_BIMM, .imm = 2);
    INS(.op = ZK_SOP_ATOM, .type = ZK_ST_U32, .type2 = ZK_SPACE_SHARED, .rd = 2, .ra = 1, .rb = 1);
    ex();
    r = (Run){ .block = { 32 }, .shared = 64 };
    assert_int_equal(run(t, &r), ZK_FAULT_ENGINE);
    /* trap */
    kernel_begin();
    INS(.op = ZK_SOP_TRAP);
    r = (Run){ .block = { 32 } };
    assert_int_equal(run(t, &r), ZK_FAULT_ENGINE);
}

/* ---- the ISA library alone: encode/decode, verifier, disassembler -- */

static void test_isa_library(void **state)
{
    (void)state;
    ZkSimtInsn in = { .op = ZK_SOP_FFMA, .type = ZK_ST_F32, .mod = ZK_RND_RZ, .rd = 200,
                      .ra = 3, .rb = 4, .rc = 5, .guard = 6, .gneg = 1 }, out;
    uint64_t w[2];
    char buf[128];

    zk_simt_encode(&in, w);
    zk_simt_decode(w, &out);
    assert_memory_equal(&in, &out, sizeof(in));
    assert_null(zk_simt_check(w));
    zk_simt_disasm(w, 0, buf, sizeof(buf));
    assert_string_equal(buf, "@!p6 ffma.rz.f32 r200, r3, r4, r5");

    ZkSimtInsn ldi = { .op = ZK_SOP_LD, .type = ZK_ST_S16, .type2 = ZK_SPACE_SHARED,
                       .rd = 1, .ra = 2, .imm = (uint64_t)-6 };
    zk_simt_encode(&ldi, w);
    zk_simt_disasm(w, 0, buf, sizeof(buf));
    assert_string_equal(buf, "ld.shared.s16 r1, [r2-6]");
    ZkSimtInsn sh = { .op = ZK_SOP_SHFL, .mod = ZK_SHFL_BFLY, .rd = 1, .pd = 2, .ra = 3,
                      .flags = ZK_SF_BIMM | ZK_SF_CIMM, .imm = 16 | (31ull << 32) };
    zk_simt_encode(&sh, w);
    zk_simt_disasm(w, 0, buf, sizeof(buf));
    assert_string_equal(buf, "shfl.bfly r1|p2, r3, 16, 31");
    ZkSimtInsn b = { .op = ZK_SOP_BRA, .guard = 1, .imm = (uint64_t)-3 };
    zk_simt_encode(&b, w);
    zk_simt_disasm(w, 10, buf, sizeof(buf));
    assert_string_equal(buf, "@p1 bra @7");

    /* Every opcode byte: unknown ones are rejected, known ones with all
     * fields zero either pass or name a reason. */
    unsigned known = 0;
    for (unsigned op = 0; op < 256; op++) {
        uint64_t z[2] = { op, 0 };
        if (zk_simt_op((uint8_t)op)) {
            known++;
        } else {
            assert_non_null(zk_simt_check(z));
        }
    }
    assert_int_equal(known, 60);

    /* Verifier: register count, reachable-only walk, bad targets. */
    kernel_begin();
    op3(ZK_SOP_ADD, ZK_ST_U32, 17, 1, 2);
    ex();
    INS(.op = 0x8f);                    /* unreachable garbage is fine */
    ZkSimtInfo info;
    uint32_t bad;
    const char *why;
    assert_int_equal(zk_simt_verify(kb.w, kb.n, 0, &info, &bad, &why), 0);
    assert_int_equal(info.num_regs, 18);
    assert_int_equal(zk_simt_verify(kb.w, kb.n, 2, &info, &bad, &why), -1);
    assert_int_equal(bad, 2);
    kernel_begin();
    bra_to(0, false, 5);
    assert_int_equal(zk_simt_verify(kb.w, kb.n, 0, &info, &bad, &why), -1);
    zk_simt_buf_free(&kb);
}

/* ---- registers start at zero in every block ------------------------ */

/*
 * The engine clears only the registers some path may read before writing
 * (and every shfl source).  Blocks of alternating parity leave different
 * values behind on one compute unit; each must still see zeros: a guarded
 * write, a read-modify-write, a write on one side of a branch, and a shfl
 * from a partner lane that exited before writing (it did write in the
 * previous block).  Also checks ld.param folding with a signed type.
 */
static void test_registers_start_zero(void **state)
{
    ZkTestMem *t = *state;
    const uint32_t blocks = 8, ntid = 64, n = blocks * ntid;
    uint32_t *out = malloc(n * 16);

    kernel_begin();
    gtid(4);
    ldp(ZK_ST_U64, 6, 0);
    addr_of(7, 6, 4, 16);
    sreg(9, ZK_SR_LANEID);
    opi(ZK_SOP_AND, ZK_ST_U32, 10, 9, 1);
    setpi(ZK_CMP_NE, ZK_ST_U32, 1, 10, 0);
    INS(.op = ZK_SOP_MOV, .rd = 20, .flags = ZK_SF_BIMM, .imm = 0x1234, .guard = 1);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 7, 0, 20);
    ldp(ZK_ST_S8, 13, 8);                               /* -7 */
    op3(ZK_SOP_SUB, ZK_ST_U32, 21, 21, 13);             /* r21 = 0 - -7 */
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 7, 4, 21);
    setpi(ZK_CMP_LT, ZK_ST_U32, 2, 9, 5);
    uint32_t skip = bra(2, true);
    opi(ZK_SOP_ADD, ZK_ST_U32, 22, 9, 100);
    patch(skip, HERE());
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 7, 8, 22);
    sreg(11, ZK_SR_CTAID_X);
    opi(ZK_SOP_AND, ZK_ST_U32, 12, 11, 1);
    setpi(ZK_CMP_NE, ZK_ST_U32, 3, 12, 0);              /* odd block */
    setpi(ZK_CMP_GE, ZK_ST_U32, 4, 9, 16);              /* upper half */
    INS(.op = ZK_SOP_PLOP, .mod = ZK_PLOP_XOR, .pd = 5, .ra = 3, .rb = 4);
    INS(.op = ZK_SOP_EXIT, .guard = 5);
    INS(.op = ZK_SOP_MOV, .rd = 23, .flags = ZK_SF_BIMM, .imm = 777);
    INS(.op = ZK_SOP_SHFL, .mod = ZK_SHFL_BFLY, .rd = 24, .pd = 6, .ra = 23,
        .flags = ZK_SF_BIMM | ZK_SF_CIMM, .imm = 16u | (uint64_t)31 << 32);
    st(ZK_SPACE_GLOBAL, ZK_ST_U32, 7, 12, 24);
    ex();
    uint64_t vout = zkt_alloc(t, n * 16);
    for (uint32_t cus = 1; cus <= 2; cus++) {
        struct { uint64_t out; int8_t k; uint8_t pad[7]; } p = { vout, -7, { 0 } };
        Run r = { .grid = { blocks }, .block = { ntid }, .params = &p,
                  .psize = sizeof(p), .cus = cus };
        memset(zkt_ptr(t, vout), 0xee, n * 16);
        assert_int_equal(run(t, &r), 0);
        zkt_get(t, vout, out, n * 16);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t lane = i % 32, blk = i / ntid;
            bool gone = ((blk & 1) != 0) != (lane >= 16);
            assert_int_equal(out[4 * i], lane & 1 ? 0x1234 : 0);
            assert_int_equal(out[4 * i + 1], 7);
            assert_int_equal(out[4 * i + 2], lane < 5 ? lane + 100 : 0);
            assert_int_equal(out[4 * i + 3], gone ? 0xeeeeeeeeu : 0);
        }
    }
    free(out);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_isa_library),
        T(test_vector_add),
        T(test_setp_f32),
        T(test_shared_reduction),
        T(test_shuffle_reduction),
        T(test_atomic_histogram),
        T(test_divergence),
        T(test_int64_fp64),
        T(test_rounding_modes),
        T(test_local_arrays),
        T(test_local_generic_per_thread),
        T(test_conversions_sregs_votes),
        T(test_integer_ops),
        T(test_hostile),
        T(test_registers_start_zero),
    };
    int r = cmocka_run_group_tests_name("simt", tests, NULL, NULL);
    zk_simt_buf_free(&kb);
    return r;
}
