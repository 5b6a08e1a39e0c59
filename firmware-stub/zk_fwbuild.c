/* SPDX-License-Identifier: MIT */
/*
 * zk_fwbuild.c - firmware image builder (see zk_fwbuild.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zhikai_isa.h"
#include "zk_fwbuild.h"
#include "zhikai-fwcheck.h"    /* zk_fw_crc32: the device's own CRC */

static const char *const corrupt_names[ZK_FW_CORRUPT_COUNT] = {
    [ZK_FW_OK] = "none",
    [ZK_FW_BAD_CRC] = "crc",
    [ZK_FW_BAD_MAGIC] = "magic",
    [ZK_FW_BAD_API] = "api",
    [ZK_FW_TRUNCATED] = "truncate",
    [ZK_FW_OVERSIZE] = "oversize",
    [ZK_FW_BAD_HEADER_SIZE] = "header-size",
    [ZK_FW_BAD_RESERVED] = "reserved",
};

const char *zk_fw_corrupt_name(enum zk_fw_corrupt c)
{
    return (unsigned)c < ZK_FW_CORRUPT_COUNT ? corrupt_names[c] : "?";
}

int zk_fw_corrupt_parse(const char *name)
{
    for (int i = 0; i < ZK_FW_CORRUPT_COUNT; i++) {
        if (strcmp(name, corrupt_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

void zk_fw_opts_default(struct zk_fw_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->image_version = 1u << 16;
    o->api_version = ZK_API_VERSION;
    zk_fw_opts_set_cap(o, ZK_FW_CAP_QUEUES, ZK_MAX_QUEUES);
    zk_fw_opts_set_cap(o, ZK_FW_CAP_HEARTBEAT_MS, 100);
    zk_fw_opts_set_cap(o, ZK_FW_CAP_ISA_VERSION, ZK_ISA_VERSION);
}

int zk_fw_opts_set_cap(struct zk_fw_opts *o, uint32_t id, uint32_t value)
{
    for (uint32_t i = 0; i < o->num_caps && i < ZK_FW_MAX_CAPS; i++) {
        if (o->caps[i].id == id) {
            o->caps[i].value = value;
            return 0;
        }
    }
    if (o->num_caps >= ZK_FW_MAX_CAPS) {
        return -1;
    }
    o->caps[o->num_caps].id = id;
    o->caps[o->num_caps].value = value;
    o->num_caps++;
    return 0;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = v;
    p[1] = v >> 8;
    p[2] = v >> 16;
    p[3] = v >> 24;
}

int zk_fw_build(const void *payload, size_t len, const struct zk_fw_opts *o,
                uint8_t **out, size_t *out_len)
{
    const size_t hsz = sizeof(struct zk_fw_header);
    size_t total, file_len, copy_len = len;
    uint32_t api, crc;
    uint8_t *img;

    if (!o || !out || !out_len || (len && !payload) ||
        o->num_caps > ZK_FW_MAX_CAPS ||
        (unsigned)o->corrupt >= ZK_FW_CORRUPT_COUNT) {
        errno = EINVAL;
        return -1;
    }
    if (o->corrupt == ZK_FW_OVERSIZE && len + hsz <= ZK_FW_MAX_SIZE) {
        len = ZK_FW_MAX_SIZE - hsz + 4096;      /* pad with zeroes */
    }
    if (len > UINT32_MAX - hsz) {
        errno = EFBIG;
        return -1;
    }
    total = hsz + len;
    img = calloc(1, total);
    if (!img) {
        return -1;
    }
    if (payload && copy_len) {
        /* An oversize image keeps the caller's payload at its start. */
        memcpy(img + hsz, payload, copy_len);
    }
    crc = zk_fw_crc32(img + hsz, len);
    api = o->api_version;

    put_le32(img + 0, ZK_FW_MAGIC);
    put_le32(img + 4, hsz);
    put_le32(img + 8, o->image_version);
    put_le32(img + 12, api);
    put_le32(img + 16, total);
    put_le32(img + 20, crc);
    put_le32(img + 24, o->num_caps);
    put_le32(img + 28, 0);
    for (uint32_t i = 0; i < o->num_caps; i++) {
        put_le32(img + 32 + 8 * i, o->caps[i].id);
        put_le32(img + 36 + 8 * i, o->caps[i].value);
    }

    file_len = total;
    switch (o->corrupt) {
    case ZK_FW_OK:
    case ZK_FW_OVERSIZE:
        break;
    case ZK_FW_BAD_CRC:
        put_le32(img + 20, crc ^ 1);
        break;
    case ZK_FW_BAD_MAGIC:
        put_le32(img + 0, ZK_FW_MAGIC ^ 0x20202020);
        break;
    case ZK_FW_BAD_API:
        put_le32(img + 12, api + (1u << 16));
        break;
    case ZK_FW_TRUNCATED:
        /* Header and CRC describe the full image; the file is cut. */
        file_len = total > hsz + 16 ? total - 16 : hsz - 8;
        break;
    case ZK_FW_BAD_HEADER_SIZE:
        put_le32(img + 4, hsz - 8);
        break;
    case ZK_FW_BAD_RESERVED:
        put_le32(img + 28, 0xdeadbeef);
        break;
    default:
        break;
    }
    *out = img;
    *out_len = file_len;
    return 0;
}
