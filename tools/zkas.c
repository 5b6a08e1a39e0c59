/* SPDX-License-Identifier: MIT */
/* zkas - assemble a .zks file into a .zko object: zkas in.zks -o out.zko */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk_asm.h"
#include "zk_tool_io.h"

int main(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            out = argv[++i];
        } else {
            in = argv[i];
        }
    }
    if (!in || !out) {
        fprintf(stderr, "usage: zkas in.zks -o out.zko\n");
        return 2;
    }
    size_t n;
    char *src = zk_read_file(in, &n);
    if (!src) {
        perror(in);
        return 1;
    }
    uint8_t *obj;
    size_t len;
    char err[512];
    if (zk_asm(src, in, &obj, &len, err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        free(src);
        return 1;
    }
    int r = zk_write_file(out, obj, len);
    if (r) {
        perror(out);
    }
    free(obj);
    free(src);
    return r ? 1 : 0;
}
