// SPDX-License-Identifier: MIT
/*
 * zk_jobs - job submission: DMA through jobs, FENCE ordering across
 * queues, WAIT timeouts, faults, command validation, batched submit,
 * syncobjs and WAIT_BO.
 */
#include "zk_vmtest.h"

static int fd;
static uint32_t nq;

static bool all_u32(const void *p, uint64_t bytes, uint32_t v)
{
	const uint32_t *w = p;
	uint64_t i;

	for (i = 0; i < bytes / 4; i++)
		if (w[i] != v)
			return false;
	return true;
}

static void test_dma(void)
{
	struct tbo src, hbm, dst;
	struct tcmds c;
	uint32_t status = ~0u, *s;
	uint64_t i, n = 256 * 1024;
	int ret;

	if (tbo_new(fd, n, DRM_ZHIKAI_BO_HOST, &src) ||
	    tbo_new(fd, n, DRM_ZHIKAI_BO_HBM, &hbm) ||
	    tbo_new(fd, n, DRM_ZHIKAI_BO_HOST, &dst) || cmds_new(fd, &c)) {
		ok(false, "DMA setup");
		return;
	}
	s = src.map;
	for (i = 0; i < n / 4; i++)
		s[i] = (uint32_t)(i * 0x9e3779b9u);
	memset(dst.map, 0, n);

	cmd_dma(&c, hbm.va, src.va, n, 0);
	cmd_dma(&c, dst.va, hbm.va, n, 0);
	ret = run_cmds(fd, 0, &c, &status);
	ok(!ret && status == DRM_ZHIKAI_JOB_OK,
	   "host -> HBM -> host DMA job completes OK (ret %d status %u)", ret, status);
	ok(!memcmp(src.map, dst.map, n), "DMA copy round trip matches");
	ok(!memcmp(src.map, hbm.map, n), "HBM BO (through the BAR) holds the data");

	cmds_reset(&c);
	cmd_dma(&c, hbm.va + 4096, 0xcafef00d, 8192, ZK_DMA_F_FILL);
	ret = run_cmds(fd, nq > 1 ? 1 : 0, &c, &status);
	ok(!ret && status == DRM_ZHIKAI_JOB_OK &&
	   all_u32((char *)hbm.map + 4096, 8192, 0xcafef00d) &&
	   ((uint32_t *)hbm.map)[1023] == s[1023],
	   "DMA fill writes exactly its range");

	tbo_free(fd, &c.bo);
	tbo_free(fd, &dst);
	tbo_free(fd, &hbm);
	tbo_free(fd, &src);
}

#define NJOBS 8

static void test_fence_order(void)
{
	struct tbo flags;
	struct tcmds c;
	struct drm_zhikai_job jobs[ZK_MAX_QUEUES * NJOBS];
	volatile uint64_t *slot;
	uint32_t q, i, n = 0, status;
	bool in_order = true, statuses = true;
	uint64_t last = 0;
	int ret;

	if (tbo_new(fd, 4096, DRM_ZHIKAI_BO_HOST, &flags) || cmds_new(fd, &c)) {
		ok(false, "fence setup");
		return;
	}
	slot = flags.map;
	memset(flags.map, 0, 4096);
	for (i = 0; i < NJOBS; i++)
		cmd_fence(&c, 0, i + 1);	/* addresses patched below */
	for (q = 0; q < nq; q++)
		for (i = 0; i < NJOBS; i++) {
			job_init(&jobs[n], q, &c, i, 1);
			n++;
		}
	/* One command per (queue, i): patch the address into a copy. */
	tbo_free(fd, &c.bo);
	if (tbo_new(fd, (uint64_t)n * ZK_CMD_SIZE + 4096, DRM_ZHIKAI_BO_HOST,
		    &c.bo)) {
		ok(false, "fence cmd BO");
		return;
	}
	c.n = 0;
	memset(c.bo.map, 0, c.bo.size);
	for (q = 0; q < nq; q++)
		for (i = 0; i < NJOBS; i++) {
			struct drm_zhikai_job *j = &jobs[q * NJOBS + i];

			cmd_fence(&c, flags.va + q * 8, i + 1);
			j->cmd_handle = c.bo.handle;
			j->cmd_offset = (q * NJOBS + i) * ZK_CMD_SIZE;
		}
	ret = submit_jobs(fd, jobs, n);
	ok(!ret, "batched submit of %u FENCE jobs over %u queues", n, nq);
	if (ret)
		goto out;
	for (i = 0; i < n; i++) {
		if (jobs[i].seqno != last + 1 && i)
			in_order = false;
		last = jobs[i].seqno;
	}
	ok(in_order, "seqnos are consecutive in submission order");
	for (q = 0; q < nq; q++)
		for (i = 0; i < NJOBS; i++) {
			ret = wait_seqno(fd, jobs[q * NJOBS + i].seqno, 10000,
					 &status);
			if (ret || status != DRM_ZHIKAI_JOB_OK)
				statuses = false;
			/* In-order completion on a queue. */
			if (slot[q] < i + 1)
				in_order = false;
		}
	ok(statuses, "all FENCE jobs complete OK");
	ok(in_order, "per-queue completion in order");
	for (q = 0, in_order = true; q < nq; q++)
		if (slot[q] != NJOBS)
			in_order = false;
	ok(in_order, "every queue's fence slot ends at %u", NJOBS);
out:
	tbo_free(fd, &c.bo);
	tbo_free(fd, &flags);
}

/* Queue 1 waits on a value queue 0 writes later; WAIT past deadline. */
static void test_cross_queue_and_etime(void)
{
	struct tbo mem;
	struct tcmds w, f;
	struct drm_zhikai_wait wt;
	volatile uint64_t *v;
	uint64_t s1, s2;
	uint32_t status = ~0u;
	int ret;

	if (nq < 2) {
		skip("cross-queue WAIT", "one queue");
		return;
	}
	if (tbo_new(fd, 4096, DRM_ZHIKAI_BO_HOST, &mem) || cmds_new(fd, &w) ||
	    cmds_new(fd, &f)) {
		ok(false, "cross-queue setup");
		return;
	}
	v = mem.map;
	v[0] = 0;
	v[1] = 0;
	cmd_wait(&w, mem.va, 1);
	cmd_fence(&w, mem.va + 8, 2);
	ret = submit_cmds(fd, 1, &w, &s1);
	ok(!ret, "submit a job waiting on memory");

	memset(&wt, 0, sizeof(wt));
	wt.seqno = s1;
	wt.timeout_ns = now_ns() - 1000;
	ret = zk_ioctl(fd, DRM_IOCTL_ZHIKAI_WAIT, &wt);
	ok(ret == -ETIME, "WAIT with a past deadline on a running job -> ETIME (%d)", ret);
	ret = wait_seqno(fd, s1, 50, &status);
	ok(ret == -ETIME, "WAIT with a 50 ms deadline -> ETIME (%d)", ret);
	ok(v[1] == 0, "blocked job has not passed its WAIT");

	cmd_fence(&f, mem.va, 1);
	ret = submit_cmds(fd, 0, &f, &s2);
	ok(!ret && s2 == s1 + 1, "release from queue 0");
	ret = wait_seqno(fd, s1, 10000, &status);
	ok(!ret && status == DRM_ZHIKAI_JOB_OK && v[1] == 2,
	   "waiting job completes after the other queue's FENCE");
	wt.timeout_ns = 0;
	ret = zk_ioctl(fd, DRM_IOCTL_ZHIKAI_WAIT, &wt);
	ok(ret == 0 && wt.status == DRM_ZHIKAI_JOB_OK,
	   "WAIT with a past deadline on a finished job returns its status");
	wt.seqno = s2 + 100;
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_WAIT, &wt) == -EINVAL,
	   "WAIT on a future seqno -> EINVAL");
	tbo_free(fd, &f.bo);
	tbo_free(fd, &w.bo);
	tbo_free(fd, &mem);
}

/* A job touching an unmapped VA faults; the jobs around it don't. */
static void test_fault(void)
{
	struct tbo a, b, cbuf, sg;
	struct tcmds c;
	struct drm_zhikai_job jobs[3];
	struct zk_dma_sg *e;
	uint32_t st[3] = { ~0u, ~0u, ~0u };
	int ret, i;

	if (tbo_new(fd, 16384, DRM_ZHIKAI_BO_HBM, &a) ||
	    tbo_new(fd, 16384, DRM_ZHIKAI_BO_HBM, &b) ||
	    tbo_new(fd, 16384, DRM_ZHIKAI_BO_HBM, &cbuf) ||
	    tbo_new(fd, 4096, DRM_ZHIKAI_BO_HOST, &sg) || cmds_new(fd, &c)) {
		ok(false, "fault setup");
		return;
	}
	e = sg.map;
	e[0] = (struct zk_dma_sg){ .src = 0x22222222, .dst = b.va, .size = 4096 };
	e[1] = (struct zk_dma_sg){ .src = 0x22222222, .dst = b.va + b.size, .size = 4096 };
	e[2] = (struct zk_dma_sg){ .src = 0x22222222, .dst = b.va + 8192, .size = 4096 };

	cmd_dma(&c, a.va, 0x11111111, a.size, ZK_DMA_F_FILL);		/* job 0 */
	cmd_dma(&c, 0, sg.va, 3, ZK_DMA_F_FILL | ZK_DMA_F_SGLIST);	/* job 1 */
	cmd_dma(&c, b.va + 12288, 0x44444444, 4096, ZK_DMA_F_FILL);	/*  skipped */
	cmd_dma(&c, cbuf.va, 0x33333333, cbuf.size, ZK_DMA_F_FILL);	/* job 2 */
	job_init(&jobs[0], 0, &c, 0, 1);
	job_init(&jobs[1], 0, &c, 1, 2);
	job_init(&jobs[2], 0, &c, 3, 1);
	ret = submit_jobs(fd, jobs, 3);
	ok(!ret, "submit ok / faulting (guard page) / ok jobs");
	if (ret)
		return;
	for (i = 0; i < 3; i++)
		wait_seqno(fd, jobs[i].seqno, 10000, &st[i]);
	ok(st[1] == DRM_ZHIKAI_JOB_FAULTED, "job touching an unmapped VA -> FAULTED (%u)", st[1]);
	ok(st[0] == DRM_ZHIKAI_JOB_OK && st[2] == DRM_ZHIKAI_JOB_OK,
	   "neighbouring jobs OK (%u, %u)", st[0], st[2]);
	ok(all_u32(a.map, a.size, 0x11111111) && all_u32(cbuf.map, cbuf.size, 0x33333333),
	   "neighbouring jobs' buffers written");
	ok(all_u32(b.map, 4096, 0x22222222), "faulting job's work before the fault done");
	ok(all_u32((char *)b.map + 8192, 8192, 0),
	   "faulting job's work after the fault skipped");
	tbo_free(fd, &c.bo);
	tbo_free(fd, &sg);
	tbo_free(fd, &cbuf);
	tbo_free(fd, &b);
	tbo_free(fd, &a);
}

static int submit_one_raw(struct tcmds *c, const void *cmd)
{
	cmds_reset(c);
	memcpy(cmds_next(c), cmd, ZK_CMD_SIZE);
	return submit_cmds(fd, 0, c, NULL);
}

static void test_validation(void)
{
	struct tbo mem;
	struct tcmds c;
	struct drm_zhikai_job j[2];
	struct drm_zhikai_submit s;
	uint8_t raw[ZK_CMD_SIZE];
	struct zk_cmd_dma *d = (void *)raw;
	struct zk_cmd_fence *f = (void *)raw;
	uint64_t s1, s2;
	uint32_t bad_handle = 0xbeef;
	int ret;

	if (tbo_new(fd, 8192, DRM_ZHIKAI_BO_HOST, &mem) || cmds_new(fd, &c)) {
		ok(false, "validation setup");
		return;
	}
	memset(mem.map, 0, mem.size);

	memset(raw, 0, sizeof(raw));
	raw[0] = ZK_CMD_SET_CONTEXT;
	ok(submit_one_raw(&c, raw) == -EINVAL, "user SET_CONTEXT -> EINVAL");
	raw[0] = ZK_CMD_JOB_END;
	ok(submit_one_raw(&c, raw) == -EINVAL, "user JOB_END -> EINVAL");
	raw[0] = ZK_CMD_COUNT;
	ok(submit_one_raw(&c, raw) == -EINVAL, "unknown opcode -> EINVAL");
	raw[0] = ZK_CMD_NOP;
	raw[40] = 1;
	ok(submit_one_raw(&c, raw) == -EINVAL, "NOP with non-zero padding -> EINVAL");
	raw[40] = 0;
	raw[2] = 1;
	ok(submit_one_raw(&c, raw) == -EINVAL, "non-zero header reserved -> EINVAL");
	raw[2] = 0;
	ok(submit_one_raw(&c, raw) == 0, "plain NOP accepted");

	memset(raw, 0, sizeof(raw));
	d->hdr.opcode = ZK_CMD_DMA;
	d->src = mem.va;
	d->dst = mem.va + 4096;
	d->size = 4096;
	ok(submit_one_raw(&c, raw) == 0, "DMA inside one BO accepted");
	d->size = 8192;
	ok(submit_one_raw(&c, raw) == -ERANGE, "DMA running past the BO end -> ERANGE");
	d->size = 4096;
	d->dst = 0x10000;
	ok(submit_one_raw(&c, raw) == -ERANGE, "DMA to an unmapped VA -> ERANGE");
	d->dst = mem.va;
	d->hdr.flags = 0x80;
	ok(submit_one_raw(&c, raw) == -EINVAL, "DMA unknown flag -> EINVAL");
	d->hdr.flags = 0;
	d->pad[3] = 1;
	ok(submit_one_raw(&c, raw) == -EINVAL, "DMA non-zero pad -> EINVAL");

	memset(raw, 0, sizeof(raw));
	f->hdr.opcode = ZK_CMD_FENCE;
	f->addr = mem.va + 4;
	ok(submit_one_raw(&c, raw) == -EINVAL, "misaligned FENCE address -> EINVAL");
	f->addr = mem.va + mem.size - 8;
	ok(submit_one_raw(&c, raw) == 0, "FENCE at the BO's last 8 bytes accepted");

	/* Job / submit fields. */
	cmds_reset(&c);
	cmd_fence(&c, mem.va, 7);
	job_init(&j[0], nq, &c, 0, 1);
	ok(submit_jobs(fd, j, 1) == -EINVAL, "queue >= NUM_QUEUES -> EINVAL");
	job_init(&j[0], 0, &c, 0, 1);
	j[0].flags = 1;
	ok(submit_jobs(fd, j, 1) == -EINVAL, "job flags -> EINVAL");
	job_init(&j[0], 0, &c, 0, 0);
	ok(submit_jobs(fd, j, 1) == -EINVAL, "cmd_size 0 -> EINVAL");
	job_init(&j[0], 0, &c, 0, 1);
	j[0].cmd_size = 32;
	ok(submit_jobs(fd, j, 1) == -EINVAL, "cmd_size not a multiple of 64 -> EINVAL");
	job_init(&j[0], 0, &c, 64, 1);
	ok(submit_jobs(fd, j, 1) == -EINVAL, "commands beyond the BO -> EINVAL");
	job_init(&j[0], 0, &c, 0, 1);
	j[0].cmd_handle = 0xbeef;
	ok(submit_jobs(fd, j, 1) == -ENOENT, "unknown command BO -> ENOENT");
	job_init(&j[0], 0, &c, 0, 1);
	j[0].bo_count = 1;
	j[0].bo_handles = (uintptr_t)&bad_handle;
	ok(submit_jobs(fd, j, 1) == -ENOENT, "unknown BO in bo_handles -> ENOENT");
	j[0].bo_count = 100000;
	ok(submit_jobs(fd, j, 1) == -EINVAL, "bo_count above the maximum -> EINVAL");
	job_init(&j[0], 0, &c, 0, 1);
	j[0].in_point = 3;
	ok(submit_jobs(fd, j, 1) == -EINVAL, "in_point without in_syncobj -> EINVAL");
	job_init(&j[0], 0, &c, 0, 1);
	j[0].in_syncobj = 0xbeef;
	ok(submit_jobs(fd, j, 1) == -ENOENT, "unknown in_syncobj -> ENOENT");

	job_init(&j[0], 0, &c, 0, 1);
	memset(&s, 0, sizeof(s));
	s.jobs = (uintptr_t)j;
	s.job_count = 1;
	s.job_stride = sizeof(j[0]) - 8;
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_SUBMIT, &s) == -EINVAL, "wrong job_stride -> EINVAL");
	s.job_stride = sizeof(j[0]);
	s.job_count = DRM_ZHIKAI_MAX_JOBS + 1;
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_SUBMIT, &s) == -EINVAL, "too many jobs -> EINVAL");
	s.job_count = 1;
	s.reserved = 1;
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_SUBMIT, &s) == -EINVAL, "submit reserved -> EINVAL");
	s.reserved = 0;
	s.flags = 1;
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_SUBMIT, &s) == -EINVAL, "submit flags -> EINVAL");
	s.flags = 0;
	s.jobs = 8;
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_SUBMIT, &s) == -EFAULT, "bad jobs pointer -> EFAULT");

	/* All or nothing: a valid job followed by a bad one runs neither. */
	ret = submit_cmds(fd, 0, &c, &s1);
	wait_seqno(fd, s1, 10000, NULL);
	((volatile uint64_t *)mem.map)[0] = 0;
	cmds_reset(&c);
	cmd_fence(&c, mem.va, 9);
	cmd_raw(&c, ZK_CMD_JOB_END);
	job_init(&j[0], 0, &c, 0, 1);
	job_init(&j[1], 0, &c, 1, 1);
	ok(submit_jobs(fd, j, 2) == -EINVAL, "batch with one bad job -> EINVAL");
	usleep(50000);
	ok(((volatile uint64_t *)mem.map)[0] == 0, "the valid job of the batch did not run");
	job_init(&j[0], 0, &c, 0, 1);
	ret = submit_jobs(fd, j, 1);
	s2 = j[0].seqno;
	wait_seqno(fd, s2, 10000, NULL);
	ok(!ret && s2 == s1 + 1, "failed batch consumed no seqnos (%" PRIu64 " after %" PRIu64 ")",
	   s2, s1);
	tbo_free(fd, &c.bo);
	tbo_free(fd, &mem);
}

static void test_syncobj(void)
{
	struct tbo mem;
	struct tcmds c;
	struct drm_zhikai_job j;
	struct drm_zhikai_wait w;
	volatile uint64_t *v;
	uint32_t bin = 0, tl = 0, status;
	uint64_t point = 5, s_block, s_dep;
	int ret;

	if (drmSyncobjCreate(fd, 0, &bin) || drmSyncobjCreate(fd, 0, &tl) ||
	    tbo_new(fd, 4096, DRM_ZHIKAI_BO_HOST, &mem) || cmds_new(fd, &c)) {
		ok(false, "syncobj setup");
		return;
	}
	v = mem.map;
	memset(mem.map, 0, 4096);

	/* Blocked job on queue 0 signals a binary syncobj. */
	cmd_wait(&c, mem.va, 1);			/* 0 */
	cmd_fence(&c, mem.va + 16, 5);			/* 1: dependent job */
	cmd_fence(&c, mem.va, 1);			/* 2: release */
	job_init(&j, 0, &c, 0, 1);
	j.out_syncobj = bin;
	ok(!submit_jobs(fd, &j, 1), "job with out_syncobj (binary)");
	s_block = j.seqno;
	job_init(&j, nq > 1 ? 1 : 0, &c, 1, 1);
	j.in_syncobj = bin;
	j.out_syncobj = tl;
	j.out_point = point;
	ok(!submit_jobs(fd, &j, 1), "job with in_syncobj and a timeline out point");
	s_dep = j.seqno;
	usleep(100000);
	ok(v[2] == 0, "dependent job held back by its in-syncobj");
	ok(drmSyncobjWait(fd, &bin, 1, 0, 0, NULL) == -ETIME,
	   "binary syncobj not signalled yet");

	if (nq > 1) {
		job_init(&j, 2 % nq, &c, 2, 1);
		ret = submit_jobs(fd, &j, 1);
	} else {
		v[0] = 1;	/* one queue: release from the CPU */
		ret = 0;
	}
	ok(!ret, "release submitted");
	ok(!wait_seqno(fd, s_dep, 10000, &status) && status == 0 && v[2] == 5,
	   "dependent job ran after its dependency");
	ok(!wait_seqno(fd, s_block, 10000, &status),
	   "blocked job done");
	ok(drmSyncobjWait(fd, &bin, 1, INT64_MAX, 0, NULL) == 0,
	   "binary out-syncobj signalled");
	ok(drmSyncobjTimelineWait(fd, &tl, &point, 1, INT64_MAX, 0, NULL) == 0,
	   "timeline out-syncobj point %" PRIu64 " signalled", point);

	/* Timeline in-point. */
	job_init(&j, 0, &c, 1, 1);
	j.in_syncobj = tl;
	j.in_point = point;
	v[2] = 0;
	ok(!submit_jobs(fd, &j, 1) && !wait_seqno(fd, j.seqno, 10000, &status) &&
	   v[2] == 5, "job waiting on a signalled timeline point runs");

	/* WAIT_BO */
	memset(&w, 0, sizeof(w));
	w.flags = DRM_ZHIKAI_WAIT_BO;
	w.handle = mem.handle;
	w.timeout_ns = now_ns() + 10000000000ll;
	ret = zk_ioctl(fd, DRM_IOCTL_ZHIKAI_WAIT, &w);
	ok(!ret && w.status == DRM_ZHIKAI_JOB_OK, "WAIT_BO on a used BO (%d)", ret);
	w.handle = 0xbeef;
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_WAIT, &w) == -ENOENT, "WAIT_BO unknown handle -> ENOENT");
	w.flags = 0x10;
	ok(zk_ioctl(fd, DRM_IOCTL_ZHIKAI_WAIT, &w) == -EINVAL, "WAIT unknown flag -> EINVAL");

	drmSyncobjDestroy(fd, bin);
	drmSyncobjDestroy(fd, tl);
	tbo_free(fd, &c.bo);
	tbo_free(fd, &mem);
}

int main(void)
{
	fd = zk_open_or_die();
	nq = (uint32_t)zk_param(fd, DRM_ZHIKAI_PARAM_NUM_QUEUES);
	diag("%u queues", nq);
	test_dma();
	test_fence_order();
	test_cross_queue_and_etime();
	test_fault();
	test_validation();
	test_syncobj();
	close(fd);
	return tap_done();
}
