/* SPDX-License-Identifier: MIT */
/* serve_metrics.c - counters, histograms and Prometheus text for zk-serve. */
#include <string.h>

#include "serve_metrics.h"

/* Latency buckets in seconds: the emulated card is slow (TCG), a real one
 * fast, so the range spans 1 ms .. 60 s. */
static const double LAT_LE[SERVE_HIST_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60
};

static const int CODE_OF[SM_NCODES] = { 200, 400, 404, 405, 413, 429, 500, 503, 0 };

void serve_metrics_init(serve_metrics *m)
{
    memset(m, 0, sizeof(*m));
    pthread_mutex_init(&m->lock, NULL);
    m->ttft.le = m->tpot.le = m->e2e.le = m->queue.le = LAT_LE;
}

void serve_metrics_destroy(serve_metrics *m)
{
    pthread_mutex_destroy(&m->lock);
}

void serve_hist_observe(serve_hist *h, double v)
{
    unsigned i = 0;
    while (i < SERVE_HIST_BUCKETS && v > h->le[i]) {
        i++;
    }
    h->count[i]++;
    h->n++;
    h->sum += v;
}

void serve_metrics_status(serve_metrics *m, int http)
{
    unsigned i = 0;
    while (i < SM_OTHER && CODE_OF[i] != http) {
        i++;
    }
    pthread_mutex_lock(&m->lock);
    m->requests[i]++;
    pthread_mutex_unlock(&m->lock);
}

void serve_metrics_request(serve_metrics *m, uint32_t prompt_tokens, uint32_t gen_tokens,
                           double queue_s, double ttft_s, double e2e_s, int cancelled,
                           int hit_length)
{
    pthread_mutex_lock(&m->lock);
    m->prompt_tokens += prompt_tokens;
    m->generation_tokens += gen_tokens;
    if (cancelled) {
        m->cancelled++;
    } else {
        if (hit_length) {
            m->finished_length++;
        } else {
            m->finished_stop++;
        }
        serve_hist_observe(&m->e2e, e2e_s);
    }
    if (queue_s >= 0) {
        serve_hist_observe(&m->queue, queue_s);
    }
    if (ttft_s >= 0) {
        serve_hist_observe(&m->ttft, ttft_s);
        if (gen_tokens > 1 && e2e_s > ttft_s) {
            serve_hist_observe(&m->tpot, (e2e_s - ttft_s) / (gen_tokens - 1));
        }
    }
    pthread_mutex_unlock(&m->lock);
}

static void hist_render(sbuf *o, const char *name, const char *help, const serve_hist *h)
{
    uint64_t cum = 0;
    sbuf_printf(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (unsigned i = 0; i < SERVE_HIST_BUCKETS; i++) {
        cum += h->count[i];
        sbuf_printf(o, "%s_bucket{le=\"%g\"} %llu\n", name, h->le[i], (unsigned long long)cum);
    }
    cum += h->count[SERVE_HIST_BUCKETS];
    sbuf_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9g\n%s_count %llu\n", name,
                (unsigned long long)cum, name, h->sum, name, (unsigned long long)h->n);
}

static void counter(sbuf *o, const char *name, const char *help, const char *type)
{
    sbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void serve_metrics_render(serve_metrics *m, const serve_card_snapshot *cards, unsigned ncards,
                          sbuf *o)
{
    serve_metrics s;
    pthread_mutex_lock(&m->lock);
    s = *m;                     /* one consistent view; render without the lock */
    pthread_mutex_unlock(&m->lock);

    counter(o, "zkserve_http_requests_total", "HTTP requests answered, by status code.",
            "counter");
    for (unsigned i = 0; i < SM_NCODES; i++) {
        if (i == SM_OTHER) {
            sbuf_printf(o, "zkserve_http_requests_total{code=\"other\"} %llu\n",
                        (unsigned long long)s.requests[i]);
        } else {
            sbuf_printf(o, "zkserve_http_requests_total{code=\"%d\"} %llu\n", CODE_OF[i],
                        (unsigned long long)s.requests[i]);
        }
    }
    counter(o, "zkserve_request_success_total",
            "Generation requests finished, by reason (stop: EOS or stop string).", "counter");
    sbuf_printf(o, "zkserve_request_success_total{finished_reason=\"stop\"} %llu\n"
                "zkserve_request_success_total{finished_reason=\"length\"} %llu\n",
                (unsigned long long)s.finished_stop, (unsigned long long)s.finished_length);
    counter(o, "zkserve_request_cancelled_total",
            "Generation requests cancelled because the client went away.", "counter");
    sbuf_printf(o, "zkserve_request_cancelled_total %llu\n", (unsigned long long)s.cancelled);
    counter(o, "zkserve_prompt_tokens_total", "Prompt tokens of served requests.", "counter");
    sbuf_printf(o, "zkserve_prompt_tokens_total %llu\n", (unsigned long long)s.prompt_tokens);
    counter(o, "zkserve_generation_tokens_total", "Tokens generated for clients.", "counter");
    sbuf_printf(o, "zkserve_generation_tokens_total %llu\n",
                (unsigned long long)s.generation_tokens);
    hist_render(o, "zkserve_time_to_first_token_seconds",
                "Host-measured time from arrival to the first generated token.", &s.ttft);
    hist_render(o, "zkserve_time_per_output_token_seconds",
                "Host-measured time per generated token after the first.", &s.tpot);
    hist_render(o, "zkserve_e2e_request_latency_seconds",
                "Host-measured time from arrival to the last token.", &s.e2e);
    hist_render(o, "zkserve_request_queue_time_seconds",
                "Time from arrival until the request joined a running batch.", &s.queue);

    counter(o, "zkserve_num_requests_running", "Requests in a card's running batch.", "gauge");
    for (unsigned i = 0; i < ncards; i++) {
        sbuf_printf(o, "zkserve_num_requests_running{card=\"%u\"} %u\n", i, cards[i].running);
    }
    counter(o, "zkserve_num_requests_waiting", "Requests queued for a card (incl. preempted).",
            "gauge");
    for (unsigned i = 0; i < ncards; i++) {
        sbuf_printf(o, "zkserve_num_requests_waiting{card=\"%u\"} %u\n", i, cards[i].waiting);
    }
    counter(o, "zkserve_kv_blocks_used", "Paged KV cache blocks in use.", "gauge");
    for (unsigned i = 0; i < ncards; i++) {
        sbuf_printf(o, "zkserve_kv_blocks_used{card=\"%u\"} %u\n", i, cards[i].kv_used);
    }
    counter(o, "zkserve_kv_blocks_total", "Paged KV cache blocks in the pool.", "gauge");
    for (unsigned i = 0; i < ncards; i++) {
        sbuf_printf(o, "zkserve_kv_blocks_total{card=\"%u\"} %u\n", i, cards[i].kv_total);
    }
    counter(o, "zkserve_num_preemptions_total", "Requests preempted (swap or recompute).",
            "counter");
    for (unsigned i = 0; i < ncards; i++) {
        sbuf_printf(o, "zkserve_num_preemptions_total{card=\"%u\"} %llu\n", i,
                    (unsigned long long)cards[i].preemptions);
    }
    counter(o, "zkserve_engine_steps_total", "Engine steps (one command buffer each).",
            "counter");
    for (unsigned i = 0; i < ncards; i++) {
        sbuf_printf(o, "zkserve_engine_steps_total{card=\"%u\"} %llu\n", i,
                    (unsigned long long)cards[i].steps);
    }
    counter(o, "zkserve_card_seconds_total",
            "Modelled card time of the engine's steps (docs/perf-model.md).", "counter");
    for (unsigned i = 0; i < ncards; i++) {
        if (cards[i].card_s >= 0) {
            sbuf_printf(o, "zkserve_card_seconds_total{card=\"%u\"} %.9g\n", i, cards[i].card_s);
        }
    }
    counter(o, "zkserve_card_energy_joules_total", "Modelled card energy of the engine's steps.",
            "counter");
    for (unsigned i = 0; i < ncards; i++) {
        if (cards[i].card_j >= 0) {
            sbuf_printf(o, "zkserve_card_energy_joules_total{card=\"%u\"} %.9g\n", i,
                        cards[i].card_j);
        }
    }
    counter(o, "zkserve_card_joules_per_token",
            "Modelled card energy per token computed (prefill and decode).", "gauge");
    for (unsigned i = 0; i < ncards; i++) {
        if (cards[i].card_j >= 0 && cards[i].tokens) {
            sbuf_printf(o, "zkserve_card_joules_per_token{card=\"%u\"} %.9g\n", i,
                        cards[i].card_j / (double)cards[i].tokens);
        }
    }
    counter(o, "zkserve_card_power_watts",
            "Modelled average card power while computing (energy / card time).", "gauge");
    for (unsigned i = 0; i < ncards; i++) {
        if (cards[i].card_j >= 0 && cards[i].card_s > 0) {
            sbuf_printf(o, "zkserve_card_power_watts{card=\"%u\"} %.6g\n", i,
                        cards[i].card_j / cards[i].card_s);
        }
    }
}
