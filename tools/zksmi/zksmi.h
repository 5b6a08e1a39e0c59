/* SPDX-License-Identifier: MIT */
/*
 * zksmi.h - internals of zksmi, the zhikai card's management CLI.
 *
 *   zs_sysfs.c    paths (ZKSMI_SYSFS_ROOT), sysfs/hwmon readers, /proc scan
 *   zs_discover.c libpci discovery by vendor/device id, mapping to sysfs
 *   zs_node.c     the few ioctls (DRM version, GET_PARAM clock max)
 *   zs_fields.c   --query-gpu fields, --format parsing, value formatting
 *   zs_output.c   table, -q, CSV, JSON and CDI writers (pure: card -> FILE)
 *   zksmi.c       options and actions
 *
 * Everything except zksmi.c works on zs_card structs and a FILE*, so the
 * host tests drive it against a fake sysfs tree.
 */
#ifndef ZKSMI_H
#define ZKSMI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <limits.h>

#define ZKSMI_VERSION "1.0.0"

/* Exit codes (documented in zksmi(1)); the values follow nvidia-smi's. */
#define ZS_EXIT_OK          0
#define ZS_EXIT_ERROR       1   /* I/O or driver error */
#define ZS_EXIT_USAGE       2   /* bad arguments, incl. -i naming no device */
#define ZS_EXIT_UNSUPPORTED 3   /* the operation has no interface on this card */
#define ZS_EXIT_PERM        4   /* root required */
#define ZS_EXIT_NODEV       6   /* no zhikai device was found */
#define ZS_EXIT_NODRIVER    9   /* needs the driver, which is not bound */

#define ZS_MAX_CARDS 64
#define ZS_MAX_PROCS 32

/* A value that may be missing (driver unloaded, attribute absent). */
typedef struct {
    bool ok;
    int64_t v;
} zs_i64;

typedef struct {
    int pid;
    char name[32];
    char node[64];
} zs_proc;

typedef struct {
    int index;
    char bus_id[16];            /* 0000:00:03.0 */
    unsigned vendor, device, revision, pci_class;
    char name[64];
    bool driver_bound;
    char driver[32];            /* bound driver's name, "" if none */
    char sysdir[PATH_MAX];      /* (root-prefixed) /sys/bus/pci/devices/BDF */
    char hwmon[PATH_MAX];       /* (root-prefixed) .../hwmon/hwmonN or "" */
    char render[64];            /* /dev/dri/renderD128 or "" */
    char card[64];              /* /dev/dri/card0 or "" */
    char accel[64];             /* /dev/accel/accel0 or "" */
    char reset_knob[PATH_MAX];  /* debugfs .../reset or "" */
    char fw_version[32];        /* "" = N/A */
    char driver_version[32];    /* "" = N/A */
    char pm_state[16];          /* power/runtime_status: active, suspended; "" = N/A */
    zs_i64 hbm_total, hbm_used, busy_ns, num_queues, reset_count;
    zs_i64 ras_ce, ras_ue, heartbeat;
    zs_i64 util_centi;          /* utilization in 1/100 % */
    zs_i64 power_uw, power_avg_uw, power_cap_uw, power_cap_min_uw, power_cap_max_uw;
    zs_i64 energy_uj, temp_mc, clock_hz, clock_max_mhz;
    int nprocs;
    zs_proc procs[ZS_MAX_PROCS];
} zs_card;

/* ---- zs_sysfs.c ---- */
/* ZKSMI_SYSFS_ROOT or "" (the real system). */
const char *zs_root(void);
/* root + path into buf; returns buf. */
char *zs_path(char *buf, size_t len, const char *path);
/* Copies src into dst (len bytes), truncating; always NUL-terminated. */
void zs_strlcpy(char *dst, const char *src, size_t len);
/* Reads a whole small file, trailing newline stripped; -1 on error. */
int zs_read_str(const char *dir, const char *file, char *out, size_t len);
zs_i64 zs_read_i64(const char *dir, const char *file);
zs_i64 zs_read_hex(const char *dir, const char *file);
/* "12.34" -> 1234; false if malformed. */
bool zs_parse_centi(const char *s, int64_t *out);
/* Writes a string to dir/file; 0 or -errno. */
int zs_write_str(const char *dir, const char *file, const char *val);
/* Fills the sysfs/hwmon parts of a card whose bus_id and sysdir are set. */
void zs_card_read_sysfs(zs_card *c);
/* Fills procs[] of each card from /proc/<pid>/fd (skips own pid). */
void zs_scan_processes(zs_card *cards, int n);
/* The device nodes of a card, in CDI order (render/accel first). */
int zs_card_nodes(const zs_card *c, const char *nodes[3]);

/* ---- zs_discover.c ---- */
/* Finds every zhikai card (sorted by bus id); returns the count or -1. */
int zs_discover(zs_card *cards, int max, char *err, size_t errlen);

/* ---- zs_node.c ---- */
/* driver_version and clock_max_mhz from the device node (if openable). */
void zs_card_read_node(zs_card *c);

/* ---- zs_fields.c ---- */
typedef enum { ZS_STR, ZS_NUM } zs_kind;

typedef struct zs_field zs_field;
typedef struct {
    zs_kind kind;
    bool ok;                    /* false: N/A */
    char str[128];              /* ZS_STR text, or the formatted number */
} zs_value;

typedef struct {
    bool csv;
    bool header;
    bool units;
} zs_format;

const zs_field *zs_field_find(const char *name);
const char *zs_field_name(const zs_field *f);
const char *zs_field_unit(const zs_field *f);   /* NULL: unitless */
const char *zs_field_help(const zs_field *f);
const zs_field *zs_field_at(int i);             /* NULL past the end */
/* Value of a field for card c (count = number of listed cards). */
zs_value zs_field_value(const zs_field *f, const zs_card *c, int count);
/* "a,b,c" -> fields; returns the count or -1 (bad name copied into bad). */
int zs_parse_fields(const char *list, const zs_field **out, int max,
                    char *bad, size_t badlen);
/* "csv[,noheader][,nounits]" -> fmt; false if malformed. */
bool zs_parse_format(const char *s, zs_format *fmt);
/* Formats v / div with dec decimals. */
void zs_fmt_scaled(char *buf, size_t len, int64_t v, int64_t div, int dec);

/* ---- zs_output.c ---- */
void zs_print_table(FILE *f, const zs_card *cards, int n, const char *timestamp);
void zs_print_query(FILE *f, const zs_card *cards, int n, const char *timestamp);
void zs_print_list(FILE *f, const zs_card *cards, int n);
void zs_print_csv(FILE *f, const zs_card *cards, int n, const zs_field **fields,
                  int nf, const zs_format *fmt, bool header);
/* nf == 0: every field. */
void zs_print_json(FILE *f, const zs_card *cards, int n, const zs_field **fields,
                   int nf, const char *timestamp);
void zs_print_cdi(FILE *f, const zs_card *cards, int n, const char *cdi_version);
/* JSON string literal of s (with quotes). */

#endif
