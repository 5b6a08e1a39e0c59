// SPDX-License-Identifier: MIT
/*
 * zk_reliab - reliability and isolation tests of zhikai.ko (issue 8).
 *
 *   zk_reliab hang N     hang injected on queue 0 while another context
 *                        streams on queue 1; N rounds
 *   zk_reliab reset      debugfs full device reset while work is in flight
 *   zk_reliab ban        a context that keeps hanging gets -EIO, others not
 *   zk_reliab escalate   a queue whose queue and engine resets fail
 *                        (injected) escalates to a device reset; other
 *                        contexts' jobs: OK before, ABORTED in flight
 *   zk_reliab fault      MMU fault / illegal kernel / DMA failure stay in
 *                        the faulting job
 *   zk_reliab ras        injected CE/UE: counters, poisoned BO, uevent
 *   zk_reliab isolation  cross-context mmap/VA/handle attacks, HBM scrub,
 *                        unprivileged knobs
 *   zk_reliab unbind N   sysfs unbind/bind with a busy client; N cycles
 *   zk_reliab flr        PCI function reset with a job in flight
 *   zk_reliab suspend    system suspend/resume (pm_test) with a job in flight
 *   zk_reliab unbind-queued  unbind with jobs queued in drm_sched, then
 *                        the client closes / is killed
 *   zk_reliab unplug     QEMU device_del with a busy client (tools/fuzz.sh)
 *   zk_reliab smoke      one DMA round trip
 *
 * Root (debugfs, sysfs writes); uses queues 0 and 1; TAP on stdout.
 */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/netlink.h>

#include "zk_vmtest.h"

#define HANG_Q		0
#define STREAM_Q	1
#define RECOVER_MS	3000

static const char *pci;

/* ---- helpers ------------------------------------------------------ */

static int inject(const char *what)
{
	const char *p = zk_debugfs_file("inject");

	return p ? write_file(p, what) : -ENOENT;
}

static uint64_t sysfs_u64(const char *name)
{
	uint64_t v = ~0ull;

	if (!pci)
		pci = zk_pci_dir();
	if (pci)
		read_u64(pci, name, &v);
	return v;
}

static int modparam_set(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/zhikai/parameters/%s", name);
	return write_file(path, val);
}

static void msleep(int ms)
{
	usleep(ms * 1000);
}

/* HBM offset of context @ctx_id's page-table root (debugfs contexts). */
static int64_t pt_root_offset(uint32_t ctx_id)
{
	const char *p = zk_debugfs_file("contexts");
	static char buf[1 << 16];
	char *line, *save = NULL;

	if (!p || read_file(p, buf, sizeof(buf)) <= 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned int id;
		unsigned long long off;

		if (sscanf(line, "ctx %u: pt_root %llx", &id, &off) == 2 && id == ctx_id)
			return (int64_t)off;
	}
	return -1;
}

/* HBM offset of the BO at @va of context @ctx_id (debugfs contexts). */
static int64_t bo_hbm_offset(uint32_t ctx_id, uint64_t va)
{
	const char *p = zk_debugfs_file("contexts");
	static char buf[1 << 16];
	char *line, *save = NULL;
	bool in_ctx = false;

	if (!p || read_file(p, buf, sizeof(buf)) <= 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned int id;
		unsigned long long bva, size, off;

		if (sscanf(line, "ctx %u:", &id) == 1) {
			in_ctx = id == ctx_id;
			continue;
		}
		if (in_ctx && sscanf(line, " bo va %llx size %llx hbm hbm %llx", &bva, &size, &off) == 3 &&
		    bva == va)
			return (int64_t)off;
	}
	return -1;
}

/* Kernel uevents (netlink, no udev needed). */
static int uevent_open(void)
{
	struct sockaddr_nl a = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);

	if (s < 0)
		return -1;
	if (bind(s, (struct sockaddr *)&a, sizeof(a))) {
		close(s);
		return -1;
	}
	return s;
}

/* Wait up to @ms for a uevent holding both @k1 and @k2 (NULL: any). */
static bool uevent_find(int s, const char *k1, const char *k2, int ms)
{
	int64_t end = now_ns() + (int64_t)ms * 1000000;
	char buf[8192];

	if (s < 0)
		return false;
	while (now_ns() < end) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		bool f1 = false, f2 = !k2;
		ssize_t n, i;

		if (poll(&p, 1, (int)((end - now_ns()) / 1000000) + 1) <= 0)
			continue;
		n = recv(s, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = 0;
		for (i = 0; i < n; i += strlen(buf + i) + 1) {
			if (!strcmp(buf + i, k1))
				f1 = true;
			if (k2 && !strcmp(buf + i, k2))
				f2 = true;
		}
		if (f1 && f2)
			return true;
	}
	return false;
}

static bool all_u32(const void *p, uint64_t bytes, uint32_t v)
{
	const volatile uint32_t *w = p;
	uint64_t i;

	for (i = 0; i < bytes / 4; i++)
		if (w[i] != v)
			return false;
	return true;
}

/* One DMA round trip host -> HBM -> host on @q. */
static bool smoke(int fd, uint32_t q)
{
	struct tbo src, hbm, dst;
	struct tcmds c;
	uint32_t st = ~0u, i;
	bool good = false;
	int ret;

	if (tbo_new(fd, 65536, DRM_ZHIKAI_BO_HOST, &src) ||
	    tbo_new(fd, 65536, DRM_ZHIKAI_BO_HBM, &hbm) ||
	    tbo_new(fd, 65536, DRM_ZHIKAI_BO_HOST, &dst) || cmds_new(fd, &c))
		return false;
	for (i = 0; i < 65536 / 4; i++)
		((uint32_t *)src.map)[i] = i * 2654435761u;
	memset(dst.map, 0, 65536);
	cmd_dma(&c, hbm.va, src.va, 65536, 0);
	cmd_dma(&c, dst.va, hbm.va, 65536, 0);
	ret = run_cmds(fd, q, &c, &st);
	good = !ret && st == DRM_ZHIKAI_JOB_OK && !memcmp(src.map, dst.map, 65536);
	if (!good)
		diag("smoke on queue %u: ret %d status %u", q, ret, st);
	tbo_free(fd, &c.bo);
	tbo_free(fd, &dst);
	tbo_free(fd, &hbm);
	tbo_free(fd, &src);
	return good;
}

static bool fence_job(int fd, uint32_t q, struct tbo *mem, uint64_t off, uint64_t val,
		      uint32_t *status)
{
	struct tcmds c;
	int ret;

	if (cmds_new(fd, &c))
		return false;
	cmd_fence(&c, mem->va + off, val);
	ret = run_cmds(fd, q, &c, status);
	tbo_free(fd, &c.bo);
	return !ret;
}

static const char *st_name(uint32_t st)
{
	static const char *const n[] = { "OK", "FAULTED", "ERROR", "ABORTED", "TIMEDOUT" };

	return st < 5 ? n[st] : "?";
}

/* ---- 1. hang recovery --------------------------------------------- */

#define NFIN	8	/* streamer jobs finished before the hang */
#define NFLY	4	/* streamer jobs queued behind a blocker at the hang */
#define FILLSZ	65536

static void test_hang(int rounds)
{
	int v = zk_open_or_die();
	struct tbo res, data, flag;
	struct tcmds c;
	struct drm_zhikai_job jobs[1 + NFLY];
	int r, uev = uevent_open();
	int bad_timing = 0, bad_hung = 0, bad_fin = 0, bad_fly = 0, bad_after = 0;
	int bad_reset = 0, bad_uevent = 0, aborted = 0, fly_ok = 0;
	int64_t worst = 0;

	if (!zk_debugfs_file("inject")) {
		skip("hang recovery", "no debugfs inject");
		return;
	}
	if (tbo_new(v, 4096, DRM_ZHIKAI_BO_HOST, &res) ||
	    tbo_new(v, (NFIN + NFLY) * FILLSZ, DRM_ZHIKAI_BO_HBM, &data) ||
	    tbo_new(v, 4096, DRM_ZHIKAI_BO_HOST, &flag)) {
		ok(false, "hang: setup");
		return;
	}
	if (tbo_new(v, 64 * 64, DRM_ZHIKAI_BO_HOST, &c.bo)) {
		ok(false, "hang: setup cmds");
		return;
	}
	for (r = 0; r < rounds; r++) {
		volatile uint64_t *rv = res.map;
		int h = zk_open_or_die();
		struct tbo hmem;
		struct tcmds hc;
		uint64_t r0 = sysfs_u64("reset_count"), r1, hs;
		uint32_t tag = 0x5a000000u | (uint32_t)r << 8, st = ~0u, hst = ~0u;
		int64_t t0, dt;
		int i, ret;

		if (tbo_new(h, 4096, DRM_ZHIKAI_BO_HOST, &hmem) || cmds_new(h, &hc)) {
			ok(false, "hang round %d: hanger setup", r);
			break;
		}
		memset(res.map, 0, 4096);
		((volatile uint64_t *)flag.map)[0] = 0;

		/* Streamer: NFIN jobs that finish before the hang. */
		cmds_reset(&c);
		for (i = 0; i < NFIN; i++) {
			cmd_dma(&c, data.va + (uint64_t)i * FILLSZ, tag | i, FILLSZ, ZK_DMA_F_FILL);
			cmd_fence(&c, res.va + 8 * i, tag | i);
		}
		for (i = 0, ret = 0; i < NFIN && !ret; i++) {
			job_init(&jobs[0], STREAM_Q, &c, 2 * i, 2);
			ret = submit_jobs(v, jobs, 1);
			hs = jobs[0].seqno;
		}
		if (!ret)
			ret = wait_seqno(v, hs, 10000, &st);
		if (ret || st) {
			ok(false, "hang round %d: streamer jobs before the hang (%d, %u)", r, ret, st);
			break;
		}

		/* The hang, and its guilty job. */
		if (inject("hang_queue 0")) {
			ok(false, "inject hang_queue 0");
			break;
		}
		cmd_fence(&hc, hmem.va, 1);
		ret = submit_cmds(h, HANG_Q, &hc, &hs);
		t0 = now_ns();
		/* Streamer work in flight when the reset comes: a blocker
		 * (WAIT nobody satisfies) and NFLY jobs behind it. */
		msleep(800);
		i = c.n;
		cmd_wait(&c, flag.va, 1);
		for (int k = 0; k < NFLY; k++) {
			cmd_dma(&c, data.va + (uint64_t)(NFIN + k) * FILLSZ, tag | 0xf0 | k, FILLSZ,
				ZK_DMA_F_FILL);
			cmd_fence(&c, res.va + 8 * (NFIN + k), tag | 0xf0 | k);
		}
		job_init(&jobs[0], STREAM_Q, &c, i, 1);
		for (int k = 0; k < NFLY; k++)
			job_init(&jobs[1 + k], STREAM_Q, &c, i + 1 + 2 * k, 2);
		if (ret || submit_jobs(v, jobs, 1 + NFLY)) {
			ok(false, "hang round %d: submits", r);
			break;
		}

		ret = wait_seqno(h, hs, 15000, &hst);
		dt = (now_ns() - t0) / 1000000;
		if (dt > worst)
			worst = dt;
		if (ret || hst != DRM_ZHIKAI_JOB_TIMEDOUT) {
			bad_hung++;
			diag("round %d: hung job ret %d status %s", r, ret, st_name(hst));
		}
		if (dt >= RECOVER_MS) {
			bad_timing++;
			diag("round %d: recovery took %" PRId64 " ms", r, dt);
		}
		/*
		 * The other queue's work is not the hang's: only the hung
		 * queue is reset, so the streamer's blocker still waits (not
		 * ABORTED) and, once released, it and every job behind it
		 * complete with their results.
		 */
		ret = wait_seqno(v, jobs[0].seqno, 0, &st);
		if (ret != -ETIME) {
			bad_fly++;
			diag("round %d: other queue's blocked job ended by the reset: ret %d status %s",
			     r, ret, st_name(st));
		}
		((volatile uint64_t *)flag.map)[0] = 1;
		for (i = 0; i < 1 + NFLY; i++) {
			st = ~0u;
			ret = wait_seqno(v, jobs[i].seqno, 10000, &st);
			if (ret || st != DRM_ZHIKAI_JOB_OK) {
				bad_fly++;
				if (st == DRM_ZHIKAI_JOB_ABORTED)
					aborted++;
				diag("round %d: in-flight job %d: ret %d status %s", r, i, ret,
				     st_name(st));
			} else {
				fly_ok++;
				if (i && rv[NFIN + i - 1] != (tag | 0xf0 | (i - 1)))
					bad_fly++;
			}
		}
		/* Finished work keeps its results. */
		for (i = 0; i < NFIN; i++)
			if (rv[i] != (tag | i) ||
			    !all_u32((char *)data.map + (uint64_t)i * FILLSZ, FILLSZ, tag | i)) {
				bad_fin++;
				diag("round %d: finished job %d lost its results", r, i);
				break;
			}
		r1 = sysfs_u64("reset_count");
		if (r1 <= r0)
			bad_reset++;
		if (r == 0 && !uevent_find(uev, "ZHIKAI_EVENT=queue-reset", NULL, 2000))
			bad_uevent++;
		/* Both contexts usable on both queues. */
		if (!fence_job(h, HANG_Q, &hmem, 8, 2, &st) || st ||
		    !fence_job(h, STREAM_Q, &hmem, 16, 3, &st) || st ||
		    !fence_job(v, HANG_Q, &res, 8 * 15, 4, &st) || st ||
		    !fence_job(v, STREAM_Q, &res, 8 * 16, 5, &st) || st ||
		    ((volatile uint64_t *)hmem.map)[1] != 2 || rv[16] != 5) {
			bad_after++;
			diag("round %d: context unusable after the reset", r);
		}
		tbo_free(h, &hc.bo);
		tbo_free(h, &hmem);
		close(h);
	}
	ok(!bad_hung, "hang x%d: the guilty job is TIMEDOUT every time", rounds);
	ok(!bad_timing, "hang x%d: recovery < %d ms (worst %" PRId64 " ms)", rounds, RECOVER_MS,
	   worst);
	ok(!bad_fin, "hang x%d: other context's finished results intact", rounds);
	ok(!bad_fly && fly_ok == rounds * (1 + NFLY),
	   "hang x%d: only the hung queue is reset: the other queue's in-flight jobs complete (OK %d, ABORTED %d, bad %d)",
	   rounds, fly_ok, aborted, bad_fly);
	ok(!bad_after, "hang x%d: both contexts usable on both queues afterwards", rounds);
	ok(!bad_reset, "hang x%d: reset_count grows every time", rounds);
	if (uev >= 0)
		ok(!bad_uevent, "hang: ZHIKAI_EVENT=queue-reset uevent");
	else
		skip("hang: uevent", "no netlink socket");
	if (uev >= 0)
		close(uev);
	tbo_free(v, &c.bo);
	tbo_free(v, &flag);
	tbo_free(v, &data);
	tbo_free(v, &res);
	close(v);
}

/* ---- 1b. escalation: queue reset fails, engine reset fails, device -- */

/* Whether the kernel log since @mark (a byte count of dmesg) has @what. */
static bool klog_has(size_t mark, const char *what)
{
	char *buf = malloc(1 << 20);
	FILE *f = popen("dmesg", "r");
	size_t n = 0;
	bool found = false;

	if (buf && f) {
		n = fread(buf, 1, (1 << 20) - 1, f);
		buf[n] = 0;
		found = n > mark && strstr(buf + mark, what);
	}
	if (f)
		pclose(f);
	free(buf);
	return found;
}

static size_t klog_mark(void)
{
	char *buf = malloc(1 << 20);
	FILE *f = popen("dmesg", "r");
	size_t n = 0;

	if (buf && f)
		n = fread(buf, 1, (1 << 20) - 1, f);
	if (f)
		pclose(f);
	free(buf);
	return n;
}

static void test_escalate(void)
{
	int a = zk_open_or_die(), b = zk_open_or_die(), uev = uevent_open();
	struct tbo flag, res;
	struct tcmds ca, cb;
	struct drm_zhikai_job jb;
	uint64_t r0 = sysfs_u64("reset_count"), seq_a = 0;
	uint32_t st_ok = ~0u, st_a = ~0u, st_b = ~0u, st = ~0u;
	size_t mark = klog_mark();
	char what[32];
	int ret;

	if (!zk_debugfs_file("inject")) {
		skip("escalate", "no debugfs inject");
		return;
	}
	if (tbo_new(b, 4096, DRM_ZHIKAI_BO_HOST, &flag) ||
	    tbo_new(b, 4096, DRM_ZHIKAI_BO_HOST, &res) || cmds_new(a, &ca) ||
	    cmds_new(b, &cb)) {
		ok(false, "escalate: setup");
		return;
	}
	memset(flag.map, 0, 4096);
	memset(res.map, 0, 4096);
	/* B: a job that finished before anything went wrong. */
	ret = !fence_job(b, STREAM_Q, &res, 0, 0x600d, &st_ok);
	ok(!ret && st_ok == DRM_ZHIKAI_JOB_OK,
	   "escalate: other context's job done before the hang (%s)", st_name(st_ok));
	/* A: queue HANG_Q stuck through queue and engine resets. */
	snprintf(what, sizeof(what), "stuck_engine %d", HANG_Q);
	ok(inject(what) == 0, "escalate: inject '%s'", what);
	{
		struct tbo own;

		if (tbo_new(a, 4096, DRM_ZHIKAI_BO_HOST, &own)) {
			ok(false, "escalate: A's BO");
			return;
		}
		cmd_fence(&ca, own.va, 1);	/* never runs: the queue is hung */
		ret = submit_cmds(a, HANG_Q, &ca, &seq_a);
		ok(!ret, "escalate: job on the stuck queue submitted");
		/* B: a job in flight on another queue when the device resets. */
		msleep(600);
		cmd_wait(&cb, flag.va, 1);
		cmd_fence(&cb, res.va + 8, 2);
		job_init(&jb, STREAM_Q, &cb, 0, 2);
		ret = submit_jobs(b, &jb, 1);
		ok(!ret, "escalate: other context's blocked job submitted");
		ret = wait_seqno(a, seq_a, 20000, &st_a);
		ok(!ret && st_a == DRM_ZHIKAI_JOB_TIMEDOUT,
		   "escalate: the stuck job ends TIMEDOUT (%s)", st_name(st_a));
		ret = wait_seqno(b, jb.seqno, 20000, &st_b);
		ok(!ret && st_b == DRM_ZHIKAI_JOB_ABORTED &&
		   ((volatile uint64_t *)res.map)[1] == 0,
		   "escalate: other context's in-flight job ABORTED by the device reset (%s)",
		   st_name(st_b));
		tbo_free(a, &own);
	}
	/* b's first job (seqno 1): its record survives the resets. */
	ret = wait_seqno(b, 1, 1000, &st);
	ok(!ret && st == DRM_ZHIKAI_JOB_OK &&
	   ((volatile uint64_t *)res.map)[0] == 0x600d,
	   "escalate: the job done before stays OK after the resets (%s)", st_name(st));
	ok(klog_has(mark, "reset failed"), "escalate: the queue reset failed (kernel log)");
	ok(klog_has(mark, "engine reset failed"),
	   "escalate: then the engine reset failed (kernel log)");
	ok(sysfs_u64("reset_count") == r0 + 1, "escalate: one recovery counted (%" PRIu64 " -> %" PRIu64 ")",
	   r0, sysfs_u64("reset_count"));
	if (uev >= 0)
		ok(uevent_find(uev, "ZHIKAI_EVENT=device-reset", NULL, 2000),
		   "escalate: it ended in ZHIKAI_EVENT=device-reset");
	else
		skip("escalate: uevent", "no netlink socket");
	ok(smoke(a, HANG_Q) && smoke(b, HANG_Q) && smoke(b, STREAM_Q),
	   "escalate: both contexts compute correctly on every queue afterwards");
	if (uev >= 0)
		close(uev);
	tbo_free(a, &ca.bo);
	tbo_free(b, &cb.bo);
	tbo_free(b, &res);
	tbo_free(b, &flag);
	close(a);
	close(b);
}

/* ---- 1a. full device reset (firmware reload) while work runs -------- */

static void test_device_reset(void)
{
	int v = zk_open_or_die(), o = zk_open_or_die(), uev = uevent_open();
	const char *rst = zk_debugfs_file("reset");
	struct tbo res, flag, data;
	struct tcmds c;
	struct drm_zhikai_job j[3];
	uint64_t r0 = sysfs_u64("reset_count");
	uint32_t st = ~0u, st0 = ~0u, k;
	bool reported = true;
	int ret;

	if (!rst) {
		skip("device reset", "no debugfs reset");
		return;
	}
	if (tbo_new(v, 4096, DRM_ZHIKAI_BO_HOST, &res) || tbo_new(v, 4096, DRM_ZHIKAI_BO_HOST, &flag) ||
	    tbo_new(v, 1 << 20, DRM_ZHIKAI_BO_HBM, &data) || cmds_new(v, &c)) {
		ok(false, "device reset: setup");
		return;
	}
	memset(res.map, 0, 4096);
	memset(flag.map, 0, 4096);
	cmd_dma(&c, data.va, 0x600d600d, data.size, ZK_DMA_F_FILL);
	cmd_fence(&c, res.va, 0x600d);
	ret = run_cmds(v, STREAM_Q, &c, &st);
	cmds_reset(&c);
	cmd_wait(&c, flag.va, 1);
	cmd_fence(&c, res.va + 8, 1);
	cmd_fence(&c, res.va + 16, 2);
	job_init(&j[0], STREAM_Q, &c, 0, 1);
	job_init(&j[1], STREAM_Q, &c, 1, 1);
	job_init(&j[2], HANG_Q, &c, 2, 1);
	ret |= submit_jobs(v, j, 3);
	msleep(100);
	ok(!ret && st == 0 && write_file(rst, "device") == 0,
	   "device reset: debugfs reset 'device' with a blocked job in flight");
	for (k = 0; k < 3; k++) {
		st = ~0u;
		if (wait_seqno(v, j[k].seqno, 10000, &st) ||
		    (st != DRM_ZHIKAI_JOB_ABORTED && st != DRM_ZHIKAI_JOB_OK))
			reported = false;
		if (k == 0)
			st0 = st;
	}
	ok(reported && st0 == DRM_ZHIKAI_JOB_ABORTED,
	   "device reset: in-flight jobs reported (blocked job %s)", st_name(st0));
	ok(((volatile uint64_t *)res.map)[0] == 0x600d && all_u32(data.map, data.size, 0x600d600d),
	   "device reset: finished work (host and HBM) intact");
	ok(sysfs_u64("reset_count") == r0 + 1, "device reset: reset_count + 1");
	if (uev >= 0)
		ok(uevent_find(uev, "ZHIKAI_EVENT=device-reset", NULL, 2000),
		   "device reset: ZHIKAI_EVENT=device-reset uevent");
	else
		skip("device reset: uevent", "no netlink socket");
	ok(smoke(v, HANG_Q) && smoke(v, STREAM_Q) && smoke(o, HANG_Q),
	   "device reset: contexts (page tables survive) work afterwards");
	if (uev >= 0)
		close(uev);
	tbo_free(v, &c.bo);
	tbo_free(v, &data);
	tbo_free(v, &flag);
	tbo_free(v, &res);
	close(v);
	close(o);
}

/* ---- 1b. ban ------------------------------------------------------ */

static void test_ban(void)
{
	int b = zk_open_or_die(), o = zk_open_or_die(), b2;
	struct tbo bm, om;
	struct tcmds bc;
	uint64_t limit = 0, s;
	uint32_t st = ~0u;
	unsigned int i;
	bool hung_ok = true, before = true;
	int ret;

	read_u64("/sys/module/zhikai/parameters", "hang_ban_limit", &limit);
	if (!limit || limit > 10 || !zk_debugfs_file("inject")) {
		ok(false, "ban: hang_ban_limit is %" PRIu64 " (expected 1..10) and debugfs", limit);
		return;
	}
	if (tbo_new(b, 4096, DRM_ZHIKAI_BO_HOST, &bm) || tbo_new(o, 4096, DRM_ZHIKAI_BO_HOST, &om) ||
	    cmds_new(b, &bc)) {
		ok(false, "ban: setup");
		return;
	}
	cmd_fence(&bc, bm.va, 1);
	for (i = 0; i < limit; i++) {
		if (i && (submit_cmds(b, STREAM_Q, &bc, &s) || wait_seqno(b, s, 10000, &st) || st))
			before = false;	/* not banned before the limit */
		inject("hang_queue 0");
		ret = submit_cmds(b, HANG_Q, &bc, &s);
		if (ret || wait_seqno(b, s, 15000, &st) || st != DRM_ZHIKAI_JOB_TIMEDOUT)
			hung_ok = false;
		/* The innocent context is never blamed. */
		if (!fence_job(o, HANG_Q, &om, 0, i + 1, &st) || st)
			before = false;
	}
	ok(hung_ok, "ban: %" PRIu64 " hangs of one context, each TIMEDOUT", limit);
	ok(before, "ban: the context works between its hangs (below the limit)");
	ret = submit_cmds(b, STREAM_Q, &bc, &s);
	ok(ret == -EIO, "ban: SUBMIT of the banned context -> EIO (%d)", ret);
	ok(fence_job(o, HANG_Q, &om, 8, 7, &st) && st == 0 &&
	   fence_job(o, STREAM_Q, &om, 16, 8, &st) && st == 0,
	   "ban: another context still runs on both queues");
	b2 = zk_open_or_die();
	ok(smoke(b2, HANG_Q), "ban: a new context of the same process works");
	close(b2);
	tbo_free(b, &bc.bo);
	tbo_free(b, &bm);
	tbo_free(o, &om);
	close(b);
	close(o);
}

/* ---- 2. fault containment ----------------------------------------- */

static void test_fault(void)
{
	int a = zk_open_or_die(), b = zk_open_or_die();
	struct tbo tgt, sg, code, bres, bdata;
	struct tcmds ac, bc;
	struct drm_zhikai_job bj[8], aj;
	struct zk_cmd_launch *l;
	struct zk_dma_sg *e;
	uint64_t r0 = sysfs_u64("reset_count");
	uint32_t st = ~0u, i;
	bool b_ok = true;
	int ret;

	if (tbo_new(a, 16384, DRM_ZHIKAI_BO_HBM, &tgt) || tbo_new(a, 4096, DRM_ZHIKAI_BO_HOST, &sg) ||
	    tbo_new(a, 4096, DRM_ZHIKAI_BO_HBM, &code) || cmds_new(a, &ac) ||
	    tbo_new(b, 4096, DRM_ZHIKAI_BO_HOST, &bres) ||
	    tbo_new(b, 8 * FILLSZ, DRM_ZHIKAI_BO_HBM, &bdata) || cmds_new(b, &bc)) {
		ok(false, "fault: setup");
		return;
	}
	memset(bres.map, 0, 4096);
	/* B streams 8 jobs on queue 1 and 0 around A's faults. */
	for (i = 0; i < 8; i++) {
		cmd_dma(&bc, bdata.va + i * FILLSZ, 0x0b000000u | i, FILLSZ, ZK_DMA_F_FILL);
		cmd_fence(&bc, bres.va + 8 * i, 0xb0 + i);
		job_init(&bj[i], i & 1 ? HANG_Q : STREAM_Q, &bc, 2 * i, 2);
	}
	ret = submit_jobs(b, bj, 4);

	/* A, MMU fault: a scatter list entry running into the guard page. */
	e = sg.map;
	e[0] = (struct zk_dma_sg){ .src = 0xa1a1a1a1, .dst = tgt.va, .size = 4096 };
	e[1] = (struct zk_dma_sg){ .src = 0xa1a1a1a1, .dst = tgt.va + tgt.size, .size = 4096 };
	cmd_dma(&ac, 0, sg.va, 2, ZK_DMA_F_FILL | ZK_DMA_F_SGLIST);
	job_init(&aj, HANG_Q, &ac, 0, 1);
	ret |= submit_jobs(a, &aj, 1);
	ret |= submit_jobs(b, bj + 4, 4);
	ok(!ret, "fault: submits");
	st = ~0u;
	wait_seqno(a, aj.seqno, 10000, &st);
	ok(st == DRM_ZHIKAI_JOB_FAULTED, "fault: MMU fault -> that job FAULTED (%s)", st_name(st));

	/* A, engine error: a LAUNCH of garbage that fails verification. */
	memset(code.map, 0xff, 4096);
	cmds_reset(&ac);
	l = cmds_next(&ac);
	l->hdr.opcode = ZK_CMD_LAUNCH;
	l->code_va = code.va;
	l->code_size = 4096;
	l->grid[0] = l->grid[1] = l->grid[2] = 1;
	st = ~0u;
	ret = run_cmds(a, STREAM_Q, &ac, &st);
	ok(!ret && st == DRM_ZHIKAI_JOB_ERROR, "fault: illegal kernel -> that job ERROR (%d, %s)",
	   ret, st_name(st));

	for (i = 0; i < 8; i++) {
		st = ~0u;
		if (wait_seqno(b, bj[i].seqno, 10000, &st) || st ||
		    ((volatile uint64_t *)bres.map)[i] != 0xb0 + i ||
		    !all_u32((char *)bdata.map + i * FILLSZ, FILLSZ, 0x0b000000u | i))
			b_ok = false;
	}
	ok(b_ok, "fault: the other context's 8 jobs on both queues OK with their data");
	ok(smoke(a, HANG_Q) && smoke(a, STREAM_Q), "fault: the faulting context still works");

	/* Injected DMA failure: the next DMA fails, nothing else. */
	if (!inject("dma_fail")) {
		cmds_reset(&ac);
		cmd_dma(&ac, tgt.va, 0x77777777, 4096, ZK_DMA_F_FILL);
		st = ~0u;
		ret = run_cmds(a, HANG_Q, &ac, &st);
		ok(!ret && st == DRM_ZHIKAI_JOB_FAULTED, "fault: injected DMA failure -> FAULTED (%s)",
		   st_name(st));
		ok(smoke(b, HANG_Q) && smoke(a, HANG_Q), "fault: the next DMAs work again");
	} else {
		skip("fault: injected DMA failure", "no debugfs inject");
	}
	ok(sysfs_u64("reset_count") == r0, "fault: faults cause no reset");
	tbo_free(b, &bc.bo);
	tbo_free(b, &bdata);
	tbo_free(b, &bres);
	tbo_free(a, &ac.bo);
	tbo_free(a, &code);
	tbo_free(a, &sg);
	tbo_free(a, &tgt);
	close(a);
	close(b);
}

/* ---- 3. RAS --------------------------------------------------------- */

static bool poll_sysfs_gt(const char *name, uint64_t old, int ms)
{
	int64_t end = now_ns() + (int64_t)ms * 1000000;

	do {
		if (sysfs_u64(name) > old && sysfs_u64(name) != ~0ull)
			return true;
		msleep(10);
	} while (now_ns() < end);
	return false;
}

static uint32_t bo_flags(int fd, uint32_t handle)
{
	struct drm_zhikai_bo_info i = { .handle = handle };

	return zk_ioctl(fd, DRM_IOCTL_ZHIKAI_BO_INFO, &i) ? ~0u : i.flags;
}

static void test_ras(void)
{
	int a = zk_open_or_die(), b = zk_open_or_die(), uev = uevent_open();
	struct tbo x, y, z;
	uint64_t ce = sysfs_u64("ras_ce_count"), ue = sysfs_u64("ras_ue_count");
	uint32_t ctx_a = (uint32_t)zk_param(a, DRM_ZHIKAI_PARAM_CTX_ID);
	int64_t off;
	char cmd[64], k1[48];
	bool ret;

	if (!zk_debugfs_file("inject")) {
		skip("ras", "no debugfs inject");
		return;
	}
	if (tbo_new(a, 65536, DRM_ZHIKAI_BO_HBM, &x) || tbo_new(a, 65536, DRM_ZHIKAI_BO_HBM, &y) ||
	    tbo_new(b, 65536, DRM_ZHIKAI_BO_HBM, &z)) {
		ok(false, "ras: setup");
		return;
	}
	ret = !inject("mem_ce 0x1000") && poll_sysfs_gt("ras_ce_count", ce, 2000);
	ok(ret, "ras: injected CE counted in ras_ce_count (%" PRIu64 " -> %" PRIu64 ")", ce,
	   sysfs_u64("ras_ce_count"));
	ok(sysfs_u64("ras_ue_count") == ue, "ras: a CE does not count as UE");
	off = bo_hbm_offset(ctx_a, x.va);
	ok(off > 0, "ras: HBM offset of the victim BO from debugfs (0x%" PRIx64 ")", off);
	if (off <= 0)
		goto out;
	snprintf(cmd, sizeof(cmd), "mem_ue 0x%" PRIx64, (uint64_t)off + 0x123);
	ret = !inject(cmd) && poll_sysfs_gt("ras_ue_count", ue, 2000);
	ok(ret, "ras: injected UE counted in ras_ue_count (%" PRIu64 " -> %" PRIu64 ")", ue,
	   sysfs_u64("ras_ue_count"));
	msleep(50);
	ok(bo_flags(a, x.handle) == (DRM_ZHIKAI_BO_HBM | DRM_ZHIKAI_BO_POISONED),
	   "ras: the hit BO reports DRM_ZHIKAI_BO_POISONED to its owner (flags 0x%x)",
	   bo_flags(a, x.handle));
	ok(bo_flags(a, y.handle) == DRM_ZHIKAI_BO_HBM && bo_flags(b, z.handle) == DRM_ZHIKAI_BO_HBM,
	   "ras: other BOs (same and other context) not poisoned");
	snprintf(k1, sizeof(k1), "ZHIKAI_RAS_CTX=%u", ctx_a);
	if (uev >= 0)
		ok(uevent_find(uev, "ZHIKAI_EVENT=ras-ue", k1, 2000),
		   "ras: ras-ue uevent names the owner (%s)", k1);
	else
		skip("ras: uevent", "no netlink socket");
	ok(smoke(a, HANG_Q) && smoke(b, STREAM_Q), "ras: both contexts keep working");

	/* An error in a context's page table: its owner is named and banned. */
	{
		int c = zk_open_or_die(), sret;
		uint32_t ctx_c = (uint32_t)zk_param(c, DRM_ZHIKAI_PARAM_CTX_ID);
		int64_t root = pt_root_offset(ctx_c);
		uint64_t ue1 = sysfs_u64("ras_ue_count");
		struct tcmds cc;

		ok(root >= 0 && cmds_new(c, &cc) == 0,
		   "ras: page-table root of a third context from debugfs (0x%" PRIx64 ")", root);
		snprintf(cmd, sizeof(cmd), "mem_ue 0x%" PRIx64, (uint64_t)root + 8);
		ret = root >= 0 && !inject(cmd) && poll_sysfs_gt("ras_ue_count", ue1, 2000);
		snprintf(k1, sizeof(k1), "ZHIKAI_RAS_CTX=%u", ctx_c);
		if (uev >= 0)
			ok(ret && uevent_find(uev, "ZHIKAI_EVENT=ras-ue", k1, 2000),
			   "ras: a UE in a page table names its context (%s)", k1);
		else
			skip("ras: page-table uevent", "no netlink socket");
		cmd_raw(&cc, ZK_CMD_NOP);
		sret = submit_cmds(c, STREAM_Q, &cc, NULL);
		ok(sret == -EIO, "ras: that context is banned: SUBMIT -> EIO (%d)", sret);
		ok(smoke(a, HANG_Q) && smoke(b, STREAM_Q), "ras: the other contexts keep working");
		close(c);
	}
out:
	if (uev >= 0)
		close(uev);
	tbo_free(b, &z);
	tbo_free(a, &y);
	tbo_free(a, &x);
	close(a);
	close(b);
}

/* ---- 4. isolation -------------------------------------------------- */

static uint64_t bo_offset(int fd, uint32_t handle)
{
	struct drm_zhikai_bo_info i = { .handle = handle };

	return zk_ioctl(fd, DRM_IOCTL_ZHIKAI_BO_INFO, &i) ? 0 : i.mmap_offset;
}

static int try_map(int fd, uint64_t off, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);

	if (p == MAP_FAILED)
		return -errno;
	munmap(p, len);
	return 0;
}

/* Run @cmds in @fd with the submit-time address check off (device MMU only). */
static int run_unchecked(int fd, uint32_t q, struct tcmds *c, uint32_t *st)
{
	int ret;

	modparam_set("cmd_addr_check", "0");
	ret = run_cmds(fd, q, c, st);
	modparam_set("cmd_addr_check", "1");
	return ret;
}

/* Child as uid 1000: returns the number of failed checks. */
static int unpriv_checks(void)
{
	const char *hw = zk_hwmon_dir();
	char cap[400];
	int bad = 0, fd;

	snprintf(cap, sizeof(cap), "%s/power1_cap", hw ? hw : "/nonexistent");
	if (setgid(1000) || setuid(1000))
		return 100;
	if (hw && write_file(cap, "150000000") != -EACCES)
		bad += 1;
	if (write_file("/sys/kernel/debug/dri/0/inject", "hang_queue 0") == 0 ||
	    write_file("/sys/kernel/debug/dri/1/inject", "hang_queue 0") == 0 ||
	    write_file("/sys/kernel/debug/dri/128/inject", "hang_queue 0") == 0)
		bad += 2;
	if (modparam_set("cmd_addr_check", "0") == 0 || modparam_set("zero_hbm", "0") == 0 ||
	    modparam_set("hang_ban_limit", "0") == 0)
		bad += 4;
	fd = zk_open_node(NULL, 0);
	if (fd < 0 || !smoke(fd, 0))
		bad += 8;
	if (fd >= 0)
		close(fd);
	return bad;
}

static void test_isolation(void)
{
	int a = zk_open_or_die(), b = zk_open_or_die(), bad, status;
	struct tbo spacer, x, xh, bown, fresh, keep;
	struct tcmds bc, ac;
	struct drm_zhikai_job j;
	struct drm_gem_close gc;
	uint64_t xoff, xhoff, base, old_cap = 0, cap2 = 0, r;
	uint32_t st, closed, h;
	int64_t a_off, b_off;
	struct zk_cmd_launch *l;
	const char *hw;
	pid_t pid;
	int ret, fails;

	/* A: a 16 MiB spacer first, so A's targets sit at VAs B never uses. */
	if (tbo_new(a, 16 << 20, DRM_ZHIKAI_BO_HBM, &spacer) ||
	    tbo_new(a, 65536, DRM_ZHIKAI_BO_HBM, &x) ||
	    tbo_new(a, 65536, DRM_ZHIKAI_BO_HOST, &xh) ||
	    tbo_new(b, 4096, DRM_ZHIKAI_BO_HOST, &bown) || cmds_new(b, &bc)) {
		ok(false, "isolation: setup");
		return;
	}
	memset(x.map, 0xa5, x.size);
	memset(xh.map, 0x5a, xh.size);
	memset(bown.map, 0, bown.size);
	xoff = bo_offset(a, x.handle);
	xhoff = bo_offset(a, xh.handle);

	/* mmap offsets of another file. */
	ok(try_map(b, xoff, 65536) < 0 && try_map(b, xhoff, 65536) < 0,
	   "isolation: A's mmap offsets refused on B's fd (%d, %d)", try_map(b, xoff, 65536),
	   try_map(b, xhoff, 65536));
	fails = 0;
	base = xoff < (64 << 12) ? 0 : xoff - (64 << 12);
	for (r = base; r < xhoff + (64 << 12); r += 4096)
		if (try_map(b, r, 4096) == 0 && r != bo_offset(b, bown.handle) &&
		    r != bo_offset(b, bc.bo.handle))
			fails++;
	ok(!fails, "isolation: every guessed offset near A's BOs refused on B's fd (%d mapped)",
	   fails);

	/* A's device VAs in B's commands. */
	cmds_reset(&bc);
	cmd_dma(&bc, x.va, 0x0bad0bad, 4096, ZK_DMA_F_FILL);
	ret = submit_cmds(b, 0, &bc, NULL);
	ok(ret == -ERANGE, "isolation: DMA fill to A's VA rejected at submit (%d)", ret);
	st = ~0u;
	ret = run_unchecked(b, 0, &bc, &st);
	ok(!ret && st == DRM_ZHIKAI_JOB_FAULTED,
	   "isolation: ... and FAULTED by the device MMU without the check (%d, %s)", ret,
	   st_name(st));
	cmds_reset(&bc);
	cmd_dma(&bc, bown.va, x.va, 4096, 0);
	cmd_dma(&bc, bown.va, xh.va, 4096, 0);
	ret = submit_cmds(b, 0, &bc, NULL);
	ok(ret == -ERANGE, "isolation: DMA read of A's VA rejected at submit (%d)", ret);
	st = ~0u;
	ret = run_unchecked(b, 0, &bc, &st);
	ok(!ret && st == DRM_ZHIKAI_JOB_FAULTED && all_u32(bown.map, 4096, 0),
	   "isolation: ... FAULTED without the check, nothing of A's copied (%s)", st_name(st));
	cmds_reset(&bc);
	l = cmds_next(&bc);
	l->hdr.opcode = ZK_CMD_LAUNCH;
	l->code_va = x.va;
	l->code_size = 4096;
	l->grid[0] = l->grid[1] = l->grid[2] = 1;
	ret = submit_cmds(b, 0, &bc, NULL);
	ok(ret == -ERANGE, "isolation: LAUNCH of code at A's VA rejected at submit (%d)", ret);
	st = ~0u;
	ret = run_unchecked(b, 0, &bc, &st);
	ok(!ret && (st == DRM_ZHIKAI_JOB_FAULTED || st == DRM_ZHIKAI_JOB_ERROR),
	   "isolation: ... fails on the device without the check (%s)", st_name(st));
	ok(all_u32(x.map, x.size, 0xa5a5a5a5) && all_u32(xh.map, xh.size, 0x5a5a5a5a),
	   "isolation: A's data unchanged");

	/* Handles are per file: B's lookups of A's handle numbers. */
	ok(bo_flags(b, x.handle) == ~0u || x.handle == bown.handle || x.handle == bc.bo.handle,
	   "isolation: A's handle number means nothing on B's fd");

	/* Stale handles after close.  (The file's next BO may get the same
	 * handle number back, so the command BO is made first.) */
	if (cmds_new(a, &ac)) {
		ok(false, "isolation: stale-handle setup");
		goto out;
	}
	closed = x.handle;
	munmap(x.map, x.size);
	gc.handle = closed;
	gc.pad = 0;
	ok(!zk_ioctl(a, DRM_IOCTL_GEM_CLOSE, &gc), "isolation: GEM_CLOSE");
	ok(bo_flags(a, closed) == ~0u, "isolation: BO_INFO on a closed handle -> ENOENT");
	ok(zk_ioctl(a, DRM_IOCTL_GEM_CLOSE, &gc) == -EINVAL, "isolation: double GEM_CLOSE -> EINVAL");
	ok(try_map(a, xoff, 65536) < 0, "isolation: mmap of a closed BO's offset refused");
	{
		{
			cmd_fence(&ac, xh.va, 1);
			job_init(&j, 0, &ac, 0, 1);
			j.bo_count = 1;
			h = closed;
			j.bo_handles = (uintptr_t)&h;
			ok(submit_jobs(a, &j, 1) == -ENOENT, "isolation: closed handle in bo_handles -> ENOENT");
			j.bo_count = 0;
			j.cmd_handle = closed;
			ok(submit_jobs(a, &j, 1) == -ENOENT, "isolation: closed handle as cmd BO -> ENOENT");
			cmds_reset(&ac);
			cmd_dma(&ac, x.va, 0x1, 4096, ZK_DMA_F_FILL);
			ok(submit_cmds(a, 0, &ac, NULL) == -ERANGE, "isolation: freed BO's VA -> ERANGE");
			st = ~0u;
			ret = run_unchecked(a, 0, &ac, &st);
			ok(!ret && st == DRM_ZHIKAI_JOB_FAULTED,
			   "isolation: freed BO's VA unmapped on the device (%s)", st_name(st));
			tbo_free(a, &ac.bo);
		}
	}
	x.map = NULL;
	x.handle = 0;

	/* Freed HBM is scrubbed before another context gets it. */
	if (tbo_new(a, 1 << 20, DRM_ZHIKAI_BO_HBM, &keep)) {
		ok(false, "isolation: scrub setup");
		goto out;
	}
	memset(keep.map, 0xc3, keep.size);
	a_off = bo_hbm_offset((uint32_t)zk_param(a, DRM_ZHIKAI_PARAM_CTX_ID), keep.va);
	tbo_free(a, &keep);
	ret = tbo_new(b, 1 << 20, DRM_ZHIKAI_BO_HBM, &fresh);
	b_off = ret ? -1 : bo_hbm_offset((uint32_t)zk_param(b, DRM_ZHIKAI_PARAM_CTX_ID), fresh.va);
	ok(!ret && all_u32(fresh.map, fresh.size, 0),
	   "isolation: HBM freed by A reads zero in B (A at 0x%" PRIx64 ", B at 0x%" PRIx64 "%s)",
	   a_off, b_off, a_off == b_off ? ", same HBM" : "");
	if (!ret)
		tbo_free(b, &fresh);

	/* A BO mapped but closed stays A's until munmap. */
	if (!tbo_new(a, 1 << 20, DRM_ZHIKAI_BO_HBM, &keep)) {
		memset(keep.map, 0x3c, keep.size);
		gc.handle = keep.handle;
		zk_ioctl(a, DRM_IOCTL_GEM_CLOSE, &gc);
		ret = tbo_new(b, 1 << 20, DRM_ZHIKAI_BO_HBM, &fresh);
		ok(!ret && all_u32(keep.map, keep.size, 0x3c3c3c3c) &&
		   all_u32(fresh.map, fresh.size, 0),
		   "isolation: a closed but still mmapped BO keeps its HBM until munmap");
		if (!ret)
			tbo_free(b, &fresh);
		munmap(keep.map, keep.size);
	}

	/* Unprivileged users: no power cap, no injection, no module knobs. */
	hw = zk_hwmon_dir();
	if (hw)
		read_u64(hw, "power1_cap", &old_cap);
	pid = fork();
	if (pid == 0)
		_exit(unpriv_checks());
	waitpid(pid, &status, 0);
	bad = WIFEXITED(status) ? WEXITSTATUS(status) : 255;
	if (hw)
		read_u64(hw, "power1_cap", &cap2);
	ok(!(bad & 1) && old_cap == cap2 && bad != 100 && bad != 255,
	   "isolation: uid 1000 cannot write power1_cap (%" PRIu64 " uW kept)", cap2);
	ok(!(bad & 2) && bad != 100 && bad != 255, "isolation: uid 1000 cannot use debugfs inject");
	ok(!(bad & 4) && bad != 100 && bad != 255,
	   "isolation: uid 1000 cannot change cmd_addr_check/zero_hbm/hang_ban_limit");
	ok(!(bad & 8) && bad != 100 && bad != 255, "isolation: uid 1000 can use the card (smoke)");
out:
	tbo_free(b, &bc.bo);
	tbo_free(b, &bown);
	tbo_free(a, &xh);
	tbo_free(a, &spacer);
	close(a);
	close(b);
}

/* ---- 6. unbind / rebind with a busy client ------------------------- */

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

/*
 * The client: BOs, a blocked job and jobs behind it; tells the parent, and
 * sits in WAIT while the device goes away.  Exit code = failed checks.
 */
static int busy_client(int to_parent, int from_parent, bool slow)
{
	int fd = zk_open_node(NULL, 0), bad = 0, ret;
	struct tbo hbm, host;
	struct tcmds c;
	struct drm_zhikai_job j[4];
	struct drm_zhikai_bo_create bc = { .size = 4096 };
	uint32_t st = ~0u, k;
	char ch = 'r';
	volatile uint32_t *p;

	if (fd < 0 || tbo_new(fd, 65536, DRM_ZHIKAI_BO_HBM, &hbm) ||
	    tbo_new(fd, 65536, DRM_ZHIKAI_BO_HOST, &host) || cmds_new(fd, &c))
		return 64;
	memset(hbm.map, 0x11, 65536);
	memset(host.map, 0, 65536);
	cmd_wait(&c, host.va + 4096, 1);
	for (k = 0; k < 3; k++) {
		cmd_dma(&c, hbm.va + k * 4096, 0x22, 4096, ZK_DMA_F_FILL);
		cmd_fence(&c, host.va + 8 * k, k + 1);
	}
	job_init(&j[0], 0, &c, 0, 1);
	for (k = 0; k < 3; k++)
		job_init(&j[1 + k], k & 1, &c, 1 + 2 * k, 2);
	if (submit_jobs(fd, j, 4))
		return 65;
	if (write(to_parent, &ch, 1) != 1)
		return 66;
	/* Blocked here while the parent unbinds. */
	ret = wait_seqno(fd, j[0].seqno, 20000, &st);
	/* @slow: the removal takes longer than the job timeout (pciehp waits
	 * 5 s), so the blocked job may have been timed out first. */
	if (!(ret == -ENODEV || (ret == 0 && st == DRM_ZHIKAI_JOB_ABORTED) ||
	      (slow && ret == 0 && st == DRM_ZHIKAI_JOB_TIMEDOUT)))
		bad |= 1;
	if (read(from_parent, &ch, 1) != 1)
		return 67;
	for (k = 1; k < 4; k++) {
		ret = wait_seqno(fd, j[k].seqno, 5000, &st);
		if (ret != -ENODEV && ret != 0)
			bad |= 2;
	}
	if (zk_ioctl(fd, DRM_IOCTL_ZHIKAI_GET_PARAM, &(struct drm_zhikai_get_param){ .param = 0 }) !=
	    -ENODEV)
		bad |= 4;
	if (submit_jobs(fd, j + 1, 1) != -ENODEV || zk_ioctl(fd, DRM_IOCTL_ZHIKAI_BO_CREATE, &bc) !=
	    -ENODEV)
		bad |= 8;
	/* The HBM mapping is gone: SIGBUS, never stale device memory. */
	signal(SIGBUS, on_sigbus);
	p = hbm.map;
	if (!sigsetjmp(bus_jmp, 1)) {
		if (p[0] == 0x11111111)
			bad |= 16;
	}
	signal(SIGBUS, SIG_DFL);
	/* Host BO pages are plain memory and stay readable. */
	(void)((volatile uint64_t *)host.map)[0];
	munmap(hbm.map, hbm.size);
	munmap(host.map, host.size);
	munmap(c.bo.map, c.bo.size);
	close(fd);
	return bad;
}

static int bind_write(const char *what, const char *bdf)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/zhikai/%s", what);
	return write_file(path, bdf);
}

static void test_unbind(int cycles)
{
	const char *dir = zk_pci_dir();
	char bdf[64];
	int cy, bad_client = 0, bad_bind = 0, bad_after = 0, bad_leak = 0, last = 0;
	uint64_t base;

	if (!dir) {
		ok(false, "unbind: no bound device");
		return;
	}
	snprintf(bdf, sizeof(bdf), "%s", strrchr(dir, '/') + 1);
	/* Contexts of closed files are freed on the driver's workqueue: let
	 * the previous test's go before taking the baseline. */
	for (cy = 0, base = sysfs_u64("hbm_used_bytes"); cy < 20 && base; cy++) {
		msleep(100);
		base = sysfs_u64("hbm_used_bytes");
	}
	for (cy = 0; cy < cycles; cy++) {
		int up[2], down[2], status, fd;
		char ch;
		pid_t pid;

		if (pipe(up) || pipe(down))
			break;
		pid = fork();
		if (pid == 0) {
			close(up[0]);
			close(down[1]);
			_exit(busy_client(up[1], down[0], false));
		}
		close(up[1]);
		close(down[0]);
		if (read(up[0], &ch, 1) != 1) {
			bad_client++;
			waitpid(pid, &status, 0);
			diag("cycle %d: client failed to start (%d)", cy, WEXITSTATUS(status));
			break;
		}
		msleep(100);
		if (bind_write("unbind", bdf)) {
			bad_bind++;
			diag("cycle %d: unbind failed", cy);
		}
		if (write(down[1], "u", 1) != 1)
			bad_client++;
		waitpid(pid, &status, 0);
		last = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (last) {
			bad_client++;
			diag("cycle %d: client checks failed: 0x%x", cy, last);
		}
		close(up[0]);
		close(down[1]);
		if (bind_write("bind", bdf)) {
			bad_bind++;
			diag("cycle %d: bind failed", cy);
			break;
		}
		pci = NULL;
		fd = zk_open_node(NULL, 0);
		if (fd < 0 || !smoke(fd, 0) || !smoke(fd, 1))
			bad_after++;
		if (fd >= 0)
			close(fd);
		/* udev's job in a real system: the test user keeps access. */
		system("for n in /dev/dri/renderD* /dev/accel/accel*; do [ -e $n ] && chmod 666 $n; done");
		if (sysfs_u64("hbm_used_bytes") != base) {
			bad_leak++;
			diag("cycle %d: hbm_used_bytes %" PRIu64 " after rebind (was %" PRIu64 ")", cy,
			     sysfs_u64("hbm_used_bytes"), base);
		}
	}
	ok(!bad_bind, "unbind x%d: unbind and bind succeed with a busy client", cycles);
	ok(!bad_client,
	   "unbind x%d: the client's blocked WAIT returns, its fd gets ENODEV, HBM mapping gone (last 0x%x)",
	   cycles, last);
	ok(!bad_after, "unbind x%d: the device works after every rebind", cycles);
	ok(!bad_leak, "unbind x%d: hbm_used_bytes back to its baseline", cycles);
}

/*
 * 7. unbind with jobs still queued in the client's entities (issue 15 #4):
 * a job blocked on the device, 160 jobs behind it on its queue (more than
 * the 64 the hardware queue takes: most are still in drm_sched's entity),
 * and a second queue's jobs waiting on the blocked one through a syncobj.
 * The driver's remove() kills what is queued and finalizes its schedulers
 * while the client still holds the fd; the client then closes (cycle 0) or
 * is SIGKILLed (cycle 1).  The caller checks dmesg for WARN/BUG/KASAN.
 */
#define QUEUED_JOBS	160

static int queued_client(int to_parent, int from_parent, bool die)
{
	int fd = zk_open_node(NULL, 0), ret, bad = 0;
	struct drm_syncobj_create sc = { 0 };
	struct drm_zhikai_job j[QUEUED_JOBS];
	struct tbo mem;
	struct tcmds c;
	uint64_t last0, last1;
	uint32_t st, k;
	char ch = 'r';

	if (fd < 0 || tbo_new(fd, 65536, DRM_ZHIKAI_BO_HOST, &mem) || cmds_new(fd, &c) ||
	    zk_ioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &sc))
		return 64;
	memset(mem.map, 0, 65536);
	cmd_wait(&c, mem.va + 4096, 1);		/* never satisfied */
	cmd_fence(&c, mem.va, 1);
	job_init(&j[0], 0, &c, 0, 2);
	j[0].out_syncobj = sc.handle;
	if (submit_jobs(fd, j, 1))
		return 65;
	for (k = 0; k < QUEUED_JOBS; k++)
		job_init(&j[k], 0, &c, 1, 1);
	if (submit_jobs(fd, j, QUEUED_JOBS))
		return 66;
	last0 = j[QUEUED_JOBS - 1].seqno;
	for (k = 0; k < 16; k++)
		job_init(&j[k], 1, &c, 1, 1);
	j[0].in_syncobj = sc.handle;
	if (submit_jobs(fd, j, 16))
		return 67;
	last1 = j[15].seqno;
	if (write(to_parent, &ch, 1) != 1 || read(from_parent, &ch, 1) != 1)
		return 68;
	if (die) {
		/* Killed with everything still open: the exit path closes. */
		kill(getpid(), SIGKILL);
		pause();
	}
	/* Every queued job ended (aborted/failed), or the fd is gone. */
	ret = wait_seqno(fd, last0, 5000, &st);
	if (!(ret == -ENODEV || (ret == 0 && st != DRM_ZHIKAI_JOB_OK)))
		bad |= 1;
	ret = wait_seqno(fd, last1, 5000, &st);
	if (!(ret == -ENODEV || (ret == 0 && st != DRM_ZHIKAI_JOB_OK)))
		bad |= 2;
	if (submit_jobs(fd, j, 1) != -ENODEV)
		bad |= 4;
	munmap(mem.map, mem.size);
	munmap(c.bo.map, c.bo.size);
	close(fd);
	return bad;
}

/* Kernel threads named @prefix* (drm_sched's, one per queue on 6.1). */
static int count_threads(const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	char path[300], comm[64];
	int n = 0;

	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		if (read_file(path, comm, sizeof(comm)) > 0 &&
		    !strncmp(comm, prefix, strlen(prefix)))
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

static void test_unbind_queued(void)
{
	const char *dir = zk_pci_dir();
	char bdf[64];
	int cy;

	if (!dir) {
		ok(false, "unbind-queued: no bound device");
		return;
	}
	snprintf(bdf, sizeof(bdf), "%s", strrchr(dir, '/') + 1);
	for (cy = 0; cy < 2; cy++) {
		const char *how = cy ? "SIGKILLed" : "closes";
		int up[2], down[2], status, fd, st, nthr;
		int64_t t0, ms;
		bool unbound, bound, works;
		char ch;
		pid_t pid;

		if (pipe(up) || pipe(down))
			break;
		pid = fork();
		if (pid == 0) {
			close(up[0]);
			close(down[1]);
			_exit(queued_client(up[1], down[0], cy == 1));
		}
		close(up[1]);
		close(down[0]);
		if (read(up[0], &ch, 1) != 1) {
			waitpid(pid, &status, 0);
			ok(false, "unbind-queued: client failed to start (%d)", WEXITSTATUS(status));
			break;
		}
		msleep(100);
		nthr = count_threads("zk-q");
		t0 = now_ns();
		unbound = !bind_write("unbind", bdf);
		ms = (now_ns() - t0) / 1000000;
		ok(unbound && ms < 10000,
		   "unbind-queued: unbind with %d jobs queued behind a blocked one returns (%" PRId64 " ms)",
		   QUEUED_JOBS + 16, ms);
		/* 6.1: a kthread per scheduler; 6.12 has work items instead. */
		if (nthr)
			ok(count_threads("zk-q") == 0,
			   "unbind-queued: the %d scheduler threads are gone at unbind, the client still has its fd open",
			   nthr);
		else
			skip("unbind-queued: scheduler threads gone at unbind",
			     "schedulers run on workqueues here");
		if (write(down[1], "u", 1) != 1)
			diag("client gone early");
		waitpid(pid, &status, 0);
		st = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		ok(cy ? st == 128 + SIGKILL : st == 0,
		   "unbind-queued: the client's queued jobs end, then it %s its fd (0x%x)", how, st);
		close(up[0]);
		close(down[1]);
		bound = !bind_write("bind", bdf);
		pci = NULL;
		fd = zk_open_node(NULL, 0);
		works = fd >= 0 && smoke(fd, 0) && smoke(fd, 1);
		if (fd >= 0)
			close(fd);
		system("for n in /dev/dri/renderD* /dev/accel/accel*; do [ -e $n ] && chmod 666 $n; done");
		ok(bound && works, "unbind-queued: rebind after the client %s, jobs run again", how);
		if (!bound)
			break;
	}
}

/*
 * 8. PCI function reset (sysfs "reset": FLR) with a blocked job in flight:
 * the card loses its firmware and queues; the driver's reset_prepare /
 * reset_done must boot it again.  The blocked job ends ABORTED right away
 * (not after a job timeout), both queues run at once, reset_count grows.
 */
static void test_flr(void)
{
	const char *dir = zk_pci_dir();
	int fd = zk_open_or_die(), ret;
	char path[160];
	struct tbo mem;
	struct tcmds c;
	uint64_t seq, r0 = sysfs_u64("reset_count");
	uint32_t st = ~0u;
	int64_t t0, ms;

	if (!dir || tbo_new(fd, 65536, DRM_ZHIKAI_BO_HOST, &mem) || cmds_new(fd, &c)) {
		ok(false, "flr: setup");
		return;
	}
	memset(mem.map, 0, 65536);
	cmd_wait(&c, mem.va + 4096, 1);
	if (submit_cmds(fd, STREAM_Q, &c, &seq)) {
		ok(false, "flr: submit");
		return;
	}
	msleep(100);
	snprintf(path, sizeof(path), "%s/reset", dir);
	t0 = now_ns();
	ret = write_file(path, "1");
	ok(!ret, "flr: function reset through sysfs with a blocked job (%d)", ret);
	ret = wait_seqno(fd, seq, 5000, &st);
	ms = (now_ns() - t0) / 1000000;
	ok(!ret && st == DRM_ZHIKAI_JOB_ABORTED && ms < 1500,
	   "flr: the blocked job ends ABORTED without waiting for a timeout (%d, %s, %" PRId64 " ms)",
	   ret, st_name(st), ms);
	ok(smoke(fd, HANG_Q) && smoke(fd, STREAM_Q),
	   "flr: both queues run right after the reset (firmware booted again)");
	ok(sysfs_u64("reset_count") > r0, "flr: reset_count grew");
	tbo_free(fd, &c.bo);
	tbo_free(fd, &mem);
	close(fd);
}

/*
 * 9. System suspend/resume (pm_test "devices": the kernel runs every
 * driver's suspend and resume callbacks without sleeping): a job blocked
 * on the device ends ABORTED (the card may lose power; its firmware is
 * booted again), jobs run on both queues afterwards.
 */
static void test_suspend(void)
{
	int fd = zk_open_or_die(), ret;
	struct tbo mem;
	struct tcmds c;
	uint64_t seq;
	uint32_t st = ~0u;
	char old[64] = "";

	if (read_file("/sys/power/pm_test", old, sizeof(old)) <= 0) {
		skip("suspend", "no /sys/power/pm_test (CONFIG_PM_DEBUG)");
		close(fd);
		return;
	}
	if (tbo_new(fd, 65536, DRM_ZHIKAI_BO_HOST, &mem) || cmds_new(fd, &c)) {
		ok(false, "suspend: setup");
		return;
	}
	memset(mem.map, 0, 65536);
	cmd_wait(&c, mem.va + 4096, 1);
	ok(smoke(fd, STREAM_Q) && !submit_cmds(fd, STREAM_Q, &c, &seq),
	   "suspend: a job done and a job blocked on the device before suspend");
	ret = write_file("/sys/power/pm_test", "devices");
	if (!ret)
		ret = write_file("/sys/power/state", "mem");
	write_file("/sys/power/pm_test", "none");
	ok(!ret, "suspend: suspend/resume cycle (pm_test devices) succeeds (%d)", ret);
	ret = wait_seqno(fd, seq, 3000, &st);
	ok(!ret && st == DRM_ZHIKAI_JOB_ABORTED,
	   "suspend: the job blocked across suspend ends ABORTED (%d, %s)", ret, st_name(st));
	ok(smoke(fd, HANG_Q) && smoke(fd, STREAM_Q), "suspend: both queues run after resume");
	tbo_free(fd, &c.bo);
	tbo_free(fd, &mem);
	close(fd);
}

/*
 * QEMU device_del (PCIe hot-unplug) with a busy client.  The host side
 * (tools/fuzz.sh) boots the card behind a pcie-root-port with a QMP socket,
 * waits for the "ZK-UNPLUG-NOW" line and sends device_del.
 */
static void test_unplug(void)
{
	const char *dir = zk_pci_dir();
	char bdf[64], path[128];
	int up[2], down[2], status, last;
	int64_t end;
	bool gone = false;
	char ch;
	pid_t pid;

	if (!dir) {
		ok(false, "unplug: no bound device");
		return;
	}
	snprintf(bdf, sizeof(bdf), "%s", strrchr(dir, '/') + 1);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
	if (pipe(up) || pipe(down))
		return;
	pid = fork();
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		_exit(busy_client(up[1], down[0], true));
	}
	close(up[1]);
	close(down[0]);
	if (read(up[0], &ch, 1) != 1) {
		ok(false, "unplug: client failed to start");
		return;
	}
	printf("ZK-UNPLUG-NOW %s\n", bdf);
	fflush(stdout);
	end = now_ns() + 60 * 1000000000ll;
	while (now_ns() < end && !(gone = access(path, F_OK) != 0))
		msleep(100);
	ok(gone, "unplug: %s removed by QEMU device_del with a busy client", bdf);
	if (write(down[1], "u", 1) != 1)
		gone = false;
	waitpid(pid, &status, 0);
	last = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	ok(gone && last == 0,
	   "unplug: the client's blocked WAIT returns, its fd gets ENODEV, HBM mapping gone (0x%x)",
	   last);
	ok(zk_open_node(NULL, 0) < 0, "unplug: no device node left");
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "smoke";
	int n = argc > 2 ? atoi(argv[2]) : 1;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		skip(what, "needs root");
		return tap_done();
	}
	pci = zk_pci_dir();
	fd = zk_open_or_die();
	if (zk_param(fd, DRM_ZHIKAI_PARAM_NUM_QUEUES) < 2) {
		skip(what, "needs 2 queues");
		return tap_done();
	}
	close(fd);
	if (!strcmp(what, "hang"))
		test_hang(n);
	else if (!strcmp(what, "reset"))
		test_device_reset();
	else if (!strcmp(what, "ban"))
		test_ban();
	else if (!strcmp(what, "escalate"))
		test_escalate();
	else if (!strcmp(what, "fault"))
		test_fault();
	else if (!strcmp(what, "ras"))
		test_ras();
	else if (!strcmp(what, "isolation"))
		test_isolation();
	else if (!strcmp(what, "unbind"))
		test_unbind(n);
	else if (!strcmp(what, "flr"))
		test_flr();
	else if (!strcmp(what, "suspend"))
		test_suspend();
	else if (!strcmp(what, "unbind-queued"))
		test_unbind_queued();
	else if (!strcmp(what, "unplug"))
		test_unplug();
	else if (!strcmp(what, "smoke")) {
		fd = zk_open_or_die();
		ok(smoke(fd, 0), "smoke: DMA round trip host -> HBM -> host");
		close(fd);
	} else {
		fprintf(stderr, "usage: zk_reliab hang N|reset|escalate|ban|fault|ras|isolation|unbind N|unbind-queued|flr|suspend|smoke\n");
		return 2;
	}
	return tap_done();
}
