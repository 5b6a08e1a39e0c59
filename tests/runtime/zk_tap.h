/* SPDX-License-Identifier: MIT */
/* zk_tap.h - minimal TAP output for the in-VM runtime tests. */
#ifndef ZK_TAP_H
#define ZK_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <zhikai/zhikai.h>

static int tap_n, tap_failed;

static inline void tap_result(int ok, const char *fmt, ...)
{
    va_list ap;
    printf("%sok %d - ", ok ? "" : "not ", ++tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!ok) {
        tap_failed++;
        printf("#   last error detail: %s\n", zk_last_error_detail());
    }
    fflush(stdout);
}

/* A zk call expected to return a given status. */
#define EXPECT(call, want) do { zk_status got_ = (call); \
    tap_result(got_ == (want), "%s -> %s", #call, zk_error_name(want)); \
    if (got_ != (want)) printf("#   got %s\n", zk_error_name(got_)); } while (0)
#define EXPECT_OK(call) EXPECT(call, ZK_SUCCESS)
/* Setup step: failing it ends the program. */
#define MUST(call) do { zk_status got_ = (call); if (got_ != ZK_SUCCESS) { \
    tap_result(0, "%s: %s", #call, zk_error_name(got_)); \
    printf("1..%d\n", tap_n); exit(1); } } while (0)

static inline int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
