/*
 * qlayout_awq.c — the AWQ row (AutoAWQ "gemm" checkpoints, transformers
 * quant_method "awq"): for each module P, P.qweight + P.qzeros + P.scales
 * become one logical tensor P.weight [out, in] of the codec awq (layout in
 * src/codec/awq.c, facts in docs/formats/quantized-layouts.md).
 *
 * Config (config.json quantization_config, or quantize_config.json):
 *   quant_method "awq"; bits (AutoAWQ: w_bit) 4; group_size (q_group_size),
 *   -1 for one group per row; zero_point true (the only packing with
 *   zeros); version "gemm" (default). GEMV, Marlin and the other kernel
 *   packings are refused by name.
 */
#include "io/qlayout.h"
#include <string.h>
#include <strings.h>

static tq_status awq_claim(tq_qlayout_ctx *cx, tq_error *err) {
    const cJSON *q = cx->qconf;
    const char *m = tq_qlayout_str(q, "quant_method");
    if (!m || strcasecmp(m, "awq")) return TQ_OK;
    const char *path = cx->c->map.path;
    int64_t bits = tq_qlayout_int(q, "bits", tq_qlayout_int(q, "w_bit", 0));
    int64_t group = tq_qlayout_int(q, "group_size", tq_qlayout_int(q, "q_group_size", 0));
    const char *ver = tq_qlayout_str(q, "version");
    const cJSON *zp = cJSON_GetObjectItemCaseSensitive(q, "zero_point");
    if (bits != 4)
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: AWQ config \"bits\" is %lld; AWQ GEMM packs 4", path, (long long)bits);
    if (group != -1 && (group < 1 || group > (int64_t)1 << 40))
        return tq_err(err, TQ_E_FORMAT, "%s: AWQ config \"group_size\" is %lld; it is -1 or a positive size", path,
                      (long long)group);
    if (ver && strcasecmp(ver, "gemm"))
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: AWQ config \"version\" is %s; trueq reads the \"gemm\" packing", path,
                      ver);
    if (zp && !cJSON_IsTrue(zp))
        return tq_err(err, TQ_E_UNSUPPORTED, "%s: AWQ config \"zero_point\" is not true; trueq reads the packing with "
                      "zero points", path);
    for (int64_t i = 0; i < cx->c->n; i++) {
        const tq_entry *qw = &cx->c->entries[i];
        int64_t pl = tq_qlayout_prefix(qw->name, ".qweight");
        if (cx->consumed[i] || pl < 0) continue;
        static const char *const side[2] = {".qzeros", ".scales"};
        int64_t k[2];
        for (int a = 0; a < 2; a++)
            if ((k[a] = tq_qlayout_find(cx, qw->name, (size_t)pl, side[a])) < 0)
                return tq_err(err, TQ_E_FORMAT, "%s: AWQ tensor \"%s\": \"%.*s%s\" is missing", path, qw->name, (int)pl,
                              qw->name, side[a]);
        if (tq_qlayout_find(cx, qw->name, (size_t)pl, ".g_idx") >= 0)
            return tq_err(err, TQ_E_FORMAT, "%s: AWQ tensor \"%s\" has a g_idx (a GPTQ layout); AWQ has none", path,
                          qw->name);
        if (qw->dtype != TQ_DTYPE_I32 || qw->ndim != 2 || qw->shape[1] > INT64_MAX / 8)
            return tq_err(err, TQ_E_FORMAT, "%s: AWQ tensor \"%s\" is %s with %d dims; AWQ packs I32 [in, out/8]", path,
                          qw->name, tq_dtype_name(qw->dtype), qw->ndim);
        int64_t in = qw->shape[0], out = qw->shape[1] * 8, g = group < 0 ? in : group;
        tq_qparams p = {TQ_CODEC_AWQ, 4, TQ_GRAN_GROUP, g, g > 0 && in % g != 0, 0.0f, 0, 0};
        const char *name = tq_qlayout_name(cx->pool, qw->name, (size_t)pl, ".weight");
        if (!name) return tq_err(err, TQ_E_NOMEM, "out of memory");
        tq_status st = tq_qlayout_emit(cx, "AWQ", &p, out, in, name, TQ_DTYPE_F16, i, k, 2, NULL, 0, err);
        if (st) return st;
    }
    return TQ_OK;
}

const tq_qlayout tq_qlayout_awq = {
    "awq", "AWQ GEMM: qweight/qzeros int32 [in, out/8] in the order 0 2 4 6 1 3 5 7, scales F16 (AutoAWQ)", awq_claim,
};
