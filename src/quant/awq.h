/*
 * awq.h — AWQ-style activation-aware scaling where an exact fold exists
 * (internal; docs/quality.md §AWQ).
 *
 * A matrix W that reads x can be stored as W diag(s) if the op that makes x
 * emits x / s instead: the product is unchanged in exact arithmetic, and
 * quantizing W diag(s) with larger s on the loud input channels gives them
 * finer steps. s_j = m_j^alpha / sqrt(max m^alpha x min m^alpha), m_j = mean
 * |x_j| over the calibration rows (at least 1e-6), alpha on the grid 0, 0.05,
 * ..., 1 chosen for the least output error sum_r d_r^T H d_r of the quantized
 * product (d = W - Q(W diag(s)) diag(1/s), the codec's own round-to-nearest;
 * alpha 0 is s = 1, plain RTN, so the choice is never worse than RTN on it).
 *
 * In a post-LayerNorm BERT block the only such fold is the attention output
 * dense: its input is softmax(q k^T) v per head, linear in each of v's output
 * channels, so v's rows and bias take 1/s. q/k/v and the FFN in read a
 * LayerNorm output that is also the residual, the FFN out reads GELU's
 * output: no exact fold, not scaled.
 */
#ifndef TQ_QUANT_AWQ_H
#define TQ_QUANT_AWQ_H

#include "core/internal.h"

/**
 * Choose s for the attention output wo [D, D] (quantized with q) from its
 * inputs x [n, D] and H = x^T x (upper triangle), and fold it: wo's column j
 * times s_j, wv's row j and vb[j] divided by s_j. *alpha: the chosen alpha.
 * @return TQ_OK; TQ_E_ARG (no rows); the codec's errors naming `name`.
 */
tq_status tq_awq_fold_vo(const tq_qparams *q, const char *name, float *wo, float *wv, float *vb, int64_t D,
                         const float *x, int64_t n, const double *H, double *alpha, tq_error *err);

#endif
