/*
 * execute.c — carry out a plan: stream one tensor at a time from the input
 * to the output, then write conversion_metadata.json and copy the model's
 * config/tokenizer files; all of it into the output directory's staging
 * directory, committed whole at the end (core/outdir.c, docs/robustness.md).
 *
 * Reads: never through the input map (a file that shrinks would raise
 * SIGBUS): kept tensors are copied by file descriptor, quantized ones read
 * with pread (tq_map_read); the input is checked unchanged before commit.
 *
 * Memory: a quantized tensor needs its bytes (one pread copy), its float32
 * values (that copy when it is F32, else one converted copy), its codes and
 * its side tensors; a float32 tensor with a row-local codec needs only two
 * 1 MiB row chunks (write_chunked, rowstream.h), its codes and side tensors,
 * in one of two slot sets used in turn (the previous tensor's are written out
 * meanwhile). Input pages are released after each tensor, so peak RSS stays
 * near the largest tensors' working sets, not the model size.
 *
 * Overlap (rowstream.h; same bytes for any thread count): a streamed tensor's
 * next chunk is read while this one is quantized on the pool; its entries are
 * written by a task of the next pool run; kept tensors of 1 MiB and more are
 * copied 2 MiB at a time on the stream's lane thread (put_piece), beside it,
 * all queued before the first tensor (copied_early).
 * Output bytes are handed to the device as they are written (start_writeback);
 * the fsync before commit stays. conversion_metadata.json is written before
 * the weights are committed; both are committed with the staging tree
 * (tq_outdir_commit_with: their fsyncs and its directories' in one batch), and
 * the side files all at once on their thread (tq_out_commit_all).
 */
#define _GNU_SOURCE 1   /* sync_file_range */
#include "core/wmem.h"
#include "convert/convert.h"
#include "codec/codec.h"
#include "convert/gguf_export.h"
#include "convert/mlx_export.h"
#include "convert/rowstream.h"
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The output directory (core/outdir.c): every file is written into its
 * staging directory and the whole is committed at the end, so a failed,
 * interrupted or killed run leaves the earlier output as it was. `paths`
 * are the staged files, registered for tq_cleanup_pending (SIGINT/SIGTERM). */
typedef struct created { tq_outdir od; char **paths; int n; char *pool; } created;

/* A directory standing at a name this run writes: refused, as before. */
static tq_status check_target(const created *c, const char *name, tq_error *err) {
    char *t = tq_outdir_target_path(&c->od, name);
    struct stat st;
    tq_status s = !t ? tq_err(err, TQ_E_NOMEM, "out of memory")
                : lstat(t, &st) == 0 && S_ISDIR(st.st_mode)
                ? tq_err(err, TQ_E_IO, "%s: is a directory; trueq would write a file there", t) : TQ_OK;
    free(t);
    return s;
}

static void created_add(created *c, const char *path) {
    char **np = realloc(c->paths, sizeof(char *) * (size_t)(c->n + 1));
    if (!np) return;
    c->paths = np;
    c->paths[c->n] = tq_strdup(path);
    if (c->paths[c->n]) { tq_pending_add(path, false); c->n++; }
}

static void created_free(created *c) {
    for (int i = 0; i < c->n; i++) { tq_pending_remove(c->paths[i]); free(c->paths[i]); }
    free(c->paths);
    c->paths = NULL;
    c->n = 0;
    if (c->pool) tq_pending_remove(c->pool);
    free(c->pool);
    c->pool = NULL;
}

static const tq_map *tensor_map(const tq_model *m, const tq_tensor *t) { return &m->files[t->file_index].map; }

static void release_tensor(const tq_model *m, const tq_tensor *t) {
    const tq_map *mp = tensor_map(m, t);
    if (!mp->data || !t->data) return;
    const uint8_t *d = t->data;
    if (d < mp->data || d >= mp->data + mp->size) return;   /* owned (deflated npz) */
    tq_map_release(mp, (uint64_t)(d - mp->data), t->nbytes);
}

/* Prefetch: ask the kernel to start reading the next quantized tensor's
 * bytes into the page cache (posix_fadvise WILLNEED: asynchronous read-ahead)
 * while this one is quantized and written. Its bytes are then read with
 * pread, so only the page cache is warmed; the input map's page tables are
 * never filled (MADV_POPULATE_READ did, which cost system time, and the
 * released pages had to be unmapped again). */
static void prefetch(const tq_model *m, const tq_tensor *t) {
    const tq_map *mp = tensor_map(m, t);
    const uint8_t *d = t->data;
    if (!mp->data || mp->fd < 0 || d < mp->data || d >= mp->data + mp->size || t->nbytes < (1u << 20)) return;
    (void)posix_fadvise(mp->fd, (off_t)(d - mp->data), (off_t)t->nbytes, POSIX_FADV_WILLNEED);
}

/* Write-back: start writing this item's output bytes to the device now
 * (sync_file_range WRITE: asynchronous, no wait), so that it overlaps the
 * quantization of the next tensors and the fsync before commit only waits
 * for what is still in flight. The fsync still comes before the rename, so
 * the durability guarantee is unchanged; this only moves when the disk works.
 * Entries first..end-1 are the item's (its codes and side tensors). */
static void start_writeback(const tq_writer *w, int64_t first, int64_t end) {
#ifdef SYNC_FILE_RANGE_WRITE
    if (!w->opened || w->out.fd < 0 || first >= end) return;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int64_t k = first; k < end; k++) {
        if (w->data_off[k] < lo) lo = w->data_off[k];
        if (w->data_off[k] + w->nbytes[k] > hi) hi = w->data_off[k] + w->nbytes[k];
    }
    if (hi > lo) (void)sync_file_range(w->out.fd, (off_t)lo, (off_t)(hi - lo), SYNC_FILE_RANGE_WRITE);
#else
    (void)w; (void)first; (void)end;
#endif
}

/* Buffers kept for the whole run and reused by every tensor (grow-only, freed
 * at the end): fresh buffers per tensor cost a page fault and a page clear
 * per 4 KiB, about as much system time as reading the input. Peak memory is
 * unchanged: the largest tensor's working set. Slots: the input bytes, their
 * float32 copy, the codes, then one per side tensor. Buffers of 4 MiB and more
 * ask for transparent huge pages. */
enum { S_IN, S_F32, S_CODES, S_AUX0, S_SET = 1 + TQ_MAX_AUX, S_COUNT = S_CODES + 2 * S_SET };

/* A streamed tensor's entries, written by a task of the next pool run
 * (tq_rowstream_defer) so that the write overlaps the next tensor's reads
 * and quantization; its codes and side tensors are in the other set of
 * slots (S_SET later), so the next tensor does not overwrite them. */
typedef struct dwrite {
    tq_writer *w;
    int64_t wi;
    int na;
    const void *codes, *aux[TQ_MAX_AUX];
    uint64_t cb, auxn[TQ_MAX_AUX];
} dwrite;

typedef struct scratch {
    void *p[S_COUNT];
    size_t cap[S_COUNT];
    tq_rowstream rs;     /* row chunks of streamed tensors (write_chunked) and the pool */
    tq_rowsrc next;      /* the next streamed tensor, when has_next: its first chunk is read ahead */
    bool has_next;
    int set;             /* the slot set (0 or 1) of the next streamed tensor */
    dwrite dw;           /* the write left pending in rs */
    const tq_plan *plan; /* for the queued pieces of kept tensors (put_piece) */
    tq_writer *w;
    bool deferred;       /* the current item's write is dw */
} scratch;

static void *scratch_get(scratch *s, int slot, size_t n) {
    if (!n) n = 1;
    if (n <= s->cap[slot]) return s->p[slot];
    /* codes: at least one huge page (one fault for the run, and no new buffer when
     * the next tensor's codes are a little larger: MiniLM's go 147 KB, 590 KB, ...) */
    if ((slot == S_CODES || slot == S_SET + S_CODES) && n < TQ_WMEM_OWN) n = TQ_WMEM_OWN;
    tq_wmem_free(s->p[slot]);
    s->p[slot] = NULL;
    s->cap[slot] = 0;
    void *b = tq_wmem_scratch(n, 0);   /* large: its own huge-page mapping, one fault per 2 MiB (core/wmem.h) */
    if (b) { s->p[slot] = b; s->cap[slot] = n; }
    return b;
}

/* The stream first: its lane's thread (a failed run: still copying kept
 * tensors into the writer) is joined before anything it uses is freed. */
static void scratch_free(scratch *s) {
    tq_rowstream_free(&s->rs);
    for (int i = 0; i < S_COUNT; i++) tq_wmem_free(s->p[i]);
}

/* Error of a simulated tensor, measured while converting (conversion_metadata.json). */
typedef struct sim_stats { int have; int64_t distinct; double mse, snr_db; } sim_stats;

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static void measure(const float *orig, const float *deq, int64_t n, sim_stats *ss) {
    double se = 0, sp = 0;
    for (int64_t i = 0; i < n; i++) { double d = (double)orig[i] - deq[i]; se += d * d; sp += (double)orig[i] * orig[i]; }
    ss->mse = n ? se / (double)n : 0;
    ss->snr_db = se > 0 ? 10.0 * log10(sp / se) : INFINITY;
    float *c = malloc(sizeof(float) * (size_t)(n ? n : 1));
    ss->distinct = -1;
    if (c) {
        memcpy(c, deq, sizeof(float) * (size_t)n);
        qsort(c, (size_t)n, sizeof(float), cmp_float);
        ss->distinct = n > 0;
        for (int64_t i = 1; i < n; i++) ss->distinct += c[i] != c[i - 1];
        free(c);
    }
    ss->have = 1;
}

/* Quantize (or simulate) one item and hand its entries to the writer. */
static tq_status write_quantized(const tq_plan *p, tq_writer *w, int64_t wi, const tq_plan_item *it, const void *data,
                                 scratch *sc, sim_stats *ss, tq_error *err) {
    const tq_tensor *t = it->src;
    int64_t rows, cols;
    tq_shape_2d(t->ndim, t->shape, &rows, &cols);
    tq_status st = TQ_OK;
    const float *f;
    if (t->dtype == TQ_DTYPE_F32 && ((uintptr_t)data % sizeof(float)) == 0) {
        f = data;
    } else {
        float *owned = scratch_get(sc, S_F32, sizeof(float) * (size_t)t->numel);
        if (!owned) return tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory for %lld floats", t->name, (long long)t->numel);
        if (t->quantized) {   /* ggml blocks (GGUF): their decoded values */
            if ((st = tq_model_tensor_f32(p->m, t, owned, err))) return st;
        } else if ((st = tq_convert_to_f32(t->dtype, data, t->numel, owned, err))) {
            return tq_err_prefix(err, st, "tensor \"%s\"", t->name);
        }
        f = owned;
    }
    tq_dtype cd;
    int64_t cs[2];
    tq_aux_desc aux[TQ_MAX_AUX];
    int na = tq_qparams_layout(&it->q, rows, cols, &cd, cs, aux);
    uint64_t cb = tq_nbytes(cd, 2, cs);
    void *codes = scratch_get(sc, S_CODES, (size_t)cb);
    void *auxb[TQ_MAX_AUX] = {0};
    uint64_t auxn[TQ_MAX_AUX] = {0};
    bool oom = !codes;
    for (int a = 0; a < na; a++) {
        auxn[a] = tq_nbytes(aux[a].dtype, aux[a].ndim, aux[a].shape);
        auxb[a] = scratch_get(sc, S_AUX0 + a, (size_t)auxn[a]);
        oom |= !auxb[a];
    }
    if (oom) return tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory", t->name);
    int done = 0;
    if (p->o.prequant && (st = p->o.prequant(p->o.prequant_ctx, t->name, &it->q, rows, cols, codes, auxb, &done, err))) return st;
    if (!done && (st = tq_quantize_threads(&it->q, t->name, f, rows, cols, codes, auxb, p->o.allow_nonfinite, p->o.threads, err))) return st;
    if (p->o.simulate) {
        float *deq = malloc(sizeof(float) * (size_t)(t->numel ? t->numel : 1));
        void *outv = malloc(it->out_bytes ? it->out_bytes : 1);
        if (!deq || !outv) { free(deq); free(outv); st = tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory", t->name); return st; }
        st = tq_dequantize(&it->q, rows, cols, codes, (const void *const *)auxb, deq, err);
        if (!st) measure(f, deq, t->numel, ss);
        if (!st) st = tq_convert_from_f32(it->out_dtype, deq, t->numel, outv, err);
        if (!st) st = tq_writer_put(w, wi, outv, it->out_bytes, err);
        free(deq); free(outv);
        return st;
    }
    if ((st = tq_writer_put(w, wi, codes, cb, err))) return st;
    for (int a = 0; a < na; a++)
        if ((st = tq_writer_put(w, wi + 1 + a, auxb[a], auxn[a], err))) return st;
    return st;
}

/* The config and tokenizer files a model directory carries: copied next to the
 * weights. An allow-list, so a bare file in a busy directory drags nothing else. */
static bool is_side_file(const char *name) {
    static const char *const pats[] = {
        "config.json", "generation_config.json", "params.json", "tokenizer.json", "tokenizer_config.json",
        "special_tokens_map.json", "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt", "tokenizer.model",
        "tok*.bin", "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json",
        "preprocessor_config.json", "chat_template.json", "chat_template.jinja"};
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) if (tq_glob_match(pats[i], name)) return true;
    return false;
}

/* Input files, by device and inode: no output may be one of them. */
typedef struct ino_set { dev_t dev[64]; ino_t ino[64]; int n; } ino_set;

static void ino_add(ino_set *s, const char *path) {
    struct stat st;
    if (s->n < 64 && stat(path, &st) == 0) { s->dev[s->n] = st.st_dev; s->ino[s->n] = st.st_ino; s->n++; }
}

static tq_status ino_check(const ino_set *s, const char *dst, tq_error *err) {
    struct stat st;
    if (stat(dst, &st) != 0) return TQ_OK;
    for (int i = 0; i < s->n; i++)
        if (s->dev[i] == st.st_dev && s->ino[i] == st.st_ino)
            return tq_err(err, TQ_E_ARG, "%s is one of the input's files (through a link or the same directory); "
                          "choose another output directory so the input is never overwritten", dst);
    return TQ_OK;
}

/* One side file: checked (not one of the input's files, no directory at its
 * name), then copied into an open output, committed later with the rest. */
static tq_status open_side_file(const char *indir, const char *name, const ino_set *ins, created *cr, tq_outfile *o,
                                char **dst_out, tq_error *err) {
    char *src = tq_path_join(indir, name), *dst = tq_outdir_path(&cr->od, name), *fin = tq_outdir_target_path(&cr->od, name);
    tq_status st = !src || !dst || !fin ? tq_err(err, TQ_E_NOMEM, "out of memory") : TQ_OK;
    if (!st && !(st = ino_check(ins, fin, err)) && !(st = check_target(cr, name, err)))
        st = tq_copy_file_open(src, dst, o, err);
    free(src); free(fin);
    if (st) { free(dst); dst = NULL; }
    *dst_out = dst;
    return st;
}

/* The side files of a model directory, copied here and committed all at
 * once on a thread (side_start): each fsynced before its name, as before;
 * the fsyncs overlap instead of coming one after another. */
typedef struct side_job {
    const char *indir; const ino_set *ins; created *cr;
    tq_outfile *outs, **op; char **dsts; int k;   /* the copies, open */
    tq_status st; tq_error err; pthread_t th; bool running;
} side_job;

/* Copy every side file into an open output (j->outs[0..k)); on failure none is left open. */
static tq_status copy_side_files(side_job *j, tq_error *err) {
    const char *indir = j->indir;
    const ino_set *ins = j->ins;
    created *cr = j->cr;
    DIR *d = opendir(indir);
    if (!d) return TQ_OK;
    struct dirent *de;
    tq_status st = TQ_OK;
    char **names = NULL; int n = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !is_side_file(de->d_name)) continue;
        char *src = tq_path_join(indir, de->d_name);
        bool reg = src && tq_file_exists(src);
        free(src);
        if (!reg) continue;
        char **nn = realloc(names, sizeof(char *) * (size_t)(n + 1));
        if (!nn || !(nn[n] = tq_strdup(de->d_name))) { if (nn) names = nn; st = TQ_E_NOMEM; break; }
        names = nn;
        n++;
    }
    closedir(d);
    /* sentence-transformers pooling config */
    char *pin = st ? NULL : tq_path_join(indir, "1_Pooling/config.json");
    if (pin && tq_file_exists(pin)) {
        char **nn = realloc(names, sizeof(char *) * (size_t)(n + 1));
        if (!nn || !(nn[n] = tq_strdup("1_Pooling/config.json"))) st = TQ_E_NOMEM;
        else n++;
        if (nn) names = nn;
    }
    free(pin);
    tq_outfile *outs = calloc((size_t)(n ? n : 1), sizeof *outs), **op = calloc((size_t)(n ? n : 1), sizeof *op);
    char **dsts = calloc((size_t)(n ? n : 1), sizeof *dsts);
    int k = 0;
    if (st || !outs || !op || !dsts) st = tq_err(err, TQ_E_NOMEM, "out of memory listing the side files of %s", indir);
    for (int i = 0; i < n && !st; i++) {
        if (strchr(names[i], '/')) {   /* 1_Pooling/config.json: its directory first */
            char *pdir = tq_outdir_path(&cr->od, "1_Pooling");
            if (pdir && mkdir(pdir, 0755) == 0 && !cr->pool && (cr->pool = tq_strdup(pdir))) tq_pending_add(pdir, true);
            free(pdir);
        }
        if (!(st = open_side_file(indir, names[i], ins, cr, &outs[k], &dsts[k], err))) { op[k] = &outs[k]; k++; }
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    j->outs = outs; j->op = op; j->dsts = dsts; j->k = k;
    if (st) for (int i = 0; i < k; i++) tq_out_abort(&outs[i]);
    return st;
}

/* The copies' commit, on the side thread. The thread touches only cr's list
 * and the staging tree, which the streaming thread leaves alone until
 * side_join; the weights' error, when there is one, is reported before the
 * side files' (as when they ran after). */
static void *side_main(void *a) {
    side_job *j = a;
    if (!(j->st = tq_out_commit_all(j->op, j->k, &j->err)))
        for (int i = 0; i < j->k; i++) created_add(j->cr, j->dsts[i]);
    return NULL;
}

/* The copies are made here, before the stream starts (a few small files: the
 * cores are still free, and their fsyncs then start at once instead of when a
 * thread starved by the stream gets to them); their commit goes on a thread. */
static void side_start(side_job *j, const char *indir, const ino_set *ins, created *cr) {
    *j = (side_job){.indir = indir, .ins = ins, .cr = cr};
    if ((j->st = copy_side_files(j, &j->err)) || !j->k) return;   /* reported at side_join */
    j->running = pthread_create(&j->th, NULL, side_main, j) == 0;
    if (!j->running) side_main(j);   /* no thread: commit them here */
}

/* Wait for the side files; their status, err filled from the thread's. Idempotent. */
static tq_status side_join(side_job *j, tq_error *err) {
    if (j->running) pthread_join(j->th, NULL);
    j->running = false;
    for (int i = 0; i < j->k; i++) free(j->dsts[i]);
    free(j->outs); free(j->op); free(j->dsts);
    j->outs = NULL; j->op = NULL; j->dsts = NULL; j->k = 0;
    if (j->st && err) *err = j->err;
    return j->st;
}

/* MLX output: config.json (copied or not) replaced by the one with the quantization block */
static tq_status write_mlx_config(const tq_plan *p, const ino_set *ins, created *cr, tq_error *err) {
    char *json = tq_mlx_config_render(p, err);
    if (!json) return err ? err->status : TQ_E_NOMEM;
    char *dst = tq_outdir_path(&cr->od, "config.json"), *fin = tq_outdir_target_path(&cr->od, "config.json");
    tq_status st = !dst || !fin ? tq_err(err, TQ_E_NOMEM, "out of memory") : TQ_OK;
    bool had = false;
    for (int i = 0; !st && i < cr->n; i++) had |= strcmp(cr->paths[i], dst) == 0;
    if (!st && !had) st = ino_check(ins, fin, err);
    if (!st && !had) st = check_target(cr, "config.json", err);
    if (!st) st = tq_write_file_atomic(dst, json, strlen(json), err);
    if (!st && !had) created_add(cr, dst);
    free(json); free(dst); free(fin);
    return st;
}

static const char *GRAN[] = {"tensor", "channel", "group"};

/* fsize: the weights file's size (the writer's planned total, which its finish checks). */
static char *render_metadata(const tq_plan *p, uint64_t fsize, const sim_stats *ss, tq_error *err) {
    tq_sb b = {0};
    const tq_convert_options *o = &p->o;
    const tq_codec_info *ci = tq_codec_by_id(o->q.codec);
    tq_sb_printf(&b, "{\n  \"trueq_version\": \"%s\",\n  \"source\": ", TQ_VERSION_STRING);
    tq_sb_json_str(&b, tq_model_path(p->m));
    tq_sb_printf(&b, ",\n  \"options\": {\"codec\": \"%s\", \"bits\": %d, \"granularity\": \"%s\", \"group\": %lld, "
                 "\"pad\": %s, \"format\": \"%s\", \"quantize_embeddings\": %s, \"simulate\": %s, \"allow_nonfinite\": %s, "
                 "\"include\": [",
                 ci ? ci->name : "?", o->q.bits, GRAN[o->q.gran], (long long)o->q.group, o->q.pad ? "true" : "false",
                 tq_format_by_id(o->format)->name, o->quantize_embeddings ? "true" : "false",
                 o->simulate ? "true" : "false", o->allow_nonfinite ? "true" : "false");
    for (int i = 0; i < o->n_include; i++) { if (i) tq_sb_puts(&b, ", "); tq_sb_json_str(&b, o->include[i]); }
    tq_sb_puts(&b, "], \"exclude\": [");
    for (int i = 0; i < o->n_exclude; i++) { if (i) tq_sb_puts(&b, ", "); tq_sb_json_str(&b, o->exclude[i]); }
    tq_sb_puts(&b, "]},\n  \"tensors\": [\n");
    uint64_t in_total = 0, out_payload = 0, out_aux = 0;
    int64_t nq = 0, numel = 0, numel_q = 0;
    for (int64_t i = 0; i < p->n; i++) {
        const tq_plan_item *it = &p->items[i];
        const tq_tensor *t = it->src;
        char qs[64] = "";
        if (it->quantize) tq_qparams_str(&it->q, qs, sizeof qs);
        tq_sb_puts(&b, "    {\"name\": ");
        tq_sb_json_str(&b, t->name);
        tq_sb_puts(&b, ", \"shape\": [");
        for (int d = 0; d < t->ndim; d++) tq_sb_printf(&b, d ? ", %lld" : "%lld", (long long)t->shape[d]);
        tq_sb_printf(&b, "], \"in_dtype\": \"%s\", \"out_dtype\": \"%s\", \"quantized\": %s, \"codec\": ",
                     tq_dtype_name(t->dtype), tq_dtype_name(it->out_dtype), it->quantize ? "true" : "false");
        if (it->quantize) tq_sb_json_str(&b, qs); else tq_sb_puts(&b, "null");
        tq_sb_printf(&b, ", \"in_bytes\": %llu, \"out_bytes\": %llu, \"scale_bytes\": %llu, \"rule\": ",
                     (unsigned long long)it->in_bytes, (unsigned long long)it->out_bytes, (unsigned long long)it->aux_bytes);
        tq_sb_json_str(&b, it->rule);
        if (ss && ss[i].have)
            tq_sb_printf(&b, ", \"simulated\": {\"distinct_values\": %lld, \"mse\": %.9g, \"snr_db\": %.6f}",
                         (long long)ss[i].distinct, ss[i].mse, isinf(ss[i].snr_db) ? 999.0 : ss[i].snr_db);
        tq_sb_puts(&b, i + 1 < p->n ? "},\n" : "}\n");
        in_total += it->in_bytes;
        out_payload += it->out_bytes;
        out_aux += it->aux_bytes;
        numel += t->numel;
        if (it->quantize) { nq++; numel_q += t->numel; }
    }
    tq_sb_printf(&b, "  ],\n  \"totals\": {\"tensors\": %lld, \"quantized\": %lld, \"weights\": %lld, "
                 "\"quantized_weights\": %lld, \"input_tensor_bytes\": %llu, \"output_payload_bytes\": %llu, "
                 "\"output_scale_bytes\": %llu, \"output_header_bytes\": %llu, \"output_padding_bytes\": %llu, "
                 "\"output_file\": ",
                 (long long)p->n, (long long)nq, (long long)numel, (long long)numel_q, (unsigned long long)in_total,
                 (unsigned long long)out_payload, (unsigned long long)out_aux, (unsigned long long)p->header_bytes,
                 (unsigned long long)p->padding_bytes);
    tq_sb_json_str(&b, tq_plan_output_name(p));
    tq_sb_printf(&b, ", \"output_file_bytes\": %llu}\n}\n", (unsigned long long)fsize);
    if (b.oom) { tq_sb_free(&b); tq_err(err, TQ_E_NOMEM, "out of memory"); return NULL; }
    return b.s;
}

/* A tensor's bytes inside its file's map: the offset, or false (owned data,
 * e.g. a deflated npz member). */
static bool map_offset(const tq_model *m, const tq_tensor *t, uint64_t *off) {
    const tq_map *mp = tensor_map(m, t);
    const uint8_t *d = t->data;
    if (!mp->data || !d || d < mp->data || d >= mp->data + mp->size) return false;
    *off = (uint64_t)(d - mp->data);
    return true;
}

/* Row chunks: a float32 tensor whose codec's blocks never cross a row at this
 * granularity (row_local_gran_mask: per-row or per-group scales, the rows
 * quantized independently, as the thread split already relies on) is streamed
 * (rowstream.h): read about 1 MiB of rows at a time into one of two small
 * reused buffers, the next chunk (or the next such tensor's first one) read
 * while this one is quantized in row slices on the pool, instead of one pread
 * of the whole tensor into a buffer as large as it (the fresh pages of that
 * buffer, zeroed by the kernel on first touch, cost as much system time as
 * the read itself) followed by the work. The codes and side tensors land at
 * the same places as on the whole-tensor path, so the bytes are the same. */
static bool chunkable(const tq_plan *p, const tq_plan_item *it) {
    const tq_tensor *t = it->src;
    const tq_codec_impl *c = tq_codec_impl_get(it->q.codec);
    uint64_t off;
    return it->quantize && t->dtype == TQ_DTYPE_F32 && !t->quantized && !p->o.simulate && !p->o.prequant && c &&
           c->quantize && (c->row_local_gran_mask & (1u << it->q.gran)) && map_offset(p->m, t, &off) &&
           !getenv("TRUEQ_CONVERT_WHOLE");
}

static tq_rowsrc rowsrc_of(const tq_plan *p, const tq_tensor *t) {
    tq_rowsrc r = {tensor_map(p->m, t), 0, 0, 0, t->name};
    map_offset(p->m, t, &r.off);
    tq_shape_2d(t->ndim, t->shape, &r.rows, &r.cols);
    return r;
}

/* Quantize one slice of rows into its place in the tensor's codes and side
 * tensors, with the codec's row quantizer (the parameters were checked for
 * the whole tensor). A non-finite value is TQ_E_VALUE: the tensor is then left
 * to the whole-tensor path, which names it or (--allow-nonfinite) zeroes it. */
typedef struct qslice {
    const tq_plan_item *it;
    tq_status (*quantize)(const tq_qparams *, const float *, int64_t, int64_t, void *, void *const[TQ_MAX_AUX], tq_error *);
    int64_t cols;
    uint8_t *codes, *aux[TQ_MAX_AUX];
    uint64_t crow, arow[TQ_MAX_AUX];
    int na;
} qslice;

static tq_status quantize_slice(void *ctx, const float *rows, int64_t r0, int64_t n, tq_error *err) {
    const qslice *q = ctx;
    if (!tq_all_finite(rows, n * q->cols)) return TQ_E_VALUE;
    void *ca[TQ_MAX_AUX] = {0};
    for (int a = 0; a < q->na; a++) ca[a] = q->aux[a] + (uint64_t)r0 * q->arow[a];
    return q->quantize(&q->it->q, rows, n, q->cols, q->codes + (uint64_t)r0 * q->crow, ca, err);
}

/* The deferred write: the entries, then their write-back (start_writeback). */
static tq_status put_deferred(void *ctx, tq_error *err) {
    const dwrite *d = ctx;
    tq_status st = tq_writer_put(d->w, d->wi, d->codes, d->cb, err);
    for (int a = 0; a < d->na && !st; a++) st = tq_writer_put(d->w, d->wi + 1 + a, d->aux[a], d->auxn[a], err);
    if (!st) start_writeback(d->w, d->wi, d->wi + 1 + d->na);
    return st;
}

/* Kept tensors of 1 MiB and more, where the writer copies in the kernel, are
 * copied PIECE bytes at a time (tq_rowstream_queue: on the stream's lane
 * thread, beside the next tensors' reads and quantization, and at the flush
 * on the caller too; one piece per pool run with one thread), instead of all
 * at once between them; each piece's write-back is started after it.
 * Piece (i = writer entry, j = item). */
enum { PIECE = 2 << 20 };

static tq_status put_piece(void *ctx, int64_t wi, int64_t j, uint64_t a, uint64_t b, tq_error *err) {
    const scratch *sc = ctx;
    const tq_tensor *t = sc->plan->items[j].src;
    const tq_map *mp = tensor_map(sc->plan->m, t);
    uint64_t off = 0;
    map_offset(sc->plan->m, t, &off);
    tq_status st = tq_writer_put_from_part(sc->w, wi, mp->fd, off, t->data, a, b - a, err);
    if (st == TQ_E_IO && err && strstr(err->msg, "input offset") == err->msg)
        tq_err_prefix(err, st, "%s: tensor \"%s\"", mp->path, t->name);
#ifdef SYNC_FILE_RANGE_WRITE
    if (!st) (void)sync_file_range(sc->w->out.fd, (off_t)(sc->w->data_off[wi] + a), (off_t)(b - a), SYNC_FILE_RANGE_WRITE);
#endif
    return st;
}

/* A kept tensor copied in pieces by the kernel (queue_kept): float or integer
 * bytes in the input file, 1 MiB and more. */
static bool kernel_copied(const tq_plan *p, const tq_writer *w, const tq_plan_item *it) {
    const tq_tensor *t = it->src;
    uint64_t off;
    return !it->quantize && !t->quantized && map_offset(p->m, t, &off) && w->vt->put_fd &&
           tensor_map(p->m, t)->fd >= 0 && t->nbytes >= (1u << 20) && !getenv("TRUEQ_CONVERT_WHOLE");
}

/* Those of them with no prekeep override possible (calibration) are queued
 * before the loop (tq_plan_execute), right after the side files are copied
 * (their fsyncs go to the device first), so the lane copies the largest kept
 * tensor (an encoder's word embeddings, a decoder's token embeddings near the
 * end of its file) from the start, beside the first tensors, instead of from
 * its place in the file's order; the writer stores each piece at its own
 * offset, so the bytes are the same. */
static bool copied_early(const tq_plan *p, const tq_writer *w, const tq_plan_item *it) {
    return !p->o.prekeep && kernel_copied(p, w, it);
}

static tq_status queue_kept(const tq_plan *p, tq_writer *w, int64_t wi, int64_t j, scratch *sc, tq_error *err) {
    sc->plan = p;
    sc->w = w;
    uint64_t n = p->items[j].src->nbytes;
    tq_status st = TQ_OK;
    for (uint64_t a = 0; a < n && !st; a += PIECE)
        st = tq_rowstream_queue(&sc->rs, &(tq_piece){put_piece, sc, wi, j, a, n - a < PIECE ? n : a + PIECE}, err);
    sc->deferred = true;
    return st;
}

/* *whole: not done here, left to the whole-tensor path: codes not row-aligned,
 * or a non-finite value (that path names its flat index, or zeroes it). */
static tq_status write_chunked(const tq_plan *p, tq_writer *w, int64_t wi, const tq_plan_item *it, scratch *sc,
                               bool *whole, tq_error *err) {
    const tq_tensor *t = it->src;
    tq_rowsrc src = rowsrc_of(p, t);
    int64_t rows = src.rows, cols = src.cols;
    tq_dtype cd;
    int64_t cs[2];
    tq_aux_desc aux[TQ_MAX_AUX];
    const tq_codec_impl *c = tq_codec_impl_get(it->q.codec);
    qslice q = {it, it->q.method != TQ_QMETHOD_RTN ? c->quantize_search : c->quantize, cols, NULL, {0}, 0, {0},
                tq_qparams_layout(&it->q, rows, cols, &cd, cs, aux)};
    uint64_t cb = tq_nbytes(cd, 2, cs), auxn[TQ_MAX_AUX] = {0};
    /* the whole path reports bad parameters as before; it also takes codes that are not row-aligned */
    *whole = rows <= 0 || cols <= 0 || !q.quantize || cb % (uint64_t)rows || tq_qparams_check(&it->q, t->name, rows, cols, NULL);
    for (int a = 0; a < q.na && !*whole; a++) {
        auxn[a] = tq_nbytes(aux[a].dtype, aux[a].ndim, aux[a].shape);
        *whole = auxn[a] % (uint64_t)rows != 0;
    }
    if (*whole) return tq_rowstream_drain(&sc->rs, err);   /* the whole path reuses the slots */
    q.crow = cb / (uint64_t)rows;
    int set = sc->set * S_SET;
    q.codes = scratch_get(sc, set + S_CODES, (size_t)cb);
    bool oom = !q.codes;
    for (int a = 0; a < q.na; a++) {
        q.arow[a] = auxn[a] / (uint64_t)rows;
        q.aux[a] = scratch_get(sc, set + S_AUX0 + a, (size_t)auxn[a]);
        oom |= !q.aux[a];
    }
    if (oom) return tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory", t->name);
    tq_error e2 = {0};
    tq_status st = tq_rowstream_run(&sc->rs, &src, sc->has_next ? &sc->next : NULL, quantize_slice, &q, &e2);
    if (st == TQ_E_VALUE) { *whole = true; return tq_rowstream_drain(&sc->rs, err); }
    if (st) { if (err) *err = e2; return st; }
    sc->dw = (dwrite){w, wi, q.na, q.codes, {0}, cb, {0}};
    for (int a = 0; a < q.na; a++) { sc->dw.aux[a] = q.aux[a]; sc->dw.auxn[a] = auxn[a]; }
    sc->set ^= 1;
    sc->deferred = true;
    return tq_rowstream_defer(&sc->rs, put_deferred, &sc->dw, err);
}

/* One item: kept tensors are copied from the input file (in the kernel, or
 * pread through a bounded buffer); a quantized tensor's bytes are read with
 * pread into its own buffer. The map is never touched for bulk data, so an
 * input that shrinks mid-run is TQ_E_IO naming the file and the offset. */
static tq_status write_item(const tq_plan *p, tq_writer *w, int64_t wi, const tq_plan_item *it, scratch *sc, sim_stats *ss,
                            tq_error *err) {
    const tq_tensor *t = it->src;
    const tq_map *mp = tensor_map(p->m, t);
    uint64_t off = 0;
    bool in_map = map_offset(p->m, t, &off), whole = true;
    tq_status st;
    if (!it->quantize && t->quantized) {   /* ggml blocks (GGUF) kept: their decoded float32 values */
        float *dec = malloc(it->out_bytes ? it->out_bytes : 1);
        st = dec ? tq_model_tensor_f32(p->m, t, dec, err) : tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory", t->name);
        if (!st) st = tq_writer_put(w, wi, dec, it->out_bytes, err);
        free(dec);
        return st;
    }
    const void *over = NULL;
    if (!it->quantize && p->o.prekeep && (st = p->o.prekeep(p->o.prequant_ctx, t->name, t->dtype, t->nbytes, &over, err)))
        return st;
    if (over) {
        st = tq_writer_put(w, wi, over, t->nbytes, err);
    } else if (kernel_copied(p, w, it)) {
        return queue_kept(p, w, wi, it - p->items, sc, err);
    } else if (!it->quantize) {
        st = tq_writer_put_from(w, wi, in_map ? mp->fd : -1, off, t->data, t->nbytes, err);
    } else if (!in_map || t->quantized) {   /* owned bytes, or ggml blocks decoded by the model */
        st = tq_rowstream_drain(&sc->rs, err);   /* it may hold the slots */
        if (!st) st = write_quantized(p, w, wi, it, t->data, sc, ss, err);
    } else if (chunkable(p, it) && ((st = write_chunked(p, w, wi, it, sc, &whole, err)) || !whole)) {
        /* streamed in row chunks (or failed there) */
    } else {
        if ((st = tq_rowstream_drain(&sc->rs, err))) return st;
        void *buf = scratch_get(sc, S_IN, (size_t)t->nbytes);
        if (!buf) return tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory for %llu bytes", t->name,
                                (unsigned long long)t->nbytes);
        st = tq_map_read(mp, off, buf, (size_t)t->nbytes, err);
        if (!st) st = write_quantized(p, w, wi, it, buf, sc, ss, err);
        return st;
    }
    if (st && in_map && err && err->status == TQ_E_IO && strstr(err->msg, "input offset") == err->msg)
        tq_err_prefix(err, st, "%s: tensor \"%s\"", mp->path, t->name);
    return st;
}

tq_status tq_plan_execute(const tq_plan *p, const char *outdir, tq_progress_fn progress, void *ud, tq_error *err) {
    if (p->gx) return tq_gguf_plan_execute(p, outdir, progress, ud, err);
    created cr = {0};
    cr.od.lock_fd = -1;
    tq_status st = TQ_OK;
    tq_writer *w = NULL;
    char *wpath = NULL, *mpath = NULL, *wfin = NULL, *mfin = NULL;
    sim_stats *stats = NULL;
    bool begun = false;
    scratch sc = {0};
    side_job side = {0};
    tq_outfile mo = {.fd = -1};   /* conversion_metadata.json */
    char *json = NULL;

    ino_set ins = {0};
    for (int f = 0; f < p->m->nfiles; f++) ino_add(&ins, p->m->files[f].map.path);
    ino_add(&ins, tq_model_path(p->m));    /* the index of a sharded model */
    {
        char a[PATH_MAX], b[PATH_MAX], *real_in = NULL;
        if (realpath(tq_model_path(p->m), b)) real_in = tq_path_dirname(b);
        if (realpath(outdir, a) && real_in && strcmp(a, real_in) == 0) {
            free(real_in);
            return tq_err(err, TQ_E_ARG, "%s: output directory is the input model's directory; choose another so the input is never overwritten", outdir);
        }
        free(real_in);
    }
    if ((st = tq_outdir_begin(&cr.od, outdir, err))) return st;
    begun = true;
    wpath = tq_outdir_path(&cr.od, tq_plan_output_name(p));
    mpath = tq_outdir_path(&cr.od, "conversion_metadata.json");
    wfin = tq_outdir_target_path(&cr.od, tq_plan_output_name(p));
    mfin = tq_outdir_target_path(&cr.od, "conversion_metadata.json");
    if (!wpath || !mpath || !wfin || !mfin) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
    if ((st = ino_check(&ins, wfin, err)) || (st = ino_check(&ins, mfin, err))) goto fail;
    if ((st = check_target(&cr, tq_plan_output_name(p), err)) || (st = check_target(&cr, "conversion_metadata.json", err)))
        goto fail;

    w = tq_writer_create(p->o.format, wpath, p->went, p->nw,
                         (const char *const *)p->meta_k, (const char *const *)p->meta_v, p->n_meta, err);
    if (!w) { st = err ? err->status : TQ_E_IO; goto fail; }
    if (w->total_size != p->out_bytes) { st = tq_err(err, TQ_E_INTERNAL, "writer size changed since planning"); goto fail; }

    int64_t wi = 0;
    if ((st = tq_rowstream_init(&sc.rs, p->o.threads, err))) goto fail;
    side_start(&side, tq_model_dir(p->m), &ins, &cr);
    for (int64_t k = 0; k < p->nw; k++)   /* kept tensors copied in pieces: queued first (copied_early) */
        if (p->wmap[k].aux == -1 && copied_early(p, w, &p->items[p->wmap[k].item]) &&
            (st = queue_kept(p, w, k, p->wmap[k].item, &sc, err)))
            goto fail;
    stats = calloc((size_t)(p->n ? p->n : 1), sizeof *stats);
    if (!stats) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto fail; }
    for (int64_t i = 0; i < p->n; i++) {
        const tq_plan_item *it = &p->items[i];
        if (it->quantize)
            for (int64_t k = i + 1; k < p->n; k++)
                if (p->items[k].quantize) { prefetch(p->m, p->items[k].src); break; }
        sc.has_next = false;
        if (chunkable(p, it))
            for (int64_t k = i + 1; k < p->n && !sc.has_next; k++)
                if ((sc.has_next = chunkable(p, &p->items[k]))) sc.next = rowsrc_of(p, p->items[k].src);
        TQ_ASSERT(wi < p->nw && p->wmap[wi].item == i && p->wmap[wi].aux == -1);
        sc.deferred = copied_early(p, w, it);   /* queued before the loop */
        st = sc.deferred ? TQ_OK : write_item(p, w, wi, it, &sc, &stats[i], err);
        if (!st && tq_fault("tensor", it->src->name)) st = tq_err(err, TQ_E_IO, "tensor \"%s\": injected fault", it->src->name);
        if (st) goto fail;
        release_tensor(p->m, it->src);
        int64_t first = wi++;
        while (wi < p->nw && p->wmap[wi].item == i) wi++;
        if (!sc.deferred) start_writeback(w, first, wi);   /* else the deferred write starts it */
        if (progress) progress(ud, i + 1, p->n, it->src->name);
    }
    if ((st = tq_rowstream_flush(&sc.rs, err))) goto fail;
    /* conversion_metadata.json is written before the weights are committed, and committed beside them */
    if (!(json = render_metadata(p, w->total_size, stats, err))) { st = err ? err->status : TQ_E_NOMEM; goto fail; }
    st = tq_out_open(&mo, mpath, err);
    if (!st) st = tq_out_write(&mo, json, strlen(json), err);
    if (!st) st = tq_writer_finish_open(w, err);
    if (st) goto fail;
    if ((st = side_join(&side, err))) goto fail;
    created_add(&cr, wpath);
    created_add(&cr, mpath);
    if (p->o.format == TQ_FORMAT_MLX && (st = write_mlx_config(p, &ins, &cr, err))) goto fail;
    /* the input must be the one that was read, whole: otherwise the weights
     * and the side files could come from two versions of it */
    for (int f = 0; f < p->m->nfiles; f++)
        if ((st = tq_map_check_unchanged(&p->m->files[f].map, err))) goto fail;
    scratch_free(&sc);
    /* the staging directory is swapped in as a whole; the weights' and the
     * metadata's fsyncs go with its directories' (one batch) */
    st = tq_outdir_commit_with(&cr.od, (tq_outfile *[]){&w->out, &mo}, 2, err);
    w->opened = 0;
    tq_writer_free(w);
    created_free(&cr);
    begun = false;
    free(json); free(wpath); free(mpath); free(wfin); free(mfin); free(stats);
    return st;
fail:
    side_join(&side, NULL);   /* its files are in the stage, removed with it */
    tq_out_abort(&mo);
    free(json);
    free(stats);
    scratch_free(&sc);   /* joins the lane's thread, which may still write into w */
    tq_writer_free(w);
    if (begun) tq_outdir_fix_message(&cr.od, err);
    created_free(&cr);
    if (begun) tq_outdir_abort(&cr.od);
    free(wpath); free(mpath); free(wfin); free(mfin);
    return st;
}
