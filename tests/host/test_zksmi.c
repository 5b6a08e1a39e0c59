/* SPDX-License-Identifier: MIT */
/*
 * test_zksmi.c - host unit tests of zksmi's parsing, discovery (libpci
 * against a fake sysfs tree from tests/tools/zksmi-fake-tree.sh) and
 * output formatting.  The CLI itself: tests/tools/test_zksmi_cli.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "zksmi.h"

#ifndef ZS_FAKE_TREE
#define ZS_FAKE_TREE "tests/tools/zksmi-fake-tree.sh"
#endif

static char tree[256];

static void make_tree(const char *opts)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "sh '%s' '%s' %s", ZS_FAKE_TREE, tree, opts);
    assert_int_equal(system(cmd), 0);
    setenv("ZKSMI_SYSFS_ROOT", tree, 1);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tree, sizeof(tree), "/tmp/zksmi-test.%d", (int)getpid());
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tree);
    return system(cmd) == 0 ? 0 : -1;
}

/* Captures what fn writes to a FILE. */
typedef struct {
    char *buf;
    size_t len;
    FILE *f;
} cap;

static void cap_open(cap *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
    assert_non_null(c->f);
}

static char *cap_close(cap *c)
{
    fclose(c->f);
    return c->buf;
}

/* ------------------------------------------------------------------ */

static void test_parse_centi(void **state)
{
    int64_t v;
    (void)state;
    assert_true(zs_parse_centi("12.34", &v));
    assert_int_equal(v, 1234);
    assert_true(zs_parse_centi("100.00", &v));
    assert_int_equal(v, 10000);
    assert_true(zs_parse_centi("7", &v));
    assert_int_equal(v, 700);
    assert_true(zs_parse_centi("0.5", &v));
    assert_int_equal(v, 50);
    assert_true(zs_parse_centi("3.999", &v));
    assert_int_equal(v, 399);
    assert_false(zs_parse_centi("", &v));
    assert_false(zs_parse_centi("-1", &v));
    assert_false(zs_parse_centi("1.", &v));
    assert_false(zs_parse_centi("1.2x", &v));
    assert_false(zs_parse_centi("abc", &v));
}

static void test_fmt_scaled(void **state)
{
    char b[32];
    (void)state;
    zs_fmt_scaled(b, sizeof(b), 25300000, 1000000, 2);
    assert_string_equal(b, "25.30");
    zs_fmt_scaled(b, sizeof(b), 42, 1, 0);
    assert_string_equal(b, "42");
    zs_fmt_scaled(b, sizeof(b), 123456789, 1000000, 3);
    assert_string_equal(b, "123.457");
    zs_fmt_scaled(b, sizeof(b), -5000, 1000, 0);
    assert_string_equal(b, "-5");
}

static void test_parse_fields(void **state)
{
    const zs_field *f[8];
    char bad[64];
    (void)state;
    assert_int_equal(zs_parse_fields("index,name,memory.used", f, 8, bad, sizeof(bad)), 3);
    assert_string_equal(zs_field_name(f[0]), "index");
    assert_string_equal(zs_field_name(f[2]), "memory.used");
    assert_string_equal(zs_field_unit(f[2]), "MiB");
    /* nvidia-smi spellings and spaces after commas */
    assert_int_equal(zs_parse_fields("gpu_name, gpu_bus_id,clocks.current.sm", f, 8, bad, sizeof(bad)), 3);
    assert_string_equal(zs_field_name(f[0]), "name");
    assert_string_equal(zs_field_name(f[1]), "pci.bus_id");
    assert_string_equal(zs_field_name(f[2]), "clocks.sm");
    assert_int_equal(zs_parse_fields("index,bogus", f, 8, bad, sizeof(bad)), -1);
    assert_string_equal(bad, "bogus");
    assert_int_equal(zs_parse_fields("", f, 8, bad, sizeof(bad)), -1);
    assert_int_equal(zs_parse_fields(",", f, 8, bad, sizeof(bad)), -1);
    assert_int_equal(zs_parse_fields("a,b,c,d,e,f,g,h,i", f, 8, bad, sizeof(bad)), -1);
    /* every field the issue lists exists */
    {
        static const char *want[] = { "index", "name", "pci.bus_id", "driver_version", "firmware_version",
                                      "memory.total", "memory.used", "memory.free", "utilization.gpu",
                                      "temperature.gpu", "power.draw", "power.limit", "clocks.sm",
                                      "clocks.max.sm", "reset_count", "ras.ce", "ras.ue", "energy" };
        size_t i;
        for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            assert_non_null(zs_field_find(want[i]));
        }
    }
}

static void test_parse_format(void **state)
{
    zs_format fmt;
    (void)state;
    assert_true(zs_parse_format("csv", &fmt));
    assert_true(fmt.csv && fmt.header && fmt.units);
    assert_true(zs_parse_format("csv,noheader", &fmt));
    assert_true(!fmt.header && fmt.units);
    assert_true(zs_parse_format("csv,nounits,noheader", &fmt));
    assert_true(!fmt.header && !fmt.units);
    assert_true(zs_parse_format("csv, nounits", &fmt));
    assert_false(zs_parse_format("noheader", &fmt));     /* csv is required */
    assert_false(zs_parse_format("json", &fmt));
    assert_false(zs_parse_format("csv,bogus", &fmt));
    assert_false(zs_parse_format("", &fmt));
}

static void test_values_unbound(void **state)
{
    zs_card c;
    zs_value v;
    (void)state;
    memset(&c, 0, sizeof(c));
    snprintf(c.name, sizeof(c.name), "Zhikai ZK100");
    snprintf(c.bus_id, sizeof(c.bus_id), "0000:00:05.0");
    c.vendor = 0x1234;
    c.device = 0x5a4b;
    c.index = 2;
    v = zs_field_value(zs_field_find("pci.bus_id"), &c, 3);
    assert_true(v.ok);
    assert_string_equal(v.str, "0000:00:05.0");
    v = zs_field_value(zs_field_find("index"), &c, 3);
    assert_string_equal(v.str, "2");
    v = zs_field_value(zs_field_find("count"), &c, 3);
    assert_string_equal(v.str, "3");
    v = zs_field_value(zs_field_find("pci.device_id"), &c, 3);
    assert_string_equal(v.str, "0x5a4b");
    v = zs_field_value(zs_field_find("driver.loaded"), &c, 3);
    assert_string_equal(v.str, "No");
    assert_false(zs_field_value(zs_field_find("memory.used"), &c, 3).ok);
    assert_false(zs_field_value(zs_field_find("memory.free"), &c, 3).ok);
    assert_false(zs_field_value(zs_field_find("power.draw"), &c, 3).ok);
    assert_false(zs_field_value(zs_field_find("firmware_version"), &c, 3).ok);
    assert_false(zs_field_value(zs_field_find("processes"), &c, 3).ok);
}

static int discover(zs_card *cards)
{
    char err[256];
    return zs_discover(cards, ZS_MAX_CARDS, err, sizeof(err));
}

static zs_card cards[ZS_MAX_CARDS];

static void test_discover(void **state)
{
    const char *nodes[3];
    zs_value v;
    (void)state;
    make_tree("");
    assert_int_equal(discover(cards), 3);             /* 00:02.0 is not a zhikai card */
    assert_string_equal(cards[0].bus_id, "0000:00:03.0");    /* sorted by bus id */
    assert_string_equal(cards[1].bus_id, "0000:00:04.0");
    assert_string_equal(cards[2].bus_id, "0000:00:05.0");
    assert_int_equal(cards[1].index, 1);
    assert_true(cards[0].driver_bound && cards[1].driver_bound);
    assert_false(cards[2].driver_bound);
    assert_int_equal(cards[0].revision, 1);
    assert_string_equal(cards[0].fw_version, "1.2.3");
    assert_string_equal(cards[0].driver_version, "1.0.0");
    assert_string_equal(cards[0].render, "/dev/dri/renderD128");
    assert_string_equal(cards[0].card, "/dev/dri/card0");
    assert_string_equal(cards[1].render, "/dev/dri/renderD129");
    assert_int_equal(zs_card_nodes(&cards[0], nodes), 2);
    assert_string_equal(nodes[0], "/dev/dri/renderD128");
    assert_int_equal(zs_card_nodes(&cards[2], nodes), 0);
    assert_non_null(strstr(cards[0].reset_knob, "/sys/kernel/debug/dri/0/reset"));
    assert_non_null(strstr(cards[1].reset_knob, "/sys/kernel/debug/dri/1/reset"));
    assert_string_equal(cards[2].reset_knob, "");
    assert_non_null(strstr(cards[0].hwmon, "/hwmon/hwmon0"));
    assert_true(cards[0].util_centi.ok);
    assert_int_equal(cards[0].util_centi.v, 1234);
    assert_int_equal(cards[0].power_uw.v, 25300000);
    assert_int_equal(cards[0].temp_mc.v, 45500);
    assert_false(cards[0].clock_max_mhz.ok);        /* only via ioctl, none on a fake tree */

    v = zs_field_value(zs_field_find("memory.used"), &cards[0], 3);
    assert_string_equal(v.str, "12");
    v = zs_field_value(zs_field_find("memory.free"), &cards[0], 3);
    assert_string_equal(v.str, "2036");
    v = zs_field_value(zs_field_find("memory.total"), &cards[0], 3);
    assert_string_equal(v.str, "2048");
    v = zs_field_value(zs_field_find("power.draw"), &cards[0], 3);
    assert_string_equal(v.str, "25.30");
    v = zs_field_value(zs_field_find("power.limit"), &cards[0], 3);
    assert_string_equal(v.str, "150.00");
    v = zs_field_value(zs_field_find("temperature.gpu"), &cards[1], 3);
    assert_string_equal(v.str, "51");
    v = zs_field_value(zs_field_find("utilization.gpu"), &cards[1], 3);
    assert_string_equal(v.str, "99.50");
    v = zs_field_value(zs_field_find("clocks.sm"), &cards[0], 3);
    assert_string_equal(v.str, "1000");
    v = zs_field_value(zs_field_find("energy"), &cards[0], 3);
    assert_string_equal(v.str, "123.457");
    v = zs_field_value(zs_field_find("ras.ce"), &cards[0], 3);
    assert_string_equal(v.str, "2");
    v = zs_field_value(zs_field_find("device_node"), &cards[0], 3);
    assert_string_equal(v.str, "/dev/dri/renderD128");
}

static void test_discover_nodriver_empty_missing(void **state)
{
    char err[256];
    (void)state;
    make_tree("--no-driver");
    assert_int_equal(discover(cards), 3);
    assert_false(cards[0].driver_bound);
    assert_string_equal(cards[0].fw_version, "");
    assert_string_equal(cards[0].hwmon, "");
    make_tree("--empty");
    assert_int_equal(discover(cards), 0);
    setenv("ZKSMI_SYSFS_ROOT", "/nonexistent-zksmi-root", 1);
    assert_int_equal(zs_discover(cards, ZS_MAX_CARDS, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no PCI bus"));
}

static void test_processes(void **state)
{
    int n;
    (void)state;
    make_tree("");
    n = discover(cards);
    zs_scan_processes(cards, n);
    assert_int_equal(cards[0].nprocs, 1);
    assert_int_equal(cards[0].procs[0].pid, 100);
    assert_string_equal(cards[0].procs[0].name, "zk-llm");
    assert_string_equal(cards[0].procs[0].node, "/dev/dri/renderD128");
    assert_int_equal(cards[1].nprocs, 2);       /* 301 holds two nodes, listed once */
    assert_int_equal(cards[1].procs[0].pid, 300);
    assert_int_equal(cards[1].procs[1].pid, 301);
    assert_int_equal(cards[2].nprocs, 0);
    assert_string_equal(zs_field_value(zs_field_find("processes"), &cards[1], n).str, "2");
}

static void test_csv(void **state)
{
    const zs_field *f[8];
    char bad[32], *s;
    zs_format fmt;
    cap c;
    int n;
    (void)state;
    make_tree("");
    n = discover(cards);
    assert_int_equal(zs_parse_fields("index,pci.bus_id,memory.used,power.draw,firmware_version", f, 8, bad,
                                     sizeof(bad)), 5);
    assert_true(zs_parse_format("csv", &fmt));
    cap_open(&c);
    zs_print_csv(c.f, cards, n, f, 5, &fmt, true);
    s = cap_close(&c);
    assert_string_equal(s, "index, pci.bus_id, memory.used [MiB], power.draw [W], firmware_version\n"
                           "0, 0000:00:03.0, 12 MiB, 25.30 W, 1.2.3\n"
                           "1, 0000:00:04.0, 1000 MiB, 30.00 W, 1.2.3\n"
                           "2, 0000:00:05.0, N/A, N/A, N/A\n");
    free(s);
    assert_true(zs_parse_format("csv,noheader,nounits", &fmt));
    cap_open(&c);
    zs_print_csv(c.f, cards, 1, f, 5, &fmt, true);
    s = cap_close(&c);
    assert_string_equal(s, "0, 0000:00:03.0, 12, 25.30, 1.2.3\n");
    free(s);
    /* loop iterations after the first: no header */
    assert_true(zs_parse_format("csv", &fmt));
    cap_open(&c);
    zs_print_csv(c.f, cards, 1, f, 1, &fmt, false);
    s = cap_close(&c);
    assert_string_equal(s, "0\n");
    free(s);
    /* a value with a comma is quoted */
    snprintf(cards[0].name, sizeof(cards[0].name), "Zhikai, \"ZK100\"");
    f[0] = zs_field_find("name");
    cap_open(&c);
    zs_print_csv(c.f, cards, 1, f, 1, &fmt, false);
    s = cap_close(&c);
    assert_string_equal(s, "\"Zhikai, \"\"ZK100\"\"\"\n");
    free(s);
}

static void test_json_cdi_table(void **state)
{
    const zs_field *f[4];
    char bad[32], *s;
    cap c;
    int n;
    (void)state;
    make_tree("");
    n = discover(cards);
    zs_scan_processes(cards, n);

    cap_open(&c);
    zs_print_json(c.f, cards, n, NULL, 0, "now");
    s = cap_close(&c);
    /* Numbers keep zksmi's formatting; N/A and unbound processes are null. */
    assert_non_null(strstr(s, "\"count\": 3"));
    assert_non_null(strstr(s, "\"memory.used\": 12,"));
    assert_non_null(strstr(s, "\"power.draw\": 25.30,"));
    assert_non_null(strstr(s, "\"firmware_version\": \"1.2.3\""));
    assert_non_null(strstr(s, "\"processes\": null"));   /* unbound card */
    assert_non_null(strstr(s, "\"memory.used\": null"));
    {
        json_object *o = json_tokener_parse(s), *d, *d0, *p, *v;
        assert_non_null(o);
        assert_true(json_object_object_get_ex(o, "devices", &d));
        assert_int_equal(json_object_array_length(d), 3);
        d0 = json_object_array_get_idx(d, 0);
        assert_true(json_object_object_get_ex(d0, "processes", &p));
        assert_int_equal(json_object_array_length(p), 1);
        p = json_object_array_get_idx(p, 0);
        assert_true(json_object_object_get_ex(p, "pid", &v));
        assert_int_equal(json_object_get_int(v), 100);
        assert_true(json_object_object_get_ex(p, "name", &v));
        assert_string_equal(json_object_get_string(v), "zk-llm");
        assert_true(json_object_object_get_ex(p, "node", &v));
        assert_string_equal(json_object_get_string(v), "/dev/dri/renderD128");
        json_object_put(o);
    }
    free(s);

    assert_int_equal(zs_parse_fields("index,name", f, 4, bad, sizeof(bad)), 2);
    cap_open(&c);
    zs_print_json(c.f, cards, 1, f, 2, "t\"q");
    s = cap_close(&c);
    assert_string_equal(s, "{\n  \"zksmi_version\": \"" ZKSMI_VERSION "\",\n  \"timestamp\": \"t\\\"q\",\n"
                           "  \"driver_version\": \"1.0.0\",\n  \"count\": 1,\n  \"devices\": [\n"
                           "    {\n      \"index\": 0,\n      \"name\": \"Zhikai ZK100\"\n    }\n  ]\n}\n");
    free(s);

    cap_open(&c);
    zs_print_cdi(c.f, cards, n, "0.6.0");
    s = cap_close(&c);
    assert_non_null(strstr(s, "\"cdiVersion\": \"0.6.0\""));
    assert_non_null(strstr(s, "\"kind\": \"zhikai.io/card\""));
    assert_non_null(strstr(s, "\"name\": \"0\""));
    assert_non_null(strstr(s, "\"name\": \"1\""));
    assert_null(strstr(s, "\"name\": \"2\""));           /* no node: left out */
    assert_non_null(strstr(s, "\"name\": \"all\""));
    assert_non_null(strstr(s, "\"path\": \"/dev/dri/renderD128\",\n"));
    assert_non_null(strstr(s, "\"permissions\": \"rw\""));
    assert_non_null(strstr(s, "\"zhikai.io/pci-bus-id\": \"0000:00:04.0\""));
    {
        json_object *o = json_tokener_parse(s);
        assert_non_null(o);
        json_object_put(o);
    }
    free(s);
    cap_open(&c);
    zs_print_cdi(c.f, cards, n, "0.5.0");
    s = cap_close(&c);
    assert_null(strstr(s, "annotations"));
    free(s);

    cap_open(&c);
    zs_print_table(c.f, cards, n, "now");
    s = cap_close(&c);
    assert_non_null(strstr(s, "0000:00:03.0"));
    assert_non_null(strstr(s, "12 / 2048 MiB"));
    assert_non_null(strstr(s, "25W / 150W"));
    assert_non_null(strstr(s, "driver not loaded"));
    assert_non_null(strstr(s, "zk-llm"));
    free(s);

    cap_open(&c);
    zs_print_query(c.f, cards, n, "now");
    s = cap_close(&c);
    assert_non_null(strstr(s, "Attached Devices                      : 3"));
    assert_non_null(strstr(s, "Power Limit                   : 150.00 W"));
    assert_non_null(strstr(s, "Max Engine                    : N/A"));
    free(s);
}

static void test_write(void **state)
{
    char v[32];
    (void)state;
    make_tree("");
    discover(cards);
    assert_int_equal(zs_write_str(cards[0].hwmon, "power1_cap", "120000000"), 0);
    assert_int_equal(zs_read_str(cards[0].hwmon, "power1_cap", v, sizeof(v)), 0);
    assert_string_equal(v, "120000000");
    assert_true(zs_write_str(cards[0].hwmon, "nonexistent/x", "1") < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_centi),
        cmocka_unit_test(test_fmt_scaled),
        cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_parse_format),
        cmocka_unit_test(test_values_unbound),
        cmocka_unit_test(test_discover),
        cmocka_unit_test(test_discover_nodriver_empty_missing),
        cmocka_unit_test(test_processes),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_json_cdi_table),
        cmocka_unit_test(test_write),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, setup, teardown);
}
