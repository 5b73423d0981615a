/*
 * ggml.c — the codec row "ggml": a tensor stored in one of ggml's block types
 * (GGUF's quantized tensors, docs/formats/gguf.md), with the type in
 * tq_qparams.ggml_type. The block math is the ggml type table's
 * (src/ggml/ggml_types.h: bit-exact with ggml and gguf-py); this row only
 * states its layout, range and self-test in the codec table's terms.
 *
 * Parameters, for a logical [rows, cols] matrix (numpy order: cols is GGUF's
 * ne[0], the innermost dimension):
 *   ggml_type   a block type (block size > 1: Q4_0 ... TQ2_0, IQ*); the plain
 *               element types (F32, F16, BF16, I8 ...) are dtypes, not this codec
 *   bits        the type's code width, the bits of each weight's own code
 *               without the block scales (CODE_BITS below: Q4_K 4, Q6_K 6,
 *               Q8_0 8, TQ2_0 2; a trit counts 2)
 *   gran/group  group, with group = the type's block size; cols a multiple of it
 * Storage: codes U8 [rows, cols / block * type_size], each row the row's
 * blocks back to back exactly as in the GGUF file; no side tensors (every
 * block embeds its scales).
 *
 * Decoding a type trueq has no dequantizer for (IQ2_XXS, Q8_1, ...) is
 * TQ_E_UNSUPPORTED naming the type; encoding one without a reference
 * quantizer likewise. A block whose scale is Inf/NaN would decode to
 * non-finite values: that is TQ_E_FORMAT, and quantizing values whose block
 * scale overflows the type's fp16 is TQ_E_VALUE (ggml would store Inf).
 *
 * Range of a block (block_range_codes): every type decodes each weight as a
 * function of its own code that is monotone in the code's bits (affine
 * d * sc * q - dmin * m, or a monotone table as IQ4_NL's), with the scales
 * fixed by the block's other bytes. So the smallest and largest values any
 * codes can decode to are those of the block with every code byte set to its
 * lowest and to its highest pattern (0x00 / 0xFF; 0x80 / 0x7F for the
 * int8-coded Q8_0 and Q8_K), keeping the scale bytes: CODE_BYTES names the
 * code bytes of each block.
 */
#include "codec/codec.h"
#include "ggml/ggml_types.h"
#include <math.h>
#include <stdlib.h>

/* Code width of each block type (index: ggml type id; 0 = not this codec). */
static const int8_t CODE_BITS[TQ_GGML_TYPE_COUNT] = {
    [TQ_GGML_Q4_0] = 4, [TQ_GGML_Q4_1] = 4, [TQ_GGML_Q5_0] = 5, [TQ_GGML_Q5_1] = 5, [TQ_GGML_Q8_0] = 8,
    [TQ_GGML_Q8_1] = 8, [TQ_GGML_Q2_K] = 2, [TQ_GGML_Q3_K] = 3, [TQ_GGML_Q4_K] = 4, [TQ_GGML_Q5_K] = 5,
    [TQ_GGML_Q6_K] = 6, [TQ_GGML_Q8_K] = 8, [TQ_GGML_IQ2_XXS] = 2, [TQ_GGML_IQ2_XS] = 2, [TQ_GGML_IQ3_XXS] = 3,
    [TQ_GGML_IQ1_S] = 1, [TQ_GGML_IQ4_NL] = 4, [TQ_GGML_IQ3_S] = 3, [TQ_GGML_IQ2_S] = 2, [TQ_GGML_IQ4_XS] = 4,
    [TQ_GGML_IQ1_M] = 1, [TQ_GGML_TQ1_0] = 2, [TQ_GGML_TQ2_0] = 2, [TQ_GGML_MXFP4] = 4, [TQ_GGML_NVFP4] = 4,
    [TQ_GGML_Q1_0] = 1, [TQ_GGML_Q2_0] = 2,
};

/* The code bytes [begin, end) of one block and their lowest / highest fill
 * (types with a dequantizer; end == 0: no range rule). Offsets as in
 * FORMATS.md §3.3-3.6. */
typedef struct code_bytes { uint16_t begin, end; uint8_t lo, hi; } code_bytes;
static const code_bytes CODE_BYTES[TQ_GGML_TYPE_COUNT] = {
    [TQ_GGML_Q4_0] = {2, 18, 0x00, 0xff},    /* d | qs[16]                         */
    [TQ_GGML_Q4_1] = {4, 20, 0x00, 0xff},    /* d | m | qs[16]                     */
    [TQ_GGML_Q5_0] = {2, 22, 0x00, 0xff},    /* d | qh[4] | qs[16]                 */
    [TQ_GGML_Q5_1] = {4, 24, 0x00, 0xff},    /* d | m | qh[4] | qs[16]             */
    [TQ_GGML_Q8_0] = {2, 34, 0x80, 0x7f},    /* d | int8 qs[32]                    */
    [TQ_GGML_Q2_K] = {16, 80, 0x00, 0xff},   /* scales[16] | qs[64] | d | dmin     */
    [TQ_GGML_Q3_K] = {0, 96, 0x00, 0xff},    /* hmask[32] | qs[64] | scales | d    */
    [TQ_GGML_Q4_K] = {16, 144, 0x00, 0xff},  /* d | dmin | scales[12] | qs[128]    */
    [TQ_GGML_Q5_K] = {16, 176, 0x00, 0xff},  /* d | dmin | scales | qh[32] | qs    */
    [TQ_GGML_Q6_K] = {0, 192, 0x00, 0xff},   /* ql[128] | qh[64] | scales | d      */
    [TQ_GGML_Q8_K] = {4, 260, 0x80, 0x7f},   /* f32 d | int8 qs[256] | bsums       */
    [TQ_GGML_IQ4_NL] = {2, 18, 0x00, 0xff},  /* d | qs[16] (monotone grid)         */
    [TQ_GGML_IQ4_XS] = {8, 136, 0x00, 0xff}, /* d | scales_h | scales_l[4] | qs    */
    [TQ_GGML_TQ1_0] = {0, 52, 0x00, 0xff},   /* qs[48] | qh[4] | d (0xff: trits 2) */
    [TQ_GGML_TQ2_0] = {0, 64, 0x00, 0xff},   /* qs[64] | d                         */
};

/* The block type of p, or NULL when p is not a valid ggml codec setting. */
static const tq_ggml_type_info *type_of(const tq_qparams *p) {
    const tq_ggml_type_info *t = tq_ggml_type(p->ggml_type);
    if (!t || t->block < 2 || p->ggml_type >= TQ_GGML_TYPE_COUNT || CODE_BITS[p->ggml_type] == 0) return NULL;
    if (p->bits != CODE_BITS[p->ggml_type] || p->gran != TQ_GRAN_GROUP || p->group != t->block || p->pad) return NULL;
    return t;
}

static int ggml_layout(const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd, int64_t cs[2],
                       tq_aux_desc aux[TQ_MAX_AUX]) {
    (void)aux;
    const tq_ggml_type_info *t = type_of(p);
    if (!t || cols % t->block) return -1;
    *cd = TQ_DTYPE_U8;
    cs[0] = rows;
    cs[1] = cols / t->block * (int64_t)t->type_size;
    return 0;
}

static int64_t ggml_code_bytes(const tq_qparams *p, int64_t cols) {
    const tq_ggml_type_info *t = tq_ggml_type(p->ggml_type);
    return t && t->block ? cols / t->block * (int64_t)t->type_size : -1;
}

static bool all_finite(const float *y, int64_t n) {
    int bad = 0;
    for (int64_t i = 0; i < n; i++) bad |= !isfinite(y[i]);
    return !bad;
}

static tq_status ggml_dequantize(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes,
                                 const void *const aux[TQ_MAX_AUX], float *out, tq_error *err) {
    (void)aux;
    const tq_ggml_type_info *t = type_of(p);
    if (!t) return tq_err(err, TQ_E_INTERNAL, "codec ggml: unchecked parameters");
    if (!t->dequantize_row)
        return tq_err(err, TQ_E_UNSUPPORTED, "unsupported ggml type %s (%d): trueq has no dequantizer for it", t->name,
                      p->ggml_type);
    int64_t rb = ggml_code_bytes(p, cols);
    for (int64_t r = 0; r < rows; r++) {
        float *y = out + r * cols;
        t->dequantize_row((const uint8_t *)codes + r * rb, y, cols);
        if (!all_finite(y, cols))
            return tq_err(err, TQ_E_FORMAT, "ggml %s: row %lld decodes to a non-finite value (a block scale is Inf or NaN)",
                          t->name, (long long)r);
    }
    return TQ_OK;
}

static tq_status ggml_quantize(const tq_qparams *p, const float *w, int64_t rows, int64_t cols, void *codes,
                               void *const aux[TQ_MAX_AUX], tq_error *err) {
    (void)aux;
    const tq_ggml_type_info *t = type_of(p);
    if (!t) return tq_err(err, TQ_E_INTERNAL, "codec ggml: unchecked parameters");
    if (!t->quantize_row_ref)
        return tq_err(err, TQ_E_UNSUPPORTED, "unsupported ggml type %s (%d): trueq has no reference quantizer for it",
                      t->name, p->ggml_type);
    int64_t rb = ggml_code_bytes(p, cols);
    float *y = t->dequantize_row ? malloc(sizeof(float) * (size_t)(cols ? cols : 1)) : NULL;
    if (t->dequantize_row && !y) return tq_err(err, TQ_E_NOMEM, "out of memory");
    tq_status st = TQ_OK;
    for (int64_t r = 0; r < rows && !st; r++) {
        uint8_t *row = (uint8_t *)codes + r * rb;
        t->quantize_row_ref(w + r * cols, row, cols);
        if (y) {   /* a scale beyond the type's range would decode to Inf/NaN */
            t->dequantize_row(row, y, cols);
            if (!all_finite(y, cols))
                st = tq_err(err, TQ_E_VALUE, "ggml %s: row %lld holds values too large for the type (a block scale "
                            "overflows)", t->name, (long long)r);
        }
    }
    free(y);
    return st;
}

static tq_status ggml_range(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes, int64_t b, double *lo,
                            double *hi, tq_error *err) {
    const tq_ggml_type_info *t = type_of(p);
    const code_bytes *cb = t ? &CODE_BYTES[p->ggml_type] : NULL;
    if (!t || !t->dequantize_row || cb->end == 0)
        return tq_err(err, TQ_E_UNSUPPORTED, "ggml %s: no range rule (trueq cannot decode the type)", t ? t->name : "?");
    int64_t per_row = cols / t->block;
    if (b < 0 || per_row <= 0 || b >= rows * per_row)
        return tq_err(err, TQ_E_ARG, "ggml %s: block %lld of a [%lld, %lld] tensor", t->name, (long long)b,
                      (long long)rows, (long long)cols);
    const uint8_t *src = (const uint8_t *)codes + (b / per_row) * ggml_code_bytes(p, cols) + (b % per_row) * (int64_t)t->type_size;
    uint8_t blk[512];
    float y[256];
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int k = 0; k < 2; k++) {
        memcpy(blk, src, t->type_size);
        memset(blk + cb->begin, k ? cb->hi : cb->lo, (size_t)(cb->end - cb->begin));
        t->dequantize_row(blk, y, t->block);
        for (int64_t i = 0; i < t->block; i++) {
            if (y[i] < *lo) *lo = y[i];
            if (y[i] > *hi) *hi = y[i];
        }
    }
    return TQ_OK;
}

static const char *ggml_params_str(const tq_qparams *p, char *buf, size_t cap) {
    const tq_ggml_type_info *t = tq_ggml_type(p->ggml_type);
    snprintf(buf, cap, "ggml/%s", t && t->block > 1 ? t->name : "?");
    return buf;
}

const char *tq_ggml_type_name(int ggml_type) {
    const tq_ggml_type_info *t = tq_ggml_type(ggml_type);
    return t ? t->name : NULL;
}

tq_status tq_qparams_ggml(int ggml_type, tq_qparams *q, tq_error *err) {
    const tq_ggml_type_info *t = tq_ggml_type(ggml_type);
    if (!t || t->block < 2 || CODE_BITS[ggml_type] == 0)
        return tq_err(err, TQ_E_ARG, "ggml type %d (%s) is not a block type of the codec ggml", ggml_type,
                      t ? t->name : "unknown");
    memset(q, 0, sizeof *q);
    q->codec = TQ_CODEC_GGML;
    q->ggml_type = ggml_type;
    q->bits = CODE_BITS[ggml_type];
    q->gran = TQ_GRAN_GROUP;
    q->group = t->block;
    return TQ_OK;
}

/* ---- self-test: layout, range, finiteness, known answers ------------------- */

/* fp16 bit patterns of small exact values */
#define H_ONE 0x3c00u
#define H_HALF 0x3800u

/* Q8_0, d = 0.5, q_i = i - 16: w_i = 0.5 * (i - 16) */
static void known_q8_0(uint8_t *b, float *want) {
    tq_st16(b, H_HALF);
    for (int i = 0; i < 32; i++) { b[2 + i] = (uint8_t)(int8_t)(i - 16); want[i] = 0.5f * (float)(i - 16); }
}
/* Q4_0, d = 1: byte j holds element j (low nibble) and j + 16 (high);
 * q_j = j, q_{j+16} = 15 - j; w = (q - 8) * d */
static void known_q4_0(uint8_t *b, float *want) {
    tq_st16(b, H_ONE);
    for (int j = 0; j < 16; j++) {
        b[2 + j] = (uint8_t)(j | (15 - j) << 4);
        want[j] = (float)(j - 8);
        want[j + 16] = (float)(7 - j);
    }
}
/* Q4_K, d = 1, dmin = 0.5; sub-blocks 0-3: scale 2, min 1; 4-7: scale 3,
 * min 1 (6-bit packing: bytes 0-3 scales, 4-7 mins, 8-11 the low nibbles of
 * sub-blocks 4-7's scale | min << 4); every qs byte 0x5a: even sub-blocks
 * take the low nibble 10, odd the high nibble 5; w = d*sc*q - dmin*m */
static void known_q4_k(uint8_t *b, float *want) {
    tq_st16(b, H_ONE);
    tq_st16(b + 2, H_HALF);
    for (int i = 0; i < 4; i++) { b[4 + i] = 2; b[8 + i] = 1; b[12 + i] = 0x13; }
    memset(b + 16, 0x5a, 128);
    for (int e = 0; e < 256; e++) {
        int j = e / 32;
        float sc = j < 4 ? 2.0f : 3.0f;
        want[e] = sc * (j % 2 ? 5.0f : 10.0f) - 0.5f;
    }
}
/* TQ2_0, d = 0.5: element e takes bits 2*((e%128)/32) of byte 32*(e/128) +
 * e%32; every byte 0xe4 = codes 0,1,2,3 by bit pair: w = (q - 1) * d */
static void known_tq2_0(uint8_t *b, float *want) {
    memset(b, 0xe4, 64);
    tq_st16(b + 64, H_HALF);
    for (int e = 0; e < 256; e++) want[e] = 0.5f * (float)((e % 128) / 32 - 1);
}

#define GQ(type, bits, block) {TQ_CODEC_GGML, bits, TQ_GRAN_GROUP, block, 0, 0.0f, type, 0}
static const tq_selftest_known KNOWN[] = {
    {GQ(TQ_GGML_Q8_0, 8, 32), "/Q8_0", 32, known_q8_0},
    {GQ(TQ_GGML_Q4_0, 4, 32), "/Q4_0", 32, known_q4_0},
    {GQ(TQ_GGML_Q4_K, 4, 256), "/Q4_K", 256, known_q4_k},
    {GQ(TQ_GGML_TQ2_0, 2, 256), "/TQ2_0", 256, known_tq2_0},
};
/* every type trueq both encodes and decodes, rows of 256 */
static const tq_selftest_case CASES[] = {
    {GQ(TQ_GGML_Q4_0, 4, 32), ""}, {GQ(TQ_GGML_Q4_1, 4, 32), ""}, {GQ(TQ_GGML_Q5_0, 5, 32), ""},
    {GQ(TQ_GGML_Q5_1, 5, 32), ""}, {GQ(TQ_GGML_Q8_0, 8, 32), ""}, {GQ(TQ_GGML_Q2_K, 2, 256), ""},
    {GQ(TQ_GGML_Q3_K, 3, 256), ""}, {GQ(TQ_GGML_Q4_K, 4, 256), ""}, {GQ(TQ_GGML_Q5_K, 5, 256), ""},
    {GQ(TQ_GGML_Q6_K, 6, 256), ""}, {GQ(TQ_GGML_Q8_K, 8, 256), ""}, {GQ(TQ_GGML_TQ1_0, 2, 256), ""},
    {GQ(TQ_GGML_TQ2_0, 2, 256), ""},
};
static const tq_codec_selftest SELFTEST = {
    CASES, (int)(sizeof CASES / sizeof CASES[0]), TQ_DTYPE_U8, TQ_DTYPE_U8, 0, 0, NULL, NULL,
    256, ggml_code_bytes, KNOWN, (int)(sizeof KNOWN / sizeof KNOWN[0]), 0};

#define CODE_WIDTHS ((1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8))

const tq_codec_impl tq_codec_ggml = {
    {TQ_CODEC_GGML, "ggml", "a ggml block type as in GGUF files (Q4_K, Q8_0, ...): scales inside each block",
     CODE_WIDTHS, 1u << TQ_GRAN_GROUP,
     "codes U8 [rows, cols/block*type_size]: the type's blocks as in the GGUF file; no side tensors", 8,
     TQ_GRAN_GROUP, 32, 0, TQ_GGML_Q8_0},
    NULL, ggml_layout, ggml_quantize, ggml_dequantize, tq_codec_rows_sliced, NULL, &SELFTEST,
    1u << TQ_GRAN_GROUP, ggml_range, ggml_params_str, NULL};
