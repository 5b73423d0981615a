/*
 * compare_decoder.c — `trueq compare ORIG QUANT` for Llama-style decoders.
 *
 * Both models read the same text (teacher forcing); at every position the
 * next-token distributions are compared: KL(P_orig || P_quant), whether the
 * argmax agrees, and each model's perplexity of the text; plus the time each
 * side spent in its forward passes and the bytes each stores.
 * The encoder half of `trueq compare` (tools/cmd_compare.c) hands decoders here.
 */
#include "decoder_cli.h"
#include "core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char SYNOPSIS[] =
    "ORIG QUANT [--text FILE | --prompt P | --ids FILE] [--json]\n"
    "                     [--max-kl X] [--min-agree F] [--config FILE] [--tokenizer FILE]\n"
    "                     [--keep-int8] [--decode-weights]";
static const char DESCRIPTION[] =
    "Compare two Llama-style decoders (e.g. a model and its quantized copy) on a\n"
    "text: mean and max KL divergence KL(orig || quant) of the next-token\n"
    "distributions (nats), top-1 agreement, the perplexity of each, and the\n"
    "speed of each side's forward pass. Texts longer than the context are cut\n"
    "into windows that each start from BOS. `trueq compare` comes here when ORIG\n"
    "is a decoder. Quantized matrices are held as stored and multiplied by a\n"
    "kernel where one exists (else decoded by row tiles); --decode-weights\n"
    "decodes them to float32 at load instead.\n";

/* A TinyStories-style paragraph written for these measurements. */
static const char *DEFAULT_TEXT =
    "Once upon a time, there was a little girl named Mia. She had a red kite that she loved very much. "
    "Every day, Mia went to the park with her mom to fly the kite. One windy day, the kite flew up high "
    "and got stuck in a big tree. Mia was sad and started to cry. A kind boy named Sam saw her and said, "
    "\"Don't cry, I can help you.\" Sam climbed the tree and got the kite down. Mia smiled and said, "
    "\"Thank you, Sam! You are a good friend.\" From that day on, Mia and Sam played in the park together "
    "and flew the red kite every day. They were very happy.";

int tqc_is_decoder(const char *path) {
    tq_model *m = tq_model_open(path, NULL);
    if (!m) return 0;
    int r = tq_llama_detect(m);
    tq_model_close(m);
    return r;
}

typedef struct cmpdec_args {
    const char *text, *prompt, *ids, *config, *tokenizer;
    double max_kl, min_agree;
    bool keep_int8, decode_weights;
} cmpdec_args;
static const cmpdec_args DEFAULTS = {.max_kl = -1, .min_agree = -1};

static void print_json(const tqc_dec_side *A, const tqc_dec_side *B, const char *src, int n, const tq_llama_cmp *r, bool ok) {
    double tps_a = r->sec_a > 0 ? r->tokens_run / r->sec_a : 0, tps_b = r->sec_b > 0 ? r->tokens_run / r->sec_b : 0;
    tqc_json j;
    tqc_json_init(&j, stdout, TQC_JSON_COMPACT, 9);
    tqc_json_begin_object(&j);
    tqc_json_fields(&j, "kind:s orig:s quant:s text:s tokens:d predictions:l windows:d kl_mean:f kl_max:f top1_agreement:f",
                    "decoder", A->path, B->path, src, n, (long long)r->predictions, r->windows, r->kl_mean, r->kl_max,
                    r->top1_agree);
    tqc_json_fields(&j, "perplexity_orig:f perplexity_quant:f nll_orig:f nll_quant:f tokens_per_s_orig:f6 "
                    "tokens_per_s_quant:f6 seconds_orig:f6 seconds_quant:f6", r->ppl_a, r->ppl_b, r->nll_a, r->nll_b,
                    tps_a, tps_b, r->sec_a, r->sec_b);
    tqc_json_fields(&j, "stored_bytes_orig:u stored_bytes_quant:u params:l memory_bytes_orig:u memory_bytes_quant:u",
                    (unsigned long long)A->mem.total_bytes, (unsigned long long)B->mem.total_bytes,
                    (long long)tq_llama_param_count(A->l), (unsigned long long)tq_llama_weight_bytes(A->l),
                    (unsigned long long)tq_llama_weight_bytes(B->l));
    tqc_json_fields(&j, "int8_matrices_orig:d int8_matrices_quant:d thresholds_ok:b", tq_llama_int8_matrices(A->l),
                    tq_llama_int8_matrices(B->l), (int)ok);
    tqc_json_end_object(&j);
}

static int run(const tqc_ctx *c, void *va) {
    const cmpdec_args *P = va;
    const char *cmd = c->cmd, *text_file = P->text, *prompt = P->prompt, *ids_file = P->ids, *config = P->config,
               *tokenizer = P->tokenizer;
    const double max_kl = P->max_kl, min_agree = P->min_agree;
    const bool json = c->json;
    if ((text_file != NULL) + (prompt != NULL) + (ids_file != NULL) > 1)
        return tqc_usage_error(cmd, "give one of --text, --prompt and --ids");

    tq_error err = {0};
    int rc = TQC_EXIT_OK;
    tqc_dec_side A = {.path = c->pos[0]}, B = {.path = c->pos[1]};
    tqc_dec_tok tok = {0};
    char *text = NULL;
    int *ids = NULL, n = 0;
    tq_llama_config forced;
    if (config && tq_llama_config_read(config, &forced, &err)) return tqc_fail(cmd, &err);
    tq_llama_opts lo = {.keep_int8 = P->keep_int8, .keep_quantized = !P->decode_weights};
    if ((rc = tqc_dec_side_open(&A, cmd, config ? &forced : NULL, NULL, NULL, &lo))) goto out;
    if ((rc = tqc_dec_side_open(&B, cmd, config ? &forced : NULL, tq_llama_config_of(A.l), A.config_from, &lo))) goto out;
    const char *src = "built-in";
    const int vocab = tq_llama_config_of(A.l)->vocab_size;
    if (ids_file) {
        if ((rc = tqc_dec_read_ids(cmd, ids_file, vocab, &ids, &n))) goto out;
        src = ids_file;
    } else {
        if ((rc = tqc_dec_tok_open(&tok, cmd, tokenizer ? tokenizer : A.gguf, tq_model_dir(A.m), tq_model_dir(B.m))))
            goto out;
        size_t tlen;
        if (text_file) {
            if (tq_read_file(text_file, &text, &tlen, &err)) { rc = tqc_fail(cmd, &err); goto out; }
            src = text_file;
        } else {
            const char *t = prompt ? prompt : DEFAULT_TEXT;
            text = strdup(t);
            tlen = strlen(t);
            if (prompt) src = "--prompt";
        }
        if (!text) { rc = tqc_error(cmd, "out of memory"); goto out; }
        if (tqc_dec_tok_encode(&tok, text, tlen, 0, &ids, &n, &err)) { rc = tqc_fail(cmd, &err); goto out; }
        for (int i = 0; i < n; i++)
            if (ids[i] >= vocab) {
                fprintf(stderr, "trueq %s: the tokenizer produced id %d, beyond the model's %d tokens\n", cmd, ids[i],
                        vocab);
                rc = TQC_EXIT_FAIL;
                goto out;
            }
    }
    tq_llama_cmp r;
    if (tq_llama_compare(A.l, B.l, ids, n, TQ_SPM_BOS, &r, &err)) { rc = tqc_fail(cmd, &err); goto out; }
    double tps_a = r.sec_a > 0 ? r.tokens_run / r.sec_a : 0, tps_b = r.sec_b > 0 ? r.tokens_run / r.sec_b : 0;
    bool bad_kl = max_kl >= 0 && !(r.kl_mean <= max_kl);
    bool bad_agree = min_agree >= 0 && !(r.top1_agree >= min_agree);
    if (json) print_json(&A, &B, src, n, &r, !(bad_kl || bad_agree));
    else {
        char b1[32], b2[32];
        printf("decoder comparison\n");
        printf("  orig             %s\n  quant            %s\n", A.path, B.path);
        printf("  text             %s: %d tokens, %lld predictions in %d window%s\n", src, n,
               (long long)r.predictions, r.windows, r.windows == 1 ? "" : "s");
        printf("  KL(orig||quant)  mean %.6g nats, max %.6g nats\n", r.kl_mean, r.kl_max);
        printf("  top-1 agreement  %.2f%% (%lld of %lld)\n", 100.0 * r.top1_agree,
               (long long)llround(r.top1_agree * (double)r.predictions), (long long)r.predictions);
        printf("  perplexity       orig %.4f, quant %.4f (%+.2f%%)\n", r.ppl_a, r.ppl_b,
               100.0 * (r.ppl_b / r.ppl_a - 1.0));
        printf("  speed            orig %.0f tokens/s, quant %.0f tokens/s (forward passes)\n", tps_a, tps_b);
        printf("  stored           orig %s, quant %s\n", tqc_fmt_bytes(A.mem.total_bytes, b1, sizeof b1),
               tqc_fmt_bytes(B.mem.total_bytes, b2, sizeof b2));
        printf("  in memory        orig %s, quant %s", tqc_fmt_bytes(tq_llama_weight_bytes(A.l), b1, sizeof b1),
               tqc_fmt_bytes(tq_llama_weight_bytes(B.l), b2, sizeof b2));
        if (tq_llama_int8_matrices(B.l)) printf(" (%d matrices kept as int8)", tq_llama_int8_matrices(B.l));
        putchar('\n');
    }
    if (bad_kl) fprintf(stderr, "trueq %s: mean KL %.6g exceeds --max-kl %g\n", cmd, r.kl_mean, max_kl);
    if (bad_agree) fprintf(stderr, "trueq %s: top-1 agreement %.4f is below --min-agree %g\n", cmd, r.top1_agree, min_agree);
    if (bad_kl || bad_agree) rc = TQC_EXIT_THRESHOLD;
out:
    free(ids);
    free(text);
    tqc_dec_tok_free(&tok);
    tqc_dec_side_free(&A);
    tqc_dec_side_free(&B);
    return rc;
}

static const tqc_opt OPTS[] = {
    TQC_O_STR("--text", NULL, cmpdec_args, text, "FILE", "the text to read (default: a built-in short story)"),
    TQC_O_STR("--prompt", "-p", cmpdec_args, prompt, "P", "the text given inline"),
    TQC_O_THREADS,
    TQC_O_STR("--ids", NULL, cmpdec_args, ids, "FILE",
              "pre-tokenised text: token ids (without BOS) separated by\nspaces or newlines; no tokenizer is involved"),
    TQC_O_F64("--max-kl", NULL, cmpdec_args, max_kl, "X", 0, INFINITY, "exit 3 when the mean KL exceeds X nats"),
    TQC_O_F64("--min-agree", NULL, cmpdec_args, min_agree, "F", 0, 1, "exit 3 when the top-1 agreement is below F"),
    TQC_DEC_OPT_CONFIG(cmpdec_args, config,
                   "params.json/config.json for both models (default: beside\n"
                   "each model's weights; QUANT falls back to ORIG's)"),
    TQC_DEC_OPT_TOKENIZER(cmpdec_args, tokenizer,
                      "llama2.c tokenizer.bin or sentencepiece *.model (default:\nbeside ORIG, then QUANT)"),
    TQC_DEC_OPT_KEEP_INT8(cmpdec_args, keep_int8,
                      "multiply int8 (linear-sym 8-bit) matrices from their codes\n"
                      "instead of decoding them to float32 at load (both sides)"),
    TQC_O_FLAG("--decode-weights", NULL, cmpdec_args, decode_weights,
               "decode quantized matrices to float32 at load (both sides;\n"
               "default: held as stored codes)"),
};

const tqc_command tqc_cmd_compare_decoder = {.name = "compare-decoder", .summary = "compare two Llama-style decoders: KL, top-1 agreement, perplexity, speed",
    .synopsis = SYNOPSIS, .description = DESCRIPTION, .epilog = NULL, TQC_OPTS(OPTS), .has_json = true,
    .min_pos = 2, .max_pos = 2, .pos_names = "ORIG QUANT", TQC_ARGS(cmpdec_args, &DEFAULTS), .run = run, .route = NULL};
