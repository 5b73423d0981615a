/*
 * gguf_export.h — `convert --format gguf --type T`: llama.cpp-compatible GGUF
 * output (internal to src/convert/; docs/formats/gguf.md "Writing").
 *
 * Three tables decide everything:
 *   - the file types (gguf_policy.c): what --type T means, as llama-quantize
 *     means it: its LLAMA_FTYPE (general.file_type) and base ggml type (Q4_K
 *     is llama-quantize's alias for Q4_K_M, Q5_K for Q5_K_M, Q3_K for Q3_K_M);
 *   - the keep-wide rules (gguf_policy.c): llama-quantize's default choice per
 *     tensor category without an importance matrix (FORMATS.md §3.7), the
 *     shape fallbacks when ne[0] is not a multiple of the block size, and the
 *     tensors it never quantizes;
 *   - the families (gguf_names.c): for each trueq model family (src/nn/arch
 *     row), the GGUF architecture, the GGUF name of every tensor role, which
 *     roles get the q/k row permutation, and the hyper-parameter keys.
 * gguf_export.c builds the plan (names, types, exact layout via tq_gguf_plan)
 * and executes it (row-split quantization with tq_ggml_quantize, deterministic
 * for any thread count; the file written atomically by tq_gguf_write).
 */
#ifndef TQ_CONVERT_GGUF_EXPORT_H
#define TQ_CONVERT_GGUF_EXPORT_H
#include "convert/convert.h"
#include "io/gguf.h"

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

/* ===== families (gguf_names.c) ============================================ */

typedef struct tq_gguf_family tq_gguf_family;

/** How model m's tensors map to GGUF: the family row and the arch prefix, or
 *  NULL with err set (TQ_E_UNSUPPORTED naming what trueq can export). */
const tq_gguf_family *tq_gguf_family_detect(const tq_model *m, const char **prefix, tq_error *err);
/** "llama" */
const char *tq_gguf_family_arch(const tq_gguf_family *f);

/** One source tensor's place in the output. */
typedef struct tq_gguf_map {
    char name[TQ_GGUF_MAX_NAME + 1];  /* GGUF name; "" = not written (rule says why) */
    int  permute_heads;               /* >0: permute rows as q/k with this many heads */
} tq_gguf_map;

/** The GGUF name of source tensor t. TQ_E_UNSUPPORTED when the family has no
 *  place for it (fused q/k/v the target graph does not take, unknown names). */
tq_status tq_gguf_family_map(const tq_gguf_family *f, const tq_model *m, const char *prefix, const tq_tensor *t,
                             int n_heads, int n_kv_heads, int n_layers, tq_gguf_map *out, tq_error *err);

/** Hyper-parameters in the GGUF's {arch}.* keys. */
typedef struct tq_gguf_hparams {
    int   dim, hidden, n_layers, n_heads, n_kv_heads, vocab, ctx, type_vocab;
    float eps, rope_theta;
} tq_gguf_hparams;

/** Read the hyper-parameters of m (its config file, shapes from tensors). */
tq_status tq_gguf_family_hparams(const tq_gguf_family *f, const tq_model *m, const char *prefix,
                                 tq_gguf_hparams *hp, tq_error *err);

/** Append the family's {arch}.* KVs to kv (capacity checked by the caller:
 *  at most TQ_GGUF_FAMILY_MAX_KV). @return the number added. */
#define TQ_GGUF_FAMILY_MAX_KV 16
int tq_gguf_family_kvs(const tq_gguf_family *f, const tq_gguf_hparams *hp, char keys[][64], tq_gguf_wkv *kv);

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
const char *tq_gguf_family_tokenizer(const tq_gguf_family *f);

/* ===== the plan (gguf_export.c) =========================================== */

typedef struct tq_gguf_export tq_gguf_export;

/** Plan GGUF output for p (p->m, p->o set): fills p->items and the layout. */
tq_status tq_gguf_plan_build(tq_plan *p, tq_error *err);
tq_status tq_gguf_plan_execute(const tq_plan *p, const char *outdir, tq_progress_fn progress, void *ud, tq_error *err);
void      tq_gguf_export_free(tq_gguf_export *gx);

/** For reports: the ggml type name of plan item i ("Q4_K", "F32"), or NULL
 *  when p is not a GGUF plan; its GGUF name; the file type name. */
const char *tq_plan_gguf_type(const tq_plan *p, int64_t i);
const char *tq_plan_gguf_name(const tq_plan *p, int64_t i);
const char *tq_plan_gguf_ftype(const tq_plan *p);
#endif
