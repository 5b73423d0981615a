/*
 * gguf_export.c — plan and execute `convert --format gguf --type T`.
 *
 * Plan (no tensor data touched): detect the family (gguf_names.c), read the
 * hyper-parameters and the tokenizer, give every source tensor its GGUF name
 * and ggml type (gguf_policy.c), build the KV list
 *   general.architecture, general.name, {arch}.*, general.file_type,
 *   general.quantization_version (2), tokenizer.ggml.*, trueq.converter
 * and lay the file out with tq_gguf_plan: the plan's size is the file's.
 * A GGUF input (any architecture: llama, bert, ...) needs no family: its
 * tensors keep their names, its KVs are copied as stored except the file
 * type, the quantization version and the provenance, as llama-quantize
 * copies them (so the tensor data equal llama-quantize's from the same file).
 *
 * Execute: one tensor at a time, decoded to float32 (tq_model_tensor_f32),
 * q/k rows permuted where the family says so, then quantized with ggml's
 * reference quantizers (tq_ggml_quantize), rows split over threads: each
 * row's blocks depend on that row alone, so the bytes are the same for any
 * thread count. Each tensor is written at its planned offset as soon as it
 * is quantized, the header last, into an unnamed file in the output
 * directory's staging directory, committed whole (tq_outfile, tq_outdir).
 * A float32 tensor of the input file (no rows to permute) is streamed in row
 * chunks (rowstream.h: the next chunk read while this one is quantized);
 * the others are read whole. Peak memory is the two largest output tensors
 * (two buffers, used in turn: one is written out by a pool task while the
 * next tensor fills the other) plus two row chunks, and for a tensor read whole its
 * float32 copy (one buffer, reused, allocated when first needed) and the raw
 * bytes of a non-F32 input tensor.
 */
#define _GNU_SOURCE 1   /* sync_file_range */
#include "core/wmem.h"
#include "convert/gguf_export.h"
#include "convert/rowstream.h"
#include "ggml/ggml_types.h"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_KV (8 + TQ_GGUF_FAMILY_MAX_KV + TQ_GGUF_TOK_MAX_KV)

struct tq_gguf_export {
    const tq_gguf_family *fam;
    const tq_gguf_ftype  *ft;
    const char           *prefix;
    tq_gguf_hparams       hp;
    tq_gguf_tok           tok;
    char                  fam_keys[TQ_GGUF_FAMILY_MAX_KV][64];
    tq_gguf_wkv          *kv;          /* MAX_KV + the KVs of a GGUF input */
    int                   n_kv;
    void                **kv_own;      /* string arrays copied from a GGUF input */
    int64_t               n_kv_own;
    char                 *name, *provenance;
    tq_gguf_wtensor      *wt;          /* in output order                  */
    tq_gguf_map          *map;         /* per plan item                    */
    int64_t              *item_wt;     /* plan item -> wt index, -1 none   */
    int64_t              *wt_item;
    int64_t               n_wt;
    tq_gguf_layout        lay;
};

void tq_gguf_export_free(tq_gguf_export *gx) {
    if (!gx) return;
    tq_gguf_tok_free(&gx->tok);
    free(gx->name); free(gx->provenance);
    for (int64_t i = 0; i < gx->n_kv_own; i++) free(gx->kv_own[i]);
    free(gx->kv); free(gx->kv_own);
    free(gx->wt); free(gx->map); free(gx->item_wt); free(gx->wt_item);
    tq_gguf_layout_free(&gx->lay);
    free(gx);
}

static tq_gguf_wkv *kv_add(tq_gguf_export *gx, const char *key, tq_gguf_vtype type) {
    tq_gguf_wkv *kv = &gx->kv[gx->n_kv++];
    memset(kv, 0, sizeof *kv);
    kv->key = key;
    kv->type = type;
    return kv;
}

static void kv_str(tq_gguf_export *gx, const char *key, const char *s) {
    tq_gguf_wkv *kv = kv_add(gx, key, TQ_GGUF_STRING);
    kv->str = s;
    kv->str_len = strlen(s);
}

/* "trueq 0.1.0 convert --format gguf --type Q4_K [--include G] [--exclude G]" */
static char *provenance(const tq_convert_options *o, const char *type) {
    tq_sb b = {0};
    tq_sb_printf(&b, "trueq %s convert --format gguf --type %s", TQ_VERSION_STRING, type);
    for (int i = 0; i < o->n_include; i++) tq_sb_printf(&b, " --include %s", o->include[i]);
    for (int i = 0; i < o->n_exclude; i++) tq_sb_printf(&b, " --exclude %s", o->exclude[i]);
    if (b.oom) { tq_sb_free(&b); return NULL; }
    return b.s;
}

/* The model's name: the base name of its directory. */
static char *model_name(const tq_model *m) {
    const char *d = tq_model_dir(m);
    size_t n = strlen(d);
    while (n > 1 && d[n - 1] == '/') n--;
    size_t s = n;
    while (s > 0 && d[s - 1] != '/') s--;
    char *r = malloc(n - s + 1);
    if (r) { memcpy(r, d + s, n - s); r[n - s] = 0; }
    return r;
}

static int glob_any(const char *const *g, int n, const char *a, const char *b, int *hit) {
    int found = -1;
    for (int i = 0; i < n; i++)
        if (tq_glob_match(g[i], a) || tq_glob_match(g[i], b)) { hit[i] = 1; if (found < 0) found = i; }
    return found;
}

static tq_dtype stored_dtype(int ggml_type) {
    return ggml_type == TQ_GGML_F32 ? TQ_DTYPE_F32 : ggml_type == TQ_GGML_F16 ? TQ_DTYPE_F16
         : ggml_type == TQ_GGML_BF16 ? TQ_DTYPE_BF16 : TQ_DTYPE_U8;
}

/* llama.cpp's tensor order (its loader's weight_name_comparer, which
 * llama-quantize writes in): tensors outside blocks first, then block by
 * block (blk.N. numerically), by name within each. */
static int layer_of(const char *name) {
    int l = -1;
    return sscanf(name, "blk.%d.", &l) == 1 ? l : -1;
}
static int cmp_wt(const void *a, const void *b) {
    const tq_gguf_wtensor *x = a, *y = b;
    int la = layer_of(x->name), lb = layer_of(y->name);
    return la != lb ? (la < lb ? -1 : 1) : strcmp(x->name, y->name);
}

/* Decide every tensor; fills p->items, gx->wt (in llama.cpp's order) and the
 * policy counters, which advance in that order as llama.cpp's do. */
static tq_status plan_tensors(tq_plan *p, tq_gguf_export *gx, tq_error *err) {
    const tq_model *m = p->m;
    const tq_convert_options *o = &p->o;
    int64_t n = tq_model_count(m);
    tq_gguf_policy pol = {gx->ft, gx->hp.n_layers, gx->hp.n_heads / gx->hp.n_kv_heads, 0, 0, 0, 0};
    tq_status st = TQ_OK;
    for (int64_t i = 0; i < n; i++) {   /* pass 1: names and shapes */
        const tq_tensor *t = tq_model_tensor(m, i);
        tq_plan_item *it = &p->items[i];
        it->src = t;
        it->in_bytes = t->nbytes;
        gx->item_wt[i] = -1;
        if (!gx->fam) {   /* a GGUF input: its own names */
            if (strlen(t->name) > TQ_GGUF_MAX_NAME)
                return tq_err(err, TQ_E_LIMIT, "tensor \"%s\": name longer than GGUF's %d bytes", t->name, TQ_GGUF_MAX_NAME);
            memset(&gx->map[i], 0, sizeof gx->map[i]);
            memcpy(gx->map[i].name, t->name, strlen(t->name));
        } else if ((st = tq_gguf_family_map(gx->fam, m, gx->prefix, t, gx->hp.n_heads, gx->hp.n_kv_heads, gx->hp.n_layers,
                                            &gx->map[i], err))) {
            return st;
        }
        if (!gx->map[i].name[0]) continue;
        /* ggml-typed tensors of a GGUF input are read as their decoded float32 values */
        if ((t->quantized && t->q.codec != TQ_CODEC_GGML) || !tq_dtype_is_float(tq_tensor_read_dtype(t)) || t->ndim < 1 ||
            t->ndim > TQ_GGUF_MAX_DIMS) {
            char qs[64] = "";
            if (t->quantized) tq_qparams_str(&t->q, qs, sizeof qs);
            return tq_err(err, TQ_E_UNSUPPORTED, "tensor \"%s\": %s%s cannot be written as GGUF (float tensors of 1-4 dims only)",
                          t->name, t->quantized ? "already quantized " : tq_dtype_name(t->dtype), qs);
        }
        if (strcmp(gx->map[i].name, "output.weight") == 0) pol.has_output = 1;
        if (strstr(gx->map[i].name, "attn_v.weight") || strstr(gx->map[i].name, "attn_qkv.weight")) pol.n_attn_v++;
        tq_gguf_wtensor *w = &gx->wt[gx->n_wt];
        w->name = gx->map[i].name;
        w->n_dims = t->ndim;
        for (int d = 0; d < TQ_GGUF_MAX_DIMS; d++) w->ne[d] = d < t->ndim ? t->shape[t->ndim - 1 - d] : 1;
        w->data = (const void *)(intptr_t)(i + 1);   /* the item, until sorted */
        gx->n_wt++;
    }
    qsort(gx->wt, (size_t)gx->n_wt, sizeof *gx->wt, cmp_wt);
    for (int64_t k = 0; k < gx->n_wt; k++) {
        int64_t i = (int64_t)(intptr_t)gx->wt[k].data - 1;
        gx->wt[k].data = NULL;
        gx->wt_item[k] = i;
        gx->item_wt[i] = k;
    }
    int *hit_inc = calloc((size_t)o->n_include + 1, sizeof(int)), *hit_exc = calloc((size_t)o->n_exclude + 1, sizeof(int));
    if (!hit_inc || !hit_exc) { free(hit_inc); free(hit_exc); return tq_err(err, TQ_E_NOMEM, "out of memory"); }
    for (int64_t k = 0; k < gx->n_wt && !st; k++) {   /* pass 2: types, in file order */
        tq_gguf_wtensor *w = &gx->wt[k];
        tq_plan_item *it = &p->items[gx->wt_item[k]];
        const tq_tensor *t = it->src;
        char rule[256];
        int force = glob_any(o->exclude, o->n_exclude, t->name, w->name, hit_exc) >= 0 ? -1
                  : glob_any(o->include, o->n_include, t->name, w->name, hit_inc) >= 0 ? 1 : 0;
        w->ggml_type = tq_gguf_policy_type(&pol, w->name, w->n_dims, w->ne, force, rule, sizeof rule);
        if ((st = tq_ggml_row_bytes(w->ggml_type, t->numel, w->name, &it->out_bytes, err))) break;
        it->quantize = strncmp(rule, "kept", 4) != 0;
        it->out_dtype = stored_dtype(w->ggml_type);
        if (!(p->rules[gx->wt_item[k]] = tq_strdup(rule))) st = tq_err(err, TQ_E_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < n && !st; i++) {
        if (gx->item_wt[i] < 0 && !(p->rules[i] = tq_strdup("not written: llama.cpp does not load it")))
            st = tq_err(err, TQ_E_NOMEM, "out of memory");
        p->items[i].rule = p->rules[i];
    }
    if (!st) p->n = n;
    for (int i = 0; !st && i < o->n_include; i++)
        if (!hit_inc[i]) st = tq_err(err, TQ_E_NOTFOUND, "--include %s matches no tensor in %s", o->include[i], tq_model_path(m));
    for (int i = 0; !st && i < o->n_exclude; i++)
        if (!hit_exc[i]) st = tq_err(err, TQ_E_NOTFOUND, "--exclude %s matches no tensor in %s", o->exclude[i], tq_model_path(m));
    free(hit_inc); free(hit_exc);
    return st;
}

/* A GGUF input is requantized tensor by tensor, as llama-quantize does, with
 * no model family: the input's tensor names, every KV of the input except
 * the ones this writer sets (REWRITTEN), and the keep-wide policy's counts
 * from {arch}.block_count and the head counts. */
static const char *const REWRITTEN[] = {"general.file_type", "general.quantization_version", "trueq.converter"};

/* {arch}.suffix as a positive count: an integer, or the first element of a
 * per-layer integer array (llama.cpp's n_gqa() reads layer 0); 0 when absent. */
static int64_t gguf_count(const tq_gguf *g, const tq_gguf_str arch, const char *suffix) {
    char key[160];
    snprintf(key, sizeof key, "%.*s.%s", (int)(arch.len > 96 ? 96 : arch.len), arch.s, suffix);
    int64_t k = tq_gguf_find_kv(g, key);
    if (k < 0) return 0;
    const tq_gguf_value *v = &g->kv[k].v;
    int64_t n = 0;
    if (v->type <= TQ_GGUF_INT32 || v->type == TQ_GGUF_UINT64 || v->type == TQ_GGUF_INT64) n = v->num.i;
    else if (v->type == TQ_GGUF_ARRAY && v->count && v->elem_type == TQ_GGUF_UINT32) n = tq_ld32(v->elems);
    else if (v->type == TQ_GGUF_ARRAY && v->count && v->elem_type == TQ_GGUF_INT32) n = (int32_t)tq_ld32(v->elems);
    return n > 0 && n < (1 << 30) ? n : 0;
}

static tq_status gguf_input_hparams(const tq_gguf *g, const char *path, tq_gguf_hparams *hp, tq_error *err) {
    int64_t k = tq_gguf_find_kv(g, "general.architecture");
    if (k < 0 || g->kv[k].v.type != TQ_GGUF_STRING)
        return tq_err(err, TQ_E_FORMAT, "%s: no general.architecture string (llama.cpp needs it to quantize)", path);
    tq_gguf_str arch = g->kv[k].v.str;
    memset(hp, 0, sizeof *hp);
    hp->n_layers = (int)gguf_count(g, arch, "block_count");
    hp->n_heads = (int)gguf_count(g, arch, "attention.head_count");
    hp->n_kv_heads = (int)gguf_count(g, arch, "attention.head_count_kv");
    if (!hp->n_heads) hp->n_heads = 1;
    if (!hp->n_kv_heads) hp->n_kv_heads = hp->n_heads;
    if (hp->n_layers <= 0 || hp->n_heads % hp->n_kv_heads)
        return tq_err(err, TQ_E_FORMAT, "%s: GGUF key %.*s.block_count (a positive count) is missing, or the head counts "
                      "%d / %d do not divide", path, (int)(arch.len > 64 ? 64 : arch.len), arch.s, hp->n_heads, hp->n_kv_heads);
    return TQ_OK;
}

static tq_status gguf_input_kvs(tq_gguf_export *gx, const tq_gguf *g, const char *path, tq_error *err) {
    if (!(gx->kv_own = calloc((size_t)(g->n_kv ? g->n_kv : 1), sizeof *gx->kv_own)))
        return tq_err(err, TQ_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < g->n_kv; i++) {
        int skip = 0;
        for (size_t r = 0; r < sizeof REWRITTEN / sizeof REWRITTEN[0]; r++) skip |= strcmp(g->kv[i].key, REWRITTEN[r]) == 0;
        if (skip) continue;
        void *own;
        tq_status st = tq_gguf_wkv_of(&g->kv[i], path, &gx->kv[gx->n_kv], &own, err);
        if (st) return st;
        if (own) gx->kv_own[gx->n_kv_own++] = own;
        gx->n_kv++;
    }
    return TQ_OK;
}

tq_status tq_gguf_plan_build(tq_plan *p, tq_error *err) {
    const char *tname = p->o.gguf_type ? p->o.gguf_type : "Q8_0";
    const tq_gguf_ftype *ft = tq_gguf_ftype_by_name(tname);
    if (!ft) {
        char names[256];
        return tq_err(err, TQ_E_ARG, "--type %s: not a GGUF file type trueq writes (%s)", tname,
                      tq_gguf_ftype_names(names, sizeof names));
    }
    tq_gguf_export *gx = calloc(1, sizeof *gx);
    if (!gx) return tq_err(err, TQ_E_NOMEM, "out of memory");
    p->gx = gx;
    gx->ft = ft;
    const tq_gguf *gin = tq_model_gguf(p->m);
    int64_t n = tq_model_count(p->m);
    size_t cap = (size_t)(n ? n : 1);
    gx->wt = calloc(cap, sizeof *gx->wt);
    gx->map = calloc(cap, sizeof *gx->map);
    gx->item_wt = calloc(cap, sizeof *gx->item_wt);
    gx->wt_item = calloc(cap, sizeof *gx->wt_item);
    gx->kv = calloc((size_t)MAX_KV + (gin ? (size_t)gin->n_kv : 0), sizeof *gx->kv);
    if (!gx->wt || !gx->map || !gx->item_wt || !gx->wt_item || !gx->kv) return tq_err(err, TQ_E_NOMEM, "out of memory");
    tq_status st;
    if (gin) st = gguf_input_hparams(gin, tq_model_path(p->m), &gx->hp, err);
    else if (!(gx->fam = tq_gguf_family_detect(p->m, &gx->prefix, err))) st = TQ_E_UNSUPPORTED;
    else st = tq_gguf_family_hparams(gx->fam, p->m, gx->prefix, &gx->hp, err);
    if (st) return st;
    if ((st = plan_tensors(p, gx, err))) return st;
    if (!(gx->provenance = provenance(&p->o, ft->name))) return tq_err(err, TQ_E_NOMEM, "out of memory");
    if (gin) {
        if ((st = gguf_input_kvs(gx, gin, tq_model_path(p->m), err))) return st;
    } else {
        st = tq_gguf_tok_build(tq_model_dir(p->m), tq_gguf_family_tokenizer(gx->fam), &gx->tok, err);
        if (st == TQ_E_NOTFOUND)
            return tq_err_prefix(err, st, "GGUF output carries the tokenizer (llama.cpp requires tokenizer.ggml.*)");
        if (st) return st;
        if (gx->tok.count != gx->hp.vocab)   /* llama.cpp refuses a vocabulary that does not match the embedding */
            return tq_err(err, TQ_E_SHAPE, "%s: the tokenizer has %d tokens, the model's vocabulary %d", tq_model_dir(p->m),
                          gx->tok.count, gx->hp.vocab);
        if (!(gx->name = model_name(p->m))) return tq_err(err, TQ_E_NOMEM, "out of memory");
        kv_str(gx, "general.architecture", tq_gguf_family_arch(gx->fam));
        kv_str(gx, "general.name", gx->name);
        tq_gguf_wkv fam_kv[TQ_GGUF_FAMILY_MAX_KV];
        int nf = tq_gguf_family_kvs(gx->fam, &gx->hp, gx->fam_keys, fam_kv);
        for (int i = 0; i < nf; i++) gx->kv[gx->n_kv++] = fam_kv[i];
        for (int i = 0; i < gx->tok.n; i++) gx->kv[gx->n_kv++] = gx->tok.kv[i];
    }
    kv_str(gx, "trueq.converter", gx->provenance);
    /* last, where llama-quantize's output has them */
    kv_add(gx, "general.quantization_version", TQ_GGUF_UINT32)->num.u = 2;
    kv_add(gx, "general.file_type", TQ_GGUF_UINT32)->num.u = (uint64_t)ft->ftype;

    /* the layout needs non-NULL data pointers: plan with a placeholder */
    static const uint8_t placeholder[1];
    for (int64_t i = 0; i < gx->n_wt; i++) gx->wt[i].data = placeholder;
    st = tq_gguf_plan(gx->kv, gx->n_kv, gx->wt, gx->n_wt, &gx->lay, err);
    for (int64_t i = 0; i < gx->n_wt; i++) gx->wt[i].data = NULL;
    if (st) return st;
    uint64_t payload = 0;
    for (int64_t i = 0; i < gx->n_wt; i++) payload += gx->lay.nbytes[i];
    p->out_bytes = gx->lay.file_size;
    p->header_bytes = gx->lay.data_start;
    p->padding_bytes = gx->lay.file_size - gx->lay.data_start - payload;
    return TQ_OK;
}

/* ===== execution ========================================================== */

/* Reorder the rows of a [rows, cols] matrix from rotate-half to interleaved
 * pairs, per head (see gguf_names.c). */
static tq_status permute_rows(float *w, int64_t rows, int64_t cols, int heads, const char *name, tq_error *err) {
    if (heads <= 0 || rows % (2 * heads))
        return tq_err(err, TQ_E_SHAPE, "tensor \"%s\": %lld rows do not split into %d heads of pairs", name, (long long)rows, heads);
    int64_t per = rows / heads, half = per / 2;
    float *tmp = malloc(sizeof(float) * (size_t)(per * cols));
    if (!tmp) return tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory", name);
    for (int h = 0; h < heads; h++) {
        float *hw = w + (int64_t)h * per * cols;
        memcpy(tmp, hw, sizeof(float) * (size_t)(per * cols));
        for (int64_t q = 0; q < half; q++)
            for (int s = 0; s < 2; s++) memcpy(hw + (2 * q + s) * cols, tmp + (s * half + q) * cols, sizeof(float) * (size_t)cols);
    }
    free(tmp);
    return TQ_OK;
}

typedef struct qjob {
    int type; const float *src; uint8_t *dst; int64_t ne0, r0, r1; uint64_t row_bytes; const char *name;
    tq_status st; tq_error err;
} qjob;

static void *qjob_run(void *arg) {
    qjob *j = arg;
    j->st = tq_ggml_quantize(j->type, j->src + j->r0 * j->ne0, j->dst + (uint64_t)j->r0 * j->row_bytes,
                             (j->r1 - j->r0) * j->ne0, j->name, &j->err);
    return NULL;
}

/* Quantize rows [0, rows) of ne0 floats into dst, split over threads. */
static tq_status quantize_rows(int type, const float *src, uint8_t *dst, int64_t ne0, int64_t rows, int threads,
                               const char *name, tq_error *err) {
    uint64_t rb;
    tq_status st = tq_ggml_row_bytes(type, ne0, name, &rb, err);
    if (st) return st;
    if (threads <= 0) { long c = sysconf(_SC_NPROCESSORS_ONLN); threads = c > 0 ? (int)c : 1; }
    if (threads > 64) threads = 64;
    if ((int64_t)threads > rows) threads = (int)(rows > 0 ? rows : 1);
    if (rows * ne0 < (1 << 14)) threads = 1;   /* not worth a thread */
    qjob jobs[64];
    pthread_t tid[64];
    int started[64] = {0};
    for (int k = 0; k < threads; k++) {
        jobs[k] = (qjob){type, src, dst, ne0, rows * k / threads, rows * (k + 1) / threads, rb, name, TQ_OK, {0}};
        if (k > 0) started[k] = pthread_create(&tid[k], NULL, qjob_run, &jobs[k]) == 0;
        if (k > 0 && !started[k]) qjob_run(&jobs[k]);
    }
    qjob_run(&jobs[0]);
    for (int k = 1; k < threads; k++) if (started[k]) pthread_join(tid[k], NULL);
    for (int k = 0; k < threads; k++)
        if (jobs[k].st) { if (err) *err = jobs[k].err; return jobs[k].st; }
    return TQ_OK;
}

/* The tensor's float32 values into buf (room for its numel, reused from
 * tensor to tensor: no fresh pages to fault in for each): a plain tensor's
 * bytes are read with pread (tq_map_read: an input that shrinks mid-run is
 * TQ_E_IO, not SIGBUS; docs/robustness.md) and decoded; a quantized one is
 * decoded by tq_model_tensor_f32. */
static tq_status tensor_f32(const tq_model *m, const tq_tensor *t, int permute_heads, float *buf, tq_error *err) {
    const tq_map *mp = &m->files[t->file_index].map;
    const uint8_t *d = t->data;
    bool in_map = !t->quantized && mp->data && d && d >= mp->data && d < mp->data + mp->size;
    tq_status st;
    if (in_map && t->dtype == TQ_DTYPE_F32) {
        st = tq_map_read(mp, (uint64_t)(d - mp->data), buf, (size_t)t->nbytes, err);
    } else if (in_map) {
        void *raw = malloc(t->nbytes ? (size_t)t->nbytes : 1);
        st = raw ? tq_map_read(mp, (uint64_t)(d - mp->data), raw, (size_t)t->nbytes, err)
                 : tq_err(err, TQ_E_NOMEM, "tensor \"%s\": out of memory", t->name);
        if (!st && (st = tq_convert_to_f32(t->dtype, raw, t->numel, buf, err))) tq_err_prefix(err, st, "tensor \"%s\"", t->name);
        free(raw);
    } else {
        st = tq_model_tensor_f32(m, t, buf, err);
    }
    if (!st && permute_heads) st = permute_rows(buf, t->shape[0], t->numel / t->shape[0], permute_heads, t->name, err);
    return st;
}

/* A float32 tensor of the input file whose rows need no permutation is
 * streamed (rowstream.h): read in row chunks, quantized slice by slice on the
 * pool while the next chunk is read, into its place in the output buffer;
 * the same rows and blocks as quantize_rows, so the same bytes. */
static bool streamable(const tq_plan *p, const tq_gguf_export *gx, int64_t k, tq_rowsrc *r) {
    const tq_tensor *t = p->items[gx->wt_item[k]].src;
    const tq_map *mp = &p->m->files[t->file_index].map;
    const uint8_t *d = t->data;
    if (t->quantized || t->dtype != TQ_DTYPE_F32 || gx->map[gx->wt_item[k]].permute_heads || !mp->data || !d ||
        d < mp->data || d >= mp->data + mp->size || gx->wt[k].ne[0] <= 0 || getenv("TRUEQ_CONVERT_WHOLE"))
        return false;
    *r = (tq_rowsrc){mp, (uint64_t)(d - mp->data), t->numel / gx->wt[k].ne[0], gx->wt[k].ne[0], t->name};
    return true;
}

typedef struct gslice { int type; uint8_t *dst; uint64_t row_bytes; int64_t ne0; const char *name; } gslice;

static tq_status gguf_slice(void *ctx, const float *rows, int64_t r0, int64_t n, tq_error *err) {
    const gslice *g = ctx;
    return tq_ggml_quantize(g->type, rows, g->dst + (uint64_t)r0 * g->row_bytes, n * g->ne0, g->name, err);
}

/* Tensor k's bytes at its planned offset, the zero padding after it, then its
 * write-back started (no wait; the fsync at commit stays). Run by a task of
 * the next pool run for a streamed tensor (tq_rowstream_defer: the write
 * overlaps the next tensor's reads and quantization; the next tensor works
 * in the other output buffer), else on the caller. */
typedef struct gwrite { tq_outfile *out; const tq_gguf_layout *lay; int64_t k, n_wt; const uint8_t *q; } gwrite;

static tq_status write_tensor(void *ctx, tq_error *err) {
    static const uint8_t zeros[256];
    const gwrite *g = ctx;
    const tq_gguf_layout *lay = g->lay;
    int64_t k = g->k;
    tq_status st = tq_out_pwrite(g->out, g->q, (size_t)lay->nbytes[k], lay->data_start + lay->offsets[k], err);
    uint64_t end = lay->data_start + lay->offsets[k] + lay->nbytes[k];
    uint64_t pad = (k + 1 < g->n_wt ? lay->data_start + lay->offsets[k + 1] : lay->file_size) - end;
    for (uint64_t c; !st && pad; pad -= c, end += c) {   /* zero padding to the alignment */
        c = pad < sizeof zeros ? pad : sizeof zeros;
        st = tq_out_pwrite(g->out, zeros, (size_t)c, end, err);
    }
#ifdef SYNC_FILE_RANGE_WRITE
    if (!st) (void)sync_file_range(g->out->fd, (off_t)(lay->data_start + lay->offsets[k]), (off_t)lay->nbytes[k],
                                   SYNC_FILE_RANGE_WRITE);
#endif
    return st;
}

tq_status tq_gguf_plan_execute(const tq_plan *p, const char *outdir, tq_progress_fn progress, void *ud, tq_error *err) {
    const tq_gguf_export *gx = p->gx;
    const tq_gguf_layout *lay = &gx->lay;
    tq_status st = TQ_OK;
    int opened = 0;
    tq_outdir od;   /* locked, staged, committed whole (core/outdir.c) */
    if ((st = tq_outdir_begin(&od, outdir, err))) return st;
    uint64_t maxb = 1;
    int64_t maxn = 1;
    for (int64_t k = 0; k < gx->n_wt; k++) {
        if (lay->nbytes[k] > maxb) maxb = lay->nbytes[k];
        if (p->items[gx->wt_item[k]].src->numel > maxn) maxn = p->items[gx->wt_item[k]].src->numel;
    }
    char *path = tq_outdir_path(&od, tq_format_by_id(p->o.format)->default_file);
    /* two output buffers: a streamed tensor's deferred write reads one while the next tensor fills the other */
    uint8_t *qb[2] = {tq_wmem_scratch(maxb, 0), tq_wmem_scratch(maxb, 0)}, *head = NULL;   /* huge pages: fewer faults */
    int cur = 0;
    gwrite gw = {0};
    float *f = NULL;   /* the whole-tensor path's float32 copy, made when first needed */
    tq_outfile out;
    tq_rowstream rs;
    tq_rowsrc src = {0}, next = {0};
    if ((st = tq_rowstream_init(&rs, p->o.threads, err))) goto done;
    if (!path || !qb[0] || !qb[1]) { st = tq_err(err, TQ_E_NOMEM, "out of memory"); goto done; }
    if ((st = tq_out_open(&out, path, err))) goto done;
    opened = 1;
    tq_out_reserve(&out, lay->file_size);
    bool have = gx->n_wt > 0 && streamable(p, gx, 0, &src);
    for (int64_t k = 0; k < gx->n_wt && !st; k++) {   /* stream: quantize a tensor, write it at its planned offset */
        int64_t i = gx->wt_item[k];
        const tq_tensor *t = p->items[i].src;
        const tq_gguf_wtensor *w = &gx->wt[k];
        bool stream = have, have_next = k + 1 < gx->n_wt && streamable(p, gx, k + 1, &next);
        uint8_t *q = qb[cur];
        if (stream) {
            gslice g = {w->ggml_type, q, 0, w->ne[0], t->name};
            st = tq_ggml_row_bytes(w->ggml_type, w->ne[0], t->name, &g.row_bytes, err);
            if (!st) st = tq_rowstream_run(&rs, &src, have_next ? &next : NULL, gguf_slice, &g, err);
        } else {
            st = tq_rowstream_drain(&rs, err);
            if (!st && !f && !(f = malloc(sizeof(float) * (size_t)maxn))) st = tq_err(err, TQ_E_NOMEM, "out of memory");
            if (!st) st = tensor_f32(p->m, t, gx->map[i].permute_heads, f, err);
            if (!st) st = quantize_rows(w->ggml_type, f, q, w->ne[0], t->numel / w->ne[0], p->o.threads, t->name, err);
        }
        have = have_next;
        src = next;
        if (!st) {
            gw = (gwrite){&out, lay, k, gx->n_wt, q};
            if (stream) { st = tq_rowstream_defer(&rs, write_tensor, &gw, err); cur ^= 1; }
            else st = write_tensor(&gw, err);
        }
        if (progress) progress(ud, k + 1, gx->n_wt, t->name);
    }
    if (!st) st = tq_rowstream_drain(&rs, err);
    if (!st) st = tq_gguf_write_header(gx->kv, gx->n_kv, gx->wt, gx->n_wt, lay, &head, err);
    if (!st) st = tq_out_pwrite(&out, head, (size_t)lay->data_start, 0, err);
    if (!st && out.size != lay->file_size)
        st = tq_err(err, TQ_E_INTERNAL, "%s: wrote %llu bytes, planned %llu", path, (unsigned long long)out.size,
                    (unsigned long long)lay->file_size);
    for (int fi = 0; !st && fi < p->m->nfiles; fi++) st = tq_map_check_unchanged(&p->m->files[fi].map, err);
    if (!st) { st = tq_outdir_commit_with(&od, (tq_outfile *[]){&out}, 1, err); opened = 0; }   /* one batch of fsyncs */
done:
    if (opened) tq_out_abort(&out);
    if (st) { tq_outdir_fix_message(&od, err); tq_outdir_abort(&od); }
    tq_rowstream_free(&rs);   /* drops a pending write (failed run) */
    free(head);
    tq_wmem_free(qb[0]);
    tq_wmem_free(qb[1]);
    free(f);
    free(path);
    return st;
}

const char *tq_plan_gguf_type(const tq_plan *p, int64_t i) {
    if (!p->gx || i < 0 || i >= p->n || p->gx->item_wt[i] < 0) return NULL;
    return tq_ggml_type(p->gx->wt[p->gx->item_wt[i]].ggml_type)->name;
}
const char *tq_plan_gguf_name(const tq_plan *p, int64_t i) {
    if (!p->gx || i < 0 || i >= p->n || p->gx->item_wt[i] < 0) return NULL;
    return p->gx->wt[p->gx->item_wt[i]].name;
}
const char *tq_plan_gguf_ftype(const tq_plan *p) { return p->gx ? p->gx->ft->name : NULL; }
