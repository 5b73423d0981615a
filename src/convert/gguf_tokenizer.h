/* gguf_tokenizer.h — tokenizer.ggml.* metadata (gguf_tokenizer.c; see gguf_export.h). */
#ifndef TQ_CONVERT_GGUF_TOKENIZER_H
#define TQ_CONVERT_GGUF_TOKENIZER_H
#include "io/gguf.h"

/* ===== tokenizer metadata (gguf_tokenizer.c) ============================== */

/** tokenizer.ggml.* of the model directory's tokenizer: owned KV list. */
typedef struct tq_gguf_tok {
    tq_gguf_wkv kv[12];
    int         n;
    char      **tokens;       /* owned */
    float      *scores;
    int32_t    *types;
    int         count;
    uint32_t    ids[4];
} tq_gguf_tok;

/** Fill t from dir's tokenizer for a family whose GGUF tokenizer model is
 *  `model` ("llama": tok*.bin / tokenizer.model). TQ_E_NOTFOUND when the
 *  directory holds none. */
tq_status tq_gguf_tok_build(const char *dir, const char *model, tq_gguf_tok *t, tq_error *err);
void      tq_gguf_tok_free(tq_gguf_tok *t);

#endif
