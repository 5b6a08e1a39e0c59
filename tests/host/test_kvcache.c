/* SPDX-License-Identifier: MIT */
/*
 * test_kvcache.c - host tests of the paged KV-cache block manager
 * (runtime/kvcache.c built with -DZK_KV_HOST_ONLY).
 *
 * Besides the manager's own invariant check (zk_kv_check: refcounts
 * recounted from every block table, free/cached/used partition, hash index,
 * waste <= one partial block per sequence), the tests simulate the card:
 * a token-id "device memory" per physical block and host swap block, the
 * queued COPY/SWAP ops applied to it, and appends written through the block
 * table like KVWRITE does.  Every sequence's contents read back through its
 * block table must equal a shadow copy kept by the test - so sharing,
 * copy-on-write, prefix reuse and swapping never corrupt anyone's data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <zhikai/zk_kvcache.h>

#define MAXS 64

typedef struct sim {
    zk_kv_manager *kv;
    uint32_t nb, nhb, bs;
    int32_t *dev, *host;            /* simulated K/V contents: token ids */
    int live[MAXS];                 /* seq ids in use (index = slot) */
    int32_t id[MAXS];
    int32_t *shadow[MAXS];          /* expected tokens of each sequence */
    uint32_t len[MAXS], cap[MAXS];
    uint64_t rng;
} sim;

static uint32_t rnd(sim *s, uint32_t n)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return (uint32_t)(s->rng % n);
}

static void sim_init(sim *s, uint32_t nb, uint32_t bs, uint32_t nhb, int prefix, uint64_t seed)
{
    zk_kv_config cfg = { .num_blocks = nb, .block_size = bs, .num_host_blocks = nhb,
                         .max_seqs = MAXS, .prefix_caching = prefix };
    memset(s, 0, sizeof(*s));
    assert_int_equal(zk_kv_create(&s->kv, &cfg), ZK_SUCCESS);
    s->nb = nb;
    s->nhb = nhb;
    s->bs = bs;
    s->dev = calloc((size_t)nb * bs, sizeof(int32_t));
    s->host = calloc((size_t)(nhb ? nhb : 1) * bs, sizeof(int32_t));
    s->rng = seed * 0x9e3779b97f4a7c15ull + 1;
}

static void sim_fini(sim *s)
{
    for (int i = 0; i < MAXS; i++) {
        free(s->shadow[i]);
    }
    zk_kv_destroy(s->kv);
    free(s->dev);
    free(s->host);
}

/* The card: run the queued copies. */
static void sim_apply_ops(sim *s)
{
    uint32_t n;
    const zk_kv_op *ops = zk_kv_ops(s->kv, &n);
    size_t bb = s->bs * sizeof(int32_t);
    for (uint32_t i = 0; i < n; i++) {
        const zk_kv_op *o = &ops[i];
        switch (o->kind) {
        case ZK_KV_OP_COPY:
            assert_true(o->src >= 0 && (uint32_t)o->src < s->nb && o->dst >= 0 &&
                        (uint32_t)o->dst < s->nb && o->src != o->dst);
            memcpy(s->dev + (size_t)o->dst * s->bs, s->dev + (size_t)o->src * s->bs, bb);
            break;
        case ZK_KV_OP_SWAP_OUT:
            assert_true((uint32_t)o->dst < s->nhb);
            memcpy(s->host + (size_t)o->dst * s->bs, s->dev + (size_t)o->src * s->bs, bb);
            break;
        case ZK_KV_OP_SWAP_IN:
            assert_true((uint32_t)o->src < s->nhb);
            memcpy(s->dev + (size_t)o->dst * s->bs, s->host + (size_t)o->src * s->bs, bb);
            break;
        default:
            fail_msg("bad op kind %u", o->kind);
        }
    }
    zk_kv_ops_clear(s->kv);
}

static void shadow_push(sim *s, int slot, const int32_t *t, uint32_t n)
{
    if (!n) {
        return;
    }
    if (s->len[slot] + n > s->cap[slot]) {
        s->cap[slot] = (s->len[slot] + n) * 2 + 16;
        s->shadow[slot] = realloc(s->shadow[slot], s->cap[slot] * sizeof(int32_t));
    }
    memcpy(s->shadow[slot] + s->len[slot], t, n * sizeof(int32_t));
    s->len[slot] += n;
}

/* Append through the manager, then "KVWRITE" the tokens via the table. */
static zk_status sim_append(sim *s, int slot, const int32_t *t, uint32_t n)
{
    uint32_t pos = zk_kv_seq_len(s->kv, s->id[slot]), nbl;
    zk_status st = zk_kv_seq_append(s->kv, s->id[slot], t, n);
    const int32_t *tab;
    if (st) {
        return st;
    }
    sim_apply_ops(s);
    tab = zk_kv_seq_block_table(s->kv, s->id[slot], &nbl);
    assert_non_null(tab);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t p = pos + i;
        assert_true(p / s->bs < nbl);
        s->dev[(size_t)tab[p / s->bs] * s->bs + p % s->bs] = t[i];
    }
    shadow_push(s, slot, t, n);
    assert_int_equal(zk_kv_seq_commit(s->kv, s->id[slot]), ZK_SUCCESS);
    return ZK_SUCCESS;
}

static void sim_verify(sim *s)
{
    char msg[256];
    if (zk_kv_check(s->kv, msg, sizeof(msg))) {
        fail_msg("invariant: %s", msg);
    }
    for (int i = 0; i < MAXS; i++) {
        uint32_t nbl;
        const int32_t *tab;
        if (!s->live[i]) {
            continue;
        }
        assert_int_equal(zk_kv_seq_len(s->kv, s->id[i]), s->len[i]);
        if (zk_kv_seq_is_swapped(s->kv, s->id[i])) {
            continue;
        }
        tab = zk_kv_seq_block_table(s->kv, s->id[i], &nbl);
        assert_non_null(tab);
        assert_int_equal(nbl, (s->len[i] + s->bs - 1) / s->bs);
        for (uint32_t p = 0; p < s->len[i]; p++) {
            int32_t got = s->dev[(size_t)tab[p / s->bs] * s->bs + p % s->bs];
            if (got != s->shadow[i][p]) {
                fail_msg("seq %d pos %u: card holds %d, expected %d", s->id[i], p, got,
                         s->shadow[i][p]);
            }
        }
    }
}

static int free_slot(sim *s)
{
    for (int i = 0; i < MAXS; i++) {
        if (!s->live[i]) {
            return i;
        }
    }
    return -1;
}

static int random_live(sim *s, int want_swapped)
{
    int cand[MAXS], n = 0;
    for (int i = 0; i < MAXS; i++) {
        if (s->live[i] && (want_swapped < 0 ||
                           zk_kv_seq_is_swapped(s->kv, s->id[i]) == want_swapped)) {
            cand[n++] = i;
        }
    }
    return n ? cand[rnd(s, (uint32_t)n)] : -1;
}

static void sim_free(sim *s, int slot)
{
    assert_int_equal(zk_kv_seq_free(s->kv, s->id[slot]), ZK_SUCCESS);
    s->live[slot] = 0;
    s->len[slot] = 0;
}

/* ------------------------------------------------------------------ */
static void test_create_bad_args(void **state)
{
    zk_kv_manager *kv;
    zk_kv_config cfg = { 0 };
    (void)state;
    assert_int_equal(zk_kv_create(&kv, &cfg), ZK_ERROR_INVALID_VALUE);
    assert_int_equal(zk_kv_create(NULL, &cfg), ZK_ERROR_INVALID_VALUE);
    cfg.num_blocks = 8;
    assert_int_equal(zk_kv_create(&kv, &cfg), ZK_SUCCESS);
    assert_int_equal(zk_kv_block_size(kv), ZK_KV_DEFAULT_BLOCK_SIZE);
    assert_int_equal(zk_kv_seq_append(kv, 3, NULL, 1), ZK_ERROR_INVALID_VALUE);
    assert_int_equal(zk_kv_seq_free(kv, 0), ZK_ERROR_INVALID_VALUE);
    assert_int_equal(zk_kv_seq_free(kv, -1), ZK_ERROR_INVALID_VALUE);
    assert_null(zk_kv_seq_block_table(kv, 0, NULL));
    zk_kv_destroy(kv);
}

static void test_append_and_free(void **state)
{
    sim s;
    int32_t t[100];
    zk_kv_stats st;
    (void)state;
    sim_init(&s, 16, 16, 0, 0, 1);
    for (int i = 0; i < 100; i++) {
        t[i] = 1000 + i;
    }
    s.live[0] = 1;
    assert_int_equal(zk_kv_seq_create(s.kv, &s.id[0]), ZK_SUCCESS);
    assert_int_equal(sim_append(&s, 0, t, 17), ZK_SUCCESS);     /* 2 blocks */
    assert_int_equal(sim_append(&s, 0, t + 17, 15), ZK_SUCCESS); /* exactly 2 */
    zk_kv_get_stats(s.kv, &st);
    assert_int_equal(st.blocks_used, 2);
    assert_int_equal(st.tokens_stored, 32);
    assert_int_equal(st.slots_wasted, 0);
    assert_int_equal(sim_append(&s, 0, t + 32, 1), ZK_SUCCESS);
    zk_kv_get_stats(s.kv, &st);
    assert_int_equal(st.blocks_used, 3);
    assert_int_equal(st.slots_wasted, 15);
    sim_verify(&s);
    /* 13 more blocks fit, the 14th does not: all or nothing. */
    assert_int_equal(zk_kv_blocks_needed(s.kv, s.id[0], 15 + 13 * 16), 13);
    assert_int_equal(zk_kv_seq_append(s.kv, s.id[0], NULL, 15 + 13 * 16 + 1),
                     ZK_ERROR_OUT_OF_MEMORY);
    assert_int_equal(zk_kv_seq_len(s.kv, s.id[0]), 33);
    sim_verify(&s);
    sim_free(&s, 0);
    zk_kv_get_stats(s.kv, &st);
    assert_int_equal(st.blocks_free, 16);
    assert_int_equal(st.blocks_used, 0);
    sim_verify(&s);
    sim_fini(&s);
}

static void test_fork_cow(void **state)
{
    sim s;
    int32_t t[40], u = 7, w = 9;
    zk_kv_stats st;
    const int32_t *pa, *pb;
    (void)state;
    sim_init(&s, 32, 16, 0, 0, 2);
    for (int i = 0; i < 40; i++) {
        t[i] = i;
    }
    s.live[0] = 1;
    assert_int_equal(zk_kv_seq_create(s.kv, &s.id[0]), ZK_SUCCESS);
    assert_int_equal(sim_append(&s, 0, t, 20), ZK_SUCCESS);     /* 1 full + 4 */
    s.live[1] = 1;
    assert_int_equal(zk_kv_seq_fork(s.kv, s.id[0], &s.id[1]), ZK_SUCCESS);
    shadow_push(&s, 1, t, 20);
    zk_kv_get_stats(s.kv, &st);
    assert_int_equal(st.blocks_used, 2);                        /* all shared */
    sim_verify(&s);
    /* Child appends: its partial block is copied, the full one stays shared. */
    assert_int_equal(zk_kv_blocks_needed(s.kv, s.id[1], 1), 1);
    assert_int_equal(sim_append(&s, 1, &u, 1), ZK_SUCCESS);
    zk_kv_get_stats(s.kv, &st);
    assert_int_equal(st.blocks_used, 3);
    assert_int_equal(st.cow_copies, 1);
    pa = zk_kv_seq_block_table(s.kv, s.id[0], NULL);
    pb = zk_kv_seq_block_table(s.kv, s.id[1], NULL);
    assert_int_equal(pa[0], pb[0]);
    assert_int_not_equal(pa[1], pb[1]);
    /* Parent appends: its partial block is now private, no copy. */
    assert_int_equal(sim_append(&s, 0, &w, 1), ZK_SUCCESS);
    zk_kv_get_stats(s.kv, &st);
    assert_int_equal(st.cow_copies, 1);
    sim_verify(&s);
    /* Fork at a block boundary: no copy needed. */
    assert_int_equal(sim_append(&s, 0, t, 11), ZK_SUCCESS);     /* 32 tokens */
    s.live[2] = 1;
    assert_int_equal(zk_kv_seq_fork(s.kv, s.id[0], &s.id[2]), ZK_SUCCESS);
    shadow_push(&s, 2, s.shadow[0], s.len[0]);
    assert_int_equal(zk_kv_blocks_needed(s.kv, s.id[2], 1), 1);
    assert_int_equal(sim_append(&s, 2, &u, 1), ZK_SUCCESS);
    zk_kv_get_stats(s.kv, &st);
    assert_int_equal(st.cow_copies, 1);
    sim_verify(&s);
    sim_free(&s, 0);
    sim_verify(&s);
    sim_free(&s, 2);
    sim_free(&s, 1);
    zk_kv_get_stats(s.kv, &st);
    assert_int_equal(st.blocks_used, 0);
    sim_verify(&s);
    sim_fini(&s);
}

static void test_prefix_sharing(void **state)
{
    sim s;
    int32_t p[64];
    uint32_t cached;
    zk_kv_stats st;
    (void)state;
    sim_init(&s, 16, 16, 0, 1, 3);
    for (int i = 0; i < 64; i++) {
        p[i] = 100 + i;
    }
    s.live[0] = 1;
    assert_int_equal(zk_kv_seq_create_prefix(s.kv, &s.id[0], p, 40, &cached), ZK_SUCCESS);
    assert_int_equal(cached, 0);
    assert_int_equal(sim_append(&s, 0, p, 40), ZK_SUCCESS);     /* 2 full blocks */
    /* Same 40-token prompt: both full blocks are reused. */
    s.live[1] = 1;
    assert_int_equal(zk_kv_seq_create_prefix(s.kv, &s.id[1], p, 40, &cached), ZK_SUCCESS);
    assert_int_equal(cached, 32);
    shadow_push(&s, 1, p, 32);
    assert_int_equal(sim_append(&s, 1, p + 32, 8), ZK_SUCCESS);
    zk_kv_get_stats(s.kv, &st);
    assert_int_equal(st.blocks_used, 4);                        /* 2 shared + 2 tails */
    assert_int_equal(st.prefix_hit_blocks, 2);
    sim_verify(&s);
    /* A 32-token prompt reuses only the first block (its last token must be
     * computed); a different second block reuses one. */
    s.live[2] = 1;
    assert_int_equal(zk_kv_seq_create_prefix(s.kv, &s.id[2], p, 32, &cached), ZK_SUCCESS);
    assert_int_equal(cached, 16);
    shadow_push(&s, 2, p, 16);
    assert_int_equal(sim_append(&s, 2, p + 16, 16), ZK_SUCCESS);
    {
        int32_t q[40];
        memcpy(q, p, sizeof(q));
        q[20] = -5;
        s.live[3] = 1;
        assert_int_equal(zk_kv_seq_create_prefix(s.kv, &s.id[3], q, 40, &cached), ZK_SUCCESS);
        assert_int_equal(cached, 16);
        shadow_push(&s, 3, q, 16);
        assert_int_equal(sim_append(&s, 3, q + 16, 24), ZK_SUCCESS);
    }
    sim_verify(&s);
    /* All leave: registered blocks stay cached and are found again. */
    for (int i = 0; i < 4; i++) {
        sim_free(&s, i);
    }
    zk_kv_get_stats(s.kv, &st);
    assert_int_equal(st.blocks_used, 0);
    assert_true(st.blocks_cached >= 2);
    assert_int_equal(st.blocks_free, 16);
    sim_verify(&s);
    s.live[0] = 1;
    assert_int_equal(zk_kv_seq_create_prefix(s.kv, &s.id[0], p, 64, &cached), ZK_SUCCESS);
    assert_int_equal(cached, 32);
    shadow_push(&s, 0, p, 32);
    assert_int_equal(sim_append(&s, 0, p + 32, 32), ZK_SUCCESS);
    sim_verify(&s);
    /* A new sequence that needs the whole pool evicts the cached blocks. */
    {
        int32_t big[12 * 16];
        for (int i = 0; i < 12 * 16; i++) {
            big[i] = 5000 + i;
        }
        s.live[1] = 1;
        assert_int_equal(zk_kv_seq_create(s.kv, &s.id[1]), ZK_SUCCESS);
        assert_int_equal(sim_append(&s, 1, big, 12 * 16), ZK_SUCCESS);
        zk_kv_get_stats(s.kv, &st);
        assert_true(st.cache_evictions > 0);
        assert_int_equal(st.blocks_free, 0);
        sim_verify(&s);
    }
    sim_fini(&s);
}

static void test_swap(void **state)
{
    sim s;
    int32_t t[80];
    zk_kv_stats st;
    (void)state;
    sim_init(&s, 8, 16, 8, 0, 4);
    for (int i = 0; i < 80; i++) {
        t[i] = 3 * i + 1;
    }
    s.live[0] = s.live[1] = 1;
    assert_int_equal(zk_kv_seq_create(s.kv, &s.id[0]), ZK_SUCCESS);
    assert_int_equal(zk_kv_seq_create(s.kv, &s.id[1]), ZK_SUCCESS);
    assert_int_equal(sim_append(&s, 0, t, 70), ZK_SUCCESS);     /* 5 blocks */
    assert_int_equal(sim_append(&s, 1, t + 1, 40), ZK_SUCCESS); /* 3 blocks: full */
    assert_int_equal(zk_kv_seq_append(s.kv, s.id[1], t, 9), ZK_ERROR_OUT_OF_MEMORY);
    /* Preempt seq 0 by swapping it out; seq 1 proceeds. */
    assert_int_equal(zk_kv_seq_swap_out(s.kv, s.id[0]), ZK_SUCCESS);
    sim_apply_ops(&s);
    assert_int_equal(zk_kv_seq_is_swapped(s.kv, s.id[0]), 1);
    assert_null(zk_kv_seq_block_table(s.kv, s.id[0], NULL));
    assert_int_equal(sim_append(&s, 1, t, 9), ZK_SUCCESS);
    /* Overwrite whatever is free to prove swap-in really restores data. */
    sim_verify(&s);
    zk_kv_get_stats(s.kv, &st);
    assert_int_equal(st.host_blocks_used, 5);
    assert_int_equal(st.seqs_swapped, 1);
    assert_int_equal(zk_kv_seq_swap_in(s.kv, s.id[0]), ZK_ERROR_OUT_OF_MEMORY);
    sim_free(&s, 1);
    for (uint32_t i = 0; i < s.nb * s.bs; i++) {
        s.dev[i] = -77;
    }
    assert_int_equal(zk_kv_seq_swap_in(s.kv, s.id[0]), ZK_SUCCESS);
    sim_apply_ops(&s);
    sim_verify(&s);
    assert_int_equal(sim_append(&s, 0, t, 10), ZK_SUCCESS);
    sim_verify(&s);
    /* Swap out with too little host space fails cleanly. */
    s.live[1] = 1;
    assert_int_equal(zk_kv_seq_create(s.kv, &s.id[1]), ZK_SUCCESS);
    sim_verify(&s);
    sim_fini(&s);
}

/* No fragmentation: after random frees, one sequence can use every block. */
static void test_no_fragmentation(void **state)
{
    sim s;
    int32_t t[16 * 64];
    (void)state;
    sim_init(&s, 64, 16, 0, 0, 5);
    for (int i = 0; i < 16 * 64; i++) {
        t[i] = i;
    }
    for (int i = 0; i < 32; i++) {
        s.live[i] = 1;
        assert_int_equal(zk_kv_seq_create(s.kv, &s.id[i]), ZK_SUCCESS);
        assert_int_equal(sim_append(&s, i, t, 1 + rnd(&s, 32)), ZK_SUCCESS);
    }
    for (int i = 0; i < 32; i += 1 + (int)rnd(&s, 2)) {
        sim_free(&s, i);
    }
    for (int i = 0; i < 32; i++) {
        if (s.live[i]) {
            sim_free(&s, i);
        }
    }
    s.live[0] = 1;
    assert_int_equal(zk_kv_seq_create(s.kv, &s.id[0]), ZK_SUCCESS);
    assert_int_equal(sim_append(&s, 0, t, 16 * 64), ZK_SUCCESS);
    assert_int_equal(zk_kv_num_free_blocks(s.kv), 0);
    sim_verify(&s);
    sim_fini(&s);
}

/* Random op sequences: alloc, append, fork, free, share, evict (swap or
 * recompute), checked after every operation. */
static void random_run(uint64_t seed, uint32_t nb, uint32_t bs, uint32_t nhb, int prefix,
                       int nops)
{
    sim s;
    int32_t buf[200];
    /* A few prompt stems so prefixes repeat. */
    int32_t stems[4][96];
    zk_kv_stats st;
    sim_init(&s, nb, bs, nhb, prefix, seed);
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i < 96; i++) {
            stems[k][i] = k < 2 ? i : (k * 1000 + i);
        }
        stems[1][50] = 77777;
    }
    for (int op = 0; op < nops; op++) {
        uint32_t r = rnd(&s, 100);
        int slot;
        if (r < 15) {                       /* new sequence (maybe sharing a prefix) */
            slot = free_slot(&s);
            if (slot < 0) {
                continue;
            }
            uint32_t n = 1 + rnd(&s, 96), cached = 0;
            const int32_t *stem = stems[rnd(&s, 4)];
            if (zk_kv_seq_create_prefix(s.kv, &s.id[slot], stem, n, &cached) != ZK_SUCCESS) {
                continue;
            }
            s.live[slot] = 1;
            assert_true(cached < n || n == 0);
            shadow_push(&s, slot, stem, cached);
            if (sim_append(&s, slot, stem + cached, n - cached) != ZK_SUCCESS) {
                /* Could not fit: recompute later = drop it now. */
                sim_free(&s, slot);
            }
        } else if (r < 65) {                /* append 1 (decode) or a chunk */
            slot = random_live(&s, 0);
            if (slot < 0) {
                continue;
            }
            uint32_t n = rnd(&s, 4) ? 1 : 1 + rnd(&s, 40);
            for (uint32_t i = 0; i < n; i++) {
                buf[i] = (int32_t)rnd(&s, 500);
            }
            while (sim_append(&s, slot, buf, n) == ZK_ERROR_OUT_OF_MEMORY) {
                /* Evict someone else: swap if possible, else recompute (free). */
                int v = random_live(&s, 0);
                if (v == slot) {
                    int w = -1;
                    for (int i = 0; i < MAXS; i++) {
                        if (s.live[i] && i != slot && !zk_kv_seq_is_swapped(s.kv, s.id[i])) {
                            w = i;
                        }
                    }
                    v = w;
                }
                if (v < 0) {
                    break;          /* alone and too long: give up this append */
                }
                if (rnd(&s, 2) && zk_kv_seq_swap_out(s.kv, s.id[v]) == ZK_SUCCESS) {
                    sim_apply_ops(&s);
                } else {
                    sim_free(&s, v);
                }
                sim_verify(&s);
            }
        } else if (r < 73) {                /* fork */
            int p = random_live(&s, 0);
            slot = free_slot(&s);
            if (p < 0 || slot < 0) {
                continue;
            }
            assert_int_equal(zk_kv_seq_fork(s.kv, s.id[p], &s.id[slot]), ZK_SUCCESS);
            s.live[slot] = 1;
            shadow_push(&s, slot, s.shadow[p], s.len[p]);
        } else if (r < 85) {                /* free */
            slot = random_live(&s, -1);
            if (slot >= 0) {
                sim_free(&s, slot);
            }
        } else if (r < 92) {                /* swap out */
            slot = random_live(&s, 0);
            if (slot >= 0 && zk_kv_seq_swap_out(s.kv, s.id[slot]) == ZK_SUCCESS) {
                sim_apply_ops(&s);
            }
        } else {                            /* swap in */
            slot = random_live(&s, 1);
            if (slot >= 0 && zk_kv_seq_swap_in(s.kv, s.id[slot]) == ZK_SUCCESS) {
                sim_apply_ops(&s);
                assert_int_equal(zk_kv_seq_commit(s.kv, s.id[slot]), ZK_SUCCESS);
            }
        }
        sim_verify(&s);
    }
    zk_kv_get_stats(s.kv, &st);
    print_message("# seed %llu: allocs %llu cow %llu prefix hits %llu evictions %llu "
                  "swap out/in %llu/%llu failures %llu\n", (unsigned long long)seed,
                  (unsigned long long)st.allocs, (unsigned long long)st.cow_copies,
                  (unsigned long long)st.prefix_hit_blocks,
                  (unsigned long long)st.cache_evictions,
                  (unsigned long long)st.swap_out_blocks,
                  (unsigned long long)st.swap_in_blocks,
                  (unsigned long long)st.alloc_failures);
    for (int i = 0; i < MAXS; i++) {
        if (s.live[i]) {
            sim_free(&s, i);
        }
    }
    sim_verify(&s);
    zk_kv_get_stats(s.kv, &st);
    assert_int_equal(st.blocks_used, 0);
    assert_int_equal(st.host_blocks_used, 0);
    assert_int_equal(st.blocks_free, nb);
    sim_fini(&s);
}

static void test_random_small_pool(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        random_run(seed, 24, 16, 16, (int)(seed & 1), 3000);
    }
}

static void test_random_block_sizes(void **state)
{
    (void)state;
    random_run(11, 200, 1, 64, 1, 2000);
    random_run(12, 60, 4, 0, 1, 3000);
    random_run(13, 40, 32, 20, 1, 3000);
    random_run(14, 300, 16, 100, 1, 3000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_bad_args),
        cmocka_unit_test(test_append_and_free),
        cmocka_unit_test(test_fork_cow),
        cmocka_unit_test(test_prefix_sharing),
        cmocka_unit_test(test_swap),
        cmocka_unit_test(test_no_fragmentation),
        cmocka_unit_test(test_random_small_pool),
        cmocka_unit_test(test_random_block_sizes),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests_name("kvcache", tests, NULL, NULL);
}
