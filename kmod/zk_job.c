// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_job.c - job submission, validation, scheduling and waiting.
 *
 * Every job is a run of 64-byte commands copied from a command BO.  The
 * driver validates each command (so userspace gets a clear -EINVAL/-ERANGE
 * early; the device MMU stays the hard guarantee) and wraps the job on the
 * hardware ring as SET_CONTEXT + user commands + JOB_END.  One drm_sched
 * scheduler per hardware queue, one entity per (context, queue).
 */
#include <linux/debugfs.h>
#include <linux/dma-fence-chain.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <drm/drm_syncobj.h>

#include "zk_drv.h"
#include "zk_trace.h"
#include "zhikai_isa.h"

struct zk_job {
	struct drm_sched_job base;
	struct zk_queue *q;
	struct zk_ctx *ctx;
	void *cmds;
	u32 cmd_bytes;
	struct zk_hw_fence *hw;
	bool hw_inited;
	bool sched_inited;
	struct zk_job_rec *rec;
	struct drm_gem_object **bos;
	u32 nbos;
	u32 max_bos;
	struct drm_syncobj *out_sync;
	struct dma_fence_chain *chain;
	u64 out_point;
	bool counted;			/* in ctx->jobs_inflight */
};

#define to_zk_job(j) container_of(j, struct zk_job, base)

/* ---------------------------------------------------------------- */
/* Job records and hardware fences                                  */
/* ---------------------------------------------------------------- */

static void zk_job_rec_release(struct kref *ref)
{
	struct zk_job_rec *rec = container_of(ref, struct zk_job_rec, ref);

	dma_fence_put(rec->done);
	kfree(rec);
}

void zk_job_rec_put(struct zk_job_rec *rec)
{
	if (rec)
		kref_put(&rec->ref, zk_job_rec_release);
}

static struct zk_job_rec *zk_job_rec_get(struct zk_job_rec *rec)
{
	kref_get(&rec->ref);
	return rec;
}

static const char *zk_fence_driver_name(struct dma_fence *f)
{
	return ZK_DRIVER_NAME;
}

static const char *zk_fence_timeline_name(struct dma_fence *f)
{
	return container_of(f->lock, struct zk_queue, lock)->name;
}

static void zk_fence_release(struct dma_fence *f)
{
	struct zk_hw_fence *hw = container_of(f, struct zk_hw_fence, base);

	zk_job_rec_put(hw->rec);
	dma_fence_free(f);
}

/* A fence that never got to run_job was never initialised. */
static void zk_fence_release_unused(struct zk_hw_fence *hw)
{
	zk_job_rec_put(hw->rec);
	kfree(hw);
}

static const struct dma_fence_ops zk_hw_fence_ops = {
	.get_driver_name = zk_fence_driver_name,
	.get_timeline_name = zk_fence_timeline_name,
	.release = zk_fence_release,
};

static int zk_status_errno(u32 status)
{
	switch (status) {
	case DRM_ZHIKAI_JOB_OK:
		return 0;
	case DRM_ZHIKAI_JOB_FAULTED:
		return -EFAULT;
	case DRM_ZHIKAI_JOB_ABORTED:
		return -ECANCELED;
	case DRM_ZHIKAI_JOB_TIMEDOUT:
		return -ETIMEDOUT;
	default:
		return -EIO;
	}
}

static u32 *zk_status_slot(struct zk_queue *q, u64 seqno)
{
	return q->aux + ZK_AUX_STATUS + (seqno % ZK_STATUS_SLOTS) * sizeof(u32);
}

/* Retire @hw with @status; q->lock held. */
static void zk_fence_complete(struct zk_queue *q, struct zk_hw_fence *hw,
			      u32 status)
{
	struct zk_job_rec *rec = hw->rec;

	if (status > DRM_ZHIKAI_JOB_TIMEDOUT)
		status = DRM_ZHIKAI_JOB_ERROR;
	rec->status = status;
	if (status != DRM_ZHIKAI_JOB_OK)
		drm_dbg(&q->zdev->drm, "queue %u hw seqno %llu (ctx seqno %llu): status %u\n",
			q->idx, hw->base.seqno, rec->seqno, status);
	if (status != DRM_ZHIKAI_JOB_OK) {
		int err = zk_status_errno(status);

		dma_fence_set_error(&hw->base, err);
		if (rec->done &&
		    !test_bit(DMA_FENCE_FLAG_SIGNALED_BIT, &rec->done->flags))
			dma_fence_set_error(rec->done, err);
	}
	if (hw->ctx) {
		/*
		 * Jobs of a queue run one after the other: the job was busy
		 * from its doorbell or the previous job's end, whichever is
		 * later, until now.
		 */
		ktime_t now = ktime_get();
		ktime_t from = ktime_after(hw->queued, q->last_retired) ?
			       hw->queued : q->last_retired;

		atomic64_add(ktime_to_ns(ktime_sub(now, from)),
			     &hw->ctx->busy_ns[q->idx]);
		q->last_retired = now;
	}
	trace_zk_job_done(hw->ctx ? hw->ctx->id : 0, q->idx, rec->seqno,
			  hw->base.seqno, status);
	q->head = hw->ring_end;
	q->last_done = hw->base.seqno;
	q->completed++;
	list_del_init(&hw->link);
	dma_fence_signal_locked(&hw->base);
	/*
	 * Drop the hw -> rec edge now: rec->done (the scheduler's finished
	 * fence) keeps hw alive as its parent, so holding rec until hw is
	 * released would be a cycle that never frees (found by kmemleak).
	 */
	hw->rec = NULL;
	zk_job_rec_put(rec);
	dma_fence_put(&hw->base);
}

/* Retire the jobs the device reports complete; q->lock held. */
void zk_queue_process(struct zk_queue *q)
{
	struct zk_hw_fence *hw, *tmp;
	u64 done;

	lockdep_assert_held(&q->lock);
	if (list_empty(&q->inflight))
		return;
	done = zk_rd64_latched(q->zdev, ZK_QREG(q->idx, ZK_Q_FENCE_LO));
	if (done > q->next_seqno)	/* device gone or confused */
		return;
	list_for_each_entry_safe(hw, tmp, &q->inflight, link) {
		u32 status;

		if (hw->base.seqno > done)
			break;
		status = READ_ONCE(*zk_status_slot(q, hw->base.seqno));
		if (status == ZK_STATUS_PENDING)
			status = DRM_ZHIKAI_JOB_ERROR;
		zk_fence_complete(q, hw, status);
	}
}

/* After a reset: everything still in flight is lost. */
void zk_queue_abort(struct zk_queue *q, u32 status)
{
	struct zk_hw_fence *hw, *tmp;
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	list_for_each_entry_safe(hw, tmp, &q->inflight, link)
		zk_fence_complete(q, hw, hw->guilty ? DRM_ZHIKAI_JOB_TIMEDOUT :
				  status);
	q->head = 0;
	q->tail = 0;
	spin_unlock_irqrestore(&q->lock, flags);
}

bool zk_job_hw_signaled(struct drm_sched_job *sjob)
{
	struct zk_job *job = to_zk_job(sjob);

	return !job->hw_inited || dma_fence_is_signaled(&job->hw->base);
}

/*
 * @sjob timed out: its status becomes TIMEDOUT and its context is charged
 * with a hang; after zk_hang_ban_limit of them the context is banned (no
 * more SUBMIT, -EIO) so it cannot keep resetting everybody else's work.
 */
void zk_job_mark_guilty(struct drm_sched_job *sjob)
{
	struct zk_job *job = to_zk_job(sjob);
	struct zk_ctx *ctx = job->ctx;
	unsigned int limit = READ_ONCE(zk_hang_ban_limit);
	int hangs;

	if (job->hw_inited)
		job->hw->guilty = true;
	hangs = atomic_inc_return(&ctx->hangs);
	if (limit && hangs >= limit && !READ_ONCE(ctx->banned)) {
		WRITE_ONCE(ctx->banned, true);
		drm_warn(&ctx->zdev->drm, "context %u banned after %d job timeouts\n",
			 ctx->id, hangs);
	}
}

/* ---------------------------------------------------------------- */
/* Scheduler backend                                                */
/* ---------------------------------------------------------------- */

static u32 zk_ring_space(struct zk_queue *q)
{
	return ZK_RING_SIZE - ZK_CMD_SIZE -
	       ((q->tail - q->head) & (ZK_RING_SIZE - 1));
}

static void zk_ring_emit(struct zk_queue *q, const void *cmds, u32 bytes)
{
	while (bytes) {
		u32 n = min(bytes, ZK_RING_SIZE - q->tail);

		memcpy(q->ring + q->tail, cmds, n);
		q->tail = (q->tail + n) & (ZK_RING_SIZE - 1);
		cmds += n;
		bytes -= n;
	}
}

/* Hold the job back until the ring has room for it. */
static struct dma_fence *zk_job_prepare_run(struct drm_sched_job *sjob,
					    struct drm_sched_entity *entity)
{
	struct zk_job *job = to_zk_job(sjob);
	struct zk_queue *q = job->q;
	struct dma_fence *f = NULL;
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	if (zk_ring_space(q) < job->cmd_bytes + 2 * ZK_CMD_SIZE &&
	    !list_empty(&q->inflight))
		f = dma_fence_get(&list_first_entry(&q->inflight,
						    struct zk_hw_fence,
						    link)->base);
	spin_unlock_irqrestore(&q->lock, flags);
	return f;
}

/*
 * Put @job on its hardware ring (SET_CONTEXT + commands + JOB_END) and ring
 * the doorbell; drm_sched's run_job, so never during a recovery (drm_sched
 * is stopped then).
 */
static int zk_job_emit(struct zk_job *job)
{
	struct zk_queue *q = job->q;
	struct zk_device *zdev = q->zdev;
	struct zk_ctx *ctx = job->ctx;
	struct zk_hw_fence *hw = job->hw;
	struct zk_cmd_set_context set = {
		.hdr.opcode = ZK_CMD_SET_CONTEXT,
		.ctx_id = ctx->id,
		.pt_root = ctx->root->hbm_off,
	};
	struct zk_cmd_job_end end = {
		.hdr.opcode = ZK_CMD_JOB_END,
		.hdr.flags = ZK_JOB_END_F_IRQ,
	};
	unsigned long flags;
	u64 seqno;
	int idx;

	if (!drm_dev_enter(&zdev->drm, &idx))
		return -ENODEV;
	if (READ_ONCE(zdev->wedged) || READ_ONCE(ctx->banned)) {
		/* Queued before its context was banned: dropped (ABORTED). */
		drm_dev_exit(idx);
		return -EIO;
	}

	spin_lock_irqsave(&q->lock, flags);
	if (WARN_ON(zk_ring_space(q) < job->cmd_bytes + 2 * ZK_CMD_SIZE)) {
		spin_unlock_irqrestore(&q->lock, flags);
		drm_dev_exit(idx);
		return -ENOSPC;
	}
	seqno = ++q->next_seqno;
	dma_fence_init(&hw->base, &zk_hw_fence_ops, &q->lock,
		       q->fence_context, seqno);
	job->hw_inited = true;
	WRITE_ONCE(*zk_status_slot(q, seqno), ZK_STATUS_PENDING);

	end.seqno = seqno;
	end.status_bus = q->aux_dma + ZK_AUX_STATUS +
			 (seqno % ZK_STATUS_SLOTS) * sizeof(u32);
	zk_ring_emit(q, &set, sizeof(set));
	zk_ring_emit(q, job->cmds, job->cmd_bytes);
	zk_ring_emit(q, &end, sizeof(end));
	hw->ring_end = q->tail;
	hw->ctx = ctx;
	hw->queued = ktime_get();
	if (list_empty(&q->inflight))
		q->last_retired = hw->queued;

	dma_fence_get(&hw->base);	/* for the inflight list */
	list_add_tail(&hw->link, &q->inflight);
	q->submitted++;
	trace_zk_job_run(ctx->id, q->idx, job->rec->seqno, seqno, 0);
	wmb(); /* ring, status slot and page tables before the doorbell */
	zk_qwr(q, ZK_Q_DOORBELL, q->tail);
	spin_unlock_irqrestore(&q->lock, flags);
	drm_dev_exit(idx);

	/* The commands are on the ring now. */
	kvfree(job->cmds);
	job->cmds = NULL;
	return 0;
}

static struct dma_fence *zk_job_run(struct drm_sched_job *sjob)
{
	struct zk_job *job = to_zk_job(sjob);
	int ret;

	if (sjob->s_fence->finished.error)
		return ERR_PTR(sjob->s_fence->finished.error);
	ret = zk_job_emit(job);
	if (ret)
		return ERR_PTR(ret);
	return dma_fence_get(&job->hw->base);
}

static enum drm_gpu_sched_stat zk_job_timedout(struct drm_sched_job *sjob)
{
	struct zk_job *job = to_zk_job(sjob);

	trace_zk_job_timeout(job->ctx->id, job->q->idx, job->rec->seqno,
			     job->hw_inited ? job->hw->base.seqno : 0,
			     DRM_ZHIKAI_JOB_TIMEDOUT);
	if (zk_reset_recover(job->q->zdev, job->q, sjob, ZK_RESET_ENGINE,
			     "job timeout") == -ENODEV)
		return DRM_GPU_SCHED_STAT_ENODEV;	/* no timer re-arm */
	return DRM_GPU_SCHED_STAT_NOMINAL;
}

static void zk_job_release(struct zk_job *job)
{
	u32 i;

	if (job->sched_inited)
		drm_sched_job_cleanup(&job->base);
	for (i = 0; i < job->nbos; i++)
		drm_gem_object_put(job->bos[i]);
	kvfree(job->bos);
	if (job->hw_inited)
		dma_fence_put(&job->hw->base);
	else if (job->hw)
		zk_fence_release_unused(job->hw);
	zk_job_rec_put(job->rec);
	if (job->out_sync)
		drm_syncobj_put(job->out_sync);
	dma_fence_chain_free(job->chain);
	kvfree(job->cmds);
	if (job->counted && atomic_dec_return(&job->ctx->jobs_inflight) <
	    READ_ONCE(zk_ctx_max_jobs))
		wake_up_all(&job->ctx->jobs_wq);
	/* Deferred to zk_wq if last: never released in scheduler context. */
	zk_ctx_put(job->ctx);
	kfree(job);
}

static void zk_job_free(struct drm_sched_job *sjob)
{
	zk_job_release(to_zk_job(sjob));
}

static const struct drm_sched_backend_ops zk_sched_ops = {
	ZK_SCHED_OPS_PREPARE(zk_job_prepare_run),
	.run_job = zk_job_run,
	.timedout_job = zk_job_timedout,
	.free_job = zk_job_free,
};

int zk_queues_init(struct zk_device *zdev)
{
	struct device *dev = &zdev->pdev->dev;
	long timeout = zk_job_timeout_ms ? msecs_to_jiffies(zk_job_timeout_ms) :
		       MAX_SCHEDULE_TIMEOUT;
	u32 i;
	int ret;

	for (i = 0; i < zdev->num_queues; i++) {
		struct zk_queue *q = &zdev->queues[i];

		/* zdev, idx, lock and inflight: set up by probe already. */
		snprintf(q->name, sizeof(q->name), "zk-q%u", i);
		q->fence_context = dma_fence_context_alloc(1);
		q->ring = dmam_alloc_coherent(dev, ZK_RING_SIZE, &q->ring_dma,
					      GFP_KERNEL);
		q->aux = dmam_alloc_coherent(dev, ZK_AUX_SIZE, &q->aux_dma,
					     GFP_KERNEL);
		if (!q->ring || !q->aux)
			return -ENOMEM;
		ret = zk_sched_init(&q->sched, &zk_sched_ops, ZK_HW_JOB_LIMIT,
				    timeout, q->name, dev);
		if (ret) {
			drm_err(&zdev->drm, "queue %u: scheduler init failed: %d\n",
				i, ret);
			return ret;
		}
		q->sched_ready = true;
	}
	return 0;
}

/*
 * Stop the schedulers for good: remove() (every entity is gone by then) or
 * the drmm release of a probe that failed.  drm_sched_fini() stops the
 * scheduler's thread/work and waits for its timeout handler but, on the
 * kernels we build for, leaves jobs on the pending list; every one of them
 * was retired or failed (the hardware fences were aborted), so free them
 * here, from process context, with the device still alive.
 */
void zk_queues_fini(struct zk_device *zdev)
{
	u32 i;

	for (i = 0; i < zdev->num_queues; i++) {
		struct drm_gpu_scheduler *sched = &zdev->queues[i].sched;
		struct drm_sched_job *sjob;

		if (!zdev->queues[i].sched_ready)
			continue;
		zdev->queues[i].sched_ready = false;
		drm_sched_fini(sched);
		for (;;) {
			spin_lock(&sched->job_list_lock);
			sjob = list_first_entry_or_null(&sched->pending_list,
							struct drm_sched_job,
							list);
			if (sjob)
				list_del_init(&sjob->list);
			spin_unlock(&sched->job_list_lock);
			if (!sjob)
				break;
			WARN_ON(!dma_fence_is_signaled(&sjob->s_fence->finished));
			zk_job_free(sjob);
		}
	}
}

/*
 * After unplug: a timed-out job's scheduler may be finalized concurrently
 * by remove(), so neither park nor restart it; give drm_sched the job back
 * (its timeout handler took it off the pending list) for remove() to free.
 */
void zk_sched_requeue_bad(struct drm_sched_job *bad)
{
	struct drm_gpu_scheduler *sched = bad->sched;

	spin_lock(&sched->job_list_lock);
	list_add(&bad->list, &sched->pending_list);
	spin_unlock(&sched->job_list_lock);
}

int zk_ctx_entities_init(struct zk_ctx *ctx)
{
	struct zk_device *zdev = ctx->zdev;
	u32 i;
	int ret;

	for (i = 0; i < zdev->num_queues; i++) {
		struct drm_gpu_scheduler *sched = &zdev->queues[i].sched;

		ret = drm_sched_entity_init(&ctx->entity[i],
					    DRM_SCHED_PRIORITY_NORMAL,
					    &sched, 1, NULL);
		if (ret) {
			zk_ctx_entities_fini(ctx);
			return ret;
		}
		ctx->num_entities = i + 1;
	}
	return 0;
}

/*
 * drm_sched_stop() detaches the scheduler from the hardware fences of the
 * jobs it leaves pending; 6.12's drm_sched_start() then fails every job
 * without one with -ECANCELED, a job that completed fine included.  Give
 * each its hardware fence back (all are signalled by now: retired, or
 * aborted by the reset), so the restart reports each job's own status.
 * The scheduler is stopped: nothing else walks its pending list.
 */
void zk_sched_reattach_fences(struct drm_gpu_scheduler *sched)
{
	struct drm_sched_job *sjob;

	spin_lock(&sched->job_list_lock);
	list_for_each_entry(sjob, &sched->pending_list, list) {
		struct zk_job *job = to_zk_job(sjob);

		if (!sjob->s_fence->parent && job->hw_inited)
			sjob->s_fence->parent = dma_fence_get(&job->hw->base);
	}
	spin_unlock(&sched->job_list_lock);
}

/*
 * File close: let queued jobs reach the hardware (bounded for a dying
 * process), then kill the rest.  After unplug (@unplug, from remove()) the
 * queued jobs only fail: kill them without waiting.  Each entity goes once,
 * whichever of close and remove comes first; the schedulers are finalized
 * only after every entity is gone (6.12 frees the run queues in fini).
 */
static void __zk_ctx_entities_fini(struct zk_ctx *ctx, bool unplug)
{
	u32 i;

	mutex_lock(&ctx->entity_lock);
	for (i = 0; i < ctx->num_entities; i++) {
		if (unplug)
			drm_sched_entity_fini(&ctx->entity[i]);
		else
			drm_sched_entity_destroy(&ctx->entity[i]);
	}
	ctx->num_entities = 0;
	mutex_unlock(&ctx->entity_lock);
}

void zk_ctx_entities_fini(struct zk_ctx *ctx)
{
	__zk_ctx_entities_fini(ctx, false);
}

/* remove(): every open context's entities, before the schedulers go. */
void zk_ctxs_entities_fini(struct zk_device *zdev)
{
	struct zk_ctx *ctx;
	unsigned long id = 0;

	for (;;) {
		xa_lock(&zdev->ctx_xa);
		ctx = xa_find(&zdev->ctx_xa, &id, ULONG_MAX, XA_PRESENT);
		/* Being freed: its entities went at close already. */
		while (ctx && !kref_get_unless_zero(&ctx->ref)) {
			id++;
			ctx = xa_find(&zdev->ctx_xa, &id, ULONG_MAX,
				      XA_PRESENT);
		}
		xa_unlock(&zdev->ctx_xa);
		if (!ctx)
			break;
		__zk_ctx_entities_fini(ctx, true);
		zk_ctx_put(ctx);
		id++;
	}
}

/* ---------------------------------------------------------------- */
/* Command validation                                               */
/* ---------------------------------------------------------------- */

static int zk_job_add_bo(struct zk_job *job, struct zk_bo *bo)
{
	struct drm_gem_object *obj = &bo->shmem.base;
	u32 i;

	for (i = job->nbos > 16 ? job->nbos - 16 : 0; i < job->nbos; i++)
		if (job->bos[i] == obj)
			return 0;
	if (WARN_ON(job->nbos >= job->max_bos))
		return -EINVAL;
	/* Found under ctx->lock: it may already be on its way out. */
	if (!kref_get_unless_zero(&obj->refcount))
		return -ERANGE;
	job->bos[job->nbos++] = obj;
	return 0;
}

static int zk_check_range(struct zk_job *job, u32 n, u64 va, u64 len,
			  const char *what)
{
	struct zk_bo *bo;

	if (!zk_cmd_addr_check)
		return 0;
	bo = zk_ctx_find_bo(job->ctx, va, len);
	if (!bo) {
		drm_dbg(&job->q->zdev->drm,
			"ctx %u cmd %u: %s [0x%llx, +0x%llx) not inside one mapping\n",
			job->ctx->id, n, what, va, len);
		return -ERANGE;
	}
	return zk_job_add_bo(job, bo);
}

#define ZK_PAD_ZERO(p) (!memchr_inv((p)->pad, 0, sizeof((p)->pad)))

static int zk_validate_cmd(struct zk_job *job, u32 n, const void *raw)
{
	const struct zk_cmd_hdr *hdr = raw;
	struct drm_device *drm = &job->q->zdev->drm;

	if (hdr->reserved0 || hdr->reserved1)
		goto bad;

	switch (hdr->opcode) {
	case ZK_CMD_NOP:
		if (hdr->flags || memchr_inv(raw + sizeof(*hdr), 0,
					     ZK_CMD_SIZE - sizeof(*hdr)))
			goto bad;
		return 0;
	case ZK_CMD_DMA: {
		const struct zk_cmd_dma *c = raw;
		int ret;

		if ((hdr->flags & ~(ZK_DMA_F_FILL | ZK_DMA_F_SGLIST)) ||
		    !ZK_PAD_ZERO(c) || !c->size)
			goto bad;
		if (hdr->flags & ZK_DMA_F_SGLIST) {
			if (c->size > ZK_DMA_MAX_SG || c->dst)
				goto bad;
			return zk_check_range(job, n, c->src,
					      c->size * sizeof(struct zk_dma_sg),
					      "DMA sg list");
		}
		if (!(hdr->flags & ZK_DMA_F_FILL)) {
			ret = zk_check_range(job, n, c->src, c->size, "DMA src");
			if (ret)
				return ret;
		}
		return zk_check_range(job, n, c->dst, c->size, "DMA dst");
	}
	case ZK_CMD_LAUNCH: {
		const struct zk_cmd_launch *c = raw;
		int ret;

		if ((hdr->flags & ~ZK_LAUNCH_F_SIMT) || c->reserved ||
		    !c->code_size || c->entry >= c->code_size)
			goto bad;
		/* SIMT shapes and sizes are the device's to check (it faults). */
		if (hdr->flags & ZK_LAUNCH_F_SIMT) {
			if (c->args_size > ZK_SIMT_MAX_PARAMS)
				goto bad;
		} else if (c->shared_bytes || c->local_bytes || c->block[0] ||
			   c->block[1] || c->block[2] || c->args_size % 8 ||
			   c->args_size > 8 * ZK_MAX_ARGS) {
			goto bad;
		}
		ret = zk_check_range(job, n, c->code_va, c->code_size,
				     "LAUNCH code");
		if (ret || !c->args_size)
			return ret;
		return zk_check_range(job, n, c->args_va, c->args_size,
				      "LAUNCH args");
	}
	case ZK_CMD_FENCE: {
		const struct zk_cmd_fence *c = raw;

		if ((hdr->flags & ~ZK_FENCE_F_IRQ) || !ZK_PAD_ZERO(c) ||
		    c->addr % 8)
			goto bad;
		return zk_check_range(job, n, c->addr, 8, "FENCE addr");
	}
	case ZK_CMD_WAIT: {
		const struct zk_cmd_wait *c = raw;

		if (hdr->flags || !ZK_PAD_ZERO(c) || c->addr % 8)
			goto bad;
		return zk_check_range(job, n, c->addr, 8, "WAIT addr");
	}
	case ZK_CMD_TIMESTAMP: {
		const struct zk_cmd_timestamp *c = raw;

		if ((hdr->flags & ~(ZK_TS_F_CARD_TIME | ZK_TS_F_CARD_ENERGY)) || !ZK_PAD_ZERO(c) ||
		    c->addr % 8)
			goto bad;
		return zk_check_range(job, n, c->addr, 8, "TIMESTAMP addr");
	}
	default:
		/* SET_CONTEXT and JOB_END are the driver's. */
		break;
	}
bad:
	drm_dbg(drm, "ctx %u cmd %u: invalid command (opcode 0x%02x flags 0x%02x)\n",
		job->ctx->id, n, hdr->opcode, hdr->flags);
	return -EINVAL;
}

/* ---------------------------------------------------------------- */
/* SUBMIT                                                           */
/* ---------------------------------------------------------------- */

static int zk_job_prepare(struct drm_file *file, struct zk_ctx *ctx,
			  const struct drm_zhikai_job *uj, struct zk_job **out)
{
	struct zk_device *zdev = ctx->zdev;
	struct zk_job *job;
	struct zk_bo *bo;
	u32 *handles = NULL;
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
		handles = kvmalloc_array(uj->bo_count, sizeof(u32),
					 GFP_KERNEL_ACCOUNT);
		if (!handles) {
			ret = -ENOMEM;
			goto err;
		}
		if (copy_from_user(handles, u64_to_user_ptr(uj->bo_handles),
				   uj->bo_count * sizeof(u32))) {
			ret = -EFAULT;
			goto err;
		}
		for (i = 0; i < uj->bo_count; i++) {
			bo = zk_bo_lookup(file, handles[i]);
			if (!bo) {
				ret = -ENOENT;
				goto err;
			}
			job->bos[job->nbos++] = &bo->shmem.base;
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
	kvfree(handles);
	*out = job;
	return 0;

err:
	kvfree(handles);
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

/* ---------------------------------------------------------------- */
/* WAIT                                                             */
/* ---------------------------------------------------------------- */

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

/* ---------------------------------------------------------------- */
/* Doorbell + interrupt round trip (the floor of a job's latency)    */
/* ---------------------------------------------------------------- */

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
	t0 = ktime_get();
	for (i = 0; i < n && !ret; i++) {
		ret = zk_queue_ping(&zdev->queues[qi]);
		if (!ret && signal_pending(current))
			ret = -EINTR;
	}
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
