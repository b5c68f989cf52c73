#!/usr/bin/env python3
"""Start / middle / end and least-squares slope of a soak's server series, as a Markdown table.

    python3 bench/soak_trend.py bench/results/soak-1h.json

Reads the soak.json that bench/Soak writes. "Start" is the first sample after the warm-up (the first fifth of the
run, as the soak's own verdict uses), "middle" the sample nearest the middle of the steady part, "end" the last
sample under load; each is the median of the 5 samples around it, so one GC sawtooth tooth does not decide it. The
slope is a least-squares line over every steady sample, per hour: a leak is a steady positive slope; a flat series
has a slope that is small against its own noise."""
import json
import statistics
import sys


def main(path):
    with open(path) as f:
        soak = json.load(f)
    samples = soak["Samples"]
    warmup = soak["Verdict"]["WarmupSeconds"]
    steady = [s for s in samples if s["Seconds"] >= warmup]
    series = [
        ("RSS", "RssBytes", 1 / 1048576, "MiB"),
        ("managed heap", "ManagedHeap", 1 / 1048576, "MiB"),
        ("open descriptors", "OpenHandles", 1, ""),
        ("threads", "Threads", 1, ""),
    ]

    def around(i, key):
        window = steady[max(0, i - 2):i + 3]
        return statistics.median(s[key] for s in window)

    mid = min(range(len(steady)), key=lambda i: abs(steady[i]["Seconds"] - (steady[0]["Seconds"] + steady[-1]["Seconds"]) / 2))
    print(f"| series (steady part: {steady[0]['Seconds']:.0f}-{steady[-1]['Seconds']:.0f} s, {len(steady)} samples) "
          f"| start | middle | end | slope per hour | min-max |")
    print("|---|---|---|---|---|---|")
    for name, key, scale, unit in series:
        xs = [s["Seconds"] / 3600 for s in steady]
        ys = [s[key] * scale for s in steady]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
        u = f" {unit}" if unit else ""
        fmt = (lambda v: f"{v:.1f}{u}") if unit else (lambda v: f"{v:.0f}")
        print(f"| {name} | {fmt(around(0, key) * scale)} | {fmt(around(mid, key) * scale)} | {fmt(around(len(steady) - 1, key) * scale)} "
              f"| {slope:+.2f}{u}/h | {fmt(min(ys))} - {fmt(max(ys))} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/results/soak.json")
