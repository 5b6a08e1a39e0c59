// SPDX-License-Identifier: MIT
/*
 * zk_stress (built as test_stress) - many small jobs through every queue.
 *
 * NJOBS (default 10,000) FENCE jobs, each on a pseudo-randomly chosen queue
 * (every queue gets some), submitted in batches of DRM_ZHIKAI_MAX_JOBS.  Job k
 * of queue q writes ((q + 1) << 32 | k) into queue q's 8-byte slot: even
 * queues' slots are in a host BO, odd queues' in an HBM BO.  The first job of
 * each queue in batch b starts with a WAIT for a host "gate" word >= b + 1,
 * so the whole batch is held until the CPU opens the gate.  Checks:
 *   - every SUBMIT succeeds and seqnos strictly increase in submission order;
 *   - while the gate is closed no job of the batch is complete and no slot
 *     has moved (jobs behind a blocked job of their queue do not finish);
 *   - after opening, one sample job per queue (its last in the batch) is
 *     WAITed for; once it is done, a WAIT with a deadline in the past (never
 *     blocks) on every earlier job of that queue not yet checked must report
 *     it complete, and the slot must hold at least the sample's value (never
 *     more than the queue's last value): completion is in order per queue;
 *   - the last job of every queue completes OK and each slot ends at its
 *     queue's last value;
 *   - every job's status is OK.
 * Statuses are collected batch by batch: the driver keeps only the last
 * ZK_JOB_WINDOW (4096) job records per context, so the first jobs of a
 * 10,000-job stream can no longer be WAITed for at the end.
 *
 * usage: test_stress [NJOBS [SEED]]    TAP on stdout
 */
#include "zk_vmtest.h"

#define NJOBS_DEFAULT	10000
#define SAMPLE_MS	20000
#define GATE_OFF	2048	/* in the host BO, after the slots */

static int fd;
static uint32_t nq;

struct stress {
	uint32_t n;			/* jobs */
	struct drm_zhikai_job *jobs;
	uint32_t *jq;			/* queue of job i */
	uint64_t *jval;			/* value job i's FENCE writes */
	uint32_t *qcount;		/* jobs per queue */
	uint32_t **qjobs;		/* per queue: job indices, in order */
	uint32_t *qdone;		/* per queue: jobs checked so far */
	volatile uint64_t *slot[ZK_MAX_QUEUES];
	/* results */
	uint32_t status_ok, status_bad, not_done, wait_err, samples, pending;
	uint32_t slot_bad;
	bool broken;			/* a sample WAIT failed: stop */
};

static uint64_t rng_state;

static uint32_t rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

/* WAIT with a deadline already passed: never blocks. */
static int wait_now(uint64_t seqno, uint32_t *status)
{
	struct drm_zhikai_wait w = { .seqno = seqno, .timeout_ns = 0 };
	int ret = zk_ioctl(fd, DRM_IOCTL_ZHIKAI_WAIT, &w);

	if (!ret)
		*status = w.status;
	return ret;
}

static void count_status(struct stress *s, uint32_t i, int ret, uint32_t st)
{
	if (!ret && st == DRM_ZHIKAI_JOB_OK) {
		s->status_ok++;
		return;
	}
	if (ret == -ETIME) {
		if (s->not_done++ < 5)
			diag("job %u (queue %u seqno %" PRIu64 ") not complete although a "
			     "later job of its queue is", i, s->jq[i], (uint64_t)s->jobs[i].seqno);
	} else if (ret) {
		if (s->wait_err++ < 5)
			diag("WAIT job %u (seqno %" PRIu64 "): %d", i,
			     (uint64_t)s->jobs[i].seqno, ret);
	} else if (s->status_bad++ < 5) {
		diag("job %u (queue %u seqno %" PRIu64 ") status %u", i, s->jq[i],
		     (uint64_t)s->jobs[i].seqno, st);
	}
}

/*
 * Check the jobs with index < limit on queue q: block on the last of them,
 * then every earlier unchecked one must already be complete.
 */
static void check_queue(struct stress *s, uint32_t q, uint32_t limit, bool last)
{
	uint32_t lo = s->qdone[q], hi = lo, p, st = ~0u, i;
	uint64_t v, maxv;
	int ret;

	while (hi < s->qcount[q] && s->qjobs[q][hi] < limit)
		hi++;
	if (hi == lo)
		return;
	i = s->qjobs[q][hi - 1];
	if (wait_now(s->jobs[i].seqno, &st) == -ETIME)
		s->pending++;	/* still running: the WAIT below blocks */
	ret = wait_seqno(fd, s->jobs[i].seqno, SAMPLE_MS, &st);
	if (ret) {
		diag("%s job %u of queue %u (seqno %" PRIu64 "): WAIT %d",
		     last ? "last" : "sample", i, q, (uint64_t)s->jobs[i].seqno, ret);
		s->broken = true;
	}
	/* Its FENCE ran before its JOB_END: the slot is at least its value. */
	v = *s->slot[q];
	maxv = s->jval[s->qjobs[q][s->qcount[q] - 1]];
	if (!ret && (v < s->jval[i] || v > maxv)) {
		if (s->slot_bad++ < 5)
			diag("queue %u slot 0x%" PRIx64 " when job %u (0x%" PRIx64
			     ") completed", q, v, i, s->jval[i]);
	}
	s->samples++;
	if (ret) {
		s->wait_err++;
		return;		/* earlier jobs may legitimately be pending */
	}
	count_status(s, i, ret, st);
	for (p = lo; p + 1 < hi; p++) {
		uint32_t j = s->qjobs[q][p];

		st = ~0u;
		ret = wait_now(s->jobs[j].seqno, &st);
		count_status(s, j, ret, st);
	}
	s->qdone[q] = hi;
}

static void check_upto(struct stress *s, uint32_t limit, bool last)
{
	uint32_t q;

	for (q = 0; q < nq && !s->broken; q++)
		check_queue(s, q, limit, last);
}

int main(int argc, char **argv)
{
	struct stress s = { 0 };
	struct tbo cmd, host, hbm;
	uint32_t i, q, start, nbatch = 0, bad_seq = 0;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x5eed2a1c;
	int64_t t0, t_sub = 0, t_end;
	bool all_submitted = true, slots_ok = true, seq_consec = true, lasts_ok = true;
	uint32_t qbatch[ZK_MAX_QUEUES] = { 0 }, qgated = 0, gated = 0, early = 0, early_slot = 0;
	volatile uint64_t *gate;
	int ret = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	s.n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : NJOBS_DEFAULT;
	if (!s.n)
		s.n = NJOBS_DEFAULT;
	rng_state = seed ? seed : 1;
	fd = zk_open_or_die();
	nq = (uint32_t)zk_param(fd, DRM_ZHIKAI_PARAM_NUM_QUEUES);
	if (!nq || nq > ZK_MAX_QUEUES) {
		ok(false, "NUM_QUEUES sane (%u)", nq);
		return tap_done();
	}
	diag("%u FENCE jobs over %u queues, seed 0x%" PRIx64, s.n, nq, seed);

	s.jobs = calloc(s.n, sizeof(*s.jobs));
	s.jq = calloc(s.n, sizeof(*s.jq));
	s.jval = calloc(s.n, sizeof(*s.jval));
	s.qcount = calloc(nq, sizeof(*s.qcount));
	s.qdone = calloc(nq, sizeof(*s.qdone));
	s.qjobs = calloc(nq, sizeof(*s.qjobs));
	if (!s.jobs || !s.jq || !s.jval || !s.qcount || !s.qdone || !s.qjobs) {
		printf("Bail out! out of memory\n");
		return 1;
	}
	/* Two command slots per job: [WAIT gate, FENCE]; ungated jobs use the FENCE only. */
	if (tbo_new(fd, (uint64_t)s.n * 2 * ZK_CMD_SIZE, DRM_ZHIKAI_BO_HOST, &cmd) ||
	    tbo_new(fd, 4096, DRM_ZHIKAI_BO_HOST, &host) ||
	    tbo_new(fd, 4096, DRM_ZHIKAI_BO_HBM, &hbm)) {
		ok(false, "create the command BO and the host and HBM slot BOs");
		return tap_done();
	}
	memset(cmd.map, 0, cmd.size);
	memset(host.map, 0, host.size);
	memset(hbm.map, 0, hbm.size);
	gate = (volatile uint64_t *)((char *)host.map + GATE_OFF);

	/*
	 * Queues: the first nq jobs cover every queue, the rest at random.  The
	 * first job of each queue in batch b waits for gate >= b + 1 first.
	 */
	for (i = 0; i < s.n; i++) {
		uint32_t b = i / DRM_ZHIKAI_MAX_JOBS;
		struct zk_cmd_wait *w = (void *)((char *)cmd.map + (size_t)i * 2 * ZK_CMD_SIZE);
		struct zk_cmd_fence *f = (void *)(w + 1);
		struct tbo *sb;

		q = i < nq ? i : rng() % nq;
		s.jq[i] = q;
		s.jval[i] = ((uint64_t)(q + 1) << 32) | ++s.qcount[q];
		sb = q & 1 ? &hbm : &host;
		w->hdr.opcode = ZK_CMD_WAIT;
		w->addr = host.va + GATE_OFF;
		w->value = b + 1;
		f->hdr.opcode = ZK_CMD_FENCE;
		f->addr = sb->va + q * 8;
		f->value = s.jval[i];
		s.jobs[i].queue = q;
		s.jobs[i].cmd_handle = cmd.handle;
		if (!(qgated & (1u << q)) || qbatch[q] != b) {
			qgated |= 1u << q;
			qbatch[q] = b;
			s.jobs[i].cmd_offset = i * 2 * ZK_CMD_SIZE;
			s.jobs[i].cmd_size = 2 * ZK_CMD_SIZE;
		} else {
			s.jobs[i].cmd_offset = (i * 2 + 1) * ZK_CMD_SIZE;
			s.jobs[i].cmd_size = ZK_CMD_SIZE;
		}
	}
	for (q = 0; q < nq; q++) {
		s.slot[q] = (volatile uint64_t *)((char *)(q & 1 ? hbm.map : host.map) + q * 8);
		s.qjobs[q] = calloc(s.qcount[q] ? s.qcount[q] : 1, sizeof(uint32_t));
		if (!s.qjobs[q]) {
			printf("Bail out! out of memory\n");
			return 1;
		}
		s.qcount[q] = 0;
	}
	for (i = 0; i < s.n; i++)
		s.qjobs[s.jq[i]][s.qcount[s.jq[i]]++] = i;

	t0 = now_ns();
	for (start = 0; start < s.n && !s.broken; nbatch++) {
		uint32_t n = s.n - start < DRM_ZHIKAI_MAX_JOBS ? s.n - start
							       : DRM_ZHIKAI_MAX_JOBS;
		int64_t t = now_ns();

		ret = submit_jobs(fd, &s.jobs[start], n);
		t_sub += now_ns() - t;
		if (ret) {
			diag("SUBMIT of jobs %u..%u: %d", start, start + n - 1, ret);
			all_submitted = false;
			break;
		}
		for (i = start; i < start + n; i++) {
			if (i && s.jobs[i].seqno <= s.jobs[i - 1].seqno && bad_seq++ < 5)
				diag("job %u seqno %" PRIu64 " after %" PRIu64, i,
				     (uint64_t)s.jobs[i].seqno, (uint64_t)s.jobs[i - 1].seqno);
			if (i && s.jobs[i].seqno != s.jobs[i - 1].seqno + 1)
				seq_consec = false;
		}
		/*
		 * Gate closed: every job of the batch is queued behind its queue's
		 * blocked WAIT, so none may be complete and no slot may have moved
		 * past the previous batch (checked in full before this one).
		 */
		for (i = start; i < start + n; i++) {
			uint32_t st;

			gated++;
			if (wait_now(s.jobs[i].seqno, &st) != -ETIME && early++ < 5)
				diag("job %u (queue %u) complete while its queue is held by an "
				     "earlier job's WAIT", i, s.jq[i]);
		}
		for (q = 0; q < nq; q++) {
			uint32_t d = s.qdone[q];
			uint64_t want = d ? s.jval[s.qjobs[q][d - 1]] : 0;

			if (*s.slot[q] != want && early_slot++ < 5)
				diag("queue %u slot 0x%" PRIx64 " moved to 0x%" PRIx64
				     " while held", q, want, *s.slot[q]);
		}
		__sync_synchronize();
		*gate = nbatch + 1;	/* open: the device polls it */
		check_upto(&s, start + n, false);
		start += n;
	}
	ok(all_submitted && !s.broken,
	   "%u FENCE jobs submitted over %u queues in %u SUBMITs of up to %u jobs",
	   start, nq, nbatch, DRM_ZHIKAI_MAX_JOBS);
	ok(start && !bad_seq, "seqnos strictly increase in submission order (%" PRIu64
	   "..%" PRIu64 "%s)", start ? (uint64_t)s.jobs[0].seqno : 0,
	   start ? (uint64_t)s.jobs[start - 1].seqno : 0, seq_consec ? ", consecutive" : "");

	/* Wait for the last job of every queue, then check the rest. */
	for (q = 0; q < nq && !s.broken; q++)
		check_queue(&s, q, start, true);
	t_end = now_ns();
	for (q = 0; q < nq; q++) {
		uint64_t want = s.qcount[q] ? s.jval[s.qjobs[q][s.qcount[q] - 1]] : 0;

		if (*s.slot[q] != want) {
			slots_ok = false;
			diag("queue %u (%s BO) slot 0x%" PRIx64 ", want 0x%" PRIx64, q,
			     q & 1 ? "HBM" : "host", *s.slot[q], want);
		}
	}
	for (q = 0; q < nq; q++)
		if (s.qdone[q] != s.qcount[q])
			lasts_ok = false;
	ok(lasts_ok && all_submitted && !s.broken,
	   "the last job of each of the %u queues completes", nq);
	ok(slots_ok && start == s.n,
	   "every queue's slot (host BO: even queues, HBM BO: odd) holds its last value");
	ok(s.status_ok == s.n && !s.status_bad && !s.wait_err,
	   "every job completed with status OK (%u of %u; %u bad status, %u WAIT errors)",
	   s.status_ok, s.n, s.status_bad, s.wait_err);
	ok(!s.not_done && s.samples >= nq && start == s.n,
	   "in-order completion per queue: %u sampled WAITs, every earlier job of the "
	   "sample's queue already complete (%u were not)", s.samples, s.not_done);
	ok(!early && !early_slot && gated == start && start,
	   "no job completes, no slot moves while its queue is held by an earlier job's "
	   "WAIT (%u jobs checked, %u completed early, %u slots moved)", gated, early,
	   early_slot);
	ok(!s.slot_bad && s.samples,
	   "a completed sample's queue slot holds >= its value and <= the queue's last");
	for (q = 0; q < nq; q++)
		diag("queue %u: %u jobs", q, s.qcount[q]);
	diag("%u of the %u samples were still running when WAITed for", s.pending, s.samples);
	diag("run: %.2f s for %u jobs (%.0f jobs/s), %.2f s of it in SUBMIT",
	     (t_end - t0) / 1e9, start, start / ((t_end - t0) / 1e9 + 1e-9), t_sub / 1e9);

	tbo_free(fd, &hbm);
	tbo_free(fd, &host);
	tbo_free(fd, &cmd);
	close(fd);
	return tap_done();
}
