/* SPDX-License-Identifier: MIT */
/*
 * kernel_path.c - where kernel objects (.zko) are found by name.
 *
 * A name without a '/' passed to zk_module_load() is looked up in, in order:
 *   1. each directory of $ZK_KERNEL_PATH (colon-separated),
 *   2. the install directory next to this library: <libdir>/../share/zhikai/kernels
 *      (make install puts the kernel library there), and the one of the
 *      PREFIX the library was built for,
 *   3. the build tree: <libdir>/../kernels (build/lib -> build/kernels).
 * The library's own location (dladdr) makes 2 and 3 work wherever the files
 * were installed or unpacked, without a fixed path.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zk_internal.h"

#ifndef ZK_KERNEL_INSTALL_DIR
#define ZK_KERNEL_INSTALL_DIR "/usr/local/share/zhikai/kernels"
#endif

/* Try dir/name; 1 and the path in out if readable. */
static int try_dir(const char *dir, size_t dlen, const char *name, char *out, size_t size)
{
    int n;
    char path[PATH_MAX + NAME_MAX + 2], canon[PATH_MAX];
    if (dlen == 0) {
        return 0;
    }
    n = snprintf(path, sizeof(path), "%.*s/%s", (int)dlen, dir, name);
    if (n <= 0 || (size_t)n >= sizeof(path) || access(path, R_OK) != 0) {
        return 0;
    }
    /* Report it without "..": users print and compare these paths. */
    n = snprintf(out, size, "%s", realpath(path, canon) ? canon : path);
    return n > 0 && (size_t)n < size;
}

/* Directory of the loaded libzhikai (or the executable it is linked into). */
static int lib_dir(char *out, size_t size)
{
    Dl_info info;
    char *slash;
    if (!dladdr((void *)lib_dir, &info) || !info.dli_fname || !strchr(info.dli_fname, '/')) {
        ssize_t n = readlink("/proc/self/exe", out, size - 1);
        if (n <= 0) {
            return 0;
        }
        out[n] = 0;
    } else if (!realpath(info.dli_fname, out)) {
        return 0;
    }
    slash = strrchr(out, '/');
    if (!slash) {
        return 0;
    }
    *slash = 0;
    return 1;
}

static zk_status search(const char *name, char *out, size_t size, char *searched,
                       size_t searched_size)
{
    const char *env = getenv("ZK_KERNEL_PATH");
    char dir[PATH_MAX], cand[PATH_MAX + 32];
    size_t used = 0;
    const char *rel[] = { "/../share/zhikai/kernels", "/../kernels" };
    unsigned int i;

#define NOTE(d, l) do { int w_ = snprintf(searched + used, searched_size - used, "%s%.*s", \
                                          used ? ":" : "", (int)(l), (d)); \
        if (w_ > 0 && used + (size_t)w_ < searched_size) used += (size_t)w_; } while (0)
    if (searched_size) {
        searched[0] = 0;
    }
    if (!name || !*name || strchr(name, '/')) {
        return ZK_ERROR_INVALID_VALUE;
    }
    while (env && *env) {
        size_t l = strcspn(env, ":");
        if (try_dir(env, l, name, out, size)) {
            return ZK_SUCCESS;
        }
        if (l) {
            NOTE(env, l);
        }
        env += l + (env[l] == ':');
    }
    if (lib_dir(dir, sizeof(dir))) {
        for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
            snprintf(cand, sizeof(cand), "%s%s", dir, rel[i]);
            if (i == 1 && try_dir(ZK_KERNEL_INSTALL_DIR, strlen(ZK_KERNEL_INSTALL_DIR), name,
                                  out, size)) {
                return ZK_SUCCESS;      /* the configured PREFIX before the build tree */
            }
            if (try_dir(cand, strlen(cand), name, out, size)) {
                return ZK_SUCCESS;
            }
            NOTE(cand, strlen(cand));
        }
    } else if (try_dir(ZK_KERNEL_INSTALL_DIR, strlen(ZK_KERNEL_INSTALL_DIR), name, out, size)) {
        return ZK_SUCCESS;
    }
    NOTE(ZK_KERNEL_INSTALL_DIR, strlen(ZK_KERNEL_INSTALL_DIR));
#undef NOTE
    return ZK_ERROR_NOT_FOUND;
}

ZK_EXPORT zk_status zk_kernel_find(const char *name, char *path, size_t size)
{
    char searched[1024];
    zk_status st;
    if (!name || !path || !size) {
        return zk__fail(ZK_ERROR_INVALID_VALUE, "zk_kernel_find: %s is NULL or empty",
                        !name ? "name" : "path");
    }
    st = search(name, path, size, searched, sizeof(searched));
    if (st == ZK_ERROR_INVALID_VALUE) {
        return zk__fail(st, "zk_kernel_find: '%s' is not a plain file name", name);
    }
    if (st != ZK_SUCCESS) {
        return zk__fail(st, "zk_kernel_find: %s not found in ZK_KERNEL_PATH, the install "
                        "or the build directory (searched %s)", name, searched);
    }
    return ZK_SUCCESS;
}
