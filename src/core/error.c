/* error.c — status names and error formatting. */
#include "core/internal.h"
#include <stdlib.h>
#include <string.h>

const char *tq_version(void) { return TQ_VERSION_STRING; }

static const char *const STATUS_NAMES[TQ_STATUS_COUNT] = {
    [TQ_OK]            = "ok",
    [TQ_E_IO]          = "I/O error",
    [TQ_E_FORMAT]      = "format error",
    [TQ_E_UNSUPPORTED] = "unsupported",
    [TQ_E_NOMEM]       = "out of memory",
    [TQ_E_SHAPE]       = "shape error",
    [TQ_E_ARG]         = "invalid argument",
    [TQ_E_VALUE]       = "invalid value",
    [TQ_E_NOTFOUND]    = "not found",
    [TQ_E_LIMIT]       = "limit exceeded",
    [TQ_E_INTERNAL]    = "internal error",
};

const char *tq_status_str(tq_status s) {
    if ((int)s < 0 || s >= TQ_STATUS_COUNT) return "unknown status";
    return STATUS_NAMES[s];
}

tq_status tq_err(tq_error *err, tq_status st, const char *fmt, ...) {
    if (err) {
        err->status = st;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return st;
}

tq_status tq_err_prefix(tq_error *err, tq_status st, const char *fmt, ...) {
    if (!err) return st;
    char prefix[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = 0;
    size_t k = strlen(prefix);
    if (k > sizeof err->msg - 3) k = sizeof err->msg - 3;
    memcpy(err->msg, prefix, k);
    err->msg[k] = ':'; err->msg[k + 1] = ' ';
    size_t rest = sizeof err->msg - k - 3, ol = strlen(old);
    if (ol > rest) ol = rest;
    memcpy(err->msg + k + 2, old, ol);
    err->msg[k + 2 + ol] = 0;
    err->status = st;
    return st;
}

void tq_assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "trueq: internal invariant failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
