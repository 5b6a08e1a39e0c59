// SPDX-License-Identifier: MIT
/*
 * zk_abi.c - the standard DRM ABI generic tools read (issue 15):
 * /proc/<pid>/fdinfo/<fd> usage stats (Documentation/gpu/drm-usage-stats.rst):
 * drm-driver, drm-client-id, drm-engine-q<N> busy ns, drm-total-/drm-resident-
 * hbm and system; implicit sync out: a job's fence in its BOs' dma_resv.
 */
#include <poll.h>
#include <sys/mount.h>

#include "zk_vmtest.h"

/* Value of "key:" in fd's fdinfo as a number (-1 if absent). */
static long long fdinfo_num(int fd, const char *key, char *str, size_t len)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		char *p = line + klen + 1;

		while (*p == ' ' || *p == '\t')
			p++;
		if (str) {
			snprintf(str, len, "%s", p);
			str[strcspn(str, "\n")] = 0;
		}
		v = strtoll(p, NULL, 0);
		break;
	}
	fclose(f);
	return v;
}

static void test_fdinfo(void)
{
	int a = zk_open_or_die(), b = zk_open_or_die();
	long long hbm0, sys0, busy0, busy1, hbm1, sys1;
	struct tbo hbm, host, dst;
	struct tcmds c;
	uint32_t status = ~0u;
	char drv[64] = "";
	int ret;

	ok(fdinfo_num(a, "drm-driver", drv, sizeof(drv)) == 0 &&
	   !strcmp(drv, "zhikai"), "fdinfo drm-driver: %s", drv);
	ok(fdinfo_num(a, "drm-client-id", NULL, 0) ==
	   (long long)zk_param(a, DRM_ZHIKAI_PARAM_CTX_ID) &&
	   fdinfo_num(a, "drm-client-id", NULL, 0) !=
	   fdinfo_num(b, "drm-client-id", NULL, 0),
	   "fdinfo drm-client-id: the context id, one per open file");
	hbm0 = fdinfo_num(a, "drm-total-hbm", NULL, 0);
	sys0 = fdinfo_num(a, "drm-total-system", NULL, 0);
	busy0 = fdinfo_num(a, "drm-engine-q0", NULL, 0);
	ok(hbm0 == 0 && sys0 == 0 && busy0 == 0,
	   "fdinfo of a new file: no memory, no busy time (%lld %lld %lld)",
	   hbm0, sys0, busy0);

	if (tbo_new(a, 1 << 20, DRM_ZHIKAI_BO_HBM, &hbm) ||
	    tbo_new(a, 1 << 20, DRM_ZHIKAI_BO_HOST, &host) ||
	    tbo_new(a, 1 << 20, DRM_ZHIKAI_BO_HBM, &dst) || cmds_new(a, &c)) {
		ok(false, "fdinfo setup");
		goto out;
	}
	hbm1 = fdinfo_num(a, "drm-total-hbm", NULL, 0);
	sys1 = fdinfo_num(a, "drm-resident-system", NULL, 0);
	ok(hbm1 == 2048 && sys1 == 1024 + (long long)c.bo.size / 1024,
	   "fdinfo memory: hbm %lld KiB (2048), system %lld KiB", hbm1, sys1);
	ok(fdinfo_num(b, "drm-total-hbm", NULL, 0) == 0,
	   "another file's fdinfo does not count them");

	for (int i = 0; i < 8; i++)
		cmd_dma(&c, dst.va, host.va, 1 << 20, 0);
	ret = run_cmds(a, 0, &c, &status);
	busy1 = fdinfo_num(a, "drm-engine-q0", NULL, 0);
	ok(!ret && status == DRM_ZHIKAI_JOB_OK && busy1 > 0,
	   "fdinfo drm-engine-q0 grows with a job on queue 0 (%lld ns)", busy1);
	ok(fdinfo_num(a, "drm-engine-q1", NULL, 0) <= 0 &&
	   fdinfo_num(b, "drm-engine-q0", NULL, 0) == 0,
	   "other queues and other files: no busy time");
out:
	tbo_free(a, &c.bo);
	tbo_free(a, &dst);
	tbo_free(a, &host);
	tbo_free(a, &hbm);
	close(a);
	close(b);
}

/* poll() on an exported BO reports it busy while a job that lists it runs. */
static void test_dma_resv(void)
{
	int a = zk_open_or_die(), dmafd = -1, ret;
	struct tbo shared, gate;
	struct drm_zhikai_job j;
	volatile uint64_t *g;
	struct tcmds c;
	struct pollfd p;
	uint32_t status = ~0u;

	if (tbo_new(a, 4096, DRM_ZHIKAI_BO_HOST, &shared) ||
	    tbo_new(a, 4096, DRM_ZHIKAI_BO_HOST, &gate) || cmds_new(a, &c) ||
	    drmPrimeHandleToFD(a, shared.handle, DRM_CLOEXEC, &dmafd)) {
		ok(false, "dma_resv setup");
		goto out;
	}
	p = (struct pollfd){ .fd = dmafd, .events = POLLIN };
	ok(poll(&p, 1, 0) == 1, "idle exported BO polls ready");
	g = gate.map;
	g[0] = 0;
	cmd_wait(&c, gate.va, 1);
	cmd_fence(&c, shared.va, 7);
	job_init(&j, 0, &c, 0, c.n);
	j.bo_handles = (uintptr_t)&shared.handle;
	j.bo_count = 1;
	ret = submit_jobs(a, &j, 1);
	p.revents = 0;
	ok(!ret && poll(&p, 1, 50) == 0,
	   "exported BO polls busy while a job listing it waits (%d)", ret);
	g[0] = 1;
	ret = wait_seqno(a, j.seqno, 20000, &status);
	p.revents = 0;
	ok(!ret && status == DRM_ZHIKAI_JOB_OK && poll(&p, 1, 5000) == 1 &&
	   ((volatile uint64_t *)shared.map)[0] == 7,
	   "and ready once the job is done");
out:
	if (dmafd >= 0)
		close(dmafd);
	tbo_free(a, &c.bo);
	tbo_free(a, &gate);
	tbo_free(a, &shared);
	close(a);
}

/* The job timeline in the kernel's trace buffer (root, tracefs). */
static void test_tracepoints(void)
{
	const char *tr = "/sys/kernel/tracing";
	static char buf[1 << 16];
	char path[128], want[3][96] = { "" };
	int a, fd, n = 0, got = 0, ret;
	uint64_t seqno = 0;
	uint32_t status = ~0u;
	struct tcmds c;
	struct tbo bo;

	if (geteuid() != 0) {
		skip("tracepoints", "needs root");
		return;
	}
	snprintf(path, sizeof(path), "%s/events/zhikai/enable", tr);
	if (access(path, W_OK))
		mount("tracefs", tr, "tracefs", 0, NULL);
	if (write_file(path, "1")) {
		ok(false, "tracefs events/zhikai/enable writable");
		return;
	}
	snprintf(path, sizeof(path), "%s/trace", tr);
	write_file(path, "");	/* clear */
	a = zk_open_or_die();
	if (tbo_new(a, 4096, DRM_ZHIKAI_BO_HOST, &bo) || cmds_new(a, &c)) {
		ok(false, "tracepoint setup");
		close(a);
		return;
	}
	cmd_fence(&c, bo.va, 3);
	ret = submit_cmds(a, 2, &c, &seqno);
	ret = ret ? ret : wait_seqno(a, seqno, 10000, &status);
	tbo_free(a, &bo);
	tbo_free(a, &c.bo);
	close(a);
	snprintf(want[1], sizeof(want[1]), "zk_job_run: ctx=");
	snprintf(want[2], sizeof(want[2]), "queue=2 seqno=%" PRIu64, seqno);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		ssize_t r;

		while (n < (int)sizeof(buf) - 1 &&
		       (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
			n += r;
		close(fd);
	}
	buf[n > 0 ? n : 0] = 0;
	got = strstr(buf, "zk_job_submit:") && strstr(buf, want[2]) &&
	      strstr(buf, want[1]) && strstr(buf, "zk_job_done:") &&
	      strstr(buf, "zk_bo_create:") && strstr(buf, "zk_bo_free:") &&
	      strstr(buf, "zk_bo_release:");
	ok(!ret && status == DRM_ZHIKAI_JOB_OK && got,
	   "trace: zk_job_submit/run/done for queue 2 seqno %" PRIu64 ", zk_bo_create/free/release",
	   seqno);
	if (!got)
		diag("%.*s", 1500, buf);
	snprintf(path, sizeof(path), "%s/events/zhikai/enable", tr);
	write_file(path, "0");
}

int main(void)
{
	test_fdinfo();
	test_dma_resv();
	test_tracepoints();
	return tap_done();
}
