/*
 * blas.c — OpenBLAS and LAPACKE loaded on first use, portable reference
 * routines where they cannot be, and OpenBLAS kept single-threaded while
 * trueq's own threads do the parallel work (core/blas.h).
 */
#define _GNU_SOURCE 1   /* CPU_COUNT, RTLD_NOLOAD */
#include "core/blas.h"
#include "trueq.h"
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef TQ_OPENBLAS_SONAME
#define TQ_OPENBLAS_SONAME "libopenblas.so.0"
#endif
#ifndef TQ_LAPACKE_SONAME
#define TQ_LAPACKE_SONAME "liblapacke.so.3"
#endif

/* ---- portable reference routines (column-major indexing; a row-major call
 * is the column-major one of the transposed problem) ------------------------- */

/* element (i, j) of op(X) for a matrix stored with leading dimension ld */
#define AT(X, ld, i, j, tr, row) ((row) != ((tr) != CblasNoTrans) ? (X)[(size_t)(i) * (ld) + (j)] : (X)[(size_t)(j) * (ld) + (i)])

#define GEMM_REF(NAME, T)                                                                                               \
    static void NAME(const enum CBLAS_ORDER o, const enum CBLAS_TRANSPOSE ta, const enum CBLAS_TRANSPOSE tb,            \
                     const blasint M, const blasint N, const blasint K, const T alpha, const T *A, const blasint lda,   \
                     const T *B, const blasint ldb, const T beta, T *C, const blasint ldc) {                            \
        const bool row = o == CblasRowMajor;                                                                            \
        for (blasint i = 0; i < M; i++)                                                                                 \
            for (blasint j = 0; j < N; j++) {                                                                           \
                T s = 0;                                                                                                \
                for (blasint p = 0; p < K; p++) s += AT(A, lda, i, p, ta, row) * AT(B, ldb, p, j, tb, row);             \
                T *c = row ? &C[(size_t)i * ldc + j] : &C[(size_t)j * ldc + i];                                         \
                *c = alpha * s + (beta == 0 ? 0 : beta * *c);                                                           \
            }                                                                                                           \
    }
GEMM_REF(ref_sgemm, float)
GEMM_REF(ref_dgemm, double)

static void ref_sgemv(const enum CBLAS_ORDER o, const enum CBLAS_TRANSPOSE t, const blasint M, const blasint N,
                      const float alpha, const float *A, const blasint lda, const float *x, const blasint incx,
                      const float beta, float *y, const blasint incy) {
    const bool row = o == CblasRowMajor, tr = t != CblasNoTrans;
    const blasint ny = tr ? N : M, nx = tr ? M : N;
    for (blasint i = 0; i < ny; i++) {
        float s = 0;
        for (blasint p = 0; p < nx; p++) {
            const float a = tr ? AT(A, lda, p, i, CblasNoTrans, row) : AT(A, lda, i, p, CblasNoTrans, row);
            s += a * x[incx >= 0 ? (size_t)p * incx : (size_t)(nx - 1 - p) * -incx];
        }
        float *c = &y[incy >= 0 ? (size_t)i * incy : (size_t)(ny - 1 - i) * -incy];
        *c = alpha * s + (beta == 0 ? 0 : beta * *c);
    }
}

/* C (n x n) = alpha op(A) op(A)^T + beta C, only the uplo triangle */
static void ref_dsyrk(const enum CBLAS_ORDER o, const enum CBLAS_UPLO u, const enum CBLAS_TRANSPOSE t, const blasint N,
                      const blasint K, const double alpha, const double *A, const blasint lda, const double beta, double *C,
                      const blasint ldc) {
    const bool row = o == CblasRowMajor;
    for (blasint i = 0; i < N; i++)
        for (blasint j = 0; j < N; j++) {
            bool upper = j >= i, lower = j <= i;
            if (!(u == CblasUpper ? upper : lower)) continue;
            double s = 0;
            for (blasint p = 0; p < K; p++) s += AT(A, lda, i, p, t, row) * AT(A, lda, j, p, t, row);
            double *c = row ? &C[(size_t)i * ldc + j] : &C[(size_t)j * ldc + i];
            *c = alpha * s + (beta == 0 ? 0 : beta * *c);
        }
}

/* C (m x n) = alpha A B + beta C (Left, A m x m) or alpha B A + beta C (Right, A n x n), A symmetric (uplo stored) */
static void ref_ssymm(const enum CBLAS_ORDER o, const enum CBLAS_SIDE side, const enum CBLAS_UPLO u, const blasint M,
                      const blasint N, const float alpha, const float *A, const blasint lda, const float *B, const blasint ldb,
                      const float beta, float *C, const blasint ldc) {
    const bool row = o == CblasRowMajor;
    const blasint K = side == CblasLeft ? M : N;
    for (blasint i = 0; i < M; i++)
        for (blasint j = 0; j < N; j++) {
            float s = 0;
            for (blasint p = 0; p < K; p++) {
                blasint r = side == CblasLeft ? i : p, c = side == CblasLeft ? p : j;   /* A(r, c), read from its triangle */
                if ((u == CblasUpper) != (c >= r)) { blasint x = r; r = c; c = x; }
                const float a = AT(A, lda, r, c, CblasNoTrans, row);
                s += side == CblasLeft ? a * AT(B, ldb, p, j, CblasNoTrans, row) : AT(B, ldb, i, p, CblasNoTrans, row) * a;
            }
            float *cc = row ? &C[(size_t)i * ldc + j] : &C[(size_t)j * ldc + i];
            *cc = alpha * s + (beta == 0 ? 0 : beta * *cc);
        }
}

/* LAPACK has no portable stand-in here: TQ_LAPACK_MISSING, which callers report as LAPACKE missing */
static lapack_int ref_potr(int layout, char uplo, lapack_int n, double *a, lapack_int lda) {
    (void)layout; (void)uplo; (void)n; (void)a; (void)lda;
    return TQ_LAPACK_MISSING;
}
static lapack_int ref_dsyevd(int layout, char jobz, char uplo, lapack_int n, double *a, lapack_int lda, double *w) {
    (void)layout; (void)jobz; (void)uplo; (void)n; (void)a; (void)lda; (void)w;
    return TQ_LAPACK_MISSING;
}
static lapack_int ref_dgesdd(int layout, char jobz, lapack_int m, lapack_int n, double *a, lapack_int lda, double *s,
                             double *u, lapack_int ldu, double *vt, lapack_int ldvt) {
    (void)layout; (void)jobz; (void)m; (void)n; (void)a; (void)lda; (void)s; (void)u; (void)ldu; (void)vt; (void)ldvt;
    return TQ_LAPACK_MISSING;
}

static const tq_blas_fns REF = {ref_sgemm, ref_dgemm, ref_sgemv, ref_dsyrk, ref_ssymm, ref_potr, ref_potr, ref_dsyevd,
                                ref_dgesdd};

const tq_blas_fns *tq_blas_reference(void) { return &REF; }

/* ---- loading -------------------------------------------------------------- */

static tq_blas_fns fns;
static int (*get_threads)(void);
static void (*set_threads)(int);
static int (*thread_shutdown)(void);   /* OpenBLAS's blas_thread_shutdown_ (pthread builds) */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t blas_mu = PTHREAD_MUTEX_INITIALIZER;
static bool loaded;   /* written once, under blas_mu, inside `once` */
static bool tried, lapacke_ok;   /* the same */
static char why_blas[192], why_lapacke[192], blas_config[96];   /* written once inside `once`, before `tried` */
static int blas_refs, blas_saved;

static const char *lib_name(const char *env, const char *dflt) {
    const char *e = getenv(env);
    return e && *e ? e : dflt;
}

/* dst = lib's symbol `name`, cast to dst's type; whether it was found */
#define SYM(lib, dst, name) (((dst) = (__typeof__(dst))dlsym(lib, name)) != NULL)

/* why = the reason lib could not serve (dlerror's text, or the first symbol missing) */
static void note_why(char *why, size_t n, void *lib, const char *name) {
    const char *e = lib ? NULL : dlerror();
    if (lib) snprintf(why, n, "%s lacks a routine trueq calls", name);
    else snprintf(why, n, "%s", e ? e : name);
}

static void load(void) {
    tq_blas_fns f = REF, b = REF;
    const char *bname = lib_name("TRUEQ_OPENBLAS", TQ_OPENBLAS_SONAME), *lname = lib_name("TRUEQ_LAPACKE", TQ_LAPACKE_SONAME);
    char *(*config)(void) = NULL;
    int (*gt)(void) = NULL;
    void (*stt)(int) = NULL;
    int (*sd)(void) = NULL;
    void *h = dlopen(bname, RTLD_NOW | RTLD_LOCAL);
    bool lok = false;
    if (h && SYM(h, b.sgemm, "cblas_sgemm") && SYM(h, b.dgemm, "cblas_dgemm") && SYM(h, b.sgemv, "cblas_sgemv") &&
        SYM(h, b.dsyrk, "cblas_dsyrk") && SYM(h, b.ssymm, "cblas_ssymm") && SYM(h, gt, "openblas_get_num_threads") &&
        SYM(h, stt, "openblas_set_num_threads")) {   /* all or none */
        f.sgemm = b.sgemm; f.dgemm = b.dgemm; f.sgemv = b.sgemv; f.dsyrk = b.dsyrk; f.ssymm = b.ssymm;
        (void)SYM(h, sd, "blas_thread_shutdown_");   /* pthread builds only */
        (void)SYM(h, config, "openblas_get_config");
    } else {
        gt = NULL; stt = NULL;
        note_why(why_blas, sizeof why_blas, h, bname);
    }
    if (config && config()) snprintf(blas_config, sizeof blas_config, "%s", config());
    void *l = dlopen(lname, RTLD_NOW | RTLD_LOCAL);
    if (l && SYM(l, b.dpotrf, "LAPACKE_dpotrf") && SYM(l, b.dpotri, "LAPACKE_dpotri") && SYM(l, b.dsyevd, "LAPACKE_dsyevd") &&
        SYM(l, b.dgesdd, "LAPACKE_dgesdd")) {
        f.dpotrf = b.dpotrf; f.dpotri = b.dpotri; f.dsyevd = b.dsyevd; f.dgesdd = b.dgesdd;
        lok = true;
    } else {
        note_why(why_lapacke, sizeof why_lapacke, l, lname);
    }
    pthread_mutex_lock(&blas_mu);
    tried = true; lapacke_ok = lok;
    fns = f;
    get_threads = gt; set_threads = stt; thread_shutdown = sd;
    loaded = gt != NULL;
    if (loaded && blas_refs > 0) {   /* loaded inside a serial section: it starts serial now */
        blas_saved = get_threads();
        if (blas_saved != 1) set_threads(1);
    }
    pthread_mutex_unlock(&blas_mu);
}

const tq_blas_fns *tq_blas(void) {
    pthread_once(&once, load);
    return &fns;
}

bool tq_blas_fell_back(void) {
    pthread_mutex_lock(&blas_mu);
    bool f = tried && (!loaded || !lapacke_ok);
    pthread_mutex_unlock(&blas_mu);
    return f;
}

static char line[720];

static void describe_line(void) {
    const char *bname = lib_name("TRUEQ_OPENBLAS", TQ_OPENBLAS_SONAME), *lname = lib_name("TRUEQ_LAPACKE", TQ_LAPACKE_SONAME);
    char b[320], lline[320];
    if (loaded) snprintf(b, sizeof b, "OpenBLAS (%s%s%s)", bname, *blas_config ? ": " : "", blas_config);
    else snprintf(b, sizeof b, "portable reference loops, much slower (OpenBLAS not loaded: %s; install libopenblas0 "
                  "or name it in TRUEQ_OPENBLAS)", why_blas);
    if (lapacke_ok) snprintf(lline, sizeof lline, "LAPACKE (%s)", lname);
    else snprintf(lline, sizeof lline, "no LAPACK (LAPACKE not loaded: %s; install liblapacke or name it in "
                  "TRUEQ_LAPACKE)", why_lapacke);
    snprintf(line, sizeof line, "blas: %s; %s", b, lline);
}

static pthread_once_t line_once = PTHREAD_ONCE_INIT;

const char *tq_blas_describe(void) {
    tq_blas();
    pthread_once(&line_once, describe_line);
    return line;
}


bool tq_blas_loaded(void) {
    pthread_mutex_lock(&blas_mu);
    bool l = loaded;
    pthread_mutex_unlock(&blas_mu);
    return l;
}

/* OpenBLAS already in the process (linked by the program, loaded by another library)? */
static bool present(void) {
    if (tq_blas_loaded()) return true;
    void *h = dlopen(lib_name("TRUEQ_OPENBLAS", TQ_OPENBLAS_SONAME), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (h) dlclose(h);
    return h != NULL;
}

static int env_threads(const char *name) {
    const char *e = getenv(name);
    long v = e && *e ? strtol(e, NULL, 10) : 0;
    return v > 0 && v < 1 << 20 ? (int)v : 0;
}

int tq_blas_threads(void) {
    if (present()) {
        tq_blas();
        pthread_mutex_lock(&blas_mu);
        int n = get_threads ? (blas_refs > 0 && blas_saved > 0 ? blas_saved : get_threads()) : 0;
        pthread_mutex_unlock(&blas_mu);
        if (n > 0) return n;
    }
    /* as OpenBLAS's blas_get_cpu_number: the environment, else every CPU, at most the CPUs it may use */
    int n = env_threads("OPENBLAS_NUM_THREADS");
    if (!n) n = env_threads("GOTO_NUM_THREADS");
    if (!n) n = env_threads("OMP_NUM_THREADS");
    long conf = sysconf(_SC_NPROCESSORS_CONF);
    int procs = conf > 0 ? (int)conf : 1;
    cpu_set_t cs;
    if (sched_getaffinity(0, sizeof cs, &cs) == 0 && CPU_COUNT(&cs) > 0 && CPU_COUNT(&cs) < procs) procs = CPU_COUNT(&cs);
    return n > 0 && n < procs ? n : procs;
}

void tq_blas_set_threads(int n) {
    tq_blas();
    if (set_threads) set_threads(n);
}

void tq_blas_serial_enter(void) {
    pthread_mutex_lock(&blas_mu);
    if (blas_refs++ == 0 && loaded) {
        blas_saved = get_threads();
        if (blas_saved != 1) set_threads(1);
    }
    pthread_mutex_unlock(&blas_mu);
}

void tq_blas_serial_leave(void) {
    pthread_mutex_lock(&blas_mu);
    if (--blas_refs == 0 && loaded && blas_saved != 1) set_threads(blas_saved);
    pthread_mutex_unlock(&blas_mu);
}

void tq_blas_pool_park(void) {
    pthread_mutex_lock(&blas_mu);
    if (blas_refs == 0 && loaded && thread_shutdown) thread_shutdown();
    pthread_mutex_unlock(&blas_mu);
}

const char *tq_blas_info(void) { return tq_blas_describe(); }
int tq_blas_fallback(void) { return tq_blas_fell_back(); }
