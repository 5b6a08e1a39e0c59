/* SPDX-License-Identifier: MIT */
/*
 * fuzz_simt.c - hostile SIMT kernels and launch shapes against the ISA
 * library (check, verify, disassemble) and the SIMT interpreter: nothing
 * may crash, hang (the budget bounds every launch) or touch memory outside
 * the fake HBM.  Input: 8 bytes of launch shape, then 16-byte instructions.
 */
#include <string.h>

#include "fuzz_driver.h"
#include "zhikai_hw.h"
#include "zk_engine.h"
#include "zk_simt_isa.h"
#include "zk_testmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ZkTestMem t;
    static uint64_t code_va, args_va, buf_va;
    if (!t.ms.hbm) {
        zkt_init(&t, 8u << 20);
        code_va = zkt_alloc(&t, 1 << 16);
        args_va = zkt_alloc(&t, 4096);
        buf_va = zkt_alloc(&t, 1 << 16);
        uint64_t args[4] = { buf_va, buf_va + 4096, 64, 16 };
        zkt_put(&t, args_va, args, sizeof(args));
    }
    if (size < 24 || size > (1 << 16) + 8) {
        return 0;
    }
    const uint8_t *shape = data;
    size_t code = (size - 8) & ~(size_t)15;
    zkt_put(&t, code_va, data + 8, code);
    for (size_t i = 0; i < code; i += 16) {   /* the disassembler never fails */
        uint64_t w[2];
        char text[160];
        memcpy(w, data + 8 + i, 16);
        zk_simt_disasm(w, (uint32_t)(i / 16), text, sizeof(text));
    }
    ZkLaunch l = { .code_va = code_va, .code_size = (uint32_t)code, .simt = true,
                   .grid = { 1 + shape[0] % 3, 1, 1 },
                   .block = { 1 + shape[1] % 80, 1 + shape[2] % 3, 1 },
                   .shared_bytes = (uint32_t)shape[3] * 16,
                   .local_bytes = (uint32_t)shape[4] * 4,
                   .args_va = args_va, .args_size = 32 + shape[5] % 8,
                   .num_cus = 1 + (shape[6] & 1), .insn_budget = 3000 };
    if (shape[7] == 0xff) {       /* sometimes hostile shapes */
        l.block[0] = 2000;
        l.shared_bytes = 1u << 20;
    }
    ZkEngineStats st;
    ZkFault f;
    int r = zk_engine_launch(&t.ms, &l, &st, &f, NULL);
#ifdef FUZZ_STATS
    static long counts[16];
    static long total;
    counts[r & 15]++;
    if (++total % 5000 == 0) {
        fprintf(stderr, "ok %ld illegal_insn %ld illegal_cmd %ld budget %ld mmu %ld engine %ld\n",
                counts[0], counts[ZK_FAULT_ILLEGAL_INSN], counts[ZK_FAULT_ILLEGAL_CMD],
                counts[ZK_FAULT_BUDGET], counts[1] + counts[2], counts[ZK_FAULT_ENGINE]);
    }
#endif
    (void)r;
    return 0;
}

#ifndef ZK_LIBFUZZER
/* Mostly-valid programs: real opcodes with allowed types and modifiers,
 * small registers, branches near by, addresses near the test buffers. */
static size_t fuzz_generate(uint8_t *buf, size_t cap, uint64_t *rng)
{
    size_t n = 2 + fuzz_rand(rng) % 30;
    uint64_t r = fuzz_rand(rng);
    memcpy(buf, &r, 8);
    if (8 + n * 16 > cap) {
        n = (cap - 8) / 16;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t w[2];
        ZkSimtInsn in;
        const ZkSimtOpInfo *oi = NULL;
        for (int tries = 0; tries < 20; tries++) {
            r = fuzz_rand(rng);
            memset(&in, 0, sizeof(in));
            in.op = (uint8_t)(0x80 + r % 0x5a);
            if (!(oi = zk_simt_op(in.op))) {
                continue;
            }
            r >>= 7;
            for (unsigned ty = 0; ty < ZK_ST_COUNT; ty++) {
                in.type = (uint8_t)((ty + r) % ZK_ST_COUNT);
                if (oi->types & (1u << in.type)) {
                    break;
                }
            }
            r >>= 4;
            in.mod = oi->mod_count ? (uint8_t)(r % oi->mod_count) : 0;
            r >>= 4;
            in.type2 = (oi->use & ZK_SU_T2) ? (uint8_t)(r % 6) : 0;
            r >>= 3;
            in.rd = (oi->use & ZK_SU_RD) ? (uint8_t)(r % 10) : 0;
            in.ra = (oi->use & (ZK_SU_RA | ZK_SU_PRA)) ? (uint8_t)((r >> 4) % 10) : 0;
            in.rb = (oi->use & (ZK_SU_B | ZK_SU_PRB)) ? (uint8_t)((r >> 8) % 10) : 0;
            in.rc = (oi->use & ZK_SU_C) ? (uint8_t)((r >> 12) % 10) : 0;
            in.pd = (oi->use & (ZK_SU_PD | ZK_SU_PS)) ? (uint8_t)((r >> 16) % 8) : 0;
            in.guard = (uint8_t)((r >> 19) % 16 < 12 ? 0 : (r >> 19) % 8);
            in.gneg = (uint8_t)((r >> 23) & 1);
            if (in.op == ZK_SOP_BRA) {
                in.imm = (uint64_t)(int64_t)((int)((r >> 24) % 9) - 4);
            } else if (in.op == ZK_SOP_SREG) {
                in.imm = (r >> 24) % ZK_SR_COUNT;
            } else if (oi->use & ZK_SU_IMM) {
                in.imm = (r >> 24) % 64;
            } else if ((oi->use & ZK_SU_B) && ((r >> 30) & 1)) {
                in.flags = ZK_SF_BIMM;
                in.rb = 0;
                in.imm = (r >> 32) % 200;
            }
            zk_simt_encode(&in, w);
            if (!zk_simt_check(w)) {
                break;
            }
        }
        if (fuzz_rand(rng) % 40 == 0) {
            w[0] = fuzz_rand(rng);
            w[1] = fuzz_rand(rng);
        }
        if (i == n - 1) {           /* end with exit so most kernels verify */
            w[0] = ZK_SOP_EXIT;
            w[1] = 0;
        }
        memcpy(buf + 8 + 16 * i, w, 16);
    }
    return 8 + n * 16;
}
#endif
