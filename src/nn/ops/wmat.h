/*
 * wmat.h — one weight-matrix type for both families (internal to src/nn/):
 * a [rows, cols] matrix held either as float32 values or as the stored codes
 * and side tensors of a quantized tensor, decoded a row tile at a time with
 * tq_dequantize_rows. The decoded rows are bit-identical to the whole-tensor
 * decode (tq_dequantize, hence tq_model_tensor_f32), so a product that
 * decodes its tile into a buffer and runs the same sgemm/sgemv gives the
 * bytes the float32 path gives.
 *
 * Ownership: a float matrix borrows its values (from the family's arena); a
 * quantized one owns copies of the codes and side tensors (read with pread,
 * never from the map), so the tq_model may be closed after the matrix is
 * made. A row view (tq_wmat_view_rows) borrows everything from the matrix it
 * views, which must outlive it: that is how a fused tensor (Phi-3 qkv_proj,
 * gate_up_proj) is split into its parts without decoding or copying.
 */
#ifndef TQ_NN_WMAT_H
#define TQ_NN_WMAT_H
#include "trueq.h"
#include "kern/kern.h"
#include <stdint.h>

typedef struct tq_wmat {
    int64_t      rows, cols;
    const float *f;                 /* [rows, cols] float32 (borrowed), or NULL when quantized */
    tq_qparams   q;                 /* the codec of codes/aux                             */
    void        *codes;             /* owned copy of the stored codes, or NULL            */
    void        *aux[TQ_MAX_AUX];   /* owned copies of the side tensors                   */
    uint64_t     bytes;             /* codes + side-tensor bytes held                     */
    tq_kmat      k;                 /* the codes prepared for a kernel (src/kern/), or
                                       k.fn NULL: products decode tiles               */
    tq_dtype     plain;             /* TQ_DTYPE_F16 / BF16: codes hold unquantized values
                                       of that dtype (no codec, no aux); 0 otherwise  */
    int          borrowed;          /* 1: codes and aux belong to another matrix (a row view) */
    const struct tq_wmat *parent;   /* a quantized row view: the matrix its rows are decoded
                                       from (rows [row0, row0 + rows) of it), else NULL   */
    int64_t      row0;
} tq_wmat;

/** 1 when t is a 2-D unquantized F16 or BF16 tensor (tq_wmat_keep_plain). */
int tq_wmat_plain_keepable(const tq_tensor *t);

/**
 * Hold t (tq_wmat_plain_keepable, shape checked) as stored: its bytes read
 * with pread (tq_model_read_range, never from the map) into an owned
 * buffer, then decoded once tile by tile to refuse non-finite weights.
 * Products decode row tiles to float32 (the values tq_model_tensor_f32
 * gives). @return TQ_OK; TQ_E_NOMEM; TQ_E_IO; TQ_E_VALUE naming the tensor
 * and flat index. On error w holds nothing.
 */
tq_status tq_wmat_keep_plain(tq_wmat *w, const tq_model *m, const tq_tensor *t, const char *path,
                             tq_error *err);

/** A plain F16/BF16 matrix held with a kernel (tq_wmat_keep_plain) takes
 *  activations rounded to its type first, as ggml multiplies a GGUF file's
 *  F16/BF16 matrices (docs/kernels.md); row views of it then do too. No
 *  effect on other matrices (nor under TRUEQ_ISA=decode). */
void tq_wmat_ggml_act(tq_wmat *w);

/**
 * w = rows [r0, r0 + rows) of src as a view, for any matrix: float32, plain
 * F16/BF16 or quantized (every codec; tq_wmat_rows of the view gives the
 * bytes the same rows of src give). Borrows src's values, codes and side
 * tensors, which must outlive w. A quantized view gets a kernel of its own
 * (over src's codes and side tensors sliced at row r0) when a kernel
 * multiplies the codec and its layout is row-sliced (codes whole bytes per
 * row, each side tensor per row or shared), so src needs none
 * (tq_wmat_keep_codes). The range must lie within src (asserted).
 * @return TQ_OK; TQ_E_NOMEM (a kernel's repacked copy; w holds nothing).
 */
tq_status tq_wmat_view_rows(tq_wmat *w, const tq_wmat *src, int64_t r0, int64_t rows);

/** 1 when t can be held as stored: a 2-D quantized tensor (not simulated)
 *  with codes and side tensors; any_codec 0 narrows it to linear-sym 8-bit
 *  codes with float32 scales (the encoder's and decoder's keep_int8). */
int tq_wmat_keepable(const tq_tensor *t, int any_codec);

/** A float32 matrix over values (borrowed). */
void tq_wmat_set_f32(tq_wmat *w, const float *values, int64_t rows, int64_t cols);

/**
 * Hold t (tq_wmat_keepable, shape [rows, cols] already checked) as stored:
 * reads its codes and side tensors from m with pread (tq_model_read_stored,
 * never a copy from the map; m NULL: t's data and aux are in memory and are
 * copied), then decodes it once tile by tile to refuse non-finite weights,
 * and prepares a kernel when one multiplies the codec. path names the model
 * in messages.
 * @return TQ_OK; TQ_E_NOMEM; TQ_E_IO (a read); TQ_E_VALUE naming the tensor
 * and the flat index of a non-finite weight; errors of tq_dequantize_rows.
 * On error w holds nothing (tq_wmat_free is still safe).
 */
tq_status tq_wmat_keep(tq_wmat *w, const tq_model *m, const tq_tensor *t, const char *path, tq_error *err);

/** tq_wmat_keep without a kernel: for a matrix only multiplied through row
 *  views (tq_wmat_view_rows prepares theirs), so no repacked copy is made
 *  for the whole. */
tq_status tq_wmat_keep_codes(tq_wmat *w, const tq_model *m, const tq_tensor *t, const char *path, tq_error *err);

/** 1 when w holds codes (0: float32). */
static inline int tq_wmat_quantized(const tq_wmat *w) { return w->codes != NULL; }

/**
 * Rows [r0, r1) of w into out[(r1 - r0) * cols]: copied for a float matrix,
 * decoded for a quantized one. The range must lie within w (an internal
 * invariant: asserted).
 */
void tq_wmat_rows(const tq_wmat *w, int64_t r0, int64_t r1, float *out);

/** Rows [r0, r1) of the matrices parts[0..n) stacked by rows (each of the
 *  same cols), into out. */
void tq_wmat_stack_rows(const tq_wmat *parts, int n, int64_t r0, int64_t r1, float *out);

/** 1 when products with w run a kernel over its stored codes (kern.h): a
 *  codec and layout a kernel row multiplies, kept while TRUEQ_ISA is not
 *  "decode". */
static inline int tq_wmat_kernel(const tq_wmat *w) { return w->k.fn != NULL; }

/**
 * y[i * ldy + r] (= or, with accumulate, +=) sum_c x[i * ldx + c] w[r, c],
 * i < n, r in [r0, r1), by w's kernel (tq_wmat_kernel), activations quantized
 * per row on the fly. The bytes do not depend on how [0, rows) is split.
 * @return TQ_OK; TQ_E_NOMEM (nothing written: the caller decodes instead).
 */
tq_status tq_wmat_matmul(const tq_wmat *w, const float *x, int64_t ldx, int64_t n, int64_t r0, int64_t r1, float *y,
                         int64_t ldy, int accumulate);

/** The same over activations already quantized for w (tq_kact_fits). */
static inline void tq_wmat_matmul_act(const tq_wmat *w, const tq_kact *a, int64_t r0, int64_t r1, float *y, int64_t ldy,
                                      int accumulate) {
    tq_kern_matmul_act(&w->k, a, r0, r1, y, ldy, accumulate);
}

void tq_wmat_free(tq_wmat *w);
#endif
