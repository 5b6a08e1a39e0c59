/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Zhikai device: HBM discard (issue 14).
 *
 * HBM is a RAM_NORESERVE block: the host pays only for the pages the guest
 * touches.  A driver that zero-fills every new buffer through the BAR would
 * touch all of it (a 32 GiB card then costs 32 GiB of host RAM); instead it
 * asks the card to discard the range: whole host pages are handed back to
 * the host (ram_block_discard_range: madvise(MADV_DONTNEED) on the anonymous
 * backing, after which they read as zero), partial pages at the ends are
 * cleared with memset.  Reached through ZK_CMD_HBM_DISCARD (in ring order;
 * the synchronous register it once had is reserved now).
 */
#include "qemu/osdep.h"
#include "qemu/units.h"
#include "exec/cpu-common.h"
#include "exec/memory.h"

#include "zhikai.h"
#include "trace.h"

bool zhikai_hbm_range_ok(ZhikaiState *s, uint64_t off, uint64_t len)
{
    return off <= s->hbm_size && len <= s->hbm_size - off;
}

void zhikai_hbm_discard(ZhikaiState *s, uint64_t off, uint64_t len)
{
    RAMBlock *rb = s->hbm.ram_block;
    uint64_t page = rb ? qemu_ram_pagesize(rb) : qemu_real_host_page_size();
    uint64_t end = off + len;
    uint64_t head = ROUND_UP(off, page), tail = ROUND_DOWN(end, page);
    bool dropped = false;

    g_assert(zhikai_hbm_range_ok(s, off, len));
    if (head >= tail) {             /* within one host page */
        memset(s->hbm_ptr + off, 0, len);
    } else {
        memset(s->hbm_ptr + off, 0, head - off);
        memset(s->hbm_ptr + tail, 0, end - tail);
        dropped = rb && ram_block_discard_range(rb, head, tail - head) == 0;
        if (!dropped) {
            /* Discarding disabled (e.g. VFIO): still zero, but touched. */
            memset(s->hbm_ptr + head, 0, tail - head);
        }
    }
    trace_zhikai_hbm_discard(off, len, dropped);
}
