/* encoder_cli.c — shared pieces of `embed`, `classify` and `compare` (encoder_cli.h). */
#include "encoder_cli.h"
#include "core/internal.h"
#include <stdlib.h>
#include <string.h>

void tqc_enc_progress(void *ud, int done, int total) { tqc_progress((const char *)ud, done, total); }

void tqc_enc_side_free(tqc_enc_side *s) {
    tq_tok_free(s->tok);
    tq_enc_free(s->e);
    tq_model_close(s->m);
    s->tok = NULL;
    s->e = NULL;
    s->m = NULL;
}

int tqc_enc_side_open(tqc_enc_side *s, const char *cmd, bool need_tok, const char *cfg_fallback_dir, const tqc_enc_open_opts *po) {
    tq_error err = {0};
    s->m = tq_model_open(s->path, &err);
    if (!s->m) return tqc_fail(cmd, &err);
    if (!tq_enc_detect(s->m)) {
        fprintf(stderr,
                "trueq %s: %s holds no BERT, DistilBERT or RoBERTa encoder (no embeddings.word_embeddings.weight "
                "with encoder.layer.0 or transformer.layer.0 tensors)\n",
                cmd, s->path);
        return TQC_EXIT_FAIL;
    }
    tq_enc_config cfg;
    const char *dir = tq_model_dir(s->m);
    tq_status st = tq_enc_config_find(dir, &cfg, &err);
    if (st == TQ_E_NOTFOUND && cfg_fallback_dir) {
        dir = cfg_fallback_dir;
        st = tq_enc_config_find(dir, &cfg, &err);
    }
    if (st) return tqc_fail(cmd, &err);
    if (po && po->pooling >= 0) cfg.pooling = (tq_pool_mode)po->pooling;
    if (po && po->normalize >= 0) cfg.normalize = po->normalize;
    tq_model_memory(s->m, &s->mem);
    tq_enc_opts eo = {.keep_int8 = po && po->keep_int8, .int8_attention = po ? po->int8_attention : 0};
    s->e = tq_enc_open_ex(s->m, &cfg, &eo, &err);
    if (!s->e) return tqc_fail(cmd, &err);
    if (need_tok) {
        s->tok = tq_tok_open_dir(tq_model_dir(s->m), &err);
        if (!s->tok && err.status == TQ_E_NOTFOUND && cfg_fallback_dir) s->tok = tq_tok_open_dir(cfg_fallback_dir, &err);
        if (!s->tok) return tqc_fail(cmd, &err);
        if (tq_tok_vocab_size(s->tok) > tq_enc_config_of(s->e)->vocab_size) {
            fprintf(stderr, "trueq %s: the tokenizer of %s has %d tokens, more than the model's %d\n", cmd, s->path,
                    tq_tok_vocab_size(s->tok), tq_enc_config_of(s->e)->vocab_size);
            return TQC_EXIT_FAIL;
        }
    }
    return TQC_EXIT_OK;
}

int tqc_enc_max_len(const tq_enc *e, const tq_tok *tok) {
    (void)tok;
    const tq_enc_config *c = tq_enc_config_of(e);
    int n = c->arch == TQ_ENC_ROBERTA ? c->max_pos - c->pad_token_id - 1 : c->max_pos;
    if (c->seq_limit > 0 && c->seq_limit < n) n = c->seq_limit;
    return n;
}

void tqc_enc_inputs_free(tqc_enc_inputs *in) {
    for (int i = 0; i < in->n; i++) {
        if (in->encs) tq_wp_encoding_free(&in->encs[i]);
        if (in->label) free(in->label[i]);
    }
    free(in->encs);
    free(in->seqs);
    free(in->label);
    memset(in, 0, sizeof *in);
}

void tqc_enc_release(tqc_enc_inputs *in, tqc_enc_side *a, tqc_enc_side *b) {
    if (in) tqc_enc_inputs_free(in);
    if (a) tqc_enc_side_free(a);
    if (b) tqc_enc_side_free(b);
}

int tqc_enc_open_one(tqc_enc_side *s, tqc_enc_inputs *in, const char *cmd, const tqc_enc_open_opts *po, const char *ids_file,
                 const char *text_file, const char *const *a, const char *const *b, int n) {
    int rc = tqc_enc_side_open(s, cmd, ids_file == NULL, NULL, po);
    if (rc) return rc;
    int max_len = tqc_enc_max_len(s->e, s->tok);
    if (ids_file) return tqc_enc_inputs_from_ids_file(in, cmd, ids_file, tq_enc_config_of(s->e)->vocab_size, max_len);
    if (text_file) return tqc_enc_inputs_from_text_file(in, cmd, s->tok, text_file, max_len);
    return tqc_enc_inputs_from_texts(in, cmd, s->tok, a, b, n, max_len);
}

/* Room for one more input; returns its index or -1. */
static int grow(tqc_enc_inputs *in, int *cap) {
    if (in->n == *cap) {
        int nc = *cap ? 2 * *cap : 16;
        tq_wp_encoding *e = realloc(in->encs, (size_t)nc * sizeof *e);
        if (e) in->encs = e;
        char **l = realloc(in->label, (size_t)nc * sizeof *l);
        if (l) in->label = l;
        if (!e || !l) return -1;
        *cap = nc;
    }
    memset(&in->encs[in->n], 0, sizeof in->encs[in->n]);
    in->label[in->n] = NULL;
    return in->n++;
}

static int finish(tqc_enc_inputs *in, const char *cmd) {
    if (in->n == 0) {
        fprintf(stderr, "trueq %s: no inputs\n", cmd);
        return TQC_EXIT_FAIL;
    }
    in->seqs = calloc((size_t)in->n, sizeof *in->seqs);
    if (!in->seqs) return tqc_error(cmd, "out of memory");
    for (int i = 0; i < in->n; i++)
        in->seqs[i] = (tq_enc_seq){.n = in->encs[i].n, .ids = in->encs[i].ids, .type_ids = in->encs[i].type_ids};
    return TQC_EXIT_OK;
}

static int add_text(tqc_enc_inputs *in, int *cap, const char *cmd, const tq_tok *tok, const char *a, const char *b,
                    int max_len, const char *where) {
    tq_error err = {0};
    int k = grow(in, cap);
    if (k < 0) return tqc_error(cmd, "out of memory");
    if (tq_tok_encode_pair(tok, a, b, max_len, &in->encs[k], &err)) {
        if (where) tq_err_prefix(&err, err.status, "%s", where);
        return tqc_fail(cmd, &err);
    }
    tq_sb l = {0};
    tq_sb_puts(&l, a);
    if (b) { tq_sb_puts(&l, " | "); tq_sb_puts(&l, b); in->pairs++; }
    if (l.oom) { tq_sb_free(&l); return tqc_error(cmd, "out of memory"); }
    in->label[k] = l.s ? l.s : tq_strdup("");
    return TQC_EXIT_OK;
}

int tqc_enc_inputs_from_texts(tqc_enc_inputs *in, const char *cmd, const tq_tok *tok, const char *const *a,
                          const char *const *b, int n, int max_len) {
    int cap = 0, rc;
    for (int i = 0; i < n; i++) {
        char where[32];
        snprintf(where, sizeof where, "input %d", i + 1);
        if ((rc = add_text(in, &cap, cmd, tok, a[i], b ? b[i] : NULL, max_len, where))) return rc;
    }
    return finish(in, cmd);
}

/* Call fn on every line of path (without its newline); stops at a non-zero return. */
static int each_line(const char *path, const char *cmd, int (*fn)(void *, char *, int), void *ctx) {
    tq_error err = {0};
    char *buf;
    size_t len;
    if (tq_read_file(path, &buf, &len, &err)) return tqc_fail(cmd, &err);
    int rc = TQC_EXIT_OK, lineno = 0;
    char *p = buf, *end = buf + len;
    while (p < end && !rc) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end, *le = e;
        if (le > p && le[-1] == '\r') le--;
        *e = 0;   /* tq_read_file leaves a NUL after the data */
        *le = 0;
        lineno++;
        if (strlen(p) != (size_t)(le - p)) {
            fprintf(stderr, "trueq %s: %s:%d: the line holds a NUL byte\n", cmd, path, lineno);
            rc = TQC_EXIT_FAIL;
            break;
        }
        rc = fn(ctx, p, lineno);
        p = e + 1;
    }
    free(buf);
    return rc;
}

typedef struct text_ctx {
    tqc_enc_inputs *in; int *cap; const char *cmd, *path; const tq_tok *tok; int max_len;
} text_ctx;

static int on_text_line(void *vc, char *line, int lineno) {
    text_ctx *c = vc;
    if (!*line || *line == '#') return TQC_EXIT_OK;
    char *tab = strchr(line, '\t');
    if (tab) *tab = 0;
    char where[600];
    snprintf(where, sizeof where, "%s:%d", c->path, lineno);
    return add_text(c->in, c->cap, c->cmd, c->tok, line, tab ? tab + 1 : NULL, c->max_len, where);
}

int tqc_enc_inputs_from_text_file(tqc_enc_inputs *in, const char *cmd, const tq_tok *tok, const char *path, int max_len) {
    int cap = 0;
    text_ctx c = {in, &cap, cmd, path, tok, max_len};
    int rc = each_line(path, cmd, on_text_line, &c);
    return rc ? rc : finish(in, cmd);
}

typedef struct ids_ctx {
    tqc_enc_inputs *in; int *cap; const char *cmd, *path; int vocab, max_len;
} ids_ctx;

static int on_ids_line(void *vc, char *line, int lineno) {
    ids_ctx *c = vc;
    const char *p = line;
    while (*p == ' ' || *p == '\t') p++;
    if (!*p || *p == '#') return TQC_EXIT_OK;
    int k = grow(c->in, c->cap);
    if (k < 0) return tqc_error(c->cmd, "out of memory");
    tq_wp_encoding *e = &c->in->encs[k];
    c->in->label[k] = tq_strdup(p);
    int cap = 0, type = 0;
    while (*p) {
        if (*p == ' ' || *p == '\t') { p++; continue; }
        if (*p == '|') {
            if (type) { fprintf(stderr, "trueq %s: %s:%d: more than one '|' (a sequence has two segments at most)\n", c->cmd, c->path, lineno); return TQC_EXIT_FAIL; }
            type = 1;
            c->in->pairs++;
            p++;
            continue;
        }
        int64_t v;
        const char *start = p;
        if (tqc_scan_i64(&p, " \t|", &v))
            return tqc_error(c->cmd, "%s:%d: \"%.20s\" is not a token id", c->path, lineno, start);
        if (v < 0 || v >= c->vocab)
            return tqc_error(c->cmd, "%s:%d: token id %lld is outside the vocabulary [0, %d)", c->path, lineno, (long long)v,
                             c->vocab);
        if (e->n == c->max_len) {
            fprintf(stderr, "trueq %s: %s:%d: more than %d tokens (the model's limit)\n", c->cmd, c->path, lineno, c->max_len);
            return TQC_EXIT_FAIL;
        }
        if (e->n == cap) {
            cap = cap ? 2 * cap : 64;
            int32_t *ni = realloc(e->ids, (size_t)cap * sizeof *ni);
            if (ni) e->ids = ni;
            int32_t *nt = realloc(e->type_ids, (size_t)cap * sizeof *nt);
            if (nt) e->type_ids = nt;
            if (!ni || !nt) return tqc_error(c->cmd, "out of memory");
        }
        e->ids[e->n] = (int32_t)v;
        e->type_ids[e->n] = type;
        e->n++;
    }
    if (e->n == 0) {
        fprintf(stderr, "trueq %s: %s:%d: no token ids on the line\n", c->cmd, c->path, lineno);
        return TQC_EXIT_FAIL;
    }
    return TQC_EXIT_OK;
}

int tqc_enc_inputs_from_ids_file(tqc_enc_inputs *in, const char *cmd, const char *path, int vocab_size, int max_len) {
    int cap = 0;
    ids_ctx c = {in, &cap, cmd, path, vocab_size, max_len};
    int rc = each_line(path, cmd, on_ids_line, &c);
    return rc ? rc : finish(in, cmd);
}
