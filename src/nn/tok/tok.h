/*
 * tok.h — what a tokenizer kind provides behind the one tokenizer interface
 * (tq_tok in trueq_nn.h; internal to src/nn/).
 *
 * A kind is one row: its name, `open` (read the kind's files from a model
 * directory; TQ_E_NOTFOUND when the directory has none of them,
 * TQ_E_UNSUPPORTED when they are another kind's, so the loader tries the
 * next row) and a vtable over the opened handle. Rows live in the file of
 * their tokenizer (wordpiece.c, sentencepiece.c, gguf_spm.c) and are listed in
 * kinds.c.
 *
 * This header has no .c of its own (types and the rows' declarations only),
 * so the tokenizer files and the table depend on it without a circle.
 */
#ifndef TQ_NN_TOK_H
#define TQ_NN_TOK_H
#include "trueq_nn.h"

typedef struct tq_tok_vt {
    void      (*free)(void *impl);
    int       (*vocab_size)(const void *impl);
    /** The id of special s, or -1 when this tokenizer has none. */
    int       (*special)(const void *impl, tq_tok_special s);
    /** ids malloc'd (the caller frees); specials: 1 to add the kind's own
     *  (BERT: [CLS] ... [SEP]; sentencepiece: BOS). */
    tq_status (*encode)(const void *impl, const char *text, size_t len, int specials, int32_t **ids, int *n,
                        tq_error *err);
    /** text malloc'd and NUL-terminated; *len its length. */
    tq_status (*decode)(const void *impl, const int32_t *ids, int n, char **text, size_t *len, tq_error *err);
    /** The token of an id as the vocabulary spells it (bytes, *len of them;
     *  not always NUL-terminated), or NULL for an id out of range. */
    const char *(*token)(const void *impl, int id, size_t *len);
    /** Optional (NULL: tq_tok_encode_pair assembles the pair from encode
     *  and the CLS / SEP ids): a and b (NULL: none) as the model gets them,
     *  truncated to max_len (0: the tokenizer's own limit). */
    tq_status (*pair)(const void *impl, const char *a, const char *b, int max_len, tq_wp_encoding *out,
                      tq_error *err);
} tq_tok_vt;

typedef struct tq_tok_kind {
    const char      *name;      /* "wordpiece", "sentencepiece"               */
    const char      *files;     /* what it reads, for messages                */
    void           *(*open)(const char *dir, tq_error *err);
    const tq_tok_vt *vt;
    int              refuses;   /* 1: TQ_E_UNSUPPORTED from open means "my file,
                                   which I refuse" (a Unigram tokenizer.model):
                                   the error when no kind opens the directory;
                                   0: it may be another kind's file           */
} tq_tok_kind;

/** Truncate a pair of na + nb tokens to m as tokenizers' LongestFirst
 *  does (na alone when nb < 0): when it does not fit, the shorter part (a
 *  on a tie) keeps its length if the longer one still gets as many, else the
 *  shorter gets floor(m/2) and the longer ceil(m/2). Defined in wordpiece.c. */
void tq_tok_truncate_pair(int m, int *na, int *nb);

/* The rows (one per tokenizer file). */
extern const tq_tok_kind tq_tok_wordpiece;
extern const tq_tok_kind tq_tok_sentencepiece;
extern const tq_tok_kind tq_tok_bpe;           /* bpe_load.c */
extern const tq_tok_kind tq_tok_gguf_spm;      /* gguf_spm.c */
extern const tq_tok_kind tq_tok_gguf_bpe;      /* gguf_bpe.c */
/* The vtables over a tq_spm (sentencepiece.c) and a tq_bpe (bpe_load.c),
 * which the GGUF rows share */
extern const tq_tok_vt tq_tok_spm_vt;
extern const tq_tok_vt tq_tok_bpe_vt;
#endif
