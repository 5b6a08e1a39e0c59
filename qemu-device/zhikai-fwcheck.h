/* SPDX-License-Identifier: MIT */
/*
 * zhikai-fwcheck.h - firmware image validation, independent of QEMU.
 *
 * Used by the device model at boot and by the host unit tests (and any
 * tool that wants to check an image the way the card does).
 */
#ifndef ZHIKAI_FWCHECK_H
#define ZHIKAI_FWCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "zhikai_hw.h"

/*
 * Validate a firmware image of len bytes (len = the FW_SIZE register).
 * Checks, in this order (the first failure is returned):
 *   ZK_BOOT_ERR_MAGIC  len < 4 is SIZE; magic != ZK_FW_MAGIC
 *   ZK_BOOT_ERR_SIZE   len < sizeof(header), len > ZK_FW_MAX_SIZE,
 *                      header_size < sizeof(header) or not a multiple of 8,
 *                      image_size != len, header_size > image_size,
 *                      num_caps > ZK_FW_MAX_CAPS
 *   ZK_BOOT_ERR_MAGIC  reserved != 0 (not a header this device understands)
 *   ZK_BOOT_ERR_CRC    zlib crc32 of the payload (image_size - header_size
 *                      bytes at header_size) != payload_crc32
 *   ZK_BOOT_ERR_API    api_version >> 16 != dev_api >> 16
 * Returns ZK_BOOT_ERR_NONE (0) on success; hdr_out (may be NULL) receives a
 * little-endian-decoded copy of the header whenever len >= sizeof(header).
 */
int zk_fw_check(const void *img, size_t len, uint32_t dev_api,
                struct zk_fw_header *hdr_out);

/* Value of capability id in a checked header, or dflt when absent. */
uint32_t zk_fw_cap(const struct zk_fw_header *hdr, uint32_t id,
                   uint32_t dflt);

/* CRC32 (IEEE, as zlib's crc32()) of a buffer. */
uint32_t zk_fw_crc32(const void *buf, size_t len);

#endif /* ZHIKAI_FWCHECK_H */
