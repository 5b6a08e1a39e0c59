/* SPDX-License-Identifier: MIT */
/*
 * zk_cuda_device.h - the device side of CUDA C++ for Debian's clang-14 with
 * no NVIDIA SDK (clang -x cuda -nocudainc -nocudalib, docs/cuda.md):
 * qualifiers as clang attributes, threadIdx & co. from clang's own
 * <__clang_cuda_builtin_vars.h>, math, atomics, shuffles and votes mapped to
 * __nvvm_* builtins (which the PTX front end, docs/ptx.md, translates).
 * cuda_runtime.h includes it; under nvcc it adds nothing (nvcc brings its
 * own definitions), so the same kernels build with both compilers.
 */
#ifndef ZK_CUDA_DEVICE_H_
#define ZK_CUDA_DEVICE_H_

#if !defined(__NVCC__) && defined(__CUDA__)
#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __host__ __attribute__((host))
#define __shared__ __attribute__((shared))
#define __constant__ __attribute__((constant))
#define __managed__ __attribute__((managed))
#define __launch_bounds__(...) __attribute__((launch_bounds(__VA_ARGS__)))
#define __forceinline__ __inline__ __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __restrict__ __restrict

#include <__clang_cuda_builtin_vars.h>

#include "vector_types.h"

#define ZK_DEV static __device__ __forceinline__

/* threadIdx etc. convert to uint3/dim3 as in CUDA (declared by clang's header). */
#define ZK_BUILTIN_CONV(T)                                                             \
    __device__ inline T::operator dim3() const { return dim3(x, y, z); }               \
    __device__ inline T::operator uint3() const { return uint3{x, y, z}; }
ZK_BUILTIN_CONV(__cuda_builtin_threadIdx_t)
ZK_BUILTIN_CONV(__cuda_builtin_blockIdx_t)
ZK_BUILTIN_CONV(__cuda_builtin_blockDim_t)
ZK_BUILTIN_CONV(__cuda_builtin_gridDim_t)
#undef ZK_BUILTIN_CONV

/* Synchronisation (__syncthreads is a clang builtin). */
ZK_DEV void __syncwarp(unsigned int mask = 0xffffffffu) { __nvvm_bar_warp_sync(mask); }
ZK_DEV void __threadfence(void) { __nvvm_membar_gl(); }
ZK_DEV void __threadfence_block(void) { __nvvm_membar_cta(); }

/* Device printf and assert (docs/cuda.md): clang turns printf into a call
 * of vprintf(format, argument buffer); the PTX front end defines vprintf and
 * __assertfail.  glibc's assert() calls __assert_fail, given here for the
 * device as CUDA's own headers do. */
extern "C" {
__device__ int vprintf(const char *format, const char *args);
__device__ int printf(const char *format, ...);
__device__ void __assertfail(const char *message, const char *file, unsigned int line,
                             const char *function, unsigned long char_size)
    __attribute__((noreturn));
__device__ static inline void __assert_fail(const char *message, const char *file,
                                            unsigned int line, const char *function)
{
    __assertfail(message, file, line, function, sizeof(char));
}
}

/* Single-precision math: the approximate forms CUDA's fast-math uses. */
ZK_DEV float expf(float x) { return __nvvm_ex2_approx_ftz_f(x * 1.4426950408889634f); }
ZK_DEV float __expf(float x) { return __nvvm_ex2_approx_ftz_f(x * 1.4426950408889634f); }
ZK_DEV float exp2f(float x) { return __nvvm_ex2_approx_ftz_f(x); }
ZK_DEV float logf(float x) { return __nvvm_lg2_approx_f(x) * 0.6931471805599453f; }
ZK_DEV float __logf(float x) { return __nvvm_lg2_approx_f(x) * 0.6931471805599453f; }
ZK_DEV float log2f(float x) { return __nvvm_lg2_approx_f(x); }
ZK_DEV float powf(float a, float b) { return __nvvm_ex2_approx_ftz_f(b * __nvvm_lg2_approx_f(a)); }
ZK_DEV float sqrtf(float x) { return __nvvm_sqrt_rn_f(x); }
ZK_DEV float rsqrtf(float x) { return __nvvm_rsqrt_approx_f(x); }
ZK_DEV float fmaxf(float a, float b) { return __nvvm_fmax_f(a, b); }
ZK_DEV float fminf(float a, float b) { return __nvvm_fmin_f(a, b); }
ZK_DEV float fabsf(float x) { return __nvvm_fabs_f(x); }
ZK_DEV float sinf(float x) { return __nvvm_sin_approx_f(x); }
ZK_DEV float cosf(float x) { return __nvvm_cos_approx_f(x); }
ZK_DEV float __sinf(float x) { return __nvvm_sin_approx_f(x); }
ZK_DEV float __cosf(float x) { return __nvvm_cos_approx_f(x); }
ZK_DEV float __fdividef(float a, float b) { return __nvvm_div_approx_f(a, b); }
ZK_DEV float __frcp_rn(float x) { return __nvvm_rcp_rn_f(x); }
ZK_DEV float fmaf(float a, float b, float c) { return __nvvm_fma_rn_f(a, b, c); }
ZK_DEV float __fmaf_rn(float a, float b, float c) { return __nvvm_fma_rn_f(a, b, c); }
ZK_DEV float tanhf(float x)
{
    float e = expf(-2.0f * fabsf(x));
    float t = (1.0f - e) / (1.0f + e);
    return x < 0.0f ? -t : t;
}
ZK_DEV int min(int a, int b) { return a < b ? a : b; }
ZK_DEV int max(int a, int b) { return a > b ? a : b; }
ZK_DEV unsigned int min(unsigned int a, unsigned int b) { return a < b ? a : b; }
ZK_DEV unsigned int max(unsigned int a, unsigned int b) { return a > b ? a : b; }
ZK_DEV float min(float a, float b) { return fminf(a, b); }
ZK_DEV float max(float a, float b) { return fmaxf(a, b); }

/* Integer intrinsics. */
ZK_DEV int __popc(unsigned int x) { return __builtin_popcount(x); }
ZK_DEV int __clz(int x) { return x ? __builtin_clz((unsigned int)x) : 32; }
ZK_DEV int __ffs(int x) { return __builtin_ffs(x); }
ZK_DEV unsigned int __brev(unsigned int x) { return __builtin_bitreverse32(x); }
ZK_DEV unsigned int __byte_perm(unsigned int a, unsigned int b, unsigned int s)
{
    return (unsigned int)__nvvm_prmt((int)a, (int)b, (int)s);
}
ZK_DEV int __mul24(int a, int b) { return ((a << 8) >> 8) * ((b << 8) >> 8); }
ZK_DEV float __int_as_float(int x) { return __builtin_bit_cast(float, x); }
ZK_DEV int __float_as_int(float x) { return __builtin_bit_cast(int, x); }
ZK_DEV unsigned int __float_as_uint(float x) { return __builtin_bit_cast(unsigned int, x); }
ZK_DEV float __uint_as_float(unsigned int x) { return __builtin_bit_cast(float, x); }

/* Read-only loads (ld.global.nc). */
template <typename T> ZK_DEV T __ldg(const T *p) { return *p; }

/* Atomics on generic addresses. */
ZK_DEV float atomicAdd(float *p, float v) { return __nvvm_atom_add_gen_f(p, v); }
ZK_DEV int atomicAdd(int *p, int v) { return __nvvm_atom_add_gen_i(p, v); }
ZK_DEV unsigned int atomicAdd(unsigned int *p, unsigned int v)
{
    return (unsigned int)__nvvm_atom_add_gen_i((int *)p, (int)v);
}
ZK_DEV int atomicSub(int *p, int v) { return __nvvm_atom_add_gen_i(p, -v); }
ZK_DEV unsigned int atomicSub(unsigned int *p, unsigned int v)
{
    return (unsigned int)__nvvm_atom_add_gen_i((int *)p, -(int)v);
}
ZK_DEV int atomicMax(int *p, int v) { return __nvvm_atom_max_gen_i(p, v); }
ZK_DEV int atomicMin(int *p, int v) { return __nvvm_atom_min_gen_i(p, v); }
ZK_DEV unsigned int atomicMax(unsigned int *p, unsigned int v) { return __nvvm_atom_max_gen_ui(p, v); }
ZK_DEV unsigned int atomicMin(unsigned int *p, unsigned int v) { return __nvvm_atom_min_gen_ui(p, v); }
ZK_DEV int atomicExch(int *p, int v) { return __nvvm_atom_xchg_gen_i(p, v); }
ZK_DEV unsigned int atomicExch(unsigned int *p, unsigned int v)
{
    return (unsigned int)__nvvm_atom_xchg_gen_i((int *)p, (int)v);
}
ZK_DEV float atomicExch(float *p, float v)
{
    return __int_as_float(__nvvm_atom_xchg_gen_i((int *)p, __float_as_int(v)));
}
ZK_DEV int atomicCAS(int *p, int cmp, int v) { return __nvvm_atom_cas_gen_i(p, cmp, v); }
ZK_DEV unsigned int atomicCAS(unsigned int *p, unsigned int cmp, unsigned int v)
{
    return (unsigned int)__nvvm_atom_cas_gen_i((int *)p, (int)cmp, (int)v);
}
ZK_DEV int atomicAnd(int *p, int v) { return __nvvm_atom_and_gen_i(p, v); }
ZK_DEV int atomicOr(int *p, int v) { return __nvvm_atom_or_gen_i(p, v); }
ZK_DEV int atomicXor(int *p, int v) { return __nvvm_atom_xor_gen_i(p, v); }

/* Warp shuffles: control word (32 - width) << 8 | clamp (31 for down/xor/idx). */
#define ZK_SHFL(name, op, T, sfx, D, clamp)                                            \
    ZK_DEV T name(unsigned int m, T v, D d, int w = 32)                                \
    {                                                                                  \
        return __nvvm_shfl_sync_##op##_##sfx(m, v, d, ((32 - w) << 8) | (clamp));      \
    }
ZK_SHFL(__shfl_xor_sync, bfly, float, f32, int, 0x1f)
ZK_SHFL(__shfl_xor_sync, bfly, int, i32, int, 0x1f)
ZK_SHFL(__shfl_down_sync, down, float, f32, unsigned int, 0x1f)
ZK_SHFL(__shfl_down_sync, down, int, i32, unsigned int, 0x1f)
ZK_SHFL(__shfl_up_sync, up, float, f32, unsigned int, 0)
ZK_SHFL(__shfl_up_sync, up, int, i32, unsigned int, 0)
ZK_SHFL(__shfl_sync, idx, float, f32, int, 0x1f)
ZK_SHFL(__shfl_sync, idx, int, i32, int, 0x1f)
#undef ZK_SHFL
ZK_DEV unsigned int __shfl_xor_sync(unsigned int m, unsigned int v, int d, int w = 32)
{
    return (unsigned int)__shfl_xor_sync(m, (int)v, d, w);
}
ZK_DEV unsigned int __shfl_down_sync(unsigned int m, unsigned int v, unsigned int d, int w = 32)
{
    return (unsigned int)__shfl_down_sync(m, (int)v, d, w);
}
ZK_DEV unsigned int __shfl_sync(unsigned int m, unsigned int v, int d, int w = 32)
{
    return (unsigned int)__shfl_sync(m, (int)v, d, w);
}
ZK_DEV unsigned int __ballot_sync(unsigned int m, int p) { return __nvvm_vote_ballot_sync(m, p); }
ZK_DEV int __any_sync(unsigned int m, int p) { return __nvvm_vote_any_sync(m, p); }
ZK_DEV int __all_sync(unsigned int m, int p) { return __nvvm_vote_all_sync(m, p); }
ZK_DEV unsigned int __activemask(void) { return __nvvm_vote_ballot_sync(0xffffffffu, 1); }

#undef ZK_DEV
#endif /* !__NVCC__ && __CUDA__ */

#endif /* ZK_CUDA_DEVICE_H_ */
