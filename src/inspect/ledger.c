/*
 * ledger.c — the byte-by-byte account of a model's files, and the detector of
 * fake quantization (quantized values stored as floats).
 *
 * Reconciliation: for every file, header + padding + payload + side tensors
 * equals the file size exactly; a sharded model adds its index file as
 * "other". tq_ledger_create checks this and fails with TQ_E_INTERNAL when it
 * does not hold, so a printed ledger always adds up.
 */
#include "io/model.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct tq_ledger {
    tq_ledger_row   *rows;
    int64_t          n;
    tq_ledger_totals tot;
};

/* ---- distinct-value counting with early exit ------------------------------ */

#define DSET_CAP 1024   /* open addressing, > 4 x 257 */
/* A slot is in use when its stamp is the set's generation: clearing the set
 * for the next count is one increment, not a 12 KB memset (a count per
 * sampled row). */
typedef struct dset { uint64_t k[DSET_CAP]; uint32_t stamp[DSET_CAP]; uint32_t gen; int n; } dset;

static void dset_clear(dset *s) {
    if (++s->gen == 0) { memset(s->stamp, 0, sizeof s->stamp); s->gen = 1; }   /* wrapped: stamps start again */
    s->n = 0;
}

static int dset_add(dset *s, uint64_t key) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 54) & (DSET_CAP - 1);
    while (s->stamp[i] == s->gen) {
        if (s->k[i] == key) return s->n;
        i = (i + 1) & (DSET_CAP - 1);
    }
    s->stamp[i] = s->gen; s->k[i] = key;
    return ++s->n;
}

static uint64_t raw_at(tq_dtype t, const uint8_t *d, int64_t i) {
    switch (t) {
    case TQ_DTYPE_F64: return tq_ld64(d + 8 * i);
    case TQ_DTYPE_F32: return tq_ld32(d + 4 * i);
    default: return tq_ld16(d + 2 * i);
    }
}

static double val_at(tq_dtype t, const uint8_t *d, int64_t i) {
    uint64_t r = raw_at(t, d, i);
    switch (t) {
    case TQ_DTYPE_F64: { double v; memcpy(&v, &r, 8); return v; }
    case TQ_DTYPE_F32: { uint32_t u = (uint32_t)r; float v; memcpy(&v, &u, 4); return v; }
    case TQ_DTYPE_F16: return tq_f16_to_f32((uint16_t)r);
    default: return tq_bf16_to_f32((uint16_t)r);
    }
}

/* Count distinct values of [begin, end) up to 257. -0.0 and 0.0 are one value. */
static int count_distinct(tq_dtype t, const uint8_t *d, int64_t begin, int64_t end, dset *s) {
    dset_clear(s);
    if (t == TQ_DTYPE_F32) {
        /* the float's own bits as the key: two floats are one value as doubles exactly when
         * these keys match (zeros share key 0; a NaN is keyed quiet, as its double is) */
        for (int64_t i = begin; i < end; i++) {
            uint32_t u = tq_ld32(d + 4 * i);
            uint64_t key = (u & 0x7fffffffu) == 0 ? 0 : (u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu) ? u | 0x400000u : u;
            if (dset_add(s, key) > 256) return 257;
        }
        return s->n;
    }
    for (int64_t i = begin; i < end; i++) {
        double v = val_at(t, d, i);
        uint64_t key;
        if (v == 0) key = 0; else memcpy(&key, &v, 8);
        if (dset_add(s, key) > 256) return 257;
    }
    return s->n;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Are the values of one row integer multiples of one step? In a quantized row
 * the largest magnitude is itself a multiple q * s of the step, with q at most
 * a few hundred; so try s = max|v| / q for q = 1..1024 and accept the first
 * for which every value is within float rounding of a multiple. A genuine
 * float row fails each candidate on its first values. The test reads the
 * row's values as they come (the set of values, hence each candidate's
 * verdict, is the one of its sorted distinct values); only a row found on a
 * grid is sorted, for *levels (its number of distinct values; on other rows
 * *levels is not set). A row with a NaN is sorted first, as it always was. */
static bool row_on_grid(tq_dtype t, const uint8_t *d, int64_t off, int64_t cols, double *tmp, int *levels) {
    double amax = 0, first = 0, second = 0;
    int few = 0;   /* distinct values seen, up to 3 */
    bool nan = false;
    for (int64_t c = 0; c < cols; c++) {
        double v = tmp[c] = val_at(t, d, off + c);
        if (fabs(v) > amax) amax = fabs(v);
        nan |= v != v;
        if (few == 0) { first = v; few = 1; }
        else if (few < 3 && v != first && (few == 1 || v != second)) { if (few == 1) second = v; few++; }
    }
    if (!nan && few >= 3) {   /* constant-ish rows (below) are on any grid; others: every candidate on the raw values */
        bool on = false;
        for (int q = 1; q <= 1024 && !on; q++) {
            double step = amax / q, tol = 1e-4;
            int64_t c = 0;
            for (; c < cols; c++) {
                double k = tmp[c] / step;
                if (fabs(k - nearbyint(k)) > tol) break;
            }
            on = c == cols;
        }
        if (!on) return false;
    }
    qsort(tmp, (size_t)cols, sizeof(double), cmp_double);
    int64_t nd = 1;                          /* the distinct values, sorted, in tmp[0, nd) */
    for (int64_t c = 1; c < cols; c++) if (tmp[c] != tmp[nd - 1]) tmp[nd++] = tmp[c];
    *levels = (int)nd;
    if (nd < 3) return true;                 /* constant-ish rows are on any grid */
    if (!nan) return true;                   /* found on a grid above */
    for (int q = 1; q <= 1024; q++) {
        double step = amax / q, tol = 1e-4;
        int64_t c = 0;
        for (; c < nd; c++) {
            double k = tmp[c] / step;
            if (fabs(k - nearbyint(k)) > tol) break;
        }
        if (c == nd) return true;
    }
    return false;
}

/* The test runs on a fixed-size sample, so that its cost is the same whatever
 * the data (a tensor of few distinct values used to be scanned whole, row by
 * row): at most SAMPLE_ROWS rows, evenly spaced and always including the
 * first, and of each the first SAMPLE_COLS values. A tensor within those
 * bounds is examined whole. A subset of a quantized row is still on its grid
 * and still has few distinct values, so sampling never hides fake
 * quantization that the whole-tensor test sees in every row. */
#define SAMPLE_ROWS 32
#define SAMPLE_COLS 1024

static void sample_shape(int64_t rows, int64_t cols, int64_t *rs, int64_t *cs) {
    *rs = rows < SAMPLE_ROWS ? rows : SAMPLE_ROWS;
    *cs = cols < SAMPLE_COLS ? cols : SAMPLE_COLS;
}
static int64_t sample_row(int64_t i, int64_t rows, int64_t rs) { return rs == rows ? i : i * rows / rs; }

/* The test proper, on a dense rs x cs sample. */
static int detect_sample(tq_dtype t, const uint8_t *d, int64_t rows, int64_t cols, int64_t *distinct, char *note,
                         size_t cap) {
    int64_t n = rows * cols;
    dset *s = calloc(1, sizeof *s);
    if (!s) return 0;
    int fake = 0;
    int k = count_distinct(t, d, 0, n, s);
    *distinct = k;
    const char *dn = tq_dtype_name(t);
    if (k <= 256 && k >= 3 && n >= 1024) {   /* at least 4x more values than a genuine tensor could repeat by chance */
        /* integers in the int8 range: codes stored as floats */
        bool ints = true;
        double lo = 0, hi = 0;
        for (int64_t i = 0; i < n && ints; i++) {
            double v = val_at(t, d, i);
            if (v != floor(v)) ints = false;
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        if (ints && lo >= -128 && hi <= 255)
            snprintf(note, cap, "%s tensor holds %d distinct integer values in [%g, %g]: quantization codes stored as %s "
                     "(%d bytes per weight), no compression", dn, k, lo, hi, dn, tq_dtype_bits(t) / 8);
        else
            snprintf(note, cap, "%s tensor holds %d distinct values: quantized values stored as floats, no compression", dn, k);
        fake = 1;
    } else if (k > 256 && cols >= 512 && rows >= 2) {
        /* per-row quantization stored as floats: every row has few distinct values */
        int worst = 0;
        bool all = true;
        for (int64_t r = 0; r < rows && all; r++) {
            int kr = count_distinct(t, d, r * cols, (r + 1) * cols, s);
            if (kr > 256) all = false;
            if (kr > worst) worst = kr;
        }
        if (all && worst >= 3) {
            snprintf(note, cap, "%s tensor: every row holds at most %d distinct values: per-channel quantized values "
                     "stored as floats, no compression", dn, worst);
            fake = 1;
        }
    }
    if (!fake && cols >= 16 && rows >= 2) {
        /* every row: integer multiples of one scale (per-channel quantization stored as floats) */
        double *tmp = malloc(sizeof(double) * (size_t)cols);
        bool all = tmp != NULL;
        int lev = 0;
        int64_t nonconst = 0;
        for (int64_t r = 0; r < rows && all; r++)
            if ((all = row_on_grid(t, d, r * cols, cols, tmp, &lev)) && lev >= 3) nonconst++;
        free(tmp);
        if (all && nonconst * 2 >= rows) {
            snprintf(note, cap, "%s tensor: the values of every row are integer multiples of one scale (per-channel "
                     "quantized values stored as floats, no compression)", dn);
            fake = 1;
        }
    }
    free(s);
    return fake;
}

int tq_detect_fake_quant(tq_dtype t, const void *data, int64_t rows, int64_t cols, int64_t *distinct,
                         char *note, size_t cap) {
    *distinct = -1;
    if (note && cap) note[0] = 0;
    if (!tq_dtype_is_float(t) || rows <= 0 || cols <= 0) return 0;
    int64_t rs, cs;
    sample_shape(rows, cols, &rs, &cs);
    size_t es = (size_t)tq_dtype_bits(t) / 8;
    if (rs == rows && cs == cols) return detect_sample(t, data, rows, cols, distinct, note, cap);
    uint8_t *buf = malloc(es * (size_t)(rs * cs));
    if (!buf) return 0;
    for (int64_t i = 0; i < rs; i++)
        memcpy(buf + es * (size_t)(i * cs), (const uint8_t *)data + es * (size_t)(sample_row(i, rows, rs) * cols), es * (size_t)cs);
    int fake = detect_sample(t, buf, rs, cs, distinct, note, cap);
    free(buf);
    return fake;
}

/* The same test on a tensor of the model, its sample read with pread when the
 * tensor lies in a mapped file (a file cut short is TQ_E_IO, never SIGBUS). */
static tq_status detect_tensor(const tq_model *m, const tq_tensor *t, int64_t rows, int64_t cols, int *fake,
                               int64_t *distinct, char *note, size_t cap, tq_error *err) {
    const tq_map *map = &m->files[t->file_index].map;
    const uint8_t *p = t->data;
    *fake = 0;
    if (!map->data || p < map->data || p >= map->data + map->size) {   /* decoded in memory */
        *fake = tq_detect_fake_quant(t->dtype, t->data, rows, cols, distinct, note, cap);
        return TQ_OK;
    }
    *distinct = -1;
    if (cap) note[0] = 0;
    int64_t rs, cs;
    sample_shape(rows, cols, &rs, &cs);
    size_t es = (size_t)tq_dtype_bits(t->dtype) / 8;
    uint8_t *buf = malloc(es * (size_t)(rs * cs));
    if (!buf) return tq_err(err, TQ_E_NOMEM, "%s: out of memory sampling tensor %s", m->path, t->name);
    uint64_t off = (uint64_t)(p - map->data);
    for (int64_t i = 0; i < rs; i++) {
        tq_status st = tq_map_read(map, off + es * (uint64_t)(sample_row(i, rows, rs) * cols), buf + es * (size_t)(i * cs),
                                   es * (size_t)cs, err);
        if (st) { free(buf); return st; }
    }
    *fake = detect_sample(t->dtype, buf, rs, cs, distinct, note, cap);
    free(buf);
    return TQ_OK;
}

/* ---- the ledger ------------------------------------------------------------- */

/* conversion_metadata.json beside the weights, if trueq wrote one (simulated
 * tensors carry their measured error there). NULL when absent or unreadable. */
static cJSON *load_conversion_metadata(const tq_model *m) {
    char *path = tq_path_join(tq_model_dir(m), "conversion_metadata.json"), *text = NULL;
    size_t len = 0;
    cJSON *j = NULL;
    if (path && tq_file_exists(path) && tq_read_file(path, &text, &len, NULL) == TQ_OK) j = cJSON_ParseWithLength(text, len);
    free(text);
    free(path);
    return j;
}

static const cJSON *sim_record(const cJSON *meta, const char *name) {
    const cJSON *ts = meta ? cJSON_GetObjectItemCaseSensitive(meta, "tensors") : NULL;
    for (const cJSON *t = ts ? ts->child : NULL; t; t = t->next) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0) return cJSON_GetObjectItemCaseSensitive(t, "simulated");
    }
    return NULL;
}

static int cmp_raw_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Exact number of distinct values of a float tensor (by value; -0 == 0). */
static int64_t distinct_exact(const tq_model *m, const tq_tensor *tt, tq_error *err) {
    tq_dtype t = tt->dtype;
    int64_t n = tt->numel;
    const tq_map *map = &m->files[tt->file_index].map;
    const uint8_t *d = tt->data, *raw = NULL;
    if (map->data && d >= map->data && d < map->data + map->size) {   /* read with pread: never SIGBUS */
        raw = malloc(tt->nbytes ? tt->nbytes : 1);
        if (!raw) return -1;
        if (tq_map_read(map, (uint64_t)(d - map->data), (void *)raw, tt->nbytes, err)) { free((void *)raw); return -2; }
        d = raw;
    }
    uint64_t *k = malloc(sizeof(uint64_t) * (size_t)(n ? n : 1));
    if (!k) { free((void *)raw); return -1; }
    for (int64_t i = 0; i < n; i++) { double v = val_at(t, d, i); if (v == 0) k[i] = 0; else memcpy(&k[i], &v, 8); }
    free((void *)raw);
    qsort(k, (size_t)n, sizeof(uint64_t), cmp_raw_u64);
    int64_t nd = n > 0;
    for (int64_t i = 1; i < n; i++) nd += k[i] != k[i - 1];
    free(k);
    return nd;
}

tq_ledger *tq_ledger_create(const tq_model *m, tq_error *err) {
    tq_ledger *l = calloc(1, sizeof *l);
    if (!l) { tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    l->n = m->n;
    l->rows = calloc((size_t)(m->n ? m->n : 1), sizeof *l->rows);
    if (!l->rows) { free(l); tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    tq_ledger_totals *T = &l->tot;
    for (int f = 0; f < m->nfiles; f++) {
        T->file_bytes += m->files[f].map.size;
        T->header_bytes += m->files[f].header_bytes;
        T->metadata_bytes += m->files[f].meta_bytes;
        T->padding_bytes += m->files[f].padding_bytes;
    }
    if (m->index_bytes) { T->other_bytes = m->index_bytes; T->file_bytes += m->index_bytes; }
    uint64_t stored_sum = 0;   /* bytes the entries occupy in the files */
    cJSON *conv_meta = NULL;
    int meta_loaded = 0;
    for (int f = 0; f < m->nfiles; f++)
        for (int64_t i = 0; i < m->files[f].n; i++) stored_sum += m->files[f].entries[i].stored;
    for (int64_t i = 0; i < m->n; i++) {
        const tq_tensor *t = &m->t[i];
        tq_ledger_row *r = &l->rows[i];
        r->t = t;
        r->payload_bytes = t->nbytes;
        r->aux_bytes = t->aux_bytes;
        r->distinct = -1;
        r->bits_per_weight = t->numel ? (double)(t->nbytes + t->aux_bytes) * 8.0 / (double)t->numel : 0.0;
        T->n_tensors++;
        T->numel += t->numel;
        T->payload_bytes += t->nbytes;
        T->aux_bytes += t->aux_bytes;
        T->by_dtype[t->dtype] += t->nbytes;
        for (int a = 0; a < t->n_aux; a++)
            T->by_dtype[t->aux_desc[a].dtype] += tq_nbytes(t->aux_desc[a].dtype, t->aux_desc[a].ndim, t->aux_desc[a].shape);
        if (t->quantized) {
            char qs[64];
            T->n_quantized++;
            T->numel_quantized += t->numel;
            const char *gn = t->q.ggml_type ? tq_ggml_type_name(t->q.ggml_type) : NULL;
            if (gn)   /* ggml blocks: the scales are inside each block */
                snprintf(r->note, sizeof r->note, "ggml %s: blocks of %lld weights in %llu bytes (scales inside), %.4g "
                         "bits/weight", gn, (long long)t->q.group,
                         (unsigned long long)(t->numel ? t->nbytes / (uint64_t)(t->numel / t->q.group) : 0),
                         r->bits_per_weight);
            else
                snprintf(r->note, sizeof r->note, "%s, %.3f bits/weight with scales", tq_qparams_str(&t->q, qs, sizeof qs),
                         r->bits_per_weight);
        } else if (t->simulated) {
            char qs[64], extra[96] = "";
            T->n_simulated++;
            if (!meta_loaded) { conv_meta = load_conversion_metadata(m); meta_loaded = 1; }
            const cJSON *sr = sim_record(conv_meta, t->name);
            const cJSON *mse = sr ? cJSON_GetObjectItemCaseSensitive(sr, "mse") : NULL;
            const cJSON *snr = sr ? cJSON_GetObjectItemCaseSensitive(sr, "snr_db") : NULL;
            if (cJSON_IsNumber(mse) && cJSON_IsNumber(snr))
                snprintf(extra, sizeof extra, ", MSE %.3g, SNR %.1f dB", mse->valuedouble, snr->valuedouble);
            r->distinct = distinct_exact(m, t, err);
            if (r->distinct == -2) { cJSON_Delete(conv_meta); tq_ledger_free(l); return NULL; }
            snprintf(r->note, sizeof r->note, "simulated quantization (%s): %lld distinct values stored as %s%s, no compression",
                     tq_qparams_str(&t->q, qs, sizeof qs), (long long)r->distinct, tq_dtype_name(t->dtype), extra);
        } else if (tq_dtype_is_float(t->dtype) && t->ndim >= 2) {
            int64_t rows, cols;
            if (!tq_shape_2d(t->ndim, t->shape, &rows, &cols)) continue;
            if (detect_tensor(m, t, rows, cols, &r->fake, &r->distinct, r->note, sizeof r->note, err)) {
                cJSON_Delete(conv_meta);
                tq_ledger_free(l);
                return NULL;
            }
            if (r->fake) T->n_fake++;
        }
        if (!r->note[0] && t->rule) snprintf(r->note, sizeof r->note, "%s", t->rule);   /* why it stayed wide */
    }
    cJSON_Delete(conv_meta);
    /* header + padding + stored data + other files = bytes on disk, exactly;
     * and in uncompressed containers every stored byte belongs to one tensor */
    T->stored_data_bytes = stored_sum;
    if (!(tq_format_by_id(m->format)->caps & TQ_FORMAT_COMPRESSED) && stored_sum != T->payload_bytes + T->aux_bytes) {
        tq_err(err, TQ_E_INTERNAL, "%s: ledger does not reconcile: tensors account for %llu bytes, entries store %llu",
               m->path, (unsigned long long)(T->payload_bytes + T->aux_bytes), (unsigned long long)stored_sum);
        tq_ledger_free(l);
        return NULL;
    }
    uint64_t sum = T->header_bytes + T->padding_bytes + stored_sum + T->other_bytes;
    if (sum != T->file_bytes) {
        tq_err(err, TQ_E_INTERNAL, "%s: ledger does not reconcile: header %llu + padding %llu + data %llu + other %llu != %llu bytes on disk",
               m->path, (unsigned long long)T->header_bytes, (unsigned long long)T->padding_bytes,
               (unsigned long long)stored_sum, (unsigned long long)T->other_bytes, (unsigned long long)T->file_bytes);
        tq_ledger_free(l);
        return NULL;
    }
    return l;
}

void tq_ledger_free(tq_ledger *l) {
    if (!l) return;
    free(l->rows);
    free(l);
}
int64_t tq_ledger_count(const tq_ledger *l) { return l->n; }
const tq_ledger_row *tq_ledger_row_at(const tq_ledger *l, int64_t i) { return (i >= 0 && i < l->n) ? &l->rows[i] : NULL; }
const tq_ledger_totals *tq_ledger_totals_get(const tq_ledger *l) { return &l->tot; }
