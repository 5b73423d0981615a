/*
 * gptq.h — GPTQ on one matrix (internal; docs/quality.md §GPTQ).
 *
 * Given W [rows, cols] and H = X^T X over calibration inputs X [n, cols] (the
 * rows the matrix multiplies: y = W x), choose codes for W in the stored
 * format of q (grid.h) that make ||X (W - Q)^T||^2 small: columns are
 * quantized one at a time, and each column's rounding error is spread over
 * the columns not yet quantized through the inverse Hessian's Cholesky factor
 * (Frantar et al., "GPTQ", 2022). Exact choices (what tests/test_gptq.c's
 * reference restates):
 *   - dead inputs: a column with H[i,i] == 0 gets H[i,i] = 1 and W[:, i] = 0
 *   - damping: lambda = damp x mean(diag H) (after the dead fix) added to the
 *     diagonal; damp 0 means 0.01
 *   - order: natural, or with act_order by descending H[i,i] (ties: lower
 *     index first)
 *   - U = upper Cholesky factor of (H + lambda I)^-1 (LAPACK dpotrf, dpotri,
 *     dpotrf), in the processing order
 *   - column i (in processing order): x = W[r, i] as float32, code and value v
 *     on the grid of its block; e = (W[r, i] - v) / U[i, i]; every later
 *     column t: W[r, t] -= e U[i, t] (applied lazily per `block` columns:
 *     the same arithmetic up to rounding)
 *   - a block's side values (scale, zero/bias) are chosen by the codec when
 *     the first of its columns is reached in processing order, from the
 *     current (error-compensated, up to date) values of all its columns;
 *     with act_order the blocks remain the stored format's in-order groups
 *     of columns, so a group's scale is chosen once, when its most important
 *     column comes up, from values that already carry the compensation of
 *     every column processed before.
 * Everything runs in double except the rounding itself (float32, as the
 * codec); OpenBLAS single-threaded: the bytes are the same for any thread
 * count.
 */
#ifndef TQ_QUANT_GPTQ_H
#define TQ_QUANT_GPTQ_H

#include "core/internal.h"

typedef struct tq_gptq_options {
    double damp;        /* fraction of mean diag(H); 0 = 0.01               */
    int    act_order;   /* 1: columns by descending diag(H)                  */
    int    block;       /* lazy-update block in columns; 0 = 128             */
} tq_gptq_options;

/**
 * Quantize w [rows, cols] (finite) with GPTQ into codes and aux (buffers of
 * tq_qparams_layout's sizes for q). H [cols, cols] row-major: only its upper
 * triangle (j >= i) is read; it must be finite with a non-negative diagonal.
 * @return TQ_OK; errors name the tensor: TQ_E_UNSUPPORTED (codec, grid.h),
 * TQ_E_ARG (NULL, shape, H not finite or negative diagonal, damp out of
 * [0, 1]), TQ_E_VALUE (a weight not finite; H + lambda I not positive
 * definite), TQ_E_NOMEM.
 */
tq_status tq_gptq_quantize(const tq_qparams *q, const char *tname, const float *w, int64_t rows, int64_t cols,
                           const double *H, const tq_gptq_options *o, void *codes, void *const aux[TQ_MAX_AUX],
                           tq_error *err);

/** sum over rows r of d_r^T H d_r, d = a - b (= ||X (a - b)^T||^2 for H = X^T X),
 *  H's upper triangle read; in double, fixed order. */
double tq_quant_output_error(const float *a, const float *b, int64_t rows, int64_t cols, const double *H);

#endif
