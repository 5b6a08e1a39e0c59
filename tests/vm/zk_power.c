// SPDX-License-Identifier: MIT
/*
 * zk_power - lowering hwmon power1_cap lowers perf/clock_mhz under load.
 * Needs root (power1_cap is 0644).  Restores the cap it found.
 */
#include "zk_vmtest.h"

int main(void)
{
	const char *hw = zk_hwmon_dir();
	int fd = zk_open_or_die();
	struct tbo a, b;
	struct tcmds c;
	uint64_t cap0, min, fmax, f, fmin_seen = ~0ull, e0, e1;
	char path[500], val[32];
	uint32_t nq, q, i;
	int64_t end;
	int ret;

	if (!hw || !read_u64(hw, "power1_cap", &cap0) ||
	    !read_u64(hw, "power1_cap_min", &min)) {
		ok(false, "hwmon power1_cap present");
		return tap_done();
	}
	if (geteuid() != 0) {
		skip("power1_cap lowers perf/clock_mhz", "needs root");
		return tap_done();
	}
	nq = (uint32_t)zk_param(fd, DRM_ZHIKAI_PARAM_NUM_QUEUES);
	fmax = zk_param(fd, DRM_ZHIKAI_PARAM_CLOCK_MAX_MHZ) * 1000000;
	read_u64(hw, "energy1_input", &e0);
	snprintf(path, sizeof(path), "%s/power1_cap", hw);
	snprintf(val, sizeof(val), "%" PRIu64, min);
	ok(write_file(path, val) == 0, "power1_cap set to its minimum (%s uW)", val);
	read_u64(hw, "power1_cap", &f);
	ok(f / 1000 == min / 1000, "power1_cap reads back");

	if (tbo_new(fd, 16 << 20, DRM_ZHIKAI_BO_HBM, &a) ||
	    tbo_new(fd, 16 << 20, DRM_ZHIKAI_BO_HBM, &b) || cmds_new(fd, &c)) {
		ok(false, "load setup");
		goto restore;
	}
	for (i = 0; i < 8; i++)
		cmd_dma(&c, b.va, a.va, a.size, 0);
	/* Keep every queue busy for a few seconds, sampling the clock. */
	end = now_ns() + 4000000000ll;
	while (now_ns() < end) {
		uint64_t seq[ZK_MAX_QUEUES] = { 0 };

		for (q = 0; q < nq; q++) {
			ret = submit_cmds(fd, q, &c, &seq[q]);
			if (ret)
				break;
		}
		for (q = 0; q < nq; q++)
			if (seq[q])
				wait_seqno(fd, seq[q], 20000, NULL);
		if (read_u64(zk_pci_dir(), "perf/clock_mhz", &f) && f * 1000000 < fmin_seen)
			fmin_seen = f * 1000000;
	}
	diag("max clock %" PRIu64 " Hz, lowest seen under a minimal cap %" PRIu64 " Hz",
	     fmax, fmin_seen);
	ok(fmin_seen < fmax, "perf/clock_mhz drops below the maximum under a low cap");
	read_u64(hw, "energy1_input", &e1);
	ok(e1 > e0, "energy1_input grows (%" PRIu64 " -> %" PRIu64 " uJ)", e0, e1);
	tbo_free(fd, &c.bo);
	tbo_free(fd, &b);
	tbo_free(fd, &a);
restore:
	snprintf(val, sizeof(val), "%" PRIu64, cap0);
	ok(write_file(path, val) == 0, "power1_cap restored");
	close(fd);
	return tap_done();
}
