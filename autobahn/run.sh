#!/usr/bin/env bash
# Runs the official Autobahn testsuite (Docker image crossbario/autobahn-testsuite, fuzzingclient mode)
# against our echo Host on ws://127.0.0.1:9001, prints per-behavior counts from reports/autobahn/servers/index.json
# and exits non-zero if any case is not OK (INFORMATIONAL counts as OK: those cases can only inform).
#
# Requires a Docker engine. Without one, run our own catalogue instead: dotnet test tests/Conformance
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
IMAGE="${AUTOBAHN_IMAGE:-crossbario/autobahn-testsuite}"
PORT=9001
REPORTS="$ROOT/reports/autobahn"

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
    echo "autobahn/run.sh: Docker is required: the real Autobahn testsuite runs from the image $IMAGE, and 'docker info' failed here." >&2
    echo "autobahn/run.sh: without Docker, use our catalogue: dotnet test tests/Conformance" >&2
    echo "autobahn/run.sh:   or: dotnet run --project tests/Conformance -- ws://127.0.0.1:$PORT --agent Engine" >&2
    exit 2
fi

cd "$ROOT"
echo "building and starting the echo Host on port $PORT"
dotnet build -c Release src/Host >/dev/null
# setsid: the Host runs in its own process group, so the trap stops dotnet run and the Host it started.
setsid dotnet run -c Release --no-build --project src/Host -- --echo --port "$PORT" &
HOST_PID=$!
trap 'kill -- -"$HOST_PID" 2>/dev/null || kill "$HOST_PID" 2>/dev/null || true' EXIT

for _ in $(seq 1 60); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        break
    fi
    sleep 0.5
done
if ! (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "autobahn/run.sh: the echo Host did not start listening on port $PORT" >&2
    exit 1
fi

rm -rf "$REPORTS/servers"
mkdir -p "$REPORTS"
# Host networking lets the container reach the Host on the machine's loopback (Linux; on Docker Desktop
# change the url in fuzzingclient.json to ws://host.docker.internal:9001).
docker run --rm --net=host \
    -v "$ROOT/autobahn:/config:ro" \
    -v "$REPORTS:/reports" \
    "$IMAGE" \
    wstest -m fuzzingclient -s /config/fuzzingclient.json

INDEX="$REPORTS/servers/index.json"
if [ ! -f "$INDEX" ]; then
    echo "autobahn/run.sh: no report at $INDEX" >&2
    exit 1
fi

python3 - "$INDEX" <<'PY'
import collections, json, sys

index = json.load(open(sys.argv[1]))
passing = {"OK", "INFORMATIONAL"}
not_ok = 0
for agent, cases in index.items():
    behaviors = collections.Counter(c["behavior"] for c in cases.values())
    closes = collections.Counter(c["behaviorClose"] for c in cases.values())
    print(f"{agent}: {len(cases)} cases")
    for name, count in sorted(behaviors.items()):
        print(f"  {name:<14} {count}")
    print("  close: " + ", ".join(f"{k} {v}" for k, v in sorted(closes.items())))
    for case_id, c in sorted(cases.items(), key=lambda kv: [int(p) for p in kv[0].split(".")]):
        if c["behavior"] not in passing or c["behaviorClose"] not in passing:
            not_ok += 1
            print(f"  not OK: {case_id} behavior={c['behavior']} close={c['behaviorClose']} code={c.get('remoteCloseCode')}")
print(f"report: {sys.argv[1].rsplit('/', 1)[0]}/index.html")
sys.exit(1 if not_ok else 0)
PY
