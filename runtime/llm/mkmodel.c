/* SPDX-License-Identifier: MIT */
/*
 * zk-mkmodel - write a deterministic random llama2.c model + tokenizer.
 *   zk-mkmodel OUT.bin TOKENIZER.bin [-d dim] [-f hidden] [-l layers]
 *              [-H heads] [-k kv_heads] [-v vocab] [-s seq_len] [--seed S]
 *              [--separate-classifier] [--gguf OUT.gguf [--type T]]
 * --gguf also writes the same model as GGUF with the tokenizer inside, its
 * matrices in ggml type T (f32, f16, bf16, q8_0, q4_0; default f32).
 * Defaults: the "tiny" model of `make run` (dim 128, hidden 384, 4 layers,
 * 8 heads, 4 kv heads, vocab 512, seq_len 512).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "llm.h"
#include "tokenizer.h"

static int type_of(const char *s, uint32_t *t)
{
    static const struct { const char *n; uint32_t t; } types[] = {
        { "f32", ZK_GGML_F32 }, { "f16", ZK_GGML_F16 }, { "bf16", ZK_GGML_BF16 },
        { "q8_0", ZK_GGML_Q8_0 }, { "q4_0", ZK_GGML_Q4_0 },
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (!strcmp(s, types[i].n)) {
            *t = types[i].t;
            return 0;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    zk_llm_config c = { 128, 384, 4, 8, 4, 512, 512 };
    uint64_t seed = 42;
    int shared = 1;
    const char *out = NULL, *tok = NULL, *gguf = NULL;
    uint32_t wtype = ZK_GGML_F32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--separate-classifier")) {
            shared = 0;
        } else if (a[0] == '-' && v) {
            long x = strtol(v, NULL, 0);
            i++;
            if (!strcmp(a, "--gguf")) gguf = v;
            else if (!strcmp(a, "--type")) {
                if (type_of(v, &wtype)) {
                    fprintf(stderr, "zk-mkmodel: unknown type %s (f32 f16 bf16 q8_0 q4_0)\n", v);
                    return 2;
                }
            } else if (!strcmp(a, "-d")) c.dim = (int)x;
            else if (!strcmp(a, "-f")) c.hidden_dim = (int)x;
            else if (!strcmp(a, "-l")) c.n_layers = (int)x;
            else if (!strcmp(a, "-H")) c.n_heads = (int)x;
            else if (!strcmp(a, "-k")) c.n_kv_heads = (int)x;
            else if (!strcmp(a, "-v")) c.vocab_size = (int)x;
            else if (!strcmp(a, "-s")) c.seq_len = (int)x;
            else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 0);
            else {
                fprintf(stderr, "zk-mkmodel: unknown option %s\n", a);
                return 2;
            }
        } else if (!out) {
            out = a;
        } else if (!tok) {
            tok = a;
        } else {
            fprintf(stderr, "usage: zk-mkmodel OUT.bin TOKENIZER.bin [options]\n");
            return 2;
        }
    }
    if (!out || !tok) {
        fprintf(stderr, "usage: zk-mkmodel OUT.bin TOKENIZER.bin [-d dim] [-f hidden] "
                "[-l layers] [-H heads] [-k kv_heads] [-v vocab] [-s seq_len] [--seed S] "
                "[--separate-classifier] [--gguf OUT.gguf [--type f32|f16|bf16|q8_0|q4_0]]\n");
        return 2;
    }
    if (zk_llm_gen_model(out, &c, seed, shared)) {
        perror(out);
        return 1;
    }
    if (zk_llm_gen_tokenizer(tok, c.vocab_size)) {
        perror(tok);
        return 1;
    }
    if (gguf) {
        zk_llm_model m;
        char err[256];
        zk_tokenizer *t = zk_tokenizer_from_llama2c(tok, c.vocab_size, err, sizeof(err));
        if (!t || zk_llm_model_load(&m, out, 0, err, sizeof(err))) {
            fprintf(stderr, "zk-mkmodel: %s\n", err);
            zk_tokenizer_free(t);
            return 1;
        }
        int rc = zk_llm_model_save_gguf(&m, gguf, wtype, t, err, sizeof(err));
        zk_llm_model_free(&m);
        zk_tokenizer_free(t);
        if (rc) {
            fprintf(stderr, "zk-mkmodel: %s\n", err);
            return 1;
        }
        printf("zk-mkmodel: %s (%s)\n", gguf, zk_ggml_type_name(wtype));
    }
    printf("zk-mkmodel: %s (dim %d hidden %d layers %d heads %d/%d vocab %d seq %d, seed %llu) "
           "+ %s\n", out, c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
           c.vocab_size, c.seq_len, (unsigned long long)seed, tok);
    return 0;
}
