/*
 * table.h — the table of model families (arch.h rows) and how a row turns
 * roles into tensor names (internal to src/nn/).
 *
 * To add a family: write src/nn/arch/NAME.c defining one const tq_arch row,
 * declare it in arch.h, add it to TABLE in table.c, and add its tests
 * (tests/test_nn_arch.c checks every row is complete).
 */
#ifndef TQ_NN_ARCH_TABLE_H
#define TQ_NN_ARCH_TABLE_H
#include "nn/arch/arch.h"
#include "trueq.h"
#include <stddef.h>

/** Rows in the table; row i (NULL beyond). */
int            tq_arch_count(void);
const tq_arch *tq_arch_at(int i);
/** The row of a family and its id (tq_enc_arch / tq_llama_naming), or NULL. */
const tq_arch *tq_arch_by_id(tq_family f, int id);
/** The row named name ("bert", "llama-hf", ...), or NULL. */
const tq_arch *tq_arch_by_name(const char *name);
/** The row of family f whose config.json "model_type" is mt, or NULL. */
const tq_arch *tq_arch_by_model_type(tq_family f, const char *mt);

/**
 * Write the tensor name of role r (layer `layer` for layer roles) with the
 * prefix (unless the role is raw) and ".weight" (bias 0) or ".bias" (bias 1)
 * into buf. @return 1; 0 when the row has no such role (or no such bias),
 * buf then "".
 */
int tq_arch_name(const tq_arch *a, const char *prefix, tq_role r, int layer, int bias, char *buf, size_t cap);

/** The tensor of role r in m, or NULL (absent from the row or the model). */
const tq_tensor *tq_arch_find(const tq_model *m, const tq_arch *a, const char *prefix, tq_role r, int layer, int bias);

/**
 * The first prefix of a (its prefixes[] in order) under which m holds the
 * token embeddings and layer 0's detect role (or, for a row with a fused
 * q/k/v, the fused tensor), or NULL when m is not of this family.
 */
const char *tq_arch_prefix(const tq_model *m, const tq_arch *a);

/** The first row of family f that m holds (prefix out, may be NULL), or NULL. */
const tq_arch *tq_arch_detect(const tq_model *m, tq_family f, const char **prefix);

/**
 * Check a row is complete for its family: name, embeddings, q/k/v (or the
 * fused form), output projection, both block norms, the FFN, config keys for
 * dim/n_layers/n_heads, layer roles holding exactly one "%d" and others none.
 * @return NULL when complete, else a static text naming the first gap.
 */
const char *tq_arch_incomplete(const tq_arch *a);
#endif
