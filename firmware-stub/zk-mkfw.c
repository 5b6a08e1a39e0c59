/* SPDX-License-Identifier: MIT */
/*
 * zk-mkfw - build a Zhikai firmware image.
 *
 *   zk-mkfw [options] -o OUT [PAYLOAD]
 *
 * PAYLOAD is any file (text or binary) placed after the header; without
 * one a short built-in text blob is used.  See --help.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhikai_hw.h"
#include "zk_fwbuild.h"

static const char builtin_payload[] =
    "Zhikai ZK100 firmware stub\n"
    "This blob stands in for the card's microcontroller firmware; the\n"
    "device model only validates it and reads the capability table.\n";

static void usage(FILE *f)
{
    fprintf(f,
"usage: zk-mkfw [options] -o OUT [PAYLOAD]\n"
"  -o, --output FILE        image to write\n"
"  -V, --version X.Y.Z      image version (default 1.0.0)\n"
"  -a, --api MAJOR.MINOR    api_version (default %u.%u)\n"
"  -q, --queues N           capability: queues the firmware drives (16)\n"
"  -b, --heartbeat-ms N     capability: heartbeat period (100)\n"
"  -i, --isa N              capability: ISA version (1)\n"
"  -c, --corrupt KIND       deliberately corrupt the image, KIND is one of\n"
"                           crc magic api truncate oversize header-size reserved\n"
"  -h, --help\n",
            ZK_API_VERSION_MAJOR, ZK_API_VERSION_MINOR);
}

static int parse_u32(const char *s, uint32_t *v)
{
    char *end;
    unsigned long x;

    errno = 0;
    x = strtoul(s, &end, 0);
    if (errno || *end || end == s || x > UINT32_MAX) {
        return -1;
    }
    *v = (uint32_t)x;
    return 0;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;

    if (!f) {
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            uint8_t *nb = ncap > ZK_FW_MAX_SIZE * 2u ? NULL
                                                    : realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                errno = EFBIG;
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            break;
        }
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        errno = EIO;
        return NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "version", required_argument, NULL, 'V' },
        { "api", required_argument, NULL, 'a' },
        { "queues", required_argument, NULL, 'q' },
        { "heartbeat-ms", required_argument, NULL, 'b' },
        { "isa", required_argument, NULL, 'i' },
        { "corrupt", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct zk_fw_opts o;
    const char *out = NULL;
    uint8_t *payload = NULL, *img;
    size_t plen, ilen;
    unsigned a, b, c;
    uint32_t v;
    int opt, k;
    FILE *f;

    zk_fw_opts_default(&o);
    while ((opt = getopt_long(argc, argv, "o:V:a:q:b:i:c:h", longopts,
                              NULL)) != -1) {
        switch (opt) {
        case 'o':
            out = optarg;
            break;
        case 'V':
            if (sscanf(optarg, "%u.%u.%u", &a, &b, &c) != 3 || a > 0xffff ||
                b > 0xff || c > 0xff) {
                fprintf(stderr, "zk-mkfw: bad version '%s'\n", optarg);
                return 2;
            }
            o.image_version = a << 16 | b << 8 | c;
            break;
        case 'a':
            if (sscanf(optarg, "%u.%u", &a, &b) != 2 || a > 0xffff ||
                b > 0xffff) {
                fprintf(stderr, "zk-mkfw: bad api '%s'\n", optarg);
                return 2;
            }
            o.api_version = a << 16 | b;
            break;
        case 'q':
        case 'b':
        case 'i':
            if (parse_u32(optarg, &v)) {
                fprintf(stderr, "zk-mkfw: bad number '%s'\n", optarg);
                return 2;
            }
            zk_fw_opts_set_cap(&o, opt == 'q' ? ZK_FW_CAP_QUEUES :
                               opt == 'b' ? ZK_FW_CAP_HEARTBEAT_MS :
                               ZK_FW_CAP_ISA_VERSION, v);
            break;
        case 'c':
            k = zk_fw_corrupt_parse(optarg);
            if (k < 0) {
                fprintf(stderr, "zk-mkfw: unknown corruption '%s'\n", optarg);
                return 2;
            }
            o.corrupt = k;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!out || argc - optind > 1) {
        usage(stderr);
        return 2;
    }
    if (optind < argc) {
        payload = read_file(argv[optind], &plen);
        if (!payload) {
            fprintf(stderr, "zk-mkfw: %s: %s\n", argv[optind],
                    strerror(errno));
            return 1;
        }
    } else {
        plen = sizeof(builtin_payload) - 1;
        payload = malloc(plen);
        if (!payload) {
            return 1;
        }
        memcpy(payload, builtin_payload, plen);
    }
    if (zk_fw_build(payload, plen, &o, &img, &ilen)) {
        fprintf(stderr, "zk-mkfw: cannot build image: %s\n", strerror(errno));
        free(payload);
        return 1;
    }
    free(payload);
    f = fopen(out, "wb");
    if (!f || fwrite(img, 1, ilen, f) != ilen || fclose(f) != 0) {
        fprintf(stderr, "zk-mkfw: %s: %s\n", out, strerror(errno));
        free(img);
        return 1;
    }
    free(img);
    return 0;
}
