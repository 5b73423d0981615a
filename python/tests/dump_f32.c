/* dump_f32.c — the C loader's view of a model, for the Python tests:
 *   dump_f32 MODEL OUTDIR
 * writes OUTDIR/<i>.f32 (tq_model_tensor_f32 of tensor i, raw float32) and
 * OUTDIR/<i>.raw (its stored payload bytes) for every tensor, and prints one
 * line per tensor: index, name, stored dtype, numel. Exit 2 on any error. */
#include <trueq.h>
#include <stdio.h>
#include <stdlib.h>

static int write_file(const char *dir, long long i, const char *ext, const void *p, size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%lld.%s", dir, i, ext);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = n ? fwrite(p, 1, n, f) : 0;
    return (fclose(f) != 0 || w != n) ? -1 : 0;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: dump_f32 MODEL OUTDIR\n"); return 1; }
    tq_error err;
    tq_model *m = tq_model_open(argv[1], &err);
    if (!m) { fprintf(stderr, "dump_f32: %s\n", err.msg); return 2; }
    int rc = 0;
    for (int64_t i = 0; i < tq_model_count(m) && !rc; i++) {
        const tq_tensor *t = tq_model_tensor(m, i);
        float *v = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *v);
        if (!v || tq_model_tensor_f32(m, t, v, &err)) { fprintf(stderr, "dump_f32: %s\n", v ? err.msg : "no memory"); rc = 2; }
        if (!rc && write_file(argv[2], (long long)i, "f32", v, (size_t)t->numel * sizeof *v)) rc = 2;
        if (!rc && t->data && write_file(argv[2], (long long)i, "raw", t->data, (size_t)t->nbytes)) rc = 2;
        if (!rc) printf("%lld %s %s %lld\n", (long long)i, t->name, tq_dtype_name(t->dtype), (long long)t->numel);
        free(v);
    }
    tq_model_close(m);
    return rc;
}
