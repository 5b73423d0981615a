/*
 * types.c — the ggml type table (ggml_types.h): one row per ggml_type id,
 * row i describing id i, plus the kernels of the plain element types
 * (F32, F16, BF16, I8, I16, I32) and the checked entry points.
 *
 * To add a ggml type: write its dequantize_row (and quantize_row_ref if
 * trueq can encode it) in the family file of src/ggml/, declare them in
 * ggml_kernels.h, fill its row here, and add its known-answer block to
 * tests/test_ggml_types.c (and to tests/py/gguf_conformance.py when gguf-py
 * implements it).
 */
#include "ggml/ggml_types.h"
#include "ggml/ggml_kernels.h"

static void dq_f32(const void *b, float *y, int64_t n) {
    const uint8_t *p = b;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u = tq_ld32(p + 4 * i);
        memcpy(&y[i], &u, 4);
    }
}
static void q_f32(const float *x, void *b, int64_t n) {
    uint8_t *p = b;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        tq_st32(p + 4 * i, u);
    }
}
static void dq_f16(const void *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = tq_ggml_f32((const uint8_t *)b + 2 * i);
}
static void q_f16(const float *x, void *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) tq_st16((uint8_t *)b + 2 * i, tq_ggml_fp16(x[i]));
}
static void dq_bf16(const void *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = tq_bf16_to_f32(tq_ld16((const uint8_t *)b + 2 * i));
}
static void q_bf16(const float *x, void *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) tq_st16((uint8_t *)b + 2 * i, tq_f32_to_bf16(x[i]));
}
static void dq_i8(const void *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)((const int8_t *)b)[i];
}
static void dq_i16(const void *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)(int16_t)tq_ld16((const uint8_t *)b + 2 * i);
}
static void dq_i32(const void *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = (float)(int32_t)tq_ld32((const uint8_t *)b + 4 * i);
}

#define ROW(ID, NAME, BLK, SZ, DQ, Q) [ID] = {ID, NAME, BLK, SZ, 8.0 * (SZ) / (BLK), DQ, Q}
#define GONE(ID) [ID] = {ID, "(removed)", 0, 0, 0.0, NULL, NULL}

static const tq_ggml_type_info TYPES[TQ_GGML_TYPE_COUNT] = {
    ROW(0, "F32", 1, 4, dq_f32, q_f32),
    ROW(1, "F16", 1, 2, dq_f16, q_f16),
    ROW(2, "Q4_0", 32, 18, tq_ggml_dq_q4_0, tq_ggml_q_q4_0),
    ROW(3, "Q4_1", 32, 20, tq_ggml_dq_q4_1, tq_ggml_q_q4_1),
    GONE(4), GONE(5),
    ROW(6, "Q5_0", 32, 22, tq_ggml_dq_q5_0, tq_ggml_q_q5_0),
    ROW(7, "Q5_1", 32, 24, tq_ggml_dq_q5_1, tq_ggml_q_q5_1),
    ROW(8, "Q8_0", 32, 34, tq_ggml_dq_q8_0, tq_ggml_q_q8_0),
    ROW(9, "Q8_1", 32, 36, NULL, NULL),
    ROW(10, "Q2_K", 256, 84, tq_ggml_dq_q2_k, tq_ggml_q_q2_k),
    ROW(11, "Q3_K", 256, 110, tq_ggml_dq_q3_k, tq_ggml_q_q3_k),
    ROW(12, "Q4_K", 256, 144, tq_ggml_dq_q4_k, tq_ggml_q_q4_k),
    ROW(13, "Q5_K", 256, 176, tq_ggml_dq_q5_k, tq_ggml_q_q5_k),
    ROW(14, "Q6_K", 256, 210, tq_ggml_dq_q6_k, tq_ggml_q_q6_k),
    ROW(15, "Q8_K", 256, 292, tq_ggml_dq_q8_k, tq_ggml_q_q8_k),
    ROW(16, "IQ2_XXS", 256, 66, NULL, NULL),
    ROW(17, "IQ2_XS", 256, 74, NULL, NULL),
    ROW(18, "IQ3_XXS", 256, 98, NULL, NULL),
    ROW(19, "IQ1_S", 256, 50, NULL, NULL),
    ROW(20, "IQ4_NL", 32, 18, tq_ggml_dq_iq4_nl, NULL),
    ROW(21, "IQ3_S", 256, 110, NULL, NULL),
    ROW(22, "IQ2_S", 256, 82, NULL, NULL),
    ROW(23, "IQ4_XS", 256, 136, tq_ggml_dq_iq4_xs, NULL),
    ROW(24, "I8", 1, 1, dq_i8, NULL),
    ROW(25, "I16", 1, 2, dq_i16, NULL),
    ROW(26, "I32", 1, 4, dq_i32, NULL),
    ROW(27, "I64", 1, 8, NULL, NULL),
    ROW(28, "F64", 1, 8, NULL, NULL),
    ROW(29, "IQ1_M", 256, 56, NULL, NULL),
    ROW(30, "BF16", 1, 2, dq_bf16, q_bf16),
    GONE(31), GONE(32), GONE(33),
    ROW(34, "TQ1_0", 256, 54, tq_ggml_dq_tq1_0, tq_ggml_q_tq1_0),
    ROW(35, "TQ2_0", 256, 66, tq_ggml_dq_tq2_0, tq_ggml_q_tq2_0),
    GONE(36), GONE(37), GONE(38),
    ROW(39, "MXFP4", 32, 17, NULL, NULL),
    ROW(40, "NVFP4", 64, 36, NULL, NULL),
    ROW(41, "Q1_0", 128, 18, NULL, NULL),
    ROW(42, "Q2_0", 64, 18, NULL, NULL),
};

const tq_ggml_type_info *tq_ggml_type_table(void) { return TYPES; }

const tq_ggml_type_info *tq_ggml_type(int64_t id) {
    if (id < 0 || id >= TQ_GGML_TYPE_COUNT || TYPES[id].block == 0) return NULL;
    return &TYPES[id];
}

int tq_ggml_type_from_name(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < TQ_GGML_TYPE_COUNT; i++)
        if (TYPES[i].block && strcmp(TYPES[i].name, name) == 0) return i;
    return -1;
}

static const char *nm(const char *what) { return what ? what : "(unnamed)"; }

tq_status tq_ggml_row_bytes(int64_t id, int64_t n, const char *what, uint64_t *bytes, tq_error *err) {
    const tq_ggml_type_info *t = tq_ggml_type(id);
    if (!t) return tq_err(err, TQ_E_UNSUPPORTED, "unsupported ggml type %lld for tensor %s", (long long)id, nm(what));
    if (n < 0 || n % t->block)
        return tq_err(err, TQ_E_SHAPE, "tensor %s: %lld elements is not a multiple of the %s block size %lld",
                      nm(what), (long long)n, t->name, (long long)t->block);
    if (!tq_mul_u64((uint64_t)(n / t->block), t->type_size, bytes))
        return tq_err(err, TQ_E_LIMIT, "tensor %s: %lld %s elements overflow a 64-bit byte count", nm(what),
                      (long long)n, t->name);
    return TQ_OK;
}

/* Checks and runs one converter: enc selects the reference quantizer. */
static tq_status convert(int64_t id, const void *src, void *dst, int64_t n, bool enc, const char *what, tq_error *err) {
    uint64_t bytes;
    tq_status st = tq_ggml_row_bytes(id, n, what, &bytes, err);
    if (st) return st;
    const tq_ggml_type_info *t = tq_ggml_type(id);
    if (enc ? !t->quantize_row_ref : !t->dequantize_row)
        return tq_err(err, TQ_E_UNSUPPORTED, "unsupported ggml type %s (%lld) for tensor %s: trueq has no %s for it",
                      t->name, (long long)id, nm(what), enc ? "reference quantizer" : "dequantizer");
    if (enc) t->quantize_row_ref(src, dst, n);
    else t->dequantize_row(src, dst, n);
    return TQ_OK;
}

tq_status tq_ggml_dequantize(int64_t id, const void *src, float *dst, int64_t n, const char *what, tq_error *err) {
    return convert(id, src, dst, n, false, what, err);
}

tq_status tq_ggml_quantize(int64_t id, const float *src, void *dst, int64_t n, const char *what, tq_error *err) {
    return convert(id, src, dst, n, true, what, err);
}
