#!/usr/bin/env bash
# Compile-only check of the AArch64 NEON kernels (src/kern/kern_neon.c) and
# the kernel table that selects them (src/kern/kern.c) with Debian's cross
# compiler (apt-get install gcc-aarch64-linux-gnu; not in setup.sh: only this
# check needs it). -Wall -Wextra -Werror at -O2. Nothing is run: there is no
# AArch64 OpenBLAS or qemu here, so test_kern does not run on NEON.
set -eu
CC=${CC_AARCH64:-aarch64-linux-gnu-gcc}
command -v "$CC" >/dev/null || { echo "skip: $CC not found (apt-get install gcc-aarch64-linux-gnu)"; exit 77; }
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
for f in kern_neon.c kern.c kern_portable.c; do
  "$CC" -std=c11 -O2 -Wall -Wextra -Werror -ffp-contract=off -I"$SRC/include" -I"$SRC/src" -c "$SRC/src/kern/$f" -o "$T/${f%.c}.o"
done
nm "$T/kern_neon.o" | grep -q " T tq_kern_q4_0_neon" && nm "$T/kern.o" | grep -q "U tq_kern_i8_neon"
echo "ok - kern_neon.c, kern.c, kern_portable.c compile for AArch64 (-Werror) and the table refers to the NEON rows"
