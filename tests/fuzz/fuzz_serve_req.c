/* SPDX-License-Identifier: MIT */
/*
 * fuzz_serve_req.c - fuzz zk-serve's request side: the JSON body parser of
 * both routes, the chat prompt builder, and (on bodies that parse) the
 * generation text path - UTF-8 reassembly, stop strings and the JSON/SSE
 * writers - driven by bytes of the input as "tokens".  Any input must parse
 * or be refused with a 4xx error body; ASan/UBSan flag anything else.
 */
#include <string.h>

#include <json-c/json.h>

#include "fuzz_driver.h"
#include "serve_oai.h"
#include "serve_req.h"

/* A tokenizer whose token t is the single byte t (0..255): exercises every
 * byte sequence, valid UTF-8 or not. */
static int32_t fz_encode(void *impl, const char *text, size_t len, int parse_special,
                         int32_t *out, int32_t cap)
{
    (void)impl;
    (void)parse_special;
    for (size_t i = 0; i < len && (int32_t)i < cap; i++) {
        out[i] = (unsigned char)text[i];
    }
    return (int32_t)len;
}

static int32_t fz_piece(void *impl, int32_t tok, char *buf, size_t cap)
{
    (void)impl;
    if (!cap) {
        return 0;
    }
    buf[0] = (char)(tok & 0xff);
    return 1;
}

static void check_error_body(const serve_err *e)
{
    char *j = serve_err_json(e);
    json_object *o = j ? json_tokener_parse(j) : NULL, *err;
    if (e->http < 400 || e->http > 599 || !o || !json_object_object_get_ex(o, "error", &err)) {
        abort();
    }
    json_object_put(o);
    free(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    serve_tokenizer tok = { .impl = NULL, .eos = 0, .max_piece_bytes = 1,
                            .chat_template = "chatml", .encode = fz_encode, .piece = fz_piece };
    for (int kind = SERVE_COMPLETION; kind <= SERVE_CHAT; kind++) {
        serve_req r;
        serve_err e;
        if (serve_req_parse(&r, kind, (const char *)data, size, &e)) {
            check_error_body(&e);
            continue;
        }
        char *text = kind == SERVE_CHAT ? serve_chat_prompt(&tok, r.msgs, r.n_msgs) :
                                          strdup(r.prompt);
        int32_t ids[64];
        if (text) {
            fz_encode(NULL, text, strlen(text), 1, ids, 64);
        }
        int32_t toks[512];
        uint32_t n = 0;
        for (size_t i = 0; i < size && n < 512; i++) {
            toks[n++] = data[i];
        }
        serve_gen g;
        serve_usage u = { 3, 4, 1.5, 0.25, 0.3 };
        sbuf out = { 0 };
        serve_gen_init(&g, &r, &tok, "id-1", "m", 1, r.echo ? text : NULL);
        for (uint32_t k = 0; k <= n; k += 7) {
            serve_gen_feed(&g, toks, k, 0);
            serve_gen_sse_delta(&g, 0, &out);
        }
        serve_gen_feed(&g, toks, n, 1);
        serve_gen_sse_end(&g, 1, &u, &out);
        serve_gen_body(&g, 0, &u, &out);
        /* Every SSE line we wrote is one JSON object (or the terminator). */
        for (char *line = out.s; line && *line;) {
            char *nl = strchr(line, '\n');
            if (!nl) {
                abort();
            }
            *nl = 0;
            if (!strncmp(line, "data: ", 6) && strcmp(line + 6, "[DONE]")) {
                json_object *o = json_tokener_parse(line + 6);
                if (!o) {
                    abort();
                }
                json_object_put(o);
            }
            line = nl + 1;
        }
        sbuf_free(&out);
        serve_gen_free(&g);
        free(text);
    }
    return 0;
}

#ifndef ZK_LIBFUZZER
/* Mostly-valid request bodies: a template with random fields mutated. */
static size_t fuzz_generate(uint8_t *buf, size_t cap, uint64_t *rng)
{
    static const char *const tmpl[] = {
        "{\"model\":\"tiny\",\"prompt\":\"Once upon a time\",\"max_tokens\":16,\"stream\":true}",
        "{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\","
        "\"content\":\"hi \\u00e9\\ud83d\\ude00\"}],\"temperature\":0.5,\"seed\":7,"
        "\"stop\":[\"a\",\"bc\"],\"stream_options\":{\"include_usage\":true}}",
        "{\"prompt\":[\"x\"],\"echo\":true,\"stop\":\"the\",\"n\":1,\"top_p\":1,\"logprobs\":0}",
        "{\"prompt\":\"\\u0000\\n\\\"\",\"max_tokens\":1e3,\"temperature\":null}",
        "[1,2,{\"prompt\":{}}]",
    };
    static const char alphabet[] = "{}[]\":,0123456789.-eE truefalsnl\\u\xc3\xa9\xff\x80";
    const char *t = tmpl[fuzz_rand(rng) % (sizeof(tmpl) / sizeof(tmpl[0]))];
    size_t n = strlen(t);
    if (n > cap) {
        n = cap;
    }
    memcpy(buf, t, n);
    for (unsigned k = (unsigned)(fuzz_rand(rng) % 6); k > 0 && n; k--) {
        size_t at = fuzz_rand(rng) % n;
        switch (fuzz_rand(rng) % 3) {
        case 0:                 /* overwrite */
            buf[at] = (uint8_t)alphabet[fuzz_rand(rng) % (sizeof(alphabet) - 1)];
            break;
        case 1:                 /* delete */
            memmove(buf + at, buf + at + 1, n - at - 1);
            n--;
            break;
        default:                /* duplicate a slice */
            if (n + 16 < cap) {
                size_t len = fuzz_rand(rng) % 16;
                len = len > n - at ? n - at : len;
                memmove(buf + at + len, buf + at, n - at);
                n += len;
            }
        }
    }
    return n;
}
#endif
