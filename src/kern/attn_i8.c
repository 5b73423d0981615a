/*
 * attn_i8.c — one attention head's q k^T and p v in int8 (attn_i8.h): a
 * portable C reference and an AVX-512 VNNI path giving its bytes.
 *
 * Both products have one form: C[i, n] = (float)(sum_c A[i, c] B[n, c] - corr[n])
 * * (sa[i] * sb[n]), A unsigned bytes by rows (q + 128, or p's codes), B
 * signed bytes packed as the VNNI weights are (kern_types.h): blocks of 16
 * n, columns in fours, [n / 16][c / 4][16][4]. corr[n] is 128 sum_c B[n, c]
 * for q k^T (A holds q + 128) and none for p v. The portable path reads the
 * same buffers; every float step is one IEEE operation in one order (this
 * directory builds without contraction), so both paths give the same bytes.
 * The AVX-512 micro-kernel prefetches its output lines before its K loop
 * (p v writes ctx rows, mostly not in L1); prefetches change no value.
 */
#include "kern/attn_i8.h"
#include "kern/kern.h"
#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define MAGIC 12582912.0f   /* 1.5 * 2^23: x + MAGIC - MAGIC rounds to nearest even */

static int64_t up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

/* The scratch of one head, carved from 64-byte aligned memory. */
typedef struct lay {
    int      S, hs, hs4, S4, S16, hs16;
    uint8_t *qa;     /* [S][hs4]  q codes + 128 (pads 128)                 */
    int8_t  *kp;     /* packed k codes, [S16 / 16][hs4 / 4][16][4]         */
    int32_t *kc;     /* [S16]     128 * sum of key j's codes               */
    float   *qs, *ks;/* [S], [S16] scales (pads 0)                         */
    uint8_t *pa;     /* [S][S4]   p codes (pads 0)                         */
    float   *ps;     /* [S]                                                */
    int8_t  *vp;     /* packed v codes, [hs16 / 16][S4 / 4][16][4]         */
    float   *vs;     /* [hs16]                                             */
    float   *kt;     /* [16][hs4] bytes: one block of k codes (AVX-512 only) */
    float   *ri;     /* [S16]     rows' 1 / s (AVX-512 only)                */
    int16_t *bt;     /* [max(hs4, S4)] one unpacked row (portable only)    */
    float   *st;     /* [16][S16] one strip of score rows (probs)          */
    uint16_t *kb;    /* [S16 / 16] kept keys per block of 16 (probs, AVX-512) */
} lay;

static size_t lay_of(lay *L, int S, int hs, void *base) {
    int64_t hs4 = up(hs, 4), S4 = up(S, 4), S16 = up(S, 16), hs16 = up(hs, 16);
    size_t off = 0;
    unsigned char *b = base;
#define TAKE(field, type, n)                                                                                           \
    do {                                                                                                               \
        if (L) L->field = (type *)(void *)(b + off);                                                                   \
        off += (size_t)up((int64_t)sizeof(type) * (n), 64);                                                            \
    } while (0)
    TAKE(qa, uint8_t, (int64_t)S * hs4);
    TAKE(kp, int8_t, S16 * hs4);
    TAKE(kc, int32_t, S16);
    TAKE(qs, float, S);
    TAKE(ks, float, S16);
    TAKE(pa, uint8_t, (int64_t)S * S4);
    TAKE(ps, float, S);
    TAKE(vp, int8_t, hs16 * S4);
    TAKE(vs, float, hs16);
    TAKE(kt, float, (int64_t)hs * 16);
    TAKE(ri, float, S16);
    TAKE(bt, int16_t, hs4 > S4 ? hs4 : S4);
    TAKE(st, float, 16 * S16);
    TAKE(kb, uint16_t, S16 / 16);
#undef TAKE
    if (L) {
        L->S = S; L->hs = hs; L->hs4 = (int)hs4; L->S4 = (int)S4; L->S16 = (int)S16; L->hs16 = (int)hs16;
    }
    return off;
}

size_t tq_attn_i8_scratch(int S, int hs) { return S < 1 || hs < 1 ? 0 : lay_of(NULL, S, hs, NULL); }

tq_kisa tq_attn_i8_isa(tq_kisa isa) {
    return isa == TQ_KISA_AVX512 && tq_kern_isa_supported(TQ_KISA_AVX512) ? TQ_KISA_AVX512 : TQ_KISA_PORTABLE;
}

/* ---- the portable reference -------------------------------------------------- */

static uint32_t abs_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    return u & 0x7fffffffu;
}

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* the code of x at inverse scale inv, in [lo, hi] */
/* c to int32 as vcvtps2dq rounding to nearest even: NaN and values outside
 * int32 give INT32_MIN. Beyond 2^22 (never a code: every caller saturates)
 * the conversion truncates, which moves no saturated result. */
static int32_t rne(float c) {
    if (!(c > -2147483648.0f && c < 2147483648.0f)) return INT32_MIN;
    if (c >= 4194304.0f || c <= -4194304.0f) return (int32_t)c;
    return (int32_t)((c + MAGIC) - MAGIC);
}

/* signed codes saturate to [-128, 127] (vpmovsdb), unsigned ones to [0, 255]
 * (vpackusdw, vpackuswb) */
static int code_s(float x, float inv) {
    int32_t i = rne(x * inv);
    return i < -128 ? -128 : i > 127 ? 127 : i;
}

static int code_u(float x, float inv) {
    int32_t i = rne(x * inv);
    return i < 0 ? 0 : i > 255 ? 255 : i;
}

static float inv_of(float s) { return s > 0.0f ? 1.0f / s : 0.0f; }

/* byte (n, c) of a packed [.., C4] operand */
static int64_t pk(int64_t n, int64_t c, int64_t C4) { return (n / 16 * (C4 / 4) + c / 4) * 64 + n % 16 * 4 + c % 4; }

/* C[i, n] for i < M, n < N: the product of the header, by loops (B's row n
 * unpacked into row first: 16-bit products the compiler vectorizes, an AVX2
 * clone where the CPU has it: integer sums, so every clone's bytes). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target_clones("avx2", "default")))
#endif
static void prod_ref(const uint8_t *a, int64_t lda, const int8_t *bp, int64_t C4, const int32_t *corr, const float *sa,
                     const float *sb, int M, int N, float *c, int64_t ldc, int16_t *row) {
    for (int n = 0; n < N; n++) {
        for (int64_t k = 0; k < C4; k++) row[k] = bp[pk(n, k, C4)];
        int32_t cn = corr ? corr[n] : 0;
        for (int i = 0; i < M; i++) {
            const uint8_t *x = a + i * lda;
            int32_t s = 0;
            for (int64_t k = 0; k < C4; k++) s += (int16_t)x[k] * row[k];
            c[i * ldc + n] = (float)(s - cn) * (sa[i] * sb[n]);
        }
    }
}

static void quant_qk_ref(const lay *L, const float *q, const float *k, int64_t ld) {
    int S = L->S, hs = L->hs, hs4 = L->hs4;
    memset(L->kp, 0, (size_t)L->S16 * (size_t)hs4);
    for (int j = 0; j < L->S16; j++) L->kc[j] = 0, L->ks[j] = 0.0f;
    for (int i = 0; i < S; i++) {
        const float *x = q + i * ld, *y = k + i * ld;
        uint32_t mq = 0, mk = 0;
        for (int d = 0; d < hs; d++) {
            uint32_t u = abs_bits(x[d]), w = abs_bits(y[d]);
            mq = u > mq ? u : mq;
            mk = w > mk ? w : mk;
        }
        float sq = from_bits(mq) / 127.0f, sk = from_bits(mk) / 127.0f, iq = inv_of(sq), ik = inv_of(sk);
        int32_t sum = 0;
        for (int d = 0; d < hs4; d++) {
            int cq = d < hs ? code_s(x[d], iq) : 0, ck = d < hs ? code_s(y[d], ik) : 0;
            L->qa[(int64_t)i * hs4 + d] = (uint8_t)(cq + 128);
            L->kp[pk(i, d, hs4)] = (int8_t)ck;
            sum += ck;
        }
        L->qs[i] = sq;
        L->ks[i] = sk;
        L->kc[i] = 128 * sum;
    }
}

static void quant_v_ref(const lay *L, const float *v, int64_t ld, const int32_t *mask) {
    int S = L->S, hs = L->hs, S4 = L->S4;
    memset(L->vp, 0, (size_t)L->hs16 * (size_t)S4);
    for (int d = 0; d < L->hs16; d++) {
        uint32_t m = 0;
        for (int j = 0; d < hs && j < S; j++) {
            uint32_t u = mask && !mask[j] ? 0 : abs_bits(v[j * ld + d]);
            m = u > m ? u : m;
        }
        float s = from_bits(m) / 127.0f, inv = inv_of(s);
        L->vs[d] = s;
        for (int j = 0; d < hs && j < S; j++)
            L->vp[pk(d, j, S4)] = (int8_t)(mask && !mask[j] ? 0 : code_s(v[j * ld + d], inv));
    }
}

static void quant_p_ref(const lay *L, const float *p) {
    int S = L->S, S4 = L->S4;
    for (int i = 0; i < S; i++) {
        const float *r = p + (int64_t)i * S;
        uint32_t m = 0;
        for (int j = 0; j < S; j++) {
            uint32_t u = abs_bits(r[j]);
            m = u > m ? u : m;
        }
        float s = from_bits(m) / 255.0f, inv = inv_of(s);
        L->ps[i] = s;
        for (int j = 0; j < S4; j++) L->pa[(int64_t)i * S4 + j] = (uint8_t)(j < S ? code_u(r[j], inv) : 0);
    }
}

/* The fused softmax's code of score y in a row of maximum m (attn_i8.h):
 * t = (y - m) * kf clamped to [-125, 0] (NaN: -125; t > 0 never happens, so
 * only the lower clamp is done), n = rne(t), f = t - n,
 * 255 * 2^f by the degree-5 polynomial PE (Horner, fused multiply-adds),
 * times 2^n (exact), rounded to nearest even, at most 255. PE: a Chebyshev
 * fit of 255 * 2^f on [-1/2, 1/2], relative error 1.1e-7 (3e-5 of a code). */
#define TLO -125.0f
static const float PE[6] = {255.000015f, 176.752533f, 61.2563744f, 14.1533346f, 2.46738935f, 0.341711015f};

static float pval_ref(float y, float m, float kf) {
    float t = (y - m) * kf;   /* <= 0 (y <= m, kf > 0) or NaN */
    float c = t > TLO ? t : TLO;
    float n = (c + MAGIC) - MAGIC, f = c - n, p = PE[5];
    for (int e = 4; e >= 0; e--) p = fmaf(p, f, PE[e]);
    return ldexpf(p, (int)n);
}

static int pcode_ref(float x) {
    int32_t i = rne(x);
    return i < 0 ? 0 : i > 255 ? 255 : i;
}

/* one row of S scores y to codes o[0 .. S4) (masked keys and pads 0) and
 * its scale 1 / (sum of the unrounded 255 e) (0 when it is not > 0): the sum
 * in 16 lanes (key j in lane j % 16) reduced l + 8, l + 4, l + 2, l + 1 */
static void codes_row_ref(const float *y, int S, int S4, const int32_t *mask, float kf, uint8_t *o, float *ps) {
    float m = -INFINITY, acc[16] = {0};
    for (int j = 0; j < S; j++)
        if (!mask || mask[j]) m = y[j] > m ? y[j] : m;
    for (int j = 0; j < S4; j++) {
        float x = j < S && (!mask || mask[j]) ? pval_ref(y[j], m, kf) : 0.0f;
        o[j] = (uint8_t)pcode_ref(x);
        acc[j % 16] += x;
    }
    for (int w = 8; w; w /= 2)
        for (int l = 0; l < w; l++) acc[l] = acc[l] + acc[l + w];
    *ps = acc[0] > 0.0f ? 1.0f / acc[0] : 0.0f;
}

/* scores 16 rows at a time into the strip, then their codes */
static void probs_ref(const lay *L, const int32_t *mask, float kf) {
    int S = L->S, hs4 = L->hs4;
    for (int i0 = 0; i0 < S; i0 += 16) {
        int M = S - i0 < 16 ? S - i0 : 16;
        prod_ref(L->qa + (int64_t)i0 * hs4, hs4, L->kp, hs4, L->kc, L->qs + i0, L->ks, M, S, L->st, L->S16, L->bt);
        for (int r = 0; r < M; r++)
            codes_row_ref(L->st + (int64_t)r * L->S16, S, L->S4, mask, kf, L->pa + (int64_t)(i0 + r) * L->S4, L->ps + i0 + r);
    }
}

/* ---- AVX-512 VNNI ------------------------------------------------------------- */

#if defined(__x86_64__)
#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define INL TGT static inline __attribute__((always_inline))

INL __mmask16 lanes(int64_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u); }

/* the codes of 16 floats at inverse scale(s) inv, in [lo, hi], as int32 */
/* rne(x * inv) of 16 floats (embedded round to nearest even: NaN and
 * out-of-range values give INT32_MIN, as rne) */
INL __m512i cvt16(__m512 x, __m512 inv) {
    return _mm512_cvt_roundps_epi32(_mm512_mul_ps(x, inv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/* code_s of 16 floats, as int32 */
INL __m512i codes16(__m512 x, __m512 inv) {
    return _mm512_max_epi32(_mm512_min_epi32(cvt16(x, inv), _mm512_set1_epi32(127)), _mm512_set1_epi32(-128));
}

/* max |x| over n floats, as abs_bits does it (exact, any order) */
INL float amax16(const float *x, int64_t n) {
    const __m512i ab = _mm512_set1_epi32(0x7fffffff);
    __m512i m = _mm512_setzero_si512();
    for (int64_t c = 0; c < n; c += 16)
        m = _mm512_max_epu32(m, _mm512_and_si512(_mm512_castps_si512(_mm512_maskz_loadu_ps(lanes(n - c), x + c)), ab));
    return from_bits((uint32_t)_mm512_reduce_max_epu32(m));
}

/* s[i] = max|x_i| / div and ri[i] = 1 / s[i] (0 when s[i] is not > 0) for n
 * rows of len floats at stride ld: the maxima first (independent rows), then
 * the divisions 16 rows at a time (the scalar steps, lane by lane) */
/* the cache lines of rows [r0, r1) of len floats at stride ld, asked for
 * ahead (rows of qkv are far apart: one head's columns are a few lines of
 * each token's row) */
INL void fetch_rows(const float *x, int64_t ld, int r0, int r1, int64_t len) {
    for (int r = r0; r < r1; r++)
        for (int64_t c = 0; c < len; c += 16) _mm_prefetch((const char *)(x + r * ld + c), _MM_HINT_T0);
}

/* (rows up to `avail` may be read ahead) */
TGT static void row_scales(const float *x, int64_t ld, int n, int avail, int64_t len, float div, float *s, float *ri) {
    for (int i = 0; i < n; i++) {
        if (i + 8 < avail) fetch_rows(x, ld, i + 8, i + 9, len);
        s[i] = amax16(x + i * ld, len);
    }
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = lanes(n - i);
        __m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(m, s + i), _mm512_set1_ps(div));
        __m512 r = _mm512_maskz_div_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), _mm512_set1_ps(1.0f), v);
        _mm512_mask_storeu_ps(s + i, m, v);
        _mm512_mask_storeu_ps(ri + i, m, r);
    }
}

/* rows i0 .. i0 + M of A against blocks b0 .. b0 + NB of B (K4 steps of four
 * columns); outputs n < N written */
INL void mk(const uint8_t *a, int64_t lda, const int8_t *bp, int64_t K4, const int32_t *corr, const float *sa,
            const float *sb, int64_t i0, int64_t b0, const int M, const int NB, int64_t N, float *c, int64_t ldc) {
    const int64_t bs = K4 * 64;
    const int8_t *wp = bp + b0 * bs;
    const uint8_t *xp = a + i0 * lda;
    /* M and NB are constants here (always inlined), so the loops unroll and
     * the accumulators stay in registers */
    /* the output lines, asked for before the K loop hides their misses (p v
     * writes ctx, [tokens, dim]: mostly not in L1) */
    for (int j = 0; j < M; j++)
        for (int p = 0; p < NB; p++) _mm_prefetch((const char *)(c + (i0 + j) * ldc + (b0 + p) * 16), _MM_HINT_ET0);
    __m512i S[4][4];   /* from - corr (the same int32 sums, wrapping alike) */
    for (int p = 0; p < NB; p++) {
        __m512i z = _mm512_setzero_si512();
        S[0][p] = corr ? _mm512_sub_epi32(z, _mm512_loadu_si512((const void *)(corr + (b0 + p) * 16))) : z;
        for (int j = 1; j < M; j++) S[j][p] = S[0][p];
    }
    for (int64_t kk = 0; kk < K4; kk++) {
        __m512i w[4];
        for (int p = 0; p < NB; p++) w[p] = _mm512_loadu_si512((const void *)(wp + p * bs + kk * 64));
        for (int j = 0; j < M; j++) {
            int32_t wd;
            memcpy(&wd, xp + j * lda + 4 * kk, 4);
            __m512i x = _mm512_set1_epi32(wd);
            for (int p = 0; p < NB; p++) S[j][p] = _mm512_dpbusd_epi32(S[j][p], x, w[p]);
        }
    }
    for (int p = 0; p < NB; p++) {
        int64_t n0 = (b0 + p) * 16;
        __mmask16 m = lanes(N - n0);
        __m512 sv = _mm512_loadu_ps(sb + n0);
        for (int j = 0; j < M; j++) {
            __m512 t = _mm512_mul_ps(_mm512_set1_ps(sa[i0 + j]), sv);
            __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(S[j][p]), t);
            _mm512_mask_storeu_ps(c + (i0 + j) * ldc + n0, m, y);
        }
    }
}

#define MK(Mv, NBv) mk(a, lda, bp, K4, corr, sa, sb, i0, b0, Mv, NBv, N, c, ldc)
TGT static void prod512(const uint8_t *a, int64_t lda, const int8_t *bp, int64_t K4, const int32_t *corr,
                        const float *sa, const float *sb, int64_t M, int64_t N, float *c, int64_t ldc) {
    int64_t nb = (N + 15) / 16;
    for (int64_t b0 = 0; b0 < nb; b0 += 4) {
        int64_t NB = nb - b0 < 4 ? nb - b0 : 4, i0 = 0;
        for (; i0 + 4 <= M; i0 += 4) {
            switch (NB) {
            case 4: MK(4, 4); break;
            case 3: MK(4, 3); break;
            case 2: MK(4, 2); break;
            default: MK(4, 1); break;
            }
        }
        for (; i0 < M; i0++) {
            switch (NB) {
            case 4: MK(1, 4); break;
            case 3: MK(1, 3); break;
            case 2: MK(1, 2); break;
            default: MK(1, 1); break;
            }
        }
    }
}
#undef MK

/* q by rows (codes + 128, row-major: the products broadcast them) */
TGT static void quant_q512(const lay *L, const float *q, int64_t ld) {
    int S = L->S, hs = L->hs, hs4 = L->hs4;
    row_scales(q, ld, S, S, hs, 127.0f, L->qs, L->ri);
    for (int i = 0; i < S; i++) {
        const float *x = q + i * ld;
        __m512 iq = _mm512_set1_ps(L->ri[i]);
        for (int d = 0; d < hs4; d += 16) {
            __mmask16 m = lanes(hs - d);
            /* pads: code 0 whatever the scale (0 x an infinite 1 / s is NaN) */
            __m512i cq = _mm512_maskz_mov_epi32(m, cvt16(_mm512_maskz_loadu_ps(m, x + d), iq));
            __m128i b = _mm_xor_si128(_mm512_cvtsepi32_epi8(cq), _mm_set1_epi8(-128));   /* code_s + 128 */
            _mm_mask_storeu_epi8(L->qa + (int64_t)i * hs4 + d, lanes(hs4 - d), b);
        }
    }
}

/* k by rows (16 at a time: their scales, then codes into kt as int8 rows of
 * hs4 bytes), then each block's 32-bit words gathered into the packed
 * layout, one key per lane; the code sums (for the + 128 of q) by vpdpbusd
 * of 0x01 bytes over the packed words */
TGT static void quant_k512(const lay *L, const float *k, int64_t ld) {
    int S = L->S, hs = L->hs, hs4 = L->hs4, K4 = hs4 / 4;
    int8_t *t = (int8_t *)L->kt;   /* [16][hs4] codes of one block */
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(K4));
    const __m512i ones = _mm512_set1_epi8(1);
    for (int j0 = 0; j0 < L->S16; j0 += 16) {
        int n = S - j0 < 16 ? (S - j0 > 0 ? S - j0 : 0) : 16;
        row_scales(k + j0 * ld, ld, n, S - j0, hs, 127.0f, L->ks + j0, L->ri);
        for (int r = n; r < 16; r++) L->ks[j0 + r] = 0.0f;
        for (int r = 0; r < 16; r++) {
            const float *x = k + (j0 + r) * ld;
            __m512 inv = _mm512_set1_ps(r < n ? L->ri[r] : 0.0f);
            for (int d = 0; d < hs4; d += 16) {
                __mmask16 m = r < n ? lanes(hs - d) : 0;
                __m512i c = _mm512_maskz_mov_epi32(m, cvt16(_mm512_maskz_loadu_ps(m, x + d), inv));
                _mm_mask_storeu_epi8(t + r * hs4 + d, lanes(hs4 - d), _mm512_cvtsepi32_epi8(c));
            }
        }
        int8_t *out = L->kp + (int64_t)(j0 / 16) * K4 * 64;
        __m512i sum = _mm512_setzero_si512();
        for (int d4 = 0; d4 < K4; d4++) {
            __m512i w = _mm512_i32gather_epi32(_mm512_add_epi32(idx, _mm512_set1_epi32(d4)), (const void *)t, 4);
            _mm512_storeu_si512((void *)(out + (int64_t)d4 * 64), w);
            sum = _mm512_dpbusd_epi32(sum, ones, w);
        }
        _mm512_storeu_si512((void *)(L->kc + j0), _mm512_slli_epi32(sum, 7));   /* 128 x the sum */
    }
}

TGT static void quant_v512(const lay *L, const float *v, int64_t ld, const int32_t *mask) {
    int S = L->S, hs = L->hs, S4 = L->S4, J4 = S4 / 4;
    const __m512i ab = _mm512_set1_epi32(0x7fffffff), lo8 = _mm512_set1_epi32(0xff);
    for (int d = 0; d < L->hs16; d += 16) {
        __mmask16 m = lanes(hs - d);
        __m512i mx = _mm512_setzero_si512();
        for (int j = 0; j < S; j++)
            if (!mask || mask[j])
                mx = _mm512_max_epu32(mx, _mm512_and_si512(_mm512_castps_si512(_mm512_maskz_loadu_ps(m, v + j * ld + d)), ab));
        __m512 s = _mm512_div_ps(_mm512_castsi512_ps(mx), _mm512_set1_ps(127.0f));
        __mmask16 pos = _mm512_cmp_ps_mask(s, _mm512_setzero_ps(), _CMP_GT_OQ);
        __m512 inv = _mm512_maskz_div_ps(pos, _mm512_set1_ps(1.0f), s);
        _mm512_storeu_ps(L->vs + d, s);
        int8_t *out = L->vp + (int64_t)(d / 16) * J4 * 64;
        for (int j4 = 0; j4 < J4; j4++) {
            __m512i wd = _mm512_setzero_si512();
            for (int b = 0; b < 4; b++) {
                int j = 4 * j4 + b;
                if (j >= S || (mask && !mask[j])) continue;
                __m512i c = _mm512_maskz_mov_epi32(m, codes16(_mm512_maskz_loadu_ps(m, v + j * ld + d), inv));
                wd = _mm512_or_si512(wd, _mm512_slli_epi32(_mm512_and_si512(c, lo8), 8 * b));
            }
            _mm512_storeu_si512((void *)(out + (int64_t)j4 * 64), wd);
        }
    }
}

TGT static void quant_p512(const lay *L, const float *p) {
    int S = L->S, S4 = L->S4;
    /* 64 codes: packed to words then bytes (saturating to [0, 255]), in the
     * order of their 128-bit lanes; one permute puts them back in order */
    const __m512i ord = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), z = _mm512_setzero_si512();
    const __m512i c255 = _mm512_set1_epi32(255);
    for (int i = 0; i < S; i++) {
        if (i % 16 == 0)   /* 16 rows' scales, then their codes while the rows are in L1 */
            row_scales(p + (int64_t)i * S, S, S - i < 16 ? S - i : 16, 0, S, 255.0f, L->ps + i, L->ri + i);
        const float *r = p + (int64_t)i * S;
        uint8_t *o = L->pa + (int64_t)i * S4;
        __m512 inv = _mm512_set1_ps(L->ri[i]);
        int j = 0;
        for (; j + 64 <= S; j += 64) {
            /* (at most 255 first: the second pack reads words as signed) */
            __m512i a = _mm512_min_epi32(cvt16(_mm512_loadu_ps(r + j), inv), c255);
            __m512i b = _mm512_min_epi32(cvt16(_mm512_loadu_ps(r + j + 16), inv), c255);
            __m512i c = _mm512_min_epi32(cvt16(_mm512_loadu_ps(r + j + 32), inv), c255);
            __m512i d = _mm512_min_epi32(cvt16(_mm512_loadu_ps(r + j + 48), inv), c255);
            __m512i w = _mm512_packus_epi16(_mm512_packus_epi32(a, b), _mm512_packus_epi32(c, d));
            _mm512_storeu_si512((void *)(o + j), _mm512_permutexvar_epi32(ord, w));
        }
        for (; j < S4; j += 16) {
            __mmask16 m = lanes(S - j);
            __m512i c = _mm512_max_epi32(_mm512_maskz_mov_epi32(m, cvt16(_mm512_maskz_loadu_ps(m, r + j), inv)), z);
            _mm_mask_storeu_epi8(o + j, lanes(S4 - j), _mm512_cvtusepi32_epi8(c));
        }
    }
}
/* pval_ref (then pcode_ref) on 16 lanes, its steps in its order (max_ps(t, lo) is
 * t > lo ? t : lo). Its saturation is left out: c in [-125, 0], so for n = 0
 * p <= PE[0] (p grows with f <= 0) and for n <= -1 p 2^n <= p(1/2) / 2 < 181:
 * every code is in [0, 255] already. */
INL __m512 pval16(__m512 y, __m512 m, __m512 kf) {
    __m512 t = _mm512_mul_ps(_mm512_sub_ps(y, m), kf);
    __m512 c = _mm512_max_ps(t, _mm512_set1_ps(TLO));
    __m512 n = _mm512_roundscale_ps(c, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_sub_ps(c, n), p = _mm512_set1_ps(PE[5]);
    for (int e = 4; e >= 0; e--) p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(PE[e]));
    return _mm512_scalef_ps(p, n);
}

INL __m512i pcode16(__m512 x) { return _mm512_cvt_roundps_epi32(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

/* lane 0 of codes_row_ref's tree: l + 8, l + 4, l + 2, l + 1 */
INL float sum_tree(__m512 a) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(a), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    return _mm_cvtss_f32(_mm_add_ss(x, _mm_shuffle_ps(x, x, 1)));
}

/* codes_row_ref's codes of R rows of y (stride ldy) into o (stride ldo),
 * kb the kept keys per block of 16 (the maximum of exact values in any order
 * is the same value); the R rows' chains interleaved, so their latencies
 * overlap (R a constant: always inlined) */
INL void codes_rows512(const float *y, int64_t ldy, const int R, int S, int S4, const uint16_t *kb, __m512 kf,
                       uint8_t *o, int64_t ldo, float *ps) {
    __m512 mx[4];
    __m512 acc[4];   /* 255 e, key j in lane j % 16 */
    for (int q = 0; q < R; q++) mx[q] = _mm512_set1_ps(-INFINITY), acc[q] = _mm512_setzero_ps();
    for (int j = 0; j < S; j += 16) {   /* y > mx ? y : mx on the kept lanes */
        __mmask16 keep = kb[j / 16];
        for (int q = 0; q < R; q++)
            mx[q] = _mm512_mask_max_ps(mx[q], keep, _mm512_maskz_loadu_ps(keep, y + q * ldy + j), mx[q]);
    }
    for (int q = 0; q < R; q++) mx[q] = _mm512_set1_ps(_mm512_reduce_max_ps(mx[q]));
    /* 64 codes at a time packed to words then bytes (each <= 255), in the
     * order of their 128-bit lanes, put back in order by one permute */
    const __m512i ord = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    int j = 0;
    for (; j + 64 <= S4; j += 64) {
        __mmask16 k0 = kb[j / 16], k1 = kb[j / 16 + 1], k2 = kb[j / 16 + 2], k3 = kb[j / 16 + 3];
        for (int q = 0; q < R; q++) {
            const float *r = y + q * ldy + j;
            __m512 x0 = _mm512_maskz_mov_ps(k0, pval16(_mm512_maskz_loadu_ps(k0, r), mx[q], kf));
            __m512 x1 = _mm512_maskz_mov_ps(k1, pval16(_mm512_maskz_loadu_ps(k1, r + 16), mx[q], kf));
            __m512 x2 = _mm512_maskz_mov_ps(k2, pval16(_mm512_maskz_loadu_ps(k2, r + 32), mx[q], kf));
            __m512 x3 = _mm512_maskz_mov_ps(k3, pval16(_mm512_maskz_loadu_ps(k3, r + 48), mx[q], kf));
            acc[q] = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(acc[q], x0), x1), x2), x3);
            __m512i w = _mm512_packus_epi16(_mm512_packus_epi32(pcode16(x0), pcode16(x1)),
                                            _mm512_packus_epi32(pcode16(x2), pcode16(x3)));
            _mm512_storeu_si512((void *)(o + q * ldo + j), _mm512_permutexvar_epi32(ord, w));
        }
    }
    for (; j < S4; j += 16) {
        __mmask16 keep = kb[j / 16];
        for (int q = 0; q < R; q++) {
            __m512 x = _mm512_maskz_mov_ps(keep, pval16(_mm512_maskz_loadu_ps(keep, y + q * ldy + j), mx[q], kf));
            acc[q] = _mm512_add_ps(acc[q], x);
            _mm_mask_storeu_epi8(o + q * ldo + j, lanes(S4 - j), _mm512_cvtepi32_epi8(pcode16(x)));
        }
    }
    for (int q = 0; q < R; q++) {
        float t = sum_tree(acc[q]);
        ps[q] = t > 0.0f ? 1.0f / t : 0.0f;
    }
}

/* q k^T four rows at a time into the strip (the products of prod512), then
 * the four rows' codes while they are in L1 */
#define MKS(Mv, NBv, r) mk(a, lda, L->kp, K4, L->kc, sa, L->ks, r, b0, Mv, NBv, S, L->st, L->S16)
TGT static void probs512(const lay *L, const int32_t *mask, float kf, const float *v, const float *nq, const float *nk,
                         int64_t ld) {
    int S = L->S, K4 = L->hs4 / 4, nb = L->S16 / 16;
    int64_t lda = L->hs4;
    for (int j = 0; j < L->S16; j += 16) {
        __mmask16 keep = lanes(S - j > 0 ? S - j : 0);
        if (mask)
            keep = _mm512_mask_cmpneq_epi32_mask(keep, _mm512_maskz_loadu_epi32(keep, mask + j), _mm512_setzero_si512());
        L->kb[j / 16] = keep;
    }
    const __m512 vk = _mm512_set1_ps(kf);
    for (int i0 = 0; i0 < S; i0 += 4) {
        int M = S - i0 < 4 ? S - i0 : 4;
        if (v) fetch_rows(v, ld, i0, i0 + M, L->hs);   /* p v's rows, while this runs */
        if (nq) fetch_rows(nq, ld, i0, i0 + M, L->hs), fetch_rows(nk, ld, i0, i0 + M, L->hs);   /* the next head's */
        const uint8_t *a = L->qa + (int64_t)i0 * lda;
        const float *sa = L->qs + i0;
        for (int b0 = 0; b0 < nb; b0 += 4) {
            int NB = nb - b0 < 4 ? nb - b0 : 4;
            if (M == 4) {
                switch (NB) {
                case 4: MKS(4, 4, 0); break;
                case 3: MKS(4, 3, 0); break;
                case 2: MKS(4, 2, 0); break;
                default: MKS(4, 1, 0); break;
                }
            } else {
                for (int r = 0; r < M; r++) switch (NB) {
                    case 4: MKS(1, 4, r); break;
                    case 3: MKS(1, 3, r); break;
                    case 2: MKS(1, 2, r); break;
                    default: MKS(1, 1, r); break;
                    }
            }
        }
        if (M == 4)
            codes_rows512(L->st, L->S16, 4, S, L->S4, L->kb, vk, L->pa + (int64_t)i0 * L->S4, L->S4, L->ps + i0);
        else
            for (int r = 0; r < M; r++)
                codes_rows512(L->st + (int64_t)r * L->S16, L->S16, 1, S, L->S4, L->kb, vk, L->pa + (int64_t)(i0 + r) * L->S4,
                              L->S4, L->ps + i0 + r);
    }
}
#undef MKS
#endif

/* ---- entry points ------------------------------------------------------------- */

void tq_attn_i8_scores(const float *q, const float *k, int64_t ld, int S, int hs, float *sc, void *scratch,
                       tq_kisa isa) {
    lay L;
    lay_of(&L, S, hs, scratch);
#if defined(__x86_64__)
    if (tq_attn_i8_isa(isa) == TQ_KISA_AVX512) {
        quant_q512(&L, q, ld);
        quant_k512(&L, k, ld);
        prod512(L.qa, L.hs4, L.kp, L.hs4 / 4, L.kc, L.qs, L.ks, S, S, sc, S);
        return;
    }
#endif
    (void)isa;
    quant_qk_ref(&L, q, k, ld);
    prod_ref(L.qa, L.hs4, L.kp, L.hs4, L.kc, L.qs, L.ks, S, S, sc, S, L.bt);
}

/* p v of the codes and scales in pa / ps (quant_p or probs) */
static void apply(const lay *L, const float *v, int64_t ld, const int32_t *mask, float *ctx, int64_t ldc, tq_kisa isa) {
    int S = L->S, hs = L->hs;
#if defined(__x86_64__)
    if (tq_attn_i8_isa(isa) == TQ_KISA_AVX512) {
        quant_v512(L, v, ld, mask);
        prod512(L->pa, L->S4, L->vp, L->S4 / 4, NULL, L->ps, L->vs, S, hs, ctx, ldc);
        return;
    }
#endif
    (void)isa;
    quant_v_ref(L, v, ld, mask);
    prod_ref(L->pa, L->S4, L->vp, L->S4, NULL, L->ps, L->vs, S, hs, ctx, ldc, L->bt);
}

void tq_attn_i8_context(const float *p, const float *v, int64_t ld, const int32_t *mask, int S, int hs, float *ctx,
                        int64_t ldc, void *scratch, tq_kisa isa) {
    lay L;
    lay_of(&L, S, hs, scratch);
#if defined(__x86_64__)
    if (tq_attn_i8_isa(isa) == TQ_KISA_AVX512) quant_p512(&L, p);
    else
#endif
        quant_p_ref(&L, p);
    apply(&L, v, ld, mask, ctx, ldc, isa);
}

static void probs(const lay *L, const float *q, const float *k, const float *v, const float *next, int64_t ld,
                  const int32_t *mask, float div, tq_kisa isa) {
    float kf = div != 0.0f ? 1.44269504088896341f / div : 1.44269504088896341f;
#if defined(__x86_64__)
    if (tq_attn_i8_isa(isa) == TQ_KISA_AVX512) {
        quant_q512(L, q, ld);
        quant_k512(L, k, ld);
        probs512(L, mask, kf, v, next, next ? next + (k - q) : NULL, ld);
        return;
    }
#endif
    (void)isa;
    (void)v;
    (void)next;
    quant_qk_ref(L, q, k, ld);
    probs_ref(L, mask, kf);
}

void tq_attn_i8_probs(const float *q, const float *k, int64_t ld, const int32_t *mask, int S, int hs, float div,
                      void *scratch, tq_kisa isa) {
    lay L;
    lay_of(&L, S, hs, scratch);
    probs(&L, q, k, NULL, NULL, ld, mask, div, isa);
}

void tq_attn_i8_head(const float *q, const float *k, const float *v, int64_t ld, const int32_t *mask, int S, int hs,
                     float div, float *ctx, int64_t ldc, void *scratch, tq_kisa isa, const float *next) {
    lay L;
    lay_of(&L, S, hs, scratch);
    probs(&L, q, k, v, next, ld, mask, div, isa);
    apply(&L, v, ld, mask, ctx, ldc, isa);
}

void tq_attn_i8_attend(const float *v, int64_t ld, const int32_t *mask, int S, int hs, float *ctx, int64_t ldc,
                       void *scratch, tq_kisa isa) {
    lay L;
    lay_of(&L, S, hs, scratch);
    apply(&L, v, ld, mask, ctx, ldc, isa);
}

const uint8_t *tq_attn_i8_codes(const void *scratch, int S, int hs, const float **scales) {
    lay L;
    lay_of(&L, S, hs, (void *)(uintptr_t)scratch);
    if (scales) *scales = L.ps;
    return L.pa;
}
