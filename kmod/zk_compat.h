/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * zk_compat.h - the few kernel API differences between the kernels the
 * driver is built for (Debian 6.1 and 6.12).  Keep version checks here.
 */
#ifndef ZK_COMPAT_H
#define ZK_COMPAT_H

#include <linux/version.h>
#include <linux/mm.h>
#include <drm/drm.h>
#include <drm/gpu_scheduler.h>

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define zk_vm_flags_set(vma, flags)	vm_flags_set(vma, flags)
#else
static inline void zk_vm_flags_set(struct vm_area_struct *vma,
				   unsigned long flags)
{
	vma->vm_flags |= flags;
}
#endif

/* 6.9: pm_runtime_get_if_active() lost its ign_usage_count argument. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
#define zk_pm_runtime_get_if_active(dev)	pm_runtime_get_if_active(dev)
#else
#define zk_pm_runtime_get_if_active(dev)	pm_runtime_get_if_active(dev, true)
#endif

/* 6.2+: DRM accel subsystem (/dev/accel/accelN) instead of a render node. */
#if IS_ENABLED(CONFIG_DRM_ACCEL)
#define ZK_HAVE_ACCEL 1
#else
#define ZK_HAVE_ACCEL 0
#endif

/*
 * DRM calls drm_driver.debugfs_init for dri minors only; an accel device's
 * driver adds its files itself (as ivpu does), in the directory DRM made,
 * /sys/kernel/debug/accel/<PCI bus id>/.
 */
#if ZK_HAVE_ACCEL && IS_ENABLED(CONFIG_DEBUG_FS)
#define zk_accel_debugfs_init(drm)	zk_debugfs_init((drm)->accel)
#else
#define zk_accel_debugfs_init(drm)	do { } while (0)
#endif

/*
 * An accel file has no DRM master, yet DRM's ioctl checks (written for
 * primary and render nodes) let it call every core ioctl without
 * DRM_AUTH/DRM_MASTER, some of which use the master: on 6.12
 * DRM_IOCTL_GET_MAGIC oopses in drm_getmagic() (tests/fuzz/zk_ioctl_fuzz.c).
 * Accel files get what a render node would: the driver's ioctls and the
 * render-allowed core ones (version, caps, GEM close, PRIME, syncobjs).
 */
static inline bool zk_accel_ioctl_ok(unsigned int cmd)
{
	unsigned int nr = _IOC_NR(cmd);

	if (!ZK_HAVE_ACCEL || _IOC_TYPE(cmd) != DRM_IOCTL_BASE)
		return true;
	if (nr >= DRM_COMMAND_BASE && nr < DRM_COMMAND_END)
		return true;
	switch (nr) {
	case _IOC_NR(DRM_IOCTL_VERSION):
	case _IOC_NR(DRM_IOCTL_GET_CAP):
	case _IOC_NR(DRM_IOCTL_GEM_CLOSE):
	case _IOC_NR(DRM_IOCTL_PRIME_HANDLE_TO_FD):
	case _IOC_NR(DRM_IOCTL_PRIME_FD_TO_HANDLE):
		return true;
	case _IOC_NR(DRM_IOCTL_SYNCOBJ_CREATE) ...
	     _IOC_NR(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL):
		return true;
	default:
		return false;
	}
}

/* Before 6.6 a driver opted in to PRIME (and dma-buf mmap) with callbacks. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 6, 0)
#define ZK_NEED_PRIME_CALLBACKS 1
#else
#define ZK_NEED_PRIME_CALLBACKS 0
#endif

/* 6.3 renamed the dependency hook to prepare_job. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define ZK_SCHED_OPS_PREPARE(fn)	.prepare_job = (fn)
#else
#define ZK_SCHED_OPS_PREPARE(fn)	.dependency = (fn)
#endif

/*
 * drm_sched: Kbuild detects the forms in the headers built against
 * (ZK_SCHED_DETECTED + ZK_SCHED_*); without them, upstream versions decide.
 */
#ifndef ZK_SCHED_DETECTED
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
#define ZK_HAVE_SCHED_INIT_ARGS
#define ZK_SCHED_INIT_ARGS_NUM_RQS
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
#define ZK_SCHED_JOB_CREDITS
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 16, 0)
#define ZK_SCHED_JOB_CLIENT_ID
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define ZK_SCHED_START_ERRNO
#else
#define ZK_SCHED_START_FULL_RECOVERY
#endif
#endif /* ZK_SCHED_DETECTED */

/* 6.7 added job credits, 6.16 the fdinfo client id. */
#if defined(ZK_SCHED_JOB_CLIENT_ID)
#define zk_sched_job_init(job, entity, owner) \
	drm_sched_job_init(job, entity, 1, owner, 0)
#elif defined(ZK_SCHED_JOB_CREDITS)
#define zk_sched_job_init(job, entity, owner) \
	drm_sched_job_init(job, entity, 1, owner)
#else
#define zk_sched_job_init(job, entity, owner) \
	drm_sched_job_init(job, entity, owner)
#endif

/*
 * drm_sched_start(): (sched, bool full_recovery) up to 6.12, (sched, int
 * errno) from 6.13; some 6.12 builds have the bare (sched) in between.
 */
#if defined(ZK_SCHED_START_ERRNO)
#define zk_sched_start(sched)	drm_sched_start(sched, 0)
#elif defined(ZK_SCHED_START_FULL_RECOVERY)
#define zk_sched_start(sched)	drm_sched_start(sched, true)
#else
#define zk_sched_start(sched)	drm_sched_start(sched)
#endif

static inline int zk_sched_init(struct drm_gpu_scheduler *sched,
				const struct drm_sched_backend_ops *ops,
				u32 limit, long timeout, const char *name,
				struct device *dev)
{
#if defined(ZK_HAVE_SCHED_INIT_ARGS)
	const struct drm_sched_init_args args = {
		.ops = ops,
#if defined(ZK_SCHED_INIT_ARGS_NUM_RQS)
		.num_rqs = DRM_SCHED_PRIORITY_COUNT,
#endif
		.credit_limit = limit,
		.timeout = timeout,
		.name = name,
		.dev = dev,
	};

	return drm_sched_init(sched, &args);
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	return drm_sched_init(sched, ops, NULL, DRM_SCHED_PRIORITY_COUNT,
			      limit, 0, timeout, NULL, NULL, name, dev);
#else
	return drm_sched_init(sched, ops, limit, 0, timeout, NULL, NULL,
			      name, dev);
#endif
}

#endif /* ZK_COMPAT_H */
