/* SPDX-License-Identifier: MIT */
/*
 * zk_test_obj.h - build small kernel objects (ELF, include/zhikai_isa.h
 * format) in memory, for tests that must not depend on the assembler.
 * Header-only; used by host unit tests and in-VM tests.
 */
#ifndef ZK_TEST_OBJ_H
#define ZK_TEST_OBJ_H

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zhikai_isa.h"

typedef struct zkt_kernel {
    const char *name;
    const uint64_t *code;       /* instructions */
    unsigned int ninsns;
    unsigned int nargs;
    const uint8_t *kinds;       /* ZK_ARG_* per argument */
} zkt_kernel;

/* Returns a malloc'd ELF image of all kernels' code concatenated; *len set. */
static inline void *zkt_build_obj(const zkt_kernel *ks, unsigned int nk, size_t *len)
{
    /* Layout: ehdr | text | kernels | symtab | strtab | shstrtab | shdrs */
    static const char shstr[] = "\0.text\0.zk.kernels\0.symtab\0.strtab\0.shstrtab\0.rodata";
    size_t text_sz = 0, str_sz = 1, off, i;
    uint8_t *b;
    Elf64_Ehdr *eh;
    Elf64_Shdr *sh;
    Elf64_Sym *sym;
    char *strs;
    size_t o_text, o_kern, o_sym, o_str, o_shs, o_sh, o_ro;
    uint64_t ro = 0x0123456789abcdefull;
    for (i = 0; i < nk; i++) {
        text_sz += ks[i].ninsns * 8;
        str_sz += strlen(ks[i].name) + 1;
    }
    o_text = sizeof(Elf64_Ehdr);
    o_ro = o_text + text_sz;
    o_kern = o_ro + 8;
    o_sym = o_kern + nk * sizeof(struct zk_kernel_desc);
    o_str = o_sym + (nk + 1) * sizeof(Elf64_Sym);
    o_shs = o_str + str_sz;
    o_sh = (o_shs + sizeof(shstr) + 7) & ~(size_t)7;
    *len = o_sh + 7 * sizeof(Elf64_Shdr);
    b = calloc(1, *len);
    if (!b) {
        return NULL;
    }
    eh = (Elf64_Ehdr *)b;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = ET_REL;
    eh->e_machine = EM_ZHIKAI;
    eh->e_version = EV_CURRENT;
    eh->e_ehsize = sizeof(Elf64_Ehdr);
    eh->e_shoff = o_sh;
    eh->e_shentsize = sizeof(Elf64_Shdr);
    eh->e_shnum = 7;
    eh->e_shstrndx = 5;
    memcpy(b + o_ro, &ro, 8);
    sym = (Elf64_Sym *)(b + o_sym);
    strs = (char *)(b + o_str);
    off = 0;
    str_sz = 1;
    for (i = 0; i < nk; i++) {
        struct zk_kernel_desc *d = (struct zk_kernel_desc *)(b + o_kern) + i;
        unsigned int a;
        memcpy(b + o_text + off, ks[i].code, ks[i].ninsns * 8);
        strncpy(d->name, ks[i].name, ZK_NAME_LEN - 1);
        d->num_args = ks[i].nargs;
        for (a = 0; a < ks[i].nargs; a++) {
            d->args[a].kind = ks[i].kinds[a];
            d->args[a].dtype = ZK_DT_F32;
            d->args[a].access = ks[i].kinds[a] == ZK_ARG_PTR ? (ZK_ACC_READ | ZK_ACC_WRITE) : 0;
            d->args[a].name[0] = (char)('a' + a);
        }
        strcpy(strs + str_sz, ks[i].name);
        sym[i + 1].st_name = (uint32_t)str_sz;
        sym[i + 1].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
        sym[i + 1].st_shndx = 1;
        sym[i + 1].st_value = off;
        sym[i + 1].st_size = ks[i].ninsns * 8;
        str_sz += strlen(ks[i].name) + 1;
        off += ks[i].ninsns * 8;
    }
    memcpy(b + o_shs, shstr, sizeof(shstr));
    sh = (Elf64_Shdr *)(b + o_sh);
    /* 1 .text */
    sh[1].sh_name = 1; sh[1].sh_type = SHT_PROGBITS; sh[1].sh_flags = SHF_ALLOC | SHF_EXECINSTR;
    sh[1].sh_offset = o_text; sh[1].sh_size = text_sz; sh[1].sh_addralign = 8;
    /* 2 .zk.kernels */
    sh[2].sh_name = 7; sh[2].sh_type = SHT_PROGBITS;
    sh[2].sh_offset = o_kern; sh[2].sh_size = nk * sizeof(struct zk_kernel_desc);
    sh[2].sh_addralign = 8;
    /* 3 .symtab */
    sh[3].sh_name = 19; sh[3].sh_type = SHT_SYMTAB; sh[3].sh_offset = o_sym;
    sh[3].sh_size = (nk + 1) * sizeof(Elf64_Sym); sh[3].sh_link = 4; sh[3].sh_info = 1;
    sh[3].sh_entsize = sizeof(Elf64_Sym); sh[3].sh_addralign = 8;
    /* 4 .strtab */
    sh[4].sh_name = 27; sh[4].sh_type = SHT_STRTAB; sh[4].sh_offset = o_str;
    sh[4].sh_size = str_sz; sh[4].sh_addralign = 1;
    /* 5 .shstrtab */
    sh[5].sh_name = 35; sh[5].sh_type = SHT_STRTAB; sh[5].sh_offset = o_shs;
    sh[5].sh_size = sizeof(shstr); sh[5].sh_addralign = 1;
    /* 6 .rodata */
    sh[6].sh_name = 45; sh[6].sh_type = SHT_PROGBITS; sh[6].sh_flags = SHF_ALLOC;
    sh[6].sh_offset = o_ro; sh[6].sh_size = 8; sh[6].sh_addralign = 8;
    return b;
}

#endif /* ZK_TEST_OBJ_H */
