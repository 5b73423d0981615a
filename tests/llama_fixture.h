/* llama_fixture.h — writing small decoder models for tests (test_llama_model.c,
 * test_llama_errors.c; stories_dir also test_llama_batch.c): tensors in memory (wt), written as one safetensors
 * file, optionally int8-quantized in trueq's layout, read back; and where
 * stories260k is (TRUEQ_MODELS or ../shared/models). Functions are static
 * inline: each test program compiles what it uses. */
#ifndef TQ_TESTS_LLAMA_FIXTURE_H
#define TQ_TESTS_LLAMA_FIXTURE_H
#include "tq_test.h"
#include "io/container.h"
#include "io/model.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing test models ------------------------------------------------- */

typedef struct wt {            /* one tensor to write */
    char    name[128];
    int     ndim;
    int64_t shape[2];
    float  *data;              /* owned */
    int     quantize;          /* int8 linear-sym in trueq layout: 1 per channel,
                                  2 per group of 32 (a shorter last group), 3 per tensor */
} wt;

static inline void wt_free(wt *t, int n) { for (int i = 0; i < n; i++) free(t[i].data); free(t); }

/* Write tensors as a safetensors file; quantized ones as codes + __scale__ with a descriptor. */
static inline int write_tensors(const char *path, const wt *t, int n) {
    tq_wentry *e = calloc((size_t)n * 3, sizeof *e);
    void **data = calloc((size_t)n * 3, sizeof(void *));
    uint64_t *len = calloc((size_t)n * 3, sizeof(uint64_t));
    char **keys = calloc((size_t)n, sizeof(char *)), **vals = calloc((size_t)n, sizeof(char *));
    char (*auxname)[160] = calloc((size_t)n * 3, sizeof *auxname);
    int ne = 0, nm = 0, rc = -1;
    tq_error err = {0};
    for (int i = 0; i < n; i++) {
        tq_qparams q = {.codec = TQ_CODEC_LINEAR_SYM, .bits = 8, .gran = TQ_GRAN_CHANNEL};
        if (t[i].quantize == 2) { q.gran = TQ_GRAN_GROUP; q.group = 32; q.pad = 1; }
        if (t[i].quantize == 3) q.gran = TQ_GRAN_TENSOR;
        int64_t rows = t[i].ndim == 2 ? t[i].shape[0] : 1, cols = t[i].ndim == 2 ? t[i].shape[1] : t[i].shape[0];
        if (!t[i].quantize) {
            e[ne] = (tq_wentry){.name = t[i].name, .dtype = TQ_DTYPE_F32, .ndim = t[i].ndim, .shape = {t[i].shape[0], t[i].shape[1]}};
            data[ne] = t[i].data;
            len[ne++] = sizeof(float) * (uint64_t)(rows * cols);
            continue;
        }
        tq_dtype cd;
        int64_t cs[2];
        tq_aux_desc aux[TQ_MAX_AUX];
        int na = tq_qparams_layout(&q, rows, cols, &cd, cs, aux);
        if (na < 0) goto out;
        void *codes = malloc(tq_nbytes(cd, 2, cs));
        void *ab[TQ_MAX_AUX] = {0};
        for (int a = 0; a < na; a++) ab[a] = malloc(tq_nbytes(aux[a].dtype, aux[a].ndim, aux[a].shape));
        if (tq_quantize(&q, t[i].name, t[i].data, rows, cols, codes, ab, 0, &err)) { fprintf(stderr, "%s\n", err.msg); goto out; }
        e[ne] = (tq_wentry){.name = t[i].name, .dtype = cd, .ndim = 2, .shape = {cs[0], cs[1]}};
        data[ne] = codes;
        len[ne++] = tq_nbytes(cd, 2, cs);
        for (int a = 0; a < na; a++) {
            snprintf(auxname[ne], sizeof auxname[ne], "%s.%s", t[i].name, aux[a].suffix);
            e[ne] = (tq_wentry){.name = auxname[ne], .dtype = aux[a].dtype, .ndim = aux[a].ndim, .shape = {aux[a].shape[0], aux[a].shape[1]}};
            data[ne] = ab[a];
            len[ne++] = tq_nbytes(aux[a].dtype, aux[a].ndim, aux[a].shape);
        }
        char k[200];
        snprintf(k, sizeof k, "%s%s", TQ_META_TENSOR_PREFIX, t[i].name);
        keys[nm] = strdup(k);
        vals[nm++] = tq_descriptor_render(&q, 0, TQ_DTYPE_F32, t[i].ndim, t[i].shape, NULL);
    }
    {
        tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, path, e, ne, (const char *const *)keys,
                                        (const char *const *)vals, nm, &err);
        if (!w) { fprintf(stderr, "%s\n", err.msg); goto out; }
        int bad = 0;
        for (int i = 0; i < ne && !bad; i++) bad = tq_writer_put(w, i, data[i], len[i], &err) != TQ_OK;
        if (!bad) bad = tq_writer_finish(w, &err) != TQ_OK;
        if (bad) fprintf(stderr, "%s\n", err.msg);
        tq_writer_free(w);
        rc = bad ? -1 : 0;
    }
out:
    /* free the buffers this function allocated (codes and side tensors) */
    for (int i = 0, k = 0; i < n; i++) {
        if (!t[i].quantize) { k++; continue; }
        free(data[k++]);
        while (k < ne && strncmp(e[k].name, t[i].name, strlen(t[i].name)) == 0 && e[k].name[strlen(t[i].name)] == '.')
            free(data[k++]);
    }
    for (int i = 0; i < nm; i++) { free(keys[i]); free(vals[i]); }
    free(e); free(data); free(len); free(keys); free(vals); free(auxname);
    return rc;
}

/* Load every tensor of a model as float32. */
static inline wt *read_all(const tq_model *m, int *n) {
    *n = (int)tq_model_count(m);
    wt *t = calloc((size_t)*n, sizeof *t);
    for (int i = 0; i < *n; i++) {
        const tq_tensor *s = tq_model_tensor(m, i);
        snprintf(t[i].name, sizeof t[i].name, "%s", s->name);
        t[i].ndim = s->ndim;
        t[i].shape[0] = s->shape[0];
        t[i].shape[1] = s->ndim > 1 ? s->shape[1] : 0;
        t[i].data = malloc(sizeof(float) * (size_t)s->numel);
        tq_model_tensor_f32(m, s, t[i].data, NULL);
    }
    return t;
}

static inline wt *find_wt(wt *t, int n, const char *name) {
    for (int i = 0; i < n; i++) if (!strcmp(t[i].name, name)) return &t[i];
    return NULL;
}

static inline void set2(wt *t, const char *name, int rows, int cols, const float *v) {
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = cols ? 2 : 1;
    t->shape[0] = rows;
    t->shape[1] = cols;
    size_t k = (size_t)rows * (size_t)(cols ? cols : 1);
    t->data = malloc(sizeof(float) * k);
    memcpy(t->data, v, sizeof(float) * k);
}

static char g_dir[1100];
static inline const char *stories_dir(void) {
    const char *md = tq_t_models_dir();
    if (!md) return NULL;
    snprintf(g_dir, sizeof g_dir, "%s/stories260k", md);
    char p[1200];
    snprintf(p, sizeof p, "%s/stories260K.safetensors", g_dir);
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fclose(f);
    return g_dir;
}

#endif
