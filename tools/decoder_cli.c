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

tq_spm *tqc_dec_tok_open(const char *cmd, const char *file, const char *dir_a, const char *dir_b) {
    tq_error err = {0};
    tq_spm *tok;
    if (file && tq_llama_is_gguf(file)) tok = tq_spm_open_gguf(file, &err);
    else if (file) tok = tq_spm_open(file, &err);
    else {
        tok = tq_spm_open_dir(dir_a, &err);
        if (!tok && err.status == TQ_E_NOTFOUND && dir_b) tok = tq_spm_open_dir(dir_b, &err);
    }
    if (!tok) tqc_fail(cmd, &err);
    return tok;
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
