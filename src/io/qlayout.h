/*
 * qlayout.h — THE FOREIGN QUANTIZED-LAYOUT TABLE: recognisers of the stored
 * layouts other tools write (GPTQ, AWQ, compressed-tensors, bitsandbytes,
 * MLX ...), each grouping a file's raw entries into logical quantized
 * tensors (docs/formats/quantized-layouts.md).
 *
 * tq_model (model.c) runs the table between its pass 1 (trueq's own
 * descriptors) and pass 2 (plain tensors): every row's claim() sees one
 * file's entries that nothing has claimed yet, plus the quantization object
 * of the model directory's config.json, and turns each set of entries it
 * recognises into one tq_tensor. What no row claims but looks quantized
 * (tq_qlayout_check_rest) is refused by name, never counted as plain.
 *
 * Adding a layout: one file src/io/qlayout_<name>.c defining a `tq_qlayout`
 * row (and, if its decode is new, a decode-only codec in src/codec/), one
 * line in TQ_QLAYOUTS (qlayout.c), its fixtures and corrupt-input cases in
 * tests/test_qlayout.c.
 */
#ifndef TQ_QLAYOUT_H
#define TQ_QLAYOUT_H
#include "io/container.h"
#include <cjson/cJSON.h>

/** Strings the logical tensors borrow (their names: "P.weight" for P.qweight),
 *  owned by the model and freed with it. */
typedef struct tq_qlayout_pool {
    char   **s;
    int64_t  n, cap;
} tq_qlayout_pool;

/** What a claim sees and fills. */
typedef struct tq_qlayout_ctx {
    const tq_container *c;    /* the file                                       */
    int                 file; /* its index in the model (tq_tensor.file_index)  */
    uint8_t            *consumed; /* per entry of c: 1 once part of a tensor;
                                 a claim skips consumed entries and sets the
                                 flag of every entry it groups               */
    const cJSON        *qconf;/* config.json "quantization_config" (or
                                 "quantization", or quantize_config.json's
                                 object), NULL when there is none            */
    tq_tensor          *t;    /* the model's tensors: a claim appends at t[*n] */
    int64_t            *n;    /* (room for one tensor per entry of the file)  */
    tq_qlayout_pool    *pool; /* for the names it makes (tq_qlayout_name)     */
} tq_qlayout_ctx;

/** One row. claim() returns TQ_OK having claimed zero or more tensors, or an
 *  error (TQ_E_FORMAT / TQ_E_UNSUPPORTED) naming the file, the tensor, what
 *  is wrong and the limit; a claimed tensor is complete: quantized, codec
 *  qparams valid for its logical [rows, cols] (tq_qparams_check), codes and
 *  every side tensor present with the dtype and shape the codec's layout
 *  gives, aux_bytes their sum. */
typedef struct tq_qlayout {
    const char *name;          /* "gptq": the config's quant_method, or the tool */
    const char *summary;       /* one line                                       */
    tq_status (*claim)(tq_qlayout_ctx *cx, tq_error *err);
} tq_qlayout;

int               tq_qlayout_count(void);
const tq_qlayout *tq_qlayout_at(int i);

/** Read dir/config.json's quantization object (else dir/quantize_config.json
 *  whole). *root is the parsed document to cJSON_Delete (NULL: no file);
 *  *qconf points into it (NULL: none). A config.json that is not JSON is
 *  TQ_E_FORMAT. */
tq_status tq_qlayout_config_load(const char *dir, cJSON **root, const cJSON **qconf, tq_error *err);

/** Run every row over one file, then refuse what still looks quantized. */
tq_status tq_qlayout_claim_file(tq_qlayout_ctx *cx, tq_error *err);

void tq_qlayout_pool_free(tq_qlayout_pool *p);

/* ---- helpers for rows ---------------------------------------------------- */

/** "<prefix><suffix>" kept in the pool; NULL when out of memory. */
const char *tq_qlayout_name(tq_qlayout_pool *p, const char *prefix, size_t prefix_len, const char *suffix);
/** Index of the unconsumed entry "<prefix><suffix>", or -1. */
int64_t tq_qlayout_find(const tq_qlayout_ctx *cx, const char *prefix, size_t prefix_len, const char *suffix);
/** Is the entry dtype dt with ndim dims equal to shape[]? */
bool tq_qlayout_is(const tq_entry *e, tq_dtype dt, int ndim, const int64_t *shape);
/** config member by name (case-sensitive) as an int; def when absent or not a number. */
int64_t tq_qlayout_int(const cJSON *o, const char *key, int64_t def);

/** "DT [d0, d1, ...]" of an entry or a layout, for messages. */
const char *tq_qlayout_shape_str(tq_dtype dt, int ndim, const int64_t *shape, char *buf, size_t cap);
/** Emit one logical tensor `name` [rows, cols] of codec qparams *q whose
 *  codes are entry ic and whose side tensors are entries k[0..n) in the
 *  codec's layout order; xtra[0..nx) are entries the layout also stores but
 *  the decode does not read (a code book checked by the row, a JSON
 *  quant_state): their bytes count in aux_bytes too. Checks every dtype and
 *  shape against tq_qparams_layout; marks all the entries consumed. `what`
 *  ("AWQ") opens the messages. */
tq_status tq_qlayout_emit(tq_qlayout_ctx *cx, const char *what, const tq_qparams *q, int64_t rows, int64_t cols,
                          const char *name, tq_dtype orig, int64_t ic, const int64_t *k, int n, const int64_t *xtra,
                          int nx, tq_error *err);
/** Make a small side entry a row reads in place (a JSON quant_state, a code
 *  book, a stored shape) safe to read: pinned in the file's map
 *  (tq_map_pin; a file that shrank is TQ_E_IO naming it and the offset). An
 *  entry in memory (owned, or a container without a map) needs nothing. */
tq_status tq_qlayout_pin(const tq_qlayout_ctx *cx, const tq_entry *e, tq_error *err);
/** "P" of an entry "P<suffix>": its length, or -1 when the name does not end so. */
int64_t tq_qlayout_prefix(const char *name, const char *suffix);
/** config member by name as a string; NULL when absent or not a string. */
const char *tq_qlayout_str(const cJSON *o, const char *key);

#endif
