// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_debugfs.c - /sys/kernel/debug/dri/N/: contexts (BO lists), queues,
 * regs, heartbeat, inject (fault injection) and reset.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#include <drm/drm_debugfs.h>
#include <drm/drm_file.h>

#include "zk_drv.h"

static int contexts_show(struct seq_file *m, void *unused)
{
	struct zk_device *zdev = m->private;
	struct zk_ctx *ctx;
	struct zk_bo *bo;
	unsigned long id;

	xa_for_each(&zdev->ctx_xa, id, ctx) {
		xa_lock(&zdev->ctx_xa);
		if (xa_load(&zdev->ctx_xa, id) != ctx ||
		    !kref_get_unless_zero(&ctx->ref)) {
			xa_unlock(&zdev->ctx_xa);
			continue;
		}
		xa_unlock(&zdev->ctx_xa);

		mutex_lock(&ctx->lock);
		seq_printf(m, "ctx %u: pt_root 0x%llx mem_used %llu last_seqno %llu\n",
			   ctx->id, ctx->root->hbm_off, ctx->mem_used,
			   READ_ONCE(ctx->last_seqno));
		list_for_each_entry(bo, &ctx->bos, ctx_link) {
			seq_printf(m, "  bo va 0x%010llx size 0x%llx %s", bo->va,
				   bo->size, zk_bo_is_hbm(bo) ? "hbm" : "host");
			if (zk_bo_is_hbm(bo))
				seq_printf(m, " hbm 0x%llx", bo->hbm_node.start);
			seq_putc(m, '\n');
		}
		mutex_unlock(&ctx->lock);
		zk_ctx_put(ctx);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(contexts);

static int queues_show(struct seq_file *m, void *unused)
{
	struct zk_device *zdev = m->private;
	unsigned long flags;
	u32 i;
	int idx;

	if (!zk_dev_enter(zdev, &idx))
		return -ENODEV;
	for (i = 0; i < zdev->num_queues; i++) {
		struct zk_queue *q = &zdev->queues[i];
		struct zk_hw_fence *hw;
		u32 inflight = 0;

		spin_lock_irqsave(&q->lock, flags);
		list_for_each_entry(hw, &q->inflight, link)
			inflight++;
		seq_printf(m, "queue %u: hw head 0x%x tail 0x%x status 0x%x fence %llu | drv head 0x%x tail 0x%x last seqno %llu done %llu inflight %u submitted %llu completed %llu faults %u\n",
			   i, zk_qrd(q, ZK_Q_HEAD), zk_qrd(q, ZK_Q_TAIL),
			   zk_qrd(q, ZK_Q_STATUS),
			   zk_rd64_latched(zdev, ZK_QREG(i, ZK_Q_FENCE_LO)),
			   q->head, q->tail, q->next_seqno, q->last_done,
			   inflight, q->submitted, q->completed,
			   zk_qrd(q, ZK_Q_FAULT_COUNT));
		spin_unlock_irqrestore(&q->lock, flags);
	}
	zk_dev_exit(zdev, idx);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(queues);

static const struct {
	const char *name;
	u32 reg;
} zk_dump_regs[] = {
#define R(x) { #x, ZK_REG_##x }
	R(ID), R(VERSION), R(CAPS), R(HBM_SIZE_LO), R(HBM_SIZE_HI),
	R(HBM_STACKS), R(NUM_QUEUES), R(NUM_VECTORS), R(API_VERSION),
	R(STATUS), R(BOOT_ERROR), R(FW_VERSION), R(HEARTBEAT),
	R(RESET_COUNT), R(IRQ_STATUS), R(IRQ_MASK), R(POWER_MW),
	R(POWER_AVG_MW), R(POWER_CAP_MW), R(TEMP_MC), R(CLOCK_MHZ),
	R(CLOCK_MAX_MHZ), R(THROTTLE), R(UTIL), R(POWER_CAP_MIN_MW),
	R(POWER_CAP_MAX_MW), R(RAS_CE_COUNT), R(RAS_UE_COUNT),
	R(RAS_ADDR_LO), R(RAS_ADDR_HI),
#undef R
};

static int regs_show(struct seq_file *m, void *unused)
{
	struct zk_device *zdev = m->private;
	unsigned int i;
	int idx;

	if (!zk_dev_enter(zdev, &idx))
		return -ENODEV;
	for (i = 0; i < ARRAY_SIZE(zk_dump_regs); i++)
		seq_printf(m, "0x%03x %-16s 0x%08x\n", zk_dump_regs[i].reg,
			   zk_dump_regs[i].name,
			   zk_rd(zdev, zk_dump_regs[i].reg));
	zk_dev_exit(zdev, idx);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(regs);

static int heartbeat_show(struct seq_file *m, void *unused)
{
	struct zk_device *zdev = m->private;
	int idx;

	if (!zk_dev_enter(zdev, &idx))
		return -ENODEV;
	seq_printf(m, "heartbeat %u, last change %u ms ago, timeout %u ms, wedged %d\n",
		   zk_rd(zdev, ZK_REG_HEARTBEAT),
		   jiffies_to_msecs(jiffies - zdev->hb_last_change),
		   zk_heartbeat_timeout_ms, READ_ONCE(zdev->wedged));
	zk_dev_exit(zdev, idx);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(heartbeat);

/*
 * inject: "hang_queue Q", "stuck_queue Q" (its queue resets fail),
 * "stuck_engine Q" (engine resets fail too), "dma_fail", "mem_ce ADDR",
 * "mem_ue ADDR" or a raw ZK_REG_INJECT value.
 */
static ssize_t inject_write(struct file *f, const char __user *ubuf,
			    size_t len, loff_t *pos)
{
	struct zk_device *zdev = file_inode(f)->i_private;
	char buf[64], word[16];
	unsigned long long arg = 0;
	u32 val;
	int n, idx;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	n = sscanf(buf, "%15s %lli", word, &arg);
	if (n < 1)
		return -EINVAL;
	if (!strcmp(word, "hang_queue")) {
		if (n != 2 || arg >= zdev->num_queues)
			return -EINVAL;
		val = ZK_INJECT_HANG_QUEUE | (u32)arg << ZK_INJECT_QUEUE_SHIFT;
	} else if (!strcmp(word, "stuck_queue") ||
		   !strcmp(word, "stuck_engine")) {
		if (n != 2 || arg >= zdev->num_queues)
			return -EINVAL;
		val = (word[6] == 'q' ? ZK_INJECT_STUCK_QUEUE :
		       ZK_INJECT_STUCK_ENGINE) |
		      (u32)arg << ZK_INJECT_QUEUE_SHIFT;
	} else if (!strcmp(word, "dma_fail")) {
		val = ZK_INJECT_DMA_FAIL;
	} else if (!strcmp(word, "mem_ce") || !strcmp(word, "mem_ue")) {
		val = word[4] == 'c' ? ZK_INJECT_MEM_CE : ZK_INJECT_MEM_UE;
	} else if (kstrtou32(word, 0, &val)) {
		return -EINVAL;
	}
	if (!(zdev->caps & ZK_CAP_FAULT_INJECT))
		return -EOPNOTSUPP;
	if (!zk_dev_enter(zdev, &idx))
		return -ENODEV;
	if (val & (ZK_INJECT_MEM_CE | ZK_INJECT_MEM_UE)) {
		zk_wr(zdev, ZK_REG_INJECT_ADDR_LO, lower_32_bits(arg));
		zk_wr(zdev, ZK_REG_INJECT_ADDR_HI, upper_32_bits(arg));
	}
	zk_wr(zdev, ZK_REG_INJECT, val);
	zk_dev_exit(zdev, idx);
	return len;
}

static const struct file_operations inject_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = inject_write,
	.llseek = noop_llseek,
};

/* reset: "engine" or "device" triggers a recovery now. */
static ssize_t reset_write(struct file *f, const char __user *ubuf,
			   size_t len, loff_t *pos)
{
	struct zk_device *zdev = file_inode(f)->i_private;
	char buf[16];
	u32 level;
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	if (sysfs_streq(buf, "engine"))
		level = ZK_RESET_ENGINE;
	else if (sysfs_streq(buf, "device"))
		level = ZK_RESET_DEVICE;
	else
		return -EINVAL;
	ret = zk_pm_get(zdev);
	if (ret)
		return ret;
	ret = zk_reset_recover(zdev, NULL, NULL, level, "debugfs request");
	zk_pm_put(zdev);
	return ret ? ret : len;
}

static const struct file_operations reset_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = reset_write,
	.llseek = noop_llseek,
};

void zk_debugfs_init(struct drm_minor *minor)
{
	struct zk_device *zdev = to_zk_device(minor->dev);
	struct dentry *root = minor->debugfs_root;

	debugfs_create_file("contexts", 0444, root, zdev, &contexts_fops);
	debugfs_create_file("queues", 0444, root, zdev, &queues_fops);
	debugfs_create_file("regs", 0444, root, zdev, &regs_fops);
	debugfs_create_file("heartbeat", 0444, root, zdev, &heartbeat_fops);
	debugfs_create_file("inject", 0200, root, zdev, &inject_fops);
	debugfs_create_file("reset", 0200, root, zdev, &reset_fops);
	zk_job_debugfs_init(zdev, root);
}
