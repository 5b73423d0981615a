/* gguf_policy.h — GGUF file types and llama-quantize's per-tensor type policy (gguf_policy.c; see gguf_export.h). */
#ifndef TQ_CONVERT_GGUF_POLICY_H
#define TQ_CONVERT_GGUF_POLICY_H
#include <stddef.h>
#include <stdint.h>

/* ===== file types (gguf_policy.c) ========================================= */

typedef struct tq_gguf_ftype {
    const char *name;      /* what --type takes: "Q4_K"                       */
    const char *alias;     /* llama-quantize's longer name: "Q4_K_M", or NULL */
    int         ftype;     /* LLAMA_FTYPE: general.file_type                  */
    int         base;      /* ggml type of an ordinary quantized tensor       */
} tq_gguf_ftype;

/** The row named `name` (or its alias), or NULL. */
const tq_gguf_ftype *tq_gguf_ftype_by_name(const char *name);
/** "F32, F16, ... or Q6_K" into buf. */
const char *tq_gguf_ftype_names(char *buf, size_t cap);

/* ===== the keep-wide policy (gguf_policy.c) =============================== */

/** What llama-quantize's choice depends on besides the tensor itself. The
 *  counters advance as tensors are decided, in file order, as llama.cpp's do. */
typedef struct tq_gguf_policy {
    const tq_gguf_ftype *ft;
    int n_layers;          /* block_count                                     */
    int n_gqa;             /* n_heads / n_kv_heads                            */
    int has_output;        /* the file has output.weight (else token_embd is the output) */
    int n_attn_v;          /* attn_v / attn_qkv tensors in the file            */
    int i_attn_v, i_ffn_down;
} tq_gguf_policy;

/**
 * The ggml type of GGUF tensor `name` (ne in GGUF order, n_dims of them) and
 * the rule that chose it (text into rule). force: 1 quantize (--include), -1
 * keep (--exclude), 0 the policy. Kept tensors are F32.
 */
int tq_gguf_policy_type(tq_gguf_policy *pol, const char *name, int n_dims, const int64_t *ne, int force, char *rule,
                        size_t cap);

#endif
