// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_wait.c - the WAIT ioctl: a job's status by seqno, or a BO's last jobs
 */
#include <linux/ktime.h>

#include "zk_drv.h"
#include "zk_job.h"

static int zk_wait_fence(struct dma_fence *f, s64 deadline_ns)
{
	s64 now = ktime_get_ns();
	u64 jiffies_left;
	long ret;

	if (dma_fence_is_signaled(f))
		return 0;
	if (deadline_ns <= now)
		return -ETIME;
	jiffies_left = nsecs_to_jiffies64(deadline_ns - now) + 1;
	if (jiffies_left >= MAX_SCHEDULE_TIMEOUT)
		jiffies_left = MAX_SCHEDULE_TIMEOUT - 1;
	ret = dma_fence_wait_timeout(f, true, jiffies_left);
	if (ret == 0)
		return -ETIME;
	return ret < 0 ? ret : 0;
}

int zk_wait_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct zk_ctx *ctx = file->driver_priv;
	struct drm_zhikai_wait *args = data;
	struct zk_job_rec *recs[ZK_MAX_QUEUES];
	u32 i, nrec = 0, status = DRM_ZHIKAI_JOB_OK;
	int ret = 0;

	if (args->reserved || (args->flags & ~DRM_ZHIKAI_WAIT_BO))
		return -EINVAL;

	if (args->flags & DRM_ZHIKAI_WAIT_BO) {
		struct zk_bo *bo = zk_bo_lookup(file, args->handle);

		if (!bo)
			return -ENOENT;
		spin_lock(&bo->last_lock);
		for (i = 0; i < ZK_MAX_QUEUES; i++)
			if (bo->last[i])
				recs[nrec++] = zk_job_rec_get(bo->last[i]);
		spin_unlock(&bo->last_lock);
		drm_gem_object_put(&bo->shmem.base);
	} else {
		struct zk_job_rec *rec;

		if (args->handle || !args->seqno)
			return -EINVAL;
		mutex_lock(&ctx->submit_lock);
		if (args->seqno > ctx->last_seqno) {
			mutex_unlock(&ctx->submit_lock);
			return -EINVAL;
		}
		mutex_unlock(&ctx->submit_lock);
		xa_lock(&ctx->jobs);
		rec = xa_load(&ctx->jobs, args->seqno);
		if (rec)
			recs[nrec++] = zk_job_rec_get(rec);
		xa_unlock(&ctx->jobs);
		if (!rec)
			return -ENOENT;	/* older than the kept window */
	}

	for (i = 0; i < nrec && !ret; i++) {
		ret = zk_wait_fence(recs[i]->done, args->timeout_ns);
		if (!ret && status == DRM_ZHIKAI_JOB_OK)
			status = recs[i]->status;
	}
	for (i = 0; i < nrec; i++)
		zk_job_rec_put(recs[i]);
	if (!ret)
		args->status = status;
	return ret;
}

