/* SPDX-License-Identifier: MIT */
/*
 * gguf_model.c - llama-architecture models in GGUF files: load (metadata
 * -> zk_llm_model, tensors checked and dequantized for the CPU side, the
 * file kept mapped for the card) and save (any zk_llm_model, matrices in
 * one ggml type).  GGML lists dims fastest first: a [out][in] matrix is
 * ne = {in, out}.  The HF converter already permuted Q/K so RoPE rotates
 * adjacent pairs, as llama2.c does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "llm.h"
#include "quant.h"
#include "tokenizer.h"

static const char *const mat_name[ZK_MAT_COUNT] = {
    "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_down", "ffn_up",
};

/* Integer hyper-parameter "<arch>.<key>" in 1..max (or @def if absent and
 * def > 0); -1 with a message otherwise. */
static int64_t hparam(const zk_gguf *g, const char *arch, const char *key, int64_t def, int64_t max,
                      char *err, size_t errlen)
{
    char k[128];
    int64_t v;
    snprintf(k, sizeof(k), "%s.%s", arch, key);
    int rc = zk_gguf_get_int(g, k, &v);
    if (rc == -1 && def > 0) {
        return def;
    }
    if (rc || v < 1 || v > max) {
        snprintf(err, errlen, "GGUF: %s %s (1..%lld expected)", k, rc == -1 ? "missing" : rc == -2 ? "not an integer" : "out of range",
                 (long long)max);
        return -1;
    }
    return v;
}

static double fparam(const zk_gguf *g, const char *arch, const char *key, double def)
{
    char k[128];
    double v;
    snprintf(k, sizeof(k), "%s.%s", arch, key);
    return zk_gguf_get_float(g, k, &v) == 0 ? v : def;
}

/* Find @name with dims {ne0, ne1} (ne1 0: 1-D) and a supported type. */
static const zk_gguf_tensor *need(const zk_gguf *g, const char *name, int64_t ne0, int64_t ne1,
                                  char *err, size_t errlen)
{
    const zk_gguf_tensor *t = zk_gguf_find_tensor(g, name);
    if (!t) {
        snprintf(err, errlen, "GGUF: tensor %s missing", name);
        return NULL;
    }
    if (t->ne[0] != (uint64_t)ne0 || t->ne[1] != (uint64_t)(ne1 ? ne1 : 1) || t->ne[2] != 1 || t->ne[3] != 1) {
        snprintf(err, errlen, "GGUF: tensor %s is %llux%llux%llux%llu, expected %lldx%lld", name,
                 (unsigned long long)t->ne[0], (unsigned long long)t->ne[1], (unsigned long long)t->ne[2],
                 (unsigned long long)t->ne[3], (long long)ne0, (long long)(ne1 ? ne1 : 1));
        return NULL;
    }
    if (!zk_quant_supported(t->type)) {
        snprintf(err, errlen, "GGUF: tensor %s has type %s (supported: F32 F16 BF16 Q8_0 Q4_0 Q4_K Q6_K)",
                 name, zk_ggml_type_name(t->type));
        return NULL;
    }
    return t;
}

int zk_llm_model_load_gguf(zk_llm_model *m, const char *path, int int8, char *err, size_t errlen)
{
    zk_llm_config *c = &m->c;
    zk_gguf *g = calloc(1, sizeof(*g));
    char *arch = NULL, name[96];
    const zk_gguf_tensor *emb, *out;

    memset(m, 0, sizeof(*m));
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (zk_gguf_open(g, path, err, errlen)) {
        free(g);
        return -1;
    }
    m->gguf = g;
    if (zk_gguf_get_str(g, "general.architecture", &arch)) {
        snprintf(err, errlen, "%s: no general.architecture", path);
        goto bad;
    }
    if (strcmp(arch, "llama") && strcmp(arch, "mistral")) {
        snprintf(err, errlen, "%s: architecture \"%.32s\" is not supported (llama family only)", path, arch);
        goto bad;
    }
    int64_t v;
    if ((v = hparam(g, arch, "embedding_length", 0, 65536, err, errlen)) < 0) {
        goto bad;
    }
    c->dim = (int32_t)v;
    if ((v = hparam(g, arch, "feed_forward_length", 0, 262144, err, errlen)) < 0) {
        goto bad;
    }
    c->hidden_dim = (int32_t)v;
    if ((v = hparam(g, arch, "block_count", 0, 1024, err, errlen)) < 0) {
        goto bad;
    }
    c->n_layers = (int32_t)v;
    if ((v = hparam(g, arch, "attention.head_count", 0, 4096, err, errlen)) < 0) {
        goto bad;
    }
    c->n_heads = (int32_t)v;
    if ((v = hparam(g, arch, "attention.head_count_kv", c->n_heads, 4096, err, errlen)) < 0) {
        goto bad;
    }
    c->n_kv_heads = (int32_t)v;
    if ((v = hparam(g, arch, "context_length", 2048, 1 << 20, err, errlen)) < 0) {
        goto bad;
    }
    c->seq_len = (int32_t)v;
    if (c->dim % c->n_heads || c->n_heads % c->n_kv_heads || (c->dim / c->n_heads) % 2) {
        snprintf(err, errlen, "%s: %d heads (%d kv) do not divide dim %d into even head sizes", path,
                 c->n_heads, c->n_kv_heads, c->dim);
        goto bad;
    }
    int hd = c->dim / c->n_heads;
    if ((v = hparam(g, arch, "rope.dimension_count", hd, 65536, err, errlen)) < 0) {
        goto bad;
    }
    if (v != hd) {
        snprintf(err, errlen, "%s: rope.dimension_count %lld != head size %d (partial rotary unsupported)",
                 path, (long long)v, hd);
        goto bad;
    }
    m->rms_eps = (float)fparam(g, arch, "attention.layer_norm_rms_epsilon", 1e-5);
    m->rope_theta = (float)fparam(g, arch, "rope.freq_base", 10000.0);
    m->rope_scale = 1.0f;
    {
        char k[128], *type = NULL;
        snprintf(k, sizeof(k), "%s.rope.scaling.type", arch);
        if (zk_gguf_get_str(g, k, &type) == 0 && strcmp(type, "none")) {
            double f = fparam(g, arch, "rope.scaling.factor", 1.0);
            if (strcmp(type, "linear") || !(f >= 1.0 && f <= 1024.0)) {
                snprintf(err, errlen, "%s: RoPE scaling \"%.16s\" factor %g unsupported (linear only)",
                         path, type, f);
                free(type);
                goto bad;
            }
            m->rope_scale = (float)(1.0 / f);
        }
        free(type);
    }
    if (!(m->rms_eps > 0 && m->rms_eps < 1) || !(m->rope_theta > 1 && m->rope_theta < 1e9f)) {
        snprintf(err, errlen, "%s: rms epsilon %g / rope base %g implausible", path, m->rms_eps,
                 m->rope_theta);
        goto bad;
    }
    if (zk_gguf_find_tensor(g, "rope_freqs.weight")) {
        snprintf(err, errlen, "%s: per-dimension RoPE frequency factors (rope_freqs) unsupported", path);
        goto bad;
    }
    if (!(emb = zk_gguf_find_tensor(g, "token_embd.weight")) || emb->ne[1] < 1 || emb->ne[1] > (1 << 20)) {
        snprintf(err, errlen, "%s: token_embd.weight missing or of an absurd vocabulary", path);
        goto bad;
    }
    c->vocab_size = (int32_t)emb->ne[1];
    if (!(emb = need(g, "token_embd.weight", c->dim, c->vocab_size, err, errlen))) {
        goto bad;
    }
    out = zk_gguf_find_tensor(g, "output.weight");
    m->shared_classifier = out == NULL;
    if (out && !(out = need(g, "output.weight", c->dim, c->vocab_size, err, errlen))) {
        goto bad;
    }

    /* Floats in llama2.c order (no freq_cis), plus the classifier. */
    size_t d = (size_t)c->dim, h = (size_t)c->hidden_dim, L = (size_t)c->n_layers;
    size_t kv = (size_t)zk_llm_kv_dim(c);
    /* Every tensor present with its shape before anything is allocated: the
     * fp32 copies are then bounded by the data the file really holds. */
    if (!need(g, "output_norm.weight", c->dim, 0, err, errlen)) {
        goto bad;
    }
    for (size_t l = 0; l < L; l++) {
        const int64_t rows[ZK_MAT_COUNT] = { c->dim, (int64_t)kv, (int64_t)kv, c->dim, c->hidden_dim,
                                             c->dim, c->hidden_dim };
        snprintf(name, sizeof(name), "blk.%zu.attn_norm.weight", l);
        if (!need(g, name, c->dim, 0, err, errlen)) {
            goto bad;
        }
        snprintf(name, sizeof(name), "blk.%zu.ffn_norm.weight", l);
        if (!need(g, name, c->dim, 0, err, errlen)) {
            goto bad;
        }
        for (int k = 0; k < ZK_MAT_COUNT; k++) {
            snprintf(name, sizeof(name), "blk.%zu.%s.weight", l, mat_name[k]);
            if (!need(g, name, k == ZK_MAT_W2 ? c->hidden_dim : c->dim, rows[k], err, errlen)) {
                goto bad;
            }
        }
    }
    m->n_floats = (size_t)c->vocab_size * d + L * d * 2 + L * (2 * d * d + 2 * kv * d + 3 * h * d) + d +
                  (out ? (size_t)c->vocab_size * d : 0);
    m->data = malloc(m->n_floats * sizeof(float));
    m->qt = calloc(L * ZK_MAT_COUNT + 1, sizeof(*m->qt));
    if (!m->data || !m->qt) {
        snprintf(err, errlen, "%s: out of memory for %zu weights", path, m->n_floats);
        goto bad;
    }
    float *end = zk_llm_model_layout(m);
    m->wcls = out ? end : m->tok_emb;
    const zk_gguf_tensor *t;
    if (zk_dequantize(emb->type, emb->data, m->tok_emb, (size_t)c->vocab_size * d) ||
        (out && zk_dequantize(out->type, out->data, m->wcls, (size_t)c->vocab_size * d))) {
        goto deq;
    }
    m->qt[L * ZK_MAT_COUNT] = out ? out : emb;
    /* wtype: the one type of every layer matrix (the classifier may differ,
     * e.g. llama.cpp's Q4_0 files keep output.weight in Q6_K). */
    m->wtype = zk_gguf_find_tensor(g, "blk.0.attn_q.weight")->type;     /* checked above */
    if (!(t = need(g, "output_norm.weight", c->dim, 0, err, errlen)) ||
        zk_dequantize(t->type, t->data, m->rms_final, d)) {
        goto deq;
    }
    for (size_t l = 0; l < L; l++) {
        const int64_t rows[ZK_MAT_COUNT] = { c->dim, (int64_t)kv, (int64_t)kv, c->dim, c->hidden_dim,
                                             c->dim, c->hidden_dim };
        float *dst[ZK_MAT_COUNT] = { m->wq + l * d * d, m->wk + l * kv * d, m->wv + l * kv * d,
                                     m->wo + l * d * d, m->w1 + l * h * d, m->w2 + l * d * h,
                                     m->w3 + l * h * d };
        snprintf(name, sizeof(name), "blk.%zu.attn_norm.weight", l);
        if (!(t = need(g, name, c->dim, 0, err, errlen)) || zk_dequantize(t->type, t->data, m->rms_att + l * d, d)) {
            goto deq;
        }
        snprintf(name, sizeof(name), "blk.%zu.ffn_norm.weight", l);
        if (!(t = need(g, name, c->dim, 0, err, errlen)) || zk_dequantize(t->type, t->data, m->rms_ffn + l * d, d)) {
            goto deq;
        }
        for (int k = 0; k < ZK_MAT_COUNT; k++) {
            int64_t cols = k == ZK_MAT_W2 ? c->hidden_dim : c->dim;
            snprintf(name, sizeof(name), "blk.%zu.%s.weight", l, mat_name[k]);
            if (!(t = need(g, name, cols, rows[k], err, errlen)) ||
                zk_dequantize(t->type, t->data, dst[k], (size_t)(cols * rows[k]))) {
                goto deq;
            }
            m->qt[l * ZK_MAT_COUNT + (size_t)k] = t;
            if (t->type != m->wtype) {
                m->wtype = ZK_GGML_F32;     /* mixed types: no single card format */
            }
        }
    }
    free(arch);
    if (int8 && zk_llm_model_quantize_int8(m, err, errlen)) {
        return -1;
    }
    return 0;
deq:
    if (!strstr(err, "GGUF")) {
        snprintf(err, errlen, "%s: cannot decode tensor %s", path, name);
    }
bad:
    free(arch);
    zk_llm_model_free(m);
    return -1;
}

static int put_matrix(zk_gguf_writer *w, const char *name, uint32_t type, const float *x, int64_t cols,
                      int64_t rows)
{
    uint64_t ne[2] = { (uint64_t)cols, (uint64_t)rows };
    size_t n = (size_t)(cols * (rows ? rows : 1)), bytes = zk_quant_bytes(type, n);
    void *buf = bytes ? malloc(bytes) : NULL;
    int rc = -1;
    if (buf && zk_quantize(type, x, buf, n) == 0) {
        rc = zk_gguf_w_tensor(w, name, type, rows ? 2 : 1, ne, buf, bytes);
    }
    free(buf);
    return rc;
}

int zk_llm_model_save_gguf(const zk_llm_model *m, const char *path, uint32_t wtype,
                           const zk_tokenizer *tok, char *err, size_t errlen)
{
    return zk_llm_model_save_gguf_ex(m, path, wtype, wtype, tok, err, errlen);
}

int zk_llm_model_save_gguf_ex(const zk_llm_model *m, const char *path, uint32_t wtype,
                              uint32_t cls_type, const zk_tokenizer *tok, char *err, size_t errlen)
{
    const zk_llm_config *c = &m->c;
    zk_gguf_writer *w = zk_gguf_writer_new(3, 0);
    size_t d = (size_t)c->dim, h = (size_t)c->hidden_dim, kv = (size_t)zk_llm_kv_dim(c);
    char name[96];
    int rc = 0;
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (wtype != ZK_GGML_F32 && (c->dim % 32 || c->hidden_dim % 32)) {
        snprintf(err, errlen, "%s rows must be whole blocks of 32 (dim %d, hidden %d)",
                 zk_ggml_type_name(wtype), c->dim, c->hidden_dim);
        zk_gguf_writer_free(w);
        return -1;
    }
    rc |= zk_gguf_w_str(w, "general.architecture", "llama");
    rc |= zk_gguf_w_str(w, "general.name", "zhikai random llama");
    rc |= zk_gguf_w_u32(w, "llama.context_length", (uint32_t)c->seq_len);
    rc |= zk_gguf_w_u32(w, "llama.embedding_length", (uint32_t)c->dim);
    rc |= zk_gguf_w_u32(w, "llama.block_count", (uint32_t)c->n_layers);
    rc |= zk_gguf_w_u32(w, "llama.feed_forward_length", (uint32_t)c->hidden_dim);
    rc |= zk_gguf_w_u32(w, "llama.attention.head_count", (uint32_t)c->n_heads);
    rc |= zk_gguf_w_u32(w, "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads);
    rc |= zk_gguf_w_u32(w, "llama.rope.dimension_count", (uint32_t)zk_llm_head_dim(c));
    rc |= zk_gguf_w_f32(w, "llama.attention.layer_norm_rms_epsilon", m->rms_eps);
    rc |= zk_gguf_w_f32(w, "llama.rope.freq_base", m->rope_theta);
    if (m->rope_scale != 1.0f) {
        rc |= zk_gguf_w_str(w, "llama.rope.scaling.type", "linear");
        rc |= zk_gguf_w_f32(w, "llama.rope.scaling.factor", 1.0f / m->rope_scale);
    }
    rc |= zk_gguf_w_u32(w, "general.file_type", wtype);
    if (tok) {
        rc |= zk_tokenizer_write_gguf(tok, w);
    }
    rc |= put_matrix(w, "token_embd.weight", wtype, m->tok_emb, c->dim, c->vocab_size);
    for (size_t l = 0; l < (size_t)c->n_layers && !rc; l++) {
        const float *src[ZK_MAT_COUNT] = { m->wq + l * d * d, m->wk + l * kv * d, m->wv + l * kv * d,
                                           m->wo + l * d * d, m->w1 + l * h * d, m->w2 + l * d * h,
                                           m->w3 + l * h * d };
        const int64_t rows[ZK_MAT_COUNT] = { c->dim, (int64_t)kv, (int64_t)kv, c->dim, c->hidden_dim,
                                             c->dim, c->hidden_dim };
        snprintf(name, sizeof(name), "blk.%zu.attn_norm.weight", l);
        rc |= put_matrix(w, name, ZK_GGML_F32, m->rms_att + l * d, c->dim, 0);
        snprintf(name, sizeof(name), "blk.%zu.ffn_norm.weight", l);
        rc |= put_matrix(w, name, ZK_GGML_F32, m->rms_ffn + l * d, c->dim, 0);
        for (int k = 0; k < ZK_MAT_COUNT; k++) {
            snprintf(name, sizeof(name), "blk.%zu.%s.weight", l, mat_name[k]);
            rc |= put_matrix(w, name, wtype, src[k], k == ZK_MAT_W2 ? c->hidden_dim : c->dim, rows[k]);
        }
    }
    rc |= put_matrix(w, "output_norm.weight", ZK_GGML_F32, m->rms_final, c->dim, 0);
    if (!m->shared_classifier) {
        rc |= put_matrix(w, "output.weight", cls_type, m->wcls, c->dim, c->vocab_size);
    }
    if (rc || zk_gguf_w_save(w, path)) {
        snprintf(err, errlen, "%s: cannot write the GGUF file", path);
        rc = -1;
    }
    zk_gguf_writer_free(w);
    return rc ? -1 : 0;
}
