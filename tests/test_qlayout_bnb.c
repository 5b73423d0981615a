/* test_qlayout_bnb.c — bitsandbytes checkpoints (src/io/qlayout_bnb.c, codecs
 * src/codec/bnb.c). bitsandbytes needs torch, which the test machines do not
 * carry, so the fixtures are written here by an independent packer from the
 * published algorithm (FORMATS.md §7; docs/formats/quantized-layouts.md):
 * NF4 / FP4 blockwise absmax over the flattened tensor (a block spanning
 * rows, a partial last block, an odd element count), double quant with a
 * stand-in nested map, LLM.int8 row absmax. Decoded values equal the
 * float32 arithmetic bitsandbytes does, bit for bit; inspect's ledger
 * reconciles with the file; `trueq verify` against the original agrees with
 * the error computed here; a corrupt-input matrix, each with its error. */
#include "qlayout_fix.h"
#include "codec/codec.h"
#include <cjson/cJSON.h>
#include <math.h>

enum { MAXN = 64 * 72 };

typedef struct b4_fix {
    float    w[MAXN];                 /* the original */
    uint8_t  packed[MAXN / 2 + 1];
    float    absmax[MAXN];
    uint8_t  absq[MAXN];
    float    nabs[MAXN / 256 + 1];
    float    nmap[256];
    float    code[16];
    float    want[MAXN];
    char     state[512];
    int64_t  rows, cols, n, nb;
} b4_fix;

/* nearest code by sorted midpoints, ties to the lower value (bnb's strict >) */
static int nearest(const float *code, float x) {
    int idx[16];
    for (int i = 0; i < 16; i++) idx[i] = i;
    for (int i = 1; i < 16; i++)   /* sort indices by value */
        for (int j = i; j > 0 && code[idx[j]] < code[idx[j - 1]]; j--) { int t = idx[j]; idx[j] = idx[j - 1]; idx[j - 1] = t; }
    int best = idx[0];
    for (int i = 1; i < 16; i++)
        if (x > (code[idx[i - 1]] + code[idx[i]]) / 2) best = idx[i];
    return best;
}

static void make_b4(b4_fix *f, int fp4, int dq, int64_t rows, int64_t cols, int64_t bs) {
    memset(f, 0, sizeof *f);
    f->rows = rows; f->cols = cols; f->n = rows * cols; f->nb = (f->n + bs - 1) / bs;
    tq_bnb_code(fp4, f->code);
    uint64_t rs = (uint64_t)(rows * 31 + cols + bs + fp4 + dq);
    for (int64_t k = 0; k < f->n; k++) f->w[k] = tq_t_randn(&rs) * 0.05f;
    for (int64_t b = 0; b < f->nb; b++) {
        float m = 0;
        for (int64_t k = b * bs; k < f->n && k < (b + 1) * bs; k++) m = fmaxf(m, fabsf(f->w[k]));
        f->absmax[b] = m;
    }
    float off = 0;
    if (dq) {   /* offset = mean, 8-bit codes of absmax - offset over a stand-in signed map, blocks of 256 */
        double s = 0;
        for (int64_t b = 0; b < f->nb; b++) s += f->absmax[b];
        off = (float)(s / (double)f->nb);
        for (int i = 0; i < 256; i++) f->nmap[i] = (float)(i - 127.5) / 127.5f;
        for (int64_t b = 0; b < f->nb; b++) {
            int64_t g = b / 256;
            float m = 0;
            for (int64_t c = g * 256; c < f->nb && c < (g + 1) * 256; c++) m = fmaxf(m, fabsf(f->absmax[c] - off));
            f->nabs[g] = m;
            float v = (f->absmax[b] - off) / m;
            int best = 0;
            for (int i = 1; i < 256; i++) if (v > (f->nmap[i - 1] + f->nmap[i]) / 2) best = i;
            f->absq[b] = (uint8_t)best;
        }
    }
    for (int64_t k = 0; k < f->n; k++) {
        int64_t b = k / bs;
        float m = f->absmax[b];
        float x = m > 0 ? fminf(fmaxf(f->w[k] * (1.0f / m), -1.0f), 1.0f) : 0.0f;
        int c = nearest(f->code, x);
        f->packed[k / 2] |= (uint8_t)(k % 2 ? c : c << 4);
        float am = m;
        if (dq) {
            am = (float)((double)f->nmap[f->absq[b]] * (double)f->nabs[b / 256]);
            am = (float)((double)am + (double)off);
        }
        f->want[k] = (float)((double)f->code[c] * (double)am);
    }
    if (f->n % 2) f->packed[f->n / 2] |= (uint8_t)(fp4 ? 0 : 7);   /* padding: the code of 0 */
    int l = snprintf(f->state, sizeof f->state, "{\"quant_type\": \"%s\", \"blocksize\": %lld, \"dtype\": \"bfloat16\", "
                     "\"shape\": [%lld, %lld]", fp4 ? "fp4" : "nf4", (long long)bs, (long long)rows, (long long)cols);
    if (dq) l += snprintf(f->state + l, sizeof f->state - (size_t)l, ", \"nested_blocksize\": 256, \"nested_dtype\": "
                          "\"float32\", \"nested_offset\": %.9g", (double)off);
    snprintf(f->state + l, sizeof f->state - (size_t)l, "}");
}

static int b4_ents(const b4_fix *f, int fp4, int dq, ent *e) {
    int n = 0;
    e[n++] = (ent){"m.weight", "U8", 2, {(f->n + 1) / 2, 1}, f->packed, (size_t)((f->n + 1) / 2)};
    if (dq) {
        e[n++] = (ent){"m.weight.absmax", "U8", 1, {f->nb, 0}, f->absq, (size_t)f->nb};
        e[n++] = (ent){"m.weight.nested_absmax", "F32", 1, {(f->nb + 255) / 256, 0}, f->nabs, (size_t)((f->nb + 255) / 256 * 4)};
        e[n++] = (ent){"m.weight.nested_quant_map", "F32", 1, {256, 0}, f->nmap, 1024};
    } else {
        e[n++] = (ent){"m.weight.absmax", "F32", 1, {f->nb, 0}, f->absmax, (size_t)(f->nb * 4)};
    }
    e[n++] = (ent){"m.weight.quant_map", "F32", 1, {16, 0}, f->code, 64};
    e[n++] = (ent){fp4 ? "m.weight.quant_state.bitsandbytes__fp4" : "m.weight.quant_state.bitsandbytes__nf4", "U8", 1,
                   {(int64_t)strlen(f->state), 0}, f->state, strlen(f->state)};
    return n;
}

static const char *conf4(int fp4, int dq) {
    static char c[512];
    snprintf(c, sizeof c, "{\"quantization_config\":{\"quant_method\":\"bitsandbytes\",\"load_in_4bit\":true,"
             "\"load_in_8bit\":false,\"bnb_4bit_quant_type\":\"%s\",\"bnb_4bit_use_double_quant\":%s,"
             "\"bnb_4bit_compute_dtype\":\"bfloat16\",\"bnb_4bit_quant_storage\":\"uint8\"}}", fp4 ? "fp4" : "nf4",
             dq ? "true" : "false");
    return c;
}
static const char *CONF8 = "{\"quantization_config\":{\"quant_method\":\"bitsandbytes\",\"load_in_8bit\":true,"
                           "\"llm_int8_threshold\":6.0}}";

/* the original as plain F32, and `trueq verify ORIG QUANT --json`: its relative error for m.weight equals
 * ||w - want|| / ||w|| computed here */
static void verify_cli(const char *qdir, const float *w, const float *want, int64_t rows, int64_t cols) {
    const char *cli = getenv("TQ_CLI");
    if (!cli) return;
    char od[600], cmd[2048];
    snprintf(od, sizeof od, "%s_orig", qdir);
    ent e = {"m.weight", "F32", 2, {rows, cols}, w, (size_t)(rows * cols * 4)};
    write_model(od, &e, 1, "{}");
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' '%s' --json", cli, od, qdir);
    char *out = NULL;
    int rc = tq_t_run(cmd, &out);
    CHECK_MSG(rc == 0, "verify exit %d", rc);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    double num = 0, den = 0;
    for (int64_t k = 0; k < rows * cols; k++) {
        num += ((double)w[k] - want[k]) * ((double)w[k] - want[k]);
        den += (double)w[k] * w[k];
    }
    double rel = sqrt(num / den);
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(j, "tensors"), *t, *found = NULL;
    cJSON_ArrayForEach(t, ts) {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(t, "name");
        if (cJSON_IsString(nm) && !strcmp(nm->valuestring, "m.weight")) found = t;
    }
    const cJSON *mt = found ? cJSON_GetObjectItemCaseSensitive(found, "metrics") : NULL;
    const cJSON *re = mt ? cJSON_GetObjectItemCaseSensitive(mt, "rel_error") : NULL;
    CHECK_MSG(cJSON_IsNumber(re) && fabs(re->valuedouble - rel) <= 1e-6 * rel, "verify rel_error %g, computed %g",
              cJSON_IsNumber(re) ? re->valuedouble : -1.0, rel);
    if (!cJSON_IsNumber(re)) fprintf(stderr, "  verify said: %.1500s\n", out ? out : "(nothing)");
    cJSON_Delete(j);
    free(out);
}

static void b4_case(int fp4, int dq, int64_t rows, int64_t cols, int64_t bs, tq_codec_id id) {
    static b4_fix f;
    make_b4(&f, fp4, dq, rows, cols, bs);
    ent e[8];
    int n = b4_ents(&f, fp4, dq, e);
    uint16_t bias[4] = {0x3C00, 0, 0, 0};
    e[n++] = (ent){"m.bias", "BF16", 1, {4, 0}, bias, 8};
    char tag[64], d[512];
    snprintf(tag, sizeof tag, "b4_%d%d_%lldx%lld_%lld", fp4, dq, (long long)rows, (long long)cols, (long long)bs);
    snprintf(d, sizeof d, "%s", tq_t_path(tag));
    size_t fsz = write_model(d, e, n, conf4(fp4, dq));
    uint64_t qb = 0;
    for (int k = 0; k < n - 1; k++) qb += e[k].n;
    tq_error err;
    tq_model *m = tq_model_open(d, &err);
    CHECK_MSG(m != NULL, "%s: %s", tag, m ? "" : err.msg);
    if (!m) return;
    CHECK_EQ_INT(tq_model_count(m), 2);
    const tq_tensor *t = tq_model_find(m, "m.weight");
    CHECK(t && t->quantized && t->q.codec == id && t->q.group == bs && t->shape[0] == rows && t->shape[1] == cols &&
          t->orig_dtype == TQ_DTYPE_BF16);
    if (t) {
        CHECK_EQ_INT(t->nbytes + t->aux_bytes, qb);
        static float got[MAXN], part[MAXN];
        CHECK_OK(tq_model_tensor_f32(m, t, got, &err), err);
        int bad = 0;
        for (int64_t k = 0; k < f.n; k++) bad += memcmp(&got[k], &f.want[k], 4) != 0;
        CHECK_MSG(bad == 0, "%s: %d of %lld values differ from code * absmax", tag, bad, (long long)f.n);
        CHECK_OK(tq_dequantize_rows(&t->q, rows, cols, 1, rows - 1, t->data, t->aux, part, &err), err);
        CHECK(memcmp(part, got + cols, sizeof(float) * (size_t)((rows - 2) * cols)) == 0);
        check_ledger(m, fsz, 1, "m.weight", (double)qb * 8.0 / (double)f.n);
    }
    tq_model_close(m);
    verify_cli(d, f.w, f.want, rows, cols);
}

typedef struct i8_fix { float w[MAXN]; uint16_t w16[MAXN]; int8_t cb[MAXN]; float scb[128]; float want[MAXN]; uint8_t fmt; } i8_fix;

static void make_i8(i8_fix *f, int64_t rows, int64_t cols) {
    memset(f, 0, sizeof *f);
    uint64_t rs = 99;
    for (int64_t j = 0; j < rows; j++) {
        float m = 0;
        for (int64_t i = 0; i < cols; i++) {
            float v = j == 3 ? 0.0f : tq_t_randn(&rs) * 0.1f;   /* row 3 all zero */
            f->w16[j * cols + i] = tq_f32_to_f16(v);
            f->w[j * cols + i] = tq_f16_to_f32(f->w16[j * cols + i]);
            m = fmaxf(m, fabsf(f->w[j * cols + i]));
        }
        f->scb[j] = m;
        for (int64_t i = 0; i < cols; i++) {
            float q = m > 0 ? nearbyintf(f->w[j * cols + i] * (127.0f / m)) : 0.0f;
            f->cb[j * cols + i] = (int8_t)q;
            float p = (float)((double)f->cb[j * cols + i] * (double)m);   /* the stored int8: -0 is 0 */
            f->want[j * cols + i] = (float)((double)p * (double)7.874015718698502e-3f);
        }
    }
}

void tq_tests(void) {
    TQ_CASE("bnb code books: NF4 as published, FP4 = {0, 0.0625, 8, 12, 4, 6, 2, 3, -...} / 12");
    {
        float c[16];
        tq_bnb_code(0, c);
        CHECK(c[0] == -1.0f && c[7] == 0.0f && c[15] == 1.0f && c[9] == 0.16093020141124725f);
        tq_bnb_code(1, c);
        CHECK(c[1] == 0.0625f / 12.0f && c[3] == 1.0f && c[11] == -1.0f && c[6] == 2.0f / 12.0f && c[8] == 0.0f && !signbit(c[8]));
    }
    TQ_CASE("bnb NF4: blocks of 64 over the flat tensor (rows of 40: blocks span rows, a partial last block)");
    b4_case(0, 0, 16, 40, 64, TQ_CODEC_BNB_NF4);
    TQ_CASE("bnb FP4: blocksize 32, an odd element count (padded last byte)");
    b4_case(1, 0, 7, 33, 32, TQ_CODEC_BNB_FP4);
    TQ_CASE("bnb NF4 / FP4 double quant: absmax from 8-bit codes * nested_absmax + nested_offset, > 256 blocks");
    b4_case(0, 1, 64, 72, 16, TQ_CODEC_BNB_NF4_DQ);
    b4_case(1, 1, 8, 64, 64, TQ_CODEC_BNB_FP4_DQ);

    TQ_CASE("bnb LLM.int8: weight I8 + SCB, weight_format 0; decode = (q * SCB) * (1/127 as float)");
    static i8_fix g;
    enum { R8 = 24, C8 = 40 };
    make_i8(&g, R8, C8);
    ent e8[4] = {{"m.weight", "I8", 2, {R8, C8}, g.cb, R8 * C8}, {"m.SCB", "F32", 1, {R8, 0}, g.scb, R8 * 4},
                 {"m.weight_format", "U8", 0, {0, 0}, &g.fmt, 1}, {"m.bias", "F16", 1, {R8, 0}, g.w16, R8 * 2}};
    size_t fsz = write_model(tq_t_path("i8"), e8, 4, CONF8);
    tq_error err;
    tq_model *m = tq_model_open(tq_t_path("i8"), &err);
    CHECK_MSG(m != NULL, "%s", m ? "" : err.msg);
    if (m) {
        const tq_tensor *t = tq_model_find(m, "m.weight");
        CHECK(t && t->quantized && t->q.codec == TQ_CODEC_BNB_INT8 && t->q.gran == TQ_GRAN_CHANNEL);
        static float got[MAXN];
        if (t) {
            CHECK_OK(tq_model_tensor_f32(m, t, got, &err), err);
            int bad = 0;
            for (int k = 0; k < R8 * C8; k++) bad += memcmp(&got[k], &g.want[k], 4) != 0;
            CHECK_MSG(bad == 0, "%d values differ", bad);
            check_ledger(m, fsz, 1, "m.weight", (double)(R8 * C8 + R8 * 4 + 1) * 8.0 / (R8 * C8));
        }
        tq_model_close(m);
        verify_cli(tq_t_path("i8"), g.w, g.want, R8, C8);
    }

    TQ_CASE("bnb corrupt-input matrix: each a specific error");
    static b4_fix f;
    make_b4(&f, 0, 1, 8, 64, 64);
    ent e[8], x[8];
    int n = b4_ents(&f, 0, 1, e);   /* weight, absmax, nested_absmax, nested_map, quant_map, state */
    const char *c4 = conf4(0, 1);
    expect_open_err("b_noabs", (ent[]){e[0], e[2], e[3], e[4], e[5]}, 5, c4, TQ_E_FORMAT, "\"m.weight.absmax\" is missing");
    expect_open_err("b_nonest", (ent[]){e[0], e[1], e[3], e[4], e[5]}, 5, c4, TQ_E_FORMAT,
                    "(double quant): \"m.weight.nested_absmax\" is missing");
    expect_open_err("b_noqmap", (ent[]){e[0], e[1], e[2], e[3], e[5]}, 5, c4, TQ_E_FORMAT, "\"m.weight.quant_map\" is missing");
    expect_open_err("b_noweight", e + 1, n - 1, c4, TQ_E_FORMAT, "\"m.weight\" is missing");
    memcpy(x, e, sizeof x);
    x[5].data = "{\"quant_type\": \"nf4\", \"blocksize\": 64,"; x[5].shape[0] = 38; x[5].n = 38;
    expect_open_err("b_json", x, n, c4, TQ_E_FORMAT, "its bytes are not a JSON object");
    memcpy(x, e, sizeof x);
    x[5].name = "m.weight.quant_state.bitsandbytes__fp4";
    expect_open_err("b_qtype", x, n, c4, TQ_E_FORMAT, "quant_type is nf4; the entry's name says fp4");
    static char st[512];
    snprintf(st, sizeof st, "%s", f.state);
    char *bsz = strstr(st, "\"blocksize\": 64");
    if (bsz) memcpy(bsz, "\"blocksize\": 48", 15);
    memcpy(x, e, sizeof x);
    x[5].data = st;
    expect_open_err("b_bs", x, n, c4, TQ_E_FORMAT, "blocksize 48; bitsandbytes uses a power of two");
    static char st2[512];
    snprintf(st2, sizeof st2, "%s", f.state);
    char *shp = strstr(st2, "[8, 64]");
    if (shp) memcpy(shp, "[8, 62]", 7);
    x[5].data = st2;
    expect_open_err("b_shape", x, n, c4, TQ_E_FORMAT, "\"m.weight\" is U8 [256, 1]; [8, 62] at 4 bits stores its codes as U8 [248, 1]");
    memcpy(x, e, sizeof x);
    x[1].dtype = "F32"; x[1].n = (size_t)f.nb * 4; x[1].data = f.absmax;
    expect_open_err("b_absdtype", x, n, c4, TQ_E_FORMAT, "\"m.weight.absmax\" is F32 [8]; [8, 64] at 4 bits, group 64 gives U8 [8]");
    memcpy(x, e, sizeof x);
    static float qm[16];
    memcpy(qm, f.code, sizeof qm);
    qm[3] = 0.5f;
    x[4].data = qm;
    expect_open_err("b_qmap", x, n, c4, TQ_E_UNSUPPORTED, "entry 3 is 0.5, not bitsandbytes' NF4 code book");
    static b4_fix f2;
    make_b4(&f2, 0, 0, 8, 64, 64);
    int n2 = b4_ents(&f2, 0, 0, x);
    x[n2++] = e[2];
    expect_open_err("b_nestnodq", x, n2, conf4(0, 0), TQ_E_FORMAT, "is stored but the quant_state has no nested_offset");
    expect_open_err("b_noconf", e, n, "{}", TQ_E_UNSUPPORTED, "that no layout trueq reads claims");
    /* int8 */
    ent y[3];
    memcpy(y, e8, sizeof y);
    expect_open_err("i_noweight", y + 1, 2, CONF8, TQ_E_FORMAT, "\"m.weight\" is missing");
    y[0].dtype = "U8";
    expect_open_err("i_dtype", y, 3, CONF8, TQ_E_FORMAT, "LLM.int8 stores I8 [out, in]");
    memcpy(y, e8, sizeof y);
    y[1].shape[0] = R8 - 1; y[1].n = (R8 - 1) * 4;
    expect_open_err("i_scb", y, 3, CONF8, TQ_E_FORMAT, "\"m.SCB\" is F32 [23]; [24, 40] at 8 bits, group 0 gives F32 [24]");
    memcpy(y, e8, sizeof y);
    static uint8_t col32 = 1;
    y[2].data = &col32;
    expect_open_err("i_fmt", y, 3, CONF8, TQ_E_UNSUPPORTED, "trueq reads weight_format 0 (row)");
    g.scb[2] = INFINITY;
    write_model(tq_t_path("i_inf"), e8, 3, CONF8);
    m = tq_model_open(tq_t_path("i_inf"), &err);
    CHECK_MSG(m != NULL, "%s", m ? "" : err.msg);
    static float out[MAXN];
    if (m) {
        CHECK_ERR(tq_model_tensor_f32(m, tq_model_find(m, "m.weight"), out, &err), err, TQ_E_FORMAT, "SCB[2] is inf");
        tq_model_close(m);
    }
}
