/* SPDX-License-Identifier: MIT */
/*
 * kvcache.c - paged KV-cache block manager (vLLM PagedAttention design)
 * and its thin device layer.  See include/zhikai/zk_kvcache.h.
 *
 * Physical block state lives in flat arrays indexed by block id:
 *   ref    reference count (number of block tables holding the block)
 *   fill   token slots written (0 .. block_size)
 *   tok    the token ids in those slots (for prefix hashing / verification)
 *   hash, phash, hashed   prefix registration: hash of the whole prefix the
 *          block ends, hash of the prefix before it; hashed blocks are
 *          findable through a chained hash index (bucket -> hnext)
 * An unreferenced block is either on the free stack (never registered) or
 * on the LRU list of cached prefix blocks (registered; reclaimed oldest
 * first when the free stack is empty).  Every operation is O(blocks it
 * touches); nothing scans the pool except zk_kv_get_stats / zk_kv_check.
 *
 * Compile with -DZK_KV_HOST_ONLY to leave out the device layer (host tests).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zhikai/zk_kvcache.h>

#ifndef ZK_KV_HOST_ONLY
#include "zk_internal.h"
#define KV_API ZK_EXPORT
#else
#define KV_API
#endif

enum { SEQ_FREE = 0, SEQ_ACTIVE = 1, SEQ_SWAPPED = 2 };

typedef struct kv_seq {
    int32_t state;
    uint32_t len;           /* tokens stored */
    uint32_t nblocks, cap;
    int32_t *table;         /* device block ids (host block ids if swapped) */
    uint32_t ncommitted;    /* leading blocks already considered for sharing */
    uint64_t chain;         /* prefix hash after ncommitted blocks */
    int tokens_known;       /* every appended token id is known */
} kv_seq;

struct zk_kv_manager {
    uint32_t nb, bs, nhb, max_seqs;
    int prefix;
    int32_t *ref, *lru_prev, *lru_next, *hnext, *tok, *free_stack;
    uint32_t *fill;
    uint64_t *hash, *phash;
    uint8_t *hashed;
    uint32_t nfree;
    int32_t lru_head, lru_tail;
    uint32_t ncached;
    int32_t *buckets;
    uint32_t hmask;
    /* host swap blocks */
    int32_t *hfree, *htok;
    uint32_t *hfill;
    uint32_t nhfree;
    /* sequences */
    kv_seq *seqs;
    int32_t *seq_free;
    uint32_t nseq_free;
    /* queued copies */
    zk_kv_op *ops;
    uint32_t nops, ops_cap;
    zk_kv_stats ctr;        /* counters part only */
};

#define HASH_SEED 0x9e3779b97f4a7c15ull

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static uint64_t block_hash(uint64_t prev, const int32_t *t, uint32_t n)
{
    uint64_t h = mix64(prev + 0x632be59bd9b4e019ull);
    for (uint32_t i = 0; i < n; i++) {
        h = (h ^ (uint32_t)t[i]) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    return mix64(h);
}

/* ------------------------------------------------------------------ */
/* Creation                                                            */
/* ------------------------------------------------------------------ */
KV_API void zk_kv_destroy(zk_kv_manager *kv)
{
    if (!kv) {
        return;
    }
    if (kv->seqs) {
        for (uint32_t i = 0; i < kv->max_seqs; i++) {
            free(kv->seqs[i].table);
        }
    }
    free(kv->ref);
    free(kv->lru_prev);
    free(kv->lru_next);
    free(kv->hnext);
    free(kv->tok);
    free(kv->free_stack);
    free(kv->fill);
    free(kv->hash);
    free(kv->phash);
    free(kv->hashed);
    free(kv->buckets);
    free(kv->hfree);
    free(kv->htok);
    free(kv->hfill);
    free(kv->seqs);
    free(kv->seq_free);
    free(kv->ops);
    free(kv);
}

KV_API zk_status zk_kv_create(zk_kv_manager **out, const zk_kv_config *cfg)
{
    zk_kv_manager *kv;
    uint32_t nb, bs, nh, ms, hcap = 16;
    if (!out || !cfg || cfg->num_blocks == 0 || cfg->num_blocks > (1u << 30) ||
        cfg->block_size > 65536 || cfg->num_host_blocks > (1u << 30) ||
        cfg->max_seqs > (1u << 24)) {
        return ZK_ERROR_INVALID_VALUE;
    }
    nb = cfg->num_blocks;
    bs = cfg->block_size ? cfg->block_size : ZK_KV_DEFAULT_BLOCK_SIZE;
    nh = cfg->num_host_blocks;
    ms = cfg->max_seqs ? cfg->max_seqs : 1024;
    kv = calloc(1, sizeof(*kv));
    if (!kv) {
        return ZK_ERROR_OUT_OF_MEMORY;
    }
    while (hcap < 2 * nb) {
        hcap <<= 1;
    }
    kv->nb = nb;
    kv->bs = bs;
    kv->nhb = nh;
    kv->max_seqs = ms;
    kv->prefix = cfg->prefix_caching != 0;
    kv->ref = calloc(nb, sizeof(int32_t));
    kv->lru_prev = malloc(nb * sizeof(int32_t));
    kv->lru_next = malloc(nb * sizeof(int32_t));
    kv->hnext = malloc(nb * sizeof(int32_t));
    kv->tok = malloc((size_t)nb * bs * sizeof(int32_t));
    kv->free_stack = malloc(nb * sizeof(int32_t));
    kv->fill = calloc(nb, sizeof(uint32_t));
    kv->hash = calloc(nb, sizeof(uint64_t));
    kv->phash = calloc(nb, sizeof(uint64_t));
    kv->hashed = calloc(nb, 1);
    kv->buckets = malloc(hcap * sizeof(int32_t));
    kv->hmask = hcap - 1;
    kv->hfree = malloc((nh ? nh : 1) * sizeof(int32_t));
    kv->htok = malloc(((size_t)(nh ? nh : 1) * bs) * sizeof(int32_t));
    kv->hfill = calloc(nh ? nh : 1, sizeof(uint32_t));
    kv->seqs = calloc(ms, sizeof(kv_seq));
    kv->seq_free = malloc(ms * sizeof(int32_t));
    kv->ops_cap = 64;
    kv->ops = malloc(kv->ops_cap * sizeof(zk_kv_op));
    if (!kv->ref || !kv->lru_prev || !kv->lru_next || !kv->hnext || !kv->tok ||
        !kv->free_stack || !kv->fill || !kv->hash || !kv->phash || !kv->hashed ||
        !kv->buckets || !kv->hfree || !kv->htok || !kv->hfill || !kv->seqs ||
        !kv->seq_free || !kv->ops) {
        zk_kv_destroy(kv);
        return ZK_ERROR_OUT_OF_MEMORY;
    }
    /* Free stacks popped from the top: low ids first. */
    for (uint32_t i = 0; i < nb; i++) {
        kv->free_stack[i] = (int32_t)(nb - 1 - i);
    }
    kv->nfree = nb;
    for (uint32_t i = 0; i < nh; i++) {
        kv->hfree[i] = (int32_t)(nh - 1 - i);
    }
    kv->nhfree = nh;
    for (uint32_t i = 0; i < ms; i++) {
        kv->seq_free[i] = (int32_t)(ms - 1 - i);
    }
    kv->nseq_free = ms;
    for (uint32_t i = 0; i <= kv->hmask; i++) {
        kv->buckets[i] = -1;
    }
    kv->lru_head = kv->lru_tail = -1;
    *out = kv;
    return ZK_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Block pool                                                          */
/* ------------------------------------------------------------------ */
static void lru_unlink(zk_kv_manager *kv, int32_t b)
{
    int32_t p = kv->lru_prev[b], n = kv->lru_next[b];
    if (p >= 0) {
        kv->lru_next[p] = n;
    } else {
        kv->lru_head = n;
    }
    if (n >= 0) {
        kv->lru_prev[n] = p;
    } else {
        kv->lru_tail = p;
    }
    kv->ncached--;
}

static void lru_push_tail(zk_kv_manager *kv, int32_t b)
{
    kv->lru_prev[b] = kv->lru_tail;
    kv->lru_next[b] = -1;
    if (kv->lru_tail >= 0) {
        kv->lru_next[kv->lru_tail] = b;
    } else {
        kv->lru_head = b;
    }
    kv->lru_tail = b;
    kv->ncached++;
}

static void hash_insert(zk_kv_manager *kv, int32_t b, uint64_t h, uint64_t ph)
{
    uint32_t i = (uint32_t)h & kv->hmask;
    kv->hash[b] = h;
    kv->phash[b] = ph;
    kv->hashed[b] = 1;
    kv->hnext[b] = kv->buckets[i];
    kv->buckets[i] = b;
}

static void hash_remove(zk_kv_manager *kv, int32_t b)
{
    int32_t *pp = &kv->buckets[(uint32_t)kv->hash[b] & kv->hmask];
    while (*pp != b) {
        pp = &kv->hnext[*pp];
    }
    *pp = kv->hnext[b];
    kv->hashed[b] = 0;
}

/* A registered full block holding exactly @t after prefix hash @ph. */
static int32_t hash_lookup(const zk_kv_manager *kv, uint64_t h, uint64_t ph,
                           const int32_t *t)
{
    for (int32_t b = kv->buckets[(uint32_t)h & kv->hmask]; b >= 0; b = kv->hnext[b]) {
        if (kv->hash[b] == h && kv->phash[b] == ph &&
            !memcmp(kv->tok + (size_t)b * kv->bs, t, kv->bs * sizeof(int32_t))) {
            return b;
        }
    }
    return -1;
}

/* Caller has checked availability. */
static int32_t alloc_block(zk_kv_manager *kv)
{
    int32_t b;
    if (kv->nfree) {
        b = kv->free_stack[--kv->nfree];
    } else {
        b = kv->lru_head;
        lru_unlink(kv, b);
        hash_remove(kv, b);
        kv->ctr.cache_evictions++;
    }
    kv->ref[b] = 1;
    kv->fill[b] = 0;
    kv->ctr.allocs++;
    return b;
}

static void decref(zk_kv_manager *kv, int32_t b)
{
    if (--kv->ref[b] == 0) {
        kv->ctr.frees++;
        if (kv->hashed[b]) {
            lru_push_tail(kv, b);
        } else {
            kv->free_stack[kv->nfree++] = b;
        }
    }
}

static uint32_t avail(const zk_kv_manager *kv)
{
    return kv->nfree + kv->ncached;
}

static int ops_reserve(zk_kv_manager *kv, uint32_t n)
{
    if (kv->nops + n > kv->ops_cap) {
        uint32_t cap = kv->ops_cap;
        zk_kv_op *o;
        while (cap < kv->nops + n) {
            cap *= 2;
        }
        o = realloc(kv->ops, cap * sizeof(*o));
        if (!o) {
            return -1;
        }
        kv->ops = o;
        kv->ops_cap = cap;
    }
    return 0;
}

static void push_op(zk_kv_manager *kv, uint32_t kind, int32_t src, int32_t dst)
{
    zk_kv_op *o = &kv->ops[kv->nops++];
    o->kind = kind;
    o->src = src;
    o->dst = dst;
}

/* ------------------------------------------------------------------ */
/* Sequences                                                           */
/* ------------------------------------------------------------------ */
static kv_seq *get_seq(const zk_kv_manager *kv, int32_t id, int state)
{
    if (!kv || id < 0 || (uint32_t)id >= kv->max_seqs ||
        kv->seqs[id].state != state) {
        return NULL;
    }
    return &kv->seqs[id];
}

static int table_reserve(kv_seq *s, uint32_t n)
{
    if (n > s->cap) {
        uint32_t cap = s->cap ? s->cap : 4;
        int32_t *t;
        while (cap < n) {
            cap *= 2;
        }
        t = realloc(s->table, cap * sizeof(int32_t));
        if (!t) {
            return -1;
        }
        s->table = t;
        s->cap = cap;
    }
    return 0;
}

KV_API zk_status zk_kv_seq_create(zk_kv_manager *kv, int32_t *seq)
{
    kv_seq *s;
    int32_t id;
    if (!kv || !seq) {
        return ZK_ERROR_INVALID_VALUE;
    }
    if (!kv->nseq_free) {
        return ZK_ERROR_OUT_OF_MEMORY;
    }
    id = kv->seq_free[--kv->nseq_free];
    s = &kv->seqs[id];
    s->state = SEQ_ACTIVE;
    s->len = 0;
    s->nblocks = 0;
    s->ncommitted = 0;
    s->chain = HASH_SEED;
    s->tokens_known = 1;
    *seq = id;
    return ZK_SUCCESS;
}

KV_API zk_status zk_kv_seq_create_prefix(zk_kv_manager *kv, int32_t *seq,
                                         const int32_t *tokens, uint32_t n,
                                         uint32_t *cached)
{
    zk_status st;
    kv_seq *s;
    uint32_t limit;
    if (!kv || !seq || !cached || (n && !tokens)) {
        return ZK_ERROR_INVALID_VALUE;
    }
    st = zk_kv_seq_create(kv, seq);
    if (st) {
        return st;
    }
    s = &kv->seqs[*seq];
    *cached = 0;
    if (!kv->prefix || n < 2) {
        return ZK_SUCCESS;
    }
    limit = (n - 1) / kv->bs;       /* whole blocks before the last token */
    if (table_reserve(s, limit)) {
        zk_kv_seq_free(kv, *seq);
        return ZK_ERROR_OUT_OF_MEMORY;
    }
    for (uint32_t i = 0; i < limit; i++) {
        const int32_t *t = tokens + (size_t)i * kv->bs;
        uint64_t h = block_hash(s->chain, t, kv->bs);
        int32_t b = hash_lookup(kv, h, s->chain, t);
        if (b < 0) {
            break;
        }
        if (kv->ref[b]++ == 0) {
            lru_unlink(kv, b);
        }
        s->table[s->nblocks++] = b;
        s->len += kv->bs;
        s->chain = h;
        s->ncommitted++;
        kv->ctr.prefix_hit_blocks++;
    }
    *cached = s->len;
    return ZK_SUCCESS;
}

KV_API uint32_t zk_kv_blocks_needed(const zk_kv_manager *kv, int32_t seq, uint32_t n)
{
    const kv_seq *s = get_seq(kv, seq, SEQ_ACTIVE);
    uint32_t need, bs;
    if (!s || !n) {
        return 0;
    }
    bs = kv->bs;
    need = (uint32_t)(((uint64_t)s->len + n + bs - 1) / bs) - s->nblocks;
    if (s->len % bs && kv->ref[s->table[s->nblocks - 1]] > 1) {
        need++;         /* copy-on-write of the shared partial block */
    }
    return need;
}

KV_API zk_status zk_kv_seq_append(zk_kv_manager *kv, int32_t seq,
                                  const int32_t *tokens, uint32_t n)
{
    kv_seq *s = get_seq(kv, seq, SEQ_ACTIVE);
    uint32_t bs, need, off;
    int32_t b;
    if (!s) {
        return ZK_ERROR_INVALID_VALUE;
    }
    if (!n) {
        return ZK_SUCCESS;
    }
    bs = kv->bs;
    if ((uint64_t)s->len + n > INT32_MAX) {
        return ZK_ERROR_INVALID_VALUE;
    }
    need = zk_kv_blocks_needed(kv, seq, n);
    if (need > avail(kv)) {
        kv->ctr.alloc_failures++;
        return ZK_ERROR_OUT_OF_MEMORY;
    }
    if (table_reserve(s, s->nblocks + need) || ops_reserve(kv, 1)) {
        return ZK_ERROR_OUT_OF_MEMORY;
    }
    off = s->len % bs;
    b = s->nblocks ? s->table[s->nblocks - 1] : -1;
    if (off && kv->ref[b] > 1) {
        /* Copy on write: private copy of the shared partial last block. */
        int32_t nb = alloc_block(kv);
        memcpy(kv->tok + (size_t)nb * bs, kv->tok + (size_t)b * bs, off * sizeof(int32_t));
        kv->fill[nb] = off;
        push_op(kv, ZK_KV_OP_COPY, b, nb);
        decref(kv, b);
        s->table[s->nblocks - 1] = nb;
        b = nb;
        kv->ctr.cow_copies++;
    }
    if (!tokens) {
        s->tokens_known = 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (off == 0) {
            b = alloc_block(kv);
            s->table[s->nblocks++] = b;
        }
        kv->tok[(size_t)b * bs + off] = tokens ? tokens[i] : -1;
        kv->fill[b] = ++off;
        if (off == bs) {
            off = 0;
        }
    }
    s->len += n;
    return ZK_SUCCESS;
}

KV_API zk_status zk_kv_seq_commit(zk_kv_manager *kv, int32_t seq)
{
    kv_seq *s = get_seq(kv, seq, SEQ_ACTIVE);
    uint32_t full;
    if (!s) {
        return ZK_ERROR_INVALID_VALUE;
    }
    if (!kv->prefix || !s->tokens_known) {
        return ZK_SUCCESS;
    }
    full = s->len / kv->bs;
    for (; s->ncommitted < full; s->ncommitted++) {
        int32_t b = s->table[s->ncommitted];
        const int32_t *t = kv->tok + (size_t)b * kv->bs;
        uint64_t h = block_hash(s->chain, t, kv->bs);
        if (!kv->hashed[b] && hash_lookup(kv, h, s->chain, t) < 0) {
            hash_insert(kv, b, h, s->chain);
        }
        s->chain = h;
    }
    return ZK_SUCCESS;
}

KV_API zk_status zk_kv_seq_fork(zk_kv_manager *kv, int32_t parent, int32_t *child)
{
    kv_seq *p = get_seq(kv, parent, SEQ_ACTIVE), *c;
    zk_status st;
    if (!p || !child) {
        return ZK_ERROR_INVALID_VALUE;
    }
    st = zk_kv_seq_create(kv, child);
    if (st) {
        return st;
    }
    c = &kv->seqs[*child];
    if (table_reserve(c, p->nblocks)) {
        zk_kv_seq_free(kv, *child);
        return ZK_ERROR_OUT_OF_MEMORY;
    }
    for (uint32_t i = 0; i < p->nblocks; i++) {
        c->table[i] = p->table[i];
        kv->ref[p->table[i]]++;
    }
    c->nblocks = p->nblocks;
    c->len = p->len;
    c->ncommitted = p->ncommitted;
    c->chain = p->chain;
    c->tokens_known = p->tokens_known;
    return ZK_SUCCESS;
}

KV_API zk_status zk_kv_seq_free(zk_kv_manager *kv, int32_t seq)
{
    kv_seq *s;
    if (!kv || seq < 0 || (uint32_t)seq >= kv->max_seqs) {
        return ZK_ERROR_INVALID_VALUE;
    }
    s = &kv->seqs[seq];
    if (s->state == SEQ_ACTIVE) {
        for (uint32_t i = s->nblocks; i-- > 0;) {
            decref(kv, s->table[i]);
        }
    } else if (s->state == SEQ_SWAPPED) {
        for (uint32_t i = s->nblocks; i-- > 0;) {
            kv->hfree[kv->nhfree++] = s->table[i];
        }
    } else {
        return ZK_ERROR_INVALID_VALUE;
    }
    s->state = SEQ_FREE;
    s->nblocks = 0;
    s->len = 0;
    kv->seq_free[kv->nseq_free++] = seq;
    return ZK_SUCCESS;
}

KV_API zk_status zk_kv_seq_swap_out(zk_kv_manager *kv, int32_t seq)
{
    kv_seq *s = get_seq(kv, seq, SEQ_ACTIVE);
    uint32_t bs;
    if (!s) {
        return ZK_ERROR_INVALID_VALUE;
    }
    if (s->nblocks > kv->nhfree) {
        return ZK_ERROR_OUT_OF_MEMORY;
    }
    if (ops_reserve(kv, s->nblocks)) {
        return ZK_ERROR_OUT_OF_MEMORY;
    }
    bs = kv->bs;
    for (uint32_t i = 0; i < s->nblocks; i++) {
        int32_t b = s->table[i], hb = kv->hfree[--kv->nhfree];
        memcpy(kv->htok + (size_t)hb * bs, kv->tok + (size_t)b * bs, bs * sizeof(int32_t));
        kv->hfill[hb] = kv->fill[b];
        push_op(kv, ZK_KV_OP_SWAP_OUT, b, hb);
        decref(kv, b);
        s->table[i] = hb;
    }
    kv->ctr.swap_out_blocks += s->nblocks;
    s->state = SEQ_SWAPPED;
    return ZK_SUCCESS;
}

KV_API zk_status zk_kv_seq_swap_in(zk_kv_manager *kv, int32_t seq)
{
    kv_seq *s = get_seq(kv, seq, SEQ_SWAPPED);
    uint32_t bs;
    if (!s) {
        return ZK_ERROR_INVALID_VALUE;
    }
    if (s->nblocks > avail(kv)) {
        kv->ctr.alloc_failures++;
        return ZK_ERROR_OUT_OF_MEMORY;
    }
    if (ops_reserve(kv, s->nblocks)) {
        return ZK_ERROR_OUT_OF_MEMORY;
    }
    bs = kv->bs;
    for (uint32_t i = 0; i < s->nblocks; i++) {
        int32_t hb = s->table[i], b = alloc_block(kv);
        memcpy(kv->tok + (size_t)b * bs, kv->htok + (size_t)hb * bs, bs * sizeof(int32_t));
        kv->fill[b] = kv->hfill[hb];
        push_op(kv, ZK_KV_OP_SWAP_IN, hb, b);
        kv->hfree[kv->nhfree++] = hb;
        s->table[i] = b;
    }
    kv->ctr.swap_in_blocks += s->nblocks;
    s->state = SEQ_ACTIVE;
    /* The new blocks are not registered: let commit offer them again. */
    s->ncommitted = 0;
    s->chain = HASH_SEED;
    return ZK_SUCCESS;
}

KV_API int zk_kv_seq_is_swapped(const zk_kv_manager *kv, int32_t seq)
{
    if (!kv || seq < 0 || (uint32_t)seq >= kv->max_seqs ||
        kv->seqs[seq].state == SEQ_FREE) {
        return -1;
    }
    return kv->seqs[seq].state == SEQ_SWAPPED;
}

KV_API uint32_t zk_kv_seq_len(const zk_kv_manager *kv, int32_t seq)
{
    if (!kv || seq < 0 || (uint32_t)seq >= kv->max_seqs) {
        return 0;
    }
    return kv->seqs[seq].len;
}

KV_API const int32_t *zk_kv_seq_block_table(const zk_kv_manager *kv, int32_t seq,
                                            uint32_t *nblocks)
{
    const kv_seq *s = get_seq(kv, seq, SEQ_ACTIVE);
    if (!s) {
        return NULL;
    }
    if (nblocks) {
        *nblocks = s->nblocks;
    }
    return s->table;
}

KV_API uint32_t zk_kv_num_free_blocks(const zk_kv_manager *kv)
{
    return kv ? avail(kv) : 0;
}

KV_API uint32_t zk_kv_num_free_host_blocks(const zk_kv_manager *kv)
{
    return kv ? kv->nhfree : 0;
}

KV_API uint32_t zk_kv_block_size(const zk_kv_manager *kv)
{
    return kv ? kv->bs : 0;
}

KV_API uint32_t zk_kv_num_blocks(const zk_kv_manager *kv)
{
    return kv ? kv->nb : 0;
}

KV_API const zk_kv_op *zk_kv_ops(const zk_kv_manager *kv, uint32_t *n)
{
    if (n) {
        *n = kv ? kv->nops : 0;
    }
    return kv ? kv->ops : NULL;
}

KV_API void zk_kv_ops_clear(zk_kv_manager *kv)
{
    if (kv) {
        kv->nops = 0;
    }
}

KV_API void zk_kv_get_stats(const zk_kv_manager *kv, zk_kv_stats *st)
{
    uint64_t filled = 0;
    if (!kv || !st) {
        return;
    }
    *st = kv->ctr;
    st->num_blocks = kv->nb;
    st->block_size = kv->bs;
    st->blocks_free = avail(kv);
    st->blocks_cached = kv->ncached;
    st->blocks_used = kv->nb - st->blocks_free;
    st->host_blocks_free = kv->nhfree;
    st->host_blocks_used = kv->nhb - kv->nhfree;
    for (uint32_t b = 0; b < kv->nb; b++) {
        if (kv->ref[b] > 0) {
            filled += kv->fill[b];
        }
    }
    for (uint32_t i = 0; i < kv->max_seqs; i++) {
        if (kv->seqs[i].state == SEQ_ACTIVE) {
            st->seqs_active++;
            st->tokens_logical += kv->seqs[i].len;
        } else if (kv->seqs[i].state == SEQ_SWAPPED) {
            st->seqs_swapped++;
        }
    }
    st->tokens_stored = filled;
    st->slots_wasted = (uint64_t)st->blocks_used * kv->bs - filled;
    st->waste = st->blocks_used ? (double)st->slots_wasted /
                ((double)st->blocks_used * kv->bs) : 0.0;
}

#define FAIL(...) do { snprintf(msg, msglen, __VA_ARGS__); goto out; } while (0)

KV_API int zk_kv_check(const zk_kv_manager *kv, char *msg, size_t msglen)
{
    int32_t *cnt = NULL;
    uint8_t *where = NULL;      /* 1 free stack, 2 lru, 4 host free, 8 host used */
    uint8_t *hwhere = NULL;
    uint32_t nhashed = 0, nindexed = 0, nactive = 0, ncached = 0;
    uint64_t filled = 0, used = 0;
    int rc = -1;
    char dummy[1];

    if (!msg || !msglen) {
        msg = dummy;
        msglen = sizeof(dummy);
    }
    msg[0] = 0;
    cnt = calloc(kv->nb, sizeof(int32_t));
    where = calloc(kv->nb, 1);
    hwhere = calloc(kv->nhb ? kv->nhb : 1, 1);
    if (!cnt || !where || !hwhere) {
        FAIL("out of memory");
    }
    if (kv->nfree > kv->nb || kv->ncached > kv->nb || kv->nhfree > kv->nhb) {
        FAIL("counters out of range");
    }
    for (uint32_t i = 0; i < kv->nfree; i++) {
        int32_t b = kv->free_stack[i];
        if (b < 0 || (uint32_t)b >= kv->nb || where[b]) {
            FAIL("free stack entry %u (block %d) bad or duplicated", i, b);
        }
        where[b] = 1;
        if (kv->hashed[b]) {
            FAIL("free block %d is registered for sharing", b);
        }
    }
    for (int32_t b = kv->lru_head, prev = -1; b >= 0; prev = b, b = kv->lru_next[b]) {
        if ((uint32_t)b >= kv->nb || where[b]) {
            FAIL("LRU list entry %d bad or duplicated", b);
        }
        if (kv->lru_prev[b] != prev) {
            FAIL("LRU back link of %d broken", b);
        }
        if (!kv->hashed[b]) {
            FAIL("cached block %d is not registered", b);
        }
        where[b] = 2;
        ncached++;
    }
    if (ncached != kv->ncached) {
        FAIL("LRU holds %u blocks, counter says %u", ncached, kv->ncached);
    }
    for (uint32_t i = 0; i < kv->max_seqs; i++) {
        const kv_seq *s = &kv->seqs[i];
        if (s->state == SEQ_FREE) {
            continue;
        }
        if (s->nblocks != (s->len + kv->bs - 1) / kv->bs) {
            FAIL("seq %u: %u tokens in %u blocks", i, s->len, s->nblocks);
        }
        for (uint32_t j = 0; j < s->nblocks; j++) {
            int32_t b = s->table[j];
            uint32_t want = j + 1 < s->nblocks ? kv->bs : s->len - j * kv->bs;
            if (s->state == SEQ_SWAPPED) {
                if (b < 0 || (uint32_t)b >= kv->nhb || hwhere[b]) {
                    FAIL("seq %u: host block %d bad or owned twice", i, b);
                }
                hwhere[b] = 8;
                if (kv->hfill[b] != want) {
                    FAIL("seq %u: host block %d holds %u tokens, expected %u", i, b,
                         kv->hfill[b], want);
                }
                continue;
            }
            if (b < 0 || (uint32_t)b >= kv->nb) {
                FAIL("seq %u: block id %d out of range", i, b);
            }
            if (where[b]) {
                FAIL("seq %u: block %d is in use and also free/cached", i, b);
            }
            if (kv->fill[b] != want) {
                FAIL("seq %u: block %d (logical %u) fill %u, expected %u", i, b, j,
                     kv->fill[b], want);
            }
            cnt[b]++;
        }
        if (s->state == SEQ_ACTIVE) {
            nactive++;
        }
    }
    for (uint32_t i = 0; i < kv->nhfree; i++) {
        int32_t hb = kv->hfree[i];
        if (hb < 0 || (uint32_t)hb >= kv->nhb || hwhere[hb]) {
            FAIL("host free entry %d bad, duplicated or owned", hb);
        }
        hwhere[hb] = 4;
    }
    for (uint32_t hb = 0; hb < kv->nhb; hb++) {
        if (!hwhere[hb]) {
            FAIL("host block %u leaked (neither free nor owned)", hb);
        }
    }
    for (uint32_t b = 0; b < kv->nb; b++) {
        if (cnt[b] != kv->ref[b]) {
            FAIL("block %u: refcount %d but %d block tables hold it", b, kv->ref[b], cnt[b]);
        }
        if (kv->ref[b] == 0 && !where[b]) {
            FAIL("block %u leaked (unreferenced, not free, not cached)", b);
        }
        if (kv->ref[b] > 0) {
            used++;
            filled += kv->fill[b];
        }
        if (kv->hashed[b]) {
            nhashed++;
            if (kv->fill[b] != kv->bs) {
                FAIL("registered block %u is not full", b);
            }
        }
    }
    for (uint32_t i = 0; i <= kv->hmask; i++) {
        for (int32_t b = kv->buckets[i]; b >= 0; b = kv->hnext[b]) {
            if ((uint32_t)b >= kv->nb || !kv->hashed[b] ||
                ((uint32_t)kv->hash[b] & kv->hmask) != i) {
                FAIL("hash index entry %d in bucket %u is wrong", b, i);
            }
            if (++nindexed > nhashed) {
                FAIL("hash index has more entries than registered blocks");
            }
        }
    }
    if (nindexed != nhashed) {
        FAIL("%u registered blocks, %u in the hash index", nhashed, nindexed);
    }
    if (used + kv->nfree + kv->ncached != kv->nb) {
        FAIL("used %llu + free %u + cached %u != %u blocks", (unsigned long long)used,
             kv->nfree, kv->ncached, kv->nb);
    }
    if (used * kv->bs - filled > (uint64_t)nactive * (kv->bs - 1)) {
        FAIL("waste %llu slots exceeds one partial block per sequence (%u seqs)",
             (unsigned long long)(used * kv->bs - filled), nactive);
    }
    rc = 0;
out:
    free(cnt);
    free(where);
    free(hwhere);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Device layer                                                        */
/* ------------------------------------------------------------------ */
#ifndef ZK_KV_HOST_ONLY
struct zk_kv_device {
    zk_kv_manager *kv;
    uint32_t n_layers, nb, nhb;
    size_t block_bytes;         /* one layer's K (or V) of one block */
    zk_deviceptr k, v;          /* [layer][block][bs][kv_dim] */
    uint8_t *host;              /* [2][layer][host block][bs][kv_dim], pinned */
};

ZK_EXPORT void zk_kv_device_destroy(zk_kv_device *d)
{
    if (!d) {
        return;
    }
    if (d->k) {
        zk_mem_free(d->k);
    }
    if (d->v) {
        zk_mem_free(d->v);
    }
    if (d->host) {
        zk_mem_free_host(d->host);
    }
    free(d);
}

ZK_EXPORT zk_status zk_kv_device_create(zk_kv_device **out, zk_kv_manager *kv,
                                        uint32_t n_layers, uint32_t kv_dim,
                                        uint32_t elem_size)
{
    zk_kv_device *d;
    zk_status st;
    size_t pool;
    if (!out || !kv || !n_layers || !kv_dim || !elem_size) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_kv_device_create: bad argument");
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        return zk__fail(ZK_ERROR_OUT_OF_MEMORY, "zk_kv_device_create: out of memory");
    }
    d->kv = kv;
    d->n_layers = n_layers;
    d->nb = kv->nb;
    d->nhb = kv->nhb;
    d->block_bytes = (size_t)kv->bs * kv_dim * elem_size;
    pool = d->block_bytes * d->nb * n_layers;
    st = zk_mem_alloc(&d->k, pool);
    if (!st) {
        st = zk_mem_alloc(&d->v, pool);
    }
    if (!st && d->nhb) {
        void *h = NULL;
        st = zk_mem_alloc_host(&h, 2 * d->block_bytes * d->nhb * n_layers);
        d->host = h;
    }
    if (st) {
        zk_kv_device_destroy(d);
        return st;
    }
    *out = d;
    return ZK_SUCCESS;
}

ZK_EXPORT zk_deviceptr zk_kv_device_k(const zk_kv_device *d, uint32_t layer)
{
    return d->k + (zk_deviceptr)layer * d->nb * d->block_bytes;
}

ZK_EXPORT zk_deviceptr zk_kv_device_v(const zk_kv_device *d, uint32_t layer)
{
    return d->v + (zk_deviceptr)layer * d->nb * d->block_bytes;
}

static uint8_t *host_block(const zk_kv_device *d, int which, uint32_t layer, int32_t hb)
{
    return d->host + (((size_t)which * d->n_layers + layer) * d->nhb + (size_t)hb) *
           d->block_bytes;
}

/* One run of @n adjacent blocks, every layer, K and V. */
static zk_status run_copy(zk_kv_device *d, uint32_t kind, int32_t src, int32_t dst,
                          uint32_t n, zk_stream s, uint32_t *ncopies)
{
    size_t bytes = d->block_bytes * n;
    for (uint32_t l = 0; l < d->n_layers; l++) {
        for (int which = 0; which < 2; which++) {
            zk_deviceptr base = which ? zk_kv_device_v(d, l) : zk_kv_device_k(d, l);
            zk_status st;
            switch (kind) {
            case ZK_KV_OP_COPY:
                st = zk_memcpy_dtod_async(base + (size_t)dst * d->block_bytes,
                                          base + (size_t)src * d->block_bytes, bytes, s);
                break;
            case ZK_KV_OP_SWAP_OUT:
                st = zk_memcpy_dtoh_async(host_block(d, which, l, dst),
                                          base + (size_t)src * d->block_bytes, bytes, s);
                break;
            default:
                st = zk_memcpy_htod_async(base + (size_t)dst * d->block_bytes,
                                          host_block(d, which, l, src), bytes, s);
                break;
            }
            if (st) {
                return st;
            }
            (*ncopies)++;
        }
    }
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_kv_device_apply_ops(zk_kv_device *d, zk_stream s,
                                           uint32_t *ncopies)
{
    uint32_t n, i = 0, copies = 0;
    const zk_kv_op *ops;
    zk_status st = ZK_SUCCESS;
    if (!d) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_kv_device_apply_ops: NULL device");
    }
    ops = zk_kv_ops(d->kv, &n);
    while (i < n && !st) {
        uint32_t run = 1;
        if (ops[i].kind != ZK_KV_OP_COPY && !d->host) {
            return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_kv_device_apply_ops: swap op "
                            "but no host swap space");
        }
        while (i + run < n && ops[i + run].kind == ops[i].kind &&
               ops[i + run].src == ops[i].src + (int32_t)run &&
               ops[i + run].dst == ops[i].dst + (int32_t)run) {
            run++;
        }
        st = run_copy(d, ops[i].kind, ops[i].src, ops[i].dst, run, s, &copies);
        i += run;
    }
    if (!st) {
        zk_kv_ops_clear(d->kv);
    }
    if (ncopies) {
        *ncopies = copies;
    }
    return st;
}
#endif
