/* SPDX-License-Identifier: MIT */
/*
 * cardperf.c - modelled real-card metrics of requests, and the card
 * model's counters / power cap as the driver exposes them in sysfs
 * (perf/ group of the PCI device, hwmon power1_cap).  See
 * docs/perf-model.md.
 */
#include <dirent.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>

#include "llm.h"

void zk_llm_request_card_metrics(const zk_llm_request *r, double price_kwh,
                                 zk_llm_card_metrics *out)
{
    out->ttft_ms = out->tpot_ms = out->tok_s = out->j_per_tok = out->cost_per_mtok = -1;
    if (r->card_submit_ms >= 0 && r->n_generated > 0) {
        out->ttft_ms = r->card_first_ms - r->card_submit_ms;
        if (r->n_generated > 1) {
            out->tpot_ms = (r->card_done_ms - r->card_first_ms) / (r->n_generated - 1);
            out->tok_s = out->tpot_ms > 0 ? 1e3 / out->tpot_ms : -1;
        }
    }
    if (r->card_j >= 0 && r->n_generated > 0) {
        out->j_per_tok = r->card_j / r->n_generated;
        if (price_kwh > 0) {
            out->cost_per_mtok = zk_llm_cost_per_mtok(out->j_per_tok, price_kwh);
        }
    }
}

static int first_match(const char *pattern, char *out, size_t len)
{
    glob_t g;
    int r = -1;
    if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
        snprintf(out, len, "%s", g.gl_pathv[0]);
        r = 0;
    }
    globfree(&g);
    return r;
}

static int read_num(const char *dir, const char *name, double *v)
{
    char p[512];
    unsigned long long x;
    FILE *f;
    int ok;
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    if (!(f = fopen(p, "r"))) {
        return -1;
    }
    ok = fscanf(f, "%llu", &x) == 1;
    fclose(f);
    if (!ok) {
        return -1;
    }
    *v = (double)x;
    return 0;
}

int zk_llm_card_perf_read(zk_llm_card_perf *p)
{
    char dir[400];
    int bad = 0;
    memset(p, 0, sizeof(*p));
    if (first_match("/sys/bus/pci/drivers/zhikai/*/perf", dir, sizeof(dir))) {
        return -1;
    }
#define RD(f) bad |= read_num(dir, #f, &p->f)
    RD(hbm_bw_mbs);
    RD(pcie_bw_mbs);
    RD(copy_bw_mbs);
    RD(fp32_gflops);
    RD(fp16_gflops);
    RD(launch_ns);
    RD(dma_setup_ns);
    RD(tdp_mw);
    RD(idle_mw);
    RD(card_clock_mhz);
    RD(card_power_mw);
    RD(card_time_ns);
    RD(card_energy_uj);
    RD(card_compute_ns);
    RD(card_memory_ns);
    RD(card_overhead_ns);
    RD(card_launches);
    RD(card_dmas);
    RD(card_hbm_bytes);
    RD(card_pcie_bytes);
    RD(card_flops_f32);
#undef RD
    return bad ? -1 : 0;
}

int zk_llm_card_power_cap(unsigned mw, unsigned *old_mw)
{
    char path[400];
    double v;
    FILE *f;
    if (first_match("/sys/bus/pci/drivers/zhikai/*/hwmon/hwmon*", path, sizeof(path)) ||
        read_num(path, "power1_cap", &v)) {
        return -1;
    }
    if (old_mw) {
        *old_mw = (unsigned)(v / 1000);
    }
    if (mw) {
        strncat(path, "/power1_cap", sizeof(path) - strlen(path) - 1);
        if (!(f = fopen(path, "w"))) {
            return -1;
        }
        fprintf(f, "%llu\n", (unsigned long long)mw * 1000);
        if (fclose(f)) {
            return -1;
        }
    }
    return 0;
}

double zk_llm_card_energy_uj(void)
{
    DIR *d = opendir("/sys/class/hwmon");
    struct dirent *de;
    double v = -1;
    if (!d) {
        return -1;
    }
    while ((de = readdir(d)) && v < 0) {
        char p[512], name[64] = "";
        FILE *f;
        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(p, sizeof(p), "/sys/class/hwmon/%s/name", de->d_name);
        if (!(f = fopen(p, "r"))) {
            continue;
        }
        if (!fgets(name, sizeof(name), f)) {
            name[0] = 0;
        }
        fclose(f);
        if (strncmp(name, "zhikai", 6)) {
            continue;
        }
        snprintf(p, sizeof(p), "/sys/class/hwmon/%s/energy1_input", de->d_name);
        if ((f = fopen(p, "r"))) {
            unsigned long long e;
            if (fscanf(f, "%llu", &e) == 1) {
                v = (double)e;
            }
            fclose(f);
        }
    }
    closedir(d);
    return v;
}
