import socket
req=(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
ss=[]
for i in range(500):
    s=socket.create_connection(("127.0.0.1",9100)); s.sendall(req); s.recv(1024); ss.append(s)
for s in ss: s.close()
