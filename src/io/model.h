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

/* ---- reading stored bytes (model_read.c) --------------------------------
 * Never through the map: pread (tq_map_read) from the tensor's file, so a file
 * that shrank or fails to read is TQ_E_IO naming the file and the offset, never
 * SIGBUS; bytes the parser holds in memory (deflated npz members) are copied. */

/** pread t's stored payload (t->nbytes bytes) into codes (skipped if NULL) and
 *  each side tensor (its aux_desc byte size) into aux[a] (NULL entries, or a
 *  NULL aux, skipped). */
tq_status tq_model_read_stored(const tq_model *m, const tq_tensor *t, void *codes, void *const aux[TQ_MAX_AUX],
                               tq_error *err);
/** pread bytes [byte_off, byte_off + len) of t's stored payload into buf (row
 *  tiles of codes); TQ_E_ARG when the range is outside t->nbytes. */
tq_status tq_model_read_range(const tq_model *m, const tq_tensor *t, uint64_t byte_off, uint64_t len, void *buf,
                              tq_error *err);
/** A tensor's stored bytes in owned, malloc-aligned buffers: t is a copy of
 *  the model's tensor whose data / aux point at codes / aux (data NULL when
 *  read without codes), for code that takes a tq_tensor (block ranges). */
typedef struct tq_stored { tq_tensor t; void *codes; void *aux[TQ_MAX_AUX]; } tq_stored;
tq_status tq_model_load_stored(const tq_model *m, const tq_tensor *t, bool with_codes, tq_stored *s, tq_error *err);
void      tq_stored_free(tq_stored *s);

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
