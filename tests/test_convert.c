/* test_convert.c — convert + loader + ledger end to end through the library. */
#include "tq_test.h"
#include "io/container.h"
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t fsize(const char *p) { struct stat st; return stat(p, &st) == 0 ? (uint64_t)st.st_size : 0; }
static bool exists(const char *p) { struct stat st; return stat(p, &st) == 0; }

static void *slurp(const char *p, size_t *n) {
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    void *b = malloc(*n + 1);
    if (fread(b, 1, *n, f) != *n) { free(b); b = NULL; }
    fclose(f);
    return b;
}

/* A small model with every kind of tensor the policy distinguishes. */
typedef struct tens { const char *name; tq_dtype dt; int nd; int64_t s0, s1; } tens;
static const tens SMALL[] = {
    {"embeddings.word_embeddings.weight", TQ_DTYPE_F32, 2, 50, 64},
    {"embeddings.LayerNorm.weight", TQ_DTYPE_F32, 1, 64, 0},
    {"layer.0.attn.q.weight", TQ_DTYPE_F32, 2, 64, 64},
    {"layer.0.attn.q.bias", TQ_DTYPE_F32, 1, 64, 0},
    {"layer.0.ffn.up.weight", TQ_DTYPE_F16, 2, 128, 64},
    {"layer.0.ffn.down.weight", TQ_DTYPE_BF16, 2, 64, 128},
    {"layer.0.ffn.down.scale", TQ_DTYPE_F32, 2, 4, 4},
    {"position_ids", TQ_DTYPE_I64, 2, 1, 16},
    {"head.weight", TQ_DTYPE_F64, 2, 3, 64},
};
#define NSMALL (int)(sizeof SMALL / sizeof SMALL[0])

static float gen(uint64_t *s, int i) { return 0.05f * tq_t_randn(s) * ((i % 29) == 0 ? 6.0f : 1.0f); }

/* nan_at: a NaN at that index of layer.0.attn.q.weight; huge_at: 1e39 (beyond
 * float32) at that index of the F64 head.weight; -1: none. */
static void write_small(const char *dir, int nan_at, int huge_at) {
    mkdir(dir, 0755);
    char path[1100];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    tq_wentry we[NSMALL];
    for (int i = 0; i < NSMALL; i++) {
        memset(&we[i], 0, sizeof we[i]);
        we[i].name = SMALL[i].name; we[i].dtype = SMALL[i].dt; we[i].ndim = SMALL[i].nd;
        we[i].shape[0] = SMALL[i].s0; we[i].shape[1] = SMALL[i].s1;
    }
    const char *mk[] = {"format"}, *mv[] = {"pt"};
    tq_error e;
    tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, path, we, NSMALL, mk, mv, 1, &e);
    uint64_t seed = 99;
    for (int i = 0; i < NSMALL; i++) {
        int64_t n = SMALL[i].nd == 2 ? SMALL[i].s0 * SMALL[i].s1 : SMALL[i].s0;
        uint8_t *b = malloc((size_t)n * 8);
        for (int64_t k = 0; k < n; k++) {
            float v = gen(&seed, (int)k);
            if (nan_at >= 0 && i == 2 && k == nan_at) v = NAN;
            switch (SMALL[i].dt) {
            case TQ_DTYPE_F32: memcpy(b + 4 * k, &v, 4); break;
            case TQ_DTYPE_F16: { uint16_t h = tq_f32_to_f16(v); memcpy(b + 2 * k, &h, 2); break; }
            case TQ_DTYPE_BF16: { uint16_t h = tq_f32_to_bf16(v); memcpy(b + 2 * k, &h, 2); break; }
            case TQ_DTYPE_F64: { double d = k == huge_at ? 1e39 : v; memcpy(b + 8 * k, &d, 8); break; }
            default: { int64_t x = k; memcpy(b + 8 * k, &x, 8); }
            }
        }
        tq_writer_put(w, i, b, w->nbytes[i], &e);
        free(b);
    }
    tq_writer_finish(w, &e);
    tq_writer_free(w);
    snprintf(path, sizeof path, "%s/config.json", dir);
    tq_t_write(path, "{\"model_type\": \"test\"}\n", 23);
}

static tq_status convert(const char *in, const char *out, const tq_convert_options *o, uint64_t *planned, tq_error *e) {
    tq_model *m = tq_model_open(in, e);
    if (!m) return e->status;
    tq_plan *p = tq_plan_create(m, o, e);
    if (!p) { tq_model_close(m); return e->status; }
    if (planned) *planned = tq_plan_output_bytes(p);
    tq_status st = tq_plan_execute(p, out, NULL, NULL, e);
    tq_plan_free(p);
    tq_model_close(m);
    return st;
}

static void round_trips(void) {
    char in[1024];
    snprintf(in, sizeof in, "%s", tq_t_path("small"));
    write_small(in, -1, -1);
    tq_error e;
    tq_model *orig = tq_model_open(in, &e);
    CHECK_OK(orig ? TQ_OK : e.status, e);
    if (!orig) return;
    static const tq_granularity G[] = {TQ_GRAN_TENSOR, TQ_GRAN_CHANNEL, TQ_GRAN_GROUP};
    static const int B[] = {8, 4, 2};
    int run = 0;
    for (int fmt = 1; fmt <= 2; fmt++)
        for (int sch = 0; sch < 2; sch++)
            for (int bi = 0; bi < 3; bi++)
                for (int gi = 0; gi < 3; gi++) {
                    tq_convert_options o;
                    tq_convert_options_init(&o);
                    o.q.codec = sch ? TQ_CODEC_LINEAR_AFFINE : TQ_CODEC_LINEAR_SYM;
                    o.q.bits = B[bi]; o.q.gran = G[gi]; o.q.group = gi == 2 ? 32 : 0;
                    o.format = (tq_format)fmt;
                    char name[128], qs[64], out[64];
                    snprintf(name, sizeof name, "round trip %s via %s", tq_qparams_str(&o.q, qs, sizeof qs), fmt == 1 ? "safetensors" : "npz");
                    TQ_CASE(name);
                    snprintf(out, sizeof out, "out%d", run++);
                    char od[1024];
                    snprintf(od, sizeof od, "%s", tq_t_path(out));
                    uint64_t planned = 0;
                    tq_status st = convert(in, od, &o, &planned, &e);
                    CHECK_OK(st, e);
                    if (st) continue;
                    char wp[1100];
                    snprintf(wp, sizeof wp, "%s/%s", od, fmt == 1 ? "model.safetensors" : "weights.npz");
                    CHECK_EQ_INT(fsize(wp), planned);                  /* dry-run size = real size */
                    char cp[1100];
                    snprintf(cp, sizeof cp, "%s/config.json", od);
                    CHECK(exists(cp));
                    snprintf(cp, sizeof cp, "%s/conversion_metadata.json", od);
                    CHECK(exists(cp));
                    tq_model *q = tq_model_open(wp, &e);
                    CHECK_OK(q ? TQ_OK : e.status, e);
                    if (!q) continue;
                    tq_ledger *l = tq_ledger_create(q, &e);
                    if (l) {
                        const tq_ledger_totals *T = tq_ledger_totals_get(l);
                        CHECK_EQ_INT(T->header_bytes + T->padding_bytes + T->stored_data_bytes, fsize(wp));
                        CHECK_EQ_INT(T->stored_data_bytes, T->payload_bytes + T->aux_bytes);   /* stored, not deflated */
                    }
                    CHECK(l && tq_ledger_totals_get(l)->n_fake == 0);
                    tq_ledger_free(l);
                    CHECK_EQ_INT(tq_model_count(q), NSMALL);
                    for (int i = 0; i < NSMALL; i++) {
                        const tq_tensor *a = tq_model_find(orig, SMALL[i].name), *b = tq_model_find(q, SMALL[i].name);
                        CHECK_MSG(b != NULL, "%s missing", SMALL[i].name);
                        if (!a || !b) continue;
                        bool want_q = strstr(a->name, ".weight") && a->ndim == 2 && !strstr(a->name, "embed") && tq_dtype_is_float(a->dtype);
                        CHECK_MSG(b->quantized == want_q, "%s quantized=%d", a->name, b->quantized);
                        CHECK(b->ndim == a->ndim && b->shape[0] == a->shape[0] && b->numel == a->numel);
                        if (!want_q) { CHECK(b->dtype == a->dtype && memcmp(a->data, b->data, a->nbytes) == 0); continue; }
                        CHECK(b->dtype == (o.q.bits == 8 && !sch ? TQ_DTYPE_I8 : TQ_DTYPE_U8));
                        CHECK(b->orig_dtype == a->dtype);
                        /* stored bytes are the real low-bit size */
                        int64_t rows = a->shape[0], cols = a->numel / rows;
                        CHECK_EQ_INT(b->nbytes, rows * ((cols * o.q.bits + 7) / 8));
                        /* loader dequantization = the codec applied to the original floats */
                        float *fa = malloc(sizeof(float) * (size_t)a->numel), *fb = malloc(sizeof(float) * (size_t)a->numel);
                        float *fd = malloc(sizeof(float) * (size_t)a->numel);
                        tq_model_tensor_f32(orig, a, fa, &e);
                        CHECK_OK(tq_model_tensor_f32(q, b, fb, &e), e);
                        tq_dtype cd; int64_t cs[2]; tq_aux_desc ad[TQ_MAX_AUX];
                        int na = tq_qparams_layout(&b->q, rows, cols, &cd, cs, ad);
                        void *codes = malloc(tq_nbytes(cd, 2, cs)), *aux[TQ_MAX_AUX] = {0};
                        for (int k = 0; k < na; k++) aux[k] = malloc(tq_nbytes(ad[k].dtype, ad[k].ndim, ad[k].shape) + 1);
                        tq_quantize(&b->q, a->name, fa, rows, cols, codes, aux, 0, &e);
                        tq_dequantize(&b->q, rows, cols, codes, (const void *const *)aux, fd, &e);
                        CHECK(memcmp(fb, fd, sizeof(float) * (size_t)a->numel) == 0);
                        CHECK(memcmp(codes, b->data, b->nbytes) == 0);
                        free(codes); for (int k = 0; k < na; k++) free(aux[k]);
                        free(fa); free(fb); free(fd);
                    }
                    tq_model_close(q);
                }
    tq_model_close(orig);
}

static void determinism_and_policy(void) {
    char in[1024];
    snprintf(in, sizeof in, "%s", tq_t_path("small"));
    tq_error e;
    tq_convert_options o;
    TQ_CASE("the same input converts to byte-identical output twice");
    tq_convert_options_init(&o);
    o.q.bits = 4; o.q.gran = TQ_GRAN_GROUP; o.q.group = 16;
    CHECK_OK(convert(in, tq_t_path("det1"), &o, NULL, &e), e);
    CHECK_OK(convert(in, tq_t_path("det2"), &o, NULL, &e), e);
    size_t n1 = 0, n2 = 0;
    char p1[1100], p2[1100];
    snprintf(p1, sizeof p1, "%s/model.safetensors", tq_t_path("det1"));
    snprintf(p2, sizeof p2, "%s/model.safetensors", tq_t_path("det2"));
    void *b1 = slurp(p1, &n1), *b2 = slurp(p2, &n2);
    CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0);
    free(b1); free(b2);

    TQ_CASE("policy: --quantize-embeddings quantizes embeddings per row; rules recorded");
    tq_convert_options_init(&o);
    o.quantize_embeddings = 1;
    o.q.gran = TQ_GRAN_TENSOR;
    tq_model *m = tq_model_open(in, &e);
    tq_plan *p = tq_plan_create(m, &o, &e);
    CHECK(p != NULL);
    for (int64_t i = 0; p && i < tq_plan_count(p); i++) {
        const tq_plan_item *it = tq_plan_item_at(p, i);
        CHECK(it->rule && *it->rule);
        if (strstr(it->src->name, "word_embeddings")) CHECK(it->quantize && it->q.gran == TQ_GRAN_CHANNEL && strstr(it->rule, "--quantize-embeddings"));
        if (!strcmp(it->src->name, "layer.0.attn.q.bias")) CHECK(!it->quantize && strstr(it->rule, "1-D"));
        if (!strcmp(it->src->name, "position_ids")) CHECK(!it->quantize && strstr(it->rule, "not a float dtype"));
        if (!strcmp(it->src->name, "layer.0.ffn.down.scale")) CHECK(!it->quantize && strstr(it->rule, "not a *.weight"));
    }
    tq_plan_free(p);

    TQ_CASE("policy: --include / --exclude add to the defaults; a glob matching nothing is an error");
    const char *inc[] = {"*.down.scale"}, *exc[] = {"layer.0.attn.*"};
    tq_convert_options_init(&o);
    o.include = inc; o.n_include = 1; o.exclude = exc; o.n_exclude = 1;
    p = tq_plan_create(m, &o, &e);
    CHECK(p != NULL);
    for (int64_t i = 0; p && i < tq_plan_count(p); i++) {
        const tq_plan_item *it = tq_plan_item_at(p, i);
        if (!strcmp(it->src->name, "layer.0.ffn.down.scale")) CHECK(it->quantize && strstr(it->rule, "--include"));
        if (!strcmp(it->src->name, "layer.0.attn.q.weight")) CHECK(!it->quantize && strstr(it->rule, "--exclude"));
    }
    tq_plan_free(p);
    const char *nothing[] = {"no.such.*"};
    o.include = nothing;
    CHECK_ERR(tq_plan_create(m, &o, &e) ? TQ_OK : e.status, e, TQ_E_NOTFOUND, "--include no.such.* matches no tensor");
    tq_model_close(m);

    TQ_CASE("failures leave nothing behind: group size, NaN, output = input directory");
    tq_convert_options_init(&o);
    o.q.gran = TQ_GRAN_GROUP; o.q.group = 48;                     /* 64 % 48 != 0 */
    CHECK_ERR(convert(in, tq_t_path("fail1"), &o, NULL, &e), e, TQ_E_SHAPE, "group size 48 does not divide");
    CHECK(!exists(tq_t_path("fail1")));
    char nan_dir[1024];
    snprintf(nan_dir, sizeof nan_dir, "%s", tq_t_path("small_nan"));
    write_small(nan_dir, 70, -1);
    tq_convert_options_init(&o);
    CHECK_ERR(convert(nan_dir, tq_t_path("fail2"), &o, NULL, &e), e, TQ_E_VALUE, "\"layer.0.attn.q.weight\": non-finite value nan at flat index 70");
    CHECK(!exists(tq_t_path("fail2")));
    o.allow_nonfinite = 1;
    CHECK_OK(convert(nan_dir, tq_t_path("ok_nan"), &o, NULL, &e), e);
    char huge_dir[1024];
    snprintf(huge_dir, sizeof huge_dir, "%s", tq_t_path("small_huge"));
    write_small(huge_dir, -1, 5);
    tq_convert_options_init(&o);
    CHECK_ERR(convert(huge_dir, tq_t_path("fail3"), &o, NULL, &e), e, TQ_E_VALUE,
              "tensor \"head.weight\": F64 value 1e+39 at flat index 5 is outside the float32 range");
    CHECK(!exists(tq_t_path("fail3")));
    /* A failure late in a run into an existing output leaves the earlier output as it was:
     * here the side file config.json cannot be written (a directory stands at its name). */
    {
        char prev_dir[1024], pm[1100], pmeta[1100], pcfg[1100], bak[1200];
        snprintf(prev_dir, sizeof prev_dir, "%s", tq_t_path("prev_out"));
        tq_convert_options_init(&o);
        CHECK_OK(convert(in, prev_dir, &o, NULL, &e), e);
        snprintf(pm, sizeof pm, "%s/model.safetensors", prev_dir);
        snprintf(pmeta, sizeof pmeta, "%s/conversion_metadata.json", prev_dir);
        snprintf(pcfg, sizeof pcfg, "%s/config.json", prev_dir);
        size_t n_before = 0, m_before = 0;
        void *before = slurp(pm, &n_before), *meta_before = slurp(pmeta, &m_before);
        CHECK(before && meta_before && unlink(pcfg) == 0 && mkdir(pcfg, 0755) == 0);
        o.q.bits = 4;
        CHECK_ERR(convert(in, prev_dir, &o, NULL, &e), e, TQ_E_IO, "config.json: is a directory");
        size_t n_after = 0, m_after = 0;
        void *after = slurp(pm, &n_after), *meta_after = slurp(pmeta, &m_after);
        CHECK(after && n_after == n_before && !memcmp(before, after, n_before));
        CHECK(meta_after && m_after == m_before && !memcmp(meta_before, meta_after, m_before));
        snprintf(bak, sizeof bak, "%s.trueq-prev", pm);
        CHECK(!exists(bak));
        rmdir(pcfg);
        CHECK_OK(convert(in, prev_dir, &o, NULL, &e), e);   /* then a good run replaces it */
        void *replaced = slurp(pm, &n_after);
        CHECK(replaced && n_after < n_before && !exists(bak));
        free(before); free(after); free(meta_before); free(meta_after); free(replaced);
    }
    tq_convert_options_init(&o);
    CHECK_ERR(convert(in, in, &o, NULL, &e), e, TQ_E_ARG, "input model's directory");
    char orig_path[1100];
    snprintf(orig_path, sizeof orig_path, "%s/model.safetensors", in);
    tq_model *again = tq_model_open(orig_path, &e);
    CHECK(again && tq_model_count(again) == NSMALL);      /* input untouched */
    tq_model_close(again);

    TQ_CASE("re-converting a quantized file is refused");
    char qp[1100];
    snprintf(qp, sizeof qp, "%s/model.safetensors", tq_t_path("det1"));
    CHECK_ERR(convert(qp, tq_t_path("fail3"), &o, NULL, &e), e, TQ_E_UNSUPPORTED, "already quantized");
}

/* Build a one-tensor F32 file with the given values. */
static void write_one(const char *path, const char *name, const float *v, int64_t rows, int64_t cols) {
    tq_wentry we = {0};
    we.name = name; we.dtype = TQ_DTYPE_F32; we.ndim = 2; we.shape[0] = rows; we.shape[1] = cols;
    tq_error e;
    tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, path, &we, 1, NULL, NULL, 0, &e);
    tq_writer_put(w, 0, v, (uint64_t)(rows * cols) * 4, &e);
    tq_writer_finish(w, &e);
    tq_writer_free(w);
}

static const tq_ledger_row *ledger_one(const char *path, tq_model **m, tq_ledger **l) {
    tq_error e;
    *m = tq_model_open(path, &e);
    *l = *m ? tq_ledger_create(*m, &e) : NULL;
    return *l ? tq_ledger_row_at(*l, 0) : NULL;
}

static void fake_quant(void) {
    const int64_t R = 48, C = 640;
    float *w = malloc(sizeof(float) * R * C);
    uint64_t seed = 5;
    tq_model *m; tq_ledger *l; const tq_ledger_row *r;

    TQ_CASE("fake quant: int8 codes stored as float32 (the seeds' 'codes' bug)");
    for (int64_t i = 0; i < R * C; i++) w[i] = nearbyintf(fmaxf(-127.f, fminf(127.f, 40 * tq_t_randn(&seed))));
    write_one(tq_t_path("fq1.safetensors"), "w.weight", w, R, C);
    r = ledger_one(tq_t_path("fq1.safetensors"), &m, &l);
    CHECK(r && r->fake && strstr(r->note, "integer values") && strstr(r->note, "codes stored as F32"));
    CHECK(l && tq_ledger_totals_get(l)->n_fake == 1);
    tq_ledger_free(l); tq_model_close(m);

    TQ_CASE("fake quant: int8-dequantized values stored as float32 (the seeds' converter bug)");
    float s = 0.01f;
    for (int64_t i = 0; i < R * C; i++) w[i] = nearbyintf(fmaxf(-127.f, fminf(127.f, 40 * tq_t_randn(&seed)))) * s;
    write_one(tq_t_path("fq2.safetensors"), "w.weight", w, R, C);
    r = ledger_one(tq_t_path("fq2.safetensors"), &m, &l);
    CHECK(r && r->fake && strstr(r->note, "distinct values: quantized values stored as floats"));
    tq_ledger_free(l); tq_model_close(m);

    TQ_CASE("fake quant: per-channel dequantized values (each row its own scale)");
    for (int64_t i = 0; i < R * C; i++) w[i] = nearbyintf(fmaxf(-127.f, fminf(127.f, 40 * tq_t_randn(&seed)))) * (0.001f * (float)(i / C + 1));
    write_one(tq_t_path("fq3.safetensors"), "w.weight", w, R, C);
    r = ledger_one(tq_t_path("fq3.safetensors"), &m, &l);
    CHECK(r && r->fake && strstr(r->note, "every row holds at most"));
    tq_ledger_free(l); tq_model_close(m);

    TQ_CASE("fake quant: a small [16, 16] tensor of int8 codes stored as floats");
    {
        float small[256];
        for (int i = 0; i < 256; i++) small[i] = nearbyintf(fmaxf(-127.f, fminf(127.f, 40 * tq_t_randn(&seed))));
        write_one(tq_t_path("fq6.safetensors"), "w.weight", small, 16, 16);
        r = ledger_one(tq_t_path("fq6.safetensors"), &m, &l);
        CHECK(r && r->fake);
        tq_ledger_free(l); tq_model_close(m);
        for (int i = 0; i < 256; i++) small[i] = 0.02f * tq_t_randn(&seed);
        write_one(tq_t_path("fq7.safetensors"), "w.weight", small, 16, 16);
        r = ledger_one(tq_t_path("fq7.safetensors"), &m, &l);
        CHECK(r && !r->fake);
        tq_ledger_free(l); tq_model_close(m);
    }

    TQ_CASE("fake quant: per-channel values on a fine grid (over 256 levels a row): the grid test finds them");
    for (int64_t i = 0; i < R * C; i++) w[i] = (float)((int)(tq_t_rand(&seed) % 601) - 300) * (0.0005f * (float)(i / C + 1));
    write_one(tq_t_path("fq8.safetensors"), "w.weight", w, R, C);
    r = ledger_one(tq_t_path("fq8.safetensors"), &m, &l);
    CHECK(r && r->fake && strstr(r->note, "integer multiples of one scale"));
    tq_ledger_free(l); tq_model_close(m);
    w[7] += 0.0001f;   /* one value of the first row off its grid (by a fifth of a step): not flagged */
    write_one(tq_t_path("fq9.safetensors"), "w.weight", w, R, C);
    r = ledger_one(tq_t_path("fq9.safetensors"), &m, &l);
    CHECK(r && !r->fake);
    tq_ledger_free(l); tq_model_close(m);

    TQ_CASE("distinct values are counted as doubles: -0 = 0, a signalling and a quiet NaN of one payload are one");
    {
        float v[1024];
        for (int i = 0; i < 1024; i++) v[i] = (float)(i % 200) + 0.5f;   /* 200 values */
        const uint32_t bits[4] = {0x00000000u, 0x80000000u, 0x7f800001u, 0x7fc00001u};
        for (int i = 0; i < 4; i++) memcpy(&v[100 + 7 * i], &bits[i], 4);
        int64_t d = 0;
        char note[256];
        tq_detect_fake_quant(TQ_DTYPE_F32, v, 2, 512, &d, note, sizeof note);
        CHECK_EQ_INT(d, 202);   /* the 200, zero, NaN */
    }

    TQ_CASE("genuine float weights and constant tensors are not flagged");
    for (int64_t i = 0; i < R * C; i++) w[i] = 0.02f * tq_t_randn(&seed);
    write_one(tq_t_path("fq4.safetensors"), "w.weight", w, R, C);
    r = ledger_one(tq_t_path("fq4.safetensors"), &m, &l);
    CHECK(r && !r->fake && r->distinct == 257);
    tq_ledger_free(l); tq_model_close(m);
    for (int64_t i = 0; i < R * C; i++) w[i] = 0.0f;
    write_one(tq_t_path("fq5.safetensors"), "w.weight", w, R, C);
    r = ledger_one(tq_t_path("fq5.safetensors"), &m, &l);
    CHECK(r && !r->fake);
    tq_ledger_free(l); tq_model_close(m);

    TQ_CASE("simulated quantization is reported as such, not as a fake-quant bug");
    tq_error e;
    tq_convert_options o;
    tq_convert_options_init(&o);
    o.simulate = 1;
    CHECK_OK(convert(tq_t_path("fq4.safetensors"), tq_t_path("sim"), &o, NULL, &e), e);
    char sp[1100];
    snprintf(sp, sizeof sp, "%s/model.safetensors", tq_t_path("sim"));
    r = ledger_one(sp, &m, &l);
    CHECK(r && !r->fake && r->t->simulated && !r->t->quantized && r->t->dtype == TQ_DTYPE_F32);
    CHECK(r && strstr(r->note, "simulated quantization") != NULL);
    /* per tensor: distinct values (counted from the data), MSE and SNR (measured while converting) */
    CHECK(r && r->distinct > 256 && r->distinct <= 48 * 255 && strstr(r->note, "distinct values") && strstr(r->note, "SNR"));
    CHECK(l && tq_ledger_totals_get(l)->n_simulated == 1 && tq_ledger_totals_get(l)->n_fake == 0);
    /* its values are the dequantized codes: within half a step of the original */
    if (r) {
        tq_model *om; tq_ledger *ol;
        const tq_ledger_row *orow = ledger_one(tq_t_path("fq4.safetensors"), &om, &ol);
        float *v = malloc(sizeof(float) * R * C), *ov = malloc(sizeof(float) * R * C);
        tq_model_tensor_f32(m, r->t, v, &e);
        tq_model_tensor_f32(om, orow->t, ov, &e);
        bool ok = true, changed = false;
        for (int64_t row = 0; row < R; row++) {
            float amax = 0;
            for (int64_t c = 0; c < C; c++) amax = fmaxf(amax, fabsf(ov[row * C + c]));
            for (int64_t c = 0; c < C; c++) {
                if (fabsf(v[row * C + c] - ov[row * C + c]) > amax / 127.0f * 0.5f * 1.0001f) ok = false;
                if (v[row * C + c] != ov[row * C + c]) changed = true;
            }
        }
        CHECK(ok && changed);
        free(v); free(ov);
        tq_ledger_free(ol); tq_model_close(om);
    }
    tq_ledger_free(l); tq_model_close(m);
    free(w);
}

static void real_model(void) {
    TQ_CASE("real trained stories260k converts and inspects");
    const char *md = tq_t_models_dir();
    char in[1100];
    if (md) snprintf(in, sizeof in, "%s/stories260k/stories260K.safetensors", md);
    if (!md || !exists(in)) TQ_SKIP("../shared/models/stories260k not found (set TRUEQ_MODELS)");
    tq_error e;
    tq_convert_options o;
    tq_convert_options_init(&o);
    uint64_t planned = 0;
    CHECK_OK(convert(in, tq_t_path("stories8"), &o, &planned, &e), e);
    char out[1100];
    snprintf(out, sizeof out, "%s/model.safetensors", tq_t_path("stories8"));
    CHECK_EQ_INT(fsize(out), planned);
    tq_model *m; tq_ledger *l;
    ledger_one(out, &m, &l);
    CHECK(l != NULL);
    if (!l) return;
    const tq_ledger_totals *T = tq_ledger_totals_get(l);
    CHECK_EQ_INT(T->n_quantized, 35);                 /* 5 layers x (wq wk wv wo w1 w2 w3) */
    CHECK_EQ_INT(T->file_bytes, fsize(out));
    CHECK_EQ_INT(T->header_bytes + T->padding_bytes + T->payload_bytes + T->aux_bytes, fsize(out));
    /* wq, wo [64, 64]; wk, wv [32, 64] (4 KV heads x 8); w1, w3 [172, 64]; w2 [64, 172] */
    CHECK_EQ_INT(T->by_dtype[TQ_DTYPE_I8], 5 * (2 * 64 * 64 + 2 * 32 * 64 + 3 * 172 * 64));
    CHECK(tq_model_find(m, "tok_embeddings.weight")->dtype == TQ_DTYPE_F32);
    tq_ledger_free(l);
    tq_model_close(m);
}

static void pending_cleanup(void) {
    TQ_CASE("tq_cleanup_pending (for signal handlers) removes a run's temporary file");
    tq_outfile o;
    tq_error e;
    char final[1100];
    snprintf(final, sizeof final, "%s", tq_t_path("pending.bin"));
    CHECK_OK(tq_out_open(&o, final, &e), e);
    CHECK(o.tmp_path == NULL || exists(o.tmp_path));   /* NULL: unnamed (O_TMPFILE), nothing to remove */
    tq_cleanup_pending();
    CHECK((o.tmp_path == NULL || !exists(o.tmp_path)) && !exists(final));
    tq_out_abort(&o);
}

static void edge_values(void) {
    tq_error e;
    TQ_CASE("policy: a 3-D *.weight is kept by default, quantized as rows with --include");
    {
        tq_wentry we = {0};
        we.name = "conv.weight"; we.dtype = TQ_DTYPE_F32; we.ndim = 3; we.shape[0] = 8; we.shape[1] = 4; we.shape[2] = 16;
        char dir[1024], path[1100];
        snprintf(dir, sizeof dir, "%s", tq_t_path("three_d"));
        mkdir(dir, 0755);
        snprintf(path, sizeof path, "%s/model.safetensors", dir);
        tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, path, &we, 1, NULL, NULL, 0, &e);
        float v[512];
        uint64_t seed = 1;
        for (int i = 0; i < 512; i++) v[i] = tq_t_randn(&seed);
        tq_writer_put(w, 0, v, sizeof v, &e);
        tq_writer_finish(w, &e);
        tq_writer_free(w);
        tq_model *m = tq_model_open(path, &e);
        tq_convert_options o;
        tq_convert_options_init(&o);
        tq_plan *p = tq_plan_create(m, &o, &e);
        CHECK(p && !tq_plan_item_at(p, 0)->quantize && strstr(tq_plan_item_at(p, 0)->rule, "3-D"));
        tq_plan_free(p);
        const char *inc[] = {"conv.*"};
        o.include = inc; o.n_include = 1;
        p = tq_plan_create(m, &o, &e);
        CHECK(p && tq_plan_item_at(p, 0)->quantize && tq_plan_item_at(p, 0)->out_bytes == 8 * 64);
        uint64_t bd[TQ_DTYPE_COUNT];
        if (p) { tq_plan_bytes_by_dtype(p, bd); CHECK(bd[TQ_DTYPE_I8] == 512 && bd[TQ_DTYPE_F32] == 8 * 4); }
        tq_plan_free(p);
        tq_model_close(m);
    }
    TQ_CASE("affine: a block whose range overflows float32 still decodes finite");
    {
        float w[8] = {3e38f, -3e38f, 1e38f, 0, -1, 2, 3e38f, -2e38f};
        tq_qparams q = {TQ_CODEC_LINEAR_AFFINE, 8, TQ_GRAN_CHANNEL, 0, 0, 0, 0, 0};
        uint8_t codes[8], zero[2];
        float sc[2], out[8];
        void *aux[TQ_MAX_AUX] = {sc, zero, 0};
        CHECK_OK(tq_quantize(&q, "big", w, 2, 4, codes, aux, 0, &e), e);
        CHECK_OK(tq_dequantize(&q, 2, 4, codes, (const void *const *)aux, out, &e), e);
        bool finite = true;
        for (int i = 0; i < 8; i++) finite &= isfinite(out[i]) != 0;
        CHECK(finite && isfinite(sc[0]) && isfinite(sc[1]));
        for (int i = 0; i < 8; i++) CHECK(fabsf(out[i] - w[i]) <= sc[i / 4] * 0.5f * 1.001f);
    }
    TQ_CASE("symmetric: a block too small for a normal scale is stored as zeros, not as garbage");
    {
        float w[4] = {-2.6e-43f, 1e-44f, 0, 5e-44f};
        tq_qparams q = {TQ_CODEC_LINEAR_SYM, 8, TQ_GRAN_TENSOR, 0, 0, 0, 0, 0};
        int8_t codes[4];
        float sc[1], out[4];
        void *aux[TQ_MAX_AUX] = {sc, 0, 0};
        CHECK_OK(tq_quantize(&q, "tiny", w, 1, 4, codes, aux, 0, &e), e);
        CHECK(sc[0] == 0.0f);
        CHECK_OK(tq_dequantize(&q, 1, 4, codes, (const void *const *)aux, out, &e), e);
        for (int i = 0; i < 4; i++) CHECK(out[i] == 0.0f && fabsf(out[i] - w[i]) < 1e-42f);
    }
}

void tq_tests(void) {
    pending_cleanup();
    edge_values();
    round_trips();
    determinism_and_policy();
    fake_quant();
    real_model();
}
