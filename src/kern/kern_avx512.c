/*
 * kern_avx512.c — AVX-512 VNNI kernels (target attributes; kern.c runs them
 * only where the CPU has AVX-512 F/BW/VL and VNNI).
 *
 * I8: vpdpbusd multiplies unsigned by signed bytes, so activations enter as
 * q + 128 and the product loses 128 * (sum of the row's codes in the group),
 * precomputed when the matrix is packed: the exact int32 sums of the
 * portable path, hence its bytes.
 */
#include "kern/kern_impl.h"
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define INL TGT static inline __attribute__((always_inline))
#define MT 8   /* activation rows per tile */

INL int32_t ld32(const void *p) { int32_t v; memcpy(&v, p, 4); return v; }

INL void i8_tile(const tq_kmat *k, const tq_kact *a, int64_t b, int64_t i0, const int M, float out[][TQ_KROWS]) {
    const int8_t *wp = k->packed + b * k->k4 * 64;
    __m512 f[MT];
    for (int j = 0; j < M; j++) f[j] = _mm512_setzero_ps();
    for (int64_t g = 0; g < k->ngroups; g++) {
        int64_t k0, k1;
        tq_kern_group_k4(k, g, &k0, &k1);
        __m512i s[MT];
        for (int j = 0; j < M; j++) s[j] = _mm512_setzero_si512();
        for (int64_t kk = k0; kk < k1; kk++) {
            __m512i w = _mm512_load_si512((const void *)(wp + kk * 64));
            for (int j = 0; j < M; j++)
                s[j] = _mm512_dpbusd_epi32(s[j], _mm512_set1_epi32(ld32(a->qa + (i0 + j) * a->kpad + 4 * kk)), w);
        }
        const int64_t o = (b * k->ngroups + g) * TQ_KROWS;
        __m512 c = _mm512_loadu_ps(k->pscale + o);
        __m512i off = _mm512_slli_epi32(_mm512_loadu_si512((const void *)(k->psum + o)), 7);
        for (int j = 0; j < M; j++) {
            __m512 d = _mm512_cvtepi32_ps(_mm512_sub_epi32(s[j], off));
            f[j] = _mm512_add_ps(f[j], _mm512_mul_ps(d, _mm512_mul_ps(_mm512_set1_ps(a->d[i0 + j]), c)));
        }
    }
    for (int j = 0; j < M; j++) _mm512_storeu_ps(out[j], f[j]);
}

TGT void tq_kern_i8_avx512(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    if (k->ngroups == 1) {   /* one scale per row or tensor: the register-tiled product */
        tq_gemm_i8_avx512(k, a, r0, r1, y, ldy, acc);
        return;
    }
    float out[MT][TQ_KROWS];
    for (int64_t i0 = 0; i0 < a->n; i0 += MT) {
        int M = a->n - i0 < MT ? (int)(a->n - i0) : MT;
        for (int64_t b = r0 / TQ_KROWS; b * TQ_KROWS < r1; b++) {
            switch (M) {
            case 8: i8_tile(k, a, b, i0, 8, out); break;
            case 7: i8_tile(k, a, b, i0, 7, out); break;
            case 6: i8_tile(k, a, b, i0, 6, out); break;
            case 5: i8_tile(k, a, b, i0, 5, out); break;
            case 4: i8_tile(k, a, b, i0, 4, out); break;
            case 3: i8_tile(k, a, b, i0, 3, out); break;
            case 2: i8_tile(k, a, b, i0, 2, out); break;
            default: i8_tile(k, a, b, i0, 1, out); break;
            }
            int64_t lo = b * TQ_KROWS > r0 ? b * TQ_KROWS : r0, hi = (b + 1) * TQ_KROWS < r1 ? (b + 1) * TQ_KROWS : r1;
            for (int j = 0; j < M; j++) {
                float *yr = y + (i0 + j) * ldy;
                for (int64_t r = lo; r < hi; r++) yr[r] = acc ? yr[r] + out[j][r - b * TQ_KROWS] : out[j][r - b * TQ_KROWS];
            }
        }
    }
}
/* ---- ggml Q8_0 / Q4_0 ----------------------------------------------------
 * ggml's x86 dot, lane for lane (docs/kernels.md, "The ggml accumulation"):
 * per output 8 float lanes, lane k gets, block after block,
 * acc_k = fma((float)s_k, d_w d_x, acc_k) with s_k the int32 sum of the
 * block's products 4k..4k+3, then ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)).
 * A 512-bit register holds two rows' 8 lanes (row 2p low, 2p+1 high), so a
 * step multiplies one block of 2P rows; lanes never mix blocks or rows, so
 * a row's bytes do not depend on its neighbours, the split or the batch.
 * vpdpbusd wants one unsigned operand: the weights enter as unsigned codes
 * u (Q8_0: w + 128, by xor 0x80; Q4_0: the nibble, w = u - 8) and each
 * lane starts from -off * (sum of its 4 activation codes), off = 128 or 8,
 * made by the same instruction from -x: s_k exactly. The rows of a step are
 * adjacent in memory (one stream), read in the file's layout (no copy). */
#define TGQ __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define INQ TGQ static inline __attribute__((always_inline))
#define GQ_MT 4   /* activation rows per batch step        */
#define GQ_PB 4   /* row pairs per batch step (8 rows)      */
#define GQ_P1 4   /* row pairs per step at n = 1 (8 rows)   */
/* Prefetch: the step's share of the next step's rows, GQ_PFD bytes further
 * on (a step reads its 2P rows as one stream; without it the next rows come
 * late from DRAM: 49152 x 576 Q8_0 at n = 1 ran at a fifth of the speed;
 * 2048 beat 0 and 4096 in bench_kern at 49152 x 576 and 65536 x 1536). */
#define GQ_PFD 2048

INQ uint16_t ld16(const uint8_t *p) { uint16_t h; memcpy(&h, p, 2); return h; }

/* Rows a and b's 32 codes of one block (after the scale) as unsigned bytes. */
INQ __m512i gq_pair(const uint8_t *pa, const uint8_t *pb, const int q4) {
    if (!q4) {
        __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)pa)),
                                       _mm256_loadu_si256((const __m256i *)pb), 1);
        return _mm512_xor_si512(z, _mm512_set1_epi8((char)0x80));
    }
    __m256i t = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)pa)),
                                        _mm_loadu_si128((const __m128i *)pb), 1);
    __m512i z = _mm512_permutexvar_epi64(_mm512_set_epi64(3, 2, 3, 2, 1, 0, 1, 0), _mm512_castsi256_si512(t));
    z = _mm512_mask_srli_epi16(z, 0xFF00FF00u, z, 4);   /* 128-bit lanes 1, 3: the high nibbles */
    return _mm512_and_si512(z, _mm512_set1_epi8(15));
}

/* The two rows' sums in ggml's order: lane 0 of each 256-bit half. */
INQ void gq_hsum2(__m512 v, float *lo, float *hi) {
    v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));   /* a_i + a_{i+4} */
    v = _mm512_add_ps(v, _mm512_permute_ps(v, 0x4E));                           /* + a_{i+2}     */
    v = _mm512_add_ps(v, _mm512_permute_ps(v, 0xB1));                           /* + the odd one */
    *lo = _mm512_cvtss_f32(v);
    *hi = _mm_cvtss_f32(_mm512_extractf32x4_ps(v, 2));
}

/* 2P rows (pointers rp, duplicates allowed) x M activation rows from i0:
 * out[j * 2P + t] is row t's product with activation row j. */
INQ void gq_tile(const uint8_t *const *rp, int64_t rstep, int64_t nb, const int bytes, const int q4,
                 const tq_kact *a, int64_t i0, const int M, const int P, float *out) {
    __m512 s[GQ_MT * GQ_P1];
    for (int i = 0; i < M * P; i++) s[i] = _mm512_setzero_ps();
    const __m512i off = _mm512_set1_epi8(q4 ? 8 : (char)0x80);
    const __m512i zero = _mm512_setzero_si512();
    const __m512i sidx[4] = {_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                             _mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2),
                             _mm512_set_epi32(5, 5, 5, 5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 4, 4, 4),
                             _mm512_set_epi32(7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6, 6, 6)};
    const uint8_t *pf = rp[0] + rstep;
    for (int64_t b = 0; b < nb; b++) {
        const int64_t o = b * bytes;
        for (int l = 0; l < 2 * P * bytes; l += 64) _mm_prefetch((const char *)(pf + 2 * P * o + l + GQ_PFD), _MM_HINT_T0);
        __m128i h = _mm_setzero_si128();
        h = _mm_insert_epi16(h, ld16(rp[0] + o), 0);
        h = _mm_insert_epi16(h, ld16(rp[1] + o), 1);
        if (P > 1) {
            h = _mm_insert_epi16(h, ld16(rp[2] + o), 2);
            h = _mm_insert_epi16(h, ld16(rp[3] + o), 3);
        }
        if (P > 2) {
            h = _mm_insert_epi16(h, ld16(rp[4] + o), 4);
            h = _mm_insert_epi16(h, ld16(rp[5] + o), 5);
            h = _mm_insert_epi16(h, ld16(rp[6] + o), 6);
            h = _mm_insert_epi16(h, ld16(rp[7] + o), 7);
        }
        const __m512 dw = _mm512_castps256_ps512(_mm256_cvtph_ps(h));
        __m512 sc[GQ_P1];
        __m512i w[GQ_P1];
        for (int p = 0; p < P; p++) {
            sc[p] = _mm512_permutexvar_ps(sidx[p], dw);
            w[p] = gq_pair(rp[2 * p] + o + 2, rp[2 * p + 1] + o + 2, q4);
        }
        for (int j = 0; j < M; j++) {
            const __m512i x = _mm512_broadcast_i64x4(_mm256_load_si256((const __m256i *)(a->q + (i0 + j) * a->kpad + b * 32)));
            const __m512i c = _mm512_dpbusd_epi32(zero, off, _mm512_sub_epi8(zero, x));
            const __m512 dx = _mm512_set1_ps(a->d[(i0 + j) * a->nb + b]);
            for (int p = 0; p < P; p++) {
                __m512 f = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(c, w[p], x));
                s[j * P + p] = _mm512_fmadd_ps(f, _mm512_mul_ps(sc[p], dx), s[j * P + p]);
            }
        }
    }
    for (int j = 0; j < M; j++)
        for (int p = 0; p < P; p++) gq_hsum2(s[j * P + p], &out[j * 2 * P + 2 * p], &out[j * 2 * P + 2 * p + 1]);
}

/* ggml's "repacked" order (its Q4_0x8 layout, which llama.cpp's CPU
 * backend uses for Q4_0 matrices of a multiple of 8 rows, gemv and gemm
 * alike): one float per row, acc = fma((float)S_b, d_w d_x, acc) block
 * after block, S_b the exact int32 sum of the block. The 8 rows' lane sums
 * are folded to their 8 block sums in integers (exact, any order), then one
 * 8-wide FMA. */
INQ __m256i gq_sum8(__m512i z0, __m512i z1, __m512i z2, __m512i z3) {
    __m512i s01 = _mm512_add_epi32(_mm512_unpacklo_epi32(z0, z1), _mm512_unpackhi_epi32(z0, z1));
    __m512i s23 = _mm512_add_epi32(_mm512_unpacklo_epi32(z2, z3), _mm512_unpackhi_epi32(z2, z3));
    __m512i v = _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23), _mm512_unpackhi_epi64(s01, s23));
    v = _mm512_add_epi32(v, _mm512_shuffle_i32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));   /* [r0 r2 r4 r6 . r1 r3 r5 r7 .] */
    return _mm512_castsi512_si256(_mm512_permutexvar_epi32(_mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 11, 3, 10, 2, 9, 1, 8, 0), v));
}

INQ void gq_tile_rep(const uint8_t *const *rp, int64_t rstep, int64_t nb, const tq_kact *a, int64_t i0, const int M,
                     float *out) {
    __m256 s[GQ_MT];
    for (int j = 0; j < M; j++) s[j] = _mm256_setzero_ps();
    const __m512i off = _mm512_set1_epi8(8), zero = _mm512_setzero_si512();
    const uint8_t *pf = rp[0] + rstep;
    for (int64_t b = 0; b < nb; b++) {
        const int64_t o = b * 18;
        for (int l = 0; l < 8 * 18; l += 64) _mm_prefetch((const char *)(pf + 8 * o + l + GQ_PFD), _MM_HINT_T0);
        __m128i h = _mm_setzero_si128();
        h = _mm_insert_epi16(h, ld16(rp[0] + o), 0);
        h = _mm_insert_epi16(h, ld16(rp[1] + o), 1);
        h = _mm_insert_epi16(h, ld16(rp[2] + o), 2);
        h = _mm_insert_epi16(h, ld16(rp[3] + o), 3);
        h = _mm_insert_epi16(h, ld16(rp[4] + o), 4);
        h = _mm_insert_epi16(h, ld16(rp[5] + o), 5);
        h = _mm_insert_epi16(h, ld16(rp[6] + o), 6);
        h = _mm_insert_epi16(h, ld16(rp[7] + o), 7);
        const __m256 dw = _mm256_cvtph_ps(h);
        __m512i w[4];
        for (int p = 0; p < 4; p++) w[p] = gq_pair(rp[2 * p] + o + 2, rp[2 * p + 1] + o + 2, 1);
        for (int j = 0; j < M; j++) {
            const __m512i x = _mm512_broadcast_i64x4(_mm256_load_si256((const __m256i *)(a->q + (i0 + j) * a->kpad + b * 32)));
            const __m512i c = _mm512_dpbusd_epi32(zero, off, _mm512_sub_epi8(zero, x));
            __m256i S = gq_sum8(_mm512_dpbusd_epi32(c, w[0], x), _mm512_dpbusd_epi32(c, w[1], x),
                                _mm512_dpbusd_epi32(c, w[2], x), _mm512_dpbusd_epi32(c, w[3], x));
            s[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(S), _mm256_mul_ps(dw, _mm256_set1_ps(a->d[(i0 + j) * a->nb + b])), s[j]);
        }
    }
    for (int j = 0; j < M; j++) _mm256_storeu_ps(out + j * 8, s[j]);
}

/* Rows [r0, r1) against every activation row: steps of 2P rows (the last
 * one's missing rows repeat its last row and are not stored). */
INQ void gq_rows(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc,
                 const int bytes, const int q4) {
    const int64_t nb = k->cols / 32;
    const int rep = q4 && k->rows % 8 == 0;   /* ggml's order for the matrix (kern_ggml_exact.h) */
    const int P = rep || a->n == 1 ? GQ_P1 : GQ_PB, R = 2 * P;
    float out[GQ_MT * 2 * GQ_P1];
    const uint8_t *rp[2 * GQ_P1];
    for (int64_t r = r0; r < r1; r += R) {
        for (int t = 0; t < R; t++) rp[t] = k->codes + (r + t < r1 ? r + t : r1 - 1) * k->row_bytes;
        for (int64_t i0 = 0; i0 < a->n; i0 += GQ_MT) {
            int M = a->n - i0 < GQ_MT ? (int)(a->n - i0) : GQ_MT;
            if (rep) switch (M) {
                case 4: gq_tile_rep(rp, R * k->row_bytes, nb, a, i0, 4, out); break;
                case 3: gq_tile_rep(rp, R * k->row_bytes, nb, a, i0, 3, out); break;
                case 2: gq_tile_rep(rp, R * k->row_bytes, nb, a, i0, 2, out); break;
                default: gq_tile_rep(rp, R * k->row_bytes, nb, a, i0, 1, out); break;
                }
            else if (a->n == 1) gq_tile(rp, R * k->row_bytes, nb, bytes, q4, a, i0, 1, GQ_P1, out);
            else switch (M) {
                case 4: gq_tile(rp, R * k->row_bytes, nb, bytes, q4, a, i0, 4, GQ_PB, out); break;
                case 3: gq_tile(rp, R * k->row_bytes, nb, bytes, q4, a, i0, 3, GQ_PB, out); break;
                case 2: gq_tile(rp, R * k->row_bytes, nb, bytes, q4, a, i0, 2, GQ_PB, out); break;
                default: gq_tile(rp, R * k->row_bytes, nb, bytes, q4, a, i0, 1, GQ_PB, out); break;
                }
            for (int j = 0; j < M; j++)
                for (int t = 0; t < R && r + t < r1; t++) {
                    float *yr = y + (i0 + j) * ldy + r + t;
                    *yr = acc ? *yr + out[j * R + t] : out[j * R + t];
                }
        }
    }
}

TGQ void tq_kern_q8_0_avx512(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    gq_rows(k, a, r0, r1, y, ldy, acc, 34, 0);
}

TGQ void tq_kern_q4_0_avx512(const tq_kmat *k, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy, int acc) {
    gq_rows(k, a, r0, r1, y, ldy, acc, 18, 1);
}
#endif
