/* convert_plan.c — the planner's menu and report, recipe files (docs/planner.md, docs/recipes.md). */
#include "convert_plan.h"
#include "cli_num.h"
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int tqc_menu_parse(const char *spec, const tq_qparams *base, tq_qparams *menu, int *n, int *keep, char *msg, size_t cap) {
    const tq_codec_info *ci = tq_codec_by_id(base->codec);
    *n = 0; *keep = 0;
    if (!ci) { snprintf(msg, cap, "--menu: unknown base codec"); return 1; }
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec ? spec : "8,6,4,3,2,keep");
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (strcmp(tok, "keep") == 0) { *keep = 1; continue; }
        char *end;
        long b = strtol(tok, &end, 10), g = 0;
        if (*end == '@') {   /* B@G: B bits in groups of G (the base codec at granularity group:G) */
            g = strtol(end + 1, &end, 10);
            if (*end || g < 1 || g > 65536) { snprintf(msg, cap, "--menu: \"%s\": the group after @ is not a size in 1..65536", tok); return 1; }
            if (!(ci->gran_mask & (1u << TQ_GRAN_GROUP))) { snprintf(msg, cap, "--menu: \"%s\": codec %s has no group granularity", tok, ci->name); return 1; }
        }
        if (*end || b < 1 || b > 16) { snprintf(msg, cap, "--menu: \"%s\" is not a bit width, B@GROUP or \"keep\"", tok); return 1; }
        if (!(ci->bits_mask & (1u << b))) {
            if (!spec) continue;   /* the default menu takes what the codec has */
            snprintf(msg, cap, "--menu: codec %s has no %ld-bit setting (see trueq codecs)", ci->name, b);
            return 1;
        }
        if (*n >= TQC_MENU_MAX) { snprintf(msg, cap, "--menu: more than %d entries", TQC_MENU_MAX); return 1; }
        menu[*n] = *base;
        if (g) { menu[*n].gran = TQ_GRAN_GROUP; menu[*n].group = (int)g; }
        menu[(*n)++].bits = (int)b;
    }
    if (!*n) { snprintf(msg, cap, "--menu: no bit width given"); return 1; }
    return 0;
}

static int bits_of(const tq_planner *pl, const tq_planner_entry *e) {
    return e->choice < 0 ? 0 : tq_planner_options_out(pl)->rules[e - tq_planner_entry_at(pl, 0)].q.bits;
}

void tqc_planner_print(FILE *f, const tq_planner *pl, uint64_t target, bool weight_only) {
    double tot = 0;
    fprintf(f, "planner: %lld tensors chosen under %llu bytes (exact output %llu bytes, %.3f%% under); proxy = %s\n",
            (long long)tq_planner_count(pl), (unsigned long long)target, (unsigned long long)tq_planner_output_bytes(pl),
            100.0 * (double)(target - tq_planner_output_bytes(pl)) / (double)target,
            weight_only ? "weight error alone (squared error of the weights)"
                        : "measured output change, sqrt(1 - mean sentence cosine) with that tensor alone quantized");
    fprintf(f, "  %-48s %5s %12s %14s\n", "tensor", "bits", "bytes", "error proxy");
    for (int64_t i = 0; i < tq_planner_count(pl); i++) {
        const tq_planner_entry *e = tq_planner_entry_at(pl, i);
        char bits[16];
        const tq_convert_options *o = tq_planner_options_out(pl);
        const tq_qparams *q = e->choice < 0 ? NULL : &o->rules[e - tq_planner_entry_at(pl, 0)].q;
        if (!q) snprintf(bits, sizeof bits, "keep");
        else if (q->gran == TQ_GRAN_GROUP && (o->q.gran != TQ_GRAN_GROUP || q->group != o->q.group))
            snprintf(bits, sizeof bits, "%d@%lld", q->bits, (long long)q->group);   /* a menu entry B@G */
        else snprintf(bits, sizeof bits, "%d", q->bits);
        fprintf(f, "  %-48s %5s %12llu %14.6g\n", e->src->name, bits, (unsigned long long)e->bytes, e->proxy);
        tot += e->proxy;
    }
    fprintf(f, "  %-48s %5s %12s %14.6g\n", "total", "", "", tot);
}

void tqc_planner_json(tqc_json *j, const tq_planner *pl, uint64_t target, bool weight_only) {
    tqc_json_key(j, "planner");
    tqc_json_begin_object(j);
    tqc_json_fields(j, "target_bytes:u planned_bytes:u proxy:s", (unsigned long long)target,
                    (unsigned long long)tq_planner_output_bytes(pl), weight_only ? "weight_error" : "forward_sqrt_1_minus_cos");
    tqc_json_key(j, "tensors");
    tqc_json_begin_array(j);
    for (int64_t i = 0; i < tq_planner_count(pl); i++) {
        const tq_planner_entry *e = tq_planner_entry_at(pl, i);
        tqc_json_begin_object(j);
        const tq_qparams *q = e->choice < 0 ? NULL : &tq_planner_options_out(pl)->rules[e - tq_planner_entry_at(pl, 0)].q;
        tqc_json_fields(j, "name:s keep:b bits:l group:l bytes:u weight_error:f proxy:f", e->src->name, e->choice < 0,
                        (long long)bits_of(pl, e), (long long)(q && q->gran == TQ_GRAN_GROUP ? q->group : 0),
                        (unsigned long long)e->bytes, e->weight_error, e->proxy);
        tqc_json_end_object(j);
    }
    tqc_json_end_array(j);
    tqc_json_end_object(j);
}

/* ---- recipes ------------------------------------------------------------- */

void tqc_recipe_free(tqc_recipe *r) {
    for (int i = 0; i < r->n_strings; i++) free(r->strings[i]);
    free(r->strings); free(r->rules);
    memset(r, 0, sizeof *r);
}

static char *keep_str(tqc_recipe *r, const char *s) {
    char **ns = realloc(r->strings, sizeof(char *) * (size_t)(r->n_strings + 1));
    if (!ns) return NULL;
    r->strings = ns;
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) { memcpy(c, s, n); r->strings[r->n_strings++] = c; }
    return c;
}

/* Line of the k-th (0-based) "match" key in the text: where rule k starts. */
static int rule_line(const char *text, int k) {
    int line = 1;
    for (const char *s = text; *s; s++) {
        if (*s == '\n') line++;
        if (strncmp(s, "\"match\"", 7) == 0 && k-- == 0) return line;
    }
    return 0;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, capn = 0;
    for (;;) {
        if (n + 4096 + 1 > capn) { capn = capn * 2 + 8192; char *nb = realloc(buf, capn); if (!nb) { free(buf); fclose(f); return NULL; } buf = nb; }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got < 4096) break;
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

int tqc_recipe_read(const char *path, const tq_qparams *base, tqc_recipe *r, char *msg, size_t cap) {
    memset(r, 0, sizeof *r);
    size_t len;
    char *text = slurp(path, &len);
    if (!text) { snprintf(msg, cap, "%s: cannot read the recipe", path); return 2; }
    int rc = tqc_recipe_parse(text, len, path, base, r, msg, cap);
    free(text);
    return rc;
}

int tqc_recipe_parse(const char *text, size_t len, const char *path, const tq_qparams *base, tqc_recipe *r, char *msg,
                     size_t cap) {
    memset(r, 0, sizeof *r);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    int rc = 2;
    if (!root) {
        int line = 1;
        for (const char *s = text; end && s < end && *s; s++) if (*s == '\n') line++;
        snprintf(msg, cap, "%s:%d: not valid JSON", path, line);
        goto out;
    }
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(root, "rules");
    if (!cJSON_IsObject(root) || !cJSON_IsArray(rules)) { snprintf(msg, cap, "%s: a recipe is an object with a \"rules\" array", path); goto out; }
    for (const cJSON *k = root->child; k; k = k->next)
        if (strcmp(k->string, "rules") != 0 && strcmp(k->string, "recipe") != 0) { snprintf(msg, cap, "%s: unknown key \"%s\" (recipe, rules)", path, k->string); goto out; }
    int n = cJSON_GetArraySize(rules);
    if (!n) { snprintf(msg, cap, "%s: \"rules\" is empty", path); goto out; }
    r->rules = calloc((size_t)n, sizeof *r->rules);
    if (!r->rules) { snprintf(msg, cap, "out of memory"); goto out; }
    int i = 0;
    for (const cJSON *e = rules->child; e; e = e->next, i++) {
        char where[600];
        snprintf(where, sizeof where, "%s:%d (rule %d)", path, rule_line(text, i), i + 1);
        tq_convert_rule *ru = &r->rules[i];
        ru->q = *base;
        if (!cJSON_IsObject(e)) { snprintf(msg, cap, "%s: a rule is an object", where); goto out; }
        bool codec_given = false, bits_given = false, gran_given = false;
        for (const cJSON *k = e->child; k; k = k->next) {
            const char *key = k->string;
            if (strcmp(key, "match") == 0) {
                if (!cJSON_IsString(k) || !*k->valuestring) { snprintf(msg, cap, "%s: \"match\" must be a non-empty glob string", where); goto out; }
                if (!(ru->glob = keep_str(r, k->valuestring))) goto nomem;
            } else if (strcmp(key, "keep") == 0) {
                if (!cJSON_IsBool(k)) { snprintf(msg, cap, "%s: \"keep\" must be true or false", where); goto out; }
                ru->keep = cJSON_IsTrue(k);
            } else if (strcmp(key, "codec") == 0) {
                const tq_codec_info *ci = cJSON_IsString(k) ? tq_codec_by_name(k->valuestring) : NULL;
                if (!ci) { snprintf(msg, cap, "%s: unknown codec %s (see trueq codecs)", where, cJSON_IsString(k) ? k->valuestring : "(not a string)"); goto out; }
                ru->q.codec = ci->id; codec_given = true;
            } else if (strcmp(key, "bits") == 0) {
                /* the range first: (int) of a double outside int's range is undefined (fuzz_recipe) */
                if (!cJSON_IsNumber(k) || !(k->valuedouble >= 1 && k->valuedouble <= 16) ||
                    k->valuedouble != (double)(int)k->valuedouble) {
                    snprintf(msg, cap, "%s: \"bits\" must be an integer in [1, 16]", where); goto out;
                }
                ru->q.bits = (int)k->valuedouble; bits_given = true;
            } else if (strcmp(key, "granularity") == 0) {
                tqc_gran g;
                if (!cJSON_IsString(k) || tqc_gran_parse(k->valuestring, &g) != TQC_NUM_OK) {
                    snprintf(msg, cap, "%s: \"granularity\" must be tensor, channel or group:N", where); goto out;
                }
                ru->q.gran = g.gran; ru->q.group = g.group; gran_given = true;
            } else {
                snprintf(msg, cap, "%s: unknown key \"%s\" (match, keep, codec, bits, granularity)", where, key); goto out;
            }
        }
        if (!ru->glob) { snprintf(msg, cap, "%s: the rule has no \"match\"", where); goto out; }
        if (ru->keep && (codec_given || bits_given || gran_given)) { snprintf(msg, cap, "%s: a \"keep\" rule takes no codec, bits or granularity", where); goto out; }
        const tq_codec_info *ci = tq_codec_by_id(ru->q.codec);
        if (codec_given && !bits_given && !(ci->bits_mask & (1u << ru->q.bits))) ru->q.bits = ci->default_bits;
        if (codec_given && !gran_given) { ru->q.gran = ci->default_gran; ru->q.group = ci->default_group; }
        if (!ru->keep && !(ci->bits_mask & (1u << ru->q.bits))) { snprintf(msg, cap, "%s: codec %s has no %d-bit setting", where, ci->name, ru->q.bits); goto out; }
        if (!ru->keep && !(ci->gran_mask & (1u << ru->q.gran))) { snprintf(msg, cap, "%s: codec %s has no %s granularity", where, ci->name, tq_gran_name(ru->q.gran)); goto out; }
        if (!(ru->origin = keep_str(r, where))) goto nomem;
        r->n++;
    }
    rc = 0;
    goto out;
nomem:
    snprintf(msg, cap, "out of memory");
out:
    cJSON_Delete(root);
    if (rc) tqc_recipe_free(r);
    return rc;
}

int tqc_recipe_write(const char *path, const tq_planner *pl, char *msg, size_t cap) {
    FILE *f = fopen(path, "w");
    if (!f) { snprintf(msg, cap, "%s: cannot write the recipe", path); return 2; }
    const tq_convert_options *o = tq_planner_options_out(pl);
    fprintf(f, "{\"recipe\": 1,\n \"rules\": [\n");
    for (int i = 0; i < o->n_rules; i++) {
        const tq_convert_rule *ru = &o->rules[i];
        cJSON *s = cJSON_CreateString(ru->glob);
        char *gs = s ? cJSON_PrintUnformatted(s) : NULL;
        if (!gs) { cJSON_Delete(s); fclose(f); snprintf(msg, cap, "out of memory"); return 2; }
        if (ru->keep) fprintf(f, "  {\"match\": %s, \"keep\": true}", gs);
        else {
            char gran[32];
            if (ru->q.gran == TQ_GRAN_GROUP) snprintf(gran, sizeof gran, "group:%lld", (long long)ru->q.group);
            else snprintf(gran, sizeof gran, "%s", tq_gran_name(ru->q.gran));
            fprintf(f, "  {\"match\": %s, \"codec\": \"%s\", \"bits\": %d, \"granularity\": \"%s\"}", gs,
                    tq_codec_by_id(ru->q.codec)->name, ru->q.bits, gran);
        }
        fprintf(f, "%s\n", i + 1 < o->n_rules ? "," : "");
        cJSON_free(gs);
        cJSON_Delete(s);
    }
    fprintf(f, " ]\n}\n");
    if (fclose(f) != 0) { snprintf(msg, cap, "%s: cannot write the recipe", path); return 2; }
    return 0;
}
