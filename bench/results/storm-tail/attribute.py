# Matches each slow storm probe (>= 250 ms) with the Host's events, both on CLOCK_MONOTONIC (Stopwatch):
#   python3 attribute.py STORM_OUTPUT_LOG STORM_JSON
# The log holds 'exp-t0 TS' (the storm clock's start, printed by the Storm program) and the Host's
# 'exp-ev KIND START_TS MS' lines (instrumentation on a branch that did not land; see README.md).
import json,re,sys
log=open(sys.argv[1]).read()
t0=int(re.search(r'exp-t0 (\d+)',log).group(1))
ev=[]
for m in re.finditer(r'exp-ev (\S) (\d+) ([\d.]+)',log):
    k,s,ms=m.group(1),int(m.group(2)),float(m.group(3))
    ev.append((k,(s-t0)/1e6,ms))
probes=json.load(open(sys.argv[2]))['Probes']
slow=[p for p in probes if p['Ms']>=250]
from collections import Counter
kinds=Counter()
overlapMs=[]
for p in slow:
    a,b=p['AtMs'],p['AtMs']+p['Ms']
    hits=[(k,round(s),ms) for k,s,ms in ev if s<b and s+ms>a]
    # total overlapping time by kind excluding T that is covered by GC
    tot={}
    for k,s,ms in ev:
        o=min(b,s+ms)-max(a,s)
        if o>0: tot[k]=tot.get(k,0)+o
    print(f"probe @{a} {p['Ms']:.0f}ms up@{p['UpgradedMs']:.0f}: "+" ".join(f"{k}:{v:.0f}" for k,v in sorted(tot.items())))
    for k in tot: kinds[k]+=1
print("slow probes", len(slow), "with overlap by kind", dict(kinds))
gc=[e for e in ev if e[0] in '012']; A=[e for e in ev if e[0]=='A']; T=[e for e in ev if e[0]=='T']
print("events: GC>=10ms", len(gc), "sum", round(sum(e[2] for e in gc)), "; accept pauses>=10ms", len(A), "sum", round(sum(e[2] for e in A)), "; turns>=10ms", len(T))
