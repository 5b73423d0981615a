/*
 * kern_ggml_exact.c — ggml's float order for the GGUF products
 * (kern_ggml_exact.h states each one).
 */
#include "kern/kern_ggml_exact.h"
#include "ggml/ggml_kernels.h"
#include <math.h>

/* hsum_float_8: the upper half added to the lower, then pairs, then the two. */
static float hsum8(const float l[8]) {
    float a0 = l[0] + l[4], a1 = l[1] + l[5], a2 = l[2] + l[6], a3 = l[3] + l[7];
    return (a0 + a2) + (a1 + a3);
}

/* Lane k += d * (sum of elements 4k..4k+3), the 32 weights given as ints. */
static void lanes32(float l[8], const int32_t *v, const int8_t *x, float d) {
    for (int k = 0; k < 8; k++) {
        int32_t s = 0;
        for (int j = 4 * k; j < 4 * k + 4; j++) s += v[j] * x[j];
        l[k] = fmaf(d, (float)s, l[k]);
    }
}

float tq_gx_q8_0(const uint8_t *w, const int8_t *xq, const float *dx, int64_t nb) {
    float l[8] = {0};
    int32_t v[32];
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * 34;
        for (int j = 0; j < 32; j++) v[j] = (int8_t)blk[2 + j];
        lanes32(l, v, xq + 32 * b, tq_ggml_f32(blk) * dx[b]);
    }
    return hsum8(l);
}

/* The 32 values of a Q4_0 block, u - 8, in element order. */
static void q4_0_vals(const uint8_t *blk, int32_t v[32]) {
    for (int j = 0; j < 16; j++) {
        v[j] = (int32_t)(blk[2 + j] & 15) - 8;
        v[j + 16] = (int32_t)(blk[2 + j] >> 4) - 8;
    }
}

float tq_gx_q4_0(const uint8_t *w, const int8_t *xq, const float *dx, int64_t nb) {
    float l[8] = {0};
    int32_t v[32];
    for (int64_t b = 0; b < nb; b++) {
        q4_0_vals(w + b * 18, v);
        lanes32(l, v, xq + 32 * b, tq_ggml_f32(w + b * 18) * dx[b]);
    }
    return hsum8(l);
}

float tq_gx_q5_0(const uint8_t *w, const int8_t *xq, const float *dx, int64_t nb) {
    float l[8] = {0};
    int32_t v[32];
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = w + b * 22, *qs = blk + 6;
        uint32_t qh = (uint32_t)blk[2] | (uint32_t)blk[3] << 8 | (uint32_t)blk[4] << 16 | (uint32_t)blk[5] << 24;
        for (int j = 0; j < 16; j++) {
            v[j] = (int32_t)((qs[j] & 15) | ((qh >> j) & 1) << 4) - 16;
            v[j + 16] = (int32_t)((qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4) - 16;
        }
        lanes32(l, v, xq + 32 * b, tq_ggml_f32(blk) * dx[b]);
    }
    return hsum8(l);
}

float tq_gx_q4_0_rep(const uint8_t *w, const int8_t *xq, const float *dx, int64_t nb) {
    float acc = 0.0f;
    int32_t v[32];
    for (int64_t b = 0; b < nb; b++) {
        q4_0_vals(w + b * 18, v);
        int32_t s = 0;
        for (int j = 0; j < 32; j++) s += v[j] * xq[32 * b + j];
        acc = fmaf((float)s, tq_ggml_f32(w + b * 18) * dx[b], acc);
    }
    return acc;
}

void tq_gx_k45_sums(const uint8_t *p, int q5, const int8_t *xb, int32_t *S, int32_t *M) {
    const uint8_t *qh = q5 ? p + 16 : NULL, *qs = p + (q5 ? 48 : 16);
    *S = *M = 0;
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        tq_ggml_k4_scale_min(j, p + 4, &sc, &m);
        const uint8_t *q = qs + 32 * (j / 2);
        int32_t A = 0, X = 0;
        for (int l = 0; l < 32; l++) {
            int v = j % 2 ? q[l] >> 4 : q[l] & 15;
            if (qh) v += ((qh[l] >> j) & 1) << 4;
            A += v * xb[32 * j + l];
            X += xb[32 * j + l];
        }
        *S += sc * A;
        *M += m * X;
    }
}

float tq_gx_q4_k_rep(const uint8_t *w, const int8_t *xq, const float *dx, int64_t nb) {
    float acc = 0.0f, accm = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *p = w + b * 144;
        int32_t S, M;
        tq_gx_k45_sums(p, 0, xq + 256 * b, &S, &M);
        acc = fmaf((float)S, tq_ggml_f32(p) * dx[b], acc);
        accm = fmaf((float)M, tq_ggml_f32(p + 2) * dx[b], accm);
    }
    return acc - accm;
}

float tq_gx_q6_k(const uint8_t *w, const int8_t *xq, const float *dx, int64_t nb) {
    float l[8] = {0};
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *p = w + b * 210;
        const int8_t *sc = (const int8_t *)(p + 192), *xb = xq + 256 * b;
        int32_t S[8] = {0}, bsum[16] = {0};
        for (int e = 0; e < 256; e++) bsum[e / 16] += xb[e];
        for (int e = 0; e < 256; e++) {
            int h = e / 128, t = e % 128 / 32, i = e % 32;
            const uint8_t *ql = p + 64 * h, *qh = p + 128 + 32 * h;
            int lo = (t & 1 ? ql[32 + i] : ql[i]) >> (t & 2 ? 4 : 0) & 15;
            int u = lo | ((qh[i] >> (2 * t)) & 3) << 4;
            S[i / 4] += sc[e / 16] * u * xb[e];
        }
        float d = dx[b] * tq_ggml_f32(p + 208);
        for (int k = 0; k < 8; k++) {
            int32_t s = S[k] - 32 * (sc[2 * k] * bsum[2 * k] + sc[2 * k + 1] * bsum[2 * k + 1]);
            l[k] = fmaf(d, (float)s, l[k]);
        }
    }
    return hsum8(l);
}
