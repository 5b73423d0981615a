/* cmd_sweep.c — `trueq sweep PLAN`: a study of models x codecs x bits x
 * granularities, in tasks shared by shards or MPI ranks (sweep.h, docs/sweep.md). */
#include "cli.h"
#include "sweep.h"
#include <stdlib.h>
#include <string.h>

static const char SYNOPSIS[] =
    "PLAN --out DIR [--shard K/N] [--json | --csv] [--html FILE]\n"
    "       trueq sweep PLAN --list [--shard K/N] [--json]\n"
    "       trueq sweep PLAN --merge DIR [--json | --csv] [--html FILE]\n"
    "       mpirun -n N trueq sweep PLAN --out DIR [...]";
static const char DESCRIPTION[] =
    "PLAN: a YAML file naming models, codecs, bits, granularities and what to measure\n"
    "(weight-error, spectrum, compare); docs/sweep.md. It expands into one task per model and\n"
    "setting (plus a full-precision baseline per model), each with a stable id (a hash of its\n"
    "description) and a cost estimated from the tensor shapes in the headers; with unit: tensor\n"
    "(the default where the spectrum dominates) the spectrum is one task per 2-D matrix.\n"
    "Each task writes DIR/ID.json atomically; a rerun skips tasks whose results exist. Tasks are\n"
    "shared among N shards (--shard K/N, or the ranks of an MPI job) by a deterministic\n"
    "longest-first schedule balanced by cost. When all tasks are done (one process, or rank 0 of\n"
    "an MPI job) the results are merged into one table in plan order; --merge DIR joins the\n"
    "results of shards run anywhere. The table's bytes do not depend on who ran what. A merge\n"
    "with tasks missing names them and exits 2; failed tasks appear with their reason (exit 2).\n";
static const char EPILOG[] =
    "examples:\n"
    "  trueq sweep study.yaml --list\n"
    "  trueq sweep study.yaml --out results --html report.html\n"
    "  trueq sweep study.yaml --out results --shard 2/4     (a Slurm array task, say)\n"
    "  trueq sweep study.yaml --merge results --csv\n"
    "  mpirun -n 4 trueq sweep study.yaml --out results --json\n";

typedef struct sweep_args {
    const char *out, *shard, *merge, *html;
    bool list, csv, quiet;
} sweep_args;
static const sweep_args DEFAULTS = {0};

static int fail(const char *cmd, const char *msg) {
    fprintf(stderr, "trueq %s: %s\n", cmd, msg);
    return TQC_EXIT_FAIL;
}

static void list(const tqc_sweep_plan *p, int n, bool json) {
    if (json) {
        tqc_json j;
        tqc_json_init(&j, stdout, TQC_JSON_SPACED, 9);
        tqc_json_begin_object(&j);
        tqc_json_fields(&j, "plan:s tasks:d shards:d", p->file, p->n_tasks, n);
        tqc_json_key(&j, "list");
        tqc_json_begin_array(&j);
        for (int i = 0; i < p->n_tasks; i++) {
            const tqc_sweep_task *t = &p->tasks[i];
            tqc_json_begin_object(&j);
            tqc_json_fields(&j, "id:s model:s setting:s cost:f shard:d", t->id, p->models[t->model].name, t->setting, t->cost, t->shard + 1);
            if (t->tensor) tqc_json_kstr(&j, "tensor", t->tensor);
            tqc_json_end_object(&j);
        }
        tqc_json_end_array(&j);
        tqc_json_end_object(&j);
        return;
    }
    printf("sweep %s: %d tasks over %d models, %d shard%s\n", p->file, p->n_tasks, p->n_models, n, n > 1 ? "s" : "");
    printf("%-16s  %12s  %5s  %s\n", "id", "cost", "shard", "model / setting");
    for (int i = 0; i < p->n_tasks; i++) {
        const tqc_sweep_task *t = &p->tasks[i];
        printf("%-16s  %12.4g  %5d  %s / %s%s%s\n", t->id, t->cost, t->shard + 1, p->models[t->model].name, t->setting,
               t->tensor ? " / " : t->split ? " (spectrum by tensor)" : "", t->tensor ? t->tensor : "");
    }
    for (int s = 0; s < n; s++) {
        double c = 0;
        int k = 0;
        for (int i = 0; i < p->n_tasks; i++) if (p->tasks[i].shard == s) { c += p->tasks[i].cost; k++; }
        printf("shard %d/%d: %d tasks, cost %.4g\n", s + 1, n, k, c);
    }
}

/* Merge DIR into the table (stdout) and the report; the exit status. */
static int merge(const tqc_ctx *c, const sweep_args *A, const tqc_sweep_plan *p, const char *dir) {
    tqc_sweep_table tb;
    char msg[1024];
    if (tqc_sweep_table_load(p, dir, &tb, msg, sizeof msg)) { tqc_sweep_table_free(&tb); return fail(c->cmd, msg); }
    if (tb.missing) {
        fprintf(stderr, "trueq %s: %s: %d of %d tasks have no result in %s; no table printed:\n", c->cmd, p->file, tb.missing,
                p->n_tasks, dir);
        tqc_sweep_table_missing(&tb, stderr);
        tqc_sweep_table_free(&tb);
        return TQC_EXIT_FAIL;
    }
    tqc_sweep_table_print(&tb, stdout, c->json ? 1 : A->csv ? 2 : 0);
    fflush(stdout);
    int rc = tb.failed ? TQC_EXIT_FAIL : TQC_EXIT_OK;
    if (tb.failed) fprintf(stderr, "trueq %s: %d of %d tasks failed (their rows say why)\n", c->cmd, tb.failed, p->n_tasks);
    if (A->html && tqc_sweep_html(&tb, A->html, msg, sizeof msg)) rc = fail(c->cmd, msg);
    tqc_sweep_table_free(&tb);
    return rc;
}

/* Run shard k of n; how many of its tasks failed (-1: a result not written). */
static int run_shard(const tqc_ctx *c, const sweep_args *A, const tqc_sweep_plan *p, int k, int n) {
    int mine = 0, done = 0, failed = 0;
    for (int i = 0; i < p->n_tasks; i++) mine += p->tasks[i].shard == k;
    for (int i = 0; i < p->n_tasks; i++) {
        const tqc_sweep_task *t = &p->tasks[i];
        if (t->shard != k) continue;
        done++;
        if (tqc_sweep_done(A->out, t)) {
            if (!A->quiet) fprintf(stderr, "trueq %s: [%d/%d %d/%d] %s %s %s%s%s: done before, skipped\n", c->cmd, k + 1, n, done, mine, t->id,
                                   p->models[t->model].name, t->setting, t->tensor ? " " : "", t->tensor ? t->tensor : "");
            continue;
        }
        if (!A->quiet) fprintf(stderr, "trueq %s: [%d/%d %d/%d] %s %s %s%s%s\n", c->cmd, k + 1, n, done, mine, t->id, p->models[t->model].name,
                               t->setting, t->tensor ? " " : "", t->tensor ? t->tensor : "");
        char msg[1024];
        int rc = tqc_sweep_run_task(p, t, A->out, msg, sizeof msg);
        if (rc < 0) { fprintf(stderr, "trueq %s: %s\n", c->cmd, msg); return -1; }
        if (rc) { fprintf(stderr, "trueq %s: shard %d/%d: %s\n", c->cmd, k + 1, n, msg); failed++; }
    }
    return failed;
}

static int run(const tqc_ctx *c, void *va) {
    const sweep_args *A = va;
    if (A->csv && c->json) return tqc_usage_error(c->cmd, "give --json or --csv, not both");
    if (A->merge && (A->out || A->shard)) return tqc_usage_error(c->cmd, "--merge DIR reads results; it takes no --out or --shard");
    if (!A->list && !A->merge && !A->out) return tqc_usage_error(c->cmd, "give --out DIR (where the results go), --merge DIR or --list");
    if (A->shard && !A->list && (A->html || A->csv || c->json))
        return tqc_usage_error(c->cmd, "a --shard run prints no table: give --json, --csv or --html to the --merge that joins the shards");
    int k = 0, n = 1;
    if (A->shard && tqc_sweep_parse_shard(A->shard, &k, &n))
        return tqc_usage_error(c->cmd, "--shard: \"%s\" is not K/N with 1 <= K <= N <= 4096", A->shard);
    tqc_sweep_plan p;
    char msg[1024];
    if (tqc_sweep_plan_load(c->pos[0], &p, msg, sizeof msg)) return fail(c->cmd, msg);
    int rc;
    if (A->list) {
        tqc_sweep_schedule(&p, n);
        list(&p, n, c->json);
        rc = TQC_EXIT_OK;
    } else if (A->merge) {
        rc = merge(c, A, &p, A->merge);
    } else {
        int rank, size;
        if (tqc_sweep_mpi_begin(&rank, &size, msg, sizeof msg)) { tqc_sweep_plan_free(&p); return fail(c->cmd, msg); }
        if (size > 1 && A->shard) {
            tqc_sweep_mpi_end();
            tqc_sweep_plan_free(&p);
            return tqc_usage_error(c->cmd, "--shard and MPI ranks both divide the work: give one");
        }
        if (size > 1) { k = rank; n = size; }
        tqc_sweep_schedule(&p, n);
        int failed = run_shard(c, A, &p, k, n);
        int ranks_failed = tqc_sweep_mpi_collect(&p, A->out, rank, size, failed != 0);
        if (failed < 0) rc = TQC_EXIT_FAIL;
        else if (n == 1 || (size > 1 && rank == 0)) rc = merge(c, A, &p, A->out);
        else {
            if (size <= 1 && !A->quiet)
                fprintf(stderr, "trueq %s: shard %d/%d finished, %d failed; join the shards with --merge %s\n", c->cmd, k + 1, n, failed, A->out);
            rc = failed ? TQC_EXIT_FAIL : TQC_EXIT_OK;
        }
        (void)ranks_failed;   /* rank 0's merge names the failed tasks themselves */
        tqc_sweep_mpi_end();
    }
    tqc_sweep_plan_free(&p);
    return rc;
}

static const tqc_opt OPTS[] = {
    TQC_O_STR("--out", "-o", sweep_args, out, "DIR", "where each task's result DIR/ID.json goes (created; shared by reruns)"),
    TQC_O_FLAG("--list", NULL, sweep_args, list, "print the tasks (id, cost, shard) and stop"),
    TQC_O_STR("--shard", NULL, sweep_args, shard, "K/N", "run only shard K of N (1-based) of the schedule"),
    TQC_O_STR("--merge", NULL, sweep_args, merge, "DIR", "run nothing: join the results in DIR into the table"),
    TQC_O_FLAG("--csv", NULL, sweep_args, csv, "the table as CSV"),
    TQC_O_STR("--html", NULL, sweep_args, html, "FILE", "also write the report: one self-contained HTML page"),
    TQC_O_FLAG("--quiet", "-q", sweep_args, quiet, "no progress lines on stderr"),
};

const tqc_command tqc_cmd_sweep = {
    .name = "sweep",
    .summary = "a study of models x codecs x bits, in tasks shared by shards or MPI ranks",
    .synopsis = SYNOPSIS,
    .description = DESCRIPTION,
    .epilog = EPILOG,
    TQC_OPTS(OPTS),
    .has_json = true,
    .min_pos = 1,
    .max_pos = 1,
    .pos_names = "PLAN",
    TQC_ARGS(sweep_args, &DEFAULTS),
    .run = run,
};
