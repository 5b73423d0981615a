/* gguf_container.h — GGUF as a container (src/io/gguf_container.c): the GGUF
 * row's sniff and parse for the format table (format.c). */
#ifndef TQ_GGUF_CONTAINER_H
#define TQ_GGUF_CONTAINER_H
#include "io/container.h"

/** "GGUF" at offset 0: TQ_SNIFF_SIGNATURE, else TQ_SNIFF_NO. */
int tq_gguf_sniff(const uint8_t *d, uint64_t n);
/** Parse a GGUF image into c (entries, metadata, byte counts; the tq_gguf in
 *  c->priv). m: the mapped file whose header bytes are pinned before they are
 *  read (tq_gguf_parse_map), or NULL for an image in memory. Errors are the
 *  strict parser's (io/gguf.h). */
tq_status tq_gguf_container_parse(const uint8_t *data, uint64_t size, const tq_map *m, const char *path,
                                  tq_container *c, tq_error *err);
#endif
