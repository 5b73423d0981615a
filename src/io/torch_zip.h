/* torch_zip.h — PyTorch's torch.save zip checkpoint (pytorch_model.bin):
 * reader over the zip layer (zip.c) and the safe unpickler (pickle.c).
 * docs/formats/pytorch.md. Internal. */
#ifndef TQ_TORCH_ZIP_H
#define TQ_TORCH_ZIP_H

#include "io/container.h"

/** Parse a torch.save zip image strictly: entries point into `data` (the
 *  storages are stored members). `path` names it in errors. */
tq_status tq_torch_zip_parse(const uint8_t *data, uint64_t size, const char *path, tq_container *c, tq_error *err);
/** The same on a mapped file (mp NULL: data is memory): the zip records,
 *  data.pkl and byteorder are pinned before they are read (tq_map_pin). */
tq_status tq_torch_zip_parse_map(const uint8_t *data, uint64_t size, const tq_map *mp, const char *path,
                                 tq_container *c, tq_error *err);

#endif
