/*
 * qlayout_bnb.c — the bitsandbytes row (transformers checkpoints saved in
 * 4-bit or 8-bit, config.json quantization_config.quant_method
 * "bitsandbytes"), codecs in src/codec/bnb.c, facts in
 * docs/formats/quantized-layouts.md:
 *
 *   4-bit, for each P.weight.quant_state.bitsandbytes__nf4 (or __fp4):
 *     P.weight U8 [ceil(n/2), 1] + P.weight.absmax + P.weight.quant_map
 *     (+ P.weight.nested_absmax + P.weight.nested_quant_map with double
 *     quant) + the quant_state itself (U8 bytes of a JSON object: quant_type,
 *     blocksize, dtype, shape [out, in], and for double quant
 *     nested_blocksize 256, nested_dtype, nested_offset)
 *     -> P.weight [out, in], codec bnb-nf4 / bnb-fp4 (-dq).
 *   8-bit, for each P.SCB: P.weight I8 [out, in] + P.SCB F32 [out]
 *     (+ P.weight_format U8 scalar, 0 = "row", the only layout read)
 *     -> P.weight, codec bnb-int8.
 */
#include "codec/codec.h"
#include "io/qlayout.h"
#include <math.h>
#include <string.h>
#include <strings.h>

static tq_dtype torch_dtype(const char *s) {
    if (!s) return TQ_DTYPE_INVALID;
    if (!strcmp(s, "bfloat16") || !strcmp(s, "torch.bfloat16")) return TQ_DTYPE_BF16;
    if (!strcmp(s, "float16") || !strcmp(s, "torch.float16")) return TQ_DTYPE_F16;
    if (!strcmp(s, "float32") || !strcmp(s, "torch.float32")) return TQ_DTYPE_F32;
    return TQ_DTYPE_INVALID;
}

typedef struct qstate { int64_t bs, rows, cols; tq_dtype dt; int dq; float offset; } qstate;

static tq_status parse_state(const tq_qlayout_ctx *cx, const tq_entry *qs, int fp4, qstate *s, tq_error *err) {
    const char *path = cx->c->map.path;
    if (qs->dtype != TQ_DTYPE_U8 || qs->ndim != 1)
        return tq_err(err, TQ_E_FORMAT, "%s: bitsandbytes tensor \"%s\" is %s with %d dims; a quant_state is U8 [n] "
                      "(JSON bytes)", path, qs->name, tq_dtype_name(qs->dtype), qs->ndim);
    tq_status st = tq_qlayout_pin(cx, qs, err);
    if (st) return st;
    cJSON *j = cJSON_ParseWithLength(qs->data, (size_t)qs->nbytes);
    if (!cJSON_IsObject(j)) {
        st = tq_err(err, TQ_E_FORMAT, "%s: bitsandbytes tensor \"%s\": its bytes are not a JSON object", path, qs->name);
        goto out;
    }
    const char *qt = tq_qlayout_str(j, "quant_type");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(j, "shape");
    s->bs = tq_qlayout_int(j, "blocksize", 0);
    s->dt = torch_dtype(tq_qlayout_str(j, "dtype"));
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(j, "nested_offset");
    s->dq = off != NULL;
    if (!qt || strcmp(qt, fp4 ? "fp4" : "nf4"))
        st = tq_err(err, TQ_E_FORMAT, "%s: bitsandbytes tensor \"%s\": quant_type is %s; the entry's name says %s", path,
                    qs->name, qt ? qt : "absent", fp4 ? "fp4" : "nf4");
    else if (s->bs < 16 || s->bs > 4096 || (s->bs & (s->bs - 1)))
        st = tq_err(err, TQ_E_FORMAT, "%s: bitsandbytes tensor \"%s\": blocksize %lld; bitsandbytes uses a power of two "
                    "from 16 to 4096", path, qs->name, (long long)s->bs);
    else if (!s->dt)
        st = tq_err(err, TQ_E_FORMAT, "%s: bitsandbytes tensor \"%s\": dtype is not float16, bfloat16 or float32", path,
                    qs->name);
    else if (!cJSON_IsArray(sh) || cJSON_GetArraySize(sh) != 2 || !cJSON_IsNumber(cJSON_GetArrayItem(sh, 0)) ||
             !cJSON_IsNumber(cJSON_GetArrayItem(sh, 1)) || cJSON_GetArrayItem(sh, 0)->valuedouble < 1 ||
             cJSON_GetArrayItem(sh, 1)->valuedouble < 1 || cJSON_GetArrayItem(sh, 0)->valuedouble > 1e9 ||
             cJSON_GetArrayItem(sh, 1)->valuedouble > 1e9)
        st = tq_err(err, TQ_E_FORMAT, "%s: bitsandbytes tensor \"%s\": shape is not [out, in] of positive sizes", path,
                    qs->name);
    else if (s->dq && (!cJSON_IsNumber(off) || !isfinite(off->valuedouble) ||
                       tq_qlayout_int(j, "nested_blocksize", 256) != 256))
        st = tq_err(err, TQ_E_FORMAT, "%s: bitsandbytes tensor \"%s\": double quant needs a finite nested_offset and "
                    "nested_blocksize 256", path, qs->name);
    if (!st) {
        s->rows = (int64_t)cJSON_GetArrayItem(sh, 0)->valuedouble;
        s->cols = (int64_t)cJSON_GetArrayItem(sh, 1)->valuedouble;
        s->offset = s->dq ? (float)off->valuedouble : 0.0f;
    }
out:
    cJSON_Delete(j);
    return st;
}

static tq_status bnb4_one(tq_qlayout_ctx *cx, int64_t iqs, int64_t pl, int fp4, tq_error *err) {
    const tq_container *c = cx->c;
    const char *path = c->map.path, *nm = c->entries[iqs].name;   /* "P.weight" is nm[0, pl) */
    qstate s = {0};
    tq_status st = parse_state(cx, &c->entries[iqs], fp4, &s, err);
    if (st) return st;
    static const char *const side[5] = {"", ".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map"};
    int64_t k[5];
    for (int a = 0; a < 5; a++) {
        k[a] = tq_qlayout_find(cx, nm, (size_t)pl, side[a]);
        if (k[a] < 0 && (a < 3 || s.dq))
            return tq_err(err, TQ_E_FORMAT, "%s: bitsandbytes 4-bit tensor \"%.*s\"%s: \"%.*s%s\" is missing", path,
                          (int)pl, nm, s.dq ? " (double quant)" : "", (int)pl, nm, side[a]);
        if (k[a] >= 0 && a >= 3 && !s.dq)
            return tq_err(err, TQ_E_FORMAT, "%s: bitsandbytes tensor \"%s\" is stored but the quant_state has no "
                          "nested_offset", path, c->entries[k[a]].name);
    }
    const tq_entry *qm = &c->entries[k[2]];
    float code[16];
    tq_bnb_code(fp4, code);
    int64_t s16[1] = {16};
    if (!tq_qlayout_is(qm, TQ_DTYPE_F32, 1, s16))
        return tq_err(err, TQ_E_FORMAT, "%s: bitsandbytes tensor \"%s\" is %s with %d dims; a quant_map is F32 [16]",
                      path, qm->name, tq_dtype_name(qm->dtype), qm->ndim);
    tq_status pst = tq_qlayout_pin(cx, qm, err);
    if (pst) return pst;
    for (int i = 0; i < 16; i++)
        if (memcmp((const uint8_t *)qm->data + 4 * i, &code[i], 4))
            return tq_err(err, TQ_E_UNSUPPORTED, "%s: bitsandbytes tensor \"%s\": entry %d is %.9g, not bitsandbytes' "
                          "%s code book (%.9g): a custom code book is not read", path, qm->name, i,
                          (double)tq_ld_f32(qm->data, i), fp4 ? "FP4" : "NF4", (double)code[i]);
    tq_codec_id id = s.dq ? (fp4 ? TQ_CODEC_BNB_FP4_DQ : TQ_CODEC_BNB_NF4_DQ) : (fp4 ? TQ_CODEC_BNB_FP4 : TQ_CODEC_BNB_NF4);
    tq_qparams q = {id, 4, TQ_GRAN_GROUP, s.bs, s.cols % s.bs != 0, s.offset, 0, 0};
    int64_t aux[3] = {k[1], k[3], k[4]}, xtra[2] = {k[2], iqs};
    return tq_qlayout_emit(cx, "bitsandbytes 4-bit", &q, s.rows, s.cols, c->entries[k[0]].name, s.dt, k[0], aux,
                           s.dq ? 3 : 1, xtra, 2, err);
}

static tq_status bnb8_one(tq_qlayout_ctx *cx, int64_t iscb, int64_t pl, tq_error *err) {
    const tq_container *c = cx->c;
    const char *path = c->map.path, *nm = c->entries[iscb].name;
    int64_t iw = tq_qlayout_find(cx, nm, (size_t)pl, ".weight"), ifm = tq_qlayout_find(cx, nm, (size_t)pl, ".weight_format");
    if (iw < 0)
        return tq_err(err, TQ_E_FORMAT, "%s: bitsandbytes int8 tensor \"%s\": \"%.*s.weight\" is missing", path, nm,
                      (int)pl, nm);
    const tq_entry *w = &c->entries[iw];
    if (w->dtype != TQ_DTYPE_I8 || w->ndim != 2)
        return tq_err(err, TQ_E_FORMAT, "%s: bitsandbytes int8 tensor \"%s\" is %s with %d dims; LLM.int8 stores I8 "
                      "[out, in]", path, w->name, tq_dtype_name(w->dtype), w->ndim);
    if (ifm >= 0) {
        const tq_entry *f = &c->entries[ifm];
        if (f->ndim > 1 || f->nbytes < 1 || (f->ndim == 1 && f->shape[0] != 1) ||
            (f->dtype != TQ_DTYPE_U8 && f->dtype != TQ_DTYPE_I64 && f->dtype != TQ_DTYPE_I32))
            return tq_err(err, TQ_E_FORMAT, "%s: bitsandbytes tensor \"%s\" is %s with %d dims; weight_format is one "
                          "integer", path, f->name, tq_dtype_name(f->dtype), f->ndim);
        tq_status pst = tq_qlayout_pin(cx, f, err);
        if (pst) return pst;
        if (((const uint8_t *)f->data)[0] != 0 || (f->dtype != TQ_DTYPE_U8 && tq_ld32((const uint8_t *)f->data) != 0))
            return tq_err(err, TQ_E_UNSUPPORTED, "%s: bitsandbytes tensor \"%s\" is %u; trueq reads weight_format 0 "
                          "(row)", path, f->name, (unsigned)((const uint8_t *)f->data)[0]);
    }
    tq_qparams q = {TQ_CODEC_BNB_INT8, 8, TQ_GRAN_CHANNEL, 0, 0, 0.0f, 0, 0};
    int64_t aux[1] = {iscb};
    return tq_qlayout_emit(cx, "bitsandbytes int8", &q, w->shape[0], w->shape[1], w->name, TQ_DTYPE_F16, iw, aux, 1,
                           &ifm, ifm >= 0 ? 1 : 0, err);
}

static tq_status bnb_claim(tq_qlayout_ctx *cx, tq_error *err) {
    const char *m = tq_qlayout_str(cx->qconf, "quant_method");
    if (!m || strcasecmp(m, "bitsandbytes")) return TQ_OK;
    for (int64_t i = 0; i < cx->c->n; i++) {
        if (cx->consumed[i]) continue;
        const char *nm = cx->c->entries[i].name;
        int64_t p4 = tq_qlayout_prefix(nm, ".quant_state.bitsandbytes__nf4"), f4 = tq_qlayout_prefix(nm, ".quant_state.bitsandbytes__fp4");
        int64_t p8 = tq_qlayout_prefix(nm, ".SCB");
        tq_status st = p4 >= 0 ? bnb4_one(cx, i, p4, 0, err) : f4 >= 0 ? bnb4_one(cx, i, f4, 1, err)
                     : p8 >= 0 ? bnb8_one(cx, i, p8, err) : TQ_OK;
        if (st) return st;
    }
    return TQ_OK;
}

const tq_qlayout tq_qlayout_bnb = {
    "bitsandbytes",
    "bitsandbytes: NF4/FP4 (absmax blocks, optional double quant, quant_state JSON) and LLM.int8 (int8 + SCB)",
    bnb_claim,
};
