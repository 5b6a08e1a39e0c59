/* SPDX-License-Identifier: MIT */
/* zk_tool_io.h - whole-file read/write for the command-line tools. */
#ifndef ZK_TOOL_IO_H
#define ZK_TOOL_IO_H

#include <stdio.h>
#include <stdlib.h>

/* Read a file into a NUL-terminated malloc'd buffer. */
static inline char *zk_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f) {
        return NULL;
    }
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *b = realloc(buf, cap = cap * 2 + 8192);
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        size_t r = fread(buf + n, 1, 4096, f);
        n += r;
        if (r < 4096) {
            break;
        }
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

static inline int zk_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        return -1;
    }
    int r = fwrite(data, 1, len, f) == len ? 0 : -1;
    return fclose(f) || r ? -1 : 0;
}

#endif
