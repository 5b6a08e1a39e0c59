/* SPDX-License-Identifier: MIT */
/*
 * zhikai-fwcheck.c - firmware image validation (see zhikai-fwcheck.h).
 *
 * Deliberately free of QEMU headers so that tests/host/test_fw.c can feed
 * it malformed images under ASan/UBSan.
 */
#include <string.h>
#include <zlib.h>

#include "zhikai-fwcheck.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

uint32_t zk_fw_crc32(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uLong crc = crc32(0L, Z_NULL, 0);

    /* zlib takes a uInt length: feed huge buffers in pieces. */
    while (len) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        crc = crc32(crc, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)crc;
}

static void decode_header(const uint8_t *p, struct zk_fw_header *h)
{
    h->magic = le32(p + 0);
    h->header_size = le32(p + 4);
    h->image_version = le32(p + 8);
    h->api_version = le32(p + 12);
    h->image_size = le32(p + 16);
    h->payload_crc32 = le32(p + 20);
    h->num_caps = le32(p + 24);
    h->reserved = le32(p + 28);
    for (unsigned i = 0; i < ZK_FW_MAX_CAPS; i++) {
        h->caps[i].id = le32(p + 32 + 8 * i);
        h->caps[i].value = le32(p + 36 + 8 * i);
    }
}

int zk_fw_check(const void *img, size_t len, uint32_t dev_api,
                struct zk_fw_header *hdr_out)
{
    const uint8_t *p = img;
    struct zk_fw_header h;

    if (!img || len < 4) {
        return ZK_BOOT_ERR_SIZE;
    }
    if (le32(p) != ZK_FW_MAGIC) {
        return ZK_BOOT_ERR_MAGIC;
    }
    if (len < sizeof(h)) {
        return ZK_BOOT_ERR_SIZE;
    }
    decode_header(p, &h);
    if (hdr_out) {
        *hdr_out = h;
    }
    if (len > ZK_FW_MAX_SIZE || h.header_size < sizeof(h) ||
        (h.header_size & 7) || h.image_size != len ||
        h.header_size > h.image_size || h.num_caps > ZK_FW_MAX_CAPS) {
        return ZK_BOOT_ERR_SIZE;
    }
    if (h.reserved != 0) {
        return ZK_BOOT_ERR_MAGIC;
    }
    if (zk_fw_crc32(p + h.header_size, h.image_size - h.header_size) !=
        h.payload_crc32) {
        return ZK_BOOT_ERR_CRC;
    }
    if ((h.api_version >> 16) != (dev_api >> 16)) {
        return ZK_BOOT_ERR_API;
    }
    return ZK_BOOT_ERR_NONE;
}

uint32_t zk_fw_cap(const struct zk_fw_header *hdr, uint32_t id,
                   uint32_t dflt)
{
    uint32_t n = hdr->num_caps < ZK_FW_MAX_CAPS ? hdr->num_caps
                                                : ZK_FW_MAX_CAPS;

    for (uint32_t i = 0; i < n; i++) {
        if (hdr->caps[i].id == id && id != ZK_FW_CAP_NONE) {
            return hdr->caps[i].value;
        }
    }
    return dflt;
}
