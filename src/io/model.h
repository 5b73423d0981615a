/* model.h — internals of tq_model shared with the ledger (src/inspect). */
#ifndef TQ_MODEL_H
#define TQ_MODEL_H
#include "io/format.h"
#include "io/qlayout.h"

struct tq_model {
    tq_format      format;    /* of the weight files (all shards agree)        */
    int            sharded;   /* opened through a shard index                  */
    char          *path;      /* what was opened (file or index)               */
    char          *dir;       /* its directory                                 */
    tq_container  *files;     /* one per file (shards in index order)          */
    int            nfiles;
    tq_tensor     *t;         /* logical tensors                               */
    int64_t        n;
    int64_t       *sorted;    /* indices into t, sorted by name                */
    uint8_t      **consumed;  /* per file, per entry: 1 if part of a tensor    */
    uint64_t       index_bytes; /* size of model.safetensors.index.json, if any */
    tq_qlayout_pool names;    /* names of foreign-layout tensors (io/qlayout.h) */
};

struct tq_gguf;
/** The parsed GGUF (io/gguf.h: every KV with its full value, tokenizer arrays
 *  included; tensor infos) of a model opened from a .gguf file, or NULL for
 *  other formats. Borrowed: valid until tq_model_close. */
const struct tq_gguf *tq_model_gguf(const tq_model *m);

/** Parse a trueq per-tensor descriptor (JSON text) into q / orig shape / dtype. */
tq_status tq_descriptor_parse(const char *json, const char *tname, tq_tensor *t, tq_error *err);
/** Render a descriptor for metadata. Caller frees. */
char *tq_descriptor_render(const tq_qparams *q, int simulated, tq_dtype orig_dtype, int ndim,
                           const int64_t *shape, const char *rule);
/** The 2-D view [rows, cols] under which a tensor of this shape is quantized.
 *  @return false if cols overflows int64 (hostile shapes). */
bool tq_shape_2d(int ndim, const int64_t *shape, int64_t *rows, int64_t *cols);

/** The dtype convert reads tensor t as: a tensor stored in ggml blocks (GGUF)
 *  is read as float32, its decoded values (tq_model_tensor_f32); any other
 *  tensor as stored. */
static inline tq_dtype tq_tensor_read_dtype(const tq_tensor *t) {
    return t->quantized && t->q.ggml_type ? TQ_DTYPE_F32 : t->dtype;
}

#define TQ_META_VERSION "trueq.version"
#define TQ_META_TENSOR_PREFIX "trueq.tensor."
#define TQ_META_KEPT_PREFIX "trueq.kept."   /* why a tensor stayed as it was (the policy rule) */

#endif
