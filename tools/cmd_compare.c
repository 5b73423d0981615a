/*
 * cmd_compare.c — `trueq compare ORIG QUANT`: output-level comparison.
 *
 * Both models run the same forward pass on the same inputs and are compared
 * like with like (the seeds compared one model's output with the other's raw
 * embeddings). Encoders (BERT, DistilBERT) are handled here; Llama-style
 * decoders go to compare_decoder.c.
 */
#include "encoder_cli.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
    "usage: trueq compare ORIG QUANT [--texts FILE | --ids FILE] [--batch N] [--json]\n"
    "                     [--min-cos X] [--max-mse X] [--min-agree F] [--keep-int8]\n"
    "\n"
    "Run the same C forward pass on two BERT-family encoders (e.g. a model and its\n"
    "quantized copy) over the same inputs and compare like with like:\n"
    "  sentence embeddings   cosine, mean and worst (with the input)\n"
    "  token states          cosine of every real token's last hidden state,\n"
    "                        MSE and max |difference|\n"
    "  logits                MSE, max |difference| and top-1 label agreement\n"
    "                        (models with a classification head)\n"
    "  error by layer        cosine and relative error of every layer's output,\n"
    "                        and the layer where the error grows the most\n"
    "  speed                 sequences/s of each side (batched forward passes)\n"
    "For Llama-style decoders the comparison is of next-token distributions\n"
    "(KL, top-1 agreement, perplexity): see trueq compare-decoder --help.\n"
    "\n"
    "  --texts FILE   one input per line; a TAB separates a sentence pair\n"
    "                 (default: a built-in varied set of sentences and pairs)\n"
    "  --ids FILE     pre-tokenised inputs: token ids per line, specials included,\n"
    "                 '|' before the second segment; no tokenizer is involved\n"
    "  --batch N      sequences per forward pass (default 8)\n"
    "  --json         one JSON object on stdout\n"
    "  --min-cos X    exit 3 when the worst sentence-embedding cosine is below X\n"
    "  --max-mse X    exit 3 when the token-state MSE exceeds X\n"
    "  --min-agree F  exit 3 when top-1 label agreement is below F (0..1)\n"
    "  --keep-int8    hold int8 (linear-sym 8-bit) matrices as int8 in memory on both\n"
    "                 sides (same outputs; the report shows the bytes held)\n"
    "\n"
    "QUANT may lack config.json and the vocabulary: ORIG's are used.\n"
    "example (the seeds' criterion, done right):\n"
    "  trueq compare model/ model-int8/ --min-cos 0.99 --max-mse 1e-3\n";

/* A varied built-in set: short and long sentences, accents, numbers,
 * punctuation, and MNLI-style premise/hypothesis pairs. */
static const char *const SINGLES[] = {
    "A man is eating food.",
    "The quick brown fox jumps over the lazy dog.",
    "Quantization stores each weight in fewer bits and keeps a scale beside them.",
    "She didn't know whether the 3:45 train to Zürich would leave on time.",
    "Café au lait, crème brûlée and a naïve façade.",
    "Is this the real life? Is this just fantasy?",
    "In 1969, Apollo 11 landed on the Moon; Neil Armstrong stepped out first.",
    "Prices rose 4.5% in March, the fastest pace since 2008.",
    ("The children played in the park until the sun went down behind the hills, then walked home slowly, "
     "talking about the kite that had been stuck in the old oak tree for most of the afternoon."),
    "Error: file not found (code 404).",
    "I love this movie!",
    "This was the worst meal I have ever had.",
};
static const char *const PREMISES[] = {
    "A man is playing a guitar on stage.",
    "The cat sat on the mat all afternoon.",
    "Two women are walking their dogs along the beach.",
    "The company reported record profits this quarter.",
    "A child is reading a book in the library.",
    "The restaurant was closed because of the storm.",
};
static const char *const HYPOTHESES[] = {
    "A man is performing music.",
    "The cat was running in the garden.",
    "People are outside with animals.",
    "The company lost money this quarter.",
    "Nobody is reading.",
    "The storm forced the restaurant to close.",
};
#define N_SINGLES (int)(sizeof SINGLES / sizeof SINGLES[0])
#define N_PAIRS   (int)(sizeof PREMISES / sizeof PREMISES[0])

/* The first argument that is not an option or an option's value. */
static const char *first_positional(int argc, char **argv) {
    static const char *const VALUED[] = {"--texts", "--ids", "--batch", "--min-cos", "--max-mse", "--min-agree",
                                         "--text", "-p", "--prompt", "--config", "--tokenizer", "--max-kl"};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) return i + 1 < argc ? argv[i + 1] : NULL;
        if (argv[i][0] != '-' || !argv[i][1]) return argv[i];
        for (size_t k = 0; k < sizeof VALUED / sizeof VALUED[0]; k++)
            if (!strcmp(argv[i], VALUED[k])) { i++; break; }
    }
    return NULL;
}

/* ,"key":number (null when not finite) */
static void jnum(const char *key, double v) {
    printf(",\"%s\":", key);
    tq_json_num(stdout, v);
}

static void print_json(const enc_side *A, const enc_side *B, const char *src, const enc_inputs *in,
                       const tq_enc_cmp *r, long batch, bool ok) {
    printf("{\"kind\":\"encoder\",\"orig\":");
    tq_json_str(stdout, A->path);
    printf(",\"quant\":");
    tq_json_str(stdout, B->path);
    printf(",\"inputs\":");
    tq_json_str(stdout, src);
    printf(",\"sequences\":%d,\"pairs\":%d,\"tokens\":%lld", r->sequences, in->pairs, (long long)r->tokens);
    jnum("pooled_cos_mean", r->pooled_cos_mean);
    jnum("pooled_cos_min", r->pooled_cos_min);
    printf(",\"pooled_worst_input\":");
    tq_json_str(stdout, in->label[r->pooled_worst]);
    jnum("token_cos_mean", r->tok_cos_mean);
    jnum("token_cos_min", r->tok_cos_min);
    jnum("hidden_mse", r->hidden_mse);
    jnum("hidden_max_abs", r->hidden_max_abs);
    jnum("logits_mse", r->has_logits ? r->logits_mse : NAN);
    jnum("logits_max_abs", r->has_logits ? r->logits_max_abs : NAN);
    jnum("top1_agreement", r->has_logits ? r->top1_agree : NAN);
    printf(",\"layers\":[");
    for (int l = 0; l < r->n_layer_err; l++) {
        const tq_enc_layer_err *e = &r->layer_err[l];
        printf("%s{\"layer\":%d", l ? "," : "", l);
        jnum("cos_mean", e->cos_mean);
        jnum("cos_min", e->cos_min);
        jnum("rel_err", e->rel_err);
        jnum("max_abs", e->max_abs);
        putchar('}');
    }
    printf("],\"worst_growth_layer\":%d,\"batch\":%ld", r->worst_growth_layer, batch);
    jnum("seq_per_s_orig", r->sec_a > 0 ? r->sequences / r->sec_a : 0);
    jnum("seq_per_s_quant", r->sec_b > 0 ? r->sequences / r->sec_b : 0);
    printf(",\"stored_bytes_orig\":%llu,\"stored_bytes_quant\":%llu", (unsigned long long)A->mem.total_bytes,
           (unsigned long long)B->mem.total_bytes);
    printf(",\"memory_bytes_orig\":%llu,\"memory_bytes_quant\":%llu,\"int8_matrices_quant\":%d",
           (unsigned long long)tq_enc_weight_bytes(A->e), (unsigned long long)tq_enc_weight_bytes(B->e),
           tq_enc_int8_matrices(B->e));
    printf(",\"thresholds_ok\":%s}\n", ok ? "true" : "false");
}

static void print_text(const enc_side *A, const enc_side *B, const char *src, const enc_inputs *in,
                       const tq_enc_cmp *r, long batch) {
    const tq_enc_config *c = tq_enc_config_of(A->e);
    char b1[32], b2[32];
    printf("encoder comparison (%s, %d layers, dim %d)\n", c->arch == TQ_ENC_BERT ? "BERT" : "DistilBERT",
           c->n_layers, c->dim);
    printf("  orig              %s\n  quant             %s\n", A->path, B->path);
    printf("  inputs            %s: %d sequences (%d pairs), %lld tokens\n", src, r->sequences, in->pairs,
           (long long)r->tokens);
    printf("  sentence emb.     cosine mean %.6f, worst %.6f (\"%.60s\")\n", r->pooled_cos_mean, r->pooled_cos_min,
           in->label[r->pooled_worst]);
    printf("  token states      cosine mean %.6f, worst %.6f; MSE %.4g, max |diff| %.4g\n", r->tok_cos_mean,
           r->tok_cos_min, r->hidden_mse, r->hidden_max_abs);
    if (r->has_logits && isnan(r->top1_agree))
        printf("  logits            MSE %.4g, max |diff| %.4g (one output: no label to agree on)\n", r->logits_mse,
               r->logits_max_abs);
    else if (r->has_logits)
        printf("  logits            MSE %.4g, max |diff| %.4g; top-1 agreement %.2f%% (%lld of %d)\n", r->logits_mse,
               r->logits_max_abs, 100.0 * r->top1_agree, (long long)llround(r->top1_agree * r->sequences),
               r->sequences);
    else
        printf("  logits            (no classification head on both sides)\n");
    printf("  error by layer    layer   cos mean   cos worst   rel. error   max |diff|\n");
    for (int l = 0; l < r->n_layer_err; l++) {
        const tq_enc_layer_err *e = &r->layer_err[l];
        char name[16];
        if (l) snprintf(name, sizeof name, "%d", l); else snprintf(name, sizeof name, "emb");
        printf("                    %-5s %10.6f  %10.6f   %10.4g   %10.4g%s\n", name, e->cos_mean, e->cos_min,
               e->rel_err, e->max_abs, l && l == r->worst_growth_layer ? "   <- largest growth" : "");
    }
    printf("  speed             orig %.1f seq/s, quant %.1f seq/s (batch %ld, C forward pass)\n",
           r->sec_a > 0 ? r->sequences / r->sec_a : 0, r->sec_b > 0 ? r->sequences / r->sec_b : 0, batch);
    printf("  stored            orig %s, quant %s\n", tq_fmt_bytes(A->mem.total_bytes, b1, sizeof b1),
           tq_fmt_bytes(B->mem.total_bytes, b2, sizeof b2));
    printf("  in memory         orig %s, quant %s", tq_fmt_bytes(tq_enc_weight_bytes(A->e), b1, sizeof b1),
           tq_fmt_bytes(tq_enc_weight_bytes(B->e), b2, sizeof b2));
    if (tq_enc_int8_matrices(B->e)) printf(" (%d matrices kept as int8)", tq_enc_int8_matrices(B->e));
    else printf(" (weights decoded to float32; --keep-int8 holds int8 codes)");
    putchar('\n');
}

int cmd_compare(int argc, char **argv) {
    const char *cmd = "compare";
    const char *orig = first_positional(argc, argv);
    if (orig && compare_decoder_applies(orig)) return compare_decoder_main(argc, argv);
    const char *texts = NULL, *ids = NULL, *batch_s = NULL, *min_cos_s = NULL, *max_mse_s = NULL, *min_agree_s = NULL;
    bool json = false;
    enc_open_opts po = {-1, -1, 0};
    tq_args a;
    tq_args_init(&a, argc, argv);
    while (tq_args_next(&a)) {
        if (tq_args_flag(&a, "--help") || tq_args_flag(&a, "-h")) { fputs(USAGE, stdout); return TQ_EXIT_OK; }
        else if (tq_args_flag(&a, "--json")) json = true;
        else if (tq_args_flag(&a, "--keep-int8")) po.keep_int8 = 1;
        else if (tq_args_value(&a, NULL, "--texts", &texts)) {}
        else if (tq_args_value(&a, NULL, "--ids", &ids)) {}
        else if (tq_args_value(&a, NULL, "--batch", &batch_s)) {}
        else if (tq_args_value(&a, NULL, "--min-cos", &min_cos_s)) {}
        else if (tq_args_value(&a, NULL, "--max-mse", &max_mse_s)) {}
        else if (tq_args_value(&a, NULL, "--min-agree", &min_agree_s)) {}
        else if (!tq_args_positional(&a)) return tq_args_unknown(&a, cmd);
    }
    if (a.error) return TQ_EXIT_USAGE;
    if (a.npos != 2) return tq_cli_usage_error(cmd, "expected ORIG and QUANT, got %d arguments", a.npos);
    if (texts && ids) return tq_cli_usage_error(cmd, "give --texts or --ids, not both");
    long batch = 8;
    double min_cos = -2, max_mse = -1, min_agree = -1;
    if (batch_s && !tq_parse_long(batch_s, 1, 4096, &batch))
        return tq_cli_usage_error(cmd, "--batch must be an integer in [1, 4096], got \"%s\"", batch_s);
    if (min_cos_s && !tq_parse_double(min_cos_s, -1, 1, &min_cos))
        return tq_cli_usage_error(cmd, "--min-cos must be a number in [-1, 1], got \"%s\"", min_cos_s);
    if (max_mse_s && !tq_parse_double(max_mse_s, 0, 1e300, &max_mse))
        return tq_cli_usage_error(cmd, "--max-mse must be a number >= 0, got \"%s\"", max_mse_s);
    if (min_agree_s && !tq_parse_double(min_agree_s, 0, 1, &min_agree))
        return tq_cli_usage_error(cmd, "--min-agree must be a fraction in [0, 1], got \"%s\"", min_agree_s);

    enc_side A = {.path = a.pos[0]}, B = {.path = a.pos[1]};
    enc_inputs in = {0};
    tq_enc_cmp r = {0};
    int rc = enc_side_open(&A, cmd, ids == NULL, NULL, &po);
    if (!rc) rc = enc_side_open(&B, cmd, false, tq_model_dir(A.m), &po);
    if (rc) goto out;
    const tq_enc_config *c = tq_enc_config_of(A.e);
    int max_len = enc_max_len(A.e, A.tok), lb = enc_max_len(B.e, NULL);
    if (lb < max_len) max_len = lb;
    const char *src = "built-in";
    if (ids) { rc = enc_inputs_from_ids_file(&in, cmd, ids, c->vocab_size, max_len); src = ids; }
    else if (texts) { rc = enc_inputs_from_text_file(&in, cmd, A.tok, texts, max_len); src = texts; }
    else {
        const char *aa[N_SINGLES + N_PAIRS], *bb[N_SINGLES + N_PAIRS];
        for (int i = 0; i < N_SINGLES; i++) { aa[i] = SINGLES[i]; bb[i] = NULL; }
        for (int i = 0; i < N_PAIRS; i++) { aa[N_SINGLES + i] = PREMISES[i]; bb[N_SINGLES + i] = HYPOTHESES[i]; }
        rc = enc_inputs_from_texts(&in, cmd, A.tok, aa, bb, N_SINGLES + N_PAIRS, max_len);
    }
    if (rc) goto out;
    tq_error err = {0};
    if (tq_enc_compare(A.e, B.e, in.seqs, in.n, (int)batch, &r, &err)) { rc = tq_cli_fail(cmd, &err); goto out; }
    bool bad_cos = min_cos > -2 && !(r.pooled_cos_min >= min_cos);
    bool bad_mse = max_mse >= 0 && !(r.hidden_mse <= max_mse);
    bool bad_agree = min_agree >= 0 && (!r.has_logits || !(r.top1_agree >= min_agree));
    bool finite = isfinite(r.pooled_cos_min) && isfinite(r.tok_cos_min) && isfinite(r.hidden_mse) &&
                  (!r.has_logits || isfinite(r.logits_mse));
    if (json) print_json(&A, &B, src, &in, &r, batch, !(bad_cos || bad_mse || bad_agree));
    else print_text(&A, &B, src, &in, &r, batch);
    if (bad_cos) fprintf(stderr, "trueq %s: worst sentence-embedding cosine %.6f is below --min-cos %g\n", cmd, r.pooled_cos_min, min_cos);
    if (bad_mse) fprintf(stderr, "trueq %s: token-state MSE %.6g exceeds --max-mse %g\n", cmd, r.hidden_mse, max_mse);
    if (!finite)
        fprintf(stderr, "trueq %s: warning: some outputs are not finite (NaN or infinite): the models overflow on "
                "these inputs; the figures involved are null in --json\n", cmd);
    if (bad_agree) {
        if (!r.has_logits) fprintf(stderr, "trueq %s: --min-agree needs a classification head on both models\n", cmd);
        else if (isnan(r.top1_agree))
            fprintf(stderr, "trueq %s: --min-agree needs a head with two labels or more (this one has one output)\n", cmd);
        else fprintf(stderr, "trueq %s: top-1 agreement %.4f is below --min-agree %g\n", cmd, r.top1_agree, min_agree);
    }
    if (bad_cos || bad_mse || bad_agree) rc = TQ_EXIT_THRESHOLD;
out:
    tq_enc_cmp_free(&r);
    enc_inputs_free(&in);
    enc_side_free(&A);
    enc_side_free(&B);
    return rc;
}
