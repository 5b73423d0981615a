/*
 * writer.h — the planned streaming writer (internal; src/io/writer.c).
 *
 * A writer is planned up front from the list of entries it will hold, so its
 * exact size is known before any data is written (dry runs report it), then
 * fed each entry's bytes in any order, then finished. It writes to a temporary
 * name and renames on finish; abort leaves nothing behind.
 *
 * The generic part (writer.c) checks the calls against the plan; a format's
 * back-end (the `writer_init` of its row in the format table) sets `vt`, the
 * planned offsets and sizes, and its own state. tq_writer_create, which picks
 * the back-end from the table, is defined in format.c.
 */
#ifndef TQ_WRITER_H
#define TQ_WRITER_H

#include "core/internal.h"

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
    /* optional: copy an entry's bytes from a file (in the kernel); NULL = use put. A back-end that
     * sets it stores an entry's bytes verbatim at data_off (tq_writer_put_from_part relies on it) */
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

/** A back-end: called once entries, nbytes and n are set; fills vt,
 *  data_off, total_size, header/padding bytes and impl. */
typedef tq_status (*tq_writer_init_fn)(tq_writer *w, const char *const *mk, const char *const *mv, int nm,
                                       tq_error *err);

/**
 * Plan a file of format f with the given entries and metadata. With path ==
 * NULL nothing is opened: the writer only computes sizes (for --dry-run).
 * @return the writer, or NULL with err set: TQ_E_UNSUPPORTED for a format
 *         the table cannot write, TQ_E_ARG / TQ_E_LIMIT for a bad plan.
 */
tq_writer *tq_writer_create(tq_format f, const char *path, const tq_wentry *entries, int64_t n,
                            const char *const *meta_keys, const char *const *meta_vals, int n_meta,
                            tq_error *err);
/** Write entry i's data (len must equal its planned size). */
tq_status  tq_writer_put(tq_writer *w, int64_t i, const void *data, uint64_t len, tq_error *err);
/** Like tq_writer_put, with the bytes also available at (fd, off): formats that
 *  only copy them do so in the kernel. */
tq_status  tq_writer_put_from(tq_writer *w, int64_t i, int fd, uint64_t off, const void *data, uint64_t len, tq_error *err);
/** Bytes [part, part+len) of entry i, copied from (fd, off + part) in the
 *  kernel (from data + part where it cannot), at data_off[i] + part: for
 *  back-ends with put_fd (TQ_E_UNSUPPORTED otherwise: use tq_writer_put_from).
 *  Parts are written in order; the entry counts as written with its last. */
tq_status  tq_writer_put_from_part(tq_writer *w, int64_t i, int fd, uint64_t off, const void *data, uint64_t part,
                                   uint64_t len, tq_error *err);
/** Write what remains (headers/directory), close and rename into place. */
tq_status  tq_writer_finish(tq_writer *w, tq_error *err);
/** tq_writer_finish's checks and the back-end's finish, without the commit:
 *  w->out stays open, complete, for the caller to commit (tq_outdir_commit_with);
 *  tq_writer_free aborts it if nobody did. */
tq_status  tq_writer_finish_open(tq_writer *w, tq_error *err);
/** Release; if not finished, the temporary file is removed. */
void       tq_writer_free(tq_writer *w);

#endif
