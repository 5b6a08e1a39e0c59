/* SPDX-License-Identifier: MIT */
/*
 * serve_http.h - zk-serve's HTTP layer (libmicrohttpd, a thread per
 * connection): routes, request bodies, JSON answers, SSE streams, client
 * disconnects.  Talks to the cards only through serve_sched.
 */
#ifndef ZK_SERVE_HTTP_H
#define ZK_SERVE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "serve_metrics.h"
#include "serve_sched.h"
#include "serve_text.h"

typedef struct serve_ctx {
    serve_sched *sched;
    serve_metrics metrics;
    serve_tokenizer tok;
    const char *model_id;       /* the name clients pass as "model" */
    uint32_t seq_len;           /* context length */
    int32_t n_vocab;
    uint32_t max_tokens;        /* cap (and chat default) of generated tokens */
    double price_kwh;           /* electricity price for usage.energy_cost */
    size_t max_body;            /* request bodies beyond this: 413 */
    unsigned max_connections;
    long long created;          /* server start, Unix seconds */
    struct MHD_Daemon *daemon;
} serve_ctx;

/** Listen on @host:@port (IPv4).  0, or -1 with @err. */
int serve_http_start(serve_ctx *c, const char *host, unsigned port, char *err, size_t errlen);
/** Stop listening and wait for every connection thread. */
void serve_http_stop(serve_ctx *c);

#endif
