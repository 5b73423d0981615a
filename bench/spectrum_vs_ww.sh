#!/usr/bin/env bash
# Benchmark `trueq spectrum` against WeightWatcher 0.7.5.5 on the same files and
# machine (see bench/spectrum_vs_ww.py and docs/spectrum.md). Builds trueq in
# build/ (Release flags of the project's default RelWithDebInfo), then runs the
# comparison; WeightWatcher is installed into ~/.cache/trueq/venv-ww if absent.
#   bash bench/spectrum_vs_ww.sh [--reps N] [--ww-reps N] [--skip-distilbert] [--workdir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 --target trueq_cli bench_spectrum >/dev/null
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
exec "$PY" bench/spectrum_vs_ww.py --build build "$@"
