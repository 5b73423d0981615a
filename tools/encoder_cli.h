/*
 * encoder_cli.h — what `embed`, `classify` and `compare` share: opening a
 * BERT/DistilBERT/RoBERTa model with its tokenizer, and turning texts, text files or
 * pre-tokenised id files into input sequences.
 */
#ifndef TQC_ENCODER_CLI_H
#define TQC_ENCODER_CLI_H
#include "cli.h"
#include "trueq_nn.h"

/* Option rows the encoder commands share (T: the command's argument struct). */
#define TQC_ENC_OPT_IDS(T, f) \
    TQC_O_STR("--ids", NULL, T, f, "FILE", \
              "pre-tokenised input: one sequence per line, token ids\n" \
              "separated by spaces, specials included; '|' starts the\n" \
              "second segment (token type 1). No tokenizer is used.")
#define TQC_ENC_OPT_BATCH(T, f) TQC_O_INT("--batch", NULL, T, f, "N", 1, 4096, "sequences per forward pass (default 8)")
#define TQC_ENC_OPT_KEEP_INT8(T, f) \
    TQC_O_SET("--keep-int8", T, f, 1, \
              "hold int8 (linear-sym 8-bit) matrices as int8 in memory,\n" \
              "decoding rows as products need them (same outputs, ~1/4 the RAM)")
#define TQC_ENC_OPT_FP32_ATTN(T, f) \
    TQC_O_SET("--fp32-attention", T, f, -1, \
              "with --keep-int8: attention in float32 (sgemm) instead of\n" \
              "int8 (q k^T and p v by int8 dot products: the default\n" \
              "where the CPU has AVX-512 VNNI)")

/** A model opened for running: weights, encoder, its tokenizer (may be NULL). */
typedef struct tqc_enc_side {
    const char      *path;
    tq_model        *m;
    tq_enc          *e;
    tq_tok          *tok;      /* WordPiece (BERT) or byte-level BPE (RoBERTa) */
    tq_memory_report mem;      /* stored bytes of the weight file(s) */
} tqc_enc_side;

/** Command-line choices: pooling overrides (-1: keep the model's),
 *  keep_int8 (hold linear-sym 8-bit matrices as int8, tq_enc_opts) and
 *  int8_attention (tq_enc_opts: 0 default, -1 float32). */
typedef struct tqc_enc_open_opts { int pooling, normalize, keep_int8, int8_attention; } tqc_enc_open_opts;

/**
 * Open path as an encoder. need_tok: also open the tokenizer beside the
 * weights, else beside tok_fallback_dir (a quantized copy made without its
 * vocabulary can borrow the original's). cfg_fallback_dir: where config.json
 * is read when the model's own directory lacks it (NULL: none).
 * @return TQC_EXIT_OK, or an exit status after printing the error.
 */
int  tqc_enc_side_open(tqc_enc_side *s, const char *cmd, bool need_tok, const char *cfg_fallback_dir,
                   const tqc_enc_open_opts *po);
void tqc_enc_side_free(tqc_enc_side *s);

/** Input sequences and what they came from. */
typedef struct tqc_enc_inputs {
    int             n;
    tq_enc_seq     *seqs;
    tq_wp_encoding *encs;     /* owned token arrays                        */
    char          **label;    /* the text ("A" or "A | B") or the ids line */
    int             pairs;    /* how many are sentence pairs              */
} tqc_enc_inputs;
void tqc_enc_inputs_free(tqc_enc_inputs *in);
/** Free the inputs and the sides a and b (either may be NULL): a command's cleanup. */
void tqc_enc_release(tqc_enc_inputs *in, tqc_enc_side *a, tqc_enc_side *b);

/** Longest input the model accepts: the smaller of its positions
 *  (max_position_embeddings, less padding_idx + 1 for RoBERTa) and a
 *  sentence-transformers max_seq_length (a WordPiece tokenizer's own
 *  max_len applies as it encodes). */
int  tqc_enc_max_len(const tq_enc *e, const tq_tok *tok);

/** Tokenise texts a[i] (paired with b[i] when b and b[i] are non-NULL). */
int  tqc_enc_inputs_from_texts(tqc_enc_inputs *in, const char *cmd, const tq_tok *tok, const char *const *a,
                           const char *const *b, int n, int max_len);
/** A text file: one input per line, a TAB separating the two sentences of a
 *  pair; empty lines and lines starting with '#' are skipped. */
int  tqc_enc_inputs_from_text_file(tqc_enc_inputs *in, const char *cmd, const tq_tok *tok, const char *path,
                               int max_len);
/** An ids file: one sequence per line, decimal token ids separated by
 *  spaces, specials included; a '|' starts the second segment (token type 1).
 *  Each id is checked against vocab_size and each line against max_len. */
int  tqc_enc_inputs_from_ids_file(tqc_enc_inputs *in, const char *cmd, const char *path, int vocab_size, int max_len);

/**
 * What embed and classify do first: open s->path (with its tokenizer unless
 * ids_file is given) and read the inputs from ids_file, else text_file, else
 * the n texts a[i] (paired with b[i] when b is non-NULL).
 * @return TQC_EXIT_OK, or an exit status after printing the error; free both
 *         with tqc_enc_release either way.
 */
int  tqc_enc_open_one(tqc_enc_side *s, tqc_enc_inputs *in, const char *cmd, const tqc_enc_open_opts *po, const char *ids_file,
                  const char *text_file, const char *const *a, const char *const *b, int n);

/** A tq_enc_run progress callback: ud is the command name. */
void tqc_enc_progress(void *ud, int done, int total);

#endif
