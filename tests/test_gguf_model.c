/*
 * test_gguf_model.c — GGUF through tq_model (src/io/gguf_container.c,
 * src/io/model.c): a GGUF this test writes with tq_gguf_write_mem (F32, F16,
 * BF16, Q8_0, Q4_K and an IQ2_XXS trueq cannot decode) read as logical
 * tensors, its KVs as metadata, its ledger to the byte; corrupt files give
 * the parser's own error, not "unknown format"; a directory holding one
 * .gguf opens; convert GGUF -> safetensors keeps the decoded values exactly;
 * and the real SmolLM2-135M-Instruct Q4_1 file (tests/py/gguf_venv.sh):
 * every tensor through tq_model_tensor_f32 equals gguf-py's dequantization,
 * its ledger and `trueq inspect --json` add up to the file size.
 */
#include "tq_test.h"
#include "ggml/ggml_types.h"
#include "io/gguf.h"
#include "io/model.h"
#include "trueq_verify.h"
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <sys/stat.h>

enum { COLS = 512, ROWS = 3 };

/* The test file: tensors in this order, ne in GGUF order. */
static float g_f32[ROWS * COLS];   /* "norm" F32 [512]: ramp; "fake" F32 [4, 512]: 5 values */
static uint8_t *g_data[6];
static uint64_t g_size;
static uint8_t *g_img;

static const char *const NAMES[6] = {"norm.weight", "fake.weight", "half.weight", "q8.weight", "q4k.weight", "iq2.weight"};

/* Q8_0 row r, block b: d = 2^-(r+1), q_i = i - 16 + b: w = d * q (exact) */
static float q8_value(int r, int c) { return ldexpf((float)(c % 32 - 16 + c / 32), -(r + 1)); }

static void build(tq_error *e) {
    static float fake[4 * COLS], q4in[ROWS * COLS];
    static uint16_t half[ROWS * COLS], bf[COLS];
    for (int i = 0; i < COLS; i++) g_f32[i] = (float)i / 64.0f - 3.0f;
    for (int i = 0; i < 4 * COLS; i++) fake[i] = (float)(i % 5) * 0.125f;
    for (int i = 0; i < ROWS * COLS; i++) half[i] = tq_f32_to_f16(sinf((float)i * 0.1f) * 3.0f);   /* genuine floats */
    for (int i = 0; i < COLS; i++) bf[i] = tq_f32_to_bf16((float)(i % 128) * 0.5f);
    static uint8_t q8[ROWS * COLS / 32 * 34], q4[ROWS * COLS / 256 * 144], iq2[256 / 256 * 66];
    for (int r = 0; r < ROWS; r++)
        for (int b = 0; b < COLS / 32; b++) {
            uint8_t *p = q8 + (r * (COLS / 32) + b) * 34;
            tq_st16(p, tq_f32_to_f16(ldexpf(1.0f, -(r + 1))));
            for (int i = 0; i < 32; i++) p[2 + i] = (uint8_t)(int8_t)(i - 16 + b);
        }
    for (int i = 0; i < ROWS * COLS; i++) q4in[i] = sinf((float)i * 0.37f) * (1.0f + (float)(i / COLS));
    tq_ggml_quantize(TQ_GGML_Q4_K, q4in, q4, ROWS * COLS, "q4k", e);
    memset(iq2, 0x5a, sizeof iq2);
    g_data[0] = (uint8_t *)g_f32; g_data[1] = (uint8_t *)fake; g_data[2] = (uint8_t *)half;
    g_data[3] = q8; g_data[4] = q4; g_data[5] = iq2;
    static const int32_t ints[3] = {1, -2, 3};
    static const char *const strs[3] = {"a", "bb", "ccc"};
    tq_gguf_wkv kv[7] = {
        {.key = "general.architecture", .type = TQ_GGUF_STRING, .str = "llama", .str_len = 5},
        {.key = "test.u32", .type = TQ_GGUF_UINT32, .num.u = 42},
        {.key = "test.f32", .type = TQ_GGUF_FLOAT32, .num.f = 0.5},
        {.key = "test.bool", .type = TQ_GGUF_BOOL, .num.u = 1},
        {.key = "test.i64", .type = TQ_GGUF_INT64, .num.i = -7},
        {.key = "test.ints", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_INT32, .count = 3, .elems = ints},
        {.key = "tokenizer.ggml.tokens", .type = TQ_GGUF_ARRAY, .elem_type = TQ_GGUF_STRING, .count = 3, .strs = strs},
    };
    tq_gguf_wtensor t[7] = {
        {NAMES[0], TQ_GGML_F32, 1, {COLS, 1, 1, 1}, g_data[0]},
        {NAMES[1], TQ_GGML_F32, 2, {COLS, 4, 1, 1}, g_data[1]},
        {NAMES[2], TQ_GGML_F16, 2, {COLS, ROWS, 1, 1}, g_data[2]},
        {NAMES[3], TQ_GGML_Q8_0, 2, {COLS, ROWS, 1, 1}, g_data[3]},
        {NAMES[4], TQ_GGML_Q4_K, 2, {COLS, ROWS, 1, 1}, g_data[4]},
        {NAMES[5], TQ_GGML_IQ2_XXS, 2, {256, 1, 1, 1}, g_data[5]},
        {"bf.weight", TQ_GGML_BF16, 1, {COLS, 1, 1, 1}, bf},
    };
    CHECK_OK(tq_gguf_write_mem(kv, 7, t, 7, &g_img, &g_size, e), *e);
}

static void read_back(const char *path) {
    tq_error e;
    TQ_CASE("tq_model: a GGUF's tensors in numpy order, ggml blocks as the codec ggml, KVs as metadata");
    tq_model *m = tq_model_open(path, &e);
    CHECK_MSG(m != NULL, "%s", e.msg);
    if (!m) return;
    CHECK_EQ_INT(tq_model_format(m), TQ_FORMAT_GGUF);
    CHECK_EQ_INT(tq_model_count(m), 7);
    const tq_tensor *n = tq_model_find(m, "norm.weight"), *h = tq_model_find(m, "half.weight"),
                    *q8 = tq_model_find(m, "q8.weight"), *q4 = tq_model_find(m, "q4k.weight"),
                    *iq = tq_model_find(m, "iq2.weight"), *bf = tq_model_find(m, "bf.weight");
    CHECK(n && h && q8 && q4 && iq && bf);
    if (!n || !h || !q8 || !q4 || !iq || !bf) { tq_model_close(m); return; }
    CHECK(n->dtype == TQ_DTYPE_F32 && !n->quantized && n->ndim == 1 && n->shape[0] == COLS);
    CHECK(h->dtype == TQ_DTYPE_F16 && !h->quantized && h->ndim == 2 && h->shape[0] == ROWS && h->shape[1] == COLS);
    CHECK(bf->dtype == TQ_DTYPE_BF16 && !bf->quantized);
    CHECK(q8->quantized && q8->dtype == TQ_DTYPE_U8 && q8->q.codec == TQ_CODEC_GGML && q8->q.ggml_type == TQ_GGML_Q8_0 &&
          q8->shape[0] == ROWS && q8->shape[1] == COLS && q8->nbytes == ROWS * COLS / 32 * 34 && q8->n_aux == 0);
    CHECK(q4->quantized && q4->q.ggml_type == TQ_GGML_Q4_K && q4->q.bits == 4 && q4->q.group == 256 &&
          q4->nbytes == ROWS * COLS / 256 * 144);
    CHECK(iq->quantized && iq->q.ggml_type == TQ_GGML_IQ2_XXS && iq->shape[0] == 1 && iq->shape[1] == 256);

    float *y = malloc(sizeof(float) * 4 * COLS), *z = malloc(sizeof(float) * 4 * COLS);
    CHECK_OK(tq_model_tensor_f32(m, n, y, &e), e);
    CHECK(memcmp(y, g_f32, sizeof(float) * COLS) == 0);
    CHECK_OK(tq_model_tensor_f32(m, h, y, &e), e);
    int bad = 0;
    for (int i = 0; i < ROWS * COLS; i++) bad += y[i] != tq_f16_to_f32(tq_f32_to_f16(sinf((float)i * 0.1f) * 3.0f));
    CHECK_EQ_INT(bad, 0);
    CHECK_OK(tq_model_tensor_f32(m, bf, y, &e), e);
    bad = 0;
    for (int i = 0; i < COLS; i++) bad += y[i] != (float)(i % 128) * 0.5f;
    CHECK_EQ_INT(bad, 0);
    CHECK_OK(tq_model_tensor_f32(m, q8, y, &e), e);   /* row r = ne[1] index r: the numpy row */
    bad = 0;
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < COLS; c++) bad += y[r * COLS + c] != q8_value(r, c);
    CHECK_EQ_INT(bad, 0);
    CHECK_OK(tq_model_tensor_f32(m, q4, y, &e), e);
    CHECK_OK(tq_ggml_dequantize(TQ_GGML_Q4_K, g_data[4], z, ROWS * COLS, "q4k", &e), e);
    CHECK(memcmp(y, z, sizeof(float) * ROWS * COLS) == 0);
    CHECK_OK(tq_dequantize_rows(&q4->q, ROWS, COLS, 1, 3, q4->data, NULL, z, &e), e);   /* a tile: rows 1-2 */
    CHECK(memcmp(y + COLS, z, sizeof(float) * 2 * COLS) == 0);

    TQ_CASE("tq_model: a ggml type trueq cannot decode is listed, and decoding it names the type and tensor");
    CHECK_ERR(tq_model_tensor_f32(m, iq, y, &e), e, TQ_E_UNSUPPORTED,
              "tensor \"iq2.weight\": unsupported ggml type IQ2_XXS (16): trueq has no dequantizer for it");
    free(y);
    free(z);

    TQ_CASE("tq_model: KVs as metadata text; tq_model_gguf gives the whole values");
    const char *want[][2] = {{"general.architecture", "llama"}, {"test.u32", "42"}, {"test.f32", "0.5"},
                             {"test.bool", "true"}, {"test.i64", "-7"}, {"test.ints", "[1, -2, 3]"},
                             {"tokenizer.ggml.tokens", "[3 x STRING]"}};
    for (int i = 0; i < 7; i++) {
        const char *v = tq_model_meta(m, want[i][0]);
        CHECK_MSG(v && strcmp(v, want[i][1]) == 0, "%s = %s", want[i][0], v ? v : "(none)");
    }
    const tq_gguf *g = tq_model_gguf(m);
    CHECK(g != NULL);
    int64_t k = g ? tq_gguf_find_kv(g, "tokenizer.ggml.tokens") : -1;
    CHECK(k >= 0 && g->kv[k].v.count == 3 && g->kv[k].v.strs[2].len == 3 && memcmp(g->kv[k].v.strs[2].s, "ccc", 3) == 0);

    TQ_CASE("ledger of a GGUF: header (KVs counted) + padding + payload = file size; bits per weight; fake quantization");
    tq_ledger *l = tq_ledger_create(m, &e);
    CHECK_MSG(l != NULL, "%s", e.msg);
    if (l) {
        const tq_ledger_totals *T = tq_ledger_totals_get(l);
        CHECK_EQ_INT(T->file_bytes, g_size);
        CHECK_EQ_INT(T->header_bytes + T->padding_bytes + T->payload_bytes + T->aux_bytes, g_size);
        CHECK_EQ_INT(T->metadata_bytes, g->kv_bytes);
        CHECK_EQ_INT(T->header_bytes, g->header_bytes + g->kv_bytes + g->info_bytes);
        CHECK(T->padding_bytes > 0);   /* the 1-D BF16 tensor's 1024 bytes are aligned; the header is not */
        CHECK_EQ_INT(T->n_quantized, 3);
        CHECK_EQ_INT(T->n_fake, 1);
        for (int64_t i = 0; i < tq_ledger_count(l); i++) {
            const tq_ledger_row *r = tq_ledger_row_at(l, i);
            if (r->t == q4) CHECK_MSG(r->bits_per_weight == 4.5 && strstr(r->note, "ggml Q4_K: blocks of 256 weights in 144 bytes"), "%s", r->note);
            if (r->t == q8) CHECK(r->bits_per_weight == 8.5);
            if (r->t == h) CHECK(r->bits_per_weight == 16 && !r->fake);
            if (r->t == tq_model_find(m, "fake.weight")) CHECK_MSG(r->fake, "%s", r->note);
        }
    }
    tq_ledger_free(l);

    TQ_CASE("trueq inspect --json of a GGUF: ggml type, block, block bytes, bits per weight; KV bytes in the totals");
    const char *cli = getenv("TQ_CLI");
    char cmd[4096], *js = NULL;
    snprintf(cmd, sizeof cmd, "'%s' inspect --json '%s'", cli ? cli : "trueq", path);
    CHECK_EQ_INT(tq_t_run(cmd, &js), 0);
    cJSON *j = js ? cJSON_Parse(js) : NULL;
    CHECK(j != NULL);
    int seen = 0;
    for (const cJSON *t = j ? cJSON_GetObjectItem(j, "tensors")->child : NULL; t; t = t->next) {
        const char *nm = cJSON_GetStringValue(cJSON_GetObjectItem(t, "name")),
                   *ty = cJSON_GetStringValue(cJSON_GetObjectItem(t, "ggml_type"));
        double blk = cJSON_GetNumberValue(cJSON_GetObjectItem(t, "block")),
               bb = cJSON_GetNumberValue(cJSON_GetObjectItem(t, "block_bytes")),
               bpw = cJSON_GetNumberValue(cJSON_GetObjectItem(t, "bits_per_weight"));
        if (!nm || !ty) continue;
        if (!strcmp(nm, "q4k.weight")) seen += !strcmp(ty, "Q4_K") && blk == 256 && bb == 144 && bpw == 4.5;
        if (!strcmp(nm, "q8.weight")) seen += !strcmp(ty, "Q8_0") && blk == 32 && bb == 34 && bpw == 8.5;
        if (!strcmp(nm, "half.weight")) seen += !strcmp(ty, "F16") && blk == 1 && bb == 2 && bpw == 16;
        if (!strcmp(nm, "iq2.weight")) seen += !strcmp(ty, "IQ2_XXS") && blk == 256 && bb == 66 && bpw == 2.0625;
    }
    CHECK_EQ_INT(seen, 4);
    const cJSON *tot = j ? cJSON_GetObjectItem(j, "totals") : NULL;
    CHECK(tot && cJSON_GetNumberValue(cJSON_GetObjectItem(tot, "metadata_bytes")) == (double)g->kv_bytes &&
          cJSON_GetNumberValue(cJSON_GetObjectItem(tot, "file_bytes")) == (double)g_size);
    CHECK(j && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "format")), "gguf"));
    cJSON_Delete(j);
    free(js);
    tq_model_close(m);
}

/* Patch the file image and expect the parser's own message through tq_model_open. */
static void corrupt(void) {
    TQ_CASE("corrupt GGUF through tq_model_open: the parser's specific error, never \"unknown format\"");
    tq_gguf g;
    tq_error e;
    CHECK_OK(tq_gguf_parse(g_img, g_size, "x", &g, &e), e);
    uint8_t *b = malloc(g_size);
    const tq_gguf_tensor *q8 = &g.tensors[3];
    uint64_t type_at = q8->info_offset + 8 + strlen(q8->name) + 4 + 8 * (uint64_t)q8->n_dims;
    static const struct { const char *what; tq_status st; const char *msg; } C[] = {
        {"version 1", TQ_E_UNSUPPORTED, "GGUF version 1 at offset 4 is not supported"},
        {"string past the end", TQ_E_FORMAT, "string length 1000000 at offset"},
        {"unknown ggml type", TQ_E_UNSUPPORTED, "unsupported ggml type 200 for tensor q8.weight"},
        {"data past the end", TQ_E_FORMAT, "runs past the end"},
        {"duplicate tensor", TQ_E_FORMAT, "duplicate tensor name norm.weight"},
    };
    for (int k = 0; k < 5; k++) {
        memcpy(b, g_img, g_size);
        uint64_t n = g_size;
        switch (k) {
        case 0: tq_st32(b + 4, 1); break;
        case 1: tq_st64(b + g.kv[6].offset + 8 + 21 + 4 + 4 + 8, 1000000); break;   /* tokens[0]'s length */
        case 2: tq_st32(b + type_at, 200); break;
        case 3: n = g.tensors[4].offset + 10; break;
        default: memcpy(b + g.tensors[2].info_offset + 8, "norm.weight", 11); break;   /* was half.weight */
        }
        char name[64];
        snprintf(name, sizeof name, "corrupt%d.gguf", k);
        const char *path = tq_t_path(name);
        tq_t_write(path, b, (size_t)n);
        tq_model *m = tq_model_open(path, &e);
        CHECK_MSG(m == NULL, "%s: opened", C[k].what);
        tq_model_close(m);
        if (!m) CHECK_MSG(e.status == C[k].st && strstr(e.msg, C[k].msg) && strstr(e.msg, name) && !strstr(e.msg, "unknown format"),
                          "%s: status %d: %s", C[k].what, (int)e.status, e.msg);
    }
    free(b);
    tq_gguf_free(&g);
}

static void directory_and_convert(const char *path) {
    tq_error e;
    TQ_CASE("a directory holding one .gguf opens it");
    const char *d = tq_t_path("gguf_dir");
    mkdir(d, 0755);
    char p[2048];
    snprintf(p, sizeof p, "%s/model-Q4_K.gguf", d);
    tq_t_write(p, g_img, (size_t)g_size);
    tq_model *m = tq_model_open(d, &e);
    CHECK_MSG(m && tq_model_format(m) == TQ_FORMAT_GGUF && tq_model_count(m) == 7, "%s", m ? tq_model_path(m) : e.msg);
    tq_model_close(m);

    TQ_CASE("convert GGUF -> safetensors keeping every tensor: verify against the GGUF finds zero error");
    tq_model *src = tq_model_open(path, &e), *dst = NULL;
    CHECK_MSG(src != NULL, "%s", e.msg);
    if (!src) return;
    tq_convert_options o;
    tq_convert_options_init(&o);
    const char *ex[] = {"*.weight"};
    o.exclude = ex;
    o.n_exclude = 1;
    const char *out = tq_t_path("from_gguf");
    tq_plan *pl = tq_plan_create(src, &o, &e);   /* every tensor kept: decoded to F32 when in ggml blocks */
    CHECK_MSG(pl != NULL, "%s", e.msg);
    CHECK_ERR(pl ? tq_plan_execute(pl, tq_t_path("undecodable"), NULL, NULL, &e) : e.status, e, TQ_E_UNSUPPORTED,
              "tensor \"iq2.weight\": unsupported ggml type IQ2_XXS");
    tq_plan_free(pl);
    tq_model_close(src);
    /* the same file without the tensor trueq cannot decode */
    tq_gguf g;
    CHECK_OK(tq_gguf_parse(g_img, g_size, "x", &g, &e), e);
    tq_gguf_wtensor t[7];
    int nt = 0;
    for (int64_t i = 0; i < g.n_tensors; i++) {
        if (g.tensors[i].ggml_type == TQ_GGML_IQ2_XXS) continue;
        t[nt] = (tq_gguf_wtensor){g.tensors[i].name, g.tensors[i].ggml_type, g.tensors[i].n_dims, {0}, g.tensors[i].data};
        memcpy(t[nt].ne, g.tensors[i].ne, sizeof t[nt].ne);
        nt++;
    }
    const char *p2 = tq_t_path("decodable.gguf");
    CHECK_OK(tq_gguf_write(p2, NULL, 0, t, nt, &e), e);
    tq_gguf_free(&g);
    src = tq_model_open(p2, &e);
    pl = src ? tq_plan_create(src, &o, &e) : NULL;
    CHECK_OK(pl ? tq_plan_execute(pl, out, NULL, NULL, &e) : e.status, e);
    tq_plan_free(pl);
    dst = tq_model_open(out, &e);
    CHECK_MSG(dst != NULL, "%s", e.msg);
    if (src && dst) {
        const tq_tensor *q4 = tq_model_find(dst, "q4k.weight");
        CHECK(q4 && q4->dtype == TQ_DTYPE_F32 && !q4->quantized && q4->shape[0] == ROWS && q4->shape[1] == COLS);
        tq_verify_report *r = tq_verify_report_create(src, dst, &e);
        CHECK_MSG(r != NULL, "%s", e.msg);
        int64_t compared = 0;
        for (int64_t i = 0; r && i < tq_verify_count(r); i++) {
            const tq_verify_row *row = tq_verify_row_at(r, i);
            CHECK_MSG(row->presence == TQ_VERIFY_COMPARED && row->m.max_abs == 0, "%s: max error %g", row->name, row->m.max_abs);
            compared += row->presence == TQ_VERIFY_COMPARED;
        }
        CHECK_EQ_INT(compared, 6);
        tq_verify_report_free(r);
    }
    tq_model_close(dst);
    tq_model_close(src);
}

/* The real file: SmolLM2-135M-Instruct Q4_1 (skipped when it cannot be had). */
static void smollm2(void) {
    TQ_CASE("SmolLM2 Q4_1 through tq_model: every tensor == gguf-py; ledger and inspect --json == file size");
    const char *srcdir = getenv("TQ_SOURCE_DIR"), *cli = getenv("TQ_CLI");
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "bash '%s/tests/py/gguf_venv.sh'", srcdir ? srcdir : ".");
    int rc = tq_t_run(cmd, &out);
    char *py = out, *file = out ? strchr(out, '\n') : NULL;
    if (rc != 0 || !file || !file[1] || file[1] == '\n') { free(out); TQ_SKIP("SmolLM2 GGUF unavailable: skipping"); }
    *file++ = 0;
    file[strcspn(file, "\n")] = 0;
    tq_error e;
    tq_model *m = tq_model_open(file, &e);
    CHECK_MSG(m != NULL, "%s", e.msg);
    if (!m) { free(out); return; }
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/py/gguf_conformance.py' dump '%s'", py, srcdir ? srcdir : ".", file);
    FILE *ref = popen(cmd, "r");
    int64_t same = 0, n = tq_model_count(m);
    for (int64_t i = 0; ref && i < n; i++) {   /* model order is file order, as the dump */
        const tq_tensor *t = tq_model_tensor(m, i);
        float *a = malloc(sizeof(float) * (size_t)t->numel), *b = malloc(sizeof(float) * (size_t)t->numel);
        size_t got = a && b ? fread(b, sizeof(float), (size_t)t->numel, ref) : 0;
        tq_status st = a ? tq_model_tensor_f32(m, t, a, &e) : TQ_E_NOMEM;
        bool eq = got == (size_t)t->numel && !st && memcmp(a, b, sizeof(float) * (size_t)t->numel) == 0;
        CHECK_MSG(eq, "%s: %zu values from gguf-py, status %d, differ", t->name, got, (int)st);
        same += eq;
        free(a);
        free(b);
    }
    int prc = ref ? pclose(ref) : -1;
    CHECK_EQ_INT(prc, 0);
    CHECK_EQ_INT(same, 272);
    struct stat sb;
    stat(file, &sb);
    tq_ledger *l = tq_ledger_create(m, &e);
    CHECK_MSG(l != NULL, "%s", e.msg);
    if (l) {
        const tq_ledger_totals *T = tq_ledger_totals_get(l);
        CHECK_EQ_INT(T->file_bytes, sb.st_size);
        CHECK_EQ_INT(T->header_bytes + T->padding_bytes + T->payload_bytes, sb.st_size);
        CHECK_EQ_INT(T->n_quantized, 211);   /* 210 Q4_1 + the Q8_0 embedding */
    }
    tq_ledger_free(l);
    tq_model_close(m);
    char *js = NULL;
    snprintf(cmd, sizeof cmd, "'%s' inspect --json '%s'", cli ? cli : "trueq", file);
    CHECK_EQ_INT(tq_t_run(cmd, &js), 0);
    cJSON *j = js ? cJSON_Parse(js) : NULL;
    CHECK(j != NULL);
    const cJSON *ts = cJSON_GetObjectItem(j, "tensors"), *tot = cJSON_GetObjectItem(j, "totals");
    int q41 = 0, q80 = 0, f32 = 0;
    for (const cJSON *t = ts ? ts->child : NULL; t; t = t->next) {
        const char *ty = cJSON_GetStringValue(cJSON_GetObjectItem(t, "ggml_type"));
        double bpw = cJSON_GetNumberValue(cJSON_GetObjectItem(t, "bits_per_weight"));
        double blk = cJSON_GetNumberValue(cJSON_GetObjectItem(t, "block"));
        if (ty && !strcmp(ty, "Q4_1")) q41 += bpw == 5.0 && blk == 32;
        if (ty && !strcmp(ty, "Q8_0")) q80 += bpw == 8.5 && blk == 32;
        if (ty && !strcmp(ty, "F32")) f32 += bpw == 32.0 && blk == 1;
    }
    CHECK_EQ_INT(q41, 210);
    CHECK_EQ_INT(q80, 1);
    CHECK_EQ_INT(f32, 61);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(tot, "file_bytes")) == (double)sb.st_size);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(tot, "metadata_bytes")) > 1e6);   /* 49152 tokens and merges */
    cJSON_Delete(j);
    free(js);
    free(out);
}

void tq_tests(void) {
    tq_error e;
    build(&e);
    if (!g_img) return;
    const char *path = tq_t_path("written.gguf");
    tq_t_write(path, g_img, (size_t)g_size);
    read_back(path);
    corrupt();
    directory_and_convert(path);
    smollm2();
    free(g_img);
}
