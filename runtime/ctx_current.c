/* SPDX-License-Identifier: MIT */
/*
 * ctx_current.c - the calling thread's context stack (CUDA's model: the
 * top is the current context; zk_ctx_set_current replaces the top).
 * It sits beneath every object file: memory, streams, events and modules
 * ask it for "the current context" and it asks nothing of them.
 */
#include <string.h>

#include "zk_internal.h"

#define ZK_CTX_STACK_MAX 32

static __thread zk_context stack[ZK_CTX_STACK_MAX];
static __thread unsigned int depth;

static zk_context top(void)
{
    return depth ? stack[depth - 1] : NULL;
}

zk_status zk__current_ctx(zk_context *out)
{
    zk_context c = top();
    if (!c) {
        return zk__fail(ZK_ERROR_INVALID_CONTEXT, "no current context in this thread "
                        "(zk_ctx_create / zk_ctx_set_current)");
    }
    if (!zk__handle_ok(c, ZK_KIND_CTX)) {
        return zk__fail(ZK_ERROR_INVALID_CONTEXT, "the current context %p was destroyed",
                        (void *)c);
    }
    *out = c;
    return ZK_SUCCESS;
}

void zk__ctx_make_current(zk_context c)
{
    if (depth) {
        stack[depth - 1] = c;
    } else if (c) {
        stack[depth++] = c;
    }
}

void zk__ctx_forget(zk_context c)
{
    unsigned int i, n = 0;
    for (i = 0; i < depth; i++) {
        if (stack[i] != c) {
            stack[n++] = stack[i];
        }
    }
    depth = n;
}

ZK_EXPORT zk_status zk_ctx_set_current(zk_context c)
{
    if (c && !zk__handle_ok(c, ZK_KIND_CTX)) {
        return zk__fail(ZK_ERROR_INVALID_HANDLE, "zk_ctx_set_current: bad context handle %p",
                        (void *)c);
    }
    if (!c) {
        depth -= depth ? 1 : 0;     /* unbinding pops the top */
        return ZK_SUCCESS;
    }
    zk__ctx_make_current(c);
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_ctx_get_current(zk_context *out)
{
    zk_context c = top();
    if (!out) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_ctx_get_current: ctx is NULL");
    }
    *out = (c && zk__handle_ok(c, ZK_KIND_CTX)) ? c : NULL;
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_ctx_push_current(zk_context c)
{
    if (!c || !zk__handle_ok(c, ZK_KIND_CTX)) {
        return zk__fail(ZK_ERROR_INVALID_HANDLE, "zk_ctx_push_current: bad context handle %p",
                        (void *)c);
    }
    if (depth == ZK_CTX_STACK_MAX) {
        return zk__fail(ZK_ERROR_OUT_OF_MEMORY, "zk_ctx_push_current: more than %d contexts "
                        "pushed in this thread", ZK_CTX_STACK_MAX);
    }
    stack[depth++] = c;
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_ctx_pop_current(zk_context *out)
{
    zk_context c;
    if (!depth) {
        return zk__fail(ZK_ERROR_INVALID_CONTEXT, "zk_ctx_pop_current: no current context");
    }
    c = stack[--depth];
    if (out) {
        *out = c;
    }
    return ZK_SUCCESS;
}
