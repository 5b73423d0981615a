/*
 * format.h — the format trait table (internal; src/io/format.c).
 *
 * A format is one row of TQ_FORMAT_TABLE: its public description
 * (tq_format_info: name, how messages name it, file-name patterns, default
 * output name, shard index name, capabilities) and its functions:
 *
 *   sniff(data, size)   how sure the bytes are this format: TQ_SNIFF_NO,
 *                       TQ_SNIFF_SHAPE (the container shape fits, e.g. a zip,
 *                       or a safetensors header cut short) or
 *                       TQ_SNIFF_SIGNATURE (a distinguishing signature).
 *                       Must read only data[0, size), and of a mapped file
 *                       only what tq_container_open pins before sniffing
 *                       (tq_map_pin_lax: zeros where the file shrank): the
 *                       first TQ_SNIFF_HEAD bytes and, for a "PK" file, what
 *                       tq_zip_names reads (tq_zip_pin_dir); never fails.
 *   parse(data, size, m, ...)  strict parser into a tq_container (NULL:
 *                       recognised, not read by this build ->
 *                       TQ_E_UNSUPPORTED). m is the mapped file (NULL: data is
 *                       memory): every byte read in place is first pinned
 *                       with tq_map_pin, so a file that shrinks after open is
 *                       TQ_E_IO naming it and the offset, never SIGBUS.
 *   writer_init(...)    planned writer back-end (NULL: not written).
 *
 * caps must agree with the functions (CAN_READ iff parse, CAN_WRITE iff
 * writer_init); tests/test_format.c checks every row.
 */
#ifndef TQ_FORMAT_H
#define TQ_FORMAT_H

#include "io/container.h"

typedef struct tq_format_impl {
    tq_format_info info;
    int (*sniff)(const uint8_t *data, uint64_t size);
    tq_status (*parse)(const uint8_t *data, uint64_t size, const tq_map *m, const char *path, tq_container *c,
                       tq_error *err);
    tq_writer_init_fn writer_init;
} tq_format_impl;

#define TQ_SNIFF_HEAD (64u << 10)   /* bytes of a file's start the sniffs may read */

/** The row of id, or NULL. */
const tq_format_impl *tq_format_impl_get(tq_format id);
/**
 * The format of an image by content: the row with the strongest sniff; ties
 * go to the row one of whose patterns matches the base name of `path` (may be
 * NULL), then to table order. When no sniff recognises the bytes, a readable
 * row whose pattern matches the name is chosen, so its parser names the fault
 * ("header length ... exceeds the limit"). TQ_FORMAT_UNKNOWN otherwise.
 */
tq_format tq_format_sniff(const uint8_t *data, uint64_t size, const char *path);

#endif
