/* cmd_classify.c — `trueq classify MODEL PREMISE [HYPOTHESIS]`: a sequence-classification head's verdict. */
#include "encoder_cli.h"
#include <math.h>
#include <stdlib.h>

static const char SYNOPSIS[] =
    "MODEL PREMISE [HYPOTHESIS] [--ids FILE] [--keep-int8] [--json]";
static const char DESCRIPTION[] =
    "Run a Bert-, DistilBert- or RobertaForSequenceClassification checkpoint\n"
    "(original or trueq-quantized) on one text or a sentence pair (e.g. MNLI\n"
    "premise and hypothesis: [CLS] premise [SEP] hypothesis [SEP]; RoBERTa:\n"
    "<s> premise </s></s> hypothesis </s>) and\n"
    "print the predicted label and the probability of every label (softmax of\n"
    "the logits; names from config.json's id2label). A multi-label head\n"
    "(problem_type multi_label_classification) gets a sigmoid per label and lists\n"
    "the labels above 0.5; a one-output head (regression, cross-encoders) prints\n"
    "its score. With --ids every line of FILE is classified.\n";
static const char EPILOG[] =
    "example: trueq classify mnli/ \"A man is playing a guitar.\" \"A man plays music.\"\n";

typedef struct classify_args { const char *ids; tqc_enc_open_opts po; } classify_args;
static const classify_args DEFAULTS = {.po = {-1, -1, 0, 0}};

static int run(const tqc_ctx *cx, void *va) {
    const classify_args *A = va;
    const char *cmd = cx->cmd, *ids = A->ids;
    const bool json = cx->json;
    const tqc_enc_open_opts po = A->po;
    if (ids ? cx->npos != 1 : (cx->npos < 2 || cx->npos > 3))
        return tqc_usage_error(cmd, ids ? "with --ids, give only MODEL" : "expected MODEL PREMISE [HYPOTHESIS]");

    tqc_enc_side S = {.path = cx->pos[0]};
    tqc_enc_inputs in = {0};
    float *logits = NULL;
    const char *hyp = cx->npos == 3 ? cx->pos[2] : NULL;
    int rc = tqc_enc_open_one(&S, &in, cmd, &po, ids, NULL, &cx->pos[1], hyp ? &hyp : NULL, 1);
    if (rc) goto out;
    const tq_enc_config *c = tq_enc_config_of(S.e);
    if (!tq_enc_has_head(S.e)) {
        rc = tqc_error(cmd, "%s has no sequence-classification head (classifier.weight; for DistilBERT also "
                       "pre_classifier.weight; for RoBERTa classifier.dense and classifier.out_proj); for sentence embeddings use trueq embed", S.path);
        goto out;
    }
    const int nl = c->n_labels;
    logits = malloc((size_t)in.n * nl * sizeof *logits);
    if (!logits) { rc = tqc_error(cmd, "out of memory"); goto out; }
    tq_error err = {0};
    if (tq_enc_run(S.e, in.seqs, in.n, 8, NULL, logits, NULL, NULL, &err)) { rc = tqc_fail(cmd, &err); goto out; }
    tqc_json j;
    tqc_json_init(&j, stdout, TQC_JSON_COMPACT, 9);
    if (json) {
        tqc_json_begin_object(&j);
        tqc_json_kstr(&j, "model", S.path);
        tqc_json_key(&j, "results");
        tqc_json_begin_array(&j);
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
            tqc_json_begin_object(&j);
            tqc_json_fields(&j, "input:s tokens:d activation:s", in.label[i], in.seqs[i].n, mode == 0 ? "softmax" : "sigmoid");
            if (mode == 2) tqc_json_knum(&j, "score", lg[0]);
            if (mode == 1) {
                tqc_json_key(&j, "labels_on");
                tqc_json_begin_array(&j);
                for (int k = 0; k < nl; k++)
                    if (p[k] > 0.5) tqc_json_str(&j, c->labels[k]);
                tqc_json_end_array(&j);
            }
            tqc_json_fields(&j, "label:s label_id:d", c->labels[best], best);
            tqc_json_key(&j, "labels");
            tqc_json_begin_array(&j);
            for (int k = 0; k < nl; k++) {
                tqc_json_begin_object(&j);
                tqc_json_fields(&j, "label:s logit:f probability:f", c->labels[k], (double)lg[k], p[k]);
                tqc_json_end_object(&j);
            }
            tqc_json_end_array(&j);
            tqc_json_end_object(&j);
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
    if (json) { tqc_json_end_array(&j); tqc_json_end_object(&j); }
out:
    free(logits);
    tqc_enc_release(&in, &S, NULL);
    return rc;
}

static const tqc_opt OPTS[] = {
    TQC_ENC_OPT_IDS(classify_args, ids),
    TQC_ENC_OPT_KEEP_INT8(classify_args, po.keep_int8),
    TQC_O_THREADS,
};

const tqc_command tqc_cmd_classify = {.name = "classify", .summary = "label and probabilities from a sequence-classification head",
    .synopsis = SYNOPSIS, .description = DESCRIPTION, .epilog = EPILOG, TQC_OPTS(OPTS), .has_json = true,
    .min_pos = 1, .max_pos = 3, .pos_names = "MODEL PREMISE [HYPOTHESIS]", TQC_ARGS(classify_args, &DEFAULTS), .run = run, .route = NULL};
