/*
 * test_format.c — the format trait table (src/io/format.c) and detection by
 * content: every row's id is its enum value and index, names are unique,
 * capabilities agree with the row's functions, lookups by name and by file
 * name; then sniffing of files this test writes itself (GGUF header, a
 * torch.save-style zip with archive/data.pkl, pickles, random bytes, empty
 * files, safetensors and npz under misleading names), each with its specific
 * status and message; directory discovery; writers refusing formats they
 * cannot write.
 */
#include "tq_test.h"
#include "io/format.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ===== building inputs ====================================================== */

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* A STORED zip of n members (names[i], text bodies[i]) into out; returns its size. */
static size_t zip_build(uint8_t *out, const char *const *names, const char *const *bodies, int n) {
    size_t lens[16];
    for (int i = 0; i < n && i < 16; i++) lens[i] = strlen(bodies[i]);
    return tq_t_zip(out, names, (const void *const *)bodies, lens, n);
}

/* torch.save's layout (FORMATS.md §6.1): archive/data.pkl, archive/data/0, archive/version */
static size_t torch_zip(uint8_t *out) {
    static const char *const names[] = {"archive/data.pkl", "archive/byteorder", "archive/data/0", "archive/version"};
    static const char *const bodies[] = {"\x80\x02}q\x00.", "little", "\0\0\x80?", "3\n"};
    return zip_build(out, names, bodies, 4);
}

/* A GGUF v3 header with no tensors and no keys (FORMATS.md §2.1). */
static size_t gguf_header(uint8_t *out) {
    memcpy(out, "GGUF", 4);
    put32(out + 4, 3);
    put64(out + 8, 0);
    put64(out + 16, 0);
    return 24;
}

/* A valid safetensors image: one U8 tensor "x" of 2 bytes. */
static size_t st_image(uint8_t *out) {
    const char *h = "{\"x\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
    size_t n = strlen(h);
    put64(out, n);
    memcpy(out + 8, h, n);
    out[8 + n] = 7; out[9 + n] = 9;
    return 8 + n + 2;
}

static const char *write_file(const char *name, const void *b, size_t n) {
    const char *p = tq_t_path(name);
    tq_t_write(p, b, n);
    return p;
}

/* tq_model_open(path) must fail with `want` and a message holding `msg` and the path. */
static void expect_open_fails(const char *path, tq_status want, const char *msg) {
    tq_error err;
    tq_model *m = tq_model_open(path, &err);
    CHECK_MSG(m == NULL, "%s opened", path);
    if (m) { tq_model_close(m); return; }
    CHECK_ERR(err.status, err, want, msg);
    CHECK_MSG(strstr(err.msg, path) != NULL, "message does not name the file: %s", err.msg);
}

/* ===== the table ============================================================== */

static void table_rows(void) {
    TQ_CASE("table: id == enum == index + 1, unique names, caps agree with the functions");
    CHECK_EQ_INT(tq_format_count(), TQ_FORMAT_COUNT - 1);
    CHECK(tq_format_at(-1) == NULL && tq_format_at(tq_format_count()) == NULL);
    CHECK(tq_format_by_id(TQ_FORMAT_UNKNOWN) == NULL && tq_format_by_id(TQ_FORMAT_COUNT) == NULL);
    CHECK(tq_format_by_id((tq_format)-1) == NULL);
    for (int i = 0; i < tq_format_count(); i++) {
        const tq_format_info *r = tq_format_at(i);
        CHECK_MSG(r != NULL, "row %d missing", i);
        if (!r) continue;
        CHECK_EQ_INT(r->id, i + 1);
        CHECK(tq_format_by_id(r->id) == r);
        /* a write-only row (mlx: a safetensors layout) has no patterns and no sniff: its files are
         * read back by the row its default file names */
        bool write_only = !(r->caps & TQ_FORMAT_CAN_READ) && (r->caps & TQ_FORMAT_CAN_WRITE);
        CHECK(r->name && r->name[0] && r->what && r->what[0] && (write_only || r->patterns[0]));
        CHECK(tq_format_by_name(r->name) == r);
        for (int j = 0; j < i; j++) CHECK_MSG(strcmp(tq_format_at(j)->name, r->name) != 0, "name %s twice", r->name);
        const tq_format_impl *x = tq_format_impl_get(r->id);
        CHECK(x && &x->info == r && (write_only ? x->sniff == NULL : x->sniff != NULL));
        CHECK_MSG(!(r->caps & TQ_FORMAT_CAN_READ) == !x->parse, "%s: CAN_READ disagrees with parse", r->name);
        CHECK_MSG(!(r->caps & TQ_FORMAT_CAN_WRITE) == !x->writer_init, "%s: CAN_WRITE disagrees with writer_init", r->name);
        if (r->caps & TQ_FORMAT_CAN_WRITE) {   /* convert writes default_file; it must be found again by name */
            const tq_format_info *back = r->default_file ? tq_format_by_file_name(r->default_file) : NULL;
            CHECK_MSG(back && (back == r || (write_only && (back->caps & TQ_FORMAT_CAN_READ))), "%s: default file",
                      r->name);
        }
        /* every sniff is silent on nothing */
        if (x && x->sniff) CHECK_EQ_INT(x->sniff((const uint8_t *)"", 0), TQ_SNIFF_NO);
    }
    /* stable values: written nowhere as numbers, but kept */
    CHECK_EQ_INT(TQ_FORMAT_SAFETENSORS, 1);
    CHECK_EQ_INT(TQ_FORMAT_NPZ, 2);
    CHECK_EQ_INT(TQ_FORMAT_GGUF, 3);
    CHECK_EQ_INT(TQ_FORMAT_PYTORCH_ZIP, 4);
    CHECK_EQ_INT(TQ_FORMAT_PICKLE, 5);
    CHECK_EQ_INT(TQ_FORMAT_ONNX, 6);
    CHECK_EQ_INT(TQ_FORMAT_HDF5, 7);
    CHECK_EQ_INT(TQ_FORMAT_TFLITE, 8);
    CHECK_EQ_INT(TQ_FORMAT_GGML, 9);
}

static void table_lookups(void) {
    TQ_CASE("table: lookup by name and by file name, name lists");
    CHECK(tq_format_by_name("safetensors")->id == TQ_FORMAT_SAFETENSORS);
    CHECK(tq_format_by_name("npz")->id == TQ_FORMAT_NPZ);
    CHECK(tq_format_by_name("gguf")->id == TQ_FORMAT_GGUF);
    CHECK(tq_format_by_name("NPZ") == NULL);      /* exact, as --format always was */
    CHECK(tq_format_by_name("coreml") == NULL && tq_format_by_name(NULL) == NULL);
    CHECK(tq_format_by_file_name("/a/b/model-00001-of-00002.safetensors")->id == TQ_FORMAT_SAFETENSORS);
    CHECK(tq_format_by_file_name("weights.npz")->id == TQ_FORMAT_NPZ);
    CHECK(tq_format_by_file_name("x/SmolLM2-135M.Q4_1.gguf")->id == TQ_FORMAT_GGUF);
    CHECK(tq_format_by_file_name("pytorch_model.bin")->id == TQ_FORMAT_PYTORCH_ZIP);
    CHECK(tq_format_by_file_name("state.pkl")->id == TQ_FORMAT_PICKLE);
    CHECK(tq_format_by_file_name("config.json") == NULL);
    CHECK(tq_format_by_file_name("x.safetensors/config.json") == NULL);   /* the base name only */
    CHECK(tq_format_by_file_name(NULL) == NULL);
    CHECK(strcmp(tq_format_by_id(TQ_FORMAT_SAFETENSORS)->default_file, "model.safetensors") == 0);
    CHECK(strcmp(tq_format_by_id(TQ_FORMAT_NPZ)->default_file, "weights.npz") == 0);
    CHECK(strcmp(tq_format_by_id(TQ_FORMAT_SAFETENSORS)->shard_index, "model.safetensors.index.json") == 0);
    CHECK(tq_format_by_id(TQ_FORMAT_NPZ)->caps & TQ_FORMAT_COMPRESSED);
    CHECK(!(tq_format_by_id(TQ_FORMAT_SAFETENSORS)->caps & TQ_FORMAT_COMPRESSED));
    char b[128];
    CHECK_MSG(strcmp(tq_format_names(TQ_FORMAT_CAN_WRITE, b, sizeof b), "safetensors, npz, gguf or mlx") == 0, "%s", b);
    CHECK_MSG(strcmp(tq_format_names(TQ_FORMAT_CAN_READ, b, sizeof b), "safetensors, npz, gguf or pytorch") == 0, "%s", b);
    CHECK_MSG(strcmp(tq_format_names(0, b, sizeof b), "safetensors, npz, gguf, pytorch, pickle, onnx, hdf5, tflite, ggml, torch-legacy or mlx") == 0, "%s", b);
    char small[8];
    memset(small, 'x', sizeof small);
    tq_format_names(0, small, sizeof small);   /* cut at a whole name, always terminated */
    CHECK_MSG(strcmp(small, "") == 0 || strlen(small) < sizeof small, "%.8s", small);
}

/* ===== sniffing ================================================================ */

static void sniff_recognised(void) {
    TQ_CASE("sniff: GGUF by content (read), and recognised formats this build does not read");
    uint8_t b[1024];
    size_t n = gguf_header(b);
    CHECK_EQ_INT(tq_format_sniff(b, n, NULL), TQ_FORMAT_GGUF);
    /* the bug this table fixed: a GGUF file was read as safetensors ("header length 14064895815 exceeds the limit");
     * GGUF is now read, whatever the file is called */
    const char *names[2] = {"tiny.gguf", "gguf_named.safetensors"};
    for (int k = 0; k < 2; k++) {
        tq_error e;
        tq_model *gm = tq_model_open(write_file(names[k], b, n), &e);
        CHECK_MSG(gm != NULL, "%s: %s", names[k], e.msg);
        if (gm) { CHECK_EQ_INT(tq_model_format(gm), TQ_FORMAT_GGUF); CHECK_EQ_INT(tq_model_count(gm), 0); }
        tq_model_close(gm);
    }

    n = torch_zip(b);
    CHECK_EQ_INT(tq_format_sniff(b, n, "pytorch_model.bin"), TQ_FORMAT_PYTORCH_ZIP);
    CHECK_EQ_INT(tq_format_sniff(b, n, "weights.npz"), TQ_FORMAT_PYTORCH_ZIP);   /* content wins over the name */
    /* read now (src/io/torch_zip.c): this stub's pickle is cut short, and the parser says so */
    expect_open_fails(write_file("pytorch_model.bin", b, n), TQ_E_FORMAT,
                      "pytorch_model.bin: archive/data.pkl: pickle offset 3: opcode 0x71 is cut short by the end of the pickle");
    expect_open_fails(write_file("torch_as.npz", b, n), TQ_E_FORMAT, "archive/data.pkl: pickle offset 3");
    {   /* data.pkl only counts as a whole name component */
        static const char *const nm[] = {"mydata.pkl"};
        static const char *const bd[] = {"x"};
        size_t k = zip_build(b, nm, bd, 1);
        CHECK_EQ_INT(tq_format_sniff(b, k, "a.zip"), TQ_FORMAT_NPZ);   /* some other zip: the npz parser names it */
        expect_open_fails(write_file("other.zip", b, k), TQ_E_UNSUPPORTED, "member \"mydata.pkl\" is not a .npy array");
    }

    static const uint8_t pk2[] = {0x80, 0x02, ']', 'q', 0x00, '.'};
    CHECK_EQ_INT(tq_format_sniff(pk2, sizeof pk2, NULL), TQ_FORMAT_PICKLE);
    expect_open_fails(write_file("state.pkl", pk2, sizeof pk2), TQ_E_UNSUPPORTED, "state.pkl: pickle file: not supported by this build");
    expect_open_fails(write_file("opt.bin", pk2, sizeof pk2), TQ_E_UNSUPPORTED, "opt.bin: pickle file: not supported by this build");
    /* legacy torch.save: the pickled magic number 0x1950a86a20f9469cfc6c, even under a zip's name */
    static const uint8_t legacy[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'};
    CHECK_EQ_INT(tq_format_sniff(legacy, sizeof legacy, "pytorch_model.bin"), TQ_FORMAT_TORCH_LEGACY);
    CHECK_EQ_INT(tq_format_sniff(legacy, sizeof legacy, "x.pkl"), TQ_FORMAT_TORCH_LEGACY);
    expect_open_fails(write_file("legacy_dir_pytorch_model.bin", legacy, sizeof legacy), TQ_E_UNSUPPORTED,
                      "legacy_dir_pytorch_model.bin: legacy torch.save format (pre-1.6): re-save with torch.save(..., "
                      "_use_new_zipfile_serialization=True)");
    static const uint8_t pk0[] = {0x80, 0x01, ']', '.'};   /* protocol 1 is not a PROTO we recognise */
    CHECK_EQ_INT(tq_format_sniff(pk0, sizeof pk0, NULL), TQ_FORMAT_UNKNOWN);
}

/* Other common model files (issue 14): each named by content, under its own
 * name and under a safetensors name, never misparsed. */
static void sniff_foreign(void) {
    TQ_CASE("sniff: ONNX, HDF5, TFLite and legacy GGML files are named, not misparsed");
    static const uint8_t onnx[] = {0x08, 0x07, 0x12, 0x07, 'p', 'y', 't', 'o', 'r', 'c', 'h', 0x1a, 0x03, '2', '.', '1',
                                   0x3a, 0x00};
    CHECK_EQ_INT(tq_format_sniff(onnx, sizeof onnx, NULL), TQ_FORMAT_ONNX);
    expect_open_fails(write_file("model.onnx", onnx, sizeof onnx), TQ_E_UNSUPPORTED, "model.onnx: ONNX model: not supported by this build");
    expect_open_fails(write_file("onnx_named.safetensors", onnx, sizeof onnx), TQ_E_UNSUPPORTED,
                      "onnx_named.safetensors: ONNX model: not supported by this build");
    static const uint8_t onnx_graph[] = {0x08, 0x08, 0x3a, 0x05, 0x0a, 0x01, 'x', 0x12, 0x00};   /* no producer: a shape */
    CHECK_EQ_INT(tq_format_sniff(onnx_graph, sizeof onnx_graph, NULL), TQ_FORMAT_ONNX);
    static const uint8_t not_onnx[] = {0x08, 0x00, 0x12, 0x01, 'x'};   /* ir_version 0 */
    CHECK_EQ_INT(tq_format_sniff(not_onnx, sizeof not_onnx, NULL), TQ_FORMAT_UNKNOWN);
    static const uint8_t odd_producer[] = {0x08, 0x07, 0x12, 0x02, 0x01, 0x02};   /* not printable: only a shape */
    CHECK_EQ_INT(tq_format_sniff(odd_producer, sizeof odd_producer, NULL), TQ_FORMAT_ONNX);

    uint8_t h5[1100];
    memset(h5, 0, sizeof h5);
    memcpy(h5, "\x89HDF\r\n\x1a\n", 8);
    CHECK_EQ_INT(tq_format_sniff(h5, 16, NULL), TQ_FORMAT_HDF5);
    expect_open_fails(write_file("tf_model.h5", h5, 16), TQ_E_UNSUPPORTED, "tf_model.h5: HDF5 file (Keras/TensorFlow .h5 weights): not supported");
    memset(h5, 0, 8);
    memcpy(h5 + 1024, "\x89HDF\r\n\x1a\n", 8);   /* after a 1024-byte user block */
    CHECK_EQ_INT(tq_format_sniff(h5, 1032, NULL), TQ_FORMAT_HDF5);
    CHECK_EQ_INT(tq_format_sniff(h5, 1031, NULL), TQ_FORMAT_UNKNOWN);   /* cut: not read past the end */
    expect_open_fails(write_file("h5_named.safetensors", h5, 1032), TQ_E_UNSUPPORTED, "HDF5 file");

    static const uint8_t tfl[] = {0x1c, 0, 0, 0, 'T', 'F', 'L', '3', 0, 0, 0, 0};
    CHECK_EQ_INT(tq_format_sniff(tfl, sizeof tfl, NULL), TQ_FORMAT_TFLITE);
    expect_open_fails(write_file("model.tflite", tfl, sizeof tfl), TQ_E_UNSUPPORTED, "model.tflite: TensorFlow Lite model: not supported");
    CHECK_EQ_INT(tq_format_sniff(tfl, 7, NULL), TQ_FORMAT_UNKNOWN);

    static const char *const gg[] = {"lmgg", "fmgg", "tjgg", "algg"};
    for (int i = 0; i < 4; i++) {
        uint8_t g[16] = {0};
        memcpy(g, gg[i], 4);
        g[4] = 3;
        CHECK_EQ_INT(tq_format_sniff(g, sizeof g, "ggml-model-q4_0.bin"), TQ_FORMAT_GGML);
        expect_open_fails(write_file("ggml-model-q4_0.bin", g, sizeof g), TQ_E_UNSUPPORTED,
                          "ggml-model-q4_0.bin: legacy GGML file (llama.cpp before GGUF; convert it to GGUF): not supported");
    }
    CHECK(tq_format_by_name("onnx")->id == TQ_FORMAT_ONNX && tq_format_by_file_name("a/b.tflite")->id == TQ_FORMAT_TFLITE);
    CHECK(tq_format_by_file_name("weights.hdf5")->id == TQ_FORMAT_HDF5);
    CHECK((tq_format_by_id(TQ_FORMAT_ONNX)->caps & (TQ_FORMAT_CAN_READ | TQ_FORMAT_CAN_WRITE)) == 0);
}

static void sniff_unknown(void) {
    TQ_CASE("sniff: unknown bytes and empty files");
    uint8_t r[64];
    uint64_t s = 99;
    for (size_t i = 0; i < sizeof r; i++) r[i] = (uint8_t)(tq_t_rand(&s) | 0x01);   /* never "{" at 8: see below */
    r[0] = 0x13; r[8] = 0x11;
    char want[128];
    snprintf(want, sizeof want, "rand.bin: unknown format (first bytes %02x %02x %02x %02x %02x %02x %02x %02x ...)",
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    CHECK_EQ_INT(tq_format_sniff(r, sizeof r, "rand.bin"), TQ_FORMAT_UNKNOWN);
    expect_open_fails(write_file("rand.bin", r, sizeof r), TQ_E_FORMAT, want);
    expect_open_fails(write_file("ab.dat", "ab", 2), TQ_E_FORMAT, "ab.dat: unknown format (first bytes 61 62)");
    expect_open_fails(write_file("empty.bin", "", 0), TQ_E_FORMAT, "empty.bin: unknown format (the file is empty)");
    /* named like a readable format: its parser says what is wrong, as before */
    expect_open_fails(write_file("empty.gguf", "", 0), TQ_E_FORMAT, "empty.gguf: bad magic at offset 0");
    expect_open_fails(write_file("empty.safetensors", "", 0), TQ_E_FORMAT, "is 0 bytes, shorter than the 8-byte");
    expect_open_fails(write_file("rand.safetensors", r, sizeof r), TQ_E_FORMAT, "exceeds the limit of 100000000");
    expect_open_fails(write_file("rand.npz", r, sizeof r), TQ_E_FORMAT, "no ZIP end-of-central-directory record");
    /* a zip signature with nothing after it: the npz parser names the fault, whatever the name */
    expect_open_fails(write_file("cut.bin", "PK\x03\x04garbage", 11), TQ_E_FORMAT, "end-of-central-directory");
}

static void sniff_readable(void) {
    TQ_CASE("sniff: readable formats by content, whatever their names");
    uint8_t b[1024];
    size_t n = st_image(b);
    CHECK_EQ_INT(tq_format_sniff(b, n, NULL), TQ_FORMAT_SAFETENSORS);
    tq_error err;
    tq_model *m = tq_model_open(write_file("weights.dat", b, n), &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (m) {
        CHECK_EQ_INT(tq_model_format(m), TQ_FORMAT_SAFETENSORS);
        CHECK_EQ_INT(tq_model_sharded(m), 0);
        CHECK_EQ_INT(tq_model_count(m), 1);
        tq_model_close(m);
    }
    /* leading JSON whitespace is still a safetensors header */
    {
        uint8_t w[64];
        put64(w, 4);
        memcpy(w + 8, " {} ", 4);
        CHECK_EQ_INT(tq_format_sniff(w, 12, NULL), TQ_FORMAT_SAFETENSORS);
    }
    /* an .npz written by trueq, named .bin, opens as npz */
    tq_wentry e = {"w", TQ_DTYPE_U8, 1, {3}};
    const char *p = tq_t_path("npz_named.bin");
    tq_writer *w = tq_writer_create(TQ_FORMAT_NPZ, p, &e, 1, NULL, NULL, 0, &err);
    CHECK_MSG(w != NULL, "%s", err.msg);
    if (w) {
        CHECK_OK(tq_writer_put(w, 0, "abc", 3, &err), err);
        CHECK_OK(tq_writer_finish(w, &err), err);
        tq_writer_free(w);
    }
    m = tq_model_open(p, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (m) { CHECK_EQ_INT(tq_model_format(m), TQ_FORMAT_NPZ); tq_model_close(m); }
    /* ties: bytes that are both a cut-short safetensors header and a pickle
     * PROTO (header length 640 = 80 02 00..) go by the name */
    uint8_t t[32] = {0x80, 0x02, 0, 0, 0, 0, 0, 0, '{', '"', 'a', '"'};
    CHECK_EQ_INT(tq_format_sniff(t, sizeof t, "x.safetensors"), TQ_FORMAT_SAFETENSORS);
    CHECK_EQ_INT(tq_format_sniff(t, sizeof t, "x.pkl"), TQ_FORMAT_PICKLE);
    expect_open_fails(write_file("tie.safetensors", t, sizeof t), TQ_E_FORMAT, "header length 640 runs past the end of the file (32 bytes)");
}

/* Every prefix of each recognised image: sniffs read only what they are given. */
static void sniff_prefixes(void) {
    TQ_CASE("sniff: every prefix of every kind is judged without reading past it");
    uint8_t b[1024];
    size_t sizes[4];
    uint8_t *imgs[4];
    for (int k = 0; k < 4; k++) imgs[k] = malloc(1024);
    sizes[0] = gguf_header(imgs[0]);
    sizes[1] = torch_zip(imgs[1]);
    sizes[2] = st_image(imgs[2]);
    static const uint8_t legacy[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'};
    memcpy(imgs[3], legacy, sizeof legacy);
    sizes[3] = sizeof legacy;
    const tq_format full[4] = {TQ_FORMAT_GGUF, TQ_FORMAT_PYTORCH_ZIP, TQ_FORMAT_SAFETENSORS, TQ_FORMAT_TORCH_LEGACY};
    for (int k = 0; k < 4; k++) {
        for (size_t cut = 0; cut <= sizes[k]; cut++) {
            uint8_t *c = malloc(cut ? cut : 1);   /* exact size: ASan sees any over-read */
            memcpy(c, imgs[k], cut);
            tq_format f = tq_format_sniff(c, cut, NULL);
            CHECK(f >= TQ_FORMAT_UNKNOWN && f < TQ_FORMAT_COUNT);
            if (cut == sizes[k]) CHECK_EQ_INT(f, full[k]);
            free(c);
        }
        free(imgs[k]);
    }
    (void)b;
}

/* ===== directories, writers, plans =============================================== */

static void directories(void) {
    TQ_CASE("directories: recognised files are named, empty ones listed from the table");
    uint8_t b[1024];
    const char *d = tq_t_path("dir_torch");
    mkdir(d, 0755);
    char p[2048];
    snprintf(p, sizeof p, "%s/pytorch_model.bin", d);
    tq_t_write(p, b, torch_zip(b));
    snprintf(p, sizeof p, "%s/training_args.bin", d);
    tq_t_write(p, "\x80\x02}.", 4);
    tq_error err;
    CHECK(tq_model_open(d, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_FORMAT, "/pytorch_model.bin: archive/data.pkl: pickle offset 3");   /* chosen, and read */

    d = tq_t_path("dir_gguf");
    mkdir(d, 0755);
    snprintf(p, sizeof p, "%s/model-q4.gguf", d);
    tq_t_write(p, b, gguf_header(b));
    snprintf(p, sizeof p, "%s/config.json", d);
    tq_t_write(p, "{}", 2);
    tq_model *gm = tq_model_open(d, &err);   /* a directory holding one .gguf opens it */
    CHECK_MSG(gm && strstr(tq_model_path(gm), "/model-q4.gguf"), "%s", gm ? tq_model_path(gm) : err.msg);
    tq_model_close(gm);

    d = tq_t_path("dir_empty");
    mkdir(d, 0755);
    snprintf(p, sizeof p, "%s/config.json", d);
    tq_t_write(p, "{}", 2);
    CHECK(tq_model_open(d, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_NOTFOUND,
              "directory holds no model.safetensors, model.safetensors.index.json or other weight file (this build reads safetensors, npz, gguf or pytorch)");

    d = tq_t_path("dir_both");   /* a readable file wins over a recognised one (a legacy torch file) */
    mkdir(d, 0755);
    snprintf(p, sizeof p, "%s/old.pkl", d);
    tq_t_write(p, "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);
    snprintf(p, sizeof p, "%s/weights-v1.safetensors", d);
    tq_t_write(p, b, st_image(b));
    tq_model *m = tq_model_open(d, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (m) { CHECK(strstr(tq_model_path(m), "/weights-v1.safetensors") != NULL); tq_model_close(m); }
}

static void writers(void) {
    TQ_CASE("writers and plans: only rows with CAN_WRITE");
    tq_wentry e = {"w", TQ_DTYPE_I8, 1, {3}};
    tq_error err;
    CHECK(tq_writer_create(TQ_FORMAT_PICKLE, NULL, &e, 1, NULL, NULL, 0, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_UNSUPPORTED, "pickle: trueq cannot write this format");
    CHECK(tq_writer_create(TQ_FORMAT_UNKNOWN, NULL, &e, 1, NULL, NULL, 0, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_UNSUPPORTED, "unknown format: trueq cannot write this format");
    CHECK(tq_writer_create(TQ_FORMAT_COUNT, NULL, &e, 1, NULL, NULL, 0, &err) == NULL);
    CHECK_EQ_INT(err.status, TQ_E_UNSUPPORTED);
    for (int i = 0; i < tq_format_count(); i++) {   /* every writable row plans a dry file */
        const tq_format_info *r = tq_format_at(i);
        if (!(r->caps & TQ_FORMAT_CAN_WRITE)) continue;
        tq_writer *w = tq_writer_create(r->id, NULL, &e, 1, NULL, NULL, 0, &err);
        CHECK_MSG(w != NULL && w->format == r->id && w->total_size > 3, "%s: %s", r->name, w ? "" : err.msg);
        tq_writer_free(w);
    }

    uint8_t b[1024];
    tq_model *m = tq_model_open(write_file("plan_in.safetensors", b, st_image(b)), &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m) return;
    tq_convert_options o;
    tq_convert_options_init(&o);
    CHECK_EQ_INT(o.format, TQ_FORMAT_SAFETENSORS);
    o.format = TQ_FORMAT_PICKLE;
    CHECK(tq_plan_create(m, &o, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_UNSUPPORTED, "output format pickle cannot be written (trueq writes safetensors, npz, gguf or mlx)");
    o.format = TQ_FORMAT_NPZ;
    tq_plan *p = tq_plan_create(m, &o, &err);
    CHECK_MSG(p != NULL, "%s", err.msg);
    if (p) { CHECK(strcmp(tq_plan_output_name(p), "weights.npz") == 0); tq_plan_free(p); }
    tq_model_close(m);
}

/* The fuzz seeds (tests/gen/gen_format_corpus.py) are each sniffed as their kind. */
static void fuzz_seeds(void) {
    TQ_CASE("fuzz seed corpus: every seed is detected as the kind it was written as");
    static const struct { const char *file; tq_format want; } K[] = {
        {"gguf_v3", TQ_FORMAT_GGUF}, {"gguf_magic_only", TQ_FORMAT_GGUF}, {"torch_zip", TQ_FORMAT_PYTORCH_ZIP},
        {"torch_zip_cut", TQ_FORMAT_NPZ},   /* a zip without a directory: the npz parser names the fault */
        {"pickle_p2", TQ_FORMAT_PICKLE}, {"pickle_p4_frame", TQ_FORMAT_PICKLE}, {"pickle_legacy_torch", TQ_FORMAT_TORCH_LEGACY},
        {"safetensors", TQ_FORMAT_SAFETENSORS}, {"safetensors_cut", TQ_FORMAT_SAFETENSORS}, {"npz", TQ_FORMAT_NPZ},
        {"npz_empty", TQ_FORMAT_NPZ}, {"zip_other", TQ_FORMAT_NPZ}, {"random", TQ_FORMAT_UNKNOWN}, {"empty", TQ_FORMAT_UNKNOWN},
    };
    const char *src = getenv("TQ_SOURCE_DIR");
    if (!src) TQ_SKIP("TQ_SOURCE_DIR is not set (run through ctest)");
    for (size_t i = 0; i < sizeof K / sizeof K[0]; i++) {
        char p[2048];
        snprintf(p, sizeof p, "%s/fuzz/corpus/format/%s", src, K[i].file);
        char *b = NULL;
        size_t n = 0;
        tq_error err;
        CHECK_MSG(tq_read_file(p, &b, &n, &err) == TQ_OK, "%s", err.msg);
        CHECK_MSG(b != NULL, "%s: not read", K[i].file);
        if (!b) continue;
        tq_format f = tq_format_sniff((const uint8_t *)b, n, NULL);
        CHECK_MSG(f == K[i].want, "%s: sniffed %d, want %d", K[i].file, (int)f, (int)K[i].want);
        free(b);
    }
}

void tq_tests(void) {
    fuzz_seeds();
    table_rows();
    table_lookups();
    sniff_recognised();
    sniff_foreign();
    sniff_unknown();
    sniff_readable();
    sniff_prefixes();
    directories();
    writers();
}
