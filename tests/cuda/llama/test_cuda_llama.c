/* SPDX-License-Identifier: MIT */
/*
 * test_cuda_llama.c - the CUDA port of the llama decode (cuda_llama.cu:
 * plain CUDA, own kernels + cublasSgemv, libcudart/libcublas) produces the
 * same greedy tokens as zk-llm's engine (runtime/llm/) on the same model,
 * build/models/tiny.bin.  Both run on the card; the CUDA program runs as its
 * own process, exactly as a user would run it.  Also reports both decode
 * rates (decode only: from the first generated token on).  TAP.
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llm.h"

/* make bench builds this file with -DZK_BENCH (build/bench/bench_cuda_llama):
 * a longer decode and a "BENCH {json}" record for tools/bench.sh. */
#ifdef ZK_BENCH
#define STEPS 120
#else
#define STEPS 40
#endif

static int n_test, n_fail;

static void tap(int ok, const char *what, const char *detail)
{
    printf("%sok %d - %s%s%s\n", ok ? "" : "not ", ++n_test, what, detail ? ": " : "", detail ? detail : "");
    n_fail += !ok;
}

/* The directory of this executable (build/vm-tests or /zk/vm-tests). */
static void self_dir(char *out, size_t size)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = 0;
    snprintf(out, size, "%s", dirname(buf));
}

int main(void)
{
    static const int32_t prompt[] = { ZK_LLM_BOS, 45, 311, 7 };
    const uint32_t np = sizeof(prompt) / sizeof(prompt[0]);
    char dir[PATH_MAX], model[PATH_MAX + 32], kdir[PATH_MAX + 32], cmd[3 * PATH_MAX], err[256];
    char line[8192], msg[512];
    zk_llm_model m;
    zk_llm_engine *e = NULL;
    zk_llm_engine_config cfg = { .max_seqs = 1 };
    zk_llm_request r = { .prompt = prompt, .n_prompt = np, .max_new = STEPS, .temperature = 0.0f };
    int32_t cuda_toks[1024];
    int n_cuda = 0, same, ok;
    double cuda_tps = 0, zk_tps = 0;
    FILE *p;
    zk_device dev;
    zk_context ctx = NULL;

    printf("TAP version 13\n");
    if (zk_init(0) != ZK_SUCCESS || zk_device_get(&dev, 0) != ZK_SUCCESS ||
        zk_ctx_create(&ctx, 0, dev) != ZK_SUCCESS) {
        tap(0, "context on the card", zk_last_error_detail());
        printf("1..%d\n", n_test);
        return 1;
    }
    self_dir(dir, sizeof(dir));
    snprintf(model, sizeof(model), "%s/../models/tiny.bin", dir);
    snprintf(kdir, sizeof(kdir), "%s/../kernels", dir);
    cfg.kernel_dir = kdir;
    if (zk_llm_model_load(&m, model, 0, err, sizeof(err))) {
        tap(0, "load tiny.bin", err);
        printf("1..%d\n", n_test);
        return 1;
    }
    /* zk-llm's engine: greedy, batch 1. */
    ok = zk_llm_engine_create(&e, &m, &cfg) == ZK_SUCCESS && zk_llm_engine_submit(e, &r) == ZK_SUCCESS &&
         zk_llm_engine_run(e) == ZK_SUCCESS && r.done && !r.error && r.n_generated == STEPS;
    snprintf(msg, sizeof(msg), "%u prompt + %u generated", np, r.n_generated);
    tap(ok, "zk-llm engine decodes tiny.bin greedily", msg);
    if (ok && r.t_done > r.t_first && r.n_generated > 1) {
        zk_tps = (r.n_generated - 1) / (r.t_done - r.t_first);
    }

    /* The CUDA program on the same model and prompt: built by clang-14 with
     * our headers, and by nvcc against NVIDIA's where nvcc was found. */
    for (int b = 0; b < 2; b++) {
        static const char *const bins[] = { "cuda-llama", "cuda-llama-nvcc" };
        static const char *const how[] = { "clang-14", "nvcc -cudart=shared" };
        char bin[PATH_MAX + 64], what[160];
        snprintf(bin, sizeof(bin), "%s/../bin/%s", dir, bins[b]);
        if (b == 1 && access(bin, X_OK) != 0) {
            printf("ok %d - %s: same greedy tokens as zk-llm # SKIP no nvcc at build time\n", ++n_test,
                   bins[b]);
            continue;
        }
        n_cuda = 0;
        cuda_tps = 0;
        snprintf(cmd, sizeof(cmd), "%s %s -n %d -p \"%d %d %d %d\" 2>&1", bin, model, STEPS, prompt[0],
                 prompt[1], prompt[2], prompt[3]);
        p = popen(cmd, "r");
        while (p && fgets(line, sizeof(line), p)) {
            if (!strncmp(line, "tokens:", 7)) {
                char *s = line + 7, *end;
                for (long v = strtol(s, &end, 10); end != s && n_cuda < 1024; v = strtol(s, &end, 10)) {
                    cuda_toks[n_cuda++] = (int32_t)v;
                    s = end;
                }
            } else if (!strncmp(line, "decode:", 7)) {
                const char *t = strstr(line, "s, ");
                cuda_tps = t ? atof(t + 3) : 0;
            } else {
                printf("# %s: %s", bins[b], line);
            }
        }
        ok = p && pclose(p) == 0 && n_cuda == (int)(np + STEPS);
        snprintf(msg, sizeof(msg), "%d tokens", n_cuda);
        snprintf(what, sizeof(what), "%s (%s, libcudart + libcublas) runs", bins[b], how[b]);
        tap(ok, what, msg);

        same = ok && r.n_tokens == (uint32_t)n_cuda;
        for (int i = 0; same && i < n_cuda; i++) {
            if (cuda_toks[i] != r.tokens[i]) {
                snprintf(msg, sizeof(msg), "first difference at position %d: %d (CUDA) vs %d (zk-llm)",
                         i, cuda_toks[i], r.tokens[i]);
                same = 0;
            }
        }
        if (same) {
            snprintf(msg, sizeof(msg), "%d generated tokens identical", STEPS);
        }
        snprintf(what, sizeof(what), "%s and zk-llm produce the same greedy tokens", bins[b]);
        tap(same, what, msg);
        printf("# decode tok/s: %s %.2f, zk-llm engine %.2f (ratio %.2f)\n", bins[b], cuda_tps, zk_tps,
               zk_tps > 0 ? cuda_tps / zk_tps : 0.0);
#ifdef ZK_BENCH
        printf("BENCH {\"bench\": \"%s\", \"metric\": \"decode tok/s, tiny.bin batch 1\", "
               "\"value\": %.2f, \"unit\": \"tok/s\", \"baseline\": %.2f, \"baseline_name\": "
               "\"zk-llm engine\", \"ratio\": %.4g, \"target\": \"reported\"}\n",
               bins[b], cuda_tps, zk_tps, zk_tps > 0 ? cuda_tps / zk_tps : 0.0);
#endif
        printf("# %s:", bins[b]);
        for (int i = 0; i < n_cuda; i++) {
            printf(" %d", cuda_toks[i]);
        }
        printf("\n");
        if (!same && ok) {
            printf("# zk-llm:");
            for (uint32_t i = 0; i < r.n_tokens; i++) {
                printf(" %d", r.tokens[i]);
            }
            printf("\n");
        }
    }
    if (e) {
        zk_llm_engine_destroy(e);
    }
    free(r.tokens);
    zk_llm_model_free(&m);
    zk_ctx_destroy(ctx);
    printf("1..%d\n", n_test);
    return n_fail ? 1 : 0;
}
