/*
 * gguf_spm.c — the sentencepiece-style tokenizer of a GGUF file's
 * tokenizer.ggml.* metadata (tokenizer.ggml.model "llama"), and its row of
 * the tokenizer table ("gguf-llama").
 *
 * No second BPE: the arrays (tokens, scores, token_type) are re-encoded as
 * the sentencepiece ModelProto they came from, one SentencePiece message
 * per token:
 *   ModelProto field 1 (length-delimited) = { field 1 piece (string),
 *   field 2 score (fixed32 float), field 3 type (varint) }
 * and read by tq_spm_open_model_mem (sentencepiece.c), so the same
 * score-driven merges, byte fallback and control/unknown/unused handling
 * apply as for a tokenizer.model. GGUF's token types are sentencepiece's
 * (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte).
 */
#include "core/internal.h"
#include "nn/gguf_kv.h"
#include "nn/llama_gguf.h"
#include "nn/tok/tok.h"
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Protobuf pieces. put_varint writes at most 10 bytes. */
static size_t put_varint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    do {
        p[n++] = (uint8_t)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}
static size_t varint_len(uint64_t v) {
    size_t n = 1;
    while (v > 0x7F) { v >>= 7; n++; }
    return n;
}
/* Bytes of the SentencePiece message of a piece of len bytes with this type. */
static size_t piece_msg_len(uint64_t len, int type) {
    return 1 + varint_len(len) + (size_t)len + 5 + 1 + varint_len((uint64_t)type);
}

/* The ids named by tokenizer.ggml.KEY_token_id, or -1 when absent. */
static int64_t special_id(tq_gkv *k, const char *key, uint64_t n) {
    int64_t v = -1;
    tq_gkv_int(k, key, &v, 0, (int64_t)n - 1);
    return v;
}

tq_spm *tq_spm_from_gguf(const tq_gguf *g, const char *path, tq_error *err) {
    tq_gkv k = tq_gkv_init(g, path, "tokenizer.ggml.", err);
    tq_gguf_str model;
    if (!tq_gkv_require(&k, "model") || !tq_gkv_string(&k, "model", &model)) return NULL;
    if (!tq_gkv_str_is(model, "llama")) {
        int l = (int)(model.len > 64 ? 64 : model.len);
        tq_err(err, TQ_E_UNSUPPORTED, "%s: tokenizer.ggml.model is \"%.*s\", not llama (sentencepiece)%s", path, l,
               model.s, tq_gkv_str_is(model, "gpt2") ? "; byte-level BPE is the gguf-gpt2 tokenizer row" : "");
        return NULL;
    }
    const tq_gguf_value *toks = NULL, *scores = NULL, *types = NULL;
    if (!tq_gkv_require(&k, "tokens") || !tq_gkv_array(&k, "tokens", TQ_GGUF_STRING, 0, &toks)) return NULL;
    uint64_t n = toks->count;
    if (n < 3 || n > (1u << 24)) {
        tq_err(err, TQ_E_FORMAT, "%s: tokenizer.ggml.tokens holds %llu tokens, outside [3, %u]", path,
               (unsigned long long)n, 1u << 24);
        return NULL;
    }
    tq_gkv_array(&k, "scores", TQ_GGUF_FLOAT32, n, &scores);
    tq_gkv_array(&k, "token_type", TQ_GGUF_INT32, n, &types);
    int64_t bos = special_id(&k, "bos_token_id", n), eos = special_id(&k, "eos_token_id", n);
    int64_t unk = special_id(&k, "unknown_token_id", n);
    int space = 1;
    tq_gkv_bool(&k, "add_space_prefix", &space);
    if (k.c.st) return NULL;
    if ((bos >= 0 && bos != TQ_SPM_BOS) || (eos >= 0 && eos != TQ_SPM_EOS)) {
        tq_err(err, TQ_E_UNSUPPORTED, "%s: tokenizer.ggml.bos_token_id %lld and eos_token_id %lld: the sentencepiece "
               "tokenizer needs BOS %d and EOS %d", path, (long long)bos, (long long)eos, TQ_SPM_BOS, TQ_SPM_EOS);
        return NULL;
    }
    if (!space) {
        tq_err(err, TQ_E_UNSUPPORTED, "%s: tokenizer.ggml.add_space_prefix is false; the sentencepiece tokenizer always "
               "puts a space before the text", path);
        return NULL;
    }
    /* each token's type, then the size of the ModelProto image */
    int *type = malloc(sizeof(int) * (size_t)n);
    if (!type) { tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        int t = 1;
        if (types) t = (int)(int32_t)tq_ld32(types->elems + 4 * i);
        else if ((int64_t)i == TQ_SPM_BOS || (int64_t)i == TQ_SPM_EOS) t = 3;
        else if ((int64_t)i == unk) t = 2;
        if (t < 1 || t > 6) {
            free(type);
            tq_err(err, TQ_E_FORMAT, "%s: tokenizer.ggml.token_type[%llu] is %d, outside [1, 6]", path,
                   (unsigned long long)i, t);
            return NULL;
        }
        if (scores) {
            float s;
            uint32_t bits = tq_ld32(scores->elems + 4 * i);
            memcpy(&s, &bits, 4);
            if (!isfinite(s)) {
                free(type);
                tq_err(err, TQ_E_FORMAT, "%s: tokenizer.ggml.scores[%llu] is not finite", path, (unsigned long long)i);
                return NULL;
            }
        }
        type[i] = t;
        size_t m = piece_msg_len(toks->strs[i].len, t);
        total += 1 + varint_len(m) + m;
    }
    uint8_t *img = malloc(total ? (size_t)total : 1);
    if (!img) { free(type); tq_err(err, TQ_E_NOMEM, "%s: out of memory for %llu tokens", path, (unsigned long long)n); return NULL; }
    size_t o = 0;
    for (uint64_t i = 0; i < n; i++) {
        const tq_gguf_str *s = &toks->strs[i];
        img[o++] = 0x0A;   /* ModelProto.pieces, length-delimited */
        o += put_varint(img + o, piece_msg_len(s->len, type[i]));
        img[o++] = 0x0A;   /* piece */
        o += put_varint(img + o, s->len);
        if (s->len) memcpy(img + o, s->s, (size_t)s->len);
        o += (size_t)s->len;
        img[o++] = 0x15;   /* score, fixed32 */
        static const uint8_t zero[4];
        memcpy(img + o, scores ? scores->elems + 4 * i : zero, 4);
        o += 4;
        img[o++] = 0x18;   /* type, varint */
        o += put_varint(img + o, (uint64_t)type[i]);
    }
    TQ_ASSERT(o == total);
    free(type);
    tq_spm *t = tq_spm_open_model_mem(img, o, path, err);
    free(img);
    return t;
}

void *tq_tok_gguf_read(const char *path, tq_tok_gguf_fn from, tq_error *err) {
    tq_map m;
    if (tq_map_open(&m, path, err)) return NULL;
    tq_gguf g;
    void *t = NULL;
    if (!tq_gguf_parse_map(m.data, m.size, &m, path, &g, err)) t = from(&g, path, err);   /* KVs pinned: the arrays read later are safe */
    tq_gguf_free(&g);
    tq_map_close(&m);
    return t;
}

static void *spm_from(const tq_gguf *g, const char *path, tq_error *err) { return tq_spm_from_gguf(g, path, err); }

tq_spm *tq_spm_open_gguf(const char *path, tq_error *err) { return tq_tok_gguf_read(path, spm_from, err); }

/* ---- the tokenizer table's row (nn/tok/tok.h) -------------------------------- */

char *tq_tok_gguf_file(const char *dir, tq_error *err) {
    if (tq_llama_is_gguf(dir)) {
        char *p = strdup(dir);
        if (!p) tq_err(err, TQ_E_NOMEM, "out of memory");
        return p;
    }
    DIR *d = opendir(dir);
    if (!d) { tq_err(err, TQ_E_NOTFOUND, "%s: no *.gguf file", dir); return NULL; }
    char *p = NULL;
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".gguf") != 0) continue;
        if (count++ == 0) p = tq_path_join(dir, de->d_name);
    }
    closedir(d);
    if (count != 1) {
        free(p);
        if (count) tq_err(err, TQ_E_ARG, "%s: %d *.gguf files; name the tokenizer", dir, count);
        else tq_err(err, TQ_E_NOTFOUND, "%s: no *.gguf file", dir);
        return NULL;
    }
    if (!p) tq_err(err, TQ_E_NOMEM, "out of memory");
    return p;
}

void *tq_tok_gguf_row_open(const char *dir, tq_tok_gguf_fn from, tq_error *err) {
    char *p = tq_tok_gguf_file(dir, err);
    void *t = p ? tq_tok_gguf_read(p, from, err) : NULL;
    free(p);
    return t;
}

static void *gguf_open(const char *dir, tq_error *err) { return tq_tok_gguf_row_open(dir, spm_from, err); }

const tq_tok_kind tq_tok_gguf_spm = {"gguf-llama", "*.gguf (tokenizer.ggml.model llama)", gguf_open, &tq_tok_spm_vt, 0};
