/* SPDX-License-Identifier: MIT */
/*
 * module.c - kernel objects: load (zk_obj.c parses and verifies the ELF;
 * PTX, fat binaries and wrappers go through module_ptx.c), upload of the
 * image to HBM, kernel lookup, argument checking, launches.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zk_internal.h"

#include "module_ptx.h"
#include "zk_obj.h"

/* What module.c needs from a parsed object. */
typedef struct parsed_kernel {
    char *name;                 /* full name (any length) */
    struct zk_kernel_desc desc;
    struct zk_simt_desc simt;
    uint32_t entry;
    unsigned int nparams;
    struct zk_param_slot *params;
} parsed_kernel;

typedef struct parsed_obj {
    uint8_t *image;             /* text + rodata */
    uint32_t image_size;
    unsigned int nkernels;
    parsed_kernel *kernels;
    uint64_t required_caps;     /* ZK_CAP_* from .zk.target */
    unsigned int nglobals;
    struct zk_global_slot *globals;
} parsed_obj;

static void parsed_free(parsed_obj *p)
{
    for (unsigned int i = 0; p->kernels && i < p->nkernels; i++) {
        free(p->kernels[i].params);
        free(p->kernels[i].name);
    }
    for (unsigned int i = 0; p->globals && i < p->nglobals; i++) {
        free(p->globals[i].name);
    }
    free(p->image);
    free(p->kernels);
    free(p->globals);
    memset(p, 0, sizeof(*p));
}

/* A translated PTX module as a parsed object: SIMT kernels with their
 * parameter layout, and the module's variables. */
static zk_status parse_ptx(const void *data, size_t len, int allow_wrapper, parsed_obj *out)
{
    zk_ptx_image img;
    parsed_obj p;
    zk_status st = zk__ptx_load(data, len, allow_wrapper, &img);
    if (st != ZK_SUCCESS) {
        return st;
    }
    memset(&p, 0, sizeof(p));
    p.image = img.image;
    img.image = NULL;
    p.image_size = img.size;
    p.nkernels = img.nkernels;
    p.kernels = calloc(img.nkernels ? img.nkernels : 1, sizeof(*p.kernels));
    p.globals = calloc(img.nglobals ? img.nglobals : 1, sizeof(*p.globals));
    if (!p.kernels || !p.globals) {
        goto oom;
    }
    for (uint32_t i = 0; i < img.nkernels; i++) {
        const zk_ptx_kernel *k = &img.kernels[i];
        parsed_kernel *pk = &p.kernels[i];
        pk->name = strdup(k->name);
        if (!pk->name) {
            goto oom;
        }
        zk_obj_name_key(k->name, pk->desc.name);
        pk->desc.flags = ZK_KDESC_F_SIMT;
        memcpy(pk->simt.name, pk->desc.name, sizeof(pk->simt.name));
        pk->simt.shared_bytes = k->shared_bytes;
        pk->simt.local_bytes = k->local_bytes;
        pk->simt.param_bytes = k->param_bytes;
        pk->entry = k->entry;
        pk->nparams = k->nparams;
        pk->params = calloc(k->nparams ? k->nparams : 1, sizeof(*pk->params));
        if (!pk->params) {
            goto oom;
        }
        for (uint32_t j = 0; j < k->nparams; j++) {
            pk->params[j].offset = k->params[j].offset;
            pk->params[j].size = k->params[j].size;
        }
    }
    for (uint32_t i = 0; i < img.nglobals; i++) {
        p.globals[i].name = strdup(img.globals[i].name);
        p.globals[i].offset = img.globals[i].offset;
        p.globals[i].size = img.globals[i].size;
        p.nglobals = i + 1;
        if (!p.globals[i].name) {
            goto oom;
        }
    }
    p.required_caps = ZK_CAP_SIMT;      /* translated PTX runs on the SIMT unit */
    zk_ptx_image_free(&img);
    *out = p;
    return ZK_SUCCESS;
oom:
    zk_ptx_image_free(&img);
    parsed_free(&p);
    return zk__fail(ZK_ERROR_OUT_OF_MEMORY, "zk_module_load: out of host memory");
}

/* zk_obj.c (shared with the tools) parses the ELF and runs the ISA verifier. */
static zk_status parse_object(const void *data, size_t len, int allow_wrapper, parsed_obj *out)
{
    char err[256];
    ZkObj o;
    parsed_obj p;
    uint32_t i;
    if (zk__is_ptx_input(data, len, allow_wrapper) ||
        zk_image_detect(data, len) == ZK_IMAGE_FATBIN_WRAPPER) {
        return parse_ptx(data, len, allow_wrapper, out);
    }
    memset(&p, 0, sizeof(p));
    memset(&o, 0, sizeof(o));
    err[0] = 0;
    if (len == 0 || zk_obj_load(data, len, &o, err, sizeof(err)) != 0) {
        return zk__fail(ZK_ERROR_INVALID_IMAGE, "invalid kernel object: %s",
                        err[0] ? err : "empty");
    }
    p.image_size = o.image_size;
    p.nkernels = o.num_kernels;
    p.required_caps = o.required_caps;
    p.image = malloc(o.image_size ? o.image_size : 1);
    p.kernels = calloc(o.num_kernels ? o.num_kernels : 1, sizeof(*p.kernels));
    if (!p.image || !p.kernels) {
        zk_obj_free(&o);
        parsed_free(&p);
        return zk__fail(ZK_ERROR_OUT_OF_MEMORY, "out of host memory");
    }
    memcpy(p.image, o.image, o.image_size);
    for (i = 0; i < o.num_kernels; i++) {
        p.kernels[i].desc = o.kernels[i].desc;
        p.kernels[i].name = o.kernels[i].name;      /* full name, from the symbol */
        o.kernels[i].name = NULL;
        p.kernels[i].entry = o.kernels[i].entry;
        p.kernels[i].simt = o.kernels[i].simt;
    }
    zk_obj_free(&o);
    if (!p.image_size) {
        parsed_free(&p);
        return zk__fail(ZK_ERROR_INVALID_IMAGE, "invalid kernel object: empty image");
    }
    *out = p;
    return ZK_SUCCESS;
}

/* ---- argument checking (pure) ------------------------------------------------------ */

zk_status zk__check_args(const struct zk_kernel_desc *d, const uint64_t *args,
                         unsigned int nargs, const zk_rangemap *map, zk_alloc **ptr_objs)
{
    unsigned int i;
    if (nargs != d->num_args) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "kernel %s takes %u argument(s), %u given",
                        d->name, d->num_args, nargs);
    }
    if (nargs && !args) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "kernel %s: args is NULL", d->name);
    }
    for (i = 0; i < nargs; i++) {
        const struct zk_arg_desc *a = &d->args[i];
        const zk_range *r = zk__rmap_find(map, args[i], 1);
        ptr_objs[i] = NULL;
        switch (a->kind) {
        case ZK_ARG_PTR:
            if (!r) {
                return zk__fail(ZK_ERROR_INVALID_ARGUMENT_TYPE,
                                "kernel %s argument %u (%.*s) is a pointer, but 0x%llx is not "
                                "inside a live allocation of this context", d->name, i,
                                ZK_ARG_NAME_LEN, a->name, (unsigned long long)args[i]);
            }
            ptr_objs[i] = r->obj;
            break;
        case ZK_ARG_F32:
            if (args[i] >> 32) {
                return zk__fail(ZK_ERROR_INVALID_ARGUMENT_TYPE,
                                "kernel %s argument %u (%.*s) is an f32 scalar, but the slot "
                                "0x%llx has high bits set (a pointer or double? use "
                                "zk_arg_f32)", d->name, i, ZK_ARG_NAME_LEN, a->name,
                                (unsigned long long)args[i]);
            }
            break;
        case ZK_ARG_U64:
            /* Legal, but an address keeps its buffer alive for the job. */
            ptr_objs[i] = r ? r->obj : NULL;
            break;
        default:
            return zk__fail(ZK_ERROR_INVALID_IMAGE, "kernel %s argument %u has unknown kind %u",
                            d->name, i, a->kind);
        }
    }
    return ZK_SUCCESS;
}

/* ---- modules ------------------------------------------------------------------------- */

void zk__module_free(struct zk_module_st *m)
{
    unsigned int i;
    for (i = 0; i < m->nfuncs; i++) {
        zk__handle_del(&m->funcs[i]);
    }
    zk__handle_del(m);
    if (m->image_mapped) {
        pthread_mutex_lock(&m->ctx->lock);
        zk__rmap_remove(&m->ctx->va_map, m->image->va);
        pthread_mutex_unlock(&m->ctx->lock);
    }
    zk__bo_delete(m->ctx, m->image);
    for (i = 0; i < m->nfuncs; i++) {
        free(m->funcs[i].params);
        free(m->funcs[i].name);
    }
    for (i = 0; i < m->nglobals; i++) {
        free(m->globals[i].name);
    }
    free(m->globals);
    free(m->funcs);
    free(m);
}

static zk_status load_data(zk_module *out, const void *data, size_t len, int allow_wrapper);

ZK_EXPORT zk_status zk_module_load_data(zk_module *out, const void *data, size_t len)
{
    return load_data(out, data, len, 1);
}

static zk_status load_data(zk_module *out, const void *data, size_t len, int allow_wrapper)
{
    zk_context ctx = NULL;
    struct zk_module_st *m;
    parsed_obj p;
    zk_status st;
    unsigned int i;
    zk_stream s = NULL;

    if (!out || !data) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_module_load_data: %s is NULL",
                        !out ? "mod" : "image");
    }
    if ((st = zk__current_ctx(&ctx)) != ZK_SUCCESS) {
        return st;
    }
    st = parse_object(data, len, allow_wrapper, &p);
    if (st != ZK_SUCCESS) {
        return st;
    }
    if (p.required_caps & ~(uint64_t)ctx->caps) {
        char need[128];
        zk_obj_caps_str(p.required_caps & ~(uint64_t)ctx->caps, need, sizeof(need));
        parsed_free(&p);
        return zk__fail(ZK_ERROR_NOT_SUPPORTED, "kernel object needs card capabilities "
                        "%s that this card (caps 0x%x) lacks", need, ctx->caps);
    }
    m = calloc(1, sizeof(*m));
    if (m) {
        m->funcs = calloc(p.nkernels ? p.nkernels : 1, sizeof(*m->funcs));
    }
    if (!m || !m->funcs) {
        if (m) {
            free(m);
        }
        parsed_free(&p);
        return zk__fail(ZK_ERROR_OUT_OF_MEMORY, "zk_module_load: out of host memory");
    }
    m->ctx = ctx;
    m->image_size = p.image_size;
    m->nfuncs = p.nkernels;
    for (i = 0; i < p.nkernels; i++) {
        m->funcs[i].mod = m;
        m->funcs[i].desc = p.kernels[i].desc;
        m->funcs[i].name = p.kernels[i].name;
        p.kernels[i].name = NULL;
        m->funcs[i].entry = p.kernels[i].entry;
        m->funcs[i].simt = p.kernels[i].simt;
        m->funcs[i].nparams = p.kernels[i].nparams;
        m->funcs[i].params = p.kernels[i].params;
        p.kernels[i].params = NULL;
    }
    m->nglobals = p.nglobals;
    m->globals = p.globals;
    p.globals = NULL;
    st = zk__bo_new(ctx, p.image_size, ZKIO_BO_HBM, ZK_ALLOC_INTERNAL, 0, &m->image);
    if (st != ZK_SUCCESS) {
        goto fail;
    }
    /* Upload through the default stream, after everything issued before. */
    zk__ctx_flush_all(ctx, 1);
    s = ctx->default_stream;
    pthread_mutex_lock(&s->lock);
    st = zk__h2d_locked(s, m->image->va, m->image->handle, p.image, p.image_size);
    if (st == ZK_SUCCESS) {
        st = zk__stream_flush_locked(s, 0, 0, 0, NULL);
    }
    if (st == ZK_SUCCESS) {
        st = zk__stream_reap_locked(s, 0, 1);
    }
    pthread_mutex_unlock(&s->lock);
    if (st != ZK_SUCCESS) {
        goto fail;
    }
    for (i = 0; i < m->nfuncs; i++) {
        if (zk__handle_add(&m->funcs[i], ZK_KIND_FUNCTION) != 0) {
            st = zk__fail(ZK_ERROR_OUT_OF_MEMORY, "zk_module_load: out of host memory");
            goto fail;
        }
    }
    if (zk__handle_add(m, ZK_KIND_MODULE) != 0) {
        st = zk__fail(ZK_ERROR_OUT_OF_MEMORY, "zk_module_load: out of host memory");
        goto fail;
    }
    parsed_free(&p);
    pthread_mutex_lock(&ctx->lock);
    /* A module's variables (zk_module_get_global) are copy targets like any
     * allocation; zk_mem_free still refuses them (not ZK_ALLOC_DEVICE). */
    if (m->nglobals && zk__rmap_insert(&ctx->va_map, m->image->va, m->image->size, m->image) == 0) {
        m->image_mapped = 1;
    }
    m->next = ctx->modules;
    ctx->modules = m;
    pthread_mutex_unlock(&ctx->lock);
    *out = m;
    return ZK_SUCCESS;
fail:
    parsed_free(&p);
    zk__module_free(m);
    return st;
}

ZK_EXPORT zk_status zk_module_load(zk_module *out, const char *path)
{
    struct stat sb;
    uint8_t *buf;
    ssize_t got;
    size_t off = 0;
    zk_status st;
    int fd;
    char found[PATH_MAX];
    if (!out || !path) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_module_load: %s is NULL",
                        !out ? "mod" : "path");
    }
    /* A bare name ("gemm.zko") is looked up on the kernel search path. */
    if (*path && !strchr(path, '/')) {
        if ((st = zk_kernel_find(path, found, sizeof(found))) != ZK_SUCCESS) {
            return st;
        }
        path = found;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return zk__fail(ZK_ERROR_OS, "zk_module_load: open(%s): %s (errno %d)", path,
                        strerror(e), e);
    }
    if (fstat(fd, &sb) != 0 || sb.st_size <= 0 || sb.st_size > (64 << 20)) {
        close(fd);
        return zk__fail(ZK_ERROR_INVALID_IMAGE, "zk_module_load: %s: empty or too large", path);
    }
    buf = malloc((size_t)sb.st_size);
    if (!buf) {
        close(fd);
        return zk__fail(ZK_ERROR_OUT_OF_MEMORY, "zk_module_load: out of host memory");
    }
    while (off < (size_t)sb.st_size) {
        got = read(fd, buf + off, (size_t)sb.st_size - off);
        if (got <= 0) {
            int e = got < 0 ? errno : EIO;
            close(fd);
            free(buf);
            return zk__fail(ZK_ERROR_OS, "zk_module_load: read(%s): %s", path, strerror(e));
        }
        off += (size_t)got;
    }
    close(fd);
    st = load_data(out, buf, off, 0);    /* a file cannot hold a wrapper's pointers */
    free(buf);
    return st;
}

ZK_EXPORT zk_status zk_module_unload(zk_module m)
{
    zk_context ctx = NULL;
    struct zk_module_st **pp;
    if (!zk__handle_ok(m, ZK_KIND_MODULE)) {
        return zk__fail(ZK_ERROR_INVALID_HANDLE, "zk_module_unload: bad module handle %p",
                        (void *)m);
    }
    ctx = m->ctx;
    zk__ctx_flush_all(ctx, 0);
    pthread_mutex_lock(&ctx->lock);
    for (pp = &ctx->modules; *pp; pp = &(*pp)->next) {
        if (*pp == m) {
            *pp = m->next;
            break;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    zk__module_free(m);
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_module_get_function(zk_function *f, zk_module m, const char *name)
{
    unsigned int i;
    if (!f || !name) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_module_get_function: %s is NULL",
                        !f ? "func" : "name");
    }
    if (!zk__handle_ok(m, ZK_KIND_MODULE)) {
        return zk__fail(ZK_ERROR_INVALID_HANDLE, "zk_module_get_function: bad module handle %p",
                        (void *)m);
    }
    for (i = 0; i < m->nfuncs; i++) {
        if (strcmp(m->funcs[i].name, name) == 0) {
            *f = &m->funcs[i];
            return ZK_SUCCESS;
        }
    }
    return zk__fail(ZK_ERROR_NOT_FOUND, "zk_module_get_function: no kernel \"%s\" in module",
                    name);
}

static zk_status check_func(zk_function f, const char *fn)
{
    if (!zk__handle_ok(f, ZK_KIND_FUNCTION)) {
        return zk__fail(ZK_ERROR_INVALID_HANDLE, "%s: bad function handle %p (module unloaded?)",
                        fn, (void *)f);
    }
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_function_get_num_args(zk_function f, unsigned int *nargs)
{
    zk_status st = check_func(f, "zk_function_get_num_args");
    if (st == ZK_SUCCESS && !nargs) {
        st = zk__fail(ZK_ERROR_INVALID_VALUE, "zk_function_get_num_args: nargs is NULL");
    }
    if (st == ZK_SUCCESS) {
        *nargs = f->desc.num_args;
    }
    return st;
}

ZK_EXPORT zk_status zk_function_get_arg_info(zk_function f, unsigned int index,
                                             zk_function_arg_info *info)
{
    zk_status st = check_func(f, "zk_function_get_arg_info");
    if (st != ZK_SUCCESS) {
        return st;
    }
    if (!info || index >= f->desc.num_args) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_function_get_arg_info: %s", !info ?
                        "info is NULL" : "index out of range");
    }
    memset(info, 0, sizeof(*info));
    info->kind = f->desc.args[index].kind;
    info->dtype = f->desc.args[index].dtype;
    info->access = f->desc.args[index].access;
    memcpy(info->name, f->desc.args[index].name, sizeof(info->name) - 1);
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_function_get_name(zk_function f, const char **name)
{
    zk_status st = check_func(f, "zk_function_get_name");
    if (st == ZK_SUCCESS && !name) {
        st = zk__fail(ZK_ERROR_INVALID_VALUE, "zk_function_get_name: name is NULL");
    }
    if (st == ZK_SUCCESS) {
        *name = f->name;
    }
    return st;
}

ZK_EXPORT zk_status zk_function_get_attributes(zk_function f, zk_function_attributes *attr)
{
    zk_status st = check_func(f, "zk_function_get_attributes");
    if (st == ZK_SUCCESS && !attr) {
        st = zk__fail(ZK_ERROR_INVALID_VALUE, "zk_function_get_attributes: attr is NULL");
    }
    if (st != ZK_SUCCESS) {
        return st;
    }
    memset(attr, 0, sizeof(*attr));
    attr->simt = !!(f->desc.flags & ZK_KDESC_F_SIMT);
    if (attr->simt) {
        attr->shared_bytes = f->simt.shared_bytes;
        attr->local_bytes = f->simt.local_bytes;
        attr->param_bytes = f->simt.param_bytes;
        attr->max_threads_per_block = ZK_SIMT_MAX_THREADS;
        attr->max_dynamic_shared_bytes = ZK_SIMT_MAX_SHARED - f->simt.shared_bytes;
        attr->num_regs = ZK_SIMT_NUM_REGS;
    }
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_function_get_num_params(zk_function f, unsigned int *count)
{
    zk_status st = check_func(f, "zk_function_get_num_params");
    if (st == ZK_SUCCESS && !count) {
        st = zk__fail(ZK_ERROR_INVALID_VALUE, "zk_function_get_num_params: count is NULL");
    }
    if (st == ZK_SUCCESS) {
        *count = f->nparams;
    }
    return st;
}

ZK_EXPORT zk_status zk_function_get_param(zk_function f, unsigned int index, size_t *offset,
                                          size_t *size)
{
    zk_status st = check_func(f, "zk_function_get_param");
    if (st != ZK_SUCCESS) {
        return st;
    }
    if (!offset || !size || index >= f->nparams) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_function_get_param: %s",
                        (!offset || !size) ? "offset/size is NULL" : "index out of range");
    }
    *offset = f->params[index].offset;
    *size = f->params[index].size;
    return ZK_SUCCESS;
}

ZK_EXPORT zk_status zk_module_get_global(zk_module m, const char *name, uint64_t *va,
                                         size_t *size)
{
    if (!name || !va) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_module_get_global: %s is NULL",
                        !name ? "name" : "va");
    }
    if (!zk__handle_ok(m, ZK_KIND_MODULE)) {
        return zk__fail(ZK_ERROR_INVALID_HANDLE, "zk_module_get_global: bad module handle %p",
                        (void *)m);
    }
    for (unsigned int i = 0; i < m->nglobals; i++) {
        if (strcmp(m->globals[i].name, name) == 0) {
            *va = m->image->va + m->globals[i].offset;
            if (size) {
                *size = m->globals[i].size;
            }
            return ZK_SUCCESS;
        }
    }
    return zk__fail(ZK_ERROR_NOT_FOUND, "zk_module_get_global: no variable \"%s\" in module",
                    name);
}

ZK_EXPORT zk_status zk_launch_kernel(zk_function f, const uint32_t grid[3],
                                     const uint64_t *args, unsigned int nargs, zk_stream in)
{
    zk_alloc *objs[ZK_MAX_ARGS];
    uint32_t handles[ZK_MAX_ARGS];
    zk_context ctx = NULL;
    zk_stream s = NULL;
    struct zk_cmd_launch *c;
    void *data;
    uint64_t data_va;
    unsigned int i, nh = 0;
    zk_status st = check_func(f, "zk_launch_kernel");
    if (st != ZK_SUCCESS) {
        return st;
    }
    ctx = f->mod->ctx;
    if (f->desc.flags & ZK_KDESC_F_SIMT) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_launch_kernel: %s is a SIMT "
                        "kernel: launch it with zk_launch_kernel_ex", f->desc.name);
    }
    if (!grid || !grid[0] || !grid[1] || !grid[2]) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_launch_kernel: grid %s",
                        grid ? "has a zero dimension" : "is NULL");
    }
    if (nargs > ZK_MAX_ARGS) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_launch_kernel: %u arguments (max %d)",
                        nargs, ZK_MAX_ARGS);
    }
    if ((st = zk__stream_resolve(in, ctx, &s)) != ZK_SUCCESS) {
        return st;
    }
    pthread_mutex_lock(&ctx->lock);
    st = zk__check_args(&f->desc, args, nargs, &ctx->va_map, objs);
    for (i = 0; st == ZK_SUCCESS && i < nargs; i++) {
        if (objs[i]) {
            handles[nh++] = objs[i]->handle;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    if (st != ZK_SUCCESS) {
        return st;
    }
    pthread_mutex_lock(&s->lock);
    if (s->error != ZK_SUCCESS) {
        st = zk__fail(s->error, "zk_launch_kernel: stream has a sticky error %s "
                      "(zk_stream_clear_error)", zk_error_name(s->error));
        goto out;
    }
    st = zk__stream_reserve(s, 1, nargs ? nargs * 8 : 8, (void **)&c,
                            &data, &data_va);
    if (st != ZK_SUCCESS) {
        goto out;
    }
    if (nargs) {
        memcpy(data, args, nargs * 8);
    }
    c->hdr.opcode = ZK_CMD_LAUNCH;
    c->code_va = f->mod->image->va;
    c->code_size = f->mod->image_size;
    c->entry = f->entry;
    c->grid[0] = grid[0];
    c->grid[1] = grid[1];
    c->grid[2] = grid[2];
    c->args_va = data_va;
    c->args_size = nargs * 8;
    st = zk__stream_add_bo(s, f->mod->image->handle);
    for (i = 0; st == ZK_SUCCESS && i < nh; i++) {
        st = zk__stream_add_bo(s, handles[i]);
    }
out:
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* Reason a SIMT launch shape is invalid, or NULL. */
static const char *simt_shape_error(const struct zk_function_st *f, const uint32_t grid[3],
                                    const uint32_t block[3], uint32_t shared_bytes,
                                    size_t params_size)
{
    uint64_t threads;

    if (!grid || !block) {
        return "grid or block is NULL";
    }
    if (!grid[0] || !grid[1] || !grid[2]) {
        return "grid has a zero dimension";
    }
    if (!block[0] || !block[1] || !block[2] || block[0] > ZK_SIMT_MAX_BLOCK_X ||
        block[1] > ZK_SIMT_MAX_BLOCK_Y || block[2] > ZK_SIMT_MAX_BLOCK_Z) {
        return "block dimension is 0 or over the limit (1024, 1024, 64)";
    }
    threads = (uint64_t)block[0] * block[1] * block[2];
    if (threads > ZK_SIMT_MAX_THREADS) {
        return "block has more than 1024 threads";
    }
    if (shared_bytes > ZK_SIMT_MAX_SHARED - f->simt.shared_bytes) {
        return "static + dynamic shared memory over the 96 KiB limit";
    }
    if (params_size > ZK_SIMT_MAX_PARAMS) {
        return "parameter buffer over 4096 bytes";
    }
    if (f->simt.param_bytes && params_size != f->simt.param_bytes) {
        return "parameter buffer size differs from the kernel's";
    }
    return NULL;
}

ZK_EXPORT zk_status zk_launch_kernel_args(zk_function f, const uint32_t grid[3],
                                          const uint32_t block[3], uint32_t shared_bytes,
                                          void *const *args, zk_stream in)
{
    uint8_t buf[ZK_SIMT_MAX_PARAMS];
    size_t end = 0;
    zk_status st = check_func(f, "zk_launch_kernel_args");
    if (st != ZK_SUCCESS) {
        return st;
    }
    if (!f->nparams && !(f->desc.flags & ZK_KDESC_F_SIMT)) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_launch_kernel_args: %s is a tile kernel",
                        f->desc.name);
    }
    if (!f->nparams && f->simt.param_bytes) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_launch_kernel_args: %s has no parameter "
                        "layout (not from PTX): pass a packed buffer (zk_launch_kernel_ex, "
                        "CU_LAUNCH_PARAM_BUFFER_POINTER)", f->desc.name);
    }
    if (f->nparams && !args) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_launch_kernel_args: %s takes %u parameters, "
                        "args is NULL", f->desc.name, f->nparams);
    }
    /* The layout came from the PTX front end; bound it anyway. */
    for (unsigned int i = 0; i < f->nparams; i++) {
        const struct zk_param_slot *p = &f->params[i];
        if (p->offset > sizeof(buf) || p->size > sizeof(buf) - p->offset) {
            return zk__fail(ZK_ERROR_INVALID_IMAGE, "zk_launch_kernel_args: parameter %u of %s "
                            "outside the parameter space", i, f->desc.name);
        }
        if (!args[i]) {
            return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_launch_kernel_args: args[%u] is NULL", i);
        }
        end = p->offset + p->size > end ? p->offset + p->size : end;
    }
    if (f->simt.param_bytes > end && f->simt.param_bytes <= sizeof(buf)) {
        end = f->simt.param_bytes;      /* trailing padding of the .entry */
    }
    memset(buf, 0, end);                /* padding between parameters */
    for (unsigned int i = 0; i < f->nparams; i++) {
        memcpy(buf + f->params[i].offset, args[i], f->params[i].size);
    }
    return zk_launch_kernel_ex(f, grid, block, shared_bytes, buf, end, in);
}

ZK_EXPORT zk_status zk_launch_kernel_ex(zk_function f, const uint32_t grid[3],
                                        const uint32_t block[3], uint32_t shared_bytes,
                                        const void *params, size_t params_size,
                                        zk_stream in)
{
    zk_stream s = NULL;
    struct zk_cmd_launch *c;
    void *data;
    uint64_t data_va;
    const char *why;
    zk_status st = check_func(f, "zk_launch_kernel_ex");

    if (st != ZK_SUCCESS) {
        return st;
    }
    if (!(f->desc.flags & ZK_KDESC_F_SIMT)) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_launch_kernel_ex: %s is a tile "
                        "kernel: launch it with zk_launch_kernel", f->desc.name);
    }
    why = simt_shape_error(f, grid, block, shared_bytes, params_size);
    if (!why && params_size && !params) {
        why = "params is NULL";
    }
    if (why) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_launch_kernel_ex: %s", why);
    }
    if ((st = zk__stream_resolve(in, f->mod->ctx, &s)) != ZK_SUCCESS) {
        return st;
    }
    pthread_mutex_lock(&s->lock);
    if (s->error != ZK_SUCCESS) {
        st = zk__fail(s->error, "zk_launch_kernel_ex: stream has a sticky error %s "
                      "(zk_stream_clear_error)", zk_error_name(s->error));
        goto out;
    }
    st = zk__stream_reserve(s, 1, params_size ? (params_size + 7) & ~7ul : 8,
                            (void **)&c, &data, &data_va);
    if (st != ZK_SUCCESS) {
        goto out;
    }
    if (params_size) {
        memcpy(data, params, params_size);
    }
    c->hdr.opcode = ZK_CMD_LAUNCH;
    c->hdr.flags = ZK_LAUNCH_F_SIMT;
    c->code_va = f->mod->image->va;
    c->code_size = f->mod->image_size;
    c->entry = f->entry;
    for (int i = 0; i < 3; i++) {
        c->grid[i] = grid[i];
        c->block[i] = (uint16_t)block[i];
    }
    c->shared_bytes = f->simt.shared_bytes + shared_bytes;
    c->local_bytes = f->simt.local_bytes;
    c->args_va = data_va;
    c->args_size = (uint32_t)params_size;
    /* Pointers inside params are opaque here: like CUDA, the buffers they
     * name must stay allocated until the launch has completed. */
    st = zk__stream_add_bo(s, f->mod->image->handle);
out:
    pthread_mutex_unlock(&s->lock);
    return st;
}
