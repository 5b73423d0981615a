/*
 * config.c — typed, range-checked getters over cJSON (config.h).
 */
#include "core/internal.h"
#include "nn/config.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tq_status tq_cfg_parse(tq_cfg *c, const char *path, const char *text, size_t len, int allow_array, tq_error *err) {
    c->root = NULL;
    c->path = path;
    c->st = TQ_OK;
    c->err = err;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);   /* end: no global error pointer */
    if (!j) return c->st = tq_err(err, TQ_E_FORMAT, "%s: not valid JSON", path);
    if (!cJSON_IsObject(j) && !(allow_array && cJSON_IsArray(j))) {
        cJSON_Delete(j);
        return c->st = tq_err(err, TQ_E_FORMAT, "%s: not a JSON object", path);
    }
    c->root = j;
    return TQ_OK;
}

tq_status tq_cfg_open(tq_cfg *c, const char *path, int allow_array, tq_error *err) {
    char *text;
    size_t len;
    c->root = NULL;
    c->path = path;
    c->err = err;
    if ((c->st = tq_read_file(path, &text, &len, err))) return c->st;
    tq_status st = tq_cfg_parse(c, path, text, len, allow_array, err);
    free(text);
    return st;
}

void tq_cfg_close(tq_cfg *c) {
    if (!c) return;
    cJSON_Delete(c->root);
    c->root = NULL;
}

const cJSON *tq_cfg_item(const cJSON *obj, const char *key) {
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    return v && !cJSON_IsNull(v) ? v : NULL;
}

tq_status tq_cfg_fail(tq_cfg *c, tq_status st, const char *fmt, ...) {
    if (c->st) return c->st;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return c->st = tq_err(c->err, st, "%s: %s", c->path, msg);
}

/* What a value is, for "..., not X": a type name, or the number itself. */
static const char *what(const cJSON *v, char *buf, size_t cap) {
    if (cJSON_IsNumber(v)) { snprintf(buf, cap, "%.17g", v->valuedouble); return buf; }
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v) ? "true" : "false";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    return "another type";
}

int tq_cfg_require(tq_cfg *c, const cJSON *obj, const char *key) {
    if (c->st) return 0;
    if (tq_cfg_item(obj, key)) return 1;
    tq_cfg_fail(c, TQ_E_FORMAT, "\"%s\" is missing", key);
    return 0;
}

/* A number in [lo, hi] (an integer one when integer): 1 and *out, else 0
 * (absent, or an error recorded). */
static int number(tq_cfg *c, const cJSON *obj, const char *key, int integer, double lo, double hi, double *out) {
    const cJSON *v = tq_cfg_item(obj, key);
    if (c->st || !v) return 0;
    int ok = cJSON_IsNumber(v) && v->valuedouble >= lo && v->valuedouble <= hi &&
             (!integer || v->valuedouble == floor(v->valuedouble));
    if (!ok) {
        char b[40];
        tq_cfg_fail(c, TQ_E_FORMAT, "\"%s\" must be %s in [%.17g, %.17g], not %s", key, integer ? "an integer" : "a number",
                    lo, hi, what(v, b, sizeof b));
        return 0;
    }
    *out = v->valuedouble;
    return 1;
}

int tq_cfg_int(tq_cfg *c, const cJSON *obj, const char *key, int *out, int lo, int hi) {
    double d;
    if (!number(c, obj, key, 1, lo, hi, &d)) return 0;
    *out = (int)d;
    return 1;
}

int tq_cfg_float(tq_cfg *c, const cJSON *obj, const char *key, float *out, double lo, double hi) {
    double d;
    if (!number(c, obj, key, 0, lo, hi, &d)) return 0;
    *out = (float)d;
    return 1;
}

/* obj's key when present and of the type `is` tests; else NULL (absent, or
 * an error "must be <want>" recorded). */
static const cJSON *typed(tq_cfg *c, const cJSON *obj, const char *key, cJSON_bool (*is)(const cJSON *),
                          const char *want) {
    const cJSON *v = tq_cfg_item(obj, key);
    if (c->st || !v) return NULL;
    if (is(v)) return v;
    char b[40];
    tq_cfg_fail(c, TQ_E_FORMAT, "\"%s\" must be %s, not %s", key, want, what(v, b, sizeof b));
    return NULL;
}

int tq_cfg_bool(tq_cfg *c, const cJSON *obj, const char *key, int *out) {
    const cJSON *v = typed(c, obj, key, cJSON_IsBool, "true or false");
    if (v) *out = cJSON_IsTrue(v) ? 1 : 0;
    return v != NULL;
}

int tq_cfg_string(tq_cfg *c, const cJSON *obj, const char *key, const char **out) {
    const cJSON *v = typed(c, obj, key, cJSON_IsString, "a string");
    if (v) *out = v->valuestring;
    return v != NULL;
}

int tq_cfg_choice(tq_cfg *c, const cJSON *obj, const char *key, const char *const *names, const int *values, int n,
                  int *out) {
    const char *s;
    if (!tq_cfg_string(c, obj, key, &s)) return 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) { *out = values ? values[i] : i; return 1; }
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; i < n && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, i ? ", %s" : "%s", names[i]);
    tq_cfg_fail(c, TQ_E_UNSUPPORTED, "\"%s\" is \"%s\"; supported: %s", key, s, list);
    return 0;
}
