/*
 * test_ggml_types.c — the ggml type table (src/ggml/): row id == index,
 * sizes and bits per weight, known-answer blocks for every decoder (bytes
 * laid out here from the FORMATS.md §3 text with small power-of-two scales,
 * so every expected value is exact), reference-quantizer round trips with
 * error bounds, special inputs, rounding helpers, and the Q8_0 bytes of the
 * FORMATS.md §2.6 worked example.
 */
#include "tq_test.h"
#include "ggml/ggml_types.h"
#include "ggml/ggml_kernels.h"
#include <stdlib.h>

static uint16_t H(float f) { return tq_f32_to_f16(f); }   /* exact for the scales used */

static void check_exact(const char *what, const float *got, const float *want, int64_t n) {
    int64_t bad = -1;
    for (int64_t i = 0; i < n && bad < 0; i++)
        if (memcmp(&got[i], &want[i], 4) != 0) bad = i;
    CHECK_MSG(bad < 0, "%s: element %lld: got %.9g want %.9g", what, (long long)bad, bad >= 0 ? got[bad] : 0.0,
              bad >= 0 ? want[bad] : 0.0);
}

static void table_rows(void) {
    TQ_CASE("table: row id == index, sizes, bits per weight");
    const tq_ggml_type_info *t = tq_ggml_type_table();
    for (int i = 0; i < TQ_GGML_TYPE_COUNT; i++) {
        CHECK_EQ_INT(t[i].id, i);
        if (!t[i].block) { CHECK(tq_ggml_type(i) == NULL); continue; }
        CHECK(tq_ggml_type(i) == &t[i]);
        CHECK_NEAR(t[i].bpw, 8.0 * (double)t[i].type_size / (double)t[i].block, 0);
        CHECK_EQ_INT(tq_ggml_type_from_name(t[i].name), i);
    }
    static const int removed[] = {4, 5, 31, 32, 33, 36, 37, 38};
    for (size_t i = 0; i < sizeof removed / sizeof *removed; i++) CHECK(tq_ggml_type(removed[i]) == NULL);
    CHECK(tq_ggml_type(-1) == NULL && tq_ggml_type(TQ_GGML_TYPE_COUNT) == NULL && tq_ggml_type(1000) == NULL);
    static const struct { int id; const char *name; int64_t block; size_t size; double bpw; } want[] = {
        {0, "F32", 1, 4, 32}, {1, "F16", 1, 2, 16}, {2, "Q4_0", 32, 18, 4.5}, {3, "Q4_1", 32, 20, 5},
        {6, "Q5_0", 32, 22, 5.5}, {7, "Q5_1", 32, 24, 6}, {8, "Q8_0", 32, 34, 8.5}, {10, "Q2_K", 256, 84, 2.625},
        {11, "Q3_K", 256, 110, 3.4375}, {12, "Q4_K", 256, 144, 4.5}, {13, "Q5_K", 256, 176, 5.5},
        {14, "Q6_K", 256, 210, 6.5625}, {15, "Q8_K", 256, 292, 9.125}, {20, "IQ4_NL", 32, 18, 4.5},
        {23, "IQ4_XS", 256, 136, 4.25}, {30, "BF16", 1, 2, 16}, {34, "TQ1_0", 256, 54, 1.6875},
        {35, "TQ2_0", 256, 66, 2.0625}, {39, "MXFP4", 32, 17, 4.25},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const tq_ggml_type_info *r = tq_ggml_type(want[i].id);
        CHECK(r && strcmp(r->name, want[i].name) == 0 && r->block == want[i].block && r->type_size == want[i].size &&
              r->bpw == want[i].bpw);
    }
    /* the decoders the issue asks for, and the encoders */
    static const int dq[] = {0, 1, 30, 2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 15, 20, 23, 34, 35};
    static const int q[] = {8, 2, 3, 6, 7, 12, 13, 14, 10, 11, 1, 30, 0};
    for (size_t i = 0; i < sizeof dq / sizeof *dq; i++) CHECK(tq_ggml_type(dq[i])->dequantize_row != NULL);
    for (size_t i = 0; i < sizeof q / sizeof *q; i++) CHECK(tq_ggml_type(q[i])->quantize_row_ref != NULL);
}

static void checked_entry_points(void) {
    TQ_CASE("entry points: unsupported types and bad counts are named errors");
    tq_error e;
    float out[256];
    uint8_t blk[300] = {0};
    uint64_t nb;
    CHECK_ERR(tq_ggml_dequantize(16, blk, out, 256, "blk.0.w", &e), e, TQ_E_UNSUPPORTED, "IQ2_XXS");
    CHECK(strstr(e.msg, "blk.0.w") != NULL);
    CHECK_ERR(tq_ggml_dequantize(4, blk, out, 32, "t", &e), e, TQ_E_UNSUPPORTED, "unsupported ggml type 4 for tensor t");
    CHECK_ERR(tq_ggml_dequantize(99, blk, out, 32, "t", &e), e, TQ_E_UNSUPPORTED, "unsupported ggml type 99");
    CHECK_ERR(tq_ggml_quantize(20, out, blk, 32, "t", &e), e, TQ_E_UNSUPPORTED, "reference quantizer");
    CHECK_ERR(tq_ggml_dequantize(12, blk, out, 255, "t", &e), e, TQ_E_SHAPE, "block size 256");
    CHECK_ERR(tq_ggml_row_bytes(0, INT64_MAX, "big", &nb, &e), e, TQ_E_LIMIT, "big");
    CHECK_OK(tq_ggml_row_bytes(14, 512, "t", &nb, &e), e);
    CHECK_EQ_INT(nb, 420);
}

/* ---- known-answer blocks ------------------------------------------------ */
static uint64_t rng = 0x5eed;
static int rnd(int n) { return (int)(tq_t_rand(&rng) % (uint32_t)n); }

static void kat_legacy(void) {
    TQ_CASE("known answers: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL");
    static const int K[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    for (int rep = 0; rep < 20; rep++) {
        int c[32];
        uint8_t b[40];
        float want[32], got[32];
        /* Q4_0: element j low nibble of qs[j], j+16 high nibble; y = (q-8) d */
        for (int j = 0; j < 32; j++) c[j] = rnd(16);
        tq_st16(b, H(0.5f));
        for (int j = 0; j < 16; j++) b[2 + j] = (uint8_t)(c[j] | c[j + 16] << 4);
        for (int j = 0; j < 32; j++) want[j] = (float)(c[j] - 8) * 0.5f;
        tq_ggml_type(2)->dequantize_row(b, got, 32);
        check_exact("Q4_0", got, want, 32);
        /* IQ4_NL: same nibbles, y = d K[q] */
        for (int j = 0; j < 32; j++) want[j] = 0.5f * (float)K[c[j]];
        tq_ggml_type(20)->dequantize_row(b, got, 32);
        check_exact("IQ4_NL", got, want, 32);
        /* Q4_1: d, m; y = q d + m */
        tq_st16(b, H(0.25f));
        tq_st16(b + 2, H(-1.5f));
        for (int j = 0; j < 16; j++) b[4 + j] = (uint8_t)(c[j] | c[j + 16] << 4);
        for (int j = 0; j < 32; j++) want[j] = (float)c[j] * 0.25f - 1.5f;
        tq_ggml_type(3)->dequantize_row(b, got, 32);
        check_exact("Q4_1", got, want, 32);
        /* Q5_0 / Q5_1: bit 4 of element j is bit j of the u32 qh */
        uint32_t qh = 0;
        for (int j = 0; j < 32; j++) { c[j] = rnd(32); qh |= (uint32_t)(c[j] >> 4) << j; }
        tq_st16(b, H(0.125f));
        tq_st32(b + 2, qh);
        for (int j = 0; j < 16; j++) b[6 + j] = (uint8_t)((c[j] & 15) | (c[j + 16] & 15) << 4);
        for (int j = 0; j < 32; j++) want[j] = (float)(c[j] - 16) * 0.125f;
        tq_ggml_type(6)->dequantize_row(b, got, 32);
        check_exact("Q5_0", got, want, 32);
        tq_st16(b, H(0.5f));
        tq_st16(b + 2, H(1.0f));
        tq_st32(b + 4, qh);
        for (int j = 0; j < 16; j++) b[8 + j] = (uint8_t)((c[j] & 15) | (c[j + 16] & 15) << 4);
        for (int j = 0; j < 32; j++) want[j] = (float)c[j] * 0.5f + 1.0f;
        tq_ggml_type(7)->dequantize_row(b, got, 32);
        check_exact("Q5_1", got, want, 32);
        /* Q8_0 */
        tq_st16(b, H(0.25f));
        for (int j = 0; j < 32; j++) { c[j] = rnd(256) - 128; b[2 + j] = (uint8_t)(int8_t)c[j]; want[j] = (float)c[j] * 0.25f; }
        tq_ggml_type(8)->dequantize_row(b, got, 32);
        check_exact("Q8_0", got, want, 32);
    }
}

/* byte / shift of the 2-bit code of element e (Q2_K, Q3_K, TQ2_0) */
static void put2(uint8_t *qs, int e, int v) { qs[32 * (e / 128) + e % 32] |= (uint8_t)(v << (2 * ((e % 128) / 32))); }

static void kat_k(void) {
    TQ_CASE("known answers: Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K IQ4_XS");
    static const int K[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    for (int rep = 0; rep < 10; rep++) {
        uint8_t b[300];
        int q[256], sc[16], mn[16];
        float want[256], got[256];
        /* Q2_K: scales[k] = sc | m << 4; y = d sc q - dmin m */
        memset(b, 0, sizeof b);
        for (int k = 0; k < 16; k++) { sc[k] = rnd(16); mn[k] = rnd(16); b[k] = (uint8_t)(sc[k] | mn[k] << 4); }
        for (int e = 0; e < 256; e++) { q[e] = rnd(4); put2(b + 16, e, q[e]); }
        tq_st16(b + 80, H(1.0f));
        tq_st16(b + 82, H(0.5f));
        for (int e = 0; e < 256; e++) want[e] = (float)(sc[e / 16] * q[e]) - 0.5f * (float)mn[e / 16];
        tq_ggml_type(10)->dequantize_row(b, got, 256);
        check_exact("Q2_K", got, want, 256);
        /* Q3_K: hmask[e%32] bit e/32 = high bit; 6-bit scale codes l_k: low 4 bits
         * in scales[k] (k<8) / high nibble of scales[k-8]; high 2 bits in
         * scales[8 + k%4] bits 2(k/4) */
        memset(b, 0, sizeof b);
        for (int e = 0; e < 256; e++) {
            q[e] = rnd(8);
            put2(b + 32, e, q[e] & 3);
            if (q[e] & 4) b[e % 32] |= (uint8_t)(1 << (e / 32));
        }
        for (int k = 0; k < 16; k++) {
            sc[k] = rnd(64);
            if (k < 8) b[96 + k] |= (uint8_t)(sc[k] & 15);
            else b[96 + k - 8] |= (uint8_t)((sc[k] & 15) << 4);
            b[96 + 8 + k % 4] |= (uint8_t)((sc[k] >> 4) << (2 * (k / 4)));
        }
        tq_st16(b + 108, H(0.25f));
        for (int e = 0; e < 256; e++) want[e] = 0.25f * (float)(sc[e / 16] - 32) * (float)(q[e] - 4);   /* left to right: -0 matters */
        tq_ggml_type(11)->dequantize_row(b, got, 256);
        check_exact("Q3_K", got, want, 256);
        /* Q4_K / Q5_K: 6-bit sc/m of 8 sub-blocks of 32 in 12 bytes */
        for (int five = 0; five < 2; five++) {
            memset(b, 0, sizeof b);
            uint8_t *s = b + 4, *qh = b + 16, *qs = b + (five ? 48 : 16);
            for (int j = 0; j < 8; j++) {
                sc[j] = rnd(64); mn[j] = rnd(64);
                if (j < 4) { s[j] = (uint8_t)sc[j]; s[j + 4] = (uint8_t)mn[j]; }
                else {
                    s[j + 4] = (uint8_t)((sc[j] & 15) | (mn[j] & 15) << 4);
                    s[j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
                    s[j] |= (uint8_t)((mn[j] >> 4) << 6);
                }
            }
            for (int e = 0; e < 256; e++) {
                int c = e / 64, l = e % 32, hi = (e % 64) >= 32;
                q[e] = rnd(five ? 32 : 16);
                qs[32 * c + l] |= (uint8_t)((q[e] & 15) << (hi ? 4 : 0));
                if (five && (q[e] & 16)) qh[l] |= (uint8_t)(1 << (2 * c + hi));
            }
            tq_st16(b, H(0.5f));
            tq_st16(b + 2, H(0.25f));
            for (int e = 0; e < 256; e++) want[e] = 0.5f * (float)(sc[e / 32] * q[e]) - 0.25f * (float)mn[e / 32];
            tq_ggml_type(five ? 13 : 12)->dequantize_row(b, got, 256);
            check_exact(five ? "Q5_K" : "Q4_K", got, want, 256);
        }
        /* Q6_K: halves of 128; quarter t: low nibble of ql[64h + 32(t%2) + l], high
         * nibble when t >= 2; qh[32h + l] bits 2t */
        memset(b, 0, sizeof b);
        for (int e = 0; e < 256; e++) {
            int h = e / 128, r = e % 128, l = r % 32, t = r / 32;
            q[e] = rnd(64);
            b[64 * h + 32 * (t % 2) + l] |= (uint8_t)((q[e] & 15) << (t >= 2 ? 4 : 0));
            b[128 + 32 * h + l] |= (uint8_t)((q[e] >> 4) << (2 * t));
        }
        for (int k = 0; k < 16; k++) { sc[k] = rnd(256) - 128; b[192 + k] = (uint8_t)(int8_t)sc[k]; }
        tq_st16(b + 208, H(0.125f));
        for (int e = 0; e < 256; e++) want[e] = 0.125f * (float)sc[e / 16] * (float)(q[e] - 32);
        tq_ggml_type(14)->dequantize_row(b, got, 256);
        check_exact("Q6_K", got, want, 256);
        /* Q8_K: float32 d */
        float d = 0.5f;
        uint32_t u;
        memcpy(&u, &d, 4);
        tq_st32(b, u);
        for (int e = 0; e < 256; e++) { q[e] = rnd(256) - 128; b[4 + e] = (uint8_t)(int8_t)q[e]; want[e] = 0.5f * (float)q[e]; }
        tq_ggml_type(15)->dequantize_row(b, got, 256);
        check_exact("Q8_K", got, want, 256);
        /* IQ4_XS: ls = 4 bits of scales_l[ib/2] (nibble ib%2) | 2 bits of scales_h << 4 */
        memset(b, 0, sizeof b);
        uint16_t sh = 0;
        for (int ib = 0; ib < 8; ib++) {
            sc[ib] = rnd(64);
            b[4 + ib / 2] |= (uint8_t)((sc[ib] & 15) << (4 * (ib % 2)));
            sh = (uint16_t)(sh | (sc[ib] >> 4) << (2 * ib));
        }
        tq_st16(b, H(0.25f));
        tq_st16(b + 2, sh);
        for (int e = 0; e < 256; e++) {
            int ib = e / 32, j = e % 32;
            q[e] = rnd(16);
            b[8 + 16 * ib + j % 16] |= (uint8_t)(q[e] << (j >= 16 ? 4 : 0));
            want[e] = 0.25f * (float)(sc[ib] - 32) * (float)K[q[e]];
        }
        tq_ggml_type(23)->dequantize_row(b, got, 256);
        check_exact("IQ4_XS", got, want, 256);
    }
}

static void kat_ternary_plain(void) {
    TQ_CASE("known answers: TQ1_0 TQ2_0 F16 BF16 F32");
    uint8_t b[600];
    int q[256];
    float want[256], got[256];
    for (int rep = 0; rep < 10; rep++) {
        memset(b, 0, sizeof b);
        for (int e = 0; e < 256; e++) { q[e] = rnd(3); put2(b, e, q[e]); want[e] = 1.5f * (float)(q[e] - 1); }
        tq_st16(b + 64, H(1.5f));
        tq_ggml_type(35)->dequantize_row(b, got, 256);
        check_exact("TQ2_0", got, want, 256);
        /* TQ1_0: a byte holds ceil(v * 256 / 243), v the base-3 number of its
         * trits (first most significant); the element of trit n of byte m is
         * m + 32n, 160 + (m-32) + 16n, 240 + (m-48) + 4n (4 trits, then 0) */
        memset(b, 0, sizeof b);
        for (int e = 0; e < 256; e++) q[e] = rnd(3);
        for (int m = 0; m < 52; m++) {
            int v = 0;
            for (int n = 0; n < 5; n++) {
                int e = m < 32 ? m + 32 * n : m < 48 ? 160 + (m - 32) + 16 * n : 240 + (m - 48) + 4 * n;
                v = 3 * v + (m >= 48 && n == 4 ? 0 : q[e]);
            }
            b[m] = (uint8_t)((v * 256 + 242) / 243);
        }
        tq_st16(b + 52, H(2.0f));
        for (int e = 0; e < 256; e++) want[e] = 2.0f * (float)(q[e] - 1);
        tq_ggml_type(34)->dequantize_row(b, got, 256);
        check_exact("TQ1_0", got, want, 256);
    }
    /* F16 / BF16 / F32 */
    static const uint16_t h[] = {0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0xfc00};
    static const float hv[] = {0.0f, -0.0f, 1.0f, -2.0f, 65504.0f, 5.9604644775390625e-08f, INFINITY, -INFINITY};
    for (int i = 0; i < 8; i++) tq_st16(b + 2 * i, h[i]);
    tq_ggml_type(1)->dequantize_row(b, got, 8);
    check_exact("F16", got, hv, 8);
    static const uint16_t bf[] = {0x3f80, 0xc0a0, 0x0000, 0x7f80};
    static const float bv[] = {1.0f, -5.0f, 0.0f, INFINITY};
    for (int i = 0; i < 4; i++) tq_st16(b + 2 * i, bf[i]);
    tq_ggml_type(30)->dequantize_row(b, got, 4);
    check_exact("BF16", got, bv, 4);
    for (int i = 0; i < 8; i++) { uint32_t u; memcpy(&u, &hv[i], 4); tq_st32(b + 4 * i, u); }
    tq_ggml_type(0)->dequantize_row(b, got, 8);
    check_exact("F32", got, hv, 8);
}

/* ---- helpers -------------------------------------------------------------- */
static void rounding(void) {
    TQ_CASE("rounding helpers: nearest_int ties to even, fp16 NaN as ggml");
    CHECK_EQ_INT(tq_ggml_nearest_int(0.5f), 0);
    CHECK_EQ_INT(tq_ggml_nearest_int(1.5f), 2);
    CHECK_EQ_INT(tq_ggml_nearest_int(2.5f), 2);
    CHECK_EQ_INT(tq_ggml_nearest_int(-0.5f), 0);
    CHECK_EQ_INT(tq_ggml_nearest_int(-1.5f), -2);
    CHECK_EQ_INT(tq_ggml_nearest_int(-3.7f), -4);
    CHECK_EQ_INT(tq_ggml_nearest_int(4194303.0f), 4194303);
    CHECK_EQ_INT(tq_ggml_fp16(NAN), 0x7e00);
    CHECK_EQ_INT(tq_ggml_fp16(-NAN), 0xfe00);
    CHECK_EQ_INT(tq_ggml_fp16(65520.0f), 0x7c00);       /* rounds up to inf */
    CHECK_EQ_INT(tq_ggml_fp16(65519.0f), 0x7bff);
    CHECK_EQ_INT(tq_ggml_fp16(1.0f + 1.0f / 2048), 0x3c00);   /* tie to even */
    CHECK_EQ_INT(tq_ggml_fp16(1.0f + 3.0f / 2048), 0x3c02);
    CHECK_EQ_INT(tq_ggml_fp16(2.98023224e-08f), 0x0000);       /* 2^-25: tie to even (0) */
    CHECK_EQ_INT(tq_f32_to_bf16(1.00390625f), 0x3f80);         /* tie to even */
    CHECK_EQ_INT(tq_ggml_trunc(16.9f, 0, 15), 15);
    CHECK_EQ_INT(tq_ggml_trunc(NAN, 0, 15), 0);
    CHECK_EQ_INT(tq_ggml_trunc(3.99f, 0, 15), 3);
}

/* FORMATS.md §3.9: the libm-free input */
static void lcg_input(float *x, int n) {
    uint32_t s = 12345;
    for (int i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        int v = (int)((s >> 9) & 0xFFFF) - 32768;
        x[i] = (float)v / 8192.0f;
    }
}

static void q8_0_worked_example(void) {
    TQ_CASE("Q8_0 of the LCG input = the bytes of the FORMATS.md §2.6 example");
    float x[512];
    lcg_input(x, 512);
    CHECK(x[0] == 3.4388427734375f && x[1] == 0.0648193359375f && x[2] == -2.420166015625f && x[3] == 2.6654052734375f);
    static const char *hex = "07286d02b35590d70f2ded72568f90b00ab9bd36ff897f8d57308f02d7db9082"
                             "96230628bd391d79f030d85b04ade9779d8965a54a5ae7c515897f845b3117f0"
                             "1efd1bff";
    uint8_t want[68], got[68];
    for (int i = 0; i < 68; i++) { unsigned v; sscanf(hex + 2 * i, "%2x", &v); want[i] = (uint8_t)v; }
    tq_error e;
    CHECK_OK(tq_ggml_quantize(8, x, got, 64, "kat", &e), e);
    CHECK(memcmp(got, want, 68) == 0);
}

/* upstream's tolerance measure: sqrt(sum diff^2) / n */
static double rt_err(int type, const float *x, int64_t n) {
    const tq_ggml_type_info *t = tq_ggml_type(type);
    uint8_t *b = malloc((size_t)(n / t->block) * t->type_size);
    float *y = malloc(sizeof(float) * (size_t)n);
    t->quantize_row_ref(x, b, n);
    t->dequantize_row(b, y, n);
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
    free(b);
    free(y);
    return sqrt(s) / (double)n;
}

static void round_trips(void) {
    TQ_CASE("quantize -> dequantize error bounds per type");
    static const struct { int id; double tol; } T[] = {
        {0, 0}, {1, 0.002}, {30, 0.002}, {2, 0.002}, {3, 0.002}, {6, 0.002}, {7, 0.002}, {8, 0.002}, {10, 0.0075},
        {11, 0.004}, {12, 0.002}, {13, 0.002}, {14, 0.002}, {15, 0.002}, {34, 0.01}, {35, 0.01},
    };
    float x[4096];
    for (int off = 0; off < 2; off++) {
        for (int i = 0; i < 4096; i++) x[i] = 0.1f + 2.0f * cosf((float)(i + off));
        for (size_t k = 0; k < sizeof T / sizeof *T; k++) {
            double e = rt_err(T[k].id, x, 4096);
            CHECK_MSG(e <= T[k].tol, "%s offset %d: error %g over %g", tq_ggml_type(T[k].id)->name, off, e, T[k].tol);
        }
    }
    /* more bits, less error: a check that the encoders are not all the same */
    float y[4096];
    lcg_input(y, 512);
    for (int i = 512; i < 4096; i++) y[i] = y[i - 512] * 0.5f;
    CHECK(rt_err(14, y, 4096) < rt_err(12, y, 4096) && rt_err(12, y, 4096) < rt_err(11, y, 4096) &&
          rt_err(11, y, 4096) < rt_err(10, y, 4096));
    CHECK(rt_err(8, y, 4096) < rt_err(7, y, 4096) && rt_err(7, y, 4096) < rt_err(3, y, 4096));
}

static void special_inputs(void) {
    TQ_CASE("quantize special inputs: zeros, constant, one outlier, negative max");
    static const int Q[] = {0, 1, 30, 2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 15, 34, 35};
    float x[256], y[256];
    uint8_t b[400];
    for (size_t k = 0; k < sizeof Q / sizeof *Q; k++) {
        const tq_ggml_type_info *t = tq_ggml_type(Q[k]);
        int64_t n = t->block == 1 ? 32 : t->block;
        /* zeros -> all-zero values */
        memset(x, 0, sizeof x);
        memset(b, 0xAB, sizeof b);
        t->quantize_row_ref(x, b, n);
        t->dequantize_row(b, y, n);
        int nz = 0;
        for (int64_t i = 0; i < n; i++) nz += y[i] != 0.0f;
        CHECK_MSG(nz == 0, "%s: zeros decode to %d non-zeros", t->name, nz);
        /* a constant 1.5 (exact in fp16): every value back within 1/8 */
        for (int64_t i = 0; i < n; i++) x[i] = 1.5f;
        t->quantize_row_ref(x, b, n);
        t->dequantize_row(b, y, n);
        double worst = 0;
        for (int64_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)y[i] - 1.5));
        CHECK_MSG(worst <= 0.125, "%s: constant 1.5 comes back off by %g", t->name, worst);
        /* one outlier among small values (negative: the signed max is negative) */
        for (int sign = -1; sign <= 1; sign += 2) {
            for (int64_t i = 0; i < n; i++) x[i] = 0.01f * (float)((i * 7) % 5 - 2);
            x[5] = 100.0f * (float)sign;
            t->quantize_row_ref(x, b, n);
            t->dequantize_row(b, y, n);
            CHECK_MSG(fabs((double)y[5] - x[5]) <= 100.0 * 0.06, "%s: outlier %g comes back as %g", t->name, x[5], y[5]);
        }
    }
    /* Q4_0 maps the extreme element to code 0 exactly: y = -8 d = max (d exact in fp16 here) */
    for (int i = 0; i < 32; i++) x[i] = (float)(i % 7) * 0.25f - 0.5f;
    x[9] = -4.0f;
    tq_ggml_type(2)->quantize_row_ref(x, b, 32);
    tq_ggml_type(2)->dequantize_row(b, y, 32);
    CHECK(y[9] == -4.0f && (b[2 + 9] & 15) == 0 && tq_ld16(b) == H(0.5f));
    /* Q8_0 rounds half away from zero: 63.5/127 of amax */
    for (int i = 0; i < 32; i++) x[i] = 0;
    x[0] = 127.0f;
    x[1] = 63.5f;
    x[2] = -63.5f;
    tq_ggml_type(8)->quantize_row_ref(x, b, 32);
    CHECK((int8_t)b[2] == 127 && (int8_t)b[3] == 64 && (int8_t)b[4] == -64);
}

static void determinism(void) {
    TQ_CASE("encoders are deterministic and write only their blocks");
    static const int Q[] = {2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 15, 34, 35};
    float x[512];
    uint64_t s = 99;
    for (int i = 0; i < 512; i++) x[i] = tq_t_randn(&s);
    for (size_t k = 0; k < sizeof Q / sizeof *Q; k++) {
        const tq_ggml_type_info *t = tq_ggml_type(Q[k]);
        size_t nb = 512 / (size_t)t->block * t->type_size;
        uint8_t a[1200], c[1200];
        memset(a, 0x11, sizeof a);
        memset(c, 0x77, sizeof c);
        t->quantize_row_ref(x, a, 512);
        t->quantize_row_ref(x, c, 512);
        CHECK_MSG(memcmp(a, c, nb) == 0 && a[nb] == 0x11 && c[nb] == 0x77, "%s", t->name);
    }
}

void tq_tests(void) {
    table_rows();
    checked_entry_points();
    kat_legacy();
    kat_k();
    kat_ternary_plain();
    rounding();
    q8_0_worked_example();
    round_trips();
    special_inputs();
    determinism();
}
