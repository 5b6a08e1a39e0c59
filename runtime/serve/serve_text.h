/* SPDX-License-Identifier: MIT */
/*
 * serve_text.h - text side of zk-serve: the tokenizer interface the server
 * uses (so another tokenizer - GGUF's SentencePiece/BPE - plugs in without
 * touching the HTTP or scheduler code), the chat prompt format, a growing
 * string, UTF-8 reassembly of byte-fallback tokens, and stop strings.
 */
#ifndef ZK_SERVE_TEXT_H
#define ZK_SERVE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "serve_req.h"

typedef struct serve_tokenizer {
    void *impl;
    int32_t bos, eos;
    /* Longest token in bytes: a text of B bytes has at least
     * B / max_piece_bytes tokens (lets the server refuse huge prompts
     * before spending time encoding them). */
    unsigned max_piece_bytes;
    /* Token ids of @text (with BOS if @bos) into @out (room for @cap);
     * returns the count, or -1 if @cap is too small or on error. */
    int (*encode)(void *impl, const char *text, int bos, int32_t *out, size_t cap);
    /* Bytes of @tok following @prev (may be a partial UTF-8 sequence). */
    const char *(*piece)(void *impl, int32_t prev, int32_t tok);
} serve_tokenizer;

/* A llama2.c tokenizer.bin (runtime/llm/tokenizer.c) behind the interface. */
struct zk_llm_tokenizer;
void serve_tokenizer_llama2c(serve_tokenizer *t, struct zk_llm_tokenizer *tk);

/** Prompt text of a chat (Llama-2 [INST] format); malloc'ed, NULL on OOM. */
char *serve_chat_prompt(const serve_msg *msgs, unsigned n);

/* A growing NUL-terminated string. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;                    /* an append failed; contents truncated */
} sbuf;

void sbuf_add(sbuf *b, const char *s, size_t n);
void sbuf_adds(sbuf *b, const char *s);
void sbuf_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_free(sbuf *b);

/* Token bytes -> valid UTF-8: complete sequences pass, a sequence split
 * across tokens waits for its tail, invalid bytes become U+FFFD. */
typedef struct serve_utf8 {
    unsigned char pend[4];
    unsigned n, need;
} serve_utf8;

void serve_utf8_feed(serve_utf8 *u, const char *bytes, sbuf *out);
/** End of stream: an unfinished sequence becomes U+FFFD. */
void serve_utf8_flush(serve_utf8 *u, sbuf *out);

/**
 * serve_stop_scan - look for the stop strings in @text (@len bytes).
 * Returns the offset of the earliest match (the text to keep) or -1; in
 * the no-match case *safe receives how many bytes can be sent without
 * possibly cutting into a stop string that later text completes.
 */
long serve_stop_scan(const char *text, size_t len, char *const *stop, unsigned n_stop,
                     size_t *safe);

#endif
