/* SPDX-License-Identifier: MIT */
/* cuda_tap.h - TAP output for the CUDA API tests (no libzhikai header: these
 * programs see only CUDA's API, whichever compiler and headers built them). */
#ifndef ZK_CUDA_TAP_H
#define ZK_CUDA_TAP_H

#include <stdio.h>

static int tap_n, tap_failed;

#define TAP(ok, ...) do { int ok_ = (ok); printf("%sok %d - ", ok_ ? "" : "not ", ++tap_n); \
    printf(__VA_ARGS__); printf("\n"); fflush(stdout); if (!ok_) tap_failed++; } while (0)

static inline int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
