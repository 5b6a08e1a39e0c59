/* SPDX-License-Identifier: MIT */
/*
 * zs_sysfs.c - reading the card's sysfs and hwmon attributes (names from
 * kmod/zk_sysfs.c and kmod/zk_hwmon.c) and finding processes that hold
 * its device nodes open.  Every path goes through zs_path() so that
 * ZKSMI_SYSFS_ROOT=/some/dir makes zksmi read a fake tree (host tests):
 * DIR/sys/..., DIR/proc/..., DIR/dev/....
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zksmi.h"

const char *zs_root(void)
{
    const char *r = getenv("ZKSMI_SYSFS_ROOT");
    return r ? r : "";
}

void zs_strlcpy(char *dst, const char *src, size_t len)
{
    size_t n = strlen(src);

    if (len == 0) {
        return;
    }
    if (n >= len) {
        n = len - 1;
    }
    memcpy(dst, src, n);
    dst[n] = 0;
}

char *zs_path(char *buf, size_t len, const char *path)
{
    snprintf(buf, len, "%s%s", zs_root(), path);
    return buf;
}

int zs_read_str(const char *dir, const char *file, char *out, size_t len)
{
    char p[PATH_MAX + 64];
    ssize_t n;
    int fd;

    if (!dir || !*dir || len == 0) {
        return -1;
    }
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    n = read(fd, out, len - 1);
    close(fd);
    if (n < 0) {
        return -1;
    }
    out[n] = 0;
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' ')) {
        out[--n] = 0;
    }
    return 0;
}

static zs_i64 parse_int(const char *dir, const char *file, int base)
{
    zs_i64 r = { false, 0 };
    char buf[64], *end;
    long long v;

    if (zs_read_str(dir, file, buf, sizeof(buf)) < 0 || !buf[0]) {
        return r;
    }
    errno = 0;
    v = strtoll(buf, &end, base);
    if (errno || end == buf || *end) {
        return r;
    }
    r.ok = true;
    r.v = v;
    return r;
}

zs_i64 zs_read_i64(const char *dir, const char *file)
{
    return parse_int(dir, file, 10);
}

zs_i64 zs_read_hex(const char *dir, const char *file)
{
    return parse_int(dir, file, 16);
}

bool zs_parse_centi(const char *s, int64_t *out)
{
    int64_t whole = 0, frac = 0;
    int nd = 0;

    if (!isdigit((unsigned char)*s)) {
        return false;
    }
    while (isdigit((unsigned char)*s)) {
        whole = whole * 10 + (*s++ - '0');
        if (whole > 1000000000) {
            return false;
        }
    }
    if (*s == '.') {
        s++;
        while (isdigit((unsigned char)*s)) {
            if (nd < 2) {
                frac = frac * 10 + (*s - '0');
                nd++;
            }
            s++;
        }
        if (nd == 0) {
            return false;
        }
    }
    if (*s) {
        return false;
    }
    while (nd < 2) {
        frac *= 10;
        nd++;
    }
    *out = whole * 100 + frac;
    return true;
}

int zs_write_str(const char *dir, const char *file, const char *val)
{
    char p[PATH_MAX + 64];
    size_t len = strlen(val);
    ssize_t n;
    int fd;

    snprintf(p, sizeof(p), "%s/%s", dir, file);
    fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);   /* like the shell's echo > */
    if (fd < 0) {
        return -errno;
    }
    n = write(fd, val, len);
    if (n < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (close(fd) < 0) {
        return -errno;
    }
    return (size_t)n == len ? 0 : -EIO;
}

/* First entry of dir whose name starts with prefix (lowest number). */
static bool find_entry(const char *dir, const char *prefix, char *out, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    long best = -1;
    size_t pl = strlen(prefix);

    if (!d) {
        return false;
    }
    while ((de = readdir(d))) {
        char *end;
        long n;
        if (strncmp(de->d_name, prefix, pl) != 0 || !isdigit((unsigned char)de->d_name[pl])) {
            continue;
        }
        n = strtol(de->d_name + pl, &end, 10);
        if (*end || n < 0) {
            continue;
        }
        if (best < 0 || n < best) {
            best = n;
            zs_strlcpy(out, de->d_name, len);
        }
    }
    closedir(d);
    return best >= 0;
}

static void find_hwmon(zs_card *c)
{
    char dir[PATH_MAX + 16];
    DIR *d;
    struct dirent *de;

    c->hwmon[0] = 0;
    snprintf(dir, sizeof(dir), "%s/hwmon", c->sysdir);
    d = opendir(dir);
    if (!d) {
        return;
    }
    while ((de = readdir(d))) {
        char hw[PATH_MAX + 300], name[64];
        if (strncmp(de->d_name, "hwmon", 5) != 0) {
            continue;
        }
        snprintf(hw, sizeof(hw), "%s/%s", dir, de->d_name);
        if (zs_read_str(hw, "name", name, sizeof(name)) == 0 && strcmp(name, "zhikai") == 0 &&
            strlen(hw) < sizeof(c->hwmon)) {
            snprintf(c->hwmon, sizeof(c->hwmon), "%s", hw);
            break;
        }
    }
    closedir(d);
}

static void find_nodes(zs_card *c)
{
    char dir[PATH_MAX + 16], ent[48], p[PATH_MAX];
    long minor = -1;
    const char *dbg = NULL;

    c->render[0] = c->card[0] = c->accel[0] = c->reset_knob[0] = 0;
    snprintf(dir, sizeof(dir), "%s/drm", c->sysdir);
    if (find_entry(dir, "renderD", ent, sizeof(ent))) {
        snprintf(c->render, sizeof(c->render), "/dev/dri/%s", ent);
        minor = strtol(ent + 7, NULL, 10);
        dbg = "dri";
    }
    if (find_entry(dir, "card", ent, sizeof(ent))) {
        snprintf(c->card, sizeof(c->card), "/dev/dri/%s", ent);
        minor = strtol(ent + 4, NULL, 10);      /* primary minor's debugfs */
        dbg = "dri";
    }
    snprintf(dir, sizeof(dir), "%s/accel", c->sysdir);
    if (find_entry(dir, "accel", ent, sizeof(ent))) {
        snprintf(c->accel, sizeof(c->accel), "/dev/accel/%s", ent);
        minor = strtol(ent + 5, NULL, 10);
        dbg = "accel";
    }
    /*
     * Reset knob: kmod/zk_debugfs.c's "reset" in the device's debugfs dir,
     * named by the minor (dri/N) or, for accel devices on newer kernels, by
     * the PCI bus id (accel/0000:00:03.0).
     */
    if (dbg) {
        char rel[2][96];
        snprintf(rel[0], sizeof(rel[0]), "/sys/kernel/debug/%s/%ld/reset", dbg, minor);
        snprintf(rel[1], sizeof(rel[1]), "/sys/kernel/debug/%s/%s/reset", dbg, c->bus_id);
        for (int i = 0; i < 2 && !c->reset_knob[0]; i++) {
            zs_path(p, sizeof(p), rel[i]);
            if (access(p, F_OK) == 0) {
                snprintf(c->reset_knob, sizeof(c->reset_knob), "%s", p);
            }
        }
    }
}

void zs_card_read_sysfs(zs_card *c)
{
    char link[PATH_MAX + 16], target[PATH_MAX], buf[64], mod[PATH_MAX];
    ssize_t n;
    const char *h;

    c->driver_bound = false;
    c->driver[0] = 0;
    snprintf(link, sizeof(link), "%s/driver", c->sysdir);
    n = readlink(link, target, sizeof(target) - 1);
    if (n > 0) {
        const char *base;
        target[n] = 0;
        base = strrchr(target, '/');
        zs_strlcpy(c->driver, base ? base + 1 : target, sizeof(c->driver));
        c->driver_bound = strcmp(c->driver, "zhikai") == 0;
    }
    if (!c->revision) {
        zs_i64 r = zs_read_hex(c->sysdir, "revision");
        if (r.ok) {
            c->revision = (unsigned)r.v;
        }
    }
    if (!c->driver_bound) {
        c->hwmon[0] = c->render[0] = c->card[0] = c->accel[0] = c->reset_knob[0] = 0;
        return;
    }
    /* First: the reads below wake a runtime-suspended card. */
    if (zs_read_str(c->sysdir, "power/runtime_status", buf, sizeof(buf)) == 0) {
        zs_strlcpy(c->pm_state, buf, sizeof(c->pm_state));
    }
    if (zs_read_str(c->sysdir, "fw_version", buf, sizeof(buf)) == 0) {
        zs_strlcpy(c->fw_version, buf, sizeof(c->fw_version));
    }
    if (!c->driver_version[0] &&
        zs_read_str(zs_path(mod, sizeof(mod), "/sys/module/zhikai"), "version", buf, sizeof(buf)) == 0) {
        zs_strlcpy(c->driver_version, buf, sizeof(c->driver_version));
    }
    c->hbm_total = zs_read_i64(c->sysdir, "hbm_total_bytes");
    c->hbm_used = zs_read_i64(c->sysdir, "hbm_used_bytes");
    c->busy_ns = zs_read_i64(c->sysdir, "busy_ns");
    c->num_queues = zs_read_i64(c->sysdir, "num_queues");
    c->reset_count = zs_read_i64(c->sysdir, "reset_count");
    c->ras_ce = zs_read_i64(c->sysdir, "ras_ce_count");
    c->ras_ue = zs_read_i64(c->sysdir, "ras_ue_count");
    c->heartbeat = zs_read_i64(c->sysdir, "heartbeat");
    c->clock_max_mhz = zs_read_i64(c->sysdir, "clock_max_mhz");  /* if the driver adds it */
    if (zs_read_str(c->sysdir, "utilization", buf, sizeof(buf)) == 0) {
        c->util_centi.ok = zs_parse_centi(buf, &c->util_centi.v);
    }
    find_hwmon(c);
    h = c->hwmon;
    c->power_uw = zs_read_i64(h, "power1_input");
    c->power_avg_uw = zs_read_i64(h, "power1_average");
    c->power_cap_uw = zs_read_i64(h, "power1_cap");
    c->power_cap_min_uw = zs_read_i64(h, "power1_cap_min");
    c->power_cap_max_uw = zs_read_i64(h, "power1_cap_max");
    c->energy_uj = zs_read_i64(h, "energy1_input");
    c->temp_mc = zs_read_i64(h, "temp1_input");
    /* The engine clock is not hwmon's (no frequency type): perf/. */
    c->clock_hz = zs_read_i64(c->sysdir, "perf/clock_mhz");
    if (c->clock_hz.ok) {
        c->clock_hz.v *= 1000000;
    }
    find_nodes(c);
}

int zs_card_nodes(const zs_card *c, const char *nodes[3])
{
    int n = 0;
    if (c->accel[0]) {
        nodes[n++] = c->accel;
    }
    if (c->render[0]) {
        nodes[n++] = c->render;
    }
    if (c->card[0]) {
        nodes[n++] = c->card;
    }
    return n;
}

static void add_proc(zs_card *c, int pid, const char *node)
{
    char p[PATH_MAX], rel[64];
    int i;

    for (i = 0; i < c->nprocs; i++) {
        if (c->procs[i].pid == pid) {
            return;
        }
    }
    if (c->nprocs >= ZS_MAX_PROCS) {
        return;
    }
    zs_proc *pr = &c->procs[c->nprocs++];
    pr->pid = pid;
    snprintf(pr->node, sizeof(pr->node), "%s", node);
    snprintf(rel, sizeof(rel), "/proc/%d", pid);
    if (zs_read_str(zs_path(p, sizeof(p), rel), "comm", pr->name, sizeof(pr->name)) < 0) {
        snprintf(pr->name, sizeof(pr->name), "?");
    }
}

void zs_scan_processes(zs_card *cards, int n)
{
    char proc[PATH_MAX];
    DIR *d;
    struct dirent *de;
    int self = *zs_root() ? -1 : (int)getpid();
    int i;

    for (i = 0; i < n; i++) {
        cards[i].nprocs = 0;
    }
    d = opendir(zs_path(proc, sizeof(proc), "/proc"));
    if (!d) {
        return;
    }
    while ((de = readdir(d))) {
        char fddir[PATH_MAX + 300];
        DIR *fd;
        struct dirent *fe;
        char *end;
        long pid = strtol(de->d_name, &end, 10);

        if (*end || pid <= 0 || pid == self) {
            continue;
        }
        snprintf(fddir, sizeof(fddir), "%s/%s/fd", proc, de->d_name);
        fd = opendir(fddir);
        if (!fd) {
            continue;           /* another user's process, or gone */
        }
        while ((fe = readdir(fd))) {
            char l[PATH_MAX * 2], t[256];
            ssize_t k;
            if (fe->d_name[0] == '.') {
                continue;
            }
            snprintf(l, sizeof(l), "%s/%s", fddir, fe->d_name);
            k = readlink(l, t, sizeof(t) - 1);
            if (k <= 0) {
                continue;
            }
            t[k] = 0;
            for (i = 0; i < n; i++) {
                const char *nodes[3];
                int m = zs_card_nodes(&cards[i], nodes), j;
                for (j = 0; j < m; j++) {
                    if (strcmp(t, nodes[j]) == 0) {
                        add_proc(&cards[i], (int)pid, nodes[j]);
                    }
                }
            }
        }
        closedir(fd);
    }
    closedir(d);
    /* readdir order is arbitrary: sort by pid for stable output. */
    for (i = 0; i < n; i++) {
        zs_card *c = &cards[i];
        int a, b;
        for (a = 1; a < c->nprocs; a++) {
            for (b = a; b > 0 && c->procs[b - 1].pid > c->procs[b].pid; b--) {
                zs_proc tmp = c->procs[b];
                c->procs[b] = c->procs[b - 1];
                c->procs[b - 1] = tmp;
            }
        }
    }
}
