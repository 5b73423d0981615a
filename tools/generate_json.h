/*
 * generate_json.h — `trueq generate --json`: what the model saw and chose,
 * step by step, so a user can hold trueq against their own reference.
 *
 * Output (one JSON object on stdout):
 *   {"model": PATH, "prompt_ids": [ids...],
 *    "steps": [{"pos": P, "id": ID, "piece": TEXT|null,
 *               "top5": [{"id": ID, "logit": X}, ...]}, ...],
 *    "generated": N,
 *    "stop": {"reason": "eos" | "max_tokens" | "context", "id": ID|null}}
 * pos is the position whose logits chose id (the next token follows at
 * pos + 1); top5 is the five largest logits, larger first, the lower id first
 * on ties (logits with 9 significant digits); piece is the token's text
 * (null without a tokenizer, i.e. with --ids).
 */
#ifndef TQC_GENERATE_JSON_H
#define TQC_GENERATE_JSON_H
#include "cli_json.h"
#include "decoder_cli.h"

typedef struct tqc_gen_json {
    tqc_json           j;
    const tqc_dec_tok *tok;    /* NULL: pieces are null              */
    int                prev;   /* the token before the step's choice  */
    int                last;   /* the last chosen id, -1 before any   */
} tqc_gen_json;

/** Begin the object: model path and prompt ids, then open "steps". */
void tqc_gen_json_begin(tqc_gen_json *g, FILE *f, const char *model, const int *prompt, int n, const tqc_dec_tok *tok);
/** tq_llama_gen.step_fn: write one step (ctx: the tqc_gen_json). */
int  tqc_gen_json_step(void *ctx, int pos, int chosen, const float *logits, int vocab);
/** Close "steps" and write the count and the stop: "eos" with its id when
 *  the last choice is_stop, else "max_tokens" when steps were all made,
 *  else "context". */
void tqc_gen_json_end(tqc_gen_json *g, int generated, int steps, int last_is_stop);
#endif
