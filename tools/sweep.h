/*
 * sweep.h — `trueq sweep PLAN` (docs/sweep.md): a study of models x codecs x
 * bits x granularities, expanded into independent tasks, run in shards (one
 * process, `--shard K/N`, or MPI ranks), one result file per task, merged into
 * one table whose bytes do not depend on who ran what.
 *
 *   sweep_plan.c   the plan file (YAML, libyaml), tasks, ids, costs, schedule
 *   sweep_run.c    one task: runs trueq's own commands, writes its result file
 *   sweep_merge.c  result files -> one table (text, JSON, CSV)
 *   sweep_html.c   the self-contained HTML report
 *   sweep_mpi.c    the only MPI code (compiled against MPI when TQ_HAVE_MPI)
 *   cmd_sweep.c    the command row
 */
#ifndef TQC_SWEEP_H
#define TQC_SWEEP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What a task measures (bits of tqc_sweep_task.measures). */
enum { TQC_SW_WERR = 1u, TQC_SW_SPECTRUM = 2u, TQC_SW_COMPARE = 4u, TQC_SW_ALL = 7u };

#define TQC_SW_ID_LEN 16           /* hex digits of a task id                 */
#define TQC_SW_MAX_LIST 16         /* values of one list key (bits, codecs...) */

typedef struct tqc_sweep_model {
    const char *name, *path;
    int         line;              /* plan line of its entry                   */
} tqc_sweep_model;

typedef struct tqc_sweep_task {
    char        id[TQC_SW_ID_LEN + 1];   /* FNV-1a 64 of text, hex           */
    char        text[1280];        /* canonical description (what is hashed)  */
    char        setting[160];      /* "fp" or "CODEC/BITS/GRAN" for tables     */
    int         model;             /* index in tqc_sweep_plan.models           */
    const char *codec;             /* NULL: the full-precision baseline        */
    const char *gran;              /* NULL: the codec's default                */
    int         bits;              /* 0: baseline                              */
    unsigned    measures;          /* TQC_SW_* bits                            */
    double      cost;              /* estimated work, from tensor shapes       */
    int         shard;             /* 0-based shard of the schedule            */
    const char *tensor;            /* a spectrum task of this one tensor; NULL:
                                      a model task (a row of the table)        */
    int         split;             /* model task: its spectrum is the tensor
                                      tasks parts[part0, part0 + nparts)       */
    int         part0, nparts;
} tqc_sweep_task;

typedef struct tqc_sweep_plan {
    const char      *file;
    tqc_sweep_model *models;
    int              n_models;
    tqc_sweep_task  *tasks;        /* in plan order: model, codec, bits, gran;
                                      a split task's tensor tasks after it   */
    int              n_tasks, cap_tasks;
    int             *parts;        /* task indices of split tasks' tensors     */
    int              n_parts, cap_parts;
    const char      *texts;        /* compare --texts for encoders, or NULL    */
    char           **strings;      /* owned                                    */
    int              n_strings, cap_strings;
} tqc_sweep_plan;

/** Load and expand PLAN; costs read from each model's headers (no weights).
 *  0, or 2 with msg "PLAN:LINE: what". */
int  tqc_sweep_plan_load(const char *path, tqc_sweep_plan *p, char *msg, size_t cap);
void tqc_sweep_plan_free(tqc_sweep_plan *p);
/** Assign task.shard for n shards: longest processing time first (cost
 *  descending, ties by id), each to the least loaded shard (ties: lowest).
 *  The same plan and n always give the same schedule. */
void tqc_sweep_schedule(tqc_sweep_plan *p, int n);
/** Parse "K/N" (1 <= K <= N <= 4096) into 0-based *k and *n; 0 or -1. */
int  tqc_sweep_parse_shard(const char *s, int *k, int *n);

/* ---- the result file of a task (sweep_merge.c) -------------------------------- */

typedef struct tqc_sweep_row tqc_sweep_row;
/** Write r as OUT/ID.json atomically; 0, or -1 with msg. */
int  tqc_sweep_result_write(const char *out, const tqc_sweep_plan *p, const tqc_sweep_task *t, const tqc_sweep_row *r, char *msg,
                            size_t cap);
/** The byte counts of a ledger object (inspect --json's totals, or a result's
 *  ledger: the same names) into r. */
struct cJSON;
/** Member k of object o as a number; NaN when absent or not a number. */
double tqc_sweep_jnum(const struct cJSON *o, const char *k);
void tqc_sweep_read_ledger(const struct cJSON *o, tqc_sweep_row *r);
/** OUT/ID.json (malloc'd). */
char *tqc_sweep_result_path(const char *out, const tqc_sweep_task *t);
/** Whether OUT holds a successful result for t (what a rerun skips). */
bool tqc_sweep_done(const char *out, const tqc_sweep_task *t);
/** Run task t of p, writing its result file atomically (ok or failed, with
 *  the step and the reason). 0 when it succeeded; 2 when it failed (why in
 *  msg, and in the result file); -1 when even the result could not be
 *  written. */
int  tqc_sweep_run_task(const tqc_sweep_plan *p, const tqc_sweep_task *t, const char *out, char *msg, size_t cap);

/* ---- merged results --------------------------------------------------------- */

typedef struct tqc_sweep_layer { char *name; double alpha; } tqc_sweep_layer;

/** One task's result (NaN: not measured). */
struct tqc_sweep_row {
    const tqc_sweep_task *t;
    int      present, ok;
    char     error[512];
    double   seconds, cpu_seconds;   /* wall, and CPU of its processes     */
    uint64_t file_bytes, header_bytes, padding_bytes, payload_bytes, scale_bytes, weights, quantized_weights;
    double   bpw, bpw_quant;
    double   rel_error, snr_db, cosine;
    char     grade[4];
    double   alpha_mean;
    tqc_sweep_layer *layers;
    int      n_layers;
    int      decoder;              /* compare: 1 decoder (kl), 0 encoder (cos) */
    double   cmp_cos, cmp_kl, cmp_agree;
};

typedef struct tqc_sweep_table {
    const tqc_sweep_plan *plan;
    tqc_sweep_row        *rows;     /* one per model task, in plan order (a
                                       split one with its tensors' alphas)    */
    int                   n_rows;
    unsigned char        *present;  /* per plan task: its result was read     */
    int                   missing, failed;   /* tasks (tensor tasks included) */
} tqc_sweep_table;

/** Read every task's result from OUT. Missing ones are counted, not an error. */
int  tqc_sweep_table_load(const tqc_sweep_plan *p, const char *out, tqc_sweep_table *tb, char *msg, size_t cap);
void tqc_sweep_table_free(tqc_sweep_table *tb);
/** Name the missing tasks on f (id, model, setting); returns how many. */
int  tqc_sweep_table_missing(const tqc_sweep_table *tb, FILE *f);
/** The table: style 0 text, 1 JSON, 2 CSV. Bytes depend on the results only. */
void tqc_sweep_table_print(const tqc_sweep_table *tb, FILE *f, int style);
/** Write the HTML report atomically; 0, or 2 with msg. */
int  tqc_sweep_html(const tqc_sweep_table *tb, const char *path, char *msg, size_t cap);

/* ---- MPI (sweep_mpi.c; stubs when built without it) ------------------------- */

/** Join the MPI job when launched by mpirun/srun (and built with MPI): rank
 *  and size; else *rank 0, *size 1. 0, or -1 with msg. */
int  tqc_sweep_mpi_begin(int *rank, int *size, char *msg, size_t cap);
/** Collective: every rank hands rank 0 the result files of its tasks that
 *  rank 0 lacks (so OUT need not be shared), then all wait for all. Returns
 *  the number of ranks whose tasks failed (same on every rank). */
int  tqc_sweep_mpi_collect(const tqc_sweep_plan *p, const char *out, int rank, int size, int my_failed);
void tqc_sweep_mpi_end(void);
/** "MPI (Open MPI x.y)" or "no MPI" for messages and --version-like texts. */
const char *tqc_sweep_mpi_info(void);
#endif
