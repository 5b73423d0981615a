/*
 * gguf_kv.c — typed GGUF metadata reads with named errors (gguf_kv.h).
 */
#include "nn/gguf_kv.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

tq_gkv tq_gkv_init(const tq_gguf *g, const char *path, const char *prefix, tq_error *err) {
    tq_gkv k = {{NULL, path, TQ_OK, err}, g, prefix ? prefix : ""};
    return k;
}

const char *tq_gkv_name(const tq_gkv *k, const char *key, char *buf, size_t cap) {
    snprintf(buf, cap, "%s%s", k->prefix, key);
    return buf;
}

const tq_gguf_value *tq_gkv_find(const tq_gkv *k, const char *key) {
    char full[256];
    int64_t i = tq_gguf_find_kv(k->g, tq_gkv_name(k, key, full, sizeof full));
    return i < 0 ? NULL : &k->g->kv[i].v;
}

/* The value of key, or NULL (absent, or an earlier error). */
static const tq_gguf_value *get(tq_gkv *k, const char *key) { return k->c.st ? NULL : tq_gkv_find(k, key); }

/* The value of key when present and of type t; else NULL (absent, or an
 * error "must be a <T>" recorded). */
static const tq_gguf_value *typed(tq_gkv *k, const char *key, tq_gguf_vtype t) {
    const tq_gguf_value *v = get(k, key);
    if (!v || v->type == t) return v;
    char full[256];
    tq_cfg_fail(&k->c, TQ_E_FORMAT, "GGUF key \"%s\" must be a %s, not %s", tq_gkv_name(k, key, full, sizeof full),
                tq_gguf_vtype_name(t), tq_gguf_vtype_name(v->type));
    return NULL;
}

int tq_gkv_require(tq_gkv *k, const char *key) {
    if (k->c.st) return 0;
    if (tq_gkv_find(k, key)) return 1;
    char full[256];
    tq_cfg_fail(&k->c, TQ_E_FORMAT, "GGUF key \"%s\" is missing", tq_gkv_name(k, key, full, sizeof full));
    return 0;
}

static int is_signed(tq_gguf_vtype t) {
    return t == TQ_GGUF_INT8 || t == TQ_GGUF_INT16 || t == TQ_GGUF_INT32 || t == TQ_GGUF_INT64;
}
static int is_int(tq_gguf_vtype t) {
    return is_signed(t) || t == TQ_GGUF_UINT8 || t == TQ_GGUF_UINT16 || t == TQ_GGUF_UINT32 || t == TQ_GGUF_UINT64;
}

int tq_gkv_int(tq_gkv *k, const char *key, int64_t *out, int64_t lo, int64_t hi) {
    const tq_gguf_value *v = get(k, key);
    if (!v) return 0;
    char full[256], what[48];
    tq_gkv_name(k, key, full, sizeof full);
    int ok = 0;
    if (!is_int(v->type)) {
        snprintf(what, sizeof what, "%s", tq_gguf_vtype_name(v->type));
    } else if (is_signed(v->type)) {
        ok = v->num.i >= lo && v->num.i <= hi;
        snprintf(what, sizeof what, "%lld", (long long)v->num.i);
    } else {
        ok = hi >= 0 && v->num.u <= (uint64_t)hi && (lo <= 0 || v->num.u >= (uint64_t)lo);
        snprintf(what, sizeof what, "%llu", (unsigned long long)v->num.u);
    }
    if (!ok) {
        tq_cfg_fail(&k->c, TQ_E_FORMAT, "GGUF key \"%s\" must be an integer in [%lld, %lld], not %s", full, (long long)lo,
                    (long long)hi, what);
        return 0;
    }
    *out = is_signed(v->type) ? v->num.i : (int64_t)v->num.u;
    return 1;
}

int tq_gkv_float(tq_gkv *k, const char *key, double *out, double lo, double hi) {
    const tq_gguf_value *v = get(k, key);
    if (!v) return 0;
    char full[256], what[48];
    tq_gkv_name(k, key, full, sizeof full);
    int isf = v->type == TQ_GGUF_FLOAT32 || v->type == TQ_GGUF_FLOAT64;
    if (isf) snprintf(what, sizeof what, "%.9g", v->num.f);
    else snprintf(what, sizeof what, "%s", tq_gguf_vtype_name(v->type));
    if (!isf || !isfinite(v->num.f) || v->num.f < lo || v->num.f > hi) {
        tq_cfg_fail(&k->c, TQ_E_FORMAT, "GGUF key \"%s\" must be a number in [%.9g, %.9g], not %s", full, lo, hi, what);
        return 0;
    }
    *out = v->num.f;
    return 1;
}

int tq_gkv_bool(tq_gkv *k, const char *key, int *out) {
    const tq_gguf_value *v = typed(k, key, TQ_GGUF_BOOL);
    if (v) *out = v->num.u != 0;
    return v != NULL;
}

int tq_gkv_string(tq_gkv *k, const char *key, tq_gguf_str *out) {
    const tq_gguf_value *v = typed(k, key, TQ_GGUF_STRING);
    if (v) *out = v->str;
    return v != NULL;
}

int tq_gkv_array(tq_gkv *k, const char *key, tq_gguf_vtype elem_type, uint64_t count, const tq_gguf_value **out) {
    const tq_gguf_value *v = get(k, key);
    if (!v) return 0;
    if (v->type != TQ_GGUF_ARRAY || v->elem_type != elem_type || (count && v->count != count)) {
        char full[256], want[64] = "", got[64];
        if (count) snprintf(want, sizeof want, " with %llu elements", (unsigned long long)count);
        if (v->type == TQ_GGUF_ARRAY)
            snprintf(got, sizeof got, "an array of %llu %s", (unsigned long long)v->count, tq_gguf_vtype_name(v->elem_type));
        else
            snprintf(got, sizeof got, "%s", tq_gguf_vtype_name(v->type));
        tq_cfg_fail(&k->c, TQ_E_FORMAT, "GGUF key \"%s\" must be an array of %s%s, not %s",
                    tq_gkv_name(k, key, full, sizeof full), tq_gguf_vtype_name(elem_type), want, got);
        return 0;
    }
    *out = v;
    return 1;
}

int tq_gkv_str_is(tq_gguf_str s, const char *lit) {
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.s, lit, n) == 0;
}
