/*
 * qlayout.c — what the rows of the foreign quantized-layout table share
 * (qlayout.h): the config reader, names, entry lookups. The table itself is
 * qlayout_table.c.
 */
#include "io/qlayout.h"
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
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


tq_status tq_qlayout_pin(const tq_qlayout_ctx *cx, const tq_entry *e, tq_error *err) {
    if (e->owned || !cx->c->map.data) return TQ_OK;
    return tq_map_pin(&cx->c->map, e->offset, e->nbytes, err);
}

int64_t tq_qlayout_prefix(const char *name, const char *suffix) {
    size_t a = strlen(name), b = strlen(suffix);
    return a > b && strcmp(name + a - b, suffix) == 0 ? (int64_t)(a - b) : -1;
}

const char *tq_qlayout_str(const cJSON *o, const char *key) {
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *tq_qlayout_shape_str(tq_dtype dt, int ndim, const int64_t *shape, char *buf, size_t cap) {
    size_t l = (size_t)snprintf(buf, cap, "%s [", tq_dtype_name(dt));
    for (int d = 0; d < ndim && l < cap; d++) l += (size_t)snprintf(buf + l, cap - l, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (l < cap) snprintf(buf + l, cap - l, "]");
    return buf;
}

tq_status tq_qlayout_emit(tq_qlayout_ctx *cx, const char *what, const tq_qparams *q, int64_t rows, int64_t cols,
                          const char *name, tq_dtype orig, int64_t ic, const int64_t *k, int n, const int64_t *xtra,
                          int nx, tq_error *err) {
    const tq_container *c = cx->c;
    const char *path = c->map.path;
    const tq_entry *ce = &c->entries[ic];
    tq_tensor *t = &cx->t[*cx->n];
    memset(t, 0, sizeof *t);
    t->q = *q;
    tq_status st = tq_qparams_check(&t->q, ce->name, rows, cols, err);
    if (st) return tq_err_prefix(err, st, "%s: %s", path, what);
    tq_dtype cd;
    int64_t cs[2];
    t->n_aux = tq_qparams_layout(&t->q, rows, cols, &cd, cs, t->aux_desc);
    char a[96], b[96];
    int cnd = cs[1] ? 2 : 1;
    if (!tq_qlayout_is(ce, cd, cnd, cs))
        return tq_err(err, TQ_E_FORMAT, "%s: %s tensor \"%s\" is %s; [%lld, %lld] at %d bits stores its codes as %s", path,
                      what, ce->name, tq_qlayout_shape_str(ce->dtype, ce->ndim, ce->shape, a, sizeof a),
                      (long long)rows, (long long)cols, q->bits, tq_qlayout_shape_str(cd, cnd, cs, b, sizeof b));
    if (t->n_aux != n)
        return tq_err(err, TQ_E_INTERNAL, "%s: %s tensor \"%s\": codec layout has %d side tensors, the row gives %d", path,
                      what, ce->name, t->n_aux, n);
    for (int i = 0; i < n; i++) {
        const tq_entry *x = &c->entries[k[i]];
        const tq_aux_desc *d = &t->aux_desc[i];
        if (!tq_qlayout_is(x, d->dtype, d->ndim, d->shape))
            return tq_err(err, TQ_E_FORMAT, "%s: %s tensor \"%s\" is %s; [%lld, %lld] at %d bits, group %lld gives %s",
                          path, what, x->name, tq_qlayout_shape_str(x->dtype, x->ndim, x->shape, a, sizeof a),
                          (long long)rows, (long long)cols, q->bits, (long long)q->group,
                          tq_qlayout_shape_str(d->dtype, d->ndim, d->shape, b, sizeof b));
        t->aux[i] = x->data;
        t->aux_bytes += x->nbytes;
    }
    for (int i = 0; i < nx; i++) t->aux_bytes += c->entries[xtra[i]].nbytes;
    t->name = name;
    t->dtype = cd;
    t->ndim = 2;
    t->shape[0] = rows;
    t->shape[1] = cols;
    t->numel = rows * cols;
    t->nbytes = ce->nbytes;
    t->data = ce->data;
    t->file_index = cx->file;
    t->quantized = 1;
    t->orig_dtype = orig;
    cx->consumed[ic] = 1;
    for (int i = 0; i < n; i++) cx->consumed[k[i]] = 1;
    for (int i = 0; i < nx; i++) cx->consumed[xtra[i]] = 1;
    (*cx->n)++;
    return TQ_OK;
}
