/*
 * test_spectral_ww.c — fidelity against WeightWatcher 0.7.5.5 itself.
 *
 * tests/spectral/ww_fixtures.json was written by tests/spectral/gen_fixtures.py,
 * which ran WeightWatcher's analyze() (CPU path, default options) on matrices
 * rebuilt here bit for bit (tests/spectral_gen.h; the fixture's FNV hash
 * proves it), on Pareto samples through WeightWatcher's own fitter, and on
 * the real stories260K checkpoint. Tolerances are WEIGHTWATCHER.md §7's:
 * the xmin index identical, alpha / D / sigma / xmin within 1e-9 relative,
 * the other real-valued columns within 1e-9 relative, counts exact.
 */
#include "tq_test.h"
#include "core/internal.h"
#include "spectral_gen.h"
#include "trueq_spectral.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

static cJSON *load_fixtures(void) {
    const char *src = getenv("TQ_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/spectral/ww_fixtures.json", src ? src : ".");
    char *buf = NULL;
    size_t len = 0;
    tq_error err;
    if (tq_read_file(path, &buf, &len, &err) != TQ_OK) return NULL;
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    return j;
}

/* Case names outlive the JSON tree (the harness prints them later). */
static const char *case_name(const char *s) {
    static char names[64][96];
    static int k;
    char *d = names[k++ % 64];
    snprintf(d, 96, "ww %s", s);
    return d;
}

static double jnum(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(v)) return v->valuedouble;
    if (cJSON_IsString(v) && !strcmp(v->valuestring, "inf")) return INFINITY;
    if (cJSON_IsString(v) && !strcmp(v->valuestring, "-inf")) return -INFINITY;
    return NAN;   /* null: WeightWatcher's None/NaN */
}
static const char *jstr(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int rel_ok(double got, double want, double tol) {
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    double d = fabs(got - want), s = fabs(want);
    return d <= tol * (s > 0 ? s : 1.0);
}

#define CHECK_REL(name, got, want, tol) CHECK_MSG(rel_ok((got), (want), (tol)), "%s: %s got %.17g want %.17g", \
                                                  name, #want, (double)(got), (double)(want))

/* Compare one of our rows with one WeightWatcher `details` row. */
static void compare_row(const char *name, const tq_spectral_layer *L, const cJSON *d, int64_t want_idx) {
    const char *status = jstr(d, "status");
    int ww_ok = !strcmp(status, "success");
    CHECK_MSG(ww_ok == (L->status == TQ_SPECTRAL_OK), "%s: status %s vs WW %s (%s)", name,
              tq_spectral_status_str(L->status), status, L->reason);
    CHECK_EQ_INT(L->N, (int64_t)jnum(d, "N"));
    CHECK_EQ_INT(L->M, (int64_t)jnum(d, "M"));
    CHECK_REL(name, L->Q, jnum(d, "Q"), 1e-15);
    CHECK_EQ_INT(L->num_evals, (int64_t)jnum(d, "num_evals"));
    CHECK_EQ_INT(L->rank_loss, (int64_t)jnum(d, "rank_loss"));
    CHECK_EQ_INT(L->weak_rank_loss, (int64_t)jnum(d, "weak_rank_loss"));
    CHECK_EQ_INT(L->matrix_rank, (int64_t)jnum(d, "matrix_rank"));
    CHECK_EQ_INT(L->num_pl_spikes, (int64_t)jnum(d, "num_pl_spikes"));
    if (want_idx >= -1) CHECK_EQ_INT(L->xmin_index, want_idx);
    const double tf = 1e-9;
    CHECK_REL(name, L->alpha, jnum(d, "alpha"), tf);
    CHECK_REL(name, L->D, jnum(d, "D"), tf);
    CHECK_REL(name, L->sigma, jnum(d, "sigma"), tf);
    CHECK_REL(name, L->xmin, jnum(d, "xmin"), tf);
    CHECK_REL(name, L->xmax, jnum(d, "xmax"), tf);
    CHECK_REL(name, L->alpha_weighted, jnum(d, "alpha_weighted"), tf);
    CHECK_REL(name, L->log_alpha_norm, jnum(d, "log_alpha_norm"), tf);
    CHECK_REL(name, L->norm, jnum(d, "norm"), tf);
    CHECK_REL(name, L->log_norm, jnum(d, "log_norm"), tf);
    CHECK_REL(name, L->spectral_norm, jnum(d, "spectral_norm"), tf);
    CHECK_REL(name, L->log_spectral_norm, jnum(d, "log_spectral_norm"), tf);
    CHECK_REL(name, L->stable_rank, jnum(d, "stable_rank"), tf);
    CHECK_REL(name, L->lambda_max, jnum(d, "lambda_max"), tf);
    CHECK_REL(name, L->sv_max, jnum(d, "sv_max"), tf);
    CHECK_REL(name, L->entropy, jnum(d, "entropy"), tf);
    /* sv_min of an exactly rank-deficient matrix is round-off noise (~1e-15 σmax):
     * only its size can be compared. */
    double svmin = jnum(d, "sv_min");
    if (svmin > 1e-10 * L->sv_max) CHECK_REL(name, L->sv_min, svmin, tf);
    else CHECK_MSG(L->sv_min <= 1e-10 * L->sv_max, "%s: sv_min %g should be noise-level", name, L->sv_min);
    CHECK_MSG(!strcmp(tq_spectral_warning_str(L->warning), jstr(d, "warning")), "%s: warning \"%s\" vs WW \"%s\"",
              name, tq_spectral_warning_str(L->warning), jstr(d, "warning"));
}

static void test_matrices(const cJSON *fx) {
    const cJSON *mats = cJSON_GetObjectItemCaseSensitive(fx, "matrices"), *m;
    cJSON_ArrayForEach(m, mats) {
        const char *name = jstr(m, "name");
        TQ_CASE(case_name(name));
        int64_t rows = (int64_t)jnum(m, "rows"), cols = (int64_t)jnum(m, "cols");
        float *w = malloc(sizeof(float) * (size_t)(rows * cols));
        CHECK(w != NULL);
        if (!w) continue;
        CHECK(sg_matrix(jstr(m, "kind"), rows, cols, (uint64_t)jnum(m, "seed"), jnum(m, "scale"), w) == 0);
        char hash[17];
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)sg_fnv1a(w, sizeof(float) * (size_t)(rows * cols)));
        CHECK_MSG(!strcmp(hash, jstr(m, "fnv1a_f32")), "%s: rebuilt matrix hash %s != fixture %s", name, hash,
                  jstr(m, "fnv1a_f32"));
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(m, "details");
        int64_t want_idx = (int64_t)jnum(m, "xmin_index");
        for (int method = 0; method < 2; method++) {
            tq_spectral_layer L = {0};
            tq_error err;
            tq_status st = tq_spectral_matrix(w, rows, cols, (tq_spectral_svd)method, &L, &err);
            CHECK_OK(st, err);
            char label[300];
            snprintf(label, sizeof label, "%s/%s", name, method ? "gesdd" : "auto");
            compare_row(label, &L, d, want_idx);
            /* The fast route must be taken where it is provably accurate and
             * refused where it is not (exact rank deficiency, tiny scale). */
            if (method == 0 && !strcmp(jstr(m, "kind"), "gauss") && (rows >= 2 * cols || cols >= 2 * rows))
                CHECK_MSG(L.svd_used == TQ_SPECTRAL_SVD_AUTO, "%s: Gram route not taken", label);
            if (method == 0 && !strcmp(jstr(m, "kind"), "rank5int"))
                CHECK_MSG(L.svd_used == TQ_SPECTRAL_SVD_GESDD, "%s: Gram route taken on an ill-conditioned matrix", label);
            /* The transpose has the same ESD: same numbers to round-off. */
            if (method == 1) {
                float *wt = malloc(sizeof(float) * (size_t)(rows * cols));
                for (int64_t i = 0; i < rows; i++)
                    for (int64_t j = 0; j < cols; j++) wt[j * rows + i] = w[i * cols + j];
                tq_spectral_layer T = {0};
                st = tq_spectral_matrix(wt, cols, rows, TQ_SPECTRAL_SVD_GESDD, &T, &err);
                CHECK_OK(st, err);
                snprintf(label, sizeof label, "%s/transposed", name);
                compare_row(label, &T, d, want_idx);
                free(wt);
            }
        }
        free(w);
    }
}

static void test_samples(const cJSON *fx) {
    const cJSON *ss = cJSON_GetObjectItemCaseSensitive(fx, "samples"), *s;
    cJSON_ArrayForEach(s, ss) {
        const char *name = jstr(s, "name");
        TQ_CASE(case_name(name));
        int64_t n = (int64_t)jnum(s, "n");
        double *x = malloc(sizeof(double) * (size_t)n);
        CHECK(sg_samples(jstr(s, "kind"), n, (uint64_t)jnum(s, "seed"), x) == 0);
        double sum = 0;
        for (int64_t i = 0; i < n; i++) sum += x[i];
        CHECK_REL(name, sum, jnum(s, "sum"), 1e-12);
        tq_spectral_plfit f;
        tq_error err;
        CHECK_OK(tq_spectral_fit(x, n, &f, &err), err);
        CHECK_EQ_INT(f.xmin_index, (int64_t)jnum(s, "xmin_index"));
        CHECK_REL(name, f.alpha, jnum(s, "alpha"), 1e-9);
        CHECK_REL(name, f.D, jnum(s, "D"), 1e-9);
        CHECK_REL(name, f.sigma, jnum(s, "sigma"), 1e-9);
        CHECK_REL(name, f.xmin, jnum(s, "xmin"), 1e-9);
        /* Known answer: the generating exponent, within 4 standard errors. */
        double ta = jnum(s, "true_alpha");
        CHECK_MSG(fabs(f.alpha - ta) <= 4 * f.sigma, "%s: alpha %.4f vs true %.2f (sigma %.4f)", name, f.alpha, ta,
                  f.sigma);
        free(x);
    }
}

static void test_models(const cJSON *fx) {
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(fx, "models"), *mj;
    cJSON_ArrayForEach(mj, ms) {
        TQ_CASE(case_name(jstr(mj, "name")));
        const char *dir = tq_t_models_dir();
        if (!dir) { tq_t_skip("models dir not found (set TRUEQ_MODELS)"); continue; }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, jstr(mj, "file"));
        if (!tq_file_exists(path)) { tq_t_skip("model file absent"); continue; }
        tq_error err;
        tq_model *m = tq_model_open(path, &err);
        CHECK_MSG(m != NULL, "%s", err.msg);
        if (!m) continue;
        for (int method = 0; method < 2; method++) {
            for (int threads = 1; threads <= 3; threads += 2) {
                tq_spectral_opts o = { .threads = threads, .svd = (tq_spectral_svd)method };
                tq_spectral_report r;
                CHECK_OK(tq_spectral_analyze(m, &o, &r, &err), err);
                const cJSON *layers = cJSON_GetObjectItemCaseSensitive(mj, "layers"), *l;
                int64_t matched = 0;
                tq_spectral_layer *ok_rows = calloc((size_t)r.n, sizeof *ok_rows);
                int64_t nok = 0;
                for (int64_t i = 0; i < r.n; i++)
                    if (r.layers[i].status != TQ_SPECTRAL_SKIPPED) ok_rows[nok++] = r.layers[i];
                cJSON_ArrayForEach(l, layers) {
                    const char *ln = jstr(l, "name");
                    for (int64_t i = 0; i < nok; i++)
                        if (!strcmp(ok_rows[i].name, ln)) {
                            compare_row(ln, &ok_rows[i], l, -2);
                            matched++;
                        }
                }
                CHECK_EQ_INT(matched, cJSON_GetArraySize(layers));
                CHECK_EQ_INT(nok, cJSON_GetArraySize(layers));
                tq_spectral_summary s;
                tq_spectral_summarize(r.layers, r.n, &s);
                const cJSON *sj = cJSON_GetObjectItemCaseSensitive(mj, "summary");
                CHECK_REL("summary", s.alpha, jnum(sj, "alpha"), 1e-9);
                CHECK_REL("summary", s.alpha_weighted, jnum(sj, "alpha_weighted"), 1e-9);
                CHECK_REL("summary", s.log_norm, jnum(sj, "log_norm"), 1e-9);
                CHECK_REL("summary", s.log_alpha_norm, jnum(sj, "log_alpha_norm"), 1e-9);
                CHECK_REL("summary", s.log_spectral_norm, jnum(sj, "log_spectral_norm"), 1e-9);
                CHECK_REL("summary", s.stable_rank, jnum(sj, "stable_rank"), 1e-9);
                free(ok_rows);
                tq_spectral_report_free(&r);
            }
        }
        tq_model_close(m);
    }
}

void tq_tests(void) {
    cJSON *fx = load_fixtures();
    if (!fx) { TQ_CASE("fixtures"); TQ_SKIP("tests/spectral/ww_fixtures.json not found (TQ_SOURCE_DIR unset?)"); }
    test_matrices(fx);
    test_samples(fx);
    test_models(fx);
    cJSON_Delete(fx);
}
