/* SPDX-License-Identifier: MIT */
/*
 * zk_engine.c - launch: fetch, verify and interpret a kernel over its grid.
 *
 * A launch copies the code image and the argument block out of device
 * memory once, verifies the kernel (zk_isa.c) and only then runs it, so a
 * bad kernel never executes a single instruction.  Workgroups are independent:
 * with num_cus > 1 they run on that many compute-unit threads (zk_cu.c),
 * otherwise one after
 * another; each starts with all registers and descriptors zero.  The
 * instruction budget spans the whole launch and the abort flag is polled
 * before every instruction.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "zk_cu.h"
#include "zk_dtype.h"
#include "zk_isa.h"
#include "zk_simt.h"
#include "zk_tensor.h"

#define MAX_CODE_SIZE   (16u << 20)

typedef struct Launch {
    ZkMemSpace *ms;
    const ZkLaunch *l;
    ZkEngineStats *st;
    ZkFault *fault;
    const volatile int *abort_flag;
    const uint64_t *code;
    uint64_t args[ZK_MAX_ARGS];
    uint64_t wg[3];
    /* Parallel launches: each compute unit has its own Launch, memory-space
     * copy and stats; the budget counts on a shared total. */
    uint64_t *total_insns;
    uint64_t unflushed;
    const volatile int *stop;
    ZkMemSpace ms_copy;
    ZkEngineStats st_copy;
    ZkFault fault_copy;
} Launch;

#define BUDGET_CHUNK 256

/* True when the launch must stop for its budget (checked per instruction). */
static bool over_budget(Launch *x, uint64_t budget)
{
    if (!x->total_insns) {
        return budget && x->st->insns >= budget;
    }
    if (++x->unflushed >= BUDGET_CHUNK || budget) {
        uint64_t t = __atomic_add_fetch(x->total_insns, x->unflushed, __ATOMIC_RELAXED);
        x->unflushed = 0;
        return budget && t > budget;
    }
    return false;
}

static int fail(ZkFault *fault, int type, uint64_t va)
{
    fault->type = (uint32_t)type;
    fault->va = va;
    return type;
}

static float f32(uint64_t r)
{
    return zk_bits_f32((uint32_t)r);
}

static uint64_t from_f32(float f)
{
    return zk_f32_bits(f);
}

static int64_t f32_to_i64(float f)
{
    if (!(f == f)) {
        return 0;
    }
    if (f >= 0x1p63f) {
        return INT64_MAX;
    }
    if (f < -0x1p63f) {
        return INT64_MIN;
    }
    return (int64_t)f;
}

static uint64_t sreg(const Launch *x, int32_t which)
{
    const uint32_t *g = x->l->grid;
    switch (which) {
    case ZK_SREG_WG_X:
    case ZK_SREG_WG_Y:
    case ZK_SREG_WG_Z:
        return x->wg[which - ZK_SREG_WG_X];
    case ZK_SREG_NWG_X:
    case ZK_SREG_NWG_Y:
    case ZK_SREG_NWG_Z:
        return g[which - ZK_SREG_NWG_X];
    case ZK_SREG_WG_LINEAR:
        return x->wg[0] + (uint64_t)g[0] * (x->wg[1] + (uint64_t)g[1] * x->wg[2]);
    case ZK_SREG_CODE_VA:
        return x->l->code_va;
    default:
        return x->l->args_va;
    }
}

static bool branch_taken(uint8_t op, uint64_t a, uint64_t b)
{
    switch (op) {
    case ZK_OP_BEQ:
        return a == b;
    case ZK_OP_BNE:
        return a != b;
    case ZK_OP_BLT:
        return (int64_t)a < (int64_t)b;
    case ZK_OP_BGE:
        return (int64_t)a >= (int64_t)b;
    case ZK_OP_BLTU:
        return a < b;
    default:
        return a >= b;
    }
}

/* Integer and fp ALU ops: rd = a op b (b is a register or the immediate). */
static uint64_t alu(uint8_t op, uint64_t a, uint64_t b)
{
    switch (op) {
    case ZK_OP_ADD: case ZK_OP_ADDI: return a + b;
    case ZK_OP_SUB: return a - b;
    case ZK_OP_MUL: case ZK_OP_MULI: return a * b;
    case ZK_OP_DIVU: return b ? a / b : ~0ull;
    case ZK_OP_REMU: return b ? a % b : a;
    case ZK_OP_AND: case ZK_OP_ANDI: return a & b;
    case ZK_OP_OR: case ZK_OP_ORI: return a | b;
    case ZK_OP_XOR: case ZK_OP_XORI: return a ^ b;
    case ZK_OP_SHL: case ZK_OP_SHLI: return a << (b & 63);
    case ZK_OP_SHR: case ZK_OP_SHRI: return a >> (b & 63);
    case ZK_OP_SRA: case ZK_OP_SRAI:
        /* arithmetic shift without relying on implementation-defined >> */
        return (int64_t)a < 0 ? ~(~a >> (b & 63)) : a >> (b & 63);
    case ZK_OP_MIN: return (int64_t)a < (int64_t)b ? a : b;
    case ZK_OP_MAX: return (int64_t)a > (int64_t)b ? a : b;
    case ZK_OP_SLT: case ZK_OP_SLTI: return (int64_t)a < (int64_t)b;
    case ZK_OP_SLTU: return a < b;
    case ZK_OP_FADD: return from_f32(f32(a) + f32(b));
    case ZK_OP_FSUB: return from_f32(f32(a) - f32(b));
    case ZK_OP_FMUL: return from_f32(f32(a) * f32(b));
    case ZK_OP_FDIV: return from_f32(f32(a) / f32(b));
    case ZK_OP_FMIN: return from_f32(fminf(f32(a), f32(b)));
    case ZK_OP_FMAX: return from_f32(fmaxf(f32(a), f32(b)));
    case ZK_OP_FSQRT: return from_f32(sqrtf(f32(a)));
    case ZK_OP_FCVTIF: return from_f32((float)(int64_t)a);
    case ZK_OP_FCVTFI: return (uint64_t)f32_to_i64(f32(a));
    case ZK_OP_FLT: return f32(a) < f32(b);
    case ZK_OP_FLE: return f32(a) <= f32(b);
    default: return f32(a) == f32(b);     /* FEQ */
    }
}

/* Loads/stores: width in bytes and sign extension from the opcode. */
static int mem_op(Launch *x, uint8_t op, uint64_t addr, uint64_t *val)
{
    static const uint8_t width[] = { 1, 2, 4, 8, 1, 2, 4, 0, 1, 2, 4, 8 };
    unsigned n = width[op - ZK_OP_LD8];
    uint64_t v = 0;
    int r;

    if (op >= ZK_OP_ST8) {
        uint8_t b[8];
        for (unsigned i = 0; i < n; i++) {
            b[i] = (uint8_t)(*val >> (8 * i));
        }
        r = zk_mem_write(x->ms, addr, b, n, x->fault);
        x->st->bytes_written += n;
        return r;
    }
    uint8_t b[8] = { 0 };
    r = zk_mem_read(x->ms, addr, b, n, x->fault);
    for (unsigned i = 0; i < n; i++) {
        v |= (uint64_t)b[i] << (8 * i);
    }
    if (op >= ZK_OP_LD8S && n < 8 && (v >> (8 * n - 1)) & 1) {
        v |= ~0ull << (8 * n);
    }
    *val = v;
    x->st->bytes_read += n;
    return r;
}

static int run_workgroup(Launch *x)
{
    uint64_t r[ZK_NUM_REGS] = { 0 };
    ZkDesc desc[ZK_NUM_TDESC];
    uint64_t pc = x->l->entry / 8;
    uint64_t budget = x->l->insn_budget;

    memset(desc, 0, sizeof(desc));
    for (;;) {
        uint64_t w = x->code[pc];
        uint8_t op = ZK_INSN_OP(w);
        unsigned rd = ZK_INSN_RD(w), ra = ZK_INSN_RA(w), rb = ZK_INSN_RB(w);
        int32_t imm = ZK_INSN_IMM(w);
        uint64_t pc_va = x->l->code_va + pc * 8, next = pc + 1;
        int f = ZK_FAULT_NONE;

        if ((x->abort_flag && *x->abort_flag) || (x->stop && *x->stop)) {
            return fail(x->fault, ZK_FAULT_ENGINE, 0);
        }
        if (over_budget(x, budget)) {
            return fail(x->fault, ZK_FAULT_BUDGET, pc_va);
        }
        x->st->insns++;
        switch (op) {
        case ZK_OP_HALT:
            return ZK_FAULT_NONE;
        case ZK_OP_NOP:
            break;
        case ZK_OP_JMP:
            next = pc + imm;
            break;
        case ZK_OP_JMPA:
            next = (uint32_t)imm;
            break;
        case ZK_OP_BEQ: case ZK_OP_BNE: case ZK_OP_BLT:
        case ZK_OP_BGE: case ZK_OP_BLTU: case ZK_OP_BGEU:
            if (branch_taken(op, r[ra], r[rb])) {
                next = pc + imm;
            }
            break;
        case ZK_OP_LOOP:
            r[rd]--;
            if (r[rd] != 0) {
                next = pc + imm;
            }
            break;
        case ZK_OP_MOVI:
            r[rd] = (uint64_t)(int64_t)imm;
            break;
        case ZK_OP_MOVHI:
            r[rd] = (r[rd] & 0xffffffffull) | (uint64_t)(uint32_t)imm << 32;
            break;
        case ZK_OP_MOV:
            r[rd] = r[ra];
            break;
        case ZK_OP_ARG:
            r[rd] = x->args[imm];
            break;
        case ZK_OP_SREG:
            r[rd] = sreg(x, imm);
            break;
        case ZK_OP_LEA:
            r[rd] = x->l->code_va + (uint32_t)imm;
            break;
        case ZK_OP_ADD ... ZK_OP_SLTU:
        case ZK_OP_FADD ... ZK_OP_FEQ:
            r[rd] = alu(op, r[ra], r[rb]);
            break;
        case ZK_OP_ADDI ... ZK_OP_SLTI:
            r[rd] = alu(op, r[ra], (uint64_t)(int64_t)imm);
            break;
        case ZK_OP_LD8 ... ZK_OP_LD32S:
            f = mem_op(x, op, r[ra] + (uint64_t)(int64_t)imm, &r[rd]);
            break;
        case ZK_OP_ST8 ... ZK_OP_ST64:
            f = mem_op(x, op, r[ra] + (uint64_t)(int64_t)imm, &r[rb]);
            break;
        case ZK_OP_TSET:
            desc[rd] = (ZkDesc){ r[ra], r[ra + 1], r[ra + 2],
                                 r[ra + 3] ? r[ra + 3] : r[ra + 2],
                                 (unsigned)imm };
            break;
        default:
            /* Verified: everything else is a tensor instruction. */
            f = zk_tensor_exec(x->ms, x->st, desc, r, w, x->fault);
            if (f == ZK_FAULT_ENGINE) {
                x->fault->va = pc_va;
            }
            break;
        }
        if (f) {
            x->fault->type = (uint32_t)f;
            return f;
        }
        r[0] = 0;
        pc = next;
    }
}

static int cu_workgroup(void *ctx, uint32_t cu, uint64_t item,
                        const volatile int *stop)
{
    Launch *x = &((Launch *)ctx)[cu];
    const uint32_t *g = x->l->grid;

    x->stop = stop;
    x->wg[0] = item % g[0];
    x->wg[1] = (item / g[0]) % g[1];
    x->wg[2] = item / ((uint64_t)g[0] * g[1]);
    return run_workgroup(x);
}

/*
 * Workgroups on the launch's compute units.  Each unit works on a copy of
 * the memory space and its own counters, merged at the end; the fault
 * reported is the one of the unit that failed first.
 */
static int run_parallel(Launch *x, uint64_t nwg)
{
    uint32_t n = x->l->num_cus > nwg ? (uint32_t)nwg : x->l->num_cus;
    Launch *cus = calloc(n, sizeof(*cus));
    uint64_t total = 0;
    int ret;

    if (!cus) {
        return fail(x->fault, ZK_FAULT_ENGINE, x->l->code_va);
    }
    for (uint32_t i = 0; i < n; i++) {
        Launch *c = &cus[i];
        *c = *x;
        c->ms_copy = *x->ms;
        c->ms_copy.hbm_bytes_read = c->ms_copy.hbm_bytes_written = 0;
        c->ms_copy.sys_bytes = 0;
        c->ms = &c->ms_copy;
        c->st = &c->st_copy;
        c->fault = &c->fault_copy;
        c->total_insns = &total;
    }
    ret = zk_cu_run(n, nwg, cu_workgroup, cus, NULL);
    for (uint32_t i = 0; i < n; i++) {
        Launch *c = &cus[i];
        x->ms->hbm_bytes_read += c->ms_copy.hbm_bytes_read;
        x->ms->hbm_bytes_written += c->ms_copy.hbm_bytes_written;
        x->ms->sys_bytes += c->ms_copy.sys_bytes;
        x->st->insns += c->st_copy.insns;
        x->st->bytes_read += c->st_copy.bytes_read;
        x->st->bytes_written += c->st_copy.bytes_written;
        for (unsigned k = 0; k < 4; k++) {
            x->st->flops[k] += c->st_copy.flops[k];
        }
    }
    if (ret) {
        *x->fault = (ZkFault){ .type = (uint32_t)ret };
        for (uint32_t i = 0; i < n; i++) {
            if (cus[i].fault_copy.type == (uint32_t)ret &&
                (ret != ZK_FAULT_ENGINE || cus[i].fault_copy.va)) {
                *x->fault = cus[i].fault_copy;
                break;
            }
        }
    }
    free(cus);
    return ret;
}

int zk_engine_launch(ZkMemSpace *ms, const ZkLaunch *launch,
                     ZkEngineStats *stats, ZkFault *fault,
                     const volatile int *abort_flag)
{
    ZkEngineStats dummy_stats;
    ZkFault dummy_fault;
    Launch x = { .ms = ms, .l = launch, .abort_flag = abort_flag };
    uint32_t n = launch->code_size / 8, bad_pc;
    const char *why;
    int ret;

    x.st = stats ? stats : memset(&dummy_stats, 0, sizeof(dummy_stats));
    x.fault = fault ? fault : &dummy_fault;
    x.fault->type = ZK_FAULT_NONE;
    x.fault->va = 0;
    if (!launch->simt &&
        (launch->args_size % 8 || launch->args_size > ZK_MAX_ARGS * 8)) {
        return fail(x.fault, ZK_FAULT_ILLEGAL_CMD, launch->args_va);
    }
    if (launch->entry % 8 || launch->entry >= launch->code_size ||
        launch->code_size > MAX_CODE_SIZE) {
        return fail(x.fault, ZK_FAULT_ILLEGAL_INSN,
                    launch->code_va + launch->entry);
    }
    uint64_t *code = malloc((size_t)n * 8);
    if (!code) {
        return fail(x.fault, ZK_FAULT_ENGINE, launch->code_va);
    }
    x.code = code;
    /* Code fetch faults are execute faults, whatever the page said. */
    if (zk_mem_read(ms, launch->code_va, code, (uint64_t)n * 8, x.fault)) {
        if (x.fault->type == ZK_FAULT_MMU_READ) {
            x.fault->type = ZK_FAULT_MMU_EXEC;
        }
        ret = (int)x.fault->type;
        goto out;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (uint32_t i = 0; i < n; i++) {
        code[i] = __builtin_bswap64(code[i]);
    }
#endif
    if (launch->simt) {
        /* ISA v2: the SIMT unit (zk_simt.c) verifies and runs it. */
        ret = zk_simt_launch(ms, launch, code, x.st, x.fault, abort_flag);
        goto out;
    }
    ret = zk_mem_read(ms, launch->args_va, x.args, launch->args_size, x.fault);
    if (ret) {
        goto out;
    }
    if (zk_isa_verify(code, n, launch->entry / 8, launch->args_size / 8,
                      launch->code_size, &bad_pc, &why)) {
        ret = fail(x.fault, ZK_FAULT_ILLEGAL_INSN,
                   launch->code_va + (uint64_t)bad_pc * 8);
        goto out;
    }
    uint64_t nwg = (uint64_t)launch->grid[0] * launch->grid[1] * launch->grid[2];
    if (launch->num_cus > 1 && nwg > 1) {
        ret = run_parallel(&x, nwg);
        goto out;
    }
    for (x.wg[2] = 0; x.wg[2] < launch->grid[2]; x.wg[2]++) {
        for (x.wg[1] = 0; x.wg[1] < launch->grid[1]; x.wg[1]++) {
            for (x.wg[0] = 0; x.wg[0] < launch->grid[0]; x.wg[0]++) {
                ret = run_workgroup(&x);
                if (ret) {
                    goto out;
                }
            }
        }
    }
out:
    free(code);
    return ret;
}
