// SPDX-License-Identifier: MIT
/*
 * zk_ptpool - one user cannot exhaust the device page-table pool for the
 * others (issue 15, kmod/zk_mmu.c user_pt_pct).
 *
 * Every open file is a context whose page-table root comes from a pool in
 * HBM (16 MiB: 4096 pages).  User A (uid 1000) opens files until the driver
 * refuses; then user B (uid 1001) can still open the card, map an HBM and a
 * host BO and run a DMA job that copies the right bytes.  Without the
 * per-user bound, A's ~4096 files take the whole pool and B's open fails.
 * Needs root (it switches uids; the node is made world-accessible for the
 * run, as a udev rule for two users would).
 */
#include "zk_vmtest.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define MAX_FILES	8192

/* Child as @uid: open the node until it fails; report count and errno. */
static pid_t hog(const char *node, uid_t uid, int pipe_w)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct rlimit rl = { MAX_FILES + 64, MAX_FILES + 64 };
		int n = 0, err = 0, res[2];

		setrlimit(RLIMIT_NOFILE, &rl);
		if (setgid(uid) || setuid(uid))
			_exit(2);
		while (n < MAX_FILES) {
			if (open(node, O_RDWR | O_CLOEXEC) < 0) {
				err = errno;
				break;
			}
			n++;
		}
		res[0] = n;
		res[1] = err;
		if (write(pipe_w, res, sizeof(res)) != sizeof(res))
			_exit(3);
		pause();	/* keep the files until killed */
		_exit(0);
	}
	return pid;
}

/* Child as @uid: open, HBM + host BOs, a DMA round trip; exit 0 if right. */
static int other_user(const char *node, uid_t uid)
{
	pid_t pid = fork();
	int st = -1;

	if (pid == 0) {
		struct tbo a, h, b;
		struct tcmds c;
		uint32_t i, status = ~0u, *pa, *pb;
		int fd;

		if (setgid(uid) || setuid(uid))
			_exit(2);
		fd = open(node, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			printf("# uid %u: open: %s\n", uid, strerror(errno));
			_exit(3);
		}
		if (tbo_new(fd, 1 << 20, DRM_ZHIKAI_BO_HOST, &a) ||
		    tbo_new(fd, 4 << 20, DRM_ZHIKAI_BO_HBM, &h) ||
		    tbo_new(fd, 1 << 20, DRM_ZHIKAI_BO_HOST, &b) || cmds_new(fd, &c)) {
			printf("# uid %u: BO setup failed\n", uid);
			_exit(4);
		}
		pa = a.map;
		pb = b.map;
		for (i = 0; i < a.size / 4; i++) {
			pa[i] = i * 40503u + 7;
			pb[i] = 0;
		}
		cmd_dma(&c, h.va + (3 << 20), a.va, a.size, 0);
		cmd_dma(&c, b.va, h.va + (3 << 20), a.size, 0);
		if (run_cmds(fd, 1, &c, &status) || status != DRM_ZHIKAI_JOB_OK) {
			printf("# uid %u: job status %u\n", uid, status);
			_exit(5);
		}
		_exit(memcmp(pa, pb, a.size) ? 6 : 0);
	}
	if (pid > 0)
		waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(void)
{
	char node[64];
	struct stat sb;
	int fd, p[2], res[2] = { 0, 0 }, rc;
	pid_t a;

	fd = zk_open_node(node, sizeof(node));
	if (fd < 0) {
		printf("Bail out! no zhikai node\n");
		return 1;
	}
	close(fd);
	if (geteuid() != 0) {
		skip("page-table pool per user", "needs root");
		return tap_done();
	}
	stat(node, &sb);
	chmod(node, 0666);
	if (pipe(p)) {
		ok(false, "pipe");
		return tap_done();
	}
	a = hog(node, 1000, p[1]);
	rc = a > 0 && read(p[0], res, sizeof(res)) == sizeof(res);
	ok(rc, "user 1000 opened %d files before the driver refused (%s)", res[0],
	   strerror(res[1]));
	ok(res[0] > 100 && res[0] < 4096 && res[1] == ENOSPC,
	   "its files are bounded below the 4096-page pool, ENOSPC (%d files)", res[0]);

	rc = other_user(node, 1001);
	ok(rc == 0, "user 1001 still opens the card and a DMA job through HBM is right (%d)",
	   rc);
	rc = other_user(node, 1000);
	ok(rc == 3, "another file of user 1000 is refused meanwhile (%d)", rc);

	if (a > 0) {
		kill(a, SIGKILL);
		waitpid(a, NULL, 0);
	}
	/* Its contexts are released on zk_wq: give them a moment. */
	for (int i = 0; i < 50 && (rc = other_user(node, 1000)) != 0; i++)
		usleep(100000);
	ok(rc == 0, "user 1000 works again once its files are closed (%d)", rc);
	chmod(node, sb.st_mode & 07777);
	return tap_done();
}
