/* SPDX-License-Identifier: MIT */
/*
 * ref.c - CPU reference forward pass, llama2.c run.c style: one token at a
 * time, a contiguous KV cache, one function per step.  Sums accumulate in
 * double (as the card's norms do) so the reference is the more accurate
 * side of any comparison.  With an int8 model the matmuls quantize the
 * activation row (s = max|x|/127, round to nearest even) and multiply in
 * integers exactly like the card's quantize_i8 + gemm_i8_deq_bt.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"

void zk_ref_rmsnorm(float *o, const float *x, const float *w, int n)
{
    zk_ref_rmsnorm_eps(o, x, w, n, ZK_LLM_RMS_EPS);
}

void zk_ref_rmsnorm_eps(float *o, const float *x, const float *w, int n, float eps)
{
    double ss = 0;
    for (int i = 0; i < n; i++) {
        ss += (double)x[i] * x[i];
    }
    float inv = (float)(1.0 / sqrt(ss / n + eps));
    for (int i = 0; i < n; i++) {
        o[i] = w[i] * (inv * x[i]);
    }
}

/* o[n_out] = W[n_out][n_in] x[n_in] */
void zk_ref_matmul(float *o, const float *x, const float *w, int n_in, int n_out)
{
    for (int i = 0; i < n_out; i++) {
        const float *row = w + (size_t)i * n_in;
        double s = 0;
        for (int j = 0; j < n_in; j++) {
            s += (double)row[j] * x[j];
        }
        o[i] = (float)s;
    }
}

void zk_ref_matmul_q8(float *o, const float *x, const zk_llm_qmat *w, int n_in, int n_out,
                      int8_t *q)
{
    float amax = 0.0f, s;
    for (int j = 0; j < n_in; j++) {
        float a = fabsf(x[j]);
        amax = a > amax ? a : amax;
    }
    s = amax / 127.0f;
    for (int j = 0; j < n_in; j++) {
        float v = s > 0.0f ? nearbyintf(x[j] / s) : 0.0f;
        v = v < -128.0f ? -128.0f : v > 127.0f ? 127.0f : v;
        q[j] = (int8_t)v;
    }
    for (int i = 0; i < n_out; i++) {
        const int8_t *row = w->q + (size_t)i * n_in;
        int32_t acc = 0;
        for (int j = 0; j < n_in; j++) {
            acc += (int32_t)row[j] * q[j];
        }
        o[i] = (float)acc * s * w->s[i];
    }
}

void zk_ref_rope(float *x, int n, int head_dim, int pos)
{
    zk_ref_rope_ex(x, n, head_dim, pos, 10000.0f, 1.0f);
}

void zk_ref_rope_ex(float *x, int n, int head_dim, int pos, float theta, float scale)
{
    for (int i = 0; i + 1 < n; i += 2) {
        float hd = (float)(i % head_dim);
        float freq = 1.0f / powf(theta, hd / (float)head_dim);
        float val = (float)pos * scale * freq;
        float fcr = cosf(val), fci = sinf(val);
        float v0 = x[i], v1 = x[i + 1];
        x[i] = v0 * fcr - v1 * fci;
        x[i + 1] = v0 * fci + v1 * fcr;
    }
}

void zk_ref_softmax(float *x, int n)
{
    float m = x[0];
    double sum = 0;
    for (int i = 1; i < n; i++) {
        m = x[i] > m ? x[i] : m;
    }
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - m);
        sum += x[i];
    }
    for (int i = 0; i < n; i++) {
        x[i] = (float)(x[i] / sum);
    }
}

/* Multi-head (GQA) causal attention of one query over positions 0..pos. */
void zk_ref_attention(float *out, const float *q, const float *kc, const float *vc,
                      float *att, int pos, int n_heads, int n_kv_heads, int head_dim,
                      int kv_stride)
{
    int group = n_heads / n_kv_heads;
    double scale = 1.0 / sqrt((double)head_dim);
    for (int h = 0; h < n_heads; h++) {
        const float *qh = q + h * head_dim;
        int kvh = h / group;
        for (int t = 0; t <= pos; t++) {
            const float *k = kc + (size_t)t * kv_stride + kvh * head_dim;
            double s = 0;
            for (int i = 0; i < head_dim; i++) {
                s += (double)qh[i] * k[i];
            }
            att[t] = (float)(s * scale);
        }
        zk_ref_softmax(att, pos + 1);
        for (int i = 0; i < head_dim; i++) {
            double acc = 0;
            for (int t = 0; t <= pos; t++) {
                acc += (double)att[t] * vc[(size_t)t * kv_stride + kvh * head_dim + i];
            }
            out[h * head_dim + i] = (float)acc;
        }
    }
}

void zk_ref_swiglu(float *a, const float *b, int n)
{
    for (int i = 0; i < n; i++) {
        float x = a[i];
        a[i] = x / (1.0f + expf(-x)) * b[i];
    }
}

int zk_llm_ref_init(zk_llm_ref *r, const zk_llm_model *m)
{
    const zk_llm_config *c = &m->c;
    size_t kv = (size_t)zk_llm_kv_dim(c);
    size_t big = (size_t)(c->hidden_dim > c->dim ? c->hidden_dim : c->dim);
    memset(r, 0, sizeof(*r));
    r->m = m;
    r->x = calloc(c->dim, sizeof(float));
    r->xb = calloc(c->dim, sizeof(float));
    r->xb2 = calloc(c->dim, sizeof(float));
    r->hb = calloc(c->hidden_dim, sizeof(float));
    r->hb2 = calloc(c->hidden_dim, sizeof(float));
    r->q = calloc(c->dim, sizeof(float));
    r->att = calloc(c->seq_len, sizeof(float));
    r->logits = calloc(c->vocab_size, sizeof(float));
    r->key_cache = calloc((size_t)c->n_layers * c->seq_len * kv, sizeof(float));
    r->value_cache = calloc((size_t)c->n_layers * c->seq_len * kv, sizeof(float));
    r->qbuf = calloc(big, 1);
    if (!r->x || !r->xb || !r->xb2 || !r->hb || !r->hb2 || !r->q || !r->att || !r->logits ||
        !r->key_cache || !r->value_cache || !r->qbuf) {
        zk_llm_ref_free(r);
        return -1;
    }
    return 0;
}

void zk_llm_ref_free(zk_llm_ref *r)
{
    free(r->x);
    free(r->xb);
    free(r->xb2);
    free(r->hb);
    free(r->hb2);
    free(r->q);
    free(r->att);
    free(r->logits);
    free(r->key_cache);
    free(r->value_cache);
    free(r->qbuf);
    memset(r, 0, sizeof(*r));
}

/* One matmul of the model: f32 or int8 weights. */
static void mm(zk_llm_ref *r, float *o, const float *x, const float *w,
               const zk_llm_qmat *qw, int n_in, int n_out)
{
    if (r->m->int8) {
        zk_ref_matmul_q8(o, x, qw, n_in, n_out, r->qbuf);
    } else {
        zk_ref_matmul(o, x, w, n_in, n_out);
    }
}

float *zk_llm_ref_forward(zk_llm_ref *r, int32_t token, int pos)
{
    const zk_llm_model *m = r->m;
    const zk_llm_config *c = &m->c;
    int d = c->dim, h = c->hidden_dim, kv = zk_llm_kv_dim(c), hd = zk_llm_head_dim(c);
    int q8 = m->int8;

    memcpy(r->x, m->tok_emb + (size_t)token * d, d * sizeof(float));
    for (int l = 0; l < c->n_layers; l++) {
        size_t lo = (size_t)l * c->seq_len * kv;
        float *kr = r->key_cache + lo + (size_t)pos * kv;
        float *vr = r->value_cache + lo + (size_t)pos * kv;

        zk_ref_rmsnorm_eps(r->xb, r->x, m->rms_att + (size_t)l * d, d, m->rms_eps);
        mm(r, r->q, r->xb, m->wq + (size_t)l * d * d, q8 ? &m->qwq[l] : NULL, d, d);
        mm(r, kr, r->xb, m->wk + (size_t)l * kv * d, q8 ? &m->qwk[l] : NULL, d, kv);
        mm(r, vr, r->xb, m->wv + (size_t)l * kv * d, q8 ? &m->qwv[l] : NULL, d, kv);
        zk_ref_rope_ex(r->q, d, hd, pos, m->rope_theta, m->rope_scale);
        zk_ref_rope_ex(kr, kv, hd, pos, m->rope_theta, m->rope_scale);
        zk_ref_attention(r->xb, r->q, r->key_cache + lo, r->value_cache + lo, r->att, pos,
                         c->n_heads, c->n_kv_heads, hd, kv);
        mm(r, r->xb2, r->xb, m->wo + (size_t)l * d * d, q8 ? &m->qwo[l] : NULL, d, d);
        for (int i = 0; i < d; i++) {
            r->x[i] += r->xb2[i];
        }
        zk_ref_rmsnorm_eps(r->xb, r->x, m->rms_ffn + (size_t)l * d, d, m->rms_eps);
        mm(r, r->hb, r->xb, m->w1 + (size_t)l * h * d, q8 ? &m->qw1[l] : NULL, d, h);
        mm(r, r->hb2, r->xb, m->w3 + (size_t)l * h * d, q8 ? &m->qw3[l] : NULL, d, h);
        zk_ref_swiglu(r->hb, r->hb2, h);
        mm(r, r->xb2, r->hb, m->w2 + (size_t)l * d * h, q8 ? &m->qw2[l] : NULL, h, d);
        for (int i = 0; i < d; i++) {
            r->x[i] += r->xb2[i];
        }
    }
    zk_ref_rmsnorm_eps(r->x, r->x, m->rms_final, d, m->rms_eps);
    mm(r, r->logits, r->x, m->wcls, q8 ? &m->qwcls : NULL, d, c->vocab_size);
    return r->logits;
}
