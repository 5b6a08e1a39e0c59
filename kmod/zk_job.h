/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * zk_job.h - one job, shared by the files that handle it: zk_submit.c
 * (SUBMIT), zk_parse.c (command validation), zk_sched.c (drm_sched
 * backend), zk_fence.c (completion), zk_kjob.c (driver jobs).
 */
#ifndef ZK_JOB_H
#define ZK_JOB_H

#include "zk_drv.h"

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
	bool counted;	/* in ctx->jobs_inflight; holds a runtime PM reference */
};

#define to_zk_job(j) container_of(j, struct zk_job, base)

/* zk_fence.c */
extern const struct dma_fence_ops zk_hw_fence_ops;
struct zk_job_rec *zk_job_rec_get(struct zk_job_rec *rec);
void zk_fence_release_unused(struct zk_hw_fence *hw);
u32 *zk_status_slot(struct zk_queue *q, u64 seqno);

/* zk_sched.c */
u32 zk_ring_space(struct zk_queue *q);
void zk_ring_emit(struct zk_queue *q, const void *cmds, u32 bytes);
void zk_job_release(struct zk_job *job);

/* zk_parse.c */
int zk_validate_cmd(struct zk_job *job, u32 n, const void *raw);

#endif /* ZK_JOB_H */
