/*
 * llama.c — the Llama-family decoder: weights from a tq_model, its state,
 * generation and the two-model comparison (the KV-cached forward pass for
 * one token is llama_step.c).
 *
 * The forward pass for one token t at position pos (x: [dim]):
 *   x = embedding[t]
 *   per layer:  xb = rmsnorm(x) * attention_norm
 *               q = Wq xb, k = Wk xb, v = Wv xb;  rope(q), rope(k)
 *               cache k, v at pos; xb = attention(q, cache[0..pos])
 *               x += Wo xb
 *               xb = rmsnorm(x) * ffn_norm
 *               x += W2 (silu(W1 xb) * (W3 xb))
 *   logits = Wout (rmsnorm(x) * norm)
 */
#include "core/internal.h"
#include "trueq_llama.h"
#include "nn/ops/wmat.h"
#include "nn/llama_impl.h"
#include "nn/ops/ggml_ops.h"
#include "nn/arch/table.h"
#include "nn/llama_gguf.h"
#include "io/model.h"
#include "core/wmem.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


/* ---- tensor names ------------------------------------------------------- */

/* The row's role of each layer tensor kind. */
static const tq_role KIND_ROLE[T_COUNT] = {TQ_R_ATT_NORM, TQ_R_Q, TQ_R_K, TQ_R_V, TQ_R_O,
                                          TQ_R_FFN_NORM, TQ_R_FFN_GATE, TQ_R_FFN_DOWN, TQ_R_FFN_UP};

static void layer_name(char *buf, size_t cap, const tq_arch *A, int l, int kind) {
    tq_arch_name(A, "", KIND_ROLE[kind], l, 0, buf, cap);
}

/* Find `name` and check it is [rows] (cols == 0) or [rows, cols]. */
static const tq_tensor *want(const tq_model *m, const char *name, int64_t rows, int64_t cols, tq_error *err) {
    const tq_tensor *t = tq_model_find(m, name);
    if (!t) { tq_err(err, TQ_E_NOTFOUND, "%s: decoder tensor \"%s\" is missing", tq_model_path(m), name); return NULL; }
    int ok = cols ? (t->ndim == 2 && t->shape[0] == rows && t->shape[1] == cols) : (t->ndim == 1 && t->shape[0] == rows);
    if (!ok) {
        char got[128] = "[", tmp[32];
        for (int i = 0; i < t->ndim && i < 4; i++) {
            snprintf(tmp, sizeof tmp, i ? ", %lld" : "%lld", (long long)t->shape[i]);
            strncat(got, tmp, sizeof got - strlen(got) - 2);
        }
        strcat(got, "]");
        if (cols) tq_err(err, TQ_E_SHAPE, "%s: tensor \"%s\" is %s, the configuration needs [%lld, %lld]",
                         tq_model_path(m), name, got, (long long)rows, (long long)cols);
        else tq_err(err, TQ_E_SHAPE, "%s: tensor \"%s\" is %s, the configuration needs [%lld]",
                    tq_model_path(m), name, got, (long long)rows);
        return NULL;
    }
    return t;
}

/* Phi-3-style fused tensors (Hugging Face naming only): q/k/v stacked as
 * rows of self_attn.qkv_proj [q_rows + 2*kv_rows, dim], gate/up as rows of
 * mlp.gate_up_proj [2*hidden, dim] (gate first). For a layer tensor `kind`
 * that is absent under its own name, gives the fused tensor's name, its row
 * count and the first row of the part; 0 when kind has no fused form. */
static int fused_part(const tq_arch *A, int l, int kind, int64_t D, int64_t KV, int64_t H,
                      char *name, size_t cap, int64_t *fused_rows, int64_t *row0) {
    if ((kind == T_WQ || kind == T_WK || kind == T_WV) && tq_arch_name(A, "", TQ_R_QKV, l, 0, name, cap)) {
        *fused_rows = D + 2 * KV;
        *row0 = kind == T_WQ ? 0 : kind == T_WK ? D : D + KV;
        return 1;
    }
    if ((kind == T_W1 || kind == T_W3) && tq_arch_name(A, "", TQ_R_FFN_GATE_UP, l, 0, name, cap)) {
        *fused_rows = 2 * H;
        *row0 = kind == T_W1 ? 0 : H;
        return 1;
    }
    return 0;
}

/* 1 when layer li's matrix `kind` will be held as stored: F16/BF16 (its
 * own tensor or the fused one it is a part of), or codes kept (keep). */
static int held_as_stored(const tq_model *m, const tq_arch *A, int li, int kind, int64_t D, int64_t KV, int64_t H,
                          int keep, int any_codec) {
    char name[256];
    int64_t fr, r0;
    layer_name(name, sizeof name, A, li, kind);
    const tq_tensor *t = tq_model_find(m, name);
    if (t) return tq_wmat_plain_keepable(t) || (keep && tq_wmat_keepable(t, any_codec));
    if (!fused_part(A, li, kind, D, KV, H, name, sizeof name, &fr, &r0)) return 0;
    t = tq_model_find(m, name);
    return tq_wmat_plain_keepable(t) || (keep && tq_wmat_keepable(t, any_codec));
}

void tq_llama_free(tq_llama *l) {
    if (!l) return;
    if (l->L)
        for (int li = 0; li < l->c.n_layers; li++)
            for (int k = 0; k < T_COUNT + 2; k++) tq_wmat_free(k < T_COUNT ? &l->L[li].w[k] : &l->L[li].fused[k - T_COUNT]);
    tq_wmat_free(&l->out8);
    tq_wmat_free(&l->tok);
    tq_wmat_free(&l->out);
    tq_wmem_free(l->arena);
    free(l->L);
    free(l);
}

/* Non-finite weights would only surface as NaN logits much later: refuse
 * them at open, naming the tensor and the flat index. */
static tq_status check_finite(const float *v, int64_t n, const char *path, const char *tname, const char *what,
                              tq_error *err) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return tq_err(err, TQ_E_VALUE, "%s: tensor \"%s\": %s %lld is %g, not finite", path, tname, what,
                          (long long)i, (double)v[i]);
    return TQ_OK;
}

const tq_llama_config *tq_llama_config_of(const tq_llama *l) { return &l->c; }
uint64_t tq_llama_weight_bytes(const tq_llama *l) { return l->n_floats * sizeof(float) + l->int8_bytes; }
int64_t  tq_llama_param_count(const tq_llama *l) { return (int64_t)l->n_floats + l->int8_params; }
int      tq_llama_int8_matrices(const tq_llama *l) { return l->n_int8; }

/* One matrix a product multiplies: counted by how (held as stored only). */
static void count_kept(const tq_wmat *w, int *kern, int *tiles, int *plain, tq_qparams *first) {
    if (!tq_wmat_quantized(w)) return;
    if (w->plain) { (*plain)++; return; }
    if (tq_wmat_kernel(w)) { (*kern)++; return; }
    if (!*tiles) *first = w->q;
    (*tiles)++;
}

int tq_llama_kept_matrices(const tq_llama *l, int *decoded, int *half, char *first_decoded, size_t cap) {
    int kern = 0, tiles = 0, plain = 0;
    tq_qparams q = {0};
    for (int li = 0; li < l->c.n_layers; li++)
        for (int k = 0; k < T_COUNT; k++) count_kept(&l->L[li].w[k], &kern, &tiles, &plain, &q);
    count_kept(l->c.tied ? &l->tok : &l->out, &kern, &tiles, &plain, &q);   /* the logits product */
    if (decoded) *decoded = tiles;
    if (half) *half = plain;
    if (first_decoded && cap) {
        first_decoded[0] = 0;
        if (tiles) tq_qparams_str(&q, first_decoded, cap);
    }
    return kern;
}

tq_llama *tq_llama_open(const tq_model *m, const tq_llama_config *cfg, tq_error *err) {
    return tq_llama_open_ex(m, cfg, NULL, err);
}

tq_llama *tq_llama_open_ex(const tq_model *m, const tq_llama_config *cfg_in, const tq_llama_opts *opts,
                           tq_error *err) {
    /* matrices kept as stored: linear-sym 8-bit (keep_int8) or any codec (keep_quantized) */
    int keep = opts && (opts->keep_int8 || opts->keep_quantized), any_codec = opts && opts->keep_quantized;
    /* a GGUF file run with its codes kept: F16/BF16 matrices meet activations
     * rounded to their type, as in ggml (the ggml types' kernels always take
     * ggml's activation blocks: docs/kernels.md) */
    int ggml_act = any_codec && tq_model_gguf(m);
    tq_llama_config c;
    if (cfg_in) c = *cfg_in;
    else if (tq_model_gguf(m)) {   /* a GGUF file carries its configuration */
        if (tq_llama_config_gguf(tq_model_gguf(m), tq_model_path(m), &c, err)) return NULL;
    } else if (tq_llama_config_find(tq_model_dir(m), &c, err)) return NULL;
    const char *path = tq_model_path(m);

    /* the family row: the configuration's (config.json's architectures), else
     * from the tensors: the first decoder row whose token embeddings m holds */
    const tq_arch *nm = c.naming ? tq_arch_by_id(TQ_FAMILY_DECODER, (int)c.naming) : NULL;
    char names[3][200];
    if (nm && !tq_arch_find(m, nm, "", TQ_R_TOK_EMB, 0, 0)) nm = NULL;
    for (int i = 0; !nm && i < tq_arch_count(); i++) {
        const tq_arch *a = tq_arch_at(i);
        if (a->family == TQ_FAMILY_DECODER && tq_arch_find(m, a, "", TQ_R_TOK_EMB, 0, 0)) nm = a;
    }
    if (!nm) {
        char list[256] = "";
        size_t used = 0;
        for (int i = 0; i < tq_arch_count() && used < sizeof list; i++)
            if (tq_arch_at(i)->family == TQ_FAMILY_DECODER) {
                tq_arch_name(tq_arch_at(i), "", TQ_R_TOK_EMB, 0, 0, names[0], sizeof names[0]);
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", used ? " or " : "", names[0]);
            }
        tq_err(err, TQ_E_NOTFOUND, "%s: no %s: not a Llama-style decoder", path, list);
        return NULL;
    }
    if (nm->norm != TQ_NORM_RMS || nm->norm_place != TQ_NORM_PRE || nm->act != TQ_ACTK_SILU_GATED ||
        (nm->pos != TQ_POS_ROPE_PAIRS && nm->pos != TQ_POS_ROPE_HALF) || nm->head != TQ_HEAD_LM ||
        (nm->bias & ~(TQ_ROLE_BIT(TQ_R_Q) | TQ_ROLE_BIT(TQ_R_K) | TQ_ROLE_BIT(TQ_R_V)))) {
        tq_err(err, TQ_E_UNSUPPORTED, "%s: family %s: the decoder runs pre-RMSNorm blocks with RoPE, SwiGLU, biases "
               "on q/k/v only and an LM head", path, nm->name);
        return NULL;
    }
    c.naming = (tq_llama_naming)nm->id;
    const char *emb_name = names[0], *norm_name = names[1], *out_name = names[2];
    tq_arch_name(nm, "", TQ_R_TOK_EMB, 0, 0, names[0], sizeof names[0]);
    tq_arch_name(nm, "", TQ_R_FINAL_NORM, 0, 0, names[1], sizeof names[1]);
    tq_arch_name(nm, "", TQ_R_OUTPUT, 0, 0, names[2], sizeof names[2]);

    /* resolve and validate the configuration */
    if (c.dim <= 0 || c.n_layers <= 0 || c.n_heads <= 0) {
        tq_err(err, TQ_E_ARG, "%s: configuration needs dim, n_layers and n_heads > 0", path);
        return NULL;
    }
    if (c.n_kv_heads <= 0) c.n_kv_heads = c.n_heads;
    if (c.dim % c.n_heads || (c.dim / c.n_heads) % 2 || c.n_heads % c.n_kv_heads) {
        tq_err(err, TQ_E_ARG, "%s: dim %d, n_heads %d, n_kv_heads %d: dim must split into n_heads heads of even size, "
               "and n_kv_heads must divide n_heads", path, c.dim, c.n_heads, c.n_kv_heads);
        return NULL;
    }
    if (c.rope_dim == c.dim / c.n_heads) c.rope_dim = 0;
    if (c.rope_dim < 0 || c.rope_dim % 2 || c.rope_dim > c.dim / c.n_heads) {
        tq_err(err, TQ_E_ARG, "%s: rope_dim %d must be even and at most head_size %d", path, c.rope_dim, c.dim / c.n_heads);
        return NULL;
    }
    int rdim = c.rope_dim ? c.rope_dim : c.dim / c.n_heads;
    if (c.n_rope_factors && c.n_rope_factors != rdim / 2) {
        tq_err(err, TQ_E_ARG, "%s: rope_scaling gives %d factors, the heads need %s/2 = %d", path,
               c.n_rope_factors, c.rope_dim ? "rope_dim" : "head_size", rdim / 2);
        return NULL;
    }
    if (!c.n_rope_factors) c.rope_mscale = 1.0f;
    if (c.n_rope_long && (c.n_rope_long != c.n_rope_factors || c.rope_orig_ctx < 1)) {
        tq_err(err, TQ_E_ARG, "%s: %d long RoPE factors need as many short ones (%d) and an original context (%d)", path,
               c.n_rope_long, c.n_rope_factors, c.rope_orig_ctx);
        return NULL;
    }
    if (c.sliding_window < 0 || c.n_eos < 0 || c.n_eos > TQ_LLAMA_MAX_EOS) {
        tq_err(err, TQ_E_ARG, "%s: sliding_window %d, n_eos %d", path, c.sliding_window, c.n_eos);
        return NULL;
    }
    for (int j = 0; j < c.n_rope_factors + c.n_rope_long; j++)
        if (!(j < c.n_rope_factors ? c.rope_factors[j] > 0 && isfinite(c.rope_factors[j])
                                   : c.rope_long_factors[j - c.n_rope_factors] > 0 &&
                                         isfinite(c.rope_long_factors[j - c.n_rope_factors]))) {
            tq_err(err, TQ_E_ARG, "%s: rope_scaling factor %d is %g; factors must be finite and > 0", path, j,
                   (double)c.rope_factors[j]);
            return NULL;
        }
    if (!(c.rope_mscale > 0) || !isfinite(c.rope_mscale)) {
        tq_err(err, TQ_E_ARG, "%s: rope_scaling attention factor %g must be finite and > 0", path, (double)c.rope_mscale);
        return NULL;
    }
    if (c.max_seq_len <= 0 || !(c.norm_eps >= 0) || !(c.rope_theta > 0)) {
        tq_err(err, TQ_E_ARG, "%s: configuration has max_seq_len %d, norm_eps %g, rope_theta %g", path,
               c.max_seq_len, (double)c.norm_eps, (double)c.rope_theta);
        return NULL;
    }
    const tq_tensor *emb = tq_model_find(m, emb_name);
    if (emb->ndim != 2 || emb->shape[1] != c.dim || emb->shape[0] < 1 || emb->shape[0] > INT32_MAX) {
        tq_err(err, TQ_E_SHAPE, "%s: tensor \"%s\" must be [vocab, %d]", path, emb_name, c.dim);
        return NULL;
    }
    if (c.vocab_size <= 0) c.vocab_size = (int)emb->shape[0];
    char name[256];
    layer_name(name, sizeof name, nm, 0, T_W1);
    const tq_tensor *w1 = tq_model_find(m, name);
    if (w1 && c.hidden_dim <= 0 && w1->ndim == 2 && w1->shape[0] > 0 && w1->shape[0] < INT32_MAX)
        c.hidden_dim = (int)w1->shape[0];
    if (!w1) {   /* fused gate_up_proj: [2*hidden, dim] */
        const tq_tensor *gu = tq_arch_find(m, nm, "", TQ_R_FFN_GATE_UP, 0, 0);
        if (gu && c.hidden_dim <= 0 && gu->ndim == 2 && gu->shape[0] > 0 && gu->shape[0] % 2 == 0 && gu->shape[0] < INT32_MAX)
            c.hidden_dim = (int)(gu->shape[0] / 2);
    }
    if (c.hidden_dim <= 0) {
        tq_err(err, TQ_E_ARG, "%s: hidden_dim is neither configured nor given by \"%s\"", path, name);
        return NULL;
    }
    const tq_tensor *outw = tq_model_find(m, out_name);
    if (c.tied < 0) c.tied = outw == NULL;
    if (!c.tied && !outw) {
        tq_err(err, TQ_E_NOTFOUND, "%s: the output is not tied but \"%s\" is missing", path, out_name);
        return NULL;
    }

    tq_llama *l = calloc(1, sizeof *l);
    if (!l) { tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    l->c = c;
    l->A = nm;
    l->head_size = c.dim / c.n_heads;
    l->kv_dim = c.n_kv_heads * l->head_size;
    l->rope_dim = rdim;
    l->L = calloc((size_t)c.n_layers, sizeof *l->L);
    if (!l->L) { tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }

    /* plan: every tensor, its shape and where it goes */
    int64_t D = c.dim, H = c.hidden_dim, KV = l->kv_dim, V = c.vocab_size;
    int64_t rows[T_COUNT] = {D, D, KV, KV, D, D, H, D, H};
    int64_t cols[T_COUNT] = {0, D, D, D, D, 0, D, H, D};
    uint64_t per_layer = 0;
    for (int k = 0; k < T_COUNT; k++) per_layer += (uint64_t)(rows[k] * (cols[k] ? cols[k] : 1));
    for (int k = T_WQ; k <= T_WV; k++)   /* q/k/v biases (Qwen2) */
        if (nm->bias & TQ_ROLE_BIT(KIND_ROLE[k])) per_layer += (uint64_t)rows[k];
    uint64_t total = (uint64_t)(V * D) * (c.tied ? 1 : 2) + (uint64_t)D + per_layer * (uint64_t)c.n_layers;
    /* matrices held as stored (F16/BF16 always; codes when kept) take no float32 room */
    for (int li = 0; li < c.n_layers; li++)
        for (int k = 0; k < T_COUNT; k++)
            if (cols[k] && held_as_stored(m, nm, li, k, D, KV, H, keep, any_codec)) total -= (uint64_t)(rows[k] * cols[k]);
    if (tq_wmat_plain_keepable(emb) || (keep && any_codec && tq_wmat_keepable(emb, 1))) total -= (uint64_t)(V * D);
    if (!c.tied && (tq_wmat_plain_keepable(outw) || (keep && any_codec && tq_wmat_keepable(outw, 1))))
        total -= (uint64_t)(V * D);
    if (total > (uint64_t)1 << 40) { tq_err(err, TQ_E_LIMIT, "%s: %llu weights exceed the decoder's limit", path, (unsigned long long)total); goto fail; }
    l->arena = tq_wmem_alloc(sizeof(float) * total);
    if (!l->arena) { tq_err(err, TQ_E_NOMEM, "%s: out of memory for %llu float32 weights", path, (unsigned long long)total); goto fail; }
    l->n_floats = total;
    float *p = l->arena;
    const tq_tensor *t;
#define LOAD(dst, nm_, r_, c_) do { \
        if (!(t = want(m, (nm_), (r_), (c_), err))) goto fail; \
        (dst) = p; \
        if (tq_model_tensor_f32(m, t, p, err)) goto fail; \
        if (check_finite(p, (r_) * ((c_) ? (c_) : 1), path, (nm_), "value", err)) goto fail; \
        p += (r_) * ((c_) ? (c_) : 1); \
    } while (0)
    for (int o = 0; o < (c.tied ? 1 : 2); o++) {   /* the embeddings, the untied output */
        const char *tn = o ? out_name : emb_name;
        tq_wmat *dw = o ? &l->out : &l->tok;
        if (!(t = want(m, tn, V, D, err))) goto fail;
        if (tq_wmat_plain_keepable(t)) {
            if (tq_wmat_keep_plain(dw, m, t, path, err)) goto fail;
            if (ggml_act) tq_wmat_ggml_act(dw);
            l->int8_bytes += dw->bytes;
            l->int8_params += V * D;
            l->n_plain++;
        } else if (keep && any_codec && tq_wmat_keepable(t, 1)) {
            /* codes kept: a lookup decodes one row; the logits run its kernel
             * when one multiplies the codec, else decode row tiles */
            if (tq_wmat_keep(dw, m, t, path, err)) goto fail;
            l->int8_bytes += dw->bytes;
            l->int8_params += V * D;
            l->n_int8++;
        } else {
            const float *v;
            LOAD(v, tn, V, D);
            tq_wmat_set_f32(dw, v, V, D);
        }
    }
    LOAD(l->norm, norm_name, D, 0);
    for (int li = 0; li < c.n_layers; li++) {
        const float *fused_qkv = NULL, *fused_gu = NULL;   /* this layer's fused tensors (Phi-3) */
        for (int k = T_WQ; k <= T_WV; k++)
            if (nm->bias & TQ_ROLE_BIT(KIND_ROLE[k])) {
                tq_arch_name(nm, "", KIND_ROLE[k], li, 1, name, sizeof name);
                LOAD(l->L[li].bias[k - T_WQ], name, rows[k], 0);
            }
        for (int k = 0; k < T_COUNT; k++) {
            tq_wmat *wk = &l->L[li].w[k];
            const float *dst = NULL;
            const float **dst_k = &dst;
            layer_name(name, sizeof name, nm, li, k);
            const tq_tensor *ti = tq_model_find(m, name);
            if (keep && cols[k] && tq_wmat_keepable(ti, any_codec)) {
                if (!want(m, name, rows[k], cols[k], err)) goto fail;
                if (tq_wmat_keep(wk, m, ti, path, err)) goto fail;
                l->int8_bytes += wk->bytes;
                l->int8_params += rows[k] * cols[k];
                l->n_int8++;
                continue;
            }
            char fname[256];
            int64_t frows, row0;
            if (cols[k] && ti && tq_wmat_plain_keepable(ti)) {   /* F16/BF16: held as stored */
                if (!want(m, name, rows[k], cols[k], err) || tq_wmat_keep_plain(wk, m, ti, path, err)) goto fail;
                if (ggml_act) tq_wmat_ggml_act(wk);
                l->int8_bytes += wk->bytes;
                l->int8_params += rows[k] * cols[k];
                l->n_plain++;
                continue;
            }
            if (!ti && fused_part(nm, li, k, D, KV, H, fname, sizeof fname, &frows, &row0) &&
                (t = tq_model_find(m, fname)) &&
                (tq_wmat_plain_keepable(t) || (keep && tq_wmat_keepable(t, any_codec)))) {
                /* fused, F16/BF16 or codes kept: held once as stored at its
                 * first part (codes without a kernel of their own); the parts
                 * are row views, each with its own kernel */
                tq_wmat *fw = &l->L[li].fused[k <= T_WV ? 0 : 1];
                if (row0 == 0) {
                    if (!want(m, fname, frows, cols[k], err)) goto fail;
                    if (tq_wmat_plain_keepable(t) ? tq_wmat_keep_plain(fw, m, t, path, err)
                                                  : tq_wmat_keep_codes(fw, m, t, path, err)) goto fail;
                    if (ggml_act) tq_wmat_ggml_act(fw);
                    l->int8_bytes += fw->bytes;
                    l->int8_params += frows * cols[k];
                    if (fw->plain) l->n_plain++;
                    else l->n_int8++;
                } else if (!fw->codes) {
                    tq_err(err, TQ_E_FORMAT, "%s: layer %d has \"%s\" but also a separate %s matrix", path, li, fname,
                           k <= T_WV ? "q" : "gate");
                    goto fail;
                }
                if (tq_wmat_view_rows(wk, fw, row0, rows[k])) {
                    tq_err(err, TQ_E_NOMEM, "%s: out of memory for the kernel layout of rows [%lld, +%lld) of \"%s\"",
                           path, (long long)row0, (long long)rows[k], fname);
                    goto fail;
                }
                l->int8_bytes += wk->bytes;
                continue;
            }
            if (!ti && fused_part(nm, li, k, D, KV, H, fname, sizeof fname, &frows, &row0) &&
                tq_model_find(m, fname)) {
                /* the fused tensor is decoded once, at its first part; every
                 * part is a view of its rows (no copy) */
                const float **base = k <= T_WV ? &fused_qkv : &fused_gu;
                if (row0 == 0) LOAD(*base, fname, frows, cols[k]);
                else if (!*base) {
                    tq_err(err, TQ_E_FORMAT, "%s: layer %d has \"%s\" but also a separate %s matrix", path, li, fname,
                           k <= T_WV ? "q" : "gate");
                    goto fail;
                }
                tq_wmat_set_f32(wk, *base + row0 * cols[k], rows[k], cols[k]);
                continue;
            }
            LOAD(*dst_k, name, rows[k], cols[k]);
            tq_wmat_set_f32(wk, dst, rows[k], cols[k] ? cols[k] : 1);
        }
    }
#undef LOAD
    TQ_ASSERT((uint64_t)(p - l->arena) == total);
    /* ggml's RMSNorm, RoPE, SwiGLU and attention where ggml's products run (quantized codes kept) */
    l->ggml_ops = ggml_act && tq_llama_kept_matrices(l, NULL, NULL, NULL, 0) > 0;
    return l;
fail:
    tq_llama_free(l);
    return NULL;
}

/* ---- state ----------------------------------------------------------------- */

void tq_llama_state_free(tq_llama_state *s) {
    if (!s) return;
    free(s->wbuf);
    free(s->x); free(s->xb); free(s->xb2); free(s->q); free(s->hb); free(s->hb2); free(s->att);
    free(s->rope_cs);
    tq_wmem_free(s->kc); tq_wmem_free(s->vc);
    free(s);
}

tq_llama_state *tq_llama_state_create(const tq_llama *l, int max_seq, tq_error *err) {
    const tq_llama_config *c = &l->c;
    if (max_seq <= 0 || max_seq > c->max_seq_len) max_seq = c->max_seq_len;
    tq_llama_state *s = calloc(1, sizeof *s);
    if (!s) { tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    s->owner = l;
    s->max_seq = max_seq;
    /* LongRoPE: a sequence longer than the original context takes the long
     * factors at every position (transformers 4.46 picks by the length) */
    s->rope_f = !c->n_rope_factors ? NULL
              : c->n_rope_long && max_seq > c->rope_orig_ctx ? c->rope_long_factors : c->rope_factors;
    size_t cache = (size_t)c->n_layers * (size_t)max_seq * (size_t)l->kv_dim;
    s->x = malloc(sizeof(float) * (size_t)c->dim);
    s->xb = malloc(sizeof(float) * (size_t)c->dim);
    s->xb2 = malloc(sizeof(float) * (size_t)c->dim);
    s->q = malloc(sizeof(float) * (size_t)c->dim);
    s->hb = malloc(sizeof(float) * (size_t)c->hidden_dim);
    s->hb2 = malloc(sizeof(float) * (size_t)c->hidden_dim);
    s->att = malloc(sizeof(float) * (size_t)c->n_heads * (size_t)max_seq);   /* a scratch row per head */
    s->rope_cs = malloc(sizeof(double) * (size_t)l->rope_dim);
    if (l->n_int8 || l->n_plain) {
        size_t mc = (size_t)(c->dim > c->hidden_dim ? c->dim : c->hidden_dim);
        s->wbuf = malloc(sizeof(float) * (4 * mc > I8_BUF_FLOATS ? 4 * mc : I8_BUF_FLOATS));
        if (!s->wbuf) { tq_llama_state_free(s); tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    }
    s->kc = tq_wmem_scratch(cache * sizeof(float), 1);   /* streamed every step: huge pages when large (wmem.h) */
    s->vc = tq_wmem_scratch(cache * sizeof(float), 1);
    if (!s->x || !s->xb || !s->xb2 || !s->q || !s->hb || !s->hb2 || !s->att || !s->rope_cs || !s->kc || !s->vc) {
        tq_llama_state_free(s);
        tq_err(err, TQ_E_NOMEM, "out of memory for a KV cache of %d positions", max_seq);
        return NULL;
    }
    return s;
}

/* ---- generation ------------------------------------------------------------ */

tq_status tq_llama_generate(const tq_llama *l, const int *prompt, int n_prompt,
                            const tq_llama_gen *g, tq_llama_token_fn fn, void *ctx,
                            int *n_generated, tq_error *err) {
    if (n_generated) *n_generated = 0;
    const tq_llama_config *c = &l->c;
    if (n_prompt < 1) return tq_err(err, TQ_E_ARG, "generate: the prompt needs at least one token (BOS)");
    if (n_prompt > c->max_seq_len)
        return tq_err(err, TQ_E_LIMIT, "generate: prompt of %d tokens exceeds the context of %d", n_prompt, c->max_seq_len);
    if (g->steps < 0) return tq_err(err, TQ_E_ARG, "generate: steps %d < 0", g->steps);
    int64_t want_pos = (int64_t)n_prompt + g->steps;
    int cap = want_pos < c->max_seq_len ? (int)want_pos : c->max_seq_len;
    tq_llama_state *s = tq_llama_state_create(l, cap, err);
    float *logits = malloc(sizeof(float) * (size_t)c->vocab_size);
    float *scratch = malloc(sizeof(float) * (size_t)c->vocab_size);
    if (!s || !logits || !scratch) {
        tq_llama_state_free(s); free(logits); free(scratch);
        return err && err->status ? err->status : tq_err(err, TQ_E_NOMEM, "out of memory");
    }
    uint64_t rng = g->seed;
    tq_status st = TQ_OK;
    int generated = 0;
    /* the prompt as one batch (tq_llama_forward_batch); with no step to take,
     * its last token is never run, as one position at a time did */
    int np = g->steps > 0 ? n_prompt : n_prompt - 1;
    if (np > 0 && (st = tq_llama_forward_batch(l, s, prompt, np, 0, g->steps > 0 ? logits : NULL, err))) goto done;
    for (int pos = 0; pos + 1 < n_prompt; pos++)
        if (fn && fn(ctx, prompt[pos], prompt[pos + 1])) goto done;
    int token = prompt[n_prompt - 1];
    for (int pos = n_prompt - 1; pos < cap && generated < g->steps; pos++) {
        if (pos > n_prompt - 1 && (st = tq_llama_forward(l, s, token, pos, logits, err))) break;
        int next = tq_llama_sample(logits, c->vocab_size, g->temperature, g->top_p, &rng, scratch);
        generated++;
        if (g->step_fn && g->step_fn(g->step_ctx, pos, next, logits, c->vocab_size)) break;
        int stop = next == g->stop_token_a || next == g->stop_token_b;
        for (int i = 0; !stop && g->stop_ids && i < g->n_stop_ids; i++) stop = next == g->stop_ids[i];
        if (stop) break;
        if (fn && fn(ctx, token, next)) break;
        token = next;
    }
done:
    if (n_generated) *n_generated = generated;
    tq_llama_state_free(s);
    free(logits);
    free(scratch);
    return st;
}

/* ---- comparison ------------------------------------------------------------- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* log-softmax of x[n] into out[n], in double */
static void log_softmax(const float *x, int n, double *out) {
    double mx = x[0];
    for (int i = 1; i < n; i++) if (x[i] > mx) mx = x[i];
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += exp((double)x[i] - mx);
    double lse = mx + log(sum);
    for (int i = 0; i < n; i++) out[i] = (double)x[i] - lse;
}

tq_status tq_llama_compare(const tq_llama *a, const tq_llama *b, const int *ids, int n, int bos,
                           tq_llama_cmp *r, tq_error *err) {
    memset(r, 0, sizeof *r);
    if (n < 1) return tq_err(err, TQ_E_ARG, "compare: the text gives no tokens to predict");
    int V = a->c.vocab_size;
    if (b && b->c.vocab_size != V)
        return tq_err(err, TQ_E_SHAPE, "compare: vocabularies differ (%d vs %d tokens)", V, b->c.vocab_size);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= V) return tq_err(err, TQ_E_ARG, "compare: token %d at %d is outside [0, %d)", ids[i], i, V);
    if (bos < 0 || bos >= V) return tq_err(err, TQ_E_ARG, "compare: BOS %d is outside [0, %d)", bos, V);
    int ctx = a->c.max_seq_len;
    if (b && b->c.max_seq_len < ctx) ctx = b->c.max_seq_len;
    if (ctx < 2) return tq_err(err, TQ_E_ARG, "compare: a context of %d positions holds no prediction", ctx);
    int W = ctx - 1;   /* tokens predicted per window */
    int span = n < W ? n : W;
    tq_llama_state *sa = tq_llama_state_create(a, span, err);
    tq_llama_state *sb = b ? tq_llama_state_create(b, span, err) : NULL;
    float *la = malloc(sizeof(float) * (size_t)V), *lb = malloc(sizeof(float) * (size_t)V);
    double *pa = malloc(sizeof(double) * (size_t)V), *pb = malloc(sizeof(double) * (size_t)V);
    tq_status st = TQ_OK;
    if (!sa || (b && !sb) || !la || !lb || !pa || !pb) {
        st = err && err->status ? err->status : tq_err(err, TQ_E_NOMEM, "out of memory");
        goto out;
    }
    double kl_sum = 0.0, nll_a = 0.0, nll_b = 0.0;
    int64_t agree = 0;
    for (int w0 = 0; w0 < n; w0 += W) {
        int wn = n - w0 < W ? n - w0 : W;
        r->windows++;
        for (int p = 0; p < wn; p++) {
            int in = p == 0 ? bos : ids[w0 + p - 1];
            int target = ids[w0 + p];
            double t0 = now_s();
            if ((st = tq_llama_forward(a, sa, in, p, la, err))) goto out;
            double t1 = now_s();
            r->sec_a += t1 - t0;
            log_softmax(la, V, pa);
            nll_a -= pa[target];
            if (b) {
                if ((st = tq_llama_forward(b, sb, in, p, lb, err))) goto out;
                r->sec_b += now_s() - t1;
                log_softmax(lb, V, pb);
                nll_b -= pb[target];
                double kl = 0.0;
                for (int i = 0; i < V; i++) kl += exp(pa[i]) * (pa[i] - pb[i]);
                if (kl < 0) kl = 0;   /* rounding below zero for identical rows */
                kl_sum += kl;
                if (kl > r->kl_max) r->kl_max = kl;
                agree += tq_llama_argmax(la, V) == tq_llama_argmax(lb, V);
            }
            r->predictions++;
            r->tokens_run++;
        }
    }
    r->nll_a = nll_a / (double)r->predictions;
    r->ppl_a = exp(r->nll_a);
    if (b) {
        r->nll_b = nll_b / (double)r->predictions;
        r->ppl_b = exp(r->nll_b);
        r->kl_mean = kl_sum / (double)r->predictions;
        r->top1_agree = (double)agree / (double)r->predictions;
    }
out:
    tq_llama_state_free(sa);
    tq_llama_state_free(sb);
    free(la); free(lb); free(pa); free(pb);
    return st;
}
