// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_hwmon.c - board telemetry through the hwmon ABI
 * (Documentation/hwmon/sysfs-interface.rst): power in microwatt, energy in
 * microjoule, temperature in millidegree Celsius.  Standard attributes
 * only: the engine clock is perf/clock_mhz (zk_sysfs.c).
 */
#include <linux/hwmon.h>
#include <linux/hwmon-sysfs.h>

#include "zk_drv.h"

static umode_t zk_hwmon_is_visible(const void *data,
				   enum hwmon_sensor_types type, u32 attr,
				   int channel)
{
	const struct zk_device *zdev = data;

	switch (type) {
	case hwmon_power:
		switch (attr) {
		case hwmon_power_cap:
			if (!(zdev->caps & ZK_CAP_POWER_CAP))
				return 0;
			return 0644;
		case hwmon_power_cap_min:
		case hwmon_power_cap_max:
			return (zdev->caps & ZK_CAP_POWER_CAP) ? 0444 : 0;
		case hwmon_power_input:
		case hwmon_power_average:
		case hwmon_power_label:
			return 0444;
		default:
			return 0;
		}
	case hwmon_energy:
	case hwmon_temp:
		return 0444;
	default:
		return 0;
	}
}

static int zk_hwmon_read(struct device *dev, enum hwmon_sensor_types type,
			 u32 attr, int channel, long *val)
{
	struct zk_device *zdev = dev_get_drvdata(dev);
	int idx, ret = 0;

	if (!zk_dev_enter(zdev, &idx))
		return -ENODEV;
	switch (type) {
	case hwmon_power:
		switch (attr) {
		case hwmon_power_input:
			*val = (long)zk_rd(zdev, ZK_REG_POWER_MW) * 1000;
			break;
		case hwmon_power_average:
			*val = (long)zk_rd(zdev, ZK_REG_POWER_AVG_MW) * 1000;
			break;
		case hwmon_power_cap:
			*val = (long)zk_rd(zdev, ZK_REG_POWER_CAP_MW) * 1000;
			break;
		case hwmon_power_cap_min:
			*val = (long)zdev->power_cap_min_mw * 1000;
			break;
		case hwmon_power_cap_max:
			*val = (long)zdev->power_cap_max_mw * 1000;
			break;
		default:
			ret = -EOPNOTSUPP;
		}
		break;
	case hwmon_energy:
		if (attr == hwmon_energy_input)
			*val = (long)zk_rd64_latched(zdev, ZK_REG_ENERGY_UJ_LO);
		else
			ret = -EOPNOTSUPP;
		break;
	case hwmon_temp:
		if (attr == hwmon_temp_input)
			*val = (long)(s32)zk_rd(zdev, ZK_REG_TEMP_MC);
		else
			ret = -EOPNOTSUPP;
		break;
	default:
		ret = -EOPNOTSUPP;
	}
	zk_dev_exit(zdev, idx);
	return ret;
}

static int zk_hwmon_write(struct device *dev, enum hwmon_sensor_types type,
			  u32 attr, int channel, long val)
{
	struct zk_device *zdev = dev_get_drvdata(dev);
	long mw;
	int idx;

	if (type != hwmon_power || attr != hwmon_power_cap)
		return -EOPNOTSUPP;
	mw = val / 1000;
	if (val < 0 || mw < zdev->power_cap_min_mw ||
	    mw > zdev->power_cap_max_mw)
		return -EINVAL;
	if (!zk_dev_enter(zdev, &idx))
		return -ENODEV;
	zk_wr(zdev, ZK_REG_POWER_CAP_MW, mw);
	zk_dev_exit(zdev, idx);
	return 0;
}

static int zk_hwmon_read_string(struct device *dev,
				enum hwmon_sensor_types type, u32 attr,
				int channel, const char **str)
{
	switch (type) {
	case hwmon_power:
		*str = "board";
		return 0;
	case hwmon_energy:
		*str = "board";
		return 0;
	case hwmon_temp:
		*str = "die";
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static const struct hwmon_channel_info *zk_hwmon_info[] = {
	HWMON_CHANNEL_INFO(power, HWMON_P_INPUT | HWMON_P_AVERAGE |
			   HWMON_P_CAP | HWMON_P_CAP_MIN | HWMON_P_CAP_MAX |
			   HWMON_P_LABEL),
	HWMON_CHANNEL_INFO(energy, HWMON_E_INPUT | HWMON_E_LABEL),
	HWMON_CHANNEL_INFO(temp, HWMON_T_INPUT | HWMON_T_LABEL),
	NULL
};

static const struct hwmon_ops zk_hwmon_ops = {
	.is_visible = zk_hwmon_is_visible,
	.read = zk_hwmon_read,
	.read_string = zk_hwmon_read_string,
	.write = zk_hwmon_write,
};

static const struct hwmon_chip_info zk_hwmon_chip = {
	.ops = &zk_hwmon_ops,
	.info = zk_hwmon_info,
};

int zk_hwmon_init(struct zk_device *zdev)
{
	struct device *hwmon;

	hwmon = devm_hwmon_device_register_with_info(&zdev->pdev->dev,
						     ZK_DRIVER_NAME, zdev,
						     &zk_hwmon_chip, NULL);
	if (IS_ERR(hwmon)) {
		drm_err(&zdev->drm, "hwmon registration failed: %ld\n",
			PTR_ERR(hwmon));
		return PTR_ERR(hwmon);
	}
	zdev->hwmon = hwmon;
	return 0;
}
