/*
 * blas_threads.h — internal to src/spectral/: the thread-count-explicit
 * singular-value routine (OpenBLAS itself is kept single-threaded through
 * core/blas.h).
 */
#ifndef TQ_SPECTRAL_BLAS_THREADS_H
#define TQ_SPECTRAL_BLAS_THREADS_H
#include "core/blas.h"
#include "trueq_spectral.h"
/** tq_spectral_svals with `threads` threads for the Gram route's slices
 *  (the result does not depend on `threads`). */
tq_status tq_spectral_svals_threads(const float *w, int64_t rows, int64_t cols, tq_spectral_svd method, int threads,
                                double *sv, tq_spectral_svd *used, tq_error *err);
#endif
