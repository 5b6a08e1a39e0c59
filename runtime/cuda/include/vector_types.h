/* SPDX-License-Identifier: MIT */
/* vector_types.h - CUDA's built-in vector types (layout and alignment as in CUDA). */
#ifndef ZK_VECTOR_TYPES_H_
#define ZK_VECTOR_TYPES_H_

#define ZK_VEC2(T, N, A) typedef struct __attribute__((aligned(A))) N { T x, y; } N
#define ZK_VEC3(T, N) typedef struct N { T x, y, z; } N
#define ZK_VEC4(T, N, A) typedef struct __attribute__((aligned(A))) N { T x, y, z, w; } N

ZK_VEC2(char, char2, 2);
ZK_VEC2(unsigned char, uchar2, 2);
ZK_VEC4(char, char4, 4);
ZK_VEC4(unsigned char, uchar4, 4);
ZK_VEC2(short, short2, 4);
ZK_VEC2(unsigned short, ushort2, 4);
ZK_VEC4(short, short4, 8);
ZK_VEC4(unsigned short, ushort4, 8);
ZK_VEC2(int, int2, 8);
ZK_VEC2(unsigned int, uint2, 8);
ZK_VEC3(int, int3);
ZK_VEC4(int, int4, 16);
ZK_VEC4(unsigned int, uint4, 16);
ZK_VEC2(float, float2, 8);
ZK_VEC3(float, float3);
ZK_VEC4(float, float4, 16);
ZK_VEC2(double, double2, 16);
ZK_VEC2(long long, longlong2, 16);
ZK_VEC2(unsigned long long, ulonglong2, 16);

typedef struct uint3 {
    unsigned int x, y, z;
} uint3;

/* Grid and block shapes: unspecified dimensions are 1. */
typedef struct dim3 {
    unsigned int x, y, z;
#ifdef __cplusplus
    constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1)
        : x(vx), y(vy), z(vz) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
    constexpr operator uint3() const { return uint3{x, y, z}; }
#endif
} dim3;

#undef ZK_VEC2
#undef ZK_VEC3
#undef ZK_VEC4

#endif /* ZK_VECTOR_TYPES_H_ */
