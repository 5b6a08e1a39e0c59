// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_submit.c - the SUBMIT ioctl: copy and validate a batch of jobs, then queue
 * them all or none; implicit sync out (dma_resv) and syncobjs
 */
#include <linux/dma-fence-chain.h>
#include <linux/dma-resv.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <drm/drm_syncobj.h>

#include "zk_drv.h"
#include "zk_job.h"
#include "zk_trace.h"

static int zk_job_prepare(struct drm_file *file, struct zk_ctx *ctx,
			  const struct drm_zhikai_job *uj, struct zk_job **out)
{
	struct zk_device *zdev = ctx->zdev;
	struct zk_job *job;
	struct zk_bo *bo;
	u32 i, ncmds;
	int ret;

	if (uj->queue >= zdev->num_queues || uj->flags ||
	    !uj->cmd_size || uj->cmd_size > DRM_ZHIKAI_MAX_CMD_BYTES ||
	    uj->cmd_size % ZK_CMD_SIZE || uj->cmd_offset % ZK_CMD_SIZE ||
	    uj->bo_count > DRM_ZHIKAI_MAX_JOB_BOS ||
	    (!uj->in_syncobj && uj->in_point) ||
	    (!uj->out_syncobj && uj->out_point))
		return -EINVAL;
	ncmds = uj->cmd_size / ZK_CMD_SIZE;

	/* Sized by the caller: charged to its memory cgroup. */
	job = kzalloc(sizeof(*job), GFP_KERNEL_ACCOUNT);
	if (!job)
		return -ENOMEM;
	job->q = &zdev->queues[uj->queue];
	job->ctx = zk_ctx_get(ctx);
	job->hw = kzalloc(sizeof(*job->hw), GFP_KERNEL_ACCOUNT);
	job->rec = kzalloc(sizeof(*job->rec), GFP_KERNEL_ACCOUNT);
	job->cmds = kvmalloc(uj->cmd_size, GFP_KERNEL_ACCOUNT);
	job->max_bos = uj->bo_count + 2 * ncmds;
	job->bos = kvmalloc_array(job->max_bos, sizeof(*job->bos),
				  GFP_KERNEL_ACCOUNT);
	if (!job->hw || !job->rec || !job->cmds || !job->bos) {
		ret = -ENOMEM;
		goto err;
	}
	INIT_LIST_HEAD(&job->hw->link);
	kref_init(&job->rec->ref);
	job->rec->status = DRM_ZHIKAI_JOB_ABORTED;	/* until it ran */
	job->hw->rec = zk_job_rec_get(job->rec);
	job->cmd_bytes = uj->cmd_size;

	bo = zk_bo_lookup(file, uj->cmd_handle);
	if (!bo) {
		ret = -ENOENT;
		goto err;
	}
	ret = zk_bo_read(bo, uj->cmd_offset, job->cmds, uj->cmd_size);
	drm_gem_object_put(&bo->shmem.base);
	if (ret)
		goto err;

	if (uj->bo_count) {
		struct drm_gem_object **objs = NULL;

		ret = drm_gem_objects_lookup(file,
					     u64_to_user_ptr(uj->bo_handles),
					     uj->bo_count, &objs);
		/* On failure too: what it found holds references. */
		for (i = 0; objs && i < uj->bo_count; i++)
			if (objs[i])
				job->bos[job->nbos++] = objs[i];
		kvfree(objs);
		if (ret)
			goto err;
		for (i = 0; i < job->nbos; i++) {
			if (!zk_gem_obj_of_ctx(job->bos[i], ctx)) {
				ret = -ENOENT;
				goto err;
			}
		}
	}

	mutex_lock(&ctx->lock);
	for (i = 0, ret = 0; i < ncmds && !ret; i++)
		ret = zk_validate_cmd(job, i, job->cmds + i * ZK_CMD_SIZE);
	mutex_unlock(&ctx->lock);
	if (ret)
		goto err;

	ret = zk_sched_job_init(&job->base, &ctx->entity[uj->queue], ctx);
	if (ret)
		goto err;
	job->sched_inited = true;

	/*
	 * Not drm_sched_job_add_syncobj_dependency(): Debian's 6.1 has no
	 * such function, and where it exists it takes a u32 timeline point
	 * while the uapi (like every syncobj ioctl) carries 64 bits.  This is
	 * what it does, without truncating the point.
	 */
	if (uj->in_syncobj) {
		struct dma_fence *in;

		ret = drm_syncobj_find_fence(file, uj->in_syncobj, uj->in_point,
					     0, &in);
		if (ret)
			goto err;
		ret = drm_sched_job_add_dependency(&job->base, in);
		if (ret)
			goto err;
	}
	if (uj->out_syncobj) {
		job->out_sync = drm_syncobj_find(file, uj->out_syncobj);
		if (!job->out_sync) {
			ret = -ENOENT;
			goto err;
		}
		if (uj->out_point) {
			job->chain = dma_fence_chain_alloc();
			if (!job->chain) {
				ret = -ENOMEM;
				goto err;
			}
			job->out_point = uj->out_point;
		}
	}
	*out = job;
	return 0;

err:
	zk_job_release(job);
	return ret;
}

/* Point @bo's "last job on this queue" at @rec (WAIT with WAIT_BO). */
static void zk_bo_set_last(struct zk_bo *bo, u32 queue, struct zk_job_rec *rec)
{
	struct zk_job_rec *old;

	spin_lock(&bo->last_lock);
	old = bo->last[queue];
	bo->last[queue] = zk_job_rec_get(rec);
	spin_unlock(&bo->last_lock);
	zk_job_rec_put(old);
}

/*
 * Implicit sync, out direction: the job's fence goes into the BO's
 * dma_resv, so a dma-buf importer, poll() on an exported BO and the
 * standard BO-idle waits see it.  Jobs themselves do not wait on dma_resv
 * (explicit sync: syncobjs and WAIT commands), which keeps jobs of one
 * context on different queues free to work on the same BO concurrently.
 * Objects are locked one at a time (never two: no ww ticket needed).
 */
static void zk_bo_add_fence(struct drm_gem_object *obj, struct dma_fence *f)
{
	if (dma_resv_lock(obj->resv, NULL))
		return;
	if (!dma_resv_reserve_fences(obj->resv, 1))
		dma_resv_add_fence(obj->resv, f, DMA_RESV_USAGE_WRITE);
	dma_resv_unlock(obj->resv);
}

static void zk_job_commit(struct zk_ctx *ctx, struct zk_job *job, u64 seqno)
{
	struct zk_job_rec *rec = job->rec;
	struct dma_fence *done;
	u32 i;

	trace_zk_job_submit(ctx->id, job->q->idx, seqno, job->cmd_bytes);
	drm_sched_job_arm(&job->base);
	done = &job->base.s_fence->finished;
	rec->seqno = seqno;
	rec->done = dma_fence_get(done);
	/* Jobs of one entity finish in order: the last one stands for all. */
	dma_fence_put(ctx->vm_fence[job->q->idx]);
	ctx->vm_fence[job->q->idx] = dma_fence_get(done);
	atomic_inc(&ctx->jobs_inflight);
	job->counted = true;
	/* Awake (the ioctl's reference) until the job is freed. */
	zk_pm_get_noresume(ctx->zdev);

	xa_store(&ctx->jobs, seqno, zk_job_rec_get(rec), GFP_KERNEL);
	if (seqno > ZK_JOB_WINDOW)
		zk_job_rec_put(xa_erase(&ctx->jobs, seqno - ZK_JOB_WINDOW));

	for (i = 0; i < job->nbos; i++) {
		zk_bo_set_last(to_zk_bo(job->bos[i]), job->q->idx, rec);
		zk_bo_add_fence(job->bos[i], done);
	}

	if (job->out_sync) {
		if (job->chain) {
			drm_syncobj_add_point(job->out_sync, job->chain, done,
					      job->out_point);
			job->chain = NULL;
		} else {
			drm_syncobj_replace_fence(job->out_sync, done);
		}
		drm_syncobj_put(job->out_sync);
		job->out_sync = NULL;
	}
	drm_sched_entity_push_job(&job->base);
}

/*
 * Per-context cap on jobs in flight (each holds up to 1 MiB of copied
 * commands until it reaches the ring): SUBMIT blocks, interruptibly, until
 * @n more fit; -EBUSY instead on an O_NONBLOCK file (not -EAGAIN: libdrm's
 * drmIoctl() would spin on it).  A batch larger than the cap goes in alone
 * once the context is idle.  Racing SUBMITs of one file can overshoot by a
 * batch each: still bounded.
 */
static bool zk_ctx_has_room(struct zk_ctx *ctx, u32 n, unsigned int cap)
{
	unsigned int busy = atomic_read(&ctx->jobs_inflight);

	return !cap || !busy || busy + n <= cap;
}

static int zk_ctx_wait_room(struct zk_ctx *ctx, u32 n, bool nonblock)
{
	unsigned int cap = READ_ONCE(zk_ctx_max_jobs);

	if (zk_ctx_has_room(ctx, n, cap))
		return 0;
	if (nonblock)
		return -EBUSY;
	return wait_event_interruptible(ctx->jobs_wq,
					zk_ctx_has_room(ctx, n, cap));
}

int zk_submit_ioctl(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct zk_device *zdev = to_zk_device(dev);
	struct zk_ctx *ctx = file->driver_priv;
	struct drm_zhikai_submit *args = data;
	struct drm_zhikai_job *ujobs;
	struct drm_zhikai_job __user *uptr = u64_to_user_ptr(args->jobs);
	struct zk_job **jobs;
	u32 i, n = args->job_count, reserved = 0;
	int ret, idx;

	if (args->flags || args->reserved || !n || n > DRM_ZHIKAI_MAX_JOBS ||
	    args->job_stride != sizeof(*ujobs))
		return -EINVAL;

	ujobs = kvmalloc_array(n, sizeof(*ujobs), GFP_KERNEL_ACCOUNT);
	jobs = kcalloc(n, sizeof(*jobs), GFP_KERNEL_ACCOUNT);
	if (!ujobs || !jobs) {
		ret = -ENOMEM;
		goto out_free;
	}
	if (copy_from_user(ujobs, uptr, n * sizeof(*ujobs))) {
		ret = -EFAULT;
		goto out_free;
	}

	ret = zk_ctx_wait_room(ctx, n, file->filp->f_flags & O_NONBLOCK);
	if (ret)
		goto out_free;
	/* Commands are read from HBM BOs through the BAR: not after unplug. */
	if (!drm_dev_enter(dev, &idx)) {
		ret = -ENODEV;
		goto out_free;
	}
	mutex_lock(&ctx->submit_lock);
	if (READ_ONCE(zdev->wedged) || READ_ONCE(ctx->banned)) {
		ret = -EIO;
		goto out_unlock;
	}
	/* Validate and prepare everything before anything is queued. */
	for (i = 0; i < n; i++) {
		ret = zk_job_prepare(file, ctx, &ujobs[i], &jobs[i]);
		if (ret)
			goto out_unwind;
	}
	for (i = 0; i < n; i++) {
		ret = xa_reserve(&ctx->jobs, ctx->last_seqno + 1 + i,
				 GFP_KERNEL);
		if (ret)
			goto out_unwind;
		reserved++;
	}
	for (i = 0; i < n; i++) {
		u64 seqno = ++ctx->last_seqno;

		ujobs[i].seqno = seqno;
		zk_job_commit(ctx, jobs[i], seqno);
		jobs[i] = NULL;
	}
	mutex_unlock(&ctx->submit_lock);
	drm_dev_exit(idx);

	ret = 0;
	for (i = 0; i < n; i++)
		if (put_user(ujobs[i].seqno, &uptr[i].seqno))
			ret = -EFAULT;
	goto out_free;

out_unwind:
	for (i = 0; i < reserved; i++)
		xa_release(&ctx->jobs, ctx->last_seqno + 1 + i);
	for (i = 0; i < n; i++)
		if (jobs[i])
			zk_job_release(jobs[i]);
out_unlock:
	mutex_unlock(&ctx->submit_lock);
	drm_dev_exit(idx);
out_free:
	kfree(jobs);
	kvfree(ujobs);
	return ret;
}

