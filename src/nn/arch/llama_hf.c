/*
 * llama_hf.c — the Llama family with Hugging Face names and config.json keys
 * (LlamaForCausalLM-style): RoPE on rotate-half pairs; Phi-3-style fused
 * self_attn.qkv_proj (rows q, k, v) and mlp.gate_up_proj (rows gate, up)
 * stand in for the separate tensors when those are absent.
 */
#include "nn/arch/arch.h"
#include "trueq_llama.h"

const tq_arch tq_arch_llama_hf = {
    .name = "llama-hf",
    .title = "Llama (Hugging Face names)",
    .family = TQ_FAMILY_DECODER,
    .id = TQ_LLAMA_NAMING_HF,
    .model_type = NULL,
    .key_hint = "hidden_size",
    .prefixes = {"", NULL},
    .tensor = {
        [TQ_R_TOK_EMB] = "model.embed_tokens",
        [TQ_R_ATT_NORM] = "model.layers.%d.input_layernorm",
        [TQ_R_Q] = "model.layers.%d.self_attn.q_proj",
        [TQ_R_K] = "model.layers.%d.self_attn.k_proj",
        [TQ_R_V] = "model.layers.%d.self_attn.v_proj",
        [TQ_R_QKV] = "model.layers.%d.self_attn.qkv_proj",
        [TQ_R_O] = "model.layers.%d.self_attn.o_proj",
        [TQ_R_FFN_NORM] = "model.layers.%d.post_attention_layernorm",
        [TQ_R_FFN_GATE] = "model.layers.%d.mlp.gate_proj",
        [TQ_R_FFN_DOWN] = "model.layers.%d.mlp.down_proj",
        [TQ_R_FFN_UP] = "model.layers.%d.mlp.up_proj",
        [TQ_R_FFN_GATE_UP] = "model.layers.%d.mlp.gate_up_proj",
        [TQ_R_FINAL_NORM] = "model.norm",
        [TQ_R_OUTPUT] = "lm_head",
    },
    .raw = 0,
    .bias = 0,
    .optional = TQ_ROLE_BIT(TQ_R_OUTPUT) | TQ_ROLE_BIT(TQ_R_QKV) | TQ_ROLE_BIT(TQ_R_FFN_GATE_UP),
    .detect = TQ_R_Q,
    .norm = TQ_NORM_RMS,
    .norm_place = TQ_NORM_PRE,
    .act = TQ_ACTK_SILU_GATED,
    .pos = TQ_POS_ROPE_HALF,
    .head = TQ_HEAD_LM,
    .keys = {.dim = "hidden_size", .n_layers = "num_hidden_layers", .n_heads = "num_attention_heads",
             .n_kv_heads = "num_key_value_heads", .hidden_dim = "intermediate_size", .vocab = "vocab_size",
             .max_pos = "max_position_embeddings", .eps = "rms_norm_eps"},
    .def = {.max_pos = 2048, .eps = 1e-5f, .act = TQ_ACTK_SILU_GATED},
};
