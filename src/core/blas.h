/*
 * blas.h — keep OpenBLAS single-threaded while trueq's work runs (internal).
 *
 * OpenBLAS's threaded kernels split work (and, for some shapes, reductions)
 * by its thread count, so their round-off depends on it: OpenBLAS 0.3.21's
 * sgemm gives different bytes with 1 and 2 threads. trueq wants the same
 * bytes for any thread count, so the spectral analysis and the encoder run
 * every BLAS/LAPACK call with one OpenBLAS thread and parallelise with their
 * own threads over shape-determined tasks. Calls nest and may come from
 * several threads: a reference count, under a mutex, sets one thread on the
 * first entry and restores the caller's setting on the last exit. Read
 * openblas_get_num_threads() before entering to learn the caller's choice.
 */
#ifndef TQ_CORE_BLAS_H
#define TQ_CORE_BLAS_H
void tq_blas_serial_enter(void);
void tq_blas_serial_leave(void);
/* Stop OpenBLAS's worker threads now. The pthread build starts them when the
 * library loads and each spins in sched_yield for a while before it sleeps,
 * taking a core from work that never calls BLAS (convert); a later threaded
 * BLAS call starts them again. No-op with a build that lacks the entry point. */
void tq_blas_pool_park(void);
#endif
