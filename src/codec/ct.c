/*
 * ct.c — compressed-tensors' stored layouts (llm-compressor / vLLM
 * checkpoints, config.json quant_method "compressed-tensors"), decode only:
 * io/qlayout_ct.c groups the entries, this file decodes them.
 *
 * Logical tensor: the nn.Linear weight W [out, in] (rows = out, cols = in).
 * qparams: granularity tensor (one scale), channel (one per row) or group
 * (G inputs along each row, pad when in % G != 0); alpha = the tq_dtype of
 * the stored scales (F16 6, BF16 7, F32 10 or 0: the model's dtype), a fact
 * of the checkpoint. Scales S: tensor F [1], channel F [out, 1], group
 * F [out, ceil(in / G)]; s(j, i) the one covering W[j][i].
 *
 *   ct-pack / ct-pack-asym (format "pack-quantized"), bits 2, 4 or 8:
 *     codes  "weight_packed" I32 [out, ceil(in / (32/b))]: element i of row
 *            j is bits [b*(i % (32/b)), ...) of word i / (32/b), LSB first;
 *            q = that - 2^(b-1) (the packer added 2^(b-1)).
 *     aux[0] "weight_scale" S.
 *     aux[1] (asym, channel or group) "weight_zero_point" I32
 *            [ceil(out / (32/b)), ngroups]: packed the same way along the
 *            output dimension (element j of column g is bits of word
 *            [j / (32/b)][g]), minus 2^(b-1); symmetric: zp = 0.
 *   ct-int / ct-int-asym (format "int-quantized", "naive-quantized"), 8 bits:
 *     codes  "weight" I8 [out, in] = q; aux[0] S; aux[1] (asym)
 *            "weight_zero_point" I8, the shape of S.
 *   ct-fp8 (format "float-quantized"), 8 bits: codes "weight" F8_E4M3
 *     [out, in] = q (as float); aux[0] S.
 * Decode: W[j][i] = (q - zp) * s(j, i), computed in float32 as
 *   (float)(q - zp) * (float)s — exact; compressed-tensors' own decompress
 *   does the same product in the scales' dtype, i.e. this value rounded once
 *   to it (the ledger's original dtype).
 */
#include "codec/codec.h"
#include <math.h>

/* alpha 0 (the defaults) reads F32 scales */
static tq_dtype sdtype(float a) { return a == 0.0f ? TQ_DTYPE_F32 : (tq_dtype)(int)a; }
static bool sdtype_ok(float a) { return a == 0.0f || a == (float)TQ_DTYPE_F16 || a == (float)TQ_DTYPE_BF16 || a == (float)TQ_DTYPE_F32; }

static float ld_scale(tq_dtype dt, const uint8_t *p, int64_t k) {
    if (dt == TQ_DTYPE_F32) return tq_ld_f32(p, k);
    uint16_t h = tq_ld16(p + 2 * k);
    return dt == TQ_DTYPE_BF16 ? tq_bf16_to_f32(h) : tq_f16_to_f32(h);
}

static int64_t ngroups(const tq_qparams *p, int64_t cols) {
    return p->gran == TQ_GRAN_GROUP ? (cols + p->group - 1) / p->group : 1;
}

/* the scale's layout desc for tensor/channel/group */
static tq_aux_desc scale_desc(const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype dt, const char *sfx) {
    if (p->gran == TQ_GRAN_TENSOR) return (tq_aux_desc){sfx, dt, 1, {1, 0}, 0};
    return (tq_aux_desc){sfx, dt, 2, {rows, ngroups(p, cols)}, 1};
}

/* index of s(j, i) in S */
static inline int64_t s_at(const tq_qparams *p, int64_t ng, int64_t j, int64_t i) {
    return p->gran == TQ_GRAN_TENSOR ? 0 : j * ng + (p->gran == TQ_GRAN_GROUP ? i / p->group : 0);
}

enum { K_PACK, K_INT, K_FP8 };

/* FP8 E4M3 (the "fn" variant: bias 7, no infinities, S.1111.111 NaN) */
float tq_fp8_e4m3_to_f32(uint8_t b) {
    int e = b >> 3 & 15, m = b & 7;
    if ((b & 0x7F) == 0x7F) return NAN;
    float v = e ? ldexpf((float)(8 + m), e - 10) : ldexpf((float)m, -9);
    return b & 0x80 ? -v : v;
}

static int ct_layout_k(int kind, int asym, const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd,
                       int64_t cs[2], tq_aux_desc aux[TQ_MAX_AUX]) {
    int b = p->bits;
    if (!sdtype_ok(p->alpha) || rows < 1 || cols < 1 || rows > INT64_MAX / 64 || cols > INT64_MAX / 64) return -1;
    if (p->gran == TQ_GRAN_GROUP ? p->group < 1 : p->group != 0) return -1;
    tq_dtype sdt = sdtype(p->alpha);
    aux[0] = scale_desc(p, rows, cols, sdt, "weight_scale");
    if (kind == K_PACK) {
        if (b != 2 && b != 4 && b != 8) return -1;
        int per = 32 / b;
        *cd = TQ_DTYPE_I32;
        cs[0] = rows;
        cs[1] = (cols + per - 1) / per;
        if (!asym) return 1;
        if (p->gran == TQ_GRAN_TENSOR) return -1;
        aux[1] = (tq_aux_desc){"weight_zero_point", TQ_DTYPE_I32, 2, {(rows + per - 1) / per, ngroups(p, cols)}, 0};
        return 2;
    }
    if (b != 8) return -1;
    *cd = kind == K_INT ? TQ_DTYPE_I8 : TQ_DTYPE_F8_E4M3;
    cs[0] = rows;
    cs[1] = cols;
    if (!asym) return 1;
    aux[1] = scale_desc(p, rows, cols, TQ_DTYPE_I8, "weight_zero_point");
    return 2;
}

static tq_status ct_rows_k(int kind, int asym, const tq_qparams *p, int64_t rows, int64_t cols, int64_t r0,
                           int64_t r1, const void *codes, const void *const aux[TQ_MAX_AUX], float *out,
                           tq_error *err) {
    tq_dtype sdt = sdtype(p->alpha);
    const uint8_t *c = codes, *sc = aux[0], *zp = asym ? aux[1] : NULL;
    int b = p->bits, per = 32 / b;
    int64_t ng = ngroups(p, cols), wrow = (cols + per - 1) / per;
    int32_t off = kind == K_PACK ? 1 << (b - 1) : 0;
    uint32_t mask = b == 32 ? 0xFFFFFFFFu : (1u << b) - 1;
    for (int64_t j = r0; j < r1; j++) {
        float *o = out + (j - r0) * cols;
        for (int64_t i = 0; i < cols; i++) {
            int64_t si = s_at(p, ng, j, i);
            float q;
            if (kind == K_PACK)
                q = (float)((int32_t)(tq_ld32(c + 4 * (j * wrow + i / per)) >> (b * (i % per)) & mask) - off);
            else if (kind == K_INT)
                q = (float)(int8_t)c[j * cols + i];
            else
                q = tq_fp8_e4m3_to_f32(c[j * cols + i]);
            if (zp) {
                int32_t z;
                if (kind == K_PACK) {
                    int64_t g = si - j * ng;   /* the column of S (0 for channel) */
                    z = (int32_t)(tq_ld32(zp + 4 * ((j / per) * ng + g)) >> (b * (j % per)) & mask) - off;
                } else {
                    z = (int8_t)zp[si];
                }
                q -= (float)z;
            }
            float v = q * ld_scale(sdt, sc, si);
            if (!isfinite(v))
                return tq_err(err, TQ_E_FORMAT, "row %lld, column %lld: %s decodes to %g (scale %g)", (long long)j,
                              (long long)i, kind == K_FP8 ? "an FP8 code" : "a code", (double)v,
                              (double)ld_scale(sdt, sc, si));
            o[i] = v;
        }
    }
    return TQ_OK;
}

/* a block's bound needs its row: none reported (verify compares values with
 * the original), as for GPTQ */
static tq_status ct_range(const tq_qparams *p, const void *const aux[TQ_MAX_AUX], int64_t b, double *lo, double *hi,
                          tq_error *err) {
    (void)p; (void)aux; (void)b; (void)err;
    *lo = -INFINITY;
    *hi = INFINITY;
    return TQ_OK;
}

#define CT_ROW(fn, KIND, ASYM)                                                                                     \
    static int fn##_layout(const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd, int64_t cs[2],          \
                           tq_aux_desc aux[TQ_MAX_AUX]) {                                                         \
        return ct_layout_k(KIND, ASYM, p, rows, cols, cd, cs, aux);                                               \
    }                                                                                                             \
    static tq_status fn##_rows(const tq_codec_impl *c, const tq_qparams *p, int64_t rows, int64_t cols, int64_t r0, \
                               int64_t r1, const void *codes, const void *const aux[TQ_MAX_AUX], float *out,        \
                               tq_error *err) {                                                                   \
        (void)c;                                                                                                  \
        return ct_rows_k(KIND, ASYM, p, rows, cols, r0, r1, codes, aux, out, err);                                \
    }                                                                                                             \
    static tq_status fn##_dequantize(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes,          \
                                     const void *const aux[TQ_MAX_AUX], float *out, tq_error *err) {              \
        return ct_rows_k(KIND, ASYM, p, rows, cols, 0, rows, codes, aux, out, err);                               \
    }
CT_ROW(ct_pack, K_PACK, 0)
CT_ROW(ct_pack_asym, K_PACK, 1)
CT_ROW(ct_int, K_INT, 0)
CT_ROW(ct_int_asym, K_INT, 1)
CT_ROW(ct_fp8, K_FP8, 0)

#define GRANS ((1u << TQ_GRAN_TENSOR) | (1u << TQ_GRAN_CHANNEL) | (1u << TQ_GRAN_GROUP))
#define CT_IMPL(row, fn, ID, NAME, SUMMARY, BITS, LAYOUT, DEFB)                                                         \
    const tq_codec_impl row = {                                                                                   \
        .info = {ID, NAME, SUMMARY, BITS, GRANS, LAYOUT, DEFB, TQ_GRAN_CHANNEL, 0, 0, 0, 1},                      \
        .layout = fn##_layout,                                                                                    \
        .dequantize = fn##_dequantize,                                                                            \
        .dequantize_rows = fn##_rows,                                                                            \
        .block_range = ct_range,                                                                                  \
    };
#define PACK_L "codes I32 weight_packed [rows, ceil(cols/(32/bits))] (LSB first, + 2^(bits-1)); weight_scale [1], " \
               "[rows, 1] or [rows, groups] in the model dtype"
CT_IMPL(tq_codec_ct_pack, ct_pack, TQ_CODEC_CT_PACK, "ct-pack", "compressed-tensors pack-quantized, symmetric, read only",
        (1u << 2) | (1u << 4) | (1u << 8), PACK_L "; decode only", 4)
CT_IMPL(tq_codec_ct_pack_asym, ct_pack_asym, TQ_CODEC_CT_PACK_ASYM, "ct-pack-asym",
        "compressed-tensors pack-quantized with zero points, read only", (1u << 2) | (1u << 4) | (1u << 8),
        PACK_L "; weight_zero_point I32 [ceil(rows/(32/bits)), groups] packed down the rows; decode only", 4)
CT_IMPL(tq_codec_ct_int, ct_int, TQ_CODEC_CT_INT, "ct-int", "compressed-tensors int-quantized (int8), symmetric, read only",
        1u << 8, "codes I8 weight [rows, cols]; weight_scale [1], [rows, 1] or [rows, groups]; decode only", 8)
CT_IMPL(tq_codec_ct_int_asym, ct_int_asym, TQ_CODEC_CT_INT_ASYM, "ct-int-asym",
        "compressed-tensors int-quantized (int8) with zero points, read only", 1u << 8,
        "codes I8 weight [rows, cols]; weight_scale and I8 weight_zero_point [1], [rows, 1] or [rows, groups]; "
        "decode only", 8)
CT_IMPL(tq_codec_ct_fp8, ct_fp8, TQ_CODEC_CT_FP8, "ct-fp8", "compressed-tensors float-quantized FP8 E4M3, read only", 1u << 8,
        "codes F8_E4M3 weight [rows, cols]; weight_scale [1], [rows, 1] or [rows, groups]; decode only", 8)
