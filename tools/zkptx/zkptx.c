/* SPDX-License-Identifier: MIT */
/*
 * zkptx - offline PTX front end (docs/ptx.md).
 *   zkptx IN --ir            parse IN (PTX text, fat binary) and print the typed IR
 *   zkptx IN --check         parse only; exit status says whether IN is accepted
 *   zkptx IN --dump          translate and print the SIMT code, PTX lines as comments
 *   zkptx IN -o OUT.zko      translate into a kernel object zk_module_load and zkdis read
 *   [--max-regs N]           use at most N registers (forces spills; for testing)
 * IN may be PTX text or a raw fat binary (.fatbin, or a section dumped
 * from an object); the PTX entry is picked as the loader would.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptx_ir.h"
#include "ptx_xlate.h"
#include "zk_fatbin.h"

static void usage(void)
{
    fprintf(stderr, "usage: zkptx IN.ptx|IN.fatbin (--ir | --check | --dump | -o OUT.zko) "
            "[--max-regs N]\n");
    exit(2);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f) {
        fprintf(stderr, "zkptx: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > ((size_t)ZK_PTX_MAX_TEXT) * 4) {
                fprintf(stderr, "zkptx: %s: too large\n", path);
                exit(1);
            }
            buf = realloc(buf, cap);
            if (!buf) {
                fprintf(stderr, "zkptx: out of memory\n");
                exit(1);
            }
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        if (!got) {
            break;
        }
        n += got;
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    const char *in = NULL, *mode = NULL, *outpath = NULL;
    char err[512];
    zk_ptx_text text;
    ptx_module m;
    size_t len;
    char *data;
    zk_ptx_options opt = { 0 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            outpath = argv[++i];
            mode = "-o";
        } else if (strcmp(argv[i], "--max-regs") == 0 && i + 1 < argc) {
            opt.max_regs = (uint32_t)strtoul(argv[++i], NULL, 0);
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            mode = argv[i];
        } else if (!in) {
            in = argv[i];
        } else {
            usage();
        }
    }
    if (!in || !mode) {
        usage();
    }
    data = slurp(in, &len);
    if (zk_ptx_from_image(data, len, &text, err, sizeof(err)) != 0) {
        fprintf(stderr, "zkptx: %s: %s\n", in, err);
        free(data);
        return 1;
    }
    free(data);
    if (ptx_parse(text.text, text.len, in, &m, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        zk_ptx_text_free(&text);
        return 1;
    }
    if (strcmp(mode, "-o") == 0) {
        zk_ptx_image img;
        uint8_t *obj;
        size_t olen;
        FILE *f;
        if (zk_ptx_translate(&m, &opt, &img, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s\n", err);
            zk_ptx_text_free(&text);
            ptx_module_free(&m);
            return 1;
        }
        zk_ptx_text_free(&text);
        ptx_module_free(&m);
        if (zk_ptx_write_zko(&img, &obj, &olen) != 0) {
            fprintf(stderr, "zkptx: cannot build the object\n");
            zk_ptx_image_free(&img);
            return 1;
        }
        zk_ptx_image_free(&img);
        f = fopen(outpath, "wb");
        if (!f || fwrite(obj, 1, olen, f) != olen || fclose(f) != 0) {
            fprintf(stderr, "zkptx: %s: %s\n", outpath, strerror(errno));
            free(obj);
            return 1;
        }
        free(obj);
        return 0;
    }
    if (strcmp(mode, "--dump") == 0) {
        zk_ptx_image img;
        char *out;
        size_t olen;
        if (zk_ptx_translate(&m, &opt, &img, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s\n", err);
            zk_ptx_text_free(&text);
            ptx_module_free(&m);
            return 1;
        }
        if (zk_ptx_dump(&img, text.text, text.len, &out, &olen) != 0) {
            fprintf(stderr, "zkptx: out of memory\n");
            return 1;
        }
        fwrite(out, 1, olen, stdout);
        free(out);
        zk_ptx_image_free(&img);
        zk_ptx_text_free(&text);
        ptx_module_free(&m);
        return 0;
    }
    zk_ptx_text_free(&text);
    if (strcmp(mode, "--ir") == 0) {
        char *out;
        size_t olen;
        if (ptx_module_print(&m, &out, &olen) != 0) {
            fprintf(stderr, "zkptx: out of memory\n");
            ptx_module_free(&m);
            return 1;
        }
        fwrite(out, 1, olen, stdout);
        free(out);
    } else if (strcmp(mode, "--check") != 0) {
        ptx_module_free(&m);
        usage();
    }
    ptx_module_free(&m);
    return 0;
}
