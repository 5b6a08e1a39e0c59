// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_irq.c - MSI-X interrupt handling.
 *
 * Vectors 0..15 complete jobs of their queue, ZK_MSIX_VEC_FAULT reports
 * MMU/DMA/command faults (the faulting job itself completes through its
 * JOB_END with ZK_JOB_FAULTED), ZK_MSIX_VEC_EVENT reports RAS and
 * throttling changes.
 */
#include <linux/interrupt.h>

#include "zk_drv.h"

static const char *const zk_fault_names[] = {
	[ZK_FAULT_NONE] = "no fault",
	[ZK_FAULT_MMU_READ] = "MMU read fault",
	[ZK_FAULT_MMU_WRITE] = "MMU write fault",
	[ZK_FAULT_MMU_EXEC] = "MMU exec fault",
	[ZK_FAULT_DMA] = "host DMA fault",
	[ZK_FAULT_ILLEGAL_CMD] = "illegal command",
	[ZK_FAULT_ILLEGAL_INSN] = "illegal instruction",
	[ZK_FAULT_BUDGET] = "instruction budget exhausted",
	[ZK_FAULT_ENGINE] = "engine error",
	[ZK_FAULT_NO_CONTEXT] = "no context",
};

static irqreturn_t zk_irq_queue(int irq, void *arg)
{
	struct zk_queue *q = arg;

	zk_wr(q->zdev, ZK_REG_IRQ_STATUS, ZK_IRQ_QUEUE(q->idx));
	spin_lock(&q->lock);
	zk_queue_process(q);
	spin_unlock(&q->lock);
	return IRQ_HANDLED;
}

static irqreturn_t zk_irq_fault(int irq, void *arg)
{
	struct zk_device *zdev = arg;
	u32 i;

	zk_wr(zdev, ZK_REG_IRQ_STATUS, ZK_IRQ_FAULT);
	for (i = 0; i < zdev->num_queues; i++) {
		struct zk_queue *q = &zdev->queues[i];
		u32 count = zk_qrd(q, ZK_Q_FAULT_COUNT);
		u32 type;

		if (count == q->fault_count)
			continue;
		type = zk_qrd(q, ZK_Q_FAULT_TYPE);
		dev_err_ratelimited(zdev->drm.dev,
				    "queue %u ctx %u: %s at device VA 0x%llx (%u new)\n",
				    i, zk_qrd(q, ZK_Q_FAULT_CTX),
				    type < ARRAY_SIZE(zk_fault_names) ?
				    zk_fault_names[type] : "unknown fault",
				    zk_rd64(zdev, ZK_QREG(i, ZK_Q_FAULT_ADDR_LO)),
				    count - q->fault_count);
		q->fault_count = count;
	}
	return IRQ_HANDLED;
}

static irqreturn_t zk_irq_event(int irq, void *arg)
{
	struct zk_device *zdev = arg;
	u32 ce, ue, thr;

	zk_wr(zdev, ZK_REG_IRQ_STATUS, ZK_IRQ_EVENT);
	ce = zk_rd(zdev, ZK_REG_RAS_CE_COUNT);
	ue = zk_rd(zdev, ZK_REG_RAS_UE_COUNT);
	thr = zk_rd(zdev, ZK_REG_THROTTLE);

	if (ce != zdev->ras_ce_last)
		dev_warn_ratelimited(zdev->drm.dev,
				     "corrected HBM error at 0x%llx (%u total)\n",
				     zk_rd64(zdev, ZK_REG_RAS_ADDR_LO), ce);
	if (ue != zdev->ras_ue_last) {
		u64 addr = zk_rd64(zdev, ZK_REG_RAS_ADDR_LO);
		u32 ctx_id = zk_hbm_poison(zdev, addr);

		dev_err_ratelimited(zdev->drm.dev,
				    "UNCORRECTED HBM error at 0x%llx (%u total), %s %u\n",
				    addr, ue,
				    ctx_id ? "memory of context" : "owner: none,",
				    ctx_id);
		zk_ras_uevent(zdev, addr, ctx_id);
	}
	if (thr != zdev->throttle_last)
		dev_info_ratelimited(zdev->drm.dev,
				     "throttle reasons now 0x%x (%s%s), clock %u MHz\n",
				     thr, thr & ZK_THROTTLE_POWER ? "power " : "",
				     thr & ZK_THROTTLE_THERMAL ? "thermal" : "",
				     zk_rd(zdev, ZK_REG_CLOCK_MHZ));
	zdev->ras_ce_last = ce;
	zdev->ras_ue_last = ue;
	zdev->throttle_last = thr;
	return IRQ_HANDLED;
}

int zk_irq_init(struct zk_device *zdev)
{
	struct pci_dev *pdev = zdev->pdev;
	struct device *dev = &pdev->dev;
	u32 i;
	int ret;

	zk_hw_irq_enable(zdev, false);
	ret = pci_alloc_irq_vectors(pdev, ZK_MSIX_VECTORS, ZK_MSIX_VECTORS,
				    PCI_IRQ_MSIX);
	if (ret < 0) {
		drm_err(&zdev->drm, "cannot get %u MSI-X vectors: %d\n",
			ZK_MSIX_VECTORS, ret);
		return ret;
	}
	for (i = 0; i < zdev->num_queues; i++) {
		ret = devm_request_irq(dev, pci_irq_vector(pdev, ZK_MSIX_VEC_QUEUE(i)),
				       zk_irq_queue, 0, "zhikai-queue",
				       &zdev->queues[i]);
		if (ret)
			return ret;
	}
	ret = devm_request_threaded_irq(dev, pci_irq_vector(pdev, ZK_MSIX_VEC_FAULT),
					NULL, zk_irq_fault, IRQF_ONESHOT,
					"zhikai-fault", zdev);
	if (ret)
		return ret;
	zdev->ras_ce_last = zk_rd(zdev, ZK_REG_RAS_CE_COUNT);
	zdev->ras_ue_last = zk_rd(zdev, ZK_REG_RAS_UE_COUNT);
	zdev->throttle_last = zk_rd(zdev, ZK_REG_THROTTLE);
	return devm_request_threaded_irq(dev, pci_irq_vector(pdev, ZK_MSIX_VEC_EVENT),
					 NULL, zk_irq_event, IRQF_ONESHOT,
					 "zhikai-event", zdev);
}
