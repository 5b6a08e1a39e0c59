/* SPDX-License-Identifier: MIT */
/* bitops.cu - popc, clz, brev, byte_perm, bit-field insert, shifts and integer division. */
#include <cuda_runtime.h>

extern "C" __global__ void bitops(const unsigned int *a, const unsigned int *b, unsigned int *out,
                                  int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) {
        return;
    }
    unsigned int x = a[i], y = b[i] | 1u;
    unsigned int *o = out + 8 * i;
    o[0] = __popc(x);
    o[1] = __clz((int)x);
    o[2] = __brev(x);
    o[3] = __byte_perm(x, y, 0x5140);
    o[4] = (x & ~0xff0u) | ((y << 4) & 0xff0u);
    o[5] = (x >> (y & 31)) ^ (x << 3);
    o[6] = x / y + x % y;
    o[7] = (unsigned int)((int)x / (int)y);
}
