// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_coredump.c - a devcoredump of the card's state on every hang/TDR,
 * taken before the reset wipes it: /sys/class/devcoredump/devcdN/data
 * (text; write anything to it to free it early, else it goes after 5 min).
 *
 * Contents: why, driver/firmware/hardware versions, device state, and per
 * queue the hardware registers (head, tail, status, fence, last fault),
 * the driver's view (seqnos, ring offsets) and, for the queue that hung,
 * the ring window of commands from the head of its oldest unfinished job.
 */
#include <linux/devcoredump.h>
#include <linux/vmalloc.h>

#include "zk_drv.h"

#define ZK_DUMP_SIZE		(64u << 10)
#define ZK_DUMP_RING_CMDS	16

struct zk_dump {
	char *buf;
	size_t len;
};

static __printf(2, 3) void zk_dump_printf(struct zk_dump *d,
					  const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	d->len += vscnprintf(d->buf + d->len, ZK_DUMP_SIZE - d->len, fmt, args);
	va_end(args);
}

static void zk_dump_ring(struct zk_dump *d, struct zk_queue *q, u32 off)
{
	u32 i, w;

	zk_dump_printf(d, "  ring window from 0x%x:\n", off);
	for (i = 0; i < ZK_DUMP_RING_CMDS && off != q->tail; i++) {
		const u32 *cmd = q->ring + off;

		zk_dump_printf(d, "   %06x:", off);
		for (w = 0; w < ZK_CMD_SIZE / 4; w++)
			zk_dump_printf(d, " %08x", cmd[w]);
		zk_dump_printf(d, "\n");
		off = (off + ZK_CMD_SIZE) & (ZK_RING_SIZE - 1);
	}
}

/* Called with the reset lock held and the schedulers stopped. */
void zk_coredump(struct zk_device *zdev, struct zk_queue *bad_q,
		 const char *why)
{
	struct zk_dump d = { .buf = vzalloc(ZK_DUMP_SIZE) };
	unsigned long flags;
	u32 i;

	if (!d.buf)
		return;
	zk_dump_printf(&d, "zhikai devcoredump\nreason: %s (queue %d)\n", why,
		       bad_q ? (int)bad_q->idx : -1);
	zk_dump_printf(&d, "device: %s hw %u.%u api 0x%x caps 0x%x fw 0x%08x\n",
		       pci_name(zdev->pdev), zdev->hw_version >> 16,
		       zdev->hw_version & 0xffff, zdev->api_version, zdev->caps,
		       zk_rd(zdev, ZK_REG_FW_VERSION));
	zk_dump_printf(&d, "state %u heartbeat %u resets %d\n",
		       zk_rd(zdev, ZK_REG_STATUS), zk_rd(zdev, ZK_REG_HEARTBEAT),
		       atomic_read(&zdev->reset_count));
	for (i = 0; i < zdev->num_queues; i++) {
		struct zk_queue *q = &zdev->queues[i];
		struct zk_hw_fence *hw;
		u32 first = 0;
		bool busy;

		zk_dump_printf(&d, "queue %u: head 0x%x tail 0x%x status 0x%x fence %llu\n",
			       i, zk_qrd(q, ZK_Q_HEAD), zk_qrd(q, ZK_Q_TAIL),
			       zk_qrd(q, ZK_Q_STATUS),
			       zk_rd64_latched(zdev, ZK_QREG(i, ZK_Q_FENCE_LO)));
		zk_dump_printf(&d, "  fault type %u addr 0x%llx ctx %u count %u\n",
			       zk_qrd(q, ZK_Q_FAULT_TYPE),
			       zk_rd64(zdev, ZK_QREG(i, ZK_Q_FAULT_ADDR_LO)),
			       zk_qrd(q, ZK_Q_FAULT_CTX),
			       zk_qrd(q, ZK_Q_FAULT_COUNT));
		spin_lock_irqsave(&q->lock, flags);
		zk_dump_printf(&d, "  driver: submitted %llu done %llu seqno next %llu done %llu\n",
			       q->submitted, q->completed, q->next_seqno,
			       q->last_done);
		zk_dump_printf(&d, "  driver ring: head 0x%x tail 0x%x\n",
			       q->head, q->tail);
		list_for_each_entry(hw, &q->inflight, link)
			zk_dump_printf(&d, "  in flight: seqno %llu ctx %u ends at 0x%x%s\n",
				       hw->base.seqno, hw->ctx ? hw->ctx->id : 0,
				       hw->ring_end, hw->guilty ? " (guilty)" : "");
		busy = !list_empty(&q->inflight);
		if (busy)
			first = q->head;
		if (q == bad_q && busy)
			zk_dump_ring(&d, q, first);
		spin_unlock_irqrestore(&q->lock, flags);
	}
	/* Takes the buffer (vfree). */
	dev_coredumpv(&zdev->pdev->dev, d.buf, d.len, GFP_KERNEL);
}
