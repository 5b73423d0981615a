/*
 * model.c — tq_model: open a file or a Hugging Face directory and expose its
 * logical tensors.
 *
 * Accepted paths: a file of any readable format row (.safetensors, .npz,
 * .gguf, a torch.save pytorch_model.bin); a model.safetensors.index.json or
 * pytorch_model.bin.index.json (sharded checkpoint: every indexed tensor must
 * be present exactly once, in the shard the index names; a shard file in the
 * directory that the index does not name is an error); or a directory holding
 * model.safetensors, model.safetensors.index.json, weights.npz, model.gguf,
 * pytorch_model.bin(.index.json) or a single weight file (find_in_dir).
 *
 * trueq files carry, for each quantized tensor NAME, metadata
 * "trueq.tensor.NAME" = JSON descriptor; the codes are stored under NAME and
 * the side tensors under "NAME.<suffix>" (docs/formats/trueq-safetensors.md).
 * They are grouped here into one logical tensor with the original shape.
 */
#include "io/model.h"
#include "ggml/ggml_types.h"
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

bool tq_shape_2d(int ndim, const int64_t *shape, int64_t *rows, int64_t *cols) {
    if (ndim == 0) { *rows = 1; *cols = 1; return true; }
    if (ndim == 1) { *rows = 1; *cols = shape[0]; return true; }
    int64_t c = 1;
    for (int i = 1; i < ndim; i++)
        if (shape[i] < 0 || __builtin_mul_overflow(c, shape[i], &c)) { *rows = *cols = 0; return false; }
    *rows = shape[0]; *cols = c;
    return true;
}

char *tq_descriptor_render(const tq_qparams *q, int simulated, tq_dtype orig_dtype, int ndim,
                           const int64_t *shape, const char *rule) {
    tq_sb b = {0};
    const tq_codec_info *ci = tq_codec_by_id(q->codec);
    tq_sb_printf(&b, "{\"codec\":\"%s\",\"bits\":%d,\"granularity\":\"%s\"", ci ? ci->name : "?", q->bits,
                 tq_gran_name(q->gran));
    if (q->gran == TQ_GRAN_GROUP) tq_sb_printf(&b, ",\"group\":%lld,\"pad\":%s", (long long)q->group, q->pad ? "true" : "false");
    if (ci && ci->uses_alpha) tq_sb_printf(&b, ",\"alpha\":%.9g", (double)q->alpha);
    const tq_ggml_type_info *gt = q->ggml_type ? tq_ggml_type(q->ggml_type) : NULL;
    if (gt) tq_sb_printf(&b, ",\"ggml_type\":\"%s\"", gt->name);
    if (simulated) tq_sb_puts(&b, ",\"simulated\":true");
    tq_sb_printf(&b, ",\"dtype\":\"%s\",\"shape\":[", tq_dtype_name(orig_dtype));
    for (int i = 0; i < ndim; i++) tq_sb_printf(&b, i ? ",%lld" : "%lld", (long long)shape[i]);
    tq_sb_puts(&b, "]");
    if (rule) { tq_sb_puts(&b, ",\"rule\":"); tq_sb_json_str(&b, rule); }
    tq_sb_puts(&b, "}");
    if (b.oom) { tq_sb_free(&b); return NULL; }
    return b.s;
}

tq_status tq_descriptor_parse(const char *json, const char *tname, tq_tensor *t, tq_error *err) {
    cJSON *j = cJSON_Parse(json);
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return tq_err(err, TQ_E_FORMAT, "tensor \"%s\": trueq descriptor is not a JSON object", tname);
    }
    tq_status st = TQ_OK;
    cJSON *codec = cJSON_GetObjectItemCaseSensitive(j, "codec"), *bits = cJSON_GetObjectItemCaseSensitive(j, "bits");
    cJSON *gran = cJSON_GetObjectItemCaseSensitive(j, "granularity"), *group = cJSON_GetObjectItemCaseSensitive(j, "group");
    cJSON *pad = cJSON_GetObjectItemCaseSensitive(j, "pad"), *dtype = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    cJSON *shape = cJSON_GetObjectItemCaseSensitive(j, "shape"), *sim = cJSON_GetObjectItemCaseSensitive(j, "simulated");
    cJSON *alpha = cJSON_GetObjectItemCaseSensitive(j, "alpha");
    const tq_codec_info *ci = cJSON_IsString(codec) ? tq_codec_by_name(codec->valuestring) : NULL;
    if (!ci) { st = tq_err(err, TQ_E_UNSUPPORTED, "tensor \"%s\": descriptor names an unknown codec", tname); goto out; }
    memset(&t->q, 0, sizeof t->q);
    t->q.codec = ci->id;
    if (!cJSON_IsNumber(bits)) { st = tq_err(err, TQ_E_FORMAT, "tensor \"%s\": descriptor lacks bits", tname); goto out; }
    t->q.bits = bits->valueint;
    int g = cJSON_IsString(gran) ? tq_gran_from_name(gran->valuestring) : -1;
    if (g < 0) { st = tq_err(err, TQ_E_FORMAT, "tensor \"%s\": descriptor has an unknown granularity", tname); goto out; }
    t->q.gran = (tq_granularity)g;
    if (g == TQ_GRAN_GROUP) {
        if (!cJSON_IsNumber(group) || group->valuedouble < 1 || group->valuedouble > 1e12) {
            st = tq_err(err, TQ_E_FORMAT, "tensor \"%s\": descriptor has no valid group size", tname); goto out;
        }
        t->q.group = (int64_t)group->valuedouble;
        t->q.pad = cJSON_IsTrue(pad);
    }
    if (cJSON_IsNumber(alpha)) t->q.alpha = (float)alpha->valuedouble;
    cJSON *gtype = cJSON_GetObjectItemCaseSensitive(j, "ggml_type");
    if (gtype) {   /* codec ggml: the block type by ggml's name ("Q4_K") */
        int id = cJSON_IsString(gtype) ? tq_ggml_type_from_name(gtype->valuestring) : -1;
        if (id <= 0) { st = tq_err(err, TQ_E_FORMAT, "tensor \"%s\": descriptor names an unknown ggml_type", tname); goto out; }
        t->q.ggml_type = id;
    }
    t->simulated = cJSON_IsTrue(sim);
    t->orig_dtype = cJSON_IsString(dtype) ? tq_dtype_from_name(dtype->valuestring) : TQ_DTYPE_INVALID;
    if (!tq_dtype_is_float(t->orig_dtype)) { st = tq_err(err, TQ_E_FORMAT, "tensor \"%s\": descriptor has no float dtype", tname); goto out; }
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) > TQ_MAX_DIMS) {
        st = tq_err(err, TQ_E_FORMAT, "tensor \"%s\": descriptor has no valid shape", tname); goto out;
    }
    t->ndim = 0;
    for (cJSON *d = shape->child; d; d = d->next) {
        if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 9e15) {
            st = tq_err(err, TQ_E_FORMAT, "tensor \"%s\": descriptor shape has a bad value", tname); goto out;
        }
        t->shape[t->ndim++] = (int64_t)d->valuedouble;
    }
    if (!tq_shape_numel(t->ndim, t->shape, &t->numel)) { st = tq_err(err, TQ_E_FORMAT, "tensor \"%s\": descriptor shape overflows", tname); goto out; }
out:
    cJSON_Delete(j);
    return st;
}

static int model_add_file(tq_model *m, const char *path, tq_error *err) {
    tq_container *nf = realloc(m->files, sizeof *nf * (size_t)(m->nfiles + 1));
    if (!nf) { tq_err(err, TQ_E_NOMEM, "out of memory"); return -1; }
    m->files = nf;
    if (tq_container_open(&m->files[m->nfiles], path, err)) return -1;
    return m->nfiles++;
}

/* A GGUF entry stored in ggml blocks as a quantized tensor of the codec ggml;
 * its logical dtype is F32 (what ggml decodes to). */
static tq_status ggml_tensor(tq_tensor *t, const tq_entry *e, tq_error *err) {
    int64_t rows, cols, cs[2];
    tq_dtype cd;
    tq_status st = tq_qparams_ggml(e->ggml_type, &t->q, err);
    if (st) return st;
    if (!tq_shape_2d(t->ndim, t->shape, &rows, &cols))
        return tq_err(err, TQ_E_FORMAT, "tensor \"%s\": shape overflows", e->name);
    if ((st = tq_qparams_check(&t->q, e->name, rows, cols, err))) return st;
    t->n_aux = tq_qparams_layout(&t->q, rows, cols, &cd, cs, t->aux_desc);
    if (t->n_aux != 0 || tq_nbytes(cd, 2, cs) != e->nbytes)
        return tq_err(err, TQ_E_FORMAT, "tensor \"%s\": %llu bytes of ggml blocks, the layout implies %llu", e->name,
                      (unsigned long long)e->nbytes, (unsigned long long)tq_nbytes(cd, 2, cs));
    t->quantized = 1;
    t->dtype = cd;
    t->orig_dtype = TQ_DTYPE_F32;
    return TQ_OK;
}

static const tq_model *g_sort_m;
static int cmp_by_name(const void *a, const void *b) {
    return strcmp(g_sort_m->t[*(const int64_t *)a].name, g_sort_m->t[*(const int64_t *)b].name);
}

static int64_t find_entry(const tq_container *c, const char *name) { return tq_container_find(c, name); }

/* Build logical tensors from all files. */
static tq_status build_tensors(tq_model *m, tq_error *err) {
    int64_t total = 0;
    for (int f = 0; f < m->nfiles; f++) total += m->files[f].n;
    m->t = calloc((size_t)(total ? total : 1), sizeof(tq_tensor));
    m->consumed = calloc((size_t)(m->nfiles > 0 ? m->nfiles : 1), sizeof(uint8_t *));
    if (!m->t || !m->consumed) return tq_err(err, TQ_E_NOMEM, "out of memory");
    for (int f = 0; f < m->nfiles; f++) {
        m->consumed[f] = calloc((size_t)(m->files[f].n ? m->files[f].n : 1), 1);
        if (!m->consumed[f]) return tq_err(err, TQ_E_NOMEM, "out of memory");
    }
    /* pass 1: quantized tensors named by descriptors (trueq's own layout; a
     * GGUF file's KVs are never descriptors) */
    for (int f = 0; f < m->nfiles; f++) {
        tq_container *c = &m->files[f];
        for (int64_t i = 0; c->format != TQ_FORMAT_GGUF && i < c->n; i++) {
            tq_entry *e = &c->entries[i];
            size_t kl = strlen(TQ_META_TENSOR_PREFIX) + strlen(e->name) + 1;
            char *key = malloc(kl);
            if (!key) return tq_err(err, TQ_E_NOMEM, "out of memory");
            snprintf(key, kl, "%s%s", TQ_META_TENSOR_PREFIX, e->name);
            const char *desc = tq_container_meta(c, key);
            free(key);
            if (!desc) continue;
            if (m->consumed[f][i])
                return tq_err(err, TQ_E_FORMAT, "%s: entry \"%s\" is both a side tensor and a quantized tensor", c->map.path, e->name);
            tq_tensor *t = &m->t[m->n];
            memset(t, 0, sizeof *t);
            tq_status st = tq_descriptor_parse(desc, e->name, t, err);
            if (st) return tq_err_prefix(err, st, "%s", c->map.path);
            t->name = e->name;
            t->file_index = f;
            t->data = e->data;
            t->dtype = e->dtype;
            t->nbytes = e->nbytes;
            m->consumed[f][i] = 1;
            if (t->simulated) {
                /* values stored in the original float dtype, original shape */
                int64_t numel;
                if (!tq_dtype_is_float(e->dtype) || !tq_shape_numel(e->ndim, e->shape, &numel) || numel != t->numel)
                    return tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": simulated tensor does not match its descriptor",
                                  c->map.path, e->name);
                m->n++;
                continue;
            }
            t->quantized = 1;
            int64_t rows, cols, cs[2];
            tq_dtype cd;
            if (!tq_shape_2d(t->ndim, t->shape, &rows, &cols))
                return tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": descriptor shape overflows", c->map.path, e->name);
            tq_status qs = tq_qparams_check(&t->q, e->name, rows, cols, err);
            if (qs) return tq_err_prefix(err, qs, "%s", c->map.path);
            t->n_aux = tq_qparams_layout(&t->q, rows, cols, &cd, cs, t->aux_desc);
            if (e->dtype != cd || e->ndim != 2 || e->shape[0] != cs[0] || e->shape[1] != cs[1])
                return tq_err(err, TQ_E_FORMAT,
                              "%s: tensor \"%s\": codes are %s [%lld, %lld] but the descriptor implies %s [%lld, %lld]",
                              c->map.path, e->name, tq_dtype_name(e->dtype), (long long)e->shape[0],
                              (long long)(e->ndim > 1 ? e->shape[1] : -1), tq_dtype_name(cd), (long long)cs[0], (long long)cs[1]);
            for (int a = 0; a < t->n_aux; a++) {
                char an[1024];
                snprintf(an, sizeof an, "%s.%s", e->name, t->aux_desc[a].suffix);
                int64_t k = find_entry(c, an);
                if (k < 0) return tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": side tensor \"%s\" is missing", c->map.path, e->name, an);
                if (m->consumed[f][k])
                    return tq_err(err, TQ_E_FORMAT, "%s: entry \"%s\" is claimed by two quantized tensors", c->map.path, an);
                tq_entry *x = &c->entries[k];
                bool ok = x->dtype == t->aux_desc[a].dtype && x->ndim == t->aux_desc[a].ndim;
                for (int d = 0; ok && d < x->ndim; d++) ok = x->shape[d] == t->aux_desc[a].shape[d];
                if (!ok) return tq_err(err, TQ_E_FORMAT, "%s: side tensor \"%s\" has the wrong dtype or shape for its descriptor", c->map.path, an);
                t->aux[a] = x->data;
                t->aux_bytes += x->nbytes;
                m->consumed[f][k] = 1;
            }
            m->n++;
        }
    }
    /* pass 1b: foreign quantized layouts (GPTQ ...: the table of io/qlayout_table.c),
     * told by names, dtypes, shapes and config.json's quantization object */
    {
        cJSON *root;
        const cJSON *qconf;
        tq_status st = tq_qlayout_config_load(m->dir, &root, &qconf, err);
        for (int f = 0; !st && f < m->nfiles; f++) {
            if (m->files[f].format == TQ_FORMAT_GGUF) continue;
            tq_qlayout_ctx cx = {&m->files[f], f, m->consumed[f], qconf, m->t, &m->n, &m->names};
            st = tq_qlayout_claim_file(&cx, err);
        }
        cJSON_Delete(root);
        if (st) return st;
    }
    /* pass 2: everything else is a plain tensor, or a GGUF tensor stored in
     * ggml blocks: the codec ggml, its blocks the codes (no side tensors) */
    for (int f = 0; f < m->nfiles; f++) {
        tq_container *c = &m->files[f];
        for (int64_t i = 0; i < c->n; i++) {
            if (m->consumed[f][i]) continue;
            tq_entry *e = &c->entries[i];
            tq_tensor *t = &m->t[m->n++];
            memset(t, 0, sizeof *t);
            t->name = e->name;
            t->dtype = t->orig_dtype = e->dtype;
            t->ndim = e->ndim;
            memcpy(t->shape, e->shape, sizeof t->shape);
            tq_shape_numel(e->ndim, e->shape, &t->numel);
            t->nbytes = e->nbytes;
            t->data = e->data;
            t->file_index = f;
            if (e->ggml_type) {
                tq_status st = ggml_tensor(t, e, err);
                if (st) return tq_err_prefix(err, st, "%s", c->map.path);
                continue;
            }
            size_t kl = strlen(TQ_META_KEPT_PREFIX) + strlen(e->name) + 1;
            char *key = malloc(kl);
            if (key) {
                snprintf(key, kl, "%s%s", TQ_META_KEPT_PREFIX, e->name);
                t->rule = tq_container_meta(c, key);
                free(key);
            }
        }
    }
    /* file order: sort by (file, offset) for a stable listing */
    m->sorted = malloc(sizeof(int64_t) * (size_t)(m->n ? m->n : 1));
    if (!m->sorted) return tq_err(err, TQ_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < m->n; i++) m->sorted[i] = i;
    g_sort_m = m;
    qsort(m->sorted, (size_t)m->n, sizeof(int64_t), cmp_by_name);
    g_sort_m = NULL;
    for (int64_t i = 1; i < m->n; i++)
        if (strcmp(m->t[m->sorted[i - 1]].name, m->t[m->sorted[i]].name) == 0)
            return tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\" appears more than once", m->path, m->t[m->sorted[i]].name);
    return TQ_OK;
}

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A tensor name and the shard (index into the sorted shard names) holding it. */
typedef struct shard_ref { const char *name; int shard; } shard_ref;
static int cmp_shard_ref(const void *a, const void *b) {
    const shard_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->shard > y->shard) - (x->shard < y->shard);
}

/* Sharded checkpoint: the index names the shard of every tensor. */
static tq_status open_sharded(tq_model *m, const char *index_path, tq_error *err) {
    char *text; size_t len;
    tq_status st = tq_read_file(index_path, &text, &len, err);
    if (st) return st;
    m->index_bytes = len;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    if (!j) return tq_err(err, TQ_E_FORMAT, "%s: index is not valid JSON", index_path);
    cJSON *wm = cJSON_GetObjectItemCaseSensitive(j, "weight_map");
    if (!cJSON_IsObject(wm)) { cJSON_Delete(j); return tq_err(err, TQ_E_FORMAT, "%s: no \"weight_map\" object", index_path); }
    if (!wm->child) { cJSON_Delete(j); return tq_err(err, TQ_E_FORMAT, "%s: \"weight_map\" is empty", index_path); }
    /* distinct shard names, in sorted order for determinism */
    int nsh = 0;
    char **shards = NULL;
    for (cJSON *it = wm->child; it; it = it->next) {
        if (!cJSON_IsString(it)) { st = tq_err(err, TQ_E_FORMAT, "%s: weight_map[\"%s\"] is not a file name", index_path, it->string); goto out; }
        if (!it->valuestring[0] || strchr(it->valuestring, '/') || !strcmp(it->valuestring, ".") || !strcmp(it->valuestring, "..")) { st = tq_err(err, TQ_E_FORMAT, "%s: shard name \"%s\" must be a plain file name", index_path, it->valuestring); goto out; }
        bool seen = false;
        for (int k = 0; k < nsh && !seen; k++) seen = strcmp(shards[k], it->valuestring) == 0;
        if (!seen) {
            char **ns = realloc(shards, sizeof(char *) * (size_t)(nsh + 1));
            if (!ns) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto out; }
            shards = ns;
            shards[nsh++] = it->valuestring;
        }
    }
    qsort(shards, (size_t)nsh, sizeof(char *), cmp_cstr);
    for (int k = 0; k < nsh; k++) {
        char *p = tq_path_join(m->dir, shards[k]);
        if (!p) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto out; }
        if (!tq_file_exists(p)) {
            st = tq_err(err, TQ_E_NOTFOUND, "%s: shard %s named by the index is missing (%s)", index_path, shards[k], p);
            free(p);
            goto out;
        }
        int fi = model_add_file(m, p, err);
        free(p);
        if (fi < 0) { st = err ? err->status : TQ_E_IO; goto out; }
    }
    /* every indexed tensor in its shard, every shard tensor indexed: compare
     * the index's (name, shard) pairs with the shards' by name, both sorted
     * (linear after the sorts, for checkpoints with 10^5 tensors) */
    {
        int64_t ni = 0, nf = 0;
        for (cJSON *it = wm->child; it; it = it->next) ni++;
        for (int k = 0; k < nsh; k++) nf += m->files[k].n;
        shard_ref *ir = malloc(sizeof *ir * (size_t)(ni ? ni : 1)), *fr = malloc(sizeof *fr * (size_t)(nf ? nf : 1));
        if (!ir || !fr) { free(ir); free(fr); st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto out; }
        ni = 0;
        for (cJSON *it = wm->child; it; it = it->next) {
            char **k = bsearch(&it->valuestring, shards, (size_t)nsh, sizeof(char *), cmp_cstr);
            ir[ni++] = (shard_ref){it->string, (int)(k - shards)};
        }
        nf = 0;
        for (int k = 0; k < nsh; k++)
            for (int64_t i = 0; i < m->files[k].n; i++) fr[nf++] = (shard_ref){m->files[k].entries[i].name, k};
        qsort(ir, (size_t)ni, sizeof *ir, cmp_shard_ref);
        qsort(fr, (size_t)nf, sizeof *fr, cmp_shard_ref);
        for (int64_t i = 1; i < ni && !st; i++)   /* cJSON keeps duplicate keys */
            if (strcmp(ir[i - 1].name, ir[i].name) == 0)
                st = tq_err(err, TQ_E_FORMAT, "%s: weight_map lists tensor \"%s\" twice", index_path, ir[i].name);
        for (int64_t i = 1; i < nf && !st; i++)
            if (strcmp(fr[i - 1].name, fr[i].name) == 0)
                st = tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\" is in two shards, %s and %s", index_path, fr[i].name,
                            shards[fr[i - 1].shard], shards[fr[i].shard]);
        int64_t a = 0, b = 0;
        while (!st && (a < ni || b < nf)) {
            int c = a == ni ? 1 : b == nf ? -1 : strcmp(ir[a].name, fr[b].name);
            if (c < 0) {
                st = tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\" is indexed in shard %s but not present there",
                            index_path, ir[a].name, shards[ir[a].shard]);
            } else if (c > 0) {
                /* side tensors of trueq's quantized tensors (NAME.__scale__ ...) need no entry */
                if (!strstr(fr[b].name, ".__"))
                    st = tq_err(err, TQ_E_FORMAT, "%s: shard %s holds tensor \"%s\" that the index does not list",
                                index_path, shards[fr[b].shard], fr[b].name);
                b++;
            } else {
                if (ir[a].shard != fr[b].shard)
                    st = tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\" is indexed in shard %s but not present there (it is in %s)",
                                index_path, ir[a].name, shards[ir[a].shard], shards[fr[b].shard]);
                a++, b++;
            }
        }
        free(ir);
        free(fr);
        if (st) goto out;
    }
    /* stray shards: files in the directory named like the shards' format
     * (*.safetensors; pytorch_model*.bin, *.pt ...) that the index does not name */
    {
        DIR *d = opendir(m->dir);
        struct dirent *de;
        const tq_format_info *shard_row = nsh ? tq_format_by_file_name(shards[0]) : NULL;
        while (d && (de = readdir(d))) {
            if (!shard_row || tq_format_by_file_name(de->d_name) != shard_row) continue;
            bool named = false;
            for (int k = 0; k < nsh && !named; k++) named = strcmp(shards[k], de->d_name) == 0;
            if (!named) {
                st = tq_err(err, TQ_E_FORMAT, "%s: stray shard %s in %s is not named by the index",
                            index_path, de->d_name, m->dir);
                break;
            }
        }
        if (d) closedir(d);
    }
out:
    free(shards);
    cJSON_Delete(j);
    return st;
}

/* Does base name `name` match one of row r's patterns? */
static bool row_matches(const tq_format_info *r, const char *name) {
    for (int p = 0; p < 4 && r->patterns[p]; p++)
        if (tq_glob_match(r->patterns[p], name)) return true;
    return false;
}

/* First existing file dir/<name>, or NULL. */
static char *existing(const char *dir, const char *name) {
    if (!name) return NULL;
    char *p = tq_path_join(dir, name);
    if (p && tq_file_exists(p)) return p;
    free(p);
    return NULL;
}

/*
 * The weight file of a directory, from the format table: each readable
 * format's default file, then its shard index (model.safetensors,
 * model.safetensors.index.json, weights.npz, model.gguf, pytorch_model.bin,
 * pytorch_model.bin.index.json); else the single file matching
 * a readable format's patterns. With none, a file of a recognised but unread
 * format (pytorch_model.bin, *.gguf) is chosen, so that opening it says what
 * it is; only then is the directory reported empty.
 */
static tq_status find_in_dir(const char *dir, char **file, tq_error *err) {
    *file = NULL;
    int nf = tq_format_count();
    for (int i = 0; i < nf && !*file; i++) {
        const tq_format_info *r = tq_format_at(i);
        if (!(r->caps & TQ_FORMAT_CAN_READ)) continue;
        if (!(*file = existing(dir, r->default_file))) *file = existing(dir, r->shard_index);
    }
    if (*file) return TQ_OK;
    char *foreign = NULL;
    for (int i = 0; i < nf && !foreign; i++)
        if (!(tq_format_at(i)->caps & TQ_FORMAT_CAN_READ)) foreign = existing(dir, tq_format_at(i)->default_file);
    const bool pinned = foreign != NULL;
    DIR *d = opendir(dir);
    struct dirent *de;
    int count = 0;
    while (d && (de = readdir(d))) {
        const tq_format_info *r = tq_format_by_file_name(de->d_name);
        if (!r || !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        bool readable = false;   /* a name may match several rows' patterns */
        for (int i = 0; i < nf && !readable; i++)
            readable = (tq_format_at(i)->caps & TQ_FORMAT_CAN_READ) && row_matches(tq_format_at(i), de->d_name);
        if (readable) {
            if (!count++) *file = tq_path_join(dir, de->d_name);
        } else if (!pinned && (!foreign || strcmp(de->d_name, strrchr(foreign, '/') + 1) < 0)) {
            free(foreign);   /* the first by name: the choice must not depend on readdir order */
            foreign = tq_path_join(dir, de->d_name);
        }
    }
    if (d) closedir(d);
    if (count == 1 && *file) { free(foreign); return TQ_OK; }
    free(*file);
    *file = NULL;
    if (count == 0 && foreign) { *file = foreign; return TQ_OK; }
    free(foreign);
    if (count) return tq_err(err, TQ_E_ARG, "%s: directory holds %d weight files and no model.safetensors(.index.json); name one",
                             dir, count);
    char names[256];
    return tq_err(err, TQ_E_NOTFOUND, "%s: directory holds no model.safetensors, model.safetensors.index.json or other "
                  "weight file (this build reads %s)", dir, tq_format_names(TQ_FORMAT_CAN_READ, names, sizeof names));
}

tq_model *tq_model_open(const char *path, tq_error *err) {
    tq_model *m = calloc(1, sizeof *m);
    if (!m) { tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    tq_status st = TQ_OK;
    char *file = NULL;
    if (tq_is_dir(path)) {
        if ((st = find_in_dir(path, &file, err))) goto fail;
    } else {
        file = tq_strdup(path);
    }
    if (!file) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
    m->path = file;
    m->dir = tq_path_dirname(file);
    if (!m->dir) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
    if (ends_with(file, ".index.json")) {
        m->sharded = 1;
        if ((st = open_sharded(m, file, err))) goto fail;
    } else {
        if (model_add_file(m, file, err) < 0) { st = err ? err->status : TQ_E_IO; goto fail; }
    }
    m->format = m->files[0].format;
    for (int f = 1; f < m->nfiles; f++)
        if (m->files[f].format != m->format) {
            st = tq_err(err, TQ_E_FORMAT, "%s: shard %s is a %s but %s is a %s", m->path, m->files[f].map.path,
                        tq_format_by_id(m->files[f].format)->what, m->files[0].map.path, tq_format_by_id(m->format)->what);
            goto fail;
        }
    if ((st = build_tensors(m, err))) goto fail;
    return m;
fail:
    (void)st;
    tq_model_close(m);
    return NULL;
}

void tq_model_close(tq_model *m) {
    if (!m) return;
    for (int f = 0; f < m->nfiles; f++) {
        tq_container_free(&m->files[f]);
        if (m->consumed) free(m->consumed[f]);
    }
    free(m->consumed);
    tq_qlayout_pool_free(&m->names);
    free(m->files);
    free(m->t);
    free(m->sorted);
    free(m->path);
    free(m->dir);
    free(m);
}

tq_format tq_model_format(const tq_model *m) { return m->format; }
const struct tq_gguf *tq_model_gguf(const tq_model *m) {
    return m->nfiles && m->files[0].format == TQ_FORMAT_GGUF ? m->files[0].priv : NULL;
}
int tq_model_sharded(const tq_model *m) { return m->sharded; }
int64_t tq_model_count(const tq_model *m) { return m->n; }
const tq_tensor *tq_model_tensor(const tq_model *m, int64_t i) { return (i >= 0 && i < m->n) ? &m->t[i] : NULL; }
const char *tq_model_dir(const tq_model *m) { return m->dir; }
const char *tq_model_path(const tq_model *m) { return m->path; }

const tq_tensor *tq_model_find(const tq_model *m, const char *name) {
    int64_t lo = 0, hi = m->n - 1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->t[m->sorted[mid]].name, name);
        if (c == 0) return &m->t[m->sorted[mid]];
        if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
    return NULL;
}

const char *tq_model_meta(const tq_model *m, const char *key) {
    return m->nfiles ? tq_container_meta(&m->files[0], key) : NULL;
}

void tq_model_memory(const tq_model *m, tq_memory_report *r) {
    memset(r, 0, sizeof *r);
    for (int64_t i = 0; i < m->n; i++) {
        const tq_tensor *t = &m->t[i];
        r->by_dtype[t->dtype] += t->nbytes;
        r->payload_bytes += t->nbytes;
        for (int a = 0; a < t->n_aux; a++) {
            uint64_t b = tq_nbytes(t->aux_desc[a].dtype, t->aux_desc[a].ndim, t->aux_desc[a].shape);
            r->by_dtype[t->aux_desc[a].dtype] += b;
            r->aux_bytes += b;
        }
    }
    r->total_bytes = r->payload_bytes + r->aux_bytes;
}
