#!/usr/bin/env bash
# The end-to-end load benchmark: our engine's Host vs Kestrel (and a raw TCP echo as the generator's ceiling).
#   bench/run.sh            full run (~15 min), results in bench/results/load.{md,json,svg}
#   bench/run.sh --quick    every scenario for a second or two at reduced sizes (CI smoke test, ~3 min),
#                           results in bench/results/tmp/quick/ so a real run's files are never overwritten
#   bench/run.sh --out DIR  results in DIR instead
#   bench/run.sh --jit      measure the Host's JIT build (dotnet Host.dll) instead of its Native AOT executable
# Any other arguments go to the Load program (e.g. --reps 5, --scenarios echo,latency, --no-ours, --ours-dll PATH, --aspnet).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
ours_dll=0
no_ours=0
jit=0
out=""
args=("$@")
n=${#args[@]} # fixed: unset below makes ${#args[@]} shrink while the indices stay
for ((i = 0; i < n; i++)); do
  if [[ "${args[i]}" == "--quick" ]]; then quick=1; fi
  if [[ "${args[i]}" == "--ours-dll" ]]; then ours_dll=1; fi
  if [[ "${args[i]}" == "--no-ours" ]]; then no_ours=1; fi
  if [[ "${args[i]}" == "--jit" ]]; then jit=1; unset 'args[i]'; continue; fi
  # --out DIR writes the results elsewhere (the program takes the first --out it is given, so it is not passed twice).
  if [[ "${args[i]}" == "--out" ]]; then out="${args[i+1]:-}"; unset 'args[i]' 'args[i+1]'; i=$((i + 1)); fi
done
set -- "${args[@]}"
if [[ -z "$out" ]]; then
  if [[ $quick == 1 ]]; then out=bench/results/tmp/quick; else out=bench/results; fi
fi

command -v taskset >/dev/null || { echo "run.sh: taskset (util-linux) is needed to pin the servers and the generator" >&2; exit 2; }

echo "== building (Release)"
dotnet build -c Release -nologo -v q bench/KestrelPeer/KestrelPeer.csproj
dotnet build -c Release -nologo -v q bench/Load/Load.csproj

# Our Host is built here, so a stale Host.dll from an older build is never measured; a Host that does not build stops
# the run (pass --no-ours to measure Kestrel and the raw TCP echo only). --ours-dll PATH measures a Host built elsewhere
# (e.g. from a committed snapshot while src/ is being edited).
if [[ $no_ours == 1 ]]; then
  echo "== --no-ours: measuring Kestrel and the raw TCP echo only"
elif [[ $ours_dll == 1 ]]; then
  echo "== measuring the Host given by --ours-dll"
else
  dotnet build -c Release -nologo -v q src/Host/Host.csproj
  if [[ $quick == 1 || $jit == 1 ]]; then
    echo "== our Host built: measuring its JIT build vs Kestrel"
  else
    # The Host as deployed (docs/deployment.md): one Native AOT executable. Its JIT build is measured beside it in the
    # idle-connection scenario, where the JIT's compiled code (paid once per process) shows in the per-connection RSS.
    aot_dir="$out/tmp/host-aot"
    echo "== publishing the Host with Native AOT into $aot_dir (--jit measures the JIT build instead)"
    dotnet publish src/Host/Host.csproj -c Release -r linux-x64 -o "$aot_dir" -nologo -v q
    set -- "$@" --ours-dll "$aot_dir/Host" --ours-jit-dll src/Host/bin/Release/net10.0/Host.dll
    echo "== measuring the Native AOT Host vs Kestrel"
  fi
fi

# Engine.AspNetCore (--aspnet, passed on to the Load program): two more columns from one ASP.NET Core app, the engine
# behind Kestrel (/ws) and Kestrel's own WebSocket middleware (/kestrel) in the same process, on the same port.
if [[ " $* " == *" --aspnet "* ]]; then
  dotnet build -c Release -nologo -v q bench/AspNetCorePeer/AspNetCorePeer.csproj
fi

mkdir -p "$out"
echo "== running (servers pinned to CPU 0, generator to CPU 1)"
taskset -c 1 bench/Load/bin/Release/net10.0/Engine.Benchmarks.Load --out "$out" "$@"

for f in load.md load.json load.svg; do
  if [[ ! -s "$out/$f" ]]; then
    echo "run.sh: $out/$f was not written" >&2
    exit 1
  fi
done
if ! grep -q '"metric"' "$out/load.json"; then
  echo "run.sh: $out/load.json holds no measurements" >&2
  exit 1
fi
echo "== results: $out/load.md, $out/load.json, $out/load.svg"
