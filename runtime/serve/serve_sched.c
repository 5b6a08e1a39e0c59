/* SPDX-License-Identifier: MIT */
/* serve_sched.c - client threads <-> one engine worker per card. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve_sched.h"

typedef struct card {
    serve_sched *s;
    unsigned index;
    pthread_t thread;
    pthread_cond_t wake;        /* inbox, cancel or stop */
    serve_job *inbox;           /* submitted, not yet given to the engine */
    serve_job *active;          /* in the engine */
    unsigned outstanding;       /* inbox + active */
    int ready, failed;          /* engine up / broken (create or step failed) */
    char err[256];
    serve_card_snapshot snap;
} card;

struct serve_sched {
    serve_sched_config cfg;
    pthread_mutex_t lock;       /* everything shared: jobs, inboxes, snapshots */
    pthread_cond_t started;
    int stop;
    int leak;
    unsigned ncards, outstanding, capacity;
    card *cards;
};

serve_job *serve_job_new(const int32_t *prompt, uint32_t n_prompt, uint32_t max_new,
                         const zk_sampler_params *sp, int32_t n_vocab)
{
    serve_job *j = calloc(1, sizeof(*j));
    pthread_cond_t *c = malloc(sizeof(*c));
    int plain = !sp || (sp->temperature <= 0 && sp->repeat_penalty == 1.0f &&
                        sp->presence_penalty == 0 && sp->frequency_penalty == 0);
    if (!j || !c || !n_prompt || !max_new) {
        free(j);
        free(c);
        return NULL;
    }
    j->prompt = malloc(n_prompt * sizeof(int32_t));
    j->gen = malloc(max_new * sizeof(int32_t));
    (void)n_vocab;
    if (!plain) {
        j->sampling = *sp;      /* the engine makes the sampler at submit */
        j->has_sampling = 1;
    }
    if (!j->prompt || !j->gen) {
        free(j->prompt);
        free(j->gen);
        free(j);
        free(c);
        return NULL;
    }
    memcpy(j->prompt, prompt, n_prompt * sizeof(int32_t));
    j->n_prompt = n_prompt;
    j->max_new = max_new;
    j->card_ms = j->card_j = -1;
    j->refs = 1;
    pthread_cond_init(c, NULL);
    j->cond = c;
    return j;
}

static void job_free(serve_job *j)
{
    pthread_cond_destroy(j->cond);
    free(j->cond);
    free(j->r.tokens);
    free(j->r.logits);
    free(j->prompt);
    free(j->gen);
    free(j);
}

/* Drop one reference; called with the lock held. */
static void job_put(serve_job *j)
{
    if (--j->refs == 0) {
        job_free(j);
    }
}

static void list_remove(serve_job **head, serve_job *j)
{
    for (serve_job **p = head; *p; p = &(*p)->next) {
        if (*p == j) {
            *p = j->next;
            j->next = NULL;
            return;
        }
    }
}

/* Worker side: @j is finished (done, failed or cancelled); lock held. */
static void job_retire(card *c, serve_job *j, double now)
{
    j->done = 1;
    if (!j->t_done) {
        j->t_done = now;
    }
    c->outstanding--;
    c->s->outstanding--;
    pthread_cond_broadcast(j->cond);
    job_put(j);
}

/* Copy the engine's progress of @j into the client-visible fields; lock
 * held, engine idle (between steps). */
static void job_publish(card *c, zk_llm_engine *e, serve_job *j, double step_start)
{
    serve_sched *s = c->s;
    zk_llm_request *r = &j->r;
    int eog = 0;
    while (j->n_gen < r->n_generated && j->n_gen < j->max_new && !eog) {
        int32_t t = r->tokens[r->n_prompt + j->n_gen];
        j->gen[j->n_gen++] = t;
        /* End of generation (EOS, or e.g. Llama 3's <|eot_id|>): the model's
         * tokenizer decides, so the engine's fixed EOS id is not used. */
        eog = !j->ignore_eos && s->cfg.is_eog && s->cfg.is_eog(s->cfg.eog_arg, t);
    }
    if (eog && !r->done) {
        zk_llm_engine_cancel(e, r);     /* frees its KV blocks; r->done */
    }
    if (!j->t_admit && (r->n_computed > 0 || r->n_generated > 0 || r->done)) {
        j->t_admit = step_start;
    }
    if (!j->t_first && j->n_gen) {
        j->t_first = r->t_first;
    }
    if (r->done) {
        j->failed = r->error;
        j->hit_length = !eog && r->n_generated >= r->max_new;
        if (r->card_done_ms >= 0 && r->card_submit_ms >= 0) {
            j->card_ms = r->card_done_ms - r->card_submit_ms;
        }
        j->card_j = r->card_j;
        j->t_done = r->t_done;
        list_remove(&c->active, j);
        j->in_engine = 0;
        job_retire(c, j, zk_llm_now());
    } else if (j->n_gen) {
        pthread_cond_broadcast(j->cond);
    }
}

static void snapshot_update(card *c, zk_llm_engine *e)
{
    zk_llm_engine_stats es;
    zk_kv_stats ks;
    zk_llm_engine_get_stats(e, &es);
    zk_kv_get_stats(zk_llm_engine_kv(e), &ks);
    zk_llm_engine_queue_counts(e, &c->snap.running, &c->snap.waiting);
    for (serve_job *j = c->inbox; j; j = j->next) {
        c->snap.waiting++;
    }
    c->snap.kv_used = ks.blocks_used;
    c->snap.kv_total = ks.num_blocks;
    c->snap.preemptions = es.preempt_swap + es.preempt_recompute;
    c->snap.steps = es.steps;
    c->snap.tokens = es.prefill_tokens + es.decode_tokens;
    c->snap.card_s = es.card_ms >= 0 ? es.card_ms / 1e3 : -1;
    c->snap.card_j = es.card_j;
}

/* Fail every job of a card whose engine broke; lock held. */
static void card_fail_all(card *c, const char *why)
{
    double now = zk_llm_now();
    if (why != c->err) {
        snprintf(c->err, sizeof(c->err), "%s", why);
    }
    c->failed = 1;
    while (c->inbox) {
        serve_job *j = c->inbox;
        c->inbox = j->next;
        j->failed = 1;
        job_retire(c, j, now);
    }
    while (c->active) {
        serve_job *j = c->active;
        c->active = j->next;
        j->failed = 1;
        j->in_engine = 0;
        job_retire(c, j, now);
    }
}

static void *card_main(void *arg)
{
    card *c = arg;
    serve_sched *s = c->s;
    zk_device dev;
    zk_context ctx = NULL;
    zk_llm_engine *e = NULL;
    size_t free0 = 0, free1 = 0, total;
    zk_status st;

    if ((st = zk_device_get(&dev, (int)c->index)) || (st = zk_ctx_create(&ctx, 0, dev)) ||
        (st = zk_mem_get_info(&free0, &total)) ||
        (st = zk_llm_engine_create(&e, s->cfg.model, &s->cfg.engine))) {
        pthread_mutex_lock(&s->lock);
        snprintf(c->err, sizeof(c->err), "card %u: %s", c->index, zk_error_string(st));
        c->failed = 1;
        pthread_cond_broadcast(&s->started);
        pthread_mutex_unlock(&s->lock);
        if (ctx) {
            zk_ctx_destroy(ctx);
        }
        return NULL;
    }
    pthread_mutex_lock(&s->lock);
    c->ready = 1;
    snapshot_update(c, e);
    pthread_cond_broadcast(&s->started);
    while (!s->stop) {
        /* New jobs join the engine's queue; cancelled ones leave it. */
        while (c->inbox) {
            serve_job *j = c->inbox;
            c->inbox = j->next;
            memset(&j->r, 0, sizeof(j->r));
            j->r.prompt = j->prompt;
            j->r.n_prompt = j->n_prompt;
            j->r.max_new = j->max_new;
            j->r.sampling = j->has_sampling ? &j->sampling : NULL;
            j->r.stop_at_eos = 0;      /* is_eog decides (job_publish) */
            if (j->cancel || zk_llm_engine_submit(e, &j->r) != ZK_SUCCESS) {
                j->failed = !j->cancel;
                job_retire(c, j, zk_llm_now());
                continue;
            }
            j->in_engine = 1;
            j->next = c->active;
            c->active = j;
            if (j->r.done) {            /* refused by the engine (too long) */
                job_publish(c, e, j, zk_llm_now());
            }
        }
        for (serve_job *j = c->active, *nx; j; j = nx) {
            nx = j->next;
            if (j->cancel) {
                zk_llm_engine_cancel(e, &j->r);
                if (j->r.card_done_ms >= 0 && j->r.card_submit_ms >= 0) {
                    j->card_ms = j->r.card_done_ms - j->r.card_submit_ms;
                }
                j->card_j = j->r.card_j;
                list_remove(&c->active, j);
                j->in_engine = 0;
                job_retire(c, j, zk_llm_now());
            }
        }
        snapshot_update(c, e);
        if (!c->active) {
            pthread_cond_wait(&c->wake, &s->lock);
            continue;
        }
        /* The engine is this thread's alone: step without the lock. */
        pthread_mutex_unlock(&s->lock);
        double t0 = zk_llm_now();
        uint32_t pending;
        st = zk_llm_engine_step(e, &pending);
        pthread_mutex_lock(&s->lock);
        if (st) {
            char why[128];
            snprintf(why, sizeof(why), "card %u: engine step failed: %s", c->index,
                     zk_error_string(st));
            fprintf(stderr, "zk-serve: %s\n", why);
            card_fail_all(c, why);
            break;
        }
        for (serve_job *j = c->active, *nx; j; j = nx) {
            nx = j->next;
            job_publish(c, e, j, t0);
        }
        snapshot_update(c, e);
    }
    /* Stopping (or broken): whatever is left is cancelled. */
    card_fail_all(c, c->failed ? c->err : "server stopping");
    pthread_mutex_unlock(&s->lock);
    zk_llm_engine_destroy(e);
    zk_ctx_destroy(ctx);
    /* Every byte the engine took must be back: measured, like free0, from
     * a context of its own (the driver keeps per-context state).  The
     * driver frees a closed context's page tables on a workqueue, so give
     * it a moment before calling a difference a leak. */
    if (zk_ctx_create(&ctx, 0, dev) == ZK_SUCCESS) {
        for (int tries = 0; tries < 50; tries++) {
            if (zk_mem_get_info(&free1, &total) != ZK_SUCCESS || free1 == free0) {
                break;
            }
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (zk_mem_get_info(&free1, &total) == ZK_SUCCESS && free1 != free0) {
            fprintf(stderr, "zk-serve: card %u: %lld bytes of card memory not returned\n",
                    c->index, (long long)free0 - (long long)free1);
            pthread_mutex_lock(&s->lock);
            s->leak = 1;
            pthread_mutex_unlock(&s->lock);
        }
        zk_ctx_destroy(ctx);
    }
    return NULL;
}

serve_sched *serve_sched_create(const serve_sched_config *cfg, char *err, size_t errlen)
{
    serve_sched *s = calloc(1, sizeof(*s));
    unsigned started = 0, ready = 0;
    if (!s || !cfg->cards || !(s->cards = calloc(cfg->cards, sizeof(card)))) {
        snprintf(err, errlen, "out of memory");
        free(s);
        return NULL;
    }
    s->cfg = *cfg;
    s->ncards = cfg->cards;
    s->capacity = cfg->cards * (cfg->engine.max_seqs ? cfg->engine.max_seqs : 8) +
                  cfg->max_queue;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->started, NULL);
    for (unsigned i = 0; i < s->ncards; i++) {
        card *c = &s->cards[i];
        c->s = s;
        c->index = i;
        pthread_cond_init(&c->wake, NULL);
        if (pthread_create(&c->thread, NULL, card_main, c)) {
            snprintf(err, errlen, "cannot start a thread for card %u", i);
            break;
        }
        started++;
    }
    pthread_mutex_lock(&s->lock);
    for (;;) {
        unsigned settled = 0;
        ready = 0;
        for (unsigned i = 0; i < started; i++) {
            settled += s->cards[i].ready || s->cards[i].failed;
            ready += s->cards[i].ready && !s->cards[i].failed;
        }
        if (settled == started) {
            break;
        }
        pthread_cond_wait(&s->started, &s->lock);
    }
    for (unsigned i = 0; i < started; i++) {
        if (s->cards[i].failed) {
            snprintf(err, errlen, "%s", s->cards[i].err);
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (started < s->ncards || ready < s->ncards) {
        s->ncards = started;
        serve_sched_destroy(s);
        return NULL;
    }
    return s;
}

int serve_sched_destroy(serve_sched *s)
{
    int leak;
    pthread_mutex_lock(&s->lock);
    s->stop = 1;
    for (unsigned i = 0; i < s->ncards; i++) {
        pthread_cond_signal(&s->cards[i].wake);
    }
    pthread_mutex_unlock(&s->lock);
    for (unsigned i = 0; i < s->ncards; i++) {
        pthread_join(s->cards[i].thread, NULL);
        pthread_cond_destroy(&s->cards[i].wake);
    }
    leak = s->leak;
    pthread_cond_destroy(&s->started);
    pthread_mutex_destroy(&s->lock);
    free(s->cards);
    free(s);
    return leak ? -1 : 0;
}

int serve_sched_submit(serve_sched *s, serve_job *j)
{
    card *best = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->outstanding >= s->capacity) {
        pthread_mutex_unlock(&s->lock);
        return SERVE_BUSY;
    }
    for (unsigned i = 0; i < s->ncards; i++) {
        card *c = &s->cards[i];
        if (!c->failed && !s->stop && (!best || c->outstanding < best->outstanding)) {
            best = c;
        }
    }
    if (!best) {
        pthread_mutex_unlock(&s->lock);
        return SERVE_DOWN;
    }
    j->card = best->index;
    j->t_arrive = zk_llm_now();
    j->refs++;                  /* the worker's */
    /* Append: first come, first served. */
    serve_job **p = &best->inbox;
    while (*p) {
        p = &(*p)->next;
    }
    *p = j;
    j->next = NULL;
    best->outstanding++;
    s->outstanding++;
    pthread_cond_signal(&best->wake);
    pthread_mutex_unlock(&s->lock);
    return SERVE_OK;
}

uint32_t serve_job_wait(serve_sched *s, serve_job *j, uint32_t have, int timeout_ms,
                        int32_t *out, uint32_t cap, int *done)
{
    struct timespec dl;
    uint32_t n;
    clock_gettime(CLOCK_REALTIME, &dl);
    if (timeout_ms >= 0) {
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&s->lock);
    while (j->n_gen <= have && !j->done) {
        int rc = timeout_ms >= 0 ? pthread_cond_timedwait(j->cond, &s->lock, &dl)
                                 : pthread_cond_wait(j->cond, &s->lock);
        if (rc == ETIMEDOUT) {
            break;
        }
    }
    n = j->n_gen;
    for (uint32_t i = have; i < n && i < cap; i++) {
        out[i] = j->gen[i];
    }
    *done = j->done;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void serve_job_stop(serve_sched *s, serve_job *j)
{
    pthread_mutex_lock(&s->lock);
    if (!j->done && j->refs > 1) {
        j->cancel = 1;
        pthread_cond_signal(&s->cards[j->card].wake);
    }
    pthread_mutex_unlock(&s->lock);
}

void serve_job_release(serve_sched *s, serve_job *j)
{
    pthread_mutex_lock(&s->lock);
    if (!j->done && j->refs > 1) {
        j->cancel = 1;
        pthread_cond_signal(&s->cards[j->card].wake);
    }
    job_put(j);
    pthread_mutex_unlock(&s->lock);
}

void serve_sched_snapshot(serve_sched *s, serve_card_snapshot *cards)
{
    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < s->ncards; i++) {
        cards[i] = s->cards[i].snap;
    }
    pthread_mutex_unlock(&s->lock);
}

unsigned serve_sched_cards(const serve_sched *s)
{
    return s->ncards;
}

unsigned serve_sched_outstanding(serve_sched *s)
{
    unsigned n;
    pthread_mutex_lock(&s->lock);
    n = s->outstanding;
    pthread_mutex_unlock(&s->lock);
    return n;
}
