/* SPDX-License-Identifier: MIT */
/*
 * test_llm_gguf.c - the GGUF reader and writer (runtime/llm/gguf.h) and the
 * ggml encodings (quant.h): every metadata type and tensor type round trips
 * through a written file (v2 and v3, default and custom alignment); Q8_0 /
 * Q4_0 blocks have the bytes llama.cpp's quantizer gives (hand-computed) and
 * stay within half a step; malformed files (every truncation, bad magic,
 * version, alignment, offsets, dims, types, partial blocks, duplicates,
 * nested arrays) are refused with a message naming the problem.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gguf.h"
#include "quant.h"

static uint64_t rng = 88172645463325252ull;
static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) % 2000001) / 1000000.0f - 1.0f;
}

static uint8_t *sample_file(uint32_t version, uint32_t alignment, size_t *len)
{
    zk_gguf_writer *w = zk_gguf_writer_new(version, alignment);
    const char *strs[3] = { "a", "", "\xe2\x96\x81the" };
    const float fs[3] = { 1.5f, -2.0f, 0.25f };
    const int32_t is[4] = { 1, -2, 3, 2147483647 };
    float x[64 * 2];
    uint8_t buf[64 * 2 * 4];
    const uint32_t types[5] = { ZK_GGML_F32, ZK_GGML_F16, ZK_GGML_BF16, ZK_GGML_Q8_0, ZK_GGML_Q4_0 };
    const char *names[5] = { "t.f32", "t.f16", "t.bf16", "t.q8_0", "t.q4_0" };
    assert_non_null(w);
    zk_gguf_w_str(w, "general.architecture", "llama");
    zk_gguf_w_u32(w, "llama.block_count", 7);
    zk_gguf_w_i32(w, "i32", -5);
    zk_gguf_w_u64(w, "u64", 1ull << 40);
    zk_gguf_w_f32(w, "llama.rope.freq_base", 500000.0f);
    zk_gguf_w_bool(w, "b", 1);
    zk_gguf_w_arr_str(w, "tokenizer.ggml.tokens", strs, 3);
    zk_gguf_w_arr_f32(w, "tokenizer.ggml.scores", fs, 3);
    zk_gguf_w_arr_i32(w, "tokenizer.ggml.token_type", is, 4);
    for (int i = 0; i < 128; i++) {
        x[i] = frand();
    }
    for (int t = 0; t < 5; t++) {
        uint64_t ne[2] = { 64, 2 };
        size_t n = zk_quant_bytes(types[t], 128);
        assert_true(n > 0);
        assert_int_equal(zk_quantize(types[t], x, buf, 128), 0);
        assert_int_equal(zk_gguf_w_tensor(w, names[t], types[t], 2, ne, buf, n), 0);
    }
    uint8_t *b = zk_gguf_w_bytes(w, len);
    assert_non_null(b);
    zk_gguf_writer_free(w);
    return b;
}

static void test_roundtrip(void **state)
{
    (void)state;
    for (int v = 2; v <= 3; v++) {
        for (int a = 0; a < 2; a++) {
            size_t len;
            char err[256];
            uint8_t *b = sample_file((uint32_t)v, a ? 64 : 0, &len);
            zk_gguf g;
            int64_t iv;
            double fv;
            char *s;
            if (zk_gguf_parse(&g, b, len, err, sizeof(err))) {
                fail_msg("%s", err);
            }
            assert_int_equal(g.version, v);
            assert_int_equal(g.alignment, a ? 64 : 32);
            assert_int_equal(g.n_tensors, 5);
            assert_int_equal(zk_gguf_get_int(&g, "llama.block_count", &iv), 0);
            assert_int_equal(iv, 7);
            assert_int_equal(zk_gguf_get_int(&g, "i32", &iv), 0);
            assert_int_equal(iv, -5);
            assert_int_equal(zk_gguf_get_int(&g, "u64", &iv), 0);
            assert_int_equal(iv, 1ll << 40);
            assert_int_equal(zk_gguf_get_int(&g, "b", &iv), 0);
            assert_int_equal(iv, 1);
            assert_int_equal(zk_gguf_get_float(&g, "llama.rope.freq_base", &fv), 0);
            assert_true(fv == 500000.0);
            assert_int_equal(zk_gguf_get_int(&g, "nope", &iv), -1);
            assert_int_equal(zk_gguf_get_int(&g, "general.architecture", &iv), -2);
            assert_int_equal(zk_gguf_get_str(&g, "general.architecture", &s), 0);
            assert_string_equal(s, "llama");
            free(s);
            const zk_gguf_kv *kv = zk_gguf_find(&g, "tokenizer.ggml.tokens");
            assert_non_null(kv);
            assert_int_equal(kv->arr_type, ZK_GGUF_STRING);
            assert_int_equal(kv->n, 3);
            assert_int_equal(kv->strs[1].len, 0);
            assert_memory_equal(kv->strs[2].s, "\xe2\x96\x81the", 6);
            kv = zk_gguf_find(&g, "tokenizer.ggml.scores");
            assert_int_equal(zk_gguf_arr_float(kv, 1, &fv), 0);
            assert_true(fv == -2.0);
            assert_int_equal(zk_gguf_arr_float(kv, 3, &fv), -1);
            kv = zk_gguf_find(&g, "tokenizer.ggml.token_type");
            assert_int_equal(zk_gguf_arr_int(kv, 3, &iv), 0);
            assert_int_equal(iv, 2147483647);
            /* Tensors: data aligned, decoded values close to the source. */
            const char *names[5] = { "t.f32", "t.f16", "t.bf16", "t.q8_0", "t.q4_0" };
            const double tol[5] = { 0, 1e-3, 8e-3, 1.0 / 127, 1.0 / 8 };
            float ref[128], got[128];
            rng = 88172645463325252ull;
            for (int i = 0; i < 128; i++) {
                ref[i] = frand();
            }
            for (int t = 0; t < 5; t++) {
                const zk_gguf_tensor *tn = zk_gguf_find_tensor(&g, names[t]);
                assert_non_null(tn);
                assert_int_equal(tn->ne[0], 64);
                assert_int_equal(tn->ne[1], 2);
                assert_int_equal(tn->n_elements, 128);
                assert_int_equal((tn->data - b) % g.alignment, 0);
                assert_int_equal(zk_dequantize(tn->type, tn->data, got, 128), 0);
                for (int i = 0; i < 128; i++) {
                    /* Half a step, except Q4_0's clipped side (q = 15
                     * stands for +8 steps: off by up to one step). */
                    double lim = t == 4 ? tol[t] : tol[t] * 0.5;
                    if (fabs(got[i] - ref[i]) > lim + 1e-6) {
                        fail_msg("%s[%d]: %g vs %g", names[t], i, got[i], ref[i]);
                    }
                }
            }
            zk_gguf_close(&g);
            rng = 88172645463325252ull;
            free(b);
        }
    }
}

static void test_known_blocks(void **state)
{
    (void)state;
    float x[32];
    uint8_t b[34];
    /* Q4_0: x = i - 8 for the first 16, 7 - (i - 16) for the rest: the
     * largest magnitude is -8, so d = 1 and each q = x + 8 exactly. */
    for (int i = 0; i < 32; i++) {
        x[i] = i < 16 ? (float)(i - 8) : (float)(7 - (i - 16));
    }
    assert_int_equal(zk_quantize(ZK_GGML_Q4_0, x, b, 32), 0);
    assert_int_equal(b[0] | b[1] << 8, 0x3c00);         /* fp16 1.0 */
    for (int j = 0; j < 16; j++) {
        assert_int_equal(b[2 + j], (uint8_t)(j | (15 - j) << 4));
    }
    /* Q8_0: max |x| 127 -> d = 1, q = round(x). */
    for (int i = 0; i < 32; i++) {
        x[i] = (float)(i * 8 - 124) + (i & 1 ? 0.4f : -0.4f);
    }
    x[31] = 127;
    assert_int_equal(zk_quantize(ZK_GGML_Q8_0, x, b, 32), 0);
    assert_int_equal(b[0] | b[1] << 8, 0x3c00);
    for (int i = 0; i < 32; i++) {
        assert_int_equal((int8_t)b[2 + i], (int)roundf(x[i]));
    }
    /* All zero: d = 0, q = 0 (Q4_0 stores 8). */
    memset(x, 0, sizeof(x));
    assert_int_equal(zk_quantize(ZK_GGML_Q4_0, x, b, 32), 0);
    assert_int_equal(b[2], 0x88);
    assert_int_equal(zk_quant_bytes(ZK_GGML_Q4_0, 33), 0);
    assert_int_equal(zk_quantize(ZK_GGML_Q8_0, x, b, 31), -1);
}

/* Q4_K / Q6_K: a hand-built super-block dequantizes to the formula. */
static void test_k_quants(void **state)
{
    (void)state;
    uint8_t b[210];
    float y[256];
    memset(b, 0, sizeof(b));
    /* Q6_K: d = 0.5, scales[s] = s + 1, every 6-bit q = 33 (value 1). */
    for (int i = 0; i < 128; i++) {
        b[i] = 0x11;            /* low nibbles 1 */
    }
    for (int i = 0; i < 64; i++) {
        b[128 + i] = 0xAA;      /* high bits 2 for all four: q = 1 | 2 << 4 = 33 */
    }
    for (int s = 0; s < 16; s++) {
        b[192 + s] = (uint8_t)(s + 1);
    }
    b[208] = 0x00;
    b[209] = 0x38;              /* fp16 0.5 */
    assert_int_equal(zk_dequantize(ZK_GGML_Q6_K, b, y, 256), 0);
    for (int i = 0; i < 256; i++) {
        assert_float_equal(y[i], 0.5f * (float)(i / 16 + 1), 0);
    }
    /* Q4_K: d = 1, dmin = 0.25, sub-block j scale j + 1 and min 2 (j < 4
     * only use the plain 6-bit fields; j >= 4 the split ones), nibble 3. */
    uint8_t k[144];
    memset(k, 0, sizeof(k));
    k[1] = 0x3c;                /* d = 1.0 */
    k[3] = 0x34;                /* dmin = 0.25 */
    for (int j = 0; j < 4; j++) {
        k[4 + j] = (uint8_t)(j + 1);
        k[4 + j + 4] = 2;
    }
    for (int j = 4; j < 8; j++) {
        k[4 + j + 4] = (uint8_t)((j + 1) | 2 << 4);
    }
    memset(k + 16, 0x33, 128);
    assert_int_equal(zk_dequantize(ZK_GGML_Q4_K, k, y, 256), 0);
    for (int i = 0; i < 256; i++) {
        assert_float_equal(y[i], (float)(i / 32 + 1) * 3 - 0.5f, 0);
    }
}

static void expect_bad(const uint8_t *b, size_t len, const char *what)
{
    zk_gguf g;
    char err[256] = "";
    if (zk_gguf_parse(&g, b, len, err, sizeof(err)) == 0) {
        zk_gguf_close(&g);
        fail_msg("accepted a file with %s", what);
    }
    if (!strstr(err, what)) {
        fail_msg("error \"%s\" does not mention \"%s\"", err, what);
    }
}

/* Byte offset of the first occurrence of @pat in @b. */
static size_t find(const uint8_t *b, size_t len, const void *pat, size_t n)
{
    for (size_t i = 0; i + n <= len; i++) {
        if (!memcmp(b + i, pat, n)) {
            return i;
        }
    }
    fail_msg("pattern not found");
    return 0;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void test_malformed(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = sample_file(3, 0, &len), *c = malloc(len);
    zk_gguf g;
    char err[256];
    /* Every truncation before the end of the last tensor's data is refused
     * (only the final alignment padding may go). */
    size_t need = 0;
    assert_int_equal(zk_gguf_parse(&g, b, len, err, sizeof(err)), 0);
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        size_t end = (size_t)(g.tensors[i].data - b) + g.tensors[i].size;
        need = end > need ? end : need;
    }
    zk_gguf_close(&g);
    assert_int_equal(zk_gguf_parse(&g, b, need, err, sizeof(err)), 0);
    zk_gguf_close(&g);
    for (size_t n = 0; n < need; n++) {
        if (zk_gguf_parse(&g, b, n, err, sizeof(err)) == 0) {
            fail_msg("accepted the file cut to %zu of %zu bytes", n, len);
        }
    }
    memcpy(c, b, len);
    c[0] = 'X';
    expect_bad(c, len, "magic");
    memcpy(c, b, len);
    c[4] = 4;
    expect_bad(c, len, "version 4");
    memcpy(c, b, len);
    put64(c + 8, 1ull << 60);                   /* tensor count */
    expect_bad(c, len, "cannot fit");
    memcpy(c, b, len);
    put64(c + 16, 1ull << 40);                  /* kv count */
    expect_bad(c, len, "cannot fit");

    /* The tensor info of t.q4_0: name, n_dims, ne0, ne1, type, offset. */
    size_t at = find(b, len, "t.q4_0", 6) + 6;
    memcpy(c, b, len);
    c[at] = 9;
    expect_bad(c, len, "dimensions");
    memcpy(c, b, len);
    put64(c + at + 4, 0);
    expect_bad(c, len, "absurd or zero");
    memcpy(c, b, len);
    put64(c + at + 4 + 8, 1ull << 47);          /* 64 * 2^47 elements */
    expect_bad(c, len, "absurd or zero");
    memcpy(c, b, len);
    put64(c + at + 4, 48);                      /* 48 is not 32-aligned */
    expect_bad(c, len, "whole number of Q4_0 blocks");
    memcpy(c, b, len);
    c[at + 4 + 16] = 77;
    expect_bad(c, len, "unknown ggml type 77");
    memcpy(c, b, len);
    c[at + 4 + 16 + 4] += 4;                    /* offset no longer aligned */
    expect_bad(c, len, "not aligned");
    memcpy(c, b, len);
    put64(c + at + 4 + 16 + 4, 1ull << 20);
    expect_bad(c, len, "past the end");
    memcpy(c, b, len);
    put64(c + at + 4 + 16 + 4, UINT64_MAX - 31);
    expect_bad(c, len, "past the end");

    /* Key/value damage. */
    memcpy(c, b, len);
    at = find(b, len, "tokenizer.ggml.tokens", 21) + 21;
    c[at] = 13;                                 /* value type */
    expect_bad(c, len, "unknown value type");
    memcpy(c, b, len);
    c[at + 4] = 9;                              /* array of arrays */
    expect_bad(c, len, "not supported");
    memcpy(c, b, len);
    put64(c + at + 8, 1ull << 59);              /* string count */
    expect_bad(c, len, "cannot fit");
    memcpy(c, b, len);
    put64(c + at + 16, 1ull << 62);             /* first string length */
    expect_bad(c, len, "past the end");
    memcpy(c, b, len);
    at = find(b, len, "\x03\0\0\0\0\0\0\0i32", 11);      /* rename i32 to u64 */
    memcpy(c + at + 8, "u64", 3);
    expect_bad(c, len, "appears twice");
    memcpy(c, b, len);
    at = find(b, len, "t.bf16", 6);
    memcpy(c + at, "t.f16\0", 6);               /* the name then holds a NUL */
    expect_bad(c, len, "NUL");
    memcpy(c, b, len);
    at = find(b, len, "\x01\0\0\0\0\0\0\0b\x07\0\0\0", 13);
    c[at + 13] = 2;
    expect_bad(c, len, "bool value 2");
    free(c);
    free(b);

    /* Alignment: not a power of two. */
    zk_gguf_writer *w = zk_gguf_writer_new(3, 0);
    zk_gguf_w_u32(w, "general.alignment", 24);
    b = zk_gguf_w_bytes(w, &len);
    expect_bad(b, len, "power of two");
    free(b);
    zk_gguf_writer_free(w);
    /* Writer refuses partial blocks itself. */
    w = zk_gguf_writer_new(3, 0);
    uint64_t ne[1] = { 48 };
    uint8_t z[64] = { 0 };
    assert_int_equal(zk_gguf_w_tensor(w, "x", ZK_GGML_Q8_0, 1, ne, z, 51), -1);
    assert_null(zk_gguf_w_bytes(w, &len));
    zk_gguf_writer_free(w);
    /* Files: open() of a missing file and of a valid one. */
    char err2[256];
    assert_int_equal(zk_gguf_open(&g, "/nonexistent/x.gguf", err2, sizeof(err2)), -1);
    assert_non_null(strstr(err2, "No such file"));
    char path[] = "/tmp/zk-gguf-XXXXXX";
    int fd = mkstemp(path);
    b = sample_file(2, 0, &len);
    assert_int_equal(write(fd, b, len), (ssize_t)len);
    close(fd);
    assert_int_equal(zk_gguf_open(&g, path, err2, sizeof(err2)), 0);
    assert_int_equal(g.n_tensors, 5);
    zk_gguf_close(&g);
    unlink(path);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_known_blocks),
        cmocka_unit_test(test_k_quants),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
