/*
 * calibrate_dec.c — sequential calibrated quantization of a decoder
 * (quant_dec.h).
 *
 * The calibration sequences' residual rows x [N, dim] enter block 0 as
 * their token embeddings. For each block: (AWQ) one run of the block hands
 * out the inputs of its four slots; the scales are chosen (awq_dec.h) and
 * folded; then, slot by slot (q/k/v, o, gate/up, down), a run of the block
 * gives that slot's inputs, H = X^T X in double (dsyrk over 256-row chunks,
 * in row order, OpenBLAS single-threaded), and each tensor of the slot is
 * quantized (GPTQ; RTN for plain AWQ, which needs no run) and its decoded
 * values replace the block's weights; a last run carries x to the next
 * block. Tensors the plan keeps but a fold changed (norm gains, a kept v or
 * up) are handed to the executor with their new values.
 */
#include "quant/quant_dec.h"
#include "quant/awq_dec.h"
#include "quant/calib_text.h"
#include "quant/gptq.h"
#include "core/blas.h"
#include "nn/llama_hook.h"
#include "trueq_llama.h"
#include "trueq_nn.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One model tensor of a slot: a matrix, or a fused tensor (its parts' rows, contiguous). */
typedef struct unit {
    char name[256];
    const tq_plan_item *it;   /* NULL: kept                  */
    float *w;                 /* [rows, cols] in the decoder */
    int64_t rows, cols;
    int changed;              /* a fold changed its values   */
} unit;

typedef struct dec_cal {
    tq_calibrated *c;
    const tq_model *m;
    const tq_plan *p;
    tq_llama *l;
    const tq_calib_options *co;
    int nseq;
    int *len;
    int64_t N;             /* rows: every sequence's tokens */
    float *x, *y;          /* [N, dim] the block's input, output */
    float *tap[TQ_DEC_SLOTS];
    int64_t done, total;
} dec_cal;

static const tq_plan_item *find_item(const tq_plan *p, const char *name) {
    for (int64_t i = 0; i < tq_plan_count(p); i++) {
        const tq_plan_item *it = tq_plan_item_at(p, i);
        if (it->quantize && !strcmp(it->src->name, name)) return it;
    }
    return NULL;
}

static const tq_dec_mat SLOT_MATS[TQ_DEC_SLOTS][3] = {
    {TQ_DEC_W_Q, TQ_DEC_W_K, TQ_DEC_W_V}, {TQ_DEC_W_O}, {TQ_DEC_W_GATE, TQ_DEC_W_UP}, {TQ_DEC_W_DOWN}};
static const int SLOT_NMATS[TQ_DEC_SLOTS] = {3, 1, 2, 1};

/* The tensors of layer li's slot (one when fused); *n of them. */
static tq_status slot_units(dec_cal *d, int li, tq_dec_slot s, unit *u, int *n, tq_error *err) {
    *n = 0;
    const float *next = NULL;   /* a fused tensor's next part starts here */
    for (int i = 0; i < SLOT_NMATS[s]; i++) {
        const tq_dec_mat k = SLOT_MATS[s][i];
        char name[256];
        int64_t row0, trows, rows, cols;
        float *w = tq_llama_hook_weight(d->l, li, k, &rows, &cols, NULL);
        if (tq_llama_hook_name(d->l, d->m, li, k, name, sizeof name, &row0, &trows))
            return tq_err(err, TQ_E_INTERNAL, "calibration: layer %d: a matrix has no tensor in %s", li, tq_model_path(d->m));
        if (!w)
            return tq_err(err, TQ_E_UNSUPPORTED, "tensor \"%s\": the decoder holds it as stored, not as float32; "
                          "calibration needs float32 weights (F16/BF16 inputs: not yet)", name);
        if (row0) {   /* a later part of the fused tensor of the unit before */
            if (!*n || strcmp(u[*n - 1].name, name) || w != next)
                return tq_err(err, TQ_E_INTERNAL, "tensor \"%s\": its parts are not contiguous rows", name);
            next = w + rows * cols;
            continue;
        }
        unit *e = &u[(*n)++];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", name);
        e->it = find_item(d->p, name);
        e->w = w;
        e->rows = trows;
        e->cols = cols;
        next = w + rows * cols;
        const tq_tensor *t = e->it ? e->it->src : tq_model_find(d->m, name);
        if (!t || t->ndim != 2 || t->shape[0] != trows || t->shape[1] != cols)
            return tq_err(err, TQ_E_SHAPE, "tensor \"%s\": not the decoder's [%lld, %lld]", name, (long long)trows,
                          (long long)cols);
    }
    return TQ_OK;
}

/* H = X^T X (upper triangle) of rows x[N, K], in row order */
static double *hessian(const float *x, int64_t N, int K, tq_error *err) {
    enum { CH = 256 };
    double *H = calloc((size_t)K * (size_t)K, sizeof(double)), *buf = malloc(sizeof(double) * CH * (size_t)K);
    if (!H || !buf) {
        free(H); free(buf);
        tq_err(err, TQ_E_NOMEM, "calibration: out of memory for [%d, %d]", K, K);
        return NULL;
    }
    tq_blas_serial_enter();
    for (int64_t r0 = 0; r0 < N; r0 += CH) {
        const int n = N - r0 < CH ? (int)(N - r0) : CH;
        for (int64_t i = 0; i < (int64_t)n * K; i++) buf[i] = (double)x[r0 * K + i];
        tq_blas()->dsyrk(CblasRowMajor, CblasUpper, CblasTrans, K, n, 1.0, buf, K, 1.0, H, K);
    }
    tq_blas_serial_leave();
    free(buf);
    return H;
}

static void scale_cols(float *w, int64_t rows, int64_t cols, const double *s) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) w[r * cols + c] = (float)((double)w[r * cols + c] * s[c]);
}

/* ---- AWQ ---------------------------------------------------------------------- */

/* Choose the scale of slot s's input (the units reading it) and fold it into
 * what writes that input: the RMSNorm gain (q/k/v, gate/up), v's rows (o),
 * up's rows (down). */
static tq_status awq_slot(dec_cal *d, int li, tq_dec_slot s, tq_error *err) {
    unit u[3], src[3];
    int n, ns = 0;
    tq_status st = slot_units(d, li, s, u, &n, err);
    if (st) return st;
    tq_awq_mat mats[3];
    int nm = 0;
    for (int i = 0; i < n; i++)
        if (u[i].it) mats[nm++] = (tq_awq_mat){&u[i].it->q, u[i].name, u[i].w, u[i].rows};
    if (!nm) return TQ_OK;
    const int K = tq_dec_slot_width(d->l, s);
    char gname[256];
    float *gain = NULL;
    if (s == TQ_DEC_IN_QKV || s == TQ_DEC_IN_UP) {
        gain = tq_llama_hook_norm(d->l, li, s == TQ_DEC_IN_UP, gname, sizeof gname);
        if (find_item(d->p, gname)) {   /* a quantized gain cannot take the fold */
            tq_sb_printf(tq_calibrated_notes_sb(d->c), "awq: layer %d: %s is quantized: no fold, not scaled\n", li, gname);
            return TQ_OK;
        }
    } else if ((st = slot_units(d, li, s == TQ_DEC_IN_O ? TQ_DEC_IN_QKV : TQ_DEC_IN_UP, src, &ns, err))) {
        return st;
    }
    double *m = calloc((size_t)K, sizeof(double)), *sc = malloc(sizeof(double) * (size_t)K);
    double *H = m && sc ? hessian(d->tap[s], d->N, K, err) : NULL;
    if (!H) { free(m); free(sc); return m && sc ? TQ_E_NOMEM : tq_err(err, TQ_E_NOMEM, "calibration: out of memory"); }
    for (int64_t t = 0; t < d->N; t++)
        for (int j = 0; j < K; j++) m[j] += fabs((double)d->tap[s][t * K + j]);
    for (int j = 0; j < K; j++) m[j] /= (double)d->N;
    int kv_dim, hs;
    tq_llama_hook_heads(d->l, &kv_dim, &hs);
    const int D = tq_llama_config_of(d->l)->dim, grp = D / kv_dim;
    if (s == TQ_DEC_IN_O && grp > 1)   /* query heads reading one v head share its scale */
        for (int g = 0; g < kv_dim / hs; g++)
            for (int c = 0; c < hs; c++) {
                double a = 0;
                for (int h = g * grp; h < (g + 1) * grp; h++) a += m[h * hs + c];
                for (int h = g * grp; h < (g + 1) * grp; h++) m[h * hs + c] = a / grp;
            }
    double alpha, e[2];
    st = tq_awq_choose(mats, nm, K, m, H, sc, &alpha, e, err);
    if (!st) {
        static const char *const what[TQ_DEC_SLOTS] = {"q/k/v", "o", "gate/up", "down"};
        tq_sb_printf(tq_calibrated_notes_sb(d->c), "awq: layer %d %s: alpha %.2f, output error %.4g of RTN's\n", li,
                     what[s], alpha, e[0] > 0 ? e[1] / e[0] : 1.0);
        for (int i = 0; i < n && alpha > 0; i++) { scale_cols(u[i].w, u[i].rows, u[i].cols, sc); u[i].changed = 1; }
        if (alpha > 0 && gain) {
            for (int j = 0; j < K; j++) gain[j] = (float)((double)gain[j] / sc[j]);
            st = tq_calibrated_put_kept(d->c, gname, gain, K, err);
        } else if (alpha > 0) {   /* v's rows (o), up's rows (down) */
            int64_t rows, cols;
            float *bias;
            float *w = tq_llama_hook_weight(d->l, li, s == TQ_DEC_IN_O ? TQ_DEC_W_V : TQ_DEC_W_UP, &rows, &cols, &bias);
            for (int64_t r = 0; r < rows; r++) {
                /* v row r = kv head g, channel c: read by o's columns of the heads g * grp.. */
                const double sr = s == TQ_DEC_IN_O ? sc[(r / hs) * grp * hs + r % hs] : sc[r];
                for (int64_t c = 0; c < cols; c++) w[r * cols + c] = (float)((double)w[r * cols + c] / sr);
                if (bias) bias[r] = (float)((double)bias[r] / sr);
            }
            unit *su = &src[ns - 1];   /* the tensor holding v (qkv's last) or up (gate_up's last) */
            if (!su->it) st = tq_calibrated_put_kept(d->c, su->name, su->w, su->rows * su->cols, err);
            if (bias && !st) {   /* Qwen2's v bias: kept, with its new values */
                char bn[256];
                snprintf(bn, sizeof bn, "%s", su->name);
                char *dot = strrchr(bn, '.');
                if (dot && !strcmp(dot, ".weight")) {
                    strcpy(dot, ".bias");
                    if (tq_model_find(d->m, bn)) st = tq_calibrated_put_kept(d->c, bn, bias, rows, err);
                }
            }
        }
        for (int i = 0; i < n && !st; i++)   /* a kept reader changed: its new values are written */
            if (u[i].changed && !u[i].it) st = tq_calibrated_put_kept(d->c, u[i].name, u[i].w, u[i].rows * u[i].cols, err);
    }
    free(m); free(H); free(sc);
    return st;
}

/* ---- one slot: GPTQ / RTN of its tensors ---------------------------------------- */

static tq_status quant_slot(dec_cal *d, int li, tq_dec_slot s, tq_error *err) {
    unit u[3];
    int n;
    tq_status st = slot_units(d, li, s, u, &n, err);
    int any = 0;
    for (int i = 0; i < n; i++) any |= u[i].it != NULL;
    if (st || !any) return st;
    const int gptq = d->co->method != TQ_CALIB_AWQ, K = tq_dec_slot_width(d->l, s);
    double *H = NULL;
    if (gptq) {
        float *taps[TQ_DEC_SLOTS] = {0};
        taps[s] = d->tap[s];
        if ((st = tq_llama_hook_layer(d->l, li, d->x, NULL, d->len, d->nseq, taps, err)))
            return tq_err_prefix(err, st, "calibration forward pass");
        if (!(H = hessian(d->tap[s], d->N, K, err))) return TQ_E_NOMEM;
    }
    for (int i = 0; i < n && !st; i++) {
        if (!u[i].it) continue;
        void *codes, *aux[TQ_MAX_AUX];
        const tq_qparams *q = &u[i].it->q;
        if ((st = tq_calibrated_add(d->c, u[i].name, q, u[i].rows, u[i].cols, &codes, aux, err))) break;
        if (gptq) {
            tq_gptq_options go = {d->co->damp, d->co->act_order, 0};
            st = tq_gptq_quantize(q, u[i].name, u[i].w, u[i].rows, u[i].cols, H, &go, codes, aux, err);
        } else {
            st = tq_quantize(q, u[i].name, u[i].w, u[i].rows, u[i].cols, codes, aux, 0, err);
        }
        if (!st) st = tq_dequantize(q, u[i].rows, u[i].cols, codes, (const void *const *)aux, u[i].w, err);
        d->done++;
        if (!st && d->co->progress) d->co->progress(d->co->ud, d->done, d->total, u[i].name);
    }
    free(H);
    return st;
}

/* ---- calibration sequences ----------------------------------------------------- */

/* The texts tokenized by the model's tokenizer (a GGUF's own vocabulary, else
 * the directory's sentencepiece file, else its tokenizer.json), BOS first,
 * truncated to max_tokens (0: 128) and the context. */
static tq_status make_seqs(dec_cal *d, int32_t **ids_out, tq_error *err) {
    tq_calib_texts tx;
    tq_status st = d->co->calib_file ? tq_calib_read(d->co->calib_file, &tx, err) : tq_calib_builtin(&tx, err);
    if (st) return st;
    const char *path = tq_model_path(d->m);
    tq_spm *spm = NULL;
    tq_tok *tok = NULL;
    tq_error e1 = {0}, e2 = {0};
    if (tq_llama_is_gguf(path)) {
        spm = tq_spm_open_gguf(path, &e1);
        if (!spm && e1.status == TQ_E_UNSUPPORTED) tok = tq_tok_open_dir(path, &e2);
    } else {
        spm = tq_spm_open_dir(tq_model_dir(d->m), &e1);
        if (!spm && e1.status == TQ_E_NOTFOUND) tok = tq_tok_open_dir(tq_model_dir(d->m), &e2);
    }
    if (!spm && !tok) {
        tq_calib_texts_free(&tx);
        *err = e2.status && e2.status != TQ_E_NOTFOUND ? e2 : e1;
        return tq_err_prefix(err, err->status, "calibration tokenizer");
    }
    const tq_llama_config *c = tq_llama_config_of(d->l);
    int maxn = d->co->max_tokens > 0 ? d->co->max_tokens : 128;
    if (maxn > c->max_seq_len) maxn = c->max_seq_len;
    if (c->n_rope_long && c->rope_orig_ctx && maxn > c->rope_orig_ctx) maxn = c->rope_orig_ctx;
    const int bos = tok && tq_tok_special_id(tok, TQ_TOK_BOS) >= 0 ? tq_tok_special_id(tok, TQ_TOK_BOS) : TQ_SPM_BOS;
    d->len = calloc((size_t)tx.n, sizeof(int));
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)tx.n * (size_t)maxn);
    if (!d->len || !ids) st = tq_err(err, TQ_E_NOMEM, "out of memory");
    for (int i = 0; i < tx.n && !st; i++) {
        int *v = NULL, nv = 0;
        int32_t *v32 = NULL;
        if (spm) st = tq_spm_encode(spm, tx.text[i], strlen(tx.text[i]), 0, 0, &v, &nv, err);
        else st = tq_tok_encode(tok, tx.text[i], strlen(tx.text[i]), 0, &v32, &nv, err);
        if (st) { tq_err_prefix(err, st, "calibration text %d", i + 1); break; }
        int32_t *row = ids + d->N;
        int k = 0;
        row[k++] = bos;
        for (int j = 0; j < nv && k < maxn; j++) row[k++] = spm ? v[j] : v32[j];
        free(v);
        free(v32);
        for (int j = 0; j < k && !st; j++)
            if (row[j] < 0 || row[j] >= c->vocab_size)
                st = tq_err(err, TQ_E_ARG, "calibration text %d: token id %d is outside the model's %d tokens", i + 1,
                            row[j], c->vocab_size);
        d->len[d->nseq++] = k;
        d->N += k;
    }
    tq_spm_free(spm);
    tq_tok_free(tok);
    tq_calib_texts_free(&tx);
    if (st) { free(ids); return st; }
    tq_sb_printf(tq_calibrated_notes_sb(d->c), "calibration: %d texts (%lld tokens with BOS %d), %s, %lld matrices\n",
                 d->nseq, (long long)d->N, bos, d->co->calib_file ? d->co->calib_file : "built-in set",
                 (long long)d->total);
    *ids_out = ids;
    return TQ_OK;
}

/* ---- the driver ---------------------------------------------------------------- */

tq_calibrated *tq_calibrate_dec(const tq_model *m, const tq_plan *p, const tq_calib_options *co, tq_error *err) {
    if (!m || !p || !co) { tq_err(err, TQ_E_ARG, "calibration: NULL argument"); return NULL; }
    if (!tq_llama_detect(m)) {
        tq_err(err, TQ_E_UNSUPPORTED, "%s: not a Llama-style decoder", tq_model_path(m));
        return NULL;
    }
    dec_cal d = {.m = m, .p = p, .co = co};
    d.l = tq_llama_open(m, NULL, err);
    if (!d.l) return NULL;
    d.c = tq_calibrated_new();
    int32_t *ids = NULL;
    tq_status st = d.c ? TQ_OK : tq_err(err, TQ_E_NOMEM, "out of memory");
    const tq_llama_config *c = tq_llama_config_of(d.l);
    for (int li = 0; li < c->n_layers && !st; li++)
        for (int s = 0; s < TQ_DEC_SLOTS && !st; s++) {
            unit u[3];
            int n;
            st = slot_units(&d, li, (tq_dec_slot)s, u, &n, err);
            for (int i = 0; i < n && !st; i++) d.total += u[i].it != NULL;
        }
    if (!st && !d.total) {   /* the plan quantizes no block matrix: nothing to run */
        tq_sb_puts(tq_calibrated_notes_sb(d.c), "calibration: the plan quantizes no decoder block matrix\n");
        tq_llama_free(d.l);
        return d.c;
    }
    if (!st) st = make_seqs(&d, &ids, err);
    if (!st) {
        d.x = malloc(sizeof(float) * (size_t)d.N * (size_t)c->dim);
        d.y = malloc(sizeof(float) * (size_t)d.N * (size_t)c->dim);
        for (int s = 0; s < TQ_DEC_SLOTS; s++)
            d.tap[s] = malloc(sizeof(float) * (size_t)d.N * (size_t)tq_dec_slot_width(d.l, (tq_dec_slot)s));
        int oom = !d.x || !d.y;
        for (int s = 0; s < TQ_DEC_SLOTS; s++) oom |= !d.tap[s];
        st = oom ? tq_err(err, TQ_E_NOMEM, "calibration: out of memory for %lld rows", (long long)d.N)
                 : tq_llama_hook_embed(d.l, ids, d.N, d.x, err);
    }
    const int awq = co->method == TQ_CALIB_AWQ || co->method == TQ_CALIB_AWQ_GPTQ;
    for (int li = 0; li < c->n_layers && !st; li++) {
        if (awq && (st = tq_llama_hook_layer(d.l, li, d.x, NULL, d.len, d.nseq, d.tap, err)))
            tq_err_prefix(err, st, "calibration forward pass");
        for (int s = 0; awq && s < TQ_DEC_SLOTS && !st; s++) st = awq_slot(&d, li, (tq_dec_slot)s, err);
        for (int s = 0; s < TQ_DEC_SLOTS && !st; s++) st = quant_slot(&d, li, (tq_dec_slot)s, err);
        if (!st && li + 1 < c->n_layers) {
            if ((st = tq_llama_hook_layer(d.l, li, d.x, d.y, d.len, d.nseq, NULL, err)))
                tq_err_prefix(err, st, "calibration forward pass");
            float *t = d.x;
            d.x = d.y;
            d.y = t;
        }
    }
    free(ids);
    free(d.len);
    free(d.x);
    free(d.y);
    for (int s = 0; s < TQ_DEC_SLOTS; s++) free(d.tap[s]);
    tq_llama_free(d.l);
    if (st) { tq_calibrated_free(d.c); return NULL; }
    return d.c;
}
