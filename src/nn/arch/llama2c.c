/*
 * llama2c.c — the Llama family with Meta / llama2.c tensor names (as
 * stories260K uses them) and params.json keys: pre-RMSNorm, RoPE on
 * interleaved pairs, SwiGLU, LM head (tied when output.weight is absent).
 */
#include "nn/arch/arch.h"
#include "trueq_llama.h"

const tq_arch tq_arch_llama2c = {
    .name = "llama2c",
    .title = "Llama (llama2.c names)",
    .family = TQ_FAMILY_DECODER,
    .id = TQ_LLAMA_NAMING_META,
    .model_type = NULL,
    .key_hint = "dim",
    .prefixes = {"", NULL},
    .tensor = {
        [TQ_R_TOK_EMB] = "tok_embeddings",
        [TQ_R_ATT_NORM] = "layers.%d.attention_norm",
        [TQ_R_Q] = "layers.%d.attention.wq",
        [TQ_R_K] = "layers.%d.attention.wk",
        [TQ_R_V] = "layers.%d.attention.wv",
        [TQ_R_O] = "layers.%d.attention.wo",
        [TQ_R_FFN_NORM] = "layers.%d.ffn_norm",
        [TQ_R_FFN_GATE] = "layers.%d.feed_forward.w1",
        [TQ_R_FFN_DOWN] = "layers.%d.feed_forward.w2",
        [TQ_R_FFN_UP] = "layers.%d.feed_forward.w3",
        [TQ_R_FINAL_NORM] = "norm",
        [TQ_R_OUTPUT] = "output",
    },
    .raw = 0,
    .bias = 0,
    .optional = TQ_ROLE_BIT(TQ_R_OUTPUT),
    .detect = TQ_R_Q,
    .norm = TQ_NORM_RMS,
    .norm_place = TQ_NORM_PRE,
    .act = TQ_ACTK_SILU_GATED,
    .pos = TQ_POS_ROPE_PAIRS,
    .head = TQ_HEAD_LM,
    .keys = {.dim = "dim", .n_layers = "n_layers", .n_heads = "n_heads", .n_kv_heads = "n_kv_heads",
             .hidden_dim = "hidden_dim", .vocab = "vocab_size", .max_pos = "max_seq_len", .eps = "norm_eps"},
    .def = {.max_pos = 2048, .eps = 1e-5f, .act = TQ_ACTK_SILU_GATED},
};
