/* SPDX-License-Identifier: MIT */
/*
 * zk_fwbuild.h - builds Zhikai firmware images (include/zhikai_hw.h header
 * + payload, zlib CRC32 of the payload), optionally corrupted on purpose
 * for tests.  Used by zk-mkfw and tests/host/test_fw.c.
 */
#ifndef ZK_FWBUILD_H
#define ZK_FWBUILD_H

#include <stddef.h>
#include <stdint.h>

#include "zhikai_hw.h"

enum zk_fw_corrupt {
    ZK_FW_OK = 0,
    ZK_FW_BAD_CRC,          /* payload_crc32 off by one bit */
    ZK_FW_BAD_MAGIC,        /* magic is not ZK_FW_MAGIC */
    ZK_FW_BAD_API,          /* api major + 1 (CRC still valid) */
    ZK_FW_TRUNCATED,        /* last bytes missing (header says more) */
    ZK_FW_OVERSIZE,         /* padded beyond ZK_FW_MAX_SIZE */
    ZK_FW_BAD_HEADER_SIZE,  /* header_size smaller than the header */
    ZK_FW_BAD_RESERVED,     /* reserved field non-zero */
    ZK_FW_CORRUPT_COUNT
};

struct zk_fw_opts {
    uint32_t image_version;     /* major << 16 | minor << 8 | patch */
    uint32_t api_version;       /* normally ZK_API_VERSION */
    uint32_t num_caps;
    struct zk_fw_cap caps[ZK_FW_MAX_CAPS];
    enum zk_fw_corrupt corrupt;
};

/* Defaults: version 1.0.0, ZK_API_VERSION, caps queues=16, heartbeat=100,
 * isa=ZK_ISA_VERSION. */
void zk_fw_opts_default(struct zk_fw_opts *o);

/* Add or replace a capability; -1 if the table is full. */
int zk_fw_opts_set_cap(struct zk_fw_opts *o, uint32_t id, uint32_t value);

/*
 * Build an image from payload (may be NULL if len == 0).  On success
 * returns 0 and a malloc'ed image in *out (free() it) of *out_len bytes.
 * Returns -1 (errno set) on bad arguments or allocation failure.
 */
int zk_fw_build(const void *payload, size_t len, const struct zk_fw_opts *o,
                uint8_t **out, size_t *out_len);

/* Name <-> corruption ("crc", "magic", "api", "truncate", ...). */
const char *zk_fw_corrupt_name(enum zk_fw_corrupt c);
int zk_fw_corrupt_parse(const char *name);   /* -1 if unknown */

#endif /* ZK_FWBUILD_H */
