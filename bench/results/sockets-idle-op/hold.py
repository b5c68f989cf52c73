import asyncio, sys
N=int(sys.argv[1]); port=int(sys.argv[2]); hold=float(sys.argv[3])
req=(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
async def one(conns):
    r,w=await asyncio.open_connection('127.0.0.1',port)
    w.write(req); await w.drain()
    head=await r.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    conns.append((r,w))
async def main():
    conns=[]
    for i in range(0,N,500):
        await asyncio.gather(*[one(conns) for _ in range(min(500,N-i))])
    print("open",len(conns),flush=True)
    await asyncio.sleep(hold)
    for r,w in conns: w.close()
asyncio.run(main())
