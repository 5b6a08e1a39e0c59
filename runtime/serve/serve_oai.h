/* SPDX-License-Identifier: MIT */
/*
 * serve_oai.h - one request's generation in OpenAI terms: generated token
 * ids become text (UTF-8 reassembled, EOS dropped, cut at a stop string)
 * and that text becomes a JSON body or server-sent-event chunks
 * ("data: {json}\n\n" ... "data: [DONE]\n\n").  Pure: no HTTP, no card.
 */
#ifndef ZK_SERVE_OAI_H
#define ZK_SERVE_OAI_H

#include <stdint.h>

#include "serve_req.h"
#include "serve_text.h"

typedef struct serve_usage {
    uint32_t prompt_tokens, completion_tokens;
    double card_ms, card_j;     /* modelled card time and energy (< 0: unknown) */
    double price_kwh;           /* electricity price per kWh (<= 0: no cost) */
} serve_usage;

typedef struct serve_gen {
    serve_req req;              /* owned: stop strings, kind, stream flags */
    const serve_tokenizer *tok;
    char id[48];
    const char *model;
    long long created;
    sbuf text;                  /* completion text so far (echoed prompt first) */
    size_t sent;                /* bytes of text already streamed */
    size_t base;                /* echoed prompt bytes (never searched for stops) */
    serve_utf8 u;
    uint32_t used;              /* generated tokens consumed */
    int stop_hit, eos_hit, role_sent;
} serve_gen;

/** Start @g (takes ownership of @req's contents; @echo_text: the prompt,
 *  to prepend, or NULL). */
void serve_gen_init(serve_gen *g, serve_req *req, const serve_tokenizer *tok, const char *id,
                    const char *model, long long created, const char *echo_text);
void serve_gen_free(serve_gen *g);
/** Consume generated tokens @used..@n-1 of @toks; @done: no more follow.
 *  Sets stop_hit when a stop string appeared (the text is cut there and
 *  later tokens are ignored). */
void serve_gen_feed(serve_gen *g, const int32_t *toks, uint32_t n, int done);
/** "length", "stop" (EOS or stop string), as OpenAI reports it. */
const char *serve_gen_finish_reason(const serve_gen *g, int hit_length);

/** Stream: the SSE chunk with the text not yet sent (nothing if none is
 *  safe to send yet; @done: everything). */
void serve_gen_sse_delta(serve_gen *g, int done, sbuf *out);
/** Stream: the final chunk (finish_reason, usage) and "data: [DONE]". */
void serve_gen_sse_end(serve_gen *g, int hit_length, const serve_usage *u, sbuf *out);
/** Stream: an error event then "data: [DONE]". */
void serve_gen_sse_error(const serve_err *e, sbuf *out);
/** Non-stream: the whole response body. */
void serve_gen_body(serve_gen *g, int hit_length, const serve_usage *u, sbuf *out);

#endif
