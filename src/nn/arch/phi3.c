/*
 * phi3.c — Phi3ForCausalLM: fused self_attn.qkv_proj [q_dim + 2 kv_dim, dim]
 * (rows q, then k, then v) and mlp.gate_up_proj [2 hidden, dim] (gate, then
 * up), split by rows as views; rope_scaling "longrope" with short and long
 * factors, partial_rotary_factor and sliding_window (llama_config.c).
 */
#include "nn/arch/arch.h"
#include "trueq_llama.h"

const tq_arch tq_arch_phi3 = {
    .name = "phi3", .title = "Phi-3", .id = TQ_LLAMA_NAMING_PHI3,
    .model_type = "phi3", .hf_class = "Phi3ForCausalLM",
    .tensor = {
        TQ_ARCH_HF_DECODER_TENSORS,
        [TQ_R_QKV] = "model.layers.%d.self_attn.qkv_proj",
        [TQ_R_FFN_GATE_UP] = "model.layers.%d.mlp.gate_up_proj",
    },
    TQ_ARCH_LLAMA_BLOCKS, .bias = 0,
    /* the separate names stay for checkpoints split by other tools */
    .optional = TQ_ROLE_BIT(TQ_R_OUTPUT) | TQ_ROLE_BIT(TQ_R_QKV) | TQ_ROLE_BIT(TQ_R_FFN_GATE_UP),
    TQ_ARCH_HF_DECODER_KEYS,
    .def = {.max_pos = 4096, .eps = 1e-5f, .act = TQ_ACTK_SILU_GATED},
    .window_key = "sliding_window",
};
