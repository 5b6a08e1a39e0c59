/* SPDX-License-Identifier: MIT */
/*
 * zk_cuda.h - the few CUDA device-side declarations the test kernels use,
 * for Debian's clang-14 without any NVIDIA SDK (-nocudainc -nocudalib):
 * qualifiers as clang attributes, threadIdx & co. from clang's own
 * <__clang_cuda_builtin_vars.h>, math, atomics, shuffles and votes mapped
 * to __nvvm_* builtins.  The same kernels also build with nvcc, which
 * brings its own definitions (this header then only adds nothing).
 */
#ifndef ZK_CUDA_H
#define ZK_CUDA_H

#ifndef __NVCC__
#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __host__ __attribute__((host))
#define __shared__ __attribute__((shared))
#define __constant__ __attribute__((constant))
#define __forceinline__ __inline__ __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))

#include <__clang_cuda_builtin_vars.h>

typedef __SIZE_TYPE__ size_t;

#define ZK_DEV static __device__ __forceinline__

ZK_DEV void __syncthreads_zk(void) { __syncthreads(); }
ZK_DEV float expf(float x) { return __nvvm_ex2_approx_ftz_f(x * 1.4426950408889634f); }
ZK_DEV float __expf(float x) { return __nvvm_ex2_approx_ftz_f(x * 1.4426950408889634f); }
ZK_DEV float logf(float x) { return __nvvm_lg2_approx_f(x) * 0.6931471805599453f; }
ZK_DEV float sqrtf(float x) { return __nvvm_sqrt_rn_f(x); }
ZK_DEV float rsqrtf(float x) { return __nvvm_rsqrt_approx_f(x); }
ZK_DEV float fmaxf(float a, float b) { return __nvvm_fmax_f(a, b); }
ZK_DEV float fminf(float a, float b) { return __nvvm_fmin_f(a, b); }
ZK_DEV float fabsf(float x) { return __nvvm_fabs_f(x); }
ZK_DEV float sinf(float x) { return __nvvm_sin_approx_f(x); }
ZK_DEV float cosf(float x) { return __nvvm_cos_approx_f(x); }
ZK_DEV float __fdividef(float a, float b) { return __nvvm_div_approx_f(a, b); }
ZK_DEV float __frcp_rn(float x) { return __nvvm_rcp_rn_f(x); }
ZK_DEV float fmaf(float a, float b, float c) { return __nvvm_fma_rn_f(a, b, c); }
ZK_DEV float tanhf(float x)
{
    float e = expf(-2.0f * fabsf(x));
    float t = (1.0f - e) / (1.0f + e);
    return x < 0.0f ? -t : t;
}
ZK_DEV int min(int a, int b) { return a < b ? a : b; }
ZK_DEV int max(int a, int b) { return a > b ? a : b; }
ZK_DEV int __popc(unsigned int x) { return __builtin_popcount(x); }
ZK_DEV int __clz(int x) { return x ? __builtin_clz((unsigned int)x) : 32; }
ZK_DEV unsigned int __brev(unsigned int x) { return __builtin_bitreverse32(x); }
ZK_DEV unsigned int __byte_perm(unsigned int a, unsigned int b, unsigned int s)
{
    return (unsigned int)__nvvm_prmt((int)a, (int)b, (int)s);
}

ZK_DEV float atomicAdd(float *p, float v) { return __nvvm_atom_add_gen_f(p, v); }
ZK_DEV int atomicAdd(int *p, int v) { return __nvvm_atom_add_gen_i(p, v); }
ZK_DEV unsigned int atomicAdd(unsigned int *p, unsigned int v)
{
    return (unsigned int)__nvvm_atom_add_gen_i((int *)p, (int)v);
}
ZK_DEV int atomicMax(int *p, int v) { return __nvvm_atom_max_gen_i(p, v); }
ZK_DEV int atomicMin(int *p, int v) { return __nvvm_atom_min_gen_i(p, v); }
ZK_DEV int atomicExch(int *p, int v) { return __nvvm_atom_xchg_gen_i(p, v); }
ZK_DEV int atomicCAS(int *p, int cmp, int v) { return __nvvm_atom_cas_gen_i(p, cmp, v); }

/* Shuffle control word: (32 - width) << 8 | clamp (31 for down/xor/idx). */
ZK_DEV float __shfl_xor_sync(unsigned int m, float v, int lane, int w = 32)
{
    return __nvvm_shfl_sync_bfly_f32(m, v, lane, ((32 - w) << 8) | 0x1f);
}
ZK_DEV int __shfl_xor_sync(unsigned int m, int v, int lane, int w = 32)
{
    return __nvvm_shfl_sync_bfly_i32(m, v, lane, ((32 - w) << 8) | 0x1f);
}
ZK_DEV float __shfl_down_sync(unsigned int m, float v, unsigned int d, int w = 32)
{
    return __nvvm_shfl_sync_down_f32(m, v, d, ((32 - w) << 8) | 0x1f);
}
ZK_DEV float __shfl_up_sync(unsigned int m, float v, unsigned int d, int w = 32)
{
    return __nvvm_shfl_sync_up_f32(m, v, d, (32 - w) << 8);
}
ZK_DEV float __shfl_sync(unsigned int m, float v, int lane, int w = 32)
{
    return __nvvm_shfl_sync_idx_f32(m, v, lane, ((32 - w) << 8) | 0x1f);
}
ZK_DEV int __shfl_sync(unsigned int m, int v, int lane, int w = 32)
{
    return __nvvm_shfl_sync_idx_i32(m, v, lane, ((32 - w) << 8) | 0x1f);
}
ZK_DEV unsigned int __ballot_sync(unsigned int m, int p) { return __nvvm_vote_ballot_sync(m, p); }
ZK_DEV int __any_sync(unsigned int m, int p) { return __nvvm_vote_any_sync(m, p); }
ZK_DEV int __all_sync(unsigned int m, int p) { return __nvvm_vote_all_sync(m, p); }
#endif /* !__NVCC__ */

#endif
