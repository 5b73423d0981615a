/*
 * plan.c — decide every tensor and lay out the output before touching data.
 *
 * The plan knows the exact bytes of every output entry from the codec table
 * (tq_qparams_layout) and the exact file size from the writer's layout, so a
 * dry run reports the sizes the real run produces.
 */
#include "convert/convert.h"
#include "convert/gguf_export.h"
#include "convert/mlx_export.h"
#include <stdlib.h>
#include <string.h>

void tq_convert_options_init(tq_convert_options *o) {
    memset(o, 0, sizeof *o);
    o->q.codec = TQ_CODEC_LINEAR_SYM;
    o->q.bits = 8;
    o->q.gran = TQ_GRAN_CHANNEL;
    o->q.group = 0;
    o->format = TQ_FORMAT_SAFETENSORS;
}

void tq_plan_free(tq_plan *p) {
    if (!p) return;
    for (int64_t i = 0; i < p->n; i++) free(p->rules[i]);
    for (int64_t i = 0; i < p->nw; i++) free(p->wnames[i]);
    for (int i = 0; i < p->n_meta; i++) { free(p->meta_k[i]); free(p->meta_v[i]); }
    free(p->items); free(p->rules); free(p->went); free(p->wmap); free(p->wnames);
    free(p->meta_k); free(p->meta_v);
    tq_gguf_export_free(p->gx);
    free(p->mlx_keep);
    free(p);
}

int64_t tq_plan_count(const tq_plan *p) { return p->n; }
const tq_plan_item *tq_plan_item_at(const tq_plan *p, int64_t i) { return (i >= 0 && i < p->n) ? &p->items[i] : NULL; }
uint64_t tq_plan_output_bytes(const tq_plan *p) { return p->out_bytes; }
void tq_plan_bytes_by_dtype(const tq_plan *p, uint64_t *out) {
    memset(out, 0, sizeof(uint64_t) * TQ_DTYPE_COUNT);
    for (int64_t i = 0; i < p->nw; i++) out[p->went[i].dtype] += tq_nbytes(p->went[i].dtype, p->went[i].ndim, p->went[i].shape);
}

/* tq_plan_create admitted only writable formats, which all have a default file */
const char *tq_plan_output_name(const tq_plan *p) { return tq_format_by_id(p->o.format)->default_file; }

static tq_status add_meta(tq_plan *p, const char *k, char *v_owned, tq_error *err) {
    char **nk = realloc(p->meta_k, sizeof(char *) * (size_t)(p->n_meta + 1));
    if (nk) p->meta_k = nk;
    char **nv = realloc(p->meta_v, sizeof(char *) * (size_t)(p->n_meta + 1));
    if (nv) p->meta_v = nv;
    char *kc = tq_strdup(k);
    if (!nk || !nv || !kc || !v_owned) { free(kc); free(v_owned); return tq_err(err, TQ_E_NOMEM, "out of memory"); }
    p->meta_k[p->n_meta] = kc;
    p->meta_v[p->n_meta++] = v_owned;
    return TQ_OK;
}

/* Plan entry `t` stored as it is in the input (kept, or simulated); a tensor
 * in ggml blocks as its decoded float32 values (tq_tensor_read_dtype). */
static void add_as_is(tq_plan *p, const tq_tensor *t) {
    tq_wentry *we = &p->went[p->nw];
    we->name = t->name; we->dtype = tq_tensor_read_dtype(t); we->ndim = t->ndim;
    memcpy(we->shape, t->shape, sizeof we->shape);
    p->wmap[p->nw++] = (tq_plan_out){p->n - 1, -1};
}

/* Metadata "<prefix><tensor name>" = value (value owned by the plan after). */
static tq_status add_tensor_meta(tq_plan *p, const char *prefix, const char *name, char *value, tq_error *err) {
    size_t kl = strlen(prefix) + strlen(name) + 1;
    char *key = malloc(kl);
    if (!key) { free(value); return tq_err(err, TQ_E_NOMEM, "out of memory"); }
    snprintf(key, kl, "%s%s", prefix, name);
    tq_status st = add_meta(p, key, value, err);
    free(key);
    return st;
}

tq_plan *tq_plan_create(const tq_model *m, const tq_convert_options *o, tq_error *err) {
    const tq_format_info *fi = tq_format_by_id(o->format);
    if (!fi || !(fi->caps & TQ_FORMAT_CAN_WRITE) || !fi->default_file) {
        char names[256];
        tq_err(err, TQ_E_UNSUPPORTED, "output format %s cannot be written (trueq writes %s)", fi ? fi->name : "(none)",
               tq_format_names(TQ_FORMAT_CAN_WRITE, names, sizeof names));
        return NULL;
    }
    tq_plan *p = calloc(1, sizeof *p);
    if (!p) { tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    p->m = m;
    p->o = *o;
    int64_t n = tq_model_count(m);
    size_t cap = (size_t)(n ? n : 1);
    p->items = calloc(cap, sizeof *p->items);
    p->rules = calloc(cap, sizeof *p->rules);
    p->went = calloc(cap * (1 + TQ_MAX_AUX), sizeof *p->went);
    p->wmap = calloc(cap * (1 + TQ_MAX_AUX), sizeof *p->wmap);
    p->wnames = calloc(cap * (1 + TQ_MAX_AUX), sizeof *p->wnames);
    int *hit_inc = calloc((size_t)o->n_include + 1, sizeof(int)), *hit_exc = calloc((size_t)o->n_exclude + 1, sizeof(int));
    int *hit_rule = calloc((size_t)o->n_rules + 1, sizeof(int));
    tq_writer *w = NULL;
    if (!p->items || !p->rules || !p->went || !p->wmap || !p->wnames || !hit_inc || !hit_exc || !hit_rule) {
        tq_err(err, TQ_E_NOMEM, "out of memory");
        goto fail;
    }
    if (o->format == TQ_FORMAT_GGUF) {   /* ggml-typed entries: the GGUF path plans itself */
        free(hit_inc); free(hit_exc); free(hit_rule);
        if (o->n_rules) { tq_err(err, TQ_E_UNSUPPORTED, "per-tensor rules (recipes, the planner) do not apply to GGUF output"); tq_plan_free(p); return NULL; }
        if (tq_gguf_plan_build(p, err)) { tq_plan_free(p); return NULL; }
        return p;
    }
    if (o->format == TQ_FORMAT_MLX) {   /* mlx_lm's names and rule: mlx_export.c */
        free(hit_inc); free(hit_exc); free(hit_rule);
        if (tq_mlx_plan_build(p, err)) { tq_plan_free(p); return NULL; }
        return p;
    }
    if (add_meta(p, "format", tq_strdup("pt"), err) || add_meta(p, TQ_META_VERSION, tq_strdup(TQ_VERSION_STRING), err))
        goto fail;

    for (int64_t i = 0; i < n; i++) {
        const tq_tensor *t = tq_model_tensor(m, i);
        tq_plan_item *it = &p->items[p->n];
        it->src = t;
        if (t->quantized && !t->q.ggml_type) {   /* ggml blocks (GGUF) are decoded, see add_as_is */
            char qs[64];
            tq_err(err, TQ_E_UNSUPPORTED, "tensor \"%s\" is already quantized (%s); convert from the original weights",
                   t->name, tq_qparams_str(&t->q, qs, sizeof qs));
            goto fail;
        }
        char rule[256];
        bool per_row;
        const tq_qparams *rq;
        tq_policy_decide(o, t, &it->quantize, &per_row, rule, sizeof rule, hit_inc, hit_exc, hit_rule, &rq);
        p->rules[p->n] = tq_strdup(rule);
        if (!p->rules[p->n]) { tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
        it->rule = p->rules[p->n];
        it->in_bytes = t->nbytes;
        p->n++;
        if (!it->quantize) {
            it->out_dtype = tq_tensor_read_dtype(t);
            it->out_bytes = tq_nbytes(it->out_dtype, t->ndim, t->shape);
            add_as_is(p, t);
            if (add_tensor_meta(p, TQ_META_KEPT_PREFIX, t->name, tq_strdup(it->rule), err)) goto fail;
            continue;
        }
        it->q = rq ? *rq : o->q;
        /* per row: channel scales, or the codec's own groups when it has no channel
         * granularity (ggml: every block lies within one row already) */
        const tq_codec_info *qci = tq_codec_by_id(it->q.codec);
        if (per_row && qci && (qci->gran_mask & (1u << TQ_GRAN_CHANNEL))) { it->q.gran = TQ_GRAN_CHANNEL; it->q.group = 0; }
        int64_t rows, cols;
        if (!tq_shape_2d(t->ndim, t->shape, &rows, &cols)) { tq_err(err, TQ_E_FORMAT, "tensor \"%s\": shape overflows", t->name); goto fail; }
        if (tq_qparams_check(&it->q, t->name, rows, cols, err)) goto fail;
        if (o->simulate) {
            it->out_dtype = tq_tensor_read_dtype(t);
            it->out_bytes = tq_nbytes(it->out_dtype, t->ndim, t->shape);
            add_as_is(p, t);
        } else {
            tq_dtype cd;
            int64_t cs[2];
            tq_aux_desc aux[TQ_MAX_AUX];
            int na = tq_qparams_layout(&it->q, rows, cols, &cd, cs, aux);
            if (na < 0) { tq_err(err, TQ_E_INTERNAL, "tensor \"%s\": no layout", t->name); goto fail; }
            it->out_dtype = cd;
            it->out_bytes = tq_nbytes(cd, 2, cs);
            tq_wentry *we = &p->went[p->nw];
            we->name = t->name; we->dtype = cd; we->ndim = 2; we->shape[0] = cs[0]; we->shape[1] = cs[1];
            p->wmap[p->nw++] = (tq_plan_out){p->n - 1, -1};
            for (int a = 0; a < na; a++) {
                size_t ln = strlen(t->name) + strlen(aux[a].suffix) + 2;
                char *nm = malloc(ln);
                if (!nm) { tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
                snprintf(nm, ln, "%s.%s", t->name, aux[a].suffix);
                p->wnames[p->nw] = nm;
                we = &p->went[p->nw];
                we->name = nm; we->dtype = aux[a].dtype; we->ndim = aux[a].ndim;
                we->shape[0] = aux[a].shape[0]; we->shape[1] = aux[a].shape[1];
                p->wmap[p->nw++] = (tq_plan_out){p->n - 1, a};
                it->aux_bytes += tq_nbytes(aux[a].dtype, aux[a].ndim, aux[a].shape);
            }
        }
        if (add_tensor_meta(p, TQ_META_TENSOR_PREFIX, t->name,
                            tq_descriptor_render(&it->q, o->simulate, tq_tensor_read_dtype(t), t->ndim, t->shape, it->rule), err))
            goto fail;
    }
    for (int i = 0; i < o->n_include; i++)
        if (!hit_inc[i]) { tq_err(err, TQ_E_NOTFOUND, "--include %s matches no tensor in %s", o->include[i], tq_model_path(m)); goto fail; }
    for (int i = 0; i < o->n_rules; i++)
        if (!hit_rule[i]) { tq_err(err, TQ_E_NOTFOUND, "%s: rule %s matches no tensor in %s", o->rules[i].origin ? o->rules[i].origin : "rule",
                                   o->rules[i].glob, tq_model_path(m)); goto fail; }
    for (int i = 0; i < o->n_exclude; i++)
        if (!hit_exc[i]) { tq_err(err, TQ_E_NOTFOUND, "--exclude %s matches no tensor in %s", o->exclude[i], tq_model_path(m)); goto fail; }

    w = tq_writer_create(o->format, NULL, p->went, p->nw,
                         (const char *const *)p->meta_k, (const char *const *)p->meta_v, p->n_meta, err);
    if (!w) goto fail;
    p->out_bytes = w->total_size;
    p->header_bytes = w->header_bytes;
    p->padding_bytes = w->padding_bytes;
    tq_writer_free(w);
    free(hit_inc); free(hit_exc); free(hit_rule);
    return p;
fail:
    free(hit_inc); free(hit_exc); free(hit_rule);
    tq_plan_free(p);
    return NULL;
}
