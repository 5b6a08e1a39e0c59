/* SPDX-License-Identifier: MIT */
/*
 * test_llm_perf - in-VM test: LLM decode on the modelled real card
 * (docs/perf-model.md, issue 10) (TAP).
 *
 * A random fp32 model big enough for its weights to dominate every other
 * byte a decode step moves (dim 1024, hidden 2048, 2 layers, vocab 512: 82 MB
 * of weights per token) decodes on the serving engine at batch 1 and 8; the
 * model's counters come from the driver's sysfs perf/ group
 * (ZK_REG_CARD_*), the engine's card time/energy from events.
 *   - batch 1 is memory-bound: card MEMORY_NS delta > COMPUTE_NS delta, and
 *     the HBM bytes per token are the weight bytes (within 5%);
 *   - modelled tokens/s within 10% of HBM bandwidth / weight bytes per
 *     token.  The launch overheads (launch_ns per LAUNCH at the clock the
 *     governor picked, dma_setup_ns per DMA) are not part of that roofline:
 *     with launch-ns=0,dma-setup-ns=0 (the separate boot in `make test-vm`)
 *     the check is literal; with the default 2 us per launch (~26 launches
 *     per step, about as long as reading 82 MB at 1.6 TB/s) it is made
 *     against  1 / (weight_bytes / hbm_bw + launches * launch_ns +
 *     dmas * dma_setup_ns)  with the counts of LAUNCH/DMA commands the card
 *     modelled - the overhead accounted for explicitly, the roofline part
 *     printed too;
 *   - batch 8 gives > 4x the modelled tokens/s of batch 1 (the weights are
 *     read once per step for all 8 sequences);
 *   - lowering the power cap (hwmon power1_cap) to 120 W lowers modelled
 *     tokens/s (the governor lowers the clock, which stretches the launch
 *     overheads: at 300 W a launch-dominated command draws ~220 W) and lowers
 *     J/token (documented direction: energy per unit of work falls with the
 *     clock - core energy ~ f^1.5 - until idle power dominates, below ~0.46
 *     f_max for a launch overhead, which a 120 W cap does not reach).  Needs
 *     launch overhead (skipped with launch-ns=0: a purely memory-bound step
 *     does not slow down, as documented).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zk_tap.h"
#include "llm.h"

static const zk_llm_config cfg = { 1024, 2048, 2, 8, 8, 512, 64 };
#define NTOK 6
#define CAP_MW 120000

typedef struct run {
    double tokens, steps, card_ms, card_j, launches;
    zk_llm_card_perf d;         /* deltas of the card counters */
    double ttft_ms, tpot_ms;    /* request 0, modelled */
    double clock_mhz;           /* card clock of the last command */
} run;

static const char *kdir = "/zk/kernels";

static int decode(const zk_llm_model *m, int nseq, run *out)
{
    zk_llm_engine_config ec = { .max_seqs = 8, .kernel_dir = kdir };
    zk_llm_engine *e;
    zk_llm_request req[8];
    int32_t prompt[8][4];
    zk_llm_engine_stats s0, s1;
    zk_llm_card_perf p0, p1;
    uint32_t pending = 1;
    memset(req, 0, sizeof(req));
    memset(out, 0, sizeof(*out));
    if (zk_llm_engine_create(&e, m, &ec)) {
        return -1;
    }
    for (int i = 0; i < nseq; i++) {
        for (int k = 0; k < 4; k++) {
            prompt[i][k] = k ? 3 + 17 * i + 5 * k : ZK_LLM_BOS;
        }
        req[i].prompt = prompt[i];
        req[i].n_prompt = 4;
        req[i].max_new = NTOK + 1;
        if (zk_llm_engine_submit(e, &req[i])) {
            return -1;
        }
    }
    if (zk_llm_engine_step(e, &pending)) {      /* prefill + first token: untimed */
        return -1;
    }
    zk_llm_engine_get_stats(e, &s0);
    if (zk_llm_card_perf_read(&p0)) {
        return -1;
    }
    while (pending) {
        if (zk_llm_engine_step(e, &pending)) {
            return -1;
        }
    }
    if (zk_llm_card_perf_read(&p1)) {
        return -1;
    }
    zk_llm_engine_get_stats(e, &s1);
    out->tokens = (double)(s1.decode_tokens - s0.decode_tokens);
    out->steps = (double)(s1.steps - s0.steps);
    out->card_ms = s1.card_ms - s0.card_ms;
    out->card_j = s1.card_j - s0.card_j;
    out->launches = (double)(s1.launches - s0.launches);
    out->d = p1;
#define D(f) out->d.f = p1.f - p0.f
    D(card_time_ns);
    D(card_energy_uj);
    D(card_compute_ns);
    D(card_memory_ns);
    D(card_overhead_ns);
    D(card_launches);
    D(card_dmas);
    D(card_hbm_bytes);
    D(card_pcie_bytes);
    D(card_flops_f32);
#undef D
    out->clock_mhz = p1.card_clock_mhz;
    {
        zk_llm_card_metrics cm;
        zk_llm_request_card_metrics(&req[0], 0, &cm);
        out->ttft_ms = cm.ttft_ms;
        out->tpot_ms = cm.tpot_ms;
    }
    for (int i = 0; i < nseq; i++) {
        free(req[i].tokens);
    }
    zk_llm_engine_destroy(e);
    return out->tokens > 0 && out->card_ms > 0 ? 0 : -1;
}

static void show(const char *name, const run *r)
{
    printf("# %s: %.0f tokens in %.0f steps: card %.4f ms (%.1f us/step), %.0f tok/s, "
           "%.5f J/token; per step: compute %.2f us, memory %.2f us, overhead %.2f us, "
           "%.1f launches, %.1f DMAs, %.2f MB HBM; last clock %.0f MHz; request 0: TTFT "
           "%.4f ms, TPOT %.4f ms\n", name, r->tokens, r->steps, r->card_ms,
           r->card_ms * 1e3 / r->steps, r->tokens / (r->card_ms / 1e3), r->card_j / r->tokens,
           r->d.card_compute_ns / 1e3 / r->steps, r->d.card_memory_ns / 1e3 / r->steps,
           r->d.card_overhead_ns / 1e3 / r->steps, r->d.card_launches / r->steps,
           r->d.card_dmas / r->steps, r->d.card_hbm_bytes / 1e6 / r->steps, r->clock_mhz,
           r->ttft_ms, r->tpot_ms);
}

int main(void)
{
    zk_device dev;
    zk_context ctx;
    zk_device_properties props;
    zk_llm_card_perf p;
    zk_llm_model m;
    char path[] = "/tmp/test_llm_perf.XXXXXX", err[256];
    int n = 0, fd;
    run b1, b8, bc;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (zk_init(0) != ZK_SUCCESS || zk_device_count(&n) != ZK_SUCCESS || n < 1) {
        printf("1..0 # SKIP no zhikai device\n");
        return 0;
    }
    if (access("/zk/kernels/gemm.zko", R_OK) != 0) {
        kdir = "build/kernels";
    }
    MUST(zk_device_get(&dev, 0));
    MUST(zk_device_get_properties(dev, &props));
    if (!(props.caps & ZK_DEVICE_CAP_PERF_MODEL) || zk_llm_card_perf_read(&p)) {
        printf("1..0 # SKIP no card performance model / sysfs perf group\n");
        return 0;
    }
    MUST(zk_ctx_create(&ctx, 0, dev));
    if ((fd = mkstemp(path)) < 0) {
        perror(path);
        return 1;
    }
    close(fd);
    if (zk_llm_gen_model(path, &cfg, 0x5eed, 0) ||
        zk_llm_model_load(&m, path, 0, err, sizeof(err))) {
        unlink(path);
        tap_result(0, "generate/load the random model: %s", err);
        return tap_done();
    }
    unlink(path);
    double wb = (double)zk_llm_model_weight_bytes(&m), bw = p.hbm_bw_mbs * 1e6;
    printf("# model dim %d hidden %d layers %d vocab %d: %.2f MB weights per token; card: HBM "
           "%.0f GB/s, launch %.0f ns, DMA setup %.0f ns\n", cfg.dim, cfg.hidden_dim,
           cfg.n_layers, cfg.vocab_size, wb / 1e6, bw / 1e9, p.launch_ns, p.dma_setup_ns);

    if (decode(&m, 1, &b1)) {
        tap_result(0, "decode batch 1 on the card");
        return tap_done();
    }
    show("batch 1", &b1);
    /* COMPUTE_NS only counts compute-bound bodies; the fp32 roofline of all
     * the step's flops (FLOPS counter / peak) is printed alongside. */
    double flop_us = b1.d.card_flops_f32 / (p.fp32_gflops * 1e9) * 1e6 / b1.steps;
    tap_result(b1.d.card_memory_ns > b1.d.card_compute_ns &&
               b1.d.card_memory_ns / 1e3 / b1.steps > flop_us,
               "batch 1 decode is memory-bound: memory-bound %.1f us > compute-bound %.1f us per "
               "step (all flops at fp32 peak: %.2f us)", b1.d.card_memory_ns / 1e3 / b1.steps,
               b1.d.card_compute_ns / 1e3 / b1.steps, flop_us);
    double hbm_tok = b1.d.card_hbm_bytes / b1.tokens;
    tap_result(fabs(hbm_tok - wb) <= 0.05 * wb,
               "HBM bytes per token %.2f MB = weight bytes %.2f MB (within 5%%)", hbm_tok / 1e6,
               wb / 1e6);
    double tok_s = b1.tokens / (b1.card_ms / 1e3), roof = bw / wb;
    if (p.launch_ns == 0 && p.dma_setup_ns == 0) {
        tap_result(fabs(tok_s / roof - 1) <= 0.10,
                   "modelled %.0f tok/s within 10%% of HBM bw / weight bytes = %.0f tok/s "
                   "(ratio %.3f; no launch/DMA overhead on this card)", tok_s, roof, tok_s / roof);
    } else {
        double step_s = wb / bw + (b1.d.card_launches * p.launch_ns +
                                   b1.d.card_dmas * p.dma_setup_ns) / b1.steps * 1e-9;
        double pred = 1 / step_s;
        tap_result(fabs(tok_s / pred - 1) <= 0.10,
                   "modelled %.0f tok/s within 10%% of 1/(weight bytes/HBM bw + %.1f launches x "
                   "%.0f ns + %.1f DMAs x %.0f ns) = %.0f tok/s (ratio %.3f; pure roofline "
                   "%.0f tok/s, ratio %.3f)", tok_s, b1.d.card_launches / b1.steps, p.launch_ns,
                   b1.d.card_dmas / b1.steps, p.dma_setup_ns, pred, tok_s / pred, roof,
                   tok_s / roof);
    }
    tap_result(b1.card_j > 0 && b1.ttft_ms > 0 && b1.tpot_ms > 0,
               "per-request modelled metrics: TTFT %.4f ms, TPOT %.4f ms, %.5f J/token",
               b1.ttft_ms, b1.tpot_ms, b1.card_j / b1.tokens);

    if (decode(&m, 8, &b8)) {
        tap_result(0, "decode batch 8 on the card");
        return tap_done();
    }
    show("batch 8", &b8);
    double tok_s8 = b8.tokens / (b8.card_ms / 1e3);
    tap_result(tok_s8 > 4 * tok_s, "batch 8: modelled %.0f tok/s > 4 x batch 1 (%.0f tok/s; "
               "%.2fx), %.5f J/token (b1 %.5f)", tok_s8, tok_s, tok_s8 / tok_s,
               b8.card_j / b8.tokens, b1.card_j / b1.tokens);

    unsigned old_cap = 0;
    if (p.launch_ns == 0) {
        printf("ok %d - # SKIP power cap: a purely memory-bound step (launch-ns=0) does not "
               "slow down with the clock\n", ++tap_n);
    } else if (zk_llm_card_power_cap(CAP_MW, &old_cap)) {
        tap_result(0, "set the power cap to %u mW (hwmon power1_cap)", CAP_MW);
    } else {
        int r = decode(&m, 1, &bc);
        zk_llm_card_power_cap(old_cap, NULL);
        if (r) {
            tap_result(0, "decode batch 1 under a %u mW cap", CAP_MW);
        } else {
            show("batch 1, 120 W cap", &bc);
            double tok_sc = bc.tokens / (bc.card_ms / 1e3);
            double jt = b1.card_j / b1.tokens, jtc = bc.card_j / bc.tokens;
            tap_result(tok_sc < tok_s * 0.98, "power cap %u W -> %u W: modelled tok/s %.0f -> "
                       "%.0f (lower)", old_cap / 1000, CAP_MW / 1000, tok_s, tok_sc);
            tap_result(jtc < jt, "power cap %u W -> %u W: J/token %.5f -> %.5f (lower: core "
                       "energy ~ f^1.5)", old_cap / 1000, CAP_MW / 1000, jt, jtc);
        }
    }
    zk_llm_model_free(&m);
    MUST(zk_ctx_destroy(ctx));
    return tap_done();
}
