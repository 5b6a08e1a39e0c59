/* SPDX-License-Identifier: MIT */
/*
 * zk_asm.h - the zhikai assembler as a library (used by zkas and zkcc).
 * Source syntax: docs/isa.md, "Assembly language".
 */
#ifndef ZK_ASM_H
#define ZK_ASM_H

#include <stddef.h>
#include <stdint.h>

/* Assemble src into a .zko image (malloc'd).  0, or -1 with
 * "file:line: message" in err. */
int zk_asm(const char *src, const char *fname, uint8_t **obj, size_t *len,
           char *err, size_t errlen);

#endif
