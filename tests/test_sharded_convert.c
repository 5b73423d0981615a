/* test_sharded_convert.c — sharded checkpoints end to end: the ledger counts the
 * index, convert writes one file holding every shard's tensors; directory
 * resolution. (The index faults are in test_sharded.c.) */
#include "tq_test.h"
#include "io/container.h"
#include <stdlib.h>
#include <sys/stat.h>

static void shard(const char *dir, const char *file, const char *const *names, int n) {
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    tq_wentry we[8];
    for (int i = 0; i < n; i++) {
        memset(&we[i], 0, sizeof we[i]);
        we[i].name = names[i]; we[i].dtype = TQ_DTYPE_F32; we[i].ndim = 2; we[i].shape[0] = 2; we[i].shape[1] = 3;
    }
    tq_error e;
    tq_writer *w = tq_writer_create(TQ_FORMAT_SAFETENSORS, path, we, n, NULL, NULL, 0, &e);
    float v[6] = {1, 2, 3, 4, 5, 6};
    for (int i = 0; i < n; i++) tq_writer_put(w, i, v, sizeof v, &e);
    tq_writer_finish(w, &e);
    tq_writer_free(w);
}

static void index_json(const char *dir, const char *json) {
    char path[1100];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    tq_t_write(path, json, strlen(json));
}

static const char *A = "model-00001-of-00002.safetensors", *B = "model-00002-of-00002.safetensors";
static const char *GOOD = "{\"metadata\":{\"total_size\":96},\"weight_map\":{\"a.weight\":\"model-00001-of-00002.safetensors\","
                          "\"b.weight\":\"model-00001-of-00002.safetensors\",\"c.weight\":\"model-00002-of-00002.safetensors\","
                          "\"d.weight\":\"model-00002-of-00002.safetensors\"}}";

static const char *make(const char *name, const char *idx, const char *const *na, int nna, const char *const *nb, int nnb) {
    static char dir[1024];
    snprintf(dir, sizeof dir, "%s", tq_t_path(name));
    mkdir(dir, 0755);
    if (nna >= 0) shard(dir, A, na, nna);
    if (nnb >= 0) shard(dir, B, nb, nnb);
    index_json(dir, idx);
    return dir;
}

void tq_tests(void) {
    static const char *const ab[] = {"a.weight", "b.weight"}, *const cd[] = {"c.weight", "d.weight"};
    TQ_CASE("a good sharded checkpoint opens through the directory and through the index");
    const char *d = make("good", GOOD, ab, 2, cd, 2);
    tq_error e;
    tq_model *m = tq_model_open(d, &e);
    CHECK_OK(m ? TQ_OK : e.status, e);
    if (m) {
        CHECK(tq_model_sharded(m) && tq_model_format(m) == TQ_FORMAT_SAFETENSORS && tq_model_count(m) == 4);
        CHECK(tq_model_find(m, "c.weight") && tq_model_find(m, "c.weight")->file_index == 1);
        tq_ledger *l = tq_ledger_create(m, &e);
        CHECK(l != NULL);
        if (l) {
            const tq_ledger_totals *T = tq_ledger_totals_get(l);
            CHECK(T->other_bytes == strlen(GOOD));   /* the index counts as its own bytes */
            CHECK(T->header_bytes + T->padding_bytes + T->stored_data_bytes + T->other_bytes == T->file_bytes);
        }
        tq_ledger_free(l);
        tq_model_close(m);
    }
    char ip[1100];
    snprintf(ip, sizeof ip, "%s/model.safetensors.index.json", d);
    m = tq_model_open(ip, &e);
    CHECK(m && tq_model_count(m) == 4);
    tq_model_close(m);

    TQ_CASE("converting a sharded checkpoint writes one file holding every tensor");
    tq_convert_options o;
    tq_convert_options_init(&o);
    m = tq_model_open(d, &e);
    tq_plan *p = m ? tq_plan_create(m, &o, &e) : NULL;
    CHECK(p && tq_plan_execute(p, tq_t_path("sharded_out"), NULL, NULL, &e) == TQ_OK);
    tq_plan_free(p);
    tq_model_close(m);
    char op[1100];
    snprintf(op, sizeof op, "%s/model.safetensors", tq_t_path("sharded_out"));
    m = tq_model_open(op, &e);
    CHECK(m && tq_model_count(m) == 4 && tq_model_find(m, "d.weight")->quantized);
    tq_model_close(m);

    TQ_CASE("directory resolution: one other .safetensors, two, none");
    char dd[1024];
    snprintf(dd, sizeof dd, "%s", tq_t_path("one"));
    mkdir(dd, 0755);
    shard(dd, "weights.safetensors", ab, 2);
    m = tq_model_open(dd, &e);
    CHECK(m && tq_model_count(m) == 2);
    tq_model_close(m);
    shard(dd, "other.safetensors", cd, 2);
    CHECK_ERR(tq_model_open(dd, &e) ? TQ_OK : e.status, e, TQ_E_ARG, "holds 2 weight files");
    snprintf(dd, sizeof dd, "%s", tq_t_path("none"));
    mkdir(dd, 0755);
    CHECK_ERR(tq_model_open(dd, &e) ? TQ_OK : e.status, e, TQ_E_NOTFOUND, "holds no model.safetensors");
}
