/* SPDX-License-Identifier: MIT */
/*
 * ptx_devlib.c - CUDA's device-side system calls, vprintf (device printf)
 * and __assertfail (device assert), written in PTX and appended to a
 * module that calls them, so they are translated and inlined like any
 * .func (docs/cuda.md, "Device printf and assert").
 *
 * Both append a record to the context's printf FIFO, a device buffer whose
 * address the CUDA driver layer stores in the module variable
 * __zk_printf_fifo after loading (0: no FIFO, the call does nothing):
 *
 *   FIFO: u64 used (bytes of records, advanced by atom.add), u64 capacity,
 *         48 reserved bytes, then the records.
 *   record: u32 size (multiple of 8, stored last: a record is complete once
 *           it is non-zero), u32 kind, then
 *     kind 1 (printf): u64 format address, the argument bytes (padded to 8);
 *     kind 2 (assert): u64 message, file, function addresses, u32 line,
 *           u32 ctaid.x/y/z, tid.x/y/z (64 bytes in all).
 *
 * A record that does not fit is dropped (CUDA drops them too).  vprintf
 * gets the format and a pointer to the arguments, laid out as a C struct
 * (each argument aligned to its size) after the default promotions; how
 * many bytes that is comes from the format, scanned here on the card with
 * the rules the host formatter applies (cu_printf.c, zk_printf_arg_size):
 * after '%': flags/digits/'.' (and '*', one 4-byte int), length modifiers
 * (l z j t L: 8 bytes), then the conversion: f e g a s p (either case) take
 * 8 bytes, d i u x o c take 4 (8 with a long modifier), "%%" and anything
 * else none.  __assertfail records and then traps; the host turns the fault
 * into cudaErrorAssert when it finds the record.
 */
#define _GNU_SOURCE             /* memmem */
#include <stdlib.h>
#include <string.h>

#include "ptx_ir.h"

static const char fifo_var[] =
    "\n.visible .global .align 8 .u64 __zk_printf_fifo;\n";

static const char vprintf_def[] =
    "\n.visible .func (.param .b32 __zk_ret) vprintf(.param .b64 __zk_fmt, .param .b64 __zk_args)\n"
    "{\n"
    "\t.reg .pred %q<3>;\n"
    "\t.reg .b32 %c, %big, %n, %w;\n"
    "\t.reg .b64 %fifo, %fmt, %args, %p, %off, %size, %old, %end, %cap, %dst, %src, %i, %t;\n"
    "\tld.param.u64 %fmt, [__zk_fmt];\n"
    "\tld.param.u64 %args, [__zk_args];\n"
    "\tmov.u32 %n, 0;\n"
    "\tld.global.u64 %fifo, [__zk_printf_fifo];\n"
    "\tsetp.eq.u64 %q1, %fifo, 0;\n"
    "\t@%q1 bra __zk_pf_done;\n"
    "\tmov.u64 %off, 0;\n"
    "\tmov.u64 %p, %fmt;\n"
    "__zk_pf_scan:\n"
    "\tld.u8 %c, [%p];\n"
    "\tadd.u64 %p, %p, 1;\n"
    "\tsetp.eq.u32 %q1, %c, 0;\n"
    "\t@%q1 bra __zk_pf_scanned;\n"
    "\tsetp.ne.u32 %q1, %c, 37;\n"
    "\t@%q1 bra __zk_pf_scan;\n"
    "\tld.u8 %c, [%p];\n"
    "\tsetp.eq.u32 %q1, %c, 37;\n"
    "\t@%q1 bra __zk_pf_pct;\n"
    "__zk_pf_flags:\n"
    "\tsetp.eq.u32 %q1, %c, 45;\n"
    "\tsetp.eq.u32 %q2, %c, 43;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\tsetp.eq.u32 %q2, %c, 32;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\tsetp.eq.u32 %q2, %c, 35;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\tsetp.eq.u32 %q2, %c, 46;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\tsub.u32 %w, %c, 48;\n"
    "\tsetp.lt.u32 %q2, %w, 10;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\t@!%q1 bra __zk_pf_star;\n"
    "\tadd.u64 %p, %p, 1;\n"
    "\tld.u8 %c, [%p];\n"
    "\tbra.uni __zk_pf_flags;\n"
    "__zk_pf_star:\n"
    "\tsetp.ne.u32 %q1, %c, 42;\n"
    "\t@%q1 bra __zk_pf_len0;\n"
    "\tadd.u64 %off, %off, 3;\n"
    "\tand.b64 %off, %off, 0xfffffffffffffffc;\n"
    "\tadd.u64 %off, %off, 4;\n"
    "\tadd.u32 %n, %n, 1;\n"
    "\tadd.u64 %p, %p, 1;\n"
    "\tld.u8 %c, [%p];\n"
    "\tbra.uni __zk_pf_flags;\n"
    "__zk_pf_len0:\n"
    "\tmov.u32 %big, 0;\n"
    "__zk_pf_len:\n"
    "\tsetp.eq.u32 %q1, %c, 108;\n"
    "\tsetp.eq.u32 %q2, %c, 122;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\tsetp.eq.u32 %q2, %c, 106;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\tsetp.eq.u32 %q2, %c, 116;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\tsetp.eq.u32 %q2, %c, 76;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\tselp.u32 %big, 1, %big, %q1;\n"
    "\tsetp.eq.u32 %q2, %c, 104;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\t@!%q1 bra __zk_pf_conv;\n"
    "\tadd.u64 %p, %p, 1;\n"
    "\tld.u8 %c, [%p];\n"
    "\tbra.uni __zk_pf_len;\n"
    "__zk_pf_conv:\n"
    "\tsetp.eq.u32 %q1, %c, 0;\n"
    "\t@%q1 bra __zk_pf_scanned;\n"
    "\tadd.u64 %p, %p, 1;\n"
    "\tor.b32 %w, %c, 32;\n"
    "\tsetp.eq.u32 %q1, %w, 102;\n"
    "\tsetp.eq.u32 %q2, %w, 101;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\tsetp.eq.u32 %q2, %w, 103;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\tsetp.eq.u32 %q2, %w, 97;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\tsetp.eq.u32 %q2, %w, 115;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\tsetp.eq.u32 %q2, %w, 112;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\t@%q1 bra __zk_pf_arg8;\n"
    "\tsetp.eq.u32 %q1, %w, 100;\n"
    "\tsetp.eq.u32 %q2, %w, 105;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\tsetp.eq.u32 %q2, %w, 117;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\tsetp.eq.u32 %q2, %w, 120;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\tsetp.eq.u32 %q2, %w, 111;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\tsetp.eq.u32 %q2, %w, 99;\n"
    "\tor.pred %q1, %q1, %q2;\n"
    "\t@!%q1 bra __zk_pf_scan;\n"
    "\tsetp.ne.u32 %q1, %big, 0;\n"
    "\t@%q1 bra __zk_pf_arg8;\n"
    "\tadd.u64 %off, %off, 3;\n"
    "\tand.b64 %off, %off, 0xfffffffffffffffc;\n"
    "\tadd.u64 %off, %off, 4;\n"
    "\tadd.u32 %n, %n, 1;\n"
    "\tbra.uni __zk_pf_scan;\n"
    "__zk_pf_arg8:\n"
    "\tadd.u64 %off, %off, 7;\n"
    "\tand.b64 %off, %off, 0xfffffffffffffff8;\n"
    "\tadd.u64 %off, %off, 8;\n"
    "\tadd.u32 %n, %n, 1;\n"
    "\tbra.uni __zk_pf_scan;\n"
    "__zk_pf_pct:\n"
    "\tadd.u64 %p, %p, 1;\n"
    "\tbra.uni __zk_pf_scan;\n"
    "__zk_pf_scanned:\n"
    "\tadd.u64 %size, %off, 23;\n"
    "\tand.b64 %size, %size, 0xfffffffffffffff8;\n"
    "\tld.global.u64 %cap, [%fifo+8];\n"
    "\tatom.global.add.u64 %old, [%fifo], %size;\n"
    "\tadd.u64 %end, %old, %size;\n"
    "\tsetp.gt.u64 %q1, %end, %cap;\n"
    "\t@%q1 bra __zk_pf_done;\n"
    "\tadd.u64 %dst, %fifo, 64;\n"
    "\tadd.u64 %dst, %dst, %old;\n"
    "\tmov.u32 %w, 1;\n"
    "\tst.global.u32 [%dst+4], %w;\n"
    "\tst.global.u64 [%dst+8], %fmt;\n"
    "\tmov.u64 %i, 0;\n"
    "__zk_pf_copy:\n"
    "\tsetp.ge.u64 %q1, %i, %off;\n"
    "\t@%q1 bra __zk_pf_copied;\n"
    "\tadd.u64 %src, %args, %i;\n"
    "\tld.u32 %w, [%src];\n"
    "\tadd.u64 %t, %dst, %i;\n"
    "\tst.global.u32 [%t+16], %w;\n"
    "\tadd.u64 %i, %i, 4;\n"
    "\tbra.uni __zk_pf_copy;\n"
    "__zk_pf_copied:\n"
    "\tmembar.gl;\n"
    "\tcvt.u32.u64 %w, %size;\n"
    "\tst.global.u32 [%dst], %w;\n"
    "__zk_pf_done:\n"
    "\tst.param.b32 [__zk_ret], %n;\n"
    "\tret;\n"
    "}\n";

static const char assertfail_def[] =
    "\n.visible .func __assertfail(.param .b64 __zk_msg, .param .b64 __zk_file, "
    ".param .b32 __zk_line, .param .b64 __zk_func, .param .b64 __zk_csize)\n"
    "{\n"
    "\t.reg .pred %q<2>;\n"
    "\t.reg .b32 %w;\n"
    "\t.reg .b64 %fifo, %old, %end, %cap, %dst, %v;\n"
    "\tld.global.u64 %fifo, [__zk_printf_fifo];\n"
    "\tsetp.eq.u64 %q1, %fifo, 0;\n"
    "\t@%q1 bra __zk_af_stop;\n"
    "\tld.global.u64 %cap, [%fifo+8];\n"
    "\tatom.global.add.u64 %old, [%fifo], 64;\n"
    "\tadd.u64 %end, %old, 64;\n"
    "\tsetp.gt.u64 %q1, %end, %cap;\n"
    "\t@%q1 bra __zk_af_stop;\n"
    "\tadd.u64 %dst, %fifo, 64;\n"
    "\tadd.u64 %dst, %dst, %old;\n"
    "\tmov.u32 %w, 2;\n"
    "\tst.global.u32 [%dst+4], %w;\n"
    "\tld.param.u64 %v, [__zk_msg];\n"
    "\tst.global.u64 [%dst+8], %v;\n"
    "\tld.param.u64 %v, [__zk_file];\n"
    "\tst.global.u64 [%dst+16], %v;\n"
    "\tld.param.u64 %v, [__zk_func];\n"
    "\tst.global.u64 [%dst+24], %v;\n"
    "\tld.param.u32 %w, [__zk_line];\n"
    "\tst.global.u32 [%dst+32], %w;\n"
    "\tmov.u32 %w, %ctaid.x;\n"
    "\tst.global.u32 [%dst+36], %w;\n"
    "\tmov.u32 %w, %ctaid.y;\n"
    "\tst.global.u32 [%dst+40], %w;\n"
    "\tmov.u32 %w, %ctaid.z;\n"
    "\tst.global.u32 [%dst+44], %w;\n"
    "\tmov.u32 %w, %tid.x;\n"
    "\tst.global.u32 [%dst+48], %w;\n"
    "\tmov.u32 %w, %tid.y;\n"
    "\tst.global.u32 [%dst+52], %w;\n"
    "\tmov.u32 %w, %tid.z;\n"
    "\tst.global.u32 [%dst+56], %w;\n"
    "\tmembar.gl;\n"
    "\tmov.u32 %w, 64;\n"
    "\tst.global.u32 [%dst], %w;\n"
    "__zk_af_stop:\n"
    "\ttrap;\n"
    "\tret;\n"
    "}\n";

/* @name occurs in the text as a whole identifier. */
static int has_ident(const char *text, size_t len, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(text + i, name, n) != 0) {
            continue;
        }
        int before = i > 0 && (text[i - 1] == '_' || text[i - 1] == '$' ||
                               (text[i - 1] >= '0' && text[i - 1] <= '9') ||
                               ((text[i - 1] | 32) >= 'a' && (text[i - 1] | 32) <= 'z'));
        char a = i + n < len ? text[i + n] : 0;
        int after = a == '_' || a == '$' || (a >= '0' && a <= '9') ||
                    ((a | 32) >= 'a' && (a | 32) <= 'z');
        if (!before && !after) {
            return 1;
        }
    }
    return 0;
}

/* The ".extern .func ... NAME (...);" prototype of @name: [*b, *e) or 0. */
static int find_prototype(const char *text, size_t n, const char *name, size_t *b, size_t *e)
{
    for (size_t i = 0; i + 7 <= n; i++) {
        if (memcmp(text + i, ".extern", 7) != 0) {
            continue;
        }
        const char *semi = memchr(text + i, ';', n - i);
        if (!semi) {
            return 0;
        }
        size_t end = (size_t)(semi - text) + 1;
        const char *brace = memchr(text + i, '{', end - i);
        if (!brace && memmem(text + i, end - i, ".func", 5) &&
            has_ident(text + i, end - i, name)) {
            *b = i;
            *e = end;
            return 1;
        }
        i = end - 1;
    }
    return 0;
}

/*
 * The definitions replace the prototypes (calls refer to the declaration
 * they follow), with the FIFO variable before the first one; the text is
 * otherwise unchanged, so diagnostics keep their line numbers up to there.
 */
int zk_ptx_devlib_augment(const char *text, size_t len, char **out, size_t *out_len)
{
    static const struct {
        const char *name, *def;
        size_t def_len;
    } fns[2] = { { "vprintf", vprintf_def, sizeof(vprintf_def) - 1 },
                 { "__assertfail", assertfail_def, sizeof(assertfail_def) - 1 } };
    size_t b[2], e[2], n, o = 0, pos = 0;
    int have[2], first = -1;
    char *s;
    *out = NULL;
    *out_len = 0;
    /* The text may end without a NUL, or hold one (fat binary padding). */
    n = strnlen(text, len);
    /* A module that has the FIFO variable already was augmented (or is
     * hostile: then the parser reports whatever is wrong). */
    if (has_ident(text, n, "__zk_printf_fifo")) {
        return 0;
    }
    for (int k = 0; k < 2; k++) {
        have[k] = find_prototype(text, n, fns[k].name, &b[k], &e[k]);
        if (have[k] && (first < 0 || b[k] < b[first])) {
            first = k;
        }
    }
    if (first < 0) {
        return 0;
    }
    if (have[0] && have[1] && (b[0] < e[1] && b[1] < e[0])) {
        return 0;                       /* overlapping: not the prototypes we know */
    }
    s = malloc(n + sizeof(fifo_var) + sizeof(vprintf_def) + sizeof(assertfail_def) + 1);
    if (!s) {
        return -1;
    }
    for (int step = 0; step < 2; step++) {
        int k = step == 0 ? first : 1 - first;
        if (!have[k]) {
            continue;
        }
        memcpy(s + o, text + pos, b[k] - pos);
        o += b[k] - pos;
        if (step == 0) {
            memcpy(s + o, fifo_var, sizeof(fifo_var) - 1);
            o += sizeof(fifo_var) - 1;
        }
        memcpy(s + o, fns[k].def, fns[k].def_len);
        o += fns[k].def_len;
        pos = e[k];
    }
    memcpy(s + o, text + pos, n - pos);
    o += n - pos;
    s[o] = 0;
    *out = s;
    *out_len = o;
    return 1;
}
