/*
 * bpe.c — the byte-level BPE model: vocabulary and merge tables, added
 * tokens matched before the model runs, the merge loop, encode and decode,
 * and the constructor from GGUF-style arrays. Contracts and the pipeline in
 * bpe.h; docs/tokenizer.md ("Byte-level BPE") gives every rule.
 */
#include "nn/tok/bpe.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ID TQ_BPE_MAX_ID
#define MAX_POST 8

struct tq_bpe {
    char     *name;
    int       n_ids, cap_ids;   /* ids 0..n_ids-1 (max id + 1)                 */
    char    **tok;              /* model token of an id (NUL-terminated) or NULL */
    uint32_t *tok_len;
    int      *added_of;         /* id -> index in added[] or -1 (at finish)    */
    int32_t  *vh;               /* token -> id: open addressing, -1 empty      */
    uint32_t  vh_cap, vh_n;
    uint64_t *mk;               /* merge pair (a << 32 | b), UINT64_MAX empty  */
    int32_t  *mrank, *mnew;
    uint32_t  mh_cap, mh_n;
    tq_bpe_added *added;        /* in the order given                          */
    char    **amatch;           /* what is searched for: content, normalized   */
    size_t   *amatch_len;       /* for `normalized` ones                       */
    int       n_added, cap_added;
    tq_bpe_model_opts mo;
    tq_bpe_pretok pre;
    int       pre_ids[MAX_POST], npre, post_ids[MAX_POST], npost;
    int       special[TQ_TOK_SPECIAL_COUNT];
    int       byte_level;
};

static uint32_t hash_bytes(const char *s, size_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static uint32_t hash_pair(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (uint32_t)k;
}

tq_bpe *tq_bpe_new(const char *name, tq_error *err) {
    tq_bpe *t = calloc(1, sizeof *t);
    if (t) t->name = strdup(name ? name : "bpe");
    if (!t || !t->name) {
        free(t);
        tq_err(err, TQ_E_NOMEM, "bpe: out of memory");
        return NULL;
    }
    t->mo.unk = -1;
    for (int i = 0; i < TQ_TOK_SPECIAL_COUNT; i++) t->special[i] = -1;
    t->byte_level = 1;
    return t;
}

void tq_bpe_free(tq_bpe *t) {
    if (!t) return;
    for (int i = 0; i < t->n_ids; i++) free(t->tok[i]);
    for (int i = 0; i < t->n_added; i++) {
        if (t->amatch && t->amatch[i] != t->added[i].s) free(t->amatch[i]);
        free(t->added[i].s);
    }
    free(t->tok);
    free(t->tok_len);
    free(t->added_of);
    free(t->vh);
    free(t->mk);
    free(t->mrank);
    free(t->mnew);
    free(t->added);
    free(t->amatch);
    free(t->amatch_len);
    tq_bpe_pretok_free(&t->pre);
    free(t->name);
    free(t);
}

tq_bpe_pretok *tq_bpe_pre(tq_bpe *t) { return &t->pre; }

/* ---- vocabulary ----------------------------------------------------------- */

int tq_bpe_id(const tq_bpe *t, const char *s, size_t len) {
    if (!t->vh_cap) return -1;
    for (uint32_t h = hash_bytes(s, len) & (t->vh_cap - 1);; h = (h + 1) & (t->vh_cap - 1)) {
        int32_t id = t->vh[h];
        if (id < 0) return -1;
        if (t->tok_len[id] == len && !memcmp(t->tok[id], s, len)) return id;
    }
}

/* Put id in the token table (replacing the slot of an equal token). */
static void vh_put(tq_bpe *t, int32_t id) {
    const char *s = t->tok[id];
    size_t len = t->tok_len[id];
    uint32_t h = hash_bytes(s, len) & (t->vh_cap - 1);
    for (;; h = (h + 1) & (t->vh_cap - 1)) {
        int32_t o = t->vh[h];
        if (o < 0) { t->vh_n++; break; }
        if (t->tok_len[o] == len && !memcmp(t->tok[o], s, len)) break;
    }
    t->vh[h] = id;
}

static int vh_grow(tq_bpe *t) {
    if ((uint64_t)(t->vh_n + 1) * 2 <= t->vh_cap) return 1;
    uint32_t cap = t->vh_cap ? t->vh_cap * 2 : 1024, old = t->vh_cap;
    int32_t *ov = t->vh, *nv = malloc(sizeof *nv * cap);
    if (!nv) return 0;
    memset(nv, 0xff, sizeof *nv * cap);
    t->vh = nv;
    t->vh_cap = cap;
    t->vh_n = 0;
    for (uint32_t i = 0; i < old; i++)
        if (ov[i] >= 0) vh_put(t, ov[i]);
    free(ov);
    return 1;
}

static int ids_reserve(tq_bpe *t, int64_t id) {
    if (id < t->cap_ids) return 1;
    int cap = t->cap_ids ? t->cap_ids : 1024;
    while (cap <= id) cap *= 2;
    char **nt = realloc(t->tok, sizeof *nt * (size_t)cap);
    if (nt) t->tok = nt;
    uint32_t *nl = realloc(t->tok_len, sizeof *nl * (size_t)cap);
    if (nl) t->tok_len = nl;
    if (!nt || !nl) return 0;
    memset(t->tok + t->cap_ids, 0, sizeof *nt * (size_t)(cap - t->cap_ids));
    memset(t->tok_len + t->cap_ids, 0, sizeof *nl * (size_t)(cap - t->cap_ids));
    t->cap_ids = cap;
    return 1;
}

tq_status tq_bpe_add_token(tq_bpe *t, const char *s, size_t len, int64_t id, tq_error *err) {
    if (id < 0 || id >= MAX_ID)
        return tq_err(err, TQ_E_FORMAT, "%s: token \"%.*s\" has id %lld, outside [0, %d)", t->name,
                      (int)(len < 64 ? len : 64), s, (long long)id, MAX_ID);
    long long bad = tq_bpe_utf8_bad(s, len);
    if (bad >= 0 || memchr(s, 0, len))
        return tq_err(err, TQ_E_FORMAT, "%s: token %lld is not valid UTF-8 without NUL (byte %lld)", t->name,
                      (long long)id, bad);
    if (!ids_reserve(t, id) || !vh_grow(t)) return tq_err(err, TQ_E_NOMEM, "%s: out of memory", t->name);
    if (t->tok[id])
        return tq_err(err, TQ_E_FORMAT, "%s: id %lld given twice (\"%s\" and \"%.*s\")", t->name, (long long)id,
                      t->tok[id], (int)(len < 64 ? len : 64), s);
    char *c = malloc(len + 1);
    if (!c) return tq_err(err, TQ_E_NOMEM, "%s: out of memory", t->name);
    memcpy(c, s, len);
    c[len] = 0;
    t->tok[id] = c;
    t->tok_len[id] = (uint32_t)len;
    if (id >= t->n_ids) t->n_ids = (int)id + 1;
    vh_put(t, (int32_t)id);
    return TQ_OK;
}

/* ---- merges --------------------------------------------------------------- */

static int merge_find(const tq_bpe *t, int32_t a, int32_t b, int32_t *newid) {
    if (!t->mh_cap) return -1;
    uint64_t k = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    for (uint32_t h = hash_pair(k) & (t->mh_cap - 1);; h = (h + 1) & (t->mh_cap - 1)) {
        if (t->mk[h] == UINT64_MAX) return -1;
        if (t->mk[h] == k) { *newid = t->mnew[h]; return t->mrank[h]; }
    }
}

static void mh_put(tq_bpe *t, uint64_t k, int32_t rank, int32_t nid) {
    uint32_t h = hash_pair(k) & (t->mh_cap - 1);
    while (t->mk[h] != UINT64_MAX && t->mk[h] != k) h = (h + 1) & (t->mh_cap - 1);
    if (t->mk[h] == UINT64_MAX) t->mh_n++;
    t->mk[h] = k;
    t->mrank[h] = rank;
    t->mnew[h] = nid;
}

static int mh_grow(tq_bpe *t) {
    if ((uint64_t)(t->mh_n + 1) * 2 <= t->mh_cap) return 1;
    uint32_t cap = t->mh_cap ? t->mh_cap * 2 : 1024, old = t->mh_cap;
    uint64_t *ok = t->mk, *nk = malloc(sizeof *nk * cap);
    int32_t *orank = t->mrank, *onew = t->mnew, *nr = malloc(sizeof *nr * cap), *nn = malloc(sizeof *nn * cap);
    if (!nk || !nr || !nn) { free(nk); free(nr); free(nn); return 0; }
    memset(nk, 0xff, sizeof *nk * cap);
    t->mk = nk; t->mrank = nr; t->mnew = nn; t->mh_cap = cap; t->mh_n = 0;
    for (uint32_t i = 0; i < old; i++)
        if (ok[i] != UINT64_MAX) mh_put(t, ok[i], orank[i], onew[i]);
    free(ok); free(orank); free(onew);
    return 1;
}

tq_status tq_bpe_add_merge(tq_bpe *t, const char *a, size_t alen, const char *b, size_t blen, int rank,
                           tq_error *err) {
    int ia = tq_bpe_id(t, a, alen), ib = tq_bpe_id(t, b, blen);
    char *ab = malloc(alen + blen + 1);
    if (!ab) return tq_err(err, TQ_E_NOMEM, "%s: out of memory", t->name);
    memcpy(ab, a, alen);
    memcpy(ab + alen, b, blen);
    int iab = tq_bpe_id(t, ab, alen + blen);
    free(ab);
    if (ia < 0 || ib < 0 || iab < 0) {
        const char *what = ia < 0 ? "its first token" : ib < 0 ? "its second token" : "the merged token";
        return tq_err(err, TQ_E_FORMAT, "%s: merge %d \"%.*s %.*s\": %s is not in the vocabulary", t->name, rank,
                      (int)(alen < 64 ? alen : 64), a, (int)(blen < 64 ? blen : 64), b, what);
    }
    if (!mh_grow(t)) return tq_err(err, TQ_E_NOMEM, "%s: out of memory", t->name);
    mh_put(t, (uint64_t)(uint32_t)ia << 32 | (uint32_t)ib, rank, iab);
    return TQ_OK;
}

/* ---- added tokens and options --------------------------------------------- */

tq_status tq_bpe_add_added(tq_bpe *t, const tq_bpe_added *a, tq_error *err) {
    if (!a->len || a->id < 0 || a->id >= MAX_ID)
        return tq_err(err, TQ_E_FORMAT, "%s: added token \"%.*s\" with id %d: %s", t->name, (int)a->len, a->s, a->id,
                      !a->len ? "empty content" : "id out of range");
    long long bad = tq_bpe_utf8_bad(a->s, a->len);
    if (bad >= 0) return tq_err(err, TQ_E_FORMAT, "%s: added token %d is not valid UTF-8", t->name, a->id);
    if (t->n_added == t->cap_added) {
        int cap = t->cap_added ? t->cap_added * 2 : 16;
        tq_bpe_added *n = realloc(t->added, sizeof *n * (size_t)cap);
        if (!n) return tq_err(err, TQ_E_NOMEM, "%s: out of memory", t->name);
        t->added = n;
        t->cap_added = cap;
    }
    tq_bpe_added c = *a;
    c.s = malloc(a->len + 1);
    if (!c.s) return tq_err(err, TQ_E_NOMEM, "%s: out of memory", t->name);
    memcpy(c.s, a->s, a->len);
    c.s[a->len] = 0;
    t->added[t->n_added++] = c;
    if (!ids_reserve(t, c.id)) return tq_err(err, TQ_E_NOMEM, "%s: out of memory", t->name);
    if (c.id >= t->n_ids) t->n_ids = c.id + 1;
    return TQ_OK;
}

void tq_bpe_set_model(tq_bpe *t, const tq_bpe_model_opts *o) { t->mo = *o; }
void tq_bpe_set_special(tq_bpe *t, tq_tok_special s, int id) {
    if (s >= 0 && s < TQ_TOK_SPECIAL_COUNT) t->special[s] = id;
}
void tq_bpe_set_decoder(tq_bpe *t, int byte_level) { t->byte_level = byte_level; }

tq_status tq_bpe_set_post(tq_bpe *t, const int *pre, int npre, const int *post, int npost, tq_error *err) {
    if (npre > MAX_POST || npost > MAX_POST)
        return tq_err(err, TQ_E_LIMIT, "%s: post-processor adds more than %d ids on a side", t->name, MAX_POST);
    memcpy(t->pre_ids, pre, sizeof(int) * (size_t)npre);
    memcpy(t->post_ids, post, sizeof(int) * (size_t)npost);
    t->npre = npre;
    t->npost = npost;
    return TQ_OK;
}

const char *tq_bpe_token(const tq_bpe *t, int id) {
    if (!t || id < 0 || id >= t->n_ids) return NULL;
    if (t->added_of && t->added_of[id] >= 0) return t->added[t->added_of[id]].s;
    return t->tok[id];
}

int tq_bpe_find(const tq_bpe *t, const char *s, size_t len) {
    for (int i = t->n_added - 1; i >= 0; i--)
        if (t->added[i].len == len && !memcmp(t->added[i].s, s, len)) return t->added[i].id;
    return tq_bpe_id(t, s, len);
}

int tq_bpe_vocab_size(const tq_bpe *t) { return t ? t->n_ids : 0; }
int tq_bpe_special(const tq_bpe *t, tq_tok_special s) {
    return t && s >= 0 && s < TQ_TOK_SPECIAL_COUNT ? t->special[s] : -1;
}

tq_status tq_bpe_finish(tq_bpe *t, tq_error *err) {
    t->added_of = malloc(sizeof(int) * (size_t)(t->n_ids ? t->n_ids : 1));
    t->amatch = calloc((size_t)(t->n_added ? t->n_added : 1), sizeof *t->amatch);
    t->amatch_len = calloc((size_t)(t->n_added ? t->n_added : 1), sizeof *t->amatch_len);
    if (!t->added_of || !t->amatch || !t->amatch_len) return tq_err(err, TQ_E_NOMEM, "%s: out of memory", t->name);
    for (int i = 0; i < t->n_ids; i++) t->added_of[i] = -1;
    for (int i = 0; i < t->n_added; i++) {
        t->added_of[t->added[i].id] = i; /* a later entry for an id wins */
        t->amatch[i] = t->added[i].s;
        t->amatch_len[i] = t->added[i].len;
        /* tokenizers searches the normalized form of a `normalized` token */
        if (t->added[i].normalized && t->pre.n_norm) {
            tq_status st = tq_bpe_normalize(&t->pre, t->added[i].s, t->added[i].len, &t->amatch[i],
                                            &t->amatch_len[i], err);
            if (st) { t->amatch[i] = t->added[i].s; return st; }
        }
    }
    if (t->mo.unk >= 0 && !tq_bpe_token(t, t->mo.unk))
        return tq_err(err, TQ_E_FORMAT, "%s: the unknown token (id %d) is not in the vocabulary", t->name, t->mo.unk);
    for (int i = 0; i < t->npre + t->npost; i++) {
        int id = i < t->npre ? t->pre_ids[i] : t->post_ids[i - t->npre];
        if (!tq_bpe_token(t, id))
            return tq_err(err, TQ_E_FORMAT, "%s: the post-processor adds id %d, which is no token", t->name, id);
    }
    return TQ_OK;
}

/* ---- encoding ------------------------------------------------------------- */

typedef struct { int32_t *v; int n, cap; } idvec;

static int id_push(idvec *o, int32_t id) {
    if (!tq_grow((void **)&o->v, &o->cap, o->n, sizeof *o->v, 64)) return 0;
    o->v[o->n++] = id;
    return 1;
}

/* A min-heap of merge candidates, key rank << 32 | position. */
typedef struct { uint64_t *v; int n; } heap;

static void heap_push(heap *h, uint64_t k) {
    int i = h->n++;
    while (i > 0 && h->v[(i - 1) / 2] > k) { h->v[i] = h->v[(i - 1) / 2]; i = (i - 1) / 2; }
    h->v[i] = k;
}

static uint64_t heap_pop(heap *h) {
    uint64_t top = h->v[0], last = h->v[--h->n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && h->v[c + 1] < h->v[c]) c++;
        if (h->v[c] >= last) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return top;
}

/* Merge the word's symbols as tokenizers' Word::merge_all does: always the
 * candidate pair of lowest rank, the leftmost (by original position) on
 * ties; a candidate whose pair has changed since is dropped. O(n log n):
 * symbols form a linked list over their original positions. */
static int merge_all(const tq_bpe *t, idvec *w) {
    int n = w->n, *next = malloc(sizeof(int) * (size_t)n), *prev = malloc(sizeof(int) * (size_t)n);
    heap h = {malloc(sizeof(uint64_t) * (size_t)(3 * n)), 0};  /* n initial + 2 per merge */
    int ok = next && prev && h.v;
    int32_t nid;
    for (int i = 0; ok && i < n; i++) {
        next[i] = i + 1 < n ? i + 1 : -1;
        prev[i] = i - 1;
        int r = i + 1 < n ? merge_find(t, w->v[i], w->v[i + 1], &nid) : -1;
        if (r >= 0) heap_push(&h, (uint64_t)(uint32_t)r << 32 | (uint32_t)i);
    }
    while (ok && h.n) {
        uint64_t k = heap_pop(&h);
        int pos = (int)(uint32_t)k, rank = (int)(k >> 32), nx = next[pos];
        if (w->v[pos] < 0 || nx < 0 || merge_find(t, w->v[pos], w->v[nx], &nid) != rank) continue;
        w->v[pos] = nid;
        w->v[nx] = -1;             /* gone */
        next[pos] = next[nx];
        if (next[nx] >= 0) prev[next[nx]] = pos;
        int r;
        if (prev[pos] >= 0 && (r = merge_find(t, w->v[prev[pos]], nid, &nid)) >= 0)
            heap_push(&h, (uint64_t)(uint32_t)r << 32 | (uint32_t)prev[pos]);
        nid = w->v[pos];
        if (next[pos] >= 0 && (r = merge_find(t, nid, w->v[next[pos]], &nid)) >= 0)
            heap_push(&h, (uint64_t)(uint32_t)r << 32 | (uint32_t)pos);
    }
    int m = 0;
    for (int i = 0; ok && i < n; i++)
        if (w->v[i] >= 0) w->v[m++] = w->v[i];
    if (ok) w->n = m;
    free(next);
    free(prev);
    free(h.v);
    return ok;
}

/* One pre-tokenized piece through the model (bpe.h, step 4). */
static tq_status bpe_word(const tq_bpe *t, const char *s, size_t n, idvec *out, tq_error *err) {
    if (t->mo.ignore_merges) {
        int id = tq_bpe_id(t, s, n);
        if (id >= 0) return id_push(out, id) ? TQ_OK : tq_err(err, TQ_E_NOMEM, "%s: out of memory", t->name);
    }
    idvec w = {0};
    int unk = -1, ok = 1;
    for (size_t i = 0; i < n && ok;) {
        uint32_t cp = 0;
        int k = tq_bpe_utf8_next((const uint8_t *)s + i, n - i, &cp);
        if (!k) k = 1;
        int id = tq_bpe_id(t, s + i, (size_t)k);
        if (id >= 0) {
            if (unk >= 0) { ok = id_push(&w, unk); unk = -1; }
            ok = ok && id_push(&w, id);
        } else {
            int fb = 0;
            if (t->mo.byte_fallback) {
                int bid[4];
                fb = 1;
                for (int j = 0; j < k && fb; j++) {
                    char name[8];
                    snprintf(name, sizeof name, "<0x%02X>", (uint8_t)s[i + (size_t)j]);
                    bid[j] = tq_bpe_id(t, name, 6);
                    fb = bid[j] >= 0;
                }
                /* as tokenizers: a pending unk stays pending past the bytes */
                for (int j = 0; fb && j < k && ok; j++) ok = id_push(&w, bid[j]);
            }
            if (!fb && t->mo.unk >= 0) {
                if (unk >= 0 && !t->mo.fuse_unk) ok = id_push(&w, unk);
                unk = t->mo.unk;
            }
        }
        i += (size_t)k;
    }
    if (ok && unk >= 0) ok = id_push(&w, unk);
    if (ok && w.n > 1) ok = merge_all(t, &w);
    for (int i = 0; ok && i < w.n; i++) ok = id_push(out, w.v[i]);
    free(w.v);
    return ok ? TQ_OK : tq_err(err, TQ_E_NOMEM, "%s: out of memory", t->name);
}

/* The last / first code point of s[0..n) (0 when empty). */
static uint32_t last_cp(const char *s, size_t n) {
    size_t i = n;
    while (i > 0 && ((uint8_t)s[i - 1] & 0xC0) == 0x80) i--;
    uint32_t cp = 0;
    if (i > 0 && !tq_bpe_utf8_next((const uint8_t *)s + i - 1, n - i + 1, &cp)) cp = 0;
    return i > 0 ? cp : 0;
}

/* The added token (of the `normalized` set or the other) that matches at
 * s+i, longest first; -1 none. */
static int match_at(const tq_bpe *t, int normalized, const char *s, size_t n, size_t i) {
    int best = -1;
    for (int k = 0; k < t->n_added; k++) {
        if (t->added[k].normalized != normalized) continue;
        size_t l = t->amatch_len[k];
        if (l <= n - i && (best < 0 || l > t->amatch_len[best]) && !memcmp(s + i, t->amatch[k], l)) best = k;
    }
    return best;
}

static tq_status text_part(const tq_bpe *t, int stage, const char *s, size_t n, idvec *out, tq_error *err);

/* Find the added tokens of one set in s[0..n) (tokenizers' find_matches:
 * leftmost-longest, single_word / lstrip / rstrip), emit their ids and run
 * the stretches between through the next stage. */
static tq_status split_added(const tq_bpe *t, int normalized, const char *s, size_t n, idvec *out, tq_error *err) {
    size_t start = 0, i = 0;
    tq_status st = TQ_OK;
    while (!st && i < n) {
        int k = match_at(t, normalized, s, n, i);
        if (k < 0) { i++; continue; }
        const tq_bpe_added *a = &t->added[k];
        size_t ms = i, me = i + t->amatch_len[k];
        i = me;
        if (a->single_word) {
            uint32_t before = last_cp(s, ms), after = 0;
            if (me < n && !tq_bpe_utf8_next((const uint8_t *)s + me, n - me, &after)) after = 0;
            if ((ms > 0 && (tq_bpe_is_alnum(before) || before == '_')) ||
                (me < n && (tq_bpe_is_alnum(after) || after == '_')))
                continue;
        }
        if (a->lstrip) {
            size_t j = ms;
            while (j > start && tq_bpe_is_space(last_cp(s, j))) {
                j--;
                while (j > start && ((uint8_t)s[j] & 0xC0) == 0x80) j--;
            }
            ms = j;
        }
        if (a->rstrip) {
            uint32_t cp = 0;
            int l;
            while (me < n && (l = tq_bpe_utf8_next((const uint8_t *)s + me, n - me, &cp)) && tq_bpe_is_space(cp))
                me += (size_t)l;
        }
        if (ms > start) st = text_part(t, normalized ? 2 : 1, s + start, ms - start, out, err);
        if (!st && !id_push(out, a->id)) st = tq_err(err, TQ_E_NOMEM, "%s: out of memory", t->name);
        start = me > start ? me : start;
    }
    if (!st && (start < n || n == 0)) st = text_part(t, normalized ? 2 : 1, s + start, n > start ? n - start : 0, out, err);
    return st;
}

/* stage 1: a raw stretch: normalize, then the normalized added tokens;
 * stage 2: pre-tokenize and run the model over each piece. */
static tq_status text_part(const tq_bpe *t, int stage, const char *s, size_t n, idvec *out, tq_error *err) {
    if (stage == 1) {
        char *norm;
        size_t nn;
        tq_status st = tq_bpe_normalize(&t->pre, s, n, &norm, &nn, err);
        if (!st) st = split_added(t, 1, norm, nn, out, err);
        free(norm);
        return st;
    }
    tq_bpe_pieces p = {0};
    tq_status st = tq_bpe_pretokenize(&t->pre, s, n, &p, err);
    for (int i = 0; !st && i < p.n; i++) st = bpe_word(t, p.s[i], p.len[i], out, err);
    tq_bpe_pieces_free(&p);
    return st;
}

tq_status tq_bpe_encode(const tq_bpe *t, const char *text, size_t len, int specials, int32_t **ids, int *n,
                        tq_error *err) {
    *ids = NULL;
    *n = 0;
    long long bad = tq_bpe_utf8_bad(text, len);
    if (bad >= 0) return tq_err(err, TQ_E_VALUE, "%s: the text is not valid UTF-8 at byte %lld", t->name, bad);
    idvec o = {0};
    int ok = 1;
    for (int i = 0; specials && ok && i < t->npre; i++) ok = id_push(&o, t->pre_ids[i]);
    tq_status st = ok ? split_added(t, 0, text, len, &o, err) : tq_err(err, TQ_E_NOMEM, "%s: out of memory", t->name);
    for (int i = 0; !st && specials && i < t->npost; i++)
        if (!id_push(&o, t->post_ids[i])) st = tq_err(err, TQ_E_NOMEM, "%s: out of memory", t->name);
    if (st) { free(o.v); return st; }
    if (!o.v) o.v = malloc(sizeof(int32_t));
    if (!o.v) return tq_err(err, TQ_E_NOMEM, "%s: out of memory", t->name);
    *ids = o.v;
    *n = o.n;
    return TQ_OK;
}

/* ---- decoding ------------------------------------------------------------- */

/* Length of the maximal prefix of s[0..n) that could start a valid UTF-8
 * sequence, and whether it is complete: returns the sequence length when
 * complete, else -(bytes of the invalid subpart) (at least 1). */
static int utf8_subpart(const uint8_t *s, size_t n) {
    uint8_t b = s[0];
    if (b < 0x80) return 1;
    int need;
    uint8_t lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) need = 1;
    else if (b >= 0xE0 && b <= 0xEF) { need = 2; if (b == 0xE0) lo = 0xA0; if (b == 0xED) hi = 0x9F; }
    else if (b >= 0xF0 && b <= 0xF4) { need = 3; if (b == 0xF0) lo = 0x90; if (b == 0xF4) hi = 0x8F; }
    else return -1;
    for (int j = 1; j <= need; j++) {
        if ((size_t)j >= n || s[j] < lo || s[j] > hi) return -j;
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

tq_status tq_bpe_decode(const tq_bpe *t, const int32_t *ids, int n, int skip_special, char **text, size_t *len,
                        tq_error *err) {
    *text = NULL;
    tq_sb raw = {0};
    for (int i = 0; i < n; i++) {
        const char *p = tq_bpe_token(t, ids[i]);
        if (!p) {
            tq_sb_free(&raw);
            return tq_err(err, TQ_E_ARG, "%s: id %d at %d is no token (vocabulary of %d)", t->name, ids[i], i, t->n_ids);
        }
        int ai = t->added_of[ids[i]];
        if (skip_special && ai >= 0 && t->added[ai].special) continue;
        size_t pl = strlen(p), w = raw.len;
        if (!t->byte_level) {
            if (w) tq_sb_putc(&raw, ' ');
            tq_sb_puts(&raw, p);
            continue;
        }
        /* every character back to its byte; a token with a character outside
         * the alphabet is kept as its own bytes */
        int all = 1;
        for (size_t j = 0; j < pl && all;) {
            uint32_t cp = 0;
            int k = tq_bpe_utf8_next((const uint8_t *)p + j, pl - j, &cp);
            int b = k ? tq_bpe_char_byte(cp) : -1;
            if (b < 0) all = 0;
            else tq_sb_putc(&raw, (char)b);
            j += k ? (size_t)k : 1;
        }
        if (!all) {
            raw.len = w;
            for (size_t j = 0; j < pl; j++) tq_sb_putc(&raw, p[j]);
        }
    }
    if (raw.oom) { tq_sb_free(&raw); return tq_err(err, TQ_E_NOMEM, "%s: out of memory", t->name); }
    /* from_utf8_lossy: each maximal invalid subpart becomes U+FFFD */
    tq_sb out = {0};
    const uint8_t *r = (const uint8_t *)raw.s;
    for (size_t i = 0; i < raw.len;) {
        int k = utf8_subpart(r + i, raw.len - i);
        if (k > 0) {
            for (int j = 0; j < k; j++) tq_sb_putc(&out, (char)r[i + (size_t)j]);
            i += (size_t)k;
        } else {
            tq_sb_puts(&out, "\xEF\xBF\xBD");
            i += (size_t)-k;
        }
    }
    tq_sb_free(&raw);
    if (!out.s) tq_sb_puts(&out, "");
    if (out.oom || !out.s) { tq_sb_free(&out); return tq_err(err, TQ_E_NOMEM, "%s: out of memory", t->name); }
    *text = out.s;
    if (len) *len = out.len;
    return TQ_OK;
}

/* ---- from GGUF-style arrays ----------------------------------------------- */

tq_bpe *tq_bpe_from_arrays(const tq_bpe_arrays *a, const char *name, tq_error *err) {
    if (!a || a->n_tokens <= 0 || !a->tokens || (a->n_merges > 0 && !a->merges) || a->n_merges < 0) {
        tq_err(err, TQ_E_ARG, "%s: no tokens or no merges given", name ? name : "bpe");
        return NULL;
    }
    tq_bpe *t = tq_bpe_new(name, err);
    if (!t) return NULL;
    tq_status st = TQ_OK;
    for (int i = 0; !st && i < a->n_tokens; i++) {
        const char *s = a->tokens[i];
        size_t l = a->token_lens ? a->token_lens[i] : strlen(s);
        st = tq_bpe_add_token(t, s, l, i, err);
        int type = a->token_types ? a->token_types[i] : 1;
        if (!st && (type == 3 || type == 4)) {
            tq_bpe_added ad = {(char *)s, l, i, type == 3, 0, 0, 0, 0};
            st = tq_bpe_add_added(t, &ad, err);
        }
    }
    for (int i = 0; !st && i < a->n_merges; i++) {
        const char *m = a->merges[i];
        size_t l = a->merge_lens ? a->merge_lens[i] : strlen(m);
        const char *sp = l > 1 ? memchr(m + 1, ' ', l - 1) : NULL; /* as llama.cpp: from the second byte */
        if (!sp) st = tq_err(err, TQ_E_FORMAT, "%s: merge %d \"%.*s\" has no space", t->name, i, (int)(l < 64 ? l : 64), m);
        else st = tq_bpe_add_merge(t, m, (size_t)(sp - m), sp + 1, l - (size_t)(sp - m) - 1, i, err);
    }
    const int want[4] = {a->bos, a->eos, a->pad, a->unk};
    const tq_tok_special which[4] = {TQ_TOK_BOS, TQ_TOK_EOS, TQ_TOK_PAD, TQ_TOK_UNK};
    for (int k = 0; !st && k < 4; k++) {
        if (want[k] >= a->n_tokens)
            st = tq_err(err, TQ_E_FORMAT, "%s: special id %d is outside the %d tokens", t->name, want[k], a->n_tokens);
        else tq_bpe_set_special(t, which[k], want[k] < 0 ? -1 : want[k]);
    }
    int bos = a->bos, eos = a->eos;
    if (!st && ((a->add_bos && bos < 0) || (a->add_eos && eos < 0)))
        st = tq_err(err, TQ_E_FORMAT, "%s: add_%s is set but there is no %s id", t->name, a->add_bos && bos < 0 ? "bos" : "eos",
                    a->add_bos && bos < 0 ? "BOS" : "EOS");
    if (!st) st = tq_bpe_set_post(t, &bos, a->add_bos ? 1 : 0, &eos, a->add_eos ? 1 : 0, err);
    if (!st) st = tq_bpe_pre_by_name(&t->pre, a->pre, t->name, err);
    if (!st) st = tq_bpe_finish(t, err);
    if (st) { tq_bpe_free(t); return NULL; }
    return t;
}
