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

/* Read one register under zk_dev_enter (awake); -ENODEV after unplug. */
#define ZK_REG_ATTR(_name, _fmt, _expr)					\
static ssize_t _name##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct zk_device *zdev = zk_from_dev(dev);			\
	ssize_t ret;							\
	int idx;							\
									\
	if (!zk_dev_enter(zdev, &idx))				\
		return -ENODEV;						\
	ret = sysfs_emit(buf, _fmt "\n", _expr);			\
	zk_dev_exit(zdev, idx);						\
	return ret;							\
}									\
static DEVICE_ATTR_RO(_name)

ZK_REG_ATTR(busy_ns, "%llu", zk_rd64_latched(zdev, ZK_REG_BUSY_NS_LO));
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

	if (!zk_dev_enter(zdev, &idx))
		return -ENODEV;
	v = zk_rd(zdev, ZK_REG_FW_VERSION);
	ret = sysfs_emit(buf, "%u.%u.%u\n", v >> 16, (v >> 8) & 0xff,
			 v & 0xff);
	zk_dev_exit(zdev, idx);
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

	if (!zk_dev_enter(zdev, &idx))
		return -ENODEV;
	u = min(zk_rd(zdev, ZK_REG_UTIL), 10000u);
	ret = sysfs_emit(buf, "%u.%02u\n", u / 100, u % 100);
	zk_dev_exit(zdev, idx);
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

/*
 * perf/: the card performance model (ZK_CAP_PERF_MODEL, docs/perf-model.md),
 * read-only: its parameters (ZK_REG_PERF_*) and modelled counters
 * (ZK_REG_CARD_*).  Names are the register names without the prefix.
 */
#define ZK_PERF_SHOW(_name, _fmt, _expr)				\
static ssize_t perf_##_name##_show(struct device *dev,			\
				   struct device_attribute *attr,	\
				   char *buf)				\
{									\
	struct zk_device *zdev = zk_from_dev(dev);			\
	ssize_t ret;							\
	int idx;							\
									\
	if (!zk_dev_enter(zdev, &idx))				\
		return -ENODEV;						\
	ret = sysfs_emit(buf, _fmt "\n", _expr);			\
	zk_dev_exit(zdev, idx);						\
	return ret;							\
}									\
static struct device_attribute dev_attr_perf_##_name =			\
	__ATTR(_name, 0444, perf_##_name##_show, NULL)
#define ZK_PERF_ATTR(_name, _reg)					\
	ZK_PERF_SHOW(_name, "%u", zk_rd(zdev, _reg))
#define ZK_PERF_ATTR64(_name, _lo)					\
	ZK_PERF_SHOW(_name, "%llu", zk_rd64_latched(zdev, _lo))

ZK_PERF_ATTR(clock_mhz, ZK_REG_CLOCK_MHZ);
ZK_PERF_ATTR(clock_max_mhz, ZK_REG_CLOCK_MAX_MHZ);
ZK_PERF_ATTR(profile, ZK_REG_PERF_PROFILE);
ZK_PERF_ATTR(hbm_bw_mbs, ZK_REG_PERF_HBM_BW_MBS);
ZK_PERF_ATTR(pcie_bw_mbs, ZK_REG_PERF_PCIE_BW_MBS);
ZK_PERF_ATTR(copy_bw_mbs, ZK_REG_PERF_COPY_BW_MBS);
ZK_PERF_ATTR(fp32_gflops, ZK_REG_PERF_FP32_GFLOPS);
ZK_PERF_ATTR(fp16_gflops, ZK_REG_PERF_FP16_GFLOPS);
ZK_PERF_ATTR(bf16_gflops, ZK_REG_PERF_BF16_GFLOPS);
ZK_PERF_ATTR(int8_gops, ZK_REG_PERF_INT8_GOPS);
ZK_PERF_ATTR(launch_ns, ZK_REG_PERF_LAUNCH_NS);
ZK_PERF_ATTR(dma_setup_ns, ZK_REG_PERF_DMA_SETUP_NS);
ZK_PERF_ATTR(tdp_mw, ZK_REG_PERF_TDP_MW);
ZK_PERF_ATTR(idle_mw, ZK_REG_PERF_IDLE_MW);
ZK_PERF_ATTR(card_clock_mhz, ZK_REG_CARD_CLOCK_MHZ);
ZK_PERF_ATTR(card_power_mw, ZK_REG_CARD_POWER_MW);
ZK_PERF_ATTR64(card_time_ns, ZK_REG_CARD_TIME_LO);
ZK_PERF_ATTR64(card_energy_uj, ZK_REG_CARD_ENERGY_UJ_LO);
ZK_PERF_ATTR64(card_compute_ns, ZK_REG_CARD_COMPUTE_NS_LO);
ZK_PERF_ATTR64(card_memory_ns, ZK_REG_CARD_MEMORY_NS_LO);
ZK_PERF_ATTR64(card_overhead_ns, ZK_REG_CARD_OVERHEAD_NS_LO);
ZK_PERF_ATTR64(card_launches, ZK_REG_CARD_LAUNCHES_LO);
ZK_PERF_ATTR64(card_dmas, ZK_REG_CARD_DMAS_LO);
ZK_PERF_ATTR64(card_hbm_bytes, ZK_REG_CARD_HBM_BYTES_LO);
ZK_PERF_ATTR64(card_pcie_bytes, ZK_REG_CARD_PCIE_BYTES_LO);
ZK_PERF_ATTR64(card_flops_f32, ZK_REG_CARD_FLOPS_LO(0));
ZK_PERF_ATTR64(card_flops_f16, ZK_REG_CARD_FLOPS_LO(1));
ZK_PERF_ATTR64(card_flops_bf16, ZK_REG_CARD_FLOPS_LO(2));
ZK_PERF_ATTR64(card_ops_i8, ZK_REG_CARD_FLOPS_LO(3));

#define PA(_name) (&dev_attr_perf_##_name.attr)
static struct attribute *zk_perf_attrs[] = {
	PA(clock_mhz), PA(clock_max_mhz),
	PA(profile), PA(hbm_bw_mbs), PA(pcie_bw_mbs), PA(copy_bw_mbs),
	PA(fp32_gflops), PA(fp16_gflops), PA(bf16_gflops), PA(int8_gops),
	PA(launch_ns), PA(dma_setup_ns), PA(tdp_mw), PA(idle_mw),
	PA(card_clock_mhz), PA(card_power_mw), PA(card_time_ns),
	PA(card_energy_uj), PA(card_compute_ns), PA(card_memory_ns),
	PA(card_overhead_ns), PA(card_launches), PA(card_dmas),
	PA(card_hbm_bytes), PA(card_pcie_bytes), PA(card_flops_f32),
	PA(card_flops_f16), PA(card_flops_bf16), PA(card_ops_i8),
	NULL
};

#undef PA

static umode_t zk_perf_visible(struct kobject *kobj, struct attribute *attr,
			       int n)
{
	struct device *dev = kobj_to_dev(kobj);

	return (zk_from_dev(dev)->caps & ZK_CAP_PERF_MODEL) ? attr->mode : 0;
}

static const struct attribute_group zk_perf_group = {
	.name = "perf",
	.attrs = zk_perf_attrs,
	.is_visible = zk_perf_visible,
};

const struct attribute_group *zk_dev_groups[] = {
	&zk_dev_group,
	&zk_perf_group,
	NULL
};
