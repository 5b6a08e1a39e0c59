/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * zk_trace.h - tracepoints: the job timeline (submit, run, done, timeout,
 * reset) and BO lifetime, for the kernel's own tools:
 *   echo 1 > /sys/kernel/tracing/events/zhikai/enable; cat .../trace
 * seqno: the context's job number (SUBMIT's, WAIT's); hw_seqno: the queue's.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM zhikai

#if !defined(ZK_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define ZK_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(zk_job_submit,
	    TP_PROTO(u32 ctx, u32 queue, u64 seqno, u32 cmd_bytes),
	    TP_ARGS(ctx, queue, seqno, cmd_bytes),
	    TP_STRUCT__entry(__field(u32, ctx)
			     __field(u32, queue)
			     __field(u64, seqno)
			     __field(u32, cmd_bytes)),
	    TP_fast_assign(__entry->ctx = ctx;
			   __entry->queue = queue;
			   __entry->seqno = seqno;
			   __entry->cmd_bytes = cmd_bytes;),
	    TP_printk("ctx=%u queue=%u seqno=%llu cmd_bytes=%u", __entry->ctx,
		      __entry->queue, __entry->seqno, __entry->cmd_bytes)
);

DECLARE_EVENT_CLASS(zk_job_hw,
		    TP_PROTO(u32 ctx, u32 queue, u64 seqno, u64 hw_seqno, u32 status),
		    TP_ARGS(ctx, queue, seqno, hw_seqno, status),
		    TP_STRUCT__entry(__field(u32, ctx)
				     __field(u32, queue)
				     __field(u64, seqno)
				     __field(u64, hw_seqno)
				     __field(u32, status)),
		    TP_fast_assign(__entry->ctx = ctx;
				   __entry->queue = queue;
				   __entry->seqno = seqno;
				   __entry->hw_seqno = hw_seqno;
				   __entry->status = status;),
		    TP_printk("ctx=%u queue=%u seqno=%llu hw_seqno=%llu status=%u",
			      __entry->ctx, __entry->queue, __entry->seqno,
			      __entry->hw_seqno, __entry->status)
	);

/* Written to the ring, doorbell rung (status 0). */
DEFINE_EVENT(zk_job_hw, zk_job_run,
	     TP_PROTO(u32 ctx, u32 queue, u64 seqno, u64 hw_seqno, u32 status),
	     TP_ARGS(ctx, queue, seqno, hw_seqno, status));

/* Retired with DRM_ZHIKAI_JOB_* status. */
DEFINE_EVENT(zk_job_hw, zk_job_done,
	     TP_PROTO(u32 ctx, u32 queue, u64 seqno, u64 hw_seqno, u32 status),
	     TP_ARGS(ctx, queue, seqno, hw_seqno, status));

DEFINE_EVENT(zk_job_hw, zk_job_timeout,
	     TP_PROTO(u32 ctx, u32 queue, u64 seqno, u64 hw_seqno, u32 status),
	     TP_ARGS(ctx, queue, seqno, hw_seqno, status));

/* level: ZK_RESET_QUEUE/ENGINE/DEVICE; queue -1: none; ret: errno. */
TRACE_EVENT(zk_reset,
	    TP_PROTO(u32 level, int queue, int ret),
	    TP_ARGS(level, queue, ret),
	    TP_STRUCT__entry(__field(u32, level)
			     __field(int, queue)
			     __field(int, ret)),
	    TP_fast_assign(__entry->level = level;
			   __entry->queue = queue;
			   __entry->ret = ret;),
	    TP_printk("level=%u queue=%d ret=%d", __entry->level, __entry->queue,
		      __entry->ret)
);

DECLARE_EVENT_CLASS(zk_bo,
		    TP_PROTO(u32 ctx, u64 va, u64 size, bool hbm),
		    TP_ARGS(ctx, va, size, hbm),
		    TP_STRUCT__entry(__field(u32, ctx)
				     __field(u64, va)
				     __field(u64, size)
				     __field(bool, hbm)),
		    TP_fast_assign(__entry->ctx = ctx;
				   __entry->va = va;
				   __entry->size = size;
				   __entry->hbm = hbm;),
		    TP_printk("ctx=%u va=0x%llx size=0x%llx %s", __entry->ctx,
			      __entry->va, __entry->size, __entry->hbm ? "hbm" : "host")
	);

DEFINE_EVENT(zk_bo, zk_bo_create,
	     TP_PROTO(u32 ctx, u64 va, u64 size, bool hbm),
	     TP_ARGS(ctx, va, size, hbm));

/* The last reference went; the memory follows once the device is done. */
DEFINE_EVENT(zk_bo, zk_bo_free,
	     TP_PROTO(u32 ctx, u64 va, u64 size, bool hbm),
	     TP_ARGS(ctx, va, size, hbm));

/* Memory given back (zk_ctx_reap_work). */
DEFINE_EVENT(zk_bo, zk_bo_release,
	     TP_PROTO(u32 ctx, u64 va, u64 size, bool hbm),
	     TP_ARGS(ctx, va, size, hbm));

#endif /* ZK_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE zk_trace
#include <trace/define_trace.h>
