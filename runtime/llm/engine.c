/* SPDX-License-Identifier: MIT */
/*
 * engine.c - LLM serving engine on the zhikai card.
 *
 * Requests are served first-come-first-served with continuous batching:
 * between two steps new requests join (prefill, in chunks of at most
 * max_step_tokens rows) and finished ones leave.  A step is a flat batch of
 * token rows - the prefill chunk of a joining request and the one decode
 * token of every running request - and runs as ONE command buffer on one
 * stream: the KV block copies the block manager queued (copy-on-write, swap
 * in/out), one upload of the step's token ids / block tables / row map, the
 * embedding, per layer rmsnorm + QKV gemms + llm_attn_batch (RoPE, KV write
 * into the paged cache, paged attention for every sequence in one launch)
 * + output projection + SwiGLU FFN (the wo and w2 projections accumulate
 * straight into the residual stream x with gemm_*_acc, no add launches:
 * 11 launches per layer in fp32), the final norm and classifier for the
 * last row of each sequence, argmax, and the logits read back into pinned
 * memory - then one flush (an event record).  The CPU only schedules and
 * samples.  Greedy decode overlaps: when the next step is the same batch,
 * it is queued (token ids read from this step's argmax on the card) before
 * this step's tokens are read, so the card does not wait for the guest.
 *
 * When the KV pool runs out, the latest-arrived running request is
 * preempted: swapped to host memory if there is swap space, else freed and
 * recomputed later (its prompt and generated tokens are prefilled again,
 * reusing any cached prefix blocks).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "llm.h"
#include "sampler.h"

enum { R_WAITING = 0, R_RUNNING, R_SWAPPED, R_DONE };

/* Candidates the card selects per sequence for top-k sampling (k <= this). */
#define TOPK_CARD 64

/* Does @r sample from the card's top-k candidates (no full logits)? */
static int uses_card_topk(const zk_llm_request *r)
{
    const zk_sampler_params *p = r->sampler ? zk_sampler_get_params(r->sampler) : NULL;
    return p && p->temperature > 0.0f && !zk_sampler_needs_full_logits(r->sampler) &&
           p->top_k <= TOPK_CARD && !r->keep_logits;
}

typedef struct wmat {
    zk_deviceptr f, q, s;       /* f32 [out][in]; int8 copy and its scales, or
                                 * (GGUF Q8_0/Q4_0) the file's blocks in q */
    uint32_t qtype;             /* ggml type of the blocks in q (GGUF) */
} wmat;

typedef struct batch_ent {
    zk_llm_request *r;
    uint32_t n;                 /* rows this step */
} batch_ent;

struct zk_llm_engine {
    const zk_llm_model *m;
    zk_llm_engine_config cfg;
    int L, dim, hid, kvd, hd, vocab;
    uint32_t max_blocks;        /* block table width */
    zk_kv_manager *kv;
    zk_kv_device *kvdev;
    zk_stream stream;
    zk_module mods[6];
    zk_function f_gemm, f_gemm8, f_gemm_acc, f_gemm8_acc, f_quant, f_rms, f_swiglu, f_embed, f_argmax, f_attn;
    zk_function f_qgemm[2], f_qgemm_acc[2];     /* Q8_0, Q4_0 weights (qgemm.zko) */
    zk_function f_topk;                 /* select.zko */
    zk_deviceptr tkv, tki;              /* [S][TOPK] candidates on the card */
    float *h_tkv;                       /* pinned copies */
    int32_t *h_tki;
    int quantized;              /* matrices stay Q8_0/Q4_0 on the card */
    zk_deviceptr wblob, qblob, sblob;
    wmat *wq, *wk, *wv, *wo, *w1, *w2, *w3, wcls;
    zk_deviceptr emb, rms_att, rms_ffn, rms_final;
    zk_deviceptr x, xb, xb2, q, k, v, att, hb, hb2, aq, as, xl, logits, am, stepbuf;
    float *h_logits;            /* pinned */
    int32_t *h_am;              /* pinned, [2][S]: one per step in flight */
    int32_t *h_step;            /* [2][step_ints], like stepbuf */
    size_t step_ints, off_meta, off_tab, off_last;
    /* Overlap (decode_overlap): step n+1 is queued before step n's tokens
     * are read; it takes its token ids from step n's argmax on the card. */
    zk_event ev[3];             /* end of the last steps, in rotation */
    int ev_cur, card_time, card_energy;
    int ev_end[2], ev_start[2]; /* per buffer: its step's end event, the one before */
    int par;                    /* buffer of the next step submitted */
    int spec, spec_par;         /* a queued step whose tokens are not read yet */
    uint32_t spec_S;
    int overlap;                /* allowed (ZK_LLM_NO_OVERLAP unset) */
    uint8_t *bdone;             /* batch entries finished while a step was queued */
    double step_j;              /* modelled energy of the last step */
    zk_llm_request **reqs;      /* unfinished, in arrival order */
    uint32_t nreqs, reqs_cap;
    uint64_t order;
    batch_ent *batch;
    zk_llm_engine_stats st;
};

static zk_status launch(zk_llm_engine *e, zk_function f, uint32_t gx, const uint64_t *a,
                        unsigned n)
{
    uint32_t grid[3] = { gx ? gx : 1, 1, 1 };
    e->st.launches++;
    return zk_launch_kernel(f, grid, a, n, e->stream);
}

/* c[m][n] (+)= a[m][k] x W[n][k]^T; @acc: accumulate into c (matmul acc). */
static zk_status mm_op(zk_llm_engine *e, zk_deviceptr a, const wmat *w, zk_deviceptr c,
                       uint64_t m, uint64_t n, uint64_t k, int acc)
{
    if (e->quantized && w->q) {
        /* Output channels split over workgroups so compute units can share
         * a batch-1 matmul, but only where each gets about 1 MiB of weights
         * (~0.1 ms of work): handing a workgroup to another host thread
         * costs tens of microseconds, more than a 288 x 288 matmul takes. */
        uint64_t ga[6] = { a, w->q, c, m, n, k };
        uint32_t blk = 1, blk_bytes = 0;
        int q4 = w->qtype == ZK_GGML_Q4_0;
        zk_ggml_type_size(w->qtype, &blk, &blk_bytes);
        uint64_t g = (n * (k / blk) * blk_bytes) >> 20;
        g = g < 1 ? 1 : g > 8 ? 8 : g;
        return launch(e, acc ? e->f_qgemm_acc[q4] : e->f_qgemm[q4], (uint32_t)g, ga, 6);
    }
    if (e->m->int8) {
        uint64_t qa[5] = { a, e->aq, e->as, m, k };
        uint64_t ga[8] = { e->aq, w->q, c, e->as, w->s, m, n, k };
        zk_status st = launch(e, e->f_quant, 1, qa, 5);
        return st ? st : launch(e, acc ? e->f_gemm8_acc : e->f_gemm8, 1, ga, 8);
    }
    uint64_t ga[6] = { a, w->f, c, m, n, k };
    return launch(e, acc ? e->f_gemm_acc : e->f_gemm, 1, ga, 6);
}

static zk_status mm(zk_llm_engine *e, zk_deviceptr a, const wmat *w, zk_deviceptr c,
                    uint64_t m, uint64_t n, uint64_t k)
{
    return mm_op(e, a, w, c, m, n, k, 0);
}

/* c += a x W^T: the residual add fused into the projection. */
static zk_status mm_acc(zk_llm_engine *e, zk_deviceptr a, const wmat *w, zk_deviceptr c,
                        uint64_t m, uint64_t n, uint64_t k)
{
    return mm_op(e, a, w, c, m, n, k, 1);
}

zk_kv_manager *zk_llm_engine_kv(const zk_llm_engine *e)
{
    return e->kv;
}

void zk_llm_engine_get_stats(const zk_llm_engine *e, zk_llm_engine_stats *st)
{
    *st = e->st;
}

void zk_llm_engine_destroy(zk_llm_engine *e)
{
    if (!e) {
        return;
    }
    zk_deviceptr bufs[] = { e->wblob, e->qblob, e->sblob, e->x, e->xb, e->xb2, e->q, e->k,
                            e->v, e->att, e->hb, e->hb2, e->aq, e->as, e->xl, e->logits,
                            e->am, e->stepbuf, e->tkv, e->tki };
    if (e->stream) {
        zk_stream_synchronize(e->stream);
    }
    for (uint32_t i = 0; i < e->nreqs; i++) {     /* unfinished requests */
        zk_sampler_free(e->reqs[i]->sampler);
        e->reqs[i]->sampler = NULL;
    }
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
        if (bufs[i]) {
            zk_mem_free(bufs[i]);
        }
    }
    if (e->h_logits) {
        zk_mem_free_host(e->h_logits);
    }
    if (e->h_am) {
        zk_mem_free_host(e->h_am);
    }
    if (e->h_tkv) {
        zk_mem_free_host(e->h_tkv);
    }
    if (e->h_tki) {
        zk_mem_free_host(e->h_tki);
    }
    for (int i = 0; i < 3; i++) {
        if (e->ev[i]) {
            zk_event_destroy(e->ev[i]);
        }
    }
    for (int i = 0; i < 6; i++) {
        if (e->mods[i]) {
            zk_module_unload(e->mods[i]);
        }
    }
    zk_kv_device_destroy(e->kvdev);
    zk_kv_destroy(e->kv);
    if (e->stream) {
        zk_stream_destroy(e->stream);
    }
    free(e->wq);
    free(e->wk);
    free(e->wv);
    free(e->wo);
    free(e->w1);
    free(e->w2);
    free(e->w3);
    free(e->h_step);
    free(e->reqs);
    free(e->batch);
    free(e->bdone);
    free(e);
}

#define TRY(x) do { st = (x); if (st) goto fail; } while (0)

static zk_status load_mod(zk_llm_engine *e, int i, const char *file)
{
    char path[1024];
    if (!e->cfg.kernel_dir) {
        return zk_module_load(&e->mods[i], file);       /* the kernel search path */
    }
    snprintf(path, sizeof(path), "%s/%s", e->cfg.kernel_dir, file);
    return zk_module_load(&e->mods[i], path);
}

/*
 * GGUF Q8_0/Q4_0 models: the matrices go up as the file stores them (one
 * blob of blocks), so device memory and the bytes a step reads follow the
 * file size; only the embedding table and the norms are fp32.
 */
static zk_status upload_quantized(zk_llm_engine *e)
{
    const zk_llm_model *m = e->m;
    size_t L = (size_t)e->L, d = (size_t)e->dim, qbytes = 0, qo = 0;
    /* The classifier (32000 x dim: the largest matmul) stays quantized when
     * it is Q8_0 or Q4_0, whatever the layers are (llama.cpp's Q4_0 files
     * keep it in Q8_0); another type (Q6_K, F16...) runs in fp32. */
    uint32_t ct = m->qt[L * ZK_MAT_COUNT]->type;
    int cls_q = ct == ZK_GGML_Q8_0 || ct == ZK_GGML_Q4_0;
    size_t nq = L * ZK_MAT_COUNT + (cls_q ? 1 : 0);
    size_t nf = (size_t)e->vocab * d * (cls_q ? 1 : 2) + 2 * L * d + d;
    zk_status st;
    wmat *const per[ZK_MAT_COUNT] = { e->wq, e->wk, e->wv, e->wo, e->w1, e->w2, e->w3 };
    for (size_t i = 0; i < nq; i++) {
        qbytes += (size_t)m->qt[i]->size;
    }
    TRY(zk_mem_alloc(&e->wblob, nf * sizeof(float)));
    TRY(zk_mem_alloc(&e->qblob, qbytes));
    e->emb = e->wblob;
    e->rms_att = e->emb + (size_t)e->vocab * d * 4;
    e->rms_ffn = e->rms_att + L * d * 4;
    e->rms_final = e->rms_ffn + L * d * 4;
    TRY(zk_memcpy_htod(e->emb, m->tok_emb, (size_t)e->vocab * d * 4));
    TRY(zk_memcpy_htod(e->rms_att, m->rms_att, L * d * 4));
    TRY(zk_memcpy_htod(e->rms_ffn, m->rms_ffn, L * d * 4));
    TRY(zk_memcpy_htod(e->rms_final, m->rms_final, d * 4));
    if (!cls_q) {
        e->wcls.f = e->rms_final + d * 4;
        TRY(zk_memcpy_htod(e->wcls.f, m->wcls, (size_t)e->vocab * d * 4));
    }
    for (size_t i = 0; i < nq; i++) {
        const zk_gguf_tensor *t = m->qt[i];
        wmat *w = i == L * ZK_MAT_COUNT ? &e->wcls : &per[i % ZK_MAT_COUNT][i / ZK_MAT_COUNT];
        w->q = e->qblob + qo;
        w->qtype = t->type;
        TRY(zk_memcpy_htod(w->q, t->data, (size_t)t->size));
        qo += (size_t)t->size;
    }
    return ZK_SUCCESS;
fail:
    return st;
}

/* Upload the int8 copies: one blob of int8 matrices, one of scales. */
static zk_status upload_int8(zk_llm_engine *e)
{
    const zk_llm_model *m = e->m;
    int L = e->L, d = e->dim, h = e->hid, kv = e->kvd;
    size_t qbytes = (size_t)L * (2 * d * d + 2 * kv * d + 3 * h * d) + (size_t)e->vocab * d;
    size_t nscale = (size_t)L * (2 * d + 2 * kv + 2 * h + d) + (size_t)e->vocab;
    size_t qo = 0, so = 0;
    zk_status st;
    TRY(zk_mem_alloc(&e->qblob, qbytes));
    TRY(zk_mem_alloc(&e->sblob, nscale * sizeof(float)));
    for (int l = 0; l <= L; l++) {
        struct { wmat *w; const zk_llm_qmat *q; int rows, cols; } mats[7] = {
            { &e->wq[l], &m->qwq[l], d, d }, { &e->wk[l], &m->qwk[l], kv, d },
            { &e->wv[l], &m->qwv[l], kv, d }, { &e->wo[l], &m->qwo[l], d, d },
            { &e->w1[l], &m->qw1[l], h, d }, { &e->w2[l], &m->qw2[l], d, h },
            { &e->w3[l], &m->qw3[l], h, d } };
        int nm = 7;
        if (l == L) {
            mats[0].w = &e->wcls;
            mats[0].q = &m->qwcls;
            mats[0].rows = e->vocab;
            mats[0].cols = d;
            nm = 1;
        }
        for (int i = 0; i < nm; i++) {
            size_t qb = (size_t)mats[i].rows * mats[i].cols;
            mats[i].w->q = e->qblob + qo;
            mats[i].w->s = e->sblob + so * sizeof(float);
            TRY(zk_memcpy_htod(mats[i].w->q, mats[i].q->q, qb));
            TRY(zk_memcpy_htod(mats[i].w->s, mats[i].q->s, (size_t)mats[i].rows * sizeof(float)));
            qo += qb;
            so += (size_t)mats[i].rows;
        }
    }
    return ZK_SUCCESS;
fail:
    return st;
}

zk_status zk_llm_engine_create(zk_llm_engine **out, const zk_llm_model *m,
                               const zk_llm_engine_config *cfg)
{
    zk_llm_engine *e = calloc(1, sizeof(*e));
    zk_status st = ZK_ERROR_OUT_OF_MEMORY;
    zk_kv_config kc = { 0 };
    uint32_t R, S;
    size_t d, h, kv;

    if (!e) {
        return ZK_ERROR_OUT_OF_MEMORY;
    }
    e->m = m;
    e->cfg = *cfg;
    if (!e->cfg.max_seqs) {
        e->cfg.max_seqs = 8;
    }
    if (!e->cfg.max_step_tokens) {
        e->cfg.max_step_tokens = 256;
    }
    if (e->cfg.max_step_tokens < e->cfg.max_seqs) {
        e->cfg.max_step_tokens = e->cfg.max_seqs;
    }
    if (!e->cfg.block_size) {
        e->cfg.block_size = ZK_KV_DEFAULT_BLOCK_SIZE;
    }
    e->L = m->c.n_layers;
    e->dim = m->c.dim;
    e->hid = m->c.hidden_dim;
    e->kvd = zk_llm_kv_dim(&m->c);
    e->hd = zk_llm_head_dim(&m->c);
    e->vocab = m->c.vocab_size;
    e->max_blocks = ((uint32_t)m->c.seq_len + e->cfg.block_size - 1) / e->cfg.block_size;
    if (!e->cfg.kv_blocks) {
        e->cfg.kv_blocks = e->cfg.max_seqs * e->max_blocks;
    }
    R = e->cfg.max_step_tokens;
    S = e->cfg.max_seqs;
    d = (size_t)e->dim;
    h = (size_t)e->hid;
    kv = (size_t)e->kvd;

    kc.num_blocks = e->cfg.kv_blocks;
    kc.block_size = e->cfg.block_size;
    kc.num_host_blocks = e->cfg.host_blocks;
    kc.max_seqs = S * 2 + 16;
    kc.prefix_caching = e->cfg.prefix_caching;
    e->wq = calloc((size_t)e->L + 1, sizeof(wmat));
    e->wk = calloc((size_t)e->L + 1, sizeof(wmat));
    e->wv = calloc((size_t)e->L + 1, sizeof(wmat));
    e->wo = calloc((size_t)e->L + 1, sizeof(wmat));
    e->w1 = calloc((size_t)e->L + 1, sizeof(wmat));
    e->w2 = calloc((size_t)e->L + 1, sizeof(wmat));
    e->w3 = calloc((size_t)e->L + 1, sizeof(wmat));
    e->batch = calloc(S, sizeof(batch_ent));
    e->off_meta = R;
    e->off_tab = e->off_meta + 4 * (size_t)S;
    e->off_last = e->off_tab + (size_t)S * e->max_blocks;
    e->step_ints = e->off_last + S;
    e->h_step = calloc(2 * e->step_ints, sizeof(int32_t));
    e->bdone = calloc(S, 1);
    e->overlap = !getenv("ZK_LLM_NO_OVERLAP");
    if (!e->wq || !e->wk || !e->wv || !e->wo || !e->w1 || !e->w2 || !e->w3 || !e->batch ||
        !e->h_step || !e->bdone) {
        goto fail;
    }
    TRY(zk_kv_create(&e->kv, &kc));
    TRY(zk_stream_create(&e->stream, 0));
    TRY(zk_kv_device_create(&e->kvdev, e->kv, (uint32_t)e->L, (uint32_t)kv, sizeof(float)));
    TRY(load_mod(e, 0, "gemm.zko"));
    TRY(load_mod(e, 1, "rowops.zko"));
    TRY(load_mod(e, 2, "elementwise.zko"));
    TRY(load_mod(e, 3, "llm_batch.zko"));
    TRY(zk_module_get_function(&e->f_gemm, e->mods[0], "gemm_f32_bt"));
    TRY(zk_module_get_function(&e->f_gemm8, e->mods[0], "gemm_i8_deq_bt"));
    TRY(zk_module_get_function(&e->f_gemm_acc, e->mods[0], "gemm_f32_bt_acc"));
    TRY(zk_module_get_function(&e->f_gemm8_acc, e->mods[0], "gemm_i8_deq_bt_acc"));
    TRY(zk_module_get_function(&e->f_quant, e->mods[1], "quantize_i8"));
    TRY(zk_module_get_function(&e->f_rms, e->mods[1], "rmsnorm_f32"));
    TRY(zk_module_get_function(&e->f_embed, e->mods[1], "embedding_f32"));
    TRY(zk_module_get_function(&e->f_argmax, e->mods[1], "argmax_f32"));
    TRY(zk_module_get_function(&e->f_swiglu, e->mods[2], "swiglu_f32"));
    TRY(zk_module_get_function(&e->f_attn, e->mods[3], "llm_attn_batch"));
    TRY(load_mod(e, 5, "select.zko"));
    TRY(zk_module_get_function(&e->f_topk, e->mods[5], "topk_f32"));
    e->quantized = !m->int8 && m->qt && (m->wtype == ZK_GGML_Q8_0 || m->wtype == ZK_GGML_Q4_0);
    if (e->quantized) {
        TRY(load_mod(e, 4, "qgemm.zko"));
        TRY(zk_module_get_function(&e->f_qgemm[0], e->mods[4], "gemm_q8_0_bt"));
        TRY(zk_module_get_function(&e->f_qgemm_acc[0], e->mods[4], "gemm_q8_0_bt_acc"));
        TRY(zk_module_get_function(&e->f_qgemm[1], e->mods[4], "gemm_q4_0_bt"));
        TRY(zk_module_get_function(&e->f_qgemm_acc[1], e->mods[4], "gemm_q4_0_bt_acc"));
        TRY(upload_quantized(e));
    } else {
        /* Weights: the checkpoint's float blob as is; matrices by offset. */
        TRY(zk_mem_alloc(&e->wblob, m->n_floats * sizeof(float)));
        TRY(zk_memcpy_htod(e->wblob, m->data, m->n_floats * sizeof(float)));
    }
#define DEV(p) (e->wblob + (zk_deviceptr)((const float *)(p) - m->data) * sizeof(float))
    if (e->quantized) {
        goto weights_done;
    }
    e->emb = DEV(m->tok_emb);
    e->rms_att = DEV(m->rms_att);
    e->rms_ffn = DEV(m->rms_ffn);
    e->rms_final = DEV(m->rms_final);
    for (int l = 0; l < e->L; l++) {
        e->wq[l].f = DEV(m->wq + (size_t)l * d * d);
        e->wk[l].f = DEV(m->wk + (size_t)l * kv * d);
        e->wv[l].f = DEV(m->wv + (size_t)l * kv * d);
        e->wo[l].f = DEV(m->wo + (size_t)l * d * d);
        e->w1[l].f = DEV(m->w1 + (size_t)l * h * d);
        e->w2[l].f = DEV(m->w2 + (size_t)l * d * h);
        e->w3[l].f = DEV(m->w3 + (size_t)l * h * d);
    }
    e->wcls.f = DEV(m->wcls);
#undef DEV
weights_done:
    if (m->int8) {
        TRY(upload_int8(e));
    }
    TRY(zk_mem_alloc(&e->x, R * d * 4));
    TRY(zk_mem_alloc(&e->xb, R * d * 4));
    TRY(zk_mem_alloc(&e->q, R * d * 4));
    TRY(zk_mem_alloc(&e->att, R * d * 4));
    TRY(zk_mem_alloc(&e->k, R * kv * 4));
    TRY(zk_mem_alloc(&e->v, R * kv * 4));
    TRY(zk_mem_alloc(&e->hb, R * h * 4));
    TRY(zk_mem_alloc(&e->hb2, R * h * 4));
    TRY(zk_mem_alloc(&e->aq, R * (h > d ? h : d) + (size_t)S * d));
    TRY(zk_mem_alloc(&e->as, (R + S) * 4));
    TRY(zk_mem_alloc(&e->xl, S * d * 4));
    TRY(zk_mem_alloc(&e->logits, (size_t)S * e->vocab * 4));
    TRY(zk_mem_alloc(&e->am, S * 4));
    TRY(zk_mem_alloc(&e->stepbuf, 2 * e->step_ints * 4));
    {
        void *p;
        TRY(zk_mem_alloc_host(&p, (size_t)S * e->vocab * 4));
        e->h_logits = p;
        TRY(zk_mem_alloc_host(&p, 2 * S * 4));
        e->h_am = p;
        if (e->vocab >= TOPK_CARD) {
            TRY(zk_mem_alloc(&e->tkv, (size_t)S * TOPK_CARD * 4));
            TRY(zk_mem_alloc(&e->tki, (size_t)S * TOPK_CARD * 4));
            TRY(zk_mem_alloc_host(&p, (size_t)S * TOPK_CARD * 4));
            e->h_tkv = p;
            TRY(zk_mem_alloc_host(&p, (size_t)S * TOPK_CARD * 4));
            e->h_tki = p;
        }
    }
    TRY(zk_event_create(&e->ev[0], 0));
    TRY(zk_event_create(&e->ev[1], 0));
    TRY(zk_event_create(&e->ev[2], 0));
    TRY(zk_event_record(e->ev[0], e->stream));
    TRY(zk_stream_synchronize(e->stream));
    {
        float ms;
        double j;
        e->card_time = zk_event_elapsed_card_time(&ms, e->ev[0], e->ev[0]) == ZK_SUCCESS;
        e->card_energy = zk_event_elapsed_card_energy(&j, e->ev[0], e->ev[0]) == ZK_SUCCESS;
    }
    e->st.card_ms = e->card_time ? 0 : -1;
    e->st.card_j = e->card_energy ? 0 : -1;
    *out = e;
    return ZK_SUCCESS;
fail:
    zk_llm_engine_destroy(e);
    return st;
}

zk_status zk_llm_engine_submit(zk_llm_engine *e, zk_llm_request *r)
{
    uint32_t cap, bs = e->cfg.block_size;
    if (!r || !r->prompt || r->n_prompt == 0) {
        return ZK_ERROR_INVALID_VALUE;
    }
    for (uint32_t i = 0; i < r->n_prompt; i++) {
        if (r->prompt[i] < 0 || r->prompt[i] >= e->vocab) {
            return ZK_ERROR_INVALID_VALUE;
        }
    }
    r->done = 0;
    r->error = 0;
    r->n_generated = 0;
    r->preemptions = 0;
    r->cached_prompt_tokens = 0;
    r->t_submit = zk_llm_now();
    r->t_first = r->t_done = 0;
    r->card_submit_ms = e->st.card_ms;
    r->card_first_ms = r->card_done_ms = -1;
    r->card_j = e->card_energy ? 0 : -1;
    r->state = R_WAITING;
    r->seq = -1;
    r->n_computed = 0;
    r->rng = r->seed ? r->seed : 0x853c49e6748fea9bull;
    r->order = e->order++;
    r->sampler = NULL;
    if (r->n_stop > sizeof(r->stop_ids) / sizeof(r->stop_ids[0])) {
        return ZK_ERROR_INVALID_VALUE;
    }
    if (r->sampling) {
        if (!(r->sampler = zk_sampler_new(r->sampling, e->vocab))) {
            return ZK_ERROR_INVALID_VALUE;
        }
        for (uint32_t i = 0; i < r->n_prompt; i++) {
            zk_sampler_accept(r->sampler, r->prompt[i]);
        }
    }
    r->logits = NULL;
    cap = r->n_prompt + r->max_new;
    if (cap > (uint32_t)e->m->c.seq_len) {
        cap = (uint32_t)e->m->c.seq_len;
    }
    r->tokens = malloc((size_t)(cap > r->n_prompt ? cap : r->n_prompt) * sizeof(int32_t));
    if (!r->tokens) {
        return ZK_ERROR_OUT_OF_MEMORY;
    }
    memcpy(r->tokens, r->prompt, r->n_prompt * sizeof(int32_t));
    r->n_tokens = r->n_prompt;
    if (r->n_prompt >= (uint32_t)e->m->c.seq_len ||
        (cap + bs - 1) / bs > zk_kv_num_blocks(e->kv)) {
        /* Can never fit: fail the request, not the engine. */
        r->error = 1;
        r->done = 1;
        r->state = R_DONE;
        r->t_done = zk_llm_now();
        return ZK_SUCCESS;
    }
    r->max_new = cap - r->n_prompt;
    if (e->nreqs == e->reqs_cap) {
        uint32_t nc = e->reqs_cap ? 2 * e->reqs_cap : 16;
        zk_llm_request **p = realloc(e->reqs, nc * sizeof(*p));
        if (!p) {
            return ZK_ERROR_OUT_OF_MEMORY;
        }
        e->reqs = p;
        e->reqs_cap = nc;
    }
    e->reqs[e->nreqs++] = r;
    if (r->max_new == 0) {
        r->done = 1;
        r->state = R_DONE;
    }
    return ZK_SUCCESS;
}

static void finish(zk_llm_engine *e, zk_llm_request *r)
{
    zk_sampler_free(r->sampler);
    r->sampler = NULL;
    if (r->seq >= 0) {
        zk_kv_seq_free(e->kv, r->seq);
        r->seq = -1;
    }
    r->state = R_DONE;
    r->done = 1;
    r->t_done = zk_llm_now();
    r->card_done_ms = e->card_time ? e->st.card_ms : -1;
}

/* Preempt @r: swap it out if there is room on the host, else recompute. */
static void preempt(zk_llm_engine *e, zk_llm_request *r)
{
    r->preemptions++;
    if (e->cfg.host_blocks && zk_kv_seq_swap_out(e->kv, r->seq) == ZK_SUCCESS) {
        r->state = R_SWAPPED;
        e->st.preempt_swap++;
        return;
    }
    zk_kv_seq_free(e->kv, r->seq);
    r->seq = -1;
    r->n_computed = 0;
    r->state = R_WAITING;
    e->st.preempt_recompute++;
}

/* Build the step's batch.  Returns the number of entries. */
static uint32_t schedule(zk_llm_engine *e)
{
    uint32_t nb = 0, budget = e->cfg.max_step_tokens, S = e->cfg.max_seqs;
    uint32_t nrun = 0;
    int blocked = 0;

    /* 1. Running requests, oldest first; preempt the newest on exhaustion. */
    for (uint32_t i = 0; i < e->nreqs; i++) {
        zk_llm_request *r = e->reqs[i];
        uint32_t n;
        if (r->state != R_RUNNING) {
            continue;
        }
        if (nb == S || budget == 0) {
            nrun++;
            continue;
        }
        n = r->n_tokens - r->n_computed;
        n = n < budget ? n : budget;
        while (zk_kv_seq_append(e->kv, r->seq, r->tokens + r->n_computed, n) != ZK_SUCCESS) {
            zk_llm_request *victim = NULL;
            for (uint32_t j = e->nreqs; j-- > i + 1;) {
                if (e->reqs[j]->state == R_RUNNING) {
                    victim = e->reqs[j];
                    break;
                }
            }
            if (!victim) {
                victim = r;
            }
            preempt(e, victim);
            blocked = 1;
            if (victim == r) {
                break;
            }
        }
        if (r->state != R_RUNNING) {
            continue;
        }
        e->batch[nb].r = r;
        e->batch[nb++].n = n;
        budget -= n;
        nrun++;
    }
    /* 2. Swapped requests come back first (FCFS), if nothing was preempted. */
    for (uint32_t i = 0; i < e->nreqs && !blocked; i++) {
        zk_llm_request *r = e->reqs[i];
        uint32_t n, nbl;
        if (r->state != R_SWAPPED) {
            continue;
        }
        if (nb == S || nrun >= S || budget == 0) {
            blocked = 1;
            break;
        }
        nbl = (zk_kv_seq_len(e->kv, r->seq) + e->cfg.block_size - 1) / e->cfg.block_size;
        if (nbl + 1 > zk_kv_num_free_blocks(e->kv) ||
            zk_kv_seq_swap_in(e->kv, r->seq) != ZK_SUCCESS) {
            blocked = 1;
            break;
        }
        r->state = R_RUNNING;
        n = r->n_tokens - r->n_computed;
        n = n < budget ? n : budget;
        if (zk_kv_seq_append(e->kv, r->seq, r->tokens + r->n_computed, n) != ZK_SUCCESS) {
            zk_kv_seq_swap_out(e->kv, r->seq);
            r->state = R_SWAPPED;
            blocked = 1;
            break;
        }
        e->batch[nb].r = r;
        e->batch[nb++].n = n;
        budget -= n;
        nrun++;
    }
    /* 3. Waiting requests join, FCFS, while seats, rows and blocks last. */
    for (uint32_t i = 0; i < e->nreqs && !blocked; i++) {
        zk_llm_request *r = e->reqs[i];
        uint32_t n, cached;
        if (r->state != R_WAITING) {
            continue;
        }
        if (nb == S || nrun >= S || budget == 0) {
            break;
        }
        if (zk_kv_seq_create_prefix(e->kv, &r->seq, r->tokens, r->n_tokens, &cached)) {
            break;
        }
        n = r->n_tokens - cached;
        n = n < budget ? n : budget;
        if (zk_kv_seq_append(e->kv, r->seq, r->tokens + cached, n) != ZK_SUCCESS) {
            zk_kv_seq_free(e->kv, r->seq);
            r->seq = -1;
            break;
        }
        if (r->n_generated == 0) {
            r->cached_prompt_tokens = cached;
        }
        r->n_computed = cached;
        r->state = R_RUNNING;
        e->batch[nb].r = r;
        e->batch[nb++].n = n;
        budget -= n;
        nrun++;
    }
    return nb;
}

/*
 * Queue one step on the card (buffer e->par) and flush it; wait_batch reads
 * its results.  @dev_ids: every entry decodes one token whose id is the
 * previous step's argmax, still on the card (e->am, row i = entry i): the
 * step can be queued before that step's tokens reach the host.
 */
static zk_status submit_batch(zk_llm_engine *e, uint32_t S, int dev_ids)
{
    int par = e->par;
    int32_t *hs = e->h_step + (size_t)par * e->step_ints;
    int32_t *ids = hs, *meta = hs + e->off_meta;
    int32_t *tab = hs + e->off_tab, *last = hs + e->off_last;
    zk_deviceptr sbuf = e->stepbuf + (zk_deviceptr)par * e->step_ints * 4;
    uint32_t R = 0, copies = 0;
    uint64_t d = (uint64_t)e->dim, h = (uint64_t)e->hid, kv = (uint64_t)e->kvd;
    uint64_t eps = zk_arg_f32(e->m->rms_eps);
    double t_build = zk_llm_now();
    zk_status st;

    for (uint32_t i = 0; i < S; i++) {
        zk_llm_request *r = e->batch[i].r;
        uint32_t n = e->batch[i].n, nbl;
        const int32_t *bt = zk_kv_seq_block_table(e->kv, r->seq, &nbl);
        if (!dev_ids) {
            memcpy(ids + R, r->tokens + r->n_computed, n * sizeof(int32_t));
        }
        meta[4 * i] = (int32_t)R;
        meta[4 * i + 1] = (int32_t)n;
        /* Its first position: with @dev_ids, the step in flight (one
         * token, not counted in n_computed yet) comes before it. */
        meta[4 * i + 2] = (int32_t)(r->n_computed + (dev_ids ? 1 : 0));
        meta[4 * i + 3] = 0;
        memcpy(tab + (size_t)i * e->max_blocks, bt, nbl * sizeof(int32_t));
        last[i] = (int32_t)(R + n - 1);
        R += n;
    }
    /* KV block copies first, then the step's metadata, then the model. */
    st = zk_kv_device_apply_ops(e->kvdev, e->stream, &copies);
    e->st.copies += copies;
    if (st) {
        return st;
    }
    st = zk_memcpy_htod_async(sbuf, hs, e->step_ints * 4, e->stream);
    if (st) {
        return st;
    }
    {
        zk_deviceptr d_ids = dev_ids ? e->am : sbuf, d_meta = sbuf + e->off_meta * 4;
        zk_deviceptr d_tab = sbuf + e->off_tab * 4, d_last = sbuf + e->off_last * 4;
        uint64_t a_emb[6] = { e->emb, d_ids, e->x, R, d, (uint64_t)e->vocab };
        if ((st = launch(e, e->f_embed, 1, a_emb, 6))) {
            return st;
        }
        for (int l = 0; l < e->L; l++) {
            zk_deviceptr kc = zk_kv_device_k(e->kvdev, (uint32_t)l);
            zk_deviceptr vc = zk_kv_device_v(e->kvdev, (uint32_t)l);
            uint64_t a_rms1[6] = { e->x, e->rms_att + (uint64_t)l * d * 4, e->xb, R, d, eps };
            uint64_t a_attn[16] = { e->q, e->k, e->v, e->att, kc, vc, d_tab, d_meta,
                                    (uint64_t)e->m->c.n_heads, (uint64_t)e->m->c.n_kv_heads,
                                    (uint64_t)e->hd, e->cfg.block_size, e->cfg.kv_blocks,
                                    e->max_blocks, zk_arg_f32(e->m->rope_theta),
                                    zk_arg_f32(e->m->rope_scale) };
            uint64_t a_rms2[6] = { e->x, e->rms_ffn + (uint64_t)l * d * 4, e->xb, R, d, eps };
            uint64_t a_sw[5] = { e->hb, e->hb2, e->hb, R, h };
            if ((st = launch(e, e->f_rms, 1, a_rms1, 6)) ||
                (st = mm(e, e->xb, &e->wq[l], e->q, R, d, d)) ||
                (st = mm(e, e->xb, &e->wk[l], e->k, R, kv, d)) ||
                (st = mm(e, e->xb, &e->wv[l], e->v, R, kv, d)) ||
                (st = launch(e, e->f_attn, S, a_attn, 16)) ||
                (st = mm_acc(e, e->att, &e->wo[l], e->x, R, d, d)) ||
                (st = launch(e, e->f_rms, 1, a_rms2, 6)) ||
                (st = mm(e, e->xb, &e->w1[l], e->hb, R, h, d)) ||
                (st = mm(e, e->xb, &e->w3[l], e->hb2, R, h, d)) ||
                (st = launch(e, e->f_swiglu, 1, a_sw, 5)) ||
                (st = mm_acc(e, e->hb, &e->w2[l], e->x, R, d, h))) {
                return st;
            }
        }
        /* Last row of every sequence -> final norm -> classifier -> argmax. */
        uint64_t a_gat[6] = { e->x, d_last, e->xl, S, d, R };
        uint64_t a_rmsf[6] = { e->xl, e->rms_final, e->xl, S, d, eps };
        uint64_t a_am[4] = { e->logits, e->am, S, (uint64_t)e->vocab };
        if ((st = launch(e, e->f_embed, 1, a_gat, 6)) ||
            (st = launch(e, e->f_rms, 1, a_rmsf, 6)) ||
            (st = mm(e, e->xl, &e->wcls, e->logits, S, (uint64_t)e->vocab, d)) ||
            (st = launch(e, e->f_argmax, 1, a_am, 4)) ||
            (st = zk_memcpy_dtoh_async(e->h_am + (size_t)par * S, e->am, S * 4, e->stream))) {
            return st;
        }
        e->st.readback_bytes += S * 4;
        /* Top-k sampling: the card selects TOPK_CARD candidates per row. */
        int any_topk = 0;
        for (uint32_t i = 0; i < S && e->h_tkv; i++) {
            any_topk |= uses_card_topk(e->batch[i].r);
        }
        if (any_topk) {
            uint64_t a_tk[6] = { e->logits, e->tkv, e->tki, S, (uint64_t)e->vocab, TOPK_CARD };
            if ((st = launch(e, e->f_topk, 1, a_tk, 6)) ||
                (st = zk_memcpy_dtoh_async(e->h_tkv, e->tkv, (size_t)S * TOPK_CARD * 4, e->stream)) ||
                (st = zk_memcpy_dtoh_async(e->h_tki, e->tki, (size_t)S * TOPK_CARD * 4, e->stream))) {
                return st;
            }
            e->st.readback_bytes += (size_t)S * TOPK_CARD * 8;
        }
        /* Logits only for the sequences that sample from them or keep them. */
        for (uint32_t i = 0; i < S; i++) {
            const zk_llm_request *r = e->batch[i].r;
            size_t row = (size_t)i * e->vocab;
            if (e->h_tkv && uses_card_topk(r)) {
                continue;
            }
            int sampling = r->sampler ? zk_sampler_get_params(r->sampler)->temperature > 0 ||
                                        zk_sampler_needs_full_logits(r->sampler)
                                      : r->temperature > 0.0f;
            if (r->n_computed + e->batch[i].n < r->n_tokens || !(sampling || r->keep_logits)) {
                continue;       /* mid-prefill or greedy: the argmax is enough */
            }
            if ((st = zk_memcpy_dtoh_async(e->h_logits + row, e->logits + row * 4,
                                           (size_t)e->vocab * 4, e->stream))) {
                return st;
            }
            e->st.readback_bytes += (size_t)e->vocab * 4;
        }
    }
    /* One flush (the event record) per step. */
    {
        int cur = (e->ev_cur + 1) % 3;
        if ((st = zk_event_record(e->ev[cur], e->stream))) {
            return st;
        }
        e->ev_start[par] = e->ev_cur;
        e->ev_end[par] = cur;
        e->ev_cur = cur;
        e->par ^= 1;
    }
    e->st.build_seconds += zk_llm_now() - t_build;
    return ZK_SUCCESS;
}

/* Wait for the step queued in buffer @par; account its time and energy. */
static zk_status wait_batch(zk_llm_engine *e, int par)
{
    zk_event a = e->ev[e->ev_start[par]], b = e->ev[e->ev_end[par]];
    double t_wait = zk_llm_now();
    float ms;
    zk_status st = zk_event_synchronize(b);
    e->st.wait_seconds += zk_llm_now() - t_wait;
    if (st) {
        return st;
    }
    if (zk_event_elapsed_time(&ms, a, b) == ZK_SUCCESS) {
        e->st.device_ms += ms;
    }
    if (e->card_time && zk_event_elapsed_card_time(&ms, a, b) == ZK_SUCCESS) {
        e->st.card_ms += ms;
    }
    e->step_j = 0;
    if (e->card_energy && zk_event_elapsed_card_energy(&e->step_j, a, b) == ZK_SUCCESS) {
        e->st.card_j += e->step_j;
    }
    return ZK_SUCCESS;
}

/*
 * Can the next step be queued now, before this step's tokens are read?
 * Only when it is the same batch again: every running request is in it,
 * decodes one token, samples greedily from the card's argmax (no logits,
 * penalties or top-k on the host), has room for two more tokens, and
 * nothing waits to join; KV slots are appended without token ids, so not
 * with prefix caching (blocks are keyed by their tokens).
 */
static int can_overlap(zk_llm_engine *e, uint32_t S)
{
    uint32_t running = 0;
    if (!e->overlap || e->cfg.prefix_caching || zk_kv_num_free_blocks(e->kv) < S) {
        return 0;
    }
    for (uint32_t i = 0; i < e->nreqs; i++) {
        const zk_llm_request *r = e->reqs[i];
        if (r->state == R_WAITING || r->state == R_SWAPPED) {
            return 0;
        }
        running += r->state == R_RUNNING;
    }
    if (running != S) {
        return 0;
    }
    for (uint32_t i = 0; i < S; i++) {
        const zk_llm_request *r = e->batch[i].r;
        const zk_sampler_params *sp = r->sampler ? zk_sampler_get_params(r->sampler) : NULL;
        int greedy = sp ? sp->temperature <= 0.0f && !zk_sampler_needs_full_logits(r->sampler)
                        : r->temperature <= 0.0f;
        if (e->bdone[i] || e->batch[i].n != 1 || r->n_computed + 1 != r->n_tokens || !greedy ||
            r->keep_logits || r->n_generated + 2 > r->max_new) {
            return 0;
        }
    }
    return 1;
}

/* Queue the step after the one in flight: one KV slot per sequence (its
 * token id comes later, from the card), token ids from the card's argmax. */
static zk_status submit_overlapped(zk_llm_engine *e, uint32_t S)
{
    zk_status st;
    for (uint32_t i = 0; i < S; i++) {
        if ((st = zk_kv_seq_append(e->kv, e->batch[i].r->seq, NULL, 1))) {
            return st;
        }
    }
    e->spec_par = e->par;
    e->spec_S = S;
    if ((st = submit_batch(e, S, 1))) {
        return st;
    }
    e->spec = 1;
    e->st.overlapped_steps++;
    return ZK_SUCCESS;
}

zk_status zk_llm_engine_step(zk_llm_engine *e, uint32_t *pending)
{
    double t0 = zk_llm_now();
    uint32_t S, left = 0;
    int par;
    zk_status st = ZK_SUCCESS;

    if (e->spec) {
        /* Queued by the last call, same batch: read its tokens now. */
        S = e->spec_S;
        par = e->spec_par;
        e->spec = 0;
    } else {
        S = schedule(e);
        memset(e->bdone, 0, e->cfg.max_seqs);
        par = e->par;
        if (S) {
            zk_kv_stats ks;
            zk_kv_get_stats(e->kv, &ks);
            if (ks.blocks_used > e->st.max_blocks_used) {
                e->st.max_blocks_used = ks.blocks_used;
            }
            if ((st = submit_batch(e, S, 0))) {
                return st;
            }
        }
    }
    if (S) {
        /* The card works on this step while the next one is queued (if it
         * can be) and this one's tokens are read, checked and stored. */
        if (can_overlap(e, S) && (st = submit_overlapped(e, S))) {
            return st;
        }
        if ((st = wait_batch(e, par))) {
            return st;
        }
        const int32_t *am = e->h_am + (size_t)par * S;
        e->st.steps++;
        uint32_t rows = 0;
        for (uint32_t i = 0; i < S; i++) {
            rows += e->bdone[i] ? 0 : e->batch[i].n;
        }
        for (uint32_t i = 0; i < S; i++) {
            zk_llm_request *r = e->batch[i].r;
            uint32_t n = e->batch[i].n;
            if (e->bdone[i]) {
                continue;       /* finished (or cancelled) after this step was queued */
            }
            if (e->card_energy && rows) {
                r->card_j += e->step_j * n / rows;
            }
            if (r->n_computed + n > r->n_prompt) {
                uint32_t pre = r->n_computed < r->n_prompt ? r->n_prompt - r->n_computed : 0;
                e->st.decode_tokens += n - pre;
                e->st.prefill_tokens += pre;
            } else {
                e->st.prefill_tokens += n;
            }
            r->n_computed += n;
            zk_kv_seq_commit(e->kv, r->seq);
            if (r->n_computed < r->n_tokens) {
                continue;               /* prefill continues next step */
            }
            float *row = e->h_logits + (size_t)i * e->vocab;
            int32_t tok;
            if (r->keep_logits) {
                float *p = realloc(r->logits, (size_t)(r->n_generated + 1) * e->vocab *
                                   sizeof(float));
                if (!p) {
                    return ZK_ERROR_OUT_OF_MEMORY;
                }
                r->logits = p;
                memcpy(p + (size_t)r->n_generated * e->vocab, row, (size_t)e->vocab * 4);
            }
            if (r->sampler) {
                const zk_sampler_params *sp = zk_sampler_get_params(r->sampler);
                /* Greedy without penalties: the card's argmax is exact. */
                if (sp->temperature <= 0.0f && !zk_sampler_needs_full_logits(r->sampler)) {
                    tok = am[i];
                } else if (e->h_tkv && uses_card_topk(r)) {
                    zk_token_prob cand[TOPK_CARD];
                    for (int k = 0; k < TOPK_CARD; k++) {
                        cand[k].id = e->h_tki[(size_t)i * TOPK_CARD + k];
                        cand[k].logit = e->h_tkv[(size_t)i * TOPK_CARD + k];
                    }
                    tok = zk_sampler_sample_candidates(r->sampler, cand, TOPK_CARD, NULL);
                } else {
                    tok = zk_sampler_sample(r->sampler, row, NULL);
                }
                zk_sampler_accept(r->sampler, tok);
            } else if (r->temperature <= 0.0f) {
                tok = am[i];
            } else {
                tok = zk_llm_sample(row, e->vocab, r->temperature, &r->rng);
            }
            r->tokens[r->n_tokens++] = tok;
            if (r->n_generated++ == 0) {
                r->t_first = zk_llm_now();
                r->card_first_ms = e->card_time ? e->st.card_ms : -1;
            }
            int stop = 0;
            for (uint32_t k = 0; k < r->n_stop; k++) {
                stop |= tok == r->stop_ids[k];
            }
            if (!r->n_stop) {
                stop = tok == ZK_LLM_EOS;
            }
            if (r->n_generated >= r->max_new || (r->stop_at_eos && stop)) {
                finish(e, r);
                e->bdone[i] = 1;
            }
        }
    } else {
        for (uint32_t i = 0; i < e->nreqs; i++) {
            if (e->reqs[i]->state != R_DONE) {
                e->st.host_seconds += zk_llm_now() - t0;
                return ZK_ERROR_OUT_OF_MEMORY;      /* nothing fits: cannot progress */
            }
        }
    }
    /* Drop finished requests from the queue, keeping arrival order. */
    for (uint32_t i = 0; i < e->nreqs; i++) {
        if (e->reqs[i]->state != R_DONE) {
            e->reqs[left++] = e->reqs[i];
        }
    }
    e->nreqs = left;
    if (pending) {
        *pending = left;
    }
    e->st.host_seconds += zk_llm_now() - t0;
    return st;
}

zk_status zk_llm_engine_run(zk_llm_engine *e)
{
    uint32_t pending = 1;
    zk_status st = ZK_SUCCESS;
    while (pending && !st) {
        st = zk_llm_engine_step(e, &pending);
    }
    return st;
}

zk_status zk_llm_engine_cancel(zk_llm_engine *e, zk_llm_request *r)
{
    uint32_t left = 0;
    int found = 0;
    for (uint32_t i = 0; i < e->nreqs; i++) {
        if (e->reqs[i] == r) {
            found = 1;
        } else {
            e->reqs[left++] = e->reqs[i];
        }
    }
    if (!found) {
        return r->done ? ZK_SUCCESS : ZK_ERROR_INVALID_VALUE;
    }
    e->nreqs = left;
    for (uint32_t i = 0; e->spec && i < e->spec_S; i++) {
        if (e->batch[i].r == r) {
            e->bdone[i] = 1;    /* the queued step's token for it is dropped */
        }
    }
    if (r->state != R_DONE) {
        finish(e, r);           /* frees its KV blocks, device or swapped */
    }
    return ZK_SUCCESS;
}

void zk_llm_engine_queue_counts(const zk_llm_engine *e, uint32_t *running, uint32_t *waiting)
{
    uint32_t run = 0, wait = 0;
    for (uint32_t i = 0; i < e->nreqs; i++) {
        if (e->reqs[i]->state == R_RUNNING) {
            run++;
        } else if (e->reqs[i]->state != R_DONE) {
            wait++;
        }
    }
    *running = run;
    *waiting = wait;
}
