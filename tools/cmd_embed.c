/* cmd_embed.c — `trueq embed MODEL TEXT...`: sentence embeddings from a BERT/DistilBERT encoder. */
#include "encoder_cli.h"
#include <stdlib.h>
#include <string.h>

static const char *USAGE =
    "usage: trueq embed MODEL TEXT... [--texts FILE | --ids FILE] [--pooling mean|cls]\n"
    "                   [--normalize | --no-normalize] [--batch N] [--keep-int8] [--json]\n"
    "\n"
    "Sentence embeddings from a BERT-family encoder (BERT, MiniLM, bge: BertModel;\n"
    "DistilBERT), original or trueq-quantized. Each text is tokenised with the\n"
    "model's WordPiece vocabulary ([CLS] text [SEP], truncated to the model's\n"
    "limit), run through the encoder, and pooled. The pooling and normalisation\n"
    "come from a sentence-transformers layout beside the weights (modules.json,\n"
    "1_Pooling/config.json), else mean pooling without normalisation.\n"
    "\n"
    "  TEXT...          texts to embed (up to 30 on the command line)\n"
    "  --texts FILE     one text per line (a TAB separates a sentence pair)\n"
    "  --ids FILE       pre-tokenised input: one sequence per line, token ids\n"
    "                   separated by spaces, specials included; '|' starts the\n"
    "                   second segment (token type 1). No tokenizer is used.\n"
    "  --pooling MODE   mean (over the real tokens) or cls (the first token)\n"
    "  --normalize      L2-normalise each vector (--no-normalize: do not)\n"
    "  --batch N        sequences per forward pass (default 8)\n"
    "  --keep-int8      hold int8 (linear-sym 8-bit) matrices as int8 in memory,\n"
    "                   decoding rows as products need them (same vectors, ~1/4 the RAM)\n"
    "  --json           one JSON object on stdout\n"
    "\n"
    "Output: per input a line \"# N tokens: TEXT\" and a line with the vector.\n"
    "example: trueq embed model/ \"A man is eating food.\" \"A man eats.\" --json\n";

int cmd_embed(int argc, char **argv) {
    const char *cmd = "embed";
    const char *texts = NULL, *ids = NULL, *pooling = NULL, *batch_s = NULL;
    bool json = false;
    enc_open_opts po = {-1, -1, 0};
    tq_args a;
    tq_args_init(&a, argc, argv);
    while (tq_args_next(&a)) {
        if (tq_args_flag(&a, "--help") || tq_args_flag(&a, "-h")) { fputs(USAGE, stdout); return TQ_EXIT_OK; }
        else if (tq_args_flag(&a, "--json")) json = true;
        else if (tq_args_flag(&a, "--normalize")) po.normalize = 1;
        else if (tq_args_flag(&a, "--no-normalize")) po.normalize = 0;
        else if (tq_args_flag(&a, "--keep-int8")) po.keep_int8 = 1;
        else if (tq_args_value(&a, NULL, "--texts", &texts)) {}
        else if (tq_args_value(&a, NULL, "--ids", &ids)) {}
        else if (tq_args_value(&a, NULL, "--pooling", &pooling)) {}
        else if (tq_args_value(&a, NULL, "--batch", &batch_s)) {}
        else if (!tq_args_positional(&a)) return tq_args_unknown(&a, cmd);
    }
    if (a.error) return TQ_EXIT_USAGE;
    if (a.npos < 1) return tq_cli_usage_error(cmd, "expected MODEL and texts (see trueq embed --help)");
    int n_text = a.npos - 1;
    if ((texts != NULL) + (ids != NULL) + (n_text > 0) != 1)
        return tq_cli_usage_error(cmd, "give the inputs one way: TEXT arguments, --texts FILE or --ids FILE");
    if (pooling) {
        if (!strcmp(pooling, "mean")) po.pooling = TQ_POOL_MEAN;
        else if (!strcmp(pooling, "cls")) po.pooling = TQ_POOL_CLS;
        else return tq_cli_usage_error(cmd, "--pooling must be mean or cls, got \"%s\"", pooling);
    }
    long batch = 8;
    if (batch_s && !tq_parse_long(batch_s, 1, 4096, &batch))
        return tq_cli_usage_error(cmd, "--batch must be an integer in [1, 4096], got \"%s\"", batch_s);

    enc_side S = {.path = a.pos[0]};
    enc_inputs in = {0};
    float *vec = NULL;
    int rc = enc_side_open(&S, cmd, ids == NULL, NULL, &po);
    if (rc) goto out;
    const tq_enc_config *c = tq_enc_config_of(S.e);
    int max_len = enc_max_len(S.e, S.tok);
    if (ids) rc = enc_inputs_from_ids_file(&in, cmd, ids, c->vocab_size, max_len);
    else if (texts) rc = enc_inputs_from_text_file(&in, cmd, S.tok, texts, max_len);
    else rc = enc_inputs_from_texts(&in, cmd, S.tok, (const char *const *)a.pos + 1, NULL, n_text, max_len);
    if (rc) goto out;

    vec = malloc((size_t)in.n * c->dim * sizeof *vec);
    if (!vec) { fprintf(stderr, "trueq %s: out of memory\n", cmd); rc = TQ_EXIT_FAIL; goto out; }
    tq_error err = {0};
    if (tq_enc_run(S.e, in.seqs, in.n, (int)batch, vec, NULL, in.n > batch ? enc_progress : NULL, (void *)cmd, &err)) {
        rc = tq_cli_fail(cmd, &err);
        goto out;
    }
    tq_progress_done();
    const char *pool = c->pooling == TQ_POOL_CLS ? "cls" : "mean";
    if (json) {
        printf("{\"model\":");
        tq_json_str(stdout, S.path);
        printf(",\"dim\":%d,\"pooling\":\"%s\",\"normalized\":%s,\"embeddings\":[", c->dim, pool,
               c->normalize ? "true" : "false");
        for (int i = 0; i < in.n; i++) {
            printf("%s{\"input\":", i ? "," : "");
            tq_json_str(stdout, in.label[i]);
            printf(",\"tokens\":%d,\"ids\":[", in.seqs[i].n);
            for (int t = 0; t < in.seqs[i].n; t++) printf("%s%d", t ? "," : "", (int)in.seqs[i].ids[t]);
            printf("],\"vector\":[");
            for (int d = 0; d < c->dim; d++) {
                if (d) putchar(',');
                tq_json_num(stdout, vec[(size_t)i * c->dim + d]);
            }
            printf("]}");
        }
        printf("]}\n");
    } else {
        printf("# %s: %d-dimensional %s-pooled%s embeddings\n", S.path, c->dim, pool, c->normalize ? ", L2-normalised" : "");
        for (int i = 0; i < in.n; i++) {
            printf("# %d tokens: %s\n", in.seqs[i].n, in.label[i]);
            for (int d = 0; d < c->dim; d++) printf("%s%.7g", d ? " " : "", vec[(size_t)i * c->dim + d]);
            putchar('\n');
        }
    }
out:
    free(vec);
    enc_inputs_free(&in);
    enc_side_free(&S);
    return rc;
}
