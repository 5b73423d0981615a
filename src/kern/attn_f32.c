/*
 * attn_f32.c — one attention head's q k^T and p v in float32 (attn_f32.h):
 * a portable C reference (fmaf chains) and AVX-512 and AVX2 paths giving its
 * bytes.
 *
 * Both products have one form, C[i, n] = chain over c of A[i, c] B[c, n]
 * (attn_f32.h), with B read as vectors of 16 consecutive n:
 *   q k^T   A = q (rows at ld), B = k^T packed once per head into scratch as
 *           [S16 / 16][hs][16] (16 keys side by side per head dimension,
 *           zeros past S), by 16 x 16 register transposes;
 *   p v     A = p (rows of S), B = v's rows as they are (hs floats at ld),
 *           the last vector of a row masked to hs.
 * A micro-kernel holds MR rows x NB vectors in MR * NB <= 24 accumulators
 * (NB 4: MR 6, NB 3: 8, NB 2: 12, NB 1: 8), so two FMA ports at four cycles'
 * latency have chains enough: per column NB vector loads, MR broadcasts,
 * MR * NB FMAs. Outputs go in panels of up to 4 vectors (64 columns: all of
 * a head of 64, two panels of a 128-token row of scores) and blocks of MR
 * rows, the last ones smaller. Each output is one chain over c in order from
 * +0, so neither the tiling nor the ISA moves a byte. The AVX-512 path
 * fetches ahead what the caller names (tq_attn_f32_scores_ahead) and p v's
 * output lines; prefetches only, so the bytes stay those of the chain.
 */
#include "kern/attn_f32.h"
#include "kern/kern.h"
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static int64_t up16(int64_t n) { return (n + 15) / 16 * 16; }

size_t tq_attn_f32_scratch(int S, int hs) {
    return S < 1 || hs < 1 ? 0 : sizeof(float) * (size_t)up16(S) * (size_t)hs;
}

tq_kisa tq_attn_f32_isa(tq_kisa isa) {
#if defined(__x86_64__)
    if (isa == TQ_KISA_AVX512 && tq_kern_isa_supported(TQ_KISA_AVX512)) return TQ_KISA_AVX512;
    if ((isa == TQ_KISA_AVX512 || isa == TQ_KISA_AVX2) && tq_kern_isa_supported(TQ_KISA_AVX2)) return TQ_KISA_AVX2;
#endif
    (void)isa;
    return TQ_KISA_PORTABLE;
}

/* ---- the portable reference -------------------------------------------------- */

static void scores_ref(const float *q, const float *k, int64_t ld, int S, int hs, float *sc) {
    for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++) {
            float a = 0.0f;
            for (int d = 0; d < hs; d++) a = fmaf(q[i * ld + d], k[j * ld + d], a);
            sc[(int64_t)i * S + j] = a;
        }
}

/* row i's chains side by side in ctx's row (each still over j in order) */
static void context_ref(const float *p, const float *v, int64_t ld, int S, int hs, float *ctx, int64_t ldc) {
    for (int i = 0; i < S; i++) {
        float *c = ctx + i * ldc;
        const float *r = p + (int64_t)i * S;
        for (int d = 0; d < hs; d++) c[d] = 0.0f;
        for (int j = 0; j < S; j++)
            for (int d = 0; d < hs; d++) c[d] = fmaf(r[j], v[j * ld + d], c[d]);
    }
}

/* ---- AVX-512 ------------------------------------------------------------------- */

#if defined(__x86_64__)
#define TGT __attribute__((target("avx512f,fma")))
#define INL TGT static inline __attribute__((always_inline))

INL __mmask16 lanes(int64_t n) { return n >= 16 ? (__mmask16)0xffff : n <= 0 ? 0 : (__mmask16)((1u << n) - 1u); }

/* r[c] = column c of the 16 x 16 block whose rows are r[0..16) */
INL void tr16(__m512 r[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int g = 0; g < 4; g++) {   /* u[4g + c]: lane L holds column 4L + c of rows 4g .. 4g + 3 */
        u[4 * g] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
        u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    for (int c = 0; c < 4; c++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), w0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD);
        __m512 v1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88), w1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
        r[c] = _mm512_shuffle_f32x4(v0, v1, 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(v0, v1, 0xDD);
        r[4 + c] = _mm512_shuffle_f32x4(w0, w1, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(w0, w1, 0xDD);
    }
}

/* kt[(jb * hs + d) * 16 + jj] = k[(16 jb + jj) * ld + d], zeros for keys >= S */
TGT static void pack_kt(const float *k, int64_t ld, int S, int hs, float *kt) {
    for (int j0 = 0; j0 < S; j0 += 16)
        for (int d0 = 0; d0 < hs; d0 += 16) {
            __m512 r[16];
            __mmask16 m = lanes(hs - d0);
            for (int jj = 0; jj < 16; jj++)
                r[jj] = j0 + jj < S ? _mm512_maskz_loadu_ps(m, k + (j0 + jj) * ld + d0) : _mm512_setzero_ps();
            tr16(r);
            float *o = kt + ((int64_t)(j0 / 16) * hs + d0) * 16;
            for (int dd = 0; dd < 16 && d0 + dd < hs; dd++) _mm512_storeu_ps(o + dd * 16, r[dd]);
        }
}

/* C[r, n * 16 + l] = chain over c < K of a[r * lda + c] b[c * ldb + n * ldn + l]
 * for r < MR, n < NB, lanes of the last vector limited by `last`. MR and NB
 * are literal constants (one function per pair), so the loops unroll and the
 * MR x NB sums stay in registers (an array sized for the largest pair kept
 * dead stores of the sums to the stack in every step: 2.5x slower; so did
 * loops left rolled: hence the unroll pragmas). */
typedef void (*tile_fn)(const float *, int64_t, int, const float *, int64_t, int64_t, float *, int64_t, __mmask16);

#define DEF(MR, NB)                                                                                                    \
    TGT static void tile_##MR##_##NB(const float *a, int64_t lda, int K, const float *b, int64_t ldb, int64_t ldn,  \
                                     float *c, int64_t ldc, __mmask16 last) {                                          \
        __m512 acc[MR][NB];                                                                                            \
        _Pragma("GCC unroll 12")                                                                                       \
        for (int r = 0; r < MR; r++)                                                                                   \
            _Pragma("GCC unroll 12")                                                                                   \
            for (int n = 0; n < NB; n++) acc[r][n] = _mm512_setzero_ps();                                              \
        for (int k = 0; k < K; k++) {                                                                                  \
            __m512 bv[NB];                                                                                             \
            _Pragma("GCC unroll 12")                                                                                   \
            for (int n = 0; n < NB - 1; n++) bv[n] = _mm512_loadu_ps(b + k * ldb + n * ldn);                           \
            bv[NB - 1] = _mm512_maskz_loadu_ps(last, b + k * ldb + (NB - 1) * ldn);                                    \
            _Pragma("GCC unroll 12")                                                                                   \
            for (int r = 0; r < MR; r++) {                                                                             \
                __m512 av = _mm512_set1_ps(a[r * lda + k]);                                                            \
                _Pragma("GCC unroll 12")                                                                               \
                for (int n = 0; n < NB; n++) acc[r][n] = _mm512_fmadd_ps(av, bv[n], acc[r][n]);                        \
            }                                                                                                          \
        }                                                                                                              \
        _Pragma("GCC unroll 12")                                                                                       \
        for (int r = 0; r < MR; r++) {                                                                                 \
            _Pragma("GCC unroll 12")                                                                                   \
            for (int n = 0; n < NB - 1; n++) _mm512_storeu_ps(c + r * ldc + n * 16, acc[r][n]);                        \
            _mm512_mask_storeu_ps(c + r * ldc + (NB - 1) * 16, last, acc[r][NB - 1]);                                  \
        }                                                                                                              \
    }
#define DEF6(NB) DEF(1, NB) DEF(2, NB) DEF(3, NB) DEF(4, NB) DEF(5, NB) DEF(6, NB)
#define DEF8(NB) DEF6(NB) DEF(7, NB) DEF(8, NB)
DEF8(1)
DEF8(2) DEF(9, 2) DEF(10, 2) DEF(11, 2) DEF(12, 2)
DEF8(3)
DEF6(4)
#undef DEF
#undef DEF6
#undef DEF8

#define ROW6(NB) tile_1_##NB, tile_2_##NB, tile_3_##NB, tile_4_##NB, tile_5_##NB, tile_6_##NB
#define ROW8(NB) ROW6(NB), tile_7_##NB, tile_8_##NB
/* TILES[NB][MR] */
static const tile_fn TILES[5][13] = {
    {0},
    {NULL, ROW8(1)},
    {NULL, ROW8(2), tile_9_2, tile_10_2, tile_11_2, tile_12_2},
    {NULL, ROW8(3)},
    {NULL, ROW6(4)},
};
#undef ROW6
#undef ROW8
static const int MRMAX[5] = {0, 8, 12, 8, 6};

/* C[i, n] for i < M, n < N: the form of the header (B's vector v of column
 * step c at b + c * ldb + v * ldn). Fetched ahead, no byte moved (f32k2):
 * ahead (NULL or three row pointers, NULL ones skipped) has rows [i, i + m)
 * of each, alen floats at ald, fetched as the first panel's tiles reach row
 * block i; fetch_c the tile's own output lines, for writing, before it runs
 * (p v's ctx rows, past L2 at 8 x 128 tokens). */
TGT static void prod512(const float *a, int64_t lda, int M, int K, const float *b, int64_t ldb, int64_t ldn, int N,
                        float *c, int64_t ldc, const float *const *ahead, int64_t ald, int alen, int fetch_c) {
    int nv = (N + 15) / 16;
    for (int v0 = 0; v0 < nv; v0 += 4) {
        int nb = nv - v0 < 4 ? nv - v0 : 4, mr = MRMAX[nb];
        __mmask16 last = lanes(N - (v0 + nb - 1) * 16);
        for (int i = 0; i < M; i += mr) {
            int m = M - i < mr ? M - i : mr;
            if (ahead && v0 == 0)   /* rows [i, i + m) of each, fetched while this tile runs */
                for (int s = 0; s < 3; s++)
                    for (int r = i; ahead[s] && r < i + m; r++)
                        for (int cc = 0; cc < alen; cc += 16) _mm_prefetch((const char *)(ahead[s] + r * ald + cc), _MM_HINT_T0);
            for (int r = i; fetch_c && r < i + m; r++)   /* the tile's output lines, for writing */
                for (int cc = 0; cc < nb; cc++) _mm_prefetch((const char *)(c + r * ldc + (v0 + cc) * 16), _MM_HINT_ET0);
            TILES[nb][m](a + (int64_t)i * lda, lda, K, b + v0 * ldn, ldb, ldn, c + (int64_t)i * ldc + v0 * 16, ldc,
                         last);
        }
    }
}

/* ---- AVX2 + FMA ------------------------------------------------------------------ */

/* The same chains 8 lanes at a time: panels of one 16-wide block (two
 * vectors of 8), MR 6 rows for two vectors (12 of the 16 ymm), 8 for one;
 * k^T in the AVX-512 layout, packed by scalar loops. */
#define TGT2 __attribute__((target("avx2,fma")))

#define DEF2(MR, NB)                                                                                                   \
    TGT2 static void t2_##MR##_##NB(const float *a, int64_t lda, int K, const float *b, int64_t ldb, float *c,       \
                                    int64_t ldc, int rem) {                                                            \
        const __m256i last = _mm256_cmpgt_epi32(_mm256_set1_epi32(rem), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));   \
        __m256 acc[MR][NB];                                                                                            \
        _Pragma("GCC unroll 8")                                                                                        \
        for (int r = 0; r < MR; r++)                                                                                   \
            _Pragma("GCC unroll 2")                                                                                    \
            for (int n = 0; n < NB; n++) acc[r][n] = _mm256_setzero_ps();                                              \
        for (int k = 0; k < K; k++) {                                                                                  \
            __m256 bv[NB];                                                                                             \
            if (NB == 2) bv[0] = _mm256_loadu_ps(b + k * ldb);                                                         \
            bv[NB - 1] = _mm256_maskload_ps(b + k * ldb + (NB - 1) * 8, last);                                         \
            _Pragma("GCC unroll 8")                                                                                    \
            for (int r = 0; r < MR; r++) {                                                                             \
                __m256 av = _mm256_broadcast_ss(a + r * lda + k);                                                      \
                _Pragma("GCC unroll 2")                                                                                \
                for (int n = 0; n < NB; n++) acc[r][n] = _mm256_fmadd_ps(av, bv[n], acc[r][n]);                        \
            }                                                                                                          \
        }                                                                                                              \
        _Pragma("GCC unroll 8")                                                                                        \
        for (int r = 0; r < MR; r++) {                                                                                 \
            if (NB == 2) _mm256_storeu_ps(c + r * ldc, acc[r][0]);                                                     \
            _mm256_maskstore_ps(c + r * ldc + (NB - 1) * 8, last, acc[r][NB - 1]);                                     \
        }                                                                                                              \
    }
DEF2(1, 1) DEF2(2, 1) DEF2(3, 1) DEF2(4, 1) DEF2(5, 1) DEF2(6, 1) DEF2(7, 1) DEF2(8, 1)
DEF2(1, 2) DEF2(2, 2) DEF2(3, 2) DEF2(4, 2) DEF2(5, 2) DEF2(6, 2)
#undef DEF2

typedef void (*tile2_fn)(const float *, int64_t, int, const float *, int64_t, float *, int64_t, int);
static const tile2_fn TILES2[3][9] = {
    {0},
    {NULL, t2_1_1, t2_2_1, t2_3_1, t2_4_1, t2_5_1, t2_6_1, t2_7_1, t2_8_1},
    {NULL, t2_1_2, t2_2_2, t2_3_2, t2_4_2, t2_5_2, t2_6_2},
};

/* prod512's form with panels of 16 columns ps floats apart (two vectors of
 * 8 in a panel, 8 floats apart) */
TGT2 static void prod256(const float *a, int64_t lda, int M, int K, const float *b, int64_t ldb, int64_t ps, int N,
                         float *c, int64_t ldc) {
    for (int p = 0; p * 16 < N; p++) {
        int w = N - p * 16 < 16 ? N - p * 16 : 16, nb = w > 8 ? 2 : 1, mr = nb == 2 ? 6 : 8;
        for (int i = 0; i < M; i += mr) {
            int m = M - i < mr ? M - i : mr;
            TILES2[nb][m](a + (int64_t)i * lda, lda, K, b + p * ps, ldb, c + (int64_t)i * ldc + p * 16, ldc,
                          w - (nb - 1) * 8);
        }
    }
}

static void pack_kt_ref(const float *k, int64_t ld, int S, int hs, float *kt) {
    for (int j0 = 0; j0 < S; j0 += 16)
        for (int d = 0; d < hs; d++)
            for (int jj = 0; jj < 16; jj++)
                kt[((int64_t)(j0 / 16) * hs + d) * 16 + jj] = j0 + jj < S ? k[(j0 + jj) * ld + d] : 0.0f;
}
#endif

void tq_attn_f32_scores_ahead(const float *q, const float *k, int64_t ld, int S, int hs, float *sc, void *scratch,
                              tq_kisa isa, const float *const ahead[3]) {
#if defined(__x86_64__)
    if (tq_attn_f32_isa(isa) == TQ_KISA_AVX512) {
        float *kt = scratch;
        pack_kt(k, ld, S, hs, kt);
        prod512(q, ld, S, hs, kt, 16, (int64_t)hs * 16, S, sc, S, ahead, ld, hs, 0);
        return;
    }
    if (tq_attn_f32_isa(isa) == TQ_KISA_AVX2) {
        float *kt = scratch;
        pack_kt_ref(k, ld, S, hs, kt);
        prod256(q, ld, S, hs, kt, 16, (int64_t)hs * 16, S, sc, S);
        return;
    }
#endif
    (void)isa;
    (void)scratch;
    (void)ahead;
    scores_ref(q, k, ld, S, hs, sc);
}

void tq_attn_f32_scores(const float *q, const float *k, int64_t ld, int S, int hs, float *sc, void *scratch,
                        tq_kisa isa) {
    tq_attn_f32_scores_ahead(q, k, ld, S, hs, sc, scratch, isa, NULL);
}

void tq_attn_f32_context(const float *p, const float *v, int64_t ld, int S, int hs, float *ctx, int64_t ldc,
                         tq_kisa isa) {
#if defined(__x86_64__)
    if (tq_attn_f32_isa(isa) == TQ_KISA_AVX512) {
        prod512(p, S, S, S, v, ld, 16, hs, ctx, ldc, NULL, 0, 0, 1);
        return;
    }
    if (tq_attn_f32_isa(isa) == TQ_KISA_AVX2) {
        prod256(p, S, S, S, v, ld, 16, hs, ctx, ldc);
        return;
    }
#endif
    (void)isa;
    context_ref(p, v, ld, S, hs, ctx, ldc);
}
