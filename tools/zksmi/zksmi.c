/* SPDX-License-Identifier: MIT */
/*
 * zksmi - management CLI of the zhikai inference card, in the conventions of
 * nvidia-smi / ixsmi.  See zksmi(1) (tools/zksmi.1) and --help.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zksmi.h"

#define MAX_FIELDS 64
#define MAX_IDS 64

static void usage(FILE *f)
{
    fputs("usage: zksmi [OPTIONS]\n"
          "       zksmi cdi generate [-o FILE] [--cdi-version=0.5.0|0.6.0]\n"
          "\n"
          "Reports (default: a table of every zhikai device):\n"
          "  -L, --list-devices          one line per device\n"
          "  -q, --query                 detailed view\n"
          "      --query-gpu=FIELD,...   selected fields, CSV (see --help-query-gpu)\n"
          "      --format=csv[,noheader][,nounits]\n"
          "  -j, --json                  JSON (every field, or the --query-gpu ones)\n"
          "  -i, --id=ID[,ID...]         only these devices: index or PCI bus id\n"
          "  -l, --loop=SEC              repeat every SEC seconds (fractions allowed)\n"
          "  -c, --count=N               with -l: stop after N reports\n"
          "  -f, -o, --filename=FILE     write to FILE instead of stdout\n"
          "Actions (root):\n"
          "  -pl, --power-limit=W        set the board power cap in watts\n"
          "  -r, --reset[=device|engine] reset the device (default: device)\n"
          "Containers:\n"
          "      --cdi                   same as 'cdi generate': CDI spec, kind zhikai.io/card\n"
          "      --cdi-version=V         0.5.0 or 0.6.0 (default 0.6.0)\n"
          "\n"
          "  -h, --help  --help-query-gpu  -V, --version\n"
          "Exit status: 0 ok, 1 error, 2 bad arguments, 3 not supported, 4 not root,\n"
          "6 no devices found, 9 driver not loaded.\n",
          f);
}

static int bad_usage(const char *fmt, const char *arg)
{
    fputs("zksmi: ", stderr);
    fprintf(stderr, fmt, arg ? arg : "");
    fputs("\n\n", stderr);
    usage(stderr);
    return ZS_EXIT_USAGE;
}

static void help_fields(void)
{
    int i;
    const zs_field *f;
    puts("Fields for --query-gpu (CSV unit in brackets; JSON numbers use the same unit):");
    for (i = 0; (f = zs_field_at(i)); i++) {
        char n[64];
        snprintf(n, sizeof(n), "%s%s%s%s", zs_field_name(f), zs_field_unit(f) ? " [" : "",
                 zs_field_unit(f) ? zs_field_unit(f) : "", zs_field_unit(f) ? "]" : "");
        printf("  %-28s %s\n", n, zs_field_help(f));
    }
    puts("Unavailable values print as N/A (JSON: null).");
}

static bool is_root(void)
{
    const char *assume = getenv("ZKSMI_ASSUME_ROOT");
    /* Test hook, honoured only against a fake tree. */
    if (*zs_root() && assume && strcmp(assume, "1") == 0) {
        return true;
    }
    return geteuid() == 0;
}

static void timestamp(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, len, "%a %b %e %H:%M:%S %Y", &tm);
}

typedef struct {
    char ids[MAX_IDS][32];
    int nids;
} id_sel;

static bool parse_ids(const char *s, id_sel *sel)
{
    char *dup = strdup(s), *tok, *save = NULL;
    bool ok = true;

    sel->nids = 0;
    if (!dup) {
        return false;
    }
    for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t i, len = strlen(tok);
        bool digits = len > 0 && len < 6, busid = len >= 7 && len < 32;
        for (i = 0; i < len; i++) {
            digits = digits && tok[i] >= '0' && tok[i] <= '9';
            busid = busid && strchr("0123456789abcdefABCDEF:.", tok[i]);
        }
        if (!(digits || (busid && strchr(tok, ':') && strchr(tok, '.'))) || sel->nids >= MAX_IDS) {
            ok = false;
            break;
        }
        snprintf(sel->ids[sel->nids++], sizeof(sel->ids[0]), "%s", tok);
    }
    free(dup);
    return ok && sel->nids > 0;
}

/* Keeps the selected cards (in the order given); -1 + message if one is absent. */
static int select_cards(zs_card *all, int n, const id_sel *sel, zs_card *out)
{
    int i, j, m = 0;

    if (sel->nids == 0) {
        memcpy(out, all, sizeof(*all) * (size_t)n);
        return n;
    }
    for (i = 0; i < sel->nids; i++) {
        const char *id = sel->ids[i];
        int found = -1;
        if (!strchr(id, ':')) {
            long k = strtol(id, NULL, 10);
            if (k < n) {
                found = (int)k;
            }
        } else {
            for (j = 0; j < n; j++) {
                const char *b = all[j].bus_id;
                if (strcasecmp(b, id) == 0 || strcasecmp(b + 5, id) == 0) {
                    found = j;
                }
            }
        }
        if (found < 0) {
            fprintf(stderr, "zksmi: no device with id %s (%d device%s found; see zksmi -L)\n", id, n,
                    n == 1 ? "" : "s");
            return -1;
        }
        for (j = 0; j < m; j++) {
            if (out[j].index == found) {
                break;
            }
        }
        if (j == m) {
            out[m++] = all[found];
        }
    }
    return m;
}

static zs_card all_cards[ZS_MAX_CARDS], cards[ZS_MAX_CARDS];

/* Discovery + selection + processes (+ node queries).  Returns the count or -exit. */
static int collect(const id_sel *sel, bool want_node)
{
    char err[PATH_MAX + 64];
    int n, m, i;

    n = zs_discover(all_cards, ZS_MAX_CARDS, err, sizeof(err));
    if (n < 0) {
        fprintf(stderr, "zksmi: %s\n", err);
    }
    if (n <= 0) {
        fprintf(stderr, "No devices were found\n");
        return -ZS_EXIT_NODEV;
    }
    m = select_cards(all_cards, n, sel, cards);
    if (m < 0) {
        return -ZS_EXIT_USAGE;
    }
    zs_scan_processes(cards, m);
    if (want_node) {
        for (i = 0; i < m; i++) {
            zs_card_read_node(&cards[i]);
        }
    }
    return m;
}

static int do_power_limit(zs_card *cs, int n, double watts)
{
    int i, rc = ZS_EXIT_OK;

    if (!is_root()) {
        fprintf(stderr, "zksmi: --power-limit: insufficient permissions (root required)\n");
        return ZS_EXIT_PERM;
    }
    for (i = 0; i < n; i++) {
        zs_card *c = &cs[i];
        int64_t uw = llround(watts * 1e6);
        char val[32], old[32] = "N/A", now[32];
        int e;

        if (!c->driver_bound) {
            fprintf(stderr, "zksmi: device %d (%s): driver not loaded\n", c->index, c->bus_id);
            return ZS_EXIT_NODRIVER;
        }
        if (!c->hwmon[0] || !c->power_cap_uw.ok) {
            fprintf(stderr, "zksmi: device %d: no power cap (hwmon power1_cap) on this card\n", c->index);
            return ZS_EXIT_UNSUPPORTED;
        }
        if ((c->power_cap_min_uw.ok && uw < c->power_cap_min_uw.v) ||
            (c->power_cap_max_uw.ok && uw > c->power_cap_max_uw.v)) {
            char lo[32] = "?", hi[32] = "?";
            if (c->power_cap_min_uw.ok) {
                zs_fmt_scaled(lo, sizeof(lo), c->power_cap_min_uw.v, 1000000, 2);
            }
            if (c->power_cap_max_uw.ok) {
                zs_fmt_scaled(hi, sizeof(hi), c->power_cap_max_uw.v, 1000000, 2);
            }
            fprintf(stderr, "zksmi: device %d: power limit %.2f W is outside [%s W, %s W]\n", c->index,
                    watts, lo, hi);
            return ZS_EXIT_USAGE;
        }
        zs_fmt_scaled(old, sizeof(old), c->power_cap_uw.v, 1000000, 2);
        snprintf(val, sizeof(val), "%lld", (long long)uw);
        e = zs_write_str(c->hwmon, "power1_cap", val);
        if (e < 0) {
            fprintf(stderr, "zksmi: device %d: writing %s/power1_cap: %s\n", c->index, c->hwmon, strerror(-e));
            rc = (e == -EACCES || e == -EPERM) ? ZS_EXIT_PERM : ZS_EXIT_ERROR;
            continue;
        }
        c->power_cap_uw = zs_read_i64(c->hwmon, "power1_cap");
        snprintf(now, sizeof(now), "N/A");
        if (c->power_cap_uw.ok) {
            zs_fmt_scaled(now, sizeof(now), c->power_cap_uw.v, 1000000, 2);
        }
        printf("Power limit for device %d (%s) was set to %s W from %s W.\n", c->index, c->bus_id, now, old);
    }
    return rc;
}

static int do_reset(zs_card *cs, int n, const char *level)
{
    int i, rc = ZS_EXIT_OK;

    if (!is_root()) {
        fprintf(stderr, "zksmi: --reset: insufficient permissions (root required)\n");
        return ZS_EXIT_PERM;
    }
    for (i = 0; i < n; i++) {
        zs_card *c = &cs[i];
        char dir[PATH_MAX], *slash;
        zs_i64 before = c->reset_count, after;
        int e;

        if (!c->driver_bound) {
            fprintf(stderr, "zksmi: device %d (%s): driver not loaded\n", c->index, c->bus_id);
            return ZS_EXIT_NODRIVER;
        }
        if (!c->reset_knob[0]) {
            fprintf(stderr,
                    "zksmi: device %d: no reset interface: zhikai.ko offers reset only in debugfs "
                    "(/sys/kernel/debug/dri/N/reset); mount debugfs and retry\n", c->index);
            return ZS_EXIT_UNSUPPORTED;
        }
        snprintf(dir, sizeof(dir), "%s", c->reset_knob);
        slash = strrchr(dir, '/');
        *slash = 0;
        e = zs_write_str(dir, "reset", level);
        if (e < 0) {
            fprintf(stderr, "zksmi: device %d: %s reset failed: %s\n", c->index, level, strerror(-e));
            rc = (e == -EACCES || e == -EPERM) ? ZS_EXIT_PERM : ZS_EXIT_ERROR;
            continue;
        }
        after = zs_read_i64(c->sysdir, "reset_count");
        if (before.ok && after.ok) {
            printf("Device %d (%s): %s reset done (reset_count %lld -> %lld).\n", c->index, c->bus_id,
                   level, (long long)before.v, (long long)after.v);
        } else {
            printf("Device %d (%s): %s reset done.\n", c->index, c->bus_id, level);
        }
    }
    return rc;
}

enum {
    OPT_QUERY_GPU = 256, OPT_FORMAT, OPT_CDI, OPT_CDI_VERSION, OPT_HELP_QUERY, OPT_POWER_LIMIT
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { "list-devices", no_argument, NULL, 'L' },
        { "query", no_argument, NULL, 'q' },
        { "query-gpu", required_argument, NULL, OPT_QUERY_GPU },
        { "format", required_argument, NULL, OPT_FORMAT },
        { "json", no_argument, NULL, 'j' },
        { "id", required_argument, NULL, 'i' },
        { "loop", required_argument, NULL, 'l' },
        { "count", required_argument, NULL, 'c' },
        { "filename", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, 'o' },
        { "power-limit", required_argument, NULL, OPT_POWER_LIMIT },
        { "reset", optional_argument, NULL, 'r' },
        { "cdi", no_argument, NULL, OPT_CDI },
        { "cdi-version", required_argument, NULL, OPT_CDI_VERSION },
        { "help-query-gpu", no_argument, NULL, OPT_HELP_QUERY },
        { NULL, 0, NULL, 0 }
    };
    const zs_field *fields[MAX_FIELDS];
    zs_format fmt = { true, true, true };
    id_sel sel = { .nids = 0 };
    bool list = false, query = false, json = false, cdi = false, have_format = false;
    bool have_pl = false, have_loop = false;
    const char *reset = NULL, *outfile = NULL, *cdi_version = "0.6.0";
    double loop = 0, watts = 0;
    long count = -1;
    int nf = 0, opt, i, rc, nargs = 0;
    char *args[argc + 1];
    FILE *out = stdout;

    /* "zksmi cdi generate ...", and nvidia-smi's "-pl W" spelling. */
    args[nargs++] = argv[0];
    i = 1;
    if (argc > 1 && strcmp(argv[1], "cdi") == 0) {
        if (argc < 3 || strcmp(argv[2], "generate") != 0) {
            return bad_usage("unknown command 'cdi %s' (try 'zksmi cdi generate')", argc > 2 ? argv[2] : "");
        }
        cdi = true;
        i = 3;
    }
    for (; i < argc; i++) {
        if (strcmp(argv[i], "-pl") == 0) {
            args[nargs++] = "--power-limit";
        } else if (strncmp(argv[i], "-pl=", 4) == 0) {
            static char buf[64];
            snprintf(buf, sizeof(buf), "--power-limit=%s", argv[i] + 4);
            args[nargs++] = buf;
        } else {
            args[nargs++] = argv[i];
        }
    }
    args[nargs] = NULL;
    opterr = 0;
    while ((opt = getopt_long(nargs, args, ":hVLqji:l:c:f:o:r::", longopts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'h':
            usage(stdout);
            return ZS_EXIT_OK;
        case 'V':
            printf("zksmi %s\n", ZKSMI_VERSION);
            return ZS_EXIT_OK;
        case OPT_HELP_QUERY:
            help_fields();
            return ZS_EXIT_OK;
        case 'L':
            list = true;
            break;
        case 'q':
            query = true;
            break;
        case 'j':
            json = true;
            break;
        case OPT_QUERY_GPU: {
            char bad[64];
            nf = zs_parse_fields(optarg, fields, MAX_FIELDS, bad, sizeof(bad));
            if (nf < 0) {
                return bad_usage("unknown --query-gpu field '%s' (see --help-query-gpu)", bad);
            }
            break;
        }
        case OPT_FORMAT:
            if (!zs_parse_format(optarg, &fmt)) {
                return bad_usage("bad --format '%s' (csv[,noheader][,nounits])", optarg);
            }
            have_format = true;
            break;
        case 'i':
            if (!parse_ids(optarg, &sel)) {
                return bad_usage("bad device id '%s' (index or PCI bus id)", optarg);
            }
            break;
        case 'l':
            errno = 0;
            loop = strtod(optarg, &end);
            if (errno || end == optarg || *end || !isfinite(loop) || loop <= 0 || loop > 86400) {
                return bad_usage("bad --loop interval '%s' (seconds > 0)", optarg);
            }
            have_loop = true;
            break;
        case 'c':
            errno = 0;
            count = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || count <= 0) {
                return bad_usage("bad --count '%s' (integer > 0)", optarg);
            }
            break;
        case 'f':
        case 'o':
            outfile = optarg;
            break;
        case OPT_POWER_LIMIT:
            errno = 0;
            watts = strtod(optarg, &end);
            if (errno || end == optarg || *end || !isfinite(watts) || watts <= 0 || watts > 100000) {
                return bad_usage("bad --power-limit '%s' (watts > 0)", optarg);
            }
            have_pl = true;
            break;
        case 'r':
            reset = optarg ? optarg : "device";
            if (strcmp(reset, "device") != 0 && strcmp(reset, "engine") != 0) {
                return bad_usage("bad --reset level '%s' (device or engine)", reset);
            }
            break;
        case OPT_CDI:
            cdi = true;
            break;
        case OPT_CDI_VERSION:
            if (strcmp(optarg, "0.5.0") != 0 && strcmp(optarg, "0.6.0") != 0) {
                return bad_usage("unsupported --cdi-version '%s' (0.5.0 or 0.6.0)", optarg);
            }
            cdi_version = optarg;
            break;
        case ':':
            if (optopt > 0 && optopt < 256) {
                char o[3] = { '-', (char)optopt, 0 };
                return bad_usage("option '%s' needs an argument", o);
            }
            return bad_usage("option '%s' needs an argument", args[optind - 1]);
        default:
            if (optopt > 0 && optopt < 256) {
                char o[3] = { '-', (char)optopt, 0 };
                return bad_usage("unknown option '%s'", o);
            }
            return bad_usage("unknown option '%s'", args[optind - 1]);
        }
    }
    if (optind < nargs) {
        return bad_usage("unexpected argument '%s'", args[optind]);
    }
    /* One thing at a time. */
    {
        int modes = list + query + (nf > 0 || have_format) + have_pl + (reset != NULL) + cdi;
        if (modes > 1 || (json && (list || query || have_pl || reset || cdi))) {
            return bad_usage("conflicting options%s", "");
        }
    }
    if (have_format && nf == 0) {
        return bad_usage("--format needs --query-gpu%s", "");
    }
    if (json && have_format) {
        return bad_usage("--json and --format exclude each other%s", "");
    }
    if (count > 0 && !have_loop) {
        return bad_usage("--count needs --loop%s", "");
    }
    if (have_loop && (have_pl || reset || cdi)) {
        return bad_usage("--loop only repeats reports%s", "");
    }

    if (have_pl || reset) {
        int n = collect(&sel, false);
        if (n < 0) {
            return -n;
        }
        return have_pl ? do_power_limit(cards, n, watts) : do_reset(cards, n, reset);
    }
    if (outfile) {
        out = fopen(outfile, "w");
        if (!out) {
            fprintf(stderr, "zksmi: %s: %s\n", outfile, strerror(errno));
            return ZS_EXIT_ERROR;
        }
    }
    if (cdi) {
        int n = collect(&sel, false), with_nodes = 0;
        if (n < 0) {
            return -n;
        }
        for (i = 0; i < n; i++) {
            const char *nodes[3];
            if (zs_card_nodes(&cards[i], nodes)) {
                with_nodes++;
            } else {
                fprintf(stderr, "zksmi: device %d (%s): no device node (driver not loaded), left out\n",
                        cards[i].index, cards[i].bus_id);
            }
        }
        if (!with_nodes) {
            fprintf(stderr, "zksmi: no device has a device node; load zhikai.ko first\n");
            return ZS_EXIT_NODRIVER;
        }
        zs_print_cdi(out, cards, n, cdi_version);
        if (out != stdout && fclose(out) != 0) {
            return ZS_EXIT_ERROR;
        }
        if (outfile) {
            fprintf(stderr, "zksmi: wrote CDI spec for %d device%s to %s\n", with_nodes,
                    with_nodes == 1 ? "" : "s", outfile);
        }
        return ZS_EXIT_OK;
    }

    rc = ZS_EXIT_OK;
    for (long iter = 0;; iter++) {
        char ts[64];
        bool want_node = !list;
        int n;

        if (nf > 0) {
            want_node = false;
            for (i = 0; i < nf; i++) {
                const char *name = zs_field_name(fields[i]);
                if (strcmp(name, "driver_version") == 0 || strcmp(name, "clocks.max.sm") == 0) {
                    want_node = true;
                }
            }
        }
        n = collect(&sel, want_node);
        if (n < 0) {
            rc = -n;
            break;
        }
        timestamp(ts, sizeof(ts));
        if (json) {
            zs_print_json(out, cards, n, fields, nf, ts);
        } else if (nf > 0) {
            zs_print_csv(out, cards, n, fields, nf, &fmt, iter == 0);
        } else if (list) {
            zs_print_list(out, cards, n);
        } else if (query) {
            zs_print_query(out, cards, n, ts);
        } else {
            zs_print_table(out, cards, n, ts);
        }
        fflush(out);
        if (!have_loop || (count > 0 && iter + 1 >= count)) {
            break;
        }
        {
            struct timespec d;
            d.tv_sec = (time_t)loop;
            d.tv_nsec = (long)((loop - (double)d.tv_sec) * 1e9);
            while (nanosleep(&d, &d) < 0 && errno == EINTR) {
            }
        }
    }
    if (out != stdout && fclose(out) != 0) {
        rc = ZS_EXIT_ERROR;
    }
    return rc;
}
