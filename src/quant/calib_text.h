/*
 * calib_text.h — calibration texts: the built-in varied set, or a file of
 * one text per line (internal).
 */
#ifndef TQ_QUANT_CALIB_TEXT_H
#define TQ_QUANT_CALIB_TEXT_H

#include "core/internal.h"

typedef struct tq_calib_texts {
    char **text;     /* NUL-terminated, owned unless builtin */
    int    n;
    int    builtin;
    char  *buf;      /* a file's bytes (lines point into it) */
} tq_calib_texts;

/** The built-in set: 64 sentences of varied English (narrative, technical,
 *  questions, numbers, dialogue, lists; calib_text.c) and the corpus of
 *  calib_corpus.c (about 130 more texts: many topics, a few words to a
 *  paragraph, sentence pairs). The texts are borrowed, the array owned
 *  (tq_calib_texts_free). TQ_E_NOMEM. */
tq_status tq_calib_builtin(tq_calib_texts *t, tq_error *err);

/**
 * Read `path`: one text per line (\n or \r\n), blank lines skipped; a TAB
 * splits a line into a sentence pair (as `trueq compare --inputs`).
 * @return TQ_OK; TQ_E_IO naming the file; TQ_E_ARG when it holds no text or
 * a line is not valid UTF-8 or holds a NUL (naming the line number).
 */
tq_status tq_calib_read(const char *path, tq_calib_texts *t, tq_error *err);
void      tq_calib_texts_free(tq_calib_texts *t);

/** The texts (calib_file, or the built-in set) tokenized by the model
 *  directory's tokenizer, each truncated to max_tokens (0: 128; at most
 *  max_pos), specials included. */
typedef struct tq_calib_seqs {
    struct tq_wp_encoding *enc;
    struct tq_enc_seq     *seq;
    int                    n;
} tq_calib_seqs;
tq_status tq_calib_seqs_make(const tq_model *m, const char *calib_file, int max_tokens, int max_pos, tq_calib_seqs *s,
                             tq_error *err);
void      tq_calib_seqs_free(tq_calib_seqs *s);

#endif
