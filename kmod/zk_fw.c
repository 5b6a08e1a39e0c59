// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_fw.c - firmware loading, validation and boot.
 *
 * The image (include/zhikai_hw.h: struct zk_fw_header + payload) is checked
 * on the host first so that a bad file gives a clear error instead of a
 * device boot error, then copied to DMA memory that stays allocated for
 * reloads after a device reset.
 */
#include <linux/crc32.h>
#include <linux/dma-mapping.h>
#include <linux/firmware.h>

#include "zk_drv.h"

static const char *const zk_boot_errors[] = {
	[ZK_BOOT_ERR_NONE] = "no error",
	[ZK_BOOT_ERR_MAGIC] = "bad magic",
	[ZK_BOOT_ERR_SIZE] = "bad size",
	[ZK_BOOT_ERR_CRC] = "payload CRC mismatch",
	[ZK_BOOT_ERR_API] = "API version mismatch",
	[ZK_BOOT_ERR_DMA] = "image DMA failed",
	[ZK_BOOT_ERR_HANG] = "firmware hang",
	[ZK_BOOT_ERR_STATE] = "BOOT while not in reset",
};

static int zk_fw_validate(struct zk_device *zdev, const struct firmware *fw)
{
	struct drm_device *drm = &zdev->drm;
	const struct zk_fw_header *h = (const void *)fw->data;
	u32 crc, i;

	if (fw->size < sizeof(*h)) {
		drm_err(drm, "firmware %s: %zu bytes, smaller than its %zu-byte header\n",
			zk_fw_name, fw->size, sizeof(*h));
		return -EINVAL;
	}
	if (fw->size > ZK_FW_MAX_SIZE) {
		drm_err(drm, "firmware %s: %zu bytes, larger than the %u-byte maximum\n",
			zk_fw_name, fw->size, ZK_FW_MAX_SIZE);
		return -EINVAL;
	}
	if (get_unaligned_le32(&h->magic) != ZK_FW_MAGIC) {
		drm_err(drm, "firmware %s: bad magic 0x%08x (expected 0x%08x)\n",
			zk_fw_name, get_unaligned_le32(&h->magic), ZK_FW_MAGIC);
		return -EINVAL;
	}
	if (get_unaligned_le32(&h->header_size) != sizeof(*h)) {
		drm_err(drm, "firmware %s: header_size %u (expected %zu)\n",
			zk_fw_name, get_unaligned_le32(&h->header_size), sizeof(*h));
		return -EINVAL;
	}
	if (get_unaligned_le32(&h->image_size) != fw->size) {
		drm_err(drm, "firmware %s: image_size %u but the file has %zu bytes\n",
			zk_fw_name, get_unaligned_le32(&h->image_size), fw->size);
		return -EINVAL;
	}
	if (get_unaligned_le32(&h->num_caps) > ZK_FW_MAX_CAPS || h->reserved) {
		drm_err(drm, "firmware %s: bad header (num_caps %u, reserved 0x%x)\n",
			zk_fw_name, get_unaligned_le32(&h->num_caps),
			get_unaligned_le32(&h->reserved));
		return -EINVAL;
	}
	if ((get_unaligned_le32(&h->api_version) >> 16) != ZK_API_VERSION_MAJOR) {
		drm_err(drm, "firmware %s: built for API %u.%u, driver speaks %u.%u\n",
			zk_fw_name, get_unaligned_le32(&h->api_version) >> 16,
			get_unaligned_le32(&h->api_version) & 0xffff,
			ZK_API_VERSION_MAJOR, ZK_API_VERSION_MINOR);
		return -EINVAL;
	}
	crc = ~crc32_le(~0u, fw->data + sizeof(*h), fw->size - sizeof(*h));
	if (crc != get_unaligned_le32(&h->payload_crc32)) {
		drm_err(drm, "firmware %s: payload CRC32 0x%08x, header says 0x%08x\n",
			zk_fw_name, crc, get_unaligned_le32(&h->payload_crc32));
		return -EINVAL;
	}

	for (i = 0; i < get_unaligned_le32(&h->num_caps); i++) {
		u32 id = get_unaligned_le32(&h->caps[i].id);
		u32 val = get_unaligned_le32(&h->caps[i].value);

		if (id == ZK_FW_CAP_QUEUES && val && val < zdev->num_queues) {
			/* The device refuses to enable the others. */
			drm_info(drm, "firmware drives %u of %u queues\n",
				 val, zdev->num_queues);
			zdev->num_queues = val;
		}
	}
	return 0;
}

/* Boot the image in fw_cpu/fw_dma; the device must be in ZK_STATE_RESET. */
int zk_fw_boot(struct zk_device *zdev)
{
	struct drm_device *drm = &zdev->drm;
	u32 state = zk_rd(zdev, ZK_REG_STATUS);
	u32 err;
	int ret;

	if (state != ZK_STATE_RESET) {
		/* Left running by a previous driver instance: start over. */
		zk_wr(zdev, ZK_REG_RESET, ZK_RESET_DEVICE);
		ret = zk_hw_wait_state(zdev, ZK_STATE_RESET, 1000);
		if (ret) {
			drm_err(drm, "device stuck in state %u, cannot reset it\n",
				zk_rd(zdev, ZK_REG_STATUS));
			return ret;
		}
	}
	/* A device reset unmasks every interrupt: masked until queues run. */
	zk_hw_irq_enable(zdev, false);

	zk_wr(zdev, ZK_REG_FW_ADDR_LO, lower_32_bits(zdev->fw_dma));
	zk_wr(zdev, ZK_REG_FW_ADDR_HI, upper_32_bits(zdev->fw_dma));
	zk_wr(zdev, ZK_REG_FW_SIZE, zdev->fw_size);
	zk_wr(zdev, ZK_REG_BOOT, ZK_BOOT_KEY);

	ret = zk_hw_wait_state(zdev, ZK_STATE_READY, zk_fw_boot_timeout_ms);
	if (ret == -EIO) {
		err = zk_rd(zdev, ZK_REG_BOOT_ERROR);
		drm_err(drm, "firmware %s: device rejected the image: %s (boot error %u)\n",
			zk_fw_name,
			err < ARRAY_SIZE(zk_boot_errors) ? zk_boot_errors[err] :
			"unknown", err);
		return ret;
	}
	if (ret) {
		drm_err(drm, "firmware %s: not READY after %u ms (state %u, boot error %u)\n",
			zk_fw_name, zk_fw_boot_timeout_ms,
			zk_rd(zdev, ZK_REG_STATUS),
			zk_rd(zdev, ZK_REG_BOOT_ERROR));
		return ret;
	}
	zdev->hb_last = zk_rd(zdev, ZK_REG_HEARTBEAT);
	zdev->hb_last_change = jiffies;
	return 0;
}

/* Fetch, validate and boot the firmware; everything is device-managed. */
int zk_fw_init(struct zk_device *zdev)
{
	struct drm_device *drm = &zdev->drm;
	const struct firmware *fw;
	u32 running;
	int ret;

	ret = request_firmware(&fw, zk_fw_name, &zdev->pdev->dev);
	if (ret) {
		drm_err(drm, "firmware %s: not found (%d); install it under /lib/firmware or set fw_name=\n",
			zk_fw_name, ret);
		return ret;
	}
	ret = zk_fw_validate(zdev, fw);
	if (ret)
		goto out;

	zdev->fw_size = fw->size;
	zdev->fw_cpu = dmam_alloc_coherent(&zdev->pdev->dev, fw->size,
					   &zdev->fw_dma, GFP_KERNEL);
	if (!zdev->fw_cpu) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(zdev->fw_cpu, fw->data, fw->size);

	ret = zk_fw_boot(zdev);
	if (ret)
		goto out;

	running = zk_rd(zdev, ZK_REG_FW_VERSION);
	drm_info(drm, "firmware %s %u.%u.%u running\n", zk_fw_name,
		 running >> 16, (running >> 8) & 0xff, running & 0xff);
out:
	release_firmware(fw);
	return ret;
}
