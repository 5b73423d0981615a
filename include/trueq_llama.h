/*
 * trueq_llama.h — a Llama-family decoder and its sentencepiece-style tokenizer.
 *
 * The decoder runs the Llama-2 architecture: token embedding, n_layers blocks
 * of (RMSNorm -> grouped-query attention with rotary position embedding ->
 * residual, RMSNorm -> SwiGLU feed-forward -> residual), a final RMSNorm and
 * the output projection (tied to the embedding or separate). Its weights are
 * read from any tq_model with tq_model_tensor_f32, so a trueq-quantized copy
 * runs through exactly the same forward pass as the original: quantized
 * tensors are dequantized once, when the decoder is built.
 *
 * Tensor names (matrices are [out, in], row-major; spelled in the family
 * rows src/nn/arch/llama2c.c and llama_hf.c):
 *   Meta / llama2.c (TQ_LLAMA_META): tok_embeddings.weight [vocab, dim],
 *     layers.N.attention_norm.weight [dim], layers.N.attention.wq.weight
 *     [dim, dim], .wk/.wv [n_kv_heads*head_size, dim], .wo [dim, dim],
 *     layers.N.ffn_norm.weight [dim], layers.N.feed_forward.w1/.w3 [hidden, dim],
 *     .w2 [dim, hidden], norm.weight [dim], output.weight [vocab, dim] (absent
 *     when tied). RoPE rotates interleaved pairs (2i, 2i+1) of each head.
 *   Hugging Face (TQ_LLAMA_HF): model.embed_tokens.weight,
 *     model.layers.N.input_layernorm.weight, model.layers.N.self_attn.
 *     {q,k,v,o}_proj.weight, model.layers.N.post_attention_layernorm.weight,
 *     model.layers.N.mlp.{gate,down,up}_proj.weight (= w1, w2, w3),
 *     model.norm.weight, lm_head.weight (absent when tied); Phi-3-style fused
 *     self_attn.qkv_proj.weight [q_rows + 2*kv_rows, dim] (q, k, v stacked) and
 *     mlp.gate_up_proj.weight [2*hidden, dim] (gate, then up) are split at
 *     open when the separate tensors are absent. RoPE rotates the
 *     pairs (i, i + head_size/2) of each head ("rotate half"), which is how
 *     Hugging Face's conversion permutes the q/k rows.
 *
 * Configuration comes from params.json (Meta style: dim, hidden_dim,
 * n_layers, n_heads, n_kv_heads, vocab_size, max_seq_len, norm_eps,
 * rope_theta) or config.json (Hugging Face style: hidden_size,
 * intermediate_size, num_hidden_layers, num_attention_heads,
 * num_key_value_heads, vocab_size, max_position_embeddings, rms_norm_eps,
 * rope_theta, tie_word_embeddings; rope_scaling only of type "longrope"/"su",
 * with original_max_position_embeddings). Shapes the file does not give
 * (hidden_dim, vocab_size) are taken from the tensors.
 *
 * Numerics: float32 weights and activations; matrix-vector products through
 * OpenBLAS (cblas_sgemv); softmax, RMSNorm and KL sums are reduced in a fixed
 * order so results do not depend on the thread count.
 *
 * Thread safety: a tq_llama is read-only after tq_llama_open and may be shared;
 * each thread needs its own tq_llama_state.
 */
#ifndef TRUEQ_LLAMA_H
#define TRUEQ_LLAMA_H

#include "trueq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===== Configuration ===================================================== */

/** Which tensor names (and RoPE pair layout) a checkpoint uses. */
typedef enum tq_llama_naming {
    TQ_LLAMA_NAMING_AUTO = 0, /* decide from the tensor names at open       */
    TQ_LLAMA_NAMING_META = 1, /* tok_embeddings..., interleaved RoPE pairs  */
    TQ_LLAMA_NAMING_HF   = 2, /* model.embed_tokens..., rotate-half RoPE    */
    TQ_LLAMA_NAMING_GGUF = 3, /* token_embd, blk.N... (llama.cpp), interleaved RoPE pairs */
    /* Hugging Face families beside Llama's (the same names, rotate-half RoPE),
     * picked from config.json's "architectures" / "model_type": */
    TQ_LLAMA_NAMING_QWEN2   = 4, /* Qwen2ForCausalLM: q/k/v carry biases          */
    TQ_LLAMA_NAMING_PHI3    = 5, /* Phi3ForCausalLM: fused qkv_proj, gate_up_proj */
    TQ_LLAMA_NAMING_MISTRAL = 6, /* MistralForCausalLM: sliding-window attention  */
} tq_llama_naming;
#define TQ_LLAMA_MAX_EOS 8

#define TQ_LLAMA_MAX_ROPE_FACTORS 256

typedef struct tq_llama_config {
    int   dim;          /* model width                                       */
    int   hidden_dim;   /* SwiGLU width; 0 = take from the w1 tensor          */
    int   n_layers;
    int   n_heads;      /* query heads; head_size = dim / n_heads (even)      */
    int   n_kv_heads;   /* key/value heads; divides n_heads; 0 = n_heads      */
    int   vocab_size;   /* 0 = take from the embedding tensor                 */
    int   max_seq_len;  /* KV cache length / positions supported              */
    float norm_eps;     /* RMSNorm epsilon                                    */
    float rope_theta;   /* RoPE base                                          */
    int   tied;         /* 1: output projection = token embedding; -1: decide from the tensors */
    tq_llama_naming naming;
    /* LongRoPE (Phi-3 "longrope"/"su" rope_scaling), when n_rope_factors > 0:
     * pair j's frequency is divided by rope_factors[j] (the short factors) and
     * rotated q/k are scaled by rope_mscale; the context is capped at the
     * original (pre-extension) length, where those factors apply. */
    int   n_rope_factors;                       /* head_size / 2, or 0      */
    float rope_factors[TQ_LLAMA_MAX_ROPE_FACTORS];
    float rope_mscale;                          /* 1 when not scaled        */
    /* LongRoPE's long factors (n_rope_long == n_rope_factors, or 0: none):
     * a sequence of more than rope_orig_ctx positions (the state's length,
     * tq_llama_state_create) uses them instead of the short ones, for every
     * position, as transformers 4.46 does for a forward pass of that length. */
    int   n_rope_long;
    float rope_long_factors[TQ_LLAMA_MAX_ROPE_FACTORS];
    int   rope_orig_ctx;                        /* original_max_position_embeddings, 0: none */
    /* Partial rotary (partial_rotary_factor): RoPE turns only the first
     * rope_dim values of each head (rotate-half within them); 0 = head_size. */
    int   rope_dim;
    /* Sliding-window attention: position i attends to positions
     * (i - sliding_window, i]; 0 = the whole past. */
    int   sliding_window;
    /* End-of-sequence ids (generation_config.json, else config.json
     * eos_token_id, int or list); generate stops at any of them. */
    int   n_eos;
    int   eos_ids[TQ_LLAMA_MAX_EOS];
} tq_llama_config;

/**
 * Read a configuration file: params.json (Meta) or config.json (Hugging
 * Face), recognised by its keys. Missing optional keys get the Llama
 * defaults (norm_eps 1e-5, rope_theta 10000, n_kv_heads = n_heads,
 * max_seq_len 2048, tied decided from the tensors). A GGUF file (recognised
 * by its magic) gives its llama.* metadata instead (docs/decoder.md, GGUF):
 * naming TQ_LLAMA_NAMING_GGUF.
 * @return TQ_OK; TQ_E_IO, TQ_E_FORMAT naming the file and key;
 * TQ_E_UNSUPPORTED for a GGUF architecture other than llama, rope scaling,
 * experts or partial rotary (the key and value named).
 */
tq_status tq_llama_config_read(const char *path, tq_llama_config *cfg, tq_error *err);

/**
 * Read eos_token_id (an id or a list of ids) from a generation_config.json
 * into cfg->eos_ids / n_eos, replacing config.json's (tq_llama_config_find
 * does this itself when the file is beside config.json).
 * @return TQ_OK; TQ_E_IO, TQ_E_FORMAT naming the file and key.
 */
tq_status tq_llama_gen_config_read(const char *path, tq_llama_config *cfg, tq_error *err);
/** @return 1 when path is a readable file starting with the GGUF magic. */
int tq_llama_is_gguf(const char *path);

/**
 * Find and read params.json, then config.json, in directory dir.
 * @return TQ_OK; TQ_E_NOTFOUND when neither exists; errors of the reader.
 */
tq_status tq_llama_config_find(const char *dir, tq_llama_config *cfg, tq_error *err);

/**
 * @return 1 when model m holds a Llama-style decoder (Meta or Hugging Face
 * names: tok_embeddings.weight + layers.0.attention.wq.weight, or
 * model.embed_tokens.weight + model.layers.0.self_attn.q_proj.weight or
 * .qkv_proj.weight; or llama.cpp's token_embd.weight +
 * blk.0.attn_q.weight in a GGUF whose general.architecture is llama), else 0.
 */
int tq_llama_detect(const tq_model *m);

/* ===== The decoder ======================================================= */

typedef struct tq_llama tq_llama;

/**
 * Build a decoder from model m. cfg may be NULL: the configuration is then
 * the GGUF metadata when m is a GGUF file, else found in tq_model_dir(m)
 * (tq_llama_config_find). Every tensor is checked
 * against the configuration (shape mismatches name the tensor, its shape and
 * the expected one) and decoded to float32 into memory the decoder owns; m is
 * not needed afterwards and may be closed.
 * @return a decoder, or NULL with err set.
 */
tq_llama *tq_llama_open(const tq_model *m, const tq_llama_config *cfg, tq_error *err);
void      tq_llama_free(tq_llama *l);

/** Options of tq_llama_open_ex. Zero-initialise for the defaults. */
typedef struct tq_llama_opts {
    /* 1: layer matrices stored as linear-sym 8-bit codes (any granularity)
     * stay int8 in memory (a copy of codes + float32 scales); a product
     * decodes a chunk of rows at a time (q * scale, the values tq_dequantize
     * gives) into a 256 KB per-state buffer and multiplies it with sgemv. Other tensors,
     * and every other codec, are decoded to float32 at open as usual.
     * Results equal the decoded path's up to sgemv's blocking (rounding). */
    int keep_int8;
    /* 1: the same for layer matrices of every codec (codes and side tensors
     * kept as stored, decoded a chunk of rows at a time with
     * tq_dequantize_rows, the values tq_dequantize gives); implies keep_int8.
     * tq_llama_int8_matrices then counts every matrix kept. */
    int keep_quantized;
} tq_llama_opts;

/** tq_llama_open with options (opts may be NULL: the defaults). */
tq_llama *tq_llama_open_ex(const tq_model *m, const tq_llama_config *cfg, const tq_llama_opts *opts,
                           tq_error *err);
/** Layer matrices held as stored codes (0 unless opened with keep_int8 or keep_quantized). */
int       tq_llama_int8_matrices(const tq_llama *l);
/** How the products run over the matrices kept as stored codes (the layer
 *  matrices, fused parts counted one each, and the logits matrix): @return
 *  the number multiplied by a kernel (src/kern/); *decoded (may be NULL) gets
 *  the number decoded by row tiles because no kernel multiplies their codec,
 *  first_decoded (cap bytes, may be NULL) the codec of the first of those
 *  ("linear-affine/4/group:64"; "" when none). F16/BF16 matrices are not
 *  counted. */
int       tq_llama_kept_matrices(const tq_llama *l, int *decoded, char *first_decoded, size_t cap);

/** The effective configuration (all fields resolved). Borrowed. */
const tq_llama_config *tq_llama_config_of(const tq_llama *l);
/** Bytes of weights the decoder holds: float32 values, plus int8 codes and
 *  their scales when kept (the tied output counted once). */
uint64_t tq_llama_weight_bytes(const tq_llama *l);
/** Number of parameters (the tied output counted once). */
int64_t  tq_llama_param_count(const tq_llama *l);

/** Per-sequence working memory: the KV cache and activation buffers. */
typedef struct tq_llama_state tq_llama_state;

/** @param max_seq positions the cache holds; 0 = the config's max_seq_len. */
tq_llama_state *tq_llama_state_create(const tq_llama *l, int max_seq, tq_error *err);
void            tq_llama_state_free(tq_llama_state *s);

/**
 * Run one token at position pos, filling the KV cache at pos and writing the
 * next-token logits to logits[vocab_size] (may be NULL to skip the output
 * projection). Positions 0..pos-1 must have been run on this state before
 * (in any earlier calls); running pos again overwrites it and forgets later
 * positions.
 * @return TQ_OK; TQ_E_ARG for a token outside [0, vocab) or a pos beyond the
 * cache or beyond the positions already filled.
 */
tq_status tq_llama_forward(const tq_llama *l, tq_llama_state *s, int token, int pos,
                           float *logits, tq_error *err);

/* ===== Building blocks (exposed for tests and other decoders) ============ */

/** out[i] = x[i] * w[i] / sqrt(mean(x^2) + eps), the mean over n; out may equal x. */
void tq_llama_rmsnorm(float *out, const float *x, const float *w, int n, float eps);

/**
 * Rotate v (n_heads heads of head_size floats, head_size even) in place for
 * position pos: pair j of a head, with frequency f_j = theta^(-2j/head_size),
 * is turned by the angle pos * f_j. half_layout 0: the pairs are (2j, 2j+1)
 * (Meta / llama2.c); 1: (j, j + head_size/2) (Hugging Face).
 */
void tq_llama_rope(float *v, int n_heads, int head_size, int pos, float theta, int half_layout);

/** tq_llama_rope with LongRoPE scaling: pair j turns by
 *  pos * theta^(-2j/head_size) / factors[j] (factors may be NULL: all 1),
 *  and every rotated value is multiplied by mscale. */
void tq_llama_rope_scaled(float *v, int n_heads, int head_size, int pos, float theta, int half_layout,
                          const float *factors, float mscale);
/** tq_llama_rope_scaled turning only the first rope_dim values of each head
 *  (rope_dim even, <= head_size; the pairs and frequencies those of a head of
 *  rope_dim values, factors[rope_dim/2]); the rest of the head is left as is. */
void tq_llama_rope_partial(float *v, int n_heads, int head_size, int rope_dim, int pos, float theta, int half_layout,
                           const float *factors, float mscale);

/**
 * Causal grouped-query attention of one query position over n_pos cached
 * positions. q: [n_heads, head_size]; kc, vc: n_pos rows of kv_stride floats,
 * the row holding [n_kv_heads, head_size]; query head h reads key/value head
 * h / (n_heads / n_kv_heads). out: [n_heads, head_size] =
 * softmax(q_h . k_t / sqrt(head_size)) weighted sum of v_t.
 * scratch: n_pos floats.
 */
void tq_llama_attention(float *out, const float *q, const float *kc, const float *vc,
                        int n_pos, int n_heads, int n_kv_heads, int head_size,
                        int kv_stride, float *scratch);

/** h[i] = silu(g[i]) * u[i] with silu(x) = x / (1 + exp(-x)); h may equal g. */
void tq_llama_swiglu(float *h, const float *g, const float *u, int n);

/** In-place softmax over n values (max subtracted first). */
void tq_llama_softmax(float *x, int n);

/** Index of the largest value (the first one on ties). */
int  tq_llama_argmax(const float *x, int n);

/**
 * Next-token choice: argmax when temperature <= 0, else a draw from
 * softmax(logits / temperature), restricted to the smallest set of most
 * probable tokens whose mass reaches top_p when 0 < top_p < 1. The draw uses
 * and advances *rng (a 64-bit state; any seed). scratch: n floats.
 * Deterministic: same logits, temperature, top_p and state -> same token.
 */
int  tq_llama_sample(const float *logits, int n, float temperature, float top_p,
                     uint64_t *rng, float *scratch);

/* ===== Generation and evaluation ========================================= */

/** Called for every token that follows the first one (the prompt's rest, then
 *  the generated ones): prev is the token before it. Return nonzero to stop. */
typedef int (*tq_llama_token_fn)(void *ctx, int prev, int token);

typedef struct tq_llama_gen {
    int      steps;        /* tokens to generate after the prompt          */
    float    temperature;  /* 0 = greedy                                   */
    float    top_p;        /* nucleus cut-off; 0 or >= 1 = off             */
    uint64_t seed;         /* PRNG seed for temperature > 0                */
    int      stop_token_a; /* generation stops when it produces one of      */
    int      stop_token_b; /*   these (-1 = none); the stop token is not emitted */
    const int *stop_ids;   /* more stop tokens (n_stop_ids of them; may be NULL) */
    int      n_stop_ids;
    /* Called after every generated step with its logits (may be NULL): the
     * position, the chosen id and the vocabulary's logits. Nonzero stops. */
    int    (*step_fn)(void *ctx, int pos, int chosen, const float *logits, int vocab);
    void    *step_ctx;
} tq_llama_gen;

/**
 * Run the prompt prompt[0..n_prompt) (n_prompt >= 1; usually starting with
 * BOS), then generate up to g->steps tokens, stopping early at a stop token,
 * when fn returns nonzero, or at the end of the context (max_seq_len).
 * @param n_generated  out (may be NULL): tokens generated after the prompt
 */
tq_status tq_llama_generate(const tq_llama *l, const int *prompt, int n_prompt,
                            const tq_llama_gen *g, tq_llama_token_fn fn, void *ctx,
                            int *n_generated, tq_error *err);

/** What tq_llama_compare measures. */
typedef struct tq_llama_cmp {
    int64_t predictions;   /* next-token predictions compared              */
    int     windows;       /* context windows the text was split into      */
    double  kl_mean;       /* mean over predictions of KL(P_a || P_b), nats */
    double  kl_max;        /* largest KL at one position                   */
    double  top1_agree;    /* fraction of positions with the same argmax   */
    double  nll_a, nll_b;  /* mean negative log-likelihood of the text, nats */
    double  ppl_a, ppl_b;  /* exp(nll)                                      */
    double  sec_a, sec_b;  /* seconds spent in each model's forward passes  */
    int64_t tokens_run;    /* forward passes per model                      */
} tq_llama_cmp;

/**
 * Run both decoders (b may be NULL: only the a-side fields are filled) over
 * a token sequence `ids` (without BOS) and compare their next-token
 * distributions. The sequence is cut into windows of at most
 * max_seq_len - 1 tokens (the smaller of the two models'), each run from a
 * fresh cache after the token `bos`; every token of a window is predicted from
 * what precedes it in its window. The models must share vocab_size.
 * @return TQ_OK; TQ_E_ARG for fewer than one token; TQ_E_SHAPE for differing
 * vocabularies.
 */
tq_status tq_llama_compare(const tq_llama *a, const tq_llama *b, const int *ids, int n, int bos,
                           tq_llama_cmp *r, tq_error *err);

/* ===== Tokenizer (llama2.c tokenizer.bin format) ========================= */

/*
 * File layout (little-endian): int32 max_token_length, then for every token
 * id 0, 1, ... to the end of the file: float32 score, int32 length (>= 0,
 * <= max_token_length), length bytes of the piece. Pieces use plain spaces
 * (sentencepiece's U+2581 already replaced). By convention of the format
 * id 0 is <unk>, 1 is BOS, 2 is EOS; byte-fallback pieces are "<0xNN>".
 */
typedef struct tq_spm tq_spm;

#define TQ_SPM_BOS 1
#define TQ_SPM_EOS 2

/** Read a tokenizer file: a sentencepiece tokenizer.model when the name
 *  ends in ".model", else llama2.c's layout. @return a handle or NULL with err set. */
tq_spm *tq_spm_open(const char *path, tq_error *err);
/** Open dir/tokenizer.bin, else the one dir/tok*.bin file (e.g. tok512.bin),
 *  else dir/tokenizer.model.
 *  @return TQ_E_NOTFOUND when there is none, TQ_E_ARG when several tok*.bin. */
tq_spm *tq_spm_open_dir(const char *dir, tq_error *err);
/**
 * Read a sentencepiece tokenizer.model image (a protobuf ModelProto; only the
 * pieces are used: text, score, type). U+2581 in pieces becomes a plain
 * space; control, unknown and unused pieces are never formed from text and
 * decode to nothing (tq_spm_find does not see them); the first unknown piece
 * stands for unencodable bytes. BOS and EOS must be the control pieces 1 and
 * 2 (as in Llama's tokenizers). Encoding is the same score-driven BPE, which
 * reproduces sentencepiece's BPE models (tested against the library).
 */
tq_spm *tq_spm_open_model_mem(const void *data, size_t size, const char *name, tq_error *err);
/**
 * The tokenizer of a GGUF file's metadata, tokenizer.ggml.model "llama"
 * (llama.cpp's sentencepiece vocabularies): tokens (U+2581 read as a
 * space), scores (default 0) and token_type (1 normal, 2 unknown,
 * 3 control, 4 user-defined, 5 unused, 6 byte; default: normal, with the
 * bos/eos/unknown ids as control/unknown), encoded with the same
 * score-driven BPE as tokenizer.model files. bos_token_id and eos_token_id
 * must be 1 and 2 (when present).
 * @return a handle, or NULL with err set: TQ_E_UNSUPPORTED for another
 * tokenizer.ggml.model (e.g. "gpt2": byte-level BPE, which the tokenizer
 * table's "gguf-gpt2" row reads: tq_tok_open_dir on the file) or other
 * bos/eos ids; TQ_E_FORMAT for a missing or mistyped key (named) or an
 * arrays' length mismatch.
 */
tq_spm *tq_spm_open_gguf(const char *path, tq_error *err);
/** The same from a memory image (copied); `name` labels errors. */
tq_spm *tq_spm_open_mem(const void *data, size_t size, const char *name, tq_error *err);
void    tq_spm_free(tq_spm *t);

/** Number of pieces. */
int         tq_spm_count(const tq_spm *t);
/** The raw piece of id (borrowed, not NUL-free: see *len), or NULL when out of range. */
const char *tq_spm_piece(const tq_spm *t, int id, int *len);
/** Score of id (merge priority: higher merges first); 0 when out of range. */
float       tq_spm_score(const tq_spm *t, int id);
/** Id of the piece bytes[0..len), or -1 (the lowest id when repeated;
 *  control/unknown pieces of a tokenizer.model are not found). */
int         tq_spm_find(const tq_spm *t, const char *bytes, int len);

/**
 * Encode text[0..len) as llama2.c's tokenizer does: an optional BOS, then (for
 * non-empty text) the piece " " as a dummy prefix, then each UTF-8 character
 * as its piece or, when absent, its bytes as <0xNN> pieces; then repeatedly
 * merge the adjacent pair whose concatenation is a piece with the highest
 * score (the leftmost among equals) until no pair merges; an optional EOS.
 * @param ids  out: malloc'd array the caller frees; *n its length
 * @return TQ_OK; TQ_E_UNSUPPORTED when a byte has no piece and no <unk> exists.
 */
tq_status tq_spm_encode(const tq_spm *t, const char *text, size_t len, int bos, int eos,
                        int **ids, int *n, tq_error *err);

/**
 * The text of token id when it follows token prev: byte pieces <0xNN> give
 * their one byte; after BOS a leading space is dropped. Borrowed; *len bytes.
 * @return NULL when id is out of range.
 */
const char *tq_spm_decode(const tq_spm *t, int prev, int id, int *len);

/**
 * Decode ids[0..n) with tq_spm_decode, each id's prev being the id before it
 * (-1 for ids[0]). BOS and EOS give no text but still count as prev, so a
 * sequence [BOS, " Once", ...] decodes to "Once ...".
 * @param text  out: malloc'd NUL-terminated text; *len (may be NULL) its length
 */
tq_status tq_spm_detokenize(const tq_spm *t, const int *ids, int n, char **text, size_t *len,
                            tq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* TRUEQ_LLAMA_H */
