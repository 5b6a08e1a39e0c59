/* SPDX-License-Identifier: MIT */
/* error.c - status strings and the thread-local error detail. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "zk_internal.h"

static __thread char detail[512];

static const struct {
    const char *name, *text;
} status_info[] = {
    [ZK_SUCCESS] = {"ZK_SUCCESS", "no error"},
    [ZK_ERROR_INVALID_VALUE] = {"ZK_ERROR_INVALID_VALUE", "invalid value"},
    [ZK_ERROR_INVALID_HANDLE] = {"ZK_ERROR_INVALID_HANDLE", "invalid handle"},
    [ZK_ERROR_OUT_OF_MEMORY] = {"ZK_ERROR_OUT_OF_MEMORY", "out of memory"},
    [ZK_ERROR_NOT_INITIALIZED] = {"ZK_ERROR_NOT_INITIALIZED",
                                  "runtime not initialized (call zk_init)"},
    [ZK_ERROR_NO_DEVICE] = {"ZK_ERROR_NO_DEVICE", "no such zhikai device"},
    [ZK_ERROR_INVALID_CONTEXT] = {"ZK_ERROR_INVALID_CONTEXT",
                                  "no valid current context"},
    [ZK_ERROR_LAUNCH_FAILED] = {"ZK_ERROR_LAUNCH_FAILED",
                                "a job faulted on the device"},
    [ZK_ERROR_ILLEGAL_COMMAND] = {"ZK_ERROR_ILLEGAL_COMMAND",
                                  "the device rejected a command or kernel"},
    [ZK_ERROR_ABORTED] = {"ZK_ERROR_ABORTED", "work aborted by a device reset"},
    [ZK_ERROR_DEVICE_LOST] = {"ZK_ERROR_DEVICE_LOST", "device lost"},
    [ZK_ERROR_TIMEOUT] = {"ZK_ERROR_TIMEOUT", "timed out"},
    [ZK_ERROR_NOT_READY] = {"ZK_ERROR_NOT_READY", "work not completed yet"},
    [ZK_ERROR_INVALID_IMAGE] = {"ZK_ERROR_INVALID_IMAGE",
                                "invalid kernel object"},
    [ZK_ERROR_NOT_FOUND] = {"ZK_ERROR_NOT_FOUND", "not found"},
    [ZK_ERROR_INVALID_ARGUMENT_TYPE] = {"ZK_ERROR_INVALID_ARGUMENT_TYPE",
                                        "kernel argument has the wrong type"},
    [ZK_ERROR_NOT_SUPPORTED] = {"ZK_ERROR_NOT_SUPPORTED", "not supported"},
    [ZK_ERROR_OS] = {"ZK_ERROR_OS", "operating system call failed"},
    [ZK_ERROR_UNKNOWN] = {"ZK_ERROR_UNKNOWN", "unknown error"},
};

ZK_EXPORT const char *zk_error_string(zk_status st)
{
    if ((unsigned)st < sizeof(status_info) / sizeof(status_info[0]) &&
        status_info[st].text) {
        return status_info[st].text;
    }
    return "unknown status";
}

ZK_EXPORT const char *zk_error_name(zk_status st)
{
    if ((unsigned)st < sizeof(status_info) / sizeof(status_info[0]) &&
        status_info[st].name) {
        return status_info[st].name;
    }
    return "ZK_ERROR_?";
}

ZK_EXPORT const char *zk_last_error_detail(void)
{
    return detail;
}

zk_status zk__fail(zk_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    return st;
}

zk_status zk__fail_io(int neg, const char *what)
{
    int e = -neg;
    zk_status st;
    switch (e) {
    case ENOMEM:
    case ENOSPC:
        st = ZK_ERROR_OUT_OF_MEMORY;
        break;
    case ENODEV:
    case ENXIO:
        st = ZK_ERROR_DEVICE_LOST;
        break;
    case ETIME:
    case ETIMEDOUT:
        st = ZK_ERROR_TIMEOUT;
        break;
    default:
        st = ZK_ERROR_OS;
        break;
    }
    return zk__fail(st, "%s: %s failed: %s (errno %d)", what, zkio_last_call(),
                    strerror(e), e);
}

zk_status zk__job_status(uint32_t s)
{
    switch (s) {
    case ZKIO_JOB_OK:
        return ZK_SUCCESS;
    case ZKIO_JOB_FAULTED:
        return ZK_ERROR_LAUNCH_FAILED;
    case ZKIO_JOB_ERROR:
        return ZK_ERROR_ILLEGAL_COMMAND;
    case ZKIO_JOB_ABORTED:
        return ZK_ERROR_ABORTED;
    case ZKIO_JOB_TIMEDOUT:
        return ZK_ERROR_TIMEOUT;
    default:
        return ZK_ERROR_UNKNOWN;
    }
}
