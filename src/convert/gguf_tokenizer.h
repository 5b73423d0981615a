/* gguf_tokenizer.h — tokenizer.ggml.* metadata (gguf_tokenizer.c; see gguf_export.h). */
#ifndef TQ_CONVERT_GGUF_TOKENIZER_H
#define TQ_CONVERT_GGUF_TOKENIZER_H
#include "io/gguf.h"

/* ===== tokenizer metadata (gguf_tokenizer.c) ============================== */

/** tokenizer.ggml.* of the model directory's tokenizer: owned KV list. */
#define TQ_GGUF_TOK_MAX_KV 32
typedef struct tq_gguf_tok {
    tq_gguf_wkv kv[TQ_GGUF_TOK_MAX_KV];
    int         n;
    char      **tokens;       /* owned */
    float      *scores;
    int32_t    *types;
    int         count;
    uint32_t    ids[4];
    void       *own[TQ_GGUF_TOK_MAX_KV]; /* copied string arrays (tq_gguf_tok_copy) */
    int         n_own;
} tq_gguf_tok;

/** Fill t from dir's tokenizer for a family whose GGUF tokenizer model is
 *  `model` ("llama": tok*.bin / tokenizer.model). TQ_E_NOTFOUND when the
 *  directory holds none. */
tq_status tq_gguf_tok_build(const char *dir, const char *model, tq_gguf_tok *t, tq_error *err);
/** Fill t with every tokenizer.* KV of the GGUF input g (tokenizer.ggml.*,
 *  tokenizer.chat_template), in g's order,
 *  values as stored (arrays intact; string arrays copied NUL-terminated, other
 *  values borrowed from g: valid while g is). count = the length of
 *  tokenizer.ggml.tokens. TQ_E_NOTFOUND when g has no tokenizer.ggml.tokens;
 *  TQ_E_LIMIT over TQ_GGUF_TOK_MAX_KV keys; TQ_E_UNSUPPORTED for an array of
 *  arrays or a string holding a NUL byte (both named by key). */
tq_status tq_gguf_tok_copy(const tq_gguf *g, const char *path, tq_gguf_tok *t, tq_error *err);
void      tq_gguf_tok_free(tq_gguf_tok *t);
/** kv := the stored KV s as a KV to write, its value as stored (scalars and
 *  strings borrowed from s's image; a string array copied NUL-terminated
 *  into *own, for the caller to free; *own NULL otherwise). TQ_E_UNSUPPORTED
 *  for an array of arrays or a string holding a NUL byte (named by key). */
tq_status tq_gguf_wkv_of(const tq_gguf_kv *s, const char *path, tq_gguf_wkv *kv, void **own, tq_error *err);

#endif
