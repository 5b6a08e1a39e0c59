/* SPDX-License-Identifier: MIT */
/* tokenizer.c - llama2.c tokenizer.bin: load, BPE encode, decode. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"

struct zk_tok_index {
    const char *str;
    int id;
};

static int cmp_index(const void *a, const void *b)
{
    return strcmp(((const struct zk_tok_index *)a)->str, ((const struct zk_tok_index *)b)->str);
}

void zk_tok_free(zk_llm_tokenizer *t)
{
    if (t->vocab) {
        for (int i = 0; i < t->vocab_size; i++) {
            free(t->vocab[i]);
        }
    }
    free(t->vocab);
    free(t->scores);
    free(t->sorted);
    memset(t, 0, sizeof(*t));
}

int zk_tok_load(zk_llm_tokenizer *t, const char *path, int vocab_size, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    int32_t mtl;
    memset(t, 0, sizeof(*t));
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    t->vocab_size = vocab_size;
    t->vocab = calloc(vocab_size, sizeof(char *));
    t->scores = calloc(vocab_size, sizeof(float));
    t->sorted = calloc(vocab_size, sizeof(*t->sorted));
    for (int i = 0; i < 256; i++) {
        t->byte_pieces[i * 2] = (unsigned char)i;
        t->byte_pieces[i * 2 + 1] = 0;
    }
    if (!t->vocab || !t->scores || !t->sorted || fread(&mtl, 4, 1, f) != 1 || mtl <= 0 ||
        mtl > 4096) {
        goto bad;
    }
    t->max_token_length = (unsigned)mtl;
    for (int i = 0; i < vocab_size; i++) {
        int32_t len;
        if (fread(&t->scores[i], 4, 1, f) != 1 || fread(&len, 4, 1, f) != 1 || len < 0 ||
            len > mtl || !(t->vocab[i] = malloc((size_t)len + 1)) ||
            fread(t->vocab[i], 1, (size_t)len, f) != (size_t)len) {
            goto bad;
        }
        t->vocab[i][len] = 0;
        t->sorted[i].str = t->vocab[i];
        t->sorted[i].id = i;
    }
    fclose(f);
    qsort(t->sorted, (size_t)vocab_size, sizeof(*t->sorted), cmp_index);
    return 0;
bad:
    snprintf(err, errlen, "%s: not a tokenizer.bin for %d tokens", path, vocab_size);
    fclose(f);
    zk_tok_free(t);
    return -1;
}

static int lookup(const zk_llm_tokenizer *t, const char *s)
{
    struct zk_tok_index key = { s, 0 }, *r;
    r = bsearch(&key, t->sorted, (size_t)t->vocab_size, sizeof(key), cmp_index);
    return r ? r->id : -1;
}

const char *zk_tok_decode(const zk_llm_tokenizer *t, int32_t prev, int32_t token)
{
    const char *piece;
    unsigned char b;
    if (token < 0 || token >= t->vocab_size) {
        return "";
    }
    piece = t->vocab[token];
    if (prev == ZK_LLM_BOS && piece[0] == ' ') {
        piece++;
    }
    if (sscanf(piece, "<0x%02hhX>", &b) == 1) {
        piece = (const char *)t->byte_pieces + b * 2;
    }
    return piece;
}

int zk_tok_encode(const zk_llm_tokenizer *t, const char *text, int bos, int eos, int32_t *tokens)
{
    size_t cap = t->max_token_length * 2 + 3, len = 0;
    char *buf = malloc(cap);
    int n = 0;
    if (!buf || !text) {
        free(buf);
        return -1;
    }
    if (bos) {
        tokens[n++] = ZK_LLM_BOS;
    }
    if (text[0]) {
        int sp = lookup(t, " ");
        if (sp >= 0) {
            tokens[n++] = sp;
        }
    }
    /* UTF-8 code points -> tokens (byte fallback). */
    for (const char *c = text; *c; c++) {
        if ((*c & 0xC0) != 0x80) {
            len = 0;
        }
        buf[len++] = *c;
        buf[len] = 0;
        if ((c[1] & 0xC0) == 0x80 && len < 4) {
            continue;
        }
        int id = lookup(t, buf);
        if (id >= 0) {
            tokens[n++] = id;
        } else {
            for (size_t i = 0; i < len; i++) {
                tokens[n++] = (unsigned char)buf[i] + 3;
            }
        }
        len = 0;
    }
    /* Greedy merges by best score. */
    for (;;) {
        float best = -1e10f;
        int best_id = -1, best_idx = -1;
        for (int i = 0; i + 1 < n; i++) {
            const char *a = t->vocab[tokens[i]], *b = t->vocab[tokens[i + 1]];
            size_t la = strlen(a), lb = strlen(b);
            if (la + lb + 1 > cap) {
                continue;
            }
            memcpy(buf, a, la);
            memcpy(buf + la, b, lb + 1);
            int id = lookup(t, buf);
            if (id >= 0 && t->scores[id] > best) {
                best = t->scores[id];
                best_id = id;
                best_idx = i;
            }
        }
        if (best_idx < 0) {
            break;
        }
        tokens[best_idx] = best_id;
        memmove(tokens + best_idx + 1, tokens + best_idx + 2,
                (size_t)(n - best_idx - 2) * sizeof(int32_t));
        n--;
    }
    if (eos) {
        tokens[n++] = ZK_LLM_EOS;
    }
    free(buf);
    return n;
}
