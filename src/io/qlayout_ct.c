/*
 * qlayout_ct.c — the compressed-tensors row (llm-compressor / vLLM
 * checkpoints, config.json quantization_config.quant_method
 * "compressed-tensors"): for each module P with a P.weight_scale, the entries
 * of its config group's format become one logical tensor P.weight [out, in]
 * of a ct-* codec (src/codec/ct.c; docs/formats/quantized-layouts.md):
 *
 *   pack-quantized   P.weight_packed I32 + P.weight_scale + P.weight_shape
 *                    (+ P.weight_zero_point I32 when asymmetric)  ct-pack(-asym)
 *   int-quantized,   P.weight I8 + P.weight_scale
 *   naive-quantized  (+ P.weight_zero_point I8 when asymmetric)   ct-int(-asym)
 *   float-quantized  P.weight F8_E4M3 + P.weight_scale           ct-fp8
 *
 * The group of P: config_groups' member whose "re:" target matches P (POSIX
 * extended regex, searched as Python's re.match does from the start), else
 * the one group whose targets are class names ("Linear"); its "format", or
 * the config's. Weights args: num_bits, type, symmetric, strategy (tensor,
 * channel, group; inferred from group_size when absent), group_size. What
 * it cannot read (other formats, strategies, actorder g_idx) it refuses by
 * name.
 */
#include "io/qlayout.h"
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* does any target of group g match module P (len pl)? 2 = a regex target
 * matched, 1 = it has a class-name target, 0 = neither */
static int group_match(const cJSON *g, const char *p, size_t pl) {
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(g, "targets");
    int cls = 0;
    char name[1024];
    if (pl >= sizeof name) return 0;
    memcpy(name, p, pl);
    name[pl] = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, ts) {
        if (!cJSON_IsString(t)) continue;
        const char *s = t->valuestring;
        if (strncmp(s, "re:", 3) != 0) {
            cls |= !strcmp(s, name) ? 2 : 1;   /* a module path names it exactly */
            if (cls & 2) return 2;
            continue;
        }
        size_t sl = strlen(s + 3);
        char *pat = malloc(sl + 4);
        if (!pat) continue;
        pat[0] = '^';
        memcpy(pat + 1, s + 3, sl + 1);
        regex_t re;
        int ok = regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) == 0;
        free(pat);
        if (!ok) continue;
        int hit = regexec(&re, name, 0, NULL, 0) == 0;
        regfree(&re);
        if (hit) return 2;
    }
    return cls;
}

/* the config group of module P, or an error */
static tq_status find_group(const tq_qlayout_ctx *cx, const char *p, size_t pl, const cJSON **out, tq_error *err) {
    const cJSON *gs = cJSON_GetObjectItemCaseSensitive(cx->qconf, "config_groups");
    const cJSON *g, *cls = NULL;
    int ncls = 0;
    cJSON_ArrayForEach(g, gs) {
        int m = cJSON_IsObject(g) ? group_match(g, p, pl) : 0;
        if (m == 2) { *out = g; return TQ_OK; }
        if (m == 1) { cls = cls ? cls : g; ncls++; }
    }
    if (ncls == 1) { *out = cls; return TQ_OK; }
    return tq_err(err, TQ_E_FORMAT, "%s: compressed-tensors tensor \"%.*s.weight_scale\": %s config group of "
                  "config.json names this module (%d groups by class name, none by path)", cx->c->map.path, (int)pl, p,
                  ncls ? "more than one" : "no", ncls);
}

typedef struct ct_args { const char *fmt, *type, *strategy; int64_t bits, group; int sym; } ct_args;

static tq_status read_args(const tq_qlayout_ctx *cx, const cJSON *g, const char *p, size_t pl, ct_args *a,
                           tq_error *err) {
    const char *path = cx->c->map.path;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(g, "weights");
    if (!cJSON_IsObject(w))
        return tq_err(err, TQ_E_FORMAT, "%s: compressed-tensors config group of \"%.*s\" has no \"weights\" object", path,
                      (int)pl, p);
    a->fmt = tq_qlayout_str(g, "format");
    if (!a->fmt) a->fmt = tq_qlayout_str(cx->qconf, "format");
    a->type = tq_qlayout_str(w, "type");
    a->bits = tq_qlayout_int(w, "num_bits", 8);
    a->group = tq_qlayout_int(w, "group_size", 0);
    const cJSON *sy = cJSON_GetObjectItemCaseSensitive(w, "symmetric");
    a->sym = !sy || cJSON_IsTrue(sy);
    a->strategy = tq_qlayout_str(w, "strategy");
    if (!a->strategy) a->strategy = a->group > 0 ? "group" : a->group == -1 ? "channel" : "tensor";
    if (!a->fmt)
        return tq_err(err, TQ_E_FORMAT, "%s: compressed-tensors config gives no \"format\" for \"%.*s\"", path, (int)pl, p);
    if (strcmp(a->strategy, "tensor") && strcmp(a->strategy, "channel") && strcmp(a->strategy, "group"))
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: compressed-tensors \"%.*s\": weight strategy \"%s\"; trueq reads "
                      "tensor, channel and group", path, (int)pl, p, a->strategy);
    if (!strcmp(a->strategy, "group") && (a->group < 1 || a->group > (int64_t)1 << 40))
        return tq_err(err, TQ_E_FORMAT, "%s: compressed-tensors \"%.*s\": strategy group with group_size %lld", path,
                      (int)pl, p, (long long)a->group);
    const cJSON *ao = cJSON_GetObjectItemCaseSensitive(w, "actorder");
    if (tq_qlayout_find(cx, p, pl, ".weight_g_idx") >= 0 || (ao && !cJSON_IsNull(ao) && !cJSON_IsFalse(ao)))
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: compressed-tensors \"%.*s\": actorder (weight_g_idx) is not read yet",
                      path, (int)pl, p);
    return TQ_OK;
}

static tq_status ct_one(tq_qlayout_ctx *cx, int64_t is, tq_error *err) {
    const tq_container *c = cx->c;
    const char *path = c->map.path, *sn = c->entries[is].name;
    size_t pl = strlen(sn) - strlen(".weight_scale");
    const cJSON *g = NULL;
    ct_args a = {0};
    tq_status st = find_group(cx, sn, pl, &g, err);
    if (!st) st = read_args(cx, g, sn, pl, &a, err);
    if (st) return st;
    bool pack = !strcmp(a.fmt, "pack-quantized"), fp8 = !strcmp(a.fmt, "float-quantized");
    bool in8 = !strcmp(a.fmt, "int-quantized") || !strcmp(a.fmt, "naive-quantized");
    if (!pack && !fp8 && !in8)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: compressed-tensors \"%.*s\": format \"%s\"; trueq reads pack-quantized, "
                      "int-quantized, naive-quantized and float-quantized", path, (int)pl, sn, a.fmt);
    const char *want_type = fp8 ? "float" : "int";
    if (!a.type || strcmp(a.type, want_type) || (fp8 && a.bits != 8) || (pack && a.bits != 2 && a.bits != 4 && a.bits != 8) ||
        (in8 && (a.bits < 1 || a.bits > 8)))
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: compressed-tensors \"%.*s\": format %s with %s %lld-bit weights; it "
                      "stores %s", path, (int)pl, sn, a.fmt, a.type ? a.type : "untyped", (long long)a.bits,
                      fp8 ? "float 8-bit" : pack ? "int 2/4/8-bit" : "int 1..8-bit");
    if (fp8 && !a.sym)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: compressed-tensors \"%.*s\": asymmetric FP8 is not read", path, (int)pl, sn);
    int64_t ic = tq_qlayout_find(cx, sn, pl, pack ? ".weight_packed" : ".weight");
    int64_t iz = tq_qlayout_find(cx, sn, pl, ".weight_zero_point");
    int64_t ish = pack ? tq_qlayout_find(cx, sn, pl, ".weight_shape") : -1;
    const char *miss = ic < 0 ? (pack ? ".weight_packed" : ".weight") : pack && ish < 0 ? ".weight_shape"
                     : !a.sym && iz < 0 ? ".weight_zero_point" : NULL;
    if (miss)
        return tq_err(err, TQ_E_FORMAT, "%s: compressed-tensors tensor \"%s\" (%s%s): \"%.*s%s\" is missing", path, sn,
                      a.fmt, a.sym ? "" : ", asymmetric", (int)pl, sn, miss);
    if (a.sym && iz >= 0)
        return tq_err(err, TQ_E_FORMAT, "%s: compressed-tensors tensor \"%.*s.weight_zero_point\" is stored but the "
                      "config says symmetric", path, (int)pl, sn);
    const tq_entry *ce = &c->entries[ic], *se = &c->entries[is];
    int64_t rows, cols;
    if (pack) {
        const tq_entry *sh = &c->entries[ish];
        if ((sh->dtype != TQ_DTYPE_I32 && sh->dtype != TQ_DTYPE_I64) || sh->ndim != 1 || sh->shape[0] != 2)
            return tq_err(err, TQ_E_FORMAT, "%s: compressed-tensors tensor \"%s\" is %s with %d dims; weight_shape is "
                          "I32 or I64 [2]", path, sh->name, tq_dtype_name(sh->dtype), sh->ndim);
        int w8 = sh->dtype == TQ_DTYPE_I64 ? 8 : 4;
        tq_status pst = tq_qlayout_pin(cx, sh, err);
        if (pst) return pst;
        const uint8_t *d = sh->data;
        rows = w8 == 8 ? (int64_t)tq_ld64(d) : (int32_t)tq_ld32(d);
        cols = w8 == 8 ? (int64_t)tq_ld64(d + 8) : (int32_t)tq_ld32(d + 4);
        if (rows < 1 || cols < 1 || rows > (int64_t)1 << 31 || cols > (int64_t)1 << 31)
            return tq_err(err, TQ_E_FORMAT, "%s: compressed-tensors tensor \"%s\" gives the shape [%lld, %lld]", path,
                          sh->name, (long long)rows, (long long)cols);
    } else {
        if (ce->ndim != 2)
            return tq_err(err, TQ_E_FORMAT, "%s: compressed-tensors tensor \"%s\" has %d dims; %s weights are [out, in]",
                          path, ce->name, ce->ndim, a.fmt);
        rows = ce->shape[0];
        cols = ce->shape[1];
    }
    if (se->dtype != TQ_DTYPE_F16 && se->dtype != TQ_DTYPE_BF16 && se->dtype != TQ_DTYPE_F32)
        return tq_err(err, TQ_E_FORMAT, "%s: compressed-tensors tensor \"%s\" is %s; scales are F16, BF16 or F32", path,
                      sn, tq_dtype_name(se->dtype));
    tq_granularity gr = !strcmp(a.strategy, "group") ? TQ_GRAN_GROUP : !strcmp(a.strategy, "channel") ? TQ_GRAN_CHANNEL
                                                                                                        : TQ_GRAN_TENSOR;
    int64_t grp = gr == TQ_GRAN_GROUP ? a.group : 0;
    tq_codec_id id = pack ? (a.sym ? TQ_CODEC_CT_PACK : TQ_CODEC_CT_PACK_ASYM)
                   : in8  ? (a.sym ? TQ_CODEC_CT_INT : TQ_CODEC_CT_INT_ASYM) : TQ_CODEC_CT_FP8;
    tq_qparams q = {id, pack ? (int)a.bits : 8, gr, grp, grp > 0 && cols % grp != 0, (float)se->dtype, 0, 0};
    const char *name = pack ? tq_qlayout_name(cx->pool, sn, pl, ".weight") : ce->name;
    if (!name) return tq_err(err, TQ_E_NOMEM, "out of memory");
    int64_t k[2] = {is, iz};
    return tq_qlayout_emit(cx, "compressed-tensors", &q, rows, cols, name, se->dtype, ic, k, a.sym ? 1 : 2, &ish,
                           pack ? 1 : 0, err);
}

static tq_status ct_claim(tq_qlayout_ctx *cx, tq_error *err) {
    const char *m = tq_qlayout_str(cx->qconf, "quant_method");
    if (!m || strcasecmp(m, "compressed-tensors")) return TQ_OK;
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(cx->qconf, "config_groups")))
        return tq_err(err, TQ_E_FORMAT, "%s: compressed-tensors config has no \"config_groups\" object",
                      cx->c->map.path);
    for (int64_t i = 0; i < cx->c->n; i++) {
        if (cx->consumed[i] || tq_qlayout_prefix(cx->c->entries[i].name, ".weight_scale") < 0) continue;
        tq_status st = ct_one(cx, i, err);
        if (st) return st;
    }
    return TQ_OK;
}

const tq_qlayout tq_qlayout_ct = {
    "compressed-tensors",
    "compressed-tensors: pack-quantized int32 words, int-quantized int8, float-quantized FP8 E4M3 (llm-compressor)",
    ct_claim,
};
