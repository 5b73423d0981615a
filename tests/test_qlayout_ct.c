/* test_qlayout_ct.c — compressed-tensors checkpoints (src/io/qlayout_ct.c,
 * codecs src/codec/ct.c). compressed-tensors needs torch, which the test
 * machines do not carry, so the fixtures are written here by an independent
 * packer from the published layout (docs/formats/quantized-layouts.md); the
 * packing rule is pinned by compressed-tensors' own known answers
 * (test_pack_quant.py: words 0x76543210, 0xCBA9, 0x84838281, 0x03020100).
 * Every format (pack-quantized 2/4/8-bit sym/asym, int-quantized sym/asym,
 * float-quantized FP8), every strategy (tensor, channel, group incl. a
 * shorter last group) and scale dtype (F16, BF16, F32): decoded values equal
 * (q - zp) * s rounded once to float32; the ledger reconciles with the file;
 * a corrupt-input matrix, each case with its own error. */
#include "qlayout_fix.h"
#include <math.h>

enum { MAXR = 32, MAXC = 64 };

typedef struct ct_fix {
    int8_t   q[MAXR * MAXC];     /* codes (int) or FP8 bytes          */
    int8_t   zp[MAXR * MAXC];    /* per scale                          */
    uint8_t  scale[MAXR * MAXC * 4];
    int32_t  packed[MAXR * MAXC];
    int32_t  zpacked[MAXR * MAXC];
    int64_t  shape[2];
    float    want[MAXR * MAXC];
    int64_t  ns0, ns1, nsn;      /* scale shape (ns1 0: 1-d) and count */
    size_t   packed_n, zpacked_n;
} ct_fix;

/* E4M3FN decode, from the OCP FP8 definition (bias 7, no infinities) */
static double e4m3(uint8_t b) {
    int s = b >> 7, e = b >> 3 & 15, m = b & 7;
    double v = e ? (1.0 + m / 8.0) * ldexp(1.0, e - 7) : m / 8.0 * ldexp(1.0, -6);
    return s ? -v : v;
}

static void put_scale(uint8_t *dst, const char *dt, int64_t k, double v) {
    if (!strcmp(dt, "F32")) { float f = (float)v; memcpy(dst + 4 * k, &f, 4); return; }
    uint16_t h = !strcmp(dt, "F16") ? tq_f32_to_f16((float)v) : tq_f32_to_bf16((float)v);
    memcpy(dst + 2 * k, &h, 2);
}
static double get_scale(const uint8_t *src, const char *dt, int64_t k) {
    if (!strcmp(dt, "F32")) { float f; memcpy(&f, src + 4 * k, 4); return f; }
    uint16_t h;
    memcpy(&h, src + 2 * k, 2);
    return !strcmp(dt, "F16") ? tq_f16_to_f32(h) : tq_bf16_to_f32(h);
}

/* fmt 'p' pack, 'i' int, 'f' fp8; strategy 't' tensor, 'c' channel, 'g' group */
static void make_ct(ct_fix *f, char fmt, int bits, char strat, int64_t group, int sym, const char *sdt, int64_t R,
                    int64_t C) {
    memset(f, 0, sizeof *f);
    f->shape[0] = R;
    f->shape[1] = C;
    int64_t ng = strat == 'g' ? (C + group - 1) / group : 1;
    f->ns0 = strat == 't' ? 1 : R;
    f->ns1 = strat == 't' ? 0 : ng;
    f->nsn = strat == 't' ? 1 : R * ng;
    uint64_t rs = (uint64_t)(fmt * 131 + bits * 7 + strat + R + C);
    static const double sv[5] = {0.5, 0.25, 0.75, 0.0625, 1.5};
    int lo = -(1 << (bits - 1)), span = 1 << bits;
    for (int64_t k = 0; k < f->nsn; k++) {
        double s = !strcmp(sdt, "F32") ? 0.01234 * (double)(k + 1) : sv[k % 5];
        put_scale(f->scale, sdt, k, s);
        f->zp[k] = sym ? 0 : (int8_t)(lo + (int)(tq_t_rand(&rs) % (unsigned)span));
    }
    for (int64_t j = 0; j < R; j++)
        for (int64_t i = 0; i < C; i++) {
            uint8_t b = (uint8_t)tq_t_rand(&rs);
            if (fmt == 'f' && (b & 0x7F) == 0x7F) b ^= 1;   /* not NaN */
            f->q[j * C + i] = fmt == 'f' ? (int8_t)b : (int8_t)(lo + (int)(b % (unsigned)span));
            int64_t si = strat == 't' ? 0 : j * ng + (strat == 'g' ? i / group : 0);
            double qv = fmt == 'f' ? e4m3(b) : (double)f->q[j * C + i];
            f->want[j * C + i] = (float)((qv - (double)f->zp[si]) * get_scale(f->scale, sdt, si));
        }
    if (fmt == 'p') {   /* + 2^(b-1), LSB first, rows padded to whole words */
        int per = 32 / bits;
        int64_t wr = (C + per - 1) / per;
        for (int64_t j = 0; j < R; j++)
            for (int64_t i = 0; i < C; i++)
                f->packed[j * wr + i / per] |= (int32_t)((uint32_t)(f->q[j * C + i] - lo) << (bits * (i % per)));
        f->packed_n = (size_t)(R * wr * 4);
        int64_t zr = (R + per - 1) / per;   /* zero points packed down the rows */
        for (int64_t j = 0; j < R && !sym; j++)
            for (int64_t g = 0; g < ng; g++)
                f->zpacked[(j / per) * ng + g] |= (int32_t)((uint32_t)(f->zp[j * ng + g] - lo) << (bits * (j % per)));
        f->zpacked_n = (size_t)(zr * ng * 4);
    }
}

static int sz(const char *dt) { return !strcmp(dt, "F32") ? 4 : 2; }

/* the entries of module m.p */
static int ct_ents(const ct_fix *f, char fmt, int bits, int sym, const char *sdt, ent *e, int64_t *shape64) {
    int n = 0, per = 32 / bits;
    int64_t R = f->shape[0], C = f->shape[1];
    if (fmt == 'p') {
        e[n++] = (ent){"m.p.weight_packed", "I32", 2, {R, (C + per - 1) / per}, f->packed, f->packed_n};
        shape64[0] = R;
        shape64[1] = C;
        e[n++] = (ent){"m.p.weight_shape", "I64", 1, {2, 0}, shape64, 16};
    } else {
        e[n++] = (ent){"m.p.weight", fmt == 'f' ? "F8_E4M3" : "I8", 2, {R, C}, f->q, (size_t)(R * C)};
    }
    e[n++] = (ent){"m.p.weight_scale", sdt, f->ns1 ? 2 : 1, {f->ns0, f->ns1}, f->scale, (size_t)(f->nsn * sz(sdt))};
    if (!sym) {
        if (fmt == 'p')
            e[n++] = (ent){"m.p.weight_zero_point", "I32", 2, {(R + per - 1) / per, f->ns1}, f->zpacked, f->zpacked_n};
        else
            e[n++] = (ent){"m.p.weight_zero_point", "I8", f->ns1 ? 2 : 1, {f->ns0, f->ns1}, f->zp, (size_t)f->nsn};
    }
    return n;
}

static char g_conf[2048];
static const char *ct_conf(const char *fmt, int bits, const char *type, const char *strat, int64_t group, int sym,
                           const char *extra) {
    snprintf(g_conf, sizeof g_conf, "{\"quantization_config\":{\"quant_method\":\"compressed-tensors\",\"format\":\"%s\","
             "\"quantization_status\":\"compressed\",\"ignore\":[\"lm_head\"],\"config_groups\":{\"group_0\":{"
             "\"targets\":[\"Linear\"],\"weights\":{\"num_bits\":%d,\"type\":\"%s\",\"symmetric\":%s,\"strategy\":\"%s\","
             "\"group_size\":%lld,\"dynamic\":false,\"actorder\":null,\"observer\":\"minmax\"},\"input_activations\":null,"
             "\"format\":null}%s}}}", fmt, bits, type, sym ? "true" : "false", strat, (long long)group, extra);
    return g_conf;
}

static const char *fmt_name(char fmt) { return fmt == 'p' ? "pack-quantized" : fmt == 'i' ? "int-quantized" : "float-quantized"; }
static const char *strat_name(char s) { return s == 't' ? "tensor" : s == 'c' ? "channel" : "group"; }

static void decode_case(char fmt, int bits, char strat, int64_t group, int sym, const char *sdt, int64_t R, int64_t C,
                        tq_codec_id want_codec) {
    static ct_fix f;
    make_ct(&f, fmt, bits, strat, group, sym, sdt, R, C);
    ent e[8];
    int64_t sh[2];
    int n = ct_ents(&f, fmt, bits, sym, sdt, e, sh);
    uint16_t lm[4 * 8] = {0x3C00};
    e[n++] = (ent){"lm_head.weight", "F16", 2, {4, 8}, lm, sizeof lm};   /* ignored: plain */
    uint64_t quant_bytes = 0;
    for (int k = 0; k < n - 1; k++) quant_bytes += e[k].n;
    char tag[64], d[512];
    snprintf(tag, sizeof tag, "ct_%c%d%c%lld%s%s_%lldx%lld", fmt, bits, strat, (long long)group, sym ? "s" : "a", sdt,
             (long long)R, (long long)C);
    snprintf(d, sizeof d, "%s", tq_t_path(tag));
    size_t fsz = write_model(d, e, n, ct_conf(fmt_name(fmt), bits, fmt == 'f' ? "float" : "int", strat_name(strat),
                                              strat == 'g' ? group : strat == 'c' ? -1 : 0, sym, ""));
    tq_error err;
    tq_model *m = tq_model_open(d, &err);
    CHECK_MSG(m != NULL, "%s: %s", tag, m ? "" : err.msg);
    if (!m) return;
    CHECK_EQ_INT(tq_model_count(m), 2);
    const tq_tensor *t = tq_model_find(m, "m.p.weight");
    CHECK_MSG(t && t->quantized && t->q.codec == want_codec && t->shape[0] == R && t->shape[1] == C &&
              t->q.gran == (strat == 't' ? TQ_GRAN_TENSOR : strat == 'c' ? TQ_GRAN_CHANNEL : TQ_GRAN_GROUP),
              "%s: claimed as codec %d", tag, t ? (int)t->q.codec : -1);
    const tq_tensor *lh = tq_model_find(m, "lm_head.weight");
    CHECK(lh && !lh->quantized);
    if (t) {
        CHECK_EQ_INT(t->nbytes + t->aux_bytes, quant_bytes);
        static float got[MAXR * MAXC], rows[MAXR * MAXC];
        CHECK_OK(tq_model_tensor_f32(m, t, got, &err), err);
        int bad = 0;
        for (int64_t k = 0; k < R * C; k++) bad += memcmp(&got[k], &f.want[k], 4) != 0;
        CHECK_MSG(bad == 0, "%s: %d of %lld values differ from (q - zp) * s", tag, bad, (long long)(R * C));
        CHECK_OK(tq_dequantize_rows(&t->q, R, C, 1, R - 1, t->data, t->aux, rows, &err), err);
        CHECK(memcmp(rows, got + C, sizeof(float) * (size_t)((R - 2) * C)) == 0);
        check_ledger(m, fsz, 1, "m.p.weight", (double)quant_bytes * 8.0 / (double)(R * C));
    }
    tq_model_close(m);
}

static void known_answers(void) {
    /* compressed-tensors' test_pack_quant.py words, decoded by the codec */
    static const int32_t w4[2] = {1985229328, 52137};
    static const int8_t want4[12] = {-8, -7, -6, -5, -4, -3, -2, -1, 1, 2, 3, 4};
    float one = 1.0f, out[12];
    const void *aux[3] = {&one, NULL, NULL};
    tq_qparams p4 = {TQ_CODEC_CT_PACK, 4, TQ_GRAN_TENSOR, 0, 0, (float)TQ_DTYPE_F32, 0, 0};
    tq_error err;
    CHECK_OK(tq_dequantize(&p4, 1, 12, w4, aux, out, &err), err);
    for (int i = 0; i < 12; i++) CHECK_MSG(out[i] == (float)want4[i], "4-bit element %d: %g", i, (double)out[i]);
    static const int32_t w8[2] = {-2071756159, 50462976};
    static const int8_t want8[8] = {1, 2, 3, 4, -128, -127, -126, -125};
    tq_qparams p8 = {TQ_CODEC_CT_PACK, 8, TQ_GRAN_TENSOR, 0, 0, (float)TQ_DTYPE_F32, 0, 0};
    CHECK_OK(tq_dequantize(&p8, 1, 8, w8, aux, out, &err), err);
    for (int i = 0; i < 8; i++) CHECK_MSG(out[i] == (float)want8[i], "8-bit element %d: %g", i, (double)out[i]);
}

void tq_tests(void) {
    TQ_CASE("compressed-tensors: pack_to_int32 known answers (4 and 8 bits) decode to their rows");
    known_answers();
    TQ_CASE("pack-quantized: 4-bit symmetric group 16 (in 40: padded words, shorter last group), F16 / BF16 scales");
    decode_case('p', 4, 'g', 16, 1, "F16", 32, 40, TQ_CODEC_CT_PACK);
    decode_case('p', 4, 'g', 16, 1, "BF16", 16, 64, TQ_CODEC_CT_PACK);
    TQ_CASE("pack-quantized: 4-bit asymmetric group (out 30: zero points padded down the rows), 8-bit asym channel, "
            "2-bit sym channel, 4-bit sym tensor");
    decode_case('p', 4, 'g', 16, 0, "F16", 30, 48, TQ_CODEC_CT_PACK_ASYM);
    decode_case('p', 8, 'c', 0, 0, "BF16", 32, 40, TQ_CODEC_CT_PACK_ASYM);
    decode_case('p', 2, 'c', 0, 1, "F32", 8, 64, TQ_CODEC_CT_PACK);
    decode_case('p', 4, 't', 0, 1, "F32", 8, 16, TQ_CODEC_CT_PACK);
    TQ_CASE("int-quantized: int8 symmetric channel (W8A8) F32 scales, asymmetric tensor and group");
    decode_case('i', 8, 'c', 0, 1, "F32", 16, 24, TQ_CODEC_CT_INT);
    decode_case('i', 8, 't', 0, 0, "BF16", 8, 24, TQ_CODEC_CT_INT_ASYM);
    decode_case('i', 8, 'g', 8, 0, "F16", 8, 20, TQ_CODEC_CT_INT_ASYM);
    TQ_CASE("float-quantized: FP8 E4M3 per tensor and per channel (every code but NaN)");
    decode_case('f', 8, 't', 0, 1, "F32", 32, 64, TQ_CODEC_CT_FP8);
    decode_case('f', 8, 'c', 0, 1, "BF16", 16, 32, TQ_CODEC_CT_FP8);

    TQ_CASE("compressed-tensors: config groups matched by re: target, per-group format");
    {
        static ct_fix f;
        make_ct(&f, 'i', 8, 'c', 0, 1, "F32", 8, 16);
        ent e[4];
        int64_t sh[2];
        int n = ct_ents(&f, 'i', 8, 1, "F32", e, sh);
        const char *cf = "{\"quantization_config\":{\"quant_method\":\"compressed-tensors\",\"format\":\"mixed-precision\","
                         "\"config_groups\":{\"a\":{\"targets\":[\"re:.*down_proj$\"],\"format\":\"pack-quantized\","
                         "\"weights\":{\"num_bits\":4,\"type\":\"int\",\"strategy\":\"group\",\"group_size\":16}},"
                         "\"b\":{\"targets\":[\"re:m\\\\.p$\"],\"format\":\"int-quantized\",\"weights\":{\"num_bits\":8,"
                         "\"type\":\"int\",\"symmetric\":true,\"strategy\":\"channel\"}}}}}";
        write_model(tq_t_path("ct_groups"), e, n, cf);
        tq_error err;
        tq_model *m = tq_model_open(tq_t_path("ct_groups"), &err);
        CHECK_MSG(m != NULL, "%s", m ? "" : err.msg);
        const tq_tensor *t = m ? tq_model_find(m, "m.p.weight") : NULL;
        CHECK(t && t->q.codec == TQ_CODEC_CT_INT && t->q.gran == TQ_GRAN_CHANNEL);
        if (m) tq_model_close(m);
        const char *cf2 = "{\"quantization_config\":{\"quant_method\":\"compressed-tensors\",\"format\":\"int-quantized\","
                          "\"config_groups\":{\"a\":{\"targets\":[\"re:.*down_proj$\"],\"weights\":{\"num_bits\":8}}}}}";
        expect_open_err("ct_nogroup", e, n, cf2, TQ_E_FORMAT, "no config group of config.json names this module");
    }

    TQ_CASE("compressed-tensors corrupt-input matrix: each a specific error");
    static ct_fix f;
    make_ct(&f, 'p', 4, 'g', 16, 0, "F16", 16, 32);
    ent e[8], x[8];
    int64_t sh[2];
    int n = ct_ents(&f, 'p', 4, 0, "F16", e, sh);   /* packed, shape, scale, zp */
    char c4[2048], buf[2048];
    snprintf(c4, sizeof c4, "%s", ct_conf("pack-quantized", 4, "int", "group", 16, 0, ""));
    expect_open_err("ct_nozp", e, 3, c4, TQ_E_FORMAT, "\"m.p.weight_zero_point\" is missing");
    expect_open_err("ct_noshape", (ent[]){e[0], e[2], e[3]}, 3, c4, TQ_E_FORMAT, "\"m.p.weight_shape\" is missing");
    expect_open_err("ct_nopacked", (ent[]){e[1], e[2], e[3]}, 3, c4, TQ_E_FORMAT, "\"m.p.weight_packed\" is missing");
    expect_open_err("ct_zpsym", e, n, ct_conf("pack-quantized", 4, "int", "group", 16, 1, ""), TQ_E_FORMAT,
                    "stored but the config says symmetric");
    memcpy(x, e, sizeof x);
    x[2].shape[1] = 1; x[2].n = 16 * 2;
    expect_open_err("ct_scaleshape", x, n, c4, TQ_E_FORMAT, "\"m.p.weight_scale\" is F16 [16, 1]; [16, 32] at 4 bits, "
                    "group 16 gives F16 [16, 2]");
    memcpy(x, e, sizeof x);
    x[2].dtype = "I32"; x[2].n = 16 * 2 * 4;
    expect_open_err("ct_scaledtype", x, n, c4, TQ_E_FORMAT, "scales are F16, BF16 or F32");
    memcpy(x, e, sizeof x);
    x[0].shape[1] = 3; x[0].n = 16 * 3 * 4;
    expect_open_err("ct_packedshape", x, n, c4, TQ_E_FORMAT, "\"m.p.weight_packed\" is I32 [16, 3]; [16, 32] at 4 bits "
                    "stores its codes as I32 [16, 4]");
    memcpy(x, e, sizeof x);
    int64_t badsh[2] = {16, 40};
    x[1].data = badsh;
    expect_open_err("ct_shapevals", x, n, c4, TQ_E_FORMAT, "[16, 40] at 4 bits stores its codes as I32 [16, 5]");
    memcpy(x, e, sizeof x);
    x[3].shape[0] = 4; x[3].n = 4 * 2 * 4;
    expect_open_err("ct_zpshape", x, n, c4, TQ_E_FORMAT, "\"m.p.weight_zero_point\" is I32 [4, 2]");
    expect_open_err("ct_bits3", e, n, ct_conf("pack-quantized", 3, "int", "group", 16, 0, ""), TQ_E_UNSUPPORTED,
                    "format pack-quantized with int 3-bit weights");
    expect_open_err("ct_float", e, n, ct_conf("pack-quantized", 4, "float", "group", 16, 0, ""), TQ_E_UNSUPPORTED,
                    "with float 4-bit weights");
    expect_open_err("ct_block", e, n, ct_conf("pack-quantized", 4, "int", "block", 16, 0, ""), TQ_E_UNSUPPORTED,
                    "weight strategy \"block\"");
    expect_open_err("ct_group0", e, n, ct_conf("pack-quantized", 4, "int", "group", 0, 0, ""), TQ_E_FORMAT,
                    "strategy group with group_size 0");
    expect_open_err("ct_nvfp4", e, n, ct_conf("nvfp4-pack-quantized", 4, "float", "tensor_group", 16, 1, ""),
                    TQ_E_UNSUPPORTED, "weight strategy \"tensor_group\"");
    expect_open_err("ct_marlin", e, n, ct_conf("marlin-24", 4, "int", "group", 16, 0, ""), TQ_E_UNSUPPORTED,
                    "format \"marlin-24\"");
    snprintf(buf, sizeof buf, "%s", ct_conf("pack-quantized", 4, "int", "group", 16, 0, ""));
    char *ao = strstr(buf, "\"actorder\":null");
    if (ao) memcpy(ao, "\"actorder\":   1", 15);
    expect_open_err("ct_actorder", e, n, buf, TQ_E_UNSUPPORTED, "actorder (weight_g_idx) is not read yet");
    expect_open_err("ct_nogroups", e, n, "{\"quantization_config\":{\"quant_method\":\"compressed-tensors\"}}",
                    TQ_E_FORMAT, "has no \"config_groups\" object");
    expect_open_err("ct_noconf", e, n, "{}", TQ_E_UNSUPPORTED, "its \"weight_packed\" entry) that no layout trueq reads");
    static ct_fix g;
    make_ct(&g, 'f', 8, 'c', 0, 1, "F32", 8, 16);
    n = ct_ents(&g, 'f', 8, 1, "F32", e, sh);
    g.q[5] = 0x7F;   /* NaN */
    write_model(tq_t_path("ct_nan"), e, n, ct_conf("float-quantized", 8, "float", "channel", -1, 1, ""));
    tq_error err;
    tq_model *m = tq_model_open(tq_t_path("ct_nan"), &err);
    CHECK_MSG(m != NULL, "%s", m ? "" : err.msg);
    static float out[MAXR * MAXC];
    if (m) {
        CHECK_ERR(tq_model_tensor_f32(m, tq_model_find(m, "m.p.weight"), out, &err), err, TQ_E_FORMAT,
                  "row 0, column 5: an FP8 code decodes to nan");
        tq_model_close(m);
    }
    expect_open_err("ct_fp8int", e, n, ct_conf("float-quantized", 8, "int", "channel", -1, 1, ""), TQ_E_UNSUPPORTED,
                    "format float-quantized with int 8-bit weights");
}
