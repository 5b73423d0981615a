/*
 * pickle.h — a safe interpreter for the pickle of a PyTorch state dict
 * (FORMATS.md §6.2-6.4, docs/formats/pytorch.md). Internal.
 *
 * It runs the pickle's opcodes on a stack machine whose values are data
 * only (None, bools, ints, floats, strings, tuples, lists, dicts, storage
 * references, tensor views). Globals resolve against a whitelist; the few
 * callables REDUCE may apply (OrderedDict, the tensor rebuilds, torch.Size)
 * are interpreted by this file. Any other global is refused by name when its
 * GLOBAL / STACK_GLOBAL opcode is read ("pickle global \"os.system\" is not
 * allowed"): nothing is imported or called. Memo, stack, string lengths and
 * value counts are bounded; every operand length is checked.
 */
#ifndef TQ_PICKLE_H
#define TQ_PICKLE_H

#include "core/internal.h"

typedef struct tq_pkl_storage {
    char    *key;        /* the zip member <archive>/data/<key> */
    tq_dtype dtype;
    int64_t  numel;      /* elements of dtype */
} tq_pkl_storage;

typedef struct tq_pkl_tensor {
    char    *name;       /* the state dict key */
    int      storage;    /* index into storages */
    int64_t  offset;     /* storage offset, elements */
    int      ndim;
    int64_t  shape[TQ_MAX_DIMS];
    int64_t  stride[TQ_MAX_DIMS];
} tq_pkl_tensor;

typedef struct tq_pkl_dict {
    tq_pkl_tensor  *t;   /* in pickle order */
    int64_t         n;
    tq_pkl_storage *s;   /* in order of first appearance */
    int             ns;
    int64_t         skipped;   /* top-level values that are not tensors */
} tq_pkl_dict;

#define TQ_PKL_MAX_STACK   100000
#define TQ_PKL_MAX_MEMO    (1 << 22)
#define TQ_PKL_MAX_VALUES  (1 << 22)   /* each opcode makes at most one */
#define TQ_PKL_MAX_STR     (1u << 20)

/**
 * Run the pickle d[0, n) (protocol 2 to 5) and collect its top-level dict of
 * tensors. Errors name `what` (the file and member) and the opcode offset.
 */
tq_status tq_pickle_state_dict(const uint8_t *d, size_t n, const char *what, tq_pkl_dict *out, tq_error *err);
void      tq_pkl_dict_free(tq_pkl_dict *p);

#endif
