// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_drv.c - PCI probe/remove, DRM registration, ioctl table, GET_PARAM.
 *
 * Driver for the Zhikai-class inference card (include/zhikai_hw.h).  On
 * kernels with the DRM accel subsystem it registers /dev/accel/accelN,
 * elsewhere a render node.  uapi: include/uapi/drm/zhikai_accel.h.
 */
#include <linux/dma-mapping.h>
#include <linux/compat.h>
#include <linux/firmware.h>
#include <linux/module.h>
#include <linux/pci.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_managed.h>
#include <drm/drm_prime.h>
#include <drm/drm_syncobj.h>

#include "zk_drv.h"

#if ZK_HAVE_ACCEL
#include <drm/drm_accel.h>
#endif

#define ZK_DEFAULT_FW	"zhikai/zk100.bin"

char *zk_fw_name = ZK_DEFAULT_FW;
module_param_named(fw_name, zk_fw_name, charp, 0444);
MODULE_PARM_DESC(fw_name, "Firmware image to load (default " ZK_DEFAULT_FW ")");

unsigned int zk_job_timeout_ms = 2000;
module_param_named(job_timeout_ms, zk_job_timeout_ms, uint, 0444);
MODULE_PARM_DESC(job_timeout_ms, "Job timeout before an engine reset, ms (0 = none; default 2000)");

unsigned int zk_fw_boot_timeout_ms = 5000;
module_param_named(fw_boot_timeout_ms, zk_fw_boot_timeout_ms, uint, 0444);
MODULE_PARM_DESC(fw_boot_timeout_ms, "Time the firmware gets to become READY, ms (default 5000)");

unsigned long zk_ctx_mem_limit_mb;
module_param_named(ctx_mem_limit_mb, zk_ctx_mem_limit_mb, ulong, 0644);
MODULE_PARM_DESC(ctx_mem_limit_mb, "Per-context BO memory limit (HBM + host), MiB (0 = unlimited)");

unsigned long zk_ctx_hbm_limit_mb;
module_param_named(ctx_hbm_limit_mb, zk_ctx_hbm_limit_mb, ulong, 0644);
MODULE_PARM_DESC(ctx_hbm_limit_mb, "Per-context HBM BO limit, MiB (0 = unlimited)");

unsigned long zk_ctx_host_limit_mb;
module_param_named(ctx_host_limit_mb, zk_ctx_host_limit_mb, ulong, 0644);
MODULE_PARM_DESC(ctx_host_limit_mb, "Per-context pinned host BO limit, MiB (0 = half of system RAM)");

unsigned int zk_ctx_pt_pct = 25;
module_param_named(ctx_pt_pct, zk_ctx_pt_pct, uint, 0644);
MODULE_PARM_DESC(ctx_pt_pct, "Share of the page-table pool one context may use, percent (default 25)");

unsigned int zk_user_pt_pct = 50;
module_param_named(user_pt_pct, zk_user_pt_pct, uint, 0644);
MODULE_PARM_DESC(user_pt_pct, "Share of the page-table pool the contexts of one user (euid) may use together, percent (default 50)");

unsigned int zk_pt_pool_mb = 16;
module_param_named(pt_pool_mb, zk_pt_pool_mb, uint, 0444);
MODULE_PARM_DESC(pt_pool_mb, "HBM reserved for device page tables, MiB (default 16)");

unsigned int zk_heartbeat_timeout_ms = 10000;
module_param_named(heartbeat_timeout_ms, zk_heartbeat_timeout_ms, uint, 0444);
MODULE_PARM_DESC(heartbeat_timeout_ms, "Device reset when the firmware heartbeat stalls this long, ms (0 = off; default 10000)");

bool zk_cmd_addr_check = true;
module_param_named(cmd_addr_check, zk_cmd_addr_check, bool, 0644);
MODULE_PARM_DESC(cmd_addr_check, "Reject commands addressing memory outside the context's BOs at submit (default on; the device MMU still faults)");

bool zk_zero_hbm = true;
module_param_named(zero_hbm, zk_zero_hbm, bool, 0644);
MODULE_PARM_DESC(zero_hbm, "Clear new HBM BOs (default on)");

unsigned int zk_hang_ban_limit = 3;
module_param_named(hang_ban_limit, zk_hang_ban_limit, uint, 0644);
MODULE_PARM_DESC(hang_ban_limit, "Ban a context (SUBMIT fails with -EIO) after it caused this many job timeouts (0 = never; default 3)");

unsigned int zk_ctx_max_jobs = 512;
module_param_named(ctx_max_jobs, zk_ctx_max_jobs, uint, 0644);
MODULE_PARM_DESC(ctx_max_jobs, "Jobs one context may have in flight; SUBMIT blocks (O_NONBLOCK: EBUSY) beyond (0 = no cap; default 512)");

struct workqueue_struct *zk_wq;

/* ---------------------------------------------------------------- */

static int zk_get_param_ioctl(struct drm_device *dev, void *data,
			      struct drm_file *file)
{
	struct zk_device *zdev = to_zk_device(dev);
	struct zk_ctx *ctx = file->driver_priv;
	struct drm_zhikai_get_param *args = data;
	int idx;

	if (args->reserved)
		return -EINVAL;
	if (!drm_dev_enter(dev, &idx))
		return -ENODEV;

	switch (args->param) {
	case DRM_ZHIKAI_PARAM_DEVICE_ID:
		args->value = zdev->pdev->device;
		break;
	case DRM_ZHIKAI_PARAM_REVISION:
		args->value = zdev->pdev->revision;
		break;
	case DRM_ZHIKAI_PARAM_HW_VERSION:
		args->value = zdev->hw_version;
		break;
	case DRM_ZHIKAI_PARAM_HBM_SIZE:
		args->value = zdev->hbm_size;
		break;
	case DRM_ZHIKAI_PARAM_HBM_STACKS:
		args->value = zdev->hbm_stacks;
		break;
	case DRM_ZHIKAI_PARAM_NUM_QUEUES:
		args->value = zdev->num_queues;
		break;
	case DRM_ZHIKAI_PARAM_FW_VERSION:
		args->value = zk_rd(zdev, ZK_REG_FW_VERSION);
		break;
	case DRM_ZHIKAI_PARAM_API_VERSION:
		args->value = zdev->api_version;
		break;
	case DRM_ZHIKAI_PARAM_CAPS:
		args->value = zdev->caps;
		break;
	case DRM_ZHIKAI_PARAM_CLOCK_MAX_MHZ:
		args->value = zdev->clock_max_mhz;
		break;
	case DRM_ZHIKAI_PARAM_HBM_USED:
		args->value = zk_hbm_used(zdev);
		break;
	case DRM_ZHIKAI_PARAM_CTX_MEM_USED:
		mutex_lock(&ctx->lock);
		args->value = ctx->mem_used;
		mutex_unlock(&ctx->lock);
		break;
	case DRM_ZHIKAI_PARAM_CTX_MEM_LIMIT:
		args->value = zk_ctx_mem_limit_mb ?
			      (u64)zk_ctx_mem_limit_mb << 20 : U64_MAX;
		break;
	case DRM_ZHIKAI_PARAM_VA_START:
		args->value = ZK_VA_START;
		break;
	case DRM_ZHIKAI_PARAM_VA_SIZE:
		args->value = ZK_VA_END - ZK_VA_START;
		break;
	case DRM_ZHIKAI_PARAM_TIMESTAMP_NS:
		args->value = zk_rd64_latched(zdev, ZK_REG_TIMESTAMP_LO);
		break;
	case DRM_ZHIKAI_PARAM_CTX_ID:
		args->value = ctx->id;
		break;
	case DRM_ZHIKAI_PARAM_COMPUTE_UNITS:
		args->value = zdev->compute_units;
		break;
	default:
		drm_dev_exit(idx);
		return -EINVAL;
	}
	drm_dev_exit(idx);
	return 0;
}

static int zk_open(struct drm_device *dev, struct drm_file *file)
{
	struct zk_device *zdev = to_zk_device(dev);
	struct zk_ctx *ctx;
	int idx, ret;

	if (!drm_dev_enter(dev, &idx))
		return -ENODEV;
	ctx = zk_ctx_create(zdev);
	if (IS_ERR(ctx)) {
		ret = PTR_ERR(ctx);
		goto out;
	}
	ret = zk_ctx_entities_init(ctx);
	if (ret) {
		zk_ctx_put(ctx);
		goto out;
	}
	file->driver_priv = ctx;
out:
	drm_dev_exit(idx);
	return ret;
}

static void zk_postclose(struct drm_device *dev, struct drm_file *file)
{
	struct zk_ctx *ctx = file->driver_priv;

	/* Waits (bounded) for queued jobs, then kills the rest. */
	zk_ctx_entities_fini(ctx);
	/*
	 * The file's BOs went to the reaper (drm_gem_release runs first);
	 * with nothing left on the hardware that is one invalidate: wait, so
	 * that the memory is free when close() returns, as it was before.
	 */
	if (zk_ctx_is_idle(ctx))
		flush_work(&ctx->reap_work);
	file->driver_priv = NULL;
	zk_ctx_put(ctx);
}

#define ZK_IOCTL(n, f) \
	DRM_IOCTL_DEF_DRV(ZHIKAI_##n, f, DRM_RENDER_ALLOW)

static const struct drm_ioctl_desc zk_ioctls[] = {
	ZK_IOCTL(GET_PARAM, zk_get_param_ioctl),
	ZK_IOCTL(BO_CREATE, zk_bo_create_ioctl),
	ZK_IOCTL(BO_INFO, zk_bo_info_ioctl),
	ZK_IOCTL(SUBMIT, zk_submit_ioctl),
	ZK_IOCTL(WAIT, zk_wait_ioctl),
};

#if ZK_HAVE_ACCEL
DEFINE_DRM_ACCEL_FOPS(zk_drm_fops);
#define ZK_DRIVER_FEATURES	(DRIVER_GEM | DRIVER_COMPUTE_ACCEL | \
				 DRIVER_SYNCOBJ | DRIVER_SYNCOBJ_TIMELINE)
#else
DEFINE_DRM_GEM_FOPS(zk_drm_fops);
#define ZK_DRIVER_FEATURES	(DRIVER_GEM | DRIVER_RENDER | \
				 DRIVER_SYNCOBJ | DRIVER_SYNCOBJ_TIMELINE)
#endif

/*
 * The DRM core's syncobj array ioctls (6.1) kmalloc count_handles entries
 * without __GFP_NOWARN: any client could trigger a page-allocator WARN
 * (fatal with panic_on_warn) with a huge count.  Refuse such counts before
 * the core sees them (found by tests/fuzz/zk_ioctl_fuzz.c).  A racing thread
 * can still change the count after this check; the real fix belongs in
 * drm_syncobj.c.
 */
#define ZK_SYNCOBJ_MAX_HANDLES	BIT(16)

static int zk_syncobj_count_ok(unsigned int cmd, unsigned long arg)
{
	size_t off;
	u32 count;

	/* drm_ioctl() dispatches on the number alone, whatever the size. */
	if (_IOC_TYPE(cmd) != DRM_IOCTL_BASE)
		return 0;
	switch (_IOC_NR(cmd)) {
	case _IOC_NR(DRM_IOCTL_SYNCOBJ_WAIT):
		off = offsetof(struct drm_syncobj_wait, count_handles);
		break;
	case _IOC_NR(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT):
		off = offsetof(struct drm_syncobj_timeline_wait, count_handles);
		break;
	case _IOC_NR(DRM_IOCTL_SYNCOBJ_RESET):
	case _IOC_NR(DRM_IOCTL_SYNCOBJ_SIGNAL):
		off = offsetof(struct drm_syncobj_array, count_handles);
		break;
	case _IOC_NR(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL):
	case _IOC_NR(DRM_IOCTL_SYNCOBJ_QUERY):
		off = offsetof(struct drm_syncobj_timeline_array, count_handles);
		break;
	default:
		return 0;
	}
	/* Bytes the caller does not pass in are zero-filled by drm_ioctl(). */
	if (!(_IOC_DIR(cmd) & _IOC_WRITE) || _IOC_SIZE(cmd) < off + sizeof(count))
		return 0;
	if (get_user(count, (u32 __user *)(arg + off)))
		return -EFAULT;
	return count > ZK_SYNCOBJ_MAX_HANDLES ? -EINVAL : 0;
}

/*
 * GEM_CLOSE hands the BO to its context's reaper (zk_gem.c), which frees
 * the memory once the device cannot reach it any more.  When the context
 * has nothing in flight that is one MMU invalidate away: wait for it, so
 * that a close followed by an allocation finds the memory free again.
 */
static void zk_gem_close_done(struct file *filp, unsigned int cmd)
{
	struct drm_file *file = filp->private_data;
	struct zk_ctx *ctx = file ? file->driver_priv : NULL;

	if (_IOC_TYPE(cmd) == DRM_IOCTL_BASE &&
	    _IOC_NR(cmd) == _IOC_NR(DRM_IOCTL_GEM_CLOSE) && ctx &&
	    zk_ctx_is_idle(ctx))
		flush_work(&ctx->reap_work);
}

/*
 * Every ioctl keeps the card awake while it runs (runtime PM, zk_pm.c):
 * most reach the card's registers or HBM (page tables live there).
 */
static struct zk_device *zk_filp_zdev(struct file *filp)
{
	struct drm_file *file = filp->private_data;

	return to_zk_device(file->minor->dev);
}

static long zk_unlocked_ioctl(struct file *filp, unsigned int cmd,
			      unsigned long arg)
{
	struct zk_device *zdev = zk_filp_zdev(filp);
	long ret = zk_syncobj_count_ok(cmd, arg);

	if (!zk_accel_ioctl_ok(cmd))
		return -EACCES;
	if (ret)
		return ret;
	ret = zk_pm_get(zdev);
	if (ret)
		return ret;
	ret = drm_ioctl(filp, cmd, arg);
	if (!ret)
		zk_gem_close_done(filp, cmd);
	zk_pm_put(zdev);
	return ret;
}

#ifdef CONFIG_COMPAT
static long zk_compat_ioctl(struct file *filp, unsigned int cmd,
			    unsigned long arg)
{
	struct zk_device *zdev = zk_filp_zdev(filp);
	int ret = zk_syncobj_count_ok(cmd, (unsigned long)compat_ptr(arg));
	long ret2;

	if (!zk_accel_ioctl_ok(cmd))
		return -EACCES;
	if (ret)
		return ret;
	ret = zk_pm_get(zdev);
	if (ret)
		return ret;
	ret2 = drm_compat_ioctl(filp, cmd, arg);
	if (!ret2)
		zk_gem_close_done(filp, cmd);
	zk_pm_put(zdev);
	return ret2;
}
#endif

/* zk_drm_fops with the ioctl entry points above; filled in at module init. */
static struct file_operations zk_fops __ro_after_init;

static const struct drm_driver zk_driver = {
	.driver_features = ZK_DRIVER_FEATURES,
	.open = zk_open,
	.postclose = zk_postclose,
	.gem_create_object = zk_gem_create_object,
	/* Host BOs export and import as dma-bufs; HBM BOs refuse (zk_gem.c). */
	.gem_prime_import_sg_table = drm_gem_shmem_prime_import_sg_table,
#if ZK_NEED_PRIME_CALLBACKS
	.prime_handle_to_fd = drm_gem_prime_handle_to_fd,
	.prime_fd_to_handle = drm_gem_prime_fd_to_handle,
	.gem_prime_mmap = drm_gem_prime_mmap,
#endif
#if IS_ENABLED(CONFIG_DEBUG_FS)
	.debugfs_init = zk_debugfs_init,
#endif
	.ioctls = zk_ioctls,
	.num_ioctls = ARRAY_SIZE(zk_ioctls),
	.fops = &zk_fops,
	.name = ZK_DRIVER_NAME,
	.desc = ZK_DRIVER_DESC,
	.date = "20250101",
	.major = 1,
	.minor = 0,
};

/* ---------------------------------------------------------------- */

static void zk_hw_quiesce(struct zk_device *zdev)
{
	u32 i;

	zk_hw_irq_enable(zdev, false);
	for (i = 0; i < zdev->num_queues; i++)
		zk_hw_queue_stop(&zdev->queues[i]);
}

/*
 * drmm actions: schedulers and the HBM allocator live until the last open
 * file (which may still hold entities and BOs) is gone.
 */
static void zk_queues_release(struct drm_device *drm, void *data)
{
	zk_queues_fini(data);
}

static void zk_hbm_release(struct drm_device *drm, void *data)
{
	zk_hbm_fini(data);
}

static void zk_reset_release(void *data)
{
	zk_reset_fini(data);
}

static void zk_quiesce_release(void *data)
{
	struct zk_device *zdev = data;

	if (!zdev->unplugged)
		zk_hw_quiesce(zdev);
}

static int zk_map_bars(struct zk_device *zdev)
{
	struct pci_dev *pdev = zdev->pdev;
	resource_size_t len;
	int ret;

	ret = pcim_iomap_regions(pdev, BIT(ZK_BAR_REGS), ZK_DRIVER_NAME);
	if (ret) {
		drm_err(&zdev->drm, "cannot map BAR%d: %d\n", ZK_BAR_REGS, ret);
		return ret;
	}
	zdev->regs = pcim_iomap_table(pdev)[ZK_BAR_REGS];
	if (pci_resource_len(pdev, ZK_BAR_REGS) < ZK_BAR_REGS_SIZE)
		return -ENODEV;

	zdev->hbm_bar_start = pci_resource_start(pdev, ZK_BAR_HBM);
	len = pci_resource_len(pdev, ZK_BAR_HBM);
	if (!len || !(pci_resource_flags(pdev, ZK_BAR_HBM) & IORESOURCE_MEM)) {
		drm_err(&zdev->drm, "HBM BAR%d missing\n", ZK_BAR_HBM);
		return -ENODEV;
	}
	if (!devm_request_mem_region(&pdev->dev, zdev->hbm_bar_start, len,
				     ZK_DRIVER_NAME "-hbm"))
		return -EBUSY;
	ret = zk_hw_probe_regs(zdev);
	if (ret)
		return ret;
	if (len < zdev->hbm_size) {
		drm_warn(&zdev->drm, "HBM BAR (%llu bytes) smaller than HBM (%llu); using the visible part\n",
			 (u64)len, zdev->hbm_size);
		zdev->hbm_size = len;
	}
	zdev->hbm = devm_ioremap_wc(&pdev->dev, zdev->hbm_bar_start,
				    zdev->hbm_size);
	if (!zdev->hbm)
		return -ENOMEM;
	return 0;
}

static int zk_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct zk_device *zdev;
	struct drm_device *drm;
	struct device *dev = &pdev->dev;
	u32 i;
	int ret;

	zdev = devm_drm_dev_alloc(dev, &zk_driver, struct zk_device, drm);
	if (IS_ERR(zdev))
		return PTR_ERR(zdev);
	drm = &zdev->drm;
	zdev->pdev = pdev;
	pci_set_drvdata(pdev, drm);
	/* Everything an interrupt handler touches, before any can fire. */
	for (i = 0; i < ZK_MAX_QUEUES; i++) {
		struct zk_queue *q = &zdev->queues[i];

		q->zdev = zdev;
		q->idx = i;
		spin_lock_init(&q->lock);
		INIT_LIST_HEAD(&q->inflight);
	}
	spin_lock_init(&zdev->latch_lock);
	xa_init_flags(&zdev->ctx_xa, XA_FLAGS_ALLOC1);
	atomic_set(&zdev->reset_count, 0);

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	pci_set_master(pdev);
	/* What a PTE can hold (ZK_PTE_ADDR_MASK: bits 12..51). */
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(52));
	if (ret)
		return ret;

	ret = zk_map_bars(zdev);
	if (ret)
		return ret;
	ret = devm_add_action_or_reset(dev, zk_quiesce_release, zdev);
	if (ret)
		return ret;

	/* Interrupts stay masked at the device until the queues run. */
	ret = zk_irq_init(zdev);
	if (ret)
		return ret;

	ret = zk_fw_init(zdev);
	if (ret)
		return ret;

	ret = zk_pt_pool_init(zdev);
	if (ret)
		return ret;
	zk_hbm_init(zdev);
	ret = drmm_add_action_or_reset(drm, zk_hbm_release, zdev);
	if (ret)
		return ret;

	ret = drmm_add_action_or_reset(drm, zk_queues_release, zdev);
	if (ret)
		return ret;
	ret = zk_queues_init(zdev);
	if (ret)
		return ret;

	zk_reset_init(zdev);
	ret = devm_add_action_or_reset(dev, zk_reset_release, zdev);
	if (ret)
		return ret;

	for (i = 0; i < zdev->num_queues; i++)
		zk_hw_queue_start(&zdev->queues[i]);
	zk_hw_irq_enable(zdev, true);
	WRITE_ONCE(zdev->hbm_live, true);

	ret = zk_hwmon_init(zdev);
	if (ret)
		return ret;

	ret = drm_dev_register(drm, 0);
	if (ret) {
		drm_err(drm, "drm_dev_register failed: %d\n", ret);
		return ret;
	}
	zk_accel_debugfs_init(drm);
	zk_pm_enable(zdev);
	drm_info(drm, "%s: HBM %llu MiB in %u stacks, %u queues, hw %u.%u, caps 0x%x\n",
		 ZK_DRIVER_DESC, zdev->hbm_size >> 20, zdev->hbm_stacks,
		 zdev->num_queues, zdev->hw_version >> 16,
		 zdev->hw_version & 0xffff, zdev->caps);
	return 0;
}

static void zk_remove(struct pci_dev *pdev)
{
	struct drm_device *drm = pci_get_drvdata(pdev);
	struct zk_device *zdev = to_zk_device(drm);
	u32 i;

	/* Awake from here on: the teardown below talks to the card. */
	zk_pm_disable(zdev);
	WRITE_ONCE(zdev->hbm_live, false);
	drm_dev_unplug(drm);
	zk_reset_fini(zdev);

	/* Stop the hardware, fail what it had, let the schedulers drain. */
	mutex_lock(&zdev->reset_lock);
	for (i = 0; i < zdev->num_queues; i++)
		drm_sched_stop(&zdev->queues[i].sched, NULL);
	zk_hw_quiesce(zdev);
	zdev->unplugged = true;
	for (i = 0; i < zdev->num_queues; i++)
		zk_queue_abort(&zdev->queues[i], DRM_ZHIKAI_JOB_ABORTED);
	for (i = 0; i < zdev->num_queues; i++)
		zk_sched_start(&zdev->queues[i].sched);
	mutex_unlock(&zdev->reset_lock);
	/* No more DMA from the card into memory that is about to be freed. */
	pci_clear_master(pdev);

	/* User mappings of the HBM BAR must not outlive the device. */
	if (drm->anon_inode)
		unmap_mapping_range(drm->anon_inode->i_mapping, 0, 0, 1);

	/*
	 * Finalize the schedulers here, in process context, not when the
	 * last reference to the drm_device drops (that can be a file closed
	 * much later, or work that a scheduler callback queued).  Jobs still
	 * queued in open files' entities are killed first (run_job could
	 * only fail them now); the files keep working as far as close.
	 */
	zk_ctxs_entities_fini(zdev);
	zk_queues_fini(zdev);
}

/* Reboot/kexec: stop the card's DMA and interrupts, nothing else. */
static void zk_shutdown(struct pci_dev *pdev)
{
	struct drm_device *drm = pci_get_drvdata(pdev);
	struct zk_device *zdev;

	if (!drm)
		return;
	zdev = to_zk_device(drm);
	mutex_lock(&zdev->reset_lock);
	if (!zdev->unplugged)
		zk_hw_quiesce(zdev);
	mutex_unlock(&zdev->reset_lock);
	pci_clear_master(pdev);
}

static void zk_reset_prepare(struct pci_dev *pdev)
{
	struct drm_device *drm = pci_get_drvdata(pdev);

	if (drm)
		zk_hw_stop(to_zk_device(drm), 0);
}

static void zk_reset_done(struct pci_dev *pdev)
{
	struct drm_device *drm = pci_get_drvdata(pdev);

	if (drm)
		zk_hw_restart(to_zk_device(drm), "function reset");
}

/* Function resets from outside the driver (sysfs reset, AER). */
static const struct pci_error_handlers zk_err_handlers = {
	.reset_prepare = zk_reset_prepare,
	.reset_done = zk_reset_done,
};

static const struct pci_device_id zk_pci_ids[] = {
	{ PCI_DEVICE(ZK_PCI_VENDOR_ID, ZK_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, zk_pci_ids);

static struct pci_driver zk_pci_driver = {
	.name = ZK_DRIVER_NAME,
	.id_table = zk_pci_ids,
	.probe = zk_probe,
	.remove = zk_remove,
	.shutdown = zk_shutdown,
	.err_handler = &zk_err_handlers,
	.driver.pm = &zk_pm_ops,
	.dev_groups = zk_dev_groups,
};

static int __init zk_init(void)
{
	int ret;

	zk_wq = alloc_workqueue("zhikai", WQ_UNBOUND, 0);
	if (!zk_wq)
		return -ENOMEM;
	zk_fops = zk_drm_fops;
	zk_fops.unlocked_ioctl = zk_unlocked_ioctl;
	zk_fops.show_fdinfo = zk_show_fdinfo;
#ifdef CONFIG_COMPAT
	zk_fops.compat_ioctl = zk_compat_ioctl;
#endif
	ret = pci_register_driver(&zk_pci_driver);
	if (ret)
		destroy_workqueue(zk_wq);
	return ret;
}
module_init(zk_init);

static void __exit zk_exit(void)
{
	pci_unregister_driver(&zk_pci_driver);
	/* Pending BO and context releases (files closed after unbind). */
	destroy_workqueue(zk_wq);
}
module_exit(zk_exit);

MODULE_FIRMWARE(ZK_DEFAULT_FW);
MODULE_AUTHOR("zhikai project");
MODULE_DESCRIPTION(ZK_DRIVER_DESC);
MODULE_LICENSE("GPL");
