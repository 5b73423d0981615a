/*
 * test_safetensors.c — the safetensors reader and writer (src/io/safetensors.c,
 * docs/formats/safetensors.md).
 *
 *   - the known-answer files of FORMATS.md 1.5, built here byte by byte from
 *     the header texts the reference implementation's tests give, compared
 *     with what our writer produces;
 *   - the reference's acceptance and rejection cases;
 *   - a corrupt-input matrix: each case a status, a message substring naming
 *     the fault, and the file's path in the message; nothing left behind;
 *   - writer -> reader round trips of every dtype, with metadata, the sort
 *     order and 8-byte alignment; writer refusals and aborts leave no file;
 *   - the stories260K checkpoint: its token embedding equals the floats at the
 *     offset computed from the llama2.c .bin export of the same model.
 */
#include "tq_test.h"
#include "io/safetensors.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ===== helpers ============================================================= */

static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* The bytes of a safetensors file: u64 N, the header text (hlen bytes, may
 * hold NULs), `pad` spaces, then dlen data bytes. N = hlen + pad unless
 * n_override != UINT64_MAX. Returns malloc'd bytes, *size set. */
static uint8_t *st_bytes(const char *hdr, size_t hlen, size_t pad, const void *data, size_t dlen, uint64_t n_override,
                         size_t *size) {
    *size = 8 + hlen + pad + dlen;
    uint8_t *b = malloc(*size);
    put64(b, n_override != UINT64_MAX ? n_override : (uint64_t)(hlen + pad));
    memcpy(b + 8, hdr, hlen);
    memset(b + 8 + hlen, ' ', pad);
    if (dlen) memcpy(b + 8 + hlen + pad, data, dlen);
    return b;
}

static char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long k = ftell(f);
    rewind(f);
    char *b = malloc((size_t)k + 1);
    if (fread(b, 1, (size_t)k, f) != (size_t)k) { free(b); fclose(f); return NULL; }
    fclose(f);
    *n = (size_t)k;
    return b;
}

/* Number of entries in the test directory whose name contains `part`. */
static int dir_count(const char *part) {
    DIR *d = opendir(tq_t_tmpdir());
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) if (strstr(de->d_name, part)) n++;
    if (d) closedir(d);
    return n;
}

static const float SIX[6] = {0, 1, 2, 3, 4, 5};

/* Write entries with our writer; data[i] holds entry i's bytes. */
static tq_status write_st(const char *path, const tq_wentry *e, int64_t n, const void *const *data,
                          const char *const *mk, const char *const *mv, int nm, tq_error *err) {
    tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, path, e, n, mk, mv, nm, err);
    if (!w) return err->status;
    tq_status st = TQ_OK;
    for (int64_t i = 0; i < n && !st; i++)
        st = tq_writer_put(w, i, data[i], tq_nbytes(e[i].dtype, e[i].ndim, e[i].shape), err);
    if (!st) st = tq_writer_finish(w, err);
    tq_writer_free(w);
    return st;
}

static void check_file_equals(const char *path, const uint8_t *want, size_t n) {
    size_t got_n = 0;
    char *got = read_all(path, &got_n);
    CHECK(got != NULL);
    CHECK_EQ_INT(got_n, n);
    CHECK_MSG(got && got_n == n && memcmp(got, want, n) == 0, "%s differs from the expected bytes", path);
    free(got);
}

/* ===== known answers (FORMATS.md 1.5) ======================================= */

static void kat_attn0_dot(void) {
    TQ_CASE("KAT: attn.0 F32 [1,2,3] is a 96-byte file");
    const char *h = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
    CHECK_EQ_INT(strlen(h), 64);
    size_t n;
    uint8_t *want = st_bytes(h, strlen(h), 0, SIX, 24, UINT64_MAX, &n);
    CHECK_EQ_INT(n, 96);
    tq_wentry e = {.name = "attn.0", .dtype = TQ_DTYPE_F32, .ndim = 3, .shape = {1, 2, 3}};
    const void *d[1] = {SIX};
    tq_error err;
    const char *p = tq_t_path("kat_attn.0.safetensors");
    CHECK_OK(write_st(p, &e, 1, d, NULL, NULL, 0, &err), err);
    check_file_equals(p, want, n);
    free(want);
}

static void kat_attn0(void) {
    TQ_CASE("KAT: attn0 F32 [1,1,2,3] pads its 65-byte header to 72 (104 bytes)");
    const char *h = "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}";
    CHECK_EQ_INT(strlen(h), 65);
    size_t n;
    uint8_t *want = st_bytes(h, strlen(h), 7, SIX, 24, UINT64_MAX, &n);
    CHECK_EQ_INT(n, 104);
    CHECK_EQ_INT(want[0], 72);
    tq_wentry e = {.name = "attn0", .dtype = TQ_DTYPE_F32, .ndim = 4, .shape = {1, 1, 2, 3}};
    const void *d[1] = {SIX};
    tq_error err;
    const char *p = tq_t_path("kat_attn0.safetensors");
    CHECK_OK(write_st(p, &e, 1, d, NULL, NULL, 0, &err), err);
    check_file_equals(p, want, n);
    free(want);
}

static void kat_empty(void) {
    TQ_CASE("KAT: empty dict is 16 bytes; metadata-only is 48");
    size_t n;
    uint8_t *want = st_bytes("{}", 2, 6, NULL, 0, UINT64_MAX, &n);
    CHECK_EQ_INT(n, 16);
    tq_error err;
    const char *p = tq_t_path("kat_empty.safetensors");
    CHECK_OK(write_st(p, NULL, 0, NULL, NULL, NULL, 0, &err), err);
    check_file_equals(p, want, n);
    free(want);
    tq_model *m = tq_model_open(p, &err);
    CHECK(m != NULL);
    if (m) { CHECK_EQ_INT(tq_model_count(m), 0); tq_model_close(m); }

    const char *h = "{\"__metadata__\":{\"framework\":\"pt\"}}";
    CHECK_EQ_INT(strlen(h), 35);
    want = st_bytes(h, strlen(h), 5, NULL, 0, UINT64_MAX, &n);
    CHECK_EQ_INT(n, 48);
    const char *mk[] = {"framework"}, *mv[] = {"pt"};
    p = tq_t_path("kat_meta.safetensors");
    CHECK_OK(write_st(p, NULL, 0, NULL, mk, mv, 1, &err), err);
    check_file_equals(p, want, n);
    free(want);
    m = tq_model_open(p, &err);
    CHECK(m != NULL);
    if (m) {
        const char *v = tq_model_meta(m, "framework");
        CHECK(v && strcmp(v, "pt") == 0);
        tq_model_close(m);
    }
}

static void kat_f4(void) {
    TQ_CASE("KAT: F4 [1,2] with one data byte is 73 bytes");
    const char *h = "{\"weight\":{\"dtype\":\"F4\",\"shape\":[1,2],\"data_offsets\":[0,1]}}";
    CHECK_EQ_INT(strlen(h), 60);
    const uint8_t byte = 0x21;
    size_t n;
    uint8_t *want = st_bytes(h, strlen(h), 4, &byte, 1, UINT64_MAX, &n);
    CHECK_EQ_INT(n, 73);
    tq_wentry e = {.name = "weight", .dtype = TQ_DTYPE_F4, .ndim = 2, .shape = {1, 2}};
    const void *d[1] = {&byte};
    tq_error err;
    const char *p = tq_t_path("kat_f4.safetensors");
    CHECK_OK(write_st(p, &e, 1, d, NULL, NULL, 0, &err), err);
    check_file_equals(p, want, n);
    free(want);
    tq_model *m = tq_model_open(p, &err);
    CHECK_OK(m ? TQ_OK : err.status, err);
    if (m) {
        const tq_tensor *t = tq_model_find(m, "weight");
        CHECK(t && t->dtype == TQ_DTYPE_F4 && t->numel == 2 && t->nbytes == 1 && ((const uint8_t *)t->data)[0] == 0x21);
        tq_model_close(m);
    }
}

static void kat_sort_order(void) {
    TQ_CASE("writer: __metadata__ first, tensors by descending dtype rank then name, each 8-byte aligned");
    /* ranks (FORMATS.md 1.3): U8 < I16 < F16 < BF16 < F32 < I64 */
    uint8_t u8[3] = {1, 2, 3};
    uint16_t f16[2] = {0x3c00, 0xc000}, bf[1] = {0x3f80}, i16[1] = {7};
    float f32[1] = {1.5f};
    int64_t i64[1] = {-2};
    tq_wentry e[] = {
        {.name = "u", .dtype = TQ_DTYPE_U8, .ndim = 1, .shape = {3}},
        {.name = "h2", .dtype = TQ_DTYPE_F16, .ndim = 1, .shape = {2}},
        {.name = "h1", .dtype = TQ_DTYPE_F16, .ndim = 0},
        {.name = "b", .dtype = TQ_DTYPE_BF16, .ndim = 1, .shape = {1}},
        {.name = "f", .dtype = TQ_DTYPE_F32, .ndim = 1, .shape = {1}},
        {.name = "s", .dtype = TQ_DTYPE_I16, .ndim = 1, .shape = {1}},
        {.name = "l", .dtype = TQ_DTYPE_I64, .ndim = 1, .shape = {1}},
    };
    const void *d[] = {u8, f16, &f16[1], bf, f32, i16, i64};
    const char *mk[] = {"format", "k\"q"}, *mv[] = {"pt", "v\\w"};
    /* expected, by hand: l(I64) f(F32) b(BF16) h1 h2 (F16, by name) s(I16) u(U8) */
    const char *h =
        "{\"__metadata__\":{\"format\":\"pt\",\"k\\\"q\":\"v\\\\w\"},"
        "\"l\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
        "\"f\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
        "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[12,14]},"
        "\"h1\":{\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[14,16]},"
        "\"h2\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[16,20]},"
        "\"s\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[20,22]},"
        "\"u\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[22,25]}}";
    uint8_t data[25];
    memcpy(data, i64, 8); memcpy(data + 8, f32, 4); memcpy(data + 12, bf, 2); memcpy(data + 14, &f16[1], 2);
    memcpy(data + 16, f16, 4); memcpy(data + 20, i16, 2); memcpy(data + 22, u8, 3);
    size_t hl = strlen(h), n;
    uint8_t *want = st_bytes(h, hl, (8 - hl % 8) % 8, data, sizeof data, UINT64_MAX, &n);
    tq_error err;
    const char *p = tq_t_path("sorted.safetensors");
    CHECK_OK(write_st(p, e, 7, d, mk, mv, 2, &err), err);
    check_file_equals(p, want, n);
    free(want);
    tq_model *m = tq_model_open(p, &err);
    CHECK_OK(m ? TQ_OK : err.status, err);
    if (m) {
        const tq_tensor *t = tq_model_find(m, "l");
        CHECK(t && ((uintptr_t)t->data % 8) == 0);
        t = tq_model_find(m, "f");
        CHECK(t && ((uintptr_t)t->data % 8) == 0);
        const char *v = tq_model_meta(m, "k\"q");
        CHECK(v && strcmp(v, "v\\w") == 0);
        tq_model_close(m);
    }
}

/* ===== reference acceptance / rejection cases ================================ */

/* Write bytes to a fresh file in the test dir and open them. */
static tq_model *open_bytes(const char *fname, const uint8_t *b, size_t n, tq_error *err) {
    const char *p = tq_t_path(fname);
    tq_t_write(p, b, n);
    return tq_model_open(p, err);
}

static void expect_ok(const char *fname, const char *hdr, size_t hlen, size_t pad, const void *data, size_t dlen,
                      int64_t want_count) {
    size_t n;
    uint8_t *b = st_bytes(hdr, hlen, pad, data, dlen, UINT64_MAX, &n);
    tq_error err;
    tq_model *m = open_bytes(fname, b, n, &err);
    CHECK_MSG(m != NULL, "%s: %s", fname, err.msg);
    if (m) { CHECK_EQ_INT(tq_model_count(m), want_count); tq_model_close(m); }
    free(b);
}

/* The raw bytes must fail with status `want`, a message holding `substr` and the path. */
static void expect_fail_raw(const char *fname, const uint8_t *b, size_t n, tq_status want, const char *substr) {
    int before = dir_count("");
    tq_error err;
    tq_model *m = open_bytes(fname, b, n, &err);
    CHECK_MSG(m == NULL, "%s opened", fname);
    if (m) { tq_model_close(m); return; }
    CHECK_ERR(err.status, err, want, substr);
    CHECK_MSG(strstr(err.msg, fname) != NULL, "message does not name the file: %s", err.msg);
    CHECK_EQ_INT(dir_count(""), before + 1);   /* only the input itself was added */
    CHECK_EQ_INT(dir_count(".tq-tmp"), 0);
    /* the parser on the same bytes, without the loader */
    tq_container c;
    tq_status st = tq_safetensors_parse(b, n, fname, &c, &err);
    CHECK_ERR(st, err, want, substr);
    CHECK(c.n == 0 && c.entries == NULL && c.n_meta == 0);
}

static void expect_fail(const char *fname, const char *hdr, size_t hlen, size_t pad, const void *data, size_t dlen,
                        tq_status want, const char *substr) {
    size_t n;
    uint8_t *b = st_bytes(hdr, hlen, pad, data, dlen, UINT64_MAX, &n);
    expect_fail_raw(fname, b, n, want, substr);
    free(b);
}
static const uint8_t zeros[256];
#define FAILS(fname, hdr, dlen, want, substr) expect_fail(fname, hdr, strlen(hdr), 0, zeros, dlen, want, substr)

static void reference_cases(void) {
    TQ_CASE("reference acceptance cases");
    const char *h = "{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}";
    expect_ok("acc_scalar.safetensors", h, strlen(h), 5, zeros, 4, 1);
    h = "{\"e\":{\"dtype\":\"F32\",\"shape\":[2,0],\"data_offsets\":[0,0]}}";
    expect_ok("acc_empty.safetensors", h, strlen(h), 0, NULL, 0, 1);
    expect_ok("acc_ws.safetensors", "\t\n{}\r ", 6, 0, NULL, 0, 0);
    /* "__metadata__": null is no metadata (the reference reads an Option of a map;
     * mx.save_safetensors without metadata and some converters write it) */
    h = "{\"__metadata__\":null,\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
    expect_ok("acc_metanull.safetensors", h, strlen(h), 0, "xy", 2, 1);
    h = "{\"__metadata__\":{},\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
    expect_ok("acc_metaempty.safetensors", h, strlen(h), 0, "xy", 2, 1);
    h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2],\"extra\":1},"
        "\"b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[2,2]}}";   /* unknown field ignored; empty at the end */
    expect_ok("acc_extra.safetensors", h, strlen(h), 0, "xy", 2, 2);
    h = "{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    expect_ok("acc_order.safetensors", h, strlen(h), 0, "xy", 2, 2);   /* header order is irrelevant */
    h = "{\"\\u00e9\\ud83d\\ude00\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    expect_ok("acc_escape.safetensors", h, strlen(h), 0, "x", 1, 1);
    {   /* MLX style: no padding, data unaligned */
        h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        float one = 1.0f;
        size_t n;
        uint8_t *b = st_bytes(h, strlen(h), 0, &one, 4, UINT64_MAX, &n);
        tq_error err;
        tq_model *m = open_bytes("acc_unaligned.safetensors", b, n, &err);
        CHECK_MSG(m != NULL, "%s", err.msg);
        if (m) {
            float v = 0;
            CHECK_OK(tq_model_tensor_f32(m, tq_model_find(m, "a"), &v, &err), err);
            CHECK(v == 1.0f);
            tq_model_close(m);
        }
        free(b);
    }

    TQ_CASE("reference rejection cases");
    {
        uint8_t b[16] = {0};
        put64(b, 0xFFFFFFFFFFFF0000ull);
        expect_fail_raw("rej_huge.safetensors", b, 16, TQ_E_FORMAT, "exceeds the limit of 100000000");
        expect_fail_raw("rej_empty.safetensors", b, 0, TQ_E_FORMAT, "is 0 bytes, shorter than the 8-byte");
        put64(b, 60);
        expect_fail_raw("rej_nohdr.safetensors", b, 8, TQ_E_FORMAT, "header length 60 runs past the end");
    }
    expect_fail("rej_ff.safetensors", "\xff", 1, 0, NULL, 0, TQ_E_FORMAT, "not valid UTF-8");
    expect_fail("rej_brace.safetensors", "{", 1, 0, NULL, 0, TQ_E_FORMAT, "not valid JSON");
    const char *one = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
    expect_fail("rej_extra.safetensors", one, strlen(one), 0, zeros, 25, TQ_E_FORMAT, "trailing bytes");
    expect_fail("rej_missing2.safetensors", one, strlen(one), 0, zeros, 22, TQ_E_FORMAT, "outside the 22-byte data area");
    FAILS("rej_info.safetensors", "{\"a\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,4]}}", 4,
          TQ_E_FORMAT, "I32 shape needs 16 bytes but data_offsets [0, 4] hold 4");
    FAILS("rej_overflow.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,18446744073709551614],\"data_offsets\":[0,4]}}", 4,
          TQ_E_FORMAT, "shape[1] is not an integer");
    FAILS("rej_overflow2.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,4]}}", 4,
          TQ_E_FORMAT, "element count overflows");
    {
        char ten[1024] = "{";
        for (int i = 0; i < 10; i++)
            snprintf(ten + strlen(ten), sizeof ten - strlen(ten), "%s\"t%d\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}",
                     i ? "," : "", i);
        strcat(ten, "}");
        FAILS("rej_same.safetensors", ten, 16, TQ_E_FORMAT, "overlaps the previous tensor");
    }
}

/* ===== corrupt-input matrix ================================================ */

static void corrupt_matrix(void) {
    TQ_CASE("corrupt matrix: sizes and header framing");
    expect_fail_raw("c_short.safetensors", (const uint8_t *)"\x08\0\0", 3, TQ_E_FORMAT, "is 3 bytes, shorter than");
    {
        uint8_t b[8];
        put64(b, 100000001ull);
        expect_fail_raw("c_limit.safetensors", b, 8, TQ_E_FORMAT, "header length 100000001 exceeds the limit");
        put64(b, 100000000ull);   /* at the limit: allowed by the limit, but past EOF */
        expect_fail_raw("c_atlimit.safetensors", b, 8, TQ_E_FORMAT, "runs past the end of the file (8 bytes)");
        put64(b, 0);
        expect_fail_raw("c_n0.safetensors", b, 8, TQ_E_FORMAT, "not valid JSON");
    }
    {
        size_t n;
        uint8_t *b = st_bytes("{}", 2, 6, NULL, 0, 9, &n);
        expect_fail_raw("c_past.safetensors", b, n, TQ_E_FORMAT, "header length 9 runs past the end of the file (16 bytes)");
        free(b);
    }
    const char *one = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}";
    expect_fail("c_trunc.safetensors", one, strlen(one), 0, zeros, 3, TQ_E_FORMAT, "file truncated");
    expect_fail("c_trail.safetensors", one, strlen(one), 0, zeros, 5, TQ_E_FORMAT,
                "tensors cover 4 bytes of data but the file holds 5 after the header (trailing bytes)");
    expect_fail("c_trail0.safetensors", "{}", 2, 6, zeros, 1, TQ_E_FORMAT, "trailing bytes");

    TQ_CASE("corrupt matrix: encoding and JSON");
    expect_fail("c_utf8.safetensors", "{\"\xc3\x28\":1}", 7, 0, NULL, 0, TQ_E_FORMAT, "not valid UTF-8 (byte 2 of the header)");
    expect_fail("c_overlong.safetensors", "{\"\xc0\x80\":1}", 7, 0, NULL, 0, TQ_E_FORMAT, "not valid UTF-8");
    expect_fail("c_surrogate.safetensors", "{\"\xed\xa0\x80\":1}", 8, 0, NULL, 0, TQ_E_FORMAT, "not valid UTF-8");
    expect_fail("c_cut.safetensors", "{\"\xe2\x82", 4, 0, NULL, 0, TQ_E_FORMAT, "not valid UTF-8");
    expect_fail("c_nul.safetensors", "{}\0", 3, 5, NULL, 0, TQ_E_FORMAT, "NUL byte at 2");
    expect_fail("c_escnul.safetensors", "{\"a\\u0000b\":{}}", 15, 1, NULL, 0, TQ_E_FORMAT, "escapes a NUL character");
    expect_fail("c_bom.safetensors", "\xef\xbb\xbf{}", 5, 3, NULL, 0, TQ_E_FORMAT, "byte order mark");
    expect_fail("c_json.safetensors", "{\"a\":}", 6, 2, NULL, 0, TQ_E_FORMAT, "not valid JSON");
    expect_fail("c_after.safetensors", "{}x", 3, 5, NULL, 0, TQ_E_FORMAT, "bytes after its JSON object (byte 2");
    expect_fail("c_two.safetensors", "{}{}", 4, 4, NULL, 0, TQ_E_FORMAT, "bytes after its JSON object");
    expect_fail("c_array.safetensors", "[]", 2, 6, NULL, 0, TQ_E_FORMAT, "JSON but not an object");
    expect_fail("c_string.safetensors", "\"x\"", 3, 5, NULL, 0, TQ_E_FORMAT, "JSON but not an object");
    FAILS("c_dup.safetensors",
          "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
          2, TQ_E_FORMAT, "duplicate key \"a\" in header");
    FAILS("c_dupmeta.safetensors", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, TQ_E_FORMAT, "duplicate key \"__metadata__\"");
    FAILS("c_dupfield.safetensors", "{\"a\":{\"dtype\":\"U8\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
          TQ_E_FORMAT, "tensor \"a\": duplicate field \"dtype\"");

    TQ_CASE("corrupt matrix: entries");
    FAILS("c_entry.safetensors", "{\"a\":[1]}", 0, TQ_E_FORMAT, "tensor \"a\": entry is not an object");
    FAILS("c_nodtype.safetensors", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1, TQ_E_FORMAT, "tensor \"a\": missing or non-string dtype");
    FAILS("c_numdtype.safetensors", "{\"a\":{\"dtype\":8,\"shape\":[1],\"data_offsets\":[0,1]}}", 1, TQ_E_FORMAT, "missing or non-string dtype");
    FAILS("c_dtype.safetensors", "{\"a\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, TQ_E_FORMAT, "unknown dtype \"F12\"");
    FAILS("c_dtypecase.safetensors", "{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, TQ_E_FORMAT, "unknown dtype \"f32\"");
    FAILS("c_noshape.safetensors", "{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", 1, TQ_E_FORMAT, "missing or non-array shape");
    FAILS("c_shapeobj.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":3,\"data_offsets\":[0,3]}}", 3, TQ_E_FORMAT, "missing or non-array shape");
    FAILS("c_neg.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2,-1],\"data_offsets\":[0,1]}}", 1, TQ_E_FORMAT, "shape[1] is not an integer in [0, 2^53]");
    FAILS("c_frac.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,1]}}", 1, TQ_E_FORMAT, "shape[0] is not an integer");
    FAILS("c_strdim.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[\"1\"],\"data_offsets\":[0,1]}}", 1, TQ_E_FORMAT, "shape[0] is not an integer");
    FAILS("c_dims.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1,
          TQ_E_LIMIT, "tensor \"a\": 9 dimensions, trueq handles at most 8");
    FAILS("c_dims8.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1],\"data_offsets\":[0,2]}}", 2,
          TQ_E_FORMAT, "needs 1 bytes but data_offsets [0, 2] hold 2");   /* 8 dims parse */
    FAILS("c_nooff.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1, TQ_E_FORMAT, "data_offsets must be an array of two");
    FAILS("c_off1.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1]}}", 1, TQ_E_FORMAT, "data_offsets must be an array of two");
    FAILS("c_off3.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}", 1, TQ_E_FORMAT, "data_offsets must be an array of two");
    FAILS("c_offstr.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[\"0\",\"1\"]}}", 1, TQ_E_FORMAT, "data_offsets must be");
    FAILS("c_offneg.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[-1,0]}}", 1, TQ_E_FORMAT, "data_offsets must be");
    FAILS("c_offobj.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":{\"0\":1}}}", 1, TQ_E_FORMAT, "data_offsets must be");
    FAILS("c_backward.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,1]}}", 2, TQ_E_FORMAT,
          "data_offsets [2, 1] end before they begin");
    FAILS("c_outside.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[9,10]}}", 2, TQ_E_FORMAT,
          "data_offsets [9, 10] point outside the 2-byte data area");
    FAILS("c_size.safetensors", "{\"a\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,4]}}", 4, TQ_E_FORMAT,
          "F16 shape needs 6 bytes but data_offsets [0, 4] hold 4");
    FAILS("c_f4odd.safetensors", "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2, TQ_E_FORMAT,
          "3 F4 elements do not fill whole bytes");
    FAILS("c_f6.safetensors", "{\"a\":{\"dtype\":\"F6_E2M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2, TQ_E_FORMAT,
          "2 F6_E2M3 elements do not fill whole bytes");
    FAILS("c_overlap.safetensors",
          "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[2,6]}}",
          6, TQ_E_FORMAT, "tensor \"b\": data_offsets begin at 2, which overlaps the previous tensor (expected 4)");
    FAILS("c_hole.safetensors",
          "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[3,5]}}",
          5, TQ_E_FORMAT, "tensor \"b\": data_offsets begin at 3, which leaves a hole after the previous tensor (expected 2)");
    FAILS("c_hole0.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}", 3, TQ_E_FORMAT,
          "begin at 1, which leaves a hole");

    TQ_CASE("corrupt matrix: __metadata__");
    FAILS("c_metaarr.safetensors", "{\"__metadata__\":[\"a\"]}", 0, TQ_E_FORMAT, "__metadata__ is not an object");
    FAILS("c_metastr.safetensors", "{\"__metadata__\":\"pt\"}", 0, TQ_E_FORMAT, "__metadata__ is not an object");
    /* null is accepted (reference_cases); the reference refuses every other non-map */
    FAILS("c_metabool.safetensors", "{\"__metadata__\":true}", 0, TQ_E_FORMAT, "__metadata__ is not an object");
    FAILS("c_metaint.safetensors", "{\"__metadata__\":1}", 0, TQ_E_FORMAT, "__metadata__ is not an object");
    FAILS("c_metafalse.safetensors", "{\"__metadata__\":false}", 0, TQ_E_FORMAT, "__metadata__ is not an object");
    FAILS("c_metanum.safetensors", "{\"__metadata__\":{\"format\":\"pt\",\"n\":1}}", 0, TQ_E_FORMAT,
          "__metadata__ value for \"n\" is not a string");
    FAILS("c_metaobj.safetensors", "{\"__metadata__\":{\"o\":{}}}", 0, TQ_E_FORMAT, "__metadata__ value for \"o\" is not a string");
    FAILS("c_metanull.safetensors", "{\"__metadata__\":{\"z\":null}}", 0, TQ_E_FORMAT, "value for \"z\" is not a string");
    FAILS("c_metadup.safetensors", "{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, TQ_E_FORMAT, "__metadata__ has a duplicate key \"k\"");
}

/* A failed parse must not close file descriptor 0 (a zeroed container once did). */
static void fd_zero_kept(void) {
    TQ_CASE("a failed parse leaves file descriptor 0 alone");
    int saved = dup(0);
    int fd = open("/dev/null", O_RDONLY);
    CHECK(fd >= 0);
    if (fd < 0) return;
    if (fd != 0) { dup2(fd, 0); close(fd); }
    tq_container c;
    tq_error err;
    CHECK(tq_safetensors_parse((const uint8_t *)"x", 1, "fd0", &c, &err) == TQ_E_FORMAT);
    CHECK(fcntl(0, F_GETFD) != -1);
    tq_container_free(&c);
    tq_container_free(&c);
    CHECK(fcntl(0, F_GETFD) != -1);
    const uint8_t ok[16] = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    CHECK(tq_safetensors_parse(ok, 16, "fd0", &c, &err) == TQ_OK);
    tq_container_free(&c);
    CHECK(fcntl(0, F_GETFD) != -1);
    if (saved >= 0) { dup2(saved, 0); close(saved); }
}

/* ===== writer round trips and failures ====================================== */

static void round_trip_all_dtypes(void) {
    TQ_CASE("writer -> reader round trip of every dtype, with metadata");
    tq_wentry e[TQ_DTYPE_COUNT];
    void *d[TQ_DTYPE_COUNT];
    char names[TQ_DTYPE_COUNT][32];
    uint64_t rng = 12345;
    int n = 0;
    for (int t = 1; t < TQ_DTYPE_COUNT; t++) {
        snprintf(names[n], sizeof names[n], "t.%s", tq_dtype_name((tq_dtype)t));
        e[n] = (tq_wentry){.name = names[n], .dtype = (tq_dtype)t, .ndim = 3, .shape = {2, 1, 4}};
        uint64_t nb = tq_nbytes((tq_dtype)t, 3, e[n].shape);
        CHECK_EQ_INT(nb, (uint64_t)tq_dtype_bits((tq_dtype)t));   /* 8 elements */
        d[n] = malloc(nb);
        for (uint64_t i = 0; i < nb; i++) ((uint8_t *)d[n])[i] = (uint8_t)tq_t_rand(&rng);
        n++;
    }
    CHECK_EQ_INT(n, 22);
    const char *mk[] = {"format", "note"}, *mv[] = {"pt", "caf\xc3\xa9 \"quoted\"\n"};
    tq_error err;
    const char *p = tq_t_path("all_dtypes.safetensors");
    CHECK_OK(write_st(p, e, n, (const void *const *)d, mk, mv, 2, &err), err);
    tq_model *m = tq_model_open(p, &err);
    CHECK_OK(m ? TQ_OK : err.status, err);
    if (m) {
        CHECK_EQ_INT(tq_model_count(m), n);
        for (int i = 0; i < n; i++) {
            const tq_tensor *t = tq_model_find(m, names[i]);
            CHECK_MSG(t != NULL, "%s missing", names[i]);
            if (!t) continue;
            CHECK_EQ_INT(t->dtype, e[i].dtype);
            CHECK(t->ndim == 3 && t->shape[0] == 2 && t->shape[1] == 1 && t->shape[2] == 4 && t->numel == 8);
            CHECK_MSG(t->nbytes == (uint64_t)tq_dtype_bits(e[i].dtype) && memcmp(t->data, d[i], t->nbytes) == 0,
                      "%s bytes differ", names[i]);
            /* sub-byte dtypes may sit at any byte; all others are naturally aligned */
            if (tq_dtype_bits(e[i].dtype) % 8 == 0)
                CHECK_MSG((uintptr_t)t->data % (uintptr_t)(tq_dtype_bits(e[i].dtype) / 8) == 0, "%s unaligned", names[i]);
        }
        CHECK(strcmp(tq_model_meta(m, "note"), mv[1]) == 0);
        CHECK(strcmp(tq_model_meta(m, "format"), "pt") == 0);
        tq_model_close(m);
    }
    /* the byte accounting: header + data == file size */
    tq_container c;
    CHECK_OK(tq_container_open(&c, p, &err), err);
    uint64_t sum = 0;
    for (int64_t i = 0; i < c.n; i++) sum += c.entries[i].stored;
    CHECK_EQ_INT(c.header_bytes + c.padding_bytes + sum, c.map.size);
    CHECK(c.padding_bytes < 8 && (c.header_bytes + c.padding_bytes) % 8 == 0);
    tq_container_free(&c);
    for (int i = 0; i < n; i++) free(d[i]);
}

static void writer_failures(void) {
    TQ_CASE("writer: free before finish leaves no file and no temp file");
    tq_error err;
    tq_wentry e[2] = {{.name = "a", .dtype = TQ_DTYPE_F32, .ndim = 1, .shape = {6}},
                      {.name = "b", .dtype = TQ_DTYPE_U8, .ndim = 1, .shape = {1}}};
    const char *p = tq_t_path("aborted.safetensors");
    tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, p, e, 2, NULL, NULL, 0, &err);
    CHECK(w != NULL);
    if (w) {
        CHECK_EQ_INT(dir_count("aborted.safetensors.tq-tmp"), w->out.tmp_path ? 1 : 0);   /* 0: unnamed O_TMPFILE */
        CHECK_OK(tq_writer_put(w, 0, SIX, 24, &err), err);
        CHECK_ERR(tq_writer_put(w, 1, SIX, 2, &err), err, TQ_E_INTERNAL, "planned 1 bytes, given 2");
        CHECK_ERR(tq_writer_finish(w, &err), err, TQ_E_INTERNAL, "entry \"b\" was never written");
        tq_writer_free(w);
    }
    CHECK_EQ_INT(dir_count("aborted"), 0);
    w = tq_writer_create(TQ_FORMAT_SAFETENSORS, p, e, 2, NULL, NULL, 0, &err);
    tq_writer_free(w);
    CHECK_EQ_INT(dir_count("aborted"), 0);

    TQ_CASE("writer: refuses plans the reader would reject, creating nothing");
    const char *q = tq_t_path("refused.safetensors");
    tq_wentry dup[2] = {{.name = "x", .dtype = TQ_DTYPE_U8, .ndim = 1, .shape = {1}},
                        {.name = "x", .dtype = TQ_DTYPE_F32, .ndim = 1, .shape = {1}}};
    CHECK(tq_writer_create(TQ_FORMAT_SAFETENSORS, q, dup, 2, NULL, NULL, 0, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_ARG, "duplicate tensor name \"x\"");
    tq_wentry meta = {.name = "__metadata__", .dtype = TQ_DTYPE_U8, .ndim = 1, .shape = {1}};
    CHECK(tq_writer_create(TQ_FORMAT_SAFETENSORS, q, &meta, 1, NULL, NULL, 0, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_ARG, "\"__metadata__\" cannot name a tensor");
    tq_wentry f4 = {.name = "f", .dtype = TQ_DTYPE_F4, .ndim = 1, .shape = {3}};
    CHECK(tq_writer_create(TQ_FORMAT_SAFETENSORS, q, &f4, 1, NULL, NULL, 0, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_SHAPE, "3 F4 elements do not fill whole bytes");
    tq_wentry bad = {.name = "\xff", .dtype = TQ_DTYPE_U8, .ndim = 1, .shape = {1}};
    CHECK(tq_writer_create(TQ_FORMAT_SAFETENSORS, q, &bad, 1, NULL, NULL, 0, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_ARG, "not valid UTF-8");
    tq_wentry deep = {.name = "d", .dtype = TQ_DTYPE_U8, .ndim = TQ_MAX_DIMS + 1};
    CHECK(tq_writer_create(TQ_FORMAT_SAFETENSORS, q, &deep, 1, NULL, NULL, 0, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_ARG, "ndim out of range");
    tq_wentry neg = {.name = "n", .dtype = TQ_DTYPE_U8, .ndim = 1, .shape = {-1}};
    CHECK(tq_writer_create(TQ_FORMAT_SAFETENSORS, q, &neg, 1, NULL, NULL, 0, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_LIMIT, "entry \"n\"");
    const char *mk[] = {"k", "k"}, *mv[] = {"1", "2"};
    CHECK(tq_writer_create(TQ_FORMAT_SAFETENSORS, q, NULL, 0, mk, mv, 2, &err) == NULL);
    CHECK_ERR(err.status, err, TQ_E_ARG, "duplicate metadata key \"k\"");
    CHECK_EQ_INT(dir_count("refused"), 0);

    TQ_CASE("writer: dry plan sizes equal the written file");
    tq_writer *dry = tq_writer_create(TQ_FORMAT_SAFETENSORS, NULL, e, 2, NULL, NULL, 0, &err);
    CHECK(dry != NULL);
    if (dry) {
        /* by hand: 2 entries, header text then padding, 24 + 1 data bytes */
        const char *h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]},"
                        "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[24,25]}}";
        size_t hl = strlen(h), padded = (hl + 7) / 8 * 8;
        CHECK_EQ_INT(dry->total_size, 8 + padded + 25);
        CHECK_EQ_INT(dry->header_bytes, 8 + hl);
        CHECK_EQ_INT(dry->padding_bytes, padded - hl);
        CHECK_ERR(tq_writer_put(dry, 0, SIX, 24, &err), err, TQ_E_INTERNAL, "dry plan");
        tq_writer_free(dry);
    }
}

/* ===== the real stories260K checkpoint ====================================== */

static void stories260k(void) {
    TQ_CASE("stories260K.safetensors: 47 tensors; token embedding equals the .bin export's");
    const char *md = tq_t_models_dir();
    if (!md) TQ_SKIP("no models dir (set TRUEQ_MODELS)");
    char st[1024], bin[1024];
    snprintf(st, sizeof st, "%s/stories260k/stories260K.safetensors", md);
    snprintf(bin, sizeof bin, "%s/stories260k/stories260K.bin", md);
    struct stat sb;
    if (stat(st, &sb) != 0 || stat(bin, &sb) != 0) TQ_SKIP("stories260k/stories260K.{safetensors,bin} absent");
    tq_error err;
    tq_model *m = tq_model_open(st, &err);
    CHECK_OK(m ? TQ_OK : err.status, err);
    if (!m) return;
    CHECK_EQ_INT(tq_model_count(m), 47);
    const tq_tensor *t = tq_model_find(m, "tok_embeddings.weight");
    CHECK(t != NULL);
    /* llama2.c export: 7 int32 (dim, hidden, layers, heads, kv heads, vocab, seq) then float32 tensors,
     * the token embedding [vocab, dim] first. */
    size_t bn = 0;
    char *b = read_all(bin, &bn);
    CHECK(b != NULL && bn > 28);
    if (t && b) {
        int32_t hdr[7];
        memcpy(hdr, b, sizeof hdr);
        int64_t dim = hdr[0], vocab = hdr[5] < 0 ? -(int64_t)hdr[5] : hdr[5];
        CHECK_EQ_INT(dim, 64);
        CHECK_EQ_INT(vocab, 512);
        CHECK(t->ndim == 2 && t->shape[0] == vocab && t->shape[1] == dim);
        CHECK(bn >= 28 + (size_t)(vocab * dim) * 4);
        float *out = malloc(sizeof(float) * (size_t)(vocab * dim));
        CHECK_OK(tq_model_tensor_f32(m, t, out, &err), err);
        CHECK_MSG(memcmp(out, b + 28, (size_t)(vocab * dim) * 4) == 0, "embedding differs from the .bin bytes at offset 28");
        free(out);
    }
    free(b);
    tq_model_close(m);
}

/* The fuzz seeds are written by an independent Python generator: its ok_*
 * files must open and its bad_* files must not. */
static void fuzz_seeds(void) {
    TQ_CASE("fuzz seed corpus: ok_* files open, bad_* files are rejected");
    const char *src = getenv("TQ_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/fuzz/corpus/safetensors", src ? src : ".");
    DIR *d = opendir(dir);
    if (!d) TQ_SKIP("fuzz/corpus/safetensors not found (run from ctest)");
    struct dirent *de;
    int ok = 0, bad = 0;
    while ((de = readdir(d))) {
        bool want_ok = strncmp(de->d_name, "ok_", 3) == 0;
        if (!want_ok && strncmp(de->d_name, "bad_", 4) != 0) continue;
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        tq_error err;
        tq_model *m = tq_model_open(p, &err);
        CHECK_MSG((m != NULL) == want_ok, "%s: %s", de->d_name, m ? "opened" : err.msg);
        if (!m) CHECK_MSG(strstr(err.msg, de->d_name) != NULL, "message does not name the file: %s", err.msg);
        tq_model_close(m);
        if (want_ok) ok++; else bad++;
    }
    closedir(d);
    CHECK(ok >= 10 && bad >= 30);
}

void tq_tests(void) {
    fuzz_seeds();
    kat_attn0_dot();
    kat_attn0();
    kat_empty();
    kat_f4();
    kat_sort_order();
    reference_cases();
    corrupt_matrix();
    fd_zero_kept();
    round_trip_all_dtypes();
    writer_failures();
    stories260k();
}
