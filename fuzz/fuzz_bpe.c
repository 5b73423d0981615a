/*
 * fuzz_bpe.c — the byte-level BPE tokenizer on hostile input. The first
 * byte picks the mode:
 *   0: the rest is "TOKENIZER_JSON\0TEXT": a tokenizer.json from memory and a
 *      text encoded (with and without specials) and decoded with it;
 *   1: the rest is a text for a fixed tokenizer holding all 256 byte
 *      characters (built with tq_bpe_from_arrays; the second byte picks the
 *      llama.cpp pre name): decode(encode(text)) must give the text back
 *      exactly whenever it is valid UTF-8;
 *   2: the rest is "VOCAB_JSON\0MERGES_TXT\0TEXT", written to a temporary
 *      directory and opened through the tq_tok row.
 * Every path must end in TQ_OK or a clean error: no crash, no leak, ids
 * always tokens of the vocabulary.
 */
#include "nn/tok/bpe.h"
#include "trueq_nn.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void exercise(const tq_bpe *t, const char *text, size_t n, int must_round_trip) {
    tq_error err;
    for (int sp = 0; sp < 2; sp++) {
        int32_t *ids = NULL;
        int k = 0;
        if (tq_bpe_encode(t, text, n, sp, &ids, &k, &err) != TQ_OK) {
            if (must_round_trip && tq_bpe_utf8_bad(text, n) < 0) abort();
            continue;
        }
        for (int i = 0; i < k; i++)
            if (!tq_bpe_token(t, ids[i])) abort();
        char *back = NULL;
        size_t bl = 0;
        if (tq_bpe_decode(t, ids, k, 0, &back, &bl, &err) != TQ_OK) abort();
        if (tq_bpe_utf8_bad(back, bl) >= 0) abort(); /* decode always gives valid UTF-8 */
        if (must_round_trip && !sp && (bl != n || memcmp(back, text, n))) abort();
        free(back);
        free(ids);
    }
}

static const char *const PRE[] = {"gpt-2", "llama-bpe", "qwen2", "smollm"};

static tq_bpe *fixed(const char *pre) {
    static char bytes[256][4];
    const char *tok[256 + 5];
    int32_t types[256 + 5];
    int n = 0;
    for (int b = 0; b < 256; b++) {
        uint32_t c = tq_bpe_byte_char((uint8_t)b);
        if (c < 0x80) bytes[b][0] = (char)c;
        else { bytes[b][0] = (char)(0xC0 | (c >> 6)); bytes[b][1] = (char)(0x80 | (c & 0x3F)); }
        types[n] = 1;
        tok[n++] = bytes[b];
    }
    static const char *const extra[] = {"\xc4\xa0t", "he", "\xc4\xa0the", "<|endoftext|>", "12"};
    static const char *const merges[] = {"\xc4\xa0 t", "h e", "\xc4\xa0t he", "1 2"};
    for (int i = 0; i < 5; i++) { types[n] = i == 3 ? 3 : 1; tok[n++] = extra[i]; }
    tq_bpe_arrays a = {n, tok, NULL, types, 4, merges, NULL, 259, 259, -1, -1, 1, 1, pre};
    tq_error err;
    return tq_bpe_from_arrays(&a, "fixed", &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    int mode = data[0] % 3;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    tq_error err;
    if (mode == 1) {
        tq_bpe *t = fixed(PRE[(uint8_t)p[0] % 4]);
        if (!t) abort();
        exercise(t, p + 1, n - 1, 1);
        tq_bpe_free(t);
        return 0;
    }
    const char *z = memchr(p, 0, n);
    size_t first = z ? (size_t)(z - p) : n;
    if (mode == 0) {
        tq_bpe *t = tq_bpe_from_json(p, first, "fuzz.json", &err);
        if (t) exercise(t, z ? z + 1 : "", z ? n - first - 1 : 0, 0);
        tq_bpe_free(t);
        return 0;
    }
    const char *z2 = z ? memchr(z + 1, 0, n - first - 1) : NULL;
    size_t second = z2 ? (size_t)(z2 - z - 1) : z ? n - first - 1 : 0;
    char dir[] = "/tmp/fuzz_bpe_XXXXXX", vj[64], mt[64];
    if (!mkdtemp(dir)) return 0;
    snprintf(vj, sizeof vj, "%s/vocab.json", dir);
    snprintf(mt, sizeof mt, "%s/merges.txt", dir);
    if (!tq_write_file_atomic(vj, p, first, &err) && !tq_write_file_atomic(mt, z ? z + 1 : "", second, &err)) {
        tq_tok *t = tq_tok_open_dir(dir, &err);
        if (t) {
            const char *text = z2 ? z2 + 1 : "";
            size_t tl = z2 ? n - (size_t)(z2 + 1 - p) : 0;
            int32_t *ids = NULL;
            int k = 0;
            if (tq_tok_encode(t, text, tl, 1, &ids, &k, &err) == TQ_OK) {
                char *back = NULL;
                if (tq_tok_decode(t, ids, k, &back, NULL, &err) != TQ_OK) abort();
                free(back);
                free(ids);
            }
            tq_tok_free(t);
        }
    }
    unlink(vj);
    unlink(mt);
    rmdir(dir);
    return 0;
}
