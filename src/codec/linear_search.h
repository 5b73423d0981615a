/*
 * linear_search.h — scale/zero choice of one linear block by tq_qmethod
 * (linear_search.c; used by linear.c only).
 */
#ifndef TQ_LINEAR_SEARCH_H
#define TQ_LINEAR_SEARCH_H

#include "core/internal.h"
#include <stdbool.h>

/**
 * Improve the RTN scale *s (and zero *z, affine) of the contiguous block
 * x[0..n) for `method`; qmax = 2^(b-1)-1 (sym) or 2^b-1 (affine). RTN, an
 * all-zero block (*s == 0) or n == 0: unchanged. The result is never worse
 * than the input on tq_linsearch_error(method).
 */
tq_status tq_linsearch_block(int method, const float *x, int64_t n, int qmax, bool affine, float *s, int *z,
                             tq_error *err);

/** The objective of `method` for the block decoded at (s, z): z < 0 means
 *  symmetric codes. SEARCH: sum (rms + |x|)(x'-x)^2; HQQ: sum |x'-x|^0.7;
 *  RTN: sum (x'-x)^2. x' is exactly the value the codec's codes decode to. */
double tq_linsearch_error(int method, const float *x, int64_t n, float s, int z, int qmax);

#endif
