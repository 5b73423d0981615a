/*
 * legacy.c — ggml's 32-element block types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0
 * (decode and reference encode) and IQ4_NL (decode).
 *
 * Byte layouts (FORMATS.md §3.3), d/m fp16:
 *   Q4_0   18 B  d | qs[16]            y = (q - 8) d
 *   Q4_1   20 B  d | m | qs[16]        y = q d + m
 *   Q5_0   22 B  d | qh[4] | qs[16]    y = (q - 16) d
 *   Q5_1   24 B  d | m | qh[4] | qs[16] y = q d + m
 *   Q8_0   34 B  d | int8 qs[32]       y = q d
 *   IQ4_NL 18 B  d | qs[16]            y = d * K[q], K the 16-entry non-linear grid
 * Element j (< 16) is the low nibble of qs[j], element j + 16 its high
 * nibble; for the 5-bit types bit 4 of element j is bit j of the
 * little-endian u32 qh.
 */
#include "ggml/ggml_kernels.h"
#include <float.h>
#include <math.h>

/* The IQ4_NL / IQ4_XS code book (ggml's kvalues_iq4nl). */
const int8_t tq_ggml_iq4nl_grid[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/* The signed value of largest magnitude (first one on ties). */
static float signed_absmax(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++)
        if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
    return max;
}

static void min_max(const float *x, int n, float *mn, float *mx) {
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < lo) lo = x[j];
        if (x[j] > hi) hi = x[j];
    }
    *mn = lo; *mx = hi;
}

/* 4-bit codes of one block: element j low nibble, j+16 high nibble. */
static void nibbles(const uint8_t *qs, int *q) {
    for (int j = 0; j < 16; j++) { q[j] = qs[j] & 15; q[j + 16] = qs[j] >> 4; }
}

/* 5-bit codes: nibbles plus bit j of qh. */
static void fivebits(const uint8_t *qh4, const uint8_t *qs, int *q) {
    uint32_t qh = tq_ld32(qh4);
    nibbles(qs, q);
    for (int j = 0; j < 32; j++) q[j] |= (int)((qh >> j) & 1u) << 4;
}

/* One legacy block family: bytes per block, an fp16 min after d, 5-bit
 * codes (qh after d/m), the code of zero, or a code book (IQ4_NL). */
typedef struct family { size_t size; bool min, five; int zero; const int8_t *grid; } family;

static void dq_family(const family *f, const void *b, float *y, int64_t n) {
    const uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK; i++, p += f->size, y += TQ_QK) {
        float d = tq_ggml_f32(p), m = f->min ? tq_ggml_f32(p + 2) : 0.0f;
        const uint8_t *qs = p + (f->min ? 4 : 2);
        int q[32];
        if (f->five) fivebits(qs, qs + 4, q);
        else nibbles(qs, q);
        for (int j = 0; j < 32; j++)
            y[j] = f->grid ? d * (float)f->grid[q[j]] : f->min ? (float)q[j] * d + m : (float)(q[j] - f->zero) * d;
    }
}

static const family Q4_0 = {18, false, false, 8, NULL}, Q4_1 = {20, true, false, 0, NULL},
                    Q5_0 = {22, false, true, 16, NULL}, Q5_1 = {24, true, true, 0, NULL},
                    IQ4_NL = {18, false, false, 0, tq_ggml_iq4nl_grid};

void tq_ggml_dq_q4_0(const void *b, float *y, int64_t n) { dq_family(&Q4_0, b, y, n); }
void tq_ggml_dq_q4_1(const void *b, float *y, int64_t n) { dq_family(&Q4_1, b, y, n); }
void tq_ggml_dq_q5_0(const void *b, float *y, int64_t n) { dq_family(&Q5_0, b, y, n); }
void tq_ggml_dq_q5_1(const void *b, float *y, int64_t n) { dq_family(&Q5_1, b, y, n); }
void tq_ggml_dq_iq4_nl(const void *b, float *y, int64_t n) { dq_family(&IQ4_NL, b, y, n); }

void tq_ggml_dq_q8_0(const void *b, float *y, int64_t n) {
    const uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK; i++, p += 34, y += TQ_QK) {
        float d = tq_ggml_f32(p);
        for (int j = 0; j < 32; j++) y[j] = (float)(int8_t)p[2 + j] * d;
    }
}

/* Pack 32 codes (< 32) as nibbles, and bit 4 of each into qh when qh4. */
static void pack(const int *q, uint8_t *qh4, uint8_t *qs) {
    uint32_t qh = 0;
    for (int j = 0; j < 16; j++) {
        qs[j] = (uint8_t)((q[j] & 15) | (q[j + 16] & 15) << 4);
        qh |= (uint32_t)((q[j] >> 4) & 1) << j | (uint32_t)((q[j + 16] >> 4) & 1) << (j + 16);
    }
    if (qh4) tq_st32(qh4, qh);
}

/* Q4_0 / Q5_0: d = max / -(2^(bits-1)); q = trunc(x/d + 2^(bits-1) + 0.5). */
static void quant_sym(const float *x, uint8_t *p, int half, int qmax, bool five) {
    float max = signed_absmax(x, 32);
    float d = max / (float)-half, id = d != 0.0f ? 1.0f / d : 0.0f;
    int q[32];
    for (int j = 0; j < 32; j++) q[j] = tq_ggml_trunc(x[j] * id + ((float)half + 0.5f), 0, qmax);
    tq_st16(p, tq_ggml_fp16(d));
    if (five) pack(q, p + 2, p + 6);
    else pack(q, NULL, p + 2);
}

/* Q4_1 / Q5_1: d = (max - min) / qmax; q = trunc((x - min)/d + 0.5). */
static void quant_affine(const float *x, uint8_t *p, int qmax, bool five) {
    float mn, mx;
    min_max(x, 32, &mn, &mx);
    float d = (mx - mn) / (float)qmax, id = d != 0.0f ? 1.0f / d : 0.0f;
    int q[32];
    for (int j = 0; j < 32; j++) q[j] = tq_ggml_trunc((x[j] - mn) * id + 0.5f, 0, qmax);
    tq_st16(p, tq_ggml_fp16(d));
    tq_st16(p + 2, tq_ggml_fp16(mn));
    if (five) pack(q, p + 4, p + 8);
    else pack(q, NULL, p + 4);
}

/* 1: the encoders below run as written (the portable reference); 0
 * (default): legacy_fast.c's vector loops, same bytes. */
static int use_reference;
void tq_ggml_legacy_reference(int on) { use_reference = on; }

void tq_ggml_q_q4_0(const float *x, void *b, int64_t n) {
    if (!use_reference) { tq_ggml_fast_q4_0(x, b, n); return; }
    for (int64_t i = 0; i < n / TQ_QK; i++) quant_sym(x + TQ_QK * i, (uint8_t *)b + 18 * i, 8, 15, false);
}
void tq_ggml_q_q5_0(const float *x, void *b, int64_t n) {
    if (!use_reference) { tq_ggml_fast_q5_0(x, b, n); return; }
    for (int64_t i = 0; i < n / TQ_QK; i++) quant_sym(x + TQ_QK * i, (uint8_t *)b + 22 * i, 16, 31, true);
}
void tq_ggml_q_q4_1(const float *x, void *b, int64_t n) {
    if (!use_reference) { tq_ggml_fast_q4_1(x, b, n); return; }
    for (int64_t i = 0; i < n / TQ_QK; i++) quant_affine(x + TQ_QK * i, (uint8_t *)b + 20 * i, 15, false);
}
void tq_ggml_q_q5_1(const float *x, void *b, int64_t n) {
    if (!use_reference) { tq_ggml_fast_q5_1(x, b, n); return; }
    for (int64_t i = 0; i < n / TQ_QK; i++) quant_affine(x + TQ_QK * i, (uint8_t *)b + 24 * i, 31, true);
}

void tq_ggml_q_q8_0(const float *x, void *b, int64_t n) {
    if (!use_reference) { tq_ggml_fast_q8_0(x, b, n); return; }
    uint8_t *p = b;
    for (int64_t i = 0; i < n / TQ_QK; i++, x += TQ_QK, p += 34) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) if (fabsf(x[j]) > amax) amax = fabsf(x[j]);
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        tq_st16(p, tq_ggml_fp16(d));
        for (int j = 0; j < 32; j++) {
            float v = roundf(x[j] * id);   /* ties away from zero, |v| <= 127 */
            p[2 + j] = (uint8_t)(int8_t)(v == v ? (v > 127.0f ? 127 : v < -127.0f ? -127 : (int)v) : 0);
        }
    }
}
