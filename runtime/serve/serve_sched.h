/* SPDX-License-Identifier: MIT */
/*
 * serve_sched.h - zk-serve's glue between client threads and the cards.
 *
 * One worker thread per card owns that card's context and LLM engine
 * (runtime/llm: continuous batching over the paged KV cache).  Client
 * threads submit jobs (token ids in, token ids out); a job joins the
 * running batch of the least-loaded card between two engine steps, and its
 * tokens are published to the client after every step.  A client that
 * lets go of an unfinished job cancels it: the worker withdraws it from the
 * engine before the next step, which frees its KV blocks.  Knows nothing of
 * HTTP or JSON.
 */
#ifndef ZK_SERVE_SCHED_H
#define ZK_SERVE_SCHED_H

#include <stdint.h>

#include "llm.h"
#include "sampler.h"
#include "serve_metrics.h"

typedef struct serve_sched serve_sched;

typedef struct serve_sched_config {
    const zk_llm_model *model;
    unsigned cards;             /* engines, one per card (cards 0..cards-1) */
    zk_llm_engine_config engine;
    unsigned max_queue;         /* jobs waiting beyond the running batches */
    /* Does token @tok end a generation (EOS, EOT)?  NULL: only max_new. */
    int (*is_eog)(void *arg, int32_t tok);
    void *eog_arg;
} serve_sched_config;

/* Submit results. */
enum { SERVE_OK = 0, SERVE_BUSY = -1, SERVE_DOWN = -2, SERVE_NOMEM = -3 };

typedef struct serve_job {
    /* Inputs, set by serve_job_new. */
    int32_t *prompt;
    uint32_t n_prompt, max_new;
    zk_sampler_params sampling; /* runtime/llm's sampler (penalties, top-k/p, seed) */
    int has_sampling;           /* 0: greedy on the card (argmax kernel) */
    int ignore_eos;             /* set before submit: don't stop at EOS */
    /* Results, read under the scheduler lock via serve_job_wait, final
     * once done. */
    int32_t *gen;               /* generated ids (max_new room) */
    uint32_t n_gen;
    int done;
    int failed;                 /* the engine could not serve it */
    int hit_length;             /* stopped at max_new (else EOS) */
    unsigned card;
    double t_arrive, t_admit, t_first, t_done;   /* host seconds; 0 = not yet */
    double card_ms, card_j;     /* modelled card time (submit..done), energy; -1: none */
    /* Scheduler-private. */
    int cancel, refs, in_engine;
    void *cond;
    zk_llm_request r;
    struct serve_job *next;
} serve_job;

/** Start one worker (context + engine) per card; NULL with @err on failure. */
serve_sched *serve_sched_create(const serve_sched_config *cfg, char *err, size_t errlen);
/** Stop the workers (unfinished jobs are cancelled), destroy the engines.
 *  Returns 0, or -1 if a card's memory was not all returned (a leak). */
int serve_sched_destroy(serve_sched *s);

/** A job for @n_prompt ids (copied), sampled with @sp (NULL or greedy
 *  without penalties: the card's argmax).  NULL on out of memory or
 *  invalid sampling parameters. */
serve_job *serve_job_new(const int32_t *prompt, uint32_t n_prompt, uint32_t max_new,
                         const zk_sampler_params *sp, int32_t n_vocab);
/** Queue @j: SERVE_OK, SERVE_BUSY (queue full: 429), SERVE_DOWN (no card
 *  works: 503).  On failure the job stays the caller's to release. */
int serve_sched_submit(serve_sched *s, serve_job *j);
/**
 * Wait until @j has more than @have tokens or is done, at most @timeout_ms
 * (<0: forever).  Copies tokens have.. into @out (room for @cap) and
 * returns the new total; *done receives the job's done flag.
 */
uint32_t serve_job_wait(serve_sched *s, serve_job *j, uint32_t have, int timeout_ms,
                        int32_t *out, uint32_t cap, int *done);
/** Stop @j early (a stop string was seen): it is withdrawn from the engine
 *  and becomes done; wait for that with serve_job_wait. */
void serve_job_stop(serve_sched *s, serve_job *j);
/** The client is finished with @j; an unfinished job is cancelled (its KV
 *  blocks freed before the next step).  @j must not be used afterwards. */
void serve_job_release(serve_sched *s, serve_job *j);

/** Per-card gauges into @cards (room for serve_sched_cards()). */
void serve_sched_snapshot(serve_sched *s, serve_card_snapshot *cards);
unsigned serve_sched_cards(const serve_sched *s);
/** Outstanding (submitted, unfinished) jobs over all cards. */
unsigned serve_sched_outstanding(serve_sched *s);

#endif
