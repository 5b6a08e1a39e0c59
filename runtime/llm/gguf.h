/* SPDX-License-Identifier: MIT */
/*
 * gguf.h - GGUF (llama.cpp's model file, versions 2 and 3): a reader over a
 * read-only mapping and a writer the tests and zk-mkmodel use.
 *
 * Layout: "GGUF", u32 version, u64 tensor count, u64 key/value count; the
 * key/values (string key, u32 value type, value; strings are u64 length +
 * bytes, arrays u32 element type + u64 count + elements); the tensor infos
 * (name, u32 n_dims, u64 dims fastest first, u32 ggml type, u64 offset from
 * the data section); padding to general.alignment (default 32); the data.
 * Little-endian throughout.
 *
 * The reader checks every length and offset read from the file before
 * use (sizes with overflow-checked arithmetic, strings and arrays against
 * the bytes left, tensor data inside the file and aligned, dims > 0 with a
 * bounded element count, known types, rows a whole number of blocks, no
 * duplicate keys or tensor names, no nested arrays) and refuses anything
 * else with a message.  Nothing read is trusted afterwards either: the
 * accessors check types and indices.
 */
#ifndef ZK_GGUF_H
#define ZK_GGUF_H

#include <stddef.h>
#include <stdint.h>

/* Metadata value types. */
enum zk_gguf_vtype {
    ZK_GGUF_U8 = 0, ZK_GGUF_I8 = 1, ZK_GGUF_U16 = 2, ZK_GGUF_I16 = 3, ZK_GGUF_U32 = 4,
    ZK_GGUF_I32 = 5, ZK_GGUF_F32 = 6, ZK_GGUF_BOOL = 7, ZK_GGUF_STRING = 8,
    ZK_GGUF_ARRAY = 9, ZK_GGUF_U64 = 10, ZK_GGUF_I64 = 11, ZK_GGUF_F64 = 12,
    ZK_GGUF_VTYPE_COUNT = 13,
};

/* ggml tensor types (the ids llama.cpp writes). */
enum zk_ggml_type {
    ZK_GGML_F32 = 0, ZK_GGML_F16 = 1, ZK_GGML_Q4_0 = 2, ZK_GGML_Q4_1 = 3, ZK_GGML_Q5_0 = 6,
    ZK_GGML_Q5_1 = 7, ZK_GGML_Q8_0 = 8, ZK_GGML_Q8_1 = 9, ZK_GGML_Q2_K = 10, ZK_GGML_Q3_K = 11,
    ZK_GGML_Q4_K = 12, ZK_GGML_Q5_K = 13, ZK_GGML_Q6_K = 14, ZK_GGML_Q8_K = 15,
    ZK_GGML_BF16 = 30,
};

#define ZK_GGUF_MAX_DIMS 4
#define ZK_GGUF_DEFAULT_ALIGNMENT 32

/** Block size (elements) and bytes per block of a ggml type; 0 if unknown. */
int zk_ggml_type_size(uint32_t type, uint32_t *block, uint32_t *block_bytes);
const char *zk_ggml_type_name(uint32_t type);       /* "?" if unknown */

typedef struct zk_gguf_str {
    const char *s;              /* not NUL-terminated */
    uint64_t len;
} zk_gguf_str;

typedef struct zk_gguf_kv {
    char *key;                  /* NUL-terminated copy */
    uint32_t type;              /* zk_gguf_vtype */
    uint32_t arr_type;          /* ARRAY: element type */
    uint64_t n;                 /* ARRAY: element count */
    union {
        uint64_t u;             /* unsigned ints, bool */
        int64_t i;              /* signed ints */
        double f;               /* f32, f64 */
        zk_gguf_str str;
    } v;
    const void *data;           /* ARRAY of numbers: first element (unaligned) */
    zk_gguf_str *strs;          /* ARRAY of strings: [n] */
} zk_gguf_kv;

typedef struct zk_gguf_tensor {
    char *name;                 /* NUL-terminated copy */
    uint32_t n_dims;
    uint64_t ne[ZK_GGUF_MAX_DIMS];      /* fastest first; unused dims 1 */
    uint32_t type;              /* zk_ggml_type */
    uint64_t offset;            /* from the data section */
    uint64_t n_elements, size;  /* size in bytes */
    const uint8_t *data;        /* inside the mapping */
} zk_gguf_tensor;

typedef struct zk_gguf {
    uint32_t version;
    uint64_t n_kv, n_tensors;
    zk_gguf_kv *kv;
    zk_gguf_tensor *tensors;
    uint64_t alignment, data_offset;
    const uint8_t *base;        /* the file */
    size_t size;
    int mapped;                 /* base is our mmap */
} zk_gguf;

/** Parse @size bytes at @data (kept referenced, not copied).  0, or -1 with
 *  a message in @err; *g is then empty. */
int zk_gguf_parse(zk_gguf *g, const void *data, size_t size, char *err, size_t errlen);
/** mmap @path read-only and parse it. */
int zk_gguf_open(zk_gguf *g, const char *path, char *err, size_t errlen);
void zk_gguf_close(zk_gguf *g);

const zk_gguf_kv *zk_gguf_find(const zk_gguf *g, const char *key);
const zk_gguf_tensor *zk_gguf_find_tensor(const zk_gguf *g, const char *name);
/** Integer value of @key (any integer or bool type, checked to fit in
 *  int64); 0 if present, -1 if absent, -2 if of another type. */
int zk_gguf_get_int(const zk_gguf *g, const char *key, int64_t *out);
/** Float value (f32, f64 or an integer); same returns. */
int zk_gguf_get_float(const zk_gguf *g, const char *key, double *out);
/** String value, NUL-terminated malloc'd copy in *out (free it); same
 *  returns, -3 on no memory. */
int zk_gguf_get_str(const zk_gguf *g, const char *key, char **out);
/** Element @i of a numeric array as double / int64 (0, or -1 bad index/type). */
int zk_gguf_arr_float(const zk_gguf_kv *kv, uint64_t i, double *out);
int zk_gguf_arr_int(const zk_gguf_kv *kv, uint64_t i, int64_t *out);

/* ------------------------------------------------------------------ */
/* Writer (whole file built in memory; for tests and generated models) */
/* ------------------------------------------------------------------ */
typedef struct zk_gguf_writer zk_gguf_writer;

/** @version 2 or 3; @alignment 0 = default (written as general.alignment
 *  only when not the default). */
zk_gguf_writer *zk_gguf_writer_new(uint32_t version, uint32_t alignment);
void zk_gguf_writer_free(zk_gguf_writer *w);
/* Each returns 0 or -1 (no memory); the first error sticks and save fails. */
int zk_gguf_w_u32(zk_gguf_writer *w, const char *key, uint32_t v);
int zk_gguf_w_i32(zk_gguf_writer *w, const char *key, int32_t v);
int zk_gguf_w_u64(zk_gguf_writer *w, const char *key, uint64_t v);
int zk_gguf_w_f32(zk_gguf_writer *w, const char *key, float v);
int zk_gguf_w_bool(zk_gguf_writer *w, const char *key, int v);
int zk_gguf_w_str(zk_gguf_writer *w, const char *key, const char *v);
int zk_gguf_w_arr_str(zk_gguf_writer *w, const char *key, const char *const *v, uint64_t n);
int zk_gguf_w_arr_f32(zk_gguf_writer *w, const char *key, const float *v, uint64_t n);
int zk_gguf_w_arr_i32(zk_gguf_writer *w, const char *key, const int32_t *v, uint64_t n);
/** Add a tensor (data copied; @bytes must match the type and dims). */
int zk_gguf_w_tensor(zk_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                     const uint64_t *ne, const void *data, size_t bytes);
struct zk_tokenizer_desc;
/** The tokenizer.ggml.* keys (and tokenizer.chat_template) of @d. */
int zk_gguf_w_tokenizer(zk_gguf_writer *w, const struct zk_tokenizer_desc *d);
/** The file as bytes (malloc'd, *len set) or NULL. */
uint8_t *zk_gguf_w_bytes(zk_gguf_writer *w, size_t *len);
/** Write the file; 0 or -1 (errno set). */
int zk_gguf_w_save(zk_gguf_writer *w, const char *path);

#endif
