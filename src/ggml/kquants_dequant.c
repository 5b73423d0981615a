/*
 * kquants_dequant.c — decoders of ggml's 256-element super-block types:
 * Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K and IQ4_XS, plus the scale unpacking
 * shared with the encoders (kquants_quant.c).
 *
 * Byte layouts (FORMATS.md §3.4), d/dmin fp16 unless noted:
 *   Q2_K   84 B  scales[16] | qs[64] | d | dmin
 *   Q3_K  110 B  hmask[32] | qs[64] | scales[12] | d
 *   Q4_K  144 B  d | dmin | scales[12] | qs[128]
 *   Q5_K  176 B  d | dmin | scales[12] | qh[32] | qs[128]
 *   Q6_K  210 B  ql[128] | qh[64] | int8 scales[16] | d
 *   Q8_K  292 B  float32 d | int8 qs[256] | int16 bsums[16] (bsums unused)
 *   IQ4_XS 136 B d | u16 scales_h | scales_l[4] | qs[128]
 * Each decoder evaluates exactly ggml's expression per element, in float32:
 * (d * sc) * q - (dmin * m) for the affine types, (d * sc) * q otherwise.
 */
#include "ggml/ggml_kernels.h"

void tq_ggml_k4_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 15) | (q[j - 4] >> 6) << 4);
        *m = (uint8_t)((q[j + 4] >> 4) | (q[j] >> 6) << 4);
    }
}

int tq_ggml_q3k_scale(int k, const uint8_t *s) {
    int lo = k < 8 ? s[k] & 15 : s[k - 8] >> 4;
    int hi = (s[8 + k % 4] >> (2 * (k / 4))) & 3;
    return (lo | hi << 4) - 32;
}

/* 2-bit code of element e in a 64-byte qs (Q2_K and Q3_K). */
static inline int two_bits(const uint8_t *qs, int e) {
    return (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
}

void tq_ggml_dq_q2_k(const void *b, float *y, int64_t n) {
    const uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK_K; i++, p += 84, y += TQ_QK_K) {
        float d = tq_ggml_f32(p + 80), dmin = tq_ggml_f32(p + 82);
        for (int k = 0; k < 16; k++) {
            float dl = d * (float)(p[k] & 15), ml = dmin * (float)(p[k] >> 4);
            for (int e = 16 * k; e < 16 * k + 16; e++) y[e] = dl * (float)two_bits(p + 16, e) - ml;
        }
    }
}

void tq_ggml_dq_q3_k(const void *b, float *y, int64_t n) {
    const uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK_K; i++, p += 110, y += TQ_QK_K) {
        const uint8_t *hmask = p, *qs = p + 32, *sc = p + 96;
        float d = tq_ggml_f32(p + 108);
        for (int k = 0; k < 16; k++) {
            float dl = d * (float)tq_ggml_q3k_scale(k, sc);
            for (int e = 16 * k; e < 16 * k + 16; e++) {
                int hi = (hmask[e % 32] >> (e / 32)) & 1;
                y[e] = dl * (float)(two_bits(qs, e) - (hi ? 0 : 4));
            }
        }
    }
}

/* Q4_K and Q5_K: qh NULL for Q4_K. */
static void dq_k45(const uint8_t *p, const uint8_t *qh, const uint8_t *qs, float *y) {
    float d = tq_ggml_f32(p), dmin = tq_ggml_f32(p + 2);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        tq_ggml_k4_scale_min(j, p + 4, &sc, &m);
        float d1 = d * (float)sc, m1 = dmin * (float)m;
        const uint8_t *q = qs + 32 * (j / 2);
        for (int l = 0; l < 32; l++) {
            int v = j % 2 ? q[l] >> 4 : q[l] & 15;
            if (qh) v += ((qh[l] >> j) & 1) << 4;
            y[32 * j + l] = d1 * (float)v - m1;
        }
    }
}

void tq_ggml_dq_q4_k(const void *b, float *y, int64_t n) {
    const uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK_K; i++, p += 144, y += TQ_QK_K) dq_k45(p, NULL, p + 16, y);
}

void tq_ggml_dq_q5_k(const void *b, float *y, int64_t n) {
    const uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK_K; i++, p += 176, y += TQ_QK_K) dq_k45(p, p + 16, p + 48, y);
}

void tq_ggml_dq_q6_k(const void *b, float *y, int64_t n) {
    const uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK_K; i++, p += 210, y += TQ_QK_K) {
        const uint8_t *ql0 = p, *qh0 = p + 128;
        const int8_t *sc = (const int8_t *)(p + 192);
        float d = tq_ggml_f32(p + 208);
        for (int e = 0; e < 256; e++) {
            int h = e / 128, r = e % 128, l = r % 32, t = r / 32;
            const uint8_t *ql = ql0 + 64 * h, *qh = qh0 + 32 * h;
            int lo = t == 0 ? ql[l] & 15 : t == 1 ? ql[32 + l] & 15 : t == 2 ? ql[l] >> 4 : ql[32 + l] >> 4;
            int q = (lo | ((qh[l] >> (2 * t)) & 3) << 4) - 32;
            y[e] = d * (float)sc[e / 16] * (float)q;
        }
    }
}

void tq_ggml_dq_q8_k(const void *b, float *y, int64_t n) {
    const uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK_K; i++, p += 292, y += TQ_QK_K) {
        uint32_t u = tq_ld32(p);
        float d;
        memcpy(&d, &u, 4);
        for (int e = 0; e < 256; e++) y[e] = d * (float)(int8_t)p[4 + e];
    }
}

void tq_ggml_dq_iq4_xs(const void *b, float *y, int64_t n) {
    const uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK_K; i++, p += 136, y += TQ_QK_K) {
        float d = tq_ggml_f32(p);
        unsigned sh = tq_ld16(p + 2);
        const uint8_t *sl = p + 4, *qs = p + 8;
        for (int ib = 0; ib < 8; ib++, qs += 16) {
            int ls = ((sl[ib / 2] >> (4 * (ib % 2))) & 15) | (int)((sh >> (2 * ib)) & 3) << 4;
            float dl = d * (float)(ls - 32);
            for (int j = 0; j < 16; j++) {
                y[32 * ib + j] = dl * (float)tq_ggml_iq4nl_grid[qs[j] & 15];
                y[32 * ib + j + 16] = dl * (float)tq_ggml_iq4nl_grid[qs[j] >> 4];
            }
        }
    }
}
