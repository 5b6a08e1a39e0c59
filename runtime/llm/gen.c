/* SPDX-License-Identifier: MIT */
/*
 * gen.c - deterministic random llama2.c checkpoints and tokenizers for tests
 * and the zk-llm demo.
 *
 * Weights come from a splitmix64 stream (uniform, scaled to variance
 * 1/fan_in, so activations stay O(1) through the layers; the embedding has
 * unit variance so the logits are well separated and greedy decoding is
 * robust to rounding).  The tokenizer holds the llama2.c specials, the 256
 * byte fallbacks, the printable ASCII characters and BPE merges learnt from
 * a built-in English text until vocab_size tokens exist.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"

static uint64_t next64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform with standard deviation @std. */
static float urand(uint64_t *s, float std)
{
    double u = (double)(next64(s) >> 11) / 9007199254740992.0;      /* [0,1) */
    return (float)((2.0 * u - 1.0) * 1.7320508075688772 * std);
}

static int put(FILE *f, uint64_t *rng, size_t n, float std, float mean)
{
    float buf[1024];
    while (n) {
        size_t k = n < 1024 ? n : 1024;
        for (size_t i = 0; i < k; i++) {
            buf[i] = mean + (std > 0 ? urand(rng, std) : 0.0f);
        }
        if (fwrite(buf, sizeof(float), k, f) != k) {
            return -1;
        }
        n -= k;
    }
    return 0;
}

int zk_llm_gen_model(const char *path, const zk_llm_config *c, uint64_t seed, int shared)
{
    FILE *f;
    int32_t hdr[7] = { c->dim, c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads,
                       shared ? c->vocab_size : -c->vocab_size, c->seq_len };
    size_t d = (size_t)c->dim, h = (size_t)c->hidden_dim, L = (size_t)c->n_layers;
    size_t kv = (size_t)zk_llm_kv_dim(c), hs = d / (size_t)c->n_heads;
    uint64_t rng = seed * 0x2545F4914F6CDD1Dull + 12345;
    float sd = 1.0f / sqrtf((float)d), sh = 1.0f / sqrtf((float)h);
    int bad = 0;

    if (c->dim <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 || c->dim % c->n_heads ||
        c->n_heads % c->n_kv_heads || hs % 2) {
        errno = EINVAL;
        return -1;
    }
    f = fopen(path, "wb");
    if (!f) {
        return -1;
    }
    bad |= fwrite(hdr, sizeof(hdr), 1, f) != 1;
    bad |= put(f, &rng, (size_t)c->vocab_size * d, 1.0f, 0.0f);    /* embedding */
    bad |= put(f, &rng, L * d, 0.1f, 1.0f);                        /* rms_att */
    bad |= put(f, &rng, L * d * d, sd, 0.0f);                      /* wq */
    bad |= put(f, &rng, L * kv * d, sd, 0.0f);                     /* wk */
    bad |= put(f, &rng, L * kv * d, sd, 0.0f);                     /* wv */
    bad |= put(f, &rng, L * d * d, 0.5f * sd, 0.0f);               /* wo */
    bad |= put(f, &rng, L * d, 0.1f, 1.0f);                        /* rms_ffn */
    bad |= put(f, &rng, L * h * d, sd, 0.0f);                      /* w1 */
    bad |= put(f, &rng, L * d * h, 0.5f * sh, 0.0f);               /* w2 */
    bad |= put(f, &rng, L * h * d, sd, 0.0f);                      /* w3 */
    bad |= put(f, &rng, d, 0.0f, 1.0f);                            /* rms_final */
    /* freq_cis_real / imag as llama2.c's export writes them (unused). */
    for (int part = 0; part < 2 && !bad; part++) {
        for (int t = 0; t < c->seq_len && !bad; t++) {
            for (size_t i = 0; i < hs / 2; i++) {
                float fr = 1.0f / powf(10000.0f, (float)(2 * i) / (float)hs);
                float v = part ? sinf((float)t * fr) : cosf((float)t * fr);
                bad |= fwrite(&v, sizeof(v), 1, f) != 1;
            }
        }
    }
    if (!shared) {
        /* Classifier rows of the specials and byte tokens get a smaller
         * scale so a random model prefers printable text tokens. */
        size_t low = c->vocab_size > 259 ? 259 : (size_t)c->vocab_size;
        bad |= put(f, &rng, low * d, 0.3f, 0.0f);
        bad |= put(f, &rng, ((size_t)c->vocab_size - low) * d, 1.0f, 0.0f);
    }
    if (fclose(f) || bad) {
        if (!errno) {
            errno = EIO;
        }
        return -1;
    }
    return 0;
}

static const char corpus[] =
    "Once upon a time, there was a little girl named Lily. She loved to play outside "
    "in the park with her friends. One day, she saw a big red ball under a tree. "
    "She wanted to play with the ball, but it was too high. Lily asked her mom for help. "
    "Her mom smiled and said, \"Let us get the ball together.\" They found a long stick "
    "and pushed the ball down. Lily was very happy. She said thank you to her mom and ran "
    "to play with her friends. Once upon a time, there was a small dog named Max. Max "
    "liked to run and jump in the sun. He had a friend, a little cat named Tom. Every day "
    "they went to the river to look at the fish. One day the water was very cold, and Tom "
    "did not want to go in. Max said, \"Do not be sad, we can play on the grass.\" They "
    "played all day and had a lot of fun. When the sun went down, they went home to sleep. "
    "The next morning, Lily and her mom went to the store. They wanted to buy a cake for "
    "the party. The cake was big and sweet. Lily was so excited that she could not wait. "
    "At the party, all of her friends sang and laughed. It was the best day ever. "
    "There was once a boy who liked to read books about the stars and the moon. He dreamed "
    "of flying in a rocket to see them. His dad gave him a toy rocket, and the boy played "
    "with it every night before bed. He was happy and thankful for his kind dad.";

typedef struct sym {
    char s[48];
} sym;

int zk_llm_gen_tokenizer(const char *path, int vocab_size)
{
    enum { MAXW = 512, MAXL = 48 };
    char **vocab;
    float *scores;
    int nv = 0, mtl = 1, nw = 0;
    size_t clen = strlen(corpus);
    sym (*words)[MAXL] = calloc(MAXW, sizeof(*words));
    int *wlen = calloc(MAXW, sizeof(int));
    FILE *f;
    int rc = -1;

    vocab = calloc((size_t)vocab_size, sizeof(char *));
    scores = calloc((size_t)vocab_size, sizeof(float));
    if (vocab_size < 259 || !vocab || !scores || !words || !wlen) {
        errno = EINVAL;
        goto out;
    }
    vocab[nv] = strdup("<unk>");
    scores[nv++] = 0;
    vocab[nv] = strdup("\n<s>\n");
    scores[nv++] = 0;
    vocab[nv] = strdup("\n</s>\n");
    scores[nv++] = 0;
    for (int b = 0; b < 256; b++) {
        char buf[8];
        snprintf(buf, sizeof(buf), "<0x%02X>", b);
        vocab[nv] = strdup(buf);
        scores[nv++] = 0;
    }
    for (int ch = 32; ch < 127 && nv < vocab_size; ch++) {
        char buf[2] = { (char)ch, 0 };
        vocab[nv] = strdup(buf);
        scores[nv++] = -1e6f;
    }
    /* Words with their leading space, as symbol sequences of characters. */
    for (size_t i = 0; i < clen && nw < MAXW;) {
        size_t j = i + 1;
        while (j < clen && corpus[j] != ' ' && j - i < MAXL) {
            j++;
        }
        for (size_t k = i; k < j; k++) {
            words[nw][k - i].s[0] = corpus[k];
        }
        wlen[nw++] = (int)(j - i);
        i = j;
    }
    /* BPE: merge the most frequent adjacent pair (ties: first seen). */
    while (nv < vocab_size) {
        char best[96] = "";
        int best_n = 0;
        for (int w = 0; w < nw; w++) {
            for (int k = 0; k + 1 < wlen[w]; k++) {
                char cand[96];
                int cnt = 0, known = 0;
                if (strlen(words[w][k].s) + strlen(words[w][k + 1].s) >= 47) {
                    continue;
                }
                snprintf(cand, sizeof(cand), "%s%s", words[w][k].s, words[w][k + 1].s);
                for (int v = 259; v < nv && !known; v++) {
                    known = !strcmp(vocab[v], cand);
                }
                if (known) {
                    continue;
                }
                /* Count occurrences of this pair (quadratic but tiny). */
                for (int w2 = 0; w2 < nw; w2++) {
                    for (int k2 = 0; k2 + 1 < wlen[w2]; k2++) {
                        cnt += !strcmp(words[w2][k2].s, words[w][k].s) &&
                               !strcmp(words[w2][k2 + 1].s, words[w][k + 1].s);
                    }
                }
                if (cnt > best_n) {
                    best_n = cnt;
                    snprintf(best, sizeof(best), "%s", cand);
                }
            }
        }
        if (best_n < 2) {
            break;
        }
        vocab[nv] = strdup(best);
        scores[nv] = -(float)(nv - 259);
        mtl = (int)strlen(best) > mtl ? (int)strlen(best) : mtl;
        nv++;
        /* Apply the merge everywhere. */
        for (int w = 0; w < nw; w++) {
            for (int k = 0; k + 1 < wlen[w]; k++) {
                char cand[96];
                snprintf(cand, sizeof(cand), "%s%s", words[w][k].s, words[w][k + 1].s);
                if (!strcmp(cand, best)) {
                    snprintf(words[w][k].s, sizeof(words[w][k].s), "%s", best);
                    memmove(&words[w][k + 1], &words[w][k + 2],
                            (size_t)(wlen[w] - k - 2) * sizeof(sym));
                    wlen[w]--;
                }
            }
        }
    }
    /* Pad with unused byte-pair tokens if the text ran out of merges. */
    for (int i = 0; nv < vocab_size; i++) {
        char buf[16];
        snprintf(buf, sizeof(buf), "<pad%d>", i);
        vocab[nv] = strdup(buf);
        scores[nv++] = -1e7f;
    }
    for (int i = 0; i < nv; i++) {
        if (!vocab[i]) {
            errno = ENOMEM;
            goto out;
        }
        mtl = (int)strlen(vocab[i]) > mtl ? (int)strlen(vocab[i]) : mtl;
    }
    f = fopen(path, "wb");
    if (!f) {
        goto out;
    }
    rc = fwrite(&mtl, 4, 1, f) == 1 ? 0 : -1;
    for (int i = 0; i < nv && !rc; i++) {
        int32_t len = (int32_t)strlen(vocab[i]);
        rc = (fwrite(&scores[i], 4, 1, f) == 1 && fwrite(&len, 4, 1, f) == 1 &&
              fwrite(vocab[i], 1, (size_t)len, f) == (size_t)len) ? 0 : -1;
    }
    if (fclose(f)) {
        rc = -1;
    }
out:
    if (vocab) {
        for (int i = 0; i < vocab_size; i++) {
            free(vocab[i]);
        }
    }
    free(vocab);
    free(scores);
    free(words);
    free(wlen);
    return rc;
}
