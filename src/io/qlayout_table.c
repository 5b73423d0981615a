/*
 * qlayout_table.c — THE FOREIGN QUANTIZED-LAYOUT TABLE (qlayout.h): one line
 * per layout, and the refusal of quantized-looking entries no row claimed.
 */
#include "io/qlayout.h"
#include <string.h>

extern const tq_qlayout tq_qlayout_gptq;
extern const tq_qlayout tq_qlayout_mlx;
extern const tq_qlayout tq_qlayout_awq;
extern const tq_qlayout tq_qlayout_ct;
extern const tq_qlayout tq_qlayout_bnb;

/* THE TABLE: one line per layout, tried in this order. */
static const tq_qlayout *const TQ_QLAYOUTS[] = {
    &tq_qlayout_gptq,
    &tq_qlayout_mlx,
    &tq_qlayout_awq,
    &tq_qlayout_ct,
    &tq_qlayout_bnb,
};

#define NROWS ((int)(sizeof TQ_QLAYOUTS / sizeof TQ_QLAYOUTS[0]))

int tq_qlayout_count(void) { return NROWS; }
const tq_qlayout *tq_qlayout_at(int i) { return i >= 0 && i < NROWS ? TQ_QLAYOUTS[i] : NULL; }

/* Entry names only quantized layouts use (suffixes of the module path). */
static const char *const QUANT_SUFFIXES[] = {
    ".qweight", ".qzeros", ".g_idx", ".weight_packed", ".weight_scale", ".weight_zero_point", ".weight_shape",
    ".weight_g_idx", ".SCB", ".absmax", ".quant_map", ".nested_absmax", ".nested_quant_map",
    ".quant_state.bitsandbytes__nf4", ".quant_state.bitsandbytes__fp4",
    ".biases",   /* MLX affine (with .scales and U32 .weight) */
};

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

tq_status tq_qlayout_claim_file(tq_qlayout_ctx *cx, tq_error *err) {
    for (int r = 0; r < NROWS; r++) {
        tq_status st = TQ_QLAYOUTS[r]->claim(cx, err);
        if (st) return st;
    }
    const char *method = NULL;
    const cJSON *qm = cx->qconf ? cJSON_GetObjectItemCaseSensitive(cx->qconf, "quant_method") : NULL;
    if (cJSON_IsString(qm)) method = qm->valuestring;
    for (int64_t i = 0; i < cx->c->n; i++) {
        if (cx->consumed[i]) continue;
        const char *nm = cx->c->entries[i].name;
        for (size_t s = 0; s < sizeof QUANT_SUFFIXES / sizeof QUANT_SUFFIXES[0]; s++)
            if (ends_with(nm, QUANT_SUFFIXES[s]))
                return tq_err(err, TQ_E_UNSUPPORTED,
                              "%s: tensor \"%s\" belongs to a quantized layout (its \"%s\" entry) that no layout "
                              "trueq reads claims (config.json quant_method: %s)",
                              cx->c->map.path, nm, QUANT_SUFFIXES[s] + 1, method ? method : "none");
    }
    return TQ_OK;
}
