/*
 * test_gguf_conformance.c — trueq's GGUF reader, writer, decoders and
 * reference quantizers against gguf-py (PyPI gguf, llama.cpp's Python
 * package), in the venv of tests/py/gguf_venv.sh (skipped when it cannot be
 * had). tests/py/gguf_conformance.py writes GGUF files with gguf-py's
 * GGUFWriter; trueq parses them strictly and must reproduce, bit for bit:
 *   - gguf-py's dequantization of random valid blocks of every type both
 *     implement (F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K..Q6_K TQ1_0 TQ2_0
 *     IQ4_NL IQ4_XS), and
 *   - gguf-py's quantization (F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 TQ1_0 TQ2_0)
 *     of random and edge rows (zeros, constants, ties, huge/tiny);
 * and gguf-py's GGUFReader must read a file trueq's writer made.
 * When llama-cpp-python is built (tests/py/llama_venv.sh; never built from
 * here), the same comparisons run against ggml's own C code in its
 * libggml-base: dequantize_row_* of Q4_0..Q8_0, Q2_K..Q8_K, IQ4_NL, IQ4_XS,
 * TQ1_0, TQ2_0 and quantize_row_*_ref of Q4_0..Q8_0, Q2_K..Q8_K, TQ1_0, TQ2_0.
 */
#include "tq_test.h"
#include "io/gguf.h"
#include "ggml/ggml_types.h"
#include <stdlib.h>

static char py[1024];
static char script[1024];

static bool setup(void) {
    const char *src = getenv("TQ_SOURCE_DIR");
    if (!src) src = ".";
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "bash '%s/tests/py/gguf_venv.sh'", src);
    int rc = tq_t_run(cmd, &out);
    if (rc != 0 || !out || !strchr(out, '\n')) { free(out); return false; }
    *strchr(out, '\n') = 0;
    snprintf(py, sizeof py, "%s", out);
    snprintf(script, sizeof script, "%s/tests/py/gguf_conformance.py", src);
    free(out);
    return true;
}

typedef struct loaded { char *buf; size_t len; tq_gguf g; } loaded;

static bool load(const char *path, loaded *l) {
    tq_error e;
    memset(l, 0, sizeof *l);
    tq_status st = tq_read_file(path, &l->buf, &l->len, &e);
    CHECK_OK(st, e);
    if (st) return false;
    st = tq_gguf_parse((const uint8_t *)l->buf, l->len, path, &l->g, &e);
    CHECK_OK(st, e);
    if (st) { free(l->buf); return false; }
    const tq_gguf *g = &l->g;
    CHECK_EQ_INT(g->header_bytes + g->kv_bytes + g->info_bytes + g->pad_info_bytes + g->tensor_bytes +
                 g->pad_tensor_bytes + g->trailing_bytes, l->len);
    return true;
}
static void unload(loaded *l) { tq_gguf_free(&l->g); free(l->buf); }

/* bitwise equal, except that any NaN equals any NaN */
static int64_t first_diff(const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], 4) != 0 && !(isnan(a[i]) && isnan(b[i]))) return i;
    return -1;
}

/* DIR/<pre><kind>_in.gguf and _out.gguf; pre: "" (gguf-py's files) or
 * "ref_" (ggml's); the input must hold n_types tensors. */
static bool load_pair(const char *dir, const char *pre, const char *kind, int64_t n_types, loaded *in, loaded *out) {
    char p1[1200], p2[1200];
    snprintf(p1, sizeof p1, "%s/%s%s_in.gguf", dir, pre, kind);
    snprintf(p2, sizeof p2, "%s/%s%s_out.gguf", dir, pre, kind);
    if (!load(p1, in)) return false;
    if (!load(p2, out)) { unload(in); return false; }
    CHECK_EQ_INT(in->g.n_tensors, n_types);
    return true;
}

static void dequant_vs(const char *dir, const char *pre, int64_t n_types) {
    loaded in, out;
    if (!load_pair(dir, pre, "dq", n_types, &in, &out)) return;
    for (int64_t i = 0; i < in.g.n_tensors; i++) {
        const tq_gguf_tensor *t = &in.g.tensors[i];
        int64_t j = tq_gguf_find_tensor(&out.g, t->name);
        CHECK_MSG(j >= 0, "%s missing from dq_out", t->name);
        if (j < 0) continue;
        const tq_gguf_tensor *u = &out.g.tensors[j];
        CHECK(u->ggml_type == TQ_GGML_F32 && u->numel == t->numel && u->ne[0] == t->ne[0] && u->ne[1] == t->ne[1]);
        CHECK_MSG(strcmp(t->name + 3, tq_ggml_type(t->ggml_type)->name) == 0, "%s stored as %s", t->name,
                  tq_ggml_type(t->ggml_type)->name);
        float *a = malloc(sizeof(float) * (size_t)t->numel);
        tq_error e;
        CHECK_OK(tq_gguf_tensor_to_f32(&in.g, i, a, &e), e);
        int64_t d = first_diff(a, (const float *)u->data, t->numel);
        CHECK_MSG(d < 0, "%s: element %lld: trueq %.9g, reference %.9g", t->name, (long long)d, d >= 0 ? a[d] : 0.0,
                  d >= 0 ? ((const float *)u->data)[d] : 0.0);
        free(a);
    }
    unload(&in);
    unload(&out);
}

static void quant_vs(const char *dir, const char *pre, int64_t n_types) {
    loaded in, out;
    if (!load_pair(dir, pre, "q", n_types, &in, &out)) return;
    for (int64_t i = 0; i < in.g.n_tensors; i++) {
        const tq_gguf_tensor *t = &in.g.tensors[i];
        int64_t j = tq_gguf_find_tensor(&out.g, t->name);
        CHECK_MSG(j >= 0 && t->ggml_type == TQ_GGML_F32, "%s", t->name);
        if (j < 0) continue;
        const tq_gguf_tensor *u = &out.g.tensors[j];
        CHECK_MSG(strcmp(t->name + 2, tq_ggml_type(u->ggml_type)->name) == 0, "%s", t->name);
        uint8_t *q = malloc(u->nbytes);
        tq_error e;
        CHECK_OK(tq_ggml_quantize(u->ggml_type, (const float *)t->data, q, t->numel, t->name, &e), e);
        uint64_t d = 0;
        while (d < u->nbytes && q[d] == u->data[d]) d++;
        const tq_ggml_type_info *ty = tq_ggml_type(u->ggml_type);
        CHECK_MSG(d == u->nbytes, "%s: first differing byte %llu (block %llu, row %llu): trueq %02x reference %02x",
                  t->name, (unsigned long long)d, (unsigned long long)(d / ty->type_size),
                  (unsigned long long)(d / (u->nbytes / (uint64_t)t->ne[1])), d < u->nbytes ? q[d] : 0,
                  d < u->nbytes ? u->data[d] : 0);
        free(q);
    }
    unload(&in);
    unload(&out);
}

static void gguf_py_reads_trueq(const char *dir) {
    TQ_CASE("gguf-py's GGUFReader reads what trueq's writer wrote");
    static const int32_t ai[3] = {1, -2, 3};
    static const char *as[3] = {"a", "bc", ""};
    tq_gguf_wkv kv[] = {
        {.key = "general.architecture", .type = TQ_GGUF_STRING, .str = "llama", .str_len = 5},
        {.key = "general.alignment", .type = TQ_GGUF_UINT32, .num.u = 64},
        {.key = "test.u8", .type = TQ_GGUF_UINT8, .num.u = 200},
        {.key = "test.i8", .type = TQ_GGUF_INT8, .num.i = -100},
        {.key = "test.u16", .type = TQ_GGUF_UINT16, .num.u = 65000},
        {.key = "test.i16", .type = TQ_GGUF_INT16, .num.i = -30000},
        {.key = "test.u32", .type = TQ_GGUF_UINT32, .num.u = 4000000000u},
        {.key = "test.i32", .type = TQ_GGUF_INT32, .num.i = -2000000000},
        {.key = "test.f32", .type = TQ_GGUF_FLOAT32, .num.f = 0.5},
        {.key = "test.bool", .type = TQ_GGUF_BOOL, .num.u = 1},
        {.key = "test.u64", .type = TQ_GGUF_UINT64, .num.u = (1ull << 63) + 5},
        {.key = "test.i64", .type = TQ_GGUF_INT64, .num.i = -(1ll << 62)},
        {.key = "test.f64", .type = TQ_GGUF_FLOAT64, .num.f = -1.25},
        {.key = "test.str", .type = TQ_GGUF_STRING, .str = "h\xc3\xa9llo", .str_len = 6},
        {.key = "test.arr_i32", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_INT32, .count = 3, .elems = ai},
        {.key = "test.arr_str", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_STRING, .count = 3, .strs = as},
    };
    float f32[12], x[128], big[256];
    for (int i = 0; i < 12; i++) f32[i] = (float)i;
    for (int i = 0; i < 128; i++) x[i] = (float)(i - 60) / 7.0f;
    for (int i = 0; i < 256; i++) big[i] = sinf((float)i);
    uint8_t q8[4 * 34], f16[10], q4k[144];
    tq_error e;
    CHECK_OK(tq_ggml_quantize(TQ_GGML_Q8_0, x, q8, 128, "t.q8_0", &e), e);
    static const float h[5] = {1, -2, 0.5f, 65504, 0};
    CHECK_OK(tq_ggml_quantize(TQ_GGML_F16, h, f16, 5, "t.f16", &e), e);
    CHECK_OK(tq_ggml_quantize(TQ_GGML_Q4_K, big, q4k, 256, "t.q4_k", &e), e);
    tq_gguf_wtensor t[] = {
        {"t.f32", TQ_GGML_F32, 2, {4, 3}, f32}, {"t.q8_0", TQ_GGML_Q8_0, 2, {64, 2}, q8},
        {"t.f16", TQ_GGML_F16, 1, {5}, f16}, {"t.q4_k", TQ_GGML_Q4_K, 2, {256, 1}, q4k},
    };
    char path[1200], cmd[4000];
    snprintf(path, sizeof path, "%s/trueq.gguf", dir);
    CHECK_OK(tq_gguf_write(path, kv, 16, t, 4, &e), e);
    snprintf(cmd, sizeof cmd, "'%s' '%s' check '%s'", py, script, path);
    CHECK_EQ_INT(tq_t_run(cmd, NULL), 0);
}

void tq_tests(void) {
    TQ_CASE("gguf-py environment");
    if (!setup()) TQ_SKIP("gguf-py venv unavailable (tests/py/gguf_venv.sh): skipping the gguf-py conformance tests");
    const char *dir = tq_t_tmpdir();
    char cmd[4000];
    snprintf(cmd, sizeof cmd, "'%s' '%s' gen '%s'", py, script, dir);
    int rc = tq_t_run(cmd, NULL);
    CHECK_EQ_INT(rc, 0);
    if (rc) return;
    TQ_CASE("dequantization == gguf-py's, bit for bit, every shared type");
    dequant_vs(dir, "", 16);
    TQ_CASE("reference quantizers == gguf-py's quantize, byte for byte");
    quant_vs(dir, "", 9);
    gguf_py_reads_trueq(dir);

    TQ_CASE("dequantization and reference quantizers == ggml's C code (llama-cpp-python)");
    const char *src = getenv("TQ_SOURCE_DIR");
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "TRUEQ_LLAMA_NO_BUILD=1 bash '%s/tests/py/llama_venv.sh'", src ? src : ".");
    rc = tq_t_run(cmd, &out);
    if (rc != 0 || !out || !strchr(out, '\n')) {
        free(out);
        TQ_SKIP("llama-cpp-python venv not built (tests/py/llama_venv.sh): skipping the ggml reference comparison");
    }
    *strchr(out, '\n') = 0;
    snprintf(cmd, sizeof cmd, "'%s' '%s' genref '%s'", out, script, dir);
    free(out);
    rc = tq_t_run(cmd, NULL);
    CHECK_EQ_INT(rc, 0);
    if (rc) return;
    dequant_vs(dir, "ref_", 15);
    quant_vs(dir, "ref_", 13);
}
