// SPDX-License-Identifier: GPL-2.0-only
/* zk_trace.c - instantiates the tracepoints of zk_trace.h. */
#include "zk_drv.h"

#define CREATE_TRACE_POINTS
#include "zk_trace.h"
