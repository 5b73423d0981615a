/* test_memory.c — tq_model_memory reports the bytes a loaded model holds, per
 * buffer dtype, and they agree with arithmetic on shapes and dtypes and with
 * the data area of the file itself (file size - 8 - header length). The seeds'
 * toy printed a nominal size (0.41 MB) where 9.38 MB was held: here a model
 * whose codes are 2 bytes per weight must report 2 bytes per weight. */
#include "tq_test.h"
#include "io/container.h"
#include <stdlib.h>
#include <sys/stat.h>

typedef struct tdef { const char *name; tq_dtype dt; int nd; int64_t s0, s1; int esize; } tdef;
static const tdef T[] = {
    {"embeddings.word_embeddings.weight", TQ_DTYPE_F32, 2, 50, 64, 4},
    {"layer.0.ffn.up.weight", TQ_DTYPE_F16, 2, 128, 64, 2},
    {"layer.0.ffn.down.weight", TQ_DTYPE_BF16, 2, 64, 128, 2},
    {"layer.0.attn.q.weight", TQ_DTYPE_F32, 2, 64, 64, 4},
    {"head.weight", TQ_DTYPE_F64, 2, 3, 64, 8},
    {"position_ids", TQ_DTYPE_I64, 2, 1, 16, 8},
    {"mask", TQ_DTYPE_I8, 2, 7, 9, 1},
    {"flags", TQ_DTYPE_U8, 1, 5, 0, 1},
};
#define NT (int)(sizeof T / sizeof T[0])

/* bytes of the data area: file size - 8 - header length (the u64 at offset 0) */
static uint64_t data_area(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    uint8_t b[8] = {0};
    size_t got = fread(b, 1, 8, f);
    fclose(f);
    if (got != 8) return 0;
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--) h = h << 8 | b[i];
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    return (uint64_t)st.st_size - 8 - h;
}

static void write_model(const char *dir) {
    mkdir(dir, 0755);
    char path[1100];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    tq_wentry we[NT];
    for (int i = 0; i < NT; i++) {
        memset(&we[i], 0, sizeof we[i]);
        we[i].name = T[i].name; we[i].dtype = T[i].dt; we[i].ndim = T[i].nd;
        we[i].shape[0] = T[i].s0; we[i].shape[1] = T[i].s1;
    }
    tq_error e;
    tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, path, we, NT, NULL, NULL, 0, &e);
    if (!w) return;
    uint64_t s = 1;
    for (int i = 0; i < NT; i++) {
        int64_t n = T[i].nd == 2 ? T[i].s0 * T[i].s1 : T[i].s0;
        uint8_t *b = calloc((size_t)n, 8);
        for (int64_t k = 0; k < n; k++) {
            float v = 0.05f * tq_t_randn(&s);
            if (T[i].dt == TQ_DTYPE_F32) memcpy(b + 4 * k, &v, 4);
            else if (T[i].dt == TQ_DTYPE_F16) { uint16_t h = tq_f32_to_f16(v); memcpy(b + 2 * k, &h, 2); }
            else if (T[i].dt == TQ_DTYPE_BF16) { uint16_t h = tq_f32_to_bf16(v); memcpy(b + 2 * k, &h, 2); }
            else if (T[i].dt == TQ_DTYPE_F64) { double d = v; memcpy(b + 8 * k, &d, 8); }
        }
        tq_writer_put(w, i, b, (uint64_t)n * (uint64_t)T[i].esize, &e);
        free(b);
    }
    tq_writer_finish(w, &e);
    tq_writer_free(w);
}

void tq_tests(void) {
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s", tq_t_path("mem_in"));
    write_model(dir);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    tq_error e;

    TQ_CASE("plain model: bytes per dtype = sum of numel x element size, total = the file's data area");
    tq_model *m = tq_model_open(path, &e);
    CHECK_MSG(m != NULL, "%s", e.msg);
    if (!m) return;
    tq_memory_report r;
    tq_model_memory(m, &r);
    uint64_t want[TQ_DTYPE_COUNT] = {0}, total = 0;
    for (int i = 0; i < NT; i++) {
        uint64_t b = (uint64_t)(T[i].nd == 2 ? T[i].s0 * T[i].s1 : T[i].s0) * (uint64_t)T[i].esize;
        want[T[i].dt] += b;
        total += b;
    }
    for (int d = 0; d < TQ_DTYPE_COUNT; d++) CHECK_MSG(r.by_dtype[d] == want[d], "dtype %s: %llu vs %llu", tq_dtype_name((tq_dtype)d),
                                                     (unsigned long long)r.by_dtype[d], (unsigned long long)want[d]);
    CHECK_EQ_INT(r.by_dtype[TQ_DTYPE_F32], (50 * 64 + 64 * 64) * 4);
    CHECK_EQ_INT(r.total_bytes, total);
    CHECK_EQ_INT(r.payload_bytes, total);
    CHECK_EQ_INT(r.aux_bytes, 0);
    CHECK_EQ_INT(r.total_bytes, data_area(path));

    /* quantize the three 2-D float matrices (policy: *.weight, embeddings kept) */
    const struct { tq_codec_id c; int bits; tq_granularity g; int64_t group; const char *tag; } V[] = {
        {TQ_CODEC_QINS_LOG_2B, 8, TQ_GRAN_CHANNEL, 0, "qins-log-2b"},
        {TQ_CODEC_NF4, 4, TQ_GRAN_GROUP, 64, "nf4"},
        {TQ_CODEC_LINEAR_SYM, 8, TQ_GRAN_CHANNEL, 0, "int8"},
    };
    for (size_t k = 0; k < sizeof V / sizeof V[0]; k++) {
        char nm[128];
        snprintf(nm, sizeof nm, "%s model: codes and side tensors per dtype from shape arithmetic, = the data area", V[k].tag);
        TQ_CASE(nm);
        tq_convert_options o;
        tq_convert_options_init(&o);
        o.q.codec = V[k].c; o.q.bits = V[k].bits; o.q.gran = V[k].g; o.q.group = V[k].group;
        tq_plan *p = tq_plan_create(m, &o, &e);
        CHECK_MSG(p != NULL, "%s", e.msg);
        if (!p) continue;
        char out[1100], of[1200];
        snprintf(out, sizeof out, "%s/mem_%s", tq_t_tmpdir(), V[k].tag);
        CHECK_OK(tq_plan_execute(p, out, NULL, NULL, &e), e);
        tq_plan_free(p);
        snprintf(of, sizeof of, "%s/model.safetensors", out);
        tq_model *q = tq_model_open(of, &e);
        CHECK_MSG(q != NULL, "%s", e.msg);
        if (!q) continue;
        tq_memory_report rq;
        tq_model_memory(q, &rq);
        /* the quantized matrices: up [128, 64], down [64, 128], q [64, 64], head [3, 64] */
        const int64_t R[4] = {128, 64, 64, 3}, C[4] = {64, 128, 64, 64};
        uint64_t w2[TQ_DTYPE_COUNT] = {0}, aux = 0, pay = 0;
        for (int i = 0; i < 4; i++) {
            uint64_t n = (uint64_t)(R[i] * C[i]);
            if (V[k].c == TQ_CODEC_QINS_LOG_2B) {           /* U8 codes, I8 signs, F32 {lmin,lmax} per row */
                w2[TQ_DTYPE_U8] += n; w2[TQ_DTYPE_I8] += n; w2[TQ_DTYPE_F32] += 8u * (uint64_t)R[i];
                pay += n; aux += n + 8u * (uint64_t)R[i];
            } else if (V[k].c == TQ_CODEC_NF4) {            /* two codes per byte, F32 absmax per 64 */
                w2[TQ_DTYPE_U8] += n / 2; w2[TQ_DTYPE_F32] += 4u * (uint64_t)(R[i] * ((C[i] + 63) / 64));
                pay += n / 2; aux += 4u * (uint64_t)(R[i] * ((C[i] + 63) / 64));
            } else {                                         /* I8 codes, F32 scale per row */
                w2[TQ_DTYPE_I8] += n; w2[TQ_DTYPE_F32] += 4u * (uint64_t)R[i];
                pay += n; aux += 4u * (uint64_t)R[i];
            }
        }
        /* kept as they were: the embedding (F32), position_ids (I64), mask (I8), flags (U8) */
        w2[TQ_DTYPE_F32] += 50 * 64 * 4; pay += 50 * 64 * 4;
        w2[TQ_DTYPE_I64] += 16 * 8; pay += 16 * 8;
        w2[TQ_DTYPE_I8] += 63; pay += 63;
        w2[TQ_DTYPE_U8] += 5; pay += 5;
        for (int d = 0; d < TQ_DTYPE_COUNT; d++)
            CHECK_MSG(rq.by_dtype[d] == w2[d], "dtype %s: %llu vs %llu", tq_dtype_name((tq_dtype)d),
                      (unsigned long long)rq.by_dtype[d], (unsigned long long)w2[d]);
        CHECK_EQ_INT(rq.payload_bytes, pay);
        CHECK_EQ_INT(rq.aux_bytes, aux);
        CHECK_EQ_INT(rq.total_bytes, pay + aux);
        CHECK_EQ_INT(rq.total_bytes, data_area(of));
        tq_model_close(q);
    }
    tq_model_close(m);
}
