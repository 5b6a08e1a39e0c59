/* SPDX-License-Identifier: MIT */
/*
 * zk_fatbin.h - find the PTX in what a CUDA toolchain hands the loader.
 *
 * Inputs recognised (docs/ptx.md has the byte layouts):
 *   - PTX text (".version" after comments/blank lines),
 *   - a raw NVIDIA fat binary (magic 0xBA55ED50, what `nvcc -fatbin` writes
 *     and what the .nv_fatbin / __nv_relfatbin sections hold), entries
 *     stored plain, LZ4-compressed (flag 0x2000) or zstd-compressed (0x8000),
 *   - the host-side wrapper __cudaRegisterFatBinary() receives (magic
 *     0x466243B1): version 1 points at one fat binary (or, from clang's
 *     -fcuda-include-gpubinary, at PTX text), version 2 (nvcc -rdc) also
 *     lists the relocatable fat binaries that carry the PTX.
 * Every length read from a buffer is checked against the buffer; the
 * wrapper is the one exception: it is a pointer into the calling process,
 * trusted exactly as far as the CUDA runtime trusts it.
 */
#ifndef ZK_FATBIN_H
#define ZK_FATBIN_H

#include <stddef.h>
#include <stdint.h>

#define ZK_FATBIN_MAGIC         0xBA55ED50u
#define ZK_FATBIN_WRAPPER_MAGIC 0x466243B1u
#define ZK_FATBIN_KIND_PTX      1
#define ZK_FATBIN_KIND_ELF      2
#define ZK_FATBIN_FLAG_64BIT    0x0001ull
#define ZK_FATBIN_FLAG_LZ4      0x2000ull
#define ZK_FATBIN_FLAG_ZSTD     0x8000ull
/* Largest PTX text accepted (decompressed), same as the largest .zko. */
#define ZK_PTX_MAX_TEXT         (64u << 20)

typedef enum zk_image_kind {
    ZK_IMAGE_UNKNOWN = 0,
    ZK_IMAGE_ZKO,               /* ELF: the project's own kernel object */
    ZK_IMAGE_PTX,
    ZK_IMAGE_FATBIN,
    ZK_IMAGE_FATBIN_WRAPPER,
} zk_image_kind;

/* The host-side wrapper (__fatBinC_Wrapper_t), 24 bytes on LP64. */
typedef struct zk_fatbin_wrapper {
    uint32_t magic;
    uint32_t version;
    const void *data;
    const void *const *prelinked;  /* version 2: NULL-terminated list */
} zk_fatbin_wrapper;

/* One PTX module pulled out of an input. */
typedef struct zk_ptx_text {
    char *text;                 /* malloc'd, NUL-terminated */
    size_t len;                 /* strlen(text) */
    uint32_t arch;              /* compute_XX of the entry, 0 for bare text */
} zk_ptx_text;

/* What @data (len bytes) looks like; never reads past len. */
zk_image_kind zk_image_detect(const void *data, size_t len);

/*
 * PTX from a raw fat binary (one or several concatenated, as in a linked
 * .nv_fatbin section).  Of several PTX entries the lowest compute arch is
 * taken: it uses the fewest features.  Returns 0, or -1 with a message in
 * err (e.g. "only SASS for sm_75; no PTX" when there is nothing to JIT).
 */
int zk_fatbin_get_ptx(const void *data, size_t len, zk_ptx_text *out, char *err,
                      size_t errlen);

/* PTX from an in-process wrapper (see above), or PTX text it points to. */
int zk_fatbin_wrapper_get_ptx(const zk_fatbin_wrapper *w, zk_ptx_text *out, char *err,
                              size_t errlen);

/* PTX from any recognised input of @len bytes (text is copied). */
int zk_ptx_from_image(const void *data, size_t len, zk_ptx_text *out, char *err,
                      size_t errlen);

void zk_ptx_text_free(zk_ptx_text *t);

#endif
