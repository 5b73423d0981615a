/* test_qlayout.c — foreign quantized layouts (src/io/qlayout*.c): GPTQ files
 * written here by an independent packer (from the published layout:
 * docs/formats/quantized-layouts.md), decoded through tq_model and checked
 * against the published formula in double; a corrupt-input matrix. */
#include "qlayout_fix.h"

enum { OUT = 32, IN = 64, G = 16, NG = IN / G };

typedef struct gptq_fix {
    uint32_t qzeros[NG * OUT * 8 / 32];
    uint16_t scales[NG * OUT];
    int32_t  g_idx[IN];
    double   want[OUT * IN];
} gptq_fix;

static uint32_t qw8[IN * 8 / 32 * OUT];

/* codes q, zeros, scales, act-order g_idx; want = s * (q - (z + zoff)) */
static void make_gptq(gptq_fix *f, int bits, int zoff, uint32_t *qweight) {
    memset(f, 0, sizeof *f);
    memset(qweight, 0, sizeof(uint32_t) * (size_t)(IN * bits / 32 * OUT));
    static const uint16_t sv[4] = {0x3800, 0x3400, 0x3C00, 0x3A00};   /* 0.5, 0.25, 1, 0.75 */
    uint64_t rs = 42;
    for (int i = 0; i < IN; i++) f->g_idx[i] = (i * 7 + 3) % NG;   /* act-order: not i / G */
    for (int g = 0; g < NG; g++)
        for (int j = 0; j < OUT; j++) {
            f->scales[g * OUT + j] = sv[(g + j) % 4];
            put(f->qzeros + g * (OUT * bits / 32), 1, j, bits, tq_t_rand(&rs) % (1u << bits));
        }
    for (int j = 0; j < OUT; j++)
        for (int i = 0; i < IN; i++) {
            uint32_t q = tq_t_rand(&rs) % (1u << bits);
            put(qweight + j, OUT, i, bits, q);
            int g = f->g_idx[i];
            uint32_t z = 0;
            for (int b = 0; b < bits; b++) {
                int64_t bit = (int64_t)j * bits + b;
                z |= (f->qzeros[g * (OUT * bits / 32) + bit / 32] >> (bit % 32) & 1u) << b;
            }
            f->want[j * IN + i] = (double)tq_f16_to_f32(f->scales[g * OUT + j]) * ((double)q - (double)(z + (uint32_t)zoff));
        }
}

static char g_conf[512];
static const char *gptq_conf(int bits, const char *extra) {
    snprintf(g_conf, sizeof g_conf, "{\"quantization_config\":{\"quant_method\":\"gptq\",\"bits\":%d,\"group_size\":%d,"
             "\"desc_act\":true,\"sym\":false%s}}", bits, G, extra);
    return g_conf;
}

static void decode_case(int bits, const char *extra, int zoff) {
    static gptq_fix f;
    uint32_t *qw = qw8;
    make_gptq(&f, bits, zoff, qw);
    int64_t pr = IN * bits / 32;
    ent e[5] = {{"l.qweight", "I32", 2, {pr, OUT}, qw, (size_t)(pr * OUT * 4)},
                {"l.qzeros", "I32", 2, {NG, OUT * bits / 32}, f.qzeros, (size_t)(NG * OUT * bits / 32 * 4)},
                {"l.scales", "F16", 2, {NG, OUT}, f.scales, sizeof f.scales},
                {"l.g_idx", "I32", 1, {IN, 0}, f.g_idx, sizeof f.g_idx},
                {"l.bias", "F16", 1, {OUT, 0}, f.scales, OUT * 2}};
    char *dir = tq_t_path("gptq");
    char d[512];
    snprintf(d, sizeof d, "%s%d%s", dir, bits, zoff ? "" : "v2");
    write_model(d, e, 5, gptq_conf(bits, extra));
    tq_error err;
    tq_model *m = tq_model_open(d, &err);
    CHECK_MSG(m != NULL, "%s", m ? "" : err.msg);
    if (!m) return;
    CHECK_EQ_INT(tq_model_count(m), 2);   /* l.weight (4 entries) and l.bias */
    const tq_tensor *t = tq_model_find(m, "l.weight");
    CHECK(t && t->quantized && t->q.bits == bits && t->q.group == G && t->ndim == 2 && t->shape[0] == OUT &&
          t->shape[1] == IN && t->q.codec == (zoff ? TQ_CODEC_GPTQ : TQ_CODEC_GPTQ_V2));
    CHECK(t && t->nbytes + t->aux_bytes == e[0].n + e[1].n + e[2].n + e[3].n);
    static float got[OUT * IN], rows[OUT * IN];
    if (t) {
        CHECK_OK(tq_model_tensor_f32(m, t, got, &err), err);
        int bad = 0;
        for (int k = 0; k < OUT * IN; k++) bad += (double)got[k] != f.want[k];
        CHECK_MSG(bad == 0, "%d bits: %d of %d values differ from s*(q-z)", bits, bad, OUT * IN);
        /* a row range decodes to the same rows */
        CHECK_OK(tq_dequantize_rows(&t->q, OUT, IN, 5, 9, t->data, t->aux, rows, &err), err);
        CHECK(memcmp(rows, got + 5 * IN, sizeof(float) * 4 * IN) == 0);
    }
    tq_model_close(m);
}

void tq_tests(void) {
    TQ_CASE("gptq: 2/3/4/8 bits, act-order g_idx, zeros stored minus one, decode = s * (q - z)");
    decode_case(4, "", 1);
    decode_case(3, "", 1);
    decode_case(2, "", 1);
    decode_case(8, "", 1);
    TQ_CASE("gptq v2: checkpoint_format gptq_v2 keeps the zeros as stored");
    decode_case(4, ",\"checkpoint_format\":\"gptq_v2\"", 0);

    TQ_CASE("gptq corrupt-input matrix: each a specific error");
    static gptq_fix f;
    make_gptq(&f, 4, 1, qw8);
    ent e[4] = {{"l.qweight", "I32", 2, {IN * 4 / 32, OUT}, qw8, IN * 4 / 32 * OUT * 4},
                {"l.qzeros", "I32", 2, {NG, OUT * 4 / 32}, f.qzeros, NG * OUT * 4 / 32 * 4},
                {"l.scales", "F16", 2, {NG, OUT}, f.scales, sizeof f.scales},
                {"l.g_idx", "I32", 1, {IN, 0}, f.g_idx, sizeof f.g_idx}};
    ent x[4];
    memcpy(x, e, sizeof x);
    expect_open_err("nozeros", (ent[]){e[0], e[2], e[3]}, 3, gptq_conf(4, ""), TQ_E_FORMAT, "\"l.qzeros\" is missing");
    expect_open_err("bits5", e, 4, gptq_conf(5, ""), TQ_E_UNSUPPORTED, "\"bits\" is 5");
    expect_open_err("bits3", e, 4, gptq_conf(3, ""), TQ_E_FORMAT, "packed rows");
    expect_open_err("fmt", e, 4, gptq_conf(4, ",\"checkpoint_format\":\"marlin\""), TQ_E_UNSUPPORTED,
                    "\"checkpoint_format\" is marlin");
    x[2].shape[0] = NG - 1; x[2].n = (size_t)((NG - 1) * OUT * 2);
    expect_open_err("scales", x, 4, gptq_conf(4, ""), TQ_E_FORMAT, "group size 16");
    memcpy(x, e, sizeof x);
    x[0].dtype = "F32";
    expect_open_err("qwdtype", x, 4, gptq_conf(4, ""), TQ_E_FORMAT, "GPTQ packs I32");
    expect_open_err("noconf", e, 4, "{}", TQ_E_UNSUPPORTED, "no layout trueq reads claims (config.json quant_method: none)");
    expect_open_err("awq", e, 4, "{\"quantization_config\":{\"quant_method\":\"awq\",\"bits\":4,\"group_size\":16}}",
                    TQ_E_FORMAT, "has a g_idx (a GPTQ layout)");
    expect_open_err("hqq", e, 4, "{\"quantization_config\":{\"quant_method\":\"hqq\"}}", TQ_E_UNSUPPORTED,
                    "quant_method: hqq");

    TQ_CASE("gptq: g_idx out of range is refused at decode, naming the tensor");
    f.g_idx[7] = NG;
    write_model(tq_t_path("gidx"), e, 4, gptq_conf(4, ""));
    tq_error err;
    tq_model *m = tq_model_open(tq_t_path("gidx"), &err);
    CHECK_MSG(m != NULL, "%s", m ? "" : err.msg);
    static float out[OUT * IN];
    if (m) {
        CHECK_ERR(tq_model_tensor_f32(m, tq_model_find(m, "l.weight"), out, &err), err, TQ_E_FORMAT,
                  "g_idx[7] = 4 is outside the 4 groups");
        tq_model_close(m);
    }
}
