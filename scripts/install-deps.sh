#!/usr/bin/env bash
# Installs what the full ./test.sh needs beyond the .NET SDK: Debian packages (apt-get, so root) and the browser
# tests' npm packages. Idempotent: each tool is checked first and only what is missing is installed, so on a machine
# that has everything it makes no network call. `./test.sh quick` does not call it (the quick run needs only dotnet).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v taskset >/dev/null || need_apt+=(util-linux)
command -v unzip >/dev/null || need_apt+=(unzip)   # NuGet pack check
# Browser tests (tests/Browser): Debian's chromium, driven by playwright-core from npm.
[[ -x /usr/bin/chromium ]] || need_apt+=(chromium)
command -v node >/dev/null || need_apt+=(nodejs npm)
# Native AOT links with clang or gcc (the ILCompiler package ships its own libz.a, so zlib1g-dev is not needed).
command -v clang >/dev/null || command -v gcc >/dev/null || need_apt+=(gcc)
# Fuzzing smoke (fuzz/run.sh): AFL++ drives the SharpFuzz-instrumented engine.
command -v afl-fuzz >/dev/null || need_apt+=(afl++)
# Resilience tests (tests/Resilience): the half-open peer lives in a network namespace made with ip(8); needs root.
command -v ip >/dev/null || need_apt+=(iproute2)
# Backplane tests (tests/Backplane): real brokers from Debian (redis-tools' redis-cli comes with redis-server).
command -v redis-server >/dev/null || need_apt+=(redis-server)
# Cross-node benchmark smoke (bench/crossnode.sh) and backplane tests: Redis and NATS brokers side by side.
command -v nats-server >/dev/null || need_apt+=(nats-server)
if ((${#need_apt[@]})); then
  echo "install-deps: apt-get install ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" </dev/null
fi
if [[ ! -d tests/Browser/node_modules/playwright-core ]]; then
  echo "install-deps: npm ci in tests/Browser"
  (cd tests/Browser && npm ci --no-audit --no-fund </dev/null)
fi
