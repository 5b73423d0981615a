/*
 * ggml_types.h — the ggml tensor type table (the GGUF tensor "type" field).
 *
 * One row per ggml_type id, indexed by the id itself (FORMATS.md §3.1): name,
 * block size in elements, bytes per block, bits per weight, and the row
 * kernels. A row whose block size is 0 is an id ggml removed (4, 5, 31-33,
 * 36-38); ids >= TQ_GGML_TYPE_COUNT are unknown.
 *
 * Kernels work on one row of n elements, n a multiple of the block size:
 *   dequantize_row(blocks, out, n)   n/block blocks at `blocks` -> n floats.
 *                                    Bit-exact with ggml's dequantize_row_*
 *                                    (and gguf-py's numpy dequantizers).
 *   quantize_row_ref(x, blocks, n)   n floats -> n/block blocks, ggml's
 *                                    quantize_row_*_ref without an importance
 *                                    matrix, bit for bit (FORMATS.md §3.2-3.6).
 * Either may be NULL: that type cannot be decoded / encoded by trueq, and
 * tq_ggml_dequantize / tq_ggml_quantize say so with TQ_E_UNSUPPORTED rather
 * than produce a wrong number. Kernels never allocate, never fail, and read
 * and write exactly the bytes the block layout names. Quantizer inputs should
 * be finite: NaN/Inf give defined but meaningless codes (ggml asserts there).
 *
 * Block layouts (all little-endian, packed, fp16 = IEEE binary16):
 *   see docs/formats/gguf.md and FORMATS.md §3.3-3.6.
 */
#ifndef TQ_GGML_TYPES_H
#define TQ_GGML_TYPES_H

#include "trueq.h"
#include <stddef.h>
#include <stdint.h>

/** Number of ggml type ids known to trueq (ids 0 .. TQ_GGML_TYPE_COUNT-1). */
#define TQ_GGML_TYPE_COUNT 43

/** The ggml type ids trueq names (enum ggml_type; stable on disk). */
enum {
    TQ_GGML_F32 = 0, TQ_GGML_F16 = 1, TQ_GGML_Q4_0 = 2, TQ_GGML_Q4_1 = 3,
    TQ_GGML_Q5_0 = 6, TQ_GGML_Q5_1 = 7, TQ_GGML_Q8_0 = 8, TQ_GGML_Q8_1 = 9,
    TQ_GGML_Q2_K = 10, TQ_GGML_Q3_K = 11, TQ_GGML_Q4_K = 12, TQ_GGML_Q5_K = 13,
    TQ_GGML_Q6_K = 14, TQ_GGML_Q8_K = 15, TQ_GGML_IQ2_XXS = 16, TQ_GGML_IQ2_XS = 17,
    TQ_GGML_IQ3_XXS = 18, TQ_GGML_IQ1_S = 19, TQ_GGML_IQ4_NL = 20, TQ_GGML_IQ3_S = 21,
    TQ_GGML_IQ2_S = 22, TQ_GGML_IQ4_XS = 23, TQ_GGML_I8 = 24, TQ_GGML_I16 = 25,
    TQ_GGML_I32 = 26, TQ_GGML_I64 = 27, TQ_GGML_F64 = 28, TQ_GGML_IQ1_M = 29,
    TQ_GGML_BF16 = 30, TQ_GGML_TQ1_0 = 34, TQ_GGML_TQ2_0 = 35, TQ_GGML_MXFP4 = 39,
    TQ_GGML_NVFP4 = 40, TQ_GGML_Q1_0 = 41, TQ_GGML_Q2_0 = 42,
};

typedef void (*tq_ggml_dequant_fn)(const void *blocks, float *out, int64_t n);
typedef void (*tq_ggml_quant_fn)(const float *x, void *blocks, int64_t n);

/** One row of the type table. */
typedef struct tq_ggml_type_info {
    int                id;         /* == its index in the table                    */
    const char        *name;       /* ggml's name: "Q4_K", "F16", ...              */
    int64_t            block;      /* elements per block; 0 = removed id           */
    size_t             type_size;  /* bytes per block                              */
    double             bpw;        /* bits per weight = 8 * type_size / block      */
    tq_ggml_dequant_fn dequantize_row;    /* NULL: trueq cannot decode this type   */
    tq_ggml_quant_fn   quantize_row_ref;  /* NULL: trueq cannot encode this type   */
} tq_ggml_type_info;

/** The row for `id`, or NULL when id is negative, >= TQ_GGML_TYPE_COUNT or a
 *  removed id (block size 0). */
const tq_ggml_type_info *tq_ggml_type(int64_t id);

/** The whole table (TQ_GGML_TYPE_COUNT rows, removed ids included). */
const tq_ggml_type_info *tq_ggml_type_table(void);

/** The id whose name is `name` (exact, case-sensitive), or -1. */
int tq_ggml_type_from_name(const char *name);

/**
 * Bytes of `n` elements of type `id` (n / block * type_size).
 * @return TQ_OK; TQ_E_UNSUPPORTED for an unknown/removed id; TQ_E_SHAPE when
 *         n is negative or not a multiple of the block size; TQ_E_LIMIT on
 *         overflow. Messages name `what` (a tensor name, may be NULL).
 */
tq_status tq_ggml_row_bytes(int64_t id, int64_t n, const char *what, uint64_t *bytes, tq_error *err);

/**
 * Dequantize n elements (a whole number of blocks) of type `id` at `src`
 * into `dst`. @return TQ_OK; TQ_E_UNSUPPORTED "unsupported ggml type ..."
 * naming `what` when trueq has no decoder for it; TQ_E_SHAPE as above.
 */
tq_status tq_ggml_dequantize(int64_t id, const void *src, float *dst, int64_t n, const char *what, tq_error *err);

/** Quantize n floats into type `id` with ggml's reference quantizer. Errors
 *  as tq_ggml_dequantize. */
tq_status tq_ggml_quantize(int64_t id, const float *src, void *dst, int64_t n, const char *what, tq_error *err);

#endif
