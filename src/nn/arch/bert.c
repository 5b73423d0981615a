/*
 * bert.c — the BERT family row (BertModel and its *ForSequenceClassification;
 * MiniLM, bge and other BERT-architecture checkpoints): post-LayerNorm,
 * learned absolute positions and token types, GELU, the tanh pooler head.
 */
#include "nn/arch/arch.h"
#include "trueq_nn.h"

const tq_arch tq_arch_bert = {
    .name = "bert", .title = "BERT", .family = TQ_FAMILY_ENCODER, .id = TQ_ENC_BERT,
    .model_type = "bert", .key_hint = "hidden_size", .prefixes = {"", "bert.", NULL},
    .tensor = {
        TQ_ARCH_BERT_TENSORS,
        [TQ_R_CLS] = "classifier",
    },
    .raw = TQ_ROLE_BIT(TQ_R_CLS),
    .bias = TQ_ROLE_BIT(TQ_R_EMB_NORM) | TQ_ROLE_BIT(TQ_R_Q) | TQ_ROLE_BIT(TQ_R_K) | TQ_ROLE_BIT(TQ_R_V) |
            TQ_ROLE_BIT(TQ_R_O) | TQ_ROLE_BIT(TQ_R_ATT_NORM) | TQ_ROLE_BIT(TQ_R_FFN_UP) | TQ_ROLE_BIT(TQ_R_FFN_DOWN) |
            TQ_ROLE_BIT(TQ_R_FFN_NORM) | TQ_ROLE_BIT(TQ_R_POOLER) | TQ_ROLE_BIT(TQ_R_CLS),
    .optional = TQ_ROLE_BIT(TQ_R_POOLER) | TQ_ROLE_BIT(TQ_R_CLS),
    .detect = TQ_R_Q,
    .norm = TQ_NORM_LAYER,
    .norm_place = TQ_NORM_POST,
    .act = TQ_ACTK_GELU,
    .pos = TQ_POS_ABSOLUTE,
    .head = TQ_HEAD_POOLER_TANH,
    .q_scaled = 0,
    .keys = {.dim = "hidden_size", .n_layers = "num_hidden_layers", .n_heads = "num_attention_heads",
             .hidden_dim = "intermediate_size", .vocab = "vocab_size", .max_pos = "max_position_embeddings",
             .eps = "layer_norm_eps", .act = "hidden_act", .type_vocab = "type_vocab_size",
             .pos_type = "position_embedding_type"},
    .def = {.dim = 768, .n_layers = 12, .n_heads = 12, .hidden_dim = 3072, .vocab = 30522, .max_pos = 512,
            .type_vocab = 2, .eps = 1e-12f, .act = TQ_ACTK_GELU},
};
