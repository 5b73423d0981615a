"""Every function of the trueq package against the CLI's --json and the C loader."""
import os
import subprocess

import numpy as np
import pytest

import trueq


def test_installed_package_not_the_source_tree():
    here = os.path.dirname(os.path.abspath(__file__))
    assert not os.path.abspath(trueq.__file__).startswith(os.path.dirname(here) + os.sep + "trueq")


def test_version_is_the_library_and_cli_version(cli):
    assert trueq.__version__ == cli("--version").stdout.split()[1]
    assert trueq.__version__.count(".") == 2


def test_console_entry_point_runs_the_cli():
    p = subprocess.run(["trueq", "--version"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("trueq " + trueq.__version__)


def test_synth_matches_cli(synth_model, cli, tmp_path):
    cli("synth", tmp_path / "c", "--layers", 2, "--dim", 64, "--hidden", 128, "--heads", 4, "--vocab", 1000)
    a = open(synth_model / "model.safetensors", "rb").read()
    assert a == open(tmp_path / "c" / "model.safetensors", "rb").read()


@pytest.mark.parametrize("kw,args", [
    ({"bits": 8}, []),
    ({"bits": 4, "granularity": "group:32", "format": "npz"}, ["--bits", "4", "--granularity", "group:32", "--format", "npz"]),
    ({"bits": 2, "scheme": "affine", "quantize_embeddings": True}, ["--bits", "2", "--scheme", "affine", "--quantize-embeddings"]),
    ({"codec": "nf4"}, ["--codec", "nf4"]),
    ({"codec": "qins-rational", "alpha": 1.0}, ["--codec", "qins-rational", "--alpha", "1"]),
    ({"codec": "nf4", "bits": 4, "granularity": "group:32"}, ["--codec", "nf4", "--bits", "4", "--granularity", "group:32"]),
])
def test_convert_report_equals_cli_json(synth_model, cli, tmp_path, kw, args):
    rep = trueq.convert(synth_model, tmp_path / "py", **kw)
    ref = cli.json("convert", synth_model, "-o", tmp_path / "cli", *args)
    assert rep["output"] == str(tmp_path / "py")
    rep["output"] = ref["output"] = None
    assert rep == ref
    assert rep["measured"] and rep["output_bytes"] == os.stat(tmp_path / "py" / rep["weights_file"]).st_size
    a = open(tmp_path / "py" / rep["weights_file"], "rb").read()
    assert a == open(tmp_path / "cli" / rep["weights_file"], "rb").read()


def test_convert_dry_run_and_target(synth_model, cli, tmp_path):
    plan = trueq.convert(synth_model, dry_run=True, bits=8)
    assert plan == cli.json("convert", synth_model, "--dry-run")
    over = trueq.convert(synth_model, tmp_path / "o", bits=8, target_size=1000)
    assert over["target_met"] is False and over["dry_run"] and not os.path.exists(tmp_path / "o")
    ref = cli.json("convert", synth_model, "-o", tmp_path / "c", "--bits", "8", "--target-size", "1000", ok=(3,))
    over["output"] = ref["output"]
    assert over == ref


def test_inspect_equals_cli_json(int8_model, synth_model, cli):
    for path in (int8_model, synth_model):
        led = trueq.inspect(path)
        fake = led.pop("fake_quant")
        assert led == cli.json("inspect", path)
        assert fake == [] and led["totals"]["fake_quant"] == 0
    t = led["totals"]
    assert t["header_bytes"] + t["padding_bytes"] + t["stored_data_bytes"] + t["other_bytes"] == t["file_bytes"]


def test_inspect_finds_fake_quantization(synth_model, cli, tmp_path):
    trueq.convert(synth_model, tmp_path / "sim", bits=4, simulate=True)
    # values rounded to a grid and stored as plain floats, without trueq's marks: fake quantization
    w = trueq.open(tmp_path / "sim")["distilbert.transformer.layer.0.ffn.lin1.weight"].numpy()
    np.savez(tmp_path / "fake.npz", **{"layer.weight": w})
    led = trueq.inspect(tmp_path / "fake.npz")
    assert [r["name"] for r in led["fake_quant"]] == ["layer.weight"]
    assert led["totals"]["fake_quant"] == 1
    led.pop("fake_quant")
    assert led == cli.json("inspect", tmp_path / "fake.npz")


def test_open_tensors_dtype_codec(int8_model):
    with trueq.open(int8_model) as m:
        t = m["distilbert.transformer.layer.0.attention.q_lin.weight"]
        assert (t.stored_dtype, t.codec, t.bits, t.granularity, t.quantized) == ("I8", "linear-sym", 8, "channel", True)
        assert t.shape == (64, 64) and t.original_dtype == "F32"
        n = m["distilbert.embeddings.LayerNorm.weight"]
        assert (n.stored_dtype, n.codec, n.quantized) == ("F32", None, False)
        assert len(m) == len(m.names()) == len(list(m))
        codes = t.stored()
        assert codes.dtype == np.int8 and codes.size == 64 * 64 and not codes.flags.writeable


def test_numpy_copies_stored_is_the_view(synth_model):
    # numpy() is a copy read with pread (SIGBUS-safe); stored() stays the zero-copy view
    m = trueq.open(synth_model)
    t = m["distilbert.transformer.layer.0.ffn.lin1.weight"]
    a, b, v = t.numpy(), t.numpy(), t.stored()
    assert a.dtype == np.float32 and a.shape == t.shape and a.flags.owndata and a.flags.writeable
    assert a.ctypes.data != b.ctypes.data and np.array_equal(a, v)
    assert not v.flags.owndata and not v.flags.writeable
    m.close()
    assert float(a.sum()) == float(v.sum())  # the view keeps its map after close
    with pytest.raises(ValueError):
        t.numpy()


def _compare_with_c(model, dump, outdir):
    lines = dump(model, outdir)
    with trueq.open(model) as m:
        ts = m.tensors()
        assert [(t.name, t.stored_dtype, str(t.numel)) for t in ts] == [(l[1], l[2], l[3]) for l in lines]
        for i, t in enumerate(ts):
            got = t.numpy()
            assert got.dtype == np.float32 and got.shape == t.shape
            assert got.tobytes() == open(os.path.join(outdir, "%d.f32" % i), "rb").read(), t.name
            raw = t.stored()
            if raw is not None:
                assert raw.tobytes() == open(os.path.join(outdir, "%d.raw" % i), "rb").read(), t.name
    return len(lines)


@pytest.mark.parametrize("kw", [{"bits": 8}, {"bits": 4, "granularity": "group:32"}, {"bits": 2, "scheme": "affine"},
                                {"codec": "nf4"}, {"bits": 8, "format": "npz"}])
def test_decoded_arrays_equal_the_c_loader(synth_model, dump, tmp_path, kw):
    trueq.convert(synth_model, tmp_path / "q", **kw)
    assert _compare_with_c(tmp_path / "q", dump, tmp_path / "c") > 10
    assert _compare_with_c(synth_model, dump, tmp_path / "o") > 10


def _same(a, b, where="$"):
    """a equals b, floats to the 9 significant digits the CLI's JSON prints."""
    if isinstance(a, float) and b is None:
        assert not np.isfinite(a), where      # the CLI's JSON writes NaN and Inf as null
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-8, abs=1e-300), where
    elif isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), where
        for k in a:
            _same(a[k], b[k], where + "." + k)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, "%s[%d]" % (where, i))
    else:
        assert a == b, where


def test_verify_equals_cli_json(synth_model, int8_model, cli):
    v = trueq.verify(synth_model, int8_model)
    ref = cli.json("verify", synth_model, int8_model)
    ref.pop("violations")
    _same(v, ref)
    assert v["counts"]["compared"] == len(v["tensors"]) and v["overall_quantized"]["snr_db"] > 30


def test_spectrum_rows(synth_model, cli):
    rows = trueq.spectrum(synth_model, bits=[8, 4, 2])
    ref = cli.json("spectrum", synth_model, "--bits", "8,4,2")
    assert [r["label"] for r in ref["runs"]] == ["orig", "8bit", "4bit", "2bit"]
    for run in ref["runs"]:
        mine = [r for r in rows if r["run"] == run["label"]]
        assert [r["name"] for r in mine] == [l["name"] for l in run["layers"]]
        for r, l in zip(mine, run["layers"]):
            assert r["status"] == l["status"]
            if l["status"] != "skipped":
                for k in ("alpha", "D", "xmin", "stable_rank", "log_norm", "entropy"):
                    assert r[k] == pytest.approx(l[k], rel=1e-12, abs=1e-300), (run["label"], r["name"], k)
                assert r["num_pl_spikes"] == l["num_pl_spikes"] and r["matrix_rank"] == l["matrix_rank"]
    keys = set(rows[0])
    assert all(set(r) == keys for r in rows) and {"run", "bits", "name", "alpha"} <= keys
    ok = [r for r in rows if r["status"] == "ok"]
    assert len({r["run"] for r in ok}) == 4


def test_embed_and_classify_equal_cli(int8_model, synth_model, cli):
    texts = ["A man is eating food.", "A man eats."]
    e = trueq.embed(int8_model, texts)
    ref = cli.json("embed", int8_model, *texts)
    assert e.shape == (2, ref["dim"]) and e.dtype == np.float32
    assert np.allclose(e, np.array([x["vector"] for x in ref["embeddings"]], dtype=np.float32), rtol=1e-6, atol=1e-7)
    c = trueq.classify(synth_model, "A man eats.", "Someone is eating.")
    rc = cli.json("classify", synth_model, "A man eats.", "Someone is eating.")["results"]
    assert [r["label"] for r in c] == [r["label"] for r in rc] and c[0]["label"] in ("entailment", "neutral", "contradiction")
    for a, b in zip(c[0]["labels"], rc[0]["labels"]):
        assert a["label"] == b["label"] and a["probability"] == pytest.approx(b["probability"], rel=1e-5)
    assert abs(sum(x["probability"] for x in c[0]["labels"]) - 1) < 1e-12
    # keep_int8 multiplies the stored codes in the int8 kernels (activations quantized per
    # token, docs/kernels.md), so it equals the decoded path within that error, not bit for bit
    k = trueq.embed(int8_model, texts, keep_int8=True)
    assert k.shape == e.shape and not np.array_equal(k, np.zeros_like(k))
    cos = (k * e).sum(1) / (np.linalg.norm(k, axis=1) * np.linalg.norm(e, axis=1))
    assert cos.min() > 0.9999, cos
    # int8_attention: True forces the int8 attention products on any CPU, False float32;
    # both stay within the int8 path's error of the decoded path, and they differ
    k8 = trueq.embed(int8_model, texts, keep_int8=True, int8_attention=True)
    kf = trueq.embed(int8_model, texts, keep_int8=True, int8_attention=False)
    assert not np.array_equal(k8, kf)
    for v in (k8, kf):
        cos = (v * e).sum(1) / (np.linalg.norm(v, axis=1) * np.linalg.norm(e, axis=1))
        assert cos.min() > 0.999, cos
    with pytest.raises(ValueError):
        trueq.embed(int8_model, texts, keep_int8=True, int8_attention=2)


def test_errors_carry_the_library_message(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\xff" * 8 + b"{}")
    with pytest.raises(trueq.TrueqError) as ei:
        trueq.open(bad)
    e = ei.value
    assert e.status == 2 and e.status_name == "format error" and str(bad) in e.message
    with pytest.raises(trueq.TrueqError) as ei:
        trueq.inspect(tmp_path / "missing.npz")
    assert ei.value.status == 1 and "missing.npz" in ei.value.message
    with pytest.raises(trueq.TrueqError) as ei:
        trueq.convert(tmp_path / "missing", tmp_path / "out")
    assert ei.value.status == 1 and not os.path.exists(tmp_path / "out")


def test_convert_errors(synth_model, tmp_path):
    with pytest.raises(trueq.TrueqError) as ei:
        trueq.convert(synth_model, tmp_path / "o", exclude=["no.such.*"])
    assert ei.value.status == 8 and "no.such.*" in ei.value.message
    with pytest.raises(ValueError):
        trueq.convert(synth_model, tmp_path / "o", granularity="row")
    with pytest.raises(ValueError):
        trueq.convert(synth_model, tmp_path / "o", format="coreml")    # no such row
    with pytest.raises(trueq.TrueqError) as ei:                        # a row, recognised but not written
        trueq.convert(synth_model, tmp_path / "o", format="onnx")
    assert ei.value.status == 3 and "cannot be written" in ei.value.message
    with pytest.raises(ValueError):
        trueq.convert(synth_model, tmp_path / "o", alpha=1.0)      # linear-sym has no alpha
    with pytest.raises(trueq.TrueqError) as ei:
        trueq.convert(synth_model, tmp_path / "o", granularity="group:7")
    assert ei.value.status == 5 and not os.path.exists(tmp_path / "o")
