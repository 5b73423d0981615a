/*
 * qwen2.c — Qwen2ForCausalLM: Llama's blocks and names with biases on the
 * q, k and v projections (self_attn.{q,k,v}_proj.bias); a sliding window
 * only when use_sliding_window is true (transformers 4.46 defaults it off).
 */
#include "nn/arch/arch.h"
#include "trueq_llama.h"

const tq_arch tq_arch_qwen2 = {
    .name = "qwen2", .title = "Qwen2", .id = TQ_LLAMA_NAMING_QWEN2,
    .model_type = "qwen2", .hf_class = "Qwen2ForCausalLM",
    .tensor = {TQ_ARCH_HF_DECODER_TENSORS},
    TQ_ARCH_LLAMA_BLOCKS,
    .bias = TQ_ROLE_BIT(TQ_R_Q) | TQ_ROLE_BIT(TQ_R_K) | TQ_ROLE_BIT(TQ_R_V),
    .optional = TQ_ROLE_BIT(TQ_R_OUTPUT),
    TQ_ARCH_HF_DECODER_KEYS,
    .def = {.max_pos = 32768, .eps = 1e-6f, .act = TQ_ACTK_SILU_GATED},
    .window_key = "sliding_window", .window_switch = "use_sliding_window",
};
