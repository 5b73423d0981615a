/*
 * sensitivity.h — the planner's measured error: the output change of the
 * forward pass when one tensor alone is quantized (internal; docs/planner.md
 * §sensitivity).
 *
 * For tensor t and setting q: t's float32 weights in the encoder are replaced
 * by their quantized values (encoder linears: by the calibrated method,
 * GPTQ with the float model's H of that input; other tensors the encoder
 * holds, embeddings and head matrices: the codec's own quantize), the first
 * n_eval calibration texts run through, and d = 1 - mean over texts of
 * cos(pooled, pooled of the float model); the weights are then restored.
 * The result for (t, q) is sqrt(d), a planner measure
 * (tq_planner_options.measure): the planner minimises the sum over tensors
 * under the budget. sqrt because d is quadratic in the output perturbation
 * and the tensors' perturbations add up largely aligned (measured on
 * MiniLM: the sum of single-tensor d's was 0.003, the joint d 0.025): summing
 * sqrt(d) (a norm) predicts the joint change better than summing d and
 * penalises one large error more than many small ones. Tensors the
 * encoder does not hold get TQ_E_UNSUPPORTED naming them.
 */
#ifndef TQ_QUANT_SENSITIVITY_H
#define TQ_QUANT_SENSITIVITY_H

#include "quant/quant.h"

typedef struct tq_sens tq_sens;

/** co: method (0 = the codec's quantize, TQ_CALIB_GPTQ/AWQ_GPTQ: GPTQ),
 *  act_order, damp, texts. n_eval: texts measured (0: 16). */
tq_sens  *tq_sens_create(const tq_model *m, const tq_calib_options *co, int n_eval, tq_error *err);
void      tq_sens_free(tq_sens *s);
/** The planner measure (ctx = a tq_sens). */
tq_status tq_sens_measure(void *ctx, const tq_tensor *t, const tq_qparams *q, double *e, tq_error *err);

#endif
