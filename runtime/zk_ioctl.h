/* SPDX-License-Identifier: MIT */
/*
 * zk_ioctl.h - the runtime's only window onto the kernel driver.
 *
 * Thin wrappers around the zhikai uapi, DRM core (GEM close, syncobjs,
 * device enumeration) and mmap.  Every function returns 0 or -errno and
 * does not touch errno-visible state beyond that.  Host unit tests replace
 * this file with a software fake (tests/host/zk_fake_ioctl.c).
 */
#ifndef ZK_IOCTL_H
#define ZK_IOCTL_H

#include <stddef.h>
#include <stdint.h>

/* Mirrors of the uapi values the rest of the runtime needs. */
enum {
    ZKIO_PARAM_DEVICE_ID = 0,
    ZKIO_PARAM_REVISION = 1,
    ZKIO_PARAM_HW_VERSION = 2,
    ZKIO_PARAM_HBM_SIZE = 3,
    ZKIO_PARAM_HBM_STACKS = 4,
    ZKIO_PARAM_NUM_QUEUES = 5,
    ZKIO_PARAM_FW_VERSION = 6,
    ZKIO_PARAM_API_VERSION = 7,
    ZKIO_PARAM_CAPS = 8,
    ZKIO_PARAM_CLOCK_MAX_MHZ = 9,
    ZKIO_PARAM_HBM_USED = 10,
    ZKIO_PARAM_CTX_MEM_USED = 11,
    ZKIO_PARAM_CTX_MEM_LIMIT = 12,
    ZKIO_PARAM_VA_START = 13,
    ZKIO_PARAM_VA_SIZE = 14,
    ZKIO_PARAM_TIMESTAMP_NS = 15,
    ZKIO_PARAM_CTX_ID = 16,
    ZKIO_PARAM_COMPUTE_UNITS = 17,
};

#define ZKIO_BO_HBM   0u
#define ZKIO_BO_HOST  1u

enum {
    ZKIO_JOB_OK = 0,
    ZKIO_JOB_FAULTED = 1,
    ZKIO_JOB_ERROR = 2,
    ZKIO_JOB_ABORTED = 3,
    ZKIO_JOB_TIMEDOUT = 4,
};

#define ZKIO_MAX_JOBS      256
#define ZKIO_MAX_JOB_BOS   1024
#define ZKIO_MAX_CMD_BYTES (1u << 20)

typedef struct zkio_job {
    uint32_t queue;
    uint32_t cmd_handle;
    uint32_t cmd_offset;
    uint32_t cmd_size;
    uint32_t bo_count;
    const uint32_t *bo_handles;
    uint32_t in_syncobj;
    uint32_t out_syncobj;
    uint64_t seqno;             /* out */
} zkio_job;

typedef struct zkio_node {
    char path[64];              /* /dev/accel/accelN or /dev/dri/renderDN */
    char bus_id[32];            /* dddd:bb:dd.f */
    uint32_t vendor_id, device_id, revision;
    char driver_name[32];
    int drv_major, drv_minor, drv_patch;
} zkio_node;

/* Name of the last failing call in this thread ("DRM_IOCTL_ZHIKAI_SUBMIT"). */
const char *zkio_last_call(void);

/* Fill up to @max nodes driven by "zhikai"; returns count or -errno. */
int zkio_enumerate(zkio_node *nodes, int max);
/* Returns an fd or -errno. */
int zkio_open(const char *path);
void zkio_close(int fd);

int zkio_get_param(int fd, uint32_t param, uint64_t *value);
int zkio_bo_create(int fd, uint64_t size, uint32_t flags, uint32_t *handle,
                   uint64_t *device_va);
int zkio_bo_info(int fd, uint32_t handle, uint64_t *mmap_offset,
                 uint64_t *size);
int zkio_bo_close(int fd, uint32_t handle);
/* mmap @size bytes of a BO; *out = address. */
int zkio_bo_mmap(int fd, uint64_t mmap_offset, size_t size, void **out);
int zkio_munmap(void *addr, size_t size);

int zkio_submit(int fd, zkio_job *jobs, unsigned int count);
/* @deadline_ns: absolute CLOCK_MONOTONIC; -ETIME when passed. */
int zkio_wait(int fd, uint64_t seqno, int64_t deadline_ns, uint32_t *status);

int zkio_syncobj_create(int fd, uint32_t *handle);
int zkio_syncobj_destroy(int fd, uint32_t handle);

/* CLOCK_MONOTONIC now, ns. */
int64_t zkio_now_ns(void);

#endif /* ZK_IOCTL_H */
