/* sweep_run.c — one sweep task: trueq's own commands (convert, inspect,
 * verify, spectrum, compare) run as child processes of this binary, their
 * JSON read back, one result file written atomically (sweep.h). A child that
 * fails takes only its task with it; the result names the step and why. */
#define _XOPEN_SOURCE 700
#include "sweep.h"
#include "cli.h"
#include "core/internal.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int unlink_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)ftw;
    return flag == FTW_DP ? rmdir(p) : unlink(p);
}
static void remove_all(const char *path) { nftw(path, unlink_cb, 8, FTW_DEPTH | FTW_PHYS); }

/* One child's outcome: its stdout, parsed as JSON, and its last stderr line. */
typedef struct child { cJSON *json; char err[400]; int rc; } child;

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    for (size_t g; b && (g = fread(b + n, 1, cap - n - 1, f)) > 0;) {
        n += g;
        if (cap - n < 2) { char *nb = realloc(b, cap *= 2); if (!nb) { free(b); b = NULL; } else b = nb; }
    }
    fclose(f);
    if (b) b[n] = 0;
    if (len) *len = n;
    return b;
}

/* Run `trueq ARGV...` with stdout and stderr in files of work; JSON of stdout. */
static void run_child(const char *work, const char *step, char *const argv[], child *c) {
    memset(c, 0, sizeof *c);
    char so[4096], se[4096];
    snprintf(so, sizeof so, "%s/stdout", work);
    snprintf(se, sizeof se, "%s/stderr", work);
    int fo = open(so, O_WRONLY | O_CREAT | O_TRUNC, 0600), fe = open(se, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    c->rc = -1;
    if (fo >= 0 && fe >= 0) {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fo, 1);
        posix_spawn_file_actions_adddup2(&fa, fe, 2);
        pid_t pid;
        int st;
        if (posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ) == 0 && waitpid(pid, &st, 0) == pid)
            c->rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        posix_spawn_file_actions_destroy(&fa);
    }
    if (fo >= 0) close(fo);
    if (fe >= 0) close(fe);
    char *out = slurp(so, NULL), *err = slurp(se, NULL);
    if (c->rc == 0 && out) c->json = cJSON_Parse(out);
    if (c->rc != 0 || !c->json) {
        const char *last = "";
        if (err) {   /* the last non-empty line */
            size_t n = strlen(err);
            while (n && err[n - 1] == '\n') err[--n] = 0;
            char *nl = strrchr(err, '\n');
            last = nl ? nl + 1 : err;
        }
        if (c->rc < 0) snprintf(c->err, sizeof c->err, "%s: could not run trueq (%s)", step, strerror(errno));
        else if (c->rc != 0) snprintf(c->err, sizeof c->err, "%s exited %d: %.300s", step, c->rc, last);
        else snprintf(c->err, sizeof c->err, "%s: its output is not JSON", step);
    }
    free(out);
    free(err);
}

#define jnum tqc_sweep_jnum

static void take_ledger(const cJSON *j, tqc_sweep_row *r) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "totals");
    tqc_sweep_read_ledger(t, r);   /* inspect's totals use the result file's names */
    r->bpw = r->weights ? 8.0 * jnum(t, "stored_data_bytes") / (double)r->weights : NAN;
}

static void take_verify(const cJSON *j, tqc_sweep_row *r) {
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "overall");
    r->rel_error = jnum(o, "rel_error");
    r->snr_db = jnum(o, "snr_db");
    r->cosine = jnum(o, "cosine");
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "grade");
    snprintf(r->grade, sizeof r->grade, "%s", cJSON_IsString(g) ? g->valuestring : "?");
}

static int take_spectrum(const cJSON *j, tqc_sweep_row *r) {
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(j, "runs"), *run0 = cJSON_GetArrayItem(runs, 0);
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(run0, "layers"), *l;
    r->alpha_mean = jnum(cJSON_GetObjectItemCaseSensitive(run0, "summary"), "alpha");
    int n = cJSON_GetArraySize(layers);
    r->layers = calloc((size_t)(n ? n : 1), sizeof *r->layers);
    if (!r->layers) return -1;
    cJSON_ArrayForEach(l, layers) {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(l, "status"), *nm = cJSON_GetObjectItemCaseSensitive(l, "name");
        if (!cJSON_IsString(st) || !strcmp(st->valuestring, "skipped") || !cJSON_IsString(nm)) continue;
        double a = jnum(l, "alpha");
        if (!(r->layers[r->n_layers].name = strdup(nm->valuestring))) return -1;
        r->layers[r->n_layers++].alpha = isnan(a) ? -1 : a;
    }
    return 0;
}

static void take_compare(const cJSON *j, tqc_sweep_row *r) {
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "kind");
    r->decoder = cJSON_IsString(k) && strstr(k->valuestring, "decoder") != NULL;
    r->cmp_cos = jnum(j, "pooled_cos_mean");
    r->cmp_kl = jnum(j, "kl_mean");
    r->cmp_agree = jnum(j, "top1_agreement");
}

/* CPU seconds (user + system) of the waited-for children so far. */
static double children_cpu_s(void) {
    struct rusage u;
    if (getrusage(RUSAGE_CHILDREN, &u)) return NAN;
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A tensor task: `trueq spectrum MODEL --tensors NAME [--bits B --as-convert
 * ...] --json`, the tensor's row of its last run. The glob is the name with
 * its glob characters made '?': the row named exactly so is taken. */
static int tensor_step(const tqc_sweep_plan *p, const tqc_sweep_task *t, const char *work, tqc_sweep_row *r) {
    char glob[1024], bits[16];
    snprintf(glob, sizeof glob, "%s", t->tensor);
    for (char *g = glob; *g; g++) if (strchr("*?[],", *g)) *g = '?';
    snprintf(bits, sizeof bits, "%d", t->bits);
    char *av[20] = {"trueq", "spectrum", (char *)p->models[t->model].path, "--tensors", glob, "--json"};
    int n = 6;
    if (t->codec) {
        av[n++] = "--bits"; av[n++] = bits; av[n++] = "--as-convert"; av[n++] = "--only-quantized";
        if (strcmp(t->codec, "default")) { av[n++] = "--codec"; av[n++] = (char *)t->codec; }
        if (t->gran) { av[n++] = "--granularity"; av[n++] = (char *)t->gran; }
    }
    child c;
    run_child(work, "spectrum", av, &c);
    if (!c.json) { snprintf(r->error, sizeof r->error, "%s", c.err); return 2; }
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(c.json, "runs");
    const cJSON *last = cJSON_GetArrayItem(runs, cJSON_GetArraySize(runs) - 1), *l, *row = NULL;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(last, "layers")) {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(l, "name");
        if (cJSON_IsString(nm) && !strcmp(nm->valuestring, t->tensor)) row = l;
    }
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(row, "status");
    int rc = 0;
    if (!row || !cJSON_IsString(st)) { snprintf(r->error, sizeof r->error, "spectrum: no row for tensor \"%.300s\"", t->tensor); rc = 2; }
    else if (strcmp(st->valuestring, "skipped")) {   /* the raw alpha (NaN when no fit) is the mean's term */
        r->alpha_mean = jnum(row, "alpha");
        r->layers = calloc(1, sizeof *r->layers);
        if (!r->layers || !(r->layers[0].name = strdup(t->tensor))) { snprintf(r->error, sizeof r->error, "spectrum: out of memory"); rc = 2; }
        else { r->layers[0].alpha = isnan(r->alpha_mean) ? -1 : r->alpha_mean; r->n_layers = 1; }
    }
    cJSON_Delete(c.json);
    return rc;
}

/* The steps of task t in work; 0, or 2 with r->error naming the step. */
static int steps(const tqc_sweep_plan *p, const tqc_sweep_task *t, const char *work, tqc_sweep_row *r) {
    if (t->tensor) return tensor_step(p, t, work, r);
    const char *model = p->models[t->model].path;
    char q[4200], bits[16];
    snprintf(q, sizeof q, "%s/q", work);
    snprintf(bits, sizeof bits, "%d", t->bits);
    const char *target = t->codec ? q : model;
    child c;
    if (t->codec) {
        char *av[16] = {"trueq", "convert", (char *)model, "-o", q, "--bits", bits, "--json"};
        int n = 8;
        if (strcmp(t->codec, "default")) { av[n++] = "--codec"; av[n++] = (char *)t->codec; }
        if (t->gran) { av[n++] = "--granularity"; av[n++] = (char *)t->gran; }
        run_child(work, "convert", av, &c);
        if (!c.json) { snprintf(r->error, sizeof r->error, "%s", c.err); return 2; }
        r->bpw_quant = jnum(c.json, "bits_per_weight_quantized");
        cJSON_Delete(c.json);
    }
    char *iv[] = {"trueq", "inspect", (char *)target, "--json", NULL};
    run_child(work, "inspect", iv, &c);
    if (!c.json) { snprintf(r->error, sizeof r->error, "%s", c.err); return 2; }
    take_ledger(c.json, r);
    cJSON_Delete(c.json);
    if (!t->codec) r->bpw_quant = r->bpw;
    if (t->codec && (t->measures & TQC_SW_WERR)) {
        char *vv[] = {"trueq", "verify", (char *)model, q, "--json", NULL};
        run_child(work, "verify", vv, &c);
        if (!c.json) { snprintf(r->error, sizeof r->error, "%s", c.err); return 2; }
        take_verify(c.json, r);
        cJSON_Delete(c.json);
    }
    if (t->measures & TQC_SW_SPECTRUM) {
        char *sv[] = {"trueq", "spectrum", (char *)target, "--json", NULL};
        run_child(work, "spectrum", sv, &c);
        if (!c.json) { snprintf(r->error, sizeof r->error, "%s", c.err); return 2; }
        int bad = take_spectrum(c.json, r);
        cJSON_Delete(c.json);
        if (bad) { snprintf(r->error, sizeof r->error, "spectrum: out of memory"); return 2; }
    }
    if (t->codec && (t->measures & TQC_SW_COMPARE)) {
        char *cv[8] = {"trueq", "compare", (char *)model, q, "--json"};
        if (p->texts && !tqc_is_decoder(model)) { cv[5] = "--texts"; cv[6] = (char *)p->texts; }
        run_child(work, "compare", cv, &c);
        if (!c.json) { snprintf(r->error, sizeof r->error, "%s", c.err); return 2; }
        take_compare(c.json, r);
        cJSON_Delete(c.json);
    }
    return 0;
}

int tqc_sweep_run_task(const tqc_sweep_plan *p, const tqc_sweep_task *t, const char *out, char *msg, size_t cap) {
    char work[4096];
    snprintf(work, sizeof work, "%s/.work", out);
    if (mkdir(out, 0777) && errno != EEXIST) { snprintf(msg, cap, "%s: cannot create the output directory: %s", out, strerror(errno)); return -1; }
    if (mkdir(work, 0777) && errno != EEXIST) { snprintf(msg, cap, "%s: cannot create: %s", work, strerror(errno)); return -1; }
    snprintf(work, sizeof work, "%s/.work/%s", out, t->id);
    remove_all(work);   /* what a killed run left */
    if (mkdir(work, 0777)) { snprintf(msg, cap, "%s: cannot create: %s", work, strerror(errno)); return -1; }
    tq_pending_add(work, true);
    tqc_sweep_row r;
    memset(&r, 0, sizeof r);
    r.rel_error = r.snr_db = r.cosine = r.alpha_mean = r.cmp_cos = r.cmp_kl = r.cmp_agree = NAN;
    double t0 = now_s(), c0 = children_cpu_s();
    int rc = steps(p, t, work, &r);
    r.seconds = now_s() - t0;
    r.cpu_seconds = children_cpu_s() - c0;
    r.ok = rc == 0;
    remove_all(work);
    tq_pending_remove(work);
    int w = tqc_sweep_result_write(out, p, t, &r, msg, cap);
    for (int i = 0; i < r.n_layers; i++) free(r.layers[i].name);
    free(r.layers);
    if (w) return -1;
    if (rc) snprintf(msg, cap, "task %s (%s, %s%s%s): %s", t->id, p->models[t->model].name, t->setting, t->tensor ? ", tensor " : "",
                     t->tensor ? t->tensor : "", r.error);
    return rc;
}
