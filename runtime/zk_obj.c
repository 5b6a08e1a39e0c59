/* SPDX-License-Identifier: MIT */
/*
 * zk_obj.c - .zko loader (libelf) and writer (plain ELF64 structures).
 *
 * The loader trusts nothing in the file: every size and offset is checked
 * before use and each failure names what is wrong, because these messages
 * are what a kernel author sees when a module does not load.
 */
#include "zk_obj.h"

#include <elf.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhikai_hw.h"
#include "zk_isa.h"
#include "zk_simt_isa.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void zk_obj_name_key(const char *name, char key[ZK_NAME_LEN])
{
    size_t n = strlen(name);
    uint64_t h = 14695981039346656037ull;
    if (n < ZK_NAME_LEN) {
        memcpy(key, name, n + 1);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (uint8_t)name[i]) * 1099511628211ull;
    }
    snprintf(key, ZK_NAME_LEN, "%.*s~%016llx", ZK_OBJ_KEY_PREFIX, name,
             (unsigned long long)h);
}

/* NUL-terminated within n bytes. */
static bool str_ok(const char *s, size_t n)
{
    return memchr(s, 0, n) != NULL;
}

static int check_desc(const struct zk_kernel_desc *d, char *err, size_t errlen)
{
    if (!str_ok(d->name, sizeof(d->name)) || !d->name[0]) {
        return fail(err, errlen, "kernel descriptor with a bad name");
    }
    if (d->num_args > ZK_MAX_ARGS || (d->flags & ~ZK_KDESC_F_SIMT)) {
        return fail(err, errlen, "kernel %s: bad argument count or reserved "
                    "field", d->name);
    }
    for (uint32_t i = 0; i < d->num_args; i++) {
        const struct zk_arg_desc *a = &d->args[i];
        if (a->kind < ZK_ARG_U64 || a->kind > ZK_ARG_PTR) {
            return fail(err, errlen, "kernel %s: argument %u has bad kind %u",
                        d->name, i, a->kind);
        }
        if ((a->kind == ZK_ARG_PTR && (a->dtype >= ZK_DT_COUNT ||
                                       (a->access & ~3u) || !a->access)) ||
            (a->kind != ZK_ARG_PTR && (a->dtype || a->access)) ||
            a->reserved || a->reserved2 || !str_ok(a->name, sizeof(a->name))) {
            return fail(err, errlen, "kernel %s: argument %u has bad dtype, "
                        "access or reserved fields", d->name, i);
        }
    }
    return 0;
}

/* A SIMT kernel: its .zk.simt descriptor, sizes, then the SIMT verifier. */
static int load_simt(ZkObjKernel *ok, const Elf_Data *simt, const ZkObj *o,
                     char *err, size_t errlen)
{
    size_t n = simt ? simt->d_size / sizeof(struct zk_simt_desc) : 0;
    const struct zk_simt_desc *sd = NULL;
    ZkSimtInfo info;
    uint32_t bad;
    const char *why;

    for (size_t i = 0; i < n; i++) {
        const struct zk_simt_desc *d =
            (const struct zk_simt_desc *)((const uint8_t *)simt->d_buf + i * sizeof(*d));
        if (str_ok(d->name, sizeof(d->name)) && !strcmp(d->name, ok->desc.name)) {
            sd = d;
            break;
        }
    }
    if (!sd) {
        return fail(err, errlen, "SIMT kernel %s has no %s descriptor",
                    ok->name, ZK_SECT_SIMT);
    }
    memcpy(&ok->simt, sd, sizeof(ok->simt));
    for (unsigned i = 0; i < 5; i++) {
        if (sd->reserved[i]) {
            return fail(err, errlen, "kernel %s: reserved SIMT field set", ok->name);
        }
    }
    if (sd->shared_bytes > ZK_SIMT_MAX_SHARED || sd->local_bytes > ZK_SIMT_MAX_LOCAL ||
        sd->param_bytes > ZK_SIMT_MAX_PARAMS) {
        return fail(err, errlen, "kernel %s: shared %u / local %u / param %u "
                    "bytes over the limits (%u, %u, %u)", ok->name,
                    sd->shared_bytes, sd->local_bytes, sd->param_bytes,
                    ZK_SIMT_MAX_SHARED, ZK_SIMT_MAX_LOCAL, ZK_SIMT_MAX_PARAMS);
    }
    if (ok->entry % ZK_SIMT_INSN_BYTES) {
        return fail(err, errlen, "SIMT kernel %s: entry not 16-byte aligned", ok->name);
    }
    uint32_t ni = o->text_size / ZK_SIMT_INSN_BYTES;
    uint64_t *words = malloc((size_t)ni * ZK_SIMT_INSN_BYTES + 16);
    if (!words) {
        return fail(err, errlen, "out of memory");
    }
    memcpy(words, o->image, (size_t)ni * ZK_SIMT_INSN_BYTES);
    int v = zk_simt_verify(words, ni, ok->entry / ZK_SIMT_INSN_BYTES, &info, &bad, &why);
    if (v) {
        char text_insn[128];
        if (bad < ni) {
            zk_simt_disasm(&words[2 * (size_t)bad], bad, text_insn, sizeof(text_insn));
        } else {
            snprintf(text_insn, sizeof(text_insn), "-");
        }
        free(words);
        return fail(err, errlen, "SIMT kernel %s: instruction %u (%s): %s",
                    ok->name, bad, text_insn, why);
    }
    free(words);
    return 0;
}

int zk_obj_load(const void *data, size_t len, ZkObj *out, char *err,
                size_t errlen)
{
    Elf *e = NULL;
    char *copy = NULL;
    size_t shstrndx;
    Elf_Data *text = NULL, *rodata = NULL, *kern = NULL, *syms = NULL, *target = NULL;
    Elf_Data *simt = NULL;
    size_t text_idx = 0, sym_link = 0;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    if (len < EI_NIDENT || memcmp(data, ELFMAG, SELFMAG) != 0) {
        return fail(err, errlen, len < EI_NIDENT ? "truncated file"
                                                 : "not an ELF file");
    }
    const unsigned char *id = data;
    if (id[EI_CLASS] != ELFCLASS64) {
        return fail(err, errlen, "not a 64-bit ELF (class %u)", id[EI_CLASS]);
    }
    if (id[EI_DATA] != ELFDATA2LSB) {
        return fail(err, errlen, "not a little-endian ELF");
    }
    if (len < sizeof(Elf64_Ehdr)) {
        return fail(err, errlen, "truncated file");
    }
    elf_version(EV_CURRENT);
    copy = malloc(len);                 /* elf_memory wants a mutable buffer */
    if (!copy) {
        return fail(err, errlen, "out of memory");
    }
    memcpy(copy, data, len);
    e = elf_memory(copy, len);
    GElf_Ehdr eh;
    if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
        fail(err, errlen, "corrupt ELF header");
        goto out;
    }
    if (eh.e_machine != EM_ZHIKAI) {
        fail(err, errlen, "wrong machine %u (want EM_ZHIKAI 0x%x)",
             eh.e_machine, EM_ZHIKAI);
        goto out;
    }
    if (eh.e_type != ET_REL && eh.e_type != ET_EXEC) {
        fail(err, errlen, "ELF type %u is neither ET_REL nor ET_EXEC", eh.e_type);
        goto out;
    }
    if (eh.e_shoff > len || eh.e_shnum > (len - eh.e_shoff) / sizeof(Elf64_Shdr) ||
        elf_getshdrstrndx(e, &shstrndx) != 0) {
        fail(err, errlen, "truncated or corrupt section table");
        goto out;
    }
    for (Elf_Scn *s = elf_nextscn(e, NULL); s; s = elf_nextscn(e, s)) {
        GElf_Shdr sh;
        const char *name;
        if (!gelf_getshdr(s, &sh) ||
            !(name = elf_strptr(e, shstrndx, sh.sh_name))) {
            fail(err, errlen, "corrupt section header");
            goto out;
        }
        if (sh.sh_type == SHT_REL || sh.sh_type == SHT_RELA) {
            fail(err, errlen, "relocations are not supported (section %s)", name);
            goto out;
        }
        if (sh.sh_type != SHT_NOBITS &&
            (sh.sh_offset > len || sh.sh_size > len - sh.sh_offset)) {
            fail(err, errlen, "section %s extends past the end of the file", name);
            goto out;
        }
        Elf_Data **slot = NULL;
        if (!strcmp(name, ZK_SECT_TEXT)) {
            slot = &text;
            text_idx = elf_ndxscn(s);
        } else if (!strcmp(name, ZK_SECT_RODATA)) {
            slot = &rodata;
        } else if (!strcmp(name, ZK_SECT_KERNELS)) {
            slot = &kern;
        } else if (!strcmp(name, ZK_SECT_TARGET)) {
            slot = &target;
        } else if (!strcmp(name, ZK_SECT_SIMT)) {
            slot = &simt;
        } else if (sh.sh_type == SHT_SYMTAB) {
            slot = &syms;
            sym_link = sh.sh_link;
        }
        if (slot) {
            if (*slot) {
                fail(err, errlen, "duplicate section %s", name);
                goto out;
            }
            if (!(*slot = elf_getdata(s, NULL))) {
                fail(err, errlen, "cannot read section %s", name);
                goto out;
            }
        }
    }
    if (!text || text->d_size == 0 || text->d_size % 8 || !text->d_buf) {
        fail(err, errlen, "missing or malformed .text (size must be a "
             "non-zero multiple of 8)");
        goto out;
    }
    if (!kern || !syms) {
        fail(err, errlen, "missing %s", !kern ? ZK_SECT_KERNELS : "symbol table");
        goto out;
    }
    if (kern->d_size % sizeof(struct zk_kernel_desc) || !kern->d_size) {
        fail(err, errlen, "%s size is not a multiple of the descriptor size",
             ZK_SECT_KERNELS);
        goto out;
    }
    out->isa_version = 1;
    if (target) {
        struct zk_obj_target t;
        if (target->d_size != sizeof(t) || !target->d_buf) {
            fail(err, errlen, "%s has size %zu (want %zu)", ZK_SECT_TARGET,
                 (size_t)target->d_size, sizeof(t));
            goto out;
        }
        memcpy(&t, target->d_buf, sizeof(t));
        if (t.isa_version == 0 || t.reserved) {
            fail(err, errlen, "%s: bad ISA version 0 or reserved field", ZK_SECT_TARGET);
            goto out;
        }
        if (t.isa_version > ZK_ISA_VERSION) {
            fail(err, errlen, "built for ISA version %u; this library knows up to %u "
                 "(a newer zhikai runtime is needed)", t.isa_version, ZK_ISA_VERSION);
            goto out;
        }
        out->isa_version = t.isa_version;
        out->required_caps = t.required_caps;
    }
    if (simt && (simt->d_size % sizeof(struct zk_simt_desc) ||
                 (simt->d_size && !simt->d_buf))) {
        fail(err, errlen, "%s size is not a multiple of the descriptor size",
             ZK_SECT_SIMT);
        goto out;
    }
    uint64_t rsize = rodata ? rodata->d_size : 0;
    uint64_t roff = zk_obj_rodata_offset((uint32_t)text->d_size);
    if (text->d_size > (16u << 20) || rsize > (64u << 20)) {
        fail(err, errlen, "image too large");
        goto out;
    }
    out->text_size = (uint32_t)text->d_size;
    out->rodata_off = (uint32_t)roff;
    out->image_size = (uint32_t)(roff + rsize);
    out->image = calloc(1, out->image_size);
    out->num_kernels = (uint32_t)(kern->d_size / sizeof(struct zk_kernel_desc));
    out->kernels = calloc(out->num_kernels, sizeof(ZkObjKernel));
    if (!out->image || !out->kernels) {
        fail(err, errlen, "out of memory");
        goto out;
    }
    memcpy(out->image, text->d_buf, text->d_size);
    if (rsize) {
        if (!rodata->d_buf) {
            fail(err, errlen, ".rodata has no contents");
            goto out;
        }
        memcpy(out->image + roff, rodata->d_buf, rsize);
    }

    /* Kernels: descriptor, then its STT_FUNC symbol, then verification. */
    size_t nsyms = syms->d_size / sizeof(Elf64_Sym);
    for (size_t i = 0; i < nsyms; i++) {      /* every function in .text */
        GElf_Sym sym;
        if (!gelf_getsym(syms, (int)i, &sym)) {
            fail(err, errlen, "corrupt symbol table");
            goto out;
        }
        const char *sn = elf_strptr(e, sym_link, sym.st_name);
        if (GELF_ST_TYPE(sym.st_info) == STT_FUNC &&
            (sym.st_shndx != text_idx || sym.st_value >= text->d_size ||
             sym.st_value % 8)) {
            fail(err, errlen, "symbol %s is outside .text or misaligned",
                 sn ? sn : "?");
            goto out;
        }
    }
    for (uint32_t k = 0; k < out->num_kernels; k++) {
        ZkObjKernel *ok = &out->kernels[k];
        bool found = false;
        memcpy(&ok->desc, (const uint8_t *)kern->d_buf + k * sizeof(ok->desc),
               sizeof(ok->desc));
        if (check_desc(&ok->desc, err, errlen)) {
            goto out;
        }
        for (uint32_t j = 0; j < k; j++) {
            if (!strcmp(out->kernels[j].desc.name, ok->desc.name)) {
                fail(err, errlen, "kernel %s is described twice", ok->desc.name);
                goto out;
            }
        }
        /* The symbol whose key is the descriptor's name gives the full name. */
        for (size_t i = 0; i < nsyms && !found; i++) {
            GElf_Sym sym;
            char key[ZK_NAME_LEN];
            gelf_getsym(syms, (int)i, &sym);
            const char *sn = elf_strptr(e, sym_link, sym.st_name);
            if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sn ||
                strnlen(sn, ZK_OBJ_NAME_MAX) >= ZK_OBJ_NAME_MAX) {
                continue;
            }
            zk_obj_name_key(sn, key);
            if (!strcmp(key, ok->desc.name)) {
                ok->entry = (uint32_t)sym.st_value;
                ok->name = strdup(sn);
                if (!ok->name) {
                    fail(err, errlen, "out of memory");
                    goto out;
                }
                found = true;
            }
        }
        if (!found) {
            fail(err, errlen, "kernel %s has no STT_FUNC symbol", ok->desc.name);
            goto out;
        }
        if (ok->desc.flags & ZK_KDESC_F_SIMT) {
            if (load_simt(ok, simt, out, err, errlen)) {
                goto out;
            }
            continue;
        }
        uint32_t bad;
        const char *why;
        uint64_t *words = malloc(out->text_size);
        if (!words) {
            fail(err, errlen, "out of memory");
            goto out;
        }
        memcpy(words, out->image, out->text_size);
        int v = zk_isa_verify(words, out->text_size / 8, ok->entry / 8,
                              ok->desc.num_args, out->image_size, &bad, &why);
        free(words);
        if (v) {
            char text_insn[96];
            zk_isa_disasm(((const uint64_t *)(const void *)out->image)[bad], bad,
                          text_insn, sizeof(text_insn));
            fail(err, errlen, "kernel %s: instruction %u (%s): %s", ok->name,
                 bad, text_insn, why);
            goto out;
        }
    }
    ret = 0;
out:
    if (e) {
        elf_end(e);
    }
    free(copy);
    if (ret) {
        zk_obj_free(out);
    }
    return ret;
}

static const char *const cap_names[] = {
    "mmu", "dma-sglist", "fp16", "bf16", "int8", "power-cap", "fault-inject",
    "card-time", "perf-model", "hbm-discard", "simt",
};

const char *zk_obj_cap_name(unsigned int bit)
{
    return bit < sizeof(cap_names) / sizeof(cap_names[0]) ? cap_names[bit] : NULL;
}

int zk_obj_cap_bit(const char *name)
{
    for (unsigned int i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++) {
        if (!strcmp(name, cap_names[i])) {
            return (int)i;
        }
    }
    return -1;
}

void zk_obj_caps_str(uint64_t caps, char *buf, size_t len)
{
    size_t off = 0;
    if (len) {
        buf[0] = 0;
    }
    for (unsigned int i = 0; i < 64 && off < len; i++) {
        if (caps >> i & 1) {
            const char *n = zk_obj_cap_name(i);
            int w = n ? snprintf(buf + off, len - off, "%s%s", off ? "," : "", n)
                      : snprintf(buf + off, len - off, "%sbit%u", off ? "," : "", i);
            off += w > 0 ? (size_t)w : 0;
        }
    }
}

void zk_obj_free(ZkObj *obj)
{
    for (uint32_t i = 0; obj->kernels && i < obj->num_kernels; i++) {
        free(obj->kernels[i].name);
    }
    free(obj->image);
    free(obj->kernels);
    memset(obj, 0, sizeof(*obj));
}

const ZkObjKernel *zk_obj_find(const ZkObj *obj, const char *name)
{
    for (uint32_t i = 0; i < obj->num_kernels; i++) {
        if (obj->kernels[i].name && !strcmp(obj->kernels[i].name, name)) {
            return &obj->kernels[i];
        }
    }
    return NULL;
}

/* ---- writer -------------------------------------------------------- */

/* Growable byte buffer. */
typedef struct Buf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} Buf;

static size_t put(Buf *b, const void *data, size_t n, size_t align)
{
    size_t off = (b->len + align - 1) / align * align;
    if (off + n > b->cap) {
        size_t cap = (off + n) * 2 + 256;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return 0;
        }
        b->p = p;
        b->cap = cap;
    }
    memset(b->p + b->len, 0, off - b->len);
    if (n) {
        memcpy(b->p + off, data, n);
    }
    b->len = off + n;
    return off;
}

void zk_obj_min_target(const ZkObjKernel *kernels, uint32_t num_kernels,
                       struct zk_obj_target *t)
{
    /* The least a card must offer: ISA 1 tile code, or ISA 2 with the SIMT unit. */
    memset(t, 0, sizeof(*t));
    t->isa_version = 1;
    for (uint32_t i = 0; i < num_kernels; i++) {
        if (kernels[i].desc.flags & ZK_KDESC_F_SIMT) {
            t->isa_version = 2;
            t->required_caps |= ZK_CAP_SIMT;
        }
    }
}

int zk_obj_write(const void *text, uint32_t text_size, const void *rodata,
                 uint32_t rodata_size, const ZkObjKernel *kernels,
                 uint32_t num_kernels, uint8_t **out, size_t *out_len)
{
    struct zk_obj_target t;
    zk_obj_min_target(kernels, num_kernels, &t);
    return zk_obj_write_target(text, text_size, rodata, rodata_size, kernels,
                               num_kernels, &t, out, out_len);
}

int zk_obj_write_target(const void *text, uint32_t text_size, const void *rodata,
                        uint32_t rodata_size, const ZkObjKernel *kernels,
                        uint32_t num_kernels, const struct zk_obj_target *target,
                        uint8_t **out, size_t *out_len)
{
    enum { S_NULL, S_TEXT, S_RODATA, S_KERN, S_SYMTAB, S_STRTAB, S_SHSTR,
           S_SIMT, S_TARGET, S_N };
    static const char shstr[] =
        "\0.text\0.rodata\0.zk.kernels\0.symtab\0.strtab\0.shstrtab\0.zk.simt\0.zk.target";
    static const uint32_t shname[S_N] = { 0, 1, 7, 15, 27, 35, 43, 53, 62 };
    Buf b = { 0 }, str = { 0 };
    Elf64_Shdr sh[S_N];
    Elf64_Ehdr eh;

    memset(sh, 0, sizeof(sh));
    memset(&eh, 0, sizeof(eh));
    put(&b, &eh, sizeof(eh), 1);                /* placeholder */
    put(&str, "", 1, 1);

    sh[S_TEXT] = (Elf64_Shdr){ .sh_type = SHT_PROGBITS,
                               .sh_flags = SHF_ALLOC | SHF_EXECINSTR,
                               .sh_offset = put(&b, text, text_size, 8),
                               .sh_size = text_size, .sh_addralign = 8 };
    sh[S_RODATA] = (Elf64_Shdr){ .sh_type = SHT_PROGBITS, .sh_flags = SHF_ALLOC,
                                 .sh_offset = put(&b, rodata, rodata_size, 8),
                                 .sh_size = rodata_size, .sh_addralign = 8 };
    size_t koff = 0;
    for (uint32_t i = 0; i < num_kernels; i++) {
        const char *n = kernels[i].name ? kernels[i].name : kernels[i].desc.name;
        if (strnlen(n, ZK_OBJ_NAME_MAX) >= ZK_OBJ_NAME_MAX) {
            free(b.p);
            free(str.p);
            return -1;
        }
    }
    for (uint32_t i = 0; i < num_kernels; i++) {
        struct zk_kernel_desc d = kernels[i].desc;
        zk_obj_name_key(kernels[i].name ? kernels[i].name : d.name, d.name);
        size_t o = put(&b, &d, sizeof(d), 8);
        koff = i == 0 ? o : koff;
    }
    sh[S_KERN] = (Elf64_Shdr){ .sh_type = SHT_PROGBITS,
                               .sh_offset = num_kernels ? koff : b.len,
                               .sh_size = num_kernels * sizeof(struct zk_kernel_desc),
                               .sh_addralign = 8,
                               .sh_entsize = sizeof(struct zk_kernel_desc) };
    /* SIMT descriptors (possibly none). */
    size_t simt_off = b.len, nsimt = 0;
    for (uint32_t i = 0; i < num_kernels; i++) {
        if (kernels[i].desc.flags & ZK_KDESC_F_SIMT) {
            struct zk_simt_desc d = kernels[i].simt;
            zk_obj_name_key(kernels[i].name ? kernels[i].name : kernels[i].desc.name, d.name);
            size_t o = put(&b, &d, sizeof(d), 8);
            simt_off = nsimt++ ? simt_off : o;
        }
    }
    sh[S_SIMT] = (Elf64_Shdr){ .sh_type = SHT_PROGBITS, .sh_offset = simt_off,
                               .sh_size = nsimt * sizeof(struct zk_simt_desc),
                               .sh_addralign = 8,
                               .sh_entsize = sizeof(struct zk_simt_desc) };
    /* Symbols: the null symbol, then one global STT_FUNC per kernel. */
    Elf64_Sym null_sym;
    memset(&null_sym, 0, sizeof(null_sym));
    size_t soff = put(&b, &null_sym, sizeof(null_sym), 8);
    for (uint32_t i = 0; i < num_kernels; i++) {
        const char *n = kernels[i].name ? kernels[i].name : kernels[i].desc.name;
        Elf64_Sym s = { .st_name = (uint32_t)put(&str, n, strlen(n) + 1, 1),
                        .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC),
                        .st_shndx = S_TEXT, .st_value = kernels[i].entry };
        put(&b, &s, sizeof(s), 8);
    }
    sh[S_SYMTAB] = (Elf64_Shdr){ .sh_type = SHT_SYMTAB, .sh_offset = soff,
                                 .sh_size = (num_kernels + 1) * sizeof(Elf64_Sym),
                                 .sh_link = S_STRTAB, .sh_info = 1,
                                 .sh_addralign = 8, .sh_entsize = sizeof(Elf64_Sym) };
    sh[S_STRTAB] = (Elf64_Shdr){ .sh_type = SHT_STRTAB,
                                 .sh_offset = put(&b, str.p, str.len, 1),
                                 .sh_size = str.len, .sh_addralign = 1 };
    sh[S_TARGET] = (Elf64_Shdr){ .sh_type = SHT_PROGBITS,
                                 .sh_offset = put(&b, target, sizeof(*target), 8),
                                 .sh_size = sizeof(*target), .sh_addralign = 8 };
    sh[S_SHSTR] = (Elf64_Shdr){ .sh_type = SHT_STRTAB,
                                .sh_offset = put(&b, shstr, sizeof(shstr), 1),
                                .sh_size = sizeof(shstr), .sh_addralign = 1 };
    for (int i = 0; i < S_N; i++) {
        sh[i].sh_name = shname[i];
    }
    size_t shoff = put(&b, sh, sizeof(sh), 8);

    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_REL;
    eh.e_machine = EM_ZHIKAI;
    eh.e_version = EV_CURRENT;
    eh.e_shoff = shoff;
    eh.e_ehsize = sizeof(eh);
    eh.e_shentsize = sizeof(Elf64_Shdr);
    eh.e_shnum = S_N;
    eh.e_shstrndx = S_SHSTR;
    free(str.p);
    if (b.oom || str.oom) {
        free(b.p);
        return -1;
    }
    memcpy(b.p, &eh, sizeof(eh));
    *out = b.p;
    *out_len = b.len;
    return 0;
}
