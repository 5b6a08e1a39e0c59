/* SPDX-License-Identifier: MIT */
/*
 * zkcc - compile a kernel-language file (.zkc, docs/zkcc.md) to a .zko
 * object, or with -S to zkas assembly text:
 *     zkcc in.zkc -o out.zko
 *     zkcc -S in.zkc [-o out.zks]      (stdout without -o)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk_tool_io.h"
#include "zkcc.h"

static int usage(void)
{
    fprintf(stderr, "usage: zkcc in.zkc -o out.zko\n"
                    "       zkcc -S in.zkc [-o out.zks]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *in = NULL, *outp = NULL;
    int asm_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            outp = argv[++i];
        } else if (!strcmp(argv[i], "-S")) {
            asm_only = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage();
        } else if (!in) {
            in = argv[i];
        } else {
            return usage();
        }
    }
    if (!in || (!outp && !asm_only)) {
        return usage();
    }
    size_t n;
    char *src = zk_read_file(in, &n);
    if (!src) {
        perror(in);
        return 1;
    }
    if (strlen(src) != n) {
        fprintf(stderr, "%s: error: NUL byte in the source\n", in);
        free(src);
        return 1;
    }
    char err[512];
    int r;
    if (asm_only) {
        char *text;
        r = zkcc_compile(src, in, &text, err, sizeof(err));
        if (!r) {
            if (outp) {
                r = zk_write_file(outp, text, strlen(text));
                if (r) {
                    perror(outp);
                }
            } else {
                fputs(text, stdout);
            }
            free(text);
        } else {
            fprintf(stderr, "%s\n", err);
        }
    } else {
        uint8_t *obj;
        size_t len;
        r = zkcc_compile_obj(src, in, &obj, &len, err, sizeof(err));
        if (!r) {
            r = zk_write_file(outp, obj, len);
            if (r) {
                perror(outp);
            }
            free(obj);
        } else {
            fprintf(stderr, "%s\n", err);
        }
    }
    free(src);
    return r ? 1 : 0;
}
