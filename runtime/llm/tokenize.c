/* SPDX-License-Identifier: MIT */
/*
 * tokenize.c - the SentencePiece-style and byte-level BPE tokenizers of
 * tokenizer.h: vocabulary hash, special-token splitting, SPM merges by
 * score, Llama 3 pre-tokenizer and ranked BPE merges, pieces and decoding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "tokenizer.h"

#define SPM_SPACE "\xe2\x96\x81"        /* U+2581 */

struct zk_tokenizer {
    int kind;
    int32_t n;
    uint32_t max_len;           /* longest token text */
    char **tok;
    uint32_t *len;
    float *score;
    int32_t *type;
    uint32_t map_cap;           /* vocabulary hash: text -> id */
    int32_t *map;
    uint32_t pair_cap;          /* BPE: (left, right) -> rank, result */
    struct pair { uint64_t key; int32_t rank, result; } *pairs;
    int32_t *special;           /* ids matched verbatim, longest first */
    int32_t n_special;
    uint8_t special_first[32];  /* bitmap of their first bytes */
    int32_t bos, eos, eot, unk, pad;
    int add_bos, add_eos, add_space_prefix;
    int32_t byte_tok[256];      /* SPM: <0xXX>; BPE: the byte's character */
    uint16_t byte_char[256];    /* BPE: GPT-2 byte -> code point */
    char *chat_template;
};

/* ------------------------------------------------------------------ */
/* Hashing                                                             */
/* ------------------------------------------------------------------ */
static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    }
    return h;
}

static uint32_t hash_u64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (uint32_t)k;
}

static int32_t lookup(const zk_tokenizer *t, const char *s, size_t n)
{
    for (uint32_t i = hash_bytes(s, n) & (t->map_cap - 1);; i = (i + 1) & (t->map_cap - 1)) {
        int32_t id = t->map[i];
        if (id < 0) {
            return -1;
        }
        if (t->len[id] == n && !memcmp(t->tok[id], s, n)) {
            return id;
        }
    }
}

static const struct pair *find_pair(const zk_tokenizer *t, int32_t a, int32_t b)
{
    uint64_t k = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    if (!t->pair_cap) {
        return NULL;
    }
    for (uint32_t i = hash_u64(k) & (t->pair_cap - 1);; i = (i + 1) & (t->pair_cap - 1)) {
        if (t->pairs[i].rank < 0) {
            return NULL;
        }
        if (t->pairs[i].key == k) {
            return &t->pairs[i];
        }
    }
}

static uint32_t pow2_above(uint64_t n)
{
    uint32_t c = 16;
    while (c < 2 * n) {
        c *= 2;
    }
    return c;
}

/* ------------------------------------------------------------------ */
/* UTF-8                                                               */
/* ------------------------------------------------------------------ */
/* Length of the UTF-8 sequence at s (1 for invalid bytes), its code point. */
static size_t utf8_next(const char *s, size_t n, uint32_t *cp)
{
    const uint8_t *u = (const uint8_t *)s;
    size_t len;
    uint32_t c;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    if ((u[0] & 0xE0) == 0xC0) {
        len = 2;
        c = u[0] & 0x1F;
    } else if ((u[0] & 0xF0) == 0xE0) {
        len = 3;
        c = u[0] & 0x0F;
    } else if ((u[0] & 0xF8) == 0xF0) {
        len = 4;
        c = u[0] & 0x07;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (len > n) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        c = c << 6 | (u[i] & 0x3F);
    }
    *cp = c;
    return len;
}

static size_t utf8_put(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* "<0xXX>" (two hex digits) -> the byte, or -1. */
static int byte_token(const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const char *h, *l;
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>' || !s[3] || !s[4] ||
        !(h = strchr(hex, s[3])) || !(l = strchr(hex, s[4]))) {
        return -1;
    }
    return (int)((h - hex) * 16 + (l - hex));
}

/* ------------------------------------------------------------------ */
/* Construction                                                        */
/* ------------------------------------------------------------------ */
void zk_tokenizer_free(zk_tokenizer *t)
{
    if (!t) {
        return;
    }
    if (t->tok) {
        for (int32_t i = 0; i < t->n; i++) {
            free(t->tok[i]);
        }
    }
    free(t->tok);
    free(t->len);
    free(t->score);
    free(t->type);
    free(t->map);
    free(t->pairs);
    free(t->special);
    free(t->chat_template);
    free(t);
}

typedef struct len_id {
    uint32_t len;
    int32_t id;
} len_id;

static int by_len_desc(const void *a, const void *b)
{
    const len_id *x = a, *y = b;
    if (x->len != y->len) {
        return x->len < y->len ? 1 : -1;
    }
    return (x->id > y->id) - (x->id < y->id);
}

/* Longest special token first, so "<|eot_id|>" wins over a "<|" prefix. */
static int sort_specials(zk_tokenizer *t)
{
    len_id *v = malloc((size_t)(t->n_special ? t->n_special : 1) * sizeof(*v));
    if (!v) {
        return -1;
    }
    for (int32_t i = 0; i < t->n_special; i++) {
        v[i] = (len_id){ t->len[t->special[i]], t->special[i] };
    }
    qsort(v, (size_t)t->n_special, sizeof(*v), by_len_desc);
    for (int32_t i = 0; i < t->n_special; i++) {
        t->special[i] = v[i].id;
    }
    free(v);
    return 0;
}

/* GPT-2's map of bytes to printable code points: bytes that are printable
 * and not space keep their value, the others get 256, 257, ... in order. */
static void gpt2_byte_map(uint16_t *m)
{
    uint16_t next = 256;
    for (int b = 0; b < 256; b++) {
        int keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        m[b] = keep ? (uint16_t)b : next++;
    }
}

static int32_t valid_id(int32_t id, int32_t n)
{
    return id >= 0 && id < n ? id : -1;
}

zk_tokenizer *zk_tokenizer_new(const zk_tokenizer_desc *d, char *err, size_t errlen)
{
    zk_tokenizer *t;
    if (d->kind != ZK_TOK_SPM && d->kind != ZK_TOK_BPE) {
        snprintf(err, errlen, "tokenizer: unknown kind %d", d->kind);
        return NULL;
    }
    if (d->n_vocab <= 0 || d->n_vocab > (1 << 24) || !d->tokens) {
        snprintf(err, errlen, "tokenizer: vocabulary of %d tokens (1..16M)", d->n_vocab);
        return NULL;
    }
    if (d->n_merges < 0 || (d->n_merges && !d->merges)) {
        snprintf(err, errlen, "tokenizer: bad merge list");
        return NULL;
    }
    if (!(t = calloc(1, sizeof(*t)))) {
        goto oom;
    }
    t->kind = d->kind;
    t->n = d->n_vocab;
    t->tok = calloc((size_t)t->n, sizeof(*t->tok));
    t->len = calloc((size_t)t->n, sizeof(*t->len));
    t->score = calloc((size_t)t->n, sizeof(*t->score));
    t->type = calloc((size_t)t->n, sizeof(*t->type));
    t->map_cap = pow2_above((uint64_t)t->n);
    t->map = malloc(t->map_cap * sizeof(*t->map));
    t->special = malloc((size_t)t->n * sizeof(*t->special));
    if (!t->tok || !t->len || !t->score || !t->type || !t->map || !t->special) {
        goto oom;
    }
    memset(t->map, 0xff, t->map_cap * sizeof(*t->map));
    for (int i = 0; i < 256; i++) {
        t->byte_tok[i] = -1;
    }
    gpt2_byte_map(t->byte_char);
    for (int32_t i = 0; i < t->n; i++) {
        const char *s = d->tokens[i] ? d->tokens[i] : "";
        size_t n = strlen(s);
        if (n > 65535 || !(t->tok[i] = malloc(n + 1))) {
            if (n > 65535) {
                snprintf(err, errlen, "tokenizer: token %d is %zu bytes long", i, n);
                zk_tokenizer_free(t);
                return NULL;
            }
            goto oom;
        }
        memcpy(t->tok[i], s, n + 1);
        t->len[i] = (uint32_t)n;
        t->max_len = t->len[i] > t->max_len ? t->len[i] : t->max_len;
        t->score[i] = d->scores ? d->scores[i] : 0.0f;
        t->type[i] = d->types ? d->types[i] : ZK_TOKT_NORMAL;
        /* First id wins for duplicate texts (as llama.cpp's map). */
        if (lookup(t, s, n) < 0) {
            uint32_t h = hash_bytes(s, n) & (t->map_cap - 1);
            while (t->map[h] >= 0) {
                h = (h + 1) & (t->map_cap - 1);
            }
            t->map[h] = i;
        }
        if ((t->type[i] == ZK_TOKT_CONTROL || t->type[i] == ZK_TOKT_USER_DEFINED) && n) {
            t->special[t->n_special++] = i;
            t->special_first[(uint8_t)s[0] / 8] |= (uint8_t)(1u << ((uint8_t)s[0] % 8));
        }
        int b = t->kind == ZK_TOK_SPM ? byte_token(s, n) : -1;
        if (b >= 0 && t->byte_tok[b] < 0) {
            t->byte_tok[b] = i;
        }
    }
    if (sort_specials(t)) {
        goto oom;
    }
    if (t->kind == ZK_TOK_BPE) {
        char c[4];
        for (int b = 0; b < 256; b++) {
            t->byte_tok[b] = lookup(t, c, utf8_put(c, t->byte_char[b]));
        }
        t->pair_cap = pow2_above((uint64_t)d->n_merges);
        if (!(t->pairs = malloc(t->pair_cap * sizeof(*t->pairs)))) {
            goto oom;
        }
        for (uint32_t i = 0; i < t->pair_cap; i++) {
            t->pairs[i].rank = -1;
        }
        for (int32_t r = 0; r < d->n_merges; r++) {
            const char *m = d->merges[r] ? d->merges[r] : "", *sp = strchr(m, ' ');
            int32_t a, b2, res;
            if (!sp || sp == m || !sp[1]) {
                continue;       /* malformed merge: unusable, ignored */
            }
            a = lookup(t, m, (size_t)(sp - m));
            b2 = lookup(t, sp + 1, strlen(sp + 1));
            size_t la = (size_t)(sp - m), lb = strlen(sp + 1);
            char *cat = malloc(la + lb + 1);
            if (!cat) {
                goto oom;
            }
            memcpy(cat, m, la);
            memcpy(cat + la, sp + 1, lb);
            res = lookup(t, cat, la + lb);
            free(cat);
            if (a < 0 || b2 < 0 || res < 0 || find_pair(t, a, b2)) {
                continue;
            }
            uint64_t k = (uint64_t)(uint32_t)a << 32 | (uint32_t)b2;
            uint32_t h = hash_u64(k) & (t->pair_cap - 1);
            while (t->pairs[h].rank >= 0) {
                h = (h + 1) & (t->pair_cap - 1);
            }
            t->pairs[h] = (struct pair){ k, r, res };
        }
    }
    t->bos = valid_id(d->bos, t->n);
    t->eos = valid_id(d->eos, t->n);
    t->eot = valid_id(d->eot, t->n);
    t->unk = valid_id(d->unk, t->n);
    t->pad = valid_id(d->pad, t->n);
    t->add_bos = d->add_bos && t->bos >= 0;
    t->add_eos = d->add_eos && t->eos >= 0;
    t->add_space_prefix = d->add_space_prefix;
    if (d->chat_template && !(t->chat_template = strdup(d->chat_template))) {
        goto oom;
    }
    return t;
oom:
    snprintf(err, errlen, "tokenizer: out of memory");
    zk_tokenizer_free(t);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Output buffer of ids                                                */
/* ------------------------------------------------------------------ */
typedef struct ids {
    int32_t *out;
    int32_t cap, n;
} ids;

static void emit(ids *o, int32_t id)
{
    if (o->n < o->cap) {
        o->out[o->n] = id;
    }
    if (o->n < INT32_MAX) {
        o->n++;
    }
}

/* ------------------------------------------------------------------ */
/* SentencePiece-style BPE                                             */
/* ------------------------------------------------------------------ */
typedef struct sym {
    size_t off, n;              /* bytes of the text; n 0 = merged away */
    int prev, next;
} sym;

typedef struct bigram {
    float score;
    int left;
    size_t size;
} bigram;

typedef struct heap {
    bigram *b;
    size_t n, cap;
} heap;

static int bigram_before(const bigram *x, const bigram *y)  /* x pops first */
{
    return x->score > y->score || (x->score == y->score && x->left < y->left);
}

static int heap_push(heap *h, bigram v)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        bigram *nb = realloc(h->b, cap * sizeof(*nb));
        if (!nb) {
            return -1;
        }
        h->b = nb;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i && bigram_before(&v, &h->b[(i - 1) / 2])) {
        h->b[i] = h->b[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->b[i] = v;
    return 0;
}

static bigram heap_pop(heap *h)
{
    bigram top = h->b[0], last = h->b[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        const bigram *best = &last;
        if (l < h->n && bigram_before(&h->b[l], best)) {
            m = l;
            best = &h->b[l];
        }
        if (l + 1 < h->n && bigram_before(&h->b[l + 1], best)) {
            m = l + 1;
        }
        if (m == i) {
            break;
        }
        h->b[i] = h->b[m];
        i = m;
    }
    if (h->n) {
        h->b[i] = last;
    }
    return top;
}

static int spm_try(const zk_tokenizer *t, const char *text, sym *s, int l, int r, heap *h)
{
    if (l < 0 || r < 0) {
        return 0;
    }
    int32_t id = lookup(t, text + s[l].off, s[l].n + s[r].n);
    if (id < 0) {
        return 0;
    }
    return heap_push(h, (bigram){ t->score[id], l, s[l].n + s[r].n });
}

static int spm_fragment(const zk_tokenizer *t, const char *frag, size_t flen, int prefix, ids *o)
{
    /* Normalise: optional leading "▁", spaces -> "▁". */
    size_t cap = (prefix ? 3 : 0) + flen * 3 + 1, n = 0;
    char *text = malloc(cap);
    sym *s = NULL;
    heap h = { 0 };
    int rc = -1, ns = 0;
    if (!text) {
        return -1;
    }
    if (prefix) {
        memcpy(text, SPM_SPACE, 3);
        n = 3;
    }
    for (size_t i = 0; i < flen; i++) {
        if (frag[i] == ' ') {
            memcpy(text + n, SPM_SPACE, 3);
            n += 3;
        } else {
            text[n++] = frag[i];
        }
    }
    if (!(s = malloc((n ? n : 1) * sizeof(*s)))) {
        goto out;
    }
    for (size_t off = 0; off < n;) {
        uint32_t cp;
        size_t l = utf8_next(text + off, n - off, &cp);
        s[ns] = (sym){ off, l, ns - 1, -1 };
        if (ns) {
            s[ns - 1].next = ns;
        }
        ns++;
        off += l;
    }
    for (int i = 1; i < ns; i++) {
        if (spm_try(t, text, s, i - 1, i, &h)) {
            goto out;
        }
    }
    while (h.n) {
        bigram b = heap_pop(&h);
        int l = b.left, r = s[l].next;
        if (r < 0 || s[l].n == 0 || s[r].n == 0 || s[l].n + s[r].n != b.size) {
            continue;           /* stale: one side already merged */
        }
        s[l].n += s[r].n;
        s[r].n = 0;
        s[l].next = s[r].next;
        if (s[r].next >= 0) {
            s[s[r].next].prev = l;
        }
        if (spm_try(t, text, s, s[l].prev, l, &h) || spm_try(t, text, s, l, s[l].next, &h)) {
            goto out;
        }
    }
    for (int i = ns ? 0 : -1; i >= 0; i = s[i].next) {
        int32_t id = lookup(t, text + s[i].off, s[i].n);
        if (id >= 0) {
            emit(o, id);
            continue;
        }
        for (size_t k = 0; k < s[i].n; k++) {       /* byte fallback */
            int32_t bt = t->byte_tok[(uint8_t)text[s[i].off + k]];
            if (bt < 0 && t->unk < 0) {
                goto out;
            }
            if (bt >= 0) {
                emit(o, bt);
            } else if (k == 0) {
                emit(o, t->unk);                    /* one <unk> per character */
            }
        }
    }
    rc = 0;
out:
    free(h.b);
    free(s);
    free(text);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Byte-level BPE (GPT-2 / Llama 3)                                    */
/* ------------------------------------------------------------------ */
enum { C_OTHER, C_LETTER, C_NUMBER, C_SPACE };

/* Approximate Unicode classes: \p{L}, \p{N}, \s.  Exact for ASCII and
 * Latin-1; above that, whitespace and digit blocks are listed, marks,
 * punctuation and symbol blocks are "other", the rest letters. */
static int bpe_class(uint32_t c)
{
    if (c < 0x80) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            return C_LETTER;
        }
        if (c >= '0' && c <= '9') {
            return C_NUMBER;
        }
        return (c == ' ' || (c >= 9 && c <= 13)) ? C_SPACE : C_OTHER;
    }
    if (c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
        c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000) {
        return C_SPACE;
    }
    if (c < 0x100) {
        if (c == 0xAA || c == 0xB5 || c == 0xBA || (c >= 0xC0 && c != 0xD7 && c != 0xF7)) {
            return C_LETTER;
        }
        if (c == 0xB2 || c == 0xB3 || c == 0xB9 || (c >= 0xBC && c <= 0xBE)) {
            return C_NUMBER;
        }
        return C_OTHER;
    }
    if ((c >= 0x660 && c <= 0x669) || (c >= 0x6F0 && c <= 0x6F9) || (c >= 0x966 && c <= 0x96F) ||
        (c >= 0xFF10 && c <= 0xFF19) || (c >= 0x2070 && c <= 0x2079) || (c >= 0x2080 && c <= 0x2089) ||
        (c >= 0x2150 && c <= 0x2189) || (c >= 0x2460 && c <= 0x249B) || (c >= 0x3021 && c <= 0x3029) ||
        c == 0x3007) {
        return C_NUMBER;
    }
    if ((c >= 0x300 && c <= 0x36F) || (c >= 0x2000 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x303F) ||
        (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF0F) ||
        (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65) ||
        (c >= 0x1F000 && c <= 0x1FAFF) || c == 0xFFFD || c == 0x37E || c == 0x387 ||
        (c >= 0x55A && c <= 0x55F) || c == 0x589 || (c >= 0x5BE && c <= 0x5C7) || c == 0x60C ||
        c == 0x61B || c == 0x61F || c == 0x6D4 || (c >= 0xE000 && c <= 0xF8FF)) {
        return C_OTHER;
    }
    return C_LETTER;
}

static int is_nl(uint32_t c)
{
    return c == '\r' || c == '\n';
}

static int lower_is(uint32_t c, char want)
{
    return c == (uint32_t)want || c == (uint32_t)(want - 'a' + 'A');
}

/* Length in code points of the Llama 3 pre-token at cp[i..n). */
static size_t llama3_split(const uint32_t *cp, const uint8_t *cl, size_t i, size_t n)
{
    size_t j;
    /* (?i:'s|'t|'re|'ve|'m|'ll|'d) */
    if (cp[i] == '\'' && i + 1 < n) {
        uint32_t a = cp[i + 1], b = i + 2 < n ? cp[i + 2] : 0;
        if (lower_is(a, 's') || lower_is(a, 't') || lower_is(a, 'm') || lower_is(a, 'd')) {
            return 2;
        }
        if ((lower_is(a, 'r') && lower_is(b, 'e')) || (lower_is(a, 'v') && lower_is(b, 'e')) ||
            (lower_is(a, 'l') && lower_is(b, 'l'))) {
            return 3;
        }
    }
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    j = i;
    if (cl[j] != C_LETTER && cl[j] != C_NUMBER && !is_nl(cp[j]) && j + 1 < n && cl[j + 1] == C_LETTER) {
        j++;
    }
    if (cl[j] == C_LETTER) {
        while (j < n && cl[j] == C_LETTER) {
            j++;
        }
        return j - i;
    }
    /* \p{N}{1,3} */
    if (cl[i] == C_NUMBER) {
        for (j = i; j < n && j < i + 3 && cl[j] == C_NUMBER; j++) {
        }
        return j - i;
    }
    /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
    j = i + (cp[i] == ' ' && i + 1 < n && cl[i + 1] == C_OTHER);
    if (cl[j] == C_OTHER) {
        while (j < n && cl[j] == C_OTHER) {
            j++;
        }
        while (j < n && is_nl(cp[j])) {
            j++;
        }
        return j - i;
    }
    /* \s*[\r\n]+ | \s+(?!\S) | \s+ */
    size_t end = i, last_nl = 0;
    while (end < n && cl[end] == C_SPACE) {
        if (is_nl(cp[end])) {
            last_nl = end + 1;
        }
        end++;
    }
    if (last_nl) {
        return last_nl - i;
    }
    if (end == n || end - i == 1) {
        return end - i;
    }
    return end - i - 1;
}

static int bpe_word(const zk_tokenizer *t, const char *w, size_t wlen, ids *o)
{
    /* Map the bytes to GPT-2 characters: each byte one symbol. */
    char *m = malloc(wlen * 2 + 1);
    int32_t *sym = malloc((wlen ? wlen : 1) * sizeof(*sym));
    size_t ml = 0, ns = wlen;
    int rc = -1;
    if (!m || !sym) {
        goto out;
    }
    for (size_t i = 0; i < wlen; i++) {
        ml += utf8_put(m + ml, t->byte_char[(uint8_t)w[i]]);
        sym[i] = t->byte_tok[(uint8_t)w[i]];
    }
    /* Llama 3 (ignore_merges): a word that is itself a token stays whole. */
    int32_t whole = lookup(t, m, ml);
    if (whole >= 0) {
        emit(o, whole);
        rc = 0;
        goto out;
    }
    for (;;) {
        int32_t best_rank = INT32_MAX, best_res = -1;
        size_t best = 0;
        for (size_t i = 0; i + 1 < ns; i++) {
            const struct pair *p;
            if (sym[i] >= 0 && sym[i + 1] >= 0 && (p = find_pair(t, sym[i], sym[i + 1])) &&
                p->rank < best_rank) {
                best_rank = p->rank;
                best_res = p->result;
                best = i;
            }
        }
        if (best_res < 0) {
            break;
        }
        sym[best] = best_res;
        memmove(sym + best + 1, sym + best + 2, (ns - best - 2) * sizeof(*sym));
        ns--;
    }
    for (size_t i = 0; i < ns; i++) {
        if (sym[i] >= 0) {
            emit(o, sym[i]);
        } else if (t->unk >= 0) {
            emit(o, t->unk);
        } else {
            goto out;
        }
    }
    rc = 0;
out:
    free(m);
    free(sym);
    return rc;
}

static int bpe_fragment(const zk_tokenizer *t, const char *frag, size_t flen, ids *o)
{
    uint32_t *cp = malloc((flen ? flen : 1) * sizeof(*cp));
    size_t *off = malloc((flen + 1) * sizeof(*off));
    uint8_t *cl = malloc(flen ? flen : 1);
    size_t n = 0;
    int rc = -1;
    if (!cp || !off || !cl) {
        goto out;
    }
    for (size_t b = 0; b < flen;) {
        off[n] = b;
        b += utf8_next(frag + b, flen - b, &cp[n]);
        cl[n] = (uint8_t)bpe_class(cp[n]);
        n++;
    }
    off[n] = flen;
    for (size_t i = 0; i < n;) {
        size_t k = llama3_split(cp, cl, i, n);
        if (bpe_word(t, frag + off[i], off[i + k] - off[i], o)) {
            goto out;
        }
        i += k;
    }
    rc = 0;
out:
    free(cp);
    free(off);
    free(cl);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Encode                                                              */
/* ------------------------------------------------------------------ */
/* The special token whose text starts at s (longest), or -1. */
static int32_t special_at(const zk_tokenizer *t, const char *s, size_t n)
{
    uint8_t c = (uint8_t)s[0];
    if (!(t->special_first[c / 8] & (1u << (c % 8)))) {
        return -1;
    }
    for (int32_t k = 0; k < t->n_special; k++) {
        int32_t id = t->special[k];
        if (t->len[id] <= n && !memcmp(t->tok[id], s, t->len[id])) {
            return id;
        }
    }
    return -1;
}

int32_t zk_tokenizer_encode(const zk_tokenizer *t, const char *text, size_t len, int add_special,
                            int parse_special, int32_t *out, int32_t cap)
{
    ids o = { out, cap < 0 ? 0 : cap, 0 };
    int prev_special = 1;       /* SPM: the space prefix goes at the start and after specials */
    size_t start = 0;
    if (!text) {
        len = 0;
    }
    if (add_special && t->add_bos) {
        emit(&o, t->bos);
    }
    for (size_t i = 0; i <= len;) {
        int32_t sp = i < len && parse_special ? special_at(t, text + i, len - i) : -1;
        if (sp < 0 && i < len) {
            i++;
            continue;
        }
        if (i > start) {
            int rc = t->kind == ZK_TOK_SPM
                         ? spm_fragment(t, text + start, i - start, t->add_space_prefix && prev_special, &o)
                         : bpe_fragment(t, text + start, i - start, &o);
            if (rc) {
                return -1;
            }
            prev_special = 0;
        }
        if (sp < 0) {
            break;
        }
        emit(&o, sp);
        prev_special = 1;
        i += t->len[sp];
        start = i;
    }
    if (add_special && t->add_eos) {
        emit(&o, t->eos);
    }
    return o.n;
}

/* ------------------------------------------------------------------ */
/* Decode                                                              */
/* ------------------------------------------------------------------ */
static int is_control(const zk_tokenizer *t, int32_t id)
{
    return t->type[id] == ZK_TOKT_CONTROL || t->type[id] == ZK_TOKT_UNKNOWN ||
           t->type[id] == ZK_TOKT_UNUSED;
}

int32_t zk_tokenizer_piece(const zk_tokenizer *t, int32_t id, int skip_special, char *buf, size_t cap)
{
    const char *s;
    size_t n, w = 0;
    if (id < 0 || id >= t->n) {
        return -1;
    }
    s = t->tok[id];
    n = t->len[id];
#define PUT(c) do { if (w < cap) buf[w] = (char)(c); w++; } while (0)
    if (is_control(t, id)) {
        if (skip_special) {
            return 0;
        }
        for (size_t i = 0; i < n; i++) {
            PUT(s[i]);
        }
        return (int32_t)w;
    }
    if (t->kind == ZK_TOK_SPM) {
        int b = t->type[id] == ZK_TOKT_BYTE ? byte_token(s, n) : -1;
        if (b >= 0) {
            PUT(b);
            return 1;
        }
        for (size_t i = 0; i < n; i++) {
            if (i + 3 <= n && !memcmp(s + i, SPM_SPACE, 3)) {
                PUT(' ');
                i += 2;
            } else {
                PUT(s[i]);
            }
        }
        return (int32_t)w;
    }
    if (t->type[id] == ZK_TOKT_USER_DEFINED) {
        for (size_t i = 0; i < n; i++) {
            PUT(s[i]);
        }
        return (int32_t)w;
    }
    for (size_t i = 0; i < n;) {    /* GPT-2 characters back to bytes */
        uint32_t cp;
        size_t l = utf8_next(s + i, n - i, &cp);
        int byte = -1;
        if (cp < 0x100 && t->byte_char[cp] == cp) {
            byte = (int)cp;
        } else if (cp >= 0x100 && cp < 0x144) {
            for (int b = 0; b < 256; b++) {
                if (t->byte_char[b] == cp) {
                    byte = b;
                    break;
                }
            }
        }
        if (byte >= 0) {
            PUT(byte);
        } else {
            for (size_t k = 0; k < l; k++) {
                PUT(s[i + k]);
            }
        }
        i += l;
    }
#undef PUT
    return (int32_t)w;
}

int32_t zk_tokenizer_decode(const zk_tokenizer *t, const int32_t *tokens, size_t n, int skip_special,
                            char *buf, size_t cap)
{
    size_t w = 0;
    int first_text = 1;
    char *tmp = malloc((size_t)t->max_len + 1);
    if (!tmp) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int32_t k = zk_tokenizer_piece(t, tokens[i], skip_special, tmp, (size_t)t->max_len + 1);
        const char *p = tmp;
        if (k < 0 || w > INT32_MAX) {
            free(tmp);
            return -1;
        }
        if (k > 0 && first_text && !is_control(t, tokens[i])) {
            first_text = 0;
            /* Drop the space the SPM encoder prefixed. */
            if (t->kind == ZK_TOK_SPM && t->add_space_prefix && p[0] == ' ') {
                p++;
                k--;
            }
        }
        for (int32_t j = 0; j < k; j++, w++) {
            if (w < cap) {
                buf[w] = p[j];
            }
        }
    }
    free(tmp);
    if (cap) {
        buf[w < cap ? w : cap - 1] = 0;
    }
    return w > INT32_MAX ? -1 : (int32_t)w;
}

/* ------------------------------------------------------------------ */
/* Accessors                                                           */
/* ------------------------------------------------------------------ */
int32_t zk_tokenizer_n_vocab(const zk_tokenizer *t)
{
    return t->n;
}

int zk_tokenizer_kind(const zk_tokenizer *t)
{
    return t->kind;
}

int32_t zk_tokenizer_bos(const zk_tokenizer *t)
{
    return t->bos;
}

int32_t zk_tokenizer_eos(const zk_tokenizer *t)
{
    return t->eos;
}

int zk_tokenizer_is_eog(const zk_tokenizer *t, int32_t id)
{
    return id >= 0 && (id == t->eos || id == t->eot);
}

int32_t zk_tokenizer_find(const zk_tokenizer *t, const char *text)
{
    return lookup(t, text, strlen(text));
}

const char *zk_tokenizer_chat_template(const zk_tokenizer *t)
{
    return t->chat_template;
}

int zk_tokenizer_write_gguf(const zk_tokenizer *t, struct zk_gguf_writer *w)
{
    zk_tokenizer_desc d;
    char **merges = NULL;
    int32_t n_merges = 0, n_alloc = 0;
    int rc = 0;
    memset(&d, 0, sizeof(d));
    if (t->kind == ZK_TOK_BPE && t->pair_cap) {
        /* The merge strings in rank order, from the pair table. */
        int32_t max_rank = -1;
        for (uint32_t i = 0; i < t->pair_cap; i++) {
            max_rank = t->pairs[i].rank > max_rank ? t->pairs[i].rank : max_rank;
        }
        if (!(merges = calloc((size_t)max_rank + 2, sizeof(*merges)))) {
            return -1;
        }
        n_alloc = max_rank + 1;
        for (uint32_t i = 0; i < t->pair_cap; i++) {
            const struct pair *p = &t->pairs[i];
            if (p->rank < 0) {
                continue;
            }
            int32_t a = (int32_t)(p->key >> 32), b = (int32_t)(uint32_t)p->key;
            if (!(merges[p->rank] = malloc((size_t)t->len[a] + t->len[b] + 2))) {
                rc = -1;
                goto out;
            }
            sprintf(merges[p->rank], "%s %s", t->tok[a], t->tok[b]);
        }
        for (int32_t r = 0; r <= max_rank; r++) {   /* skipped ranks: never-matching text */
            if (!merges[r] && !(merges[r] = strdup("\x01 \x01"))) {
                rc = -1;
                goto out;
            }
        }
        n_merges = max_rank + 1;
    }
    d.kind = t->kind;
    d.n_vocab = t->n;
    d.tokens = (const char *const *)t->tok;
    d.scores = t->kind == ZK_TOK_SPM ? t->score : NULL;
    d.types = t->type;
    d.merges = (const char *const *)merges;
    d.n_merges = n_merges;
    d.bos = t->bos;
    d.eos = t->eos;
    d.eot = t->eot;
    d.unk = t->unk;
    d.pad = t->pad;
    d.add_bos = t->add_bos;
    d.add_eos = t->add_eos;
    d.add_space_prefix = t->add_space_prefix;
    d.chat_template = t->chat_template;
    rc = zk_gguf_w_tokenizer(w, &d);
out:
    if (merges) {
        for (int32_t r = 0; r < n_alloc; r++) {
            free(merges[r]);
        }
        free(merges);
    }
    return rc;
}
