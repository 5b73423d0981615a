/*
 * bpe.h — the byte-level BPE tokenizer (GPT-2, RoBERTa, Llama-3, Qwen2,
 * SmolLM2), internal to src/nn/. docs/tokenizer.md ("Byte-level BPE")
 * describes every step; the behaviour is that of Hugging Face `tokenizers`
 * 0.20, id for id.
 *
 * Files:
 *   bpe_pretok.c  (bpe_pretok.h) normalizers (NFC/NFKC/NFD/NFKD through utf8proc), the
 *                 pre-tokenizer pipeline (Split with a PCRE2 regex or a
 *                 literal, ByteLevel, Digits), the named regexes and the
 *                 table of llama.cpp `tokenizer.ggml.pre` names, GPT-2's
 *                 byte <-> character alphabet (computed), UTF-8 helpers.
 *   bpe.c         the model: vocabulary and merge tables, the merge loop,
 *                 added/special tokens matched before the model runs,
 *                 encode/decode, and tq_bpe_from_arrays (GGUF metadata).
 *   bpe_load.c    tokenizer.json, vocab.json + merges.txt, the tq_tok row.
 *
 * Encoding a text, in order (tokenizers' pipeline):
 *   1. added tokens that are not `normalized` are found in the raw text
 *      (leftmost, then longest; single_word / lstrip / rstrip honoured);
 *   2. each stretch between them is normalized, and `normalized` added
 *      tokens are found in the result;
 *   3. each remaining stretch runs through the pre-tokenizer steps in order,
 *      giving pieces (ByteLevel maps each byte to its alphabet character);
 *   4. each piece is one BPE word: characters to ids (unknown ones: byte
 *      fallback <0xXX>, else the unk token, fused when fuse_unk, else
 *      dropped), then the lowest-ranked adjacent pair is merged, leftmost
 *      first, until no pair has a merge (ignore_merges: a piece that is a
 *      vocabulary token is that token, unmerged);
 *   5. with specials, the post-processor's ids are added around.
 */
#ifndef TQ_NN_TOK_BPE_H
#define TQ_NN_TOK_BPE_H
#include "core/internal.h"
#include "nn/tok/bpe_pretok.h"
#include "nn/tok/tok.h"
#include "trueq_nn.h"

/* ---- the tokenizer (bpe.c) ---------------------------------------------- */

/** An added token (tokenizer.json added_tokens; GGUF control and
 *  user-defined tokens). */
typedef struct tq_bpe_added {
    char  *s;
    size_t len;
    int    id;
    int    special, normalized, lstrip, rstrip, single_word;
} tq_bpe_added;

typedef struct tq_bpe tq_bpe;

/** Make an empty tokenizer; name (copied) prefixes its messages. */
tq_bpe *tq_bpe_new(const char *name, tq_error *err);
void    tq_bpe_free(tq_bpe *t);
tq_bpe_pretok *tq_bpe_pre(tq_bpe *t);

/** Ids are below this (2^21: the largest vocabularies are ~2^18). */
#define TQ_BPE_MAX_ID (1 << 21)

/** Model vocabulary: token s[0..len) has id (0 <= id < TQ_BPE_MAX_ID). A token seen
 *  again maps to its later id (both ids decode). @return TQ_E_FORMAT for an
 *  id given twice or out of range, or invalid UTF-8. */
tq_status tq_bpe_add_token(tq_bpe *t, const char *s, size_t len, int64_t id, tq_error *err);
/** Merge number `rank` (0 first): tokens a and b and their concatenation
 *  must be in the vocabulary (TQ_E_FORMAT naming the merge otherwise). A
 *  pair given again takes the later rank. */
tq_status tq_bpe_add_merge(tq_bpe *t, const char *a, size_t alen, const char *b, size_t blen, int rank,
                           tq_error *err);
/** An added token (copied). TQ_E_FORMAT for an empty content or an id out
 *  of range. */
tq_status tq_bpe_add_added(tq_bpe *t, const tq_bpe_added *a, tq_error *err);

/** Model options. unk: the unknown token's id or -1. */
typedef struct tq_bpe_model_opts { int unk; int fuse_unk, byte_fallback, ignore_merges; } tq_bpe_model_opts;
void tq_bpe_set_model(tq_bpe *t, const tq_bpe_model_opts *o);
/** What encode adds with specials = 1: the ids before and after the text
 *  (up to 8 each). */
tq_status tq_bpe_set_post(tq_bpe *t, const int *pre, int npre, const int *post, int npost, tq_error *err);
/** The id reported for a tq_tok_special (-1 none). */
void tq_bpe_set_special(tq_bpe *t, tq_tok_special s, int id);
/** Decoder: 1 ByteLevel (bytes back from the alphabet), 0 none (tokens
 *  joined by spaces, as tokenizers does without a decoder). */
void tq_bpe_set_decoder(tq_bpe *t, int byte_level);
/** Finish building: checks the unk and post-processor ids are tokens. */
tq_status tq_bpe_finish(tq_bpe *t, tq_error *err);

/** The token of an id (model or added; NUL-terminated), or NULL. */
const char *tq_bpe_token(const tq_bpe *t, int id);
/** The model-vocabulary id of a token, or -1. */
int         tq_bpe_id(const tq_bpe *t, const char *s, size_t len);
/** The id of a token: an added token's (the last given) first, else the
 *  model's; -1 when neither has it. */
int         tq_bpe_find(const tq_bpe *t, const char *s, size_t len);
int         tq_bpe_vocab_size(const tq_bpe *t);
int         tq_bpe_special(const tq_bpe *t, tq_tok_special s);

/** Encode text[0..len) (valid UTF-8, else TQ_E_VALUE naming the byte
 *  offset). specials 1: the post-processor's ids around. *ids malloc'd. */
tq_status tq_bpe_encode(const tq_bpe *t, const char *text, size_t len, int specials, int32_t **ids, int *n,
                        tq_error *err);
/** Decode ids to text (malloc'd, NUL-terminated) as tokenizers' decode:
 *  skip_special 1 drops the special added tokens. Bytes that are not valid
 *  UTF-8 become U+FFFD, one per maximal invalid subpart (Rust's
 *  String::from_utf8_lossy). TQ_E_ARG for an id that is no token. */
tq_status tq_bpe_decode(const tq_bpe *t, const int32_t *ids, int n, int skip_special, char **text, size_t *len,
                        tq_error *err);

/**
 * Build from GGUF-style arrays (`tokenizer.ggml.model = "gpt2"`): token i of
 * tokens[] has id i; merges[] are "a b" strings (split at the first space),
 * rank = index; token_types (NULL: all normal) in llama.cpp's numbering:
 * 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. Control
 * tokens become special added tokens and user-defined ones plain added
 * tokens (both matched in the raw text before the model runs, as llama.cpp
 * and tokenizers do); pre is a `tokenizer.ggml.pre` name
 * (tq_bpe_pre_by_name; NULL = "default"); the decoder is ByteLevel; with
 * specials, encode adds BOS first when add_bos and EOS last when add_eos.
 * Lengths may be NULL (then strlen).
 */
typedef struct tq_bpe_arrays {
    int                n_tokens;
    const char *const *tokens;
    const size_t      *token_lens;
    const int32_t     *token_types;
    int                n_merges;
    const char *const *merges;
    const size_t      *merge_lens;
    int bos, eos, pad, unk;          /* ids, -1 none */
    int add_bos, add_eos;
    const char        *pre;
} tq_bpe_arrays;
tq_bpe *tq_bpe_from_arrays(const tq_bpe_arrays *a, const char *name, tq_error *err);

/* ---- loading (bpe_load.c) ----------------------------------------------- */

/** Open dir/tokenizer.json (model type "BPE") or dir/vocab.json +
 *  dir/merges.txt. TQ_E_NOTFOUND when neither is there, TQ_E_UNSUPPORTED
 *  for another model type or a component trueq does not run (named). */
tq_bpe *tq_bpe_open_dir(const char *dir, tq_error *err);
/** tokenizer.json from memory; name for messages. */
tq_bpe *tq_bpe_from_json(const char *json, size_t len, const char *name, tq_error *err);

/** The tq_tok vtable over a tq_bpe (decode skips special tokens), for the
 *  "bpe" row and any row that builds a tq_bpe another way (GGUF). */
extern const tq_tok_vt tq_tok_bpe_vt;
#endif
