// SPDX-License-Identifier: MIT
/*
 * zk_ioctl_fuzz - ioctl fuzzer for zhikai.ko, run inside the VM.
 *
 * Several processes (normally unprivileged) open the card and issue random
 * and mutated-valid calls: every zhikai ioctl, the generic DRM ioctls a
 * render node allows (GEM_CLOSE, PRIME, syncobj, GET_CAP, VERSION ...),
 * unknown ioctl numbers, mmap of real and guessed offsets, close/reopen.
 * Control calls (valid arguments) must succeed.  Afterwards the parent
 * checks that HBM use (sysfs hbm_used_bytes) is back at its baseline and
 * that a DMA round trip still works.  dmesg is checked by the caller
 * (tests/vm/run-reliability.sh).
 *
 * usage: zk_ioctl_fuzz [-t SECONDS] [-n MIN_CALLS] [-p PROCS] [-s SEED] [-H]
 *   -t  stop after this long (default 20)
 *   -n  stop once this many calls were made in total, and fail if the time
 *       ran out first (default: no minimum)
 *   -H  allow commands that hang (WAIT on unset memory): exercises job
 *       timeouts, resets and bans concurrently with everything else
 * TAP on stdout.
 */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>

#include "zk_vmtest.h"

#define MAX_BOS		48
#define MAX_SYNC	16
#define MAX_SEQ		64
#define CMD_BYTES	(64 * 1024)

struct shared {
	volatile uint64_t calls[64];
	volatile uint64_t unexpected[64];
	volatile int stop;
	volatile uint64_t op_n[8], op_ns[8];	/* per operation kind */
};

static struct shared *sh;
static int me;
static uint64_t rng;
static bool allow_hang;
static uint32_t nq;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

static bool chance(uint32_t one_in)
{
	return below(one_in) == 0;
}

/* Interesting 64-bit values. */
static uint64_t rnd_val(void)
{
	static const uint64_t v[] = {
		0, 1, 2, 7, 8, 63, 64, 4095, 4096, 4097, 65536, 1u << 20, 1u << 21,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull, 1ull << 30,
		(1ull << 39) - 8, 1ull << 39, 1ull << 63, ~0ull, ~0ull - 4095,
	};

	switch (below(4)) {
	case 0:
		return v[below(sizeof(v) / sizeof(v[0]))];
	case 1:
		return rnd();
	case 2:
		return below(1u << 16);
	default:
		return v[below(sizeof(v) / sizeof(v[0]))] + below(16) - 8;
	}
}

static void mutate(void *buf, size_t len)
{
	uint8_t *b = buf;
	int n = 1 + below(4);

	while (n--) {
		size_t at = below((uint32_t)len);

		switch (below(4)) {
		case 0:
			b[at] ^= 1u << below(8);
			break;
		case 1:
			b[at] = (uint8_t)rnd();
			break;
		case 2:
			if (at + 8 <= len) {
				uint64_t v = rnd_val();

				memcpy(b + (at & ~7ul), &v, 8);
			}
			break;
		default:
			if (at + 4 <= len) {
				uint32_t v = (uint32_t)rnd_val();

				memcpy(b + (at & ~3ul), &v, 4);
			}
		}
	}
}

/*
 * Mutate ioctl arguments without letting the kernel write into our own
 * memory: user pointers at byte offsets @ptrs (-1 ends) keep their value or
 * become a known-bad address (a bit-flipped pointer could aim the kernel's
 * copy_to_user at our stack), and the u32 counts at @cnts stay within the
 * arrays behind them (@cap) unless huge (the kernel refuses those).
 */
static void mutate_args(void *buf, size_t len, const int *ptrs, const int *cnts, uint32_t cap)
{
	static const uint64_t bad_ptrs[] = { 0, 8, 4096, 0xffff888000000000ull, ~0ull - 4095 };
	uint8_t save[256];
	uint32_t v;

	memcpy(save, buf, len);
	mutate(buf, len);
	for (; ptrs && *ptrs >= 0; ptrs++) {
		if (chance(8))
			memcpy((uint8_t *)buf + *ptrs, &bad_ptrs[below(5)], 8);
		else
			memcpy((uint8_t *)buf + *ptrs, save + *ptrs, 8);
	}
	for (; cnts && *cnts >= 0; cnts++) {
		memcpy(&v, (uint8_t *)buf + *cnts, 4);
		if (v > cap && v < (1u << 24))
			v = cap;
		memcpy((uint8_t *)buf + *cnts, &v, 4);
	}
}

#define OFF(t, f) ((int)offsetof(t, f))

/* ---- per-process state --------------------------------------------- */

struct fbo {
	uint32_t handle;
	uint32_t flags;
	uint64_t va, size, off;
	void *map;
};

static int fd = -1;
static struct fbo bos[MAX_BOS];
static uint32_t nbos;
static uint32_t syncs[MAX_SYNC];
static uint32_t nsyncs;
static uint64_t seqs[MAX_SEQ];
static uint32_t nseqs;
static struct fbo cmdbo;

static void count(void)
{
	sh->calls[me]++;
}

static void unexpected(const char *what, int ret)
{
	sh->unexpected[me]++;
	if (sh->unexpected[me] <= 5)
		printf("# proc %d: unexpected %s -> %d (%s)\n", me, what, ret, strerror(-ret));
}

static int xioctl(unsigned long req, void *arg)
{
	int ret = ioctl(fd, req, arg);

	count();
	return ret ? -errno : 0;
}

static void drop_bo(uint32_t i)
{
	struct drm_gem_close gc = { .handle = bos[i].handle };

	if (bos[i].map)
		munmap(bos[i].map, bos[i].size);
	xioctl(DRM_IOCTL_GEM_CLOSE, &gc);
	bos[i] = bos[--nbos];
}

static void close_all(void)
{
	uint32_t i;

	for (i = 0; i < nbos; i++)
		if (bos[i].map)
			munmap(bos[i].map, bos[i].size);
	if (cmdbo.map)
		munmap(cmdbo.map, cmdbo.size);
	memset(&cmdbo, 0, sizeof(cmdbo));
	nbos = nsyncs = nseqs = 0;
	if (fd >= 0)
		close(fd);
	fd = -1;
}

static int new_bo(uint64_t size, uint32_t flags, struct fbo *b)
{
	struct drm_zhikai_bo_create c = { .size = size, .flags = flags };
	struct drm_zhikai_bo_info in = { 0 };
	int ret = xioctl(DRM_IOCTL_ZHIKAI_BO_CREATE, &c);

	if (ret)
		return ret;
	in.handle = c.handle;
	ret = xioctl(DRM_IOCTL_ZHIKAI_BO_INFO, &in);
	if (ret) {
		unexpected("BO_INFO of a new BO", ret);
		return ret;
	}
	if (in.size < size || in.device_va != c.device_va || (in.flags & ~DRM_ZHIKAI_BO_POISONED) != flags)
		unexpected("BO_INFO contents", -EINVAL);
	memset(b, 0, sizeof(*b));
	b->handle = c.handle;
	b->flags = flags;
	b->va = c.device_va;
	b->size = in.size;
	b->off = in.mmap_offset;
	return 0;
}

static bool reopen(void)
{
	close_all();
	fd = zk_open_node(NULL, 0);
	count();
	if (fd < 0)
		return false;
	if (new_bo(CMD_BYTES, DRM_ZHIKAI_BO_HOST, &cmdbo))
		return false;
	cmdbo.map = mmap(NULL, cmdbo.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, cmdbo.off);
	count();
	if (cmdbo.map == MAP_FAILED) {
		cmdbo.map = NULL;
		return false;
	}
	return true;
}

/* A VA worth aiming at: inside, at the edge of or just past a BO. */
static uint64_t pick_va(uint64_t len)
{
	struct fbo *b;

	if (!nbos || chance(8))
		return chance(2) ? rnd_val() : (1ull << 30) + below(1u << 24) * 4096ull;
	b = &bos[below(nbos)];
	switch (below(6)) {
	case 0:
		return b->va + b->size - (len < b->size ? len : b->size);	/* last bytes */
	case 1:
		return b->va + b->size;					/* guard page */
	case 2:
		return b->va + b->size - 8 + below(16);
	default:
		return b->va + (len < b->size ? below((uint32_t)((b->size - len) / 8)) * 8 : 0);
	}
}

static uint64_t pick_len(void)
{
	switch (below(4)) {
	case 0:
		return 8;
	case 1:
		return 4096;
	case 2:
		return 8 * (1 + below(2048));
	default:
		return rnd_val();
	}
}

/* One command at @p: valid-looking, sometimes mutated. */
static void gen_cmd(uint8_t *p)
{
	memset(p, 0, ZK_CMD_SIZE);
	switch (below(8)) {
	case 0:
		break;	/* NOP */
	case 1:
	case 2: {
		struct zk_cmd_dma *d = (void *)p;
		uint64_t len = pick_len() & 0x3fffff;

		d->hdr.opcode = ZK_CMD_DMA;
		d->size = len ? len : 8;
		if (chance(2)) {
			d->hdr.flags = ZK_DMA_F_FILL;
			d->src = rnd();
		} else {
			d->src = pick_va(d->size);
		}
		d->dst = pick_va(d->size);
		if (chance(10)) {
			d->hdr.flags |= ZK_DMA_F_SGLIST;
			d->size = 1 + below(8);
			d->src = pick_va(d->size * sizeof(struct zk_dma_sg));
			d->dst = 0;
		}
		break;
	}
	case 3: {
		struct zk_cmd_fence *f = (void *)p;

		f->hdr.opcode = ZK_CMD_FENCE;
		f->hdr.flags = chance(2) ? ZK_FENCE_F_IRQ : 0;
		f->addr = pick_va(8) & ~7ull;
		f->value = rnd();
		break;
	}
	case 4: {
		struct zk_cmd_wait *w = (void *)p;

		w->hdr.opcode = ZK_CMD_WAIT;
		w->addr = pick_va(8) & ~7ull;
		/* -H: now and then a WAIT nobody satisfies (job timeout). */
		w->value = allow_hang && chance(40) ? 1 + below(4) : 0;
		break;
	}
	case 5: {
		struct zk_cmd_timestamp *t = (void *)p;

		t->hdr.opcode = ZK_CMD_TIMESTAMP;
		t->hdr.flags = (uint8_t)below(4);
		t->addr = pick_va(8) & ~7ull;
		break;
	}
	case 6: {
		struct zk_cmd_launch *l = (void *)p;

		l->hdr.opcode = ZK_CMD_LAUNCH;
		l->code_size = 64 * (1 + below(64));
		l->code_va = pick_va(l->code_size);
		l->entry = chance(2) ? 0 : below(l->code_size);
		l->grid[0] = 1 + below(4);
		l->grid[1] = 1;
		l->grid[2] = 1;
		l->args_size = 8 * below(17);
		l->args_va = l->args_size ? pick_va(l->args_size) : 0;
		break;
	}
	default:
		p[0] = (uint8_t)below(ZK_CMD_COUNT + 2);
		break;
	}
	if (chance(4))
		mutate(p, ZK_CMD_SIZE);
	/* No hangs unless asked for: every WAIT is already satisfied. */
	if (p[0] == ZK_CMD_WAIT && !allow_hang)
		memset(p + 16, 0, 8);
}

static void do_submit(void)
{
	struct drm_zhikai_job jobs[4];
	struct drm_zhikai_submit s = { 0 };
	uint32_t handles[8];
	uint32_t n = 1 + below(4), i, k, slot = 0;
	bool control = chance(6);
	int ret;

	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < n; i++) {
		struct drm_zhikai_job *j = &jobs[i];
		uint32_t ncmd = 1 + below(8);

		if (control) {
			/* A valid FENCE into a BO: must succeed. */
			struct zk_cmd_fence *f = (void *)((uint8_t *)cmdbo.map + slot * ZK_CMD_SIZE);

			memset(f, 0, ZK_CMD_SIZE);
			f->hdr.opcode = ZK_CMD_FENCE;
			f->addr = cmdbo.va + CMD_BYTES - 8;
			f->value = i;
			ncmd = 1;
		} else {
			for (k = 0; k < ncmd && slot + k < CMD_BYTES / ZK_CMD_SIZE - 1; k++)
				gen_cmd((uint8_t *)cmdbo.map + (slot + k) * ZK_CMD_SIZE);
		}
		j->queue = below(nq);
		j->cmd_handle = cmdbo.handle;
		j->cmd_offset = slot * ZK_CMD_SIZE;
		j->cmd_size = ncmd * ZK_CMD_SIZE;
		slot += ncmd;
		if (!control && nbos && chance(3)) {
			j->bo_count = 1 + below(8);
			for (k = 0; k < j->bo_count; k++)
				handles[k] = chance(10) ? (uint32_t)rnd_val() : bos[below(nbos)].handle;
			j->bo_handles = (uintptr_t)handles;
		}
		if (!control && nsyncs && chance(4)) {
			j->in_syncobj = syncs[below(nsyncs)];
			j->in_point = chance(2) ? below(4) : 0;
		}
		if (!control && nsyncs && chance(4)) {
			j->out_syncobj = syncs[below(nsyncs)];
			j->out_point = chance(2) ? below(8) : 0;
		}
		if (!control && chance(5)) {
			static const int p[] = { OFF(struct drm_zhikai_job, bo_handles), -1 };
			static const int c[] = { OFF(struct drm_zhikai_job, bo_count), -1 };

			mutate_args(j, sizeof(*j), p, c, 8);
		}
	}
	s.jobs = (uintptr_t)jobs;
	s.job_count = n;
	s.job_stride = sizeof(jobs[0]);
	if (!control && chance(8)) {
		static const int p[] = { OFF(struct drm_zhikai_submit, jobs), -1 };
		static const int c[] = { OFF(struct drm_zhikai_submit, job_count), -1 };

		mutate_args(&s, sizeof(s), p, c, 4);
	}
	ret = xioctl(DRM_IOCTL_ZHIKAI_SUBMIT, &s);
	if (!ret) {
		for (i = 0; i < n && i < s.job_count; i++)
			if (nseqs < MAX_SEQ)
				seqs[nseqs++] = jobs[i].seqno;
			else
				seqs[below(MAX_SEQ)] = jobs[i].seqno;
	} else if (control && ret != -EIO) {
		unexpected("valid SUBMIT", ret);
		printf("# proc %d: jobs %u, queue %u/%u, cmd handle %u offset %u size %u\n", me, n,
		       jobs[0].queue, nq, jobs[0].cmd_handle, jobs[0].cmd_offset, jobs[0].cmd_size);
	}
	if (ret == -EIO && !allow_hang)
		unexpected("SUBMIT -EIO without hangs", ret);
	if (ret == -EIO)
		reopen();	/* banned (or wedged): a new context */
}

static void do_wait(void)
{
	struct drm_zhikai_wait w = { 0 };
	int ret;

	if (nbos && chance(4)) {
		w.flags = DRM_ZHIKAI_WAIT_BO;
		w.handle = bos[below(nbos)].handle;
	} else {
		w.seqno = nseqs && !chance(5) ? seqs[below(nseqs)] : rnd_val();
	}
	w.timeout_ns = chance(2) ? 0 : now_ns() + below(500000);
	if (chance(6))
		mutate(&w, sizeof(w));
	if (!allow_hang && w.timeout_ns > now_ns() + 50000000)
		w.timeout_ns = now_ns() + 50000000;
	ret = xioctl(DRM_IOCTL_ZHIKAI_WAIT, &w);
	if (!ret && w.status > DRM_ZHIKAI_JOB_TIMEDOUT)
		unexpected("WAIT status out of range", -(int)w.status);
}

static void do_bo_create(void)
{
	struct fbo b;
	uint64_t size;
	uint32_t flags = chance(2) ? DRM_ZHIKAI_BO_HOST : DRM_ZHIKAI_BO_HBM;
	int ret;

	if (nbos >= MAX_BOS) {
		drop_bo(below(nbos));
		return;
	}
	size = chance(10) ? rnd_val() : 1 + below(chance(64) ? (flags ? 1u << 20 : 4u << 20) : 1u << 16);
	if (chance(20)) {
		struct drm_zhikai_bo_create c = { .size = size, .flags = flags };

		mutate(&c, sizeof(c));
		if (c.size > (64u << 20))
			c.size &= (64u << 20) - 1;
		if (!xioctl(DRM_IOCTL_ZHIKAI_BO_CREATE, &c)) {
			struct drm_gem_close gc = { .handle = c.handle };

			xioctl(DRM_IOCTL_GEM_CLOSE, &gc);
		}
		return;
	}
	if (size > (64u << 20) || !size)
		size = (size & ((4u << 20) - 1)) + 1;
	ret = new_bo(size, flags, &b);
	if (ret) {
		if (ret != -ENOSPC && ret != -ENOMEM && ret != -EDQUOT)
			unexpected("BO_CREATE", ret);
		return;
	}
	if (chance(2)) {
		b.map = mmap(NULL, b.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, b.off);
		count();
		if (b.map == MAP_FAILED) {
			unexpected("mmap of a new BO", -errno);
			b.map = NULL;
		} else {
			memset(b.map, (int)me, b.size < 4096 ? b.size : 4096);
		}
	}
	bos[nbos++] = b;
}

static void do_mmap(void)
{
	uint64_t off, len;
	void *p;

	if (nbos && !chance(4)) {
		struct fbo *b = &bos[below(nbos)];

		off = b->off + (chance(2) ? 0 : below((uint32_t)(b->size / 4096) + 2) * 4096ull);
		len = chance(2) ? b->size : 4096 * (1 + below(8));
	} else {
		off = chance(2) ? rnd_val() & ~4095ull : cmdbo.off + (below(1u << 16) - (1u << 15)) * 4096ull;
		len = 4096 * (1 + below(4));
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	count();
	if (p != MAP_FAILED) {
		/* Only touch what must be backed: a whole BO of ours. */
		uint32_t i;

		for (i = 0; i < nbos; i++)
			if (bos[i].off == off && len <= bos[i].size)
				((volatile uint8_t *)p)[len - 1] = 1;
		munmap(p, len);
	}
}

static void do_syncobj(void)
{
	union {
		struct drm_syncobj_create c;
		struct drm_syncobj_destroy d;
		struct drm_syncobj_wait w;
		struct drm_syncobj_timeline_wait tw;
		struct drm_syncobj_array a;
		struct drm_syncobj_timeline_array ta;
		struct drm_syncobj_handle h;
		struct drm_syncobj_transfer t;
	} u;
	uint32_t hs[64];
	uint64_t pts[64];
	uint32_t i, n = 1 + below(4);
	int ret;

	memset(&u, 0, sizeof(u));
	for (i = 0; i < 64; i++) {
		hs[i] = nsyncs && !chance(8) ? syncs[below(nsyncs)] : (uint32_t)rnd_val();
		pts[i] = below(8);
	}
	switch (below(9)) {
	case 0:
		u.c.flags = chance(4) ? (uint32_t)rnd_val() : (chance(2) ? DRM_SYNCOBJ_CREATE_SIGNALED : 0);
		ret = xioctl(DRM_IOCTL_SYNCOBJ_CREATE, &u.c);
		if (!ret) {
			if (nsyncs < MAX_SYNC) {
				syncs[nsyncs++] = u.c.handle;
			} else {
				u.d.handle = u.c.handle;
				u.d.pad = 0;
				xioctl(DRM_IOCTL_SYNCOBJ_DESTROY, &u.d);
			}
		}
		break;
	case 1:
		if (!nsyncs)
			break;
		i = below(nsyncs);
		u.d.handle = syncs[i];
		if (!xioctl(DRM_IOCTL_SYNCOBJ_DESTROY, &u.d))
			syncs[i] = syncs[--nsyncs];
		break;
	case 2:
		u.w.handles = (uintptr_t)hs;
		u.w.count_handles = n;
		u.w.timeout_nsec = chance(2) ? 0 : now_ns() + below(500000);
		u.w.flags = (uint32_t)below(8);
		if (chance(5))
			mutate_args(&u.w, sizeof(u.w), (const int[]){ OFF(struct drm_syncobj_wait, handles), -1 },
				    (const int[]){ OFF(struct drm_syncobj_wait, count_handles), -1 }, 64);
		if (u.w.timeout_nsec > now_ns() + 20000000)
			u.w.timeout_nsec = now_ns() + 20000000;
		xioctl(DRM_IOCTL_SYNCOBJ_WAIT, &u.w);
		break;
	case 3:
		u.tw.handles = (uintptr_t)hs;
		u.tw.points = (uintptr_t)pts;
		u.tw.count_handles = n;
		u.tw.timeout_nsec = chance(2) ? 0 : now_ns() + below(500000);
		u.tw.flags = (uint32_t)below(16);
		if (chance(5))
			mutate_args(&u.tw, sizeof(u.tw),
				    (const int[]){ OFF(struct drm_syncobj_timeline_wait, handles),
						   OFF(struct drm_syncobj_timeline_wait, points), -1 },
				    (const int[]){ OFF(struct drm_syncobj_timeline_wait, count_handles), -1 }, 64);
		if (u.tw.timeout_nsec > now_ns() + 20000000)
			u.tw.timeout_nsec = now_ns() + 20000000;
		xioctl(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &u.tw);
		break;
	case 4:
		u.a.handles = (uintptr_t)hs;
		u.a.count_handles = n;
		if (chance(5))
			mutate_args(&u.a, sizeof(u.a), (const int[]){ OFF(struct drm_syncobj_array, handles), -1 },
				    (const int[]){ OFF(struct drm_syncobj_array, count_handles), -1 }, 64);
		xioctl(chance(2) ? DRM_IOCTL_SYNCOBJ_RESET : DRM_IOCTL_SYNCOBJ_SIGNAL, &u.a);
		break;
	case 5:
		u.ta.handles = (uintptr_t)hs;
		u.ta.points = (uintptr_t)pts;
		u.ta.count_handles = n;
		u.ta.flags = chance(2) ? 0 : (uint32_t)below(4);
		if (chance(5))
			mutate_args(&u.ta, sizeof(u.ta),
				    (const int[]){ OFF(struct drm_syncobj_timeline_array, handles),
						   OFF(struct drm_syncobj_timeline_array, points), -1 },
				    (const int[]){ OFF(struct drm_syncobj_timeline_array, count_handles), -1 }, 64);
		xioctl(chance(2) ? DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL : DRM_IOCTL_SYNCOBJ_QUERY, &u.ta);
		break;
	case 6:
		u.h.handle = hs[0];
		u.h.flags = (uint32_t)below(4);
		u.h.fd = -1;
		ret = xioctl(DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &u.h);
		if (!ret && u.h.fd >= 0) {
			int sfd = u.h.fd;

			u.h.handle = 0;
			u.h.flags = 0;
			if (!xioctl(DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &u.h) && nsyncs < MAX_SYNC &&
			    !(u.h.flags))
				syncs[nsyncs++] = u.h.handle;
			close(sfd);
		}
		break;
	case 7:
		u.t.src_handle = hs[0];
		u.t.dst_handle = hs[1];
		u.t.src_point = pts[0];
		u.t.dst_point = pts[1];
		/* WAIT_FOR_SUBMIT stalls up to 5 s in the core: rarely. */
		u.t.flags = chance(64) ? (uint32_t)below(4) : (uint32_t)below(2);
		xioctl(DRM_IOCTL_SYNCOBJ_TRANSFER, &u.t);
		break;
	default:
		u.h.handle = hs[0];
		u.h.fd = chance(2) ? fd : (int)rnd_val();
		u.h.flags = (uint32_t)below(4);
		ret = xioctl(DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &u.h);
		break;
	}
}

static void do_generic(void)
{
	union {
		struct drm_gem_close gc;
		struct drm_prime_handle ph;
		struct drm_get_cap cap;
		struct drm_set_client_cap scap;
		struct drm_gem_flink fl;
		struct drm_gem_open op;
		struct drm_version v;
		struct drm_zhikai_get_param gp;
		struct drm_zhikai_bo_info bi;
		uint8_t raw[256];
	} u;
	char name[32], date[32], desc[64];
	int ret;

	memset(&u, 0, sizeof(u));
	switch (below(10)) {
	case 0:
		u.gp.param = chance(4) ? (uint32_t)rnd_val() : below(DRM_ZHIKAI_PARAM_COUNT + 2);
		if (chance(8))
			u.gp.reserved = (uint32_t)rnd_val();
		ret = xioctl(DRM_IOCTL_ZHIKAI_GET_PARAM, &u.gp);
		if (u.gp.param < DRM_ZHIKAI_PARAM_COUNT && !u.gp.reserved && ret)
			unexpected("valid GET_PARAM", ret);
		break;
	case 1:
		u.bi.handle = nbos && !chance(4) ? bos[below(nbos)].handle : (uint32_t)rnd_val();
		if (chance(6))
			mutate(&u.bi, sizeof(u.bi));
		xioctl(DRM_IOCTL_ZHIKAI_BO_INFO, &u.bi);
		break;
	case 2:
		if (nbos && chance(2)) {
			drop_bo(below(nbos));
		} else {
			u.gc.handle = (uint32_t)rnd_val();
			u.gc.pad = chance(4) ? (uint32_t)rnd() : 0;
			/* Never close the command BO behind our back. */
			if (u.gc.handle != cmdbo.handle) {
				uint32_t i;

				for (i = 0; i < nbos; i++)
					if (bos[i].handle == u.gc.handle)
						break;
				if (i == nbos)
					xioctl(DRM_IOCTL_GEM_CLOSE, &u.gc);
			}
		}
		break;
	case 3:
		u.ph.handle = nbos ? bos[below(nbos)].handle : (uint32_t)rnd_val();
		u.ph.flags = chance(2) ? DRM_CLOEXEC | DRM_RDWR : (uint32_t)rnd_val();
		u.ph.fd = -1;
		ret = xioctl(DRM_IOCTL_PRIME_HANDLE_TO_FD, &u.ph);
		if (!ret && u.ph.fd >= 0) {
			int pfd = u.ph.fd;

			u.ph.handle = 0;
			xioctl(DRM_IOCTL_PRIME_FD_TO_HANDLE, &u.ph);
			close(pfd);
		}
		break;
	case 4:
		u.ph.fd = chance(2) ? fd : (int)below(64);
		xioctl(DRM_IOCTL_PRIME_FD_TO_HANDLE, &u.ph);
		break;
	case 5:
		u.cap.capability = chance(2) ? below(0x20) : rnd_val();
		xioctl(DRM_IOCTL_GET_CAP, &u.cap);
		u.scap.capability = below(8);
		u.scap.value = below(3);
		xioctl(DRM_IOCTL_SET_CLIENT_CAP, &u.scap);
		break;
	case 6:
		u.v.name = name;
		u.v.name_len = below(sizeof(name));
		u.v.date = date;
		u.v.date_len = below(sizeof(date));
		u.v.desc = desc;
		u.v.desc_len = below(sizeof(desc));
		xioctl(DRM_IOCTL_VERSION, &u.v);
		break;
	case 7:
		u.fl.handle = nbos ? bos[below(nbos)].handle : 1;
		if (!xioctl(DRM_IOCTL_GEM_FLINK, &u.fl)) {
			u.op.name = u.fl.name;
			if (!xioctl(DRM_IOCTL_GEM_OPEN, &u.op)) {
				struct drm_gem_close gc = { .handle = u.op.handle };

				xioctl(DRM_IOCTL_GEM_CLOSE, &gc);
			}
		}
		u.op.name = below(64);
		if (!xioctl(DRM_IOCTL_GEM_OPEN, &u.op)) {
			struct drm_gem_close gc = { .handle = u.op.handle };

			unexpected("GEM_OPEN by guessed name on a render node", 0);
			xioctl(DRM_IOCTL_GEM_CLOSE, &gc);
		}
		break;
	default: {
		/* Unknown or driver ioctl numbers with random sizes and bytes;
		 * driver numbers are validated by the ioctl table. */
		uint32_t nr = chance(2) ? DRM_COMMAND_BASE + below(16) : below(0xd0);
		uint32_t size = below(sizeof(u.raw) / 8) * 8;
		uint32_t i;
		unsigned long req;

		/* Skip the handful that would change this process's files. */
		if (nr == 0x09 || nr == 0x0a || nr == 0x0b || nr == 0x2d || nr == 0x2e)
			break;
		for (i = 0; i < size; i += 8) {
			uint64_t v = chance(3) ? 0 : rnd_val();

			memcpy(u.raw + i, &v, 8);
		}
		switch (below(4)) {
		case 0:
			req = _IOC(_IOC_READ | _IOC_WRITE, DRM_IOCTL_BASE, nr, size);
			break;
		case 1:
			req = _IOC(_IOC_WRITE, DRM_IOCTL_BASE, nr, size);
			break;
		case 2:
			req = _IOC(_IOC_READ, DRM_IOCTL_BASE, nr, size);
			break;
		default:
			req = _IOC(_IOC_NONE, DRM_IOCTL_BASE, nr, 0);
		}
		/* Driver ioctls that allocate or submit stay mutated-valid. */
		if (nr == DRM_COMMAND_BASE + DRM_ZHIKAI_SUBMIT || nr == DRM_COMMAND_BASE + DRM_ZHIKAI_BO_CREATE ||
		    nr == DRM_COMMAND_BASE + DRM_ZHIKAI_WAIT)
			break;
		xioctl(req, u.raw);
		break;
	}
	}
}

static void child(int idx, uint64_t seed, int64_t end_ns, uint64_t min_calls)
{
	uint64_t total;
	int i;

	me = idx;
	rng = seed * 0x9e3779b97f4a7c15ull + idx + 1;
	if (!reopen()) {
		printf("# proc %d: cannot open the card\n", me);
		_exit(3);
	}
	nq = (uint32_t)zk_param(fd, DRM_ZHIKAI_PARAM_NUM_QUEUES);
	if (!nq || nq > ZK_MAX_QUEUES)
		nq = 1;
	for (;;) {
		for (i = 0; i < 64; i++) {
			int64_t t = now_ns();
			uint32_t op = below(32), kind;

			kind = op < 2 ? 0 : op < 10 ? 1 : op < 13 ? 2 : op < 15 ? 3 : op < 20 ? 4 :
			       op == 20 ? 5 : 6;
			switch (op) {
			case 0: case 1:
				do_bo_create();
				break;
			case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9:
				do_submit();
				break;
			case 10: case 11: case 12:
				do_wait();
				break;
			case 13: case 14:
				do_mmap();
				break;
			case 15: case 16: case 17: case 18: case 19:
				do_syncobj();
				break;
			case 20:
				if (chance(100))
					reopen();
				break;
			default:
				do_generic();
				break;
			}
			__atomic_add_fetch(&sh->op_n[kind], 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&sh->op_ns[kind], now_ns() - t, __ATOMIC_RELAXED);
			if (fd < 0 && !reopen())
				_exit(4);
		}
		if (sh->stop || now_ns() > end_ns)
			break;
		if (min_calls) {
			int k;

			for (total = 0, k = 0; k < 64; k++)
				total += sh->calls[k];
			if (total >= min_calls)
				break;
		}
	}
	close_all();
	_exit(0);
}

int main(int argc, char **argv)
{
	int secs = 20, procs = 4, opt, i, bad_exit = 0, sfd;
	uint64_t seed = (uint64_t)time(NULL), min_calls = 0, total = 0, unexp = 0, base, used = 0, r0;
	const char *pci;
	pid_t pids[64];
	int64_t t0, end;

	while ((opt = getopt(argc, argv, "t:n:p:s:H")) != -1) {
		switch (opt) {
		case 't': secs = atoi(optarg); break;
		case 'n': min_calls = strtoull(optarg, NULL, 0); break;
		case 'p': procs = atoi(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'H': allow_hang = true; break;
		default:
			fprintf(stderr, "usage: %s [-t SECS] [-n MIN_CALLS] [-p PROCS] [-s SEED] [-H]\n",
				argv[0]);
			return 2;
		}
	}
	if (procs < 1 || procs > 64)
		procs = 4;
	setvbuf(stdout, NULL, _IOLBF, 0);
	pci = zk_pci_dir();
	if (!pci || !read_u64(pci, "hbm_used_bytes", &base) || !read_u64(pci, "reset_count", &r0)) {
		printf("Bail out! no zhikai device in sysfs\n");
		return 1;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	memset((void *)sh, 0, sizeof(*sh));
	diag("seed %" PRIu64 ", %d processes, uid %d, %d s%s", seed, procs, (int)getuid(), secs,
	     allow_hang ? ", hangs allowed" : "");
	t0 = now_ns();
	end = t0 + (int64_t)secs * 1000000000;
	for (i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			child(i, seed, end, min_calls);
	}
	for (i = 0; i < procs; i++) {
		int st;

		/* A child stuck in the kernel would hang us: bounded wait. */
		while (waitpid(pids[i], &st, WNOHANG) == 0) {
			if (now_ns() > end + 120 * 1000000000ll) {
				printf("# proc %d still running 120 s after the deadline\n", i);
				kill(pids[i], SIGKILL);
			}
			usleep(20000);
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			bad_exit++;
			printf("# proc %d: %s %d\n", i, WIFEXITED(st) ? "exit" : "signal",
			       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		}
	}
	for (i = 0; i < 64; i++) {
		total += sh->calls[i];
		unexp += sh->unexpected[i];
	}
	{
		static const char *const kinds[] = { "bo_create", "submit", "wait", "mmap",
						     "syncobj", "reopen", "generic" };

		for (i = 0; i < 7; i++)
			if (sh->op_n[i])
				diag("%-9s %8" PRIu64 " ops, %6.1f us each", kinds[i], sh->op_n[i],
				     sh->op_ns[i] / 1e3 / sh->op_n[i]);
	}
	{
		uint64_t r1 = 0;

		read_u64(pci, "reset_count", &r1);
		diag("resets during the run: %" PRIu64, r1 - r0);
	}
	ok(!bad_exit, "fuzz: %d processes ran and exited cleanly", procs);
	ok(!min_calls || total >= min_calls,
	   "fuzz: %" PRIu64 " calls in %.1f s (%.0f/s)%s", total, (now_ns() - t0) / 1e9,
	   total / ((now_ns() - t0) / 1e9), min_calls ? " (minimum reached)" : "");
	ok(!unexp, "fuzz: valid control calls all behaved (%" PRIu64 " unexpected)", unexp);
	/* Closing files frees everything, perhaps after in-flight jobs end. */
	for (i = 0; i < 300; i++) {
		if (read_u64(pci, "hbm_used_bytes", &used) && used == base)
			break;
		usleep(50000);
	}
	ok(used == base, "fuzz: hbm_used_bytes back to its baseline (%" PRIu64 " vs %" PRIu64 ")", used,
	   base);
	sfd = zk_open_node(NULL, 0);
	{
		struct tbo src, hbm, dst;
		struct tcmds c;
		uint32_t st = ~0u, k;
		bool good = false;

		if (sfd >= 0 && !tbo_new(sfd, 65536, DRM_ZHIKAI_BO_HOST, &src) &&
		    !tbo_new(sfd, 65536, DRM_ZHIKAI_BO_HBM, &hbm) &&
		    !tbo_new(sfd, 65536, DRM_ZHIKAI_BO_HOST, &dst) && !cmds_new(sfd, &c)) {
			for (k = 0; k < 65536 / 4; k++)
				((uint32_t *)src.map)[k] = k ^ 0xdeadbeef;
			cmd_dma(&c, hbm.va, src.va, 65536, 0);
			cmd_dma(&c, dst.va, hbm.va, 65536, 0);
			good = !run_cmds(sfd, 0, &c, &st) && st == 0 &&
			       !memcmp(src.map, dst.map, 65536);
		}
		ok(good, "fuzz: the device passes a DMA round trip afterwards");
		if (sfd >= 0)
			close(sfd);
	}
	return tap_done();
}
