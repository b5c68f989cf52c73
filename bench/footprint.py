#!/usr/bin/env python3
"""Start-up time and idle RSS of a Host build (the AOT vs JIT figures in docs/deployment.md).

    bench/footprint.py [--runs N] NAME COMMAND... [-- NAME COMMAND...]

Each COMMAND is started with `--echo --port P --address 127.0.0.1` appended, N times (default 5). Start-up time is from
just before the process is spawned to the first accepted WebSocket connection (a raw HTTP upgrade answered with 101),
polling connect() every millisecond; the builds take turns, one run each. Idle RSS is VmRSS from /proc/PID/status 3 s after that one connection closed,
with no connection open. Prints the median and the range per build. Loopback only; every process is stopped with SIGTERM.
"""
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

KEY_REQUEST = (
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def upgrade(port):
    """True once a WebSocket upgrade on the port is answered with 101."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(KEY_REQUEST.encode())
            head = s.recv(1024)
            ok = head.startswith(b"HTTP/1.1 101")
            if ok:
                s.sendall(bytes([0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xE8 ^ 2]))  # masked close 1000
                s.recv(64)
            return ok
    except OSError:
        return False


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def measure(command):
    port = free_port()
    start = time.perf_counter()
    process = subprocess.Popen(command + ["--echo", "--port", str(port), "--address", "127.0.0.1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = start + 30
        while not upgrade(port):
            if time.perf_counter() > deadline or process.poll() is not None:
                raise RuntimeError(f"{command[0]} did not accept a connection")
            time.sleep(0.001)
        startup_ms = (time.perf_counter() - start) * 1000
        time.sleep(3)
        return startup_ms, rss_kib(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


def main(argv):
    runs = 5
    if argv[:1] == ["--runs"]:
        runs, argv = int(argv[1]), argv[2:]
    builds, current = [], []
    for arg in argv:
        if arg == "--":
            builds.append(current)
            current = []
        else:
            current.append(arg)
    builds.append(current)
    print(f"{'build':<8} {'start-up ms (median, range)':<30} {'idle RSS MiB (median, range)':<30}")
    # Round-robin, one run of each build in turn, so a change in the box's load during the measurement falls on all
    # builds alike (comparing two builds is the point: the absolute figures move with the load).
    results = {name: [] for name, *_ in builds}
    for _ in range(runs):
        for name, *command in builds:
            results[name].append(measure(command))
    for name, *command in builds:
        startup = [r[0] for r in results[name]]
        rss = [r[1] / 1024 for r in results[name]]
        print(f"{name:<8} {statistics.median(startup):7.0f} ({min(startup):.0f}-{max(startup):.0f}){'':<12} "
              f"{statistics.median(rss):7.1f} ({min(rss):.1f}-{max(rss):.1f})")


if __name__ == "__main__":
    main(sys.argv[1:])
