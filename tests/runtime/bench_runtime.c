/* SPDX-License-Identifier: MIT */
/*
 * bench_runtime.c - runtime overheads on the emulated card:
 *   - bare ioctl round trip (DRM_IOCTL_ZHIKAI_GET_PARAM)
 *   - null-kernel launch -> complete latency (one job per launch)
 *   - jobs/s single vs batched (many launches per job; many streams' jobs
 *     per SUBMIT)
 *   - H2D/D2H bandwidth for 64 MiB (pageable via staging, pinned direct)
 *     vs guest memcpy
 *   - the floor of the same VM: a bare ioctl round trip (GET_PARAM of a
 *     cached value) and a doorbell + MSI-X round trip (debugfs "ping": the
 *     driver writes NOP + JOB_END straight to a hardware ring, rings the
 *     doorbell and sleeps until the queue's interrupt signals it; needs root
 *     and debugfs, else reported as unavailable)
 *   - DMA bandwidth also against host memcpy (build/bench-llm-host.json,
 *     /zk/bench-llm-host.json in the guest) when that file exists
 * Prints a readable table with ratios, one "BENCH {json}" line per result
 * (tools/bench.sh collects them into build/bench.json) and TAP lines.
 * Built into build/bench/.  usage: bench_runtime [iterations [lat]]
 * ("lat": only the latency and floor, for quick A/B runs)
 */
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <zhikai/zhikai.h>
#include "zhikai_accel.h"
#include "zk_tap.h"
#include "zk_test_kernels.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The driver's debugfs "ping" file (doorbell + interrupt round trips), or -1. */
static int ping_open(void)
{
    const char *pats[] = { "/sys/kernel/debug/dri/*/ping", "/sys/kernel/debug/accel/*/ping" };
    unsigned int k;
    int fd = -1;
    for (k = 0; k < 2 && fd < 0; k++) {
        glob_t g;
        if (glob(pats[k], 0, NULL, &g) == 0) {
            fd = open(g.gl_pathv[0], O_WRONLY);
            globfree(&g);
        }
    }
    if (fd >= 0 && write(fd, "5", 1) != 1) {     /* warm-up / usable? */
        close(fd);
        fd = -1;
    }
    return fd;
}

/* n round trips in one write; us each, 0 on failure. */
static double ping_block_us(int fd, int n)
{
    char cmd[32];
    int len = snprintf(cmd, sizeof(cmd), "%d", n);
    double t = now_s();
    if (fd < 0 || write(fd, cmd, len) != len) {
        return 0;
    }
    return (now_s() - t) / n * 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double max_d(double a, double b)
{
    return a > b ? a : b;
}

/* "host memcpy (64 MiB)" GB/s from bench_llm_host's JSON, 0 if absent. */
static double host_memcpy_gbs(void)
{
    const char *paths[] = { "/zk/bench-llm-host.json", "build/bench-llm-host.json" };
    char buf[8192];
    unsigned int k;
    for (k = 0; k < 2; k++) {
        FILE *f = fopen(paths[k], "r");
        size_t n;
        char *p;
        if (!f) {
            continue;
        }
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        p = strstr(buf, "\"host memcpy (64 MiB)\"");
        if (p && (p = strstr(p, "\"value\":"))) {
            return atof(p + 8);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 200, i;
    zk_device dev;
    zk_device_properties p;
    zk_context ctx;
    zk_module m;
    zk_function knull;
    zk_stream s, ss[8];
    uint32_t grid[3] = {1, 1, 1};
    size_t len, big = 64u << 20;
    void *obj;
    double t, ioctl_us, ioctl_mmio_us, floor_us, floor_best_us, lat_best_us, host_gbs, lat_us, submit_us = 0, wait_us = 0, batched_per_s, multi_per_s, single_per_s;
    double memcpy_gbs, h2d_gbs, d2h_gbs, h2dp_gbs, d2hp_gbs;
    uint8_t *h1, *h2, *pin;
    zk_deviceptr d;
    int fd;

    setvbuf(stdout, NULL, _IOLBF, 0);
    MUST(zk_init(0));
    MUST(zk_device_get(&dev, 0));
    MUST(zk_device_get_properties(dev, &p));
    MUST(zk_ctx_create(&ctx, 0, dev));

    /* bare ioctl */
    fd = open(p.node, O_RDWR);
    if (fd < 0) {
        perror(p.node);
        return 1;
    }
    t = now_s();
    for (i = 0; i < iters * 5; i++) {
        struct drm_zhikai_get_param gp = {.param = DRM_ZHIKAI_PARAM_NUM_QUEUES};
        if (ioctl(fd, DRM_IOCTL_ZHIKAI_GET_PARAM, &gp) != 0) {
            perror("GET_PARAM");
            return 1;
        }
    }
    ioctl_us = (now_s() - t) / (iters * 5) * 1e6;
    /* the same with one device register read (MMIO exit to the device model) */
    t = now_s();
    for (i = 0; i < iters * 5; i++) {
        struct drm_zhikai_get_param gp = {.param = DRM_ZHIKAI_PARAM_TIMESTAMP_NS};
        if (ioctl(fd, DRM_IOCTL_ZHIKAI_GET_PARAM, &gp) != 0) {
            perror("GET_PARAM");
            return 1;
        }
    }
    ioctl_mmio_us = (now_s() - t) / (iters * 5) * 1e6;
    close(fd);
    host_gbs = host_memcpy_gbs();

    obj = zkt_test_module(&len);
    MUST(zk_module_load_data(&m, obj, len));
    free(obj);
    MUST(zk_module_get_function(&knull, m, "null"));
    MUST(zk_stream_create(&s, 0));

    /*
     * launch -> complete latency, one job per launch, and the doorbell+irq
     * floor, measured in short alternating blocks (8 each) so both see the
     * same load; the host is shared and noisy, so each reports the median
     * of its block means (and the best block, in the table).
     */
    MUST(zk_launch_kernel(knull, grid, NULL, 0, s));
    MUST(zk_stream_synchronize(s));
    {
        enum { PER = 8 };
        int blk, nb = iters / PER > 0 ? iters / PER : 1, pfd = ping_open();
        double *lb = calloc(nb, sizeof(*lb)), *fb = calloc(nb, sizeof(*fb));
        if (!lb || !fb) {
            return 1;
        }
        for (blk = 0; blk < nb; blk++) {
            fb[blk] = ping_block_us(pfd, PER);
            t = now_s();
            for (i = 0; i < PER; i++) {
                MUST(zk_launch_kernel(knull, grid, NULL, 0, s));
                MUST(zk_stream_synchronize(s));
            }
            lb[blk] = (now_s() - t) / PER * 1e6;
        }
        if (pfd >= 0) {
            close(pfd);
        }
        qsort(lb, nb, sizeof(*lb), cmp_d);
        qsort(fb, nb, sizeof(*fb), cmp_d);
        lat_us = lb[nb / 2];
        lat_best_us = lb[0];
        floor_us = fb[nb / 2];
        floor_best_us = fb[0];
        free(lb);
        free(fb);
    }
    single_per_s = 1e6 / lat_us;
    if (argc > 2 && !strcmp(argv[2], "lat")) {     /* quick A/B mode */
        printf("lat %.1f us floor %.1f us ratio %.2f (best: lat %.1f floor %.1f)\n", lat_us,
               floor_us, floor_us > 0 ? lat_us / floor_us : 0, lat_best_us, floor_best_us);
        return 0;
    }
    /* where the time goes: SUBMIT ioctl vs waiting for completion */
    {
        double ts = 0, tw = 0, t1;
        for (i = 0; i < iters; i++) {
            MUST(zk_launch_kernel(knull, grid, NULL, 0, s));
            t = now_s();
            MUST(zk_stream_flush(s));
            t1 = now_s();
            MUST(zk_stream_synchronize(s));
            ts += t1 - t;
            tw += now_s() - t1;
        }
        submit_us = ts / iters * 1e6;
        wait_us = tw / iters * 1e6;
    }

    /* batched: 64 launches per job (one SUBMIT), synchronize every 4 jobs */
    t = now_s();
    for (i = 0; i < iters; i++) {
        int k;
        for (k = 0; k < 64; k++) {
            MUST(zk_launch_kernel(knull, grid, NULL, 0, s));
        }
        MUST(zk_stream_flush(s));
        if (i % 4 == 3) {
            MUST(zk_stream_synchronize(s));
        }
    }
    MUST(zk_stream_synchronize(s));
    batched_per_s = iters * 64 / (now_s() - t);

    /* many streams: 8 jobs per SUBMIT via zk_ctx_synchronize */
    for (i = 0; i < 8; i++) {
        MUST(zk_stream_create(&ss[i], 0));
    }
    t = now_s();
    for (i = 0; i < iters / 4 + 1; i++) {
        int k;
        for (k = 0; k < 8; k++) {
            MUST(zk_launch_kernel(knull, grid, NULL, 0, ss[k]));
        }
        MUST(zk_ctx_synchronize());
    }
    multi_per_s = (iters / 4 + 1) * 8 / (now_s() - t);

    /* bandwidth */
    h1 = malloc(big);
    h2 = malloc(big);
    memset(h1, 1, big);
    memset(h2, 2, big);
    memcpy_gbs = 0;
    for (i = 0; i < 3; i++) {
        t = now_s();
        memcpy(h2, h1, big);
        memcpy_gbs = max_d(memcpy_gbs, big / (now_s() - t) / 1e9);
    }
    MUST(zk_mem_alloc(&d, big));
    MUST(zk_memcpy_htod(d, h1, big));              /* warm-up: staging pool */
    h2d_gbs = d2h_gbs = h2dp_gbs = d2hp_gbs = 0;
    for (i = 0; i < 3; i++) {           /* best of 3: shared host */
        t = now_s();
        MUST(zk_memcpy_htod(d, h1, big));
        h2d_gbs = max_d(h2d_gbs, big / (now_s() - t) / 1e9);
        t = now_s();
        MUST(zk_memcpy_dtoh(h2, d, big));
        d2h_gbs = max_d(d2h_gbs, big / (now_s() - t) / 1e9);
    }
    tap_result(memcmp(h1, h2, big) == 0, "64 MiB round trip is intact");
    MUST(zk_mem_alloc_host((void **)&pin, big));
    memset(pin, 3, big);
    for (i = 0; i < 3; i++) {
        t = now_s();
        MUST(zk_memcpy_htod(d, pin, big));
        h2dp_gbs = max_d(h2dp_gbs, big / (now_s() - t) / 1e9);
        t = now_s();
        MUST(zk_memcpy_dtoh(pin, d, big));
        d2hp_gbs = max_d(d2hp_gbs, big / (now_s() - t) / 1e9);
    }

    printf("# runtime benchmark on %s (%u queues)\n", p.name, p.num_queues);
    printf("bare_ioctl_get_param        %10.1f us   (with one MMIO read: %.1f us)\n", ioctl_us,
           ioctl_mmio_us);
    if (floor_us > 0) {
        printf("doorbell_irq_round_trip     %10.1f us   (median of blocks; best %.1f us; debugfs ping)\n",
               floor_us, floor_best_us);
    } else {
        printf("doorbell_irq_round_trip        n/a      (needs root + debugfs)\n");
    }
    printf("null_launch_to_complete     %10.1f us   (%.1fx a bare ioctl, %.2fx doorbell+irq; "
           "best block %.1f us)\n", lat_us, lat_us / ioctl_us, floor_us > 0 ? lat_us / floor_us : 0,
           lat_best_us);
    printf("  of which SUBMIT ioctl     %10.1f us, wait for completion %.1f us\n", submit_us,
           wait_us);
    printf("jobs_per_s_single           %10.0f /s\n", single_per_s);
    printf("launches_per_s_batched_64   %10.0f /s   (%.1fx single)\n", batched_per_s,
           batched_per_s / single_per_s);
    printf("jobs_per_s_8_streams_1_submit %8.0f /s   (%.1fx single)\n", multi_per_s,
           multi_per_s / single_per_s);
    printf("guest_memcpy_64MiB          %10.2f GB/s\n", memcpy_gbs);
    printf("h2d_pageable_64MiB          %10.2f GB/s  (%.2fx memcpy)\n", h2d_gbs,
           h2d_gbs / memcpy_gbs);
    printf("d2h_pageable_64MiB          %10.2f GB/s  (%.2fx memcpy)\n", d2h_gbs,
           d2h_gbs / memcpy_gbs);
    printf("h2d_pinned_64MiB            %10.2f GB/s  (%.2fx memcpy)\n", h2dp_gbs,
           h2dp_gbs / memcpy_gbs);
    printf("d2h_pinned_64MiB            %10.2f GB/s  (%.2fx memcpy)\n", d2hp_gbs,
           d2hp_gbs / memcpy_gbs);
    if (host_gbs > 0) {
        printf("host_memcpy_64MiB           %10.2f GB/s  (pinned H2D %.2fx, D2H %.2fx of it)\n",
               host_gbs, h2dp_gbs / host_gbs, d2hp_gbs / host_gbs);
    }
    /* The same results as "BENCH {json}" records for tools/bench.sh (make bench). */
    printf("BENCH {\"bench\": \"runtime\", \"metric\": \"null job round trip\", \"value\": %.3f, "
           "\"unit\": \"us\", \"baseline\": %.3f, \"baseline_name\": \"bare ioctl\", "
           "\"ratio\": %.4g}\n", lat_us, ioctl_us, lat_us / ioctl_us);
    printf("BENCH {\"bench\": \"runtime\", \"metric\": \"bare ioctl\", \"value\": %.3f, "
           "\"unit\": \"us\", \"baseline\": %.3f, \"baseline_name\": \"ioctl + 1 MMIO read\", "
           "\"ratio\": %.4g}\n", ioctl_us, ioctl_mmio_us, ioctl_us / ioctl_mmio_us);
    if (floor_us > 0) {
        printf("BENCH {\"bench\": \"runtime\", \"metric\": \"doorbell+irq round trip\", "
               "\"value\": %.3f, \"unit\": \"us\", \"baseline\": %.3f, \"baseline_name\": "
               "\"bare ioctl\", \"ratio\": %.4g}\n", floor_us, ioctl_us, floor_us / ioctl_us);
        printf("BENCH {\"bench\": \"runtime\", \"metric\": \"null job round trip vs floor\", "
               "\"value\": %.3f, \"unit\": \"us\", \"baseline\": %.3f, \"baseline_name\": "
               "\"doorbell+irq round trip\", \"ratio\": %.4g, \"target\": \"<= 2.0\"}\n",
               lat_us, floor_us, lat_us / floor_us);
    }
    printf("BENCH {\"bench\": \"runtime\", \"metric\": \"jobs/s single\", \"value\": %.0f, "
           "\"unit\": \"/s\"}\n", single_per_s);
    printf("BENCH {\"bench\": \"runtime\", \"metric\": \"launches/s batched 64/job\", "
           "\"value\": %.0f, \"unit\": \"/s\", \"baseline\": %.0f, \"baseline_name\": "
           "\"one job per launch\", \"ratio\": %.4g}\n", batched_per_s, single_per_s,
           batched_per_s / single_per_s);
    printf("BENCH {\"bench\": \"runtime\", \"metric\": \"jobs/s 8 streams 1 submit\", "
           "\"value\": %.0f, \"unit\": \"/s\", \"baseline\": %.0f, \"baseline_name\": "
           "\"one job per launch\", \"ratio\": %.4g}\n", multi_per_s, single_per_s,
           multi_per_s / single_per_s);
    {
        static const char *const names[4] = { "H2D pageable 64 MiB", "D2H pageable 64 MiB",
                                               "H2D pinned 64 MiB", "D2H pinned 64 MiB" };
        double v[4] = { h2d_gbs, d2h_gbs, h2dp_gbs, d2hp_gbs };
        for (i = 0; i < 4; i++) {
            printf("BENCH {\"bench\": \"runtime\", \"metric\": \"%s\", \"value\": %.3f, "
                   "\"unit\": \"GB/s\", \"baseline\": %.3f, \"baseline_name\": "
                   "\"guest memcpy\", \"ratio\": %.4g, \"target\": \">= 0.5 (host memcpy)\"}\n",
                   names[i], v[i], memcpy_gbs, v[i] / memcpy_gbs);
        }
        /* vs host memcpy: joined by tools/bench.sh from bench-llm-host.json */
    }
    tap_result(1, "benchmark completed");
    MUST(zk_mem_free_host(pin));
    MUST(zk_mem_free(d));
    MUST(zk_ctx_destroy(ctx));
    free(h1);
    free(h2);
    return tap_done();
}
