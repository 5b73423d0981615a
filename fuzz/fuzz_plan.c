/*
 * fuzz_plan.c — the model-list loader of `trueq batch` (tools/plan_file.c,
 * tqc_plan_file_parse over libyaml; docs/batch.md) on hostile YAML. An
 * accepted list must hold at least one model, each with a name, a model path
 * and an output directory, at most TQC_PF_MAX_OPTS options, each a row of
 * tqc_pf_keys with a value and a line inside the text; a refusal must name
 * the file (or run out of memory). Any crash, leak or sanitizer report is a
 * bug. Seeds: fuzz/corpus/plan/ (docs/batch.md's examples and one of each
 * refusal).
 */
#include "plan_file.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int known_key(const char *k) {
    for (const tqc_pf_key *r = tqc_pf_keys; r->key; r++) if (r->key == k) return 1;   /* the row's own string */
    return 0;
}

/* What an accepted list must hold; lines: an upper bound on its line numbers. */
static void check_list(const tqc_plan_file *pf, int lines) {
    if (pf->n < 1 || !pf->models) abort();
    for (int i = 0; i < pf->n; i++) {
        const tqc_pf_model *m = &pf->models[i];
        if (!m->name || !m->model || !m->output || m->n_opt < 0 || m->n_opt > TQC_PF_MAX_OPTS) abort();
        if (m->line < 1 || m->line > lines) abort();
        for (int k = 0; k < m->n_opt; k++)
            if (!known_key(m->opt[k].key) || !m->opt[k].value || m->opt[k].line < 1 || m->opt[k].line > lines) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size ? size : 1);   /* exact size: ASan sees over-reads */
    if (!text) return 0;
    if (size) memcpy(text, data, size);
    else text[0] = 0;   /* never read (len 0); keeps -Wmaybe-uninitialized quiet */
    tqc_plan_file pf;
    char msg[1024] = "";
    if (tqc_plan_file_parse(text, size, "fuzz.yaml", &pf, msg, sizeof msg) == 0) {
        check_list(&pf, (int)(size < 1000000 ? size : 1000000) + 1);   /* a line count cannot pass the bytes */
        tqc_plan_file_free(&pf);
    } else if (!strstr(msg, "fuzz.yaml") && !strstr(msg, "out of memory")) {
        abort();   /* a refusal names the file */
    }
    free(text);
    return 0;
}
