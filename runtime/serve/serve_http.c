/* SPDX-License-Identifier: MIT */
/*
 * serve_http.c - zk-serve's HTTP layer on libmicrohttpd.
 *
 * A thread per connection: the handler may block while the request is
 * generated, and a stream's content reader blocks until the next tokens
 * arrive.  While it waits it peeks at the socket, so a client that hangs
 * up is noticed within a poll interval even before a write would fail; its
 * job is then released, which cancels it and frees its KV blocks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "serve_http.h"
#include "serve_oai.h"

#define POLL_MS 200             /* token wait slice; also the hang-up check */
#define KEEPALIVE_S 5.0         /* SSE comment when nothing was sent that long */

enum route { RT_NONE, RT_COMPLETIONS, RT_CHAT, RT_MODELS, RT_HEALTH, RT_METRICS };

typedef struct conn {
    serve_ctx *c;
    int refs;                   /* the request's, and a stream response's */
    enum route route;
    sbuf body;
    int too_big;
    int fd;
    /* Generation. */
    serve_job *job;
    serve_gen gen;
    int have_gen, submitted, stop_sent, ended, recorded;
    int32_t *toks;
    uint32_t n_toks, n_prompt;
    sbuf out;
    size_t out_off;
    double last_send;
} conn;

static atomic_ullong next_id = 1;

static void conn_put(conn *k)
{
    if (--k->refs) {
        return;
    }
    if (k->job) {
        serve_job_release(k->c->sched, k->job);     /* cancels it if unfinished */
    }
    if (k->have_gen) {
        serve_gen_free(&k->gen);
    }
    free(k->toks);
    sbuf_free(&k->body);
    sbuf_free(&k->out);
    free(k);
}

/* Did the client hang up?  (Bytes waiting - a pipelined request - mean no.) */
static int peer_gone(const conn *k)
{
    char b;
    ssize_t n;
    if (k->fd < 0) {
        return 0;
    }
    n = recv(k->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static enum MHD_Result send_buf(conn *k, struct MHD_Connection *mc, int status, sbuf *b,
                                const char *ctype)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    if (b->oom || !b->s) {
        sbuf_free(b);
        return MHD_NO;
    }
    r = MHD_create_response_from_buffer(b->len, b->s, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        sbuf_free(b);
        return MHD_NO;
    }
    memset(b, 0, sizeof(*b));   /* MHD owns the bytes now */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
                                k->route == RT_COMPLETIONS || k->route == RT_CHAT ? "POST" : "GET");
    }
    ret = MHD_queue_response(mc, (unsigned)status, r);
    MHD_destroy_response(r);
    serve_metrics_status(&k->c->metrics, status);
    return ret;
}

static enum MHD_Result send_err(conn *k, struct MHD_Connection *mc, const serve_err *e)
{
    sbuf b = { 0 };
    char *j = serve_err_json(e);
    if (!j) {
        return MHD_NO;
    }
    sbuf_adds(&b, j);
    sbuf_adds(&b, "\n");
    free(j);
    return send_buf(k, mc, e->http, &b, "application/json");
}

static enum MHD_Result send_json(conn *k, struct MHD_Connection *mc, json_object *o)
{
    sbuf b = { 0 };
    sbuf_adds(&b, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
    sbuf_adds(&b, "\n");
    json_object_put(o);
    return send_buf(k, mc, 200, &b, "application/json");
}

/* ---- generation -------------------------------------------------------- */
/* Count a generation request once: finished (ended) or abandoned. */
static void record(conn *k)
{
    const serve_job *j = k->job;
    if (k->recorded || !j || !k->submitted) {
        return;
    }
    k->recorded = 1;
    if (k->ended && j->done) {
        serve_metrics_request(&k->c->metrics, k->n_prompt, k->gen.used,
                              j->t_admit ? j->t_admit - j->t_arrive : -1,
                              j->t_first ? j->t_first - j->t_arrive : -1,
                              j->t_done - j->t_arrive, 0, j->hit_length && !k->gen.stop_hit);
    } else {
        serve_metrics_request(&k->c->metrics, k->n_prompt, k->n_toks, -1, -1, -1, 1, 0);
    }
}

static void usage_of(const conn *k, serve_usage *u)
{
    u->prompt_tokens = k->n_prompt;
    u->completion_tokens = k->gen.used;
    u->card_ms = k->job->card_ms;
    u->card_j = k->job->card_j;
    u->price_kwh = k->c->price_kwh;
}

/*
 * Wait up to one poll slice for progress and turn it into output in k->out
 * (SSE chunks, or the whole body at the end of a non-stream request).
 * Returns 1 when the request ended, 0 to call again, -1 if the client left.
 */
static int advance(conn *k)
{
    serve_ctx *c = k->c;
    int done;
    uint32_t n = serve_job_wait(c->sched, k->job, k->n_toks, POLL_MS, k->toks, k->job->max_new,
                                &done);
    if (n > k->n_toks || done) {
        k->n_toks = n;
        serve_gen_feed(&k->gen, k->toks, n, done);
        if (k->gen.stop_hit && !done && !k->stop_sent) {
            serve_job_stop(c->sched, k->job);       /* a stop string: no more tokens */
            k->stop_sent = 1;
        }
    }
    if (done) {
        serve_usage u;
        usage_of(k, &u);
        if (k->job->failed) {
            serve_err e;
            serve_err_set(&e, 500, "server_error", NULL, NULL,
                          "the card could not serve this request");
            if (k->gen.req.stream) {
                serve_gen_sse_error(&e, &k->out);
            } else {
                char *j = serve_err_json(&e);
                sbuf_adds(&k->out, j ? j : "");
                free(j);
            }
        } else if (k->gen.req.stream) {
            serve_gen_sse_end(&k->gen, k->job->hit_length, &u, &k->out);
        } else {
            serve_gen_body(&k->gen, k->job->hit_length, &u, &k->out);
        }
        k->ended = 1;
        record(k);
        return 1;
    }
    if (k->gen.req.stream) {
        size_t before = k->out.len;
        serve_gen_sse_delta(&k->gen, 0, &k->out);
        if (k->out.len == before && zk_llm_now() - k->last_send > KEEPALIVE_S) {
            sbuf_adds(&k->out, ": keep-alive\n\n");
        }
        if (k->out.len > before) {
            k->last_send = zk_llm_now();
            return 0;
        }
    }
    return peer_gone(k) ? -1 : 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    conn *k = cls;
    (void)pos;
    for (;;) {
        if (k->out_off < k->out.len) {
            size_t n = k->out.len - k->out_off;
            n = n < max ? n : max;
            memcpy(buf, k->out.s + k->out_off, n);
            k->out_off += n;
            return (ssize_t)n;
        }
        k->out.len = k->out_off = 0;
        if (k->out.oom) {
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (k->ended) {
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (advance(k) < 0) {
            return MHD_CONTENT_READER_END_WITH_ERROR;       /* client gone */
        }
    }
}

static void stream_free(void *cls)
{
    conn_put(cls);
}

static enum MHD_Result generate(conn *k, struct MHD_Connection *mc)
{
    serve_ctx *c = k->c;
    serve_req req;
    serve_err e;
    char *text = NULL, id[48];
    const char *echo = NULL;
    int32_t *ids = NULL, cap, n;
    int rc;
    zk_sampler_params sp;
    char serr[128];
    uint32_t max_new, room;
    enum serve_kind kind = k->route == RT_CHAT ? SERVE_CHAT : SERVE_COMPLETION;

    if (k->too_big) {
        serve_err_set(&e, 413, "invalid_request_error", NULL, NULL,
                      "request body larger than %zu bytes", c->max_body);
        return send_err(k, mc, &e);
    }
    if (serve_req_parse(&req, kind, k->body.s ? k->body.s : "", k->body.len, &e)) {
        return send_err(k, mc, &e);
    }
    if (req.model && strcmp(req.model, c->model_id)) {
        serve_err_set(&e, 404, "invalid_request_error", "model", "model_not_found",
                      "the model '%.100s' does not exist (this server has '%.100s')", req.model,
                      c->model_id);
        goto fail;
    }
    text = kind == SERVE_CHAT ? serve_chat_prompt(&c->tok, req.msgs, req.n_msgs) :
                                strdup(req.prompt);
    if (!text) {
        serve_err_set(&e, 400, "invalid_request_error", "messages", NULL,
                      "cannot format these messages with the model's chat template");
        goto fail;
    }
    /* Every token covers at most max_piece_bytes: longer text cannot fit. */
    if (strlen(text) / (c->tok.max_piece_bytes ? c->tok.max_piece_bytes : 1) >= c->seq_len) {
        serve_err_set(&e, 400, "invalid_request_error", kind == SERVE_CHAT ? "messages" : "prompt",
                      "context_length_exceeded",
                      "this model's maximum context length is %u tokens; the prompt is longer",
                      c->seq_len);
        goto fail;
    }
    /* At most one id per byte plus BOS/EOS and a space prefix; if the
     * tokenizer wants more room, ask again with exactly that. */
    cap = (int32_t)strlen(text) + 4;
    ids = malloc((size_t)cap * sizeof(int32_t));
    /* Chat templates carry special-token text; a raw prompt is plain text. */
    n = ids ? c->tok.encode(c->tok.impl, text, strlen(text), kind == SERVE_CHAT, ids, cap) : -1;
    if (n > cap) {
        int32_t *more = realloc(ids, (size_t)n * sizeof(int32_t));
        cap = n;
        n = more ? c->tok.encode(c->tok.impl, text, strlen(text), kind == SERVE_CHAT, more, cap)
                 : -1;
        ids = more ? more : ids;
    }
    if (n < 1 || n > cap) {
        serve_err_set(&e, 500, "server_error", NULL, NULL, "cannot tokenize the prompt");
        goto fail;
    }
    if ((uint32_t)n >= c->seq_len) {
        serve_err_set(&e, 400, "invalid_request_error", kind == SERVE_CHAT ? "messages" : "prompt",
                      "context_length_exceeded",
                      "this model's maximum context length is %u tokens; the prompt has %d",
                      c->seq_len, n);
        goto fail;
    }
    room = c->seq_len - (uint32_t)n;
    max_new = req.max_tokens > 0 ? (uint32_t)req.max_tokens :
              kind == SERVE_CHAT ? c->max_tokens : 16;      /* OpenAI's completion default */
    max_new = max_new < c->max_tokens ? max_new : c->max_tokens;
    max_new = max_new < room ? max_new : room;
    /* The OpenAI sampling fields onto runtime/llm's sampler (sampler.h). */
    zk_sampler_params_default(&sp);
    sp.temperature = (float)req.temperature;
    sp.top_p = (float)req.top_p;
    sp.top_k = req.top_k > 0 ? (int32_t)req.top_k : 0;
    sp.min_p = (float)req.min_p;
    sp.presence_penalty = (float)req.presence_penalty;
    sp.frequency_penalty = (float)req.frequency_penalty;
    sp.repeat_penalty = (float)req.repetition_penalty;
    sp.penalty_last_n = -1;
    /* No seed: a different stream per request, as OpenAI does. */
    sp.seed = req.seed >= 0 ? (uint64_t)req.seed :
              (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull + atomic_fetch_add(&next_id, 0);
    if (zk_sampler_params_check(&sp, serr, sizeof(serr))) {
        serve_err_set(&e, 400, "invalid_request_error", NULL, NULL, "%s", serr);
        goto fail;
    }
    k->job = serve_job_new(ids, (uint32_t)n, max_new, &sp, c->n_vocab);
    k->toks = malloc((max_new ? max_new : 1) * sizeof(int32_t));
    if (k->job) {
        k->job->ignore_eos = req.ignore_eos;
    }
    if (!k->job || !k->toks) {
        serve_err_set(&e, 500, "server_error", NULL, NULL, "out of memory");
        goto fail;
    }
    k->n_prompt = (uint32_t)n;
    snprintf(id, sizeof(id), "%s-%llu", kind == SERVE_CHAT ? "chatcmpl" : "cmpl",
             (unsigned long long)atomic_fetch_add(&next_id, 1));
    if (kind == SERVE_COMPLETION && req.echo) {
        echo = text;
    }
    serve_gen_init(&k->gen, &req, &c->tok, id, c->model_id, c->created, echo);
    k->have_gen = 1;
    free(text);
    free(ids);
    text = NULL;
    ids = NULL;
    rc = serve_sched_submit(c->sched, k->job);
    if (rc == SERVE_BUSY) {
        serve_err_set(&e, 429, "rate_limit_error", NULL, "queue_full",
                      "the server's queue is full (%u requests); retry later",
                      serve_sched_outstanding(c->sched));
        return send_err(k, mc, &e);
    }
    if (rc != SERVE_OK) {
        serve_err_set(&e, 503, "server_error", NULL, NULL, "no card is available");
        return send_err(k, mc, &e);
    }
    k->submitted = 1;
    k->last_send = zk_llm_now();
    if (k->gen.req.stream) {
        struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
                                                                   stream_read, k, stream_free);
        enum MHD_Result ret;
        if (!r) {
            return MHD_NO;
        }
        k->refs++;
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        ret = MHD_queue_response(mc, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        serve_metrics_status(&c->metrics, 200);
        return ret;
    }
    for (;;) {
        rc = advance(k);
        if (rc < 0) {
            return MHD_NO;      /* client gone: conn_put cancels the job */
        }
        if (rc > 0) {
            break;
        }
    }
    return send_buf(k, mc, k->job->failed ? 500 : 200, &k->out, "application/json");
fail:
    free(text);
    free(ids);
    serve_req_free(&req);
    return send_err(k, mc, &e);
}

/* ---- other routes ------------------------------------------------------ */
static enum MHD_Result models(conn *k, struct MHD_Connection *mc)
{
    json_object *o = json_object_new_object(), *a = json_object_new_array(),
                *m = json_object_new_object();
    json_object_object_add(m, "id", json_object_new_string(k->c->model_id));
    json_object_object_add(m, "object", json_object_new_string("model"));
    json_object_object_add(m, "created", json_object_new_int64(k->c->created));
    json_object_object_add(m, "owned_by", json_object_new_string("zhikai"));
    json_object_object_add(m, "max_model_len", json_object_new_int64(k->c->seq_len));
    json_object_array_add(a, m);
    json_object_object_add(o, "object", json_object_new_string("list"));
    json_object_object_add(o, "data", a);
    return send_json(k, mc, o);
}

static enum MHD_Result metrics(conn *k, struct MHD_Connection *mc)
{
    unsigned n = serve_sched_cards(k->c->sched);
    serve_card_snapshot *cards = calloc(n ? n : 1, sizeof(*cards));
    sbuf b = { 0 };
    if (!cards) {
        return MHD_NO;
    }
    serve_sched_snapshot(k->c->sched, cards);
    /* Count this answer before rendering so the scrape includes itself. */
    serve_metrics_status(&k->c->metrics, 200);
    serve_metrics_render(&k->c->metrics, cards, n, &b);
    free(cards);
    if (b.oom || !b.s) {
        sbuf_free(&b);
        return MHD_NO;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(b.len, b.s, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        sbuf_free(&b);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
    enum MHD_Result ret = MHD_queue_response(mc, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static enum route route_of(const char *url)
{
    static const struct { const char *path; enum route r; } t[] = {
        { "/v1/completions", RT_COMPLETIONS }, { "/v1/chat/completions", RT_CHAT },
        { "/v1/models", RT_MODELS }, { "/health", RT_HEALTH }, { "/metrics", RT_METRICS },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (!strcmp(url, t[i].path)) {
            return t[i].r;
        }
    }
    return RT_NONE;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *mc, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    serve_ctx *c = cls;
    conn *k = *con_cls;
    serve_err e;
    int post;
    (void)version;

    if (!k) {
        const union MHD_ConnectionInfo *ci;
        k = calloc(1, sizeof(*k));
        if (!k) {
            return MHD_NO;
        }
        k->c = c;
        k->refs = 1;
        k->route = route_of(url);
        ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        k->fd = ci ? ci->connect_fd : -1;
        *con_cls = k;
        return MHD_YES;
    }
    if (*upload_size) {
        /* Keep reading an oversized body (so the 413 reaches the client)
         * but stop storing it. */
        if (k->body.len + *upload_size > c->max_body) {
            k->too_big = 1;
        } else {
            sbuf_add(&k->body, upload, *upload_size);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    post = !strcmp(method, MHD_HTTP_METHOD_POST);
    switch (k->route) {
    case RT_COMPLETIONS:
    case RT_CHAT:
        if (post) {
            return generate(k, mc);
        }
        break;
    case RT_MODELS:
    case RT_HEALTH:
    case RT_METRICS:
        if (!strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD)) {
            if (k->route == RT_MODELS) {
                return models(k, mc);
            }
            if (k->route == RT_METRICS) {
                return metrics(k, mc);
            }
            sbuf b = { 0 };
            sbuf_adds(&b, "{\"status\":\"ok\"}\n");
            return send_buf(k, mc, 200, &b, "application/json");
        }
        break;
    case RT_NONE:
        serve_err_set(&e, 404, "invalid_request_error", NULL, "not_found",
                      "no route %.100s %.200s", method, url);
        return send_err(k, mc, &e);
    }
    serve_err_set(&e, 405, "invalid_request_error", NULL, "method_not_allowed",
                  "method %.100s not allowed on %.200s", method, url);
    return send_err(k, mc, &e);
}

static void completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    conn *k = *con_cls;
    (void)cls;
    (void)mc;
    (void)toe;
    if (k) {
        record(k);              /* abandoned generations count as cancelled */
        conn_put(k);
        *con_cls = NULL;
    }
}

int serve_http_start(serve_ctx *c, const char *host, unsigned port, char *err, size_t errlen)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "bad IPv4 address '%s'", host);
        return -1;
    }
    c->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                 MHD_USE_ERROR_LOG,
                                 (uint16_t)port, NULL, NULL, handle, c,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                 MHD_OPTION_CONNECTION_LIMIT, c->max_connections,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                                 MHD_OPTION_NOTIFY_COMPLETED, completed, c,
                                 MHD_OPTION_END);
    if (!c->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%u", host, port);
        return -1;
    }
    return 0;
}

void serve_http_stop(serve_ctx *c)
{
    if (c->daemon) {
        MHD_stop_daemon(c->daemon);
        c->daemon = NULL;
    }
}
