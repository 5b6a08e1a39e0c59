/* SPDX-License-Identifier: MIT */
/*
 * zk-mkmodel - write a deterministic random llama2.c model + tokenizer.
 *   zk-mkmodel OUT.bin TOKENIZER.bin [-d dim] [-f hidden] [-l layers]
 *              [-H heads] [-k kv_heads] [-v vocab] [-s seq_len] [--seed S]
 *              [--separate-classifier]
 * Defaults: the "tiny" model of `make run` (dim 128, hidden 384, 4 layers,
 * 8 heads, 4 kv heads, vocab 512, seq_len 512).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"

int main(int argc, char **argv)
{
    zk_llm_config c = { 128, 384, 4, 8, 4, 512, 512 };
    uint64_t seed = 42;
    int shared = 1;
    const char *out = NULL, *tok = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--separate-classifier")) {
            shared = 0;
        } else if (a[0] == '-' && v) {
            long x = strtol(v, NULL, 0);
            i++;
            if (!strcmp(a, "-d")) c.dim = (int)x;
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
                "[--separate-classifier]\n");
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
    printf("zk-mkmodel: %s (dim %d hidden %d layers %d heads %d/%d vocab %d seq %d, seed %llu) "
           "+ %s\n", out, c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
           c.vocab_size, c.seq_len, (unsigned long long)seed, tok);
    return 0;
}
