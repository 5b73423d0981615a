/*
 * legacy_fast.c — the encoders of Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 in
 * fixed-length, branch-free loops the compiler vectorises (SSE2 by default,
 * AVX2 / AVX-512 clones picked at run time, as kquants_quant.c). They write
 * the bytes of legacy.c's reference encoders (ggml's quantize_row_*_ref);
 * tq_ggml_legacy_reference(1) selects those, and test_ggml_legacy_fast
 * compares the two on random and adversarial blocks. Q8_0 runs
 * legacy_fast_avx512.c's explicit AVX-512F loop where the CPU has it (16
 * blocks at a time; this file's loop encodes the rest and is its reference).
 *
 * Why each step is exact (every lane makes the reference's float operations
 * in its order; -ffp-contract=off for this file, so no FMA):
 *  - max/min over 8 lanes then across them finds the same value as the
 *    reference's left-to-right scan (NaN never compares, so both skip it).
 *    Which element carries it matters only for its sign: the reference keeps
 *    the FIRST element reaching the extreme (strict compares), so the element
 *    is taken as the first j whose value (or |value|) equals it. That differs
 *    only for zeros (-0 == +0), handled as the reference does.
 *  - roundf(v) for |v| <= 127 (Q8_0 clamps v first, which cannot change the
 *    clamped result): i = (int)v truncates; r = v - (float)i is exact (the
 *    fractional part of a float is a float); roundf(v) = i + (r >= 0.5) -
 *    (r <= -0.5), which is ties away from zero. NaN is replaced by 0 before
 *    the conversion (the reference stores 0 for it).
 *  - the truncating casts of Q4/Q5: v is clamped to [0, qmax] (NaN -> 0)
 *    before (int), as tq_ggml_trunc does.
 */
#include "ggml/ggml_kernels.h"
#include "ggml/vec8.h"
#include <float.h>

#define TQ_LEGACY_CLONES TQ_VEC_CLONES

#define LANES 8

/* The first x[j] equal to v (v found in x), or v when none is. */
static float first_equal(const float *x, float v) {
    for (int j = 0; j < TQ_QK; j++)
        if (x[j] == v) return x[j];
    return v;
}

/* max |x| over the block, NaN skipped (+0 when all are NaN or zero). */
static inline float absmax32(const float *x) {
    float l[LANES] = {0};
#if defined(__GNUC__)
    v8f m = V8(0.0f);
    for (int j = 0; j < TQ_QK; j += LANES) {
        v8f v;
        memcpy(&v, x + j, sizeof v);
        v8f a = (v8f)((v8i)v & 0x7fffffff);
        m = SEL(m < a, a, m);   /* NaN never wins */
    }
    memcpy(l, &m, sizeof l);
#else
    for (int j = 0; j < TQ_QK; j += LANES)
        for (int k = 0; k < LANES; k++) {
            float a = x[j + k] < 0.0f ? -x[j + k] : x[j + k];
            l[k] = l[k] < a ? a : l[k];
        }
#endif
    float m0 = 0.0f;
    for (int k = 0; k < LANES; k++) m0 = m0 < l[k] ? l[k] : m0;
    return m0;
}

/* The reference's signed_absmax: the first element of largest magnitude,
 * +0 when that magnitude is 0 (NaN never wins). Each lane keeps its first
 * strict maximum of |x|, its signed value and the chunk it came from; the
 * lanes are then compared in element order (chunk * 8 + lane), so the
 * first element of the largest magnitude wins, as in the reference scan. */
TQ_VEC_INLINE float signed_absmax32(const float *x) {
#if defined(TQ_VEC8)
    v8f a = V8(0.0f), s = V8(0.0f);
    v8i at = V8I(0);
    for (int c = 0; c < TQ_QK / LANES; c++) {
        v8f v;
        memcpy(&v, x + LANES * c, sizeof v);
        v8f av = (v8f)((v8i)v & 0x7fffffff);
        v8i up = a < av;
        a = SEL(up, av, a);
        s = SEL(up, v, s);
        at = SELI(up, V8I(c), at);
    }
#if defined(TQ_VEC8_SHUFFLE)
    /* branch-free tree over the lanes: the larger |x|, on a tie the earlier element */
    v8i idx = at * LANES + (v8i){0, 1, 2, 3, 4, 5, 6, 7};
#define TQ_FOLD(...)                                                                            \
    do {                                                                                        \
        v8f a2 = __builtin_shufflevector(a, a, __VA_ARGS__), s2 = __builtin_shufflevector(s, s, __VA_ARGS__); \
        v8i i2 = __builtin_shufflevector(idx, idx, __VA_ARGS__);                                \
        v8i take = (a2 > a) | ((a2 == a) & (i2 < idx));                                         \
        a = SEL(take, a2, a);                                                                   \
        s = SEL(take, s2, s);                                                                   \
        idx = SELI(take, i2, idx);                                                              \
    } while (0)
    TQ_FOLD(4, 5, 6, 7, 0, 1, 2, 3);
    TQ_FOLD(2, 3, 0, 1, 6, 7, 4, 5);
    TQ_FOLD(1, 0, 3, 2, 5, 4, 7, 6);
#undef TQ_FOLD
    return s[0];
#else
    float best = 0.0f, val = 0.0f;
    int first = TQ_QK;
    for (int k = 0; k < LANES; k++) {
        int idx = at[k] * LANES + k;
        if (a[k] > best || (a[k] == best && best != 0.0f && idx < first)) { best = a[k]; val = s[k]; first = idx; }
    }
    return val;
#endif
#else
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < TQ_QK; j++) {
        float v = x[j] < 0.0f ? -x[j] : x[j];
        if (amax < v) { amax = v; max = x[j]; }
    }
    return max;
#endif
}

/* The reference's min_max: the first minimum and first maximum in order. */
static inline void min_max32(const float *x, float *mn, float *mx) {
    float lo[LANES], hi[LANES];
#if defined(__GNUC__)
    v8f l = V8(FLT_MAX), h = V8(-FLT_MAX);
    for (int j = 0; j < TQ_QK; j += LANES) {
        v8f v;
        memcpy(&v, x + j, sizeof v);
        l = SEL(v < l, v, l);   /* NaN never wins */
        h = SEL(v > h, v, h);
    }
    memcpy(lo, &l, sizeof lo);
    memcpy(hi, &h, sizeof hi);
#else
    for (int k = 0; k < LANES; k++) { lo[k] = FLT_MAX; hi[k] = -FLT_MAX; }
    for (int j = 0; j < TQ_QK; j += LANES)
        for (int k = 0; k < LANES; k++) {
            float v = x[j + k];
            lo[k] = v < lo[k] ? v : lo[k];
            hi[k] = v > hi[k] ? v : hi[k];
        }
#endif
    float a = FLT_MAX, b = -FLT_MAX;
    for (int k = 0; k < LANES; k++) { a = lo[k] < a ? lo[k] : a; b = hi[k] > b ? hi[k] : b; }
    *mn = a == 0.0f ? first_equal(x, a) : a;
    *mx = b == 0.0f ? first_equal(x, b) : b;
}

#if !defined(__GNUC__)
/* Nibbles of q (< 32) into qs, bit 4 into the u32 at qh4 when five. */
static inline void pack32(const uint8_t *q, uint8_t *qh4, uint8_t *qs, bool five) {
    for (int j = 0; j < 16; j++) qs[j] = (uint8_t)((q[j] & 15) | (q[j + 16] & 15) << 4);
    if (!five) return;
    uint32_t qh = 0;
    for (int j = 0; j < TQ_QK; j++) qh |= (uint32_t)(q[j] >> 4) << j;
    tq_st32(qh4, qh);
}
#endif

/* Codes trunc(clamp((x - sub) * id + add, 0, hi)) of one block (NaN -> 0),
 * packed. x - 0 is x bit for bit (also -0 and NaN), so Q4_0 / Q5_0 pass
 * sub = 0 and make the reference's x * id + add. */
static inline void codes32(const float *x, float sub, float id, float add, float hi, uint8_t *qh4, uint8_t *qs,
                           bool five) {
#if defined(__GNUC__)
    v8i t[4];
    for (int c = 0; c < 4; c++) {
        v8f v;
        memcpy(&v, x + LANES * c, sizeof v);
        v = (v - sub) * id + add;
        v = SEL(v > 0.0f, v, V8(0.0f));   /* also NaN */
        v = SEL(v < hi, v, V8(hi));
        t[c] = __builtin_convertvector(v, v8i);
    }
    for (int c = 0; c < 2; c++) {
        v8c b = TQ_LOW_BYTES((t[c] & 15) | (t[c + 2] & 15) << 4);
        memcpy(qs + LANES * c, &b, sizeof b);
    }
    if (!five) return;
    uint32_t qh = 0;
    for (int c = 0; c < 4; c++)
        for (int k = 0; k < LANES; k++) qh |= (uint32_t)((t[c][k] >> 4) & 1) << (LANES * c + k);
    tq_st32(qh4, qh);
#else
    uint8_t q[TQ_QK];
    for (int j = 0; j < TQ_QK; j++) {
        float v = (x[j] - sub) * id + add;
        v = v > 0.0f ? v : 0.0f;   /* also NaN */
        v = v < hi ? v : hi;
        q[j] = (uint8_t)(int)v;
    }
    pack32(q, qh4, qs, five);
#endif
}

/* Q4_0 / Q5_0: q = trunc(x/d + half + 0.5) in [0, qmax]. */
TQ_LEGACY_CLONES
static void fast_sym(const float *x, uint8_t *p, int64_t nb, size_t size, int half, int qmax, bool five) {
    /* max / -half == max * (-1 / half) exactly: half is a power of two, so
     * both are the same real number rounded once. */
    const float add = (float)half + 0.5f, hi = (float)qmax, mhalf = -1.0f / (float)half;
    for (int64_t i = 0; i < nb; i++, x += TQ_QK, p += size) {
        float max = signed_absmax32(x);
        float d = max * mhalf, id = d != 0.0f ? 1.0f / d : 0.0f;
        tq_st16(p, tq_ggml_fp16(d));
        codes32(x, 0.0f, id, add, hi, p + 2, p + (five ? 6 : 2), five);
    }
}

/* Q4_1 / Q5_1: q = trunc((x - min)/d + 0.5) in [0, qmax]. */
TQ_LEGACY_CLONES
static void fast_affine(const float *x, uint8_t *p, int64_t nb, size_t size, int qmax, bool five) {
    const float hi = (float)qmax;
    for (int64_t i = 0; i < nb; i++, x += TQ_QK, p += size) {
        float mn, mx;
        min_max32(x, &mn, &mx);
        float d = (mx - mn) / hi, id = d != 0.0f ? 1.0f / d : 0.0f;
        tq_st16(p, tq_ggml_fp16(d));
        tq_st16(p + 2, tq_ggml_fp16(mn));
        codes32(x, mn, id, 0.5f, hi, p + 4, p + (five ? 8 : 4), five);
    }
}

/* Q8_0: q = roundf(x/d), ties away from zero, |q| <= 127. */
TQ_LEGACY_CLONES
static void fast_q8_0(const float *x, uint8_t *p, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, x += TQ_QK, p += 34) {
        float amax = absmax32(x);
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        tq_st16(p, tq_ggml_fp16(d));
#if defined(__GNUC__)
        for (int j = 0; j < TQ_QK; j += LANES) {
            v8f v;
            memcpy(&v, x + j, sizeof v);
            v = v * id;
            v = SEL(v == v, v, V8(0.0f));
            v = SEL(v > 127.0f, V8(127.0f), v);
            v = SEL(v < -127.0f, V8(-127.0f), v);
            v8i t = __builtin_convertvector(v, v8i);
            v8f r = v - __builtin_convertvector(t, v8f);
            v8c q = __builtin_convertvector(t - (r >= 0.5f) + (r <= -0.5f), v8c);   /* masks are -1 */
            memcpy(p + 2 + j, &q, sizeof q);
        }
#else
        for (int j = 0; j < TQ_QK; j++) {
            float v = x[j] * id;
            v = v == v ? v : 0.0f;
            v = v > 127.0f ? 127.0f : v;
            v = v < -127.0f ? -127.0f : v;
            int t = (int)v;
            float r = v - (float)t;
            p[2 + j] = (uint8_t)(int8_t)(t + (r >= 0.5f) - (r <= -0.5f));
        }
#endif
    }
}

void tq_ggml_fast_q4_0(const float *x, void *b, int64_t n) { fast_sym(x, b, n / TQ_QK, 18, 8, 15, false); }
void tq_ggml_fast_q5_0(const float *x, void *b, int64_t n) { fast_sym(x, b, n / TQ_QK, 22, 16, 31, true); }
void tq_ggml_fast_q4_1(const float *x, void *b, int64_t n) { fast_affine(x, b, n / TQ_QK, 20, 15, false); }
void tq_ggml_fast_q5_1(const float *x, void *b, int64_t n) { fast_affine(x, b, n / TQ_QK, 24, 31, true); }
void tq_ggml_fast_q8_0_vec(const float *x, void *b, int64_t n) { fast_q8_0(x, b, n / TQ_QK); }

void tq_ggml_fast_q8_0(const float *x, void *b, int64_t n) {
    int64_t done = tq_ggml_fast_q8_0_avx512(x, b, n / TQ_QK);   /* 0 without AVX-512F */
    fast_q8_0(x + TQ_QK * done, (uint8_t *)b + 34 * done, n / TQ_QK - done);
}
