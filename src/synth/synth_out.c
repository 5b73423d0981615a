/*
 * synth_out.c — the synthetic checkpoints' weights, streamed into safetensors
 * files: one tensor is generated, converted to the stored dtype and written
 * before the next is drawn, so memory holds one tensor (in float32 and in
 * its stored form), never the model.
 *
 * Sharding follows Hugging Face's save_pretrained: tensors in order, a new
 * shard whenever the next tensor would take the current one past max_shard
 * data bytes; one shard is model.safetensors, more are
 * model-0000K-of-0000N.safetensors plus model.safetensors.index.json
 * ({"metadata": {"total_size": tensor bytes}, "weight_map": {name: file}},
 * names sorted, two-space indent). Each file carries {"format": "pt"}.
 */
#include "synth/synth_internal.h"
#include "io/writer.h"
#include <stdlib.h>
#include <string.h>

static int elem_bytes(tq_dtype t) { return t == TQ_DTYPE_F32 ? 4 : 2; }

static void shard_name(char *out, size_t cap, int k, int n) {
    if (n == 1) snprintf(out, cap, "model.safetensors");
    else snprintf(out, cap, "model-%05d-of-%05d.safetensors", k + 1, n);
}

static const tq_synth_spec *g_sort_specs;   /* qsort has no context argument */
static int by_name(const void *a, const void *b) {
    return strcmp(g_sort_specs[*(const int *)a].name, g_sort_specs[*(const int *)b].name);
}

static tq_status write_index(const char *dir, const tq_synth_spec *s, int n, const int *shard, int n_shards,
                             uint64_t total, tq_error *err) {
    int *order = malloc(sizeof(int) * (size_t)n);
    if (!order) return tq_err(err, TQ_E_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) order[i] = i;
    g_sort_specs = s;
    qsort(order, (size_t)n, sizeof *order, by_name);
    tq_sb b = {0};
    tq_sb_printf(&b, "{\n  \"metadata\": {\n    \"total_size\": %llu\n  },\n  \"weight_map\": {\n", (unsigned long long)total);
    for (int i = 0; i < n; i++) {
        char file[64];
        shard_name(file, sizeof file, shard[order[i]], n_shards);
        tq_sb_puts(&b, "    ");
        tq_sb_json_str(&b, s[order[i]].name);
        tq_sb_printf(&b, ": \"%s\"%s\n", file, i + 1 < n ? "," : "");
    }
    tq_sb_puts(&b, "  }\n}\n");
    free(order);
    tq_status st = b.oom ? tq_err(err, TQ_E_NOMEM, "out of memory")
                         : tq_synth_write_text(dir, "model.safetensors.index.json", b.s, err);
    tq_sb_free(&b);
    return st;
}

/* Plan (and with dir, write) shard k: the tensors i with shard[i] == k. */
static tq_status one_shard(const char *dir, const tq_synth_spec *s, int n, const int *shard, int k, int n_shards,
                           uint64_t seed, tq_dtype dtype, float *f32, void *out, int64_t *done,
                           tq_progress_fn progress, void *ud, tq_synth_summary *sum, tq_error *err) {
    tq_wentry *we = calloc((size_t)n, sizeof *we);
    int *idx = malloc(sizeof(int) * (size_t)n);
    if (!we || !idx) { free(we); free(idx); return tq_err(err, TQ_E_NOMEM, "out of memory"); }
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (shard[i] != k) continue;
        we[m].name = s[i].name;
        we[m].dtype = dtype;
        if (s[i].rows) { we[m].ndim = 2; we[m].shape[0] = s[i].rows; we[m].shape[1] = s[i].cols; }
        else { we[m].ndim = 1; we[m].shape[0] = s[i].cols; }
        idx[m++] = i;
    }
    char file[64];
    shard_name(file, sizeof file, k, n_shards);
    char *path = dir ? tq_path_join(dir, file) : NULL;
    static const char *const mk[] = {"format"}, *const mv[] = {"pt"};
    tq_status st = TQ_OK;
    tq_writer *w = NULL;
    if (dir && !path) st = tq_err(err, TQ_E_NOMEM, "out of memory");
    else if (!(w = tq_writer_create(TQ_FORMAT_SAFETENSORS, path, we, m, mk, mv, 1, err))) st = err ? err->status : TQ_E_IO;
    if (!st && sum) sum->file_bytes += w->total_size;
    for (int j = 0; !st && dir && j < m; j++) {
        const tq_synth_spec *e = &s[idx[j]];
        int64_t cnt = tq_synth_count(e);
        if ((st = tq_synth_gen(seed, e, f32, err))) break;
        const void *data = f32;
        if (dtype != TQ_DTYPE_F32) {
            if ((st = tq_convert_from_f32(dtype, f32, cnt, out, err))) break;
            data = out;
        }
        st = tq_writer_put(w, j, data, (uint64_t)cnt * (uint64_t)elem_bytes(dtype), err);
        ++*done;
        if (!st && progress) progress(ud, *done, n, e->name);
    }
    if (!st && dir) st = tq_writer_finish(w, err);
    tq_writer_free(w);
    free(path); free(we); free(idx);
    return st;
}

tq_status tq_synth_write_weights(const char *dir, const tq_synth_spec *s, int n, uint64_t seed, tq_dtype dtype,
                                 uint64_t max_shard, tq_progress_fn progress, void *ud, tq_synth_summary *sum,
                                 tq_error *err) {
    if (dtype != TQ_DTYPE_F32 && dtype != TQ_DTYPE_F16 && dtype != TQ_DTYPE_BF16)
        return tq_err(err, TQ_E_ARG, "synth: dtype %s is not one of F32, F16, BF16", tq_dtype_name(dtype));
    int *shard = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!shard) return tq_err(err, TQ_E_NOMEM, "out of memory");
    int n_shards = 0;
    uint64_t cur = 0, total = 0;
    int64_t maxn = 1, params = 0;
    for (int i = 0; i < n; i++) {
        int64_t c = tq_synth_count(&s[i]);
        uint64_t b = (uint64_t)c * (uint64_t)elem_bytes(dtype);
        if (n_shards == 0 || (cur > 0 && cur + b > max_shard)) { n_shards++; cur = 0; }
        shard[i] = n_shards - 1;
        cur += b;
        total += b;
        params += c;
        if (c > maxn) maxn = c;
    }
    if (sum) { memset(sum, 0, sizeof *sum); sum->n_tensors = n; sum->n_params = params; sum->data_bytes = total; sum->n_shards = n_shards; }
    float *f32 = dir ? malloc(sizeof(float) * (size_t)maxn) : NULL;
    void *out = dir && dtype != TQ_DTYPE_F32 ? malloc(2 * (size_t)maxn) : NULL;
    tq_status st = TQ_OK;
    if (dir && (!f32 || (dtype != TQ_DTYPE_F32 && !out)))
        st = tq_err(err, TQ_E_NOMEM, "synth: out of memory for a tensor of %lld values", (long long)maxn);
    int64_t done = 0;
    for (int k = 0; !st && k < n_shards; k++)
        st = one_shard(dir, s, n, shard, k, n_shards, seed, dtype, f32, out, &done, progress, ud, sum, err);
    if (!st && dir && n_shards > 1) st = write_index(dir, s, n, shard, n_shards, total, err);
    free(f32); free(out); free(shard);
    return st;
}
