// SPDX-License-Identifier: MIT
/*
 * zk_memcg - the kernel memory of queued jobs (each keeps a copy of its
 * commands, up to 1 MiB) is charged to the submitter's memory cgroup
 * (__GFP_ACCOUNT, issue 15).  A child in a fresh cgroup v2 group submits a
 * job blocked on a WAIT, then 24 jobs of 1 MiB of commands queued behind
 * it; the group's memory.peak grows by at least 20 MiB over what the
 * process had before.  Root (cgroupfs).  TAP.
 */
#include "zk_vmtest.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define CG	"/sys/fs/cgroup"
#define GRP	CG "/zk_memcg"
#define NJOBS	24
#define CMDS	(DRM_ZHIKAI_MAX_CMD_BYTES / ZK_CMD_SIZE)

static uint64_t cg_u64(const char *file)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), GRP "/%s", file);
	return read_file(path, buf, sizeof(buf)) > 0 ? strtoull(buf, NULL, 0) : 0;
}

static void child(int to_parent, int from_parent)
{
	int fd = zk_open_or_die();
	struct tbo cmds, flag, res;
	struct drm_zhikai_job j;
	char b = 0;
	uint32_t i, n = 0;

	if (tbo_new(fd, 2 * DRM_ZHIKAI_MAX_CMD_BYTES, DRM_ZHIKAI_BO_HOST, &cmds) ||
	    tbo_new(fd, 4096, DRM_ZHIKAI_BO_HOST, &flag) ||
	    tbo_new(fd, 4096, DRM_ZHIKAI_BO_HOST, &res))
		_exit(2);
	memset(flag.map, 0, 4096);
	memset(cmds.map, 0, cmds.size);
	{
		struct zk_cmd_wait *w = cmds.map;

		w->hdr.opcode = ZK_CMD_WAIT;
		w->addr = flag.va;
		w->value = 1;
	}
	for (i = 1; i <= CMDS; i++) {
		struct zk_cmd_fence *f = (void *)((char *)cmds.map + i * ZK_CMD_SIZE);

		f->hdr.opcode = ZK_CMD_FENCE;
		f->addr = res.va;
		f->value = i;
	}
	/* Baseline taken now: BOs made, nothing submitted. */
	if (write(to_parent, &b, 1) != 1 || read(from_parent, &b, 1) != 1)
		_exit(3);
	memset(&j, 0, sizeof(j));
	j.cmd_handle = cmds.handle;
	j.cmd_size = ZK_CMD_SIZE;
	if (submit_jobs(fd, &j, 1))
		_exit(4);
	for (n = 0; n < NJOBS; n++) {
		memset(&j, 0, sizeof(j));
		j.cmd_handle = cmds.handle;
		j.cmd_offset = ZK_CMD_SIZE;
		j.cmd_size = CMDS * ZK_CMD_SIZE;
		if (submit_jobs(fd, &j, 1))
			break;
	}
	b = (char)n;
	if (write(to_parent, &b, 1) != 1 || read(from_parent, &b, 1) != 1)
		_exit(5);
	((volatile uint32_t *)flag.map)[0] = 1;	/* let them all run */
	_exit(0);
}

int main(void)
{
	int up[2], down[2], st = 0;
	uint64_t base, peak;
	char b = 0, path[64];
	pid_t pid;

	if (geteuid() != 0) {
		skip("memcg accounting", "needs root");
		return tap_done();
	}
	if (access(CG "/cgroup.controllers", F_OK))
		mount("none", CG, "cgroup2", 0, NULL);
	write_file(CG "/cgroup.subtree_control", "+memory");
	mkdir(GRP, 0755);
	if (access(GRP "/memory.peak", F_OK)) {
		skip("memcg accounting", "no cgroup v2 memory controller (memory.peak)");
		rmdir(GRP);
		return tap_done();
	}
	if (pipe(up) || pipe(down)) {
		ok(false, "pipes");
		return tap_done();
	}
	pid = fork();
	if (pid == 0) {
		snprintf(path, sizeof(path), "%d", getpid());
		if (write_file(GRP "/cgroup.procs", path))
			_exit(6);
		child(up[1], down[0]);
	}
	if (read(up[0], &b, 1) != 1) {
		ok(false, "child set up");
		goto out;
	}
	base = cg_u64("memory.current");
	write_file(GRP "/memory.peak", "0");	/* 6.12: resets the peak; 6.1: EINVAL */
	b = 1;
	if (write(down[1], &b, 1) != 1 || read(up[0], &b, 1) != 1) {
		ok(false, "child submitted");
		goto out;
	}
	peak = cg_u64("memory.peak");
	ok((unsigned char)b == NJOBS, "%d jobs of %u KiB of commands queued behind a blocked job",
	   (unsigned char)b, CMDS * ZK_CMD_SIZE / 1024);
	diag("memcg: %" PRIu64 " KiB before, peak %" PRIu64 " KiB", base >> 10, peak >> 10);
	ok(peak >= base + (20ull << 20),
	   "their command copies are charged to the submitter's cgroup (+%" PRIu64 " MiB)",
	   peak > base ? (peak - base) >> 20 : 0);
	b = 1;
	if (write(down[1], &b, 1) != 1)
		ok(false, "release");
out:
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child exited cleanly (%d)", st);
	rmdir(GRP);
	return tap_done();
}
