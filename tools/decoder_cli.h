/*
 * decoder_cli.h — what `generate` and `compare` (for decoders) share:
 * opening a Llama-style decoder with its configuration, its tokenizer, and
 * the option rows for them.
 */
#ifndef TQC_DECODER_CLI_H
#define TQC_DECODER_CLI_H
#include "cli.h"
#include "trueq_llama.h"
#include "trueq_nn.h"

/* Option rows the decoder commands share (T: the command's argument struct). */
#define TQC_DEC_OPT_CONFIG(T, f, h) TQC_O_STR("--config", NULL, T, f, "FILE", h)
#define TQC_DEC_OPT_TOKENIZER(T, f, h) TQC_O_STR("--tokenizer", NULL, T, f, "FILE", h)
#define TQC_DEC_OPT_KEEP_INT8(T, f, h) TQC_O_FLAG("--keep-int8", NULL, T, f, h)

/** A decoder opened for running. */
typedef struct tqc_dec_side {
    const char      *path;
    tq_model        *m;
    tq_llama        *l;
    tq_memory_report mem;           /* stored bytes of the weight file(s)      */
    const char      *config_from;   /* which file/dir gave the configuration   */
    const char      *gguf;          /* path when the model is a GGUF file (its
                                       metadata gives config and tokenizer), else NULL */
} tqc_dec_side;

/**
 * Open s->path as a Llama-style decoder; its configuration is forced (from
 * --config) when non-NULL, else the GGUF file's own metadata when s->path is
 * a GGUF file, else read beside the weights, else fallback (the other
 * side's, which came from fallback_dir) when non-NULL.
 * @return TQC_EXIT_OK, or an exit status after printing the error.
 */
int  tqc_dec_side_open(tqc_dec_side *s, const char *cmd, const tq_llama_config *forced, const tq_llama_config *fallback,
                   const char *fallback_dir, const tq_llama_opts *lo);
void tqc_dec_side_free(tqc_dec_side *s);

/** A decoder's tokenizer: a llama2.c / sentencepiece one (spm), or, for a
 *  GGUF file whose tokenizer.ggml.model is not llama (gpt2), the kind the
 *  tokenizer table picks for it (tok). Exactly one is set. */
typedef struct tqc_dec_tok {
    tq_spm *spm;
    tq_tok *tok;
} tqc_dec_tok;

/** Open the tokenizer: file when non-NULL (a GGUF file: its tokenizer.ggml.*
 *  metadata), else the one beside dir_a, else beside dir_b (may be NULL).
 *  @return TQC_EXIT_OK, or an exit status after printing the error. */
int       tqc_dec_tok_open(tqc_dec_tok *t, const char *cmd, const char *file, const char *dir_a, const char *dir_b);
void      tqc_dec_tok_free(tqc_dec_tok *t);
int       tqc_dec_tok_count(const tqc_dec_tok *t);
/** The BOS / EOS id (TQ_SPM_BOS / TQ_SPM_EOS for spm), -1 when none. */
int       tqc_dec_tok_special(const tqc_dec_tok *t, tq_tok_special s);
/** Encode text; bos 1: the tokenizer's own leading specials (spm: BOS; tok:
 *  what its file says, e.g. nothing for SmolLM2). *ids malloc'd. */
tq_status tqc_dec_tok_encode(const tqc_dec_tok *t, const char *text, size_t len, int bos, int **ids, int *n,
                             tq_error *err);

/** Token ids separated by white space, each in [0, vocab), from path into
 *  *ids (malloc'd; *n of them, at least one). @return TQC_EXIT_OK, or an
 *  exit status after printing the error (naming the file and byte). */
int tqc_dec_read_ids(const char *cmd, const char *path, int vocab, int **ids, int *n);
#endif
