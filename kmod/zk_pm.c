// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_pm.c - power management: system sleep and runtime PM.
 *
 * Runtime PM with autosuspend: after autosuspend_ms without a user the card
 * goes to D3hot, where it draws its D3 power, its firmware and engine are
 * off and its BARs closed; HBM keeps its contents, so contexts, page tables
 * and BOs stay as they are.  A user is an ioctl, a fault on an HBM mapping,
 * a sysfs/hwmon/debugfs access, driver work on the card (BO reaping), and
 * every job from SUBMIT until it is freed: the card never sleeps with work
 * queued in drm_sched or on a ring.  Back in D0 the firmware is booted
 * again (zk_hw_power_up()).  User mappings of HBM are zapped on suspend and
 * fault back in, waking the card.
 */
#include <linux/pm_runtime.h>

#include <drm/drm_file.h>

#include "zk_drv.h"

int zk_autosuspend_ms = 2000;
module_param_named(autosuspend_ms, zk_autosuspend_ms, int, 0444);
MODULE_PARM_DESC(autosuspend_ms, "Idle time before the card is runtime-suspended to D3hot, ms (negative: never; default 2000; also power/autosuspend_delay_ms)");

static struct zk_device *zk_pm_zdev(struct device *dev)
{
	return to_zk_device(dev_get_drvdata(dev));
}

/* Wake the card (if needed) and keep it awake until zk_pm_put(). */
int zk_pm_get(struct zk_device *zdev)
{
	int ret = pm_runtime_resume_and_get(zdev->drm.dev);

	return ret < 0 ? ret : 0;
}

/* Done with the card: it may sleep once autosuspend_ms have passed. */
void zk_pm_put(struct zk_device *zdev)
{
	pm_runtime_mark_last_busy(zdev->drm.dev);
	pm_runtime_put_autosuspend(zdev->drm.dev);
}

/* A reference only if the card is awake (the heartbeat check). */
bool zk_pm_get_if_awake(struct zk_device *zdev)
{
	return zk_pm_runtime_get_if_active(zdev->drm.dev) > 0;
}

/* Another reference on an awake card (a job, under an ioctl's reference). */
void zk_pm_get_noresume(struct zk_device *zdev)
{
	pm_runtime_get_noresume(zdev->drm.dev);
}

/* drm_dev_enter() and an awake card: sysfs, hwmon and debugfs accesses. */
bool zk_dev_enter(struct zk_device *zdev, int *idx)
{
	if (!drm_dev_enter(&zdev->drm, idx))
		return false;
	if (zk_pm_get(zdev)) {
		drm_dev_exit(*idx);
		return false;
	}
	return true;
}

void zk_dev_exit(struct zk_device *zdev, int idx)
{
	zk_pm_put(zdev);
	drm_dev_exit(idx);
}

/* End of probe: the PCI core's reference goes, the card may now sleep. */
void zk_pm_enable(struct zk_device *zdev)
{
	struct device *dev = zdev->drm.dev;

	pm_runtime_set_autosuspend_delay(dev, zk_autosuspend_ms);
	pm_runtime_use_autosuspend(dev);
	pm_runtime_mark_last_busy(dev);
	if (zk_autosuspend_ms >= 0)
		pm_runtime_allow(dev);
	pm_runtime_put_autosuspend(dev);
}

/* Start of remove: awake for good (the PCI core drops the reference). */
void zk_pm_disable(struct zk_device *zdev)
{
	struct device *dev = zdev->drm.dev;

	pm_runtime_get_sync(dev);
	pm_runtime_forbid(dev);
	pm_runtime_dont_use_autosuspend(dev);
}

static int zk_pm_runtime_suspend(struct device *dev)
{
	struct zk_device *zdev = zk_pm_zdev(dev);
	struct drm_device *drm = &zdev->drm;
	int ret;

	ret = zk_hw_power_down(zdev);
	if (ret)
		return ret;
	/* The HBM BAR closes: user mappings fault (and wake the card) again. */
	if (drm->anon_inode)
		unmap_mapping_range(drm->anon_inode->i_mapping, 0, 0, 1);
	drm_dbg_driver(drm, "runtime suspended\n");
	return 0;
}

static int zk_pm_runtime_resume(struct device *dev)
{
	struct zk_device *zdev = zk_pm_zdev(dev);

	drm_dbg_driver(&zdev->drm, "runtime resume\n");
	return zk_hw_power_up(zdev);
}

/*
 * System sleep: jobs on the hardware get up to 2 s to finish, then the card
 * stops; on resume (it may have lost power) the firmware is booted again
 * and what did not finish ends ABORTED.  Queued jobs wait in drm_sched.  A
 * runtime-suspended card is resumed by the PCI core before this runs.
 */
static int zk_pm_suspend(struct device *dev)
{
	zk_hw_stop(zk_pm_zdev(dev), 2000);
	return 0;
}

static int zk_pm_resume(struct device *dev)
{
	zk_hw_restart(zk_pm_zdev(dev), "resume");
	return 0;
}

const struct dev_pm_ops zk_pm_ops = {
	SYSTEM_SLEEP_PM_OPS(zk_pm_suspend, zk_pm_resume)
	RUNTIME_PM_OPS(zk_pm_runtime_suspend, zk_pm_runtime_resume, NULL)
};
