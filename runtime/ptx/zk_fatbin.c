/* SPDX-License-Identifier: MIT */
/*
 * zk_fatbin.c - fat binary reader: a bounds-checked walk over the container
 * header and its entries, picking the PTX entry and decompressing it with
 * libzstd / liblz4.  Layout: docs/ptx.md "Fat binaries".
 */
#include <lz4.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "zk_fatbin.h"

#define FATBIN_HDR_SIZE   16u
#define ENTRY_HDR_MIN     64u
/* A wrapper's fat binary has no length of its own: trust at most this much. */
#define WRAPPER_MAX_FATBIN (256ull << 20)
#define WRAPPER_MAX_PRELINKED 1024

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* PTX text starts, after comments and blank space, with a directive. */
static int looks_like_ptx(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n') {
            i++;
        } else if (i + 1 < len && p[i] == '/' && p[i + 1] == '/') {
            while (i < len && p[i] != '\n') {
                i++;
            }
        } else if (i + 1 < len && p[i] == '/' && p[i + 1] == '*') {
            i += 2;
            while (i + 1 < len && !(p[i] == '*' && p[i + 1] == '/')) {
                i++;
            }
            i += 2;
        } else {
            return len - i >= 8 && memcmp(p + i, ".version", 8) == 0;
        }
    }
    return 0;
}

zk_image_kind zk_image_detect(const void *data, size_t len)
{
    const uint8_t *p = data;
    if (!p || len < 4) {
        return ZK_IMAGE_UNKNOWN;
    }
    if (memcmp(p, "\177ELF", 4) == 0) {
        return ZK_IMAGE_ZKO;
    }
    if (rd32(p) == ZK_FATBIN_MAGIC) {
        return ZK_IMAGE_FATBIN;
    }
    if (rd32(p) == ZK_FATBIN_WRAPPER_MAGIC) {
        return ZK_IMAGE_FATBIN_WRAPPER;
    }
    return looks_like_ptx(p, len) ? ZK_IMAGE_PTX : ZK_IMAGE_UNKNOWN;
}

void zk_ptx_text_free(zk_ptx_text *t)
{
    if (t) {
        free(t->text);
        memset(t, 0, sizeof(*t));
    }
}

/* Copy PTX bytes into a NUL-terminated string; stops at the first NUL (the
 * payload is padded with zeros). */
static int take_text(const uint8_t *p, size_t len, uint32_t arch, zk_ptx_text *out,
                     char *err, size_t errlen)
{
    const uint8_t *nul = memchr(p, 0, len);
    size_t n = nul ? (size_t)(nul - p) : len;
    if (n > ZK_PTX_MAX_TEXT) {
        return fail(err, errlen, "PTX text of %zu bytes is larger than the %u-byte limit", n,
                    ZK_PTX_MAX_TEXT);
    }
    if (!looks_like_ptx(p, n)) {
        return fail(err, errlen, "PTX entry does not start with a .version directive");
    }
    out->text = malloc(n + 1);
    if (!out->text) {
        return fail(err, errlen, "out of host memory");
    }
    memcpy(out->text, p, n);
    out->text[n] = 0;
    out->len = n;
    out->arch = arch;
    return 0;
}

/* One parsed entry header, pointing into the caller's buffer. */
typedef struct entry {
    uint16_t kind;
    uint32_t arch;
    uint64_t flags;
    const uint8_t *payload;
    uint64_t payload_size;       /* stored bytes (padded) */
    uint64_t compressed_size;
    uint64_t decompressed_size;
} entry;

static int decompress_entry(const entry *e, zk_ptx_text *out, char *err, size_t errlen)
{
    uint64_t csize = e->compressed_size, dsize = e->decompressed_size;
    uint8_t *buf;
    int rc;
    if (!(e->flags & (ZK_FATBIN_FLAG_LZ4 | ZK_FATBIN_FLAG_ZSTD))) {
        return take_text(e->payload, e->payload_size, e->arch, out, err, errlen);
    }
    if ((e->flags & ZK_FATBIN_FLAG_LZ4) && (e->flags & ZK_FATBIN_FLAG_ZSTD)) {
        return fail(err, errlen, "PTX entry for compute_%u claims both LZ4 and zstd", e->arch);
    }
    if (csize == 0 || csize > e->payload_size) {
        return fail(err, errlen, "PTX entry for compute_%u: compressed size %llu outside its "
                    "%llu-byte payload", e->arch, (unsigned long long)csize,
                    (unsigned long long)e->payload_size);
    }
    if (dsize == 0 || dsize > ZK_PTX_MAX_TEXT) {
        return fail(err, errlen, "PTX entry for compute_%u: decompressed size %llu not in "
                    "1..%u", e->arch, (unsigned long long)dsize, ZK_PTX_MAX_TEXT);
    }
    buf = malloc(dsize);
    if (!buf) {
        return fail(err, errlen, "out of host memory");
    }
    if (e->flags & ZK_FATBIN_FLAG_ZSTD) {
        /* Only the frame counts: the payload is zero-padded after it. */
        size_t fsize = ZSTD_findFrameCompressedSize(e->payload, csize);
        size_t got = ZSTD_isError(fsize) ? fsize : ZSTD_decompress(buf, dsize, e->payload, fsize);
        if (ZSTD_isError(got) || got != dsize) {
            free(buf);
            return fail(err, errlen, "PTX entry for compute_%u: zstd: %s", e->arch,
                        ZSTD_isError(got) ? ZSTD_getErrorName(got) : "size mismatch");
        }
    } else {
        int got;
        if (csize > INT32_MAX || dsize > INT32_MAX) {
            free(buf);
            return fail(err, errlen, "PTX entry for compute_%u: LZ4 block too large", e->arch);
        }
        got = LZ4_decompress_safe((const char *)e->payload, (char *)buf, (int)csize, (int)dsize);
        if (got < 0 || (uint64_t)got != dsize) {
            free(buf);
            return fail(err, errlen, "PTX entry for compute_%u: corrupt LZ4 data", e->arch);
        }
    }
    rc = take_text(buf, dsize, e->arch, out, err, errlen);
    free(buf);
    return rc;
}

/*
 * Walk the fat binary at p (avail bytes readable); *used gets its total
 * size.  The chosen PTX entry (lowest arch) goes to *best; the SASS archs
 * seen are listed in sass (for the error message).
 */
static int walk_fatbin(const uint8_t *p, uint64_t avail, uint64_t *used, entry *best,
                       int *have_best, char *sass, size_t sasslen, char *err, size_t errlen)
{
    uint64_t hsize, body, off, end;
    if (avail < FATBIN_HDR_SIZE) {
        return fail(err, errlen, "fat binary truncated in its header");
    }
    if (rd32(p) != ZK_FATBIN_MAGIC) {
        return fail(err, errlen, "not a fat binary (magic 0x%08x)", rd32(p));
    }
    if (rd16(p + 4) != 1) {
        return fail(err, errlen, "fat binary version %u not supported (1 is)", rd16(p + 4));
    }
    hsize = rd16(p + 6);
    body = rd64(p + 8);
    if (hsize < FATBIN_HDR_SIZE || hsize > avail || body > avail - hsize) {
        return fail(err, errlen, "fat binary header/size (%llu+%llu) runs past its %llu bytes",
                    (unsigned long long)hsize, (unsigned long long)body,
                    (unsigned long long)avail);
    }
    end = hsize + body;
    *used = end;
    for (off = hsize; off < end;) {
        const uint8_t *h = p + off;
        entry e;
        uint64_t ehsize;
        if (end - off < ENTRY_HDR_MIN) {
            return fail(err, errlen, "fat binary entry at offset %llu truncated",
                        (unsigned long long)off);
        }
        ehsize = rd32(h + 4);
        memset(&e, 0, sizeof(e));
        e.kind = rd16(h);
        e.payload_size = rd64(h + 8);
        e.compressed_size = rd32(h + 16);
        e.arch = rd32(h + 28);
        e.flags = rd64(h + 40);
        e.decompressed_size = rd64(h + 56);
        if (ehsize < ENTRY_HDR_MIN || ehsize > end - off ||
            e.payload_size > end - off - ehsize) {
            return fail(err, errlen, "fat binary entry at offset %llu: header %llu + payload "
                        "%llu bytes run past the container", (unsigned long long)off,
                        (unsigned long long)ehsize, (unsigned long long)e.payload_size);
        }
        e.payload = h + ehsize;
        if (e.kind == ZK_FATBIN_KIND_PTX) {
            if (!(e.flags & ZK_FATBIN_FLAG_64BIT)) {
                /* 32-bit PTX: skipped, the card's addresses are 64-bit. */
            } else if (!*have_best || e.arch < best->arch) {
                *best = e;
                *have_best = 1;
            }
        } else if (e.kind == ZK_FATBIN_KIND_ELF) {
            size_t l = strlen(sass);
            if (l + 16 < sasslen) {
                snprintf(sass + l, sasslen - l, "%ssm_%u", l ? ", " : "", e.arch);
            }
        }
        off += ehsize + e.payload_size;
    }
    return 0;
}

static int finish(const entry *best, int have_best, const char *sass, zk_ptx_text *out,
                  char *err, size_t errlen)
{
    if (!have_best) {
        if (sass[0]) {
            return fail(err, errlen, "fat binary holds only SASS (%s) and no 64-bit PTX; the "
                        "card can only translate PTX: rebuild with e.g. -gencode "
                        "arch=compute_75,code=compute_75", sass);
        }
        return fail(err, errlen, "fat binary holds no PTX entry");
    }
    return decompress_entry(best, out, err, errlen);
}

int zk_fatbin_get_ptx(const void *data, size_t len, zk_ptx_text *out, char *err,
                      size_t errlen)
{
    const uint8_t *p = data;
    uint64_t off = 0, used = 0;
    entry best;
    int have_best = 0;
    char sass[128] = "";
    memset(out, 0, sizeof(*out));
    memset(&best, 0, sizeof(best));
    if (!p) {
        return fail(err, errlen, "no data");
    }
    /* Linked sections concatenate one fat binary per unit, 8-aligned. */
    do {
        if (walk_fatbin(p + off, len - off, &used, &best, &have_best, sass, sizeof(sass), err,
                        errlen) != 0) {
            return -1;
        }
        off += used;
        while (off < len && (off & 7) && p[off] == 0) {
            off++;
        }
    } while (len - off >= FATBIN_HDR_SIZE && rd32(p + off) == ZK_FATBIN_MAGIC);
    return finish(&best, have_best, sass, out, err, errlen);
}

/* A wrapper's data pointer: PTX text (clang) or a fat binary whose length
 * comes from its own header. */
static int fatbin_at(const uint8_t *p, entry *best, int *have_best, char *sass,
                     size_t sasslen, zk_ptx_text *text, char *err, size_t errlen)
{
    uint64_t total, used;
    if (rd32(p) != ZK_FATBIN_MAGIC) {
        size_t n = strnlen((const char *)p, ZK_PTX_MAX_TEXT + 1);
        if (text->text) {
            return 0;
        }
        return take_text(p, n, 0, text, err, errlen);
    }
    total = (uint64_t)rd16(p + 6) + rd64(p + 8);
    if (rd16(p + 6) < FATBIN_HDR_SIZE || rd64(p + 8) > WRAPPER_MAX_FATBIN) {
        return fail(err, errlen, "wrapped fat binary header is implausible");
    }
    return walk_fatbin(p, total, &used, best, have_best, sass, sasslen, err, errlen);
}

int zk_fatbin_wrapper_get_ptx(const zk_fatbin_wrapper *w, zk_ptx_text *out, char *err,
                              size_t errlen)
{
    entry best;
    int have_best = 0, i;
    char sass[128] = "";
    zk_ptx_text text;
    memset(out, 0, sizeof(*out));
    memset(&best, 0, sizeof(best));
    memset(&text, 0, sizeof(text));
    if (!w || w->magic != ZK_FATBIN_WRAPPER_MAGIC) {
        return fail(err, errlen, "not a fat binary wrapper");
    }
    if (w->version != 1 && w->version != 2) {
        return fail(err, errlen, "fat binary wrapper version %u not supported (1, 2 are)",
                    w->version);
    }
    if (!w->data) {
        return fail(err, errlen, "fat binary wrapper has no data");
    }
    if (fatbin_at(w->data, &best, &have_best, sass, sizeof(sass), &text, err, errlen) != 0) {
        return -1;
    }
    /* -rdc: the linked image is SASS; the PTX is in the relocatable units. */
    for (i = 0; w->version == 2 && w->prelinked && i < WRAPPER_MAX_PRELINKED &&
         w->prelinked[i]; i++) {
        if (fatbin_at(w->prelinked[i], &best, &have_best, sass, sizeof(sass), &text, err,
                      errlen) != 0) {
            zk_ptx_text_free(&text);
            return -1;
        }
    }
    if (have_best) {
        zk_ptx_text_free(&text);
        return finish(&best, have_best, sass, out, err, errlen);
    }
    if (text.text) {
        *out = text;
        return 0;
    }
    return finish(&best, have_best, sass, out, err, errlen);
}

int zk_ptx_from_image(const void *data, size_t len, zk_ptx_text *out, char *err,
                      size_t errlen)
{
    memset(out, 0, sizeof(*out));
    switch (zk_image_detect(data, len)) {
    case ZK_IMAGE_PTX:
        return take_text(data, len, 0, out, err, errlen);
    case ZK_IMAGE_FATBIN:
        return zk_fatbin_get_ptx(data, len, out, err, errlen);
    case ZK_IMAGE_FATBIN_WRAPPER:
        return fail(err, errlen, "a fat binary wrapper holds pointers into its process; pass "
                    "it in memory (zk_module_load_data with len = %zu)",
                    sizeof(zk_fatbin_wrapper));
    default:
        return fail(err, errlen, "neither PTX text nor a fat binary");
    }
}
