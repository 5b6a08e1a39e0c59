// SPDX-License-Identifier: MIT
/*
 * zk_bighbm - a guest user allocates (nearly) all of a 32 GiB card in 1 GiB
 * buffers (issue 14).  Every new buffer must read zero, the top page of the
 * card must round-trip, and a buffer freed with data in it must come back
 * zeroed.  The host side (tools/vm-hbm-rss.sh) checks that QEMU's RSS stays
 * small meanwhile: the driver scrubs with the card's HBM discard, which
 * hands host pages back instead of writing zeros into them.
 * usage: zk_bighbm [GIB_TO_ALLOCATE]   (default: HBM size - 1 GiB)
 */
#include "zk_vmtest.h"

#define GIB ((uint64_t)1 << 30)
#define MAX_BOS 64

static bool zero_at(const struct tbo *bo, uint64_t off)
{
	return ((volatile uint32_t *)bo->map)[off / 4] == 0;
}

int main(int argc, char **argv)
{
	static struct tbo bos[MAX_BOS];
	int fd = zk_open_or_die();
	uint64_t hbm = zk_param(fd, DRM_ZHIKAI_PARAM_HBM_SIZE);
	uint64_t want = argc > 1 ? strtoull(argv[1], NULL, 0) : hbm / GIB - 1;
	unsigned n = 0, zero_ok = 0;
	int64_t t0 = now_ns();

	if (want > MAX_BOS)
		want = MAX_BOS;
	for (; n < want; n++) {
		int ret = tbo_new(fd, GIB, DRM_ZHIKAI_BO_HBM, &bos[n]);

		if (ret) {
			diag("BO %u: %s", n, strerror(-ret));
			break;
		}
		/* First and last word of every new buffer read zero. */
		zero_ok += zero_at(&bos[n], 0) && zero_at(&bos[n], GIB - 4);
	}
	ok(n == want, "%u of %" PRIu64 " x 1 GiB HBM buffers on a %" PRIu64
	   " GiB card (%.1f s)", n, want, hbm / GIB, (now_ns() - t0) / 1e9);
	ok(zero_ok == n, "every new buffer reads zero (%u/%u)", zero_ok, n);
	if (n == 0)
		return tap_done();

	/* The top page of the last buffer (near the top of the card). */
	struct tbo *top = &bos[n - 1];
	volatile uint64_t *p = (volatile uint64_t *)((char *)top->map + GIB - 4096);
	bool rt = true;

	for (unsigned i = 0; i < 512; i++)
		p[i] = 0x5a4b000000000000ull ^ i ^ top->va;
	for (unsigned i = 0; i < 512; i++)
		rt &= p[i] == (0x5a4b000000000000ull ^ i ^ top->va);
	ok(rt, "top page of buffer %u (VA 0x%" PRIx64 ") round-trips", n - 1,
	   top->va + GIB - 4096);
	printf("ZK-BIGHBM-ALLOCATED %u GiB\n", n);
	fflush(stdout);
	sleep(2);               /* the host samples QEMU's RSS now */

	/* Free a buffer with data in it; its replacement reads zero. */
	memset(bos[0].map, 0xa5, 1 << 20);
	((volatile uint32_t *)bos[0].map)[GIB / 4 - 1] = 0xdeadbeef;
	tbo_free(fd, &bos[0]);
	struct tbo fresh;
	int ret = tbo_new(fd, GIB, DRM_ZHIKAI_BO_HBM, &fresh);
	ok(!ret, "re-allocate a 1 GiB buffer after freeing a dirty one");
	if (!ret) {
		bool z = true;
		for (uint64_t off = 0; off < (1 << 20); off += 4096)
			z &= zero_at(&fresh, off);
		ok(z && zero_at(&fresh, GIB - 4), "the fresh buffer reads zero");
		tbo_free(fd, &fresh);
	}
	for (unsigned i = 1; i < n; i++)
		tbo_free(fd, &bos[i]);
	close(fd);
	return tap_done();
}
