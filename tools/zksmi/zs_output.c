/* SPDX-License-Identifier: MIT */
/*
 * zs_output.c - zksmi's output formats: the default table, the -q detailed
 * view, -L, CSV (--query-gpu), JSON and the CDI spec.  Pure functions of
 * the card structs, so the host tests check them directly.  JSON goes
 * through json-c, the project's one JSON library.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <json-c/json.h>

#include "zksmi.h"

/* "12 MiB", "N/A" - a field with its unit, for the human views. */
static const char *fv(char *buf, size_t len, const zs_card *c, const char *field)
{
    const zs_field *f = zs_field_find(field);
    zs_value v = zs_field_value(f, c, 1);
    const char *u = zs_field_unit(f);

    if (!v.ok) {
        snprintf(buf, len, "N/A");
    } else if (u && v.kind == ZS_NUM) {
        snprintf(buf, len, "%s %s", v.str, u);
    } else {
        snprintf(buf, len, "%s", v.str);
    }
    return buf;
}

static const char *first_driver_version(const zs_card *cards, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        if (cards[i].driver_version[0]) {
            return cards[i].driver_version;
        }
    }
    return "N/A";
}

/* ------------------------------------------------------------------ */
/* Default table                                                      */

enum { C_IDX, C_NAME, C_BUS, C_FW, C_PWR, C_TEMP, C_CLK, C_HBM, C_UTIL, NCOL };
static const int colw[NCOL] = { 3, 12, 12, 8, 15, 4, 7, 17, 6 };
static const char *colhdr[NCOL] = {
    "Idx", "Name", "Bus-Id", "Firmware", "Pwr:Draw / Cap", "Temp", "Clock", "HBM: Used / Total", "Util"
};

static int table_width(void)
{
    int i, w = 1;
    for (i = 0; i < NCOL; i++) {
        w += colw[i] + 3;
    }
    return w;
}

static void rule(FILE *f, char ch)
{
    int i, j;
    fputc('+', f);
    for (i = 0; i < NCOL; i++) {
        for (j = 0; j < colw[i] + 2; j++) {
            fputc(ch, f);
        }
        fputc('+', f);
    }
    fputc('\n', f);
}

static void full_rule(FILE *f)
{
    int i, w = table_width();
    fputc('+', f);
    for (i = 0; i < w - 2; i++) {
        fputc('-', f);
    }
    fputs("+\n", f);
}

static void full_line(FILE *f, const char *text)
{
    fprintf(f, "| %-*.*s |\n", table_width() - 4, table_width() - 4, text);
}

static void row(FILE *f, char cells[NCOL][64])
{
    int i;
    fputc('|', f);
    for (i = 0; i < NCOL; i++) {
        /* Numbers right-aligned, text left-aligned. */
        if (i == C_IDX || i == C_TEMP || i == C_CLK || i == C_UTIL || i == C_PWR || i == C_HBM) {
            fprintf(f, " %*.*s |", colw[i], colw[i], cells[i]);
        } else {
            fprintf(f, " %-*.*s |", colw[i], colw[i], cells[i]);
        }
    }
    fputc('\n', f);
}

static void pair(char *out, size_t len, zs_i64 a, zs_i64 b, int64_t div, const char *fmt_unit, int dec)
{
    char x[32] = "N/A", y[32] = "N/A";
    if (a.ok) {
        zs_fmt_scaled(x, sizeof(x), div == (1 << 20) ? a.v / div : a.v, div == (1 << 20) ? 1 : div, dec);
    }
    if (b.ok) {
        zs_fmt_scaled(y, sizeof(y), div == (1 << 20) ? b.v / div : b.v, div == (1 << 20) ? 1 : div, dec);
    }
    if (div == (1 << 20)) {
        snprintf(out, len, "%s / %s %s", x, y, fmt_unit);
    } else {
        snprintf(out, len, "%s%s / %s%s", x, a.ok ? fmt_unit : "", y, b.ok ? fmt_unit : "");
    }
}

void zs_print_table(FILE *f, const zs_card *cards, int n, const char *timestamp)
{
    char head[256], cells[NCOL][64];
    int i, j, any = 0;

    fprintf(f, "%s\n", timestamp);
    full_rule(f);
    snprintf(head, sizeof(head), "ZKSMI %-10s   Driver Version: %-12s   Devices: %d",
             ZKSMI_VERSION, first_driver_version(cards, n), n);
    full_line(f, head);
    rule(f, '-');
    for (i = 0; i < NCOL; i++) {
        snprintf(cells[i], sizeof(cells[i]), "%s", colhdr[i]);
    }
    /* header: left-aligned everywhere */
    fputc('|', f);
    for (i = 0; i < NCOL; i++) {
        fprintf(f, " %-*.*s |", colw[i], colw[i], cells[i]);
    }
    fputc('\n', f);
    rule(f, '=');
    for (i = 0; i < n; i++) {
        const zs_card *c = &cards[i];
        char t[32];
        snprintf(cells[C_IDX], 64, "%d", c->index);
        snprintf(cells[C_NAME], 64, "%s", c->name);
        snprintf(cells[C_BUS], 64, "%s", c->bus_id);
        if (!c->driver_bound) {
            fprintf(f, "| %*d | %-*.*s | %-*s | %-*s |\n", colw[C_IDX], c->index, colw[C_NAME],
                    colw[C_NAME], c->name, colw[C_BUS], c->bus_id,
                    table_width() - (colw[C_IDX] + colw[C_NAME] + colw[C_BUS] + 9) - 5,
                    c->driver[0] ? "driver not loaded (bound to another driver)" : "driver not loaded");
            rule(f, '-');
            continue;
        }
        snprintf(cells[C_FW], 64, "%s", c->fw_version[0] ? c->fw_version : "N/A");
        pair(cells[C_PWR], 64, c->power_uw, c->power_cap_uw, 1000000, "W", 0);
        if (c->temp_mc.ok) {
            zs_fmt_scaled(t, sizeof(t), c->temp_mc.v, 1000, 0);
            snprintf(cells[C_TEMP], 64, "%sC", t);
        } else {
            snprintf(cells[C_TEMP], 64, "N/A");
        }
        if (c->clock_hz.ok) {
            zs_fmt_scaled(t, sizeof(t), c->clock_hz.v, 1000000, 0);
            snprintf(cells[C_CLK], 64, "%sMHz", t);
        } else {
            snprintf(cells[C_CLK], 64, "N/A");
        }
        pair(cells[C_HBM], 64, c->hbm_used, c->hbm_total, 1 << 20, "MiB", 0);
        if (c->util_centi.ok) {
            zs_fmt_scaled(t, sizeof(t), c->util_centi.v, 100, 1);
            snprintf(cells[C_UTIL], 64, "%s%%", t);
        } else {
            snprintf(cells[C_UTIL], 64, "N/A");
        }
        row(f, cells);
        rule(f, '-');
    }
    fputc('\n', f);
    full_rule(f);
    full_line(f, "Processes:");
    snprintf(head, sizeof(head), "%4s %8s   %-20s %s", "Idx", "PID", "Process name", "Device node");
    full_line(f, head);
    full_rule(f);
    for (i = 0; i < n; i++) {
        for (j = 0; j < cards[i].nprocs; j++) {
            const zs_proc *p = &cards[i].procs[j];
            snprintf(head, sizeof(head), "%4d %8d   %-20.20s %s", cards[i].index, p->pid, p->name, p->node);
            full_line(f, head);
            any = 1;
        }
    }
    if (!any) {
        full_line(f, "No running processes found");
    }
    full_rule(f);
}

/* ------------------------------------------------------------------ */
/* -L and -q                                                          */

void zs_print_list(FILE *f, const zs_card *cards, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        fprintf(f, "Device %d: %s (PCI %s)%s\n", cards[i].index, cards[i].name, cards[i].bus_id,
                cards[i].driver_bound ? "" : " [driver not loaded]");
    }
}

#define Q1(label, val) fprintf(f, "    %-34s: %s\n", label, val)
#define Q2(label, val) fprintf(f, "        %-30s: %s\n", label, val)
#define QF1(label, field) Q1(label, fv(b, sizeof(b), c, field))
#define QF2(label, field) Q2(label, fv(b, sizeof(b), c, field))

void zs_print_query(FILE *f, const zs_card *cards, int n, const char *timestamp)
{
    char b[192];
    int i, j;

    fprintf(f, "\n==============ZKSMI LOG==============\n\n");
    fprintf(f, "%-38s: %s\n", "Timestamp", timestamp);
    fprintf(f, "%-38s: %s\n", "Driver Version", first_driver_version(cards, n));
    fprintf(f, "%-38s: %d\n", "Attached Devices", n);
    for (i = 0; i < n; i++) {
        const zs_card *c = &cards[i];
        fprintf(f, "\nDevice %s\n", c->bus_id);
        snprintf(b, sizeof(b), "%d", c->index);
        Q1("Index", b);
        Q1("Product Name", c->name);
        if (c->driver_bound) {
            Q1("Driver", "zhikai (loaded)");
        } else if (c->driver[0]) {
            snprintf(b, sizeof(b), "driver not loaded (bound to %s)", c->driver);
            Q1("Driver", b);
        } else {
            Q1("Driver", "driver not loaded");
        }
        QF1("Driver Version", "driver_version");
        QF1("Firmware Version", "firmware_version");
        Q1("Compute Node", c->accel[0] ? c->accel : c->render[0] ? c->render : "N/A");
        Q1("DRM Card Node", c->card[0] ? c->card : "N/A");
        fprintf(f, "    PCI\n");
        Q2("Bus Id", c->bus_id);
        QF2("Vendor Id", "pci.vendor_id");
        QF2("Device Id", "pci.device_id");
        QF2("Revision", "pci.revision");
        snprintf(b, sizeof(b), "0x%04x", c->pci_class);
        Q2("Class", b);
        fprintf(f, "    HBM Memory Usage\n");
        QF2("Total", "memory.total");
        QF2("Used", "memory.used");
        QF2("Free", "memory.free");
        QF1("Hardware Queues", "queues");
        fprintf(f, "    Utilization\n");
        QF2("Engine", "utilization.gpu");
        QF2("Engine Busy Time", "busy_ns");
        fprintf(f, "    Temperature\n");
        QF2("Die Temp", "temperature.gpu");
        fprintf(f, "    Power Readings\n");
        QF2("Power State", "power.state");
        QF2("Power Draw", "power.draw");
        QF2("Average Power Draw", "power.draw.average");
        QF2("Power Limit", "power.limit");
        QF2("Min Power Limit", "power.min_limit");
        QF2("Max Power Limit", "power.max_limit");
        QF2("Energy Consumed", "energy");
        fprintf(f, "    Clocks\n");
        QF2("Engine", "clocks.sm");
        QF2("Max Engine", "clocks.max.sm");
        fprintf(f, "    RAS (HBM ECC)\n");
        QF2("Corrected Errors", "ras.ce");
        QF2("Uncorrected Errors", "ras.ue");
        QF1("Reset Count", "reset_count");
        QF1("Firmware Heartbeat", "heartbeat");
        if (!c->driver_bound) {
            Q1("Processes", "N/A");
        } else if (c->nprocs == 0) {
            Q1("Processes", "None");
        } else {
            fprintf(f, "    Processes\n");
            for (j = 0; j < c->nprocs; j++) {
                snprintf(b, sizeof(b), "%d", c->procs[j].pid);
                Q2("Process ID", b);
                fprintf(f, "            %-26s: %s\n", "Name", c->procs[j].name);
                fprintf(f, "            %-26s: %s\n", "Device Node", c->procs[j].node);
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* CSV                                                                */

static void csv_cell(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"') {
                fputc('"', f);
            }
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
}

void zs_print_csv(FILE *f, const zs_card *cards, int n, const zs_field **fields, int nf,
                  const zs_format *fmt, bool header)
{
    int i, j;

    if (header && fmt->header) {
        for (j = 0; j < nf; j++) {
            const char *u = zs_field_unit(fields[j]);
            if (j) {
                fputs(", ", f);
            }
            fputs(zs_field_name(fields[j]), f);
            if (fmt->units && u) {
                fprintf(f, " [%s]", u);
            }
        }
        fputc('\n', f);
    }
    for (i = 0; i < n; i++) {
        for (j = 0; j < nf; j++) {
            zs_value v = zs_field_value(fields[j], &cards[i], n);
            const char *u = zs_field_unit(fields[j]);
            char cell[160];
            if (j) {
                fputs(", ", f);
            }
            if (!v.ok) {
                snprintf(cell, sizeof(cell), "N/A");
            } else if (fmt->units && u && v.kind == ZS_NUM) {
                snprintf(cell, sizeof(cell), "%s %s", v.str, u);
            } else {
                snprintf(cell, sizeof(cell), "%s", v.str);
            }
            csv_cell(f, cell);
        }
        fputc('\n', f);
    }
}

/* ------------------------------------------------------------------ */
/* JSON and CDI: built as json-c trees, printed pretty                 */

static void json_print(FILE *f, json_object *root)
{
    fputs(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                   JSON_C_TO_STRING_NOSLASHESCAPE), f);
    fputc('\n', f);
    json_object_put(root);
}

static json_object *json_procs(const zs_card *c)
{
    json_object *a;
    int j;
    if (!c->driver_bound) {
        return NULL;
    }
    a = json_object_new_array();
    for (j = 0; j < c->nprocs; j++) {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "pid", json_object_new_int(c->procs[j].pid));
        json_object_object_add(p, "name", json_object_new_string(c->procs[j].name));
        json_object_object_add(p, "node", json_object_new_string(c->procs[j].node));
        json_object_array_add(a, p);
    }
    return a;
}

/* A field's value: null if N/A; numbers keep zksmi's formatting ("25.30"). */
static json_object *json_value(const zs_value *v)
{
    if (!v->ok) {
        return NULL;
    }
    if (v->kind == ZS_NUM) {
        return json_object_new_double_s(strtod(v->str, NULL), v->str);
    }
    return json_object_new_string(v->str);
}

void zs_print_json(FILE *f, const zs_card *cards, int n, const zs_field **fields, int nf,
                   const char *timestamp)
{
    json_object *root = json_object_new_object(), *devs = json_object_new_array();
    const char *dv = first_driver_version(cards, n);
    int i, j, total = nf;

    json_object_object_add(root, "zksmi_version", json_object_new_string(ZKSMI_VERSION));
    json_object_object_add(root, "timestamp", json_object_new_string(timestamp));
    json_object_object_add(root, "driver_version",
                           strcmp(dv, "N/A") ? json_object_new_string(dv) : NULL);
    json_object_object_add(root, "count", json_object_new_int(n));
    if (nf == 0) {
        while (zs_field_at(total)) {
            total++;
        }
    }
    for (i = 0; i < n; i++) {
        json_object *d = json_object_new_object();
        for (j = 0; j < total; j++) {
            const zs_field *fd = nf ? fields[j] : zs_field_at(j);
            zs_value v = zs_field_value(fd, &cards[i], n);
            json_object_object_add(d, zs_field_name(fd),
                                   strcmp(zs_field_name(fd), "processes") == 0 ?
                                   json_procs(&cards[i]) : json_value(&v));
        }
        json_object_array_add(devs, d);
    }
    json_object_object_add(root, "devices", devs);
    json_print(f, root);
}

/* ------------------------------------------------------------------ */
/* Container Device Interface spec (github.com/cncf-tags/container-device-interface) */

static json_object *cdi_node(const char *path)
{
    char real[PATH_MAX];
    struct stat st;
    json_object *o = json_object_new_object();

    json_object_object_add(o, "path", json_object_new_string(path));
    if (stat(zs_path(real, sizeof(real), path), &st) == 0 && S_ISCHR(st.st_mode)) {
        json_object_object_add(o, "type", json_object_new_string("c"));
        json_object_object_add(o, "major", json_object_new_int64(major(st.st_rdev)));
        json_object_object_add(o, "minor", json_object_new_int64(minor(st.st_rdev)));
    }
    json_object_object_add(o, "permissions", json_object_new_string("rw"));
    return o;
}

static json_object *cdi_device(const char *name, json_object *nodes)
{
    json_object *d = json_object_new_object(), *edits = json_object_new_object();
    json_object_object_add(d, "name", json_object_new_string(name));
    json_object_object_add(edits, "deviceNodes", nodes);
    json_object_object_add(d, "containerEdits", edits);
    return d;
}

void zs_print_cdi(FILE *f, const zs_card *cards, int n, const char *cdi_version)
{
    bool annotations = strcmp(cdi_version, "0.5.0") != 0;
    json_object *root = json_object_new_object(), *devs = json_object_new_array();
    json_object *all = json_object_new_array();
    int i, j;

    json_object_object_add(root, "cdiVersion", json_object_new_string(cdi_version));
    json_object_object_add(root, "kind", json_object_new_string("zhikai.io/card"));
    for (i = 0; i < n; i++) {
        const char *nodes[3];
        char name[16];
        int m = zs_card_nodes(&cards[i], nodes);
        json_object *list, *d;
        if (m == 0) {
            continue;               /* no node: nothing a container could use */
        }
        list = json_object_new_array();
        for (j = 0; j < m; j++) {
            json_object_array_add(list, cdi_node(nodes[j]));
            json_object_array_add(all, cdi_node(nodes[j]));
        }
        snprintf(name, sizeof(name), "%d", cards[i].index);
        d = cdi_device(name, list);
        if (annotations) {
            json_object *a = json_object_new_object();
            json_object_object_add(a, "zhikai.io/pci-bus-id", json_object_new_string(cards[i].bus_id));
            json_object_object_add(d, "annotations", a);
        }
        json_object_array_add(devs, d);
    }
    if (json_object_array_length(all)) {
        json_object_array_add(devs, cdi_device("all", all));
    } else {
        json_object_put(all);
    }
    json_object_object_add(root, "devices", devs);
    json_print(f, root);
}
