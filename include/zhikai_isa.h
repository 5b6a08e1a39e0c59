/* SPDX-License-Identifier: MIT */
/*
 * zhikai_isa.h - the card's instruction set and kernel object format.
 *
 * Shared by the compute engine (qemu-device/engine), the assembler,
 * disassembler and compiler (tools/), and the runtime's module loader.
 */
#ifndef ZHIKAI_ISA_H
#define ZHIKAI_ISA_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#endif

#define ZK_ISA_VERSION          1

/* ------------------------------------------------------------------ */
/* Data types                                                          */
/* ------------------------------------------------------------------ */
#define ZK_DT_F32               0
#define ZK_DT_F16               1
#define ZK_DT_BF16              2
#define ZK_DT_I8                3
#define ZK_DT_I32               4
#define ZK_DT_COUNT             5

/* ------------------------------------------------------------------ */
/* Kernel object format (ELF64, little-endian, ET_REL or ET_EXEC)      */
/* ------------------------------------------------------------------ */
#define EM_ZHIKAI               0x5a4b
#define ZK_SECT_TEXT            ".text"         /* instructions */
#define ZK_SECT_RODATA          ".rodata"       /* constants, placed after .text */
#define ZK_SECT_KERNELS         ".zk.kernels"   /* struct zk_kernel_desc[] */
/*
 * Every kernel has an STT_FUNC symbol in .text (st_value = byte offset of
 * its entry) and a descriptor of the same name in .zk.kernels.  Images have
 * no relocations: code reaches .rodata through a special register holding
 * the image's constant base.  The loader uploads .text followed by .rodata
 * (8-byte aligned) as one image; LAUNCH gets its VA, size and the entry.
 */
#define ZK_MAX_ARGS             16
#define ZK_NAME_LEN             64
#define ZK_ARG_NAME_LEN         24

#define ZK_ARG_U64              1       /* integer scalar */
#define ZK_ARG_F32              2       /* float scalar (IEEE bits in low 32) */
#define ZK_ARG_PTR              3       /* device VA of a buffer */

#define ZK_ACC_READ             (1u << 0)
#define ZK_ACC_WRITE            (1u << 1)

struct zk_arg_desc {
	uint8_t kind;                   /* ZK_ARG_* */
	uint8_t dtype;                  /* ZK_ARG_PTR: element ZK_DT_* */
	uint8_t access;                 /* ZK_ARG_PTR: ZK_ACC_* */
	uint8_t reserved;               /* 0 */
	uint32_t reserved2;             /* 0 */
	char name[ZK_ARG_NAME_LEN];     /* NUL-terminated */
};

struct zk_kernel_desc {
	char name[ZK_NAME_LEN];         /* NUL-terminated, matches the symbol */
	uint32_t num_args;              /* <= ZK_MAX_ARGS */
	uint32_t reserved;              /* 0 */
	struct zk_arg_desc args[ZK_MAX_ARGS];
};

/*
 * Launch arguments are an array of num_args 64-bit slots in device memory
 * (ZK_ARG_F32 in the low 32 bits), read by the ARG instruction.
 */

/* ------------------------------------------------------------------ */
/* Instruction set                                                     */
/* ------------------------------------------------------------------ */
/* (defined by the engine: see below) */

#endif /* ZHIKAI_ISA_H */
