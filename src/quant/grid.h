/*
 * grid.h — the quantization grid of one codec setting, one block at a time
 * (internal; used by gptq.c and awq.c).
 *
 * Calibrated quantizers choose a block's scale (and zero point or bias)
 * from values that change while the matrix is quantized, then round single
 * values on that block's grid. This is that interface for the codecs whose
 * blocks are a row's group of columns (or a whole row): linear-sym,
 * linear-affine at channel or group granularity, and mlx / mlx-f16 /
 * mlx-bf16. A block's side values are chosen by the codec itself (its
 * quantize on that block alone, tq_qparams.method included), so they are
 * exactly what the codec would store for those values; codes are the codec's
 * own rounding against the *stored* side values, and tq_grid_emit writes the
 * codec's exact storage, so tq_dequantize of the result gives the values
 * tq_grid_code returned.
 */
#ifndef TQ_QUANT_GRID_H
#define TQ_QUANT_GRID_H

#include "core/internal.h"

typedef struct tq_grid {
    tq_qparams q;
    const char *tname;
    int64_t rows, cols;
    int64_t glen, ng;          /* columns per block, blocks per row           */
    int     kind;              /* 0 linear-sym, 1 linear-affine, 2 mlx        */
    int     qmax;              /* sym 2^(b-1)-1, affine and mlx 2^b-1         */
    float  *s, *z;             /* per block [rows * ng]: scale and zero (affine,
                                  as a float integer) or bias (mlx), widened
                                  from the stored side values                 */
    unsigned char *chosen;     /* per block: side values chosen              */
    tq_dtype cd;               /* codes dtype / shape, side tensors           */
    int64_t  cs[2];
    tq_aux_desc aux[TQ_MAX_AUX];
    int      na;
    void    *auxb[TQ_MAX_AUX]; /* the full side tensors, filled per block     */
    uint64_t auxn[TQ_MAX_AUX];
    uint8_t *scratch;          /* one block's codes (tq_grid_choose)          */
} tq_grid;

/**
 * Set up the grid of q for a [rows, cols] tensor named tname.
 * @return TQ_OK; TQ_E_UNSUPPORTED naming the tensor and codec when q is not
 * one of the codecs above at channel or group granularity; TQ_E_ARG when q
 * does not fit the shape (tq_qparams_layout's refusal); TQ_E_NOMEM.
 */
tq_status tq_grid_init(tq_grid *g, const tq_qparams *q, const char *tname, int64_t rows, int64_t cols, tq_error *err);
void      tq_grid_free(tq_grid *g);

/** The block of column c (0..ng-1) and its first column / length. */
static inline int64_t tq_grid_block_of(const tq_grid *g, int64_t c) { return c / g->glen; }
static inline int64_t tq_grid_block_len(const tq_grid *g, int64_t k) {
    return (k + 1) * g->glen <= g->cols ? g->glen : g->cols - k * g->glen;
}

/** Choose block (r, k)'s side values from its current values x[0..len), as
 *  the codec would for exactly these values. */
tq_status tq_grid_choose(tq_grid *g, int64_t r, int64_t k, const float *x, tq_error *err);

/** The code of x in block (r, k) (already chosen) and the value it decodes
 *  to (*v, exactly tq_dequantize's). */
int tq_grid_code(const tq_grid *g, int64_t r, int64_t k, float x, float *v);

/**
 * Write the codec's storage for the codes u[rows * cols] (from tq_grid_code)
 * into codes (tq_qparams_layout's size) and aux (every block must have been
 * chosen: else TQ_E_INTERNAL naming the block).
 */
tq_status tq_grid_emit(const tq_grid *g, const int *u, void *codes, void *const aux[TQ_MAX_AUX], tq_error *err);

#endif
