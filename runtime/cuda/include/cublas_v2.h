/* SPDX-License-Identifier: MIT */
/*
 * cublas_v2.h - the handle-based cuBLAS API (zhikai's own header): maps the
 * documented names to the _v2 symbols libcublas.so.13 exports, as CUDA does.
 */
#ifndef ZHIKAI_CUBLAS_V2_H
#define ZHIKAI_CUBLAS_V2_H

#define CUBLAS_V2_H_
#include "cublas_api.h"

#define cublasCreate cublasCreate_v2
#define cublasDestroy cublasDestroy_v2
#define cublasGetVersion cublasGetVersion_v2
#define cublasSetStream cublasSetStream_v2
#define cublasGetStream cublasGetStream_v2
#define cublasGetPointerMode cublasGetPointerMode_v2
#define cublasSetPointerMode cublasSetPointerMode_v2
#define cublasSscal cublasSscal_v2
#define cublasSaxpy cublasSaxpy_v2
#define cublasScopy cublasScopy_v2
#define cublasSdot cublasSdot_v2
#define cublasSgemm cublasSgemm_v2
#define cublasSgemv cublasSgemv_v2

#endif
