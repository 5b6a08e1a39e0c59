/* SPDX-License-Identifier: MIT */
/*
 * fuzz_engine.c - fuzz the engine's tensor and memory instructions with
 * attacker-chosen operands (issue 14).
 *
 * fuzz_isa feeds raw instruction words, so nearly every tensor op it reaches
 * sees small, zeroed descriptors.  Here the input is a list of records, each
 * decoding to one instruction with FULL-WIDTH 64-bit operands: five tensor
 * descriptors (va, rows, cols, stride, dtype), four scalar registers (rs..),
 * the fn field, and for scalar loads/stores the address.  Per field a mode
 * bit picks "raw 64-bit" or "near something valid" (a VA inside one of the
 * mapped buffers, a small dimension), so the fuzzer explores both hostile
 * and working shapes.  The harness builds a real kernel from the records
 * (MOVI/MOVHI, TSET, the op) and launches it on a fake card with HBM pages,
 * a discontiguous buffer and a system-memory page (a bounded bus callback).
 *
 * Whatever the input, the engine must return (a fault or success), never
 * touch memory outside what the MMU allows (ASan), never hit undefined
 * behaviour (UBSan), and hold at most ZK_ENGINE_STAGING bytes of staging.
 * A long instruction is stopped by the abort flag 20 ms after launch, as
 * the device's job timeout would.
 *
 * Record (little-endian, RECORD bytes; trailing partial record ignored):
 *   u8 opcode (any other value selects one), u8 fn, u8 reg mode bits, u8 unused,
 *   u32 scalar immediate (loads/stores),
 *   5 x { u8 mode, u8 dtype, u64 va, u64 rows, u64 cols, u64 stride },
 *   4 x u64 register values (rs, rs+1, rs+2, rs+3)
 * Descriptor mode bits: 1 va near a buffer (buffer = va >> 60, offset =
 * va & 0xffff), 2 rows small (% 64), 4 cols small (% 64), 8 stride = cols +
 * stride % 8.  Register mode bit i: register i small (% 4096).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_driver.h"
#include "zhikai_hw.h"
#include "zk_engine.h"
#include "zk_isa.h"
#include "zk_testmem.h"

#define NDESC       5
#define DESC_BYTES  (2 + 4 * 8)
#define RECORD      (8 + NDESC * DESC_BYTES + 4 * 8)
#define MAX_RECORDS 8
#define NBUF        4
#define SYS_VA      0x7000000000ull    /* one system-memory page */
#define SYS_BUS     0x100000ull
#define ABORT_MS    20

static uint8_t sysmem[ZK_PAGE_SIZE];
static uint64_t sys_reads;

/* The bus: exactly one page of "guest RAM"; anything else fails (DMA). */
static int sys_rw(void *opaque, uint64_t bus, void *buf, uint64_t len,
                  bool write)
{
    (void)opaque;
    if (bus < SYS_BUS || bus - SYS_BUS > sizeof(sysmem) ||
        len > sizeof(sysmem) - (bus - SYS_BUS)) {
        return -1;
    }
    if (write) {
        memcpy(sysmem + (bus - SYS_BUS), buf, len);
    } else {
        memcpy(buf, sysmem + (bus - SYS_BUS), len);
        sys_reads += len;
    }
    return 0;
}

/* Watchdog thread: sets the abort flag once a launch has run ABORT_MS. */
static volatile int abort_flag;
static atomic_llong deadline_ns;    /* 0: idle */

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void *watchdog(void *arg)
{
    (void)arg;
    for (;;) {
        long long d = atomic_load(&deadline_ns);
        if (d && mono_ns() > d) {
            __atomic_store_n(&abort_flag, 1, __ATOMIC_RELEASE);
        }
        usleep(5000);
    }
    return NULL;
}

static uint8_t ops[256];
static bool is_op[256];
static unsigned nops;

static void init_ops(void)
{
    for (unsigned op = 0; op < 256; op++) {
        const ZkOpInfo *oi = zk_isa_op((uint8_t)op);
        if ((oi && oi->fmt == ZK_FMT_T) ||
            (op >= ZK_OP_LD8 && op <= ZK_OP_ST64 && oi)) {
            ops[nops++] = (uint8_t)op;
            is_op[op] = true;
        }
    }
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

typedef struct Code {
    uint64_t w[1024];
    uint32_t n;
} Code;

static void emit(Code *c, uint8_t op, unsigned rd, unsigned ra, unsigned rb,
                 uint32_t imm)
{
    if (c->n < 1024) {
        c->w[c->n++] = ZK_INSN(op, rd, ra, rb, imm);
    }
}

/* Full 64-bit constant into rd (MOVI sign-extends, MOVHI sets the top). */
static void li(Code *c, unsigned rd, uint64_t v)
{
    emit(c, ZK_OP_MOVI, rd, 0, 0, (uint32_t)v);
    emit(c, ZK_OP_MOVHI, rd, 0, 0, (uint32_t)(v >> 32));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ZkTestMem t;
    static uint64_t code_va, buf_va[NBUF];
    static pthread_t wd;
    if (!t.ms.hbm) {
        zkt_init(&t, 8u << 20);
        code_va = zkt_alloc(&t, 1 << 16);
        buf_va[0] = zkt_alloc(&t, 1 << 16);
        buf_va[1] = zkt_alloc(&t, 1 << 18);
        buf_va[2] = zkt_alloc_scattered(&t, 1 << 16);
        buf_va[3] = SYS_VA;
        zkt_set_pte(&t, SYS_VA, 2, SYS_BUS | ZK_PTE_SYSMEM | ZK_PTE_WRITE |
                    ZK_PTE_VALID);
        t.ms.sys_rw = sys_rw;
        init_ops();
        pthread_create(&wd, NULL, watchdog, NULL);
    }
    Code c = { .n = 0 };
    size_t nrec = size / RECORD;
    if (nrec == 0 || nrec > MAX_RECORDS) {
        return 0;
    }
    for (size_t r = 0; r < nrec; r++) {
        const uint8_t *p = data + r * RECORD;
        uint8_t op = is_op[p[0]] ? p[0] : ops[p[0] % nops];
        uint8_t fn = p[1], rmode = p[2];
        uint32_t simm = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
                        (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        const ZkOpInfo *oi = zk_isa_op(op);
        uint64_t va0 = 0;
        for (unsigned i = 0; i < NDESC; i++) {
            const uint8_t *d = p + 8 + i * DESC_BYTES;
            uint8_t mode = d[0];
            uint64_t va = le64(d + 2), rows = le64(d + 10);
            uint64_t cols = le64(d + 18), stride = le64(d + 26);
            if (mode & 1) {
                va = buf_va[(va >> 60) % NBUF] + (va & 0xffff);
            }
            rows = (mode & 2) ? rows % 64 : rows;
            cols = (mode & 4) ? cols % 64 : cols;
            stride = (mode & 8) ? cols + stride % 8 : stride;
            if (i == 0) {
                va0 = va;
            }
            li(&c, 24, va);
            li(&c, 25, rows);
            li(&c, 26, cols);
            li(&c, 27, stride);
            emit(&c, ZK_OP_TSET, i, 24, 0, d[1] % ZK_DT_COUNT);
        }
        const uint8_t *rp = p + 8 + NDESC * DESC_BYTES;
        for (unsigned i = 0; i < 4; i++) {
            uint64_t v = le64(rp + 8 * i);
            li(&c, 8 + i, (rmode >> i & 1) ? v % 4096 : v);
        }
        if (oi->fmt == ZK_FMT_T) {
            /* fn: a valid sub-op most of the time, raw otherwise */
            unsigned f = fn;
            if (!(fn & 0x80)) {
                f = oi->fn_count ? fn % oi->fn_count : (fn & oi->fn_mask);
            }
            /* Fields the op does not use must be 0: try full, then fewer. */
            static const unsigned drop[] = { 0, ZK_TU_TC | ZK_TU_TE, ZK_TU_TB |
                                             ZK_TU_TC | ZK_TU_TE };
            uint64_t w = 0;
            for (unsigned k = 0; k < 3; k++) {
                unsigned u = oi->tuse & ~drop[k];
                uint64_t cand = ZK_INSN(op, 0, (u & ZK_TU_TA) ? 1 : 0,
                                        (u & ZK_TU_TB) ? 2 : 0,
                                        ZK_TI((u & ZK_TU_TC) ? 3 : 0,
                                              (u & ZK_TU_TE) ? 4 : 0,
                                              (u & ZK_TU_RS) ? 8 : 0, f));
                if (k == 0 || !zk_isa_check(cand, 0, 1 << 16)) {
                    w = cand;
                }
                if (!zk_isa_check(cand, 0, 1 << 16)) {
                    break;
                }
            }
            if (c.n < 1024) {
                c.w[c.n++] = w;
            }
        } else {
            li(&c, 1, va0);
            if (op >= ZK_OP_ST8) {
                emit(&c, op, 0, 1, 9, (uint32_t)(int16_t)simm);
            } else {
                emit(&c, op, 2, 1, 0, (uint32_t)(int16_t)simm);
            }
        }
    }
    emit(&c, ZK_OP_HALT, 0, 0, 0, 0);
    zkt_put(&t, code_va, c.w, (uint64_t)c.n * 8);
    ZkLaunch l = { .code_va = code_va, .code_size = c.n * 8,
                   .grid = { 1, 1, 1 }, .insn_budget = 100000 };
    ZkEngineStats st;
    ZkFault f;
    memset(&st, 0, sizeof(st));
    __atomic_store_n(&abort_flag, 0, __ATOMIC_RELEASE);
    atomic_store(&deadline_ns, mono_ns() + ABORT_MS * 1000000ll);
    zk_engine_launch(&t.ms, &l, &st, &f, &abort_flag);
    atomic_store(&deadline_ns, 0);
    if (st.host_bytes_peak > ZK_ENGINE_STAGING) {
        __builtin_trap();       /* the staging bound is a contract */
    }
    return 0;
}

#ifndef ZK_LIBFUZZER
/* Random records: mostly "near valid" fields, some raw ones. */
static size_t fuzz_generate(uint8_t *buf, size_t cap, uint64_t *rng)
{
    size_t n = 1 + fuzz_rand(rng) % 3;
    if (n * RECORD > cap) {
        n = cap / RECORD;
    }
    for (size_t i = 0; i < n * RECORD; i += 8) {
        uint64_t v = fuzz_rand(rng);
        memcpy(buf + i, &v, 8);
    }
    for (size_t r = 0; r < n; r++) {
        uint8_t *p = buf + r * RECORD;
        for (unsigned i = 0; i < NDESC; i++) {
            uint8_t *d = p + 8 + i * DESC_BYTES;
            if (fuzz_rand(rng) % 8) {
                d[0] |= 0x0f;       /* near valid */
            }
        }
        if (fuzz_rand(rng) % 4) {
            p[2] = 0x0f;
        }
    }
    return n * RECORD;
}
#endif
