/*
 * encoder.c — BERT / DistilBERT encoders: weights from a tq_model, the
 * batched forward pass, pooling and the classification heads (trueq_nn.h).
 *
 * Layout of the work: the batch's T = batch * seq tokens are rows of one
 * [T, dim] matrix, so every projection is one cblas_sgemm over the whole
 * batch (q, k and v fused into one [3 dim, dim] product). Biases (and the
 * residual, for the two projections LayerNorm follows) are written into the
 * output first and the product is accumulated onto them (beta = 1), so no
 * separate pass adds them. Attention runs per (sequence, head): one sgemm
 * for q k^T, a masked softmax over each row, one sgemm for p v.
 *
 * Every element-wise step, LayerNorm, softmax and pooling work row by row in
 * a fixed order. Threads: see run_phase; results do not depend on the number
 * of threads (tests/test_encoder_ops.c checks 1 against 2 threads).
 */
#include "core/wmem.h"
#include "core/internal.h"
#include "core/blas.h"
#include "trueq_nn.h"
#include "nn/ops/wmat.h"
#include "nn/ops/softmax.h"
#include "nn/encoder_ws.h"
#include "nn/encoder_hook.h"
#include "nn/arch/table.h"
#include "kern/pool.h"
#include "kern/attn_i8.h"
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/encoder_impl.h"

const tq_enc_config *tq_enc_config_of(const tq_enc *e) { return e ? &e->c : NULL; }
int      tq_enc_has_head(const tq_enc *e) { return e && e->cls_w != NULL; }
uint64_t tq_enc_weight_bytes(const tq_enc *e) { return e ? e->n_floats * sizeof(float) + e->int8_bytes : 0; }
int64_t  tq_enc_param_count(const tq_enc *e) { return e ? (int64_t)e->n_floats + e->int8_params : 0; }
int      tq_enc_int8_matrices(const tq_enc *e) { return e ? e->n_int8 - e->n_plain : 0; }

/* 1 when layer L runs its attention in int8: q/k/v multiplied by a kernel
 * over stored codes (not F16/BF16 values) and the encoder asked for it. */
int tq_enc_attn8_layer(const tq_enc *e, const enc_layer *L) {
    const tq_wmat *w = &L->m8[M_QKV][0];
    return e->attn8 && tq_wmat_kernel(w) && tq_wmat_quantized(w) && !w->plain;
}

int tq_enc_int8_attention(const tq_enc *e) {
    for (int l = 0; e && l < e->c.n_layers; l++)
        if (tq_enc_attn8_layer(e, &e->L[l])) return 1;
    return 0;
}

void tq_enc_free(tq_enc *e) {
    if (!e) return;
    for (int l = 0; e->L && l < e->c.n_layers; l++)
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 3; i++) tq_wmat_free(&e->L[l].m8[k][i]);
    tq_wmat_free(&e->word8);
    tq_enc_ws_free(e->ws);
    free(e->ws);
    tq_wmem_free(e->arena);
    free(e->L);
    free(e);
}

/* ---- calibration access (encoder_hook.h) ------------------------------------ */

tq_enc_slot tq_enc_mat_slot(tq_enc_mat m) {
    return m <= TQ_ENC_W_V ? TQ_ENC_IN_QKV : m == TQ_ENC_W_O ? TQ_ENC_IN_O : m == TQ_ENC_W_FFN1 ? TQ_ENC_IN_FFN1
                                                                                               : TQ_ENC_IN_FFN2;
}

void tq_enc_set_observer(tq_enc *e, tq_enc_observer_fn fn, void *ctx) {
    if (e) { e->obs = fn; e->obs_ctx = fn ? ctx : NULL; }
}

float *tq_enc_weight(tq_enc *e, int layer, tq_enc_mat m, int64_t *rows, int64_t *cols, float **bias) {
    if (!e || layer < 0 || layer >= e->c.n_layers || m < 0 || m >= TQ_ENC_MATS) return NULL;
    enc_layer *L = &e->L[layer];
    const int64_t D = e->c.dim, H = e->c.hidden_dim;
    float *w = NULL, *b = NULL;
    *rows = D;
    *cols = D;
    /* a float32 matrix packed for tq_gemm_f32 goes back to row-major (the
     * forward then takes the sgemm path for it): callers read and write rows */
    static const int slot[TQ_ENC_MATS] = {M_QKV, M_QKV, M_QKV, M_O, M_FFN1, M_FFN2};
    float *fw[4] = {L->wqkv, L->wo, L->w1, L->w2};
    const int64_t fr[4] = {3 * D, D, H, D}, fc[4] = {D, D, D, H};
    const int k = slot[m];
    if (L->fpk[k]) {
        if (tq_gemm_f32_unpack(fw[k], fr[k], fc[k])) return NULL;
        L->fpk[k] = 0;
    }
    switch (m) {
    case TQ_ENC_W_Q: case TQ_ENC_W_K: case TQ_ENC_W_V:
        if (L->wqkv) { w = L->wqkv + (size_t)(m - TQ_ENC_W_Q) * (size_t)(D * D); b = L->bqkv + (m - TQ_ENC_W_Q) * D; }
        break;
    case TQ_ENC_W_O: w = L->wo; b = L->bo; break;
    case TQ_ENC_W_FFN1: w = L->w1; b = L->b1; *rows = H; break;
    default: w = L->w2; b = L->b2; *cols = H; break;
    }
    if (bias) *bias = b;
    return w;
}

int tq_enc_weight_name(const tq_enc *e, const tq_model *model, int layer, tq_enc_mat m, char *buf, size_t cap) {
    static const tq_role roles[TQ_ENC_MATS] = {TQ_R_Q, TQ_R_K, TQ_R_V, TQ_R_O, TQ_R_FFN_UP, TQ_R_FFN_DOWN};
    const char *prefix = e ? tq_arch_prefix(model, e->A) : NULL;
    if (!prefix || m < 0 || m >= TQ_ENC_MATS) return -1;
    return tq_arch_name(e->A, prefix, roles[m], layer, 0, buf, cap) ? 0 : -1;
}

float *tq_enc_extra(tq_enc *e, const tq_model *model, const char *name, int64_t *rows, int64_t *cols) {
    const char *prefix = e && name ? tq_arch_prefix(model, e->A) : NULL;
    if (!prefix) return NULL;
    const tq_enc_config *c = &e->c;
    const int NL = c->n_labels;
    struct { tq_role r; float *w; int64_t rows, cols; } x[] = {
        {TQ_R_TOK_EMB, e->word, c->vocab_size, c->dim}, {TQ_R_POS_EMB, e->pos, c->max_pos, c->dim},
        {TQ_R_TYPE_EMB, e->type, c->type_vocab_size, c->dim}, {TQ_R_POOLER, e->pool_w, c->dim, c->dim},
        {TQ_R_PRE_CLS, e->pre_w, c->dim, c->dim}, {TQ_R_CLS, e->cls_w, NL, c->dim}};
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        char buf[256];
        if (!x[i].w || !e->A->tensor[x[i].r] || !tq_arch_name(e->A, prefix, x[i].r, 0, 0, buf, sizeof buf) ||
            strcmp(buf, name))
            continue;
        *rows = x[i].rows;
        *cols = x[i].cols;
        return x[i].w;
    }
    return NULL;
}

/* ---- loading ---------------------------------------------------------------- */

typedef struct loader {
    const tq_model *m;
    const tq_arch  *A;
    const char     *path;
    const char     *prefix;
    float          *p;       /* next free float of the arena */
    tq_error       *err;
    int             n_plain; /* F16/BF16 matrices held as stored */
} loader;

static void shape_str(const tq_tensor *t, char *buf, size_t cap) {
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < t->ndim && n < cap; i++) n += (size_t)snprintf(buf + n, cap - n, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

/* Find name (full, prefix already applied) and check it is [rows] (cols 0) or [rows, cols]. */
static const tq_tensor *want(loader *ld, const char *name, int64_t rows, int64_t cols) {
    const tq_tensor *t = tq_model_find(ld->m, name);
    if (!t) { tq_err(ld->err, TQ_E_NOTFOUND, "%s: encoder tensor \"%s\" is missing", ld->path, name); return NULL; }
    int ok = cols ? (t->ndim == 2 && t->shape[0] == rows && t->shape[1] == cols) : (t->ndim == 1 && t->shape[0] == rows);
    if (!ok) {
        char got[160];
        shape_str(t, got, sizeof got);
        if (cols) tq_err(ld->err, TQ_E_SHAPE, "%s: tensor \"%s\" is %s, the configuration needs [%lld, %lld]", ld->path,
                         name, got, (long long)rows, (long long)cols);
        else tq_err(ld->err, TQ_E_SHAPE, "%s: tensor \"%s\" is %s, the configuration needs [%lld]", ld->path, name, got,
                    (long long)rows);
        return NULL;
    }
    return t;
}

/* Decode tensor `name` (with the prefix unless raw) into the arena; *dst
 * points at it. LayerNorm weight/bias fall back to the older gamma/beta. */
static int load(loader *ld, float **dst, int raw, const char *name, int64_t rows, int64_t cols) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", raw ? "" : ld->prefix, name);
    if (!tq_model_find(ld->m, full) && strstr(full, "LayerNorm.")) {
        char alt[256];
        size_t n = strlen(full);
        if (n > 7 && !strcmp(full + n - 7, ".weight")) snprintf(alt, sizeof alt, "%.*s.gamma", (int)(n - 7), full);
        else if (n > 5 && !strcmp(full + n - 5, ".bias")) snprintf(alt, sizeof alt, "%.*s.beta", (int)(n - 5), full);
        else alt[0] = 0;
        if (alt[0] && tq_model_find(ld->m, alt)) snprintf(full, sizeof full, "%s", alt);
    }
    const tq_tensor *t = want(ld, full, rows, cols);
    if (!t) return -1;
    if (tq_model_tensor_f32(ld->m, t, ld->p, ld->err)) return -1;
    int64_t n = rows * (cols ? cols : 1);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(ld->p[i])) {
            tq_err(ld->err, TQ_E_VALUE, "%s: tensor \"%s\": value %lld is %g, not finite", ld->path, full, (long long)i,
                   (double)ld->p[i]);
            return -1;
        }
    if (dst) *dst = ld->p;
    ld->p += n;
    return 0;
}

/* 1 when tensor t is held as stored: F16/BF16 always (products decode row
 * tiles or run the half-float kernels), codes when kept (keep: keep_int8,
 * linear-sym 8-bit only, or with any_codec every codec). */
static int held(const tq_tensor *t, int keep, int any_codec) {
    return tq_wmat_plain_keepable(t) || (keep && tq_wmat_keepable(t, any_codec));
}

/* 1 when tensors names[0..n) can all be held as stored (held()). */
static int i8_plan(const loader *ld, const char *const *names, int n, int keep, int any_codec) {
    for (int i = 0; i < n; i++)
        if (!held(tq_model_find(ld->m, names[i]), keep, any_codec)) return 0;
    return 1;
}

/* Hold names[0..n) (each [rows, cols]) as stored in w[0..n): F16/BF16
 * values or codes, read with pread. */
static int load_i8(loader *ld, tq_wmat *w, const char *const *names, int n, int64_t rows, int64_t cols, uint64_t *bytes) {
    for (int i = 0; i < n; i++) {
        const tq_tensor *t = want(ld, names[i], rows, cols);
        if (!t || (tq_wmat_plain_keepable(t) ? tq_wmat_keep_plain(&w[i], ld->m, t, ld->path, ld->err)
                                             : tq_wmat_keep(&w[i], ld->m, t, ld->path, ld->err)))
            return -1;
        *bytes += w[i].bytes;
        if (w[i].plain) ld->n_plain++;
    }
    return 0;
}

/* The row's name of a non-layer role (prefix applied unless raw) into buf. */
static const char *rn(const loader *ld, tq_role r, int bias, char *buf) {
    tq_arch_name(ld->A, ld->prefix, r, 0, bias, buf, 200);
    return buf;
}

static int has(const loader *ld, int raw, const char *name) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", raw ? "" : ld->prefix, name);
    return tq_model_find(ld->m, full) != NULL;
}

tq_enc *tq_enc_open(const tq_model *m, const tq_enc_config *cfg_in, tq_error *err) {
    return tq_enc_open_ex(m, cfg_in, NULL, err);
}

tq_enc *tq_enc_open_ex(const tq_model *m, const tq_enc_config *cfg_in, const tq_enc_opts *opts, tq_error *err) {
    /* matrices kept as stored: linear-sym 8-bit (keep_int8) or any codec (keep_quantized) */
    const int keep_int8 = opts && (opts->keep_int8 || opts->keep_quantized), any = opts && opts->keep_quantized;
    if (!m) { tq_err(err, TQ_E_ARG, "encoder: no model (NULL)"); return NULL; }
    tq_enc_config c;
    if (cfg_in) c = *cfg_in;
    else if (tq_enc_config_find(tq_model_dir(m), &c, err)) return NULL;
    const char *path = tq_model_path(m);
    const tq_arch *A = tq_arch_by_id(TQ_FAMILY_ENCODER, (int)c.arch);
    int types = A && A->tensor[TQ_R_TYPE_EMB] != NULL;   /* BERT's token types */
    if (!A) {
        tq_err(err, TQ_E_ARG, "%s: configuration arch %d is none of BERT, DistilBERT and RoBERTa", path, (int)c.arch);
        return NULL;
    }
    /* what this forward pass runs; a row asking for more is refused, not half-run */
    if (A->norm != TQ_NORM_LAYER || A->norm_place != TQ_NORM_POST ||
        (A->pos != TQ_POS_ABSOLUTE && A->pos != TQ_POS_ABSOLUTE_PADDED) || A->act == TQ_ACTK_SILU_GATED ||
        (A->head != TQ_HEAD_POOLER_TANH && A->head != TQ_HEAD_PRE_RELU && A->head != TQ_HEAD_DENSE_TANH)) {
        tq_err(err, TQ_E_UNSUPPORTED, "%s: family %s: the encoder runs post-LayerNorm blocks with learned absolute "
               "positions, an ungated FFN and a pooler, pre_classifier or dense head", path, A->name);
        return NULL;
    }
    if (c.dim <= 0 || c.n_layers <= 0 || c.n_heads <= 0 || c.dim % c.n_heads || c.hidden_dim <= 0 || c.vocab_size <= 0 ||
        c.max_pos <= 0 || (types && c.type_vocab_size <= 0) || !(c.ln_eps >= 0) || c.act < TQ_ACT_GELU ||
        c.act > TQ_ACT_RELU || c.n_labels < 0 || c.n_labels > TQ_ENC_MAX_LABELS || c.pad_token_id < 0 ||
        c.pad_token_id >= c.vocab_size || c.head < -1 || c.head > 1 || (c.pooling != TQ_POOL_MEAN && c.pooling != TQ_POOL_CLS) ||
        (c.normalize != 0 && c.normalize != 1) || c.seq_limit < 0 ||
        (A->pos == TQ_POS_ABSOLUTE_PADDED && c.pad_token_id + 1 >= c.max_pos)) {
        tq_err(err, TQ_E_ARG, "%s: invalid configuration (dim %d, layers %d, heads %d, hidden %d, vocab %d, max_pos %d, "
               "types %d, eps %g, labels %d, pad %d, pooling %d, normalize %d, seq_limit %d)", path, c.dim, c.n_layers,
               c.n_heads, c.hidden_dim, c.vocab_size, c.max_pos, c.type_vocab_size, (double)c.ln_eps, c.n_labels,
               c.pad_token_id, (int)c.pooling, c.normalize, c.seq_limit);
        return NULL;
    }
    if (!types) c.type_vocab_size = 0;
    const char *prefix = tq_arch_prefix(m, A);
    if (!prefix) {
        char dn[200];
        tq_arch_name(A, "", A->detect, 0, 0, dn, sizeof dn);
        tq_err(err, TQ_E_NOTFOUND, "%s: no \"%s\" (with or without a \"%s\" prefix): not a %s checkpoint", path, dn,
               A->prefixes[1] ? A->prefixes[1] : "", A->title);
        return NULL;
    }
    loader ld = {m, A, path, prefix, NULL, err, 0};
    char cls_name[200], pool_name[200];
    tq_arch_name(A, prefix, TQ_R_CLS, 0, 0, cls_name, sizeof cls_name);
    tq_arch_name(A, prefix, TQ_R_POOLER, 0, 0, pool_name, sizeof pool_name);
    /* a classifier.weight is a sequence head unless config.json's
     * architectures name another model (token classification, ...) */
    int has_head = c.head >= 0 && A->tensor[TQ_R_CLS] && has(&ld, 1, cls_name);
    int has_pool = A->head == TQ_HEAD_POOLER_TANH && A->tensor[TQ_R_POOLER] && has(&ld, 1, pool_name);
    int64_t D = c.dim, H = c.hidden_dim, V = c.vocab_size, P = c.max_pos, TV = c.type_vocab_size, NL = 0;
    /* heads of two matrices: DistilBERT's pre_classifier, RoBERTa's dense */
    const int two = A->head == TQ_HEAD_PRE_RELU || A->head == TQ_HEAD_DENSE_TANH;
    if (has_head) {
        const tq_tensor *t = tq_model_find(m, cls_name);
        if (t->ndim != 2 || t->shape[1] != D || t->shape[0] < 1 || t->shape[0] > TQ_ENC_MAX_LABELS ||
            (c.n_labels && t->shape[0] != c.n_labels)) {
            char got[160];
            shape_str(t, got, sizeof got);
            if (c.n_labels) tq_err(err, TQ_E_SHAPE, "%s: tensor \"%s\" is %s, the configuration needs [%d, %d]",
                                   path, cls_name, got, c.n_labels, c.dim);
            else tq_err(err, TQ_E_SHAPE, "%s: tensor \"%s\" is %s, needs [labels <= %d, %d]", path, cls_name, got,
                        TQ_ENC_MAX_LABELS, c.dim);
            return NULL;
        }
        NL = t->shape[0];
        if (A->head == TQ_HEAD_POOLER_TANH && !has_pool) {
            tq_err(err, TQ_E_NOTFOUND, "%s: encoder tensor \"%s\" is missing (the BERT classification "
                   "head needs the pooler)", path, pool_name);
            return NULL;
        }
        if (!c.n_labels)
            for (int i = 0; i < NL; i++) snprintf(c.labels[i], TQ_ENC_LABEL_LEN, "LABEL_%d", i);
        c.n_labels = (int)NL;
    } else {
        c.n_labels = 0;
    }
    /* tensor names per layer (the row's, prefix included): q, k, v, o, ln1, ffn in, ffn out, ln2 */
    static const tq_role roles[8] = {TQ_R_Q, TQ_R_K, TQ_R_V, TQ_R_O, TQ_R_ATT_NORM, TQ_R_FFN_UP, TQ_R_FFN_DOWN,
                                     TQ_R_FFN_NORM};
    char (*nm)[8][2][160] = calloc((size_t)c.n_layers, sizeof *nm);
    unsigned char (*use8)[4] = calloc((size_t)c.n_layers, sizeof *use8);
    if (!nm || !use8) {
        free(nm);
        free(use8);
        tq_err(err, TQ_E_NOMEM, "out of memory");
        return NULL;
    }
    uint64_t int8_floats = 0;
    for (int l = 0; l < c.n_layers; l++) {
        for (int k = 0; k < 8; k++) {
            tq_arch_name(A, prefix, roles[k], l, 0, nm[l][k][0], sizeof nm[l][k][0]);
            tq_arch_name(A, prefix, roles[k], l, 1, nm[l][k][1], sizeof nm[l][k][1]);
        }
        const char *qkv[3] = {nm[l][0][0], nm[l][1][0], nm[l][2][0]}, *o = nm[l][3][0], *f1 = nm[l][5][0],
                   *f2 = nm[l][6][0];
        if ((use8[l][M_QKV] = (unsigned char)i8_plan(&ld, qkv, 3, keep_int8, any))) int8_floats += (uint64_t)(3 * D * D);
        if ((use8[l][M_O] = (unsigned char)i8_plan(&ld, &o, 1, keep_int8, any))) int8_floats += (uint64_t)(D * D);
        if ((use8[l][M_FFN1] = (unsigned char)i8_plan(&ld, &f1, 1, keep_int8, any))) int8_floats += (uint64_t)(H * D);
        if ((use8[l][M_FFN2] = (unsigned char)i8_plan(&ld, &f2, 1, keep_int8, any))) int8_floats += (uint64_t)(D * H);
    }
    char nb[6][200];
    const char *wname = rn(&ld, TQ_R_TOK_EMB, 0, nb[0]);
    int word8 = i8_plan(&ld, &wname, 1, keep_int8, any);
    if (word8) int8_floats += (uint64_t)(V * D);
    uint64_t per_layer = (uint64_t)(3 * D * D + 3 * D + D * D + D + 2 * D + H * D + H + D * H + D + 2 * D);
    uint64_t total = (uint64_t)(V * D + P * D + TV * D + 2 * D) + per_layer * (uint64_t)c.n_layers +
                     (has_pool ? (uint64_t)(D * D + D) : 0) + (has_head && two ? (uint64_t)(D * D + D) : 0) +
                     (has_head ? (uint64_t)(NL * D + NL) : 0);
    if (total > (uint64_t)1 << 38) {
        tq_err(err, TQ_E_LIMIT, "%s: %llu weights exceed the encoder's limit", path, (unsigned long long)total);
        free(nm);
        free(use8);
        return NULL;
    }
    total -= int8_floats;
    tq_enc *e = calloc(1, sizeof *e);
    if (!e) { free(nm); free(use8); tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    e->c = c;
    e->A = A;
    e->head_size = c.dim / c.n_heads;
    e->L = calloc((size_t)c.n_layers, sizeof *e->L);
    e->ws = calloc(1, sizeof *e->ws);   /* NULL: every pass allocates its own */
    e->arena = tq_wmem_alloc(sizeof(float) * total);   /* huge pages: every pass streams it (wmem.h) */
    if (!e->L || !e->arena) {
        tq_err(err, TQ_E_NOMEM, "%s: out of memory for %llu float32 weights", path, (unsigned long long)total);
        goto fail;
    }
    e->n_floats = total;
    ld.p = e->arena;
    if ((word8 ? load_i8(&ld, &e->word8, &wname, 1, V, D, &e->int8_bytes) : load(&ld, &e->word, 1, wname, V, D)) ||
        load(&ld, &e->pos, 1, rn(&ld, TQ_R_POS_EMB, 0, nb[1]), P, D) ||
        (TV && load(&ld, &e->type, 1, rn(&ld, TQ_R_TYPE_EMB, 0, nb[2]), TV, D)) ||
        load(&ld, &e->eln_w, 1, rn(&ld, TQ_R_EMB_NORM, 0, nb[3]), D, 0) ||
        load(&ld, &e->eln_b, 1, rn(&ld, TQ_R_EMB_NORM, 1, nb[4]), D, 0))
        goto fail;
    tq_kern_release(&e->word8.k);   /* embeddings are looked up by row, never multiplied */
    for (int l = 0; l < c.n_layers; l++) {
        enc_layer *L = &e->L[l];
        const char *qkv[3] = {nm[l][0][0], nm[l][1][0], nm[l][2][0]}, *o = nm[l][3][0], *f1 = nm[l][5][0],
                   *f2 = nm[l][6][0];
        uint64_t *b8 = &e->int8_bytes;
        /* weights q, k, v land one after the other: the fused [3 dim, dim] */
        if (use8[l][M_QKV] ? load_i8(&ld, L->m8[M_QKV], qkv, 3, D, D, b8)
                           : (load(&ld, &L->wqkv, 1, qkv[0], D, D) || load(&ld, NULL, 1, qkv[1], D, D) ||
                              load(&ld, NULL, 1, qkv[2], D, D)))
            goto fail;
        if (load(&ld, &L->bqkv, 1, nm[l][0][1], D, 0) || load(&ld, NULL, 1, nm[l][1][1], D, 0) ||
            load(&ld, NULL, 1, nm[l][2][1], D, 0) ||
            (use8[l][M_O] ? load_i8(&ld, L->m8[M_O], &o, 1, D, D, b8) : load(&ld, &L->wo, 1, o, D, D)) ||
            load(&ld, &L->bo, 1, nm[l][3][1], D, 0) ||
            load(&ld, &L->ln1w, 1, nm[l][4][0], D, 0) || load(&ld, &L->ln1b, 1, nm[l][4][1], D, 0) ||
            (use8[l][M_FFN1] ? load_i8(&ld, L->m8[M_FFN1], &f1, 1, H, D, b8) : load(&ld, &L->w1, 1, f1, H, D)) ||
            load(&ld, &L->b1, 1, nm[l][5][1], H, 0) ||
            (use8[l][M_FFN2] ? load_i8(&ld, L->m8[M_FFN2], &f2, 1, D, H, b8) : load(&ld, &L->w2, 1, f2, D, H)) ||
            load(&ld, &L->b2, 1, nm[l][6][1], D, 0) ||
            load(&ld, &L->ln2w, 1, nm[l][7][0], D, 0) || load(&ld, &L->ln2b, 1, nm[l][7][1], D, 0))
            goto fail;
        /* float32 projections: packed once for the packed-weight product
         * (AVX-512 or AVX2; TRUEQ_ISA=decode or portable keep OpenBLAS's sgemm) */
        int off;
        tq_kisa isa = tq_kern_isa(&off);
        if ((isa == TQ_KISA_AVX512 || isa == TQ_KISA_AVX2) && !off && tq_gemm_f32_supported()) {
            float *fw[4] = {L->wqkv, L->wo, L->w1, L->w2};
            const int64_t fr[4] = {3 * D, D, H, D}, fc[4] = {D, D, D, H};
            for (int k = 0; k < 4; k++) L->fpk[k] = fw[k] && tq_gemm_f32_pack(fw[k], fr[k], fc[k]) == 0;
        }
        static const int64_t mult[4] = {3, 1, 1, 1};
        for (int k = 0; k < 4; k++)
            if (use8[l][k]) {
                e->n_int8 += k == M_QKV ? 3 : 1;
                e->int8_params += mult[k] * (k == M_QKV || k == M_O ? D * D : H * D);
            }
    }
    if (has_pool && (load(&ld, &e->pool_w, 1, rn(&ld, TQ_R_POOLER, 0, nb[0]), D, D) ||
                     load(&ld, &e->pool_b, 1, rn(&ld, TQ_R_POOLER, 1, nb[1]), D, 0)))
        goto fail;
    if (has_head && two && (load(&ld, &e->pre_w, 1, rn(&ld, TQ_R_PRE_CLS, 0, nb[0]), D, D) ||
                            load(&ld, &e->pre_b, 1, rn(&ld, TQ_R_PRE_CLS, 1, nb[1]), D, 0)))
        goto fail;
    if (has_head && (load(&ld, &e->cls_w, 1, rn(&ld, TQ_R_CLS, 0, nb[0]), NL, D) ||
                     load(&ld, &e->cls_b, 1, rn(&ld, TQ_R_CLS, 1, nb[1]), NL, 0)))
        goto fail;
    if (word8) {
        e->n_int8++;
        e->int8_params += V * D;
    }
    e->n_plain = ld.n_plain;
    /* int8 attention: asked for, or by default where the CPU has the VNNI
     * path (elsewhere the portable products are slower than sgemm); decided
     * by the CPU, not TRUEQ_ISA, so every forced ISA gives the same bytes */
    if (keep_int8 && (opts->int8_attention > 0 ||
                      (opts->int8_attention == 0 && tq_attn_i8_isa(TQ_KISA_AVX512) == TQ_KISA_AVX512))) {
        int off;
        tq_kisa isa = tq_kern_isa(&off);
        e->attn8 = !off;
        e->attn8_isa = tq_attn_i8_isa(isa);
    }
    TQ_ASSERT((uint64_t)(ld.p - e->arena) == total);
    free(nm);
    free(use8);
    return e;
fail:
    free(nm);
    free(use8);
    tq_enc_free(e);
    return NULL;
}

