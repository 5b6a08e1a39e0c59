/* SPDX-License-Identifier: MIT */
/*
 * zk-serve - an OpenAI-compatible LLM server on zhikai cards.
 *
 *   zk-serve MODEL [-t TOKENIZER] [--port 8000] [--host 127.0.0.1] [--cards N]
 *            [--model-name NAME] [--chat-template T] [--max-batch N] [--max-queue N] [--max-tokens N]
 *            [--kv-blocks N] [--host-blocks N] [--prefix-cache] [--int8]
 *            [--price-kwh P] [--max-body BYTES] [--max-connections N]
 *
 * Routes: POST /v1/completions, POST /v1/chat/completions ("stream": true
 * for server-sent events), GET /v1/models, /health, /metrics (Prometheus).
 * One engine per card, requests go to the least-loaded one.  SIGINT or
 * SIGTERM stops it; the exit status is 1 if a card's memory was not all
 * returned.  See docs/serving.md.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "llm.h"
#include "serve_http.h"
#include "tokenizer.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: zk-serve MODEL [-t TOKENIZER] [--port 8000] [--host 127.0.0.1] [--cards N]\n"
            "                [--model-name NAME] [--chat-template T] [--max-batch N] [--max-queue N] [--max-tokens N]\n"
            "                [--kv-blocks N] [--host-blocks N] [--prefix-cache] [--int8]\n"
            "                [--price-kwh P] [--max-body BYTES] [--max-connections N]\n");
    exit(2);
}

/* $ZK_KERNELS, else <exe>/../kernels, else /zk/kernels. */
static const char *kernel_dir(void)
{
    static char dir[PATH_MAX];
    char exe[PATH_MAX - 16];
    const char *env = getenv("ZK_KERNELS");
    ssize_t n;
    if (env) {
        return env;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        char *slash;
        exe[n] = 0;
        slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(dir, sizeof(dir), "%s/../kernels", exe);
            if (access(dir, R_OK) == 0) {
                return dir;
            }
        }
    }
    return "/zk/kernels";
}

static unsigned long num(const char *opt, const char *v, unsigned long lo, unsigned long hi)
{
    char *end;
    unsigned long x = strtoul(v, &end, 0);
    if (!*v || *end || x < lo || x > hi) {
        fprintf(stderr, "zk-serve: %s wants a number in %lu..%lu\n", opt, lo, hi);
        exit(2);
    }
    return x;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *tok_path = NULL, *host = "127.0.0.1", *name = NULL;
    unsigned port = 8000, cards = 0, max_queue = 64;
    int int8 = 0, ncards_avail = 0, rc;
    serve_sched_config sc = { 0 };
    serve_ctx c = { 0 };
    zk_llm_model m;
    zk_tokenizer *tk;
    const char *chat_template = NULL;
    char err[512];
    sigset_t sigs;
    int sig;

    c.max_tokens = 256;
    c.max_body = 1 << 20;
    c.max_connections = 256;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--int8")) {
            int8 = 1;
        } else if (!strcmp(a, "--prefix-cache")) {
            sc.engine.prefix_caching = 1;
        } else if (a[0] == '-' && v) {
            i++;
            if (!strcmp(a, "-t")) tok_path = v;
            else if (!strcmp(a, "--port")) port = (unsigned)num(a, v, 1, 65535);
            else if (!strcmp(a, "--host")) host = v;
            else if (!strcmp(a, "--cards")) cards = (unsigned)num(a, v, 0, 64);
            else if (!strcmp(a, "--model-name")) name = v;
            else if (!strcmp(a, "--chat-template")) chat_template = v;
            else if (!strcmp(a, "--max-batch")) sc.engine.max_seqs = (uint32_t)num(a, v, 1, 1024);
            else if (!strcmp(a, "--max-queue")) max_queue = (unsigned)num(a, v, 0, 1 << 20);
            else if (!strcmp(a, "--max-tokens")) c.max_tokens = (uint32_t)num(a, v, 1, 1 << 20);
            else if (!strcmp(a, "--kv-blocks")) sc.engine.kv_blocks = (uint32_t)num(a, v, 1, 1 << 24);
            else if (!strcmp(a, "--host-blocks")) sc.engine.host_blocks = (uint32_t)num(a, v, 0, 1 << 24);
            else if (!strcmp(a, "--price-kwh")) c.price_kwh = strtod(v, NULL);
            else if (!strcmp(a, "--max-body")) c.max_body = num(a, v, 1024, 1 << 30);
            else if (!strcmp(a, "--max-connections")) c.max_connections = (unsigned)num(a, v, 1, 65536);
            else usage();
        } else if (a[0] != '-' && !model_path) {
            model_path = a;
        } else {
            usage();
        }
    }
    if (!model_path) {
        usage();
    }
    if (!name) {
        const char *slash = strrchr(model_path, '/');
        name = slash ? slash + 1 : model_path;
    }
    if (zk_llm_model_load(&m, model_path, int8, err, sizeof(err))) {
        fprintf(stderr, "zk-serve: %s\n", err);
        return 1;
    }
    /* GGUF files carry their tokenizer (and chat template); llama2.c models need -t. */
    tk = tok_path ? zk_tokenizer_from_llama2c(tok_path, m.c.vocab_size, err, sizeof(err))
         : m.gguf ? zk_tokenizer_from_gguf(m.gguf, err, sizeof(err)) : NULL;
    if (!tk) {
        fprintf(stderr, "zk-serve: %s\n", tok_path || m.gguf ? err :
                "a llama2.c model needs -t TOKENIZER");
        zk_llm_model_free(&m);
        return 1;
    }
    if (zk_init(0) || zk_device_count(&ncards_avail) || ncards_avail < 1) {
        fprintf(stderr, "zk-serve: no zhikai card\n");
        goto fail;
    }
    if (!cards || cards > (unsigned)ncards_avail) {
        cards = (unsigned)ncards_avail;
    }
    /* Signals go to sigwait below, never to the worker threads. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    sc.model = &m;
    sc.cards = cards;
    sc.max_queue = max_queue;
    sc.engine.kernel_dir = kernel_dir();
    if (!sc.engine.max_seqs) {
        sc.engine.max_seqs = 8;
    }
    /* JSON numbers like 0.3, not 0.29999999999999999. */
    json_c_set_serialization_double_format("%.10g", JSON_C_OPTION_GLOBAL);
    serve_metrics_init(&c.metrics);
    serve_tokenizer_zk(&c.tok, tk, chat_template);
    c.n_vocab = m.c.vocab_size;
    c.model_id = name;
    c.seq_len = (uint32_t)m.c.seq_len;
    c.created = (long long)time(NULL);
    sc.is_eog = c.tok.is_eog;           /* the tokenizer knows EOS/EOT */
    sc.eog_arg = c.tok.impl;
    c.sched = serve_sched_create(&sc, err, sizeof(err));
    if (!c.sched) {
        fprintf(stderr, "zk-serve: %s\n", err);
        serve_metrics_destroy(&c.metrics);
        goto fail;
    }
    if (serve_http_start(&c, host, port, err, sizeof(err))) {
        fprintf(stderr, "zk-serve: %s\n", err);
        serve_sched_destroy(c.sched);
        serve_metrics_destroy(&c.metrics);
        goto fail;
    }
    printf("zk-serve: listening on http://%s:%u: model '%s' (dim %d, %d layers, vocab %d, "
           "context %d), %u card(s), batch %u, queue %u\n", host, port, name, m.c.dim,
           m.c.n_layers, m.c.vocab_size, m.c.seq_len, cards, sc.engine.max_seqs, max_queue);
    fflush(stdout);
    sigwait(&sigs, &sig);
    printf("zk-serve: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    fflush(stdout);
    serve_http_stop(&c);
    rc = serve_sched_destroy(c.sched);
    serve_metrics_destroy(&c.metrics);
    zk_tokenizer_free(tk);
    zk_llm_model_free(&m);
    printf("zk-serve: stopped; %s\n", rc ? "card memory NOT all returned" :
           "card memory all returned");
    return rc ? 1 : 0;
fail:
    zk_tokenizer_free(tk);
    zk_llm_model_free(&m);
    return 1;
}
