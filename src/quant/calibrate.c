/*
 * calibrate.c — sequential calibrated quantization of an encoder (quant.h).
 *
 * For each step (layer l; slot q/k/v, attention output, FFN in, FFN out) that
 * holds a matrix the plan quantizes: the calibration sequences run through
 * the encoder with an observer that accumulates H = X^T X (double, real
 * tokens only, OpenBLAS dsyrk single-threaded in a fixed order) of the
 * step's input; AWQ (when asked) rescales where a fold exists (awq.h); then
 * each matrix is quantized (GPTQ, or RTN for plain AWQ) and its decoded
 * values replace the encoder's weights before the next step runs.
 */
#include "quant/quant.h"
#include "quant/awq.h"
#include "quant/calib_text.h"
#include "quant/gptq.h"
#include "core/blas.h"
#include "nn/encoder_hook.h"
#include "trueq_nn.h"
#include <stdlib.h>
#include <string.h>

typedef struct cal_entry {
    char       *name;
    tq_qparams  q;
    int64_t     rows, cols;
    void       *codes;
    uint64_t    ncodes;
    void       *aux[TQ_MAX_AUX];
    uint64_t    naux[TQ_MAX_AUX];
    int         na;
} cal_entry;

/* a kept tensor the calibration changed (a corrected bias, a norm gain an
 * AWQ scale was folded into): its float values, and them in the tensor's
 * dtype once the executor asks */
typedef struct kept_entry {
    char    *name;
    float   *v;
    int64_t  n;
    void    *out;
} kept_entry;

struct tq_calibrated {
    cal_entry  *e;
    int         n, cap;
    kept_entry *k;
    int         nk, capk;
    tq_sb       notes;
};

void tq_calibrated_free(tq_calibrated *c) {
    if (!c) return;
    for (int i = 0; i < c->n; i++) {
        free(c->e[i].name);
        free(c->e[i].codes);
        for (int a = 0; a < c->e[i].na; a++) free(c->e[i].aux[a]);
    }
    free(c->e);
    for (int i = 0; i < c->nk; i++) { free(c->k[i].name); free(c->k[i].v); free(c->k[i].out); }
    free(c->k);
    tq_sb_free(&c->notes);
    free(c);
}
int         tq_calibrated_count(const tq_calibrated *c) { return c ? c->n : 0; }
const char *tq_calibrated_notes(const tq_calibrated *c) { return c && c->notes.s ? c->notes.s : ""; }

tq_status tq_calibrated_fill(void *ctx, const char *name, const tq_qparams *q, int64_t rows, int64_t cols, void *codes,
                             void *const aux[TQ_MAX_AUX], int *done, tq_error *err) {
    const tq_calibrated *c = ctx;
    *done = 0;
    for (int i = 0; c && i < c->n; i++) {
        const cal_entry *e = &c->e[i];
        if (strcmp(e->name, name)) continue;
        if (e->q.codec != q->codec || e->q.bits != q->bits || e->q.gran != q->gran || e->q.group != q->group ||
            e->rows != rows || e->cols != cols)
            return tq_err(err, TQ_E_INTERNAL, "tensor \"%s\": calibrated for other settings or another shape", name);
        memcpy(codes, e->codes, (size_t)e->ncodes);
        for (int a = 0; a < e->na; a++) memcpy(aux[a], e->aux[a], (size_t)e->naux[a]);
        *done = 1;
        return TQ_OK;
    }
    return TQ_OK;
}

tq_status tq_calibrated_keep(void *ctx, const char *name, tq_dtype dtype, uint64_t nbytes, const void **data, tq_error *err) {
    tq_calibrated *c = ctx;
    *data = NULL;
    for (int i = 0; c && i < c->nk; i++) {
        kept_entry *k = &c->k[i];
        if (strcmp(k->name, name)) continue;
        const int64_t shape[1] = {k->n};
        if (tq_nbytes(dtype, 1, shape) != nbytes)
            return tq_err(err, TQ_E_INTERNAL, "tensor \"%s\": calibrated as %lld values, not %llu bytes of %s", name,
                          (long long)k->n, (unsigned long long)nbytes, tq_dtype_name(dtype));
        if (!k->out) {
            if (!(k->out = malloc(nbytes ? nbytes : 1))) return tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory", name);
            tq_status st = tq_convert_from_f32(dtype, k->v, k->n, k->out, err);
            if (st) { free(k->out); k->out = NULL; return tq_err_prefix(err, st, "tensor \"%s\"", name); }
        }
        *data = k->out;
        return TQ_OK;
    }
    return TQ_OK;
}

/* ---- the observer: H of one (layer, slot) --------------------------------- */

#define CHUNK 256

typedef struct hacc {
    int     layer;
    int     slot;
    int     K;
    double *H;        /* [K, K], upper triangle                   */
    double *buf;      /* [CHUNK, K]                              */
    int64_t rows;     /* real rows seen                           */
    double *sum;      /* [K]: sum of the real rows (bias correction) */
    float  *keep;     /* optional copy of the real rows (AWQ)     */
    int64_t keep_cap; /* rows it can hold                         */
} hacc;

static void flush(hacc *h, int n) {
    if (n) tq_blas()->dsyrk(CblasRowMajor, CblasUpper, CblasTrans, h->K, n, 1.0, h->buf, h->K, 1.0, h->H, h->K);
}

static void observe(void *ctx, int layer, tq_enc_slot slot, const float *x, int T, int K, const int32_t *mask) {
    hacc *h = ctx;
    if (layer != h->layer || (int)slot != h->slot || K != h->K) return;
    int n = 0;
    for (int t = 0; t < T; t++) {
        if (mask && !mask[t]) continue;
        const float *r = x + (size_t)t * K;
        for (int i = 0; i < K; i++) h->buf[(size_t)n * K + i] = r[i];
        for (int i = 0; i < K; i++) h->sum[i] += r[i];
        if (h->keep && h->rows < h->keep_cap) memcpy(h->keep + (size_t)h->rows * K, r, sizeof(float) * (size_t)K);
        h->rows++;
        if (++n == CHUNK) { flush(h, n); n = 0; }
    }
    flush(h, n);
}

/* ---- the driver -------------------------------------------------------------- */

static const tq_plan_item *find_item(const tq_plan *p, const char *name) {
    for (int64_t i = 0; i < tq_plan_count(p); i++) {
        const tq_plan_item *it = tq_plan_item_at(p, i);
        if (it->quantize && !strcmp(it->src->name, name)) return it;
    }
    return NULL;
}

static tq_status add_entry(tq_calibrated *c, const char *name, const tq_qparams *q, int64_t rows, int64_t cols,
                           cal_entry **out, tq_error *err) {
    if (!tq_grow((void **)&c->e, &c->cap, c->n, sizeof *c->e, 32)) return tq_err(err, TQ_E_NOMEM, "out of memory");
    cal_entry *e = &c->e[c->n];
    memset(e, 0, sizeof *e);
    tq_dtype cd;
    int64_t cs[2];
    tq_aux_desc ad[TQ_MAX_AUX];
    e->na = tq_qparams_layout(q, rows, cols, &cd, cs, ad);
    if (e->na < 0) return tq_err(err, TQ_E_ARG, "tensor \"%s\": its settings do not fit [%lld, %lld]", name, (long long)rows, (long long)cols);
    e->name = strdup(name);
    e->q = *q;
    e->rows = rows;
    e->cols = cols;
    e->ncodes = tq_nbytes(cd, 2, cs);
    e->codes = malloc(e->ncodes ? e->ncodes : 1);
    bool oom = !e->name || !e->codes;
    for (int a = 0; a < e->na; a++) {
        e->naux[a] = tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape);
        e->aux[a] = malloc(e->naux[a] ? e->naux[a] : 1);
        oom |= !e->aux[a];
    }
    c->n++;   /* owned from here: freed with c */
    if (oom) return tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory", name);
    *out = e;
    return TQ_OK;
}

/* ---- for other calibrators (quant.h: calibrate_dec.c) ---------------------- */

tq_calibrated *tq_calibrated_new(void) { return calloc(1, sizeof(tq_calibrated)); }

tq_status tq_calibrated_add(tq_calibrated *c, const char *name, const tq_qparams *q, int64_t rows, int64_t cols,
                            void **codes, void *aux[TQ_MAX_AUX], tq_error *err) {
    cal_entry *e = NULL;
    tq_status st = add_entry(c, name, q, rows, cols, &e, err);
    if (st) return st;
    *codes = e->codes;
    for (int a = 0; a < TQ_MAX_AUX; a++) aux[a] = a < e->na ? e->aux[a] : NULL;
    return TQ_OK;
}

tq_sb *tq_calibrated_notes_sb(tq_calibrated *c) { return &c->notes; }

tq_status tq_calibrated_put_kept(tq_calibrated *c, const char *name, const float *v, int64_t n, tq_error *err) {
    kept_entry *e = NULL;
    for (int i = 0; i < c->nk && !e; i++) if (!strcmp(c->k[i].name, name)) e = &c->k[i];
    if (e && e->n != n) return tq_err(err, TQ_E_INTERNAL, "tensor \"%s\": %lld values, not %lld", name, (long long)n, (long long)e->n);
    if (!e) {
        if (!tq_grow((void **)&c->k, &c->capk, c->nk, sizeof *c->k, 16)) return tq_err(err, TQ_E_NOMEM, "out of memory");
        e = &c->k[c->nk];
        memset(e, 0, sizeof *e);
        e->name = strdup(name);
        e->v = malloc(sizeof(float) * (size_t)(n ? n : 1));
        e->n = n;
        if (!e->name || !e->v) { free(e->name); free(e->v); return tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory", name); }
        c->nk++;
    }
    memcpy(e->v, v, sizeof(float) * (size_t)n);
    free(e->out);   /* values changed: the executor's copy is made again */
    e->out = NULL;
    return TQ_OK;
}

/* one step: the matrices mats[0..nm) of layer l reading slot `slot` */
static tq_status run_step(tq_calibrated *c, const tq_model *m, const tq_plan *p, tq_enc *enc, const tq_calib_seqs *ss, int l,
                          tq_enc_slot slot, const tq_enc_mat *mats, int nm, const tq_calib_options *co, int fold,
                          unsigned char touched[TQ_ENC_MATS], int64_t *done, int64_t total, tq_error *err) {
    char names[3][256];
    const tq_plan_item *items[3];
    int any = 0;
    for (int i = 0; i < nm; i++) {
        items[i] = NULL;
        if (tq_enc_weight_name(enc, m, l, mats[i], names[i], sizeof names[i]) < 0) continue;
        items[i] = find_item(p, names[i]);
        any |= items[i] != NULL;
    }
    if (!any) return TQ_OK;
    const tq_enc_config *cf = tq_enc_config_of(enc);
    const int K = slot == TQ_ENC_IN_FFN2 ? cf->hidden_dim : cf->dim;
    const int want_x = fold && slot == TQ_ENC_IN_O;
    int64_t ntok = 0;
    for (int i = 0; i < ss->n; i++) ntok += ss->seq[i].n;
    hacc h = {.layer = l, .slot = (int)slot, .K = K, .H = calloc((size_t)K * K, sizeof(double)),
              .buf = malloc(sizeof(double) * CHUNK * (size_t)K), .sum = calloc((size_t)K, sizeof(double)),
              .keep = want_x ? malloc(sizeof(float) * (size_t)(ntok * K)) : NULL, .keep_cap = want_x ? ntok : 0};
    float *orig = NULL;
    tq_status st = TQ_OK;
    if (!h.H || !h.buf || !h.sum || (want_x && !h.keep)) { st = tq_err(err, TQ_E_NOMEM, "calibration: out of memory for [%d, %d]", K, K); goto out; }
    tq_enc_set_observer(enc, observe, &h);
    st = tq_enc_run(enc, ss->seq, ss->n, 8, NULL, NULL, NULL, NULL, err);
    tq_enc_set_observer(enc, NULL, NULL);
    if (st) { tq_err_prefix(err, st, "calibration forward pass"); goto out; }
    if (want_x) {   /* AWQ: v's output rows scaled by 1/s, o's input columns by s (exact fold) */
        char on[256];
        int64_t r, cc;
        const tq_plan_item *oi = items[0];
        float *vb, *wv = tq_enc_weight(enc, l, TQ_ENC_W_V, &r, &cc, &vb), *wo = tq_enc_weight(enc, l, TQ_ENC_W_O, &r, &cc, NULL);
        tq_enc_weight_name(enc, m, l, TQ_ENC_W_O, on, sizeof on);
        if (oi && wv && wo) {
            double alpha;
            st = tq_awq_fold_vo(&oi->q, on, wo, wv, vb, cf->dim, h.keep, h.rows, h.H, &alpha, err);
            if (st) goto out;
            tq_sb_printf(&c->notes, "awq: layer %d attention output: alpha %.2f (1/s folded into v's rows)\n", l, alpha);
            touched[TQ_ENC_W_V] = 1;
        }
    }
    for (int i = 0; i < nm && !st && !fold; i++) {
        if (!items[i]) continue;
        int64_t rows, cols;
        float *bias = NULL, *w = tq_enc_weight(enc, l, mats[i], &rows, &cols, &bias);
        const tq_tensor *t = items[i]->src;
        if (!w) {
            st = tq_err(err, TQ_E_UNSUPPORTED, "tensor \"%s\": the encoder holds it as stored (%s), not as float32; "
                        "calibration needs float32 weights (F16/BF16 inputs: not yet)", names[i], tq_dtype_name(t->dtype));
            break;
        }
        if (t->ndim != 2 || t->shape[0] != rows || t->shape[1] != cols) {
            st = tq_err(err, TQ_E_SHAPE, "tensor \"%s\": not the encoder's [%lld, %lld]", names[i], (long long)rows,
                        (long long)cols);
            break;
        }
        cal_entry *e = NULL;
        if ((st = add_entry(c, names[i], &items[i]->q, rows, cols, &e, err))) break;
        const int bc = co->bias_correct && bias && h.rows > 0;
        if (bc) {
            float *no = realloc(orig, sizeof(float) * (size_t)(rows * cols));
            if (!no) { st = tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory", names[i]); break; }
            orig = no;
            memcpy(orig, w, sizeof(float) * (size_t)(rows * cols));
        }
        if (co->method == TQ_CALIB_AWQ) {
            st = tq_quantize(&e->q, names[i], w, rows, cols, e->codes, e->aux, 0, err);
        } else {
            tq_gptq_options go = {co->damp, co->act_order, 0};
            st = tq_gptq_quantize(&e->q, names[i], w, rows, cols, h.H, &go, e->codes, e->aux, err);
        }
        if (!st) st = tq_dequantize(&e->q, rows, cols, e->codes, (const void *const *)e->aux, w, err);
        if (!st && bc) {   /* E[W x] - E[Wq x] = (W - Wq) E[x], into the bias */
            for (int64_t r = 0; r < rows; r++) {
                double d = 0.0;
                for (int64_t k = 0; k < cols; k++) d += ((double)orig[r * cols + k] - (double)w[r * cols + k]) * h.sum[k];
                bias[r] = (float)((double)bias[r] + d / (double)h.rows);
            }
            touched[mats[i]] = 1;
        }
        (*done)++;
        if (!st && co->progress) co->progress(co->ud, *done, total, names[i]);
    }
out:
    free(orig);
    free(h.H);
    free(h.buf);
    free(h.sum);
    free(h.keep);
    return st;
}

/* the bias of matrix k of layer l, as the encoder now holds it, kept for the writer */
static tq_status keep_bias(tq_calibrated *c, const tq_model *m, tq_enc *enc, int l, tq_enc_mat k, tq_error *err) {
    char nm[256];
    int64_t rows, cols;
    float *b = NULL;
    tq_enc_weight(enc, l, k, &rows, &cols, &b);
    size_t len;
    if (!b || tq_enc_weight_name(enc, m, l, k, nm, sizeof nm - 8) < 0 || (len = strlen(nm)) < 6 ||
        strcmp(nm + len - 6, "weight"))
        return TQ_OK;
    memcpy(nm + len - 6, "bias", 5);
    const tq_tensor *t = tq_model_find(m, nm);
    if (!t || t->numel != rows) {
        tq_sb_printf(&c->notes, "calibration: no bias tensor \"%s\" of %lld values in the model: its change is not written\n",
                     nm, (long long)rows);
        return TQ_OK;
    }
return tq_calibrated_put_kept(c, nm, b, rows, err);
}

tq_calibrated *tq_calibrate(const tq_model *m, const tq_plan *p, const tq_calib_options *co, tq_error *err) {
    if (!m || !p || !co) { tq_err(err, TQ_E_ARG, "calibration: NULL argument"); return NULL; }
    if (!tq_enc_detect(m)) {
        tq_err(err, TQ_E_UNSUPPORTED, "%s: calibrated quantization (gptq, awq) runs the encoder forward pass; this is "
               "not a BERT-family encoder (decoders: tq_calibrate_dec)", tq_model_path(m));
        return NULL;
    }
    tq_enc *enc = tq_enc_open(m, NULL, err);
    if (!enc) return NULL;
    tq_calibrated *c = calloc(1, sizeof *c);
    tq_calib_seqs ss = {0};
    tq_status st = c ? tq_calib_seqs_make(m, co->calib_file, co->max_tokens, tq_enc_config_of(enc)->max_pos, &ss, err) : tq_err(err, TQ_E_NOMEM, "out of memory");
    static const tq_enc_mat qkv[3] = {TQ_ENC_W_Q, TQ_ENC_W_K, TQ_ENC_W_V}, o1[1] = {TQ_ENC_W_O}, f1[1] = {TQ_ENC_W_FFN1},
                            f2[1] = {TQ_ENC_W_FFN2};
    const int L = tq_enc_config_of(enc)->n_layers;
    int64_t done = 0, total = 0;
    for (int l = 0; l < L; l++)
        for (int k = 0; k < TQ_ENC_MATS; k++) {
            char nm[256];
            if (tq_enc_weight_name(enc, m, l, (tq_enc_mat)k, nm, sizeof nm) >= 0 && find_item(p, nm)) total++;
        }
    if (!st) tq_sb_printf(&c->notes, "calibration: %d texts, %s, %lld matrices\n", ss.n,
                          co->calib_file ? co->calib_file : "built-in set", (long long)total);
    if (!st && (co->method == TQ_CALIB_AWQ || co->method == TQ_CALIB_AWQ_GPTQ))
        tq_sb_puts(&c->notes, "awq: q/k/v and the FFN in read a LayerNorm output that is also the residual (post-LN "
                              "BERT), the FFN out reads GELU's output: no exact fold, not scaled\n");
    const int awq = co->method == TQ_CALIB_AWQ || co->method == TQ_CALIB_AWQ_GPTQ;
    for (int l = 0; l < L && !st; l++) {
        unsigned char touched[TQ_ENC_MATS] = {0};
        /* AWQ: the o scale first (it rescales v's rows), on inputs before q/k/v are quantized */
        if (awq) st = run_step(c, m, p, enc, &ss, l, TQ_ENC_IN_O, o1, 1, co, 1, touched, &done, total, err);
        if (!st) st = run_step(c, m, p, enc, &ss, l, TQ_ENC_IN_QKV, qkv, 3, co, 0, touched, &done, total, err);
        if (!st) st = run_step(c, m, p, enc, &ss, l, TQ_ENC_IN_O, o1, 1, co, 0, touched, &done, total, err);
        if (!st) st = run_step(c, m, p, enc, &ss, l, TQ_ENC_IN_FFN1, f1, 1, co, 0, touched, &done, total, err);
        if (!st) st = run_step(c, m, p, enc, &ss, l, TQ_ENC_IN_FFN2, f2, 1, co, 0, touched, &done, total, err);
        for (int k = 0; k < TQ_ENC_MATS && !st; k++)
            if (touched[k]) st = keep_bias(c, m, enc, l, (tq_enc_mat)k, err);
    }
    tq_calib_seqs_free(&ss);
    tq_enc_free(enc);
    if (st) { tq_calibrated_free(c); return NULL; }
    return c;
}
