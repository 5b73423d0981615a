/*
 * gguf_bpe.c — the byte-level BPE tokenizer of a GGUF file's
 * tokenizer.ggml.* metadata (tokenizer.ggml.model "gpt2", e.g. SmolLM2),
 * and its row of the tokenizer table ("gguf-gpt2").
 *
 * The arrays go to tq_bpe_from_arrays (bpe.c): tokens (id = index), merges
 * ("a b", rank = index), token_type (control tokens become special added
 * tokens, user-defined ones added tokens), the bos/eos/padding/unknown ids,
 * add_bos_token / add_eos_token (default false) and the pre-tokenizer name
 * tokenizer.ggml.pre (default "default").
 */
#include "core/internal.h"
#include "nn/gguf_kv.h"
#include "nn/llama_gguf.h"
#include "nn/tok/bpe.h"
#include "nn/tok/tok.h"
#include <stdlib.h>
#include <string.h>

/* ptr/len views of a STRING array's elements (malloc'd, the caller frees). */
static int views(const tq_gguf_value *v, const char ***s, size_t **len) {
    *s = malloc(sizeof **s * (size_t)(v->count ? v->count : 1));
    *len = malloc(sizeof **len * (size_t)(v->count ? v->count : 1));
    if (!*s || !*len) return -1;
    for (uint64_t i = 0; i < v->count; i++) {
        (*s)[i] = v->strs[i].s;
        (*len)[i] = (size_t)v->strs[i].len;
    }
    return 0;
}

tq_bpe *tq_bpe_from_gguf(const tq_gguf *g, const char *path, tq_error *err) {
    tq_gkv k = tq_gkv_init(g, path, "tokenizer.ggml.", err);
    tq_gguf_str model, pre = {0};
    if (!tq_gkv_require(&k, "model") || !tq_gkv_string(&k, "model", &model)) return NULL;
    if (!tq_gkv_str_is(model, "gpt2")) {
        tq_err(err, TQ_E_UNSUPPORTED, "%s: tokenizer.ggml.model is \"%.*s\", not gpt2 (byte-level BPE)", path,
               (int)(model.len > 64 ? 64 : model.len), model.s);
        return NULL;
    }
    const tq_gguf_value *toks = NULL, *merges = NULL, *types = NULL;
    tq_gkv_require(&k, "tokens");
    tq_gkv_require(&k, "merges");
    tq_gkv_array(&k, "tokens", TQ_GGUF_STRING, 0, &toks);
    tq_gkv_array(&k, "merges", TQ_GGUF_STRING, 0, &merges);
    if (k.c.st) return NULL;
    uint64_t n = toks->count;
    if (n < 1 || n > (1u << 24) || merges->count > (1u << 24)) {
        tq_err(err, TQ_E_FORMAT, "%s: tokenizer.ggml.tokens holds %llu tokens and merges %llu, outside [1, %u]", path,
               (unsigned long long)n, (unsigned long long)merges->count, 1u << 24);
        return NULL;
    }
    tq_gkv_array(&k, "token_type", TQ_GGUF_INT32, n, &types);
    int64_t id[4] = {-1, -1, -1, -1};
    static const char *const ID_KEYS[4] = {"bos_token_id", "eos_token_id", "padding_token_id", "unknown_token_id"};
    for (int i = 0; i < 4; i++) tq_gkv_int(&k, ID_KEYS[i], &id[i], 0, (int64_t)n - 1);
    int add_bos = 0, add_eos = 0;
    tq_gkv_bool(&k, "add_bos_token", &add_bos);
    tq_gkv_bool(&k, "add_eos_token", &add_eos);
    tq_gkv_string(&k, "pre", &pre);
    if (k.c.st) return NULL;
    tq_bpe_arrays a = {.n_tokens = (int)n, .n_merges = (int)merges->count, .bos = (int)id[0], .eos = (int)id[1],
                       .pad = (int)id[2], .unk = (int)id[3], .add_bos = add_bos, .add_eos = add_eos};
    const char **ts = NULL, **ms = NULL;
    size_t *tl = NULL, *ml = NULL;
    int32_t *tt = NULL;
    char pre_name[64] = "";
    tq_bpe *t = NULL;
    if (pre.len >= sizeof pre_name) {
        tq_err(err, TQ_E_UNSUPPORTED, "%s: tokenizer.ggml.pre \"%.*s...\" is not a known pre-tokenizer", path, 32, pre.s);
        return NULL;
    }
    if (pre.len) memcpy(pre_name, pre.s, (size_t)pre.len);
    a.pre = pre.len ? pre_name : NULL;
    if (views(toks, &ts, &tl) || views(merges, &ms, &ml) || (types && !(tt = malloc(sizeof *tt * (size_t)n)))) {
        tq_err(err, TQ_E_NOMEM, "%s: out of memory for %llu tokens", path, (unsigned long long)n);
        goto out;
    }
    for (uint64_t i = 0; tt && i < n; i++) tt[i] = (int32_t)tq_ld32(types->elems + 4 * i);
    a.tokens = ts;
    a.token_lens = tl;
    a.merges = ms;
    a.merge_lens = ml;
    a.token_types = tt;
    t = tq_bpe_from_arrays(&a, path, err);
out:
    free(ts); free(tl); free(ms); free(ml); free(tt);
    return t;
}

static void *bpe_from(const tq_gguf *g, const char *path, tq_error *err) { return tq_bpe_from_gguf(g, path, err); }

tq_bpe *tq_bpe_open_gguf(const char *path, tq_error *err) { return tq_tok_gguf_read(path, bpe_from, err); }

/* ---- the tokenizer table's row (nn/tok/tok.h) -------------------------------- */

static void *gguf_bpe_open(const char *dir, tq_error *err) { return tq_tok_gguf_row_open(dir, bpe_from, err); }

const tq_tok_kind tq_tok_gguf_bpe = {"gguf-gpt2", "*.gguf (tokenizer.ggml.model gpt2)", gguf_bpe_open, &tq_tok_bpe_vt, 0};
