/* SPDX-License-Identifier: MIT */
#include "zk_kernel_helpers.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "zk_obj.h"

float zkt_frand(void)
{
    return (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
}

uint64_t zkt_put_rand(ZkTestMem *t, float *h, size_t n)
{
    for (size_t i = 0; i < n; i++) h[i] = zkt_frand();
    uint64_t va = zkt_alloc(t, n * 4);
    zkt_put(t, va, h, n * 4);
    return va;
}

void zkt_close_all(const float *got, const float *want, size_t n, float tol)
{
    for (size_t i = 0; i < n; i++) {
        if (!(fabsf(got[i] - want[i]) <= tol * (1 + fabsf(want[i])))) {
            fail_msg("[%zu] got %g want %g", i, got[i], want[i]);
        }
    }
}

int zkt_launch_lib(ZkTestMem *t, const char *lib, const char *name, const uint64_t *args,
                   uint32_t nargs, uint32_t gx, ZkEngineStats *st)
{
    char path[512], err[256];
    snprintf(path, sizeof(path), "%s/%s.zko", ZK_KERNEL_DIR, lib);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t buf[1 << 20];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    ZkObj o;
    if (zk_obj_load(buf, len, &o, err, sizeof(err))) {
        fail_msg("%s: %s", path, err);
    }
    const ZkObjKernel *k = zk_obj_find(&o, name);
    if (!k) {
        fail_msg("%s has no kernel %s", path, name);
    }
    assert_int_equal(k->desc.num_args, nargs);
    uint64_t code = zkt_alloc(t, o.image_size), av = zkt_alloc(t, 8 * nargs + 8);
    zkt_put(t, code, o.image, o.image_size);
    zkt_put(t, av, args, 8 * nargs);
    ZkLaunch l = { .code_va = code, .code_size = o.image_size, .entry = k->entry,
                   .grid = { gx, 1, 1 }, .args_va = av, .args_size = 8 * nargs,
                   /* library kernels must give the same results and
                    * counts with their workgroups on parallel units */
                   .num_cus = 3 };
    ZkFault fault;
    memset(st, 0, sizeof(*st));
    int r = zk_engine_launch(&t->ms, &l, st, &fault, NULL);
    zk_obj_free(&o);
    return r;
}
