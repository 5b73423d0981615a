/* sweep_plan.c — the sweep plan file (YAML over libyaml), its tasks, their ids,
 * costs and the LPT schedule (sweep.h, docs/sweep.md). */
#include "sweep.h"
#include "cli_num.h"
#include "trueq.h"
#include "trueq_spectral.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* A list key's values, each with its line. */
typedef struct vlist { const char *v[TQC_SW_MAX_LIST]; int line[TQC_SW_MAX_LIST]; int n, set; } vlist;

/* The list keys, at the top level and in a model entry (which overrides). */
typedef struct lists { vlist codecs, bits, gran, measures, unit; } lists;

static const char *const MEASURES[] = {"weight-error", "spectrum", "compare"};

void tqc_sweep_plan_free(tqc_sweep_plan *p) {
    for (int i = 0; i < p->n_strings; i++) free(p->strings[i]);
    free(p->strings); free(p->models); free(p->tasks); free(p->parts);
    memset(p, 0, sizeof *p);
}

static const char *keep(tqc_sweep_plan *p, const char *s) {
    if (p->n_strings == p->cap_strings) {
        int nc = p->cap_strings ? 2 * p->cap_strings : 64;
        char **ns = realloc(p->strings, sizeof *ns * (size_t)nc);
        if (!ns) return NULL;
        p->strings = ns;
        p->cap_strings = nc;
    }
    char *c = strdup(s);
    if (c) p->strings[p->n_strings++] = c;
    return c;
}

static int node_line(const yaml_node_t *n) { return n ? (int)n->start_mark.line + 1 : 1; }

/* A scalar or a sequence of scalars into l. */
static int read_list(tqc_sweep_plan *p, yaml_document_t *d, yaml_node_t *v, const char *key, vlist *l, char *msg, size_t cap) {
    l->n = 0;
    l->set = 1;
    yaml_node_item_t *it = NULL, *end = NULL;
    yaml_node_item_t one = 0;
    if (v->type == YAML_SEQUENCE_NODE) { it = v->data.sequence.items.start; end = v->data.sequence.items.top; }
    else if (v->type == YAML_SCALAR_NODE) { it = &one; end = &one + 1; }
    else { snprintf(msg, cap, "%s:%d: %s: expected a value or a list of values", p->file, node_line(v), key); return 2; }
    if (it == end) { snprintf(msg, cap, "%s:%d: %s: the list is empty", p->file, node_line(v), key); return 2; }
    for (; it < end; it++) {
        yaml_node_t *e = it == &one ? v : yaml_document_get_node(d, *it);
        if (!e || e->type != YAML_SCALAR_NODE) { snprintf(msg, cap, "%s:%d: %s: expected a single value in the list", p->file, node_line(e ? e : v), key); return 2; }
        if (l->n == TQC_SW_MAX_LIST) { snprintf(msg, cap, "%s:%d: %s: more than %d values", p->file, node_line(e), key, TQC_SW_MAX_LIST); return 2; }
        const char *s = keep(p, (const char *)e->data.scalar.value);
        if (!s) { snprintf(msg, cap, "out of memory"); return 2; }
        l->v[l->n] = s;
        l->line[l->n++] = node_line(e);
    }
    return 0;
}

/* Check every value of the list keys; the message names the line. */
static int check_lists(const tqc_sweep_plan *p, const lists *L, char *msg, size_t cap) {
    for (int i = 0; i < L->codecs.n; i++)
        if (strcmp(L->codecs.v[i], "default") && !tq_codec_by_name(L->codecs.v[i])) {
            snprintf(msg, cap, "%s:%d: codecs: unknown codec \"%s\" (see trueq codecs)", p->file, L->codecs.line[i], L->codecs.v[i]);
            return 2;
        }
    for (int i = 0; i < L->bits.n; i++) {
        int64_t b;
        if (tqc_parse_i64(L->bits.v[i], 1, 16, &b) != TQC_NUM_OK) {
            snprintf(msg, cap, "%s:%d: bits: \"%s\" is not a bit width in [1, 16]", p->file, L->bits.line[i], L->bits.v[i]);
            return 2;
        }
    }
    for (int i = 0; i < L->gran.n; i++) {
        tqc_gran g;
        if (tqc_gran_parse(L->gran.v[i], &g) != TQC_NUM_OK) {
            snprintf(msg, cap, "%s:%d: granularity: \"%s\" is not tensor, channel or group:N", p->file, L->gran.line[i], L->gran.v[i]);
            return 2;
        }
    }
    if (L->unit.set && (L->unit.n != 1 || (strcmp(L->unit.v[0], "auto") && strcmp(L->unit.v[0], "model") && strcmp(L->unit.v[0], "tensor")))) {
        snprintf(msg, cap, "%s:%d: unit: \"%s\" is not auto, model or tensor", p->file, L->unit.line[L->unit.n - 1], L->unit.v[L->unit.n - 1]);
        return 2;
    }
    for (int i = 0; i < L->measures.n; i++) {
        int k = 0;
        while (k < 3 && strcmp(MEASURES[k], L->measures.v[i])) k++;
        if (k == 3) {
            snprintf(msg, cap, "%s:%d: measures: unknown measure \"%s\" (weight-error, spectrum, compare)", p->file, L->measures.line[i],
                     L->measures.v[i]);
            return 2;
        }
    }
    return 0;
}

/* One list key of a mapping (top level or model entry); 1 when key is not one. */
static int list_key(tqc_sweep_plan *p, yaml_document_t *d, const char *key, yaml_node_t *v, lists *L, char *msg, size_t cap) {
    vlist *l = !strcmp(key, "codecs") ? &L->codecs : !strcmp(key, "bits") ? &L->bits
             : !strcmp(key, "granularity") ? &L->gran : !strcmp(key, "measures") ? &L->measures
             : !strcmp(key, "unit") ? &L->unit : NULL;
    if (!l) return 1;
    return read_list(p, d, v, key, l, msg, cap) ? 2 : 0;
}

static uint64_t fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) { h ^= (unsigned char)*s; h *= 0x100000001b3ull; }
    return h;
}

/* Work estimates from shapes only (docs/sweep.md "Cost"), in units of about
 * 0.35 ns of one core: a fixed 3e8 per task (its processes starting, about
 * 0.1 s), reading and quantizing and comparing weights (20 per weight), a
 * forward pass over the built-in texts (120 per matrix weight; the encoder's kernels made it 5x cheaper than the 600 first measured), and the
 * spectrum by the SVD route it will take (spectrum_cost). `spectrum` is the
 * float weights', `spectrum_low` that of weights quantized to 2 bits or fewer. */
typedef struct shape_cost { double weights, matrix, spectrum, spectrum_low; int spectral; } shape_cost;

/* Whether `trueq spectrum` analyses tensor t (its selection rule, a float or
 * quantized weight): what gets a tensor task. */
static bool analysable(const tq_tensor *t) {
    char why[8];
    return tq_spectral_select(t->name, t->ndim, t->shape, why, sizeof why) && (tq_dtype_is_float(t->dtype) || t->quantized);
}

/* The spectrum of an r x k matrix, N = max(r, k), M = min(r, k), by the route
 * `spectrum --svd auto` takes (docs/spectrum.md, "SVD routes"), fitted to the
 * Phi-3.5-mini-shaped matrices' measured CPU seconds (docs/bench/sweep.md):
 * - the Gram route (N >= 2M): dsyrk, N M^2, then dsyevd, M^3:
 *   0.081 N M^2 + 0.44 M^3 units;
 * - dgesdd (N < 2M, or the Gram route refused): the bidiagonal reduction of
 *   an M x M matrix, 1.31 M^3, after a QR of the N - M extra rows, 0.74 (N - M) M^2.
 * Whether the Gram route is refused depends on the values (its accuracy
 * bound); it was refused for a 2-bit matrix with N < 3M (down_proj,
 * 8192 x 3072), so weights quantized to <= 2 bits with N < 3M are costed as
 * the attempt plus dgesdd. */
static double spectrum_cost(const tq_tensor *t, int low_bits) {
    double r = (double)t->shape[0], k = (double)t->numel / r;
    double N = r > k ? r : k, M = r > k ? k : r;
    double gram = 0.081 * N * M * M + 0.44 * M * M * M, gesdd = 1.31 * M * M * M + 0.74 * (N - M) * M * M;
    if (N < 2 * M) return gesdd;
    return low_bits && N < 3 * M ? gram + gesdd : gram;
}

static void model_cost(const tq_model *md, shape_cost *c) {
    memset(c, 0, sizeof *c);
    for (int64_t i = 0; i < tq_model_count(md); i++) {
        const tq_tensor *t = tq_model_tensor(md, i);
        c->weights += (double)t->numel;
        c->spectral += analysable(t);
        if (t->ndim < 2 || t->shape[0] < 2 || t->numel / t->shape[0] < 2) continue;
        c->matrix += (double)t->numel;
        c->spectrum += spectrum_cost(t, 0);
        c->spectrum_low += spectrum_cost(t, 1);
    }
}

static tqc_sweep_task *new_task(tqc_sweep_plan *p, char *msg, size_t cap) {
    if (p->n_tasks == p->cap_tasks) {
        int nc = p->cap_tasks ? 2 * p->cap_tasks : 32;
        tqc_sweep_task *nt = realloc(p->tasks, sizeof *nt * (size_t)nc);
        if (!nt) { snprintf(msg, cap, "out of memory"); return NULL; }
        p->tasks = nt;
        p->cap_tasks = nc;
    }
    tqc_sweep_task *t = &p->tasks[p->n_tasks];
    memset(t, 0, sizeof *t);
    return t;
}

static int find_task(const tqc_sweep_plan *p, const char *id) {
    for (int i = 0; i < p->n_tasks; i++) if (!strcmp(p->tasks[i].id, id)) return i;
    return -1;
}

/* A model task: measures; with split, its spectrum is left to tensor tasks. */
static int add_task(tqc_sweep_plan *p, int mi, const char *codec, int bits, const char *gran, unsigned measures, int split,
                    const shape_cost *c, char *msg, size_t cap) {
    tqc_sweep_task *t = new_task(p, msg, cap);
    if (!t) return 2;
    t->model = mi;
    t->codec = codec;
    t->bits = bits;
    t->gran = gran;
    t->split = split && (measures & TQC_SW_SPECTRUM);
    t->measures = t->split ? measures & ~(unsigned)TQC_SW_SPECTRUM : measures;
    char ms[64] = "";
    for (int k = 0; k < 3; k++)
        if (measures & (1u << k))
            snprintf(ms + strlen(ms), sizeof ms - strlen(ms), "%s%s%s", ms[0] ? "," : "", MEASURES[k], t->split && k == 1 ? "/tensor" : "");
    int n = snprintf(t->text, sizeof t->text, "trueq-sweep-task 1\nmodel=%s\ncodec=%s\nbits=%d\ngranularity=%s\nmeasures=%s\ntexts=%s\n",
                     p->models[mi].path, codec ? codec : "none", bits, gran ? gran : "default", ms,
                     (measures & TQC_SW_COMPARE) && p->texts ? p->texts : "built-in");
    if (n < 0 || (size_t)n >= sizeof t->text) { snprintf(msg, cap, "%s:%d: model path too long", p->file, p->models[mi].line); return 2; }
    snprintf(t->id, sizeof t->id, "%016llx", (unsigned long long)fnv1a(t->text));
    if (!codec) snprintf(t->setting, sizeof t->setting, "fp");
    else snprintf(t->setting, sizeof t->setting, "%s/%d/%s", codec, bits, gran ? gran : "default");
    double spec = codec && bits <= 2 ? c->spectrum_low : c->spectrum;
    t->cost = 3e8 + c->weights + ((t->measures & TQC_SW_SPECTRUM) ? spec : 0);   /* 3e8: starting its processes */
    if (codec) t->cost += 19 * c->weights + ((measures & TQC_SW_COMPARE) ? 120 * c->matrix : 0);
    if (find_task(p, t->id) >= 0) { snprintf(msg, cap, "%s:%d: task \"%s\" is listed twice", p->file, p->models[mi].line, t->setting); return 2; }
    p->n_tasks++;
    return 0;
}

/* What convert decides per tensor for a quantized setting (the options of
 * `trueq convert --bits B [--codec C] [--granularity G]`), or NULL when it
 * cannot plan it (the convert step of the model task then says why). */
static tq_plan *convert_plan(const tq_model *md, const char *codec, int bits, const char *gran) {
    tq_convert_options co;
    tq_convert_options_init(&co);
    co.q.bits = bits;
    const tq_codec_info *ci = strcmp(codec, "default") ? tq_codec_by_name(codec) : NULL;
    if (ci) co.q.codec = ci->id;
    ci = tq_codec_by_id(co.q.codec);
    tqc_gran g;
    if (gran && tqc_gran_parse(gran, &g) == TQC_NUM_OK) { co.q.gran = g.gran; co.q.group = g.group; }
    else if (ci) { co.q.gran = ci->default_gran; co.q.group = ci->default_group; }
    if (ci && ci->default_ggml_type && !co.q.ggml_type) co.q.ggml_type = ci->default_ggml_type;
    tq_error err = {0};
    return tq_plan_create(md, &co, &err);
}

/* The tensor tasks of model task ti (the last added): one per analysable
 * tensor, in file order. A tensor convert keeps as stored is the baseline's
 * tensor task (the same text, id and result: run once). */
static int add_parts(tqc_sweep_plan *p, int ti, const tq_model *md, char *msg, size_t cap) {
    const tqc_sweep_task m = p->tasks[ti];
    tq_plan *pl = m.codec ? convert_plan(md, m.codec, m.bits, m.gran) : NULL;
    int rc = 0;
    p->tasks[ti].part0 = p->n_parts;
    for (int64_t i = 0; i < tq_model_count(md) && !rc; i++) {
        const tq_tensor *tn = tq_model_tensor(md, i);
        if (!analysable(tn)) continue;
        int kept = !m.codec;
        for (int64_t k = 0; pl && k < tq_plan_count(pl); k++)
            if (tq_plan_item_at(pl, k)->src == tn) { kept = !tq_plan_item_at(pl, k)->quantize; break; }
        char text[sizeof m.text], id[TQC_SW_ID_LEN + 1];
        int n = snprintf(text, sizeof text, "trueq-sweep-task 1\nmodel=%s\nspectrum-of-tensor=%s\ncodec=%s\nbits=%d\ngranularity=%s\n",
                         p->models[m.model].path, tn->name, kept ? "none" : m.codec, kept ? 0 : m.bits, kept || !m.gran ? "default" : m.gran);
        if (n < 0 || (size_t)n >= sizeof text) { snprintf(msg, cap, "%s:%d: model path and tensor name too long", p->file, p->models[m.model].line); rc = 2; break; }
        snprintf(id, sizeof id, "%016llx", (unsigned long long)fnv1a(text));
        int j = find_task(p, id);
        if (j < 0) {
            tqc_sweep_task *t = new_task(p, msg, cap);
            const char *name = t ? keep(p, tn->name) : NULL;
            if (!t || !name) { snprintf(msg, cap, "out of memory"); rc = 2; break; }
            memcpy(t->text, text, (size_t)n + 1);
            memcpy(t->id, id, sizeof id);
            t->model = m.model;
            t->tensor = name;
            t->measures = TQC_SW_SPECTRUM;
            if (!kept) { t->codec = m.codec; t->bits = m.bits; t->gran = m.gran; }
            snprintf(t->setting, sizeof t->setting, "%s", kept ? "fp" : m.setting);
            /* its process, reading the tensor (quantizing it), its spectrum */
            t->cost = 3e8 + (kept ? 1 : 20) * (double)tn->numel + spectrum_cost(tn, !kept && m.bits <= 2);
            j = p->n_tasks++;
        }
        if (p->n_parts == p->cap_parts) {
            int nc = p->cap_parts ? 2 * p->cap_parts : 64;
            int *np = realloc(p->parts, sizeof *np * (size_t)nc);
            if (!np) { snprintf(msg, cap, "out of memory"); rc = 2; break; }
            p->parts = np;
            p->cap_parts = nc;
        }
        p->parts[p->n_parts++] = j;
    }
    p->tasks[ti].nparts = p->n_parts - p->tasks[ti].part0;
    tq_plan_free(pl);
    return rc;
}

/* unit auto: by tensor when the spectrum dominates: at least 1e11 units of it
 * (about 35 s on one core) over at least 2 matrices. */
static int split_unit(const lists *L, const shape_cost *c) {
    const char *u = L->unit.set ? L->unit.v[0] : "auto";
    if (!strcmp(u, "auto")) return c->spectrum >= 1e11 && c->spectral >= 2;
    return !strcmp(u, "tensor");
}

static unsigned measure_bits(const vlist *l) {
    if (!l->set) return TQC_SW_ALL;
    unsigned b = 0;
    for (int i = 0; i < l->n; i++)
        for (int k = 0; k < 3; k++) if (!strcmp(l->v[i], MEASURES[k])) b |= 1u << k;
    return b;
}

/* Expand model mi with its lists (model keys over top-level keys). */
static int expand(tqc_sweep_plan *p, int mi, const lists *L, int baseline, char *msg, size_t cap) {
    if (!L->bits.set) { snprintf(msg, cap, "%s:%d: model \"%s\": no \"bits\" (top level or in the entry)", p->file, p->models[mi].line, p->models[mi].name); return 2; }
    const tqc_sweep_model *m = &p->models[mi];
    tq_error err = {0};
    tq_model *md = tq_model_open(m->path, &err);
    if (!md) { snprintf(msg, cap, "%s:%d: model \"%s\": %s", p->file, m->line, m->path, err.msg); return 2; }
    shape_cost c;
    model_cost(md, &c);
    unsigned ms = measure_bits(&L->measures);
    int split = split_unit(L, &c);
    int nc = L->codecs.set ? L->codecs.n : 1, ng = L->gran.set ? L->gran.n : 1, rc = 0;
    if (baseline) {
        rc = add_task(p, mi, NULL, 0, NULL, ms & TQC_SW_SPECTRUM, split, &c, msg, cap);
        if (!rc && p->tasks[p->n_tasks - 1].split) rc = add_parts(p, p->n_tasks - 1, md, msg, cap);
    }
    for (int a = 0; a < nc && !rc; a++)
        for (int b = 0; b < L->bits.n && !rc; b++)
            for (int g = 0; g < ng && !rc; g++) {
                const char *codec = L->codecs.set ? L->codecs.v[a] : "default";
                rc = add_task(p, mi, codec, atoi(L->bits.v[b]), L->gran.set ? L->gran.v[g] : NULL, ms, split, &c, msg, cap);
                if (!rc && p->tasks[p->n_tasks - 1].split) rc = add_parts(p, p->n_tasks - 1, md, msg, cap);
            }
    tq_model_close(md);
    return rc;
}

static int load_doc(tqc_sweep_plan *p, yaml_document_t *d, char *msg, size_t cap) {
    yaml_node_t *root = yaml_document_get_root_node(d);
    if (!root || root->type != YAML_MAPPING_NODE) { snprintf(msg, cap, "%s:1: expected a mapping with a \"models\" list", p->file); return 2; }
    lists top;
    memset(&top, 0, sizeof top);
    yaml_node_t *models = NULL;
    int baseline = 1;
    for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < root->data.mapping.pairs.top; q++) {
        yaml_node_t *k = yaml_document_get_node(d, q->key), *v = yaml_document_get_node(d, q->value);
        const char *key = k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
        int r = v ? list_key(p, d, key, v, &top, msg, cap) : 1;
        if (r == 2) return 2;
        if (r == 0) continue;
        if (!strcmp(key, "models") && v) { models = v; continue; }
        if ((!strcmp(key, "texts") || !strcmp(key, "baseline")) && v && v->type == YAML_SCALAR_NODE) {
            const char *s = (const char *)v->data.scalar.value;
            if (key[0] == 't') { if (!(p->texts = keep(p, s))) { snprintf(msg, cap, "out of memory"); return 2; } continue; }
            if (strcmp(s, "true") && strcmp(s, "false")) { snprintf(msg, cap, "%s:%d: baseline must be true or false", p->file, node_line(v)); return 2; }
            baseline = !strcmp(s, "true");
            continue;
        }
        if (!strcmp(key, "texts") || !strcmp(key, "baseline") || !strcmp(key, "models")) {
            snprintf(msg, cap, "%s:%d: %s: expected %s", p->file, node_line(v), key, key[0] == 'm' ? "a list of models" : "a single value");
            return 2;
        }
        snprintf(msg, cap, "%s:%d: unknown key \"%s\" (models, codecs, bits, granularity, measures, unit, texts, baseline)", p->file, node_line(k), key);
        return 2;
    }
    if (check_lists(p, &top, msg, cap)) return 2;
    if (!models || models->type != YAML_SEQUENCE_NODE || models->data.sequence.items.top == models->data.sequence.items.start) {
        snprintf(msg, cap, "%s:%d: \"models\" must be a non-empty list", p->file, models ? node_line(models) : 1);
        return 2;
    }
    int n = (int)(models->data.sequence.items.top - models->data.sequence.items.start);
    p->models = calloc((size_t)n, sizeof *p->models);
    if (!p->models) { snprintf(msg, cap, "out of memory"); return 2; }
    for (int i = 0; i < n; i++) {
        yaml_node_t *e = yaml_document_get_node(d, models->data.sequence.items.start[i]);
        tqc_sweep_model *m = &p->models[i];
        m->line = node_line(e);
        if (!e || e->type != YAML_MAPPING_NODE) { snprintf(msg, cap, "%s:%d: model %d: expected a mapping (name, model, ...)", p->file, m->line, i + 1); return 2; }
        lists L = top;
        for (yaml_node_pair_t *q = e->data.mapping.pairs.start; q < e->data.mapping.pairs.top; q++) {
            yaml_node_t *k = yaml_document_get_node(d, q->key), *v = yaml_document_get_node(d, q->value);
            const char *key = k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "";
            int r = v ? list_key(p, d, key, v, &L, msg, cap) : 1;
            if (r == 2) return 2;
            if (r == 0) continue;
            if ((!strcmp(key, "name") || !strcmp(key, "model")) && v && v->type == YAML_SCALAR_NODE) {
                const char *s = keep(p, (const char *)v->data.scalar.value);
                if (!s) { snprintf(msg, cap, "out of memory"); return 2; }
                if (key[0] == 'n') m->name = s; else m->path = s;
                continue;
            }
            if (!strcmp(key, "name") || !strcmp(key, "model")) {
                snprintf(msg, cap, "%s:%d: %s: expected a single value", p->file, node_line(v), key);
                return 2;
            }
            snprintf(msg, cap, "%s:%d: unknown key \"%s\" in a model (name, model, codecs, bits, granularity, measures, unit)", p->file,
                     node_line(k), key);
            return 2;
        }
        if (!m->path) { snprintf(msg, cap, "%s:%d: model %d has no \"model\" (its path)", p->file, m->line, i + 1); return 2; }
        if (!m->name) m->name = m->path;
        p->n_models++;
        if (check_lists(p, &L, msg, cap) || expand(p, i, &L, baseline, msg, cap)) return 2;
    }
    return 0;
}

int tqc_sweep_plan_load(const char *path, tqc_sweep_plan *p, char *msg, size_t cap) {
    memset(p, 0, sizeof *p);
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(msg, cap, "%s: cannot open the plan", path); return 2; }
    p->file = keep(p, path);
    yaml_parser_t ps;
    yaml_document_t d;
    int rc = 2;
    if (!p->file || !yaml_parser_initialize(&ps)) { fclose(f); tqc_sweep_plan_free(p); snprintf(msg, cap, "out of memory"); return 2; }
    yaml_parser_set_input_file(&ps, f);
    if (!yaml_parser_load(&ps, &d)) {
        snprintf(msg, cap, "%s:%d: not valid YAML: %s", path, (int)ps.problem_mark.line + 1, ps.problem ? ps.problem : "?");
    } else {
        rc = load_doc(p, &d, msg, cap);
        yaml_document_delete(&d);
    }
    yaml_parser_delete(&ps);
    fclose(f);
    if (rc) tqc_sweep_plan_free(p);
    return rc;
}

/* ---- schedule --------------------------------------------------------------- */

static const tqc_sweep_plan *g_sort;
static int by_cost(const void *a, const void *b) {
    const tqc_sweep_task *x = &g_sort->tasks[*(const int *)a], *y = &g_sort->tasks[*(const int *)b];
    if (x->cost != y->cost) return x->cost > y->cost ? -1 : 1;
    return strcmp(x->id, y->id);
}

void tqc_sweep_schedule(tqc_sweep_plan *p, int n) {
    if (n < 1) n = 1;
    int *ord = malloc(sizeof *ord * (size_t)(p->n_tasks ? p->n_tasks : 1));
    double *load = calloc((size_t)n, sizeof *load);
    if (!ord || !load) {   /* no memory for the order: round robin, still deterministic */
        for (int i = 0; i < p->n_tasks; i++) p->tasks[i].shard = i % n;
        free(ord); free(load);
        return;
    }
    for (int i = 0; i < p->n_tasks; i++) ord[i] = i;
    g_sort = p;
    qsort(ord, (size_t)p->n_tasks, sizeof *ord, by_cost);
    for (int i = 0; i < p->n_tasks; i++) {
        int best = 0;
        for (int s = 1; s < n; s++) if (load[s] < load[best]) best = s;
        p->tasks[ord[i]].shard = best;
        load[best] += p->tasks[ord[i]].cost;
    }
    free(ord);
    free(load);
}

int tqc_sweep_parse_shard(const char *s, int *k, int *n) {
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash) return -1;
    char a[32];
    size_t la = (size_t)(slash - s);
    if (la == 0 || la >= sizeof a) return -1;
    memcpy(a, s, la);
    a[la] = 0;
    int64_t K, N;
    if (tqc_parse_i64(a, 1, 4096, &K) != TQC_NUM_OK || tqc_parse_i64(slash + 1, 1, 4096, &N) != TQC_NUM_OK || K > N) return -1;
    *k = (int)K - 1;
    *n = (int)N;
    return 0;
}
