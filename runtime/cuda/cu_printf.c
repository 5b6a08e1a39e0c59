/* SPDX-License-Identifier: MIT */
/*
 * cu_printf.c - the host side of device printf and assert (docs/cuda.md).
 *
 * A module whose PTX calls vprintf/__assertfail has the variable
 * __zk_printf_fifo (runtime/ptx/ptx_devlib.c, which also describes the FIFO
 * and record layout).  When such a module is loaded, the context gets its
 * FIFO (CU_LIMIT_PRINTF_FIFO_SIZE bytes of records, 1 MiB by default) and
 * the module variable its address.  Kernels append records; at the
 * synchronize points (cuCtxSynchronize, cuStreamSynchronize,
 * cuEventSynchronize, blocking copies) the records complete so far are read
 * back, formatted and written to stdout.  Only cuCtxSynchronize, when the
 * context is idle, empties the FIFO for reuse; until then records that no
 * longer fit are dropped, as CUDA drops them.
 *
 * Everything in the FIFO was written by a kernel and is untrusted: record
 * sizes are bounded by what was read, formats and %s strings are read with
 * a bound and only inside a live allocation, widths and precisions are
 * clamped, %n is printed as text, and nothing is ever written on the host
 * outside the buffers here.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu_internal.h"

#define FIFO_HDR        64u             /* u64 used, u64 capacity, reserved */
#define FIFO_DEFAULT    (1u << 20)
#define FIFO_MAX        (256u << 20)
#define FMT_MAX         4096u           /* bytes of a format read */
#define STR_MAX         1024u           /* bytes of a %s argument read */
#define WIDTH_MAX       512             /* width and precision clamp */
#define MAX_CTX         64
#define REC_PRINTF      1u
#define REC_ASSERT      2u

typedef struct pf_ctx {
    uint64_t id;                        /* zk_ctx_get_id: never reused */
    zk_deviceptr fifo;                  /* 0: none yet */
    uint64_t cap;                       /* record bytes */
    uint64_t read_pos;                  /* records before it were printed */
    uint64_t limit;                     /* CU_LIMIT_PRINTF_FIFO_SIZE */
    zk_stream stream;                   /* private: readable after a fault elsewhere */
    int asserted;                       /* sticky CUDA_ERROR_ASSERT */
} pf_ctx;

static pthread_mutex_t pf_lock = PTHREAD_MUTEX_INITIALIZER;
static pf_ctx ctxs[MAX_CTX];
static unsigned int nctx;
static volatile int any_fifo, any_assert;       /* fast paths */

/* The current context's entry (created if @create); pf_lock held. */
static pf_ctx *lookup(int create)
{
    uint64_t id;
    if (zk_ctx_get_id(NULL, &id) != ZK_SUCCESS) {
        return NULL;
    }
    for (unsigned int i = 0; i < nctx; i++) {
        if (ctxs[i].id == id) {
            return &ctxs[i];
        }
    }
    if (!create) {
        return NULL;
    }
    if (nctx == MAX_CTX) {
        /* Forget the oldest (its context is most likely gone). */
        memmove(&ctxs[0], &ctxs[1], (MAX_CTX - 1) * sizeof(ctxs[0]));
        nctx--;
    }
    memset(&ctxs[nctx], 0, sizeof(ctxs[0]));
    ctxs[nctx].id = id;
    ctxs[nctx].limit = FIFO_DEFAULT;
    return &ctxs[nctx++];
}

/* Device -> host on the private stream. */
static zk_status dev_read(pf_ctx *c, void *dst, zk_deviceptr src, size_t n)
{
    zk_status st = zk_memcpy_dtoh_async(dst, src, n, c->stream);
    return st == ZK_SUCCESS ? zk_stream_synchronize(c->stream) : st;
}

CUresult zkcu_printf_module_loaded(CUmodule mod)
{
    uint64_t va, hdr[2];
    size_t size;
    pf_ctx *c;
    zk_status st = ZK_SUCCESS;
    if (zk_module_get_global((zk_module)mod, "__zk_printf_fifo", &va, &size) != ZK_SUCCESS ||
        size != 8) {
        return CUDA_SUCCESS;            /* no printf/assert in this module */
    }
    pthread_mutex_lock(&pf_lock);
    c = lookup(1);
    if (c && !c->fifo) {
        zk_deviceptr f = 0;
        st = zk_stream_create(&c->stream, ZK_STREAM_NON_BLOCKING);
        if (st == ZK_SUCCESS) {
            st = zk_mem_alloc(&f, FIFO_HDR + c->limit);
        }
        if (st == ZK_SUCCESS) {
            st = zk_memset(f, 0, FIFO_HDR + c->limit);
        }
        hdr[0] = 0;
        hdr[1] = c->limit;
        if (st == ZK_SUCCESS) {
            st = zk_memcpy_htod(f, hdr, sizeof(hdr));
        }
        if (st == ZK_SUCCESS) {
            c->fifo = f;
            c->cap = c->limit;
            c->read_pos = 0;
            any_fifo = 1;
        } else {
            if (f) {
                zk_mem_free(f);
            }
            if (c->stream) {
                zk_stream_destroy(c->stream);
                c->stream = NULL;
            }
        }
    }
    if (c && st == ZK_SUCCESS) {
        uint64_t a = c->fifo;
        st = zk_memcpy_htod(va, &a, sizeof(a));
    }
    pthread_mutex_unlock(&pf_lock);
    return !c ? CUDA_ERROR_INVALID_CONTEXT : zkcu_result(st);
}

/* A NUL-terminated string of device memory at @va, at most @max bytes,
 * read only inside the live allocation holding it; @buf has max + 1. */
static const char *dev_string(pf_ctx *c, uint64_t va, char *buf, size_t max)
{
    zk_deviceptr base;
    size_t size, n;
    if (!va) {
        return "(null)";
    }
    if (zk_mem_get_address_range(&base, &size, va) != ZK_SUCCESS) {
        return "(bad address)";
    }
    n = base + size - va;
    n = n < max ? n : max;
    if (dev_read(c, buf, va, n) != ZK_SUCCESS) {
        return "(bad address)";
    }
    buf[n] = 0;
    return buf;
}

/* One argument of @size bytes at *off (aligned to its size) of args[n]. */
static int take(const uint8_t *args, size_t n, size_t *off, unsigned int size, uint64_t *v)
{
    size_t o = (*off + size - 1) & ~(size_t)(size - 1);
    if (o > n || n - o < size) {
        return 0;
    }
    if (size == 4) {
        uint32_t w;
        memcpy(&w, args + o, 4);
        *v = w;
    } else {
        memcpy(v, args + o, 8);
    }
    *off = o + size;
    return 1;
}

/*
 * Format @fmt with the argument bytes of a record, by the rules
 * ptx_devlib.c's vprintf sizes them with, into @out.
 */
static void format_record(pf_ctx *c, FILE *out, const char *fmt, const uint8_t *args, size_t n)
{
    size_t off = 0;
    char sbuf[STR_MAX + 1];
    for (const char *p = fmt; *p;) {
        const char *start = p;
        char spec[64];
        size_t sl = 0;
        int big = 0, width = 0, prec = 0, has_w = 0, has_p = 0, in_prec = 0;
        uint64_t v;
        if (*p != '%') {
            fputc(*p++, out);
            continue;
        }
        p++;
        if (*p == '%') {
            fputc('%', out);
            p++;
            continue;
        }
        spec[sl++] = '%';
        /* flags, digits, '.', '*' (an int argument), in any order: the card's scan */
        for (;; p++) {
            if (*p == '-' || *p == '+' || *p == ' ' || *p == '#') {
                if (sl < 8) {
                    spec[sl++] = *p;
                }
            } else if (*p == '.') {
                in_prec = 1;
                has_p = 1;
                prec = 0;
            } else if (*p >= '0' && *p <= '9') {
                if (!in_prec && *p == '0' && !has_w) {
                    if (sl < 8) {
                        spec[sl++] = '0';
                    }
                    continue;
                }
                int *t = in_prec ? &prec : &width;
                *t = *t * 10 + (*p - '0');
                *t = *t > WIDTH_MAX ? WIDTH_MAX : *t;
                has_w |= !in_prec;
            } else if (*p == '*') {
                if (!take(args, n, &off, 4, &v)) {
                    fputs("<missing argument>", out);
                    return;
                }
                int x = (int)(int32_t)v;
                x = x > WIDTH_MAX ? WIDTH_MAX : x < -WIDTH_MAX ? -WIDTH_MAX : x;
                if (in_prec) {
                    has_p = x >= 0;         /* a negative precision is none */
                    prec = x;
                } else {
                    width = x;              /* negative: left-justified */
                    has_w = 1;
                }
            } else {
                break;
            }
        }
        for (;; p++) {
            if (*p == 'l' || *p == 'z' || *p == 'j' || *p == 't' || *p == 'L') {
                big = 1;
            } else if (*p != 'h') {
                break;
            }
        }
        char conv = *p, lc = (char)(conv | 32);
        if (!conv) {
            fwrite(start, 1, (size_t)(p - start), out);
            return;
        }
        p++;
        if (has_w) {
            sl += (size_t)snprintf(spec + sl, sizeof(spec) - sl, "%d", width);
        }
        if (has_p) {
            sl += (size_t)snprintf(spec + sl, sizeof(spec) - sl, ".%d", prec);
        }
        if (lc == 'f' || lc == 'e' || lc == 'g' || lc == 'a') {
            double d;
            if (!take(args, n, &off, 8, &v)) {
                fputs("<missing argument>", out);
                return;
            }
            memcpy(&d, &v, 8);
            spec[sl++] = conv;
            spec[sl] = 0;
            fprintf(out, spec, d);
        } else if (lc == 's' || lc == 'p') {
            if (!take(args, n, &off, 8, &v)) {
                fputs("<missing argument>", out);
                return;
            }
            if (lc == 's') {
                spec[sl++] = 's';
                spec[sl] = 0;
                fprintf(out, spec, dev_string(c, v, sbuf, STR_MAX));
            } else {
                fprintf(out, "0x%" PRIx64, v);
            }
        } else if (lc == 'd' || lc == 'i' || lc == 'u' || lc == 'x' || lc == 'o' || lc == 'c') {
            if (!take(args, n, &off, big ? 8 : 4, &v)) {
                fputs("<missing argument>", out);
                return;
            }
            if (lc == 'c') {
                spec[sl++] = 'c';
                spec[sl] = 0;
                fprintf(out, spec, (int)(unsigned char)v);
            } else {
                spec[sl++] = 'l';
                spec[sl++] = 'l';
                spec[sl++] = conv;
                spec[sl] = 0;
                if (lc == 'd' || lc == 'i') {
                    long long s = big ? (long long)v : (long long)(int32_t)v;
                    fprintf(out, spec, s);
                } else {
                    fprintf(out, spec, (unsigned long long)v);
                }
            }
        } else {
            /* %n and anything unknown: printed as written, no argument */
            fwrite(start, 1, (size_t)(p - start), out);
        }
    }
}

/* A small cache of the formats read during one drain. */
typedef struct fmt_cache {
    uint64_t va[16];
    char *s[16];
    unsigned int n;
} fmt_cache;

static const char *cached_string(pf_ctx *c, fmt_cache *fc, uint64_t va)
{
    char *buf;
    const char *s;
    for (unsigned int i = 0; i < fc->n; i++) {
        if (fc->va[i] == va) {
            return fc->s[i];
        }
    }
    buf = malloc(FMT_MAX + 1);
    if (!buf) {
        return "(out of memory)";
    }
    s = dev_string(c, va, buf, FMT_MAX);
    if (s != buf) {
        free(buf);
        return s;
    }
    if (fc->n < 16) {
        fc->va[fc->n] = va;
        fc->s[fc->n++] = buf;
        return buf;
    }
    free(fc->s[15]);
    fc->va[15] = va;
    fc->s[15] = buf;
    return buf;
}

/* Print the complete records in [read_pos, used); pf_lock held. */
static void drain_locked(pf_ctx *c, int idle)
{
    uint64_t hdr[2], end;
    uint8_t *buf;
    fmt_cache fc;
    size_t pos = 0, len;
    if (dev_read(c, hdr, c->fifo, sizeof(hdr)) != ZK_SUCCESS) {
        return;
    }
    end = hdr[0] < c->cap ? hdr[0] : c->cap;
    if (end > c->read_pos) {
        len = (size_t)(end - c->read_pos);
        buf = malloc(len);
        if (!buf || dev_read(c, buf, c->fifo + FIFO_HDR + c->read_pos, len) != ZK_SUCCESS) {
            free(buf);
            return;
        }
        memset(&fc, 0, sizeof(fc));
        while (len - pos >= 16) {
            uint32_t size, kind;
            memcpy(&size, buf + pos, 4);
            memcpy(&kind, buf + pos + 4, 4);
            if (size < 16 || size % 8 || size > len - pos) {
                break;                  /* not written yet (or garbage) */
            }
            const uint8_t *r = buf + pos;
            uint64_t a, b, f;
            if (kind == REC_PRINTF) {
                memcpy(&a, r + 8, 8);
                format_record(c, stdout, cached_string(c, &fc, a), r + 16, size - 16);
            } else if (kind == REC_ASSERT && size >= 64) {
                uint32_t w[7];
                char mb[STR_MAX + 1], fb[STR_MAX + 1], nb[STR_MAX + 1];
                memcpy(&a, r + 8, 8);
                memcpy(&b, r + 16, 8);
                memcpy(&f, r + 24, 8);
                memcpy(w, r + 32, sizeof(w));
                fprintf(stdout, "%s:%u: %s: block [%u,%u,%u], thread [%u,%u,%u] Assertion `%s` "
                        "failed.\n", dev_string(c, b, fb, STR_MAX), w[0],
                        dev_string(c, f, nb, STR_MAX), w[1], w[2], w[3], w[4], w[5], w[6],
                        dev_string(c, a, mb, STR_MAX));
                c->asserted = 1;
                any_assert = 1;
            }
            pos += size;
        }
        for (unsigned int i = 0; i < fc.n; i++) {
            free(fc.s[i]);
        }
        free(buf);
        fflush(stdout);
        c->read_pos += pos;
    }
    /* Idle and all read (or the rest never completed): start over. */
    if (idle && (hdr[0] || c->read_pos)) {
        uint64_t zero[2] = { 0, c->cap };
        size_t used = (size_t)(hdr[0] < c->cap ? hdr[0] : c->cap);
        if (zk_memset_async(c->fifo + FIFO_HDR, 0, used ? used : 8, c->stream) == ZK_SUCCESS &&
            zk_memcpy_htod_async(c->fifo, zero, sizeof(zero), c->stream) == ZK_SUCCESS &&
            zk_stream_synchronize(c->stream) == ZK_SUCCESS) {
            c->read_pos = 0;
        }
    }
}

CUresult zkcu_printf_sync(CUresult r, int idle)
{
    pf_ctx *c;
    if (!any_fifo) {
        return r;
    }
    pthread_mutex_lock(&pf_lock);
    c = lookup(0);
    if (c && c->fifo) {
        drain_locked(c, idle);
        if (c->asserted) {
            r = CUDA_ERROR_ASSERT;
        }
    }
    pthread_mutex_unlock(&pf_lock);
    return r;
}

CUresult zkcu_printf_sticky(void)
{
    CUresult r = CUDA_SUCCESS;
    if (!any_assert) {
        return r;
    }
    pthread_mutex_lock(&pf_lock);
    pf_ctx *c = lookup(0);
    if (c && c->asserted) {
        r = CUDA_ERROR_ASSERT;
    }
    pthread_mutex_unlock(&pf_lock);
    return r;
}

/* The printf FIFO size is a per-context limit; it can change until the FIFO
 * exists (the first module using printf or assert is loaded). */
static CUresult set_limit(size_t bytes)
{
    CUresult r = CUDA_SUCCESS;
    pf_ctx *c;
    if (bytes < 4096 || bytes > FIFO_MAX) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    bytes = (bytes + 7) & ~(size_t)7;
    pthread_mutex_lock(&pf_lock);
    c = lookup(1);
    if (!c) {
        r = CUDA_ERROR_INVALID_CONTEXT;
    } else if (c->fifo && bytes != c->cap) {
        r = CUDA_ERROR_NOT_SUPPORTED;
    } else {
        c->limit = bytes;
    }
    pthread_mutex_unlock(&pf_lock);
    return r;
}

static CUresult get_limit(size_t *bytes)
{
    pf_ctx *c;
    pthread_mutex_lock(&pf_lock);
    c = lookup(0);
    *bytes = c ? (size_t)c->limit : FIFO_DEFAULT;
    pthread_mutex_unlock(&pf_lock);
    return CUDA_SUCCESS;
}

CU_EXPORT CUresult cuCtxSetLimit(CUlimit limit, size_t value)
{
    CUcontext cur = NULL;
    if (cuCtxGetCurrent(&cur) != CUDA_SUCCESS || !cur) {
        return CUDA_ERROR_INVALID_CONTEXT;
    }
    switch (limit) {
    case CU_LIMIT_PRINTF_FIFO_SIZE:
        return set_limit(value);
    case CU_LIMIT_STACK_SIZE:
    case CU_LIMIT_MALLOC_HEAP_SIZE:
        return CUDA_SUCCESS;            /* no device stack or heap to size: accepted */
    default:
        return CUDA_ERROR_UNSUPPORTED_LIMIT;
    }
}

CU_EXPORT CUresult cuCtxGetLimit(size_t *pvalue, CUlimit limit)
{
    CUcontext cur = NULL;
    if (!pvalue) {
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (cuCtxGetCurrent(&cur) != CUDA_SUCCESS || !cur) {
        return CUDA_ERROR_INVALID_CONTEXT;
    }
    switch (limit) {
    case CU_LIMIT_PRINTF_FIFO_SIZE:
        return get_limit(pvalue);
    case CU_LIMIT_STACK_SIZE:
        *pvalue = 1024;
        return CUDA_SUCCESS;
    case CU_LIMIT_MALLOC_HEAP_SIZE:
        *pvalue = 0;
        return CUDA_SUCCESS;
    default:
        return CUDA_ERROR_UNSUPPORTED_LIMIT;
    }
}
