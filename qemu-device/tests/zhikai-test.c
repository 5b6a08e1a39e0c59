/*
 * QTest for the Zhikai inference accelerator (qemu-device/).
 *
 * Drives BAR0 registers directly: identity, firmware boot (good and
 * corrupted images built here with the zhikai_hw.h header), queue rings
 * with commands in guest RAM, the device MMU (page tables written into HBM
 * through BAR2), DMA round trips, MSI-X, faults, resets, fault injection
 * and the power model.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/units.h"
#include "qemu/timer.h"
#include "libqtest.h"
#include "qobject/qdict.h"
#include "libqos/pci-pc.h"
#include "libqos/malloc-pc.h"
#include "hw/pci/pci_regs.h"
#include "hw/misc/zhikai/zhikai_hw.h"
#include "hw/misc/zhikai/zhikai_isa.h"

#define ZK_SLOT         4
#define ZK_HBM          (64 * MiB)
#define ZK_TIMEOUT_MS   10000

/* HBM layout used by the tests (offsets). */
#define PT_L0           0x0000
#define PT_L1           0x1000
#define PT_L2           0x2000
#define HBM_DATA        0x100000        /* 16 small pages mapped at VA_HBM */
#define HBM_RO          0x200000        /* one read-only page at VA_RO */
#define HBM_FAULT_PAGES 0x300000        /* 2 pages at VA_FAULT, then a hole */
#define HBM_HUGE        0x1000000       /* 16 MiB in 2 MiB pages at VA_HUGE */

#define VA_HBM          0x10000ull
#define VA_SYS          0x40000ull      /* 4 pages of guest RAM */
#define VA_SYS2         0x60000ull      /* 4 more pages of guest RAM */
#define VA_RO           0x80000ull
#define VA_FAULT        0x8e000ull      /* mapped 0x8e000..0x8ffff only */
#define VA_HOLE         0x90000ull
#define VA_HUGE         0x400000ull     /* L1 entries 2..9: 16 MiB */
#define HUGE_BYTES      (16 * MiB)

typedef struct ZkTest {
    QTestState *qts;
    QGuestAllocator alloc;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar bar0, bar2;
    uint64_t sys, sys2;     /* guest RAM behind VA_SYS, VA_SYS2 */
} ZkTest;

typedef struct ZkRing {
    unsigned q;
    uint64_t base;
    uint32_t size;
    uint32_t tail;
} ZkRing;

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static uint32_t rd(ZkTest *t, uint32_t reg)
{
    return qpci_io_readl(t->dev, t->bar0, reg);
}

static void wr(ZkTest *t, uint32_t reg, uint32_t val)
{
    qpci_io_writel(t->dev, t->bar0, reg, val);
}

static uint64_t rd64(ZkTest *t, uint32_t lo)
{
    uint64_t v = rd(t, lo);     /* LO first: latches HI */
    return v | (uint64_t)rd(t, lo + 4) << 32;
}

static uint32_t qrd(ZkTest *t, unsigned q, uint32_t reg)
{
    return rd(t, ZK_QREG(q, reg));
}

static void qwr(ZkTest *t, unsigned q, uint32_t reg, uint32_t val)
{
    wr(t, ZK_QREG(q, reg), val);
}

static void hbm_write64(ZkTest *t, uint64_t off, uint64_t v)
{
    qpci_io_writeq(t->dev, t->bar2, off, v);
}

static uint64_t hbm_read64(ZkTest *t, uint64_t off)
{
    return qpci_io_readq(t->dev, t->bar2, off);
}

static void hbm_write(ZkTest *t, uint64_t off, const void *buf, size_t len)
{
    qpci_memwrite(t->dev, t->bar2, off, buf, len);
}

static void hbm_read(ZkTest *t, uint64_t off, void *buf, size_t len)
{
    qpci_memread(t->dev, t->bar2, off, buf, len);
}

/* QEMU with the card at devfn (bits 8.. = bus) and map its BARs. */
static void zk_start_at(ZkTest *t, const char *args, int devfn,
                        void (*bus_setup)(ZkTest *t))
{
    memset(t, 0, sizeof(*t));
    t->qts = qtest_init(args);
    pc_alloc_init(&t->alloc, t->qts, ALLOC_NO_FLAGS);
    t->bus = qpci_new_pc(t->qts, &t->alloc);
    if (bus_setup) {
        bus_setup(t);
    }
    t->dev = qpci_device_find(t->bus, devfn);
    g_assert(t->dev);
    qpci_device_enable(t->dev);
    /* MSI-X lives in BAR0: qpci_msix_enable maps it for us. */
    qpci_msix_enable(t->dev);
    t->bar0 = t->dev->msix_table_bar;
    t->bar2 = qpci_iomap(t->dev, ZK_BAR_HBM, NULL);
}

static void zk_start(ZkTest *t, const char *extra)
{
    g_autofree char *args = g_strdup_printf(
        "-M q35 -nic none -device zhikai,addr=%02x.0,hbm-size=64M%s",
        ZK_SLOT, extra ? extra : "");

    zk_start_at(t, args, QPCI_DEVFN(ZK_SLOT, 0), NULL);
}

static void zk_stop(ZkTest *t)
{
    g_free(t->dev);
    qpci_free_pc(t->bus);
    alloc_destroy(&t->alloc);
    qtest_quit(t->qts);
}

/* Poll cond for up to ZK_TIMEOUT_MS of host time (workers are threads). */
#define WAIT_FOR(cond) ({                                           \
    bool ok_ = false;                                               \
    for (int i_ = 0; i_ < ZK_TIMEOUT_MS; i_++) {                    \
        if (cond) {                                                 \
            ok_ = true;                                             \
            break;                                                  \
        }                                                           \
        g_usleep(1000);                                             \
    }                                                               \
    ok_;                                                            \
})

/*
 * Like WAIT_FOR, but also advances the virtual clock by 1 ms per poll: the
 * power/thermal model runs on QEMU_CLOCK_VIRTUAL, which only qtest moves.
 */
#define WAIT_TICKING(t, cond) ({                                    \
    bool ok_ = false;                                               \
    for (int i_ = 0; i_ < ZK_TIMEOUT_MS; i_++) {                    \
        if (cond) {                                                 \
            ok_ = true;                                             \
            break;                                                  \
        }                                                           \
        g_usleep(1000);                                             \
        qtest_clock_step((t)->qts, SCALE_MS);                       \
    }                                                               \
    ok_;                                                            \
})

/* CRC32 (IEEE, zlib-compatible), bitwise. */
static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffff;

    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
        }
    }
    return ~crc;
}

enum { IMG_GOOD, IMG_BAD_CRC, IMG_BAD_MAGIC, IMG_BAD_API, IMG_TRUNCATED };

/* Build a firmware image; returns its length (what FW_SIZE is set to). */
static size_t make_image(uint8_t **out, int kind)
{
    static const char payload[] = "zhikai qtest firmware payload 0123456789";
    size_t hsz = sizeof(struct zk_fw_header), plen = sizeof(payload);
    size_t len = hsz + plen;
    uint8_t *img = g_malloc0(len);
    struct zk_fw_header h = {
        .magic = cpu_to_le32(ZK_FW_MAGIC),
        .header_size = cpu_to_le32(hsz),
        .image_version = cpu_to_le32(0x010203),
        .api_version = cpu_to_le32(ZK_API_VERSION),
        .image_size = cpu_to_le32(len),
        .payload_crc32 = cpu_to_le32(crc32_ieee((const uint8_t *)payload,
                                                plen)),
        .num_caps = cpu_to_le32(2),
        .caps = {
            { cpu_to_le32(ZK_FW_CAP_QUEUES), cpu_to_le32(16) },
            { cpu_to_le32(ZK_FW_CAP_HEARTBEAT_MS), cpu_to_le32(50) },
        },
    };

    switch (kind) {
    case IMG_BAD_CRC:
        h.payload_crc32 ^= cpu_to_le32(0x100);
        break;
    case IMG_BAD_MAGIC:
        h.magic = cpu_to_le32(0x12345678);
        break;
    case IMG_BAD_API:
        h.api_version = cpu_to_le32((ZK_API_VERSION_MAJOR + 1) << 16);
        break;
    case IMG_TRUNCATED:
        len -= 8;
        break;
    }
    memcpy(img, &h, hsz);
    memcpy(img + hsz, payload, plen);
    *out = img;
    return len;
}

/* Boot an image; steps virtual time until the card leaves BOOTING. */
static uint32_t zk_boot_image(ZkTest *t, const uint8_t *img, size_t len)
{
    uint64_t addr = guest_alloc(&t->alloc, len);

    qtest_memwrite(t->qts, addr, img, len);
    wr(t, ZK_REG_FW_ADDR_LO, addr);
    wr(t, ZK_REG_FW_ADDR_HI, addr >> 32);
    wr(t, ZK_REG_FW_SIZE, len);
    wr(t, ZK_REG_BOOT, ZK_BOOT_KEY);
    for (int i = 0; i < 1000 && rd(t, ZK_REG_STATUS) == ZK_STATE_BOOTING;
         i++) {
        qtest_clock_step(t->qts, SCALE_MS);
    }
    guest_free(&t->alloc, addr);
    return rd(t, ZK_REG_STATUS);
}

static uint32_t zk_boot_kind(ZkTest *t, int kind)
{
    uint8_t *img;
    size_t len = make_image(&img, kind);
    uint32_t st = zk_boot_image(t, img, len);

    g_free(img);
    return st;
}

static void zk_boot_ok(ZkTest *t)
{
    g_assert_cmpuint(zk_boot_kind(t, IMG_GOOD), ==, ZK_STATE_READY);
}

static uint64_t pte_table(uint64_t hbm_off)
{
    return hbm_off | ZK_PTE_VALID;
}

/*
 * Page tables in HBM: see the VA_* / HBM_* layout above.  Guest RAM pages
 * behind VA_SYS/VA_SYS2 are SYSMEM PTEs with their bus (= guest physical)
 * addresses.
 */
static void zk_build_pt(ZkTest *t)
{
    const uint64_t rw = ZK_PTE_VALID | ZK_PTE_WRITE;

    t->sys = guest_alloc(&t->alloc, 4 * ZK_PAGE_SIZE);
    t->sys2 = guest_alloc(&t->alloc, 4 * ZK_PAGE_SIZE);
    g_assert(!(t->sys & (ZK_PAGE_SIZE - 1)));
    g_assert(!(t->sys2 & (ZK_PAGE_SIZE - 1)));
    qtest_memset(t->qts, t->sys, 0, 4 * ZK_PAGE_SIZE);
    qtest_memset(t->qts, t->sys2, 0, 4 * ZK_PAGE_SIZE);

    /* Zero the three tables. */
    for (uint64_t off = 0; off < 3 * ZK_PAGE_SIZE; off += 8) {
        hbm_write64(t, off, 0);
    }
    hbm_write64(t, PT_L0 + 0 * 8, pte_table(PT_L1));
    hbm_write64(t, PT_L1 + 0 * 8, pte_table(PT_L2));
    for (unsigned i = 0; i < 16; i++) {
        hbm_write64(t, PT_L2 + ((VA_HBM >> 12) + i) * 8,
                    (HBM_DATA + i * ZK_PAGE_SIZE) | rw);
    }
    for (unsigned i = 0; i < 4; i++) {
        hbm_write64(t, PT_L2 + ((VA_SYS >> 12) + i) * 8,
                    (t->sys + i * ZK_PAGE_SIZE) | rw | ZK_PTE_SYSMEM);
        hbm_write64(t, PT_L2 + ((VA_SYS2 >> 12) + i) * 8,
                    (t->sys2 + i * ZK_PAGE_SIZE) | rw | ZK_PTE_SYSMEM);
    }
    hbm_write64(t, PT_L2 + (VA_RO >> 12) * 8, HBM_RO | ZK_PTE_VALID);
    hbm_write64(t, PT_L2 + (VA_FAULT >> 12) * 8, HBM_FAULT_PAGES | rw);
    hbm_write64(t, PT_L2 + ((VA_FAULT >> 12) + 1) * 8,
                (HBM_FAULT_PAGES + ZK_PAGE_SIZE) | rw);
    for (unsigned i = 0; i < HUGE_BYTES / ZK_HUGE_SIZE; i++) {
        hbm_write64(t, PT_L1 + ((VA_HUGE >> ZK_HUGE_SHIFT) + i) * 8,
                    (HBM_HUGE + i * ZK_HUGE_SIZE) | rw | ZK_PTE_HUGE);
    }
}

static void ring_init(ZkTest *t, ZkRing *r, unsigned q, uint32_t size)
{
    r->q = q;
    r->size = size;
    r->tail = 0;
    r->base = guest_alloc(&t->alloc, size);
    qtest_memset(t->qts, r->base, 0, size);
    qwr(t, q, ZK_Q_BASE_LO, r->base);
    qwr(t, q, ZK_Q_BASE_HI, r->base >> 32);
    qwr(t, q, ZK_Q_SIZE, size);
    qwr(t, q, ZK_Q_CTRL, ZK_QCTRL_ENABLE);
}

static void ring_push(ZkTest *t, ZkRing *r, const void *cmd)
{
    qtest_memwrite(t->qts, r->base + r->tail, cmd, ZK_CMD_SIZE);
    r->tail = (r->tail + ZK_CMD_SIZE) & (r->size - 1);
}

static void ring_kick(ZkTest *t, ZkRing *r)
{
    qwr(t, r->q, ZK_Q_DOORBELL, r->tail);
}

static bool ring_drained(ZkTest *t, ZkRing *r)
{
    return WAIT_FOR(qrd(t, r->q, ZK_Q_HEAD) == r->tail &&
                    !(qrd(t, r->q, ZK_Q_STATUS) & ZK_QSTAT_BUSY));
}

static void ring_run(ZkTest *t, ZkRing *r)
{
    ring_kick(t, r);
    g_assert(ring_drained(t, r));
}

/* Command builders (all 64-byte records, zero padded). */
typedef union ZkCmd {
    uint8_t raw[ZK_CMD_SIZE];
    struct zk_cmd_hdr hdr;
    struct zk_cmd_set_context ctx;
    struct zk_cmd_dma dma;
    struct zk_cmd_fence fence;
    struct zk_cmd_wait wait;
    struct zk_cmd_timestamp ts;
    struct zk_cmd_job_end end;
} ZkCmd;

static void push_ctx(ZkTest *t, ZkRing *r, uint32_t ctx, uint64_t root)
{
    ZkCmd c = { .ctx = {
        .hdr.opcode = ZK_CMD_SET_CONTEXT,
        .ctx_id = cpu_to_le32(ctx),
        .pt_root = cpu_to_le64(root),
    } };
    ring_push(t, r, &c);
}

static void push_dma(ZkTest *t, ZkRing *r, uint8_t flags, uint64_t dst,
                     uint64_t src, uint64_t size)
{
    ZkCmd c = { .dma = {
        .hdr.opcode = ZK_CMD_DMA,
        .hdr.flags = flags,
        .src = cpu_to_le64(src),
        .dst = cpu_to_le64(dst),
        .size = cpu_to_le64(size),
    } };
    ring_push(t, r, &c);
}

static void push_fence(ZkTest *t, ZkRing *r, uint64_t va, uint64_t value,
                       bool irq)
{
    ZkCmd c = { .fence = {
        .hdr.opcode = ZK_CMD_FENCE,
        .hdr.flags = irq ? ZK_FENCE_F_IRQ : 0,
        .addr = cpu_to_le64(va),
        .value = cpu_to_le64(value),
    } };
    ring_push(t, r, &c);
}

static void push_wait(ZkTest *t, ZkRing *r, uint64_t va, uint64_t value)
{
    ZkCmd c = { .wait = {
        .hdr.opcode = ZK_CMD_WAIT,
        .addr = cpu_to_le64(va),
        .value = cpu_to_le64(value),
    } };
    ring_push(t, r, &c);
}

static void push_job_end(ZkTest *t, ZkRing *r, uint64_t seqno,
                         uint64_t status_bus, bool irq)
{
    ZkCmd c = { .end = {
        .hdr.opcode = ZK_CMD_JOB_END,
        .hdr.flags = irq ? ZK_JOB_END_F_IRQ : 0,
        .seqno = cpu_to_le64(seqno),
        .status_bus = cpu_to_le64(status_bus),
    } };
    ring_push(t, r, &c);
}

/* Boot, page tables, ring on queue q (4 KiB) with a fence write-back. */
static void zk_setup(ZkTest *t, const char *extra, ZkRing *r, unsigned q,
                     uint64_t *fence_wb)
{
    zk_start(t, extra);
    zk_boot_ok(t);
    zk_build_pt(t);
    ring_init(t, r, q, 4096);
    if (fence_wb) {
        *fence_wb = guest_alloc(&t->alloc, 8);
        qtest_writeq(t->qts, *fence_wb, 0);
        qwr(t, q, ZK_Q_FENCE_WB_LO, *fence_wb);
        qwr(t, q, ZK_Q_FENCE_WB_HI, *fence_wb >> 32);
    }
}

static uint64_t alloc_status(ZkTest *t)
{
    uint64_t a = guest_alloc(&t->alloc, 8);

    qtest_writel(t->qts, a, 0xdeadbeef);
    return a;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

static void test_ids(void)
{
    ZkTest t;

    zk_start(&t, NULL);
    g_assert_cmphex(qpci_config_readw(t.dev, PCI_VENDOR_ID), ==,
                    ZK_PCI_VENDOR_ID);
    g_assert_cmphex(qpci_config_readw(t.dev, PCI_DEVICE_ID), ==,
                    ZK_PCI_DEVICE_ID);
    g_assert_cmphex(qpci_config_readw(t.dev, PCI_CLASS_DEVICE), ==,
                    ZK_PCI_CLASS);
    g_assert_cmphex(qpci_config_readb(t.dev, PCI_REVISION_ID), ==,
                    ZK_PCI_REVISION);
    g_assert_cmpuint(qpci_msix_table_size(t.dev), ==, ZK_MSIX_VECTORS);

    g_assert_cmphex(rd(&t, ZK_REG_ID), ==, ZK_ID_MAGIC);
    g_assert_cmphex(rd(&t, ZK_REG_VERSION), ==, ZK_HW_VERSION);
    g_assert_cmphex(rd(&t, ZK_REG_CAPS) & ZK_CAP_MMU, ==, ZK_CAP_MMU);
    g_assert_cmphex(rd(&t, ZK_REG_CAPS) & ZK_CAP_POWER_CAP, ==,
                    ZK_CAP_POWER_CAP);
    g_assert_cmpuint(rd64(&t, ZK_REG_HBM_SIZE_LO), ==, ZK_HBM);
    g_assert_cmpuint(rd(&t, ZK_REG_HBM_STACKS), ==, 4);
    g_assert_cmpuint(rd(&t, ZK_REG_NUM_QUEUES), ==, 8);
    g_assert_cmpuint(rd(&t, ZK_REG_NUM_VECTORS), ==, ZK_MSIX_VECTORS);
    g_assert_cmphex(rd(&t, ZK_REG_API_VERSION), ==, ZK_API_VERSION);
    /* compute-units=0 (the default): one per host core. */
    g_assert_cmpuint(rd(&t, ZK_REG_COMPUTE_UNITS), >=, 1);
    wr(&t, ZK_REG_SCRATCH, 0xa5a55a5a);
    g_assert_cmphex(rd(&t, ZK_REG_SCRATCH), ==, 0xa5a55a5a);
    g_assert_cmpuint(rd(&t, ZK_REG_STATUS), ==, ZK_STATE_RESET);
    g_assert_cmpuint(rd(&t, ZK_REG_POWER_CAP_MW), ==, 300000);
    g_assert_cmpuint(rd(&t, ZK_REG_CLOCK_MHZ), ==,
                     rd(&t, ZK_REG_CLOCK_MAX_MHZ));
    /* 64-bit access is split LO, HI. */
    g_assert_cmphex(qpci_io_readq(t.dev, t.bar0, ZK_REG_HBM_SIZE_LO), ==,
                    ZK_HBM);
    /* HBM is plain memory behind BAR2. */
    hbm_write64(&t, ZK_HBM - 8, 0x0123456789abcdefull);
    g_assert_cmphex(hbm_read64(&t, ZK_HBM - 8), ==, 0x0123456789abcdefull);
    zk_stop(&t);
}

static void test_boot_good(void)
{
    ZkTest t;
    uint32_t hb;

    zk_start(&t, NULL);
    g_assert_cmpuint(zk_boot_kind(&t, IMG_GOOD), ==, ZK_STATE_READY);
    g_assert_cmpuint(rd(&t, ZK_REG_BOOT_ERROR), ==, ZK_BOOT_ERR_NONE);
    g_assert_cmphex(rd(&t, ZK_REG_FW_VERSION), ==, 0x010203);
    /* Heartbeat advances on virtual time (period 50 ms from the image). */
    hb = rd(&t, ZK_REG_HEARTBEAT);
    qtest_clock_step(t.qts, 500 * SCALE_MS);
    g_assert_cmpuint(rd(&t, ZK_REG_HEARTBEAT), >=, hb + 8);
    /* BOOT again while READY is refused with a STATE error. */
    wr(&t, ZK_REG_BOOT, ZK_BOOT_KEY);
    g_assert_cmpuint(rd(&t, ZK_REG_STATUS), ==, ZK_STATE_READY);
    g_assert_cmpuint(rd(&t, ZK_REG_BOOT_ERROR), ==, ZK_BOOT_ERR_STATE);
    /* A device reset goes back to RESET; heartbeat stops. */
    wr(&t, ZK_REG_RESET, ZK_RESET_DEVICE);
    g_assert_cmpuint(rd(&t, ZK_REG_STATUS), ==, ZK_STATE_RESET);
    g_assert_cmpuint(rd(&t, ZK_REG_RESET_COUNT), ==, 1);
    hb = rd(&t, ZK_REG_HEARTBEAT);
    qtest_clock_step(t.qts, 500 * SCALE_MS);
    g_assert_cmpuint(rd(&t, ZK_REG_HEARTBEAT), ==, hb);
    g_assert_cmpuint(zk_boot_kind(&t, IMG_GOOD), ==, ZK_STATE_READY);
    zk_stop(&t);
}

static void test_boot_bad(void)
{
    static const struct { int kind; uint32_t err; } cases[] = {
        { IMG_BAD_CRC, ZK_BOOT_ERR_CRC },
        { IMG_BAD_MAGIC, ZK_BOOT_ERR_MAGIC },
        { IMG_BAD_API, ZK_BOOT_ERR_API },
        { IMG_TRUNCATED, ZK_BOOT_ERR_SIZE },
    };
    ZkTest t;

    zk_start(&t, NULL);
    for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
        g_assert_cmpuint(zk_boot_kind(&t, cases[i].kind), ==,
                         ZK_STATE_ERROR);
        g_assert_cmpuint(rd(&t, ZK_REG_BOOT_ERROR), ==, cases[i].err);
        g_assert_cmpuint(rd(&t, ZK_REG_FW_VERSION), ==, 0);
        wr(&t, ZK_REG_RESET, ZK_RESET_DEVICE);
        g_assert_cmpuint(rd(&t, ZK_REG_STATUS), ==, ZK_STATE_RESET);
    }
    /* Oversized FW_SIZE is rejected without reading anything. */
    wr(&t, ZK_REG_FW_SIZE, ZK_FW_MAX_SIZE + 1);
    wr(&t, ZK_REG_BOOT, ZK_BOOT_KEY);
    for (int i = 0; i < 100 && rd(&t, ZK_REG_STATUS) == ZK_STATE_BOOTING;
         i++) {
        qtest_clock_step(t.qts, SCALE_MS);
    }
    g_assert_cmpuint(rd(&t, ZK_REG_STATUS), ==, ZK_STATE_ERROR);
    g_assert_cmpuint(rd(&t, ZK_REG_BOOT_ERROR), ==, ZK_BOOT_ERR_SIZE);
    wr(&t, ZK_REG_RESET, ZK_RESET_DEVICE);
    g_assert_cmpuint(rd(&t, ZK_REG_RESET_COUNT), ==, ARRAY_SIZE(cases) + 1);
    /* And a good image still boots afterwards. */
    zk_boot_ok(&t);
    zk_stop(&t);
}

static void test_boot_hang(void)
{
    ZkTest t;

    zk_start(&t, ",inject-boot-hang=on");
    g_assert_cmpuint(zk_boot_kind(&t, IMG_GOOD), ==, ZK_STATE_BOOTING);
    g_assert_cmpuint(rd(&t, ZK_REG_BOOT_ERROR), ==, ZK_BOOT_ERR_HANG);
    g_assert_cmpuint(rd(&t, ZK_REG_HEARTBEAT), ==, 0);
    zk_stop(&t);
}

static void test_queue_refused(void)
{
    ZkTest t;
    ZkRing r;

    zk_start(&t, NULL);
    ring_init(&t, &r, 0, 4096);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_CTRL) & ZK_QCTRL_ENABLE, ==, 0);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_STATUS) & ZK_QSTAT_ENABLED, ==, 0);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_SIZE), ==, 4096);
    /* Failed boot: still refused. */
    g_assert_cmpuint(zk_boot_kind(&t, IMG_BAD_CRC), ==, ZK_STATE_ERROR);
    qwr(&t, 0, ZK_Q_CTRL, ZK_QCTRL_ENABLE);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_CTRL), ==, 0);
    wr(&t, ZK_REG_RESET, ZK_RESET_DEVICE);
    zk_boot_ok(&t);
    /* Bad ring size: refused even when READY. */
    qwr(&t, 0, ZK_Q_SIZE, 3000);
    qwr(&t, 0, ZK_Q_CTRL, ZK_QCTRL_ENABLE);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_CTRL), ==, 0);
    qwr(&t, 0, ZK_Q_BASE_LO, r.base);
    qwr(&t, 0, ZK_Q_BASE_HI, r.base >> 32);
    qwr(&t, 0, ZK_Q_SIZE, 4096);
    qwr(&t, 0, ZK_Q_CTRL, ZK_QCTRL_ENABLE);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_CTRL), ==, ZK_QCTRL_ENABLE);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_STATUS) & ZK_QSTAT_ENABLED, ==,
                     ZK_QSTAT_ENABLED);
    zk_stop(&t);
}

static void test_dma_roundtrip(void)
{
    enum { N = 3 * 4096 + 100 };
    g_autofree uint8_t *src = g_malloc(N);
    g_autofree uint8_t *dst = g_malloc(N);
    g_autofree uint8_t *hbm = g_malloc(N);
    uint64_t wb, status, sg;
    struct zk_dma_sg sgl[2];
    ZkTest t;
    ZkRing r;

    zk_setup(&t, NULL, &r, 0, &wb);
    for (unsigned i = 0; i < N; i++) {
        src[i] = i * 7 + (i >> 8);
    }
    qtest_memwrite(t.qts, t.sys, src, N);
    status = alloc_status(&t);

    push_ctx(&t, &r, 7, PT_L0);
    push_dma(&t, &r, 0, VA_HBM + 100, VA_SYS, N);        /* host -> HBM */
    push_dma(&t, &r, 0, VA_SYS2, VA_HBM + 100, N);       /* HBM -> host */
    push_dma(&t, &r, ZK_DMA_F_FILL, VA_HBM + 8 * 4096, 0xa1b2c3d4, 4096);
    push_job_end(&t, &r, 1, status, false);
    ring_run(&t, &r);

    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_OK);
    g_assert_cmpuint(qtest_readq(t.qts, wb), ==, 1);
    g_assert_cmpuint(rd64(&t, ZK_QREG(0, ZK_Q_FENCE_LO)), ==, 1);
    qtest_memread(t.qts, t.sys2, dst, N);
    g_assert(memcmp(src, dst, N) == 0);
    hbm_read(&t, HBM_DATA + 100, hbm, N);
    g_assert(memcmp(src, hbm, N) == 0);
    g_assert_cmphex(hbm_read64(&t, HBM_DATA + 8 * 4096 + 4088), ==,
                    0xa1b2c3d4a1b2c3d4ull);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_COUNT), ==, 0);

    /* Scatter-gather: two pieces from HBM into the second host buffer. */
    qtest_memset(t.qts, t.sys2, 0, 4 * 4096);
    sgl[0] = (struct zk_dma_sg){ cpu_to_le64(VA_HBM + 100),
                                 cpu_to_le64(VA_SYS2 + 4096),
                                 cpu_to_le64(50) };
    sgl[1] = (struct zk_dma_sg){ cpu_to_le64(VA_HUGE),
                                 cpu_to_le64(VA_SYS2 + 8), cpu_to_le64(16) };
    hbm_write(&t, HBM_HUGE, "huge-page-data!!", 16);
    sg = VA_HBM + 12 * 4096;
    hbm_write(&t, HBM_DATA + 12 * 4096, sgl, sizeof(sgl));
    push_dma(&t, &r, ZK_DMA_F_SGLIST, 0, sg, 2);
    push_job_end(&t, &r, 2, status, false);
    ring_run(&t, &r);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_OK);
    qtest_memread(t.qts, t.sys2 + 4096, dst, 50);
    g_assert(memcmp(dst, src, 50) == 0);
    qtest_memread(t.qts, t.sys2 + 8, dst, 16);
    g_assert(memcmp(dst, "huge-page-data!!", 16) == 0);
    g_assert_cmpuint(qtest_readq(t.qts, wb), ==, 2);
    zk_stop(&t);
}

static void test_fence_wrap(void)
{
    const unsigned total = 300, batch = 40;
    uint64_t wb, status;
    unsigned seq = 0, n = 0;
    ZkTest t;
    ZkRing r;

    zk_setup(&t, NULL, &r, 3, &wb);
    status = alloc_status(&t);
    while (n < total) {
        push_ctx(&t, &r, 1, PT_L0);
        for (unsigned i = 0; i < batch - 2 && n < total; i++, n++) {
            /* Alternate HBM and host targets. */
            push_fence(&t, &r, (n & 1) ? VA_SYS + 8 * (n % 64)
                                       : VA_HBM + 8 * (n % 64), n + 1, false);
        }
        push_job_end(&t, &r, ++seq, status, false);
        ring_run(&t, &r);
        g_assert_cmpuint(qtest_readq(t.qts, wb), ==, seq);
    }
    /* total * 64 bytes went through a 4 KiB ring several times. */
    g_assert_cmpuint((total + 2 * seq) * ZK_CMD_SIZE, >, 4 * 4096);
    for (unsigned k = total - 64; k < total; k++) {
        uint64_t v = (k & 1) ? qtest_readq(t.qts, t.sys + 8 * (k % 64))
                             : hbm_read64(&t, HBM_DATA + 8 * (k % 64));
        g_assert_cmpuint(v, ==, k + 1);
    }
    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_OK);
    g_assert_cmpuint(qrd(&t, 3, ZK_Q_HEAD), ==, r.tail);
    g_assert_cmpuint(qrd(&t, 3, ZK_Q_TAIL), ==, r.tail);
    zk_stop(&t);
}

static void test_msix(void)
{
    uint32_t off = ZK_MSIX_TABLE_OFFSET + 2 * PCI_MSIX_ENTRY_SIZE;
    uint64_t msg;
    ZkTest t;
    ZkRing r;

    zk_setup(&t, NULL, &r, 1, NULL);
    /* All vectors start masked: a notification sets the PBA bit. */
    g_assert(!qpci_msix_pending(t.dev, 1));
    push_ctx(&t, &r, 1, PT_L0);
    push_fence(&t, &r, VA_HBM, 5, true);
    ring_run(&t, &r);
    g_assert(WAIT_FOR(qpci_msix_pending(t.dev, ZK_MSIX_VEC_QUEUE(1))));
    g_assert_cmphex(rd(&t, ZK_REG_IRQ_STATUS) & ZK_IRQ_QUEUE(1), ==,
                    ZK_IRQ_QUEUE(1));
    wr(&t, ZK_REG_IRQ_STATUS, ZK_IRQ_QUEUE(1));
    g_assert_cmphex(rd(&t, ZK_REG_IRQ_STATUS) & ZK_IRQ_QUEUE(1), ==, 0);

    /* Real delivery: unmask vector 2 with a message aimed at guest RAM. */
    qwr(&t, 1, ZK_Q_CTRL, 0);
    ring_init(&t, &r, 2, 4096);
    msg = guest_alloc(&t.alloc, 8);
    qtest_writel(t.qts, msg, 0);
    qpci_io_writel(t.dev, t.bar0, off + PCI_MSIX_ENTRY_LOWER_ADDR, msg);
    qpci_io_writel(t.dev, t.bar0, off + PCI_MSIX_ENTRY_UPPER_ADDR, msg >> 32);
    qpci_io_writel(t.dev, t.bar0, off + PCI_MSIX_ENTRY_DATA, 0x5a4b0002);
    qpci_io_writel(t.dev, t.bar0, off + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
    push_job_end(&t, &r, 9, 0, true);
    ring_run(&t, &r);
    g_assert(WAIT_FOR(qtest_readl(t.qts, msg) == 0x5a4b0002));
    g_assert(!qpci_msix_pending(t.dev, 2));

    /* IRQ_MASK off for queue 2: status latches, no message. */
    qtest_writel(t.qts, msg, 0);
    wr(&t, ZK_REG_IRQ_STATUS, 0xffffffff);
    wr(&t, ZK_REG_IRQ_MASK, rd(&t, ZK_REG_IRQ_MASK) & ~ZK_IRQ_QUEUE(2));
    push_job_end(&t, &r, 10, 0, true);
    ring_run(&t, &r);
    g_assert(WAIT_FOR(rd(&t, ZK_REG_IRQ_STATUS) & ZK_IRQ_QUEUE(2)));
    g_usleep(20000);
    g_assert_cmphex(qtest_readl(t.qts, msg), ==, 0);
    /* Unmasking with the status still latched delivers it. */
    wr(&t, ZK_REG_IRQ_MASK, rd(&t, ZK_REG_IRQ_MASK) | ZK_IRQ_QUEUE(2));
    g_assert(WAIT_FOR(qtest_readl(t.qts, msg) == 0x5a4b0002));
    zk_stop(&t);
}

static void test_mmu_fault(void)
{
    g_autofree uint8_t *src = g_malloc(3 * 4096);
    g_autofree uint8_t *buf = g_malloc(4096);
    uint64_t status, wb, guard = 0x6a6a6a6a6a6a6a6aull;
    ZkTest t;
    ZkRing r;

    zk_setup(&t, NULL, &r, 0, &wb);
    memset(src, 0x3c, 3 * 4096);
    qtest_memwrite(t.qts, t.sys, src, 3 * 4096);
    /* Sentinels: the HBM page after the mapped pair, and a fence target. */
    for (unsigned i = 0; i < 4096; i += 8) {
        hbm_write64(&t, HBM_FAULT_PAGES + 2 * 4096 + i, guard);
    }
    hbm_write64(&t, HBM_DATA, 0);
    status = alloc_status(&t);

    push_ctx(&t, &r, 42, PT_L0);
    /* 3 pages into a 2-page mapping: faults at VA_HOLE. */
    push_dma(&t, &r, 0, VA_FAULT, VA_SYS, 3 * 4096);
    push_fence(&t, &r, VA_HBM, 77, false);          /* must be skipped */
    push_job_end(&t, &r, 1, status, false);
    ring_run(&t, &r);

    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_FAULTED);
    g_assert_cmpuint(qtest_readq(t.qts, wb), ==, 1);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_TYPE), ==, ZK_FAULT_MMU_WRITE);
    g_assert_cmphex(rd64(&t, ZK_QREG(0, ZK_Q_FAULT_ADDR_LO)), ==, VA_HOLE);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_CTX), ==, 42);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_COUNT), ==, 1);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_STATUS) & ZK_QSTAT_SKIPPING, ==, 0);
    g_assert(WAIT_FOR(rd(&t, ZK_REG_IRQ_STATUS) & ZK_IRQ_FAULT));
    g_assert(WAIT_FOR(qpci_msix_pending(t.dev, ZK_MSIX_VEC_FAULT)));
    /* Nothing outside the mapping was touched, the skipped fence neither. */
    hbm_read(&t, HBM_FAULT_PAGES + 2 * 4096, buf, 4096);
    for (unsigned i = 0; i < 4096; i++) {
        g_assert_cmphex(buf[i], ==, 0x6a);
    }
    g_assert_cmpuint(hbm_read64(&t, HBM_DATA), ==, 0);
    /* The two mapped pages did receive their data. */
    g_assert_cmphex(hbm_read64(&t, HBM_FAULT_PAGES + 4096 + 4088), ==,
                    0x3c3c3c3c3c3c3c3cull);

    /* Write to a read-only page: MMU_WRITE; read of a hole: MMU_READ. */
    push_ctx(&t, &r, 42, PT_L0);
    push_fence(&t, &r, VA_RO, 1, false);
    push_job_end(&t, &r, 2, status, false);
    push_ctx(&t, &r, 43, PT_L0);
    push_dma(&t, &r, 0, VA_HBM, VA_HOLE + 8, 8);
    push_job_end(&t, &r, 3, status, false);
    ring_run(&t, &r);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_FAULTED);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_TYPE), ==, ZK_FAULT_MMU_READ);
    g_assert_cmphex(rd64(&t, ZK_QREG(0, ZK_Q_FAULT_ADDR_LO)), ==,
                    VA_HOLE + 8);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_CTX), ==, 43);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_COUNT), ==, 3);

    /* Unknown opcode and reserved bits: ILLEGAL_CMD, job ERROR. */
    {
        ZkCmd bad = { .hdr = { .opcode = 0x55 } };
        ring_push(&t, &r, &bad);
        push_job_end(&t, &r, 4, status, false);
        ring_run(&t, &r);
        g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_ERROR);
        g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_TYPE), ==,
                         ZK_FAULT_ILLEGAL_CMD);
        bad = (ZkCmd){ .hdr = { .opcode = ZK_CMD_NOP,
                                .reserved1 = cpu_to_le32(1) } };
        ring_push(&t, &r, &bad);
        push_job_end(&t, &r, 5, status, false);
        ring_run(&t, &r);
        g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_ERROR);
    }
    /* Memory command without a context. */
    qwr(&t, 0, ZK_Q_CTRL, ZK_QCTRL_RESET | ZK_QCTRL_ENABLE);
    r.tail = 0;
    push_fence(&t, &r, VA_HBM, 1, false);
    push_job_end(&t, &r, 6, status, false);
    ring_run(&t, &r);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_ERROR);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_TYPE), ==, ZK_FAULT_NO_CONTEXT);

    /* The next job runs normally. */
    push_ctx(&t, &r, 42, PT_L0);
    push_fence(&t, &r, VA_HBM, 78, false);
    push_job_end(&t, &r, 7, status, false);
    ring_run(&t, &r);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_OK);
    g_assert_cmpuint(hbm_read64(&t, HBM_DATA), ==, 78);
    g_assert_cmpuint(qtest_readq(t.qts, wb), ==, 7);
    zk_stop(&t);
}

/*
 * The MMU caches translations and does not snoop the page tables: a
 * remapped page keeps its old translation until ZK_CMD_MMU_INVALIDATE.
 */
static void test_mmu_invalidate(void)
{
    const uint64_t rw = ZK_PTE_VALID | ZK_PTE_WRITE;
    const uint64_t other = HBM_DATA + 15 * ZK_PAGE_SIZE;
    struct zk_cmd_mmu_invalidate inv = {
        .hdr.opcode = ZK_CMD_MMU_INVALIDATE,
        .ctx_id = cpu_to_le32(42),
    };
    uint64_t status, wb;
    ZkTest t;
    ZkRing r;

    zk_setup(&t, NULL, &r, 0, &wb);
    status = alloc_status(&t);
    hbm_write64(&t, HBM_DATA, 0);
    hbm_write64(&t, other, 0);

    push_ctx(&t, &r, 42, PT_L0);
    push_fence(&t, &r, VA_HBM, 1, false);
    push_job_end(&t, &r, 1, status, false);
    ring_run(&t, &r);
    g_assert_cmpuint(hbm_read64(&t, HBM_DATA), ==, 1);

    /* Remapped without an invalidate: the cached translation still wins. */
    hbm_write64(&t, PT_L2 + (VA_HBM >> 12) * 8, other | rw);
    push_ctx(&t, &r, 42, PT_L0);
    push_fence(&t, &r, VA_HBM, 2, false);
    push_job_end(&t, &r, 2, status, false);
    ring_run(&t, &r);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_OK);
    g_assert_cmpuint(hbm_read64(&t, HBM_DATA), ==, 2);
    g_assert_cmpuint(hbm_read64(&t, other), ==, 0);

    /* After the invalidate the new entry is walked. */
    ring_push(&t, &r, &inv);
    push_ctx(&t, &r, 42, PT_L0);
    push_fence(&t, &r, VA_HBM, 3, false);
    push_job_end(&t, &r, 3, status, false);
    ring_run(&t, &r);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_OK);
    g_assert_cmpuint(hbm_read64(&t, HBM_DATA), ==, 2);
    g_assert_cmpuint(hbm_read64(&t, other), ==, 3);

    /* An invalidate on another queue reaches this queue's cache too. */
    {
        ZkRing r1;

        ring_init(&t, &r1, 1, 4096);
        hbm_write64(&t, PT_L2 + (VA_HBM >> 12) * 8, HBM_DATA | rw);
        ring_push(&t, &r1, &inv);
        push_job_end(&t, &r1, 1, 0, false);
        ring_run(&t, &r1);
        push_ctx(&t, &r, 42, PT_L0);
        push_fence(&t, &r, VA_HBM, 4, false);
        push_job_end(&t, &r, 4, status, false);
        ring_run(&t, &r);
        g_assert_cmpuint(hbm_read64(&t, HBM_DATA), ==, 4);
        g_assert_cmpuint(hbm_read64(&t, other), ==, 3);
    }
    zk_stop(&t);
}

static void test_engine_reset(void)
{
    uint64_t status, wb;
    uint32_t resets;
    ZkTest t;
    ZkRing r, r2;

    zk_setup(&t, NULL, &r, 0, &wb);
    status = alloc_status(&t);
    hbm_write64(&t, HBM_DATA, 0);
    resets = rd(&t, ZK_REG_RESET_COUNT);

    push_ctx(&t, &r, 1, PT_L0);
    push_wait(&t, &r, VA_HBM, 1000);        /* never satisfied */
    push_job_end(&t, &r, 1, status, true);
    ring_kick(&t, &r);
    g_assert(WAIT_FOR(qrd(&t, 0, ZK_Q_HEAD) == 64));
    g_usleep(20000);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_HEAD), ==, 64);   /* stuck on WAIT */
    g_assert(qrd(&t, 0, ZK_Q_STATUS) & ZK_QSTAT_BUSY);

    /* Injected hang on another queue. */
    ring_init(&t, &r2, 5, 4096);
    wr(&t, ZK_REG_INJECT, ZK_INJECT_HANG_QUEUE | 5 << ZK_INJECT_QUEUE_SHIFT);
    push_ctx(&t, &r2, 1, PT_L0);
    push_fence(&t, &r2, VA_HBM + 8, 3, false);
    ring_kick(&t, &r2);
    g_usleep(20000);
    g_assert_cmpuint(qrd(&t, 5, ZK_Q_HEAD), ==, 0);
    g_assert(qrd(&t, 5, ZK_Q_STATUS) & ZK_QSTAT_HUNG);

    wr(&t, ZK_REG_RESET, ZK_RESET_ENGINE);
    g_assert_cmpuint(rd(&t, ZK_REG_STATUS), ==, ZK_STATE_READY);
    g_assert_cmpuint(rd(&t, ZK_REG_RESET_COUNT), ==, resets + 1);
    for (unsigned q = 0; q < 8; q++) {
        g_assert_cmpuint(qrd(&t, q, ZK_Q_CTRL), ==, 0);
        g_assert_cmpuint(qrd(&t, q, ZK_Q_HEAD), ==, 0);
        g_assert_cmpuint(qrd(&t, q, ZK_Q_TAIL), ==, 0);
    }
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_STATUS) & ZK_QSTAT_BUSY, ==, 0);
    g_assert_cmpuint(qrd(&t, 5, ZK_Q_STATUS) & ZK_QSTAT_HUNG, ==, 0);
    /* Satisfying the WAIT now changes nothing: the job was dropped. */
    hbm_write64(&t, HBM_DATA, 5000);
    g_usleep(20000);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, 0xdeadbeef);
    g_assert_cmpuint(qtest_readq(t.qts, wb), ==, 0);

    /* The queue works again after re-enabling (ring restarts at 0). */
    hbm_write64(&t, HBM_DATA, 0);
    ring_init(&t, &r, 0, 4096);
    push_ctx(&t, &r, 1, PT_L0);
    push_fence(&t, &r, VA_HBM + 16, 11, false);
    push_wait(&t, &r, VA_HBM + 16, 11);
    push_job_end(&t, &r, 2, status, false);
    ring_run(&t, &r);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_OK);
    g_assert_cmpuint(qtest_readq(t.qts, wb), ==, 2);
    zk_stop(&t);
}

/*
 * PCI PM: in D3hot the BARs close, the firmware stops and the board draws
 * d3-mw (energy counter); back in D0 the function was reset (firmware in
 * RESET) but HBM kept its contents.
 */
static uint64_t energy_uj(ZkTest *t)
{
    uint64_t lo = rd(t, ZK_REG_ENERGY_UJ_LO);   /* latches HI */

    return lo | (uint64_t)rd(t, ZK_REG_ENERGY_UJ_HI) << 32;
}

static void test_pm_d3hot(void)
{
    uint64_t e0, e1, e2;
    uint8_t pm;
    ZkTest t;

    zk_start(&t, ",d3-mw=2000,idle-mw=40000");
    zk_boot_ok(&t);
    pm = qpci_find_capability(t.dev, PCI_CAP_ID_PM, 0);
    g_assert_cmphex(pm, !=, 0);
    hbm_write64(&t, HBM_DATA, 0x1234567887654321ull);
    /* Idle in D0: ~40 W, i.e. ~40 J per second of virtual time. */
    e0 = energy_uj(&t);
    qtest_clock_step(t.qts, 1000 * SCALE_MS);
    e1 = energy_uj(&t);
    g_assert_cmpuint(e1 - e0, >, 35000000);
    qpci_config_writew(t.dev, pm + PCI_PM_CTRL, 3);    /* D3hot */
    g_assert_cmphex(qpci_config_readw(t.dev, pm + PCI_PM_CTRL) &
                    PCI_PM_CTRL_STATE_MASK, ==, 3);
    /* BARs closed: the register block reads as nothing. */
    g_assert_cmphex(rd(&t, ZK_REG_ID), !=, ZK_ID_MAGIC);
    qtest_clock_step(t.qts, 1000 * SCALE_MS);
    qpci_config_writew(t.dev, pm + PCI_PM_CTRL, 0);    /* D0 */
    g_assert_cmphex(rd(&t, ZK_REG_ID), ==, ZK_ID_MAGIC);
    e2 = energy_uj(&t);
    g_test_message("energy: %" PRIu64 " uJ in 1 s idle, %" PRIu64
                   " uJ in 1 s of D3hot", e1 - e0, e2 - e1);
    /* ~2 J/s in D3hot (one 10 ms power window may still count as D0). */
    g_assert_cmpuint(e2 - e1, <, 3000000);
    g_assert_cmpuint(e2 - e1, >, 1500000);
    g_assert_cmpuint(rd(&t, ZK_REG_STATUS), ==, ZK_STATE_RESET);
    g_assert_cmphex(hbm_read64(&t, HBM_DATA), ==, 0x1234567887654321ull);
    zk_boot_ok(&t);
    zk_stop(&t);
}

/*
 * ZK_INJECT_STUCK_*: a queue reset leaves a STUCK_QUEUE hang; an engine
 * reset clears it but not a STUCK_ENGINE one; a device reset clears both.
 */
static void test_inject_stuck(void)
{
    ZkTest t;

    zk_start(&t, NULL);
    zk_boot_ok(&t);
    wr(&t, ZK_REG_INJECT, ZK_INJECT_STUCK_QUEUE | 2 << ZK_INJECT_QUEUE_SHIFT);
    wr(&t, ZK_REG_INJECT, ZK_INJECT_STUCK_ENGINE | 3 << ZK_INJECT_QUEUE_SHIFT);
    for (unsigned q = 2; q <= 3; q++) {
        g_assert(qrd(&t, q, ZK_Q_STATUS) & ZK_QSTAT_HUNG);
        qwr(&t, q, ZK_Q_CTRL, ZK_QCTRL_RESET);
        g_assert(qrd(&t, q, ZK_Q_STATUS) & ZK_QSTAT_HUNG);
    }
    wr(&t, ZK_REG_RESET, ZK_RESET_ENGINE);
    g_assert_cmpuint(rd(&t, ZK_REG_STATUS), ==, ZK_STATE_READY);
    g_assert_cmpuint(qrd(&t, 2, ZK_Q_STATUS) & ZK_QSTAT_HUNG, ==, 0);
    g_assert(qrd(&t, 3, ZK_Q_STATUS) & ZK_QSTAT_HUNG);
    wr(&t, ZK_REG_RESET, ZK_RESET_DEVICE);
    g_assert_cmpuint(qrd(&t, 3, ZK_Q_STATUS) & ZK_QSTAT_HUNG, ==, 0);
    zk_boot_ok(&t);
    wr(&t, ZK_REG_RESET, ZK_RESET_ENGINE);
    g_assert_cmpuint(qrd(&t, 3, ZK_Q_STATUS) & ZK_QSTAT_HUNG, ==, 0);
    zk_stop(&t);
}

static void test_inject(void)
{
    uint64_t status;
    ZkTest t;
    ZkRing r;

    zk_setup(&t, NULL, &r, 0, NULL);
    status = alloc_status(&t);
    wr(&t, ZK_REG_INJECT_ADDR_LO, 0x12345000);
    wr(&t, ZK_REG_INJECT_ADDR_HI, 0x1);
    wr(&t, ZK_REG_INJECT, ZK_INJECT_MEM_CE);
    g_assert_cmpuint(rd(&t, ZK_REG_RAS_CE_COUNT), ==, 1);
    g_assert_cmpuint(rd(&t, ZK_REG_RAS_UE_COUNT), ==, 0);
    g_assert_cmphex(rd64(&t, ZK_REG_RAS_ADDR_LO), ==, 0x112345000ull);
    g_assert(WAIT_FOR(rd(&t, ZK_REG_IRQ_STATUS) & ZK_IRQ_EVENT));
    g_assert(WAIT_FOR(qpci_msix_pending(t.dev, ZK_MSIX_VEC_EVENT)));
    wr(&t, ZK_REG_INJECT_ADDR_LO, 0x2000);
    wr(&t, ZK_REG_INJECT_ADDR_HI, 0);
    wr(&t, ZK_REG_INJECT, ZK_INJECT_MEM_UE);
    g_assert_cmpuint(rd(&t, ZK_REG_RAS_UE_COUNT), ==, 1);
    g_assert_cmphex(rd64(&t, ZK_REG_RAS_ADDR_LO), ==, 0x2000);

    /* Next DMA fails; the one after works. */
    wr(&t, ZK_REG_INJECT, ZK_INJECT_DMA_FAIL);
    push_ctx(&t, &r, 3, PT_L0);
    push_dma(&t, &r, 0, VA_HBM, VA_SYS, 64);
    push_job_end(&t, &r, 1, status, false);
    ring_run(&t, &r);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_FAULTED);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_TYPE), ==, ZK_FAULT_DMA);
    push_ctx(&t, &r, 3, PT_L0);
    push_dma(&t, &r, 0, VA_HBM, VA_SYS, 64);
    push_job_end(&t, &r, 2, status, false);
    ring_run(&t, &r);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_OK);
    zk_stop(&t);

    /* The same from the command line. */
    zk_setup(&t, ",inject-hang-queue=1,inject-dma-fail=on", &r, 0, NULL);
    status = alloc_status(&t);
    push_ctx(&t, &r, 3, PT_L0);
    push_dma(&t, &r, 0, VA_HBM, VA_SYS, 64);
    push_job_end(&t, &r, 1, status, false);
    ring_run(&t, &r);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_FAULTED);
    g_assert(qrd(&t, 1, ZK_Q_STATUS) & ZK_QSTAT_HUNG);
    qwr(&t, 1, ZK_Q_CTRL, ZK_QCTRL_RESET);
    g_assert_cmpuint(qrd(&t, 1, ZK_Q_STATUS) & ZK_QSTAT_HUNG, ==, 0);
    zk_stop(&t);
}

static void test_power(void)
{
    uint32_t max, min_cap, clk = 0, idle;
    uint64_t e0, e1, e2, b0;
    bool throttled = false;
    ZkTest t;
    ZkRing r;

    zk_setup(&t, NULL, &r, 0, NULL);
    max = rd(&t, ZK_REG_CLOCK_MAX_MHZ);
    idle = rd(&t, ZK_REG_POWER_MW);
    g_assert_cmpuint(idle, >, 0);
    g_assert_cmpuint(rd(&t, ZK_REG_TEMP_MC), >, 20000);
    /* The cap is clamped to MIN..MAX. */
    min_cap = rd(&t, ZK_REG_POWER_CAP_MIN_MW);
    wr(&t, ZK_REG_POWER_CAP_MW, 1000);
    g_assert_cmpuint(rd(&t, ZK_REG_POWER_CAP_MW), ==, min_cap);
    wr(&t, ZK_REG_POWER_CAP_MW, 0xffffffff);
    g_assert_cmpuint(rd(&t, ZK_REG_POWER_CAP_MW), ==,
                     rd(&t, ZK_REG_POWER_CAP_MAX_MW));
    wr(&t, ZK_REG_POWER_CAP_MW, min_cap);

    e0 = rd64(&t, ZK_REG_ENERGY_UJ_LO);
    b0 = rd64(&t, ZK_REG_BUSY_NS_LO);
    /* Keep the engine busy: 16 MiB fills, ring nearly full, refilled. */
    push_ctx(&t, &r, 1, PT_L0);
    for (int i = 0; i < 60; i++) {
        push_dma(&t, &r, ZK_DMA_F_FILL, VA_HUGE, i, HUGE_BYTES);
    }
    ring_kick(&t, &r);
    for (int i = 0; i < 8000 && !throttled; i++) {
        clk = rd(&t, ZK_REG_CLOCK_MHZ);
        throttled = clk < max && (rd(&t, ZK_REG_THROTTLE) & ZK_THROTTLE_POWER);
        if (qrd(&t, 0, ZK_Q_HEAD) == r.tail) {
            /* Ran dry: queue another batch. */
            for (int k = 0; k < 60; k++) {
                push_dma(&t, &r, ZK_DMA_F_FILL, VA_HUGE, k, HUGE_BYTES);
            }
            ring_kick(&t, &r);
        }
        g_usleep(1000);
        qtest_clock_step(t.qts, SCALE_MS);
    }
    g_test_message("throttled to %u MHz, util %u, power %u mW avg %u mW",
                   clk, rd(&t, ZK_REG_UTIL), rd(&t, ZK_REG_POWER_MW),
                   rd(&t, ZK_REG_POWER_AVG_MW));
    g_assert(throttled);
    g_assert_cmpuint(clk, <, max);
    g_assert_cmpuint(rd(&t, ZK_REG_UTIL), <=, 10000);
    g_assert(WAIT_FOR(rd(&t, ZK_REG_IRQ_STATUS) & ZK_IRQ_EVENT));
    g_assert_cmpuint(rd64(&t, ZK_REG_BUSY_NS_LO), >, b0);
    g_assert_cmpuint(rd64(&t, ZK_QREG(0, ZK_Q_BUSY_NS_LO)), >, 0);
    e1 = rd64(&t, ZK_REG_ENERGY_UJ_LO);
    g_assert_cmpuint(e1, >, e0);

    /* Stop the work; with a generous cap the clock recovers. */
    wr(&t, ZK_REG_RESET, ZK_RESET_ENGINE);
    wr(&t, ZK_REG_POWER_CAP_MW, 300000);
    g_assert(WAIT_TICKING(&t, rd(&t, ZK_REG_CLOCK_MHZ) == max));
    g_assert_cmpuint(rd(&t, ZK_REG_THROTTLE), ==, 0);
    /* Energy keeps counting, monotonic, idle power included. */
    for (int i = 0; i < 20; i++) {
        e2 = rd64(&t, ZK_REG_ENERGY_UJ_LO);
        g_assert_cmpuint(e2, >=, e1);
        e1 = e2;
        g_usleep(2000);
        qtest_clock_step(t.qts, 2 * SCALE_MS);
    }
    g_assert(WAIT_TICKING(&t, rd64(&t, ZK_REG_ENERGY_UJ_LO) > e1));
    zk_stop(&t);
}

/*
 * LAUNCH through the compute engine.  struct zk_cmd_launch's fields all lie
 * in the first 56 bytes of the 64-byte record.
 */
static void push_launch(ZkTest *t, ZkRing *r, uint64_t code_va,
                        uint32_t code_size, uint32_t grid_x, uint64_t args_va,
                        uint32_t args_size)
{
    uint8_t c[ZK_CMD_SIZE] = { ZK_CMD_LAUNCH };

    stq_le_p(c + offsetof(struct zk_cmd_launch, code_va), code_va);
    stl_le_p(c + offsetof(struct zk_cmd_launch, code_size), code_size);
    stl_le_p(c + offsetof(struct zk_cmd_launch, entry), 0);
    stl_le_p(c + offsetof(struct zk_cmd_launch, grid), grid_x);
    stl_le_p(c + offsetof(struct zk_cmd_launch, grid) + 4, 1);
    stl_le_p(c + offsetof(struct zk_cmd_launch, grid) + 8, 1);
    stq_le_p(c + offsetof(struct zk_cmd_launch, args_va), args_va);
    stl_le_p(c + offsetof(struct zk_cmd_launch, args_size), args_size);
    ring_push(t, r, c);
}

static void put_code(ZkTest *t, uint64_t hbm_off, const uint64_t *code,
                     unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        hbm_write64(t, hbm_off + 8 * i, code[i]);
    }
}

/* A SIMT launch (ZK_LAUNCH_F_SIMT): fields in the old reserved/pad bytes. */
static void push_launch_simt(ZkTest *t, ZkRing *r, uint8_t flags,
                             uint64_t code_va, uint32_t code_size,
                             uint32_t grid_x, uint16_t block_x, uint32_t shared,
                             uint64_t args_va, uint32_t args_size)
{
    uint8_t c[ZK_CMD_SIZE] = { ZK_CMD_LAUNCH, flags };

    stq_le_p(c + offsetof(struct zk_cmd_launch, code_va), code_va);
    stl_le_p(c + offsetof(struct zk_cmd_launch, code_size), code_size);
    stl_le_p(c + offsetof(struct zk_cmd_launch, grid), grid_x);
    stl_le_p(c + offsetof(struct zk_cmd_launch, grid) + 4, 1);
    stl_le_p(c + offsetof(struct zk_cmd_launch, grid) + 8, 1);
    stl_le_p(c + offsetof(struct zk_cmd_launch, shared_bytes), shared);
    stq_le_p(c + offsetof(struct zk_cmd_launch, args_va), args_va);
    stl_le_p(c + offsetof(struct zk_cmd_launch, args_size), args_size);
    stw_le_p(c + offsetof(struct zk_cmd_launch, block), block_x);
    stw_le_p(c + offsetof(struct zk_cmd_launch, block) + 2, 1);
    stw_le_p(c + offsetof(struct zk_cmd_launch, block) + 4, 1);
    ring_push(t, r, c);
}

static void test_launch_simt(void)
{
    /* out[ctaid * ntid + tid] = tid * 3 + ctaid * 1000 */
    static const ZkSimtInsn prog[] = {
        { .op = ZK_SOP_SREG, .rd = 1, .imm = ZK_SR_TID_X },
        { .op = ZK_SOP_SREG, .rd = 2, .imm = ZK_SR_CTAID_X },
        { .op = ZK_SOP_SREG, .rd = 3, .imm = ZK_SR_NTID_X },
        { .op = ZK_SOP_MAD, .rd = 4, .ra = 2, .rb = 3, .rc = 1 },
        { .op = ZK_SOP_MUL, .rd = 5, .ra = 1, .flags = ZK_SF_BIMM, .imm = 3 },
        { .op = ZK_SOP_MAD, .rd = 5, .ra = 2, .flags = ZK_SF_BIMM, .imm = 1000,
          .rc = 5 },
        { .op = ZK_SOP_LD, .type = ZK_ST_U64, .type2 = ZK_SPACE_PARAM, .rd = 6 },
        { .op = ZK_SOP_MADWIDE, .rd = 7, .ra = 4, .flags = ZK_SF_BIMM, .imm = 8,
          .rc = 6 },
        { .op = ZK_SOP_ST, .type = ZK_ST_U64, .type2 = ZK_SPACE_GLOBAL, .ra = 7,
          .rb = 5 },
        { .op = ZK_SOP_EXIT },
    };
    const uint64_t code = VA_HBM + 0x1000, args = VA_HBM + 0x1800;
    const uint64_t out = VA_HBM + 0x2000;
    uint64_t status, wb, w[2];
    ZkTest t;
    ZkRing r;

    zk_setup(&t, ",insn-budget=100000,compute-units=2", &r, 0, &wb);
    g_assert_cmpuint(rd(&t, ZK_REG_COMPUTE_UNITS), ==, 2);
    status = alloc_status(&t);
    for (unsigned i = 0; i < ARRAY_SIZE(prog); i++) {
        zk_simt_encode(&prog[i], w);
        hbm_write64(&t, HBM_DATA + 0x1000 + 16 * i, w[0]);
        hbm_write64(&t, HBM_DATA + 0x1000 + 16 * i + 8, w[1]);
    }
    hbm_write64(&t, HBM_DATA + 0x1800, out);
    push_ctx(&t, &r, 1, PT_L0);
    push_launch_simt(&t, &r, ZK_LAUNCH_F_SIMT, code, 16 * ARRAY_SIZE(prog), 4,
                     64, 0, args, 8);
    push_job_end(&t, &r, 1, status, false);
    ring_run(&t, &r);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_OK);
    for (unsigned b = 0; b < 4; b++) {
        for (unsigned i = 0; i < 64; i++) {
            g_assert_cmpuint(hbm_read64(&t, HBM_DATA + 0x2000 + 8 * (b * 64 + i)),
                             ==, i * 3 + b * 1000);
        }
    }

    /* Over 1024 threads per block: ILLEGAL_CMD, nothing runs. */
    push_ctx(&t, &r, 1, PT_L0);
    push_launch_simt(&t, &r, ZK_LAUNCH_F_SIMT, code, 16 * ARRAY_SIZE(prog), 1,
                     2000, 0, args, 8);
    push_job_end(&t, &r, 2, status, false);
    ring_run(&t, &r);
    g_assert_cmphex(qtest_readl(t.qts, status), !=, ZK_JOB_OK);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_TYPE), ==, ZK_FAULT_ILLEGAL_CMD);

    /* A tile launch may not use the SIMT fields. */
    push_ctx(&t, &r, 1, PT_L0);
    push_launch_simt(&t, &r, 0, code, 16 * ARRAY_SIZE(prog), 1, 32, 256, args, 8);
    push_job_end(&t, &r, 3, status, false);
    ring_run(&t, &r);
    g_assert_cmphex(qtest_readl(t.qts, status), !=, ZK_JOB_OK);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_TYPE), ==, ZK_FAULT_ILLEGAL_CMD);
    zk_stop(&t);
}

static void test_launch(void)
{
    /* out[wg_x] = wg_x + 100 */
    static const uint64_t kern[] = {
        ZK_INSN(ZK_OP_ARG, 1, 0, 0, 0),
        ZK_INSN(ZK_OP_SREG, 2, 0, 0, ZK_SREG_WG_X),
        ZK_INSN(ZK_OP_SHLI, 3, 2, 0, 3),
        ZK_INSN(ZK_OP_ADD, 1, 1, 3, 0),
        ZK_INSN(ZK_OP_ADDI, 4, 2, 0, 100),
        ZK_INSN(ZK_OP_ST64, 0, 1, 4, 0),
        ZK_INSN(ZK_OP_HALT, 0, 0, 0, 0),
    };
    static const uint64_t spin[] = {
        ZK_INSN(ZK_OP_ADDI, 1, 1, 0, 1),
        ZK_INSN(ZK_OP_JMP, 0, 0, 0, -1),
        ZK_INSN(ZK_OP_HALT, 0, 0, 0, 0),
    };
    static const uint64_t bad[] = { ZK_INSN(0xff, 0, 0, 0, 0) };
    const uint64_t code = VA_HBM + 0x1000, args = VA_HBM + 0x1800;
    const uint64_t out = VA_HBM + 0x2000;
    uint64_t status, wb;
    ZkTest t;
    ZkRing r;

    zk_setup(&t, ",insn-budget=100000", &r, 0, &wb);
    status = alloc_status(&t);
    put_code(&t, HBM_DATA + 0x1000, kern, ARRAY_SIZE(kern));
    hbm_write64(&t, HBM_DATA + 0x1800, out);
    push_ctx(&t, &r, 1, PT_L0);
    push_launch(&t, &r, code, sizeof(kern), 8, args, 8);
    push_job_end(&t, &r, 1, status, false);
    ring_run(&t, &r);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_OK);
    for (unsigned i = 0; i < 8; i++) {
        g_assert_cmpuint(hbm_read64(&t, HBM_DATA + 0x2000 + 8 * i), ==,
                         i + 100);
    }

    /* A kernel that fails verification: ILLEGAL_INSN, job ERROR. */
    put_code(&t, HBM_DATA + 0x3000, bad, ARRAY_SIZE(bad));
    push_ctx(&t, &r, 1, PT_L0);
    push_launch(&t, &r, VA_HBM + 0x3000, sizeof(bad), 1, 0, 0);
    push_job_end(&t, &r, 2, status, false);
    ring_run(&t, &r);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_ERROR);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_TYPE), ==, ZK_FAULT_ILLEGAL_INSN);

    /* An endless loop runs out of the instruction budget. */
    put_code(&t, HBM_DATA + 0x4000, spin, ARRAY_SIZE(spin));
    push_ctx(&t, &r, 1, PT_L0);
    push_launch(&t, &r, VA_HBM + 0x4000, sizeof(spin), 1, 0, 0);
    push_job_end(&t, &r, 3, status, false);
    ring_run(&t, &r);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_ERROR);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_TYPE), ==, ZK_FAULT_BUDGET);

    /* Code outside any mapping: MMU fault, job FAULTED. */
    push_ctx(&t, &r, 1, PT_L0);
    push_launch(&t, &r, VA_HOLE, 64, 1, 0, 0);
    push_job_end(&t, &r, 4, status, false);
    ring_run(&t, &r);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_FAULTED);
    zk_stop(&t);

    /* Without a budget the loop spins until an engine reset aborts it. */
    zk_setup(&t, NULL, &r, 0, &wb);
    status = alloc_status(&t);
    put_code(&t, HBM_DATA + 0x4000, spin, ARRAY_SIZE(spin));
    push_ctx(&t, &r, 1, PT_L0);
    push_launch(&t, &r, VA_HBM + 0x4000, sizeof(spin), 1, 0, 0);
    push_job_end(&t, &r, 1, status, false);
    ring_kick(&t, &r);
    g_assert(WAIT_FOR(qrd(&t, 0, ZK_Q_HEAD) == 64));
    g_usleep(50000);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_HEAD), ==, 64);
    wr(&t, ZK_REG_RESET, ZK_RESET_ENGINE);
    /* The reset waits for the kernel to stop: idle at once. */
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_STATUS) & ZK_QSTAT_BUSY, ==, 0);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, 0xdeadbeef);
    g_assert_cmpuint(rd(&t, ZK_REG_STATUS), ==, ZK_STATE_READY);
    zk_stop(&t);
}

/* Keep queue 0 busy with 16 MiB fills until cond holds (or time out). */
#define BUSY_UNTIL(t, r, cond) ({                                       \
    bool done_ = false;                                                 \
    push_ctx(t, r, 1, PT_L0);                                           \
    ring_kick(t, r);                                                    \
    for (int i_ = 0; i_ < 8000 && !done_; i_++) {                       \
        done_ = (cond);                                                 \
        if (qrd(t, (r)->q, ZK_Q_HEAD) == (r)->tail) {                   \
            for (int k_ = 0; k_ < 60; k_++) {                           \
                push_dma(t, r, ZK_DMA_F_FILL, VA_HUGE, k_, HUGE_BYTES); \
            }                                                           \
            ring_kick(t, r);                                            \
        }                                                               \
        g_usleep(1000);                                                 \
        qtest_clock_step((t)->qts, SCALE_MS);                           \
    }                                                                   \
    done_;                                                              \
})

static void test_thermal(void)
{
    ZkTest t;
    ZkRing r;

    /* Idle: 35 C + 0.15 C/W * 40 W = 41 C; busy heads for 80 C. */
    zk_setup(&t, ",temp-limit-mc=50000,thermal-tau-ms=50", &r, 0, NULL);
    g_assert_cmpuint(rd(&t, ZK_REG_TEMP_MC), <, 50000);
    g_assert(BUSY_UNTIL(&t, &r,
                        rd(&t, ZK_REG_THROTTLE) & ZK_THROTTLE_THERMAL));
    g_test_message("thermal throttle at %u mC, %u MHz",
                   rd(&t, ZK_REG_TEMP_MC), rd(&t, ZK_REG_CLOCK_MHZ));
    g_assert_cmpuint(rd(&t, ZK_REG_TEMP_MC), >, 45000);
    g_assert_cmpuint(rd(&t, ZK_REG_CLOCK_MHZ), <,
                     rd(&t, ZK_REG_CLOCK_MAX_MHZ));
    wr(&t, ZK_REG_RESET, ZK_RESET_ENGINE);
    /* Cooling down lets the clock recover. */
    g_assert(WAIT_TICKING(&t, rd(&t, ZK_REG_CLOCK_MHZ) ==
                          rd(&t, ZK_REG_CLOCK_MAX_MHZ)));
    g_assert_cmpuint(rd(&t, ZK_REG_THROTTLE), ==, 0);
    zk_stop(&t);
}

static void test_flr(void)
{
    ZkTest t;
    uint8_t cap;
    uint16_t ctl;

    zk_start(&t, NULL);
    zk_boot_ok(&t);
    cap = qpci_find_capability(t.dev, PCI_CAP_ID_EXP, 0);
    g_assert_cmphex(cap, !=, 0);
    g_assert(qpci_config_readl(t.dev, cap + PCI_EXP_DEVCAP) &
             PCI_EXP_DEVCAP_FLR);
    ctl = qpci_config_readw(t.dev, cap + PCI_EXP_DEVCTL);
    qpci_config_writew(t.dev, cap + PCI_EXP_DEVCTL,
                       ctl | PCI_EXP_DEVCTL_BCR_FLR);
    /* FLR clears the command register and BARs: map again. */
    qpci_device_enable(t.dev);
    t.bar0 = qpci_iomap(t.dev, ZK_BAR_REGS, NULL);
    g_assert_cmphex(rd(&t, ZK_REG_ID), ==, ZK_ID_MAGIC);
    g_assert_cmpuint(rd(&t, ZK_REG_STATUS), ==, ZK_STATE_RESET);
    g_assert_cmpuint(rd(&t, ZK_REG_RESET_COUNT), >=, 1);
    zk_stop(&t);
}

/* ------------------------------------------------------------------ */
/* Card performance model (zhikai-perf.c, docs/perf-model.md)          */
/* ------------------------------------------------------------------ */

static void push_ts(ZkTest *t, ZkRing *r, uint8_t flags, uint64_t va)
{
    ZkCmd c = { .ts = {
        .hdr.opcode = ZK_CMD_TIMESTAMP,
        .hdr.flags = flags,
        .addr = cpu_to_le64(va),
    } };
    ring_push(t, r, &c);
}

/* |got - want| <= tol (card time is summed in double, read truncated). */
#define ASSERT_NEAR(got, want, tol) do {                                \
    double g_ = (double)(got), w_ = (double)(want);                     \
    if (g_ < w_ - (tol) || g_ > w_ + (tol)) {                           \
        g_test_message("%s = %.3f, want %.3f +- %g", #got, g_, w_,      \
                       (double)(tol));                                  \
        g_assert_not_reached();                                         \
    }                                                                   \
} while (0)

static void test_perf_params(void)
{
    ZkTest t;

    zk_start(&t, NULL);
    g_assert_cmphex(rd(&t, ZK_REG_CAPS) & ZK_CAP_PERF_MODEL, ==,
                    ZK_CAP_PERF_MODEL);
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_PROFILE), ==, ZK_PROFILE_ZK100);
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_HBM_BW_MBS), ==, 1600000);
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_PCIE_BW_MBS), ==, 25000);
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_COPY_BW_MBS), ==, 800000);
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_FP32_GFLOPS), ==, 24000);
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_FP16_GFLOPS), ==, 96000);
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_BF16_GFLOPS), ==, 96000);
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_INT8_GOPS), ==, 192000);
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_LAUNCH_NS), ==, 2000);
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_DMA_SETUP_NS), ==, 1000);
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_TDP_MW), ==, 300000);
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_IDLE_MW), ==, 40000);
    g_assert_cmpuint(rd(&t, ZK_REG_POWER_CAP_MW), ==, 300000);
    /* Nothing ran: card time has not moved (it does not follow the host). */
    g_usleep(20000);
    g_assert_cmpuint(rd64(&t, ZK_REG_CARD_TIME_LO), ==, 0);
    g_assert_cmpuint(rd(&t, ZK_REG_CARD_CLOCK_MHZ), ==, 1500);
    zk_stop(&t);

    /* The smaller part, with one parameter overridden. */
    zk_start(&t, ",profile=zk50,launch-ns=500");
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_PROFILE), ==, ZK_PROFILE_ZK50);
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_HBM_BW_MBS), ==, 800000);
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_FP16_GFLOPS), ==, 64000);
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_INT8_GOPS), ==, 128000);
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_LAUNCH_NS), ==, 500);
    g_assert_cmpuint(rd(&t, ZK_REG_PERF_TDP_MW), ==, 150000);
    g_assert_cmpuint(rd(&t, ZK_REG_POWER_CAP_MW), ==, 150000);
    zk_stop(&t);
}

/* Card time of a DMA = setup + max(PCIe time, HBM time), exactly. */
static void test_perf_dma(void)
{
    const uint64_t ts = VA_HBM + 0x5000;
    const uint64_t n = 4 * 4096;
    uint64_t c0, c1, e0, e1, d0;
    double pcie_ns, hbm_ns;
    ZkTest t;
    ZkRing r;

    zk_setup(&t, NULL, &r, 0, NULL);
    c0 = rd64(&t, ZK_REG_CARD_TIME_LO);
    d0 = rd64(&t, ZK_REG_CARD_DMAS_LO);
    push_ctx(&t, &r, 1, PT_L0);
    push_ts(&t, &r, ZK_TS_F_CARD_TIME, ts);
    push_ts(&t, &r, ZK_TS_F_CARD_ENERGY, ts + 8);
    push_dma(&t, &r, 0, VA_HBM, VA_SYS, n);             /* host -> HBM */
    push_ts(&t, &r, ZK_TS_F_CARD_TIME, ts + 16);
    push_ts(&t, &r, ZK_TS_F_CARD_ENERGY, ts + 24);
    ring_run(&t, &r);
    /* 16 KiB over PCIe at 25000 MB/s; the HBM side (1.6 TB/s) hides. */
    pcie_ns = n * 1e3 / 25000;
    hbm_ns = n * 1e3 / 1600000;
    g_test_message("host->HBM %" PRIu64 " B: card %" PRIu64 " ns",
                   n, hbm_read64(&t, HBM_DATA + 0x5010) -
                      hbm_read64(&t, HBM_DATA + 0x5000));
    ASSERT_NEAR(hbm_read64(&t, HBM_DATA + 0x5010) -
                hbm_read64(&t, HBM_DATA + 0x5000), 1000 + pcie_ns, 1);
    c1 = rd64(&t, ZK_REG_CARD_TIME_LO);
    ASSERT_NEAR(c1 - c0, 1000 + pcie_ns, 1);
    g_assert_cmpuint(rd64(&t, ZK_REG_CARD_DMAS_LO) - d0, ==, 1);
    g_assert_cmpuint(rd64(&t, ZK_REG_CARD_PCIE_BYTES_LO), ==, n);
    /* Energy: idle 40 W over the whole DMA + 30% of 260 W for the HBM. */
    e0 = hbm_read64(&t, HBM_DATA + 0x5008);
    e1 = hbm_read64(&t, HBM_DATA + 0x5018);
    ASSERT_NEAR(e1 - e0, (40000 * (1000 + pcie_ns) + 78000 * hbm_ns) * 1e-3,
                1);

    /* HBM -> HBM, 8 MiB: memory-bound at copy bandwidth (800 GB/s). */
    c0 = rd64(&t, ZK_REG_CARD_TIME_LO);
    push_dma(&t, &r, 0, VA_HUGE + 8 * MiB, VA_HUGE, 8 * MiB);
    ring_run(&t, &r);
    c1 = rd64(&t, ZK_REG_CARD_TIME_LO);
    ASSERT_NEAR(c1 - c0, 1000 + 8.0 * MiB * 1e3 / 800000, 1);
    g_assert_cmpuint(rd64(&t, ZK_REG_CARD_MEMORY_NS_LO), >, 10000);
    g_assert_cmpuint(rd64(&t, ZK_REG_CARD_COMPUTE_NS_LO), ==, 0);
    /* Card time survives resets and does not move while idle. */
    wr(&t, ZK_REG_RESET, ZK_RESET_ENGINE);
    g_usleep(20000);
    g_assert_cmpuint(rd64(&t, ZK_REG_CARD_TIME_LO), ==, c1);
    zk_stop(&t);
}

/*
 * C = A x B, fp32, 512 x 512 x 512, one workgroup: compute-bound
 * (2*512^3 flops at 24 TFLOPS = 11.2 us vs 3 MiB at 1.6 TB/s = 2 us).
 */
static uint64_t run_gemm(ZkTest *t, ZkRing *r)
{
    enum { D = 512 };
    static const uint64_t kern[] = {
        ZK_INSN(ZK_OP_MOVI, 2, 0, 0, D),
        ZK_INSN(ZK_OP_MOVI, 3, 0, 0, D),
        ZK_INSN(ZK_OP_MOVI, 4, 0, 0, 0),
        ZK_INSN(ZK_OP_ARG, 1, 0, 0, 0),
        ZK_INSN(ZK_OP_TSET, 0, 1, 0, ZK_DT_F32),
        ZK_INSN(ZK_OP_ARG, 1, 0, 0, 1),
        ZK_INSN(ZK_OP_TSET, 1, 1, 0, ZK_DT_F32),
        ZK_INSN(ZK_OP_ARG, 1, 0, 0, 2),
        ZK_INSN(ZK_OP_TSET, 2, 1, 0, ZK_DT_F32),
        ZK_INSN(ZK_OP_MATMUL, 2, 0, 1, 0),
        ZK_INSN(ZK_OP_HALT, 0, 0, 0, 0),
    };
    uint64_t c0 = rd64(t, ZK_REG_CARD_TIME_LO);

    put_code(t, HBM_DATA + 0x1000, kern, ARRAY_SIZE(kern));
    hbm_write64(t, HBM_DATA + 0x1800, VA_HUGE);
    hbm_write64(t, HBM_DATA + 0x1808, VA_HUGE + 1 * MiB);
    hbm_write64(t, HBM_DATA + 0x1810, VA_HUGE + 2 * MiB);
    push_ctx(t, r, 1, PT_L0);
    push_launch(t, r, VA_HBM + 0x1000, sizeof(kern), 1, VA_HBM + 0x1800, 24);
    ring_run(t, r);
    g_assert_cmpuint(qrd(t, r->q, ZK_Q_FAULT_COUNT), ==, 0);
    return rd64(t, ZK_REG_CARD_TIME_LO) - c0;
}

static void test_perf_cap(void)
{
    const double flops = 2.0 * 512 * 512 * 512;
    uint64_t f0, d1, d2;
    uint32_t clk;
    ZkTest t;
    ZkRing r;

    zk_setup(&t, NULL, &r, 0, NULL);
    f0 = rd64(&t, ZK_REG_CARD_FLOPS_LO(ZK_DT_F32));
    d1 = run_gemm(&t, &r);
    /* Uncapped (300 W): launch overhead + flops / 24 TFLOPS. */
    g_assert_cmpuint(rd(&t, ZK_REG_CARD_CLOCK_MHZ), ==, 1500);
    ASSERT_NEAR(d1, 2000 + flops / 24000, 1);
    g_assert_cmpuint(rd64(&t, ZK_REG_CARD_FLOPS_LO(ZK_DT_F32)) - f0, ==,
                     (uint64_t)flops);
    g_assert_cmpuint(rd64(&t, ZK_REG_CARD_COMPUTE_NS_LO), >, 11000);
    g_assert_cmpuint(rd(&t, ZK_REG_CARD_POWER_MW), <=, 300000);

    /* A 100 W cap: the governor lowers the clock, the launch takes longer. */
    wr(&t, ZK_REG_POWER_CAP_MW, 100000);
    d2 = run_gemm(&t, &r);
    clk = rd(&t, ZK_REG_CARD_CLOCK_MHZ);
    g_test_message("gemm 512^3 f32: %" PRIu64 " ns at 1500 MHz, %" PRIu64
                   " ns at %u MHz under 100 W (%u mW)", d1, d2, clk,
                   rd(&t, ZK_REG_CARD_POWER_MW));
    g_assert_cmpuint(clk, <, 1500);
    g_assert_cmpuint(rd(&t, ZK_REG_CARD_POWER_MW), <=, 100000);
    g_assert_cmpuint(d2, >, d1 * 13 / 10);
    ASSERT_NEAR(d2, (2000 + flops / 24000) * 1500.0 / clk, 2);
    zk_stop(&t);
}

/* ------------------------------------------------------------------ */
/* Hostile guest (issue 14)                                            */
/* ------------------------------------------------------------------ */

/* Long-kernel layout inside the 16 MiB at VA_HUGE (HBM is zero-filled). */
#define LK_CACHE        (VA_HUGE)                   /* 2^16 x 1 f32 */
#define LK_TABLE        (VA_HUGE + 1 * MiB)         /* 2^16 x i32 zeros */
#define LK_QO           (VA_HUGE + 2 * MiB)         /* q and out: 1 x 1 */
#define LK_CODE_OFF     (4 * MiB)                   /* from VA_HUGE/HBM_HUGE */
#define LK_BIG          (VA_HUGE + 8 * MiB)

typedef struct ZkCode {
    uint64_t w[128];
    unsigned n;
} ZkCode;

static void k_emit(ZkCode *c, uint8_t op, unsigned rd, unsigned ra,
                   unsigned rb, uint32_t imm)
{
    g_assert(c->n < 128);
    c->w[c->n++] = ZK_INSN(op, rd, ra, rb, imm);
}

static void k_li(ZkCode *c, unsigned rd, uint64_t v)
{
    k_emit(c, ZK_OP_MOVI, rd, 0, 0, (uint32_t)v);
    k_emit(c, ZK_OP_MOVHI, rd, 0, 0, (uint32_t)(v >> 32));
}

static void k_tset(ZkCode *c, unsigned td, uint64_t va, uint64_t rows,
                   uint64_t cols, uint64_t stride, unsigned dt)
{
    k_li(c, 24, va);
    k_li(c, 25, rows);
    k_li(c, 26, cols);
    k_li(c, 27, stride);
    k_emit(c, ZK_OP_TSET, td, 24, 0, dt);
}

enum { K_PATTN_LONG, K_PATTN_WRAP, K_TILE_2P31, K_MATMUL_HUGE };

/*
 * Kernels a guest user can launch.  K_PATTN_LONG: one PATTN over 2^32 - 1
 * positions whose block table maps every block to block 0 (runs for
 * hours unless aborted); the others are the measured QEMU crashers: PATTN
 * with 2^62 columns and head dim 1 (scratch size wrap), a 2^31 x 2^31 f32
 * tile (byte size wrap to 0), and a matmul whose widened panels would be
 * terabytes.
 */
static unsigned put_kernel(ZkTest *t, int kind)
{
    ZkCode c = { .n = 0 };

    switch (kind) {
    case K_PATTN_LONG:
        k_tset(&c, 0, LK_QO, 1, 1, 1, ZK_DT_F32);
        k_tset(&c, 1, LK_QO, 1, 1, 1, ZK_DT_F32);
        k_tset(&c, 2, LK_CACHE, 1 << 16, 1, 1, ZK_DT_F32);
        k_tset(&c, 3, LK_CACHE, 1 << 16, 1, 1, ZK_DT_F32);
        k_tset(&c, 4, LK_TABLE, 1, 1 << 16, 1 << 16, ZK_DT_I32);
        k_li(&c, 8, 0xffffffffu);       /* context length */
        k_li(&c, 9, 1);                 /* kv heads */
        k_li(&c, 10, 1 << 16);          /* block size */
        k_li(&c, 11, 1);                /* head dim */
        k_emit(&c, ZK_OP_PATTN, 0, 1, 2, ZK_TI(3, 4, 8, 0));
        break;
    case K_PATTN_WRAP:
        k_tset(&c, 0, LK_QO, 1, 1ull << 62, 1ull << 62, ZK_DT_F32);
        k_tset(&c, 1, LK_QO, 1, 1ull << 62, 1ull << 62, ZK_DT_F32);
        k_tset(&c, 2, LK_CACHE, 4, 1, 1, ZK_DT_F32);
        k_tset(&c, 3, LK_CACHE, 4, 1, 1, ZK_DT_F32);
        k_tset(&c, 4, LK_TABLE, 1, 4, 4, ZK_DT_I32);
        k_li(&c, 8, 1);
        k_li(&c, 9, 1);
        k_li(&c, 10, 4);
        k_li(&c, 11, 1);
        k_emit(&c, ZK_OP_PATTN, 0, 1, 2, ZK_TI(3, 4, 8, 0));
        break;
    case K_TILE_2P31:
        k_tset(&c, 0, LK_BIG, 1ull << 31, 1ull << 31, 1ull << 31, ZK_DT_F32);
        k_tset(&c, 1, LK_BIG, 1ull << 31, 1ull << 31, 1ull << 31, ZK_DT_F32);
        k_emit(&c, ZK_OP_EUN, 1, 0, 0, ZK_TI(0, 0, 0, ZK_EU_COPY));
        break;
    default:
        k_tset(&c, 0, LK_BIG, 1ull << 20, 1ull << 19, 1ull << 19, ZK_DT_BF16);
        k_tset(&c, 1, LK_BIG, 1ull << 19, 1ull << 19, 1ull << 19, ZK_DT_BF16);
        k_tset(&c, 2, LK_BIG, 1ull << 20, 1ull << 19, 1ull << 19, ZK_DT_F32);
        k_emit(&c, ZK_OP_MATMUL, 2, 0, 1, ZK_TI(0, 0, 0, 0));
        break;
    }
    k_emit(&c, ZK_OP_HALT, 0, 0, 0, 0);
    put_code(t, HBM_HUGE + LK_CODE_OFF, c.w, c.n);
    return c.n * 8;
}

/* Start the long kernel on every queue; all are busy inside it on return. */
static unsigned start_long_kernels(ZkTest *t, ZkRing *r, uint64_t *status)
{
    unsigned nq = rd(t, ZK_REG_NUM_QUEUES), size;

    size = put_kernel(t, K_PATTN_LONG);
    for (unsigned q = 0; q < nq; q++) {
        if (q) {
            ring_init(t, &r[q], q, 4096);
        }
        status[q] = alloc_status(t);
        push_ctx(t, &r[q], 1, PT_L0);
        push_launch(t, &r[q], VA_HUGE + LK_CODE_OFF, size, 1, 0, 0);
        push_job_end(t, &r[q], 7, status[q], true);
        ring_kick(t, &r[q]);
    }
    for (unsigned q = 0; q < nq; q++) {
        g_assert(WAIT_FOR(qrd(t, q, ZK_Q_HEAD) == 64 &&
                          (qrd(t, q, ZK_Q_STATUS) & ZK_QSTAT_BUSY)));
    }
    g_usleep(50 * 1000);    /* deep inside the PATTN now */
    for (unsigned q = 0; q < nq; q++) {
        g_assert_cmpuint(qrd(t, q, ZK_Q_HEAD), ==, 64);
    }
    return nq;
}

/* After a reset: nothing of the dropped jobs ever lands. */
static void expect_dropped(ZkTest *t, unsigned nq, const uint64_t *status,
                           uint64_t wb)
{
    g_usleep(100 * 1000);
    for (unsigned q = 0; q < nq; q++) {
        g_assert_cmphex(qtest_readl(t->qts, status[q]), ==, 0xdeadbeef);
        g_assert_cmpuint(qrd(t, q, ZK_Q_FENCE_LO), ==, 0);
        g_assert_cmpuint(qrd(t, q, ZK_Q_FAULT_COUNT), ==, 0);
        g_assert(WAIT_FOR(!(qrd(t, q, ZK_Q_STATUS) & ZK_QSTAT_BUSY)));
    }
    g_assert_cmpuint(qtest_readq(t->qts, wb), ==, 0);
}

/*
 * Bound on how long a reset may hold the BQL, as the device measures it
 * (ZK_REG_RESET_TIME_US).  The qtest round trip of the register write is
 * also bounded, more loosely: it adds scheduling delays of a loaded host
 * (8 busy workers on 2 cores); without the fix it was 2 s per queue.
 */
#define ZK_BQL_BOUND_US     100000
#define ZK_RTT_BOUND_US     1000000

static int64_t timed_us(int64_t t0)
{
    return g_get_monotonic_time() - t0;
}

/* Check the last reset's BQL hold; returns it (us). */
static int64_t check_hold(ZkTest *t, int64_t rtt_us, const char *what)
{
    int64_t dev_us = rd(t, ZK_REG_RESET_TIME_US);

    g_test_message("%s: BQL held %" PRId64 " us (write round trip %" PRId64
                   " us)", what, dev_us, rtt_us);
    g_assert_cmpint(dev_us, <, ZK_BQL_BOUND_US);
    g_assert_cmpint(rtt_us, <, ZK_RTT_BOUND_US);
    return dev_us;
}

/*
 * Engine reset, per-queue reset and device reset while every queue runs a
 * kernel that would take hours: each register write returns within the
 * bound (it holds the BQL throughout), and the dropped jobs write nothing.
 */
static void test_reset_bound(void)
{
    ZkRing r[ZK_MAX_QUEUES];
    uint64_t status[ZK_MAX_QUEUES], wb;
    int64_t t0, us, worst = 0;
    unsigned nq;
    ZkTest t;

    zk_setup(&t, NULL, &r[0], 0, &wb);
    nq = start_long_kernels(&t, r, status);
    t0 = g_get_monotonic_time();
    wr(&t, ZK_REG_RESET, ZK_RESET_ENGINE);
    us = timed_us(t0);
    worst = MAX(worst, check_hold(&t, us, "engine reset, 8 busy queues"));
    expect_dropped(&t, nq, status, wb);

    /* One queue at a time through Q_CTRL. */
    ring_init(&t, &r[0], 0, 4096);
    nq = start_long_kernels(&t, r, status);
    for (unsigned q = 0; q < nq; q++) {
        t0 = g_get_monotonic_time();
        qwr(&t, q, ZK_Q_CTRL, ZK_QCTRL_RESET);
        us = timed_us(t0);
        worst = MAX(worst, check_hold(&t, us, "queue reset"));
    }
    expect_dropped(&t, nq, status, wb);

    /* Device reset: back to RESET state, everything dropped. */
    ring_init(&t, &r[0], 0, 4096);
    nq = start_long_kernels(&t, r, status);
    t0 = g_get_monotonic_time();
    wr(&t, ZK_REG_RESET, ZK_RESET_DEVICE);
    us = timed_us(t0);
    worst = MAX(worst, check_hold(&t, us, "device reset, 8 busy queues"));
    g_assert_cmpuint(rd(&t, ZK_REG_STATUS), ==, ZK_STATE_RESET);
    g_usleep(100 * 1000);
    for (unsigned q = 0; q < nq; q++) {
        g_assert_cmphex(qtest_readl(t.qts, status[q]), ==, 0xdeadbeef);
    }
    g_test_message("longest BQL hold for a reset under load: %" PRId64 " us",
                   worst);
    zk_stop(&t);
}

/* FLR (PCIe config write) during long kernels on every queue. */
static void test_flr_bound(void)
{
    ZkRing r[ZK_MAX_QUEUES];
    uint64_t status[ZK_MAX_QUEUES], wb;
    int64_t t0, us;
    unsigned nq;
    uint8_t cap;
    uint16_t ctl;
    ZkTest t;

    zk_setup(&t, NULL, &r[0], 0, &wb);
    nq = start_long_kernels(&t, r, status);
    cap = qpci_find_capability(t.dev, PCI_CAP_ID_EXP, 0);
    ctl = qpci_config_readw(t.dev, cap + PCI_EXP_DEVCTL);
    t0 = g_get_monotonic_time();
    qpci_config_writew(t.dev, cap + PCI_EXP_DEVCTL,
                       ctl | PCI_EXP_DEVCTL_BCR_FLR);
    us = timed_us(t0);
    qpci_device_enable(t.dev);
    t.bar0 = qpci_iomap(t.dev, ZK_BAR_REGS, NULL);
    check_hold(&t, us, "FLR, 8 busy queues");
    g_assert_cmpuint(rd(&t, ZK_REG_STATUS), ==, ZK_STATE_RESET);
    g_usleep(100 * 1000);
    for (unsigned q = 0; q < nq; q++) {
        g_assert_cmphex(qtest_readl(t.qts, status[q]), ==, 0xdeadbeef);
    }
    g_assert_cmpuint(qtest_readq(t.qts, wb), ==, 0);
    zk_stop(&t);
}

/*
 * Worker DMA reaches guest RAM only.  A SYSMEM page aimed at the card's own
 * BAR0 (its RESET register) and a ring placed in BAR0 both fail with a DMA
 * fault; the RESET register is never written by the device itself.
 */
static void test_dma_to_mmio(void)
{
    uint64_t bar0_phys, status;
    uint32_t resets;
    ZkTest t;
    ZkRing r;

    zk_setup(&t, NULL, &r, 0, NULL);
    status = alloc_status(&t);
    bar0_phys = qpci_config_readl(t.dev, PCI_BASE_ADDRESS_0) & ~0xfull;
    bar0_phys |= (uint64_t)qpci_config_readl(t.dev, PCI_BASE_ADDRESS_1) << 32;
    g_assert_cmphex(bar0_phys, !=, 0);
    hbm_write64(&t, PT_L2 + (VA_SYS >> 12) * 8, bar0_phys | ZK_PTE_VALID |
                ZK_PTE_WRITE | ZK_PTE_SYSMEM);
    resets = rd(&t, ZK_REG_RESET_COUNT);
    push_ctx(&t, &r, 1, PT_L0);
    push_fence(&t, &r, VA_SYS + ZK_REG_RESET, ZK_RESET_DEVICE, false);
    push_job_end(&t, &r, 1, status, false);
    ring_run(&t, &r);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_TYPE), ==, ZK_FAULT_DMA);
    g_assert_cmphex(qrd(&t, 0, ZK_Q_FAULT_ADDR_LO), ==, VA_SYS + ZK_REG_RESET);
    g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_FAULTED);
    g_assert_cmpuint(rd(&t, ZK_REG_RESET_COUNT), ==, resets);
    g_assert_cmpuint(rd(&t, ZK_REG_STATUS), ==, ZK_STATE_READY);

    /* A ring in BAR0: the fetch fails, the queue stops with a DMA fault. */
    qwr(&t, 1, ZK_Q_BASE_LO, bar0_phys);
    qwr(&t, 1, ZK_Q_BASE_HI, bar0_phys >> 32);
    qwr(&t, 1, ZK_Q_SIZE, 4096);
    qwr(&t, 1, ZK_Q_CTRL, ZK_QCTRL_ENABLE);
    qwr(&t, 1, ZK_Q_DOORBELL, 64);
    g_assert(WAIT_FOR(qrd(&t, 1, ZK_Q_FAULT_TYPE) == ZK_FAULT_DMA));
    g_assert(WAIT_FOR(qrd(&t, 1, ZK_Q_CTRL) == 0));
    g_assert_cmpuint(rd(&t, ZK_REG_RESET_COUNT), ==, resets);
    zk_stop(&t);
}

/* The measured crashers and kin through the device: a clean ENGINE fault. */
static void test_hostile_kernels(void)
{
    static const int kinds[] = { K_PATTN_WRAP, K_TILE_2P31, K_MATMUL_HUGE };
    uint64_t status;
    ZkTest t;
    ZkRing r;

    zk_setup(&t, NULL, &r, 0, NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(kinds); i++) {
        unsigned size = put_kernel(&t, kinds[i]);
        uint32_t faults = qrd(&t, 0, ZK_Q_FAULT_COUNT);

        status = alloc_status(&t);
        push_ctx(&t, &r, 1, PT_L0);
        push_launch(&t, &r, VA_HUGE + LK_CODE_OFF, size, 1, 0, 0);
        push_job_end(&t, &r, i + 1, status, false);
        ring_run(&t, &r);
        g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_COUNT), ==, faults + 1);
        g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_TYPE), ==, ZK_FAULT_ENGINE);
        g_assert_cmphex(qtest_readl(t.qts, status), ==, ZK_JOB_ERROR);
    }
    g_assert_cmpuint(rd(&t, ZK_REG_STATUS), ==, ZK_STATE_READY);
    zk_stop(&t);
}

/* QEMU's resident set, from /proc (KiB). */
static uint64_t qemu_rss_kib(ZkTest *t)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status",
                                            (int)qtest_pid(t->qts));
    g_autofree char *text = NULL;
    const char *p;

    g_assert(g_file_get_contents(path, &text, NULL, NULL));
    p = strstr(text, "VmRSS:");
    g_assert(p);
    return g_ascii_strtoull(p + 6, NULL, 10);
}

/* libqos maps BARs below 4 GiB: a 256 MiB card, 128 MiB of it discarded. */
#define DISC_CARD       (256 * MiB)
#define DISC_VA         0x8000000ull    /* L1 entries 64..127 */
#define DISC_HBM        0x8000000ull
#define DISC_BYTES      (128 * MiB)

/* One ZK_CMD_HBM_DISCARD on @r, run to completion. */
static void discard_cmd(ZkTest *t, ZkRing *r, uint64_t off, uint64_t len)
{
    uint8_t c[ZK_CMD_SIZE] = { ZK_CMD_HBM_DISCARD };

    stq_le_p(c + offsetof(struct zk_cmd_hbm_discard, hbm_off), off);
    stq_le_p(c + offsetof(struct zk_cmd_hbm_discard, size), len);
    ring_push(t, r, c);
    ring_run(t, r);
}

/* Fill 128 MiB of HBM through the DMA engine (touches every host page). */
static void fill_disc(ZkTest *t, ZkRing *r, uint32_t pattern)
{
    push_ctx(t, r, 1, PT_L0);
    push_dma(t, r, ZK_DMA_F_FILL, DISC_VA, pattern, DISC_BYTES);
    ring_run(t, r);
    g_assert_cmpuint(qrd(t, r->q, ZK_Q_FAULT_COUNT), ==, 0);
    g_assert_cmphex(hbm_read64(t, DISC_HBM + DISC_BYTES - 8), ==,
                    (uint64_t)pattern << 32 | pattern);
}

/*
 * HBM discard: 128 MiB the guest filled cost ~128 MiB of QEMU RSS; after a
 * ZK_CMD_HBM_DISCARD they read zero and the RSS is back.  The registers of
 * the old synchronous discard (0x068..0x074) are reserved: they read 0 and
 * a write there discards nothing.
 */
static void test_hbm_discard(void)
{
    uint64_t rss0, rss1, rss2;
    ZkTest t;
    ZkRing r;

    zk_start(&t, ",hbm-size=256M");
    zk_boot_ok(&t);
    zk_build_pt(&t);
    ring_init(&t, &r, 0, 4096);
    g_assert(rd(&t, ZK_REG_CAPS) & ZK_CAP_HBM_DISCARD);
    for (unsigned i = 0; i < DISC_BYTES / ZK_HUGE_SIZE; i++) {
        hbm_write64(&t, PT_L1 + ((DISC_VA >> ZK_HUGE_SHIFT) + i) * 8,
                    (DISC_HBM + i * ZK_HUGE_SIZE) | ZK_PTE_VALID |
                    ZK_PTE_WRITE | ZK_PTE_HUGE);
    }
    rss0 = qemu_rss_kib(&t);
    fill_disc(&t, &r, 0x5a5a1234);
    rss1 = qemu_rss_kib(&t);
    /* Reserved: the old register sequence changes nothing. */
    wr(&t, 0x068, DISC_HBM);
    wr(&t, 0x06c, 0);
    wr(&t, 0x070, 4096);
    wr(&t, 0x074, 0x44495343);
    for (uint32_t reg = 0x068; reg <= 0x074; reg += 4) {
        g_assert_cmpuint(rd(&t, reg), ==, 0);
    }
    g_assert_cmphex(hbm_read64(&t, DISC_HBM), ==, 0x5a5a12345a5a1234ull);
    discard_cmd(&t, &r, DISC_HBM, DISC_BYTES);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_COUNT), ==, 0);
    rss2 = qemu_rss_kib(&t);
    g_test_message("RSS: %" PRIu64 " MiB, after a 128 MiB fill %" PRIu64
                   " MiB, after the discard %" PRIu64 " MiB", rss0 >> 10,
                   rss1 >> 10, rss2 >> 10);
    g_assert_cmpuint(rss1, >, rss0 + 100 * 1024);
    g_assert_cmpuint(rss2 + 100 * 1024, <, rss1);
    for (uint64_t off = 0; off < DISC_BYTES; off += 17 * MiB + 4096) {
        g_assert_cmphex(hbm_read64(&t, DISC_HBM + off), ==, 0);
    }
    g_assert_cmphex(hbm_read64(&t, DISC_HBM + DISC_BYTES - 8), ==, 0);

    /* Partial pages: exactly the range is cleared, neighbours stay. */
    hbm_write64(&t, HBM_DATA, 0x1111);
    hbm_write64(&t, HBM_DATA + 8, 0x2222);
    hbm_write64(&t, HBM_DATA + 16, 0x3333);
    discard_cmd(&t, &r, HBM_DATA + 8, 8);
    g_assert_cmphex(hbm_read64(&t, HBM_DATA), ==, 0x1111);
    g_assert_cmphex(hbm_read64(&t, HBM_DATA + 8), ==, 0);
    g_assert_cmphex(hbm_read64(&t, HBM_DATA + 16), ==, 0x3333);
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_COUNT), ==, 0);

    /* Behind other work on the ring, then a bad range faults. */
    fill_disc(&t, &r, 0x77777777);
    rss1 = qemu_rss_kib(&t);
    {
        uint8_t c[ZK_CMD_SIZE] = { ZK_CMD_HBM_DISCARD };
        stq_le_p(c + offsetof(struct zk_cmd_hbm_discard, hbm_off), DISC_HBM);
        stq_le_p(c + offsetof(struct zk_cmd_hbm_discard, size), DISC_BYTES);
        ring_push(&t, &r, c);
        stq_le_p(c + offsetof(struct zk_cmd_hbm_discard, hbm_off), DISC_CARD);
        stq_le_p(c + offsetof(struct zk_cmd_hbm_discard, size), 1);
        ring_push(&t, &r, c);
        ring_run(&t, &r);
    }
    g_assert_cmpuint(qrd(&t, 0, ZK_Q_FAULT_TYPE), ==, ZK_FAULT_ILLEGAL_CMD);
    g_assert_cmphex(hbm_read64(&t, DISC_HBM + 4096), ==, 0);
    g_assert_cmpuint(qemu_rss_kib(&t) + 100 * 1024, <, rss1);
    zk_stop(&t);
}

#define RP_SLOT 5

/*
 * No firmware enumerates buses under qtest: give the root port bus 1 and a
 * window over libqos's whole MMIO range (0xe0000000..), so the card behind
 * it is reachable at devfn (1 << 8).
 */
static void setup_root_port(ZkTest *t)
{
    QPCIDevice *rp = qpci_device_find(t->bus, QPCI_DEVFN(RP_SLOT, 0));

    g_assert(rp);
    qpci_config_writeb(rp, PCI_PRIMARY_BUS, 0);
    qpci_config_writeb(rp, PCI_SECONDARY_BUS, 1);
    qpci_config_writeb(rp, PCI_SUBORDINATE_BUS, 1);
    qpci_config_writew(rp, PCI_MEMORY_BASE, 0xe000);
    qpci_config_writew(rp, PCI_MEMORY_LIMIT, 0xfff0);
    qpci_config_writew(rp, PCI_PREF_MEMORY_BASE, 0xfff0);  /* closed */
    qpci_config_writew(rp, PCI_PREF_MEMORY_LIMIT, 0x0000);
    qpci_config_writew(rp, PCI_COMMAND, PCI_COMMAND_MEMORY |
                       PCI_COMMAND_MASTER);
    g_free(rp);
}

/*
 * PCIe hot-unplug while every queue runs a kernel that would take hours:
 * the guest powers the slot off (what pciehp does after device_del), QEMU
 * unrealizes the card in that config write.  The workers stop without the
 * BQL, so the write returns within the bound and QEMU carries on.
 */
static void test_unplug_busy(void)
{
    ZkRing r[ZK_MAX_QUEUES];
    uint64_t status[ZK_MAX_QUEUES];
    g_autofree char *args = g_strdup_printf(
        "-M q35 -nic none -device pcie-root-port,id=rp0,bus=pcie.0,"
        "chassis=1,addr=%02x.0 -device zhikai,id=zk0,bus=rp0,hbm-size=64M",
        RP_SLOT);
    QPCIDevice *rp;
    QDict *resp;
    int64_t t0, us;
    uint16_t ctl;
    uint8_t cap;
    unsigned nq;
    ZkTest t;

    zk_start_at(&t, args, 1 << 8, setup_root_port);
    zk_boot_ok(&t);
    zk_build_pt(&t);
    ring_init(&t, &r[0], 0, 4096);
    nq = start_long_kernels(&t, r, status);

    rp = qpci_device_find(t.bus, QPCI_DEVFN(RP_SLOT, 0));
    cap = qpci_find_capability(rp, PCI_CAP_ID_EXP, 0);
    g_assert_cmphex(cap, !=, 0);
    ctl = qpci_config_readw(rp, cap + PCI_EXP_SLTCTL);
    t0 = g_get_monotonic_time();
    qpci_config_writew(rp, cap + PCI_EXP_SLTCTL, ctl | PCI_EXP_SLTCTL_PCC |
                       PCI_EXP_SLTCTL_PIC);
    us = timed_us(t0);
    g_test_message("hot-unplug with %u busy queues: %" PRId64 " us (config "
                   "write round trip, unrealize included)", nq, us);
    g_assert_cmpint(us, <, ZK_RTT_BOUND_US);
    /* QEMU is alive and the card is gone. */
    resp = qtest_qmp(t.qts, "{'execute': 'query-status'}");
    g_assert(qdict_haskey(resp, "return"));
    qobject_unref(resp);
    g_assert_cmphex(qpci_config_readw(t.dev, PCI_VENDOR_ID), ==, 0xffff);
    g_free(rp);
    zk_stop(&t);
}

static void test_big_hbm(void)
{
    QTestState *qts;
    QGuestAllocator alloc;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar bar0;

    /* 32 GiB of HBM costs nothing until touched (RAM_NORESERVE). */
    qts = qtest_initf("-M q35 -nic none -device zhikai,addr=%02x.0,hbm-size=32G,"
                      "queues=16", ZK_SLOT);
    pc_alloc_init(&alloc, qts, ALLOC_NO_FLAGS);
    bus = qpci_new_pc(qts, &alloc);
    dev = qpci_device_find(bus, QPCI_DEVFN(ZK_SLOT, 0));
    g_assert(dev);
    qpci_device_enable(dev);
    bar0 = qpci_iomap(dev, ZK_BAR_REGS, NULL);
    g_assert_cmphex(qpci_io_readl(dev, bar0, ZK_REG_HBM_SIZE_LO), ==, 0);
    g_assert_cmphex(qpci_io_readl(dev, bar0, ZK_REG_HBM_SIZE_HI), ==, 8);
    g_assert_cmpuint(qpci_io_readl(dev, bar0, ZK_REG_NUM_QUEUES), ==, 16);
    g_free(dev);
    qpci_free_pc(bus);
    alloc_destroy(&alloc);
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/x86_64/zhikai/ids", test_ids);
    g_test_add_func("/x86_64/zhikai/boot/good", test_boot_good);
    g_test_add_func("/x86_64/zhikai/boot/bad", test_boot_bad);
    g_test_add_func("/x86_64/zhikai/boot/hang", test_boot_hang);
    g_test_add_func("/x86_64/zhikai/queue/refused", test_queue_refused);
    g_test_add_func("/x86_64/zhikai/dma/roundtrip", test_dma_roundtrip);
    g_test_add_func("/x86_64/zhikai/queue/fence-wrap", test_fence_wrap);
    g_test_add_func("/x86_64/zhikai/msix", test_msix);
    g_test_add_func("/x86_64/zhikai/mmu/fault", test_mmu_fault);
    g_test_add_func("/x86_64/zhikai/mmu/invalidate", test_mmu_invalidate);
    g_test_add_func("/x86_64/zhikai/reset/engine", test_engine_reset);
    g_test_add_func("/x86_64/zhikai/inject", test_inject);
    g_test_add_func("/x86_64/zhikai/inject/stuck", test_inject_stuck);
    g_test_add_func("/x86_64/zhikai/pm/d3hot", test_pm_d3hot);
    g_test_add_func("/x86_64/zhikai/power/throttle", test_power);
    g_test_add_func("/x86_64/zhikai/power/thermal", test_thermal);
    g_test_add_func("/x86_64/zhikai/reset/flr", test_flr);
    g_test_add_func("/x86_64/zhikai/launch", test_launch);
    g_test_add_func("/x86_64/zhikai/launch-simt", test_launch_simt);
    g_test_add_func("/x86_64/zhikai/hbm/32g", test_big_hbm);
    g_test_add_func("/x86_64/zhikai/perf/params", test_perf_params);
    g_test_add_func("/x86_64/zhikai/perf/dma", test_perf_dma);
    g_test_add_func("/x86_64/zhikai/perf/cap", test_perf_cap);
    g_test_add_func("/x86_64/zhikai/hostile/reset-bound", test_reset_bound);
    g_test_add_func("/x86_64/zhikai/hostile/flr-bound", test_flr_bound);
    g_test_add_func("/x86_64/zhikai/hostile/dma-to-mmio", test_dma_to_mmio);
    g_test_add_func("/x86_64/zhikai/hostile/kernels", test_hostile_kernels);
    g_test_add_func("/x86_64/zhikai/hbm/discard", test_hbm_discard);
    g_test_add_func("/x86_64/zhikai/hostile/unplug-busy", test_unplug_busy);
    return g_test_run();
}
