/*
 * test_gguf.c — the GGUF reader and writer (src/io/gguf*.c):
 *   - the writer reproduces the FORMATS.md §2.6 worked example byte for byte,
 *     and the reader reads it back (layout, values, ledger);
 *   - round trips of every value type, custom alignment, several tensor
 *     types, the file writer (atomic: nothing left on failure);
 *   - a corrupt-input matrix over hand-laid files, each case expecting a
 *     specific status and message fragment; every truncation fails.
 */
#include "tq_test.h"
#include "io/gguf.h"
#include "ggml/ggml_types.h"
#include <stdlib.h>
#include <sys/stat.h>

/* ---- the FORMATS.md §2.6 worked example ---------------------------------- */
static const char *KAT_HEX =
    "4747554603000000020000000000000004000000000000001400000000000000"
    "67656e6572616c2e617263686974656374757265080000000500000000000000"
    "6c6c616d610c0000000000000067656e6572616c2e6e616d6508000000040000"
    "000000000074696e79110000000000000067656e6572616c2e66696c655f7479"
    "706504000000070000001c0000000000000067656e6572616c2e7175616e7469"
    "7a6174696f6e5f76657273696f6e04000000020000001300000000000000626c"
    "6b2e302e6174746e5f712e776569676874020000002000000000000000020000"
    "000000000008000000000000000000000012000000000000006f75747075745f"
    "6e6f726d2e776569676874010000000400000000000000000000006000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "07286d02b35590d70f2ded72568f90b00ab9bd36ff897f8d57308f02d7db9082"
    "96230628bd391d79f030d85b04ade9779d8965a54a5ae7c515897f845b3117f0"
    "1efd1bff00000000000000000000000000000000000000000000000000000000"
    "0000803f00000040000040400000804000000000000000000000000000000000";

static void lcg_input(float *x, int n) {   /* FORMATS.md §3.9 */
    uint32_t s = 12345;
    for (int i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)((int)((s >> 9) & 0xFFFF) - 32768) / 8192.0f;
    }
}

static void worked_example(void) {
    TQ_CASE("writer == the FORMATS.md 2.6 example; reader reads it back");
    uint8_t kat[448];
    CHECK_EQ_INT(strlen(KAT_HEX), 2 * 448);
    for (int i = 0; i < 448; i++) { unsigned v; sscanf(KAT_HEX + 2 * i, "%2x", &v); kat[i] = (uint8_t)v; }
    float x[64], norm[4] = {1, 2, 3, 4};
    uint8_t q8[68];
    lcg_input(x, 64);
    tq_error e;
    CHECK_OK(tq_ggml_quantize(TQ_GGML_Q8_0, x, q8, 64, "q", &e), e);
    tq_gguf_wkv kv[] = {
        {.key = "general.architecture", .type = TQ_GGUF_STRING, .str = "llama", .str_len = 5},
        {.key = "general.name", .type = TQ_GGUF_STRING, .str = "tiny", .str_len = 4},
        {.key = "general.file_type", .type = TQ_GGUF_UINT32, .num.u = 7},
        {.key = "general.quantization_version", .type = TQ_GGUF_UINT32, .num.u = 2},
    };
    tq_gguf_wtensor t[] = {
        {"blk.0.attn_q.weight", TQ_GGML_Q8_0, 2, {32, 2}, q8},
        {"output_norm.weight", TQ_GGML_F32, 1, {4}, norm},
    };
    uint8_t *img;
    uint64_t n;
    CHECK_OK(tq_gguf_write_mem(kv, 4, t, 2, &img, &n, &e), e);
    CHECK_EQ_INT(n, 448);
    CHECK(n == 448 && memcmp(img, kat, 448) == 0);
    tq_gguf_layout lay;
    CHECK_OK(tq_gguf_plan(kv, 4, t, 2, &lay, &e), e);
    CHECK(lay.data_start == 0x140 && lay.offsets[1] == 0x60 && lay.file_size == 448 && lay.alignment == 32);
    tq_gguf_layout_free(&lay);
    free(img);

    tq_gguf g;
    CHECK_OK(tq_gguf_parse(kat, 448, "kat.gguf", &g, &e), e);
    CHECK(g.version == 3 && g.alignment == 32 && g.n_kv == 4 && g.n_tensors == 2 && g.data_start == 0x140);
    CHECK(strcmp(g.kv[1].key, "general.name") == 0 && g.kv[1].v.str.len == 4 && memcmp(g.kv[1].v.str.s, "tiny", 4) == 0);
    CHECK(g.kv[2].v.type == TQ_GGUF_UINT32 && g.kv[2].v.num.u == 7 && g.kv[0].offset == 0x18 && g.kv[1].offset == 0x45);
    const tq_gguf_tensor *a = &g.tensors[0], *b = &g.tensors[1];
    CHECK(strcmp(a->name, "blk.0.attn_q.weight") == 0 && a->n_dims == 2 && a->ne[0] == 32 && a->ne[1] == 2 &&
          a->ggml_type == TQ_GGML_Q8_0 && a->nbytes == 68 && a->offset == 0x140 && a->info_offset == 0xb6);
    CHECK(b->rel_offset == 0x60 && b->offset == 0x1a0 && b->nbytes == 16 && b->numel == 4);
    CHECK(g.header_bytes == 24 && g.kv_bytes == 0xb6 - 24 && g.info_bytes == 0x123 - 0xb6 && g.pad_info_bytes == 29);
    CHECK(g.tensor_bytes == 84 && g.pad_tensor_bytes == 28 + 16 && g.trailing_bytes == 0);
    float y[64];
    CHECK_OK(tq_gguf_tensor_to_f32(&g, 1, y, &e), e);
    CHECK(y[0] == 1 && y[3] == 4);
    CHECK_OK(tq_gguf_tensor_to_f32(&g, 0, y, &e), e);
    for (int i = 0; i < 64; i++) CHECK_NEAR(y[i], x[i], 0.02);
    CHECK_EQ_INT(tq_gguf_find_tensor(&g, "output_norm.weight"), 1);
    CHECK_EQ_INT(tq_gguf_find_kv(&g, "general.file_type"), 2);
    CHECK_EQ_INT(tq_gguf_find_kv(&g, "nope"), -1);
    tq_gguf_free(&g);
    /* the last tensor's padding may be cut short (llama.cpp only needs the bytes) */
    CHECK_OK(tq_gguf_parse(kat, 0x1a0 + 16, "kat.gguf", &g, &e), e);
    CHECK(g.pad_tensor_bytes == 28 && g.trailing_bytes == 0);
    tq_gguf_free(&g);
    /* every shorter prefix fails with a FORMAT error naming the file */
    int bad = 0;
    for (uint64_t len = 0; len < 0x1a0 + 16; len++) {
        tq_status st = tq_gguf_parse(kat, len, "short.gguf", &g, &e);
        if (st != TQ_E_FORMAT || !strstr(e.msg, "short.gguf")) { bad++; fprintf(stderr, "  len %llu: %d %s\n", (unsigned long long)len, st, e.msg); }
        CHECK(g.kv == NULL && g.tensors == NULL);
    }
    CHECK_EQ_INT(bad, 0);
}

/* ---- round trips through the writer -------------------------------------- */
static void round_trip(void) {
    TQ_CASE("writer -> reader: every value type, alignment 128, five tensor types");
    static const uint8_t u8s[4] = {0, 1, 254, 255};
    static const double f64s[2] = {0.25, -1e300};
    static const uint8_t bools[3] = {1, 0, 1};
    static const char *strs[2] = {"x", "\xe2\x82\xac"};
    tq_gguf_wkv kv[] = {
        {.key = "general.architecture", .type = TQ_GGUF_STRING, .str = "llama", .str_len = 5},
        {.key = "general.alignment", .type = TQ_GGUF_UINT32, .num.u = 128},
        {.key = "a.u8", .type = TQ_GGUF_UINT8, .num.u = 255}, {.key = "a.i8", .type = TQ_GGUF_INT8, .num.i = -128},
        {.key = "a.u16", .type = TQ_GGUF_UINT16, .num.u = 65535}, {.key = "a.i16", .type = TQ_GGUF_INT16, .num.i = -32768},
        {.key = "a.u32", .type = TQ_GGUF_UINT32, .num.u = 0xffffffffu}, {.key = "a.i32", .type = TQ_GGUF_INT32, .num.i = INT32_MIN},
        {.key = "a.f32", .type = TQ_GGUF_FLOAT32, .num.f = -0.125}, {.key = "a.bool", .type = TQ_GGUF_BOOL, .num.u = 0},
        {.key = "a.u64", .type = TQ_GGUF_UINT64, .num.u = UINT64_MAX}, {.key = "a.i64", .type = TQ_GGUF_INT64, .num.i = INT64_MIN},
        {.key = "a.f64", .type = TQ_GGUF_FLOAT64, .num.f = 1e-300}, {.key = "a.empty", .type = TQ_GGUF_STRING, .str_len = 0},
        {.key = "a.arr_u8", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_UINT8, .count = 4, .elems = u8s},
        {.key = "a.arr_f64", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_FLOAT64, .count = 2, .elems = f64s},
        {.key = "a.arr_bool", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_BOOL, .count = 3, .elems = bools},
        {.key = "a.arr_str", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_STRING, .count = 2, .strs = strs},
        {.key = "a.arr_none", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_INT32, .count = 0},
    };
    const int nkv = (int)(sizeof kv / sizeof *kv);
    static const int types[5] = {TQ_GGML_Q4_K, TQ_GGML_Q6_K, TQ_GGML_Q5_0, TQ_GGML_BF16, TQ_GGML_TQ2_0};
    float x[512];
    uint64_t s = 7;
    for (int i = 0; i < 512; i++) x[i] = tq_t_randn(&s);
    uint8_t blobs[5][1100];
    tq_gguf_wtensor t[5];
    char names[5][16];
    tq_error e;
    for (int k = 0; k < 5; k++) {
        snprintf(names[k], sizeof names[k], "t%d", k);
        CHECK_OK(tq_ggml_quantize(types[k], x, blobs[k], 512, names[k], &e), e);
        t[k] = (tq_gguf_wtensor){names[k], types[k], 3, {256, 1, 2}, blobs[k]};
    }
    uint8_t *img;
    uint64_t n;
    CHECK_OK(tq_gguf_write_mem(kv, nkv, t, 5, &img, &n, &e), e);
    tq_gguf g;
    CHECK_OK(tq_gguf_parse(img, n, "rt.gguf", &g, &e), e);
    CHECK(g.alignment == 128 && g.n_kv == nkv && g.n_tensors == 5 && g.data_start % 128 == 0 && n % 128 == 0);
    CHECK(g.header_bytes + g.kv_bytes + g.info_bytes + g.pad_info_bytes + g.tensor_bytes + g.pad_tensor_bytes == n);
    const tq_gguf_value *v = &g.kv[3].v;
    CHECK(v->type == TQ_GGUF_INT8 && v->num.i == -128);
    CHECK(g.kv[6].v.num.u == 0xffffffffu && g.kv[7].v.num.i == INT32_MIN && g.kv[8].v.num.f == -0.125);
    CHECK(g.kv[10].v.num.u == UINT64_MAX && g.kv[11].v.num.i == INT64_MIN && g.kv[12].v.num.f == 1e-300);
    CHECK(g.kv[13].v.type == TQ_GGUF_STRING && g.kv[13].v.str.len == 0);
    v = &g.kv[14].v;
    CHECK(v->elem_type == TQ_GGUF_UINT8 && v->count == 4 && memcmp(v->elems, u8s, 4) == 0);
    v = &g.kv[15].v;
    double d1;
    memcpy(&d1, v->elems + 8, 8);
    CHECK(v->count == 2 && d1 == -1e300);
    v = &g.kv[17].v;
    CHECK(v->count == 2 && v->strs[1].len == 3 && memcmp(v->strs[1].s, "\xe2\x82\xac", 3) == 0);
    CHECK(g.kv[18].v.count == 0);
    for (int k = 0; k < 5; k++) {
        const tq_gguf_tensor *ti = &g.tensors[k];
        CHECK(ti->ggml_type == types[k] && ti->n_dims == 3 && ti->ne[2] == 2 && ti->ne[3] == 1 && ti->numel == 512);
        CHECK(ti->offset % 128 == 0 && memcmp(ti->data, blobs[k], ti->nbytes) == 0);
    }
    tq_gguf_free(&g);

    /* the file writer gives the same bytes */
    char *path = tq_t_path("rt.gguf");
    CHECK_OK(tq_gguf_write(path, kv, nkv, t, 5, &e), e);
    char *buf = NULL;
    size_t len = 0;
    CHECK_OK(tq_read_file(path, &buf, &len, &e), e);
    CHECK(len == n && buf && memcmp(buf, img, n) == 0);
    free(buf);
    free(img);

    /* no tensors: the header is still padded to the alignment */
    CHECK_OK(tq_gguf_write_mem(kv, 1, NULL, 0, &img, &n, &e), e);
    CHECK(n == 96);   /* 24 + 45 -> 96 */
    CHECK_OK(tq_gguf_parse(img, n, "empty.gguf", &g, &e), e);
    uint64_t kvb = g.kv_bytes;
    CHECK(g.n_tensors == 0 && kvb == 45 && g.pad_info_bytes == 27 && g.trailing_bytes == 0);
    tq_gguf_free(&g);
    CHECK_OK(tq_gguf_parse(img, 24 + kvb, "empty.gguf", &g, &e), e);   /* without that padding */
    CHECK(g.pad_info_bytes == 0);
    tq_gguf_free(&g);
    free(img);
}

static void writer_errors(void) {
    TQ_CASE("writer refuses what the reader would reject, and leaves no file");
    float f[4] = {0};
    tq_gguf_wkv ok = {.key = "general.architecture", .type = TQ_GGUF_STRING, .str = "llama", .str_len = 5};
    tq_gguf_wkv dup[2] = {ok, ok};
    tq_gguf_wkv nest = {.key = "n", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_ARRAY, .count = 0};
    tq_gguf_wkv al3 = {.key = "general.alignment", .type = TQ_GGUF_UINT32, .num.u = 3};
    tq_gguf_wkv al_t = {.key = "general.alignment", .type = TQ_GGUF_UINT64, .num.u = 32};
    tq_gguf_wkv badt = {.key = "x", .type = (tq_gguf_vtype)13};
    tq_gguf_wkv empty = {.key = "", .type = TQ_GGUF_UINT8};
    tq_gguf_wkv bool2 = {.key = "b", .type = TQ_GGUF_BOOL, .num.u = 2};
    tq_gguf_wkv fbig = {.key = "f", .type = TQ_GGUF_FLOAT32, .num.f = 1e300};
    tq_gguf_wtensor t1 = {"w", TQ_GGML_F32, 1, {4}, f};
    tq_gguf_wtensor tdup[2] = {t1, t1};
    tq_gguf_wtensor tlong = {"0123456789012345678901234567890123456789012345678901234567890123", TQ_GGML_F32, 1, {4}, f};
    tq_gguf_wtensor tblk = {"w", TQ_GGML_Q4_0, 1, {4}, f};
    tq_gguf_wtensor tdim = {"w", TQ_GGML_F32, 5, {4, 1, 1, 1}, f};
    tq_gguf_wtensor tzero = {"w", TQ_GGML_F32, 2, {4, 0}, f};
    tq_gguf_wtensor ttype = {"w", 4, 1, {32}, f};
    tq_gguf_layout lay;
    tq_error e;
    CHECK_ERR(tq_gguf_plan(dup, 2, NULL, 0, &lay, &e), e, TQ_E_ARG, "duplicate key general.architecture");
    CHECK_ERR(tq_gguf_plan(&nest, 1, NULL, 0, &lay, &e), e, TQ_E_ARG, "arrays of arrays");
    CHECK_ERR(tq_gguf_plan(&al3, 1, NULL, 0, &lay, &e), e, TQ_E_ARG, "power of two");
    CHECK_ERR(tq_gguf_plan(&al_t, 1, NULL, 0, &lay, &e), e, TQ_E_ARG, "must be UINT32");
    CHECK_ERR(tq_gguf_plan(&badt, 1, NULL, 0, &lay, &e), e, TQ_E_ARG, "unknown value type 13");
    CHECK_ERR(tq_gguf_plan(&empty, 1, NULL, 0, &lay, &e), e, TQ_E_ARG, "empty key");
    CHECK_ERR(tq_gguf_plan(&bool2, 1, NULL, 0, &lay, &e), e, TQ_E_ARG, "BOOL value 2");
    CHECK_ERR(tq_gguf_plan(&fbig, 1, NULL, 0, &lay, &e), e, TQ_E_ARG, "outside the FLOAT32 range");
    CHECK_ERR(tq_gguf_plan(&ok, 1, tdup, 2, &lay, &e), e, TQ_E_ARG, "duplicate tensor name w");
    CHECK_ERR(tq_gguf_plan(&ok, 1, &tlong, 1, &lay, &e), e, TQ_E_ARG, "64 bytes, over 63");
    CHECK_ERR(tq_gguf_plan(&ok, 1, &tblk, 1, &lay, &e), e, TQ_E_ARG, "not a multiple of the Q4_0 block size 32");
    CHECK_ERR(tq_gguf_plan(&ok, 1, &tdim, 1, &lay, &e), e, TQ_E_ARG, "n_dims 5");
    CHECK_ERR(tq_gguf_plan(&ok, 1, &tzero, 1, &lay, &e), e, TQ_E_ARG, "ne[1] = 0");
    CHECK_ERR(tq_gguf_plan(&ok, 1, &ttype, 1, &lay, &e), e, TQ_E_ARG, "unsupported ggml type 4 for tensor w");
    char *path = tq_t_path("never.gguf");
    CHECK_ERR(tq_gguf_write(path, &ok, 1, tdup, 2, &e), e, TQ_E_ARG, "never.gguf");
    struct stat st;
    CHECK(stat(path, &st) != 0);
    CHECK_ERR(tq_gguf_write("/nonexistent-dir/x.gguf", &ok, 1, &t1, 1, &e), e, TQ_E_IO, "nonexistent-dir");
}

/* ---- corrupt-input matrix over hand-laid files --------------------------- */
typedef struct bb { uint8_t b[4096]; size_t n; } bb;
static void p32(bb *b, uint32_t v) { tq_st32(b->b + b->n, v); b->n += 4; }
static void p64(bb *b, uint64_t v) { tq_st64(b->b + b->n, v); b->n += 8; }
static void pstr(bb *b, const char *s) { p64(b, strlen(s)); memcpy(b->b + b->n, s, strlen(s)); b->n += strlen(s); }

/* The knobs of the base file: 3 KVs (architecture, alignment, an INT16
 * array), tensors "a" (Q8_0, ne [32, 2], 68 B at 0) and "b" (F32, ne [8],
 * 32 B at 96). */
typedef struct spec {
    uint32_t version;
    uint64_t nt, nkv;                 /* 0: the real counts */
    const char *key1, *key2, *name_a, *name_b;
    uint32_t kv0_type, align_type, align_val, arr_elem;
    uint64_t arr_count;
    uint32_t a_ndims, a_type;
    int64_t a_ne[4];
    uint64_t b_offset;
    int nest;                         /* >0: key2 holds arrays nested this deep */
    uint8_t bool_val;                 /* !=0xff: a 4th KV "x.bool" */
} spec;

static spec base(void) {
    return (spec){3, 0, 0, "general.alignment", "x.arr", "a", "b", TQ_GGUF_STRING, TQ_GGUF_UINT32, 32, TQ_GGUF_INT16,
                  3, 2, TQ_GGML_Q8_0, {32, 2, 1, 1}, 96, 0, 0xff};
}

static void build(bb *b, const spec *s) {
    memset(b, 0, sizeof *b);
    memcpy(b->b, "GGUF", 4);
    b->n = 4;
    p32(b, s->version);
    p64(b, s->nt ? s->nt : 2);
    p64(b, s->nkv ? s->nkv : (s->bool_val != 0xff ? 4 : 3));
    pstr(b, "general.architecture");
    p32(b, s->kv0_type);
    pstr(b, "llama");
    pstr(b, s->key1);
    p32(b, s->align_type);
    p32(b, s->align_val);
    pstr(b, s->key2);
    p32(b, TQ_GGUF_ARRAY);
    for (int d = 0; d < s->nest; d++) { p32(b, TQ_GGUF_ARRAY); p64(b, 1); }
    p32(b, s->arr_elem);
    p64(b, s->arr_count);
    for (int i = 0; i < 3; i++) { tq_st16(b->b + b->n, (uint16_t)i); b->n += 2; }
    if (s->bool_val != 0xff) { pstr(b, "x.bool"); p32(b, TQ_GGUF_BOOL); b->b[b->n++] = s->bool_val; }
    pstr(b, s->name_a);
    p32(b, s->a_ndims);
    for (uint32_t k = 0; k < s->a_ndims && k < 8; k++) p64(b, (uint64_t)s->a_ne[k < 4 ? k : 3]);
    p32(b, s->a_type);
    p64(b, 0);
    pstr(b, s->name_b);
    p32(b, 1);
    p64(b, 8);
    p32(b, TQ_GGML_F32);
    p64(b, s->b_offset);
    size_t al = s->align_val == 64 ? 64 : 32;
    b->n = (b->n + al - 1) / al * al;
    for (int i = 0; i < 68; i++) b->b[b->n + (size_t)i] = (uint8_t)(i * 37);
    size_t boff = (size_t)(s->b_offset < 1000 ? s->b_offset : 96), end = b->n + (boff + 32 > 96 ? boff + 32 : 96);
    b->n = (end + 31) / 32 * 32;
}

static void corrupt_matrix(void) {
    TQ_CASE("corrupt-input matrix: each case a specific status and message");
    bb b;
    tq_gguf g;
    tq_error e;
    spec s = base();
    build(&b, &s);
    CHECK_OK(tq_gguf_parse(b.b, b.n, "base.gguf", &g, &e), e);
    CHECK(g.n_kv == 3 && g.n_tensors == 2 && g.kv[2].v.count == 3 && g.tensors[1].rel_offset == 96);
    CHECK_EQ_INT(g.header_bytes + g.kv_bytes + g.info_bytes + g.pad_info_bytes + g.tensor_bytes + g.pad_tensor_bytes +
                 g.trailing_bytes, b.n);
    tq_gguf_free(&g);

#define CASE(mut, want, frag) do { spec s_ = base(); mut; build(&b, &s_); \
        tq_status st_ = tq_gguf_parse(b.b, b.n, "bad.gguf", &g, &e); \
        CHECK_ERR(st_, e, want, frag); CHECK(strstr(e.msg, "bad.gguf") != NULL); \
        CHECK(g.kv == NULL && g.tensors == NULL); } while (0)
#define CASE_OK(mut) do { spec s_ = base(); mut; build(&b, &s_); \
        CHECK_OK(tq_gguf_parse(b.b, b.n, "ok.gguf", &g, &e), e); tq_gguf_free(&g); } while (0)
    CASE(s_.version = 1, TQ_E_UNSUPPORTED, "GGUF version 1 at offset 4 is not supported");
    CASE(s_.version = 4, TQ_E_UNSUPPORTED, "GGUF version 4");
    CASE(s_.version = 0, TQ_E_FORMAT, "version 0");
    CASE(s_.version = 0x03000000u, TQ_E_UNSUPPORTED, "big-endian");
    CASE_OK(s_.version = 2);   /* v2 is accepted: the layout is v3's */
    CASE(s_.nkv = 1ull << 40, TQ_E_FORMAT, "kv_count 1099511627776");
    CASE(s_.nkv = (1ull << 63) + 1, TQ_E_FORMAT, "kv_count");
    CASE(s_.nt = 1ull << 40, TQ_E_FORMAT, "tensor_count 1099511627776");
    CASE(s_.nt = 3, TQ_E_FORMAT, "tensor : n_dims 0 at offset 219");   /* the padding read as a 3rd info */
    CASE(s_.kv0_type = 13, TQ_E_FORMAT, "key general.architecture: unknown value type 13");
    CASE(s_.kv0_type = 0xffffffffu, TQ_E_FORMAT, "unknown value type 4294967295");
    CASE(s_.kv0_type = TQ_GGUF_UINT64, TQ_E_FORMAT, "");   /* misparses what follows */
    CASE(s_.key1 = "general.architecture", TQ_E_FORMAT, "duplicate key general.architecture");
    CASE(s_.key2 = "", TQ_E_FORMAT, "empty key at offset");
    CASE(s_.nest = 1, TQ_E_UNSUPPORTED, "key x.arr: array of arrays");
    CASE(s_.nest = 20, TQ_E_UNSUPPORTED, "array of arrays");
    CASE(s_.arr_elem = 13, TQ_E_FORMAT, "unknown array element type 13");
    CASE(s_.arr_count = 1ull << 31, TQ_E_LIMIT, "array count 2147483648");
    CASE(s_.arr_count = 1000000, TQ_E_FORMAT, "array of 1000000 INT16");
    CASE(s_.arr_elem = TQ_GGUF_STRING, TQ_E_FORMAT, "past the end");
    CASE(s_.bool_val = 2, TQ_E_FORMAT, "BOOL value");
    CASE_OK(s_.bool_val = 1);
    CASE_OK((s_.align_val = 64, s_.b_offset = 128));
    CASE(s_.align_val = 0, TQ_E_FORMAT, "general.alignment is 0, must be a power of two");
    CASE(s_.align_val = 3, TQ_E_FORMAT, "general.alignment is 3");
    CASE(s_.align_type = TQ_GGUF_INT32, TQ_E_FORMAT, "general.alignment has type INT32, must be UINT32");
    CASE(s_.align_val = 64, TQ_E_FORMAT, "data offset 96 is not a multiple of the alignment 64");
    CASE(s_.name_b = "a", TQ_E_FORMAT, "duplicate tensor name a");
    CASE(s_.name_a = "0123456789012345678901234567890123456789012345678901234567890123", TQ_E_LIMIT, "over the limit of 63");
    CASE(s_.a_ndims = 0, TQ_E_FORMAT, "n_dims 0");
    CASE(s_.a_ndims = 5, TQ_E_FORMAT, "n_dims 5");
    CASE(s_.a_ne[1] = 0, TQ_E_FORMAT, "ne[1] = 0");
    CASE(s_.a_ne[1] = -1, TQ_E_FORMAT, "ne[1] = -1");
    CASE((s_.a_ndims = 4, s_.a_ne[1] = 1ll << 40, s_.a_ne[2] = 1ll << 40), TQ_E_LIMIT, "overflows int64");
    CASE((s_.a_ndims = 3, s_.a_ne[0] = 1ll << 58, s_.a_ne[1] = 32), TQ_E_LIMIT, "overflow");
    CASE(s_.a_ne[0] = 33, TQ_E_FORMAT, "ne[0] = 33 is not a multiple of the Q8_0 block size 32");
    CASE(s_.a_type = 4, TQ_E_UNSUPPORTED, "unsupported ggml type 4 for tensor a");
    CASE(s_.a_type = 43, TQ_E_UNSUPPORTED, "unsupported ggml type 43 for tensor a");
    CASE(s_.a_type = 0xffffffffu, TQ_E_UNSUPPORTED, "unsupported ggml type -1 for tensor a");
    CASE(s_.b_offset = 97, TQ_E_FORMAT, "tensor b: data offset 97 is not a multiple of the alignment 32");
    CASE(s_.b_offset = 1ull << 20, TQ_E_FORMAT, "tensor b: data at offset");
    CASE(s_.b_offset = 1ull << 20, TQ_E_FORMAT, "runs past the end of the file");
    CASE(s_.b_offset = UINT64_MAX - 31, TQ_E_FORMAT, "runs past the end");
    CASE(s_.b_offset = 64, TQ_E_FORMAT, "tensor b: data offset 64 overlaps tensor a, which ends at 68");
    CASE(s_.b_offset = 0, TQ_E_FORMAT, "overlaps tensor a");
    CASE(s_.b_offset = 128, TQ_E_FORMAT, "leaves a gap after a (expected 96");
#undef CASE
#undef CASE_OK

    /* bad magic, short files, string lengths past the end */
    build(&b, &s);
    b.b[0] = 'X';
    CHECK_ERR(tq_gguf_parse(b.b, b.n, "bad.gguf", &g, &e), e, TQ_E_FORMAT, "bad.gguf: bad magic");
    CHECK_ERR(tq_gguf_parse(b.b, 0, "bad.gguf", &g, &e), e, TQ_E_FORMAT, "bad magic");
    build(&b, &s);
    CHECK_ERR(tq_gguf_parse(b.b, 6, "bad.gguf", &g, &e), e, TQ_E_FORMAT, "truncated at offset 4: version");
    CHECK_ERR(tq_gguf_parse(b.b, 20, "bad.gguf", &g, &e), e, TQ_E_FORMAT, "truncated at offset 16: kv_count");
    CHECK_ERR(tq_gguf_parse(b.b, 24, "bad.gguf", &g, &e), e, TQ_E_FORMAT, "kv_count 3 at offset 16 cannot fit");
    tq_st64(b.b + 24, 1000000);   /* the first key's length */
    CHECK_ERR(tq_gguf_parse(b.b, b.n, "bad.gguf", &g, &e), e, TQ_E_FORMAT, "key: string length 1000000 at offset 24 runs past");
    build(&b, &s);
    tq_st64(b.b + 24 + 8 + 20 + 4, 1ull << 62);   /* the first value's length */
    CHECK_ERR(tq_gguf_parse(b.b, b.n, "bad.gguf", &g, &e), e, TQ_E_FORMAT, "value of key general.architecture");
    /* NUL inside a key or tensor name */
    build(&b, &s);
    b.b[24 + 8 + 3] = 0;
    CHECK_ERR(tq_gguf_parse(b.b, b.n, "bad.gguf", &g, &e), e, TQ_E_FORMAT, "holds a NUL byte");
    /* a truncation inside every field of the base file is a FORMAT error */
    build(&b, &s);
    int bad = 0;
    size_t data_end = b.n - 32 + 32;   /* "b" ends exactly at the padded end */
    for (size_t len = 0; len < data_end; len++)
        if (tq_gguf_parse(b.b, len, "cut.gguf", &g, &e) != TQ_E_FORMAT || !strstr(e.msg, "cut.gguf")) bad++;
    CHECK_EQ_INT(bad, 0);
    CHECK_OK(tq_gguf_parse(b.b, data_end, "cut.gguf", &g, &e), e);
    tq_gguf_free(&g);
    /* a NULL error is allowed */
    CHECK(tq_gguf_parse(b.b, 10, "x", &g, NULL) == TQ_E_FORMAT);
}

static void unsupported_tensor_types(void) {
    TQ_CASE("a known type without a decoder is read, and dequantizing it is a named error");
    uint8_t blk[66] = {0};
    tq_gguf_wkv kv = {.key = "general.architecture", .type = TQ_GGUF_STRING, .str = "llama", .str_len = 5};
    tq_gguf_wtensor t = {"iq", TQ_GGML_IQ2_XXS, 1, {256}, blk};
    uint8_t *img;
    uint64_t n;
    tq_error e;
    CHECK_OK(tq_gguf_write_mem(&kv, 1, &t, 1, &img, &n, &e), e);
    tq_gguf g;
    CHECK_OK(tq_gguf_parse(img, n, "iq.gguf", &g, &e), e);
    float y[256];
    CHECK_ERR(tq_gguf_tensor_to_f32(&g, 0, y, &e), e, TQ_E_UNSUPPORTED, "unsupported ggml type IQ2_XXS (16) for tensor iq");
    tq_gguf_free(&g);
    free(img);
}

void tq_tests(void) {
    worked_example();
    round_trip();
    writer_errors();
    corrupt_matrix();
    unsupported_tensor_types();
}
