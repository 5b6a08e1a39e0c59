// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_reset.c - hang detection and recovery.
 *
 * Hangs are found by the drm_sched job timeout (zk_sched.c) and by a
 * firmware heartbeat that stopped advancing.  Recovery retires what really
 * completed, then resets as little as brings the card back: the hung
 * queue alone, else the engine (every queue), else the whole device with a
 * firmware reload.  The jobs that were on what was reset fail (the guilty
 * one TIMEDOUT, the others ABORTED); the queues are re-armed and the
 * stopped schedulers restarted.
 */
#include <linux/delay.h>
#include <linux/kobject.h>
#include <linux/pm_runtime.h>

#include "zk_drv.h"
#include "zk_trace.h"

#define ZK_RESET_WAIT_MS	1000

void zk_reset_uevent(struct zk_device *zdev, const char *kind)
{
	char event[32];
	char *envp[2] = { event, NULL };

	snprintf(event, sizeof(event), "ZHIKAI_EVENT=%s", kind);
	kobject_uevent_env(&zdev->pdev->dev.kobj, KOBJ_CHANGE, envp);
}

/* Uncorrected memory error: ZHIKAI_EVENT=ras-ue, the HBM offset, the owner. */
void zk_ras_uevent(struct zk_device *zdev, u64 addr, u32 ctx_id)
{
	char event[32], where[40], owner[32];
	char *envp[4] = { event, where, owner, NULL };

	snprintf(event, sizeof(event), "ZHIKAI_EVENT=ras-ue");
	snprintf(where, sizeof(where), "ZHIKAI_RAS_ADDR=0x%llx", addr);
	snprintf(owner, sizeof(owner), "ZHIKAI_RAS_CTX=%u", ctx_id);
	kobject_uevent_env(&zdev->pdev->dev.kobj, KOBJ_CHANGE, envp);
}

static int zk_engine_reset(struct zk_device *zdev)
{
	u32 i;
	int ret;

	zk_wr(zdev, ZK_REG_RESET, ZK_RESET_ENGINE);
	ret = zk_hw_wait_state(zdev, ZK_STATE_READY, ZK_RESET_WAIT_MS);
	if (ret)
		return ret;
	for (i = 0; i < zdev->num_queues; i++) {
		struct zk_queue *q = &zdev->queues[i];

		zk_hw_queue_stop(q);
		if (zk_qrd(q, ZK_Q_STATUS) & (ZK_QSTAT_HUNG | ZK_QSTAT_BUSY))
			return -EBUSY;
	}
	return 0;
}

static int zk_device_reset(struct zk_device *zdev)
{
	int ret;

	zk_wr(zdev, ZK_REG_RESET, ZK_RESET_DEVICE);
	ret = zk_hw_wait_state(zdev, ZK_STATE_RESET, ZK_RESET_WAIT_MS);
	if (ret) {
		drm_err(&zdev->drm, "device reset: still in state %u\n",
			zk_rd(zdev, ZK_REG_STATUS));
		return ret;
	}
	return zk_fw_boot(zdev);
}

/* Retire what the device completed, on every queue. */
static void zk_retire_all(struct zk_device *zdev)
{
	unsigned long flags;
	u32 i;

	for (i = 0; i < zdev->num_queues; i++) {
		struct zk_queue *q = &zdev->queues[i];

		spin_lock_irqsave(&q->lock, flags);
		zk_queue_process(q);
		spin_unlock_irqrestore(&q->lock, flags);
	}
}

/* Restart @q's scheduler with every pending job's own status. */
static void zk_sched_restart(struct zk_queue *q)
{
	zk_sched_reattach_fences(&q->sched);
	zk_sched_start(&q->sched);
}

/*
 * First step for a job timeout: reset only @q (ZK_QCTRL_RESET drops its
 * ring and the command it runs); the other queues keep running.  Returns 0
 * when @q runs again, -EBUSY when the queue did not come back (the caller
 * escalates with @q's scheduler still stopped).  reset_lock held.
 */
static int zk_queue_reset(struct zk_device *zdev, struct zk_queue *q,
			  struct drm_sched_job *bad, const char *why)
{
	u32 st;

	drm_warn(&zdev->drm, "%s on queue %u: queue reset\n", why, q->idx);
	zk_coredump(zdev, q, why);
	zk_hw_queue_stop(q);	/* waits for the device to drop the queue */
	st = zk_qrd(q, ZK_Q_STATUS);
	if (st & (ZK_QSTAT_HUNG | ZK_QSTAT_BUSY)) {
		drm_warn(&zdev->drm, "queue %u: reset failed (status 0x%x)\n",
			 q->idx, st);
		return -EBUSY;
	}
	zk_queue_abort(q, DRM_ZHIKAI_JOB_ABORTED);
	zk_hw_queue_start(q);
	zk_sched_restart(q);
	atomic_inc(&zdev->reset_count);
	trace_zk_reset(ZK_RESET_QUEUE, q->idx, 0);
	return 0;
}

/*
 * Recover from a hang.  @bad/@bad_q: the timed-out job and its queue, or
 * NULL; @level: ZK_RESET_ENGINE or ZK_RESET_DEVICE.  A timed-out job first
 * costs only its own queue a reset; the engine (every queue) and then the
 * device (firmware reload) follow only when that does not bring it back.
 */
int zk_reset_recover(struct zk_device *zdev, struct zk_queue *bad_q,
		     struct drm_sched_job *bad, u32 level, const char *why)
{
	u32 stopped = 0;	/* queues whose scheduler is stopped */
	const char *kind;
	int ret = 0, idx;
	u32 i;

	mutex_lock(&zdev->reset_lock);
	if (zdev->unplugged) {
		/*
		 * remove() failed every job and may be finalizing the
		 * schedulers right now: touch none of them, only hand the
		 * job back.  remove() waits for this handler to return
		 * (drm_sched_fini()), so zdev outlives the unlock below.
		 */
		if (bad)
			zk_sched_requeue_bad(bad);
		mutex_unlock(&zdev->reset_lock);
		return -ENODEV;
	}
	if (!drm_dev_enter(&zdev->drm, &idx)) {
		/* Unplug started; remove() fails the jobs once it has the lock. */
		if (bad) {
			drm_sched_stop(&bad_q->sched, bad);
			zk_sched_start(&bad_q->sched);
		}
		mutex_unlock(&zdev->reset_lock);
		return -ENODEV;
	}

	/*
	 * Jobs the device finished report OK: retire them before
	 * drm_sched_stop() detaches the scheduler from their fences.
	 */
	zk_retire_all(zdev);
	if (bad) {
		drm_sched_stop(&bad_q->sched, bad);
		stopped |= BIT(bad_q->idx);
		zk_retire_all(zdev);
		if (zk_job_hw_signaled(bad)) {
			/* Done meanwhile, or failed by a reset that raced us. */
			zk_sched_restart(bad_q);
			goto out;
		}
		zk_job_mark_guilty(bad);
		if (level == ZK_RESET_ENGINE &&
		    !zk_queue_reset(zdev, bad_q, bad, why)) {
			kind = "queue-reset";
			goto out_event;
		}
	}

	for (i = 0; i < zdev->num_queues; i++)
		if (!(stopped & BIT(i)))
			drm_sched_stop(&zdev->queues[i].sched, NULL);
	zk_retire_all(zdev);

	drm_warn(&zdev->drm, "%s on queue %d: %s reset\n", why,
		 bad_q ? (int)bad_q->idx : -1,
		 level == ZK_RESET_ENGINE ? "engine" : "device");
	/* The state the reset is about to wipe. */
	zk_coredump(zdev, bad_q, why);
	zk_hw_irq_enable(zdev, false);
	if (level == ZK_RESET_ENGINE) {
		ret = zk_engine_reset(zdev);
		if (ret) {
			drm_warn(&zdev->drm, "engine reset failed (%d), resetting the device\n",
				 ret);
			level = ZK_RESET_DEVICE;
		}
	}
	if (level == ZK_RESET_DEVICE)
		ret = zk_device_reset(zdev);

	for (i = 0; i < zdev->num_queues; i++)
		zk_queue_abort(&zdev->queues[i], DRM_ZHIKAI_JOB_ABORTED);
	if (ret) {
		drm_err(&zdev->drm, "recovery failed (%d): device wedged, reload the driver\n",
			ret);
		WRITE_ONCE(zdev->wedged, true);
		/* Nothing it does can be trusted: no more DMA. */
		pci_clear_master(zdev->pdev);
	} else {
		for (i = 0; i < zdev->num_queues; i++)
			zk_hw_queue_start(&zdev->queues[i]);
		zk_hw_irq_enable(zdev, true);
	}
	atomic_inc(&zdev->reset_count);
	trace_zk_reset(level, bad_q ? (int)bad_q->idx : -1, ret);
	zdev->hb_last = zk_rd(zdev, ZK_REG_HEARTBEAT);
	zdev->hb_last_change = jiffies;
	for (i = 0; i < zdev->num_queues; i++)
		zk_sched_restart(&zdev->queues[i]);
	kind = ret ? "wedged" : level == ZK_RESET_ENGINE ? "engine-reset" :
	       "device-reset";
out_event:
	drm_dev_exit(idx);
	mutex_unlock(&zdev->reset_lock);
	zk_reset_uevent(zdev, kind);
	return ret;
out:
	drm_dev_exit(idx);
	mutex_unlock(&zdev->reset_lock);
	return 0;
}

/*
 * Stop the schedulers (no new job reaches a ring), give what is on the
 * hardware up to @wait_ms to finish, then stop the card.  reset_lock held.
 */
static void zk_quiesce_locked(struct zk_device *zdev, unsigned int wait_ms)
{
	unsigned long end = jiffies + msecs_to_jiffies(wait_ms);
	u32 i;

	zk_retire_all(zdev);
	for (i = 0; i < zdev->num_queues; i++)
		drm_sched_stop(&zdev->queues[i].sched, NULL);
	zk_retire_all(zdev);
	for (i = 0; i < zdev->num_queues && !READ_ONCE(zdev->wedged); i++) {
		struct zk_queue *q = &zdev->queues[i];

		while (READ_ONCE(q->last_done) != READ_ONCE(q->next_seqno) &&
		       time_before(jiffies, end)) {
			usleep_range(1000, 2000);
			zk_retire_all(zdev);
		}
	}
	zk_hw_irq_enable(zdev, false);
	for (i = 0; i < zdev->num_queues; i++)
		zk_hw_queue_stop(&zdev->queues[i]);
}

/*
 * The card is about to lose its state: a PCI function reset (sysfs
 * "reset", AER: @wait_ms 0) or system sleep (@wait_ms: what jobs on the
 * hardware get to finish).  zk_hw_restart() brings it back: the firmware
 * is booted again, what was still on the hardware fails (ABORTED), the
 * queues are re-armed and the schedulers restarted.  reset_lock is held
 * from one to the other (the PCI and PM cores call both from one task),
 * so no recovery runs in between.
 */
void zk_hw_stop(struct zk_device *zdev, unsigned int wait_ms)
{
	mutex_lock(&zdev->reset_lock);
	if (!zdev->unplugged)
		zk_quiesce_locked(zdev, wait_ms);
}

void zk_hw_restart(struct zk_device *zdev, const char *why)
{
	int ret;
	u32 i;

	if (zdev->unplugged) {
		mutex_unlock(&zdev->reset_lock);
		return;
	}
	ret = zk_fw_boot(zdev);
	for (i = 0; i < zdev->num_queues; i++)
		zk_queue_abort(&zdev->queues[i], DRM_ZHIKAI_JOB_ABORTED);
	if (ret) {
		drm_err(&zdev->drm, "no firmware after %s (%d): device wedged\n",
			why, ret);
		WRITE_ONCE(zdev->wedged, true);
		pci_clear_master(zdev->pdev);
	} else {
		for (i = 0; i < zdev->num_queues; i++)
			zk_hw_queue_start(&zdev->queues[i]);
		zk_hw_irq_enable(zdev, true);
	}
	atomic_inc(&zdev->reset_count);
	trace_zk_reset(ZK_RESET_DEVICE, -1, ret);
	zdev->hb_last = zk_rd(zdev, ZK_REG_HEARTBEAT);
	zdev->hb_last_change = jiffies;
	for (i = 0; i < zdev->num_queues; i++)
		zk_sched_restart(&zdev->queues[i]);
	mutex_unlock(&zdev->reset_lock);
	drm_info(&zdev->drm, "%s: firmware reloaded, queues running\n", why);
	zk_reset_uevent(zdev, ret ? "wedged" : "device-reset");
}

/*
 * Runtime suspend (zk_pm.c): the card is about to enter D3hot, where its
 * firmware and engine are off and its BARs closed.  Only an idle card goes:
 * -EBUSY while anything is on a ring (jobs hold a runtime PM reference
 * until they are freed, so that is a safety net).  HBM keeps its contents.
 */
int zk_hw_power_down(struct zk_device *zdev)
{
	u32 i;

	mutex_lock(&zdev->reset_lock);
	if (zdev->unplugged || READ_ONCE(zdev->wedged))
		goto out;
	zk_retire_all(zdev);
	for (i = 0; i < zdev->num_queues; i++) {
		struct zk_queue *q = &zdev->queues[i];

		if (READ_ONCE(q->last_done) != READ_ONCE(q->next_seqno)) {
			mutex_unlock(&zdev->reset_lock);
			return -EBUSY;
		}
	}
	/* A power-on default after D3hot: the user's cap comes back. */
	zdev->rpm_power_cap_mw = zk_rd(zdev, ZK_REG_POWER_CAP_MW);
	zk_hw_irq_enable(zdev, false);
	for (i = 0; i < zdev->num_queues; i++)
		zk_hw_queue_stop(&zdev->queues[i]);
	WRITE_ONCE(zdev->rpm_suspended, true);
out:
	mutex_unlock(&zdev->reset_lock);
	return 0;
}

/*
 * Runtime resume: back in D0 after a function reset (No_Soft_Reset = 0):
 * the firmware is booted again, the power cap restored, the queues re-armed.
 * Not a recovery: nothing was on the rings, reset_count stays.  A firmware
 * that does not come back wedges the card (ioctls then fail, the driver
 * can be reloaded) rather than failing every later runtime resume.
 */
int zk_hw_power_up(struct zk_device *zdev)
{
	int ret;
	u32 i;

	mutex_lock(&zdev->reset_lock);
	if (!zdev->rpm_suspended)
		goto out;
	WRITE_ONCE(zdev->rpm_suspended, false);
	if (zdev->unplugged)
		goto out;
	ret = zk_fw_boot(zdev);
	if (ret) {
		drm_err(&zdev->drm, "no firmware after runtime resume (%d): device wedged\n",
			ret);
		WRITE_ONCE(zdev->wedged, true);
		pci_clear_master(zdev->pdev);
		goto out;
	}
	if (zdev->rpm_power_cap_mw)
		zk_wr(zdev, ZK_REG_POWER_CAP_MW, zdev->rpm_power_cap_mw);
	for (i = 0; i < zdev->num_queues; i++) {
		zk_queue_abort(&zdev->queues[i], DRM_ZHIKAI_JOB_ABORTED);
		zk_hw_queue_start(&zdev->queues[i]);
	}
	zk_hw_irq_enable(zdev, true);
	zdev->hb_last = zk_rd(zdev, ZK_REG_HEARTBEAT);
	zdev->hb_last_change = jiffies;
out:
	mutex_unlock(&zdev->reset_lock);
	return 0;
}

static void zk_reset_work(struct work_struct *work)
{
	struct zk_device *zdev = container_of(work, struct zk_device,
					      reset_work);

	/* A card that went to sleep meanwhile has no firmware to watch. */
	if (!zk_pm_get_if_awake(zdev))
		return;
	zk_reset_recover(zdev, NULL, NULL, ZK_RESET_DEVICE,
			 "firmware heartbeat stalled");
	zk_pm_put(zdev);
}

void zk_reset_schedule(struct zk_device *zdev)
{
	schedule_work(&zdev->reset_work);
}

static void zk_hb_work(struct work_struct *work)
{
	struct zk_device *zdev = container_of(to_delayed_work(work),
					      struct zk_device, hb_work);
	unsigned long period = msecs_to_jiffies(max(zk_heartbeat_timeout_ms / 4,
						    250u));
	u32 hb;
	int idx;

	if (!zk_heartbeat_timeout_ms)
		return;
	if (!drm_dev_enter(&zdev->drm, &idx))
		return;
	/* Runtime-suspended: the firmware is off, not stalled. */
	if (!zk_pm_get_if_awake(zdev))
		goto out;
	if (!READ_ONCE(zdev->wedged) && mutex_trylock(&zdev->reset_lock)) {
		hb = zk_rd(zdev, ZK_REG_HEARTBEAT);
		if (hb != zdev->hb_last) {
			zdev->hb_last = hb;
			zdev->hb_last_change = jiffies;
		} else if (time_after(jiffies, zdev->hb_last_change +
				      msecs_to_jiffies(zk_heartbeat_timeout_ms))) {
			zdev->hb_last_change = jiffies;
			zk_reset_schedule(zdev);
		}
		mutex_unlock(&zdev->reset_lock);
	}
	/* Not a use: the heartbeat check alone never keeps the card awake. */
	pm_runtime_put_autosuspend(zdev->drm.dev);
out:
	drm_dev_exit(idx);
	schedule_delayed_work(&zdev->hb_work, period);
}

void zk_reset_init(struct zk_device *zdev)
{
	mutex_init(&zdev->reset_lock);
	INIT_WORK(&zdev->reset_work, zk_reset_work);
	INIT_DELAYED_WORK(&zdev->hb_work, zk_hb_work);
	zdev->hb_last = zk_rd(zdev, ZK_REG_HEARTBEAT);
	zdev->hb_last_change = jiffies;
	if (zk_heartbeat_timeout_ms)
		schedule_delayed_work(&zdev->hb_work, HZ);
}

void zk_reset_fini(struct zk_device *zdev)
{
	cancel_delayed_work_sync(&zdev->hb_work);
	cancel_work_sync(&zdev->reset_work);
}
