/* SPDX-License-Identifier: MIT */
/*
 * bo.c - buffer objects: a GEM BO of the context's device file, its device
 * VA and (optionally) its CPU mapping.  Beneath memory, streams (command
 * chunks, fences), events and modules (images), which all allocate here.
 */
#include <stdlib.h>

#include "zk_internal.h"

zk_status zk__bo_new(zk_context ctx, uint64_t size, uint32_t flags, int kind,
                     int want_map, zk_alloc **out)
{
    zk_alloc *a = calloc(1, sizeof(*a));
    uint64_t off = 0, bo_size = 0;
    int r;
    if (!a) {
        return zk__fail(ZK_ERROR_OUT_OF_MEMORY, "out of host memory");
    }
    r = zkio_bo_create(ctx->fd, size, flags, &a->handle, &a->va);
    if (r != 0) {
        free(a);
        return zk__fail_io(r, flags & ZKIO_BO_HOST ? "allocating host memory"
                                                   : "allocating device memory");
    }
    a->size = size;
    a->bo_size = (size + ZK_PAGE_SIZE - 1) & ~(ZK_PAGE_SIZE - 1);
    a->flags = flags;
    a->kind = kind;
    if (want_map) {
        r = zkio_bo_info(ctx->fd, a->handle, &off, &bo_size);
        if (r == 0) {
            if (bo_size >= a->bo_size) {
                a->bo_size = bo_size;
            }
            r = zkio_bo_mmap(ctx->fd, off, a->bo_size, &a->cpu);
        }
        if (r != 0) {
            zk_status st = zk__fail_io(r, "mapping a buffer object");
            zkio_bo_close(ctx->fd, a->handle);
            free(a);
            return st;
        }
    }
    *out = a;
    return ZK_SUCCESS;
}

void zk__bo_delete(zk_context ctx, zk_alloc *a)
{
    if (!a) {
        return;
    }
    if (a->cpu) {
        zkio_munmap(a->cpu, a->bo_size);
    }
    zkio_bo_close(ctx->fd, a->handle);
    free(a);
}

