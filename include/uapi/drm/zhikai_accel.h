/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
/*
 * zhikai_accel.h - userspace interface of the zhikai DRM/accel driver.
 *
 * Every struct has a fixed size with explicit padding; pointers travel as
 * __u64; every reserved/pad field must be zero or the ioctl fails with
 * -EINVAL; unknown flags are rejected.
 */
#ifndef _UAPI_DRM_ZHIKAI_ACCEL_H
#define _UAPI_DRM_ZHIKAI_ACCEL_H

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

#define DRM_ZHIKAI_GET_PARAM    0x00
#define DRM_ZHIKAI_BO_CREATE    0x01
#define DRM_ZHIKAI_BO_INFO      0x02
#define DRM_ZHIKAI_SUBMIT       0x03
#define DRM_ZHIKAI_WAIT         0x04

#define DRM_IOCTL_ZHIKAI_GET_PARAM \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_ZHIKAI_GET_PARAM, struct drm_zhikai_get_param)
#define DRM_IOCTL_ZHIKAI_BO_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_ZHIKAI_BO_CREATE, struct drm_zhikai_bo_create)
#define DRM_IOCTL_ZHIKAI_BO_INFO \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_ZHIKAI_BO_INFO, struct drm_zhikai_bo_info)
#define DRM_IOCTL_ZHIKAI_SUBMIT \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_ZHIKAI_SUBMIT, struct drm_zhikai_submit)
#define DRM_IOCTL_ZHIKAI_WAIT \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_ZHIKAI_WAIT, struct drm_zhikai_wait)

/* Parameters for DRM_IOCTL_ZHIKAI_GET_PARAM. */
#define DRM_ZHIKAI_PARAM_DEVICE_ID        0   /* PCI device id */
#define DRM_ZHIKAI_PARAM_REVISION         1   /* PCI revision */
#define DRM_ZHIKAI_PARAM_HW_VERSION       2   /* ZK_REG_VERSION */
#define DRM_ZHIKAI_PARAM_HBM_SIZE         3   /* bytes of HBM */
#define DRM_ZHIKAI_PARAM_HBM_STACKS       4
#define DRM_ZHIKAI_PARAM_NUM_QUEUES       5
#define DRM_ZHIKAI_PARAM_FW_VERSION       6
#define DRM_ZHIKAI_PARAM_API_VERSION      7
#define DRM_ZHIKAI_PARAM_CAPS             8   /* ZK_CAP_* */
#define DRM_ZHIKAI_PARAM_CLOCK_MAX_MHZ    9
#define DRM_ZHIKAI_PARAM_HBM_USED        10   /* whole device, bytes */
#define DRM_ZHIKAI_PARAM_CTX_MEM_USED    11   /* this open file, bytes */
#define DRM_ZHIKAI_PARAM_CTX_MEM_LIMIT   12   /* this open file, bytes */
#define DRM_ZHIKAI_PARAM_VA_START        13   /* first usable device VA */
#define DRM_ZHIKAI_PARAM_VA_SIZE         14
#define DRM_ZHIKAI_PARAM_TIMESTAMP_NS    15   /* device clock now */
#define DRM_ZHIKAI_PARAM_CTX_ID          16   /* this open file's context id */
#define DRM_ZHIKAI_PARAM_COMPUTE_UNITS   17   /* blocks run in parallel */
#define DRM_ZHIKAI_PARAM_COUNT           18

/**
 * struct drm_zhikai_get_param - read one device or context parameter
 * @param: DRM_ZHIKAI_PARAM_*
 * @reserved: must be zero
 * @value: out
 */
struct drm_zhikai_get_param {
	__u32 param;
	__u32 reserved;
	__u64 value;
};

#define DRM_ZHIKAI_BO_HBM       0x0         /* device memory (default) */
#define DRM_ZHIKAI_BO_HOST      (1u << 0)   /* host memory, reached by DMA */
#define DRM_ZHIKAI_BO_FLAGS     DRM_ZHIKAI_BO_HOST
/*
 * Out only (BO_INFO): the device reported an uncorrectable memory error in
 * this BO; its contents may be corrupt.
 */
#define DRM_ZHIKAI_BO_POISONED  (1u << 31)

/**
 * struct drm_zhikai_bo_create - create a buffer object mapped in this
 * file's device address space
 * @size: bytes, > 0; rounded up to the page size
 * @flags: DRM_ZHIKAI_BO_*
 * @handle: out, GEM handle
 * @device_va: out, device virtual address in this context
 */
struct drm_zhikai_bo_create {
	__u64 size;
	__u32 flags;
	__u32 handle;
	__u64 device_va;
};

/**
 * struct drm_zhikai_bo_info - look up a buffer object
 * @handle: GEM handle
 * @flags: out, DRM_ZHIKAI_BO_*
 * @mmap_offset: out, offset to pass to mmap() on this fd
 * @device_va: out
 * @size: out, bytes
 */
struct drm_zhikai_bo_info {
	__u32 handle;
	__u32 flags;
	__u64 mmap_offset;
	__u64 device_va;
	__u64 size;
};

/**
 * struct drm_zhikai_job - one job of a DRM_IOCTL_ZHIKAI_SUBMIT
 * @queue: hardware queue index, < DRM_ZHIKAI_PARAM_NUM_QUEUES
 * @flags: must be zero
 * @cmd_handle: BO holding the commands (struct zk_cmd_* of zhikai_hw.h)
 * @cmd_offset: byte offset in it, multiple of 64
 * @cmd_size: bytes, multiple of 64, > 0, <= DRM_ZHIKAI_MAX_CMD_BYTES
 * @bo_count: entries in @bo_handles (<= DRM_ZHIKAI_MAX_JOB_BOS)
 * @bo_handles: pointer to __u32 GEM handles the job uses (kept alive)
 * @in_syncobj: syncobj to wait for before running, 0 = none
 * @out_syncobj: syncobj that receives the job's fence, 0 = none
 * @in_point: timeline point of @in_syncobj (0 for a binary syncobj)
 * @out_point: timeline point of @out_syncobj (0 for a binary syncobj)
 * @seqno: out, the job's sequence number in this context (monotonic, >= 1)
 */
struct drm_zhikai_job {
	__u32 queue;
	__u32 flags;
	__u32 cmd_handle;
	__u32 cmd_offset;
	__u32 cmd_size;
	__u32 bo_count;
	__u64 bo_handles;
	__u32 in_syncobj;
	__u32 out_syncobj;
	__u64 in_point;
	__u64 out_point;
	__u64 seqno;
};

#define DRM_ZHIKAI_MAX_JOBS       256
#define DRM_ZHIKAI_MAX_JOB_BOS    1024
#define DRM_ZHIKAI_MAX_CMD_BYTES  (1u << 20)

/**
 * struct drm_zhikai_submit - submit one or more jobs
 * @jobs: pointer to an array of struct drm_zhikai_job
 * @job_count: 1..DRM_ZHIKAI_MAX_JOBS
 * @job_stride: sizeof(struct drm_zhikai_job)
 * @flags: must be zero
 * @reserved: must be zero
 *
 * Jobs are validated all before any is queued: on error nothing runs.
 */
struct drm_zhikai_submit {
	__u64 jobs;
	__u32 job_count;
	__u32 job_stride;
	__u32 flags;
	__u32 reserved;
};

#define DRM_ZHIKAI_WAIT_BO       (1u << 0)  /* wait for all jobs using @handle */

#define DRM_ZHIKAI_JOB_OK        0
#define DRM_ZHIKAI_JOB_FAULTED   1  /* touched memory outside its mappings */
#define DRM_ZHIKAI_JOB_ERROR     2  /* bad command or kernel */
#define DRM_ZHIKAI_JOB_ABORTED   3  /* lost in a reset caused by someone else */
#define DRM_ZHIKAI_JOB_TIMEDOUT  4  /* exceeded the job timeout; reset */

/**
 * struct drm_zhikai_wait - wait for a job (or a BO's jobs) to finish
 * @seqno: job sequence number from SUBMIT (ignored with DRM_ZHIKAI_WAIT_BO)
 * @handle: BO handle with DRM_ZHIKAI_WAIT_BO, else zero
 * @flags: DRM_ZHIKAI_WAIT_*
 * @timeout_ns: absolute CLOCK_MONOTONIC deadline; -ETIME when passed
 * @status: out, DRM_ZHIKAI_JOB_*
 * @reserved: must be zero
 */
struct drm_zhikai_wait {
	__u64 seqno;
	__u32 handle;
	__u32 flags;
	__s64 timeout_ns;
	__u32 status;
	__u32 reserved;
};

#if defined(__cplusplus)
}
#endif

#endif /* _UAPI_DRM_ZHIKAI_ACCEL_H */
