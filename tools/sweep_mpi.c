/* sweep_mpi.c — the only MPI code of trueq (sweep.h). Built against MPI when
 * CMake's TQ_MPI finds it (TQ_HAVE_MPI); otherwise the same functions say that
 * there is no MPI, and a run launched by mpirun with several ranks is refused
 * rather than run N times over. The library never sees MPI. */
#include "sweep.h"
#include "core/internal.h"
#include <stdlib.h>
#include <string.h>
#ifdef TQ_HAVE_MPI
#include <mpi.h>
#endif

/* The size of the job the launcher announces (Open MPI, PMI, PMIx), 0: none. */
static int launched_size(void) {
    const char *s = getenv("OMPI_COMM_WORLD_SIZE");
    if (!s) s = getenv("PMI_SIZE");
    if (!s && getenv("PMIX_RANK")) s = "1";
    return s ? atoi(s) : 0;
}

#ifdef TQ_HAVE_MPI
static int g_active;
enum { TAG_RESULTS = 17 };

int tqc_sweep_mpi_begin(int *rank, int *size, char *msg, size_t cap) {
    *rank = 0;
    *size = 1;
    if (launched_size() == 0) return 0;   /* a plain run: no MPI at all */
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) { snprintf(msg, cap, "MPI_Init failed"); return -1; }
    g_active = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
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
        MPI_Send(buf ? buf : "", (int)len, MPI_BYTE, 0, TAG_RESULTS, MPI_COMM_WORLD);
        free(buf);
    } else {
        for (int r = 1; r < size; r++) {
            MPI_Status st;
            int n = 0;
            MPI_Probe(r, TAG_RESULTS, MPI_COMM_WORLD, &st);
            MPI_Get_count(&st, MPI_BYTE, &n);
            char *buf = malloc((size_t)n + 1);
            MPI_Recv(buf ? buf : (char[1]){0}, buf ? n : 0, MPI_BYTE, r, TAG_RESULTS, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (buf) unpack(buf, (size_t)n, out);
            free(buf);
        }
    }
    int mine = my_failed != 0, ranks_failed = 0;
    MPI_Allreduce(&mine, &ranks_failed, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    return ranks_failed;
}

void tqc_sweep_mpi_end(void) {
    if (g_active) MPI_Finalize();
    g_active = 0;
}

const char *tqc_sweep_mpi_info(void) {
#ifdef OMPI_MAJOR_VERSION
    return "MPI (Open MPI)";
#else
    return "MPI";
#endif
}

#else /* built without MPI */

int tqc_sweep_mpi_begin(int *rank, int *size, char *msg, size_t cap) {
    *rank = 0;
    *size = 1;
    if (launched_size() > 1) {
        snprintf(msg, cap, "launched as one of %d MPI ranks, but this trueq was built without MPI "
                 "(install libopenmpi-dev and rebuild; or run shards with --shard K/N)", launched_size());
        return -1;
    }
    return 0;
}

int tqc_sweep_mpi_collect(const tqc_sweep_plan *p, const char *out, int rank, int size, int my_failed) {
    (void)p; (void)out; (void)rank; (void)size;
    return my_failed != 0;
}

void tqc_sweep_mpi_end(void) {}

const char *tqc_sweep_mpi_info(void) { return "no MPI"; }
#endif
