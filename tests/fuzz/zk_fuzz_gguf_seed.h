/* SPDX-License-Identifier: MIT */
/*
 * zk_fuzz_gguf_seed.h - a small valid GGUF file for the fuzzer to mutate:
 * llama metadata, a tokenizer of the given kind (SentencePiece-style with
 * byte tokens, or byte-level BPE with merges) and one tensor of each type.
 */
#ifndef ZK_FUZZ_GGUF_SEED_H
#define ZK_FUZZ_GGUF_SEED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "gguf.h"
#include "llm.h"
#include "quant.h"
#include "tokenizer.h"

static uint8_t *zk_fuzz_gguf_seed(int kind, size_t *len)
{
    static char tok[300][8];
    static const char *ptr[300];
    static float sc[300];
    static int32_t ty[300];
    const char *merges[3] = { "h e", "l l", "he ll" };
    const char *extra[5] = { "he", "ll", "hell", "<s>", "</s>" };
    int n = 0;
    zk_tokenizer_desc d;
    memset(&d, 0, sizeof(d));
    if (kind == ZK_TOK_SPM) {
        const char *sp[3] = { "<unk>", "<s>", "</s>" };
        for (int i = 0; i < 3; i++, n++) {
            snprintf(tok[n], 8, "%s", sp[i]);
            ty[n] = i ? ZK_TOKT_CONTROL : ZK_TOKT_UNKNOWN;
        }
        for (int b = 0; b < 256; b++, n++) {
            snprintf(tok[n], 8, "<0x%02X>", b);
            ty[n] = ZK_TOKT_BYTE;
        }
        for (int i = 0; i < 3; i++, n++) {
            snprintf(tok[n], 8, "%s", extra[i]);
            sc[n] = (float)-i;
            ty[n] = ZK_TOKT_NORMAL;
        }
        d.bos = 1;
        d.eos = 2;
        d.unk = 0;
        d.add_space_prefix = 1;
    } else {
        unsigned next = 256;
        for (int b = 0; b < 256; b++, n++) {
            int keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
            unsigned cp = keep ? (unsigned)b : next++;
            if (cp < 0x80) {
                tok[n][0] = (char)cp;
            } else {
                tok[n][0] = (char)(0xC0 | cp >> 6);
                tok[n][1] = (char)(0x80 | (cp & 0x3F));
            }
            ty[n] = ZK_TOKT_NORMAL;
        }
        for (int i = 0; i < 5; i++, n++) {
            snprintf(tok[n], 8, "%s", extra[i]);
            ty[n] = i >= 3 ? ZK_TOKT_CONTROL : ZK_TOKT_NORMAL;
        }
        d.merges = merges;
        d.n_merges = 3;
        d.bos = n - 2;
        d.eos = n - 1;
        d.unk = -1;
    }
    for (int i = 0; i < n; i++) {
        ptr[i] = tok[i];
    }
    d.kind = kind;
    d.n_vocab = n;
    d.tokens = ptr;
    d.scores = kind == ZK_TOK_SPM ? sc : NULL;
    d.types = ty;
    d.eot = d.pad = -1;
    d.add_bos = 1;
    d.chat_template = "<|im_start|>";

    zk_gguf_writer *w = zk_gguf_writer_new(3, 0);
    if (!w) {
        return NULL;
    }
    zk_gguf_w_str(w, "general.architecture", "llama");
    zk_gguf_w_u32(w, "llama.embedding_length", 32);
    zk_gguf_w_u32(w, "llama.block_count", 1);
    zk_gguf_w_f32(w, "llama.rope.freq_base", 10000.0f);
    zk_gguf_w_tokenizer(w, &d);
    static const uint32_t types[5] = { ZK_GGML_F32, ZK_GGML_F16, ZK_GGML_BF16, ZK_GGML_Q8_0, ZK_GGML_Q4_0 };
    float x[64];
    uint8_t q[256];
    for (int i = 0; i < 64; i++) {
        x[i] = (float)(i % 7) - 3.0f;
    }
    for (int t = 0; t < 5; t++) {
        uint64_t ne[2] = { 32, 2 };
        char name[16];
        snprintf(name, sizeof(name), "t%d.weight", t);
        zk_quantize(types[t], x, q, 64);
        zk_gguf_w_tensor(w, name, types[t], 2, ne, q, zk_quant_bytes(types[t], 64));
    }
    uint8_t *b = zk_gguf_w_bytes(w, len);
    zk_gguf_writer_free(w);
    return b;
}

/* A whole (tiny, Q8_0) llama model: dim 32, 1 layer, 2 heads, vocab 64. */
static uint8_t *zk_fuzz_gguf_model_seed(size_t *len)
{
    const zk_llm_config c = { 32, 64, 1, 2, 1, 64, 32 };
    char bin[64], gg[64], err[256];
    zk_llm_model m;
    uint8_t *b = NULL;
    snprintf(bin, sizeof(bin), "/tmp/zk-fuzz-seed-%d.bin", (int)getpid());
    snprintf(gg, sizeof(gg), "/tmp/zk-fuzz-seed-%d.gguf", (int)getpid());
    if (zk_llm_gen_model(bin, &c, 1, 0) == 0 && zk_llm_model_load(&m, bin, 0, err, sizeof(err)) == 0) {
        if (zk_llm_model_save_gguf(&m, gg, ZK_GGML_Q8_0, NULL, err, sizeof(err)) == 0) {
            FILE *f = fopen(gg, "rb");
            if (f && fseek(f, 0, SEEK_END) == 0) {
                long n = ftell(f);
                rewind(f);
                if (n > 0 && (b = malloc((size_t)n)) && fread(b, 1, (size_t)n, f) == (size_t)n) {
                    *len = (size_t)n;
                } else {
                    free(b);
                    b = NULL;
                }
            }
            if (f) {
                fclose(f);
            }
        }
        zk_llm_model_free(&m);
    }
    unlink(bin);
    unlink(gg);
    return b;
}

#endif
