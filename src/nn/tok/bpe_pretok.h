/*
 * bpe_pretok.h — the text steps before the byte-level BPE model
 * (bpe_pretok.c; internal to src/nn/): normalizers, the pre-tokenizer
 * pipeline, the named regexes and llama.cpp pre names, GPT-2's byte-level
 * alphabet, UTF-8 and Unicode-class helpers. The model and the tokenizer
 * that use them: bpe.h.
 */
#ifndef TQ_NN_TOK_BPE_PRETOK_H
#define TQ_NN_TOK_BPE_PRETOK_H
#include "core/internal.h"

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

#endif
