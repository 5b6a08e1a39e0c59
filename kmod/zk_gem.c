// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_gem.c - buffer objects.
 *
 * HBM BOs are contiguous ranges of device memory (drm_mm over HBM after the
 * page-table pool), mapped to userspace through the HBM BAR write-combined.
 * Host BOs are shmem-backed, pinned and DMA-mapped for their whole life.
 * Every BO is mapped into the device address space of the context (open
 * file) that created it, and only there.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include <drm/drm_gem.h>
#include <drm/drm_prime.h>
#include <drm/drm_vma_manager.h>

#include "zk_drv.h"
#include "zk_trace.h"

static const struct drm_gem_object_funcs zk_hbm_funcs;
static const struct drm_gem_object_funcs zk_host_funcs;

bool zk_bo_is_hbm(struct zk_bo *bo)
{
	return !(bo->flags & DRM_ZHIKAI_BO_HOST);
}

int zk_hbm_init(struct zk_device *zdev)
{
	mutex_init(&zdev->hbm_lock);
	drm_mm_init(&zdev->hbm_mm, zdev->pt_pool_size,
		    zdev->hbm_size - zdev->pt_pool_size);
	return 0;
}

void zk_hbm_fini(struct zk_device *zdev)
{
	drm_mm_takedown(&zdev->hbm_mm);
}

u64 zk_hbm_used(struct zk_device *zdev)
{
	u64 used;

	mutex_lock(&zdev->hbm_lock);
	used = zdev->hbm_bo_used + ((u64)zdev->pt_used << ZK_PAGE_SHIFT);
	mutex_unlock(&zdev->hbm_lock);
	return used;
}

/* The last step of a BO: its memory is unreachable by the device now. */
static void zk_bo_destroy(struct zk_bo *bo)
{
	struct zk_device *zdev = to_zk_device(bo->shmem.base.dev);
	unsigned int i;

	if (drm_mm_node_allocated(&bo->hbm_node)) {
		mutex_lock(&zdev->hbm_lock);
		zdev->hbm_bo_used -= bo->hbm_node.size;
		drm_mm_remove_node(&bo->hbm_node);
		mutex_unlock(&zdev->hbm_lock);
	}
	for (i = 0; i < ZK_MAX_QUEUES; i++)
		zk_job_rec_put(bo->last[i]);
	if (zk_bo_is_hbm(bo)) {
		drm_gem_object_release(&bo->shmem.base);
		kfree(bo);
	} else {
		/* Unmaps, unpins and frees the shmem pages. */
		drm_gem_shmem_free(&bo->shmem);
	}
}

/*
 * GEM free.  The device may still reach the BO: a job can address any VA of
 * its context (LAUNCH kernels, SGLIST entries), not only the BOs it lists,
 * and the device MMU caches translations.  So the memory goes back only
 * after zk_ctx_reap_work() has unmapped it, invalidated the device's
 * translations and waited for every job the context submitted until then.
 * Queued, never done here: this runs from drm_sched's free_job too.
 */
static void zk_bo_free(struct drm_gem_object *obj)
{
	struct zk_bo *bo = to_zk_bo(obj);
	struct zk_ctx *ctx = bo->ctx;

	if (!ctx) {
		zk_bo_destroy(bo);
		return;
	}
	trace_zk_bo_free(ctx->id, bo->va, bo->size, zk_bo_is_hbm(bo));
	mutex_lock(&ctx->lock);
	list_move_tail(&bo->ctx_link, &ctx->zombies);
	mutex_unlock(&ctx->lock);
	/* Each queued run holds a context reference (dropped by the run). */
	zk_ctx_get(ctx);
	if (!queue_work(zk_wq, &ctx->reap_work))
		zk_ctx_put(ctx);
}

void zk_ctx_reap_work(struct work_struct *work)
{
	struct zk_ctx *ctx = container_of(work, struct zk_ctx, reap_work);
	/* Page tables live in HBM and the invalidate is a ring command. */
	bool awake = !zk_pm_get(ctx->zdev);
	struct zk_bo *bo, *tmp;
	LIST_HEAD(dead);
	u64 lo = U64_MAX, hi = 0;

	mutex_lock(&ctx->lock);
	list_splice_init(&ctx->zombies, &dead);
	list_for_each_entry(bo, &dead, ctx_link) {
		if (bo->mapped) {
			zk_mmu_unmap(ctx, bo->va, bo->size);
			bo->mapped = false;
			lo = min(lo, bo->va);
			hi = max(hi, bo->va + bo->size);
		}
	}
	mutex_unlock(&ctx->lock);

	if (hi) {
		/* Entries cleared: drop what the device cached of them ... */
		zk_mmu_invalidate(ctx, lo, hi - lo);
		/* ... and let what may have used them before that finish. */
		zk_ctx_wait_idle(ctx);
	}

	mutex_lock(&ctx->lock);
	zk_mmu_free_dead_tables(ctx);
	list_for_each_entry(bo, &dead, ctx_link) {
		if (drm_mm_node_allocated(&bo->va_node))
			drm_mm_remove_node(&bo->va_node);
		if (bo->charged) {
			ctx->mem_used -= bo->size;
			if (zk_bo_is_hbm(bo))
				ctx->hbm_used -= bo->size;
			else
				ctx->host_used -= bo->size;
		}
	}
	mutex_unlock(&ctx->lock);

	list_for_each_entry_safe(bo, tmp, &dead, ctx_link) {
		list_del(&bo->ctx_link);
		trace_zk_bo_release(ctx->id, bo->va, bo->size, zk_bo_is_hbm(bo));
		bo->ctx = NULL;
		zk_bo_destroy(bo);
		zk_ctx_put(ctx);		/* the BO's */
	}
	if (awake)
		zk_pm_put(ctx->zdev);
	zk_ctx_put(ctx);			/* this run's */
}

/*
 * HBM pages are inserted at fault time, so a zapped mapping faults again:
 * after unplug it gets SIGBUS instead of reaching a dead BAR, after a
 * runtime suspend (zk_pm.c) it wakes the card.
 */
static vm_fault_t zk_hbm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct drm_gem_object *obj = vma->vm_private_data;
	struct zk_bo *bo = to_zk_bo(obj);
	struct zk_device *zdev = to_zk_device(obj->dev);
	unsigned long pgoff = vma->vm_pgoff -
			      drm_vma_node_start(&obj->vma_node) +
			      ((vmf->address - vma->vm_start) >> PAGE_SHIFT);
	vm_fault_t ret;
	int idx;

	if (pgoff >= obj->size >> PAGE_SHIFT)
		return VM_FAULT_SIGBUS;
	/* Runtime PM: the BAR is open only while the card is awake. */
	if (!zk_dev_enter(zdev, &idx))
		return VM_FAULT_SIGBUS;
	ret = vmf_insert_pfn(vma, vmf->address,
			     ((zdev->hbm_bar_start + bo->hbm_node.start) >>
			      PAGE_SHIFT) + pgoff);
	zk_dev_exit(zdev, idx);
	return ret;
}

static int zk_hbm_mmap(struct drm_gem_object *obj, struct vm_area_struct *vma)
{
	unsigned long pgoff = vma->vm_pgoff - drm_vma_node_start(&obj->vma_node);
	unsigned long len = vma->vm_end - vma->vm_start;

	/* Device memory has no pages to copy on write. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if ((pgoff << PAGE_SHIFT) + len > obj->size)
		return -EINVAL;
	zk_vm_flags_set(vma, VM_PFNMAP | VM_IO | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_page_prot = pgprot_writecombine(vm_get_page_prot(vma->vm_flags));
	return 0;
}

/*
 * HBM has no struct pages, so no sg_table an importer could map: refuse
 * the export with an errno instead of letting an importer hit
 * WARN_ON(!get_sg_table).
 */
static struct dma_buf *zk_hbm_export(struct drm_gem_object *obj, int flags)
{
	return ERR_PTR(-EOPNOTSUPP);
}

static void zk_bo_print_info(struct drm_printer *p, unsigned int indent,
			     const struct drm_gem_object *obj)
{
	const struct zk_bo *bo = container_of(obj, struct zk_bo, shmem.base);

	drm_printf_indent(p, indent, "zhikai: %s va=0x%llx size=0x%llx\n",
			  bo->flags & DRM_ZHIKAI_BO_HOST ? "host" : "hbm",
			  bo->va, bo->size);
	if (!(bo->flags & DRM_ZHIKAI_BO_HOST))
		drm_printf_indent(p, indent, "hbm_offset=0x%llx\n",
				  bo->hbm_node.start);
}

static const struct vm_operations_struct zk_hbm_vm_ops = {
	.fault = zk_hbm_fault,
	.open = drm_gem_vm_open,
	.close = drm_gem_vm_close,
};

static const struct drm_gem_object_funcs zk_hbm_funcs = {
	.free = zk_bo_free,
	.print_info = zk_bo_print_info,
	.mmap = zk_hbm_mmap,
	.export = zk_hbm_export,
	.vm_ops = &zk_hbm_vm_ops,
};

static const struct drm_gem_object_funcs zk_host_funcs = {
	.free = zk_bo_free,
	.print_info = zk_bo_print_info,
	.pin = drm_gem_shmem_object_pin,
	.unpin = drm_gem_shmem_object_unpin,
	.get_sg_table = drm_gem_shmem_object_get_sg_table,
	.vmap = drm_gem_shmem_object_vmap,
	.vunmap = drm_gem_shmem_object_vunmap,
	.mmap = drm_gem_shmem_object_mmap,
	.vm_ops = &drm_gem_shmem_vm_ops,
};

static void zk_bo_init_common(struct zk_bo *bo)
{
	INIT_LIST_HEAD(&bo->ctx_link);
	spin_lock_init(&bo->last_lock);
}

/* drm_gem_shmem_create() calls this for host BOs. */
struct drm_gem_object *zk_gem_create_object(struct drm_device *dev,
					    size_t size)
{
	struct zk_bo *bo = kzalloc(sizeof(*bo), GFP_KERNEL);

	if (!bo)
		return ERR_PTR(-ENOMEM);
	zk_bo_init_common(bo);
	bo->flags = DRM_ZHIKAI_BO_HOST;
	bo->shmem.base.funcs = &zk_host_funcs;
	return &bo->shmem.base;
}

/* The queue with the least work in flight (a scrub waits behind it). */
static struct zk_queue *zk_scrub_queue(struct zk_device *zdev)
{
	struct zk_queue *best = &zdev->queues[0];
	u64 best_depth = U64_MAX;
	unsigned long flags;
	u32 i;

	for (i = zdev->num_queues; i-- > 0;) {
		struct zk_queue *q = &zdev->queues[i];
		u64 depth;

		spin_lock_irqsave(&q->lock, flags);
		depth = q->next_seqno - q->last_done;
		spin_unlock_irqrestore(&q->lock, flags);
		if (depth < best_depth) {
			best = q;
			best_depth = depth;
		}
		if (!depth)
			break;
	}
	return best;
}

/*
 * Scrub new HBM: the card drops the host pages behind the range so it reads
 * as zero without the host ever backing it (ZK_CAP_HBM_DISCARD), with the
 * ring command the card runs on its queue's worker (there is no MMIO
 * discard: that would do the work on the writing vCPU).  A card without
 * it, or a discard a reset aborted twice, is zeroed through the BAR.  When
 * this returns, the range reads zero.
 */
static void zk_hbm_scrub(struct zk_device *zdev, u64 off, u64 size)
{
	struct zk_cmd_hbm_discard cmd = {
		.hdr.opcode = ZK_CMD_HBM_DISCARD,
		.hbm_off = off,
		.size = size,
	};
	int tries, ret;

	if (zdev->caps & ZK_CAP_HBM_DISCARD) {
		for (tries = 0; tries < 2; tries++) {
			ret = zk_queue_run_kernel(zk_scrub_queue(zdev), &cmd);
			if (!ret)
				return;
			if (ret != -ECANCELED)
				break;
		}
	}
	memset_io(zdev->hbm + off, 0, size);
}

static struct zk_bo *zk_hbm_bo_alloc(struct zk_device *zdev, u64 size)
{
	struct zk_bo *bo;
	u64 align = size >= ZK_HUGE_SIZE ? ZK_HUGE_SIZE : ZK_PAGE_SIZE;
	int ret;

	bo = kzalloc(sizeof(*bo), GFP_KERNEL);
	if (!bo)
		return ERR_PTR(-ENOMEM);
	zk_bo_init_common(bo);
	bo->flags = DRM_ZHIKAI_BO_HBM;
	bo->shmem.base.funcs = &zk_hbm_funcs;
	drm_gem_private_object_init(&zdev->drm, &bo->shmem.base, size);

	mutex_lock(&zdev->hbm_lock);
	ret = drm_mm_insert_node_generic(&zdev->hbm_mm, &bo->hbm_node, size,
					 align, 0, DRM_MM_INSERT_BEST);
	if (ret == -ENOSPC && align > ZK_PAGE_SIZE)
		ret = drm_mm_insert_node_generic(&zdev->hbm_mm, &bo->hbm_node,
						 size, ZK_PAGE_SIZE, 0,
						 DRM_MM_INSERT_BEST);
	if (!ret)
		zdev->hbm_bo_used += bo->hbm_node.size;
	mutex_unlock(&zdev->hbm_lock);
	if (ret) {
		drm_gem_object_put(&bo->shmem.base);
		return ERR_PTR(-ENOSPC);
	}
	if (zk_zero_hbm)
		zk_hbm_scrub(zdev, bo->hbm_node.start, size);
	return bo;
}

/*
 * Per-context quotas, each checked on its own: all memory (ctx_mem_limit_mb),
 * HBM (ctx_hbm_limit_mb) and pinned host pages (ctx_host_limit_mb, by
 * default half of RAM, so one open file cannot pin the machine's memory).
 * ctx->lock held.
 */
static bool zk_ctx_quota_ok(struct zk_ctx *ctx, bool hbm, u64 size)
{
	u64 all = (u64)READ_ONCE(zk_ctx_mem_limit_mb) << 20;
	u64 part = hbm ? (u64)READ_ONCE(zk_ctx_hbm_limit_mb) << 20 :
		   (u64)READ_ONCE(zk_ctx_host_limit_mb) << 20;
	u64 used = hbm ? ctx->hbm_used : ctx->host_used;

	if (!hbm && !part)
		part = ((u64)totalram_pages() << PAGE_SHIFT) / 2;
	if (all && ctx->mem_used + size > all)
		return false;
	return !part || used + size <= part;
}

/* Charge, allocate VA and map @bo in @ctx. */
static int zk_bo_setup(struct zk_ctx *ctx, struct zk_bo *bo, u64 size)
{
	u64 align = size >= ZK_HUGE_SIZE ? ZK_HUGE_SIZE : ZK_PAGE_SIZE;
	struct sg_table *sgt = NULL;
	int ret;

	/* Refused before a single page is pinned. */
	mutex_lock(&ctx->lock);
	ret = zk_ctx_quota_ok(ctx, zk_bo_is_hbm(bo), size) ? 0 : -EDQUOT;
	mutex_unlock(&ctx->lock);
	if (ret)
		return ret;
	if (!zk_bo_is_hbm(bo)) {
		sgt = drm_gem_shmem_get_pages_sgt(&bo->shmem);
		if (IS_ERR(sgt))
			return PTR_ERR(sgt);
	}

	mutex_lock(&ctx->lock);
	if (!zk_ctx_quota_ok(ctx, zk_bo_is_hbm(bo), size)) {
		ret = -EDQUOT;
		goto out;
	}
	/* On the list from here: zk_bo_free() undoes what was done. */
	bo->ctx = zk_ctx_get(ctx);
	list_add_tail(&bo->ctx_link, &ctx->bos);
	bo->size = size;
	/* One unmapped guard page after every BO catches overruns. */
	ret = drm_mm_insert_node_in_range(&ctx->va_mm, &bo->va_node,
					  size + ZK_PAGE_SIZE, align, 0,
					  ZK_VA_START, ZK_VA_END,
					  DRM_MM_INSERT_BEST);
	if (ret) {
		ret = -ENOSPC;
		goto out;
	}
	bo->va = bo->va_node.start;
	if (sgt)
		ret = zk_mmu_map_sgt(ctx, bo->va, sgt, size);
	else
		ret = zk_mmu_map_hbm(ctx, bo->va, bo->hbm_node.start, size);
	if (ret)
		goto out;
	bo->mapped = true;
	bo->charged = true;
	ctx->mem_used += size;
	if (zk_bo_is_hbm(bo))
		ctx->hbm_used += size;
	else
		ctx->host_used += size;
out:
	mutex_unlock(&ctx->lock);
	return ret;
}

static int zk_bo_create(struct drm_device *dev,
			struct drm_zhikai_bo_create *args,
			struct drm_file *file)
{
	struct zk_device *zdev = to_zk_device(dev);
	struct zk_ctx *ctx = file->driver_priv;
	struct drm_gem_shmem_object *shmem;
	struct zk_bo *bo;
	u64 size;
	u32 handle;
	int ret, idx;

	if (args->flags & ~DRM_ZHIKAI_BO_FLAGS)
		return -EINVAL;
	if (!args->size || args->size > ZK_VA_END - ZK_VA_START - ZK_PAGE_SIZE)
		return -EINVAL;
	size = round_up(args->size, ZK_PAGE_SIZE);
	if (!(args->flags & DRM_ZHIKAI_BO_HOST) &&
	    size > zdev->hbm_size - zdev->pt_pool_size)
		return -ENOSPC;

	/* Clearing HBM and writing page tables go through the BAR. */
	if (!drm_dev_enter(dev, &idx))
		return -ENODEV;
	if (args->flags & DRM_ZHIKAI_BO_HOST) {
		if (size > (u64)totalram_pages() << PAGE_SHIFT) {
			ret = -ENOMEM;
			goto out_exit;
		}
		shmem = drm_gem_shmem_create(dev, size);
		if (IS_ERR(shmem)) {
			ret = PTR_ERR(shmem);
			goto out_exit;
		}
		bo = to_zk_bo(&shmem->base);
	} else {
		bo = zk_hbm_bo_alloc(zdev, size);
		if (IS_ERR(bo)) {
			ret = PTR_ERR(bo);
			goto out_exit;
		}
	}

	ret = drm_gem_create_mmap_offset(&bo->shmem.base);
	if (!ret)
		ret = zk_bo_setup(ctx, bo, size);
	if (!ret)
		ret = drm_gem_handle_create(file, &bo->shmem.base, &handle);
	if (!ret) {
		args->handle = handle;
		args->device_va = bo->va;
		trace_zk_bo_create(ctx->id, bo->va, bo->size, zk_bo_is_hbm(bo));
	}
	drm_gem_object_put(&bo->shmem.base);
out_exit:
	drm_dev_exit(idx);
	return ret;
}

int zk_bo_create_ioctl(struct drm_device *dev, void *data,
		       struct drm_file *file)
{
	int ret = zk_bo_create(dev, data, file);

	/*
	 * Closed BOs give their memory back once the device is done with it
	 * (zk_ctx_reap_work): wait for those releases, then try again.
	 */
	if (ret == -ENOSPC || ret == -EDQUOT) {
		flush_workqueue(zk_wq);
		ret = zk_bo_create(dev, data, file);
	}
	return ret;
}

/* Whether @obj is one of our BOs and mapped in @ctx (not an import). */
bool zk_gem_obj_of_ctx(struct drm_gem_object *obj, struct zk_ctx *ctx)
{
	return (obj->funcs == &zk_hbm_funcs || obj->funcs == &zk_host_funcs) &&
	       to_zk_bo(obj)->ctx == ctx;
}

/* Look up a handle of @file; only BOs of the file's own context. */
struct zk_bo *zk_bo_lookup(struct drm_file *file, u32 handle)
{
	struct drm_gem_object *obj = drm_gem_object_lookup(file, handle);

	if (!obj)
		return NULL;
	if (!zk_gem_obj_of_ctx(obj, file->driver_priv)) {
		drm_gem_object_put(obj);
		return NULL;
	}
	return to_zk_bo(obj);
}

int zk_bo_info_ioctl(struct drm_device *dev, void *data,
		     struct drm_file *file)
{
	struct drm_zhikai_bo_info *args = data;
	struct zk_bo *bo;

	bo = zk_bo_lookup(file, args->handle);
	if (!bo)
		return -ENOENT;
	args->flags = bo->flags;
	if (READ_ONCE(bo->poisoned))
		args->flags |= DRM_ZHIKAI_BO_POISONED;
	args->mmap_offset = drm_vma_node_offset_addr(&bo->shmem.base.vma_node);
	args->device_va = bo->va;
	args->size = bo->size;
	drm_gem_object_put(&bo->shmem.base);
	return 0;
}

/*
 * An uncorrectable memory error was reported at HBM offset @hbm_off: mark
 * the BO holding it (BO_INFO reports DRM_ZHIKAI_BO_POISONED to its owner)
 * and return the owning context's id, 0 if the offset is in no BO and no
 * page table.  A page table hit leaves its context's translations
 * untrustworthy: that context is banned (SUBMIT fails with -EIO).
 */
u32 zk_hbm_poison(struct zk_device *zdev, u64 hbm_off)
{
	struct drm_mm_node *node;
	u32 ctx_id = 0;

	mutex_lock(&zdev->hbm_lock);
	if (hbm_off < zdev->pt_pool_size) {
		u32 page = hbm_off >> ZK_PAGE_SHIFT;
		struct zk_ctx *ctx;

		if (test_bit(page, zdev->pt_bitmap))
			ctx_id = zdev->pt_owner[page];
		/* Alive: it frees its tables (this lock) before itself. */
		ctx = ctx_id ? xa_load(&zdev->ctx_xa, ctx_id) : NULL;
		if (ctx) {
			WRITE_ONCE(ctx->banned, true);
			drm_warn(&zdev->drm, "context %u banned: uncorrected error in its page table\n",
				 ctx_id);
		}
		mutex_unlock(&zdev->hbm_lock);
		return ctx_id;
	}
	drm_mm_for_each_node_in_range(node, &zdev->hbm_mm, hbm_off, hbm_off + 1) {
		struct zk_bo *bo = container_of(node, struct zk_bo, hbm_node);

		WRITE_ONCE(bo->poisoned, true);
		/* bo->ctx stays valid while the node is in hbm_mm. */
		if (bo->ctx)
			ctx_id = bo->ctx->id;
		break;
	}
	mutex_unlock(&zdev->hbm_lock);
	return ctx_id;
}

/* Copy BO contents for the kernel (command validation). */
int zk_bo_read(struct zk_bo *bo, u64 offset, void *dst, size_t len)
{
	struct zk_device *zdev = to_zk_device(bo->shmem.base.dev);

	if (offset > bo->size || len > bo->size - offset)
		return -EINVAL;
	if (zk_bo_is_hbm(bo)) {
		memcpy_fromio(dst, zdev->hbm + bo->hbm_node.start + offset, len);
		return 0;
	}
	while (len) {
		struct page *page = bo->shmem.pages[offset >> PAGE_SHIFT];
		size_t off = offset & ~PAGE_MASK;
		size_t n = min_t(size_t, len, PAGE_SIZE - off);
		void *src = kmap_local_page(page);

		memcpy(dst, src + off, n);
		kunmap_local(src);
		dst += n;
		offset += n;
		len -= n;
	}
	return 0;
}
