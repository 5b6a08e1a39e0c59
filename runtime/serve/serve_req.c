/* SPDX-License-Identifier: MIT */
/* serve_req.c - parse and validate OpenAI request bodies (json-c). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "serve_req.h"

/* json-c's parser recursion limit; a request has no business nesting deeper. */
#define SERVE_JSON_DEPTH 16

void serve_err_set(serve_err *e, int http, const char *type, const char *param,
                   const char *code, const char *fmt, ...)
{
    va_list ap;
    e->http = http;
    e->type = type;
    e->code = code;
    snprintf(e->param, sizeof(e->param), "%s", param ? param : "");
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

char *serve_err_json(const serve_err *e)
{
    json_object *root = json_object_new_object(), *o = json_object_new_object();
    char *out = NULL;
    if (root && o) {
        json_object_object_add(o, "message", json_object_new_string(e->message));
        json_object_object_add(o, "type", json_object_new_string(e->type ? e->type :
                                                                 "invalid_request_error"));
        json_object_object_add(o, "param", e->param[0] ? json_object_new_string(e->param) : NULL);
        json_object_object_add(o, "code", e->code ? json_object_new_string(e->code) : NULL);
        json_object_object_add(root, "error", o);
        o = NULL;
        out = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
    }
    json_object_put(o);
    json_object_put(root);
    return out;
}

void serve_req_free(serve_req *r)
{
    free(r->model);
    free(r->prompt);
    for (unsigned i = 0; i < r->n_msgs; i++) {
        free(r->msgs[i].role);
        free(r->msgs[i].content);
    }
    for (unsigned i = 0; i < r->n_stop; i++) {
        free(r->stop[i]);
    }
    memset(r, 0, sizeof(*r));
}

static int bad(serve_err *e, const char *param, const char *fmt, const char *what)
{
    serve_err_set(e, 400, "invalid_request_error", param, NULL, fmt, param, what);
    return -1;
}

/* A string field: absent is fine (*out stays NULL), anything but a string fails. */
static int get_str(json_object *root, const char *key, char **out, serve_err *e)
{
    json_object *v;
    if (!json_object_object_get_ex(root, key, &v) || !v) {
        return 0;
    }
    if (!json_object_is_type(v, json_type_string)) {
        return bad(e, key, "'%s' must be %s", "a string");
    }
    *out = strdup(json_object_get_string(v));
    if (!*out) {
        return bad(e, key, "'%s': %s", "out of memory");
    }
    return 0;
}

/* An integer field in [lo, hi] (JSON numbers with a fraction fail). */
static int get_int(json_object *root, const char *key, int64_t lo, int64_t hi, int64_t *out,
                   serve_err *e)
{
    json_object *v;
    int64_t x;
    if (!json_object_object_get_ex(root, key, &v) || !v) {
        return 0;
    }
    if (!json_object_is_type(v, json_type_int)) {
        return bad(e, key, "'%s' must be %s", "an integer");
    }
    errno = 0;
    x = json_object_get_int64(v);
    if (errno || x < lo || x > hi) {
        serve_err_set(e, 400, "invalid_request_error", key, NULL,
                      "'%s' must be between %lld and %lld", key, (long long)lo, (long long)hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int get_num(json_object *root, const char *key, double lo, double hi, double *out,
                   serve_err *e)
{
    json_object *v;
    double x;
    if (!json_object_object_get_ex(root, key, &v) || !v) {
        return 0;
    }
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) {
        return bad(e, key, "'%s' must be %s", "a number");
    }
    x = json_object_get_double(v);
    if (!isfinite(x) || x < lo || x > hi) {
        serve_err_set(e, 400, "invalid_request_error", key, NULL,
                      "'%s' must be between %g and %g", key, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

static int get_bool(json_object *root, const char *key, int *out, serve_err *e)
{
    json_object *v;
    if (!json_object_object_get_ex(root, key, &v) || !v) {
        return 0;
    }
    if (!json_object_is_type(v, json_type_boolean)) {
        return bad(e, key, "'%s' must be %s", "a boolean");
    }
    *out = json_object_get_boolean(v);
    return 0;
}

/* "stop": a string or an array of up to SERVE_MAX_STOP non-empty strings. */
static int get_stop(json_object *root, serve_req *r, serve_err *e)
{
    json_object *v;
    size_t n;
    if (!json_object_object_get_ex(root, "stop", &v) || !v) {
        return 0;
    }
    if (json_object_is_type(v, json_type_string)) {
        if (!json_object_get_string_len(v)) {
            return bad(e, "stop", "'%s' must be %s", "non-empty");
        }
        r->stop[r->n_stop++] = strdup(json_object_get_string(v));
        return r->stop[0] ? 0 : bad(e, "stop", "'%s': %s", "out of memory");
    }
    if (!json_object_is_type(v, json_type_array)) {
        return bad(e, "stop", "'%s' must be %s", "a string or an array of strings");
    }
    n = json_object_array_length(v);
    if (n > SERVE_MAX_STOP) {
        return bad(e, "stop", "'%s' must be %s", "at most 4 strings");
    }
    for (size_t i = 0; i < n; i++) {
        json_object *s = json_object_array_get_idx(v, i);
        if (!s || !json_object_is_type(s, json_type_string) || !json_object_get_string_len(s)) {
            return bad(e, "stop", "'%s' must be %s", "an array of non-empty strings");
        }
        if (!(r->stop[r->n_stop] = strdup(json_object_get_string(s)))) {
            return bad(e, "stop", "'%s': %s", "out of memory");
        }
        r->n_stop++;
    }
    return 0;
}

/* "prompt": a string, or an array holding exactly one string (batched
 * prompts in one request are not served: send one request per prompt). */
static int get_prompt(json_object *root, serve_req *r, serve_err *e)
{
    json_object *v;
    if (!json_object_object_get_ex(root, "prompt", &v) || !v) {
        return bad(e, "prompt", "'%s' is %s", "required");
    }
    if (json_object_is_type(v, json_type_array)) {
        if (json_object_array_length(v) != 1) {
            return bad(e, "prompt", "'%s' must be %s", "a string or an array of one string");
        }
        v = json_object_array_get_idx(v, 0);
    }
    if (!v || !json_object_is_type(v, json_type_string)) {
        return bad(e, "prompt", "'%s' must be %s", "a string or an array of one string");
    }
    r->prompt = strdup(json_object_get_string(v));
    return r->prompt ? 0 : bad(e, "prompt", "'%s': %s", "out of memory");
}

static int get_messages(json_object *root, serve_req *r, serve_err *e)
{
    json_object *v;
    size_t n;
    if (!json_object_object_get_ex(root, "messages", &v) || !v) {
        return bad(e, "messages", "'%s' is %s", "required");
    }
    if (!json_object_is_type(v, json_type_array)) {
        return bad(e, "messages", "'%s' must be %s", "an array");
    }
    n = json_object_array_length(v);
    if (n == 0 || n > SERVE_MAX_MESSAGES) {
        return bad(e, "messages", "'%s' must hold %s", "1 to 64 messages");
    }
    for (size_t i = 0; i < n; i++) {
        json_object *m = json_object_array_get_idx(v, i), *role, *content;
        const char *rs;
        if (!m || !json_object_is_type(m, json_type_object) ||
            !json_object_object_get_ex(m, "role", &role) || !role ||
            !json_object_is_type(role, json_type_string) ||
            !json_object_object_get_ex(m, "content", &content) || !content ||
            !json_object_is_type(content, json_type_string)) {
            return bad(e, "messages", "'%s' must be %s",
                       "objects with string 'role' and string 'content'");
        }
        rs = json_object_get_string(role);
        if (strcmp(rs, "system") && strcmp(rs, "user") && strcmp(rs, "assistant")) {
            return bad(e, "messages", "'%s': %s", "role must be system, user or assistant");
        }
        r->msgs[r->n_msgs].role = strdup(rs);
        r->msgs[r->n_msgs].content = strdup(json_object_get_string(content));
        r->n_msgs++;
        if (!r->msgs[r->n_msgs - 1].role || !r->msgs[r->n_msgs - 1].content) {
            return bad(e, "messages", "'%s': %s", "out of memory");
        }
    }
    return 0;
}

int serve_req_parse(serve_req *r, enum serve_kind kind, const char *body, size_t len,
                    serve_err *err)
{
    json_tokener *tok;
    json_object *root = NULL, *v;
    int64_t n = 1, logprobs = 0;
    int rc = -1;

    memset(r, 0, sizeof(*r));
    r->kind = kind;
    r->max_tokens = -1;
    r->seed = -1;
    r->temperature = 1.0;       /* the OpenAI default; 0 asks for greedy */
    r->top_p = 1.0;
    r->top_k = -1;
    r->repetition_penalty = 1.0;
    if (len > INT32_MAX) {
        serve_err_set(err, 413, "invalid_request_error", NULL, NULL, "request body too large");
        return -1;
    }
    tok = json_tokener_new_ex(SERVE_JSON_DEPTH);
    if (!tok) {
        serve_err_set(err, 500, "server_error", NULL, NULL, "out of memory");
        return -1;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, body, (int)len);
    if (!root || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len) {
        /* Trailing bytes after the object are as bad as a broken object. */
        serve_err_set(err, 400, "invalid_request_error", NULL, NULL, "invalid JSON body: %s",
                      root && json_tokener_get_error(tok) == json_tokener_success ?
                      "trailing characters" :
                      json_tokener_error_desc(json_tokener_get_error(tok)));
        goto out;
    }
    if (!json_object_is_type(root, json_type_object)) {
        serve_err_set(err, 400, "invalid_request_error", NULL, NULL,
                      "the request body must be a JSON object");
        goto out;
    }
    if (get_str(root, "model", &r->model, err) ||
        (kind == SERVE_COMPLETION ? get_prompt(root, r, err) : get_messages(root, r, err)) ||
        get_int(root, "max_tokens", 1, 1 << 20, &r->max_tokens, err) ||
        (kind == SERVE_CHAT &&
         get_int(root, "max_completion_tokens", 1, 1 << 20, &r->max_tokens, err)) ||
        get_num(root, "temperature", 0.0, 2.0, &r->temperature, err) ||
        get_num(root, "top_p", 1e-6, 1.0, &r->top_p, err) ||
        get_int(root, "top_k", -1, 1 << 20, &r->top_k, err) ||
        get_num(root, "min_p", 0.0, 1.0, &r->min_p, err) ||
        get_num(root, "presence_penalty", -2.0, 2.0, &r->presence_penalty, err) ||
        get_num(root, "frequency_penalty", -2.0, 2.0, &r->frequency_penalty, err) ||
        get_num(root, "repetition_penalty", 0.01, 10.0, &r->repetition_penalty, err) ||
        get_int(root, "seed", INT64_MIN, INT64_MAX, &r->seed, err) ||
        get_int(root, "n", 1, 1, &n, err) ||
        get_bool(root, "stream", &r->stream, err) ||
        get_bool(root, "ignore_eos", &r->ignore_eos, err) ||
        (kind == SERVE_COMPLETION && get_bool(root, "echo", &r->echo, err)) ||
        get_stop(root, r, err)) {
        goto out;
    }
    /* Logprobs are not computed: refuse rather than silently drop them. */
    if (json_object_object_get_ex(root, "logprobs", &v) && v &&
        !(json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v))) {
        if (kind == SERVE_COMPLETION && !get_int(root, "logprobs", 0, 0, &logprobs, err)) {
            /* "logprobs": 0 is the same as none */
        } else {
            serve_err_set(err, 400, "invalid_request_error", "logprobs", NULL,
                          "'logprobs' is not supported");
            goto out;
        }
    }
    if (json_object_object_get_ex(root, "stream_options", &v) && v) {
        if (!json_object_is_type(v, json_type_object)) {
            bad(err, "stream_options", "'%s' must be %s", "an object");
            goto out;
        }
        if (get_bool(v, "include_usage", &r->include_usage, err)) {
            goto out;
        }
    }
    rc = 0;
out:
    json_object_put(root);
    json_tokener_free(tok);
    if (rc) {
        serve_req_free(r);
    }
    return rc;
}
