/* SPDX-License-Identifier: MIT */
/* device.c - library initialization, device enumeration and properties. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zk_internal.h"

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int initialized;
static int ndevices;
static struct zk_device_st devices[ZK_MAX_DEVICES];

int zk__initialized(void)
{
    int v;
    pthread_mutex_lock(&init_lock);
    v = initialized;
    pthread_mutex_unlock(&init_lock);
    return v;
}

/* Fixed-width "dddd:bb:dd.f" ids sort like the PCI topology. */
static int by_bus_id(const void *a, const void *b)
{
    return strcmp(((const zkio_node *)a)->bus_id, ((const zkio_node *)b)->bus_id);
}

ZK_EXPORT zk_status zk_init(unsigned int flags)
{
    zkio_node nodes[ZK_MAX_DEVICES];
    int n, i;
    zk_status st = ZK_SUCCESS;
    if (flags != 0) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_init: flags 0x%x: must be 0", flags);
    }
    pthread_mutex_lock(&init_lock);
    if (!initialized) {
        n = zkio_enumerate(nodes, ZK_MAX_DEVICES);
        if (n < 0) {
            st = zk__fail_io(n, "zk_init: enumerating devices");
        } else {
            /* Index cards by PCI bus id, as zksmi does, so "-i 0" and
             * zk_device_get(0) name the same card whatever libdrm's order. */
            qsort(nodes, (size_t)n, sizeof(nodes[0]), by_bus_id);
            for (i = 0; i < n; i++) {
                devices[i].index = i;
                devices[i].node = nodes[i];
                if (zk__handle_add(&devices[i], ZK_KIND_DEVICE) != 0) {
                    st = zk__fail(ZK_ERROR_OUT_OF_MEMORY, "zk_init: out of memory");
                    break;
                }
            }
            if (st == ZK_SUCCESS) {
                ndevices = n;
                initialized = 1;
            }
        }
    }
    pthread_mutex_unlock(&init_lock);
    return st;
}

ZK_EXPORT zk_status zk_runtime_get_version(int *version)
{
    if (!version) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_runtime_get_version: version is NULL");
    }
    *version = ZK_RUNTIME_VERSION;
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_device_count(int *count)
{
    if (!count) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_device_count: count is NULL");
    }
    if (!zk__initialized()) {
        return zk__fail(ZK_ERROR_NOT_INITIALIZED, "zk_device_count: call zk_init first");
    }
    *count = ndevices;
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_device_get(zk_device *dev, int index)
{
    if (!dev) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_device_get: dev is NULL");
    }
    if (!zk__initialized()) {
        return zk__fail(ZK_ERROR_NOT_INITIALIZED, "zk_device_get: call zk_init first");
    }
    if (index < 0 || index >= ndevices) {
        return zk__fail(ZK_ERROR_NO_DEVICE, "zk_device_get: index %d, %d device(s) present",
                        index, ndevices);
    }
    *dev = &devices[index];
    return ZK_SUCCESS;
}

/* "dddd:bb:dd.f" or "bb:dd.f" -> canonical lower-case "dddd:bb:dd.f". */
static int parse_bus_id(const char *in, char out[32])
{
    unsigned dom = 0, bus, dev, fn;
    char tail;
    if (sscanf(in, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &tail) == 4) {
        /* full form */
    } else if (sscanf(in, "%x:%x.%x%c", &bus, &dev, &fn, &tail) == 3) {
        dom = 0;
    } else {
        return -1;
    }
    if (dom > 0xffff || bus > 0xff || dev > 0x1f || fn > 7) {
        return -1;
    }
    snprintf(out, 32, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
    return 0;
}

ZK_EXPORT zk_status zk_device_get_by_pci_bus_id(zk_device *dev, const char *bus_id)
{
    char want[32], have[32];
    int i;
    if (!dev || !bus_id) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_device_get_by_pci_bus_id: %s is NULL",
                        !dev ? "dev" : "bus_id");
    }
    if (!zk__initialized()) {
        return zk__fail(ZK_ERROR_NOT_INITIALIZED,
                        "zk_device_get_by_pci_bus_id: call zk_init first");
    }
    if (parse_bus_id(bus_id, want) != 0) {
        return zk__fail(ZK_ERROR_INVALID_VALUE,
                        "zk_device_get_by_pci_bus_id: cannot parse bus id \"%s\"", bus_id);
    }
    for (i = 0; i < ndevices; i++) {
        if (parse_bus_id(devices[i].node.bus_id, have) == 0 && strcmp(have, want) == 0) {
            *dev = &devices[i];
            return ZK_SUCCESS;
        }
    }
    return zk__fail(ZK_ERROR_NOT_FOUND, "zk_device_get_by_pci_bus_id: no zhikai device at %s",
                    want);
}

ZK_EXPORT zk_status zk_device_get_properties(zk_device dev, zk_device_properties *p)
{
    static const uint32_t params[] = {
        ZKIO_PARAM_HW_VERSION, ZKIO_PARAM_HBM_SIZE, ZKIO_PARAM_HBM_STACKS,
        ZKIO_PARAM_NUM_QUEUES, ZKIO_PARAM_FW_VERSION, ZKIO_PARAM_API_VERSION,
        ZKIO_PARAM_CAPS, ZKIO_PARAM_CLOCK_MAX_MHZ, ZKIO_PARAM_HBM_USED,
        ZKIO_PARAM_VA_START, ZKIO_PARAM_VA_SIZE, ZKIO_PARAM_DEVICE_ID,
        ZKIO_PARAM_REVISION,
    };
    uint64_t v[sizeof(params) / sizeof(params[0])];
    zk_device_properties props;
    uint64_t cus = 1;
    size_t i;
    int fd, r = 0;

    if (!p) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_device_get_properties: props is NULL");
    }
    if (!zk__initialized()) {
        return zk__fail(ZK_ERROR_NOT_INITIALIZED, "zk_device_get_properties: call zk_init first");
    }
    if (!zk__handle_ok(dev, ZK_KIND_DEVICE)) {
        return zk__fail(ZK_ERROR_INVALID_HANDLE, "zk_device_get_properties: bad device handle %p",
                        (void *)dev);
    }
    fd = zkio_open(dev->node.path);
    if (fd < 0) {
        return zk__fail_io(fd, dev->node.path);
    }
    for (i = 0; i < sizeof(params) / sizeof(params[0]) && r == 0; i++) {
        r = zkio_get_param(fd, params[i], &v[i]);
    }
    /* Drivers before the parameter: one compute unit. */
    if (r == 0 && (zkio_get_param(fd, ZKIO_PARAM_COMPUTE_UNITS, &cus) != 0 || cus == 0)) {
        cus = 1;
    }
    zkio_close(fd);
    if (r != 0) {
        return zk__fail_io(r, "zk_device_get_properties: GET_PARAM");
    }
    memset(&props, 0, sizeof(props));
    snprintf(props.name, sizeof(props.name), "zhikai ZK100 (rev %u)", (unsigned)v[12]);
    snprintf(props.pci_bus_id, sizeof(props.pci_bus_id), "%s", dev->node.bus_id);
    snprintf(props.node, sizeof(props.node), "%s", dev->node.path);
    snprintf(props.driver_name, sizeof(props.driver_name), "%s", dev->node.driver_name);
    props.driver_version[0] = dev->node.drv_major;
    props.driver_version[1] = dev->node.drv_minor;
    props.driver_version[2] = dev->node.drv_patch;
    props.pci_vendor_id = dev->node.vendor_id ? dev->node.vendor_id : ZK_PCI_VENDOR_ID;
    props.pci_device_id = (uint32_t)v[11];
    props.pci_revision = (uint32_t)v[12];
    props.hw_version = (uint32_t)v[0];
    props.hbm_total = v[1];
    props.hbm_stacks = (uint32_t)v[2];
    props.num_queues = (uint32_t)v[3];
    props.fw_version = (uint32_t)v[4];
    props.api_version = (uint32_t)v[5];
    props.caps = (uint32_t)v[6];
    props.clock_max_mhz = (uint32_t)v[7];
    props.compute_units = cus > UINT32_MAX ? UINT32_MAX : (uint32_t)cus;
    props.hbm_free = v[8] <= v[1] ? v[1] - v[8] : 0;
    props.va_start = v[9];
    props.va_size = v[10];
    props.compute_capability_major = (int)(props.hw_version >> 16);
    props.compute_capability_minor = (int)(props.hw_version & 0xffff);
    *p = props;
    return ZK_SUCCESS;
}
