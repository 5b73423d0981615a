/*
 * format.c — the format trait table, detection by content, and opening a
 * file as a container.
 *
 * To add a format: write src/io/<name>.c (+ <name>.h) defining its sniff,
 * parse (into a tq_container) and, if it can be written, a writer back-end;
 * give it an id in tq_format (include/trueq.h) and add one row below.
 * Everything else (tq_model_open, directory discovery, convert --format,
 * inspect, the planned writer) reads the table.
 *
 * Detection is by content first: each row's sniff says how sure it is
 * (TQ_SNIFF_SIGNATURE > TQ_SNIFF_SHAPE > TQ_SNIFF_NO) and the strongest wins.
 * The file name only breaks ties, and, when no sniff recognises the bytes,
 * sends a file named like a readable format to that format's parser, which
 * then says precisely what is wrong (a truncated or damaged file).
 *
 * Dependencies: this file calls the parsers and back-ends; they use only
 * container.h/.c, writer.h/.c and the core, never this file (no circle).
 * tq_container_open (declared in container.h) and tq_writer_create (declared
 * in writer.h) are defined here because they are the two places that choose
 * a row.
 */
#include "io/format.h"
#include "io/gguf_container.h"
#include "io/gguf_writer_backend.h"
#include "io/npz.h"
#include "io/safetensors.h"
#include "io/torch_zip.h"
#include "io/zip.h"
#include <stdlib.h>
#include <string.h>

/* ===== sniffs of formats recognised but not read ========================== */

/* torch.save zip (FORMATS.md §6.1): a member <dir>/data.pkl. */
static bool pkl_visit(void *ud, const uint8_t *name, size_t len) {
    static const char want[] = "data.pkl";
    const size_t k = sizeof want - 1;
    bool hit = len >= k && memcmp(name + len - k, want, k) == 0 && (len == k || name[len - k - 1] == '/');
    if (hit) *(bool *)ud = true;
    return !hit;
}
static int pytorch_zip_sniff(const uint8_t *d, uint64_t n) {
    bool found = false;
    return tq_zip_names(d, n, pkl_visit, &found) >= 0 && found ? TQ_SNIFF_SIGNATURE : TQ_SNIFF_NO;
}

/* The legacy torch.save format (FORMATS.md §6.5): PROTO 2 then the pickled
 * magic number 0x1950a86a20f9469cfc6c (LONG1 of 10 bytes). */
static const uint8_t TORCH_LEGACY_MAGIC[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
static int torch_legacy_sniff(const uint8_t *d, uint64_t n) {
    return n >= sizeof TORCH_LEGACY_MAGIC && memcmp(d, TORCH_LEGACY_MAGIC, sizeof TORCH_LEGACY_MAGIC) == 0
               ? TQ_SNIFF_SIGNATURE : TQ_SNIFF_NO;
}

/* A pickle: PROTO opcode 0x80 then protocol 2..5; a FRAME opcode (protocol
 * 4+) makes it a signature, otherwise it is only a shape (the legacy torch
 * magic is the torch-legacy row's signature). */
static int pickle_sniff(const uint8_t *d, uint64_t n) {
    if (n < 3 || d[0] != 0x80 || d[1] < 2 || d[1] > 5) return TQ_SNIFF_NO;
    if (d[1] >= 4 && d[2] == 0x95) return TQ_SNIFF_SIGNATURE;
    return TQ_SNIFF_SHAPE;
}

/* ONNX (onnx.proto ModelProto): a protobuf message whose first field is
 * ir_version (field 1, varint: tag 0x08) with a small value, followed by
 * another ModelProto field tag. A printable producer_name (field 2) next
 * makes it a signature; otherwise it is only a shape. */
static int onnx_sniff(const uint8_t *d, uint64_t n) {
    static const uint8_t next[] = {0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72};
    if (n < 4 || d[0] != 0x08 || d[1] < 1 || d[1] > 15 || !memchr(next, d[2], sizeof next)) return TQ_SNIFF_NO;
    if (d[2] != 0x12 || d[3] == 0 || d[3] > 64 || 4u + d[3] > n) return TQ_SNIFF_SHAPE;
    for (unsigned i = 0; i < d[3]; i++)
        if (d[4 + i] < 0x20 || d[4 + i] > 0x7e) return TQ_SNIFF_SHAPE;
    return TQ_SNIFF_SIGNATURE;
}

/* HDF5: the 8-byte superblock signature at 0, or at 512, 1024, 2048 after a
 * user block. */
static int hdf5_sniff(const uint8_t *d, uint64_t n) {
    static const uint8_t sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    for (uint64_t at = 0; at <= 2048; at = at ? at * 2 : 512)
        if (n >= at + 8 && memcmp(d + at, sig, 8) == 0) return TQ_SNIFF_SIGNATURE;
    return TQ_SNIFF_NO;
}

/* TensorFlow Lite: a flatbuffer with the file identifier "TFL3" at 4. */
static int tflite_sniff(const uint8_t *d, uint64_t n) {
    return n >= 8 && memcmp(d + 4, "TFL3", 4) == 0 ? TQ_SNIFF_SIGNATURE : TQ_SNIFF_NO;
}

/* Legacy llama.cpp files before GGUF: a little-endian uint32 magic 'ggml',
 * 'ggmf', 'ggjt' or 'ggla' at 0 (bytes "lmgg", "fmgg", "tjgg", "algg"). */
static int ggml_sniff(const uint8_t *d, uint64_t n) {
    static const char *const magic[] = {"lmgg", "fmgg", "tjgg", "algg"};
    for (size_t i = 0; n >= 4 && i < sizeof magic / sizeof magic[0]; i++)
        if (memcmp(d, magic[i], 4) == 0) return TQ_SNIFF_SIGNATURE;
    return TQ_SNIFF_NO;
}

/* ===== the table ========================================================== */

#define RW (TQ_FORMAT_CAN_READ | TQ_FORMAT_CAN_WRITE)

static const tq_format_impl TQ_FORMAT_TABLE[TQ_FORMAT_COUNT] = {
    [TQ_FORMAT_SAFETENSORS] = {
        {TQ_FORMAT_SAFETENSORS, "safetensors", "safetensors file", {"*.safetensors", NULL},
         "model.safetensors", "model.safetensors.index.json", RW},
        tq_safetensors_sniff, tq_safetensors_parse_map, tq_safetensors_writer_init},
    [TQ_FORMAT_NPZ] = {
        {TQ_FORMAT_NPZ, "npz", "numpy .npz archive", {"*.npz", NULL}, "weights.npz", NULL, RW | TQ_FORMAT_COMPRESSED},
        tq_npz_sniff, tq_npz_parse_map, tq_npz_writer_init},
    [TQ_FORMAT_GGUF] = {
        {TQ_FORMAT_GGUF, "gguf", "GGUF file", {"*.gguf", NULL}, "model.gguf", NULL, RW},
        tq_gguf_sniff, tq_gguf_container_parse, tq_gguf_writer_init},
    [TQ_FORMAT_PYTORCH_ZIP] = {
        {TQ_FORMAT_PYTORCH_ZIP, "pytorch", "PyTorch zip checkpoint (pytorch_model.bin)",
         {"pytorch_model*.bin", "*.pt", "*.pth", NULL},   /* not *.bin: training_args.bin, tok512.bin ... */
         "pytorch_model.bin", "pytorch_model.bin.index.json", TQ_FORMAT_CAN_READ | TQ_FORMAT_COMPRESSED},
        pytorch_zip_sniff, tq_torch_zip_parse_map, NULL},   /* COMPRESSED: tied tensors share stored bytes */
    [TQ_FORMAT_PICKLE] = {
        {TQ_FORMAT_PICKLE, "pickle", "pickle file", {"*.pkl", "*.pickle", NULL}, NULL, NULL, 0},
        pickle_sniff, NULL, NULL},
    [TQ_FORMAT_ONNX] = {
        {TQ_FORMAT_ONNX, "onnx", "ONNX model", {"*.onnx", NULL}, NULL, NULL, 0},
        onnx_sniff, NULL, NULL},
    [TQ_FORMAT_HDF5] = {
        {TQ_FORMAT_HDF5, "hdf5", "HDF5 file (Keras/TensorFlow .h5 weights)", {"*.h5", "*.hdf5", NULL}, NULL, NULL, 0},
        hdf5_sniff, NULL, NULL},
    [TQ_FORMAT_TFLITE] = {
        {TQ_FORMAT_TFLITE, "tflite", "TensorFlow Lite model", {"*.tflite", NULL}, NULL, NULL, 0},
        tflite_sniff, NULL, NULL},
    [TQ_FORMAT_GGML] = {
        {TQ_FORMAT_GGML, "ggml", "legacy GGML file (llama.cpp before GGUF; convert it to GGUF)", {"*.ggml", NULL},
         NULL, NULL, 0},
        ggml_sniff, NULL, NULL},
    [TQ_FORMAT_TORCH_LEGACY] = {
        {TQ_FORMAT_TORCH_LEGACY, "torch-legacy",
         "legacy torch.save format (pre-1.6): re-save with torch.save(..., _use_new_zipfile_serialization=True)",
         {"pytorch_model*.bin", "*.pt", "*.pth", NULL}, NULL, NULL, 0},
        torch_legacy_sniff, NULL, NULL},
    [TQ_FORMAT_MLX] = {   /* safetensors laid out as mlx_lm writes it (convert/mlx_export.c); read by the safetensors row */
        {TQ_FORMAT_MLX, "mlx", "MLX model (safetensors for mlx_lm)", {NULL}, "model.safetensors", NULL, TQ_FORMAT_CAN_WRITE},
        NULL, NULL, tq_safetensors_writer_init},
};

/* ===== lookups ============================================================ */

const tq_format_impl *tq_format_impl_get(tq_format id) {
    return ((int)id > 0 && id < TQ_FORMAT_COUNT && TQ_FORMAT_TABLE[id].info.name) ? &TQ_FORMAT_TABLE[id] : NULL;
}

int tq_format_count(void) { return TQ_FORMAT_COUNT - 1; }

const tq_format_info *tq_format_at(int i) {
    const tq_format_impl *r = i >= 0 ? tq_format_impl_get((tq_format)(i + 1)) : NULL;
    return r ? &r->info : NULL;
}

const tq_format_info *tq_format_by_id(tq_format id) {
    const tq_format_impl *r = tq_format_impl_get(id);
    return r ? &r->info : NULL;
}

const tq_format_info *tq_format_by_name(const char *name) {
    for (int k = 1; name && k < TQ_FORMAT_COUNT; k++)
        if (TQ_FORMAT_TABLE[k].info.name && strcmp(TQ_FORMAT_TABLE[k].info.name, name) == 0)
            return &TQ_FORMAT_TABLE[k].info;
    return NULL;
}

const tq_format_info *tq_format_by_file_name(const char *path) {
    if (!path) return NULL;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (int k = 1; k < TQ_FORMAT_COUNT; k++)
        for (int p = 0; p < 4 && TQ_FORMAT_TABLE[k].info.patterns[p]; p++)
            if (tq_glob_match(TQ_FORMAT_TABLE[k].info.patterns[p], base)) return &TQ_FORMAT_TABLE[k].info;
    return NULL;
}

const char *tq_format_names(unsigned caps, char *buf, size_t cap) {
    int total = 0, k = 0;
    for (int i = 1; i < TQ_FORMAT_COUNT; i++) total += (TQ_FORMAT_TABLE[i].info.caps & caps) == caps;
    size_t o = 0;
    if (cap) buf[0] = 0;
    for (int i = 1; i < TQ_FORMAT_COUNT && cap; i++) {
        if ((TQ_FORMAT_TABLE[i].info.caps & caps) != caps) continue;
        const char *sep = k == 0 ? "" : k == total - 1 ? " or " : ", ";
        int w = snprintf(buf + o, cap - o, "%s%s", sep, TQ_FORMAT_TABLE[i].info.name);
        if (w < 0 || (size_t)w >= cap - o) break;
        o += (size_t)w;
        k++;
    }
    return buf;
}

/* ===== detection and opening ============================================== */

tq_format tq_format_sniff(const uint8_t *d, uint64_t n, const char *path) {
    const tq_format_info *ni = tq_format_by_file_name(path);
    const tq_format_impl *named = ni ? &TQ_FORMAT_TABLE[ni->id] : NULL, *pick = NULL;
    int best = TQ_SNIFF_NO;
    for (int k = 1; k < TQ_FORMAT_COUNT; k++) {
        const tq_format_impl *r = &TQ_FORMAT_TABLE[k];
        int s = r->sniff ? r->sniff(d, n) : TQ_SNIFF_NO;
        if (s > best || (s == best && s > TQ_SNIFF_NO && r == named && pick != named)) { best = s; pick = r; }
    }
    if (!pick && named && named->parse) pick = named;
    return pick ? pick->info.id : TQ_FORMAT_UNKNOWN;
}

/* "PATH: unknown format (first bytes 47 47 ...)" */
static tq_status unknown_format(const char *path, const uint8_t *d, uint64_t n, tq_error *err) {
    if (n == 0) return tq_err(err, TQ_E_FORMAT, "%s: unknown format (the file is empty)", path);
    char hex[3 * 8 + 1];
    size_t o = 0;
    for (uint64_t i = 0; i < n && i < 8; i++) o += (size_t)snprintf(hex + o, sizeof hex - o, i ? " %02x" : "%02x", d[i]);
    return tq_err(err, TQ_E_FORMAT, "%s: unknown format (first bytes %s%s)", path, hex, n > 8 ? " ..." : "");
}

tq_status tq_container_open(tq_container *c, const char *path, tq_error *err) {
    tq_map m;
    memset(c, 0, sizeof *c);
    c->map.fd = -1;
    tq_status st = tq_map_open(&m, path, err);
    if (st) return st;
    /* what the sniffs read, pinned first (format.h; lax: bytes a file that
     * shrank no longer holds read as zeros, and the parser's own strict pins
     * then name the file and offset, never SIGBUS) */
    tq_map_pin_lax(&m, 0, TQ_SNIFF_HEAD);
    tq_zip_pin_dir(m.data, m.size, &m);
    tq_format f = tq_format_sniff(m.data, m.size, path);
    const tq_format_impl *r = tq_format_impl_get(f);
    if (!r || !r->parse) st = tq_map_pin(&m, 0, TQ_SNIFF_HEAD, err);   /* zeros sniffed? then it shrank: say so */
    if (st) {}
    else if (!r) st = unknown_format(path, m.data, m.size, err);
    else if (!r->parse) st = tq_err(err, TQ_E_UNSUPPORTED, "%s: %s: not supported by this build", path, r->info.what);
    else st = r->parse(m.data, m.size, &m, path, c, err);
    if (st) { tq_map_close(&m); return st; }
    c->map = m;
    c->format = f;
    if ((st = tq_container_index(c, err))) { tq_container_free(c); return st; }
    return TQ_OK;
}

/* ===== the planned writer's constructor ====================================== */

/* Here rather than in writer.c: it is the one writer function that needs the
 * table, and the back-ends must not depend on a file that depends on them. */
tq_writer *tq_writer_create(tq_format f, const char *path, const tq_wentry *entries, int64_t n,
                            const char *const *mk, const char *const *mv, int nm, tq_error *err) {
    const tq_format_impl *fi = tq_format_impl_get(f);
    tq_writer_init_fn init = fi ? fi->writer_init : NULL;
    if (!init) {
        tq_err(err, TQ_E_UNSUPPORTED, "%s: trueq cannot write this format", fi ? fi->info.name : "unknown format");
        return NULL;
    }
    tq_writer *w = calloc(1, sizeof *w);
    if (!w) { tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    w->format = f;
    w->out.fd = -1;
    w->n = n;
    size_t k = (size_t)(n ? n : 1);
    w->e = calloc(k, sizeof *w->e);
    w->data_off = calloc(k, sizeof *w->data_off);
    w->nbytes = calloc(k, sizeof *w->nbytes);
    w->written = calloc(k, 1);
    if (!w->e || !w->data_off || !w->nbytes || !w->written) { tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
    for (int64_t i = 0; i < n; i++) {
        if (entries[i].ndim < 0 || entries[i].ndim > TQ_MAX_DIMS || !entries[i].name) {
            tq_err(err, TQ_E_ARG, "entry %lld: %s", (long long)i, entries[i].name ? "ndim out of range" : "no name");
            goto fail;
        }
        w->e[i] = entries[i];
        w->e[i].name = tq_strdup(entries[i].name);
        if (!w->e[i].name) { tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
        w->nbytes[i] = tq_nbytes(entries[i].dtype, entries[i].ndim, entries[i].shape);
        if (w->nbytes[i] == UINT64_MAX) { tq_err(err, TQ_E_LIMIT, "entry \"%s\": size overflows", entries[i].name); goto fail; }
    }
    if ((*init)(w, mk, mv, nm, err)) goto fail;
    if (path) {
        if (tq_out_open(&w->out, path, err)) goto fail;
        w->opened = 1;
        tq_out_reserve(&w->out, w->total_size);   /* its planned size */
    }
    return w;
fail:
    tq_writer_free(w);
    return NULL;
}
