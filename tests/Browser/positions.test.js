// clients/browser/client.js's channel positions, in Node against a scripted socket (no browser, no server): what it
// re-subscribes with after a reconnect for each kind of `subscribed` a Host with history can send, including the
// cases a real Host only produces after a broker wipe (another epoch) or outage (no position). e2e.test.js runs the
// resume against a real Host on Redis in Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineClient, decodeEnvelope, EnvelopeKind } from '../../clients/browser/client.js';

/** A WebSocket the test plays the server of: it opens, receives and drops when told. */
class ScriptedSocket {
  static all = [];
  readyState = 0;
  sent = [];
  constructor(url) { this.url = url; ScriptedSocket.all.push(this); }
  send(data) { this.sent.push(data); }
  close(code = 1000, reason = '') {
    this.readyState = 3;
    setTimeout(() => this.onclose?.({ code, reason, wasClean: true }));
  }
  open() { this.readyState = 1; this.onopen?.(); this.receive({ type: 'connected', id: '1' }); }
  receive(message) { this.onmessage?.({ data: message instanceof Uint8Array ? message.buffer : JSON.stringify(message) }); }
  drop() { this.readyState = 3; this.onclose?.({ code: 1006, reason: '', wasClean: false }); }
  subscribes() { return this.sent.filter((d) => typeof d === 'string' && JSON.parse(d).type === 'subscribe').map((d) => JSON.parse(d)); }
}
globalThis.WebSocket = ScriptedSocket;

async function nextSocket(count) {
  // A hang bound: the scripted sockets need no network, the client reconnects after its (test-sized) backoff.
  for (const deadline = Date.now() + 5000; ScriptedSocket.all.length < count;) {
    assert.ok(Date.now() < deadline, 'the client did not reconnect');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const socket = ScriptedSocket.all[count - 1];
  socket.open();
  return socket;
}

function binaryWithOffset(channel, from, offset, payload) {
  const head = [0x04, channel.length, ...Buffer.from(channel), from.length, ...Buffer.from(from)];
  const bytes = new Uint8Array(head.length + 8 + payload.length);
  bytes.set(head);
  new DataView(bytes.buffer).setBigUint64(head.length, BigInt(offset));
  bytes.set(payload, head.length + 8);
  return bytes;
}

test('decodeEnvelope reads kind 0x04 with its big-endian offset, and refuses a frame cut inside the header', () => {
  const frame = binaryWithOffset('cam', 'bo', 298, [0xaa, 0xbb]);
  const header = frame.length - 2;
  for (let length = 0; length < frame.length; length++) {
    const partial = decodeEnvelope(frame.subarray(0, length));
    if (length < header) assert.equal(partial, null, `cut at ${length}`);
    else assert.equal(partial.offset, 298);
  }
  const message = decodeEnvelope(frame);
  assert.deepEqual({ ...message, payload: [...message.payload] },
    { kind: EnvelopeKind.CHANNEL_MESSAGE_WITH_OFFSET, channel: 'cam', from: 'bo', offset: 298, payload: [0xaa, 0xbb] });
  const plain = decodeEnvelope(new Uint8Array([0x02, 3, ...Buffer.from('cam'), 2, ...Buffer.from('bo'), 0xaa]));
  assert.equal(plain.kind, EnvelopeKind.CHANNEL_MESSAGE);
  assert.equal(plain.offset, undefined);
});

test('the position follows messages and subscribed, and every resubscribe carries it', async () => {
  ScriptedSocket.all.length = 0;
  const client = new EngineClient('ws://scripted/', { heartbeatInterval: 0, baseDelay: 1, maxDelay: 2 });
  const subscribed = [];
  const offsets = [];
  client.on('subscribed', (m) => subscribed.push(m));
  client.on('message', (m) => offsets.push(m.offset));
  client.on('channel-binary', (e) => offsets.push(e.offset));
  let socket = await nextSocket(1);
  client.subscribe('news');
  assert.deepEqual(socket.subscribes(), [{ type: 'subscribe', channel: 'news' }]);
  socket.receive({ type: 'subscribed', channel: 'news', offset: 5, epoch: 'e1' });
  assert.deepEqual(client.position('news'), { offset: 5, epoch: 'e1' });

  // Messages move it on; one without an offset (the broker was down) does not; nor does another channel's.
  socket.receive({ type: 'message', channel: 'news', content: 1, from: 'a', offset: 6 });
  socket.receive(binaryWithOffset('news', 'a', 7, [0xff]));
  socket.receive({ type: 'message', channel: 'news', content: 2, from: 'a' });
  socket.receive({ type: 'message', channel: 'other', content: 3, from: 'a', offset: 99 });
  assert.deepEqual(offsets, [6, 7, undefined, 99]);
  assert.deepEqual(client.position('news'), { offset: 7, epoch: 'e1' });
  assert.equal(client.position('other'), null);

  // Reconnect: resume from there; the replayed messages and `subscribed` with recovered move it on.
  socket.drop();
  socket = await nextSocket(2);
  assert.deepEqual(socket.subscribes(), [{ type: 'subscribe', channel: 'news', offset: 7, epoch: 'e1' }]);
  socket.receive({ type: 'message', channel: 'news', content: 4, from: 'a', offset: 8 });
  socket.receive({ type: 'subscribed', channel: 'news', offset: 8, epoch: 'e1', recovered: true });
  assert.equal(subscribed.at(-1).recovered, true);
  assert.deepEqual(client.position('news'), { offset: 8, epoch: 'e1' });

  // Another epoch (the history was wiped): its position replaces ours though its offset is lower.
  socket.drop();
  socket = await nextSocket(3);
  assert.deepEqual(socket.subscribes(), [{ type: 'subscribe', channel: 'news', offset: 8, epoch: 'e1' }]);
  socket.receive({ type: 'subscribed', channel: 'news', offset: 2, epoch: 'e2', recovered: false });
  assert.equal(subscribed.at(-1).recovered, false);

  // The broker was down at the re-subscribe: no position in the answer, the last one is kept for next time.
  socket.drop();
  socket = await nextSocket(4);
  assert.deepEqual(socket.subscribes(), [{ type: 'subscribe', channel: 'news', offset: 2, epoch: 'e2' }]);
  socket.receive({ type: 'subscribed', channel: 'news', recovered: false });
  assert.deepEqual(client.position('news'), { offset: 2, epoch: 'e2' });

  // Leaving forgets it: joining again starts from now.
  client.unsubscribe('news');
  assert.equal(client.position('news'), null);
  client.subscribe('news');
  assert.deepEqual(socket.subscribes().at(-1), { type: 'subscribe', channel: 'news' });
  client.close();
});

test('without history the resubscribe is the plain one', async () => {
  ScriptedSocket.all.length = 0;
  const client = new EngineClient('ws://scripted/', { heartbeatInterval: 0, baseDelay: 1, maxDelay: 2 });
  let socket = await nextSocket(1);
  client.subscribe('news');
  socket.receive({ type: 'subscribed', channel: 'news' });
  socket.receive({ type: 'message', channel: 'news', content: 1, from: 'a' });
  socket.drop();
  socket = await nextSocket(2);
  assert.deepEqual(socket.subscribes(), [{ type: 'subscribe', channel: 'news' }]);
  assert.equal(client.position('news'), null);
  client.close();
});
