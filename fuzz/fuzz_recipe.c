/*
 * fuzz_recipe.c — the JSON recipe reader of `trueq convert --recipe`
 * (tools/convert_plan.c, tqc_recipe_parse; docs/recipes.md) on hostile text.
 * An accepted recipe must hold at least one rule, each with a non-empty glob,
 * an origin naming the file, and either keep or a codec of the codec table
 * with bits and a granularity that codec has; a refusal must say why, naming the
 * file (or running out of memory). Any crash, leak or sanitizer report is a
 * bug. Seeds: fuzz/corpus/recipe/ (the examples of docs/recipes.md, what
 * --write-recipe writes, and one of each refusal).
 */
#include "convert_plan.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);   /* exact size + the NUL the parser's contract asks for */
    if (!text) return 0;
    if (size) memcpy(text, data, size);
    text[size] = 0;
    tq_convert_options o;
    tq_convert_options_init(&o);
    tqc_recipe r;
    char msg[1024] = "";
    int rc = tqc_recipe_parse(text, size, "fuzz.json", &o.q, &r, msg, sizeof msg);
    if (rc == 0) {
        if (r.n < 1 || !r.rules) abort();
        for (int i = 0; i < r.n; i++) {
            const tq_convert_rule *ru = &r.rules[i];
            if (!ru->glob || !ru->glob[0] || !ru->origin || !strstr(ru->origin, "fuzz.json")) abort();
            if (ru->keep != 0 && ru->keep != 1) abort();
            if (!ru->keep) {
                const tq_codec_info *ci = tq_codec_by_id(ru->q.codec);
                if (!ci || ru->q.bits < 1 || ru->q.bits > 16 || !(ci->bits_mask & (1u << ru->q.bits)) ||
                    !(ci->gran_mask & (1u << ru->q.gran)))
                    abort();
            }
        }
        tqc_recipe_free(&r);
    } else if (rc != 2 || (!strstr(msg, "fuzz.json") && !strstr(msg, "out of memory"))) {
        abort();
    }
    free(text);
    return 0;
}
