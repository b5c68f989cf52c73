#!/usr/bin/env bash
# The cross-node benchmark: channel delivery latency and throughput on one Host vs two Hosts through Redis and NATS
# (and with channel history on, when the Host has it), in one run. Brokers: the Debian redis-server and nats-server.
#   bench/crossnode.sh            full run (~10 min), results in bench/results/crossnode.{md,json}
#   bench/crossnode.sh --quick    every setup for a few seconds (CI smoke test, ~30 s), results in bench/results/tmp/quick/
# Any other arguments go to the CrossNode program (e.g. --reps 3, --setups single,redis, --rate 2000, --host-dll PATH).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
for a in "$@"; do
  if [[ "$a" == "--quick" ]]; then quick=1; fi
done
if [[ $quick == 1 ]]; then out=bench/results/tmp/quick; else out=bench/results; fi

command -v taskset >/dev/null || { echo "crossnode.sh: taskset (util-linux) is needed to pin the Hosts and the generator" >&2; exit 2; }
for broker in redis-server nats-server; do
  # Not fatal: the benchmark reports the setups it could not run, and why.
  command -v "$broker" >/dev/null || echo "crossnode.sh: $broker is not installed (apt-get install $broker): its setups will be skipped" >&2
done

echo "== building (Release)"
dotnet build -c Release -nologo -v q src/Host/Host.csproj
dotnet build -c Release -nologo -v q bench/CrossNode/CrossNode.csproj

mkdir -p "$out"
rm -f "$out/crossnode.md" "$out/crossnode.json"
echo "== running (Host nodes and brokers pinned to CPU 0, generator to CPU 1)"
taskset -c 1 dotnet bench/CrossNode/bin/Release/net10.0/Engine.Benchmarks.CrossNode.dll --out "$out" "$@"

for f in crossnode.md crossnode.json; do
  if [[ ! -s "$out/$f" ]]; then
    echo "crossnode.sh: $out/$f was not written" >&2
    exit 1
  fi
done
# A measurement is a row with a numeric median; a run where every setup failed writes none.
if ! grep -qE '"median": [0-9]' "$out/crossnode.json"; then
  echo "crossnode.sh: $out/crossnode.json holds no measurements" >&2
  exit 1
fi
echo "== results: $out/crossnode.md, $out/crossnode.json"
