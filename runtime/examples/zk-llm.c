/* SPDX-License-Identifier: MIT */
/*
 * zk-llm - generate text with a llama2.c model on the zhikai card.
 *
 *   zk-llm MODEL -t TOKENIZER [-n STEPS] [-i PROMPT] [-b PROMPTS_FILE]
 *          [--int8] [--seed S] [--temp T] [--kv-blocks N] [--host-blocks N]
 *          [--max-batch N] [--prefix-cache] [--check] [--price-kwh P]
 *
 * Every decode step of the batch is one command buffer on the card (see
 * runtime/llm/engine.c); the CPU schedules and samples.  Prints the text and
 * per-request / per-token stats: time to first token, decode tokens/s, KV
 * blocks in use; and, from the card performance model (docs/perf-model.md:
 * card time and card energy of events), the modelled real-card TTFT, TPOT,
 * tokens/s and J/token per request and in total, with --price-kwh P the
 * electricity cost per million tokens at P per kWh.  --check also runs the CPU reference (llama2.c forward
 * pass) teacher-forced on the card's tokens and reports the largest logit
 * difference and whether greedy tokens agree.
 */
#include <math.h>

#include "example_util.h"
#include "../llm/llm.h"
#include "../llm/gguf.h"
#include "../llm/tokenizer.h"

#define MAXP 64

/* The text of @tok after @prev (the space the SentencePiece encoder put
 * before the first word is dropped after BOS); control bytes other than
 * newline and tab are skipped, as llama2.c's safe_printf does. */
static void put_piece(const zk_tokenizer *t, int32_t prev, int32_t tok)
{
    char b[256];
    int32_t n = zk_tokenizer_piece(t, tok, 1, b, sizeof(b));
    int32_t i = prev == zk_tokenizer_bos(t) && n > 0 && b[0] == ' ' ? 1 : 0;
    for (; i < n && i < (int32_t)sizeof(b); i++) {
        unsigned char c = (unsigned char)b[i];
        if (c >= 32 || c == '\n' || c == '\t') {
            putchar(c);
        }
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: zk-llm MODEL [-t TOKENIZER] [-n STEPS] [-i PROMPT] [-b PROMPTS_FILE]\n"
            "              [--int8] [--seed S] [--temp T] [--kv-blocks N] [--host-blocks N]\n"
            "              [--max-batch N] [--prefix-cache] [--check] [--price-kwh P]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *tok_path = NULL, *prompt = "Once upon a time";
    const char *batch_file = NULL;
    int steps = 32, int8 = 0, check = 0, prefix = 0;
    unsigned long long seed = 0;
    float temp = 0.0f;
    double price = 0;
    zk_llm_engine_config ec = { 0 };
    char err[512];
    zk_llm_model m;
    zk_tokenizer *tk;
    zk_llm_engine *eng;
    zk_llm_request req[MAXP];
    int32_t *ptoks[MAXP];
    char *texts[MAXP];
    int np = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--int8")) {
            int8 = 1;
        } else if (!strcmp(a, "--check")) {
            check = 1;
        } else if (!strcmp(a, "--prefix-cache")) {
            prefix = 1;
        } else if (a[0] == '-' && v) {
            i++;
            if (!strcmp(a, "-t")) tok_path = v;
            else if (!strcmp(a, "-n")) steps = atoi(v);
            else if (!strcmp(a, "-i")) prompt = v;
            else if (!strcmp(a, "-b")) batch_file = v;
            else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 0);
            else if (!strcmp(a, "--temp")) temp = strtof(v, NULL);
            else if (!strcmp(a, "--kv-blocks")) ec.kv_blocks = (uint32_t)atoi(v);
            else if (!strcmp(a, "--host-blocks")) ec.host_blocks = (uint32_t)atoi(v);
            else if (!strcmp(a, "--max-batch")) ec.max_seqs = (uint32_t)atoi(v);
            else if (!strcmp(a, "--price-kwh")) price = strtod(v, NULL);
            else usage();
        } else if (a[0] != '-' && !model_path) {
            model_path = a;
        } else {
            usage();
        }
    }
    if (!model_path || steps < 1) {
        usage();
    }
    if (seed && temp == 0.0f) {
        temp = 1.0f;        /* a seed asks for sampling */
    }
    /* GGUF files carry their tokenizer; llama2.c models need -t. */
    if (zk_llm_model_load(&m, model_path, int8, err, sizeof(err))) {
        fprintf(stderr, "zk-llm: %s\n", err);
        return 1;
    }
    tk = tok_path ? zk_tokenizer_from_llama2c(tok_path, m.c.vocab_size, err, sizeof(err))
         : m.gguf ? zk_tokenizer_from_gguf(m.gguf, err, sizeof(err)) : NULL;
    if (!tk) {
        fprintf(stderr, "zk-llm: %s\n", tok_path || m.gguf ? err : "a llama2.c model needs -t TOKENIZER");
        return 1;
    }
    if (batch_file) {
        FILE *f = fopen(batch_file, "r");
        char line[4096];
        if (!f) {
            perror(batch_file);
            return 1;
        }
        while (np < MAXP && fgets(line, sizeof(line), f)) {
            line[strcspn(line, "\r\n")] = 0;
            if (line[0]) {
                texts[np++] = strdup(line);
            }
        }
        fclose(f);
    } else {
        texts[np++] = strdup(prompt);
    }
    if (!ec.max_seqs) {
        ec.max_seqs = np < 8 ? 8 : (uint32_t)np;
    }
    ec.prefix_caching = prefix;
    ec.kernel_dir = NULL;       /* the kernel search path (zk_kernel_find) */

    zk_context ctx = example_init();
    zk_device dev;
    zk_device_properties props;
    CHECK(zk_ctx_get_device(&dev));
    CHECK(zk_device_get_properties(dev, &props));
    CHECK(zk_llm_engine_create(&eng, &m, &ec));
    printf("zk-llm: %s: dim %d, hidden %d, %d layers, %d/%d heads, vocab %d, seq_len %d, "
           "%s weights (%.2f MB read per token) on %s\n", model_path, m.c.dim, m.c.hidden_dim,
           m.c.n_layers, m.c.n_heads, m.c.n_kv_heads, m.c.vocab_size, m.c.seq_len,
           int8 ? "int8" : zk_ggml_type_name(m.wtype), zk_llm_model_weight_bytes(&m) / 1e6, props.name);
    printf("zk-llm: KV cache %u blocks x %u tokens, batch up to %u, %s\n",
           zk_kv_num_blocks(zk_llm_engine_kv(eng)), zk_kv_block_size(zk_llm_engine_kv(eng)),
           ec.max_seqs, temp > 0 ? "sampling" : "greedy");

    for (int i = 0; i < np; i++) {
        size_t len = strlen(texts[i]);
        int32_t n = 0;
        ptoks[i] = malloc((len * 4 + 8) * sizeof(int32_t));     /* >= bytes + specials */
        memset(&req[i], 0, sizeof(req[i]));
        if (!ptoks[i] || (n = zk_tokenizer_encode(tk, texts[i], len, 1, 0, ptoks[i], (int32_t)(len * 4 + 8))) < 1) {
            fprintf(stderr, "zk-llm: cannot tokenize prompt %d\n", i);
            return 1;
        }
        req[i].prompt = ptoks[i];
        req[i].n_prompt = (uint32_t)n;
        req[i].max_new = (uint32_t)steps;
        req[i].temperature = temp;
        req[i].seed = seed + (uint64_t)i;
        req[i].keep_logits = check;
        CHECK(zk_llm_engine_submit(eng, &req[i]));
    }

    double e0 = zk_llm_card_energy_uj(), t0 = zk_llm_now();
    uint32_t pending = 1, shown = 0, max_used = 0;
    if (np == 1) {
        printf("\n%s", texts[0]);
        fflush(stdout);
    }
    while (pending) {
        zk_kv_stats ks;
        CHECK(zk_llm_engine_step(eng, &pending));
        zk_kv_get_stats(zk_llm_engine_kv(eng), &ks);
        max_used = ks.blocks_used > max_used ? ks.blocks_used : max_used;
        if (np == 1) {  /* stream the single request's text */
            for (; shown < req[0].n_generated; shown++) {
                uint32_t k = req[0].n_prompt + shown;
                put_piece(tk, req[0].tokens[k - 1], req[0].tokens[k]);
            }
            fflush(stdout);
        }
    }
    double t1 = zk_llm_now(), e1 = zk_llm_card_energy_uj();
    if (np == 1) {
        printf("\n\n");
    }

    uint64_t total_gen = 0;
    for (int i = 0; i < np; i++) {
        zk_llm_request *r = &req[i];
        double tpot = r->n_generated > 1 ? (r->t_done - r->t_first) / (r->n_generated - 1) : 0;
        if (np > 1) {
            printf("[%d] %s", i, texts[i]);
            for (uint32_t k = r->n_prompt; k < r->n_tokens; k++) {
                put_piece(tk, r->tokens[k - 1], r->tokens[k]);
            }
            printf("\n");
        }
        printf("[%d] %u prompt tokens%s, %u generated: host-measured time to first token "
               "%.1f ms, %.1f ms/token, %.1f tokens/s%s%s\n", i, r->n_prompt,
               r->cached_prompt_tokens ? " (some cached)" : "", r->n_generated,
               (r->t_first - r->t_submit) * 1e3, tpot * 1e3, tpot > 0 ? 1.0 / tpot : 0.0,
               r->preemptions ? ", preempted" : "", r->error ? ", FAILED: too long" : "");
        zk_llm_card_metrics cm;
        zk_llm_request_card_metrics(r, price, &cm);
        if (cm.ttft_ms >= 0) {
            printf("[%d]   modelled card: TTFT %.3f ms, TPOT %.4f ms, %.0f tokens/s", i,
                   cm.ttft_ms, cm.tpot_ms > 0 ? cm.tpot_ms : 0.0, cm.tok_s > 0 ? cm.tok_s : 0.0);
            if (cm.j_per_tok >= 0) {
                printf(", %.4f J/token", cm.j_per_tok);
            }
            if (cm.cost_per_mtok >= 0) {
                printf(", %.3g per 1M tokens at %g/kWh", cm.cost_per_mtok, price);
            }
            printf("\n");
        }
        total_gen += r->n_generated;
    }
    zk_llm_engine_stats es;
    zk_kv_stats ks;
    zk_llm_engine_get_stats(eng, &es);
    zk_kv_get_stats(zk_llm_engine_kv(eng), &ks);
    printf("total: %llu tokens in %.3f s = %.1f tokens/s; %llu steps (one command buffer "
           "each, %.1f launches/step), %llu prefill + %llu decode tokens\n",
           (unsigned long long)total_gen, t1 - t0, total_gen / (t1 - t0),
           (unsigned long long)es.steps, es.steps ? (double)es.launches / es.steps : 0.0,
           (unsigned long long)es.prefill_tokens, (unsigned long long)es.decode_tokens);
    printf("KV blocks in use: peak %u of %u (%.1f%% of the pool); preemptions: %llu swap, "
           "%llu recompute; prefix-cache hits %llu blocks; %llu CoW copies\n",
           max_used, ks.num_blocks, 100.0 * max_used / ks.num_blocks,
           (unsigned long long)es.preempt_swap, (unsigned long long)es.preempt_recompute,
           (unsigned long long)ks.prefix_hit_blocks, (unsigned long long)ks.cow_copies);
    if (es.card_ms >= 0 && total_gen) {
        printf("modelled card time: %.3f ms total, %.4f ms/token, %.0f tokens/s on a real card\n",
               es.card_ms, es.card_ms / total_gen, total_gen / (es.card_ms / 1e3));
    }
    if (es.card_j >= 0 && total_gen) {
        printf("modelled card energy: %.4f J total, %.5f J/token, average %.1f W",
               es.card_j, es.card_j / total_gen, es.card_ms > 0 ? es.card_j / (es.card_ms / 1e3) : 0);
        if (price > 0) {
            printf(", %.3g per 1M tokens at %g/kWh", zk_llm_cost_per_mtok(es.card_j / total_gen,
                                                                         price), price);
        }
        printf("\n");
    }
    if (e0 >= 0 && e1 >= e0 && total_gen) {
        printf("host-time energy: %.3f J total, %.4f J/token (hwmon energy counter of the "
               "emulated card, host time)\n", (e1 - e0) / 1e6, (e1 - e0) / 1e6 / total_gen);
    }
    int rc = 0;
    if (check) {
        zk_llm_ref ref;
        double maxd = 0, amax = 0;
        int mism = 0;
        /* The card quantizes activations to int8 for Q8_0/Q4_0 blocks
         * (the CPU reference does not): tolerances relative to the largest
         * logit, as test_llm_gguf's (2% Q8_0, 4% Q4_0); 1e-2 otherwise. */
        double rel = m.qt && !int8 ? (m.wtype == ZK_GGML_Q8_0 ? 0.02 : m.wtype == ZK_GGML_Q4_0 ? 0.04 : 0)
                                   : 0;
        if (zk_llm_ref_init(&ref, &m)) {
            fprintf(stderr, "zk-llm: out of memory\n");
            return 1;
        }
        for (int i = 0; i < np; i++) {
            zk_llm_request *r = &req[i];
            for (uint32_t p = 0; p + 1 < r->n_tokens; p++) {
                float *lg = zk_llm_ref_forward(&ref, r->tokens[p], (int)p);
                if (p + 1 >= r->n_prompt) {
                    const float *cl = r->logits + (size_t)(p + 1 - r->n_prompt) * m.c.vocab_size;
                    for (int v = 0; v < m.c.vocab_size; v++) {
                        double dd = fabs((double)lg[v] - cl[v]);
                        maxd = dd > maxd ? dd : maxd;
                        amax = fabs(lg[v]) > amax ? fabs(lg[v]) : amax;
                    }
                    if (temp <= 0 && zk_llm_argmax(lg, m.c.vocab_size) != r->tokens[p + 1]) {
                        mism++;
                    }
                }
            }
        }
        double tol = rel > 0 ? rel * amax : 1e-2;
        printf("check vs CPU reference: max |logit difference| %.2e (tolerance %.2e), %d greedy "
               "token mismatches -> %s\n", maxd, tol, mism, maxd < tol && !mism ? "PASSED" : "FAILED");
        rc = maxd < tol && !mism ? 0 : 1;
        zk_llm_ref_free(&ref);
    }
    for (int i = 0; i < np; i++) {
        free(req[i].tokens);
        free(req[i].logits);
        free(ptoks[i]);
        free(texts[i]);
    }
    zk_llm_engine_destroy(eng);
    CHECK(zk_ctx_destroy(ctx));
    zk_tokenizer_free(tk);
    zk_llm_model_free(&m);
    return rc;
}
