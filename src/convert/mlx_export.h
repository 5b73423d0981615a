/*
 * mlx_export.h — `convert --format mlx`: an MLX model directory mlx_lm loads
 * (internal to src/convert/; docs/formats/mlx.md "Writing"). The plan is built
 * here; execute.c streams it like any safetensors plan and then writes
 * config.json from tq_mlx_config_render.
 */
#ifndef TQ_CONVERT_MLX_EXPORT_H
#define TQ_CONVERT_MLX_EXPORT_H
#include "convert/convert.h"

/** Plan MLX output for p (p->m, p->o set; o->q: codec mlx, bits, group). */
tq_status   tq_mlx_plan_build(tq_plan *p, tq_error *err);
/** The input's config.json (or {} when it has none) with "quantization" and
 *  "quantization_config" set to {"group_size", "bits", "mode": "affine"} and
 *  "P": false for every Linear/Embedding weight kept wide. Owned by the caller. */
char       *tq_mlx_config_render(const tq_plan *p, tq_error *err);
#endif
