/* test_blas.c — core/blas.c: OpenBLAS and LAPACKE loaded at first use
 * (dlopen by SONAME), the portable reference routines used where they cannot
 * be loaded (same results as OpenBLAS for every argument pattern trueq uses,
 * up to round-off), LAPACK then failing with -1, and the thread count read
 * without loading OpenBLAS. The cases without OpenBLAS run in a child forked
 * before this process first calls tq_blas() (it loads once per process). */
#include "tq_test.h"
#include "core/blas.h"
#include "trueq.h"
#include <string.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void fill(float *f, double *d, int n, uint64_t *s) {
    for (int i = 0; i < n; i++) { float v = tq_t_randn(s); if (f) f[i] = v; if (d) d[i] = v; }
}

static double maxdiff_f(const float *a, const float *b, int n) {
    double m = 0;
    for (int i = 0; i < n; i++) { double d = fabs((double)a[i] - b[i]); if (d > m || d != d) m = d != d ? INFINITY : d; }
    return m;
}
static double maxdiff_d(const double *a, const double *b, int n) {
    double m = 0;
    for (int i = 0; i < n; i++) { double d = fabs(a[i] - b[i]); if (d > m || d != d) m = d != d ? INFINITY : d; }
    return m;
}

/* Every routine of `t` against the same of `r` over the argument patterns of trueq's call sites. */
static void compare(const tq_blas_fns *t, const tq_blas_fns *r) {
    uint64_t s = 7;
    enum { M = 13, N = 9, K = 11, L = 16 };
    float A[L * L], B[L * L], C0[L * L], C1[L * L];
    double Ad[L * L], Bd[L * L], D0[L * L], D1[L * L];
    fill(A, Ad, L * L, &s);
    fill(B, Bd, L * L, &s);
    const enum CBLAS_ORDER ord[2] = {CblasRowMajor, CblasColMajor};
    const enum CBLAS_TRANSPOSE tr[2] = {CblasNoTrans, CblasTrans};
    const enum CBLAS_UPLO up[2] = {CblasUpper, CblasLower};
    const enum CBLAS_SIDE sd[2] = {CblasLeft, CblasRight};
    for (int k = 0; k < 8; k++) {   /* every combination of three two-way choices: o, x, y */
        const int o = k & 1, x = k >> 1 & 1, y = k >> 2 & 1;
        fill(C0, D0, L * L, &s);
        memcpy(C1, C0, sizeof C0);
        memcpy(D1, D0, sizeof D0);
        t->sgemm(ord[o], tr[x], tr[y], M, N, K, 1.5f, A, L, B, L, 0.5f, C0, L);
        r->sgemm(ord[o], tr[x], tr[y], M, N, K, 1.5f, A, L, B, L, 0.5f, C1, L);
        CHECK_MSG(maxdiff_f(C0, C1, L * L) < 1e-4, "sgemm order %d trans %d %d: %g", o, x, y, maxdiff_f(C0, C1, L * L));
        t->dgemm(ord[o], tr[x], tr[y], M, N, K, -1.0, Ad, L, Bd, L, 1.0, D0, L);
        r->dgemm(ord[o], tr[x], tr[y], M, N, K, -1.0, Ad, L, Bd, L, 1.0, D1, L);
        CHECK_MSG(maxdiff_d(D0, D1, L * L) < 1e-12, "dgemm order %d trans %d %d", o, x, y);
        t->dsyrk(ord[o], up[y], tr[x], N, K, 1.0, Ad, L, 1.0, D0, L);   /* on the products above: beta = 1 */
        r->dsyrk(ord[o], up[y], tr[x], N, K, 1.0, Ad, L, 1.0, D1, L);
        CHECK_MSG(maxdiff_d(D0, D1, L * L) < 1e-11, "dsyrk order %d uplo %d trans %d", o, y, x);
        t->ssymm(ord[o], sd[x], up[y], M, N, 1.0f, A, L, B, L, 0.0f, C0, L);
        r->ssymm(ord[o], sd[x], up[y], M, N, 1.0f, A, L, B, L, 0.0f, C1, L);
        CHECK_MSG(maxdiff_f(C0, C1, L * L) < 1e-4, "ssymm order %d side %d uplo %d", o, x, y);
        const int incx = y ? 2 : 1;   /* strided x, beta != 0 */
        const float beta = y ? 2.0f : 0.0f;
        t->sgemv(ord[o], tr[x], M, N, 0.5f, A, L, B, incx, beta, C0, 1);
        r->sgemv(ord[o], tr[x], M, N, 0.5f, A, L, B, incx, beta, C1, 1);
        CHECK_MSG(maxdiff_f(C0, C1, L) < 1e-4, "sgemv order %d trans %d incx %d", o, x, incx);
    }
}

/* The child without OpenBLAS: 0 when every check held, else the failing check's number. */
static int child_without(void) {
    setenv("TRUEQ_OPENBLAS", "/nonexistent/libopenblas.so.0", 1);
    setenv("TRUEQ_LAPACKE", "/nonexistent/liblapacke.so.3", 1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    if (tq_blas_threads() != 1) return 1;   /* read from the environment, nothing loaded */
    if (tq_blas_loaded()) return 2;
    const tq_blas_fns *b = tq_blas(), *r = tq_blas_reference();
    if (b->sgemm != r->sgemm || b->dsyrk != r->dsyrk || b->dgesdd != r->dgesdd || tq_blas_loaded()) return 3;
    float a[4] = {1, 2, 3, 4}, x[2] = {1, 1}, y[2] = {0, 0};
    b->sgemv(CblasRowMajor, CblasNoTrans, 2, 2, 1.0f, a, 2, x, 1, 0.0f, y, 1);
    if (y[0] != 3 || y[1] != 7) return 4;
    double h[4] = {4, 0, 0, 9};
    if (b->dpotrf(LAPACK_ROW_MAJOR, 'U', 2, h, 2) != TQ_LAPACK_MISSING) return 5;   /* LAPACK: missing, said so */
    double sv[2];
    if (b->dgesdd(LAPACK_COL_MAJOR, 'N', 2, 2, h, 2, sv, NULL, 1, NULL, 1) != TQ_LAPACK_MISSING) return 6;
    if (!tq_blas_fell_back() || !tq_blas_fallback()) return 7;
    const char *d = tq_blas_info();   /* names the stand-ins, the file it tried and the LAPACK it lacks */
    if (!strstr(d, "blas: portable reference loops") || !strstr(d, "/nonexistent/libopenblas.so.0") ||
        !strstr(d, "no LAPACK (LAPACKE not loaded: /nonexistent/liblapacke.so.3") || d != tq_blas_describe()) return 8;
    tq_blas_serial_enter();   /* no OpenBLAS: nothing to set, nothing to break */
    tq_blas_set_threads(2);
    tq_blas_serial_leave();
    tq_blas_pool_park();
    return 0;
}

void tq_tests(void) {
    TQ_CASE("without OpenBLAS (a child): the reference routines, LAPACK failing, threads from the environment");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) _exit(child_without());
    int ws = 0;
    CHECK(pid > 0 && waitpid(pid, &ws, 0) == pid);
    CHECK_MSG(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "child check %d failed", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);

    TQ_CASE("OpenBLAS loaded at first use; the reference routines agree with it");
    CHECK(!tq_blas_fell_back());   /* nothing wanted yet: no fallback to report */
    const tq_blas_fns *b = tq_blas();
    CHECK(!tq_blas_fell_back() && !tq_blas_fallback());
    CHECK_MSG(strstr(tq_blas_info(), "blas: OpenBLAS (") && strstr(tq_blas_info(), "; LAPACKE ("), "%s", tq_blas_info());
    CHECK(tq_blas_loaded());
    CHECK(b->sgemm != tq_blas_reference()->sgemm && b->dpotrf != tq_blas_reference()->dpotrf);
    compare(b, tq_blas_reference());
    double h[4] = {4, 2, 2, 9};   /* LAPACKE from the library: a real Cholesky factor */
    CHECK_EQ_INT(b->dpotrf(LAPACK_ROW_MAJOR, 'U', 2, h, 2), 0);
    CHECK_NEAR(h[0], 2.0, 1e-12);
    CHECK_NEAR(h[3], sqrt(8.0), 1e-12);

    TQ_CASE("serial sections: one OpenBLAS thread inside, the caller's count restored after");
    tq_blas_set_threads(2);
    int before = tq_blas_threads();
    tq_blas_serial_enter();
    tq_blas_serial_enter();
    CHECK_EQ_INT(tq_blas_threads(), before);   /* the caller's choice, read inside */
    CHECK_EQ_INT(openblas_get_num_threads(), 1);   /* this test links OpenBLAS: the same copy */
    tq_blas_serial_leave();
    tq_blas_serial_leave();
    CHECK_EQ_INT(tq_blas_threads(), before);
}
