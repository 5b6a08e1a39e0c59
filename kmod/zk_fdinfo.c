// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_fdinfo.c - DRM client usage stats in /proc/<pid>/fdinfo/<fd>
 * (Documentation/gpu/drm-usage-stats.rst), so generic per-process GPU
 * monitors (gputop, nvtop) and zksmi's process list see a zhikai client:
 *
 *   drm-driver, drm-pdev, drm-client-id (the context id, unique per card),
 *   drm-engine-q<N>: busy ns of the client's jobs on hardware queue N,
 *   drm-total-<region> / drm-resident-<region>: BO memory, regions "hbm"
 *   and "system" (pinned host BOs: always resident).
 *
 * Printed by the driver itself on every kernel it builds for (6.1 has no
 * drm_show_fdinfo()), so the keys are the same everywhere.
 */
#include <linux/seq_file.h>

#include "zk_drv.h"

void zk_show_fdinfo(struct seq_file *m, struct file *f)
{
	struct drm_file *file = f->private_data;
	struct zk_ctx *ctx = file ? file->driver_priv : NULL;
	struct zk_device *zdev;
	u64 hbm = 0, sys = 0;
	struct zk_bo *bo;
	u32 i;

	if (!ctx)
		return;
	zdev = ctx->zdev;
	mutex_lock(&ctx->lock);
	list_for_each_entry(bo, &ctx->bos, ctx_link) {
		if (zk_bo_is_hbm(bo))
			hbm += bo->size;
		else
			sys += bo->size;
	}
	mutex_unlock(&ctx->lock);

	seq_printf(m, "drm-driver:\t%s\n", ZK_DRIVER_NAME);
	seq_printf(m, "drm-pdev:\t%s\n", pci_name(zdev->pdev));
	seq_printf(m, "drm-client-id:\t%u\n", ctx->id);
	for (i = 0; i < zdev->num_queues; i++)
		seq_printf(m, "drm-engine-q%u:\t%llu ns\n", i,
			   (u64)atomic64_read(&ctx->busy_ns[i]));
	seq_printf(m, "drm-total-hbm:\t%llu KiB\n", hbm >> 10);
	seq_printf(m, "drm-resident-hbm:\t%llu KiB\n", hbm >> 10);
	seq_printf(m, "drm-total-system:\t%llu KiB\n", sys >> 10);
	seq_printf(m, "drm-resident-system:\t%llu KiB\n", sys >> 10);
}
