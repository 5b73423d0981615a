/*
 * fuzz_qlayout.c — the foreign quantized-layout recognisers (src/io/qlayout*.c:
 * GPTQ, AWQ, compressed-tensors, bitsandbytes ...) and their decode-only
 * codecs on hostile input. An input is config.json's text, a NUL byte, then
 * a safetensors file (no NUL: the config is empty and the whole input is the
 * file). The file is parsed (tq_safetensors_parse), the config's
 * quantization object taken as tq_qlayout_config_load does, and
 * tq_qlayout_claim_file run over it. A claimed tensor must be complete:
 * codes and side tensors inside the input, with the sizes its codec's layout
 * gives, its bytes counted once; it is then decoded (tq_dequantize, and one
 * row range with tq_dequantize_rows, which must give the same values). A
 * failure must carry a status and, from the claim, name the file. Any crash,
 * leak or sanitizer report is a bug.
 * Seeds: fuzz/corpus/qlayout/ (tests/gen/gen_qlayout_corpus.py: one file
 * per layout and variant, written from the layouts of
 * docs/formats/quantized-layouts.md).
 */
#include "io/qlayout.h"
#include "io/safetensors.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const cJSON *quant_object(const cJSON *j) {
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "quantization_config");
    if (!q) q = cJSON_GetObjectItemCaseSensitive(j, "quantization");
    if (!q && cJSON_GetObjectItemCaseSensitive(j, "quant_method")) q = j;   /* quantize_config.json */
    return cJSON_IsObject(q) ? q : NULL;
}

static void check_tensor(const tq_tensor *t, const uint8_t *base, size_t size) {
    tq_dtype cd;
    int64_t cs[2];
    tq_aux_desc ad[TQ_MAX_AUX];
    int64_t rows = t->shape[0], cols = t->shape[1];
    int na = tq_qparams_layout(&t->q, rows, cols, &cd, cs, ad);
    if (!t->quantized || t->ndim != 2 || na != t->n_aux || cd != t->dtype || t->numel != rows * cols) abort();
    if ((const uint8_t *)t->data < base || (const uint8_t *)t->data + t->nbytes > base + size) abort();
    uint64_t aux = 0;
    for (int a = 0; a < na; a++) {
        uint64_t n = tq_nbytes(ad[a].dtype, ad[a].ndim, ad[a].shape);
        if ((const uint8_t *)t->aux[a] < base || (const uint8_t *)t->aux[a] + n > base + size) abort();
        aux += n;
    }
    if (aux > t->aux_bytes || t->nbytes + t->aux_bytes > size) abort();
    if (rows < 1 || cols < 1 || rows * cols > (1 << 16)) return;   /* decode small tensors only */
    float *out = malloc(sizeof(float) * (size_t)(rows * cols)), *part = malloc(sizeof(float) * (size_t)cols);
    tq_error err;
    if (out && part) {
        tq_status st = tq_dequantize(&t->q, rows, cols, t->data, t->aux, out, &err);
        if (st != TQ_OK && (!err.msg[0] || err.status == TQ_OK)) abort();
        if (st == TQ_OK) {
            int64_t r = rows / 2;
            if (tq_dequantize_rows(&t->q, rows, cols, r, r + 1, t->data, t->aux, part, &err) != TQ_OK) abort();
            if (memcmp(part, out + r * cols, sizeof(float) * (size_t)cols)) abort();
        }
    }
    free(out);
    free(part);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t cl = nul ? (size_t)(nul - data) : 0, off = nul ? cl + 1 : 0;
    cJSON *conf = cl ? cJSON_ParseWithLength((const char *)data, cl) : NULL;
    uint8_t *copy = malloc(size - off ? size - off : 1);   /* private: ASan sees reads past it */
    if (!copy) { cJSON_Delete(conf); return 0; }
    memcpy(copy, data + off, size - off);
    tq_container c;
    tq_error err;
    if (tq_safetensors_parse(copy, size - off, "fuzz.safetensors", &c, &err) == TQ_OK) {
        c.map.path = strdup("fuzz.safetensors");
        uint8_t *consumed = calloc((size_t)c.n + 1, 1);
        tq_tensor *t = calloc((size_t)c.n + 1, sizeof *t);
        int64_t n = 0;
        tq_qlayout_pool pool = {0};
        if (consumed && t && c.map.path) {
            tq_qlayout_ctx cx = {&c, 0, consumed, quant_object(conf), t, &n, &pool};
            tq_status st = tq_qlayout_claim_file(&cx, &err);
            if (st == TQ_OK) {
                if (n > c.n) abort();
                for (int64_t i = 0; i < n; i++) check_tensor(&t[i], copy, size - off);
            } else if (!err.msg[0] || !strstr(err.msg, "fuzz.safetensors")) {
                abort();   /* every refusal names the file */
            }
        }
        tq_qlayout_pool_free(&pool);
        free(t);
        free(consumed);
    }
    tq_container_free(&c);
    free(copy);
    cJSON_Delete(conf);
    return 0;
}
