/* cmd_classify.c — `trueq classify MODEL PREMISE [HYPOTHESIS]`: a sequence-classification head's verdict. */
#include "encoder_cli.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
    "usage: trueq classify MODEL PREMISE [HYPOTHESIS] [--ids FILE] [--keep-int8] [--json]\n"
    "\n"
    "Run a BertForSequenceClassification or DistilBertForSequenceClassification\n"
    "checkpoint (original or trueq-quantized) on one text or a sentence pair\n"
    "(e.g. MNLI premise and hypothesis: [CLS] premise [SEP] hypothesis [SEP]) and\n"
    "print the predicted label and the probability of every label (softmax of\n"
    "the logits; names from config.json's id2label). A multi-label head\n"
    "(problem_type multi_label_classification) gets a sigmoid per label and lists\n"
    "the labels above 0.5; a one-output head (regression, cross-encoders) prints\n"
    "its score.\n"
    "\n"
    "  --ids FILE   pre-tokenised input instead of texts: one sequence per line,\n"
    "               ids separated by spaces, specials included, '|' before the\n"
    "               second segment; every line is classified\n"
    "  --keep-int8  hold int8 (linear-sym 8-bit) matrices as int8 in memory (same result)\n"
    "  --json       one JSON object on stdout (labels, logits, probabilities)\n"
    "\n"
    "example: trueq classify mnli/ \"A man is playing a guitar.\" \"A man plays music.\"\n";

int cmd_classify(int argc, char **argv) {
    const char *cmd = "classify";
    const char *ids = NULL;
    bool json = false;
    enc_open_opts po = {-1, -1, 0};
    tq_args a;
    tq_args_init(&a, argc, argv);
    while (tq_args_next(&a)) {
        if (tq_args_flag(&a, "--help") || tq_args_flag(&a, "-h")) { fputs(USAGE, stdout); return TQ_EXIT_OK; }
        else if (tq_args_flag(&a, "--json")) json = true;
        else if (tq_args_flag(&a, "--keep-int8")) po.keep_int8 = 1;
        else if (tq_args_value(&a, NULL, "--ids", &ids)) {}
        else if (!tq_args_positional(&a)) return tq_args_unknown(&a, cmd);
    }
    if (a.error) return TQ_EXIT_USAGE;
    if (ids ? a.npos != 1 : (a.npos < 2 || a.npos > 3))
        return tq_cli_usage_error(cmd, ids ? "with --ids, give only MODEL" : "expected MODEL PREMISE [HYPOTHESIS]");

    enc_side S = {.path = a.pos[0]};
    enc_inputs in = {0};
    float *logits = NULL;
    int rc = enc_side_open(&S, cmd, ids == NULL, NULL, &po);
    if (rc) goto out;
    const tq_enc_config *c = tq_enc_config_of(S.e);
    if (!tq_enc_has_head(S.e)) {
        fprintf(stderr,
                "trueq %s: %s has no sequence-classification head (classifier.weight; for DistilBERT also "
                "pre_classifier.weight); for sentence embeddings use trueq embed\n",
                cmd, S.path);
        rc = TQ_EXIT_FAIL;
        goto out;
    }
    int max_len = enc_max_len(S.e, S.tok);
    if (ids) rc = enc_inputs_from_ids_file(&in, cmd, ids, c->vocab_size, max_len);
    else {
        const char *hyp = a.npos == 3 ? a.pos[2] : NULL;
        rc = enc_inputs_from_texts(&in, cmd, S.tok, &a.pos[1], hyp ? &hyp : NULL, 1, max_len);
    }
    if (rc) goto out;
    const int nl = c->n_labels;
    logits = malloc((size_t)in.n * nl * sizeof *logits);
    if (!logits) { fprintf(stderr, "trueq %s: out of memory\n", cmd); rc = TQ_EXIT_FAIL; goto out; }
    tq_error err = {0};
    if (tq_enc_run(S.e, in.seqs, in.n, 8, NULL, logits, NULL, NULL, &err)) { rc = tq_cli_fail(cmd, &err); goto out; }
    if (json) {
        printf("{\"model\":");
        tq_json_str(stdout, S.path);
        printf(",\"results\":[");
    }
    /* How the head's outputs become probabilities, as transformers trains them:
     * softmax over labels (single-label), a sigmoid per label (multi-label,
     * problem_type), or one output read as a score (regression / cross-encoder;
     * its sigmoid is shown too). */
    const int mode = nl == 1 ? 2 : c->multi_label ? 1 : 0;
    static const char *const MODE[] = {"softmax", "sigmoid per label (multi-label)", "one output: score"};
    for (int i = 0; i < in.n; i++) {
        const float *lg = logits + (size_t)i * nl;
        double mx = lg[0], sum = 0, p[TQ_ENC_MAX_LABELS];
        int best = 0;
        for (int k = 1; k < nl; k++) if (lg[k] > mx) { mx = lg[k]; best = k; }
        if (mode == 0) {   /* softmax in double, max subtracted first */
            for (int k = 0; k < nl; k++) sum += p[k] = exp((double)lg[k] - mx);
            for (int k = 0; k < nl; k++) p[k] /= sum;
        } else {
            for (int k = 0; k < nl; k++) p[k] = 1.0 / (1.0 + exp(-(double)lg[k]));
        }
        if (json) {
            printf("%s{\"input\":", i ? "," : "");
            tq_json_str(stdout, in.label[i]);
            printf(",\"tokens\":%d,\"activation\":\"%s\"", in.seqs[i].n, mode == 0 ? "softmax" : "sigmoid");
            if (mode == 2) {
                printf(",\"score\":");
                tq_json_num(stdout, lg[0]);
            }
            if (mode == 1) {
                printf(",\"labels_on\":[");
                for (int k = 0, n = 0; k < nl; k++)
                    if (p[k] > 0.5) {
                        if (n++) putchar(',');
                        tq_json_str(stdout, c->labels[k]);
                    }
                printf("]");
            }
            printf(",\"label\":");
            tq_json_str(stdout, c->labels[best]);
            printf(",\"label_id\":%d,\"labels\":[", best);
            for (int k = 0; k < nl; k++) {
                printf("%s{\"label\":", k ? "," : "");
                tq_json_str(stdout, c->labels[k]);
                printf(",\"logit\":");
                tq_json_num(stdout, lg[k]);
                printf(",\"probability\":");
                tq_json_num(stdout, p[k]);
                putchar('}');
            }
            printf("]}");
        } else {
            if (in.n > 1) printf("# %s\n", in.label[i]);
            if (mode == 2) printf("score %.6f (sigmoid %.6f)\n", lg[0], p[0]);
            else if (mode == 1) {
                int n = 0;
                for (int k = 0; k < nl; k++) if (p[k] > 0.5) printf("%s%s", n++ ? ", " : "", c->labels[k]);
                printf("%s (%s)\n", n ? "" : "no label above 0.5", MODE[mode]);
            } else printf("%s (%.2f%%)\n", c->labels[best], 100.0 * p[best]);
            if (mode != 2)
                for (int k = 0; k < nl; k++) printf("  %-16s p=%.6f  logit=% .6f\n", c->labels[k], p[k], lg[k]);
        }
    }
    if (json) printf("]}\n");
out:
    free(logits);
    enc_inputs_free(&in);
    enc_side_free(&S);
    return rc;
}
