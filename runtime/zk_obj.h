/* SPDX-License-Identifier: MIT */
/*
 * zk_obj.h - zhikai kernel objects (.zko): load and write.
 *
 * A .zko is an ELF64 little-endian file, e_machine EM_ZHIKAI, with .text
 * (instructions), optional .rodata, .zk.kernels (struct zk_kernel_desc[])
 * and a symbol table with one STT_FUNC symbol in .text per kernel; no
 * relocations (include/zhikai_isa.h).  Loading checks all of it and runs
 * the engine's own instruction verifier (isa/zk_isa.c) on
 * every kernel (isa/zk_simt_isa.c for SIMT kernels, which also have a
 * struct zk_simt_desc in section .zk.simt), so an object that loads will
 * also pass the device's check.
 *
 * Link with zk_obj.c, isa/zk_isa.c, isa/zk_simt_isa.c and -lelf.
 */
#ifndef ZK_OBJ_H
#define ZK_OBJ_H

#include <stddef.h>
#include <stdint.h>

#include "zhikai_isa.h"

/*
 * Kernel names may be longer than a descriptor's name field (C++ mangled
 * template names often are): the STT_FUNC symbol carries the full name (up
 * to ZK_OBJ_NAME_MAX - 1 bytes) and the descriptors (.zk.kernels,
 * .zk.simt) carry its key, zk_obj_name_key(): the name itself when it fits
 * in ZK_NAME_LEN - 1 bytes, else its first ZK_OBJ_KEY_PREFIX bytes, '~' and
 * 16 hex digits of its 64-bit FNV-1a hash.  Lookups use the full name.
 */
#define ZK_OBJ_NAME_MAX         4096
#define ZK_OBJ_KEY_PREFIX       46

typedef struct ZkObjKernel {
    /* Full name.  Loaded objects own it (zk_obj_free); writers may leave
     * it NULL, then desc.name is the name. */
    char *name;
    uint32_t entry;                 /* byte offset of the first instruction */
    struct zk_kernel_desc desc;     /* argument list */
    /* desc.flags & ZK_KDESC_F_SIMT: an ISA v2 SIMT kernel (16-byte
     * instructions, entry 16-aligned) with these sizes; else zero. */
    struct zk_simt_desc simt;
} ZkObjKernel;

typedef struct ZkObj {
    uint8_t *image;         /* what to upload: .text, then .rodata */
    uint32_t image_size;
    uint32_t text_size;
    uint32_t rodata_off;    /* 8-aligned offset of .rodata in the image */
    uint32_t num_kernels;
    ZkObjKernel *kernels;
    uint32_t isa_version;   /* from .zk.target (1 without it) */
    uint64_t required_caps; /* ZK_CAP_* the card must have */
} ZkObj;

/* Parse and verify an object.  0 on success; -1 with a message in err. */
int zk_obj_load(const void *data, size_t len, ZkObj *out, char *err,
                size_t errlen);
void zk_obj_free(ZkObj *obj);
/* The descriptor key of a kernel name (see above) into key[ZK_NAME_LEN]. */
void zk_obj_name_key(const char *name, char key[ZK_NAME_LEN]);
/* Kernel by (full) name, or NULL. */
const ZkObjKernel *zk_obj_find(const ZkObj *obj, const char *name);

/*
 * Build an object in memory (malloc'd *out, *out_len) from text, rodata
 * and kernels (entry + desc; name, or desc.name when name is NULL, is the
 * symbol name; descriptors get its key).  0 or -1.
 */
int zk_obj_write(const void *text, uint32_t text_size, const void *rodata,
                 uint32_t rodata_size, const ZkObjKernel *kernels,
                 uint32_t num_kernels, uint8_t **out, size_t *out_len);
/* The least target @kernels need: ISA 1, or ISA 2 + ZK_CAP_SIMT with SIMT kernels. */
void zk_obj_min_target(const ZkObjKernel *kernels, uint32_t num_kernels,
                       struct zk_obj_target *t);
/* The same, recording the target (ISA version, required ZK_CAP_* bits). */
int zk_obj_write_target(const void *text, uint32_t text_size, const void *rodata,
                        uint32_t rodata_size, const ZkObjKernel *kernels,
                        uint32_t num_kernels, const struct zk_obj_target *target,
                        uint8_t **out, size_t *out_len);

/* Names of the ZK_CAP_* bits objects may require ("fp16", "int8", ...):
 * the name of bit @bit or NULL; the bit of @name or -1. */
const char *zk_obj_cap_name(unsigned int bit);
int zk_obj_cap_bit(const char *name);
/* "fp16,int8" for @caps into buf (empty for 0). */
void zk_obj_caps_str(uint64_t caps, char *buf, size_t len);

/* Where .rodata starts in the loaded image for a given .text size. */
static inline uint32_t zk_obj_rodata_offset(uint32_t text_size)
{
    return (text_size + 7) & ~7u;
}

#endif
