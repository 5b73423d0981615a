/* cmd_generate.c — `trueq generate MODEL`: run a Llama-style decoder on a prompt. */
#include "cli.h"
#include "trueq_llama.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *USAGE =
    "usage: trueq generate MODEL [--prompt P] [--steps N] [--temperature T] [--top-p P]\n"
    "                      [--seed S] [--config FILE] [--tokenizer FILE] [--keep-int8] [--quiet]\n"
    "\n"
    "Run a Llama-family decoder (Meta/llama2.c or Hugging Face tensor names) and\n"
    "print the prompt followed by its continuation. MODEL is a weight file or\n"
    "directory (a trueq-quantized copy runs through the same forward pass).\n"
    "\n"
    "  --prompt P       text to start from (default: nothing, i.e. BOS only)\n"
    "  --steps N        tokens to generate after the prompt (default 256); stops\n"
    "                   early at BOS/EOS or at the end of the context\n"
    "  --temperature T  0 = greedy argmax (default); > 0 samples from softmax(logits/T)\n"
    "  --top-p P        nucleus sampling cut-off in (0, 1) (default 1 = off)\n"
    "  --seed S         PRNG seed for sampling (default 1): same seed, same text\n"
    "  --config FILE    params.json or config.json (default: beside the weights)\n"
    "  --tokenizer FILE llama2.c tokenizer.bin or sentencepiece *.model (default:\n"
    "                   tokenizer.bin, tok*.bin or tokenizer.model beside the weights)\n"
    "  --keep-int8      multiply int8 (linear-sym 8-bit) matrices from their codes\n"
    "                   instead of decoding them to float32 at load\n"
    "  --quiet          no speed report on stderr\n";

typedef struct gen_ctx {
    const tq_spm *tok;
    int64_t       printed;
} gen_ctx;

/* Print a token's text; single bytes that are neither printable nor
 * whitespace are left out (a lone byte of a split UTF-8 character still
 * prints, since it is >= 0x80). */
static int on_token(void *vctx, int prev, int token) {
    gen_ctx *g = vctx;
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

int cmd_generate(int argc, char **argv) {
    const char *cmd = "generate";
    const char *prompt = NULL, *steps_s = NULL, *temp_s = NULL, *topp_s = NULL, *seed_s = NULL;
    const char *config = NULL, *tokenizer = NULL;
    bool quiet = false, keep_int8 = false;
    tq_args a;
    tq_args_init(&a, argc, argv);
    while (tq_args_next(&a)) {
        if (tq_args_flag(&a, "--help") || tq_args_flag(&a, "-h")) { fputs(USAGE, stdout); return TQ_EXIT_OK; }
        else if (tq_args_flag(&a, "--quiet") || tq_args_flag(&a, "-q")) quiet = true;
        else if (tq_args_flag(&a, "--keep-int8")) keep_int8 = true;
        else if (tq_args_value(&a, "-p", "--prompt", &prompt)) {}
        else if (tq_args_value(&a, "-n", "--steps", &steps_s)) {}
        else if (tq_args_value(&a, "-t", "--temperature", &temp_s)) {}
        else if (tq_args_value(&a, NULL, "--top-p", &topp_s)) {}
        else if (tq_args_value(&a, "-s", "--seed", &seed_s)) {}
        else if (tq_args_value(&a, NULL, "--config", &config)) {}
        else if (tq_args_value(&a, NULL, "--tokenizer", &tokenizer)) {}
        else if (!tq_args_positional(&a)) return tq_args_unknown(&a, cmd);
    }
    if (a.error) return TQ_EXIT_USAGE;
    if (a.npos != 1) return tq_cli_usage_error(cmd, "expected one MODEL, got %d arguments", a.npos);
    tq_llama_gen g = {.steps = 256, .temperature = 0.0f, .top_p = 1.0f, .seed = 1,
                      .stop_token_a = TQ_SPM_BOS, .stop_token_b = TQ_SPM_EOS};
    long lv;
    double dv;
    if (steps_s) { if (!tq_parse_long(steps_s, 0, 1L << 24, &lv)) return tq_cli_usage_error(cmd, "--steps must be an integer in [0, 16777216], got \"%s\"", steps_s); g.steps = (int)lv; }
    if (temp_s) { if (!tq_parse_double(temp_s, 0, 100, &dv)) return tq_cli_usage_error(cmd, "--temperature must be a number in [0, 100], got \"%s\"", temp_s); g.temperature = (float)dv; }
    if (topp_s) { if (!tq_parse_double(topp_s, 0, 1, &dv) || dv == 0) return tq_cli_usage_error(cmd, "--top-p must be in (0, 1], got \"%s\"", topp_s); g.top_p = (float)dv; }
    if (seed_s) {
        char *end;
        errno = 0;
        unsigned long long sv = strtoull(seed_s, &end, 10);
        if (errno || end == seed_s || *end || seed_s[0] == '-') return tq_cli_usage_error(cmd, "--seed must be a non-negative integer, got \"%s\"", seed_s);
        g.seed = sv;
    }

    tq_error err = {0};
    int rc = TQ_EXIT_OK;
    tq_model *m = tq_model_open(a.pos[0], &err);
    tq_llama *l = NULL;
    tq_spm *tok = NULL;
    int *ids = NULL, n = 0;
    if (!m) return tq_cli_fail(cmd, &err);
    tq_llama_config cfg;
    if (config && tq_llama_config_read(config, &cfg, &err)) { rc = tq_cli_fail(cmd, &err); goto out; }
    struct timespec ts0, ts1, ts2;
    clock_gettime(CLOCK_MONOTONIC, &ts0);
    tq_llama_opts lo = {.keep_int8 = keep_int8};
    l = tq_llama_open_ex(m, config ? &cfg : NULL, &lo, &err);
    if (!l) { rc = tq_cli_fail(cmd, &err); goto out; }
    tok = tokenizer ? tq_spm_open(tokenizer, &err) : tq_spm_open_dir(tq_model_dir(m), &err);
    if (!tok) { rc = tq_cli_fail(cmd, &err); goto out; }
    if (tq_spm_count(tok) > tq_llama_config_of(l)->vocab_size) {
        fprintf(stderr, "trueq generate: the tokenizer has %d pieces but the model only %d tokens\n",
                tq_spm_count(tok), tq_llama_config_of(l)->vocab_size);
        rc = TQ_EXIT_FAIL;
        goto out;
    }
    if (tq_spm_encode(tok, prompt ? prompt : "", prompt ? strlen(prompt) : 0, 1, 0, &ids, &n, &err)) {
        rc = tq_cli_fail(cmd, &err);
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts1);
    gen_ctx gc = {tok, 0};
    int produced = 0;
    if (tq_llama_generate(l, ids, n, &g, on_token, &gc, &produced, &err)) {
        fputc('\n', stdout);
        rc = tq_cli_fail(cmd, &err);
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts2);
    fputc('\n', stdout);
    fflush(stdout);
    if (!quiet) {
        double load = (double)(ts1.tv_sec - ts0.tv_sec) + (ts1.tv_nsec - ts0.tv_nsec) * 1e-9;
        double run = (double)(ts2.tv_sec - ts1.tv_sec) + (ts2.tv_nsec - ts1.tv_nsec) * 1e-9;
        int positions = n - 1 + produced;
        char wb[32];
        fprintf(stderr, "trueq generate: %d prompt + %d generated tokens; load %.3f s; %.1f tokens/s; weights in memory %s",
                n, produced, load, run > 0 ? positions / run : 0.0, tq_fmt_bytes(tq_llama_weight_bytes(l), wb, sizeof wb));
        if (tq_llama_int8_matrices(l)) fprintf(stderr, " (%d matrices as int8)", tq_llama_int8_matrices(l));
        fputc('\n', stderr);
    }
out:
    free(ids);
    tq_spm_free(tok);
    tq_llama_free(l);
    tq_model_close(m);
    return rc;
}
