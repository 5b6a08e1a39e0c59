/* SPDX-License-Identifier: MIT */
/*
 * zs_discover.c - finds zhikai cards with libpci (vendor/device id from
 * include/zhikai_hw.h), independent of the driver, then maps each to its
 * sysfs directory.  libpci reads ROOT/sys/bus/pci (ZKSMI_SYSFS_ROOT) so the
 * host tests can hand it a fake tree.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pci/pci.h>

#include "zhikai_hw.h"
#include "zksmi.h"

/* libpci's error callback must not return. */
static void PCI_NONRET pci_fatal(char *msg, ...)
{
    va_list ap;
    fputs("zksmi: libpci: ", stderr);
    va_start(ap, msg);
    vfprintf(stderr, msg, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(ZS_EXIT_ERROR);
}

static void pci_quiet(char *msg, ...)
{
    (void)msg;
}

static int cmp_card(const void *a, const void *b)
{
    return strcmp(((const zs_card *)a)->bus_id, ((const zs_card *)b)->bus_id);
}

int zs_discover(zs_card *cards, int max, char *err, size_t errlen)
{
    char sysbus[PATH_MAX], devs[PATH_MAX + 16];
    struct pci_access *pacc;
    struct pci_dev *d;
    struct stat st;
    int n = 0, i;

    zs_path(sysbus, sizeof(sysbus), "/sys/bus/pci");
    snprintf(devs, sizeof(devs), "%s/devices", sysbus);
    if (stat(devs, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: no PCI bus in sysfs", devs);
        return -1;
    }
    pacc = pci_alloc();
    pacc->error = pci_fatal;
    pacc->warning = pci_quiet;
    pacc->debug = pci_quiet;
    pacc->method = PCI_ACCESS_SYS_BUS_PCI;
    if (pci_set_param(pacc, "sysfs.path", sysbus) < 0) {
        snprintf(err, errlen, "libpci has no sysfs.path parameter");
        pci_cleanup(pacc);
        return -1;
    }
    pci_init(pacc);
    pci_scan_bus(pacc);
    for (d = pacc->devices; d; d = d->next) {
        zs_card *c;
        pci_fill_info(d, PCI_FILL_IDENT | PCI_FILL_CLASS);
        if (d->vendor_id != ZK_PCI_VENDOR_ID || d->device_id != ZK_PCI_DEVICE_ID) {
            continue;
        }
        if (n >= max) {
            break;
        }
        c = &cards[n++];
        memset(c, 0, sizeof(*c));
        snprintf(c->bus_id, sizeof(c->bus_id), "%04x:%02x:%02x.%x", d->domain & 0xffff,
                 d->bus, d->dev, d->func);
        c->vendor = d->vendor_id;
        c->device = d->device_id;
        c->pci_class = d->device_class;
        snprintf(c->name, sizeof(c->name), "Zhikai ZK100");
        if (strlen(devs) + strlen(c->bus_id) + 2 > sizeof(c->sysdir)) {
            n--;
            continue;
        }
        zs_strlcpy(c->sysdir, devs, sizeof(c->sysdir));
        strcat(c->sysdir, "/");
        strcat(c->sysdir, c->bus_id);
    }
    pci_cleanup(pacc);
    qsort(cards, n, sizeof(*cards), cmp_card);
    for (i = 0; i < n; i++) {
        cards[i].index = i;
        zs_card_read_sysfs(&cards[i]);
    }
    return n;
}
