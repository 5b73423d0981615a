#!/usr/bin/env bash
# The AArch64 NEON kernels compile with the Debian cross compiler, warning
# free, and the kernel table refers to them (scripts/check_neon.sh; compile
# only: nothing runs them here). Skips (77) without aarch64-linux-gnu-gcc.
exec "${TQ_SOURCE_DIR:-.}/scripts/check_neon.sh"
