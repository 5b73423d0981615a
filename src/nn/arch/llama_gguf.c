/*
 * llama_gguf.c — the Llama family as llama.cpp stores it in a GGUF file
 * (general.architecture "llama"; FORMATS.md §2.5): token_embd,
 * blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate,
 * ffn_up, ffn_down}, output_norm and output (absent when tied to
 * token_embd). Pre-RMSNorm, SwiGLU, LM head.
 *
 * RoPE on adjacent pairs (2j, 2j+1): llama.cpp's "normal" rotation for arch
 * llama. convert_hf_to_gguf.py permutes HF's q/k rows back into this (the
 * Meta / llama2.c) layout; tests/test_llama_gguf.c checks it against
 * transformers' logits on SmolLM2's GGUF.
 *
 * The configuration keys are the GGUF keys without the "llama." prefix; the
 * GGUF config reader (llama_config.c, tq_llama_config_gguf) puts the prefix
 * from general.architecture in front.
 */
#include "nn/arch/arch.h"
#include "trueq_llama.h"

const tq_arch tq_arch_llama_gguf = {
    .name = "llama-gguf", .title = "Llama (llama.cpp GGUF names)", .id = TQ_LLAMA_NAMING_GGUF,
    .model_type = NULL, .key_hint = "block_count", .prefixes = {"", NULL},
    .tensor = {
        TQ_ARCH_LLAMA_TENSORS("token_embd", "blk.%d.", "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                              "ffn_norm", "ffn_gate", "ffn_down", "ffn_up", "output_norm", "output"),
    },
    TQ_ARCH_LLAMA_BLOCKS,
    .optional = TQ_ROLE_BIT(TQ_R_OUTPUT),
    .pos = TQ_POS_ROPE_PAIRS,
    .keys = {.dim = "embedding_length", .n_layers = "block_count", .n_heads = "attention.head_count",
             .n_kv_heads = "attention.head_count_kv", .hidden_dim = "feed_forward_length", .vocab = "vocab_size",
             .max_pos = "context_length", .eps = "attention.layer_norm_rms_epsilon"},
    .def = {.max_pos = 2048, .eps = 1e-5f, .act = TQ_ACTK_SILU_GATED},
};
