/* SPDX-License-Identifier: MIT */
/*
 * fuzz_driver.h - lets a libFuzzer target also build without libFuzzer.
 *
 * With clang -fsanitize=fuzzer (-DZK_LIBFUZZER) libFuzzer supplies main().
 * Otherwise this main() feeds the target a bounded number of inputs from a
 * seeded generator (fuzz_generate, written by each target so inputs are
 * "almost valid") and replays any files named on the command line; it
 * prints one TAP line so it runs as a host test.
 */
#ifndef FUZZ_DRIVER_H
#define FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef ZK_LIBFUZZER
/* Fill buf (capacity cap) with one input; returns its length. */
static size_t fuzz_generate(uint8_t *buf, size_t cap, uint64_t *rng);

static uint64_t fuzz_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

int main(int argc, char **argv)
{
    static uint8_t buf[1 << 16];
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    long iters = getenv("FUZZ_ITERS") ? atol(getenv("FUZZ_ITERS")) : 20000;

    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            printf("not ok 1 - %s: cannot open %s\n", argv[0], argv[i]);
            return 1;
        }
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    for (long i = 0; i < iters; i++) {
        size_t n = fuzz_generate(buf, sizeof(buf), &rng);
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("1..1\nok 1 - %ld generated inputs, %d replayed, no crash\n",
           iters, argc - 1);
    return 0;
}
#endif

#endif
