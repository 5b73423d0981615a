/*
 * llama_gguf.h — a Llama decoder's configuration and tokenizer from a
 * parsed GGUF file (llama.cpp's metadata; internal to src/nn/). The public
 * entry points taking a path are in trueq_llama.h (tq_llama_config_read,
 * tq_spm_open_gguf).
 */
#ifndef TQ_NN_LLAMA_GGUF_H
#define TQ_NN_LLAMA_GGUF_H
#include "io/gguf.h"
#include "trueq_llama.h"
#include "nn/tok/bpe.h"

/**
 * The configuration from the KVs of g (general.architecture must be
 * "llama"; then llama.* keys, FORMATS.md §2.4): context_length,
 * embedding_length, block_count, feed_forward_length (one number, or a
 * per-layer array of equal numbers), attention.head_count and
 * attention.layer_norm_rms_epsilon are required; attention.head_count_kv
 * (default head_count), rope.freq_base (10000) optional; the vocabulary is
 * the length of tokenizer.ggml.tokens, else llama.vocab_size, else
 * token_embd's rows (at open); tied is decided from the tensors (no
 * output.weight: tied). rope.dimension_count, attention.key_length and
 * attention.value_length, when present, must equal the head size.
 * @return TQ_OK; TQ_E_UNSUPPORTED (named key and value) for another
 * architecture, rope scaling other than "none", experts (MoE) or partial
 * rotary; TQ_E_FORMAT for a missing required key or a value of the wrong
 * type or out of range ("PATH: GGUF key \"llama.block_count\" is missing").
 */
tq_status tq_llama_config_gguf(const tq_gguf *g, const char *path, tq_llama_config *c, tq_error *err);

/**
 * The sentencepiece-style tokenizer of g's tokenizer.ggml.* metadata for
 * tokenizer.ggml.model "llama" (gguf_spm.c; see tq_spm_open_gguf).
 */
tq_spm *tq_spm_from_gguf(const tq_gguf *g, const char *path, tq_error *err);

/**
 * The byte-level BPE tokenizer of g's tokenizer.ggml.* for model "gpt2"
 * (gguf_bpe.c): tokens, merges (required), token_type, the
 * bos/eos/padding/unknown ids, add_bos_token / add_eos_token (default
 * false), pre (default "default"), through tq_bpe_from_arrays.
 * @return NULL with TQ_E_UNSUPPORTED for another model (named), TQ_E_FORMAT
 * for a missing or mistyped key (named), or tq_bpe_from_arrays' errors.
 */
tq_bpe *tq_bpe_from_gguf(const tq_gguf *g, const char *path, tq_error *err);
/** The same from a GGUF file. */
tq_bpe *tq_bpe_open_gguf(const char *path, tq_error *err);

/** A tokenizer built from a parsed GGUF (tq_spm_from_gguf, tq_bpe_from_gguf). */
typedef void *(*tq_tok_gguf_fn)(const tq_gguf *g, const char *path, tq_error *err);
/** Map and parse the GGUF file path and build its tokenizer with from. */
void *tq_tok_gguf_read(const char *path, tq_tok_gguf_fn from, tq_error *err);
/** A tokenizer row's open: tq_tok_gguf_read of tq_tok_gguf_file(dir). */
void *tq_tok_gguf_row_open(const char *dir, tq_tok_gguf_fn from, tq_error *err);

/** The GGUF file a tokenizer row reads for `dir`: dir itself when it is a
 *  GGUF file, else the one *.gguf in directory dir (malloc'd). NULL with
 *  TQ_E_NOTFOUND when there is none, TQ_E_ARG when there are several. */
char *tq_tok_gguf_file(const char *dir, tq_error *err);
#endif
