/* convert_plan.h — what `trueq convert` adds for the planner and recipes
 * (docs/planner.md, docs/recipes.md). */
#ifndef TQC_CONVERT_PLAN_H
#define TQC_CONVERT_PLAN_H
#include "cli_json.h"
#include "trueq.h"
#include <stdbool.h>
#include <stdio.h>

#define TQC_MENU_MAX 16

/** --menu "8,4,2,keep" over the base codec/granularity; NULL spec = the
 *  default 8/6/4/3/2 entries the codec supports, plus keep. 0 or an error
 *  message in msg. */
int tqc_menu_parse(const char *spec, const tq_qparams *base, tq_qparams *menu, int *n, int *keep, char *msg, size_t cap);

/** The plan (tensor, bits, bytes, error proxy) as text or into a JSON object. */
void tqc_planner_print(FILE *f, const tq_planner *pl, uint64_t target, bool weight_only);
void tqc_planner_json(tqc_json *j, const tq_planner *pl, uint64_t target, bool weight_only);

/** A recipe file read (tqc_recipe_read) or written from a plan. */
typedef struct tqc_recipe {
    tq_convert_rule *rules;
    int              n;
    char           **strings;     /* owned globs and origins */
    int              n_strings;
} tqc_recipe;

/** Read a JSON recipe (docs/recipes.md); 0, or 2 with msg naming file:line. */
int  tqc_recipe_read(const char *path, const tq_qparams *base, tqc_recipe *r, char *msg, size_t cap);
/** The same from text[0, len) in memory (text[len] must be 0; fuzz/fuzz_recipe.c);
 *  `path` only names it in messages. */
int  tqc_recipe_parse(const char *text, size_t len, const char *path, const tq_qparams *base, tqc_recipe *r, char *msg,
                      size_t cap);
void tqc_recipe_free(tqc_recipe *r);
/** Write the planner's choice as a recipe that reproduces it. 0 or 2 (msg). */
int  tqc_recipe_write(const char *path, const tq_planner *pl, char *msg, size_t cap);
#endif
