// SPDX-License-Identifier: MIT
/*
 * zk_rpm - runtime PM with autosuspend (kmod/zk_pm.c, issue 15).
 *
 * With power/autosuspend_delay_ms at 200: an idle card runtime-suspends and
 * is really in D3hot (PMCSR in config space, which reading does not wake
 * it); its energy counter grows at well under its idle power meanwhile; a
 * SUBMIT wakes it and the job computes the right bytes; a job waiting on
 * the ring keeps it awake for many delays; a fault on an HBM mapping wakes
 * it and HBM kept its contents; the power cap survives D3hot; a reset
 * requested while suspended works; zksmi reports the state.  Needs root
 * (power/ sysfs); restores the delay and control it found.
 */
#include "zk_vmtest.h"

#define DELAY_MS	200

static char pci[300];

static int pm_read(const char *name, char *buf, size_t len)
{
	char path[400];
	int n;

	snprintf(path, sizeof(path), "%s/power/%s", pci, name);
	n = read_file(path, buf, len);
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return n;
}

static int pm_write(const char *name, const char *val)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/power/%s", pci, name);
	return write_file(path, val);
}

static bool is_state(const char *want)
{
	char st[32];

	return pm_read("runtime_status", st, sizeof(st)) > 0 && !strcmp(st, want);
}

/* Poll runtime_status (reading it does not wake the card). */
static bool wait_state(const char *want, int ms)
{
	int64_t end = now_ns() + (int64_t)ms * 1000000;

	while (now_ns() < end) {
		if (is_state(want))
			return true;
		usleep(10000);
	}
	return is_state(want);
}

/* PCI power state from PMCSR (config reads do not resume a D3hot device). */
static int pci_dstate(void)
{
	unsigned char cfg[256];
	char path[400];
	int fd, n, pos, guard = 48;

	snprintf(path, sizeof(path), "%s/config", pci);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, cfg, sizeof(cfg));
	close(fd);
	if (n < 256)
		return -1;
	for (pos = cfg[0x34] & ~3; pos && guard--; pos = cfg[pos + 1] & ~3)
		if (cfg[pos] == 0x01)		/* PCI_CAP_ID_PM */
			return cfg[pos + 4] & 3;	/* PMCSR state bits */
	return -1;
}

static uint64_t suspended_ms(void)
{
	char buf[32];

	return pm_read("runtime_suspended_time", buf, sizeof(buf)) > 0 ?
	       strtoull(buf, NULL, 0) : 0;
}

/* Average board power in mW over @ms, from hwmon energy1_input. */
static double avg_mw(const char *hw, int ms)
{
	uint64_t e0 = 0, e1 = 0;
	int64_t t0, t1;

	read_u64(hw, "energy1_input", &e0);
	t0 = now_ns();
	usleep(ms * 1000);
	read_u64(hw, "energy1_input", &e1);
	t1 = now_ns();
	return (double)(e1 - e0) * 1e6 / (double)(t1 - t0);	/* uJ/ns -> mW */
}

/* DMA host -> HBM -> host of a pattern; true when the bytes come back. */
static bool dma_roundtrip(int fd, uint32_t *status)
{
	struct tbo a, h, b;
	struct tcmds c;
	bool good = false;
	uint32_t i, *pa, *pb;

	*status = ~0u;
	if (tbo_new(fd, 1 << 20, DRM_ZHIKAI_BO_HOST, &a) ||
	    tbo_new(fd, 1 << 20, DRM_ZHIKAI_BO_HBM, &h) ||
	    tbo_new(fd, 1 << 20, DRM_ZHIKAI_BO_HOST, &b) || cmds_new(fd, &c))
		return false;
	pa = a.map;
	pb = b.map;
	for (i = 0; i < a.size / 4; i++) {
		pa[i] = i * 2654435761u ^ 0x5a5a1234u;
		pb[i] = 0;
	}
	cmd_dma(&c, h.va, a.va, a.size, 0);
	cmd_dma(&c, b.va, h.va, a.size, 0);
	if (run_cmds(fd, 0, &c, status) == 0 && *status == DRM_ZHIKAI_JOB_OK)
		good = !memcmp(pa, pb, a.size);
	tbo_free(fd, &c.bo);
	tbo_free(fd, &b);
	tbo_free(fd, &h);
	tbo_free(fd, &a);
	return good;
}

int main(void)
{
	char old_delay[32] = "", old_control[32] = "", path[500], buf[256];
	const char *hw, *dir = zk_pci_dir();
	uint64_t cap0 = 0, cap, min = 0, t0;
	double awake_mw, asleep_mw;
	uint32_t status;
	struct tbo m, flag;
	struct tcmds c;
	uint64_t seq;
	volatile uint32_t *p;
	int fd, i;
	bool good;
	FILE *f;

	if (!dir) {
		ok(false, "card bound to zhikai");
		return tap_done();
	}
	snprintf(pci, sizeof(pci), "%s", dir);
	hw = zk_hwmon_dir();
	if (geteuid() != 0 || !hw) {
		skip("runtime PM", "needs root and hwmon");
		return tap_done();
	}
	pm_read("autosuspend_delay_ms", old_delay, sizeof(old_delay));
	if (pm_read("control", old_control, sizeof(old_control)) <= 0) {
		skip("runtime PM", "kernel without CONFIG_PM (no power/control)");
		return tap_done();
	}
	ok(!strcmp(old_control, "auto"), "driver allows runtime PM (power/control %s)",
	   old_control);
	ok(pm_write("autosuspend_delay_ms", "200") == 0 &&
	   pm_write("control", "auto") == 0, "autosuspend delay set to %d ms", DELAY_MS);
	fd = zk_open_or_die();

	/* 1. Idle -> suspended, in D3hot for real. */
	ok(wait_state("suspended", 5000), "idle card runtime-suspends");
	ok(pci_dstate() == 3, "card is in D3hot (PMCSR state %d)", pci_dstate());
	t0 = suspended_ms();
	usleep(500000);
	ok(is_state("suspended") && suspended_ms() >= t0 + 400,
	   "an open file alone does not wake it (suspended %" PRIu64 " ms more)",
	   suspended_ms() - t0);

	/* 2. zksmi shows the state without waking the card. */
	f = popen("zksmi --query-gpu=power.state --format=csv,noheader 2>&1", "r");
	buf[0] = 0;
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		pclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	ok(!strcmp(buf, "suspended"), "zksmi power.state: '%s'", buf);

	/* 3. Power: awake-idle vs mostly suspended, from the energy counter. */
	pm_write("control", "on");
	wait_state("active", 2000);
	usleep(100000);
	awake_mw = avg_mw(hw, 1000);
	pm_write("control", "auto");
	wait_state("suspended", 5000);
	asleep_mw = avg_mw(hw, 2000);	/* the first read wakes it for 200 ms */
	diag("board power: %.0f mW awake and idle, %.0f mW over a mostly suspended window",
	     awake_mw, asleep_mw);
	ok(awake_mw > 0 && asleep_mw < awake_mw / 2,
	   "power drops when suspended (%.0f -> %.0f mW)", awake_mw, asleep_mw);

	/* 4. SUBMIT wakes it; the job computes the right bytes. */
	ok(wait_state("suspended", 5000), "suspended again before SUBMIT");
	good = dma_roundtrip(fd, &status);
	ok(good, "after resume a DMA job copies 1 MiB through HBM correctly (status %u)",
	   status);
	ok(wait_state("suspended", 5000), "suspends again after the job");

	/* 5. A job waiting on the ring keeps it awake for 5 delays (< job timeout). */
	if (tbo_new(fd, 4096, DRM_ZHIKAI_BO_HOST, &flag) || cmds_new(fd, &c)) {
		ok(false, "wait-job setup");
		goto out;
	}
	p = flag.map;
	*p = 0;
	cmd_wait(&c, flag.va, 1);
	cmd_fence(&c, flag.va + 64, 7);
	ok(submit_cmds(fd, 0, &c, &seq) == 0, "job waiting on host memory submitted");
	t0 = suspended_ms();
	good = true;
	for (i = 0; i < 10; i++) {
		usleep(100000);
		good &= is_state("active");
	}
	ok(good && suspended_ms() == t0, "card stays active for 1 s while the job waits");
	*p = 1;
	__sync_synchronize();
	ok(wait_seqno(fd, seq, 5000, &status) == 0 && status == DRM_ZHIKAI_JOB_OK &&
	   p[16] == 7, "the job finishes once released (status %u)", status);
	ok(wait_state("suspended", 5000), "then the card suspends");
	tbo_free(fd, &c.bo);
	tbo_free(fd, &flag);

	/* 6. An HBM mapping faults the card awake; HBM kept its contents. */
	if (tbo_new(fd, 1 << 20, DRM_ZHIKAI_BO_HBM, &m)) {
		ok(false, "HBM BO");
		goto out;
	}
	p = m.map;
	for (i = 0; i < 256; i++)
		p[i * 1024] = 0xabc00000u + i;
	ok(wait_state("suspended", 5000), "suspended with an HBM BO mapped");
	good = true;
	for (i = 0; i < 256; i++)
		good &= p[i * 1024] == 0xabc00000u + i;
	ok(good, "mapped HBM reads back after D3hot (the fault woke the card)");
	ok(pci_dstate() == 0, "card back in D0 after the fault");
	tbo_free(fd, &m);

	/* 7. The power cap survives D3hot (a power-on default otherwise). */
	read_u64(hw, "power1_cap", &cap0);
	read_u64(hw, "power1_cap_min", &min);
	snprintf(path, sizeof(path), "%s/power1_cap", hw);
	snprintf(buf, sizeof(buf), "%" PRIu64, min);
	write_file(path, buf);
	wait_state("suspended", 5000);
	wait_state("suspended", 5000);
	cap = 0;
	read_u64(hw, "power1_cap", &cap);
	ok(cap / 1000 == min / 1000, "power1_cap kept across a suspend (%" PRIu64 " uW)", cap);
	snprintf(buf, sizeof(buf), "%" PRIu64, cap0);
	write_file(path, buf);

	/* 8. A reset requested while suspended, then work again. */
	ok(wait_state("suspended", 5000), "suspended before a reset request");
	f = zk_debugfs_file("reset") ? fopen(zk_debugfs_file("reset"), "w") : NULL;
	if (f) {
		good = fputs("engine", f) >= 0;
		good &= fclose(f) == 0;
		ok(good, "debugfs engine reset of a suspended card succeeds");
	} else {
		skip("reset while suspended", "no debugfs reset knob");
	}
	good = dma_roundtrip(fd, &status);
	ok(good, "a job after that reset is correct (status %u)", status);

out:
	close(fd);
	if (old_delay[0])
		pm_write("autosuspend_delay_ms", old_delay);
	if (old_control[0])
		pm_write("control", old_control);
	return tap_done();
}
