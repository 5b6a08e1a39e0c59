/* SPDX-License-Identifier: MIT */
/*
 * ptx_zko.c - a translated PTX module as a kernel object (.zko, ELF; see
 * runtime/zk_obj.h): the SIMT code as .text, the module's .const/.global
 * data as .rodata (the loader puts it right after the code, where the
 * translated code expects it), one SIMT kernel descriptor per .entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptx_xlate.h"
#include "zk_obj.h"

int zk_ptx_write_zko(const zk_ptx_image *img, uint8_t **out, size_t *out_len)
{
    ZkObjKernel *ks = calloc(img->nkernels ? img->nkernels : 1, sizeof(*ks));
    int rc;
    if (!ks) {
        return -1;
    }
    for (uint32_t i = 0; i < img->nkernels; i++) {
        const zk_ptx_kernel *k = &img->kernels[i];
        ks[i].name = (char *)k->name;  /* the writer derives the descriptor keys */
        ks[i].entry = k->entry;
        ks[i].desc.flags = ZK_KDESC_F_SIMT;
        ks[i].simt.shared_bytes = k->shared_bytes;
        ks[i].simt.local_bytes = k->local_bytes;
        ks[i].simt.param_bytes = k->param_bytes;
    }
    rc = zk_obj_write(img->image, img->code_bytes, img->image + img->code_bytes,
                      img->size - img->code_bytes, ks, img->nkernels, out, out_len);
    free(ks);
    return rc;
}
