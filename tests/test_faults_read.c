/*
 * test_faults_read.c — the readers' half of issue 14's fault matrix (the
 * output half is test_faults.c): a weight file that shrinks after it was
 * opened, or fails to read, is TQ_E_IO naming the file and the offset for
 * every bulk read outside convert — tq_model_tensor_f32 (plain F32, BF16
 * through its bounded chunks, quantized codes and side tensors), verify's
 * decode and block ranges, tq_model_read_stored / tq_model_read_range —
 * never SIGBUS (which would kill this binary). The same reads on the intact
 * file give exactly the file's bytes (checked against an independent fread).
 */
#define _GNU_SOURCE 1
#include "tq_test.h"
#include "core/internal.h"
#include "io/model.h"
#include "trueq_verify.h"
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_in[1024], g_q[1024], g_inf[1100], g_qf[1100];

static void write_model(const char *dir) {
    mkdir(dir, 0755);
    tq_wentry we[3];
    memset(we, 0, sizeof we);
    we[0] = (tq_wentry){.name = "a.weight", .dtype = TQ_DTYPE_F32, .ndim = 2, .shape = {64, 64}};
    we[1] = (tq_wentry){.name = "b.weight", .dtype = TQ_DTYPE_BF16, .ndim = 2, .shape = {64, 128}};
    we[2] = (tq_wentry){.name = "c.bias", .dtype = TQ_DTYPE_F32, .ndim = 1, .shape = {64}};
    char p[1100];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    tq_error e;
    tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, p, we, 3, NULL, NULL, 0, &e);
    if (!w) { fprintf(stderr, "writer: %s\n", e.msg); exit(1); }
    uint64_t s = 11;
    for (int i = 0; i < 3; i++) {
        uint8_t *b = malloc((size_t)w->nbytes[i]);
        for (uint64_t k = 0; k < w->nbytes[i] / (i == 1 ? 2 : 4); k++) {
            float v = 0.05f * tq_t_randn(&s);
            if (i == 1) tq_st16(b + 2 * k, tq_f32_to_bf16(v));
            else memcpy(b + 4 * k, &v, 4);
        }
        if (tq_writer_put(w, i, b, w->nbytes[i], &e)) { fprintf(stderr, "put: %s\n", e.msg); exit(1); }
        free(b);
    }
    if (tq_writer_finish(w, &e)) { fprintf(stderr, "finish: %s\n", e.msg); exit(1); }
    tq_writer_free(w);
}

static void quantize(const char *in, const char *out) {
    tq_error e;
    tq_model *m = tq_model_open(in, &e);
    tq_convert_options o;
    tq_convert_options_init(&o);
    o.q.bits = 4;
    tq_plan *p = m ? tq_plan_create(m, &o, &e) : NULL;
    if (!p || tq_plan_execute(p, out, NULL, NULL, &e)) { fprintf(stderr, "convert: %s\n", e.msg); exit(1); }
    tq_plan_free(p);
    tq_model_close(m);
}

/* bytes [off, off+n) of a file, read independently of trueq */
static uint8_t *file_bytes(const char *path, uint64_t off, uint64_t n) {
    FILE *f = fopen(path, "rb");
    uint8_t *b = malloc(n ? n : 1);
    if (!f || fseek(f, (long)off, SEEK_SET) || fread(b, 1, n, f) != n) { fprintf(stderr, "read %s\n", path); exit(1); }
    fclose(f);
    return b;
}
static uint64_t off_of(const tq_model *m, const tq_tensor *t, const void *p) {
    return (uint64_t)((const uint8_t *)p - m->files[t->file_index].map.data);
}

static void intact(void) {
    TQ_CASE("intact files: the stored bytes read with pread are the file's bytes");
    tq_error e;
    tq_model *m = tq_model_open(g_q, &e);
    CHECK(m != NULL);
    if (!m) return;
    const tq_tensor *t = tq_model_find(m, "a.weight");
    CHECK(t && t->quantized && t->n_aux >= 1);
    if (!t || !t->n_aux) { tq_model_close(m); return; }
    uint64_t an = tq_nbytes(t->aux_desc[0].dtype, t->aux_desc[0].ndim, t->aux_desc[0].shape);
    uint8_t *codes = malloc(t->nbytes), *aux0 = malloc(an);
    void *aux[TQ_MAX_AUX] = {aux0};
    CHECK_OK(tq_model_read_stored(m, t, codes, aux, &e), e);
    uint8_t *want = file_bytes(g_qf, off_of(m, t, t->data), t->nbytes), *wa = file_bytes(g_qf, off_of(m, t, t->aux[0]), an);
    CHECK(memcmp(codes, want, t->nbytes) == 0);
    CHECK(memcmp(aux0, wa, an) == 0);
    uint8_t part[40];
    CHECK_OK(tq_model_read_range(m, t, 100, sizeof part, part, &e), e);
    CHECK(memcmp(part, want + 100, sizeof part) == 0);
    CHECK_ERR(tq_model_read_range(m, t, t->nbytes - 8, 9, part, &e), e, TQ_E_ARG, "are outside its");
    free(codes); free(aux0); free(want); free(wa);

    tq_stored s;   /* tensor_f32 of a quantized tensor = dequantize of those bytes */
    CHECK_OK(tq_model_load_stored(m, t, true, &s, &e), e);
    int64_t n = t->numel;
    float *a = malloc(sizeof(float) * (size_t)n), *b = malloc(sizeof(float) * (size_t)n);
    CHECK_OK(tq_model_tensor_f32(m, t, a, &e), e);
    CHECK_OK(tq_dequantize(&t->q, t->shape[0], t->shape[1], s.codes, (const void *const *)s.aux, b, &e), e);
    CHECK(memcmp(a, b, sizeof(float) * (size_t)n) == 0);
    tq_stored_free(&s);
    free(a); free(b);
    tq_model_close(m);

    m = tq_model_open(g_in, &e);   /* BF16 through the chunks = the file's values widened */
    t = m ? tq_model_find(m, "b.weight") : NULL;
    CHECK(t != NULL);
    if (!t) { tq_model_close(m); return; }
    float *f = malloc(sizeof(float) * (size_t)t->numel);
    CHECK_OK(tq_model_tensor_f32(m, t, f, &e), e);
    uint8_t *raw = file_bytes(g_inf, off_of(m, t, t->data), t->nbytes);
    int bad = 0;
    for (int64_t i = 0; i < t->numel; i++) bad += f[i] != tq_bf16_to_f32(tq_ld16(raw + 2 * i));
    CHECK_EQ_INT(bad, 0);
    free(f); free(raw);
    tq_model_close(m);
}

/* Open the model at dir, then shrink its file to `keep` bytes (or fail reads
 * with EIO when keep is 0) and run what(). */
static int g_eio;
static int eio_hook(void *ud, const char *point, const char *path) { (void)ud; (void)path; return !strcmp(point, "read") ? g_eio : 0; }

static void shrunk(void) {
    tq_error e;
    struct stat st0;
    char cmd[2400];
    TQ_CASE("a file that shrank after open: tensor_f32 of F32, BF16 and quantized tensors is TQ_E_IO with file and offset");
    for (int pass = 0; pass < 3; pass++) {
        const char *dir = pass == 2 ? g_q : g_in, *file = pass == 2 ? g_qf : g_inf;
        const char *name = pass == 1 ? "b.weight" : "a.weight";
        snprintf(cmd, sizeof cmd, "cp '%s' '%s.keep'", file, file);
        CHECK(system(cmd) == 0);
        tq_model *m = tq_model_open(dir, &e);
        CHECK(m != NULL);
        if (!m) continue;
        const tq_tensor *t = tq_model_find(m, name);
        uint64_t cut = off_of(m, t, t->data) + 8;
        CHECK(truncate(file, (off_t)cut) == 0);
        float *f = malloc(sizeof(float) * (size_t)t->numel);
        tq_status s = tq_model_tensor_f32(m, t, f, &e);
        char want[1300];
        snprintf(want, sizeof want, "%s: the file ends at offset %llu, reading", file, (unsigned long long)cut);
        CHECK_ERR(s, e, TQ_E_IO, want);
        CHECK_MSG(strstr(e.msg, name) != NULL, "%s", e.msg);
        free(f);
        tq_model_close(m);
        snprintf(cmd, sizeof cmd, "%s.keep", file);
        CHECK(rename(cmd, file) == 0);
    }

    TQ_CASE("verify: the quantized file shrinks after open (decode, block ranges) -> TQ_E_IO naming it");
    CHECK(stat(g_qf, &st0) == 0);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s.keep'", g_qf, g_qf);
    CHECK(system(cmd) == 0);
    tq_model *a = tq_model_open(g_in, &e), *b = tq_model_open(g_q, &e);
    CHECK(a && b);
    const tq_tensor *qt = b ? tq_model_find(b, "a.weight") : NULL;
    if (qt) CHECK(truncate(g_qf, (off_t)(off_of(b, qt, qt->aux[0]) + 2)) == 0);   /* codes there, scales cut */
    tq_verify_report *r = a && b ? tq_verify_report_create(a, b, &e) : NULL;
    CHECK(r == NULL);
    CHECK_ERR(e.status, e, TQ_E_IO, "q/model.safetensors: the file ends at offset");
    tq_verify_report_free(r);
    tq_model_close(a);
    tq_model_close(b);
    snprintf(cmd, sizeof cmd, "%s.keep", g_qf);
    CHECK(rename(cmd, g_qf) == 0);

    TQ_CASE("a read that fails (EIO) is TQ_E_IO naming the file and the offset");
    a = tq_model_open(g_in, &e);
    const tq_tensor *t = a ? tq_model_find(a, "c.bias") : NULL;
    if (t) {
        float f[64];
        g_eio = EIO;
        tq_fault_set(eio_hook, NULL);
        tq_status s = tq_model_tensor_f32(a, t, f, &e);
        tq_fault_set(NULL, NULL);
        char want[1300];
        snprintf(want, sizeof want, "%s: read failed at offset %llu: Input/output error", g_inf,
                 (unsigned long long)off_of(a, t, t->data));
        CHECK_ERR(s, e, TQ_E_IO, want);
    }
    tq_model_close(a);
}

void tq_tests(void) {
    snprintf(g_in, sizeof g_in, "%s", tq_t_path("in"));
    snprintf(g_q, sizeof g_q, "%s", tq_t_path("q"));
    write_model(g_in);
    quantize(g_in, g_q);
    snprintf(g_inf, sizeof g_inf, "%s/model.safetensors", g_in);
    snprintf(g_qf, sizeof g_qf, "%s/model.safetensors", g_q);
    intact();
    shrunk();
}
