/*
 * trueq_nn.h — BERT-family encoders (BERT, MiniLM, bge: BertModel; RoBERTa;
 * DistilBERT: DistilBertModel) with their classification and sentence-
 * embedding heads, and the BERT WordPiece tokenizer.
 *
 * Like the decoder (trueq_llama.h), an encoder reads its weights from any
 * tq_model with tq_model_tensor_f32, so a trueq-quantized copy runs through
 * exactly the same forward pass as the original: quantized tensors are
 * dequantized once, when the encoder is built.
 *
 * Tensor names (matrices [out, in], row-major; each family's row in
 * src/nn/arch/ is where they are spelled), after an optional prefix
 * ("bert." / "distilbert." for the *For...Classification checkpoints, none
 * for bare BertModel / DistilBertModel / sentence-transformers files):
 *   BERT: embeddings.{word,position,token_type}_embeddings.weight,
 *     embeddings.LayerNorm.{weight,bias}, encoder.layer.N.attention.self.
 *     {query,key,value}.{weight,bias}, encoder.layer.N.attention.output.dense.
 *     {weight,bias}, encoder.layer.N.attention.output.LayerNorm.{weight,bias},
 *     encoder.layer.N.intermediate.dense.{weight,bias}, encoder.layer.N.output.
 *     dense.{weight,bias}, encoder.layer.N.output.LayerNorm.{weight,bias},
 *     pooler.dense.{weight,bias} (optional); head: classifier.{weight,bias}.
 *     Older checkpoints' LayerNorm.gamma/beta are accepted for weight/bias.
 *   DistilBERT: embeddings.{word,position}_embeddings.weight,
 *     embeddings.LayerNorm.{weight,bias}, transformer.layer.N.attention.
 *     {q,k,v,out}_lin.{weight,bias}, transformer.layer.N.sa_layer_norm.
 *     {weight,bias}, transformer.layer.N.ffn.{lin1,lin2}.{weight,bias},
 *     transformer.layer.N.output_layer_norm.{weight,bias}; head:
 *     pre_classifier.{weight,bias}, classifier.{weight,bias}.
 *
 * Forward pass (post-LayerNorm, as Hugging Face's BertModel/DistilBertModel):
 *   x = LN(word[id] + pos[p] + type[tt])          (DistilBERT: no type)
 *   per layer: a = LN(x + Wo·MHA(Wq x, Wk x, Wv x; mask) )
 *              x = LN(a + W2·act(W1 a))
 *   MHA: per head, softmax(q·k / sqrt(head_size) + mask_bias) · v, where
 *   mask_bias is 0 for real tokens and the most negative float32 for
 *   padding (BERT adds it; DistilBERT, in transformers 4.46.3, replaces the
 *   padded scores with it and divides q by sqrt(head_size) before q·k), so
 *   padded keys get weight exactly 0 (trueq uses -inf: the same weights).
 *   act: "gelu" (erf form), "gelu_new"/"gelu_pytorch_tanh" (tanh form),
 *   "relu"; from hidden_act (BERT) or activation (DistilBERT).
 * Heads:
 *   BertForSequenceClassification: logits = classifier(tanh(pooler(x[CLS])))
 *   DistilBertForSequenceClassification:
 *     logits = classifier(relu(pre_classifier(x[CLS])))
 *   Sentence embedding: mean of x over the real tokens (mask 1), or x[CLS];
 *   optionally L2-normalised. Read from a sentence-transformers layout in the
 *   model directory (modules.json, 1_Pooling/config.json, a Normalize module)
 *   when present; defaults otherwise: mean pooling, not normalised.
 *
 * Numerics: float32 weights and activations, matrix products through
 * OpenBLAS (cblas_sgemm, whole batch at once); LayerNorm, softmax and pooling
 * sums in a fixed order. OpenBLAS's sgemm itself gives other bytes with 1
 * and 2 threads, so tq_enc_forward runs it single-threaded and splits the
 * work into tasks fixed by the shapes, on tq_threads() threads (tq_set_threads,
 * TRUEQ_THREADS, else OPENBLAS_NUM_THREADS): results do not depend on the
 * thread count.
 *
 * Thread safety: a tq_enc is read-only after tq_enc_open and may be shared by
 * threads; tq_enc_forward allocates its own working memory per call. While a
 * forward pass runs, OpenBLAS is set to one thread for the whole process
 * (core/blas.h; restored when the last concurrent call ends) and the pass
 * runs on tq_threads() threads of its own.
 */
#ifndef TRUEQ_NN_H
#define TRUEQ_NN_H

#include "trueq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===== Encoder configuration ============================================= */

typedef enum tq_enc_arch {
    TQ_ENC_BERT       = 1, /* BertModel (MiniLM, bge, ... are BERT)          */
    TQ_ENC_DISTILBERT = 2, /* DistilBertModel                               */
    TQ_ENC_ROBERTA    = 3, /* RobertaModel                                  */
} tq_enc_arch;

typedef enum tq_enc_act {
    TQ_ACT_GELU      = 0,  /* x/2 (1 + erf(x/sqrt 2))                        */
    TQ_ACT_GELU_TANH = 1,  /* x/2 (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))    */
    TQ_ACT_RELU      = 2,
} tq_enc_act;

typedef enum tq_pool_mode {
    TQ_POOL_MEAN = 0,      /* mean of the real tokens' last hidden states    */
    TQ_POOL_CLS  = 1,      /* the first token's ([CLS]) last hidden state    */
} tq_pool_mode;

#define TQ_ENC_MAX_LABELS 64
#define TQ_ENC_LABEL_LEN  64

typedef struct tq_enc_config {
    tq_enc_arch arch;
    int   vocab_size;
    int   dim;              /* hidden_size / dim                              */
    int   n_layers;         /* num_hidden_layers / n_layers                   */
    int   n_heads;          /* num_attention_heads / n_heads; divides dim     */
    int   hidden_dim;       /* intermediate_size / hidden_dim                 */
    int   max_pos;          /* max_position_embeddings: longest sequence      */
    int   type_vocab_size;  /* BERT token types (2); 0 for DistilBERT          */
    float ln_eps;           /* layer_norm_eps; DistilBERT uses 1e-12           */
    tq_enc_act act;
    int   pad_token_id;
    /* Classification head: n_labels > 0 when the checkpoint has one. */
    int   head;             /* config.json "architectures": 1 names a
                               *ForSequenceClassification model; -1 only other
                               models (a classifier.weight there, e.g. of token
                               classification, is not loaded as a sequence
                               head); 0 not said: the tensors decide             */
    int   multi_label;      /* problem_type "multi_label_classification": one
                               sigmoid per label instead of a softmax            */
    int   n_labels;
    char  labels[TQ_ENC_MAX_LABELS][TQ_ENC_LABEL_LEN]; /* id2label, or "LABEL_i" */
    /* Sentence embedding. */
    tq_pool_mode pooling;
    int   normalize;        /* 1: L2-normalise pooled vectors                 */
    int   seq_limit;        /* sentence_bert_config.json max_seq_length, or 0 */
} tq_enc_config;

/**
 * Read dir/config.json (Hugging Face: model_type "bert"/"distilbert", or
 * recognised by its keys) and, when present, the sentence-transformers files
 * of dir (modules.json, 1_Pooling/config.json, sentence_bert_config.json)
 * for pooling, normalisation and the sequence limit.
 * Keys absent from config.json take transformers' defaults.
 * @return TQ_OK; TQ_E_NOTFOUND without config.json; TQ_E_FORMAT naming the
 * file and key; TQ_E_UNSUPPORTED for another model_type, an unknown
 * hidden_act/activation, a position_embedding_type other than "absolute",
 * or a pooling mode other than mean/CLS; TQ_E_LIMIT for more than
 * TQ_ENC_MAX_LABELS labels.
 */
tq_status tq_enc_config_find(const char *dir, tq_enc_config *cfg, tq_error *err);

/** The family's name for messages ("BERT", "DistilBERT", "RoBERTa"), or "unknown". */
const char *tq_enc_arch_name(tq_enc_arch a);

/** @return TQ_ENC_BERT or TQ_ENC_DISTILBERT when model m holds that encoder
 *  (with or without the prefix), else 0. */
int tq_enc_detect(const tq_model *m);

/* ===== The encoder ======================================================= */

typedef struct tq_enc tq_enc;

/**
 * Build an encoder from model m. cfg may be NULL: found in tq_model_dir(m)
 * with tq_enc_config_find. Every tensor is checked against the configuration
 * (a mismatch names the tensor, its shape and the expected one) and decoded
 * to float32 into memory the encoder owns; m may be closed afterwards.
 * The classification head is loaded when its tensors are present.
 * @return an encoder, or NULL with err set.
 */
tq_enc *tq_enc_open(const tq_model *m, const tq_enc_config *cfg, tq_error *err);
void    tq_enc_free(tq_enc *e);

/** Options of tq_enc_open_ex. Zero-initialise for the defaults. */
typedef struct tq_enc_opts {
    /* 1: layer matrices (q/k/v, attention output, both FFN matrices) and
     * the word embeddings stored as linear-sym 8-bit codes, any granularity,
     * stay int8 in memory (codes + float32 scales: about a quarter of the
     * float32 bytes). Each product decodes the 256 output rows it needs
     * (q * scale, the values tq_dequantize gives) into a per-thread buffer
     * and runs the same sgemm; a token's embedding row is decoded when it is
     * looked up; so results are byte-identical to the decoded path. Fused
     * q/k/v stay float32 unless all three are usable; other tensors and
     * codecs are decoded to float32 as usual. */
    int keep_int8;
    /* 1: the same for the matrices of every codec: codes and side tensors
     * kept as stored, each tile decoded with tq_dequantize_rows (the values
     * tq_dequantize gives), so outputs stay byte-identical to the decoded
     * path; implies keep_int8. tq_enc_int8_matrices then counts every
     * matrix kept. */
    int keep_quantized;
    /* Attention of the int8-kept path (layers whose q/k/v run a kernel over
     * their stored codes; not with TRUEQ_ISA=decode): 0 the default (int8
     * where the CPU has AVX-512 VNNI, else float32: the portable int8
     * products are slower than sgemm), 1 int8 on any CPU, -1 float32
     * (OpenBLAS sgemm, as the float path). In int8, q k^T
     * takes q and k quantized per token row of each head (max |x| / 127), p v
     * the softmax's rows quantized to 0..255 (max / 255) and v per head
     * dimension (max |v| over the real tokens / 127), int32 sums scaled back
     * to float (docs/encoder.md gives the error it adds). No effect on a
     * float32 or decoded encoder. */
    int int8_attention;
    /* Whatever these say, F16/BF16 layer matrices and word embeddings are
     * held as stored (read with pread; products decode row tiles or run the
     * half-float kernels), never widened to float32 at open. */
} tq_enc_opts;

/** tq_enc_open with options (opts may be NULL: the defaults). */
tq_enc *tq_enc_open_ex(const tq_model *m, const tq_enc_config *cfg, const tq_enc_opts *opts, tq_error *err);
/** Matrices held as quantized codes (q, k, v count as three; the word
 *  embeddings as one); 0 unless keep_int8. F16/BF16 matrices are not counted. */
int     tq_enc_int8_matrices(const tq_enc *e);
/** 1 when forward passes run some layer's attention in int8
 *  (tq_enc_opts.int8_attention), else 0. */
int     tq_enc_int8_attention(const tq_enc *e);

/** The effective configuration (n_labels is 0 when no head was found). Borrowed. */
const tq_enc_config *tq_enc_config_of(const tq_enc *e);
/** 1 when a classification head is loaded. */
int      tq_enc_has_head(const tq_enc *e);
/** Bytes of weights held (float32 values, F16/BF16 values held as stored,
 *  plus codes and scales with keep_int8); number of parameters. */
uint64_t tq_enc_weight_bytes(const tq_enc *e);
int64_t  tq_enc_param_count(const tq_enc *e);

/** A padded batch of token sequences, row-major [batch, seq]. */
typedef struct tq_enc_batch {
    int            batch;     /* sequences                                   */
    int            seq;       /* padded length, 1..max_pos                   */
    const int32_t *ids;       /* token ids in [0, vocab)                      */
    const int32_t *type_ids;  /* token types (BERT), or NULL = all 0;         */
                              /* DistilBERT accepts only 0                     */
    const int32_t *mask;      /* 1 real token, 0 padding, or NULL = all 1;    */
                              /* every sequence needs at least one real token */
} tq_enc_batch;

/** Outputs of tq_enc_forward; every pointer may be NULL (not computed). */
typedef struct tq_enc_out {
    float *hidden;   /* [batch, seq, dim] last hidden state                  */
    float *pooled;   /* [batch, dim] sentence embedding (config's pooling)   */
    float *logits;   /* [batch, n_labels]; needs the head (else TQ_E_ARG)     */
    float *layers;   /* [n_layers + 1, batch, seq, dim]: the embedding output,
                        then every layer's output (layers[n_layers] = hidden) */
} tq_enc_out;

/**
 * Run the encoder on a batch.
 * @return TQ_OK; TQ_E_ARG for an id or type outside its range, a mask value
 * other than 0/1, seq beyond max_pos, a sequence with no real token, or
 * logits without a head (the message names the sequence and position);
 * TQ_E_NOMEM.
 */
tq_status tq_enc_forward(const tq_enc *e, const tq_enc_batch *b, const tq_enc_out *o, tq_error *err);

/* ===== Building blocks (exposed for tests) =============================== */

/** out[i] = (x[i] - mean) / sqrt(var + eps) * w[i] + b[i] over n values
 *  (biased variance, as torch.nn.LayerNorm); out may equal x. */
void  tq_enc_layernorm(float *out, const float *x, const float *w, const float *b, int n, float eps);
/** Apply the activation in place to n values. */
void  tq_enc_activate(float *x, int64_t n, tq_enc_act act);
/**
 * Multi-head self-attention of one sequence: q, k, v are [seq, dim] (head h
 * in columns h*head_size ...), mask[seq] (NULL = all real); out [seq, dim].
 * Scores are divided by sqrt(head_size) (BERT's order); with no real key
 * the output is 0. scratch: seq floats.
 */
void  tq_enc_attention(float *out, const float *q, const float *k, const float *v, const int32_t *mask,
                       int seq, int n_heads, int head_size, float *scratch);

/* ===== WordPiece tokenizer (BERT) ======================================== */

typedef struct tq_wordpiece tq_wordpiece;

/** Normalisation options (tokenizer_config.json, else these defaults). */
typedef struct tq_wp_options {
    int do_lower_case;         /* default 1                                  */
    int strip_accents;         /* -1 = follow do_lower_case (default), 0, 1  */
    int tokenize_chinese_chars;/* default 1: CJK ideographs become words      */
    int max_len;               /* model_max_length; default 512               */
} tq_wp_options;
void tq_wp_options_init(tq_wp_options *o);

/**
 * Open the tokenizer of a model directory: dir/vocab.txt (one token per line,
 * id = line number; lines end in "\n", "\r\n" or "\r" as Python reads them;
 * a token on several lines maps to its last id) or, without it, the WordPiece
 * vocabulary of dir/tokenizer.json; options from dir/tokenizer_config.json
 * (do_lower_case, strip_accents, tokenize_chinese_chars, model_max_length),
 * else the defaults, as transformers' BertTokenizerFast does (it replaces
 * the flags of tokenizer.json's BertNormalizer with these). tokenizer.json, when
 * present, also gives continuing_subword_prefix, max_input_chars_per_word
 * and added_tokens. The vocabulary must hold [UNK], [CLS], [SEP] and [PAD].
 * @return a handle, or NULL with err set (TQ_E_NOTFOUND: no vocabulary;
 * TQ_E_FORMAT naming the file, and the line for vocab.txt;
 * TQ_E_UNSUPPORTED for another model or normalizer type).
 */
tq_wordpiece *tq_wp_open_dir(const char *dir, tq_error *err);
/** Open a vocab.txt with explicit options (o may be NULL: defaults). */
tq_wordpiece *tq_wp_open_vocab(const char *path, const tq_wp_options *o, tq_error *err);
void          tq_wp_free(tq_wordpiece *t);

/** Number of ids (lines of vocab.txt, duplicates included). */
int         tq_wp_vocab_size(const tq_wordpiece *t);
/** Longest encoding (specials included) tq_wp_encode gives with max_len 0:
 *  model_max_length, or 512; INT_MAX when the model sets no limit. */
int         tq_wp_max_len(const tq_wordpiece *t);
/** Id of a token, or -1. */
int         tq_wp_id(const tq_wordpiece *t, const char *token);
/** Token text of id (borrowed), or NULL when out of range. */
const char *tq_wp_token(const tq_wordpiece *t, int id);
/** The special ids. */
int tq_wp_cls(const tq_wordpiece *t);
int tq_wp_sep(const tq_wordpiece *t);
int tq_wp_pad(const tq_wordpiece *t);
int tq_wp_unk(const tq_wordpiece *t);

/** One encoded input: [CLS] a [SEP] (b [SEP]). Arrays malloc'd; free with tq_wp_encoding_free. */
typedef struct tq_wp_encoding {
    int      n;        /* tokens, specials included                          */
    int32_t *ids;
    int32_t *type_ids; /* 0 for [CLS] a [SEP], 1 for b [SEP]                  */
} tq_wp_encoding;
void tq_wp_encoding_free(tq_wp_encoding *e);

/**
 * Tokenise text (b may be NULL; "" counts as NULL, as transformers'
 * __call__ drops an empty text_pair) as Hugging Face's BertTokenizerFast
 * does: special tokens ([PAD] [UNK] [CLS] [SEP] [MASK], tokenizer.json's
 * added tokens) written in the text are kept whole; the rest is cleaned (drop
 * NUL, U+FFFD and Cc/Cf/Co characters but \t\n\r; White_Space -> space),
 * CJK ideographs split off, accents stripped (NFD, drop Mn), lower-cased,
 * split on whitespace and punctuation, then greedy longest-match-first
 * WordPiece with "##" continuations (a word longer than 100 characters, or
 * with no match, becomes [UNK]); add specials; truncate to max_len (0 = the
 * options' max_len) "longest_first" as the tokenizers library does: when the
 * parts do not fit in m = max_len - specials places, the shorter part (a when
 * equal) keeps its length if that is at most m/2 and the longer gets the
 * rest; otherwise the shorter gets floor(m/2) and the longer ceil(m/2).
 * (The slow BertTokenizer truncates differently; see docs/tokenizer.md.)
 * Invalid UTF-8 is an error naming the byte offset.
 * @return TQ_OK; TQ_E_VALUE for invalid UTF-8; TQ_E_ARG for max_len < 2 (3 with b).
 */
tq_status tq_wp_encode(const tq_wordpiece *t, const char *a, const char *b, int max_len,
                       tq_wp_encoding *out, tq_error *err);

/* ===== Tokenizers: one interface ========================================= */

/*
 * Every tokenizer kind (WordPiece above; the sentencepiece-style tokenizer of
 * trueq_llama.h) behind one handle: encode text to ids, decode ids to text,
 * the special ids and the vocabulary size. tq_tok_open_dir picks the kind
 * from the files of a model directory, trying the kinds in the table's
 * order (wordpiece: vocab.txt or a WordPiece tokenizer.json; sentencepiece:
 * tokenizer.bin, tok*.bin or tokenizer.model). The ids are those of the
 * kind's own API (tq_wp_encode, tq_spm_encode).
 */
typedef struct tq_tok tq_tok;

typedef enum tq_tok_special {
    TQ_TOK_BOS = 0, TQ_TOK_EOS, TQ_TOK_PAD, TQ_TOK_UNK, TQ_TOK_CLS, TQ_TOK_SEP, TQ_TOK_MASK,
    TQ_TOK_SPECIAL_COUNT
} tq_tok_special;

/** @return a tokenizer of the first kind whose files dir holds, or NULL with
 *  err set: TQ_E_NOTFOUND naming every kind's files when there is none;
 *  the kind's own error when its files are invalid. */
tq_tok     *tq_tok_open_dir(const char *dir, tq_error *err);
void        tq_tok_free(tq_tok *t);
/** "wordpiece" or "sentencepiece". */
const char *tq_tok_kind_name(const tq_tok *t);
int         tq_tok_vocab_size(const tq_tok *t);
/** The id of a special token, or -1 when the kind has none (WordPiece: no
 *  BOS/EOS; sentencepiece: UNK 0, BOS 1, EOS 2 only). */
int         tq_tok_special_id(const tq_tok *t, tq_tok_special s);
/**
 * Encode text[0..len). specials 1: add the kind's own (WordPiece:
 * [CLS] text [SEP], truncated to its max_len as tq_wp_encode with max_len 0;
 * sentencepiece: BOS first, as tq_spm_encode(bos 1, eos 0)); 0: none.
 * @param ids  out: malloc'd; the caller frees; *n its length
 * @return TQ_OK or the kind's encode error (invalid UTF-8, ...).
 */
tq_status   tq_tok_encode(const tq_tok *t, const char *text, size_t len, int specials, int32_t **ids, int *n,
                          tq_error *err);
/**
 * Decode ids to text (malloc'd, NUL-terminated; *len may be NULL).
 * WordPiece: tokens joined by spaces, "##" continuations glued, [CLS] [SEP]
 * [PAD] dropped; sentencepiece: tq_spm_detokenize.
 * @return TQ_OK; TQ_E_ARG for an id out of range.
 */
tq_status   tq_tok_decode(const tq_tok *t, const int32_t *ids, int n, char **text, size_t *len, tq_error *err);
/** The token of an id as the vocabulary spells it (WordPiece "##ing",
 *  byte-level BPE "\xc4\xa0the" = "Ġthe", sentencepiece "\xe2\x96\x81the"):
 *  borrowed bytes, *len of them (len may be NULL), or NULL for an id out of
 *  range. */
const char *tq_tok_piece(const tq_tok *t, int id, size_t *len);
/**
 * Encode text a, and b when non-NULL and non-empty, with the specials the
 * model gets: WordPiece as tq_wp_encode ([CLS] a [SEP] b [SEP], token types
 * 0 then 1); another kind with CLS and SEP tokens (RoBERTa's byte-level
 * BPE) <s> a </s></s> b </s>, token types all 0; any other kind one text
 * with its own specials (tq_tok_encode) and no pair. max_len > 0 truncates
 * as tokenizers' LongestFirst (a single text keeps its closing </s>); 0:
 * WordPiece's own limit, no limit otherwise. Free out with
 * tq_wp_encoding_free.
 * @return TQ_OK; TQ_E_UNSUPPORTED for a pair the kind has no format for;
 *         TQ_E_ARG for a max_len with no room for the specials; encode errors.
 */
tq_status   tq_tok_encode_pair(const tq_tok *t, const char *a, const char *b, int max_len, tq_wp_encoding *out,
                               tq_error *err);

/* ===== Comparing two encoders =========================================== */

/** One input sequence, specials included (e.g. a tq_wp_encoding's arrays). */
typedef struct tq_enc_seq {
    int            n;
    const int32_t *ids;
    const int32_t *type_ids;   /* NULL = all 0; ignored for DistilBERT (no token types) */
} tq_enc_seq;

/** Error of one layer's output (index 0: the embedding output), over the
 *  real tokens of every sequence. */
typedef struct tq_enc_layer_err {
    double cos_mean;     /* mean cosine of token states                         */
    double cos_min;      /* worst token                                         */
    double rel_err;      /* ||a - b||_F / ||a||_F over all real tokens           */
    double max_abs;      /* largest |a - b|                                     */
} tq_enc_layer_err;

/** What tq_enc_compare measures (a = the reference, e.g. the original). */
typedef struct tq_enc_cmp {
    int     sequences;
    int64_t tokens;              /* real tokens compared                         */
    double  pooled_cos_mean, pooled_cos_min;  /* sentence embeddings          */
    int     pooled_worst;        /* index of the sequence with pooled_cos_min    */
    double  tok_cos_mean, tok_cos_min;        /* every token's last hidden state */
    double  hidden_mse, hidden_max_abs;       /* last hidden states, real tokens */
    int     has_logits;          /* both sides have a head with the same labels  */
    double  logits_mse, logits_max_abs;
    double  top1_agree;          /* fraction of sequences with the same argmax;
                                    NaN for a one-output head (regression)        */
    int     n_layer_err;         /* n_layers + 1                                 */
    tq_enc_layer_err *layer_err; /* malloc'd [n_layer_err]; tq_enc_cmp_free      */
    int     worst_growth_layer;  /* layer l >= 1 whose rel_err grows the most over
                                    layer l-1's (ratio), or 0 when none grows     */
    double  sec_a, sec_b;        /* seconds in each side's forward passes         */
} tq_enc_cmp;
void tq_enc_cmp_free(tq_enc_cmp *r);

/**
 * Run n_seqs sequences in batches of at most `batch` (each padded with
 * pad_token_id to its longest sequence, padding masked) and write each
 * sequence's pooled embedding to pooled[n_seqs, dim] and logits to
 * logits[n_seqs, n_labels] (either may be NULL). progress (may be NULL) is
 * called after each batch with the sequences done so far.
 * @return TQ_OK; errors of tq_enc_forward, prefixed with the sequence range.
 */
tq_status tq_enc_run(const tq_enc *e, const tq_enc_seq *seqs, int n_seqs, int batch, float *pooled, float *logits,
                     void (*progress)(void *ud, int done, int total), void *ud, tq_error *err);

/**
 * Run both encoders on the same sequences (in batches of at most `batch`,
 * each padded to its longest sequence) and compare like with like: pooled
 * embeddings, every real token's last hidden state, logits when both have a
 * head, and every layer's output. The two must share dim, n_layers and
 * vocab_size. Deterministic; sums in a fixed order.
 * @return TQ_OK; TQ_E_SHAPE when the encoders differ in architecture, sizes,
 * token types or pooling (naming the field); TQ_E_ARG for no sequences, or
 * an input that is empty, longer than max_pos or holds an id or token type
 * out of range (naming the input by its index and the token); errors of
 * tq_enc_forward.
 */
tq_status tq_enc_compare(const tq_enc *a, const tq_enc *b, const tq_enc_seq *seqs, int n_seqs, int batch,
                         tq_enc_cmp *r, tq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* TRUEQ_NN_H */
