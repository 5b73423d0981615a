/*
 * sentencepiece.c — the sentencepiece-style BPE tokenizer of llama2.c files.
 *
 * Layout of the file (little-endian; see include/trueq_llama.h):
 *   int32 max_token_length
 *   repeated to the end of the file: float32 score, int32 length, bytes[length]
 *
 * Encoding is score-driven BPE: start from characters (or their bytes), then
 * repeatedly merge the adjacent pair whose concatenation is a vocabulary piece
 * with the highest score. Lookup goes through a table of ids sorted by piece
 * bytes (binary search), built once at open.
 */
#include "core/internal.h"
#include "trueq_llama.h"
#include "nn/tok/tok.h"
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SPM_MAX_PIECES (1 << 24)     /* a sanity limit on the vocabulary      */
#define SPM_MAX_PIECE_LEN (1 << 16)  /* and on one piece                      */

struct tq_spm {
    int      n;
    char   **piece;     /* [n] NUL-terminated copies (pieces may hold NUL: see plen) */
    int     *plen;      /* [n] byte lengths                                  */
    float   *score;     /* [n]                                               */
    int     *sorted;    /* [n_sorted] ids text can form, sorted by (piece bytes, id) */
    int      n_sorted;
    uint8_t *nomatch;   /* [n] 1: control/unknown/unused piece (tokenizer.model):
                           never formed from text, decodes to nothing; or NULL */
    int      byte_id[256]; /* id of piece "<0xNN>" for byte NN, or -1        */
    int      unk;       /* id of "<unk>", or -1                              */
    int      max_len;   /* max_token_length from the header                  */
    int      space_split; /* 1: no piece holds a space after its first byte  */
    char     bytes1[256][2]; /* one-byte strings returned by decode for <0xNN> */
};

static int cmp_bytes(const char *a, int al, const char *b, int bl) {
    int m = al < bl ? al : bl;
    int c = memcmp(a, b, (size_t)m);
    if (c) return c;
    return (al > bl) - (al < bl);
}

/* A sort record: qsort has no context argument, so each carries its piece. */
typedef struct piece_ref { const char *p; int len, id; } piece_ref;
static int cmp_refs(const void *x, const void *y) {
    const piece_ref *a = x, *b = y;
    int c = cmp_bytes(a->p, a->len, b->p, b->len);
    return c ? c : (a->id > b->id) - (a->id < b->id);
}

void tq_spm_free(tq_spm *t) {
    if (!t) return;
    if (t->piece)
        for (int i = 0; i < t->n; i++) free(t->piece[i]);
    void *owned[] = {t->piece, t->plen, t->score, t->sorted, t->nomatch, t};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) free(owned[i]);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* 0..255 when the piece is exactly "<0xHH>", else -1. */
static int byte_piece(const char *p, int len) {
    if (len != 6 || p[0] != '<' || p[1] != '0' || p[2] != 'x' || p[5] != '>') return -1;
    int h = hexval(p[3]), l = hexval(p[4]);
    return (h < 0 || l < 0) ? -1 : h * 16 + l;
}

/* Build the lookup structures once the pieces are in: the sorted index (of
 * the pieces text can form), byte-fallback ids, <unk>, space splitting.
 * @return 0, or -1 out of memory. */
static int spm_index(tq_spm *t) {
    int n = t->n;
    t->sorted = malloc(sizeof(int) * (size_t)n);
    if (!t->sorted) return -1;
    piece_ref *refs = malloc(sizeof *refs * (size_t)n);
    if (!refs) return -1;
    t->n_sorted = 0;
    for (int i = 0; i < n; i++)
        if (!t->nomatch || !t->nomatch[i]) refs[t->n_sorted++] = (piece_ref){t->piece[i], t->plen[i], i};
    qsort(refs, (size_t)t->n_sorted, sizeof *refs, cmp_refs);
    for (int i = 0; i < t->n_sorted; i++) t->sorted[i] = refs[i].id;
    free(refs);
    for (int b = 0; b < 256; b++) { t->byte_id[b] = -1; t->bytes1[b][0] = (char)b; t->bytes1[b][1] = 0; }
    for (int i = n - 1; i >= 0; i--) {   /* the lowest id wins on repeats */
        int b = byte_piece(t->piece[i], t->plen[i]);
        if (b >= 0) t->byte_id[b] = i;
    }
    t->unk = tq_spm_find(t, "<unk>", 5);
    t->space_split = 1;
    for (int i = 0; i < n && t->space_split; i++)
        if (t->plen[i] > 1 && memchr(t->piece[i] + 1, ' ', (size_t)t->plen[i] - 1)) t->space_split = 0;
    return 0;
}

tq_spm *tq_spm_open_mem(const void *data, size_t size, const char *name, tq_error *err) {
    const uint8_t *d = data;
    if (!d || size < 4) {
        tq_err(err, TQ_E_FORMAT, "%s: tokenizer file is %zu bytes, shorter than its 4-byte header", name, size);
        return NULL;
    }
    int32_t maxlen = (int32_t)tq_ld32(d);
    if (maxlen < 0 || maxlen > SPM_MAX_PIECE_LEN) {
        tq_err(err, TQ_E_FORMAT, "%s: max_token_length %d is outside [0, %d]", name, maxlen, SPM_MAX_PIECE_LEN);
        return NULL;
    }
    /* first pass: count and validate */
    size_t off = 4;
    int n = 0;
    while (off < size) {
        if (size - off < 8) {
            tq_err(err, TQ_E_FORMAT, "%s: token %d: entry header truncated at offset %zu (file is %zu bytes)", name, n, off, size);
            return NULL;
        }
        uint32_t sbits = tq_ld32(d + off);
        float sc;
        memcpy(&sc, &sbits, 4);
        int32_t len = (int32_t)tq_ld32(d + off + 4);
        if (!isfinite(sc)) {
            tq_err(err, TQ_E_FORMAT, "%s: token %d: score is not finite", name, n);
            return NULL;
        }
        if (len < 0 || len > maxlen) {
            tq_err(err, TQ_E_FORMAT, "%s: token %d: length %d is outside [0, max_token_length %d]", name, n, len, maxlen);
            return NULL;
        }
        off += 8;
        if (size - off < (size_t)len) {
            tq_err(err, TQ_E_FORMAT, "%s: token %d: %d bytes of piece run past the end of the file (%zu bytes)", name, n, len, size);
            return NULL;
        }
        off += (size_t)len;
        if (++n > SPM_MAX_PIECES) {
            tq_err(err, TQ_E_LIMIT, "%s: more than %d tokens", name, SPM_MAX_PIECES);
            return NULL;
        }
    }
    if (n == 0) {
        tq_err(err, TQ_E_FORMAT, "%s: tokenizer holds no tokens", name);
        return NULL;
    }
    tq_spm *t = calloc(1, sizeof *t);
    if (!t) { tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    t->n = n;
    t->max_len = maxlen;
    t->piece = calloc((size_t)n, sizeof(char *));
    t->plen = malloc(sizeof(int) * (size_t)n);
    t->score = malloc(sizeof(float) * (size_t)n);
    if (!t->piece || !t->plen || !t->score) goto oom;
    off = 4;
    for (int i = 0; i < n; i++) {
        uint32_t sbits = tq_ld32(d + off);
        memcpy(&t->score[i], &sbits, 4);
        t->plen[i] = (int)(int32_t)tq_ld32(d + off + 4);
        off += 8;
        t->piece[i] = malloc((size_t)t->plen[i] + 1);
        if (!t->piece[i]) goto oom;
        memcpy(t->piece[i], d + off, (size_t)t->plen[i]);
        t->piece[i][t->plen[i]] = 0;
        off += (size_t)t->plen[i];
    }
    if (spm_index(t)) goto oom;
    return t;
oom:
    tq_spm_free(t);
    tq_err(err, TQ_E_NOMEM, "%s: out of memory for %d tokens", name, n);
    return NULL;
}

/* ---- sentencepiece tokenizer.model (protobuf ModelProto) ------------------
 *
 * ModelProto field 1 (repeated, length-delimited) is a SentencePiece message:
 *   field 1 piece (string), field 2 score (float, 32-bit), field 3 type
 *   (varint: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte).
 * Every other field (trainer and normalizer specs...) is skipped by wire type.
 * "\xE2\x96\x81" (U+2581, sentencepiece's space) becomes ' '. */

static int pb_varint(const uint8_t *d, size_t n, size_t *o, uint64_t *v) {
    uint64_t r = 0;
    for (int sh = 0; sh < 64; sh += 7) {
        if (*o >= n) return -1;
        uint8_t b = d[(*o)++];
        r |= (uint64_t)(b & 0x7F) << sh;
        if (!(b & 0x80)) { *v = r; return 0; }
    }
    return -1;
}

/* Read a field header; for wire type 2 also its length (checked against n). */
static int pb_field(const uint8_t *d, size_t n, size_t *o, uint64_t *field, int *wire, uint64_t *len) {
    uint64_t key;
    if (pb_varint(d, n, o, &key)) return -1;
    *field = key >> 3;
    *wire = (int)(key & 7);
    if (*wire == 2) {
        if (pb_varint(d, n, o, len) || *len > n - *o) return -1;
    }
    return 0;
}

static int pb_skip(const uint8_t *d, size_t n, size_t *o, int wire, uint64_t len) {
    uint64_t v;
    switch (wire) {
    case 0: return pb_varint(d, n, o, &v);
    case 1: if (n - *o < 8) return -1; *o += 8; return 0;
    case 2: *o += (size_t)len; return 0;
    case 5: if (n - *o < 4) return -1; *o += 4; return 0;
    default: return -1;
    }
}

/* Parse one SentencePiece message d[0..n). */
static int pb_piece(const uint8_t *d, size_t n, const uint8_t **str, size_t *slen, float *score, int *type) {
    size_t o = 0;
    *str = NULL; *slen = 0; *score = 0; *type = 1;
    while (o < n) {
        uint64_t f, len = 0, v;
        int w;
        if (pb_field(d, n, &o, &f, &w, &len)) return -1;
        if (f == 1 && w == 2) { *str = d + o; *slen = (size_t)len; o += (size_t)len; }
        else if (f == 2 && w == 5) {
            if (n - o < 4) return -1;
            uint32_t bits = tq_ld32(d + o);
            memcpy(score, &bits, 4);
            o += 4;
        } else if (f == 3 && w == 0) {
            if (pb_varint(d, n, &o, &v)) return -1;
            *type = v > 100 ? 0 : (int)v;
        } else if (pb_skip(d, n, &o, w, len)) return -1;
    }
    return 0;
}

/* 1 when a TrainerSpec message d[0..n) says model_type (field 3) UNIGRAM (1)
 * explicitly; BPE (2), absent or unreadable: 0 (the caller's parse decides). */
static int pb_unigram(const uint8_t *d, size_t n) {
    size_t o = 0;
    while (o < n) {
        uint64_t f, len = 0, v;
        int w;
        if (pb_field(d, n, &o, &f, &w, &len)) return 0;
        if (f == 3 && w == 0) return pb_varint(d, n, &o, &v) == 0 && v == 1;
        if (pb_skip(d, n, &o, w, len)) return 0;
    }
    return 0;
}

tq_spm *tq_spm_open_model_mem(const void *data, size_t size, const char *name, tq_error *err) {
    const uint8_t *d = data;
    int n = 0, unk_id = -1;
    for (int pass = 0; pass < 2; pass++) {
        tq_spm *t = NULL;
        if (pass == 1) {
            if (n < 3) {
                tq_err(err, TQ_E_FORMAT, "%s: tokenizer.model holds %d pieces, fewer than <unk>, <s>, </s>", name, n);
                return NULL;
            }
            t = calloc(1, sizeof *t);
            if (!t) { tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
            t->n = n;
            t->piece = calloc((size_t)n, sizeof(char *));
            t->plen = malloc(sizeof(int) * (size_t)n);
            t->score = malloc(sizeof(float) * (size_t)n);
            t->nomatch = calloc((size_t)n, 1);
            if (!t->piece || !t->plen || !t->score || !t->nomatch) goto oom;
        }
        size_t o = 0;
        int k = 0;
        while (o < size) {
            uint64_t f, len = 0;
            int w;
            if (pb_field(d, size, &o, &f, &w, &len)) {
                tq_spm_free(t);
                tq_err(err, TQ_E_FORMAT, "%s: not a sentencepiece model (bad protobuf field at offset %zu)", name, o);
                return NULL;
            }
            if (pass == 0 && f == 2 && w == 2 && pb_unigram(d + o, (size_t)len)) {
                tq_err(err, TQ_E_UNSUPPORTED, "%s: a sentencepiece Unigram model (trainer_spec model_type UNIGRAM, as "
                       "XLM-RoBERTa's or T5's): Unigram is not supported (trueq's sentencepiece tokenizer runs BPE models only)", name);
                return NULL;
            }
            if (f != 1 || w != 2) {
                if (pb_skip(d, size, &o, w, len)) {
                    tq_spm_free(t);
                    tq_err(err, TQ_E_FORMAT, "%s: not a sentencepiece model (field %llu runs past the end)", name,
                           (unsigned long long)f);
                    return NULL;
                }
                continue;
            }
            const uint8_t *str;
            size_t slen;
            float score;
            int type;
            if (pb_piece(d + o, (size_t)len, &str, &slen, &score, &type) || slen > SPM_MAX_PIECE_LEN || !isfinite(score)) {
                tq_spm_free(t);
                tq_err(err, TQ_E_FORMAT, "%s: piece %d is malformed (offset %zu)", name, k, o);
                return NULL;
            }
            o += (size_t)len;
            if (pass == 0) {
                if (++n > SPM_MAX_PIECES) {
                    tq_err(err, TQ_E_LIMIT, "%s: more than %d pieces", name, SPM_MAX_PIECES);
                    return NULL;
                }
                continue;
            }
            char *p = malloc(slen + 1);
            if (!p) goto oom;
            size_t pl = 0;
            for (size_t i = 0; i < slen; i++) {
                if (i + 2 < slen && str[i] == 0xE2 && str[i + 1] == 0x96 && str[i + 2] == 0x81) { p[pl++] = ' '; i += 2; }
                else p[pl++] = (char)str[i];
            }
            p[pl] = 0;
            t->piece[k] = p;
            t->plen[k] = (int)pl;
            t->score[k] = score;
            t->nomatch[k] = type == 2 || type == 3 || type == 5;
            if (type == 2 && unk_id < 0) unk_id = k;
            if ((int)pl > t->max_len) t->max_len = (int)pl;
            k++;
        }
        if (pass == 1) {
            if (!t->nomatch[TQ_SPM_BOS] || !t->nomatch[TQ_SPM_EOS]) {
                tq_err(err, TQ_E_UNSUPPORTED, "%s: ids %d and %d are \"%s\" and \"%s\", not control pieces: BOS and EOS "
                       "must be ids 1 and 2", name, TQ_SPM_BOS, TQ_SPM_EOS, t->piece[TQ_SPM_BOS], t->piece[TQ_SPM_EOS]);
                tq_spm_free(t);
                return NULL;
            }
            if (spm_index(t)) goto oom;
            t->unk = unk_id;   /* the UNKNOWN piece, whatever its text */
            return t;
        oom:
            tq_spm_free(t);
            tq_err(err, TQ_E_NOMEM, "%s: out of memory for %d pieces", name, n);
            return NULL;
        }
    }
    return NULL;
}

/* Read into an owned buffer, not mapped: a file that shrinks meanwhile is a
 * short read (TQ_E_IO naming it), never SIGBUS (docs/robustness.md). */
tq_spm *tq_spm_open(const char *path, tq_error *err) {
    char *buf;
    size_t len;
    if (tq_read_file(path, &buf, &len, err)) return NULL;
    size_t pl = strlen(path);
    tq_spm *t = pl >= 6 && strcmp(path + pl - 6, ".model") == 0 ? tq_spm_open_model_mem(buf, len, path, err)
                                                                 : tq_spm_open_mem(buf, len, path, err);
    free(buf);
    return t;
}

int tq_spm_count(const tq_spm *t) { return t->n; }

const char *tq_spm_piece(const tq_spm *t, int id, int *len) {
    if (id < 0 || id >= t->n) return NULL;
    if (len) *len = t->plen[id];
    return t->piece[id];
}

float tq_spm_score(const tq_spm *t, int id) { return (id < 0 || id >= t->n) ? 0.0f : t->score[id]; }

int tq_spm_find(const tq_spm *t, const char *bytes, int len) {
    int lo = 0, hi = t->n_sorted - 1, found = -1;
    while (lo <= hi) {        /* leftmost match = lowest id among equal pieces */
        int mid = lo + (hi - lo) / 2;
        int id = t->sorted[mid];
        int c = cmp_bytes(t->piece[id], t->plen[id], bytes, len);
        if (c < 0) lo = mid + 1;
        else { if (c == 0) found = id; hi = mid - 1; }
    }
    return found;
}

/* Length of the UTF-8 character starting at s[0] (at most `left`): the lead
 * byte plus up to three continuation bytes (10xxxxxx). Invalid sequences end
 * early and so fall back to bytes. */
static size_t utf8_char_len(const unsigned char *s, size_t left) {
    size_t k = 1;
    while (k < left && k < 4 && (s[k] & 0xC0) == 0x80) k++;
    return k;
}

/* Id of the piece pieces[a] + pieces[b], or -1. buf: 2 * max_len bytes. */
static int pair_id(const tq_spm *t, int a, int b, char *buf) {
    int la = t->plen[a], lb = t->plen[b];
    if (la + lb > t->max_len) return -1;   /* no piece is that long */
    memcpy(buf, t->piece[a], (size_t)la);
    memcpy(buf + la, t->piece[b], (size_t)lb);
    return tq_spm_find(t, buf, la + lb);
}

/* Merge ids[0..n) in place: repeatedly the adjacent pair whose concatenation
 * is the piece of highest score (leftmost on ties). pair[i] caches the merged
 * id of (i, i+1); only the neighbours of a merge are looked up again.
 * @return the new length. */
static int merge_run(const tq_spm *t, int *ids, int n, char *buf, int *pair) {
    for (int i = 0; i + 1 < n; i++) pair[i] = pair_id(t, ids[i], ids[i + 1], buf);
    for (;;) {
        float best = -INFINITY;
        int bi = -1;
        for (int i = 0; i + 1 < n; i++)
            if (pair[i] >= 0 && t->score[pair[i]] > best) { best = t->score[pair[i]]; bi = i; }
        if (bi < 0) return n;
        ids[bi] = pair[bi];
        memmove(ids + bi + 1, ids + bi + 2, sizeof(int) * (size_t)(n - bi - 2));
        memmove(pair + bi + 1, pair + bi + 2, sizeof(int) * (size_t)(n > bi + 2 ? n - bi - 2 : 0));
        n--;
        if (bi > 0) pair[bi - 1] = pair_id(t, ids[bi - 1], ids[bi], buf);
        if (bi + 1 < n) pair[bi] = pair_id(t, ids[bi], ids[bi + 1], buf);
    }
}

tq_status tq_spm_encode(const tq_spm *t, const char *text, size_t len, int bos, int eos,
                        int **ids_out, int *n_out, tq_error *err) {
    *ids_out = NULL;
    *n_out = 0;
    if (!text && len) return tq_err(err, TQ_E_ARG, "tokenizer: NULL text of %zu bytes", len);
    if (len > (size_t)INT32_MAX / 8) return tq_err(err, TQ_E_LIMIT, "tokenizer: text of %zu bytes is too long", len);
    /* worst case: every byte a token, plus BOS, prefix, EOS */
    int *ids = malloc(sizeof(int) * (len + 3));
    char *buf = malloc((size_t)t->max_len * 2 + 2);
    if (!ids || !buf) { free(ids); free(buf); return tq_err(err, TQ_E_NOMEM, "tokenizer: out of memory"); }
    int n = 0;
    tq_status st = TQ_OK;
    if (bos) ids[n++] = TQ_SPM_BOS;
    const unsigned char *s = (const unsigned char *)text;
    if (len > 0) {
        int sp = tq_spm_find(t, " ", 1);
        if (sp < 0) sp = t->byte_id[' '];
        if (sp < 0) sp = t->unk;
        if (sp < 0) { st = tq_err(err, TQ_E_UNSUPPORTED, "tokenizer: no piece for the space prefix"); goto out; }
        ids[n++] = sp;
    }
    for (size_t i = 0; i < len;) {
        size_t k = utf8_char_len(s + i, len - i);
        int id = tq_spm_find(t, (const char *)s + i, (int)k);
        if (id >= 0) {
            ids[n++] = id;
        } else {
            for (size_t j = 0; j < k; j++) {
                int b = t->byte_id[s[i + j]];
                if (b < 0) b = t->unk;
                if (b < 0) {
                    st = tq_err(err, TQ_E_UNSUPPORTED, "tokenizer: byte 0x%02X at offset %zu has no piece and there is no <unk>",
                                s[i + j], i + j);
                    goto out;
                }
                ids[n++] = b;
            }
        }
        i += k;
    }
    /* merges; BOS (when present) takes no part. When no piece holds a space
     * after its first byte, no merge can join a token to a following token
     * that starts with a space, so each run from one space to the next merges
     * on its own (the same result, in linear rather than quadratic time). */
    int first = bos ? 1 : 0, out_n = first;
    int *pair = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));   /* merged id of (i, i+1), or -1 */
    if (!pair) { st = tq_err(err, TQ_E_NOMEM, "tokenizer: out of memory"); goto out; }
    for (int s0 = first; s0 < n;) {
        int s1 = s0 + 1;
        if (t->space_split)
            while (s1 < n && t->piece[ids[s1]][0] != ' ' && ids[s1] != t->byte_id[' ']) s1++;
        else
            s1 = n;
        int m = merge_run(t, ids + s0, s1 - s0, buf, pair);
        memmove(ids + out_n, ids + s0, sizeof(int) * (size_t)m);
        out_n += m;
        s0 = s1;
    }
    free(pair);
    n = out_n;
    if (eos) ids[n++] = TQ_SPM_EOS;
out:
    free(buf);
    if (st) { free(ids); return st; }
    *ids_out = ids;
    *n_out = n;
    return TQ_OK;
}

const char *tq_spm_decode(const tq_spm *t, int prev, int id, int *len) {
    if (id < 0 || id >= t->n) return NULL;
    if (t->nomatch && t->nomatch[id]) { *len = 0; return t->piece[id] + t->plen[id]; }
    const char *p = t->piece[id];
    int l = t->plen[id];
    int b = byte_piece(p, l);
    if (b >= 0) { *len = 1; return t->bytes1[b]; }
    if (prev == TQ_SPM_BOS && l > 0 && p[0] == ' ') { p++; l--; }
    *len = l;
    return p;
}

tq_status tq_spm_detokenize(const tq_spm *t, const int *ids, int n, char **text, size_t *len, tq_error *err) {
    tq_sb b = {0};
    *text = NULL;
    int prev = -1;
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n) {
            tq_sb_free(&b);
            return tq_err(err, TQ_E_ARG, "tokenizer: id %d at position %d is outside [0, %d)", ids[i], i, t->n);
        }
        if (ids[i] != TQ_SPM_BOS && ids[i] != TQ_SPM_EOS) {
            int l;
            const char *p = tq_spm_decode(t, prev, ids[i], &l);
            for (int k = 0; k < l; k++) tq_sb_putc(&b, p[k]);
        }
        prev = ids[i];
    }
    tq_sb_puts(&b, "");   /* allocates the terminator for an empty text */
    if (b.oom) { tq_sb_free(&b); return tq_err(err, TQ_E_NOMEM, "tokenizer: out of memory"); }
    if (len) *len = b.len;
    *text = b.s;
    return TQ_OK;
}

tq_spm *tq_spm_open_dir(const char *dir, tq_error *err) {
    char *p = tq_path_join(dir, "tokenizer.bin");
    if (!p) { tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    if (!tq_file_exists(p)) {
        free(p);
        p = NULL;
        int count = 0;
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            size_t l = strlen(de->d_name);
            if (strncmp(de->d_name, "tok", 3) != 0 || l < 7 || strcmp(de->d_name + l - 4, ".bin") != 0) continue;
            if (count++ == 0) p = tq_path_join(dir, de->d_name);
        }
        if (d) closedir(d);
        if (count > 1) {
            free(p);
            tq_err(err, TQ_E_ARG, "%s: %d tok*.bin files and no tokenizer.bin; name the tokenizer", dir, count);
            return NULL;
        }
        if (count == 0) {
            p = tq_path_join(dir, "tokenizer.model");
            if (p && !tq_file_exists(p)) {
                free(p);
                tq_err(err, TQ_E_NOTFOUND, "%s: no tokenizer.bin, tok*.bin (llama2.c) or tokenizer.model (sentencepiece) found", dir);
                return NULL;
            }
        }
        if (!p) { tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    }
    tq_spm *t = tq_spm_open(p, err);
    free(p);
    return t;
}

/* ---- the tokenizer interface (nn/tok/tok.h) ---------------------------------- */

static void spi_free(void *impl) { tq_spm_free(impl); }
static int spi_vocab(const void *impl) { return tq_spm_count(impl); }

/* The format's conventions: 0 <unk>, 1 BOS, 2 EOS; no pad/cls/sep/mask. */
static int spi_special(const void *impl, tq_tok_special s) {
    int n = tq_spm_count(impl);
    int id = s == TQ_TOK_UNK ? 0 : s == TQ_TOK_BOS ? TQ_SPM_BOS : s == TQ_TOK_EOS ? TQ_SPM_EOS : -1;
    return id < n ? id : -1;
}

static tq_status spi_encode(const void *impl, const char *text, size_t len, int specials, int32_t **ids, int *n,
                            tq_error *err) {
    int *v = NULL;
    tq_status st = tq_spm_encode(impl, text, len, specials ? 1 : 0, 0, &v, n, err);
    if (st) return st;
    *ids = malloc(sizeof(int32_t) * (size_t)(*n > 0 ? *n : 1));
    if (!*ids) { free(v); return tq_err(err, TQ_E_NOMEM, "sentencepiece: out of memory"); }
    for (int i = 0; i < *n; i++) (*ids)[i] = (int32_t)v[i];
    free(v);
    return TQ_OK;
}

static tq_status spi_decode(const void *impl, const int32_t *ids, int n, char **text, size_t *len, tq_error *err) {
    int *v = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!v) return tq_err(err, TQ_E_NOMEM, "sentencepiece: out of memory");
    for (int i = 0; i < n; i++) v[i] = ids[i];
    tq_status st = tq_spm_detokenize(impl, v, n, text, len, err);
    free(v);
    return st;
}

static void *spi_open(const char *dir, tq_error *err) { return tq_spm_open_dir(dir, err); }

static const char *spi_token(const void *impl, int id, size_t *len) {
    int n = 0;
    const char *p = id >= 0 && id < tq_spm_count(impl) ? tq_spm_piece(impl, id, &n) : NULL;
    *len = p ? (size_t)n : 0;
    return p;
}

const tq_tok_vt tq_tok_spm_vt = {spi_free, spi_vocab, spi_special, spi_encode, spi_decode, spi_token, NULL};
const tq_tok_kind tq_tok_sentencepiece = {"sentencepiece", "tokenizer.bin, tok*.bin or tokenizer.model", spi_open,
                                          &tq_tok_spm_vt, 1};
