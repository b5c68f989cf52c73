# Opens idle WebSocket connections in steps and prints the server's RSS after each (what a connection costs where the
# heap grows smoothly, and the heap's steps). Connections come from the load benchmark's connect workers:
# python3 steps.py SERVER_PID PORT STEP STEPS, from the repository root.
import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from connect_workers import start, go, close, rss

pid, port, step, steps = (int(a) for a in sys.argv[1:5])

# As the benchmark's scale scenario does: 500 connections opened and closed before the baseline.
warm = start(port, 500, 0); go([warm]); close([warm])
time.sleep(1.5)
base = prev = rss(pid)
print(f"0 rss={base}", flush=True)
workers = []
for s in range(steps):
    worker = start(port, step, 500 + s * step)
    go([worker])
    workers.append(worker)
    time.sleep(2.5)
    now = rss(pid)
    opened = (s + 1) * step
    print(f"{opened} rss={now} step_per_conn={(now - prev) / step:.0f} total_per_conn={(now - base) / opened:.0f}", flush=True)
    prev = now
close(workers)
