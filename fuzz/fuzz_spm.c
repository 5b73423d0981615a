/*
 * fuzz_spm.c — the sentencepiece-style tokenizer readers on hostile input:
 * llama2.c tokenizer.bin images and sentencepiece .model protobufs. A parsed
 * tokenizer then encodes and decodes a fixed text, so the tables it built are
 * exercised too. The first input byte picks the reader.
 */
#include "trueq.h"
#include "trueq_llama.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    tq_error err;
    tq_spm *t = (data[0] & 1) ? tq_spm_open_model_mem(data + 1, size - 1, "fuzz.model", &err)
                              : tq_spm_open_mem(data + 1, size - 1, "fuzz.bin", &err);
    if (!t) return 0;
    static const char text[] = "Once upon a time, \xc3\xa9t\xc3\xa9 <0x41> caf\xe2\x82\xac!";
    int *ids = NULL, n = 0;
    if (tq_spm_encode(t, text, sizeof text - 1, 1, 1, &ids, &n, &err) == TQ_OK) {
        char *out = NULL;
        size_t len = 0;
        if (tq_spm_detokenize(t, ids, n, &out, &len, &err) == TQ_OK) free(out);
    }
    free(ids);
    for (int id = 0; id < tq_spm_count(t) && id < 64; id++) { int l; (void)tq_spm_decode(t, 1, id, &l); }
    tq_spm_free(t);
    return 0;
}
