/*
 * trueq.h — the public API of libtrueq.
 *
 * libtrueq reads transformer checkpoints (safetensors, sharded Hugging Face
 * directories, numpy .npz, trueq's own quantized files), quantizes their
 * weights into *real* low-bit storage, and accounts for every byte it writes.
 *
 * Conventions (see docs/ARCHITECTURE.md):
 *   - Every name carries the prefix tq_ / TQ_.
 *   - Stateful objects are opaque handles created by tq_X_open/create and
 *     released by tq_X_close/free; the release functions accept NULL.
 *   - Fallible functions take a `tq_error *err` as their last argument (may be
 *     NULL) and return a tq_status (or NULL for constructors). On failure the
 *     error holds the status and a one-line message naming the file, tensor,
 *     value and limit at fault. The library never prints, exits or aborts on
 *     bad input.
 *   - Thread safety: distinct handles may be used from distinct threads; one
 *     handle must not be used from two threads at once unless a function says
 *     otherwise. Read-only queries on a tq_model are safe to share.
 *   - All byte counts are uint64_t, element counts int64_t.
 */
#ifndef TRUEQ_H
#define TRUEQ_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TQ_VERSION_MAJOR 0
#define TQ_VERSION_MINOR 1
#define TQ_VERSION_PATCH 0
#define TQ_VERSION_STRING "0.1.0"

/** @return the library version string, e.g. "0.1.0". */
const char *tq_version(void);
/** One line naming the matrix kernels products over stored codes run with
 *  (the CPU's best ISA or TRUEQ_ISA's: portable, avx2, avx512; "off" under
 *  TRUEQ_ISA=decode), e.g. "kernels: avx2 (detected; best here avx2)". */
const char *tq_kernels_info(void);
/** One line naming what serves the BLAS and LAPACK routines (sgemm where the
 *  encoder has no AVX-512 kernels or runs TRUEQ_ISA=decode, the spectra's
 *  Gram matrices and factorizations, GPTQ's Cholesky): OpenBLAS and
 *  LAPACKE, loaded at first use, with their files; or, where one could not
 *  be loaded, the portable stand-ins and why (e.g. "blas: portable reference
 *  loops, much slower (OpenBLAS not loaded: ...)"). Loads them. */
const char *tq_blas_info(void);
/** 1 when the routines were wanted in this process and OpenBLAS or LAPACKE
 *  could not be loaded (the stand-ins served), else 0. Loads nothing. */
int         tq_blas_fallback(void);
/** Threads for forward passes (tq_enc_forward, tq_llama_*): n >= 1 sets the
 *  count for the process (at most 64); n <= 0 clears it, and the count is
 *  then TRUEQ_THREADS (a decimal integer >= 1) or else OpenBLAS's thread
 *  count (OPENBLAS_NUM_THREADS). Outputs do not depend on the count. */
void        tq_set_threads(int n);
/** The thread count forward passes use now (see tq_set_threads), >= 1. */
int         tq_threads(void);

/* ===== Status and errors ============================================== */

/** Status codes. Values are stable; never renumber. */
typedef enum tq_status {
    TQ_OK            = 0,
    TQ_E_IO          = 1,  /* open/read/write/rename/mmap failed            */
    TQ_E_FORMAT      = 2,  /* the input file violates its format            */
    TQ_E_UNSUPPORTED = 3,  /* valid, but not something trueq handles       */
    TQ_E_NOMEM       = 4,  /* allocation failed                             */
    TQ_E_SHAPE       = 5,  /* shape does not fit the operation              */
    TQ_E_ARG         = 6,  /* caller passed an invalid argument/option      */
    TQ_E_VALUE       = 7,  /* bad numeric value (NaN/Inf in a weight, ...)  */
    TQ_E_NOTFOUND    = 8,  /* a named tensor/file/rule was not found        */
    TQ_E_LIMIT       = 9,  /* a size or count exceeds a documented limit    */
    TQ_E_INTERNAL    = 10, /* a bug in trueq: please report                 */
    TQ_STATUS_COUNT
} tq_status;

/** An error: the status and a message. Caller-owned, usually on the stack. */
typedef struct tq_error {
    tq_status status;
    char      msg[1024];
} tq_error;

/** @return a short constant name for a status ("format error", ...). */
const char *tq_status_str(tq_status s);

/**
 * The one progress callback type of the library: `done` of `total` items
 * (tensors) are finished, `name` is the one just finished. Called from the
 * calling thread unless the function taking it says otherwise.
 */
typedef void (*tq_progress_fn)(void *ud, int64_t done, int64_t total, const char *name);

/* ===== Element types ================================================== */

/** Storage dtypes, named as in safetensors. Values are stable. */
typedef enum tq_dtype {
    TQ_DTYPE_INVALID = 0,
    TQ_DTYPE_BOOL    = 1,
    TQ_DTYPE_U8      = 2,
    TQ_DTYPE_I8      = 3,
    TQ_DTYPE_I16     = 4,
    TQ_DTYPE_U16     = 5,
    TQ_DTYPE_F16     = 6,
    TQ_DTYPE_BF16    = 7,
    TQ_DTYPE_I32     = 8,
    TQ_DTYPE_U32     = 9,
    TQ_DTYPE_F32     = 10,
    TQ_DTYPE_F64     = 11,
    TQ_DTYPE_I64     = 12,
    TQ_DTYPE_U64     = 13,
    TQ_DTYPE_F8_E4M3 = 14,
    TQ_DTYPE_F8_E5M2 = 15,
    TQ_DTYPE_C64     = 16,
    TQ_DTYPE_F8_E8M0 = 17,
    TQ_DTYPE_F8_E4M3FNUZ = 18,
    TQ_DTYPE_F8_E5M2FNUZ = 19,
    TQ_DTYPE_F4      = 20,
    TQ_DTYPE_F6_E2M3 = 21,
    TQ_DTYPE_F6_E3M2 = 22,
    TQ_DTYPE_COUNT
} tq_dtype;

/** @return the safetensors name ("F32", "I8", ...) or "?" when invalid. */
const char *tq_dtype_name(tq_dtype t);
/** @return the dtype for a safetensors name, or TQ_DTYPE_INVALID. */
tq_dtype    tq_dtype_from_name(const char *name);
/** @return bits per element (4 for F4, 6 for F6_*, 8 for I8, ...), 0 if invalid. */
int         tq_dtype_bits(tq_dtype t);
/** @return 1 for F16, BF16, F32, F64 (the dtypes trueq quantizes), else 0. */
int         tq_dtype_is_float(tq_dtype t);

/* ===== Codecs ========================================================= */

/** Codec identifiers. Values are stable (they are written to metadata by name). */
typedef enum tq_codec_id {
    TQ_CODEC_NONE          = 0, /* not quantized                              */
    TQ_CODEC_LINEAR_SYM    = 1, /* q = round(w/s), s = max|w|/qmax            */
    TQ_CODEC_LINEAR_AFFINE = 2, /* q = round(w/s)+z, s = (max-min)/(2^b-1)    */
    TQ_CODEC_QINS_LOG      = 3, /* log-domain magnitude code + sign           */
    TQ_CODEC_QINS_LOG_2B   = 4, /* seeds' layout: u8 code + i8 sign           */
    TQ_CODEC_QINS_RATIONAL = 5, /* e = sign(w)/(1+alpha|w|), 8-bit            */
    TQ_CODEC_NF4           = 6, /* bitsandbytes normal-float 4-bit            */
    TQ_CODEC_GGML          = 7, /* a ggml block type (GGUF), tq_qparams.ggml_type */
    TQ_CODEC_MLX           = 8, /* MLX affine (mx.quantize): U32 codes, scales, biases */
    TQ_CODEC_GPTQ          = 9, /* GPTQ checkpoints (zeros stored - 1): decode only */
    TQ_CODEC_GPTQ_V2       = 10, /* GPTQ v2 checkpoints (zeros as stored): decode only */
    TQ_CODEC_MLX_F16       = 11, /* MLX affine, F16 scales and biases (mlx: F32)  */
    TQ_CODEC_MLX_BF16      = 12, /* MLX affine, BF16 scales and biases            */
    TQ_CODEC_AWQ           = 13, /* AWQ GEMM checkpoints (interleaved int32 packing): decode only */
    TQ_CODEC_CT_PACK       = 14, /* compressed-tensors pack-quantized, symmetric: decode only */
    TQ_CODEC_CT_PACK_ASYM  = 15, /* compressed-tensors pack-quantized with zero points: decode only */
    TQ_CODEC_CT_INT        = 16, /* compressed-tensors int-quantized (int8), symmetric: decode only */
    TQ_CODEC_CT_INT_ASYM   = 17, /* compressed-tensors int-quantized with zero points: decode only */
    TQ_CODEC_CT_FP8        = 18, /* compressed-tensors float-quantized (FP8 E4M3): decode only */
    TQ_CODEC_BNB_NF4       = 19, /* bitsandbytes 4-bit NF4 (float32 absmax): decode only */
    TQ_CODEC_BNB_FP4       = 20, /* bitsandbytes 4-bit FP4 (float32 absmax): decode only */
    TQ_CODEC_BNB_NF4_DQ    = 21, /* bitsandbytes NF4, double-quantized absmax: decode only */
    TQ_CODEC_BNB_FP4_DQ    = 22, /* bitsandbytes FP4, double-quantized absmax: decode only */
    TQ_CODEC_BNB_INT8      = 23, /* bitsandbytes LLM.int8 (int8 + SCB): decode only */
    TQ_CODEC_MLX_MXFP4     = 24, /* MLX mxfp4 (E2M1 codes, E8M0 scales per 32): decode only */
    TQ_CODEC_MLX_MXFP8     = 25, /* MLX mxfp8 (E4M3 codes, E8M0 scales per 32): decode only */
    TQ_CODEC_COUNT
} tq_codec_id;

/** Granularity of the scales. */
typedef enum tq_granularity {
    TQ_GRAN_TENSOR  = 0, /* one scale for the whole tensor                 */
    TQ_GRAN_CHANNEL = 1, /* one scale per output channel (row)             */
    TQ_GRAN_GROUP   = 2, /* one scale per group of G inputs along each row */
} tq_granularity;

#define TQ_GRAN_COUNT 3

/** @return "tensor", "channel" or "group"; "?" when g is not a granularity. */
const char *tq_gran_name(tq_granularity g);
/** @return the granularity named exactly "tensor", "channel" or "group" (the
 *  names files store), or -1 for any other name (NULL included). */
int         tq_gran_from_name(const char *name);

/** Everything that decides how one tensor is quantized. */
typedef struct tq_qparams {
    tq_codec_id    codec;
    int            bits;        /* 8, 4 or 2 (codec-dependent)               */
    tq_granularity gran;
    int64_t        group;       /* group size for TQ_GRAN_GROUP, else 0      */
    int            pad;         /* 1: allow a last, shorter group per row    */
    float          alpha;       /* QINS rational: alpha; 0 = calibrate.
                                   Decode-only foreign codecs: a layout fact
                                   of the checkpoint (compressed-tensors: the
                                   scales' tq_dtype, F16 6 / BF16 7 / F32 10;
                                   bitsandbytes double quant: nested_offset) */
    int            ggml_type;   /* codec ggml: the ggml type id (ggml's enum
                                   ggml_type: 8 = Q8_0, 12 = Q4_K, ...; names in
                                   docs/formats/gguf.md); 0 = unset (F32 is a
                                   plain dtype, never this codec). With it, bits
                                   is the type's code width (Q4_K 4, Q6_K 6),
                                   gran is group and group its block size.
                                   Other codecs: 0.                          */
    int            method;      /* tq_qmethod: how codes and scales are chosen
                                   (0 = round to nearest, the documented
                                   formula; others only where the codec's row
                                   has quantize_search). Same stored format.  */
} tq_qparams;

/** How a codec chooses its scales (tq_qparams.method). */
typedef enum tq_qmethod {
    TQ_QMETHOD_RTN    = 0, /* the codec's formula (max|w|, min/max)           */
    TQ_QMETHOD_SEARCH = 1, /* per block, the scale (and zero) on a grid that
                              minimises the block's weighted squared error    */
    TQ_QMETHOD_HQQ    = 2, /* per block, half-quadratic solve of zero/scale   */
    TQ_QMETHOD_COUNT
} tq_qmethod;

/** "rtn", "search", "hqq"; "?" out of range. */
const char *tq_qmethod_name(int m);

/** One side tensor of a quantized tensor (scales, zero points, signs...). */
typedef struct tq_aux_desc {
    const char *suffix;         /* "__scale__", "__zero__", ...              */
    tq_dtype    dtype;
    int         ndim;           /* 0, 1 or 2                                 */
    int64_t     shape[2];
    int         per_row;        /* 1: shape[0] is the rows, row r's values
                                   start at r/rows of the bytes (a row range
                                   is a slice); 0: shared by every row       */
} tq_aux_desc;

#define TQ_MAX_AUX 3

/** Static description of a codec, one row of the codec trait table. */
typedef struct tq_codec_info {
    tq_codec_id id;
    const char *name;           /* "linear-sym", ...                         */
    const char *summary;        /* one line                                  */
    unsigned    bits_mask;      /* bit b set = b bits supported              */
    unsigned    gran_mask;      /* bit g set = tq_granularity g supported    */
    const char *layout;         /* how codes and side tensors are stored     */
    int         default_bits;   /* natural settings where a user gives none: */
    tq_granularity default_gran; /* bits (the widest supported), granularity */
    int64_t     default_group;  /* and group size (0 unless group gran.)     */
    int         uses_alpha;     /* 1: tq_qparams.alpha is one of its params  */
    int         default_ggml_type; /* codec ggml: the type of its defaults (Q8_0);
                                   other codecs 0                            */
    int         decode_only;    /* 1: a foreign layout trueq reads (io/qlayout)
                                   but never writes: tq_quantize refuses it,
                                   self-tests and codec studies skip it      */
} tq_codec_info;

/* Adding a codec: one file src/codec/<name>.c defining its trait row, one
 * registration line in src/codec/table.c, and its stable id above. */

/** @return the number of codecs in the table (TQ_CODEC_COUNT - 1). */
int                  tq_codec_count(void);
/** @return row i (0-based) of the table, or NULL when out of range. */
const tq_codec_info *tq_codec_at(int i);
/** @return the row for an id, or NULL. */
const tq_codec_info *tq_codec_by_id(tq_codec_id id);
/** @return the row for a name ("linear-sym", "sym", "affine", ...), or NULL. */
const tq_codec_info *tq_codec_by_name(const char *name);

/**
 * Validate qparams for a tensor of logical shape [rows, cols].
 * @return TQ_OK, or TQ_E_ARG / TQ_E_SHAPE with a message naming `tname`.
 */
tq_status tq_qparams_check(const tq_qparams *p, const char *tname,
                           int64_t rows, int64_t cols, tq_error *err);

/**
 * Storage that quantizing [rows, cols] with p produces.
 * @param codes_dtype  out: I8 or U8
 * @param codes_shape  out: [rows, bytes-or-elements per row]
 * @param aux          out: up to TQ_MAX_AUX side tensors
 * @return the number of side tensors, or -1 when p is invalid.
 */
int tq_qparams_layout(const tq_qparams *p, int64_t rows, int64_t cols,
                      tq_dtype *codes_dtype, int64_t codes_shape[2],
                      tq_aux_desc aux[TQ_MAX_AUX]);

/** Bytes of a dtype x shape (sub-byte dtypes rounded up to whole bytes). */
uint64_t tq_nbytes(tq_dtype t, int ndim, const int64_t *shape);

/**
 * Quantize a row-major float32 matrix w[rows*cols].
 * @param codes  caller buffer of the codes tensor's size (tq_qparams_layout)
 * @param aux    caller buffers, one per side tensor, of their sizes
 * @return TQ_OK; TQ_E_VALUE if w holds NaN/Inf (message gives the flat
 *         index; `tname` names the tensor), unless allow_nonfinite.
 * Deterministic: the same input gives the same bytes, whatever the thread count.
 */
tq_status tq_quantize(const tq_qparams *p, const char *tname,
                      const float *w, int64_t rows, int64_t cols,
                      void *codes, void *const aux[TQ_MAX_AUX],
                      int allow_nonfinite, tq_error *err);

/** Inverse of tq_quantize into out[rows*cols]. */
tq_status tq_dequantize(const tq_qparams *p, int64_t rows, int64_t cols,
                        const void *codes, const void *const aux[TQ_MAX_AUX],
                        float *out, tq_error *err);

/**
 * Decode rows [r0, r1) of a quantized [rows, cols] matrix into out[(r1-r0)*cols],
 * bit-identical to the same rows of tq_dequantize: lets a caller keep a tensor
 * in its stored form and decode it tile by tile. `codes` and `aux` are the
 * whole tensor's buffers, as for tq_dequantize.
 * @return TQ_OK; TQ_E_ARG when the range is not within [0, rows].
 */
tq_status tq_dequantize_rows(const tq_qparams *p, int64_t rows, int64_t cols, int64_t r0, int64_t r1,
                             const void *codes, const void *const aux[TQ_MAX_AUX], float *out, tq_error *err);

/**
 * The qparams of the codec "ggml" for a ggml block type id (Q8_0 = 8,
 * Q4_K = 12, ...; docs/formats/gguf.md): ggml_type, bits = the type's code
 * width, group granularity with group = its block size.
 * @return TQ_OK; TQ_E_ARG when id is not a ggml block type (F32, F16, BF16
 *         and the integer types are plain dtypes, not this codec).
 */
tq_status tq_qparams_ggml(int ggml_type, tq_qparams *q, tq_error *err);

/** @return ggml's name of a ggml type id ("Q4_K", "F16"), or NULL when the id
 *  is unknown or removed. */
const char *tq_ggml_type_name(int ggml_type);

/** @return "linear-sym/8/group:64"-style text for p in buf ("ggml/Q4_K"
 *  for the codec ggml). */
const char *tq_qparams_str(const tq_qparams *p, char *buf, size_t cap);

/* ===== Models: reading ================================================ */

typedef struct tq_model tq_model;

/**
 * Weight-file formats: one enum for reading, writing and naming, one row each
 * in the format table (src/io/format.c). Values are stable (never renumber);
 * files and metadata name formats by `name`, never by number. Some rows are
 * recognised (so a file is named for what it is) but not read by this build.
 */
typedef enum tq_format {
    TQ_FORMAT_UNKNOWN     = 0, /* no row recognises the bytes                */
    TQ_FORMAT_SAFETENSORS = 1, /* .safetensors (HF, MLX or trueq layout)      */
    TQ_FORMAT_NPZ         = 2, /* numpy .npz (the seeds' V2 layout)           */
    TQ_FORMAT_GGUF        = 3, /* GGUF (llama.cpp): recognised                */
    TQ_FORMAT_PYTORCH_ZIP = 4, /* torch.save zip (pytorch_model.bin): read     */
    TQ_FORMAT_PICKLE      = 5, /* a bare pickle: recognised                  */
    TQ_FORMAT_ONNX        = 6, /* ONNX ModelProto: recognised                 */
    TQ_FORMAT_HDF5        = 7, /* HDF5 (Keras .h5 weights): recognised        */
    TQ_FORMAT_TFLITE      = 8, /* TensorFlow Lite flatbuffer: recognised      */
    TQ_FORMAT_GGML        = 9, /* pre-GGUF llama.cpp ggml/ggmf/ggjt: recognised */
    TQ_FORMAT_TORCH_LEGACY = 10, /* torch.save before 1.6 (pickles + raw storages): recognised */
    TQ_FORMAT_MLX         = 11, /* written only: an MLX model directory (mlx_lm); read as safetensors */
    TQ_FORMAT_COUNT
} tq_format;

/* Capabilities of a format row (tq_format_info.caps). */
#define TQ_FORMAT_CAN_READ   1u  /* tq_model_open reads it                    */
#define TQ_FORMAT_CAN_WRITE  2u  /* convert can write it (--format NAME)     */
#define TQ_FORMAT_COMPRESSED 4u  /* entries may be stored compressed, so their
                                    stored bytes can differ from their data   */

/** Static description of a format: one row of the format table. */
typedef struct tq_format_info {
    tq_format   id;
    const char *name;          /* "safetensors", "npz", "gguf": CLI and metadata */
    const char *what;          /* how messages name such a file ("GGUF file")  */
    const char *patterns[4];   /* file-name globs ("*.safetensors"), NULL-ended;
                                  tie-breakers and directory discovery only    */
    const char *default_file;  /* the name convert writes / a directory is
                                  searched for ("model.safetensors"), or NULL  */
    const char *shard_index;   /* the sharded checkpoint index name, or NULL   */
    unsigned    caps;          /* TQ_FORMAT_CAN_READ | ...                     */
} tq_format_info;

/** @return the number of rows (TQ_FORMAT_COUNT - 1). */
int                   tq_format_count(void);
/** @return row i (0-based), or NULL when out of range. */
const tq_format_info *tq_format_at(int i);
/** @return the row for an id, or NULL (also for TQ_FORMAT_UNKNOWN). */
const tq_format_info *tq_format_by_id(tq_format id);
/** @return the row called name (exactly, e.g. "npz"), or NULL. */
const tq_format_info *tq_format_by_name(const char *name);
/** @return the first row one of whose patterns matches the base name of
 *  path, or NULL. Says nothing of the content: use it for listings only. */
const tq_format_info *tq_format_by_file_name(const char *path);
/**
 * The names of the rows having every capability in caps, in table order,
 * joined as "a, b or c" (for usage messages), into buf.
 * @return buf.
 */
const char *tq_format_names(unsigned caps, char *buf, size_t cap);

#define TQ_MAX_DIMS 8

/**
 * One logical tensor of a model: for a trueq-quantized tensor, the codes and
 * their side tensors are grouped under the original name.
 * Pointers are borrowed from the model and valid until tq_model_close.
 */
typedef struct tq_tensor {
    const char *name;
    tq_dtype    dtype;          /* stored dtype (of the codes if quantized)  */
    int         ndim;
    int64_t     shape[TQ_MAX_DIMS]; /* logical (original) shape             */
    int64_t     numel;
    uint64_t    nbytes;         /* stored bytes of the payload              */
    uint64_t    aux_bytes;      /* stored bytes of side tensors (scales...) */
    const void *data;           /* payload, borrowed (mmap); see tq_model_tensor_data */
    int         file_index;     /* which file of the model holds it         */

    /* Quantization, when the file says this tensor is quantized. */
    int         quantized;      /* 1 if codes + side tensors                */
    int         simulated;      /* 1 if values were quantized then stored as floats */
    tq_qparams  q;
    tq_dtype    orig_dtype;     /* dtype before quantization                */
    int         n_aux;
    const void *aux[TQ_MAX_AUX];
    tq_aux_desc aux_desc[TQ_MAX_AUX];
    const char *rule;           /* the policy rule that decided it, or NULL */
} tq_tensor;

/**
 * Open a model: a .safetensors file, a model.safetensors.index.json, a .npz
 * file, a .gguf file, a torch.save pytorch_model.bin (or its .index.json; read
 * without running its pickle, docs/formats/pytorch.md), or a directory
 * holding one of those (model.safetensors preferred).
 * Files are mapped read-only. Validation is strict (docs/formats/).
 * @return a handle, or NULL with err set.
 */
tq_model *tq_model_open(const char *path, tq_error *err);
void      tq_model_close(tq_model *m);

/** The format of the model's weight files (of its shards, when sharded). */
tq_format tq_model_format(const tq_model *m);
/** 1 when the model was opened through a sharded checkpoint index
 *  (model.safetensors.index.json), else 0. */
int       tq_model_sharded(const tq_model *m);
/** Number of logical tensors. */
int64_t   tq_model_count(const tq_model *m);
/** The i-th logical tensor, in file order; NULL if out of range. */
const tq_tensor *tq_model_tensor(const tq_model *m, int64_t i);
/** Find a tensor by name; NULL when absent. O(log n). */
const tq_tensor *tq_model_find(const tq_model *m, const char *name);
/** The directory holding the model's files (for config.json, tokenizer...). */
const char *tq_model_dir(const tq_model *m);
/** The main file path (the index for sharded models). */
const char *tq_model_path(const tq_model *m);
/** A string value of the file's metadata (safetensors __metadata__), or NULL. */
const char *tq_model_meta(const tq_model *m, const char *key);

/**
 * Decode tensor t into out[t->numel] as float32: float dtypes are converted,
 * quantized tensors are dequantized from their codes, integer dtypes are
 * converted by value. Thread-safe for distinct outputs.
 * @return TQ_OK, or TQ_E_UNSUPPORTED for dtypes with no float meaning.
 */
tq_status tq_model_tensor_f32(const tq_model *m, const tq_tensor *t,
                              float *out, tq_error *err);

/**
 * Bytes held by a model in memory or on disk, by what holds them.
 * Computed from the buffers themselves, never from a nominal size.
 */
typedef struct tq_memory_report {
    uint64_t by_dtype[TQ_DTYPE_COUNT]; /* payload + side bytes per stored dtype */
    uint64_t payload_bytes;
    uint64_t aux_bytes;
    uint64_t total_bytes;
} tq_memory_report;
void tq_model_memory(const tq_model *m, tq_memory_report *r);


/* ===== Convert: policy, plan, execute ================================== */

/** Options of a conversion. Initialise with tq_convert_options_init. */
typedef struct tq_convert_options {
    tq_qparams          q;                   /* codec, bits, granularity, group */
    tq_format           format;              /* a row with TQ_FORMAT_CAN_WRITE:
                                                OUT/<its default_file>          */
    int                 quantize_embeddings; /* quantize embeddings (per row)   */
    int                 simulate;            /* store quantize->dequantize values
                                                in the original float dtype     */
    int                 allow_nonfinite;     /* NaN/Inf become 0 instead of an error */
    int                 threads;             /* 0 = number of cores             */
    const char *const  *include;             /* globs: also quantize these      */
    int                 n_include;
    const char *const  *exclude;             /* globs: keep these as they are   */
    int                 n_exclude;
    const char         *gguf_type;           /* GGUF output: --type (llama-quantize's
                                                file type name; NULL = Q8_0)    */
    const struct tq_convert_rule *rules;     /* per-tensor rules (recipes, the
                                                planner): first match wins, after
                                                --exclude; NULL = none          */
    int                 n_rules;
    /* Codes computed before the run (calibrated quantizers, src/quant/quant.h):
     * when set, called for every tensor to quantize before its codec; it sets
     * *done = 1 when it wrote codes and side tensors of q's layout, 0 to leave
     * the tensor to the codec. NULL = none. */
    tq_status         (*prequant)(void *ctx, const char *name, const tq_qparams *q, int64_t rows, int64_t cols,
                                  void *codes, void *const aux[TQ_MAX_AUX], int *done, tq_error *err);
    void               *prequant_ctx;
    /* Values computed before the run for a tensor kept as it is (a bias the
     * calibration corrected or folded a scale into): when set, called for
     * every kept tensor; it sets *data to nbytes bytes in the tensor's own
     * dtype to write instead of the input's (valid until the run ends), or
     * leaves it NULL to copy the input's. Uses prequant_ctx. NULL = none. */
    tq_status         (*prekeep)(void *ctx, const char *name, tq_dtype dtype, uint64_t nbytes, const void **data,
                                 tq_error *err);
} tq_convert_options;

/** One per-tensor rule (docs/recipes.md): tensors whose name matches `glob`
 *  (fnmatch) are kept (`keep`) or quantized with `q`. A rule that matches no
 *  tensor is an error naming `origin` ("recipe.json:12", "plan"). */
typedef struct tq_convert_rule {
    const char *glob;
    int         keep;
    tq_qparams  q;
    const char *origin;
} tq_convert_rule;

/** Defaults: linear-sym, 8 bits, per-channel, safetensors, seeds' policy. */
void tq_convert_options_init(tq_convert_options *o);

/** What the plan decided for one tensor. Pointers borrowed from the plan. */
typedef struct tq_plan_item {
    const tq_tensor *src;        /* the input tensor                           */
    int          quantize;       /* 1: quantized (or simulated), 0: kept       */
    const char  *rule;           /* the rule that decided it (text)            */
    tq_qparams   q;              /* when quantize                              */
    tq_dtype     out_dtype;      /* stored dtype of the payload                */
    uint64_t     in_bytes;       /* bytes in the input                         */
    uint64_t     out_bytes;      /* payload bytes in the output                */
    uint64_t     aux_bytes;      /* side tensor bytes (scales, zero points...) */
} tq_plan_item;

typedef struct tq_plan tq_plan;

/**
 * Decide every tensor and lay out the output exactly (no data is touched).
 * Errors: an include/exclude glob that matches nothing (TQ_E_NOTFOUND), a
 * group size that does not divide a quantized tensor's rows (TQ_E_SHAPE), an
 * output format without TQ_FORMAT_CAN_WRITE (TQ_E_UNSUPPORTED).
 */
tq_plan *tq_plan_create(const tq_model *m, const tq_convert_options *o, tq_error *err);
void     tq_plan_free(tq_plan *p);
int64_t  tq_plan_count(const tq_plan *p);
const tq_plan_item *tq_plan_item_at(const tq_plan *p, int64_t i);
/** Exact size of the weights file the plan will write (header included). */
uint64_t tq_plan_output_bytes(const tq_plan *p);
/** Bytes the output will store per dtype (payloads and side tensors), exactly
 *  as the writer lays them out: out[TQ_DTYPE_COUNT]. */
void     tq_plan_bytes_by_dtype(const tq_plan *p, uint64_t *out);
/** Name of the weights file inside OUT: the output format's default_file
 *  ("model.safetensors" / "weights.npz"). */
const char *tq_plan_output_name(const tq_plan *p);

/**
 * Write the plan into directory `outdir` (created if absent): the weights file,
 * conversion_metadata.json, and config/tokenizer files copied from the input
 * directory. Every file is written under a temporary name and renamed; on
 * failure nothing is left (a directory trueq created is removed). Refuses to
 * write into the input's own directory.
 */
tq_status tq_plan_execute(const tq_plan *p, const char *outdir, tq_progress_fn progress, void *ud,
                          tq_error *err);

/* ===== Planner: bits per tensor to a byte budget (docs/planner.md) ======= */

/** What the planner may choose per tensor, and the budget. */
typedef struct tq_planner_options {
    uint64_t          target_bytes;   /* the output file must not exceed this   */
    const tq_qparams *menu;           /* settings to choose from (each checked)  */
    int               n_menu;
    int               allow_keep;     /* 1: "keep as stored" is also a choice    */
    const double     *sensitivity;    /* per model tensor (tq_model_count), or
                                         NULL = 1 (weight error alone)          */
    /* The error of a choice measured by the caller instead of the weight error
     * (e.g. the output change of the forward pass with tensor t alone
     * quantized with q: src/quant/sensitivity.h); NULL = weight error x
     * sensitivity. *e >= 0; keep is 0. */
    tq_status       (*measure)(void *ctx, const tq_tensor *t, const tq_qparams *q, double *e, tq_error *err);
    void             *measure_ctx;
    double            quantized_bpw;  /* > 0 with target_bytes 0: the budget is
                                         the fixed bytes (header, kept tensors)
                                         plus floor(X x candidate weights / 8):
                                         bits per weight over the tensors it
                                         chooses for, scales included           */
} tq_planner_options;

/** One tensor's choice. */
typedef struct tq_planner_entry {
    const tq_tensor *src;
    int              choice;          /* menu index, -1 = kept                  */
    uint64_t         bytes;           /* payload + side tensors                 */
    double           weight_error;    /* sum of squared error of that choice    */
    double           proxy;           /* weight_error x sensitivity             */
} tq_planner_entry;

typedef struct tq_planner tq_planner;

/**
 * Choose, for every tensor the base options would quantize, one menu entry
 * (or keep) so that the exact output file size is at most target_bytes and
 * the summed error proxy is smallest (greedy by error per byte, then
 * exchanges; deterministic). The result's rules reproduce the choice in
 * tq_plan_create byte for byte.
 * Errors: TQ_E_LIMIT when even the cheapest choice is over the budget (the
 * message gives that size), TQ_E_ARG for an empty or invalid menu.
 */
tq_planner *tq_planner_create(const tq_model *m, const tq_convert_options *base, const tq_planner_options *po,
                              tq_error *err);
void        tq_planner_free(tq_planner *pl);
int64_t     tq_planner_count(const tq_planner *pl);
const tq_planner_entry *tq_planner_entry_at(const tq_planner *pl, int64_t i);
/** The options to give tq_plan_create: base with the planner's rules. */
const tq_convert_options *tq_planner_options_out(const tq_planner *pl);
/** Exact output bytes of the chosen plan. */
uint64_t    tq_planner_output_bytes(const tq_planner *pl);
/** The byte budget it solved for (target_bytes, or the one quantized_bpw gives). */
uint64_t    tq_planner_target_bytes(const tq_planner *pl);
/** 1 when the errors came from tq_planner_options.measure, 0 weight error. */
int         tq_planner_measured(const tq_planner *pl);

/* ===== Ledger: what a file holds, byte by byte ========================== */

/** One row of the ledger: a logical tensor. */
typedef struct tq_ledger_row {
    const tq_tensor *t;
    uint64_t payload_bytes;
    uint64_t aux_bytes;
    int      fake;               /* 1: quantized values stored as floats       */
    int64_t  distinct;           /* distinct values seen (capped at 257), -1 if not counted */
    char     note[200];          /* why it is flagged, or why it stayed wide    */
    double   bits_per_weight;    /* (payload + side bytes) * 8 / elements, 0 if
                                    empty: Q4_K 4.5, Q6_K 6.5625, F16 16        */
} tq_ledger_row;

/** Totals that reconcile with the files on disk to the byte. */
typedef struct tq_ledger_totals {
    uint64_t file_bytes;         /* sum of the files' sizes (stat)             */
    uint64_t header_bytes;       /* format headers / directories               */
    uint64_t padding_bytes;      /* padding inside headers / between data      */
    uint64_t payload_bytes;      /* tensor data (codes or values)              */
    uint64_t aux_bytes;          /* scales, zero points, signs                 */
    uint64_t other_bytes;        /* e.g. model.safetensors.index.json          */
    uint64_t stored_data_bytes;  /* bytes the tensor data occupies in the files:
                                    payload + aux, less any zip compression     */
    uint64_t by_dtype[TQ_DTYPE_COUNT];
    int64_t  n_tensors, n_quantized, n_simulated, n_fake;
    int64_t  numel, numel_quantized;
    uint64_t metadata_bytes;     /* of header_bytes: key-value metadata (GGUF KVs;
                                    0 where the format does not count it apart) */
} tq_ledger_totals;

typedef struct tq_ledger tq_ledger;
/** Build the ledger of a model; scans float tensors for fake quantization. */
tq_ledger *tq_ledger_create(const tq_model *m, tq_error *err);
void       tq_ledger_free(tq_ledger *l);
int64_t    tq_ledger_count(const tq_ledger *l);
const tq_ledger_row *tq_ledger_row_at(const tq_ledger *l, int64_t i);
const tq_ledger_totals *tq_ledger_totals_get(const tq_ledger *l);

/**
 * Fake-quantization test of n float values (dtype F32/F16/BF16/F64 at data):
 * @return 1 and a reason in note when the values look quantized (at most 256
 * distinct values, or all integer multiples of one scale), else 0.
 * Its cost is bounded whatever the data: it examines at most 32 evenly spaced
 * rows and the first 1024 values of each (the whole tensor when smaller);
 * *distinct counts distinct values of that sample, capped at 257.
 */
int tq_detect_fake_quant(tq_dtype t, const void *data, int64_t rows, int64_t cols,
                         int64_t *distinct, char *note, size_t note_cap);

/* ===== Built-in default model ============================================ */

/** Options of the synthetic DistilBERT-base-shaped checkpoint. */
typedef struct tq_synth_options {
    uint64_t seed;               /* default 1                                  */
    int      layers;             /* default 6                                  */
    int      dim;                /* default 768                                */
    int      hidden;             /* default 3072                               */
    int      heads;              /* default 12                                 */
    int      vocab;              /* default 30522                              */
    int      max_pos;            /* default 512                                */
} tq_synth_options;
void tq_synth_options_init(tq_synth_options *o);
/**
 * Write a deterministic DistilBertForSequenceClassification checkpoint
 * (Hugging Face names, MNLI 3-label head) into outdir: model.safetensors,
 * config.json, vocab.txt, tokenizer_config.json.
 */
tq_status tq_synth_distilbert(const char *outdir, const tq_synth_options *o, tq_error *err);

/** A synthetic checkpoint of one family and shape (`trueq synth --arch`). */
typedef struct tq_synth_model_options {
    const char    *arch;         /* distilbert (default), bert, roberta, llama, qwen2, phi3 */
    const char    *shape;        /* tiny, base (default), phi3.5-mini (phi3 only)           */
    tq_dtype       dtype;        /* F32 (default), F16 or BF16                               */
    uint64_t       seed;         /* default 1                                                */
    int            layers, dim, hidden, heads, vocab;   /* 0 = the shape's                  */
    uint64_t       max_shard_bytes;  /* data bytes per shard; default 5e9 (HF's "5GB")     */
    int            dry_run;      /* write nothing; only fill the summary                     */
    tq_progress_fn progress;     /* per tensor written, or NULL                              */
    void          *progress_ud;
} tq_synth_model_options;
/** What a synthetic checkpoint holds. */
typedef struct tq_synth_summary {
    int64_t  n_tensors, n_params;
    uint64_t data_bytes;         /* tensor bytes (index.json's metadata.total_size)          */
    uint64_t file_bytes;         /* bytes of the weight files, headers included              */
    int      n_shards;           /* 1: model.safetensors; more: model-0000K-of-0000N + index */
} tq_synth_summary;
void tq_synth_model_options_init(tq_synth_model_options *o);
/**
 * Write a deterministic checkpoint of o->arch in o->shape into outdir with
 * Hugging Face tensor names, config.json (and generation_config.json for the
 * decoders, tokenizer files for the encoders), streaming: one tensor in
 * memory at a time. The directory is committed whole (tq_outdir): a failed
 * run leaves outdir as it was. distilbert/base/F32 without overrides is
 * byte-identical to tq_synth_distilbert's default. sum may be NULL.
 * @return TQ_E_ARG for an unknown arch/shape/dtype or bad dimensions.
 */
tq_status tq_synth_model(const char *outdir, const tq_synth_model_options *o, tq_synth_summary *sum, tq_error *err);
/** The i-th family / shape name (NULL past the end), for listings. */
const char *tq_synth_arch_name(int i);
const char *tq_synth_shape_name(int i);

/* ===== Interrupted runs ================================================== */

/**
 * Remove every temporary or partial output of runs in progress (temporary
 * files, the staging directory of an output being written, with what it
 * holds). Async-signal-safe (open, getdents64, unlinkat, rmdir, close; no
 * allocation): a program calls it from its
 * SIGINT/SIGTERM/SIGHUP handler so an interrupted run leaves nothing. The
 * library installs no handler itself.
 */
void tq_cleanup_pending(void);

/* ===== Utility: half-precision conversion ============================== */

float    tq_f16_to_f32(uint16_t h);
uint16_t tq_f32_to_f16(float f);   /* round to nearest even */
float    tq_bf16_to_f32(uint16_t h);
uint16_t tq_f32_to_bf16(float f);  /* round to nearest even; NaN stays NaN */

#ifdef __cplusplus
}
#endif
#endif /* TRUEQ_H */
