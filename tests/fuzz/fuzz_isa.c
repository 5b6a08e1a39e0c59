/* SPDX-License-Identifier: MIT */
/*
 * fuzz_isa.c - fuzz the verifier, disassembler and interpreter.
 *
 * The input is a kernel image.  Whatever it holds, the engine must either
 * refuse it (ZK_FAULT_ILLEGAL_INSN) or run it within the budget, touching
 * memory only through the MMU (ASan catches anything else).  Two small
 * buffers are mapped and their VAs passed as arguments so loads, stores
 * and tensor ops can hit real memory as well as unmapped addresses.
 */
#include <string.h>

#include "fuzz_driver.h"
#include "zk_engine.h"
#include "zk_isa.h"
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
    if (size < 8 || size > (1 << 16)) {
        return 0;
    }
    size &= ~(size_t)7;
    zkt_put(&t, code_va, data, size);
    for (size_t i = 0; i < size; i += 8) {  /* the disassembler never fails */
        uint64_t w;
        char text[128];
        memcpy(&w, data + i, 8);
        zk_isa_disasm(w, (uint32_t)(i / 8), text, sizeof(text));
    }
    ZkLaunch l = { .code_va = code_va, .code_size = (uint32_t)size,
                   .grid = { 2, 1, 1 }, .args_va = args_va, .args_size = 32,
                   .insn_budget = 2000 };
    ZkEngineStats st;
    ZkFault f;
    zk_engine_launch(&t.ms, &l, &st, &f, NULL);
    return 0;
}

#ifndef ZK_LIBFUZZER
/* Mostly-valid programs: real opcodes, small register/descriptor numbers,
 * small immediates, with the occasional fully random word. */
static size_t fuzz_generate(uint8_t *buf, size_t cap, uint64_t *rng)
{
    static const uint8_t ops[] = {
        ZK_OP_HALT, ZK_OP_NOP, ZK_OP_JMP, ZK_OP_BEQ, ZK_OP_BLT, ZK_OP_LOOP,
        ZK_OP_MOVI, ZK_OP_MOVHI, ZK_OP_MOV, ZK_OP_ARG, ZK_OP_SREG, ZK_OP_LEA,
        ZK_OP_ADD, ZK_OP_MUL, ZK_OP_DIVU, ZK_OP_SRA, ZK_OP_ADDI, ZK_OP_SHLI,
        ZK_OP_FADD, ZK_OP_FDIV, ZK_OP_FCVTFI, ZK_OP_LD8, ZK_OP_LD64,
        ZK_OP_LD32S, ZK_OP_ST16, ZK_OP_ST64, ZK_OP_TSET, ZK_OP_TSET,
        ZK_OP_TSET, ZK_OP_MATMUL, ZK_OP_EBIN, ZK_OP_EUN, ZK_OP_ESCALE,
        ZK_OP_REDUCE, ZK_OP_SOFTMAX, ZK_OP_RMSNORM, ZK_OP_LAYERNORM,
        ZK_OP_ROPE, ZK_OP_EMBED, ZK_OP_QUANT, ZK_OP_DEQUANT, ZK_OP_KVWRITE,
        ZK_OP_PATTN,
    };
    size_t n = 2 + fuzz_rand(rng) % 40;
    if (n * 8 > cap) {
        n = cap / 8;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t r = fuzz_rand(rng), w;
        uint8_t op = ops[r % sizeof(ops)];
        const ZkOpInfo *oi = zk_isa_op(op);
        r >>= 8;
        if (r % 50 == 0) {
            w = fuzz_rand(rng);
        } else if (oi->fmt == ZK_FMT_T) {
            w = ZK_INSN(op, r & 7, (r >> 3) & 7, (r >> 6) & 7,
                        ZK_TI((r >> 9) & 7, (r >> 12) & 7, (r >> 15) % 28,
                              (r >> 20) % 4));
        } else if (oi->fmt == ZK_FMT_TSET) {
            w = ZK_INSN(op, r & 7, 1 + (r >> 3) % 27, 0, (r >> 8) % 5);
        } else {
            int32_t imm = (int32_t)((r >> 16) % 64) - 16;
            if (op == ZK_OP_ARG) {
                imm = (int32_t)((r >> 16) % 4);
            } else if (op == ZK_OP_SREG) {
                imm = (int32_t)((r >> 16) % ZK_SREG_COUNT);
            }
            w = ZK_INSN(op, r % 8, (r >> 4) % 8, (r >> 8) % 8, imm);
            if (zk_isa_check(w, 4, (uint32_t)n * 8)) {
                w = ZK_INSN(op, 0, 0, 0, 0);
            }
        }
        memcpy(buf + 8 * i, &w, 8);
    }
    return n * 8;
}
#endif
