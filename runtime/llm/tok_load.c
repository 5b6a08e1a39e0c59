/* SPDX-License-Identifier: MIT */
/* tok_load.c - tokenizers from GGUF metadata and from llama2.c tokenizer.bin. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "tokenizer.h"

/* NUL-terminated copies of a GGUF string array (an embedded NUL ends a
 * token early: no real vocabulary has one). */
static char **copy_strs(const zk_gguf_kv *kv)
{
    char **v = calloc((size_t)(kv->n ? kv->n : 1), sizeof(*v));
    if (!v) {
        return NULL;
    }
    for (uint64_t i = 0; i < kv->n; i++) {
        if (!(v[i] = malloc((size_t)kv->strs[i].len + 1))) {
            for (uint64_t j = 0; j < i; j++) {
                free(v[j]);
            }
            free(v);
            return NULL;
        }
        memcpy(v[i], kv->strs[i].s, (size_t)kv->strs[i].len);
        v[i][kv->strs[i].len] = 0;
    }
    return v;
}

static void free_strs(char **v, uint64_t n)
{
    if (v) {
        for (uint64_t i = 0; i < n; i++) {
            free(v[i]);
        }
        free(v);
    }
}

static int32_t get_id(const zk_gguf *g, const char *key, int32_t def)
{
    int64_t v;
    if (zk_gguf_get_int(g, key, &v) == 0 && v >= 0 && v <= INT32_MAX) {
        return (int32_t)v;
    }
    return def;
}

static int get_flag(const zk_gguf *g, const char *key, int def)
{
    int64_t v;
    return zk_gguf_get_int(g, key, &v) == 0 ? v != 0 : def;
}

zk_tokenizer *zk_tokenizer_from_gguf(const zk_gguf *g, char *err, size_t errlen)
{
    zk_tokenizer_desc d;
    const zk_gguf_kv *toks = zk_gguf_find(g, "tokenizer.ggml.tokens");
    const zk_gguf_kv *sc = zk_gguf_find(g, "tokenizer.ggml.scores");
    const zk_gguf_kv *ty = zk_gguf_find(g, "tokenizer.ggml.token_type");
    const zk_gguf_kv *mg = zk_gguf_find(g, "tokenizer.ggml.merges");
    char *model = NULL, **tokens = NULL, **merges = NULL, *tmpl = NULL;
    float *scores = NULL;
    int32_t *types = NULL;
    zk_tokenizer *t = NULL;

    memset(&d, 0, sizeof(d));
    if (zk_gguf_get_str(g, "tokenizer.ggml.model", &model)) {
        snprintf(err, errlen, "GGUF: no tokenizer.ggml.model string");
        return NULL;
    }
    if (!strcmp(model, "llama")) {
        d.kind = ZK_TOK_SPM;
    } else if (!strcmp(model, "gpt2")) {
        d.kind = ZK_TOK_BPE;
    } else {
        snprintf(err, errlen, "GGUF: tokenizer model \"%.32s\" not supported (llama, gpt2)", model);
        goto out;
    }
    if (!toks || toks->type != ZK_GGUF_ARRAY || toks->arr_type != ZK_GGUF_STRING || toks->n == 0 ||
        toks->n > (1 << 24)) {
        snprintf(err, errlen, "GGUF: tokenizer.ggml.tokens must be a non-empty string array");
        goto out;
    }
    d.n_vocab = (int32_t)toks->n;
    if ((sc && (sc->type != ZK_GGUF_ARRAY || sc->n != toks->n)) ||
        (ty && (ty->type != ZK_GGUF_ARRAY || ty->n != toks->n))) {
        snprintf(err, errlen, "GGUF: tokenizer scores/token_type must have one entry per token");
        goto out;
    }
    if (mg && (mg->type != ZK_GGUF_ARRAY || mg->arr_type != ZK_GGUF_STRING || mg->n > INT32_MAX)) {
        snprintf(err, errlen, "GGUF: tokenizer.ggml.merges must be a string array");
        goto out;
    }
    if (d.kind == ZK_TOK_BPE && !mg) {
        snprintf(err, errlen, "GGUF: gpt2 tokenizer without tokenizer.ggml.merges");
        goto out;
    }
    tokens = copy_strs(toks);
    merges = mg ? copy_strs(mg) : NULL;
    scores = sc ? malloc((size_t)toks->n * sizeof(*scores)) : NULL;
    types = ty ? malloc((size_t)toks->n * sizeof(*types)) : NULL;
    if (!tokens || (mg && !merges) || (sc && !scores) || (ty && !types)) {
        snprintf(err, errlen, "GGUF: out of memory for the tokenizer");
        goto out;
    }
    for (uint64_t i = 0; i < toks->n; i++) {
        double f;
        int64_t v;
        if (sc) {
            if (zk_gguf_arr_float(sc, i, &f)) {
                snprintf(err, errlen, "GGUF: tokenizer.ggml.scores is not numeric");
                goto out;
            }
            scores[i] = (float)f;
        }
        if (ty) {
            if (zk_gguf_arr_int(ty, i, &v) || v < 0 || v > 6) {
                snprintf(err, errlen, "GGUF: tokenizer.ggml.token_type[%llu] is not a token type",
                         (unsigned long long)i);
                goto out;
            }
            types[i] = (int32_t)v;
        }
    }
    d.tokens = (const char *const *)tokens;
    d.scores = scores;
    d.types = types;
    d.merges = (const char *const *)merges;
    d.n_merges = mg ? (int32_t)mg->n : 0;
    d.bos = get_id(g, "tokenizer.ggml.bos_token_id", d.kind == ZK_TOK_SPM ? 1 : -1);
    d.eos = get_id(g, "tokenizer.ggml.eos_token_id", d.kind == ZK_TOK_SPM ? 2 : -1);
    d.unk = get_id(g, "tokenizer.ggml.unknown_token_id", d.kind == ZK_TOK_SPM ? 0 : -1);
    d.pad = get_id(g, "tokenizer.ggml.padding_token_id", -1);
    d.eot = get_id(g, "tokenizer.ggml.eot_token_id", -1);
    d.add_bos = get_flag(g, "tokenizer.ggml.add_bos_token", 1);
    d.add_eos = get_flag(g, "tokenizer.ggml.add_eos_token", 0);
    d.add_space_prefix = get_flag(g, "tokenizer.ggml.add_space_prefix", d.kind == ZK_TOK_SPM);
    if (zk_gguf_get_str(g, "tokenizer.chat_template", &tmpl) == -3) {
        snprintf(err, errlen, "GGUF: out of memory for the tokenizer");
        goto out;
    }
    d.chat_template = tmpl;
    t = zk_tokenizer_new(&d, err, errlen);
    /* End of turn by its text when the file does not name it. */
    if (t && d.eot < 0) {
        static const char *const eot_names[] = { "<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<|end|>" };
        for (size_t i = 0; i < sizeof(eot_names) / sizeof(eot_names[0]); i++) {
            int32_t id = zk_tokenizer_find(t, eot_names[i]);
            if (id >= 0) {
                d.eot = id;
                break;
            }
        }
        if (d.eot >= 0) {
            zk_tokenizer_free(t);
            t = zk_tokenizer_new(&d, err, errlen);
        }
    }
out:
    free(model);
    free(tmpl);
    free_strs(tokens, toks ? toks->n : 0);
    free_strs(merges, mg ? mg->n : 0);
    free(scores);
    free(types);
    return t;
}

zk_tokenizer *zk_tokenizer_from_llama2c(const char *path, int32_t n_vocab, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    zk_tokenizer_desc d;
    char **tokens = NULL;
    float *scores = NULL;
    int32_t *types = NULL, mtl;
    zk_tokenizer *t = NULL;
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (n_vocab < 3 || n_vocab > (1 << 24)) {
        snprintf(err, errlen, "%s: vocabulary of %d tokens", path, n_vocab);
        fclose(f);
        return NULL;
    }
    tokens = calloc((size_t)n_vocab, sizeof(*tokens));
    scores = calloc((size_t)n_vocab, sizeof(*scores));
    types = calloc((size_t)n_vocab, sizeof(*types));
    if (!tokens || !scores || !types || fread(&mtl, 4, 1, f) != 1 || mtl <= 0 || mtl > 65535) {
        goto bad;
    }
    for (int32_t i = 0; i < n_vocab; i++) {
        int32_t len;
        char raw[65536];
        size_t w = 0;
        if (fread(&scores[i], 4, 1, f) != 1 || fread(&len, 4, 1, f) != 1 || len < 0 || len > mtl ||
            fread(raw, 1, (size_t)len, f) != (size_t)len || !(tokens[i] = malloc((size_t)len * 3 + 1))) {
            goto bad;
        }
        /* llama2.c stores spaces; GGUF SentencePiece vocabularies "▁". */
        for (int32_t k = 0; k < len; k++) {
            if (raw[k] == ' ') {
                memcpy(tokens[i] + w, "\xe2\x96\x81", 3);
                w += 3;
            } else {
                tokens[i][w++] = raw[k];
            }
        }
        tokens[i][w] = 0;
        /* Byte pieces "<0xXX>": the tokenizer checks the exact form. */
        types[i] = i == 0 ? ZK_TOKT_UNKNOWN : i <= 2 ? ZK_TOKT_CONTROL
                   : (w == 6 && !memcmp(tokens[i], "<0x", 3)) ? ZK_TOKT_BYTE : ZK_TOKT_NORMAL;
    }
    memset(&d, 0, sizeof(d));
    d.kind = ZK_TOK_SPM;
    d.n_vocab = n_vocab;
    d.tokens = (const char *const *)tokens;
    d.scores = scores;
    d.types = types;
    d.bos = 1;
    d.eos = 2;
    d.unk = 0;
    d.pad = d.eot = -1;
    d.add_bos = 1;
    d.add_space_prefix = 1;
    t = zk_tokenizer_new(&d, err, errlen);
    goto out;
bad:
    snprintf(err, errlen, "%s: not a tokenizer.bin for %d tokens", path, n_vocab);
out:
    fclose(f);
    free_strs(tokens, tokens ? (uint64_t)n_vocab : 0);
    free(scores);
    free(types);
    return t;
}
