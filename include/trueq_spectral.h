/*
 * trueq_spectral.h — WeightWatcher-faithful spectral analysis of weight
 * matrices (the empirical spectral density, ESD, and its power-law fit).
 *
 * What is computed follows WeightWatcher 0.7.5.5's `analyze()` defaults on
 * the CPU path (see docs/spectrum.md and WEIGHTWATCHER.md):
 *
 *   1. Selection: only 2-D tensors (1-D tensors such as biases and norm
 *      gains are skipped); with N = max(rows, cols)
 *      and M = min(rows, cols) a tensor is skipped when M < 10, M > 15000 or
 *      N > 50000.
 *   2. ESD: W is converted to float64, its singular values σ come from
 *      LAPACK dgesdd (no U, V), and the eigenvalues are λ = σ², ascending,
 *      with no normalisation (no 1/N).
 *   3. Fit: WeightWatcher's own fitter ("WWFit") on x = {λ > 1e-5}: every
 *      x_i but the last is a candidate xmin (duplicates kept); closed-form
 *      MLE α_i, KS distance D_i (left-continuous empirical CDF), σ_i; the
 *      first minimum of D wins.
 *   4. Every default column of WeightWatcher's `details` table, and the
 *      `get_summary()` means.
 *
 * Thread safety: every function here is reentrant. tq_spectral_analyze runs
 * layers on its own worker threads; its results do not depend on the thread
 * count (each layer is computed by one thread, in a fixed order of operations).
 * While any spectral function runs, OpenBLAS is set to one thread (its
 * threaded kernels round differently from run to run); the caller's setting
 * is restored when the last concurrent spectral call returns.
 *
 * Every name of this API carries the one prefix tq_spectral_ / TQ_SPECTRAL_
 * (types, functions, constants, the SVG plots); progress is reported through
 * the library's one callback type, tq_progress_fn (trueq.h).
 */
#ifndef TRUEQ_SPECTRAL_H
#define TRUEQ_SPECTRAL_H

#include "trueq.h"
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* WeightWatcher 0.7.5.5 defaults. */
#define TQ_SPECTRAL_MIN_EVALS     10      /* skip when M < this                       */
#define TQ_SPECTRAL_MAX_EVALS     15000   /* skip when M > this                       */
#define TQ_SPECTRAL_MAX_N         50000   /* skip when N > this                       */
#define TQ_SPECTRAL_EVALS_THRESH  1e-5    /* fit only λ strictly greater than this    */
#define TQ_SPECTRAL_WEAK_RANK_TOL 1e-6    /* weak_rank_loss counts λ below this       */
#define TQ_SPECTRAL_OVER_TRAINED  2.0     /* warning "over-trained" when α < this     */
#define TQ_SPECTRAL_UNDER_TRAINED 6.0     /* warning "under-trained" when α > this    */

/** Outcome of one tensor. Values are stable. */
typedef enum tq_spectral_status {
    TQ_SPECTRAL_OK       = 0, /* analysed and fitted                                 */
    TQ_SPECTRAL_SKIPPED  = 1, /* not analysed (1-D, norm, size limits...): see reason */
    TQ_SPECTRAL_TOO_FEW  = 2, /* analysed, but fewer than 2 eigenvalues > 1e-5: no fit */
    TQ_SPECTRAL_FAILED   = 3, /* analysed, the fit failed (α NaN/Inf): see reason     */
} tq_spectral_status;

/** @return "ok", "skipped", "too-few-evals" or "failed". */
const char *tq_spectral_status_str(tq_spectral_status s);

/** Result of the power-law fit of an ascending list of eigenvalues. */
typedef struct tq_spectral_plfit {
    int     ok;          /* 1 when a fit was found                            */
    int64_t xmin_index;  /* index of xmin in the fitted list (first minimum D) */
    double  alpha;       /* MLE exponent at xmin                              */
    double  xmin;
    double  xmax;        /* largest fitted value                              */
    double  D;           /* KS distance at xmin                               */
    double  sigma;       /* (alpha - 1) / sqrt(tail size)                     */
    int64_t n_tail;      /* tail size n - xmin_index                          */
} tq_spectral_plfit;

/**
 * WeightWatcher's default fitter on x[0..n), which must be ascending and > 0.
 * Candidates are x[0..n-2]; for candidate i with tail size k = n - i:
 *   α_i = 1 + k / Σ_{j≥i} ln(x_j / x_i),
 *   D_i = max_m |1 - (x_{i+m}/x_i)^{1-α_i} - m/k| when α_i > 1, else 1,
 *   σ_i = (α_i - 1)/√k; the first index with the smallest D_i wins.
 * @return TQ_OK with *fit filled; TQ_E_VALUE (fit->ok = 0) when n < 2 or the
 *         chosen α is not finite; TQ_E_ARG on NULL/unsorted/non-positive input.
 * O(n²) time, O(n) memory.
 */
tq_status tq_spectral_fit(const double *x, int64_t n, tq_spectral_plfit *fit, tq_error *err);

/** How singular values are computed. Values are stable. */
typedef enum tq_spectral_svd {
    /* Fast path, tried when N >= 2M: eigenvalues of the M×M Gram matrix
     * (OpenBLAS dsyrk, LAPACK dsyevd), all in float64. Accepted only when its worst-case absolute
     * error, M·ε·λ_max, is at most 1e-9 of the smallest eigenvalue and leaves
     * every eigenvalue clear of the 1e-5 / 1e-6 thresholds; otherwise the
     * matrix is recomputed with dgesdd. Agrees with dgesdd to ~1e-12 relative. */
    TQ_SPECTRAL_SVD_AUTO  = 0,
    /* Reference: LAPACK dgesdd (jobz='N') on W in float64, as WeightWatcher. */
    TQ_SPECTRAL_SVD_GESDD = 1,
} tq_spectral_svd;

/**
 * Singular values of a row-major float32 matrix w[rows*cols], in float64.
 * The orientation does not matter.
 * @param sv    out: min(rows, cols) values, ascending
 * @param used  out (may be NULL): the method that produced them (AUTO may
 *              fall back to GESDD)
 * @return TQ_OK, TQ_E_VALUE on NaN/Inf in w (message names the flat index),
 *         TQ_E_NOMEM, or TQ_E_INTERNAL when LAPACK does not converge.
 */
tq_status tq_spectral_svals(const float *w, int64_t rows, int64_t cols, tq_spectral_svd method,
                            double *sv, tq_spectral_svd *used, tq_error *err);

/** Value of the `warning` column. */
typedef enum tq_spectral_warning {
    TQ_SPECTRAL_WARN_NONE = 0,
    TQ_SPECTRAL_WARN_OVER_TRAINED = 1,   /* α < 2 (a failed fit, α = -1, included) */
    TQ_SPECTRAL_WARN_UNDER_TRAINED = 2,  /* α > 6                                  */
} tq_spectral_warning;

/** @return "", "over-trained" or "under-trained". */
const char *tq_spectral_warning_str(tq_spectral_warning w);

/**
 * One row of the per-layer table: WeightWatcher's default `details` columns.
 * For a TQ_SPECTRAL_SKIPPED tensor only name, status, reason, rows and cols are
 * meaningful. For TQ_SPECTRAL_TOO_FEW / TQ_SPECTRAL_FAILED the ESD columns are
 * filled and the fit columns follow WeightWatcher's failure path: alpha, D,
 * sigma, xmin and num_pl_spikes are -1, xmax is NaN (WeightWatcher: None),
 * and the α-derived norms are computed with α = -1.
 */
typedef struct tq_spectral_layer {
    char               name[256];
    tq_spectral_status status;
    char               reason[160];  /* why skipped / failed; "" when ok      */
    int64_t            rows, cols;   /* the tensor's stored shape             */
    int64_t            index;        /* position in the model, 0-based        */
    tq_spectral_svd    svd_used;     /* how the singular values were computed */

    int64_t N, M;                /* max / min dimension                       */
    double  Q;                   /* N / M                                     */
    int64_t num_evals;           /* M (all eigenvalues, also those <= 1e-5)   */
    int64_t num_fit_evals;       /* eigenvalues > 1e-5 (the fit's input)      */
    int64_t rank_loss;           /* #σ - #{σ > σ_max·N·ε}                     */
    int64_t weak_rank_loss;      /* #{λ < 1e-6}                               */
    int64_t matrix_rank;         /* #{√λ > max√λ·N·ε}                         */

    double alpha, alpha_weighted, log_alpha_norm;
    double D, xmin, xmax, sigma;
    int64_t num_pl_spikes;       /* #{λ >= xmin} over the whole ESD           */
    int64_t xmin_index;          /* index of xmin among the fitted λ, -1 if none */

    double norm;                 /* Σλ = ||W||_F²                             */
    double log_norm;             /* log10 Σλ                                  */
    double spectral_norm;        /* λ_max = σ_max²                            */
    double log_spectral_norm;    /* log10 λ_max                               */
    double stable_rank;          /* Σλ / λ_max                                */
    double lambda_max, sv_max, sv_min;
    double entropy;              /* matrix entropy, WW's CPU epsilon 1e-10    */
    tq_spectral_warning warning;
} tq_spectral_layer;

/**
 * All metrics of one matrix given its singular values.
 * @param sv  M values, ascending (as tq_spectral_svals returns them)
 * @param N   the larger dimension (used by rank tolerances)
 * Sets out->status to OK, TOO_FEW or FAILED (never SKIPPED); leaves name,
 * rows, cols, index and svd_used as they were.
 */
void tq_spectral_metrics(const double *sv, int64_t M, int64_t N, tq_spectral_layer *out);

/**
 * Selection rule for one tensor of the given shape (WeightWatcher's
 * state-dict mode, where the layer type follows from the rank).
 * @return 1 when WeightWatcher would analyse it (2-D, 10 <= M <= 15000,
 *         N <= 50000); 0 with a reason in why[cap] otherwise (1-D biases and
 *         norm gains, 4-D convolutions, which trueq does not analyse, ...).
 */
int tq_spectral_select(const char *name, int ndim, const int64_t *shape, char *why, size_t cap);

/**
 * Analyse one matrix: svals + metrics (no selection rule applied).
 * @return TQ_OK (check out->status), or the error of tq_spectral_svals.
 */
tq_status tq_spectral_matrix(const float *w, int64_t rows, int64_t cols, tq_spectral_svd method,
                             tq_spectral_layer *out, tq_error *err);

/**
 * Optional per-tensor transform applied to the float32 weights before the
 * ESD (the quantization study uses quantize-then-dequantize). It receives a
 * row-major w[rows*cols] and rewrites it in place. Called from worker
 * threads, concurrently for distinct tensors. @return TQ_OK or an error.
 */
typedef tq_status (*tq_spectral_transform)(void *ctx, const char *name, float *w,
                                       int64_t rows, int64_t cols, tq_error *err);

/** Options of tq_spectral_analyze. Zero-initialise, then set what you need. */
typedef struct tq_spectral_opts {
    int                   threads;       /* worker threads; <= 0: number of CPUs */
    tq_spectral_transform transform;     /* NULL: analyse the weights as stored  */
    void                 *transform_ctx;
    tq_progress_fn        progress;      /* NULL: none. Called after each tensor
                                            with the count finished and its name,
                                            from a worker thread (serialised)    */
    void                 *progress_ctx;
    const char           *only;          /* analyse only this tensor name (others reported skipped), or NULL */
    int                   keep_evals;    /* 1: keep each layer's eigenvalues in the report */
    tq_spectral_svd       svd;           /* TQ_SPECTRAL_SVD_AUTO (default) or _GESDD */
    const char *const    *tensors;       /* n_tensors shell globs ('*', '?', '[...]'):
                                            the report holds only the tensors whose
                                            name matches one (in file order), each row
                                            the same bytes as in the full report; a
                                            glob matching no tensor is TQ_E_NOTFOUND.
                                            NULL or n_tensors 0: every tensor     */
    int                   n_tensors;
} tq_spectral_opts;

/** The result of analysing a model: one row per tensor (per selected tensor
 *  with opts.tensors), in file order; layers[i].index is the model index. */
typedef struct tq_spectral_report {
    int64_t            n;         /* number of tensors (rows)                 */
    tq_spectral_layer *layers;    /* [n]                                      */
    double           **evals;     /* [n] ascending λ (M values) or NULL; only with keep_evals */
    int64_t            analysed;  /* rows whose status is not SKIPPED         */
} tq_spectral_report;

/**
 * Analyse every tensor of an open model, each by tq_spectral_select (every
 * tensor gets a row; skipped ones say why).
 * Tensors are decoded with tq_model_tensor_f32 (a trueq quantized file is
 * therefore analysed on its dequantized weights).
 * @param out  filled on TQ_OK; release with tq_spectral_report_free.
 * @return TQ_OK even when individual layers fail (their status says so:
 *         NaN/Inf weights, LAPACK not converging, a transform error — such a
 *         row has α = -1 and NaN ESD columns); an error only for I/O or
 *         memory (the message names the tensor).
 */
tq_status tq_spectral_analyze(const tq_model *m, const tq_spectral_opts *opts,
                              tq_spectral_report *out, tq_error *err);
void tq_spectral_report_free(tq_spectral_report *r);

/** get_summary(): plain means over the analysed rows (failed fits included
 *  with α = -1); like pandas, a column's NaN cells (a tensor that failed
 *  before its ESD) are left out of that column's mean. */
typedef struct tq_spectral_summary {
    int64_t n;                /* rows averaged (status != SKIPPED)            */
    double log_norm, alpha, alpha_weighted, log_alpha_norm, log_spectral_norm, stable_rank;
} tq_spectral_summary;
void tq_spectral_summarize(const tq_spectral_layer *layers, int64_t n, tq_spectral_summary *s);

/* ===== Plots (SVG 1.1, self-contained, no scripts) ===================== */

/** One series of the alpha-per-layer plot. */
typedef struct tq_spectral_svg_series {
    const char   *label;      /* legend text, e.g. "fp32", "8-bit"           */
    const double *y;          /* [n] values; NaN or < 0 = missing point       */
} tq_spectral_svg_series;

/**
 * Write an SVG of alpha per layer: x = layer index 0..n-1 (names as tick
 * labels), one polyline + markers per series, the band 2 <= α <= 6 shaded.
 * Each series is a <g class="series" data-label="..."> group.
 * @return TQ_OK or TQ_E_IO / TQ_E_ARG; written atomically.
 */
tq_status tq_spectral_svg_alpha_plot(const char *path, const char *title, const char *const *names,
                            int64_t n, const tq_spectral_svg_series *series, int nseries, tq_error *err);

/**
 * Write an SVG of one layer's ESD on log-log axes: the log-binned histogram
 * density of λ > 1e-5, the fitted power law p(x) ∝ x^-α over [xmin, xmax]
 * scaled to the tail's share, and a vertical line at xmin.
 * Groups: class "esd" (histogram), class "fit" (power law), class "xmin".
 * @param evals  ascending eigenvalues, n of them; fit may be NULL or !ok.
 */
tq_status tq_spectral_svg_esd_plot(const char *path, const char *title, const double *evals, int64_t n,
                          const tq_spectral_plfit *fit, tq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* TRUEQ_SPECTRAL_H */
