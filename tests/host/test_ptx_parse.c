/* SPDX-License-Identifier: MIT */
/*
 * test_ptx_parse.c - the PTX parser (runtime/ptx/ptx_parse.c) over the
 * whole CUDA C corpus as compiled by clang-14 and (when present) nvcc 13,
 * checking the kernel metadata the runtime relies on (parameter layout,
 * shared/local variables, registers, calls), and over malformed or
 * unsupported PTX, checking the "file:line: ..." diagnostics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ptx_ir.h"

static const char *const corpus[] = {
    "vector_add", "sgemm_tiled", "reduce_tree", "reduce_warp", "softmax", "rmsnorm", "rope",
    "attention", "activations", "atomics", "device_call", "local_array", "many_live",
    "bitops",
};
#define NCORPUS (sizeof(corpus) / sizeof(corpus[0]))

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int load(const char *compiler, const char *name, ptx_module *m)
{
    const char *dir = getenv("ZK_PTX_CORPUS");
    char path[512], err[512];
    size_t len;
    char *text;
    snprintf(path, sizeof(path), "%s/%s/%s.ptx", dir ? dir : "build/ptx-corpus", compiler,
             name);
    text = slurp(path, &len);
    if (!text) {
        return -1;
    }
    if (ptx_parse(text, len, path, m, err, sizeof(err)) != 0) {
        free(text);
        fail_msg("%s", err);
    }
    free(text);
    return 0;
}

static unsigned int count_op(const ptx_module *m, unsigned int op)
{
    unsigned int n = 0;
    for (uint32_t i = 0; i < m->nfuncs; i++) {
        for (uint32_t j = 0; j < m->funcs[i].ninsns; j++) {
            n += m->funcs[i].insns[j].op == op;
        }
    }
    return n;
}

static const ptx_func *entry(const ptx_module *m, const char *name)
{
    const ptx_func *f = ptx_find_func(m, name);
    if (!f) {
        /* nvcc keeps C++ names mangled only without extern "C" */
        fail_msg("no kernel %s", name);
    }
    assert_true(f->is_entry);
    assert_true(f->has_body);
    return f;
}

static void check_layout(const ptx_func *f, unsigned int n, const uint32_t *off,
                         const uint32_t *size, uint32_t bytes)
{
    assert_int_equal(f->nparams, n);
    for (unsigned int i = 0; i < n; i++) {
        assert_int_equal(f->params[i].offset, off[i]);
        assert_int_equal(f->params[i].size, size[i]);
    }
    assert_int_equal(f->param_bytes, bytes);
}

/* What each corpus kernel must look like after parsing, whoever compiled it. */
static void check_corpus(const char *compiler)
{
    unsigned int found = 0;
    for (size_t k = 0; k < NCORPUS; k++) {
        ptx_module m;
        if (load(compiler, corpus[k], &m) != 0) {
            fail_msg("%s/%s.ptx missing (build the corpus: make -C runtime/ptx corpus)",
                     compiler, corpus[k]);
        }
        found++;
        assert_int_equal(m.address_size, 64);
        assert_true(m.version_major >= 6);
        if (strcmp(corpus[k], "vector_add") == 0) {
            const uint32_t off[] = { 0, 8, 16, 24 }, sz[] = { 8, 8, 8, 4 };
            check_layout(entry(&m, "vector_add"), 4, off, sz, 28);
        } else if (strcmp(corpus[k], "rmsnorm") == 0) {
            const uint32_t off[] = { 0, 8, 16, 24, 28 }, sz[] = { 8, 8, 8, 4, 4 };
            const ptx_func *f = entry(&m, "rmsnorm");
            check_layout(f, 5, off, sz, 32);
            assert_int_equal(f->params[4].type, PT_F32);
        } else if (strcmp(corpus[k], "sgemm_tiled") == 0) {
            uint64_t shared = 0;
            const ptx_func *f = entry(&m, "sgemm_tiled");
            for (uint32_t i = 0; i < m.nvars; i++) {
                shared += m.vars[i].space == PS_SHARED ? m.vars[i].size : 0;
            }
            for (uint32_t i = 0; i < f->nvars; i++) {
                shared += f->vars[i].space == PS_SHARED ? f->vars[i].size : 0;
            }
            assert_int_equal(shared, 2 * 16 * 16 * 4);
            assert_true(count_op(&m, PO_BAR) >= 2);
        } else if (strcmp(corpus[k], "attention") == 0) {
            const ptx_var *v = ptx_find_var(&m, "att_scores");
            entry(&m, "attention");
            assert_non_null(v);
            assert_true(v->is_extern);
            assert_int_equal(v->space, PS_SHARED);
            assert_int_equal(v->size, 0);
        } else if (strcmp(corpus[k], "reduce_warp") == 0) {
            entry(&m, "reduce_warp");
            assert_true(count_op(&m, PO_SHFL) >= 10);
            assert_true(count_op(&m, PO_VOTE) >= 1);
        } else if (strcmp(corpus[k], "device_call") == 0) {
            const ptx_func *poly = ptx_find_func(&m, "poly");
            entry(&m, "eval_poly");
            assert_non_null(poly);
            assert_false(poly->is_entry);
            assert_int_equal(poly->nrets, 1);
            assert_int_equal(poly->nparams, 3);
            assert_int_equal(count_op(&m, PO_CALL), 2);
        } else if (strcmp(corpus[k], "local_array") == 0) {
            const ptx_func *f = entry(&m, "local_mode");
            uint64_t local = 0;
            for (uint32_t i = 0; i < f->nvars; i++) {
                local += f->vars[i].space == PS_LOCAL ? f->vars[i].size : 0;
            }
            assert_true(local >= 1024);
        } else if (strcmp(corpus[k], "many_live") == 0) {
            assert_true(entry(&m, "many_live")->nregs >= 600);
        } else if (strcmp(corpus[k], "atomics") == 0) {
            entry(&m, "histogram");
            assert_true(count_op(&m, PO_ATOM) + count_op(&m, PO_RED) >= 4);
        } else if (strcmp(corpus[k], "activations") == 0) {
            entry(&m, "silu_mul");
            entry(&m, "gelu");
        }
        ptx_module_free(&m);
    }
    assert_int_equal(found, NCORPUS);
}

static void test_clang_corpus(void **state)
{
    (void)state;
    check_corpus("clang");
}

static void test_nvcc_corpus(void **state)
{
    ptx_module m;
    (void)state;
    if (load("nvcc", "vector_add", &m) != 0) {
        print_message("# SKIP nvcc corpus: nvcc is not on PATH\n");
        skip();
    }
    ptx_module_free(&m);
    check_corpus("nvcc");
}

/* Malformed and unsupported PTX: the exact file:line diagnostic. */
static const char hdr[] = ".version 7.0\n.target sm_70\n.address_size 64\n";

static void expect_err(const char *body, const char *want)
{
    char text[4096], err[512] = "";
    ptx_module m;
    snprintf(text, sizeof(text), "%s%s", hdr, body);
    if (ptx_parse(text, strlen(text), "t.ptx", &m, err, sizeof(err)) == 0) {
        ptx_module_free(&m);
        fail_msg("accepted: %s", body);
    }
    if (!strstr(err, want)) {
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
    }
}

#define K(body) ".visible .entry k(.param .u64 a)\n{\n.reg .b32 %r<4>;\n.reg .pred %p<2>;\n" \
    ".reg .f32 %f<4>;\n.reg .b64 %rd<4>;\n" body "\n}\n"

static void test_diagnostics(void **state)
{
    (void)state;
    expect_err(K("tex.2d.v4.f32.f32 {%f0, %f1, %f2, %f3}, [t, {%f0, %f1}];"),
               "t.ptx:10: unsupported PTX 'tex.2d.v4.f32.f32'");
    expect_err(K("add.f32 %f1, %f2, %f3;\ncvt.rna.f32.f64 %f1, %f2;"),
               "t.ptx:11: unsupported PTX 'cvt.rna.f32.f64'");
    expect_err(K("ld.global.L1::evict_last.f32 %f1, [%rd1];"),
               "t.ptx:10: unsupported PTX 'ld.global.L1::evict_last.f32'");
    expect_err(K("mov.u32 %r9, 1;"), "t.ptx:10: undeclared register '%r9'");
    expect_err(K("mov.u32 %r1, %tid;"), "t.ptx:10: %tid needs .x, .y or .z");
    expect_err(K("bra L;"), "t.ptx:10: label L used but not defined");
    expect_err(K("L:\nL:\nret;"), "t.ptx:11: label L defined twice");
    expect_err(K("add.s32 %r1, %r2;"), "t.ptx:10: 'add.s32' takes 3..3 operands, 2 given");
    expect_err(K("@%r1 bra L;\nL: ret;"), "t.ptx:10: guard %r1 is not a predicate");
    expect_err(K("ld.global.v4.f32 {%f0, %f1}, [%rd1];"), "4-element vector expected");
    expect_err(K("ld.global.f32 %f0, %rd1;"), "the source must be an address");
    expect_err(K("atom.global.f32 %f0, [%rd1], %f1;"), "wrong operation");
    expect_err(K("mov.u32 %r1, 0f3F8;"), "t.ptx:10: invalid token");
    expect_err(K("mov.u32 %r1, 99999999999999999999999;"), "t.ptx:10: invalid token");
    expect_err(K("ld.param.u64 %rd1, [nope];"), "undeclared register or variable 'nope'");
    expect_err(K("{\n.reg .b32 t;\n}\nmov.b32 t, 1;"), "t.ptx:13: undeclared symbol 't'");
    expect_err(K("call.uni f, ();"), "not a declared function");
    expect_err(".extern .func (.param .b32 r) expf(.param .b32 x);\n"
               K("{\n.param .b32 x;\n.param .b32 r;\ncall.uni (r), expf, (x);\n}"),
               "declared but not defined");
    expect_err(K("ret;") "\n.entry k(.param .u64 b)\n{\nret;\n}\n", "k declared twice");
    expect_err(".global .align 8 .b64 big[1073741824];\n", "larger than 4 GiB");
    expect_err(".global .b32 x[2] = {1, 2, 3};\n", "too many initializers");
    expect_err(".shared .align 3 .b8 s[4];\n", "t.ptx:4: alignment 3 is not a power of two");
    expect_err(".section .debug_info {\n}\n", "unsupported PTX '.section'");
    expect_err(".entry k(.param .u32 a)\n{\nret;\n", "unexpected end of file in k");
    expect_err(K("") "garbage\n", "t.ptx:12: expected a directive, found 'garbage'");
    {
        char text[128], err[256];
        ptx_module m;
        snprintf(text, sizeof(text), ".version 5.0\n.target sm_50\n.address_size 64\n");
        assert_int_equal(ptx_parse(text, strlen(text), "v.ptx", &m, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "v.ptx:1: unsupported PTX ISA version 5.0"));
        snprintf(text, sizeof(text), ".version 7.0\n.target sm_50\n.address_size 32\n");
        assert_int_equal(ptx_parse(text, strlen(text), "v.ptx", &m, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "v.ptx:3: unsupported PTX '.address_size 32'"));
    }
}

/* Constructs both compilers emit, in one module, and their IR. */
static void test_constructs(void **state)
{
    static const char text[] =
        ".version 9.0\n.target sm_75\n.address_size 64\n"
        ".global .align 4 .b8 tbl[8] = {1, 2, 3, 4, 5, 6, 7, 8};\n"
        ".const .align 4 .f32 cf[2] = {0f3F800000, 0f40000000};\n"
        ".global .align 8 .u64 gptr;\n"
        ".extern .shared .align 16 .b8 dyn[];\n"
        ".visible .entry k(.param .u64 p, .param .u8 c, .param .align 8 .b8 s[12], .param .f64 d)\n"
        ".maxntid 256, 1, 1\n.minnctapersm 2\n{\n"
        "\t.reg .pred %p<3>;\n\t.reg .b32 %r<10>;\n\t.reg .f32 %f<4>;\n\t.reg .b64 %rd<6>;\n"
        "\t.reg .b64 %SP;\n\t.local .align 8 .b8 __local_depot0[32];\n"
        "\tmov.u64 %SP, __local_depot0;\n\tmov.u64 %rd1, tbl;\n"
        "\tmov.u32 %r1, %laneid;\n\tsetp.ne.and.s32 %p1, %r1, 0, %p2;\n"
        "\t@!%p1 bra $L__BB0_1;\n\tld.global.nc.v4.u32 {%r2, %r3, _, %r4}, [%rd1+-16];\n"
        "\tst.shared.v2.f32 [dyn+8], {%f1, %f2};\n\tcvt.rzi.ftz.sat.s32.f32 %r5, %f1;\n"
        "\tmul.hi.u32 %r6, %r5, 0x1234ABCD;\n\tsetp.lo.u32 %p2, %r6, 7;\n"
        "\tmov.f32 %f3, 1.5;\n\tmov.b64 %rd2, {%r2, %r3};\n"
        "\tfence.acq_rel.gpu;\n\tmembar.gl;\n\tbarrier.sync.aligned 0;\n"
        "\tred.global.add.f32 [%rd1], %f3;\n\tld.const.f32 %f1, [cf+4];\n"
        "$L__BB0_1:\n\tret;\n}\n";
    ptx_module m;
    char err[512];
    const ptx_func *f;
    (void)state;
    if (ptx_parse(text, sizeof(text) - 1, "c.ptx", &m, err, sizeof(err)) != 0) {
        fail_msg("%s", err);
    }
    assert_int_equal(m.version_major, 9);
    assert_int_equal(m.version_minor, 0);
    assert_string_equal(m.target, "sm_75");
    assert_int_equal(m.nvars, 4);
    assert_int_equal(m.vars[0].init[7], 8);
    assert_int_equal(m.vars[1].init[7], 0x40);
    assert_true(m.vars[3].is_extern);
    assert_int_equal(m.vars[3].align, 16);
    f = ptx_find_func(&m, "k");
    assert_non_null(f);
    /* p @0 (8), c @8 (1), s @16 (12, align 8), d @32 (8) */
    assert_int_equal(f->params[1].offset, 8);
    assert_int_equal(f->params[2].offset, 16);
    assert_int_equal(f->params[2].size, 12);
    assert_int_equal(f->params[3].offset, 32);
    assert_int_equal(f->param_bytes, 40);
    assert_int_equal(f->maxntid[0], 256);
    assert_int_equal(f->minnctapersm, 2);
    assert_int_equal(f->nregs, 3 + 10 + 4 + 6 + 1);
    assert_int_equal(f->ninsns, 18);
    /* setp.ne.and with a predicate input */
    assert_int_equal(f->insns[3].cmp, PC_NE);
    assert_int_equal(f->insns[3].boolop, PB_AND);
    assert_int_equal(f->insns[4].guard_neg, 1);
    assert_int_equal(f->insns[5].vec, 4);
    assert_int_equal(f->insns[5].flags & PF_NC, PF_NC);
    assert_int_equal(f->insns[5].ops[0].vec[2], -1);
    assert_int_equal(f->insns[5].ops[1].imm, -16);
    assert_int_equal(f->insns[6].ops[0].var, 3);
    assert_int_equal(f->insns[6].ops[0].imm, 8);
    assert_int_equal(f->insns[7].rnd, PR_RZI);
    assert_int_equal(f->insns[7].type, PT_S32);
    assert_int_equal(f->insns[7].type2, PT_F32);
    assert_int_equal(f->insns[8].sub, PX_HI);
    assert_int_equal(f->insns[8].ops[2].imm, 0x1234ABCD);
    assert_int_equal(f->insns[9].cmp, PC_LO);
    assert_int_equal(f->insns[10].ops[1].kind, POK_FIMM);
    assert_int_equal(f->insns[11].ops[1].kind, POK_VEC);
    assert_int_equal(f->insns[12].order, PM_ACQ_REL);
    assert_int_equal(f->insns[16].ops[1].imm, 4);
    assert_int_equal(f->labels[0].insn, 17);
    assert_int_equal(f->insns[17].line, 36);
    {
        char *out;
        size_t len;
        assert_int_equal(ptx_module_print(&m, &out, &len), 0);
        assert_non_null(strstr(out, "cvt.rzi.ftz.sat.s32.f32"));
        assert_non_null(strstr(out, "ld.global.nc.v4.u32 {%v"));
        free(out);
    }
    ptx_module_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clang_corpus),
        cmocka_unit_test(test_nvcc_corpus),
        cmocka_unit_test(test_diagnostics),
        cmocka_unit_test(test_constructs),
    };
    return cmocka_run_group_tests_name("ptx_parse", tests, NULL, NULL);
}
