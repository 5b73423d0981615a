/*
 * blas_threads.h — keep OpenBLAS single-threaded while spectral work runs
 * (internal to src/spectral/).
 *
 * OpenBLAS's threaded level-2 kernels split reductions across threads, so
 * their round-off depends on its thread count and even on scheduling. The
 * spectral module therefore runs every BLAS/LAPACK call with one OpenBLAS
 * thread (parallelism comes from analysing layers on separate threads). The
 * calls nest and may come from several threads: a reference count, under a
 * mutex, sets one thread on the first entry and restores the caller's
 * setting on the last exit.
 */
#ifndef TQ_SPECTRAL_BLAS_THREADS_H
#define TQ_SPECTRAL_BLAS_THREADS_H
void tq_spec_blas_enter(void);
void tq_spec_blas_leave(void);

#include "trueq_spectral.h"
/** tq_spectral_svals with `threads` threads for the Gram route's slices
 *  (the result does not depend on `threads`). */
tq_status tq_spec_svals_threads(const float *w, int64_t rows, int64_t cols, tq_spec_svd method, int threads,
                                double *sv, tq_spec_svd *used, tq_error *err);
#endif
