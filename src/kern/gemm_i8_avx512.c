/*
 * gemm_i8_avx512.c — the I8 matrix x matrix product (many activation rows:
 * encoders, prompts) by AVX-512 VNNI, for matrices with one scale per row or
 * per tensor (one group along a row). kern_avx512.c's row runs it for those;
 * grouped scales keep the per-tile kernel there.
 *
 * Register tiling: a micro-kernel holds MR = 4 activation rows x up to 64
 * output rows (four packed 16-row blocks, kern_types.h) in 16 int32
 * accumulators. Each step of 4 columns loads four weight vectors and
 * broadcasts four activation words, then runs 16 vpdpbusd: each weight byte
 * loaded serves four tokens, each activation word 64 outputs. Activations
 * enter as q + 128 (kern.c quantized them once for the whole product); the
 * product loses 128 x the row's code sum, precomputed at packing.
 *
 * Cache blocking: the column range [r0, r1) is walked in panels of 64 output
 * rows; within a panel, tokens in blocks of IB rows (their activations stay
 * in L1/L2 while the panel's weights stream once per block of MR tokens from
 * L2). The sums are exact int32 (no overflow below 132,000 columns), the
 * float steps are the portable path's, in its order:
 *   y = (acc ? y + : ) (0 + (float)(S - 128 sum w) * (d_x * s_w)),
 * so the bytes are the portable path's for any split and any thread count.
 * Each micro-kernel prefetches its output lines before its K loop.
 *
 * Weight prefetch: the encoder's weights (~43 MB for DistilBERT) do not stay
 * in L3 between passes, and at one sequence a panel's weights serve few
 * tokens, so its first micro-kernels waited on DRAM (cold panels ran ~160
 * GMAC/s against ~200 hot, 2026-12-08). While the first token block walks a
 * panel, its micro-kernels share out the lines of the next panel (the
 * matrix's, past r1 too: most often the next task's at one thread), one
 * line every second K step each, so that panel arrives while this one
 * computes; the last token block's last panel fetches the one after r1.
 * Prefetches change no arithmetic: the bytes are the same.
 */
#include "kern/kern_impl.h"
#include "kern/gemm_i8_avx512.h"
#include "kern/gemm_i8_amx.h"

int tq_gemm_i8_avx512_bias_ok(const tq_kmat *k) {
    return k->fn && k->kind == TQ_KW_I8 && k->isa == TQ_KISA_AVX512 && k->ngroups == 1;
}
#if defined(__x86_64__)
#include "kern/gemm_i8_epi.h"
#include <immintrin.h>
#include <float.h>
#include <string.h>

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define INL TGT static inline __attribute__((always_inline))
#define MR 4
#define NBMAX 4     /* 16-row blocks per panel */
#define IB 64       /* tokens per cache block  */

/* Rows i0 .. i0 + M of the activations against blocks b0 .. b0 + NB. */
/* The outputs of rows [lo, hi) written to y. pf: pfn lines (64 bytes) of
 * weights to prefetch, one every second K step (pfn <= k4 / 2 taken). */
INL void mk(const tq_kmat *k, const tq_kact *a, int64_t i0, int64_t b0, const int M, const int NB, int64_t lo,
            int64_t hi, float *y, int64_t ldy, int acc, const float *bias, const int8_t *pf, int64_t pfn) {
    const int64_t k4 = k->k4, bs = k4 * 64;
    const int8_t *wp = k->packed + b0 * bs;
    const uint8_t *xp = a->qa + i0 * a->kpad;
    const int64_t kp = a->kpad;
    /* the output lines this call writes (and with acc reads) at its end,
     * asked for now: the K loop hides their misses (the encoder's output
     * tiles, [tokens, 3 dim or hidden], are mostly not in cache; without
     * this the stores and acc loads waited on them) */
    for (int j = 0; j < M; j++)
        for (int p = 0; p < NB; p++) __builtin_prefetch(y + (i0 + j) * ldy + (b0 + p) * TQ_KROWS, 1, 3);
    __m512i s00 = _mm512_setzero_si512(), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00,
            s20 = s00, s21 = s00, s22 = s00, s23 = s00, s30 = s00, s31 = s00, s32 = s00, s33 = s00;
    for (int64_t kk = 0; kk < k4; kk++) {
        const int8_t *w = wp + kk * 64;
        if (!(kk & 1) && (kk >> 1) < pfn) _mm_prefetch((const char *)(pf + (kk >> 1) * 64), _MM_HINT_T0);
        __m512i w0 = _mm512_load_si512((const void *)w), w1 = w0, w2 = w0, w3 = w0;
        if (NB > 1) w1 = _mm512_load_si512((const void *)(w + bs));
        if (NB > 2) w2 = _mm512_load_si512((const void *)(w + 2 * bs));
        if (NB > 3) w3 = _mm512_load_si512((const void *)(w + 3 * bs));
#define ROW(j, sa, sb, sc, sd)                                                                                         \
    if (M > j) {                                                                                                       \
        __m512i x = _mm512_set1_epi32(tq_kern_ld32(xp + j * kp + 4 * kk));                                            \
        sa = _mm512_dpbusd_epi32(sa, x, w0);                                                                           \
        if (NB > 1) sb = _mm512_dpbusd_epi32(sb, x, w1);                                                               \
        if (NB > 2) sc = _mm512_dpbusd_epi32(sc, x, w2);                                                               \
        if (NB > 3) sd = _mm512_dpbusd_epi32(sd, x, w3);                                                               \
    }
        ROW(0, s00, s01, s02, s03)
        ROW(1, s10, s11, s12, s13)
        ROW(2, s20, s21, s22, s23)
        ROW(3, s30, s31, s32, s33)
#undef ROW
    }
    __m512i S[MR][NBMAX] = {{s00, s01, s02, s03}, {s10, s11, s12, s13}, {s20, s21, s22, s23}, {s30, s31, s32, s33}};
    for (int p = 0; p < NB; p++) {
        const int64_t base = (b0 + p) * TQ_KROWS;   /* one group: [block][KROWS] */
        tq_i8_epi e;
        if (!tq_i8_epi_begin(&e, k, base, lo, hi, bias)) continue;
        for (int j = 0; j < M; j++) tq_i8_epi_store(&e, S[j][p], a->d[i0 + j], y + (i0 + j) * ldy + base, acc, bias);
    }
}

#define NBCASE(M, nb)                                                                                                  \
    switch (nb) {                                                                                                      \
    case 4: mk(k, a, i, b0, M, 4, r0, r1, y, ldy, acc, bias, pf, per); break;                                          \
    case 3: mk(k, a, i, b0, M, 3, r0, r1, y, ldy, acc, bias, pf, per); break;                                          \
    case 2: mk(k, a, i, b0, M, 2, r0, r1, y, ldy, acc, bias, pf, per); break;                                          \
    default: mk(k, a, i, b0, M, 1, r0, r1, y, ldy, acc, bias, pf, per); break;                                         \
    }

TGT void tq_gemm_i8_vnni_bias(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy,
                              int acc, const float *bias) {
    const int64_t bfirst = r0 / TQ_KROWS, bend = (r1 + TQ_KROWS - 1) / TQ_KROWS;
    const int64_t nblk = (k->rows + TQ_KROWS - 1) / TQ_KROWS, bs = k->k4 * 64;
    for (int64_t ib = 0; ib < a->n; ib += IB) {
        int64_t ie = ib + IB < a->n ? ib + IB : a->n, nmk = (ie - ib + MR - 1) / MR;
        for (int64_t b0 = bfirst; b0 < bend; b0 += NBMAX) {
            int nb = bend - b0 < NBMAX ? (int)(bend - b0) : NBMAX;
            /* the panel to prefetch (header): the next one in the first
             * token block, the one after r1 at the last block's end */
            int64_t p0 = b0 + nb, p1 = p0 + NBMAX < nblk ? p0 + NBMAX : nblk;
            if (ib > 0 && !(ie == a->n && p0 >= bend)) p1 = p0;
            int64_t per = p1 > p0 ? ((p1 - p0) * bs / 64 + nmk - 1) / nmk : 0;
            const int8_t *pf = k->packed + p0 * bs;
            int64_t i = ib;
            for (; i + MR <= ie; i += MR, pf += per * 64) NBCASE(4, nb)
            switch (ie - i) {
            case 3: NBCASE(3, nb) break;
            case 2: NBCASE(2, nb) break;
            case 1: NBCASE(1, nb) break;
            default: break;
            }
        }
    }
}

/* AMX for TQ_AMX_MIN_N tokens or more and 64 columns or more, where k was
 * prepared with it on (k->amx) */
void tq_gemm_i8_avx512_bias(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc,
                            const float *bias) {
    if (k->amx && a->n >= TQ_AMX_MIN_N && k->k4 >= 16) tq_gemm_i8_amx_bias(k, a, r0, r1, y, ldy, acc, bias);
    else tq_gemm_i8_vnni_bias(k, a, r0, r1, y, ldy, acc, bias);
}

TGT void tq_gemm_i8_avx512(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    tq_gemm_i8_avx512_bias(k, a, r0, r1, y, ldy, acc, NULL);
}

/* One activation row into int8 codes with one scale for the row: kern.c's
 * quantize_row (ACT_ROW) step for step in 16 lanes, so the same codes and
 * scale: max of |x| as integer bits, d = max / 127, q = rne(x * (1 / d)) by
 * adding and taking away 1.5 * 2^23, clamped to [-127, 127], NaN to 0; qa
 * is q + 128 (offset) or |q|; columns [cols, kpad) zero (qa 128 or 0). */
TGT void tq_kern_quant_row_avx512(const float *x, int64_t cols, int64_t kpad, int8_t *q, uint8_t *qa, float *d,
                                  int offset) {
    const __m512i absm = _mm512_set1_epi32(0x7fffffff);
    __m512i mb = _mm512_setzero_si512();
    int64_t c = 0;
    for (; c + 16 <= cols; c += 16)
        mb = _mm512_max_epu32(mb, _mm512_and_si512(_mm512_loadu_si512((const void *)(x + c)), absm));
    if (c < cols) {
        __mmask16 m = (__mmask16)((1u << (cols - c)) - 1u);
        mb = _mm512_max_epu32(mb, _mm512_and_si512(_mm512_maskz_loadu_epi32(m, x + c), absm));
    }
    tq_kern_quant_row_max_avx512(x, cols, kpad, q, qa, d, offset, (uint32_t)_mm512_reduce_max_epu32(mb));
}

/* The scaling pass of tq_kern_quant_row_avx512, the row's max |x| bits
 * given (kern_impl.h); q NULL: only qa written. */
TGT void tq_kern_quant_row_max_avx512(const float *x, int64_t cols, int64_t kpad, int8_t *q, uint8_t *qa, float *d,
                                      int offset, uint32_t bits) {
    int64_t c;
    float amax;
    memcpy(&amax, &bits, 4);
    float s = amax / 127.0f, inv = s > 0.0f ? 1.0f / s : 0.0f;
    *d = s;
    const __m512 vi = _mm512_set1_ps(inv), mg = _mm512_set1_ps(12582912.0f), hi = _mm512_set1_ps(127.0f),
                 lo = _mm512_set1_ps(-127.0f);
    const __m512i flip = _mm512_set1_epi8(offset ? (char)0x80 : 0);
    /* 64 columns a step (kpad is a multiple of 64): four vectors of codes,
     * already in [-127, 127] so the saturating packs keep them as they are,
     * packed to bytes and put back in column order (the packs interleave
     * 4-byte groups of the four vectors per 128-bit lane), one 64-byte
     * store each for q and qa */
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    if (s >= FLT_MIN && s <= FLT_MAX) {
        /* s normal: every |x| <= amax, and 1 / s is within 2 ulps of
         * 127 / amax, so |x * inv| <= 127.0001 and no x is NaN or inf (amax
         * would be): the clamp changes nothing and rne(x * inv) is the
         * conversion's own rounding (round to nearest even), the same codes
         * in three operations a vector */
        for (c = 0; c < kpad; c += 64) {
            __m512i w[4];
            for (int u = 0; u < 4; u++) {
                int64_t left = cols - c - 16 * u;
                __mmask16 m = left >= 16 ? (__mmask16)0xffff : left > 0 ? (__mmask16)((1u << left) - 1u) : 0;
                w[u] = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + c + 16 * u), vi));
            }
            __m512i b = _mm512_packs_epi16(_mm512_packs_epi32(w[0], w[1]), _mm512_packs_epi32(w[2], w[3]));
            b = _mm512_permutexvar_epi32(order, b);
            if (q) _mm512_storeu_si512((void *)(q + c), b);
            _mm512_storeu_si512((void *)(qa + c), offset ? _mm512_xor_si512(b, flip) : _mm512_abs_epi8(b));
        }
        return;
    }
    for (c = 0; c < kpad; c += 64) {
        __m512i w[4];
        for (int u = 0; u < 4; u++) {
            int64_t left = cols - c - 16 * u;
            __mmask16 m = left >= 16 ? (__mmask16)0xffff : left > 0 ? (__mmask16)((1u << left) - 1u) : 0;
            __m512 v = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + c + 16 * u), vi), mg), mg);
            __mmask16 ord = _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q);
            v = _mm512_maskz_mov_ps(ord, _mm512_max_ps(_mm512_min_ps(v, hi), lo));
            w[u] = _mm512_cvtps_epi32(v);
        }
        __m512i b = _mm512_packs_epi16(_mm512_packs_epi32(w[0], w[1]), _mm512_packs_epi32(w[2], w[3]));
        b = _mm512_permutexvar_epi32(order, b);
        if (q) _mm512_storeu_si512((void *)(q + c), b);
        _mm512_storeu_si512((void *)(qa + c), offset ? _mm512_xor_si512(b, flip) : _mm512_abs_epi8(b));
    }
}
#else
void tq_gemm_i8_vnni_bias(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc,
                          const float *bias) {
    (void)k; (void)a; (void)r0; (void)r1; (void)y; (void)ldy; (void)acc; (void)bias;   /* never: _ok is 0 */
}
void tq_gemm_i8_avx512_bias(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc,
                            const float *bias) {
    (void)k; (void)a; (void)r0; (void)r1; (void)y; (void)ldy; (void)acc; (void)bias;   /* never: _ok is 0 */
}
#endif
