/* SPDX-License-Identifier: MIT */
/* zk_internal.h - objects and helpers shared by the runtime's files. */
#ifndef ZK_INTERNAL_H
#define ZK_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "zhikai/zhikai.h"
#include "zhikai_hw.h"
#include "zhikai_isa.h"
#include "zk_ioctl.h"

#define ZK_EXPORT __attribute__((visibility("default")))
#define ZK_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ---- error.c ---------------------------------------------------------- */
/* Set the thread's detail message and return @st. */
zk_status zk__fail(zk_status st, const char *fmt, ...) ZK_PRINTF(2, 3);
/* A failed zkio_* call (-errno @neg): status from errno, detail names the call. */
zk_status zk__fail_io(int neg, const char *what);
/* DRM_ZHIKAI_JOB_* -> zk_status. */
zk_status zk__job_status(uint32_t job_status);

/* ---- handles.c: registry of live handles --------------------------------- */
enum zk_kind { ZK_KIND_DEVICE = 1, ZK_KIND_CTX, ZK_KIND_STREAM, ZK_KIND_EVENT,
               ZK_KIND_MODULE, ZK_KIND_FUNCTION };
int zk__handle_add(const void *p, int kind);   /* 0 or -ENOMEM */
void zk__handle_del(const void *p);
int zk__handle_ok(const void *p, int kind);
size_t zk__handle_count(void);                 /* tests */

/* ---- rangemap.c: sorted address ranges -> object -------------------------- */
typedef struct zk_range {
    uint64_t base, size;
    void *obj;
} zk_range;
typedef struct zk_rangemap {
    zk_range *v;
    size_t n, cap;
} zk_rangemap;
/* 0, -ENOMEM, -EEXIST (overlap), -EINVAL (size 0 or wraps). */
int zk__rmap_insert(zk_rangemap *m, uint64_t base, uint64_t size, void *obj);
/* Remove the range starting exactly at @base; returns its obj or NULL. */
void *zk__rmap_remove(zk_rangemap *m, uint64_t base);
/* The range containing all of [addr, addr+len) (len 0 counts as 1). */
const zk_range *zk__rmap_find(const zk_rangemap *m, uint64_t addr, uint64_t len);
void zk__rmap_free(zk_rangemap *m);

/* ---- devices ---------------------------------------------------------- */
#define ZK_MAX_DEVICES 16
struct zk_device_st {
    int index;
    zkio_node node;
};
int zk__initialized(void);

/* ---- memory objects -------------------------------------------------------- */
enum { ZK_ALLOC_DEVICE = 1, ZK_ALLOC_HOST, ZK_ALLOC_INTERNAL };
typedef struct zk_alloc {
    uint64_t va;
    uint64_t size;          /* requested bytes (the BO may be larger) */
    uint64_t bo_size;       /* page rounded */
    uint32_t handle;
    uint32_t flags;         /* ZKIO_BO_* */
    int kind;               /* ZK_ALLOC_* */
    void *cpu;              /* mmap, or NULL */
    int nomap;              /* HBM mmap was tried and failed */
} zk_alloc;
#define ZK_MMAP_COPY_MAX   (64u << 10)     /* sync HBM copies done by CPU */

/* A staging buffer for pipelined copies of pageable host memory. */
typedef struct zk_staging {
    zk_alloc *bo;
    int owned;              /* held by a copy in progress */
    uint64_t seqno;         /* last job reading/writing it, 0 = none */
} zk_staging;
#define ZK_STAGE_MAX 6

/* ---- context ---------------------------------------------------------- */
struct zk_context_st {
    zk_device dev;
    int fd;
    int primary;                    /* the device's primary context */
    uint64_t id;                    /* unique in the process (zk_ctx_get_id) */
    pthread_mutex_t lock;           /* maps, lists, staging pool */
    pthread_cond_t stage_cv;
    pthread_rwlock_t slock;         /* stream list: read = iterate, write = add/del */
    zk_rangemap va_map;             /* device VA -> zk_alloc (user visible) */
    zk_rangemap host_map;           /* CPU address -> zk_alloc (pinned host) */
    uint32_t num_queues, next_queue;
    uint32_t caps;
    int has_syncobj;
    zk_stream default_stream;
    struct zk_stream_st *streams;   /* list incl. default */
    struct zk_module_st *modules;
    struct zk_event_st *events;
    zk_staging stage[ZK_STAGE_MAX];
    int nstage;
    size_t stage_size;
};

/* ---- ctx_current.c: the thread's context stack (beneath all objects) ---- */
/* The current context, validated (ZK_ERROR_INVALID_CONTEXT if none/destroyed). */
zk_status zk__current_ctx(zk_context *out);
/* Replace the top of the stack with @c (push if empty). */
void zk__ctx_make_current(zk_context c);
/* Drop every entry of @c from this thread's stack (zk_ctx_destroy). */
void zk__ctx_forget(zk_context c);

/* ---- bo.c: buffer objects (beneath memory, streams, events, modules) ---- */

zk_status zk__bo_new(zk_context ctx, uint64_t size, uint32_t flags, int kind,
                     int want_map, zk_alloc **out);
void zk__bo_delete(zk_context ctx, zk_alloc *a);

/* ---- memory.c internal --------------------------------------------------- */
/* Stage @len bytes of host memory into device VA @dst (handle @dst_handle) on
 * stream @s (lock held).  Used by module upload too. */
zk_status zk__h2d_locked(struct zk_stream_st *s, uint64_t dst, uint32_t dst_handle,
                         const void *src, size_t len);
void zk__staging_free_all(zk_context ctx);

/* ---- stream.c -------------------------------------------------------------- */
#define ZK_CHUNK_SIZE      (256u << 10)
#define ZK_CHUNK_MAX       16
#define ZK_FENCE_SLOTS     512
#define ZK_INLINE_MAX      (32u << 10)     /* data staged in the command chunk */

typedef struct zk_chunk {
    zk_alloc *bo;
    uint64_t retire_idx;                    /* last job index using it */
    struct zk_chunk *next;
} zk_chunk;

struct zk_stream_st {
    zk_context ctx;
    pthread_mutex_t lock;
    uint32_t queue;
    int is_default;
    unsigned int flags;                     /* ZK_STREAM_* of zk_stream_create */
    /* Current command chunk: commands grow up from job_start, data down. */
    zk_chunk *cur;
    uint32_t job_start, cmd_pos, data_top;
    zk_chunk *retired, *retired_tail;       /* FIFO, oldest first */
    int nchunks;
    /* The job being built. */
    uint32_t *bos;
    unsigned int nbos, capbos;
    uint32_t dep_syncobj;
    /* Completion: job idx i writes i to slots[i % N] as its last command. */
    zk_alloc *fence_bo;
    uint64_t next_idx;                      /* index of the next job (>= 1) */
    uint64_t checked_idx;                   /* jobs <= this verified */
    uint64_t seqnos[ZK_FENCE_SLOTS];
    uint64_t last_seqno;
    uint64_t jobs_submitted;                /* statistics (tests) */
    zk_status error;                        /* sticky */
    struct zk_stream_st *next;
};

zk_status zk__stream_new(zk_context ctx, int is_default, zk_stream *out);
void zk__stream_free(zk_stream s);        /* no waiting; ctx teardown */
/* Resolve a public stream argument (NULL = default of @ctx or current). */
zk_status zk__stream_resolve(zk_stream in, zk_context ctx, zk_stream *out);
/* With s->lock held: room for @ncmds commands and @data bytes (64-aligned)
 * in the current job; returns pointers to them. */
zk_status zk__stream_reserve(zk_stream s, unsigned int ncmds, size_t data,
                             void **cmds, void **data_ptr, uint64_t *data_va);
zk_status zk__stream_add_bo(zk_stream s, uint32_t handle);
/* Submit the pending job (if any or if @force); @out_syncobj: 0 or a
 * syncobj receiving its fence; *seqno (may be NULL) gets its seqno. */
zk_status zk__stream_flush_locked(zk_stream s, uint32_t in_syncobj,
                                  uint32_t out_syncobj, int force,
                                  uint64_t *seqno);
/* Verify jobs up to @idx (0 = all submitted); @block waits. */
zk_status zk__stream_reap_locked(zk_stream s, uint64_t idx, int block);
/* Flush all streams of @ctx in one submit; @wait: then wait for all. */
zk_status zk__ctx_flush_all(zk_context ctx, int wait);
/* The deadline for blocking waits (ZK_WAIT_TIMEOUT_MS). */
int64_t zk__deadline(void);
/* A blocking/non-blocking wait on one seqno of @ctx; ZK_ERROR_NOT_READY when
 * @block is 0 and it is not done.  *status gets the job status. */
zk_status zk__wait_seqno(zk_context ctx, uint64_t seqno, int block, uint32_t *status);

/* ---- module.c -------------------------------------------------------------- */
/* Parameter buffer slot of a kernel translated from PTX (.entry layout). */
struct zk_param_slot {
    uint32_t offset, size;
};
/* A .global/.const variable of a PTX module (zk_module_get_global). */
struct zk_global_slot {
    char *name;                 /* any length (C++ mangled names) */
    uint32_t offset, size;      /* in the image */
};
struct zk_function_st {
    struct zk_module_st *mod;
    char *name;                     /* full name; desc.name is its zk_obj key */
    struct zk_kernel_desc desc;
    struct zk_simt_desc simt;       /* SIMT kernels (desc.flags) */
    uint32_t entry;
    unsigned int nparams;           /* PTX kernels: parameter layout */
    struct zk_param_slot *params;
};
struct zk_module_st {
    zk_context ctx;
    zk_alloc *image;
    int image_mapped;               /* image is in ctx->va_map (has globals) */
    uint32_t image_size;
    unsigned int nfuncs;
    struct zk_function_st *funcs;
    unsigned int nglobals;
    struct zk_global_slot *globals;
    struct zk_module_st *next;
};
/*
 * Check launch arguments against a descriptor.  ptr_objs[i] receives the
 * zk_alloc a pointer argument points into (NULL for scalars).  Sets the
 * detail message on failure.  Pure: no device needed.
 */
zk_status zk__check_args(const struct zk_kernel_desc *d, const uint64_t *args,
                         unsigned int nargs, const zk_rangemap *map,
                         zk_alloc **ptr_objs);
/* Context teardown. */
void zk__module_free(struct zk_module_st *m);

/* ---- event.c -------------------------------------------------------------- */
struct zk_event_st {
    zk_context ctx;
    pthread_mutex_t lock;
    unsigned int flags;
    zk_alloc *mem;              /* u64 fence, u64 ts, u64 card ts */
    uint32_t syncobj;           /* 0 without syncobj support */
    uint64_t gen;               /* value the last record's fence writes */
    uint64_t seqno;             /* job of the last record */
    int recorded;
    zk_status error;            /* status of the captured job, once known */
    struct zk_event_st *next;
};
void zk__event_free(struct zk_event_st *e);
#define ZK_EV_FENCE 0
#define ZK_EV_TS    8
#define ZK_EV_CARD  16

#endif /* ZK_INTERNAL_H */
