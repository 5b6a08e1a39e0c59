/* SPDX-License-Identifier: MIT */
/*
 * zs_node.c - what sysfs does not show (yet): the driver's version
 * (DRM_IOCTL_VERSION, when /sys/module/zhikai/version is absent) and the
 * nominal max clock (GET_PARAM CLOCK_MAX_MHZ).  Opening the node creates a
 * short-lived driver context, so this is only done when those values are
 * wanted and after the sysfs values were read; ZKSMI_NO_IOCTL=1 disables it.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zhikai_accel.h"
#include "zksmi.h"

void zs_card_read_node(zs_card *c)
{
    const char *nodes[3], *env = getenv("ZKSMI_NO_IOCTL");
    char path[PATH_MAX];
    struct stat st;
    int fd, n;

    if (!c->driver_bound || (env && *env && strcmp(env, "0") != 0)) {
        return;
    }
    if (c->driver_version[0] && c->clock_max_mhz.ok) {
        return;
    }
    n = zs_card_nodes(c, nodes);
    if (n == 0) {
        return;
    }
    zs_path(path, sizeof(path), nodes[0]);
    if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode)) {
        return;                 /* fake tree (tests) */
    }
    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) {
        return;
    }
    if (!c->driver_version[0]) {
        struct drm_version v;
        memset(&v, 0, sizeof(v));
        if (ioctl(fd, DRM_IOCTL_VERSION, &v) == 0) {
            snprintf(c->driver_version, sizeof(c->driver_version), "%d.%d.%d",
                     v.version_major, v.version_minor, v.version_patchlevel);
        }
    }
    if (!c->clock_max_mhz.ok) {
        struct drm_zhikai_get_param gp;
        memset(&gp, 0, sizeof(gp));
        gp.param = DRM_ZHIKAI_PARAM_CLOCK_MAX_MHZ;
        if (ioctl(fd, DRM_IOCTL_ZHIKAI_GET_PARAM, &gp) == 0) {
            c->clock_max_mhz.ok = true;
            c->clock_max_mhz.v = (int64_t)gp.value;
        }
    }
    close(fd);
}
