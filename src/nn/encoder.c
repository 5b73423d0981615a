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
#include "core/internal.h"
#include "core/blas.h"
#include "trueq_nn.h"
#include "nn/ops/wmat.h"
#include "nn/arch/table.h"
#include "kern/pool.h"
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TQ_ENC_MAX_THREADS 64

typedef struct enc_layer {
    float *wqkv, *bqkv;      /* [3 dim, dim], [3 dim]: q rows, k rows, v rows */
    float *wo, *bo;          /* [dim, dim], [dim]                              */
    float *ln1w, *ln1b;      /* attention output LayerNorm                     */
    float *w1, *b1;          /* [hidden, dim], [hidden]                        */
    float *w2, *b2;          /* [dim, hidden], [dim]                           */
    float *ln2w, *ln2b;      /* output LayerNorm                               */
    tq_wmat m8[4][3];        /* qkv (three parts), o, ffn in, ffn out kept as
                                stored codes (keep_int8 / keep_quantized); parts
                                not kept have no codes (the float32 above)     */
} enc_layer;

enum { M_QKV, M_O, M_FFN1, M_FFN2 };

struct tq_enc {
    tq_enc_config c;
    const tq_arch *A;        /* the family row: names, head, q scaling        */
    int        head_size;
    float     *arena;        /* every weight, owned                           */
    uint64_t   n_floats;
    float     *word, *pos, *type, *eln_w, *eln_b;
    enc_layer *L;
    float     *pool_w, *pool_b; /* BERT pooler, or NULL                       */
    float     *pre_w, *pre_b;   /* DistilBERT pre_classifier, or NULL         */
    float     *cls_w, *cls_b;   /* classifier, or NULL                        */
    tq_wmat    word8;           /* word embeddings kept as stored codes, or none */
    int        n_int8;          /* matrices held as stored (codes or F16/BF16) */
    int        n_plain;         /* of which F16/BF16 values                   */
    uint64_t   int8_bytes;      /* their codes + scales                       */
    int64_t    int8_params;
};

const tq_enc_config *tq_enc_config_of(const tq_enc *e) { return e ? &e->c : NULL; }
int      tq_enc_has_head(const tq_enc *e) { return e && e->cls_w != NULL; }
uint64_t tq_enc_weight_bytes(const tq_enc *e) { return e ? e->n_floats * sizeof(float) + e->int8_bytes : 0; }
int64_t  tq_enc_param_count(const tq_enc *e) { return e ? (int64_t)e->n_floats + e->int8_params : 0; }
int      tq_enc_int8_matrices(const tq_enc *e) { return e ? e->n_int8 - e->n_plain : 0; }

void tq_enc_free(tq_enc *e) {
    if (!e) return;
    for (int l = 0; e->L && l < e->c.n_layers; l++)
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 3; i++) tq_wmat_free(&e->L[l].m8[k][i]);
    tq_wmat_free(&e->word8);
    free(e->arena);
    free(e->L);
    free(e);
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
    e->arena = malloc(sizeof(float) * total);
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

/* ---- forward ------------------------------------------------------------------ */

/* OpenBLAS's sgemm gives different bytes with 1 and with 2 threads (0.3.21,
 * measured), so the forward pass runs OpenBLAS single-threaded and splits
 * the work itself into tasks fixed by the shapes alone: column slabs of
 * SLAB output features for each projection, one (sequence, head) pair for
 * attention, ROWS tokens for row-wise steps. Any number of threads computes
 * each task with the same calls on the same data, hence the same bytes. */
#define SLAB 256
#define ROWS 16

typedef struct fw {
    const tq_enc       *e;
    const tq_enc_batch *b;
    const int32_t *posid;       /* [T] position ids (RoBERTa), or NULL: t % S */
    int    B, S, D, H, T;
    float *x, *qkv, *ctx, *hb;
    float *sc;                  /* [threads, S, S] attention scores           */
    float *wbuf;                /* [threads, SLAB, max(dim, hidden)]: int8 rows decoded */
    int    wk;                  /* max(dim, hidden)                           */
    const enc_layer *L;
    int    phase;
    tq_kact *act;               /* activations quantized once per product for the
                                   kernels (kern.h), or NULL                  */
    const float *act_src;       /* the matrix act holds (x, ctx or hb), or NULL */
    tq_pool *pool;              /* the shared pool, or NULL (one thread)       */
    int    act_ld;
} fw;

enum { PH_EMBED, PH_QKV, PH_ATTN, PH_WO, PH_LN1, PH_FFN1, PH_FFN2, PH_LN2, PH_QACT };

static int n_tasks(const fw *f) {
    int cols = f->phase == PH_QKV ? 3 * f->D : f->phase == PH_FFN1 ? f->H : f->D;
    switch (f->phase) {
    case PH_QKV: case PH_WO: case PH_FFN1: case PH_FFN2: return (cols + SLAB - 1) / SLAB;
    case PH_ATTN: return f->B * f->e->c.n_heads;
    default: return (f->T + ROWS - 1) / ROWS;
    }
}

/* C[:, n0:n1] += A W[n0:n1]^T over all T rows */
static void gemm_slab(float *C, int ldc, const float *A, int lda, const float *W, int T, int n0, int n1, int K) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, n1 - n0, K, 1.0f, A, lda, W + (size_t)n0 * K, K, 1.0f, C + n0, ldc);
}

/* C[:, n0:n1] += A W[n0:n1]^T by the kernels over stored codes (kern.h:
 * activations quantized per row), the parts (fused q/k/v: up to three,
 * stacked by rows) each for its rows of the slab. -1 when a part has no
 * kernel or its buffers cannot be had (before anything is written): the
 * caller decodes. */
static int kern_slab(const fw *f, float *C, int ldc, const float *A, int lda, const tq_wmat *w8, int n0, int n1) {
    int nparts = w8[1].rows ? 3 : 1;
    for (int i = 0; i < nparts; i++)
        if (!tq_wmat_kernel(&w8[i])) return -1;
    for (int64_t i = 0, base = 0; i < nparts && n0 < n1; base += w8[i].rows, i++) {
        int64_t end = base + w8[i].rows;
        if (n0 >= end) continue;
        int64_t e = n1 < end ? n1 : end;
        if (f->act && f->act_src == A && tq_kact_fits(f->act, &w8[i].k))
            tq_wmat_matmul_act(&w8[i], f->act, n0 - base, e - base, C + base, ldc, 1);
        else if (tq_wmat_matmul(&w8[i], A, lda, f->T, n0 - base, e - base, C + base, ldc, 1))
            return -1;
        n0 = (int)e;
    }
    return 0;
}

/* C[:, n0:n1] += A W[n0:n1]^T for a float W, or for a matrix kept as stored
 * codes (up to three parts stacked by rows: fused q/k/v) whose rows n0..n1
 * are first decoded (tq_dequantize_rows, the values tq_dequantize gives)
 * into this worker's buffer: the same sgemm on the same values, so the same
 * bytes as the float path, with the stored bytes per weight held. */
static void proj(const fw *f, float *C, int ldc, const float *A, int lda, const float *W, const tq_wmat *w8, int n0,
                 int n1, int K, int worker) {
    if (!tq_wmat_quantized(&w8[0])) { gemm_slab(C, ldc, A, lda, W, f->T, n0, n1, K); return; }
    if (kern_slab(f, C, ldc, A, lda, w8, n0, n1) == 0) return;
    float *buf = f->wbuf + (size_t)worker * SLAB * (size_t)f->wk;
    tq_wmat_stack_rows(w8, 3, n0, n1, buf);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, f->T, n1 - n0, K, 1.0f, A, lda, buf, K, 1.0f, C + n0, ldc);
}

/* Attention of head h of sequence s: q k^T by sgemm, masked softmax per
 * row, p v by sgemm. BERT scales the scores; DistilBERT scaled q already
 * (as transformers does). Padded keys get weight exactly 0. */
static void attend(const fw *f, int s, int h, float *sc) {
    const tq_enc *e = f->e;
    int D = f->D, S = f->S, hs = e->head_size, ld = 3 * D;
    const float *base = f->qkv + (size_t)s * S * ld;
    const float *q = base + h * hs, *k = base + D + h * hs, *v = base + 2 * D + h * hs;
    const int32_t *mask = f->b->mask ? f->b->mask + (size_t)s * S : NULL;
    float div = sqrtf((float)hs);
    int bert = !e->A->q_scaled;   /* BERT scales the scores, DistilBERT q */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, S, hs, 1.0f, q, ld, k, ld, 0.0f, sc, S);
    for (int i = 0; i < S; i++) {
        float *r = sc + (size_t)i * S, mx = -INFINITY;
        for (int j = 0; j < S; j++) {
            float x = bert ? r[j] / div : r[j];
            if (mask && !mask[j]) x = -INFINITY;
            r[j] = x;
            mx = x > mx ? x : mx;
        }
        float sum = 0;
        for (int j = 0; j < S; j++) { r[j] = expf(r[j] - mx); sum += r[j]; }
        float inv = 1.0f / sum;
        for (int j = 0; j < S; j++) r[j] *= inv;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, hs, S, 1.0f, sc, S, v, ld, 0.0f,
                f->ctx + (size_t)s * S * D + h * hs, D);
}

static void run_task(const fw *f, int task, int worker) {
    const tq_enc *e = f->e;
    const tq_enc_config *c = &e->c;
    const enc_layer *L = f->L;
    int D = f->D, H = f->H, T = f->T;
    int n0 = task * SLAB, r0 = task * ROWS, r1 = r0 + ROWS < T ? r0 + ROWS : T;
    switch (f->phase) {
    case PH_EMBED:   /* BERT adds word + type, then position; DistilBERT word + position */
        for (int t = r0; t < r1; t++) {
            float *r = f->x + (size_t)t * D;
            const float *w = e->word ? e->word + (size_t)f->b->ids[t] * D : NULL, *p = e->pos + (size_t)(f->posid ? f->posid[t] : t % f->S) * D;
            if (!w) {   /* int8 word embeddings: decode this token's row */
                float *buf = f->wbuf + (size_t)worker * SLAB * (size_t)f->wk;
                tq_wmat_rows(&e->word8, f->b->ids[t], f->b->ids[t] + 1, buf);
                w = buf;
            }
            if (e->type) {
                const float *ty = e->type + (size_t)(f->b->type_ids ? f->b->type_ids[t] : 0) * D;
                for (int i = 0; i < D; i++) r[i] = (w[i] + ty[i]) + p[i];
            } else {
                for (int i = 0; i < D; i++) r[i] = w[i] + p[i];
            }
            tq_enc_layernorm(r, r, e->eln_w, e->eln_b, D, c->ln_eps);
        }
        break;
    case PH_QKV: {   /* qkv = bqkv + x Wqkv^T; DistilBERT: q / sqrt(head_size) */
        int n1 = n0 + SLAB < 3 * D ? n0 + SLAB : 3 * D;
        for (int t = 0; t < T; t++) memcpy(f->qkv + (size_t)t * 3 * D + n0, L->bqkv + n0, sizeof(float) * (size_t)(n1 - n0));
        proj(f, f->qkv, 3 * D, f->x, D, L->wqkv, L->m8[M_QKV], n0, n1, D, worker);
        if (e->A->q_scaled && n0 < D) {
            float div = sqrtf((float)e->head_size);
            int q1 = n1 < D ? n1 : D;
            for (int t = 0; t < T; t++)
                for (int i = n0; i < q1; i++) f->qkv[(size_t)t * 3 * D + i] /= div;
        }
        break;
    }
    case PH_ATTN:
        attend(f, task / c->n_heads, task % c->n_heads, f->sc + (size_t)worker * f->S * f->S);
        break;
    case PH_WO: case PH_FFN2: {   /* x = x + b + A W^T (LayerNorm follows) */
        int n1 = n0 + SLAB < D ? n0 + SLAB : D;
        const float *bias = f->phase == PH_WO ? L->bo : L->b2;
        for (int t = 0; t < T; t++)
            for (int i = n0; i < n1; i++) f->x[(size_t)t * D + i] += bias[i];
        if (f->phase == PH_WO) proj(f, f->x, D, f->ctx, D, L->wo, L->m8[M_O], n0, n1, D, worker);
        else proj(f, f->x, D, f->hb, H, L->w2, L->m8[M_FFN2], n0, n1, H, worker);
        break;
    }
    case PH_FFN1: {   /* hb = act(b1 + x W1^T) */
        int n1 = n0 + SLAB < H ? n0 + SLAB : H;
        for (int t = 0; t < T; t++) memcpy(f->hb + (size_t)t * H + n0, L->b1 + n0, sizeof(float) * (size_t)(n1 - n0));
        proj(f, f->hb, H, f->x, D, L->w1, L->m8[M_FFN1], n0, n1, D, worker);
        for (int t = 0; t < T; t++) tq_enc_activate(f->hb + (size_t)t * H + n0, n1 - n0, c->act);
        break;
    }
    case PH_QACT:
        tq_kact_rows(f->act, f->act_src, f->act_ld, r0, r1);
        break;
    case PH_LN1: case PH_LN2:
        for (int t = r0; t < r1; t++)
            tq_enc_layernorm(f->x + (size_t)t * D, f->x + (size_t)t * D, f->phase == PH_LN1 ? L->ln1w : L->ln2w,
                             f->phase == PH_LN1 ? L->ln1b : L->ln2b, D, c->ln_eps);
        break;
    }
}

static void task_fn(void *ctx, int task, int worker) { run_task(ctx, task, worker); }

/* Run every task of the phase on up to n_threads threads of the shared pool
 * (the caller is one; kern/pool.h). */
static void run_phase(fw *f, int phase, int n_threads) {
    f->phase = phase;
    tq_pool_run(f->pool, n_threads, n_tasks(f), task_fn, f);
}

/* Before a projection whose matrix runs a kernel: its input rows quantized
 * once (a phase of ROWS-token tasks) for every slab to share. */
static void quantize_input(fw *f, int phase, int n_threads) {
    static const int mat[] = {[PH_QKV] = M_QKV, [PH_WO] = M_O, [PH_FFN1] = M_FFN1, [PH_FFN2] = M_FFN2};
    f->act_src = NULL;
    if (!f->act || (phase != PH_QKV && phase != PH_WO && phase != PH_FFN1 && phase != PH_FFN2)) return;
    const tq_wmat *w = &f->L->m8[mat[phase]][0];
    if (!tq_wmat_kernel(w)) return;
    if (!tq_kact_holds(f->act, &w->k)) return;
    tq_kact_begin(f->act, f->T, w->cols);
    f->act_src = phase == PH_WO ? f->ctx : phase == PH_FFN2 ? f->hb : f->x;
    f->act_ld = phase == PH_FFN2 ? f->H : f->D;
    run_phase(f, PH_QACT, n_threads);
    f->phase = phase;
}

static tq_status check_batch(const tq_enc *e, const tq_enc_batch *b, const tq_enc_out *o, tq_error *err) {
    if (!e) return tq_err(err, TQ_E_ARG, "encoder: no encoder (NULL)");
    const tq_enc_config *c = &e->c;
    if (!b || !o || b->batch < 1 || !b->ids)
        return tq_err(err, TQ_E_ARG, "encoder: a batch needs at least one sequence and its ids");
    /* every buffer is [batch * seq, width] floats with width <= max(3 dim, hidden) */
    int64_t width = 3 * (int64_t)c->dim > c->hidden_dim ? 3 * (int64_t)c->dim : c->hidden_dim;
    if (b->seq > 0 && ((int64_t)b->batch * b->seq > INT_MAX / 4 ||
                       (int64_t)b->batch * b->seq > (int64_t)(PTRDIFF_MAX / 4) / width))
        return tq_err(err, TQ_E_LIMIT, "encoder: a batch of %d x %d tokens is beyond the encoder's limit (%d tokens)",
                      b->batch, b->seq, INT_MAX / 4);
    if (b->seq < 1 || b->seq > c->max_pos)
        return tq_err(err, TQ_E_ARG, "encoder: sequence length %d is outside [1, %d] (max_position_embeddings)", b->seq,
                      c->max_pos);
    if (e->A->pos == TQ_POS_ABSOLUTE_PADDED && b->seq > c->max_pos - c->pad_token_id - 1)
        return tq_err(err, TQ_E_ARG, "encoder: sequence length %d is beyond %d (max_position_embeddings %d less "
                      "padding_idx %d + 1, where %s positions start)", b->seq, c->max_pos - c->pad_token_id - 1,
                      c->max_pos, c->pad_token_id, e->A->title);
    if (o->logits && !e->cls_w)
        return tq_err(err, TQ_E_ARG, "encoder: logits asked for, but the model has no classification head");
    for (int s = 0; s < b->batch; s++) {
        int real = 0;
        for (int p = 0; p < b->seq; p++) {
            size_t i = (size_t)s * b->seq + p;
            if (b->ids[i] < 0 || b->ids[i] >= c->vocab_size)
                return tq_err(err, TQ_E_ARG, "encoder: sequence %d position %d: id %d is outside the vocabulary [0, %d)", s, p,
                              b->ids[i], c->vocab_size);
            int tmax = e->A->tensor[TQ_R_TYPE_EMB] ? c->type_vocab_size : 1;
            if (b->type_ids && (b->type_ids[i] < 0 || b->type_ids[i] >= tmax))
                return tq_err(err, TQ_E_ARG, "encoder: sequence %d position %d: token type %d is outside [0, %d)", s, p,
                              b->type_ids[i], tmax);
            if (b->mask && b->mask[i] != 0 && b->mask[i] != 1)
                return tq_err(err, TQ_E_ARG, "encoder: sequence %d position %d: mask %d is neither 0 nor 1", s, p, b->mask[i]);
            real += b->mask ? b->mask[i] : 1;
        }
        if (!real) return tq_err(err, TQ_E_ARG, "encoder: sequence %d has no real token (its mask is all 0)", s);
    }
    return TQ_OK;
}

tq_status tq_enc_forward(const tq_enc *e, const tq_enc_batch *b, const tq_enc_out *o, tq_error *err) {
    tq_status st = check_batch(e, b, o, err);
    if (st) return st;
    const tq_enc_config *c = &e->c;
    int B = b->batch, S = b->seq, D = c->dim, H = c->hidden_dim, T = B * S;
    size_t TD = (size_t)T * D;
    int n_threads = tq_threads();   /* tq_set_threads, TRUEQ_THREADS or OpenBLAS's count */
    if (n_threads < 1) n_threads = 1;
    if (n_threads > TQ_ENC_MAX_THREADS) n_threads = TQ_ENC_MAX_THREADS;
    fw f = {.e = e, .b = b, .B = B, .S = S, .D = D, .H = H, .T = T, .pool = tq_pool_shared(n_threads)};
    f.x = malloc(sizeof(float) * TD);
    f.qkv = malloc(sizeof(float) * 3 * TD);
    f.ctx = malloc(sizeof(float) * TD);
    f.hb = malloc(sizeof(float) * (size_t)T * H);
    f.sc = malloc(sizeof(float) * (size_t)S * S * (size_t)n_threads);
    f.wk = D > H ? D : H;
    int32_t *posid = NULL;
    if (e->A->pos == TQ_POS_ABSOLUTE_PADDED) {
        /* transformers' create_position_ids_from_input_ids: each non-pad
         * token (by id, not mask) counts from padding_idx + 1; pads sit at
         * padding_idx */
        posid = malloc(sizeof(int32_t) * (size_t)T);
        for (int s = 0; posid && s < B; s++)
            for (int p = 0, n = 0; p < S; p++) {
                size_t i = (size_t)s * S + p;
                posid[i] = b->ids[i] == c->pad_token_id ? c->pad_token_id : c->pad_token_id + ++n;
            }
        f.posid = posid;
    }
    f.wbuf = e->n_int8 ? malloc(sizeof(float) * SLAB * (size_t)f.wk * (size_t)n_threads) : NULL;
    if (!f.x || !f.qkv || !f.ctx || !f.hb || !f.sc || (e->n_int8 && !f.wbuf) || (e->A->pos == TQ_POS_ABSOLUTE_PADDED && !posid)) {
        st = tq_err(err, TQ_E_NOMEM, "encoder: out of memory for a batch of %d x %d", B, S);
        goto out;
    }
    /* one activation buffer for the kernels, in the first kept matrix's format */
    tq_kact act;
    const tq_wmat *k0 = NULL;
    for (int l = 0; l < c->n_layers && !k0; l++)
        for (int m = 0; m < 4 && !k0; m++) k0 = tq_wmat_kernel(&e->L[l].m8[m][0]) ? &e->L[l].m8[m][0] : NULL;
    if (k0 && tq_kact_init(&act, &k0->k, T, D > H ? D : H) == TQ_OK) f.act = &act;
    float *x = f.x;
    tq_blas_serial_enter();   /* OpenBLAS single-threaded while we run */
    run_phase(&f, PH_EMBED, n_threads);
    if (o->layers) memcpy(o->layers, x, sizeof(float) * TD);
    for (int l = 0; l < c->n_layers; l++) {
        f.L = &e->L[l];
        static const int phases[] = {PH_QKV, PH_ATTN, PH_WO, PH_LN1, PH_FFN1, PH_FFN2, PH_LN2};
        for (size_t k = 0; k < sizeof phases / sizeof phases[0]; k++) {
            quantize_input(&f, phases[k], n_threads);
            run_phase(&f, phases[k], n_threads);
        }
        if (o->layers) memcpy(o->layers + (size_t)(l + 1) * TD, x, sizeof(float) * TD);
    }
    if (o->hidden) memcpy(o->hidden, x, sizeof(float) * TD);

    if (o->pooled) {
        for (int s = 0; s < B; s++) {
            float *out = o->pooled + (size_t)s * D;
            const int32_t *mk = b->mask ? b->mask + (size_t)s * S : NULL;
            if (c->pooling == TQ_POOL_CLS) {
                memcpy(out, x + (size_t)s * S * D, sizeof(float) * (size_t)D);
            } else {
                int n = 0;
                for (int i = 0; i < D; i++) out[i] = 0;
                for (int p = 0; p < S; p++) {
                    if (mk && !mk[p]) continue;
                    const float *r = x + ((size_t)s * S + p) * D;
                    for (int i = 0; i < D; i++) out[i] += r[i];
                    n++;
                }
                for (int i = 0; i < D; i++) out[i] /= (float)n;
            }
            if (c->normalize) {
                double ss = 0;
                for (int i = 0; i < D; i++) ss += (double)out[i] * out[i];
                float nrm = (float)sqrt(ss);
                if (nrm < 1e-12f) nrm = 1e-12f;
                for (int i = 0; i < D; i++) out[i] /= nrm;
            }
        }
    }

    if (o->logits) {
        /* [CLS] rows -> ctx[B, D]; BERT: tanh(pooler); DistilBERT: relu(pre_classifier);
         * RoBERTa: tanh(classifier.dense) */
        int NL = c->n_labels;
        int tanh_head = e->A->head == TQ_HEAD_POOLER_TANH || e->A->head == TQ_HEAD_DENSE_TANH;
        const float *w1 = e->A->head == TQ_HEAD_POOLER_TANH ? e->pool_w : e->pre_w;
        const float *b1 = w1 == e->pool_w ? e->pool_b : e->pre_b;
        float *ctx = f.ctx;
        for (int s = 0; s < B; s++) memcpy(ctx + (size_t)s * D, b1, sizeof(float) * (size_t)D);
        gemm_slab(ctx, D, x, S * D, w1, B, 0, D, D);
        for (int i = 0; i < B * D; i++) ctx[i] = tanh_head ? tanhf(ctx[i]) : (ctx[i] > 0 ? ctx[i] : 0.0f);
        for (int s = 0; s < B; s++) memcpy(o->logits + (size_t)s * NL, e->cls_b, sizeof(float) * (size_t)NL);
        gemm_slab(o->logits, NL, ctx, D, e->cls_w, B, 0, NL, D);
    }
    tq_blas_serial_leave();
    if (f.act) tq_kact_free(f.act);
out:
    free(f.x); free(f.qkv); free(f.ctx); free(f.hb); free(f.sc); free(f.wbuf); free(posid);
    return st;
}
