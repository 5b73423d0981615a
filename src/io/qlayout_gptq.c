/*
 * qlayout_gptq.c — the GPTQ row (AutoGPTQ / GPTQModel / transformers GPTQ
 * checkpoints): for each module P, P.qweight + P.qzeros + P.scales + P.g_idx
 * become one logical tensor P.weight [out, in] of the codec gptq (or gptq-v2),
 * layout in src/codec/gptq.c, facts in docs/formats/quantized-layouts.md.
 *
 * Config (config.json quantization_config, or quantize_config.json):
 *   quant_method "gptq"; bits 2, 3, 4 or 8; group_size (-1: one group per
 *   row); checkpoint_format "gptq" (default) or "gptq_v2" — the zero-point
 *   convention; desc_act / sym only change the values, not the layout
 *   (g_idx carries the act-order permutation).
 */
#include "io/qlayout.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static tq_status gptq_one(tq_qlayout_ctx *cx, int64_t iq, int bits, int64_t group, tq_codec_id codec, tq_error *err) {
    const tq_container *c = cx->c;
    const tq_entry *qw = &c->entries[iq];
    const char *path = c->map.path;
    size_t pl = strlen(qw->name) - strlen(".qweight");
    static const char *const side[3] = {".qzeros", ".scales", ".g_idx"};
    int64_t k[3];
    for (int a = 0; a < 3; a++)
        if ((k[a] = tq_qlayout_find(cx, qw->name, pl, side[a])) < 0)
            return tq_err(err, TQ_E_FORMAT, "%s: GPTQ tensor \"%s\": \"%.*s%s\" is missing", path, qw->name, (int)pl,
                          qw->name, side[a]);
    const tq_entry *gi = &c->entries[k[2]];
    if (qw->dtype != TQ_DTYPE_I32 || qw->ndim != 2)
        return tq_err(err, TQ_E_FORMAT, "%s: GPTQ tensor \"%s\" is %s with %d dims; GPTQ packs I32 [in*bits/32, out]",
                      path, qw->name, tq_dtype_name(qw->dtype), qw->ndim);
    if (gi->dtype != TQ_DTYPE_I32 || gi->ndim != 1)
        return tq_err(err, TQ_E_FORMAT, "%s: GPTQ tensor \"%s\" is %s with %d dims; g_idx is I32 [in]", path, gi->name,
                      tq_dtype_name(gi->dtype), gi->ndim);
    int64_t in = gi->shape[0], out = qw->shape[1];
    if (in < 1 || in > INT64_MAX / 8 || qw->shape[0] * 32 != in * bits)
        return tq_err(err, TQ_E_FORMAT, "%s: GPTQ tensor \"%s\" has %lld packed rows; %lld inputs (g_idx) at %d bits "
                      "pack into %lld", path, qw->name, (long long)qw->shape[0], (long long)in, bits,
                      (long long)(in * bits / 32));
    int64_t g = group < 0 ? in : group;
    tq_tensor *t = &cx->t[*cx->n];
    memset(t, 0, sizeof *t);
    t->q = (tq_qparams){codec, bits, TQ_GRAN_GROUP, g, in % g != 0, 0.0f, 0, 0};
    tq_dtype cd;
    int64_t cs[2];
    tq_status st = tq_qparams_check(&t->q, qw->name, out, in, err);
    if (st) return tq_err_prefix(err, st, "%s", path);
    t->n_aux = tq_qparams_layout(&t->q, out, in, &cd, cs, t->aux_desc);
    if (t->n_aux != 3 || !tq_qlayout_is(qw, cd, 2, cs))
        return tq_err(err, TQ_E_FORMAT, "%s: GPTQ tensor \"%s\": %lld outputs at %d bits do not pack into whole words",
                      path, qw->name, (long long)out, bits);
    for (int a = 0; a < 3; a++) {
        const tq_entry *x = &c->entries[k[a]];
        const tq_aux_desc *d = &t->aux_desc[a];
        if (!tq_qlayout_is(x, d->dtype, d->ndim, d->shape))
            return tq_err(err, TQ_E_FORMAT, "%s: GPTQ tensor \"%s\" is %s [%lld%s%lld]; group size %lld at %d bits "
                          "over [%lld, %lld] gives %s [%lld%s%lld]", path, x->name, tq_dtype_name(x->dtype),
                          (long long)x->shape[0], x->ndim > 1 ? ", " : "", (long long)(x->ndim > 1 ? x->shape[1] : 0),
                          (long long)g, bits, (long long)out, (long long)in, tq_dtype_name(d->dtype),
                          (long long)d->shape[0], d->ndim > 1 ? ", " : "", (long long)(d->ndim > 1 ? d->shape[1] : 0));
        t->aux[a] = x->data;
        t->aux_bytes += x->nbytes;
    }
    if (!(t->name = tq_qlayout_name(cx->pool, qw->name, pl, ".weight"))) return tq_err(err, TQ_E_NOMEM, "out of memory");
    t->dtype = cd;
    t->ndim = 2;
    t->shape[0] = out;
    t->shape[1] = in;
    t->numel = out * in;
    t->nbytes = qw->nbytes;
    t->data = qw->data;
    t->file_index = cx->file;
    t->quantized = 1;
    t->orig_dtype = TQ_DTYPE_F16;   /* the scales' dtype: GPTQ packers work in float16 */
    cx->consumed[iq] = 1;
    for (int a = 0; a < 3; a++) cx->consumed[k[a]] = 1;
    (*cx->n)++;
    return TQ_OK;
}

static tq_status gptq_claim(tq_qlayout_ctx *cx, tq_error *err) {
    const cJSON *q = cx->qconf;
    const cJSON *m = q ? cJSON_GetObjectItemCaseSensitive(q, "quant_method") : NULL;
    if (!cJSON_IsString(m) || strcasecmp(m->valuestring, "gptq")) return TQ_OK;
    const char *path = cx->c->map.path;
    int64_t bits = tq_qlayout_int(q, "bits", 0), group = tq_qlayout_int(q, "group_size", 0);
    if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: GPTQ config \"bits\" is %lld; GPTQ packs 2, 3, 4 or 8", path,
                      (long long)bits);
    if (group != -1 && (group < 1 || group > (int64_t)1 << 40))
        return tq_err(err, TQ_E_FORMAT, "%s: GPTQ config \"group_size\" is %lld; it is -1 or a positive size", path,
                      (long long)group);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(q, "checkpoint_format");
    tq_codec_id codec = TQ_CODEC_GPTQ;
    if (fmt) {
        if (cJSON_IsString(fmt) && !strcmp(fmt->valuestring, "gptq_v2")) codec = TQ_CODEC_GPTQ_V2;
        else if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "gptq"))
            return tq_err(err, TQ_E_UNSUPPORTED, "%s: GPTQ config \"checkpoint_format\" is %s; trueq reads \"gptq\" "
                          "and \"gptq_v2\"", path, cJSON_IsString(fmt) ? fmt->valuestring : "not a string");
    }
    for (int64_t i = 0; i < cx->c->n; i++) {
        const char *nm = cx->c->entries[i].name;
        size_t l = strlen(nm);
        if (cx->consumed[i] || l < 8 || strcmp(nm + l - 8, ".qweight")) continue;
        tq_status st = gptq_one(cx, i, (int)bits, group, codec, err);
        if (st) return st;
    }
    return TQ_OK;
}

const tq_qlayout tq_qlayout_gptq = {
    "gptq", "GPTQ: qweight/qzeros/scales/g_idx, 2/3/4/8-bit, int32-packed (AutoGPTQ, GPTQModel)", gptq_claim,
};
