/* test_qlayout_mlx.c — the MLX row of the foreign-layout table
 * (src/io/qlayout_mlx.c): modules packed here from the published layout
 * (docs/formats/mlx.md: LSB-first bit stream per row, w = s*q + bias, scales
 * and biases in the weight's dtype), written with trueq's safetensors writer,
 * read through tq_model and compared with the formula in double; bits and
 * group from config.json, from a per-module override, or inferred from the
 * shapes; a corrupt-input matrix with the specific error of each case. The
 * client's own files (mx.quantize, mlx_lm.convert) are cli_mlx_client's. */
#include "tq_test.h"
#include "io/writer.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { ROWS = 4, COLS = 128 };

typedef struct ent { const char *name; tq_dtype dt; int ndim; int64_t shape[2]; const void *data; } ent;

/* dir/model.safetensors holding e[], dir/config.json holding conf (NULL: none) */
static void write_model(const char *dir, const ent *e, int ne, const char *conf) {
    mkdir(dir, 0755);
    char p[1024];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    tq_wentry we[8];
    for (int i = 0; i < ne; i++) {
        memset(&we[i], 0, sizeof we[i]);
        we[i].name = e[i].name;
        we[i].dtype = e[i].dt;
        we[i].ndim = e[i].ndim;
        memcpy(we[i].shape, e[i].shape, sizeof e[i].shape);
    }
    static const char *const mk[] = {"format"}, *const mv[] = {"mlx"};
    tq_error err;
    tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, p, we, ne, mk, mv, 1, &err);
    CHECK_MSG(w != NULL, "%s", w ? "" : err.msg);
    if (!w) return;
    for (int i = 0; i < ne; i++) CHECK_OK(tq_writer_put(w, i, e[i].data, tq_nbytes(e[i].dt, e[i].ndim, e[i].shape), &err), err);
    CHECK_OK(tq_writer_finish(w, &err), err);
    tq_writer_free(w);
    snprintf(p, sizeof p, "%s/config.json", dir);
    remove(p);
    if (conf) CHECK(tq_t_write(p, conf, strlen(conf)) == 0);
}

/* one module: codes, scales and biases (stored in side dtype sd), the values they decode to */
typedef struct fix {
    uint32_t codes[ROWS * COLS * 8 / 32];
    uint8_t  sc[ROWS * COLS / 32 * 4], bi[ROWS * COLS / 32 * 4];
    double   want[ROWS * COLS];
    ent      e[3];
} fix;

static void make(fix *f, int bits, int g, tq_dtype sd) {
    memset(f, 0, sizeof *f);
    uint64_t rs = 7;
    const int ng = COLS / g;
    for (int r = 0; r < ROWS; r++)
        for (int k = 0; k < ng; k++) {
            /* exact in F16 and BF16: small dyadic values, negative scales too (MLX's sign rule) */
            float s = (float)((int)(tq_t_rand(&rs) % 7) - 3) / 64.0f + 1.0f / 128.0f, b = (float)((int)(tq_t_rand(&rs) % 9) - 4) / 16.0f;
            int i = r * ng + k;
            if (sd == TQ_DTYPE_F32) { memcpy(f->sc + 4 * i, &s, 4); memcpy(f->bi + 4 * i, &b, 4); }
            else {
                uint16_t hs = sd == TQ_DTYPE_F16 ? tq_f32_to_f16(s) : tq_f32_to_bf16(s);
                uint16_t hb = sd == TQ_DTYPE_F16 ? tq_f32_to_f16(b) : tq_f32_to_bf16(b);
                memcpy(f->sc + 2 * i, &hs, 2);
                memcpy(f->bi + 2 * i, &hb, 2);
            }
            for (int c = k * g; c < (k + 1) * g; c++) {
                uint32_t q = (uint32_t)(tq_t_rand(&rs) % (1u << bits));
                int64_t bit0 = (int64_t)r * COLS * bits + (int64_t)c * bits;   /* the row's stream, LSB first */
                for (int t = 0; t < bits; t++)
                    if (q >> t & 1) f->codes[(bit0 + t) / 32] |= 1u << ((bit0 + t) % 32);
                f->want[r * COLS + c] = (double)s * q + b;
            }
        }
    f->e[0] = (ent){"m.proj.weight", TQ_DTYPE_U32, 2, {ROWS, COLS * bits / 32}, f->codes};
    f->e[1] = (ent){"m.proj.scales", sd, 2, {ROWS, ng}, f->sc};
    f->e[2] = (ent){"m.proj.biases", sd, 2, {ROWS, ng}, f->bi};
}

static void decode_case(const char *tag, int bits, int g, tq_dtype sd, const char *conf, tq_codec_id want_codec) {
    static fix f;
    make(&f, bits, g, sd);
    static const float norm[COLS] = {1.0f};
    ent e[4] = {f.e[0], f.e[1], f.e[2], {"m.norm.weight", TQ_DTYPE_F32, 1, {COLS, 0}, norm}};
    char *d = tq_t_path(tag);
    write_model(d, e, 4, conf);
    tq_error err;
    tq_model *m = tq_model_open(d, &err);
    CHECK_MSG(m != NULL, "%s: %s", tag, m ? "" : err.msg);
    if (!m) return;
    CHECK_EQ_INT(tq_model_count(m), 2);   /* m.proj.weight (3 entries) and m.norm.weight */
    const tq_tensor *t = tq_model_find(m, "m.proj.weight");
    CHECK_MSG(t && t->quantized && t->q.codec == want_codec && t->q.bits == bits && t->q.group == g && t->shape[0] == ROWS &&
              t->shape[1] == COLS && t->orig_dtype == sd, "%s: codec %d bits %d group %lld", tag, t ? (int)t->q.codec : -1,
              t ? t->q.bits : -1, t ? (long long)t->q.group : -1);
    uint64_t side = 2 * tq_nbytes(sd, 2, f.e[1].shape);
    CHECK(t && t->nbytes == (uint64_t)ROWS * COLS * bits / 8 && t->aux_bytes == side);
    static float got[ROWS * COLS];
    if (t) {
        CHECK_OK(tq_model_tensor_f32(m, t, got, &err), err);
        int bad = 0;
        for (int k = 0; k < ROWS * COLS; k++) bad += (double)got[k] != f.want[k];
        CHECK_MSG(bad == 0, "%s: %d of %d values differ from s*q + bias", tag, bad, ROWS * COLS);
    }
    tq_model_close(m);
}

static void expect_err(const char *tag, const ent *e, int ne, const char *conf, tq_status st, const char *msg) {
    char *d = tq_t_path(tag);
    write_model(d, e, ne, conf);
    tq_error err;
    tq_model *m = tq_model_open(d, &err);
    CHECK_MSG(m == NULL, "%s: opened", tag);
    if (m) { tq_model_close(m); return; }
    CHECK_MSG(err.status == st && strstr(err.msg, msg), "%s: got %d \"%s\", want \"%s\"", tag, (int)err.status, err.msg, msg);
}

/* an mxfp4 (bits 4) or mxfp8 (bits 8) module [ROWS, COLS]: every element code in turn, the
 * group exponents spread from 0 (subnormal products) up to 130; want = element * 2^(e-127) */
typedef struct fpfix {
    uint32_t codes[ROWS * COLS * 8 / 32];
    uint8_t  sc[ROWS * COLS / 32];
    double   want[ROWS * COLS];
    ent      e[2];
} fpfix;

static double e4m3_ref(unsigned b) {   /* OCP FP8 E4M3: bias 7, subnormals m * 2^-9 */
    int e = b >> 3 & 15, m = b & 7;
    double v = e ? ldexp(1.0 + m / 8.0, e - 7) : ldexp(m, -9);
    return b & 0x80 ? -v : v;
}

static void make_fp(fpfix *f, int bits) {
    memset(f, 0, sizeof *f);
    static const double E2M1[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
    const int ng = COLS / 32;
    for (int r = 0; r < ROWS; r++)
        for (int k = 0; k < ng; k++) {
            int e = (r * ng + k) * 130 / (ROWS * ng - 1);   /* 0 .. 130 */
            f->sc[r * ng + k] = (uint8_t)e;
            for (int c = k * 32; c < k * 32 + 32; c++) {
                unsigned q = bits == 4 ? (unsigned)(r * COLS + c) % 16 : (unsigned)(r * COLS + c) % 256;
                if (bits == 8 && (q & 0x7F) == 0x7F) q ^= 1;   /* not the NaN code */
                int64_t bit0 = (int64_t)r * COLS * bits + (int64_t)c * bits;
                f->codes[bit0 / 32] |= q << (bit0 % 32);
                double x = bits == 4 ? (q & 8 ? -E2M1[q & 7] : E2M1[q]) : e4m3_ref(q);
                f->want[r * COLS + c] = ldexp(x, e - 127);
            }
        }
    f->e[0] = (ent){"m.proj.weight", TQ_DTYPE_U32, 2, {ROWS, COLS * bits / 32}, f->codes};
    f->e[1] = (ent){"m.proj.scales", TQ_DTYPE_U8, 2, {ROWS, ng}, f->sc};
}

static void fp_case(const char *tag, int bits, const char *conf) {
    static fpfix f;
    make_fp(&f, bits);
    char *d = tq_t_path(tag);
    write_model(d, f.e, 2, conf);
    tq_error err;
    tq_model *m = tq_model_open(d, &err);
    CHECK_MSG(m != NULL, "%s: %s", tag, m ? "" : err.msg);
    if (!m) return;
    const tq_tensor *t = tq_model_find(m, "m.proj.weight");
    tq_codec_id want = bits == 4 ? TQ_CODEC_MLX_MXFP4 : TQ_CODEC_MLX_MXFP8;
    CHECK_MSG(t && t->quantized && t->q.codec == want && t->q.bits == bits && t->q.group == 32 && t->shape[1] == COLS &&
              t->nbytes == (uint64_t)ROWS * COLS * bits / 8 && t->aux_bytes == ROWS * COLS / 32,
              "%s: codec %d bits %d", tag, t ? (int)t->q.codec : -1, t ? t->q.bits : -1);
    static float got[ROWS * COLS];
    if (t) {
        CHECK_OK(tq_model_tensor_f32(m, t, got, &err), err);
        int bad = 0;
        for (int k = 0; k < ROWS * COLS; k++) bad += (double)got[k] != f.want[k];
        CHECK_MSG(bad == 0, "%s: %d of %d values differ from element * 2^(e-127)", tag, bad, ROWS * COLS);
    }
    tq_model_close(m);
}

/* open succeeds, decode is refused with msg */
static void fp_decode_err(const char *tag, const ent *e, const char *msg) {
    char *d = tq_t_path(tag);
    write_model(d, e, 2, NULL);
    tq_error err;
    tq_model *m = tq_model_open(d, &err);
    CHECK_MSG(m != NULL, "%s: %s", tag, m ? "" : err.msg);
    if (!m) return;
    static float got[ROWS * COLS];
    tq_status st = tq_model_tensor_f32(m, tq_model_find(m, "m.proj.weight"), got, &err);
    CHECK_MSG(st == TQ_E_FORMAT && strstr(err.msg, msg), "%s: got %d \"%s\", want \"%s\"", tag, (int)st, err.msg, msg);
    tq_model_close(m);
}

#define CONF(b, g, extra) "{\"quantization\":{\"group_size\":" #g ",\"bits\":" #b ",\"mode\":\"affine\"" extra "}}"

void tq_tests(void) {
    TQ_CASE("mlx: bits x groups x side dtypes from config.json decode to s*q + bias exactly");
    decode_case("b4g64", 4, 64, TQ_DTYPE_BF16, CONF(4, 64, ""), TQ_CODEC_MLX_BF16);
    decode_case("b3g32", 3, 32, TQ_DTYPE_F16, CONF(3, 32, ""), TQ_CODEC_MLX_F16);
    decode_case("b5g128", 5, 128, TQ_DTYPE_F32, CONF(5, 128, ""), TQ_CODEC_MLX);
    decode_case("b6g64", 6, 64, TQ_DTYPE_BF16, CONF(6, 64, ""), TQ_CODEC_MLX_BF16);
    decode_case("b8g32", 8, 32, TQ_DTYPE_F16, CONF(8, 32, ""), TQ_CODEC_MLX_F16);
    decode_case("b2g128", 2, 128, TQ_DTYPE_F32, CONF(2, 128, ""), TQ_CODEC_MLX);

    TQ_CASE("mlx: a per-module override wins over the global pair; quantization_config is read too");
    decode_case("override", 8, 32, TQ_DTYPE_BF16, CONF(4, 64, ",\"m.proj\":{\"group_size\":32,\"bits\":8}"), TQ_CODEC_MLX_BF16);
    decode_case("qconfig", 4, 32, TQ_DTYPE_F16, "{\"quantization_config\":{\"group_size\":32,\"bits\":4}}", TQ_CODEC_MLX_F16);

    TQ_CASE("mlx: without a config the shapes decide (g 64 first, then 32, 128)");
    decode_case("noconf64", 4, 64, TQ_DTYPE_BF16, NULL, TQ_CODEC_MLX_BF16);   /* 2 bits g128 packs alike: 64 wins */
    decode_case("noconf32", 3, 32, TQ_DTYPE_F16, NULL, TQ_CODEC_MLX_F16);     /* 96 bits per group: only g32 x 3 */
    decode_case("noconf128", 5, 128, TQ_DTYPE_F32, NULL, TQ_CODEC_MLX);       /* 640: only g128 x 5 */

    TQ_CASE("mlx corrupt-input matrix: each a specific error naming the tensor");
    static fix f;
    make(&f, 4, 64, TQ_DTYPE_BF16);
    ent x[3];
    expect_err("nobias", f.e, 2, CONF(4, 64, ""), TQ_E_UNSUPPORTED,
               "BF16 scales \"m.proj.scales\" but no \"m.proj.biases\": neither MLX affine nor the mxfp4 / mxfp8");
    memcpy(x, f.e, sizeof x);
    x[2].dt = TQ_DTYPE_F16;
    expect_err("biasdt", x, 3, CONF(4, 64, ""), TQ_E_FORMAT, "scales BF16 and biases F16");
    memcpy(x, f.e, sizeof x);
    x[1].dt = x[2].dt = TQ_DTYPE_U8;
    x[1].shape[1] = x[2].shape[1] = 4;
    expect_err("scaleu8", x, 3, CONF(4, 64, ""), TQ_E_FORMAT, "scales U8 and biases U8");
    expect_err("bits7", f.e, 3, CONF(7, 64, ""), TQ_E_UNSUPPORTED, "bits 7, group_size 64");
    expect_err("group16", f.e, 3, CONF(4, 16, ""), TQ_E_UNSUPPORTED, "bits 4, group_size 16");
    expect_err("mismatch", f.e, 3, CONF(8, 64, ""), TQ_E_FORMAT, "has 16 code words per row; 2 groups of 64 at 8 bits pack into 32");
    expect_err("mode", f.e, 3, "{\"quantization\":{\"group_size\":32,\"bits\":4,\"mode\":\"mxfp4\"}}", TQ_E_FORMAT,
               "config mode \"mxfp4\", but it stores biases");
    expect_err("nvfp4", f.e, 3, "{\"quantization\":{\"group_size\":16,\"bits\":4,\"mode\":\"nvfp4\"}}", TQ_E_UNSUPPORTED,
               "quantization mode nvfp4; trueq reads MLX modes");
    expect_err("false", f.e, 3, CONF(4, 64, ",\"m.proj\":false"), TQ_E_FORMAT, "says module \"m.proj\" is not quantized");
    memcpy(x, f.e, sizeof x);
    x[1].shape[0] = x[2].shape[0] = ROWS - 1;
    expect_err("rows", x, 3, CONF(4, 64, ""), TQ_E_FORMAT, "codes and scales have the same rows");
    memcpy(x, f.e, sizeof x);
    x[0].shape[1] = 3;   /* 3 words per row, 2 groups: 48 bits per group fits no (bits, group) */
    expect_err("nofit", x, 3, NULL, TQ_E_FORMAT, "3 code words and 2 groups per row fit no MLX bits");
    memcpy(x, f.e, sizeof x);
    x[2].shape[1] = 3;
    expect_err("biasshape", x, 3, CONF(4, 64, ""), TQ_E_FORMAT, "\"m.proj.biases\" is BF16 [4, 3]");

    TQ_CASE("mlx mxfp4 / mxfp8: every element code x exponents 0..130 decode to element * 2^(e-127) exactly");
    fp_case("mxfp4", 4, "{\"quantization\":{\"group_size\":32,\"bits\":4,\"mode\":\"mxfp4\"}}");
    fp_case("mxfp8", 8, "{\"quantization\":{\"group_size\":32,\"bits\":8,\"mode\":\"mxfp8\"}}");
    fp_case("mxfp4-noconf", 4, NULL);   /* 4 code words per scale: mxfp4 */
    fp_case("mxfp8-noconf", 8, NULL);
    fp_case("mxfp4-override", 4, "{\"quantization\":{\"group_size\":64,\"bits\":4,\"m.proj\":{\"group_size\":32,"
            "\"bits\":4,\"mode\":\"mxfp4\"}}}");

    TQ_CASE("mlx mxfp4 / mxfp8 corrupt-input matrix: each a specific error");
    static fpfix g;
    make_fp(&g, 4);
    ent y[2];
    memcpy(y, g.e, sizeof y);
    expect_err("fpbits", y, 2, "{\"quantization\":{\"group_size\":32,\"bits\":8,\"mode\":\"mxfp4\"}}", TQ_E_FORMAT,
               "config bits 8, group_size 32; mode mxfp4 has bits 4 and group 32");
    expect_err("fpmode8", y, 2, "{\"quantization\":{\"group_size\":32,\"bits\":8,\"mode\":\"mxfp8\"}}", TQ_E_FORMAT,
               "has 16 code words per row; 4 groups of 32 at 8 bits pack into 32");
    y[1].shape[1] = 8;   /* 2 words per scale: nvfp4's group 16 */
    expect_err("fpnv", y, 2, NULL, TQ_E_UNSUPPORTED, "16 code words and 8 U8 scales per row are neither mxfp4");
    memcpy(y, g.e, sizeof y);
    y[1].dt = TQ_DTYPE_I8;
    expect_err("fpi8", y, 2, NULL, TQ_E_UNSUPPORTED, "I8 scales \"m.proj.scales\" but no \"m.proj.biases\"");
    g.sc[5] = 255;   /* E8M0's NaN exponent */
    fp_decode_err("fpe255", g.e, "row 1, group 1: scale exponent 255");
    g.sc[5] = 254;   /* element 6 * 2^127 overflows float32 */
    fp_decode_err("fpinf", g.e, "row 1, group 1: scale exponent 254 times element");
    static fpfix h;
    make_fp(&h, 8);
    h.codes[0] = 0x7Fu;   /* E4M3 NaN */
    fp_decode_err("fp8nan", h.e, "row 0, group 0: scale exponent 0 times element nan");

    TQ_CASE("mlx: a triple no row claims is refused by name, never read as plain tensors");
    memcpy(x, f.e, sizeof x);
    x[0].dt = TQ_DTYPE_I32;   /* not MLX codes */
    expect_err("i32", x, 3, NULL, TQ_E_UNSUPPORTED, "tensor \"m.proj.biases\" belongs to a quantized layout");
    expect_err("gptqconf", f.e, 3, "{\"quantization_config\":{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":64}}",
               TQ_E_UNSUPPORTED, "(config.json quant_method: gptq)");
}
