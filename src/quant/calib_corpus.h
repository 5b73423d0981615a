/*
 * calib_corpus.h — the larger part of the built-in calibration set
 * (calib_corpus.c; calib_text.h's tq_calib_builtin joins it to the first 64
 * sentences). A TAB inside a text separates a sentence pair.
 */
#ifndef TQ_QUANT_CALIB_CORPUS_H
#define TQ_QUANT_CALIB_CORPUS_H
extern const char *const tq_calib_corpus[];
extern const int         tq_calib_corpus_n;
#endif
