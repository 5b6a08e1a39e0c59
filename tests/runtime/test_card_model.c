/* SPDX-License-Identifier: MIT */
/*
 * test_card_model - in-VM test of the runtime's view of the card
 * performance model (docs/perf-model.md) through events (TAP):
 *   - zk_event_elapsed_card_time of a HBM->HBM copy of N bytes equals
 *     N / copy_bw + dma_setup_ns per DMA command, and of a pinned host ->
 *     HBM copy N / pcie_bw + dma_setup_ns (within 0.5% + 20 ns);
 *   - zk_event_elapsed_card_energy is > 0, monotonic over a growing span,
 *     additive, and its average power lies between idle and TDP.
 * The model parameters are read from the driver's sysfs perf/ group
 * (ZK_REG_PERF_*; /sys/bus/pci/drivers/zhikai/<dev>/perf/); without it the
 * documented zk100 profile constants are used (copy 800 GB/s, PCIe 25 GB/s,
 * DMA setup 1000 ns, idle 40 W, TDP 300 W) and the test says so.
 */
#include <glob.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zhikai/zhikai.h>
#include "zk_tap.h"

static char perf_dir[512];

/* Value of perf/NAME, or @dflt if the group is absent. */
static double perf(const char *name, double dflt)
{
    char p[600];
    unsigned long long v;
    FILE *f;
    int ok;
    if (!perf_dir[0]) {
        return dflt;
    }
    snprintf(p, sizeof(p), "%s/%s", perf_dir, name);
    if (!(f = fopen(p, "r"))) {
        return dflt;
    }
    ok = fscanf(f, "%llu", &v) == 1;
    fclose(f);
    return ok ? (double)v : dflt;
}

static void find_perf_dir(void)
{
    glob_t g;
    if (glob("/sys/bus/pci/drivers/zhikai/*/perf", 0, NULL, &g) == 0 && g.gl_pathc) {
        snprintf(perf_dir, sizeof(perf_dir), "%s", g.gl_pathv[0]);
    }
    globfree(&g);
}

typedef struct span {
    float host_ms, card_ms;
    double j;
    double dmas;
} span;

/* Card time / energy / DMA commands of one copy bracketed by two events. */
static int measure(zk_stream s, zk_event a, zk_event b, zk_deviceptr dst, zk_deviceptr src,
                   const void *hsrc, size_t n, span *out)
{
    double d0, d1;
    zk_status st;
    MUST(zk_stream_synchronize(s));
    d0 = perf("card_dmas", 0);
    MUST(zk_event_record(a, s));
    st = hsrc ? zk_memcpy_htod_async(dst, hsrc, n, s) : zk_memcpy_dtod_async(dst, src, n, s);
    if (st != ZK_SUCCESS) {
        return -1;
    }
    MUST(zk_event_record(b, s));
    MUST(zk_event_synchronize(b));
    d1 = perf("card_dmas", 0);
    out->dmas = perf_dir[0] ? d1 - d0 : 1;
    if (zk_event_elapsed_time(&out->host_ms, a, b) != ZK_SUCCESS ||
        zk_event_elapsed_card_time(&out->card_ms, a, b) != ZK_SUCCESS ||
        zk_event_elapsed_card_energy(&out->j, a, b) != ZK_SUCCESS) {
        return -1;
    }
    return 0;
}

int main(void)
{
    zk_device dev;
    zk_device_properties props;
    zk_context ctx;
    zk_stream s;
    zk_event ev[3];
    zk_deviceptr a, b;
    void *pinned;
    int n = 0;
    const size_t N = 64u << 20, NH = 16u << 20;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (zk_init(0) != ZK_SUCCESS || zk_device_count(&n) != ZK_SUCCESS || n < 1) {
        printf("1..0 # SKIP no zhikai device\n");
        return 0;
    }
    MUST(zk_device_get(&dev, 0));
    MUST(zk_device_get_properties(dev, &props));
    if (!(props.caps & ZK_DEVICE_CAP_PERF_MODEL)) {
        printf("1..0 # SKIP card has no performance model (caps 0x%x)\n", props.caps);
        return 0;
    }
    find_perf_dir();
    tap_result(perf_dir[0] != 0, "driver exposes the model in sysfs perf/ (%s)",
               perf_dir[0] ? perf_dir : "absent: using the documented zk100 constants");
    double copy_bw = perf("copy_bw_mbs", 800000) * 1e6, pcie_bw = perf("pcie_bw_mbs", 25000) * 1e6;
    double setup = perf("dma_setup_ns", 1000), idle = perf("idle_mw", 40000) / 1e3;
    double tdp = perf("tdp_mw", 300000) / 1e3;
    printf("# model: copy %.0f GB/s, PCIe %.0f GB/s, DMA setup %.0f ns, idle %.0f W, TDP %.0f W\n",
           copy_bw / 1e9, pcie_bw / 1e9, setup, idle, tdp);

    MUST(zk_ctx_create(&ctx, 0, dev));
    MUST(zk_stream_create(&s, 0));
    for (int i = 0; i < 3; i++) {
        MUST(zk_event_create(&ev[i], 0));
    }
    MUST(zk_mem_alloc(&a, N));
    MUST(zk_mem_alloc(&b, N));
    MUST(zk_mem_alloc_host(&pinned, NH));
    memset(pinned, 0x5a, NH);
    MUST(zk_memset_d32(a, 0x01020304u, N / 4));

    /* 1. HBM -> HBM: N / copy_bw + setup per DMA command. */
    span d;
    int r = measure(s, ev[0], ev[1], b, a, NULL, N, &d);
    double want = N / copy_bw * 1e3 + d.dmas * setup / 1e6;
    tap_result(r == 0 && fabs(d.card_ms - want) <= want * 0.005 + 2e-5,
               "dtod %zu MiB: card time %.4f ms = N/copy_bw + %.0f x setup = %.4f ms "
               "(host-measured %.3f ms)", N >> 20, d.card_ms, d.dmas, want, d.host_ms);
    tap_result(r == 0 && d.j > 0, "dtod card energy %.6f J > 0", d.j);
    double w = d.card_ms > 0 ? d.j / (d.card_ms / 1e3) : 0;
    tap_result(r == 0 && w >= idle * 0.999 && w <= tdp * 1.001,
               "dtod modelled power %.1f W within idle %.0f W .. TDP %.0f W", w, idle, tdp);

    /* 2. pinned host -> HBM: over PCIe. */
    span h;
    r = measure(s, ev[0], ev[1], a, 0, pinned, NH, &h);
    want = NH / pcie_bw * 1e3 + h.dmas * setup / 1e6;
    tap_result(r == 0 && fabs(h.card_ms - want) <= want * 0.005 + 2e-5,
               "htod pinned %zu MiB: card time %.4f ms = N/pcie_bw + %.0f x setup = %.4f ms "
               "(host-measured %.3f ms)", NH >> 20, h.card_ms, h.dmas, want, h.host_ms);

    /* 3. Energy is monotonic and additive over records. */
    double j01 = 0, j12 = 0, j02 = 0;
    float t01 = 0, t02 = 0;
    MUST(zk_event_record(ev[0], s));
    MUST(zk_memcpy_dtod_async(b, a, N, s));
    MUST(zk_event_record(ev[1], s));
    MUST(zk_memcpy_dtod_async(a, b, N, s));
    MUST(zk_event_record(ev[2], s));
    MUST(zk_event_synchronize(ev[2]));
    EXPECT_OK(zk_event_elapsed_card_energy(&j01, ev[0], ev[1]));
    EXPECT_OK(zk_event_elapsed_card_energy(&j12, ev[1], ev[2]));
    EXPECT_OK(zk_event_elapsed_card_energy(&j02, ev[0], ev[2]));
    EXPECT_OK(zk_event_elapsed_card_time(&t01, ev[0], ev[1]));
    EXPECT_OK(zk_event_elapsed_card_time(&t02, ev[0], ev[2]));
    tap_result(j01 > 0 && j02 > j01 && t02 > t01, "energy monotonic: %.6f J then %.6f J "
               "(card time %.4f then %.4f ms)", j01, j02, t01, t02);
    tap_result(fabs(j01 + j12 - j02) <= 2e-9, "energy additive: %.9f + %.9f = %.9f J", j01, j12,
               j02);
    {
        double z = -1;
        EXPECT_OK(zk_event_elapsed_card_energy(&z, ev[1], ev[1]));
        tap_result(z == 0, "energy of an empty span is 0 (%.9f J)", z);
    }
    EXPECT(zk_event_elapsed_card_energy(NULL, ev[0], ev[1]), ZK_ERROR_INVALID_VALUE);
    {
        zk_event nt;
        double z;
        MUST(zk_event_create(&nt, ZK_EVENT_DISABLE_TIMING));
        MUST(zk_event_record(nt, s));
        MUST(zk_event_synchronize(nt));
        EXPECT(zk_event_elapsed_card_energy(&z, ev[0], nt), ZK_ERROR_INVALID_VALUE);
        MUST(zk_event_destroy(nt));
    }

    for (int i = 0; i < 3; i++) {
        MUST(zk_event_destroy(ev[i]));
    }
    MUST(zk_mem_free_host(pinned));
    MUST(zk_mem_free(a));
    MUST(zk_mem_free(b));
    MUST(zk_stream_destroy(s));
    MUST(zk_ctx_destroy(ctx));
    return tap_done();
}
