/*
 * softmax.h — the encoder's attention softmax over one row of scores
 * (internal to src/nn/), with an exponential that vectorizes.
 */
#ifndef TQ_NN_OPS_SOFTMAX_H
#define TQ_NN_OPS_SOFTMAX_H
#include <stdint.h>

/**
 * r[0..n) = softmax(r / div) (div 0: r as it is), keys with mask[j] == 0 at
 * weight exactly 0 (mask NULL: none). At least one key must be unmasked.
 * exp is tq_softmax_exp's; sums run in 16 lanes added in a fixed order, so
 * the bytes do not depend on the vector width the CPU runs.
 */
void  tq_softmax_row(float *r, int n, const int32_t *mask, float div);
/** tq_softmax_row on `rows` rows of n at stride n, one mask for all: each
 *  row the bytes tq_softmax_row gives it (the AVX-512 form overlaps 4 rows). */
void  tq_softmax_rows(float *r, int rows, int n, const int32_t *mask, float div);
/** e^x for float x: relative error below 2e-7 for x in [-86, 88]; 0 below
 *  -86 (e^-86 is 4e-38, nothing next to a softmax's largest weight, 1);
 *  +inf beyond 88.7 is not needed (softmax arguments are <= 0). */
float tq_softmax_exp(float x);
#endif
