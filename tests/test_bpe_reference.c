/* test_bpe_reference.c — the byte-level BPE tokenizer against Hugging Face
 * `tokenizers`, id for id.
 *
 * Setup (skipped with a message when it cannot be had): tests/py/hf_venv.sh
 * gives a python with tokenizers 0.20 / transformers 4.46.3;
 * tests/py/bpe_reference.py trains the families' tokenizers on a seeded
 * corpus (GPT-2 and RoBERTa from tokenizer.json and from vocab.json +
 * merges.txt, Llama-3, Qwen2, SmolLM-style) and encodes a varied text set.
 * When the SmolLM2 GGUF is there (tests/py/gguf_venv.sh), its tokenizer.ggml.*
 * arrays are dumped to JSON here, the reference builds a tokenizers
 * Tokenizer from the same arrays, and trueq builds its own with
 * tq_bpe_from_arrays from the parsed GGUF. Every case must give the same
 * ids with and without specials, and the same decoded text keeping and
 * skipping special tokens. */
#include "tq_test.h"
#include "core/internal.h"
#include "io/gguf.h"
#include "nn/tok/bpe.h"
#include <cjson/cJSON.h>
#include <stdlib.h>

static int same(const int32_t *ids, int n, const cJSON *want) {
    if (cJSON_GetArraySize(want) != n) return 0;
    int i = 0;
    for (const cJSON *c = want->child; c; c = c->next, i++)
        if (c->valueint != ids[i]) return 0;
    return 1;
}

static void show(const char *what, const char *tok, const char *text, const cJSON *want, const int32_t *ids, int n) {
    char *w = cJSON_PrintUnformatted(want);
    cJSON *t = cJSON_CreateString(text);
    char *ts = cJSON_PrintUnformatted(t);
    fprintf(stderr, "  MISMATCH %s [%s] %s\n    hf:  %.600s\n    got:", what, tok, ts, w);
    for (int i = 0; i < n && i < 120; i++) fprintf(stderr, " %d", ids[i]);
    fputc('\n', stderr);
    free(w);
    free(ts);
    cJSON_Delete(t);
}

/* A GGUF string array's elements appended to a JSON array. */
static void add_strings(cJSON *arr, const tq_gguf_value *v) {
    char *buf = NULL;
    for (uint64_t i = 0; i < v->count; i++) {
        char *nb = realloc(buf, v->strs[i].len + 1);
        if (!nb) break;
        buf = nb;
        memcpy(buf, v->strs[i].s, v->strs[i].len);
        buf[v->strs[i].len] = 0;
        cJSON_AddItemToArray(arr, cJSON_CreateString(buf));
    }
    free(buf);
}

/* The SmolLM2 GGUF's tokenizer: parsed (kept mapped in *m, *g) and dumped
 * as {"tokens","types","merges","pre","bos","add_bos"} to path. 1 on success. */
static int gguf_dump(const char *src, const char *path, tq_map *m, tq_gguf *g) {
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "bash '%s/tests/py/gguf_venv.sh' 2>/dev/null", src);
    int rc = tq_t_run(cmd, &out);
    char *nl = out ? strchr(out, '\n') : NULL;
    if (rc != 0 || !nl || !nl[1] || nl[1] == '\n') { free(out); return 0; }
    char *file = nl + 1;
    file[strcspn(file, "\n")] = 0;
    tq_error e = {0};
    if (tq_map_open(m, file, &e)) { free(out); return 0; }
    tq_status st = tq_gguf_parse(m->data, m->size, file, g, &e);
    free(out);
    CHECK_OK(st, e);
    if (st) { tq_map_close(m); return 0; }
    int64_t kt = tq_gguf_find_kv(g, "tokenizer.ggml.tokens"), km = tq_gguf_find_kv(g, "tokenizer.ggml.merges");
    int64_t ky = tq_gguf_find_kv(g, "tokenizer.ggml.token_type"), kp = tq_gguf_find_kv(g, "tokenizer.ggml.pre");
    CHECK(kt >= 0 && km >= 0 && ky >= 0 && kp >= 0);
    if (kt < 0 || km < 0 || ky < 0 || kp < 0) return 0;
    cJSON *j = cJSON_CreateObject(), *toks = cJSON_AddArrayToObject(j, "tokens"), *mer = cJSON_AddArrayToObject(j, "merges");
    cJSON *ty = cJSON_AddArrayToObject(j, "types");
    add_strings(toks, &g->kv[kt].v);
    add_strings(mer, &g->kv[km].v);
    for (uint64_t i = 0; i < g->kv[ky].v.count; i++) {
        int32_t v;
        memcpy(&v, g->kv[ky].v.elems + 4 * i, 4);
        cJSON_AddItemToArray(ty, cJSON_CreateNumber(v));
    }
    snprintf(cmd, sizeof cmd, "%.*s", (int)g->kv[kp].v.str.len, g->kv[kp].v.str.s);
    cJSON_AddStringToObject(j, "pre", cmd);
    char *txt = cJSON_PrintUnformatted(j);
    int ok = txt && tq_t_write(path, txt, strlen(txt)) == 0;
    free(txt);
    cJSON_Delete(j);
    return ok;
}

/* tq_bpe_from_arrays over the GGUF's KVs. */
static tq_bpe *gguf_tok(const tq_gguf *g, tq_error *e) {
    int64_t kt = tq_gguf_find_kv(g, "tokenizer.ggml.tokens"), km = tq_gguf_find_kv(g, "tokenizer.ggml.merges");
    int64_t ky = tq_gguf_find_kv(g, "tokenizer.ggml.token_type"), kp = tq_gguf_find_kv(g, "tokenizer.ggml.pre");
    int n = (int)g->kv[kt].v.count, nm = (int)g->kv[km].v.count;
    const char **tok = malloc(sizeof *tok * (size_t)n), **mer = malloc(sizeof *mer * (size_t)nm);
    size_t *tl = malloc(sizeof *tl * (size_t)n), *ml = malloc(sizeof *ml * (size_t)nm);
    int32_t *types = malloc(sizeof *types * (size_t)n);
    for (int i = 0; i < n; i++) {
        tok[i] = g->kv[kt].v.strs[i].s;
        tl[i] = g->kv[kt].v.strs[i].len;
        memcpy(&types[i], g->kv[ky].v.elems + 4 * (size_t)i, 4);
    }
    for (int i = 0; i < nm; i++) {
        mer[i] = g->kv[km].v.strs[i].s;
        ml[i] = g->kv[km].v.strs[i].len;
    }
    char pre[64];
    snprintf(pre, sizeof pre, "%.*s", (int)g->kv[kp].v.str.len, g->kv[kp].v.str.s);
    tq_bpe_arrays a = {n, tok, tl, types, nm, mer, ml, 1, 2, 2, 0, 0, 0, pre};
    tq_bpe *t = tq_bpe_from_arrays(&a, "SmolLM2 GGUF", e);
    free(tok); free(mer); free(tl); free(ml); free(types);
    return t;
}

void tq_tests(void) {
    TQ_CASE("bpe reference: ids and decoded text equal Hugging Face tokenizers' for every family");
    const char *src = getenv("TQ_SOURCE_DIR");
    if (!src) src = ".";
    char cmd[8192], *lines = NULL;
    snprintf(cmd, sizeof cmd, "bash '%s/tests/py/hf_venv.sh' 2>/dev/null", src);
    int rc = tq_t_run(cmd, &lines);
    char py[2048] = "";
    if (rc == 0 && lines) sscanf(lines, "%2047[^\n]", py);
    free(lines);
    if (rc != 0 || !py[0]) TQ_SKIP("no Hugging Face reference environment (tests/py/hf_venv.sh)");

    tq_map m;
    tq_gguf g;
    memset(&g, 0, sizeof g);
    char dump[1024], out[1024];
    snprintf(dump, sizeof dump, "%s", tq_t_path("gguf_tok.json"));
    snprintf(out, sizeof out, "%s", tq_t_path("bpe"));
    int have_gguf = gguf_dump(src, dump, &m, &g);
    if (!have_gguf) printf("  note: SmolLM2 GGUF unavailable (tests/py/gguf_venv.sh): its tokenizer is not compared\n");
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && '%s' '%s/tests/py/bpe_reference.py' '%s' %s%s%s 2>&1", out, py, src, out,
             have_gguf ? "'" : "", have_gguf ? dump : "", have_gguf ? "'" : "");
    char *log = NULL;
    rc = tq_t_run(cmd, &log);
    CHECK_MSG(rc == 0, "bpe_reference.py failed: %s", log ? log : "");
    free(log);
    snprintf(cmd, sizeof cmd, "%s/expected.json", out);
    char *doc = NULL;
    size_t doc_len = 0;
    cJSON *j = rc == 0 && !tq_read_file(cmd, &doc, &doc_len, NULL) ? cJSON_ParseWithLength(doc, doc_len) : NULL;
    free(doc);
    CHECK(j != NULL);
    if (!j) { if (have_gguf) { tq_gguf_free(&g); tq_map_close(&m); } return; }

    enum { MAXF = 16 };
    tq_bpe *toks[MAXF] = {0};
    const char *names[MAXF] = {0};
    int nf = 0;
    tq_error err = {0};
    for (const cJSON *f = cJSON_GetObjectItem(j, "families")->child; f && nf < MAXF; f = f->next, nf++) {
        names[nf] = cJSON_GetObjectItem(f, "name")->valuestring;
        if (!strcmp(names[nf], "gguf")) toks[nf] = have_gguf ? gguf_tok(&g, &err) : NULL;
        else toks[nf] = tq_bpe_open_dir(cJSON_GetObjectItem(f, "dir")->valuestring, &err);
        CHECK_MSG(toks[nf] != NULL, "%s: %s", names[nf], err.msg);
    }
    int n = 0, bad = 0, per[MAXF] = {0};
    for (const cJSON *c = cJSON_GetObjectItem(j, "cases")->child; c; c = c->next) {
        const char *tn = cJSON_GetObjectItem(c, "tok")->valuestring, *text = cJSON_GetObjectItem(c, "text")->valuestring;
        int f = 0;
        while (f < nf && strcmp(names[f], tn)) f++;
        if (f == nf || !toks[f]) continue;
        for (int sp = 0; sp < 2; sp++) {
            int32_t *ids = NULL;
            int k = 0;
            tq_status st = tq_bpe_encode(toks[f], text, strlen(text), sp, &ids, &k, &err);
            const cJSON *want = cJSON_GetObjectItem(c, sp ? "ids_sp" : "ids");
            if (st || !same(ids, k, want)) {
                bad++;
                if (st) fprintf(stderr, "  status %d: %s\n", (int)st, err.msg);
                show(sp ? "(specials)" : "", tn, text, want, ids, k);
            }
            if (sp && !st) {
                for (int skip = 0; skip < 2; skip++) {
                    char *back = NULL;
                    size_t bl = 0;
                    const char *wd = cJSON_GetObjectItem(c, skip ? "dec_skip" : "dec")->valuestring;
                    st = tq_bpe_decode(toks[f], ids, k, skip, &back, &bl, &err);
                    if (st || strcmp(back, wd) || bl != strlen(back)) {
                        bad++;
                        fprintf(stderr, "  DECODE MISMATCH [%s] skip=%d: want \"%s\" got \"%s\" (%s)\n", tn, skip, wd,
                                back ? back : "", st ? err.msg : "");
                    }
                    free(back);
                }
            }
            free(ids);
            n++;
        }
        per[f]++;
    }
    for (int f = 0; f < nf; f++) printf("  %-10s %d texts\n", names[f], per[f]);
    printf("  %d encodings compared, %d mismatches\n", n, bad);
    CHECK_EQ_INT(bad, 0);
    CHECK(n >= 2 * 6 * 200);
    for (int f = 0; f < nf; f++) tq_bpe_free(toks[f]);
    cJSON_Delete(j);
    if (have_gguf) { tq_gguf_free(&g); tq_map_close(&m); }
}
