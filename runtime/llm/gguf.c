/* SPDX-License-Identifier: MIT */
/* gguf.c - GGUF reader: one bounds-checked cursor over the mapped file. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf.h"

#define MAX_KEY_LEN 65535u
#define MAX_NAME_LEN 255u

static const struct {
    uint32_t block, bytes;
    const char *name;
} type_info[] = {
    [ZK_GGML_F32] = { 1, 4, "F32" },       [ZK_GGML_F16] = { 1, 2, "F16" },
    [ZK_GGML_Q4_0] = { 32, 18, "Q4_0" },   [ZK_GGML_Q4_1] = { 32, 20, "Q4_1" },
    [ZK_GGML_Q5_0] = { 32, 22, "Q5_0" },   [ZK_GGML_Q5_1] = { 32, 24, "Q5_1" },
    [ZK_GGML_Q8_0] = { 32, 34, "Q8_0" },   [ZK_GGML_Q8_1] = { 32, 36, "Q8_1" },
    [ZK_GGML_Q2_K] = { 256, 84, "Q2_K" },  [ZK_GGML_Q3_K] = { 256, 110, "Q3_K" },
    [ZK_GGML_Q4_K] = { 256, 144, "Q4_K" }, [ZK_GGML_Q5_K] = { 256, 176, "Q5_K" },
    [ZK_GGML_Q6_K] = { 256, 210, "Q6_K" }, [ZK_GGML_Q8_K] = { 256, 292, "Q8_K" },
    [ZK_GGML_BF16] = { 1, 2, "BF16" },
};

int zk_ggml_type_size(uint32_t type, uint32_t *block, uint32_t *block_bytes)
{
    if (type >= sizeof(type_info) / sizeof(type_info[0]) || !type_info[type].block) {
        return 0;
    }
    *block = type_info[type].block;
    *block_bytes = type_info[type].bytes;
    return 1;
}

const char *zk_ggml_type_name(uint32_t type)
{
    uint32_t b, s;
    return zk_ggml_type_size(type, &b, &s) ? type_info[type].name : "?";
}

/* Size of one scalar metadata value; 0 for string/array/unknown. */
static size_t scalar_size(uint32_t t)
{
    static const uint8_t sz[ZK_GGUF_VTYPE_COUNT] = { 1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8 };
    return t < ZK_GGUF_VTYPE_COUNT ? sz[t] : 0;
}

typedef struct cursor {
    const uint8_t *p;
    size_t size, off;
    char *err;
    size_t errlen;
    int failed;
} cursor;

static int fail(cursor *c, const char *fmt, ...)
{
    va_list ap;
    if (!c->failed) {
        int n = snprintf(c->err, c->errlen, "GGUF offset %zu: ", c->off);
        va_start(ap, fmt);
        if (n >= 0 && (size_t)n < c->errlen) {
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        }
        va_end(ap);
        c->failed = 1;
    }
    return -1;
}

static int take(cursor *c, size_t n, const uint8_t **out)
{
    *out = NULL;
    if (c->failed) {
        return -1;
    }
    if (n > c->size - c->off) {
        return fail(c, "truncated file (%zu bytes wanted, %zu left)", n, c->size - c->off);
    }
    *out = c->p + c->off;
    c->off += n;
    return 0;
}

static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static int rd_u32(cursor *c, uint32_t *v)
{
    const uint8_t *p;
    if (take(c, 4, &p)) {
        return -1;
    }
    *v = (uint32_t)le(p, 4);
    return 0;
}

static int rd_u64(cursor *c, uint64_t *v)
{
    const uint8_t *p;
    if (take(c, 8, &p)) {
        return -1;
    }
    *v = le(p, 8);
    return 0;
}

static int rd_str(cursor *c, zk_gguf_str *s)
{
    const uint8_t *p;
    uint64_t len;
    if (rd_u64(c, &len)) {
        return -1;
    }
    if (len > c->size - c->off) {
        return fail(c, "string of %llu bytes runs past the end of the file", (unsigned long long)len);
    }
    if (take(c, (size_t)len, &p)) {
        return -1;
    }
    s->s = (const char *)p;
    s->len = len;
    return 0;
}

/* A NUL-terminated copy of a key or name: bounded, no embedded NUL. */
static char *dup_name(cursor *c, const zk_gguf_str *s, uint64_t max, const char *what)
{
    char *r;
    if (s->len == 0 || s->len > max) {
        fail(c, "%s of %llu bytes (1..%llu allowed)", what, (unsigned long long)s->len,
             (unsigned long long)max);
        return NULL;
    }
    if (memchr(s->s, 0, (size_t)s->len)) {
        fail(c, "%s contains a NUL byte", what);
        return NULL;
    }
    if (!(r = malloc((size_t)s->len + 1))) {
        fail(c, "out of memory");
        return NULL;
    }
    memcpy(r, s->s, (size_t)s->len);
    r[s->len] = 0;
    return r;
}

static int rd_scalar(cursor *c, uint32_t type, zk_gguf_kv *kv)
{
    const uint8_t *p;
    size_t n = scalar_size(type);
    if (take(c, n, &p)) {
        return -1;
    }
    uint64_t raw = le(p, n);
    switch (type) {
    case ZK_GGUF_I8:
        kv->v.i = (int8_t)raw;
        break;
    case ZK_GGUF_I16:
        kv->v.i = (int16_t)raw;
        break;
    case ZK_GGUF_I32:
        kv->v.i = (int32_t)raw;
        break;
    case ZK_GGUF_I64:
        kv->v.i = (int64_t)raw;
        break;
    case ZK_GGUF_F32: {
        float f;
        uint32_t u = (uint32_t)raw;
        memcpy(&f, &u, 4);
        kv->v.f = f;
        break;
    }
    case ZK_GGUF_F64:
        memcpy(&kv->v.f, &raw, 8);
        break;
    case ZK_GGUF_BOOL:
        if (raw > 1) {
            return fail(c, "bool value %llu", (unsigned long long)raw);
        }
        kv->v.u = raw;
        break;
    default:
        kv->v.u = raw;
        break;
    }
    return 0;
}

static int rd_value(cursor *c, zk_gguf_kv *kv)
{
    if (kv->type == ZK_GGUF_STRING) {
        return rd_str(c, &kv->v.str);
    }
    if (kv->type != ZK_GGUF_ARRAY) {
        if (!scalar_size(kv->type)) {
            return fail(c, "key %s: unknown value type %u", kv->key, kv->type);
        }
        return rd_scalar(c, kv->type, kv);
    }
    if (rd_u32(c, &kv->arr_type) || rd_u64(c, &kv->n)) {
        return -1;
    }
    if (kv->arr_type == ZK_GGUF_STRING) {
        /* Each string takes at least its 8-byte length. */
        if (kv->n > (c->size - c->off) / 8) {
            return fail(c, "key %s: %llu strings cannot fit in the file", kv->key,
                        (unsigned long long)kv->n);
        }
        if (kv->n && !(kv->strs = malloc((size_t)kv->n * sizeof(*kv->strs)))) {
            return fail(c, "out of memory");
        }
        for (uint64_t i = 0; i < kv->n; i++) {
            if (rd_str(c, &kv->strs[i])) {
                return -1;
            }
        }
        return 0;
    }
    size_t es = scalar_size(kv->arr_type);
    const uint8_t *p;
    if (!es) {
        return fail(c, "key %s: arrays of type %u are not supported", kv->key, kv->arr_type);
    }
    if (kv->n > (c->size - c->off) / es) {
        return fail(c, "key %s: array of %llu elements runs past the end of the file", kv->key,
                    (unsigned long long)kv->n);
    }
    if (take(c, (size_t)kv->n * es, &p)) {
        return -1;
    }
    if (kv->arr_type == ZK_GGUF_BOOL) {
        for (uint64_t i = 0; i < kv->n; i++) {
            if (p[i] > 1) {
                return fail(c, "key %s: bool element %llu is %u", kv->key, (unsigned long long)i, p[i]);
            }
        }
    }
    kv->data = p;
    return 0;
}

void zk_gguf_close(zk_gguf *g)
{
    if (g->kv) {
        for (uint64_t i = 0; i < g->n_kv; i++) {
            free(g->kv[i].key);
            free(g->kv[i].strs);
        }
    }
    if (g->tensors) {
        for (uint64_t i = 0; i < g->n_tensors; i++) {
            free(g->tensors[i].name);
        }
    }
    free(g->kv);
    free(g->tensors);
    if (g->mapped && g->base) {
        munmap((void *)g->base, g->size);
    }
    memset(g, 0, sizeof(*g));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Any name used twice?  (sorted copy of the pointers) */
static const char *duplicate(char **names, uint64_t n)
{
    const char *dup = NULL;
    char **s = malloc((size_t)(n ? n : 1) * sizeof(*s));
    if (!s) {
        return "(out of memory)";
    }
    memcpy(s, names, (size_t)n * sizeof(*s));
    qsort(s, (size_t)n, sizeof(*s), cmp_str);
    for (uint64_t i = 1; i < n && !dup; i++) {
        if (!strcmp(s[i - 1], s[i])) {
            dup = s[i];
        }
    }
    free(s);
    return dup;
}

static int parse_tensor(cursor *c, zk_gguf_tensor *t)
{
    zk_gguf_str name;
    uint32_t block, bytes;
    if (rd_str(c, &name) || !(t->name = dup_name(c, &name, MAX_NAME_LEN, "tensor name")) ||
        rd_u32(c, &t->n_dims)) {
        return -1;
    }
    if (t->n_dims == 0 || t->n_dims > ZK_GGUF_MAX_DIMS) {
        return fail(c, "tensor %s: %u dimensions (1..%d allowed)", t->name, t->n_dims, ZK_GGUF_MAX_DIMS);
    }
    t->n_elements = 1;
    for (uint32_t d = 0; d < ZK_GGUF_MAX_DIMS; d++) {
        t->ne[d] = 1;
        if (d < t->n_dims && rd_u64(c, &t->ne[d])) {
            return -1;
        }
        /* Bounded so n_elements * bytes cannot overflow below. */
        if (t->ne[d] == 0 || t->ne[d] > (UINT64_C(1) << 48) / t->n_elements) {
            return fail(c, "tensor %s: dimension %u is %llu (absurd or zero)", t->name, d,
                        (unsigned long long)t->ne[d]);
        }
        t->n_elements *= t->ne[d];
    }
    if (rd_u32(c, &t->type) || rd_u64(c, &t->offset)) {
        return -1;
    }
    if (!zk_ggml_type_size(t->type, &block, &bytes)) {
        return fail(c, "tensor %s: unknown ggml type %u", t->name, t->type);
    }
    if (t->ne[0] % block) {
        return fail(c, "tensor %s: row of %llu elements is not a whole number of %s blocks of %u",
                    t->name, (unsigned long long)t->ne[0], type_info[t->type].name, block);
    }
    t->size = t->n_elements / block * bytes;
    return 0;
}

int zk_gguf_parse(zk_gguf *g, const void *data, size_t size, char *err, size_t errlen)
{
    cursor c = { data, size, 0, err, errlen, 0 };
    const uint8_t *magic;
    memset(g, 0, sizeof(*g));
    g->base = data;
    g->size = size;
    g->alignment = ZK_GGUF_DEFAULT_ALIGNMENT;
    if (take(&c, 4, &magic) || memcmp(magic, "GGUF", 4)) {
        fail(&c, "not a GGUF file (bad magic)");
        goto bad;
    }
    if (rd_u32(&c, &g->version)) {
        goto bad;
    }
    if (g->version != 2 && g->version != 3) {
        fail(&c, "GGUF version %u not supported (2 or 3)", g->version);
        goto bad;
    }
    uint64_t n_tensors, n_kv;
    if (rd_u64(&c, &n_tensors) || rd_u64(&c, &n_kv)) {
        goto bad;
    }
    /* A key/value takes >= 8 + 1 + 4 + 1 bytes, a tensor info >= 8 + 1 + 4 +
     * 8 + 4 + 8: counts beyond that are lies, refused before allocating. */
    if (n_kv > (size - c.off) / 14 || n_tensors > (size - c.off) / 33) {
        fail(&c, "%llu key/values and %llu tensors cannot fit in %zu bytes",
             (unsigned long long)n_kv, (unsigned long long)n_tensors, size);
        goto bad;
    }
    g->kv = calloc((size_t)(n_kv ? n_kv : 1), sizeof(*g->kv));
    g->tensors = calloc((size_t)(n_tensors ? n_tensors : 1), sizeof(*g->tensors));
    if (!g->kv || !g->tensors) {
        fail(&c, "out of memory");
        goto bad;
    }
    for (uint64_t i = 0; i < n_kv; i++) {
        zk_gguf_kv *kv = &g->kv[i];
        zk_gguf_str key;
        g->n_kv = i + 1;
        if (rd_str(&c, &key) || !(kv->key = dup_name(&c, &key, MAX_KEY_LEN, "key")) ||
            rd_u32(&c, &kv->type) || rd_value(&c, kv)) {
            goto bad;
        }
        if (kv->type == ZK_GGUF_ARRAY && kv->arr_type == ZK_GGUF_ARRAY) {
            fail(&c, "key %s: nested arrays are not supported", kv->key);
            goto bad;
        }
    }
    {
        char **names = malloc((size_t)(n_kv ? n_kv : 1) * sizeof(*names));
        const char *dup;
        if (!names) {
            fail(&c, "out of memory");
            goto bad;
        }
        for (uint64_t i = 0; i < n_kv; i++) {
            names[i] = g->kv[i].key;
        }
        dup = duplicate(names, n_kv);
        free(names);
        if (dup) {
            fail(&c, "key %s appears twice", dup);
            goto bad;
        }
    }
    const zk_gguf_kv *al = zk_gguf_find(g, "general.alignment");
    if (al) {
        if (al->type != ZK_GGUF_U32 || al->v.u == 0 || (al->v.u & (al->v.u - 1)) || al->v.u > 65536) {
            fail(&c, "general.alignment must be a u32 power of two <= 65536");
            goto bad;
        }
        g->alignment = al->v.u;
    }
    for (uint64_t i = 0; i < n_tensors; i++) {
        g->n_tensors = i + 1;
        if (parse_tensor(&c, &g->tensors[i])) {
            goto bad;
        }
    }
    {
        char **names = malloc((size_t)(n_tensors ? n_tensors : 1) * sizeof(*names));
        const char *dup;
        if (!names) {
            fail(&c, "out of memory");
            goto bad;
        }
        for (uint64_t i = 0; i < n_tensors; i++) {
            names[i] = g->tensors[i].name;
        }
        dup = duplicate(names, n_tensors);
        free(names);
        if (dup) {
            fail(&c, "tensor %s appears twice", dup);
            goto bad;
        }
    }
    /* The data section starts at the next alignment boundary (it may be
     * empty and then the file may end before it when there are no tensors). */
    g->data_offset = (c.off + g->alignment - 1) / g->alignment * g->alignment;
    for (uint64_t i = 0; i < n_tensors; i++) {
        zk_gguf_tensor *t = &g->tensors[i];
        uint64_t room = size > g->data_offset ? size - g->data_offset : 0;
        if (t->offset % g->alignment) {
            fail(&c, "tensor %s: data offset %llu not aligned to %llu", t->name,
                 (unsigned long long)t->offset, (unsigned long long)g->alignment);
            goto bad;
        }
        if (t->offset > room || t->size > room - t->offset) {
            fail(&c, "tensor %s: data [%llu, +%llu) runs past the end of the file", t->name,
                 (unsigned long long)t->offset, (unsigned long long)t->size);
            goto bad;
        }
        t->data = g->base + g->data_offset + t->offset;
    }
    g->n_kv = n_kv;
    g->n_tensors = n_tensors;
    return 0;
bad:
    {
        zk_gguf tmp = *g;
        tmp.mapped = 0;
        zk_gguf_close(&tmp);
        memset(g, 0, sizeof(*g));
    }
    return -1;
}

int zk_gguf_open(zk_gguf *g, const char *path, char *err, size_t errlen)
{
    struct stat st;
    void *p;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    memset(g, 0, sizeof(*g));
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size == 0) {
        snprintf(err, errlen, "%s: not a regular non-empty file", path);
        close(fd);
        return -1;
    }
    p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
        return -1;
    }
    char msg[256];
    if (zk_gguf_parse(g, p, (size_t)st.st_size, msg, sizeof(msg))) {
        snprintf(err, errlen, "%s: %s", path, msg);
        munmap(p, (size_t)st.st_size);
        return -1;
    }
    g->mapped = 1;
    return 0;
}

const zk_gguf_kv *zk_gguf_find(const zk_gguf *g, const char *key)
{
    for (uint64_t i = 0; i < g->n_kv; i++) {
        if (g->kv[i].key && !strcmp(g->kv[i].key, key)) {
            return &g->kv[i];
        }
    }
    return NULL;
}

const zk_gguf_tensor *zk_gguf_find_tensor(const zk_gguf *g, const char *name)
{
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        if (g->tensors[i].name && !strcmp(g->tensors[i].name, name)) {
            return &g->tensors[i];
        }
    }
    return NULL;
}

static int is_signed(uint32_t t)
{
    return t == ZK_GGUF_I8 || t == ZK_GGUF_I16 || t == ZK_GGUF_I32 || t == ZK_GGUF_I64;
}

static int is_unsigned(uint32_t t)
{
    return t == ZK_GGUF_U8 || t == ZK_GGUF_U16 || t == ZK_GGUF_U32 || t == ZK_GGUF_U64 ||
           t == ZK_GGUF_BOOL;
}

int zk_gguf_get_int(const zk_gguf *g, const char *key, int64_t *out)
{
    const zk_gguf_kv *kv = zk_gguf_find(g, key);
    if (!kv) {
        return -1;
    }
    if (is_signed(kv->type)) {
        *out = kv->v.i;
        return 0;
    }
    if (is_unsigned(kv->type) && kv->v.u <= INT64_MAX) {
        *out = (int64_t)kv->v.u;
        return 0;
    }
    return -2;
}

int zk_gguf_get_float(const zk_gguf *g, const char *key, double *out)
{
    const zk_gguf_kv *kv = zk_gguf_find(g, key);
    int64_t i;
    if (!kv) {
        return -1;
    }
    if (kv->type == ZK_GGUF_F32 || kv->type == ZK_GGUF_F64) {
        *out = kv->v.f;
        return 0;
    }
    if (zk_gguf_get_int(g, key, &i) == 0) {
        *out = (double)i;
        return 0;
    }
    return -2;
}

int zk_gguf_get_str(const zk_gguf *g, const char *key, char **out)
{
    const zk_gguf_kv *kv = zk_gguf_find(g, key);
    if (!kv) {
        return -1;
    }
    if (kv->type != ZK_GGUF_STRING || kv->v.str.len >= SIZE_MAX) {
        return -2;
    }
    if (!(*out = malloc((size_t)kv->v.str.len + 1))) {
        return -3;
    }
    memcpy(*out, kv->v.str.s, (size_t)kv->v.str.len);
    (*out)[kv->v.str.len] = 0;
    return 0;
}

static int arr_elem(const zk_gguf_kv *kv, uint64_t i, uint64_t *raw)
{
    size_t es;
    if (kv->type != ZK_GGUF_ARRAY || i >= kv->n || !(es = scalar_size(kv->arr_type))) {
        return -1;
    }
    *raw = le((const uint8_t *)kv->data + i * es, es);
    return 0;
}

int zk_gguf_arr_int(const zk_gguf_kv *kv, uint64_t i, int64_t *out)
{
    uint64_t raw;
    if (arr_elem(kv, i, &raw)) {
        return -1;
    }
    switch (kv->arr_type) {
    case ZK_GGUF_I8:
        *out = (int8_t)raw;
        return 0;
    case ZK_GGUF_I16:
        *out = (int16_t)raw;
        return 0;
    case ZK_GGUF_I32:
        *out = (int32_t)raw;
        return 0;
    case ZK_GGUF_I64:
        *out = (int64_t)raw;
        return 0;
    default:
        if (is_unsigned(kv->arr_type) && raw <= INT64_MAX) {
            *out = (int64_t)raw;
            return 0;
        }
        return -1;
    }
}

int zk_gguf_arr_float(const zk_gguf_kv *kv, uint64_t i, double *out)
{
    uint64_t raw;
    int64_t v;
    if (kv->type == ZK_GGUF_ARRAY && kv->arr_type == ZK_GGUF_F32 && !arr_elem(kv, i, &raw)) {
        float f;
        uint32_t u = (uint32_t)raw;
        memcpy(&f, &u, 4);
        *out = f;
        return 0;
    }
    if (kv->type == ZK_GGUF_ARRAY && kv->arr_type == ZK_GGUF_F64 && !arr_elem(kv, i, &raw)) {
        memcpy(out, &raw, 8);
        return 0;
    }
    if (zk_gguf_arr_int(kv, i, &v)) {
        return -1;
    }
    *out = (double)v;
    return 0;
}
