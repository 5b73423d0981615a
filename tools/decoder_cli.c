/* decoder_cli.c — shared pieces of `generate` and the decoder `compare` (decoder_cli.h). */
#include "decoder_cli.h"
#include "core/internal.h"
#include <stdlib.h>

void tqc_dec_side_free(tqc_dec_side *s) {
    tq_llama_free(s->l);
    tq_model_close(s->m);
    s->l = NULL;
    s->m = NULL;
}

int tqc_dec_side_open(tqc_dec_side *s, const char *cmd, const tq_llama_config *forced, const tq_llama_config *fallback,
                  const char *fallback_dir, const tq_llama_opts *lo) {
    tq_error err = {0};
    tq_llama_config cfg;
    const tq_llama_config *use = forced;
    s->config_from = "--config";
    s->gguf = tq_llama_is_gguf(s->path) ? s->path : NULL;
    if (!use && s->gguf) {   /* a GGUF file carries its configuration (read first: it names the architecture) */
        if (tq_llama_config_read(s->gguf, &cfg, &err)) return tqc_fail(cmd, &err);
        use = &cfg;
        s->config_from = s->gguf;
    }
    s->m = tq_model_open(s->path, &err);
    if (!s->m) return tqc_fail(cmd, &err);
    if (!tq_llama_detect(s->m))
        return tqc_error(cmd, "%s is not a Llama-style decoder (no tok_embeddings.weight, model.embed_tokens.weight "
                         "or token_embd.weight)", s->path);
    if (!use) {
        tq_status st = tq_llama_config_find(tq_model_dir(s->m), &cfg, &err);
        if (st == TQ_OK) { use = &cfg; s->config_from = tq_model_dir(s->m); }
        else if (st == TQ_E_NOTFOUND && fallback) { use = fallback; s->config_from = fallback_dir; }
        else return tqc_fail(cmd, &err);
    }
    tq_model_memory(s->m, &s->mem);
    s->l = tq_llama_open_ex(s->m, use, lo, &err);
    if (!s->l) return tqc_fail(cmd, &err);
    return TQC_EXIT_OK;
}

int tqc_dec_tok_open(tqc_dec_tok *t, const char *cmd, const char *file, const char *dir_a, const char *dir_b) {
    tq_error err = {0};
    t->spm = NULL;
    t->tok = NULL;
    if (file && tq_llama_is_gguf(file)) {
        t->spm = tq_spm_open_gguf(file, &err);
        if (!t->spm && err.status == TQ_E_UNSUPPORTED) {   /* not sentencepiece: the table's GGUF rows */
            tq_error e2 = {0};
            t->tok = tq_tok_open_dir(file, &e2);
            if (!t->tok && e2.status != TQ_E_NOTFOUND) err = e2;
        }
    } else if (file) {
        t->spm = tq_spm_open(file, &err);
    } else {
        t->spm = tq_spm_open_dir(dir_a, &err);
        if (!t->spm && err.status == TQ_E_NOTFOUND && dir_b) t->spm = tq_spm_open_dir(dir_b, &err);
        if (!t->spm && err.status == TQ_E_NOTFOUND) {   /* a Hugging Face tokenizer.json (byte-level BPE, ...) */
            tq_error e2 = {0};
            t->tok = tq_tok_open_dir(dir_a, &e2);
            if (!t->tok && e2.status != TQ_E_NOTFOUND) err = e2;
        }
    }
    return t->spm || t->tok ? TQC_EXIT_OK : tqc_fail(cmd, &err);
}

void tqc_dec_tok_free(tqc_dec_tok *t) {
    tq_spm_free(t->spm);
    tq_tok_free(t->tok);
    t->spm = NULL;
    t->tok = NULL;
}

int tqc_dec_tok_count(const tqc_dec_tok *t) { return t->spm ? tq_spm_count(t->spm) : tq_tok_vocab_size(t->tok); }

int tqc_dec_tok_special(const tqc_dec_tok *t, tq_tok_special s) {
    if (t->tok) return tq_tok_special_id(t->tok, s);
    return s == TQ_TOK_BOS ? TQ_SPM_BOS : s == TQ_TOK_EOS ? TQ_SPM_EOS : -1;
}

tq_status tqc_dec_tok_encode(const tqc_dec_tok *t, const char *text, size_t len, int bos, int **ids, int *n,
                             tq_error *err) {
    if (t->spm) return tq_spm_encode(t->spm, text, len, bos, 0, ids, n, err);
    int32_t *v = NULL;
    tq_status st = tq_tok_encode(t->tok, text, len, bos, &v, n, err);
    if (st) return st;
    *ids = malloc(sizeof(int) * (size_t)(*n > 0 ? *n : 1));
    if (!*ids) { free(v); return tq_err(err, TQ_E_NOMEM, "tokenizer: out of memory"); }
    for (int i = 0; i < *n; i++) (*ids)[i] = v[i];
    free(v);
    return TQ_OK;
}

int tqc_dec_read_ids(const char *cmd, const char *path, int vocab, int **ids, int *n) {
    tq_error err = {0};
    char *buf;
    size_t len;
    if (tq_read_file(path, &buf, &len, &err)) return tqc_fail(cmd, &err);
    int cap = 0, rc = TQC_EXIT_OK;
    *n = 0;
    for (const char *p = buf; *p && !rc;) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') { p++; continue; }
        int64_t v;
        const char *start = p;
        if (tqc_scan_i64(&p, " \t\r\n", &v)) {
            rc = tqc_error(cmd, "%s: \"%.20s\" (byte %td) is not a token id", path, start, start - buf);
            break;
        } else if (v < 0 || v >= vocab) {
            rc = tqc_error(cmd, "%s: token id %lld (byte %td) is outside the vocabulary [0, %d)", path, (long long)v,
                           start - buf, vocab);
        } else {
            if (*n == cap) {
                cap = cap ? 2 * cap : 256;
                int *ni = realloc(*ids, (size_t)cap * sizeof *ni);
                if (!ni) { rc = tqc_error(cmd, "out of memory"); break; }
                *ids = ni;
            }
            (*ids)[(*n)++] = (int)v;
        }
    }
    free(buf);
    if (!rc && *n == 0) {
        fprintf(stderr, "trueq %s: %s holds no token ids\n", cmd, path);
        rc = TQC_EXIT_FAIL;
    }
    return rc;
}
