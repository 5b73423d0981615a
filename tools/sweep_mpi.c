/* sweep_mpi.c — the MPI part of `trueq sweep` (sweep.h). The executable does
 * not link MPI: when a launcher (mpirun, srun) announces ranks, this file
 * dlopen()s the MPI plugin, libtrueq_mpi.so (tools/mpi_plugin.h says where it is
 * looked up), and talks to MPI through its table only. A plain run never loads
 * it. Without the plugin (built without MPI, or not installed next to trueq) a
 * run launched with several ranks is refused, naming the path, rather than run
 * N times over. The library never sees MPI. */
#include "sweep.h"
#include "mpi_plugin.h"
#include "core/internal.h"
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The size of the job the launcher announces (Open MPI, PMI, PMIx), 0: none. */
static int launched_size(void) {
    const char *s = getenv("OMPI_COMM_WORLD_SIZE");
    if (!s) s = getenv("PMI_SIZE");
    if (!s && getenv("PMIX_RANK")) s = "1";
    return s ? atoi(s) : 0;
}

static const tqc_mpi_ops *g_ops;   /* the plugin's table once loaded */
static int g_active;                /* MPI_Init done, MPI_Finalize not yet */
enum { TAG_RESULTS = 17 };

#ifndef TQ_MPI_PLUGIN_RELDIR
#define TQ_MPI_PLUGIN_RELDIR "../lib"
#endif

/* Try one path; on failure append "PATH: why" to why[]. */
static const tqc_mpi_ops *try_load(const char *path, char *why, size_t cap) {
    void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);   /* GLOBAL: Open MPI's own components need libmpi's symbols */
    const char *e = NULL;
    if (h) {
        tqc_mpi_plugin_fn fn;
        void *sym = dlsym(h, TQC_MPI_PLUGIN_SYMBOL);
        memcpy(&fn, &sym, sizeof fn);
        const tqc_mpi_ops *ops = sym ? fn() : NULL;
        if (ops && ops->abi == TQC_MPI_PLUGIN_ABI) return ops;
        e = sym ? "plugin of another version" : "no " TQC_MPI_PLUGIN_SYMBOL;
        dlclose(h);
    } else {
        e = dlerror();
    }
    size_t n = strlen(why);
    if (n < cap) snprintf(why + n, cap - n, "%s%s (%s)", n ? "; " : "", path, e ? e : "?");
    return NULL;
}

/* $TRUEQ_MPI_PLUGIN, else next to the executable, else <exe dir>/TQ_MPI_PLUGIN_RELDIR. */
static const tqc_mpi_ops *load_plugin(char *why, size_t cap) {
    why[0] = 0;
    const char *env = getenv("TRUEQ_MPI_PLUGIN");
    if (env && *env) return try_load(env, why, cap);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) { snprintf(why, cap, "/proc/self/exe unreadable"); return NULL; }
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) slash[1] = 0;
    char path[4096 + 128];
    snprintf(path, sizeof path, "%s%s", exe, TQC_MPI_PLUGIN_FILE);
    const tqc_mpi_ops *ops = try_load(path, why, cap);
    if (ops) return ops;
    snprintf(path, sizeof path, "%s%s/%s", exe, TQ_MPI_PLUGIN_RELDIR, TQC_MPI_PLUGIN_FILE);
    return try_load(path, why, cap);
}

int tqc_sweep_mpi_begin(int *rank, int *size, char *msg, size_t cap) {
    *rank = 0;
    *size = 1;
    int n = launched_size();
    if (n == 0) return 0;   /* a plain run: no MPI at all */
    char why[1536];
    if (!g_ops) g_ops = load_plugin(why, sizeof why);
    if (!g_ops) {
        if (n <= 1) return 0;   /* one rank: the same as a plain run */
#ifdef TQ_HAVE_MPI
        snprintf(msg, cap, "launched as one of %d MPI ranks, but the MPI plugin could not be loaded: %s "
                 "(set TRUEQ_MPI_PLUGIN to its path, or run shards with --shard K/N)", n, why);
#else
        snprintf(msg, cap, "launched as one of %d MPI ranks, but this trueq was built without MPI "
                 "(install libopenmpi-dev and rebuild; or run shards with --shard K/N)", n);
#endif
        return -1;
    }
    if (g_ops->init(rank, size)) { snprintf(msg, cap, "MPI_Init failed"); return -1; }
    g_active = 1;
    return 0;
}

/* Append one record (id, 8-byte length, bytes) of a result file to *buf. */
static int pack(char **buf, size_t *len, size_t *cap, const char *id, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;   /* not written: the merge will name the task */
    char tmp[65536];
    size_t n = fread(tmp, 1, sizeof tmp, f);
    int whole = feof(f);
    fclose(f);
    if (!whole) return 0;   /* results are small; a huge one stays where it is */
    size_t need = *len + TQC_SW_ID_LEN + 8 + n;
    if (need > *cap) {
        size_t nc = need * 2;
        char *nb = realloc(*buf, nc);
        if (!nb) return -1;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, id, TQC_SW_ID_LEN);
    uint64_t l = n;
    memcpy(*buf + *len + TQC_SW_ID_LEN, &l, 8);
    memcpy(*buf + *len + TQC_SW_ID_LEN + 8, tmp, n);
    *len = need;
    return 0;
}

/* Rank 0: write the records of one message. */
static void unpack(const char *buf, size_t len, const char *out) {
    size_t off = 0;
    while (off + TQC_SW_ID_LEN + 8 <= len) {
        char id[TQC_SW_ID_LEN + 1];
        memcpy(id, buf + off, TQC_SW_ID_LEN);
        id[TQC_SW_ID_LEN] = 0;
        uint64_t n;
        memcpy(&n, buf + off + TQC_SW_ID_LEN, 8);
        off += TQC_SW_ID_LEN + 8;
        if (n > len - off) return;
        size_t pl = strlen(out) + TQC_SW_ID_LEN + 8;
        char *path = malloc(pl);
        if (path) {
            snprintf(path, pl, "%s/%s.json", out, id);
            tq_error err = {0};
            if (tq_write_file_atomic(path, buf + off, (size_t)n, &err) != TQ_OK)
                fprintf(stderr, "trueq sweep: rank 0: %s\n", err.msg);
            free(path);
        }
        off += (size_t)n;
    }
}

int tqc_sweep_mpi_collect(const tqc_sweep_plan *p, const char *out, int rank, int size, int my_failed) {
    if (!g_active || size <= 1) return my_failed != 0;
    if (rank != 0) {
        char *buf = NULL;
        size_t len = 0, cap = 0;
        for (int i = 0; i < p->n_tasks; i++) {
            if (p->tasks[i].shard != rank) continue;
            char *path = tqc_sweep_result_path(out, &p->tasks[i]);
            if (path && pack(&buf, &len, &cap, p->tasks[i].id, path)) len = 0;
            free(path);
        }
        if (g_ops->send(buf, len, 0, TAG_RESULTS)) fprintf(stderr, "trueq sweep: rank %d: MPI_Send failed\n", rank);
        free(buf);
    } else {
        for (int r = 1; r < size; r++) {
            char *buf = NULL;
            size_t n = 0;
            if (g_ops->recv_any(r, TAG_RESULTS, &buf, &n)) fprintf(stderr, "trueq sweep: rank 0: MPI_Recv from %d failed\n", r);
            if (buf) unpack(buf, n, out);
            free(buf);
        }
    }
    int ranks_failed = 0;
    if (g_ops->sum_int(my_failed != 0, &ranks_failed)) return size;
    return ranks_failed;
}

void tqc_sweep_mpi_end(void) {
    if (g_active) g_ops->finalize();
    g_active = 0;
}

const char *tqc_sweep_mpi_info(void) {
    if (g_ops) return g_ops->info;
#ifdef TQ_HAVE_MPI
    return "MPI (plugin " TQC_MPI_PLUGIN_FILE ", not loaded)";
#else
    return "no MPI";
#endif
}
