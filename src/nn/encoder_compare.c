/*
 * encoder_compare.c — run two encoders on the same sequences and compare
 * like with like: pooled embedding against pooled embedding, token state
 * against token state, logits against logits, layer against layer.
 *
 * Only real tokens (mask 1) are compared; padding positions are never read.
 * All sums are accumulated in double in a fixed order (sequence, token,
 * component), so the report does not depend on thread counts.
 */
#include "core/internal.h"
#include "trueq_nn.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void tq_enc_cmp_free(tq_enc_cmp *r) {
    if (!r) return;
    free(r->layer_err);
    r->layer_err = NULL;
    r->n_layer_err = 0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Cosine of two float vectors in double; two zero vectors are identical (1),
 * one zero vector against a non-zero one is orthogonal (0). */
static double cosine(const float *x, const float *y, int n) {
    double xy = 0, xx = 0, yy = 0;
    for (int i = 0; i < n; i++) {
        xy += (double)x[i] * y[i];
        xx += (double)x[i] * x[i];
        yy += (double)y[i] * y[i];
    }
    if (xx == 0 && yy == 0) return 1.0;
    if (xx == 0 || yy == 0) return 0.0;
    return xy / (sqrt(xx) * sqrt(yy));
}

/* Running error of a pair of tensors over the compared elements. */
typedef struct acc {
    double cos_sum, cos_min;
    int64_t cos_n;
    double d2, a2, max_abs;   /* sum (a-b)^2, sum a^2, max |a-b| */
    int64_t n;                /* elements                          */
} acc;

static void acc_init(acc *s) { memset(s, 0, sizeof *s); s->cos_min = INFINITY; }

static void acc_vec(acc *s, const float *x, const float *y, int n, bool with_cos) {
    for (int i = 0; i < n; i++) {
        double d = (double)x[i] - y[i];
        s->d2 += d * d;
        s->a2 += (double)x[i] * x[i];
        if (fabs(d) > s->max_abs || d != d) s->max_abs = fabs(d);
    }
    s->n += n;
    if (with_cos) {
        double c = cosine(x, y, n);
        s->cos_sum += c;
        if (c < s->cos_min || c != c) s->cos_min = c;
        s->cos_n++;
    }
}

static tq_status check_same(const tq_enc_config *ca, const tq_enc_config *cb, tq_error *err) {
    if (ca->arch != cb->arch)
        return tq_err(err, TQ_E_SHAPE, "compare: the encoders differ in architecture (%s vs %s)",
                      tq_enc_arch_name(ca->arch), tq_enc_arch_name(cb->arch));
#define SAME(f) if (ca->f != cb->f) return tq_err(err, TQ_E_SHAPE, "compare: the encoders differ in " #f " (%d vs %d)", (int)ca->f, (int)cb->f)
    SAME(dim);
    SAME(n_layers);
    SAME(vocab_size);
    SAME(type_vocab_size);
    SAME(pooling);
    SAME(normalize);
#undef SAME
    return TQ_OK;
}

/* Every sequence checked before any batch runs, so errors name the input by
 * its index in seqs (not by its place in a batch). */
static tq_status check_seqs(const tq_enc_config *c, int max_pos, const tq_enc_seq *seqs, int n, tq_error *err) {
    for (int i = 0; i < n; i++) {
        const tq_enc_seq *q = &seqs[i];
        if (q->n < 1 || !q->ids) return tq_err(err, TQ_E_ARG, "input %d is empty", i);
        if (q->n > max_pos)
            return tq_err(err, TQ_E_ARG, "input %d has %d tokens, beyond the model's %d positions", i, q->n, max_pos);
        for (int t = 0; t < q->n; t++) {
            if (q->ids[t] < 0 || q->ids[t] >= c->vocab_size)
                return tq_err(err, TQ_E_ARG, "input %d, token %d: id %d is outside the vocabulary [0, %d)", i, t,
                              (int)q->ids[t], c->vocab_size);
            if (c->type_vocab_size > 0 && q->type_ids && (q->type_ids[t] < 0 || q->type_ids[t] >= c->type_vocab_size))
                return tq_err(err, TQ_E_ARG, "input %d, token %d: token type %d is outside [0, %d)", i, t,
                              (int)q->type_ids[t], c->type_vocab_size);
        }
    }
    return TQ_OK;
}

/* Pad sequences seqs[0..nb) to seq tokens into ids/tt/mask ([nb, seq]).
 * Token types are kept only for a model that has more than one (BERT);
 * DistilBERT has no token-type embedding and RoBERTa one type, and like
 * their Hugging Face tokenizers they ignore them (an ids file's '|'). */
static void fill_batch(const tq_enc_seq *seqs, int nb, int seq, const tq_enc_config *c, int32_t *ids, int32_t *tt,
                       int32_t *mask) {
    const int pad = c->pad_token_id;
    const bool types = c->type_vocab_size > 1;
    for (int i = 0; i < nb; i++) {
        const tq_enc_seq *q = &seqs[i];
        for (int t = 0; t < seq; t++) {
            size_t k = (size_t)i * seq + t;
            bool real = t < q->n;
            ids[k] = real ? q->ids[t] : pad;
            tt[k] = real && types && q->type_ids ? q->type_ids[t] : 0;
            mask[k] = real;
        }
    }
}

static int longest(const tq_enc_seq *seqs, int n) {
    int m = 0;
    for (int i = 0; i < n; i++) if (seqs[i].n > m) m = seqs[i].n;
    return m;
}

tq_status tq_enc_run(const tq_enc *e, const tq_enc_seq *seqs, int n_seqs, int batch, float *pooled, float *logits,
                     void (*progress)(void *ud, int done, int total), void *ud, tq_error *err) {
    if (!e || !seqs) return tq_err(err, TQ_E_ARG, "encoder: no encoder or no sequences (NULL)");
    const tq_enc_config *c = tq_enc_config_of(e);
    if (n_seqs < 1) return tq_err(err, TQ_E_ARG, "encoder: no input sequences");
    if (batch < 1) return tq_err(err, TQ_E_ARG, "encoder: batch size %d must be at least 1", batch);
    if (batch > n_seqs) batch = n_seqs;
    tq_status st = check_seqs(c, c->max_pos, seqs, n_seqs, err);
    if (st) return st;
    size_t cells = (size_t)batch * (size_t)longest(seqs, n_seqs);
    int32_t *buf = malloc(3 * cells * sizeof *buf);
    if (!buf) return tq_err(err, TQ_E_NOMEM, "encoder: out of memory for %zu tokens", cells);
    for (int s0 = 0; s0 < n_seqs && !st; s0 += batch) {
        int nb = n_seqs - s0 < batch ? n_seqs - s0 : batch, seq = longest(seqs + s0, nb);
        size_t bc = (size_t)nb * seq;
        fill_batch(seqs + s0, nb, seq, c, buf, buf + bc, buf + 2 * bc);
        tq_enc_batch in = {.batch = nb, .seq = seq, .ids = buf, .type_ids = buf + bc, .mask = buf + 2 * bc};
        tq_enc_out o = {.pooled = pooled ? pooled + (size_t)s0 * c->dim : NULL,
                        .logits = logits ? logits + (size_t)s0 * c->n_labels : NULL};
        st = tq_enc_forward(e, &in, &o, err);
        if (st) tq_err_prefix(err, st, "sequences %d..%d", s0, s0 + nb - 1);
        else if (progress) progress(ud, s0 + nb, n_seqs);
    }
    free(buf);
    return st;
}

typedef struct side_buf {
    float *pooled, *logits, *layers;
} side_buf;

tq_status tq_enc_compare(const tq_enc *a, const tq_enc *b, const tq_enc_seq *seqs, int n_seqs, int batch,
                         tq_enc_cmp *r, tq_error *err) {
    if (!r || !a || !b || !seqs) return tq_err(err, TQ_E_ARG, "compare: an encoder, the sequences or the result is NULL");
    memset(r, 0, sizeof *r);
    const tq_enc_config *ca = tq_enc_config_of(a), *cb = tq_enc_config_of(b);
    tq_status st = check_same(ca, cb, err);
    if (st) return st;
    if (n_seqs < 1) return tq_err(err, TQ_E_ARG, "compare: no input sequences");
    if (batch < 1) return tq_err(err, TQ_E_ARG, "compare: batch size %d must be at least 1", batch);
    if ((st = check_seqs(ca, ca->max_pos < cb->max_pos ? ca->max_pos : cb->max_pos, seqs, n_seqs, err)))
        return tq_err_prefix(err, st, "compare");
    int max_len = longest(seqs, n_seqs);
    const int dim = ca->dim, L1 = ca->n_layers + 1;
    const int nl = ca->n_labels;
    const bool logits = tq_enc_has_head(a) && tq_enc_has_head(b) && nl == cb->n_labels && nl > 0;
    if (batch > n_seqs) batch = n_seqs;

    size_t cells = (size_t)batch * (size_t)max_len;
    int32_t *ids = calloc(cells, sizeof *ids), *tt = calloc(cells, sizeof *tt), *mask = calloc(cells, sizeof *mask);
    side_buf sb[2] = {{0}};
    for (int s = 0; s < 2; s++) {
        sb[s].pooled = malloc((size_t)batch * dim * sizeof(float));
        sb[s].layers = malloc((size_t)L1 * cells * dim * sizeof(float));
        sb[s].logits = logits ? malloc((size_t)batch * nl * sizeof(float)) : NULL;
    }
    acc *lay = malloc((size_t)L1 * sizeof *lay);
    r->layer_err = calloc((size_t)L1, sizeof *r->layer_err);
    bool oom = !ids || !tt || !mask || !lay || !r->layer_err;
    for (int s = 0; s < 2; s++) oom = oom || !sb[s].pooled || !sb[s].layers || (logits && !sb[s].logits);
    if (oom) { st = tq_err(err, TQ_E_NOMEM, "compare: out of memory for batches of %d x %d tokens", batch, max_len); goto out; }
    r->n_layer_err = L1;
    for (int l = 0; l < L1; l++) acc_init(&lay[l]);
    acc pooled, logit;
    acc_init(&pooled);
    acc_init(&logit);
    int64_t agree = 0;
    r->pooled_worst = 0;

    for (int s0 = 0; s0 < n_seqs; s0 += batch) {
        int nb = n_seqs - s0 < batch ? n_seqs - s0 : batch, seq = longest(seqs + s0, nb);
        fill_batch(seqs + s0, nb, seq, ca, ids, tt, mask);
        tq_enc_batch in = {.batch = nb, .seq = seq, .ids = ids, .type_ids = tt, .mask = mask};
        for (int s = 0; s < 2; s++) {
            tq_enc_out o = {.pooled = sb[s].pooled, .logits = sb[s].logits, .layers = sb[s].layers};
            double t0 = now_s();
            st = tq_enc_forward(s ? b : a, &in, &o, err);
            double dt = now_s() - t0;
            if (st) { tq_err_prefix(err, st, "compare: %s model, sequences %d..%d", s ? "second" : "first", s0, s0 + nb - 1); goto out; }
            if (s) r->sec_b += dt; else r->sec_a += dt;
        }
        size_t lstride = (size_t)nb * seq * dim;   /* one layer's block in this batch */
        for (int i = 0; i < nb; i++) {
            const tq_enc_seq *q = &seqs[s0 + i];
            double c = cosine(sb[0].pooled + (size_t)i * dim, sb[1].pooled + (size_t)i * dim, dim);
            if (c < pooled.cos_min || c != c) { pooled.cos_min = c; r->pooled_worst = s0 + i; }
            pooled.cos_sum += c;
            pooled.cos_n++;
            for (int l = 0; l < L1; l++)
                for (int t = 0; t < q->n; t++) {
                    size_t off = (size_t)l * lstride + ((size_t)i * seq + t) * dim;
                    acc_vec(&lay[l], sb[0].layers + off, sb[1].layers + off, dim, true);
                }
            if (logits) {
                const float *la = sb[0].logits + (size_t)i * nl, *lb = sb[1].logits + (size_t)i * nl;
                acc_vec(&logit, la, lb, nl, false);
                int ia = 0, ib = 0;
                for (int k = 1; k < nl; k++) {
                    if (la[k] > la[ia]) ia = k;
                    if (lb[k] > lb[ib]) ib = k;
                }
                agree += ia == ib;
            }
        }
    }
    r->sequences = n_seqs;
    r->tokens = lay[0].cos_n;
    r->pooled_cos_mean = pooled.cos_sum / (double)pooled.cos_n;
    r->pooled_cos_min = pooled.cos_min;
    const acc *last = &lay[L1 - 1];
    r->tok_cos_mean = last->cos_sum / (double)last->cos_n;
    r->tok_cos_min = last->cos_min;
    r->hidden_mse = last->d2 / (double)last->n;
    r->hidden_max_abs = last->max_abs;
    r->has_logits = logits;
    if (logits) {
        r->logits_mse = logit.d2 / (double)logit.n;
        r->logits_max_abs = logit.max_abs;
        /* one output (regression, a cross-encoder's score): no label to agree on */
        r->top1_agree = nl > 1 ? (double)agree / (double)n_seqs : NAN;
    }
    double best = 1.0;
    for (int l = 0; l < L1; l++) {
        tq_enc_layer_err *e = &r->layer_err[l];
        e->cos_mean = lay[l].cos_sum / (double)lay[l].cos_n;
        e->cos_min = lay[l].cos_min;
        e->rel_err = lay[l].a2 > 0 ? sqrt(lay[l].d2 / lay[l].a2) : (lay[l].d2 > 0 ? INFINITY : 0);
        e->max_abs = lay[l].max_abs;
        if (l > 0) {
            double prev = r->layer_err[l - 1].rel_err;
            /* Growth ratio; from an exact layer, any error is infinite growth. */
            double g = prev > 0 ? e->rel_err / prev : (e->rel_err > 0 ? INFINITY : 1.0);
            if (g > best) { best = g; r->worst_growth_layer = l; }
        }
    }
out:
    if (st) tq_enc_cmp_free(r);
    free(ids);
    free(tt);
    free(mask);
    free(lay);
    for (int s = 0; s < 2; s++) { free(sb[s].pooled); free(sb[s].layers); free(sb[s].logits); }
    return st;
}
