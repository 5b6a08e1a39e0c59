// SPDX-License-Identifier: MIT
/*
 * zk_isol.c - what one context can do to the others (issue 15).
 *
 *  - DMA after free: a job keeps alive only the BOs it lists or that the
 *    driver's parser finds, yet SGLIST entries (and LAUNCH kernels) reach
 *    any VA of the context, and the device MMU caches translations.  A job
 *    blocked on a WAIT holds warm translations of an unlisted HBM BO; the
 *    BO is closed (GEM_CLOSE, or the whole file); another context allocates
 *    a BO of the same size (best fit: the freed range, if it was freed);
 *    the job resumes and copies into the VA again.  The other context's BO
 *    must stay zero: the freed memory is reused only after the driver
 *    invalidated the device MMU and the job retired.
 *  - Starvation: a context has at most ctx_max_jobs jobs in flight; beyond,
 *    SUBMIT blocks (O_NONBLOCK: EBUSY) while another context still runs.
 *  - The early_submit fast path is gone (it freed jobs still on the ring).
 */
#include <sys/stat.h>

#include "zk_vmtest.h"

#define VICTIM_SIZE (64u << 10)
#define PARAM_DIR "/sys/module/zhikai/parameters/"

static uint32_t nq;

static bool all_zero(const volatile uint8_t *p, size_t n, size_t *bad)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i]) {
			*bad = i;
			return false;
		}
	}
	return true;
}

/* Raw ioctl: drmIoctl() would restart on EINTR/EAGAIN. */
static int submit_raw(int fd, uint32_t queue, struct tcmds *c, uint64_t *seqno)
{
	struct drm_zhikai_job j;
	struct drm_zhikai_submit s = {
		.jobs = (uintptr_t)&j,
		.job_count = 1,
		.job_stride = sizeof(j),
	};

	job_init(&j, queue, c, 0, c->n);
	if (ioctl(fd, DRM_IOCTL_ZHIKAI_SUBMIT, &s))
		return -errno;
	if (seqno)
		*seqno = j.seqno;
	return 0;
}

/*
 * @close_file: close the whole file of the blocked job instead of only the
 * victim's handle (GEM objects go before the scheduler entities then).
 */
static void test_dma_after_free(bool close_file)
{
	const char *how = close_file ? "file close" : "GEM_CLOSE";
	int a = zk_open_or_die(), b = zk_open_or_die();
	struct tbo victim, post, src, gate, sgl, other;
	struct drm_gem_close gc;
	struct zk_dma_sg *e;
	volatile uint64_t *g = NULL;
	struct tcmds c;
	uint64_t seqno, used_before, used_closed, used_other;
	int keep[3] = { -1, -1, -1 };
	size_t bad = 0;
	int ret;

	if (tbo_new(a, VICTIM_SIZE, DRM_ZHIKAI_BO_HOST, &src) ||
	    tbo_new(a, VICTIM_SIZE, DRM_ZHIKAI_BO_HBM, &victim) ||
	    /* After the victim, so its range is a hole of exactly its size. */
	    tbo_new(a, 4096, DRM_ZHIKAI_BO_HBM, &post) ||
	    tbo_new(a, 4096, DRM_ZHIKAI_BO_HOST, &gate) ||
	    tbo_new(a, 4096, DRM_ZHIKAI_BO_HOST, &sgl) || cmds_new(a, &c)) {
		ok(false, "dma after %s: setup", how);
		goto out;
	}
	memset(src.map, 0xa5, VICTIM_SIZE);
	g = gate.map;
	g[0] = 0;
	e = sgl.map;
	e[0] = (struct zk_dma_sg){ .src = src.va, .dst = victim.va,
				   .size = VICTIM_SIZE };
	/* Only sgl is checked (and held) by the parser, not the victim. */
	cmd_dma(&c, 0, sgl.va, 1, ZK_DMA_F_SGLIST);	/* warms the MMU */
	cmd_wait(&c, gate.va, 1);
	cmd_dma(&c, 0, sgl.va, 1, ZK_DMA_F_SGLIST);	/* after the free */
	ret = submit_raw(a, 0, &c, &seqno);
	ok(!ret, "dma after %s: job with an SGLIST into an unlisted BO submitted (%d)",
	   how, ret);
	if (ret)
		goto out;
	ret = wait_seqno(a, seqno, 100, NULL);
	ok(ret == -ETIME, "dma after %s: job blocked on its WAIT (%d)", how, ret);

	used_before = zk_param(b, DRM_ZHIKAI_PARAM_HBM_USED);
	munmap(victim.map, victim.size);	/* a mapping holds the BO */
	victim.map = NULL;
	if (close_file) {
		/*
		 * A mapping of the DRM fd keeps its file open: unmap them all.
		 * src, sgl and gate stay alive as dma-bufs (the job still
		 * reads them); gate is written through its dma-buf mapping.
		 */
		volatile uint64_t *g2 = MAP_FAILED;

		if (!drmPrimeHandleToFD(a, src.handle, DRM_CLOEXEC, &keep[0]) &&
		    !drmPrimeHandleToFD(a, sgl.handle, DRM_CLOEXEC, &keep[1]) &&
		    !drmPrimeHandleToFD(a, gate.handle, DRM_CLOEXEC | DRM_RDWR,
					&keep[2]))
			g2 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
				  keep[2], 0);
		ok(g2 != MAP_FAILED, "dma after %s: the job's BOs kept as dma-bufs (%s)",
		   how, g2 == MAP_FAILED ? strerror(errno) : "mapped");
		if (g2 == MAP_FAILED) {
			g[0] = 1;
			goto out;
		}
		munmap(src.map, src.size);
		munmap(sgl.map, sgl.size);
		munmap(gate.map, gate.size);
		munmap(c.bo.map, c.bo.size);
		munmap(post.map, post.size);
		src.map = sgl.map = gate.map = c.bo.map = post.map = NULL;
		g = g2;
		close(a);
		a = -1;
	} else {
		gc = (struct drm_gem_close){ .handle = victim.handle };
		ok(!zk_ioctl(a, DRM_IOCTL_GEM_CLOSE, &gc),
		   "dma after %s: victim closed while the job runs", how);
		victim.handle = 0;
	}
	usleep(200 * 1000);	/* let a deferred release run if it would */
	used_closed = zk_param(b, DRM_ZHIKAI_PARAM_HBM_USED);
	ok(used_closed == used_before,
	   "dma after %s: HBM of the closed BO not reusable while the job runs (used %" PRIu64 " -> %" PRIu64 ")",
	   how, used_before, used_closed);

	ret = tbo_new(b, VICTIM_SIZE, DRM_ZHIKAI_BO_HBM, &other);
	ok(!ret && all_zero(other.map, VICTIM_SIZE, &bad),
	   "dma after %s: another context's new BO starts zeroed", how);
	if (ret)
		goto out;
	/* (Its page tables count too: measure rather than compute.) */
	used_other = zk_param(b, DRM_ZHIKAI_PARAM_HBM_USED);
	g[0] = 1;	/* release the job */
	if (!close_file) {
		uint32_t status = ~0u;

		ret = wait_seqno(a, seqno, 20000, &status);
		ok(!ret, "dma after %s: job retired (status %u)", how, status);
	}
	/* The closed BO's memory comes back once the job is done. */
	for (int i = 0; i < 1000; i++) {
		if (zk_param(b, DRM_ZHIKAI_PARAM_HBM_USED) <=
		    used_other - VICTIM_SIZE)
			break;
		usleep(10 * 1000);
	}
	ok(zk_param(b, DRM_ZHIKAI_PARAM_HBM_USED) <= used_other - VICTIM_SIZE,
	   "dma after %s: the closed BO's HBM is freed after the job (used %" PRIu64 ", with the other BO %" PRIu64 ")",
	   how, zk_param(b, DRM_ZHIKAI_PARAM_HBM_USED), used_other);
	ok(all_zero(other.map, VICTIM_SIZE, &bad),
	   "dma after %s: the other context's BO was not written (first byte at %zu: 0x%02x)",
	   how, bad, ((volatile uint8_t *)other.map)[bad]);
	tbo_free(b, &other);
out:
	if (a >= 0) {
		tbo_free(a, &c.bo);
		tbo_free(a, &sgl);
		tbo_free(a, &gate);
		tbo_free(a, &post);
		tbo_free(a, &victim);
		tbo_free(a, &src);
		close(a);
	} else if (g) {
		munmap((void *)g, 4096);
	}
	for (int i = 0; i < 3; i++)
		if (keep[i] >= 0)
			close(keep[i]);
	close(b);
}

static int param_rw(const char *name, const char *set, char *old, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), PARAM_DIR "%s", name);
	if (old) {
		f = fopen(path, "r");
		if (!f || !fgets(old, (int)len, f)) {
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		old[strcspn(old, "\n")] = 0;
	}
	if (set) {
		f = fopen(path, "w");
		if (!f)
			return -1;
		fputs(set, f);
		if (fclose(f))
			return -1;
	}
	return 0;
}

static void test_inflight_cap(void)
{
	int a = zk_open_or_die(), b = zk_open_or_die();
	struct tcmds c, o;
	struct tbo gate;
	volatile uint64_t *g;
	char old[32];
	uint64_t seqno = 0, s2;
	uint32_t status = ~0u;
	int ret, i, n = 0;

	if (param_rw("ctx_max_jobs", "4", old, sizeof(old))) {
		ok(false, "ctx_max_jobs parameter exists and is writable");
		goto out_close;
	}
	if (tbo_new(a, 4096, DRM_ZHIKAI_BO_HOST, &gate) || cmds_new(a, &c) ||
	    cmds_new(b, &o)) {
		ok(false, "in-flight cap: setup");
		goto out;
	}
	g = gate.map;
	g[0] = 0;
	cmd_wait(&c, gate.va, 1);
	for (i = 0; i < 4; i++)
		n += !submit_raw(a, 0, &c, &seqno);
	ok(n == 4, "in-flight cap 4: four blocked jobs submitted");
	fcntl(a, F_SETFL, fcntl(a, F_GETFL) | O_NONBLOCK);
	ret = submit_raw(a, 0, &c, NULL);
	ok(ret == -EBUSY, "in-flight cap 4: fifth SUBMIT on an O_NONBLOCK file -> EBUSY (%d)",
	   ret);

	/* Another context is not held back by it. */
	cmd_raw(&o, ZK_CMD_NOP);
	ret = submit_raw(b, nq > 1 ? 1 : 0, &o, &s2);
	if (nq > 1) {
		ret = ret ? ret : wait_seqno(b, s2, 10000, &status);
		ok(!ret && status == DRM_ZHIKAI_JOB_OK,
		   "in-flight cap 4: another context's job runs meanwhile (%d)", ret);
	} else {
		ok(!ret, "in-flight cap 4: another context still submits (%d)", ret);
	}

	g[0] = 1;
	ret = wait_seqno(a, seqno, 20000, &status);
	ok(!ret && status == DRM_ZHIKAI_JOB_OK, "in-flight cap 4: blocked jobs finish");
	/* Jobs are freed a little after their fences signal. */
	for (i = 0; i < 200 && (ret = submit_raw(a, 0, &c, &seqno)) == -EBUSY; i++)
		usleep(10 * 1000);
	ok(!ret, "in-flight cap 4: SUBMIT accepted again once they retired (%d)", ret);
	fcntl(a, F_SETFL, fcntl(a, F_GETFL) & ~O_NONBLOCK);
	wait_seqno(a, seqno, 20000, NULL);
	wait_seqno(b, s2, 20000, NULL);
out:
	param_rw("ctx_max_jobs", old, NULL, 0);
	tbo_free(a, &c.bo);
	tbo_free(a, &gate);
	tbo_free(b, &o.bo);
out_close:
	close(a);
	close(b);
}

/* Jobs the driver has put on all hardware queues (debugfs queues), or -1. */
static long long hw_jobs_submitted(void)
{
	static char buf[1 << 14];
	char path[96], name[32];
	long long sum = -1;
	int i;

	for (i = 0; i < 64 && sum < 0; i++) {
		char *p;

		snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/name", i);
		if (read_file(path, name, sizeof(name)) <= 0 || strncmp(name, "zhikai", 6))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/queues", i);
		if (read_file(path, buf, sizeof(buf)) <= 0)
			return -1;
		sum = 0;
		for (p = strstr(buf, "submitted "); p; p = strstr(p + 1, "submitted "))
			sum += strtoll(p + 10, NULL, 10);
	}
	return sum;
}

/*
 * New HBM is scrubbed by a ZK_CMD_HBM_DISCARD job on a hardware queue (the
 * card's worker does it), not by the register whose MMIO write runs the
 * discard on the guest's vCPU: a BO_CREATE puts one driver job on a queue.
 */
static void test_scrub_by_ring(void)
{
	int fd = zk_open_or_die();
	long long before = hw_jobs_submitted(), after;
	struct tbo bo;
	size_t bad = 0;
	bool zero;

	if (before < 0) {
		skip("HBM scrub by ring command", "no debugfs queues");
		close(fd);
		return;
	}
	if (tbo_new(fd, 8u << 20, DRM_ZHIKAI_BO_HBM, &bo)) {
		ok(false, "HBM scrub by ring command: BO_CREATE");
		close(fd);
		return;
	}
	after = hw_jobs_submitted();
	zero = all_zero(bo.map, bo.size, &bad);
	ok(after > before && zero,
	   "new 8 MiB HBM BO scrubbed by a ring command: %lld driver job(s), reads zero",
	   after - before);
	tbo_free(fd, &bo);
	close(fd);
}

int main(void)
{
	int fd = zk_open_or_die();
	struct stat st;

	nq = (uint32_t)zk_param(fd, DRM_ZHIKAI_PARAM_NUM_QUEUES);
	close(fd);
	ok(stat(PARAM_DIR "early_submit", &st) && errno == ENOENT,
	   "no early_submit parameter (the fast path that freed jobs still on the ring)");
	test_dma_after_free(false);
	test_dma_after_free(true);
	test_inflight_cap();
	if (geteuid() == 0)
		test_scrub_by_ring();
	return tap_done();
}
