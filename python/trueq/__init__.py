"""trueq: real low-bit quantization of transformer weights, with an honest byte ledger.

A thin ctypes binding over libtrueq (the C library the `trueq` CLI is built
on); every figure comes from the library, so it equals the CLI's --json.

    import trueq
    trueq.synth("distilbert")                               # the built-in DistilBERT-MNLI-shaped model
    rep = trueq.convert("distilbert", "int8", bits=8, quantize_embeddings=True)
    led = trueq.inspect("int8")                             # ledger rows + totals; led["fake_quant"]
    with trueq.open("int8") as m:
        w = m["distilbert.transformer.layer.0.ffn.lin1.weight"].numpy()   # float32, dequantized
    trueq.verify("distilbert", "int8")["overall"]["snr_db"]
    rows = trueq.spectrum("distilbert", bits=[8, 4, 2])     # pandas.DataFrame(rows)
    trueq.classify("int8", "A man eats.", "Someone is eating.")

Errors raise trueq.TrueqError with .status, .status_name and the library's .message.
"""
from ._lib import lib as _cdll
from ._model import Model, Tensor, TrueqError, open  # noqa: A004
from ._report import convert, inspect, synth, verify
from ._spectrum import spectrum
from ._encoder import classify, embed

__version__ = _cdll.tq_version().decode()
library_version = __version__

__all__ = ["Model", "Tensor", "TrueqError", "open", "convert", "inspect", "synth", "verify", "spectrum", "embed",
           "classify", "__version__"]
