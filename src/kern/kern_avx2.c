/*
 * kern_avx2.c — AVX2 kernels (compiled with target attributes; kern.c runs
 * them only where the CPU has AVX2, FMA and F16C).
 *
 * int8 x int8 products use maddubs with the sign trick: |x| (unsigned) times
 * w carrying x's sign, so no pair of products saturates 16 bits
 * (127 * 127 * 2 < 32767), then madd by ones into int32 lanes: the exact
 * integer sums of the portable path.
 */
#include "kern/kern_impl.h"
#include <math.h>
#include "ggml/ggml_kernels.h"
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define TGT __attribute__((target("avx2,fma,f16c")))
#define INL TGT static inline __attribute__((always_inline))
#ifndef MT
#define MT 3   /* activation rows per tile: 6 accumulators, no spills */
#endif

INL int32_t ld32(const void *p) { int32_t v; memcpy(&v, p, 4); return v; }

/* One tile of I8 products: M activation rows from i0 against row block b
 * (TQ_KROWS = 16 rows, two vectors of 8) into out[M][16]. */
INL void i8_tile(const tq_kmat *k, const tq_kact *a, int64_t b, int64_t i0, const int M, float out[][TQ_KROWS]) {
    const int8_t *wp = k->packed + b * k->k4 * 64;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 f[4][2];
    for (int j = 0; j < M; j++) f[j][0] = f[j][1] = _mm256_setzero_ps();
    for (int64_t g = 0; g < k->ngroups; g++) {
        int64_t k0, k1;
        tq_kern_group_k4(k, g, &k0, &k1);
        __m256i s[4][2];
        for (int j = 0; j < M; j++) s[j][0] = s[j][1] = _mm256_setzero_si256();
        for (int64_t kk = k0; kk < k1; kk++) {
            __m256i w0 = _mm256_load_si256((const __m256i *)(wp + kk * 64));
            __m256i w1 = _mm256_load_si256((const __m256i *)(wp + kk * 64 + 32));
            for (int j = 0; j < M; j++) {
                const int64_t o = (i0 + j) * a->kpad + 4 * kk;
                __m256i xb = _mm256_set1_epi32(ld32(a->q + o)), xa = _mm256_set1_epi32(ld32(a->qa + o));
                s[j][0] = _mm256_add_epi32(s[j][0], _mm256_madd_epi16(_mm256_maddubs_epi16(xa, _mm256_sign_epi8(w0, xb)), ones));
                s[j][1] = _mm256_add_epi32(s[j][1], _mm256_madd_epi16(_mm256_maddubs_epi16(xa, _mm256_sign_epi8(w1, xb)), ones));
            }
        }
        const float *ps = k->pscale + (b * k->ngroups + g) * TQ_KROWS;
        __m256 c0 = _mm256_loadu_ps(ps), c1 = _mm256_loadu_ps(ps + 8);
        for (int j = 0; j < M; j++) {
            __m256 dx = _mm256_set1_ps(a->d[i0 + j]);
            f[j][0] = _mm256_add_ps(f[j][0], _mm256_mul_ps(_mm256_cvtepi32_ps(s[j][0]), _mm256_mul_ps(dx, c0)));
            f[j][1] = _mm256_add_ps(f[j][1], _mm256_mul_ps(_mm256_cvtepi32_ps(s[j][1]), _mm256_mul_ps(dx, c1)));
        }
    }
    for (int j = 0; j < M; j++) {
        _mm256_storeu_ps(out[j], f[j][0]);
        _mm256_storeu_ps(out[j] + 8, f[j][1]);
    }
}

/* Lanes of a tile's rows that lie in [r0, r1) into y. */
static void put_tile(float out[][TQ_KROWS], int M, int64_t b, int64_t i0, int64_t r0, int64_t r1, float *y, int64_t ldy,
                     int acc) {
    int64_t lo = b * TQ_KROWS > r0 ? b * TQ_KROWS : r0, hi = (b + 1) * TQ_KROWS < r1 ? (b + 1) * TQ_KROWS : r1;
    for (int j = 0; j < M; j++) {
        float *yr = y + (i0 + j) * ldy;
        for (int64_t r = lo; r < hi; r++) yr[r] = acc ? yr[r] + out[j][r - b * TQ_KROWS] : out[j][r - b * TQ_KROWS];
    }
}

/* Loop order: 4 activation rows (in L1) against every row block of the
 * range (the slab's packed rows stay in L2). */
TGT void tq_kern_i8_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    float out[4][TQ_KROWS];
    for (int64_t i0 = 0; i0 < a->n; i0 += MT) {
        int M = a->n - i0 < MT ? (int)(a->n - i0) : MT;
        for (int64_t b = r0 / TQ_KROWS; b * TQ_KROWS < r1; b++) {
            switch (M) {
#if MT == 4
            case 4: i8_tile(k, a, b, i0, 4, out); break;
#endif
            case 3: i8_tile(k, a, b, i0, 3, out); break;
            case 2: i8_tile(k, a, b, i0, 2, out); break;
            default: i8_tile(k, a, b, i0, 1, out); break;
            }
            put_tile(out, M, b, i0, r0, r1, y, ldy, acc);
        }
    }
}

INL float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INL float f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/* int32 sums of 32 products, lane k the products 4k..4k+3, as floats: ggml's
 * x86 form, |w| unsigned against x signed by w (exact for w = -128 too: no
 * pair reaches 2^15 with |x| <= 127). */
INL __m256i dot32i(__m256i w, const int8_t *xq) {
    __m256i xv = _mm256_load_si256((const __m256i *)xq);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(xv, w)), _mm256_set1_epi16(1));
}
INL __m256 dot32(__m256i w, const int8_t *xq) { return _mm256_cvtepi32_ps(dot32i(w, xq)); }

/* The exact int32 sum of the 8 lanes. */
INL int32_t sum8_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    return _mm_cvtsi128_si32(_mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1)));
}

INL __m256i q4_codes(const uint8_t *qs) {
    __m128i v = _mm_loadu_si128((const __m128i *)qs), m = _mm_set1_epi8(15);
    __m256i u = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
    return _mm256_sub_epi8(u, _mm256_set1_epi8(8));
}

#define GG_MT 4   /* activation rows a ggml row is unpacked for at once */
#ifndef PF_DIST
#define PF_DIST 2048
#endif
#ifndef PF_HINT
#define PF_HINT _MM_HINT_T0
#endif
/* 32 codes of a ggml block (after its f16 scale) as signed bytes. */
INL __m256i ggml_codes(const uint8_t *p, int q4) { return q4 ? q4_codes(p) : _mm256_loadu_si256((const __m256i *)p); }

/* One row against M activation rows from i0 (a batch: the row's codes are
 * unpacked once for all M): ggml's accumulation (kern_avx512.c), one
 * accumulator per activation row, block after block, so a product's bytes
 * do not depend on how many activation rows share a step. rep: ggml's
 * repacked order (Q4_0 matrices of a multiple of 8 rows, kern_avx512.c):
 * one float, fma((float)S_b, d_w d_x, acc) with S_b the block's exact sum. */
INL void ggml_tile(const uint8_t *w, const tq_kact *a, int64_t i0, const int M, int64_t nb, const int bytes, const int q4,
                   const int rep, float *out) {
    __m256 s0[GG_MT];
    const int8_t *xq[GG_MT];
    const float *dx[GG_MT];
    for (int j = 0; j < M; j++) {
        s0[j] = _mm256_setzero_ps();
        xq[j] = a->q + (i0 + j) * a->kpad;
        dx[j] = a->d + (i0 + j) * a->nb;
    }
    __m128 r0[GG_MT];
    for (int j = 0; j < M; j++) r0[j] = _mm_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *p0 = w + b * bytes;
        if (!(b & 1)) _mm_prefetch((const char *)(p0 + PF_DIST), PF_HINT);
        const __m256i c0 = ggml_codes(p0 + 2, q4);
        const float d0 = f16(p0);
        for (int j = 0; j < M; j++)
            if (rep)
                r0[j] = _mm_fmadd_ss(_mm_set_ss((float)sum8_i32(dot32i(c0, xq[j] + b * 32))), _mm_set_ss(d0 * dx[j][b]), r0[j]);
            else
                s0[j] = _mm256_fmadd_ps(dot32(c0, xq[j] + b * 32), _mm256_set1_ps(d0 * dx[j][b]), s0[j]);
    }
    for (int j = 0; j < M; j++) out[j] = rep ? _mm_cvtss_f32(r0[j]) : hsum(s0[j]);
}

/* ggml Q8_0 / Q4_0 rows: each row against GG_MT activation rows at a time. */
INL void ggml_rows(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc,
                   const int bytes, const int q4) {
    const int64_t nb = k->cols / 32;
    float out[GG_MT];
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *w = k->codes + r * k->row_bytes;
        for (int64_t i0 = 0; i0 < a->n; i0 += GG_MT) {
            int M = a->n - i0 < GG_MT ? (int)(a->n - i0) : GG_MT;
            if (q4 && k->rows % 8 == 0) switch (M) {   /* ggml's order for the matrix */
                case 4: ggml_tile(w, a, i0, 4, nb, bytes, 1, 1, out); break;
                case 3: ggml_tile(w, a, i0, 3, nb, bytes, 1, 1, out); break;
                case 2: ggml_tile(w, a, i0, 2, nb, bytes, 1, 1, out); break;
                default: ggml_tile(w, a, i0, 1, nb, bytes, 1, 1, out); break;
                }
            else switch (M) {
            case 4: ggml_tile(w, a, i0, 4, nb, bytes, q4, 0, out); break;
            case 3: ggml_tile(w, a, i0, 3, nb, bytes, q4, 0, out); break;
            case 2: ggml_tile(w, a, i0, 2, nb, bytes, q4, 0, out); break;
            default: ggml_tile(w, a, i0, 1, nb, bytes, q4, 0, out); break;
            }
            for (int j = 0; j < M; j++) {
                float *yr = y + (i0 + j) * ldy + r;
                *yr = acc ? *yr + out[j] : out[j];
            }
        }
    }
}


TGT void tq_kern_q8_0_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    ggml_rows(k, a, r0, r1, y, ldy, acc, 34, 0);
}

TGT void tq_kern_q4_0_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    ggml_rows(k, a, r0, r1, y, ldy, acc, 18, 1);
}

INL int32_t hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* Pair sums of u (unsigned, at most 15 each) times x (signed) into int32
 * lanes: no pair reaches 2^15. */
INL __m256i dot_u4(__m256i u, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1));
}

/* Q4_1 against Q8_1 activations: the exact block sum A (u q_x) by one FMA
 * per block, the mins m s_x (s_x = the activations' float16 sum) added
 * after, as ggml does. */
TGT void tq_kern_q4_1_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    int64_t nb = k->cols / 32;
    const __m128i m = _mm_set1_epi8(15);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *w = k->codes + r * k->row_bytes;
        for (int64_t i = 0; i < a->n; i++) {
            const int8_t *xq = a->q + i * a->kpad;
            const float *dx = a->d + i * a->nb, *sx = dx + nb;
            __m256 s = _mm256_setzero_ps();
            float mins = 0.0f;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *p = w + b * 20;
                __m128i v = _mm_loadu_si128((const __m128i *)(p + 4));
                __m256i u = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
                __m256i x = _mm256_load_si256((const __m256i *)(xq + b * 32));
                s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot_u4(u, x)), _mm256_set1_ps(f16(p) * dx[b]), s);
                mins += f16(p + 2) * sx[b];
            }
            float v = hsum(s) + mins;
            y[i * ldy + r] = acc ? y[i * ldy + r] + v : v;
        }
    }
}

/* 32 codes in column order from 16 bytes, two a byte, low nibble first. */
INL __m256i nib32(const uint8_t *p) {
    __m128i v = _mm_loadu_si128((const __m128i *)p), m = _mm_set1_epi8(15);
    __m128i lo = _mm_and_si128(v, m), hi = _mm_and_si128(_mm_srli_epi16(v, 4), m);
    return _mm256_set_m128i(_mm_unpackhi_epi8(lo, hi), _mm_unpacklo_epi8(lo, hi));
}

/* L4/A4/A8/M4/M8: the exact group sums of the portable path (8-bit codes as
 * 16 high + low nibble, each product pair below 2^15), then its float steps
 * (tq_kern_lin_group): its bytes. A group starting mid-byte runs scalar. */
TGT void tq_kern_lin_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    const __m256i ones = _mm256_set1_epi8(1), m = _mm256_set1_epi8(15);
    const int bits = k->bits;
    for (int64_t i = 0; i < a->n; i++) {
        const int8_t *xq = a->q + i * a->kpad;
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *w = k->codes + r * k->row_bytes;
            float sum = 0.0f;
            for (int64_t g = 0; g < k->ngroups; g++) {
                int64_t c0 = g * k->glen, c1 = c0 + k->glen < k->cols ? c0 + k->glen : k->cols, c = c0;
                __m256i va = _mm256_setzero_si256(), vx = _mm256_setzero_si256();
                if (bits == 8 || c0 % 2 == 0)
                    for (; c + 32 <= c1; c += 32) {
                        __m256i x = _mm256_loadu_si256((const __m256i *)(xq + c));
                        if (bits == 4) {
                            va = _mm256_add_epi32(va, dot_u4(nib32(w + c / 2), x));
                        } else {
                            __m256i u = _mm256_loadu_si256((const __m256i *)(w + c));
                            __m256i h = _mm256_and_si256(_mm256_srli_epi16(u, 4), m);
                            va = _mm256_add_epi32(va, _mm256_slli_epi32(dot_u4(h, x), 4));
                            va = _mm256_add_epi32(va, dot_u4(_mm256_and_si256(u, m), x));
                        }
                        vx = _mm256_add_epi32(vx, dot_u4(ones, x));
                    }
                int32_t A = hsum_i32(va), X = hsum_i32(vx);
                for (; c < c1; c++) {
                    A += tq_kern_code(w, c, bits) * (int32_t)xq[c];
                    X += xq[c];
                }
                sum += tq_kern_lin_group(k, r, g, A, X, a->d[i]);
            }
            y[i * ldy + r] = acc ? y[i * ldy + r] + sum : sum;
        }
    }
}

/* 8 NF4 values in column order from 4 bytes: the 16-entry code book as two
 * 8-lane halves, chosen by bit 3 of the code. */
INL __m256 nf4_8(const uint8_t *p, __m256 lo, __m256 hi) {
    __m128i b = _mm_cvtepu8_epi32(_mm_cvtsi32_si128(ld32(p)));
    __m128i l = _mm_and_si128(b, _mm_set1_epi32(15)), h = _mm_srli_epi32(b, 4);
    __m256i idx = _mm256_set_m128i(_mm_unpackhi_epi32(l, h), _mm_unpacklo_epi32(l, h));
    __m256 v0 = _mm256_permutevar8x32_ps(lo, idx), v1 = _mm256_permutevar8x32_ps(hi, idx);
    return _mm256_blendv_ps(v0, v1, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)));
}

/* NF4: eight partial sums per group (FMA), then the scalar tail: within
 * float rounding of the portable path. */
TGT void tq_kern_nf4_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    const __m256 lo = _mm256_loadu_ps(k->lut), hi = _mm256_loadu_ps(k->lut + 8);
    for (int64_t i = 0; i < a->n; i++) {
        const float *x = a->d + i * a->kpad;
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *w = k->codes + r * k->row_bytes;
            float sum = 0.0f;
            for (int64_t g = 0; g < k->ngroups; g++) {
                int64_t c0 = g * k->glen, c1 = c0 + k->glen < k->cols ? c0 + k->glen : k->cols, c = c0;
                __m256 s = _mm256_setzero_ps();
                if (c0 % 2 == 0)
                    for (; c + 8 <= c1; c += 8) s = _mm256_fmadd_ps(nf4_8(w + c / 2, lo, hi), _mm256_loadu_ps(x + c), s);
                float t = hsum(s);
                for (; c < c1; c++) t += k->lut[tq_kern_code(w, c, 4)] * x[c];
                sum += t * k->scale[r * k->sstride + g];
            }
            y[i * ldy + r] = acc ? y[i * ldy + r] + sum : sum;
        }
    }
}

INL __m256 half8(const uint8_t *p, int bf) {
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    return bf ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)) : _mm256_cvtph_ps(h);
}

/* F16 (F16C) / BF16 (a shift): widened exactly, two FMA accumulators. */
TGT void tq_kern_half_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    const int bf = k->kind == TQ_KW_BF16 || k->kind == TQ_KW_BF16R;
    for (int64_t i = 0; i < a->n; i++) {
        const float *x = a->d + i * a->kpad;
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *w = k->codes + r * k->row_bytes;
            __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
            int64_t c = 0;
            for (; c + 16 <= k->cols; c += 16) {
                s0 = _mm256_fmadd_ps(half8(w + 2 * c, bf), _mm256_loadu_ps(x + c), s0);
                s1 = _mm256_fmadd_ps(half8(w + 2 * c + 16, bf), _mm256_loadu_ps(x + c + 8), s1);
            }
            if (c + 8 <= k->cols) { s0 = _mm256_fmadd_ps(half8(w + 2 * c, bf), _mm256_loadu_ps(x + c), s0); c += 8; }
            float v = hsum(_mm256_add_ps(s0, s1));
            for (; c < k->cols; c++) {
                uint16_t h;
                memcpy(&h, w + 2 * c, 2);
                v += (bf ? _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128((int)((uint32_t)h << 16)))) : _cvtsh_ss(h)) * x[c];
            }
            y[i * ldy + r] = acc ? y[i * ldy + r] + v : v;
        }
    }
}

INL __m256i srl16(__m256i v, int n) { return _mm256_srl_epi16(v, _mm_cvtsi32_si128(n)); }

/* Q4_K / Q5_K: the exact S and M of the portable path (a pair of sub-blocks
 * shares 32 code bytes: low nibbles the first, high the second), combined in
 * the portable row's float order (Q4_K with rows % 8 == 0: ggml's repacked
 * order, kern_ggml_exact.h), hence its bytes. */
TGT void tq_kern_k45_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    const int q5 = k->kind == TQ_KW_Q5_K;
    const int64_t nb = k->cols / 256, bs = q5 ? 176 : 144;
    const __m256i m15 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
    const int rep = !q5 && k->rows % 8 == 0;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *w = k->codes + r * k->row_bytes;
        for (int64_t i = 0; i < a->n; i++) {
            const int8_t *xq = a->q + i * a->kpad;
            float sum = 0.0f, msum = 0.0f;
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *p = w + b * bs, *qs = p + (q5 ? 48 : 16);
                const int8_t *xb = xq + b * 256;
                __m256i vs = _mm256_setzero_si256(), vm = _mm256_setzero_si256();
                __m256i hb = q5 ? _mm256_loadu_si256((const __m256i *)(p + 16)) : _mm256_setzero_si256();
                for (int jj = 0; jj < 4; jj++) {
                    __m256i raw = _mm256_loadu_si256((const __m256i *)(qs + 32 * jj));
                    __m256i u0 = _mm256_and_si256(raw, m15), u1 = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m15);
                    if (q5) {
                        u0 = _mm256_or_si256(u0, _mm256_slli_epi16(_mm256_and_si256(srl16(hb, 2 * jj), one), 4));
                        u1 = _mm256_or_si256(u1, _mm256_slli_epi16(_mm256_and_si256(srl16(hb, 2 * jj + 1), one), 4));
                    }
                    __m256i x0 = _mm256_loadu_si256((const __m256i *)(xb + 64 * jj));
                    __m256i x1 = _mm256_loadu_si256((const __m256i *)(xb + 64 * jj + 32));
                    uint8_t sc0, m0, sc1, m1;
                    tq_ggml_k4_scale_min(2 * jj, p + 4, &sc0, &m0);
                    tq_ggml_k4_scale_min(2 * jj + 1, p + 4, &sc1, &m1);
                    vs = _mm256_add_epi32(vs, _mm256_mullo_epi32(dot_u4(u0, x0), _mm256_set1_epi32(sc0)));
                    vs = _mm256_add_epi32(vs, _mm256_mullo_epi32(dot_u4(u1, x1), _mm256_set1_epi32(sc1)));
                    vm = _mm256_add_epi32(vm, _mm256_mullo_epi32(dot_u4(one, x0), _mm256_set1_epi32(m0)));
                    vm = _mm256_add_epi32(vm, _mm256_mullo_epi32(dot_u4(one, x1), _mm256_set1_epi32(m1)));
                }
                float dx = a->d[i * a->nb + b];
                if (rep) {
                    sum = fmaf((float)hsum_i32(vs), f16(p) * dx, sum);
                    msum = fmaf((float)hsum_i32(vm), f16(p + 2) * dx, msum);
                } else
                    sum += tq_kern_kq(hsum_i32(vs), hsum_i32(vm), f16(p), f16(p + 2), dx);
            }
            sum -= msum;
            y[i * ldy + r] = acc ? y[i * ldy + r] + sum : sum;
        }
    }
}

/* Q6_K: u = low nibble | 2 high bits << 4 (at most 63, so u x pairs stay
 * below 2^15) times the sub-block's scale per 4-lane half, in ggml's lanes
 * (kern_ggml_exact.h): lane k less 32 times the scaled code sum of chunk k,
 * then float lanes by FMA and ggml's horizontal sum. */
TGT void tq_kern_q6_k_avx2(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    const int64_t nb = k->cols / 256;
    const __m256i m15 = _mm256_set1_epi8(15), m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *w = k->codes + r * k->row_bytes;
        for (int64_t i = 0; i < a->n; i++) {
            const int8_t *xq = a->q + i * a->kpad;
            __m256 lanes = _mm256_setzero_ps();
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *p = w + b * 210;
                const int8_t *sc = (const int8_t *)(p + 192), *xb = xq + b * 256;
                __m256i vs = _mm256_setzero_si256();
                int32_t corr[8];
                for (int h = 0; h < 2; h++) {
                    __m256i l0 = _mm256_loadu_si256((const __m256i *)(p + 64 * h));
                    __m256i l1 = _mm256_loadu_si256((const __m256i *)(p + 64 * h + 32));
                    __m256i hb = _mm256_loadu_si256((const __m256i *)(p + 128 + 32 * h));
                    for (int t = 0; t < 4; t++) {
                        __m256i lo = t & 1 ? l1 : l0;
                        lo = _mm256_and_si256(t & 2 ? _mm256_srli_epi16(lo, 4) : lo, m15);
                        __m256i u = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(srl16(hb, 2 * t), m3), 4));
                        __m256i x = _mm256_loadu_si256((const __m256i *)(xb + 128 * h + 32 * t));
                        int s0 = sc[8 * h + 2 * t], s1 = sc[8 * h + 2 * t + 1];
                        __m256i vsc = _mm256_set_epi32(s1, s1, s1, s1, s0, s0, s0, s0);
                        vs = _mm256_add_epi32(vs, _mm256_mullo_epi32(dot_u4(u, x), vsc));
                        corr[4 * h + t] = 32 * hsum_i32(_mm256_mullo_epi32(dot_u4(one, x), vsc));
                    }
                }
                vs = _mm256_sub_epi32(vs, _mm256_loadu_si256((const __m256i *)corr));
                float d = a->d[i * a->nb + b] * f16(p + 208);
                lanes = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(vs), lanes);
            }
            /* ggml's hsum_float_8: upper half + lower, then pairs, then the two */
            __m128 h4 = _mm_add_ps(_mm256_extractf128_ps(lanes, 1), _mm256_castps256_ps128(lanes));
            h4 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4));
            h4 = _mm_add_ss(h4, _mm_movehdup_ps(h4));
            float sum = _mm_cvtss_f32(h4);
            y[i * ldy + r] = acc ? y[i * ldy + r] + sum : sum;
        }
    }
}
#endif
