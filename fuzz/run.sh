#!/usr/bin/env bash
# Fuzzing with AFL++ and SharpFuzz.
#   fuzz/run.sh build DIR          publish fuzz/Fuzz.csproj to DIR and instrument DIR/Engine.dll (once per DIR)
#   fuzz/run.sh TARGET SECONDS     run afl-fuzz on TARGET (session | handshake | transport) for SECONDS, from fuzz/corpus/TARGET;
#                                  fails (exit 1) on any crash or hang, prints execs, paths and speed
# Environment: FUZZ_BIN=DIR reuses a build made by `build DIR`; FUZZ_OUT=DIR keeps the findings there (default: a
# temporary directory, removed unless something was found); FUZZ_LOG=FILE appends "TARGET execs=N paths=N crashes=N
# hangs=N" there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

build() {
  local bin=$1
  rm -rf "$bin" "$bin.plain"
  dotnet publish "$here/Fuzz.csproj" -c Release -o "$bin" -nologo -v q
  # An uninstrumented copy reproduces findings outside afl-fuzz (instrumented code needs afl's shared memory).
  cp -a "$bin" "$bin.plain"
  # The tool is pinned in fuzz/dotnet-tools.json. Only the engine is instrumented: coverage of the BCL and of the
  # harness itself would only be noise to afl-fuzz.
  (cd "$here" && dotnet tool restore >/dev/null && dotnet tool run sharpfuzz "$bin/Engine.dll")
}

if [[ ${1:-} == build ]]; then
  build "${2:?usage: fuzz/run.sh build DIR}"
  exit 0
fi

target=${1:?usage: fuzz/run.sh TARGET SECONDS}
seconds=${2:?usage: fuzz/run.sh TARGET SECONDS}
[[ -d $here/corpus/$target ]] || { echo "no corpus for target '$target' (fuzz/corpus/$target)" >&2; exit 2; }
command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found (Debian package afl++)" >&2; exit 2; }

scratch=$(mktemp -d)
bin=${FUZZ_BIN:-$scratch/bin}
[[ -n ${FUZZ_BIN:-} && -f $bin/Engine.Fuzz.dll && -f $bin.plain/Engine.Fuzz.dll ]] || build "$bin"
out=${FUZZ_OUT:-$scratch/findings}
rm -rf "$out"

# AFL_SKIP_BIN_CHECK: the target binary is `dotnet`; the coverage map comes from the instrumented Engine.dll.
# AFL_NO_AFFINITY: the machine is shared, pin nothing. AFL_SKIP_CPUFREQ / AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES:
# containers cannot change the CPU governor or core_pattern. -t: a run over 10 s counts as a hang (generous:
# the machine is shared and the first runs JIT the engine). -V: stop after SECONDS.
status=0
AFL_NO_UI=1 AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
AFL_FAST_CAL=1 AFL_FORKSRV_INIT_TMOUT=60000 \
  timeout --kill-after=30 $((seconds + 120)) \
  afl-fuzz -i "$here/corpus/$target" -o "$out" -t 10000 -m none -V "$seconds" -- dotnet "$bin/Engine.Fuzz.dll" "$target" \
  > "$scratch/afl.log" 2>&1 || status=$?

stats=$out/default/fuzzer_stats
if [[ ! -f $stats ]]; then
  echo "afl-fuzz did not start (exit $status):" >&2
  tail -40 "$scratch/afl.log" >&2
  exit 1
fi
stat() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
count() { find "$out/default/$1" -type f ! -name README.txt 2>/dev/null | wc -l; }
execs=$(stat execs_done) paths=$(stat corpus_count) speed=$(stat execs_per_sec) crashes=$(count crashes) hangs=$(count hangs)
echo "fuzz $target: ${seconds}s, execs=$execs (${speed}/s), paths=$paths, crashes=$crashes, hangs=$hangs"
[[ -n ${FUZZ_LOG:-} ]] && echo "$target seconds=$seconds execs=$execs execs_per_sec=$speed paths=$paths crashes=$crashes hangs=$hangs" >> "$FUZZ_LOG"

if ((status != 0 || execs == 0 || crashes > 0 || hangs > 0)); then
  ((status == 0)) || { echo "afl-fuzz exited with $status:" >&2; tail -20 "$scratch/afl.log" >&2; }
  ((execs > 0)) || echo "afl-fuzz ran nothing" >&2
  for kind in crashes hangs; do
    for input in "$out/default/$kind"/id:*; do
      [[ -f $input ]] || continue
      echo "== $kind: $input ($(base64 -w0 "$input"))" >&2
      timeout 60 dotnet "$bin.plain/Engine.Fuzz.dll" replay "$target" "$input" 2>&1 | head -20 >&2 || true
    done
  done
  echo "findings kept in $out" >&2
  exit 1
fi
[[ -n ${FUZZ_OUT:-} ]] || rm -rf "$scratch"
