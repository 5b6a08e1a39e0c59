/* SPDX-License-Identifier: MIT */
/*
 * zkdis - disassemble a .zko: kernels with their argument lists, then the
 * code with labels at kernel entries and branch targets, then .rodata.
 * The output is valid zkas input (reassembles to the same .text).
 * SIMT kernels (ISA v2, 16-byte instructions) run from their entry to the
 * next kernel's entry and are printed with the SIMT syntax.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk_isa.h"
#include "zk_obj.h"
#include "zk_simt_isa.h"
#include "zk_tool_io.h"

static const char *kind_name(const struct zk_arg_desc *a)
{
    return a->kind == ZK_ARG_U64 ? "u64" : a->kind == ZK_ARG_F32 ? "f32" : "ptr";
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: zkdis file.zko\n");
        return 2;
    }
    size_t len;
    char *data = zk_read_file(argv[1], &len);
    ZkObj o;
    char err[512];
    if (!data) {
        perror(argv[1]);
        return 1;
    }
    if (zk_obj_load(data, len, &o, err, sizeof(err))) {
        fprintf(stderr, "%s: %s\n", argv[1], err);
        free(data);
        return 1;
    }
    uint32_t n = o.text_size / 8;
    uint8_t *target = calloc(n + 1, 1), *simt = calloc(n + 1, 1);
    const uint64_t *code = (const uint64_t *)(const void *)o.image;
    /* SIMT regions: from a SIMT kernel's entry to the next entry. */
    for (uint32_t k = 0; k < o.num_kernels; k++) {
        uint32_t start = o.kernels[k].entry / 8, end = n;
        if (!(o.kernels[k].desc.flags & ZK_KDESC_F_SIMT)) {
            continue;
        }
        for (uint32_t j = 0; j < o.num_kernels; j++) {
            uint32_t e = o.kernels[j].entry / 8;
            if (e > start && e < end) {
                end = e;
            }
        }
        for (uint32_t pc = start; pc + 1 < end + 1 && pc < n; pc++) {
            simt[pc] = 1;
        }
    }
    for (uint32_t pc = 0; pc < n; pc++) {
        int64_t t = simt[pc] ? (pc + 1 < n ? zk_simt_target(&code[pc], pc / 2) : -1)
                             : zk_isa_target(code[pc], pc);
        if (simt[pc] && t >= 0) {
            t *= 2;
        }
        if (t >= 0 && t < n) {
            target[t] = 1;
        }
        pc += simt[pc];
    }
    printf("# %s: %u bytes of code, %u bytes of rodata at image offset %u\n",
           argv[1], o.text_size, o.image_size - o.rodata_off, o.rodata_off);
    for (uint32_t pc = 0; pc < n; pc++) {
        for (uint32_t k = 0; k < o.num_kernels; k++) {
            const ZkObjKernel *kk = &o.kernels[k];
            if (kk->entry / 8 != pc) {
                continue;
            }
            if (kk->desc.flags & ZK_KDESC_F_SIMT) {
                printf("\n.kernel %s simt\n", kk->name);
                printf(".shared %u\n.local %u\n.params %u\n", kk->simt.shared_bytes,
                       kk->simt.local_bytes, kk->simt.param_bytes);
            } else {
                printf("\n.kernel %s\n", kk->name);
            }
            for (uint32_t i = 0; i < kk->desc.num_args; i++) {
                const struct zk_arg_desc *a = &kk->desc.args[i];
                printf(".arg %s %s", a->name, kind_name(a));
                if (a->kind == ZK_ARG_PTR) {
                    printf(" %s %s%s", zk_dtype_names[a->dtype],
                           a->access & ZK_ACC_READ ? "r" : "",
                           a->access & ZK_ACC_WRITE ? "w" : "");
                }
                printf("\n");
            }
        }
        if (target[pc]) {
            printf("L%u:\n", pc);
        }
        char text[160];
        if (simt[pc] && pc + 1 < n) {
            zk_simt_disasm(&code[pc], pc / 2, text, sizeof(text));
            char *at = strrchr(text, '@');
            int64_t t = zk_simt_target(&code[pc], pc / 2);
            if (at && t >= 0 && at != text) {
                *at = 0;
                printf("    %sL%" PRId64 "\n", text, 2 * t);
            } else {
                printf("    %s\n", text);
            }
            pc++;
            continue;
        }
        zk_isa_disasm(code[pc], pc, text, sizeof(text));
        /* Print targets as labels so the output reassembles. */
        char *at = strchr(text, '@');
        if (at && zk_isa_target(code[pc], pc) >= 0) {
            *at = 0;
            printf("    %sL%" PRId64 "\n", text, zk_isa_target(code[pc], pc));
        } else {
            printf("    %s\n", text);
        }
    }
    if (o.image_size > o.rodata_off) {
        printf("\n.rodata\n");
        for (uint32_t i = o.rodata_off; i < o.image_size; i++) {
            printf("%s0x%02x", (i - o.rodata_off) % 16 ? ", " : "    .u8 ",
                   o.image[i]);
            if ((i - o.rodata_off) % 16 == 15 || i + 1 == o.image_size) {
                printf("\n");
            }
        }
    }
    free(target);
    free(simt);
    zk_obj_free(&o);
    free(data);
    return 0;
}
