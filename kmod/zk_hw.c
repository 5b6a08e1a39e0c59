// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_hw.c - register access helpers and basic hardware programming.
 */
#include <linux/delay.h>
#include <linux/iopoll.h>

#include "zk_drv.h"

/*
 * 64-bit counter whose LO read latches HI (energy, timestamps, queue
 * fences, the CARD_* model counters).  A latch serves one counter or a
 * group: two readers interleaving LO, LO, HI, HI would both get the later
 * HI, so every latched pair is read under one lock.
 */
u64 zk_rd64_latched(struct zk_device *zdev, u32 lo)
{
	unsigned long flags;
	u32 l, h;

	spin_lock_irqsave(&zdev->latch_lock, flags);
	l = zk_rd(zdev, lo);
	h = zk_rd(zdev, lo + 4);
	spin_unlock_irqrestore(&zdev->latch_lock, flags);
	return ((u64)h << 32) | l;
}

/* 64-bit pair that does not move while read (sizes, fault addresses). */
u64 zk_rd64(struct zk_device *zdev, u32 lo)
{
	u32 l = zk_rd(zdev, lo);

	return ((u64)zk_rd(zdev, lo + 4) << 32) | l;
}

/* Poll ZK_REG_STATUS until it reads @state; -EIO on ERROR, -ETIMEDOUT. */
int zk_hw_wait_state(struct zk_device *zdev, u32 state, unsigned int ms)
{
	u32 s;
	int ret;

	ret = read_poll_timeout(zk_rd, s, s == state || s == 0xffffffff ||
				(s == ZK_STATE_ERROR && state != ZK_STATE_ERROR),
				1000, ms * USEC_PER_MSEC, false, zdev,
				ZK_REG_STATUS);
	if (s == state)
		return 0;
	if (s == 0xffffffff)
		return -ENODEV;
	return ret ? ret : -EIO;
}

void zk_hw_irq_enable(struct zk_device *zdev, bool on)
{
	u32 mask = 0;

	if (on)
		mask = GENMASK(zdev->num_queues - 1, 0) | ZK_IRQ_FAULT |
		       ZK_IRQ_EVENT;
	zk_wr(zdev, ZK_REG_IRQ_MASK, mask);
	if (!on)
		zk_wr(zdev, ZK_REG_IRQ_STATUS, 0xffffffff);
}

void zk_hw_queue_stop(struct zk_queue *q)
{
	zk_qwr(q, ZK_Q_CTRL, 0);
	zk_qwr(q, ZK_Q_CTRL, ZK_QCTRL_RESET);
}

/* Program and enable one queue; the caller has reset q->head/tail. */
void zk_hw_queue_start(struct zk_queue *q)
{
	zk_qwr(q, ZK_Q_CTRL, 0);
	zk_qwr(q, ZK_Q_CTRL, ZK_QCTRL_RESET);
	zk_qwr(q, ZK_Q_BASE_LO, lower_32_bits(q->ring_dma));
	zk_qwr(q, ZK_Q_BASE_HI, upper_32_bits(q->ring_dma));
	zk_qwr(q, ZK_Q_SIZE, ZK_RING_SIZE);
	zk_qwr(q, ZK_Q_FENCE_WB_LO,
	       lower_32_bits(q->aux_dma + ZK_AUX_FENCE_WB));
	zk_qwr(q, ZK_Q_FENCE_WB_HI,
	       upper_32_bits(q->aux_dma + ZK_AUX_FENCE_WB));
	zk_qwr(q, ZK_Q_CTRL, ZK_QCTRL_ENABLE);
	q->fault_count = zk_qrd(q, ZK_Q_FAULT_COUNT);
	if (!(zk_qrd(q, ZK_Q_STATUS) & ZK_QSTAT_ENABLED))
		drm_warn(&q->zdev->drm, "queue %u did not enable\n", q->idx);
}

/* Identify the device and read its fixed configuration. */
int zk_hw_probe_regs(struct zk_device *zdev)
{
	struct drm_device *drm = &zdev->drm;
	u32 id = zk_rd(zdev, ZK_REG_ID);

	if (id != ZK_ID_MAGIC) {
		drm_err(drm, "bad device id 0x%08x (expected 0x%08x)\n",
			id, ZK_ID_MAGIC);
		return -ENODEV;
	}
	zdev->hw_version = zk_rd(zdev, ZK_REG_VERSION);
	zdev->api_version = zk_rd(zdev, ZK_REG_API_VERSION);
	if ((zdev->api_version >> 16) != ZK_API_VERSION_MAJOR) {
		drm_err(drm, "device API %u.%u not supported (driver %u.%u)\n",
			zdev->api_version >> 16, zdev->api_version & 0xffff,
			ZK_API_VERSION_MAJOR, ZK_API_VERSION_MINOR);
		return -ENODEV;
	}
	zdev->caps = zk_rd(zdev, ZK_REG_CAPS);
	zdev->hbm_size = zk_rd64(zdev, ZK_REG_HBM_SIZE_LO);
	zdev->hbm_stacks = zk_rd(zdev, ZK_REG_HBM_STACKS);
	zdev->num_queues = zk_rd(zdev, ZK_REG_NUM_QUEUES);
	/* Devices before the register read 0 there: one unit. */
	zdev->compute_units = max(zk_rd(zdev, ZK_REG_COMPUTE_UNITS), 1u);
	zdev->num_vectors = zk_rd(zdev, ZK_REG_NUM_VECTORS);
	zdev->clock_max_mhz = zk_rd(zdev, ZK_REG_CLOCK_MAX_MHZ);
	zdev->power_cap_min_mw = zk_rd(zdev, ZK_REG_POWER_CAP_MIN_MW);
	zdev->power_cap_max_mw = zk_rd(zdev, ZK_REG_POWER_CAP_MAX_MW);

	if (!zdev->num_queues || zdev->num_queues > ZK_MAX_QUEUES) {
		drm_err(drm, "bad queue count %u\n", zdev->num_queues);
		return -ENODEV;
	}
	if (zdev->num_vectors < ZK_MSIX_VECTORS) {
		drm_err(drm, "device has %u MSI-X vectors, need %u\n",
			zdev->num_vectors, ZK_MSIX_VECTORS);
		return -ENODEV;
	}
	if (!(zdev->caps & ZK_CAP_MMU)) {
		drm_err(drm, "device has no MMU (caps 0x%x)\n", zdev->caps);
		return -ENODEV;
	}
	return 0;
}
