/*
 * sensitivity.c — output change with one tensor alone quantized (sensitivity.h).
 */
#include "quant/sensitivity.h"
#include "quant/calib_text.h"
#include "quant/gptq.h"
#include "nn/encoder_hook.h"
#include "trueq_nn.h"
#include "core/blas.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct tq_sens {
    const tq_model *m;
    tq_enc         *enc;
    tq_calib_options co;
    tq_calib_seqs   ss;
    int             n_eval;
    float          *ref, *got;     /* pooled [n_eval, dim]            */
    double        **H;             /* [layers * slots]: lazily, float model */
    int             layers;
    float          *save;          /* one tensor's weights             */
    int64_t         save_cap;
};

void tq_sens_free(tq_sens *s) {
    if (!s) return;
    for (int i = 0; s->H && i < s->layers * TQ_ENC_SLOTS; i++) free(s->H[i]);
    free(s->H);
    free(s->ref);
    free(s->got);
    free(s->save);
    tq_calib_seqs_free(&s->ss);
    tq_enc_free(s->enc);
    free(s);
}

tq_sens *tq_sens_create(const tq_model *m, const tq_calib_options *co, int n_eval, tq_error *err) {
    if (!tq_enc_detect(m)) {
        tq_err(err, TQ_E_UNSUPPORTED, "%s: the forward sensitivity runs the encoder forward pass; this is not a "
               "BERT-family encoder (decoders are not wired yet)", tq_model_path(m));
        return NULL;
    }
    tq_sens *s = calloc(1, sizeof *s);
    if (!s) { tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    s->m = m;
    s->co = *co;
    if (!(s->enc = tq_enc_open(m, NULL, err))) goto fail;
    const tq_enc_config *c = tq_enc_config_of(s->enc);
    if (tq_calib_seqs_make(m, co->calib_file, co->max_tokens, c->max_pos, &s->ss, err)) goto fail;
    s->n_eval = n_eval > 0 && n_eval < s->ss.n ? n_eval : (s->ss.n < 16 ? s->ss.n : 16);
    s->layers = c->n_layers;
    s->ref = malloc(sizeof(float) * (size_t)s->n_eval * c->dim);
    s->got = malloc(sizeof(float) * (size_t)s->n_eval * c->dim);
    s->H = calloc((size_t)s->layers * TQ_ENC_SLOTS, sizeof *s->H);
    if (!s->ref || !s->got || !s->H) { tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
    if (tq_enc_run(s->enc, s->ss.seq, s->n_eval, 8, s->ref, NULL, NULL, NULL, err)) goto fail;
    return s;
fail:
    tq_sens_free(s);
    return NULL;
}

/* H of every (layer, slot) of the float model, in one pass */
typedef struct hall { tq_sens *s; double *buf; int K; } hall;

static void observe_all(void *ctx, int layer, tq_enc_slot slot, const float *x, int T, int K, const int32_t *mask) {
    hall *h = ctx;
    double *H = h->s->H[layer * TQ_ENC_SLOTS + slot];
    int n = 0;
    for (int t = 0; t < T; t++) {
        if (mask && !mask[t]) continue;
        for (int i = 0; i < K; i++) h->buf[(size_t)n * K + i] = x[(size_t)t * K + i];
        if (++n == 256 || t == T - 1) {
            tq_blas()->dsyrk(CblasRowMajor, CblasUpper, CblasTrans, K, n, 1.0, h->buf, K, 1.0, H, K);
            n = 0;
        }
    }
    if (n) tq_blas()->dsyrk(CblasRowMajor, CblasUpper, CblasTrans, K, n, 1.0, h->buf, K, 1.0, H, K);
}

static tq_status hessians(tq_sens *s, tq_error *err) {
    if (s->H[0]) return TQ_OK;
    const tq_enc_config *c = tq_enc_config_of(s->enc);
    for (int l = 0; l < s->layers; l++)
        for (int k = 0; k < TQ_ENC_SLOTS; k++) {
            int K = k == TQ_ENC_IN_FFN2 ? c->hidden_dim : c->dim;
            if (!(s->H[l * TQ_ENC_SLOTS + k] = calloc((size_t)K * K, sizeof(double))))
                return tq_err(err, TQ_E_NOMEM, "out of memory for the calibration Hessians");
        }
    int K = c->hidden_dim > c->dim ? c->hidden_dim : c->dim;
    hall h = {s, malloc(sizeof(double) * 256 * (size_t)K), K};
    if (!h.buf) return tq_err(err, TQ_E_NOMEM, "out of memory");
    tq_enc_set_observer(s->enc, observe_all, &h);
    tq_status st = tq_enc_run(s->enc, s->ss.seq, s->ss.n, 8, NULL, NULL, NULL, NULL, err);
    tq_enc_set_observer(s->enc, NULL, NULL);
    free(h.buf);
    return st;
}

static double cosine(const float *a, const float *b, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) { ab += (double)a[i] * b[i]; aa += (double)a[i] * a[i]; bb += (double)b[i] * b[i]; }
    return aa == 0 && bb == 0 ? 1.0 : aa == 0 || bb == 0 ? 0.0 : ab / (sqrt(aa) * sqrt(bb));
}

tq_status tq_sens_measure(void *ctx, const tq_tensor *t, const tq_qparams *q, double *e, tq_error *err) {
    tq_sens *s = ctx;
    int64_t rows = 0, cols = 0;
    float *w = NULL;
    int layer = -1;
    tq_enc_mat mat = TQ_ENC_W_Q;
    for (int l = 0; l < s->layers && !w; l++)
        for (int k = 0; k < TQ_ENC_MATS && !w; k++) {
            char nm[256];
            if (tq_enc_weight_name(s->enc, s->m, l, (tq_enc_mat)k, nm, sizeof nm) >= 0 && !strcmp(nm, t->name)) {
                w = tq_enc_weight(s->enc, l, (tq_enc_mat)k, &rows, &cols, NULL);
                layer = l;
                mat = (tq_enc_mat)k;
            }
        }
    if (!w) w = tq_enc_extra(s->enc, s->m, t->name, &rows, &cols);
    if (!w) return tq_err(err, TQ_E_UNSUPPORTED, "tensor \"%s\": the encoder does not run it, so its output change "
                          "cannot be measured (use the weight-error proxy)", t->name);
    const int64_t n = rows * cols;
    if (n > s->save_cap) {
        float *nb = realloc(s->save, sizeof(float) * (size_t)n);
        if (!nb) return tq_err(err, TQ_E_NOMEM, "out of memory");
        s->save = nb;
        s->save_cap = n;
    }
    memcpy(s->save, w, sizeof(float) * (size_t)n);
    tq_dtype cd;
    int64_t cs[2];
    tq_aux_desc ad[TQ_MAX_AUX];
    int na = tq_qparams_layout(q, rows, cols, &cd, cs, ad);
    if (na < 0) return tq_err(err, TQ_E_ARG, "tensor \"%s\": the setting does not fit [%lld, %lld]", t->name, (long long)rows, (long long)cols);
    void *codes = malloc(tq_nbytes(cd, 2, cs) + 1), *aux[TQ_MAX_AUX] = {0};
    tq_status st = codes ? TQ_OK : tq_err(err, TQ_E_NOMEM, "out of memory");
    for (int a = 0; a < na && !st; a++)
        if (!(aux[a] = malloc(tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape) + 1))) st = tq_err(err, TQ_E_NOMEM, "out of memory");
    const int gptq = layer >= 0 && (s->co.method == TQ_CALIB_GPTQ || s->co.method == TQ_CALIB_AWQ_GPTQ);
    if (!st && gptq) st = hessians(s, err);
    if (!st) {
        if (gptq) {
            tq_gptq_options go = {s->co.damp, s->co.act_order, 0};
            st = tq_gptq_quantize(q, t->name, w, rows, cols, s->H[layer * TQ_ENC_SLOTS + tq_enc_mat_slot(mat)], &go,
                                  codes, aux, err);
        } else {
            st = tq_quantize(q, t->name, w, rows, cols, codes, aux, 0, err);
        }
    }
    if (!st) st = tq_dequantize(q, rows, cols, codes, (const void *const *)aux, w, err);
    if (!st) st = tq_enc_run(s->enc, s->ss.seq, s->n_eval, 8, s->got, NULL, NULL, NULL, err);
    memcpy(w, s->save, sizeof(float) * (size_t)n);
    free(codes);
    for (int a = 0; a < na; a++) free(aux[a]);
    if (st) return st;
    const int D = tq_enc_config_of(s->enc)->dim;
    double sum = 0;
    for (int i = 0; i < s->n_eval; i++) sum += cosine(s->ref + (size_t)i * D, s->got + (size_t)i * D, D);
    double d = 1.0 - sum / s->n_eval;
    *e = d > 0 ? sqrt(d) : 0.0;   /* a norm, not its square: see sensitivity.h */
    return TQ_OK;
}
