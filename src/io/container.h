/*
 * container.h — the raw view of one weight file, and a streaming writer.
 *
 * A container is what a format parser produces: a list of raw entries (name,
 * dtype, shape, bytes in the file) plus string metadata. It knows nothing of
 * quantization; src/io/model.c groups entries into logical tensors.
 *
 * The parsers (safetensors.c, npz_read.c, ...) fill containers and may call
 * the helpers here (add_meta, index, free); opening a file by content is
 * format.c's job, so nothing here calls a parser. The planned writer is
 * declared in io/writer.h (included below).
 */
#ifndef TQ_CONTAINER_H
#define TQ_CONTAINER_H

#include "core/internal.h"

typedef struct tq_entry {
    char       *name;
    tq_dtype    dtype;
    int         ndim;
    int64_t     shape[TQ_MAX_DIMS];
    uint64_t    offset;   /* absolute offset of the data in the file          */
    uint64_t    nbytes;   /* bytes of data as stored (after decompression)     */
    uint64_t    stored;   /* bytes the entry occupies in the file's data area  */
    const void *data;     /* into the map, or into `owned`                     */
    void       *owned;    /* decompressed copy (deflated npz members), or NULL */
    int         ggml_type;/* GGUF: the ggml block type (Q4_K = 12 ...) of an
                             entry stored in ggml blocks: dtype is U8, shape
                             the logical (numpy-order) shape, nbytes the
                             blocks' bytes. 0 for plain dtypes (F32, F16 ...) */
} tq_entry;

typedef struct tq_container {
    tq_map    map;
    tq_entry *entries;    /* in file order                                      */
    int64_t   n;
    char    **meta_keys;  /* string metadata (safetensors __metadata__, npz     */
    char    **meta_vals;  /*   __trueq__.json member)                           */
    int       n_meta;
    int64_t  *by_name;    /* entry indices sorted by name (tq_container_index) */
    int      *meta_by_key;/* metadata indices sorted by key                     */
    uint64_t  header_bytes;   /* format overhead: headers, directories          */
    uint64_t  padding_bytes;  /* padding inside the header or between entries   */
    tq_format format;         /* set by tq_container_open                       */
    uint64_t  meta_bytes;     /* of header_bytes: key-value metadata (GGUF KVs) */
    void     *priv;           /* the parser's own parsed form (GGUF: tq_gguf),  */
    void    (*priv_free)(void *priv); /* freed by tq_container_free, or NULL    */
} tq_container;

/* How sure a format's content sniff is (format.c takes the highest; ties go
 * to the row whose file-name pattern matches, then to table order). */
enum { TQ_SNIFF_NO = 0, TQ_SNIFF_SHAPE = 1, TQ_SNIFF_SIGNATURE = 2 };

/**
 * Map and parse a file; the format is chosen by content (src/io/format.c:
 * the strongest content sniff of the format table wins, the file name only
 * breaks ties). A recognised format this build does not read fails with
 * TQ_E_UNSUPPORTED ("PATH: GGUF file: not supported by this build"); bytes
 * no row recognises with TQ_E_FORMAT ("PATH: unknown format (first bytes ..)").
 * Defined in format.c, which knows the back-ends; this file does not.
 */
tq_status tq_container_open(tq_container *c, const char *path, tq_error *err);
void      tq_container_free(tq_container *c);
/** Build the sorted name/key indices (tq_container_open does it). */
tq_status tq_container_index(tq_container *c, tq_error *err);
/** Index of the entry called name, or -1. O(log n) once indexed. */
int64_t tq_container_find(const tq_container *c, const char *name);
/** Metadata value for key, or NULL. O(log n) once indexed. */
const char *tq_container_meta(const tq_container *c, const char *key);
/** Add a metadata pair (copies both). */
tq_status tq_container_add_meta(tq_container *c, const char *k, const char *v, tq_error *err);

#include "io/writer.h"

#endif
