// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_parse.c - validation of user commands at SUBMIT: a clear -EINVAL/-ERANGE
 * early, and the BOs a command addresses kept alive by the job (the device
 * MMU stays the hard guarantee)
 */
#include <linux/string.h>

#include "zk_drv.h"
#include "zk_job.h"
#include "zhikai_isa.h"

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

int zk_validate_cmd(struct zk_job *job, u32 n, const void *raw)
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

