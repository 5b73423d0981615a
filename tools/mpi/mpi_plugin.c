/* mpi_plugin.c — libtrueq_mpi.so: the only file of trueq that includes mpi.h.
 * Thin wrappers over MPI_COMM_WORLD behind the table of tools/mpi_plugin.h;
 * sweep_mpi.c loads this module only when mpirun/srun launched the sweep. */
#include "mpi_plugin.h"
#include <mpi.h>
#include <stdlib.h>

static int p_init(int *rank, int *size) {
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) return -1;
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    return 0;
}

static int p_send(const void *buf, size_t len, int to, int tag) {
    if (len > 0x7fffffff) return -1;
    return MPI_Send(len ? buf : "", (int)len, MPI_BYTE, to, tag, MPI_COMM_WORLD) != MPI_SUCCESS;
}

static int p_recv_any(int from, int tag, char **buf, size_t *len) {
    MPI_Status st;
    int n = 0;
    *buf = NULL;
    *len = 0;
    if (MPI_Probe(from, tag, MPI_COMM_WORLD, &st) != MPI_SUCCESS) return -1;
    MPI_Get_count(&st, MPI_BYTE, &n);
    char *b = malloc((size_t)n + 1);
    char drop[1];
    int rc = MPI_Recv(b ? b : drop, b ? n : 0, MPI_BYTE, from, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS || !b) {
        free(b);
        return rc != MPI_SUCCESS;
    }
    *buf = b;
    *len = (size_t)n;
    return 0;
}

static int p_sum_int(int mine, int *sum) {
    return MPI_Allreduce(&mine, sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS;
}

static void p_finalize(void) { MPI_Finalize(); }

static const tqc_mpi_ops ops = {
    .abi = TQC_MPI_PLUGIN_ABI,
#ifdef OMPI_MAJOR_VERSION
    .info = "MPI (Open MPI)",
#else
    .info = "MPI",
#endif
    .init = p_init, .send = p_send, .recv_any = p_recv_any, .sum_int = p_sum_int, .finalize = p_finalize,
};

__attribute__((visibility("default"))) const tqc_mpi_ops *tqc_mpi_plugin_v1(void);
const tqc_mpi_ops *tqc_mpi_plugin_v1(void) { return &ops; }
