/*
 * blas.c — run OpenBLAS single-threaded while trueq's own threads do the
 * parallel work (core/blas.h).
 */
#include "core/blas.h"
#include <cblas.h>
#include <pthread.h>

static pthread_mutex_t blas_mu = PTHREAD_MUTEX_INITIALIZER;
static int blas_refs, blas_saved;

void tq_blas_serial_enter(void) {
    pthread_mutex_lock(&blas_mu);
    if (blas_refs++ == 0) {
        blas_saved = openblas_get_num_threads();
        if (blas_saved != 1) openblas_set_num_threads(1);
    }
    pthread_mutex_unlock(&blas_mu);
}

void tq_blas_serial_leave(void) {
    pthread_mutex_lock(&blas_mu);
    if (--blas_refs == 0 && blas_saved != 1) openblas_set_num_threads(blas_saved);
    pthread_mutex_unlock(&blas_mu);
}

/* OpenBLAS's own shutdown of its thread server (exported by the pthread build,
 * also what it runs before fork); weak, so other builds link and skip it. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

void tq_blas_pool_park(void) {
    pthread_mutex_lock(&blas_mu);
    if (blas_refs == 0 && blas_thread_shutdown_) blas_thread_shutdown_();
    pthread_mutex_unlock(&blas_mu);
}
