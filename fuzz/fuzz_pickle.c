/*
 * fuzz_pickle.c — libFuzzer target for the safe state-dict unpickler
 * (src/io/pickle.c) and the torch.save zip reader over it (src/io/torch_zip.c).
 * An input starting with "PK" is parsed as a whole torch.save archive, any
 * other as the pickle itself. On success every tensor's bytes are touched and
 * the views checked against their storages; a failure must name the input.
 * Seed corpus: fuzz/corpus/pickle/ (data.pkl members and whole files written
 * by torch.save through tests/py/torch_bin.py, including the malicious ones).
 */
#include "io/pickle.h"
#include "io/torch_zip.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tq_error err;
    volatile uint8_t sink = 0;
    if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
        tq_container c;
        memset(&c, 0, sizeof c);
        if (tq_torch_zip_parse(data, size, "fuzz.bin", &c, &err) != TQ_OK) {
            if (!strstr(err.msg, "fuzz.bin")) abort();
            return 0;
        }
        for (int64_t i = 0; i < c.n; i++) {
            const tq_entry *e = &c.entries[i];
            if ((const uint8_t *)e->data < data || e->offset + e->nbytes > size) abort();
            for (uint64_t k = 0; k < e->nbytes; k++) sink ^= ((const uint8_t *)e->data)[k];
        }
        for (int64_t i = 0; i < c.n; i++) free(c.entries[i].name);
        free(c.entries);
        for (int i = 0; i < c.n_meta; i++) { free(c.meta_keys[i]); free(c.meta_vals[i]); }
        free(c.meta_keys);
        free(c.meta_vals);
        (void)sink;
        return 0;
    }
    tq_pkl_dict d;
    if (tq_pickle_state_dict(data, size, "fuzz.pkl", &d, &err) != TQ_OK) {
        if (!strstr(err.msg, "fuzz.pkl")) abort();
        return 0;
    }
    for (int64_t i = 0; i < d.n; i++) {
        const tq_pkl_tensor *t = &d.t[i];
        if (!t->name[0] || t->storage < 0 || t->storage >= d.ns || t->ndim < 0 || t->ndim > TQ_MAX_DIMS) abort();
        sink ^= (uint8_t)t->name[0];
    }
    for (int s = 0; s < d.ns; s++)
        if (!d.s[s].key[0] || d.s[s].numel < 0) abort();
    (void)sink;
    tq_pkl_dict_free(&d);
    return 0;
}
