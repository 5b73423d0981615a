/* plan_file.c — model-list files over libyaml's document API (plan_file.h, docs/batch.md). */
#include "plan_file.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

const tqc_pf_key tqc_pf_keys[] = {
    {"codec", "--codec", 0},           {"scheme", "--scheme", 0},       {"bits", "--bits", 0},
    {"granularity", "--granularity", 0}, {"recipe", "--recipe", 0},     {"target_size", "--target-size", 0},
    {"target_bpw", "--target-bpw", 0}, {"menu", "--menu", 0},           {"format", "--format", 0},
    {"type", "--type", 0},             {"quantize_embeddings", "--quantize-embeddings", 1},
    {"include", "--include", 0},       {"exclude", "--exclude", 0},     {NULL, NULL, 0},
};

static const tqc_pf_key *find_key(const char *k) {
    for (const tqc_pf_key *r = tqc_pf_keys; r->key; r++) if (strcmp(r->key, k) == 0) return r;
    return NULL;
}

void tqc_plan_file_free(tqc_plan_file *pf) {
    for (int i = 0; i < pf->n_strings; i++) free(pf->strings[i]);
    free(pf->strings); free(pf->models);
    memset(pf, 0, sizeof *pf);
}

static const char *own(tqc_plan_file *pf, const char *s) {
    if (pf->n_strings == pf->cap_strings) {
        int nc = pf->cap_strings ? pf->cap_strings * 2 : 64;
        char **ns = realloc(pf->strings, sizeof(char *) * (size_t)nc);
        if (!ns) return NULL;
        pf->strings = ns; pf->cap_strings = nc;
    }
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) { memcpy(c, s, n); pf->strings[pf->n_strings++] = c; }
    return c;
}

static int line_of(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }

/* One mapping of options (a model entry or defaults) into m. */
static int read_opts(tqc_plan_file *pf, yaml_document_t *d, yaml_node_t *map, tqc_pf_model *m, int is_default, const char *path,
                     char *msg, size_t cap) {
    if (map->type != YAML_MAPPING_NODE) { snprintf(msg, cap, "%s:%d: expected a mapping of options", path, line_of(map)); return 2; }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key), *v = yaml_document_get_node(d, p->value);
        if (!k || !v || k->type != YAML_SCALAR_NODE) { snprintf(msg, cap, "%s:%d: a key must be a plain name", path, k ? line_of(k) : 0); return 2; }
        const char *key = (const char *)k->data.scalar.value;
        if (v->type != YAML_SCALAR_NODE) { snprintf(msg, cap, "%s:%d: %s: expected a single value", path, line_of(v), key); return 2; }
        const char *val = own(pf, (const char *)v->data.scalar.value);
        if (!val) { snprintf(msg, cap, "out of memory"); return 2; }
        if (!is_default && strcmp(key, "name") == 0) { m->name = val; continue; }
        if (!is_default && strcmp(key, "model") == 0) { m->model = val; continue; }
        if (!is_default && strcmp(key, "output") == 0) { m->output = val; continue; }
        const tqc_pf_key *r = find_key(key);
        if (!r) {
            snprintf(msg, cap, "%s:%d: unknown key \"%s\" (name, model, output, codec, scheme, bits, granularity, recipe, "
                     "target_size, target_bpw, menu, format, type, quantize_embeddings, include, exclude)", path, line_of(k), key);
            return 2;
        }
        if (r->boolean && strcmp(val, "true") && strcmp(val, "false")) {
            snprintf(msg, cap, "%s:%d: %s must be true or false", path, line_of(v), key);
            return 2;
        }
        int slot = m->n_opt;
        for (int i = 0; i < m->n_opt; i++) if (strcmp(m->opt[i].key, r->key) == 0) slot = i;   /* a model overrides defaults */
        if (slot == TQC_PF_MAX_OPTS) { snprintf(msg, cap, "%s:%d: more than %d options", path, line_of(k), TQC_PF_MAX_OPTS); return 2; }
        m->opt[slot] = (tqc_pf_opt){r->key, val, line_of(v)};
        if (slot == m->n_opt) m->n_opt++;
    }
    return 0;
}

static int load(yaml_parser_t *ps, const char *path, tqc_plan_file *pf, char *msg, size_t cap);

int tqc_plan_file_load(const char *path, tqc_plan_file *pf, char *msg, size_t cap) {
    memset(pf, 0, sizeof *pf);
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(msg, cap, "%s: cannot open", path); return 2; }
    yaml_parser_t ps;
    if (!yaml_parser_initialize(&ps)) { fclose(f); snprintf(msg, cap, "out of memory"); return 2; }
    yaml_parser_set_input_file(&ps, f);
    int rc = load(&ps, path, pf, msg, cap);
    fclose(f);
    return rc;
}

int tqc_plan_file_parse(const char *text, size_t len, const char *path, tqc_plan_file *pf, char *msg, size_t cap) {
    memset(pf, 0, sizeof *pf);
    yaml_parser_t ps;
    if (!yaml_parser_initialize(&ps)) { snprintf(msg, cap, "out of memory"); return 2; }
    yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
    return load(&ps, path, pf, msg, cap);
}

/* The document of an initialised parser into pf; deletes the parser. */
static int load(yaml_parser_t *psp, const char *path, tqc_plan_file *pf, char *msg, size_t cap) {
    yaml_document_t d;
    int rc = 2, have_doc = 0;
    if (!yaml_parser_load(psp, &d)) {
        snprintf(msg, cap, "%s:%d: not valid YAML: %s", path, (int)psp->problem_mark.line + 1, psp->problem ? psp->problem : "?");
        goto out;
    }
    have_doc = 1;
    yaml_node_t *root = yaml_document_get_root_node(&d);
    if (!root || root->type != YAML_MAPPING_NODE) { snprintf(msg, cap, "%s:1: expected a mapping with a \"models\" list", path); goto out; }
    yaml_node_t *models = NULL, *defaults = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&d, p->key), *v = yaml_document_get_node(&d, p->value);
        const char *key = k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
        if (strcmp(key, "models") == 0) models = v;
        else if (strcmp(key, "defaults") == 0) defaults = v;
        else { snprintf(msg, cap, "%s:%d: unknown key \"%s\" (defaults, models)", path, k ? line_of(k) : 0, key); goto out; }
    }
    if (!models || models->type != YAML_SEQUENCE_NODE || models->data.sequence.items.top == models->data.sequence.items.start) {
        snprintf(msg, cap, "%s:%d: \"models\" must be a non-empty list", path, models ? line_of(models) : 1);
        goto out;
    }
    tqc_pf_model def = {0};
    if (defaults && read_opts(pf, &d, defaults, &def, 1, path, msg, cap)) goto out;
    int n = (int)(models->data.sequence.items.top - models->data.sequence.items.start);
    pf->models = calloc((size_t)n, sizeof *pf->models);
    if (!pf->models) { snprintf(msg, cap, "out of memory"); goto out; }
    for (int i = 0; i < n; i++) {
        yaml_node_t *e = yaml_document_get_node(&d, models->data.sequence.items.start[i]);
        tqc_pf_model *m = &pf->models[i];
        *m = def;
        m->line = line_of(e);
        if (read_opts(pf, &d, e, m, 0, path, msg, cap)) goto out;
        if (!m->model) { snprintf(msg, cap, "%s:%d: model %d has no \"model\" (its path)", path, m->line, i + 1); goto out; }
        if (!m->output) { snprintf(msg, cap, "%s:%d: model %d has no \"output\" (its directory)", path, m->line, i + 1); goto out; }
        if (!m->name) m->name = m->model;
        pf->n++;
    }
    rc = 0;
out:
    if (have_doc) yaml_document_delete(&d);
    yaml_parser_delete(psp);
    if (rc) tqc_plan_file_free(pf);
    return rc;
}
