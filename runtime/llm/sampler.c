/* SPDX-License-Identifier: MIT */
/* sampler.c - penalties, temperature, top-k/top-p/min-p, seeded draws. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler.h"

struct zk_sampler {
    zk_sampler_params p;
    int32_t n_vocab;
    uint64_t rng;
    int32_t *count;             /* [n_vocab] occurrences inside the window */
    int32_t *ring;              /* last `window` accepted tokens */
    size_t window, ring_len, ring_head;
    int32_t *seen;              /* distinct ids with count > 0 (may hold stale ids) */
    size_t n_seen, seen_cap;
    zk_token_prob *cand;        /* [n_vocab] scratch for full-vocabulary steps */
};

void zk_sampler_params_default(zk_sampler_params *p)
{
    memset(p, 0, sizeof(*p));
    p->top_p = 1.0f;
    p->repeat_penalty = 1.0f;
    p->penalty_last_n = 64;
}

int zk_sampler_params_check(const zk_sampler_params *p, char *err, size_t errlen)
{
    const char *bad = NULL;
    if (!isfinite(p->temperature)) {
        bad = "temperature must be a finite number";
    } else if (!(p->top_p > 0.0f) || !isfinite(p->top_p)) {
        bad = "top_p must be in (0, 1] (1 or more: off)";
    } else if (!(p->min_p < 1.0f) || !isfinite(p->min_p)) {
        bad = "min_p must be in [0, 1) (0 or less: off)";
    } else if (!(p->repeat_penalty > 0.0f && isfinite(p->repeat_penalty))) {
        bad = "repeat_penalty must be > 0";
    } else if (!isfinite(p->presence_penalty) || !isfinite(p->frequency_penalty)) {
        bad = "presence/frequency penalties must be finite";
    } else if (p->penalty_last_n < -1) {
        bad = "penalty_last_n must be >= -1";
    }
    if (bad) {
        snprintf(err, errlen, "%s", bad);
        return -1;
    }
    return 0;
}

/* splitmix64: a full-period stream from any seed, including 0. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double next_unit(uint64_t *s)    /* [0, 1) with 53 random bits */
{
    return (double)(next_u64(s) >> 11) * 0x1p-53;
}

static int penalties_on(const zk_sampler_params *p)
{
    return p->penalty_last_n != 0 &&
           (p->repeat_penalty != 1.0f || p->presence_penalty != 0.0f || p->frequency_penalty != 0.0f);
}

zk_sampler *zk_sampler_new(const zk_sampler_params *p, int32_t n_vocab)
{
    char err[8];
    zk_sampler *s;
    if (n_vocab <= 0 || zk_sampler_params_check(p, err, sizeof(err)) || !(s = calloc(1, sizeof(*s)))) {
        return NULL;
    }
    s->p = *p;
    s->n_vocab = n_vocab;
    s->window = p->penalty_last_n < 0 ? 0 : (size_t)p->penalty_last_n;
    s->count = calloc((size_t)n_vocab, sizeof(*s->count));
    s->cand = malloc((size_t)n_vocab * sizeof(*s->cand));
    s->ring = s->window ? malloc(s->window * sizeof(*s->ring)) : NULL;
    if (!s->count || !s->cand || (s->window && !s->ring)) {
        zk_sampler_free(s);
        return NULL;
    }
    zk_sampler_reset(s);
    return s;
}

void zk_sampler_free(zk_sampler *s)
{
    if (s) {
        free(s->count);
        free(s->ring);
        free(s->seen);
        free(s->cand);
        free(s);
    }
}

void zk_sampler_reset(zk_sampler *s)
{
    memset(s->count, 0, (size_t)s->n_vocab * sizeof(*s->count));
    s->ring_len = s->ring_head = s->n_seen = 0;
    s->rng = s->p.seed;
}

const zk_sampler_params *zk_sampler_get_params(const zk_sampler *s)
{
    return &s->p;
}

void zk_sampler_accept(zk_sampler *s, int32_t token)
{
    if (token < 0 || token >= s->n_vocab || s->p.penalty_last_n == 0) {
        return;
    }
    if (s->window) {
        if (s->ring_len == s->window) {         /* drop the oldest */
            s->count[s->ring[s->ring_head]]--;
        } else {
            s->ring_len++;
        }
        s->ring[s->ring_head] = token;
        s->ring_head = (s->ring_head + 1) % s->window;
    }
    if (s->count[token]++ == 0) {
        if (s->n_seen == s->seen_cap) {
            /* Compact stale ids first so the list stays <= window + 1. */
            size_t j = 0;
            for (size_t i = 0; i < s->n_seen; i++) {
                if (s->count[s->seen[i]] > 0 && s->seen[i] != token) {
                    s->seen[j++] = s->seen[i];
                }
            }
            s->n_seen = j;
            if (s->n_seen == s->seen_cap) {
                size_t cap = s->seen_cap ? s->seen_cap * 2 : 64;
                int32_t *n = realloc(s->seen, cap * sizeof(*n));
                if (!n) {
                    s->count[token]--;  /* out of memory: do not track it */
                    return;
                }
                s->seen = n;
                s->seen_cap = cap;
            }
        }
        s->seen[s->n_seen++] = token;
    }
}

static float penalise(const zk_sampler_params *p, float logit, int32_t count)
{
    if (count <= 0) {
        return logit;
    }
    logit = logit > 0 ? logit / p->repeat_penalty : logit * p->repeat_penalty;
    return logit - p->presence_penalty - p->frequency_penalty * (float)count;
}

static int by_logit_desc(const void *a, const void *b)
{
    const zk_token_prob *x = a, *y = b;
    if (x->logit != y->logit) {
        return x->logit < y->logit ? 1 : -1;
    }
    return (x->id > y->id) - (x->id < y->id);
}

/* Move the k best candidates (by logit, ties to the lower id) to the
 * front, sorted: a bounded selection so top-k over a large vocabulary does
 * not sort it all. */
static void select_top(zk_token_prob *c, size_t n, size_t k)
{
    if (k >= n) {
        qsort(c, n, sizeof(*c), by_logit_desc);
        return;
    }
    /* Min-heap of the k best so far at c[0..k). */
    for (size_t i = k / 2; i-- > 0;) {
        for (size_t r = i;;) {
            size_t l = 2 * r + 1, m = r;
            if (l < k && by_logit_desc(&c[l], &c[m]) > 0) {
                m = l;
            }
            if (l + 1 < k && by_logit_desc(&c[l + 1], &c[m]) > 0) {
                m = l + 1;
            }
            if (m == r) {
                break;
            }
            zk_token_prob t = c[r];
            c[r] = c[m];
            c[m] = t;
            r = m;
        }
    }
    for (size_t i = k; i < n; i++) {
        if (by_logit_desc(&c[i], &c[0]) < 0) {  /* better than the worst kept */
            zk_token_prob t = c[0];
            c[0] = c[i];
            c[i] = t;
            for (size_t r = 0;;) {
                size_t l = 2 * r + 1, m = r;
                if (l < k && by_logit_desc(&c[l], &c[m]) > 0) {
                    m = l;
                }
                if (l + 1 < k && by_logit_desc(&c[l + 1], &c[m]) > 0) {
                    m = l + 1;
                }
                if (m == r) {
                    break;
                }
                t = c[r];
                c[r] = c[m];
                c[m] = t;
                r = m;
            }
        }
    }
    qsort(c, k, sizeof(*c), by_logit_desc);
}

/* Softmax of c[0..n) (sorted, c[0] the highest) into p. */
static void softmax_sorted(zk_token_prob *c, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        c[i].p = expf(c[i].logit - c[0].logit);
        sum += c[i].p;
    }
    for (size_t i = 0; i < n; i++) {
        c[i].p = (float)(c[i].p / sum);
    }
}

static size_t argmax(const zk_token_prob *c, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++) {
        if (c[i].logit > c[best].logit || (c[i].logit == c[best].logit && c[i].id < c[best].id)) {
            best = i;
        }
    }
    return best;
}

int32_t zk_sampler_sample_candidates(zk_sampler *s, zk_token_prob *c, size_t n, float *prob)
{
    const zk_sampler_params *p = &s->p;
    if (n == 0) {
        return -1;
    }
    if (penalties_on(p)) {
        for (size_t i = 0; i < n; i++) {
            if (c[i].id >= 0 && c[i].id < s->n_vocab) {
                c[i].logit = penalise(p, c[i].logit, s->count[c[i].id]);
            }
        }
    }
    /* NaN logits never win and never get drawn. */
    for (size_t i = 0; i < n; i++) {
        if (isnan(c[i].logit)) {
            c[i].logit = -INFINITY;
        }
    }
    if (p->temperature <= 0.0f) {
        size_t b = argmax(c, n);
        if (prob) {
            *prob = 1.0f;
        }
        return c[b].id;
    }
    for (size_t i = 0; i < n; i++) {
        c[i].logit /= p->temperature;
    }
    size_t k = p->top_k > 0 && (size_t)p->top_k < n ? (size_t)p->top_k : n;
    select_top(c, n, k);
    n = k;
    if (c[0].logit == -INFINITY) {              /* everything masked: be greedy */
        if (prob) {
            *prob = 1.0f;
        }
        return c[0].id;
    }
    softmax_sorted(c, n);
    if (p->top_p < 1.0f) {
        double cum = 0;
        size_t keep = n;
        for (size_t i = 0; i < n; i++) {
            cum += c[i].p;
            if (cum >= p->top_p) {
                keep = i + 1;
                break;
            }
        }
        if (keep < n) {
            n = keep;
            softmax_sorted(c, n);
        }
    }
    if (p->min_p > 0.0f) {
        size_t keep = 1;
        float floor_p = p->min_p * c[0].p;
        while (keep < n && c[keep].p >= floor_p) {
            keep++;
        }
        if (keep < n) {
            n = keep;
            softmax_sorted(c, n);
        }
    }
    double u = next_unit(&s->rng), cum = 0;
    size_t pick = n - 1;                        /* rounding: the last one */
    for (size_t i = 0; i < n; i++) {
        cum += c[i].p;
        if (u < cum) {
            pick = i;
            break;
        }
    }
    if (prob) {
        *prob = c[pick].p;
    }
    return c[pick].id;
}

int32_t zk_sampler_sample(zk_sampler *s, const float *logits, float *prob)
{
    for (int32_t i = 0; i < s->n_vocab; i++) {
        s->cand[i].id = i;
        s->cand[i].logit = logits[i];
        s->cand[i].p = 0;
    }
    return zk_sampler_sample_candidates(s, s->cand, (size_t)s->n_vocab, prob);
}

int zk_sampler_needs_full_logits(const zk_sampler *s)
{
    if (penalties_on(&s->p)) {
        return 1;
    }
    return s->p.temperature > 0.0f && s->p.top_k <= 0;
}
