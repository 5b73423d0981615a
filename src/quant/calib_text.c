/*
 * calib_text.c — the built-in calibration set and --calib FILE.
 *
 * The built-in texts are written for this project: varied registers (story,
 * news, science, code talk, recipes, questions, dialogue, lists, numbers and
 * dates, a few accents), short and long, so that every input channel of a
 * layer sees typical activations. They are deliberately not the texts
 * `trueq compare` measures with.
 */
#include "quant/calib_text.h"
#include "quant/calib_corpus.h"
#include "trueq_nn.h"
#include <stdlib.h>
#include <string.h>

static const char *const BUILTIN[] = {
    "The old lighthouse keeper climbed the spiral stairs every evening, counting each of the ninety-two steps aloud.",
    "Rain is expected to spread from the west overnight, clearing by mid-morning with highs around 14 degrees.",
    "Mitochondria convert nutrients into adenosine triphosphate, the molecule cells use to store and move energy.",
    "Can you tell me how to get to the train station from here?",
    "She opened the letter, read the first line twice, and then set it down without a word.",
    "To reset the router, hold the small button on the back for ten seconds until the light blinks orange.",
    "The committee voted 7 to 2 in favour of extending the library's opening hours on weekends.",
    "A binary search halves the interval at every step, so it needs about log2(n) comparisons.",
    "Preheat the oven to 200 C, toss the potatoes in olive oil and salt, and roast them for forty minutes.",
    "Why do cats knock things off tables?",
    "The museum's new wing houses more than three hundred paintings from the early Renaissance.",
    "He missed the last bus, so he walked home through the quiet streets, listening to the wind.",
    "Inflation rose to 3.4 percent in March, driven mostly by energy and food prices.",
    "Photosynthesis takes place in the chloroplasts, where light energy splits water into oxygen and hydrogen.",
    "Please remember to bring your passport, two photographs, and the completed application form.",
    "Our team shipped the update on Friday; the crash reports dropped by half over the weekend.",
    "The river flooded its banks after a week of storms, and several villages had to be evacuated.",
    "What is the difference between weather and climate?",
    "Compilers translate source code into machine instructions, often through several intermediate forms.",
    "My grandmother grew tomatoes, beans, and sunflowers in a tiny garden behind the bakery.",
    "The striker scored twice in the second half, sealing a 3-1 win for the visitors.",
    "A healthy adult heart beats between sixty and one hundred times a minute at rest.",
    "\"I'm not sure this is a good idea,\" Maria said, looking at the rickety bridge.",
    "The contract takes effect on 1 January 2025 and runs for an initial term of three years.",
    "Volcanoes form where tectonic plates pull apart or where one plate slides beneath another.",
    "Add two cups of flour, a pinch of salt, and enough water to make a soft dough.",
    "The spacecraft entered orbit around Mars after a journey of seven months and 480 million kilometres.",
    "Is it better to rent or to buy a house when interest rates are high?",
    "Children learn languages quickly because their brains are especially good at finding patterns in sound.",
    "The café on the corner serves the best croissants in town, according to almost everyone who lives nearby.",
    "Shares of the company fell sharply after it warned that profits would miss expectations.",
    "The function returns null if the key is missing, so callers must check the result before using it.",
    "Autumn leaves turn red and yellow as trees stop producing chlorophyll and other pigments show through.",
    "We waited two hours at the airport because the incoming flight had been delayed by fog.",
    "Vaccines train the immune system to recognise a pathogen without causing the disease itself.",
    "The orchestra tuned their instruments while the audience slowly found their seats.",
    "How many moons does Jupiter have?",
    "The bridge, completed in 1937, was for many years the longest suspension bridge in the world.",
    "Regular exercise improves sleep, mood, and concentration, even in short sessions of ten minutes.",
    "He fixed the leaking tap with a new washer and a bit of plumber's tape.",
    "The novel follows three generations of a family through war, emigration, and reconciliation.",
    "Encryption keeps data private by scrambling it with a key that only the intended reader holds.",
    "Traffic on the motorway was backed up for twelve kilometres after a lorry lost its load.",
    "Bees communicate the location of flowers to the hive through a pattern of movements called the waggle dance.",
    "I'd like a table for four at eight o'clock, please, preferably by the window.",
    "The city council approved a plan to plant ten thousand trees over the next five years.",
    "Glaciers carve deep valleys as they move, grinding rock beneath their enormous weight.",
    "Turn left at the second roundabout and the hospital will be on your right.",
    "The startup raised twelve million dollars to build batteries that charge in under five minutes.",
    "Whales sing complex songs that can travel hundreds of kilometres through the ocean.",
    "After the storm passed, the neighbours gathered to clear fallen branches from the road.",
    "A good password is long, unique, and never reused across different websites.",
    "The professor explained the theorem with a simple drawing of a triangle inside a circle.",
    "Where did you put the keys to the shed?",
    "Coffee prices climbed after a frost damaged crops in several growing regions.",
    "The hikers reached the summit at dawn, just as the clouds below began to glow pink.",
    "Sorting a list of a million numbers takes well under a second on a modern laptop.",
    "The festival features music, street food, and a parade of lanterns on the final night.",
    "Doctors recommend drinking water regularly throughout the day, especially in hot weather.",
    "The detective noticed a faint smell of smoke on the visitor's coat and said nothing.",
    "Solar panels produce less electricity in winter, when days are short and the sun sits low.",
    "Our meeting is moved to Thursday at 3:30 pm; the agenda is attached.",
    "Ancient Romans built aqueducts that carried water across valleys for dozens of kilometres.",
    "She practised the piano piece every morning until she could play it without looking at the score.",
};

tq_status tq_calib_builtin(tq_calib_texts *t, tq_error *err) {
    memset(t, 0, sizeof *t);
    const int n0 = (int)(sizeof BUILTIN / sizeof BUILTIN[0]);
    if (!(t->text = malloc(sizeof(char *) * (size_t)(n0 + tq_calib_corpus_n)))) return tq_err(err, TQ_E_NOMEM, "out of memory");
    for (int i = 0; i < n0; i++) t->text[t->n++] = (char *)BUILTIN[i];
    for (int i = 0; i < tq_calib_corpus_n; i++) t->text[t->n++] = (char *)tq_calib_corpus[i];
    t->builtin = 1;
    return TQ_OK;
}

void tq_calib_texts_free(tq_calib_texts *t) {
    if (!t) return;
    free(t->text);
    if (!t->builtin) free(t->buf);
    memset(t, 0, sizeof *t);
}

/* 1 when s[0..n) is valid UTF-8 without NUL */
static int utf8_ok(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        int k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
        if (c == 0 || k < 0 || (k == 1 && c < 0xc2) || i + (size_t)k >= n + (k ? 0 : 1)) return 0;
        for (int j = 1; j <= k; j++) if ((s[i + (size_t)j] & 0xc0) != 0x80) return 0;
        i += (size_t)k + 1;
    }
    return 1;
}

tq_status tq_calib_read(const char *path, tq_calib_texts *t, tq_error *err) {
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) return tq_err(err, TQ_E_IO, "%s: cannot open the calibration file", path);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) { char *nb = cap < ((size_t)1 << 30) ? realloc(buf, 2 * cap + 1) : NULL; if (!nb) { free(buf); buf = NULL; break; } buf = nb; cap *= 2; }
    }
    int rerr = ferror(f);
    fclose(f);
    if (!buf) return tq_err(err, TQ_E_NOMEM, "%s: out of memory (or over 1 GiB) reading the calibration file", path);
    if (rerr) { free(buf); return tq_err(err, TQ_E_IO, "%s: read error", path); }
    buf[n] = 0;
    int lines = 1;
    for (size_t i = 0; i < n; i++) lines += buf[i] == '\n';
    t->text = malloc(sizeof(char *) * (size_t)lines);
    if (!t->text) { free(buf); return tq_err(err, TQ_E_NOMEM, "%s: out of memory", path); }
    t->buf = buf;
    int lineno = 0;
    for (size_t i = 0; i <= n;) {
        size_t j = i;
        while (j < n && buf[j] != '\n') j++;
        lineno++;
        size_t e = j;
        if (e > i && buf[e - 1] == '\r') e--;
        if (!utf8_ok((const unsigned char *)buf + i, e - i)) {
            tq_calib_texts_free(t);
            return tq_err(err, TQ_E_ARG, "%s: line %d is not valid UTF-8 text (or holds a NUL byte)", path, lineno);
        }
        buf[e] = 0;
        size_t k = i;
        while (k < e && (buf[k] == ' ' || buf[k] == '\t')) k++;
        if (k < e) t->text[t->n++] = buf + i;
        i = j + 1;
    }
    if (!t->n) { tq_calib_texts_free(t); return tq_err(err, TQ_E_ARG, "%s: the calibration file holds no text (one per line)", path); }
    return TQ_OK;
}

/* ---- tokenized sequences -------------------------------------------------- */


void tq_calib_seqs_free(tq_calib_seqs *s) {
    for (int i = 0; s->enc && i < s->n; i++) tq_wp_encoding_free(&s->enc[i]);
    free(s->enc);
    free(s->seq);
    memset(s, 0, sizeof *s);
}

tq_status tq_calib_seqs_make(const tq_model *m, const char *calib_file, int max_tokens, int max_pos, tq_calib_seqs *s,
                             tq_error *err) {
    memset(s, 0, sizeof *s);
    tq_calib_texts tx;
    tq_status st = calib_file ? tq_calib_read(calib_file, &tx, err) : tq_calib_builtin(&tx, err);
    if (st) return st;
    tq_tok *tok = tq_tok_open_dir(tq_model_dir(m), err);
    if (!tok) { tq_calib_texts_free(&tx); return tq_err_prefix(err, err->status, "calibration tokenizer"); }
    int max_len = max_tokens > 0 ? max_tokens : 128;
    if (max_len > max_pos) max_len = max_pos;
    s->enc = calloc((size_t)tx.n, sizeof *s->enc);
    s->seq = calloc((size_t)tx.n, sizeof *s->seq);
    if (!s->enc || !s->seq) st = tq_err(err, TQ_E_NOMEM, "out of memory");
    for (int i = 0; i < tx.n && !st; i++) {
        const char *tab = strchr(tx.text[i], '\t');   /* a pair: first TAB second */
        char *first = tab ? strndup(tx.text[i], (size_t)(tab - tx.text[i])) : NULL;
        if (tab && !first) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); break; }
        st = tq_tok_encode_pair(tok, tab ? first : tx.text[i], tab ? tab + 1 : NULL, max_len, &s->enc[i], err);
        free(first);
        if (st) { tq_err_prefix(err, st, "calibration text %d", i + 1); break; }
        s->seq[i].n = s->enc[i].n;
        s->seq[i].ids = s->enc[i].ids;
        s->seq[i].type_ids = s->enc[i].type_ids;
        s->n++;
    }
    tq_tok_free(tok);
    tq_calib_texts_free(&tx);
    if (st) tq_calib_seqs_free(s);
    return st;
}

