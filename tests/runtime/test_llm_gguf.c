/* SPDX-License-Identifier: MIT */
/*
 * test_llm_gguf - in-VM test of GGUF models on the card (TAP).
 *
 * One random llama model (GQA, separate classifier) is written as GGUF in
 * F32, F16, Q8_0 and Q4_0 (and Q8_0 with RoPE base 500000 and linear
 * scaling 2) and served by the engine, greedy, two requests at once; the
 * CPU reference runs teacher-forced on the card's tokens with the same
 * (dequantized) weights:
 *   - F32 / F16: every logit within 1e-4 * max|logit| and every token the
 *     reference's argmax, as for llama2.c files; the F32 GGUF and F16
 *     GGUF tokens equal the llama2.c file's tokens on the card;
 *   - Q8_0 / Q4_0 (weights read as blocks on the card, activations
 *     quantized to int8 per 32-block): logits within 2% / 4% of max|logit|
 *     and tokens equal to the reference's argmax unless its top two are
 *     within that tolerance (a tie);
 *   - quantized models keep only their blocks on the card: the bytes a
 *     step reads (zk_llm_model_weight_bytes) follow the file size.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zk_tap.h"
#include "gguf.h"
#include "llm.h"
#include "sampler.h"

static const char *kdir = "/zk/kernels";

typedef struct result {
    double maxdiff, amax;
    int mismatches, ties, tokens;
} result;

static void check_request(const zk_llm_model *m, const zk_llm_request *r, double rel, result *res)
{
    zk_llm_ref ref;
    int V = m->c.vocab_size;
    if (zk_llm_ref_init(&ref, m)) {
        res->mismatches++;
        return;
    }
    for (uint32_t p = 0; p + 1 < r->n_tokens; p++) {
        float *lg = zk_llm_ref_forward(&ref, r->tokens[p], (int)p);
        if (p + 1 < r->n_prompt) {
            continue;
        }
        const float *cl = r->logits + (size_t)(p + 1 - r->n_prompt) * V;
        double amax = 1, md = 0;
        for (int v = 0; v < V; v++) {
            amax = fmax(amax, fabs(lg[v]));
            md = fmax(md, fabs((double)lg[v] - cl[v]));
        }
        res->amax = fmax(res->amax, amax);
        res->maxdiff = fmax(res->maxdiff, md / amax);
        int32_t want = zk_llm_argmax(lg, V), got = r->tokens[p + 1];
        res->tokens++;
        if (want != got) {
            if (lg[want] - lg[got] < 2 * rel * amax) {
                res->ties++;
            } else if (++res->mismatches < 4) {
                printf("#   pos %u: card token %d (ref logit %.5f), reference %d (%.5f)\n", p + 1, got,
                       lg[got], want, lg[want]);
            }
        }
    }
    zk_llm_ref_free(&ref);
}

/* Serve two greedy requests; tokens of request 0 into @toks (n_tokens). */
static int run(const char *name, const zk_llm_model *m, double rel, int32_t *toks, uint32_t *ntok)
{
    zk_llm_engine *e;
    zk_llm_engine_config cfg = { .max_seqs = 2, .kernel_dir = kdir };
    zk_llm_request req[2];
    int32_t prompt[2][6] = { { 1, 40, 41, 42, 43, 44 }, { 1, 300, 7, 99, 150, 3 } };
    result res = { 0 };
    int ok = 1;
    zk_status st = zk_llm_engine_create(&e, m, &cfg);
    if (st) {
        tap_result(0, "%s: engine create: %s", name, zk_error_name(st));
        return 0;
    }
    for (int i = 0; i < 2; i++) {
        memset(&req[i], 0, sizeof(req[i]));
        req[i].prompt = prompt[i];
        req[i].n_prompt = 6;
        req[i].max_new = 16;
        req[i].keep_logits = 1;
        ok &= zk_llm_engine_submit(e, &req[i]) == ZK_SUCCESS;
    }
    double t0 = zk_llm_now();
    st = zk_llm_engine_run(e);
    double t = zk_llm_now() - t0;
    ok &= st == ZK_SUCCESS;
    for (int i = 0; i < 2 && ok; i++) {
        ok &= req[i].done && !req[i].error && req[i].n_generated == 16;
        check_request(m, &req[i], rel, &res);
    }
    zk_llm_engine_stats es;
    zk_llm_engine_get_stats(e, &es);
    printf("# %s: %d tokens checked, %.2f s, %llu launches; max |dlogit| %.2e of max|logit| %.1f "
           "(tol %.0e), %d ties; %.2f MB of weights read per token\n", name, res.tokens, t,
           (unsigned long long)es.launches, res.maxdiff, res.amax, rel, res.ties,
           zk_llm_model_weight_bytes(m) / 1e6);
    ok = ok && res.mismatches == 0 && res.maxdiff <= rel && res.tokens == 32;
    tap_result(ok, "%s: card matches the CPU reference (%d mismatches, %d ties)", name,
               res.mismatches, res.ties);
    if (toks && ok) {
        memcpy(toks, req[0].tokens, req[0].n_tokens * sizeof(int32_t));
        *ntok = req[0].n_tokens;
    }
    for (int i = 0; i < 2; i++) {
        free(req[i].tokens);
        free(req[i].logits);
    }
    zk_llm_engine_destroy(e);
    return ok;
}

int main(void)
{
    zk_device dev;
    zk_context ctx;
    zk_llm_model src, g;
    char err[256];
    /* dim 128, hidden 352, 2 layers, 8/2 heads (GQA), vocab 512. */
    const zk_llm_config c = { 128, 352, 2, 8, 2, 512, 128 };
    const char *bin = "/tmp/zk-gguf-test.bin", *gg = "/tmp/zk-gguf-test.gguf";
    int32_t t_bin[64], t_f32[64], t_f16[64];
    uint32_t n_bin = 0, n_f32 = 0, n_f16 = 0;

    if (access("/zk/kernels/qgemm.zko", R_OK) && access("build/kernels/qgemm.zko", R_OK) == 0) {
        kdir = "build/kernels";
    }
    MUST(zk_init(0));
    MUST(zk_device_get(&dev, 0));
    MUST(zk_ctx_create(&ctx, 0, dev));
    if (zk_llm_gen_model(bin, &c, 4242, 0) || zk_llm_model_load(&src, bin, 0, err, sizeof(err))) {
        tap_result(0, "generate the model: %s", err);
        return tap_done();
    }
    run("llama2.c f32", &src, 1e-4, t_bin, &n_bin);

    static const struct { uint32_t type; const char *name; double rel; } cases[] = {
        { ZK_GGML_F32, "GGUF F32", 1e-4 }, { ZK_GGML_F16, "GGUF F16", 1e-4 },
        { ZK_GGML_Q8_0, "GGUF Q8_0", 0.02 }, { ZK_GGML_Q4_0, "GGUF Q4_0", 0.04 },
    };
    size_t wb[4] = { 0 };
    for (int i = 0; i < 4; i++) {
        if (zk_llm_model_save_gguf(&src, gg, cases[i].type, NULL, err, sizeof(err)) ||
            zk_llm_model_load(&g, gg, 0, err, sizeof(err))) {
            tap_result(0, "%s: write and load: %s", cases[i].name, err);
            continue;
        }
        wb[i] = zk_llm_model_weight_bytes(&g);
        run(cases[i].name, &g, cases[i].rel, i == 0 ? t_f32 : i == 1 ? t_f16 : NULL,
            i == 0 ? &n_f32 : &n_f16);
        zk_llm_model_free(&g);
    }
    tap_result(n_bin && n_bin == n_f32 && !memcmp(t_bin, t_f32, n_bin * 4),
               "GGUF F32 greedy tokens identical to the llama2.c file's");
    tap_result(n_f32 && n_f32 == n_f16 && !memcmp(t_f32, t_f16, n_f32 * 4),
               "GGUF F16 greedy tokens identical to GGUF F32's");
    /* Q8_0 reads 34/128 and Q4_0 18/128 of the F32 matrix bytes (+ norms). */
    tap_result(wb[2] && wb[2] < wb[0] * 0.30 && wb[3] && wb[3] < wb[0] * 0.17,
               "bytes read per token follow the quantized size (F32 %zu, Q8_0 %zu, Q4_0 %zu)",
               wb[0], wb[2], wb[3]);

    /* Q4_0 layers with an F16 classifier (llama.cpp keeps output.weight in
     * another type): blocks for the layers, fp32 for the classifier. */
    if (zk_llm_model_save_gguf_ex(&src, gg, ZK_GGML_Q4_0, ZK_GGML_F16, NULL, err, sizeof(err)) ||
        zk_llm_model_load(&g, gg, 0, err, sizeof(err))) {
        tap_result(0, "Q4_0 + F16 classifier: write and load: %s", err);
    } else {
        tap_result(g.wtype == ZK_GGML_Q4_0 && g.qt[c.n_layers * ZK_MAT_COUNT]->type == ZK_GGML_F16,
                   "Q4_0 layers, F16 classifier read back");
        run("GGUF Q4_0 + F16 classifier", &g, 0.04, NULL, NULL);
        zk_llm_model_free(&g);
    }
    /* Q4_0 layers with a Q8_0 classifier (what llama-quantize q4_0 writes
     * when the row length is not a multiple of 256): the classifier stays
     * Q8_0 blocks on the card, so a step reads about the Q4_0 bytes. */
    if (zk_llm_model_save_gguf_ex(&src, gg, ZK_GGML_Q4_0, ZK_GGML_Q8_0, NULL, err, sizeof(err)) ||
        zk_llm_model_load(&g, gg, 0, err, sizeof(err))) {
        tap_result(0, "Q4_0 + Q8_0 classifier: write and load: %s", err);
    } else {
        size_t qb = zk_llm_model_weight_bytes(&g);
        tap_result(g.wtype == ZK_GGML_Q4_0 && qb < wb[0] * 0.22,
                   "Q4_0 layers, Q8_0 classifier: %zu bytes per token (F32 %zu)", qb, wb[0]);
        run("GGUF Q4_0 + Q8_0 classifier", &g, 0.04, NULL, NULL);
        zk_llm_model_free(&g);
    }

    /* RoPE base and linear scaling from the file reach the card's rope op. */
    src.rope_theta = 500000.0f;
    src.rope_scale = 0.5f;
    if (zk_llm_model_save_gguf(&src, gg, ZK_GGML_Q8_0, NULL, err, sizeof(err)) ||
        zk_llm_model_load(&g, gg, 0, err, sizeof(err))) {
        tap_result(0, "rope base 500000: write and load: %s", err);
    } else {
        tap_result(g.rope_theta == 500000.0f && g.rope_scale == 0.5f, "rope base and scale read back");
        run("GGUF Q8_0, rope base 500000, scaling 2", &g, 0.02, NULL, NULL);
        zk_llm_model_free(&g);
    }
    /* Greedy without keep_logits reads back 4 bytes per sequence and step;
     * the sampler API (top-k/top-p, seed) reproduces its draws. */
    {
        zk_llm_engine *e;
        zk_llm_engine_config cfg = { .max_seqs = 4, .kernel_dir = kdir };
        zk_llm_request r[4];
        zk_sampler_params sp[4];
        int32_t prompt[4] = { 1, 40, 41, 42 };
        int ok = zk_llm_engine_create(&e, &src, &cfg) == ZK_SUCCESS;
        for (int i = 0; ok && i < 4; i++) {
            memset(&r[i], 0, sizeof(r[i]));
            zk_sampler_params_default(&sp[i]);
            sp[i].temperature = i == 0 ? 0.0f : 0.9f;
            sp[i].top_k = 40;
            sp[i].top_p = 0.95f;
            sp[i].seed = i == 3 ? 8 : 7;        /* 1 and 2 identical, 3 another seed */
            r[i].prompt = prompt;
            r[i].n_prompt = 4;
            r[i].max_new = 24;
            r[i].sampling = &sp[i];
            r[i].keep_logits = i == 2;          /* the host samples from all logits */
            ok &= zk_llm_engine_submit(e, &r[i]) == ZK_SUCCESS;
        }
        ok = ok && zk_llm_engine_run(e) == ZK_SUCCESS;
        zk_llm_engine_stats es;
        zk_llm_engine_get_stats(e, &es);
        tap_result(ok && !memcmp(r[1].tokens, r[2].tokens, r[1].n_tokens * 4) &&
                   memcmp(r[1].tokens, r[3].tokens, r[1].n_tokens * 4),
                   "top-k sampling from the card's 64 candidates = from all logits on the host "
                   "(same seed), another seed other tokens");
        tap_result(ok && es.readback_bytes < es.steps * (4 * 4 + 4 * 64 * 8 + 512 * 4 + 1),
                   "sampling steps read back candidates, not every row's logits (%llu bytes, %llu steps)",
                   (unsigned long long)es.readback_bytes, (unsigned long long)es.steps);
        zk_llm_engine_destroy(e);
        /* Greedy alone: only the argmax comes back. */
        zk_llm_request g1;
        memset(&g1, 0, sizeof(g1));
        g1.prompt = prompt;
        g1.n_prompt = 4;
        g1.max_new = 20;
        ok = zk_llm_engine_create(&e, &src, &cfg) == ZK_SUCCESS && zk_llm_engine_submit(e, &g1) == ZK_SUCCESS &&
             zk_llm_engine_run(e) == ZK_SUCCESS;
        zk_llm_engine_get_stats(e, &es);
        tap_result(ok && es.readback_bytes == es.steps * 4,
                   "greedy step reads back the argmax only (%llu bytes in %llu steps, vocab %d)",
                   (unsigned long long)es.readback_bytes, (unsigned long long)es.steps, c.vocab_size);
        tap_result(ok && r[0].n_tokens >= g1.n_tokens && !memcmp(r[0].tokens, g1.tokens, g1.n_tokens * 4),
                   "greedy through the sampler API = plain greedy");
        /* r[0] ran in a sampling batch (no overlap), g1 alone: its steps
         * were queued before the previous token was read. */
        tap_result(ok && es.overlapped_steps >= es.steps / 2,
                   "greedy decode queues the next step before reading the token (%llu of %llu steps)",
                   (unsigned long long)es.overlapped_steps, (unsigned long long)es.steps);
        zk_llm_engine_destroy(e);
        /* Two greedy requests overlapped; the first stops on a token while
         * the next step is already queued (its result is dropped), the
         * second must equal its run without overlap. */
        {
            int32_t prompt2[4] = { 1, 77, 5, 300 };
            zk_llm_request a, b, bref;
            memset(&a, 0, sizeof(a));
            memset(&b, 0, sizeof(b));
            memset(&bref, 0, sizeof(bref));
            a.prompt = prompt;
            a.n_prompt = 4;
            a.max_new = 20;
            a.n_stop = 1;
            a.stop_ids[0] = g1.tokens[4 + 6];
            a.stop_at_eos = 1;
            b.prompt = bref.prompt = prompt2;
            b.n_prompt = bref.n_prompt = 4;
            b.max_new = bref.max_new = 20;
            setenv("ZK_LLM_NO_OVERLAP", "1", 1);
            int ok2 = zk_llm_engine_create(&e, &src, &cfg) == ZK_SUCCESS &&
                      zk_llm_engine_submit(e, &bref) == ZK_SUCCESS && zk_llm_engine_run(e) == ZK_SUCCESS;
            zk_llm_engine_get_stats(e, &es);
            ok2 &= es.overlapped_steps == 0;
            zk_llm_engine_destroy(e);
            unsetenv("ZK_LLM_NO_OVERLAP");
            ok2 = ok2 && zk_llm_engine_create(&e, &src, &cfg) == ZK_SUCCESS &&
                  zk_llm_engine_submit(e, &a) == ZK_SUCCESS && zk_llm_engine_submit(e, &b) == ZK_SUCCESS &&
                  zk_llm_engine_run(e) == ZK_SUCCESS;
            zk_llm_engine_get_stats(e, &es);
            tap_result(ok2 && es.overlapped_steps > 0 && a.done && a.n_generated <= 7 &&
                       !memcmp(a.tokens, g1.tokens, a.n_tokens * 4) && b.n_tokens == bref.n_tokens &&
                       !memcmp(b.tokens, bref.tokens, b.n_tokens * 4),
                       "overlapped batch of two: stop mid-overlap after %u tokens, the other = its run "
                       "without overlap (%llu overlapped steps)", a.n_generated,
                       (unsigned long long)es.overlapped_steps);
            zk_llm_engine_destroy(e);
            free(a.tokens);
            free(b.tokens);
            free(bref.tokens);
        }
        free(g1.tokens);
        for (int i = 0; i < 4; i++) {
            free(r[i].tokens);
        }
    }
    zk_llm_model_free(&src);
    unlink(bin);
    unlink(gg);
    zk_ctx_destroy(ctx);
    return tap_done();
}
