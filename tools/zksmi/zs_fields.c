/* SPDX-License-Identifier: MIT */
/*
 * zs_fields.c - the --query-gpu fields (names follow nvidia-smi's where one
 * exists), their units and how each is computed from the raw sysfs/hwmon
 * values, plus parsing of --query-gpu and --format.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "zksmi.h"

typedef zs_value (*zs_getter)(const zs_card *c, int count);

struct zs_field {
    const char *name;
    const char *alias;          /* nvidia-smi spelling, or NULL */
    const char *unit;           /* CSV header/value unit; NULL: none */
    const char *help;
    zs_getter get;              /* string and special fields */
    size_t off;                 /* numeric: offset of a zs_i64 in zs_card */
    int64_t div;                /* numeric: raw / div ... */
    int dec;                    /* ... with dec decimals */
    bool floor;                 /* truncate instead of round */
};

void zs_fmt_scaled(char *buf, size_t len, int64_t v, int64_t div, int dec)
{
    if (div == 1 && dec == 0) {
        snprintf(buf, len, "%lld", (long long)v);
    } else {
        snprintf(buf, len, "%.*f", dec, (double)v / (double)div);
    }
}

static zs_value na(zs_kind k)
{
    zs_value r;
    memset(&r, 0, sizeof(r));
    r.kind = k;
    return r;
}

static zs_value str(const char *s)
{
    zs_value r = na(ZS_STR);
    if (s && *s) {
        r.ok = true;
        snprintf(r.str, sizeof(r.str), "%s", s);
    }
    return r;
}

static zs_value num(int64_t v, int64_t div, int dec, bool floor)
{
    zs_value r = na(ZS_NUM);
    r.ok = true;
    if (floor) {
        zs_fmt_scaled(r.str, sizeof(r.str), v / div, 1, 0);
    } else {
        zs_fmt_scaled(r.str, sizeof(r.str), v, div, dec);
    }
    return r;
}

static zs_value g_count(const zs_card *c, int count) { (void)c; return num(count, 1, 0, false); }
static zs_value g_index(const zs_card *c, int count) { (void)count; return num(c->index, 1, 0, false); }
static zs_value g_name(const zs_card *c, int count) { (void)count; return str(c->name); }
static zs_value g_bus(const zs_card *c, int count) { (void)count; return str(c->bus_id); }
static zs_value g_fw(const zs_card *c, int count) { (void)count; return str(c->fw_version); }
static zs_value g_drv(const zs_card *c, int count) { (void)count; return str(c->driver_version); }
static zs_value g_pm(const zs_card *c, int count) { (void)count; return str(c->pm_state); }

static zs_value hex4(unsigned v)
{
    char b[16];
    snprintf(b, sizeof(b), "0x%04x", v);
    return str(b);
}
static zs_value g_vendor(const zs_card *c, int count) { (void)count; return hex4(c->vendor); }
static zs_value g_device(const zs_card *c, int count) { (void)count; return hex4(c->device); }

static zs_value g_rev(const zs_card *c, int count)
{
    char b[8];
    (void)count;
    snprintf(b, sizeof(b), "0x%02x", c->revision);
    return str(b);
}

static zs_value g_loaded(const zs_card *c, int count)
{
    (void)count;
    return str(c->driver_bound ? "Yes" : "No");
}

static zs_value g_node(const zs_card *c, int count)
{
    const char *nodes[3];
    (void)count;
    return zs_card_nodes(c, nodes) ? str(nodes[0]) : na(ZS_STR);
}

static zs_value g_memfree(const zs_card *c, int count)
{
    (void)count;
    if (!c->hbm_total.ok || !c->hbm_used.ok) {
        return na(ZS_NUM);
    }
    return num(c->hbm_total.v - c->hbm_used.v, 1 << 20, 0, true);
}

static zs_value g_procs(const zs_card *c, int count)
{
    (void)count;
    return c->driver_bound ? num(c->nprocs, 1, 0, false) : na(ZS_NUM);
}

#define NUMF(n, a, u, h, m, d, dc, fl) { n, a, u, h, NULL, offsetof(zs_card, m), d, dc, fl }
#define STRF(n, a, u, h, g) { n, a, u, h, g, 0, 1, 0, false }

static const struct zs_field fields[] = {
    STRF("count", NULL, NULL, "number of listed devices", g_count),
    STRF("index", NULL, NULL, "device index (sorted by PCI bus id)", g_index),
    STRF("name", "gpu_name", NULL, "product name", g_name),
    STRF("pci.bus_id", "gpu_bus_id", NULL, "PCI domain:bus:device.function", g_bus),
    STRF("pci.vendor_id", NULL, NULL, "PCI vendor id", g_vendor),
    STRF("pci.device_id", NULL, NULL, "PCI device id", g_device),
    STRF("pci.revision", NULL, NULL, "PCI revision", g_rev),
    STRF("driver.loaded", NULL, NULL, "Yes when zhikai.ko is bound to the device", g_loaded),
    STRF("driver_version", NULL, NULL, "zhikai.ko version", g_drv),
    STRF("firmware_version", "vbios_version", NULL, "running firmware (sysfs fw_version)", g_fw),
    STRF("device_node", NULL, NULL, "the compute node: /dev/accel/accelN or /dev/dri/renderDN", g_node),
    NUMF("memory.total", NULL, "MiB", "HBM size (hbm_total_bytes)", hbm_total, 1 << 20, 0, true),
    NUMF("memory.used", NULL, "MiB", "HBM allocated (hbm_used_bytes)", hbm_used, 1 << 20, 0, true),
    STRF("memory.free", NULL, "MiB", "memory.total - memory.used", g_memfree),
    NUMF("utilization.gpu", NULL, "%", "engine utilization (sysfs utilization)", util_centi, 100, 2, false),
    NUMF("temperature.gpu", NULL, "C", "die temperature (hwmon temp1_input)", temp_mc, 1000, 0, false),
    STRF("power.state", NULL, NULL, "runtime PM: active, or suspended (D3hot, idle power; power/runtime_status)", g_pm),
    NUMF("power.draw", NULL, "W", "board power (hwmon power1_input)", power_uw, 1000000, 2, false),
    NUMF("power.draw.average", NULL, "W", "average board power (hwmon power1_average)", power_avg_uw, 1000000, 2, false),
    NUMF("power.limit", NULL, "W", "power cap (hwmon power1_cap)", power_cap_uw, 1000000, 2, false),
    NUMF("power.min_limit", NULL, "W", "lowest settable cap (hwmon power1_cap_min)", power_cap_min_uw, 1000000, 2, false),
    NUMF("power.max_limit", NULL, "W", "highest settable cap (hwmon power1_cap_max)", power_cap_max_uw, 1000000, 2, false),
    NUMF("clocks.sm", "clocks.current.sm", "MHz", "engine clock (perf/clock_mhz)", clock_hz, 1000000, 0, false),
    NUMF("clocks.max.sm", "clocks.max.graphics", "MHz", "nominal max engine clock", clock_max_mhz, 1, 0, false),
    NUMF("energy", "total_energy_consumption", "J", "energy since power-on (hwmon energy1_input)", energy_uj, 1000000, 3, false),
    NUMF("reset_count", NULL, NULL, "device/engine resets by the driver", reset_count, 1, 0, false),
    NUMF("ras.ce", NULL, NULL, "corrected HBM errors (ras_ce_count)", ras_ce, 1, 0, false),
    NUMF("ras.ue", NULL, NULL, "uncorrected HBM errors (ras_ue_count)", ras_ue, 1, 0, false),
    NUMF("queues", NULL, NULL, "hardware queues (num_queues)", num_queues, 1, 0, false),
    NUMF("heartbeat", NULL, NULL, "firmware heartbeat counter", heartbeat, 1, 0, false),
    NUMF("busy_ns", NULL, "ns", "total engine busy time", busy_ns, 1, 0, false),
    STRF("processes", NULL, NULL, "processes holding a device node open", g_procs),
};

#define NFIELDS ((int)(sizeof(fields) / sizeof(fields[0])))

const zs_field *zs_field_at(int i)
{
    return i >= 0 && i < NFIELDS ? &fields[i] : NULL;
}

const zs_field *zs_field_find(const char *name)
{
    int i;
    for (i = 0; i < NFIELDS; i++) {
        if (strcmp(fields[i].name, name) == 0 ||
            (fields[i].alias && strcmp(fields[i].alias, name) == 0)) {
            return &fields[i];
        }
    }
    return NULL;
}

const char *zs_field_name(const zs_field *f) { return f->name; }
const char *zs_field_unit(const zs_field *f) { return f->unit; }
const char *zs_field_help(const zs_field *f) { return f->help; }

zs_value zs_field_value(const zs_field *f, const zs_card *c, int count)
{
    const zs_i64 *v;
    zs_value r;

    if (f->get) {
        r = f->get(c, count);
        /* Count-style numeric getters report ZS_NUM themselves. */
        return r;
    }
    v = (const zs_i64 *)((const char *)c + f->off);
    if (!v->ok) {
        return na(ZS_NUM);
    }
    return num(v->v, f->div, f->dec, f->floor);
}

int zs_parse_fields(const char *list, const zs_field **out, int max, char *bad, size_t badlen)
{
    char *dup, *tok, *save = NULL;
    int n = 0;

    if (!list || !*list || list[0] == ',' || list[strlen(list) - 1] == ',' || strstr(list, ",,")) {
        snprintf(bad, badlen, "%s", list && *list ? list : "(empty)");
        return -1;
    }
    dup = strdup(list);
    if (!dup) {
        return -1;
    }
    for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        const zs_field *f;
        while (*tok == ' ') {
            tok++;
        }
        f = zs_field_find(tok);
        if (!f || n >= max) {
            snprintf(bad, badlen, "%s", tok);
            free(dup);
            return -1;
        }
        out[n++] = f;
    }
    free(dup);
    if (n == 0) {
        snprintf(bad, badlen, "(empty)");
        return -1;
    }
    return n;
}

bool zs_parse_format(const char *s, zs_format *fmt)
{
    char *dup, *tok, *save = NULL;
    bool ok = true;

    fmt->csv = false;
    fmt->header = true;
    fmt->units = true;
    if (!s || !*s) {
        return false;
    }
    dup = strdup(s);
    if (!dup) {
        return false;
    }
    for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') {
            tok++;
        }
        if (strcmp(tok, "csv") == 0) {
            fmt->csv = true;
        } else if (strcmp(tok, "noheader") == 0) {
            fmt->header = false;
        } else if (strcmp(tok, "nounits") == 0) {
            fmt->units = false;
        } else {
            ok = false;
        }
    }
    free(dup);
    return ok && fmt->csv;
}
