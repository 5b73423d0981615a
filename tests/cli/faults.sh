#!/usr/bin/env bash
# Faults through the CLI (issue 14; the hook-driven matrix is tests/test_faults.c):
# the symlink attack on temporary and final names, kill -9 of a real conversion
# at several moments, a second run while another holds the output directory,
# a read-only output directory, SIGINT, and a real full file system (tmpfs,
# where mounting is allowed). After each: the earlier complete result or
# nothing, and nothing left beside the output directory once a run completes.
set -u
TQ=${TQ_CLI:-build/trueq}
T=$(mktemp -d)
MNT=""
cleanup() { [ -n "$MNT" ] && umount "$MNT" 2>/dev/null; chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fails=0; passes=0
ok()   { passes=$((passes+1)); echo "ok - $1"; }
bad()  { fails=$((fails+1)); echo "not ok - $1"; }
check(){ if eval "$2"; then ok "$1"; else bad "$1"; fi; }
# a directory as text: names, sizes and checksums (one level of subdirectories)
snap() { [ -d "$1" ] || { echo absent; return; }; (cd "$1" && find . -mindepth 1 -maxdepth 2 -printf '%p %y %s\n' | sort && find . -maxdepth 2 -type f -exec sha1sum {} + | sort); }
# debris: temporaries inside NAME or a staging/old/lock entry beside it
debris() { local d; d=$(dirname "$1"); ls -A "$d" | grep -c "^\.$(basename "$1")\.trueq-" ; }

"$TQ" synth "$T/m" --layers 4 --dim 256 --hidden 1024 --heads 4 --vocab 4000 >/dev/null 2>&1
"$TQ" convert "$T/m" -o "$T/ref8" --bits 8 >/dev/null 2>&1
"$TQ" convert "$T/m" -o "$T/ref4" --bits 4 >/dev/null 2>&1
check "reference conversions" '[ -f $T/ref8/model.safetensors ] && [ -f $T/ref4/model.safetensors ]'
new8=$(snap "$T/ref8")

# --- the symlink attack: planted at the old predictable temporary names and at every final name
mkdir -p "$T/outside"
cp -r "$T/ref4" "$T/out"
for n in model.safetensors conversion_metadata.json config.json vocab.txt tokenizer_config.json; do
  echo precious > "$T/outside/$n"
  rm -f "$T/out/$n"; ln -s "$T/outside/$n" "$T/out/$n"
  for p in $(seq $(( $$ )) $(( $$ + 200 ))); do ln -s "$T/outside/$n" "$T/out/$n.tq-tmp-$p"; done
done
"$TQ" convert "$T/m" -o "$T/out" --bits 8 >/dev/null 2>"$T/err"; rc=$?
check "symlink attack: the run succeeds" '[ $rc -eq 0 ]'
check "symlink attack: nothing outside the output directory was written" \
  '[ "$(cat $T/outside/* | sort -u)" = precious ] && [ $(ls $T/outside | wc -l) -eq 5 ]'
check "symlink attack: every final name is a regular file of this run" \
  '[ ! -L $T/out/model.safetensors ] && cmp -s $T/out/model.safetensors $T/ref8/model.safetensors && [ ! -L $T/out/config.json ]'
check "symlink attack: the planted temporaries are not carried into the result" \
  '[ $(ls -A $T/out | grep -c tq-tmp) -eq 0 ] && [ $(debris $T/out) -eq 0 ]'

# --- kill -9 at several moments: the earlier result or the new one, whole; the next run cleans up
for d in 0 0.03 0.1 0.3; do
  rm -rf "$T/k"; cp -r "$T/ref4" "$T/k"; old=$(snap "$T/k")
  "$TQ" convert "$T/m" -o "$T/k" --bits 8 >/dev/null 2>&1 & pid=$!
  sleep "$d"; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
  now=$(snap "$T/k")
  check "kill -9 after ${d}s: the output is one complete result" '[ "$now" = "$old" ] || [ "$now" = "$new8" ]'
  "$TQ" convert "$T/m" -o "$T/k" --bits 8 >/dev/null 2>&1; rc=$?
  check "kill -9 after ${d}s: the next run succeeds and leaves nothing beside it" \
    '[ $rc -eq 0 ] && [ "$(snap $T/k)" = "$new8" ] && [ $(debris $T/k) -eq 0 ]'
done
rm -rf "$T/kn"
"$TQ" convert "$T/m" -o "$T/kn" --bits 8 >/dev/null 2>&1 & pid=$!
sleep 0.05; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
check "kill -9 of a first run: no output directory, or a complete one" '[ ! -e $T/kn ] || [ "$(snap $T/kn)" = "$new8" ]'

# --- another run holds the output directory (a real flock on its lock file, pid inside)
rm -rf "$T/busy"; cp -r "$T/ref4" "$T/busy"; old=$(snap "$T/busy")
mkfifo "$T/go"
( echo $BASHPID > "$T/.busy.trueq-lock"; exec 9<>"$T/.busy.trueq-lock"; flock -n 9; echo locked; read -r _ < "$T/go" ) > "$T/holder" &
holder=$!
for _ in $(seq 600); do grep -q locked "$T/holder" && break; sleep 0.1; done
hpid=$(cat "$T/.busy.trueq-lock")
"$TQ" convert "$T/m" -o "$T/busy" --bits 8 >/dev/null 2>"$T/err"; rc=$?
check "a second run is refused naming the holder's pid" \
  '[ $rc -ne 0 ] && grep -q "another trueq run (pid $hpid) is writing this output directory" $T/err'
check "the refused run leaves the directory as it was" '[ "$(snap $T/busy)" = "$old" ]'
echo > "$T/go"; wait $holder
"$TQ" convert "$T/m" -o "$T/busy" --bits 8 >/dev/null 2>&1; rc=$?
check "once the holder is gone the run goes through" '[ $rc -eq 0 ] && [ "$(snap $T/busy)" = "$new8" ] && [ $(debris $T/busy) -eq 0 ]'

# --- read-only output directory
rm -rf "$T/ro"; cp -r "$T/ref4" "$T/ro"; chmod 555 "$T/ro"; old=$(snap "$T/ro")
"$TQ" convert "$T/m" -o "$T/ro" --bits 8 >/dev/null 2>"$T/err"; rc=$?
check "read-only output directory: refused with a message, left as it is" \
  '[ $rc -ne 0 ] && grep -q "output directory is read-only" $T/err && [ "$(snap $T/ro)" = "$old" ] && [ $(debris $T/ro) -eq 0 ]'
chmod 755 "$T/ro"

# --- SIGINT: nothing left
rm -rf "$T/int"
"$TQ" convert "$T/m" -o "$T/int" --bits 8 >/dev/null 2>&1 & pid=$!
sleep 0.05; kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null
check "SIGINT: no partial output, nothing beside it" '{ [ ! -e $T/int ] || [ "$(snap $T/int)" = "$new8" ]; } && [ $(debris $T/int) -eq 0 ]'

# --- a real full file system
mkdir -p "$T/small"
if mount -t tmpfs -o size=64k tmpfs "$T/small" 2>/dev/null; then
  MNT="$T/small"
  "$TQ" convert "$T/m" -o "$T/small/out" --bits 8 >/dev/null 2>"$T/err"; rc=$?
  check "ENOSPC on a 64 KiB tmpfs: a named error" '[ $rc -ne 0 ] && grep -q "small/out/model.safetensors: .*No space left on device" $T/err'
  check "ENOSPC: the file system is left empty" '[ -z "$(ls -A $T/small)" ]'
  umount "$T/small"; MNT=""
else
  echo "skip - ENOSPC on a tmpfs: cannot mount here (not root)"
fi

echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
