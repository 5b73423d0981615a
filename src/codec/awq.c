/*
 * awq.c — AWQ's stored layout (AutoAWQ "gemm" checkpoints, what transformers
 * loads with quant_method "awq", version "gemm"), decode only: trueq reads
 * these tensors (io/qlayout_awq.c groups them) but does not write them.
 *
 * Logical tensor: the nn.Linear weight W [out, in] (rows = out, cols = in).
 * qparams: bits 4; granularity group, group G = the checkpoint's group_size
 * (G = in for -1); pad set when in % G != 0.
 *
 * Storage (docs/formats/quantized-layouts.md):
 *   codes  "qweight" I32 [in, out / 8]: row i holds the codes of W[.][i];
 *          word w of it holds outputs 8w .. 8w+7, output 8w + k in the
 *          nibble AWQ_NIBBLE[k] (bits [4n, 4n+4)), AWQ_NIBBLE = 0 4 1 5 2 6
 *          3 7 — the packer wrote output order 0 2 4 6 1 3 5 7 into
 *          nibbles 0..7.
 *   aux[0] "qzeros"  I32 [ngroups, out / 8]: zero points, packed the same way.
 *   aux[1] "scales"  F16 [ngroups, out].
 *   ngroups = ceil(in / G); the group of input i is i / G (no g_idx).
 * Decode: W[j][i] = scales[g][j] * (q - z), computed in float32 as
 *   (float)(q - z) * scale (exact: AutoAWQ's own float16 product rounds it).
 */
#include "codec/codec.h"
#include <math.h>

static const int AWQ_NIBBLE[8] = {0, 4, 1, 5, 2, 6, 3, 7};

static int awq_layout(const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd, int64_t cs[2],
                      tq_aux_desc aux[TQ_MAX_AUX]) {
    if (p->bits != 4 || p->gran != TQ_GRAN_GROUP || p->group < 1 || rows % 8 || rows < 1 || cols < 1) return -1;
    int64_t ng = (cols + p->group - 1) / p->group;
    *cd = TQ_DTYPE_I32;
    cs[0] = cols;
    cs[1] = rows / 8;
    aux[0] = (tq_aux_desc){"qzeros", TQ_DTYPE_I32, 2, {ng, rows / 8}, 0};
    aux[1] = (tq_aux_desc){"scales", TQ_DTYPE_F16, 2, {ng, rows}, 0};
    return 2;
}

/* the 4-bit value of output j in a row of AWQ words */
static inline int64_t awq_at(const uint8_t *row, int64_t j) {
    return (int64_t)(tq_ld32(row + 4 * (j / 8)) >> (4 * AWQ_NIBBLE[j % 8]) & 15u);
}

static tq_status awq_rows(const tq_codec_impl *c, const tq_qparams *p, int64_t rows, int64_t cols, int64_t r0,
                          int64_t r1, const void *codes, const void *const aux[TQ_MAX_AUX], float *out,
                          tq_error *err) {
    (void)c;
    const uint8_t *qw = codes, *qz = aux[0], *sc = aux[1];
    int64_t wrow = rows / 8 * 4;
    for (int64_t i = 0; i < cols; i++) {
        int64_t g = i / p->group;
        for (int64_t j = r0; j < r1; j++) {
            int64_t q = awq_at(qw + i * wrow, j), z = awq_at(qz + g * wrow, j);
            float v = (float)(q - z) * tq_f16_to_f32(tq_ld16(sc + 2 * (g * rows + j)));
            if (!isfinite(v))
                return tq_err(err, TQ_E_FORMAT, "scales[%lld][%lld] is not finite", (long long)g, (long long)j);
            out[(j - r0) * cols + i] = v;
        }
    }
    return TQ_OK;
}

static tq_status awq_dequantize(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes,
                                const void *const aux[TQ_MAX_AUX], float *out, tq_error *err) {
    return awq_rows(NULL, p, rows, cols, 0, rows, codes, aux, out, err);
}

/* a block's bound needs its row and group: none reported (verify compares
 * values with the original only), as for GPTQ */
static tq_status awq_range(const tq_qparams *p, const void *const aux[TQ_MAX_AUX], int64_t b, double *lo, double *hi,
                           tq_error *err) {
    (void)p; (void)aux; (void)b; (void)err;
    *lo = -INFINITY;
    *hi = INFINITY;
    return TQ_OK;
}

const tq_codec_impl tq_codec_awq = {
    .info = {TQ_CODEC_AWQ, "awq", "AWQ GEMM checkpoints (codes interleaved 0 2 4 6 1 3 5 7 in int32), read only",
             1u << 4, 1u << TQ_GRAN_GROUP,
             "codes I32 qweight [cols, rows/8] (output 8w+k in nibble 0 4 1 5 2 6 3 7 [k] of word w); qzeros I32 "
             "[groups, rows/8] packed the same way, scales F16 [groups, rows]; decode only",
             4, TQ_GRAN_GROUP, 128, 0, 0, 1},
    .layout = awq_layout,
    .dequantize = awq_dequantize,
    .dequantize_rows = awq_rows,
    .block_range = awq_range,
};
