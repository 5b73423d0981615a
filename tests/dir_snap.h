/*
 * dir_snap.h — directory snapshots for the output-safety tests (test_faults.c,
 * test_convert_copy.c): a directory's names, sizes and content hashes as one
 * string, to compare before and after a failed run, and the count of files a
 * run left beside an output directory; and the small safetensors models they
 * convert. Static functions: include it in one test file each.
 */
#ifndef TQ_TEST_DIR_SNAP_H
#define TQ_TEST_DIR_SNAP_H
#include "core/internal.h"
#include "io/writer.h"
#include "tq_test.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A directory as one string: sorted "name size sum\n" lines, one level of
 * subdirectories, symlinks as "name -> target". "" when absent. */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void snap_into(const char *dir, const char *rel, tq_sb *out, int depth) {
    DIR *d = opendir(dir);
    if (!d) return;
    char *names[256];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 256)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) names[n++] = tq_strdup(de->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_str);
    for (int i = 0; i < n; i++) {
        char p[2048], l[1024];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        struct stat st;
        ssize_t k;
        if (lstat(p, &st) != 0) continue;
        if (S_ISLNK(st.st_mode) && (k = readlink(p, l, sizeof l - 1)) >= 0) {
            l[k] = 0;
            tq_sb_printf(out, "%s%s -> %s\n", rel, names[i], l);
        } else if (S_ISDIR(st.st_mode) && depth < 2) {
            char r2[1024];
            snprintf(r2, sizeof r2, "%s%s/", rel, names[i]);
            tq_sb_printf(out, "%s\n", r2);
            snap_into(p, r2, out, depth + 1);
        } else {
            char *b = NULL;
            size_t len = 0;
            uint64_t h = 1469598103934665603ull;
            tq_error e;
            if (S_ISREG(st.st_mode) && tq_read_file(p, &b, &len, &e) == TQ_OK)
                for (size_t j = 0; j < len; j++) h = (h ^ (uint8_t)b[j]) * 1099511628211ull;
            free(b);
            tq_sb_printf(out, "%s%s %llu %016llx\n", rel, names[i], (unsigned long long)st.st_size, (unsigned long long)h);
        }
    }
    for (int i = 0; i < n; i++) free(names[i]);
}
static char *snap(const char *dir) {
    tq_sb b = {0};
    tq_sb_puts(&b, "");
    snap_into(dir, "", &b, 0);
    return b.s;
}

/* No NAME.tq-tmp-*, no .NAME.trueq-* beside the output directory NAME. */
static int debris(const char *out) {
    char *parent = tq_path_dirname(out);
    const char *base = strrchr(out, '/') + 1;
    char pre[512];
    snprintf(pre, sizeof pre, ".%s.trueq-", base);
    int n = 0;
    DIR *d = opendir(parent);
    struct dirent *de;
    while (d && (de = readdir(d))) n += strncmp(de->d_name, pre, strlen(pre)) == 0;
    if (d) closedir(d);
    d = opendir(out);
    while (d && (de = readdir(d))) n += strstr(de->d_name, ".tq-tmp-") != NULL || strstr(de->d_name, ".trueq-") != NULL;
    if (d) closedir(d);
    free(parent);
    return n;
}

/* A safetensors file at path with tensors T[0..n): F32 or BF16, [r, c] (c == 0:
 * 1-D [r]), values 0.05 * tq_t_randn from seed, tensor after tensor. Exits on failure. */
typedef struct snap_tensor { const char *name; tq_dtype dt; int64_t r, c; } snap_tensor;
static void snap_write_st(const char *path, const snap_tensor *T, int n, uint64_t seed) {
    tq_wentry *we = calloc((size_t)n, sizeof *we);
    for (int i = 0; i < n; i++) {
        we[i].name = T[i].name; we[i].dtype = T[i].dt; we[i].ndim = T[i].c ? 2 : 1;
        we[i].shape[0] = T[i].r; we[i].shape[1] = T[i].c;
    }
    tq_error e;
    tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, path, we, n, NULL, NULL, 0, &e);
    if (!w) { fprintf(stderr, "writer: %s\n", e.msg); exit(1); }
    for (int i = 0; i < n; i++) {
        int64_t k, m = T[i].r * (T[i].c ? T[i].c : 1);
        uint8_t *b = malloc((size_t)m * 4);
        for (k = 0; k < m; k++) {
            float v = 0.05f * tq_t_randn(&seed);
            if (T[i].dt == TQ_DTYPE_BF16) { uint16_t h = tq_f32_to_bf16(v); memcpy(b + 2 * k, &h, 2); }
            else memcpy(b + 4 * k, &v, 4);
        }
        if (tq_writer_put(w, i, b, w->nbytes[i], &e)) { fprintf(stderr, "put: %s\n", e.msg); exit(1); }
        free(b);
    }
    if (tq_writer_finish(w, &e)) { fprintf(stderr, "finish: %s\n", e.msg); exit(1); }
    tq_writer_free(w);
    free(we);
}

/* dir/model.safetensors from T (snap_write_st) and dir/config.json holding config. */
static void snap_write_model(const char *dir, const snap_tensor *T, int n, uint64_t seed, const char *config) {
    char p[1100];
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    snap_write_st(p, T, n, seed);
    snprintf(p, sizeof p, "%s/config.json", dir);
    tq_t_write(p, config, strlen(config));
}

/* Convert the model at in into out: `bits` (0: the default), `threads` (0: the default). */
static tq_status snap_convert(const char *in, const char *out, int bits, int threads, tq_error *e) {
    tq_model *m = tq_model_open(in, e);
    if (!m) return e->status;
    tq_convert_options o;
    tq_convert_options_init(&o);
    if (bits) o.q.bits = bits;
    if (threads) o.threads = threads;
    tq_plan *p = tq_plan_create(m, &o, e);
    if (!p) { tq_model_close(m); return e->status; }
    tq_status st = tq_plan_execute(p, out, NULL, NULL, e);
    tq_plan_free(p);
    tq_model_close(m);
    return st;
}
#endif
