/*
 * codec.h — the codec trait type and the block helpers codecs share (internal).
 *
 * A codec is one file (src/codec/<name>.c) defining one `tq_codec_impl` row,
 * plus one registration line in table.c. Every question about a codec is
 * answered by its row, and nothing outside src/codec/<name>.c looks at codec
 * ids: sizes (layout), encode/decode, row-range decode, the representable
 * range of a block (verify/ranges.c), the CLI defaults (info.default_*), and
 * the self-test configurations and expectations (selftest.c).
 *
 * Files of this directory, in dependency order (no circle):
 *   codec.c        the helpers declared below (packing, blocks, sliced decode)
 *   <name>.c       one codec each; include this header, use only codec.c
 *   table.c        TQ_CODEC_TABLE (one line per codec), lookups, table checks
 *   api.c          tq_quantize / tq_dequantize / ... over the table
 *   selftest.c     tq_selftest_run over the table
 *
 * Contract of the row's functions, for a logical [rows, cols] float32 matrix:
 *   layout()          fills the codes dtype/shape and the side tensors; returns
 *                     their count (0..TQ_MAX_AUX), -1 if p is not valid for it.
 *                     Codes are row-major, whole bytes per row; each side
 *                     tensor says whether it is per row (aux.per_row).
 *   quantize()        writes codes + side tensors; w is finite (checked before).
 *                     Must be deterministic and must not depend on thread count.
 *   dequantize()      inverse; never produces NaN/Inf from valid codes (side
 *                     values that would are TQ_E_FORMAT).
 *   dequantize_rows() rows [r0, r1) into out[(r1-r0)*cols], bit-identical to the
 *                     same rows of dequantize(); p is already checked and the
 *                     range is within [0, rows] and non-empty. Codecs whose
 *                     layout marks per-row side tensors use tq_codec_rows_sliced.
 *   block_range()     the smallest and largest value any code can decode to in
 *                     block b (tensor: 1 block, channel: one per row, group:
 *                     rows x groups, row-major), from the side tensors alone.
 *                     Side tensors may be unaligned (read with tq_ld_f32).
 *   block_range_codes()  the same for codecs whose scales live inside their
 *                     code blocks (ggml: no side tensors): the range is read
 *                     from block b's own bytes (its scales), over every value
 *                     its codes could take. A row sets exactly one of the two.
 *   params_str()      optional: the text tq_qparams_str gives (NULL: the
 *                     generic "codec/bits/granularity").
 *
 * Self-tests (tq_codec_selftest): side-tensor codecs give block() and
 * weight() (the stored scale against its formula, half-step errors); codecs
 * whose scales live inside their blocks give instead code_bytes() (their
 * documented storage) and known-answer blocks, and selftest.c checks their
 * layout, that every decoded value lies in its block's range, that nothing
 * decodes to NaN/Inf (values a block cannot represent are refused), and the
 * known answers bit for bit.
 */
#ifndef TQ_CODEC_H
#define TQ_CODEC_H

#include "core/internal.h"
#include <string.h>

/* ---- self-test traits ------------------------------------------------------ */

/** One self-test configuration: qparams and a tag appended to its name. */
typedef struct tq_selftest_case {
    tq_qparams  q;
    const char *tag;             /* "" or e.g. "/alpha=cal"                    */
} tq_selftest_case;

/** Statistics of one block of a self-test input (selftest.c computes them). */
typedef struct tq_selftest_block {
    float amax;                  /* max |w|                                    */
    float lo, hi;                /* min(min w, 0), max(max w, 0)               */
    float nzmin, nzmax;          /* smallest / largest non-zero |w| (inf, 0: none) */
} tq_selftest_block;

/**
 * What a codec expects of its own output, each written from its documented
 * formula (never by calling its quantize again).
 */
typedef struct tq_codec_selftest {
    const tq_selftest_case *cases;   /* the configurations selftest runs      */
    int ncases;
    /** Documented storage: the codes dtype at 8 bits and when packed (rows of
     *  ceil(cols * bits / 8) bytes), side-tensor bytes per block and per weight. */
    tq_dtype codes_dtype_8bit, codes_dtype_packed;
    int side_bytes_per_block, side_bytes_per_weight;
    /** Side values of block idx against the formula on its statistics.
     *  @return whether they match; *usable: a block with a non-zero weight has
     *  a usable scale; *got, *want: the stored and the expected value. */
    bool (*block)(const tq_qparams *p, const tq_selftest_block *s, const void *const aux[TQ_MAX_AUX], int64_t idx,
                  double *got, double *want, bool *usable);
    /** Weight (r, c) of a [*, cols] tensor, in block idx, was x. Sets *code to its
     *  stored code, *bound to the largest reconstruction error the codec
     *  allows (half a step) and may replace *err (the measured error) by one in
     *  the codec's own units. @return whether the code lies in the codec's range. */
    bool (*weight)(const tq_qparams *p, const uint8_t *codes, int64_t row_bytes, const void *const aux[TQ_MAX_AUX],
                   int64_t r, int64_t c, int64_t cols, int64_t idx, float x, int *code, double *err, double *bound);
    /* ---- codecs whose scales live inside their blocks (block, weight NULL) ---- */
    int64_t cols;                    /* self-test row length (0: the common 64) */
    /** Documented bytes of one row of `cols` weights (codes_dtype_packed). */
    int64_t (*code_bytes)(const tq_qparams *p, int64_t cols);
    const struct tq_selftest_known *known;   /* known-answer blocks            */
    int nknown;
    /** 1: exact zeros need not decode to 0 (mlx: code 0 is the group's extreme,
     *  so 0 lands on the nearest grid point); outputs must still be finite. */
    int zeros_inexact;
} tq_codec_selftest;

/** A known-answer block: build() writes one row of `cols` weights of q's
 *  storage into codes and, from the documented formula (never by calling the
 *  codec), the values it decodes to into want. */
typedef struct tq_selftest_known {
    tq_qparams  q;
    const char *tag;
    int64_t     cols;
    void (*build)(uint8_t *codes, float *want);
} tq_selftest_known;

/* ---- the trait row ---------------------------------------------------------- */

typedef struct tq_codec_impl tq_codec_impl;
struct tq_codec_impl {
    tq_codec_info info;              /* info.id must equal the row's index     */
    const char *const *aliases;      /* NULL-terminated short names, or NULL   */
    int (*layout)(const tq_qparams *p, int64_t rows, int64_t cols, tq_dtype *cd,
                  int64_t cshape[2], tq_aux_desc aux[TQ_MAX_AUX]);
    tq_status (*quantize)(const tq_qparams *p, const float *w, int64_t rows, int64_t cols,
                          void *codes, void *const aux[TQ_MAX_AUX], tq_error *err);
    tq_status (*dequantize)(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes,
                            const void *const aux[TQ_MAX_AUX], float *out, tq_error *err);
    tq_status (*dequantize_rows)(const tq_codec_impl *c, const tq_qparams *p, int64_t rows, int64_t cols,
                                 int64_t r0, int64_t r1, const void *codes, const void *const aux[TQ_MAX_AUX],
                                 float *out, tq_error *err);
    tq_status (*block_range)(const tq_qparams *p, const void *const aux[TQ_MAX_AUX], int64_t b, double *lo,
                             double *hi, tq_error *err);
    const tq_codec_selftest *selftest;
    /* Granularities (bit mask) at which every block lies within one row, so
     * quantizing row ranges separately gives the same bytes: such tensors are
     * split across threads. 0 = never split. */
    unsigned row_local_gran_mask;
    tq_status (*block_range_codes)(const tq_qparams *p, int64_t rows, int64_t cols, const void *codes, int64_t b,
                                   double *lo, double *hi, tq_error *err);
    const char *(*params_str)(const tq_qparams *p, char *buf, size_t cap);
    /* quantize() for p->method != TQ_QMETHOD_RTN (same stored format, better
     * scales/codes; linear_search.c), or NULL: the codec has only its formula
     * and tq_qparams_check refuses other methods. */
    tq_status (*quantize_search)(const tq_qparams *p, const float *w, int64_t rows, int64_t cols, void *codes,
                                 void *const aux[TQ_MAX_AUX], tq_error *err);
};

/* ---- the table (table.c) and the threaded entry point (api.c) --------------- */

/** @return the row of a codec id, or NULL (TQ_CODEC_NONE, out of range). */
const tq_codec_impl *tq_codec_impl_get(tq_codec_id id);

/**
 * Check the table: each row's id equals its index, every trait is present,
 * the defaults are supported values, every self-test case is valid, and names
 * and aliases are unique. @return TQ_OK or TQ_E_INTERNAL naming the row.
 */
tq_status tq_codec_table_check(tq_error *err);

/**
 * tq_quantize on `threads` threads (0 = all cores) when the codec's blocks are
 * row-local; the output bytes are identical for any thread count.
 */
tq_status tq_quantize_threads(const tq_qparams *p, const char *tname, const float *w, int64_t rows, int64_t cols,
                              void *codes, void *const aux[TQ_MAX_AUX], int allow_nonfinite, int threads,
                              tq_error *err);

/**
 * @return 1 when every one of x[0..n) is finite (no NaN, no +-inf), else 0;
 * n <= 0 gives 1. A vectorized check of the bit patterns (api.c: an AVX-512 /
 * AVX2 clone picked at run time); its answer is the same on every path.
 */
int tq_all_finite(const float *x, int64_t n);

/* ---- helpers shared by block codecs (codec.c) ------------------------------- */

/** Number of scale groups per row, and the group length (last may be short). */
int64_t tq_groups_per_row(const tq_qparams *p, int64_t cols, int64_t *glen);
/** Shape of the per-block side tensors: [] / [rows] / [rows, groups] (per_row set
 *  unless tensor granularity). */
void    tq_block_shape(const tq_qparams *p, int64_t rows, int64_t cols, int *ndim, int64_t shape[2], int *per_row);
/** Number of blocks: 1 (tensor), rows (channel), rows x groups (group). */
int64_t tq_block_count(const tq_qparams *p, int64_t rows, int64_t cols);
/** The side shape {lo, hi}-style pairs use: [2] (tensor) or [rows, 2] (channel). */
void    tq_pair_shape(const tq_qparams *p, int64_t rows, tq_aux_desc *a);

/** Bytes per packed row of `cols` codes of `bits` bits (LSB-first in each byte). */
static inline int64_t tq_packed_row_bytes(int64_t cols, int bits) { return (cols * bits + 7) / 8; }
/** Pack unsigned codes u[0..cols) (each < 2^bits) LSB-first; bits in {1,2,4,8}. */
void tq_pack_row(const uint8_t *u, int64_t cols, int bits, uint8_t *dst);
/** Unpack one row. */
void tq_unpack_row(const uint8_t *src, int64_t cols, int bits, uint8_t *u);
/** Code c of one packed row (bits in {1,2,4,8}). */
static inline int tq_packed_code(const uint8_t *row, int64_t c, int bits) {
    int per = 8 / bits;
    return (row[c / per] >> ((c % per) * bits)) & ((1 << bits) - 1);
}
/** float32 element i of a possibly unaligned buffer. */
static inline float tq_ld_f32(const void *base, int64_t i) {
    float f;
    memcpy(&f, (const uint8_t *)base + 4 * i, 4);
    return f;
}

/**
 * dequantize_rows for codecs whose codes are row-major with whole bytes per
 * row and whose side tensors are per row (aux.per_row) or shared: the same
 * dequantize() call on pointers offset to row r0.
 */
tq_status tq_codec_rows_sliced(const tq_codec_impl *c, const tq_qparams *p, int64_t rows, int64_t cols, int64_t r0,
                               int64_t r1, const void *codes, const void *const aux[TQ_MAX_AUX], float *out,
                               tq_error *err);

/** bitsandbytes' 4-bit code book (codec/bnb.c): fp4 0 = NF4, 1 = FP4, as the
 *  float32 values bitsandbytes stores in a checkpoint's quant_map. */
void tq_bnb_code(int fp4, float code[16]);
/** An FP8 E4M3 byte ("fn": bias 7, no infinities, S.1111.111 NaN) as float32
 *  (exact); defined in ct.c, shared by the MLX mxfp8 row (mlx_fp.c). */
float tq_fp8_e4m3_to_f32(uint8_t b);

#endif
