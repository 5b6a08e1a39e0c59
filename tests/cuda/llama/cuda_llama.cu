/* SPDX-License-Identifier: MIT */
/*
 * cuda_llama.cu - the project's llama decode as a plain CUDA program: the
 * runtime API, <<<>>> launches of its own kernels (rmsnorm, RoPE, softmax,
 * SwiGLU, residual adds) and cublasSgemv for every matrix-vector product,
 * the attention scores and weighted values included.
 * It reads a llama2.c checkpoint (the format zk-mkmodel writes and zk-llm
 * reads: 7 int header, fp32 weights, negative vocab = separate classifier)
 * and decodes greedily, one token at a time as llama2.c's run.c does.
 *
 *   cuda-llama MODEL [-n STEPS] [-p "ID ID ..."]
 * prints "tokens: ..." (prompt then generated ids) and
 * "decode: N tokens in S s, T tok/s".
 *
 * Nothing here is zhikai-specific: it builds with clang-14 against our CUDA
 * headers (runtime/cuda/include) and links libcudart + libcublas.
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CK(x) do { cudaError_t e_ = (x); if (e_ != cudaSuccess) { \
    fprintf(stderr, "cuda-llama: %s: %s\n", #x, cudaGetErrorString(e_)); exit(1); } } while (0)
#define CB(x) do { cublasStatus_t s_ = (x); if (s_ != CUBLAS_STATUS_SUCCESS) { \
    fprintf(stderr, "cuda-llama: %s: %s\n", #x, cublasGetStatusName(s_)); exit(1); } } while (0)

#define BLOCK 128

struct config {
    int dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len;
};

/* out = w * x / sqrt(mean(x^2) + eps); one block. */
__global__ void rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
    __shared__ float red[BLOCK];
    unsigned int t = threadIdx.x;
    float ss = 0.0f;
    for (int i = t; i < n; i += blockDim.x) {
        ss += x[i] * x[i];
    }
    red[t] = ss;
    __syncthreads();
    for (unsigned int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) {
            red[t] += red[t + s];
        }
        __syncthreads();
    }
    float inv = 1.0f / sqrtf(red[0] / n + eps);
    for (int i = t; i < n; i += blockDim.x) {
        out[i] = w[i] * (inv * x[i]);
    }
}

/* Rotate pairs (2j, 2j+1) of each head by the position's angles
 * (cos/sin tables [head_dim / 2] for this position). */
__global__ void rope(float *v, int n, int head_dim, const float *cs, const float *sn)
{
    int p = blockIdx.x * blockDim.x + threadIdx.x;
    int i = 2 * p;
    if (i + 1 < n) {
        int j = (i % head_dim) / 2;
        float c = cs[j], s = sn[j], v0 = v[i], v1 = v[i + 1];
        v[i] = v0 * c - v1 * s;
        v[i + 1] = v0 * s + v1 * c;
    }
}

/* Softmax of each row of scores (rows of @len valid entries, @ld apart):
 * one warp per row, eight rows per block (fewer, larger blocks: a block
 * costs more to start on the card's SIMT unit than a warp's work here). */
__global__ void softmax_rows(float *scores, int rows, int len, int ld)
{
    int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
    if (row >= rows) {
        return;
    }
    float *r = scores + (size_t)row * ld;
    float m = -3.0e38f, sum = 0.0f;
    for (int p = lane; p < len; p += 32) {
        m = fmaxf(m, r[p]);
    }
    for (int o = 16; o > 0; o >>= 1) {
        m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    }
    for (int p = lane; p < len; p += 32) {
        float e = expf(r[p] - m);
        r[p] = e;
        sum += e;
    }
    for (int o = 16; o > 0; o >>= 1) {
        sum += __shfl_xor_sync(0xffffffffu, sum, o);
    }
    float inv = 1.0f / sum;
    for (int p = lane; p < len; p += 32) {
        r[p] *= inv;
    }
}

__global__ void add_inplace(float *x, const float *y, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        x[i] += y[i];
    }
}

/* a = silu(a) * b */
__global__ void swiglu(float *a, const float *b, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float v = a[i];
        a[i] = v / (1.0f + expf(-v)) * b[i];
    }
}

struct weights {
    float *tok_emb, *rms_att, *wq, *wk, *wv, *wo, *rms_ffn, *w1, *w2, *w3, *rms_final, *wcls;
};

static int blocks(int n)
{
    return (n + BLOCK - 1) / BLOCK;
}

/* y[n_out] = W[n_out][n_in] x: W row-major is the column-major n_in x n_out
 * matrix, so y = W^T x in cuBLAS's terms. */
static void matvec(cublasHandle_t h, float *y, const float *w, const float *x, int n_in, int n_out)
{
    const float one = 1.0f, zero = 0.0f;
    CB(cublasSgemv(h, CUBLAS_OP_T, n_in, n_out, &one, w, n_in, x, 1, &zero, y, 1));
}

/* Multi-head causal attention of one query over positions 0..len-1 of a
 * layer's KV cache (rows of kv_dim floats; grouped-query: kv head
 * h / (heads / kv_heads)): per head, scores = K_h q_h / sqrt(hd) and
 * out_h = V_h^T softmax(scores), both matrix-vector products in cuBLAS's
 * column-major terms (K_h, V_h: hd x len with leading dimension kv_dim). */
static void attention(cublasHandle_t h, float *out, const float *q, const float *kc, const float *vc,
                      float *att, int len, const struct config *c)
{
    int hd = c->dim / c->n_heads, kv_dim = hd * c->n_kv_heads, group = c->n_heads / c->n_kv_heads;
    const float scale = 1.0f / sqrtf((float)hd), one = 1.0f, zero = 0.0f;
    for (int hh = 0; hh < c->n_heads; hh++) {
        const float *k = kc + (hh / group) * hd;
        CB(cublasSgemv(h, CUBLAS_OP_T, hd, len, &scale, k, kv_dim, q + hh * hd, 1, &zero,
                       att + (size_t)hh * c->seq_len, 1));
    }
    softmax_rows<<<(c->n_heads + 7) / 8, 256>>>(att, c->n_heads, len, c->seq_len);
    for (int hh = 0; hh < c->n_heads; hh++) {
        const float *v = vc + (hh / group) * hd;
        CB(cublasSgemv(h, CUBLAS_OP_N, hd, len, &one, v, kv_dim, att + (size_t)hh * c->seq_len, 1,
                       &zero, out + hh * hd, 1));
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    struct config c;
    struct weights w;
    const char *path = argc > 1 ? argv[1] : NULL, *prompt = "1";
    int steps = 32, shared, i, l;
    for (i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-n")) {
            steps = atoi(argv[i + 1]);
        } else if (!strcmp(argv[i], "-p")) {
            prompt = argv[i + 1];
        } else {
            path = NULL;
        }
    }
    if (!path || i != argc || steps < 1) {
        fprintf(stderr, "usage: cuda-llama MODEL [-n STEPS] [-p \"ID ID ...\"]\n");
        return 2;
    }
    FILE *f = fopen(path, "rb");
    if (!f || fread(&c, sizeof(c), 1, f) != 1) {
        fprintf(stderr, "cuda-llama: cannot read %s\n", path);
        return 1;
    }
    shared = c.vocab_size > 0;
    c.vocab_size = abs(c.vocab_size);
    if (c.dim <= 0 || c.hidden_dim <= 0 || c.n_layers <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 ||
        c.dim % c.n_heads || c.n_heads % c.n_kv_heads || c.vocab_size <= 0 || c.seq_len <= 0 ||
        c.dim > 65536 || c.hidden_dim > 1 << 18 || c.n_layers > 1024 || c.vocab_size > 1 << 20 ||
        c.seq_len > 1 << 16) {
        fprintf(stderr, "cuda-llama: %s: bad header\n", path);
        return 1;
    }
    int d = c.dim, hd = c.dim / c.n_heads, kv = hd * c.n_kv_heads, hid = c.hidden_dim;
    size_t L = c.n_layers;
    /* The checkpoint's fp32 arrays, in file order (then the unused RoPE
     * tables of llama2.c, then the classifier if it is separate). */
    size_t nfl = (size_t)c.vocab_size * d + L * d + L * d * d + 2 * L * kv * d + L * d * d + L * d +
                 3 * L * hid * d + d;
    size_t skip = (size_t)c.seq_len * hd;   /* freq_cis_real + imag: seq_len * hd / 2 each */
    size_t ncls = shared ? 0 : (size_t)c.vocab_size * d;
    float *host = (float *)malloc((nfl + skip + ncls) * sizeof(float));
    if (!host || fread(host, sizeof(float), nfl + skip + ncls, f) != nfl + skip + ncls) {
        fprintf(stderr, "cuda-llama: %s: truncated\n", path);
        return 1;
    }
    fclose(f);
    float *dw;
    CK(cudaMalloc((void **)&dw, (nfl + ncls) * sizeof(float)));
    CK(cudaMemcpy(dw, host, nfl * sizeof(float), cudaMemcpyHostToDevice));
    if (ncls) {
        CK(cudaMemcpy(dw + nfl, host + nfl + skip, ncls * sizeof(float), cudaMemcpyHostToDevice));
    }
    {
        float *p = dw;
        w.tok_emb = p; p += (size_t)c.vocab_size * d;
        w.rms_att = p; p += L * d;
        w.wq = p; p += L * d * d;
        w.wk = p; p += L * kv * d;
        w.wv = p; p += L * kv * d;
        w.wo = p; p += L * d * d;
        w.rms_ffn = p; p += L * d;
        w.w1 = p; p += L * hid * d;
        w.w2 = p; p += L * d * hid;
        w.w3 = p; p += L * hid * d;
        w.rms_final = p; p += d;
        w.wcls = shared ? w.tok_emb : p;
    }
    /* RoPE angles per position, computed on the host as the reference does
     * (theta 10000): the device's sin/cos are approximations that lose
     * accuracy at large angles. */
    float *cs_h = (float *)malloc((size_t)c.seq_len * hd / 2 * sizeof(float) * 2), *dcs;
    for (int p = 0; p < c.seq_len; p++) {
        for (int j = 0; j < hd / 2; j++) {
            float freq = 1.0f / powf(10000.0f, (float)(2 * j) / (float)hd);
            float val = (float)p * freq;
            cs_h[(size_t)p * hd + j] = cosf(val);
            cs_h[(size_t)p * hd + hd / 2 + j] = sinf(val);
        }
    }
    CK(cudaMalloc((void **)&dcs, (size_t)c.seq_len * hd * sizeof(float)));
    CK(cudaMemcpy(dcs, cs_h, (size_t)c.seq_len * hd * sizeof(float), cudaMemcpyHostToDevice));

    float *x, *xb, *xb2, *q, *hb, *hb2, *logits, *kcache, *vcache, *att;
    CK(cudaMalloc((void **)&x, d * sizeof(float)));
    CK(cudaMalloc((void **)&xb, d * sizeof(float)));
    CK(cudaMalloc((void **)&xb2, d * sizeof(float)));
    CK(cudaMalloc((void **)&q, d * sizeof(float)));
    CK(cudaMalloc((void **)&hb, hid * sizeof(float)));
    CK(cudaMalloc((void **)&hb2, hid * sizeof(float)));
    CK(cudaMalloc((void **)&logits, c.vocab_size * sizeof(float)));
    CK(cudaMalloc((void **)&att, (size_t)c.n_heads * c.seq_len * sizeof(float)));
    CK(cudaMalloc((void **)&kcache, L * c.seq_len * kv * sizeof(float)));
    CK(cudaMalloc((void **)&vcache, L * c.seq_len * kv * sizeof(float)));
    float *logits_h = (float *)malloc(c.vocab_size * sizeof(float));

    cublasHandle_t h;
    CB(cublasCreate(&h));

    int *toks = (int *)malloc((size_t)(c.seq_len + 1) * sizeof(int)), n_prompt = 0;
    for (const char *s = prompt; *s && n_prompt < c.seq_len;) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s) {
            break;
        }
        if (v < 0 || v >= c.vocab_size) {
            fprintf(stderr, "cuda-llama: prompt token %ld out of range\n", v);
            return 1;
        }
        toks[n_prompt++] = (int)v;
        s = end;
    }
    if (n_prompt == 0) {
        fprintf(stderr, "cuda-llama: empty prompt\n");
        return 1;
    }
    int total = n_prompt + steps;
    if (total > c.seq_len) {
        total = c.seq_len;
    }
    double t0 = 0;
    int n_gen = 0;
    for (int pos = 0; pos + 1 < total; pos++) {
        if (pos == n_prompt - 1) {
            t0 = now();
        }
        int tok = toks[pos];
        CK(cudaMemcpyAsync(x, w.tok_emb + (size_t)tok * d, d * sizeof(float), cudaMemcpyDeviceToDevice, 0));
        for (l = 0; l < (int)L; l++) {
            float *kc = kcache + (size_t)l * c.seq_len * kv, *vc = vcache + (size_t)l * c.seq_len * kv;
            float *krow = kc + (size_t)pos * kv, *vrow = vc + (size_t)pos * kv;
            const float *cs = dcs + (size_t)pos * hd, *sn = cs + hd / 2;
            rmsnorm<<<1, BLOCK>>>(xb, x, w.rms_att + (size_t)l * d, d, 1e-5f);
            matvec(h, q, w.wq + (size_t)l * d * d, xb, d, d);
            matvec(h, krow, w.wk + (size_t)l * kv * d, xb, d, kv);
            matvec(h, vrow, w.wv + (size_t)l * kv * d, xb, d, kv);
            rope<<<blocks(d / 2), BLOCK>>>(q, d, hd, cs, sn);
            rope<<<blocks(kv / 2), BLOCK>>>(krow, kv, hd, cs, sn);
            attention(h, xb, q, kc, vc, att, pos + 1, &c);
            matvec(h, xb2, w.wo + (size_t)l * d * d, xb, d, d);
            add_inplace<<<blocks(d), BLOCK>>>(x, xb2, d);
            rmsnorm<<<1, BLOCK>>>(xb, x, w.rms_ffn + (size_t)l * d, d, 1e-5f);
            matvec(h, hb, w.w1 + (size_t)l * hid * d, xb, d, hid);
            matvec(h, hb2, w.w3 + (size_t)l * hid * d, xb, d, hid);
            swiglu<<<blocks(hid), BLOCK>>>(hb, hb2, hid);
            matvec(h, xb2, w.w2 + (size_t)l * d * hid, hb, hid, d);
            add_inplace<<<blocks(d), BLOCK>>>(x, xb2, d);
        }
        CK(cudaGetLastError());
        if (pos + 1 < n_prompt) {
            continue;       /* prompt token: only its KV entries matter */
        }
        rmsnorm<<<1, BLOCK>>>(x, x, w.rms_final, d, 1e-5f);
        matvec(h, logits, w.wcls, x, d, c.vocab_size);
        CK(cudaMemcpy(logits_h, logits, c.vocab_size * sizeof(float), cudaMemcpyDeviceToHost));
        int best = 0;
        for (i = 1; i < c.vocab_size; i++) {
            best = logits_h[i] > logits_h[best] ? i : best;
        }
        toks[pos + 1] = best;
        n_gen++;
    }
    double dt = now() - t0;
    printf("tokens:");
    for (i = 0; i < total; i++) {
        printf(" %d", toks[i]);
    }
    printf("\ndecode: %d tokens in %.3f s, %.2f tok/s\n", n_gen, dt, n_gen / (dt > 0 ? dt : 1e-9));
    CB(cublasDestroy(h));
    cudaFree(dw);
    cudaFree(dcs);
    cudaFree(x);
    cudaFree(xb);
    cudaFree(xb2);
    cudaFree(q);
    cudaFree(hb);
    cudaFree(hb2);
    cudaFree(logits);
    cudaFree(att);
    cudaFree(kcache);
    cudaFree(vcache);
    free(host);
    free(cs_h);
    free(logits_h);
    free(toks);
    return 0;
}
