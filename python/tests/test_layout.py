"""The ctypes mirrors of python/trueq/_lib.py against the C compiler's layout of the headers."""
import os
import subprocess

import pytest

from trueq import _lib

MIRRORS = {
    "tq_error": _lib.Error, "tq_qparams": _lib.QParams, "tq_aux_desc": _lib.AuxDesc, "tq_tensor": _lib.Tensor,
    "tq_format_info": _lib.FormatInfo, "tq_codec_info": _lib.CodecInfo, "tq_convert_options": _lib.ConvertOptions,
    "tq_plan_item": _lib.PlanItem, "tq_ledger_row": _lib.LedgerRow, "tq_ledger_totals": _lib.LedgerTotals,
    "tq_verify_metrics": _lib.VerifyMetrics, "tq_verify_row": _lib.VerifyRow, "tq_spectral_layer": _lib.SpectralLayer,
    "tq_spectral_opts": _lib.SpectralOpts, "tq_spectral_report": _lib.SpectralReport,
    "tq_synth_options": _lib.SynthOptions, "tq_enc_config": _lib.EncConfig, "tq_enc_opts": _lib.EncOpts,
    "tq_wp_encoding": _lib.WpEncoding, "tq_enc_seq": _lib.EncSeq, "tq_convert_rule": _lib.ConvertRule,
}


def test_struct_layouts_match_the_headers():
    exe = os.environ.get("TQ_LAYOUT")
    if not exe:
        pytest.skip("TQ_LAYOUT is not set (tests/cli/python.sh sets it)")
    rows = [l.split() for l in subprocess.run([exe], capture_output=True, text=True, check=True).stdout.splitlines()]
    assert sorted(r[0] for r in rows) == sorted(MIRRORS)
    for name, size, last, off in rows:
        py = MIRRORS[name]
        assert (name, _lib.C.sizeof(py)) == (name, int(size))
        assert (name, last, getattr(py, last).offset) == (name, last, int(off))
