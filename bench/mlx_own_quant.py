"""MLX's own quantization of an encoder, for docs/quality.md's table (venv-mlx: mlx 0.32.4).

usage: mlx_own_quant.py MODEL_DIR OUT_DIR BITS GROUP

Every 2-D "*.weight" that trueq's default policy quantizes (not the embeddings, not 1-D tensors)
goes through what an MLX user gets from mlx_lm's default conversion: cast to float16, then
mx.quantize (affine, float16 scales and biases, BITS x GROUP) and mx.dequantize, written back as
float32 in OUT_DIR/model.safetensors next to links to the model's other files, so that
`trueq compare MODEL_DIR OUT_DIR` measures MLX's rounding with trueq's forward pass.
Prints the bits per quantized weight (codes + scales), as trueq's convert report counts them.
"""
import os
import sys

import mlx.core as mx

src, out, bits, group = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
os.makedirs(out, exist_ok=True)
for name in os.listdir(src):
    if name != "model.safetensors" and not os.path.exists(os.path.join(out, name)):
        os.symlink(os.path.abspath(os.path.join(src, name)), os.path.join(out, name))
w = mx.load(os.path.join(src, "model.safetensors"))
res, qbits, qn = {}, 0, 0
for k, v in w.items():
    if v.ndim == 2 and k.endswith(".weight") and "embeddings" not in k and v.shape[1] % group == 0:
        h = v.astype(mx.float16)
        q, s, b = mx.quantize(h, group_size=group, bits=bits)
        res[k] = mx.dequantize(q, s, b, group_size=group, bits=bits).astype(mx.float32)
        qbits += q.size * 32 + (s.size + b.size) * 16
        qn += v.size
    else:
        res[k] = v
mx.save_safetensors(os.path.join(out, "model.safetensors"), res)
print("%.3f" % (qbits / qn))
