/* SPDX-License-Identifier: MIT */
/*
 * test_llm - in-VM test of the LLM serving engine on the card (TAP).
 *
 * Greedy generation on random llama2.c models runs on the card (the engine:
 * one command buffer per step, paged KV cache) and is compared with the CPU
 * reference forward pass (runtime/llm/ref.c) fed the same tokens:
 *   - every generated token must be the reference's argmax (a "tie" - the
 *     reference's top two logits closer than twice the tolerance - is
 *     reported but accepted), and
 *   - every logit within TOL = 1e-4 * max(1, max |ref logit|) of the
 *     reference (int8 models: the same tolerance; both sides quantize
 *     identically).
 * Cases: batch 1 on build/models/tiny.bin; 8 concurrent requests of
 * different lengths; the same with a pool so small that requests are
 * preempted by swapping to host memory, and by recompute; prefix sharing;
 * chunked prefill; int8 weights; seeded sampling reproducibility.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zk_tap.h"
#include "llm.h"

static const char *kdir = "/zk/kernels";

typedef struct result {
    double maxdiff, tol;
    int mismatches, ties, tokens;
} result;

/* Teacher-forced CPU reference over r's tokens. */
static void check_request(const zk_llm_model *m, const zk_llm_request *r, result *res)
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
            amax = fabs(lg[v]) > amax ? fabs(lg[v]) : amax;
            md = fabs((double)lg[v] - cl[v]) > md ? fabs((double)lg[v] - cl[v]) : md;
        }
        double tol = 1e-4 * amax;
        res->tol = tol > res->tol ? tol : res->tol;
        res->maxdiff = md > res->maxdiff ? md : res->maxdiff;
        int32_t want = zk_llm_argmax(lg, V), got = r->tokens[p + 1];
        res->tokens++;
        if (want != got) {
            if (lg[want] - lg[got] < 2 * tol) {
                res->ties++;
            } else {
                res->mismatches++;
                if (res->mismatches < 4) {
                    printf("#   pos %u: card token %d (ref logit %.5f), reference %d (%.5f)\n",
                           p + 1, got, lg[got], want, lg[want]);
                }
            }
        }
    }
    zk_llm_ref_free(&ref);
}

/* Run @n requests through a fresh engine, check them all; returns 1 if OK. */
static int run_case(const char *name, const zk_llm_model *m, zk_llm_engine_config cfg, int n,
                    const uint32_t *plen, const uint32_t *gen, const int32_t *shared_prefix,
                    uint32_t npre, zk_llm_engine_stats *est_out, zk_kv_stats *kst_out)
{
    zk_llm_engine *e;
    zk_llm_request req[16];
    int32_t *prompts[16];
    result res = { 0 };
    zk_status st;
    int ok = 1, errs = 0;
    double t0;
    cfg.kernel_dir = kdir;
    st = zk_llm_engine_create(&e, m, &cfg);
    if (st) {
        tap_result(0, "%s: engine create: %s", name, zk_error_name(st));
        return 0;
    }
    for (int i = 0; i < n; i++) {
        prompts[i] = malloc(plen[i] * sizeof(int32_t));
        prompts[i][0] = ZK_LLM_BOS;
        for (uint32_t k = 1; k < plen[i]; k++) {
            prompts[i][k] = shared_prefix && k < npre ? shared_prefix[k]
                            : (int32_t)(3 + (k * 37 + (uint32_t)i * 101) % (uint32_t)(m->c.vocab_size - 3));
        }
        memset(&req[i], 0, sizeof(req[i]));
        req[i].prompt = prompts[i];
        req[i].n_prompt = plen[i];
        req[i].max_new = gen[i];
        req[i].keep_logits = 1;
        if (zk_llm_engine_submit(e, &req[i])) {
            ok = 0;
        }
    }
    t0 = zk_llm_now();
    st = zk_llm_engine_run(e);
    double t = zk_llm_now() - t0;
    if (st) {
        tap_result(0, "%s: engine run: %s", name, zk_error_name(st));
        ok = 0;
    }
    for (int i = 0; i < n && ok; i++) {
        if (!req[i].done || req[i].error || req[i].n_generated != gen[i]) {
            errs++;
        }
        check_request(m, &req[i], &res);
    }
    if (est_out) {
        zk_llm_engine_get_stats(e, est_out);
    }
    if (kst_out) {
        zk_kv_get_stats(zk_llm_engine_kv(e), kst_out);
    }
    {
        zk_llm_engine_stats es;
        zk_llm_engine_get_stats(e, &es);
        printf("# %s: %d requests, %d tokens checked in %llu steps (%.0f launches/step), "
               "%.2f s on the card; max |dlogit| %.2e (tol %.2e), %d ties; preempted "
               "%llu swap / %llu recompute\n", name, n, res.tokens,
               (unsigned long long)es.steps, es.steps ? (double)es.launches / es.steps : 0.0,
               t, res.maxdiff, res.tol, res.ties, (unsigned long long)es.preempt_swap,
               (unsigned long long)es.preempt_recompute);
    }
    ok = ok && !errs && res.mismatches == 0 && res.maxdiff <= res.tol && res.tokens > 0;
    tap_result(ok, "%s: card matches the CPU reference token for token (%d mismatches, "
               "%d incomplete)", name, res.mismatches, errs);
    for (int i = 0; i < n; i++) {
        free(req[i].tokens);
        free(req[i].logits);
        free(prompts[i]);
    }
    zk_llm_engine_destroy(e);
    return ok;
}

int main(void)
{
    zk_device dev;
    zk_context ctx;
    zk_llm_model tiny, small, small8;
    char err[256];
    int have_tiny;
    const zk_llm_config sc = { 64, 176, 2, 4, 4, 384, 256 };
    const char *gen_path = "/tmp/zk-test-small.bin";
    uint32_t plen8[8] = { 1, 5, 17, 32, 3, 40, 9, 24 }, gen8[8] = { 20, 12, 30, 8, 25, 16, 33, 10 };

    if (access("/zk/kernels/llm_batch.zko", R_OK) && access("build/kernels/llm_batch.zko", R_OK) == 0) {
        kdir = "build/kernels";
    }
    MUST(zk_init(0));
    MUST(zk_device_get(&dev, 0));
    MUST(zk_ctx_create(&ctx, 0, dev));

    have_tiny = zk_llm_model_load(&tiny, "/zk/models/tiny.bin", 0, err, sizeof(err)) == 0 ||
                zk_llm_model_load(&tiny, "build/models/tiny.bin", 0, err, sizeof(err)) == 0;
    tap_result(zk_llm_gen_model(gen_path, &sc, 1234, 0) == 0 &&
               zk_llm_model_load(&small, gen_path, 0, err, sizeof(err)) == 0 &&
               zk_llm_model_load(&small8, gen_path, 1, err, sizeof(err)) == 0,
               "generate and load a random model with a separate classifier");

    /* 1. batch 1 on the make-run model */
    if (have_tiny) {
        uint32_t p = 6, g = 40;
        zk_llm_engine_config c = { .max_seqs = 1 };
        run_case("tiny.bin batch 1", &tiny, c, 1, &p, &g, NULL, 0, NULL, NULL);
    } else {
        tap_result(0, "tiny.bin batch 1: %s", err);
    }
    /* 2. 8 concurrent requests of different lengths, ample pool */
    {
        zk_llm_engine_config c = { .max_seqs = 8 };
        run_case("8 concurrent requests", &small, c, 8, plen8, gen8, NULL, 0, NULL, NULL);
    }
    /* 3. small pool + host swap space: preemption by swapping */
    {
        zk_llm_engine_config c = { .max_seqs = 8, .kv_blocks = 12, .block_size = 8,
                                   .host_blocks = 64 };
        zk_llm_engine_stats es;
        run_case("8 requests, 12-block pool, swap", &small, c, 8, plen8, gen8, NULL, 0, &es, NULL);
        tap_result(es.preempt_swap > 0, "small pool forced swap preemptions (%llu)",
                   (unsigned long long)es.preempt_swap);
    }
    /* 4. small pool, no swap space: preemption by recompute */
    {
        zk_llm_engine_config c = { .max_seqs = 8, .kv_blocks = 12, .block_size = 8 };
        zk_llm_engine_stats es;
        run_case("8 requests, 12-block pool, recompute", &small, c, 8, plen8, gen8, NULL, 0, &es,
                 NULL);
        tap_result(es.preempt_recompute > 0, "small pool forced recompute preemptions (%llu)",
                   (unsigned long long)es.preempt_recompute);
    }
    /* 5. prefix sharing: 6 requests with a common 40-token prefix, sequential waves */
    {
        zk_llm_engine_config c = { .max_seqs = 2, .prefix_caching = 1, .block_size = 8 };
        uint32_t pl[6] = { 45, 50, 41, 48, 60, 44 }, gl[6] = { 6, 5, 8, 4, 6, 7 };
        int32_t pre[40];
        zk_kv_stats ks;
        for (int k = 0; k < 40; k++) {
            pre[k] = 3 + (k * 13) % 300;
        }
        run_case("prefix sharing", &small, c, 6, pl, gl, pre, 40, NULL, &ks);
        tap_result(ks.prefix_hit_blocks >= 8, "prefix cache reused %llu blocks",
                   (unsigned long long)ks.prefix_hit_blocks);
    }
    /* 6. chunked prefill: 16 rows per step */
    {
        zk_llm_engine_config c = { .max_seqs = 4, .max_step_tokens = 16 };
        uint32_t pl[4] = { 40, 7, 33, 2 }, gl[4] = { 10, 12, 5, 9 };
        run_case("chunked prefill (16 rows/step)", &small, c, 4, pl, gl, NULL, 0, NULL, NULL);
    }
    /* 7. int8 weights */
    {
        zk_llm_engine_config c = { .max_seqs = 4 };
        uint32_t pl[4] = { 4, 19, 11, 30 }, gl[4] = { 16, 9, 20, 6 };
        run_case("int8 weights, 4 requests", &small8, c, 4, pl, gl, NULL, 0, NULL, NULL);
    }
    /* 8. seeded sampling is reproducible */
    {
        zk_llm_engine_config c = { .max_seqs = 2, .kernel_dir = kdir };
        int32_t pr[3] = { ZK_LLM_BOS, 40, 41 };
        int32_t out[2][20];
        int same = 1;
        for (int run = 0; run < 2; run++) {
            zk_llm_engine *e;
            zk_llm_request r = { .prompt = pr, .n_prompt = 3, .max_new = 20, .temperature = 1.0f,
                                 .seed = 99 };
            if (zk_llm_engine_create(&e, &small, &c) || zk_llm_engine_submit(e, &r) ||
                zk_llm_engine_run(e)) {
                same = 0;
                break;
            }
            memcpy(out[run], r.tokens + 3, sizeof(out[run]));
            free(r.tokens);
            zk_llm_engine_destroy(e);
        }
        tap_result(same && !memcmp(out[0], out[1], sizeof(out[0])),
                   "seeded sampling gives the same tokens twice");
    }
    if (have_tiny) {
        zk_llm_model_free(&tiny);
    }
    zk_llm_model_free(&small);
    zk_llm_model_free(&small8);
    unlink(gen_path);
    zk_ctx_destroy(ctx);
    return tap_done();
}
