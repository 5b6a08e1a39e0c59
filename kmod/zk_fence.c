// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_fence.c - job records and hardware fences: the completion side of a queue
 */
#include <linux/ktime.h>
#include <linux/slab.h>

#include "zk_drv.h"
#include "zk_job.h"
#include "zk_trace.h"

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

struct zk_job_rec *zk_job_rec_get(struct zk_job_rec *rec)
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
void zk_fence_release_unused(struct zk_hw_fence *hw)
{
	zk_job_rec_put(hw->rec);
	kfree(hw);
}

const struct dma_fence_ops zk_hw_fence_ops = {
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

u32 *zk_status_slot(struct zk_queue *q, u64 seqno)
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
