// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_kjob.c - driver jobs on the hardware rings (MMU invalidate, HBM discard,
 * the debugfs doorbell ping), without drm_sched; context idle checks
 */
#include <linux/debugfs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "zk_drv.h"
#include "zk_job.h"

/*
 * A driver job of one command (+ JOB_END) written straight to @q's hardware
 * ring, no drm_sched, no context switch.  Returns its completion fence (a
 * reference for the caller), ERR_PTR(-ENODEV) after unplug, -EBUSY when the
 * device is wedged or the ring full.
 */
static struct zk_hw_fence *
zk_queue_emit_kernel(struct zk_queue *q, const void *cmd)
{
	struct zk_device *zdev = q->zdev;
	struct zk_cmd_job_end end = {
		.hdr.opcode = ZK_CMD_JOB_END,
		.hdr.flags = ZK_JOB_END_F_IRQ,
	};
	struct zk_hw_fence *hw;
	unsigned long flags;
	int idx, ret = 0;
	u64 seqno;

	hw = kzalloc(sizeof(*hw), GFP_KERNEL);
	if (!hw)
		return ERR_PTR(-ENOMEM);
	hw->rec = kzalloc(sizeof(*hw->rec), GFP_KERNEL);
	if (!hw->rec) {
		kfree(hw);
		return ERR_PTR(-ENOMEM);
	}
	kref_init(&hw->rec->ref);
	hw->rec->status = DRM_ZHIKAI_JOB_ABORTED;
	INIT_LIST_HEAD(&hw->link);

	/* Not while a recovery has the rings down (drm_sched is stopped). */
	mutex_lock(&zdev->reset_lock);
	if (!drm_dev_enter(&zdev->drm, &idx)) {
		ret = -ENODEV;
		goto out_unlock;
	}
	spin_lock_irqsave(&q->lock, flags);
	if (READ_ONCE(zdev->wedged) || zk_ring_space(q) < 2 * ZK_CMD_SIZE) {
		spin_unlock_irqrestore(&q->lock, flags);
		drm_dev_exit(idx);
		ret = -EBUSY;
		goto out_unlock;
	}
	seqno = ++q->next_seqno;
	dma_fence_init(&hw->base, &zk_hw_fence_ops, &q->lock, q->fence_context,
		       seqno);
	WRITE_ONCE(*zk_status_slot(q, seqno), ZK_STATUS_PENDING);
	end.seqno = seqno;
	end.status_bus = q->aux_dma + ZK_AUX_STATUS +
			 (seqno % ZK_STATUS_SLOTS) * sizeof(u32);
	zk_ring_emit(q, cmd, ZK_CMD_SIZE);
	zk_ring_emit(q, &end, sizeof(end));
	hw->ring_end = q->tail;
	dma_fence_get(&hw->base);	/* for the inflight list */
	list_add_tail(&hw->link, &q->inflight);
	q->submitted++;
	wmb(); /* ring and status slot before the doorbell */
	zk_qwr(q, ZK_Q_DOORBELL, q->tail);
	spin_unlock_irqrestore(&q->lock, flags);
	drm_dev_exit(idx);
out_unlock:
	mutex_unlock(&zdev->reset_lock);
	if (ret) {
		zk_fence_release_unused(hw);
		return ERR_PTR(ret);
	}
	return hw;
}

/*
 * One NOP job: what any job pays at least: ring write, doorbell MMIO,
 * device fetch/execute, MSI-X delivery, IRQ handler, waking a sleeper.
 */
static int zk_queue_ping(struct zk_queue *q)
{
	struct zk_cmd_hdr nop[ZK_CMD_SIZE / sizeof(struct zk_cmd_hdr)] = {};
	struct zk_hw_fence *hw = zk_queue_emit_kernel(q, nop);
	int ret = 0;
	long t;

	if (IS_ERR(hw))
		return PTR_ERR(hw);
	t = dma_fence_wait_timeout(&hw->base, true, msecs_to_jiffies(10000));
	if (t == 0)
		ret = -ETIMEDOUT;
	else if (t < 0)
		ret = t;
	else if (hw->base.error)	/* set for every non-OK status */
		ret = -EIO;
	dma_fence_put(&hw->base);
	return ret;
}

/*
 * Run one privileged command (MMU_INVALIDATE, HBM_DISCARD) as a driver job
 * on @q and wait for it, behind whatever is queued there (a hang ends in a
 * reset).  0 when it completed, -ENODEV after unplug, -EBUSY when wedged,
 * -ETIMEDOUT, or the job's error (-ECANCELED: aborted by a reset).
 */
int zk_queue_run_kernel(struct zk_queue *q, const void *cmd)
{
	struct zk_hw_fence *hw = zk_queue_emit_kernel(q, cmd);
	int err;
	long t;

	if (IS_ERR(hw))
		return PTR_ERR(hw);
	t = dma_fence_wait_timeout(&hw->base, false,
				   msecs_to_jiffies(4 * zk_job_timeout_ms +
						    10000));
	err = t ? hw->base.error : -ETIMEDOUT;
	dma_fence_put(&hw->base);
	return err;
}

/*
 * Make the device drop every translation it cached (ZK_CMD_MMU_INVALIDATE)
 * and wait until it did.  Called after page-table entries of @ctx were
 * cleared, before the memory behind them is reused.  Nothing to do when the
 * device is gone or wedged (its queues are stopped).  Aborted by a reset
 * of queue 0 alone, the other queues kept their cached translations: issue
 * it again (an engine or device reset drops them all; once more is
 * harmless then).
 */
int zk_mmu_invalidate(struct zk_ctx *ctx, u64 va, u64 size)
{
	struct zk_device *zdev = ctx->zdev;
	struct zk_cmd_mmu_invalidate inv = {
		.hdr.opcode = ZK_CMD_MMU_INVALIDATE,
		.ctx_id = ctx->id,
		.va = va,
		.size = size,
	};
	int tries, err = 0;

	for (tries = 0; tries < 4; tries++) {
		err = zk_queue_run_kernel(&zdev->queues[0], &inv);
		if (err == -ENODEV || READ_ONCE(zdev->wedged))
			return 0;
		if (err != -ECANCELED)
			break;
	}
	if (err)
		drm_warn(&zdev->drm, "ctx %u: MMU invalidate failed (%d)\n",
			 ctx->id, err);
	return err;
}

/* Whether every job @ctx submitted so far has retired. */
bool zk_ctx_is_idle(struct zk_ctx *ctx)
{
	bool idle = true;
	u32 i;

	mutex_lock(&ctx->submit_lock);
	for (i = 0; i < ZK_MAX_QUEUES && idle; i++)
		idle = !ctx->vm_fence[i] ||
		       dma_fence_is_signaled(ctx->vm_fence[i]);
	mutex_unlock(&ctx->submit_lock);
	return idle;
}

/* Wait until every job @ctx submitted so far has retired (or was dropped). */
void zk_ctx_wait_idle(struct zk_ctx *ctx)
{
	struct dma_fence *f[ZK_MAX_QUEUES];
	u32 i;

	mutex_lock(&ctx->submit_lock);
	for (i = 0; i < ZK_MAX_QUEUES; i++)
		f[i] = dma_fence_get(ctx->vm_fence[i]);
	mutex_unlock(&ctx->submit_lock);
	for (i = 0; i < ZK_MAX_QUEUES; i++) {
		if (f[i])
			dma_fence_wait(f[i], false);
		dma_fence_put(f[i]);
	}
}

/*
 * debugfs "ping": write "N [queue]" to run N doorbell + interrupt round
 * trips one after the other (userspace times the write); read back the
 * last run's count and mean round trip in ns as measured in the kernel.
 */
static ssize_t zk_ping_write(struct file *f, const char __user *ubuf,
			     size_t len, loff_t *pos)
{
	struct zk_device *zdev = file_inode(f)->i_private;
	char buf[32];
	u32 n, qi = 0, i;
	ktime_t t0;
	int ret = 0;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	if (sscanf(buf, "%u %u", &n, &qi) < 1 || !n || n > 100000 ||
	    qi >= zdev->num_queues)
		return -EINVAL;
	ret = zk_pm_get(zdev);
	if (ret)
		return ret;
	t0 = ktime_get();
	for (i = 0; i < n && !ret; i++) {
		ret = zk_queue_ping(&zdev->queues[qi]);
		if (!ret && signal_pending(current))
			ret = -EINTR;
	}
	zk_pm_put(zdev);
	if (ret)
		return ret;
	WRITE_ONCE(zdev->ping_count, n);
	WRITE_ONCE(zdev->ping_ns, ktime_to_ns(ktime_sub(ktime_get(), t0)) / n);
	return len;
}

static ssize_t zk_ping_read(struct file *f, char __user *ubuf, size_t len,
			    loff_t *pos)
{
	struct zk_device *zdev = file_inode(f)->i_private;
	char buf[64];
	int n;

	n = scnprintf(buf, sizeof(buf), "%u pings, %llu ns each\n",
		      READ_ONCE(zdev->ping_count), READ_ONCE(zdev->ping_ns));
	return simple_read_from_buffer(ubuf, len, pos, buf, n);
}

static const struct file_operations zk_ping_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = zk_ping_read,
	.write = zk_ping_write,
	.llseek = default_llseek,
};

void zk_job_debugfs_init(struct zk_device *zdev, struct dentry *root)
{
	debugfs_create_file("ping", 0600, root, zdev, &zk_ping_fops);
}

