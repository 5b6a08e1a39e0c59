/* SPDX-License-Identifier: MIT */
/*
 * test_zkcc.c - the kernel-language compiler (tools/zkcc, docs/zkcc.md):
 *   - exact error messages (line:column) for bad programs,
 *   - small programs compiled in memory and run on the engine against
 *     plain C (integer/fp32 scalar code, control flow, loads/stores),
 *   - the compiled kernel library (build/kernels/zkc_*.zko) against C
 *     references, and bit for bit against the hand-written kernels of the
 *     same name (build/kernels/NAME.zko).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "zhikai_hw.h"
#include "zk_asm.h"
#include "zk_dtype.h"
#include "zk_engine.h"
#include "zk_isa.h"
#include "zk_kernel_helpers.h"
#include "zk_obj.h"
#include "zk_testmem.h"
#include "zkcc.h"

static ZkTestMem T;

static int setup(void **s)
{
    (void)s;
    zkt_init(&T, 64u << 20);
    return 0;
}

static int teardown(void **s)
{
    (void)s;
    zkt_fini(&T);
    return 0;
}

/* ---------------------------------------------------------------- */
/* Compiling and running                                             */
/* ---------------------------------------------------------------- */
static uint8_t *compile(const char *src, size_t *len)
{
    uint8_t *obj;
    char err[512];
    if (zkcc_compile_obj(src, "t.zkc", &obj, len, err, sizeof(err))) {
        fail_msg("compile failed: %s", err);
    }
    return obj;
}

static uint8_t *read_obj(const char *lib, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.zko", ZK_KERNEL_DIR, lib);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail_msg("cannot open %s", path);
    }
    uint8_t *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* Launch kernel `name` of an object; returns zk_engine_launch's result. */
static int run(const uint8_t *obj, size_t len, const char *name, const uint64_t *args,
               uint32_t nargs, uint32_t gx, ZkFault *fault)
{
    char err[256];
    ZkObj o;
    if (zk_obj_load(obj, len, &o, err, sizeof(err))) {
        fail_msg("load: %s", err);
    }
    const ZkObjKernel *k = zk_obj_find(&o, name);
    if (!k) {
        fail_msg("no kernel %s", name);
    }
    assert_int_equal(k->desc.num_args, nargs);
    uint64_t code = zkt_alloc(&T, o.image_size), av = zkt_alloc(&T, 8 * nargs + 8);
    zkt_put(&T, code, o.image, o.image_size);
    zkt_put(&T, av, args, 8 * nargs);
    ZkLaunch l = { .code_va = code, .code_size = o.image_size, .entry = k->entry,
                   .grid = { gx, 1, 1 }, .args_va = av, .args_size = 8 * nargs,
                   .insn_budget = 10000000 };
    ZkEngineStats st;
    ZkFault f0;
    memset(&st, 0, sizeof(st));
    int r = zk_engine_launch(&T.ms, &l, &st, fault ? fault : &f0, NULL);
    zk_obj_free(&o);
    return r;
}

static int run_lib(const char *lib, const char *name, const uint64_t *args, uint32_t nargs,
                   uint32_t gx)
{
    size_t len;
    uint8_t *obj = read_obj(lib, &len);
    int r = run(obj, len, name, args, nargs, gx, NULL);
    free(obj);
    return r;
}

/* ---------------------------------------------------------------- */
/* (a) errors                                                        */
/* ---------------------------------------------------------------- */
/* 0 if src fails with exactly the message want; prints the difference. */
static int expect_error(const char *src, const char *want)
{
    char *text = (char *)1, err[512];
    int r = zkcc_compile(src, "t.zkc", &text, err, sizeof(err));
    if (r == 0) {
        free(text);
        print_message("# compiled, expected: %s\n", want);
        return 1;
    }
    if (text || strcmp(err, want)) {
        print_message("# got  \"%s\"\n# want \"%s\"\n", err, want);
        return 1;
    }
    return 0;
}

#define K1(body) "kernel k(p: ptr<f32> inout, n: u64, x: f32) {\n" body "\n}\n"

static void test_errors(void **s)
{
    (void)s;
    static const struct { const char *src, *msg; } cases[] = {
        /* lexer */
        { "kernel k() { let a = 1 $ 2; }", "t.zkc:1:24: error: unexpected character '$'" },
        { "kernel k() {\n  /* never closed\n}", "t.zkc:2:3: error: unterminated comment" },
        { "kernel k() { let a = 12ab; }", "t.zkc:1:22: error: bad number '12a'" },
        { "kernel k() { let a = 0x; }", "t.zkc:1:22: error: bad integer constant '0x'" },
        /* parser */
        { "", "t.zkc:1:1: error: no kernel in the file" },
        { "kernal k() {}", "t.zkc:1:1: error: expected 'kernel' or 'const', found 'kernal'" },
        { "kernel k() { let a = 1 }", "t.zkc:1:24: error: expected ';', found '}'" },
        { "kernel k() {\n  let a = (1 + 2;\n}", "t.zkc:2:17: error: expected ')', found ';'" },
        { "kernel k() {\n  let = 3;\n}", "t.zkc:2:7: error: expected a variable name, found '='" },
        { "kernel k() {\n  if 1 { }", "t.zkc:1:12: error: '{' is never closed" },
        { "kernel k(a: ptr<f32>) {}",
          "t.zkc:1:21: error: pointer argument 'a' needs an access mode: in, out or inout" },
        { "kernel k(a: ptr<f64> in) {}",
          "t.zkc:1:17: error: expected an element type (f32, f16, bf16, i8, i32), found 'f64'" },
        { "kernel k(a: u32) {}",
          "t.zkc:1:13: error: expected a type (u64, i64, f32 or ptr<T>), found 'u32'" },
        { "kernel k(a: u64, a: u64) {}", "t.zkc:1:18: error: duplicate argument 'a'" },
        { K1("  let a = n < 1 < 2;"),
          "t.zkc:2:17: error: comparisons cannot be chained; use parentheses or &&" },
        { K1("  3 = n;"), "t.zkc:2:5: error: left side of '=' must be a variable or p[i]" },
        { K1("  else { }"), "t.zkc:2:3: error: 'else' without 'if'" },
        { K1("  let v = load(p);"), "t.zkc:2:11: error: 'load' needs a type: load<T>(...)" },
        { K1("  let v = load<u128>(p);"),
          "t.zkc:2:16: error: expected a scalar type (u8, u16, u32, u64, i8, i16, i32, i64, f32), "
          "found 'u128'" },
        /* names and types */
        { K1("  let a = b + 1;"), "t.zkc:2:11: error: undefined name 'b'" },
        { K1("  let a = 1;\n  let a = 2;"), "t.zkc:3:3: error: 'a' is already defined in this scope" },
        { K1("  n = 3;"),
          "t.zkc:2:3: error: cannot assign to argument 'n' (copy it into a variable with let)" },
        { "const C = 4;\n" K1("  C = 3;"), "t.zkc:3:3: error: cannot assign to constant 'C'" },
        { K1("  for i in 0 .. n { i = 2; }"), "t.zkc:2:21: error: cannot assign to loop variable 'i'" },
        { K1("  let a = n + x;"),
          "t.zkc:2:13: error: mismatched operand types for '+': u64 and f32" },
        { K1("  let a = x % 2.0;"), "t.zkc:2:13: error: operator '%' is not defined for f32" },
        { K1("  let a: i64 = 5;\n  let b = a / 2;"),
          "t.zkc:3:13: error: operator '/' is not defined for i64 (the card has no signed "
          "division; convert with u64(...))" },
        { K1("  let a = p * 2;"),
          "t.zkc:2:13: error: operator '*' is not defined for ptr<f32> and integer constant" },
        { K1("  let a: f32 = n;"),
          "t.zkc:2:16: error: cannot initialise 'a' of type f32 with a value of type u64" },
        { K1("  let a = 1;\n  a = x;"),
          "t.zkc:3:7: error: cannot assign a value of type f32 to 'a' of type u64" },
        { K1("  if x { }"),
          "t.zkc:2:6: error: condition must be an integer or a comparison, not f32" },
        { K1("  let a = n[2];"), "t.zkc:2:12: error: only pointers can be indexed, not u64" },
        { K1("  let a = p[x];"), "t.zkc:2:13: error: index must be an integer, not f32" },
        { K1("  let a = foo(1);"), "t.zkc:2:11: error: unknown function 'foo'" },
        { K1("  let a = min(1);"), "t.zkc:2:11: error: 'min' takes 2 arguments, got 1" },
        { K1("  let a = grid.w;"), "t.zkc:2:11: error: unknown builtin 'grid.w'" },
        { K1("  let a = store<u32>(p, 1);"), "t.zkc:2:11: error: 'store' does not produce a value" },
        { K1("  min(n, 2);"), "t.zkc:2:3: error: result of 'min' is unused" },
        { K1("  n + 1;"), "t.zkc:2:5: error: expression statement has no effect" },
        { K1("  store<f32>(p, n);"), "t.zkc:2:17: error: cannot store u64 as f32" },
        { K1("  break;"), "t.zkc:2:3: error: 'break' outside a loop" },
        { K1("  for i in 0 .. x { }"), "t.zkc:2:17: error: loop bounds must be integers, not f32" },
        { K1("  for i in 0 .. n step 0 { }"),
          "t.zkc:2:24: error: loop step must be a non-zero 32-bit constant or a variable" },
        { "const C = n;\n" K1(""), "t.zkc:1:11: error: undefined name 'n'" },
        { "kernel k() {}\nkernel k() {}", "t.zkc:2:1: error: kernel 'k' is defined twice" },
        /* tensors */
        { K1("  let t = tensor(n, 1, 2);"),
          "t.zkc:2:18: error: first argument of 'tensor' must be a pointer, not u64" },
        { K1("  let t = tensor(p, 1);"),
          "t.zkc:2:11: error: 'tensor' takes 3 or 4 arguments (ptr, rows, cols[, stride]), got 2" },
        { K1("  let t = tensor(p, 1, x);"),
          "t.zkc:2:24: error: argument 3 of 'tensor' must be an integer, not f32" },
        { K1("  let t = tensor(p, 1, 2);\n  let a = t + 1;"),
          "t.zkc:3:11: error: a tensor can only be an operand of a tensor operation" },
        { K1("  let t = tensor(p, 1, 2);\n  let u = t;"),
          "t.zkc:3:11: error: a tensor variable can only be initialised with tensor(...)" },
        { K1("  tadd(tensor(p, 1, n), tensor(p, 1, n));"),
          "t.zkc:2:3: error: 'tadd' takes 3 tensor operands, got 2" },
        { K1("  tadd(tensor(p, 1, n), n, tensor(p, 1, n));"),
          "t.zkc:2:25: error: argument 2 of 'tadd' must be a tensor, not u64" },
        { K1("  rmsnorm(tensor(p, 1, n), tensor(p, 1, n), tensor(p, 1, n));"),
          "t.zkc:2:3: error: 'rmsnorm' needs 1 scalar operand (eps), got 0" },
        { K1("  rmsnorm(tensor(p, 1, n), tensor(p, 1, n), tensor(p, 1, n), n);"),
          "t.zkc:2:62: error: scalar operand 1 of 'rmsnorm' must be f32, not u64" },
        { K1("  tscale(tensor(p, 1, n), tensor(p, 1, n), x, x, x);"),
          "t.zkc:2:50: error: too many scalar operands for 'tscale' (alpha, beta)" },
        { K1("  softmax(tensor(p, 1, n), tensor(p, 1, n), bt);"),
          "t.zkc:2:45: error: undefined name 'bt'" },
        { K1("  matmul(tensor(p, 1, n), tensor(p, 1, n), tensor(p, 1, n), tensor(p, 1, n));"),
          "t.zkc:2:3: error: 'matmul' takes 3 tensors, or 5 with dequantisation scales, got 4" },
        { K1("  let t0 = tensor(p, 1, n);\n  let t1 = tensor(p, 1, n);\n"
             "  let t2 = tensor(p, 1, n);\n  let t3 = tensor(p, 1, n);\n"
             "  let t4 = tensor(p, 1, n);\n  let t5 = tensor(p, 1, n);\n"
             "  let t6 = tensor(p, 1, n);\n  let t7 = tensor(p, 1, n);\n"
             "  tadd(t0, t1, tensor(p, 1, n));"),
          "t.zkc:10:16: error: too many tensors live at once (the card has 8 descriptors)" },
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bad += expect_error(cases[i].src, cases[i].msg);
    }
    assert_int_equal(bad, 0);
}

/* Running out of registers is an error, not wrong code. */
static void test_register_pressure(void **s)
{
    (void)s;
    char src[8192], err[512], *text;
    /* 31 live variables fill r1..r31: the 32nd does not fit */
    int n = snprintf(src, sizeof(src), "kernel k(n: u64) {\n");
    for (int i = 0; i < 32; i++) {
        n += snprintf(src + n, sizeof(src) - (size_t)n, "  let v%d = n + %d;\n", i, i);
    }
    snprintf(src + n, sizeof(src) - (size_t)n, "}\n");
    assert_int_equal(zkcc_compile(src, "t.zkc", &text, err, sizeof(err)), -1);
    assert_string_equal(err, "t.zkc:33:15: error: expression too complex: out of scalar registers");
    /* A deep expression needs few registers (the deeper operand goes first,
     * into the destination): 40 levels in both directions compile. */
    n = snprintf(src, sizeof(src), "kernel k(n: u64, o: ptr<i32> out) {\n  o[0] = ");
    for (int i = 0; i < 40; i++) n += snprintf(src + n, sizeof(src) - (size_t)n, "n * (");
    n += snprintf(src + n, sizeof(src) - (size_t)n, "n");
    for (int i = 0; i < 40; i++) n += snprintf(src + n, sizeof(src) - (size_t)n, " - 1)");
    n += snprintf(src + n, sizeof(src) - (size_t)n, ";\n  o[1] = n");
    for (int i = 0; i < 40; i++) n += snprintf(src + n, sizeof(src) - (size_t)n, " + n * %d", i);
    snprintf(src + n, sizeof(src) - (size_t)n, ";\n}\n");
    size_t len;
    uint8_t *obj = compile(src, &len);
    uint64_t vo = zkt_alloc(&T, 8);
    uint64_t args[] = { 2, vo };
    assert_int_equal(run(obj, len, "k", args, 2, 1, NULL), 0);
    int32_t o2[2];
    zkt_get(&T, vo, o2, sizeof(o2));
    uint64_t want = 2;
    for (int i = 0; i < 40; i++) want = 2 * (want - 1);
    assert_int_equal(o2[0], (int32_t)(uint32_t)want);
    assert_int_equal(o2[1], 2 + 2 * (39 * 40 / 2));
    free(obj);
    /* Registers come back at the end of each block: 40 variables in turn */
    n = snprintf(src, sizeof(src), "kernel k(n: u64, o: ptr<i32> out) {\n");
    for (int l = 0; l < 40; l++) {
        n += snprintf(src + n, sizeof(src) - (size_t)n, "  {\n    let a%d = ", l);
        for (int i = 0; i < 10; i++) n += snprintf(src + n, sizeof(src) - (size_t)n, "n + (");
        n += snprintf(src + n, sizeof(src) - (size_t)n, "%d", l);
        for (int i = 0; i < 10; i++) n += snprintf(src + n, sizeof(src) - (size_t)n, ")");
        n += snprintf(src + n, sizeof(src) - (size_t)n, ";\n    o[%d] = a%d;\n  }\n", l, l);
    }
    snprintf(src + n, sizeof(src) - (size_t)n, "}\n");
    obj = compile(src, &len);
    vo = zkt_alloc(&T, 40 * 4);
    uint64_t args2[] = { 3, vo };
    assert_int_equal(run(obj, len, "k", args2, 2, 1, NULL), 0);
    int32_t got[40];
    zkt_get(&T, vo, got, sizeof(got));
    for (int l = 0; l < 40; l++) assert_int_equal(got[l], 30 + l);
    free(obj);
}

/* ---------------------------------------------------------------- */
/* (b) programs run on the engine                                    */
/* ---------------------------------------------------------------- */
static void test_example_and_asm(void **s)
{
    (void)s;
    /* The example of docs/zkcc.md, through -S and the assembler. */
    static const char src[] =
        "// vector add: each workgroup handles a slice of n elements\n"
        "kernel vector_add(a: ptr<f32> in, b: ptr<f32> in, out: ptr<f32> out, n: u64) {\n"
        "    let per = (n + grid.x - 1) / grid.x;\n"
        "    let start = wg.x * per;\n"
        "    if start < n {\n"
        "        let len = min(per, n - start);\n"
        "        tadd(tensor(out + start, 1, len), tensor(a + start, 1, len),\n"
        "             tensor(b + start, 1, len));\n"
        "    }\n"
        "}\n";
    char *text, err[512];
    assert_int_equal(zkcc_compile(src, "va.zkc", &text, err, sizeof(err)), 0);
    assert_non_null(strstr(text, ".kernel vector_add\n.arg a ptr f32 r\n.arg b ptr f32 r\n"
                                 ".arg out ptr f32 w\n.arg n u64\n"));
    assert_non_null(strstr(text, "    # 5: if start < n {\n"));
    assert_non_null(strstr(text, "tadd t0, t1, t2\n"));
    uint8_t *obj;
    size_t len;
    assert_int_equal(zk_asm(text, "va.zks", &obj, &len, err, sizeof(err)), 0);
    free(text);
    enum { N = 1001 };
    float a[N], b[N], got[N];
    uint64_t va = zkt_put_rand(&T, a, N), vb = zkt_put_rand(&T, b, N), vo = zkt_alloc(&T, N * 4);
    for (uint32_t g = 1; g <= 8; g++) {
        memset(got, 0, sizeof(got));
        zkt_put(&T, vo, got, sizeof(got));
        uint64_t args[] = { va, vb, vo, N };
        assert_int_equal(run(obj, len, "vector_add", args, 4, g, NULL), 0);
        zkt_get(&T, vo, got, sizeof(got));
        for (int i = 0; i < N; i++) assert_true(got[i] == a[i] + b[i]);
    }
    free(obj);
}

static void test_integer_code(void **s)
{
    (void)s;
    static const char src[] =
        "const K = 3;\n"
        "const BIG = 0x123456789;\n"
        "kernel ints(out: ptr<i32> out, n: u64) {\n"
        "    for i in 0 .. n {\n"
        "        let x = i * 7 + 3;\n"
        "        let y = (x << 2) ^ (x >> 1) | (x & 12);\n"
        "        let z = x / K + x % 5 - min(x, 20) + max(i, 10) + x * 8 + x / 4 + x % 16;\n"
        "        if x > 50 && !(i == 9) || i == 2 {\n"
        "            z += 1000;\n"
        "        } else if x <= 10 {\n"
        "            z -= 1;\n"
        "        }\n"
        "        z = z * 3 + ~y + (BIG >> 4) + x / (i + 1) + x % (i + 2);\n"
        "        store<u64>(u64(out) + i * 8, z);\n"
        "        out[2 * n + i] = y - z;\n"
        "    }\n"
        "}\n"
        "kernel signed_ops(out: ptr<i32> out, n: u64) {\n"
        "    for i in 0 .. n {\n"
        "        let s: i64 = i64(i) - 5;\n"
        "        let t = s >> 1;\n"
        "        let c = 0;\n"
        "        if s < -2 { c = 1; }\n"
        "        let m = min(s, -2) + max(s, 1);\n"
        "        out[3 * i] = t * 100 + m;\n"
        "        out[3 * i + 1] = c + (s >= 0) * 2;\n"
        "        out[3 * i + 2] = -s * 3;\n"
        "    }\n"
        "}\n";
    size_t len;
    uint8_t *obj = compile(src, &len);
    enum { N = 20 };
    uint64_t vo = zkt_alloc(&T, N * 12 + 64);
    uint64_t args[] = { vo, N };
    assert_int_equal(run(obj, len, "ints", args, 2, 1, NULL), 0);
    uint64_t got64[N];
    int32_t got32[N];
    zkt_get(&T, vo, got64, sizeof(got64));
    zkt_get(&T, vo + 8 * N, got32, sizeof(got32));
    for (uint64_t i = 0; i < N; i++) {
        uint64_t x = i * 7 + 3;
        uint64_t y = ((x << 2) ^ (x >> 1)) | (x & 12);
        uint64_t z = x / 3 + x % 5 - (x < 20 ? x : 20) + (i > 10 ? i : 10) + x * 8 + x / 4 + x % 16;
        if ((x > 50 && !(i == 9)) || i == 2) z += 1000;
        else if (x <= 10) z -= 1;
        z = z * 3 + ~y + (0x123456789ull >> 4) + x / (i + 1) + x % (i + 2);
        assert_int_equal(got64[i], z);
        assert_int_equal(got32[i], (int32_t)(uint32_t)(y - z));
    }
    assert_int_equal(run(obj, len, "signed_ops", args, 2, 1, NULL), 0);
    int32_t sg[3 * N];
    zkt_get(&T, vo, sg, sizeof(sg));
    for (int64_t i = 0; i < N; i++) {
        int64_t sv = i - 5, t = sv >> 1;
        int64_t m = (sv < -2 ? sv : -2) + (sv > 1 ? sv : 1);
        assert_int_equal(sg[3 * i], (int32_t)(t * 100 + m));
        assert_int_equal(sg[3 * i + 1], (sv < -2) + (sv >= 0) * 2);
        assert_int_equal(sg[3 * i + 2], (int32_t)(-sv * 3));
    }
    free(obj);
}

static void test_float_code(void **s)
{
    (void)s;
    static const char src[] =
        "const HALF = 0.5;\n"
        "kernel floats(x: ptr<f32> in, out: ptr<f32> out, n: u64, alpha: f32) {\n"
        "    let acc = 0.0;\n"
        "    let mx = -1000.0;\n"
        "    let mn = 1000.0;\n"
        "    for i in 0 .. n {\n"
        "        let v = x[i];\n"
        "        acc += v * alpha;\n"
        "        mx = max(mx, v);\n"
        "        mn = min(v, mn);\n"
        "        let y = -v / 2 + 1;\n"
        "        if v < 0.0 && v != -0.25 { y = y * 3; }\n"
        "        if v >= HALF { y = y - HALF; }\n"
        "        out[i] = y;\n"
        "    }\n"
        "    out[n] = acc;\n"
        "    out[n + 1] = mx;\n"
        "    out[n + 2] = sqrt(f32(n));\n"
        "    store<f32>(out + n + 3, f32(i64(acc * 100.0)));\n"
        "    out[n + 4] = mn;\n"
        "    out[n + 5] = f32(mx > mn) + f32((mx <= mn) * 2);\n"
        "}\n";
    size_t len;
    uint8_t *obj = compile(src, &len);
    enum { N = 50 };
    float x[N], got[N + 6], want[N + 6];
    uint64_t vx = zkt_put_rand(&T, x, N), vo = zkt_alloc(&T, sizeof(got));
    float alpha = 1.75f;
    uint64_t args[] = { vx, vo, N, zk_f32_bits(alpha) };
    assert_int_equal(run(obj, len, "floats", args, 4, 1, NULL), 0);
    zkt_get(&T, vo, got, sizeof(got));
    float acc = 0, mx = -1000, mn = 1000;
    for (int i = 0; i < N; i++) {
        float v = x[i];
        acc += v * alpha;
        mx = fmaxf(mx, v);
        mn = fminf(v, mn);
        float y = -v / 2 + 1;
        if (v < 0 && v != -0.25f) y = y * 3;
        if (v >= 0.5f) y = y - 0.5f;
        want[i] = y;
    }
    want[N] = acc;
    want[N + 1] = mx;
    want[N + 2] = sqrtf((float)N);
    want[N + 3] = (float)(int64_t)(acc * 100.0f);
    want[N + 4] = mn;
    want[N + 5] = 1.0f;
    assert_memory_equal(got, want, sizeof(got));
    free(obj);
}

static void test_control_flow(void **s)
{
    (void)s;
    static const char src[] =
        "kernel flow(out: ptr<i32> out, n: u64) {\n"
        "    let i = 0;\n"
        "    let s = 0;\n"
        "    while 1 {\n"
        "        i += 1;\n"
        "        if i > n { break; }\n"
        "        if i % 3 == 0 { continue; }\n"
        "        s += i;\n"
        "    }\n"
        "    out[0] = s;\n"
        "    let cnt = 0;\n"
        "    for a in 0 .. 10 { for b in 0 .. 10 { if b > a { break; } cnt += 1; } }\n"
        "    out[1] = cnt;\n"
        "    // && and || short-circuit: p[0] would fault\n"
        "    let p = ptr<i32>(0);\n"
        "    let z = 0;\n"
        "    if n > 100 && p[0] == 1 { z = 1; }\n"
        "    out[2] = z + 7;\n"
        "    let v = n > 3 || p[0] == 5;\n"
        "    out[3] = v;\n"
        "    out[4] = (n == 10) + (n != 10) * 2 + (n <= 10) * 4 + (n >= 11) * 8;\n"
        "    let w = 0;\n"
        "    for k in 10 .. 0 { w = 1; }\n"
        "    for k in 0 .. 20 step 7 { w += k; }\n"
        "    out[6] = w;\n"
        "    if n > 5 { return; }\n"
        "    out[5] = 99;\n"
        "}\n";
    size_t len;
    uint8_t *obj = compile(src, &len);
    uint64_t vo = zkt_alloc(&T, 64);
    for (uint64_t n = 4; n <= 10; n += 6) {
        int32_t got[7] = { -1, -1, -1, -1, -1, -1, -1 };
        zkt_put(&T, vo, got, sizeof(got));
        uint64_t args[] = { vo, n };
        ZkFault f = { 0 };
        assert_int_equal(run(obj, len, "flow", args, 2, 1, &f), 0);
        zkt_get(&T, vo, got, sizeof(got));
        int32_t sum = 0;
        for (uint64_t i = 1; i <= n; i++) sum += i % 3 ? (int32_t)i : 0;
        assert_int_equal(got[0], sum);
        assert_int_equal(got[1], 55);
        assert_int_equal(got[2], 7);
        assert_int_equal(got[3], 1);
        assert_int_equal(got[4], n == 10 ? 1 + 4 : 2 + 4);
        assert_int_equal(got[5], n > 5 ? -1 : 99);
        assert_int_equal(got[6], 0 + 7 + 14);
    }
    free(obj);
}

/* Scalar loads and stores of every width, and a fault at the right VA. */
static void test_memory(void **s)
{
    (void)s;
    static const char src[] =
        "kernel mem(src: ptr<i8> in, dst: ptr<i8> out) {\n"
        "    store<u64>(dst, load<u8>(src) + u64(load<i8>(src + 1)));\n"
        "    store<u64>(dst + 8, load<u16>(src + 2));\n"
        "    store<i64>(dst + 16, load<i16>(src + 2));\n"
        "    store<u64>(dst + 24, load<u32>(src + 4));\n"
        "    store<i64>(dst + 32, load<i32>(src + 4));\n"
        "    store<u64>(dst + 40, load<u64>(u64(src) + 8));\n"
        "    store<u32>(dst + 48, 0xdeadbeef);\n"
        "    store<u16>(dst + 52, 0x1234);\n"
        "    store<u8>(dst + 54, 0x56);\n"
        "    store<f32>(dst + 56, f32(load<i8>(src + 1)));\n"
        "    let h = ptr<f16>(src + 16);\n"
        "    let q = ptr<f16>(dst + 60);\n"
        "    q[0] = h[1];\n"
        "}\n"
        "kernel bad(p: ptr<f32> in, off: u64) {\n"
        "    let v = p[off];\n"
        "    store<f32>(p, v);\n"
        "}\n";
    size_t len;
    uint8_t *obj = compile(src, &len);
    uint8_t in[32] = { 200, 0xfe, 0x01, 0x80, 0xff, 0xff, 0xff, 0xff,
                       1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x00, 0x3c };
    uint64_t vi = zkt_alloc(&T, sizeof(in)), vo = zkt_alloc(&T, 64);
    zkt_put(&T, vi, in, sizeof(in));
    uint64_t args[] = { vi, vo };
    assert_int_equal(run(obj, len, "mem", args, 2, 1, NULL), 0);
    uint8_t o[64];
    zkt_get(&T, vo, o, sizeof(o));
    uint64_t w[6];
    memcpy(w, o, sizeof(w));
    assert_int_equal(w[0], 200 - 2);
    assert_int_equal(w[1], 0x8001);
    assert_int_equal((int64_t)w[2], (int16_t)0x8001);
    assert_int_equal(w[3], 0xffffffffu);
    assert_int_equal((int64_t)w[4], -1);
    assert_int_equal(w[5], 0x0807060504030201ull);
    uint32_t u32;
    uint16_t u16;
    float f;
    memcpy(&u32, o + 48, 4);
    memcpy(&u16, o + 52, 2);
    memcpy(&f, o + 56, 4);
    assert_int_equal(u32, 0xdeadbeefu);
    assert_int_equal(u16, 0x1234);
    assert_int_equal(o[54], 0x56);
    assert_true(f == -2.0f);
    assert_int_equal(o[60] | o[61] << 8, 0x3c00);
    /* out of bounds p[off]: MMU read fault at exactly p + off*4 */
    uint64_t vp = zkt_alloc(&T, 4096);
    uint64_t bargs[] = { vp, 1024 };
    ZkFault fault = { 0 };
    assert_int_not_equal(run(obj, len, "bad", bargs, 2, 1, &fault), 0);
    assert_int_equal(fault.type, ZK_FAULT_MMU_READ);
    assert_int_equal(fault.va, vp + 4096);
    free(obj);
}

/* Tensor variables, strides and loops: a tiled transpose-free copy. */
static void test_tensor_vars(void **s)
{
    (void)s;
    static const char src[] =
        "kernel tiles(x: ptr<f32> in, out: ptr<f32> out, rows: u64, cols: u64) {\n"
        "    // out = 2*x + 1 by 3x4 tiles of a strided view, then out += x in place\n"
        "    for r in 0 .. rows step 3 {\n"
        "        for c in 0 .. cols step 4 {\n"
        "            let h = min(3, rows - r);\n"
        "            let w = min(4, cols - c);\n"
        "            let src = tensor(x + r * cols + c, h, w, cols);\n"
        "            let dst = tensor(out + r * cols + c, h, w, cols);\n"
        "            tscale(dst, src, 2.0, 1);\n"
        "        }\n"
        "    }\n"
        "    let all = tensor(out, rows, cols);\n"
        "    tadd(all, all, tensor(x, rows, cols));\n"
        "}\n";
    size_t len;
    uint8_t *obj = compile(src, &len);
    enum { R = 7, C = 10 };
    float x[R * C], got[R * C], want[R * C];
    uint64_t vx = zkt_put_rand(&T, x, R * C), vo = zkt_alloc(&T, sizeof(got));
    uint64_t args[] = { vx, vo, R, C };
    assert_int_equal(run(obj, len, "tiles", args, 4, 1, NULL), 0);
    zkt_get(&T, vo, got, sizeof(got));
    for (int i = 0; i < R * C; i++) want[i] = (x[i] * 2.0f + 1.0f) + x[i];
    zkt_close_all(got, want, R * C, 1e-6f);
    free(obj);
}

/* The library, compiled at build time, against C references. */
static void test_library_vs_c(void **s)
{
    (void)s;
    enum { R = 5, C = 37, N = R * C };
    float a[N], b[N], got[N], want[N];
    uint64_t va = zkt_put_rand(&T, a, N), vb = zkt_put_rand(&T, b, N), vo = zkt_alloc(&T, N * 4);
    static const char *names[] = { "add_f32", "mul_f32", "swiglu_f32", "silu_f32",
                                   "gelu_f32", "exp_f32", "relu_f32", "scale_f32" };
    for (int k = 0; k < 8; k++) {
        for (uint32_t g = 1; g <= 6; g += 5) {
            uint64_t bin[] = { va, vb, vo, R, C };
            uint64_t un[] = { va, vo, R, C, zk_f32_bits(0.5f), zk_f32_bits(2.0f) };
            memset(got, 0, sizeof(got));
            zkt_put(&T, vo, got, sizeof(got));
            int r = k < 3 ? run_lib("zkc_elementwise", names[k], bin, 5, g)
                          : run_lib("zkc_elementwise", names[k], un, k == 7 ? 6 : 4, g);
            assert_int_equal(r, 0);
            zkt_get(&T, vo, got, sizeof(got));
            for (int i = 0; i < N; i++) {
                float x = a[i], y = b[i], sil = x / (1.0f + expf(-x));
                want[i] = k == 0 ? x + y : k == 1 ? x * y : k == 2 ? sil * y : k == 3 ? sil
                        : k == 4 ? 0.5f * x * (1.0f + tanhf(0.7978845608028654f *
                                                            (x + 0.044715f * x * x * x)))
                        : k == 5 ? expf(x) : k == 6 ? (x > 0 ? x : 0) : x * 0.5f + 2.0f;
            }
            zkt_close_all(got, want, N, 0.0f);
        }
    }
    /* rmsnorm: tensor op and the scalar version, softmax */
    enum { RR = 6, RC = 64 };
    float x[RR * RC], w[RC], o[RR * RC], ref[RR * RC];
    uint64_t vx = zkt_put_rand(&T, x, RR * RC), vw = zkt_put_rand(&T, w, RC), vr = zkt_alloc(&T, sizeof(o));
    for (int r = 0; r < RR; r++) {
        double ss = 0;
        for (int c = 0; c < RC; c++) ss += (double)x[r * RC + c] * x[r * RC + c];
        for (int c = 0; c < RC; c++)
            ref[r * RC + c] = (float)(w[c] * x[r * RC + c] / sqrt(ss / RC + 1e-5));
    }
    for (int scalar = 0; scalar < 2; scalar++) {
        for (uint32_t g = 1; g <= 4; g += 3) {
            uint64_t args[] = { vx, vw, vr, RR, RC, zk_f32_bits(1e-5f) };
            memset(o, 0, sizeof(o));
            zkt_put(&T, vr, o, sizeof(o));
            assert_int_equal(run_lib("zkc_rowops", scalar ? "rmsnorm_scalar_f32" : "rmsnorm_f32",
                                     args, 6, g), 0);
            zkt_get(&T, vr, o, sizeof(o));
            zkt_close_all(o, ref, RR * RC, 2e-5f);
        }
    }
    uint64_t sargs[] = { vx, vr, RR, RC };
    assert_int_equal(run_lib("zkc_rowops", "softmax_f32", sargs, 4, 2), 0);
    zkt_get(&T, vr, o, sizeof(o));
    for (int r = 0; r < RR; r++) {
        double mx = -INFINITY, z = 0;
        for (int c = 0; c < RC; c++) mx = fmax(mx, x[r * RC + c]);
        for (int c = 0; c < RC; c++) z += exp(x[r * RC + c] - mx);
        for (int c = 0; c < RC; c++) ref[r * RC + c] = (float)(exp(x[r * RC + c] - mx) / z);
    }
    zkt_close_all(o, ref, RR * RC, 2e-5f);
    /* gemm_f32 and the tiled version, with sizes that are not tile multiples */
    enum { M = 70, GN = 130, K = 100 };
    float *ga = malloc(sizeof(float) * M * K), *gb = malloc(sizeof(float) * K * GN);
    float *gc = malloc(sizeof(float) * M * GN), *gr = malloc(sizeof(float) * M * GN);
    assert_non_null(ga);
    assert_non_null(gb);
    assert_non_null(gc);
    assert_non_null(gr);
    uint64_t vga = zkt_put_rand(&T, ga, M * K), vgb = zkt_put_rand(&T, gb, K * GN);
    uint64_t vgc = zkt_alloc(&T, sizeof(float) * M * GN);
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < GN; j++) {
            double acc = 0;
            for (int p = 0; p < K; p++) acc += (double)ga[i * K + p] * gb[p * GN + j];
            gr[i * GN + j] = (float)acc;
        }
    }
    for (int tiled = 0; tiled < 2; tiled++) {
        for (uint32_t g = 1; g <= 3; g += 2) {
            memset(gc, 0, sizeof(float) * M * GN);
            zkt_put(&T, vgc, gc, sizeof(float) * M * GN);
            uint64_t args[] = { vga, vgb, vgc, M, GN, K };
            assert_int_equal(run_lib("zkc_gemm", tiled ? "gemm_f32_tiled" : "gemm_f32",
                                     args, 6, g), 0);
            zkt_get(&T, vgc, gc, sizeof(float) * M * GN);
            zkt_close_all(gc, gr, M * GN, 1e-5f * K);
        }
    }
    free(ga);
    free(gb);
    free(gc);
    free(gr);
}

/* ---------------------------------------------------------------- */
/* (c) compiled library == hand-written library, bit for bit         */
/* ---------------------------------------------------------------- */
typedef struct KCase {
    const char *lib, *name;
    uint64_t scalars[12];       /* the non-pointer arguments, in order */
    uint32_t grid;              /* for the compiled kernel, and for the hand-written
                                   one if it splits too (elementwise, gemm); the
                                   hand-written rowops/attention run with grid 1 */
} KCase;

/* f32 bit patterns: 0.5, -2.0, 1e-5 */
#define F_HALF 0x3f000000u
#define F_M2 0xc0000000u
#define F_EPS 0x3727c5acu

static const KCase kcases[] = {
    { "elementwise", "vector_add", { 1001 }, 3 },
    { "elementwise", "add_f32", { 5, 37 }, 2 },
    { "elementwise", "mul_f32", { 5, 37 }, 2 },
    { "elementwise", "swiglu_f32", { 5, 37 }, 2 },
    { "elementwise", "silu_f32", { 5, 37 }, 4 },
    { "elementwise", "gelu_f32", { 5, 37 }, 4 },
    { "elementwise", "exp_f32", { 5, 37 }, 1 },
    { "elementwise", "relu_f32", { 5, 37 }, 1 },
    { "elementwise", "scale_f32", { 5, 37, F_HALF, F_M2 }, 2 },
    { "rowops", "softmax_f32", { 4, 64 }, 1 },
    { "rowops", "softmax_f32", { 4, 64 }, 3 },
    { "rowops", "rmsnorm_f32", { 4, 64, F_EPS }, 2 },
    { "rowops", "layernorm_f32", { 4, 64, F_EPS }, 2 },
    { "rowops", "argmax_f32", { 4, 64 }, 3 },
    { "rowops", "rope_f32", { 4, 64, 5, 16 }, 2 },
    { "rowops", "embedding_f32", { 4, 64, 10 }, 2 },
    { "rowops", "quantize_i8", { 4, 64 }, 2 },
    { "rowops", "dequantize_i8", { 4, 64 }, 2 },
    { "gemm", "gemm_f32", { 9, 13, 21 }, 4 },
    { "gemm", "gemm_f16", { 9, 13, 21 }, 1 },
    { "gemm", "gemm_bf16", { 9, 13, 21 }, 2 },
    { "gemm", "gemm_f32_bt", { 9, 13, 21 }, 3 },
    { "gemm", "gemm_f16_bt", { 9, 13, 21 }, 2 },
    { "gemm", "gemm_bf16_bt", { 9, 13, 21 }, 1 },
    { "gemm", "gemm_i8_bt", { 9, 13, 21 }, 2 },
    { "gemm", "gemm_i8_deq_bt", { 9, 13, 21 }, 5 },
    { "attention", "kv_write_f32", { 10, 0, 16, 4, 6 }, 1 },
    { "attention", "kv_write_f16", { 3, 7, 16, 4, 6 }, 1 },
    { "attention", "paged_attention_f32", { 2, 4, 2, 8, 11, 4, 6 }, 1 },
    { "attention", "paged_attention_f16", { 1, 4, 2, 8, 11, 4, 6 }, 1 },
};

#define BUF 16384

/* Random contents valid for the element type (i32: small indices). */
static void fill(uint8_t *h, unsigned dt, size_t bytes)
{
    for (size_t i = 0; i < bytes; i += zk_dt_size(dt)) {
        float f = zkt_frand();
        if (dt == ZK_DT_I32) {
            int32_t v = rand() % 4;
            memcpy(h + i, &v, 4);
        } else if (dt == ZK_DT_I8) {
            h[i] = (uint8_t)rand();
        } else {
            zk_store_row(h + i, dt, &f, 1);
        }
    }
}

static void test_same_as_handwritten(void **s)
{
    (void)s;
    static uint8_t init[ZK_MAX_ARGS][BUF], out_hand[ZK_MAX_ARGS][BUF], out_zkc[ZK_MAX_ARGS][BUF];
    for (size_t c = 0; c < sizeof(kcases) / sizeof(kcases[0]); c++) {
        const KCase *kc = &kcases[c];
        char zlib[64];
        snprintf(zlib, sizeof(zlib), "zkc_%s", kc->lib);
        size_t hlen, zlen;
        uint8_t *hobj = read_obj(kc->lib, &hlen), *zobj = read_obj(zlib, &zlen);
        ZkObj ho, zo;
        char err[256];
        assert_int_equal(zk_obj_load(hobj, hlen, &ho, err, sizeof(err)), 0);
        assert_int_equal(zk_obj_load(zobj, zlen, &zo, err, sizeof(err)), 0);
        const ZkObjKernel *hk = zk_obj_find(&ho, kc->name), *zk = zk_obj_find(&zo, kc->name);
        assert_non_null(hk);
        if (!zk) {
            fail_msg("%s has no kernel %s", zlib, kc->name);
        }
        /* Same argument list: names, kinds, dtypes, access. */
        assert_int_equal(hk->desc.num_args, zk->desc.num_args);
        assert_memory_equal(hk->desc.args, zk->desc.args,
                            sizeof(hk->desc.args[0]) * hk->desc.num_args);
        uint32_t nargs = hk->desc.num_args;
        /* BLAS rounding depends on the tile shapes: same split for gemm */
        uint32_t hgrid = !strcmp(kc->lib, "elementwise") || !strcmp(kc->lib, "gemm")
                         ? kc->grid : 1;
        uint64_t bufs[ZK_MAX_ARGS] = { 0 }, args[ZK_MAX_ARGS];
        uint32_t ns = 0;
        for (uint32_t i = 0; i < nargs; i++) {
            const struct zk_arg_desc *ad = &hk->desc.args[i];
            if (ad->kind == ZK_ARG_PTR) {
                fill(init[i], ad->dtype, BUF);
                bufs[i] = zkt_alloc(&T, BUF);
                args[i] = bufs[i];
            } else {
                args[i] = kc->scalars[ns++];
            }
        }
        for (int pass = 0; pass < 2; pass++) {
            for (uint32_t i = 0; i < nargs; i++) {
                if (bufs[i]) zkt_put(&T, bufs[i], init[i], BUF);
            }
            int r = pass ? run(zobj, zlen, kc->name, args, nargs, kc->grid, NULL)
                         : run(hobj, hlen, kc->name, args, nargs, hgrid, NULL);
            if (r) {
                fail_msg("%s %s: launch failed (%d)", pass ? zlib : kc->lib, kc->name, r);
            }
            for (uint32_t i = 0; i < nargs; i++) {
                if (bufs[i]) zkt_get(&T, bufs[i], pass ? out_zkc[i] : out_hand[i], BUF);
            }
        }
        for (uint32_t i = 0; i < nargs; i++) {
            if (bufs[i] && memcmp(out_hand[i], out_zkc[i], BUF)) {
                fail_msg("%s: argument %s differs from the hand-written kernel", kc->name,
                         hk->desc.args[i].name);
            }
        }
        zk_obj_free(&ho);
        zk_obj_free(&zo);
        free(hobj);
        free(zobj);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_register_pressure),
        cmocka_unit_test(test_example_and_asm),
        cmocka_unit_test(test_integer_code),
        cmocka_unit_test(test_float_code),
        cmocka_unit_test(test_control_flow),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_tensor_vars),
        cmocka_unit_test(test_library_vs_c),
        cmocka_unit_test(test_same_as_handwritten),
    };
    srand(7);
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests_name("zkcc", tests, setup, teardown);
}
