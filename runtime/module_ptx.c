/* SPDX-License-Identifier: MIT */
/*
 * module_ptx.c - modules given as PTX: zk_module_load_data() hands PTX text,
 * NVIDIA fat binaries and (in memory) fat binary wrappers here.  The PTX is
 * pulled out (runtime/ptx/zk_fatbin.c), translated to SIMT code
 * (runtime/ptx/ptx_xlate.c) and the result cached per PTX text: loading
 * the same PTX again (another context, a reload) skips the translation.
 * Cache entries are keyed by a 64-bit FNV-1a hash of the text and confirmed
 * by comparing the whole text, so a collision can never return the wrong
 * code.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "module_ptx.h"
#include "zk_internal.h"

#define PTX_CACHE_ENTRIES 16

typedef struct cache_entry {
    uint64_t hash;
    char *text;
    size_t len;
    zk_ptx_image img;
    uint64_t last_use;
} cache_entry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cache_entry cache[PTX_CACHE_ENTRIES];
static uint64_t cache_clock, cache_hits, cache_misses;

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    }
    return h;
}

/* Deep copy (the cache keeps its own). */
static int image_copy(zk_ptx_image *dst, const zk_ptx_image *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->image = malloc(src->size ? src->size : 1);
    dst->kernels = calloc(src->nkernels ? src->nkernels : 1, sizeof(*dst->kernels));
    dst->globals = calloc(src->nglobals ? src->nglobals : 1, sizeof(*dst->globals));
    if (!dst->image || !dst->kernels || !dst->globals) {
        zk_ptx_image_free(dst);
        return -1;
    }
    memcpy(dst->image, src->image, src->size);
    dst->size = src->size;
    dst->code_bytes = src->code_bytes;
    memcpy(dst->globals, src->globals, src->nglobals * sizeof(*dst->globals));
    dst->nglobals = src->nglobals;
    for (uint32_t i = 0; i < src->nkernels; i++) {
        dst->kernels[i] = src->kernels[i];
        dst->kernels[i].params = calloc(src->kernels[i].nparams ? src->kernels[i].nparams : 1,
                                        sizeof(zk_ptx_param));
        if (!dst->kernels[i].params) {
            dst->nkernels = i;
            zk_ptx_image_free(dst);
            return -1;
        }
        memcpy(dst->kernels[i].params, src->kernels[i].params,
               src->kernels[i].nparams * sizeof(zk_ptx_param));
        dst->nkernels = i + 1;
    }
    return 0;
}

void zk__ptx_cache_stats(uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&cache_lock);
    *hits = cache_hits;
    *misses = cache_misses;
    pthread_mutex_unlock(&cache_lock);
}

static zk_status translate_text(const char *text, size_t len, zk_ptx_image *out)
{
    uint64_t h = fnv1a(text, len);
    char err[512];
    cache_entry *victim = NULL;
    zk_ptx_image img;

    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < PTX_CACHE_ENTRIES; i++) {
        cache_entry *e = &cache[i];
        if (e->text && e->hash == h && e->len == len && memcmp(e->text, text, len) == 0) {
            int rc = image_copy(out, &e->img);
            e->last_use = ++cache_clock;
            cache_hits++;
            pthread_mutex_unlock(&cache_lock);
            return rc ? zk__fail(ZK_ERROR_OUT_OF_MEMORY, "zk_module_load: out of host memory")
                      : ZK_SUCCESS;
        }
    }
    cache_misses++;
    pthread_mutex_unlock(&cache_lock);

    if (zk_ptx_compile(text, len, "ptx", NULL, &img, err, sizeof(err)) != 0) {
        return zk__fail(ZK_ERROR_INVALID_IMAGE, "zk_module_load: %s", err);
    }
    if (image_copy(out, &img) != 0) {
        zk_ptx_image_free(&img);
        return zk__fail(ZK_ERROR_OUT_OF_MEMORY, "zk_module_load: out of host memory");
    }
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < PTX_CACHE_ENTRIES; i++) {
        if (!cache[i].text) {
            victim = &cache[i];
            break;
        }
        if (!victim || cache[i].last_use < victim->last_use) {
            victim = &cache[i];
        }
    }
    free(victim->text);
    zk_ptx_image_free(&victim->img);
    victim->text = malloc(len ? len : 1);
    if (victim->text) {
        memcpy(victim->text, text, len);
        victim->len = len;
        victim->hash = h;
        victim->img = img;
        victim->last_use = ++cache_clock;
    } else {
        zk_ptx_image_free(&img);
        memset(victim, 0, sizeof(*victim));
    }
    pthread_mutex_unlock(&cache_lock);
    return ZK_SUCCESS;
}

int zk__is_ptx_input(const void *data, size_t len, int allow_wrapper)
{
    zk_image_kind k = zk_image_detect(data, len);
    return k == ZK_IMAGE_PTX || k == ZK_IMAGE_FATBIN ||
           (allow_wrapper && k == ZK_IMAGE_FATBIN_WRAPPER && len == sizeof(zk_fatbin_wrapper));
}

zk_status zk__ptx_load(const void *data, size_t len, int allow_wrapper, zk_ptx_image *out)
{
    zk_ptx_text t;
    char err[512];
    zk_status st;
    int rc;
    memset(out, 0, sizeof(*out));
    if (zk_image_detect(data, len) == ZK_IMAGE_FATBIN_WRAPPER) {
        if (!allow_wrapper || len != sizeof(zk_fatbin_wrapper)) {
            return zk__fail(ZK_ERROR_INVALID_IMAGE, "zk_module_load: a fat binary wrapper "
                            "holds pointers into its process; pass it in memory to "
                            "zk_module_load_data with len = %zu", sizeof(zk_fatbin_wrapper));
        }
        rc = zk_fatbin_wrapper_get_ptx(data, &t, err, sizeof(err));
    } else {
        rc = zk_ptx_from_image(data, len, &t, err, sizeof(err));
    }
    if (rc != 0) {
        return zk__fail(ZK_ERROR_INVALID_IMAGE, "zk_module_load: %s", err);
    }
    st = translate_text(t.text, t.len, out);
    zk_ptx_text_free(&t);
    return st;
}
