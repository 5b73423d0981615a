#!/usr/bin/env bash
# fuzz_deps.sh DIR — put the Debian sources of cJSON, zlib and utf8proc under
# DIR (DIR/cjson, DIR/zlib, DIR/utf8proc), so the fuzz build (-DTQ_FUZZ=ON)
# compiles them with the same instrumentation as trueq and coverage reaches
# the JSON, zip/deflate and UTF-8 code under trueq's parsers.
#
# Sources come from `apt-get source` of the Debian release the machine runs
# (with Debian's patches applied),
# through a private package list (no change to /etc/apt). Already-unpacked
# sources are kept. Exit 0 with the three directories present, 1 otherwise
# (the message says which package could not be fetched).
set -euo pipefail
dir=${1:?usage: fuzz_deps.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
have() { [ -f "$dir/cjson/cJSON.c" ] && [ -f "$dir/zlib/inflate.c" ] && [ -f "$dir/utf8proc/utf8proc.c" ]; }
if have; then exit 0; fi
command -v apt-get >/dev/null || { echo "fuzz_deps: apt-get not found; unpack cjson, zlib and utf8proc sources into $dir by hand" >&2; exit 1; }
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
apt="$dir/.apt"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$dir/.dl"
echo "deb-src http://deb.debian.org/debian $suite main" > "$apt/sources.list"
opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
apt-get "${opts[@]}" -qq update
for pkg in cjson zlib utf8proc; do
  [ -d "$dir/$pkg" ] && continue
  (cd "$dir/.dl" && apt-get "${opts[@]}" -qq source --download-only "$pkg") ||
    { echo "fuzz_deps: cannot fetch the Debian source package $pkg" >&2; exit 1; }
  # dpkg-source applies Debian's patches (security fixes included), so the
  # fuzzers run the code the system packages ship
  dsc=$(ls "$dir/.dl/${pkg}"_*.dsc | head -1)
  if command -v dpkg-source >/dev/null; then
    dpkg-source --no-check -x "$dsc" "$dir/$pkg" >/dev/null
  else
    echo "fuzz_deps: dpkg-source not found: $pkg unpacked WITHOUT Debian's patches" >&2
    orig=$(ls "$dir/.dl/${pkg}"_*.orig.tar.* | head -1)
    mkdir -p "$dir/$pkg"
    tar -xf "$orig" -C "$dir/$pkg" --strip-components=1
  fi
done
have || { echo "fuzz_deps: sources unpacked under $dir but an expected file is missing" >&2; exit 1; }
