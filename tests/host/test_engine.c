/* SPDX-License-Identifier: MIT */
/*
 * test_engine.c - every instruction of the ISA against a plain C reference
 * on random inputs (odd shapes, row strides, discontiguous memory), plus
 * the fault paths.
 *
 * Tolerances: integer ops, fp32 element-wise arithmetic, conversions and
 * int8 matmul are exact.  fp32 matmul: |err| <= 1e-4 * (1 + sum|a*b|)
 * (BLAS sums in a different order).  Transcendental/normalising ops: 2e-5
 * relative to the row scale.  f16 outputs: 1e-3 relative, bf16: 8e-3 (one
 * rounding of the result).  PATTN: 1e-5 (online vs two-pass softmax).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "zk_asm_helpers.h"
#include "zk_dtype.h"

#define HBM (64u << 20)

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

static float frand(void)
{
    return (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
}

static uint64_t urand64(void)
{
    return (uint64_t)rand() << 42 ^ (uint64_t)rand() << 21 ^ (uint64_t)rand();
}

static void expect_close(const float *got, const float *want, size_t n,
                         float tol)
{
    for (size_t i = 0; i < n; i++) {
        float err = fabsf(got[i] - want[i]);
        if (!(err <= tol * (1.0f + fabsf(want[i])))) {
            fail_msg("element %zu: got %.9g want %.9g", i, got[i], want[i]);
        }
    }
}

/* ---- scalar -------------------------------------------------------- */

static uint64_t ref_alu(uint8_t op, uint64_t a, uint64_t b)
{
    float fa, fb;
    memcpy(&fa, &a, 4);
    memcpy(&fb, &b, 4);
    switch (op) {
    case ZK_OP_ADD: return a + b;
    case ZK_OP_SUB: return a - b;
    case ZK_OP_MUL: return a * b;
    case ZK_OP_DIVU: return b ? a / b : UINT64_MAX;
    case ZK_OP_REMU: return b ? a % b : a;
    case ZK_OP_AND: return a & b;
    case ZK_OP_OR: return a | b;
    case ZK_OP_XOR: return a ^ b;
    case ZK_OP_SHL: return a << (b % 64);
    case ZK_OP_SHR: return a >> (b % 64);
    case ZK_OP_SRA: return (uint64_t)((int64_t)a >> (b % 64));
    case ZK_OP_MIN: return (int64_t)a < (int64_t)b ? a : b;
    case ZK_OP_MAX: return (int64_t)a > (int64_t)b ? a : b;
    case ZK_OP_SLT: return (int64_t)a < (int64_t)b;
    case ZK_OP_SLTU: return a < b;
    case ZK_OP_FADD: return zk_f32_bits(fa + fb);
    case ZK_OP_FSUB: return zk_f32_bits(fa - fb);
    case ZK_OP_FMUL: return zk_f32_bits(fa * fb);
    case ZK_OP_FDIV: return zk_f32_bits(fa / fb);
    case ZK_OP_FMIN: return zk_f32_bits(fminf(fa, fb));
    case ZK_OP_FMAX: return zk_f32_bits(fmaxf(fa, fb));
    case ZK_OP_FLT: return fa < fb;
    case ZK_OP_FLE: return fa <= fb;
    case ZK_OP_FEQ: return fa == fb;
    }
    return 0;
}

/* out[0] = arg0 op arg1 for every reg-reg ALU op, random operands. */
static void test_alu(void **state)
{
    ZkTestMem *t = *state;
    static const uint8_t ops[] = {
        ZK_OP_ADD, ZK_OP_SUB, ZK_OP_MUL, ZK_OP_DIVU, ZK_OP_REMU, ZK_OP_AND,
        ZK_OP_OR, ZK_OP_XOR, ZK_OP_SHL, ZK_OP_SHR, ZK_OP_SRA, ZK_OP_MIN,
        ZK_OP_MAX, ZK_OP_SLT, ZK_OP_SLTU, ZK_OP_FADD, ZK_OP_FSUB, ZK_OP_FMUL,
        ZK_OP_FDIV, ZK_OP_FMIN, ZK_OP_FMAX, ZK_OP_FLT, ZK_OP_FLE, ZK_OP_FEQ,
    };
    uint64_t out = zkt_alloc(t, 8 * sizeof(ops));
    Prog p = { .n = 0 };
    emit(&p, ZK_OP_ARG, 1, 0, 0, 0);
    emit(&p, ZK_OP_ARG, 2, 0, 0, 1);
    emit(&p, ZK_OP_ARG, 3, 0, 0, 2);
    for (size_t i = 0; i < sizeof(ops); i++) {
        emit(&p, ops[i], 4, 1, 2, 0);
        emit(&p, ZK_OP_ST64, 0, 3, 4, (int)(8 * i));
    }
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    for (int iter = 0; iter < 200; iter++) {
        uint64_t a = urand64(), b = iter % 7 == 0 ? 0 : urand64();
        if (iter % 3 == 0) {    /* make fp ops see real floats */
            a = zk_f32_bits(frand() * 100);
            b = zk_f32_bits(frand() * 100);
        }
        uint64_t args[3] = { a, b, out }, got[sizeof(ops)];
        ZkEngineStats st;
        ZkFault f;
        assert_int_equal(run_prog(t, &p, args, 3, 1, 1, 1, 0, &st, &f, NULL), 0);
        assert_int_equal(st.insns, p.n);
        zkt_get(t, out, got, sizeof(got));
        for (size_t i = 0; i < sizeof(ops); i++) {
            uint64_t want = ref_alu(ops[i], a, b);
            if (ops[i] >= ZK_OP_FADD && ops[i] <= ZK_OP_FMAX &&
                isnan(zk_bits_f32((uint32_t)want))) {
                assert_true(isnan(zk_bits_f32((uint32_t)got[i])));
                continue;
            }
            if (got[i] != want) {
                fail_msg("op 0x%x: %#llx, %#llx -> %#llx want %#llx", ops[i],
                         (unsigned long long)a, (unsigned long long)b,
                         (unsigned long long)got[i], (unsigned long long)want);
            }
        }
    }
}

/* Immediate forms, moves, conversions, sreg. */
static void test_imm_and_moves(void **state)
{
    ZkTestMem *t = *state;
    uint64_t out = zkt_alloc(t, 8 * 16);
    Prog p = { .n = 0 };
    emit(&p, ZK_OP_ARG, 3, 0, 0, 0);
    li(&p, 1, 0x123456789abcdef0ull);
    emit(&p, ZK_OP_ADDI, 2, 1, 0, -5);      emit(&p, ZK_OP_ST64, 0, 3, 2, 0);
    emit(&p, ZK_OP_MULI, 2, 1, 0, 3);       emit(&p, ZK_OP_ST64, 0, 3, 2, 8);
    emit(&p, ZK_OP_ANDI, 2, 1, 0, 0xff0);   emit(&p, ZK_OP_ST64, 0, 3, 2, 16);
    emit(&p, ZK_OP_SRAI, 2, 1, 0, 60);      emit(&p, ZK_OP_ST64, 0, 3, 2, 24);
    emit(&p, ZK_OP_SLTI, 2, 1, 0, -1);      emit(&p, ZK_OP_ST64, 0, 3, 2, 32);
    emit(&p, ZK_OP_MOVI, 2, 0, 0, -7);
    emit(&p, ZK_OP_FCVTIF, 4, 2, 0, 0);     emit(&p, ZK_OP_ST64, 0, 3, 4, 40);
    emit(&p, ZK_OP_FSQRT, 5, 4, 0, 0);      /* sqrt(-7) = NaN */
    emit(&p, ZK_OP_FCVTFI, 5, 5, 0, 0);     emit(&p, ZK_OP_ST64, 0, 3, 5, 48);
    emit(&p, ZK_OP_FCVTFI, 5, 4, 0, 0);     emit(&p, ZK_OP_ST64, 0, 3, 5, 56);
    emit(&p, ZK_OP_MOV, 0, 1, 0, 0);        /* r0 stays 0 */
    emit(&p, ZK_OP_ST64, 0, 3, 0, 64);
    emit(&p, ZK_OP_SREG, 6, 0, 0, ZK_SREG_NWG_X);
    emit(&p, ZK_OP_ST64, 0, 3, 6, 72);
    emit(&p, ZK_OP_SREG, 6, 0, 0, ZK_SREG_ARGS_VA);
    emit(&p, ZK_OP_LD64, 7, 6, 0, 0);       /* args[0] read through memory */
    emit(&p, ZK_OP_ST64, 0, 3, 7, 80);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    uint64_t args[1] = { out }, got[11];
    ZkEngineStats st;
    ZkFault f;
    assert_int_equal(run_prog(t, &p, args, 1, 1, 1, 1, 0, &st, &f, NULL), 0);
    zkt_get(t, out, got, sizeof(got));
    uint64_t v = 0x123456789abcdef0ull;
    assert_int_equal(got[0], v - 5);
    assert_int_equal(got[1], v * 3);
    assert_int_equal(got[2], v & 0xff0);
    assert_int_equal(got[3], 1);
    assert_int_equal(got[4], 0);
    assert_int_equal(got[5], zk_f32_bits(-7.0f));
    assert_int_equal(got[6], 0);
    assert_int_equal(got[7], (uint64_t)-7);
    assert_int_equal(got[8], 0);
    assert_int_equal(got[9], 1);
    assert_int_equal(got[10], out);
}

/* Loads and stores of every width, sign extension, unaligned, across pages. */
static void test_load_store(void **state)
{
    ZkTestMem *t = *state;
    uint64_t buf = zkt_alloc_scattered(t, 8192);
    uint8_t init[64];
    for (int i = 0; i < 64; i++) {
        init[i] = (uint8_t)(0x80 + i * 3);
    }
    uint64_t base = buf + 4096 - 5;           /* straddles two pages */
    zkt_put(t, base, init, 64);
    static const uint8_t lds[] = { ZK_OP_LD8, ZK_OP_LD16, ZK_OP_LD32, ZK_OP_LD64,
                                   ZK_OP_LD8S, ZK_OP_LD16S, ZK_OP_LD32S };
    Prog p = { .n = 0 };
    emit(&p, ZK_OP_ARG, 1, 0, 0, 0);
    for (int i = 0; i < 7; i++) {
        emit(&p, lds[i], 2, 1, 0, 1);
        emit(&p, ZK_OP_ST64, 0, 1, 2, 16 + 8 * i);
    }
    li(&p, 3, 0x1122334455667788ull);
    emit(&p, ZK_OP_ST8, 0, 1, 3, 72);
    emit(&p, ZK_OP_ST16, 0, 1, 3, 73);
    emit(&p, ZK_OP_ST32, 0, 1, 3, 75);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    uint64_t args[1] = { base };
    ZkEngineStats st;
    ZkFault f;
    assert_int_equal(run_prog(t, &p, args, 1, 1, 1, 1, 0, &st, &f, NULL), 0);
    uint64_t got[7], raw = 0;
    zkt_get(t, base + 16, got, sizeof(got));
    memcpy(&raw, init + 1, 8);
    assert_int_equal(got[0], raw & 0xff);
    assert_int_equal(got[1], raw & 0xffff);
    assert_int_equal(got[2], raw & 0xffffffff);
    assert_int_equal(got[3], raw);
    assert_int_equal(got[4], (uint64_t)(int64_t)(int8_t)raw);
    assert_int_equal(got[5], (uint64_t)(int64_t)(int16_t)raw);
    assert_int_equal(got[6], (uint64_t)(int64_t)(int32_t)raw);
    uint8_t st_bytes[7], want[7] = { 0x88, 0x88, 0x77, 0x88, 0x77, 0x66, 0x55 };
    zkt_get(t, base + 72, st_bytes, 7);
    assert_memory_equal(st_bytes, want, 7);
    assert_int_equal(st.bytes_read, 1 + 2 + 4 + 8 + 1 + 2 + 4);
}

/* Branches and LOOP: sum of 1..n, count of signed/unsigned comparisons. */
static void test_branches(void **state)
{
    ZkTestMem *t = *state;
    uint64_t out = zkt_alloc(t, 64);
    Prog p = { .n = 0 };
    emit(&p, ZK_OP_ARG, 1, 0, 0, 0);        /* n */
    emit(&p, ZK_OP_ARG, 9, 0, 0, 1);        /* out */
    emit(&p, ZK_OP_MOV, 2, 1, 0, 0);
    emit(&p, ZK_OP_MOVI, 3, 0, 0, 0);
    emit(&p, ZK_OP_ADD, 3, 3, 2, 0);        /* loop body: sum += i */
    emit(&p, ZK_OP_LOOP, 2, 0, 0, -1);
    emit(&p, ZK_OP_ST64, 0, 9, 3, 0);
    /* r4 = -1 ; blt r4, r0 taken (signed), bltu not taken */
    emit(&p, ZK_OP_MOVI, 4, 0, 0, -1);
    emit(&p, ZK_OP_MOVI, 5, 0, 0, 0);
    emit(&p, ZK_OP_BLTU, 0, 4, 0, 2);
    emit(&p, ZK_OP_ADDI, 5, 5, 0, 1);       /* executed */
    emit(&p, ZK_OP_BLT, 0, 4, 0, 2);
    emit(&p, ZK_OP_ADDI, 5, 5, 0, 10);      /* skipped */
    emit(&p, ZK_OP_BGE, 0, 0, 4, 2);
    emit(&p, ZK_OP_ADDI, 5, 5, 0, 100);     /* skipped */
    emit(&p, ZK_OP_BEQ, 0, 4, 4, 2);
    emit(&p, ZK_OP_ADDI, 5, 5, 0, 1000);    /* skipped */
    emit(&p, ZK_OP_BNE, 0, 4, 4, 2);
    emit(&p, ZK_OP_ADDI, 5, 5, 0, 10000);   /* executed */
    emit(&p, ZK_OP_BGEU, 0, 4, 0, 2);
    emit(&p, ZK_OP_ADDI, 5, 5, 0, 7);       /* skipped */
    emit(&p, ZK_OP_ST64, 0, 9, 5, 8);
    emit(&p, ZK_OP_JMPA, 0, 0, 0, p.n + 2);
    emit(&p, ZK_OP_ST64, 0, 9, 9, 8);       /* skipped */
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    for (uint64_t n = 1; n < 300; n += 37) {
        uint64_t args[2] = { n, out }, got[2];
        ZkEngineStats st;
        ZkFault f;
        assert_int_equal(run_prog(t, &p, args, 2, 1, 1, 1, 0, &st, &f, NULL), 0);
        zkt_get(t, out, got, 16);
        assert_int_equal(got[0], n * (n + 1) / 2);
        assert_int_equal(got[1], 10001);
        assert_int_equal(st.insns, 4 + 2 * n + 14);
    }
}

/* Each workgroup of a 3-D grid writes its linear index at out[linear]. */
static void test_grid(void **state)
{
    ZkTestMem *t = *state;
    enum { GX = 5, GY = 3, GZ = 2 };
    uint64_t out = zkt_alloc(t, GX * GY * GZ * 8);
    Prog p = { .n = 0 };
    emit(&p, ZK_OP_ARG, 1, 0, 0, 0);
    emit(&p, ZK_OP_SREG, 2, 0, 0, ZK_SREG_WG_X);
    emit(&p, ZK_OP_SREG, 3, 0, 0, ZK_SREG_WG_Y);
    emit(&p, ZK_OP_SREG, 4, 0, 0, ZK_SREG_WG_Z);
    emit(&p, ZK_OP_MULI, 4, 4, 0, GY);
    emit(&p, ZK_OP_ADD, 3, 3, 4, 0);
    emit(&p, ZK_OP_MULI, 3, 3, 0, GX);
    emit(&p, ZK_OP_ADD, 2, 2, 3, 0);        /* computed linear id */
    emit(&p, ZK_OP_SREG, 5, 0, 0, ZK_SREG_WG_LINEAR);
    emit(&p, ZK_OP_SHLI, 6, 2, 0, 3);
    emit(&p, ZK_OP_ADD, 6, 6, 1, 0);
    emit(&p, ZK_OP_ST64, 0, 6, 5, 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    uint64_t args[1] = { out }, got[GX * GY * GZ];
    ZkEngineStats st;
    ZkFault f;
    assert_int_equal(run_prog(t, &p, args, 1, GX, GY, GZ, 0, &st, &f, NULL), 0);
    zkt_get(t, out, got, sizeof(got));
    for (int i = 0; i < GX * GY * GZ; i++) {
        assert_int_equal(got[i], i);
    }
    assert_int_equal(st.insns, (uint64_t)p.n * GX * GY * GZ);
}

/* LEA reaches constants placed after the code in the same image. */
static void test_lea_rodata(void **state)
{
    ZkTestMem *t = *state;
    uint64_t out = zkt_alloc(t, 8);
    Prog p = { .n = 0 };
    emit(&p, ZK_OP_ARG, 1, 0, 0, 0);
    emit(&p, ZK_OP_LEA, 2, 0, 0, 6 * 8);
    emit(&p, ZK_OP_LD64, 3, 2, 0, 0);
    emit(&p, ZK_OP_ST64, 0, 1, 3, 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    emit(&p, 0xff, 0, 0, 0, 0);             /* never reached: not verified */
    p.code[p.n++] = 0xdeadbeefcafef00dull;  /* "rodata" */
    uint64_t args[1] = { out }, got;
    ZkEngineStats st;
    ZkFault f;
    assert_int_equal(run_prog(t, &p, args, 1, 1, 1, 1, 0, &st, &f, NULL), 0);
    zkt_get(t, out, &got, 8);
    assert_int_equal(got, 0xdeadbeefcafef00dull);
}

/* ---- faults -------------------------------------------------------- */

static void expect_illegal(ZkTestMem *t, Prog *p, uint32_t nargs, uint32_t bad)
{
    uint64_t args[4] = { 0 };
    ZkEngineStats st;
    ZkFault f;
    int r = run_prog(t, p, args, nargs, 1, 1, 1, 0, &st, &f, NULL);
    assert_int_equal(r, ZK_FAULT_ILLEGAL_INSN);
    assert_int_equal(f.type, ZK_FAULT_ILLEGAL_INSN);
    assert_int_equal(f.va % 4096, bad * 8);     /* code is page aligned */
    assert_int_equal(st.insns, 0);              /* nothing ran */
}

static void test_illegal(void **state)
{
    ZkTestMem *t = *state;
    Prog p;
    /* unknown opcode after a store: the store must not run */
#define CASE(...) do { p.n = 0; __VA_ARGS__; } while (0)
    CASE(emit(&p, ZK_OP_NOP, 0, 0, 0, 0); emit(&p, 0x00, 0, 0, 0, 0));
    expect_illegal(t, &p, 0, 1);
    CASE(emit(&p, 0x7f, 0, 0, 0, 0));
    expect_illegal(t, &p, 0, 0);
    /* register out of range, reserved field set */
    CASE(emit(&p, ZK_OP_ADD, 32, 1, 2, 0); emit(&p, ZK_OP_HALT, 0, 0, 0, 0));
    expect_illegal(t, &p, 0, 0);
    CASE(emit(&p, ZK_OP_ADD, 1, 1, 2, 5); emit(&p, ZK_OP_HALT, 0, 0, 0, 0));
    expect_illegal(t, &p, 0, 0);
    CASE(emit(&p, ZK_OP_HALT, 1, 0, 0, 0));
    expect_illegal(t, &p, 0, 0);
    /* branch outside the code, backwards before 0, falling off the end */
    CASE(emit(&p, ZK_OP_BEQ, 0, 1, 2, 5); emit(&p, ZK_OP_HALT, 0, 0, 0, 0));
    expect_illegal(t, &p, 0, 0);
    CASE(emit(&p, ZK_OP_NOP, 0, 0, 0, 0); emit(&p, ZK_OP_JMP, 0, 0, 0, -2));
    expect_illegal(t, &p, 0, 1);
    CASE(emit(&p, ZK_OP_NOP, 0, 0, 0, 0); emit(&p, ZK_OP_NOP, 0, 0, 0, 0));
    expect_illegal(t, &p, 0, 1);
    /* bad code reached only through a branch */
    CASE(emit(&p, ZK_OP_BEQ, 0, 0, 0, 2); emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
         emit(&p, ZK_OP_SHLI, 1, 1, 0, 64); emit(&p, ZK_OP_HALT, 0, 0, 0, 0));
    expect_illegal(t, &p, 0, 2);
    /* ARG beyond args_size, bad SREG, bad dtype, bad tensor fields */
    CASE(emit(&p, ZK_OP_ARG, 1, 0, 0, 2); emit(&p, ZK_OP_HALT, 0, 0, 0, 0));
    expect_illegal(t, &p, 2, 0);
    CASE(emit(&p, ZK_OP_SREG, 1, 0, 0, ZK_SREG_COUNT); emit(&p, ZK_OP_HALT, 0, 0, 0, 0));
    expect_illegal(t, &p, 0, 0);
    CASE(emit(&p, ZK_OP_TSET, 0, 4, 0, ZK_DT_COUNT); emit(&p, ZK_OP_HALT, 0, 0, 0, 0));
    expect_illegal(t, &p, 0, 0);
    CASE(emit(&p, ZK_OP_TSET, 8, 4, 0, 0); emit(&p, ZK_OP_HALT, 0, 0, 0, 0));
    expect_illegal(t, &p, 0, 0);
    CASE(tensor(&p, ZK_OP_EBIN, 0, 1, 2, 0, 0, 0, ZK_EB_COUNT); emit(&p, ZK_OP_HALT, 0, 0, 0, 0));
    expect_illegal(t, &p, 0, 0);
    CASE(tensor(&p, ZK_OP_SOFTMAX, 0, 1, 2, 0, 0, 0, 0); emit(&p, ZK_OP_HALT, 0, 0, 0, 0));
    expect_illegal(t, &p, 0, 0);
    CASE(tensor(&p, ZK_OP_PATTN, 0, 1, 2, 3, 4, 29, 0); emit(&p, ZK_OP_HALT, 0, 0, 0, 0));
    expect_illegal(t, &p, 0, 0);
    CASE(emit(&p, ZK_OP_MATMUL, 0, 1, 2, 1u << 24); emit(&p, ZK_OP_HALT, 0, 0, 0, 0));
    expect_illegal(t, &p, 0, 0);
#undef CASE
}

static void test_mmu_faults(void **state)
{
    ZkTestMem *t = *state;
    ZkEngineStats st;
    ZkFault f;
    uint64_t ro = zkt_alloc(t, 4096);
    zkt_map(t, ro, t->data_next - 4096, 4096, 0);   /* make it read-only */
    Prog p = { .n = 0 };
    emit(&p, ZK_OP_ARG, 1, 0, 0, 0);
    emit(&p, ZK_OP_LD32, 2, 1, 0, 4);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    uint64_t args[1] = { 0x7000000000ull };     /* beyond 39 bits */
    assert_int_equal(run_prog(t, &p, args, 1, 1, 1, 1, 0, &st, &f, NULL),
                     ZK_FAULT_MMU_READ);
    assert_int_equal(f.va, 0x7000000004ull);
    args[0] = ro + 4096 - 6;                     /* guard page after it */
    assert_int_equal(run_prog(t, &p, args, 1, 1, 1, 1, 0, &st, &f, NULL),
                     ZK_FAULT_MMU_READ);
    assert_int_equal(f.va, ro + 4096);
    p.n = 1;
    emit(&p, ZK_OP_ST8, 0, 1, 0, 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    args[0] = ro;
    assert_int_equal(run_prog(t, &p, args, 1, 1, 1, 1, 0, &st, &f, NULL),
                     ZK_FAULT_MMU_WRITE);
    assert_int_equal(f.va, ro);
    /* Tensor op writing an unmapped tile. */
    p.n = 0;
    uint64_t src = zkt_alloc(t, 256);
    tdesc(&p, 0, src, 4, 16, 0, ZK_DT_F32);
    tdesc(&p, 1, 0x5000000000ull, 4, 16, 0, ZK_DT_F32);
    tensor(&p, ZK_OP_EUN, 1, 0, 0, 0, 0, 0, ZK_EU_COPY);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    assert_int_equal(run_prog(t, &p, NULL, 0, 1, 1, 1, 0, &st, &f, NULL),
                     ZK_FAULT_MMU_WRITE);
    assert_int_equal(f.va, 0x5000000000ull);
    /* Code fetch from unmapped memory is an execute fault. */
    ZkLaunch l = { .code_va = 0x6000000000ull, .code_size = 64, .grid = { 1, 1, 1 } };
    assert_int_equal(zk_engine_launch(&t->ms, &l, &st, &f, NULL), ZK_FAULT_MMU_EXEC);
    assert_int_equal(f.va, 0x6000000000ull);
}

static void test_budget_and_abort(void **state)
{
    ZkTestMem *t = *state;
    ZkEngineStats st;
    ZkFault f;
    Prog p = { .n = 0 };
    emit(&p, ZK_OP_NOP, 0, 0, 0, 0);
    emit(&p, ZK_OP_JMP, 0, 0, 0, -1);       /* infinite loop */
    assert_int_equal(run_prog(t, &p, NULL, 0, 1, 1, 1, 1000, &st, &f, NULL),
                     ZK_FAULT_BUDGET);
    assert_int_equal(st.insns, 1000);
    assert_int_equal(f.type, ZK_FAULT_BUDGET);
    volatile int abort_flag = 1;
    assert_int_equal(run_prog(t, &p, NULL, 0, 1, 1, 1, 0, &st, &f, &abort_flag),
                     ZK_FAULT_ENGINE);
    assert_int_equal(f.va, 0);
    /* Shape mismatch: engine fault at the instruction. */
    p.n = 0;
    uint64_t a = zkt_alloc(t, 4096);
    tdesc(&p, 0, a, 4, 8, 0, ZK_DT_F32);
    tdesc(&p, 1, a, 4, 7, 0, ZK_DT_F32);
    tensor(&p, ZK_OP_EBIN, 1, 0, 0, 0, 0, 0, ZK_EB_ADD);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    assert_int_equal(run_prog(t, &p, NULL, 0, 1, 1, 1, 0, &st, &f, NULL),
                     ZK_FAULT_ENGINE);
    assert_int_equal(f.va % 4096, (p.n - 2) * 8);
}

/* ---- tensor ops ---------------------------------------------------- */

static void ref_matmul(float *c, const float *a, const float *b, int m, int n,
                       int k, int lda, int ldb, int ldc, bool bt, bool acc,
                       float *bound)
{
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double s = acc ? c[i * ldc + j] : 0, mag = fabs(s);
            for (int x = 0; x < k; x++) {
                float bv = bt ? b[j * ldb + x] : b[x * ldb + j];
                s += (double)a[i * lda + x] * bv;
                mag += fabs((double)a[i * lda + x] * bv);
            }
            c[i * ldc + j] = (float)s;
            bound[i * n + j] = (float)mag;
        }
    }
}

/* Widen a host float array after rounding it through dtype dt. */
static void round_through(float *x, size_t n, unsigned dt)
{
    for (size_t i = 0; i < n; i++) {
        x[i] = dt == ZK_DT_F16 ? zk_f16_to_f32(zk_f32_to_f16(x[i]))
             : dt == ZK_DT_BF16 ? zk_bf16_to_f32(zk_f32_to_bf16(x[i])) : x[i];
    }
}

/* Store n floats as dtype dt at va (dense). */
static void put_as(ZkTestMem *t, uint64_t va, const float *x, size_t n,
                   unsigned dt)
{
    uint8_t *tmp = malloc(n * 4 + 1);
    zk_store_row(tmp, dt, x, n);
    zkt_put(t, va, tmp, n * zk_dt_size(dt));
    free(tmp);
}

static void get_as(ZkTestMem *t, uint64_t va, float *x, size_t n, unsigned dt)
{
    uint8_t *tmp = malloc(n * 4 + 1);
    zkt_get(t, va, tmp, n * zk_dt_size(dt));
    zk_load_row(tmp, dt, x, n);
    free(tmp);
}

static void check_matmul(ZkTestMem *t, unsigned dt, int m, int n, int k,
                         int pad, bool bt, bool acc, bool scattered)
{
    int lda = k + pad, ldb = (bt ? k : n) + pad, ldc = n + pad;
    int brows = bt ? n : k;
    size_t sa = (size_t)m * lda, sb = (size_t)brows * ldb, sc = (size_t)m * ldc;
    float *a = malloc(sa * 4), *b = malloc(sb * 4), *c = malloc(sc * 4);
    float *want = malloc(sc * 4), *bound = malloc((size_t)m * n * 4 + 4);
    for (size_t i = 0; i < sa; i++) a[i] = frand();
    for (size_t i = 0; i < sb; i++) b[i] = frand();
    for (size_t i = 0; i < sc; i++) c[i] = frand();
    round_through(a, sa, dt);
    round_through(b, sb, dt);
    memcpy(want, c, sc * 4);
    ref_matmul(want, a, b, m, n, k, lda, ldb, ldc, bt, acc, bound);
    uint64_t va = scattered ? zkt_alloc_scattered(t, sa * 4) : zkt_alloc(t, sa * 4);
    uint64_t vb = zkt_alloc(t, sb * 4);
    uint64_t vc = scattered ? zkt_alloc_scattered(t, sc * 4) : zkt_alloc(t, sc * 4);
    put_as(t, va, a, sa, dt);
    put_as(t, vb, b, sb, dt);
    zkt_put(t, vc, c, sc * 4);
    Prog p = { .n = 0 };
    tdesc(&p, 0, va, m, k, lda, dt);
    tdesc(&p, 1, vb, brows, bt ? k : n, ldb, dt);
    tdesc(&p, 2, vc, m, n, ldc, ZK_DT_F32);
    tensor(&p, ZK_OP_MATMUL, 2, 0, 1, 0, 0, 0,
           (bt ? ZK_MM_BT : 0) | (acc ? ZK_MM_ACC : 0));
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    ZkEngineStats st;
    ZkFault f;
    assert_int_equal(run_prog(t, &p, NULL, 0, 1, 1, 1, 0, &st, &f, NULL), 0);
    assert_int_equal(st.flops[dt], 2ull * m * n * k);
    zkt_get(t, vc, c, sc * 4);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < ldc; j++) {
            float g = c[i * ldc + j], w = want[i * ldc + j];
            if (j >= n) {
                assert_true(g == w);            /* padding untouched */
            } else if (!(fabsf(g - w) <= 1e-5f * (1 + bound[i * n + j]))) {
                fail_msg("dt %u %dx%dx%d [%d,%d] got %g want %g", dt, m, n, k,
                         i, j, g, w);
            }
        }
    }
    free(a); free(b); free(c); free(want); free(bound);
}

static void test_matmul_float(void **state)
{
    ZkTestMem *t = *state;
    static const int shapes[][3] = { { 1, 1, 1 }, { 7, 13, 5 }, { 33, 17, 64 },
                                     { 1, 100, 37 }, { 64, 64, 64 }, { 3, 5, 0 } };
    for (unsigned dt = 0; dt < 3; dt++) {
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
            for (int v = 0; v < 4; v++) {
                check_matmul(t, dt, shapes[s][0], shapes[s][1], shapes[s][2],
                             v & 1 ? 3 : 0, v & 2, v == 1 || v == 2, s == 2);
                t->data_next = ZKT_PT_AREA + (8u << 20);  /* recycle HBM */
            }
        }
    }
}

static void check_matmul_i8(ZkTestMem *t, int m, int n, int k, bool bt,
                            bool acc, bool deq)
{
    int brows = bt ? n : k, bcols = bt ? k : n;
    int8_t *a = malloc((size_t)m * k + 1), *b = malloc((size_t)brows * bcols + 1);
    int32_t *c = malloc((size_t)m * n * 4 + 4);
    float *sa = malloc((size_t)m * 4 + 4), *sb = malloc((size_t)n * 4 + 4);
    float *cf = (float *)c;
    for (int i = 0; i < m * k; i++) a[i] = (int8_t)(rand() % 256 - 128);
    for (int i = 0; i < brows * bcols; i++) b[i] = (int8_t)(rand() % 256 - 128);
    for (int i = 0; i < m; i++) sa[i] = frand();
    for (int i = 0; i < n; i++) sb[i] = frand();
    for (int i = 0; i < m * n; i++) {
        if (deq) cf[i] = frand(); else c[i] = rand() - RAND_MAX / 2;
    }
    uint64_t va = zkt_alloc(t, (size_t)m * k), vb = zkt_alloc(t, (size_t)brows * bcols);
    uint64_t vc = zkt_alloc(t, (size_t)m * n * 4);
    uint64_t vsa = zkt_alloc(t, (size_t)m * 4), vsb = zkt_alloc(t, (size_t)n * 4);
    zkt_put(t, va, a, (size_t)m * k);
    zkt_put(t, vb, b, (size_t)brows * bcols);
    zkt_put(t, vc, c, (size_t)m * n * 4);
    zkt_put(t, vsa, sa, (size_t)m * 4);
    zkt_put(t, vsb, sb, (size_t)n * 4);
    Prog p = { .n = 0 };
    tdesc(&p, 0, va, m, k, 0, ZK_DT_I8);
    tdesc(&p, 1, vb, brows, bcols, 0, ZK_DT_I8);
    tdesc(&p, 2, vc, m, n, 0, deq ? ZK_DT_F32 : ZK_DT_I32);
    tdesc(&p, 3, vsa, m, 1, 0, ZK_DT_F32);
    tdesc(&p, 4, vsb, 1, n, 0, ZK_DT_F32);
    tensor(&p, ZK_OP_MATMUL, 2, 0, 1, deq ? 3 : 0, deq ? 4 : 0, 0,
           (bt ? ZK_MM_BT : 0) | (acc ? ZK_MM_ACC : 0) | (deq ? ZK_MM_DEQ : 0));
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    ZkEngineStats st;
    ZkFault f;
    assert_int_equal(run_prog(t, &p, NULL, 0, 1, 1, 1, 0, &st, &f, NULL), 0);
    assert_int_equal(st.flops[ZK_DT_I8], 2ull * m * n * k);
    int32_t *got = malloc((size_t)m * n * 4 + 4);
    zkt_get(t, vc, got, (size_t)m * n * 4);
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            int32_t s = 0;
            for (int x = 0; x < k; x++) {
                s += a[i * k + x] * (bt ? b[j * k + x] : b[x * n + j]);
            }
            if (deq) {
                float w = (float)s * sa[i] * sb[j] + (acc ? cf[i * n + j] : 0);
                float g;
                memcpy(&g, &got[i * n + j], 4);
                assert_true(g == w);    /* same operations, same order */
            } else {
                int32_t w = (int32_t)((uint32_t)s + (acc ? (uint32_t)c[i * n + j] : 0));
                assert_int_equal(got[i * n + j], w);
            }
        }
    }
    free(a); free(b); free(c); free(sa); free(sb); free(got);
}

static void test_matmul_i8(void **state)
{
    ZkTestMem *t = *state;
    static const int shapes[][3] = { { 1, 1, 1 }, { 5, 7, 19 }, { 32, 16, 64 },
                                     { 3, 33, 100 } };
    for (size_t s = 0; s < 4; s++) {
        for (int v = 0; v < 8; v++) {
            check_matmul_i8(t, shapes[s][0], shapes[s][1], shapes[s][2],
                            v & 1, v & 2, v & 4);
        }
    }
}

/* Reference for the row-wise ops, all computed on widened floats. */
static float ref_silu(float x) { return x / (1.0f + expf(-x)); }
static float ref_gelu(float x)
{
    return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

typedef struct Case {
    unsigned dt_in, dt_out;
    int rows, cols, pad;
} Case;

static const Case cases[] = {
    { ZK_DT_F32, ZK_DT_F32, 1, 1, 0 }, { ZK_DT_F32, ZK_DT_F32, 7, 33, 3 },
    { ZK_DT_F16, ZK_DT_F32, 5, 64, 0 }, { ZK_DT_F32, ZK_DT_BF16, 9, 17, 1 },
    { ZK_DT_BF16, ZK_DT_F16, 4, 130, 2 }, { ZK_DT_F32, ZK_DT_F32, 3, 2048, 0 },
};

static float out_tol(unsigned dt, float base)
{
    return dt == ZK_DT_F16 ? 1e-3f : dt == ZK_DT_BF16 ? 8e-3f : base;
}

/* Runs a one-instruction program: td(dt_out) = op(ta(dt_in), tb, tc). */
static void run_rowop(ZkTestMem *t, const Case *cs, uint8_t op, unsigned fn,
                      const float *a, const float *b, const float *w,
                      const float *bias, const uint64_t *scal, float *got)
{
    size_t na = (size_t)cs->rows * (cs->cols + cs->pad);
    uint64_t va = zkt_alloc_scattered(t, na * 4), vb = zkt_alloc(t, na * 4);
    uint64_t vd = zkt_alloc(t, na * 4), vw = zkt_alloc(t, cs->cols * 4 + 4);
    uint64_t vbias = zkt_alloc(t, cs->cols * 4 + 4);
    put_as(t, va, a, na, cs->dt_in);
    if (b) put_as(t, vb, b, na, ZK_DT_F32);
    if (w) put_as(t, vw, w, cs->cols, ZK_DT_F32);
    if (bias) put_as(t, vbias, bias, cs->cols, ZK_DT_F32);
    Prog p = { .n = 0 };
    tdesc(&p, 0, va, cs->rows, cs->cols, cs->cols + cs->pad, cs->dt_in);
    tdesc(&p, 1, vb, cs->rows, cs->cols, cs->cols + cs->pad, ZK_DT_F32);
    tdesc(&p, 2, vd, cs->rows, cs->cols, 0, cs->dt_out);
    tdesc(&p, 3, vw, 1, cs->cols, 0, ZK_DT_F32);
    tdesc(&p, 4, vbias, 1, cs->cols, 0, ZK_DT_F32);
    for (int i = 0; i < 2 && scal; i++) {
        li(&p, 10 + i, scal[i]);
    }
    switch (op) {
    case ZK_OP_EBIN:
        tensor(&p, op, 2, 0, 1, 0, 0, 0, fn);
        break;
    case ZK_OP_RMSNORM:
        tensor(&p, op, 2, 0, 3, 0, 0, 10, 0);
        break;
    case ZK_OP_LAYERNORM:
        tensor(&p, op, 2, 0, 3, bias ? 4 : 0, 0, 10, bias ? ZK_LN_BIAS : 0);
        break;
    case ZK_OP_ESCALE:
    case ZK_OP_ROPE:
        tensor(&p, op, 2, 0, 0, 0, 0, 10, 0);
        break;
    default:
        tensor(&p, op, 2, 0, 0, 0, 0, 0, fn);
        break;
    }
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    ZkEngineStats st;
    ZkFault f;
    assert_int_equal(run_prog(t, &p, NULL, 0, 1, 1, 1, 0, &st, &f, NULL), 0);
    get_as(t, vd, got, (size_t)cs->rows * cs->cols, cs->dt_out);
}

static void test_elementwise(void **state)
{
    ZkTestMem *t = *state;
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        const Case *cs = &cases[ci];
        int ld = cs->cols + cs->pad;
        size_t na = (size_t)cs->rows * ld, n = (size_t)cs->rows * cs->cols;
        float *a = malloc(na * 4), *b = malloc(na * 4);
        float *got = malloc(n * 4), *want = malloc(n * 4);
        for (size_t i = 0; i < na; i++) {
            a[i] = frand() * 4;
            b[i] = frand() * 4;
        }
        round_through(a, na, cs->dt_in);
        for (unsigned fn = 0; fn < ZK_EB_COUNT + ZK_EU_COUNT + 1; fn++) {
            bool bin = fn < ZK_EB_COUNT, scale = fn == ZK_EB_COUNT + ZK_EU_COUNT;
            unsigned sub = bin ? fn : fn - ZK_EB_COUNT;
            uint64_t sc[2] = { zk_f32_bits(1.5f), zk_f32_bits(-0.25f) };
            for (int r = 0; r < cs->rows; r++) {
                for (int c = 0; c < cs->cols; c++) {
                    float x = a[r * ld + c], y = b[r * ld + c], v;
                    if (scale) v = x * 1.5f + -0.25f;
                    else if (bin) v = sub == ZK_EB_ADD ? x + y : sub == ZK_EB_SUB ? x - y
                                    : sub == ZK_EB_MUL ? x * y : ref_silu(x) * y;
                    else v = sub == ZK_EU_COPY ? x : sub == ZK_EU_SILU ? ref_silu(x)
                           : sub == ZK_EU_GELU ? ref_gelu(x) : sub == ZK_EU_EXP ? expf(x)
                           : (x > 0 ? x : 0);
                    want[r * cs->cols + c] = v;
                }
            }
            round_through(want, n, cs->dt_out);
            run_rowop(t, cs, scale ? ZK_OP_ESCALE : bin ? ZK_OP_EBIN : ZK_OP_EUN,
                      sub, a, b, NULL, NULL, sc, got);
            /* Same float ops on the same inputs: exact, up to libm. */
            expect_close(got, want, n, 0.0f);
        }
        free(a); free(b); free(got); free(want);
        t->data_next = ZKT_PT_AREA + (8u << 20);
    }
}

static void test_rowwise(void **state)
{
    ZkTestMem *t = *state;
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        const Case *cs = &cases[ci];
        int ld = cs->cols + cs->pad, C = cs->cols;
        size_t na = (size_t)cs->rows * ld, n = (size_t)cs->rows * C;
        float *a = malloc(na * 4), *w = malloc(C * 4), *bias = malloc(C * 4);
        float *got = malloc(n * 4), *want = malloc(n * 4);
        for (size_t i = 0; i < na; i++) a[i] = frand() * 3;
        for (int i = 0; i < C; i++) { w[i] = frand(); bias[i] = frand(); }
        round_through(a, na, cs->dt_in);
        for (int op = 0; op < 4; op++) {
            uint64_t sc[2] = { zk_f32_bits(1e-5f), 0 };
            for (int r = 0; r < cs->rows; r++) {
                const float *x = a + (size_t)r * ld;
                float *y = want + (size_t)r * C;
                double s = 0, s2 = 0, mx = -INFINITY;
                for (int c = 0; c < C; c++) {
                    s += x[c]; s2 += (double)x[c] * x[c];
                    mx = x[c] > mx ? x[c] : mx;
                }
                for (int c = 0; c < C; c++) {
                    if (op == 0) {          /* softmax */
                        double z = 0;
                        for (int k = 0; k < C; k++) z += exp(x[k] - mx);
                        y[c] = (float)(exp(x[c] - mx) / z);
                    } else if (op == 1) {   /* rmsnorm */
                        y[c] = (float)(w[c] * x[c] / sqrt(s2 / C + 1e-5));
                    } else {                /* layernorm, with/without bias */
                        double mean = s / C, var = s2 / C - mean * mean;
                        y[c] = (float)((x[c] - mean) / sqrt(var + 1e-5) * w[c] +
                                       (op == 3 ? bias[c] : 0));
                    }
                }
            }
            round_through(want, n, cs->dt_out);
            static const uint8_t ops[] = { ZK_OP_SOFTMAX, ZK_OP_RMSNORM,
                                           ZK_OP_LAYERNORM, ZK_OP_LAYERNORM };
            run_rowop(t, cs, ops[op], 0, a, NULL, w, op == 3 ? bias : NULL, sc, got);
            expect_close(got, want, n, out_tol(cs->dt_out, op == 0 ? 2e-5f : 1e-4f));
        }
        free(a); free(w); free(bias); free(got); free(want);
        t->data_next = ZKT_PT_AREA + (8u << 20);
    }
}

static void test_rope(void **state)
{
    ZkTestMem *t = *state;
    static const Case rc[] = { { ZK_DT_F32, ZK_DT_F32, 3, 64, 0 },
                               { ZK_DT_F32, ZK_DT_F32, 5, 96, 2 },
                               { ZK_DT_F16, ZK_DT_F32, 2, 8, 0 } };
    static const uint64_t head_dims[] = { 16, 48, 8 };
    for (int ci = 0; ci < 3; ci++) {
        const Case *cs = &rc[ci];
        int ld = cs->cols + cs->pad, C = cs->cols;
        size_t na = (size_t)cs->rows * ld;
        float *a = malloc(na * 4), *got = malloc(na * 4), *want = malloc(na * 4);
        for (size_t i = 0; i < na; i++) a[i] = frand();
        round_through(a, na, cs->dt_in);
        uint64_t pos0 = 37 + ci, hd = head_dims[ci];
        for (int r = 0; r < cs->rows; r++) {
            for (int i = 0; i < C; i += 2) {
                /* llama2.c run.c, verbatim math */
                int head_dim = i % (int)hd;
                float freq = 1.0f / powf(10000.0f, head_dim / (float)hd);
                float val = (float)(pos0 + r) * freq;
                float fcr = cosf(val), fci = sinf(val);
                float v0 = a[r * ld + i], v1 = a[r * ld + i + 1];
                want[r * C + i] = v0 * fcr - v1 * fci;
                want[r * C + i + 1] = v0 * fci + v1 * fcr;
            }
        }
        uint64_t sc[2] = { pos0, hd };
        run_rowop(t, cs, ZK_OP_ROPE, 0, a, NULL, NULL, NULL, sc, got);
        expect_close(got, want, (size_t)cs->rows * C, 0.0f);
        free(a); free(got); free(want);
    }
}

static void test_reduce_embed_quant(void **state)
{
    ZkTestMem *t = *state;
    enum { R = 6, C = 45, V = 11 };
    float a[R * C], got[R * C], s[R];
    for (int i = 0; i < R * C; i++) a[i] = frand() * 5;
    a[2 * C + 7] = 9.0f;
    a[2 * C + 9] = 9.0f;        /* argmax returns the first of equal maxima */
    uint64_t va = zkt_alloc(t, sizeof(a)), vd = zkt_alloc(t, sizeof(a));
    uint64_t vs = zkt_alloc(t, sizeof(s)), vq = zkt_alloc(t, sizeof(a));
    zkt_put(t, va, a, sizeof(a));
    for (unsigned fn = 0; fn < ZK_RED_COUNT; fn++) {
        Prog p = { .n = 0 };
        tdesc(&p, 0, va, R, C, 0, ZK_DT_F32);
        tdesc(&p, 1, vd, R, 1, 0, fn == ZK_RED_ARGMAX ? ZK_DT_I32 : ZK_DT_F32);
        tensor(&p, ZK_OP_REDUCE, 1, 0, 0, 0, 0, 0, fn);
        emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
        ZkEngineStats st;
        ZkFault f;
        assert_int_equal(run_prog(t, &p, NULL, 0, 1, 1, 1, 0, &st, &f, NULL), 0);
        uint32_t out[R];
        zkt_get(t, vd, out, sizeof(out));
        for (int r = 0; r < R; r++) {
            double sum = 0;
            float mx = -INFINITY;
            int arg = 0;
            for (int c = 0; c < C; c++) {
                sum += a[r * C + c];
                if (a[r * C + c] > mx) { mx = a[r * C + c]; arg = c; }
            }
            float g;
            memcpy(&g, &out[r], 4);
            if (fn == ZK_RED_SUM) assert_true(g == (float)sum);
            if (fn == ZK_RED_MAX) assert_true(g == mx);
            if (fn == ZK_RED_ARGMAX) assert_int_equal(out[r], arg);
        }
    }
    assert_true(1);
    /* Embedding: gather rows of a V x C table by i32 indices. */
    int32_t idx[R] = { 3, 0, 10, 3, 7, 1 };
    uint64_t vtab = zkt_alloc(t, V * C * 4), vidx = zkt_alloc(t, sizeof(idx));
    float tab[V * C];
    for (int i = 0; i < V * C; i++) tab[i] = frand();
    zkt_put(t, vtab, tab, sizeof(tab));
    zkt_put(t, vidx, idx, sizeof(idx));
    Prog p = { .n = 0 };
    tdesc(&p, 0, vtab, V, C, 0, ZK_DT_F32);
    tdesc(&p, 1, vidx, 1, R, 0, ZK_DT_I32);
    tdesc(&p, 2, vd, R, C, 0, ZK_DT_F16);
    tensor(&p, ZK_OP_EMBED, 2, 0, 1, 0, 0, 0, 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    ZkEngineStats st;
    ZkFault f;
    assert_int_equal(run_prog(t, &p, NULL, 0, 1, 1, 1, 0, &st, &f, NULL), 0);
    get_as(t, vd, got, R * C, ZK_DT_F16);
    for (int r = 0; r < R; r++) {
        for (int c = 0; c < C; c++) {
            assert_true(got[r * C + c] ==
                        zk_f16_to_f32(zk_f32_to_f16(tab[idx[r] * C + c])));
        }
    }
    idx[4] = V;                 /* out of range: engine fault */
    zkt_put(t, vidx, idx, sizeof(idx));
    assert_int_equal(run_prog(t, &p, NULL, 0, 1, 1, 1, 0, &st, &f, NULL),
                     ZK_FAULT_ENGINE);
    /* Quantize then dequantize: per-row scale, |err| <= s/2. */
    p.n = 0;
    tdesc(&p, 0, va, R, C, 0, ZK_DT_F32);
    tdesc(&p, 1, vq, R, C, 0, ZK_DT_I8);
    tdesc(&p, 2, vs, R, 1, 0, ZK_DT_F32);
    tdesc(&p, 3, vd, R, C, 0, ZK_DT_F32);
    tensor(&p, ZK_OP_QUANT, 1, 0, 2, 0, 0, 0, 0);
    tensor(&p, ZK_OP_DEQUANT, 3, 1, 2, 0, 0, 0, 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    assert_int_equal(run_prog(t, &p, NULL, 0, 1, 1, 1, 0, &st, &f, NULL), 0);
    int8_t q[R * C];
    zkt_get(t, vq, q, sizeof(q));
    zkt_get(t, vs, s, sizeof(s));
    zkt_get(t, vd, got, sizeof(a));
    for (int r = 0; r < R; r++) {
        float amax = 0;
        for (int c = 0; c < C; c++) amax = fmaxf(amax, fabsf(a[r * C + c]));
        assert_true(s[r] == amax / 127.0f);
        for (int c = 0; c < C; c++) {
            assert_int_equal(q[r * C + c], (int)nearbyintf(a[r * C + c] / s[r]));
            assert_true(got[r * C + c] == q[r * C + c] * s[r]);
        }
    }
}

/* KVWRITE a prompt in two chunks, then PATTN vs a two-pass reference. */
static void check_attention(ZkTestMem *t, int H, int KVH, int hd, int bs,
                            int ctx, int T, unsigned cache_dt)
{
    int kvd = KVH * hd, nblk = (ctx + bs - 1) / bs, nb_cache = nblk + 3;
    int32_t table[64];
    /* A shuffled block table so logical order != physical order. */
    for (int i = 0; i < nblk; i++) table[i] = (i * 5 + 2) % nb_cache;
    for (int i = 0; i < nblk; i++)
        for (int j = 0; j < i; j++) assert_true(table[i] != table[j]);
    float *k = malloc((size_t)ctx * kvd * 4), *v = malloc((size_t)ctx * kvd * 4);
    float *q = malloc((size_t)T * H * hd * 4), *out = malloc((size_t)T * H * hd * 4);
    for (int i = 0; i < ctx * kvd; i++) { k[i] = frand(); v[i] = frand(); }
    for (int i = 0; i < T * H * hd; i++) q[i] = frand() * 2;
    size_t cache_bytes = (size_t)nb_cache * bs * kvd * zk_dt_size(cache_dt);
    uint64_t vk = zkt_alloc(t, (size_t)ctx * kvd * 4), vv = zkt_alloc(t, (size_t)ctx * kvd * 4);
    uint64_t kc = zkt_alloc_scattered(t, cache_bytes), vc = zkt_alloc(t, cache_bytes);
    uint64_t vt = zkt_alloc(t, sizeof(table)), vq = zkt_alloc(t, (size_t)T * H * hd * 4);
    uint64_t vo = zkt_alloc(t, (size_t)T * H * hd * 4);
    zkt_put(t, vk, k, (size_t)ctx * kvd * 4);
    zkt_put(t, vv, v, (size_t)ctx * kvd * 4);
    zkt_put(t, vt, table, sizeof(table));
    zkt_put(t, vq, q, (size_t)T * H * hd * 4);
    int split = ctx / 3;
    Prog p = { .n = 0 };
    for (int part = 0; part < 2; part++) {
        int p0 = part ? split : 0, n = part ? ctx - split : split;
        tdesc(&p, 0, vk + (uint64_t)p0 * kvd * 4, n, kvd, 0, ZK_DT_F32);
        tdesc(&p, 1, vv + (uint64_t)p0 * kvd * 4, n, kvd, 0, ZK_DT_F32);
        tdesc(&p, 2, kc, (uint64_t)nb_cache * bs, kvd, 0, cache_dt);
        tdesc(&p, 3, vc, (uint64_t)nb_cache * bs, kvd, 0, cache_dt);
        tdesc(&p, 4, vt, 1, nblk, 0, ZK_DT_I32);
        li(&p, 10, p0);
        li(&p, 11, bs);
        tensor(&p, ZK_OP_KVWRITE, 2, 0, 1, 4, 3, 10, 0);
    }
    tdesc(&p, 5, vq, T, H * hd, 0, ZK_DT_F32);
    tdesc(&p, 6, vo, T, H * hd, 0, ZK_DT_F32);
    li(&p, 12, ctx);
    li(&p, 13, KVH);
    li(&p, 14, bs);
    li(&p, 15, hd);
    tensor(&p, ZK_OP_PATTN, 6, 5, 2, 3, 4, 12, 0);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    ZkEngineStats st;
    ZkFault f;
    assert_int_equal(run_prog(t, &p, NULL, 0, 1, 1, 1, 0, &st, &f, NULL), 0);
    zkt_get(t, vo, out, (size_t)T * H * hd * 4);
    /* Cache layout check: position p lives at table[p/bs]*bs + p%bs. */
    float *row = malloc(kvd * 4);
    for (int pos = 0; pos < ctx; pos += 7) {
        uint64_t r = (uint64_t)table[pos / bs] * bs + pos % bs;
        get_as(t, kc + r * kvd * zk_dt_size(cache_dt), row, kvd, cache_dt);
        for (int i = 0; i < kvd; i++) {
            float w = k[pos * kvd + i];
            round_through(&w, 1, cache_dt);
            assert_true(row[i] == w);
        }
    }
    free(row);
    round_through(k, (size_t)ctx * kvd, cache_dt);
    round_through(v, (size_t)ctx * kvd, cache_dt);
    uint64_t pairs = 0;
    double *sc = malloc(ctx * sizeof(double));
    for (int tq = 0; tq < T; tq++) {
        int last = ctx - T + tq;
        for (int h = 0; h < H; h++) {
            int kh = h / (H / KVH);
            const float *qq = q + ((size_t)tq * H + h) * hd;
            double mx = -INFINITY, z = 0;
            for (int pos = 0; pos <= last; pos++) {
                double s = 0;
                for (int x = 0; x < hd; x++) s += qq[x] * k[pos * kvd + kh * hd + x];
                sc[pos] = s / sqrt(hd);
                mx = sc[pos] > mx ? sc[pos] : mx;
                pairs++;
            }
            for (int pos = 0; pos <= last; pos++) z += exp(sc[pos] - mx);
            for (int x = 0; x < hd; x++) {
                double o = 0;
                for (int pos = 0; pos <= last; pos++)
                    o += exp(sc[pos] - mx) / z * v[pos * kvd + kh * hd + x];
                float g = out[((size_t)tq * H + h) * hd + x];
                if (!(fabs(g - o) <= 1e-5 * (1 + fabs(o)))) {
                    fail_msg("t %d h %d x %d: got %g want %g", tq, h, x, g, o);
                }
            }
        }
    }
    assert_int_equal(st.flops[ZK_DT_F32], pairs * 4 * hd);
    free(sc); free(k); free(v); free(q); free(out);
}

static void test_kv_attention(void **state)
{
    ZkTestMem *t = *state;
    check_attention(t, 4, 4, 16, 4, 13, 1, ZK_DT_F32);     /* MHA decode */
    check_attention(t, 8, 2, 8, 16, 40, 1, ZK_DT_F32);     /* GQA */
    check_attention(t, 6, 3, 32, 8, 29, 5, ZK_DT_F16);     /* causal prefill */
    check_attention(t, 2, 1, 64, 1, 3, 3, ZK_DT_BF16);     /* block size 1 */
}

static void test_stats_bytes(void **state)
{
    ZkTestMem *t = *state;
    uint64_t a = zkt_alloc(t, 4096), d = zkt_alloc(t, 4096);
    Prog p = { .n = 0 };
    tdesc(&p, 0, a, 10, 20, 25, ZK_DT_F16);
    tdesc(&p, 1, d, 10, 20, 0, ZK_DT_F32);
    tensor(&p, ZK_OP_EUN, 1, 0, 0, 0, 0, 0, ZK_EU_SILU);
    emit(&p, ZK_OP_HALT, 0, 0, 0, 0);
    ZkEngineStats st;
    ZkFault f;
    assert_int_equal(run_prog(t, &p, NULL, 0, 1, 1, 1, 0, &st, &f, NULL), 0);
    assert_int_equal(st.bytes_read, 10 * 20 * 2);
    assert_int_equal(st.bytes_written, 10 * 20 * 4);
    assert_int_equal(st.flops[ZK_DT_F32], 10 * 20 * 3);
    assert_int_equal(st.insns, p.n);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_alu), T(test_imm_and_moves), T(test_load_store),
        T(test_branches), T(test_grid), T(test_lea_rodata), T(test_illegal),
        T(test_mmu_faults), T(test_budget_and_abort), T(test_matmul_float),
        T(test_matmul_i8), T(test_elementwise), T(test_rowwise), T(test_rope),
        T(test_reduce_embed_quant), T(test_kv_attention), T(test_stats_bytes),
    };
    srand(4242);
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
