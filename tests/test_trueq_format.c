/* test_trueq_format.c — the trueq layout's loader checks: a matrix of corrupt
 * descriptors and side tensors, each with its own error; and the loader API. */
#include "tq_test.h"
#include "io/container.h"
#include <stdlib.h>
#include <unistd.h>

typedef struct ent { const char *name; tq_dtype dt; int nd; int64_t s0, s1; } ent;

/* Write a file with the given entries (data: bytes 0..n) and one descriptor. */
static const char *craft(const char *fname, const ent *e, int n, const char *desc) {
    const char *path = tq_t_path(fname);
    tq_wentry we[8];
    for (int i = 0; i < n; i++) {
        memset(&we[i], 0, sizeof we[i]);
        we[i].name = e[i].name; we[i].dtype = e[i].dt; we[i].ndim = e[i].nd; we[i].shape[0] = e[i].s0; we[i].shape[1] = e[i].s1;
    }
    const char *mk[] = {"format", "trueq.tensor.w"}, *mv[] = {"pt", desc};
    tq_error err;
    tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, path, we, n, mk, mv, desc ? 2 : 1, &err);
    if (!w) { fprintf(stderr, "craft: %s\n", err.msg); return path; }
    for (int i = 0; i < n; i++) {
        uint8_t *b = calloc(1, w->nbytes[i] + 1);
        if (e[i].dt == TQ_DTYPE_F32) for (uint64_t k = 0; k < w->nbytes[i] / 4; k++) { float f = 0.5f; memcpy(b + 4 * k, &f, 4); }
        else for (uint64_t k = 0; k < w->nbytes[i]; k++) b[k] = (uint8_t)(k * 37);
        tq_writer_put(w, i, b, w->nbytes[i], &err);
        free(b);
    }
    tq_writer_finish(w, &err);
    tq_writer_free(w);
    return path;
}

#define GOOD "{\"codec\":\"linear-sym\",\"bits\":8,\"granularity\":\"channel\",\"dtype\":\"F32\",\"shape\":[2,4]}"

static void expect_fail(const char *name, const ent *e, int n, const char *desc, tq_status want, const char *sub) {
    TQ_CASE(name);
    tq_error err;
    tq_model *m = tq_model_open(craft("x.safetensors", e, n, desc), &err);
    CHECK_ERR(m ? TQ_OK : err.status, err, want, sub);
    tq_model_close(m);
}

void tq_tests(void) {
    static const ent ok[] = {{"w", TQ_DTYPE_I8, 2, 2, 4}, {"w.__scale__", TQ_DTYPE_F32, 1, 2, 0}};
    TQ_CASE("a well-formed quantized tensor loads as one logical tensor and dequantizes");
    tq_error err;
    tq_model *m = tq_model_open(craft("ok.safetensors", ok, 2, GOOD), &err);
    CHECK_OK(m ? TQ_OK : err.status, err);
    if (m) {
        CHECK_EQ_INT(tq_model_count(m), 1);
        const tq_tensor *t = tq_model_find(m, "w");
        CHECK(t && t->quantized && t->dtype == TQ_DTYPE_I8 && t->ndim == 2 && t->shape[1] == 4 && t->n_aux == 1);
        CHECK(t && t->aux_bytes == 8 && t->nbytes == 8);
        CHECK(tq_model_find(m, "w.__scale__") == NULL);
        float out[8];
        CHECK_OK(tq_model_tensor_f32(m, t, out, &err), err);
        for (int i = 0; i < 8; i++) CHECK(out[i] == (float)(int8_t)(uint8_t)(i * 37) * 0.5f);
        tq_memory_report r;
        tq_model_memory(m, &r);
        CHECK(r.by_dtype[TQ_DTYPE_I8] == 8 && r.by_dtype[TQ_DTYPE_F32] == 8 && r.total_bytes == 16);
        CHECK(strcmp(tq_model_meta(m, "format"), "pt") == 0);
        tq_model_close(m);
    }

    expect_fail("descriptor is not JSON", ok, 2, "{codec", TQ_E_FORMAT, "descriptor is not a JSON object");
    expect_fail("descriptor names an unknown codec", ok, 2,
                "{\"codec\":\"zip\",\"bits\":8,\"granularity\":\"channel\",\"dtype\":\"F32\",\"shape\":[2,4]}", TQ_E_UNSUPPORTED, "unknown codec");
    expect_fail("descriptor lacks bits", ok, 2,
                "{\"codec\":\"linear-sym\",\"granularity\":\"channel\",\"dtype\":\"F32\",\"shape\":[2,4]}", TQ_E_FORMAT, "lacks bits");
    expect_fail("descriptor has an unknown granularity", ok, 2,
                "{\"codec\":\"linear-sym\",\"bits\":8,\"granularity\":\"blob\",\"dtype\":\"F32\",\"shape\":[2,4]}", TQ_E_FORMAT, "unknown granularity");
    expect_fail("descriptor's original dtype is not a float", ok, 2,
                "{\"codec\":\"linear-sym\",\"bits\":8,\"granularity\":\"channel\",\"dtype\":\"I32\",\"shape\":[2,4]}", TQ_E_FORMAT, "no float dtype");
    expect_fail("descriptor's bits unsupported by the codec", ok, 2,
                "{\"codec\":\"linear-sym\",\"bits\":5,\"granularity\":\"channel\",\"dtype\":\"F32\",\"shape\":[2,4]}", TQ_E_ARG, "does not support 5 bits");
    expect_fail("codes shape disagrees with the descriptor", ok, 2,
                "{\"codec\":\"linear-sym\",\"bits\":8,\"granularity\":\"channel\",\"dtype\":\"F32\",\"shape\":[2,5]}", TQ_E_FORMAT, "codes are I8 [2, 4] but the descriptor implies I8 [2, 5]");
    expect_fail("4-bit descriptor over I8 codes (floats or wrong dtype as codes)", ok, 2,
                "{\"codec\":\"linear-sym\",\"bits\":4,\"granularity\":\"channel\",\"dtype\":\"F32\",\"shape\":[2,4]}", TQ_E_FORMAT, "descriptor implies U8");
    static const ent noscale[] = {{"w", TQ_DTYPE_I8, 2, 2, 4}};
    expect_fail("side tensor missing", noscale, 1, GOOD, TQ_E_FORMAT, "side tensor \"w.__scale__\" is missing");
    static const ent badscale[] = {{"w", TQ_DTYPE_I8, 2, 2, 4}, {"w.__scale__", TQ_DTYPE_F32, 1, 3, 0}};
    expect_fail("side tensor of the wrong shape", badscale, 2, GOOD, TQ_E_FORMAT, "wrong dtype or shape");
    static const ent f16scale[] = {{"w", TQ_DTYPE_I8, 2, 2, 4}, {"w.__scale__", TQ_DTYPE_F16, 1, 2, 0}};
    expect_fail("side tensor of the wrong dtype", f16scale, 2, GOOD, TQ_E_FORMAT, "wrong dtype or shape");
    expect_fail("group size that does not divide, without pad", ok, 2,
                "{\"codec\":\"linear-sym\",\"bits\":8,\"granularity\":\"group\",\"group\":3,\"dtype\":\"F32\",\"shape\":[2,4]}", TQ_E_SHAPE, "group size 3");
    static const ent simf[] = {{"w", TQ_DTYPE_I8, 2, 2, 4}};
    expect_fail("simulated descriptor over non-float values", simf, 1,
                "{\"codec\":\"linear-sym\",\"bits\":8,\"granularity\":\"channel\",\"simulated\":true,\"dtype\":\"F32\",\"shape\":[2,4]}", TQ_E_FORMAT, "simulated tensor does not match");

    TQ_CASE("a file that is not there, and a directory with nothing to read");
    CHECK_ERR(tq_model_open(tq_t_path("nope.safetensors"), &err) ? TQ_OK : err.status, err, TQ_E_IO, "nope.safetensors: cannot open");
    const char *empty = tq_t_path("emptydir");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", empty);
    CHECK(system(cmd) == 0);
    CHECK_ERR(tq_model_open(empty, &err) ? TQ_OK : err.status, err, TQ_E_NOTFOUND, "holds no model.safetensors");
}
