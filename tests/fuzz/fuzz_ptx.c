/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ptx.c - fuzz the PTX front end: the input goes through the image
 * detector / fat binary reader and, as text, through the PTX parser (and
 * the IR printer when it parses).  Any input must be accepted or refused
 * with a message; ASan/UBSan flag anything else.  The generator mutates
 * real PTX (text edits that keep most of it lexically valid) and a fat
 * binary built around it.  What parses is also translated (lowering,
 * register allocation, emission, verification).
 */
#include <string.h>

#include "fuzz_driver.h"
#include "ptx_ir.h"
#include "ptx_xlate.h"
#include "zk_fatbin.h"

static void parse_text(const char *s, size_t n)
{
    ptx_module m;
    char err[256];
    if (ptx_parse(s, n, "fuzz.ptx", &m, err, sizeof(err)) == 0) {
        char *out;
        size_t len;
        zk_ptx_image img;
        if (ptx_module_print(&m, &out, &len) == 0) {
            free(out);
        }
        /* whatever parses must translate or be refused, never crash */
        if (zk_ptx_translate(&m, NULL, &img, err, sizeof(err)) == 0) {
            zk_ptx_image_free(&img);
        }
        ptx_module_free(&m);
    } else if (strncmp(err, "fuzz.ptx:", 9) != 0) {
        abort();    /* every parse error names file:line */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zk_ptx_text t;
    char err[256];
    if (zk_ptx_from_image(data, size, &t, err, sizeof(err)) == 0) {
        parse_text(t.text, t.len);
        zk_ptx_text_free(&t);
    }
    parse_text((const char *)data, size);
    return 0;
}

#ifndef ZK_LIBFUZZER
static const char seed_ptx[] =
    ".version 6.4\n.target sm_70\n.address_size 64\n"
    ".global .align 4 .b8 tbl[8] = {1, 2, 3, 4, 5, 6, 7, 8};\n"
    ".const .align 4 .f32 k = 0f3F800000;\n"
    ".extern .shared .align 4 .b8 dyn[];\n"
    ".visible .func (.param .b32 r) f(.param .b32 a, .param .b64 b)\n{\n"
    "\t.reg .b32 %r<4>;\n\t.reg .f32 %f<3>;\n\t.local .align 16 .b8 depot[64];\n"
    "\tld.param.u32 %r1, [a];\n\tmul.lo.s32 %r2, %r1, 3;\n"
    "\tst.local.u32 [depot+-0], %r2;\n\tst.param.b32 [r], %r2;\n\tret;\n}\n"
    ".visible .entry k0(.param .u64 p0, .param .u32 p1, .param .align 8 .b8 s[16])"
    " .maxntid 128, 1, 1\n{\n"
    "\t.reg .pred %p<3>;\n\t.reg .b32 %r<9>;\n\t.reg .f32 %f<5>;\n\t.reg .b64 %rd<6>;\n"
    "\t.shared .align 4 .b8 sm[512];\n"
    "\tld.param.u64 %rd1, [p0];\n\tmov.u32 %r1, %tid.x;\n\tmov.u32 %r2, %ctaid.x;\n"
    "\tmad.lo.s32 %r3, %r2, %r1, 7;\n\tsetp.ge.u32 %p1|%p2, %r3, 100;\n\t@%p1 bra $L__BB0_2;\n"
    "\tcvta.to.global.u64 %rd2, %rd1;\n\tmul.wide.u32 %rd3, %r3, 4;\n"
    "\tadd.s64 %rd4, %rd2, %rd3;\n\tld.global.nc.v2.f32 {%f1, %f2}, [%rd4+8];\n"
    "\tfma.rn.ftz.f32 %f3, %f1, 0f3FB8AA3B, %f2;\n\tex2.approx.ftz.f32 %f4, %f3;\n"
    "\tshfl.sync.bfly.b32 %r4|%p2, %r3, 16, 31, -1;\n\tvote.sync.ballot.b32 %r5, %p2, -1;\n"
    "\tatom.shared.add.u32 %r6, [sm+4], 1;\n\tatom.global.cas.b32 %r7, [%rd4], %r6, %r5;\n"
    "\tcvt.rni.s32.f32 %r8, %f4;\n\tselp.b32 %r8, %r8, %r5, %p2;\n"
    "\t{\n\t.reg .b32 t;\n\t.param .b32 a0;\n\t.param .b64 b0;\n\t.param .b32 r0;\n"
    "\tst.param.b32 [a0], %r8;\n\tst.param.b64 [b0], %rd4;\n"
    "\tcall.uni (r0), f, (a0, b0);\n\tld.param.b32 t, [r0];\n\t}\n"
    "\tbar.sync 0;\n\tst.global.f32 [%rd4], %f4;\n$L__BB0_2:\n\tret;\n}\n";

static const char *const dict[] = {
    ".reg", ".b32", ".f32", ".v4", "%r1", "%r<99999>", "[", "]", "{", "}", "(", ")", ";",
    ",", "@%p1", "@!%p2", "bra", "LBL:", "$L__BB0_2", ".global", ".shared", "0f7FFFFFFF",
    "0x", "-", "+", "99999999999999999999", ".align 3", ".entry", ".func", "call.uni",
    "ld.param.u64", "st.v4.f32", "%tid", ".x", "//", "/*", "\"", "\n", "_", "|", "!",
    ".extern .shared .b8 x[];", ".local .b8 d[4294967296];", "<", ">", "=",
};

static size_t fuzz_generate(uint8_t *buf, size_t cap, uint64_t *rng)
{
    size_t n = sizeof(seed_ptx) - 1;
    uint64_t r = fuzz_rand(rng);
    int edits = 1 + (int)(r % 6);
    memcpy(buf, seed_ptx, n < cap ? n : cap);
    for (int i = 0; i < edits; i++) {
        uint64_t e = fuzz_rand(rng);
        size_t at = n ? (size_t)(e % n) : 0;
        switch ((e >> 32) % 5) {
        case 0: {   /* insert a dictionary token */
            const char *d = dict[(e >> 40) % (sizeof(dict) / sizeof(dict[0]))];
            size_t dl = strlen(d);
            if (n + dl < cap) {
                memmove(buf + at + dl, buf + at, n - at);
                memcpy(buf + at, d, dl);
                n += dl;
            }
            break;
        }
        case 1: {   /* delete a run */
            size_t len = 1 + (size_t)((e >> 40) % 16);
            if (at + len > n) {
                len = n - at;
            }
            memmove(buf + at, buf + at + len, n - at - len);
            n -= len;
            break;
        }
        case 2:
            if (n) {
                buf[at] = (uint8_t)(e >> 48);
            }
            break;
        case 3:
            n = at;     /* truncate */
            break;
        default: {  /* duplicate a run */
            size_t len = 1 + (size_t)((e >> 40) % 64);
            if (at + len > n) {
                len = n - at;
            }
            if (n + len < cap) {
                memmove(buf + at + len, buf + at, n - at);
                n += len;
            }
            break;
        }
        }
    }
    /* Every 8th input: a fat binary around the text, header bytes flipped. */
    if ((r >> 20) % 8 == 0 && n + 96 < cap) {
        uint8_t hdr[80];
        memset(hdr, 0, sizeof(hdr));
        memcpy(hdr, "\x50\xed\x55\xba\x01\x00\x10\x00", 8);
        uint64_t body = 64 + n, one = 1;
        memcpy(hdr + 8, &body, 8);
        memcpy(hdr + 16, &one, 2);
        hdr[20] = 64;
        memcpy(hdr + 24, &n, 8);
        hdr[44] = 75;
        hdr[56] = (uint8_t)(r >> 40) & 0x01;
        hdr[57] = (uint8_t)((r >> 48) % 3 == 0 ? 0xa0 : 0);
        hdr[16 + (r >> 56) % 64] ^= (uint8_t)(r >> 8);
        memmove(buf + 80, buf, n);
        memcpy(buf, hdr, 80);
        n += 80;
    }
    return n;
}
#endif
