/* SPDX-License-Identifier: MIT */
/* serve_oai.c - generated tokens -> OpenAI completion JSON / SSE chunks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "serve_oai.h"

void serve_gen_init(serve_gen *g, serve_req *req, const serve_tokenizer *tok, const char *id,
                    const char *model, long long created, const char *echo_text)
{
    memset(g, 0, sizeof(*g));
    g->req = *req;
    memset(req, 0, sizeof(*req));
    g->tok = tok;
    snprintf(g->id, sizeof(g->id), "%s", id);
    g->model = model;
    g->created = created;
    sbuf_adds(&g->text, "");
    if (echo_text) {
        sbuf_adds(&g->text, echo_text);
    }
    g->base = g->text.len;
}

void serve_gen_free(serve_gen *g)
{
    serve_req_free(&g->req);
    sbuf_free(&g->text);
}

void serve_gen_feed(serve_gen *g, const int32_t *toks, uint32_t n, int done)
{
    size_t before = g->text.len;
    for (; g->used < n && !g->stop_hit && !g->eos_hit; g->used++) {
        int32_t t = toks[g->used];
        if (!g->req.ignore_eos && serve_tok_is_eog(g->tok, t)) {
            g->eos_hit = 1;     /* EOS ends the text; it is not part of it */
            continue;
        }
        char piece[256];
        int32_t np = g->tok->piece(g->tok->impl, t, piece, sizeof(piece));
        if (np > 0) {
            serve_utf8_feed(&g->u, piece, (size_t)np, &g->text);
        }
        if (g->req.n_stop) {
            /* Only the new text (plus a stop string's length before it) can
             * hold a new match. */
            size_t maxl = 0, from;
            long at;
            for (unsigned i = 0; i < g->req.n_stop; i++) {
                size_t l = strlen(g->req.stop[i]);
                maxl = l > maxl ? l : maxl;
            }
            from = before > maxl ? before - maxl : 0;
            from = from > g->base ? from : g->base;
            at = serve_stop_scan(g->text.s + from, g->text.len - from, g->req.stop,
                                 g->req.n_stop, NULL);
            if (at >= 0) {
                g->text.len = from + (size_t)at;
                g->text.s[g->text.len] = 0;
                g->stop_hit = 1;
                g->used++;
                break;
            }
        }
    }
    if ((done || g->eos_hit || g->stop_hit) && !g->stop_hit) {
        serve_utf8_flush(&g->u, &g->text);
    }
}

const char *serve_gen_finish_reason(const serve_gen *g, int hit_length)
{
    if (g->stop_hit || g->eos_hit) {
        return "stop";
    }
    return hit_length ? "length" : "stop";
}

static json_object *chunk_head(const serve_gen *g, int sse)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(g->id));
    json_object_object_add(o, "object", json_object_new_string(
        g->req.kind == SERVE_CHAT ? (sse ? "chat.completion.chunk" : "chat.completion")
                                  : "text_completion"));
    json_object_object_add(o, "created", json_object_new_int64(g->created));
    json_object_object_add(o, "model", json_object_new_string(g->model));
    return o;
}

/* One choice: @text (NULL: none), @finish (NULL: null). */
static json_object *choice(const serve_gen *g, const char *text, size_t len, const char *finish,
                           int role, int sse)
{
    json_object *c = json_object_new_object();
    json_object_object_add(c, "index", json_object_new_int(0));
    if (g->req.kind == SERVE_CHAT) {
        json_object *m = json_object_new_object();
        if (role) {
            json_object_object_add(m, "role", json_object_new_string("assistant"));
        }
        if (text) {
            json_object_object_add(m, "content", json_object_new_string_len(text, (int)len));
        }
        json_object_object_add(c, sse ? "delta" : "message", m);
    } else {
        json_object_object_add(c, "text", json_object_new_string_len(text ? text : "",
                                                                     text ? (int)len : 0));
        json_object_object_add(c, "logprobs", NULL);
    }
    json_object_object_add(c, "finish_reason", finish ? json_object_new_string(finish) : NULL);
    return c;
}

static json_object *usage_json(const serve_usage *u)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "prompt_tokens", json_object_new_int64(u->prompt_tokens));
    json_object_object_add(o, "completion_tokens", json_object_new_int64(u->completion_tokens));
    json_object_object_add(o, "total_tokens",
                           json_object_new_int64((int64_t)u->prompt_tokens + u->completion_tokens));
    /* The modelled card (docs/perf-model.md): its time for this request
     * from arrival to the last token, this request's share of its energy,
     * and that energy's electricity cost at the configured price. */
    json_object_object_add(o, "card_time_ms", u->card_ms >= 0 ?
                           json_object_new_double(u->card_ms) : NULL);
    json_object_object_add(o, "card_energy_j", u->card_j >= 0 ?
                           json_object_new_double(u->card_j) : NULL);
    json_object_object_add(o, "energy_cost", u->card_j >= 0 && u->price_kwh > 0 ?
                           json_object_new_double(u->card_j / 3.6e6 * u->price_kwh) : NULL);
    json_object_object_add(o, "price_per_kwh", u->price_kwh > 0 ?
                           json_object_new_double(u->price_kwh) : NULL);
    return o;
}

static void emit(sbuf *out, json_object *o, int sse)
{
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                   JSON_C_TO_STRING_NOSLASHESCAPE);
    if (sse) {
        sbuf_adds(out, "data: ");
    }
    sbuf_adds(out, s);
    sbuf_adds(out, sse ? "\n\n" : "\n");
    json_object_put(o);
}

void serve_gen_sse_delta(serve_gen *g, int done, sbuf *out)
{
    size_t upto = g->text.len;
    json_object *o, *ch;
    if (!done && !g->stop_hit && g->req.n_stop) {
        serve_stop_scan(g->text.s + g->sent, g->text.len - g->sent, g->req.stop, g->req.n_stop,
                        &upto);
        upto += g->sent;
    }
    if (g->req.kind == SERVE_CHAT && !g->role_sent) {
        /* OpenAI's first chat chunk carries the role. */
        g->role_sent = 1;
        o = chunk_head(g, 1);
        ch = json_object_new_array();
        json_object_array_add(ch, choice(g, "", 0, NULL, 1, 1));
        json_object_object_add(o, "choices", ch);
        emit(out, o, 1);
    }
    if (upto <= g->sent) {
        return;
    }
    o = chunk_head(g, 1);
    ch = json_object_new_array();
    json_object_array_add(ch, choice(g, g->text.s + g->sent, upto - g->sent, NULL, 0, 1));
    json_object_object_add(o, "choices", ch);
    emit(out, o, 1);
    g->sent = upto;
}

void serve_gen_sse_end(serve_gen *g, int hit_length, const serve_usage *u, sbuf *out)
{
    json_object *o, *ch;
    serve_gen_sse_delta(g, 1, out);
    o = chunk_head(g, 1);
    ch = json_object_new_array();
    json_object_array_add(ch, choice(g, g->req.kind == SERVE_CHAT ? NULL : "", 0,
                                     serve_gen_finish_reason(g, hit_length), 0, 1));
    json_object_object_add(o, "choices", ch);
    if (!g->req.include_usage) {
        /* zk-serve always reports usage: in the last chunk unless asked
         * for OpenAI's separate usage chunk. */
        json_object_object_add(o, "usage", usage_json(u));
    }
    emit(out, o, 1);
    if (g->req.include_usage) {
        o = chunk_head(g, 1);
        json_object_object_add(o, "choices", json_object_new_array());
        json_object_object_add(o, "usage", usage_json(u));
        emit(out, o, 1);
    }
    sbuf_adds(out, "data: [DONE]\n\n");
}

void serve_gen_sse_error(const serve_err *e, sbuf *out)
{
    char *j = serve_err_json(e);
    sbuf_printf(out, "data: %s\n\ndata: [DONE]\n\n", j ? j : "{\"error\":{}}");
    free(j);
}

void serve_gen_body(serve_gen *g, int hit_length, const serve_usage *u, sbuf *out)
{
    json_object *o = chunk_head(g, 0), *ch = json_object_new_array();
    json_object_array_add(ch, choice(g, g->text.s, g->text.len,
                                     serve_gen_finish_reason(g, hit_length), 1, 0));
    json_object_object_add(o, "choices", ch);
    json_object_object_add(o, "usage", usage_json(u));
    emit(out, o, 0);
}
