#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of fuzz_engine (tests/fuzz/corpus/engine/).

One working record per tensor op and per scalar load/store (operands in the
mapped buffers, small shapes), plus the measured crashers of issue 14 and
their kin with raw 64-bit fields.  Record layout: tests/fuzz/fuzz_engine.c.
"""
import os
import re
import struct
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OPS = {m.group(1): int(m.group(2), 16) for m in re.finditer(
    r"#define ZK_OP_(\w+)\s+0x([0-9a-fA-F]+)",
    open(os.path.join(REPO, "include/zhikai_isa.h")).read())}
F32, F16, BF16, I8, I32 = 0, 1, 2, 3, 4
NEAR, SMALL_R, SMALL_C, SMALL_S = 1, 2, 4, 8


def desc(buf=0, off=0, rows=4, cols=8, stride=0, dt=F32, mode=None, va=None):
    if mode is None:
        mode = NEAR | SMALL_R | SMALL_C | SMALL_S
    if va is None:
        va = buf << 60 | off
    return struct.pack("<BBQQQQ", mode, dt, va, rows, cols, stride)


def record(op, descs, regs=(0, 0, 0, 0), fn=0, rmode=0x0f, simm=0):
    descs = list(descs) + [desc()] * (5 - len(descs))
    return (struct.pack("<BBBBI", OPS[op], fn, rmode, 0, simm) + b"".join(descs)
            + struct.pack("<4Q", *regs))


def seeds():
    d, a, b = desc(0, 0), desc(0, 0x1000), desc(0, 0x2000)
    yield "matmul", record("MATMUL", [desc(0, 0, 4, 4), desc(0, 0x1000, 4, 8),
                                      desc(0, 0x2000, 8, 4)])
    yield "matmul_i8_deq", record("MATMUL", [
        desc(0, 0, 4, 4), desc(0, 0x1000, 4, 16, dt=I8),
        desc(1, 0, 4, 16, dt=I8), desc(0, 0x3000, 4, 1),
        desc(0, 0x4000, 4, 1)], fn=6)      # BT | DEQ
    yield "matmul_scattered", record("MATMUL", [desc(2, 0, 8, 8), desc(2, 0x4000, 8, 8, dt=F16),
                                                desc(1, 0, 8, 8, dt=F16)], fn=1)
    for i, op in enumerate(["EBIN", "EUN", "ESCALE", "SOFTMAX"]):
        yield op.lower(), record(op, [d, a, b], fn=i % 4, regs=(0x3f800000, 0, 0, 0))
    yield "reduce", record("REDUCE", [desc(0, 0, 4, 1), a], fn=1)
    yield "norms", record("RMSNORM", [d, a, desc(0, 0x2000, 1, 8)]) + \
        record("LAYERNORM", [d, a, desc(0, 0x2000, 1, 8), desc(0, 0x3000, 1, 8)], fn=1)
    yield "rope", record("ROPE", [d, a], regs=(3, 8, 0, 0))
    yield "embed", record("EMBED", [d, desc(1, 0, 16, 8), desc(0, 0x3000, 1, 4, dt=I32)])
    yield "quant", record("QUANT", [desc(0, 0, 4, 8, dt=I8), a, desc(0, 0x3000, 4, 1)]) + \
        record("DEQUANT", [d, desc(0, 0, 4, 8, dt=I8), desc(0, 0x3000, 4, 1)])
    kv = [desc(1, 0, 16, 8), desc(0, 0x1000, 2, 8), desc(0, 0x2000, 2, 8),
          desc(0, 0x3000, 1, 4, dt=I32), desc(1, 0x8000, 16, 8)]
    yield "kvwrite_pattn", record("KVWRITE", kv, regs=(3, 4, 0, 0)) + record(
        "PATTN", [desc(0, 0x5000, 1, 8), desc(0, 0x1000, 1, 8), desc(1, 0, 16, 8),
                  desc(1, 0x8000, 16, 8), desc(0, 0x3000, 1, 4, dt=I32)],
        regs=(5, 2, 4, 4))
    yield "sysmem", record("EUN", [desc(3, 0, 4, 8), desc(0, 0, 4, 8)])
    for op in ["LD8", "LD64", "LD32S", "ST16", "ST64"]:
        yield op.lower(), record(op, [desc(3, 0x10)], regs=(0, 0x1234, 0, 0), simm=8)
    yield "ld64_raw", record("LD64", [desc(va=0xfffffffffffffff8, mode=0)])
    # Issue 14's measured crashers, as raw fields.
    big = desc(0, 0, 1, 1 << 62, 1 << 62, mode=NEAR)
    yield "crash_pattn_wrap", record("PATTN", [big, big, desc(0, 0, 4, 1), desc(0, 0, 4, 1),
                                               desc(0, 0, 1, 4, dt=I32)], regs=(1, 1, 4, 1))
    t31 = desc(0, 0, 1 << 31, 1 << 31, 1 << 31, mode=NEAR)
    yield "crash_tile_2p31", record("EUN", [t31, t31])
    yield "matmul_huge_stride", record("MATMUL", [desc(0, 0, 2, 4, mode=NEAR | 6),
                                                  desc(0, 0x1000, 2, 4, 1 << 32, mode=NEAR | 6),
                                                  desc(0, 0x2000, 4, 4)])
    # 2^32 positions over one 2^16-row block: stopped by the abort flag.
    yield "pattn_long", record("PATTN", [desc(0, 0, 1, 1), desc(0, 0, 1, 1),
                                         desc(1, 0, 1 << 16, 1, mode=NEAR | 12),
                                         desc(1, 0, 1 << 16, 1, mode=NEAR | 12),
                                         desc(1, 0, 1, 1 << 16, mode=NEAR | 10, dt=I32)],
                               regs=(0xffffffff, 1, 1 << 16, 1), rmode=0)

def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "tests/fuzz/corpus/engine")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
