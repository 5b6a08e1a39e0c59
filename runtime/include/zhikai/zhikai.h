/* SPDX-License-Identifier: MIT */
/*
 * zhikai.h - libzhikai, the user-space runtime of the zhikai inference card.
 *
 * The API is modelled on the CUDA driver API: a process initializes the
 * library (zk_init), picks a device (zk_device_get), creates a context on it
 * (zk_ctx_create; one context = one open file of the driver = one device
 * address space), allocates device memory (zk_mem_alloc), loads kernel
 * objects (zk_module_load) and launches kernels and copies on streams.
 *
 * Conventions
 *  - Every function returns a zk_status; ZK_SUCCESS (0) means success.  On
 *    failure out-parameters are left untouched and zk_last_error_detail()
 *    returns a message naming the argument, ioctl or errno involved.
 *  - Handles are opaque.  A handle that was never created, or has been
 *    destroyed, is detected (ZK_ERROR_INVALID_HANDLE) as long as its memory
 *    has not been reused for a new object of the same kind.
 *  - Functions that operate on memory use the calling thread's *current
 *    context* (zk_ctx_set_current; zk_ctx_create makes the new context
 *    current).  Functions taking a stream, event, module or function use
 *    that object's context.
 *  - A NULL zk_stream means the current context's default stream.
 *  - Commands on a stream are batched: they are sent to the card as one job
 *    when the stream is flushed (zk_stream_flush, zk_stream_synchronize,
 *    zk_event_record, a synchronous call) or when its command buffer fills.
 *    Work is therefore not guaranteed to start until one of those happens.
 *  - Thread safety: unless stated otherwise every function may be called
 *    from any thread concurrently.  Each stream has its own lock, so
 *    different threads driving different streams do not serialize on each
 *    other (except briefly for allocation bookkeeping).  Destroying an object
 *    while another thread is still using it is undefined.
 *
 * Link with `pkg-config --libs zhikai` (-lzhikai); compile with
 * `pkg-config --cflags zhikai` and #include <zhikai/zhikai.h>.
 */
#ifndef ZHIKAI_ZHIKAI_H
#define ZHIKAI_ZHIKAI_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Version of this API: major * 1000 + minor * 10. */
#define ZK_RUNTIME_VERSION 1000

/* ------------------------------------------------------------------ */
/* Status codes                                                        */
/* ------------------------------------------------------------------ */
typedef enum zk_status {
    ZK_SUCCESS = 0,
    ZK_ERROR_INVALID_VALUE = 1,      /* a parameter is out of range / NULL */
    ZK_ERROR_INVALID_HANDLE = 2,     /* unknown or destroyed handle */
    ZK_ERROR_OUT_OF_MEMORY = 3,      /* host or device memory exhausted */
    ZK_ERROR_NOT_INITIALIZED = 4,    /* zk_init has not been called */
    ZK_ERROR_NO_DEVICE = 5,          /* no zhikai device / bad ordinal */
    ZK_ERROR_INVALID_CONTEXT = 6,    /* no (valid) current context */
    ZK_ERROR_LAUNCH_FAILED = 7,      /* a job faulted (MMU/DMA fault) */
    ZK_ERROR_ILLEGAL_COMMAND = 8,    /* a job was rejected by the engine
                                        (bad command or kernel) */
    ZK_ERROR_ABORTED = 9,            /* a job was dropped by a device reset
                                        caused by someone else */
    ZK_ERROR_DEVICE_LOST = 10,       /* the device stopped responding, or
                                        the driver refuses the context's
                                        work (banned after repeated hangs):
                                        create a new context */
    ZK_ERROR_TIMEOUT = 11,           /* a job exceeded its time limit, or a
                                        wait timed out */
    ZK_ERROR_NOT_READY = 12,         /* query: work still in progress */
    ZK_ERROR_INVALID_IMAGE = 13,     /* not a valid kernel object */
    ZK_ERROR_NOT_FOUND = 14,         /* named kernel / bus id not found */
    ZK_ERROR_INVALID_ARGUMENT_TYPE = 15, /* kernel argument does not match
                                            its descriptor */
    ZK_ERROR_NOT_SUPPORTED = 16,     /* feature not available on this
                                        device/driver */
    ZK_ERROR_OS = 17,                /* a system call failed: see
                                        zk_last_error_detail() for errno */
    ZK_ERROR_UNKNOWN = 18
} zk_status;

/**
 * zk_error_string - short English description of a status code.
 * Returns a static string ("unknown status" for values outside the enum).
 * Thread-safe; needs no zk_init.
 */
const char *zk_error_string(zk_status status);

/**
 * zk_error_name - the enumerator's name, e.g. "ZK_ERROR_TIMEOUT".
 * Returns a static string.  Thread-safe; needs no zk_init.
 */
const char *zk_error_name(zk_status status);

/**
 * zk_last_error_detail - message describing the most recent failure of a
 * zk_* call *in the calling thread* (which argument, which ioctl, errno).
 * Not cleared by successful calls.  Returns "" if there was none.  The
 * string is thread-local and valid until the thread's next failing call.
 */
const char *zk_last_error_detail(void);

/* ------------------------------------------------------------------ */
/* Initialization and devices                                          */
/* ------------------------------------------------------------------ */
typedef struct zk_device_st *zk_device;
typedef struct zk_context_st *zk_context;
typedef struct zk_stream_st *zk_stream;
typedef struct zk_event_st *zk_event;
typedef struct zk_module_st *zk_module;
typedef struct zk_function_st *zk_function;
/** A device virtual address in a context's address space. */
typedef uint64_t zk_deviceptr;

/**
 * zk_init - initialize the library and enumerate zhikai devices (DRM
 * devices whose driver name is "zhikai": accel nodes /dev/accel/accel*
 * or render nodes /dev/dri/renderD*).
 * @flags: must be 0.
 * Returns ZK_SUCCESS (also when no device is present: zk_device_count then
 * reports 0), ZK_ERROR_INVALID_VALUE for unknown flags.  Idempotent;
 * thread-safe.  The environment variable ZK_DEVICE_NODE=/path restricts the
 * runtime to that one node.
 */
zk_status zk_init(unsigned int flags);

/**
 * zk_runtime_get_version - the runtime's ZK_RUNTIME_VERSION.
 * Returns ZK_ERROR_INVALID_VALUE if @version is NULL.  Thread-safe.
 */
zk_status zk_runtime_get_version(int *version);

/**
 * zk_device_count - number of zhikai devices found by zk_init.
 * Returns ZK_ERROR_NOT_INITIALIZED before zk_init.  Thread-safe.
 */
zk_status zk_device_count(int *count);

/**
 * zk_device_get - device handle for ordinal @index (0 .. count-1).
 * Returns ZK_ERROR_NO_DEVICE for a bad ordinal.  Device handles stay valid
 * for the life of the process.  Thread-safe.
 */
zk_status zk_device_get(zk_device *dev, int index);

/**
 * zk_device_get_by_pci_bus_id - device handle for a PCI bus id given as
 * "dddd:bb:dd.f" or "bb:dd.f" (case-insensitive).
 * Returns ZK_ERROR_NOT_FOUND if no zhikai device has that address,
 * ZK_ERROR_INVALID_VALUE if @bus_id cannot be parsed.  Thread-safe.
 */
zk_status zk_device_get_by_pci_bus_id(zk_device *dev, const char *bus_id);

/** Capability bits of zk_device_properties.caps (same as ZK_CAP_* of the hw). */
#define ZK_DEVICE_CAP_MMU         (1u << 0)
#define ZK_DEVICE_CAP_DMA_SGLIST  (1u << 1)
#define ZK_DEVICE_CAP_FP16        (1u << 2)
#define ZK_DEVICE_CAP_BF16        (1u << 3)
#define ZK_DEVICE_CAP_INT8        (1u << 4)
#define ZK_DEVICE_CAP_POWER_CAP   (1u << 5)
#define ZK_DEVICE_CAP_FAULT_INJECT (1u << 6)
#define ZK_DEVICE_CAP_CARD_TIME   (1u << 7)
/** Card performance/energy model (ZK_CAP_PERF_MODEL, docs/perf-model.md):
 *  events also record the modelled card energy. */
#define ZK_DEVICE_CAP_PERF_MODEL  (1u << 8)

typedef struct zk_device_properties {
    char name[64];              /* e.g. "zhikai ZK100" */
    char pci_bus_id[32];        /* "dddd:bb:dd.f" */
    char node[64];              /* device node the runtime opens */
    char driver_name[32];       /* kernel driver ("zhikai") */
    int driver_version[3];      /* major, minor, patchlevel of the driver */
    uint32_t pci_vendor_id;
    uint32_t pci_device_id;
    uint32_t pci_revision;
    uint32_t hw_version;        /* major << 16 | minor */
    uint32_t fw_version;        /* major << 16 | minor << 8 | patch */
    uint32_t api_version;       /* device API: major << 16 | minor */
    int compute_capability_major; /* = hw version major */
    int compute_capability_minor; /* = hw version minor */
    uint32_t caps;              /* ZK_DEVICE_CAP_* */
    uint64_t hbm_total;         /* bytes of device memory */
    uint64_t hbm_free;          /* bytes not allocated by anyone (snapshot) */
    uint32_t hbm_stacks;
    uint32_t num_queues;        /* hardware queues */
    uint32_t clock_max_mhz;
    uint32_t compute_units;     /* blocks/workgroups run in parallel (SMs) */
    uint64_t va_start;          /* usable device VA range of a context */
    uint64_t va_size;
} zk_device_properties;

/**
 * zk_device_get_properties - query @dev (opens its node briefly, so the
 * HBM numbers are current).  Returns ZK_ERROR_INVALID_HANDLE for a bad
 * device, ZK_ERROR_OS if the node cannot be opened/queried.  Thread-safe.
 */
zk_status zk_device_get_properties(zk_device dev, zk_device_properties *props);

/* ------------------------------------------------------------------ */
/* Contexts                                                            */
/* ------------------------------------------------------------------ */

/**
 * zk_ctx_create - open @dev and create a context (its own device address
 * space) and make it current for the calling thread (it replaces the top of
 * the thread's context stack, see zk_ctx_set_current).
 * @flags: must be 0.
 * Returns ZK_ERROR_INVALID_HANDLE (bad device), ZK_ERROR_OS (open failed,
 * e.g. EACCES), ZK_ERROR_OUT_OF_MEMORY.  Thread-safe.
 */
zk_status zk_ctx_create(zk_context *ctx, unsigned int flags, zk_device dev);

/**
 * zk_ctx_destroy - wait for the context's outstanding work, then free all
 * its streams, events, modules and memory and close the device file.  It is
 * removed from the calling thread's context stack; other threads
 * that still have it current get ZK_ERROR_INVALID_CONTEXT.
 * Not safe against concurrent use of the same context by other threads.
 */
zk_status zk_ctx_destroy(zk_context ctx);

/*
 * Each thread has a stack of contexts (CUDA's model); its top is the current
 * context every other call works on.
 */

/**
 * zk_ctx_set_current - replace the top of this thread's context stack with
 * @ctx (push it if the stack is empty); NULL pops the top.
 */
zk_status zk_ctx_set_current(zk_context ctx);

/** zk_ctx_push_current - push @ctx on this thread's stack (it becomes current). */
zk_status zk_ctx_push_current(zk_context ctx);

/**
 * zk_ctx_pop_current - pop the current context (into @ctx if not NULL);
 * the one below becomes current.  ZK_ERROR_INVALID_CONTEXT if the stack is
 * empty.
 */
zk_status zk_ctx_pop_current(zk_context *ctx);

/**
 * zk_device_primary_ctx_retain - the device's primary context: one per
 * device, created on first retain, shared by every caller that retains it
 * (libcudart and cuDevicePrimaryCtxRetain use it), destroyed when the last
 * reference is released.  Retaining does not make it current.
 * zk_ctx_destroy refuses it (ZK_ERROR_INVALID_CONTEXT).  Thread-safe.
 */
zk_status zk_device_primary_ctx_retain(zk_context *ctx, zk_device dev);
/** zk_device_primary_ctx_release - drop one reference (see above). */
zk_status zk_device_primary_ctx_release(zk_device dev);
/** zk_device_primary_ctx_get_state - *active: 1 while it is retained. */
zk_status zk_device_primary_ctx_get_state(zk_device dev, int *active);

/**
 * zk_ctx_get_current - the calling thread's current context (NULL if none;
 * returns ZK_SUCCESS in that case too).
 */
zk_status zk_ctx_get_current(zk_context *ctx);

/**
 * zk_ctx_get_id - an id of @ctx (NULL: the current context) unique in the
 * process: ids are never reused, unlike the addresses of destroyed contexts
 * (cuCtxGetId).  ZK_ERROR_INVALID_CONTEXT for a bad or destroyed one.
 */
zk_status zk_ctx_get_id(zk_context ctx, uint64_t *id);

/** zk_ctx_get_device - the device of the current context. */
zk_status zk_ctx_get_device(zk_device *dev);

/**
 * zk_ctx_synchronize - flush every stream of the current context and wait
 * for all of its work.  Returns the first sticky stream error found (see
 * zk_stream_synchronize), else ZK_SUCCESS.
 */
zk_status zk_ctx_synchronize(void);

/* ------------------------------------------------------------------ */
/* Memory                                                              */
/* ------------------------------------------------------------------ */

/**
 * zk_mem_alloc - allocate @bytes (> 0) of device memory (HBM) in the
 * current context; *dptr receives its device VA (page aligned).
 * Returns ZK_ERROR_OUT_OF_MEMORY when HBM or the context's limit is
 * exhausted, ZK_ERROR_INVALID_VALUE for 0 bytes.
 */
zk_status zk_mem_alloc(zk_deviceptr *dptr, size_t bytes);

/**
 * zk_mem_free - free an allocation made by zk_mem_alloc (@dptr must be its
 * start).  Pending (unflushed) work of the context is submitted first; jobs
 * still running keep the memory alive in the driver until they finish.
 * Returns ZK_ERROR_INVALID_VALUE for an address that is not a live
 * allocation (including double frees).
 */
zk_status zk_mem_free(zk_deviceptr dptr);

/**
 * zk_mem_alloc_host - allocate @bytes of pinned host memory that the card
 * reaches by DMA; *pp receives a CPU pointer.  Copies to/from this memory
 * need no staging and *_async copies are truly asynchronous.  Its device VA
 * is given by zk_mem_host_get_device_pointer (usable as a kernel argument).
 */
zk_status zk_mem_alloc_host(void **pp, size_t bytes);

/** zk_mem_free_host - free memory from zk_mem_alloc_host (@p = its start). */
zk_status zk_mem_free_host(void *p);

/**
 * zk_mem_host_get_device_pointer - device VA of pinned host memory @p (any
 * address inside an allocation).  ZK_ERROR_INVALID_VALUE if @p is not.
 */
zk_status zk_mem_host_get_device_pointer(zk_deviceptr *dptr, void *p);

/**
 * zk_mem_get_address_range - base and size of the live allocation (device
 * or pinned host) containing @dptr.  Either output may be NULL.
 * ZK_ERROR_NOT_FOUND if @dptr is in no allocation.
 */
zk_status zk_mem_get_address_range(zk_deviceptr *base, size_t *size,
                                   zk_deviceptr dptr);

/**
 * zk_mem_get_info - free and total HBM of the current context's device
 * (free = total - used by all contexts, further bounded by this context's
 * limit if the driver sets one).
 */
zk_status zk_mem_get_info(size_t *free_bytes, size_t *total_bytes);

/*
 * Copies and fills.  Device ranges must lie entirely inside one live
 * allocation of the context (ZK_ERROR_INVALID_VALUE otherwise, naming the
 * argument).  A zero size is a no-op.
 *
 * Synchronous variants first wait for all previously issued work of the
 * context (every stream), then perform the operation and return when it is
 * complete (like the CUDA legacy default stream).
 *
 * _async variants are queued on @stream (NULL = default stream) and ordered
 * with the other work of that stream.  The host buffer of an async
 * host-to-device copy may be reused as soon as the call returns (the data
 * are staged unless the source is pinned memory).  An async device-to-host
 * copy into pageable memory completes before returning (it synchronizes
 * the stream); into pinned memory it is asynchronous: the data are valid
 * after zk_stream_synchronize / an event recorded after it.
 */
zk_status zk_memcpy_htod(zk_deviceptr dst, const void *src, size_t bytes);
zk_status zk_memcpy_dtoh(void *dst, zk_deviceptr src, size_t bytes);
zk_status zk_memcpy_dtod(zk_deviceptr dst, zk_deviceptr src, size_t bytes);
/** zk_memset - fill @bytes at @dst with the byte @value. */
zk_status zk_memset(zk_deviceptr dst, uint8_t value, size_t bytes);
/** zk_memset_d32 - fill @count 32-bit words at @dst (4-aligned) with @value. */
zk_status zk_memset_d32(zk_deviceptr dst, uint32_t value, size_t count);

zk_status zk_memcpy_htod_async(zk_deviceptr dst, const void *src,
                               size_t bytes, zk_stream stream);
zk_status zk_memcpy_dtoh_async(void *dst, zk_deviceptr src, size_t bytes,
                               zk_stream stream);
zk_status zk_memcpy_dtod_async(zk_deviceptr dst, zk_deviceptr src,
                               size_t bytes, zk_stream stream);
zk_status zk_memset_async(zk_deviceptr dst, uint8_t value, size_t bytes,
                          zk_stream stream);
zk_status zk_memset_d32_async(zk_deviceptr dst, uint32_t value, size_t count,
                              zk_stream stream);

/* ------------------------------------------------------------------ */
/* Modules, functions and launches                                     */
/* ------------------------------------------------------------------ */

/**
 * zk_module_load - load a kernel object file (.zko, ELF of
 * include/zhikai_isa.h) into the current context: parse and verify it and
 * upload its image (text + rodata) to device memory.  A @path without a '/'
 * is looked up on the kernel search path (zk_kernel_find).  The file may
 * also be CUDA PTX text (ISA 6.x-9.x, 64-bit) or an NVIDIA fat binary
 * (plain, LZ4 or zstd entries): its PTX is translated to SIMT kernels
 * (docs/ptx.md; the translation is cached per PTX text), launched with
 * zk_launch_kernel_ex.
 * Returns ZK_ERROR_OS (cannot read the file), ZK_ERROR_NOT_FOUND (a bare
 * name not on the search path), ZK_ERROR_INVALID_IMAGE (not a valid object,
 * built for a newer ISA, or PTX that is refused: the detail reads
 * "ptx:LINE: unsupported PTX 'op.mod'"), ZK_ERROR_NOT_SUPPORTED (the object
 * requires card capabilities this card lacks), ZK_ERROR_OUT_OF_MEMORY.
 */
zk_status zk_module_load(zk_module *mod, const char *path);

/**
 * zk_module_load_data - as zk_module_load from memory.  Also accepts the
 * fat binary wrapper a CUDA host program hands __cudaRegisterFatBinary
 * (magic 0x466243B1, both versions): pass its address with @len = 24.
 */
zk_status zk_module_load_data(zk_module *mod, const void *image, size_t len);

/**
 * zk_kernel_find - the path of the kernel object @name (a plain file name,
 * e.g. "gemm.zko") on the kernel search path: the directories of
 * $ZK_KERNEL_PATH (colon-separated), then the install directory
 * (<libdir>/../share/zhikai/kernels, where make install puts the kernel
 * library, and that of the library's configured PREFIX), then the build tree
 * (<libdir>/../kernels).  Needs no device.  ZK_ERROR_NOT_FOUND (the detail
 * lists what was searched), ZK_ERROR_INVALID_VALUE (NULL, or a name with '/').
 */
zk_status zk_kernel_find(const char *name, char *path, size_t size);

/**
 * zk_module_unload - free the module and its device image.  Functions of
 * the module become invalid.  Pending launches of the context are
 * submitted first; running jobs keep the image alive.
 */
zk_status zk_module_unload(zk_module mod);

/**
 * zk_module_get_function - the kernel named @name in @mod.
 * ZK_ERROR_NOT_FOUND if there is none.  The handle lives as long as @mod.
 */
zk_status zk_module_get_function(zk_function *func, zk_module mod,
                                 const char *name);

/** Argument kinds (same values as ZK_ARG_* of zhikai_isa.h). */
#define ZK_KARG_U64 1   /* integer scalar */
#define ZK_KARG_F32 2   /* float scalar: IEEE bits in the low 32 bits */
#define ZK_KARG_PTR 3   /* device VA inside a live allocation */

typedef struct zk_function_arg_info {
    int kind;           /* ZK_KARG_* */
    int dtype;          /* pointers: element type (ZK_DT_* of zhikai_isa.h) */
    int access;         /* pointers: 1 = read, 2 = write, 3 = both */
    char name[24];
} zk_function_arg_info;

/** zk_function_get_num_args - number of arguments @func takes. */
zk_status zk_function_get_num_args(zk_function func, unsigned int *nargs);

/** zk_function_get_arg_info - descriptor of argument @index of @func. */
zk_status zk_function_get_arg_info(zk_function func, unsigned int index,
                                   zk_function_arg_info *info);

/**
 * zk_function_get_num_params - number of parameters of a kernel translated
 * from PTX (its .entry list; 0 for .zko kernels).  With
 * zk_function_get_param it gives the parameter buffer layout
 * zk_launch_kernel_ex expects: each parameter at @offset, @size bytes.
 */
zk_status zk_function_get_num_params(zk_function func, unsigned int *count);
zk_status zk_function_get_param(zk_function func, unsigned int index, size_t *offset,
                                size_t *size);

/**
 * zk_module_get_global - device address and size of the .global or .const
 * variable @name of a module loaded from PTX (cuModuleGetGlobal).
 * ZK_ERROR_NOT_FOUND if there is none.  The address is a valid target and
 * source of zk_memcpy_* and zk_memset* (it is not zk_mem_free'able).
 */
zk_status zk_module_get_global(zk_module mod, const char *name, uint64_t *va, size_t *size);

/** Resource use of a kernel (cuFuncGetAttribute); SIMT kernels only, else 0. */
typedef struct zk_function_attributes {
    int simt;                       /* 1: SIMT kernel (zk_launch_kernel_ex) */
    uint32_t shared_bytes;          /* static shared memory per block */
    uint32_t local_bytes;           /* local memory per thread */
    uint32_t param_bytes;           /* declared parameter buffer size (0 = any) */
    uint32_t max_threads_per_block;
    uint32_t max_dynamic_shared_bytes;
    uint32_t num_regs;              /* registers per thread the card provides */
    uint32_t reserved[5];
} zk_function_attributes;

/** zk_function_get_attributes - fill @attr for @func. */
zk_status zk_function_get_attributes(zk_function func, zk_function_attributes *attr);

/** zk_function_get_name - the kernel's name (valid as long as its module). */
zk_status zk_function_get_name(zk_function func, const char **name);

/**
 * zk_launch_kernel - queue a launch of @func over @grid (3 workgroup counts,
 * each >= 1) on @stream (NULL = default stream of @func's context).
 * @args: @nargs 64-bit argument slots; use zk_arg_f32() for float scalars.
 * The arguments are checked against the kernel's descriptor table: @nargs
 * must equal its argument count; a ZK_KARG_PTR slot must point inside a
 * live allocation (device or pinned host) of the context; a ZK_KARG_F32
 * slot must have zero high bits; a ZK_KARG_U64 slot that points inside a
 * live allocation is accepted.  Returns ZK_ERROR_INVALID_VALUE (count, grid),
 * ZK_ERROR_INVALID_ARGUMENT_TYPE (detail names the argument), or a sticky
 * stream error.  The argument values are copied; @args may be reused.
 */
zk_status zk_launch_kernel(zk_function func, const uint32_t grid[3],
                           const uint64_t *args, unsigned int nargs,
                           zk_stream stream);

/**
 * zk_launch_kernel_ex - queue a launch of the SIMT kernel @func (ISA v2,
 * docs/isa.md) in the shape of cuLaunchKernel: @grid blocks of @block
 * threads (each >= 1; block <= 1024 x 1024 x 64 and <= 1024 threads),
 * @shared_bytes of dynamic shared memory per block on top of the kernel's
 * static size (together <= 96 KiB), and @params_size bytes of parameters
 * (<= 4096; must equal the kernel's declared size if it declares one) that
 * the kernel reads from its param space.  The parameters are copied.
 * Pointers inside @params are not tracked: the buffers must stay allocated
 * until the launch completes.  Returns ZK_ERROR_INVALID_VALUE for a bad
 * shape or size, or a tile kernel (use zk_launch_kernel for those).
 */
zk_status zk_launch_kernel_ex(zk_function func, const uint32_t grid[3],
                              const uint32_t block[3], uint32_t shared_bytes,
                              const void *params, size_t params_size,
                              zk_stream stream);

/**
 * zk_launch_kernel_args - zk_launch_kernel_ex for a kernel translated from
 * PTX, with its arguments given as CUDA gives them (cuLaunchKernel's
 * kernelParams): @args[i] points to the value of parameter i; they are
 * packed by the kernel's .entry layout (zk_function_get_param).
 */
zk_status zk_launch_kernel_args(zk_function func, const uint32_t grid[3],
                                const uint32_t block[3], uint32_t shared_bytes,
                                void *const *args, zk_stream stream);

/** zk_arg_f32 - pack a float into an argument slot. */
static inline uint64_t zk_arg_f32(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    return u;
}

/* ------------------------------------------------------------------ */
/* Streams                                                             */
/* ------------------------------------------------------------------ */

/**
 * zk_stream_create - create a stream in the current context.  Streams are
 * assigned round-robin to the card's hardware queues; work on one stream
 * runs in order, work on different streams may overlap.
 * @flags: 0 or ZK_STREAM_NON_BLOCKING.  The flag only matters to
 * zk_stream_synchronize_others (CUDA's non-blocking streams, which the
 * legacy default stream does not wait for).
 */
zk_status zk_stream_create(zk_stream *stream, unsigned int flags);

#define ZK_STREAM_NON_BLOCKING 0x1u

/** zk_stream_get_flags - the flags @stream was created with (0 for the default). */
zk_status zk_stream_get_flags(zk_stream stream, unsigned int *flags);

/**
 * zk_stream_destroy - flush @stream, wait for its work and free it.  The
 * default stream (NULL) cannot be destroyed (ZK_ERROR_INVALID_HANDLE).
 * Returns a pending sticky error of the stream, if any, but the stream is
 * destroyed regardless.
 */
zk_status zk_stream_destroy(zk_stream stream);

/**
 * zk_stream_flush - submit the commands queued on @stream as one job.
 * Does not wait.  Returns the stream's sticky error if set.
 */
zk_status zk_stream_flush(zk_stream stream);

/**
 * zk_stream_synchronize - flush @stream and wait until all of its work has
 * finished.  If any job of the stream failed, returns the matching error
 * (ZK_ERROR_LAUNCH_FAILED for a fault, ZK_ERROR_ILLEGAL_COMMAND,
 * ZK_ERROR_ABORTED, ZK_ERROR_TIMEOUT; ZK_ERROR_DEVICE_LOST when the driver
 * refuses the job) and the error stays *sticky*: every
 * later call on the stream returns it until zk_stream_clear_error.
 * Environment ZK_WAIT_TIMEOUT_MS bounds the wait (default 600000).
 */
zk_status zk_stream_synchronize(zk_stream stream);

/**
 * zk_stream_synchronize_others - wait for all work submitted so far on every
 * stream of @stream's context except @stream itself (NULL = the current
 * context's default stream) and those created ZK_STREAM_NON_BLOCKING.  What CUDA's legacy default stream does before
 * a synchronous copy (libcuda, docs/cuda.md).  Returns the first sticky
 * error of those streams.
 */
zk_status zk_stream_synchronize_others(zk_stream stream);

/**
 * zk_stream_query - ZK_SUCCESS if all submitted work of @stream finished
 * (flushes first), ZK_ERROR_NOT_READY if not, or the sticky error.
 */
zk_status zk_stream_query(zk_stream stream);

/**
 * zk_stream_clear_error - return the sticky error of @stream (ZK_SUCCESS if
 * none) and clear it so the stream can be used again.
 */
zk_status zk_stream_clear_error(zk_stream stream);

/**
 * zk_stream_wait_event - make all future work of @stream wait until the
 * work captured by the last zk_event_record of @event has completed.  Done
 * on the card (DRM syncobj dependency, or a WAIT command on the event's
 * memory when the driver lacks syncobjs): the CPU does not block.  An event
 * never recorded is a no-op.  @flags must be 0.
 */
zk_status zk_stream_wait_event(zk_stream stream, zk_event event,
                               unsigned int flags);

/**
 * zk_stream_get_queue - hardware queue index @stream runs on (diagnostics).
 */
zk_status zk_stream_get_queue(zk_stream stream, unsigned int *queue);

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

#define ZK_EVENT_DISABLE_TIMING 0x1u

/** zk_event_create - create an event in the current context. */
zk_status zk_event_create(zk_event *event, unsigned int flags);

/**
 * zk_event_record - capture all work queued so far on @stream (NULL =
 * default stream): timestamps and a fence are appended and the stream is
 * flushed.  Re-recording replaces the previous capture.  @event and
 * @stream must belong to the same context.
 */
zk_status zk_event_record(zk_event event, zk_stream stream);

/**
 * zk_event_query - ZK_SUCCESS if the captured work completed (also for an
 * event never recorded), ZK_ERROR_NOT_READY if not, or the error of the
 * captured job.
 */
zk_status zk_event_query(zk_event event);

/** zk_event_synchronize - block until the captured work has completed. */
zk_status zk_event_synchronize(zk_event event);

/** zk_event_destroy - free the event (outstanding records are waited for). */
zk_status zk_event_destroy(zk_event event);

/**
 * zk_event_elapsed_time - device-clock milliseconds between the records of
 * @start and @end.  Both must have completed (ZK_ERROR_NOT_READY if not)
 * and be created without ZK_EVENT_DISABLE_TIMING.
 */
zk_status zk_event_elapsed_time(float *ms, zk_event start, zk_event end);

/**
 * zk_event_elapsed_card_time - as zk_event_elapsed_time, in the card's
 * *modelled* time (ZK_TS_F_CARD_TIME): what the work would take on real
 * hardware.  ZK_ERROR_NOT_SUPPORTED if the card lacks ZK_DEVICE_CAP_CARD_TIME.
 */
zk_status zk_event_elapsed_card_time(float *ms, zk_event start, zk_event end);

/**
 * zk_event_elapsed_card_energy - *modelled* card energy in joules used
 * between the records of @start and @end: the energy the real card would
 * draw for the DMA/LAUNCH work of *all* queues of the card that ran in
 * between (the model is one in-order engine, see docs/perf-model.md; idle
 * time between commands is not included).  Each record of an event on such
 * a card also writes a TIMESTAMP with ZK_TS_F_CARD_ENERGY (nJ resolution).
 * Same rules as zk_event_elapsed_time (completed, timing enabled);
 * ZK_ERROR_NOT_SUPPORTED if the card lacks ZK_DEVICE_CAP_PERF_MODEL.
 *
 * Together: zk_event_elapsed_time = host-measured (device clock, emulation
 * speed), zk_event_elapsed_card_time = modelled real-card time,
 * zk_event_elapsed_card_energy = modelled real-card energy; energy / card
 * time = modelled average power.
 */
zk_status zk_event_elapsed_card_energy(double *joules, zk_event start, zk_event end);

#ifdef __cplusplus
}
#endif

#endif /* ZHIKAI_ZHIKAI_H */
