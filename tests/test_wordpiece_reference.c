/* test_wordpiece_reference.c — the WordPiece tokenizer against Hugging Face.
 *
 * Setup (skipped with a message when it cannot be had): tests/py/hf_venv.sh
 * gives a python with transformers 4.46.3 / tokenizers 0.20 and the real
 * all-MiniLM-L6-v2 directory. tests/py/wordpiece_reference.py encodes the
 * texts of tests/data/wordpiece_texts.txt and seeded random strings, single
 * and paired, at several max_length, with BertTokenizerFast (the reference)
 * and the slow BertTokenizer, for MiniLM's tokenizer and the synthetic
 * model's vocabulary. Our ids and type ids must equal the fast tokenizer's;
 * MiniLM is opened twice, from vocab.txt and from tokenizer.json alone. */
#include "tq_test.h"
#include "core/internal.h"
#include "trueq_nn.h"
#include <cjson/cJSON.h>
#include <stdlib.h>

static cJSON *read_json(const char *path) {
    char *s;
    size_t n;
    if (tq_read_file(path, &s, &n, NULL)) return NULL;
    cJSON *j = cJSON_ParseWithLength(s, n);
    free(s);
    return j;
}

/* 1 when enc equals the JSON id arrays. */
static int same_ids(const tq_wp_encoding *e, const cJSON *ids, const cJSON *types) {
    if (cJSON_GetArraySize(ids) != e->n || cJSON_GetArraySize(types) != e->n) return 0;
    for (int i = 0; i < e->n; i++)
        if (cJSON_GetArrayItem(ids, i)->valueint != e->ids[i] || cJSON_GetArrayItem(types, i)->valueint != e->type_ids[i])
            return 0;
    return 1;
}

static void print_case(const char *what, const cJSON *c, const tq_wp_encoding *e) {
    const cJSON *b = cJSON_GetObjectItem(c, "b");
    char *a = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "a"));
    char *bs = cJSON_PrintUnformatted(b);
    char *want = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "ids"));
    fprintf(stderr, "  %s: %s a=%s b=%s max_len=%d\n    hf:  %s\n    got:", what,
            cJSON_GetObjectItem(c, "tok")->valuestring, a, bs, cJSON_GetObjectItem(c, "max_len")->valueint, want);
    for (int i = 0; e && i < e->n; i++) fprintf(stderr, " %d", e->ids[i]);
    fputc('\n', stderr);
    free(a);
    free(bs);
    free(want);
}

void tq_tests(void) {
    TQ_CASE("wordpiece reference: ids and type ids equal BertTokenizerFast's");
    const char *src = getenv("TQ_SOURCE_DIR");
    if (!src) src = ".";
    char cmd[8192], *lines = NULL;
    snprintf(cmd, sizeof cmd, "bash '%s/tests/py/hf_venv.sh' 2>/dev/null", src);
    int rc = tq_t_run(cmd, &lines);
    char py[2048] = "", minilm[2048] = "";
    if (rc == 0 && lines) sscanf(lines, "%2047[^\n]\n%2047[^\n]", py, minilm);
    free(lines);
    if (rc != 0 || !py[0]) TQ_SKIP("no Hugging Face reference environment (tests/py/hf_venv.sh)");
    if (!minilm[0]) TQ_SKIP("the all-MiniLM-L6-v2 package is unavailable");

    /* the synthetic model's vocabulary, with tiny weights */
    tq_error err = {0};
    tq_synth_options so;
    tq_synth_options_init(&so);
    so.layers = 1; so.dim = 8; so.hidden = 8; so.heads = 1;
    char synth[1024], json_only[1024];
    snprintf(synth, sizeof synth, "%s", tq_t_path("synth"));
    snprintf(json_only, sizeof json_only, "%s", tq_t_path("minilm_json"));
    CHECK_OK(tq_synth_distilbert(synth, &so, &err), err);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s/tokenizer.json' '%s/tokenizer_config.json' '%s/'", json_only, minilm,
             minilm, json_only);
    CHECK_EQ_INT(tq_t_run(cmd, NULL), 0);
    const char *out = tq_t_path("wp_expected.json");
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/py/wordpiece_reference.py' '%s/tests/data/wordpiece_texts.txt' '%s' "
             "minilm='%s' synth='%s' 2>&1", py, src, src, out, minilm, synth);
    char *log = NULL;
    rc = tq_t_run(cmd, &log);
    CHECK_MSG(rc == 0, "wordpiece_reference.py failed: %s", log ? log : "");
    free(log);
    if (rc) return;
    cJSON *j = read_json(out);
    CHECK(cJSON_IsArray(j));

    tq_wordpiece *tm = tq_wp_open_dir(minilm, &err);
    CHECK_OK(tm ? TQ_OK : err.status, err);
    tq_wordpiece *tj = tq_wp_open_dir(json_only, &err);
    CHECK_OK(tj ? TQ_OK : err.status, err);
    tq_wordpiece *ts = tq_wp_open_dir(synth, &err);
    CHECK_OK(ts ? TQ_OK : err.status, err);
    if (!tm || !tj || !ts || !j) { tq_wp_free(tm); tq_wp_free(tj); tq_wp_free(ts); cJSON_Delete(j); return; }
    CHECK_EQ_INT(tq_wp_vocab_size(tm), 30522);
    CHECK_EQ_INT(tq_wp_vocab_size(tj), 30522);

    int n = 0, bad = 0, slow_diff = 0, truncated = 0, pairs = 0, unks = 0;
    for (const cJSON *c = j->child; c; c = c->next) {
        const char *tok = cJSON_GetObjectItem(c, "tok")->valuestring;
        const cJSON *bj = cJSON_GetObjectItem(c, "b");
        const char *a = cJSON_GetObjectItem(c, "a")->valuestring, *b = cJSON_IsString(bj) ? bj->valuestring : NULL;
        int max_len = cJSON_GetObjectItem(c, "max_len")->valueint;
        const cJSON *ids = cJSON_GetObjectItem(c, "ids"), *types = cJSON_GetObjectItem(c, "type_ids");
        int minilm_case = strcmp(tok, "minilm") == 0;
        tq_wordpiece *which[2] = {minilm_case ? tm : ts, minilm_case ? tj : NULL};
        for (int w = 0; w < 2 && which[w]; w++) {
            tq_wp_encoding e;
            tq_status st = tq_wp_encode(which[w], a, b, max_len, &e, &err);
            int ok = st == TQ_OK && same_ids(&e, ids, types);
            if (!ok) {
                bad++;
                if (st) fprintf(stderr, "  status %d: %s\n", (int)st, err.msg);
                print_case(w ? "MISMATCH (tokenizer.json)" : "MISMATCH", c, st ? NULL : &e);
            }
            for (int i = 0; st == TQ_OK && i < e.n; i++) unks += e.ids[i] == tq_wp_unk(which[w]);
            tq_wp_encoding_free(&e);
            n++;
        }
        truncated += max_len < 512;
        pairs += b != NULL;
        if (!cJSON_Compare(ids, cJSON_GetObjectItem(c, "slow_ids"), 1) ||
            !cJSON_Compare(types, cJSON_GetObjectItem(c, "slow_type_ids"), 1)) {
            slow_diff++;
            char *sl = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "slow_ids"));
            char *as = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "a"));
            printf("  note: the slow BertTokenizer differs (%s, %s, max_len %d): %s\n", tok, as, max_len, sl);
            free(sl);
            free(as);
        }
    }
    printf("  %d encodings compared, %d mismatches; %d pair and %d truncated cases, %d [UNK]s; "
           "slow tokenizer differs from fast on %d cases\n", n, bad, pairs, truncated, unks, slow_diff);
    CHECK_EQ_INT(bad, 0);
    CHECK(n >= 1500);
    CHECK(pairs >= 100 && truncated >= 100 && unks >= 50);
    tq_wp_free(tm);
    tq_wp_free(tj);
    tq_wp_free(ts);
    cJSON_Delete(j);
}
