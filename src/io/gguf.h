/*
 * gguf.h — a strict reader and a planned writer for GGUF (ggml / llama.cpp)
 * files, versions 2 and 3, little-endian (FORMATS.md §2, docs/formats/gguf.md).
 *
 * Layout: "GGUF" | u32 version | u64 n_tensors | u64 n_kv | kv[n_kv] |
 * tensor_info[n_tensors] | zero pad to ALIGNMENT | tensor data, each tensor
 * at data_start + offset and padded with zeros to ALIGNMENT. ALIGNMENT is
 * general.alignment (u32, a power of two) or 32.
 *
 * The reader works on an image in memory and never copies tensor data:
 * strings and array elements are (pointer, length) views into the image, so
 * the image must outlive the tq_gguf. Keys and tensor names additionally get
 * NUL-terminated copies. Dimensions are kept in GGUF (ggml) order: ne[0] is
 * the innermost, fastest-varying dimension, i.e. the reverse of the numpy /
 * PyTorch shape (a Linear weight [out, in] has ne = {in, out}).
 *
 * Errors name the file, the byte offset and the key or tensor:
 *   TQ_E_FORMAT       the bytes violate GGUF (bad magic, truncation, bad
 *                     value type, duplicate key/tensor, bad alignment,
 *                     misplaced/overlapping/out-of-file data, ...)
 *   TQ_E_UNSUPPORTED  valid elsewhere but not here: version 1 or > 3, a
 *                     ggml type id trueq does not know ("unsupported ggml
 *                     type N for tensor T"), nested arrays (ggml rejects them)
 *   TQ_E_LIMIT        a count or size beyond the documented limits (string
 *                     > 1 GiB, array > 2^30 elements, tensor name >= 64
 *                     bytes, element/byte counts overflowing 64 bits)
 *   TQ_E_NOMEM        allocation failed.
 */
#ifndef TQ_GGUF_H
#define TQ_GGUF_H

#include "core/internal.h"

/** GGUF metadata value types (gguf_type; u32 on disk). */
typedef enum tq_gguf_vtype {
    TQ_GGUF_UINT8 = 0, TQ_GGUF_INT8 = 1, TQ_GGUF_UINT16 = 2, TQ_GGUF_INT16 = 3,
    TQ_GGUF_UINT32 = 4, TQ_GGUF_INT32 = 5, TQ_GGUF_FLOAT32 = 6, TQ_GGUF_BOOL = 7,
    TQ_GGUF_STRING = 8, TQ_GGUF_ARRAY = 9, TQ_GGUF_UINT64 = 10, TQ_GGUF_INT64 = 11,
    TQ_GGUF_FLOAT64 = 12, TQ_GGUF_VTYPE_COUNT
} tq_gguf_vtype;

#define TQ_GGUF_DEFAULT_ALIGNMENT 32u
#define TQ_GGUF_MAX_DIMS 4
#define TQ_GGUF_MAX_NAME 63                 /* bytes; ggml's GGML_MAX_NAME - 1 */
#define TQ_GGUF_MAX_STRING (1ull << 30)     /* bytes */
#define TQ_GGUF_MAX_ARRAY (1ull << 30)      /* elements */

/** A string inside the image: `len` bytes at `s`, not NUL-terminated. */
typedef struct tq_gguf_str { const char *s; uint64_t len; } tq_gguf_str;

/** One metadata value. Scalars are decoded into the union (integers widened,
 *  FLOAT32 widened exactly to double); STRING is `str`; ARRAY has elem_type,
 *  count and either `elems` (fixed-size element types: count little-endian
 *  elements back to back in the image) or `strs` (STRING elements; an owned
 *  array of count views). */
typedef struct tq_gguf_value {
    tq_gguf_vtype type;
    union { uint64_t u; int64_t i; double f; } num;
    tq_gguf_str   str;
    tq_gguf_vtype elem_type;
    uint64_t      count;
    const uint8_t *elems;
    tq_gguf_str  *strs;
} tq_gguf_value;

typedef struct tq_gguf_kv {
    char         *key;      /* owned NUL-terminated copy */
    tq_gguf_value v;
    uint64_t      offset;   /* file offset of the key's length field */
    uint64_t      nbytes;   /* bytes of the whole entry */
} tq_gguf_kv;

typedef struct tq_gguf_tensor {
    char     name[TQ_GGUF_MAX_NAME + 1];
    int      ggml_type;     /* a valid row of the ggml type table */
    int      n_dims;        /* 1..4 */
    int64_t  ne[TQ_GGUF_MAX_DIMS];  /* ne[0] innermost; unused dims are 1 */
    int64_t  numel;
    uint64_t rel_offset;    /* as stored: relative to data_start */
    uint64_t offset;        /* absolute file offset of the first byte */
    uint64_t nbytes;        /* numel / block * type_size */
    uint64_t info_offset;   /* file offset of this tensor info */
    const uint8_t *data;    /* image + offset */
} tq_gguf_tensor;

/**
 * A parsed file. The byte ledger adds up to the file size exactly:
 *   header_bytes + kv_bytes + info_bytes + pad_info_bytes
 *   + tensor_bytes + pad_tensor_bytes + trailing_bytes == size
 * pad_info_bytes: the zeros between the infos and data_start (fewer when the
 * file ends first, possible only without tensors); pad_tensor_bytes: the
 * alignment padding after each tensor (the last one's may be cut short by the
 * end of the file); trailing_bytes: anything after the last padded tensor.
 */
typedef struct tq_gguf {
    const uint8_t  *data;
    uint64_t        size;
    uint32_t        version;       /* 2 or 3 */
    uint32_t        alignment;
    int64_t         n_kv;
    tq_gguf_kv     *kv;
    int64_t         n_tensors;
    tq_gguf_tensor *tensors;       /* in file order == data order */
    uint64_t        data_start;    /* absolute offset of the data section */
    uint64_t header_bytes, kv_bytes, info_bytes, pad_info_bytes;
    uint64_t tensor_bytes, pad_tensor_bytes, trailing_bytes;
} tq_gguf;

/** Parse a GGUF image. On error *g is left empty (tq_gguf_free is safe). */
tq_status tq_gguf_parse(const uint8_t *data, uint64_t size, const char *path, tq_gguf *g, tq_error *err);
/** The same on a mapped file (m NULL: data is memory): every byte the parser
 *  reads in place (header, KVs with their strings and arrays, tensor infos)
 *  is pinned first (tq_map_pin), so the views stay safe to read while the map
 *  lives and a file that shrinks after open is TQ_E_IO naming it and the
 *  offset, never SIGBUS. Tensor data is not pinned (read it with pread). */
tq_status tq_gguf_parse_map(const uint8_t *data, uint64_t size, const tq_map *m, const char *path, tq_gguf *g,
                            tq_error *err);
void      tq_gguf_free(tq_gguf *g);

/** Index of the KV / tensor with this key / name, or -1. */
int64_t tq_gguf_find_kv(const tq_gguf *g, const char *key);
int64_t tq_gguf_find_tensor(const tq_gguf *g, const char *name);

/** Name of a value type ("UINT32", ...), "?" when out of range. */
const char *tq_gguf_vtype_name(int64_t t);
/** Bytes of a fixed-size value type; 0 for STRING, ARRAY and unknown types. */
size_t tq_gguf_vtype_size(int64_t t);

/** Dequantize tensor i (numel floats) into out, reading its data in place
 *  (an image in memory; a mapped file's tensors are read with pread).
 *  TQ_E_UNSUPPORTED when its ggml type has no trueq decoder. */
tq_status tq_gguf_tensor_to_f32(const tq_gguf *g, int64_t i, float *out, tq_error *err);

/* ---- writer (gguf_write.c) ---------------------------------------------- */

/** One KV to write. Scalars from `num` (u for unsigned/bool, i for signed,
 *  f for floats); STRING from str/str_len; ARRAY of elem_type with count
 *  elements: fixed-size types from `elems` (count packed little-endian
 *  values), STRING elements from `strs` (count NUL-terminated strings). */
typedef struct tq_gguf_wkv {
    const char   *key;
    tq_gguf_vtype type;
    union { uint64_t u; int64_t i; double f; } num;
    const char   *str;
    uint64_t      str_len;
    tq_gguf_vtype elem_type;
    uint64_t      count;
    const void   *elems;
    const char *const *strs;
} tq_gguf_wkv;

/** One tensor to write: ne in GGUF order, data holds exactly the bytes of
 *  n_dims/ne/ggml_type (rows of blocks). */
typedef struct tq_gguf_wtensor {
    const char *name;
    int         ggml_type;
    int         n_dims;
    int64_t     ne[TQ_GGUF_MAX_DIMS];
    const void *data;
} tq_gguf_wtensor;

/** The layout a writer will produce, computed before any byte is written.
 *  offsets[i] (owned, n_tensors entries) relative to data_start. */
typedef struct tq_gguf_layout {
    uint32_t  alignment;
    uint64_t  kv_bytes, info_bytes, data_start, file_size;
    uint64_t *offsets;
    uint64_t *nbytes;
} tq_gguf_layout;

/**
 * Plan a file: validate the inputs (keys non-empty and unique, value types
 * known, no nested arrays, general.alignment a UINT32 power of two, tensor
 * names unique and <= 63 bytes, 1..4 positive dims, ne[0] a multiple of the
 * block size) and compute every offset. The alignment is general.alignment
 * when present, else 32. Writes nothing. TQ_E_ARG on a bad input.
 */
tq_status tq_gguf_plan(const tq_gguf_wkv *kv, int64_t n_kv, const tq_gguf_wtensor *t, int64_t n_t,
                       tq_gguf_layout *lay, tq_error *err);
void      tq_gguf_layout_free(tq_gguf_layout *lay);

/** Write a GGUF v3 file atomically (temporary name, renamed on success; no
 *  file is left on failure): KVs in the given order, then the tensor infos,
 *  zero padding to the alignment, every tensor followed by zero padding to
 *  the alignment (the last one too). */
tq_status tq_gguf_write(const char *path, const tq_gguf_wkv *kv, int64_t n_kv, const tq_gguf_wtensor *t,
                        int64_t n_t, tq_error *err);

/** Everything before the data section (lay->data_start bytes: header, KVs,
 *  tensor infos, zero padding) into a malloc'd *out, for writers that stream
 *  the tensors themselves at data_start + lay->offsets[i]. lay must be
 *  tq_gguf_plan's for the same kv and t (data pointers are not read). */
tq_status tq_gguf_write_header(const tq_gguf_wkv *kv, int64_t n_kv, const tq_gguf_wtensor *t, int64_t n_t,
                               const tq_gguf_layout *lay, uint8_t **out, tq_error *err);

/** The same bytes into a malloc'd buffer (*out, *size). */
tq_status tq_gguf_write_mem(const tq_gguf_wkv *kv, int64_t n_kv, const tq_gguf_wtensor *t, int64_t n_t,
                            uint8_t **out, uint64_t *size, tq_error *err);

#endif
