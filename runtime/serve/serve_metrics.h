/* SPDX-License-Identifier: MIT */
/*
 * serve_metrics.h - zk-serve's counters and latency histograms and their
 * Prometheus text exposition (GET /metrics).  Thread-safe; knows nothing of
 * HTTP or the card: the scheduler's gauges come in as a plain snapshot.
 */
#ifndef ZK_SERVE_METRICS_H
#define ZK_SERVE_METRICS_H

#include <pthread.h>
#include <stdint.h>

#include "serve_text.h"

#define SERVE_HIST_BUCKETS 14

typedef struct serve_hist {
    const double *le;           /* upper bounds, seconds; +Inf implied */
    uint64_t count[SERVE_HIST_BUCKETS + 1];   /* per bucket (not cumulative) */
    uint64_t n;
    double sum;
} serve_hist;

/* HTTP status codes counted individually (others land in "other"). */
enum { SM_200, SM_400, SM_404, SM_405, SM_413, SM_429, SM_500, SM_503, SM_OTHER, SM_NCODES };

typedef struct serve_metrics {
    pthread_mutex_t lock;
    uint64_t requests[SM_NCODES];
    uint64_t finished_stop, finished_length, cancelled;
    uint64_t prompt_tokens, generation_tokens;
    serve_hist ttft, tpot, e2e, queue;
} serve_metrics;

/* Per-card gauges, as the scheduler sees them right now. */
typedef struct serve_card_snapshot {
    uint32_t running, waiting, kv_used, kv_total;
    uint64_t preemptions, steps, tokens;
    double card_s, card_j;      /* modelled card time and energy so far (-1: none) */
} serve_card_snapshot;

void serve_metrics_init(serve_metrics *m);
void serve_metrics_destroy(serve_metrics *m);
/** Count one HTTP answer. */
void serve_metrics_status(serve_metrics *m, int http);
/** A finished (or cancelled) request: its tokens and host-measured times in
 *  seconds (ttft < 0: no token was produced). */
void serve_metrics_request(serve_metrics *m, uint32_t prompt_tokens, uint32_t gen_tokens,
                           double queue_s, double ttft_s, double e2e_s, int cancelled,
                           int hit_length);
void serve_hist_observe(serve_hist *h, double v);
/** Append the Prometheus text of @m and @cards to @out. */
void serve_metrics_render(serve_metrics *m, const serve_card_snapshot *cards, unsigned ncards,
                          sbuf *out);

#endif
