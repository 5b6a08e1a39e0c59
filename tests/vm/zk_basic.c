// SPDX-License-Identifier: MIT
/*
 * zk_basic - driver loaded and bound, device node, GET_PARAM, sysfs,
 * hwmon, and malformed ioctls.
 *
 * usage: zk_basic [EXPECTED_HBM_SIZE]   (or env ZK_EXPECT_HBM; "2G" ok)
 */
#include <sys/stat.h>

#include "zk_vmtest.h"

static void test_params(int fd, uint64_t expect_hbm)
{
	struct drm_zhikai_get_param gp;
	uint64_t v, ts1, ts2;
	uint32_t p;
	bool all = true;

	for (p = 0; p < DRM_ZHIKAI_PARAM_COUNT; p++) {
		memset(&gp, 0, sizeof(gp));
		gp.param = p;
		if (zk_ioctl(fd, DRM_IOCTL_ZHIKAI_GET_PARAM, &gp)) {
			diag("param %u failed: %s", p, strerror(errno));
			all = false;
		}
	}
	ok(all, "every GET_PARAM 0..%u succeeds", DRM_ZHIKAI_PARAM_COUNT - 1);

	ok(zk_param(fd, DRM_ZHIKAI_PARAM_DEVICE_ID) == ZK_PCI_DEVICE_ID,
	   "PARAM_DEVICE_ID is 0x%x", ZK_PCI_DEVICE_ID);
	ok(zk_param(fd, DRM_ZHIKAI_PARAM_API_VERSION) >> 16 == ZK_API_VERSION_MAJOR,
	   "PARAM_API_VERSION major is %u", ZK_API_VERSION_MAJOR);
	v = zk_param(fd, DRM_ZHIKAI_PARAM_HBM_SIZE);
	if (expect_hbm)
		ok(v == expect_hbm, "PARAM_HBM_SIZE %" PRIu64 " == expected %" PRIu64,
		   v, expect_hbm);
	else
		ok(v > 0 && v != ~0ull, "PARAM_HBM_SIZE %" PRIu64 " (no expectation given)", v);
	v = zk_param(fd, DRM_ZHIKAI_PARAM_NUM_QUEUES);
	ok(v >= 1 && v <= ZK_MAX_QUEUES, "PARAM_NUM_QUEUES %" PRIu64 " in 1..16", v);
	ok(zk_param(fd, DRM_ZHIKAI_PARAM_CAPS) & ZK_CAP_MMU, "PARAM_CAPS has MMU");
	ok(zk_param(fd, DRM_ZHIKAI_PARAM_VA_START) == (1ull << 30) &&
	   zk_param(fd, DRM_ZHIKAI_PARAM_VA_SIZE) == (511ull << 30),
	   "VA window is [1 GiB, 512 GiB)");
	ok(zk_param(fd, DRM_ZHIKAI_PARAM_CTX_ID) >= 1, "PARAM_CTX_ID >= 1");
	ok(zk_param(fd, DRM_ZHIKAI_PARAM_FW_VERSION) != 0, "PARAM_FW_VERSION set");
	ts1 = zk_param(fd, DRM_ZHIKAI_PARAM_TIMESTAMP_NS);
	usleep(2000);
	ts2 = zk_param(fd, DRM_ZHIKAI_PARAM_TIMESTAMP_NS);
	ok(ts2 > ts1, "PARAM_TIMESTAMP_NS advances (%" PRIu64 " -> %" PRIu64 ")", ts1, ts2);

	memset(&gp, 0, sizeof(gp));
	gp.param = DRM_ZHIKAI_PARAM_COUNT;
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_GET_PARAM, &gp) == -EINVAL,
	   "unknown param -> EINVAL");
	gp.param = 0xffffffff;
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_GET_PARAM, &gp) == -EINVAL,
	   "param 0xffffffff -> EINVAL");
	gp.param = DRM_ZHIKAI_PARAM_HBM_SIZE;
	gp.reserved = 1;
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_GET_PARAM, &gp) == -EINVAL,
	   "non-zero reserved -> EINVAL");
}

static void test_sysfs(uint64_t hbm)
{
	static const char *const attrs[] = {
		"fw_version", "hbm_total_bytes", "hbm_used_bytes", "busy_ns",
		"utilization", "num_queues", "reset_count", "ras_ce_count",
		"ras_ue_count", "heartbeat",
	};
	const char *dir = zk_pci_dir();
	char path[400], buf[64];
	uint64_t v, hb1, hb2;
	unsigned int i;
	bool all = true;

	if (!dir) {
		skip("sysfs attributes", "driver not bound");
		return;
	}
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, attrs[i]);
		if (read_file(path, buf, sizeof(buf)) <= 0) {
			diag("%s unreadable", path);
			all = false;
		}
	}
	ok(all, "all sysfs attributes readable");
	ok(read_u64(dir, "hbm_total_bytes", &v) && (!hbm || v == hbm),
	   "hbm_total_bytes matches");
	snprintf(path, sizeof(path), "%s/utilization", dir);
	ok(read_file(path, buf, sizeof(buf)) > 0 && strtod(buf, NULL) >= 0 &&
	   strtod(buf, NULL) <= 100, "utilization in 0..100 (%s)", strtok(buf, "\n"));
	read_u64(dir, "heartbeat", &hb1);
	usleep(400000);
	read_u64(dir, "heartbeat", &hb2);
	ok(hb2 != hb1, "heartbeat advances (%" PRIu64 " -> %" PRIu64 ")", hb1, hb2);
}

static void test_hwmon(void)
{
	static const char *const attrs[] = {
		"power1_input", "power1_average", "power1_cap", "power1_cap_min",
		"power1_cap_max", "energy1_input", "temp1_input",
	};
	const char *dir = zk_hwmon_dir();
	char path[500], buf[64];
	uint64_t v, min, max;
	unsigned int i;
	bool all = true;

	if (!dir) {
		ok(false, "hwmon device present");
		return;
	}
	ok(true, "hwmon device present (%s)", dir);
	snprintf(path, sizeof(path), "%s/name", dir);
	ok(read_file(path, buf, sizeof(buf)) > 0 && !strcmp(buf, "zhikai\n"),
	   "hwmon name is zhikai");
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		if (!read_u64(dir, attrs[i], &v)) {
			diag("%s/%s unreadable", dir, attrs[i]);
			all = false;
		}
	}
	ok(all, "hwmon power/energy/temp readable");
	ok(read_u64(dir, "power1_cap_min", &min) &&
	   read_u64(dir, "power1_cap_max", &max) && min > 0 && min <= max,
	   "power1_cap_min %" PRIu64 " <= power1_cap_max %" PRIu64, min, max);
	ok(read_u64(dir, "temp1_input", &v) && v > 10000 && v < 150000,
	   "temp1_input plausible (%" PRIu64 " mC)", v);
	/* hwmon has no frequency type: the clock is in the perf group. */
	snprintf(path, sizeof(path), "%s/freq1_input", dir);
	ok(access(path, F_OK) != 0, "no non-standard freq1_input in hwmon");
	v = 0;
	if (zk_pci_dir())
		read_u64(zk_pci_dir(), "perf/clock_mhz", &v);
	ok(v >= 1, "engine clock in perf/clock_mhz (%" PRIu64 " MHz)", v);
	snprintf(path, sizeof(path), "%s/power1_cap", dir);
	if (geteuid() == 0) {
		char val[32];

		snprintf(val, sizeof(val), "%" PRIu64, max + 1000000);
		ok(write_file(path, val) == -EINVAL, "power1_cap above max -> EINVAL");
		snprintf(val, sizeof(val), "%" PRIu64, min ? min - 1000 : 0);
		ok(write_file(path, val) == -EINVAL, "power1_cap below min -> EINVAL");
	}
}

static void test_bad_ioctls(int fd)
{
	struct drm_zhikai_get_param gp = { .param = DRM_ZHIKAI_PARAM_HBM_SIZE };
	char big[256];

	/* Unknown driver ioctl number. */
	ok(zk_ioctl(fd, DRM_IOWR(DRM_COMMAND_BASE + 0x20, struct drm_zhikai_get_param),
		    &gp) == -EINVAL, "unknown ioctl number -> EINVAL");
	/* NULL / garbage argument pointers. */
	ok(ioctl(fd, DRM_IOCTL_ZHIKAI_GET_PARAM, NULL) == -1 && errno == EFAULT,
	   "GET_PARAM with NULL arg -> EFAULT");
	ok(ioctl(fd, DRM_IOCTL_ZHIKAI_BO_CREATE, (void *)16) == -1 &&
	   errno == EFAULT, "BO_CREATE with garbage pointer -> EFAULT");
	/* Oversized argument: the DRM core copies only the driver's size. */
	memset(big, 0, sizeof(big));
	((struct drm_zhikai_get_param *)big)->param = DRM_ZHIKAI_PARAM_NUM_QUEUES;
	ok(zk_ioctl(fd, DRM_IOWR(DRM_COMMAND_BASE + DRM_ZHIKAI_GET_PARAM, char[256]),
		    big) == 0 && ((struct drm_zhikai_get_param *)big)->value >= 1,
	   "oversized GET_PARAM argument handled");
	/* Zero-size argument: fields read as zero -> param 0 works. */
	ok(zk_ioctl(fd, DRM_IO(DRM_COMMAND_BASE + DRM_ZHIKAI_GET_PARAM), NULL) == 0,
	   "zero-size GET_PARAM (no data) does not crash");
	/* Garbage in every field. */
	memset(big, 0xa5, sizeof(big));
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_BO_CREATE, big) == -EINVAL,
	   "BO_CREATE full of garbage -> EINVAL");
	memset(big, 0xa5, sizeof(big));
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_SUBMIT, big) == -EINVAL,
	   "SUBMIT full of garbage -> EINVAL");
	memset(big, 0xa5, sizeof(big));
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_WAIT, big) == -EINVAL,
	   "WAIT full of garbage -> EINVAL");
	memset(big, 0, sizeof(big));
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_SUBMIT, big) == -EINVAL,
	   "SUBMIT all zero -> EINVAL");
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_WAIT, big) == -EINVAL,
	   "WAIT all zero (seqno 0) -> EINVAL");
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_BO_INFO, big) == -ENOENT,
	   "BO_INFO handle 0 -> ENOENT");
}

int main(int argc, char **argv)
{
	const char *exp = argc > 1 ? argv[1] : getenv("ZK_EXPECT_HBM");
	uint64_t expect_hbm = exp ? parse_size(exp) : 0;
	char node[64];
	struct stat st;
	int fd;

	ok(stat("/sys/module/zhikai", &st) == 0, "zhikai module loaded");
	ok(zk_pci_dir() != NULL, "driver bound to a PCI device");
	fd = zk_open_node(node, sizeof(node));
	ok(fd >= 0, "zhikai device node exists and opens (%s)", fd >= 0 ? node : "none");
	if (fd < 0) {
		printf("Bail out! no device node\n");
		return tap_done();
	}
	test_params(fd, expect_hbm);
	test_sysfs(expect_hbm);
	test_hwmon();
	test_bad_ioctls(fd);
	close(fd);
	return tap_done();
}
