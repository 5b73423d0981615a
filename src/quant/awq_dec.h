/*
 * awq_dec.h — AWQ scale search over several matrices that read the same
 * input channels (internal; the decoder's folds, calibrate_dec.c).
 *
 * As awq.h: s_j = m_j^alpha / sqrt(max x min of m^alpha), m_j = mean |x_j|
 * (at least 1e-6), alpha on 0, 0.1, ..., 1 (TQ_AWQ_GRID steps: coarser than
 * the encoder's 0.05, as the decoders' matrices are many and wide) chosen for
 * the least summed output error sum_r d_r^T H d_r over the matrices (float32
 * products, sums in double), d = W - Q(W diag(s))
 * diag(1/s) with each matrix's codec's own round-to-nearest; alpha 0 is
 * s = 1 (plain RTN), so the choice is never worse than RTN on that measure.
 * Channels that must share one scale (o's columns of the query heads that
 * read one key/value head) get it when the caller gives them the same m_j.
 * The error sums run as row-block tasks (64 rows) with OpenBLAS
 * single-threaded, added in task order: the same bytes for any thread count.
 */
#ifndef TQ_QUANT_AWQ_DEC_H
#define TQ_QUANT_AWQ_DEC_H

#include "core/internal.h"

#define TQ_AWQ_GRID 10

typedef struct tq_awq_mat {
    const tq_qparams *q;   /* its codec setting (the plan's)              */
    const char       *name;
    const float      *w;   /* [rows, K], row-major                        */
    int64_t           rows;
} tq_awq_mat;

/**
 * Choose s[K] for mats[0..nm) (each [rows, K]) from m[K] and H [K, K]
 * (upper triangle read). *alpha: the chosen alpha; e[0], e[1] (e may be
 * NULL): the summed error at alpha 0 and at the choice.
 * @return TQ_OK; TQ_E_ARG (no matrix, K < 1); codec errors naming the
 * matrix; TQ_E_NOMEM.
 */
tq_status tq_awq_choose(const tq_awq_mat *mats, int nm, int64_t K, const double *m, const double *H, double *s,
                        double *alpha, double e[2], tq_error *err);

/** sum over rows r of d_r^T H d_r, d = a - b, a, b [rows, K], H upper
 *  triangle [K, K] in float32: tq_quant_output_error's measure (gptq.h) by
 *  row-block tasks through ssymm, each block's sum in double; NAN when out
 *  of memory. */
double tq_awq_output_error(const float *a, const float *b, int64_t rows, int64_t K, const float *H);

#endif
