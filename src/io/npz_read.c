/*
 * npz_read.c — strict reader of numpy .npz archives (docs/formats/npz.md).
 *
 * An .npz file is a ZIP archive (src/io/zip.c checks its structure) whose
 * members are .npy arrays (src/io/npy.c parses each header). The member
 * `__trueq__.json` holds a JSON object of string -> string metadata.
 *
 * Methods 0 (stored: the entry points into the image) and 8 (raw deflate: the
 * entry owns an inflated copy) are read, every member's CRC-32 is verified.
 * Because the records tile the file exactly,
 *   header_bytes + sum(entry.stored) == file size
 * holds: `stored` is the array bytes of a stored member and the compressed size
 * of a deflated one; every other byte (local headers, extra fields, .npy
 * headers of stored members, data descriptors, the metadata member, the
 * central directory, EOCD records) is header_bytes. padding_bytes is 0.
 * dtypes numpy lacks (BF16, the F8 family) arrive as the unsigned integer of
 * the same width plus a metadata note "trueq.npz.dtype.<name>" = "<dtype
 * name>", which the reader applies.
 */
#include "io/npz.h"
#include "io/npy.h"
#include "io/printable.h"
#include "io/zip.h"
#include <cjson/cJSON.h>
#include <zlib.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned long long ull;

#define DEFLATE_MAX_RATIO 1032u  /* deflate cannot expand beyond this         */

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static int cmp_entry_name(const void *a, const void *b) {
    return strcmp((*(tq_entry *const *)a)->name, (*(tq_entry *const *)b)->name);
}

/* Parse the metadata member's JSON into c's metadata. */
static tq_status meta_parse(tq_container *c, const uint8_t *b, uint64_t n, const char *path, tq_error *err) {
    cJSON *root = cJSON_ParseWithLength((const char *)b, (size_t)n);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return tq_err(err, TQ_E_FORMAT, "%s: member \"%s\" is not a JSON object", path, NPZ_META_MEMBER);
    }
    tq_status st = TQ_OK;
    int first = c->n_meta;
    for (cJSON *it = root->child; it && !st; it = it->next) {
        if (!cJSON_IsString(it) || !it->string)
            st = tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": value for \"%s\" is not a string", path, NPZ_META_MEMBER,
                        it->string ? it->string : "?");
        else
            st = tq_container_add_meta(c, it->string, it->valuestring, err);
    }
    cJSON_Delete(root);
    if (st || c->n_meta - first < 2) return st;
    /* duplicate keys (JSON allows them; we do not) */
    size_t k = (size_t)(c->n_meta - first);
    char **keys = malloc(sizeof *keys * k);
    if (!keys) return tq_err(err, TQ_E_NOMEM, "out of memory");
    memcpy(keys, c->meta_keys + first, sizeof *keys * k);
    qsort(keys, k, sizeof *keys, cmp_cstr);
    for (size_t i = 1; i < k && !st; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            st = tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": duplicate key \"%s\"", path, NPZ_META_MEMBER, keys[i]);
    free(keys);
    return st;
}

/* Apply "trueq.npz.dtype.<name>" notes: the stored unsigned array holds that dtype. */
static tq_status apply_notes(tq_container *c, tq_entry **sorted, const char *path, tq_error *err) {
    size_t pl = strlen(NPZ_DTYPE_NOTE);
    for (int k = 0; k < c->n_meta; k++) {
        const char *key = c->meta_keys[k];
        if (strncmp(key, NPZ_DTYPE_NOTE, pl) != 0) continue;
        tq_entry probe = {0};
        probe.name = (char *)(uintptr_t)(key + pl);
        tq_entry *pp = &probe, **hit = c->n ? bsearch(&pp, sorted, (size_t)c->n, sizeof *sorted, cmp_entry_name) : NULL;
        if (!hit)
            return tq_err(err, TQ_E_FORMAT, "%s: metadata note \"%s\" names no array in the archive", path, key);
        tq_entry *e = *hit;
        tq_dtype want = tq_dtype_from_name(c->meta_vals[k]);
        int note = 0;
        const char *ds = want ? tq_npy_descr_for(want, &note) : NULL;
        if (!ds || !note)
            return tq_err(err, TQ_E_FORMAT, "%s: metadata note \"%s\" = \"%s\" is not a dtype trueq stores through a note (BF16, F8_*)",
                          path, key, c->meta_vals[k]);
        tq_dtype carrier = ds[2] == '2' ? TQ_DTYPE_U16 : TQ_DTYPE_U8;
        if (e->dtype != carrier)
            return tq_err(err, TQ_E_FORMAT, "%s: array \"%s\" is %s but metadata note \"%s\" = \"%s\" needs it stored as '%s'",
                          path, e->name, tq_dtype_name(e->dtype), key, c->meta_vals[k], ds);
        e->dtype = want;
    }
    return TQ_OK;
}

/* A stored member of a mapped file is read in place only where it is parsed
 * (the metadata member whole, an array's .npy header): pin that first. */
static tq_status pin_member_head(const tq_map *mp, const uint8_t *b, const tq_zip_member *m, int is_meta, tq_error *err) {
    if (!mp) return TQ_OK;
    if (is_meta) return tq_map_pin(mp, m->data_start, m->usize, err);
    tq_status st = tq_map_pin(mp, m->data_start, m->usize < 12 ? m->usize : 12, err);
    return st ? st : tq_map_pin(mp, m->data_start, tq_npy_span(b, m->usize), err);
}

/* CRC-32 of a member's m->usize bytes at b: in memory, or (a stored member of
 * a mapped file: array data, never read through the map) by pread in 1 MiB
 * pieces. */
static tq_status member_crc(const tq_map *mp, const uint8_t *b, const tq_zip_member *m, bool in_map, uint32_t *crc,
                            tq_error *err) {
    uint32_t c = (uint32_t)crc32(0, Z_NULL, 0);
    if (!mp || !in_map) { *crc = tq_zip_crc32(c, b, m->usize); return TQ_OK; }
    size_t cap = m->usize < (1u << 20) ? (size_t)m->usize : (1u << 20);
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf) return tq_err(err, TQ_E_NOMEM, "out of memory");
    tq_status st = TQ_OK;
    for (uint64_t o = 0; o < m->usize && !st; o += cap) {
        size_t k = m->usize - o < cap ? (size_t)(m->usize - o) : cap;
        if (!(st = tq_map_read(mp, m->data_start + o, buf, k, err))) c = tq_zip_crc32(c, buf, k);
    }
    free(buf);
    *crc = c;
    return st;
}

tq_status tq_npz_parse(const uint8_t *data, uint64_t size, const char *path, tq_container *c, tq_error *err) {
    return tq_npz_parse_map(data, size, NULL, path, c, err);
}

tq_status tq_npz_parse_map(const uint8_t *data, uint64_t size, const tq_map *mp, const char *path, tq_container *c,
                           tq_error *err) {
    memset(c, 0, sizeof *c);
    c->map.fd = -1;   /* not ours: tq_container_free must not close fd 0 */
    uint64_t count = 0;
    tq_zip_member *ms = NULL;
    tq_entry **sorted = NULL;
    tq_status st = tq_zip_read_map(data, size, mp, path, &ms, &count, err);
    if (st) return st;

    c->entries = calloc((size_t)(count ? count : 1), sizeof *c->entries);
    if (!c->entries) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
    uint64_t sum_stored = 0;
    int have_meta = 0;
    for (uint64_t i = 0; i < count; i++) {
        tq_zip_member *m = &ms[i];
        const size_t L = m->namelen;
        int is_npy = L > 4 && memcmp(m->name + L - 4, ".npy", 4) == 0;
        int is_meta = L == strlen(NPZ_META_MEMBER) && memcmp(m->name, NPZ_META_MEMBER, L) == 0;
        if (memchr(m->name, 0, L)) { st = tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": name holds a NUL byte", path, m->nm); goto fail; }
        if (!is_npy && !is_meta) {
            st = tq_err(err, TQ_E_UNSUPPORTED, "%s: member \"%s\" is not a .npy array (trueq reads <name>.npy members and %s only)",
                        path, m->nm, NPZ_META_MEMBER);
            goto fail;
        }
        /* the member's bytes */
        const uint8_t *b;
        uint8_t *owned = NULL;
        if (m->method == 0) {
            if (m->csize != m->usize) {
                st = tq_err(err, TQ_E_FORMAT, "%s: member \"%s\" is stored but its sizes differ (%llu compressed, %llu uncompressed)",
                            path, m->nm, (ull)m->csize, (ull)m->usize);
                goto fail;
            }
            b = data + m->data_start;
            if ((st = pin_member_head(mp, b, m, is_meta, err))) goto fail;
        } else {
            uint64_t lim;
            if (!tq_mul_u64(m->csize + 1, DEFLATE_MAX_RATIO, &lim) || m->usize > lim) {
                st = tq_err(err, TQ_E_FORMAT, "%s: member \"%s\" claims %llu bytes from %llu compressed, beyond deflate's %u:1 limit",
                            path, m->nm, (ull)m->usize, (ull)m->csize, DEFLATE_MAX_RATIO);
                goto fail;
            }
            if (m->usize > SIZE_MAX - 1 || !(owned = malloc((size_t)(m->usize ? m->usize : 1)))) {
                st = tq_err(err, TQ_E_NOMEM, "%s: member \"%s\": out of memory for %llu inflated bytes", path, m->nm, (ull)m->usize);
                goto fail;
            }
            const uint8_t *src = data + m->data_start;
            uint8_t *cbuf = NULL;   /* a mapped file's compressed bytes: read with pread, not through the map */
            if (mp && m->csize > SIZE_MAX - 1) { free(owned); st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
            if (mp && !(cbuf = malloc((size_t)(m->csize ? m->csize : 1)))) {
                free(owned);
                st = tq_err(err, TQ_E_NOMEM, "%s: member \"%s\": out of memory for %llu compressed bytes", path, m->nm, (ull)m->csize);
                goto fail;
            }
            if (cbuf && (st = tq_map_read(mp, m->data_start, cbuf, (size_t)m->csize, err))) { free(cbuf); free(owned); goto fail; }
            if (cbuf) src = cbuf;
            st = tq_zip_inflate(src, m->csize, owned, m->usize, path, m->nm, err);
            free(cbuf);
            if (st) { free(owned); goto fail; }
            b = owned;
        }
        uint32_t crc = 0;
        if ((st = member_crc(mp, b, m, m->method == 0, &crc, err))) { free(owned); goto fail; }
        if (crc != m->crc) {
            free(owned);
            st = tq_err(err, TQ_E_FORMAT, "%s: member \"%s\": CRC-32 mismatch: central directory says 0x%08x, the data gives 0x%08x",
                        path, m->nm, m->crc, crc);
            goto fail;
        }
        if (is_meta) {
            if (have_meta) { free(owned); st = tq_err(err, TQ_E_FORMAT, "%s: duplicate member \"%s\"", path, m->nm); goto fail; }
            have_meta = 1;
            st = meta_parse(c, b, m->usize, path, err);
            free(owned);
            if (st) goto fail;
            continue;
        }
        tq_entry *e = &c->entries[c->n];
        uint64_t hdr = 0;
        if ((st = tq_npy_parse(b, m->usize, path, m->nm, &e->dtype, &e->ndim, e->shape, &hdr, err))) { free(owned); goto fail; }
        e->name = malloc(L - 3);
        if (!e->name) { free(owned); st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
        memcpy(e->name, m->name, L - 4);
        e->name[L - 4] = 0;
        e->nbytes = m->usize - hdr;
        e->data = b + hdr;
        e->owned = owned;
        if (m->method == 0) { e->offset = m->data_start + hdr; e->stored = e->nbytes; }
        else { e->offset = m->data_start; e->stored = m->csize; }
        sum_stored += e->stored;
        c->n++;
    }
    /* duplicates, then dtype notes */
    sorted = malloc(sizeof *sorted * (size_t)(c->n ? c->n : 1));
    if (!sorted) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
    for (int64_t i = 0; i < c->n; i++) sorted[i] = &c->entries[i];
    qsort(sorted, (size_t)c->n, sizeof *sorted, cmp_entry_name);
    for (int64_t i = 1; i < c->n; i++)
        if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) {
            char nm[160]; tq_printable(nm, sizeof nm, (const uint8_t *)sorted[i]->name, strlen(sorted[i]->name));
            st = tq_err(err, TQ_E_FORMAT, "%s: duplicate member \"%s.npy\"", path, nm);
            goto fail;
        }
    if ((st = apply_notes(c, sorted, path, err))) goto fail;
    if (sum_stored > size) { st = tq_err(err, TQ_E_INTERNAL, "%s: stored bytes exceed the file size", path); goto fail; }
    c->header_bytes = size - sum_stored;
    c->padding_bytes = 0;
    free(sorted);
    free(ms);
    return TQ_OK;
fail:
    free(sorted);
    free(ms);
    tq_container_free(c);
    return st;
}

/* ===== content sniff ====================================================== */

typedef struct npz_names { int npy, other; } npz_names;

static bool npz_visit(void *ud, const uint8_t *name, size_t len) {
    npz_names *k = ud;
    bool npy = len > 4 && memcmp(name + len - 4, ".npy", 4) == 0;
    bool meta = len == strlen(NPZ_META_MEMBER) && memcmp(name, NPZ_META_MEMBER, len) == 0;
    if (npy) k->npy++;
    else if (!meta) k->other++;
    return k->other == 0;
}

int tq_npz_sniff(const uint8_t *data, uint64_t size) {
    if (size < 4 || memcmp(data, "PK", 2) != 0 || (tq_ld16(data + 2) != 0x0403 && tq_ld16(data + 2) != 0x0605))
        return TQ_SNIFF_NO;
    npz_names k = {0, 0};
    int64_t n = tq_zip_names(data, size, npz_visit, &k);
    /* an archive of arrays (or an empty one, as np.savez() writes) is an .npz;
     * any other zip may still be a damaged one: the parser names the fault */
    return n >= 0 && k.other == 0 ? TQ_SNIFF_SIGNATURE : TQ_SNIFF_SHAPE;
}
