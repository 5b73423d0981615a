/*
 * test_encoder_int8.c — encoders holding int8 layer matrices (keep_int8).
 *
 * A small synthetic DistilBERT is converted to linear-sym 8-bit at every
 * granularity; the encoder opened with keep_int8 must hold the layer
 * matrices as int8 (bytes by arithmetic on shapes), give byte-identical
 * hidden states and logits to the encoder that decoded them to float32, and
 * fall back to float32 for codes it cannot use as stored (affine, 4-bit).
 * With keep_quantized every codec is held as stored (decoded by row tiles
 * with tq_dequantize_rows), again byte-identical.
 */
#include "tq_test.h"
#include "trueq_nn.h"
#include "kern/attn_i8.h"
#include <cblas.h>
#include <string.h>
#include <stdlib.h>

enum { LAYERS = 2, DIM = 64, HIDDEN = 96, HEADS = 4, VOCAB = 600, MAXPOS = 32, B = 3, S = 12 };

static tq_status convert(const char *in, const char *out, const tq_qparams *q, int emb, tq_error *e) {
    tq_model *m = tq_model_open(in, e);
    if (!m) return e->status;
    tq_convert_options o;
    tq_convert_options_init(&o);
    o.q = *q;
    o.quantize_embeddings = emb;
    tq_plan *p = tq_plan_create(m, &o, e);
    tq_status st = p ? tq_plan_execute(p, out, NULL, NULL, e) : e->status;
    tq_plan_free(p);
    tq_model_close(m);
    return st;
}

/* Run e on a fixed padded batch; hidden [B,S,DIM] and logits [B,3]. */
static tq_status run(const tq_enc *e, float *hidden, float *logits, tq_error *err) {
    int32_t ids[B * S], mask[B * S];
    static const int len[B] = {S, 7, 3};
    for (int b = 0; b < B; b++)
        for (int t = 0; t < S; t++) {
            ids[b * S + t] = t == 0 ? 101 : t < len[b] - 1 ? 200 + (b * 31 + t * 17) % 300 : t == len[b] - 1 ? 102 : 0;
            mask[b * S + t] = t < len[b];
        }
    tq_enc_batch in = {.batch = B, .seq = S, .ids = ids, .mask = mask};
    tq_enc_out o = {.hidden = hidden, .logits = logits};
    return tq_enc_forward(e, &in, &o, err);
}

static void case_gran(const char *src, tq_granularity g, int group, int emb, const char *name) {
    char out[1024];
    snprintf(out, sizeof out, "%s/int8-%s", tq_t_tmpdir(), name);
    tq_qparams q = {.codec = TQ_CODEC_LINEAR_SYM, .bits = 8, .gran = g, .group = group};
    tq_error err = {0};
    CHECK_OK(convert(src, out, &q, emb, &err), err);
    tq_model *m = tq_model_open(out, &err);
    CHECK_OK(m ? TQ_OK : err.status, err);
    if (!m) return;
    tq_enc_opts keep = {.keep_int8 = 1};
    setenv("TRUEQ_ISA", "decode", 1);   /* codes decoded to float tiles: the float path's bytes */
    tq_enc *f = tq_enc_open(m, NULL, &err), *k = tq_enc_open_ex(m, NULL, &keep, &err);
    unsetenv("TRUEQ_ISA");
    CHECK_OK(f && k ? TQ_OK : err.status, err);
    if (f && k) {
        CHECK_EQ_INT(tq_enc_int8_matrices(f), 0);
        CHECK_EQ_INT(tq_enc_int8_matrices(k), 6 * LAYERS + emb);   /* q, k, v, o, lin1, lin2 (+ word embeddings) */
        CHECK_EQ_INT(tq_enc_param_count(k), tq_enc_param_count(f));
        /* per layer: 4 D^2 + 2 D H weights now 1 byte each instead of 4, plus scales */
        int64_t w8 = (int64_t)LAYERS * (4 * DIM * DIM + 2 * DIM * HIDDEN);
        /* scales as stored: one per matrix (tensor), per row (channel), per group of a row */
        int64_t scales = g == TQ_GRAN_GROUP
                             ? (int64_t)LAYERS * (4 * DIM * (DIM / group) + HIDDEN * (DIM / group) + DIM * (HIDDEN / group))
                             : g == TQ_GRAN_TENSOR ? (int64_t)LAYERS * 6
                                                   : (int64_t)LAYERS * (4 * DIM + HIDDEN + DIM);
        if (emb) {   /* word embeddings, per-row scales (quantize_embeddings is per channel) */
            w8 += (int64_t)VOCAB * DIM;
            scales += VOCAB;
        }
        CHECK_EQ_INT(tq_enc_weight_bytes(f) - tq_enc_weight_bytes(k), 4 * w8 - (w8 + 4 * scales));
        float *h1 = malloc(sizeof(float) * B * S * DIM), *h2 = malloc(sizeof(float) * B * S * DIM);
        float l1[B * 3], l2[B * 3];
        CHECK_OK(run(f, h1, l1, &err), err);
        CHECK_OK(run(k, h2, l2, &err), err);
        CHECK_MSG(!memcmp(h1, h2, sizeof(float) * B * S * DIM), "%s: hidden states differ", name);
        CHECK_MSG(!memcmp(l1, l2, sizeof l1), "%s: logits differ", name);
        free(h1);
        free(h2);
    }
    tq_enc_free(f);
    tq_enc_free(k);
    tq_model_close(m);
}

static void case_fallback(const char *src, tq_codec_id codec, int bits, const char *name) {
    char out[1024];
    snprintf(out, sizeof out, "%s/fb-%s", tq_t_tmpdir(), name);
    tq_qparams q = {.codec = codec, .bits = bits, .gran = TQ_GRAN_GROUP, .group = 32};
    tq_error err = {0};
    CHECK_OK(convert(src, out, &q, 0, &err), err);
    tq_model *m = tq_model_open(out, &err);
    tq_enc_opts keep = {.keep_int8 = 1};
    tq_enc *f = m ? tq_enc_open(m, NULL, &err) : NULL, *k = m ? tq_enc_open_ex(m, NULL, &keep, &err) : NULL;
    CHECK_OK(f && k ? TQ_OK : err.status, err);
    if (f && k) {
        CHECK_EQ_INT(tq_enc_int8_matrices(k), 0);
        CHECK_EQ_INT(tq_enc_weight_bytes(k), tq_enc_weight_bytes(f));
        float *h1 = malloc(sizeof(float) * B * S * DIM), *h2 = malloc(sizeof(float) * B * S * DIM);
        float l1[B * 3], l2[B * 3];
        CHECK_OK(run(f, h1, l1, &err), err);
        CHECK_OK(run(k, h2, l2, &err), err);
        CHECK(!memcmp(h1, h2, sizeof(float) * B * S * DIM) && !memcmp(l1, l2, sizeof l1));
        free(h1);
        free(h2);
    }
    tq_enc_free(f);
    tq_enc_free(k);
    tq_model_close(m);
}

/* Open m with o under every ISA (portable, avx2, avx512: one this CPU lacks
 * runs the best it has) and run the batch with 1, 2 and 3 threads: every run
 * must give the bytes of portable with 1 thread, left in h1 / l1. attn8: the
 * tq_enc_int8_attention each encoder must report (-1: not checked). */
static void runs_agree(const tq_model *m, const tq_enc_opts *o, int attn8, float *h1, float *l1, const char *name) {
    tq_error err = {0};
    float *h2 = malloc(sizeof(float) * B * S * DIM), l2[B * 3];
    int saved = openblas_get_num_threads();
    static const char *const isas[] = {"portable", "avx2", "avx512"};
    for (int i = 0; i < 3; i++) {
        setenv("TRUEQ_ISA", isas[i], 1);
        tq_enc *k = tq_enc_open_ex(m, NULL, o, &err);
        unsetenv("TRUEQ_ISA");
        CHECK_OK(k ? TQ_OK : err.status, err);
        if (!k) continue;
        if (attn8 >= 0) CHECK_EQ_INT(tq_enc_int8_attention(k), attn8);
        for (int t = 1; t <= 3; t++) {
            openblas_set_num_threads(t);
            CHECK_OK(run(k, t == 1 && i == 0 ? h1 : h2, t == 1 && i == 0 ? l1 : l2, &err), err);
            if (t > 1 || i > 0)
                CHECK_MSG(!memcmp(h1, h2, sizeof(float) * B * S * DIM) && !memcmp(l1, l2, sizeof l2),
                          "%s: %s with %d threads differs from portable with 1", name, isas[i], t);
        }
        tq_enc_free(k);
    }
    openblas_set_num_threads(saved);
    free(h2);
}

/* keep_int8 through the kernels (src/kern/, activations quantized per row):
 * within docs/kernels.md's bound of the float path, and the same bytes for
 * 1, 2 and 3 threads and for every ISA this CPU runs (I8 is exact integer
 * arithmetic with the same float steps everywhere). */
static void case_kern(const char *src, tq_granularity g, int group, const char *name) {
    char out[1024];
    snprintf(out, sizeof out, "%s/kern-%s", tq_t_tmpdir(), name);
    tq_qparams q = {.codec = TQ_CODEC_LINEAR_SYM, .bits = 8, .gran = g, .group = group};
    tq_error err = {0};
    CHECK_OK(convert(src, out, &q, 0, &err), err);
    tq_model *m = tq_model_open(out, &err);
    if (!m) { CHECK_OK(err.status, err); return; }
    tq_enc_opts keep = {.keep_int8 = 1};
    tq_enc *f = tq_enc_open(m, NULL, &err);
    float *hf = malloc(sizeof(float) * B * S * DIM), *h1 = malloc(sizeof(float) * B * S * DIM);
    float lf[B * 3], l1[B * 3];
    CHECK_OK(f ? run(f, hf, lf, &err) : err.status, err);
    runs_agree(m, &keep, -1, h1, l1, name);
    double se = 0, sr = 0, md = 0, ml = 0;
    for (int i = 0; i < B * S * DIM; i++) {
        double d = (double)h1[i] - hf[i];
        se += d * d;
        sr += (double)hf[i] * hf[i];
        md = fabs(d) > md ? fabs(d) : md;
    }
    for (int i = 0; i < B * 3; i++) ml = fabs((double)l1[i] - lf[i]) > ml ? fabs((double)l1[i] - lf[i]) : ml;
    double rel = sqrt(se / sr);
    printf("  %s: kernels vs float32: relative rms %.3g, max |dh| %.3g, max |dlogit| %.3g\n", name, rel, md, ml);
    CHECK_MSG(rel > 0 && rel < 0.02, "%s: relative rms error %g (docs/kernels.md: < 0.02)", name, rel);
    CHECK_MSG(ml < 0.05, "%s: logits move by %g", name, ml);
    free(hf); free(h1);
    tq_enc_free(f);
    tq_model_close(m);
}

/* int8 attention (tq_enc_opts.int8_attention: on by default on the kernels'
 * path where the CPU has AVX-512 VNNI, asked for here): against the same encoder with float32 attention, hidden states
 * within a relative RMS of 0.015 and logits within 0.02 (measured 0.0074
 * and 0.0088), but not the same bytes; the bytes of 1, 2 and 3 threads and of
 * every ISA (portable, AVX2: the portable attention, AVX-512 VNNI) agree;
 * off under TRUEQ_ISA=decode, never on a float32 encoder. */
static void case_attn8(const char *src, const char *name) {
    char out[1024];
    snprintf(out, sizeof out, "%s/attn8-%s", tq_t_tmpdir(), name);
    tq_qparams q = {.codec = TQ_CODEC_LINEAR_SYM, .bits = 8, .gran = TQ_GRAN_CHANNEL};
    tq_error err = {0};
    CHECK_OK(convert(src, out, &q, 0, &err), err);
    tq_model *m = tq_model_open(out, &err);
    if (!m) { CHECK_OK(err.status, err); return; }
    tq_enc_opts on = {.keep_int8 = 1, .int8_attention = 1}, off = {.keep_int8 = 1, .int8_attention = -1},
                f32 = {.int8_attention = 1}, dflt = {.keep_int8 = 1};
    tq_enc *a = tq_enc_open_ex(m, NULL, &off, &err), *fl = tq_enc_open_ex(m, NULL, &f32, &err);
    tq_enc *df = tq_enc_open_ex(m, NULL, &dflt, &err);
    /* the default: int8 where the CPU has the VNNI path */
    CHECK(df && tq_enc_int8_attention(df) == (tq_attn_i8_isa(TQ_KISA_AVX512) == TQ_KISA_AVX512));
    tq_enc_free(df);
    setenv("TRUEQ_ISA", "decode", 1);
    tq_enc *dec = tq_enc_open_ex(m, NULL, &on, &err);
    unsetenv("TRUEQ_ISA");
    CHECK_OK(a && fl && dec ? TQ_OK : err.status, err);
    if (a && fl && dec) {
        CHECK_EQ_INT(tq_enc_int8_attention(a), 0);
        CHECK_EQ_INT(tq_enc_int8_attention(fl), 0);
        CHECK_EQ_INT(tq_enc_int8_attention(dec), 0);
    }
    float *ha = malloc(sizeof(float) * B * S * DIM), *h1 = malloc(sizeof(float) * B * S * DIM);
    float la[B * 3], l1[B * 3];
    CHECK_OK(a ? run(a, ha, la, &err) : err.status, err);
    runs_agree(m, &on, 1, h1, l1, name);
    double se = 0, sr = 0, ml = 0;
    for (int i = 0; i < B * S * DIM; i++) {
        double d = (double)h1[i] - ha[i];
        se += d * d;
        sr += (double)ha[i] * ha[i];
    }
    for (int i = 0; i < B * 3; i++) ml = fabs((double)l1[i] - la[i]) > ml ? fabs((double)l1[i] - la[i]) : ml;
    double rel = sqrt(se / sr);
    printf("  %s: int8 attention vs float32 attention: relative rms %.3g, max |dlogit| %.3g\n", name, rel, ml);
    CHECK_MSG(rel > 0 && rel < 0.015, "%s: int8 attention: relative rms %g against float32 attention", name, rel);
    CHECK_MSG(ml < 0.02, "%s: int8 attention: logits move by %g", name, ml);
    free(ha); free(h1);
    tq_enc_free(a);
    tq_enc_free(fl);
    tq_enc_free(dec);
    tq_model_close(m);
}

/* keep_quantized: every codec held as stored codes, byte-identical outputs. */
static void case_any(const char *src, const tq_qparams *q, const char *name) {
    char out[1024];
    snprintf(out, sizeof out, "%s/any-%s", tq_t_tmpdir(), name);
    tq_error err = {0};
    CHECK_OK(convert(src, out, q, 1, &err), err);
    tq_model *m = tq_model_open(out, &err);
    tq_enc_opts keep = {.keep_quantized = 1};
    setenv("TRUEQ_ISA", "decode", 1);
    tq_enc *f = m ? tq_enc_open(m, NULL, &err) : NULL, *k = m ? tq_enc_open_ex(m, NULL, &keep, &err) : NULL;
    unsetenv("TRUEQ_ISA");
    CHECK_OK(f && k ? TQ_OK : err.status, err);
    if (f && k) {
        CHECK_MSG(tq_enc_int8_matrices(k) == 6 * LAYERS + 1, "%s: %d matrices kept", name, tq_enc_int8_matrices(k));
        CHECK_MSG(tq_enc_weight_bytes(k) < tq_enc_weight_bytes(f), "%s: kept %llu bytes, decoded %llu", name,
                  (unsigned long long)tq_enc_weight_bytes(k), (unsigned long long)tq_enc_weight_bytes(f));
        CHECK_EQ_INT(tq_enc_param_count(k), tq_enc_param_count(f));
        float *h1 = malloc(sizeof(float) * B * S * DIM), *h2 = malloc(sizeof(float) * B * S * DIM);
        float l1[B * 3], l2[B * 3];
        CHECK_OK(run(f, h1, l1, &err), err);
        CHECK_OK(run(k, h2, l2, &err), err);
        CHECK_MSG(!memcmp(h1, h2, sizeof(float) * B * S * DIM) && !memcmp(l1, l2, sizeof l1),
                  "%s: outputs differ from the decoded path", name);
        free(h1);
        free(h2);
    }
    tq_enc_free(f);
    tq_enc_free(k);
    tq_model_close(m);
}

void tq_tests(void) {
    char src[1024];
    snprintf(src, sizeof src, "%s/distil", tq_t_tmpdir());
    tq_synth_options so;
    tq_synth_options_init(&so);
    so.layers = LAYERS; so.dim = DIM; so.hidden = HIDDEN; so.heads = HEADS; so.vocab = VOCAB; so.max_pos = MAXPOS;
    tq_error err = {0};
    TQ_CASE("synthetic DistilBERT written");
    CHECK_OK(tq_synth_distilbert(src, &so, &err), err);

    TQ_CASE("keep_int8, per-channel scales: int8 in memory, byte-identical outputs");
    case_gran(src, TQ_GRAN_CHANNEL, 0, 0, "channel");
    TQ_CASE("keep_int8 with quantized word embeddings: rows decoded at lookup, byte-identical");
    case_gran(src, TQ_GRAN_CHANNEL, 0, 1, "channel-emb");
    TQ_CASE("keep_int8, one scale per tensor (q, k, v fused with three scales): byte-identical");
    case_gran(src, TQ_GRAN_TENSOR, 0, 0, "tensor");
    TQ_CASE("keep_int8, group-wise scales (32): byte-identical");
    case_gran(src, TQ_GRAN_GROUP, 32, 0, "group32");
    TQ_CASE("keep_int8 through the kernels, per channel: within the documented error, bytes independent of threads and ISA");
    case_kern(src, TQ_GRAN_CHANNEL, 0, "channel");
    TQ_CASE("keep_int8 through the kernels, per tensor and per group (32)");
    case_kern(src, TQ_GRAN_TENSOR, 0, "tensor");
    case_kern(src, TQ_GRAN_GROUP, 32, "group32");
    TQ_CASE("int8 attention: within its bound of float32 attention, bytes independent of threads and ISA");
    case_attn8(src, "distilbert");
    TQ_CASE("keep_int8 falls back to float32 for affine 8-bit and 4-bit codes");
    case_fallback(src, TQ_CODEC_LINEAR_AFFINE, 8, "affine8");
    case_fallback(src, TQ_CODEC_LINEAR_SYM, 4, "sym4");

    /* BERT scales the scores in attention (DistilBERT scaled q in the QKV
     * step): the int8 and float32 attention kernels are given the scale,
     * and a path that dropped it would be off by far more than the bounds */
    char bert[1024];
    snprintf(bert, sizeof bert, "%s/bert", tq_t_tmpdir());
    tq_synth_model_options bo;
    tq_synth_model_options_init(&bo);
    bo.arch = "bert"; bo.shape = "tiny";
    bo.layers = LAYERS; bo.dim = DIM; bo.hidden = HIDDEN; bo.heads = HEADS; bo.vocab = VOCAB;
    TQ_CASE("synthetic BERT written");
    CHECK_OK(tq_synth_model(bert, &bo, NULL, &err), err);
    TQ_CASE("BERT, keep_int8 through the kernels: within the documented error, bytes independent of threads and ISA");
    case_kern(bert, TQ_GRAN_CHANNEL, 0, "bert-channel");
    TQ_CASE("BERT, int8 attention (scores scaled in attention): within its bound of float32 attention");
    case_attn8(bert, "bert");

    TQ_CASE("keep_quantized: every codec held as stored codes (group-wise), outputs byte-identical");
    int tried = 0;
    tq_error err0 = {0};
    for (int i = 0; i < tq_codec_count(); i++) {
        const tq_codec_info *ci = tq_codec_at(i);
        if (ci->decode_only) continue;   /* foreign layouts: test_qlayout decodes them */
        int bits = 0;
        for (int b = 8; b >= 1 && !bits; b--)
            if (ci->bits_mask & (1u << b) && b != 8) bits = b;   /* a low bit width the codec has */
        if (!bits) bits = 8;
        tq_granularity g = ci->gran_mask & (1u << TQ_GRAN_GROUP) ? TQ_GRAN_GROUP : TQ_GRAN_CHANNEL;
        tq_qparams q = {.codec = ci->id, .bits = bits, .gran = g, .group = g == TQ_GRAN_GROUP ? 32 : 0};
        if (ci->default_ggml_type) CHECK_OK(tq_qparams_ggml(ci->default_ggml_type, &q, &err0), err0);  /* ggml: Q8_0 */
        char name[64];
        snprintf(name, sizeof name, "%s-%d", ci->name, bits);
        case_any(src, &q, name);
        tried++;
    }
    CHECK(tried >= 3);
}
