/*
 * quant_dec.h — calibrated quantization of a Llama-family decoder (internal;
 * `convert --method gptq|awq|awq-gptq` on a decoder, docs/quality.md).
 *
 * tq_calibrate_dec is tq_calibrate (quant.h) for the decoders of
 * trueq_llama.h (llama2.c / Meta, Hugging Face Llama, Qwen2, Phi-3 with its
 * fused qkv_proj and gate_up_proj, Mistral, llama.cpp GGUF names): the
 * calibration texts, tokenized by the model's own tokenizer with its BOS
 * first, run block by block through trueq's decoder (src/nn/llama_hook.h);
 * in each block, q/k/v (or the fused qkv), then o, then gate/up (or the
 * fused gate_up), then down are quantized on the inputs that the block's
 * already-quantized matrices and the already-quantized blocks before it
 * produce. AWQ folds its scales exactly (awq_dec.h): the attention RMSNorm
 * gain into q/k/v, the FFN RMSNorm gain into gate/up, v's rows into o, up's
 * rows into down; the folded gains are kept tensors with new values
 * (tq_calibrated_put_kept, written through the prekeep hook). Deterministic for any thread count.
 */
#ifndef TQ_QUANT_QUANT_DEC_H
#define TQ_QUANT_QUANT_DEC_H

#include "quant/quant.h"

/**
 * Calibrate every decoder block matrix plan p (made from model m) quantizes.
 * @return the codes, or NULL with err set: TQ_E_UNSUPPORTED when m is not a
 * Llama-style decoder, a matrix is held as stored (F16/BF16 inputs) or a
 * codec has no grid (naming the tensor); TQ_E_SHAPE for a tensor whose shape
 * is not the decoder's; the configuration's, tokenizer's, calibration
 * file's and forward pass's errors; gptq's (naming the tensor).
 */
tq_calibrated *tq_calibrate_dec(const tq_model *m, const tq_plan *p, const tq_calib_options *co, tq_error *err);

#endif
