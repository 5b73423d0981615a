/*
 * fuzz_wordpiece.c — the WordPiece tokenizer on hostile input. The first
 * byte picks the mode:
 *   0: the rest is "VOCAB\0TEXT": a vocab.txt image (written to a temporary
 *      file, as the reader takes paths) and a text encoded with it;
 *   1: the rest is "TOKENIZER_JSON\0TEXT": a tokenizer.json alone in a
 *      temporary directory;
 *   2/3: the rest is "A\0B" (3: B is a pair text) encoded with a fixed
 *      vocabulary, at the max_len given by the second byte.
 * Every path must end in TQ_OK or a clean error: no crash, no leak.
 */
#include "trueq.h"
#include "trueq_nn.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char FIXED[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nquick\n##s\n##ing\na\n##a\nb\n!\n,\n"
                            "caf\xc3\xa9\ncafe\n\xe6\x88\x91\n##\xe7\x88\xb1\nun\n##aff\n##able\n";

static char *dup_z(const uint8_t *p, size_t n) {
    char *s = malloc(n + 1);
    if (s) { memcpy(s, p, n); s[n] = 0; }
    return s;
}

static int write_all(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}

/* Encode a (and b) a few ways; the results must be self-consistent. */
static void exercise(const tq_wordpiece *t, const char *a, const char *b, int max_len) {
    tq_error err;
    tq_wp_encoding e;
    if (tq_wp_encode(t, a, b, max_len, &e, &err) == TQ_OK) {
        if (e.n < 2 || (max_len > 0 && e.n > max_len)) abort();
        for (int i = 0; i < e.n; i++)
            if (e.ids[i] < 0 || e.ids[i] >= tq_wp_vocab_size(t) || !tq_wp_token(t, e.ids[i])) abort();
        tq_wp_encoding_free(&e);
    }
    if (tq_wp_encode(t, a, NULL, 0, &e, &err) == TQ_OK) tq_wp_encoding_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    int mode = data[0] & 3;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    const uint8_t *z = memchr(p, 0, n);
    size_t first = z ? (size_t)(z - p) : n;
    char *text = z ? dup_z(z + 1, n - first - 1) : dup_z((const uint8_t *)"", 0);
    if (!text) return 0;
    tq_error err;
    char dir[] = "/tmp/fuzz_wp_XXXXXX";
    if (!mkdtemp(dir)) { free(text); return 0; }
    char path[64];
    tq_wordpiece *t = NULL;
    if (mode == 0) {
        snprintf(path, sizeof path, "%s/vocab.txt", dir);
        if (write_all(path, p, first) == 0) t = tq_wp_open_vocab(path, NULL, &err);
        if (t) exercise(t, text, NULL, 0);
    } else if (mode == 1) {
        snprintf(path, sizeof path, "%s/tokenizer.json", dir);
        if (write_all(path, p, first) == 0) t = tq_wp_open_dir(dir, &err);
        if (t) exercise(t, text, text, 0);
    } else {
        snprintf(path, sizeof path, "%s/vocab.txt", dir);
        if (write_all(path, FIXED, sizeof FIXED - 1) == 0) t = tq_wp_open_vocab(path, NULL, &err);
        char *a = dup_z(p + 1, first > 0 ? first - 1 : 0);
        if (t && a) exercise(t, a, mode == 3 ? text : NULL, first > 0 ? p[0] % 40 : 0);
        free(a);
    }
    tq_wp_free(t);
    unlink(path);
    rmdir(dir);
    free(text);
    return 0;
}
