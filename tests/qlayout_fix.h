/* qlayout_fix.h — what the foreign-layout tests (tests/test_qlayout*.c)
 * share: a safetensors writer for hand-packed entries plus config.json, a
 * bit-stream packer, the "opens with this error" check and the ledger check
 * (every byte of the file accounted for). Include once per test binary. */
#ifndef TQ_QLAYOUT_FIX_H
#define TQ_QLAYOUT_FIX_H
#include "tq_test.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct ent { const char *name, *dtype; int ndim; int64_t shape[2]; const void *data; size_t n; } ent;

/* a safetensors file of the entries (ndim 0..2), and config.json with `conf`;
 * returns the safetensors file's size */
static inline size_t write_model(const char *dir, const ent *e, int ne, const char *conf) {
    mkdir(dir, 0755);
    static char hdr[16384];
    size_t off = 0, hl = 0;
    hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "{");
    for (int i = 0; i < ne; i++) {
        hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "",
                               e[i].name, e[i].dtype);
        for (int d = 0; d < e[i].ndim; d++)
            hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "%s%lld", d ? "," : "", (long long)e[i].shape[d]);
        hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "],\"data_offsets\":[%zu,%zu]}", off, off + e[i].n);
        off += e[i].n;
    }
    hl += (size_t)snprintf(hdr + hl, sizeof hdr - hl, "}");
    while (hl % 8) hdr[hl++] = ' ';
    size_t total = 8 + hl + off;
    uint8_t *buf = malloc(total);
    uint64_t h = hl;
    memcpy(buf, &h, 8);
    memcpy(buf + 8, hdr, hl);
    size_t o = 0;
    for (int i = 0; i < ne; o += e[i].n, i++) memcpy(buf + 8 + hl + o, e[i].data, e[i].n);
    char p[1024];   /* dir (< 512) + a file name */
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    CHECK(tq_t_write(p, buf, total) == 0);
    free(buf);
    snprintf(p, sizeof p, "%s/config.json", dir);
    CHECK(tq_t_write(p, conf, strlen(conf)) == 0);
    return total;
}

/* put value v (bits wide) at element k of a bit stream over 32-bit words w[0], w[stride], ... */
static inline void put(uint32_t *w, int64_t stride, int64_t k, int bits, uint32_t v) {
    for (int b = 0; b < bits; b++) {
        int64_t bit = k * bits + b;
        if (v >> b & 1) w[(bit / 32) * stride] |= 1u << (bit % 32);
    }
}

static inline void expect_open_err(const char *tag, const ent *e, int ne, const char *conf, tq_status st, const char *msg) {
    char d[512];
    snprintf(d, sizeof d, "%s", tq_t_path(tag));
    write_model(d, e, ne, conf);
    tq_error err;
    tq_model *m = tq_model_open(d, &err);
    CHECK_MSG(m == NULL, "%s: opened", tag);
    if (m) { tq_model_close(m); return; }
    CHECK_MSG(err.status == st && strstr(err.msg, msg), "%s: got %d \"%s\", want \"%s\"", tag, (int)err.status, err.msg, msg);
}

/* the ledger of m: the file's size = header + padding + payload + side bytes,
 * nq tensors quantized at the given true bits per weight of tensor `name` */
static inline void check_ledger(const tq_model *m, size_t file_size, int nq, const char *name, double bpw) {
    tq_error err;
    tq_ledger *l = tq_ledger_create(m, &err);
    CHECK_MSG(l != NULL, "%s", l ? "" : err.msg);
    if (!l) return;
    const tq_ledger_totals *T = tq_ledger_totals_get(l);
    CHECK_EQ_INT(T->file_bytes, file_size);
    CHECK_EQ_INT(T->header_bytes + T->padding_bytes + T->payload_bytes + T->aux_bytes, file_size);
    CHECK_EQ_INT(T->n_quantized, nq);
    for (int64_t i = 0; i < tq_ledger_count(l); i++) {
        const tq_ledger_row *r = tq_ledger_row_at(l, i);
        if (strcmp(r->t->name, name) == 0)
            CHECK_MSG(r->bits_per_weight == bpw, "%s: %.6f bits/weight, want %.6f", name, r->bits_per_weight, bpw);
    }
    tq_ledger_free(l);
}
#endif
