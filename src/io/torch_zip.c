/*
 * torch_zip.c — reading a torch.save zip checkpoint (FORMATS.md §6.1-6.2,
 * docs/formats/pytorch.md).
 *
 * The archive's members live under one folder, taken from the first member's
 * name (as torch's reader does): <a>/data.pkl is the pickle of the state dict,
 * <a>/data/<key> the raw bytes of each storage, <a>/byteorder "little" (or
 * absent). The pickle is run by the safe interpreter (pickle.c), which yields
 * tensor views (storage, offset, size, stride). Each view becomes an entry
 * pointing into its storage member: it must be contiguous (a non-contiguous
 * view is refused by name) and lie inside the storage, whose member must hold
 * numel x element size bytes. Tensors sharing a storage (tied weights) are
 * entries over the same bytes: the first tensor of a storage is `stored`
 * with its bytes, later ones with 0, and storage bytes no tensor claims first
 * are padding, so header + padding + stored == the file size.
 */
#include "io/torch_zip.h"
#include "io/pickle.h"
#include "io/printable.h"
#include "io/zip.h"
#include <stdlib.h>
#include <string.h>

typedef unsigned long long ull;

static const tq_zip_member *member(const tq_zip_member *ms, uint64_t n, const char *pre, size_t pl, const char *rest) {
    size_t rl = strlen(rest);
    for (uint64_t i = 0; i < n; i++)
        if (ms[i].namelen == pl + rl && !memcmp(ms[i].name, pre, pl) && !memcmp(ms[i].name + pl, rest, rl)) return &ms[i];
    return NULL;
}

/* A contiguous view's check, then its entry. */
static tq_status view_entry(const uint8_t *d, const tq_pkl_tensor *t, const tq_pkl_storage *s, const tq_zip_member *sm,
                            const char *path, tq_entry *e, tq_error *err) {
    const uint64_t es = (uint64_t)tq_dtype_bits(s->dtype) / 8;
    int64_t numel = 1, want = 1;
    for (int k = 0; k < t->ndim; k++)
        if (t->shape[k] < 0 || t->stride[k] < 0)
            return tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": negative size or stride", path, t->name);
    if (!tq_shape_numel(t->ndim, t->shape, &numel))
        return tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": shape overflows int64", path, t->name);
    for (int k = t->ndim - 1; k >= 0 && numel > 0; k--) {   /* row-major strides; size-1 dims may have any */
        if (t->shape[k] != 1 && t->stride[k] != want) {
            char st[160];
            size_t o = 0;
            for (int j = 0; j < t->ndim && o < sizeof st - 24; j++)
                o += (size_t)snprintf(st + o, sizeof st - o, j ? ", %lld" : "%lld", (long long)t->stride[j]);
            return tq_err(err, TQ_E_UNSUPPORTED, "%s: tensor \"%s\" is a non-contiguous view (stride (%s)): not read; "
                          "save it with .contiguous()", path, t->name, st);
        }
        want *= t->shape[k];
    }
    uint64_t end;
    if (!tq_add_u64((uint64_t)t->offset, (uint64_t)numel, &end) || end > (uint64_t)s->numel)
        return tq_err(err, TQ_E_FORMAT, "%s: tensor \"%s\": elements [%lld, +%lld) lie outside storage \"%s\" of %lld "
                      "elements", path, t->name, (long long)t->offset, (long long)numel, s->key, (long long)s->numel);
    memset(e, 0, sizeof *e);
    e->name = tq_strdup(t->name);
    if (!e->name) return tq_err(err, TQ_E_NOMEM, "out of memory");
    e->dtype = s->dtype;
    e->ndim = t->ndim;
    memcpy(e->shape, t->shape, sizeof e->shape);
    e->offset = sm->data_start + (uint64_t)t->offset * es;
    e->nbytes = (uint64_t)numel * es;
    e->data = d + e->offset;
    return TQ_OK;
}

tq_status tq_torch_zip_parse(const uint8_t *d, uint64_t size, const char *path, tq_container *c, tq_error *err) {
    return tq_torch_zip_parse_map(d, size, NULL, path, c, err);
}

tq_status tq_torch_zip_parse_map(const uint8_t *d, uint64_t size, const tq_map *mp, const char *path, tq_container *c,
                                 tq_error *err) {
    memset(c, 0, sizeof *c);
    c->map.fd = -1;   /* not ours: tq_container_free must not close fd 0 */
    tq_zip_member *ms = NULL;
    uint64_t n = 0;
    tq_pkl_dict pd = {0};
    uint64_t *claimed = NULL;   /* per storage: the bytes its first tensor claims, +1 (0: none) */
    tq_status st = tq_zip_read_map(d, size, mp, path, &ms, &n, err);
    if (st) return st;
    const uint8_t *slash = n ? memchr(ms[0].name, '/', ms[0].namelen) : NULL;
    if (!slash) { st = tq_err(err, TQ_E_FORMAT, "%s: the first member has no folder (torch.save puts every member under one)", path); goto out; }
    const char *pre = (const char *)ms[0].name;
    const size_t pl = (size_t)(slash - ms[0].name) + 1;
    for (uint64_t i = 0; i < n; i++)
        if (ms[i].method != 0) {
            st = tq_err(err, TQ_E_FORMAT, "%s: member \"%s\" is compressed (torch.save stores every member)", path, ms[i].nm);
            goto out;
        }
    const tq_zip_member *pk = member(ms, n, pre, pl, "data.pkl"), *bo = member(ms, n, pre, pl, "byteorder");
    if (!pk) { st = tq_err(err, TQ_E_FORMAT, "%s: no member %.*sdata.pkl", path, (int)pl, pre); goto out; }
    /* the two members read in place: pinned first (a mapped file) */
    if ((bo && (st = tq_map_pin(mp, bo->data_start, bo->usize < 6 ? bo->usize : 6, err))) ||
        (st = tq_map_pin(mp, pk->data_start, pk->usize, err)))
        goto out;
    if (bo && !(bo->usize == 6 && !memcmp(d + bo->data_start, "little", 6))) {
        st = tq_err(err, TQ_E_UNSUPPORTED, "%s: storages are not little-endian (member byteorder): not read", path);
        goto out;
    }
    char what[1200];
    snprintf(what, sizeof what, "%s: %s", path, pk->nm);
    if ((st = tq_pickle_state_dict(d + pk->data_start, (size_t)pk->usize, what, &pd, err))) goto out;
    /* every storage: its member, holding numel x element size bytes */
    const tq_zip_member **sm = calloc((size_t)(pd.ns ? pd.ns : 1), sizeof *sm);
    claimed = calloc((size_t)(pd.ns ? pd.ns : 1), sizeof *claimed);
    c->entries = calloc((size_t)pd.n, sizeof *c->entries);
    if (!sm || !claimed || !c->entries) { free(sm); st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto out; }
    uint64_t used = 0;
    for (int s = 0; s < pd.ns && !st; s++) {
        char rest[80];
        snprintf(rest, sizeof rest, "data/%s", pd.s[s].key);
        uint64_t need;
        if (!(sm[s] = member(ms, n, pre, pl, rest)))
            st = tq_err(err, TQ_E_FORMAT, "%s: storage \"%s\" named by the pickle has no member %.*s%s", path, pd.s[s].key,
                        (int)pl, pre, rest);
        else if (!tq_mul_u64((uint64_t)pd.s[s].numel, (uint64_t)tq_dtype_bits(pd.s[s].dtype) / 8, &need) ||
                 sm[s]->usize != need)
            st = tq_err(err, TQ_E_FORMAT, "%s: storage \"%s\": member holds %llu bytes, %lld %s elements need %llu", path,
                        pd.s[s].key, (ull)sm[s]->usize, (long long)pd.s[s].numel, tq_dtype_name(pd.s[s].dtype), (ull)need);
    }
    for (int64_t i = 0; i < pd.n && !st; i++) {
        const tq_pkl_tensor *t = &pd.t[i];
        tq_entry *e = &c->entries[i];
        if ((st = view_entry(d, t, &pd.s[t->storage], sm[t->storage], path, e, err))) break;
        c->n++;
        if (!claimed[t->storage]) { claimed[t->storage] = e->nbytes + 1; e->stored = e->nbytes; used += e->nbytes; }
    }
    if (!st) {
        uint64_t pad = 0;
        for (int s = 0; s < pd.ns; s++) pad += sm[s]->usize - (claimed[s] ? claimed[s] - 1 : 0);
        c->padding_bytes = pad;
        c->header_bytes = size - used - pad;
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)pd.skipped);
        if (pd.skipped) st = tq_container_add_meta(c, "pytorch.skipped_values", v, err);
    }
    free(sm);
out:
    if (st) {
        for (int64_t i = 0; i < c->n; i++) free(c->entries[i].name);
        free(c->entries);
        c->entries = NULL;
        c->n = 0;
        for (int i = 0; i < c->n_meta; i++) { free(c->meta_keys[i]); free(c->meta_vals[i]); }
        free(c->meta_keys);
        free(c->meta_vals);
        c->meta_keys = c->meta_vals = NULL;
        c->n_meta = 0;
    }
    free(claimed);
    tq_pkl_dict_free(&pd);
    free(ms);
    return st;
}
