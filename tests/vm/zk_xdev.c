// SPDX-License-Identifier: MIT
/*
 * zk_xdev - unbind while a killed client's job waits on another card's
 * fence (issue 15).  Two cards: the client's job on card B blocks on the
 * ring (WAIT on host memory) and signals a syncobj; the syncobj goes to
 * card A (syncobj fd), where a second job waits on it in drm_sched.  Round
 * 1: the client is SIGKILLed and card A unbound at once (racing the exit's
 * file release), then card B.  Round 2: a second process holds the files,
 * so both unbinds happen with the jobs still there and the files close
 * after.  Each time both cards are bound again and compute correctly.  multicard.sh then checks the kernel
 * log (WARN/BUG/KASAN) and unloads the module.  Root.  TAP.
 */
#include "zk_vmtest.h"

#include <libgen.h>
#include <signal.h>
#include <sys/wait.h>

struct card {
	char node[64];
	char bdf[64];
};

/* The first two zhikai nodes and their PCI addresses. */
static int find_cards(struct card *c)
{
	static const char *const pats[] = { "/dev/accel/accel%d", "/dev/dri/renderD%d" };
	static const char *const cls[] = { "/sys/class/accel/%s/device",
					   "/sys/class/drm/%s/device" };
	int n = 0;

	for (unsigned int p = 0; p < 2 && n < 2; p++) {
		for (int i = p ? 128 : 0; i < (p ? 192 : 64) && n < 2; i++) {
			char path[64], link[128], real[PATH_MAX];
			drmVersionPtr v;
			bool match;
			int fd;

			snprintf(path, sizeof(path), pats[p], i);
			fd = open(path, O_RDWR | O_CLOEXEC);
			if (fd < 0)
				continue;
			v = drmGetVersion(fd);
			match = v && !strcmp(v->name, "zhikai");
			drmFreeVersion(v);
			close(fd);
			if (!match)
				continue;
			snprintf(link, sizeof(link), cls[p], strrchr(path, '/') + 1);
			if (!realpath(link, real))
				continue;
			snprintf(c[n].node, sizeof(c[n].node), "%s", path);
			snprintf(c[n].bdf, sizeof(c[n].bdf), "%s", basename(real));
			n++;
		}
	}
	return n;
}

/*
 * The client: job on B blocked on the ring, job on A waiting for it.
 * @keep: a child of it holds the files too (reports its pid).
 */
static void client(const struct card *c, int ready_w, bool keep)
{
	pid_t holder = 0;
	int fa = open(c[0].node, O_RDWR | O_CLOEXEC), fb = open(c[1].node, O_RDWR | O_CLOEXEC);
	struct tbo flag, res;
	struct tcmds cb, ca;
	struct drm_zhikai_job jb, ja;
	uint32_t sb = 0, sa = 0;
	int sfd = -1;
	char r = 0;

	if (fa < 0 || fb < 0 || tbo_new(fb, 4096, DRM_ZHIKAI_BO_HOST, &flag) ||
	    tbo_new(fa, 4096, DRM_ZHIKAI_BO_HOST, &res) || cmds_new(fb, &cb) ||
	    cmds_new(fa, &ca) || drmSyncobjCreate(fb, 0, &sb) ||
	    drmSyncobjHandleToFD(fb, sb, &sfd) || drmSyncobjFDToHandle(fa, sfd, &sa))
		_exit(2);
	memset(flag.map, 0, 4096);
	cmd_wait(&cb, flag.va, 1);		/* never released */
	job_init(&jb, 0, &cb, 0, 1);
	jb.out_syncobj = sb;
	cmd_fence(&ca, res.va, 1);
	job_init(&ja, 0, &ca, 0, 1);
	ja.in_syncobj = sa;
	if (submit_jobs(fb, &jb, 1) || submit_jobs(fa, &ja, 1))
		_exit(3);
	if (keep) {
		holder = fork();
		if (holder == 0) {
			pause();
			_exit(0);
		}
	}
	r = 1;
	if (write(ready_w, &r, 1) != 1 ||
	    write(ready_w, &holder, sizeof(holder)) != sizeof(holder))
		_exit(4);
	pause();
	_exit(0);
}

static int bind_write(const char *what, const char *bdf)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/zhikai/%s", what);
	return write_file(path, bdf);
}

/* DMA host -> HBM -> host on the card at @node. */
static bool smoke(const char *node)
{
	int fd = open(node, O_RDWR | O_CLOEXEC);
	struct tbo a, h, b;
	struct tcmds c;
	uint32_t st = ~0u, i;
	bool good;

	if (fd < 0 || tbo_new(fd, 65536, DRM_ZHIKAI_BO_HOST, &a) ||
	    tbo_new(fd, 65536, DRM_ZHIKAI_BO_HBM, &h) ||
	    tbo_new(fd, 65536, DRM_ZHIKAI_BO_HOST, &b) || cmds_new(fd, &c))
		return false;
	for (i = 0; i < 65536 / 4; i++)
		((uint32_t *)a.map)[i] = i * 2246822519u;
	memset(b.map, 0, 65536);
	cmd_dma(&c, h.va, a.va, 65536, 0);
	cmd_dma(&c, b.va, h.va, 65536, 0);
	good = !run_cmds(fd, 1, &c, &st) && st == DRM_ZHIKAI_JOB_OK &&
	       !memcmp(a.map, b.map, 65536);
	close(fd);	/* unmaps nothing: the process exits soon */
	return good;
}

static void unbind_round(struct card *c, bool keep)
{
	const char *how = keep ? "files held elsewhere" : "racing the exit";
	pid_t pid, holder = 0;
	int p[2], ret;
	char r = 0;

	if (pipe(p)) {
		ok(false, "pipe");
		return;
	}
	pid = fork();
	if (pid == 0)
		client(c, p[1], keep);
	ret = read(p[0], &r, 1) == 1 && read(p[0], &holder, sizeof(holder)) == sizeof(holder);
	close(p[0]);
	close(p[1]);
	ok(pid > 0 && ret && r == 1,
	   "%s: job blocked on %s, job on %s waiting for its syncobj", how, c[1].bdf, c[0].bdf);
	kill(pid, SIGKILL);
	ok(bind_write("unbind", c[0].bdf) == 0, "%s: unbind %s as the client is killed",
	   how, c[0].bdf);
	waitpid(pid, NULL, 0);
	ok(bind_write("unbind", c[1].bdf) == 0, "%s: unbind %s (its job still on the ring)",
	   how, c[1].bdf);
	if (holder > 0) {
		kill(holder, SIGKILL);	/* the files close after the unbinds */
		waitpid(holder, NULL, 0);
	}
	ok(bind_write("bind", c[0].bdf) == 0 && bind_write("bind", c[1].bdf) == 0,
	   "%s: both cards bound again", how);
	/* The nodes may have new minors: look them up again. */
	ok(find_cards(c) == 2 && smoke(c[0].node) && smoke(c[1].node),
	   "%s: both cards compute correctly afterwards", how);
}

int main(void)
{
	struct card c[2];

	if (geteuid() != 0) {
		skip("cross-card unbind", "needs root");
		return tap_done();
	}
	if (find_cards(c) < 2) {
		skip("cross-card unbind", "needs two zhikai cards");
		return tap_done();
	}
	unbind_round(c, false);
	unbind_round(c, true);
	return tap_done();
}
