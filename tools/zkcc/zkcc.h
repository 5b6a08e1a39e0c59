/* SPDX-License-Identifier: MIT */
/*
 * zkcc.h - the zhikai kernel-language compiler as a library (used by the
 * zkcc tool and the host tests).  Language reference: docs/zkcc.md.
 *
 * The compiler turns .zkc source into assembler text (docs/isa.md,
 * "Assembly language"); zkcc_compile_obj() feeds that text to zk_asm() to
 * get a .zko object.
 */
#ifndef ZKCC_H
#define ZKCC_H

#include <stddef.h>
#include <stdint.h>

/*
 * Compile src into assembler text (malloc'd, NUL-terminated) in *asm_text.
 * Returns 0, or -1 with "file:line:col: error: message" in err.
 */
int zkcc_compile(const char *src, const char *fname, char **asm_text,
                 char *err, size_t errlen);

/* Compile and assemble into a .zko image (malloc'd).  Same error format. */
int zkcc_compile_obj(const char *src, const char *fname, uint8_t **obj,
                     size_t *len, char *err, size_t errlen);

#endif
