/* mpi_plugin.h — the table of the MPI plugin, libtrueq_mpi.so (tools/mpi/mpi_plugin.c).
 *
 * The trueq executable does not link libmpi (loading Open MPI, hwloc, libevent
 * and friends cost every command several milliseconds of start-up). Only
 * `trueq sweep` launched by mpirun/srun dlopen()s the plugin (sweep_mpi.c), looked up
 *   1. $TRUEQ_MPI_PLUGIN (a path), when set;
 *   2. next to the executable (a build tree: build/libtrueq_mpi.so);
 *   3. in the install lib dir relative to it (<prefix>/bin/../<libdir>/libtrueq_mpi.so);
 * and asks its one exported symbol, TQC_MPI_PLUGIN_SYMBOL, for this table.
 * The plugin holds thin wrappers of MPI calls on MPI_COMM_WORLD and no logic;
 * what is sent and merged stays in sweep_mpi.c. Every function returns 0 on
 * success, nonzero on an MPI error. A table of another abi is refused. */
#ifndef TQC_MPI_PLUGIN_H
#define TQC_MPI_PLUGIN_H
#include <stddef.h>

#define TQC_MPI_PLUGIN_ABI 1
#define TQC_MPI_PLUGIN_SYMBOL "tqc_mpi_plugin_v1"
#define TQC_MPI_PLUGIN_FILE "libtrueq_mpi.so"

typedef struct tqc_mpi_ops {
    int abi;                                  /* TQC_MPI_PLUGIN_ABI */
    const char *info;                         /* "MPI (Open MPI)" or "MPI" */
    int (*init)(int *rank, int *size);        /* MPI_Init + rank and size of the world */
    /* Blocking send of len bytes (len < 2^31) to rank `to` with tag. */
    int (*send)(const void *buf, size_t len, int to, int tag);
    /* Receive the next message of tag from rank `from`, whatever its size:
     * *buf malloc'ed (the caller frees; NULL when out of memory, the message
     * then received and dropped), *len its length. */
    int (*recv_any)(int from, int tag, char **buf, size_t *len);
    /* Sum of `mine` over every rank, the same on every rank. */
    int (*sum_int)(int mine, int *sum);
    void (*finalize)(void);
} tqc_mpi_ops;

/** The plugin's one export: its table. */
typedef const tqc_mpi_ops *(*tqc_mpi_plugin_fn)(void);
#endif
