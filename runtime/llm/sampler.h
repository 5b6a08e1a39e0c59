/* SPDX-License-Identifier: MIT */
/*
 * sampler.h - next-token sampling, a standalone C API (no libzhikai needed).
 *
 * One zk_sampler per sequence.  It keeps the token history for the
 * penalties and its own random stream (seeded, so runs are reproducible).
 * A step applies, in this order (the order of vLLM / the OpenAI API):
 *   1. repetition penalty (llama.cpp/CTRL style: a seen token's logit is
 *      divided by the penalty if positive, multiplied if negative), then
 *      presence (- p if seen) and frequency (- f * count) penalties, over
 *      the last penalty_last_n tokens accepted (prompt and output);
 *   2. temperature <= 0: greedy (highest logit, lowest id on ties), done;
 *   3. logits / temperature;
 *   4. top-k (keep the k highest), top-p (keep the smallest set of highest
 *      tokens whose probability sums to >= p), min-p (keep tokens with
 *      probability >= min_p * the highest probability); each filter sees
 *      the distribution renormalised after the previous one;
 *   5. draw from what is left.
 * Candidate lists: the card can select the top candidates itself and copy
 * back only those (zk_sampler_sample_candidates); the result equals the
 * full-vocabulary result whenever the candidates hold every token the
 * filters would keep (for instance top_k <= the candidate count).
 */
#ifndef ZK_SAMPLER_H
#define ZK_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

typedef struct zk_sampler_params {
    float temperature;          /* <= 0: greedy */
    int32_t top_k;              /* <= 0: off */
    float top_p;                /* >= 1: off (0 < p <= 1) */
    float min_p;                /* <= 0: off (0 <= p < 1) */
    float repeat_penalty;       /* 1: off (> 0) */
    float presence_penalty;     /* 0: off (-2..2 in the OpenAI API) */
    float frequency_penalty;    /* 0: off */
    int32_t penalty_last_n;     /* history window; 0 = off, -1 = all */
    uint64_t seed;
} zk_sampler_params;

/* One candidate token: id and logit (the sampler rewrites p). */
typedef struct zk_token_prob {
    int32_t id;
    float logit;
    float p;
} zk_token_prob;

typedef struct zk_sampler zk_sampler;

/** Greedy, no penalties, penalty window 64, seed 0. */
void zk_sampler_params_default(zk_sampler_params *p);
/** 0 if @p is valid, else -1 with a message naming the field. */
int zk_sampler_params_check(const zk_sampler_params *p, char *err, size_t errlen);
/** New sampler over @n_vocab tokens; NULL on bad parameters or no memory. */
zk_sampler *zk_sampler_new(const zk_sampler_params *p, int32_t n_vocab);
void zk_sampler_free(zk_sampler *s);
/** Forget the history and restart the random stream from the seed. */
void zk_sampler_reset(zk_sampler *s);
/** Record @token (prompt or generated) for the penalties.  Ids outside the
 *  vocabulary are ignored. */
void zk_sampler_accept(zk_sampler *s, int32_t token);
/** Pick the next token from @n_vocab logits (not modified).  *prob (may be
 *  NULL) gets the chosen token's probability after the filters (1 when
 *  greedy).  Does not accept the token: call zk_sampler_accept. */
int32_t zk_sampler_sample(zk_sampler *s, const float *logits, float *prob);
/** The same over @n candidates (rewritten in place: penalised, filtered,
 *  sorted by probability); -1 if n == 0. */
int32_t zk_sampler_sample_candidates(zk_sampler *s, zk_token_prob *cand, size_t n, float *prob);
/** Does this sampler need every logit (penalties active or no top-k), or
 *  are the top max(top_k, 1) candidates enough? */
int zk_sampler_needs_full_logits(const zk_sampler *s);
const zk_sampler_params *zk_sampler_get_params(const zk_sampler *s);

#endif
