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

typedef struct ZkObjKernel {
    char name[ZK_NAME_LEN];
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
} ZkObj;

/* Parse and verify an object.  0 on success; -1 with a message in err. */
int zk_obj_load(const void *data, size_t len, ZkObj *out, char *err,
                size_t errlen);
void zk_obj_free(ZkObj *obj);
/* Kernel by name, or NULL. */
const ZkObjKernel *zk_obj_find(const ZkObj *obj, const char *name);

/*
 * Build an object in memory (malloc'd *out, *out_len) from text, rodata
 * and kernels (entry + desc; desc.name is the symbol name).  0 or -1.
 */
int zk_obj_write(const void *text, uint32_t text_size, const void *rodata,
                 uint32_t rodata_size, const ZkObjKernel *kernels,
                 uint32_t num_kernels, uint8_t **out, size_t *out_len);

/* Where .rodata starts in the loaded image for a given .text size. */
static inline uint32_t zk_obj_rodata_offset(uint32_t text_size)
{
    return (text_size + 7) & ~7u;
}

#endif
