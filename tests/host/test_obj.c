/* SPDX-License-Identifier: MIT */
/*
 * test_obj.c - .zko loader/writer and assembler: a valid object round
 * trips, and every malformed variant is refused with the right message.
 */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "zhikai_hw.h"
#include "zk_asm.h"
#include "zk_isa.h"
#include "zk_simt_isa.h"
#include "zk_obj.h"

static const char good_src[] =
    "# two kernels and a constant\n"
    ".kernel first\n"
    ".arg out ptr f32 w\n"
    ".arg n u64\n"
    "    arg r1, 0\n"
    "    lea r2, two\n"
    "    ld32 r3, [r2]\n"
    "    st32 [r1 + 4], r3\n"
    "loop:\n"
    "    loop r3, loop\n"
    "    halt\n"
    ".kernel second\n"
    "    movf r1, 1.5\n"
    "    halt\n"
    ".rodata\n"
    "one: .f32 1.0\n"
    "two: .u32 2\n";

static uint8_t *assemble(const char *src, size_t *len)
{
    uint8_t *obj = NULL;
    char err[256];
    if (zk_asm(src, "t.zks", &obj, len, err, sizeof(err))) {
        fail_msg("assembly failed: %s", err);
    }
    return obj;
}

static void expect_load_error(const uint8_t *obj, size_t len, const char *msg)
{
    ZkObj o;
    char err[256] = "";
    assert_int_equal(zk_obj_load(obj, len, &o, err, sizeof(err)), -1);
    if (!strstr(err, msg)) {
        fail_msg("error \"%s\" does not mention \"%s\"", err, msg);
    }
    assert_null(o.image);
}

static void test_roundtrip(void **state)
{
    (void)state;
    size_t len;
    uint8_t *obj = assemble(good_src, &len);
    ZkObj o;
    char err[256];
    assert_int_equal(zk_obj_load(obj, len, &o, err, sizeof(err)), 0);
    assert_int_equal(o.num_kernels, 2);
    assert_int_equal(o.text_size, 8 * 8);
    assert_int_equal(o.rodata_off, 64);
    assert_int_equal(o.image_size, 64 + 8);
    const ZkObjKernel *k = zk_obj_find(&o, "second");
    assert_non_null(k);
    assert_int_equal(k->entry, 6 * 8);
    assert_null(zk_obj_find(&o, "third"));
    k = zk_obj_find(&o, "first");
    assert_int_equal(k->desc.num_args, 2);
    assert_int_equal(k->desc.args[0].kind, ZK_ARG_PTR);
    assert_int_equal(k->desc.args[0].access, ZK_ACC_WRITE);
    assert_string_equal(k->desc.args[1].name, "n");
    const uint64_t *code = (const uint64_t *)(const void *)o.image;
    /* lea two -> image offset 64 + 4; loop branches to itself (-0) */
    assert_int_equal(code[1], ZK_INSN(ZK_OP_LEA, 2, 0, 0, 68));
    assert_int_equal(code[4], ZK_INSN(ZK_OP_LOOP, 3, 0, 0, 0));
    char text[96];
    zk_isa_disasm(code[3], 3, text, sizeof(text));
    assert_string_equal(text, "st32 [r1 + 4], r3");
    zk_obj_free(&o);
    free(obj);
}

/* .zk.target: ISA version and required card capabilities (issue 13). */
static void test_target(void **state)
{
    (void)state;
    size_t len;
    uint8_t *obj = assemble(".require fp16, int8\n.kernel k\n    halt\n", &len);
    ZkObj o;
    char err[256];
    assert_int_equal(zk_obj_load(obj, len, &o, err, sizeof(err)), 0);
    assert_int_equal(o.isa_version, 1);
    assert_int_equal(o.required_caps, ZK_CAP_FP16 | ZK_CAP_INT8);
    zk_obj_caps_str(o.required_caps, err, sizeof(err));
    assert_string_equal(err, "fp16,int8");
    zk_obj_free(&o);
    free(obj);
    /* No .require: ISA recorded, nothing required. */
    obj = assemble(".kernel k\n    halt\n", &len);
    assert_int_equal(zk_obj_load(obj, len, &o, err, sizeof(err)), 0);
    assert_int_equal(o.isa_version, 1);
    assert_int_equal(o.required_caps, 0);
    zk_obj_free(&o);
    free(obj);
    /* Unknown capability: an assembler error. */
    uint8_t *bad = NULL;
    assert_int_not_equal(zk_asm(".require warp-drive\n.kernel k\n    halt\n", "t.zks", &bad,
                                &len, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "unknown capability warp-drive"));
    free(bad);
    /* SIMT kernels need ISA 2 and the SIMT unit. */
    ZkObjKernel ks[2] = { { .name = "tile" }, { .name = "simt" } };
    ks[1].desc.flags = ZK_KDESC_F_SIMT;
    struct zk_obj_target mt;
    zk_obj_min_target(ks, 1, &mt);
    assert_int_equal(mt.isa_version, 1);
    assert_int_equal(mt.required_caps, 0);
    zk_obj_min_target(ks, 2, &mt);
    assert_int_equal(mt.isa_version, 2);
    assert_int_equal(mt.required_caps, ZK_CAP_SIMT);
    /* An object for a newer ISA, or with a broken target, is refused. */
    const uint64_t halt = ZK_INSN(ZK_OP_HALT, 0, 0, 0, 0);
    ZkObjKernel k = { .name = "k", .entry = 0 };
    snprintf(k.desc.name, sizeof(k.desc.name), "k");
    struct zk_obj_target t = { .isa_version = ZK_ISA_VERSION + 1 };
    assert_int_equal(zk_obj_write_target(&halt, 8, NULL, 0, &k, 1, &t, &obj, &len), 0);
    expect_load_error(obj, len, "built for ISA version");
    free(obj);
    t.isa_version = 0;
    assert_int_equal(zk_obj_write_target(&halt, 8, NULL, 0, &k, 1, &t, &obj, &len), 0);
    expect_load_error(obj, len, "bad ISA version");
    free(obj);
    t = (struct zk_obj_target){ .isa_version = 1, .reserved = 7 };
    assert_int_equal(zk_obj_write_target(&halt, 8, NULL, 0, &k, 1, &t, &obj, &len), 0);
    expect_load_error(obj, len, "reserved");
    free(obj);
}

/* Kernel names longer than a descriptor's name field (C++ template names):
 * the symbol has the full name, descriptors a prefix + hash key; lookups
 * use the full name, even for names that share the key's prefix. */
static void test_long_names(void **state)
{
    (void)state;
    static char n1[301], n2[301], n3[64], huge[ZK_OBJ_NAME_MAX + 1];
    const uint64_t code[3] = { ZK_INSN(ZK_OP_HALT, 0, 0, 0, 0), ZK_INSN(ZK_OP_HALT, 0, 0, 0, 0),
                               ZK_INSN(ZK_OP_HALT, 0, 0, 0, 0) };
    memset(n1, 'a', 300);
    memcpy(n2, n1, 300);
    n2[299] = 'b';              /* same prefix as n1: only the hash tells them apart */
    memset(n3, 'c', 63);        /* exactly the longest name that fits a descriptor */
    ZkObjKernel ks[3] = { { .name = n1, .entry = 0 }, { .name = n2, .entry = 8 },
                          { .name = n3, .entry = 16 } };
    uint8_t *obj;
    size_t len;
    ZkObj o;
    char err[256];
    assert_int_equal(zk_obj_write(code, sizeof(code), NULL, 0, ks, 3, &obj, &len), 0);
    assert_int_equal(zk_obj_load(obj, len, &o, err, sizeof(err)), 0);
    assert_int_equal(o.num_kernels, 3);
    assert_int_equal(zk_obj_find(&o, n1)->entry, 0);
    assert_int_equal(zk_obj_find(&o, n2)->entry, 8);
    assert_int_equal(zk_obj_find(&o, n3)->entry, 16);
    assert_string_equal(zk_obj_find(&o, n2)->name, n2);
    assert_string_equal(zk_obj_find(&o, n3)->desc.name, n3);
    assert_int_equal(strlen(zk_obj_find(&o, n1)->desc.name), ZK_NAME_LEN - 1);
    n1[100] = 0;                /* a prefix is not the name */
    assert_null(zk_obj_find(&o, n1));
    zk_obj_free(&o);
    free(obj);
    /* Names must stay below ZK_OBJ_NAME_MAX. */
    memset(huge, 'h', ZK_OBJ_NAME_MAX);
    ks[0].name = huge;
    assert_int_equal(zk_obj_write(code, sizeof(code), NULL, 0, ks, 1, &obj, &len), -1);
}

static void test_asm_errors(void **state)
{
    (void)state;
    static const struct { const char *src, *msg; } cases[] = {
        { ".kernel k\n    frob r1\n    halt\n", "t.zks:2: unknown instruction" },
        { ".kernel k\n    add r1, r2\n    halt\n", "t.zks:2: add takes 3" },
        { ".kernel k\n    jmp nowhere\n", "undefined label nowhere" },
        { ".kernel k\n    arg r1, 0\n    halt\n", "argument index out of range" },
        { ".kernel k\n    nop\n", "runs off the end" },
        { ".kernel k\n    shli r1, r1, 64\n    halt\n", "shift amount" },
        { ".kernel k\n.arg x ptr f99 r\n    halt\n", "bad .arg kind" },
        { "    halt\n", "no .kernel" },
        { ".kernel k\n    matmul t0, t1\n    halt\n", "too few tensor operands" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t *obj = NULL;
        size_t len;
        char err[256] = "";
        assert_int_equal(zk_asm(cases[i].src, "t.zks", &obj, &len, err, sizeof(err)), -1);
        if (!strstr(err, cases[i].msg)) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].msg);
        }
    }
}

/* SIMT kernels (ISA v2): layout, encodings, descriptors and their errors. */
static void test_simt_asm(void **state)
{
    static const char src[] =
        ".kernel tile\n"
        "    halt\n"
        ".kernel sk simt\n"
        ".shared 128\n"
        ".params 16\n"
        "top:\n"
        "    sreg r1, %tid.x\n"
        "    setp.lt.u32 p1, r1, 7\n"
        "    @!p1 bra out\n"
        "    ffma.rz.f32 r2, r2, 1.5, r3\n"
        "    ld.shared.s16 r4, [r1-6]\n"
        "    shfl.down r5|p2, r4, 1, 31\n"
        "    cvt.rmi.s32.f32 r6, r2\n"
        "    @p2 bra top\n"
        "out:\n"
        "    exit\n";
    static const struct { const char *src, *msg; } bad[] = {
        { ".kernel k simt\n    add.f32 r1, r2, r3\n    exit\n", "not allowed" },
        { ".kernel k simt\n    add.u32.bogus r1, r2, r3\n    exit\n", "unknown suffix" },
        { ".kernel k simt\n    nop\n", "runs off the end" },
        { ".kernel k\n    @p1 halt\n", "guards are for SIMT" },
        { ".kernel k\n    halt\n.kernel s simt\n    bra x\nx: exit\n.shared 1\n", "" },
        { ".kernel k simt\n    ld.param.u32 r1, [r0+4]\n    exit\n.rodata\nd: .u32 1\n", "" },
        { ".kernel k simt\n.local 99999\n    exit\n", "over the limits" },
    };
    (void)state;
    size_t len;
    uint8_t *obj = assemble(src, &len);
    ZkObj o;
    char err[256], text[160];
    assert_int_equal(zk_obj_load(obj, len, &o, err, sizeof(err)), 0);
    const ZkObjKernel *k = zk_obj_find(&o, "sk");
    assert_int_equal(k->entry, 16);                 /* aligned past the tile halt */
    assert_true(k->desc.flags & ZK_KDESC_F_SIMT);
    assert_int_equal(k->simt.shared_bytes, 128);
    assert_int_equal(k->simt.param_bytes, 16);
    const uint64_t *w = (const uint64_t *)(const void *)(o.image + 16);
    zk_simt_disasm(&w[2 * 2], 3, text, sizeof(text));
    assert_string_equal(text, "@!p1 bra @9");
    zk_simt_disasm(&w[2 * 3], 4, text, sizeof(text));
    assert_string_equal(text, "ffma.rz.f32 r2, r2, 0f3fc00000, r3");
    zk_simt_disasm(&w[2 * 5], 6, text, sizeof(text));
    assert_string_equal(text, "shfl.down r5|p2, r4, 1, 31");
    zk_simt_disasm(&w[2 * 6], 7, text, sizeof(text));
    assert_string_equal(text, "cvt.rm.s32.f32 r6, r2");
    zk_simt_disasm(&w[2 * 7], 8, text, sizeof(text));
    assert_string_equal(text, "@p2 bra @1");
    zk_obj_free(&o);
    free(obj);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t *ob = NULL;
        size_t n;
        char e[256] = "";
        int r = zk_asm(bad[i].src, "t.zks", &ob, &n, e, sizeof(e));
        if (!bad[i].msg[0]) {           /* these are fine */
            if (r) {
                fail_msg("case %zu failed: %s", i, e);
            }
            free(ob);
            continue;
        }
        assert_int_equal(r, -1);
        if (!strstr(e, bad[i].msg)) {
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e, bad[i].msg);
        }
    }
}

/* Header-level corruption: truncation, class, endianness, machine. */
static void test_bad_headers(void **state)
{
    (void)state;
    size_t len;
    uint8_t *obj = assemble(good_src, &len);
    uint8_t *bad = malloc(len);
    expect_load_error(obj, 10, "truncated");
    expect_load_error(obj, 40, "truncated");
    expect_load_error(obj, len - 8, "section table");     /* shdrs cut */
    memcpy(bad, obj, len);
    bad[0] = 0x7e;
    expect_load_error(bad, len, "not an ELF");
    memcpy(bad, obj, len);
    bad[EI_CLASS] = ELFCLASS32;
    expect_load_error(bad, len, "64-bit");
    memcpy(bad, obj, len);
    bad[EI_DATA] = ELFDATA2MSB;
    expect_load_error(bad, len, "little-endian");
    memcpy(bad, obj, len);
    ((Elf64_Ehdr *)(void *)bad)->e_machine = EM_X86_64;
    expect_load_error(bad, len, "wrong machine");
    free(bad);
    free(obj);
}

/* Section-level corruption, done on the parsed section headers. */
static Elf64_Shdr *section(uint8_t *obj, const char *name)
{
    Elf64_Ehdr *eh = (Elf64_Ehdr *)(void *)obj;
    Elf64_Shdr *sh = (Elf64_Shdr *)(void *)(obj + eh->e_shoff);
    const char *str = (const char *)obj + sh[eh->e_shstrndx].sh_offset;
    for (int i = 0; i < eh->e_shnum; i++) {
        if (!strcmp(str + sh[i].sh_name, name)) {
            return &sh[i];
        }
    }
    return NULL;
}

static void test_bad_sections(void **state)
{
    (void)state;
    size_t len;
    uint8_t *obj = assemble(good_src, &len), *bad = malloc(len);
#define FRESH() memcpy(bad, obj, len)
    FRESH();
    section(bad, ".rodata")->sh_type = SHT_RELA;
    expect_load_error(bad, len, "relocations are not supported");
    FRESH();
    section(bad, ".text")->sh_size = 12;
    expect_load_error(bad, len, ".text");
    FRESH();
    section(bad, ".text")->sh_offset = len + 100;
    expect_load_error(bad, len, "past the end");
    FRESH();
    section(bad, ".zk.kernels")->sh_size -= 1;
    expect_load_error(bad, len, "multiple of the descriptor size");
    /* descriptor contents */
    Elf64_Shdr *ks;
    struct zk_kernel_desc *d;
    FRESH();
    ks = section(bad, ".zk.kernels");
    d = (struct zk_kernel_desc *)(void *)(bad + ks->sh_offset);
    d[0].args[1].kind = 9;
    expect_load_error(bad, len, "bad kind");
    FRESH();
    d = (struct zk_kernel_desc *)(void *)(bad + ks->sh_offset);
    strcpy(d[1].name, "ghost");
    expect_load_error(bad, len, "kernel ghost has no STT_FUNC symbol");
    FRESH();
    d = (struct zk_kernel_desc *)(void *)(bad + ks->sh_offset);
    d[0].num_args = 17;
    expect_load_error(bad, len, "argument count");
    FRESH();
    d = (struct zk_kernel_desc *)(void *)(bad + ks->sh_offset);
    memset(d[0].name, 'x', sizeof(d[0].name));
    expect_load_error(bad, len, "bad name");
    /* symbol outside .text */
    FRESH();
    Elf64_Shdr *ss = section(bad, ".symtab");
    Elf64_Sym *sym = (Elf64_Sym *)(void *)(bad + ss->sh_offset);
    sym[2].st_value = 4096;
    expect_load_error(bad, len, "outside .text");
    /* instructions: unknown opcode, branch out of range */
    FRESH();
    uint64_t *code = (uint64_t *)(void *)(bad + section(bad, ".text")->sh_offset);
    code[2] = ZK_INSN(0xee, 0, 0, 0, 0);
    expect_load_error(bad, len, "kernel first: instruction 2");
    FRESH();
    code = (uint64_t *)(void *)(bad + section(bad, ".text")->sh_offset);
    code[4] = ZK_INSN(ZK_OP_LOOP, 3, 0, 0, 100);
    expect_load_error(bad, len, "branch target outside the code");
#undef FRESH
    free(bad);
    free(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_asm_errors),
        cmocka_unit_test(test_target),
        cmocka_unit_test(test_simt_asm),
        cmocka_unit_test(test_long_names),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_bad_sections),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests_name("obj", tests, NULL, NULL);
}
