// SPDX-License-Identifier: GPL-2.0-only
/*
 * zk_mmu.c - per-file device contexts: page tables and VA allocation.
 *
 * Each context owns a 3-level page-table tree (include/zhikai_hw.h) whose
 * pages come from a pool reserved at the start of HBM.  The driver keeps a
 * shadow of the tree in kernel memory so it never reads tables back over
 * the BAR; entries are written through the write-combined HBM mapping and
 * made visible with wmb() before any doorbell.
 */
#include <linux/bitmap.h>
#include <linux/cred.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include <drm/drm_managed.h>

#include "zk_drv.h"

#define ZK_CTX_ID_MAX	0xffff

int zk_pt_pool_init(struct zk_device *zdev)
{
	u64 pool = (u64)zk_pt_pool_mb << 20;

	/* Keep at least half of HBM for BOs. */
	pool = min_t(u64, pool, zdev->hbm_size / 2);
	pool = round_down(pool, ZK_HUGE_SIZE);
	if (pool < ZK_HUGE_SIZE) {
		drm_err(&zdev->drm, "HBM of %llu bytes too small\n",
			zdev->hbm_size);
		return -ENOSPC;
	}
	zdev->pt_pool_size = pool;
	zdev->pt_pages = pool >> ZK_PAGE_SHIFT;
	/*
	 * drmm, not devm: open files (contexts) outlive an unbind and give
	 * their page tables back when they close.
	 */
	zdev->pt_bitmap = drmm_kcalloc(&zdev->drm, BITS_TO_LONGS(zdev->pt_pages),
				       sizeof(unsigned long), GFP_KERNEL);
	zdev->pt_owner = drmm_kcalloc(&zdev->drm, zdev->pt_pages,
				      sizeof(*zdev->pt_owner), GFP_KERNEL);
	if (!zdev->pt_bitmap || !zdev->pt_owner)
		return -ENOMEM;
	INIT_LIST_HEAD(&zdev->pt_users);
	return 0;
}

/* @pct percent of the pool, at least one page. */
static u32 zk_pt_share(struct zk_device *zdev, unsigned int pct)
{
	return max(1u, zdev->pt_pages / 100 * min(pct, 100u));
}

/* The pool account of the current user (euid), made on first use. */
static struct zk_pt_user *zk_pt_user_get(struct zk_device *zdev)
{
	kuid_t uid = current_euid();
	struct zk_pt_user *u;

	mutex_lock(&zdev->hbm_lock);
	list_for_each_entry(u, &zdev->pt_users, link)
		if (uid_eq(u->uid, uid))
			goto found;
	u = kzalloc(sizeof(*u), GFP_KERNEL_ACCOUNT);
	if (!u)
		goto out;
	u->uid = uid;
	list_add(&u->link, &zdev->pt_users);
found:
	u->ctxs++;
out:
	mutex_unlock(&zdev->hbm_lock);
	return u;
}

static void zk_pt_user_put(struct zk_device *zdev, struct zk_pt_user *u)
{
	mutex_lock(&zdev->hbm_lock);
	if (!--u->ctxs) {
		WARN_ON(u->pages);
		list_del(&u->link);
		kfree(u);
	}
	mutex_unlock(&zdev->hbm_lock);
}

static void zk_pte_write(struct zk_device *zdev, struct zk_pt *pt,
			 unsigned int idx, u64 val)
{
	/* After unplug only the shadow is updated (zk_mmu_unmap). */
	if (likely(READ_ONCE(zdev->hbm_live)))
		writeq(val, zdev->hbm + pt->hbm_off + idx * sizeof(u64));
}

static struct zk_pt *zk_pt_alloc(struct zk_ctx *ctx, bool dir)
{
	struct zk_device *zdev = ctx->zdev;
	struct zk_pt *pt;
	unsigned long bit;

	pt = kzalloc(struct_size(pt, child, dir ? ZK_PT_ENTRIES : 0),
		     GFP_KERNEL);
	if (!pt)
		return NULL;

	mutex_lock(&zdev->hbm_lock);
	/*
	 * One context cannot take the whole pool (its root always fits), nor
	 * can one user with many files (roots included).
	 */
	if ((ctx->pt_pages &&
	     ctx->pt_pages >= zk_pt_share(zdev, READ_ONCE(zk_ctx_pt_pct))) ||
	    ctx->pt_user->pages >= zk_pt_share(zdev, READ_ONCE(zk_user_pt_pct))) {
		mutex_unlock(&zdev->hbm_lock);
		drm_dbg(&zdev->drm, "ctx %u: page-table share used up\n",
			ctx->id);
		kfree(pt);
		return NULL;
	}
	bit = find_first_zero_bit(zdev->pt_bitmap, zdev->pt_pages);
	if (bit >= zdev->pt_pages) {
		mutex_unlock(&zdev->hbm_lock);
		drm_warn_once(&zdev->drm,
			      "page-table pool exhausted (pt_pool_mb=%u)\n",
			      zk_pt_pool_mb);
		kfree(pt);
		return NULL;
	}
	__set_bit(bit, zdev->pt_bitmap);
	zdev->pt_owner[bit] = ctx->id;
	zdev->pt_used++;
	ctx->pt_pages++;
	ctx->pt_user->pages++;
	mutex_unlock(&zdev->hbm_lock);

	pt->hbm_off = (u64)bit << ZK_PAGE_SHIFT;
	memset_io(zdev->hbm + pt->hbm_off, 0, ZK_PAGE_SIZE);
	return pt;
}

static void zk_pt_free(struct zk_ctx *ctx, struct zk_pt *pt)
{
	struct zk_device *zdev = ctx->zdev;

	mutex_lock(&zdev->hbm_lock);
	__clear_bit(pt->hbm_off >> ZK_PAGE_SHIFT, zdev->pt_bitmap);
	zdev->pt_owner[pt->hbm_off >> ZK_PAGE_SHIFT] = 0;
	zdev->pt_used--;
	ctx->pt_pages--;
	ctx->pt_user->pages--;
	mutex_unlock(&zdev->hbm_lock);
	kfree(pt);
}

/* Level-1 table for @va, created on demand. */
static struct zk_pt *zk_pt_l1(struct zk_ctx *ctx, u64 va, bool create)
{
	unsigned int i0 = ZK_PT_INDEX(va, ZK_PT_L0_SHIFT);
	struct zk_pt *l1 = ctx->root->child[i0];

	if (l1 || !create)
		return l1;
	l1 = zk_pt_alloc(ctx, true);
	if (!l1)
		return NULL;
	ctx->root->child[i0] = l1;
	ctx->root->used++;
	zk_pte_write(ctx->zdev, ctx->root, i0, l1->hbm_off | ZK_PTE_VALID);
	return l1;
}

static int zk_map_one(struct zk_ctx *ctx, u64 va, u64 addr, u64 flags,
		      bool huge)
{
	unsigned int i1 = ZK_PT_INDEX(va, ZK_PT_L1_SHIFT);
	unsigned int i2 = ZK_PT_INDEX(va, ZK_PT_L2_SHIFT);
	struct zk_pt *l1, *l2;

	l1 = zk_pt_l1(ctx, va, true);
	if (!l1)
		return -ENOSPC;
	if (huge) {
		if (WARN_ON(l1->child[i1] || test_bit(i1, l1->huge)))
			return -EEXIST;
		__set_bit(i1, l1->huge);
		l1->used++;
		zk_pte_write(ctx->zdev, l1, i1, (addr & ZK_PTE_ADDR_MASK) |
			     flags | ZK_PTE_HUGE | ZK_PTE_VALID);
		return 0;
	}
	if (WARN_ON(test_bit(i1, l1->huge)))
		return -EEXIST;
	l2 = l1->child[i1];
	if (!l2) {
		l2 = zk_pt_alloc(ctx, false);
		if (!l2)
			return -ENOSPC;
		l1->child[i1] = l2;
		l1->used++;
		zk_pte_write(ctx->zdev, l1, i1, l2->hbm_off | ZK_PTE_VALID);
	}
	l2->used++;
	zk_pte_write(ctx->zdev, l2, i2, (addr & ZK_PTE_ADDR_MASK) | flags |
		     ZK_PTE_VALID);
	return 0;
}

/*
 * Tables emptied by zk_mmu_unmap(): a walk the device started before the
 * unmap may still read them, so they go back to the pool only once the
 * MMU was invalidated and the context's jobs retired (zk_ctx_reap_work).
 */
void zk_mmu_free_dead_tables(struct zk_ctx *ctx)
{
	struct zk_pt *pt, *tmp;

	lockdep_assert_held(&ctx->lock);
	list_for_each_entry_safe(pt, tmp, &ctx->dead_pts, dead_link) {
		list_del(&pt->dead_link);
		zk_pt_free(ctx, pt);
	}
}

/*
 * Clear the leaves of [va, va + size) and unlink tables that become empty
 * (ctx->dead_pts).  Holes (never mapped) are skipped, so this also unwinds
 * partial maps.  The device may keep using cached translations until
 * zk_mmu_invalidate().
 */
void zk_mmu_unmap(struct zk_ctx *ctx, u64 va, u64 size)
{
	struct zk_device *zdev = ctx->zdev;
	u64 end = va + size;
	int dev_idx;

	lockdep_assert_held(&ctx->lock);
	if (!drm_dev_enter(&zdev->drm, &dev_idx))
		dev_idx = -1;
	while (va < end) {
		unsigned int i0 = ZK_PT_INDEX(va, ZK_PT_L0_SHIFT);
		unsigned int i1 = ZK_PT_INDEX(va, ZK_PT_L1_SHIFT);
		unsigned int i2 = ZK_PT_INDEX(va, ZK_PT_L2_SHIFT);
		struct zk_pt *l1 = ctx->root->child[i0];
		struct zk_pt *l2;

		if (!l1) {
			va = round_down(va, 1ull << ZK_PT_L0_SHIFT) +
			     (1ull << ZK_PT_L0_SHIFT);
			continue;
		}
		l2 = l1->child[i1];
		if (test_bit(i1, l1->huge)) {
			__clear_bit(i1, l1->huge);
			zk_pte_write(zdev, l1, i1, 0);
			l1->used--;
			va = round_down(va, ZK_HUGE_SIZE) + ZK_HUGE_SIZE;
		} else if (l2) {
			u64 next = min(end, round_down(va, ZK_HUGE_SIZE) +
				       ZK_HUGE_SIZE);

			for (; va < next; va += ZK_PAGE_SIZE, i2++) {
				zk_pte_write(zdev, l2, i2, 0);
				l2->used--;
			}
			if (!l2->used) {
				zk_pte_write(zdev, l1, i1, 0);
				l1->child[i1] = NULL;
				l1->used--;
				list_add_tail(&l2->dead_link, &ctx->dead_pts);
			}
		} else {
			va = round_down(va, ZK_HUGE_SIZE) + ZK_HUGE_SIZE;
		}
		if (!l1->used) {
			zk_pte_write(zdev, ctx->root, i0, 0);
			ctx->root->child[i0] = NULL;
			ctx->root->used--;
			list_add_tail(&l1->dead_link, &ctx->dead_pts);
		}
	}
	wmb(); /* entries cleared before the memory behind them is reused */
	if (dev_idx >= 0)
		drm_dev_exit(dev_idx);
}

/* Map contiguous HBM; 2 MiB leaves where VA and HBM are both aligned. */
int zk_mmu_map_hbm(struct zk_ctx *ctx, u64 va, u64 hbm_off, u64 size)
{
	u64 done = 0;
	int ret;

	lockdep_assert_held(&ctx->lock);
	while (done < size) {
		bool huge = IS_ALIGNED(va + done, ZK_HUGE_SIZE) &&
			    IS_ALIGNED(hbm_off + done, ZK_HUGE_SIZE) &&
			    size - done >= ZK_HUGE_SIZE;

		ret = zk_map_one(ctx, va + done, hbm_off + done, ZK_PTE_WRITE,
				 huge);
		if (ret) {
			zk_mmu_unmap(ctx, va, done);
			return ret;
		}
		done += huge ? ZK_HUGE_SIZE : ZK_PAGE_SIZE;
	}
	return 0;
}

/* Map host pages by bus address (ZK_PTE_SYSMEM leaves). */
int zk_mmu_map_sgt(struct zk_ctx *ctx, u64 va, struct sg_table *sgt,
		   u64 size)
{
	struct scatterlist *sg;
	u64 done = 0;
	unsigned int i;
	int ret;

	lockdep_assert_held(&ctx->lock);
	for_each_sgtable_dma_sg(sgt, sg, i) {
		dma_addr_t addr = sg_dma_address(sg);
		u64 len = sg_dma_len(sg);
		u64 off;

		for (off = 0; off < len && done < size; off += ZK_PAGE_SIZE) {
			ret = zk_map_one(ctx, va + done, addr + off,
					 ZK_PTE_WRITE | ZK_PTE_SYSMEM, false);
			if (ret) {
				zk_mmu_unmap(ctx, va, done);
				return ret;
			}
			done += ZK_PAGE_SIZE;
		}
	}
	if (WARN_ON(done < size)) {
		zk_mmu_unmap(ctx, va, done);
		return -EINVAL;
	}
	return 0;
}

/* The BO whose mapping wholly contains [va, va + len), or NULL. */
struct zk_bo *zk_ctx_find_bo(struct zk_ctx *ctx, u64 va, u64 len)
{
	struct drm_mm_node *node;
	struct zk_bo *bo;

	lockdep_assert_held(&ctx->lock);
	if (!len || va < ZK_VA_START || va >= ZK_VA_END ||
	    len > ZK_VA_END - va)
		return NULL;
	drm_mm_for_each_node_in_range(node, &ctx->va_mm, va, va + len) {
		bo = container_of(node, struct zk_bo, va_node);
		if (va >= bo->va && va + len <= bo->va + bo->size)
			return bo;
		return NULL;
	}
	return NULL;
}

static void zk_ctx_free_work(struct work_struct *work);

struct zk_ctx *zk_ctx_create(struct zk_device *zdev)
{
	struct zk_ctx *ctx;
	u32 id;
	int ret;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return ERR_PTR(-ENOMEM);
	kref_init(&ctx->ref);
	ctx->zdev = zdev;
	mutex_init(&ctx->lock);
	mutex_init(&ctx->submit_lock);
	mutex_init(&ctx->entity_lock);
	INIT_LIST_HEAD(&ctx->bos);
	INIT_LIST_HEAD(&ctx->zombies);
	INIT_LIST_HEAD(&ctx->dead_pts);
	INIT_WORK(&ctx->reap_work, zk_ctx_reap_work);
	INIT_WORK(&ctx->free_work, zk_ctx_free_work);
	init_waitqueue_head(&ctx->jobs_wq);
	xa_init(&ctx->jobs);
	drm_mm_init(&ctx->va_mm, ZK_VA_START, ZK_VA_END - ZK_VA_START);

	ret = xa_alloc_cyclic(&zdev->ctx_xa, &id, ctx,
			      XA_LIMIT(1, ZK_CTX_ID_MAX), &zdev->ctx_next,
			      GFP_KERNEL);
	if (ret < 0)
		goto err_mm;
	ctx->id = id;

	ctx->pt_user = zk_pt_user_get(zdev);
	if (!ctx->pt_user) {
		ret = -ENOMEM;
		goto err_id;
	}
	ctx->root = zk_pt_alloc(ctx, true);
	if (!ctx->root) {
		ret = -ENOSPC;
		goto err_user;
	}
	drm_dev_get(&zdev->drm);
	return ctx;

err_user:
	zk_pt_user_put(zdev, ctx->pt_user);
err_id:
	xa_erase(&zdev->ctx_xa, ctx->id);
err_mm:
	drm_mm_takedown(&ctx->va_mm);
	kfree(ctx);
	return ERR_PTR(ret);
}

struct zk_ctx *zk_ctx_get(struct zk_ctx *ctx)
{
	kref_get(&ctx->ref);
	return ctx;
}

static void zk_ctx_free_work(struct work_struct *work)
{
	struct zk_ctx *ctx = container_of(work, struct zk_ctx, free_work);
	struct zk_device *zdev = ctx->zdev;
	struct zk_job_rec *rec;
	unsigned long idx;
	u32 i;

	/* Every BO holds a reference, so the tree is down to the root. */
	WARN_ON(ctx->root->used);
	mutex_lock(&ctx->lock);
	zk_mmu_free_dead_tables(ctx);
	mutex_unlock(&ctx->lock);
	zk_pt_free(ctx, ctx->root);
	zk_pt_user_put(zdev, ctx->pt_user);
	for (i = 0; i < ZK_MAX_QUEUES; i++)
		dma_fence_put(ctx->vm_fence[i]);
	drm_mm_takedown(&ctx->va_mm);
	xa_for_each(&ctx->jobs, idx, rec)
		zk_job_rec_put(rec);
	xa_destroy(&ctx->jobs);
	xa_erase(&zdev->ctx_xa, ctx->id);
	mutex_destroy(&ctx->lock);
	mutex_destroy(&ctx->submit_lock);
	mutex_destroy(&ctx->entity_lock);
	kfree(ctx);
	drm_dev_put(&zdev->drm);
}

/*
 * The last reference can go in drm_sched's free_job or a fence callback;
 * releasing there could drop the last drm_device reference and finalize the
 * very scheduler that is running.  So the release always runs on zk_wq.
 */
static void zk_ctx_release(struct kref *ref)
{
	struct zk_ctx *ctx = container_of(ref, struct zk_ctx, ref);

	queue_work(zk_wq, &ctx->free_work);
}

void zk_ctx_put(struct zk_ctx *ctx)
{
	if (ctx)
		kref_put(&ctx->ref, zk_ctx_release);
}
