/*
 * quant.h — calibrated quantization of a model (internal; `convert --method
 * gptq|awq`, docs/quality.md).
 *
 * tq_calibrate runs the model's own forward pass (BERT-family encoders:
 * src/nn/encoder.c through encoder_hook.h) over calibration texts and
 * computes, for every encoder linear layer the plan quantizes, its codes and
 * side tensors in the plan's exact format. Layers are done in forward order
 * and, inside a layer, q/k/v, then the attention output, then the FFN in,
 * then the FFN out; each step's inputs are produced by the weights already
 * quantized before it (their decoded values are written back into the
 * encoder), so the error of earlier layers is part of what later layers
 * compensate. tq_calibrated_fill is the convert executor's prequant hook
 * (tq_convert_options.prequant): tensors it does not hold (embeddings,
 * heads, anything not an encoder linear) are quantized by their codec.
 * Deterministic for any thread count.
 */
#ifndef TQ_QUANT_QUANT_H
#define TQ_QUANT_QUANT_H

#include "core/internal.h"

typedef enum tq_calib_method {
    TQ_CALIB_GPTQ = 1,   /* GPTQ error compensation (gptq.h)                  */
    TQ_CALIB_AWQ  = 2,   /* AWQ scaling where a fold exists (awq.h), then RTN  */
    TQ_CALIB_AWQ_GPTQ = 3 /* both: AWQ scaling, then GPTQ                      */
} tq_calib_method;

typedef struct tq_calib_options {
    int         method;       /* tq_calib_method                               */
    int         act_order;    /* GPTQ: columns by descending diag(H)           */
    double      damp;         /* GPTQ damping (0: 0.01)                        */
    const char *calib_file;   /* one text per line; NULL: the built-in set     */
    int         max_tokens;   /* per text (specials included); 0: 128          */
    tq_progress_fn progress;  /* after each matrix (may be NULL)               */
    void       *ud;
    int         bias_correct; /* after each matrix, its bias absorbs the mean
                                 output shift (W - Wq) E[x] (x: that step's
                                 calibration inputs); the bias stays float   */
} tq_calib_options;

typedef struct tq_calibrated tq_calibrated;

/**
 * Calibrate every encoder linear layer plan p quantizes (p made from model m).
 * @return the codes, or NULL with err set: TQ_E_UNSUPPORTED when m is not a
 * BERT-family encoder (decoders: tq_calibrate_dec, quant_dec.h) or a tensor's codec has no
 * grid (grid.h, naming it); the tokenizer's, the calibration file's and the
 * forward pass's errors; gptq's (naming the tensor).
 */
tq_calibrated *tq_calibrate(const tq_model *m, const tq_plan *p, const tq_calib_options *co, tq_error *err);
void           tq_calibrated_free(tq_calibrated *c);
/** Number of tensors it holds; text lines of what was done (borrowed). */
int            tq_calibrated_count(const tq_calibrated *c);
const char    *tq_calibrated_notes(const tq_calibrated *c);

/** For another calibrator (calibrate_dec.c): an empty result (NULL: out of
 *  memory); a new entry for tensor name with q's layout for [rows, cols],
 *  whose codes and side tensors (tq_qparams_layout's sizes, owned by c) it
 *  fills (*codes, aux[0..)); its notes. */
tq_calibrated *tq_calibrated_new(void);
tq_status      tq_calibrated_add(tq_calibrated *c, const char *name, const tq_qparams *q, int64_t rows, int64_t cols,
                                 void **codes, void *aux[TQ_MAX_AUX], tq_error *err);
tq_sb         *tq_calibrated_notes_sb(tq_calibrated *c);
/** New float32 values v[n] of a kept tensor (a corrected bias, a norm gain an
 *  AWQ scale was folded into), replacing any earlier ones; the writer gets
 *  them through tq_calibrated_keep. */
tq_status      tq_calibrated_put_kept(tq_calibrated *c, const char *name, const float *v, int64_t n, tq_error *err);

/** The prequant hook (ctx = a tq_calibrated): copies name's codes and side
 *  tensors when it holds them (*done = 1); TQ_E_INTERNAL when it holds them
 *  for other settings or another shape. */
tq_status tq_calibrated_fill(void *ctx, const char *name, const tq_qparams *q, int64_t rows, int64_t cols, void *codes,
                             void *const aux[TQ_MAX_AUX], int *done, tq_error *err);

/** The prekeep hook (ctx = a tq_calibrated): the values of a kept tensor the
 *  calibration changed (a corrected bias; v's bias with the AWQ fold), in
 *  dtype, in *data (owned by c); *data = NULL for any other tensor.
 *  TQ_E_INTERNAL when nbytes is not the tensor's size in dtype. */
tq_status tq_calibrated_keep(void *ctx, const char *name, tq_dtype dtype, uint64_t nbytes, const void **data, tq_error *err);

#endif
