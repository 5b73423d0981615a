/* cmd_tokenize.c — `trueq tokenize MODEL TEXT...`: the ids and pieces a model's tokenizer gives. */
#include "cli.h"
#include "cli_json.h"
#include "core/internal.h"
#include "trueq_nn.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char SYNOPSIS[] = "MODEL TEXT... [--pair] [--no-specials] [--json]";
static const char DESCRIPTION[] =
    "The token ids and pieces trueq feeds a model for each TEXT: the tokenizer\n"
    "beside MODEL (a model directory or a weight file in one; a GGUF file: its\n"
    "own tokenizer.ggml.* vocabulary), of whichever kind it is: WordPiece\n"
    "([CLS] text [SEP]), byte-level BPE (RoBERTa: <s> text </s>; GPT-2, Llama-3,\n"
    "Qwen2, SmolLM2: what tokenizer.json's post-processor adds), sentencepiece\n"
    "(BOS first). A WordPiece encoding is cut at the tokenizer's model_max_length\n"
    "as the encoder commands cut it; other kinds are not cut.\n";
static const char EPILOG[] =
    "Output: per input a line \"# N tokens (KIND): TEXT\", a line of ids and a line\n"
    "of pieces (bytes below 0x21, 0x7f and '\\' written as \\xNN).\n"
    "example: trueq tokenize roberta-base/ \"Hello world\" --json\n"
    "         trueq tokenize bert/ \"A man eats.\" \"A man is eating.\" --pair\n";

typedef struct tok_args { int pair, no_specials; } tok_args;
static const tok_args DEFAULTS = {0, 0};

/* s[0..n) as a NUL-terminated copy, or NULL. */
static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) { memcpy(d, s, n); d[n] = 0; }
    return d;
}

/* The tokenizer of MODEL: a GGUF file's own, else the one in its directory. */
static tq_tok *open_tok(const char *model, tq_error *err) {
    struct stat st;
    size_t n = strlen(model);
    if (stat(model, &st) == 0 && !S_ISDIR(st.st_mode) && !(n > 5 && !strcmp(model + n - 5, ".gguf"))) {
        const char *slash = strrchr(model, '/');
        char *dir = slash ? dup_n(model, (size_t)(slash - model) + (slash == model)) : tq_strdup(".");
        if (!dir) { tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
        tq_tok *t = tq_tok_open_dir(dir, err);
        free(dir);
        return t;
    }
    return tq_tok_open_dir(model, err);
}

/* Encode input i: a alone or the pair (a, b); without specials the texts' ids one after the other. */
static tq_status encode(const tq_tok *t, const char *a, const char *b, int specials, tq_wp_encoding *e, tq_error *err) {
    if (specials) return tq_tok_encode_pair(t, a, b, 0, e, err);
    *e = (tq_wp_encoding){0, NULL, NULL};
    int32_t *ia = NULL, *ib = NULL;
    int na = 0, nb = 0;
    tq_status st = tq_tok_encode(t, a, strlen(a), 0, &ia, &na, err);
    if (!st && b) st = tq_tok_encode(t, b, strlen(b), 0, &ib, &nb, err);
    if (!st) {
        e->ids = malloc(sizeof(int32_t) * (size_t)(na + nb + 1));
        e->type_ids = malloc(sizeof(int32_t) * (size_t)(na + nb + 1));
        if (!e->ids || !e->type_ids) { tq_wp_encoding_free(e); st = tq_err(err, TQ_E_NOMEM, "out of memory"); }
    }
    for (int i = 0; !st && i < na + nb; i++) {
        e->ids[i] = i < na ? ia[i] : ib[i - na];
        e->type_ids[i] = i >= na;
    }
    if (!st) e->n = na + nb;
    free(ia);
    free(ib);
    return st;
}

/* A piece for the text output: unprintable bytes, spaces and '\' as \xNN. */
static void put_piece(const char *p, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x21 || c == 0x7f || c == '\\') printf("\\x%02X", c);
        else putchar(c);
    }
}

static int run(const tqc_ctx *c, void *va) {
    const tok_args *A = va;
    const char *cmd = c->cmd, *model = c->pos[0];
    int n_text = c->npos - 1;
    if (n_text < 1) return tqc_usage_error(cmd, "give at least one TEXT");
    if (A->pair && n_text % 2) return tqc_usage_error(cmd, "--pair takes the TEXT arguments two at a time (A B ...)");
    tq_error err = {0};
    tq_tok *t = open_tok(model, &err);
    if (!t) return tqc_fail(cmd, &err);
    const char *kind = tq_tok_kind_name(t);
    int step = A->pair ? 2 : 1, rc = TQC_EXIT_OK;
    tqc_json j;
    if (c->json) {
        tqc_json_init(&j, stdout, TQC_JSON_COMPACT, 9);
        tqc_json_begin_object(&j);
        tqc_json_fields(&j, "model:s tokenizer:s vocab_size:d specials:b", model, kind, tq_tok_vocab_size(t),
                        !A->no_specials);
        tqc_json_key(&j, "inputs");
        tqc_json_begin_array(&j);
    }
    for (int i = 0; i < n_text && !rc; i += step) {
        const char *a = c->pos[1 + i], *b = A->pair ? c->pos[2 + i] : NULL;
        tq_wp_encoding e;
        if (encode(t, a, b, !A->no_specials, &e, &err)) {
            tq_err_prefix(&err, err.status, "input %d", i / step + 1);
            rc = tqc_fail(cmd, &err);
            break;
        }
        if (c->json) {
            tqc_json_begin_object(&j);
            tqc_json_kstr(&j, "text", a);
            if (b) tqc_json_kstr(&j, "pair", b);
            tqc_json_key(&j, "ids");
            tqc_json_begin_array(&j);
            for (int k = 0; k < e.n; k++) tqc_json_int(&j, e.ids[k]);
            tqc_json_end_array(&j);
            if (b) {
                tqc_json_key(&j, "type_ids");
                tqc_json_begin_array(&j);
                for (int k = 0; k < e.n; k++) tqc_json_int(&j, e.type_ids[k]);
                tqc_json_end_array(&j);
            }
            tqc_json_key(&j, "pieces");
            tqc_json_begin_array(&j);
            for (int k = 0; k < e.n; k++) {
                size_t len;
                const char *p = tq_tok_piece(t, e.ids[k], &len);
                char *s = p ? dup_n(p, len) : NULL;
                tqc_json_str(&j, s);
                free(s);
            }
            tqc_json_end_array(&j);
            tqc_json_end_object(&j);
        } else {
            printf("# %d tokens (%s): %s%s%s\n", e.n, kind, a, b ? " | " : "", b ? b : "");
            for (int k = 0; k < e.n; k++) printf("%s%d", k ? " " : "", (int)e.ids[k]);
            putchar('\n');
            for (int k = 0; k < e.n; k++) {
                size_t len;
                const char *p = tq_tok_piece(t, e.ids[k], &len);
                if (k) putchar(' ');
                if (p) put_piece(p, len);
                else fputs("?", stdout);
            }
            putchar('\n');
        }
        tq_wp_encoding_free(&e);
    }
    if (c->json && !rc) {
        tqc_json_end_array(&j);
        tqc_json_end_object(&j);
    }
    tq_tok_free(t);
    return rc;
}

static const tqc_opt OPTS[] = {
    TQC_O_SET("--pair", tok_args, pair, 1, "take the TEXT arguments two at a time as sentence pairs\n"
                                           "(WordPiece: [CLS] A [SEP] B [SEP]; RoBERTa: <s> A </s></s> B </s>)"),
    TQC_O_SET("--no-specials", tok_args, no_specials, 1, "no special tokens: the text's own ids only"),
};

const tqc_command tqc_cmd_tokenize = {.name = "tokenize", .summary = "the token ids and pieces a model's tokenizer gives",
    .synopsis = SYNOPSIS, .description = DESCRIPTION, .epilog = EPILOG, TQC_OPTS(OPTS), .has_json = true,
    .min_pos = 1, .max_pos = -1, .pos_names = "MODEL and texts", TQC_ARGS(tok_args, &DEFAULTS), .run = run, .route = NULL};
