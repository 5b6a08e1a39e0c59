/* SPDX-License-Identifier: MIT */
/*
 * ptx_xlate.h - PTX -> SIMT translation (docs/ptx.md): parse, lower,
 * allocate registers, encode and verify; the result is a code image
 * (every kernel's SIMT code, then the module's .const/.global data) and
 * per-kernel metadata.
 */
#ifndef PTX_XLATE_H
#define PTX_XLATE_H

#include <stddef.h>
#include <stdint.h>

#include "ptx_ir.h"

/* Kernel and variable names of any length up to this (C++ mangled template
 * names are often 100-300 characters); longer ones are refused. */
#define ZK_PTX_NAME_MAX 4096

typedef struct zk_ptx_param {
    char name[64];
    uint32_t offset, size, align;
    uint8_t type;               /* ptx_type */
} zk_ptx_param;

typedef struct zk_ptx_kernel {
    char name[ZK_PTX_NAME_MAX];
    uint32_t entry;             /* byte offset of the first instruction in the image */
    uint32_t ninsns;
    uint32_t shared_bytes;      /* static; dynamic shared memory comes on top */
    uint32_t local_bytes;       /* per thread: variables + spill slots */
    uint32_t param_bytes;
    uint32_t nparams;
    zk_ptx_param *params;
    uint32_t regs;              /* physical registers used */
    uint32_t spills;
    uint32_t reqntid[3];
} zk_ptx_kernel;

typedef struct zk_ptx_global {
    char name[ZK_PTX_NAME_MAX];
    uint32_t offset;            /* in the image */
    uint32_t size;
    uint8_t is_const;
} zk_ptx_global;

typedef struct zk_ptx_image {
    uint8_t *image;             /* code (16-byte instructions), then data */
    uint32_t size;
    uint32_t code_bytes;
    zk_ptx_kernel *kernels;
    uint32_t nkernels;
    zk_ptx_global *globals;     /* .global/.const variables (cuModuleGetGlobal) */
    uint32_t nglobals;
    uint32_t *lines;            /* PTX source line of each instruction (0: generated) */
} zk_ptx_image;

typedef struct zk_ptx_options {
    uint32_t max_regs;          /* 0: all (251); tests lower it to force spills */
} zk_ptx_options;

/* Translate a parsed module.  0, or -1 with "file:line: ..." in err. */
int zk_ptx_translate(const ptx_module *m, const zk_ptx_options *opt, zk_ptx_image *out,
                     char *err, size_t errlen);

/* Parse + translate PTX text (name: for diagnostics). */
int zk_ptx_compile(const char *text, size_t len, const char *name, const zk_ptx_options *opt,
                   zk_ptx_image *out, char *err, size_t errlen);

void zk_ptx_image_free(zk_ptx_image *img);
const zk_ptx_kernel *zk_ptx_find_kernel(const zk_ptx_image *img, const char *name);

/* The image as a .zko kernel object (runtime/ptx/ptx_zko.c, needs
 * runtime/zk_obj.c): malloc'd *out.  0 or -1. */
int zk_ptx_write_zko(const zk_ptx_image *img, uint8_t **out, size_t *out_len);

/* SIMT listing of the image with the PTX source lines as comments
 * (zkptx --dump); ptx_text may be NULL. */
int zk_ptx_dump(const zk_ptx_image *img, const char *ptx_text, size_t ptx_len, char **out,
                size_t *out_len);

#endif
