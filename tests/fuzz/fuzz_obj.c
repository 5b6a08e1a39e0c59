/* SPDX-License-Identifier: MIT */
/*
 * fuzz_obj.c - fuzz the .zko loader (and the assembler on text input).
 * Any input must load cleanly or be refused with a message; ASan/UBSan
 * flag anything else.  The generator mutates a valid object so most
 * inputs get past the ELF header into the section and descriptor checks.
 */
#include <string.h>

#include "fuzz_driver.h"
#include "zk_asm.h"
#include "zk_obj.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ZkObj o;
    char err[256];
    if (zk_obj_load(data, size, &o, err, sizeof(err)) == 0) {
        zk_obj_free(&o);
    }
    /* The same bytes as assembler source. */
    char *src = malloc(size + 1);
    uint8_t *obj;
    size_t len;
    if (src) {
        memcpy(src, data, size);
        src[size] = 0;
        if (zk_asm(src, "fuzz", &obj, &len, err, sizeof(err)) == 0) {
            free(obj);
        }
        free(src);
    }
    return 0;
}

#ifndef ZK_LIBFUZZER
static size_t fuzz_generate(uint8_t *buf, size_t cap, uint64_t *rng)
{
    static uint8_t *seed;
    static size_t seed_len;
    if (!seed) {
        char err[256];
        const char *src =
            ".kernel k\n.arg p ptr f32 rw\n.arg n u64\n arg r1, 0\n"
            " lea r2, c\n ld32 r3, [r2 + 0]\nl: loop r3, l\n halt\n"
            ".kernel k2\n li r4, 77\n jmp l\n.rodata\nc: .u32 5\n";
        if (zk_asm(src, "seed", &seed, &seed_len, err, sizeof(err))) {
            fprintf(stderr, "%s\n", err);
            abort();
        }
    }
    size_t n = seed_len < cap ? seed_len : cap;
    memcpy(buf, seed, n);
    int flips = 1 + (int)(fuzz_rand(rng) % 8);
    for (int i = 0; i < flips; i++) {
        uint64_t r = fuzz_rand(rng);
        size_t at = r % n;
        switch ((r >> 32) % 4) {
        case 0:
            buf[at] ^= (uint8_t)(1u << ((r >> 40) % 8));
            break;
        case 1:
            buf[at] = (uint8_t)(r >> 40);
            break;
        case 2:
            buf[at] = 0xff;
            break;
        default:
            n = at + 1;     /* truncate */
            break;
        }
    }
    return n;
}
#endif
