/* test_st_reader.c — safetensors: the reference known answers (FORMATS.md §1.5)
 * for the writer, and a corrupt-input matrix for the reader, each case with its
 * own status and message; a failed open leaves nothing behind. */
#include "tq_test.h"
#include "io/container.h"
#include <dirent.h>
#include <stdlib.h>

/* build a file: u64 header length, header text, data bytes */
static uint8_t *mk(const char *hdr, size_t hlen_field, const void *data, size_t dlen, size_t *n) {
    size_t hl = strlen(hdr);
    *n = 8 + hl + dlen;
    uint8_t *b = malloc(*n + 1);
    uint64_t L = hlen_field == (size_t)-1 ? hl : hlen_field;
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(L >> (8 * i));
    memcpy(b + 8, hdr, hl);
    if (dlen) memcpy(b + 8 + hl, data, dlen);
    return b;
}

static tq_status parse(const uint8_t *b, size_t n, tq_error *e) {
    tq_container c;
    tq_status st = tq_safetensors_parse(b, n, "x.safetensors", &c, e);
    if (!st) tq_container_free(&c);
    return st;
}

static void bad(const char *name, const char *hdr, size_t hfield, size_t dlen, tq_status want, const char *sub) {
    TQ_CASE(name);
    static uint8_t zeros[4096];
    size_t n;
    uint8_t *b = mk(hdr, hfield, zeros, dlen, &n);
    tq_error e;
    CHECK_ERR(parse(b, n, &e), e, want, sub);
    CHECK(strstr(e.msg, "x.safetensors") != NULL);     /* names the file */
    free(b);
}

static void known_answers(void) {
    static const float f[6] = {0, 1, 2, 3, 4, 5};
    struct { const char *name; int nd; int64_t shape[4]; size_t total; size_t N; } K[] = {
        {"attn.0", 3, {1, 2, 3}, 96, 64},
        {"attn0", 4, {1, 1, 2, 3}, 104, 72},
    };
    for (int k = 0; k < 2; k++) {
        char cname[96];
        snprintf(cname, sizeof cname, "writer known answer: %s -> %zu bytes, N = %zu", K[k].name, K[k].total, K[k].N);
        TQ_CASE(cname);
        tq_wentry we = {0};
        we.name = K[k].name; we.dtype = TQ_DTYPE_F32; we.ndim = K[k].nd;
        memcpy(we.shape, K[k].shape, sizeof K[k].shape);
        tq_error e;
        const char *path = tq_t_path("kat.safetensors");
        tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, path, &we, 1, NULL, NULL, 0, &e);
        CHECK(w != NULL);
        if (!w) continue;
        CHECK_OK(tq_writer_put(w, 0, f, 24, &e), e);
        CHECK_OK(tq_writer_finish(w, &e), e);
        tq_writer_free(w);
        FILE *fp = fopen(path, "rb");
        uint8_t buf[256];
        size_t n = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        CHECK_EQ_INT(n, K[k].total);
        uint64_t N = 0;
        for (int i = 0; i < 8; i++) N |= (uint64_t)buf[i] << (8 * i);
        CHECK_EQ_INT(N, K[k].N);
        char want[128];
        int wl = snprintf(want, sizeof want, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[%s],\"data_offsets\":[0,24]}}", K[k].name,
                          k == 0 ? "1,2,3" : "1,1,2,3");
        CHECK(memcmp(buf + 8, want, (size_t)wl) == 0);
        for (size_t i = 8 + (size_t)wl; i < 8 + N; i++) CHECK(buf[i] == ' ');      /* padded with spaces */
        CHECK(memcmp(buf + 8 + N, f, 24) == 0);
    }
    TQ_CASE("writer known answer: empty file is 16 bytes, '{}' + 6 spaces");
    tq_error e;
    const char *path = tq_t_path("empty.safetensors");
    tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, path, NULL, 0, NULL, NULL, 0, &e);
    CHECK(w && tq_writer_finish(w, &e) == TQ_OK);
    tq_writer_free(w);
    FILE *fp = fopen(path, "rb");
    uint8_t buf[64];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    CHECK_EQ_INT(n, 16);
    CHECK(buf[0] == 8 && memcmp(buf + 8, "{}      ", 8) == 0);

    TQ_CASE("writer known answer: metadata only, {\"__metadata__\":{\"framework\":\"pt\"}} + 5 spaces = 48 bytes");
    const char *mk_[] = {"framework"}, *mv_[] = {"pt"};
    w = tq_writer_create(TQ_FORMAT_SAFETENSORS, path, NULL, 0, mk_, mv_, 1, &e);
    CHECK(w && tq_writer_finish(w, &e) == TQ_OK);
    tq_writer_free(w);
    fp = fopen(path, "rb");
    n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    CHECK_EQ_INT(n, 48);
    CHECK(buf[0] == 40 && memcmp(buf + 8, "{\"__metadata__\":{\"framework\":\"pt\"}}     ", 40) == 0);

    TQ_CASE("reader accepts: scalar shape [] with 4 bytes, empty [2,0], JSON whitespace around the object");
    size_t m;
    uint8_t *b = mk("{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},\"z\":{\"dtype\":\"F32\",\"shape\":[2,0],\"data_offsets\":[4,4]}}",
                    (size_t)-1, f, 4, &m);
    CHECK_OK(parse(b, m, &e), e);
    free(b);
    b = mk("\t\n{}\r ", (size_t)-1, NULL, 0, &m);
    CHECK_OK(parse(b, m, &e), e);
    free(b);
}

static void corrupt_matrix(void) {
    tq_error e;
    TQ_CASE("empty file and a file shorter than 8 bytes");
    CHECK_ERR(parse((const uint8_t *)"", 0, &e), e, TQ_E_FORMAT, "shorter than the 8-byte");
    CHECK_ERR(parse((const uint8_t *)"\x02\0\0", 3, &e), e, TQ_E_FORMAT, "file is 3 bytes");
    bad("header length over 100,000,000", "{}", 100000001, 0, TQ_E_FORMAT, "exceeds the limit");
    bad("header length with high bytes set", "{}", (size_t)0xff00000000000002ull, 0, TQ_E_FORMAT, "exceeds the limit");
    bad("header length past the end of the file", "{}", 60, 0, TQ_E_FORMAT, "runs past the end of the file");
    bad("header not valid UTF-8", "{\"\xff\":1}", (size_t)-1, 0, TQ_E_FORMAT, "not valid UTF-8");
    bad("header with an overlong UTF-8 encoding", "{\"\xc0\xaf\":1}", (size_t)-1, 0, TQ_E_FORMAT, "not valid UTF-8");
    bad("header not valid JSON", "{", (size_t)-1, 0, TQ_E_FORMAT, "not valid JSON");
    bad("header with bytes after its object", "{}x", (size_t)-1, 0, TQ_E_FORMAT, "bytes after its JSON object");
    bad("header a JSON array", "[1,2]", (size_t)-1, 0, TQ_E_FORMAT, "not an object");
    bad("tensor entry not an object", "{\"a\":5}", (size_t)-1, 0, TQ_E_FORMAT, "\"a\": entry is not an object");
    bad("missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", (size_t)-1, 4, TQ_E_FORMAT, "missing or non-string dtype");
    bad("unknown dtype", "{\"a\":{\"dtype\":\"F31\",\"shape\":[1],\"data_offsets\":[0,4]}}", (size_t)-1, 4, TQ_E_FORMAT, "unknown dtype \"F31\"");
    bad("shape not an array", "{\"a\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]}}", (size_t)-1, 4, TQ_E_FORMAT, "non-array shape");
    bad("negative shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", (size_t)-1, 4, TQ_E_FORMAT, "shape[0] is not a non-negative integer");
    bad("fractional shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", (size_t)-1, 4, TQ_E_FORMAT, "shape[0] is not a non-negative integer");
    bad("too many dimensions", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", (size_t)-1, 4, TQ_E_LIMIT, "9 dimensions");
    bad("shape whose element count overflows", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", (size_t)-1, 4, TQ_E_FORMAT, "element count overflows");
    bad("data_offsets malformed", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", (size_t)-1, 4, TQ_E_FORMAT, "data_offsets must be two");
    bad("data_offsets end before begin", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", (size_t)-1, 4, TQ_E_FORMAT, "end before they begin");
    bad("data_offsets outside the data", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", (size_t)-1, 4, TQ_E_FORMAT, "outside the 4-byte data area");
    bad("shape/size mismatch", "{\"a\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,4]}}", (size_t)-1, 4, TQ_E_FORMAT, "shape needs 16 bytes but data_offsets [0, 4] hold 4");
    bad("offsets overlapping", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", (size_t)-1, 8, TQ_E_FORMAT, "overlaps the previous tensor");
    bad("a hole between tensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", (size_t)-1, 12, TQ_E_FORMAT, "leaves a hole");
    bad("first tensor not at offset 0", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", (size_t)-1, 8, TQ_E_FORMAT, "leaves a hole");
    bad("ten tensors all at [0, 16]", "{\"a0\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"a1\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", (size_t)-1, 16, TQ_E_FORMAT, "overlaps the previous tensor");
    bad("trailing bytes after the data", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", (size_t)-1, 6, TQ_E_FORMAT, "trailing bytes");
    bad("duplicate key", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", (size_t)-1, 8, TQ_E_FORMAT, "duplicate key \"a\"");
    bad("__metadata__ not an object", "{\"__metadata__\":[1]}", (size_t)-1, 0, TQ_E_FORMAT, "__metadata__ is not an object");
    bad("__metadata__ with a non-string value", "{\"__metadata__\":{\"k\":1}}", (size_t)-1, 0, TQ_E_FORMAT, "value for \"k\" is not a string");
    bad("sub-byte dtype that does not fill whole bytes", "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", (size_t)-1, 2, TQ_E_FORMAT, "do not fill whole bytes");

    TQ_CASE("truncated data: a real file cut short");
    static const float f[4] = {1, 2, 3, 4};
    size_t n;
    uint8_t *b = mk("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", (size_t)-1, f, 16, &n);
    CHECK_ERR(parse(b, n - 2, &e), e, TQ_E_FORMAT, "outside the 14-byte data area");
    /* every prefix of a valid file fails cleanly */
    bool all_fail = true;
    for (size_t k = 0; k < n; k++) if (parse(b, k, &e) == TQ_OK) all_fail = false;
    CHECK(all_fail);
    CHECK_OK(parse(b, n, &e), e);
    free(b);

    TQ_CASE("a failed open through tq_model_open leaves no file behind and returns NULL");
    const char *dir = tq_t_path("corrupt");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    CHECK(system(cmd) == 0);
    char p[1100];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    b = mk("{\"a\":{\"dtype\":\"F32\",\"shape\":[9],\"data_offsets\":[0,16]}}", (size_t)-1, f, 16, &n);
    tq_t_write(p, b, n);
    free(b);
    tq_model *m = tq_model_open(dir, &e);
    CHECK(m == NULL);
    CHECK_ERR(m ? TQ_OK : e.status, e, TQ_E_FORMAT, "model.safetensors: tensor \"a\"");
    int files = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) if (de->d_name[0] != '.') files++;
    if (d) closedir(d);
    CHECK_EQ_INT(files, 1);

    TQ_CASE("writer freed before finish leaves neither the file nor its temporary");
    tq_wentry we = {0};
    we.name = "a"; we.dtype = TQ_DTYPE_F32; we.ndim = 1; we.shape[0] = 4;
    snprintf(p, sizeof p, "%s/out.safetensors", dir);
    tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, p, &we, 1, NULL, NULL, 0, &e);
    CHECK(w && tq_writer_put(w, 0, f, 16, &e) == TQ_OK);
    tq_writer_free(w);
    files = 0;
    d = opendir(dir);
    while (d && (de = readdir(d))) if (de->d_name[0] != '.') files++;
    if (d) closedir(d);
    CHECK_EQ_INT(files, 1);
    TQ_CASE("writer: finishing before every entry is written is refused");
    w = tq_writer_create(TQ_FORMAT_SAFETENSORS, p, &we, 1, NULL, NULL, 0, &e);
    CHECK_ERR(tq_writer_finish(w, &e), e, TQ_E_INTERNAL, "was never written");
    tq_writer_free(w);
}

static void real_model(void) {
    TQ_CASE("stories260K.safetensors: 47 tensors, embedding bytes equal the llama2.c .bin");
    const char *md = tq_t_models_dir();
    char st[1100], bin[1100];
    if (!md) TQ_SKIP("../shared/models not found (set TRUEQ_MODELS)");
    snprintf(st, sizeof st, "%s/stories260k/stories260K.safetensors", md);
    snprintf(bin, sizeof bin, "%s/stories260k/stories260K.bin", md);
    FILE *fb = fopen(bin, "rb");
    if (!fb) TQ_SKIP("stories260K.bin not found");
    tq_error e;
    tq_model *m = tq_model_open(st, &e);
    CHECK_OK(m ? TQ_OK : e.status, e);
    if (!m) { fclose(fb); return; }
    CHECK_EQ_INT(tq_model_count(m), 47);
    int32_t hdr[7];
    CHECK(fread(hdr, 4, 7, fb) == 7);
    CHECK(hdr[0] == 64 && hdr[5] == 512);
    float *emb = malloc(sizeof(float) * 512 * 64), *got = malloc(sizeof(float) * 512 * 64);
    CHECK(fread(emb, 4, 512 * 64, fb) == 512 * 64);      /* token embedding comes first */
    const tq_tensor *t = tq_model_find(m, "tok_embeddings.weight");
    CHECK(t && t->shape[0] == 512 && t->shape[1] == 64);
    if (t) { CHECK_OK(tq_model_tensor_f32(m, t, got, &e), e); CHECK(memcmp(emb, got, sizeof(float) * 512 * 64) == 0); }
    free(emb); free(got);
    fclose(fb);
    tq_model_close(m);
}

void tq_tests(void) {
    known_answers();
    corrupt_matrix();
    real_model();
}
