// SPDX-License-Identifier: MIT
/*
 * zk_mem - buffer objects (create, info, mmap, read-back, accounting,
 * bad arguments) and isolation between two contexts (open files).
 */
#include "zk_vmtest.h"

static bool fill_check(struct tbo *bo, uint32_t seed)
{
	uint32_t *p = bo->map;
	uint64_t i, n = bo->size / 4;

	for (i = 0; i < n; i++)
		p[i] = seed ^ (uint32_t)(i * 2654435761u);
	for (i = 0; i < n; i++)
		if (p[i] != (seed ^ (uint32_t)(i * 2654435761u)))
			return false;
	return true;
}

static void test_bos(int fd)
{
	struct drm_zhikai_bo_create c;
	struct drm_zhikai_bo_info info;
	struct tbo hbm, host, huge;
	uint64_t used0, used1, hbm_used0, hbm_used1;
	int ret;

	used0 = zk_param(fd, DRM_ZHIKAI_PARAM_CTX_MEM_USED);
	hbm_used0 = zk_param(fd, DRM_ZHIKAI_PARAM_HBM_USED);
	ret = tbo_new(fd, 10000, DRM_ZHIKAI_BO_HBM, &hbm);
	ok(!ret, "HBM BO create + mmap (%s)", strerror(-ret));
	if (ret)
		return;
	ok(hbm.size == 12288, "size rounded up to pages (%" PRIu64 ")", hbm.size);
	ok(hbm.va >= zk_param(fd, DRM_ZHIKAI_PARAM_VA_START) && !(hbm.va & 4095),
	   "device VA 0x%" PRIx64 " page aligned inside the VA window", hbm.va);
	ok(hbm.flags == DRM_ZHIKAI_BO_HBM, "BO_INFO flags HBM");
	ok(((uint32_t *)hbm.map)[0] == 0 && ((uint32_t *)hbm.map)[3071] == 0,
	   "new HBM BO reads zero");
	ok(fill_check(&hbm, 0x1234), "HBM BO write/read-back through the BAR");

	ret = tbo_new(fd, 65536, DRM_ZHIKAI_BO_HOST, &host);
	ok(!ret && host.flags == DRM_ZHIKAI_BO_HOST, "host BO create + mmap");
	if (!ret)
		ok(fill_check(&host, 0x5678), "host BO write/read-back");

	used1 = zk_param(fd, DRM_ZHIKAI_PARAM_CTX_MEM_USED);
	hbm_used1 = zk_param(fd, DRM_ZHIKAI_PARAM_HBM_USED);
	ok(used1 - used0 == 12288 + 65536, "CTX_MEM_USED grew by %" PRIu64,
	   used1 - used0);
	ok(hbm_used1 - hbm_used0 >= 12288, "HBM_USED grew by >= the HBM BO");

	ret = tbo_new(fd, 4 << 20, DRM_ZHIKAI_BO_HBM, &huge);
	ok(!ret && !(huge.va & ((2 << 20) - 1)),
	   "4 MiB HBM BO gets a 2 MiB aligned VA (0x%" PRIx64 ")", huge.va);
	if (!ret) {
		ok(fill_check(&huge, 0x9abc), "4 MiB HBM BO read-back");
		tbo_free(fd, &huge);
	}

	memset(&c, 0, sizeof(c));
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_BO_CREATE, &c) == -EINVAL,
	   "BO_CREATE size 0 -> EINVAL");
	c.size = 4096;
	c.flags = 0x80;
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_BO_CREATE, &c) == -EINVAL,
	   "BO_CREATE unknown flag -> EINVAL");
	c.flags = 0;
	c.size = 1ull << 60;
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_BO_CREATE, &c) == -EINVAL,
	   "BO_CREATE 2^60 bytes -> EINVAL");
	c.size = zk_param(fd, DRM_ZHIKAI_PARAM_HBM_SIZE) + 4096;
	ret = zk_ioctl(fd, DRM_IOCTL_ZHIKAI_BO_CREATE, &c);
	ok(ret == -ENOSPC, "HBM BO larger than HBM -> ENOSPC (%d)", ret);

	memset(&info, 0, sizeof(info));
	info.handle = 0xdead;
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_BO_INFO, &info) == -ENOENT,
	   "BO_INFO unknown handle -> ENOENT");

	tbo_free(fd, &host);
	tbo_free(fd, &hbm);
	ok(zk_param(fd, DRM_ZHIKAI_PARAM_CTX_MEM_USED) == used0,
	   "CTX_MEM_USED back after freeing");
}

/* B must not reach A's BOs: not by handle, not by VA. */
static void test_isolation(void)
{
	int a = zk_open_or_die(), b = zk_open_or_die();
	struct tbo pad, abo, bbo, sg;
	struct tcmds bc;
	struct drm_zhikai_bo_info info = { 0 };
	struct zk_dma_sg *e;
	uint32_t status = ~0u;
	unsigned int i;
	bool intact = true;
	int ret;

	ok(zk_param(a, DRM_ZHIKAI_PARAM_CTX_ID) != zk_param(b, DRM_ZHIKAI_PARAM_CTX_ID),
	   "two opens get two contexts");
	/* A's BO lies where B has nothing mapped. */
	if (tbo_new(a, 8 << 20, DRM_ZHIKAI_BO_HBM, &pad) ||
	    tbo_new(a, 65536, DRM_ZHIKAI_BO_HBM, &abo) ||
	    tbo_new(b, 65536, DRM_ZHIKAI_BO_HOST, &bbo) ||
	    tbo_new(b, 4096, DRM_ZHIKAI_BO_HOST, &sg) || cmds_new(b, &bc)) {
		ok(false, "isolation setup");
		return;
	}
	memset(abo.map, 0x5a, abo.size);

	info.handle = abo.handle;
	ret = zk_ioctl(b, DRM_IOCTL_ZHIKAI_BO_INFO, &info);
	ok(ret == -ENOENT || info.device_va != abo.va,
	   "B's BO_INFO on A's handle number does not name A's BO");

	/* Direct DMA into A's VA from B: rejected at submit. */
	cmd_dma(&bc, abo.va, 0xdeadbeef, 4096, ZK_DMA_F_FILL);
	ret = submit_cmds(b, 0, &bc, NULL);
	ok(ret == -ERANGE, "B's DMA to A's VA rejected at submit (%d)", ret);

	/* The same through a scatter list: the device MMU faults it. */
	cmds_reset(&bc);
	e = sg.map;
	e[0].src = 0xdeadbeef;
	e[0].dst = abo.va;
	e[0].size = 4096;
	cmd_dma(&bc, 0, sg.va, 1, ZK_DMA_F_FILL | ZK_DMA_F_SGLIST);
	ret = run_cmds(b, 0, &bc, &status);
	ok(!ret && status == DRM_ZHIKAI_JOB_FAULTED,
	   "B's sg-list DMA at A's VA faults (ret %d status %u)", ret, status);
	for (i = 0; i < abo.size; i++)
		if (((uint8_t *)abo.map)[i] != 0x5a)
			intact = false;
	ok(intact, "A's BO untouched by B");

	tbo_free(b, &sg);
	tbo_free(b, &bbo);
	tbo_free(b, &bc.bo);
	tbo_free(a, &abo);
	tbo_free(a, &pad);
	close(b);
	close(a);
}

/* Fill HBM with BOs until it is full; the error is clean and frees recover it. */
static void test_exhaustion(void)
{
	enum { MAX_BOS = 256 };
	const uint64_t chunk = 128ull << 20;
	uint32_t handles[MAX_BOS];
	struct drm_zhikai_bo_create c;
	struct drm_gem_close gc;
	int fd = zk_open_or_die(), n = 0, ret = 0, i;
	uint64_t used0 = zk_param(fd, DRM_ZHIKAI_PARAM_HBM_USED);

	while (n < MAX_BOS) {
		memset(&c, 0, sizeof(c));
		c.size = chunk;
		ret = zk_ioctl(fd, DRM_IOCTL_ZHIKAI_BO_CREATE, &c);
		if (ret)
			break;
		handles[n++] = c.handle;
	}
	ok(n > 0 && (ret == -ENOSPC || ret == -ENOMEM),
	   "HBM exhaustion after %d x 128 MiB BOs -> %d (ENOSPC)", n, ret);
	memset(&c, 0, sizeof(c));
	c.size = 4096;
	ret = zk_ioctl(fd, DRM_IOCTL_ZHIKAI_BO_CREATE, &c);
	if (!ret)	/* a page may still fit; the device is not broken either way */
		handles[n++] = c.handle;
	for (i = 0; i < n; i++) {
		memset(&gc, 0, sizeof(gc));
		gc.handle = handles[i];
		zk_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &gc);
	}
	ok(zk_param(fd, DRM_ZHIKAI_PARAM_HBM_USED) == used0,
	   "HBM used back to its baseline after freeing");
	memset(&c, 0, sizeof(c));
	c.size = chunk;
	ret = zk_ioctl(fd, DRM_IOCTL_ZHIKAI_BO_CREATE, &c);
	ok(ret == 0, "allocation succeeds again after the frees (%d)", ret);
	close(fd);
}

/* A FENCE job of @fd on queue 0 into a fresh host BO: the context works. */
static bool ctx_works(int fd)
{
	struct tbo mem, hbm;
	struct tcmds c;
	uint32_t st = ~0u;
	bool good;

	if (tbo_new(fd, 1 << 20, DRM_ZHIKAI_BO_HOST, &mem) ||
	    tbo_new(fd, 1 << 20, DRM_ZHIKAI_BO_HBM, &hbm) || cmds_new(fd, &c))
		return false;
	cmd_fence(&c, mem.va, 0x600d);
	good = !run_cmds(fd, 0, &c, &st) && st == DRM_ZHIKAI_JOB_OK &&
	       ((volatile uint64_t *)mem.map)[0] == 0x600d;
	tbo_free(fd, &c.bo);
	tbo_free(fd, &hbm);
	tbo_free(fd, &mem);
	return good;
}

/* Create @size BOs of @flags on @fd until refused (at most @max); the count. */
static int fill_bos(int fd, uint32_t flags, uint64_t size, int max, uint32_t *handles,
		    int *err)
{
	struct drm_zhikai_bo_create c;
	int n = 0;

	*err = 0;
	while (n < max) {
		memset(&c, 0, sizeof(c));
		c.size = size;
		c.flags = flags;
		*err = zk_ioctl(fd, DRM_IOCTL_ZHIKAI_BO_CREATE, &c);
		if (*err)
			break;
		handles[n++] = c.handle;
	}
	return n;
}

static int fill_host(int fd, uint64_t size, int max, uint32_t *handles, int *err)
{
	return fill_bos(fd, DRM_ZHIKAI_BO_HOST, size, max, handles, err);
}

static void close_all(int fd, uint32_t *handles, int n)
{
	for (int i = 0; i < n; i++) {
		struct drm_gem_close gc = { .handle = handles[i] };

		zk_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &gc);
	}
}

/*
 * One open file pins host BOs until the driver refuses: the pinned-host
 * quota (default half of RAM) says no with EDQUOT long before the machine
 * runs out, and another open file still allocates and runs.  As root, the
 * page-table share too: with ctx_pt_pct=1 one context's 2 MiB host BOs
 * (a 4 KiB leaf table each) are refused, the pool is not exhausted.
 */
static void test_quota(void)
{
	enum { MAX = 64 };
	uint32_t h[MAX];
	int a = zk_open_or_die(), b = zk_open_or_die(), n, err;
	char old[32] = "";

	n = fill_host(a, 64ull << 20, MAX, h, &err);
	ok(n > 0 && n < MAX && err == -EDQUOT,
	   "host quota: one file's 64 MiB host BOs refused after %d (%d MiB) with EDQUOT (%d)",
	   n, n * 64, err);
	ok(ctx_works(b), "host quota: another file still allocates and runs a job");
	close_all(a, h, n);
	ok(ctx_works(a), "host quota: the first file works again after freeing");

	if (geteuid() == 0 &&
	    read_file("/sys/module/zhikai/parameters/ctx_pt_pct", old, sizeof(old)) > 0 &&
	    !write_file("/sys/module/zhikai/parameters/ctx_pt_pct", "1")) {
		n = fill_host(a, 2ull << 20, MAX, h, &err);
		ok(n > 0 && n < MAX && err, "page-table share: 2 MiB host BOs refused after %d (%d)",
		   n, err);
		ok(ctx_works(b), "page-table share: another file still allocates and runs a job");
		close_all(a, h, n);
		write_file("/sys/module/zhikai/parameters/ctx_pt_pct", old);
	} else {
		skip("page-table share", "needs root");
	}

	/* HBM quota: ctx_hbm_limit_mb=64 allows four 16 MiB HBM BOs per file. */
	if (geteuid() == 0 &&
	    read_file("/sys/module/zhikai/parameters/ctx_hbm_limit_mb", old, sizeof(old)) > 0 &&
	    !write_file("/sys/module/zhikai/parameters/ctx_hbm_limit_mb", "64")) {
		n = fill_bos(a, DRM_ZHIKAI_BO_HBM, 16ull << 20, MAX, h, &err);
		ok(n == 4 && err == -EDQUOT,
		   "HBM quota 64 MiB: the fifth 16 MiB HBM BO refused with EDQUOT (%d BOs, %d)",
		   n, err);
		ok(ctx_works(b), "HBM quota: another file still allocates and runs a job");
		close_all(a, h, n);
		ok(ctx_works(a), "HBM quota: the first file works again after freeing");
		write_file("/sys/module/zhikai/parameters/ctx_hbm_limit_mb", old);
	} else {
		skip("HBM quota", "needs root");
	}
	close(a);
	close(b);
}

/* HBM mappings are shared only; PRIME: host BOs yes, HBM BOs a clean no. */
static void test_mmap_prime(void)
{
	int a = zk_open_or_die(), b = zk_open_or_die();
	struct drm_zhikai_bo_info info = { 0 };
	struct tbo hbm, host;
	uint32_t handle = 0;
	int dmafd = -1, ret;
	void *p;

	if (tbo_new(a, 8192, DRM_ZHIKAI_BO_HBM, &hbm) ||
	    tbo_new(a, 8192, DRM_ZHIKAI_BO_HOST, &host)) {
		ok(false, "mmap/PRIME setup");
		goto out;
	}
	info.handle = hbm.handle;
	zk_ioctl(a, DRM_IOCTL_ZHIKAI_BO_INFO, &info);
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, a,
		 info.mmap_offset);
	ok(p == MAP_FAILED && errno == EINVAL,
	   "MAP_PRIVATE of an HBM BO -> EINVAL (device memory has no COW)");
	if (p != MAP_FAILED)
		munmap(p, 8192);
	/* Shared mappings fault their pages in (second page first). */
	((volatile uint32_t *)hbm.map)[1024] = 0x5a5a1234;
	((volatile uint32_t *)hbm.map)[0] = 0x1234;
	ok(((volatile uint32_t *)hbm.map)[1024] == 0x5a5a1234 &&
	   ((volatile uint32_t *)hbm.map)[0] == 0x1234,
	   "shared HBM mapping faults in and reads back");

	ret = drmPrimeHandleToFD(a, hbm.handle, DRM_CLOEXEC, &dmafd);
	ok(ret && errno == EOPNOTSUPP,
	   "PRIME export of an HBM BO refused with EOPNOTSUPP (%d)", ret ? errno : 0);
	if (!ret)
		close(dmafd);
	dmafd = -1;
	ret = drmPrimeHandleToFD(a, host.handle, DRM_CLOEXEC | DRM_RDWR, &dmafd);
	ok(!ret && dmafd >= 0, "PRIME export of a host BO (%d)", ret ? errno : 0);
	if (!ret) {
		ret = drmPrimeFDToHandle(b, dmafd, &handle);
		ok(!ret && handle, "PRIME import of it in another file (%d)",
		   ret ? errno : 0);
		if (handle) {
			struct drm_gem_close gc = { .handle = handle };

			ok(!zk_ioctl(b, DRM_IOCTL_GEM_CLOSE, &gc),
			   "imported handle closes");
		}
		close(dmafd);
	}
out:
	tbo_free(a, &hbm);
	tbo_free(a, &host);
	close(a);
	close(b);
}

int main(void)
{
	int fd = zk_open_or_die();

	test_bos(fd);
	close(fd);
	test_mmap_prime();
	test_isolation();
	test_exhaustion();
	test_quota();
	return tap_done();
}