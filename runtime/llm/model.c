/* SPDX-License-Identifier: MIT */
/* model.c - llama2.c checkpoint loader, int8 quantization, sampling. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gguf.h"
#include "llm.h"

double zk_llm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int quantize(zk_llm_qmat *qm, const float *w, int rows, int cols)
{
    qm->q = malloc((size_t)rows * cols);
    qm->s = malloc((size_t)rows * sizeof(float));
    if (!qm->q || !qm->s) {
        return -1;
    }
    for (int r = 0; r < rows; r++) {
        const float *x = w + (size_t)r * cols;
        float amax = 0.0f, s;
        for (int i = 0; i < cols; i++) {
            float a = fabsf(x[i]);
            amax = a > amax ? a : amax;
        }
        s = amax / 127.0f;
        qm->s[r] = s;
        for (int i = 0; i < cols; i++) {
            float v = s > 0.0f ? nearbyintf(x[i] / s) : 0.0f;
            v = v < -128.0f ? -128.0f : v > 127.0f ? 127.0f : v;
            qm->q[(size_t)r * cols + i] = (int8_t)v;
        }
    }
    return 0;
}

static void qfree(zk_llm_qmat *q, int n)
{
    if (!q) {
        return;
    }
    for (int i = 0; i < n; i++) {
        free(q[i].q);
        free(q[i].s);
    }
}

void zk_llm_model_free(zk_llm_model *m)
{
    int L = m->c.n_layers;
    zk_llm_qmat *all[] = { m->qwq, m->qwk, m->qwv, m->qwo, m->qw1, m->qw2, m->qw3 };
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        qfree(all[i], L);
        free(all[i]);
    }
    qfree(&m->qwcls, 1);
    free(m->data);
    free(m->qt);
    if (m->gguf) {
        zk_gguf_close(m->gguf);
        free(m->gguf);
    }
    memset(m, 0, sizeof(*m));
}

size_t zk_llm_model_weight_bytes(const zk_llm_model *m)
{
    const zk_llm_config *c = &m->c;
    if (!m->int8 && m->qt && (m->wtype == ZK_GGML_Q8_0 || m->wtype == ZK_GGML_Q4_0)) {
        /* Quantized on the card: the file's blocks + fp32 norms + one
         * embedding row. */
        size_t b = ((size_t)c->n_layers * 2 + 2) * (size_t)c->dim * 4;
        size_t cls = (size_t)c->n_layers * ZK_MAT_COUNT;
        for (size_t i = 0; i < cls; i++) {
            b += (size_t)m->qt[i]->size;
        }
        /* The classifier: its blocks when Q8_0/Q4_0 (llama.cpp's Q4_0 files
         * keep it in Q8_0), else fp32. */
        uint32_t ct = m->qt[cls]->type;
        return b + (ct == ZK_GGML_Q8_0 || ct == ZK_GGML_Q4_0 ? (size_t)m->qt[cls]->size
                                                             : (size_t)c->vocab_size * c->dim * 4);
    }
    size_t kv = (size_t)zk_llm_kv_dim(c), d = (size_t)c->dim, h = (size_t)c->hidden_dim;
    size_t mm = (size_t)c->n_layers * (2 * d * d + 2 * kv * d + 3 * h * d) + (size_t)c->vocab_size * d;
    size_t small = (size_t)c->n_layers * 2 * d + d + d;     /* norms + one embedding row */
    return (m->int8 ? mm : mm * 4) + small * 4;
}

int zk_llm_model_load(zk_llm_model *m, const char *path, int int8, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    int32_t hdr[7];
    long size;
    zk_llm_config *c = &m->c;
    float *p;
    size_t need;

    memset(m, 0, sizeof(*m));
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fread(hdr, 4, 1, f) == 1 && !memcmp(hdr, "GGUF", 4)) {
        fclose(f);
        return zk_llm_model_load_gguf(m, path, int8, err, errlen);
    }
    m->rms_eps = ZK_LLM_RMS_EPS;
    m->rope_theta = 10000.0f;
    m->rope_scale = 1.0f;
    m->wtype = ZK_GGML_F32;
    if (fseek(f, 0, SEEK_SET) || fread(hdr, sizeof(hdr), 1, f) != 1 || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0) {
        snprintf(err, errlen, "%s: cannot read the header", path);
        fclose(f);
        return -1;
    }
    memcpy(c, hdr, sizeof(hdr));
    m->shared_classifier = c->vocab_size > 0;
    c->vocab_size = abs(c->vocab_size);
    if (c->dim <= 0 || c->hidden_dim <= 0 || c->n_layers <= 0 || c->n_heads <= 0 ||
        c->n_kv_heads <= 0 || c->vocab_size <= 0 || c->seq_len <= 0 ||
        c->dim % c->n_heads || c->n_heads % c->n_kv_heads || (c->dim / c->n_heads) % 2 ||
        c->dim > 65536 || c->hidden_dim > 262144 || c->n_layers > 1024 ||
        c->vocab_size > 1 << 20 || c->seq_len > 1 << 20) {
        snprintf(err, errlen, "%s: implausible config %d %d %d %d %d %d %d", path, c->dim,
                 c->hidden_dim, c->n_layers, c->n_heads, c->n_kv_heads, c->vocab_size,
                 c->seq_len);
        fclose(f);
        return -1;
    }
    {
        size_t d = (size_t)c->dim, h = (size_t)c->hidden_dim, L = (size_t)c->n_layers;
        size_t kv = (size_t)zk_llm_kv_dim(c), hs = d / (size_t)c->n_heads;
        need = (size_t)c->vocab_size * d + L * d * 2 + L * (2 * d * d + 2 * kv * d + 3 * h * d) +
               d + (size_t)c->seq_len * hs + (m->shared_classifier ? 0 : (size_t)c->vocab_size * d);
    }
    m->n_floats = (size_t)(size - (long)sizeof(hdr)) / sizeof(float);
    if (m->n_floats < need) {
        snprintf(err, errlen, "%s: truncated (%zu floats, config needs %zu)", path,
                 m->n_floats, need);
        fclose(f);
        return -1;
    }
    m->data = malloc(m->n_floats * sizeof(float));
    if (!m->data || fseek(f, sizeof(hdr), SEEK_SET) ||
        fread(m->data, sizeof(float), m->n_floats, f) != m->n_floats) {
        snprintf(err, errlen, "%s: read failed", path);
        fclose(f);
        zk_llm_model_free(m);
        return -1;
    }
    fclose(f);
    p = zk_llm_model_layout(m);
    p += (size_t)c->seq_len * (size_t)zk_llm_head_dim(c);  /* freq_cis_real + freq_cis_imag */
    m->wcls = m->shared_classifier ? m->tok_emb : p;
    if (int8 && zk_llm_model_quantize_int8(m, err, errlen)) {
        return -1;
    }
    return 0;
}

float *zk_llm_model_layout(zk_llm_model *m)
{
    const zk_llm_config *c = &m->c;
    float *p;
    {
        size_t d = (size_t)c->dim, h = (size_t)c->hidden_dim, L = (size_t)c->n_layers;
        size_t kv = (size_t)zk_llm_kv_dim(c);
        p = m->data;
        m->tok_emb = p; p += (size_t)c->vocab_size * d;
        m->rms_att = p; p += L * d;
        m->wq = p; p += L * d * d;
        m->wk = p; p += L * kv * d;
        m->wv = p; p += L * kv * d;
        m->wo = p; p += L * d * d;
        m->rms_ffn = p; p += L * d;
        m->w1 = p; p += L * h * d;
        m->w2 = p; p += L * d * h;
        m->w3 = p; p += L * h * d;
        m->rms_final = p; p += d;
    }
    return p;
}

int zk_llm_model_quantize_int8(zk_llm_model *m, char *err, size_t errlen)
{
    const zk_llm_config *c = &m->c;
    {
        int L = c->n_layers, d = c->dim, h = c->hidden_dim, kv = zk_llm_kv_dim(c);
        int bad = 0;
        m->int8 = 1;
        m->qwq = calloc(L, sizeof(zk_llm_qmat));
        m->qwk = calloc(L, sizeof(zk_llm_qmat));
        m->qwv = calloc(L, sizeof(zk_llm_qmat));
        m->qwo = calloc(L, sizeof(zk_llm_qmat));
        m->qw1 = calloc(L, sizeof(zk_llm_qmat));
        m->qw2 = calloc(L, sizeof(zk_llm_qmat));
        m->qw3 = calloc(L, sizeof(zk_llm_qmat));
        bad = !m->qwq || !m->qwk || !m->qwv || !m->qwo || !m->qw1 || !m->qw2 || !m->qw3;
        for (int l = 0; !bad && l < L; l++) {
            bad |= quantize(&m->qwq[l], m->wq + (size_t)l * d * d, d, d);
            bad |= quantize(&m->qwk[l], m->wk + (size_t)l * kv * d, kv, d);
            bad |= quantize(&m->qwv[l], m->wv + (size_t)l * kv * d, kv, d);
            bad |= quantize(&m->qwo[l], m->wo + (size_t)l * d * d, d, d);
            bad |= quantize(&m->qw1[l], m->w1 + (size_t)l * h * d, h, d);
            bad |= quantize(&m->qw2[l], m->w2 + (size_t)l * d * h, d, h);
            bad |= quantize(&m->qw3[l], m->w3 + (size_t)l * h * d, h, d);
        }
        bad = bad || quantize(&m->qwcls, m->wcls, c->vocab_size, d);
        if (bad) {
            snprintf(err, errlen, "out of memory quantizing");
            zk_llm_model_free(m);
            return -1;
        }
    }
    return 0;
}

int32_t zk_llm_argmax(const float *x, int n)
{
    int32_t best = 0;
    for (int i = 1; i < n; i++) {
        if (x[i] > x[best]) {
            best = i;
        }
    }
    return best;
}

/* xorshift* as in llama2.c's sampler. */
static uint32_t rand_u32(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (uint32_t)((*s * 0x2545F4914F6CDD1Dull) >> 32);
}

int32_t zk_llm_sample(float *x, int n, float temperature, uint64_t *rng)
{
    float coin, cdf = 0.0f;
    if (temperature <= 0.0f) {
        return zk_llm_argmax(x, n);
    }
    for (int i = 0; i < n; i++) {
        x[i] /= temperature;
    }
    zk_ref_softmax(x, n);
    coin = (float)(rand_u32(rng) >> 8) / 16777216.0f;
    for (int i = 0; i < n; i++) {
        cdf += x[i];
        if (coin < cdf) {
            return i;
        }
    }
    return n - 1;
}
