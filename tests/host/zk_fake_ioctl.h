/* SPDX-License-Identifier: MIT */
/* zk_fake_ioctl.h - controls and counters of the fake driver (zk_fake_ioctl.c). */
#ifndef ZK_FAKE_IOCTL_H
#define ZK_FAKE_IOCTL_H

#include <stdint.h>
#include <stdio.h>

#include "zhikai_hw.h"
#include "zk_ioctl.h"

struct fake_state {
    /* configuration */
    int ndev;
    uint32_t num_queues;
    uint64_t hbm_size;
    uint32_t caps;
    int no_syncobj;
    int defer;                  /* jobs run only when waited for / fake_run() */
    int open_errno;
    int submit_errno;
    uint32_t fail_next_status;  /* next job ends with this ZKIO_JOB_* */
    /* counters */
    int opens, closes, maps;
    uint64_t hbm_used;
    int live_bos, live_syncobjs;
    uint64_t submits, bad_submits, jobs, waits, max_batch;
    uint64_t jobs_with_in_syncobj;
    uint32_t last_in_syncobj, last_out_syncobj;
    uint64_t cmds[16];          /* executed commands by opcode */
    uint64_t launches, dma_bytes;
    struct zk_cmd_launch last_launch;
    uint64_t last_args[16];
};
extern struct fake_state fake;

void fake_reset(void);
void fake_run(void);

#endif /* ZK_FAKE_IOCTL_H */
