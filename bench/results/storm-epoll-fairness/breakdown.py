import json, sys
# Prints each run's probes of 150 ms or more, split into connect, upgrade (accept + request read + response) and echo.
for run in sys.argv[1:]:
    d = json.load(open(f"{run}/storm.json"))
    probes = [p for p in d["Probes"] if p["Error"] is None]
    slow = sorted((p for p in probes if p["Ms"] >= 150), key=lambda p: -p["Ms"])
    print(f"{run}: {len(probes)} probes, {len(slow)} of 150 ms or more")
    for p in slow:
        up = p["UpgradedMs"] - p["ConnectedMs"]
        print(f"  {p['Ms']:.0f} ms: connect {p['ConnectedMs']:.0f}, upgrade {up:.0f}, echo {p['Ms'] - p['UpgradedMs']:.0f} (at {p['AtMs'] / 1000:.0f} s)")
