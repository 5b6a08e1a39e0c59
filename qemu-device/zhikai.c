/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Zhikai virtual LLM-inference accelerator: PCIe function, BAR0 register
 * decode, interrupts, resets and properties.
 *
 * The register map, command formats, MMU and firmware header are defined by
 * include/zhikai_hw.h and documented in qemu-device/README.md.  The device
 * is split by concern:
 *   zhikai.c          this file
 *   zhikai-queue.c    rings, doorbells, per-queue worker threads, commands
 *   zhikai-fw.c       firmware boot handshake and heartbeat
 *   zhikai-power.c    power / thermal / clock model
 *   zhikai-fwcheck.c  firmware image validation (QEMU independent)
 *   zk_mmu.c, zk_engine.c (engine/)  device MMU and compute engine
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/units.h"
#include "qemu/module.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "hw/pci/pci.h"
#include "hw/pci/msix.h"
#include "hw/pci/pcie.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"

#include "qemu/rcu.h"
#include "zhikai.h"
#include "zk_cu.h"
#include "trace.h"

#define ZK_IRQ_VALID_BITS(s) \
    ((uint32_t)((1ull << (s)->num_queues) - 1) | ZK_IRQ_FAULT | ZK_IRQ_EVENT)

int64_t zhikai_host_ns(void)
{
    return get_clock();     /* host monotonic ns */
}

/* ------------------------------------------------------------------ */
/* Interrupts                                                          */
/* ------------------------------------------------------------------ */

static unsigned irq_bit_to_vector(uint32_t bit)
{
    if (bit == ZK_IRQ_FAULT) {
        return ZK_MSIX_VEC_FAULT;
    }
    if (bit == ZK_IRQ_EVENT) {
        return ZK_MSIX_VEC_EVENT;
    }
    return ctz32(bit);
}

/* Deliver what is pending; BQL held. */
static void zhikai_update_irq(ZhikaiState *s, uint32_t fire)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint32_t status = qatomic_read(&s->irq_status);

    fire &= s->irq_mask;
    if (msix_enabled(pdev)) {
        while (fire) {
            uint32_t bit = fire & -fire;
            fire &= ~bit;
            trace_zhikai_irq(irq_bit_to_vector(bit), status);
            msix_notify(pdev, irq_bit_to_vector(bit));
        }
    } else {
        pci_set_irq(pdev, (status & s->irq_mask) != 0);
    }
}

static void zhikai_irq_bh(void *opaque)
{
    ZhikaiState *s = opaque;
    uint32_t fire = qatomic_xchg(&s->irq_pending, 0);

    zhikai_update_irq(s, fire);
}

/*
 * Latch irq_bits in IRQ_STATUS and notify their vectors.  Callable from any
 * thread without locks: delivery happens in a bottom half under the BQL.
 */
void zhikai_raise_irq(ZhikaiState *s, uint32_t irq_bits)
{
    qatomic_or(&s->irq_status, irq_bits);
    qatomic_or(&s->irq_pending, irq_bits);
    qemu_bh_schedule(s->irq_bh);
}

/* ------------------------------------------------------------------ */
/* Resets                                                              */
/* ------------------------------------------------------------------ */

/* How long a reset held up its caller (and the BQL), for ZK_REG_RESET_TIME_US. */
static void zhikai_reset_done(ZhikaiState *s, int64_t t0)
{
    qatomic_set(&s->reset_time_us,
                (uint32_t)MIN((zhikai_host_ns() - t0) / 1000, UINT32_MAX));
}

static void zhikai_engine_reset(ZhikaiState *s)
{
    int64_t t0 = zhikai_host_ns();

    zhikai_queues_reset(s, false);
    zhikai_queues_keep_stuck(s, ZK_STUCK_ENGINE_RESET);
    s->reset_count++;
    zhikai_reset_done(s, t0);
}

/* Full device reset: BAR0 write of ZK_RESET_DEVICE, FLR, system reset. */
static void zhikai_device_reset(ZhikaiState *s)
{
    int64_t t0 = zhikai_host_ns();

    zhikai_queues_reset(s, true);
    zhikai_fw_reset(s);
    qatomic_set(&s->irq_status, 0);
    qatomic_set(&s->irq_pending, 0);
    s->irq_mask = ZK_IRQ_VALID_BITS(s);
    s->scratch = 0;
    s->inject_addr = 0;
    zhikai_power_reset(s);
    /*
     * Fault-injection properties describe a persistently faulty card:
     * they are re-armed by every device reset.
     */
    qatomic_set(&s->inject_dma_fail, s->inject_dma_fail_prop);
    if (s->inject_hang_queue >= 0) {
        zhikai_queue_inject_hang(s, s->inject_hang_queue);
    }
    /* The machine's first reset is the power-on, not a reset to count. */
    if (s->powered_on) {
        s->reset_count++;
    }
    s->powered_on = true;
    if (!msix_enabled(PCI_DEVICE(s))) {
        pci_set_irq(PCI_DEVICE(s), 0);
    }
    zhikai_reset_done(s, t0);
}

static void zhikai_qdev_reset(DeviceState *dev)
{
    ZhikaiState *s = ZHIKAI(dev);

    trace_zhikai_reset(ZK_RESET_DEVICE, "pci");
    zhikai_power_set_d3(s, false);     /* pci.c put PMCSR back to D0 */
    zhikai_device_reset(s);
}

/* ------------------------------------------------------------------ */
/* Fault injection                                                     */
/* ------------------------------------------------------------------ */

static void zhikai_inject(ZhikaiState *s, uint32_t val)
{
    unsigned q = (val >> ZK_INJECT_QUEUE_SHIFT) & 0xff;

    trace_zhikai_inject(val, s->inject_addr);
    if (val & ZK_INJECT_HANG_QUEUE) {
        if (q < s->num_queues) {
            zhikai_queue_inject_hang(s, q);
        } else {
            qemu_log_mask(LOG_GUEST_ERROR, "zhikai: INJECT hang of queue %u "
                          "(only %u queues)\n", q, s->num_queues);
        }
    }
    if (val & (ZK_INJECT_STUCK_QUEUE | ZK_INJECT_STUCK_ENGINE)) {
        if (q < s->num_queues) {
            zhikai_queue_inject_stuck(s, q, val & ZK_INJECT_STUCK_ENGINE ?
                                      ZK_STUCK_ENGINE_RESET :
                                      ZK_STUCK_QUEUE_RESET);
        } else {
            qemu_log_mask(LOG_GUEST_ERROR, "zhikai: INJECT stuck queue %u "
                          "(only %u queues)\n", q, s->num_queues);
        }
    }
    if (val & ZK_INJECT_DMA_FAIL) {
        qatomic_set(&s->inject_dma_fail, true);
    }
    if (val & (ZK_INJECT_MEM_CE | ZK_INJECT_MEM_UE)) {
        if (val & ZK_INJECT_MEM_CE) {
            s->ras_ce_count++;
        }
        if (val & ZK_INJECT_MEM_UE) {
            s->ras_ue_count++;
        }
        s->ras_addr = s->inject_addr;
        zhikai_raise_irq(s, ZK_IRQ_EVENT);
    }
}

/* ------------------------------------------------------------------ */
/* BAR0 registers                                                      */
/* ------------------------------------------------------------------ */

static uint64_t zhikai_global_read(ZhikaiState *s, hwaddr addr)
{
    uint64_t v;

    switch (addr) {
    case ZK_REG_ID:
        return ZK_ID_MAGIC;
    case ZK_REG_VERSION:
        return ZK_HW_VERSION;
    case ZK_REG_CAPS:
        return ZK_CAP_MMU | ZK_CAP_DMA_SGLIST | ZK_CAP_FP16 | ZK_CAP_BF16 |
               ZK_CAP_INT8 | ZK_CAP_POWER_CAP | ZK_CAP_FAULT_INJECT |
               ZK_CAP_CARD_TIME | ZK_CAP_PERF_MODEL | ZK_CAP_HBM_DISCARD |
               ZK_CAP_SIMT;
    case ZK_REG_SCRATCH:
        return s->scratch;
    case ZK_REG_RESET_TIME_US:
        return qatomic_read(&s->reset_time_us);
    case ZK_REG_HBM_SIZE_LO:
        return (uint32_t)s->hbm_size;
    case ZK_REG_HBM_SIZE_HI:
        return s->hbm_size >> 32;
    case ZK_REG_HBM_STACKS:
        return s->hbm_stacks;
    case ZK_REG_NUM_QUEUES:
        return s->num_queues;
    case ZK_REG_COMPUTE_UNITS:
        return s->compute_units;
    case ZK_REG_NUM_VECTORS:
        return ZK_MSIX_VECTORS;
    case ZK_REG_API_VERSION:
        return ZK_API_VERSION;

    case ZK_REG_FW_ADDR_LO:
        return (uint32_t)s->fw_addr;
    case ZK_REG_FW_ADDR_HI:
        return s->fw_addr >> 32;
    case ZK_REG_FW_SIZE:
        return s->fw_size;
    case ZK_REG_STATUS:
        return qatomic_read(&s->state);
    case ZK_REG_BOOT_ERROR:
        return s->boot_error;
    case ZK_REG_FW_VERSION:
        return s->fw_version;
    case ZK_REG_HEARTBEAT:
        return s->heartbeat;
    case ZK_REG_RESET_COUNT:
        return s->reset_count;

    case ZK_REG_IRQ_STATUS:
        return qatomic_read(&s->irq_status);
    case ZK_REG_IRQ_MASK:
        return s->irq_mask;

    case ZK_REG_POWER_MW:
        return s->power_mw;
    case ZK_REG_POWER_AVG_MW:
        return s->power_avg_mw;
    case ZK_REG_POWER_CAP_MW:
        return s->power_cap_mw;
    case ZK_REG_ENERGY_UJ_LO:
        v = zhikai_power_energy_uj(s);
        s->energy_hi_latch = v >> 32;
        return (uint32_t)v;
    case ZK_REG_ENERGY_UJ_HI:
        return s->energy_hi_latch;
    case ZK_REG_TEMP_MC:
        return (uint32_t)s->temp_mc;
    case ZK_REG_CLOCK_MHZ:
        return qatomic_read(&s->clock_mhz);
    case ZK_REG_CLOCK_MAX_MHZ:
        return s->clock_max_mhz;
    case ZK_REG_THROTTLE:
        return s->throttle;
    case ZK_REG_UTIL:
        return s->util;
    case ZK_REG_BUSY_NS_LO:
        v = zhikai_power_busy_ns(s);
        s->busy_hi_latch = v >> 32;
        return (uint32_t)v;
    case ZK_REG_BUSY_NS_HI:
        return s->busy_hi_latch;
    case ZK_REG_POWER_CAP_MIN_MW:
        return s->power_cap_min_mw;
    case ZK_REG_POWER_CAP_MAX_MW:
        return s->power_cap_max_mw;
    case ZK_REG_TIMESTAMP_LO:
        v = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
        s->ts_hi_latch = v >> 32;
        return (uint32_t)v;
    case ZK_REG_TIMESTAMP_HI:
        return s->ts_hi_latch;
    case ZK_REG_CARD_TIME_LO:
        v = zhikai_perf_card_ns(s);
        s->card_hi_latch = v >> 32;
        return (uint32_t)v;
    case ZK_REG_CARD_TIME_HI:
        return s->card_hi_latch;

    case ZK_REG_RAS_CE_COUNT:
        return s->ras_ce_count;
    case ZK_REG_RAS_UE_COUNT:
        return s->ras_ue_count;
    case ZK_REG_RAS_ADDR_LO:
        return (uint32_t)s->ras_addr;
    case ZK_REG_RAS_ADDR_HI:
        return s->ras_addr >> 32;
    case ZK_REG_INJECT_ADDR_LO:
        return (uint32_t)s->inject_addr;
    case ZK_REG_INJECT_ADDR_HI:
        return s->inject_addr >> 32;
    case ZK_REG_BOOT:
    case ZK_REG_RESET:
    case ZK_REG_INJECT:
        return 0;   /* write-only */
    default:
        if (zhikai_perf_read(s, addr, &v)) {
            return v;
        }
        qemu_log_mask(LOG_GUEST_ERROR, "zhikai: read of unknown register "
                      "0x%" HWADDR_PRIx "\n", addr);
        return 0;
    }
}

static void zhikai_global_write(ZhikaiState *s, hwaddr addr, uint32_t val)
{
    uint32_t old;

    switch (addr) {
    case ZK_REG_SCRATCH:
        s->scratch = val;
        break;
    case ZK_REG_FW_ADDR_LO:
        s->fw_addr = deposit64(s->fw_addr, 0, 32, val);
        break;
    case ZK_REG_FW_ADDR_HI:
        s->fw_addr = deposit64(s->fw_addr, 32, 32, val);
        break;
    case ZK_REG_FW_SIZE:
        s->fw_size = val;
        break;
    case ZK_REG_BOOT:
        if (val == ZK_BOOT_KEY) {
            zhikai_fw_boot(s);
        } else {
            qemu_log_mask(LOG_GUEST_ERROR, "zhikai: BOOT written with 0x%x, "
                          "not the boot key\n", val);
        }
        break;
    case ZK_REG_RESET:
        if (val == ZK_RESET_ENGINE) {
            trace_zhikai_reset(val, "engine");
            zhikai_engine_reset(s);
        } else if (val == ZK_RESET_DEVICE) {
            trace_zhikai_reset(val, "device");
            zhikai_device_reset(s);
        } else {
            qemu_log_mask(LOG_GUEST_ERROR, "zhikai: bad RESET value %u\n",
                          val);
        }
        break;
    case ZK_REG_IRQ_STATUS:
        qatomic_and(&s->irq_status, ~val);
        zhikai_update_irq(s, 0);
        break;
    case ZK_REG_IRQ_MASK:
        old = s->irq_mask;
        s->irq_mask = val & ZK_IRQ_VALID_BITS(s);
        /* Newly enabled sources with a latched status fire now. */
        zhikai_update_irq(s, s->irq_mask & ~old & qatomic_read(&s->irq_status));
        break;
    case ZK_REG_POWER_CAP_MW:
        zhikai_power_set_cap(s, val);
        break;
    case ZK_REG_INJECT:
        zhikai_inject(s, val);
        break;
    case ZK_REG_INJECT_ADDR_LO:
        s->inject_addr = deposit64(s->inject_addr, 0, 32, val);
        break;
    case ZK_REG_INJECT_ADDR_HI:
        s->inject_addr = deposit64(s->inject_addr, 32, 32, val);
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR, "zhikai: write 0x%x to read-only or "
                      "unknown register 0x%" HWADDR_PRIx "\n", val, addr);
        break;
    }
}

static uint64_t zhikai_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    ZhikaiState *s = opaque;
    uint64_t val;

    if (addr >= ZK_QREG_BASE) {
        unsigned q = (addr - ZK_QREG_BASE) / ZK_QREG_STRIDE;
        if (q >= s->num_queues) {
            qemu_log_mask(LOG_GUEST_ERROR, "zhikai: read of queue %u "
                          "register (only %u queues)\n", q, s->num_queues);
            return 0;
        }
        val = zhikai_queue_read(s, q, (addr - ZK_QREG_BASE) % ZK_QREG_STRIDE);
    } else {
        val = zhikai_global_read(s, addr);
    }
    trace_zhikai_mmio_read(addr, val);
    return val;
}

static void zhikai_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                              unsigned size)
{
    ZhikaiState *s = opaque;

    trace_zhikai_mmio_write(addr, val);
    if (addr >= ZK_QREG_BASE) {
        unsigned q = (addr - ZK_QREG_BASE) / ZK_QREG_STRIDE;
        if (q >= s->num_queues) {
            qemu_log_mask(LOG_GUEST_ERROR, "zhikai: write to queue %u "
                          "register (only %u queues)\n", q, s->num_queues);
            return;
        }
        zhikai_queue_write(s, q, (addr - ZK_QREG_BASE) % ZK_QREG_STRIDE, val);
    } else {
        zhikai_global_write(s, addr, val);
    }
}

static const MemoryRegionOps zhikai_mmio_ops = {
    .read = zhikai_mmio_read,
    .write = zhikai_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    /* 64-bit accesses are split into LO then HI (the latching order). */
    .valid = {
        .min_access_size = 4,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 4,
    },
};

/* ------------------------------------------------------------------ */
/* Realize / exit                                                      */
/* ------------------------------------------------------------------ */

static void zhikai_realize(PCIDevice *pdev, Error **errp)
{
    ZhikaiState *s = ZHIKAI(pdev);
    uint64_t bar_size;

    if (s->num_queues < 1 || s->num_queues > ZK_MAX_QUEUES) {
        error_setg(errp, "zhikai: queues must be 1..%d", ZK_MAX_QUEUES);
        return;
    }
    if (s->hbm_size < 16 * MiB || (s->hbm_size & (MiB - 1))) {
        error_setg(errp, "zhikai: hbm-size must be a multiple of 1 MiB and "
                   ">= 16 MiB");
        return;
    }
    if (s->hbm_size > 1 * TiB) {
        error_setg(errp, "zhikai: hbm-size must be <= 1 TiB");
        return;
    }
    if (s->hbm_stacks < 1 || s->hbm_stacks > 16 ||
        s->hbm_size % s->hbm_stacks) {
        error_setg(errp, "zhikai: hbm-stacks must be 1..16 and divide "
                   "hbm-size");
        return;
    }
    if (s->compute_units > 256) {
        error_setg(errp, "zhikai: compute-units must be 0 (host cores) .. 256");
        return;
    }
    if (!s->compute_units) {
        s->compute_units = zk_cu_default_count();
    }
    /* Compute-unit threads reach guest memory (SYSMEM pages) via RCU. */
    zk_cu_set_thread_hooks(rcu_register_thread, rcu_unregister_thread);
    /* Profile and model parameters; fills in tdp/idle/cap left at 0. */
    if (!zhikai_perf_realize(s, errp)) {
        return;
    }
    if (s->clock_min_mhz < 1 || s->clock_min_mhz > s->clock_max_mhz ||
        s->clock_step_mhz < 1) {
        error_setg(errp, "zhikai: need 1 <= clock-min-mhz <= clock-max-mhz "
                   "and clock-step-mhz >= 1");
        return;
    }
    if (!s->d3_mw) {
        s->d3_mw = s->idle_mw / 10;
    }
    if (s->idle_mw > s->tdp_mw || s->d3_mw > s->idle_mw ||
        s->power_cap_min_mw > s->power_cap_max_mw) {
        error_setg(errp, "zhikai: need d3-mw <= idle-mw <= tdp-mw and "
                   "power-cap-min-mw <= power-cap-max-mw");
        return;
    }
    if (s->power_window_ms < 1 || s->thermal_tau_ms < 1) {
        error_setg(errp, "zhikai: power-window-ms and thermal-tau-ms must "
                   "be >= 1");
        return;
    }
    if (s->inject_hang_queue >= (int32_t)s->num_queues) {
        error_setg(errp, "zhikai: inject-hang-queue must be -1 or a queue");
        return;
    }

    pci_config_set_interrupt_pin(pdev->config, 1);

    /* BAR0: registers below the MSI-X table, table and PBA above. */
    memory_region_init(&s->bar0, OBJECT(s), "zhikai-bar0", ZK_BAR_REGS_SIZE);
    memory_region_init_io(&s->regs, OBJECT(s), &zhikai_mmio_ops, s,
                          "zhikai-regs", ZK_MSIX_TABLE_OFFSET);
    memory_region_add_subregion(&s->bar0, 0, &s->regs);
    pci_register_bar(pdev, ZK_BAR_REGS, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &s->bar0);

    /* BAR2: HBM, never reserved up front (RAM_NORESERVE). */
    if (!memory_region_init_ram_flags_nomigrate(&s->hbm, OBJECT(s),
                                                "zhikai-hbm", s->hbm_size,
                                                RAM_NORESERVE, errp)) {
        return;
    }
    s->hbm_ptr = memory_region_get_ram_ptr(&s->hbm);
    bar_size = pow2ceil(s->hbm_size);
    memory_region_init(&s->hbm_bar, OBJECT(s), "zhikai-hbm-bar", bar_size);
    memory_region_add_subregion(&s->hbm_bar, 0, &s->hbm);
    pci_register_bar(pdev, ZK_BAR_HBM,
                     PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_TYPE_64 |
                     PCI_BASE_ADDRESS_MEM_PREFETCH, &s->hbm_bar);

    if (pcie_endpoint_cap_init(pdev, 0x80) < 0) {
        error_setg(errp, "zhikai: cannot add the PCIe capability");
        return;
    }
    pcie_cap_flr_init(pdev);
    /*
     * PCI power management: D0 and D3hot.  In D3hot the BARs are closed
     * (pci.c), the engine is off and the board draws d3-mw; HBM keeps its
     * contents (self-refresh).  No_Soft_Reset is 0: the way back to D0
     * resets the function (firmware booted again), see zhikai_write_config.
     */
    if (pci_pm_init(pdev, 0, errp) < 0) {
        return;
    }
    pci_set_word(pdev->config + pdev->pm_cap + PCI_PM_PMC, 3);  /* PM 1.2 */
    pci_set_word(pdev->wmask + pdev->pm_cap + PCI_PM_CTRL,
                 PCI_PM_CTRL_STATE_MASK);
    if (msix_init(pdev, ZK_MSIX_VECTORS, &s->bar0, ZK_BAR_REGS,
                  ZK_MSIX_TABLE_OFFSET, &s->bar0, ZK_BAR_REGS,
                  ZK_MSIX_PBA_OFFSET, 0, errp)) {
        return;
    }
    for (unsigned v = 0; v < ZK_MSIX_VECTORS; v++) {
        msix_vector_use(pdev, v);
    }

    s->irq_bh = qemu_bh_new_guarded(zhikai_irq_bh, s,
                                    &DEVICE(pdev)->mem_reentrancy_guard);
    s->card_time_base = zhikai_host_ns();
    s->irq_mask = ZK_IRQ_VALID_BITS(s);
    qatomic_set(&s->inject_dma_fail, s->inject_dma_fail_prop);

    zhikai_fw_init(s);
    zhikai_power_init(s);
    zhikai_queues_realize(s);
    if (s->inject_hang_queue >= 0) {
        zhikai_queue_inject_hang(s, s->inject_hang_queue);
    }
    s->powered_on = false;
}

static void zhikai_exit(PCIDevice *pdev)
{
    ZhikaiState *s = ZHIKAI(pdev);

    zhikai_power_exit(s);
    zhikai_fw_exit(s);
    zhikai_queues_exit(s);
    zhikai_perf_exit(s);
    if (s->irq_bh) {
        qemu_bh_delete(s->irq_bh);
        s->irq_bh = NULL;
    }
    msix_unuse_all_vectors(pdev);
    msix_uninit(pdev, &s->bar0, &s->bar0);
}

#define ZK_PCI_D0       0
#define ZK_PCI_D3HOT    3

static uint16_t zhikai_pm_state(PCIDevice *pdev)
{
    return pci_get_word(pdev->config + pdev->pm_cap + PCI_PM_CTRL) &
           PCI_PM_CTRL_STATE_MASK;
}

/*
 * Config space: the PCIe FLR bit resets the function (zhikai_qdev_reset);
 * PMCSR moves between D0 and D3hot.  Entering D3hot stops the engine
 * (the driver has drained it); leaving it is a function reset, as
 * No_Soft_Reset = 0 promises, but HBM is kept.
 */
static void zhikai_write_config(PCIDevice *pdev, uint32_t addr, uint32_t val,
                                int len)
{
    ZhikaiState *s = ZHIKAI(pdev);
    uint16_t old = zhikai_pm_state(pdev), new;

    pci_default_write_config(pdev, addr, val, len);
    pcie_cap_flr_write_config(pdev, addr, val, len);
    new = zhikai_pm_state(pdev);
    if (old == new) {
        return;
    }
    trace_zhikai_pm_state(old, new);
    if (new == ZK_PCI_D3HOT) {
        /* Engine and firmware lose power; whatever still ran stops. */
        zhikai_queues_reset(s, true);
        zhikai_fw_reset(s);
        zhikai_power_set_d3(s, true);
    } else if (new == ZK_PCI_D0) {
        zhikai_power_set_d3(s, false);
        zhikai_device_reset(s);
    }
}

static const VMStateDescription zhikai_vmstate = {
    .name = TYPE_ZHIKAI,
    .unmigratable = 1,
};

static const Property zhikai_properties[] = {
    /* The card's 32 GB; host memory is spent only on pages the guest uses. */
    DEFINE_PROP_SIZE("hbm-size", ZhikaiState, hbm_size, 32 * GiB),
    DEFINE_PROP_UINT32("hbm-stacks", ZhikaiState, hbm_stacks, 4),
    DEFINE_PROP_UINT32("queues", ZhikaiState, num_queues, 8),
    /* 0: the profile's TDP (300 W for zk100). */
    DEFINE_PROP_UINT32("power-cap-mw", ZhikaiState, power_cap_default_mw, 0),
    DEFINE_PROP_UINT32("power-cap-min-mw", ZhikaiState, power_cap_min_mw,
                       100000),
    DEFINE_PROP_UINT32("power-cap-max-mw", ZhikaiState, power_cap_max_mw,
                       400000),
    /* 0: the profile's figures (zk100: 300 W, 40 W). */
    DEFINE_PROP_UINT32("tdp-mw", ZhikaiState, tdp_mw, 0),
    DEFINE_PROP_UINT32("idle-mw", ZhikaiState, idle_mw, 0),
    /* 0: a tenth of idle-mw. */
    DEFINE_PROP_UINT32("d3-mw", ZhikaiState, d3_mw, 0),
    DEFINE_PROP_UINT32("clock-max-mhz", ZhikaiState, clock_max_mhz, 1500),
    DEFINE_PROP_UINT32("clock-min-mhz", ZhikaiState, clock_min_mhz, 300),
    DEFINE_PROP_UINT32("clock-step-mhz", ZhikaiState, clock_step_mhz, 50),
    DEFINE_PROP_UINT32("power-window-ms", ZhikaiState, power_window_ms, 10),
    DEFINE_PROP_UINT32("ambient-mc", ZhikaiState, ambient_mc, 35000),
    DEFINE_PROP_UINT32("temp-limit-mc", ZhikaiState, temp_limit_mc, 95000),
    DEFINE_PROP_UINT32("thermal-r-mc-per-w", ZhikaiState, thermal_r_mc_per_w,
                       150),
    DEFINE_PROP_UINT32("thermal-tau-ms", ZhikaiState, thermal_tau_ms, 2000),
    DEFINE_PROP_BOOL("throttle-slowdown", ZhikaiState, throttle_slowdown,
                     true),
    DEFINE_PROP_UINT64("insn-budget", ZhikaiState, insn_budget, 0),
    /* The card's compute units: engine threads that run the workgroups /
     * blocks of one launch in parallel.  0 = the host's online cores. */
    DEFINE_PROP_UINT32("compute-units", ZhikaiState, compute_units, 0),
    DEFINE_PROP_UINT32("heartbeat-ms", ZhikaiState, heartbeat_ms_prop, 0),
    DEFINE_PROP_UINT32("boot-delay-ms", ZhikaiState, boot_delay_ms, 2),
    DEFINE_PROP_BOOL("inject-boot-hang", ZhikaiState, inject_boot_hang, false),
    DEFINE_PROP_INT32("inject-hang-queue", ZhikaiState, inject_hang_queue, -1),
    DEFINE_PROP_BOOL("inject-dma-fail", ZhikaiState, inject_dma_fail_prop,
                     false),
    /* Card performance model (zhikai-perf.c, docs/perf-model.md). */
    DEFINE_PROP_STRING("profile", ZhikaiState, perf_profile_name),
    DEFINE_PROP_UINT64("hbm-bw-mbs", ZhikaiState, perf_hbm_bw_mbs, 0),
    DEFINE_PROP_UINT64("pcie-bw-mbs", ZhikaiState, perf_pcie_bw_mbs, 0),
    DEFINE_PROP_UINT64("copy-bw-mbs", ZhikaiState, perf_copy_bw_mbs, 0),
    DEFINE_PROP_UINT64("fp32-gflops", ZhikaiState, perf_peak_gops[0], 0),
    DEFINE_PROP_UINT64("fp16-gflops", ZhikaiState, perf_peak_gops[1], 0),
    DEFINE_PROP_UINT64("bf16-gflops", ZhikaiState, perf_peak_gops[2], 0),
    DEFINE_PROP_UINT64("int8-gops", ZhikaiState, perf_peak_gops[3], 0),
    DEFINE_PROP_INT32("launch-ns", ZhikaiState, perf_launch_ns, -1),
    DEFINE_PROP_INT32("dma-setup-ns", ZhikaiState, perf_dma_setup_ns, -1),
    DEFINE_PROP_INT32("core-power-pct", ZhikaiState, perf_core_power_pct, -1),
};

static void zhikai_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = zhikai_realize;
    k->exit = zhikai_exit;
    k->config_write = zhikai_write_config;
    k->vendor_id = ZK_PCI_VENDOR_ID;
    k->device_id = ZK_PCI_DEVICE_ID;
    k->revision = ZK_PCI_REVISION;
    k->class_id = ZK_PCI_CLASS;
    dc->desc = "Zhikai LLM inference accelerator";
    dc->vmsd = &zhikai_vmstate;
    device_class_set_legacy_reset(dc, zhikai_qdev_reset);
    device_class_set_props(dc, zhikai_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo zhikai_info = {
    .name          = TYPE_ZHIKAI,
    .parent        = TYPE_PCI_DEVICE,
    .instance_size = sizeof(ZhikaiState),
    .class_init    = zhikai_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_PCIE_DEVICE },
        { }
    },
};

static void zhikai_register_types(void)
{
    type_register_static(&zhikai_info);
}

type_init(zhikai_register_types)
