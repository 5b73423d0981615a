/*
 * plan_file.h — the loader of model-list files (`trueq batch FILE`, and later
 * `trueq sweep PLAN`): YAML through libyaml, schema in docs/batch.md.
 *
 *   defaults:            # optional: options every model gets unless it sets them
 *     codec: linear-affine
 *   models:              # required, a non-empty list
 *     - name: minilm     # optional label (default: the model path)
 *       model: path/to/model        # required
 *       output: out/minilm          # required
 *       bits: 4                     # any KEYS row below
 *
 * Every value is a scalar; each option keeps its file line for messages.
 */
#ifndef TQC_PLAN_FILE_H
#define TQC_PLAN_FILE_H
#include <stddef.h>

#define TQC_PF_MAX_OPTS 24

typedef struct tqc_pf_opt {
    const char *key;      /* a row of tqc_pf_keys */
    const char *value;
    int         line;
} tqc_pf_opt;

typedef struct tqc_pf_model {
    const char *name, *model, *output;
    int         line;                       /* where the entry starts */
    tqc_pf_opt  opt[TQC_PF_MAX_OPTS];       /* the convert options, defaults merged */
    int         n_opt;
} tqc_pf_model;

typedef struct tqc_plan_file {
    tqc_pf_model *models;
    int           n;
    char        **strings;                  /* owned */
    int           n_strings, cap_strings;
} tqc_plan_file;

/** A convert option a model entry may set: file key, convert flag, flag-only. */
typedef struct tqc_pf_key { const char *key, *flag; int boolean; } tqc_pf_key;
extern const tqc_pf_key tqc_pf_keys[];

/** Load FILE; 0, or 2 with msg "FILE:LINE: what" (unknown keys, missing
 *  model/output, a non-scalar value, bad YAML). */
int  tqc_plan_file_load(const char *path, tqc_plan_file *pf, char *msg, size_t cap);
/** The same from text[0, len) in memory (fuzz/fuzz_plan.c); `path` only
 *  names it in messages. */
int  tqc_plan_file_parse(const char *text, size_t len, const char *path, tqc_plan_file *pf, char *msg, size_t cap);
void tqc_plan_file_free(tqc_plan_file *pf);
#endif
