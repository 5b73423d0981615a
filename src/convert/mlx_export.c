/*
 * mlx_export.c — plan `convert --format mlx`: a safetensors file laid out as
 * mlx_lm writes one (docs/formats/mlx.md "Writing"), executed by execute.c's
 * generic streaming path (the side tensors are rounded to their dtype by the
 * codec row), then config.json rewritten here with the quantization block.
 *
 * What is quantized is mlx_lm's rule (quantize_model: every module with
 * to_quantized, i.e. nn.Linear and nn.Embedding, whose weight.shape[-1]
 * divides the group size): every 2-D float "P.weight" that is not a norm,
 * embeddings and lm_head included. Kept, in their own dtype: 1-D tensors
 * (norms, biases), non-float tensors, weights whose input width the group
 * does not divide and --exclude matches; a kept 2-D weight gets the per-layer
 * override "P": false in config.json's quantization, so mlx_lm leaves that
 * module unquantized whatever its loader guesses.
 *
 * Output entries, for each quantized P.weight [out, in] at b bits, group g:
 *   P.weight  U32 [out, in*b/32]   codes (codec mlx, FORMATS.md §4.3)
 *   P.scales  T   [out, in/g]      T = the weight's float dtype: codec row
 *   P.biases  T   [out, in/g]      mlx (F32), mlx-f16 or mlx-bf16
 * and every other tensor as stored. Metadata {"format": "mlx"} as
 * mx.save_safetensors(..., metadata={"format": "mlx"}) writes it; no trueq
 * descriptors: trueq reads the file back through its MLX qlayout row.
 */
#include "convert/convert.h"
#include "convert/mlx_export.h"
#include "codec/mlx.h"
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* the row whose scales have the weight's dtype (an F64 or GGUF-decoded input: F32) */
static tq_codec_id codec_for(tq_dtype weight_dtype) {
    tq_codec_id c = tq_mlx_codec_for_side(weight_dtype);
    return c != TQ_CODEC_NONE ? c : TQ_CODEC_MLX;
}

/* mlx_lm's choice for one tensor: 1 quantize, 0 keep; *linear: a kept 2-D
 * weight (a Linear or Embedding module left wide: it gets an override) */
static int decide(const tq_convert_options *o, const tq_tensor *t, int64_t g, char *rule, size_t cap, int *hit_exc,
                  bool *linear) {
    const tq_dtype dt = tq_tensor_read_dtype(t);
    *linear = false;
    bool mat = t->ndim == 2 && ends_with(t->name, ".weight") && tq_dtype_is_float(dt) && !tq_policy_is_norm(t->name);
    for (int i = 0; i < o->n_exclude; i++)
        if (tq_glob_match(o->exclude[i], t->name)) {
            hit_exc[i] = 1;
            *linear = mat;
            snprintf(rule, cap, "--exclude %s", o->exclude[i]);
            return 0;
        }
    if (!tq_dtype_is_float(dt)) { snprintf(rule, cap, "kept: %s is not a float dtype", tq_dtype_name(dt)); return 0; }
    if (t->ndim != 2) { snprintf(rule, cap, "kept: %d-D tensor (mlx_lm quantizes Linear and Embedding weights)", t->ndim); return 0; }
    if (!ends_with(t->name, ".weight")) { snprintf(rule, cap, "kept: not a module's *.weight"); return 0; }
    if (tq_policy_is_norm(t->name)) { snprintf(rule, cap, "kept: normalization weights"); return 0; }
    if (t->shape[1] % g != 0) {
        *linear = true;
        snprintf(rule, cap, "kept: input width %lld is not a multiple of the group size %lld (mlx_lm's rule)",
                 (long long)t->shape[1], (long long)g);
        return 0;
    }
    snprintf(rule, cap, tq_policy_is_embedding(t->name) ? "mlx_lm: Embedding, quantized (to_quantized)"
                                                        : "mlx_lm: Linear weight");
    return 1;
}

static tq_status name_entry(tq_plan *p, const char *prefix, size_t plen, const char *suffix, tq_error *err) {
    size_t n = plen + strlen(suffix) + 1;
    char *s = malloc(n);
    if (!s) return tq_err(err, TQ_E_NOMEM, "out of memory");
    snprintf(s, n, "%.*s%s", (int)plen, prefix, suffix);
    p->wnames[p->nw] = s;
    p->went[p->nw].name = s;
    return TQ_OK;
}

tq_status tq_mlx_plan_build(tq_plan *p, tq_error *err) {
    const tq_convert_options *o = &p->o;
    const tq_model *m = p->m;
    const int bits = o->q.bits;
    const int64_t g = o->q.group;
    if (o->q.codec != TQ_CODEC_MLX && o->q.codec != TQ_CODEC_MLX_F16 && o->q.codec != TQ_CODEC_MLX_BF16)
        return tq_err(err, TQ_E_ARG, "--format mlx writes MLX affine codes (codec mlx), not %s",
                      tq_codec_by_id(o->q.codec) ? tq_codec_by_id(o->q.codec)->name : "?");
    if (o->q.gran != TQ_GRAN_GROUP || (g != 32 && g != 64 && g != 128))
        return tq_err(err, TQ_E_ARG, "--format mlx: group size %lld; MLX groups are 32, 64 or 128", (long long)g);
    if (bits != 2 && bits != 3 && bits != 4 && bits != 5 && bits != 6 && bits != 8)
        return tq_err(err, TQ_E_ARG, "--format mlx: %d bits; MLX affine stores 2, 3, 4, 5, 6 or 8", bits);
    if (o->n_rules || o->n_include || o->simulate || o->q.method || o->q.pad)
        return tq_err(err, TQ_E_UNSUPPORTED, "--format mlx applies mlx_lm's own rule to every tensor: per-tensor rules, "
                      "--include, --simulate, --method and --pad do not apply (--exclude keeps a tensor wide)");
    int *hit_exc = calloc((size_t)o->n_exclude + 1, sizeof(int));
    if (!hit_exc) return tq_err(err, TQ_E_NOMEM, "out of memory");
    tq_status st = TQ_OK;
    p->mlx_keep = calloc((size_t)(tq_model_count(m) + 1), 1);
    char *v = tq_strdup("mlx"), *k = tq_strdup("format");
    p->meta_k = malloc(sizeof(char *));
    p->meta_v = malloc(sizeof(char *));
    if (!p->mlx_keep || !v || !k || !p->meta_k || !p->meta_v) {
        free(v); free(k);
        st = tq_err(err, TQ_E_NOMEM, "out of memory");
        goto out;
    }
    p->meta_k[0] = k;
    p->meta_v[0] = v;
    p->n_meta = 1;
    for (int64_t i = 0; i < tq_model_count(m) && !st; i++) {
        const tq_tensor *t = tq_model_tensor(m, i);
        tq_plan_item *it = &p->items[p->n];
        it->src = t;
        if (t->quantized && !t->q.ggml_type) {
            char qs[64];
            st = tq_err(err, TQ_E_UNSUPPORTED, "tensor \"%s\" is already quantized (%s); convert from the original weights",
                        t->name, tq_qparams_str(&t->q, qs, sizeof qs));
            break;
        }
        char rule[256];
        bool linear;
        it->quantize = decide(o, t, g, rule, sizeof rule, hit_exc, &linear);
        if (!(p->rules[p->n] = tq_strdup(rule))) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); break; }
        it->rule = p->rules[p->n];
        it->in_bytes = t->nbytes;
        p->mlx_keep[p->n] = linear;
        p->n++;
        tq_wentry *we = &p->went[p->nw];
        if (!it->quantize) {
            it->out_dtype = tq_tensor_read_dtype(t);
            it->out_bytes = tq_nbytes(it->out_dtype, t->ndim, t->shape);
            we->name = t->name; we->dtype = it->out_dtype; we->ndim = t->ndim;
            memcpy(we->shape, t->shape, sizeof we->shape);
            p->wmap[p->nw++] = (tq_plan_out){p->n - 1, -1};
            continue;
        }
        it->q = (tq_qparams){codec_for(tq_tensor_read_dtype(t)), bits, TQ_GRAN_GROUP, g, 0, 0.0f, 0, 0};
        const int64_t rows = t->shape[0], cols = t->shape[1];
        if ((st = tq_qparams_check(&it->q, t->name, rows, cols, err))) break;
        tq_dtype cd;
        int64_t cs[2];
        tq_aux_desc aux[TQ_MAX_AUX];
        int na = tq_qparams_layout(&it->q, rows, cols, &cd, cs, aux);
        if (na != 2) { st = tq_err(err, TQ_E_INTERNAL, "tensor \"%s\": no MLX layout", t->name); break; }
        it->out_dtype = cd;
        it->out_bytes = tq_nbytes(cd, 2, cs);
        we->name = t->name; we->dtype = cd; we->ndim = 2; we->shape[0] = cs[0]; we->shape[1] = cs[1];
        p->wmap[p->nw++] = (tq_plan_out){p->n - 1, -1};
        const size_t plen = strlen(t->name) - strlen(".weight");
        for (int a = 0; a < na && !st; a++) {
            if ((st = name_entry(p, t->name, plen, a == 0 ? ".scales" : ".biases", err))) break;
            we = &p->went[p->nw];
            we->dtype = aux[a].dtype; we->ndim = aux[a].ndim;
            we->shape[0] = aux[a].shape[0]; we->shape[1] = aux[a].shape[1];
            p->wmap[p->nw++] = (tq_plan_out){p->n - 1, a};
            it->aux_bytes += tq_nbytes(aux[a].dtype, aux[a].ndim, aux[a].shape);
        }
    }
    for (int i = 0; !st && i < o->n_exclude; i++)
        if (!hit_exc[i]) st = tq_err(err, TQ_E_NOTFOUND, "--exclude %s matches no tensor in %s", o->exclude[i], tq_model_path(m));
    if (!st) {
        tq_writer *w = tq_writer_create(TQ_FORMAT_MLX, NULL, p->went, p->nw, (const char *const *)p->meta_k,
                                        (const char *const *)p->meta_v, p->n_meta, err);
        if (!w) st = err ? err->status : TQ_E_INTERNAL;
        else {
            p->out_bytes = w->total_size;
            p->header_bytes = w->header_bytes;
            p->padding_bytes = w->padding_bytes;
            tq_writer_free(w);
        }
    }
out:
    free(hit_exc);
    return st;
}

/* "quantization": {"group_size", "bits", "mode", then "P": false for every
 * Linear/Embedding weight kept wide} */
static cJSON *quant_object(const tq_plan *p) {
    cJSON *q = cJSON_CreateObject();
    if (!q) return NULL;
    bool ok = cJSON_AddNumberToObject(q, "group_size", (double)p->o.q.group) &&
              cJSON_AddNumberToObject(q, "bits", p->o.q.bits) && cJSON_AddStringToObject(q, "mode", "affine");
    for (int64_t i = 0; ok && i < p->n; i++) {
        if (!p->mlx_keep[i]) continue;
        const char *nm = p->items[i].src->name;
        size_t l = strlen(nm) - strlen(".weight");
        char *path = malloc(l + 1);
        if (!path) { ok = false; break; }
        memcpy(path, nm, l);
        path[l] = 0;
        ok = cJSON_AddFalseToObject(q, path) != NULL;
        free(path);
    }
    if (!ok) { cJSON_Delete(q); return NULL; }
    return q;
}

char *tq_mlx_config_render(const tq_plan *p, tq_error *err) {
    char *path = tq_path_join(tq_model_dir(p->m), "config.json");
    if (!path) { tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    cJSON *root = NULL;
    if (tq_file_exists(path)) {
        char *text;
        size_t len;
        if (tq_read_file(path, &text, &len, err)) { free(path); return NULL; }
        root = cJSON_ParseWithLength(text, len);
        free(text);
        if (!cJSON_IsObject(root)) {
            cJSON_Delete(root);
            tq_err(err, TQ_E_FORMAT, "%s: not a JSON object; --format mlx rewrites it with the quantization", path);
            free(path);
            return NULL;
        }
    } else {
        root = cJSON_CreateObject();   /* no config.json (a llama2.c model): the quantization alone */
    }
    free(path);
    cJSON_DeleteItemFromObjectCaseSensitive(root, "quantization");
    cJSON_DeleteItemFromObjectCaseSensitive(root, "quantization_config");
    cJSON *q = quant_object(p), *q2 = q ? cJSON_Duplicate(q, 1) : NULL;
    char *out = NULL;
    if (root && q && q2) {
        cJSON_AddItemToObject(root, "quantization", q);
        cJSON_AddItemToObject(root, "quantization_config", q2);   /* mlx_lm writes both (HF model tree) */
        q = q2 = NULL;
        out = cJSON_Print(root);
    }
    cJSON_Delete(q); cJSON_Delete(q2); cJSON_Delete(root);
    if (!out) { tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    size_t n = strlen(out);
    char *r = malloc(n + 2);
    if (r) { memcpy(r, out, n); r[n] = '\n'; r[n + 1] = 0; }
    cJSON_free(out);
    if (!r) tq_err(err, TQ_E_NOMEM, "out of memory");
    return r;
}
