/* SPDX-License-Identifier: MIT */
/*
 * zk_kvcache.h - paged KV cache for LLM serving on the zhikai card
 * (the block manager of vLLM's PagedAttention design) and its device layer.
 *
 * Block manager (pure host logic, no device calls):
 *  - The K/V memory of every layer is carved into num_blocks fixed-size
 *    blocks of block_size token slots (default 16).  A sequence owns a
 *    *block table*: logical block i -> physical block id (int32), the array
 *    the paged-attention kernels read.
 *  - Blocks are reference counted.  zk_kv_seq_fork shares every block of the
 *    parent with the child; the last, partial block is copied on write (the
 *    first append to a shared partial block allocates a private copy and
 *    queues a COPY op).  Full blocks are immutable and stay shared.
 *  - Prefix sharing: once a sequence's full blocks are written on the card
 *    (zk_kv_seq_commit), they are registered under a hash of the whole token
 *    prefix they end (chained block hashes, tokens verified on lookup).  A
 *    new sequence created by zk_kv_seq_create_prefix reuses the registered
 *    blocks of its prompt's longest cached prefix.  A registered block whose
 *    last user leaves stays cached (LRU) and is reclaimed only when the free
 *    pool is empty.
 *  - When the pool is exhausted an append fails with ZK_ERROR_OUT_OF_MEMORY
 *    without changing anything; the caller (a scheduler) then preempts a
 *    sequence: zk_kv_seq_swap_out moves its blocks to host swap blocks
 *    (SWAP_OUT ops) and zk_kv_seq_swap_in brings them back, or the sequence
 *    is freed and recomputed later.  Since any free block serves any
 *    sequence there is no fragmentation: a request fits as long as the pool
 *    holds its blocks.
 *  - Block copies the card must perform are queued as zk_kv_op records, in
 *    the order they must run; the device layer (or the caller) drains them
 *    with zk_kv_ops / zk_kv_ops_clear before launching work that reads the
 *    blocks.
 *  Not thread-safe: one manager is driven by one scheduler thread.
 *
 * Device layer (zk_kv_device): allocates the per-layer K and V pools
 * ([n_layers][num_blocks][block_size][kv_dim], one allocation each) and
 * pinned host swap space in the current context, and turns queued ops into
 * runtime copies batched on a stream (adjacent blocks merged).
 */
#ifndef ZHIKAI_ZK_KVCACHE_H
#define ZHIKAI_ZK_KVCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <zhikai/zhikai.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZK_KV_DEFAULT_BLOCK_SIZE 16

typedef struct zk_kv_manager zk_kv_manager;

typedef struct zk_kv_config {
    uint32_t num_blocks;        /* device blocks in the pool (>= 1) */
    uint32_t block_size;        /* token slots per block (0 = 16) */
    uint32_t num_host_blocks;   /* host swap blocks (0 = no swapping) */
    uint32_t max_seqs;          /* sequence ids 0 .. max_seqs-1 (0 = 1024) */
    int prefix_caching;         /* share committed full blocks of prefixes */
} zk_kv_config;

/* A block copy the card must perform, in queue order. */
enum zk_kv_op_kind {
    ZK_KV_OP_COPY = 1,          /* device block src -> device block dst */
    ZK_KV_OP_SWAP_OUT = 2,      /* device block src -> host block dst */
    ZK_KV_OP_SWAP_IN = 3,       /* host block src -> device block dst */
};
typedef struct zk_kv_op {
    uint32_t kind;
    int32_t src, dst;
} zk_kv_op;

typedef struct zk_kv_stats {
    uint32_t num_blocks, block_size;
    uint32_t blocks_used;       /* referenced by at least one sequence */
    uint32_t blocks_free;       /* allocatable: never-used + cached */
    uint32_t blocks_cached;     /* unreferenced but holding a prefix */
    uint32_t host_blocks_used, host_blocks_free;
    uint32_t seqs_active, seqs_swapped;
    uint64_t tokens_stored;     /* token slots filled in used blocks */
    uint64_t tokens_logical;    /* sum of active sequences' lengths */
    uint64_t slots_wasted;      /* blocks_used * block_size - tokens_stored */
    double waste;               /* slots_wasted / (blocks_used*block_size) */
    /* Counters since creation. */
    uint64_t allocs, frees, cow_copies, prefix_hit_blocks, cache_evictions,
             swap_out_blocks, swap_in_blocks, alloc_failures;
} zk_kv_stats;

/** zk_kv_create - new manager; ZK_ERROR_INVALID_VALUE / OUT_OF_MEMORY. */
zk_status zk_kv_create(zk_kv_manager **kv, const zk_kv_config *cfg);
void zk_kv_destroy(zk_kv_manager *kv);

/** zk_kv_seq_create - a new empty sequence; ZK_ERROR_OUT_OF_MEMORY when all
 *  max_seqs ids are in use. */
zk_status zk_kv_seq_create(zk_kv_manager *kv, int32_t *seq);

/**
 * zk_kv_seq_create_prefix - a new sequence whose KV starts with the longest
 * cached prefix of @tokens (@n of them) made of whole committed blocks and
 * ending at least one token before the end (the last prompt token is always
 * computed, so its logits exist).  *cached receives the number of tokens
 * already present; the caller then appends tokens[*cached .. n).
 * Without prefix caching *cached is 0.
 */
zk_status zk_kv_seq_create_prefix(zk_kv_manager *kv, int32_t *seq,
                                  const int32_t *tokens, uint32_t n,
                                  uint32_t *cached);

/**
 * zk_kv_seq_append - reserve slots for @n new tokens (ids @tokens, may be
 * NULL = unknown, which disables sharing of the blocks they fill) at
 * positions len .. len+n-1.  Allocates blocks and copies a shared partial
 * last block first (COPY op).  All or nothing: ZK_ERROR_OUT_OF_MEMORY if
 * the pool cannot supply the blocks (nothing changed).
 */
zk_status zk_kv_seq_append(zk_kv_manager *kv, int32_t seq,
                           const int32_t *tokens, uint32_t n);

/** zk_kv_blocks_needed - blocks an append of @n tokens would allocate
 *  (including a copy-on-write block). */
uint32_t zk_kv_blocks_needed(const zk_kv_manager *kv, int32_t seq, uint32_t n);

/** zk_kv_seq_commit - the card has written every slot of @seq: register its
 *  new full blocks for prefix sharing (no-op without prefix caching). */
zk_status zk_kv_seq_commit(zk_kv_manager *kv, int32_t seq);

/** zk_kv_seq_fork - new sequence sharing all of @parent's blocks. */
zk_status zk_kv_seq_fork(zk_kv_manager *kv, int32_t parent, int32_t *child);

/** zk_kv_seq_free - release @seq's blocks (device or host) and its id. */
zk_status zk_kv_seq_free(zk_kv_manager *kv, int32_t seq);

/** zk_kv_seq_swap_out - copy @seq's blocks to host swap blocks (SWAP_OUT
 *  ops) and release its device blocks.  ZK_ERROR_OUT_OF_MEMORY if the host
 *  swap space is too small (nothing changed). */
zk_status zk_kv_seq_swap_out(zk_kv_manager *kv, int32_t seq);

/** zk_kv_seq_swap_in - bring a swapped @seq back (SWAP_IN ops).
 *  ZK_ERROR_OUT_OF_MEMORY if the pool cannot supply its blocks. */
zk_status zk_kv_seq_swap_in(zk_kv_manager *kv, int32_t seq);

/** zk_kv_seq_is_swapped - 1 if @seq is swapped out, 0 if not, -1 if bad id. */
int zk_kv_seq_is_swapped(const zk_kv_manager *kv, int32_t seq);

/** zk_kv_seq_len - tokens stored for @seq (0 for a bad id). */
uint32_t zk_kv_seq_len(const zk_kv_manager *kv, int32_t seq);

/** zk_kv_seq_block_table - @seq's block table (*nblocks entries), valid
 *  until the next call that changes @seq.  NULL for a bad or swapped id. */
const int32_t *zk_kv_seq_block_table(const zk_kv_manager *kv, int32_t seq,
                                     uint32_t *nblocks);

/** zk_kv_num_free_blocks - allocatable device blocks (free + cached). */
uint32_t zk_kv_num_free_blocks(const zk_kv_manager *kv);
uint32_t zk_kv_num_free_host_blocks(const zk_kv_manager *kv);
uint32_t zk_kv_block_size(const zk_kv_manager *kv);
uint32_t zk_kv_num_blocks(const zk_kv_manager *kv);

/** zk_kv_ops - pending block copies in execution order. */
const zk_kv_op *zk_kv_ops(const zk_kv_manager *kv, uint32_t *n);
void zk_kv_ops_clear(zk_kv_manager *kv);

void zk_kv_get_stats(const zk_kv_manager *kv, zk_kv_stats *st);

/**
 * zk_kv_check - verify every invariant (recounts references from all block
 * tables; free/cached/used partition; hash index; fill counts; waste bound).
 * Returns 0 if consistent, else -1 with a description in @msg.  O(blocks).
 */
int zk_kv_check(const zk_kv_manager *kv, char *msg, size_t msglen);

/* ------------------------------------------------------------------ */
/* Device layer                                                        */
/* ------------------------------------------------------------------ */
typedef struct zk_kv_device zk_kv_device;

/**
 * zk_kv_device_create - allocate K and V pools for @n_layers layers of
 * @kv_dim elements of @elem_size bytes per token, sized from @kv's
 * geometry, plus pinned host swap space, in the current context.
 */
zk_status zk_kv_device_create(zk_kv_device **dev, zk_kv_manager *kv,
                              uint32_t n_layers, uint32_t kv_dim,
                              uint32_t elem_size);
void zk_kv_device_destroy(zk_kv_device *dev);

/** Device address of layer @layer's K (V) cache: [num_blocks][bs][kv_dim]. */
zk_deviceptr zk_kv_device_k(const zk_kv_device *dev, uint32_t layer);
zk_deviceptr zk_kv_device_v(const zk_kv_device *dev, uint32_t layer);

/**
 * zk_kv_device_apply_ops - queue the manager's pending ops as copies on
 * @stream (runs of adjacent blocks merged, all layers) and clear them.
 * Does not flush.  *ncopies (may be NULL) receives the copy commands issued.
 */
zk_status zk_kv_device_apply_ops(zk_kv_device *dev, zk_stream stream,
                                 uint32_t *ncopies);

#ifdef __cplusplus
}
#endif

#endif /* ZHIKAI_ZK_KVCACHE_H */
