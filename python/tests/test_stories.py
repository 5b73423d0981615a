"""The real stories260k checkpoint (a Llama-style decoder) through the package."""
import numpy as np

import trueq


def test_stories_open_decode_equal_c(stories, dump, tmp_path):
    with trueq.open(stories) as m:
        assert m.format == "safetensors" and len(m) > 10
    q = tmp_path / "q4"
    rep = trueq.convert(stories, q, bits=4, granularity="group:32", pad=True)
    assert rep["quantized_tensors"] > 0 and rep["output_bytes"] < rep["input_bytes"]
    from test_api import _compare_with_c
    assert _compare_with_c(q / rep["weights_file"], dump, tmp_path / "c") == len(trueq.open(q))
    _compare_with_c(stories, dump, tmp_path / "o")


def test_stories_inspect_verify_spectrum(stories, cli, tmp_path):
    led = trueq.inspect(stories)
    led.pop("fake_quant")
    assert led == cli.json("inspect", stories)
    trueq.convert(stories, tmp_path / "q8", bits=8)
    v = trueq.verify(stories, tmp_path / "q8")
    assert v["counts"]["compared"] > 0 and v["overall_quantized"]["grade"] in "AB"
    rows = trueq.spectrum(stories, bits=[8, 4, 2], analysed_only=True)
    assert rows and {r["run"] for r in rows} == {"orig", "8bit", "4bit", "2bit"}
    alpha = {(r["run"], r["name"]): r["alpha"] for r in rows}
    assert all(np.isfinite(a) for a in alpha.values() if a is not None)
