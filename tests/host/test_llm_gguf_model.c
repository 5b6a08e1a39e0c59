/* SPDX-License-Identifier: MIT */
/*
 * test_llm_gguf_model.c - llama models in GGUF files: a random llama2.c
 * model saved as GGUF in each weight type and loaded back (config, norms,
 * RoPE/eps metadata, tied and separate classifiers); F32 logits identical
 * to the llama2.c file's; F16/BF16/Q8_0/Q4_0 logits within a tolerance of
 * the F32 ones that grows with the quantization step; greedy tokens
 * identical for F32 and F16; the RoPE base from the file changes the
 * forward pass; the tokenizer travels inside the file; malformed models are
 * refused with a message naming the problem.
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
#include "llm.h"
#include "quant.h"
#include "tokenizer.h"

static char dir[64];

static const char *tmp(const char *name)
{
    static char p[4][128];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
    return p[i];
}

/* dim 64, hidden 160, 2 layers, 4/2 heads, vocab 320, seq 64. */
static const zk_llm_config cfg = { 64, 160, 2, 4, 2, 320, 64 };

static void load(zk_llm_model *m, const char *path)
{
    char err[256];
    if (zk_llm_model_load(m, path, 0, err, sizeof(err))) {
        fail_msg("%s", err);
    }
}

static void save(const zk_llm_model *m, const char *path, uint32_t type, const zk_tokenizer *t)
{
    char err[256];
    if (zk_llm_model_save_gguf(m, path, type, t, err, sizeof(err))) {
        fail_msg("%s", err);
    }
}

/* Greedy tokens and max |logit difference| against @ref over @n steps,
 * feeding the reference's tokens to both. */
static double compare(const zk_llm_model *a, const zk_llm_model *b, int n, int *same_tokens)
{
    zk_llm_ref ra, rb;
    double worst = 0;
    int32_t tok = 1;
    assert_int_equal(zk_llm_ref_init(&ra, a), 0);
    assert_int_equal(zk_llm_ref_init(&rb, b), 0);
    *same_tokens = 1;
    for (int pos = 0; pos < n; pos++) {
        float *la = zk_llm_ref_forward(&ra, tok, pos), *lb = zk_llm_ref_forward(&rb, tok, pos);
        for (int i = 0; i < a->c.vocab_size; i++) {
            double dd = fabs((double)la[i] - lb[i]);
            worst = dd > worst ? dd : worst;
        }
        int32_t ta = zk_llm_argmax(la, a->c.vocab_size), tb = zk_llm_argmax(lb, b->c.vocab_size);
        *same_tokens &= ta == tb;
        tok = ta;
    }
    zk_llm_ref_free(&ra);
    zk_llm_ref_free(&rb);
    return worst;
}

static void test_types_roundtrip(void **state)
{
    (void)state;
    zk_llm_model src, g;
    char err[256];
    assert_int_equal(zk_llm_gen_model(tmp("m.bin"), &cfg, 7, 0), 0);
    assert_int_equal(zk_llm_gen_tokenizer(tmp("tok.bin"), cfg.vocab_size), 0);
    zk_tokenizer *tok = zk_tokenizer_from_llama2c(tmp("tok.bin"), cfg.vocab_size, err, sizeof(err));
    assert_non_null(tok);
    load(&src, tmp("m.bin"));
    const uint32_t types[5] = { ZK_GGML_F32, ZK_GGML_F16, ZK_GGML_BF16, ZK_GGML_Q8_0, ZK_GGML_Q4_0 };
    /* Max logit error against F32 (logits are O(1..10)). */
    const double tol[5] = { 0, 0.05, 0.3, 0.5, 5 };
    long sizes[5];
    for (int t = 0; t < 5; t++) {
        int same;
        save(&src, tmp("m.gguf"), types[t], tok);
        load(&g, tmp("m.gguf"));
        assert_memory_equal(&g.c, &src.c, sizeof(g.c));
        assert_int_equal(g.shared_classifier, 0);
        assert_int_equal(g.wtype, types[t]);
        assert_true(g.rms_eps == src.rms_eps && g.rope_theta == 10000.0f && g.rope_scale == 1.0f);
        assert_memory_equal(g.rms_att, src.rms_att, (size_t)cfg.n_layers * cfg.dim * 4);
        assert_non_null(g.qt[0]);
        assert_int_equal(g.qt[0]->type, types[t]);
        double worst = compare(&src, &g, 12, &same);
        fprintf(stderr, "# %s: max logit difference %g\n", zk_ggml_type_name(types[t]), worst);
        if (worst > tol[t]) {
            fail_msg("%s: logits differ by %g (> %g)", zk_ggml_type_name(types[t]), worst, tol[t]);
        }
        if (types[t] == ZK_GGML_F32) {
            assert_true(worst == 0);
        }
        if (types[t] == ZK_GGML_F16 || types[t] == ZK_GGML_F32) {
            assert_true(same);
        }
        /* The tokenizer inside the file encodes like the original. */
        zk_tokenizer *t2 = zk_tokenizer_from_gguf(g.gguf, err, sizeof(err));
        assert_non_null(t2);
        int32_t a[64], b[64];
        const char *text = "Once upon a time, Lily";
        int32_t na = zk_tokenizer_encode(tok, text, strlen(text), 1, 0, a, 64);
        assert_int_equal(zk_tokenizer_encode(t2, text, strlen(text), 1, 0, b, 64), na);
        assert_memory_equal(a, b, (size_t)na * 4);
        zk_tokenizer_free(t2);
        FILE *f = fopen(tmp("m.gguf"), "rb");
        fseek(f, 0, SEEK_END);
        sizes[t] = ftell(f);
        fclose(f);
        zk_llm_model_free(&g);
    }
    /* File sizes follow the type: F16 ~ F32/2, Q8_0 ~ 34/128, Q4_0 ~ 18/128. */
    assert_true(sizes[1] < sizes[0] * 0.55);
    assert_true(sizes[3] < sizes[0] * 0.30);
    assert_true(sizes[4] < sizes[0] * 0.17);
    zk_llm_model_free(&src);

    /* Tied classifier: no output.weight, classifier = embedding. */
    assert_int_equal(zk_llm_gen_model(tmp("s.bin"), &cfg, 8, 1), 0);
    load(&src, tmp("s.bin"));
    save(&src, tmp("s.gguf"), ZK_GGML_F32, NULL);
    load(&g, tmp("s.gguf"));
    assert_int_equal(g.shared_classifier, 1);
    assert_ptr_equal(g.wcls, g.tok_emb);
    assert_null(zk_gguf_find_tensor(g.gguf, "output.weight"));
    int same;
    assert_true(compare(&src, &g, 6, &same) == 0);
    zk_llm_model_free(&g);

    /* RoPE base and epsilon come from the file and change the pass (on the
     * untied model: the tied one mostly echoes its input). */
    zk_llm_model_free(&src);
    load(&src, tmp("m.bin"));
    src.rope_theta = 500000.0f;
    src.rms_eps = 1e-6f;
    save(&src, tmp("s.gguf"), ZK_GGML_F32, NULL);
    load(&g, tmp("s.gguf"));
    assert_true(g.rope_theta == 500000.0f && g.rms_eps == 1e-6f);
    src.rope_theta = 10000.0f;
    src.rms_eps = 1e-5f;
    double dtheta = compare(&src, &g, 12, &same);
    fprintf(stderr, "# rope base 500000 vs 10000: max logit difference %g\n", dtheta);
    assert_true(dtheta > 1e-3);
    zk_llm_model_free(&g);
    zk_llm_model_free(&src);
    zk_tokenizer_free(tok);
}

/* Rewrite one metadata value / drop one tensor of a valid model file. */
static void expect_refused(const char *path, const char *what)
{
    zk_llm_model m;
    char err[256] = "";
    if (zk_llm_model_load(&m, path, 0, err, sizeof(err)) == 0) {
        zk_llm_model_free(&m);
        fail_msg("loaded a model with %s", what);
    }
    if (!strstr(err, what)) {
        fail_msg("error \"%s\" does not mention \"%s\"", err, what);
    }
}

static void patch(const char *in, const char *out, const char *from, const char *to)
{
    FILE *f = fopen(in, "rb");
    long n;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    size_t lf = strlen(from);
    for (long i = 0; i + (long)lf <= n; i++) {
        if (!memcmp(b + i, from, lf)) {
            memcpy(b + i, to, lf);
            break;
        }
    }
    f = fopen(out, "wb");
    fwrite(b, 1, (size_t)n, f);
    fclose(f);
    free(b);
}

static void test_bad_models(void **state)
{
    (void)state;
    zk_llm_model src;
    assert_int_equal(zk_llm_gen_model(tmp("b.bin"), &cfg, 9, 0), 0);
    load(&src, tmp("b.bin"));
    save(&src, tmp("b.gguf"), ZK_GGML_Q8_0, NULL);
    zk_llm_model_free(&src);
    patch(tmp("b.gguf"), tmp("x.gguf"), "blk.1.ffn_up.weight", "blk.1.ffn_uq.weight");
    expect_refused(tmp("x.gguf"), "tensor blk.1.ffn_up.weight missing");
    patch(tmp("b.gguf"), tmp("x.gguf"), "llama.block_count", "llama.block_cOunt");
    expect_refused(tmp("x.gguf"), "llama.block_count missing");
    patch(tmp("b.gguf"), tmp("x.gguf"), "llama", "gpt2x");     /* the first "llama" is the value */
    expect_refused(tmp("x.gguf"), "not supported");
    patch(tmp("b.gguf"), tmp("x.gguf"), "token_embd.weight", "rope_freqs.weight");   /* same length */
    expect_refused(tmp("x.gguf"), "rope_freqs");
    /* Swap two layers' shapes: attn_k of layer 0 renamed to attn_q (and q to k). */
    patch(tmp("b.gguf"), tmp("x.gguf"), "blk.0.attn_q.weight", "blk.0.attn_X.weight");
    patch(tmp("x.gguf"), tmp("x.gguf"), "blk.0.attn_k.weight", "blk.0.attn_q.weight");
    expect_refused(tmp("x.gguf"), "expected 64x64");
    /* Truncated file: the GGUF reader's message. */
    FILE *f = fopen(tmp("b.gguf"), "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    assert_int_equal(truncate(tmp("b.gguf"), n / 2), 0);
    expect_refused(tmp("b.gguf"), "past the end");
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/zk-gguf-model-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    const char *names[] = { "m.bin", "tok.bin", "m.gguf", "s.bin", "s.gguf", "b.bin", "b.gguf", "x.gguf" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        unlink(tmp(names[i]));
    }
    return rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types_roundtrip),
        cmocka_unit_test(test_bad_models),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
