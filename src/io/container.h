/*
 * container.h — the raw view of one weight file, and a streaming writer.
 *
 * A container is what a format parser produces: a list of raw entries (name,
 * dtype, shape, bytes in the file) plus string metadata. It knows nothing of
 * quantization; src/io/model.c groups entries into logical tensors.
 *
 * A writer is planned up front from the list of entries it will hold, so its
 * exact size is known before any data is written (dry runs report it), then
 * fed each entry's bytes in any order, then finished. It writes to a temporary
 * name and renames on finish; abort leaves nothing behind.
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
} tq_entry;

typedef struct tq_container {
    tq_map    map;
    tq_entry *entries;    /* in file order                                      */
    int64_t   n;
    char    **meta_keys;  /* string metadata (safetensors __metadata__, npz     */
    char    **meta_vals;  /*   __trueq__.json member)                           */
    int       n_meta;
    uint64_t  header_bytes;   /* format overhead: headers, directories          */
    uint64_t  padding_bytes;  /* padding inside the header or between entries   */
} tq_container;

/** Parse a safetensors image (data, size) strictly; `path` names it in errors.
 *  Entries point into `data`; the container does not own it. */
tq_status tq_safetensors_parse(const uint8_t *data, uint64_t size, const char *path,
                               tq_container *c, tq_error *err);
/** Parse a .npz image strictly (see src/io/npz.c). */
tq_status tq_npz_parse(const uint8_t *data, uint64_t size, const char *path,
                       tq_container *c, tq_error *err);
/** Map and parse a file; the format is chosen by content. */
tq_status tq_container_open(tq_container *c, const char *path, tq_error *err);
void      tq_container_free(tq_container *c);
/** Metadata value for key, or NULL. */
const char *tq_container_meta(const tq_container *c, const char *key);
/** Add a metadata pair (copies both). */
tq_status tq_container_add_meta(tq_container *c, const char *k, const char *v, tq_error *err);

/* ---- writers ------------------------------------------------------------ */

typedef enum tq_format { TQ_FORMAT_SAFETENSORS = 1, TQ_FORMAT_NPZ = 2 } tq_format;

/** What the writer will store: one per entry. name/shape are copied. */
typedef struct tq_wentry {
    const char *name;
    tq_dtype    dtype;
    int         ndim;
    int64_t     shape[TQ_MAX_DIMS];
} tq_wentry;

typedef struct tq_writer tq_writer;

struct tq_writer_vt {
    tq_status (*put)(tq_writer *w, int64_t i, const void *data, uint64_t len, tq_error *err);
    /* optional: copy an entry's bytes from a file (in the kernel); NULL = use put */
    tq_status (*put_fd)(tq_writer *w, int64_t i, int fd, uint64_t off, const void *data, uint64_t len, tq_error *err);
    tq_status (*finish)(tq_writer *w, tq_error *err);
    void      (*destroy)(tq_writer *w);
};

struct tq_writer {
    const struct tq_writer_vt *vt;
    tq_format   format;
    tq_outfile  out;
    int         opened;       /* out is open (not a dry plan)                  */
    int64_t     n;
    tq_wentry  *e;            /* owned copies                                  */
    uint64_t   *data_off;     /* absolute offset of each entry's data          */
    uint64_t   *nbytes;       /* data bytes of each entry                      */
    uint8_t    *written;      /* 1 once put                                    */
    uint64_t    total_size;   /* exact final file size                         */
    uint64_t    header_bytes; /* overhead bytes (headers, directory)           */
    uint64_t    padding_bytes;
    void       *impl;         /* format-specific state                         */
};

/**
 * Plan a file of the given entries and metadata. With path == NULL nothing is
 * opened: the writer only computes sizes (for --dry-run).
 */
tq_writer *tq_writer_create(tq_format f, const char *path, const tq_wentry *entries, int64_t n,
                            const char *const *meta_keys, const char *const *meta_vals, int n_meta,
                            tq_error *err);
/** Write entry i's data (len must equal its planned size). */
tq_status  tq_writer_put(tq_writer *w, int64_t i, const void *data, uint64_t len, tq_error *err);
/** Like tq_writer_put, with the bytes also available at (fd, off): formats that
 *  only copy them do so in the kernel. */
tq_status  tq_writer_put_from(tq_writer *w, int64_t i, int fd, uint64_t off, const void *data, uint64_t len, tq_error *err);
/** Write what remains (headers/directory), close and rename into place. */
tq_status  tq_writer_finish(tq_writer *w, tq_error *err);
/** Release; if not finished, the temporary file is removed. */
void       tq_writer_free(tq_writer *w);

/* format back-ends, called by tq_writer_create */
tq_status tq_safetensors_writer_init(tq_writer *w, const char *const *mk, const char *const *mv, int nm, tq_error *err);
tq_status tq_npz_writer_init(tq_writer *w, const char *const *mk, const char *const *mv, int nm, tq_error *err);

#endif
