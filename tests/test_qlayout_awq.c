/* test_qlayout_awq.c — AWQ GEMM checkpoints (src/io/qlayout_awq.c, codec
 * src/codec/awq.c). AutoAWQ's packer needs CUDA, so the fixtures are written
 * here by an independent packer following AutoAWQ's published packing loop
 * (nibble k of word w holds output 8w + ORDER[k], ORDER = 0 2 4 6 1 3 5 7;
 * docs/formats/quantized-layouts.md): decoded values are checked against
 * s * (q - z) in double, bit for bit; a known-answer word; the ledger; a
 * corrupt-input matrix, each case with its own error. */
#include "qlayout_fix.h"

static const int ORDER[8] = {0, 2, 4, 6, 1, 3, 5, 7};

enum { OUT = 32, MAXIN = 64 };

typedef struct awq_fix {
    int32_t  qweight[MAXIN * OUT / 8];
    int32_t  qzeros[MAXIN * OUT / 8];
    uint16_t scales[MAXIN * OUT];
    double   want[OUT * MAXIN];
    int64_t  in, g, ng;
} awq_fix;

/* pack int codes c[row][out] into AWQ words, the packer's way */
static void pack(int32_t *dst, const uint8_t *c, int64_t nrows) {
    for (int64_t r = 0; r < nrows; r++)
        for (int w = 0; w < OUT / 8; w++) {
            uint32_t word = 0;
            for (int k = 0; k < 8; k++) word |= (uint32_t)c[r * OUT + w * 8 + ORDER[k]] << (4 * k);
            memcpy(&dst[r * (OUT / 8) + w], &word, 4);
        }
}

static void make_awq(awq_fix *f, int64_t in, int64_t g) {
    memset(f, 0, sizeof *f);
    f->in = in;
    f->g = g;
    f->ng = (in + g - 1) / g;
    static uint8_t q[MAXIN * OUT], z[MAXIN * OUT];
    static const uint16_t sv[5] = {0x3800, 0x3400, 0x3C00, 0x3A00, 0x2E66};   /* 0.5 0.25 1 0.75 0.0999 */
    uint64_t rs = 7;
    for (int64_t gi = 0; gi < f->ng; gi++)
        for (int j = 0; j < OUT; j++) {
            z[gi * OUT + j] = (uint8_t)(tq_t_rand(&rs) % 16);
            f->scales[gi * OUT + j] = sv[(gi * 3 + j) % 5];
        }
    for (int64_t i = 0; i < in; i++)
        for (int j = 0; j < OUT; j++) q[i * OUT + j] = (uint8_t)(tq_t_rand(&rs) % 16);
    pack(f->qweight, q, in);
    pack(f->qzeros, z, f->ng);
    for (int j = 0; j < OUT; j++)
        for (int64_t i = 0; i < in; i++) {
            int64_t gi = i / g;
            f->want[j * in + i] =
                (double)tq_f16_to_f32(f->scales[gi * OUT + j]) * ((double)q[i * OUT + j] - (double)z[gi * OUT + j]);
        }
}

static char g_conf[512];
static const char *conf(int64_t group, const char *extra) {
    snprintf(g_conf, sizeof g_conf, "{\"quantization_config\":{\"quant_method\":\"awq\",\"bits\":4,\"group_size\":%lld,"
             "\"zero_point\":true%s}}", (long long)group, extra);
    return g_conf;
}

static int ents(const awq_fix *f, ent *e) {
    e[0] = (ent){"m.qweight", "I32", 2, {f->in, OUT / 8}, f->qweight, (size_t)(f->in * OUT / 2)};
    e[1] = (ent){"m.qzeros", "I32", 2, {f->ng, OUT / 8}, f->qzeros, (size_t)(f->ng * OUT / 2)};
    e[2] = (ent){"m.scales", "F16", 2, {f->ng, OUT}, f->scales, (size_t)(f->ng * OUT * 2)};
    e[3] = (ent){"m.bias", "F16", 1, {OUT, 0}, f->scales, OUT * 2};
    return 4;
}

static void decode_case(const char *tag, int64_t in, int64_t g, const char *cf) {
    static awq_fix f;
    make_awq(&f, in, g);
    ent e[4];
    int ne = ents(&f, e);
    char d[512];
    snprintf(d, sizeof d, "%s", tq_t_path(tag));
    size_t fsz = write_model(d, e, ne, cf);
    tq_error err;
    tq_model *m = tq_model_open(d, &err);
    CHECK_MSG(m != NULL, "%s: %s", tag, m ? "" : err.msg);
    if (!m) return;
    CHECK_EQ_INT(tq_model_count(m), 2);
    const tq_tensor *t = tq_model_find(m, "m.weight");
    CHECK(t && t->quantized && t->q.codec == TQ_CODEC_AWQ && t->q.bits == 4 && t->q.group == g && t->shape[0] == OUT &&
          t->shape[1] == in && t->q.pad == (in % g != 0));
    if (t) {
        CHECK_EQ_INT(t->nbytes + t->aux_bytes, e[0].n + e[1].n + e[2].n);
        static float got[OUT * MAXIN], rows[OUT * MAXIN];
        CHECK_OK(tq_model_tensor_f32(m, t, got, &err), err);
        int bad = 0;
        for (int64_t k = 0; k < OUT * in; k++) bad += (double)got[k] != f.want[k];
        CHECK_MSG(bad == 0, "%s: %d of %lld values differ from s*(q-z)", tag, bad, (long long)(OUT * in));
        CHECK_OK(tq_dequantize_rows(&t->q, OUT, in, 3, 11, t->data, t->aux, rows, &err), err);
        CHECK(memcmp(rows, got + 3 * in, sizeof(float) * (size_t)(8 * in)) == 0);
        check_ledger(m, fsz, 1, "m.weight", (double)(e[0].n + e[1].n + e[2].n) * 8.0 / (double)(OUT * in));
    }
    tq_model_close(m);
}

void tq_tests(void) {
    TQ_CASE("awq: known-answer word, outputs 0..7 with codes 0..7 pack to 0x75316420");
    {
        uint8_t c[OUT] = {0, 1, 2, 3, 4, 5, 6, 7};
        int32_t w[OUT / 8];
        pack(w, c, 1);
        CHECK_EQ_INT((uint32_t)w[0], 0x75316420u);
        uint16_t one[OUT];
        for (int j = 0; j < OUT; j++) one[j] = 0x3C00;
        int32_t zero[OUT / 8] = {0};
        const void *aux[3] = {zero, one, NULL};
        tq_qparams p = {TQ_CODEC_AWQ, 4, TQ_GRAN_GROUP, 1, 0, 0.0f, 0, 0};
        float out[OUT];
        tq_error err;
        CHECK_OK(tq_dequantize(&p, OUT, 1, w, aux, out, &err), err);
        for (int j = 0; j < 8; j++) CHECK_MSG(out[j] == (float)j, "output %d decodes to %g", j, (double)out[j]);
    }
    TQ_CASE("awq gemm: group 16, decode = s * (q - z) bit for bit, ledger reconciles");
    decode_case("g16", 64, 16, conf(16, ",\"version\":\"gemm\""));
    TQ_CASE("awq gemm: group_size -1 (one group per row), AutoAWQ key names w_bit / q_group_size");
    decode_case("gall", 64, 64, "{\"quantization_config\":{\"quant_method\":\"awq\",\"w_bit\":4,\"q_group_size\":-1,"
                                     "\"version\":\"GEMM\"}}");
    TQ_CASE("awq gemm: a shorter last group (in 40, group 16)");
    decode_case("pad", 40, 16, conf(16, ""));

    TQ_CASE("awq corrupt-input matrix: each a specific error");
    static awq_fix f;
    make_awq(&f, 64, 16);
    ent e[4], x[4];
    ents(&f, e);
    expect_open_err("nozeros", (ent[]){e[0], e[2]}, 2, conf(16, ""), TQ_E_FORMAT, "\"m.qzeros\" is missing");
    expect_open_err("noscales", (ent[]){e[0], e[1]}, 2, conf(16, ""), TQ_E_FORMAT, "\"m.scales\" is missing");
    expect_open_err("bits8", e, 3, "{\"quantization_config\":{\"quant_method\":\"awq\",\"bits\":8,\"group_size\":16}}",
                    TQ_E_UNSUPPORTED, "\"bits\" is 8");
    expect_open_err("gemv", e, 3, conf(16, ",\"version\":\"gemv\""), TQ_E_UNSUPPORTED, "\"version\" is gemv");
    expect_open_err("nozp", e, 3,
                    "{\"quantization_config\":{\"quant_method\":\"awq\",\"bits\":4,\"group_size\":16,\"zero_point\":false}}",
                    TQ_E_UNSUPPORTED, "\"zero_point\" is not true");
    expect_open_err("group0", e, 3, conf(0, ""), TQ_E_FORMAT, "\"group_size\" is 0");
    memcpy(x, e, sizeof x);
    x[0].dtype = "F32";
    expect_open_err("qwf32", x, 3, conf(16, ""), TQ_E_FORMAT, "AWQ packs I32 [in, out/8]");
    memcpy(x, e, sizeof x);
    x[2].shape[0] = 3;
    x[2].n = 3 * OUT * 2;
    expect_open_err("scales", x, 3, conf(16, ""), TQ_E_FORMAT, "\"m.scales\" is F16 [3, 32]; [32, 64] at 4 bits, group 16 gives F16 [4, 32]");
    memcpy(x, e, sizeof x);
    x[1].dtype = "F32";
    expect_open_err("zdtype", x, 3, conf(16, ""), TQ_E_FORMAT, "\"m.qzeros\" is F32 [4, 4]");
    memcpy(x, e, sizeof x);
    x[1].shape[1] = 2; x[1].shape[0] = 8;
    expect_open_err("zshape", x, 3, conf(16, ""), TQ_E_FORMAT, "\"m.qzeros\" is I32 [8, 2]");
    /* an AWQ config never claims GPTQ's act-order layout */
    int32_t gi[64] = {0};
    expect_open_err("gidx", (ent[]){e[0], e[1], e[2], {"m.g_idx", "I32", 1, {64, 0}, gi, sizeof gi}}, 4, conf(16, ""),
                    TQ_E_FORMAT, "has a g_idx");
}
