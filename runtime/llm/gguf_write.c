/* SPDX-License-Identifier: MIT */
/* gguf_write.c - build a GGUF file in memory (tests, generated models). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"

typedef struct wtensor {
    char *name;
    uint32_t type, n_dims;
    uint64_t ne[ZK_GGUF_MAX_DIMS];
    uint8_t *data;
    size_t bytes;
} wtensor;

struct zk_gguf_writer {
    uint32_t version, alignment;
    uint8_t *kv;                /* serialised key/values */
    size_t kv_len, kv_cap;
    uint64_t n_kv;
    wtensor *t;
    size_t n_t, cap_t;
    int failed;
};

static int put(zk_gguf_writer *w, const void *p, size_t n)
{
    if (w->failed) {
        return -1;
    }
    if (w->kv_len + n > w->kv_cap) {
        size_t cap = w->kv_cap ? w->kv_cap : 1024;
        while (cap < w->kv_len + n) {
            cap *= 2;
        }
        uint8_t *b = realloc(w->kv, cap);
        if (!b) {
            w->failed = 1;
            return -1;
        }
        w->kv = b;
        w->kv_cap = cap;
    }
    memcpy(w->kv + w->kv_len, p, n);
    w->kv_len += n;
    return 0;
}

static int put_le(zk_gguf_writer *w, uint64_t v, size_t n)
{
    uint8_t b[8];
    for (size_t i = 0; i < n; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    return put(w, b, n);
}

static int put_str(zk_gguf_writer *w, const char *s)
{
    size_t n = strlen(s);
    return put_le(w, n, 8) || put(w, s, n);
}

static int key(zk_gguf_writer *w, const char *k, uint32_t type)
{
    w->n_kv++;
    return put_str(w, k) || put_le(w, type, 4);
}

zk_gguf_writer *zk_gguf_writer_new(uint32_t version, uint32_t alignment)
{
    zk_gguf_writer *w = calloc(1, sizeof(*w));
    if (w) {
        w->version = version;
        w->alignment = alignment ? alignment : ZK_GGUF_DEFAULT_ALIGNMENT;
        if (alignment && alignment != ZK_GGUF_DEFAULT_ALIGNMENT) {
            zk_gguf_w_u32(w, "general.alignment", alignment);
        }
    }
    return w;
}

void zk_gguf_writer_free(zk_gguf_writer *w)
{
    if (w) {
        for (size_t i = 0; i < w->n_t; i++) {
            free(w->t[i].name);
            free(w->t[i].data);
        }
        free(w->t);
        free(w->kv);
        free(w);
    }
}

int zk_gguf_w_u32(zk_gguf_writer *w, const char *k, uint32_t v)
{
    return key(w, k, ZK_GGUF_U32) || put_le(w, v, 4);
}

int zk_gguf_w_i32(zk_gguf_writer *w, const char *k, int32_t v)
{
    return key(w, k, ZK_GGUF_I32) || put_le(w, (uint32_t)v, 4);
}

int zk_gguf_w_u64(zk_gguf_writer *w, const char *k, uint64_t v)
{
    return key(w, k, ZK_GGUF_U64) || put_le(w, v, 8);
}

int zk_gguf_w_f32(zk_gguf_writer *w, const char *k, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    return key(w, k, ZK_GGUF_F32) || put_le(w, u, 4);
}

int zk_gguf_w_bool(zk_gguf_writer *w, const char *k, int v)
{
    return key(w, k, ZK_GGUF_BOOL) || put_le(w, v ? 1 : 0, 1);
}

int zk_gguf_w_str(zk_gguf_writer *w, const char *k, const char *v)
{
    return key(w, k, ZK_GGUF_STRING) || put_str(w, v);
}

int zk_gguf_w_arr_str(zk_gguf_writer *w, const char *k, const char *const *v, uint64_t n)
{
    if (key(w, k, ZK_GGUF_ARRAY) || put_le(w, ZK_GGUF_STRING, 4) || put_le(w, n, 8)) {
        return -1;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (put_str(w, v[i])) {
            return -1;
        }
    }
    return 0;
}

int zk_gguf_w_arr_f32(zk_gguf_writer *w, const char *k, const float *v, uint64_t n)
{
    if (key(w, k, ZK_GGUF_ARRAY) || put_le(w, ZK_GGUF_F32, 4) || put_le(w, n, 8)) {
        return -1;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        if (put_le(w, u, 4)) {
            return -1;
        }
    }
    return 0;
}

int zk_gguf_w_arr_i32(zk_gguf_writer *w, const char *k, const int32_t *v, uint64_t n)
{
    if (key(w, k, ZK_GGUF_ARRAY) || put_le(w, ZK_GGUF_I32, 4) || put_le(w, n, 8)) {
        return -1;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (put_le(w, (uint32_t)v[i], 4)) {
            return -1;
        }
    }
    return 0;
}

int zk_gguf_w_tensor(zk_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                     const uint64_t *ne, const void *data, size_t bytes)
{
    uint32_t block, bb;
    uint64_t n = 1;
    wtensor *t;
    if (w->failed || n_dims == 0 || n_dims > ZK_GGUF_MAX_DIMS || !zk_ggml_type_size(type, &block, &bb)) {
        w->failed = 1;
        return -1;
    }
    for (uint32_t d = 0; d < n_dims; d++) {
        n *= ne[d];
    }
    if (ne[0] % block || n / block * bb != bytes) {
        w->failed = 1;
        return -1;
    }
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? w->cap_t * 2 : 16;
        wtensor *nt = realloc(w->t, cap * sizeof(*nt));
        if (!nt) {
            w->failed = 1;
            return -1;
        }
        w->t = nt;
        w->cap_t = cap;
    }
    t = &w->t[w->n_t];
    memset(t, 0, sizeof(*t));
    t->name = strdup(name);
    t->data = malloc(bytes ? bytes : 1);
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        w->failed = 1;
        return -1;
    }
    memcpy(t->data, data, bytes);
    t->bytes = bytes;
    t->type = type;
    t->n_dims = n_dims;
    for (uint32_t d = 0; d < ZK_GGUF_MAX_DIMS; d++) {
        t->ne[d] = d < n_dims ? ne[d] : 1;
    }
    w->n_t++;
    return 0;
}

static size_t align_up(size_t x, size_t a)
{
    return (x + a - 1) / a * a;
}

uint8_t *zk_gguf_w_bytes(zk_gguf_writer *w, size_t *len)
{
    size_t kv_end = w->kv_len, n_kv = w->n_kv;
    uint8_t *out = NULL;
    size_t off = 0;
    if (w->failed) {
        return NULL;
    }
    /* Header and tensor infos go into the same growable buffer after the
     * key/values; then it is assembled in order. */
    zk_gguf_writer hdr = { 0 };
    put(&hdr, "GGUF", 4);
    put_le(&hdr, w->version, 4);
    put_le(&hdr, w->n_t, 8);
    put_le(&hdr, n_kv, 8);
    put(&hdr, w->kv, kv_end);
    for (size_t i = 0; i < w->n_t; i++) {
        wtensor *t = &w->t[i];
        put_str(&hdr, t->name);
        put_le(&hdr, t->n_dims, 4);
        for (uint32_t d = 0; d < t->n_dims; d++) {
            put_le(&hdr, t->ne[d], 8);
        }
        put_le(&hdr, t->type, 4);
        put_le(&hdr, off, 8);
        off = align_up(off + t->bytes, w->alignment);
    }
    if (hdr.failed) {
        free(hdr.kv);
        return NULL;
    }
    size_t data_at = align_up(hdr.kv_len, w->alignment);
    size_t total = w->n_t ? data_at + off : hdr.kv_len;
    out = calloc(1, total ? total : 1);
    if (out) {
        memcpy(out, hdr.kv, hdr.kv_len);
        off = 0;
        for (size_t i = 0; i < w->n_t; i++) {
            memcpy(out + data_at + off, w->t[i].data, w->t[i].bytes);
            off = align_up(off + w->t[i].bytes, w->alignment);
        }
        *len = total;
    }
    free(hdr.kv);
    return out;
}

int zk_gguf_w_save(zk_gguf_writer *w, const char *path)
{
    size_t len;
    uint8_t *b = zk_gguf_w_bytes(w, &len);
    FILE *f;
    int rc = -1;
    if (!b) {
        errno = ENOMEM;
        return -1;
    }
    if ((f = fopen(path, "wb"))) {
        rc = fwrite(b, 1, len, f) == len ? 0 : -1;
        if (fclose(f)) {
            rc = -1;
        }
    }
    free(b);
    return rc;
}
