/*
 * trueq_verify.h — weight-level error metrics, model comparison, the codec
 * self-test and the codec study. Part of libtrueq's public API (docs/codecs.md).
 *
 * Conventions as in trueq.h: tq_ prefix, fallible functions take a tq_error,
 * the library never prints.
 */
#ifndef TRUEQ_VERIFY_H
#define TRUEQ_VERIFY_H

#include "trueq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===== Error metrics ==================================================== */

/**
 * Error of reconstructed weights q against originals w (n weights), all
 * accumulated in double in index order (deterministic):
 *   mse      = sum (w-q)^2 / n            rmse = sqrt(mse)
 *   rel_fro  = ||w-q||_2 / ||w||_2        (0 when both are 0, +inf when only w is 0)
 *   max_abs  = max |w-q|
 *   snr_db   = 10 log10(sum w^2 / sum (w-q)^2)   (+inf when the error is 0,
 *              -inf when sum w^2 = 0 < error) = -20 log10(rel_fro)
 *   cosine   = sum w q / sqrt(sum w^2 * sum q^2)  (1 when both are 0, 0 when one is)
 *   clipped  = weights w outside the representable range [lo, hi] of their
 *              block by more than 1e-6 * max(|lo|, |hi|): the smallest and
 *              largest values any code of that block decodes to
 *              (tq_verify_block_ranges). When the compared tensor holds plain
 *              or simulated floats, the range is [min q, max q] of the whole
 *              tensor. clipped_frac = clipped / n
 *   top      = the ceil(n/1000) weights of largest |w| (ties: lower index
 *              first): top_rel_err = ||w-q|| / ||w|| over them, top_max_abs.
 * The raw sums are kept so that metrics of several tensors can be pooled.
 */
typedef struct tq_verify_metrics {
    int64_t n;
    double  mse, rmse, rel_fro, max_abs, snr_db, cosine;
    int64_t n_clipped;
    double  clipped_frac;
    int64_t n_top;
    double  top_rel_err, top_max_abs;
    /* raw sums (for pooling) */
    double  sum_w2, sum_e2, sum_wq, sum_q2, top_w2, top_e2;
} tq_verify_metrics;

/**
 * Metrics of one tensor viewed as [rows, cols]. For the clipping count,
 * q_blocks gives the block structure and lohi the range of each block
 * (2 floats per block, in block order: tensor 1 block, channel one per row,
 * group row-major rows x groups); with lohi == NULL the range is [min q, max q]
 * over the whole tensor and q_blocks is ignored.
 * @return TQ_OK, or TQ_E_NOMEM.
 */
tq_status tq_verify_tensor(const float *w, const float *q, int64_t rows, int64_t cols,
                           const tq_qparams *q_blocks, const float *lohi, tq_verify_metrics *m, tq_error *err);

/** Number of scale blocks of p on [rows, cols] (1, rows, or rows x groups). */
int64_t tq_verify_block_count(const tq_qparams *p, int64_t rows, int64_t cols);
/**
 * Representable range of each block of quantized tensor t (viewed as [rows,
 * cols]) from its stored side tensors: lohi[2b], lohi[2b+1] = the smallest and
 * largest values any code decodes to in block b. lohi holds
 * 2 * tq_verify_block_count() floats.
 */
tq_status tq_verify_block_ranges(const tq_tensor *t, int64_t rows, int64_t cols, float *lohi, tq_error *err);
/** Add m's counts and sums into acc (acc starts zeroed); call tq_verify_finish after. */
void tq_verify_pool(tq_verify_metrics *acc, const tq_verify_metrics *m);
/** Recompute the derived metrics of m from its sums and counts. */
void tq_verify_finish(tq_verify_metrics *m);

/**
 * Grade from SNR (equivalently from the relative Frobenius error):
 *   'A' snr >= 40 dB (rel error <= 1%)      'B' >= 30 dB (<= 3.16%)
 *   'C' >= 20 dB (<= 10%)                   'D' >= 10 dB (<= 31.6%)
 *   'F' below 10 dB, or NaN.
 */
char tq_verify_grade(double snr_db);

/* ===== Model comparison ================================================== */

typedef enum tq_verify_presence {
    TQ_VERIFY_COMPARED   = 0,  /* present on both sides, same shape           */
    TQ_VERIFY_ORIG_ONLY  = 1,  /* only in the original                        */
    TQ_VERIFY_QUANT_ONLY = 2,  /* only in the quantized model                 */
    TQ_VERIFY_MISMATCH   = 3,  /* on both sides with different logical shapes */
    TQ_VERIFY_NOT_NUMERIC = 4, /* a dtype with no float meaning (BOOL...)     */
} tq_verify_presence;

/** One tensor of a comparison. name is borrowed from the models (valid while they are open). */
typedef struct tq_verify_row {
    const char        *name;
    tq_verify_presence presence;
    int                quantized;   /* the QUANT side holds codes (1) or simulated values (2); 0 plain */
    char               scheme[64];  /* "linear-sym/8/channel", or the QUANT dtype name */
    int                ndim;
    int64_t            shape[TQ_MAX_DIMS];
    tq_verify_metrics  m;           /* when presence == TQ_VERIFY_COMPARED */
    char               grade;
} tq_verify_row;

typedef struct tq_verify_report tq_verify_report;

/**
 * Compare every tensor of `orig` with the tensor of the same name in `quant`,
 * both decoded to float32 (quantized tensors dequantized from their stored
 * codes). Rows: the original's tensors in file order, then tensors found only
 * in `quant`. Deterministic.
 * @return a report (free with tq_verify_report_free), or NULL with err set (a tensor
 *         that fails to decode).
 */
tq_verify_report *tq_verify_report_create(const tq_model *orig, const tq_model *quant, tq_error *err);
/** Release a report; accepts NULL. */
void    tq_verify_report_free(tq_verify_report *r);
int64_t tq_verify_count(const tq_verify_report *r);
const tq_verify_row *tq_verify_row_at(const tq_verify_report *r, int64_t i);
/** Metrics pooled over every compared tensor; `quantized_only` pools only the
 *  tensors the QUANT side holds quantized or simulated. */
const tq_verify_metrics *tq_verify_overall(const tq_verify_report *r, int quantized_only);
/** Counts of rows by presence. */
int64_t tq_verify_count_presence(const tq_verify_report *r, tq_verify_presence p);
/** Seconds spent decoding the QUANT side's quantized tensors (dequantize). */
double tq_verify_decode_seconds(const tq_verify_report *r);

/* ===== Self-test ========================================================= */

/** One check of the self-test. */
typedef struct tq_selftest_result {
    char codec[64];      /* "linear-sym/4/group:8" */
    char vector[32];     /* the built-in input vector */
    char check[32];      /* "scale", "range", "half-step", "dtype", "positive-scale", "zeros", ... */
    int  pass;
    char detail[160];
} tq_selftest_result;

/**
 * Run the quantization-math checks (scale, code range, error within half a
 * step, stored dtype and bytes, positive scale, zeros) for every codec x bits
 * x granularity on built-in vectors.
 * @param out   set to a malloc'd array of results (caller frees)
 * @param n     its length
 * @return TQ_OK (failing checks are results, not errors), or TQ_E_NOMEM.
 */
tq_status tq_selftest_run(tq_selftest_result **out, int64_t *n, tq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* TRUEQ_VERIFY_H */
