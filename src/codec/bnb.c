/*
 * bnb.c — bitsandbytes' stored layouts (transformers checkpoints saved with
 * load_in_4bit / load_in_8bit, quant_method "bitsandbytes"), decode only:
 * io/qlayout_bnb.c groups the entries, this file decodes them.
 *
 * Logical tensor: the nn.Linear weight W [out, in] (rows = out, cols = in).
 *
 * bnb-nf4, bnb-fp4 (4-bit, FORMATS.md §7.2): bits 4, granularity group with
 * group B = the quant_state's blocksize over the FLATTENED row-major tensor
 * (a block may span rows; pad is set when in % B != 0 so the qparams check
 * passes). nblocks = ceil(out * in / B).
 *   codes  "weight" U8 [ceil(out * in / 2), 1]: element k (flat) is the high
 *          nibble of byte k / 2 when k is even, the low nibble when odd.
 *   aux[0] "absmax" F32 [nblocks]: absmax_b.
 *   -dq (double quant; alpha = quant_state nested_offset):
 *   aux[0] "absmax" U8 [nblocks]: 8-bit codes of absmax_b - offset;
 *   aux[1] "nested_absmax" F32 [ceil(nblocks / 256)];
 *   aux[2] "nested_quant_map" F32 [256];
 *          absmax_b = nested_quant_map[absmax[b]] * nested_absmax[b / 256]
 *                     + offset (float32, as bitsandbytes computes it).
 * Decode: W = CODE[nibble] * absmax_b (float32), CODE the NF4 table or the
 * FP4 table (values 0, 0.0625, 8, 12, 4, 6, 2, 3 and their negatives, entry 8 +0,
 * divided by 12 in float32). The file's "quant_map" must be that table (the
 * row checks it, bit for bit); bitsandbytes then casts to the model dtype.
 *
 * bnb-int8 (LLM.int8, FORMATS.md §7.1): bits 8, granularity channel.
 *   codes  "weight" I8 [out, in]; aux[0] "SCB" F32 [out].
 * Decode: W[j][i] = ((float)q * SCB[j]) * 7.874015718698502e-3f, the two
 *   float32 products of bitsandbytes' int8_vectorwise_dequant.
 */
#include "codec/codec.h"
#include <math.h>

static const float NF4[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f, -0.28444138169288635f,
    -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
    0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
};
/* entry 8 is +0: bitsandbytes builds the table from the integer -0 (checked against its
 * get_4bit_type("fp4") and the quant_map transformers saves) */
static const float FP4_RAW[16] = {0, 0.0625f, 8, 12, 4, 6, 2, 3, 0, -0.0625f, -8, -12, -4, -6, -2, -3};

/* the code book of a 4-bit codec id (fp4 computed as bitsandbytes does) */
void tq_bnb_code(int fp4, float code[16]) {
    for (int i = 0; i < 16; i++) code[i] = fp4 ? FP4_RAW[i] / 12.0f : NF4[i];
}

static int b4_layout(int dq, const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd, int64_t cs[2],
                     tq_aux_desc aux[TQ_MAX_AUX]) {
    if (p->bits != 4 || p->gran != TQ_GRAN_GROUP || p->group < 1 || p->group > 1 << 20 || rows < 1 || cols < 1 ||
        rows > INT64_MAX / 4 / cols)
        return -1;
    int64_t n = rows * cols, nb = (n + p->group - 1) / p->group;
    *cd = TQ_DTYPE_U8;
    cs[0] = (n + 1) / 2;
    cs[1] = 1;
    if (!dq) {
        aux[0] = (tq_aux_desc){"absmax", TQ_DTYPE_F32, 1, {nb, 0}, 0};
        return 1;
    }
    if (!isfinite(p->alpha)) return -1;
    aux[0] = (tq_aux_desc){"absmax", TQ_DTYPE_U8, 1, {nb, 0}, 0};
    aux[1] = (tq_aux_desc){"nested_absmax", TQ_DTYPE_F32, 1, {(nb + 255) / 256, 0}, 0};
    aux[2] = (tq_aux_desc){"nested_quant_map", TQ_DTYPE_F32, 1, {256, 0}, 0};
    return 3;
}

static tq_status b4_rows(int fp4, int dq, const tq_qparams *p, int64_t rows, int64_t cols, int64_t r0, int64_t r1,
                         const void *codes, const void *const aux[TQ_MAX_AUX], float *out, tq_error *err) {
    (void)rows;
    float code[16];
    tq_bnb_code(fp4, code);
    const uint8_t *c = codes;
    int64_t b_prev = -1;
    float am = 0.0f;
    for (int64_t k = r0 * cols; k < r1 * cols; k++) {
        int64_t b = k / p->group;
        if (b != b_prev) {
            if (dq) {
                uint8_t q = ((const uint8_t *)aux[0])[b];
                am = tq_ld_f32(aux[2], q) * tq_ld_f32(aux[1], b / 256);
                am += p->alpha;
            } else {
                am = tq_ld_f32(aux[0], b);
            }
            if (!isfinite(am))
                return tq_err(err, TQ_E_FORMAT, "absmax of block %lld is %g (not finite)", (long long)b, (double)am);
            b_prev = b;
        }
        uint8_t byte = c[k / 2];
        out[k - r0 * cols] = code[k % 2 ? byte & 15 : byte >> 4] * am;
    }
    return TQ_OK;
}

static tq_status int8_rows(const tq_codec_impl *c, const tq_qparams *p, int64_t rows, int64_t cols, int64_t r0,
                           int64_t r1, const void *codes, const void *const aux[TQ_MAX_AUX], float *out,
                           tq_error *err) {
    (void)c; (void)p; (void)rows;
    const int8_t *q = codes;
    for (int64_t j = r0; j < r1; j++) {
        float scb = tq_ld_f32(aux[0], j);
        if (!isfinite(scb)) return tq_err(err, TQ_E_FORMAT, "SCB[%lld] is %g (not finite)", (long long)j, (double)scb);
        for (int64_t i = 0; i < cols; i++) out[(j - r0) * cols + i] = ((float)q[j * cols + i] * scb) * 7.874015718698502e-3f;
    }
    return TQ_OK;
}

static int int8_layout(const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd, int64_t cs[2],
                       tq_aux_desc aux[TQ_MAX_AUX]) {
    if (p->bits != 8 || p->gran != TQ_GRAN_CHANNEL || rows < 1 || cols < 1) return -1;
    *cd = TQ_DTYPE_I8;
    cs[0] = rows;
    cs[1] = cols;
    aux[0] = (tq_aux_desc){"SCB", TQ_DTYPE_F32, 1, {rows, 0}, 1};
    return 1;
}

static tq_status int8_dequantize(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes,
                                 const void *const aux[TQ_MAX_AUX], float *out, tq_error *err) {
    return int8_rows(NULL, p, rows, cols, 0, rows, codes, aux, out, err);
}

/* no per-block bound reported (verify compares values with the original) */
static tq_status bnb_range(const tq_qparams *p, const void *const aux[TQ_MAX_AUX], int64_t b, double *lo, double *hi,
                           tq_error *err) {
    (void)p; (void)aux; (void)b; (void)err;
    *lo = -INFINITY;
    *hi = INFINITY;
    return TQ_OK;
}

#define B4_ROW(fn, FP4, DQ)                                                                                        \
    static int fn##_layout(const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd, int64_t cs[2],          \
                           tq_aux_desc aux[TQ_MAX_AUX]) {                                                         \
        return b4_layout(DQ, p, rows, cols, cd, cs, aux);                                                         \
    }                                                                                                             \
    static tq_status fn##_rows(const tq_codec_impl *c, const tq_qparams *p, int64_t rows, int64_t cols, int64_t r0, \
                               int64_t r1, const void *codes, const void *const aux[TQ_MAX_AUX], float *out,        \
                               tq_error *err) {                                                                   \
        (void)c;                                                                                                  \
        return b4_rows(FP4, DQ, p, rows, cols, r0, r1, codes, aux, out, err);                                     \
    }                                                                                                             \
    static tq_status fn##_dequantize(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes,          \
                                     const void *const aux[TQ_MAX_AUX], float *out, tq_error *err) {              \
        return b4_rows(FP4, DQ, p, rows, cols, 0, rows, codes, aux, out, err);                                    \
    }
B4_ROW(nf4, 0, 0)
B4_ROW(fp4, 1, 0)
B4_ROW(nf4_dq, 0, 1)
B4_ROW(fp4_dq, 1, 1)

#define B4_L "codes U8 weight [ceil(rows*cols/2), 1], first of each pair in the high nibble, blocks over the flat tensor"
#define B4_IMPL(row, fn, ID, NAME, SUMMARY, LAYOUT)                                                                 \
    const tq_codec_impl row = {                                                                                   \
        .info = {ID, NAME, SUMMARY, 1u << 4, 1u << TQ_GRAN_GROUP, LAYOUT, 4, TQ_GRAN_GROUP, 64, 0, 0, 1},         \
        .layout = fn##_layout,                                                                                    \
        .dequantize = fn##_dequantize,                                                                            \
        .dequantize_rows = fn##_rows,                                                                             \
        .block_range = bnb_range,                                                                                 \
    };
B4_IMPL(tq_codec_bnb_nf4, nf4, TQ_CODEC_BNB_NF4, "bnb-nf4", "bitsandbytes NF4 checkpoints (float32 absmax), read only",
        B4_L "; absmax F32 [blocks]; decode only")
B4_IMPL(tq_codec_bnb_fp4, fp4, TQ_CODEC_BNB_FP4, "bnb-fp4", "bitsandbytes FP4 checkpoints (float32 absmax), read only",
        B4_L "; absmax F32 [blocks]; decode only")
B4_IMPL(tq_codec_bnb_nf4_dq, nf4_dq, TQ_CODEC_BNB_NF4_DQ, "bnb-nf4-dq",
        "bitsandbytes NF4 checkpoints, double-quantized absmax, read only",
        B4_L "; absmax U8 [blocks], nested_absmax F32 [ceil(blocks/256)], nested_quant_map F32 [256]; decode only")
B4_IMPL(tq_codec_bnb_fp4_dq, fp4_dq, TQ_CODEC_BNB_FP4_DQ, "bnb-fp4-dq",
        "bitsandbytes FP4 checkpoints, double-quantized absmax, read only",
        B4_L "; absmax U8 [blocks], nested_absmax F32 [ceil(blocks/256)], nested_quant_map F32 [256]; decode only")

const tq_codec_impl tq_codec_bnb_int8 = {
    .info = {TQ_CODEC_BNB_INT8, "bnb-int8", "bitsandbytes LLM.int8 checkpoints (int8 + SCB), read only", 1u << 8,
             1u << TQ_GRAN_CHANNEL, "codes I8 weight [rows, cols]; SCB F32 [rows] (row absmax); decode only", 8,
             TQ_GRAN_CHANNEL, 0, 0, 0, 1},
    .layout = int8_layout,
    .dequantize = int8_dequantize,
    .dequantize_rows = int8_rows,
    .block_range = bnb_range,
};
