/*
 * test_sharded.c — Hugging Face sharded checkpoints and directory resolution
 * in tq_model_open (src/io/model.c, docs/formats/safetensors.md).
 *
 * Each case builds its own directory: shards written with the safetensors
 * writer (whose bytes test_safetensors.c checks against known answers) and an
 * index written here as text. A good checkpoint opens through the index and
 * through its directory with every tensor's bytes; each fault is its own
 * status and message; a failed open returns NULL and adds nothing to the
 * directory.
 */
#include "tq_test.h"
#include "io/container.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S1 "model-00001-of-00002.safetensors"
#define S2 "model-00002-of-00002.safetensors"

/* a fresh directory tmpdir/name; returns its path (static ring of tq_t_path) */
static const char *mkcase(const char *name) {
    const char *d = tq_t_path(name);
    mkdir(d, 0755);
    return d;
}

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Tensor NAME is U8 [len(NAME)] holding the bytes of NAME itself: its content
 * identifies it. Writes `file` in `dir` holding the comma-separated names. */
static void shard_as(const char *dir, const char *file, const char *names, tq_format fmt) {
    tq_wentry e[16];
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", names);
    int n = 0;
    for (char *t = strtok_r(buf, ",", &save); t && n < 16; t = strtok_r(NULL, ",", &save))
        e[n++] = (tq_wentry){.name = t, .dtype = TQ_DTYPE_U8, .ndim = 1, .shape = {(int64_t)strlen(t)}};
    char *p = join(dir, file);
    tq_error err;
    const char *mk[] = {"format"}, *mv[] = {"pt"};
    tq_writer *w = tq_writer_create(fmt, p, e, n, mk, mv, 1, &err);
    CHECK_MSG(w != NULL, "%s", err.msg);
    for (int i = 0; w && i < n; i++) CHECK_OK(tq_writer_put(w, i, e[i].name, strlen(e[i].name), &err), err);
    if (w) CHECK_OK(tq_writer_finish(w, &err), err);
    tq_writer_free(w);
    free(p);
}

static void shard(const char *dir, const char *file, const char *names) {
    shard_as(dir, file, names, TQ_FORMAT_SAFETENSORS);
}

static void text(const char *dir, const char *file, const char *s) {
    char *p = join(dir, file);
    CHECK(tq_t_write(p, s, strlen(s)) == 0);
    free(p);
}

#define INDEX "model.safetensors.index.json"
/* an index with the given weight_map body */
static void index_of(const char *dir, const char *map) {
    char buf[2048];
    snprintf(buf, sizeof buf, "{\n  \"metadata\": {\"total_size\": 3},\n  \"weight_map\": {%s}\n}\n", map);
    text(dir, INDEX, buf);
}

static int entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) n++;
    if (d) closedir(d);
    return n;
}

/* Opening `path` (dir/rel, or dir when rel is NULL) fails with want + substr. */
static void expect_fail(const char *dir, const char *rel, tq_status want, const char *substr) {
    char *p = rel ? join(dir, rel) : strdup(dir);
    int before = entries(dir);
    tq_error err;
    tq_model *m = tq_model_open(p, &err);
    CHECK_MSG(m == NULL, "%s opened", p);
    if (m) tq_model_close(m);
    else CHECK_ERR(err.status, err, want, substr);
    CHECK_EQ_INT(entries(dir), before);
    free(p);
}

/* The model at path holds exactly the comma-separated names, each with its own bytes. */
static void expect_tensors(const char *path, int sharded, const char *names) {
    tq_error err;
    tq_model *m = tq_model_open(path, &err);
    CHECK_MSG(m != NULL, "%s: %s", path, err.msg);
    if (!m) return;
    CHECK_EQ_INT(tq_model_sharded(m), sharded);
    CHECK_EQ_INT(tq_model_format(m), TQ_FORMAT_SAFETENSORS);
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", names);
    int n = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save), n++) {
        const tq_tensor *x = tq_model_find(m, t);
        CHECK_MSG(x != NULL, "%s: tensor %s missing", path, t);
        if (x) CHECK_MSG(x->nbytes == strlen(t) && memcmp(x->data, t, x->nbytes) == 0, "%s: %s has the wrong bytes", path, t);
    }
    CHECK_EQ_INT(tq_model_count(m), n);
    tq_model_close(m);
}

static void good(void) {
    TQ_CASE("a good sharded checkpoint opens through the index and through the directory");
    const char *d = mkcase("good");
    shard(d, S1, "embed.weight,layers.0.w");
    shard(d, S2, "layers.1.w,lm_head.weight,norm");
    index_of(d, "\"embed.weight\": \"" S1 "\", \"layers.0.w\": \"" S1 "\", \"layers.1.w\": \"" S2 "\","
                "\"lm_head.weight\": \"" S2 "\", \"norm\": \"" S2 "\"");
    text(d, "config.json", "{}");
    char *ip = join(d, INDEX);
    expect_tensors(ip, 1, "embed.weight,layers.0.w,layers.1.w,lm_head.weight,norm");
    expect_tensors(d, 1, "embed.weight,layers.0.w,layers.1.w,lm_head.weight,norm");
    tq_error err;
    tq_model *m = tq_model_open(d, &err);
    if (m) {
        CHECK(strcmp(tq_model_path(m), ip) == 0);
        const char *v = tq_model_meta(m, "format");
        CHECK(v && strcmp(v, "pt") == 0);
        tq_model_close(m);
    }
    free(ip);

    TQ_CASE("sharded: one shard, trueq side tensors (NAME.__scale__) need no index entry");
    d = mkcase("side");
    shard(d, "model-00001-of-00001.safetensors", "w,w.__scale__");
    index_of(d, "\"w\": \"model-00001-of-00001.safetensors\"");
    expect_tensors(d, 1, "w,w.__scale__");
}

static void faults(void) {
    TQ_CASE("sharded faults: each its own error");
    const char *d = mkcase("missing_tensor");
    shard(d, S1, "a");
    shard(d, S2, "c");
    index_of(d, "\"a\": \"" S1 "\", \"b\": \"" S1 "\", \"c\": \"" S2 "\"");
    expect_fail(d, INDEX, TQ_E_FORMAT, "tensor \"b\" is indexed in shard " S1 " but not present there");
    expect_fail(d, NULL, TQ_E_FORMAT, "tensor \"b\" is indexed in shard " S1 " but not present there");

    d = mkcase("missing_shard");
    shard(d, S1, "a");
    index_of(d, "\"a\": \"" S1 "\", \"c\": \"" S2 "\"");
    expect_fail(d, INDEX, TQ_E_NOTFOUND, "shard " S2 " named by the index is missing");

    d = mkcase("unindexed");
    shard(d, S1, "a,b");
    shard(d, S2, "c");
    index_of(d, "\"a\": \"" S1 "\", \"c\": \"" S2 "\"");
    expect_fail(d, INDEX, TQ_E_FORMAT, "shard " S1 " holds tensor \"b\" that the index does not list");

    d = mkcase("wrong_shard");
    shard(d, S1, "a,b");
    shard(d, S2, "c");
    index_of(d, "\"a\": \"" S2 "\", \"b\": \"" S1 "\", \"c\": \"" S2 "\"");
    expect_fail(d, INDEX, TQ_E_FORMAT, "tensor \"a\" is indexed in shard " S2 " but not present there (it is in " S1 ")");

    d = mkcase("two_shards");
    shard(d, S1, "a,c");
    shard(d, S2, "c");
    index_of(d, "\"a\": \"" S1 "\", \"c\": \"" S2 "\"");
    expect_fail(d, INDEX, TQ_E_FORMAT, "tensor \"c\" is in two shards, " S1 " and " S2);

    d = mkcase("dup_index");
    shard(d, S1, "a");
    shard(d, S2, "c");
    index_of(d, "\"a\": \"" S1 "\", \"c\": \"" S2 "\", \"a\": \"" S2 "\"");
    expect_fail(d, INDEX, TQ_E_FORMAT, "weight_map lists tensor \"a\" twice");

    d = mkcase("stray");
    shard(d, S1, "a");
    shard(d, S2, "c");
    shard(d, "consolidated.safetensors", "a,c");
    index_of(d, "\"a\": \"" S1 "\", \"c\": \"" S2 "\"");
    expect_fail(d, INDEX, TQ_E_FORMAT, "stray shard consolidated.safetensors");

    d = mkcase("bad_shard");
    shard(d, S1, "a");
    text(d, S2, "not a safetensors file");
    index_of(d, "\"a\": \"" S1 "\", \"c\": \"" S2 "\"");
    expect_fail(d, INDEX, TQ_E_FORMAT, S2 ": header length");

    d = mkcase("gguf_shard");   /* a shard is detected by content like any file */
    shard(d, S1, "a");
    text(d, S2, "GGUF\x03 and more");
    index_of(d, "\"a\": \"" S1 "\", \"c\": \"" S2 "\"");
    expect_fail(d, INDEX, TQ_E_UNSUPPORTED, S2 ": GGUF version 1851858947 at offset 4 is not supported");

    d = mkcase("mixed_shards");   /* every shard of one model is of one format */
    shard(d, S1, "a");
    shard_as(d, S2, "c", TQ_FORMAT_NPZ);
    index_of(d, "\"a\": \"" S1 "\", \"c\": \"" S2 "\"");
    expect_fail(d, INDEX, TQ_E_FORMAT, S2 " is a numpy .npz archive but ");

    TQ_CASE("sharded faults: the index itself");
    d = mkcase("bad_index");
    shard(d, S1, "a");
    text(d, INDEX, "{\"weight_map\": {\"a\": \"" S1 "\"");
    expect_fail(d, INDEX, TQ_E_FORMAT, "index is not valid JSON");
    text(d, INDEX, "");
    expect_fail(d, INDEX, TQ_E_FORMAT, "index is not valid JSON");
    text(d, INDEX, "{\"metadata\": {}}");
    expect_fail(d, INDEX, TQ_E_FORMAT, "no \"weight_map\" object");
    text(d, INDEX, "[{\"weight_map\": {}}]");
    expect_fail(d, INDEX, TQ_E_FORMAT, "no \"weight_map\" object");
    text(d, INDEX, "{\"weight_map\": [\"" S1 "\"]}");
    expect_fail(d, INDEX, TQ_E_FORMAT, "no \"weight_map\" object");
    text(d, INDEX, "{\"weight_map\": {}}");
    expect_fail(d, INDEX, TQ_E_FORMAT, "\"weight_map\" is empty");
    text(d, INDEX, "{\"weight_map\": {\"a\": 1}}");
    expect_fail(d, INDEX, TQ_E_FORMAT, "weight_map[\"a\"] is not a file name");
    text(d, INDEX, "{\"weight_map\": {\"a\": \"../good/" S1 "\"}}");
    expect_fail(d, INDEX, TQ_E_FORMAT, "must be a plain file name");
    text(d, INDEX, "{\"weight_map\": {\"a\": \"..\"}}");
    expect_fail(d, INDEX, TQ_E_FORMAT, "must be a plain file name");
    text(d, INDEX, "{\"weight_map\": {\"a\": \"\"}}");
    expect_fail(d, INDEX, TQ_E_FORMAT, "must be a plain file name");
    expect_fail(d, "absent.safetensors.index.json", TQ_E_IO, "absent.safetensors.index.json");
}

static void directories(void) {
    TQ_CASE("directory resolution");
    const char *d = mkcase("dir_model");
    shard(d, "model.safetensors", "x");
    shard(d, "other.safetensors", "y");   /* model.safetensors wins */
    expect_tensors(d, 0, "x");

    d = mkcase("dir_one");
    shard(d, "weights-v2.safetensors", "y,z");
    text(d, "config.json", "{}");
    expect_tensors(d, 0, "y,z");
    tq_error err;
    tq_model *m = tq_model_open(d, &err);
    if (m) { CHECK(strstr(tq_model_path(m), "/weights-v2.safetensors") != NULL); tq_model_close(m); }

    d = mkcase("dir_two");
    shard(d, "a.safetensors", "x");
    shard(d, "b.safetensors", "y");
    expect_fail(d, NULL, TQ_E_ARG, "directory holds 2 weight files");

    d = mkcase("dir_empty");
    expect_fail(d, NULL, TQ_E_NOTFOUND, "holds no model.safetensors");
    text(d, "config.json", "{}");
    expect_fail(d, NULL, TQ_E_NOTFOUND, "holds no model.safetensors");

    d = mkcase("dir_badmodel");
    text(d, "model.safetensors", "short");
    expect_fail(d, NULL, TQ_E_FORMAT, "model.safetensors: file is 5 bytes");
}

void tq_tests(void) {
    good();
    faults();
    directories();
}
