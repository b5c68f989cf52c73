#!/usr/bin/env bash
# Runs every test: unit + integration (ClientWebSocket), the Autobahn-catalogue conformance suite (our engine and
# Kestrel side by side), and the benchmark smoke runs (micro and load, quick mode: they check that the benchmarks
# run and write their files, never speed). Installs what it needs first. Exit code is non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# dotnet test, with its summary kept for the closing "N passed, N failed" line.
run_tests() { dotnet test "$@" 2>&1 | tee -a "$log"; return "${PIPESTATUS[0]}"; }

need_apt=()
command -v taskset >/dev/null || need_apt+=(util-linux)
if ((${#need_apt[@]})); then
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
fi

echo "== build (warnings are errors)"
dotnet build Engine.sln -c Release -nologo -v q

echo "== unit and integration tests (integration on the default transport: epoll on Linux x86-64)"
run_tests tests/Unit/Unit.csproj -c Release --no-build -nologo

echo "== integration tests again on the portable .NET sockets transport"
ENGINE_TEST_TRANSPORT=sockets run_tests tests/Unit/Unit.csproj -c Release --no-build -nologo --filter "FullyQualifiedName~Integration"

echo "== conformance (Autobahn case catalogue; report in reports/conformance/)"
run_tests tests/Conformance/Conformance.csproj -c Release --no-build -nologo

if [[ -f bench/Micro/Micro.csproj ]]; then
  echo "== micro-benchmark smoke (allocation budgets checked)"
  dotnet run -c Release --no-build --project bench/Micro -- --smoke
fi

echo "== load benchmark smoke (quick mode)"
bench/run.sh --quick

passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
echo "tests: $passed passed, $failed failed"
