/*
 * mistral.c — MistralForCausalLM: Llama's blocks and names with
 * sliding-window attention (config.json sliding_window; null: none).
 */
#include "nn/arch/arch.h"
#include "trueq_llama.h"

const tq_arch tq_arch_mistral = {
    .name = "mistral", .title = "Mistral", .id = TQ_LLAMA_NAMING_MISTRAL,
    .model_type = "mistral", .hf_class = "MistralForCausalLM",
    .tensor = {TQ_ARCH_HF_DECODER_TENSORS},
    TQ_ARCH_LLAMA_BLOCKS, .bias = 0,
    .optional = TQ_ROLE_BIT(TQ_R_OUTPUT),
    TQ_ARCH_HF_DECODER_KEYS,
    .def = {.max_pos = 131072, .eps = 1e-6f, .act = TQ_ACTK_SILU_GATED},
    .window_key = "sliding_window",
};
