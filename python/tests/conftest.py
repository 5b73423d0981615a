"""Fixtures of the trueq Python tests (run by tests/cli/python.sh in a fresh venv).

Environment: TQ_CLI (the CLI built by CMake), TQ_DUMP (tests/dump_f32.c built
against the same library), TQ_SOURCE_DIR and TRUEQ_MODELS (real checkpoints,
found as the C tests find them: $TRUEQ_MODELS, else $TQ_SOURCE_DIR/../shared/models).
"""
import json
import os
import subprocess

import pytest

import trueq


def _env(name):
    v = os.environ.get(name)
    if not v:
        pytest.skip("%s is not set (tests/cli/python.sh sets it)" % name)
    return v


@pytest.fixture(scope="session")
def cli():
    exe = _env("TQ_CLI")

    def run(*args, ok=(0,)):
        p = subprocess.run([exe] + [str(a) for a in args], capture_output=True, text=True)
        assert p.returncode in ok, "trueq %s: exit %d: %s" % (" ".join(map(str, args)), p.returncode, p.stderr)
        return p

    def run_json(*args, ok=(0,)):
        return json.loads(run(*args, "--json", ok=ok).stdout)

    run.json = run_json
    return run


@pytest.fixture(scope="session")
def dump():
    exe = _env("TQ_DUMP")

    def run(model, outdir):
        os.makedirs(outdir, exist_ok=True)
        p = subprocess.run([exe, str(model), str(outdir)], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        return [line.split(" ") for line in p.stdout.splitlines()]

    return run


@pytest.fixture(scope="session")
def synth_model(tmp_path_factory):
    """A small DistilBERT-MNLI-shaped checkpoint written by trueq.synth."""
    d = tmp_path_factory.mktemp("synth") / "distilbert"
    trueq.synth(d, layers=2, dim=64, hidden=128, heads=4, vocab=1000)
    return d


@pytest.fixture(scope="session")
def int8_model(synth_model, tmp_path_factory):
    d = tmp_path_factory.mktemp("q8") / "int8"
    trueq.convert(synth_model, d, bits=8, quantize_embeddings=True)
    return d


@pytest.fixture(scope="session")
def stories():
    env = os.environ.get("TRUEQ_MODELS")
    cands = [env] if env else []
    if os.environ.get("TQ_SOURCE_DIR"):
        cands.append(os.path.join(os.environ["TQ_SOURCE_DIR"], "..", "shared", "models"))
    for c in cands:
        p = os.path.join(c, "stories260k", "stories260K.safetensors")
        if os.path.isfile(p):
            return p
    pytest.skip("stories260k not found ($TRUEQ_MODELS or ../shared/models)")
