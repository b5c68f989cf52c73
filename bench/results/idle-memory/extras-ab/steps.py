# Opens idle WebSocket connections in steps and prints the server's RSS after each (marginal cost per connection).
import asyncio, sys, time
pid=int(sys.argv[1]); port=int(sys.argv[2]); step=int(sys.argv[3]); steps=int(sys.argv[4])
req=(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"): return int(line.split()[1])*1024
async def one(conns):
    r,w=await asyncio.open_connection('127.0.0.1',port)
    w.write(req); await w.drain()
    head=await r.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    conns.append((r,w))
async def main():
    conns=[]
    await asyncio.sleep(1.5); base=rss(); prev=base
    print(f"0 rss={base}",flush=True)
    for s in range(steps):
        for i in range(0,step,500):
            await asyncio.gather(*[one(conns) for _ in range(500)])
        await asyncio.sleep(2.5)
        now=rss()
        print(f"{len(conns)} rss={now} step_per_conn={(now-prev)/step:.0f} total_per_conn={(now-base)/len(conns):.0f}",flush=True)
        prev=now
    for r,w in conns: w.close()
asyncio.run(main())
