/* SPDX-License-Identifier: MIT */
/*
 * bench_gguf.c - batch-1 decode of GGUF models on the card (issue 19), run
 * in the VM by `make bench` (build/bench/bench_gguf; "BENCH {json}" lines).
 *
 * The comparison model: a random llama with dim 288, hidden 768,
 * 6 layers, 6/2 heads, vocab 32000 (llama.cpp measured 148 / 614 / 680
 * tokens/s at one thread for F32 / Q8_0 / Q4_0 on this CPU).  The same
 * weights are written as GGUF F32, Q8_0 and Q4_0 and served greedy at
 * batch 1; per type: weight bytes a token reads (the card reads Q8_0/Q4_0
 * blocks in place), host-measured tokens/s (card work + guest work under
 * TCG + copies), the modelled real card's tokens/s and J/token
 * (docs/perf-model.md), and the host time per step split into building
 * and submitting the step in the guest, waiting for the card, and the rest.
 *
 * usage: bench_gguf [-n DECODE_TOKENS] [--small]   (--small: dim 128 model)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "llm.h"

static void record(const char *metric, double value, const char *unit, const char *type)
{
    printf("BENCH {\"bench\": \"gguf\", \"metric\": \"%s %s\", \"value\": %.6g, \"unit\": \"%s\"}\n",
           type, metric, value, unit);
}

int main(int argc, char **argv)
{
    zk_llm_config c = { 288, 768, 6, 6, 2, 32000, 256 };
    int ntok = 32;
    const char *kdir = access("/zk/kernels/qgemm.zko", R_OK) == 0 ? "/zk/kernels" : "build/kernels";
    char err[256];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            ntok = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--small")) {
            c = (zk_llm_config){ 128, 352, 2, 8, 2, 512, 128 };
        } else {
            fprintf(stderr, "usage: bench_gguf [-n TOKENS] [--small]\n");
            return 2;
        }
    }
    zk_device dev;
    zk_context ctx;
    if (zk_init(0) || zk_device_get(&dev, 0) || zk_ctx_create(&ctx, 0, dev)) {
        fprintf(stderr, "bench_gguf: no card\n");
        return 1;
    }
    zk_llm_model src;
    const char *bin = "/tmp/zk-bench-gguf.bin", *gg = "/tmp/zk-bench-gguf.gguf";
    if (zk_llm_gen_model(bin, &c, 0x19, 0) || zk_llm_model_load(&src, bin, 0, err, sizeof(err))) {
        fprintf(stderr, "bench_gguf: %s\n", err);
        return 1;
    }
    static const struct { uint32_t t; const char *n; } types[] = {
        { ZK_GGML_F32, "F32" }, { ZK_GGML_Q8_0, "Q8_0" }, { ZK_GGML_Q4_0, "Q4_0" },
    };
    for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
        zk_llm_model m;
        zk_llm_engine *e;
        zk_llm_engine_config ec = { .max_seqs = 1, .kernel_dir = kdir };
        zk_llm_request r;
        int32_t prompt[4] = { 1, 100, 200, 300 };
        uint32_t pending = 1;
        zk_llm_engine_stats s0, s1;
        if (zk_llm_model_save_gguf(&src, gg, types[ti].t, NULL, err, sizeof(err)) ||
            zk_llm_model_load(&m, gg, 0, err, sizeof(err))) {
            fprintf(stderr, "bench_gguf: %s\n", err);
            return 1;
        }
        if (zk_llm_engine_create(&e, &m, &ec)) {
            fprintf(stderr, "bench_gguf: engine: %s\n", zk_last_error_detail());
            return 1;
        }
        memset(&r, 0, sizeof(r));
        r.prompt = prompt;
        r.n_prompt = 4;
        r.max_new = (uint32_t)ntok + 1;
        if (zk_llm_engine_submit(e, &r) || zk_llm_engine_step(e, &pending)) {   /* prefill: untimed */
            return 1;
        }
        zk_llm_engine_get_stats(e, &s0);
        double t0 = zk_llm_now();
        while (pending) {
            if (zk_llm_engine_step(e, &pending)) {
                fprintf(stderr, "bench_gguf: step failed\n");
                return 1;
            }
        }
        double t1 = zk_llm_now();
        zk_llm_engine_get_stats(e, &s1);
        double tok = (double)(s1.decode_tokens - s0.decode_tokens), steps = (double)(s1.steps - s0.steps);
        double host_ms = (t1 - t0) * 1e3 / steps;
        double build_ms = (s1.build_seconds - s0.build_seconds) * 1e3 / steps;
        double wait_ms = (s1.wait_seconds - s0.wait_seconds) * 1e3 / steps;
        /* The device clock between two steps' end events includes the
         * guest's time between them (the card idles then): it is not the
         * card's busy time.  The guest-side split is: building and
         * submitting the step (TCG), waiting for the card (its work and the
         * submit/interrupt round trip), the rest (scheduling, sampling). */
        printf("# %s: %.2f MB of weights per token, %.1f tokens/s (host), %.2f ms/step = %.2f ms "
               "guest build+submit + %.2f ms waiting for the card + %.2f ms schedule/sample; "
               "%.0f B read back per step\n", types[ti].n,
               zk_llm_model_weight_bytes(&m) / 1e6, tok / (t1 - t0), host_ms, build_ms, wait_ms,
               host_ms - build_ms - wait_ms,
               (double)(s1.readback_bytes - s0.readback_bytes) / steps);
        record("weight bytes per token", (double)zk_llm_model_weight_bytes(&m), "B", types[ti].n);
        record("decode tok/s (batch 1)", tok / (t1 - t0), "tok/s", types[ti].n);
        record("guest build+submit ms per step", build_ms, "ms", types[ti].n);
        record("wait for card ms per step", wait_ms, "ms", types[ti].n);
        record("schedule+sample ms per step", host_ms - build_ms - wait_ms, "ms", types[ti].n);
        if (s1.card_ms >= 0 && s1.card_ms > s0.card_ms) {
            record("modelled card tok/s", tok / ((s1.card_ms - s0.card_ms) / 1e3), "tok/s", types[ti].n);
        }
        if (s1.card_j >= 0 && tok > 0) {
            record("modelled card J/token", (s1.card_j - s0.card_j) / tok, "J", types[ti].n);
        }
        free(r.tokens);
        zk_llm_engine_destroy(e);
        zk_llm_model_free(&m);
    }
    zk_llm_model_free(&src);
    unlink(bin);
    unlink(gg);
    zk_ctx_destroy(ctx);
    return 0;
}
