#!/usr/bin/env bash
# Install the Debian packages trueq needs to build and test. Idempotent: does
# nothing when everything is present. Runs apt-get as root or through sudo.
set -euo pipefail
pkgs=(cmake make gcc clang pkg-config
      libopenblas-dev liblapacke-dev zlib1g-dev libutf8proc-dev libcjson-dev libyaml-dev
      libpcre2-dev
      python3 python3-numpy python3-torch)
pkgs+=(valgrind dpkg-dev)   # the CI Valgrind job; dpkg-source for the fuzz build's Debian sources (scripts/fuzz_deps.sh)
pkgs+=(libopenmpi-dev openmpi-bin chromium)   # trueq sweep: MPI ranks (TQ_MPI, tools/sweep_mpi.c); its HTML report rendered headless (tests/cli/sweep.sh)
pkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)   # the NEON kernels compiled for AArch64 (scripts/check_neon.sh, ctest cli_neon_cross)
pkgs+=(python3-venv)   # venvs outside the repo for reference tools (sentencepiece; transformers over python3-torch: tests/py/hf_venv.sh)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
