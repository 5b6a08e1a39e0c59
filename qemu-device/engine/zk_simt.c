/* SPDX-License-Identifier: MIT */
/*
 * zk_simt.c - the SIMT unit: interpreter for ISA v2 kernels.
 *
 * Decode once per launch: the verified image becomes an array of SInsn with
 * operands, immediates and branch targets already extracted.  Registers are
 * stored per warp as [register][lane], so one warp instruction is a loop
 * over 32 lanes on contiguous 64-bit values that the compiler vectorises
 * when every lane is active.
 *
 * Control flow uses one PC per lane and min-PC scheduling (docs/isa.md):
 * the warp issues the lowest PC among its runnable lanes and exactly the
 * lanes at that PC execute.  A warp whose runnable lanes share one PC is
 * "uniform" and skips all per-lane PC work, which is the common case.
 *
 * Blocks are independent and run on the launch's compute units (zk_cu.c);
 * each unit owns its block state, a copy of the memory space (so MMU byte
 * counters need no locking) and a small software TLB of HBM pages.
 */
#include <fenv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zhikai_hw.h"
#include "zk_cu.h"
#include "zk_dtype.h"
#include "zk_simt.h"
#include "zk_simt_isa.h"

#define ALL_LANES       0xffffffffu
#define TLB_SIZE        64
#define BUDGET_CHUNK    1024
#define IMM_SLOTS       8

typedef struct SInsn {
    uint8_t op, type, mod, t2;
    uint8_t rd, ra, rb, rc;
    uint8_t guard, gneg, pd, flags;
    uint32_t target;            /* BRA: absolute instruction index */
    uint64_t imm, bimm, cimm;
    uint8_t cls;                /* ZK_SIMT_CLS_* */
    uint8_t bslot, cslot;       /* immediate cache slots (imm_slots) */
} SInsn;

typedef struct TlbEntry {
    uint64_t vpage;             /* va >> 12, or ~0 */
    uint8_t *host;              /* HBM page */
    bool writable;
} TlbEntry;

typedef struct Warp {
    uint32_t live;              /* lanes not exited */
    uint32_t wait;              /* lanes waiting at a barrier */
    uint32_t preds[ZK_SIMT_NUM_PREDS];
    bool uniform;               /* all runnable lanes at upc */
    uint32_t upc;
    uint32_t pc[ZK_SIMT_WARP];  /* per lane when !uniform, and for waiters */
} Warp;

struct SimtLaunch;

typedef struct SimtCu {
    struct SimtLaunch *x;
    uint32_t index;
    ZkMemSpace ms;              /* private copy: counters are per unit */
    ZkEngineStats st;
    ZkFault fault;
    uint64_t *regs;             /* [warp][reg][lane] */
    Warp *warps;
    uint8_t *shared;
    uint8_t *local;             /* [thread][local_bytes] */
    uint64_t sink[ZK_SIMT_WARP];    /* writes to r0 */
    /* Immediate operands as lane vectors, cached by value (a loop body's
     * few constants stay resident instead of being refilled per insn). */
    uint64_t imm_tag[IMM_SLOTS];
    bool imm_ok[IMM_SLOTS];
    uint64_t imm_vec[IMM_SLOTS][ZK_SIMT_WARP];
    TlbEntry tlb[TLB_SIZE];
    /* row_ok[r]: register r holds row_val[r] in every lane of every warp
     * (gang moves of that value are then skipped: a kernel's parameter and
     * launch-shape moves run once per unit, not once per block). */
    bool row_ok[ZK_SIMT_NUM_REGS];
    uint64_t row_val[ZK_SIMT_NUM_REGS];
    uint64_t unflushed;         /* insns not yet added to the launch total */
    uint64_t block_insns0;      /* st.insns at block start (%clock base) */
    uint64_t flush_every;       /* see tick() */
    const volatile int *abort_flag;
    uint64_t block[3];
    const volatile int *stop;
    char pad[128];              /* keep neighbouring units' hot fields apart */
} SimtCu;

typedef struct SimtLaunch {
    const ZkLaunch *l;
    const SInsn *code;
    uint32_t n_insns;
    const uint8_t *image;       /* const space */
    uint8_t params[ZK_SIMT_MAX_PARAMS];
    uint32_t nregs, nthreads, nwarps;
    const volatile int *abort_flag;
    /* Registers a block may read before writing them (start-of-block
     * zeroing; the others are always written first): see regs_to_zero. */
    uint8_t zero_regs[ZK_SIMT_NUM_REGS];
    uint32_t n_zero_regs;
    bool gang;                  /* blocks may run in lockstep (run_gang) */
    SimtCu *cus;
    /* atomic: launch total, added to by every unit; a cache line of its
     * own (the struct is only 16-byte aligned: 64 bytes either side), so
     * the adds do not evict the read-mostly fields above from the other
     * units' caches. */
    char pad0[64];
    uint64_t insns;
    char pad1[64];
} SimtLaunch;

static int fault_at(SimtCu *cu, int type, uint64_t va)
{
    cu->fault.type = (uint32_t)type;
    cu->fault.va = va;
    return type;
}

/*
 * Register r of warp `warp`: 32 lanes.  Rows are [register][warp][lane], so
 * one register of all the block's warps is contiguous (gang execution).
 */
static uint64_t *reg(SimtCu *cu, uint32_t warp, unsigned r)
{
    return &cu->regs[((size_t)r * cu->x->nwarps + warp) * ZK_SIMT_WARP];
}

/*
 * Run body for every lane in mask; the full-mask loop vectorises.  Register
 * rows are either the same row or disjoint (256-byte rows, separate
 * immediate vectors), so a lane loop never has a dependency between lanes:
 * ivdep lets -O2's cheap vectoriser skip the runtime overlap checks it
 * would otherwise refuse to emit.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define LANE_LOOP _Pragma("GCC ivdep")
#else
#define LANE_LOOP
#endif
/*
 * The interpreter's lane loops also get AVX2 and AVX-512 (x86-64-v4)
 * builds, picked at load time on hosts that have them (4 or 8 lanes per
 * vector op instead of SSE2's 2).
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ZK_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define ZK_SIMD_CLONES
#endif

#define LANES(mask, ...) do { \
        uint32_t m_ = (mask); \
        if (m_ == ALL_LANES) { \
            LANE_LOOP \
            for (unsigned l = 0; l < ZK_SIMT_WARP; l++) { __VA_ARGS__; } \
        } else { \
            for (; m_; m_ &= m_ - 1) { unsigned l = (unsigned)__builtin_ctz(m_); __VA_ARGS__; } \
        } \
    } while (0)

/* Active lanes of a mask (the generic x86-64 build has no popcnt insn). */
static inline unsigned nlanes(uint32_t m)
{
    return m == ALL_LANES ? ZK_SIMT_WARP : (unsigned)__builtin_popcount(m);
}

/* ------------------------------------------------------------------ */
/* Scalar helpers                                                       */
/* ------------------------------------------------------------------ */

static const uint8_t type_size[ZK_ST_COUNT] = { 4, 4, 8, 8, 4, 8, 2, 2, 1, 1, 2, 2 };

static bool is64(unsigned t)
{
    return t == ZK_ST_U64 || t == ZK_ST_S64 || t == ZK_ST_F64;
}

static bool is_signed(unsigned t)
{
    return t == ZK_ST_S32 || t == ZK_ST_S64 || t == ZK_ST_S8 || t == ZK_ST_S16;
}

static bool is_fp(unsigned t)
{
    return t == ZK_ST_F32 || t == ZK_ST_F64 || t == ZK_ST_F16 || t == ZK_ST_BF16;
}

static float f32_of(uint64_t v)
{
    return zk_bits_f32((uint32_t)v);
}

static uint64_t of_f32(float f)
{
    return zk_f32_bits(f);
}

static double f64_of(uint64_t v)
{
    double d;
    memcpy(&d, &v, 8);
    return d;
}

static uint64_t of_f64(double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    return v;
}

/* Sign- or zero-extend the low bits of v per integer type. */
static int64_t sext(uint64_t v, unsigned t)
{
    switch (t) {
    case ZK_ST_S32: return (int32_t)(uint32_t)v;
    case ZK_ST_S16: return (int16_t)(uint16_t)v;
    case ZK_ST_S8: return (int8_t)(uint8_t)v;
    case ZK_ST_U32: return (uint32_t)v;
    case ZK_ST_U16: return (uint16_t)v;
    case ZK_ST_U8: return (uint8_t)v;
    default: return (int64_t)v;
    }
}

static const int fe_modes[ZK_RND_COUNT] = {
    FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD
};

/*
 * One fp operation in the current rounding mode.  The volatile operands
 * keep the compiler from evaluating it (or folding it) outside the
 * fesetround() bracket the caller puts around directed-rounding lanes.
 */
static uint64_t __attribute__((noinline))
fp_op(unsigned op, unsigned t, uint64_t ua, uint64_t ub, uint64_t uc)
{
    if (t == ZK_ST_F32) {
        volatile float a = f32_of(ua), b = f32_of(ub), c = f32_of(uc);
        float r;
        switch (op) {
        case ZK_SOP_FADD: r = a + b; break;
        case ZK_SOP_FSUB: r = a - b; break;
        case ZK_SOP_FMUL: r = a * b; break;
        case ZK_SOP_FFMA: r = fmaf(a, b, c); break;
        case ZK_SOP_FDIV: r = a / b; break;
        case ZK_SOP_FSQRT: r = sqrtf(a); break;
        default: r = 1.0f / a; break;           /* FRCP */
        }
        return of_f32(r);
    } else {
        volatile double a = f64_of(ua), b = f64_of(ub), c = f64_of(uc);
        double r;
        switch (op) {
        case ZK_SOP_FADD: r = a + b; break;
        case ZK_SOP_FSUB: r = a - b; break;
        case ZK_SOP_FMUL: r = a * b; break;
        case ZK_SOP_FFMA: r = fma(a, b, c); break;
        case ZK_SOP_FDIV: r = a / b; break;
        case ZK_SOP_FSQRT: r = sqrt(a); break;
        default: r = 1.0 / a; break;
        }
        return of_f64(r);
    }
}

/* Float to integer of type t: round per mode, saturate, NaN -> 0. */
static uint64_t f2i(double d, unsigned t, unsigned rnd)
{
    double lo, hi;

    if (d != d) {
        return 0;
    }
    switch (rnd) {
    case ZK_RND_RZ: d = trunc(d); break;
    case ZK_RND_RM: d = floor(d); break;
    case ZK_RND_RP: d = ceil(d); break;
    default: d = nearbyint(d); break;       /* default mode: nearest even */
    }
    switch (t) {
    case ZK_ST_U8: lo = 0; hi = 255; break;
    case ZK_ST_S8: lo = -128; hi = 127; break;
    case ZK_ST_U16: lo = 0; hi = 65535; break;
    case ZK_ST_S16: lo = -32768; hi = 32767; break;
    case ZK_ST_U32: lo = 0; hi = 4294967295.0; break;
    case ZK_ST_S32: lo = -2147483648.0; hi = 2147483647.0; break;
    case ZK_ST_U64:
        if (d <= 0) {
            return 0;
        }
        return d >= 0x1p64 ? UINT64_MAX : (uint64_t)d;
    default:
        if (d >= 0x1p63) {
            return (uint64_t)INT64_MAX;
        }
        return d < -0x1p63 ? (uint64_t)INT64_MIN : (uint64_t)(int64_t)d;
    }
    d = d < lo ? lo : d > hi ? hi : d;
    return is_signed(t) ? (uint64_t)(int64_t)d & (t == ZK_ST_S32 ? 0xffffffffu :
                                                  t == ZK_ST_S16 ? 0xffffu : 0xffu)
                        : (uint64_t)d;
}

static uint64_t __attribute__((noinline))
int_to_fp(uint64_t v, unsigned src, unsigned dst)
{
    volatile int64_t s = sext(v, src);
    volatile uint64_t u = (uint64_t)s;
    bool sg = is_signed(src);

    if (dst == ZK_ST_F64) {
        return of_f64(sg ? (double)s : (double)u);
    }
    float f = sg ? (float)s : (float)u;
    if (dst == ZK_ST_F32) {
        return of_f32(f);
    }
    return dst == ZK_ST_F16 ? zk_f32_to_f16(f) : zk_f32_to_bf16(f);
}

static uint64_t __attribute__((noinline))
fp_to_fp(uint64_t v, unsigned src, unsigned dst)
{
    volatile double d;

    switch (src) {
    case ZK_ST_F64: d = f64_of(v); break;
    case ZK_ST_F32: d = f32_of(v); break;
    case ZK_ST_F16: d = zk_f16_to_f32((uint16_t)v); break;
    default: d = zk_bf16_to_f32((uint16_t)v); break;
    }
    switch (dst) {
    case ZK_ST_F64: return of_f64(d);
    case ZK_ST_F32: return of_f32((float)d);
    case ZK_ST_F16: return zk_f32_to_f16((float)d);
    default: return zk_f32_to_bf16((float)d);
    }
}

static double fp_value(uint64_t v, unsigned t)
{
    switch (t) {
    case ZK_ST_F64: return f64_of(v);
    case ZK_ST_F32: return f32_of(v);
    case ZK_ST_F16: return zk_f16_to_f32((uint16_t)v);
    default: return zk_bf16_to_f32((uint16_t)v);
    }
}

/* CVT of one value; the caller has set the rounding mode for fp results. */
static uint64_t cvt(uint64_t v, unsigned dst, unsigned src, unsigned rnd)
{
    if (!is_fp(src) && !is_fp(dst)) {
        uint64_t r = (uint64_t)sext(v, src);
        return type_size[dst] == 8 ? r : r & ((1ull << (8 * type_size[dst])) - 1);
    }
    if (!is_fp(src)) {
        return int_to_fp(v, src, dst);
    }
    if (!is_fp(dst)) {
        return f2i(fp_value(v, src), dst, rnd);
    }
    return fp_to_fp(v, src, dst);
}

static bool cmp_int(unsigned c, unsigned t, uint64_t a, uint64_t b)
{
    if (is_signed(t)) {
        int64_t x = sext(a, t), y = sext(b, t);
        switch (c) {
        case ZK_CMP_EQ: return x == y;
        case ZK_CMP_NE: return x != y;
        case ZK_CMP_LT: return x < y;
        case ZK_CMP_LE: return x <= y;
        case ZK_CMP_GT: return x > y;
        default: return x >= y;
        }
    }
    if (!is64(t)) {
        a = (uint32_t)a;
        b = (uint32_t)b;
    }
    switch (c) {
    case ZK_CMP_EQ: return a == b;
    case ZK_CMP_NE: return a != b;
    case ZK_CMP_LT: return a < b;
    case ZK_CMP_LE: return a <= b;
    case ZK_CMP_GT: return a > b;
    default: return a >= b;
    }
}

static bool cmp_fp(unsigned c, double x, double y)
{
    bool un = x != x || y != y;
    switch (c) {
    case ZK_CMP_EQ: return !un && x == y;
    case ZK_CMP_NE: return !un && x != y;
    case ZK_CMP_LT: return !un && x < y;
    case ZK_CMP_LE: return !un && x <= y;
    case ZK_CMP_GT: return !un && x > y;
    case ZK_CMP_GE: return !un && x >= y;
    case ZK_CMP_EQU: return un || x == y;
    case ZK_CMP_NEU: return un || x != y;
    case ZK_CMP_LTU: return un || x < y;
    case ZK_CMP_LEU: return un || x <= y;
    case ZK_CMP_GTU: return un || x > y;
    case ZK_CMP_GEU: return un || x >= y;
    case ZK_CMP_NUM: return !un;
    default: return un;
    }
}

static bool compare(unsigned c, unsigned t, uint64_t a, uint64_t b)
{
    if (t == ZK_ST_F32) {
        return cmp_fp(c, f32_of(a), f32_of(b));
    }
    if (t == ZK_ST_F64) {
        return cmp_fp(c, f64_of(a), f64_of(b));
    }
    return cmp_int(c, t, a, b);
}

/* Integer ops that have no dedicated vector loop. */
static uint64_t ialu(const SInsn *in, uint64_t a, uint64_t b, uint64_t c)
{
    unsigned t = in->type, w = is64(t) ? 64 : 32;
    uint64_t wmask = w == 64 ? ~0ull : 0xffffffffull;
    bool s = is_signed(t);
    int64_t sa = sext(a, t), sb = sext(b, t);
    uint64_t ua = a & wmask, ub = b & wmask, r;

    switch (in->op) {
    case ZK_SOP_MULHI:
        if (w == 32) {
            r = s ? (uint64_t)((sa * sb) >> 32) : (ua * ub) >> 32;
        } else if (s) {
            r = (uint64_t)(((__int128)sa * sb) >> 64);
        } else {
            r = (uint64_t)(((unsigned __int128)ua * ub) >> 64);
        }
        break;
    case ZK_SOP_MULWIDE:
        return s ? (uint64_t)(sa * sb) : ua * ub;
    case ZK_SOP_MADWIDE:
        return (s ? (uint64_t)(sa * sb) : ua * ub) + c;
    case ZK_SOP_DIV:
        if (!ub) {
            r = ~0ull;
        } else if (s) {
            int64_t min = w == 32 ? INT32_MIN : INT64_MIN;
            r = (sa == min && sb == -1) ? (uint64_t)min : (uint64_t)(sa / sb);
        } else {
            r = ua / ub;
        }
        break;
    case ZK_SOP_REM:
        if (!ub) {
            r = a;
        } else if (s) {
            r = sb == -1 ? 0 : (uint64_t)(sa % sb);
        } else {
            r = ua % ub;
        }
        break;
    case ZK_SOP_MIN:
        r = s ? (uint64_t)(sa < sb ? sa : sb) : (ua < ub ? ua : ub);
        break;
    case ZK_SOP_MAX:
        r = s ? (uint64_t)(sa > sb ? sa : sb) : (ua > ub ? ua : ub);
        break;
    case ZK_SOP_ABS:
        r = s && sa < 0 ? 0 - (uint64_t)sa : ua;
        break;
    case ZK_SOP_NEG:
        r = 0 - a;
        break;
    case ZK_SOP_NOT:
        r = ~a;
        break;
    case ZK_SOP_SHL:
        r = (uint32_t)b >= w ? 0 : ua << (uint32_t)b;
        break;
    case ZK_SOP_SHR:
        if (s) {
            unsigned n = (uint32_t)b >= w ? w - 1 : (uint32_t)b;
            r = sa < 0 ? ~(~(uint64_t)sa >> n) : (uint64_t)sa >> n;
        } else {
            r = (uint32_t)b >= w ? 0 : ua >> (uint32_t)b;
        }
        break;
    case ZK_SOP_POPC:
        return (uint64_t)__builtin_popcountll(ua);
    case ZK_SOP_CLZ:
        return ua ? (uint64_t)(__builtin_clzll(ua) - (64 - w)) : w;
    case ZK_SOP_BREV: {
        uint64_t v = ua, o = 0;
        for (unsigned i = 0; i < w; i++, v >>= 1) {
            o = (o << 1) | (v & 1);
        }
        r = o;
        break;
    }
    case ZK_SOP_BFE: {
        unsigned pos = b & 0xff, len = c & 0xff;
        if (!len) {
            return 0;
        }
        uint64_t field = pos >= w ? 0 : ua >> pos;
        if (len < w) {
            field &= (1ull << len) - 1;
        }
        if (s) {
            unsigned top = pos + len - 1 >= w ? w - 1 : pos + len - 1;
            if ((ua >> top) & 1 && len < 64) {
                field |= ~0ull << (len < w ? len : w);
            }
        }
        r = field;
        break;
    }
    case ZK_SOP_BFI: {
        unsigned pos = c & 0xff, len = (c >> 8) & 0xff;
        r = ub;
        if (len && pos < w) {
            uint64_t m = len >= 64 ? ~0ull : (1ull << len) - 1;
            m <<= pos;
            r = (ub & ~m) | ((ua << pos) & m);
        }
        break;
    }
    case ZK_SOP_SHF: {
        uint64_t v = (uint64_t)(uint32_t)b << 32 | (uint32_t)a;
        uint32_t n = (uint32_t)c;
        n = (in->mod & ZK_SHF_CLAMP) ? (n > 32 ? 32 : n) : (n & 31);
        r = (in->mod & ZK_SHF_R) ? (uint32_t)(v >> n) : (uint32_t)((v << n) >> 32);
        break;
    }
    default:
        r = 0;
        break;
    }
    return r & wmask;
}

/* ------------------------------------------------------------------ */
/* Memory                                                               */
/* ------------------------------------------------------------------ */

/*
 * Host pointer for n bytes at address addr of space sp seen by thread tid,
 * or NULL: *f = 0 means "valid but not directly mapped" (system memory,
 * a page boundary: use zk_mem_read/write), else *f is the fault.
 */
static uint8_t *resolve(SimtCu *cu, unsigned sp, uint64_t addr, unsigned n,
                        bool write, uint32_t tid, int *f)
{
    const ZkLaunch *l = cu->x->l;
    int kind = write ? ZK_FAULT_MMU_WRITE : ZK_FAULT_MMU_READ;

    *f = 0;
    if (sp == ZK_SPACE_GENERIC) {
        if (addr - ZK_SIMT_SHARED_WINDOW < ZK_SIMT_WINDOW_SIZE) {
            sp = ZK_SPACE_SHARED;
            addr -= ZK_SIMT_SHARED_WINDOW;
        } else if (addr - ZK_SIMT_LOCAL_WINDOW < ZK_SIMT_WINDOW_SIZE) {
            sp = ZK_SPACE_LOCAL;
            addr -= ZK_SIMT_LOCAL_WINDOW;
        } else {
            sp = ZK_SPACE_GLOBAL;
        }
    }
    switch (sp) {
    case ZK_SPACE_SHARED:
        if (addr > l->shared_bytes || n > l->shared_bytes - addr) {
            *f = fault_at(cu, kind, ZK_SIMT_SHARED_WINDOW + (addr & 0xffffffffull));
            return NULL;
        }
        cu->st.simt_shared_bytes += n;
        return cu->shared + addr;
    case ZK_SPACE_LOCAL:
        if (addr > l->local_bytes || n > l->local_bytes - addr) {
            *f = fault_at(cu, kind, ZK_SIMT_LOCAL_WINDOW + (addr & 0xffffffffull));
            return NULL;
        }
        return cu->local + (size_t)tid * l->local_bytes + addr;
    case ZK_SPACE_PARAM:
        if (addr > l->args_size || n > l->args_size - addr) {
            *f = fault_at(cu, ZK_FAULT_MMU_READ, l->args_va + (addr & 0xffffffffull));
            return NULL;
        }
        return cu->x->params + addr;
    case ZK_SPACE_CONST:
        if (addr > l->code_size || n > l->code_size - addr) {
            *f = fault_at(cu, ZK_FAULT_MMU_READ, l->code_va + (addr & 0xffffffffull));
            return NULL;
        }
        return (uint8_t *)cu->x->image + addr;
    default:
        break;
    }
    /* Global: software TLB of 4 KiB HBM pages. */
    uint64_t vpage = addr >> ZK_PAGE_SHIFT, in_page = addr & (ZK_PAGE_SIZE - 1);
    TlbEntry *e = &cu->tlb[vpage % TLB_SIZE];
    if (e->vpage != vpage || (write && !e->writable)) {
        ZkXlate x;
        if (zk_mmu_translate(&cu->ms, addr, write, &x, &cu->fault)) {
            *f = (int)cu->fault.type;
            return NULL;
        }
        if (x.sysmem) {
            return NULL;
        }
        e->vpage = vpage;
        e->host = cu->ms.hbm + (x.addr - in_page);
        e->writable = x.writable;
    }
    if (in_page + n > ZK_PAGE_SIZE) {
        return NULL;
    }
    if (write) {
        cu->ms.hbm_bytes_written += n;
        cu->st.bytes_written += n;
    } else {
        cu->ms.hbm_bytes_read += n;
        cu->st.bytes_read += n;
    }
    return e->host + in_page;
}

/*
 * One value of type t at host pointer p, sign-extended per type.  Fixed-size
 * copies: a memcpy of a variable length becomes a `rep movs` whose start-up
 * cost was most of a per-lane load.
 */
static inline uint64_t ld_host(const uint8_t *p, unsigned t)
{
    uint8_t b;
    uint16_t h;
    uint32_t w;
    uint64_t d;

    switch (type_size[t]) {
    case 1:
        b = *p;
        return t == ZK_ST_S8 ? (uint64_t)(int64_t)(int8_t)b : b;
    case 2:
        memcpy(&h, p, 2);
        return t == ZK_ST_S16 ? (uint64_t)(int64_t)(int16_t)h : h;
    case 4:
        memcpy(&w, p, 4);
        return t == ZK_ST_S32 ? (uint64_t)(int64_t)(int32_t)w : w;
    default:
        memcpy(&d, p, 8);
        return d;
    }
}

static inline void st_host(uint8_t *p, unsigned t, uint64_t v)
{
    uint16_t h = (uint16_t)v;
    uint32_t w = (uint32_t)v;

    switch (type_size[t]) {
    case 1: *p = (uint8_t)v; break;
    case 2: memcpy(p, &h, 2); break;
    case 4: memcpy(p, &w, 4); break;
    default: memcpy(p, &v, 8); break;
    }
}

static int mem_load(SimtCu *cu, unsigned sp, uint64_t addr, unsigned t,
                    uint32_t tid, uint64_t *out)
{
    unsigned n = type_size[t];
    uint64_t v = 0;
    int f;
    uint8_t *p = resolve(cu, sp, addr, n, false, tid, &f);

    if (p) {
        *out = ld_host(p, t);
        return 0;
    } else if (f) {
        return f;
    } else {
        if (zk_mem_read(&cu->ms, addr, &v, n, &cu->fault)) {
            return (int)cu->fault.type;
        }
        cu->st.bytes_read += n;
    }
    *out = is_signed(t) ? (uint64_t)sext(v, t) : v;
    return 0;
}

static int mem_store(SimtCu *cu, unsigned sp, uint64_t addr, unsigned t,
                     uint32_t tid, uint64_t v)
{
    unsigned n = type_size[t];
    int f;
    uint8_t *p = resolve(cu, sp, addr, n, true, tid, &f);

    if (p) {
        st_host(p, t, v);
        return 0;
    }
    if (f) {
        return f;
    }
    if (zk_mem_write(&cu->ms, addr, &v, n, &cu->fault)) {
        return (int)cu->fault.type;
    }
    cu->st.bytes_written += n;
    return 0;
}

static uint64_t atom_apply(unsigned op, unsigned t, uint64_t old, uint64_t b,
                           uint64_t c)
{
    bool s = is_signed(t);
    int64_t so = sext(old, t), sb = sext(b, t);

    switch (op) {
    case ZK_ATOM_ADD:
        return t == ZK_ST_F32 ? of_f32(f32_of(old) + f32_of(b)) : old + b;
    case ZK_ATOM_MIN:
        return s ? (uint64_t)(so < sb ? so : sb) : (old < b ? old : b);
    case ZK_ATOM_MAX:
        return s ? (uint64_t)(so > sb ? so : sb) : (old > b ? old : b);
    case ZK_ATOM_EXCH: return b;
    case ZK_ATOM_CAS: return old == b ? c : old;
    case ZK_ATOM_AND: return old & b;
    case ZK_ATOM_OR: return old | b;
    case ZK_ATOM_XOR: return old ^ b;
    case ZK_ATOM_INC: return (uint32_t)old >= (uint32_t)b ? 0 : old + 1;
    default: /* DEC */
        return ((uint32_t)old == 0 || (uint32_t)old > (uint32_t)b) ? b : old - 1;
    }
}

/* One lane's atomic: natural alignment, HBM, shared (or local) memory. */
static int mem_atomic(SimtCu *cu, const SInsn *in, uint64_t addr, uint32_t tid,
                      uint64_t b, uint64_t c, uint64_t *old_out)
{
    unsigned n = type_size[in->type];
    bool wide = n == 8;
    int f;
    uint8_t *p;

    if (addr % n) {
        return fault_at(cu, ZK_FAULT_ENGINE, addr);
    }
    p = resolve(cu, in->t2, addr, n, true, tid, &f);
    if (!p) {
        /* Atomics need HBM: system memory (or a misaligned split) faults. */
        return f ? f : fault_at(cu, ZK_FAULT_MMU_WRITE, addr);
    }
    if (!wide) {
        b = (uint32_t)b;
        c = (uint32_t)c;
    }
    if (in->mod == ZK_ATOM_ADD && in->type != ZK_ST_F32) {
        *old_out = wide ? __atomic_fetch_add((uint64_t *)p, b, __ATOMIC_SEQ_CST)
                        : __atomic_fetch_add((uint32_t *)p, (uint32_t)b, __ATOMIC_SEQ_CST);
    } else if (wide) {
        uint64_t old = __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED), nv;
        do {
            nv = atom_apply(in->mod, in->type, old, b, c);
        } while (!__atomic_compare_exchange_n((uint64_t *)p, &old, nv, false,
                                              __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
        *old_out = old;
    } else {
        uint32_t old = __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED), nv;
        do {
            nv = (uint32_t)atom_apply(in->mod, in->type, old, b, c);
        } while (!__atomic_compare_exchange_n((uint32_t *)p, &old, nv, false,
                                              __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
        *old_out = old;
    }
    if (is_signed(in->type)) {
        *old_out = (uint64_t)sext(*old_out, in->type);
    }
    return 0;
}

/*
 * Whole-warp accesses the way GPUs coalesce them: all 32 lanes at one
 * address (a broadcast, e.g. parameters) or at consecutive elements inside
 * one page/region: one translation and one copy for the warp.  Returns 1
 * (broadcast), 2 (consecutive) or 0 (neither: the per-lane path).
 */
static inline __attribute__((always_inline)) int
warp_pattern(const SInsn *in, const uint64_t *A, unsigned n, uint64_t *base)
{
    uint64_t a0 = A[0], diff_same = 0, diff_seq = 0;

    /* Branch-free OR-reductions over the lanes, so the loop vectorises. */
    LANE_LOOP
    for (unsigned l = 0; l < ZK_SIMT_WARP; l++) {
        diff_same |= A[l] ^ a0;
        diff_seq |= (A[l] - a0) ^ ((uint64_t)l * n);
    }
    *base = a0 + in->imm;
    /* Local memory is per thread: one address is 32 different bytes. */
    if (in->t2 == ZK_SPACE_GENERIC &&
        *base - ZK_SIMT_LOCAL_WINDOW < ZK_SIMT_WINDOW_SIZE) {
        return 0;
    }
    return !diff_same ? 1 : !diff_seq ? 2 : 0;
}

/*
 * Local memory (ld/st.local, or generic addresses in the local window) for
 * the lanes in ex: lane l's bytes are at local + (tid0 + l) * local_bytes +
 * its address.  One bounds check pass, then one fixed-size copy per lane,
 * instead of a full resolve() each.  Returns 1 when some lane is out of
 * range or (generic) not local: the per-lane path then decides and faults
 * on the exact lane.  D: load into D, else store B.
 */
/* Worth trying local_warp: local space, or a generic address whose first
 * active lane is in the local window (a cheap filter for global pointers). */
static inline bool maybe_local(const SInsn *in, const uint64_t *A, uint32_t ex)
{
    if (in->t2 == ZK_SPACE_LOCAL) {
        return true;
    }
    return in->t2 == ZK_SPACE_GENERIC &&
           A[__builtin_ctz(ex)] + in->imm - ZK_SIMT_LOCAL_WINDOW < ZK_SIMT_WINDOW_SIZE;
}

static inline __attribute__((always_inline)) int
local_warp(SimtCu *cu, const SInsn *in, uint32_t ex, uint32_t tid0,
           const uint64_t *A, const uint64_t *B, uint64_t *D)
{
    uint32_t lb = cu->x->l->local_bytes;
    unsigned t = in->type, n = type_size[t];
    uint64_t off = in->imm - (in->t2 == ZK_SPACE_GENERIC ? ZK_SIMT_LOCAL_WINDOW : 0);
    uint64_t lim = lb - n, bad = 0;
    uint8_t *mem = cu->local + (size_t)tid0 * lb;

    if (n > lb) {
        return 1;
    }
    LANES(ex, bad |= (uint64_t)(A[l] + off > lim));
    if (bad) {
        return 1;
    }
    /*
     * 4- and 8-byte accesses (spills, arrays of int/float/pointers) get
     * loops without the type switch, which the AVX-512 clone turns into
     * gathers and scatters.
     */
    if (D && n == 4 && t == ZK_ST_S32) {
        LANES(ex, { int32_t w; memcpy(&w, mem + (size_t)l * lb + (A[l] + off), 4);
                    D[l] = (uint64_t)(int64_t)w; });
    } else if (D && n == 4) {
        LANES(ex, { uint32_t w; memcpy(&w, mem + (size_t)l * lb + (A[l] + off), 4); D[l] = w; });
    } else if (D && n == 8) {
        LANES(ex, memcpy(&D[l], mem + (size_t)l * lb + (A[l] + off), 8));
    } else if (D) {
        LANES(ex, D[l] = ld_host(mem + (size_t)l * lb + (A[l] + off), t));
    } else if (n == 4) {
        LANES(ex, { uint32_t w = (uint32_t)B[l]; memcpy(mem + (size_t)l * lb + (A[l] + off), &w, 4); });
    } else if (n == 8) {
        LANES(ex, memcpy(mem + (size_t)l * lb + (A[l] + off), &B[l], 8));
    } else {
        LANES(ex, st_host(mem + (size_t)l * lb + (A[l] + off), t, B[l]));
    }
    return 0;
}

/*
 * 32 u32/s32 values at p to 64-bit lanes, and back: generic vector code
 * (one widening or narrowing op per 8 lanes in each clone's ISA); the plain
 * loops stayed scalar, as gcc cannot prove p and D apart.
 */
typedef uint32_t V8u32 __attribute__((vector_size(32)));
typedef int32_t V8s32 __attribute__((vector_size(32)));
typedef uint64_t V8u64 __attribute__((vector_size(64)));
typedef int64_t V8s64 __attribute__((vector_size(64)));

static inline __attribute__((always_inline)) void
widen32(uint64_t *D, const uint8_t *p, bool sgn)
{
    for (unsigned k = 0; k < ZK_SIMT_WARP; k += 8) {
        V8u32 w;
        V8u64 d;
        memcpy(&w, p + 4 * k, sizeof(w));
        if (sgn) {
            d = (V8u64)__builtin_convertvector((V8s32)w, V8s64);
        } else {
            d = __builtin_convertvector(w, V8u64);
        }
        memcpy(&D[k], &d, sizeof(d));
    }
}

static inline __attribute__((always_inline)) void
narrow32(uint8_t *p, const uint64_t *B)
{
    for (unsigned k = 0; k < ZK_SIMT_WARP; k += 8) {
        V8u64 b;
        V8u32 w;
        memcpy(&b, &B[k], sizeof(b));
        w = __builtin_convertvector(b, V8u32);
        memcpy(p + 4 * k, &w, sizeof(w));
    }
}

static inline __attribute__((always_inline)) int
load_warp(SimtCu *cu, const SInsn *in, const uint64_t *A, uint64_t *D)
{
    unsigned t = in->type, n = type_size[t];
    uint64_t base, v = 0;
    int kind = warp_pattern(in, A, n, &base), f;
    uint8_t *p;

    if (kind == 1) {
        f = mem_load(cu, in->t2, base, t, 0, &v);
        if (f) {
            return -f;
        }
        for (unsigned l = 0; l < ZK_SIMT_WARP; l++) {
            D[l] = v;
        }
        return 0;
    }
    if (kind != 2) {
        return 1;
    }
    p = resolve(cu, in->t2, base, n * ZK_SIMT_WARP, false, 0, &f);
    if (!p) {
        /* Not one mapped run (page boundary, system memory) or a fault:
         * the per-lane path decides, faulting on the exact lane. */
        return 1;
    }
    switch (t) {
    case ZK_ST_U32: case ZK_ST_F32: {
        widen32(D, p, false);
        return 0;
    }
    case ZK_ST_S32: {
        widen32(D, p, true);
        return 0;
    }
    case ZK_ST_U64: case ZK_ST_S64: case ZK_ST_F64:
        memcpy(D, p, 8 * ZK_SIMT_WARP);
        return 0;
    default:
        for (unsigned l = 0; l < ZK_SIMT_WARP; l++) {
            uint64_t x = 0;
            memcpy(&x, p + l * n, n);
            D[l] = is_signed(t) ? (uint64_t)sext(x, t) : x;
        }
        return 0;
    }
}

static inline __attribute__((always_inline)) int
store_warp(SimtCu *cu, const SInsn *in, const uint64_t *A, const uint64_t *B)
{
    unsigned t = in->type, n = type_size[t];
    uint64_t base;
    int f;
    uint8_t *p;

    if (warp_pattern(in, A, n, &base) != 2) {
        return 1;
    }
    p = resolve(cu, in->t2, base, n * ZK_SIMT_WARP, true, 0, &f);
    if (!p) {
        return 1;
    }
    if (n == 4) {
        narrow32(p, B);
    } else if (n == 8) {
        memcpy(p, B, 8 * ZK_SIMT_WARP);
    } else {
        for (unsigned l = 0; l < ZK_SIMT_WARP; l++) {
            memcpy(p + l * n, &B[l], n);
        }
    }
    return 0;
}

/* fp32 fma over a full warp with AVX2 + FMA when the host has them (the
 * generic build calls libm's fmaf per lane). */
#if defined(__x86_64__) || defined(__i386__)
static void __attribute__((target("avx2,fma")))
ffma_warp_hw(uint64_t *D, const uint64_t *A, const uint64_t *B, const uint64_t *C)
{
    LANE_LOOP
    for (unsigned l = 0; l < ZK_SIMT_WARP; l++) {
        D[l] = of_f32(__builtin_fmaf(f32_of(A[l]), f32_of(B[l]), f32_of(C[l])));
    }
}

static bool host_has_fma(void)
{
    static int has = -1;
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return has;
}
#else
static void ffma_warp_hw(uint64_t *D, const uint64_t *A, const uint64_t *B,
                         const uint64_t *C)
{
    for (unsigned l = 0; l < ZK_SIMT_WARP; l++) {
        D[l] = of_f32(fmaf(f32_of(A[l]), f32_of(B[l]), f32_of(C[l])));
    }
}

static bool host_has_fma(void)
{
    return false;
}
#endif

/* ------------------------------------------------------------------ */
/* One warp instruction (non-control)                                  */
/* ------------------------------------------------------------------ */

static uint64_t sreg_value(SimtCu *cu, uint32_t warp, unsigned lane, unsigned sr)
{
    const ZkLaunch *l = cu->x->l;
    uint32_t tid = warp * ZK_SIMT_WARP + lane;
    uint64_t below = (1ull << lane) - 1;

    switch (sr) {
    case ZK_SR_TID_X: return tid % l->block[0];
    case ZK_SR_TID_Y: return (tid / l->block[0]) % l->block[1];
    case ZK_SR_TID_Z: return tid / (l->block[0] * l->block[1]);
    case ZK_SR_NTID_X: case ZK_SR_NTID_Y: case ZK_SR_NTID_Z:
        return l->block[sr - ZK_SR_NTID_X];
    case ZK_SR_CTAID_X: case ZK_SR_CTAID_Y: case ZK_SR_CTAID_Z:
        return cu->block[sr - ZK_SR_CTAID_X];
    case ZK_SR_NCTAID_X: case ZK_SR_NCTAID_Y: case ZK_SR_NCTAID_Z:
        return l->grid[sr - ZK_SR_NCTAID_X];
    case ZK_SR_LANEID: return lane;
    case ZK_SR_WARPID: return warp;
    case ZK_SR_NWARPID: return cu->x->nwarps;
    case ZK_SR_CLOCK: return (uint32_t)(cu->st.insns - cu->block_insns0);
    case ZK_SR_CLOCK64: return cu->st.insns - cu->block_insns0;
    case ZK_SR_LANEMASK_EQ: return 1ull << lane;
    case ZK_SR_LANEMASK_LT: return below;
    case ZK_SR_LANEMASK_LE: return below | (1ull << lane);
    case ZK_SR_LANEMASK_GT: return ALL_LANES & ~(below | (1ull << lane));
    case ZK_SR_LANEMASK_GE: return ALL_LANES & ~below;
    case ZK_SR_SHARED_SIZE: return l->shared_bytes;
    case ZK_SR_LOCAL_SIZE: return l->local_bytes;
    case ZK_SR_PARAM_SIZE: return l->args_size;
    case ZK_SR_CODE_VA: return l->code_va;
    case ZK_SR_SMID: return cu->index;
    case ZK_SR_NSMID: return l->num_cus ? l->num_cus : 1;
    default: {                          /* GLOBALTIMER */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    }
    }
}

static void set_pred(Warp *w, unsigned p, uint32_t ex, uint32_t val)
{
    if (p) {
        w->preds[p] = (w->preds[p] & ~ex) | (val & ex);
    }
}

static uint32_t pred_code(const Warp *w, unsigned code)
{
    return w->preds[code & 7] ^ ((code & 8) ? ALL_LANES : 0);
}

/* 32 bytes of 0/1 to a lane mask: 8 lanes per multiply. */
static uint32_t pack_lanes(const uint8_t *v)
{
    uint32_t r = 0;

    for (unsigned i = 0; i < ZK_SIMT_WARP / 8; i++) {
        uint64_t x;
        memcpy(&x, v + 8 * i, 8);
        r |= (uint32_t)(((x * 0x0102040810204080ull) >> 56) & 0xff) << (8 * i);
    }
    return r;
}

/*
 * 32-bit integer setp over a full warp: one loop per comparison so each
 * one vectorises, then the bytes are packed into the predicate mask.
 */
static uint32_t setp32_warp(unsigned c, bool sgn, const uint64_t *A, const uint64_t *B)
{
    uint8_t v[ZK_SIMT_WARP];

#define SETP_LOOP(T, OP) do { \
        LANE_LOOP \
        for (unsigned l = 0; l < ZK_SIMT_WARP; l++) { \
            v[l] = (T)A[l] OP (T)B[l]; \
        } \
    } while (0)
    switch (c) {
    case ZK_CMP_EQ: SETP_LOOP(uint32_t, ==); break;
    case ZK_CMP_NE: SETP_LOOP(uint32_t, !=); break;
    case ZK_CMP_LT: if (sgn) { SETP_LOOP(int32_t, <); } else { SETP_LOOP(uint32_t, <); } break;
    case ZK_CMP_LE: if (sgn) { SETP_LOOP(int32_t, <=); } else { SETP_LOOP(uint32_t, <=); } break;
    case ZK_CMP_GT: if (sgn) { SETP_LOOP(int32_t, >); } else { SETP_LOOP(uint32_t, >); } break;
    default: if (sgn) { SETP_LOOP(int32_t, >=); } else { SETP_LOOP(uint32_t, >=); } break;
    }
#undef SETP_LOOP
    return pack_lanes(v);
}

/*
 * f32 setp over a full warp, NaN rules of cmp_fp: C's <, <=, >, >=, == are
 * already false on NaN (the ordered forms), the unordered forms are their
 * negated opposites.  One loop per comparison, so each one vectorises.
 */
static uint32_t setpf32_warp(unsigned c, const uint64_t *A, const uint64_t *B)
{
    uint8_t v[ZK_SIMT_WARP];

#define SETPF_LOOP(EXPR) do { \
        LANE_LOOP \
        for (unsigned l = 0; l < ZK_SIMT_WARP; l++) { \
            float x = f32_of(A[l]), y = f32_of(B[l]); \
            v[l] = (EXPR); \
        } \
    } while (0)
    switch (c) {
    case ZK_CMP_EQ: SETPF_LOOP(x == y); break;
    case ZK_CMP_NE: SETPF_LOOP(x < y || x > y); break;
    case ZK_CMP_LT: SETPF_LOOP(x < y); break;
    case ZK_CMP_LE: SETPF_LOOP(x <= y); break;
    case ZK_CMP_GT: SETPF_LOOP(x > y); break;
    case ZK_CMP_GE: SETPF_LOOP(x >= y); break;
    case ZK_CMP_EQU: SETPF_LOOP(!(x < y || x > y)); break;
    case ZK_CMP_NEU: SETPF_LOOP(x != y); break;
    case ZK_CMP_LTU: SETPF_LOOP(!(x >= y)); break;
    case ZK_CMP_LEU: SETPF_LOOP(!(x > y)); break;
    case ZK_CMP_GTU: SETPF_LOOP(!(x <= y)); break;
    case ZK_CMP_GEU: SETPF_LOOP(!(x < y)); break;
    case ZK_CMP_NUM: SETPF_LOOP(x == x && y == y); break;
    default: SETPF_LOOP(x != x || y != y); break;
    }
#undef SETPF_LOOP
    return pack_lanes(v);
}

/*
 * 32 copies of immediate v from the per-unit cache, in slot s (chosen at
 * decode: imm_slots()).
 */
static inline const uint64_t *imm_lanes(SimtCu *cu, uint64_t v, unsigned s)
{
    if (!(cu->imm_ok[s] && cu->imm_tag[s] == v)) {
        for (unsigned l = 0; l < ZK_SIMT_WARP; l++) {
            cu->imm_vec[s][l] = v;
        }
        cu->imm_tag[s] = v;
        cu->imm_ok[s] = true;
    }
    return cu->imm_vec[s];
}

/* Inlined into run_warp, so each of its builds has its own copy. */
static inline __attribute__((always_inline)) int
exec_insn(SimtCu *cu, uint32_t wi, Warp *w, const SInsn *in, uint32_t ex)
{
    const uint64_t *A = reg(cu, wi, in->ra);
    const uint64_t *B = reg(cu, wi, in->rb);
    const uint64_t *C = reg(cu, wi, in->rc);
    uint64_t *D = in->rd ? reg(cu, wi, in->rd) : cu->sink;
    unsigned t = in->type;
    uint64_t wm = is64(t) ? ~0ull : 0xffffffffull;
    uint32_t tid0 = wi * ZK_SIMT_WARP;
    int f;

    cu->row_ok[in->rd] = false;         /* one warp's rd changes (maybe) */

    if (in->flags & ZK_SF_BIMM) {
        B = imm_lanes(cu, in->bimm, in->bslot);
    }
    if (in->flags & ZK_SF_CIMM) {
        C = imm_lanes(cu, in->cimm, in->cslot);
    }
    cu->st.simt_lane_ops[in->cls] += (uint64_t)nlanes(ex);

    switch (in->op) {
    case ZK_SOP_NOP:
        return 0;
    case ZK_SOP_MEMBAR:
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        return 0;
    case ZK_SOP_MOV:
        LANES(ex, D[l] = B[l]);
        return 0;
    case ZK_SOP_SREG: {
        /* The thread index is per lane; everything else is per warp. */
        const ZkLaunch *la = cu->x->l;
        switch (in->imm) {
        case ZK_SR_TID_X:
            if (la->block[1] == 1 && la->block[2] == 1) {
                LANES(ex, D[l] = tid0 + l);
            } else {
                LANES(ex, D[l] = (tid0 + l) % la->block[0]);
            }
            return 0;
        case ZK_SR_TID_Y: case ZK_SR_TID_Z: case ZK_SR_LANEID:
        case ZK_SR_LANEMASK_EQ: case ZK_SR_LANEMASK_LT: case ZK_SR_LANEMASK_LE:
        case ZK_SR_LANEMASK_GT: case ZK_SR_LANEMASK_GE: case ZK_SR_GLOBALTIMER:
            LANES(ex, D[l] = sreg_value(cu, wi, l, (unsigned)in->imm));
            return 0;
        default: {
            uint64_t v = sreg_value(cu, wi, 0, (unsigned)in->imm);
            LANES(ex, D[l] = v);
            return 0;
        }
        }
    }
    case ZK_SOP_SELP: {
        uint32_t p = w->preds[in->pd];
        LANES(ex, D[l] = (p >> l) & 1 ? A[l] : B[l]);
        return 0;
    }
    case ZK_SOP_CVTA: {
        uint64_t base = in->t2 == ZK_SPACE_SHARED ? ZK_SIMT_SHARED_WINDOW :
                        in->t2 == ZK_SPACE_LOCAL ? ZK_SIMT_LOCAL_WINDOW : 0;
        if (in->mod) {
            LANES(ex, D[l] = base ? (A[l] - base) & 0xffffffffull : A[l]);
        } else {
            LANES(ex, D[l] = base ? base + (A[l] & 0xffffffffull) : A[l]);
        }
        return 0;
    }
    case ZK_SOP_ADD: LANES(ex, D[l] = (A[l] + B[l]) & wm); return 0;
    case ZK_SOP_SUB: LANES(ex, D[l] = (A[l] - B[l]) & wm); return 0;
    /* 32-bit: masked operands, so the product is one 32x32->64 multiply. */
    case ZK_SOP_MUL:
        if (wm == ~0ull) {
            LANES(ex, D[l] = A[l] * B[l]);
        } else {
            LANES(ex, D[l] = ((A[l] & wm) * (B[l] & wm)) & wm);
        }
        return 0;
    case ZK_SOP_MAD:
        if (wm == ~0ull) {
            LANES(ex, D[l] = A[l] * B[l] + C[l]);
        } else {
            LANES(ex, D[l] = ((A[l] & wm) * (B[l] & wm) + C[l]) & wm);
        }
        return 0;
    case ZK_SOP_AND: LANES(ex, D[l] = (A[l] & B[l]) & wm); return 0;
    case ZK_SOP_OR: LANES(ex, D[l] = (A[l] | B[l]) & wm); return 0;
    case ZK_SOP_XOR: LANES(ex, D[l] = (A[l] ^ B[l]) & wm); return 0;
    case ZK_SOP_SETP: {
        uint32_t r = 0;
        if ((t == ZK_ST_U32 || t == ZK_ST_S32) && ex == ALL_LANES) {
            r = setp32_warp(in->mod, t == ZK_ST_S32, A, B);
        } else if (t == ZK_ST_F32 && ex == ALL_LANES) {
            r = setpf32_warp(in->mod, A, B);
        } else if (t == ZK_ST_U32 || t == ZK_ST_S32) {
            unsigned c = in->mod;
            bool s = t == ZK_ST_S32;
            LANES(ex, {
                int64_t x = s ? (int32_t)A[l] : (int64_t)(uint32_t)A[l];
                int64_t y = s ? (int32_t)B[l] : (int64_t)(uint32_t)B[l];
                bool v = c == ZK_CMP_EQ ? x == y : c == ZK_CMP_NE ? x != y :
                         c == ZK_CMP_LT ? x < y : c == ZK_CMP_LE ? x <= y :
                         c == ZK_CMP_GT ? x > y : x >= y;
                r |= (uint32_t)v << l;
            });
        } else {
            LANES(ex, r |= (uint32_t)compare(in->mod, t, A[l], B[l]) << l);
        }
        set_pred(w, in->pd, ex, r);
        return 0;
    }
    case ZK_SOP_SET:
        LANES(ex, D[l] = compare(in->mod, t, A[l], B[l]));
        return 0;
    case ZK_SOP_PLOP: {
        uint32_t a = pred_code(w, in->ra), b = pred_code(w, in->rb);
        uint32_t r = in->mod == ZK_PLOP_AND ? a & b : in->mod == ZK_PLOP_OR ? a | b : a ^ b;
        set_pred(w, in->pd, ex, r);
        return 0;
    }
    case ZK_SOP_MULWIDE: case ZK_SOP_MADWIDE: {
        /* Address arithmetic: the hot path of most kernels, vectorised. */
        bool mad = in->op == ZK_SOP_MADWIDE;
        /* Masks, not casts: the vectoriser then sees one 32x32->64 multiply. */
        if (t == ZK_ST_U32 && mad) {
            LANES(ex, D[l] = (A[l] & 0xffffffffull) * (B[l] & 0xffffffffull) + C[l]);
        } else if (t == ZK_ST_U32) {
            LANES(ex, D[l] = (A[l] & 0xffffffffull) * (B[l] & 0xffffffffull));
        } else if (mad) {
            LANES(ex, D[l] = (uint64_t)((int64_t)(int32_t)A[l] * (int32_t)B[l]) + C[l]);
        } else {
            LANES(ex, D[l] = (uint64_t)((int64_t)(int32_t)A[l] * (int32_t)B[l]));
        }
        return 0;
    }
    case ZK_SOP_SHL: case ZK_SOP_SHR:
        if ((in->flags & ZK_SF_BIMM) && (t == ZK_ST_U32 || t == ZK_ST_U64)) {
            uint32_t sh = (uint32_t)in->bimm;
            if (sh >= (is64(t) ? 64u : 32u)) {
                LANES(ex, D[l] = 0);
            } else if (in->op == ZK_SOP_SHL) {
                LANES(ex, D[l] = (A[l] << sh) & wm);
            } else {
                LANES(ex, D[l] = (A[l] & wm) >> sh);
            }
            return 0;
        }
        LANES(ex, D[l] = ialu(in, A[l], B[l], C[l]));
        return 0;
    case ZK_SOP_MULHI:
    case ZK_SOP_DIV: case ZK_SOP_REM: case ZK_SOP_MIN: case ZK_SOP_MAX:
    case ZK_SOP_ABS: case ZK_SOP_NEG: case ZK_SOP_NOT: case ZK_SOP_POPC: case ZK_SOP_CLZ: case ZK_SOP_BREV:
    case ZK_SOP_BFE: case ZK_SOP_BFI: case ZK_SOP_SHF:
        LANES(ex, D[l] = ialu(in, A[l], B[l], C[l]));
        return 0;
    case ZK_SOP_FADD: case ZK_SOP_FSUB: case ZK_SOP_FMUL: case ZK_SOP_FFMA:
    case ZK_SOP_FDIV: case ZK_SOP_FSQRT: case ZK_SOP_FRCP:
        if (in->op == ZK_SOP_FFMA && t == ZK_ST_F32) {
            cu->st.simt_fma_ops += (uint64_t)nlanes(ex);
        }
        if (in->mod == ZK_RND_RN && t == ZK_ST_F32) {
            switch (in->op) {
            case ZK_SOP_FADD: LANES(ex, D[l] = of_f32(f32_of(A[l]) + f32_of(B[l]))); return 0;
            case ZK_SOP_FSUB: LANES(ex, D[l] = of_f32(f32_of(A[l]) - f32_of(B[l]))); return 0;
            case ZK_SOP_FMUL: LANES(ex, D[l] = of_f32(f32_of(A[l]) * f32_of(B[l]))); return 0;
            case ZK_SOP_FFMA:
                if (ex == ALL_LANES && host_has_fma()) {
                    ffma_warp_hw(D, A, B, C);
                    return 0;
                }
                LANES(ex, D[l] = of_f32(fmaf(f32_of(A[l]), f32_of(B[l]), f32_of(C[l]))));
                return 0;
            default:
                break;
            }
        }
        if (in->mod == ZK_RND_RN) {
            LANES(ex, D[l] = fp_op(in->op, t, A[l], B[l], C[l]));
        } else {
            int old = fegetround();
            fesetround(fe_modes[in->mod]);
            LANES(ex, D[l] = fp_op(in->op, t, A[l], B[l], C[l]));
            fesetround(old);
        }
        return 0;
    case ZK_SOP_FMIN:
        if (t == ZK_ST_F32) {
            LANES(ex, D[l] = of_f32(fminf(f32_of(A[l]), f32_of(B[l]))));
        } else {
            LANES(ex, D[l] = of_f64(fmin(f64_of(A[l]), f64_of(B[l]))));
        }
        return 0;
    case ZK_SOP_FMAX:
        if (t == ZK_ST_F32) {
            LANES(ex, D[l] = of_f32(fmaxf(f32_of(A[l]), f32_of(B[l]))));
        } else {
            LANES(ex, D[l] = of_f64(fmax(f64_of(A[l]), f64_of(B[l]))));
        }
        return 0;
    case ZK_SOP_FABS:
        LANES(ex, D[l] = A[l] & (t == ZK_ST_F32 ? 0x7fffffffull : ~(1ull << 63)));
        return 0;
    case ZK_SOP_FNEG:
        LANES(ex, D[l] = (A[l] ^ (t == ZK_ST_F32 ? 0x80000000ull : 1ull << 63)) & wm);
        return 0;
    case ZK_SOP_FRSQRT:
        if (t == ZK_ST_F32) {
            LANES(ex, D[l] = of_f32(1.0f / sqrtf(f32_of(A[l]))));
        } else {
            LANES(ex, D[l] = of_f64(1.0 / sqrt(f64_of(A[l]))));
        }
        return 0;
    case ZK_SOP_FEX2: LANES(ex, D[l] = of_f32(exp2f(f32_of(A[l])))); return 0;
    case ZK_SOP_FLG2: LANES(ex, D[l] = of_f32(log2f(f32_of(A[l])))); return 0;
    case ZK_SOP_FSIN: LANES(ex, D[l] = of_f32(sinf(f32_of(A[l])))); return 0;
    case ZK_SOP_FCOS: LANES(ex, D[l] = of_f32(cosf(f32_of(A[l])))); return 0;
    case ZK_SOP_CVT:
        if (in->mod != ZK_RND_RN && is_fp(t)) {
            int old = fegetround();
            fesetround(fe_modes[in->mod]);
            LANES(ex, D[l] = cvt(A[l], t, in->t2, in->mod));
            fesetround(old);
        } else {
            LANES(ex, D[l] = cvt(A[l], t, in->t2, in->mod));
        }
        return 0;
    case ZK_SOP_LD: {
        /* Load into a temporary so a fault leaves rd untouched in all lanes. */
        uint64_t v[ZK_SIMT_WARP];
        if (maybe_local(in, A, ex) && !local_warp(cu, in, ex, tid0, A, NULL, D)) {
            return 0;
        }
        if (ex == ALL_LANES && in->t2 != ZK_SPACE_LOCAL) {
            int r = load_warp(cu, in, A, D);
            if (r <= 0) {
                return -r;
            }
        }
        f = 0;
        LANES(ex, if (!f) { f = mem_load(cu, in->t2, A[l] + in->imm, t, tid0 + l, &v[l]); });
        if (f) {
            return f;
        }
        LANES(ex, D[l] = v[l]);
        return 0;
    }
    case ZK_SOP_ST:
        if (maybe_local(in, A, ex) && !local_warp(cu, in, ex, tid0, A, B, NULL)) {
            return 0;
        }
        if (ex == ALL_LANES && in->t2 != ZK_SPACE_LOCAL) {
            int r = store_warp(cu, in, A, B);
            if (r <= 0) {
                return -r;
            }
        }
        f = 0;
        LANES(ex, if (!f) { f = mem_store(cu, in->t2, A[l] + in->imm, t, tid0 + l, B[l]); });
        return f;
    case ZK_SOP_ATOM: {
        uint64_t v[ZK_SIMT_WARP];
        f = 0;
        LANES(ex, if (!f) { f = mem_atomic(cu, in, A[l] + in->imm, tid0 + l, B[l], C[l], &v[l]); });
        if (f) {
            return f;
        }
        LANES(ex, D[l] = v[l]);
        return 0;
    }
    case ZK_SOP_SHFL: {
        uint64_t src[ZK_SIMT_WARP];
        uint32_t ok = 0;
        memcpy(src, A, sizeof(src));
        LANES(ex, {
            uint32_t bb = (uint32_t)B[l] & 31, cc = (uint32_t)C[l];
            uint32_t clamp = cc & 31, seg = (cc >> 8) & 31;
            uint32_t maxl = (l & seg) | (clamp & ~seg), minl = l & seg;
            int32_t j;
            bool valid;
            switch (in->mod) {
            case ZK_SHFL_UP: j = (int32_t)l - (int32_t)bb; valid = j >= (int32_t)minl; break;
            case ZK_SHFL_DOWN: j = (int32_t)(l + bb); valid = j <= (int32_t)maxl; break;
            case ZK_SHFL_BFLY: j = (int32_t)(l ^ bb); valid = j <= (int32_t)maxl; break;
            default: j = (int32_t)(minl | (bb & ~seg)); valid = j <= (int32_t)maxl; break;
            }
            if (!valid) {
                j = (int32_t)l;
            }
            D[l] = src[j];
            ok |= (uint32_t)valid << l;
        });
        set_pred(w, in->pd, ex, ok);
        return 0;
    }
    case ZK_SOP_VOTE: {
        uint32_t p = pred_code(w, in->ra) & ex;
        switch (in->mod) {
        case ZK_VOTE_BALLOT: LANES(ex, D[l] = p); break;
        case ZK_VOTE_ANY: set_pred(w, in->pd, ex, p ? ALL_LANES : 0); break;
        case ZK_VOTE_ALL: set_pred(w, in->pd, ex, p == ex ? ALL_LANES : 0); break;
        default: set_pred(w, in->pd, ex, (p == ex || !p) ? ALL_LANES : 0); break;
        }
        return 0;
    }
    default:
        return fault_at(cu, ZK_FAULT_ENGINE, 0);
    }
}

/* ------------------------------------------------------------------ */
/* Warps and blocks                                                     */
/* ------------------------------------------------------------------ */

static void advance(Warp *w, uint32_t mask, uint32_t next)
{
    if (w->uniform) {
        w->upc = next;
    } else {
        LANES(mask, w->pc[l] = next);
    }
}

static void diverge(Warp *w)
{
    if (w->uniform) {
        uint32_t run = w->live & ~w->wait;
        LANES(run, w->pc[l] = w->upc);
        w->uniform = false;
    }
}

/* Add this unit's instructions to the launch total; 0 or a fault. */
static int __attribute__((noinline)) flush_insns(SimtCu *cu, uint32_t pc)
{
    SimtLaunch *x = cu->x;
    uint64_t total = __atomic_add_fetch(&x->insns, cu->unflushed, __ATOMIC_RELAXED);

    cu->unflushed = 0;
    if (x->l->insn_budget && total > x->l->insn_budget) {
        return fault_at(cu, ZK_FAULT_BUDGET, x->l->code_va + (uint64_t)pc * 16);
    }
    if (*cu->stop) {
        return fault_at(cu, ZK_FAULT_ENGINE, 0);
    }
    return 0;
}

/*
 * Count one warp instruction against the budget; 0 or a fault.  The shared
 * launch total is touched once per BUDGET_CHUNK instructions (every one
 * when a budget is set, so the budget stays exact).
 */
static inline int tick(SimtCu *cu, uint32_t pc)
{
    cu->st.insns++;
    if (++cu->unflushed >= cu->flush_every) {
        int f = flush_insns(cu, pc);
        if (f) {
            return f;
        }
    }
    if (cu->abort_flag && *cu->abort_flag) {
        return fault_at(cu, ZK_FAULT_ENGINE, 0);
    }
    return 0;
}

/* Run warp wi for up to `steps` instructions, or until all its lanes exited
 * or wait at a barrier. */
static int ZK_SIMD_CLONES run_warp(SimtCu *cu, uint32_t wi, uint64_t steps)
{
    Warp *w = &cu->warps[wi];
    const SInsn *code = cu->x->code;

    for (; steps; steps--) {
        uint32_t run = w->live & ~w->wait, pc, mask;
        int f;

        if (!run) {
            return 0;
        }
        if (w->uniform) {
            pc = w->upc;
            mask = run;
        } else {
            pc = UINT32_MAX;
            mask = 0;
            LANES(run, {
                if (w->pc[l] < pc) {
                    pc = w->pc[l];
                    mask = 0;
                }
                if (w->pc[l] == pc) {
                    mask |= 1u << l;
                }
            });
            if (mask == run) {
                w->uniform = true;
                w->upc = pc;
            }
        }
        f = tick(cu, pc);
        if (f) {
            return f;
        }
        const SInsn *in = &code[pc];
        uint32_t ex = mask & (w->preds[in->guard] ^ (in->gneg ? ALL_LANES : 0));

        switch (in->op) {
        case ZK_SOP_BRA:
            cu->st.simt_lane_ops[ZK_SIMT_CLS_CTRL] += (uint64_t)nlanes(mask);
            if (ex == mask) {
                advance(w, mask, in->target);
            } else if (!ex) {
                advance(w, mask, pc + 1);
            } else {
                diverge(w);
                LANES(mask, w->pc[l] = (ex >> l) & 1 ? in->target : pc + 1);
            }
            break;
        case ZK_SOP_EXIT:
            cu->st.simt_lane_ops[ZK_SIMT_CLS_CTRL] += (uint64_t)nlanes(ex);
            w->live &= ~ex;
            advance(w, mask & ~ex, pc + 1);
            break;
        case ZK_SOP_TRAP:
            if (ex) {
                return fault_at(cu, ZK_FAULT_ENGINE, cu->x->l->code_va + (uint64_t)pc * 16);
            }
            advance(w, mask, pc + 1);
            break;
        case ZK_SOP_BAR:
            cu->st.simt_lane_ops[ZK_SIMT_CLS_CTRL] += (uint64_t)nlanes(ex);
            LANES(ex, w->pc[l] = pc + 1);
            w->wait |= ex;
            advance(w, mask & ~ex, pc + 1);
            break;
        default:
            if (ex) {
                f = exec_insn(cu, wi, w, in, ex);
                if (f) {
                    if (cu->fault.type == ZK_FAULT_ENGINE && !cu->fault.va) {
                        cu->fault.va = cu->x->l->code_va + (uint64_t)pc * 16;
                    }
                    return f;
                }
            }
            advance(w, mask, pc + 1);
            break;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Gang execution: all warps of a block in lockstep                     */
/* ------------------------------------------------------------------ */

/*
 * While every warp of the block is full, uniform and at the same pc (the
 * common case between barriers of non-divergent code), an element-wise
 * instruction runs once over the block's registers ([register][warp][lane]
 * rows are contiguous) instead of once per warp: the decode and dispatch
 * cost is paid once for up to 32 warps.  Anything else (memory, control,
 * predicates, warp ops, special registers) runs as one step of each warp in
 * turn.  The first divergence, exit or barrier ends the gang and the warps
 * run one at a time as before.
 */
static bool gang_op(const SimtCu *cu, const SInsn *in)
{
    const ZkLaunch *l = cu->x->l;

    if (in->guard || in->gneg) {
        return false;
    }
    if (in->op == ZK_SOP_SETP) {                /* writes predicates, not rd */
        return in->type == ZK_ST_U32 || in->type == ZK_ST_S32;
    }
    if (!in->rd) {
        return false;
    }
    switch (in->op) {
    case ZK_SOP_SREG:
        switch (in->imm) {
        case ZK_SR_TID_X:
            return l->block[1] == 1 && l->block[2] == 1;
        case ZK_SR_NTID_X: case ZK_SR_NTID_Y: case ZK_SR_NTID_Z:
        case ZK_SR_CTAID_X: case ZK_SR_CTAID_Y: case ZK_SR_CTAID_Z:
        case ZK_SR_NCTAID_X: case ZK_SR_NCTAID_Y: case ZK_SR_NCTAID_Z:
        case ZK_SR_NWARPID: case ZK_SR_SHARED_SIZE: case ZK_SR_LOCAL_SIZE:
        case ZK_SR_PARAM_SIZE: case ZK_SR_CODE_VA: case ZK_SR_SMID: case ZK_SR_NSMID:
            return true;                        /* the same in every lane */
        default:
            return false;
        }
    case ZK_SOP_MOV: case ZK_SOP_ADD: case ZK_SOP_SUB: case ZK_SOP_MUL: case ZK_SOP_MAD:
    case ZK_SOP_AND: case ZK_SOP_OR: case ZK_SOP_XOR:
        return true;
    case ZK_SOP_MULWIDE: case ZK_SOP_MADWIDE:
        return in->type == ZK_ST_U32 || in->type == ZK_ST_S32;
    case ZK_SOP_FADD: case ZK_SOP_FSUB: case ZK_SOP_FMUL: case ZK_SOP_FFMA:
        return in->type == ZK_ST_F32 && in->mod == ZK_RND_RN;
    default:
        return false;
    }
}

/* All warps full, not waiting and uniform at one pc (returned in *pc). */
static bool gang_pc(SimtCu *cu, uint32_t *pc)
{
    for (uint32_t i = 0; i < cu->x->nwarps; i++) {
        Warp *w = &cu->warps[i];

        if (w->live != ALL_LANES || w->wait) {
            return false;
        }
        if (!w->uniform) {
            for (unsigned l = 1; l < ZK_SIMT_WARP; l++) {
                if (w->pc[l] != w->pc[0]) {
                    return false;
                }
            }
            w->uniform = true;
            w->upc = w->pc[0];
        }
        if (i && w->upc != *pc) {
            return false;
        }
        *pc = w->upc;
    }
    return true;
}

/* Loop over the block's warps, 32 lanes at a time (the inner loop
 * vectorises); immediate operands (stride 0) stay on their 32 lanes. */
#define GANG(...) do { \
        for (uint32_t w_ = 0; w_ < nw; w_++, D += ZK_SIMT_WARP, A += ZK_SIMT_WARP, \
             B += bs, C += cs) { \
            LANE_LOOP \
            for (unsigned l = 0; l < ZK_SIMT_WARP; l++) { __VA_ARGS__; } \
        } \
    } while (0)

/* A gang instruction that writes one value to every lane: *v. */
static inline bool gang_uniform_value(SimtCu *cu, const SInsn *in, uint64_t *v)
{
    if (in->op == ZK_SOP_MOV && (in->flags & ZK_SF_BIMM)) {
        *v = in->bimm;
        return true;
    }
    if (in->op == ZK_SOP_SREG && in->imm != ZK_SR_TID_X) {
        *v = sreg_value(cu, 0, 0, (unsigned)in->imm);
        return true;
    }
    return false;
}

static inline __attribute__((always_inline)) void
gang_exec(SimtCu *cu, const SInsn *in, uint32_t nw)
{
    const uint64_t *A = reg(cu, 0, in->ra), *B, *C;
    uint64_t *D = in->rd ? reg(cu, 0, in->rd) : cu->sink;   /* setp: unused */
    uint64_t wm = is64(in->type) ? ~0ull : 0xffffffffull;
    size_t bs = ZK_SIMT_WARP, cs = ZK_SIMT_WARP;

    if (in->flags & ZK_SF_BIMM) {
        B = imm_lanes(cu, in->bimm, in->bslot);
        bs = 0;
    } else {
        B = reg(cu, 0, in->rb);
    }
    if (in->flags & ZK_SF_CIMM) {
        C = imm_lanes(cu, in->cimm, in->cslot);
        cs = 0;
    } else {
        C = reg(cu, 0, in->rc);
    }
    uint64_t uv = 0;
    bool uniform = gang_uniform_value(cu, in, &uv);

    cu->st.simt_lane_ops[in->cls] += (uint64_t)nw * ZK_SIMT_WARP;
    if (uniform && cu->row_ok[in->rd] && cu->row_val[in->rd] == uv) {
        return;                         /* every lane holds it already */
    }
    cu->row_ok[in->rd] = uniform;
    cu->row_val[in->rd] = uv;

    switch (in->op) {
    case ZK_SOP_SETP:
        for (uint32_t w_ = 0; w_ < nw; w_++, A += ZK_SIMT_WARP, B += bs) {
            set_pred(&cu->warps[w_], in->pd, ALL_LANES,
                     setp32_warp(in->mod, in->type == ZK_ST_S32, A, B));
        }
        break;
    case ZK_SOP_SREG:
        if (in->imm == ZK_SR_TID_X) {           /* 1-D block: the thread index */
            for (uint32_t w_ = 0; w_ < nw; w_++, D += ZK_SIMT_WARP) {
                uint64_t tid0 = (uint64_t)w_ * ZK_SIMT_WARP;
                LANE_LOOP
                for (unsigned l = 0; l < ZK_SIMT_WARP; l++) {
                    D[l] = tid0 + l;
                }
            }
        } else {
            GANG(D[l] = uv);
        }
        break;
    case ZK_SOP_MOV: GANG(D[l] = B[l]); break;
    case ZK_SOP_ADD: GANG(D[l] = (A[l] + B[l]) & wm); break;
    case ZK_SOP_SUB: GANG(D[l] = (A[l] - B[l]) & wm); break;
    case ZK_SOP_AND: GANG(D[l] = (A[l] & B[l]) & wm); break;
    case ZK_SOP_OR: GANG(D[l] = (A[l] | B[l]) & wm); break;
    case ZK_SOP_XOR: GANG(D[l] = (A[l] ^ B[l]) & wm); break;
    case ZK_SOP_MUL:
        if (wm == ~0ull) {
            GANG(D[l] = A[l] * B[l]);
        } else {
            GANG(D[l] = ((A[l] & wm) * (B[l] & wm)) & wm);
        }
        break;
    case ZK_SOP_MAD:
        if (wm == ~0ull) {
            GANG(D[l] = A[l] * B[l] + C[l]);
        } else {
            GANG(D[l] = ((A[l] & wm) * (B[l] & wm) + C[l]) & wm);
        }
        break;
    case ZK_SOP_MULWIDE:
        if (in->type == ZK_ST_U32) {
            GANG(D[l] = (A[l] & 0xffffffffull) * (B[l] & 0xffffffffull));
        } else {
            GANG(D[l] = (uint64_t)((int64_t)(int32_t)A[l] * (int32_t)B[l]));
        }
        break;
    case ZK_SOP_MADWIDE:
        if (in->type == ZK_ST_U32) {
            GANG(D[l] = (A[l] & 0xffffffffull) * (B[l] & 0xffffffffull) + C[l]);
        } else {
            GANG(D[l] = (uint64_t)((int64_t)(int32_t)A[l] * (int32_t)B[l]) + C[l]);
        }
        break;
    case ZK_SOP_FADD: GANG(D[l] = of_f32(f32_of(A[l]) + f32_of(B[l]))); break;
    case ZK_SOP_FSUB: GANG(D[l] = of_f32(f32_of(A[l]) - f32_of(B[l]))); break;
    case ZK_SOP_FMUL: GANG(D[l] = of_f32(f32_of(A[l]) * f32_of(B[l]))); break;
    default:                                            /* FFMA.F32.RN */
        cu->st.simt_fma_ops += (uint64_t)nw * ZK_SIMT_WARP;
        if (host_has_fma()) {
            for (uint32_t w_ = 0; w_ < nw; w_++, D += ZK_SIMT_WARP, A += ZK_SIMT_WARP,
                 B += bs, C += cs) {
                ffma_warp_hw(D, A, B, C);
            }
        } else {
            GANG(D[l] = of_f32(fmaf(f32_of(A[l]), f32_of(B[l]), f32_of(C[l]))));
        }
        break;
    }
}
#undef GANG

static bool gang_enabled = true;

void zk_simt_set_gang(bool on)
{
    gang_enabled = on;
}

/* Would nw more instructions cross the budget?  Then step warp by warp,
 * so the budget still stops at one exact instruction. */
static inline bool gang_near_budget(SimtCu *cu, uint32_t nw)
{
    uint64_t budget = cu->x->l->insn_budget;

    return budget && __atomic_load_n(&cu->x->insns, __ATOMIC_RELAXED) + cu->unflushed + nw
                     > budget;
}

/* Count nw warp instructions (budget, %clock, stats) and poll abort. */
static inline int gang_tick(SimtCu *cu, uint32_t pc, uint32_t nw)
{
    cu->st.insns += nw;
    cu->unflushed += nw;
    if (cu->unflushed >= cu->flush_every) {
        int f = flush_insns(cu, pc);
        if (f) {
            return f;
        }
    }
    if (cu->abort_flag && *cu->abort_flag) {
        return fault_at(cu, ZK_FAULT_ENGINE, 0);
    }
    return 0;
}

/*
 * Run the block's warps in lockstep while they stay in it; 0 or a fault.
 * Branches every warp takes the same way, and guarded exits no lane takes,
 * keep the gang; other control instructions are stepped per warp.
 */
static int ZK_SIMD_CLONES run_gang(SimtCu *cu)
{
    uint32_t nw = cu->x->nwarps, pc = 0;

    /* Only stepping warps one by one can break the lockstep: check after it. */
    if (!gang_pc(cu, &pc)) {
        return 0;
    }
    for (;;) {
        const SInsn *in = &cu->x->code[pc];
        uint32_t gmask = in->gneg ? ALL_LANES : 0, all = ALL_LANES, any = 0, next = pc + 1;
        int f;

        for (uint32_t i = 0; i < nw; i++) {
            uint32_t ex = cu->warps[i].preds[in->guard] ^ gmask;
            all &= ex;
            any |= ex;
        }
        if (gang_near_budget(cu, nw)) {
            goto step;
        }
        switch (in->op) {
        case ZK_SOP_BRA:
            if (all != ALL_LANES && any) {
                goto step;                      /* some warp diverges */
            }
            next = any ? in->target : pc + 1;
            cu->st.simt_lane_ops[ZK_SIMT_CLS_CTRL] += (uint64_t)nw * ZK_SIMT_WARP;
            break;
        case ZK_SOP_EXIT:
            if (any) {
                goto step;
            }
            break;
        case ZK_SOP_TRAP:
        case ZK_SOP_BAR:
            goto step;
        default:
            if (gang_op(cu, in)) {
                break;
            }
            /* One instruction for each warp, without leaving the gang. */
            f = gang_tick(cu, pc, nw);
            if (f) {
                return f;
            }
            for (uint32_t i = 0; i < nw; i++) {
                Warp *w = &cu->warps[i];
                uint32_t ex = w->preds[in->guard] ^ gmask;
                if (ex) {
                    f = exec_insn(cu, i, w, in, ex);
                    if (f) {
                        if (cu->fault.type == ZK_FAULT_ENGINE && !cu->fault.va) {
                            cu->fault.va = cu->x->l->code_va + (uint64_t)pc * 16;
                        }
                        return f;
                    }
                }
                w->upc = pc + 1;
            }
            pc++;
            continue;
        }
        f = gang_tick(cu, pc, nw);
        if (f) {
            return f;
        }
        if (in->op != ZK_SOP_BRA && in->op != ZK_SOP_EXIT) {
            gang_exec(cu, in, nw);
        }
        for (uint32_t i = 0; i < nw; i++) {
            cu->warps[i].upc = next;
        }
        pc = next;
        continue;
step:
        for (uint32_t i = 0; i < nw; i++) {
            f = run_warp(cu, i, 1);
            if (f) {
                return f;
            }
        }
        if (!gang_pc(cu, &pc)) {
            return 0;
        }
    }
}

static int run_block(SimtCu *cu)
{
    SimtLaunch *x = cu->x;
    const ZkLaunch *la = x->l;
    uint32_t entry = la->entry / ZK_SIMT_INSN_BYTES;

    /* r0 (never written) was zeroed at allocation; the rest are either
     * always written before being read or listed here. */
    for (uint32_t k = 0; k < x->n_zero_regs; k++) {
        memset(reg(cu, 0, x->zero_regs[k]), 0, (size_t)x->nwarps * ZK_SIMT_WARP * 8);
        cu->row_ok[x->zero_regs[k]] = true;
        cu->row_val[x->zero_regs[k]] = 0;
    }
    if (la->shared_bytes) {
        memset(cu->shared, 0, la->shared_bytes);
    }
    if (la->local_bytes) {
        memset(cu->local, 0, (size_t)la->local_bytes * x->nthreads);
    }
    cu->block_insns0 = cu->st.insns;
    for (uint32_t i = 0; i < x->nwarps; i++) {
        Warp *w = &cu->warps[i];
        uint32_t left = x->nthreads - i * ZK_SIMT_WARP;
        /* Not pc[]: a lane's pc is written (diverge, bar) before it is read. */
        w->live = left >= ZK_SIMT_WARP ? ALL_LANES : (1u << left) - 1;
        w->wait = 0;
        memset(w->preds, 0, sizeof(w->preds));
        w->preds[0] = ALL_LANES;
        w->uniform = true;
        w->upc = entry;
    }
    for (;;) {
        uint32_t waiting = 0, bar_pc = UINT32_MAX;
        if (x->gang) {
            int f = run_gang(cu);
            if (f) {
                return f;
            }
        }
        for (uint32_t i = 0; i < x->nwarps; i++) {
            const Warp *w = &cu->warps[i];
            int f;

            if (!(w->live & ~w->wait)) {
                continue;               /* done or waiting (often, after a gang) */
            }
            f = run_warp(cu, i, UINT64_MAX);
            if (f) {
                return f;
            }
        }
        /* Every warp is done or waits: release the barrier, if any. */
        for (uint32_t i = 0; i < x->nwarps; i++) {
            Warp *w = &cu->warps[i];
            uint32_t wt = w->wait & w->live;
            LANES(wt, {
                if (bar_pc != UINT32_MAX && w->pc[l] != bar_pc) {
                    /* Threads wait at different barriers: divergent bar. */
                    return fault_at(cu, ZK_FAULT_ENGINE,
                                    la->code_va + (uint64_t)(w->pc[l] - 1) * 16);
                }
                bar_pc = w->pc[l];
            });
            waiting |= wt;
        }
        if (!waiting) {
            return 0;
        }
        for (uint32_t i = 0; i < x->nwarps; i++) {
            Warp *w = &cu->warps[i];
            if (w->wait) {
                diverge(w);
                w->wait = 0;
                w->uniform = false;
            }
        }
    }
}

static int cu_block(void *ctx, uint32_t cu_index, uint64_t item,
                    const volatile int *stop)
{
    SimtLaunch *x = ctx;
    SimtCu *cu = &x->cus[cu_index];
    const uint32_t *g = x->l->grid;

    cu->stop = stop;
    cu->block[0] = item % g[0];
    cu->block[1] = (item / g[0]) % g[1];
    cu->block[2] = item / ((uint64_t)g[0] * g[1]);
    return run_block(cu);
}

static void predecode(const uint64_t *w, uint32_t pc, SInsn *s)
{
    ZkSimtInsn i;

    zk_simt_decode(w, &i);
    *s = (SInsn){
        .op = i.op, .type = i.type, .mod = i.mod, .t2 = i.type2,
        .rd = i.rd, .ra = i.ra, .rb = i.rb, .rc = i.rc,
        .guard = i.guard, .gneg = i.gneg, .pd = i.pd, .flags = i.flags,
        .imm = i.imm, .bimm = i.imm, .cimm = i.imm,
    };
    if ((i.flags & ZK_SF_BIMM) && (i.flags & ZK_SF_CIMM)) {
        s->bimm = (uint64_t)(int64_t)(int32_t)(uint32_t)i.imm;
        s->cimm = (uint64_t)(int64_t)(int32_t)(uint32_t)(i.imm >> 32);
    }
    if (i.op == ZK_SOP_BRA) {
        s->target = (uint32_t)zk_simt_target(w, pc);
    }
    switch (i.op) {
    case ZK_SOP_FADD: case ZK_SOP_FSUB: case ZK_SOP_FMUL: case ZK_SOP_FFMA:
    case ZK_SOP_FMIN: case ZK_SOP_FMAX: case ZK_SOP_FABS: case ZK_SOP_FNEG:
        s->cls = i.type == ZK_ST_F64 ? ZK_SIMT_CLS_F64 : ZK_SIMT_CLS_F32;
        break;
    case ZK_SOP_FDIV: case ZK_SOP_FSQRT: case ZK_SOP_FRCP: case ZK_SOP_FRSQRT:
    case ZK_SOP_FEX2: case ZK_SOP_FLG2: case ZK_SOP_FSIN: case ZK_SOP_FCOS:
    case ZK_SOP_CVT:
        s->cls = ZK_SIMT_CLS_SFU;
        break;
    case ZK_SOP_LD: case ZK_SOP_ST: case ZK_SOP_ATOM:
        s->cls = ZK_SIMT_CLS_MEM;
        break;
    case ZK_SOP_SHFL: case ZK_SOP_VOTE:
        s->cls = ZK_SIMT_CLS_WARP;
        break;
    case ZK_SOP_NOP: case ZK_SOP_MEMBAR:
        s->cls = ZK_SIMT_CLS_CTRL;
        break;
    default:
        s->cls = ZK_SIMT_CLS_INT;
        break;
    }
}

/* Does the instruction write its rd (in every lane it runs in)? */
static bool writes_rd(const SInsn *in)
{
    switch (in->op) {
    case ZK_SOP_EXIT: case ZK_SOP_BRA: case ZK_SOP_BAR: case ZK_SOP_NOP:
    case ZK_SOP_MEMBAR: case ZK_SOP_TRAP: case ZK_SOP_ST: case ZK_SOP_SETP:
    case ZK_SOP_PLOP:
        return false;
    case ZK_SOP_VOTE:
        return in->mod == ZK_VOTE_BALLOT;
    default:
        return true;
    }
}

#define RSET_WORDS (ZK_SIMT_NUM_REGS / 64)

/*
 * Registers are zero at block start.  Rather than clearing the whole
 * register file per block (for short kernels that costs more than the
 * kernel), find the registers some path may read before writing: a forward
 * "definitely written" analysis over the verified control-flow graph (meet
 * = intersection; a write counts only if unguarded).  Per-lane control flow
 * follows CFG paths, so a register outside the list is written by a lane
 * before that lane reads it.  shfl reads other lanes' registers (which may
 * have exited early), so its source is always listed.  Over a work bound
 * (hostile CFGs) every register is listed: correct, only slower.
 */
static void regs_to_zero(SimtLaunch *x, uint32_t entry)
{
    uint32_t n = x->n_insns, words = (x->nregs + 63) / 64, sp = 0;
    uint64_t *in_set = calloc((size_t)n * words, sizeof(uint64_t));
    uint8_t *seen = calloc(n, 1), *queued = calloc(n, 1);
    uint32_t *stack = malloc((size_t)n * sizeof(*stack));
    uint64_t zero[RSET_WORDS] = { 0 }, budget = 16 * (uint64_t)n + 65536;
    bool all = !in_set || !seen || !queued || !stack;

    if (!all) {
        seen[entry] = queued[entry] = 1;
        stack[sp++] = entry;
    }
    while (!all && sp) {
        uint32_t pc = stack[--sp], succ[2], ns = 0;
        const SInsn *in = &x->code[pc];
        uint64_t out[RSET_WORDS];
        const uint8_t used[3] = { in->ra, in->rb, in->rc };
        bool guarded = in->guard || in->gneg;

        if (!budget--) {
            all = true;
            break;
        }
        queued[pc] = 0;
        memcpy(out, &in_set[(size_t)pc * words], words * 8);
        for (unsigned k = 0; k < 3; k++) {
            if (!(out[used[k] / 64] >> (used[k] % 64) & 1)) {
                zero[used[k] / 64] |= 1ull << (used[k] % 64);
            }
        }
        if (in->op == ZK_SOP_SHFL) {
            zero[in->ra / 64] |= 1ull << (in->ra % 64);
        }
        if (!guarded && writes_rd(in)) {
            out[in->rd / 64] |= 1ull << (in->rd % 64);
        }
        if (in->op == ZK_SOP_BRA) {
            succ[ns++] = in->target;
            if (guarded) {
                succ[ns++] = pc + 1;
            }
        } else if (in->op == ZK_SOP_EXIT || in->op == ZK_SOP_TRAP) {
            if (guarded) {
                succ[ns++] = pc + 1;
            }
        } else {
            succ[ns++] = pc + 1;
        }
        for (uint32_t i = 0; i < ns; i++) {
            uint32_t s = succ[i];
            uint64_t *set = &in_set[(size_t)s * words];
            bool changed = false;

            if (s >= n) {           /* the verifier rules this out */
                all = true;
                break;
            }
            if (!seen[s]) {
                seen[s] = 1;
                memcpy(set, out, words * 8);
                changed = true;
            } else {
                for (uint32_t k = 0; k < words; k++) {
                    changed |= (set[k] & ~out[k]) != 0;
                    set[k] &= out[k];
                }
            }
            if (changed && !queued[s]) {
                queued[s] = 1;
                stack[sp++] = s;
            }
        }
    }
    x->n_zero_regs = 0;
    for (uint32_t r = 1; r < x->nregs; r++) {
        if (all || (zero[r / 64] >> (r % 64) & 1)) {
            x->zero_regs[x->n_zero_regs++] = (uint8_t)r;
        }
    }
    free(in_set);
    free(seen);
    free(queued);
    free(stack);
}

/*
 * Loads from the parameter buffer or the constant image at a fixed address
 * ([r0 + imm]: r0 is always zero) read the same bytes in every thread of
 * the launch: turn them into moves of the value.  Out-of-range ones stay
 * loads, so they fault exactly as before; the lane-op class stays MEM.
 */
static void fold_const_loads(SimtLaunch *x, SInsn *code, const uint64_t *image)
{
    const ZkLaunch *l = x->l;

    for (uint32_t pc = 0; pc < x->n_insns; pc++) {
        SInsn *in = &code[pc];
        const uint8_t *src;
        uint64_t lim, v = 0;
        unsigned nb;

        if (in->op != ZK_SOP_LD || in->ra != 0 ||
            (in->t2 != ZK_SPACE_PARAM && in->t2 != ZK_SPACE_CONST)) {
            continue;
        }
        /* The verifier only vouched for reachable instructions. */
        if (zk_simt_check(&image[2 * (size_t)pc])) {
            continue;
        }
        src = in->t2 == ZK_SPACE_PARAM ? x->params : x->image;
        lim = in->t2 == ZK_SPACE_PARAM ? l->args_size : l->code_size;
        nb = type_size[in->type];
        if (in->imm > lim || nb > lim - in->imm) {
            continue;
        }
        memcpy(&v, src + in->imm, nb);
        in->op = ZK_SOP_MOV;
        in->flags = ZK_SF_BIMM;
        in->bimm = is_signed(in->type) ? (uint64_t)sext(v, in->type) : v;
    }
}

/* Cache slots of the immediates: by value, and never b's for c. */
static void imm_slots(SInsn *code, uint32_t n)
{
    for (uint32_t pc = 0; pc < n; pc++) {
        SInsn *in = &code[pc];
        in->bslot = (uint8_t)((in->bimm * 0x9e3779b97f4a7c15ull) >> 61);
        in->cslot = (uint8_t)((in->cimm * 0x9e3779b97f4a7c15ull) >> 61);
        if ((in->flags & ZK_SF_BIMM) && (in->flags & ZK_SF_CIMM) &&
            in->cslot == in->bslot && in->cimm != in->bimm) {
            in->cslot ^= 1;
        }
    }
}

static bool launch_shape_ok(const ZkLaunch *l)
{
    const uint32_t *b = l->block;
    return b[0] && b[1] && b[2] && b[0] <= ZK_SIMT_MAX_BLOCK_X &&
           b[1] <= ZK_SIMT_MAX_BLOCK_Y && b[2] <= ZK_SIMT_MAX_BLOCK_Z &&
           (uint64_t)b[0] * b[1] * b[2] <= ZK_SIMT_MAX_THREADS &&
           l->shared_bytes <= ZK_SIMT_MAX_SHARED &&
           l->local_bytes <= ZK_SIMT_MAX_LOCAL &&
           l->args_size <= ZK_SIMT_MAX_PARAMS &&
           l->entry % ZK_SIMT_INSN_BYTES == 0;
}

int zk_simt_launch(ZkMemSpace *ms, const ZkLaunch *l, const uint64_t *image,
                   ZkEngineStats *st, ZkFault *fault,
                   const volatile int *abort_flag)
{
    SimtLaunch *x;
    uint32_t n = l->code_size / ZK_SIMT_INSN_BYTES, bad_pc, ncu;
    uint64_t nblocks;
    ZkSimtInfo info;
    const char *why;
    SInsn *code = NULL;
    int ret = 0;

    if (!launch_shape_ok(l)) {
        fault->type = ZK_FAULT_ILLEGAL_CMD;
        fault->va = l->args_va;
        return ZK_FAULT_ILLEGAL_CMD;
    }
    nblocks = (uint64_t)l->grid[0] * l->grid[1] * l->grid[2];
    if (!nblocks) {
        return 0;
    }
    if (zk_simt_verify(image, n, l->entry / ZK_SIMT_INSN_BYTES, &info, &bad_pc, &why)) {
        fault->type = ZK_FAULT_ILLEGAL_INSN;
        fault->va = l->code_va + (uint64_t)bad_pc * ZK_SIMT_INSN_BYTES;
        return ZK_FAULT_ILLEGAL_INSN;
    }
    x = calloc(1, sizeof(*x));
    code = calloc(n, sizeof(*code));
    if (!x || !code) {
        free(x);
        free(code);
        fault->type = ZK_FAULT_ENGINE;
        fault->va = l->code_va;
        return ZK_FAULT_ENGINE;
    }
    for (uint32_t i = 0; i < n; i++) {
        predecode(&image[2 * (size_t)i], i, &code[i]);
    }
    x->l = l;
    x->code = code;
    x->n_insns = n;
    x->image = (const uint8_t *)image;
    x->abort_flag = abort_flag;
    x->nregs = info.num_regs;
    x->nthreads = l->block[0] * l->block[1] * l->block[2];
    x->nwarps = (x->nthreads + ZK_SIMT_WARP - 1) / ZK_SIMT_WARP;
    if (l->args_size &&
        zk_mem_read(ms, l->args_va, x->params, l->args_size, fault)) {
        ret = (int)fault->type;
        goto out;
    }
    fold_const_loads(x, code, image);
    imm_slots(code, n);
    regs_to_zero(x, l->entry / ZK_SIMT_INSN_BYTES);
    /* Gangs need full warps. */
    x->gang = gang_enabled && x->nwarps > 1 && x->nthreads % ZK_SIMT_WARP == 0;
    ncu = l->num_cus ? l->num_cus : 1;
    if (ncu > nblocks) {
        ncu = (uint32_t)nblocks;
    }
    x->cus = calloc(ncu, sizeof(*x->cus));
    if (!x->cus) {
        ret = fault->type = ZK_FAULT_ENGINE;
        goto out;
    }
    for (uint32_t i = 0; i < ncu; i++) {
        SimtCu *cu = &x->cus[i];
        cu->x = x;
        cu->index = i;
        cu->flush_every = l->insn_budget ? 1 : BUDGET_CHUNK;
        cu->abort_flag = abort_flag;
        cu->ms = *ms;
        cu->ms.hbm_bytes_read = cu->ms.hbm_bytes_written = cu->ms.sys_bytes = 0;
        cu->regs = calloc((size_t)x->nwarps * x->nregs, ZK_SIMT_WARP * 8);
        cu->warps = calloc(x->nwarps, sizeof(*cu->warps));
        cu->shared = malloc(l->shared_bytes ? l->shared_bytes : 1);
        cu->local = malloc(l->local_bytes ? (size_t)l->local_bytes * x->nthreads : 1);
        for (unsigned k = 0; k < TLB_SIZE; k++) {
            cu->tlb[k].vpage = UINT64_MAX;
        }
        if (!cu->regs || !cu->warps || !cu->shared || !cu->local) {
            ncu = i + 1;
            ret = fault->type = ZK_FAULT_ENGINE;
            fault->va = l->code_va;
            goto free_cus;
        }
    }
    ret = zk_cu_run(ncu, nblocks, cu_block, x, NULL);
    if (ret) {
        /* The first unit to fail reported it; others only saw "stop". */
        for (uint32_t i = 0; i < ncu; i++) {
            if (x->cus[i].fault.type == (uint32_t)ret) {
                *fault = x->cus[i].fault;
                break;
            }
        }
        fault->type = (uint32_t)ret;
    }
free_cus:
    for (uint32_t i = 0; i < ncu; i++) {
        SimtCu *cu = &x->cus[i];
        st->insns += cu->st.insns;
        st->bytes_read += cu->st.bytes_read;
        st->bytes_written += cu->st.bytes_written;
        for (unsigned k = 0; k < ZK_SIMT_CLS_COUNT; k++) {
            st->simt_lane_ops[k] += cu->st.simt_lane_ops[k];
        }
        st->simt_fma_ops += cu->st.simt_fma_ops;
        st->simt_shared_bytes += cu->st.simt_shared_bytes;
        ms->hbm_bytes_read += cu->ms.hbm_bytes_read;
        ms->hbm_bytes_written += cu->ms.hbm_bytes_written;
        ms->sys_bytes += cu->ms.sys_bytes;
        free(cu->regs);
        free(cu->warps);
        free(cu->shared);
        free(cu->local);
    }
    free(x->cus);
out:
    free(code);
    free(x);
    return ret;
}
