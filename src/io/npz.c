/* npz.c — placeholder until the .npz reader/writer lands (same work session). */
#include "io/container.h"
tq_status tq_npz_parse(const uint8_t *data, uint64_t size, const char *path, tq_container *c, tq_error *err) {
    TQ_UNUSED(data); TQ_UNUSED(size); TQ_UNUSED(c);
    return tq_err(err, TQ_E_UNSUPPORTED, "%s: .npz reading is not built yet", path);
}
tq_status tq_npz_writer_init(tq_writer *w, const char *const *mk, const char *const *mv, int nm, tq_error *err) {
    TQ_UNUSED(w); TQ_UNUSED(mk); TQ_UNUSED(mv); TQ_UNUSED(nm);
    return tq_err(err, TQ_E_UNSUPPORTED, ".npz writing is not built yet");
}
