// SPDX-License-Identifier: MIT
/*
 * zk_reset - a hung queue (debugfs fault injection) times out: the job is
 * TIMEDOUT, the driver resets that queue, reset_count grows and new work
 * runs.  Needs root and debugfs; job_timeout_ms at its default (2 s).
 */
#include "zk_vmtest.h"

static const char *debugfs_file(const char *name)
{
	static char path[128];
	int i;

	for (i = 0; i < 64; i++) {
		char probe[96];
		char buf[32];

		snprintf(probe, sizeof(probe), "/sys/kernel/debug/dri/%d/name", i);
		if (read_file(probe, buf, sizeof(buf)) > 0 && !strncmp(buf, "zhikai", 6)) {
			snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/%s", i, name);
			return path;
		}
	}
	return NULL;
}

int main(void)
{
	int fd = zk_open_or_die();
	const char *pci = zk_pci_dir();
	const char *inject = debugfs_file("inject");
	struct tbo mem;
	struct tcmds c;
	uint64_t r0 = 0, r1 = 0, s1, s2;
	uint32_t st1 = ~0u, st2 = ~0u;
	int64_t t0;
	uint32_t q;
	int ret;

	if (!inject || geteuid() != 0) {
		skip("hang recovery", "needs root and debugfs");
		return tap_done();
	}
	if (tbo_new(fd, 4096, DRM_ZHIKAI_BO_HOST, &mem) || cmds_new(fd, &c)) {
		ok(false, "setup");
		return tap_done();
	}
	/* Let earlier work (other processes') drain: queues are FIFO. */
	cmd_fence(&c, mem.va + 8, 1);
	for (q = 0; q < zk_param(fd, DRM_ZHIKAI_PARAM_NUM_QUEUES); q++)
		if (!submit_cmds(fd, q, &c, &s1))
			wait_seqno(fd, s1, 30000, NULL);
	cmds_reset(&c);
	read_u64(pci, "reset_count", &r0);
	ok(write_file(inject, "hang_queue 0") == 0, "inject a hang into queue 0");
	cmd_fence(&c, mem.va, 1);
	ret = submit_cmds(fd, 0, &c, &s1);
	t0 = now_ns();
	ok(!ret && !wait_seqno(fd, s1, 30000, &st1), "hung job finishes (by reset)");
	ok(st1 == DRM_ZHIKAI_JOB_TIMEDOUT, "its status is TIMEDOUT (%u) after %" PRId64 " ms",
	   st1, (now_ns() - t0) / 1000000);
	read_u64(pci, "reset_count", &r1);
	ok(r1 > r0, "reset_count grew (%" PRIu64 " -> %" PRIu64 ")", r0, r1);
	{
		/* The hang left a devcoredump with the hung queue's state. */
		static char dump[65536];
		char path[96];
		long n = -1;
		int i;

		for (i = 0; i < 16 && n <= 0; i++) {
			snprintf(path, sizeof(path), "/sys/class/devcoredump/devcd%d/data", i);
			n = read_file(path, dump, sizeof(dump));
		}
		ok(n > 0 && strstr(dump, "zhikai devcoredump") &&
		   strstr(dump, "reason: job timeout (queue 0)") &&
		   strstr(dump, "ring window from"),
		   "devcoredump of the hang: reason, queue 0 and its ring (%ld bytes)", n);
		if (n > 0)
			write_file(path, "1");	/* free it */
	}
	cmds_reset(&c);
	cmd_fence(&c, mem.va, 2);
	ret = submit_cmds(fd, 0, &c, &s2);
	ok(!ret && !wait_seqno(fd, s2, 10000, &st2) && st2 == DRM_ZHIKAI_JOB_OK &&
	   ((volatile uint64_t *)mem.map)[0] == 2, "queue 0 works again after the reset");
	tbo_free(fd, &c.bo);
	tbo_free(fd, &mem);
	close(fd);
	return tap_done();
}
