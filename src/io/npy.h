/* npy.h — the .npy layer of the .npz reader and writer (internal; src/io/npy.c). */
#ifndef TQ_NPY_H
#define TQ_NPY_H

#include "core/internal.h"

#define NPY_MAX_HEADER 65536u    /* longest .npy header text we accept        */
#define NPY_ALIGN      64u       /* numpy pads headers so data is 64-aligned  */

/** The numpy descr trueq writes for t; `*note` is set when t has no numpy
 *  dtype and is stored as the unsigned integer of its width. NULL if none. */
const char *tq_npy_descr_for(tq_dtype t, int *note);
/**
 * Parse one .npy member b[0, n) strictly. On success: dtype, ndim, shape and
 * the offset of the array data (*hdr); the data is exactly dtype x shape
 * bytes. `path` and `nm` (the member) name it in messages.
 */
tq_status tq_npy_parse(const uint8_t *b, uint64_t n, const char *path, const char *nm,
                       tq_dtype *dt, int *ndim, int64_t shape[TQ_MAX_DIMS], uint64_t *hdr, tq_error *err);
/** How many of a member's n bytes tq_npy_parse reads (preamble + header
 *  text), judged from its first min(n, 12) bytes: what a reader of a mapped
 *  file pins first. At most n and 12 + NPY_MAX_HEADER. */
uint64_t tq_npy_span(const uint8_t *b, uint64_t n);
/** numpy's v1 header (magic + length + dict text) for a C-order array, padded
 *  so that 10 + text length is a multiple of NPY_ALIGN. Caller frees; NULL on
 *  out of memory or a text over 65535 bytes. */
uint8_t *tq_npy_header(const char *descr, int ndim, const int64_t *shape, size_t *len);

#endif
