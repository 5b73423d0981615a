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
 * The weights are tq_softmax_exp2((r[j] - max) * log2(e) / div) (div 0:
 * times log2(e)) over their sum, times its reciprocal; the max and the sum
 * run in 16 lanes reduced in a fixed tree order, so the bytes do not depend
 * on the vector width the CPU runs.
 */
void  tq_softmax_row(float *r, int n, const int32_t *mask, float div);
/** tq_softmax_row on `rows` rows of n at stride n, one mask for all: each
 *  row the bytes tq_softmax_row gives it (the AVX-512 form overlaps 4 rows). */
void  tq_softmax_rows(float *r, int rows, int n, const int32_t *mask, float div);
/** 2^t for float t, the softmax's exponential: relative error below 1e-7
 *  (against exp2 in double) for t in [-125, 127]; 0 below -125; 2^127-ish
 *  beyond 127 (the softmax's arguments are <= 0); NaN in, NaN out. */
float tq_softmax_exp2(float t);
/** e^x for float x by the same polynomial after a two-part ln 2 reduction:
 *  relative error below 2e-7 for x in [-86, 88]; 0 below -86 (e^-86 is
 *  4e-38, nothing next to a softmax's largest weight, 1); +inf beyond 88.7
 *  is not needed. */
float tq_softmax_exp(float x);
#endif
