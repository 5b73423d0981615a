/*
 * bpe.h — the byte-level BPE tokenizer (GPT-2, RoBERTa, Llama-3, Qwen2,
 * SmolLM2), internal to src/nn/. docs/tokenizer.md ("Byte-level BPE")
 * describes every step; the behaviour is that of Hugging Face `tokenizers`
 * 0.20, id for id.
 *
 * Files:
 *   bpe_pretok.c  normalizers (NFC/NFKC/NFD/NFKD through utf8proc), the
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
#include "trueq_nn.h"

/* ---- pre-tokenizer pipeline (bpe_pretok.c) ------------------------------ */

#define TQ_BPE_MAX_STEPS 8
#define TQ_BPE_MAX_NORM 4

/** A normalizer step. */
typedef enum tq_bpe_norm { TQ_BPE_NFC = 1, TQ_BPE_NFKC, TQ_BPE_NFD, TQ_BPE_NFKD } tq_bpe_norm;

typedef enum tq_bpe_pre_kind { TQ_BPE_PRE_SPLIT = 1, TQ_BPE_PRE_BYTELEVEL, TQ_BPE_PRE_DIGITS } tq_bpe_pre_kind;

/** How a Split (and Digits) step treats the matches (tokenizers'
 *  SplitDelimiterBehavior). */
typedef enum tq_bpe_behavior {
    TQ_BPE_REMOVED = 0, TQ_BPE_ISOLATED, TQ_BPE_MERGED_PREV, TQ_BPE_MERGED_NEXT, TQ_BPE_CONTIGUOUS
} tq_bpe_behavior;

typedef struct tq_bpe_pre_step {
    tq_bpe_pre_kind kind;
    tq_bpe_behavior behavior;   /* Split, Digits                                */
    int   invert;               /* Split: the non-matches are the delimiters    */
    int   add_prefix_space;     /* ByteLevel: " " before a piece not starting so */
    int   use_regex;            /* ByteLevel: split with GPT-2's regex first    */
    void *code;                 /* Split, ByteLevel+use_regex: pcre2_code_8 (owned) */
} tq_bpe_pre_step;

typedef struct tq_bpe_pretok {
    int             n_norm;
    tq_bpe_norm     norm[TQ_BPE_MAX_NORM];
    int             n;
    tq_bpe_pre_step step[TQ_BPE_MAX_STEPS];
} tq_bpe_pretok;

/** Pieces of text, each malloc'd (not NUL-terminated). */
typedef struct tq_bpe_pieces { char **s; size_t *len; int n, cap; } tq_bpe_pieces;
void tq_bpe_pieces_free(tq_bpe_pieces *p);

/** The regexes by name: "gpt2" (also ByteLevel's own), "llama3", "qwen2".
 *  NULL for another name. */
const char *tq_bpe_regex(const char *name);

/** Add a step. Split: `pattern` is a PCRE2 regex (compiled with UTF|UCP,
 *  JIT when the library has it; results never depend on it) or, literal 1,
 *  a plain string. where names the source for messages.
 *  @return TQ_OK; TQ_E_FORMAT for a regex PCRE2 rejects (offset and
 *  PCRE2's message); TQ_E_LIMIT past TQ_BPE_MAX_STEPS. */
tq_status tq_bpe_pre_split(tq_bpe_pretok *p, const char *pattern, size_t len, int literal, tq_bpe_behavior b,
                           int invert, const char *where, tq_error *err);
tq_status tq_bpe_pre_bytelevel(tq_bpe_pretok *p, int add_prefix_space, int use_regex, const char *where,
                               tq_error *err);
/** Digits: each numeric character (Nd, Nl, No) isolated (individual 1) or
 *  runs of them kept together. */
tq_status tq_bpe_pre_digits(tq_bpe_pretok *p, int individual, const char *where, tq_error *err);
tq_status tq_bpe_pre_norm(tq_bpe_pretok *p, tq_bpe_norm n, const char *where, tq_error *err);

/**
 * The pre-tokenizer of a llama.cpp `tokenizer.ggml.pre` name, as the Hugging
 * Face tokenizer.json of those models defines it (the table is in
 * bpe_pretok.c and docs/tokenizer.md): "gpt-2" and the "default" of an
 * absent key: ByteLevel with GPT-2's regex; "llama-bpe" (Llama-3), "dbrx",
 * "smaug-bpe": Split(llama3) + ByteLevel without regex; "qwen2",
 * "deepseek-r1-qwen": Split(qwen2) + ByteLevel; "smollm", "starcoder",
 * "refact", "codeshell", "command-r": Digits(individual) + ByteLevel with
 * GPT-2's regex. @return TQ_E_UNSUPPORTED naming any other name.
 */
tq_status tq_bpe_pre_by_name(tq_bpe_pretok *p, const char *name, const char *where, tq_error *err);
void      tq_bpe_pretok_free(tq_bpe_pretok *p);

/** Normalize s[0..n) with every normalizer step: *out malloc'd (NULL-safe
 *  to free), *on its length. No steps: a copy. */
tq_status tq_bpe_normalize(const tq_bpe_pretok *p, const char *s, size_t n, char **out, size_t *on, tq_error *err);
/** Run the pre-tokenizer steps over s[0..n), appending its non-empty pieces
 *  to out. No steps: s itself is the one piece. */
tq_status tq_bpe_pretokenize(const tq_bpe_pretok *p, const char *s, size_t n, tq_bpe_pieces *out, tq_error *err);

/** GPT-2's byte-level alphabet (bytes_to_unicode): the printable bytes
 *  '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand for themselves (as code
 *  points); the other 68 bytes, in increasing order, get U+0100, U+0101, ...
 *  @return the code point of byte b. */
uint32_t tq_bpe_byte_char(uint8_t b);
/** The byte a code point stands for, or -1 when it is not in the alphabet. */
int      tq_bpe_char_byte(uint32_t cp);

/** Decode one code point of s[0..n): its length (1..4), or 0 when the bytes
 *  are not valid UTF-8 (overlong, surrogate, beyond U+10FFFF, cut short). */
int tq_bpe_utf8_next(const uint8_t *s, size_t n, uint32_t *cp);
/** Byte offset of the first invalid UTF-8 sequence, or -1. */
long long tq_bpe_utf8_bad(const char *s, size_t n);
/** Unicode classes by utf8proc: Rust's char::is_whitespace (White_Space),
 *  is_alphanumeric (categories L* and N*), is_numeric (Nd, Nl, No). */
int tq_bpe_is_space(uint32_t cp);
int tq_bpe_is_alnum(uint32_t cp);
int tq_bpe_is_numeric(uint32_t cp);

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

/** Model vocabulary: token s[0..len) has id (0 <= id < 1<<24). A token seen
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
#endif
