/* cmd_batch.c — `trueq batch FILE`: convert, then compare, every model of a list (docs/batch.md). */
#include "cli.h"
#include "plan_file.h"
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char SYNOPSIS[] = "FILE [--json | --csv]";
static const char DESCRIPTION[] =
    "FILE: a YAML list of models with their convert options (docs/batch.md). Each model is\n"
    "converted (`trueq convert`), then compared with its original (`trueq compare`: encoders\n"
    "pooled cosine and label agreement, decoders KL and top-1 agreement), each in its own\n"
    "process, so a failing model is reported in its row and the others go on. One summary\n"
    "table: model, size, ratio, bits/weight, cosine (or KL), agreement. Exit 2 when any failed.\n";
static const char EPILOG[] = "example: trueq batch config/models.yaml --csv\n";

typedef struct batch_args { bool csv; } batch_args;

typedef struct row {
    const char *name;
    int ok;
    char error[512];
    unsigned long long bytes;
    double ratio, bpw, cos, kl, agree;
    int decoder;
} row;

/* Run `trueq ARGV...`; its stdout in *out (malloc'd), the last stderr line in err. */
static int spawn_self(char *const argv[], char **out, char *err, size_t cap) {
    char so[] = "/tmp/trueq-batch-XXXXXX", se[] = "/tmp/trueq-batch-XXXXXX";
    int fo = mkstemp(so), fe = mkstemp(se);
    *out = NULL; err[0] = 0;
    if (fo < 0 || fe < 0) { if (fo >= 0) { close(fo); unlink(so); } if (fe >= 0) { close(fe); unlink(se); } snprintf(err, cap, "cannot make a temporary file"); return -1; }
    unlink(so); unlink(se);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fo, 1);
    posix_spawn_file_actions_adddup2(&fa, fe, 2);
    pid_t pid;
    int st = -1;
    if (posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ) == 0) {
        if (waitpid(pid, &st, 0) < 0) st = -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    int rc = (st >= 0 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
    off_t n = lseek(fo, 0, SEEK_END);
    if (n >= 0 && (*out = malloc((size_t)n + 1))) { ssize_t g = pread(fo, *out, (size_t)n, 0); (*out)[g > 0 ? g : 0] = 0; }
    off_t ne = lseek(fe, 0, SEEK_END);
    char buf[4096];
    ssize_t g = pread(fe, buf, sizeof buf - 1, ne > (off_t)sizeof buf - 1 ? ne - (off_t)sizeof buf + 1 : 0);
    buf[g > 0 ? g : 0] = 0;
    while (g > 0 && (buf[g - 1] == '\n')) buf[--g] = 0;
    char *last = strrchr(buf, '\n');
    const char *msg = last ? last + 1 : buf;   /* the child's last stderr line, cut to cap */
    size_t ml = strlen(msg);
    if (cap) {
        if (ml >= cap) ml = cap - 1;
        memcpy(err, msg, ml);
        err[ml] = 0;
    }
    close(fo); close(fe);
    return rc;
}

static double num(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void one(const tqc_pf_model *m, row *r) {
    char *av[2 * TQC_PF_MAX_OPTS + 16];
    int n = 0;
    av[n++] = "trueq"; av[n++] = "convert"; av[n++] = (char *)m->model; av[n++] = "-o"; av[n++] = (char *)m->output; av[n++] = "--json";
    for (int i = 0; i < m->n_opt; i++) {
        const tqc_pf_key *k = tqc_pf_keys;
        while (strcmp(k->key, m->opt[i].key)) k++;
        if (k->boolean) { if (!strcmp(m->opt[i].value, "true")) av[n++] = (char *)k->flag; continue; }
        av[n++] = (char *)k->flag; av[n++] = (char *)m->opt[i].value;
    }
    av[n] = NULL;
    char *out;
    int rc = spawn_self(av, &out, r->error, sizeof r->error);
    cJSON *j = out ? cJSON_Parse(out) : NULL;
    free(out);
    if (rc != 0 || !j) {
        if (!r->error[0]) snprintf(r->error, sizeof r->error, "convert exited %d", rc);
        cJSON_Delete(j);
        return;
    }
    r->bytes = (unsigned long long)num(j, "output_bytes");
    r->ratio = num(j, "compression_ratio");
    r->bpw = num(j, "bits_per_weight_all");
    cJSON_Delete(j);
    char *cv[] = {"trueq", "compare", (char *)m->model, (char *)m->output, "--json", NULL};
    rc = spawn_self(cv, &out, r->error, sizeof r->error);
    j = out ? cJSON_Parse(out) : NULL;
    free(out);
    if (rc != 0 || !j) {
        if (!r->error[0]) snprintf(r->error, sizeof r->error, "compare exited %d", rc);
        cJSON_Delete(j);
        return;
    }
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
    r->decoder = cJSON_IsString(kind) && strstr(kind->valuestring, "decoder") != NULL;
    r->cos = num(j, "pooled_cos_mean");
    r->kl = num(j, "kl_mean");
    r->agree = num(j, "top1_agreement");
    cJSON_Delete(j);
    r->ok = 1;
    r->error[0] = 0;
}

static int run(const tqc_ctx *c, void *va) {
    const batch_args *A = va;
    if (A->csv && c->json) return tqc_usage_error(c->cmd, "give --json or --csv, not both");
    tqc_plan_file pf;
    char msg[1024];
    if (tqc_plan_file_load(c->pos[0], &pf, msg, sizeof msg)) { fprintf(stderr, "trueq %s: %s\n", c->cmd, msg); return TQC_EXIT_FAIL; }
    row *rows = calloc((size_t)pf.n, sizeof *rows);
    if (!rows) { tqc_plan_file_free(&pf); fprintf(stderr, "trueq %s: out of memory\n", c->cmd); return TQC_EXIT_FAIL; }
    int failed = 0;
    for (int i = 0; i < pf.n; i++) {
        rows[i].name = pf.models[i].name;
        fprintf(stderr, "trueq batch: [%d/%d] %s\n", i + 1, pf.n, rows[i].name);
        one(&pf.models[i], &rows[i]);
        failed += !rows[i].ok;
    }
    if (c->json) {
        tqc_json j;
        tqc_json_init(&j, stdout, TQC_JSON_SPACED, 9);
        tqc_json_begin_object(&j);
        tqc_json_fields(&j, "file:s models:d failed:d", c->pos[0], pf.n, failed);
        tqc_json_key(&j, "rows");
        tqc_json_begin_array(&j);
        for (int i = 0; i < pf.n; i++) {
            const row *r = &rows[i];
            tqc_json_begin_object(&j);
            tqc_json_fields(&j, "model:s output:s ok:b", r->name, pf.models[i].output, r->ok != 0);
            if (r->ok) {
                tqc_json_fields(&j, "bytes:u ratio:f bits_per_weight:f kind:s", r->bytes, r->ratio, r->bpw, r->decoder ? "decoder" : "encoder");
                if (r->decoder) tqc_json_fields(&j, "kl_mean:f", r->kl); else tqc_json_fields(&j, "cosine:f", r->cos);
                if (r->agree >= 0) tqc_json_fields(&j, "agreement:f", r->agree); else { tqc_json_key(&j, "agreement"); tqc_json_null(&j); }
            } else {
                tqc_json_kstr(&j, "error", r->error);
            }
            tqc_json_end_object(&j);
        }
        tqc_json_end_array(&j);
        tqc_json_end_object(&j);
    } else if (A->csv) {
        printf("model,ok,bytes,ratio,bits_per_weight,cosine,kl_mean,agreement,error\n");
        for (int i = 0; i < pf.n; i++) {
            const row *r = &rows[i];
            printf("\"%s\",%d,", r->name, r->ok);
            if (!r->ok) printf(",,,,,");
            else if (r->decoder) printf("%llu,%.4f,%.4f,,%.6f,", r->bytes, r->ratio, r->bpw, r->kl);
            else printf("%llu,%.4f,%.4f,%.6f,,", r->bytes, r->ratio, r->bpw, r->cos);
            if (r->ok && r->agree >= 0) printf("%.4f", r->agree);
            printf(",\"%s\"\n", r->ok ? "" : r->error);
        }
    } else {
        printf("%-28s %12s %7s %8s %-14s %9s\n", "model", "bytes", "ratio", "bits/w", "cosine | KL", "agreement");
        for (int i = 0; i < pf.n; i++) {
            const row *r = &rows[i];
            if (!r->ok) { printf("%-28s FAILED: %s\n", r->name, r->error); continue; }
            char q[32], a[16];
            if (r->decoder) snprintf(q, sizeof q, "KL %.5f", r->kl); else snprintf(q, sizeof q, "cos %.5f", r->cos);
            if (r->agree >= 0) snprintf(a, sizeof a, "%.4f", r->agree); else snprintf(a, sizeof a, "-");
            printf("%-28s %12llu %6.2fx %8.3f %-14s %9s\n", r->name, r->bytes, r->ratio, r->bpw, q, a);
        }
        printf("%d of %d converted and compared%s\n", pf.n - failed, pf.n, failed ? "; see the FAILED rows" : "");
    }
    free(rows);
    tqc_plan_file_free(&pf);
    return failed ? TQC_EXIT_FAIL : TQC_EXIT_OK;
}

static const tqc_opt OPTS[] = {
    TQC_O_FLAG("--csv", NULL, batch_args, csv, "CSV: one row per model"),
};

const tqc_command tqc_cmd_batch = {.name = "batch", .summary = "convert, verify and compare a list of models from a YAML file",
    .synopsis = SYNOPSIS, .description = DESCRIPTION, .epilog = EPILOG, TQC_OPTS(OPTS), .has_json = true,
    .min_pos = 1, .max_pos = 1, .pos_names = "FILE", TQC_ARGS(batch_args, NULL), .run = run, .route = NULL};
