/* gguf_writer_backend.h — the GGUF row's planned-writer back-end (format.c). */
#ifndef TQ_GGUF_WRITER_BACKEND_H
#define TQ_GGUF_WRITER_BACKEND_H
#include "io/writer.h"

/**
 * A tq_writer back-end writing a GGUF v3 file of plain entries: each entry's
 * dtype maps to the ggml type of the same bytes (F32, F16, BF16, F64, I8,
 * I16, I32, I64; others TQ_E_UNSUPPORTED, GGUF has no unsigned tensor types),
 * its shape reversed into ne (a 0-D entry is ne = {1}); the metadata pairs
 * become STRING KVs after general.architecture = "trueq" (unless given).
 * Entries are held in memory until finish, which writes the whole image.
 * Quantized ggml types are written by convert's GGUF path
 * (src/convert/gguf_export.c), which knows their block layouts.
 */
tq_status tq_gguf_writer_init(tq_writer *w, const char *const *mk, const char *const *mv, int nm, tq_error *err);
#endif
