/* SPDX-License-Identifier: MIT */
/*
 * bench_llm.c - LLM decode throughput (issue 7's benchmark).
 *
 * One source, two binaries:
 *   build/bench/bench_llm            (in the VM, run by tools/bench.sh):
 *     decode tokens/s of the serving engine on the card at batch 1 and 8,
 *     the same model's CPU reference (runtime/llm/ref.c, one thread) in the
 *     same VM, guest memcpy bandwidth -> memory roofline, energy per token
 *     from the card's hwmon energy1_input, and the modelled real-card
 *     tokens/s (card time, docs/perf-model.md).  Prints "BENCH {json}" lines.
 *   build/host-bench/bench_llm_host  (-DZK_BENCH_HOST, natively on the host,
 *     run by `make -C runtime bench`): the CPU reference's single-thread
 *     decode tokens/s and host memcpy bandwidth, the baselines;
 *     writes build/bench-llm-host.json.  tools/bench.sh joins the two.
 *
 * The model is generated at run time (zk_llm_gen_model, fixed seed) into a
 * temporary file, so both sides bench bit-identical weights without
 * shipping ~120 MB in every VM's initramfs (tools/vm-run.sh copies build/).
 * Default: dim 512, hidden 1376, 8 layers, 8/8 heads, vocab 4096, seq_len
 * 256, separate classifier, fp32: 118 MB of weights read per token.
 *
 * Memory roofline: a decode step reads every matmul weight once, so
 * roofline tokens/s = memcpy bandwidth / zk_llm_model_weight_bytes(), with
 * memcpy bandwidth = bytes copied per second (64 MiB buffers, best of 5).
 *
 * Modelled real card (issue 10): TTFT, TPOT, tokens/s and J/token at batch
 * 1 and 8 from the engine's card time / card energy (events), and the
 * electricity cost per million tokens at --price-kwh (default 0.10 per kWh).
 *
 * usage: bench_llm [-o FILE.json] [--int8] [-n DECODE_TOKENS] [--ref-seconds S]
 *                  [--price-kwh P]
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llm.h"

#define SEED 0x7a6b31ull
#define MEMCPY_BYTES (64u << 20)

static const zk_llm_config bench_cfg = { 512, 1376, 8, 8, 8, 4096, 256 };

/* ---------------------------------------------------------------- records */
static FILE *json_out;
static int json_n;

static void rec_begin(void)
{
    if (json_out) {
        fprintf(json_out, json_n++ ? ",\n " : "[");
    } else {
        printf("BENCH ");
    }
}

static void rec_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(json_out ? json_out : stdout, fmt, ap);
    va_end(ap);
}

static void rec_end(void)
{
    if (!json_out) {
        printf("\n");
        fflush(stdout);
    }
}

/* One record; baseline <= 0 leaves baseline/ratio out; target may be NULL.
 * @extra: more ", key: value" JSON text or NULL. */
static void record(const char *metric, double value, const char *unit, double baseline,
                   const char *baseline_name, const char *target, const char *extra)
{
    rec_begin();
    rec_printf("{\"bench\": \"llm\", \"metric\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"",
               metric, value, unit);
    if (baseline > 0) {
        rec_printf(", \"baseline\": %.6g, \"baseline_name\": \"%s\", \"ratio\": %.4g",
                   baseline, baseline_name, value / baseline);
    }
    if (target) {
        rec_printf(", \"target\": \"%s\"", target);
    }
    if (extra) {
        rec_printf(", %s", extra);
    }
    rec_printf("}");
    rec_end();
}

/* ---------------------------------------------------------------- memcpy */
/* Bytes copied per second, 64 MiB buffers, best of 5. */
static double memcpy_bw(void)
{
    char *a = malloc(MEMCPY_BYTES), *b = malloc(MEMCPY_BYTES);
    double best = 1e30;
    if (!a || !b) {
        free(a);
        free(b);
        return 0;
    }
    memset(a, 1, MEMCPY_BYTES);
    memset(b, 2, MEMCPY_BYTES);
    for (int i = 0; i < 5; i++) {
        double t = zk_llm_now();
        memcpy(i & 1 ? a : b, i & 1 ? b : a, MEMCPY_BYTES);
        t = zk_llm_now() - t;
        best = t < best ? t : best;
    }
    /* keep the copies observable */
    if (a[MEMCPY_BYTES - 1] != b[MEMCPY_BYTES - 1]) {
        fprintf(stderr, "bench_llm: memcpy check failed\n");
    }
    free(a);
    free(b);
    return MEMCPY_BYTES / best;
}

/* ---------------------------------------------------------------- CPU ref */
/* Decode tokens/s of the reference: @nseq independent sequences served
 * round robin (the reference has no batching: batch n = n sequential
 * forwards), greedy, starting at position 0; stops after @max_tokens
 * forwards or @max_s seconds (at least one forward per sequence). */
static double ref_tok_s(const zk_llm_model *m, int nseq, int max_tokens, double max_s,
                        int *done)
{
    zk_llm_ref *r = calloc((size_t)nseq, sizeof(*r));
    int32_t *tok = calloc((size_t)nseq, sizeof(int32_t));
    int n = 0;
    double t0, t;
    for (int i = 0; i < nseq; i++) {
        if (zk_llm_ref_init(&r[i], m)) {
            fprintf(stderr, "bench_llm: out of memory (reference)\n");
            exit(1);
        }
        tok[i] = 3 + 17 * i;
    }
    t0 = zk_llm_now();
    for (int pos = 0; pos < m->c.seq_len; pos++) {
        for (int i = 0; i < nseq; i++) {
            float *lg = zk_llm_ref_forward(&r[i], tok[i], pos);
            tok[i] = zk_llm_argmax(lg, m->c.vocab_size);
            n++;
        }
        t = zk_llm_now() - t0;
        if (n >= max_tokens || t >= max_s) {
            break;
        }
    }
    t = zk_llm_now() - t0;
    for (int i = 0; i < nseq; i++) {
        zk_llm_ref_free(&r[i]);
    }
    free(r);
    free(tok);
    *done = n;
    return n / t;
}

/* ---------------------------------------------------------------- model */
static void load_model(zk_llm_model *m, int int8)
{
    const char *tmp = getenv("TMPDIR");
    char path[512], err[512];
    int fd;
    double t = zk_llm_now();
    snprintf(path, sizeof(path), "%s/bench_llm.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    fd = mkstemp(path);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    close(fd);
    if (zk_llm_gen_model(path, &bench_cfg, SEED, 0)) {
        perror(path);
        unlink(path);
        exit(1);
    }
    if (zk_llm_model_load(m, path, int8, err, sizeof(err))) {
        fprintf(stderr, "bench_llm: %s\n", err);
        unlink(path);
        exit(1);
    }
    unlink(path);
    fprintf(stderr, "# bench_llm: model dim %d hidden %d layers %d heads %d/%d vocab %d "
            "seq %d, %s, %.1f MB weights read per token (generated in %.1f s)\n",
            m->c.dim, m->c.hidden_dim, m->c.n_layers, m->c.n_heads, m->c.n_kv_heads,
            m->c.vocab_size, m->c.seq_len, int8 ? "int8" : "fp32",
            zk_llm_model_weight_bytes(m) / 1e6, zk_llm_now() - t);
}

#ifdef ZK_BENCH_HOST
/* ================================================================ host */
int main(int argc, char **argv)
{
    const char *out = NULL;
    int int8 = 0, ntok = 24, done;
    double ref_s = 10;
    zk_llm_model m;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--int8")) {
            int8 = 1;
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            ntok = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--ref-seconds") && i + 1 < argc) {
            ref_s = atof(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_llm_host [-o FILE.json] [--int8] [-n TOKENS] "
                    "[--ref-seconds S]\n");
            return 2;
        }
    }
    load_model(&m, int8);
    size_t wb = zk_llm_model_weight_bytes(&m);
    double bw = memcpy_bw();
    double ref = ref_tok_s(&m, 1, ntok, ref_s, &done);
    double roof = bw / wb;
    char extra[256];
    fprintf(stderr, "# bench_llm_host: CPU reference %.2f tok/s (%d tokens), memcpy %.2f GB/s "
            "-> roofline %.1f tok/s\n", ref, done, bw / 1e9, roof);
    if (out && !(json_out = fopen(out, "w"))) {
        perror(out);
        return 1;
    }
    snprintf(extra, sizeof(extra), "\"weight_bytes\": %zu, \"tokens\": %d, \"where\": \"host\"",
             wb, done);
    record(int8 ? "CPU ref int8 decode tok/s (native)" : "CPU ref decode tok/s (native)", ref,
           "tok/s", roof, "host memcpy roofline", NULL, extra);
    snprintf(extra, sizeof(extra), "\"bytes_per_s\": %.6g, \"where\": \"host\"", bw);
    record("host memcpy (64 MiB)", bw / 1e9, "GB/s", 0, NULL, NULL, extra);
    if (json_out) {
        fprintf(json_out, "]\n");
        fclose(json_out);
    }
    zk_llm_model_free(&m);
    return 0;
}

#else
/* ================================================================ VM */
#define CK(x) do { zk_status s_ = (x); if (s_ != ZK_SUCCESS) { \
    fprintf(stderr, "bench_llm:%d: %s: %s (%s)\n", __LINE__, #x, zk_error_string(s_), \
            zk_last_error_detail()); exit(1); } } while (0)

typedef struct card_run {
    double tok_s;           /* decode tokens / host seconds of the decode steps */
    double card_tok_s;      /* decode tokens / modelled card seconds (-1: n/a) */
    double j_per_tok;       /* hwmon energy delta / decode tokens (-1: n/a) */
    /* Modelled real card (card time / energy of events, docs/perf-model.md;
     * -1: n/a): TTFT of request 0 (its prefill + first token step), TPOT =
     * card time per decode step, modelled energy per decode token. */
    double card_ttft_ms, card_tpot_ms, card_j_per_tok;
    double launches_per_step, ms_per_step;
    double dev_ms_per_step;     /* device-clock time per step (queue busy) */
    uint64_t tokens, steps;
} card_run;

/* @nseq requests of a 4-token prompt and @ntok new tokens each; the first
 * step (prefill + first token) is not timed, every later step is one decode
 * token per sequence. */
static card_run card_decode(const zk_llm_model *m, const char *kdir, int nseq, int ntok)
{
    zk_llm_engine_config ec = { .max_seqs = 8, .kernel_dir = kdir };
    zk_llm_engine *e;
    zk_llm_request *req = calloc((size_t)nseq, sizeof(*req));
    int32_t (*prompt)[4] = calloc((size_t)nseq, sizeof(*prompt));
    zk_llm_engine_stats s0, s1;
    uint32_t pending = 1;
    double t0, t1, e0, e1;
    card_run cr = { 0 };

    CK(zk_llm_engine_create(&e, m, &ec));
    for (int i = 0; i < nseq; i++) {
        for (int k = 0; k < 4; k++) {
            prompt[i][k] = k ? 3 + 17 * i + 5 * k : ZK_LLM_BOS;
        }
        req[i].prompt = prompt[i];
        req[i].n_prompt = 4;
        req[i].max_new = (uint32_t)ntok + 1;
        CK(zk_llm_engine_submit(e, &req[i]));
    }
    CK(zk_llm_engine_step(e, &pending));        /* prefill: untimed */
    zk_llm_engine_get_stats(e, &s0);
    e0 = zk_llm_card_energy_uj();
    t0 = zk_llm_now();
    while (pending) {
        CK(zk_llm_engine_step(e, &pending));
    }
    t1 = zk_llm_now();
    e1 = zk_llm_card_energy_uj();
    zk_llm_engine_get_stats(e, &s1);
    cr.tokens = s1.decode_tokens - s0.decode_tokens;
    cr.steps = s1.steps - s0.steps;
    cr.tok_s = cr.tokens / (t1 - t0);
    cr.card_tok_s = s1.card_ms >= 0 && s1.card_ms > s0.card_ms ?
                    cr.tokens / ((s1.card_ms - s0.card_ms) / 1e3) : -1;
    cr.j_per_tok = e0 >= 0 && e1 >= e0 && cr.tokens ? (e1 - e0) / 1e6 / cr.tokens : -1;
    {
        zk_llm_card_metrics cm;
        zk_llm_request_card_metrics(&req[0], 0, &cm);
        cr.card_ttft_ms = cm.ttft_ms;
        cr.card_tpot_ms = s1.card_ms >= 0 && cr.steps ? (s1.card_ms - s0.card_ms) / cr.steps : -1;
        cr.card_j_per_tok = s1.card_j >= 0 && cr.tokens ? (s1.card_j - s0.card_j) / cr.tokens : -1;
    }
    cr.launches_per_step = cr.steps ? (double)(s1.launches - s0.launches) / cr.steps : 0;
    cr.ms_per_step = cr.steps ? (t1 - t0) * 1e3 / cr.steps : 0;
    cr.dev_ms_per_step = cr.steps ? (s1.device_ms - s0.device_ms) / cr.steps : 0;
    for (int i = 0; i < nseq; i++) {
        if (req[i].error || req[i].n_generated != (uint32_t)ntok + 1) {
            fprintf(stderr, "bench_llm: request %d: %u tokens generated, error %d\n", i,
                    req[i].n_generated, req[i].error);
            exit(1);
        }
        free(req[i].tokens);
    }
    zk_llm_engine_destroy(e);
    free(req);
    free(prompt);
    return cr;
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    int int8 = 0, ntok = 16, done1, done8;
    double ref_s = 20, price = 0.10;
    zk_llm_model m;
    zk_device dev;
    zk_context ctx;
    int ndev = 0;
    char extra[512];

    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--int8")) {
            int8 = 1;
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            ntok = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--ref-seconds") && i + 1 < argc) {
            ref_s = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--price-kwh") && i + 1 < argc) {
            price = atof(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_llm [-o FILE.json] [--int8] [-n TOKENS] "
                    "[--ref-seconds S] [--price-kwh P]\n");
            return 2;
        }
    }
    if (zk_init(0) != ZK_SUCCESS || zk_device_count(&ndev) != ZK_SUCCESS || ndev < 1) {
        fprintf(stderr, "bench_llm: no zhikai device, skipped\n");
        return 0;
    }
    CK(zk_device_get(&dev, 0));
    CK(zk_ctx_create(&ctx, 0, dev));
    if (out && !(json_out = fopen(out, "w"))) {
        perror(out);
        return 1;
    }
    load_model(&m, int8);
    size_t wb = zk_llm_model_weight_bytes(&m);
    const char *kd = NULL;     /* the kernel search path */

    double bw = memcpy_bw();
    card_run c1 = card_decode(&m, kd, 1, ntok);
    card_run c8 = card_decode(&m, kd, 8, ntok);
    double ref1 = ref_tok_s(&m, 1, 8, ref_s, &done1);
    double ref8 = ref_tok_s(&m, 8, 8, ref_s, &done8);
    double roof = bw / wb;

    fprintf(stderr, "# bench_llm: card b1 %.2f tok/s (%.1f ms/step, %.1f ms on the device "
            "clock, %.0f launches/step), b8 %.2f tok/s (%.1f ms/step, %.1f ms device); CPU ref "
            "in VM b1 %.3f tok/s (%d tokens), b8 %.3f tok/s (%d tokens); guest memcpy %.2f GB/s "
            "-> roofline %.1f tok/s\n",
            c1.tok_s, c1.ms_per_step, c1.dev_ms_per_step, c1.launches_per_step, c8.tok_s,
            c8.ms_per_step, c8.dev_ms_per_step, ref1,
            done1, ref8, done8, bw / 1e9, roof);

    const char *q = int8 ? " int8" : "";
    char metric[96];
    snprintf(extra, sizeof(extra), "\"weight_bytes\": %zu, \"tokens\": %llu, \"steps\": %llu, "
             "\"launches_per_step\": %.1f, \"ms_per_step\": %.3f, \"device_ms_per_step\": %.3f, "
             "\"ref_tokens\": %d",
             wb, (unsigned long long)c1.tokens, (unsigned long long)c1.steps,
             c1.launches_per_step, c1.ms_per_step, c1.dev_ms_per_step, done1);
    snprintf(metric, sizeof(metric), "decode tok/s b1%s (card)", q);
    record(metric, c1.tok_s, "tok/s", ref1, "CPU ref in VM", NULL, extra);
    snprintf(extra, sizeof(extra), "\"weight_bytes\": %zu, \"tokens\": %llu, \"steps\": %llu, "
             "\"launches_per_step\": %.1f, \"ms_per_step\": %.3f, \"device_ms_per_step\": %.3f, "
             "\"ref_tokens\": %d",
             wb, (unsigned long long)c8.tokens, (unsigned long long)c8.steps,
             c8.launches_per_step, c8.ms_per_step, c8.dev_ms_per_step, done8);
    snprintf(metric, sizeof(metric), "decode tok/s b8%s (card)", q);
    record(metric, c8.tok_s, "tok/s", ref8, "CPU ref in VM", NULL, extra);
    snprintf(extra, sizeof(extra), "\"bytes_per_s\": %.6g, \"weight_bytes\": %zu", bw, wb);
    snprintf(metric, sizeof(metric), "decode tok/s b1%s vs VM roofline", q);
    record(metric, c1.tok_s, "tok/s", roof, "guest memcpy roofline", ">= 0.5 (host memcpy)",
           extra);
    record("guest memcpy (64 MiB)", bw / 1e9, "GB/s", 0, NULL, NULL, extra);
    if (c1.card_tok_s > 0) {
        snprintf(metric, sizeof(metric), "modelled card tok/s b1%s", q);
        record(metric, c1.card_tok_s, "tok/s", c1.tok_s, "emulated card b1", NULL, NULL);
        snprintf(metric, sizeof(metric), "modelled card tok/s b8%s", q);
        record(metric, c8.card_tok_s, "tok/s", c8.tok_s, "emulated card b8", NULL, NULL);
    }
    for (int b = 0; b < 2; b++) {
        const card_run *c = b ? &c8 : &c1;
        const char *bs = b ? "b8" : "b1";
        if (c->card_ttft_ms >= 0) {
            snprintf(metric, sizeof(metric), "modelled TTFT %s%s", bs, q);
            record(metric, c->card_ttft_ms, "ms", 0, NULL, NULL,
                   "\"note\": \"4-token prompt: prefill + first token, card time\"");
        }
        if (c->card_tpot_ms > 0) {
            snprintf(metric, sizeof(metric), "modelled TPOT %s%s", bs, q);
            record(metric, c->card_tpot_ms, "ms", 0, NULL, NULL, NULL);
        }
        if (c->card_j_per_tok >= 0) {
            snprintf(extra, sizeof(extra), "\"price_kwh\": %g, \"cost_per_mtok\": %.6g", price,
                     zk_llm_cost_per_mtok(c->card_j_per_tok, price));
            snprintf(metric, sizeof(metric), "modelled energy/token %s%s", bs, q);
            record(metric, c->card_j_per_tok, "J/tok", b ? c1.card_j_per_tok : 0, "b1", NULL,
                   extra);
            snprintf(metric, sizeof(metric), "modelled cost per 1M tokens %s%s", bs, q);
            record(metric, zk_llm_cost_per_mtok(c->card_j_per_tok, price), "per Mtok", 0, NULL,
                   NULL, extra);
        }
    }
    fprintf(stderr, "# bench_llm: modelled card: b1 TTFT %.3f ms, TPOT %.4f ms, %.0f tok/s, "
            "%.5f J/token; b8 TTFT %.3f ms, TPOT %.4f ms, %.0f tok/s, %.5f J/token "
            "(energy at %g per kWh: %.4f / %.4f per 1M tokens)\n", c1.card_ttft_ms,
            c1.card_tpot_ms, c1.card_tok_s, c1.card_j_per_tok, c8.card_ttft_ms, c8.card_tpot_ms,
            c8.card_tok_s, c8.card_j_per_tok, price,
            zk_llm_cost_per_mtok(c1.card_j_per_tok, price),
            zk_llm_cost_per_mtok(c8.card_j_per_tok, price));
    if (c1.j_per_tok >= 0) {
        snprintf(metric, sizeof(metric), "energy/token b1%s (hwmon)", q);
        record(metric, c1.j_per_tok, "J/tok", 0, NULL, NULL, NULL);
        snprintf(metric, sizeof(metric), "energy/token b8%s (hwmon)", q);
        record(metric, c8.j_per_tok, "J/tok", c1.j_per_tok, "b1", NULL, NULL);
    }
    if (json_out) {
        fprintf(json_out, "]\n");
        fclose(json_out);
    }
    zk_llm_model_free(&m);
    CK(zk_ctx_destroy(ctx));
    return 0;
}
#endif
