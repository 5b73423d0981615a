/* safetensors.h — the safetensors format: strict reader, content sniff and
 * planned writer back-end (src/io/safetensors.c). Internal. */
#ifndef TQ_SAFETENSORS_H
#define TQ_SAFETENSORS_H

#include "io/container.h"

/** Parse a safetensors image (data, size) strictly; `path` names it in errors.
 *  Entries point into `data`; the container does not own it. */
tq_status tq_safetensors_parse(const uint8_t *data, uint64_t size, const char *path,
                               tq_container *c, tq_error *err);
/** The same on a mapped file: m (NULL: data is memory) pins the bytes read in
 *  place (the length and the JSON header) with tq_map_pin first, so a file
 *  that shrinks after open is TQ_E_IO naming it and the offset, never SIGBUS. */
tq_status tq_safetensors_parse_map(const uint8_t *data, uint64_t size, const tq_map *m, const char *path,
                                   tq_container *c, tq_error *err);
/** Content sniff: TQ_SNIFF_SIGNATURE when the u64 header length fits the
 *  file and the header opens with '{'; TQ_SNIFF_SHAPE when byte 8 starts a
 *  JSON object (or whitespace) under a length within the limit, even if the
 *  file is cut short (the parser then names the fault). */
int       tq_safetensors_sniff(const uint8_t *data, uint64_t size);
/** Writer back-end (planned layout; see safetensors.c). */
tq_status tq_safetensors_writer_init(tq_writer *w, const char *const *mk, const char *const *mv, int nm, tq_error *err);

#endif
