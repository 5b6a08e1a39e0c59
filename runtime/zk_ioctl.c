/* SPDX-License-Identifier: MIT */
/*
 * zk_ioctl.c - thin wrappers around the zhikai uapi and DRM core.
 * The only file of the runtime that includes the uapi header.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <xf86drm.h>
#include "zhikai_accel.h"
#include "zk_ioctl.h"

_Static_assert(sizeof(struct drm_zhikai_job) == 64, "uapi job layout");
_Static_assert(ZKIO_BO_HOST == DRM_ZHIKAI_BO_HOST, "bo flag mirror");
_Static_assert(ZKIO_JOB_TIMEDOUT == DRM_ZHIKAI_JOB_TIMEDOUT, "status mirror");
_Static_assert(ZKIO_PARAM_CTX_ID == DRM_ZHIKAI_PARAM_CTX_ID, "param mirror");
_Static_assert(ZKIO_MAX_JOBS == DRM_ZHIKAI_MAX_JOBS, "limit mirror");
_Static_assert(ZKIO_MAX_JOB_BOS == DRM_ZHIKAI_MAX_JOB_BOS, "limit mirror");
_Static_assert(ZKIO_MAX_CMD_BYTES == DRM_ZHIKAI_MAX_CMD_BYTES, "limit mirror");

static __thread const char *last_call = "";

const char *zkio_last_call(void)
{
    return last_call;
}

static int fail(const char *call)
{
    int e = errno ? errno : EIO;
    last_call = call;
    return -e;
}

static int xioctl(int fd, unsigned long req, void *arg, const char *name)
{
    if (drmIoctl(fd, req, arg) != 0) {
        return fail(name);
    }
    return 0;
}

int64_t zkio_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Fill driver name/version of an open node; 1 if it is zhikai. */
static int probe_fd(int fd, zkio_node *n)
{
    drmVersionPtr v = drmGetVersion(fd);
    int ok;
    if (!v) {
        return 0;
    }
    ok = v->name && strcmp(v->name, "zhikai") == 0;
    if (ok) {
        snprintf(n->driver_name, sizeof(n->driver_name), "%s", v->name);
        n->drv_major = v->version_major;
        n->drv_minor = v->version_minor;
        n->drv_patch = v->version_patchlevel;
    }
    drmFreeVersion(v);
    return ok;
}

static unsigned long read_sysfs_hex(const char *dir, const char *file)
{
    char p[PATH_MAX], buf[32];
    FILE *f;
    unsigned long v = 0;
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    f = fopen(p, "r");
    if (f) {
        if (fgets(buf, sizeof(buf), f)) {
            v = strtoul(buf, NULL, 16);
        }
        fclose(f);
    }
    return v;
}

/* /dev/accel/accelN (compute accelerator subsystem), unknown to libdrm 2.4.114. */
static int enumerate_accel(zkio_node *nodes, int count, int max)
{
    DIR *d = opendir("/dev/accel");
    struct dirent *de;
    if (!d) {
        return count;
    }
    while (count < max && (de = readdir(d)) != NULL) {
        zkio_node n;
        char sys[PATH_MAX], link[PATH_MAX];
        ssize_t len;
        int fd;
        if (strncmp(de->d_name, "accel", 5) != 0) {
            continue;
        }
        memset(&n, 0, sizeof(n));
        if (strlen(de->d_name) > 40) {
            continue;
        }
        snprintf(n.path, sizeof(n.path), "/dev/accel/%.40s", de->d_name);
        fd = open(n.path, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        if (!probe_fd(fd, &n)) {
            close(fd);
            continue;
        }
        close(fd);
        snprintf(sys, sizeof(sys), "/sys/class/accel/%.40s/device", de->d_name);
        len = readlink(sys, link, sizeof(link) - 1);
        if (len > 0) {
            link[len] = 0;
            snprintf(n.bus_id, sizeof(n.bus_id), "%.31s",
                     strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
        }
        n.vendor_id = read_sysfs_hex(sys, "vendor");
        n.device_id = read_sysfs_hex(sys, "device");
        n.revision = read_sysfs_hex(sys, "revision");
        nodes[count++] = n;
    }
    closedir(d);
    return count;
}

int zkio_enumerate(zkio_node *nodes, int max)
{
    drmDevicePtr devs[64];
    int n, i, count = 0;
    const char *only = getenv("ZK_DEVICE_NODE");

    if (only && *only) {
        zkio_node nd;
        int fd = open(only, O_RDWR | O_CLOEXEC);
        memset(&nd, 0, sizeof(nd));
        if (fd < 0) {
            return fail("open(ZK_DEVICE_NODE)");
        }
        snprintf(nd.path, sizeof(nd.path), "%s", only);
        if (!probe_fd(fd, &nd)) {
            close(fd);
            return 0;
        }
        {
            drmDevicePtr dev = NULL;
            if (drmGetDevice2(fd, DRM_DEVICE_GET_PCI_REVISION, &dev) == 0 && dev) {
                if (dev->bustype == DRM_BUS_PCI) {
                    snprintf(nd.bus_id, sizeof(nd.bus_id), "%04x:%02x:%02x.%x",
                             dev->businfo.pci->domain, dev->businfo.pci->bus,
                             dev->businfo.pci->dev, dev->businfo.pci->func);
                    nd.vendor_id = dev->deviceinfo.pci->vendor_id;
                    nd.device_id = dev->deviceinfo.pci->device_id;
                    nd.revision = dev->deviceinfo.pci->revision_id;
                }
                drmFreeDevice(&dev);
            }
        }
        close(fd);
        if (max > 0) {
            nodes[0] = nd;
        }
        return 1;
    }

    n = drmGetDevices2(DRM_DEVICE_GET_PCI_REVISION, devs, 64);
    for (i = 0; i < n && count < max; i++) {
        drmDevicePtr d = devs[i];
        zkio_node nd;
        const char *path = NULL;
        int fd;
        if (d->available_nodes & (1 << DRM_NODE_RENDER)) {
            path = d->nodes[DRM_NODE_RENDER];
        } else if (d->available_nodes & (1 << DRM_NODE_PRIMARY)) {
            path = d->nodes[DRM_NODE_PRIMARY];
        }
        if (!path) {
            continue;
        }
        memset(&nd, 0, sizeof(nd));
        snprintf(nd.path, sizeof(nd.path), "%s", path);
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            continue;
        }
        if (!probe_fd(fd, &nd)) {
            close(fd);
            continue;
        }
        close(fd);
        if (d->bustype == DRM_BUS_PCI) {
            snprintf(nd.bus_id, sizeof(nd.bus_id), "%04x:%02x:%02x.%x",
                     d->businfo.pci->domain, d->businfo.pci->bus,
                     d->businfo.pci->dev, d->businfo.pci->func);
            nd.vendor_id = d->deviceinfo.pci->vendor_id;
            nd.device_id = d->deviceinfo.pci->device_id;
            nd.revision = d->deviceinfo.pci->revision_id;
        }
        nodes[count++] = nd;
    }
    if (n > 0) {
        drmFreeDevices(devs, n);
    }
    return enumerate_accel(nodes, count, max);
}

int zkio_open(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return fail("open");
    }
    return fd;
}

void zkio_close(int fd)
{
    close(fd);
}

int zkio_get_param(int fd, uint32_t param, uint64_t *value)
{
    struct drm_zhikai_get_param gp;
    int r;
    memset(&gp, 0, sizeof(gp));
    gp.param = param;
    r = xioctl(fd, DRM_IOCTL_ZHIKAI_GET_PARAM, &gp, "DRM_IOCTL_ZHIKAI_GET_PARAM");
    if (r == 0) {
        *value = gp.value;
    }
    return r;
}

int zkio_bo_create(int fd, uint64_t size, uint32_t flags, uint32_t *handle,
                   uint64_t *device_va)
{
    struct drm_zhikai_bo_create bc;
    int r;
    memset(&bc, 0, sizeof(bc));
    bc.size = size;
    bc.flags = flags;
    r = xioctl(fd, DRM_IOCTL_ZHIKAI_BO_CREATE, &bc, "DRM_IOCTL_ZHIKAI_BO_CREATE");
    if (r == 0) {
        *handle = bc.handle;
        *device_va = bc.device_va;
    }
    return r;
}

int zkio_bo_info(int fd, uint32_t handle, uint64_t *mmap_offset, uint64_t *size)
{
    struct drm_zhikai_bo_info bi;
    int r;
    memset(&bi, 0, sizeof(bi));
    bi.handle = handle;
    r = xioctl(fd, DRM_IOCTL_ZHIKAI_BO_INFO, &bi, "DRM_IOCTL_ZHIKAI_BO_INFO");
    if (r == 0) {
        *mmap_offset = bi.mmap_offset;
        if (size) {
            *size = bi.size;
        }
    }
    return r;
}

int zkio_bo_close(int fd, uint32_t handle)
{
    struct drm_gem_close gc;
    memset(&gc, 0, sizeof(gc));
    gc.handle = handle;
    return xioctl(fd, DRM_IOCTL_GEM_CLOSE, &gc, "DRM_IOCTL_GEM_CLOSE");
}

int zkio_bo_mmap(int fd, uint64_t mmap_offset, size_t size, void **out)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                   (off_t)mmap_offset);
    if (p == MAP_FAILED) {
        return fail("mmap");
    }
    *out = p;
    return 0;
}

int zkio_munmap(void *addr, size_t size)
{
    if (munmap(addr, size) != 0) {
        return fail("munmap");
    }
    return 0;
}

int zkio_submit(int fd, zkio_job *jobs, unsigned int count)
{
    struct drm_zhikai_job dj[ZKIO_MAX_JOBS];
    struct drm_zhikai_submit s;
    unsigned int i;
    int r;
    if (count == 0 || count > ZKIO_MAX_JOBS) {
        last_call = "DRM_IOCTL_ZHIKAI_SUBMIT";
        return -EINVAL;
    }
    memset(dj, 0, sizeof(dj[0]) * count);
    for (i = 0; i < count; i++) {
        dj[i].queue = jobs[i].queue;
        dj[i].cmd_handle = jobs[i].cmd_handle;
        dj[i].cmd_offset = jobs[i].cmd_offset;
        dj[i].cmd_size = jobs[i].cmd_size;
        dj[i].bo_count = jobs[i].bo_count;
        dj[i].bo_handles = (uintptr_t)jobs[i].bo_handles;
        dj[i].in_syncobj = jobs[i].in_syncobj;
        dj[i].out_syncobj = jobs[i].out_syncobj;
    }
    memset(&s, 0, sizeof(s));
    s.jobs = (uintptr_t)dj;
    s.job_count = count;
    s.job_stride = sizeof(dj[0]);
    r = xioctl(fd, DRM_IOCTL_ZHIKAI_SUBMIT, &s, "DRM_IOCTL_ZHIKAI_SUBMIT");
    if (r == 0) {
        for (i = 0; i < count; i++) {
            jobs[i].seqno = dj[i].seqno;
        }
    }
    return r;
}

int zkio_wait(int fd, uint64_t seqno, int64_t deadline_ns, uint32_t *status)
{
    struct drm_zhikai_wait w;
    int r;
    memset(&w, 0, sizeof(w));
    w.seqno = seqno;
    w.timeout_ns = deadline_ns;
    r = xioctl(fd, DRM_IOCTL_ZHIKAI_WAIT, &w, "DRM_IOCTL_ZHIKAI_WAIT");
    if (r == 0 && status) {
        *status = w.status;
    }
    return r;
}

int zkio_syncobj_create(int fd, uint32_t *handle)
{
    if (drmSyncobjCreate(fd, 0, handle) != 0) {
        return fail("DRM_IOCTL_SYNCOBJ_CREATE");
    }
    return 0;
}

int zkio_syncobj_destroy(int fd, uint32_t handle)
{
    if (drmSyncobjDestroy(fd, handle) != 0) {
        return fail("DRM_IOCTL_SYNCOBJ_DESTROY");
    }
    return 0;
}
