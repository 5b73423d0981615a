/*
 * blas.h — OpenBLAS and LAPACKE, loaded on first use; one OpenBLAS thread
 * while trueq's work runs (internal).
 *
 * Loading. The executable does not link OpenBLAS or LAPACKE (their loading,
 * relocation and OpenBLAS's start-up of its thread server cost ~2.5 ms of
 * every process, and `trueq convert` never calls them): tq_blas() dlopen()s
 * them (by the SONAMEs found at build time, TQ_OPENBLAS_SONAME and
 * TQ_LAPACKE_SONAME; TRUEQ_OPENBLAS / TRUEQ_LAPACKE name other files) the
 * first time a BLAS or LAPACK routine is wanted. A process that already has
 * them loaded (a program linked with them, Python with numpy) shares that
 * copy. Where they cannot be loaded, tq_blas() holds portable reference
 * loops instead (the same results up to round-off, much slower) and LAPACK
 * routines return -1 (their callers report a failed factorization).
 *
 * Threads. OpenBLAS's threaded kernels split work (and, for some shapes,
 * reductions) by its thread count, so their round-off depends on it: OpenBLAS
 * 0.3.21's sgemm gives different bytes with 1 and 2 threads. trueq wants the
 * same bytes for any thread count, so the spectral analysis and the encoder
 * run every BLAS/LAPACK call with one OpenBLAS thread and parallelise with
 * their own threads over shape-determined tasks. Calls nest and may come from
 * several threads: a reference count, under a mutex, sets one thread on the
 * first entry and restores the caller's setting on the last exit (and when
 * OpenBLAS is loaded while inside, at its loading). Read tq_blas_threads()
 * before entering to learn the caller's choice.
 */
#ifndef TQ_CORE_BLAS_H
#define TQ_CORE_BLAS_H
#include <stdbool.h>
#include <cblas.h>
#include <lapacke.h>

/** The routines trueq calls, with OpenBLAS's / LAPACKE's signatures. */
typedef struct tq_blas_fns {
    __typeof__(&cblas_sgemm) sgemm;
    __typeof__(&cblas_dgemm) dgemm;
    __typeof__(&cblas_sgemv) sgemv;
    __typeof__(&cblas_dsyrk) dsyrk;
    __typeof__(&cblas_ssymm) ssymm;
    __typeof__(&LAPACKE_dpotrf) dpotrf;
    __typeof__(&LAPACKE_dpotri) dpotri;
    __typeof__(&LAPACKE_dsyevd) dsyevd;
    __typeof__(&LAPACKE_dgesdd) dgesdd;
} tq_blas_fns;

/** What the portable LAPACK stand-ins return: LAPACKE could not be loaded
 *  (tq_blas_describe says why). No LAPACK routine returns it. */
#define TQ_LAPACK_MISSING (-100000)

/** The routines: OpenBLAS's and LAPACKE's, loaded on the first call
 *  (thread-safe), or the portable ones where they could not be loaded.
 *  Never NULL. */
const tq_blas_fns *tq_blas(void);
/** The portable reference routines (tests compare them with OpenBLAS). */
const tq_blas_fns *tq_blas_reference(void);
/** One line saying which routines serve (loads them): "blas: OpenBLAS
 *  (<file>: <openblas_get_config>); LAPACKE (<file>)", or for either the
 *  stand-in and why the library could not be loaded (dlerror's text). The
 *  same line for the life of the process. */
const char *tq_blas_describe(void);
/** Whether the routines were loaded (tq_blas called) and OpenBLAS or LAPACKE
 *  could not be: the stand-ins serve. Does not load them. */
bool tq_blas_fell_back(void);
/** Whether OpenBLAS is in use now (loaded by tq_blas), without loading it. */
bool tq_blas_loaded(void);
/** OpenBLAS's thread count (openblas_get_num_threads); where OpenBLAS is not
 *  loaded, what it would start with: OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS or
 *  OMP_NUM_THREADS, else every CPU this process may run on; not loading it. */
int tq_blas_threads(void);
/** openblas_set_num_threads (loads OpenBLAS; nothing without it). */
void tq_blas_set_threads(int n);
void tq_blas_serial_enter(void);
void tq_blas_serial_leave(void);
/* Stop OpenBLAS's worker threads now, where it is loaded. The pthread build
 * starts them when the library loads and each spins in sched_yield for a
 * while before it sleeps, taking a core from work that never calls BLAS; a
 * later threaded BLAS call starts them again. No-op with a build that lacks
 * the entry point, or when OpenBLAS is not loaded. */
void tq_blas_pool_park(void);
#endif
