/*
 * llama2c.c — the Llama family with Meta / llama2.c tensor names (as
 * stories260K uses them) and params.json keys: pre-RMSNorm, RoPE on
 * interleaved pairs, SwiGLU, LM head (tied when output.weight is absent).
 */
#include "nn/arch/arch.h"
#include "trueq_llama.h"

const tq_arch tq_arch_llama2c = {
    .name = "llama2c", .title = "Llama (llama2.c names)", .id = TQ_LLAMA_NAMING_META,
    .model_type = NULL, .key_hint = "dim", .prefixes = {"", NULL},
    .tensor = {
        TQ_ARCH_LLAMA_TENSORS("tok_embeddings", "layers.%d.", "attention_norm", "attention.wq", "attention.wk",
                              "attention.wv", "attention.wo", "ffn_norm", "feed_forward.w1", "feed_forward.w2",
                              "feed_forward.w3", "norm", "output"),
    },
    TQ_ARCH_LLAMA_BLOCKS,
    .optional = TQ_ROLE_BIT(TQ_R_OUTPUT),
    .pos = TQ_POS_ROPE_PAIRS,
    .keys = {.dim = "dim", .n_layers = "n_layers", .n_heads = "n_heads", .n_kv_heads = "n_kv_heads",
             .hidden_dim = "hidden_dim", .vocab = "vocab_size", .max_pos = "max_seq_len", .eps = "norm_eps"},
    .def = {.max_pos = 2048, .eps = 1e-5f, .act = TQ_ACTK_SILU_GATED},
};
