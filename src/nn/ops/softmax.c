/*
 * softmax.c — attention softmax rows with a branch-free exponential
 * (softmax.h).
 *
 * exp(x) = 2^n e^r with n = rne(x log2 e) (by adding and taking away
 * 1.5 * 2^23), r = x - n ln2 in two steps (ln2 split so n * LN2_HI is exact),
 * e^r by its Taylor polynomial of degree 7 (|r| <= 0.35: truncation below
 * 5e-9 relative), 2^n added to the exponent bits. Arguments are clamped to
 * [-86, 88] so 2^n and the result stay normal floats; below -86 the result
 * is 0. Every step is one IEEE operation in a fixed order (no contraction
 * into FMA: the pragma below, and gcc's clones enable no FMA), so the AVX-512,
 * AVX2 and plain builds of these loops give the same bytes.
 */
#include "nn/ops/softmax.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn/ops/hot.h"   /* O3 vector loops, no contraction, TQ_HOT clones */

#define LANES 16

static inline float exp_poly(float x) {
    const float magic = 12582912.0f;
    float c = x > -86.0f ? x : -86.0f;   /* NaN goes to -86 here (no NaN to int below) */
    c = c < 88.0f ? c : 88.0f;
    float n = (c * 1.44269504088896341f + magic) - magic;
    float r = (c - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 1.98412698e-4f;   /* 1/5040 */
    p = p * r + 1.38888889e-3f;  /* 1/720 */
    p = p * r + 8.33333333e-3f;  /* 1/120 */
    p = p * r + 4.16666667e-2f;  /* 1/24  */
    p = p * r + 1.66666667e-1f;  /* 1/6   */
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits, ni = (int32_t)n;
    memcpy(&bits, &p, 4);
    bits += (int32_t)((uint32_t)ni << 23);
    float v;
    memcpy(&v, &bits, 4);
    return x != x ? x : x < -86.0f ? 0.0f : v;   /* NaN in, NaN out */
}

float tq_softmax_exp(float x) { return exp_poly(x); }

/* (clones of a static function: clang does not clone an exported one) */
TQ_HOT static void softmax_row(float *r, int n, const int32_t *mask, float div) {
    float mx = -INFINITY;
    if (div != 0.0f)
        for (int j = 0; j < n; j++) r[j] = r[j] / div;
    if (mask)
        for (int j = 0; j < n; j++) r[j] = mask[j] ? r[j] : -INFINITY;
    float ml[LANES];
    for (int l = 0; l < LANES; l++) ml[l] = -INFINITY;
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++) ml[l] = r[j + l] > ml[l] ? r[j + l] : ml[l];
    for (int l = 0; j < n; j++, l++) ml[l] = r[j] > ml[l] ? r[j] : ml[l];
    for (int l = 0; l < LANES; l++) mx = ml[l] > mx ? ml[l] : mx;
    float acc[LANES] = {0};
    j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++) {
            float e = exp_poly(r[j + l] - mx);
            r[j + l] = e;
            acc[l] += e;
        }
    for (int l = 0; j < n; j++, l++) {
        float e = exp_poly(r[j] - mx);
        r[j] = e;
        acc[l] += e;
    }
    float sum = 0.0f;
    for (int l = 0; l < LANES; l++) sum += acc[l];
    float inv = 1.0f / sum;
    for (j = 0; j < n; j++) r[j] *= inv;
}

void tq_softmax_row(float *r, int n, const int32_t *mask, float div) { softmax_row(r, n, mask, div); }
