/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * zk_drv.h - shared definitions of the zhikai accelerator driver.
 */
#ifndef ZK_DRV_H
#define ZK_DRV_H

#include <linux/io.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <linux/dma-fence.h>
#include <drm/drm_device.h>
#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_mm.h>
#include <drm/gpu_scheduler.h>

#include "zhikai_hw.h"
#include "zhikai_accel.h"
#include "zk_compat.h"

#define ZK_DRIVER_NAME		"zhikai"
#define ZK_DRIVER_DESC		"Zhikai inference accelerator"

/* Device VA window handed out to BOs: [1 GiB, 512 GiB). */
#define ZK_VA_START		BIT_ULL(30)
#define ZK_VA_END		BIT_ULL(ZK_VA_BITS)

/* Host ring per queue: fits the largest job plus SET_CONTEXT/JOB_END. */
#define ZK_RING_SIZE		(2u << 20)
#define ZK_HW_JOB_LIMIT		64	/* jobs in flight per queue */
#define ZK_STATUS_SLOTS		256	/* > ZK_HW_JOB_LIMIT */
#define ZK_STATUS_PENDING	0xffffffffu
#define ZK_JOB_WINDOW		4096	/* job statuses kept per context */

/* Module parameters (zk_drv.c). */
extern char *zk_fw_name;
extern unsigned int zk_job_timeout_ms;
extern unsigned int zk_fw_boot_timeout_ms;
extern unsigned long zk_ctx_mem_limit_mb;
extern unsigned long zk_ctx_hbm_limit_mb;
extern unsigned long zk_ctx_host_limit_mb;
extern unsigned int zk_ctx_pt_pct;
extern unsigned int zk_user_pt_pct;
extern unsigned int zk_pt_pool_mb;
extern unsigned int zk_heartbeat_timeout_ms;
extern bool zk_cmd_addr_check;
extern bool zk_zero_hbm;
extern unsigned int zk_hang_ban_limit;
extern unsigned int zk_ctx_max_jobs;
extern int zk_autosuspend_ms;

/* Deferred teardown of contexts and BOs (never from scheduler context). */
extern struct workqueue_struct *zk_wq;

struct zk_device;

/* Completion fence of one job on a hardware queue (seqno = hw seqno). */
struct zk_hw_fence {
	struct dma_fence base;		/* must stay first (dma_fence_free) */
	struct list_head link;		/* zk_queue.inflight */
	struct zk_job_rec *rec;
	/* NULL for driver jobs; unreferenced: the job holds one till done */
	struct zk_ctx *ctx;
	ktime_t queued;			/* doorbell time (fdinfo busy time) */
	u32 ring_end;
	bool guilty;
};

/* Status of a job, kept after the job itself is gone (WAIT). */
struct zk_job_rec {
	struct kref ref;
	struct dma_fence *done;		/* drm_sched finished fence */
	u64 seqno;			/* per-context */
	u32 status;			/* DRM_ZHIKAI_JOB_* */
};

struct zk_queue {
	struct zk_device *zdev;
	u32 idx;
	char name[16];
	struct drm_gpu_scheduler sched;
	bool sched_ready;

	spinlock_t lock;		/* ring, inflight, fence lock */
	struct list_head inflight;	/* zk_hw_fence, hw order */
	u64 fence_context;
	u64 next_seqno;			/* hw seqno of the last queued job */
	u64 last_done;			/* hw seqno of the last completed */
	u32 head;			/* ring offset after the last completed */
	u32 tail;
	u64 submitted;
	u64 completed;
	ktime_t last_retired;		/* busy time accounting */

	void *ring;
	dma_addr_t ring_dma;
	void *aux;			/* fence write-back + status slots */
	dma_addr_t aux_dma;
	u32 fault_count;
};

#define ZK_AUX_FENCE_WB		0
#define ZK_AUX_STATUS		64
#define ZK_AUX_SIZE		PAGE_SIZE

struct zk_device {
	struct drm_device drm;
	struct pci_dev *pdev;
	void __iomem *regs;
	spinlock_t latch_lock;		/* LO read .. HI read of latched pairs */
	void __iomem *hbm;		/* whole HBM BAR, write-combined */
	bool hbm_live;			/* false once unplug started */
	resource_size_t hbm_bar_start;

	u64 hbm_size;
	u32 hbm_stacks;
	u32 num_queues;
	u32 compute_units;
	u32 num_vectors;
	u32 caps;
	u32 hw_version;
	u32 api_version;
	u32 clock_max_mhz;
	u32 power_cap_min_mw;
	u32 power_cap_max_mw;

	/* Firmware image kept in DMA memory for reloads after a reset. */
	void *fw_cpu;
	dma_addr_t fw_dma;
	u32 fw_size;

	/* HBM: [0, pt_pool_size) page tables, the rest BOs. */
	struct mutex hbm_lock;		/* hbm_mm, pt pool, counters */
	struct drm_mm hbm_mm;
	u64 hbm_bo_used;
	u64 pt_pool_size;
	u32 pt_pages;
	u32 pt_used;
	unsigned long *pt_bitmap;
	u16 *pt_owner;			/* ctx id per pool page (RAS) */
	struct list_head pt_users;	/* zk_pt_user, under hbm_lock */

	struct xarray ctx_xa;		/* ctx_id -> zk_ctx */
	u32 ctx_next;

	struct zk_queue queues[ZK_MAX_QUEUES];

	/* Reset and health. */
	struct mutex reset_lock;	/* serialises recoveries */
	atomic_t reset_count;
	bool wedged;
	bool unplugged;
	struct delayed_work hb_work;
	struct work_struct reset_work;
	u32 hb_last;
	unsigned long hb_last_change;
	u32 ras_ce_last;
	u32 ras_ue_last;
	u32 throttle_last;

	struct device *hwmon;

	/* Runtime PM (zk_pm.c): in D3hot, and what D3hot loses. */
	bool rpm_suspended;
	u32 rpm_power_cap_mw;

	/* debugfs "ping" (zk_kjob.c): last doorbell+IRQ round trip run. */
	u32 ping_count;
	u64 ping_ns;
};

#define to_zk_device(d) container_of(d, struct zk_device, drm)

/*
 * Page-table pool pages held by one user (euid at open) over all the
 * contexts it opened: one user with many files cannot take the pool.
 */
struct zk_pt_user {
	struct list_head link;		/* zdev->pt_users */
	kuid_t uid;
	u32 ctxs;			/* contexts charged to it */
	u32 pages;
};

/* Page-table shadow: one per device table page. */
struct zk_pt {
	u64 hbm_off;
	struct list_head dead_link;	/* ctx->dead_pts */
	u32 used;
	DECLARE_BITMAP(huge, ZK_PT_ENTRIES);	/* level 1 only */
	struct zk_pt *child[];			/* levels 0 and 1 */
};

/* Per open file: device address space, job submission state. */
struct zk_ctx {
	struct kref ref;
	struct zk_device *zdev;
	u32 id;
	struct work_struct free_work;	/* last put: release on zk_wq */

	struct mutex lock;		/* va_mm, page tables, bos, zombies */
	struct drm_mm va_mm;
	struct zk_pt *root;
	struct list_head bos;
	u64 mem_used;			/* includes zombies until reaped */
	u64 hbm_used;			/* the HBM part of mem_used */
	u64 host_used;			/* the pinned host part */
	u32 pt_pages;			/* page-table pool pages it holds */
	struct zk_pt_user *pt_user;	/* its opener's share of the pool */
	/*
	 * Freed BOs whose memory the device may still reach: reap_work unmaps
	 * them, invalidates the device MMU, waits for the context's jobs
	 * (vm_fence) and only then gives the memory back.
	 */
	struct list_head zombies;
	struct work_struct reap_work;
	struct list_head dead_pts;	/* emptied tables, freed when reaped */

	struct mutex submit_lock;	/* seqnos, job order, jobs */
	u64 last_seqno;
	struct xarray jobs;		/* seqno -> zk_job_rec */
	/* Per queue: finished fence of the context's last job (VM idle). */
	struct dma_fence *vm_fence[ZK_MAX_QUEUES];
	atomic_t jobs_inflight;		/* submitted, not yet freed */
	atomic64_t busy_ns[ZK_MAX_QUEUES];	/* fdinfo drm-engine-* */
	wait_queue_head_t jobs_wq;	/* jobs_inflight went down */
	struct mutex entity_lock;	/* entity[], num_entities */
	struct drm_sched_entity entity[ZK_MAX_QUEUES];
	u32 num_entities;		/* 0 once closed or unplugged */

	/* Hang accounting: banned after zk_hang_ban_limit guilty timeouts. */
	atomic_t hangs;
	bool banned;
};

struct zk_bo {
	struct drm_gem_shmem_object shmem;	/* base.funcs picks the kind */
	u32 flags;			/* DRM_ZHIKAI_BO_* */
	struct zk_ctx *ctx;
	struct list_head ctx_link;
	struct drm_mm_node va_node;	/* size + one guard page */
	struct drm_mm_node hbm_node;	/* HBM BOs */
	u64 va;
	u64 size;
	bool mapped;
	bool charged;			/* counted in ctx->mem_used */
	bool poisoned;			/* uncorrected memory error seen */
	spinlock_t last_lock;		/* last[] */
	struct zk_job_rec *last[ZK_MAX_QUEUES];
};

static inline struct zk_bo *to_zk_bo(struct drm_gem_object *obj)
{
	return container_of(obj, struct zk_bo, shmem.base);
}

/* zk_hw.c */
static inline u32 zk_rd(struct zk_device *zdev, u32 reg)
{
	return readl(zdev->regs + reg);
}

static inline void zk_wr(struct zk_device *zdev, u32 reg, u32 val)
{
	writel(val, zdev->regs + reg);
}

static inline u32 zk_qrd(struct zk_queue *q, u32 reg)
{
	return zk_rd(q->zdev, ZK_QREG(q->idx, reg));
}

static inline void zk_qwr(struct zk_queue *q, u32 reg, u32 val)
{
	zk_wr(q->zdev, ZK_QREG(q->idx, reg), val);
}

u64 zk_rd64_latched(struct zk_device *zdev, u32 lo);
u64 zk_rd64(struct zk_device *zdev, u32 lo);
int zk_hw_wait_state(struct zk_device *zdev, u32 state, unsigned int ms);
void zk_hw_irq_enable(struct zk_device *zdev, bool on);
void zk_hw_queue_start(struct zk_queue *q);
void zk_hw_queue_stop(struct zk_queue *q);
int zk_hw_probe_regs(struct zk_device *zdev);

/* zk_fw.c */
int zk_fw_init(struct zk_device *zdev);
int zk_fw_boot(struct zk_device *zdev);

/* zk_gem.c */
int zk_bo_create_ioctl(struct drm_device *dev, void *data,
		       struct drm_file *file);
int zk_bo_info_ioctl(struct drm_device *dev, void *data,
		     struct drm_file *file);
struct drm_gem_object *zk_gem_create_object(struct drm_device *dev,
					    size_t size);
struct zk_bo *zk_bo_lookup(struct drm_file *file, u32 handle);
bool zk_gem_obj_of_ctx(struct drm_gem_object *obj, struct zk_ctx *ctx);
int zk_hbm_init(struct zk_device *zdev);
void zk_hbm_fini(struct zk_device *zdev);
u64 zk_hbm_used(struct zk_device *zdev);
int zk_bo_read(struct zk_bo *bo, u64 offset, void *dst, size_t len);
bool zk_bo_is_hbm(struct zk_bo *bo);
u32 zk_hbm_poison(struct zk_device *zdev, u64 hbm_off);

/* zk_mmu.c */
struct zk_ctx *zk_ctx_create(struct zk_device *zdev);
void zk_ctx_put(struct zk_ctx *ctx);
struct zk_ctx *zk_ctx_get(struct zk_ctx *ctx);
int zk_mmu_map_hbm(struct zk_ctx *ctx, u64 va, u64 hbm_off, u64 size);
int zk_mmu_map_sgt(struct zk_ctx *ctx, u64 va, struct sg_table *sgt,
		   u64 size);
void zk_mmu_unmap(struct zk_ctx *ctx, u64 va, u64 size);
void zk_ctx_reap_work(struct work_struct *work);
void zk_mmu_free_dead_tables(struct zk_ctx *ctx);
struct zk_bo *zk_ctx_find_bo(struct zk_ctx *ctx, u64 va, u64 len);
int zk_pt_pool_init(struct zk_device *zdev);

/* zk_fence.c, zk_sched.c, zk_submit.c, zk_wait.c, zk_kjob.c */
int zk_queues_init(struct zk_device *zdev);
void zk_queues_fini(struct zk_device *zdev);
int zk_ctx_entities_init(struct zk_ctx *ctx);
void zk_ctx_entities_fini(struct zk_ctx *ctx);
void zk_ctxs_entities_fini(struct zk_device *zdev);
void zk_sched_requeue_bad(struct drm_sched_job *bad);
void zk_sched_reattach_fences(struct drm_gpu_scheduler *sched);
void zk_job_rec_put(struct zk_job_rec *rec);
int zk_submit_ioctl(struct drm_device *dev, void *data,
		    struct drm_file *file);
int zk_wait_ioctl(struct drm_device *dev, void *data, struct drm_file *file);
void zk_queue_process(struct zk_queue *q);
void zk_queue_abort(struct zk_queue *q, u32 status);
bool zk_job_hw_signaled(struct drm_sched_job *sjob);
void zk_job_mark_guilty(struct drm_sched_job *sjob);
void zk_job_debugfs_init(struct zk_device *zdev, struct dentry *root);
int zk_mmu_invalidate(struct zk_ctx *ctx, u64 va, u64 size);
int zk_queue_run_kernel(struct zk_queue *q, const void *cmd);
void zk_ctx_wait_idle(struct zk_ctx *ctx);
bool zk_ctx_is_idle(struct zk_ctx *ctx);

/* zk_irq.c */
int zk_irq_init(struct zk_device *zdev);

/* zk_reset.c; a reset of one queue (ZK_QCTRL_RESET), for tracing. */
#define ZK_RESET_QUEUE		0
int zk_reset_recover(struct zk_device *zdev, struct zk_queue *bad_q,
		     struct drm_sched_job *bad, u32 level, const char *why);
void zk_reset_init(struct zk_device *zdev);
void zk_reset_fini(struct zk_device *zdev);
void zk_reset_schedule(struct zk_device *zdev);
void zk_hw_stop(struct zk_device *zdev, unsigned int wait_ms);
void zk_hw_restart(struct zk_device *zdev, const char *why);
void zk_reset_uevent(struct zk_device *zdev, const char *kind);
void zk_ras_uevent(struct zk_device *zdev, u64 addr, u32 ctx_id);
int zk_hw_power_down(struct zk_device *zdev);
int zk_hw_power_up(struct zk_device *zdev);

/* zk_pm.c */
extern const struct dev_pm_ops zk_pm_ops;
void zk_pm_enable(struct zk_device *zdev);
void zk_pm_disable(struct zk_device *zdev);
int zk_pm_get(struct zk_device *zdev);
void zk_pm_put(struct zk_device *zdev);
bool zk_pm_get_if_awake(struct zk_device *zdev);
void zk_pm_get_noresume(struct zk_device *zdev);
bool zk_dev_enter(struct zk_device *zdev, int *idx);
void zk_dev_exit(struct zk_device *zdev, int idx);

/* zk_hwmon.c */
int zk_hwmon_init(struct zk_device *zdev);

/* zk_sysfs.c */
extern const struct attribute_group *zk_dev_groups[];

/* zk_coredump.c */
void zk_coredump(struct zk_device *zdev, struct zk_queue *bad_q,
		 const char *why);

/* zk_fdinfo.c */
void zk_show_fdinfo(struct seq_file *m, struct file *f);

/* zk_debugfs.c */
#if IS_ENABLED(CONFIG_DEBUG_FS)
void zk_debugfs_init(struct drm_minor *minor);
#endif

#endif /* ZK_DRV_H */
