# Idle WebSocket connections held by the load benchmark's connect workers (built by bench/run.sh), for the memory
# measurements in this folder's subfolders. Run those scripts from the repository root.
import subprocess

WORKER = "bench/Load/bin/Release/net10.0/Engine.Benchmarks.Load"


def start(port, count, first):
    """A worker ready to open `count` connections (numbered from `first`) once told to go."""
    worker = subprocess.Popen([WORKER, "--connect-worker", "--port", str(port), "--count", str(count),
                               "--first", str(first), "--threads", "16"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert worker.stdout.readline().strip() == "ready"
    return worker


def go(workers):
    """Lets the workers open their connections at once; returns when all are open."""
    for worker in workers:
        worker.stdin.write("go\n"); worker.stdin.flush()
    for worker in workers:
        connected = worker.stdout.readline().split()
        assert connected[0] == "connected", connected
        print(" ".join(connected), flush=True)


def close(workers):
    for worker in workers:
        worker.stdin.write("close\n"); worker.stdin.flush()
    for worker in workers:
        worker.wait(timeout=30)


def rss(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS"))
