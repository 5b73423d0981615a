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
#include "convert/gguf_names.h"
#include "convert/gguf_policy.h"
#include "convert/gguf_tokenizer.h"

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
