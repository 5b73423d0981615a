/*
 * synth_tok.c — tokenizer files of the synthetic checkpoints: a WordPiece
 * vocab.txt (BERT's special ids, characters, common English words written for
 * trueq) and a byte-level BPE vocab.json + merges.txt (RoBERTa's special ids,
 * the 256 byte symbols, merges that build the same words).
 */
#include "synth/synth_internal.h"
#include <stdlib.h>
#include <string.h>

static const char *const WORDS[] = {
    "the", "a", "an", "and", "or", "but", "not", "no", "is", "are", "was", "were", "be", "been", "has", "have", "had",
    "do", "does", "did", "will", "would", "can", "could", "should", "may", "might", "must", "of", "to", "in", "on",
    "at", "by", "for", "with", "from", "about", "into", "over", "after", "before", "under", "between", "through",
    "i", "you", "he", "she", "it", "we", "they", "me", "him", "her", "us", "them", "my", "your", "his", "its", "our",
    "their", "this", "that", "these", "those", "there", "here", "what", "which", "who", "when", "where", "why", "how",
    "all", "some", "many", "much", "more", "most", "few", "other", "one", "two", "three", "four", "five", "first",
    "last", "new", "old", "good", "bad", "big", "small", "long", "short", "high", "low", "young", "great", "little",
    "man", "woman", "men", "women", "child", "children", "people", "person", "dog", "cat", "house", "car", "city",
    "world", "day", "night", "year", "time", "way", "water", "food", "book", "music", "game", "school", "work",
    "play", "plays", "playing", "played", "run", "runs", "running", "walk", "walks", "walking", "eat", "eats",
    "eating", "sleep", "sleeping", "sit", "sitting", "stand", "standing", "read", "reading", "write", "writing",
    "see", "sees", "saw", "look", "looking", "go", "goes", "going", "went", "come", "came", "make", "made", "take",
    "took", "give", "gave", "say", "said", "think", "know", "like", "love", "want", "need", "use", "find", "tell",
    "street", "park", "beach", "table", "guitar", "piano", "ball", "field", "red", "blue", "green", "black", "white",
    "happy", "sad", "outside", "inside", "together", "alone", "very", "also", "only", "just", "still", "never",
    "always", "often", "today", "yesterday", "tomorrow", "model", "weights", "quantization", "bits", "byte", "bytes",
    NULL};
static const char *const SUFFIXES[] = {"s", "es", "ed", "ing", "er", "est", "ly", "ion", "tion", "ment", "ness",
                                       "able", "al", "ful", "less", "ize", "ise", NULL};

static tq_status write_sb(const char *dir, const char *name, tq_sb *b, tq_error *err) {
    if (b->oom) { tq_sb_free(b); return tq_err(err, TQ_E_NOMEM, "out of memory"); }
    char *p = tq_path_join(dir, name);
    tq_status st = p ? tq_write_file_atomic(p, b->s ? b->s : "", b->len, err) : tq_err(err, TQ_E_NOMEM, "out of memory");
    free(p);
    tq_sb_free(b);
    return st;
}

tq_status tq_synth_write_wordpiece(const char *dir, int vocab, tq_error *err) {
    tq_sb b = {0};
    int n = 0;
    tq_sb_puts(&b, "[PAD]\n"); n++;
    for (int i = 0; i < 99; i++, n++) tq_sb_printf(&b, "[unused%d]\n", i);
    tq_sb_puts(&b, "[UNK]\n[CLS]\n[SEP]\n[MASK]\n"); n += 4;
    for (int c = 33; c < 127; c++, n++) { if (c >= 'A' && c <= 'Z') { tq_sb_printf(&b, "[unused%d]\n", 99 + c); continue; } tq_sb_printf(&b, "%c\n", c); }
    for (int c = 'a'; c <= 'z'; c++, n++) tq_sb_printf(&b, "##%c\n", c);
    for (int c = '0'; c <= '9'; c++, n++) tq_sb_printf(&b, "##%c\n", c);
    for (int i = 0; WORDS[i]; i++) if (WORDS[i][1]) { tq_sb_printf(&b, "%s\n", WORDS[i]); n++; }
    for (int i = 0; SUFFIXES[i]; i++, n++) tq_sb_printf(&b, "##%s\n", SUFFIXES[i]);
    for (int i = 1000; n < vocab; i++, n++) tq_sb_printf(&b, "[unused%d]\n", i);
    return write_sb(dir, "vocab.txt", &b, err);
}

tq_status tq_synth_write_text(const char *dir, const char *name, const char *text, tq_error *err) {
    char *p = tq_path_join(dir, name);
    if (!p) return tq_err(err, TQ_E_NOMEM, "out of memory");
    tq_status st = tq_write_file_atomic(p, text, strlen(text), err);
    free(p);
    return st;
}

/* GPT-2's byte -> symbol map: printable Latin-1 bytes stand for themselves,
 * the others for U+0100 upwards in byte order; the symbol as UTF-8 in out. */
static void byte_symbol(int byte, char out[3]) {
    int cp = byte, k = 0;
    if (!((byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || byte >= 174)) {
        for (int b = 0; b < byte; b++)
            if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)) k++;
        cp = 256 + k;
    }
    if (cp < 0x80) { out[0] = (char)cp; out[1] = 0; }
    else { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); out[2] = 0; }
}

/* The merged tokens so far (for dedup): at most cap. */
typedef struct toks { char **s; int n, cap; } toks;
static int toks_has(const toks *t, const char *s) {
    for (int i = 0; i < t->n; i++) if (strcmp(t->s[i], s) == 0) return 1;
    return 0;
}

tq_status tq_synth_write_bytebpe(const char *dir, int vocab, tq_error *err) {
    if (vocab < 261) return tq_err(err, TQ_E_ARG, "synth: a byte-level BPE vocabulary needs at least 261 ids (got %d)", vocab);
    tq_sb v = {0}, m = {0};
    toks t = {calloc((size_t)vocab, sizeof(char *)), 0, vocab - 261};
    if (!t.s) return tq_err(err, TQ_E_NOMEM, "out of memory");
    int id = 0;
    static const char *const SPECIAL[] = {"<s>", "<pad>", "</s>", "<unk>"};
    tq_sb_putc(&v, '{');
    for (int i = 0; i < 4; i++, id++) { tq_sb_json_str(&v, SPECIAL[i]); tq_sb_printf(&v, ": %d, ", id); }
    for (int c = 0; c < 256; c++, id++) {
        char sym[3];
        byte_symbol(c, sym);
        tq_sb_json_str(&v, sym);
        tq_sb_printf(&v, ": %d, ", id);
    }
    tq_sb_puts(&m, "#version: 0.2\n");
    /* each word, after a space (the G-dot symbol) and bare, built left to right */
    for (int pass = 0; pass < 2; pass++)
        for (int w = 0; WORDS[w] && t.n < t.cap; w++) {
            char cur[64];
            snprintf(cur, sizeof cur, "%s", pass == 0 ? "\xC4\xA0" : "");
            for (const char *p = WORDS[w]; *p && t.n < t.cap; p++) {
                char next[64];
                size_t l = strlen(cur);
                if (l == 0) { cur[0] = *p; cur[1] = 0; continue; }
                if (l + 2 > sizeof next) break;
                memcpy(next, cur, l);
                next[l] = *p;
                next[l + 1] = 0;
                if (!toks_has(&t, next)) {
                    if (!(t.s[t.n] = tq_strdup(next))) { v.oom = true; break; }
                    t.n++;
                    tq_sb_printf(&m, "%s %c\n", cur, *p);
                    tq_sb_json_str(&v, next);
                    tq_sb_printf(&v, ": %d, ", id++);
                }
                memcpy(cur, next, sizeof cur);
            }
        }
    for (int i = 0; id < vocab - 1; i++, id++) tq_sb_printf(&v, "\"<unused%d>\": %d, ", i, id);
    tq_sb_printf(&v, "\"<mask>\": %d}\n", id);
    for (int i = 0; i < t.n; i++) free(t.s[i]);
    free(t.s);
    tq_status st = write_sb(dir, "vocab.json", &v, err);
    if (st) { tq_sb_free(&m); return st; }
    return write_sb(dir, "merges.txt", &m, err);
}
