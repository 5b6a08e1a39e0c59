/* SPDX-License-Identifier: MIT */
/*
 * test_serve.c - host tests of zk-serve's pure parts: the OpenAI request
 * parser and its error bodies, UTF-8 reassembly, stop strings, the
 * completion/chat JSON and SSE writers, and the Prometheus exposition.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "serve_metrics.h"
#include "serve_oai.h"
#include "serve_req.h"
#include "serve_text.h"

static int parse(serve_req *r, enum serve_kind k, const char *body, serve_err *e)
{
    return serve_req_parse(r, k, body, strlen(body), e);
}

static void test_parse_completion(void **state)
{
    serve_req r;
    serve_err e;
    (void)state;
    assert_int_equal(parse(&r, SERVE_COMPLETION,
                           "{\"model\":\"tiny\",\"prompt\":\"Once upon\",\"max_tokens\":12,"
                           "\"temperature\":0,\"stream\":true,\"seed\":5,\"stop\":[\"x\",\"yz\"],"
                           "\"unknown_field\":{\"a\":[1]},\"stream_options\":{\"include_usage\":true}}",
                           &e), 0);
    assert_string_equal(r.model, "tiny");
    assert_string_equal(r.prompt, "Once upon");
    assert_int_equal(r.max_tokens, 12);
    assert_true(r.temperature == 0.0);
    assert_int_equal(r.stream, 1);
    assert_int_equal(r.include_usage, 1);
    assert_int_equal(r.seed, 5);
    assert_int_equal(r.n_stop, 2);
    assert_string_equal(r.stop[1], "yz");
    serve_req_free(&r);
    /* Defaults; an array of one prompt. */
    assert_int_equal(parse(&r, SERVE_COMPLETION, "{\"prompt\":[\"a\"]}", &e), 0);
    assert_null(r.model);
    assert_int_equal(r.max_tokens, -1);
    assert_true(r.temperature == 1.0);
    assert_int_equal(r.stream, 0);
    assert_string_equal(r.prompt, "a");
    serve_req_free(&r);
}

static void test_parse_chat(void **state)
{
    serve_req r;
    serve_err e;
    (void)state;
    assert_int_equal(parse(&r, SERVE_CHAT,
                           "{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
                           "{\"role\":\"user\",\"content\":\"U1\"},{\"role\":\"assistant\","
                           "\"content\":\"A1\"},{\"role\":\"user\",\"content\":\"U2\"}],"
                           "\"max_completion_tokens\":3}", &e), 0);
    assert_int_equal(r.n_msgs, 4);
    assert_int_equal(r.max_tokens, 3);
    serve_tokenizer t = { .chat_template = "llama2" };
    char *p = serve_chat_prompt(&t, r.msgs, r.n_msgs), *a, *b, *c, *d;
    /* llama2: the system block inside the first [INST], turns in order. */
    assert_non_null(p);
    a = strstr(p, "[INST] <<SYS>>\nS\n<</SYS>>\n\nU1 [/INST]");
    b = strstr(p, "A1");
    c = strstr(p, "[INST] U2 [/INST]");
    d = strstr(p, "U2");
    assert_true(a && b && c && d && a < b && b < c);
    free(p);
    t.chat_template = "no-such-template";
    assert_null(serve_chat_prompt(&t, r.msgs, r.n_msgs));
    serve_req_free(&r);
}

/* Each bad body fails with 400 and names the offending field. */
static void test_parse_errors(void **state)
{
    static const struct { int kind; const char *body, *param; } bad[] = {
        { SERVE_COMPLETION, "", "" },
        { SERVE_COMPLETION, "{", "" },
        { SERVE_COMPLETION, "{\"prompt\":\"a\"} x", "" },
        { SERVE_COMPLETION, "{\"prompt\":\"a\",}", "" },
        { SERVE_COMPLETION, "[\"prompt\"]", "" },
        { SERVE_COMPLETION, "{\"prompt\":\"\xff\"}", "" },           /* not UTF-8 */
        { SERVE_COMPLETION, "{}", "prompt" },
        { SERVE_COMPLETION, "{\"prompt\":5}", "prompt" },
        { SERVE_COMPLETION, "{\"prompt\":[\"a\",\"b\"]}", "prompt" },
        { SERVE_COMPLETION, "{\"prompt\":\"a\",\"max_tokens\":\"10\"}", "max_tokens" },
        { SERVE_COMPLETION, "{\"prompt\":\"a\",\"max_tokens\":1.5}", "max_tokens" },
        { SERVE_COMPLETION, "{\"prompt\":\"a\",\"max_tokens\":0}", "max_tokens" },
        { SERVE_COMPLETION, "{\"prompt\":\"a\",\"temperature\":\"hot\"}", "temperature" },
        { SERVE_COMPLETION, "{\"prompt\":\"a\",\"temperature\":3}", "temperature" },
        { SERVE_COMPLETION, "{\"prompt\":\"a\",\"stream\":1}", "stream" },
        { SERVE_COMPLETION, "{\"prompt\":\"a\",\"n\":2}", "n" },
        { SERVE_COMPLETION, "{\"prompt\":\"a\",\"model\":7}", "model" },
        { SERVE_COMPLETION, "{\"prompt\":\"a\",\"stop\":[1]}", "stop" },
        { SERVE_COMPLETION, "{\"prompt\":\"a\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", "stop" },
        { SERVE_COMPLETION, "{\"prompt\":\"a\",\"logprobs\":3}", "logprobs" },
        { SERVE_COMPLETION, "{\"prompt\":\"a\",\"stream_options\":1}", "stream_options" },
        { SERVE_CHAT, "{\"messages\":\"hi\"}", "messages" },
        { SERVE_CHAT, "{\"messages\":[]}", "messages" },
        { SERVE_CHAT, "{\"messages\":[{\"role\":\"user\"}]}", "messages" },
        { SERVE_CHAT, "{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}", "messages" },
        { SERVE_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":[1]}]}", "messages" },
        { SERVE_CHAT, "{\"prompt\":\"a\"}", "messages" },
        { SERVE_COMPLETION, "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]}", "" },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        serve_req r;
        serve_err e;
        json_object *o, *err, *v;
        char *j;
        if (parse(&r, bad[i].kind, bad[i].body, &e) == 0) {
            fail_msg("accepted bad body #%zu: %s", i, bad[i].body);
        }
        assert_int_equal(e.http, 400);
        if (strcmp(e.param, bad[i].param)) {
            fail_msg("body #%zu: param '%s', want '%s'", i, e.param, bad[i].param);
        }
        j = serve_err_json(&e);
        o = json_tokener_parse(j);
        assert_non_null(o);
        assert_true(json_object_object_get_ex(o, "error", &err));
        assert_true(json_object_object_get_ex(err, "message", &v));
        assert_true(json_object_is_type(v, json_type_string));
        assert_true(json_object_object_get_ex(err, "type", &v));
        assert_string_equal(json_object_get_string(v), "invalid_request_error");
        assert_true(json_object_object_get_ex(err, "param", &v));
        assert_true(json_object_object_get_ex(err, "code", &v));
        json_object_put(o);
        free(j);
    }
}

static void feed(serve_utf8 *u, const char *s, sbuf *b)
{
    serve_utf8_feed(u, s, strlen(s), b);
}

static void test_utf8(void **state)
{
    serve_utf8 u = { 0 };
    sbuf b = { 0 };
    (void)state;
    feed(&u, "a\xc3", &b);           /* é split over two tokens */
    assert_string_equal(b.s, "a");
    feed(&u, "\xa9" "b", &b);
    assert_string_equal(b.s, "a\xc3\xa9" "b");
    feed(&u, "\xff", &b);            /* never valid */
    feed(&u, "\xe2\x82", &b);        /* cut short by ASCII */
    feed(&u, "x", &b);
    feed(&u, "\xed\xa0\x80", &b);    /* a surrogate */
    feed(&u, "\xf0\x9f\x98", &b);
    serve_utf8_flush(&u, &b);                   /* unfinished at the end */
    assert_string_equal(b.s, "a\xc3\xa9" "b" "\xef\xbf\xbd" "\xef\xbf\xbd" "x"
                             "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "\xef\xbf\xbd");
    sbuf_free(&b);
}

static void test_stop_scan(void **state)
{
    char *stops[] = { "END", "xy" };
    size_t safe;
    (void)state;
    assert_int_equal(serve_stop_scan("abc", 3, stops, 2, &safe), -1);
    assert_int_equal(safe, 3);
    assert_int_equal(serve_stop_scan("abcEN", 5, stops, 2, &safe), -1);
    assert_int_equal(safe, 3);                  /* "EN" may become "END" */
    assert_int_equal(serve_stop_scan("abx", 3, stops, 2, &safe), -1);
    assert_int_equal(safe, 2);
    assert_int_equal(serve_stop_scan("aENDxy", 6, stops, 2, &safe), 1);
    assert_int_equal(serve_stop_scan("axyEND", 6, stops, 2, &safe), 1);
}

/* Token t is the text in PIECES[t]; 9 is EOS. */
static const char *PIECES[] = { "<s>", "Hel", "lo", " wor", "ld", " S", "TO", "P!", "\xc3", "</s>",
                                "\xa9" };
static int32_t t_piece(void *impl, int32_t tok, char *buf, size_t cap)
{
    size_t n = strlen(PIECES[tok]);
    (void)impl;
    n = n < cap ? n : cap;
    memcpy(buf, PIECES[tok], n);
    return (int32_t)n;
}

static serve_tokenizer TOK = { .eos = 9, .max_piece_bytes = 4, .chat_template = "llama2",
                               .piece = t_piece };

/* Parse every "data: " line of an SSE stream; returns the texts joined. */
static char *sse_text(const char *sse, int chat, int *n_events, int *saw_done, char *finish,
                      json_object **usage)
{
    sbuf t = { 0 };
    char *copy = strdup(sse);
    sbuf_adds(&t, "");
    *n_events = 0;
    *saw_done = 0;
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
        json_object *o, *ch, *c0, *v, *d;
        assert_true(!strncmp(line, "data: ", 6));
        if (!strcmp(line + 6, "[DONE]")) {
            *saw_done = 1;
            continue;
        }
        assert_false(*saw_done);
        o = json_tokener_parse(line + 6);
        assert_non_null(o);
        (*n_events)++;
        assert_true(json_object_object_get_ex(o, "choices", &ch));
        if (json_object_object_get_ex(o, "usage", &v) && v && usage) {
            *usage = json_object_get(v);
        }
        if (json_object_array_length(ch) == 0) {
            json_object_put(o);
            continue;
        }
        c0 = json_object_array_get_idx(ch, 0);
        if (chat) {
            assert_true(json_object_object_get_ex(c0, "delta", &d));
            if (json_object_object_get_ex(d, "content", &v)) {
                sbuf_adds(&t, json_object_get_string(v));
            }
        } else if (json_object_object_get_ex(c0, "text", &v)) {
            sbuf_adds(&t, json_object_get_string(v));
        }
        if (json_object_object_get_ex(c0, "finish_reason", &v) && v) {
            strcpy(finish, json_object_get_string(v));
        }
        json_object_put(o);
    }
    free(copy);
    return t.s;
}

static void test_stream_stop_string(void **state)
{
    serve_req r;
    serve_err e;
    serve_gen g;
    sbuf out = { 0 };
    int32_t toks[] = { 1, 2, 3, 4, 5, 6, 7, 1 };
    serve_usage u = { 4, 7, 2.5, 0.5, 0.2 };
    char finish[32] = "";
    int nev, done;
    json_object *usage = NULL, *v;
    (void)state;
    assert_int_equal(parse(&r, SERVE_COMPLETION, "{\"prompt\":\"x\",\"stream\":true,"
                                                 "\"stop\":\"STOP\"}", &e), 0);
    serve_gen_init(&g, &r, &TOK, "cmpl-1", "tiny", 100, NULL);
    for (uint32_t n = 1; n <= 8; n++) {
        serve_gen_feed(&g, toks, n, 0);
        serve_gen_sse_delta(&g, 0, &out);
        /* Nothing of the stop string ever goes out, not even its start. */
        assert_null(strstr(out.s ? out.s : "", " S"));
    }
    assert_int_equal(g.stop_hit, 1);
    assert_int_equal(g.used, 7);                /* the token completing "STOP" counts */
    serve_gen_sse_end(&g, 0, &u, &out);
    char *text = sse_text(out.s, 0, &nev, &done, finish, &usage);
    assert_string_equal(text, "Hello world ");
    assert_string_equal(finish, "stop");
    assert_true(done);
    assert_non_null(usage);
    assert_true(json_object_object_get_ex(usage, "completion_tokens", &v));
    assert_int_equal(json_object_get_int(v), 7);
    assert_true(json_object_object_get_ex(usage, "total_tokens", &v));
    assert_int_equal(json_object_get_int(v), 11);
    assert_true(json_object_object_get_ex(usage, "card_energy_j", &v));
    assert_true(json_object_get_double(v) == 0.5);
    assert_true(json_object_object_get_ex(usage, "energy_cost", &v));
    assert_true(json_object_get_double(v) > 0.5 / 3.6e6 * 0.2 * 0.999 &&
                json_object_get_double(v) < 0.5 / 3.6e6 * 0.2 * 1.001);
    json_object_put(usage);
    free(text);
    sbuf_free(&out);
    serve_gen_free(&g);
}

static void test_chat_stream_and_body(void **state)
{
    serve_req r;
    serve_err e;
    serve_gen g;
    sbuf out = { 0 };
    int32_t toks[] = { 1, 8, 10, 2, 9, 3 };     /* Hel, é split in two, lo, EOS */
    serve_usage u = { 5, 5, -1, -1, 0 };
    char finish[32] = "";
    int nev, done;
    json_object *usage = NULL, *o, *v, *c0;
    (void)state;
    assert_int_equal(parse(&r, SERVE_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],"
                                           "\"stream\":true,\"stream_options\":"
                                           "{\"include_usage\":true}}", &e), 0);
    serve_gen_init(&g, &r, &TOK, "chatcmpl-1", "tiny", 100, NULL);
    for (uint32_t n = 1; n <= 6; n++) {
        serve_gen_feed(&g, toks, n, 0);
        serve_gen_sse_delta(&g, 0, &out);
    }
    assert_int_equal(g.eos_hit, 1);
    serve_gen_sse_end(&g, 0, &u, &out);
    char *text = sse_text(out.s, 1, &nev, &done, finish, &usage);
    assert_string_equal(text, "Hel\xc3\xa9lo");
    assert_string_equal(finish, "stop");
    assert_non_null(usage);                     /* the separate usage chunk */
    assert_true(json_object_object_get_ex(usage, "card_time_ms", &v));
    assert_null(v);                             /* no card model: null, not a made-up 0 */
    json_object_put(usage);
    free(text);
    sbuf_free(&out);
    /* The same as one body. */
    serve_gen_body(&g, 0, &u, &out);
    o = json_tokener_parse(out.s);
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "object", &v));
    assert_string_equal(json_object_get_string(v), "chat.completion");
    assert_true(json_object_object_get_ex(o, "choices", &v));
    c0 = json_object_array_get_idx(v, 0);
    assert_true(json_object_object_get_ex(c0, "message", &v));
    assert_true(json_object_object_get_ex(v, "content", &v));
    assert_string_equal(json_object_get_string(v), "Hel\xc3\xa9lo");
    json_object_put(o);
    sbuf_free(&out);
    serve_gen_free(&g);
}

static void test_completion_length_echo(void **state)
{
    serve_req r;
    serve_err e;
    serve_gen g;
    sbuf out = { 0 };
    int32_t toks[] = { 3, 4 };
    serve_usage u = { 2, 2, 1, 1, 0 };
    json_object *o, *v, *c0;
    (void)state;
    assert_int_equal(parse(&r, SERVE_COMPLETION, "{\"prompt\":\"Say\",\"echo\":true}", &e), 0);
    serve_gen_init(&g, &r, &TOK, "cmpl-2", "tiny", 100, "Say");
    serve_gen_feed(&g, toks, 2, 1);
    serve_gen_body(&g, 1, &u, &out);
    o = json_tokener_parse(out.s);
    assert_true(json_object_object_get_ex(o, "choices", &v));
    c0 = json_object_array_get_idx(v, 0);
    assert_true(json_object_object_get_ex(c0, "text", &v));
    assert_string_equal(json_object_get_string(v), "Say world");
    assert_true(json_object_object_get_ex(c0, "finish_reason", &v));
    assert_string_equal(json_object_get_string(v), "length");
    json_object_put(o);
    sbuf_free(&out);
    serve_gen_free(&g);
}

static double metric(const char *text, const char *name)
{
    const char *p = text;
    size_t n = strlen(name);
    while ((p = strstr(p, name))) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ') {
            return strtod(p + n + 1, NULL);
        }
        p += n;
    }
    return -1;
}

static void test_metrics(void **state)
{
    serve_metrics m;
    serve_card_snapshot cards[2] = { { 2, 3, 40, 100, 1, 10, 200, 0.5, 10.0 },
                                     { 0, 0, 0, 100, 0, 0, 0, -1, -1 } };
    sbuf b = { 0 };
    (void)state;
    serve_metrics_init(&m);
    serve_metrics_status(&m, 200);
    serve_metrics_status(&m, 200);
    serve_metrics_status(&m, 429);
    serve_metrics_status(&m, 418);
    serve_metrics_request(&m, 5, 10, 0.001, 0.02, 0.2, 0, 1);
    serve_metrics_request(&m, 3, 4, 0.001, 0.3, 2.0, 0, 0);
    serve_metrics_request(&m, 7, 2, -1, -1, -1, 1, 0);
    serve_metrics_render(&m, cards, 2, &b);
    assert_true(metric(b.s, "zkserve_http_requests_total{code=\"200\"}") == 2);
    assert_true(metric(b.s, "zkserve_http_requests_total{code=\"429\"}") == 1);
    assert_true(metric(b.s, "zkserve_http_requests_total{code=\"other\"}") == 1);
    assert_true(metric(b.s, "zkserve_prompt_tokens_total") == 15);
    assert_true(metric(b.s, "zkserve_generation_tokens_total") == 16);
    assert_true(metric(b.s, "zkserve_request_cancelled_total") == 1);
    assert_true(metric(b.s, "zkserve_request_success_total{finished_reason=\"length\"}") == 1);
    assert_true(metric(b.s, "zkserve_request_success_total{finished_reason=\"stop\"}") == 1);
    /* Cumulative buckets: 0.02 <= 0.025, 0.3 <= 0.5. */
    assert_true(metric(b.s, "zkserve_time_to_first_token_seconds_bucket{le=\"0.01\"}") == 0);
    assert_true(metric(b.s, "zkserve_time_to_first_token_seconds_bucket{le=\"0.025\"}") == 1);
    assert_true(metric(b.s, "zkserve_time_to_first_token_seconds_bucket{le=\"0.5\"}") == 2);
    assert_true(metric(b.s, "zkserve_time_to_first_token_seconds_bucket{le=\"+Inf\"}") == 2);
    assert_true(metric(b.s, "zkserve_time_to_first_token_seconds_count") == 2);
    assert_true(metric(b.s, "zkserve_e2e_request_latency_seconds_count") == 2);
    assert_true(metric(b.s, "zkserve_time_per_output_token_seconds_count") == 2);
    assert_true(metric(b.s, "zkserve_num_requests_running{card=\"0\"}") == 2);
    assert_true(metric(b.s, "zkserve_num_requests_waiting{card=\"0\"}") == 3);
    assert_true(metric(b.s, "zkserve_kv_blocks_used{card=\"0\"}") == 40);
    assert_true(metric(b.s, "zkserve_card_joules_per_token{card=\"0\"}") == 0.05);
    assert_true(metric(b.s, "zkserve_card_power_watts{card=\"0\"}") == 20);
    /* A card without an energy model has no made-up energy line. */
    assert_true(metric(b.s, "zkserve_card_power_watts{card=\"1\"}") == -1);
    sbuf_free(&b);
    serve_metrics_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_completion),
        cmocka_unit_test(test_parse_chat),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_stop_scan),
        cmocka_unit_test(test_stream_stop_string),
        cmocka_unit_test(test_chat_stream_and_body),
        cmocka_unit_test(test_completion_length_echo),
        cmocka_unit_test(test_metrics),
    };
    return cmocka_run_group_tests_name("serve", tests, NULL, NULL);
}
