// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_sched.c - the drm_sched backend: one scheduler per hardware queue,
 * one entity per (context, queue).  Puts each job on its hardware ring as
 * SET_CONTEXT + the user's commands + JOB_END; tears schedulers and
 * entities down.
 */
#include <linux/dma-mapping.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <drm/drm_syncobj.h>

#include "zk_drv.h"
#include "zk_job.h"
#include "zk_trace.h"

u32 zk_ring_space(struct zk_queue *q)
{
	return ZK_RING_SIZE - ZK_CMD_SIZE -
	       ((q->tail - q->head) & (ZK_RING_SIZE - 1));
}

void zk_ring_emit(struct zk_queue *q, const void *cmds, u32 bytes)
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

void zk_job_release(struct zk_job *job)
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
	if (job->counted)
		zk_pm_put(job->ctx->zdev);	/* asynchronous */
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

