/*
 * arch.h — what a model family is, as data (internal to src/nn/).
 *
 * One tq_arch row describes a family: the tensor name of every role (with
 * "%d" for the layer index, without the ".weight"/".bias" suffix), which
 * roles carry a bias, the norm, activation and position kinds, how fused
 * tensors split, the classification head, and which config.json keys give
 * which field (with the defaults transformers uses when a key is absent).
 * The encoder (encoder.c) and the decoder (llama.c) read the row; nothing
 * else in src/nn/ spells a tensor name. Rows live one per file beside this
 * header (bert.c, distilbert.c, roberta.c, llama2c.c, llama_hf.c, llama_gguf.c, qwen2.c,
 * phi3.c, mistral.c) and are listed in
 * table.c.
 *
 * This header has no .c of its own (types and the rows' declarations only),
 * so the row files and the table depend on it without a circle.
 */
#ifndef TQ_NN_ARCH_H
#define TQ_NN_ARCH_H
#include <stdint.h>

/** Roles of tensors. Matrices are [out, in]. A layer role's name holds "%d". */
typedef enum tq_role {
    TQ_R_TOK_EMB,     /* [vocab, dim] token embeddings                         */
    TQ_R_POS_EMB,     /* [max_pos, dim] learned positions (absolute only)      */
    TQ_R_TYPE_EMB,    /* [type_vocab, dim] token types (BERT)                  */
    TQ_R_EMB_NORM,    /* [dim] norm after the embeddings                       */
    TQ_R_ATT_NORM,    /* [dim] the attention block's norm (before or after)    */
    TQ_R_Q, TQ_R_K, TQ_R_V, /* [q_dim | kv_dim, dim]                          */
    TQ_R_QKV,         /* [q_dim + 2 kv_dim, dim]: fused q, k, v (split by rows) */
    TQ_R_O,           /* [dim, q_dim]                                          */
    TQ_R_FFN_NORM,    /* [dim] the feed-forward block's norm                   */
    TQ_R_FFN_GATE,    /* [hidden, dim] gated FFN: silu(gate x) * (up x)        */
    TQ_R_FFN_UP,      /* [hidden, dim] the FFN's input matrix                  */
    TQ_R_FFN_DOWN,    /* [dim, hidden]                                         */
    TQ_R_FFN_GATE_UP, /* [2 hidden, dim]: fused gate, then up (split by rows)  */
    TQ_R_FINAL_NORM,  /* [dim] after the last layer (pre-norm decoders)        */
    TQ_R_OUTPUT,      /* [vocab, dim] the LM head (absent when tied)           */
    TQ_R_POOLER,      /* [dim, dim] BERT pooler                                */
    TQ_R_PRE_CLS,     /* [dim, dim] DistilBERT pre_classifier, RoBERTa classifier.dense */
    TQ_R_CLS,         /* [labels, dim] sequence classifier                     */
    TQ_R_COUNT
} tq_role;

#define TQ_ROLE_BIT(r) (1u << (r))

typedef enum tq_family { TQ_FAMILY_ENCODER = 1, TQ_FAMILY_DECODER = 2 } tq_family;
typedef enum tq_norm_kind { TQ_NORM_LAYER = 1, TQ_NORM_RMS = 2 } tq_norm_kind;
/** Where the block norms sit: after the residual add (BERT) or before the block (Llama). */
typedef enum tq_norm_place { TQ_NORM_POST = 1, TQ_NORM_PRE = 2 } tq_norm_place;
typedef enum tq_act_kind {
    TQ_ACTK_GELU = 0, TQ_ACTK_GELU_TANH = 1, TQ_ACTK_RELU = 2, /* = tq_enc_act */
    TQ_ACTK_SILU_GATED = 3                                      /* SwiGLU        */
} tq_act_kind;
typedef enum tq_pos_kind {
    TQ_POS_ABSOLUTE = 1,      /* learned [max_pos, dim] added to the tokens     */
    TQ_POS_ROPE_PAIRS = 2,    /* RoPE on pairs (2j, 2j+1) (Meta / llama2.c)     */
    TQ_POS_ROPE_HALF = 3,     /* RoPE on pairs (j, j + head_size/2) (HF)        */
    TQ_POS_NONE = 4,
    TQ_POS_ABSOLUTE_PADDED = 5 /* learned, ids padding_idx + 1, + 2, ... counted over
                                  the non-pad tokens; pad tokens at padding_idx (RoBERTa) */
} tq_pos_kind;
typedef enum tq_head_kind {
    TQ_HEAD_POOLER_TANH = 1,  /* classifier(tanh(pooler(x[CLS]))) (BERT)        */
    TQ_HEAD_PRE_RELU = 2,     /* classifier(relu(pre_classifier(x[CLS]))) (DistilBERT) */
    TQ_HEAD_LM = 3,           /* logits = output (final_norm(x)) (decoders)     */
    TQ_HEAD_DENSE_TANH = 4    /* out_proj(tanh(dense(x[<s>]))): PRE_CLS is dense, CLS
                                 out_proj (RobertaClassificationHead)           */
} tq_head_kind;

/** config.json keys (NULL: the family has no such key) and their defaults. */
typedef struct tq_arch_keys {
    const char *dim, *n_layers, *n_heads, *n_kv_heads, *hidden_dim, *vocab, *max_pos;
    const char *eps;          /* the norm epsilon's key                        */
    const char *act;          /* the activation's key (string)                 */
    const char *type_vocab;   /* token types (BERT)                            */
    const char *pos_type;     /* a string key that must say "absolute" (BERT's
                                 position_embedding_type), or NULL             */
} tq_arch_keys;

typedef struct tq_arch_defaults {
    int   dim, n_layers, n_heads, hidden_dim, vocab, max_pos, type_vocab;
    int   pad;                /* pad_token_id when config.json has none         */
    float eps;
    tq_act_kind act;
} tq_arch_defaults;

typedef struct tq_arch {
    const char   *name;        /* "bert", "distilbert", "llama2c", "llama-hf"  */
    const char   *title;       /* for messages: "BERT", "DistilBERT", ...      */
    tq_family     family;
    int           id;          /* tq_enc_arch or tq_llama_naming of the row      */
    const char   *model_type;  /* config.json "model_type" naming it, or NULL    */
    const char   *hf_class;    /* config.json "architectures" entry naming it (decoders), or NULL */
    const char   *key_hint;    /* a key whose presence (without model_type) names it */
    /* prefixes tried before every name except the raw roles (NULL-ended) */
    const char   *prefixes[4];
    const char   *tensor[TQ_R_COUNT]; /* name without ".weight", or NULL: no such role */
    uint32_t      raw;         /* roles named without a prefix (heads)           */
    uint32_t      bias;        /* roles with a NAME.bias beside NAME.weight       */
    uint32_t      optional;    /* roles that may be absent                       */
    tq_role       detect;      /* a layer-0 role whose tensor (with TOK_EMB) identifies the family */
    tq_norm_kind  norm;
    tq_norm_place norm_place;
    tq_act_kind   act;         /* when the config names none                     */
    tq_pos_kind   pos;
    tq_head_kind  head;
    int           q_scaled;    /* 1: q is divided by sqrt(head_size) before q.k (DistilBERT) */
    tq_arch_keys  keys;
    tq_arch_defaults def;
    /* decoders: the config.json key of a sliding attention window (NULL: the
     * family has none), and a boolean key that must be true for it to apply
     * (NULL: it applies whenever set; Qwen2's use_sliding_window) */
    const char   *window_key, *window_switch;
} tq_arch;

/* The fields every Llama-style decoder row shares (the blocks
 * tq_llama_open runs: pre-RMSNorm, SwiGLU, an LM head, detected by layer 0's
 * q); a row adds its names, q/k/v biases (the only ones the decoder runs),
 * optional roles, RoPE layout, keys and defaults. */
#define TQ_ARCH_LLAMA_BLOCKS \
    .family = TQ_FAMILY_DECODER, .raw = 0, .detect = TQ_R_Q, .norm = TQ_NORM_RMS, \
    .norm_place = TQ_NORM_PRE, .act = TQ_ACTK_SILU_GATED, .head = TQ_HEAD_LM

/* The tensor names of a Llama-style decoder row, inside its .tensor = {...}:
 * the embedding, each layer's tensors under the layer prefix L (which holds
 * the %d), the final norm and the LM head. */
/* BERT's embedding and block tensor names (HF BertModel, shared by RoBERTa). */
#define TQ_ARCH_BERT_TENSORS                                                                                   \
    [TQ_R_TOK_EMB] = "embeddings.word_embeddings", [TQ_R_POS_EMB] = "embeddings.position_embeddings",       \
    [TQ_R_TYPE_EMB] = "embeddings.token_type_embeddings", [TQ_R_EMB_NORM] = "embeddings.LayerNorm",          \
    [TQ_R_Q] = "encoder.layer.%d.attention.self.query", [TQ_R_K] = "encoder.layer.%d.attention.self.key",   \
    [TQ_R_V] = "encoder.layer.%d.attention.self.value", [TQ_R_O] = "encoder.layer.%d.attention.output.dense", \
    [TQ_R_ATT_NORM] = "encoder.layer.%d.attention.output.LayerNorm",                                         \
    [TQ_R_FFN_UP] = "encoder.layer.%d.intermediate.dense", [TQ_R_FFN_DOWN] = "encoder.layer.%d.output.dense", \
    [TQ_R_FFN_NORM] = "encoder.layer.%d.output.LayerNorm", [TQ_R_POOLER] = "pooler.dense"

#define TQ_ARCH_LLAMA_TENSORS(emb, L, att_norm, q, k, v, o, ffn_norm, gate, down, up, final_norm, output) \
    [TQ_R_TOK_EMB] = emb, [TQ_R_ATT_NORM] = L att_norm, [TQ_R_Q] = L q, [TQ_R_K] = L k, [TQ_R_V] = L v,      \
    [TQ_R_O] = L o, [TQ_R_FFN_NORM] = L ffn_norm, [TQ_R_FFN_GATE] = L gate, [TQ_R_FFN_DOWN] = L down,          \
    [TQ_R_FFN_UP] = L up, [TQ_R_FINAL_NORM] = final_norm, [TQ_R_OUTPUT] = output

/* The names and config.json keys every Hugging Face decoder row shares
 * (Llama, Qwen2, Phi-3, Mistral): model.embed_tokens, model.layers.N.*,
 * model.norm, lm_head (optional: tied). */
#define TQ_ARCH_HF_DECODER_TENSORS                                                                                 \
    TQ_ARCH_LLAMA_TENSORS("model.embed_tokens", "model.layers.%d.", "input_layernorm", "self_attn.q_proj",         \
                          "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "post_attention_layernorm",   \
                          "mlp.gate_proj", "mlp.down_proj", "mlp.up_proj", "model.norm", "lm_head")
#define TQ_ARCH_HF_DECODER_KEYS                                                                                     \
    .prefixes = {"", NULL}, .key_hint = "hidden_size", .pos = TQ_POS_ROPE_HALF,                                     \
    .keys = {.dim = "hidden_size", .n_layers = "num_hidden_layers", .n_heads = "num_attention_heads",              \
             .n_kv_heads = "num_key_value_heads", .hidden_dim = "intermediate_size", .vocab = "vocab_size",       \
             .max_pos = "max_position_embeddings", .eps = "rms_norm_eps"}

/* The rows (one file each). */
extern const tq_arch tq_arch_bert;
extern const tq_arch tq_arch_distilbert;
extern const tq_arch tq_arch_roberta;
extern const tq_arch tq_arch_llama2c;
extern const tq_arch tq_arch_llama_hf;
extern const tq_arch tq_arch_llama_gguf;
extern const tq_arch tq_arch_qwen2;
extern const tq_arch tq_arch_phi3;
extern const tq_arch tq_arch_mistral;
#endif
