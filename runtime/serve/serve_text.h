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
    int32_t eos;                /* end of generation, if is_eog is NULL */
    /* Does @tok end a generation (EOS, Llama 3's <|eot_id|>, ...)? */
    int (*is_eog)(void *impl, int32_t tok);
    /* Longest token in bytes: a text of B bytes has at least
     * B / max_piece_bytes tokens (lets the server refuse huge prompts
     * before spending time encoding them). */
    unsigned max_piece_bytes;
    /* Chat template for zk_chat_apply (tokenizer.h): the model's Jinja
     * text or a built-in name ("llama2", "chatml", ...). */
    const char *chat_template;
    /* Ids of @len bytes of @text, BOS first as the model wants, into @out
     * (room for @cap); @parse_special: special-token text becomes those
     * tokens (chat templates).  Returns the total count (only @cap written
     * if more) or -1 on error. */
    int32_t (*encode)(void *impl, const char *text, size_t len, int parse_special,
                      int32_t *out, int32_t cap);
    /* Bytes of @tok into @buf (no NUL; may end inside a UTF-8 sequence);
     * returns the count or -1 for an invalid id. */
    int32_t (*piece)(void *impl, int32_t tok, char *buf, size_t cap);
} serve_tokenizer;

/* runtime/llm's tokenizer (tokenizer.h: llama2.c tokenizer.bin or GGUF)
 * behind the interface; @chat_template NULL: the model's, else "llama2". */
struct zk_tokenizer;
void serve_tokenizer_zk(serve_tokenizer *t, struct zk_tokenizer *zt, const char *chat_template);

/** Prompt text of a chat in @t's template (with the assistant prefix);
 *  malloc'ed; NULL if the template or a role is not understood. */
char *serve_chat_prompt(const serve_tokenizer *t, const serve_msg *msgs, unsigned n);
/** Does @tok end a generation for @t? */
int serve_tok_is_eog(const serve_tokenizer *t, int32_t tok);

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

void serve_utf8_feed(serve_utf8 *u, const char *bytes, size_t n, sbuf *out);
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
