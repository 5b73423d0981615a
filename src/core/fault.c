/*
 * fault.c — the test-only fault-injection hook (internal.h). Inert unless a
 * test sets it: tq_fault returns 0 without a hook.
 */
#include "core/internal.h"
#include <stddef.h>

static tq_fault_fn g_fault_fn;
static void *g_fault_ud;

void tq_fault_set(tq_fault_fn fn, void *ud) {
    g_fault_ud = ud;
    g_fault_fn = fn;
}

int tq_fault(const char *point, const char *path) {
    tq_fault_fn f = g_fault_fn;
    return f ? f(g_fault_ud, point, path) : 0;
}
