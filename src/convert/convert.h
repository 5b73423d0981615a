/* convert.h — internals of the converter (policy, plan, execution). */
#ifndef TQ_CONVERT_H
#define TQ_CONVERT_H
#include "io/model.h"

bool tq_policy_is_embedding(const char *name);
bool tq_policy_is_norm(const char *name);
/** Decide one tensor; records which include/exclude globs matched. */
void tq_policy_decide(const tq_convert_options *o, const tq_tensor *t, int *quantize, bool *per_row,
                      char *rule, size_t cap, int *hit_include, int *hit_exclude, int *hit_rule,
                      const tq_qparams **rule_q);

/* One output entry: a tensor's payload, or one of its side tensors. */
typedef struct tq_plan_out {
    int64_t item;     /* plan item it belongs to */
    int     aux;      /* -1 payload, else side tensor index */
} tq_plan_out;

struct tq_plan {
    const tq_model     *m;
    tq_convert_options  o;
    tq_plan_item       *items;
    char              **rules;      /* owned rule texts */
    int64_t             n;
    tq_wentry          *went;       /* writer entries */
    tq_plan_out        *wmap;       /* what each writer entry is */
    int64_t             nw;
    char              **wnames;     /* owned names of side entries */
    char              **meta_k, **meta_v;
    int                 n_meta;
    uint64_t            out_bytes;
    uint64_t            header_bytes, padding_bytes;
    struct tq_gguf_export *gx;      /* GGUF output (gguf_export.c), else NULL */
    uint8_t            *mlx_keep;   /* MLX output: per item, 1 = a 2-D weight kept
                                       wide (a config.json override), else NULL */
};
#endif
