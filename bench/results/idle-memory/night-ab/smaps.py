# Which mappings of the server grow while 15,000 idle connections open as the scale scenario opens them (two workers
# at once, after 500 opened and closed): the managed heap (anonymous) or code paged in from the binary (file-backed).
# python3 smaps.py SERVER_PID PORT, from the repository root.
import collections, os, re, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from connect_workers import start, go, close

pid, port = int(sys.argv[1]), int(sys.argv[2])


def resident_kb_by_kind():
    kinds, kind = collections.Counter(), None
    for line in open(f"/proc/{pid}/smaps"):
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            fields = line.split()
            kind = fields[5] if len(fields) > 5 else "[anonymous]"
        elif line.startswith("Rss:"):
            kinds[kind] += int(line.split()[1])
    return kinds


time.sleep(1)
warm = start(port, 500, 0); go([warm]); close([warm])
time.sleep(1)
before = resident_kb_by_kind()
workers = [start(port, 7500, 1000), start(port, 7500, 9000)]
go(workers)
time.sleep(1.5)
after = resident_kb_by_kind()
grown = {kind: after[kind] - before[kind] for kind in after.keys() | before.keys() if after[kind] != before[kind]}
for kind, kb in sorted(grown.items(), key=lambda item: -item[1]):
    print(f"{kb:8d} kB  {kb * 1024 / 15000:6.1f} B per connection  {kind}")
print(f"{sum(grown.values()):8d} kB  {sum(grown.values()) * 1024 / 15000:6.1f} B per connection  in all")
close(workers)
