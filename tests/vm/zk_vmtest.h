/* SPDX-License-Identifier: MIT */
/*
 * zk_vmtest.h - helpers shared by the in-VM driver tests: TAP output,
 * finding the zhikai node, BOs, command building, submit and wait.
 */
#ifndef ZK_VMTEST_H
#define ZK_VMTEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <xf86drm.h>

#include "zhikai_hw.h"
#include "zhikai_accel.h"

/* ---- TAP ---------------------------------------------------------- */

static int tap_n __attribute__((unused)), tap_failed __attribute__((unused));

static inline void __attribute__((format(printf, 2, 3)))
ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed++;
}

static inline void __attribute__((format(printf, 1, 2))) diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static inline void skip(const char *name, const char *why)
{
	printf("ok %d - %s # SKIP %s\n", ++tap_n, name, why);
	fflush(stdout);
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

/* ---- node ---------------------------------------------------------- */

static inline int zk_open_node(char *path_out, size_t len)
{
	static const char *const pats[] = { "/dev/accel/accel%d",
					    "/dev/dri/renderD%d" };
	char path[64];
	unsigned int p;
	int i, fd;

	for (p = 0; p < 2; p++) {
		for (i = 0; i < 192; i++) {
			drmVersionPtr v;
			bool match;

			if (p == 1 && i < 128)
				continue;
			snprintf(path, sizeof(path), pats[p], i);
			fd = open(path, O_RDWR | O_CLOEXEC);
			if (fd < 0)
				continue;
			v = drmGetVersion(fd);
			match = v && !strcmp(v->name, "zhikai");
			drmFreeVersion(v);
			if (match) {
				if (path_out)
					snprintf(path_out, len, "%s", path);
				return fd;
			}
			close(fd);
		}
	}
	return -1;
}

static inline int zk_open_or_die(void)
{
	int fd = zk_open_node(NULL, 0);

	if (fd < 0) {
		printf("Bail out! no zhikai accel/render node\n");
		exit(1);
	}
	return fd;
}

/* ioctl returning -errno (0 on success). */
static inline int zk_ioctl(int fd, unsigned long req, void *arg)
{
	return drmIoctl(fd, req, arg) ? -errno : 0;
}

static inline uint64_t zk_param(int fd, uint32_t param)
{
	struct drm_zhikai_get_param gp = { .param = param };

	if (zk_ioctl(fd, DRM_IOCTL_ZHIKAI_GET_PARAM, &gp))
		return ~0ull;
	return gp.value;
}

static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* "2G", "512M", "1073741824" */
static inline uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	switch (*end) {
	case 'T': case 't': v <<= 10; /* fall through */
	case 'G': case 'g': v <<= 10; /* fall through */
	case 'M': case 'm': v <<= 10; /* fall through */
	case 'K': case 'k': v <<= 10; break;
	default: break;
	}
	return v;
}

/* ---- BOs ----------------------------------------------------------- */

struct tbo {
	uint32_t handle;
	uint32_t flags;
	uint64_t va;
	uint64_t size;
	void *map;
};

static inline int tbo_new(int fd, uint64_t size, uint32_t flags, struct tbo *bo)
{
	struct drm_zhikai_bo_create c = { .size = size, .flags = flags };
	struct drm_zhikai_bo_info i = { 0 };
	int ret;

	memset(bo, 0, sizeof(*bo));
	ret = zk_ioctl(fd, DRM_IOCTL_ZHIKAI_BO_CREATE, &c);
	if (ret)
		return ret;
	i.handle = c.handle;
	ret = zk_ioctl(fd, DRM_IOCTL_ZHIKAI_BO_INFO, &i);
	if (ret)
		return ret;
	bo->handle = c.handle;
	bo->flags = i.flags;
	bo->va = c.device_va;
	bo->size = i.size;
	bo->map = mmap(NULL, i.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       i.mmap_offset);
	if (bo->map == MAP_FAILED) {
		bo->map = NULL;
		return -errno;
	}
	return 0;
}

static inline void tbo_free(int fd, struct tbo *bo)
{
	struct drm_gem_close gc = { .handle = bo->handle };

	if (bo->map)
		munmap(bo->map, bo->size);
	if (bo->handle)
		zk_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &gc);
	memset(bo, 0, sizeof(*bo));
}

/* ---- commands ------------------------------------------------------ */

/* A host BO holding up to 64 commands, written in order. */
struct tcmds {
	struct tbo bo;
	uint32_t n;
};

static inline void cmds_reset(struct tcmds *c)
{
	memset(c->bo.map, 0, c->bo.size);
	c->n = 0;
}

static inline int cmds_new(int fd, struct tcmds *c)
{
	int ret = tbo_new(fd, 64 * ZK_CMD_SIZE, DRM_ZHIKAI_BO_HOST, &c->bo);

	if (!ret)
		cmds_reset(c);
	return ret;
}

static inline void *cmds_next(struct tcmds *c)
{
	void *p = (char *)c->bo.map + c->n * ZK_CMD_SIZE;

	c->n++;
	return p;
}

static inline void cmd_dma(struct tcmds *c, uint64_t dst, uint64_t src, uint64_t size,
		    uint8_t flags)
{
	struct zk_cmd_dma *d = cmds_next(c);

	d->hdr.opcode = ZK_CMD_DMA;
	d->hdr.flags = flags;
	d->src = src;
	d->dst = dst;
	d->size = size;
}

static inline void cmd_fence(struct tcmds *c, uint64_t addr, uint64_t value)
{
	struct zk_cmd_fence *f = cmds_next(c);

	f->hdr.opcode = ZK_CMD_FENCE;
	f->addr = addr;
	f->value = value;
}

static inline void cmd_wait(struct tcmds *c, uint64_t addr, uint64_t value)
{
	struct zk_cmd_wait *w = cmds_next(c);

	w->hdr.opcode = ZK_CMD_WAIT;
	w->addr = addr;
	w->value = value;
}

static inline void cmd_raw(struct tcmds *c, uint8_t opcode)
{
	struct zk_cmd_hdr *h = cmds_next(c);

	h->opcode = opcode;
}

static inline void job_init(struct drm_zhikai_job *j, uint32_t queue,
		     struct tcmds *c, uint32_t first, uint32_t count)
{
	memset(j, 0, sizeof(*j));
	j->queue = queue;
	j->cmd_handle = c->bo.handle;
	j->cmd_offset = first * ZK_CMD_SIZE;
	j->cmd_size = count * ZK_CMD_SIZE;
}

static inline int submit_jobs(int fd, struct drm_zhikai_job *jobs, uint32_t n)
{
	struct drm_zhikai_submit s = {
		.jobs = (uintptr_t)jobs,
		.job_count = n,
		.job_stride = sizeof(*jobs),
	};

	return zk_ioctl(fd, DRM_IOCTL_ZHIKAI_SUBMIT, &s);
}

/* Submit commands [0, c->n) of @c as one job; returns -errno or 0. */
static inline int submit_cmds(int fd, uint32_t queue, struct tcmds *c,
		       uint64_t *seqno)
{
	struct drm_zhikai_job j;
	int ret;

	job_init(&j, queue, c, 0, c->n);
	ret = submit_jobs(fd, &j, 1);
	if (!ret && seqno)
		*seqno = j.seqno;
	return ret;
}

/* Wait with a relative timeout in ms (absolute deadline to the kernel). */
static inline int wait_seqno(int fd, uint64_t seqno, int64_t ms, uint32_t *status)
{
	struct drm_zhikai_wait w = {
		.seqno = seqno,
		.timeout_ns = now_ns() + ms * 1000000,
	};
	int ret = zk_ioctl(fd, DRM_IOCTL_ZHIKAI_WAIT, &w);

	if (!ret && status)
		*status = w.status;
	return ret;
}

static inline int run_cmds(int fd, uint32_t queue, struct tcmds *c, uint32_t *status)
{
	uint64_t seqno;
	int ret = submit_cmds(fd, queue, c, &seqno);

	if (ret)
		return ret;
	return wait_seqno(fd, seqno, 20000, status);
}

/* ---- sysfs ---------------------------------------------------------- */

/* The PCI device directory the driver is bound to, or NULL. */
static inline const char *zk_pci_dir(void)
{
	static char path[300];
	struct dirent *de;
	DIR *d = opendir("/sys/bus/pci/drivers/zhikai");

	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (strchr(de->d_name, ':')) {
			snprintf(path, sizeof(path),
				 "/sys/bus/pci/drivers/zhikai/%s", de->d_name);
			closedir(d);
			return path;
		}
	}
	closedir(d);
	return NULL;
}

static inline int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return (int)n;
}

static inline int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Read a number from dir/name; returns false when unreadable. */
static inline bool read_u64(const char *dir, const char *name, uint64_t *v)
{
	char path[400], buf[64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return false;
	*v = strtoull(buf, NULL, 0);
	return true;
}

/* hwmon directory of the card, or NULL. */
static inline const char *zk_hwmon_dir(void)
{
	static char path[400];
	const char *pci = zk_pci_dir();
	struct dirent *de;
	DIR *d;
	char hw[340];

	if (!pci)
		return NULL;
	snprintf(hw, sizeof(hw), "%s/hwmon", pci);
	d = opendir(hw);
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "hwmon", 5)) {
			snprintf(path, sizeof(path), "%s/%s", hw, de->d_name);
			closedir(d);
			return path;
		}
	}
	closedir(d);
	return NULL;
}

/* A file in the card's debugfs directory (accel or dri), or NULL. */
static inline const char *zk_debugfs_file(const char *name)
{
	static char path[300];
	struct dirent *de;
	DIR *d;
	int i;

	/* Accel nodes (6.2+): /sys/kernel/debug/accel/<PCI bus id>/. */
	d = opendir("/sys/kernel/debug/accel");
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/debug/accel/%s/%s", de->d_name, name);
		if (!access(path, F_OK)) {
			closedir(d);
			return path;
		}
	}
	if (d)
		closedir(d);

	for (i = 0; i < 64; i++) {
		char probe[96], buf[32];

		snprintf(probe, sizeof(probe), "/sys/kernel/debug/dri/%d/name", i);
		if (read_file(probe, buf, sizeof(buf)) > 0 && !strncmp(buf, "zhikai", 6)) {
			snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/%s", i, name);
			return path;
		}
	}
	return NULL;
}

#endif /* ZK_VMTEST_H */
