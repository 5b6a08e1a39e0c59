/* SPDX-License-Identifier: MIT */
/*
 * serve_req.h - OpenAI-style request bodies of zk-serve: parse and validate
 * the JSON of POST /v1/completions and /v1/chat/completions into a plain
 * struct, and format the OpenAI error body.  No HTTP, no card: this is what
 * the host tests and the libFuzzer fuzzer drive.
 */
#ifndef ZK_SERVE_REQ_H
#define ZK_SERVE_REQ_H

#include <stddef.h>
#include <stdint.h>

enum serve_kind { SERVE_COMPLETION = 0, SERVE_CHAT };

#define SERVE_MAX_MESSAGES 64
#define SERVE_MAX_STOP 4

typedef struct serve_msg {
    char *role;                 /* "system", "user", "assistant" */
    char *content;
} serve_msg;

typedef struct serve_req {
    enum serve_kind kind;
    char *model;                /* NULL: the server's model */
    char *prompt;               /* completion: the prompt text */
    serve_msg msgs[SERVE_MAX_MESSAGES];
    unsigned n_msgs;            /* chat */
    int64_t max_tokens;         /* -1: server default */
    double temperature;         /* 0 = greedy */
    double top_p;               /* 1 = off */
    int64_t top_k;              /* <= 0 = off */
    double min_p;               /* 0 = off */
    double presence_penalty, frequency_penalty;     /* 0 = off */
    double repetition_penalty;  /* 1 = off (vLLM's name) */
    int64_t seed;               /* -1: none */
    int stream;
    int include_usage;          /* stream_options.include_usage */
    int echo;                   /* completion: prepend the prompt */
    int ignore_eos;             /* vLLM's: generate max_tokens even past EOS */
    char *stop[SERVE_MAX_STOP];
    unsigned n_stop;
} serve_req;

/* A parse or validation failure, in the OpenAI error shape. */
typedef struct serve_err {
    int http;                   /* 400, 404, 413, 429, 500 ... */
    const char *type;           /* "invalid_request_error", ... */
    char param[48];             /* offending field, "" if none */
    const char *code;           /* NULL or e.g. "context_length_exceeded" */
    char message[256];
} serve_err;

/**
 * serve_req_parse - parse @len bytes of JSON @body as a @kind request.
 * Unknown fields are ignored (as OpenAI servers do); known fields of the
 * wrong type or out of range fail.  Returns 0, or -1 with @err filled
 * (http 400).  On success free the request with serve_req_free().
 */
int serve_req_parse(serve_req *r, enum serve_kind kind, const char *body, size_t len,
                    serve_err *err);
void serve_req_free(serve_req *r);

/** serve_err_set - fill @e (printf-style message). */
void serve_err_set(serve_err *e, int http, const char *type, const char *param,
                   const char *code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/** serve_err_json - the error body {"error":{message,type,param,code}};
 *  malloc'ed, NUL-terminated (NULL on out of memory). */
char *serve_err_json(const serve_err *e);

#endif
