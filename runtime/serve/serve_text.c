/* SPDX-License-Identifier: MIT */
/* serve_text.c - tokenizer glue, chat format, UTF-8 reassembly, stop strings. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve_text.h"
#include "tokenizer.h"

/* ---- runtime/llm's tokenizer behind serve_tokenizer ----------------- */
static int32_t zk_encode(void *impl, const char *text, size_t len, int parse_special,
                         int32_t *out, int32_t cap)
{
    return zk_tokenizer_encode(impl, text, len, 1, parse_special, out, cap);
}

static int32_t zk_piece(void *impl, int32_t tok, char *buf, size_t cap)
{
    /* Control tokens (BOS, EOS, ...) are not text. */
    int32_t n = zk_tokenizer_piece(impl, tok, 1, buf, cap);
    return n > (int32_t)cap ? (int32_t)cap : n;
}

static int zk_is_eog(void *impl, int32_t tok)
{
    return zk_tokenizer_is_eog(impl, tok);
}

int serve_tok_is_eog(const serve_tokenizer *t, int32_t tok)
{
    return t->is_eog ? t->is_eog(t->impl, tok) : tok == t->eos;
}

void serve_tokenizer_zk(serve_tokenizer *t, struct zk_tokenizer *zt, const char *chat_template)
{
    char buf[256];
    memset(t, 0, sizeof(*t));
    t->impl = zt;
    t->eos = zk_tokenizer_eos(zt);
    t->encode = zk_encode;
    t->piece = zk_piece;
    t->is_eog = zk_is_eog;
    t->chat_template = chat_template ? chat_template :
                       zk_tokenizer_chat_template(zt) ? zk_tokenizer_chat_template(zt) : "llama2";
    t->max_piece_bytes = 1;
    for (int32_t i = 0; i < zk_tokenizer_n_vocab(zt); i++) {
        int32_t n = zk_tokenizer_piece(zt, i, 0, buf, sizeof(buf));
        if (n > (int32_t)t->max_piece_bytes) {
            t->max_piece_bytes = (unsigned)n;
        }
    }
}

/* ---- chat prompt ------------------------------------------------------ */
char *serve_chat_prompt(const serve_tokenizer *t, const serve_msg *msgs, unsigned n)
{
    zk_chat_msg m[SERVE_MAX_MESSAGES];
    int32_t len;
    char *out;
    if (n > SERVE_MAX_MESSAGES) {
        return NULL;
    }
    for (unsigned i = 0; i < n; i++) {
        m[i].role = msgs[i].role;
        m[i].content = msgs[i].content;
    }
    len = zk_chat_apply(t->chat_template, m, n, 1, NULL, 0);
    if (len < 0 || !(out = malloc((size_t)len + 1))) {
        return NULL;
    }
    zk_chat_apply(t->chat_template, m, n, 1, out, (size_t)len + 1);
    out[len] = 0;
    return out;
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

void serve_utf8_feed(serve_utf8 *u, const char *bytes, size_t nbytes, sbuf *out)
{
    for (size_t i = 0; i < nbytes; i++) {
        unsigned char c = (unsigned char)bytes[i];
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
