/* SPDX-License-Identifier: MIT */
/* serve_text.c - tokenizer glue, chat format, UTF-8 reassembly, stop strings. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_text.h"
#include "llm.h"

/* ---- llama2.c tokenizer behind serve_tokenizer ---------------------- */
static int l2c_encode(void *impl, const char *text, int bos, int32_t *out, size_t cap)
{
    /* zk_tok_encode writes up to strlen + 3 ids before merging. */
    if (strlen(text) + 3 > cap) {
        return -1;
    }
    return zk_tok_encode(impl, text, bos, 0, out);
}

static const char *l2c_piece(void *impl, int32_t prev, int32_t tok)
{
    return zk_tok_decode(impl, prev, tok);
}

void serve_tokenizer_llama2c(serve_tokenizer *t, struct zk_llm_tokenizer *tk)
{
    memset(t, 0, sizeof(*t));
    t->impl = tk;
    t->bos = ZK_LLM_BOS;
    t->eos = ZK_LLM_EOS;
    t->max_piece_bytes = tk->max_token_length ? tk->max_token_length : 1;
    t->encode = l2c_encode;
    t->piece = l2c_piece;
}

/* ---- chat prompt ------------------------------------------------------ */
char *serve_chat_prompt(const serve_msg *msgs, unsigned n)
{
    sbuf b = { 0 };
    unsigned i = 0;
    const char *sys = NULL;
    if (n && !strcmp(msgs[0].role, "system")) {
        sys = msgs[0].content;
        i = 1;
    }
    /* [INST] <<SYS>>\nsys\n<</SYS>>\n\nuser [/INST] assistant [INST] user [/INST] */
    for (int first = 1; i < n; i++) {
        if (!strcmp(msgs[i].role, "assistant")) {
            sbuf_printf(&b, " %s ", msgs[i].content);
            continue;
        }
        sbuf_adds(&b, "[INST] ");
        if (first && sys) {
            sbuf_printf(&b, "<<SYS>>\n%s\n<</SYS>>\n\n", sys);
        }
        first = 0;
        sbuf_printf(&b, "%s [/INST]", msgs[i].content);
    }
    if (!b.s) {
        sbuf_adds(&b, "");
    }
    if (b.oom) {
        sbuf_free(&b);
        return NULL;
    }
    return b.s;
}

/* ---- sbuf --------------------------------------------------------------- */
void sbuf_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 64;
        char *p;
        while (nc < b->len + n + 1) {
            nc *= 2;
        }
        p = realloc(b->s, nc);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = nc;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

void sbuf_adds(sbuf *b, const char *s)
{
    sbuf_add(b, s, strlen(s));
}

void sbuf_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    int n;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        sbuf_add(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sbuf_add(b, big, (size_t)n);
    free(big);
}

void sbuf_free(sbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof(*b));
}

/* ---- UTF-8 ------------------------------------------------------------- */
static const char REPLACEMENT[] = "\xef\xbf\xbd";

/* Bytes a sequence starting with @c has in total (0: not a valid lead). */
static unsigned utf8_len(unsigned char c)
{
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        return 2;
    }
    if (c >= 0xe0 && c <= 0xef) {
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        return 4;
    }
    return 0;
}

/* Is @c acceptable as byte @i of a sequence that starts with @lead?  (Also
 * refuses overlong forms, surrogates and code points above U+10FFFF.) */
static int utf8_cont_ok(unsigned char lead, unsigned i, unsigned char c)
{
    if ((c & 0xc0) != 0x80) {
        return 0;
    }
    if (i == 1) {
        if (lead == 0xe0 && c < 0xa0) return 0;
        if (lead == 0xed && c > 0x9f) return 0;
        if (lead == 0xf0 && c < 0x90) return 0;
        if (lead == 0xf4 && c > 0x8f) return 0;
    }
    return 1;
}

void serve_utf8_feed(serve_utf8 *u, const char *bytes, sbuf *out)
{
    for (const unsigned char *p = (const unsigned char *)bytes; *p; p++) {
        unsigned char c = *p;
        if (u->n) {
            if (utf8_cont_ok(u->pend[0], u->n, c)) {
                u->pend[u->n++] = c;
                if (u->n == u->need) {
                    sbuf_add(out, (const char *)u->pend, u->n);
                    u->n = 0;
                }
                continue;
            }
            sbuf_adds(out, REPLACEMENT);      /* broken sequence; @c starts anew */
            u->n = 0;
        }
        unsigned len = utf8_len(c);
        if (len == 1) {
            sbuf_add(out, (const char *)&c, 1);
        } else if (len == 0) {
            sbuf_adds(out, REPLACEMENT);
        } else {
            u->pend[0] = c;
            u->n = 1;
            u->need = len;
        }
    }
}

void serve_utf8_flush(serve_utf8 *u, sbuf *out)
{
    if (u->n) {
        sbuf_adds(out, REPLACEMENT);
        u->n = 0;
    }
}

/* ---- stop strings ------------------------------------------------------ */
long serve_stop_scan(const char *text, size_t len, char *const *stop, unsigned n_stop,
                     size_t *safe)
{
    long best = -1;
    size_t hold = 0;
    for (unsigned i = 0; i < n_stop; i++) {
        size_t sl = strlen(stop[i]);
        if (!sl) {
            continue;
        }
        for (size_t off = 0; off + sl <= len; off++) {
            if (!memcmp(text + off, stop[i], sl)) {
                if (best < 0 || (long)off < best) {
                    best = (long)off;
                }
                break;
            }
        }
        /* Longest tail of @text that is a proper prefix of this stop string. */
        for (size_t k = sl - 1 < len ? sl - 1 : len; k > hold; k--) {
            if (!memcmp(text + len - k, stop[i], k)) {
                hold = k;
                break;
            }
        }
    }
    if (safe) {
        *safe = len - hold;
    }
    return best;
}
