/*
 * distilbert.c — the DistilBERT family row (DistilBertModel and its
 * *ForSequenceClassification): BERT without token types or pooler, q scaled
 * before q.k, the relu pre_classifier head; config keys of its own.
 */
#include "nn/arch/arch.h"
#include "trueq_nn.h"

const tq_arch tq_arch_distilbert = {
    .name = "distilbert", .title = "DistilBERT", .family = TQ_FAMILY_ENCODER, .id = TQ_ENC_DISTILBERT,
    .model_type = "distilbert", .key_hint = "n_layers", .prefixes = {"", "distilbert.", NULL},
    .tensor = {
        [TQ_R_TOK_EMB] = "embeddings.word_embeddings",
        [TQ_R_POS_EMB] = "embeddings.position_embeddings",
        [TQ_R_EMB_NORM] = "embeddings.LayerNorm",
        [TQ_R_Q] = "transformer.layer.%d.attention.q_lin",
        [TQ_R_K] = "transformer.layer.%d.attention.k_lin",
        [TQ_R_V] = "transformer.layer.%d.attention.v_lin",
        [TQ_R_O] = "transformer.layer.%d.attention.out_lin",
        [TQ_R_ATT_NORM] = "transformer.layer.%d.sa_layer_norm",
        [TQ_R_FFN_UP] = "transformer.layer.%d.ffn.lin1",
        [TQ_R_FFN_DOWN] = "transformer.layer.%d.ffn.lin2",
        [TQ_R_FFN_NORM] = "transformer.layer.%d.output_layer_norm",
        [TQ_R_PRE_CLS] = "pre_classifier",
        [TQ_R_CLS] = "classifier",
    },
    .raw = TQ_ROLE_BIT(TQ_R_PRE_CLS) | TQ_ROLE_BIT(TQ_R_CLS),
    .bias = TQ_ROLE_BIT(TQ_R_EMB_NORM) | TQ_ROLE_BIT(TQ_R_Q) | TQ_ROLE_BIT(TQ_R_K) | TQ_ROLE_BIT(TQ_R_V) |
            TQ_ROLE_BIT(TQ_R_O) | TQ_ROLE_BIT(TQ_R_ATT_NORM) | TQ_ROLE_BIT(TQ_R_FFN_UP) | TQ_ROLE_BIT(TQ_R_FFN_DOWN) |
            TQ_ROLE_BIT(TQ_R_FFN_NORM) | TQ_ROLE_BIT(TQ_R_PRE_CLS) | TQ_ROLE_BIT(TQ_R_CLS),
    .optional = TQ_ROLE_BIT(TQ_R_PRE_CLS) | TQ_ROLE_BIT(TQ_R_CLS),
    .detect = TQ_R_Q,
    .norm = TQ_NORM_LAYER,
    .norm_place = TQ_NORM_POST,
    .act = TQ_ACTK_GELU,
    .pos = TQ_POS_ABSOLUTE,
    .head = TQ_HEAD_PRE_RELU,
    .q_scaled = 1,
    .keys = {.dim = "dim", .n_layers = "n_layers", .n_heads = "n_heads", .hidden_dim = "hidden_dim",
             .vocab = "vocab_size", .max_pos = "max_position_embeddings", .act = "activation"},
    .def = {.dim = 768, .n_layers = 6, .n_heads = 12, .hidden_dim = 3072, .vocab = 30522, .max_pos = 512,
            .type_vocab = 0, .eps = 1e-12f, .act = TQ_ACTK_GELU},
};
