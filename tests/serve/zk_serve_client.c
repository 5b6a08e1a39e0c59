/* SPDX-License-Identifier: MIT */
/*
 * zk_serve_client.c - a small HTTP/1.1 + SSE client for zk-serve: the in-VM
 * tests (the guest has no curl), the load-test benchmark and `make run`.
 *
 *   zk-serve-client [-p PORT] get PATH          print the body; exit 0 on 200
 *   zk-serve-client [-p PORT] stream PROMPT [N] stream a completion to stdout
 *   zk-serve-client [-p PORT] test              the functional tests (TAP)
 *   zk-serve-client [-p PORT] overflow N        N concurrent requests against a
 *                                               small queue: 429s (TAP)
 *   zk-serve-client [-p PORT] multicard NCARDS  requests spread over the cards (TAP)
 *   zk-serve-client [-p PORT] same-answer PORT2 PROMPT N   both servers answer alike (TAP)
 *   zk-serve-client [-p PORT] load CLIENTS REQS MAXTOK   load test: BENCH lines
 *   zk-serve-client [-p PORT] sweep-point BATCH CAP_W MAXTOK  one point of the
 *                                               batch x power-cap sweep: SWEEP csv
 *
 * Plain sockets and json-c: it checks what a client sees on the wire -
 * status codes, chunked bodies, "data: " events, [DONE], error bodies.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

static unsigned port = 8000;
static int load_report = 1;     /* run_load prints LOAD/BENCH lines */
static int tap_n, tap_fail;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void ok(int cond, const char *fmt, ...)
{
    va_list ap;
    printf("%s %d - ", cond ? "ok" : "not ok", ++tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    tap_fail += !cond;
}

/* ---- a growing buffer ---------------------------------------------------- */
typedef struct buf {
    char *s;
    size_t len, cap;
} buf;

static void badd(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s) {
            abort();
        }
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

/* ---- HTTP ------------------------------------------------------------------ */
typedef struct http {
    int fd, status, chunked;
    long content_length;        /* -1: unknown */
    char raw[8192];
    size_t rlen, roff;
    long chunk_left;            /* bytes left in the current chunk; -1: read size */
    int eof;
    buf headers;
} http;

static int dial(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    struct timeval tv = { .tv_sec = 120 };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static int send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static int raw_byte(http *h)
{
    if (h->roff == h->rlen) {
        ssize_t n = recv(h->fd, h->raw, sizeof(h->raw), 0);
        if (n <= 0) {
            return -1;
        }
        h->rlen = (size_t)n;
        h->roff = 0;
    }
    return (unsigned char)h->raw[h->roff++];
}

static int raw_line(http *h, buf *b)
{
    int c;
    b->len = 0;
    badd(b, "", 0);
    while ((c = raw_byte(h)) >= 0) {
        char ch = (char)c;
        if (ch == '\n') {
            if (b->len && b->s[b->len - 1] == '\r') {
                b->s[--b->len] = 0;
            }
            return 0;
        }
        badd(b, &ch, 1);
    }
    return -1;
}

/* Send a raw request, read the status line and headers.  0 or -1. */
static int http_raw(http *h, const char *req, size_t len)
{
    buf line = { 0 };
    memset(h, 0, sizeof(*h));
    h->content_length = -1;
    h->chunk_left = -1;
    h->fd = dial();
    if (h->fd < 0 || send_all(h->fd, req, len) || raw_line(h, &line) ||
        sscanf(line.s, "HTTP/1.%*d %d", &h->status) != 1) {
        free(line.s);
        return -1;
    }
    while (!raw_line(h, &line) && line.len) {
        badd(&h->headers, line.s, line.len);
        badd(&h->headers, "\n", 1);
        if (!strncasecmp(line.s, "transfer-encoding:", 18) && strstr(line.s, "chunked")) {
            h->chunked = 1;
        }
        if (!strncasecmp(line.s, "content-length:", 15)) {
            h->content_length = atol(line.s + 15);
        }
    }
    free(line.s);
    return 0;
}

static int http_req(http *h, const char *method, const char *path, const char *body)
{
    buf r = { 0 };
    char head[512];
    int n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: localhost\r\n"
                     "Connection: close\r\n", method, path);
    badd(&r, head, (size_t)n);
    if (body) {
        n = snprintf(head, sizeof(head), "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n", strlen(body));
        badd(&r, head, (size_t)n);
    }
    badd(&r, "\r\n", 2);
    if (body) {
        badd(&r, body, strlen(body));
    }
    n = http_raw(h, r.s, r.len);
    free(r.s);
    return n;
}

/* Next body bytes (de-chunked) into @out; returns count, 0 at the end, -1 on error. */
static long http_read(http *h, char *out, size_t max)
{
    size_t n = 0;
    if (h->eof) {
        return 0;
    }
    if (!h->chunked) {
        int c;
        while (n < max && (h->content_length < 0 || h->content_length > 0) &&
               (c = raw_byte(h)) >= 0) {
            out[n++] = (char)c;
            if (h->content_length > 0) {
                h->content_length--;
            }
            if (h->roff == h->rlen) {
                break;
            }
        }
        if (!n) {
            h->eof = 1;
        }
        return (long)n;
    }
    if (h->chunk_left <= 0) {
        buf line = { 0 };
        if (h->chunk_left == 0 && (raw_line(h, &line) || line.len)) {   /* CRLF after data */
            free(line.s);
            return -1;
        }
        if (raw_line(h, &line)) {
            free(line.s);
            return -1;
        }
        h->chunk_left = strtol(line.s, NULL, 16);
        free(line.s);
        if (h->chunk_left == 0) {
            h->eof = 1;
            return 0;
        }
    }
    while (n < max && h->chunk_left > 0) {
        int c = raw_byte(h);
        if (c < 0) {
            return -1;
        }
        out[n++] = (char)c;
        h->chunk_left--;
        if (h->roff == h->rlen) {
            break;
        }
    }
    return (long)n;
}

static int http_body(http *h, buf *b)
{
    char tmp[4096];
    long n;
    badd(b, "", 0);
    while ((n = http_read(h, tmp, sizeof(tmp))) > 0) {
        badd(b, tmp, (size_t)n);
    }
    return (int)n;
}

static void http_close(http *h)
{
    if (h->fd >= 0) {
        close(h->fd);
    }
    h->fd = -1;
    free(h->headers.s);
    h->headers.s = NULL;
}

/* One whole request: status, body (malloc'ed into *body). */
static int fetch(const char *method, const char *path, const char *req_body, char **body)
{
    http h;
    buf b = { 0 };
    int st;
    if (http_req(&h, method, path, req_body)) {
        http_close(&h);
        *body = NULL;
        return -1;
    }
    http_body(&h, &b);
    st = h.status;
    http_close(&h);
    *body = b.s;
    return st;
}

/* ---- SSE ---------------------------------------------------------------- */
typedef struct sse_result {
    int status, events, done_last, bad_json, role_first;
    double t_start, t_first, t_end;
    buf text;
    char finish[16];
    long prompt_tokens, completion_tokens;
    double card_ms, card_j, cost;
    double *tok_times;          /* arrival time of each content event */
    int n_tok_times;
} sse_result;

/* Handle one "data: " payload. */
static void sse_event(sse_result *r, const char *data, int chat)
{
    json_object *o, *ch, *v, *u;
    if (!strcmp(data, "[DONE]")) {
        r->done_last = 1;
        return;
    }
    if (r->done_last) {
        r->done_last = 0;       /* something after [DONE] */
        r->bad_json++;
    }
    o = json_tokener_parse(data);
    if (!o) {
        r->bad_json++;
        return;
    }
    r->events++;
    if (json_object_object_get_ex(o, "usage", &u) && u) {
        if (json_object_object_get_ex(u, "prompt_tokens", &v)) r->prompt_tokens = json_object_get_int64(v);
        if (json_object_object_get_ex(u, "completion_tokens", &v)) r->completion_tokens = json_object_get_int64(v);
        if (json_object_object_get_ex(u, "card_time_ms", &v) && v) r->card_ms = json_object_get_double(v);
        if (json_object_object_get_ex(u, "card_energy_j", &v) && v) r->card_j = json_object_get_double(v);
        if (json_object_object_get_ex(u, "energy_cost", &v) && v) r->cost = json_object_get_double(v);
    }
    if (json_object_object_get_ex(o, "choices", &ch) && json_object_array_length(ch)) {
        json_object *c0 = json_object_array_get_idx(ch, 0), *d = c0, *t = NULL;
        if (chat && json_object_object_get_ex(c0, "delta", &d)) {
            if (r->events == 1 && json_object_object_get_ex(d, "role", &v)) {
                r->role_first = 1;
            }
            json_object_object_get_ex(d, "content", &t);
        } else if (!chat) {
            json_object_object_get_ex(c0, "text", &t);
        }
        if (t && json_object_get_string_len(t)) {
            double tn = now();
            if (!r->t_first) {
                r->t_first = tn;
            }
            r->tok_times = realloc(r->tok_times, (r->n_tok_times + 1) * sizeof(double));
            r->tok_times[r->n_tok_times++] = tn;
            badd(&r->text, json_object_get_string(t), (size_t)json_object_get_string_len(t));
        }
        if (json_object_object_get_ex(c0, "finish_reason", &v) && v) {
            snprintf(r->finish, sizeof(r->finish), "%s", json_object_get_string(v));
        }
    }
    json_object_put(o);
}

/*
 * POST a streaming request and read its events; @stop_after > 0: hang up
 * after that many events (a client that goes away mid-stream).
 */
static int sse_run(const char *path, const char *body, int chat, int stop_after, sse_result *r)
{
    http h;
    buf line = { 0 };
    char tmp[2048];
    long n;
    memset(r, 0, sizeof(*r));
    badd(&r->text, "", 0);
    r->t_start = now();
    if (http_req(&h, "POST", path, body)) {
        http_close(&h);
        return -1;
    }
    r->status = h.status;
    if (h.status != 200) {
        buf b = { 0 };
        http_body(&h, &b);
        free(b.s);
        http_close(&h);
        return 0;
    }
    while ((n = http_read(&h, tmp, sizeof(tmp))) > 0) {
        for (long i = 0; i < n; i++) {
            if (tmp[i] != '\n') {
                badd(&line, tmp + i, 1);
                continue;
            }
            if (line.len > 6 && !strncmp(line.s, "data: ", 6)) {
                sse_event(r, line.s + 6, chat);
            }
            line.len = 0;
            if (stop_after && r->events >= stop_after) {
                free(line.s);
                http_close(&h);     /* hang up */
                return 0;
            }
        }
    }
    r->t_end = now();
    free(line.s);
    http_close(&h);
    return n < 0 ? -1 : 0;
}

static void sse_free(sse_result *r)
{
    free(r->text.s);
    free(r->tok_times);
}

/* ---- metrics ------------------------------------------------------------ */
/* Value of the sample @name (exact, labels included) in a /metrics text;
 * with @sum_labels, the sum over every label set of that metric. */
static double metric_in(const char *text, const char *name, int sum_labels)
{
    double total = 0;
    int found = 0;
    size_t n = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, name, n)) {
            continue;
        }
        if (p[n] == ' ' || (sum_labels && p[n] == '{')) {
            const char *sp = strchr(p, ' ');
            total += strtod(sp + 1, NULL);
            found = 1;
            if (!sum_labels) {
                break;
            }
        }
    }
    return found ? total : NAN;
}

static char *get_metrics(void)
{
    char *body = NULL;
    if (fetch("GET", "/metrics", NULL, &body) != 200) {
        free(body);
        return NULL;
    }
    return body;
}

static double metric(const char *name, int sum)
{
    char *m = get_metrics();
    double v = m ? metric_in(m, name, sum) : NAN;
    free(m);
    return v;
}

/* Wait until no request runs or waits and no KV block is in use. */
static int wait_idle(double timeout_s)
{
    double t0 = now();
    while (now() - t0 < timeout_s) {
        char *m = get_metrics();
        if (m && metric_in(m, "zkserve_num_requests_running", 1) == 0 &&
            metric_in(m, "zkserve_num_requests_waiting", 1) == 0 &&
            metric_in(m, "zkserve_kv_blocks_used", 1) == 0) {
            free(m);
            return 1;
        }
        free(m);
        usleep(100000);
    }
    return 0;
}

/* ---- requests ---------------------------------------------------------- */
#define NPROMPTS 32
#define MAXTOK 12

static char *prompt_of(int i)
{
    static const char *subj[] = { "a little dog", "the old king", "a red bird", "my friend Tom",
                                  "a tiny robot", "the tall tree", "Lily", "the moon" };
    static const char *verb[] = { "went to the park", "found a box", "was very happy",
                                  "wanted to play" };
    char *p;
    if (asprintf(&p, "Once upon a time %s %s and %d", subj[i % 8], verb[(i / 8) % 4], i) < 0) {
        abort();
    }
    return p;
}

static char *completion_body(const char *prompt, int max_tokens, int stream, const char *extra)
{
    json_object *o = json_object_new_object();
    char *s;
    json_object_object_add(o, "prompt", json_object_new_string(prompt));
    json_object_object_add(o, "max_tokens", json_object_new_int(max_tokens));
    if (!extra || !strstr(extra, "\"temperature\"")) {
        json_object_object_add(o, "temperature", json_object_new_double(0));
    }
    json_object_object_add(o, "stream", json_object_new_boolean(stream));
    s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    if (extra) {                /* splice extra fields before the closing brace */
        char *t;
        s[strlen(s) - 1] = 0;
        if (asprintf(&t, "%s,%s}", s, extra) < 0) {
            abort();
        }
        free(s);
        s = t;
    }
    return s;
}

typedef struct alone {
    char *text, finish[16];
    long prompt_tokens, completion_tokens;
    double card_ms, card_j, cost;
} alone;

static int complete_alone(const char *prompt, int max_tokens, const char *extra, alone *a)
{
    char *body = completion_body(prompt, max_tokens, 0, extra), *resp;
    int st = fetch("POST", "/v1/completions", body, &resp);
    json_object *o = resp ? json_tokener_parse(resp) : NULL, *v, *c0, *u;
    memset(a, 0, sizeof(*a));
    a->card_ms = a->card_j = a->cost = -1;
    free(body);
    if (st != 200 || !o || !json_object_object_get_ex(o, "choices", &v) ||
        !(c0 = json_object_array_get_idx(v, 0)) || !json_object_object_get_ex(c0, "text", &v)) {
        fprintf(stderr, "# alone: status %d body %s\n", st, resp ? resp : "(none)");
        json_object_put(o);
        free(resp);
        return -1;
    }
    a->text = strdup(json_object_get_string(v));
    if (json_object_object_get_ex(c0, "finish_reason", &v) && v) {
        snprintf(a->finish, sizeof(a->finish), "%s", json_object_get_string(v));
    }
    if (json_object_object_get_ex(o, "usage", &u)) {
        if (json_object_object_get_ex(u, "prompt_tokens", &v)) a->prompt_tokens = json_object_get_int64(v);
        if (json_object_object_get_ex(u, "completion_tokens", &v)) a->completion_tokens = json_object_get_int64(v);
        if (json_object_object_get_ex(u, "card_time_ms", &v) && v) a->card_ms = json_object_get_double(v);
        if (json_object_object_get_ex(u, "card_energy_j", &v) && v) a->card_j = json_object_get_double(v);
        if (json_object_object_get_ex(u, "energy_cost", &v) && v) a->cost = json_object_get_double(v);
    }
    json_object_put(o);
    free(resp);
    return 0;
}

typedef struct stream_job {
    const char *path;
    char *body;
    int chat, stop_after;
    sse_result r;
    int rc;
} stream_job;

static void *stream_thread(void *arg)
{
    stream_job *j = arg;
    j->rc = sse_run(j->path, j->body, j->chat, j->stop_after, &j->r);
    return NULL;
}

/* ---- the functional tests --------------------------------------------- */
static void test_routes(void)
{
    char *b = NULL;
    json_object *o, *d, *v;
    int st = fetch("GET", "/health", NULL, &b);
    ok(st == 200, "GET /health: %d", st);
    free(b);
    st = fetch("GET", "/v1/models", NULL, &b);
    o = b ? json_tokener_parse(b) : NULL;
    ok(st == 200 && o && json_object_object_get_ex(o, "data", &d) &&
       json_object_array_length(d) == 1 &&
       json_object_object_get_ex(json_object_array_get_idx(d, 0), "id", &v) &&
       json_object_get_string_len(v) > 0, "GET /v1/models lists the model");
    json_object_put(o);
    free(b);
    char *m = get_metrics();
    ok(m && strstr(m, "# TYPE zkserve_time_to_first_token_seconds histogram") &&
       strstr(m, "zkserve_kv_blocks_total{card=\"0\"}"), "GET /metrics is Prometheus text");
    free(m);
}

/* 32 streaming clients at once get what each prompt gets alone (greedy),
 * and /metrics counts exactly what the clients saw. */
static void test_concurrent(void)
{
    alone ref[NPROMPTS];
    stream_job jobs[NPROMPTS];
    pthread_t th[NPROMPTS];
    char *prompts[NPROMPTS], *m0, *m1;
    long sum_prompt = 0, sum_gen = 0;
    int same = 0, well_formed = 0, usage_ok = 0, alone_ok = 0;
    double t0, dt;

    m0 = get_metrics();
    for (int i = 0; i < NPROMPTS; i++) {
        prompts[i] = prompt_of(i);
        if (complete_alone(prompts[i], MAXTOK, NULL, &ref[i]) == 0) {
            alone_ok++;
            sum_prompt += ref[i].prompt_tokens;
            sum_gen += ref[i].completion_tokens;
        }
    }
    ok(alone_ok == NPROMPTS, "%d/%d prompts served alone (non-streaming)", alone_ok, NPROMPTS);
    ok(ref[0].card_ms > 0 && ref[0].card_j > 0 && ref[0].cost > 0,
       "usage has modelled card time %.3f ms, energy %.4g J, cost %.3g", ref[0].card_ms,
       ref[0].card_j, ref[0].cost);
    t0 = now();
    for (int i = 0; i < NPROMPTS; i++) {
        memset(&jobs[i], 0, sizeof(jobs[i]));
        jobs[i].path = "/v1/completions";
        jobs[i].body = completion_body(prompts[i], MAXTOK, 1, NULL);
        pthread_create(&th[i], NULL, stream_thread, &jobs[i]);
    }
    for (int i = 0; i < NPROMPTS; i++) {
        pthread_join(th[i], NULL);
    }
    dt = now() - t0;
    for (int i = 0; i < NPROMPTS; i++) {
        sse_result *r = &jobs[i].r;
        if (jobs[i].rc == 0 && r->status == 200 && r->done_last && !r->bad_json && r->finish[0]) {
            well_formed++;
        }
        if (ref[i].text && !strcmp(ref[i].text, r->text.s) && !strcmp(ref[i].finish, r->finish)) {
            same++;
        } else {
            printf("# prompt %d: alone '%s' (%s), streamed '%s' (%s)\n", i,
                   ref[i].text ? ref[i].text : "?", ref[i].finish, r->text.s, r->finish);
        }
        if (r->prompt_tokens == ref[i].prompt_tokens &&
            r->completion_tokens == ref[i].completion_tokens && r->card_j > 0) {
            usage_ok++;
        }
        sum_prompt += r->prompt_tokens;
        sum_gen += r->completion_tokens;
    }
    ok(well_formed == NPROMPTS, "%d/%d streams: 200, valid JSON events, finish_reason, "
       "data: [DONE] last (%.1f s for all)", well_formed, NPROMPTS, dt);
    ok(same == NPROMPTS, "%d/%d concurrent greedy streams equal the prompt run alone", same,
       NPROMPTS);
    ok(usage_ok == NPROMPTS, "%d/%d streams report the same usage tokens as alone, with energy",
       usage_ok, NPROMPTS);
    m1 = get_metrics();
    if (m0 && m1) {
        double dp = metric_in(m1, "zkserve_prompt_tokens_total", 0) -
                    metric_in(m0, "zkserve_prompt_tokens_total", 0);
        double dg = metric_in(m1, "zkserve_generation_tokens_total", 0) -
                    metric_in(m0, "zkserve_generation_tokens_total", 0);
        double d200 = metric_in(m1, "zkserve_http_requests_total{code=\"200\"}", 0) -
                      metric_in(m0, "zkserve_http_requests_total{code=\"200\"}", 0);
        double dok = metric_in(m1, "zkserve_request_success_total", 1) -
                     metric_in(m0, "zkserve_request_success_total", 1);
        double dttft = metric_in(m1, "zkserve_time_to_first_token_seconds_count", 0) -
                       metric_in(m0, "zkserve_time_to_first_token_seconds_count", 0);
        ok(dp == sum_prompt && dg == sum_gen,
           "metrics: prompt tokens +%.0f (clients saw %ld), generated +%.0f (clients saw %ld)",
           dp, sum_prompt, dg, sum_gen);
        /* 64 generations + this scrape (the first counted itself). */
        ok(d200 == 2 * NPROMPTS + 1 && dok == 2 * NPROMPTS && dttft == 2 * NPROMPTS,
           "metrics: 200s +%.0f, finished +%.0f, TTFT samples +%.0f (want %d, %d, %d)", d200,
           dok, dttft, 2 * NPROMPTS + 1, 2 * NPROMPTS, 2 * NPROMPTS);
    } else {
        ok(0, "metrics scrape failed");
        ok(0, "metrics scrape failed");
    }
    ok(wait_idle(10), "afterwards: nothing running or waiting, 0 KV blocks in use");
    for (int i = 0; i < NPROMPTS; i++) {
        free(prompts[i]);
        free(ref[i].text);
        free(jobs[i].body);
        sse_free(&jobs[i].r);
    }
    free(m0);
    free(m1);
}

static void test_chat_and_stop(void)
{
    stream_job j = { .path = "/v1/chat/completions", .chat = 1 };
    alone a, b;
    j.body = strdup("{\"messages\":[{\"role\":\"system\",\"content\":\"You tell stories.\"},"
                    "{\"role\":\"user\",\"content\":\"Tell me about a cat.\"}],"
                    "\"max_tokens\":8,\"temperature\":0,\"stream\":true,"
                    "\"stream_options\":{\"include_usage\":true}}");
    stream_thread(&j);
    ok(j.rc == 0 && j.r.status == 200 && j.r.role_first && j.r.done_last && !j.r.bad_json &&
       j.r.completion_tokens > 0 && j.r.completion_tokens <= 8,
       "chat stream: role chunk first, %ld tokens, usage chunk, [DONE]", j.r.completion_tokens);
    free(j.body);
    sse_free(&j.r);
    /* Stop strings: cut where the string starts, finish_reason "stop". */
    if (complete_alone("Once upon a time there was", 24, NULL, &a) == 0 && strlen(a.text) > 8) {
        size_t at = strlen(a.text) / 2;
        char stop[4] = { a.text[at], a.text[at + 1], a.text[at + 2], 0 }, *extra, *esc;
        json_object *s = json_object_new_string(stop);
        esc = strdup(json_object_to_json_string(s));
        json_object_put(s);
        if (asprintf(&extra, "\"stop\":[%s]", esc) < 0) {
            abort();
        }
        size_t first = (size_t)(strstr(a.text, stop) - a.text);
        int rc = complete_alone("Once upon a time there was", 24, extra, &b);
        ok(rc == 0 && strlen(b.text) == first && !strncmp(a.text, b.text, first) &&
           !strcmp(b.finish, "stop") && b.completion_tokens < a.completion_tokens,
           "stop string %s: text cut at byte %zu, finish_reason stop, %ld < %ld tokens", esc,
           first, b.completion_tokens, a.completion_tokens);
        free(extra);
        free(esc);
        free(b.text);
    } else {
        ok(0, "stop string: reference completion failed");
    }
    free(a.text);
}

/* Sampling (runtime/llm's zk_sampler per request): a seed makes it
 * reproducible, and it really samples (not the greedy answer every time). */
static void test_sampling(void)
{
    const char *p = "Once upon a time a cat";
    alone g, a, b;
    int differ = 0, ok_all = complete_alone(p, 16, NULL, &g) == 0;
    ok_all &= complete_alone(p, 16, "\"temperature\":1.5,\"top_p\":0.95,\"seed\":7", &a) == 0;
    ok_all &= complete_alone(p, 16, "\"temperature\":1.5,\"top_p\":0.95,\"seed\":7", &b) == 0;
    ok(ok_all && !strcmp(a.text, b.text), "seed 7, temperature 1.5, top_p 0.95: the same text twice");
    for (int s = 1; s <= 4 && ok_all; s++) {
        alone c;
        char extra[96];
        snprintf(extra, sizeof(extra), "\"temperature\":1.5,\"seed\":%d", s);
        if (complete_alone(p, 16, extra, &c) == 0) {
            differ += strcmp(c.text, g.text) != 0;
            free(c.text);
        }
    }
    ok(differ > 0, "%d/4 seeded samples differ from the greedy answer", differ);
    free(g.text);
    free(a.text);
    free(b.text);
}

/* Bad requests: the right status and an OpenAI error body; the server lives on. */
static void test_malformed(void)
{
    static const struct { const char *method, *path, *body; int status; const char *param; } t[] = {
        { "POST", "/v1/completions", "{\"prompt\":", 400, NULL },
        { "POST", "/v1/completions", "not json", 400, NULL },
        { "POST", "/v1/completions", "", 400, NULL },
        { "POST", "/v1/completions", "{\"prompt\":\"a\",\"max_tokens\":\"many\"}", 400, "max_tokens" },
        { "POST", "/v1/completions", "{\"prompt\":\"a\",\"temperature\":[1]}", 400, "temperature" },
        { "POST", "/v1/completions", "{\"prompt\":\"a\",\"stream\":\"yes\"}", 400, "stream" },
        { "POST", "/v1/completions", "{\"prompt\":{\"a\":1}}", 400, "prompt" },
        { "POST", "/v1/completions", "{\"prompt\":\"a\",\"top_p\":0}", 400, "top_p" },
        { "POST", "/v1/completions", "{\"prompt\":\"a\",\"presence_penalty\":5}", 400, "presence_penalty" },
        { "POST", "/v1/chat/completions", "{\"messages\":[{\"role\":1}]}", 400, "messages" },
        { "POST", "/v1/completions", "{\"prompt\":\"a\",\"model\":\"gpt-9\"}", 404, "model" },
        { "GET", "/v1/completions", NULL, 405, NULL },
        { "POST", "/v1/models", "{}", 405, NULL },
        { "GET", "/v2/nothing", NULL, 404, NULL },
    };
    int good = 0;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *b = NULL;
        int st = fetch(t[i].method, t[i].path, t[i].body, &b);
        json_object *o = b ? json_tokener_parse(b) : NULL, *e, *v;
        int shape = o && json_object_object_get_ex(o, "error", &e) &&
                    json_object_object_get_ex(e, "message", &v) &&
                    json_object_object_get_ex(e, "type", &v) &&
                    json_object_object_get_ex(e, "param", &v) &&
                    (!t[i].param || (v && !strcmp(json_object_get_string(v), t[i].param))) &&
                    json_object_object_get_ex(e, "code", &v);
        if (st == t[i].status && shape) {
            good++;
        } else {
            printf("# %s %s %s -> %d %s\n", t[i].method, t[i].path, t[i].body ? t[i].body : "",
                   st, b ? b : "");
        }
        json_object_put(o);
        free(b);
    }
    ok(good == (int)(sizeof(t) / sizeof(t[0])), "%d/%zu malformed requests: right status and "
       "OpenAI error body", good, sizeof(t) / sizeof(t[0]));

    /* An over-long prompt: 400 context_length_exceeded (by tokens, and by bytes). */
    {
        buf p = { 0 };
        char *body, *b = NULL;
        for (int i = 0; i < 600; i++) {
            badd(&p, "zq ", 3);
        }
        body = completion_body(p.s, 4, 0, NULL);
        int st = fetch("POST", "/v1/completions", body, &b);
        ok(st == 400 && b && strstr(b, "context_length_exceeded"),
           "over-long prompt: %d context_length_exceeded", st);
        free(b);
        free(body);
        free(p.s);
    }
    /* A body over the limit: 413 (the server keeps reading, then answers). */
    {
        size_t n = (1 << 20) + 100;
        char *big = malloc(n + 1), *b = NULL;
        memset(big, ' ', n);
        big[n] = 0;
        big[0] = '{';
        big[n - 1] = '}';
        int st = fetch("POST", "/v1/completions", big, &b);
        ok(st == 413, "1 MiB + 100 byte body: %d", st);
        free(b);
        free(big);
    }
    /* Broken HTTP: garbage, a header without a colon, a lying Content-Length. */
    {
        static const char *raw[] = {
            "HELLO\r\n\r\n",
            "GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
            "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}",
            "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        };
        int answered = 0;
        for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
            http h;
            buf b = { 0 };
            int rc = http_raw(&h, raw[i], strlen(raw[i]));
            /* Not HTTP at all (no version): a hang-up is the answer. */
            if ((rc == 0 && h.status >= 400 && h.status < 500) || (i == 0 && rc < 0)) {
                answered++;
            } else {
                printf("# raw request %zu: status %d\n", i, h.status);
            }
            http_body(&h, &b);
            free(b.s);
            http_close(&h);
        }
        char *b = NULL;
        int st = fetch("GET", "/health", NULL, &b);
        free(b);
        ok(answered == (int)(sizeof(raw) / sizeof(raw[0])) && st == 200,
           "%d/%zu broken HTTP requests refused (4xx, or closed if not HTTP), server healthy",
           answered,
           sizeof(raw) / sizeof(raw[0]));
    }
}

/* Clients that hang up mid-stream (and one mid-request): their requests are
 * cancelled and every KV block comes back. */
static void test_disconnect(void)
{
    enum { N = 4 };
    stream_job jobs[N];
    pthread_t th[N];
    double c0 = metric("zkserve_request_cancelled_total", 0);
    int cut = 0;
    for (int i = 0; i < N; i++) {
        char *p = prompt_of(100 + i);
        memset(&jobs[i], 0, sizeof(jobs[i]));
        jobs[i].path = "/v1/completions";
        jobs[i].body = completion_body(p, 200, 1, NULL);
        jobs[i].stop_after = 3;
        free(p);
        pthread_create(&th[i], NULL, stream_thread, &jobs[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        cut += jobs[i].r.status == 200 && jobs[i].r.events == 3 && !jobs[i].r.done_last;
    }
    /* A non-streaming request whose client leaves before the answer. */
    {
        /* Long enough (480 tokens, no early end) that it is still running
         * when the client leaves, even on a fast, idle machine. */
        char *body = completion_body("Once upon a time a bird", 480, 0, "\"ignore_eos\":true"), req[1024];
        int n = snprintf(req, sizeof(req), "POST /v1/completions HTTP/1.1\r\nHost: x\r\n"
                         "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
        int fd = dial();
        if (fd >= 0) {
            send_all(fd, req, (size_t)n);
            usleep(200000);
            close(fd);
        }
        free(body);
    }
    ok(cut == N, "%d/%d streams hung up after 3 events", cut, N);
    int idle = wait_idle(20);
    double c1 = metric("zkserve_request_cancelled_total", 0);
    ok(idle, "after the hang-ups: nothing running or waiting, 0 KV blocks in use");
    ok(c1 - c0 == N + 1, "metrics: %.0f requests cancelled (want %d)", c1 - c0, N + 1);
    for (int i = 0; i < N; i++) {
        free(jobs[i].body);
        sse_free(&jobs[i].r);
    }
}

static int run_tests(void)
{
    test_routes();
    test_malformed();
    test_chat_and_stop();
    test_sampling();
    test_concurrent();
    test_disconnect();
    printf("1..%d\n", tap_n);
    return tap_fail ? 1 : 0;
}

/* ---- queue overflow ----------------------------------------------------- */
typedef struct plain_job {
    char *body;
    int status;
    char *resp;
} plain_job;

static void *plain_thread(void *arg)
{
    plain_job *j = arg;
    j->status = fetch("POST", "/v1/completions", j->body, &j->resp);
    return NULL;
}

static int run_overflow(int n)
{
    plain_job *jobs = calloc((size_t)n, sizeof(*jobs));
    pthread_t *th = calloc((size_t)n, sizeof(*th));
    int n200 = 0, n429 = 0, shape = 0;
    double m0 = metric("zkserve_http_requests_total{code=\"429\"}", 0), m1;
    for (int i = 0; i < n; i++) {
        char *p = prompt_of(i);
        jobs[i].body = completion_body(p, 48, 0, NULL);
        free(p);
        pthread_create(&th[i], NULL, plain_thread, &jobs[i]);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        n200 += jobs[i].status == 200;
        if (jobs[i].status == 429) {
            n429++;
            shape += jobs[i].resp && strstr(jobs[i].resp, "\"code\":\"queue_full\"") &&
                     strstr(jobs[i].resp, "\"type\":\"rate_limit_error\"");
        }
        free(jobs[i].body);
        free(jobs[i].resp);
    }
    m1 = metric("zkserve_http_requests_total{code=\"429\"}", 0);
    ok(n200 + n429 == n && n429 > 0 && n200 >= 4,
       "%d concurrent requests on a 2+2 queue: %d served, %d answered 429", n, n200, n429);
    ok(shape == n429, "every 429 has an OpenAI rate_limit_error body with code queue_full");
    ok(m1 - m0 == n429, "metrics count %.0f 429s", m1 - m0);
    ok(wait_idle(10), "afterwards: nothing running or waiting, 0 KV blocks in use");
    free(jobs);
    free(th);
    printf("1..%d\n", tap_n);
    return tap_fail ? 1 : 0;
}

/* ---- several cards ------------------------------------------------------ */
static int run_multicard(int ncards)
{
    enum { N = 16 };
    plain_job jobs[N];
    pthread_t th[N];
    int n200 = 0, used = 0;
    char *m;
    for (int i = 0; i < N; i++) {
        char *p = prompt_of(i);
        jobs[i].body = completion_body(p, 8, 0, NULL);
        free(p);
        pthread_create(&th[i], NULL, plain_thread, &jobs[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        n200 += jobs[i].status == 200;
        free(jobs[i].body);
        free(jobs[i].resp);
    }
    m = get_metrics();
    for (int c = 0; c < ncards && m; c++) {
        char name[96];
        snprintf(name, sizeof(name), "zkserve_engine_steps_total{card=\"%d\"}", c);
        used += metric_in(m, name, 0) > 0;
    }
    free(m);
    ok(n200 == N, "%d/%d requests served over %d cards", n200, N, ncards);
    ok(used == ncards, "every card ran engine steps (%d of %d)", used, ncards);
    printf("1..%d\n", tap_n);
    return tap_fail ? 1 : 0;
}

/* ---- load test ------------------------------------------------------------ */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    if (n <= 0) {
        return NAN;
    }
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    int i = (int)ceil(p / 100.0 * n) - 1;
    return v[i < 0 ? 0 : i];
}

typedef struct load_ctx {
    pthread_mutex_t lock;
    int next, total, maxtok;
    double *ttft, *tpot;
    int n_ttft, n_tpot, failed;
    long tokens;
    double card_j;
    long card_tokens;
} load_ctx;

static void *load_thread(void *arg)
{
    load_ctx *L = arg;
    for (;;) {
        int i;
        sse_result r;
        pthread_mutex_lock(&L->lock);
        i = L->next++;
        pthread_mutex_unlock(&L->lock);
        if (i >= L->total) {
            return NULL;
        }
        char *p = prompt_of(i), *body = completion_body(p, L->maxtok, 1, "\"ignore_eos\":true");
        int rc = sse_run("/v1/completions", body, 0, 0, &r);
        pthread_mutex_lock(&L->lock);
        if (rc || r.status != 200 || !r.done_last) {
            L->failed++;
        } else {
            if (r.t_first) {
                L->ttft[L->n_ttft++] = r.t_first - r.t_start;
            }
            if (r.n_tok_times > 1) {
                L->tpot[L->n_tpot++] = (r.t_end - r.t_first) / (r.completion_tokens - 1 > 0 ?
                                                                 r.completion_tokens - 1 : 1);
            }
            L->tokens += r.completion_tokens;
            if (r.card_j > 0) {
                L->card_j += r.card_j;
                L->card_tokens += r.completion_tokens;
            }
        }
        pthread_mutex_unlock(&L->lock);
        sse_free(&r);
        free(body);
        free(p);
    }
}

static int run_load(int clients, int reqs, int maxtok)
{
    load_ctx L = { .total = reqs, .maxtok = maxtok };
    pthread_t *th = calloc((size_t)clients, sizeof(*th));
    double t0, dt;
    pthread_mutex_init(&L.lock, NULL);
    L.ttft = calloc((size_t)reqs, sizeof(double));
    L.tpot = calloc((size_t)reqs, sizeof(double));
    t0 = now();
    for (int i = 0; i < clients; i++) {
        pthread_create(&th[i], NULL, load_thread, &L);
    }
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
    }
    dt = now() - t0;
    double ttft50 = pct(L.ttft, L.n_ttft, 50), ttft99 = pct(L.ttft, L.n_ttft, 99);
    double tpot50 = pct(L.tpot, L.n_tpot, 50), tpot99 = pct(L.tpot, L.n_tpot, 99);
    printf("load: %d clients, %d requests x %d tokens: %.1f s, %.1f tokens/s, %.2f req/s, "
           "TTFT p50 %.1f ms p99 %.1f ms, TPOT p50 %.1f ms p99 %.1f ms, %d failed\n", clients,
           reqs, maxtok, dt, L.tokens / dt, reqs / dt, ttft50 * 1e3, ttft99 * 1e3, tpot50 * 1e3,
           tpot99 * 1e3, L.failed);
    if (!load_report) {
        goto out;
    }
    printf("LOAD %d,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f\n", clients, L.tokens / dt, reqs / dt,
           ttft50 * 1e3, ttft99 * 1e3, tpot50 * 1e3, tpot99 * 1e3);
#define BENCH(metric, v, unit) \
    printf("BENCH {\"bench\":\"serve c%d\",\"metric\":\"%s\",\"value\":%.6g,\"unit\":\"%s\"}\n", \
           clients, metric, v, unit)
    BENCH("throughput (host time)", L.tokens / dt, "tokens/s");
    BENCH("TTFT p50", ttft50 * 1e3, "ms");
    BENCH("TTFT p99", ttft99 * 1e3, "ms");
    BENCH("TPOT p50", tpot50 * 1e3, "ms");
    BENCH("TPOT p99", tpot99 * 1e3, "ms");
out:
    free(L.ttft);
    free(L.tpot);
    free(th);
    return L.failed ? 1 : 0;
}

/* One point of the batch-size x power-cap sweep: @batch clients (the
 * server runs with --max-batch @batch) each streaming 2 requests; the
 * modelled card's tokens/s and J/token come from /metrics deltas. */
static int run_sweep_point(int batch, double cap_w, int maxtok)
{
    char *m0 = get_metrics(), *m1;
    double t0 = now(), dt;
    int rc, reqs = 2 * batch;
    fflush(stdout);
    load_report = 0;            /* the sweep reports SWEEP lines only */
    rc = run_load(batch, reqs, maxtok);
    dt = now() - t0;
    m1 = get_metrics();
    if (!m0 || !m1) {
        return 1;
    }
    double dtok = metric_in(m1, "zkserve_generation_tokens_total", 0) -
                  metric_in(m0, "zkserve_generation_tokens_total", 0);
    double ds = metric_in(m1, "zkserve_card_seconds_total", 1) -
                metric_in(m0, "zkserve_card_seconds_total", 1);
    double dj = metric_in(m1, "zkserve_card_energy_joules_total", 1) -
                metric_in(m0, "zkserve_card_energy_joules_total", 1);
    printf("SWEEP %d,%.1f,%.2f,%.1f,%.6g,%.2f\n", batch, cap_w, dtok / dt,
           ds > 0 ? dtok / ds : NAN, dtok > 0 ? dj / dtok : NAN, ds > 0 ? dj / ds : NAN);
    free(m0);
    free(m1);
    return rc;
}

/* The same greedy completion from this server and the one on @port2 (e.g.
 * the same model as llama2.c file and as GGUF): equal text and tokens. */
static int run_same_answer(unsigned port2, const char *prompt, int n)
{
    alone a, b;
    unsigned p1 = port;
    int ra = complete_alone(prompt, n, NULL, &a), rb;
    port = port2;
    rb = complete_alone(prompt, n, NULL, &b);
    port = p1;
    ok(ra == 0 && rb == 0 && !strcmp(a.text, b.text) && a.prompt_tokens == b.prompt_tokens &&
       a.completion_tokens == b.completion_tokens,
       "ports %u and %u answer alike: %ld+%ld tokens, '%s'", p1, port2, a.prompt_tokens,
       a.completion_tokens, ra == 0 ? a.text : "?");
    if (ra == 0 && rb == 0 && strcmp(a.text, b.text)) {
        printf("# port %u: '%s'\n", port2, b.text);
    }
    free(a.text);
    free(b.text);
    printf("1..%d\n", tap_n);
    return tap_fail ? 1 : 0;
}

/* ---- main ----------------------------------------------------------------- */
static void usage(void)
{
    fprintf(stderr, "usage: zk-serve-client [-p PORT] get PATH | stream PROMPT [N] | test |\n"
                    "       overflow N | multicard NCARDS | load CLIENTS REQS MAXTOK |\n"
                    "       sweep-point BATCH CAP_W MAXTOK | same-answer PORT2 PROMPT N\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int a = 1;
    if (a + 1 < argc && !strcmp(argv[a], "-p")) {
        port = (unsigned)atoi(argv[a + 1]);
        a += 2;
    }
    if (a >= argc) {
        usage();
    }
    signal(SIGPIPE, SIG_IGN);
    if (!strcmp(argv[a], "get") && a + 1 < argc) {
        char *b = NULL;
        int st = fetch("GET", argv[a + 1], NULL, &b);
        fputs(b ? b : "", stdout);
        free(b);
        return st == 200 ? 0 : 1;
    }
    if (!strcmp(argv[a], "stream") && a + 1 < argc) {
        int n = a + 2 < argc ? atoi(argv[a + 2]) : 32;
        char *body = completion_body(argv[a + 1], n, 1, NULL);
        sse_result r;
        int rc = sse_run("/v1/completions", body, 0, 0, &r);
        printf("%s%s\n[finish_reason %s; usage: %ld prompt + %ld completion tokens, modelled "
               "card %.3f ms, %.4g J, cost %.3g]\n", argv[a + 1], r.text.s, r.finish,
               r.prompt_tokens, r.completion_tokens, r.card_ms, r.card_j, r.cost);
        free(body);
        sse_free(&r);
        return rc || r.status != 200 || !r.done_last;
    }
    if (!strcmp(argv[a], "same-answer") && a + 3 < argc) {
        return run_same_answer((unsigned)atoi(argv[a + 1]), argv[a + 2], atoi(argv[a + 3]));
    }
    if (!strcmp(argv[a], "test")) {
        return run_tests();
    }
    if (!strcmp(argv[a], "overflow") && a + 1 < argc) {
        return run_overflow(atoi(argv[a + 1]));
    }
    if (!strcmp(argv[a], "multicard") && a + 1 < argc) {
        return run_multicard(atoi(argv[a + 1]));
    }
    if (!strcmp(argv[a], "sweep-point") && a + 3 < argc) {
        return run_sweep_point(atoi(argv[a + 1]), atof(argv[a + 2]), atoi(argv[a + 3]));
    }
    if (!strcmp(argv[a], "load") && a + 3 < argc) {
        return run_load(atoi(argv[a + 1]), atoi(argv[a + 2]), atoi(argv[a + 3]));
    }
    usage();
    return 2;
}
