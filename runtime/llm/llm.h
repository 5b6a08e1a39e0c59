/* SPDX-License-Identifier: MIT */
/*
 * llm.h - a small LLM stack on the zhikai card: llama2.c checkpoint and
 * tokenizer loader, a deterministic random-model generator, a CPU reference
 * forward pass and a serving engine (continuous batching over the paged KV
 * cache of zk_kvcache.h, every step one command buffer on the card).
 *
 * Checkpoint format (llama2.c, "legacy" version 0): 7 int32 config values
 * {dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len}, a
 * negative vocab_size meaning a separate classifier follows; then fp32
 * weights: token_embedding[vocab][dim], rms_att[L][dim], wq[L][dim][dim],
 * wk[L][kv_dim][dim], wv[L][kv_dim][dim], wo[L][dim][dim], rms_ffn[L][dim],
 * w1[L][hidden][dim], w2[L][dim][hidden], w3[L][hidden][dim], rms_final[dim],
 * freq_cis_real[seq_len][head_size/2], freq_cis_imag[...] (unused), and
 * wcls[vocab][dim] if separate.  Matrices are [out][in].
 *
 * Tokenizer (llama2.c tokenizer.bin): int32 max_token_length, then per token
 * float score, int32 len, len bytes.  Ids 0 <unk>, 1 <s> (BOS), 2 </s>
 * (EOS), 3..258 the byte fallbacks <0x00>..<0xFF>.
 */
#ifndef ZK_LLM_H
#define ZK_LLM_H

#include <stddef.h>
#include <stdint.h>

#include <zhikai/zhikai.h>
#include <zhikai/zk_kvcache.h>

#define ZK_LLM_BOS 1
#define ZK_LLM_EOS 2
#define ZK_LLM_RMS_EPS 1e-5f

typedef struct zk_llm_config {
    int32_t dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
} zk_llm_config;

/* One int8 matrix [rows][cols] with a scale per row (output channel). */
typedef struct zk_llm_qmat {
    int8_t *q;
    float *s;
} zk_llm_qmat;

/* The matrices of a layer as the GGUF loader indexes them. */
enum zk_llm_mat { ZK_MAT_WQ, ZK_MAT_WK, ZK_MAT_WV, ZK_MAT_WO, ZK_MAT_W1, ZK_MAT_W2, ZK_MAT_W3,
                  ZK_MAT_COUNT };

struct zk_gguf;
struct zk_gguf_tensor;

typedef struct zk_llm_model {
    zk_llm_config c;            /* vocab_size positive */
    int shared_classifier;
    int int8;                   /* matmul weights also quantized */
    /* Hyper-parameters llama2.c files leave implicit (1e-5, 10000, 1). */
    float rms_eps, rope_theta;
    float rope_scale;           /* linear RoPE scaling: positions times this */
    /* GGUF models: the open file, the ggml type of the matmul weights
     * (ZK_GGML_*; F32 for llama2.c files), and the tensors as stored, so
     * the card can take quantized blocks directly: qt[l * ZK_MAT_COUNT +
     * mat], then the classifier (token_embd when tied) at L * COUNT. */
    struct zk_gguf *gguf;
    uint32_t wtype;
    const struct zk_gguf_tensor **qt;
    float *data;                /* every float of the file after the header */
    size_t n_floats;
    /* Pointers into data. */
    float *tok_emb, *rms_att, *wq, *wk, *wv, *wo, *rms_ffn, *w1, *w2, *w3,
          *rms_final, *wcls;
    /* int8 copies (int8 only): per layer, and the classifier. */
    zk_llm_qmat *qwq, *qwk, *qwv, *qwo, *qw1, *qw2, *qw3, qwcls;
} zk_llm_model;

/** Load a checkpoint: a llama2.c file or a GGUF file (by its magic; see
 *  zk_llm_model_load_gguf); @int8: also quantize the matmul weights (per
 *  output channel).  Returns 0, or -1 with a message in @err. */
int zk_llm_model_load(zk_llm_model *m, const char *path, int int8, char *err, size_t errlen);
/** A llama-architecture GGUF file (Llama 2/3, TinyLlama, Mistral-style
 *  GQA): hyper-parameters from the metadata, every tensor checked for
 *  name, shape and a supported type (F32, F16, BF16, Q8_0, Q4_0, Q4_K,
 *  Q6_K), dequantized to fp32 for the CPU side (data/n_floats as for
 *  llama2.c) while the file stays mapped for the card. */
int zk_llm_model_load_gguf(zk_llm_model *m, const char *path, int int8, char *err, size_t errlen);
/** Write @m as a llama GGUF file (version 3): norms F32, every matrix
 *  (embedding and classifier too) in ggml type @wtype (F32, F16, BF16,
 *  Q8_0, Q4_0), plus the tokenizer @tok if not NULL.  0 or -1 + @err. */
struct zk_tokenizer;
int zk_llm_model_save_gguf(const zk_llm_model *m, const char *path, uint32_t wtype,
                           const struct zk_tokenizer *tok, char *err, size_t errlen);
/** The same with the classifier (output.weight, if separate) in @cls_type. */
int zk_llm_model_save_gguf_ex(const zk_llm_model *m, const char *path, uint32_t wtype,
                              uint32_t cls_type, const struct zk_tokenizer *tok, char *err,
                              size_t errlen);
void zk_llm_model_free(zk_llm_model *m);
/* Loader internals: point tok_emb..rms_final into m->data in the llama2.c
 * order (returns the float after rms_final); make the int8 copies. */
float *zk_llm_model_layout(zk_llm_model *m);
int zk_llm_model_quantize_int8(zk_llm_model *m, char *err, size_t errlen);
static inline int zk_llm_kv_dim(const zk_llm_config *c)
{
    return c->dim / c->n_heads * c->n_kv_heads;
}
static inline int zk_llm_head_dim(const zk_llm_config *c)
{
    return c->dim / c->n_heads;
}
/** Bytes of weights one decode step reads (for roofline reports). */
size_t zk_llm_model_weight_bytes(const zk_llm_model *m);

/* ------------------------------------------------------------------ */
/* Generator                                                           */
/* ------------------------------------------------------------------ */
/** Write a deterministic random llama2.c checkpoint (separate classifier
 *  if !shared).  Returns 0 or -1 (errno set). */
int zk_llm_gen_model(const char *path, const zk_llm_config *c, uint64_t seed, int shared);
/** Write a deterministic tokenizer.bin of @vocab_size (>= 259) tokens: the
 *  specials, the 256 byte tokens and BPE merges learnt from a small
 *  built-in English text. */
int zk_llm_gen_tokenizer(const char *path, int vocab_size);

/* ------------------------------------------------------------------ */
/* Tokenizer                                                           */
/* ------------------------------------------------------------------ */
typedef struct zk_llm_tokenizer {
    char **vocab;
    float *scores;
    int vocab_size;
    unsigned max_token_length;
    struct zk_tok_index *sorted;
    unsigned char byte_pieces[512];
} zk_llm_tokenizer;

int zk_tok_load(zk_llm_tokenizer *t, const char *path, int vocab_size, char *err, size_t errlen);
void zk_tok_free(zk_llm_tokenizer *t);
/** BPE-encode @text (llama2.c: dummy space prefix, byte fallback) into
 *  @tokens (room for strlen(text)+3); returns the count or -1. */
int zk_tok_encode(const zk_llm_tokenizer *t, const char *text, int bos, int eos,
                  int32_t *tokens);
/** Text of @token following @prev (strips the space after BOS, decodes
 *  <0xXX>). */
const char *zk_tok_decode(const zk_llm_tokenizer *t, int32_t prev, int32_t token);

/* ------------------------------------------------------------------ */
/* CPU reference forward pass (llama2.c run.c, one function per step)  */
/* ------------------------------------------------------------------ */
typedef struct zk_llm_ref {
    const zk_llm_model *m;
    float *x, *xb, *xb2, *hb, *hb2, *q, *k, *v, *att, *logits;
    float *key_cache, *value_cache;     /* [L][seq_len][kv_dim] */
    int8_t *qbuf;                       /* int8 activations */
} zk_llm_ref;

int zk_llm_ref_init(zk_llm_ref *r, const zk_llm_model *m);
void zk_llm_ref_free(zk_llm_ref *r);
/** Logits (vocab floats, owned by @r) for @token at @pos, after positions
 *  0..pos-1 were fed in order. */
float *zk_llm_ref_forward(zk_llm_ref *r, int32_t token, int pos);

void zk_ref_rmsnorm(float *o, const float *x, const float *w, int n);   /* eps 1e-5 */
void zk_ref_rmsnorm_eps(float *o, const float *x, const float *w, int n, float eps);
void zk_ref_matmul(float *o, const float *x, const float *w, int n_in, int n_out);
void zk_ref_matmul_q8(float *o, const float *x, const zk_llm_qmat *w, int n_in, int n_out,
                      int8_t *scratch);
void zk_ref_rope(float *x, int n, int head_dim, int pos);   /* theta 10000 */
/** RoPE with base @theta, the position multiplied by @scale (linear scaling). */
void zk_ref_rope_ex(float *x, int n, int head_dim, int pos, float theta, float scale);
void zk_ref_softmax(float *x, int n);
void zk_ref_attention(float *out, const float *q, const float *kc, const float *vc,
                      float *att, int pos, int n_heads, int n_kv_heads, int head_dim,
                      int kv_stride);
void zk_ref_swiglu(float *a, const float *b, int n);

/* ------------------------------------------------------------------ */
/* Sampling                                                            */
/* ------------------------------------------------------------------ */
int32_t zk_llm_argmax(const float *x, int n);
/** temperature 0 = greedy; else softmax(x / T) sampled with *rng. */
int32_t zk_llm_sample(float *x, int n, float temperature, uint64_t *rng);

/* ------------------------------------------------------------------ */
/* Serving engine                                                      */
/* ------------------------------------------------------------------ */
typedef struct zk_llm_request {
    /* Inputs. */
    const int32_t *prompt;
    uint32_t n_prompt;          /* >= 1 */
    uint32_t max_new;           /* tokens to generate (clamped to seq_len) */
    float temperature;          /* 0 = greedy */
    uint64_t seed;              /* sampling seed */
    int stop_at_eos;            /* stop at ZK_LLM_EOS, or at stop_ids if n_stop */
    int32_t stop_ids[4];        /* end-of-generation ids of the model (tokenizer) */
    uint32_t n_stop;
    int keep_logits;            /* save the logits of every generated token */
    /* Full sampling (sampler.h: penalties over prompt + output, top-k/p,
     * min-p, seed); NULL = greedy or temperature/seed above.  Copied at
     * submit. */
    const struct zk_sampler_params *sampling;
    /* Outputs (valid once done; tokens grow while running). */
    int32_t *tokens;            /* prompt followed by generated tokens */
    uint32_t n_tokens, n_generated;
    float *logits;              /* n_generated x vocab if keep_logits */
    int done;
    int error;                  /* request could not be served (too long) */
    double t_submit, t_first, t_done;   /* seconds (CLOCK_MONOTONIC) */
    uint32_t preemptions, cached_prompt_tokens;
    /* Modelled real card (docs/perf-model.md; -1 if the card has no card
     * time): the engine's card clock (stats.card_ms) when the request was
     * submitted, produced its first token and finished - card time does not
     * advance while the card idles, so first - submit is the modelled TTFT
     * of a perfectly fed card - and its share of the modelled card energy
     * (each step's energy split over the step's token rows, prefill rows
     * included; -1 if the card has no energy model). */
    double card_submit_ms, card_first_ms, card_done_ms, card_j;
    /* Engine-private. */
    int state;
    int32_t seq;
    uint32_t n_computed;
    uint64_t rng, order;
    struct zk_sampler *sampler;
    struct zk_llm_request *next;
} zk_llm_request;

typedef struct zk_llm_engine_config {
    uint32_t max_seqs;          /* running batch limit (default 8) */
    uint32_t max_step_tokens;   /* token rows per step (default 256) */
    uint32_t kv_blocks;         /* 0 = enough for max_seqs full sequences */
    uint32_t block_size;        /* 0 = 16 */
    uint32_t host_blocks;       /* swap space (0 = preempt by recompute) */
    int prefix_caching;
    const char *kernel_dir;     /* directory of the .zko files; NULL: the kernel
                                 * search path (zk_kernel_find) */
} zk_llm_engine_config;

typedef struct zk_llm_engine_stats {
    uint64_t steps, prefill_tokens, decode_tokens, launches, copies;
    uint64_t readback_bytes;    /* logits/argmax copied card -> host */
    uint64_t preempt_swap, preempt_recompute;
    uint32_t max_blocks_used;
    double host_seconds;        /* wall time inside zk_llm_engine_step */
    double card_ms;             /* modelled card time (-1 if unavailable) */
    double card_j;              /* modelled card energy, J (-1 if unavailable) */
    double device_ms;           /* device-clock time of the steps */
    /* Where the host time of the steps goes (seconds): building and
     * submitting the command buffer, waiting for the card (its work plus
     * the submit/interrupt round trip).  The rest of host_seconds is
     * scheduling and sampling; none of it overlaps the card yet. */
    double build_seconds, wait_seconds;
    /* Steps queued while the previous one ran (their token ids read from
     * the card's argmax), so the card did not wait for the guest. */
    uint64_t overlapped_steps;
} zk_llm_engine_stats;

typedef struct zk_llm_engine zk_llm_engine;

/** Create an engine for @m in the current context (uploads the weights,
 *  allocates the KV pools, loads the kernels). */
zk_status zk_llm_engine_create(zk_llm_engine **e, const zk_llm_model *m,
                               const zk_llm_engine_config *cfg);
void zk_llm_engine_destroy(zk_llm_engine *e);
/** Queue @r (FCFS); it joins the running batch between steps. */
zk_status zk_llm_engine_submit(zk_llm_engine *e, zk_llm_request *r);
/**
 * One step: schedule (admit, preempt, swap in), then one command buffer on
 * the card with the prefill chunks and decode tokens of every running
 * request, wait, sample, retire finished requests.  Greedy requests read
 * back only the card's argmax (4 bytes); the logits row of a sequence is
 * copied only if it samples or keeps its logits.  *pending receives the
 * number of unfinished requests.  Greedy decode (same batch again, no
 * prefix caching, ZK_LLM_NO_OVERLAP unset) queues the next step before
 * reading this one's tokens: it may still be in flight when this returns
 * (zk_llm_engine_cancel/destroy handle that).
 */
zk_status zk_llm_engine_step(zk_llm_engine *e, uint32_t *pending);
/** Withdraw @r (submitted, not yet retired by a step): it stops where it
 *  is, its KV blocks (on the card or swapped out) are freed and it is
 *  marked done.  For servers whose client went away. */
zk_status zk_llm_engine_cancel(zk_llm_engine *e, zk_llm_request *r);
/** Requests in the running batch, and queued or swapped out. */
void zk_llm_engine_queue_counts(const zk_llm_engine *e, uint32_t *running, uint32_t *waiting);
/** Step until every submitted request is done. */
zk_status zk_llm_engine_run(zk_llm_engine *e);
void zk_llm_engine_get_stats(const zk_llm_engine *e, zk_llm_engine_stats *st);
zk_kv_manager *zk_llm_engine_kv(const zk_llm_engine *e);

double zk_llm_now(void);

/* ------------------------------------------------------------------ */
/* Modelled real-card metrics (card time / card energy)                */
/* ------------------------------------------------------------------ */
typedef struct zk_llm_card_metrics {
    double ttft_ms;             /* modelled time to first token */
    double tpot_ms;             /* modelled time per output token after the first */
    double tok_s;               /* 1000 / tpot_ms (decode rate of the request) */
    double j_per_tok;           /* modelled energy / generated token */
    double cost_per_mtok;       /* j_per_tok * 1e6 / 3.6e6 J/kWh * price_kwh */
} zk_llm_card_metrics;

/** Modelled metrics of a finished request (fields -1 when unavailable);
 *  @price_kwh: electricity price per kWh (<= 0: no cost). */
void zk_llm_request_card_metrics(const zk_llm_request *r, double price_kwh,
                                 zk_llm_card_metrics *out);
/** Electricity cost of @j_per_tok joules per token, per million tokens. */
static inline double zk_llm_cost_per_mtok(double j_per_tok, double price_kwh)
{
    return j_per_tok * 1e6 / 3.6e6 * price_kwh;
}

/* The card model's registers as the driver exposes them (sysfs
 * /sys/bus/pci/drivers/zhikai/<dev>/perf/, ZK_REG_PERF_* and ZK_REG_CARD_*). */
typedef struct zk_llm_card_perf {
    double hbm_bw_mbs, pcie_bw_mbs, copy_bw_mbs, fp32_gflops, fp16_gflops, launch_ns,
           dma_setup_ns, tdp_mw, idle_mw, card_clock_mhz, card_power_mw;
    double card_time_ns, card_energy_uj, card_compute_ns, card_memory_ns, card_overhead_ns,
           card_launches, card_dmas, card_hbm_bytes, card_pcie_bytes, card_flops_f32;
} zk_llm_card_perf;

/** Read the first zhikai card's perf/ directory; 0, or -1 if absent. */
int zk_llm_card_perf_read(zk_llm_card_perf *p);
/** Power cap of the first zhikai card via hwmon power1_cap: *old_mw gets the
 *  current cap (may be NULL), then @mw is written if non-zero.  0 or -1. */
int zk_llm_card_power_cap(unsigned mw, unsigned *old_mw);
/** Card energy counter of the first zhikai hwmon device (energy1_input,
 *  microjoule); -1 if none. */
double zk_llm_card_energy_uj(void);

#endif
