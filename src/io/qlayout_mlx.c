/*
 * qlayout_mlx.c — the MLX row (mlx.nn.quantize / mlx_lm, mode "affine"): for
 * each module P, P.weight (U32 codes) + P.scales + P.biases become one
 * logical tensor P.weight [out, in] of codec mlx, mlx-f16 or mlx-bf16 (by the
 * scales' dtype); layout in src/codec/mlx.c, facts in docs/formats/mlx.md.
 *
 * Bits and group: config.json "quantization" (or "quantization_config"):
 * {"group_size", "bits", "mode"} and per-module overrides "P": {"group_size",
 * "bits"} (or false: P is not quantized). Without a config (a file written by
 * mx.save_safetensors alone) they are inferred from the shapes:
 * in = scales.cols * g and weight.cols * 32 = in * bits, trying g = 64 (MLX's
 * default), then 32, then 128; the first (g, bits) MLX allows is taken.
 * The config's values must fit the shapes exactly, else the tensor is refused
 * by name. A config naming another quant_method is not this row's.
 *
 * Modes mxfp4 and mxfp8 (P.weight U32 + P.scales U8, no biases; group 32,
 * bits 4 / 8): codecs mlx-mxfp4 / mlx-mxfp8 (src/codec/mlx_fp.c), the mode
 * from the config's "mode" (a module override's first), else from the shapes
 * (code words per row = 4 or 8 times the groups). nvfp4 (group 16, E4M3
 * scales) is refused by name.
 */
#include "codec/mlx.h"
#include "io/qlayout.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool bits_ok(int64_t b) { return b == 2 || b == 3 || b == 4 || b == 5 || b == 6 || b == 8; }
static bool group_ok(int64_t g) { return g == 32 || g == 64 || g == 128; }

/* the config's (bits, group) for module P: its override, else the global pair;
 * 0 when none is given; -1: the override says P is not quantized */
static int module_params(const cJSON *q, const char *name, size_t plen, int64_t *bits, int64_t *group) {
    *bits = *group = 0;
    if (!q) return 0;
    char path[1024];
    if (plen >= sizeof path) return 0;
    memcpy(path, name, plen);
    path[plen] = 0;
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(q, path);
    if (cJSON_IsFalse(o)) return -1;
    const cJSON *src = cJSON_IsObject(o) ? o : q;
    *bits = tq_qlayout_int(src, "bits", tq_qlayout_int(q, "bits", 0));
    *group = tq_qlayout_int(src, "group_size", tq_qlayout_int(q, "group_size", 0));
    return 0;
}

/* the config's mode for module P (its override's, else the global one); NULL when none */
static const char *module_mode(const cJSON *q, const char *name, size_t plen) {
    char path[1024];
    if (!q || plen >= sizeof path) return NULL;
    memcpy(path, name, plen);
    path[plen] = 0;
    const char *m = tq_qlayout_str(cJSON_GetObjectItemCaseSensitive(q, path), "mode");
    return m ? m : tq_qlayout_str(q, "mode");
}

/* P.weight U32 + P.scales without biases: MLX's mxfp4 / mxfp8 modes */
static tq_status mlx_fp_one(tq_qlayout_ctx *cx, int64_t iw, int64_t is, tq_error *err) {
    const tq_container *c = cx->c;
    const char *path = c->map.path;
    const tq_entry *w = &c->entries[iw], *sc = &c->entries[is];
    const size_t pl = strlen(sc->name) - strlen(".scales");
    const char *mode = module_mode(cx->qconf, sc->name, pl);
    if (sc->dtype != TQ_DTYPE_U8 || w->ndim != 2 || sc->ndim != 2 || w->shape[0] != sc->shape[0] || sc->shape[1] < 1 ||
        w->shape[1] > INT64_MAX / 64)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: MLX tensor \"%s\" has U32 codes and %s scales \"%s\" but no "
                      "\"%.*s.biases\": neither MLX affine nor the mxfp4 / mxfp8 layout (U8 scales [rows, cols/32])",
                      path, w->name, tq_dtype_name(sc->dtype), sc->name, (int)pl, sc->name);
    const int64_t words = w->shape[1], groups = sc->shape[1];
    int64_t bits = mode && !strcmp(mode, "mxfp4") ? 4 : mode && !strcmp(mode, "mxfp8") ? 8 : 0;
    if (mode && !bits)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: MLX tensor \"%s\": mode \"%s\"; trueq reads MLX modes affine, "
                      "mxfp4 and mxfp8", path, w->name, mode);
    if (!mode) bits = words == 4 * groups ? 4 : words == 8 * groups ? 8 : 0;
    if (!bits)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: MLX tensor \"%s\": %lld code words and %lld U8 scales per row are "
                      "neither mxfp4 (4 words per scale) nor mxfp8 (8); nvfp4 (group 16) is not read", path, w->name,
                      (long long)words, (long long)groups);
    int64_t cb = 0, cg = 0;
    if (module_params(cx->qconf, sc->name, pl, &cb, &cg) < 0)
        return tq_err(err, TQ_E_FORMAT, "%s: config.json says module \"%.*s\" is not quantized, but it has MLX codes",
                      path, (int)pl, sc->name);
    if ((cb && cb != bits) || (cg && cg != 32))
        return tq_err(err, TQ_E_FORMAT, "%s: MLX tensor \"%s\": config bits %lld, group_size %lld; mode mxfp%lld has "
                      "bits %lld and group 32", path, w->name, (long long)cb, (long long)cg, (long long)bits,
                      (long long)bits);
    if (words != groups * bits)
        return tq_err(err, TQ_E_FORMAT, "%s: MLX tensor \"%s\" has %lld code words per row; %lld groups of 32 at %lld "
                      "bits pack into %lld", path, w->name, (long long)words, (long long)groups, (long long)bits,
                      (long long)(groups * bits));
    tq_qparams q = {bits == 4 ? TQ_CODEC_MLX_MXFP4 : TQ_CODEC_MLX_MXFP8, (int)bits, TQ_GRAN_GROUP, 32, 0, 0.0f, 0, 0};
    /* the original dtype is not stored: BF16, what mx.dequantize gives for these modes */
    return tq_qlayout_emit(cx, "MLX", &q, w->shape[0], groups * 32, w->name, TQ_DTYPE_BF16, iw, &is, 1, NULL, 0, err);
}

static tq_status mlx_one(tq_qlayout_ctx *cx, int64_t is, tq_error *err) {
    const tq_container *c = cx->c;
    const char *path = c->map.path;
    const tq_entry *sc = &c->entries[is];
    const size_t pl = strlen(sc->name) - strlen(".scales");
    int64_t iw = tq_qlayout_find(cx, sc->name, pl, ".weight"), ib = tq_qlayout_find(cx, sc->name, pl, ".biases");
    if (iw < 0 || c->entries[iw].dtype != TQ_DTYPE_U32) return TQ_OK;   /* not MLX codes: another layout's scales */
    const tq_entry *w = &c->entries[iw];
    if (ib < 0) return mlx_fp_one(cx, iw, is, err);
    const tq_entry *bi = &c->entries[ib];
    const char *mode = module_mode(cx->qconf, sc->name, pl);
    if (mode && strcmp(mode, "affine"))
        return tq_err(err, TQ_E_FORMAT, "%s: MLX tensor \"%s\": config mode \"%s\", but it stores biases (MLX affine)",
                      path, w->name, mode);
    tq_codec_id codec = tq_mlx_codec_for_side(sc->dtype);
    if (codec == TQ_CODEC_NONE || bi->dtype != sc->dtype)
        return tq_err(err, TQ_E_FORMAT, "%s: MLX tensor \"%s\": scales %s and biases %s; MLX affine stores both as the "
                      "weight's float dtype (F32, F16 or BF16)", path, w->name, tq_dtype_name(sc->dtype),
                      tq_dtype_name(bi->dtype));
    if (w->ndim != 2 || sc->ndim != 2 || w->shape[0] != sc->shape[0] || w->shape[1] < 1 || sc->shape[1] < 1 ||
        w->shape[1] > INT64_MAX / 32 / 8)
        return tq_err(err, TQ_E_FORMAT, "%s: MLX tensor \"%s\" [%lld, %lld] with scales [%lld, %lld]: trueq reads 2-D "
                      "modules whose codes and scales have the same rows", path, w->name, (long long)w->shape[0],
                      (long long)(w->ndim > 1 ? w->shape[1] : 0), (long long)sc->shape[0],
                      (long long)(sc->ndim > 1 ? sc->shape[1] : 0));
    int64_t bits, group;
    if (module_params(cx->qconf, sc->name, pl, &bits, &group) < 0)
        return tq_err(err, TQ_E_FORMAT, "%s: config.json says module \"%.*s\" is not quantized, but it has MLX codes",
                      path, (int)pl, sc->name);
    const int64_t words = w->shape[1], groups = sc->shape[1];
    if (!bits && !group) {   /* no config: infer from the shapes */
        static const int64_t G[3] = {64, 32, 128};
        for (int k = 0; k < 3 && !bits; k++)
            if ((words * 32) % (groups * G[k]) == 0 && bits_ok(words * 32 / (groups * G[k]))) {
                group = G[k];
                bits = words * 32 / (groups * G[k]);
            }
        if (!bits)
            return tq_err(err, TQ_E_FORMAT, "%s: MLX tensor \"%s\": %lld code words and %lld groups per row fit no MLX "
                          "bits (2-8) and group size (32, 64, 128)", path, w->name, (long long)words, (long long)groups);
    }
    if (!bits_ok(bits) || !group_ok(group))
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: MLX config for \"%s\": bits %lld, group_size %lld; MLX affine has "
                      "bits 2, 3, 4, 5, 6, 8 and groups 32, 64, 128", path, w->name, (long long)bits, (long long)group);
    const int64_t out = w->shape[0], in = groups * group;
    if (words * 32 != in * bits)
        return tq_err(err, TQ_E_FORMAT, "%s: MLX tensor \"%s\" has %lld code words per row; %lld groups of %lld at %lld "
                      "bits pack into %lld", path, w->name, (long long)words, (long long)groups, (long long)group,
                      (long long)bits, (long long)(in * bits / 32));
    tq_tensor *t = &cx->t[*cx->n];
    memset(t, 0, sizeof *t);
    t->q = (tq_qparams){codec, (int)bits, TQ_GRAN_GROUP, group, 0, 0.0f, 0, 0};
    tq_status st = tq_qparams_check(&t->q, w->name, out, in, err);
    if (st) return tq_err_prefix(err, st, "%s", path);
    tq_dtype cd;
    int64_t cs[2];
    t->n_aux = tq_qparams_layout(&t->q, out, in, &cd, cs, t->aux_desc);
    const tq_entry *side[2] = {sc, bi};
    if (t->n_aux != 2 || !tq_qlayout_is(w, cd, 2, cs))
        return tq_err(err, TQ_E_INTERNAL, "%s: MLX tensor \"%s\": no layout", path, w->name);
    for (int a = 0; a < 2; a++) {
        const tq_aux_desc *d = &t->aux_desc[a];
        if (!tq_qlayout_is(side[a], d->dtype, d->ndim, d->shape))
            return tq_err(err, TQ_E_FORMAT, "%s: MLX tensor \"%s\" is %s [%lld, %lld]; %lld x %lld at group %lld gives "
                          "%s [%lld, %lld]", path, side[a]->name, tq_dtype_name(side[a]->dtype),
                          (long long)side[a]->shape[0], (long long)(side[a]->ndim > 1 ? side[a]->shape[1] : 0),
                          (long long)out, (long long)in, (long long)group, tq_dtype_name(d->dtype),
                          (long long)d->shape[0], (long long)d->shape[1]);
        t->aux[a] = side[a]->data;
        t->aux_bytes += side[a]->nbytes;
    }
    t->name = w->name;   /* the container's string: P.weight already */
    t->dtype = cd;
    t->ndim = 2;
    t->shape[0] = out;
    t->shape[1] = in;
    t->numel = out * in;
    t->nbytes = w->nbytes;
    t->data = w->data;
    t->file_index = cx->file;
    t->quantized = 1;
    t->orig_dtype = sc->dtype;   /* MLX keeps the scales in the weight's dtype */
    cx->consumed[iw] = cx->consumed[is] = cx->consumed[ib] = 1;
    (*cx->n)++;
    return TQ_OK;
}

static tq_status mlx_claim(tq_qlayout_ctx *cx, tq_error *err) {
    const cJSON *q = cx->qconf;
    const cJSON *m = q ? cJSON_GetObjectItemCaseSensitive(q, "quant_method") : NULL;
    if (m && (!cJSON_IsString(m) || strcasecmp(m->valuestring, "mlx"))) return TQ_OK;   /* another tool's config */
    const cJSON *mode = q ? cJSON_GetObjectItemCaseSensitive(q, "mode") : NULL;
    if (mode && (!cJSON_IsString(mode) || (strcmp(mode->valuestring, "affine") && strcmp(mode->valuestring, "mxfp4") &&
                                           strcmp(mode->valuestring, "mxfp8"))))
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: config.json quantization mode %s; trueq reads MLX modes \"affine\", "
                      "\"mxfp4\" and \"mxfp8\"", cx->c->map.path,
                      cJSON_IsString(mode) ? mode->valuestring : "(not a string)");
    for (int64_t i = 0; i < cx->c->n; i++) {
        const char *nm = cx->c->entries[i].name;
        size_t l = strlen(nm);
        if (cx->consumed[i] || l < 8 || strcmp(nm + l - 7, ".scales")) continue;
        tq_status st = mlx_one(cx, i, err);
        if (st) return st;
    }
    return TQ_OK;
}

const tq_qlayout tq_qlayout_mlx = {
    "mlx", "MLX affine (mlx.nn.quantize, mlx_lm): weight U32 codes + scales + biases, 2-8 bits, groups 32/64/128",
    mlx_claim,
};
