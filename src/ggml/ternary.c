/*
 * ternary.c — ggml's ternary types TQ1_0 and TQ2_0 (values {-1, 0, +1} * d),
 * decode and reference encode (FORMATS.md §3.6).
 *
 *   TQ2_0  66 B  qs[64] | d      element 128c + 32s + m: qs[32c + m] bits 2s..2s+1,
 *                                code q in {0,1,2}, y = (q - 1) d
 *   TQ1_0  54 B  qs[48] | qh[4] | d
 *       five trits per byte, stored as ceil(v * 256 / 243) of the base-3 number
 *       v = t0 t1 t2 t3 t4 (t0 most significant); trit n of byte b decodes as
 *       ((uint8)(b * 3^n) * 3) >> 8. Element order:
 *         e = m + 32n        (m < 32, n < 5): qs[m] trit n
 *         e = 160 + m + 16n  (m < 16, n < 5): qs[32 + m] trit n
 *         e = 240 + j + 4n   (j < 4,  n < 4): qh[j] trit n (4 trits, a 0 appended)
 * Encoders: d = max |x|, code = lroundf(x / d) + 1 (ties away from zero).
 */
#include "ggml/ggml_kernels.h"
#include <math.h>

static const uint8_t POW3[6] = {1, 3, 9, 27, 81, 243};

static inline int trit(uint8_t b, int n) { return ((uint8_t)(b * POW3[n]) * 3) >> 8; }

void tq_ggml_dq_tq1_0(const void *b, float *y, int64_t n) {
    const uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK_K; i++, p += 54, y += TQ_QK_K) {
        const uint8_t *qs = p, *qh = p + 48;
        float d = tq_ggml_f32(p + 52);
        for (int t = 0; t < 5; t++)
            for (int m = 0; m < 32; m++) y[m + 32 * t] = (float)(trit(qs[m], t) - 1) * d;
        for (int t = 0; t < 5; t++)
            for (int m = 0; m < 16; m++) y[160 + m + 16 * t] = (float)(trit(qs[32 + m], t) - 1) * d;
        for (int t = 0; t < 4; t++)
            for (int j = 0; j < 4; j++) y[240 + j + 4 * t] = (float)(trit(qh[j], t) - 1) * d;
    }
}

void tq_ggml_dq_tq2_0(const void *b, float *y, int64_t n) {
    const uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK_K; i++, p += 66, y += TQ_QK_K) {
        float d = tq_ggml_f32(p + 64);
        for (int e = 0; e < TQ_QK_K; e++) {
            int q = (p[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
            y[e] = (float)(q - 1) * d;
        }
    }
}

/* d = max |x| over the block; returns 1/d (0 when d is 0). */
static float absmax_inv(const float *x, float *d) {
    float a = 0;
    for (int j = 0; j < TQ_QK_K; j++) if (fabsf(x[j]) > a) a = fabsf(x[j]);
    *d = a;
    return a != 0 ? 1.0f / a : 0.0f;
}

/* lroundf(v) + 1, saturated to the codes 0..2. */
static inline int code(float v) {
    float r = roundf(v);
    return r >= 1.0f ? 2 : r <= -1.0f ? 0 : 1;
}

/* Base-3 number of k codes (first most significant), times 3^(5-k), to the
 * byte ceil(v * 256 / 243). */
static uint8_t pack_trits(const float *x, int stride, int k, float id) {
    unsigned v = 0;
    for (int t = 0; t < k; t++) v = v * 3 + (unsigned)code(x[t * stride] * id);
    for (int t = k; t < 5; t++) v *= 3;
    return (uint8_t)((v * 256 + 242) / 243);
}

void tq_ggml_q_tq1_0(const float *x, void *b, int64_t n) {
    uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK_K; i++, x += TQ_QK_K, p += 54) {
        float d, id = absmax_inv(x, &d);
        for (int m = 0; m < 32; m++) p[m] = pack_trits(x + m, 32, 5, id);
        for (int m = 0; m < 16; m++) p[32 + m] = pack_trits(x + 160 + m, 16, 5, id);
        for (int j = 0; j < 4; j++) p[48 + j] = pack_trits(x + 240 + j, 4, 4, id);
        tq_st16(p + 52, tq_ggml_fp16(d));
    }
}

void tq_ggml_q_tq2_0(const float *x, void *b, int64_t n) {
    uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK_K; i++, x += TQ_QK_K, p += 66) {
        float d, id = absmax_inv(x, &d);
        memset(p, 0, 64);
        for (int e = 0; e < TQ_QK_K; e++)
            p[32 * (e / 128) + e % 32] = (uint8_t)(p[32 * (e / 128) + e % 32] | code(x[e] * id) << (2 * ((e % 128) / 32)));
        tq_st16(p + 64, tq_ggml_fp16(d));
    }
}
