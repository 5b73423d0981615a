/*
 * roberta.c — the RoBERTa family row (RobertaModel and
 * RobertaForSequenceClassification): BERT's blocks and tensor names under a
 * "roberta." prefix, position ids counted from padding_idx + 1 over the
 * non-pad tokens (transformers' create_position_ids_from_input_ids), one
 * token type, and the classification head dense -> tanh -> out_proj on the
 * <s> token. RobertaConfig's defaults (pad_token_id 1, 514 positions).
 */
#include "nn/arch/arch.h"
#include "trueq_nn.h"

const tq_arch tq_arch_roberta = {
    .name = "roberta", .title = "RoBERTa", .family = TQ_FAMILY_ENCODER, .id = TQ_ENC_ROBERTA,
    .model_type = "roberta", .key_hint = NULL, .prefixes = {"", "roberta.", NULL},
    .tensor = {
        TQ_ARCH_BERT_TENSORS,
        [TQ_R_PRE_CLS] = "classifier.dense",
        [TQ_R_CLS] = "classifier.out_proj",
    },
    .raw = TQ_ROLE_BIT(TQ_R_PRE_CLS) | TQ_ROLE_BIT(TQ_R_CLS),
    .bias = TQ_ROLE_BIT(TQ_R_EMB_NORM) | TQ_ROLE_BIT(TQ_R_Q) | TQ_ROLE_BIT(TQ_R_K) | TQ_ROLE_BIT(TQ_R_V) |
            TQ_ROLE_BIT(TQ_R_O) | TQ_ROLE_BIT(TQ_R_ATT_NORM) | TQ_ROLE_BIT(TQ_R_FFN_UP) | TQ_ROLE_BIT(TQ_R_FFN_DOWN) |
            TQ_ROLE_BIT(TQ_R_FFN_NORM) | TQ_ROLE_BIT(TQ_R_POOLER) | TQ_ROLE_BIT(TQ_R_PRE_CLS) | TQ_ROLE_BIT(TQ_R_CLS),
    .optional = TQ_ROLE_BIT(TQ_R_POOLER) | TQ_ROLE_BIT(TQ_R_PRE_CLS) | TQ_ROLE_BIT(TQ_R_CLS),
    .detect = TQ_R_Q,
    .norm = TQ_NORM_LAYER,
    .norm_place = TQ_NORM_POST,
    .act = TQ_ACTK_GELU,
    .pos = TQ_POS_ABSOLUTE_PADDED,
    .head = TQ_HEAD_DENSE_TANH,
    .q_scaled = 0,
    .keys = {.dim = "hidden_size", .n_layers = "num_hidden_layers", .n_heads = "num_attention_heads",
             .hidden_dim = "intermediate_size", .vocab = "vocab_size", .max_pos = "max_position_embeddings",
             .eps = "layer_norm_eps", .act = "hidden_act", .type_vocab = "type_vocab_size",
             .pos_type = "position_embedding_type"},
    .def = {.dim = 768, .n_layers = 12, .n_heads = 12, .hidden_dim = 3072, .vocab = 50265, .max_pos = 514,
            .type_vocab = 1, .pad = 1, .eps = 1e-12f, .act = TQ_ACTK_GELU},
};
