/* cmd_embed.c — `trueq embed MODEL TEXT...`: sentence embeddings from a BERT/DistilBERT/RoBERTa encoder. */
#include "encoder_cli.h"
#include <stdlib.h>

static const char SYNOPSIS[] =
    "MODEL TEXT... [--texts FILE | --ids FILE] [--pooling mean|cls]\n"
    "                   [--normalize | --no-normalize] [--batch N] [--keep-int8] [--fp32-attention] [--json]";
static const char DESCRIPTION[] =
    "Sentence embeddings from a BERT-family encoder (BERT, MiniLM, bge: BertModel;\n"
    "DistilBERT; RoBERTa), original or trueq-quantized. Each text is tokenised with\n"
    "the model's tokenizer ([CLS] text [SEP]; RoBERTa <s> text </s>; truncated to the model's\n"
    "limit), run through the encoder, and pooled. The pooling and normalisation\n"
    "come from a sentence-transformers layout beside the weights (modules.json,\n"
    "1_Pooling/config.json), else mean pooling without normalisation.\n"
    "TEXT... are the texts to embed (up to 31 on the command line).\n";
static const char EPILOG[] =
    "Output: per input a line \"# N tokens: TEXT\" and a line with the vector.\n"
    "example: trueq embed model/ \"A man is eating food.\" \"A man eats.\" --json\n";

typedef struct embed_args { const char *texts, *ids; int64_t batch; tqc_enc_open_opts po; } embed_args;
static const embed_args DEFAULTS = {.batch = 8, .po = {-1, -1, 0, 0}};
static const tqc_choice POOLING[] = {{"mean", TQ_POOL_MEAN}, {"cls", TQ_POOL_CLS}, {NULL, 0}};

static int run(const tqc_ctx *c, void *va) {
    const embed_args *A = va;
    const char *cmd = c->cmd, *texts = A->texts, *ids = A->ids;
    const long batch = (long)A->batch;
    const tqc_enc_open_opts po = A->po;
    int n_text = c->npos - 1;
    if ((texts != NULL) + (ids != NULL) + (n_text > 0) != 1)
        return tqc_usage_error(cmd, "give the inputs one way: TEXT arguments, --texts FILE or --ids FILE");

    tqc_enc_side S = {.path = c->pos[0]};
    tqc_enc_inputs in = {0};
    float *vec = NULL;
    int rc = tqc_enc_open_one(&S, &in, cmd, &po, ids, texts, c->pos + 1, NULL, n_text);
    if (rc) goto out;
    const tq_enc_config *cf = tq_enc_config_of(S.e);

    vec = malloc((size_t)in.n * cf->dim * sizeof *vec);
    if (!vec) { rc = tqc_error(cmd, "out of memory"); goto out; }
    tq_error err = {0};
    if (tq_enc_run(S.e, in.seqs, in.n, (int)batch, vec, NULL, in.n > batch ? tqc_enc_progress : NULL, (void *)cmd, &err)) {
        rc = tqc_fail(cmd, &err);
        goto out;
    }
    tqc_progress_done();
    const char *pool = cf->pooling == TQ_POOL_CLS ? "cls" : "mean";
    if (c->json) {
        tqc_json j;
        tqc_json_init(&j, stdout, TQC_JSON_COMPACT, 9);
        tqc_json_begin_object(&j);
        tqc_json_fields(&j, "model:s dim:d pooling:s normalized:b", S.path, cf->dim, pool, cf->normalize);
        tqc_json_key(&j, "embeddings");
        tqc_json_begin_array(&j);
        for (int i = 0; i < in.n; i++) {
            tqc_json_begin_object(&j);
            tqc_json_fields(&j, "input:s tokens:d", in.label[i], in.seqs[i].n);
            tqc_json_key(&j, "ids");
            tqc_json_begin_array(&j);
            for (int t = 0; t < in.seqs[i].n; t++) tqc_json_int(&j, in.seqs[i].ids[t]);
            tqc_json_end_array(&j);
            tqc_json_key(&j, "vector");
            tqc_json_begin_array(&j);
            for (int d = 0; d < cf->dim; d++) tqc_json_num(&j, vec[(size_t)i * cf->dim + d]);
            tqc_json_end_array(&j);
            tqc_json_end_object(&j);
        }
        tqc_json_end_array(&j);
        tqc_json_end_object(&j);
    } else {
        printf("# %s: %d-dimensional %s-pooled%s embeddings\n", S.path, cf->dim, pool, cf->normalize ? ", L2-normalised" : "");
        for (int i = 0; i < in.n; i++) {
            printf("# %d tokens: %s\n", in.seqs[i].n, in.label[i]);
            for (int d = 0; d < cf->dim; d++) printf("%s%.7g", d ? " " : "", vec[(size_t)i * cf->dim + d]);
            putchar('\n');
        }
    }
out:
    free(vec);
    tqc_enc_release(&in, &S, NULL);
    return rc;
}

static const tqc_opt OPTS[] = {
    TQC_O_STR("--texts", NULL, embed_args, texts, "FILE", "one text per line (a TAB separates a sentence pair)"),
    TQC_ENC_OPT_IDS(embed_args, ids),
    TQC_O_CHOICE("--pooling", embed_args, po.pooling, POOLING, "mean (over the real tokens) or cls (the first token)"),
    TQC_O_SET("--normalize", embed_args, po.normalize, 1, "L2-normalise each vector"),
    TQC_O_SET("--no-normalize", embed_args, po.normalize, 0, "do not L2-normalise"),
    TQC_ENC_OPT_BATCH(embed_args, batch),
    TQC_O_THREADS,
    TQC_ENC_OPT_KEEP_INT8(embed_args, po.keep_int8),
    TQC_ENC_OPT_FP32_ATTN(embed_args, po.int8_attention),
};

const tqc_command tqc_cmd_embed = {.name = "embed", .summary = "sentence embeddings from a BERT/DistilBERT/MiniLM/RoBERTa encoder",
    .synopsis = SYNOPSIS, .description = DESCRIPTION, .epilog = EPILOG, TQC_OPTS(OPTS), .has_json = true,
    .min_pos = 1, .max_pos = -1, .pos_names = "MODEL and texts", TQC_ARGS(embed_args, &DEFAULTS), .run = run, .route = NULL};
