/*
 * cmd_compare.c — `trueq compare ORIG QUANT`: output-level comparison.
 *
 * Both models run the same forward pass on the same inputs and are compared
 * like with like (the seeds compared one model's output with the other's raw
 * embeddings). Encoders (BERT, DistilBERT, RoBERTa) are handled here; Llama-style
 * decoders go to compare_decoder.c.
 */
#include "encoder_cli.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char SYNOPSIS[] =
    "ORIG QUANT [--texts FILE | --ids FILE] [--batch N] [--json]\n"
    "                     [--min-cos X] [--max-mse X] [--min-agree F] [--keep-int8]\n"
    "                     [--fp32-attention]";
static const char DESCRIPTION[] =
    "Run the same C forward pass on two BERT-family or RoBERTa encoders (e.g. a model and its\n"
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
    "(KL, top-1 agreement, perplexity): see trueq compare-decoder --help.\n";
static const char EPILOG[] =
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

static void print_json(const tqc_enc_side *A, const tqc_enc_side *B, const char *src, const tqc_enc_inputs *in,
                       const tq_enc_cmp *r, long batch, bool ok) {
    tqc_json j;
    tqc_json_init(&j, stdout, TQC_JSON_COMPACT, 9);
    tqc_json_begin_object(&j);
    tqc_json_fields(&j, "kind:s orig:s quant:s inputs:s sequences:d pairs:d tokens:l pooled_cos_mean:f pooled_cos_min:f",
                    "encoder", A->path, B->path, src, r->sequences, in->pairs, (long long)r->tokens, r->pooled_cos_mean,
                    r->pooled_cos_min);
    tqc_json_fields(&j, "pooled_worst_input:s token_cos_mean:f token_cos_min:f hidden_mse:f hidden_max_abs:f logits_mse:f "
                    "logits_max_abs:f top1_agreement:f", in->label[r->pooled_worst], r->tok_cos_mean, r->tok_cos_min,
                    r->hidden_mse, r->hidden_max_abs, r->has_logits ? r->logits_mse : NAN,
                    r->has_logits ? r->logits_max_abs : NAN, r->has_logits ? r->top1_agree : NAN);
    tqc_json_key(&j, "layers");
    tqc_json_begin_array(&j);
    for (int l = 0; l < r->n_layer_err; l++) {
        const tq_enc_layer_err *e = &r->layer_err[l];
        tqc_json_begin_object(&j);
        tqc_json_fields(&j, "layer:d cos_mean:f cos_min:f rel_err:f max_abs:f", l, e->cos_mean, e->cos_min, e->rel_err, e->max_abs);
        tqc_json_end_object(&j);
    }
    tqc_json_end_array(&j);
    tqc_json_fields(&j, "worst_growth_layer:d batch:l seq_per_s_orig:f seq_per_s_quant:f stored_bytes_orig:u stored_bytes_quant:u",
                    r->worst_growth_layer, (long long)batch, r->sec_a > 0 ? r->sequences / r->sec_a : 0,
                    r->sec_b > 0 ? r->sequences / r->sec_b : 0, (unsigned long long)A->mem.total_bytes,
                    (unsigned long long)B->mem.total_bytes);
    tqc_json_fields(&j, "memory_bytes_orig:u memory_bytes_quant:u int8_matrices_quant:d int8_attention_quant:b "
                    "thresholds_ok:b", (unsigned long long)tq_enc_weight_bytes(A->e),
                    (unsigned long long)tq_enc_weight_bytes(B->e), tq_enc_int8_matrices(B->e),
                    tq_enc_int8_attention(B->e), (int)ok);
    tqc_json_end_object(&j);
}

static void print_text(const tqc_enc_side *A, const tqc_enc_side *B, const char *src, const tqc_enc_inputs *in,
                       const tq_enc_cmp *r, long batch) {
    const tq_enc_config *c = tq_enc_config_of(A->e);
    char b1[32], b2[32];
    printf("encoder comparison (%s, %d layers, dim %d)\n", tq_enc_arch_name(c->arch),
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
    printf("  stored            orig %s, quant %s\n", tqc_fmt_bytes(A->mem.total_bytes, b1, sizeof b1),
           tqc_fmt_bytes(B->mem.total_bytes, b2, sizeof b2));
    printf("  in memory         orig %s, quant %s", tqc_fmt_bytes(tq_enc_weight_bytes(A->e), b1, sizeof b1),
           tqc_fmt_bytes(tq_enc_weight_bytes(B->e), b2, sizeof b2));
    if (tq_enc_int8_matrices(B->e))
        printf(" (%d matrices kept as int8, attention in %s)", tq_enc_int8_matrices(B->e),
               tq_enc_int8_attention(B->e) ? "int8" : "float32");
    else printf(" (weights decoded to float32; --keep-int8 holds int8 codes)");
    putchar('\n');
}

typedef struct compare_args { const char *texts, *ids; int64_t batch; double min_cos, max_mse, min_agree; tqc_enc_open_opts po; } compare_args;
static const compare_args DEFAULTS = {.batch = 8, .min_cos = -2, .max_mse = -1, .min_agree = -1, .po = {-1, -1, 0, 0}};

/* Decoders go to compare-decoder (its table decides which arguments are values). */
static const tqc_command *route(int argc, char **argv) {
    const char *orig = tqc_first_positional(&tqc_cmd_compare_decoder, argc, argv);
    return orig && tqc_is_decoder(orig) ? &tqc_cmd_compare_decoder : &tqc_cmd_compare;
}

static int run(const tqc_ctx *cx, void *va) {
    const compare_args *P = va;
    const char *cmd = cx->cmd, *texts = P->texts, *ids = P->ids;
    const long batch = (long)P->batch;
    const double min_cos = P->min_cos, max_mse = P->max_mse, min_agree = P->min_agree;
    const tqc_enc_open_opts po = P->po;
    const bool json = cx->json;
    if (texts && ids) return tqc_usage_error(cmd, "give --texts or --ids, not both");

    tqc_enc_side A = {.path = cx->pos[0]}, B = {.path = cx->pos[1]};
    tqc_enc_inputs in = {0};
    tq_enc_cmp r = {0};
    int rc = tqc_enc_side_open(&A, cmd, ids == NULL, NULL, &po);
    if (!rc) rc = tqc_enc_side_open(&B, cmd, false, tq_model_dir(A.m), &po);
    if (rc) goto out;
    const tq_enc_config *c = tq_enc_config_of(A.e);
    int max_len = tqc_enc_max_len(A.e, A.tok), lb = tqc_enc_max_len(B.e, NULL);
    if (lb < max_len) max_len = lb;
    const char *src = "built-in";
    if (ids) { rc = tqc_enc_inputs_from_ids_file(&in, cmd, ids, c->vocab_size, max_len); src = ids; }
    else if (texts) { rc = tqc_enc_inputs_from_text_file(&in, cmd, A.tok, texts, max_len); src = texts; }
    else {
        const char *aa[N_SINGLES + N_PAIRS], *bb[N_SINGLES + N_PAIRS];
        for (int i = 0; i < N_SINGLES; i++) { aa[i] = SINGLES[i]; bb[i] = NULL; }
        for (int i = 0; i < N_PAIRS; i++) { aa[N_SINGLES + i] = PREMISES[i]; bb[N_SINGLES + i] = HYPOTHESES[i]; }
        rc = tqc_enc_inputs_from_texts(&in, cmd, A.tok, aa, bb, N_SINGLES + N_PAIRS, max_len);
    }
    if (rc) goto out;
    tq_error err = {0};
    if (tq_enc_compare(A.e, B.e, in.seqs, in.n, (int)batch, &r, &err)) { rc = tqc_fail(cmd, &err); goto out; }
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
    if (bad_cos || bad_mse || bad_agree) rc = TQC_EXIT_THRESHOLD;
out:
    tq_enc_cmp_free(&r);
    tqc_enc_release(&in, &A, &B);
    return rc;
}

static const tqc_opt OPTS[] = {
    TQC_O_STR("--texts", NULL, compare_args, texts, "FILE",
              "one input per line; a TAB separates a sentence pair\n(default: a built-in varied set of sentences and pairs)"),
    TQC_ENC_OPT_IDS(compare_args, ids),
    TQC_ENC_OPT_BATCH(compare_args, batch),
    TQC_O_THREADS,
    TQC_O_F64("--min-cos", NULL, compare_args, min_cos, "X", -1, 1, "exit 3 when the worst sentence-embedding cosine is below X"),
    TQC_O_F64("--max-mse", NULL, compare_args, max_mse, "X", 0, INFINITY, "exit 3 when the token-state MSE exceeds X"),
    TQC_O_F64("--min-agree", NULL, compare_args, min_agree, "F", 0, 1, "exit 3 when top-1 label agreement is below F"),
    TQC_ENC_OPT_KEEP_INT8(compare_args, po.keep_int8),
    TQC_ENC_OPT_FP32_ATTN(compare_args, po.int8_attention),
};

const tqc_command tqc_cmd_compare = {.name = "compare", .summary = "run original and quantized through the same forward pass; compare outputs",
    .synopsis = SYNOPSIS, .description = DESCRIPTION, .epilog = EPILOG, TQC_OPTS(OPTS), .has_json = true,
    .min_pos = 2, .max_pos = 2, .pos_names = "ORIG QUANT", TQC_ARGS(compare_args, &DEFAULTS), .run = run, .route = route};
