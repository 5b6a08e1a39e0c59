/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Zhikai device: firmware boot handshake and heartbeat.
 *
 * The driver writes FW_ADDR/FW_SIZE and then ZK_BOOT_KEY to BOOT.  The card
 * goes to BOOTING, bus-master reads the image, validates it with
 * zk_fw_check() (zhikai-fwcheck.c) after boot-delay-ms of virtual time and
 * ends in READY (FW_VERSION set, heartbeat running) or ERROR (BOOT_ERROR).
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "hw/pci/pci.h"
#include "system/dma.h"

#include "zhikai.h"
#include "zhikai-fwcheck.h"
#include "trace.h"

#define ZK_DEFAULT_HEARTBEAT_MS 100

static void zhikai_heartbeat(void *opaque)
{
    ZhikaiState *s = opaque;

    if (qatomic_read(&s->state) != ZK_STATE_READY) {
        return;
    }
    s->heartbeat++;
    timer_mod(&s->heartbeat_timer,
              qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) + s->heartbeat_ms);
}

static void zhikai_boot_fail(ZhikaiState *s, uint32_t err)
{
    s->boot_error = err;
    qatomic_set(&s->state, ZK_STATE_ERROR);
    trace_zhikai_boot_done(ZK_STATE_ERROR, err, 0);
}

/* Second half of the boot: load and check the image. */
static void zhikai_boot_timer(void *opaque)
{
    ZhikaiState *s = opaque;
    struct zk_fw_header hdr;
    g_autofree uint8_t *img = NULL;
    int err;

    if (qatomic_read(&s->state) != ZK_STATE_BOOTING) {
        return;
    }
    if (s->fw_size < sizeof(struct zk_fw_header) ||
        s->fw_size > ZK_FW_MAX_SIZE) {
        zhikai_boot_fail(s, ZK_BOOT_ERR_SIZE);
        return;
    }
    img = g_malloc(s->fw_size);
    if (pci_dma_read(PCI_DEVICE(s), s->fw_addr, img, s->fw_size) !=
        MEMTX_OK) {
        zhikai_boot_fail(s, ZK_BOOT_ERR_DMA);
        return;
    }
    err = zk_fw_check(img, s->fw_size, ZK_API_VERSION, &hdr);
    if (err) {
        zhikai_boot_fail(s, err);
        return;
    }

    s->fw_version = hdr.image_version;
    s->fw_queues = MIN(zk_fw_cap(&hdr, ZK_FW_CAP_QUEUES, s->num_queues),
                       s->num_queues);
    s->fw_isa_version = zk_fw_cap(&hdr, ZK_FW_CAP_ISA_VERSION, 0);
    s->heartbeat_ms = s->heartbeat_ms_prop ? s->heartbeat_ms_prop :
        zk_fw_cap(&hdr, ZK_FW_CAP_HEARTBEAT_MS, ZK_DEFAULT_HEARTBEAT_MS);
    if (s->heartbeat_ms == 0) {
        s->heartbeat_ms = ZK_DEFAULT_HEARTBEAT_MS;
    }
    s->boot_error = ZK_BOOT_ERR_NONE;
    s->heartbeat = 0;
    qatomic_set(&s->state, ZK_STATE_READY);
    trace_zhikai_boot_done(ZK_STATE_READY, 0, s->fw_version);
    timer_mod(&s->heartbeat_timer,
              qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) + s->heartbeat_ms);
}

/* BOOT register written with the key (BQL held). */
void zhikai_fw_boot(ZhikaiState *s)
{
    trace_zhikai_boot(s->fw_addr, s->fw_size);
    if (qatomic_read(&s->state) != ZK_STATE_RESET) {
        qemu_log_mask(LOG_GUEST_ERROR, "zhikai: BOOT while in state %u\n",
                      qatomic_read(&s->state));
        s->boot_error = ZK_BOOT_ERR_STATE;
        return;
    }
    s->boot_error = ZK_BOOT_ERR_NONE;
    qatomic_set(&s->state, ZK_STATE_BOOTING);
    if (s->inject_boot_hang) {
        /* The firmware "never comes up": stays BOOTING, no heartbeat. */
        s->boot_error = ZK_BOOT_ERR_HANG;
        trace_zhikai_boot_done(ZK_STATE_BOOTING, ZK_BOOT_ERR_HANG, 0);
        return;
    }
    if (s->boot_delay_ms == 0) {
        zhikai_boot_timer(s);
    } else {
        timer_mod(&s->boot_timer,
                  qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) + s->boot_delay_ms);
    }
}

void zhikai_fw_reset(ZhikaiState *s)
{
    timer_del(&s->boot_timer);
    timer_del(&s->heartbeat_timer);
    qatomic_set(&s->state, ZK_STATE_RESET);
    s->boot_error = ZK_BOOT_ERR_NONE;
    s->fw_version = 0;
    s->fw_addr = 0;
    s->fw_size = 0;
    s->heartbeat = 0;
    s->fw_queues = s->num_queues;
    s->fw_isa_version = 0;
}

void zhikai_fw_init(ZhikaiState *s)
{
    timer_init_ms(&s->boot_timer, QEMU_CLOCK_VIRTUAL, zhikai_boot_timer, s);
    timer_init_ms(&s->heartbeat_timer, QEMU_CLOCK_VIRTUAL, zhikai_heartbeat,
                  s);
    zhikai_fw_reset(s);
}

void zhikai_fw_exit(ZhikaiState *s)
{
    timer_del(&s->boot_timer);
    timer_del(&s->heartbeat_timer);
}
