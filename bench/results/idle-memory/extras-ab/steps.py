# Opens idle WebSocket connections in steps and prints the server's RSS after each (what a connection costs where the
# heap grows smoothly, and the heap's steps). Connections come from the load benchmark's connect workers (built by
# bench/run.sh): python3 steps.py SERVER_PID PORT STEP STEPS
import subprocess, sys, time

WORKER = "bench/Load/bin/Release/net10.0/Engine.Benchmarks.Load"
pid, port, step, steps = (int(a) for a in sys.argv[1:5])

def rss():
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS"))

def open_worker(count, first):
    worker = subprocess.Popen([WORKER, "--connect-worker", "--port", str(port), "--count", str(count),
                               "--first", str(first), "--threads", "16"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert worker.stdout.readline().strip() == "ready"
    worker.stdin.write("go\n"); worker.stdin.flush()
    connected = worker.stdout.readline().split()
    assert connected[0] == "connected" and int(connected[1]) == count, connected
    return worker

def close(worker):
    worker.stdin.write("close\n"); worker.stdin.flush()
    worker.wait(timeout=30)

# As the benchmark's scale scenario does: 500 connections opened and closed before the baseline.
close(open_worker(500, 0))
time.sleep(1.5)
base = prev = rss()
print(f"0 rss={base}", flush=True)
workers = []
for s in range(steps):
    workers.append(open_worker(step, 500 + s * step))
    time.sleep(2.5)
    now = rss()
    opened = (s + 1) * step
    print(f"{opened} rss={now} step_per_conn={(now - prev) / step:.0f} total_per_conn={(now - base) / opened:.0f}", flush=True)
    prev = now
for worker in workers:
    close(worker)
