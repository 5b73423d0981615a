/* cmd_generate.c — `trueq generate MODEL`: run a Llama-style decoder on a prompt. */
#include "decoder_cli.h"
#include "generate_json.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char SYNOPSIS[] =
    "MODEL [--prompt P | --ids FILE] [--steps N] [--temperature T] [--top-p P]\n"
    "                      [--seed S] [--config FILE] [--tokenizer FILE] [--decode-weights] [--quiet]\n"
    "                      [--verbose] [--json]";
static const char DESCRIPTION[] =
    "Run a Llama-family decoder (Meta/llama2.c, Hugging Face or llama.cpp GGUF\n"
    "tensor names) and print the prompt followed by its continuation. MODEL is a\n"
    "weight file or directory (a trueq-quantized copy runs through the same\n"
    "forward pass); a GGUF file brings its configuration and tokenizer. With\n"
    "--ids the prompt is token ids and the output is ids: the prompt's, then the\n"
    "generated ones, on one line (no tokenizer is involved). Generation stops at\n"
    "the tokenizer's BOS/EOS and at every eos_token_id of generation_config.json\n"
    "(else config.json). --json prints, instead of the text, the prompt ids and\n"
    "each step's chosen id, its text piece and the top-5 (id, logit), then the\n"
    "stop reason (eos with its id, max_tokens or context).\n"
    "Quantized matrices are held as stored (codes and scales, fused Phi-3\n"
    "tensors split into row views) and multiplied by a kernel where one exists\n"
    "for their codec, else decoded by row tiles; --decode-weights decodes them\n"
    "to float32 at load instead (more memory; --verbose says which ran).\n";

typedef struct gen_ctx {
    const tq_spm *tok;     /* sentencepiece: print each piece           */
    const tq_tok *tt;      /* another kind: print the decoded sequence as it grows */
    int          *seq;     /* tt: every id so far (cap n_prompt + steps + 1) */
    int           n_seq;
    size_t        shown;   /* tt: bytes of the decoded text printed     */
    int64_t       printed;
    bool          json;    /* --json: the steps are written by generate_json.c */
} gen_ctx;                 /* neither: print ids                        */

/* tt: decode the sequence so far and print what is new, holding back a
 * text that ends in U+FFFD (a character whose bytes are still coming)
 * unless final. */
static void show_decoded(gen_ctx *g, int final) {
    int32_t *v = malloc(sizeof(int32_t) * (size_t)(g->n_seq > 0 ? g->n_seq : 1));
    char *text = NULL;
    size_t len = 0;
    tq_error e = {0};
    if (v) {
        for (int i = 0; i < g->n_seq; i++) v[i] = g->seq[i];
        if (tq_tok_decode(g->tt, v, g->n_seq, &text, &len, &e) == TQ_OK && len > g->shown &&
            (final || len < 3 || memcmp(text + len - 3, "\xEF\xBF\xBD", 3) != 0)) {
            fwrite(text + g->shown, 1, len - g->shown, stdout);
            fflush(stdout);
            g->shown = len;
        }
    }
    free(text);
    free(v);
}

/* Print a token's text; single bytes that are neither printable nor
 * whitespace are left out (a lone byte of a split UTF-8 character still
 * prints, since it is >= 0x80). */
static int on_token(void *vctx, int prev, int token) {
    gen_ctx *g = vctx;
    if (g->json) return 0;
    if (g->tt) {
        g->seq[g->n_seq++] = token;
        show_decoded(g, 0);
        g->printed++;
        return 0;
    }
    if (!g->tok) {
        printf(" %d", token);
        fflush(stdout);
        g->printed++;
        return 0;
    }
    if (token == TQ_SPM_BOS || token == TQ_SPM_EOS) return 0;
    int len;
    const char *p = tq_spm_decode(g->tok, prev, token, &len);
    if (!p) return 0;
    if (len == 1) {
        unsigned char ch = (unsigned char)p[0];
        if (ch < 0x80 && !isprint(ch) && !isspace(ch)) return 0;
    }
    fwrite(p, 1, (size_t)len, stdout);
    fflush(stdout);
    g->printed++;
    return 0;
}

typedef struct generate_args {
    const char *prompt, *ids, *config, *tokenizer;
    int64_t steps;
    double temperature, top_p;
    uint64_t seed;
    bool keep_int8, keep_quantized, decode_weights, quiet, verbose;
} generate_args;
static const generate_args DEFAULTS = {.steps = 256, .temperature = 0, .top_p = 1, .seed = 1};

static int run(const tqc_ctx *c, void *va) {
    const generate_args *P = va;
    const char *cmd = c->cmd, *prompt = P->prompt, *config = P->config;
    tq_llama_gen g = {.steps = (int)P->steps, .temperature = (float)P->temperature, .top_p = (float)P->top_p,
                      .seed = P->seed, .stop_token_a = TQ_SPM_BOS, .stop_token_b = TQ_SPM_EOS};
    tq_error err = {0};
    int rc = TQC_EXIT_OK;
    tqc_dec_side S = {.path = c->pos[0]};
    tqc_dec_tok tok = {0};
    int *ids = NULL, *seq = NULL, n = 0;
    tq_llama_config cfg;
    if (prompt && P->ids) return tqc_usage_error(cmd, "give --prompt or --ids, not both");
    if (config && tq_llama_config_read(config, &cfg, &err)) return tqc_fail(cmd, &err);
    struct timespec ts0, ts1, ts2;
    clock_gettime(CLOCK_MONOTONIC, &ts0);
    if (P->decode_weights && P->keep_quantized) return tqc_usage_error(cmd, "give --decode-weights or --keep-quantized, not both");
    tq_llama_opts lo = {.keep_int8 = P->keep_int8, .keep_quantized = !P->decode_weights};
    if ((rc = tqc_dec_side_open(&S, cmd, config ? &cfg : NULL, NULL, NULL, &lo))) goto out;
    tq_llama *l = S.l;
    if (P->verbose) {   /* how the products will run */
        char first[64];
        int decoded = 0, kern = tq_llama_kept_matrices(l, &decoded, first, sizeof first);
        fprintf(stderr, "trueq generate: %d matrices kept as stored codes: %d multiplied by a kernel (%s), %d decoded "
                "by row tiles%s%s%s\n", kern + decoded, kern, tq_kernels_info(), decoded,
                decoded ? " (no kernel for " : "", decoded ? first : "", decoded ? ")" : "");
        if (P->decode_weights) fprintf(stderr, "trueq generate: --decode-weights: quantized matrices decoded to float32\n");
    }
    const tq_llama_config *lc = tq_llama_config_of(l);
    g.stop_ids = lc->eos_ids;   /* generation_config.json's EOS ids */
    g.n_stop_ids = lc->n_eos;
    if (P->ids) {   /* ids in, ids out: no tokenizer */
        if ((rc = tqc_dec_read_ids(cmd, P->ids, tq_llama_config_of(l)->vocab_size, &ids, &n))) goto out;
        if (!c->json) printf("%d", ids[0]);
    } else {
        if ((rc = tqc_dec_tok_open(&tok, cmd, P->tokenizer ? P->tokenizer : S.gguf, tq_model_dir(S.m), NULL))) goto out;
        if (tqc_dec_tok_count(&tok) > tq_llama_config_of(l)->vocab_size) {
            fprintf(stderr, "trueq generate: the tokenizer has %d pieces but the model only %d tokens\n",
                    tqc_dec_tok_count(&tok), tq_llama_config_of(l)->vocab_size);
            rc = TQC_EXIT_FAIL;
            goto out;
        }
        if (tqc_dec_tok_encode(&tok, prompt ? prompt : "", prompt ? strlen(prompt) : 0, 1, &ids, &n, &err)) {
            rc = tqc_fail(cmd, &err);
            goto out;
        }
        if (tok.tok) {   /* the stop ids are the tokenizer's own */
            g.stop_token_a = tqc_dec_tok_special(&tok, TQ_TOK_BOS);
            g.stop_token_b = tqc_dec_tok_special(&tok, TQ_TOK_EOS);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &ts1);
    gen_ctx gc = {.tok = tok.spm, .tt = tok.tok, .json = c->json};
    tqc_gen_json gj;
    if (c->json) {
        tqc_gen_json_begin(&gj, stdout, S.path, ids, n, &tok);
        g.step_fn = tqc_gen_json_step;
        g.step_ctx = &gj;
    }
    if (gc.tt && n > 0) {
        if (!(gc.seq = seq = malloc(sizeof(int) * ((size_t)n + (size_t)P->steps + 1)))) {
            rc = tqc_error(cmd, "out of memory");
            goto out;
        }
        gc.seq[gc.n_seq++] = ids[0];
    }
    int produced = 0;
    if (tq_llama_generate(l, ids, n, &g, on_token, &gc, &produced, &err)) {
        if (!c->json) fputc('\n', stdout);
        rc = tqc_fail(cmd, &err);
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts2);
    if (c->json) {
        int last_stop = gj.last >= 0 && (gj.last == g.stop_token_a || gj.last == g.stop_token_b);
        for (int i = 0; i < g.n_stop_ids && gj.last >= 0; i++) last_stop |= gj.last == g.stop_ids[i];
        tqc_gen_json_end(&gj, produced, g.steps, last_stop);
    } else {
        if (gc.tt) show_decoded(&gc, 1);
        fputc('\n', stdout);
    }
    fflush(stdout);
    if (!P->quiet) {
        double load = (double)(ts1.tv_sec - ts0.tv_sec) + (ts1.tv_nsec - ts0.tv_nsec) * 1e-9;
        double run_s = (double)(ts2.tv_sec - ts1.tv_sec) + (ts2.tv_nsec - ts1.tv_nsec) * 1e-9;
        int positions = n - 1 + produced;
        char wb[32];
        fprintf(stderr, "trueq generate: %d prompt + %d generated tokens; load %.3f s; %.1f tokens/s; weights in memory %s",
                n, produced, load, run_s > 0 ? positions / run_s : 0.0, tqc_fmt_bytes(tq_llama_weight_bytes(l), wb, sizeof wb));
        if (tq_llama_int8_matrices(l))
            fprintf(stderr, " (%d matrices as int8; %s)", tq_llama_int8_matrices(l), tq_kernels_info());
        fputc('\n', stderr);
    }
out:
    free(ids);
    free(seq);
    tqc_dec_tok_free(&tok);
    tqc_dec_side_free(&S);
    return rc;
}

static const tqc_opt OPTS[] = {
    TQC_O_STR("--prompt", "-p", generate_args, prompt, "P", "text to start from (default: nothing, i.e. BOS only)"),
    TQC_O_THREADS,
    TQC_O_STR("--ids", NULL, generate_args, ids, "FILE",
              "the prompt as token ids (BOS included when wanted) separated\n"
              "by spaces or newlines; the output is then ids too"),
    TQC_O_INT("--steps", "-n", generate_args, steps, "N", 0, 1 << 24,
              "tokens to generate after the prompt (default 256); stops\n"
              "early at BOS/EOS or at the end of the context"),
    TQC_O_F64("--temperature", "-t", generate_args, temperature, "T", 0, 100,
              "0 = greedy argmax (default); > 0 samples from softmax(logits/T)"),
    TQC_O_F64("--top-p", NULL, generate_args, top_p, "P", 1e-9, 1, "nucleus sampling cut-off (default 1 = off)"),
    TQC_O_UINT("--seed", "-s", generate_args, seed, "S", "PRNG seed for sampling (default 1): same seed, same text"),
    TQC_DEC_OPT_CONFIG(generate_args, config, "params.json, config.json or a GGUF file (default: a GGUF\nMODEL's own metadata, else beside the weights)"),
    TQC_DEC_OPT_TOKENIZER(generate_args, tokenizer,
                      "llama2.c tokenizer.bin, sentencepiece *.model or a GGUF file\n"
                      "(default: a GGUF MODEL's own, else tokenizer.bin, tok*.bin or\n"
                      "tokenizer.model beside the weights)"),
    TQC_DEC_OPT_KEEP_INT8(generate_args, keep_int8,
                      "multiply int8 (linear-sym 8-bit) matrices from their codes\n"
                      "instead of decoding them to float32 at load"),
    TQC_O_FLAG("--keep-quantized", NULL, generate_args, keep_quantized,
               "hold every quantized matrix as stored (the default; ggml\n"
               "Q8_0/Q4_0 and int8 run the kernels over their codes, other codes\n"
               "are decoded by row tiles)"),
    TQC_O_FLAG("--decode-weights", NULL, generate_args, decode_weights,
               "decode quantized matrices to float32 at load (more memory)"),
    TQC_O_FLAG("--quiet", "-q", generate_args, quiet, "no speed report on stderr"),
    TQC_O_FLAG("--verbose", "-v", generate_args, verbose,
               "say how the products run: matrices kept as stored, with a\n"
               "kernel or decoded by row tiles (and why)"),
};

const tqc_command tqc_cmd_generate = {.name = "generate", .summary = "continue a prompt with a Llama-style decoder (greedy or sampled)",
    .synopsis = SYNOPSIS, .description = DESCRIPTION, .epilog = NULL, TQC_OPTS(OPTS), .has_json = true,
    .min_pos = 1, .max_pos = 1, .pos_names = "one MODEL", TQC_ARGS(generate_args, &DEFAULTS), .run = run, .route = NULL};
