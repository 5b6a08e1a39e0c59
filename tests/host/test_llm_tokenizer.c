/* SPDX-License-Identifier: MIT */
/*
 * test_llm_tokenizer.c - the tokenizers of tokenizer.h on small hand-made
 * vocabularies whose encodings were worked out by hand: SentencePiece-style
 * merges by score, byte fallback, <unk>, the space prefix, special tokens
 * only when asked; byte-level BPE with ranked merges after the Llama 3
 * pre-tokenizer (contractions, letters, 3-digit groups, punctuation with
 * newlines, space runs); decode round trips of ASCII and UTF-8; both kinds
 * through a GGUF file; llama2.c tokenizer.bin; the chat templates.
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
#include "tokenizer.h"

#define SP "\xe2\x96\x81"

/* SPM: 0 <unk>, 1 <s>, 2 </s>, 3..258 bytes, then pieces. */
static const char *const spm_pieces[] = {
    SP, "h", "e", "l", "o", "w", "r", "d", "ll", "he", "llo", "hello", SP "hello", SP "w", "or",
    SP "wor", "ld", "<|user|>",
};
static const float spm_scores[] = {
    -1, -2, -2, -2, -2, -2, -2, -2, 5, 4, 3, 2, 1, 0.5f, 0.4f, 0.3f, -0.1f, 0,
};
#define NP (int)(sizeof(spm_pieces) / sizeof(spm_pieces[0]))
#define SPM_N (259 + NP)

static char spm_tok[SPM_N][16];
static const char *spm_ptr[SPM_N];
static float spm_sc[SPM_N];
static int32_t spm_ty[SPM_N];

static void spm_desc(zk_tokenizer_desc *d)
{
    memset(d, 0, sizeof(*d));
    snprintf(spm_tok[0], 16, "<unk>");
    snprintf(spm_tok[1], 16, "<s>");
    snprintf(spm_tok[2], 16, "</s>");
    spm_ty[0] = ZK_TOKT_UNKNOWN;
    spm_ty[1] = spm_ty[2] = ZK_TOKT_CONTROL;
    for (int b = 0; b < 256; b++) {
        snprintf(spm_tok[3 + b], 16, "<0x%02X>", b);
        spm_ty[3 + b] = ZK_TOKT_BYTE;
    }
    for (int i = 0; i < NP; i++) {
        snprintf(spm_tok[259 + i], 16, "%s", spm_pieces[i]);
        spm_sc[259 + i] = spm_scores[i];
        spm_ty[259 + i] = i == NP - 1 ? ZK_TOKT_USER_DEFINED : ZK_TOKT_NORMAL;
    }
    for (int i = 0; i < SPM_N; i++) {
        spm_ptr[i] = spm_tok[i];
    }
    d->kind = ZK_TOK_SPM;
    d->n_vocab = SPM_N;
    d->tokens = spm_ptr;
    d->scores = spm_sc;
    d->types = spm_ty;
    d->bos = 1;
    d->eos = 2;
    d->unk = 0;
    d->eot = d->pad = -1;
    d->add_bos = 1;
    d->add_space_prefix = 1;
}

static int32_t P(const char *piece)      /* id of an SPM piece */
{
    for (int i = 0; i < NP; i++) {
        if (!strcmp(spm_pieces[i], piece)) {
            return 259 + i;
        }
    }
    fail_msg("no piece %s", piece);
    return -1;
}

static void expect(const zk_tokenizer *t, const char *text, int add, int special, const int32_t *want,
                   int n)
{
    int32_t got[128];
    int32_t k = zk_tokenizer_encode(t, text, strlen(text), add, special, got, 128);
    if (k != n || memcmp(got, want, (size_t)n * 4)) {
        char msg[512];
        int w = snprintf(msg, sizeof(msg), "\"%s\": got %d [", text, k);
        for (int i = 0; i < k && i < 40 && w < 480; i++) {
            w += snprintf(msg + w, sizeof(msg) - (size_t)w, " %d", got[i]);
        }
        fail_msg("%s ]", msg);
    }
}

static void expect_roundtrip(const zk_tokenizer *t, const char *text)
{
    int32_t ids[512];
    char back[1024];
    int32_t k = zk_tokenizer_encode(t, text, strlen(text), 1, 0, ids, 512);
    assert_true(k > 0 && k <= 512);
    int32_t n = zk_tokenizer_decode(t, ids, (size_t)k, 1, back, sizeof(back));
    assert_int_equal(n, (int32_t)strlen(text));
    assert_string_equal(back, text);
}

static void test_spm(void **state)
{
    (void)state;
    zk_tokenizer_desc d;
    char err[128];
    spm_desc(&d);
    zk_tokenizer *t = zk_tokenizer_new(&d, err, sizeof(err));
    assert_non_null(t);
    /* "▁hello▁world": ll(5) he(4) llo(3) hello(2) ▁hello(1) ▁w or ▁wor ld. */
    int32_t w1[] = { 1, P(SP "hello"), P(SP "wor"), P("ld") };
    expect(t, "hello world", 1, 0, w1, 4);
    expect(t, "hello world", 0, 0, w1 + 1, 3);
    /* Byte fallback: é = C3 A9; "x" too (no piece). */
    int32_t w2[] = { P(SP "hello"), 3 + 0xC3, 3 + 0xA9, 3 + 'x' };
    expect(t, "hello\xc3\xa9x", 0, 0, w2, 4);
    /* Specials only with parse_special; the space prefix comes back after one. */
    int32_t w3[] = { P(SP "hello"), 1, P(SP "hello") };
    expect(t, "hello<s>hello", 0, 1, w3, 3);
    int32_t w4[] = { P(SP "hello"), 3 + '<', 3 + 's', 3 + '>', P("hello") };
    expect(t, "hello<s>hello", 0, 0, w4, 5);
    int32_t w5[] = { P("<|user|>"), P(SP "hello") };
    expect(t, "<|user|>hello", 0, 1, w5, 2);
    /* Empty text: just BOS. */
    int32_t w6[] = { 1 };
    expect(t, "", 1, 0, w6, 1);
    /* Small output buffer: count still right, nothing written past cap. */
    int32_t small[2] = { -7, -7 };
    assert_int_equal(zk_tokenizer_encode(t, "hello world", 11, 1, 0, small, 1), 4);
    assert_int_equal(small[0], 1);
    assert_int_equal(small[1], -7);
    /* Pieces and decoding. */
    char b[64];
    assert_int_equal(zk_tokenizer_piece(t, P(SP "wor"), 0, b, sizeof(b)), 4);
    assert_memory_equal(b, " wor", 4);
    assert_int_equal(zk_tokenizer_piece(t, 3 + 0xA9, 0, b, sizeof(b)), 1);
    assert_int_equal((uint8_t)b[0], 0xA9);
    assert_int_equal(zk_tokenizer_piece(t, 1, 1, b, sizeof(b)), 0);
    assert_int_equal(zk_tokenizer_piece(t, 1, 0, b, sizeof(b)), 3);
    assert_int_equal(zk_tokenizer_piece(t, SPM_N, 0, b, sizeof(b)), -1);
    expect_roundtrip(t, "hello world");
    expect_roundtrip(t, "wow, h\xc3\xa9llo   w\xe4\xb8\x96rld \xf0\x9f\x98\x80!\n");
    assert_true(zk_tokenizer_is_eog(t, 2));
    assert_false(zk_tokenizer_is_eog(t, 1));
    zk_tokenizer_free(t);
    /* No byte tokens and no <unk>: unencodable text is an error. */
    d.n_vocab = 3;
    d.unk = -1;
    t = zk_tokenizer_new(&d, err, sizeof(err));
    assert_non_null(t);
    assert_int_equal(zk_tokenizer_encode(t, "q", 1, 0, 0, small, 2), -1);
    zk_tokenizer_free(t);
}

/* BPE: ids 0..255 are the GPT-2 characters of bytes 0..255. */
static const char *const bpe_merges[] = { "h e", "\xc4\xa0 t", "\xc4\xa0t he", "l l", "e ll", "h ell", "1 2" };
static const char *const bpe_extra[] = { "he", "\xc4\xa0t", "\xc4\xa0the", "ll", "ell", "hell", "12",
                                         "<|begin_of_text|>", "<|eot_id|>" };
#define NM 7
#define NX 9
#define BPE_N (256 + NX)
static char bpe_tok[BPE_N][24];
static const char *bpe_ptr[BPE_N];
static int32_t bpe_ty[BPE_N];

static void bpe_desc(zk_tokenizer_desc *d)
{
    uint16_t next = 256;
    memset(d, 0, sizeof(*d));
    for (int b = 0; b < 256; b++) {
        int keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        unsigned cp = keep ? (unsigned)b : next++;
        if (cp < 0x80) {
            bpe_tok[b][0] = (char)cp;
            bpe_tok[b][1] = 0;
        } else {
            bpe_tok[b][0] = (char)(0xC0 | cp >> 6);
            bpe_tok[b][1] = (char)(0x80 | (cp & 0x3F));
            bpe_tok[b][2] = 0;
        }
        bpe_ty[b] = ZK_TOKT_NORMAL;
    }
    for (int i = 0; i < NX; i++) {
        snprintf(bpe_tok[256 + i], 24, "%s", bpe_extra[i]);
        bpe_ty[256 + i] = i >= 7 ? ZK_TOKT_CONTROL : ZK_TOKT_NORMAL;
    }
    for (int i = 0; i < BPE_N; i++) {
        bpe_ptr[i] = bpe_tok[i];
    }
    d->kind = ZK_TOK_BPE;
    d->n_vocab = BPE_N;
    d->tokens = bpe_ptr;
    d->types = bpe_ty;
    d->merges = bpe_merges;
    d->n_merges = NM;
    d->bos = 256 + 7;
    d->eos = 256 + 8;
    d->eot = d->unk = d->pad = -1;
    d->add_bos = 1;
    d->chat_template = "{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>...";
}

static void test_bpe(void **state)
{
    (void)state;
    zk_tokenizer_desc d;
    char err[128];
    bpe_desc(&d);
    zk_tokenizer *t = zk_tokenizer_new(&d, err, sizeof(err));
    assert_non_null(t);
    enum { HE = 256, GT, GTHE, LL, ELL, HELL, N12, BOT, EOT };
    /* Words: "hello" " the" " " "123" "45" " world" "!!\n\n" " " " x".
     * The byte ids are the bytes ("Ġ" = space = id 32). */
    int32_t w1[] = { BOT, HE, LL, 'o', GTHE, ' ', N12, '3', '4', '5', ' ', 'w', 'o', 'r', 'l', 'd',
                     '!', '!', '\n', '\n', ' ', ' ', 'x' };
    expect(t, "hello the 12345 world!!\n\n  x", 1, 0, w1, (int)(sizeof(w1) / 4));
    /* Contractions, case-insensitive; letters after a punctuation char. */
    int32_t w2[] = { 'I', '\'', 'L', 'L', ' ', 'g', 'o', '\'', 's', ' ', '\'', 'o', 'k' };
    expect(t, "I'LL go's 'ok", 0, 0, w2, (int)(sizeof(w2) / 4));
    /* Specials only when asked: the text is otherwise plain bytes. */
    int32_t w3[] = { EOT, HE };
    expect(t, "<|eot_id|>he", 0, 1, w3, 2);
    int32_t got[64];
    assert_int_equal(zk_tokenizer_encode(t, "<|eot_id|>", 10, 0, 0, got, 64), 10);
    /* Round trips, including bytes that are not valid UTF-8. */
    expect_roundtrip(t, "hello the 12345 world!!\n\n  x");
    expect_roundtrip(t, "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x98\x80\t\r\n end");
    expect_roundtrip(t, "\xff\xfe bad \xc3");
    char b[32];
    assert_int_equal(zk_tokenizer_piece(t, GTHE, 0, b, sizeof(b)), 4);
    assert_memory_equal(b, " the", 4);
    assert_int_equal(zk_tokenizer_piece(t, 0x0A, 0, b, sizeof(b)), 1);  /* "Ċ" -> \n */
    assert_int_equal(b[0], '\n');
    assert_true(zk_tokenizer_is_eog(t, EOT));
    assert_string_equal(zk_chat_template_detect(zk_tokenizer_chat_template(t)), "llama3");
    zk_tokenizer_free(t);
}

static void test_gguf_and_llama2c(void **state)
{
    (void)state;
    char err[256], path[] = "/tmp/zk-tok-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    for (int kind = 0; kind < 2; kind++) {
        zk_tokenizer_desc d;
        zk_gguf g;
        if (kind) {
            bpe_desc(&d);
        } else {
            spm_desc(&d);
        }
        zk_gguf_writer *w = zk_gguf_writer_new(3, 0);
        assert_int_equal(zk_gguf_w_tokenizer(w, &d), 0);
        assert_int_equal(zk_gguf_w_save(w, path), 0);
        zk_gguf_writer_free(w);
        assert_int_equal(zk_gguf_open(&g, path, err, sizeof(err)), 0);
        zk_tokenizer *a = zk_tokenizer_new(&d, err, sizeof(err));
        zk_tokenizer *b = zk_tokenizer_from_gguf(&g, err, sizeof(err));
        assert_non_null(a);
        if (!b) {
            fail_msg("%s", err);
        }
        const char *text = "hello the world, 123 h\xc3\xa9 <s><|eot_id|>";
        int32_t x[128], y[128];
        int32_t nx = zk_tokenizer_encode(a, text, strlen(text), 1, 1, x, 128);
        int32_t ny = zk_tokenizer_encode(b, text, strlen(text), 1, 1, y, 128);
        assert_int_equal(nx, ny);
        assert_memory_equal(x, y, (size_t)nx * 4);
        assert_int_equal(zk_tokenizer_kind(b), kind ? ZK_TOK_BPE : ZK_TOK_SPM);
        assert_int_equal(zk_tokenizer_bos(b), d.bos);
        zk_tokenizer_free(a);
        zk_tokenizer_free(b);
        zk_gguf_close(&g);
    }
    /* Not a tokenizer: a clear error. */
    zk_gguf_writer *w = zk_gguf_writer_new(3, 0);
    zk_gguf_w_str(w, "tokenizer.ggml.model", "bert");
    zk_gguf_w_save(w, path);
    zk_gguf_writer_free(w);
    zk_gguf g;
    assert_int_equal(zk_gguf_open(&g, path, err, sizeof(err)), 0);
    assert_null(zk_tokenizer_from_gguf(&g, err, sizeof(err)));
    assert_non_null(strstr(err, "bert"));
    zk_gguf_close(&g);

    /* llama2.c tokenizer.bin: the same ids as the old loader for text it
     * can encode (the old one lacks the score-ordered merge queue but takes
     * the same best-score merges). */
    assert_int_equal(zk_llm_gen_tokenizer(path, 512), 0);
    zk_llm_tokenizer old;
    zk_tokenizer *t = zk_tokenizer_from_llama2c(path, 512, err, sizeof(err));
    if (!t) {
        fail_msg("%s", err);
    }
    assert_int_equal(zk_tok_load(&old, path, 512, err, sizeof(err)), 0);
    const char *texts[] = { "Once upon a time there was a little girl.", "the cat sat", "Zebra 42!" };
    for (int i = 0; i < 3; i++) {
        int32_t a[256], b2[256];
        int na = zk_tok_encode(&old, texts[i], 1, 0, a);
        int32_t nb = zk_tokenizer_encode(t, texts[i], strlen(texts[i]), 1, 0, b2, 256);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b2, (size_t)na * 4);
        expect_roundtrip(t, texts[i]);
    }
    zk_tok_free(&old);
    zk_tokenizer_free(t);
    unlink(path);
}

static void test_chat_templates(void **state)
{
    (void)state;
    const zk_chat_msg m[] = { { "system", "Be brief." }, { "user", "Hi" }, { "assistant", "Hello." },
                              { "user", "Why?" } };
    char b[1024];
    int32_t n = zk_chat_apply("llama3", m, 4, 1, b, sizeof(b));
    const char *l3 = "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                     "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                     "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
                     "<|start_header_id|>user<|end_header_id|>\n\nWhy?<|eot_id|>"
                     "<|start_header_id|>assistant<|end_header_id|>\n\n";
    assert_string_equal(b, l3);
    assert_int_equal(n, (int32_t)strlen(l3));
    zk_chat_apply(NULL, m + 1, 1, 1, b, sizeof(b));
    assert_string_equal(b, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    zk_chat_apply("{{ bos_token }}{% if ... %}[INST] <<SYS>>\n", m, 4, 1, b, sizeof(b));
    assert_string_equal(b, "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello. </s><s>[INST] Why? [/INST]");
    zk_chat_apply("... [INST] ...", m, 4, 1, b, sizeof(b));
    assert_string_equal(b, "[INST] Be brief.\n\nHi [/INST] Hello. </s><s>[INST] Why? [/INST]");
    zk_chat_apply("<|user|>", m, 2, 1, b, sizeof(b));
    assert_string_equal(b, "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\n");
    zk_chat_apply("<start_of_turn>", m, 3, 0, b, sizeof(b));
    assert_string_equal(b, "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n");
    /* Unknown template / role; truncation reports the full length. */
    assert_int_equal(zk_chat_apply("{{ unknown }}", m, 1, 1, b, sizeof(b)), -1);
    const zk_chat_msg bad[] = { { "wizard", "x" } };
    assert_int_equal(zk_chat_apply("chatml", bad, 1, 1, b, sizeof(b)), -1);
    assert_int_equal(zk_chat_apply("llama3", m, 4, 1, b, 10), (int32_t)strlen(l3));
    assert_int_equal(strlen(b), 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spm),
        cmocka_unit_test(test_bpe),
        cmocka_unit_test(test_gguf_and_llama2c),
        cmocka_unit_test(test_chat_templates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
