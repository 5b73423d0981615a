/*
 * codec.h — the codec trait table (internal).
 *
 * A codec is one file (src/codec/<name>.c) defining one `tq_codec_impl`, plus
 * one row in TQ_CODEC_TABLE (codec.c). Everything that needs sizes — the
 * planner, dry runs, the ledger, writers — asks the table, so the size a dry
 * run reports is the size that is written.
 *
 * Contract of the three functions, for a logical [rows, cols] float32 matrix:
 *   layout()     fills the codes dtype/shape and the side tensors; returns
 *                their count (0..TQ_MAX_AUX), -1 if p is not valid for it.
 *   quantize()   writes codes + side tensors; w is finite (checked before).
 *                Must be deterministic and must not depend on thread count.
 *   dequantize() inverse; never produces NaN/Inf from valid codes.
 */
#ifndef TQ_CODEC_H
#define TQ_CODEC_H

#include "core/internal.h"

typedef struct tq_codec_impl {
    tq_codec_info info;
    int (*layout)(const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd,
                  int64_t cshape[2], tq_aux_desc aux[TQ_MAX_AUX]);
    tq_status (*quantize)(const tq_qparams *p, const float *w, int64_t rows, int64_t cols,
                          void *codes, void *const aux[TQ_MAX_AUX], tq_error *err);
    tq_status (*dequantize)(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes,
                            const void *const aux[TQ_MAX_AUX], float *out, tq_error *err);
    /* Granularities (bit mask) at which every block lies within one row, so
     * quantizing row ranges separately gives the same bytes: such tensors are
     * split across threads. 0 = never split. */
    unsigned row_local_gran_mask;
} tq_codec_impl;

/**
 * tq_quantize on `threads` threads (0 = all cores) when the codec's blocks are
 * row-local; the output bytes are identical for any thread count.
 */
tq_status tq_quantize_threads(const tq_qparams *p, const char *tname, const float *w, int64_t rows, int64_t cols,
                              void *codes, void *const aux[TQ_MAX_AUX], int allow_nonfinite, int threads,
                              tq_error *err);

const tq_codec_impl *tq_codec_impl_get(tq_codec_id id);

/* ---- helpers shared by block codecs --------------------------------------- */

/** Number of scale groups per row, and the group length (last may be short). */
int64_t tq_groups_per_row(const tq_qparams *p, int64_t cols, int64_t *glen);
/** Shape of the per-block side tensors: [] / [rows] / [rows, groups]. */
void    tq_block_shape(const tq_qparams *p, int64_t rows, int64_t cols, int *ndim, int64_t shape[2]);

/** Bytes per packed row of `cols` codes of `bits` bits (LSB-first in each byte). */
static inline int64_t tq_packed_row_bytes(int64_t cols, int bits) { return (cols * bits + 7) / 8; }
/** Pack unsigned codes u[0..cols) (each < 2^bits) LSB-first; bits in {1,2,4,8}. */
void tq_pack_row(const uint8_t *u, int64_t cols, int bits, uint8_t *dst);
/** Unpack one row. */
void tq_unpack_row(const uint8_t *src, int64_t cols, int bits, uint8_t *u);

/* the codecs */
extern const tq_codec_impl tq_codec_linear_sym;
extern const tq_codec_impl tq_codec_linear_affine;

#endif
