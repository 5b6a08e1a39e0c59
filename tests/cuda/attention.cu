/* SPDX-License-Identifier: MIT */
/*
 * attention.cu - one decode step of multi-head attention over a KV cache:
 * block h handles query head h (grouped: kv head h / (heads / kv_heads)),
 * scores for positions 0..len-1 in dynamic shared memory, softmax, then
 * out[h] = sum_t p[t] * v[t].  k, v: [len][kv_heads][dim].
 */
#include <cuda_runtime.h>

extern __shared__ float att_scores[];

extern "C" __global__ void attention(const float *q, const float *k, const float *v, float *out,
                                     int len, int heads, int kv_heads, int dim)
{
    __shared__ float red[64];
    int h = blockIdx.x, kvh = h / (heads / kv_heads);
    unsigned int tid = threadIdx.x;
    const float *qh = q + h * dim;
    float scale = rsqrtf((float)dim);
    for (int t = tid; t < len; t += blockDim.x) {
        const float *kt = k + ((size_t)t * kv_heads + kvh) * dim;
        float s = 0.0f;
        for (int d = 0; d < dim; d++) {
            s += qh[d] * kt[d];
        }
        att_scores[t] = s * scale;
    }
    __syncthreads();
    float m = -3.0e38f;
    for (int t = tid; t < len; t += blockDim.x) {
        m = fmaxf(m, att_scores[t]);
    }
    red[tid] = m;
    __syncthreads();
    for (unsigned int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) {
            red[tid] = fmaxf(red[tid], red[tid + s]);
        }
        __syncthreads();
    }
    m = red[0];
    __syncthreads();
    float sum = 0.0f;
    for (int t = tid; t < len; t += blockDim.x) {
        float e = expf(att_scores[t] - m);
        att_scores[t] = e;
        sum += e;
    }
    red[tid] = sum;
    __syncthreads();
    for (unsigned int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) {
            red[tid] += red[tid + s];
        }
        __syncthreads();
    }
    float inv = 1.0f / red[0];
    for (int d = tid; d < dim; d += blockDim.x) {
        float acc = 0.0f;
        for (int t = 0; t < len; t++) {
            acc += att_scores[t] * v[((size_t)t * kv_heads + kvh) * dim + d];
        }
        out[h * dim + d] = acc * inv;
    }
}
