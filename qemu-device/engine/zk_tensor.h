/* SPDX-License-Identifier: MIT */
/*
 * zk_tensor.h - engine-internal interface between the interpreter
 * (zk_engine.c), tensor-instruction execution (zk_tensor.c) and the math
 * kernels on host memory (zk_gemm.c, zk_tops.c, zk_attn.c).
 */
#ifndef ZK_TENSOR_H
#define ZK_TENSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "zhikai_hw.h"
#include "zhikai_isa.h"
#include "zk_engine.h"

/* A tensor descriptor register (device side). */
typedef struct ZkDesc {
    uint64_t va;
    uint64_t rows, cols;
    uint64_t stride;            /* elements between row starts */
    unsigned dtype;             /* ZK_DT_* */
} ZkDesc;

/* The same tile once it is reachable from the host (mapped or bounced). */
typedef struct ZkTile {
    uint8_t *p;
    uint64_t rows, cols, stride;
    unsigned dtype;
} ZkTile;

static inline uint8_t *zk_tile_row(const ZkTile *t, uint64_t r)
{
    return t->p + r * t->stride * (t->dtype == ZK_DT_I8 ? 1 :
                                   t->dtype == ZK_DT_F16 ||
                                   t->dtype == ZK_DT_BF16 ? 2 : 4);
}

/*
 * Host access to rows [row0, row0+nrows) of a descriptor: a direct HBM
 * pointer when the range is contiguous, else a bounce buffer (filled from
 * device memory unless the view is write-only with no gaps, written back by
 * zk_view_put).  Counts the element bytes in the engine stats.
 */
enum { ZK_VIEW_IN, ZK_VIEW_OUT, ZK_VIEW_INOUT };
typedef struct ZkView {
    ZkTile t;
    uint64_t va, bytes;
    uint8_t *bounce;            /* non-NULL: slow path */
    int mode;
} ZkView;

int zk_view_get(ZkMemSpace *ms, ZkEngineStats *st, const ZkDesc *d,
                uint64_t row0, uint64_t nrows, int mode, ZkView *v,
                ZkFault *fault);
int zk_view_put(ZkMemSpace *ms, ZkView *v, ZkFault *fault);
/* Element i (row-major over rows x cols) of an integer tile. */
int64_t zk_tile_int(const ZkTile *t, uint64_t i);

/* KV-cache ops (zk_attn.c); same contract as zk_tensor_exec. */
int zk_exec_kvwrite(ZkMemSpace *ms, ZkEngineStats *st, ZkDesc desc[],
                    const uint64_t regs[], uint64_t insn, ZkFault *fault);
int zk_exec_pattn(ZkMemSpace *ms, ZkEngineStats *st, ZkDesc desc[],
                  const uint64_t regs[], uint64_t insn, ZkFault *fault);
/* Block-quantized matmul (zk_qgemm.c); same contract. */
int zk_exec_qmatmul(ZkMemSpace *ms, ZkEngineStats *st, ZkDesc desc[],
                    const uint64_t regs[], uint64_t insn, ZkFault *fault);
/* Top-k selection (zk_qgemm.c, next to the other decode-path op). */
int zk_exec_topk(ZkMemSpace *ms, ZkEngineStats *st, ZkDesc desc[],
                 const uint64_t regs[], uint64_t insn, ZkFault *fault);
/* Dot product of @n (multiple of 32) f32 values, quantized to int8 blocks
 * into @aq/@ad, with one B row of Q8_0 or Q4_0 blocks. */
void zk_q8_quantize_row(const float *x, uint64_t n, int8_t *aq, float *ad);
float zk_qdot(unsigned dtype, const uint8_t *brow, const int8_t *aq,
              const float *ad, uint64_t n);

/*
 * Execute one verified tensor instruction.  Returns ZK_FAULT_NONE or a
 * ZK_FAULT_*; for MMU faults fault->va is the failing address, for
 * ZK_FAULT_ENGINE the caller fills in the instruction address.
 */
int zk_tensor_exec(ZkMemSpace *ms, ZkEngineStats *st, ZkDesc desc[],
                   const uint64_t regs[], uint64_t insn, ZkFault *fault);

/* Math on host tiles; shapes are checked by the caller.  All return 0, or
 * -1 when a scratch buffer cannot be allocated. */
int zk_gemm(const ZkTile *c, const ZkTile *a, const ZkTile *b,
             unsigned flags, const float *sa, const float *sb);
int zk_ebin(const ZkTile *d, const ZkTile *a, const ZkTile *b, unsigned fn);
int zk_eun(const ZkTile *d, const ZkTile *a, unsigned fn);
int zk_escale(const ZkTile *d, const ZkTile *a, float mul, float add);
int zk_reduce(const ZkTile *d, const ZkTile *a, unsigned fn);
int zk_softmax(const ZkTile *d, const ZkTile *a);
void zk_softmax_f32(float *x, uint64_t n);
int zk_rmsnorm(const ZkTile *d, const ZkTile *a, const ZkTile *w, float eps);
int zk_layernorm(const ZkTile *d, const ZkTile *a, const ZkTile *w,
                  const ZkTile *b, float eps);
int zk_rope(const ZkTile *d, const ZkTile *a, uint64_t pos0,
             uint64_t head_dim, float theta, float scale);
int zk_quant(const ZkTile *q, const ZkTile *a, const ZkTile *scales);
int zk_dequant(const ZkTile *d, const ZkTile *q, const ZkTile *scales);
int zk_copy_rows(const ZkTile *d, uint64_t drow, const ZkTile *s,
                  uint64_t srow, uint64_t n);

#endif
