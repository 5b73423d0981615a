/* gguf_names.h — model families as llama.cpp names them (gguf_names.c; see gguf_export.h). */
#ifndef TQ_CONVERT_GGUF_NAMES_H
#define TQ_CONVERT_GGUF_NAMES_H
#include "io/gguf.h"
#include "io/model.h"

/* ===== families (gguf_names.c) ============================================ */

typedef struct tq_gguf_family tq_gguf_family;

/** How model m's tensors map to GGUF: the family row and the arch prefix, or
 *  NULL with err set (TQ_E_UNSUPPORTED naming what trueq can export). */
const tq_gguf_family *tq_gguf_family_detect(const tq_model *m, const char **prefix, tq_error *err);
/** "llama" */
const char *tq_gguf_family_arch(const tq_gguf_family *f);

/** One source tensor's place in the output. */
typedef struct tq_gguf_map {
    char name[TQ_GGUF_MAX_NAME + 1];  /* GGUF name; "" = not written (rule says why) */
    int  permute_heads;               /* >0: permute rows as q/k with this many heads */
} tq_gguf_map;

/** The GGUF name of source tensor t. TQ_E_UNSUPPORTED when the family has no
 *  place for it (fused q/k/v the target graph does not take, unknown names). */
tq_status tq_gguf_family_map(const tq_gguf_family *f, const tq_model *m, const char *prefix, const tq_tensor *t,
                             int n_heads, int n_kv_heads, int n_layers, tq_gguf_map *out, tq_error *err);

/** Hyper-parameters in the GGUF's {arch}.* keys. */
typedef struct tq_gguf_hparams {
    int   dim, hidden, n_layers, n_heads, n_kv_heads, vocab, ctx, type_vocab, head_dim;
    int   pooling;      /* llama.cpp pooling_type (encoders): 1 mean, 2 CLS  */
    float eps, rope_theta;
} tq_gguf_hparams;

/** Read the hyper-parameters of m (its config file, shapes from tensors). */
tq_status tq_gguf_family_hparams(const tq_gguf_family *f, const tq_model *m, const char *prefix,
                                 tq_gguf_hparams *hp, tq_error *err);

/** Append the family's {arch}.* KVs to kv (capacity checked by the caller:
 *  at most TQ_GGUF_FAMILY_MAX_KV). @return the number added. */
#define TQ_GGUF_FAMILY_MAX_KV 16
int tq_gguf_family_kvs(const tq_gguf_family *f, const tq_gguf_hparams *hp, char keys[][64], tq_gguf_wkv *kv);

/** tokenizer.ggml.model of the family ("llama"). */
const char *tq_gguf_family_tokenizer(const tq_gguf_family *f);
#endif
