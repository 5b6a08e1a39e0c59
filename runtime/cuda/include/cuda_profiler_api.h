/* SPDX-License-Identifier: MIT */
/* cuda_profiler_api.h - profiler control: no-ops (no profiler to drive). */
#ifndef ZK_CUDA_PROFILER_API_H
#define ZK_CUDA_PROFILER_API_H

#include "cuda_runtime_api.h"

#endif
