#!/bin/sh
# test_cuda_install.sh - `make -C runtime/cuda install` into a scratch prefix,
# then build CUDA programs from the installed tree only (docs/cuda.md):
# a runtime-API .cu through zk-cuda-cc, the same through the pkg-config
# variables, a C driver-API program through pkg-config --cflags --libs.  The
# host has no zhikai card, so running them must give CUDA's "no device"
# codes (which proves they load our libraries from the private lib dir).  TAP.
set -u
REPO=$(realpath "$(dirname "$0")/../..")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

P=$T/prefix
make -s -C "$REPO/runtime" install PREFIX="$P" >/dev/null 2>&1
make -s -C "$REPO/runtime/cuda" install PREFIX="$P" >/dev/null 2>&1
ok $? "make install PREFIX=scratch (runtime, runtime/cuda)"
[ -f "$P/lib/zhikai/cuda/libcuda.so.1" ] && [ -f "$P/lib/zhikai/cuda/libcudart.so.13" ] && \
    [ ! -e "$P/lib/libcuda.so.1" ]
ok $? "CUDA libraries in lib/zhikai/cuda, not beside the system's libcuda.so.1"
export PKG_CONFIG_PATH=$P/lib/pkgconfig

cat > "$T/app.cu" <<'CU'
#include <cuda_runtime.h>
#include <stdio.h>
__global__ void twice(float *x) { x[threadIdx.x] *= 2.0f; }
int main(void)
{
    int n = -1;
    cudaError_t e = cudaGetDeviceCount(&n);
    float *d = NULL;
    printf("%s %d\n", cudaGetErrorName(e), n);
    if (e == cudaSuccess && cudaMalloc(&d, 128) == cudaSuccess) {
        twice<<<1, 32>>>(d);
        e = cudaDeviceSynchronize();
    }
    return e == cudaErrorNoDevice ? 0 : 1;
}
CU
"$P/bin/zk-cuda-cc" -O2 "$T/app.cu" -o "$T/app" 2>"$T/err"
ok $? "zk-cuda-cc app.cu (clang-14, no NVIDIA SDK)"
out=$(cd / && "$T/app" 2>&1)
ok $? "app runs on our libcudart: '$out' (no card on the host)"
readelf -d "$T/app" | grep -q 'libcudart.so.13'
ok $? "app needs libcudart.so.13"

# The same by hand, with the pkg-config variables.
C=$(pkg-config --cflags zhikai-cuda)
F=$(pkg-config --variable=clang_cuda_flags zhikai-cuda)
clang-14 $F $C $(pkg-config --variable=clang_cuda_device_flags zhikai-cuda) "$T/app.cu" -o "$T/app.ptx" 2>>"$T/err" &&
clang-14 $F $C $(pkg-config --variable=clang_cuda_host_flags zhikai-cuda) \
    -Xclang -fcuda-include-gpubinary -Xclang "$T/app.ptx" -c "$T/app.cu" -o "$T/app.o" 2>>"$T/err" &&
clang-14 "$T/app.o" -o "$T/app2" $(pkg-config --libs zhikai-cuda) -lstdc++ 2>>"$T/err" && (cd / && "$T/app2" >/dev/null)
ok $? "two clang steps with pkg-config --variable=clang_cuda_*"

cat > "$T/drv.c" <<'C'
#include <cuda.h>
#include <stdio.h>
int main(void)
{
    CUresult r = cuInit(0);
    const char *s = NULL;
    cuGetErrorName(r, &s);
    printf("%s\n", s);
    return r == CUDA_ERROR_NO_DEVICE ? 0 : 1;
}
C
cc -std=c11 -Wall -Werror $C "$T/drv.c" -o "$T/drv" $(pkg-config --libs zhikai-cuda) 2>>"$T/err" && (cd / && "$T/drv" >/dev/null)
ok $? "driver-API C program via pkg-config --cflags --libs: cuInit -> CUDA_ERROR_NO_DEVICE"
[ "$fail" = 0 ] || sed 's/^/# /' "$T/err"
echo "1..$n"
exit $fail
