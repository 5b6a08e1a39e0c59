// SPDX-License-Identifier: MIT
/*
 * test_multicard.c - several zhikai cards in one VM, end to end (issue 9):
 * the driver binds every card and gives each its own node, the runtime
 * enumerates and selects them, contexts on each work independently, and
 * data moves between two cards' HBM (card 0 -> host -> card 1 and back; the
 * runtime has no peer-to-peer path).  TAP.
 *
 * Not part of the single-card group: built into build/vm-tests/multicard/
 * and run by `make test-vm` in a second VM with `tools/vm-run.sh --cards 2`.
 * usage: test_multicard [EXPECTED_CARDS]   (default 2)
 */
#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zhikai/zhikai.h>

#define MAXC		8
#define ZK_VENDOR	"0x1234"
#define ZK_DEVICE	"0x5a4b"

static int tap_n, tap_failed;

static void ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed++;
}

static bool zok(zk_status st, const char *what)
{
	if (st != ZK_SUCCESS)
		printf("# %s: %s (%s)\n", what, zk_error_name(st), zk_last_error_detail());
	return st == ZK_SUCCESS;
}

static int read_str(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* PCI addresses of every zhikai card (driver or not), sorted. */
static int pci_cards(char bus[][32], int max)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *de;
	char p[300], v[32], dv[32];
	int n = 0, i, j;

	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/vendor", de->d_name);
		if (read_str(p, v, sizeof(v)))
			continue;
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/device", de->d_name);
		if (read_str(p, dv, sizeof(dv)))
			continue;
		if (!strcmp(v, ZK_VENDOR) && !strcmp(dv, ZK_DEVICE))
			snprintf(bus[n++], 32, "%.31s", de->d_name);
	}
	closedir(d);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(bus[i], bus[j]) > 0) {
				char t[32];

				memcpy(t, bus[i], 32);
				memcpy(bus[i], bus[j], 32);
				memcpy(bus[j], t, 32);
			}
	return n;
}

/* The device node the driver made for PCI device @bus ("" if none). */
static void pci_node(const char *bus, char *node, size_t len)
{
	static const char *const kinds[][2] = {
		{ "accel", "/dev/accel/" }, { "drm", "/dev/dri/" },
	};
	char p[300];
	struct dirent *de;
	unsigned int k;
	DIR *d;

	node[0] = 0;
	for (k = 0; k < 2 && !node[0]; k++) {
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/%s", bus, kinds[k][0]);
		d = opendir(p);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			if (!strncmp(de->d_name, "accel", 5) ||
			    !strncmp(de->d_name, "renderD", 7)) {
				snprintf(node, len, "%s%.40s", kinds[k][1], de->d_name);
				break;
			}
		}
		closedir(d);
	}
}

static void fill(uint32_t *p, size_t words, uint32_t seed)
{
	size_t i;

	for (i = 0; i < words; i++)
		p[i] = seed ^ (uint32_t)(i * 2654435761u);
}

static size_t first_diff(const uint32_t *a, const uint32_t *b, size_t words)
{
	size_t i;

	for (i = 0; i < words; i++)
		if (a[i] != b[i])
			return i;
	return words;
}

/* ---- concurrent traffic on every card --------------------------------- */

#define THR_BYTES	(4u << 20)
#define THR_ROUNDS	8

struct worker {
	zk_context ctx;
	int idx;
	int errors;
	char what[160];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint32_t *src = malloc(THR_BYTES), *dst = malloc(THR_BYTES);
	zk_deviceptr a = 0, b = 0;
	zk_status st;
	int r;

	if (!src || !dst) {
		w->errors++;
		goto out;
	}
	st = zk_ctx_set_current(w->ctx);
	if (st == ZK_SUCCESS)
		st = zk_mem_alloc(&a, THR_BYTES);
	if (st == ZK_SUCCESS)
		st = zk_mem_alloc(&b, THR_BYTES);
	for (r = 0; st == ZK_SUCCESS && r < THR_ROUNDS; r++) {
		fill(src, THR_BYTES / 4, 0x1000u * (unsigned int)w->idx + (unsigned int)r);
		memset(dst, 0, THR_BYTES);
		st = zk_memcpy_htod(a, src, THR_BYTES);
		if (st == ZK_SUCCESS)
			st = zk_memcpy_dtod(b, a, THR_BYTES);
		if (st == ZK_SUCCESS)
			st = zk_memcpy_dtoh(dst, b, THR_BYTES);
		if (st == ZK_SUCCESS && memcmp(src, dst, THR_BYTES)) {
			snprintf(w->what, sizeof(w->what), "round %d: data differs at word %zu", r,
				 first_diff(src, dst, THR_BYTES / 4));
			w->errors++;
		}
	}
	if (st != ZK_SUCCESS) {
		snprintf(w->what, sizeof(w->what), "%s: %s", zk_error_name(st),
			 zk_last_error_detail());
		w->errors++;
	}
	if (a)
		zk_mem_free(a);
	if (b)
		zk_mem_free(b);
out:
	free(src);
	free(dst);
	return NULL;
}

int main(int argc, char **argv)
{
	int want = argc > 1 ? atoi(argv[1]) : 2;
	char bus[MAXC][32], node[MAXC][64], drv[300], link[300];
	zk_device dev[MAXC] = { 0 };
	zk_context ctx[MAXC] = { 0 };
	zk_device_properties props[MAXC];
	int npci, nbound = 0, count = -1, i, j;
	bool all;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (want < 2 || want > MAXC) {
		printf("Bail out! expected card count %d: 2..%d\n", want, MAXC);
		return 1;
	}

	/* --- the driver: one bound device and one node per card ------------- */
	npci = pci_cards(bus, MAXC);
	ok(npci == want, "%d zhikai PCI functions present (want %d)", npci, want);
	for (i = 0; i < npci; i++) {
		ssize_t len;

		snprintf(drv, sizeof(drv), "/sys/bus/pci/devices/%s/driver", bus[i]);
		len = readlink(drv, link, sizeof(link) - 1);
		link[len > 0 ? len : 0] = 0;
		if (len > 0 && strstr(link, "/zhikai"))
			nbound++;
		pci_node(bus[i], node[i], sizeof(node[i]));
		printf("# card %s: driver %s, node %s\n", bus[i], len > 0 ? link : "-",
		       node[i][0] ? node[i] : "-");
	}
	ok(nbound == npci && npci > 0, "zhikai.ko bound every card (%d of %d)", nbound, npci);
	all = npci > 0;
	for (i = 0; i < npci; i++) {
		all = all && node[i][0] && access(node[i], R_OK | W_OK) == 0;
		for (j = 0; j < i; j++)
			all = all && strcmp(node[i], node[j]);
	}
	ok(all, "every card has its own accel/render node");

	/* --- the runtime: enumeration and selection --------------------------- */
	if (!zok(zk_init(0), "zk_init")) {
		printf("Bail out! zk_init failed\n");
		return 1;
	}
	all = zok(zk_device_count(&count), "zk_device_count");
	ok(all && count == npci, "zk_device_count == %d (got %d)", npci, count);
	if (count < 2) {
		printf("Bail out! fewer than two devices\n");
		return 1;
	}
	if (count > MAXC)
		count = MAXC;
	all = true;
	for (i = 0; i < count; i++)
		all = zok(zk_device_get(&dev[i], i), "zk_device_get") &&
		      zok(zk_device_get_properties(dev[i], &props[i]), "properties") && all;
	ok(all, "zk_device_get + properties for every ordinal");
	{
		zk_device none;

		ok(zk_device_get(&none, count) == ZK_ERROR_NO_DEVICE,
		   "ordinal %d (== count) is ZK_ERROR_NO_DEVICE", count);
	}
	all = true;
	for (i = 0; i < count; i++) {
		bool found = false;

		for (j = 0; j < npci; j++)
			found = found || !strcmp(props[i].pci_bus_id, bus[j]);
		for (j = 0; j < i; j++)
			all = all && strcmp(props[i].pci_bus_id, props[j].pci_bus_id) &&
			      strcmp(props[i].node, props[j].node);
		all = all && found;
		printf("# device %d: %s at %s, node %s, HBM %llu MiB\n", i, props[i].name,
		       props[i].pci_bus_id, props[i].node,
		       (unsigned long long)(props[i].hbm_total >> 20));
	}
	ok(all, "devices have distinct PCI bus ids and nodes, all of them zhikai cards");
	all = true;
	for (i = 1; i < count; i++)
		all = all && strcmp(props[i - 1].pci_bus_id, props[i].pci_bus_id) < 0;
	ok(all, "runtime ordinals follow PCI bus order (the same indices as zksmi -i)");
	all = true;
	for (i = 0; i < count; i++) {
		zk_device d = NULL;

		all = zok(zk_device_get_by_pci_bus_id(&d, props[i].pci_bus_id), "by bus id") &&
		      d == dev[i] && all;
	}
	ok(all, "zk_device_get_by_pci_bus_id selects the same device as its ordinal");

	/* --- a context on each card ---------------------------------------------- */
	all = true;
	for (i = 0; i < count; i++)
		all = zok(zk_ctx_create(&ctx[i], 0, dev[i]), "zk_ctx_create") && all;
	ok(all, "a context on each of the %d cards", count);
	if (!all) {
		printf("Bail out! no contexts\n");
		return 1;
	}
	all = true;
	for (i = 0; i < count; i++) {
		zk_device d = NULL;

		all = zok(zk_ctx_set_current(ctx[i]), "set_current") &&
		      zok(zk_ctx_get_device(&d), "get_device") && d == dev[i] && all;
	}
	ok(all, "zk_ctx_set_current switches cards (zk_ctx_get_device follows)");

	/* HBM is per card: an allocation on card 1 leaves card 0's free HBM alone. */
	{
		size_t f0a = 0, f0b = 0, f1a = 0, f1b = 0, tot = 0;
		zk_deviceptr big = 0;
		const size_t sz = 64u << 20;

		all = zok(zk_ctx_set_current(ctx[0]), "cur0") && zok(zk_mem_get_info(&f0a, &tot), "info0");
		all = all && zok(zk_ctx_set_current(ctx[1]), "cur1") &&
		      zok(zk_mem_get_info(&f1a, &tot), "info1") &&
		      zok(zk_mem_alloc(&big, sz), "alloc on card 1") &&
		      zok(zk_mem_get_info(&f1b, &tot), "info1'");
		all = all && zok(zk_ctx_set_current(ctx[0]), "cur0'") &&
		      zok(zk_mem_get_info(&f0b, &tot), "info0'");
		printf("# free HBM: card 0 %zu -> %zu, card 1 %zu -> %zu\n", f0a, f0b, f1a, f1b);
		ok(all && f1a >= f1b + sz && f0a == f0b,
		   "64 MiB on card 1 lowers its free HBM only");
		if (big) {
			zk_ctx_set_current(ctx[1]);
			zk_mem_free(big);
		}
	}

	/* --- copies between two cards' HBM -------------------------------------- */
	{
		const size_t sz = 16u << 20;
		uint32_t *src = malloc(sz), *bounce = malloc(sz), *out = malloc(sz);
		void *pinned = NULL;
		zk_deviceptr a = 0, b = 0;
		zk_status st;

		if (!src || !bounce || !out) {
			printf("Bail out! out of memory\n");
			return 1;
		}
		fill(src, sz / 4, 0xc0ffee00u);
		memset(out, 0, sz);
		st = zk_ctx_set_current(ctx[0]);
		if (st == ZK_SUCCESS)
			st = zk_mem_alloc(&a, sz);
		if (st == ZK_SUCCESS)
			st = zk_memcpy_htod(a, src, sz);
		if (st == ZK_SUCCESS)
			st = zk_memcpy_dtoh(bounce, a, sz);	/* card 0 HBM -> host */
		if (st == ZK_SUCCESS)
			st = zk_ctx_set_current(ctx[1]);
		if (st == ZK_SUCCESS)
			st = zk_mem_alloc(&b, sz);
		if (st == ZK_SUCCESS)
			st = zk_memcpy_htod(b, bounce, sz);	/* host -> card 1 HBM */
		if (st == ZK_SUCCESS)
			st = zk_memcpy_dtoh(out, b, sz);
		zok(st, "card 0 -> card 1");
		if (st == ZK_SUCCESS && memcmp(src, out, sz))
			printf("# first differing word: %zu\n", first_diff(src, out, sz / 4));
		ok(st == ZK_SUCCESS && !memcmp(src, out, sz),
		   "16 MiB card 0 HBM -> host -> card 1 HBM arrives intact");

		/* Back, staged in card 1's pinned host memory (DMA'd directly). */
		fill(src, sz / 4, 0x5eed0001u);
		memset(out, 0, sz);
		st = zk_ctx_set_current(ctx[1]);
		if (st == ZK_SUCCESS)
			st = zk_memcpy_htod(b, src, sz);
		if (st == ZK_SUCCESS)
			st = zk_mem_alloc_host(&pinned, sz);
		if (st == ZK_SUCCESS)
			st = zk_memcpy_dtoh(pinned, b, sz);	/* card 1 HBM -> pinned */
		if (st == ZK_SUCCESS)
			st = zk_ctx_set_current(ctx[0]);
		if (st == ZK_SUCCESS)
			st = zk_memcpy_htod(a, pinned, sz);	/* pinned -> card 0 HBM */
		if (st == ZK_SUCCESS)
			st = zk_memcpy_dtoh(out, a, sz);
		zok(st, "card 1 -> card 0");
		if (st == ZK_SUCCESS && memcmp(src, out, sz))
			printf("# first differing word: %zu\n", first_diff(src, out, sz / 4));
		ok(st == ZK_SUCCESS && !memcmp(src, out, sz),
		   "16 MiB card 1 HBM -> pinned host -> card 0 HBM arrives intact");

		/* Card 0's copy is unaffected by writes to card 1 (separate HBM). */
		fill(bounce, sz / 4, 0xdeadbeefu);
		st = zk_ctx_set_current(ctx[1]);
		if (st == ZK_SUCCESS)
			st = zk_memcpy_htod(b, bounce, sz);
		if (st == ZK_SUCCESS)
			st = zk_ctx_set_current(ctx[0]);
		if (st == ZK_SUCCESS)
			st = zk_memcpy_dtoh(out, a, sz);
		ok(st == ZK_SUCCESS && !memcmp(src, out, sz),
		   "overwriting card 1's buffer leaves card 0's intact");

		if (pinned) {
			zk_ctx_set_current(ctx[1]);
			zk_mem_free_host(pinned);
		}
		if (b) {
			zk_ctx_set_current(ctx[1]);
			zk_mem_free(b);
		}
		if (a) {
			zk_ctx_set_current(ctx[0]);
			zk_mem_free(a);
		}
		free(src);
		free(bounce);
		free(out);
	}

	/* --- every card busy at once ------------------------------------------ */
	{
		struct worker w[MAXC];
		pthread_t th[MAXC];

		memset(w, 0, sizeof(w));
		for (i = 0; i < count; i++) {
			w[i].ctx = ctx[i];
			w[i].idx = i;
			pthread_create(&th[i], NULL, worker_main, &w[i]);
		}
		all = true;
		for (i = 0; i < count; i++) {
			pthread_join(th[i], NULL);
			if (w[i].errors)
				printf("# card %d: %s\n", i, w[i].what);
			all = all && !w[i].errors;
		}
		ok(all, "%d threads, one per card, %d x 4 MiB htod/dtod/dtoh rounds each, concurrently",
		   count, THR_ROUNDS);
	}

	all = true;
	for (i = 0; i < count; i++)
		all = zok(zk_ctx_destroy(ctx[i]), "zk_ctx_destroy") && all;
	ok(all, "contexts on every card destroyed");

	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
