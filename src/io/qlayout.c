/*
 * qlayout.c — what the rows of the foreign quantized-layout table share
 * (qlayout.h): the config reader, names, entry lookups. The table itself is
 * qlayout_table.c.
 */
#include "io/qlayout.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void tq_qlayout_pool_free(tq_qlayout_pool *p) {
    for (int64_t i = 0; i < p->n; i++) free(p->s[i]);
    free(p->s);
    memset(p, 0, sizeof *p);
}

const char *tq_qlayout_name(tq_qlayout_pool *p, const char *prefix, size_t plen, const char *suffix) {
    if (p->n == p->cap) {
        int64_t nc = p->cap ? 2 * p->cap : 16;
        char **ns = realloc(p->s, sizeof *ns * (size_t)nc);
        if (!ns) return NULL;
        p->s = ns;
        p->cap = nc;
    }
    size_t sl = strlen(suffix);
    char *s = malloc(plen + sl + 1);
    if (!s) return NULL;
    memcpy(s, prefix, plen);
    memcpy(s + plen, suffix, sl + 1);
    return p->s[p->n++] = s;
}

int64_t tq_qlayout_find(const tq_qlayout_ctx *cx, const char *prefix, size_t plen, const char *suffix) {
    char name[1024];
    if (plen + strlen(suffix) + 1 > sizeof name) return -1;
    memcpy(name, prefix, plen);
    strcpy(name + plen, suffix);
    int64_t k = tq_container_find(cx->c, name);
    return k >= 0 && !cx->consumed[k] ? k : -1;
}

bool tq_qlayout_is(const tq_entry *e, tq_dtype dt, int ndim, const int64_t *shape) {
    if (e->dtype != dt || e->ndim != ndim) return false;
    for (int d = 0; d < ndim; d++)
        if (e->shape[d] != shape[d]) return false;
    return true;
}

int64_t tq_qlayout_int(const cJSON *o, const char *key, int64_t def) {
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    if (!cJSON_IsNumber(v) || v->valuedouble < -9e15 || v->valuedouble > 9e15) return def;
    return (int64_t)v->valuedouble;
}

tq_status tq_qlayout_config_load(const char *dir, cJSON **root, const cJSON **qconf, tq_error *err) {
    *root = NULL;
    *qconf = NULL;
    static const char *const files[] = {"config.json", "quantize_config.json"};
    for (int f = 0; f < 2 && !*qconf; f++) {
        char *p = tq_path_join(dir, files[f]);
        if (!p) return tq_err(err, TQ_E_NOMEM, "out of memory");
        if (!tq_file_exists(p)) { free(p); continue; }
        char *text;
        size_t len;
        tq_status st = tq_read_file(p, &text, &len, err);
        if (st) { free(p); return st; }
        cJSON *j = cJSON_ParseWithLength(text, len);
        free(text);
        if (!cJSON_IsObject(j)) {
            cJSON_Delete(j);
            st = tq_err(err, TQ_E_FORMAT, "%s: not a JSON object", p);
            free(p);
            return st;
        }
        free(p);
        const cJSON *q = f == 1 ? j : cJSON_GetObjectItemCaseSensitive(j, "quantization_config");
        if (f == 0 && !q) q = cJSON_GetObjectItemCaseSensitive(j, "quantization");
        if (cJSON_IsObject(q)) {
            *root = j;
            *qconf = q;
        } else {
            cJSON_Delete(j);
        }
    }
    return TQ_OK;
}

