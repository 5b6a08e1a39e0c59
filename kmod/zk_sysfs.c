// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_sysfs.c - device attributes in the PCI device's sysfs directory.
 * Documented in kmod/Documentation/ABI/testing/sysfs-driver-zhikai.
 */
#include <linux/device.h>
#include <linux/sysfs.h>

#include "zk_drv.h"

static struct zk_device *zk_from_dev(struct device *dev)
{
	struct drm_device *drm = dev_get_drvdata(dev);

	return to_zk_device(drm);
}

/* Read one register under drm_dev_enter; -ENODEV after unplug. */
#define ZK_REG_ATTR(_name, _fmt, _expr)					\
static ssize_t _name##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct zk_device *zdev = zk_from_dev(dev);			\
	ssize_t ret;							\
	int idx;							\
									\
	if (!drm_dev_enter(&zdev->drm, &idx))				\
		return -ENODEV;						\
	ret = sysfs_emit(buf, _fmt "\n", _expr);			\
	drm_dev_exit(idx);						\
	return ret;							\
}									\
static DEVICE_ATTR_RO(_name)

ZK_REG_ATTR(busy_ns, "%llu", zk_rd64(zdev, ZK_REG_BUSY_NS_LO));
ZK_REG_ATTR(ras_ce_count, "%u", zk_rd(zdev, ZK_REG_RAS_CE_COUNT));
ZK_REG_ATTR(ras_ue_count, "%u", zk_rd(zdev, ZK_REG_RAS_UE_COUNT));
ZK_REG_ATTR(heartbeat, "%u", zk_rd(zdev, ZK_REG_HEARTBEAT));
ZK_REG_ATTR(hbm_used_bytes, "%llu", zk_hbm_used(zdev));

static ssize_t fw_version_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct zk_device *zdev = zk_from_dev(dev);
	ssize_t ret;
	u32 v;
	int idx;

	if (!drm_dev_enter(&zdev->drm, &idx))
		return -ENODEV;
	v = zk_rd(zdev, ZK_REG_FW_VERSION);
	ret = sysfs_emit(buf, "%u.%u.%u\n", v >> 16, (v >> 8) & 0xff,
			 v & 0xff);
	drm_dev_exit(idx);
	return ret;
}
static DEVICE_ATTR_RO(fw_version);

static ssize_t utilization_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct zk_device *zdev = zk_from_dev(dev);
	ssize_t ret;
	u32 u;
	int idx;

	if (!drm_dev_enter(&zdev->drm, &idx))
		return -ENODEV;
	u = min(zk_rd(zdev, ZK_REG_UTIL), 10000u);
	ret = sysfs_emit(buf, "%u.%02u\n", u / 100, u % 100);
	drm_dev_exit(idx);
	return ret;
}
static DEVICE_ATTR_RO(utilization);

static ssize_t hbm_total_bytes_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", zk_from_dev(dev)->hbm_size);
}
static DEVICE_ATTR_RO(hbm_total_bytes);

static ssize_t num_queues_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", zk_from_dev(dev)->num_queues);
}
static DEVICE_ATTR_RO(num_queues);

static ssize_t reset_count_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n",
			  atomic_read(&zk_from_dev(dev)->reset_count));
}
static DEVICE_ATTR_RO(reset_count);

static struct attribute *zk_dev_attrs[] = {
	&dev_attr_fw_version.attr,
	&dev_attr_hbm_total_bytes.attr,
	&dev_attr_hbm_used_bytes.attr,
	&dev_attr_busy_ns.attr,
	&dev_attr_utilization.attr,
	&dev_attr_num_queues.attr,
	&dev_attr_reset_count.attr,
	&dev_attr_ras_ce_count.attr,
	&dev_attr_ras_ue_count.attr,
	&dev_attr_heartbeat.attr,
	NULL
};

static const struct attribute_group zk_dev_group = {
	.attrs = zk_dev_attrs,
};

const struct attribute_group *zk_dev_groups[] = {
	&zk_dev_group,
	NULL
};
