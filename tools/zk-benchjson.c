/* SPDX-License-Identifier: MIT */
/*
 * zk-benchjson - build/bench.json for `make bench` (tools/bench.sh), on
 * json-c, the project's one JSON library.
 *
 *   zk-benchjson collect LOG OUT        "BENCH {json}" lines of LOG -> array OUT
 *   zk-benchjson normalize FILE         {"name": {"metric": v}} -> records, in place
 *   zk-benchjson join VM HOST OUT       in-VM results vs native host baselines
 *   zk-benchjson merge OUT MACHINE F... {"date", "machine", "results": [...]}
 *   zk-benchjson table FILE             the summary table
 *
 * A record: {"bench", "metric", "value", "unit", "baseline", "baseline_name",
 * "ratio", "target"} (only bench, metric, value required).
 */
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

static int write_json(const char *path, json_object *o)
{
    int rc = json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                              JSON_C_TO_STRING_NOSLASHESCAPE);
    if (rc) {
        fprintf(stderr, "zk-benchjson: cannot write %s: %s\n", path, json_util_get_last_err());
    }
    return rc ? 1 : 0;
}

static json_object *read_json(const char *path)
{
    json_object *o = json_object_from_file(path);
    if (!o) {
        fprintf(stderr, "zk-benchjson: %s: %s\n", path, json_util_get_last_err());
    }
    return o;
}

static int collect(const char *log, const char *out)
{
    FILE *f = fopen(log, "r");
    json_object *a = json_object_new_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int bad = 0, rc;
    if (!f) {
        perror(log);
        return 1;
    }
    while ((n = getline(&line, &cap, f)) >= 0) {
        json_object *o;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
            line[--n] = 0;
        }
        if (strncmp(line, "BENCH ", 6)) {
            continue;
        }
        o = json_tokener_parse(line + 6);
        if (!o || !json_object_is_type(o, json_type_object)) {
            fprintf(stderr, "zk-benchjson: %s: not a JSON object: %.200s\n", log, line + 6);
            json_object_put(o);
            bad++;
            continue;
        }
        json_object_array_add(a, o);
    }
    free(line);
    fclose(f);
    rc = write_json(out, a);
    json_object_put(a);
    return rc || bad;
}

static int normalize(const char *path)
{
    json_object *o = read_json(path), *a;
    int rc;
    if (!o) {
        return 1;
    }
    if (!json_object_is_type(o, json_type_object) || json_object_object_get_ex(o, "bench", NULL)) {
        json_object_put(o);
        return 0;               /* already records */
    }
    a = json_object_new_array();
    json_object_object_foreach(o, bench, metrics) {
        if (!json_object_is_type(metrics, json_type_object)) {
            continue;
        }
        json_object_object_foreach(metrics, metric, value) {
            json_object *r = json_object_new_object();
            json_object_object_add(r, "bench", json_object_new_string(bench));
            json_object_object_add(r, "metric", json_object_new_string(metric));
            json_object_object_add(r, "value", json_object_get(value));
            json_object_array_add(a, r);
        }
    }
    rc = write_json(path, a);
    json_object_put(a);
    json_object_put(o);
    return rc;
}

/* The first record of array @a with bench @bench (NULL: any) and metric @metric. */
static json_object *find(json_object *a, const char *bench, const char *metric)
{
    size_t n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *r = json_object_array_get_idx(a, i), *b, *m;
        if (json_object_object_get_ex(r, "metric", &m) &&
            !strcmp(json_object_get_string(m), metric) &&
            (!bench || (json_object_object_get_ex(r, "bench", &b) &&
                        !strcmp(json_object_get_string(b), bench)))) {
            return r;
        }
    }
    return NULL;
}

static double num(json_object *r, const char *key)
{
    json_object *v;
    return r && json_object_object_get_ex(r, key, &v) && v ? json_object_get_double(v) : NAN;
}

static void add_join(json_object *out, const char *bench, const char *metric, double value,
                     const char *unit, double baseline, const char *baseline_name,
                     const char *target)
{
    json_object *r = json_object_new_object();
    if (!isfinite(value) || !isfinite(baseline) || baseline == 0) {
        json_object_put(r);
        return;
    }
    json_object_object_add(r, "bench", json_object_new_string(bench));
    json_object_object_add(r, "metric", json_object_new_string(metric));
    json_object_object_add(r, "value", json_object_new_double(value));
    json_object_object_add(r, "unit", json_object_new_string(unit));
    json_object_object_add(r, "baseline", json_object_new_double(baseline));
    json_object_object_add(r, "baseline_name", json_object_new_string(baseline_name));
    json_object_object_add(r, "ratio", json_object_new_double(value / baseline));
    if (target) {
        json_object_object_add(r, "target", json_object_new_string(target));
    }
    json_object_array_add(out, r);
}

/* The card's LLM decode vs the CPU reference natively and vs the host
 * memory roofline; the runtime's pinned copies vs host memcpy. */
static int join(const char *vm_path, const char *host_path, const char *out_path)
{
    json_object *vm = read_json(vm_path), *host = read_json(host_path), *out;
    json_object *ref, *mc, *b1, *b8;
    regex_t re;
    int rc;
    if (!vm || !host) {
        json_object_put(vm);
        json_object_put(host);
        return 1;
    }
    out = json_object_new_array();
    ref = find(host, NULL, "CPU ref decode tok/s (native)");
    mc = find(host, NULL, "host memcpy (64 MiB)");
    b1 = find(vm, "llm", "decode tok/s b1 (card)");
    b8 = find(vm, "llm", "decode tok/s b8 (card)");
    if (b1) {
        double v = num(b1, "value");
        double roof = round(num(mc, "bytes_per_s") / num(b1, "weight_bytes") * 1000) / 1000;
        add_join(out, "llm", "decode tok/s b1 vs native CPU ref", v, "tok/s", num(ref, "value"),
                 "CPU ref native 1T", ">= 1.0");
        add_join(out, "llm", "decode tok/s b1 vs host roofline", v, "tok/s", roof,
                 "host memcpy roofline", ">= 0.5");
    }
    if (b8) {
        add_join(out, "llm", "decode tok/s b8 vs native CPU ref", num(b8, "value"), "tok/s",
                 num(ref, "value"), "CPU ref native 1T", NULL);
    }
    regcomp(&re, "^(H2D|D2H) pinned", REG_EXTENDED | REG_NOSUB);
    for (size_t i = 0; i < json_object_array_length(vm); i++) {
        json_object *r = json_object_array_get_idx(vm, i), *b, *m;
        char metric[256];
        if (!json_object_object_get_ex(r, "bench", &b) || strcmp(json_object_get_string(b), "runtime") ||
            !json_object_object_get_ex(r, "metric", &m) ||
            regexec(&re, json_object_get_string(m), 0, NULL, 0)) {
            continue;
        }
        snprintf(metric, sizeof(metric), "%s vs host", json_object_get_string(m));
        add_join(out, "runtime", metric, num(r, "value"), "GB/s", num(mc, "value"), "host memcpy",
                 ">= 0.5");
    }
    regfree(&re);
    rc = write_json(out_path, out);
    json_object_put(out);
    json_object_put(vm);
    json_object_put(host);
    return rc;
}

static int merge(const char *out_path, const char *machine, int n, char **files)
{
    json_object *root = json_object_new_object(), *res = json_object_new_array();
    char date[32];
    time_t t = time(NULL);
    int rc, bad = 0;
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    for (int i = 0; i < n; i++) {
        json_object *o = read_json(files[i]);
        if (!o) {
            bad++;
            continue;
        }
        if (json_object_is_type(o, json_type_array)) {
            for (size_t k = 0; k < json_object_array_length(o); k++) {
                json_object_array_add(res, json_object_get(json_object_array_get_idx(o, k)));
            }
        } else {
            json_object_array_add(res, json_object_get(o));
        }
        json_object_put(o);
    }
    json_object_object_add(root, "date", json_object_new_string(date));
    json_object_object_add(root, "machine", json_object_new_string(machine));
    json_object_object_add(root, "results", res);
    rc = write_json(out_path, root);
    json_object_put(root);
    return rc || bad;
}

static const char *str(json_object *r, const char *key, char *buf, size_t len)
{
    json_object *v;
    if (!json_object_object_get_ex(r, key, &v) || !v) {
        return "";
    }
    if (json_object_is_type(v, json_type_double)) {
        snprintf(buf, len, "%.6g", json_object_get_double(v));
        return buf;
    }
    return json_object_get_string(v);
}

static int table(const char *path)
{
    json_object *o = read_json(path), *res;
    if (!o || !json_object_object_get_ex(o, "results", &res)) {
        json_object_put(o);
        return 1;
    }
    printf("%-14s %-34s %14s %-8s %14s %-22s %8s %s\n", "bench", "metric", "value", "unit",
           "baseline", "baseline name", "ratio", "target");
    for (size_t i = 0; i < json_object_array_length(res); i++) {
        json_object *r = json_object_array_get_idx(res, i);
        char b1[32], b2[32], b3[32], b4[8];
        double ratio = num(r, "ratio");
        if (isfinite(ratio)) {
            snprintf(b3, sizeof(b3), "%.2f", ratio);
        } else {
            b3[0] = 0;
        }
        /* Numbers format into b1 (value) and b2 (baseline); the rest are strings. */
        printf("%-14s %-34s %14.14s %-8s %14.14s %-22s %8s %s\n", str(r, "bench", b4, sizeof(b4)),
               str(r, "metric", b4, sizeof(b4)), str(r, "value", b1, sizeof(b1)),
               str(r, "unit", b4, sizeof(b4)), str(r, "baseline", b2, sizeof(b2)),
               str(r, "baseline_name", b4, sizeof(b4)), b3, str(r, "target", b4, sizeof(b4)));
    }
    json_object_put(o);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "collect")) {
        return collect(argv[2], argv[3]);
    }
    if (argc == 3 && !strcmp(argv[1], "normalize")) {
        return normalize(argv[2]);
    }
    if (argc == 5 && !strcmp(argv[1], "join")) {
        return join(argv[2], argv[3], argv[4]);
    }
    if (argc >= 4 && !strcmp(argv[1], "merge")) {
        return merge(argv[2], argv[3], argc - 4, argv + 4);
    }
    if (argc == 3 && !strcmp(argv[1], "table")) {
        return table(argv[2]);
    }
    fprintf(stderr, "usage: zk-benchjson collect LOG OUT | normalize FILE | join VM HOST OUT |\n"
                    "                    merge OUT MACHINE FILE... | table FILE\n");
    return 2;
}
