/* npz.h — the numpy .npz format: reader (npz_read.c) and writer back-end
 * (npz_write.c), on the zip (zip.c) and .npy (npy.c) layers. Internal. */
#ifndef TQ_NPZ_H
#define TQ_NPZ_H

#include "io/container.h"

#define NPZ_META_MEMBER "__trueq__.json"
#define NPZ_DTYPE_NOTE  "trueq.npz.dtype."

/** Parse a .npz image strictly; entries point into `data` (stored members)
 *  or own an inflated copy (deflated ones). `path` names it in errors. */
tq_status tq_npz_parse(const uint8_t *data, uint64_t size, const char *path, tq_container *c, tq_error *err);
/** The same on a mapped file (mp NULL: data is memory): the zip records, the
 *  .npy headers and the metadata member are pinned before they are read in
 *  place (tq_map_pin); deflated members and every stored member's CRC are
 *  read with pread, never through the map. */
tq_status tq_npz_parse_map(const uint8_t *data, uint64_t size, const tq_map *mp, const char *path, tq_container *c,
                           tq_error *err);
/** Content sniff: TQ_SNIFF_SIGNATURE for a zip whose members are all .npy
 *  arrays (or the metadata member), TQ_SNIFF_SHAPE for another zip-looking file. */
int       tq_npz_sniff(const uint8_t *data, uint64_t size);
/** Writer back-end (planned layout; see npz_write.c). */
tq_status tq_npz_writer_init(tq_writer *w, const char *const *mk, const char *const *mv, int nm, tq_error *err);

#endif
