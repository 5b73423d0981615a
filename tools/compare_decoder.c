/*
 * compare_decoder.c — `trueq compare ORIG QUANT` for Llama-style decoders.
 *
 * Both models read the same text (teacher forcing); at every position the
 * next-token distributions are compared: KL(P_orig || P_quant), whether the
 * argmax agrees, and each model's perplexity of the text; plus the time each
 * side spent in its forward passes and the bytes each stores.
 * The encoder half of `trueq compare` (tools/cmd_compare.c) hands decoders here.
 */
#include "cli.h"
#include "core/internal.h"
#include "trueq_llama.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
    "usage: trueq compare ORIG QUANT [--text FILE | --prompt P | --ids FILE] [--json]\n"
    "                     [--max-kl X] [--min-agree F] [--config FILE] [--tokenizer FILE]\n"
    "                     [--keep-int8]\n"
    "\n"
    "Compare two Llama-style decoders (e.g. a model and its quantized copy) on a\n"
    "text: mean and max KL divergence KL(orig || quant) of the next-token\n"
    "distributions (nats), top-1 agreement, the perplexity of each, and the\n"
    "speed of each side's forward pass. Texts longer than the context are cut\n"
    "into windows that each start from BOS.\n"
    "\n"
    "  --text FILE      the text to read (default: a built-in short story)\n"
    "  --prompt P       the text given inline\n"
    "  --ids FILE       pre-tokenised text: token ids (without BOS) separated by\n"
    "                   spaces or newlines; no tokenizer is involved\n"
    "  --json           one JSON object on stdout\n"
    "  --max-kl X       exit 3 when the mean KL exceeds X nats\n"
    "  --min-agree F    exit 3 when the top-1 agreement is below F (0..1)\n"
    "  --config FILE    params.json/config.json for both models (default: beside\n"
    "                   each model's weights; QUANT falls back to ORIG's)\n"
    "  --tokenizer FILE llama2.c tokenizer.bin or sentencepiece *.model (default:\n"
    "                   beside ORIG, then QUANT)\n"
    "  --keep-int8      multiply int8 (linear-sym 8-bit) matrices from their codes\n"
    "                   instead of decoding them to float32 at load (both sides)\n";

/* A TinyStories-style paragraph written for these measurements. */
static const char *DEFAULT_TEXT =
    "Once upon a time, there was a little girl named Mia. She had a red kite that she loved very much. "
    "Every day, Mia went to the park with her mom to fly the kite. One windy day, the kite flew up high "
    "and got stuck in a big tree. Mia was sad and started to cry. A kind boy named Sam saw her and said, "
    "\"Don't cry, I can help you.\" Sam climbed the tree and got the kite down. Mia smiled and said, "
    "\"Thank you, Sam! You are a good friend.\" From that day on, Mia and Sam played in the park together "
    "and flew the red kite every day. They were very happy.";

typedef struct side {
    const char      *path;
    tq_model        *m;
    tq_llama        *l;
    tq_memory_report mem;
    const char      *config_from;   /* which file/dir gave the configuration */
} side;

static void side_free(side *s) {
    tq_llama_free(s->l);
    tq_model_close(s->m);
}

/* Open the model; its configuration from --config, its directory, or (for
 * the second side) the first side's. */
static int side_open(side *s, const char *cmd, const tq_llama_config *forced, const tq_llama_config *fallback,
                     const char *fallback_dir, const tq_llama_opts *lo) {
    tq_error err = {0};
    s->m = tq_model_open(s->path, &err);
    if (!s->m) return tq_cli_fail(cmd, &err);
    if (!tq_llama_detect(s->m)) {
        fprintf(stderr, "trueq %s: %s is not a Llama-style decoder (no tok_embeddings.weight or model.embed_tokens.weight)\n",
                cmd, s->path);
        return TQ_EXIT_FAIL;
    }
    tq_llama_config cfg;
    const tq_llama_config *use = forced;
    s->config_from = "--config";
    if (!use) {
        tq_status st = tq_llama_config_find(tq_model_dir(s->m), &cfg, &err);
        if (st == TQ_OK) { use = &cfg; s->config_from = tq_model_dir(s->m); }
        else if (st == TQ_E_NOTFOUND && fallback) { use = fallback; s->config_from = fallback_dir; }
        else return tq_cli_fail(cmd, &err);
    }
    tq_model_memory(s->m, &s->mem);
    s->l = tq_llama_open_ex(s->m, use, lo, &err);
    if (!s->l) return tq_cli_fail(cmd, &err);
    return TQ_EXIT_OK;
}

int compare_decoder_applies(const char *path) {
    tq_model *m = tq_model_open(path, NULL);
    if (!m) return 0;
    int r = tq_llama_detect(m);
    tq_model_close(m);
    return r;
}

/* Token ids separated by white space, each in [0, vocab). */
static int read_ids(const char *cmd, const char *path, int vocab, int **ids, int *n) {
    tq_error err = {0};
    char *buf;
    size_t len;
    if (tq_read_file(path, &buf, &len, &err)) return tq_cli_fail(cmd, &err);
    int cap = 0, rc = TQ_EXIT_OK;
    *n = 0;
    for (char *p = buf; *p && !rc;) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') { p++; continue; }
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || (*end && !strchr(" \t\r\n", *end))) {
            fprintf(stderr, "trueq %s: %s: \"%.20s\" (byte %td) is not a token id\n", cmd, path, p, p - buf);
            rc = TQ_EXIT_FAIL;
        } else if (v < 0 || v >= vocab) {
            fprintf(stderr, "trueq %s: %s: token id %ld (byte %td) is outside the vocabulary [0, %d)\n", cmd, path, v,
                    p - buf, vocab);
            rc = TQ_EXIT_FAIL;
        } else {
            if (*n == cap) {
                cap = cap ? 2 * cap : 256;
                int *ni = realloc(*ids, (size_t)cap * sizeof *ni);
                if (!ni) { fprintf(stderr, "trueq %s: out of memory\n", cmd); rc = TQ_EXIT_FAIL; break; }
                *ids = ni;
            }
            (*ids)[(*n)++] = (int)v;
        }
        p = end;
    }
    free(buf);
    if (!rc && *n == 0) {
        fprintf(stderr, "trueq %s: %s holds no token ids\n", cmd, path);
        rc = TQ_EXIT_FAIL;
    }
    return rc;
}

int compare_decoder_main(int argc, char **argv) {
    const char *cmd = "compare";
    const char *text_file = NULL, *prompt = NULL, *ids_file = NULL, *config = NULL, *tokenizer = NULL;
    const char *max_kl_s = NULL, *min_agree_s = NULL;
    bool json = false, keep_int8 = false;
    tq_args a;
    tq_args_init(&a, argc, argv);
    while (tq_args_next(&a)) {
        if (tq_args_flag(&a, "--help") || tq_args_flag(&a, "-h")) { fputs(USAGE, stdout); return TQ_EXIT_OK; }
        else if (tq_args_flag(&a, "--json")) json = true;
        else if (tq_args_flag(&a, "--keep-int8")) keep_int8 = true;
        else if (tq_args_value(&a, NULL, "--text", &text_file)) {}
        else if (tq_args_value(&a, "-p", "--prompt", &prompt)) {}
        else if (tq_args_value(&a, NULL, "--ids", &ids_file)) {}
        else if (tq_args_value(&a, NULL, "--config", &config)) {}
        else if (tq_args_value(&a, NULL, "--tokenizer", &tokenizer)) {}
        else if (tq_args_value(&a, NULL, "--max-kl", &max_kl_s)) {}
        else if (tq_args_value(&a, NULL, "--min-agree", &min_agree_s)) {}
        else if (!tq_args_positional(&a)) return tq_args_unknown(&a, cmd);
    }
    if (a.error) return TQ_EXIT_USAGE;
    if (a.npos != 2) return tq_cli_usage_error(cmd, "expected ORIG and QUANT, got %d arguments", a.npos);
    if ((text_file != NULL) + (prompt != NULL) + (ids_file != NULL) > 1)
        return tq_cli_usage_error(cmd, "give one of --text, --prompt and --ids");
    double max_kl = -1, min_agree = -1;
    if (max_kl_s && !tq_parse_double(max_kl_s, 0, 1e30, &max_kl))
        return tq_cli_usage_error(cmd, "--max-kl must be a number >= 0, got \"%s\"", max_kl_s);
    if (min_agree_s && !tq_parse_double(min_agree_s, 0, 1, &min_agree))
        return tq_cli_usage_error(cmd, "--min-agree must be a fraction in [0, 1], got \"%s\"", min_agree_s);

    tq_error err = {0};
    int rc = TQ_EXIT_OK;
    side A = {.path = a.pos[0]}, B = {.path = a.pos[1]};
    tq_spm *tok = NULL;
    char *text = NULL;
    int *ids = NULL, n = 0;
    tq_llama_config forced;
    if (config && tq_llama_config_read(config, &forced, &err)) return tq_cli_fail(cmd, &err);
    tq_llama_opts lo = {.keep_int8 = keep_int8};
    if ((rc = side_open(&A, cmd, config ? &forced : NULL, NULL, NULL, &lo))) goto out;
    if ((rc = side_open(&B, cmd, config ? &forced : NULL, tq_llama_config_of(A.l), A.config_from, &lo))) goto out;
    const char *src = "built-in";
    const int vocab = tq_llama_config_of(A.l)->vocab_size;
    if (ids_file) {
        if ((rc = read_ids(cmd, ids_file, vocab, &ids, &n))) goto out;
        src = ids_file;
    } else {
        if (tokenizer) tok = tq_spm_open(tokenizer, &err);
        else {
            tok = tq_spm_open_dir(tq_model_dir(A.m), &err);
            if (!tok && err.status == TQ_E_NOTFOUND) tok = tq_spm_open_dir(tq_model_dir(B.m), &err);
        }
        if (!tok) { rc = tq_cli_fail(cmd, &err); goto out; }
        size_t tlen;
        if (text_file) {
            if (tq_read_file(text_file, &text, &tlen, &err)) { rc = tq_cli_fail(cmd, &err); goto out; }
            src = text_file;
        } else {
            const char *t = prompt ? prompt : DEFAULT_TEXT;
            text = strdup(t);
            tlen = strlen(t);
            if (prompt) src = "--prompt";
        }
        if (!text) { fprintf(stderr, "trueq %s: out of memory\n", cmd); rc = TQ_EXIT_FAIL; goto out; }
        if (tq_spm_encode(tok, text, tlen, 0, 0, &ids, &n, &err)) { rc = tq_cli_fail(cmd, &err); goto out; }
        for (int i = 0; i < n; i++)
            if (ids[i] >= vocab) {
                fprintf(stderr, "trueq %s: the tokenizer produced id %d, beyond the model's %d tokens\n", cmd, ids[i],
                        vocab);
                rc = TQ_EXIT_FAIL;
                goto out;
            }
    }
    tq_llama_cmp r;
    if (tq_llama_compare(A.l, B.l, ids, n, TQ_SPM_BOS, &r, &err)) { rc = tq_cli_fail(cmd, &err); goto out; }
    double tps_a = r.sec_a > 0 ? r.tokens_run / r.sec_a : 0, tps_b = r.sec_b > 0 ? r.tokens_run / r.sec_b : 0;
    bool bad_kl = max_kl >= 0 && !(r.kl_mean <= max_kl);
    bool bad_agree = min_agree >= 0 && !(r.top1_agree >= min_agree);
    if (json) {
        printf("{\"kind\":\"decoder\",\"orig\":");
        tq_json_str(stdout, A.path);
        printf(",\"quant\":");
        tq_json_str(stdout, B.path);
        printf(",\"text\":");
        tq_json_str(stdout, src);
        printf(",\"tokens\":%d,\"predictions\":%lld,\"windows\":%d", n, (long long)r.predictions, r.windows);
        printf(",\"kl_mean\":%.9g,\"kl_max\":%.9g,\"top1_agreement\":%.9g", r.kl_mean, r.kl_max, r.top1_agree);
        printf(",\"perplexity_orig\":%.9g,\"perplexity_quant\":%.9g", r.ppl_a, r.ppl_b);
        printf(",\"nll_orig\":%.9g,\"nll_quant\":%.9g", r.nll_a, r.nll_b);
        printf(",\"tokens_per_s_orig\":%.6g,\"tokens_per_s_quant\":%.6g", tps_a, tps_b);
        printf(",\"seconds_orig\":%.6g,\"seconds_quant\":%.6g", r.sec_a, r.sec_b);
        printf(",\"stored_bytes_orig\":%llu,\"stored_bytes_quant\":%llu",
               (unsigned long long)A.mem.total_bytes, (unsigned long long)B.mem.total_bytes);
        printf(",\"params\":%lld", (long long)tq_llama_param_count(A.l));
        printf(",\"memory_bytes_orig\":%llu,\"memory_bytes_quant\":%llu", (unsigned long long)tq_llama_weight_bytes(A.l),
               (unsigned long long)tq_llama_weight_bytes(B.l));
        printf(",\"int8_matrices_orig\":%d,\"int8_matrices_quant\":%d", tq_llama_int8_matrices(A.l), tq_llama_int8_matrices(B.l));
        printf(",\"thresholds_ok\":%s}\n", (bad_kl || bad_agree) ? "false" : "true");
    } else {
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
        printf("  stored           orig %s, quant %s\n", tq_fmt_bytes(A.mem.total_bytes, b1, sizeof b1),
               tq_fmt_bytes(B.mem.total_bytes, b2, sizeof b2));
        printf("  in memory        orig %s, quant %s", tq_fmt_bytes(tq_llama_weight_bytes(A.l), b1, sizeof b1),
               tq_fmt_bytes(tq_llama_weight_bytes(B.l), b2, sizeof b2));
        if (tq_llama_int8_matrices(B.l)) printf(" (%d matrices kept as int8)", tq_llama_int8_matrices(B.l));
        putchar('\n');
    }
    if (bad_kl) fprintf(stderr, "trueq %s: mean KL %.6g exceeds --max-kl %g\n", cmd, r.kl_mean, max_kl);
    if (bad_agree) fprintf(stderr, "trueq %s: top-1 agreement %.4f is below --min-agree %g\n", cmd, r.top1_agree, min_agree);
    if (bad_kl || bad_agree) rc = TQ_EXIT_THRESHOLD;
out:
    free(ids);
    free(text);
    tq_spm_free(tok);
    side_free(&A);
    side_free(&B);
    return rc;
}
