/* SPDX-License-Identifier: MIT */
/*
 * cudart_register.c - what a CUDA program's constructor registers (the
 * __cudaRegister* calls clang and nvcc emit) and the lazy loading of each
 * fat binary into the context it is used in.  A fat binary's PTX goes to
 * libzhikai's PTX front end through cuModuleLoadData on the in-process
 * wrapper; kernel argument sizes come from the PTX .entry (libcuda packs
 * the arguments).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cudart_internal.h"

#define MAX_CTX_PER_BIN 8

typedef struct rt_func {
    const void *host;               /* host stub address: the program's handle */
    char *name;
    struct rt_bin *bin;
    unsigned long long ctx_id;      /* last lookup: fn in context ctx_id */
    CUfunction fn;
    struct rt_func *next;
} rt_func;

typedef struct rt_var {
    const void *host;               /* host shadow variable */
    char *name;
    size_t size;
    struct rt_bin *bin;
    struct rt_var *next;
} rt_var;

typedef struct rt_bin {
    const void *wrapper;
    struct {
        unsigned long long ctx_id;  /* cuCtxGetId: never reused, unlike addresses */
        CUmodule mod;
    } loaded[MAX_CTX_PER_BIN];
    struct rt_bin *next;
} rt_bin;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static rt_bin *bins;
static rt_func *funcs;
static rt_var *vars;

RT_EXPORT void **__cudaRegisterFatBinary(void *fatCubin)
{
    rt_bin *b = calloc(1, sizeof(*b));
    if (!b) {
        return NULL;
    }
    b->wrapper = fatCubin;
    pthread_mutex_lock(&reg_lock);
    b->next = bins;
    bins = b;
    pthread_mutex_unlock(&reg_lock);
    return (void **)b;
}

RT_EXPORT void __cudaRegisterFatBinaryEnd(void **fatCubinHandle)
{
    (void)fatCubinHandle;
}

RT_EXPORT char __cudaInitModule(void **fatCubinHandle)
{
    (void)fatCubinHandle;
    return 1;
}

/*
 * At exit: forget the registrations.  Modules stay with their contexts,
 * which libzhikai tears down with the process (no device calls from a
 * destructor, whose order against libzhikai's is unknown).
 */
RT_EXPORT void __cudaUnregisterFatBinary(void **fatCubinHandle)
{
    rt_bin *b = (rt_bin *)fatCubinHandle, **pb;
    rt_func **pf, *f;
    rt_var **pv, *v;
    pthread_mutex_lock(&reg_lock);
    for (pb = &bins; *pb && *pb != b; pb = &(*pb)->next) {
    }
    if (*pb) {
        *pb = b->next;
        for (pf = &funcs; (f = *pf) != NULL;) {
            if (f->bin == b) {
                *pf = f->next;
                free(f->name);
                free(f);
            } else {
                pf = &f->next;
            }
        }
        for (pv = &vars; (v = *pv) != NULL;) {
            if (v->bin == b) {
                *pv = v->next;
                free(v->name);
                free(v);
            } else {
                pv = &v->next;
            }
        }
        free(b);
    }
    pthread_mutex_unlock(&reg_lock);
}

RT_EXPORT void __cudaRegisterFunction(void **fatCubinHandle, const char *hostFun, char *deviceFun,
                                      const char *deviceName, int thread_limit, uint3 *tid,
                                      uint3 *bid, dim3 *bDim, dim3 *gDim, int *wSize)
{
    rt_func *f = calloc(1, sizeof(*f));
    (void)deviceFun;
    (void)thread_limit;
    (void)tid;
    (void)bid;
    (void)bDim;
    (void)gDim;
    (void)wSize;
    if (!f || !deviceName || !(f->name = strdup(deviceName))) {
        free(f);
        return;
    }
    f->host = hostFun;
    f->bin = (rt_bin *)fatCubinHandle;
    pthread_mutex_lock(&reg_lock);
    f->next = funcs;
    funcs = f;
    pthread_mutex_unlock(&reg_lock);
}

RT_EXPORT void __cudaRegisterVar(void **fatCubinHandle, char *hostVar, char *deviceAddress,
                                 const char *deviceName, int ext, size_t size, int constant,
                                 int global)
{
    rt_var *v = calloc(1, sizeof(*v));
    (void)deviceAddress;
    (void)ext;
    (void)constant;
    (void)global;
    if (!v || !deviceName || !(v->name = strdup(deviceName))) {
        free(v);
        return;
    }
    v->host = hostVar;
    v->size = size;
    v->bin = (rt_bin *)fatCubinHandle;
    pthread_mutex_lock(&reg_lock);
    v->next = vars;
    vars = v;
    pthread_mutex_unlock(&reg_lock);
}

/* The current context's id (0 if none). */
static unsigned long long current_id(void)
{
    unsigned long long id = 0;
    CUcontext ctx = NULL;
    if (cuCtxGetCurrent(&ctx) != CUDA_SUCCESS || !ctx || cuCtxGetId(ctx, &id) != CUDA_SUCCESS) {
        return 0;
    }
    return id;
}

/* The module of @b in context @id, loading it on first use (lock held). */
static cudaError_t module_of(rt_bin *b, unsigned long long id, CUmodule *out)
{
    CUresult r;
    int i, freeslot = -1;
    if (!id) {
        return cudaErrorDeviceUninitialized;
    }
    for (i = 0; i < MAX_CTX_PER_BIN; i++) {
        if (b->loaded[i].ctx_id == id) {
            *out = b->loaded[i].mod;
            return cudaSuccess;
        }
        if (!b->loaded[i].ctx_id && freeslot < 0) {
            freeslot = i;
        }
    }
    if (freeslot < 0) {
        /* Reuse the oldest slot: contexts that came and went. */
        freeslot = 0;
    }
    r = cuModuleLoadData(out, b->wrapper);
    if (r != CUDA_SUCCESS) {
        /* No PTX we can run in this binary: what CUDA says for a missing arch. */
        return r == CUDA_ERROR_INVALID_IMAGE || r == CUDA_ERROR_NOT_SUPPORTED
                   ? cudaErrorNoKernelImageForDevice : zkrt_err(r);
    }
    b->loaded[freeslot].ctx_id = id;
    b->loaded[freeslot].mod = *out;
    return cudaSuccess;
}

void zkrt_forget_ctx(CUcontext ctx)
{
    unsigned long long id = 0;
    if (cuCtxGetId(ctx, &id) != CUDA_SUCCESS) {
        return;
    }
    pthread_mutex_lock(&reg_lock);
    for (rt_func *f = funcs; f; f = f->next) {
        if (f->ctx_id == id) {
            f->ctx_id = 0;
            f->fn = NULL;
        }
    }
    for (rt_bin *b = bins; b; b = b->next) {
        for (int i = 0; i < MAX_CTX_PER_BIN; i++) {
            if (b->loaded[i].ctx_id == id) {
                b->loaded[i].ctx_id = 0;
                b->loaded[i].mod = NULL;
            }
        }
    }
    pthread_mutex_unlock(&reg_lock);
}

cudaError_t zkrt_function(const void *hostFun, CUfunction *out)
{
    cudaError_t e;
    CUmodule m;
    unsigned long long id = current_id();
    if (!id) {
        if ((e = zkrt_ctx()) != cudaSuccess) {
            return e;
        }
        id = current_id();
    }
    e = cudaErrorInvalidDeviceFunction;
    pthread_mutex_lock(&reg_lock);
    for (rt_func *f = funcs; f; f = f->next) {
        if (f->host == hostFun) {
            if (id && f->ctx_id == id) {
                *out = f->fn;
                e = cudaSuccess;
                break;
            }
            e = module_of(f->bin, id, &m);
            if (e == cudaSuccess) {
                CUresult r = cuModuleGetFunction(out, m, f->name);
                e = r == CUDA_SUCCESS ? cudaSuccess : cudaErrorInvalidDeviceFunction;
            }
            if (e == cudaSuccess) {
                f->ctx_id = id;
                f->fn = *out;
            }
            break;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return e;
}

cudaError_t zkrt_symbol(const void *hostVar, CUdeviceptr *dptr, size_t *size)
{
    cudaError_t e;
    CUmodule m;
    if ((e = zkrt_ctx()) != cudaSuccess) {
        return e;
    }
    e = cudaErrorInvalidSymbol;
    pthread_mutex_lock(&reg_lock);
    for (rt_var *v = vars; v; v = v->next) {
        if (v->host == hostVar) {
            e = module_of(v->bin, current_id(), &m);
            if (e == cudaSuccess) {
                CUresult r = cuModuleGetGlobal(dptr, size, m, v->name);
                e = r == CUDA_SUCCESS ? cudaSuccess : cudaErrorInvalidSymbol;
            }
            break;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return e;
}
