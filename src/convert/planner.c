/*
 * planner.c — bits per tensor to a byte budget (docs/planner.md).
 *
 * For every tensor the base options would quantize, each menu entry (and
 * "keep") has an exact byte cost (tq_qparams_layout, as the plan lays it
 * out) and an error proxy: the squared error of quantizing that tensor with
 * that entry, times the tensor's sensitivity. The solver starts from the
 * cheapest choice everywhere, upgrades greedily by error saved per byte while
 * the budget holds, then tries pairwise exchanges (one tensor down, another
 * up) that lower the total error. The exact file size comes from
 * tq_plan_create over the resulting rules; when header or padding make it
 * exceed the target, the budget is lowered by the excess and solved again.
 */
#include "convert/convert.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPT 17   /* 16 menu entries + keep */

typedef struct cand {
    int64_t  tensor;             /* model tensor index   */
    int      n_opt;
    int      menu[MAX_OPT];      /* -1 = keep            */
    uint64_t bytes[MAX_OPT];
    double   werr[MAX_OPT];
    double   sens;
} cand;

struct tq_planner {
    tq_convert_options  o;
    tq_convert_rule    *rules;
    char              **globs;
    tq_qparams         *menu;
    tq_planner_entry   *ent;
    int64_t             n;
    uint64_t            out_bytes;
    uint64_t            target;     /* the byte budget solved for */
    int                 measured;   /* errors from po->measure        */
};

static double proxy(const cand *c, int k) { return c->werr[k] * c->sens; }

/* Squared error of quantizing w[rows*cols] with q (sum over the elements). */
static tq_status weight_error(const tq_qparams *q, const char *name, const float *w, int64_t rows, int64_t cols,
                              double *sse, tq_error *err) {
    tq_dtype cd;
    int64_t cs[2];
    tq_aux_desc aux[TQ_MAX_AUX];
    int na = tq_qparams_layout(q, rows, cols, &cd, cs, aux);
    if (na < 0) return tq_err(err, TQ_E_ARG, "tensor \"%s\": menu entry has no layout", name);
    void *codes = malloc(tq_nbytes(cd, 2, cs) + 1), *ab[TQ_MAX_AUX] = {0};
    float *back = malloc(sizeof(float) * (size_t)(rows * cols) + 1);
    tq_status st = (codes && back) ? TQ_OK : tq_err(err, TQ_E_NOMEM, "out of memory");
    for (int a = 0; a < na && !st; a++)
        if (!(ab[a] = malloc(tq_nbytes(aux[a].dtype, aux[a].ndim, aux[a].shape) + 1))) st = tq_err(err, TQ_E_NOMEM, "out of memory");
    if (!st) st = tq_quantize(q, name, w, rows, cols, codes, ab, 0, err);
    if (!st) st = tq_dequantize(q, rows, cols, codes, (const void *const *)ab, back, err);
    double s = 0;
    if (!st) for (int64_t i = 0; i < rows * cols; i++) { double d = (double)w[i] - (double)back[i]; s += d * d; }
    *sse = s;
    for (int a = 0; a < TQ_MAX_AUX; a++) free(ab[a]);
    free(codes); free(back);
    return st;
}

/* The choice per candidate within `budget` bytes (sum of candidate bytes);
 * false when even the cheapest choices exceed it. */
static void fill(const cand *c, int64_t n, uint64_t budget, uint64_t floor, int *ch, uint64_t total);

static bool solve(const cand *c, int64_t n, uint64_t budget, uint64_t floor, int *ch) {
    uint64_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        int b = 0;
        for (int k = 1; k < c[i].n_opt; k++)
            if (c[i].bytes[k] < c[i].bytes[b] || (c[i].bytes[k] == c[i].bytes[b] && proxy(&c[i], k) < proxy(&c[i], b))) b = k;
        ch[i] = b;
        total += c[i].bytes[b];
    }
    if (total > budget) return false;
    for (int round = 0; round < 10000; round++) {
        /* greedy: the upgrade that saves most error per byte and fits */
        for (;;) {
            double best = 0;
            int64_t bi = -1;
            int bk = -1;
            for (int64_t i = 0; i < n; i++)
                for (int k = 0; k < c[i].n_opt; k++) {
                    const int cur = ch[i];
                    if (c[i].bytes[k] <= c[i].bytes[cur] || proxy(&c[i], k) >= proxy(&c[i], cur)) continue;
                    if (total - c[i].bytes[cur] + c[i].bytes[k] > budget) continue;
                    double r = (proxy(&c[i], cur) - proxy(&c[i], k)) / (double)(c[i].bytes[k] - c[i].bytes[cur]);
                    if (r > best) { best = r; bi = i; bk = k; }
                }
            if (bi < 0) break;
            total = total - c[bi].bytes[ch[bi]] + c[bi].bytes[bk];
            ch[bi] = bk;
        }
        /* exchange: one tensor down, another up, if the total error falls */
        double best = 0;
        int64_t bi = -1, bj = -1;
        int ba = -1, bb = -1;
        for (int64_t i = 0; i < n; i++)
            for (int a = 0; a < c[i].n_opt; a++) {
                if (c[i].bytes[a] >= c[i].bytes[ch[i]]) continue;
                const uint64_t freed = c[i].bytes[ch[i]] - c[i].bytes[a];
                const double up = proxy(&c[i], a) - proxy(&c[i], ch[i]);
                for (int64_t j = 0; j < n; j++) {
                    if (j == i) continue;
                    for (int b = 0; b < c[j].n_opt; b++) {
                        if (c[j].bytes[b] <= c[j].bytes[ch[j]]) continue;
                        if (total - freed - c[j].bytes[ch[j]] + c[j].bytes[b] > budget) continue;
                        double d = up + proxy(&c[j], b) - proxy(&c[j], ch[j]);
                        if (d < best - 1e-12 * fabs(best)) { best = d; bi = i; ba = a; bj = j; bb = b; }
                    }
                }
            }
        if (bi < 0 || !(best < 0)) break;
        total = total - c[bi].bytes[ch[bi]] + c[bi].bytes[ba] - c[bj].bytes[ch[bj]] + c[bj].bytes[bb];
        ch[bi] = ba; ch[bj] = bb;
    }
    fill(c, n, budget, floor, ch, total);
    return true;
}

/* Below `floor` (the budget less 1%) the least error is left on the table
 * when steps are coarse: take the move (one upgrade, or one tensor down and
 * another up) that adds bytes within the budget at the smallest error cost,
 * until the floor is reached or no move adds bytes. */
static void fill(const cand *c, int64_t n, uint64_t budget, uint64_t floor, int *ch, uint64_t total) {
    while (total < floor) {
        double best = INFINITY;
        int64_t bi = -1, bj = -1;
        int ba = -1, bb = -1;
        uint64_t bt = 0;
        for (int64_t i = 0; i < n; i++)
            for (int a = 0; a < c[i].n_opt; a++) {
                const uint64_t ti = total - c[i].bytes[ch[i]] + c[i].bytes[a];
                const double di = proxy(&c[i], a) - proxy(&c[i], ch[i]);
                if (a == ch[i]) continue;
                if (ti > total && ti <= budget && (di < best || (di == best && ti > bt))) { best = di; bi = i; ba = a; bj = -1; bt = ti; }
                for (int64_t j = i + 1; j < n; j++)
                    for (int b = 0; b < c[j].n_opt; b++) {
                        if (b == ch[j]) continue;
                        const uint64_t t = ti - c[j].bytes[ch[j]] + c[j].bytes[b];
                        const double d = di + proxy(&c[j], b) - proxy(&c[j], ch[j]);
                        if (t > total && t <= budget && (d < best || (d == best && t > bt))) { best = d; bi = i; ba = a; bj = j; bb = b; bt = t; }
                    }
            }
        if (bi < 0) return;
        ch[bi] = ba;
        if (bj >= 0) ch[bj] = bb;
        total = bt;
    }
}

/* A glob that matches exactly `name` (glob characters in brackets). */
static char *literal_glob(const char *name) {
    size_t n = 0;
    for (const char *s = name; *s; s++) n += strchr("*?[]\\", *s) ? 3 : 1;
    char *g = malloc(n + 1), *d = g;
    if (!g) return NULL;
    for (const char *s = name; *s; s++) {
        if (strchr("*?[]\\", *s)) { *d++ = '['; *d++ = *s; *d++ = ']'; } else *d++ = *s;
    }
    *d = 0;
    return g;
}

void tq_planner_free(tq_planner *pl) {
    if (!pl) return;
    for (int64_t i = 0; i < pl->n; i++) free(pl->globs[i]);
    free(pl->globs); free(pl->rules); free(pl->menu); free(pl->ent);
    free(pl);
}

int64_t tq_planner_count(const tq_planner *pl) { return pl->n; }
const tq_planner_entry *tq_planner_entry_at(const tq_planner *pl, int64_t i) { return (i >= 0 && i < pl->n) ? &pl->ent[i] : NULL; }
const tq_convert_options *tq_planner_options_out(const tq_planner *pl) { return &pl->o; }
uint64_t tq_planner_output_bytes(const tq_planner *pl) { return pl->out_bytes; }
uint64_t tq_planner_target_bytes(const tq_planner *pl) { return pl ? pl->target : 0; }
int      tq_planner_measured(const tq_planner *pl) { return pl ? pl->measured : 0; }

/* Candidates: the tensors the base plan quantizes, with every valid menu entry and keep. */
static tq_status measure(const tq_model *m, const tq_plan *base, const tq_planner_options *po, cand *c, int64_t *nc,
                         tq_error *err) {
    *nc = 0;
    for (int64_t i = 0; i < tq_plan_count(base); i++) {
        const tq_plan_item *it = tq_plan_item_at(base, i);
        if (!it->quantize) continue;
        const tq_tensor *t = it->src;
        int64_t rows, cols;
        if (!tq_shape_2d(t->ndim, t->shape, &rows, &cols)) return tq_err(err, TQ_E_FORMAT, "tensor \"%s\": shape overflows", t->name);
        float *w = malloc(sizeof(float) * (size_t)t->numel + 1);
        if (!w) return tq_err(err, TQ_E_NOMEM, "out of memory reading \"%s\"", t->name);
        tq_status st = tq_model_tensor_f32(m, t, w, err);
        cand *k = &c[*nc];
        memset(k, 0, sizeof *k);
        k->tensor = i;
        k->sens = po->sensitivity ? po->sensitivity[i] : 1.0;
        for (int e = 0; e < po->n_menu && !st; e++) {
            tq_error ignored;
            if (tq_qparams_check(&po->menu[e], t->name, rows, cols, &ignored)) continue;   /* not for this shape */
            tq_dtype cd;
            int64_t cs[2];
            tq_aux_desc aux[TQ_MAX_AUX];
            int na = tq_qparams_layout(&po->menu[e], rows, cols, &cd, cs, aux);
            uint64_t b = tq_nbytes(cd, 2, cs);
            for (int a = 0; a < na; a++) b += tq_nbytes(aux[a].dtype, aux[a].ndim, aux[a].shape);
            k->menu[k->n_opt] = e;
            k->bytes[k->n_opt] = b;
            if (po->measure) {
                st = po->measure(po->measure_ctx, t, &po->menu[e], &k->werr[k->n_opt], err);
                if (!st && !(k->werr[k->n_opt] >= 0))
                    st = tq_err(err, TQ_E_INTERNAL, "tensor \"%s\": measured error %g is not >= 0", t->name, k->werr[k->n_opt]);
            } else {
                st = weight_error(&po->menu[e], t->name, w, rows, cols, &k->werr[k->n_opt], err);
            }
            k->n_opt++;
        }
        free(w);
        if (st) return st;
        if (po->allow_keep) {
            k->menu[k->n_opt] = -1;
            k->bytes[k->n_opt] = tq_nbytes(tq_tensor_read_dtype(t), t->ndim, t->shape);
            k->werr[k->n_opt++] = 0;
        }
        if (!k->n_opt) return tq_err(err, TQ_E_ARG, "tensor \"%s\" of shape [%lld, %lld]: no menu entry fits it and keep is not allowed",
                                     t->name, (long long)rows, (long long)cols);
        (*nc)++;
    }
    return TQ_OK;
}

tq_planner *tq_planner_create(const tq_model *m, const tq_convert_options *base, const tq_planner_options *po, tq_error *err) {
    if (!po->n_menu || po->n_menu > MAX_OPT - 1) {
        tq_err(err, TQ_E_ARG, "planner menu has %d entries (1 to %d)", po->n_menu, MAX_OPT - 1);
        return NULL;
    }
    for (int e = 0; e < po->n_menu; e++)
        if (!tq_codec_by_id(po->menu[e].codec)) { tq_err(err, TQ_E_ARG, "planner menu entry %d: unknown codec", e + 1); return NULL; }
    tq_plan *p0 = tq_plan_create(m, base, err);
    if (!p0) return NULL;
    tq_planner *pl = calloc(1, sizeof *pl);
    int64_t n = tq_plan_count(p0), nc = 0;
    cand *c = calloc((size_t)n + 1, sizeof *c);
    int *ch = calloc((size_t)n + 1, sizeof *ch);
    if (!pl || !c || !ch) { tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
    if (measure(m, p0, po, c, &nc, err)) goto fail;
    pl->o = *base;
    pl->menu = malloc(sizeof *pl->menu * (size_t)po->n_menu);
    pl->rules = calloc((size_t)nc + 1, sizeof *pl->rules);
    pl->globs = calloc((size_t)nc + 1, sizeof *pl->globs);
    pl->ent = calloc((size_t)nc + 1, sizeof *pl->ent);
    if (!pl->menu || !pl->rules || !pl->globs || !pl->ent) { tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
    memcpy(pl->menu, po->menu, sizeof *pl->menu * (size_t)po->n_menu);
    pl->n = nc;
    for (int64_t i = 0; i < nc; i++) {
        if (!(pl->globs[i] = literal_glob(tq_plan_item_at(p0, c[i].tensor)->src->name))) { tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
        pl->rules[i].glob = pl->globs[i];
        pl->rules[i].origin = "plan";
    }
    pl->o.rules = pl->rules;
    pl->o.n_rules = (int)nc;
    /* bytes outside the candidates: header, padding, kept tensors */
    uint64_t fixed = tq_plan_output_bytes(p0);
    for (int64_t i = 0; i < nc; i++) {
        const tq_plan_item *it = tq_plan_item_at(p0, c[i].tensor);
        fixed -= it->out_bytes + it->aux_bytes;
    }
    uint64_t target = po->target_bytes;
    if (!target && po->quantized_bpw > 0) {   /* bits per weight over the candidates */
        int64_t cw = 0;
        for (int64_t i = 0; i < nc; i++) cw += tq_plan_item_at(p0, c[i].tensor)->src->numel;
        target = fixed + (uint64_t)((double)cw * po->quantized_bpw / 8.0);
    }
    pl->target = target;
    pl->measured = po->measure != NULL;
    uint64_t budget = target > fixed ? target - fixed : 0;
    for (int iter = 0;; iter++) {
        const uint64_t floor = target / 100 * 99 > fixed ? target / 100 * 99 - fixed : 0;
        if (!solve(c, nc, budget, floor, ch)) {
            uint64_t least = fixed;
            for (int64_t i = 0; i < nc; i++) {
                uint64_t b = c[i].bytes[0];
                for (int k = 1; k < c[i].n_opt; k++) if (c[i].bytes[k] < b) b = c[i].bytes[k];
                least += b;
            }
            tq_err(err, TQ_E_LIMIT, "%s: no choice of the menu fits %llu bytes: the smallest output is about %llu bytes",
                   tq_model_path(m), (unsigned long long)target, (unsigned long long)least);
            goto fail;
        }
        for (int64_t i = 0; i < nc; i++) {
            const int k = ch[i];
            pl->rules[i].keep = c[i].menu[k] < 0;
            if (c[i].menu[k] >= 0) pl->rules[i].q = pl->menu[c[i].menu[k]];
            pl->ent[i] = (tq_planner_entry){tq_plan_item_at(p0, c[i].tensor)->src, c[i].menu[k], c[i].bytes[k], c[i].werr[k], proxy(&c[i], k)};
        }
        tq_plan *p = tq_plan_create(m, &pl->o, err);
        if (!p) goto fail;
        pl->out_bytes = tq_plan_output_bytes(p);
        tq_plan_free(p);
        if (pl->out_bytes <= target) break;
        uint64_t over = pl->out_bytes - target;
        if (iter >= 16 || over >= budget) {
            tq_err(err, TQ_E_LIMIT, "%s: the plan does not converge under %llu bytes", tq_model_path(m), (unsigned long long)target);
            goto fail;
        }
        budget -= over;
    }
    free(c); free(ch);
    tq_plan_free(p0);
    return pl;
fail:
    free(c); free(ch);
    tq_plan_free(p0);
    tq_planner_free(pl);
    return NULL;
}
