/* generate_json.c — `trueq generate --json` (generate_json.h). */
#include "generate_json.h"
#include <stdlib.h>
#include <string.h>

void tqc_gen_json_begin(tqc_gen_json *g, FILE *f, const char *model, const int *prompt, int n, const tqc_dec_tok *tok) {
    tqc_json_init(&g->j, f, TQC_JSON_COMPACT, 9);
    g->tok = tok && (tok->spm || tok->tok) ? tok : NULL;
    g->prev = n > 0 ? prompt[n - 1] : -1;
    g->last = -1;
    tqc_json_begin_object(&g->j);
    tqc_json_kstr(&g->j, "model", model);
    tqc_json_key(&g->j, "prompt_ids");
    tqc_json_begin_array(&g->j);
    for (int i = 0; i < n; i++) tqc_json_int(&g->j, prompt[i]);
    tqc_json_end_array(&g->j);
    tqc_json_key(&g->j, "steps");
    tqc_json_begin_array(&g->j);
}

/* The text of token id (after prev), or NULL; *own: free it. */
static char *piece(const tqc_dec_tok *t, int prev, int id) {
    if (!t) return NULL;
    char *s = NULL;
    if (t->spm) {
        int len = 0;
        const char *p = tq_spm_decode(t->spm, prev, id, &len);
        if (p && (s = malloc((size_t)len + 1))) { memcpy(s, p, (size_t)len); s[len] = 0; }
        return s;
    }
    int32_t v = id;
    size_t len = 0;
    tq_error e = {0};
    if (tq_tok_decode(t->tok, &v, 1, &s, &len, &e) != TQ_OK) { free(s); return NULL; }
    return s;
}

int tqc_gen_json_step(void *ctx, int pos, int chosen, const float *logits, int vocab) {
    tqc_gen_json *g = ctx;
    int top[5], nt = 0;
    for (int i = 0; i < vocab; i++) {   /* insertion into the five largest; the lower id first on ties */
        int k = nt < 5 ? nt++ : 5;
        if (k == 5 && !(logits[i] > logits[top[4]])) continue;
        if (k == 5) k = 4;
        while (k > 0 && logits[i] > logits[top[k - 1]]) { top[k] = top[k - 1]; k--; }
        top[k] = i;
    }
    tqc_json_begin_object(&g->j);
    tqc_json_kint(&g->j, "pos", pos);
    tqc_json_kint(&g->j, "id", chosen);
    char *s = piece(g->tok, g->prev, chosen);
    tqc_json_kstr(&g->j, "piece", s);
    free(s);
    tqc_json_key(&g->j, "top5");
    tqc_json_begin_array(&g->j);
    for (int k = 0; k < nt; k++) {
        tqc_json_begin_object(&g->j);
        tqc_json_kint(&g->j, "id", top[k]);
        tqc_json_knum(&g->j, "logit", logits[top[k]]);
        tqc_json_end_object(&g->j);
    }
    tqc_json_end_array(&g->j);
    tqc_json_end_object(&g->j);
    g->prev = g->last = chosen;
    return 0;
}

void tqc_gen_json_end(tqc_gen_json *g, int generated, int steps, int last_is_stop) {
    tqc_json_end_array(&g->j);
    tqc_json_kint(&g->j, "generated", generated);
    tqc_json_key(&g->j, "stop");
    tqc_json_begin_object(&g->j);
    tqc_json_kstr(&g->j, "reason", last_is_stop ? "eos" : generated >= steps ? "max_tokens" : "context");
    if (last_is_stop) tqc_json_kint(&g->j, "id", g->last);
    else tqc_json_kstr(&g->j, "id", NULL);
    tqc_json_end_object(&g->j);
    tqc_json_end_object(&g->j);
}
