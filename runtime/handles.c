/* SPDX-License-Identifier: MIT */
/*
 * handles.c - registry of live handles, so that stale or made-up handles
 * are reported as ZK_ERROR_INVALID_HANDLE instead of being dereferenced.
 * Open-addressing hash set keyed by pointer, with tombstones.
 */
#include <errno.h>
#include <stdlib.h>

#include "zk_internal.h"

typedef struct {
    const void *p;      /* NULL = empty, TOMB = deleted */
    int kind;
} slot_t;

static pthread_mutex_t hlock = PTHREAD_MUTEX_INITIALIZER;
static slot_t *tab;
static size_t cap, used, live;   /* used = live + tombstones */
static char tomb_mark;
#define TOMB ((const void *)&tomb_mark)

static size_t hash(const void *p)
{
    uint64_t x = (uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return (size_t)x;
}

static int rehash(size_t ncap)
{
    slot_t *nt = calloc(ncap, sizeof(*nt));
    size_t i;
    if (!nt) {
        return -ENOMEM;
    }
    for (i = 0; i < cap; i++) {
        if (tab[i].p && tab[i].p != TOMB) {
            size_t j = hash(tab[i].p) & (ncap - 1);
            while (nt[j].p) {
                j = (j + 1) & (ncap - 1);
            }
            nt[j] = tab[i];
        }
    }
    free(tab);
    tab = nt;
    cap = ncap;
    used = live;
    return 0;
}

int zk__handle_add(const void *p, int kind)
{
    size_t j;
    int r = 0;
    pthread_mutex_lock(&hlock);
    if ((used + 1) * 2 > cap) {
        r = rehash(cap ? (live + 1) * 4 > cap ? cap * 2 : cap : 64);
    }
    if (r == 0) {
        j = hash(p) & (cap - 1);
        while (tab[j].p && tab[j].p != TOMB) {
            j = (j + 1) & (cap - 1);
        }
        if (!tab[j].p) {
            used++;
        }
        tab[j].p = p;
        tab[j].kind = kind;
        live++;
    }
    pthread_mutex_unlock(&hlock);
    return r;
}

static slot_t *find(const void *p)
{
    size_t j;
    if (!cap || !p) {
        return NULL;
    }
    j = hash(p) & (cap - 1);
    while (tab[j].p) {
        if (tab[j].p == p) {
            return &tab[j];
        }
        j = (j + 1) & (cap - 1);
    }
    return NULL;
}

void zk__handle_del(const void *p)
{
    slot_t *s;
    pthread_mutex_lock(&hlock);
    s = find(p);
    if (s) {
        s->p = TOMB;
        s->kind = 0;
        live--;
    }
    pthread_mutex_unlock(&hlock);
}

int zk__handle_ok(const void *p, int kind)
{
    slot_t *s;
    int ok;
    pthread_mutex_lock(&hlock);
    s = find(p);
    ok = s && s->kind == kind;
    pthread_mutex_unlock(&hlock);
    return ok;
}

size_t zk__handle_count(void)
{
    size_t n;
    pthread_mutex_lock(&hlock);
    n = live;
    pthread_mutex_unlock(&hlock);
    return n;
}
