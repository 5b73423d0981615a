/*
 * llama_hf.c — the Llama family with Hugging Face names and config.json keys
 * (LlamaForCausalLM-style): RoPE on rotate-half pairs; Phi-3-style fused
 * self_attn.qkv_proj (rows q, k, v) and mlp.gate_up_proj (rows gate, up)
 * stand in for the separate tensors when those are absent.
 */
#include "nn/arch/arch.h"
#include "trueq_llama.h"

const tq_arch tq_arch_llama_hf = {
    .name = "llama-hf", .title = "Llama (Hugging Face names)", .id = TQ_LLAMA_NAMING_HF,
    .model_type = NULL, .key_hint = "hidden_size", .prefixes = {"", NULL},
    .tensor = {
        TQ_ARCH_LLAMA_TENSORS("model.embed_tokens", "model.layers.%d.", "input_layernorm", "self_attn.q_proj",
                              "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "post_attention_layernorm",
                              "mlp.gate_proj", "mlp.down_proj", "mlp.up_proj", "model.norm", "lm_head"),
        [TQ_R_QKV] = "model.layers.%d.self_attn.qkv_proj",        /* Phi-3: fused, split by rows */
        [TQ_R_FFN_GATE_UP] = "model.layers.%d.mlp.gate_up_proj",
    },
    TQ_ARCH_LLAMA_BLOCKS,
    .optional = TQ_ROLE_BIT(TQ_R_OUTPUT) | TQ_ROLE_BIT(TQ_R_QKV) | TQ_ROLE_BIT(TQ_R_FFN_GATE_UP),
    .pos = TQ_POS_ROPE_HALF,
    .keys = {.dim = "hidden_size", .n_layers = "num_hidden_layers", .n_heads = "num_attention_heads",
             .n_kv_heads = "num_key_value_heads", .hidden_dim = "intermediate_size", .vocab = "vocab_size",
             .max_pos = "max_position_embeddings", .eps = "rms_norm_eps"},
    .def = {.max_pos = 2048, .eps = 1e-5f, .act = TQ_ACTK_SILU_GATED},
};
