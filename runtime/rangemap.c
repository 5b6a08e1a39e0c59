/* SPDX-License-Identifier: MIT */
/* rangemap.c - sorted, non-overlapping address ranges (VA -> allocation). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zk_internal.h"

/* Index of the first range with base > addr. */
static size_t upper(const zk_rangemap *m, uint64_t addr)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->v[mid].base <= addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int zk__rmap_insert(zk_rangemap *m, uint64_t base, uint64_t size, void *obj)
{
    size_t i;
    if (size == 0 || base + size < base) {
        return -EINVAL;
    }
    i = upper(m, base);
    if (i > 0 && m->v[i - 1].base + m->v[i - 1].size > base) {
        return -EEXIST;
    }
    if (i < m->n && base + size > m->v[i].base) {
        return -EEXIST;
    }
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 16;
        zk_range *nv = realloc(m->v, nc * sizeof(*nv));
        if (!nv) {
            return -ENOMEM;
        }
        m->v = nv;
        m->cap = nc;
    }
    memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
    m->v[i].base = base;
    m->v[i].size = size;
    m->v[i].obj = obj;
    m->n++;
    return 0;
}

void *zk__rmap_remove(zk_rangemap *m, uint64_t base)
{
    size_t i = upper(m, base);
    void *obj;
    if (i == 0 || m->v[i - 1].base != base) {
        return NULL;
    }
    i--;
    obj = m->v[i].obj;
    memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
    m->n--;
    return obj;
}

const zk_range *zk__rmap_find(const zk_rangemap *m, uint64_t addr, uint64_t len)
{
    size_t i = upper(m, addr);
    const zk_range *r;
    if (len == 0) {
        len = 1;
    }
    if (i == 0) {
        return NULL;
    }
    r = &m->v[i - 1];
    if (addr - r->base >= r->size || len > r->size - (addr - r->base)) {
        return NULL;
    }
    return r;
}

void zk__rmap_free(zk_rangemap *m)
{
    free(m->v);
    m->v = NULL;
    m->n = m->cap = 0;
}
