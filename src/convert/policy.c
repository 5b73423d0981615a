/*
 * policy.c — which tensors are quantized (docs/convert.md §policy).
 *
 * The default is the seeds' policy: quantize 2-D float "*.weight" matrices;
 * keep embeddings, norms, biases and 1-D tensors in their own dtype.
 * Precedence, first match wins:
 *   1. --exclude GLOB            keep
 *   2. a rule (recipe, planner) quantize with its settings, or keep
 *   2b. --include GLOB            quantize (any float tensor with elements)
 *   3. not a float dtype         keep ("I64 is not a float dtype")
 *   4. not 2-D                   keep (bias, norm gain, scalar; 3-D/4-D kernels)
 *   5. a norm                    keep
 *   6. an embedding              quantize per row with --quantize-embeddings, else keep
 *   7. name ends in ".weight"    quantize
 *   8. otherwise                 keep
 */
#include "convert/convert.h"
#include <string.h>
#include <strings.h>

static bool contains_ci(const char *s, const char *sub) {
    size_t n = strlen(sub);
    for (; *s; s++) if (strncasecmp(s, sub, n) == 0) return true;
    return false;
}

bool tq_policy_is_embedding(const char *name) {
    return contains_ci(name, "embed") || contains_ci(name, "wte.") || contains_ci(name, "wpe.") ||
           contains_ci(name, "shared.weight");
}

bool tq_policy_is_norm(const char *name) {
    return contains_ci(name, "norm") || contains_ci(name, "ln_") || contains_ci(name, ".ln.");
}

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

void tq_policy_decide(const tq_convert_options *o, const tq_tensor *t, int *quantize, bool *per_row,
                      char *rule, size_t cap, int *hit_include, int *hit_exclude, int *hit_rule,
                      const tq_qparams **rule_q) {
    *per_row = false;
    *rule_q = NULL;
    int inc = -1;
    const tq_dtype dt = tq_tensor_read_dtype(t);   /* ggml blocks (GGUF) are read as float32 */
    for (int i = 0; i < o->n_include; i++)          /* every matching glob counts as used */
        if (tq_glob_match(o->include[i], t->name)) { hit_include[i] = 1; if (inc < 0) inc = i; }
    for (int i = 0; i < o->n_exclude; i++)
        if (tq_glob_match(o->exclude[i], t->name)) {
            hit_exclude[i] = 1;
            *quantize = 0;
            snprintf(rule, cap, "--exclude %s", o->exclude[i]);
            return;
        }
    for (int i = 0; i < o->n_rules; i++) {          /* per-tensor rules: first match wins */
        const tq_convert_rule *r = &o->rules[i];
        if (!tq_glob_match(r->glob, t->name)) continue;
        hit_rule[i] = 1;
        *rule_q = r->keep ? NULL : &r->q;
        *quantize = !r->keep && tq_dtype_is_float(dt) && t->numel > 0;
        /* the text names the rule, not its file: a recipe reproduces the planner's bytes */
        if (r->keep) snprintf(rule, cap, "rule %s: keep", r->glob);
        else if (*quantize) snprintf(rule, cap, "rule %s", r->glob);
        else snprintf(rule, cap, "rule %s, but %s", r->glob, tq_dtype_is_float(dt) ? "the tensor is empty" : "it is not a float dtype");
        return;
    }
    if (inc >= 0) {
        *quantize = tq_dtype_is_float(dt) && t->numel > 0;
        if (*quantize) snprintf(rule, cap, "--include %s", o->include[inc]);
        else if (!tq_dtype_is_float(dt)) snprintf(rule, cap, "--include %s, but %s is not a float dtype", o->include[inc], tq_dtype_name(dt));
        else snprintf(rule, cap, "--include %s, but the tensor is empty", o->include[inc]);
        return;
    }
    *quantize = 0;
    if (!tq_dtype_is_float(dt)) { snprintf(rule, cap, "kept: %s is not a float dtype", tq_dtype_name(dt)); return; }
    if (t->ndim < 2) { snprintf(rule, cap, "kept: %d-D tensor (bias, norm or scalar)", t->ndim); return; }
    if (t->ndim > 2) { snprintf(rule, cap, "kept: %d-D tensor (only 2-D matrices by default; --include quantizes it as rows)", t->ndim); return; }
    if (t->numel == 0) { snprintf(rule, cap, "kept: empty tensor"); return; }
    if (tq_policy_is_norm(t->name)) { snprintf(rule, cap, "kept: normalization weights"); return; }
    if (tq_policy_is_embedding(t->name)) {
        if (o->quantize_embeddings) {
            *quantize = 1;
            *per_row = true;
            snprintf(rule, cap, "--quantize-embeddings: embedding, per row");
        } else {
            snprintf(rule, cap, "kept: embedding (--quantize-embeddings quantizes it)");
        }
        return;
    }
    if (ends_with(t->name, ".weight")) { *quantize = 1; snprintf(rule, cap, "default: 2-D *.weight matrix"); return; }
    snprintf(rule, cap, "kept: not a *.weight matrix");
}
