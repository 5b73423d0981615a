/*
 * llama_hf.c — LlamaForCausalLM (Hugging Face names and config.json keys):
 * RoPE on rotate-half pairs, plain or with rope_scaling "llama3" / "longrope"
 * (llama_config.c). Also the row of a Hugging Face decoder whose config.json
 * names no family: Phi-3-style fused self_attn.qkv_proj (rows q, k, v) and
 * mlp.gate_up_proj (rows gate, up) stand in for the separate tensors when
 * those are absent.
 */
#include "nn/arch/arch.h"
#include "trueq_llama.h"

const tq_arch tq_arch_llama_hf = {
    .name = "llama-hf", .title = "Llama (Hugging Face names)", .id = TQ_LLAMA_NAMING_HF,
    .model_type = "llama", .hf_class = "LlamaForCausalLM",
    .tensor = {
        TQ_ARCH_HF_DECODER_TENSORS,
        [TQ_R_QKV] = "model.layers.%d.self_attn.qkv_proj",        /* Phi-3: fused, split by rows */
        [TQ_R_FFN_GATE_UP] = "model.layers.%d.mlp.gate_up_proj",
    },
    TQ_ARCH_LLAMA_BLOCKS, .bias = 0,
    .optional = TQ_ROLE_BIT(TQ_R_OUTPUT) | TQ_ROLE_BIT(TQ_R_QKV) | TQ_ROLE_BIT(TQ_R_FFN_GATE_UP),
    TQ_ARCH_HF_DECODER_KEYS,
    .def = {.max_pos = 2048, .eps = 1e-5f, .act = TQ_ACTK_SILU_GATED},
};
