/* SPDX-License-Identifier: MIT */
/* example_util.h - error checking and kernel-library lookup for the examples. */
#ifndef EXAMPLE_UTIL_H
#define EXAMPLE_UTIL_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zhikai/zhikai.h>

#define CHECK(x) do { zk_status s_ = (x); if (s_ != ZK_SUCCESS) { \
    fprintf(stderr, "%s:%d: %s: %s (%s)\n", __FILE__, __LINE__, #x, \
            zk_error_string(s_), zk_last_error_detail()); exit(2); } } while (0)

/* Create a context on device 0 (made current). */
static inline zk_context example_init(void)
{
    zk_device dev;
    zk_context ctx;
    int n;
    CHECK(zk_init(0));
    CHECK(zk_device_count(&n));
    if (n == 0) {
        fprintf(stderr, "no zhikai device\n");
        exit(2);
    }
    CHECK(zk_device_get(&dev, 0));
    CHECK(zk_ctx_create(&ctx, 0, dev));
    return ctx;
}

#endif
