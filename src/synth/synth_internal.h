/*
 * synth_internal.h — the pieces of the synthetic checkpoints shared by the
 * generator (synth.c), the family table (synth_arch.c), the sharded streaming
 * writer (synth_out.c) and the tokenizer files (synth_tok.c). Internal.
 */
#ifndef TQ_SYNTH_INTERNAL_H
#define TQ_SYNTH_INTERNAL_H

#include "core/internal.h"

/** How a tensor's values are drawn (synth.c's gen_tensor). */
typedef enum tq_synth_kind {
    TQ_SK_MATRIX,    /* trained-looking matrix: heavy tails, outlier columns, power-law low-rank part */
    TQ_SK_BIAS,      /* N(0, std) (any shape)                                             */
    TQ_SK_GAIN,      /* N(0.9, 0.08): norm gains                                          */
    TQ_SK_WORDEMB,   /* N(0, std), low ids larger                                         */
    TQ_SK_POSEMB     /* smooth in the position                                            */
} tq_synth_kind;

/** One tensor: rows == 0 for a vector of cols values. */
typedef struct tq_synth_spec {
    char          name[128];
    int64_t       rows, cols;
    tq_synth_kind k;
    float         std;
} tq_synth_spec;

/** Elements of a spec. */
static inline int64_t tq_synth_count(const tq_synth_spec *s) { return s->rows ? s->rows * s->cols : s->cols; }

/** Append a spec (name formatted) at s[(*n)++]; the caller sized s. */
void tq_synth_add(tq_synth_spec *s, int *n, int64_t rows, int64_t cols, tq_synth_kind k, float std,
                  const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/** Fill w[tq_synth_count(s)] with the spec's values for the seed: a stream
 *  of its own per (seed, name), IEEE arithmetic only (same bytes anywhere). */
tq_status tq_synth_gen(uint64_t seed, const tq_synth_spec *s, float *w, tq_error *err);

/** The DistilBertForSequenceClassification tensors of o (MNLI head): n. */
int tq_synth_distilbert_specs(const tq_synth_options *o, tq_synth_spec *s);
/** distilbert's config.json (torch_dtype "float32"...), vocab.txt and
 *  tokenizer_config.json for o, into dir. */
tq_status tq_synth_distilbert_files(const char *dir, const tq_synth_options *o, const char *torch_dtype, tq_error *err);

/* ---- tokenizer files (synth_tok.c) ---------------------------------------- */
/** dir/name = text, atomically. */
tq_status tq_synth_write_text(const char *dir, const char *name, const char *text, tq_error *err);
/** A WordPiece vocab.txt of exactly `vocab` lines (BERT's special ids). */
tq_status tq_synth_write_wordpiece(const char *dir, int vocab, tq_error *err);
/** RoBERTa's byte-level vocab.json + merges.txt of exactly `vocab` ids
 *  (<s> 0, <pad> 1, </s> 2, <unk> 3, <mask> vocab-1). */
tq_status tq_synth_write_bytebpe(const char *dir, int vocab, tq_error *err);

/* ---- sharded streaming writer (synth_out.c) -------------------------------- */
/** Write specs as dtype into dir: one model.safetensors, or HF-style shards
 *  model-0000K-of-0000N.safetensors of at most max_shard data bytes each with
 *  model.safetensors.index.json. One tensor in memory at a time. With dir
 *  NULL nothing is written: only *sum is filled. */
tq_status tq_synth_write_weights(const char *dir, const tq_synth_spec *s, int n, uint64_t seed, tq_dtype dtype,
                                 uint64_t max_shard, tq_progress_fn progress, void *ud, tq_synth_summary *sum,
                                 tq_error *err);
#endif
