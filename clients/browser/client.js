// Browser client for the Engine Host's application protocol (docs/protocol.md). An ES module with no dependencies;
// the Host serves it at /client.js. Types: client.d.ts next to this file.
//
// What the native WebSocket does not do, this does:
// - reconnects after unexpected closes (never after close() or 4001 Unauthorized), exponential backoff
//   (base 1 s, cap 30 s) with jitter and a maximum retry count, reset after every successful open;
// - re-authenticates (the token is the first message, never in the URL) and re-subscribes every channel on reconnect;
// - on a Host that keeps channel history, tracks each channel's position (the last offset seen and the history's
//   epoch) and re-subscribes from there, so the server first sends what was missed; `subscribed` then carries
//   `recovered` (true: nothing lost; false: reload the channel's state);
// - application heartbeat: {"type":"ping"} every interval; no pong within the timeout closes with 4000 and reconnects;
// - queues what is sent while not ready in a bounded queue flushed on (re)connect. When the queue is full, send()
//   throws a ClientError (kind "queue-full") and the same error is emitted as an "error" event: nothing is dropped
//   silently, the caller decides whether to retry, drop or tell the user.

/** WebSocket ready states, as numbers (the same as WebSocket.CONNECTING ... WebSocket.CLOSED). */
export const ReadyState = Object.freeze({ CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });

/** Close codes the client uses or reacts to. */
export const CloseCodes = Object.freeze({ NORMAL: 1000, GOING_AWAY: 1001, HEARTBEAT_TIMEOUT: 4000, UNAUTHORIZED: 4001 });

/** Binary envelope kinds (docs/protocol.md, Binary messages). */
export const EnvelopeKind = Object.freeze({ PUBLISH: 0x01, CHANNEL_MESSAGE: 0x02, FILE_DATA: 0x03, CHANNEL_MESSAGE_WITH_OFFSET: 0x04 });

const CHANNEL_NAME = /^[A-Za-z0-9_.:\-]{1,128}$/;
const FILE_ERRORS = new Set([
  'file transfer disabled', 'invalid file name', 'file is outside the files directory', 'not a file',
  'file not found', 'file changed during transfer',
]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An error the client reports: thrown by send() when the queue is full, and emitted as the "error" event. */
export class ClientError extends Error {
  /**
   * @param {'queue-full'|'not-connected'|'server'|'socket'|'retries-exhausted'|'unauthorized'|'protocol'|'file'} kind
   * @param {string} message
   */
  constructor(kind, message) {
    super(message);
    this.name = 'ClientError';
    this.kind = kind;
  }
}

/** Whether `name` is a valid channel name: 1-128 bytes of A-Z a-z 0-9 _ . : - */
export function isValidChannel(name) {
  return typeof name === 'string' && CHANNEL_NAME.test(name);
}

function toBytes(payload) {
  if (payload instanceof Uint8Array) return payload;
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  if (ArrayBuffer.isView(payload)) return new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  if (typeof payload === 'string') return encoder.encode(payload);
  throw new TypeError('payload must be an ArrayBuffer, a typed array or a string');
}

/** Encodes a publish envelope: 0x01, channel length, channel name, payload. */
export function encodeChannelEnvelope(channel, payload) {
  if (!isValidChannel(channel)) throw new ClientError('protocol', `invalid channel name: ${channel}`);
  const body = toBytes(payload);
  const out = new Uint8Array(2 + channel.length + body.length);
  out[0] = EnvelopeKind.PUBLISH;
  out[1] = channel.length; // ASCII only, so characters = bytes
  out.set(encoder.encode(channel), 2);
  out.set(body, 2 + channel.length);
  return out;
}

/**
 * Decodes a binary frame from the server. Returns {kind: 2, channel, from, payload} for a channel message,
 * {kind: 4, channel, from, offset, payload} for one with its history offset, {kind: 3, payload} for file data, or null
 * when the frame is not a valid envelope.
 */
export function decodeEnvelope(data) {
  const bytes = toBytes(data);
  if (bytes.length < 1) return null;
  const kind = bytes[0];
  if (kind === EnvelopeKind.FILE_DATA) return { kind, payload: bytes.subarray(1) };
  if ((kind !== EnvelopeKind.CHANNEL_MESSAGE && kind !== EnvelopeKind.CHANNEL_MESSAGE_WITH_OFFSET) || bytes.length < 2) return null;
  const n = bytes[1];
  if (n < 1 || 2 + n + 1 > bytes.length) return null;
  const m = bytes[2 + n];
  let at = 3 + n + m;
  if (m < 1 || at > bytes.length) return null;
  const envelope = {
    kind,
    channel: decoder.decode(bytes.subarray(2, 2 + n)),
    from: decoder.decode(bytes.subarray(3 + n, at)),
  };
  if (kind === EnvelopeKind.CHANNEL_MESSAGE_WITH_OFFSET) {
    if (at + 8 > bytes.length) return null;
    // 8 bytes, big-endian; offsets count one channel's messages, far below 2^53.
    envelope.offset = Number(new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigUint64(0));
    at += 8;
  }
  envelope.payload = bytes.subarray(at);
  return envelope;
}

/** Backoff before retry `attempt` (0-based): min(cap, base * 2^attempt), scaled by a random factor in [0.5, 1). */
export function backoffDelay(attempt, baseDelay = 1000, maxDelay = 30000, random = Math.random) {
  const ceiling = Math.min(maxDelay, baseDelay * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (0.5 + random() * 0.5));
}

const DEFAULTS = Object.freeze({
  token: undefined,
  protocols: undefined,
  heartbeatInterval: 25000,
  heartbeatTimeout: 10000,
  baseDelay: 1000,
  maxDelay: 30000,
  maxRetries: 10,
  maxQueue: 256,
  autoConnect: true,
});

/**
 * A reconnecting client. Construct it with the server URL (ws:// or wss://); it connects at once unless
 * `autoConnect: false`. Not thread-affine beyond the browser's event loop: call it from the page's main thread.
 */
export class EngineClient {
  #url;
  #options;
  #ws = null;
  #state = 'idle';
  #listeners = new Map();
  #channels = new Set();
  #positions = new Map(); // channel -> {offset, epoch}, on a Host with channel history
  #queue = [];
  #attempt = 0;
  #retryTimer = null;
  #pingTimer = null;
  #pongTimer = null;
  #closedByUser = false;
  #ready = false;
  #files = [];
  #activeFile = null;
  #connectionId = null;
  #user = null;

  constructor(url, options = {}) {
    this.#url = url;
    this.#options = { ...DEFAULTS, ...options };
    if (typeof this.#url === 'string' && /[?&]token=/.test(this.#url)) {
      // Tokens in URLs end up in logs and history; the protocol's first message is the place for them.
      throw new ClientError('protocol', 'put the token in options.token, not in the URL');
    }
    if (this.#options.autoConnect) this.connect();
  }

  /** The underlying socket's ready state (ReadyState.*), CLOSED when there is no socket. */
  get readyState() { return this.#ws ? this.#ws.readyState : ReadyState.CLOSED; }

  /** 'idle' | 'connecting' | 'authenticating' | 'open' | 'reconnecting' | 'closing' | 'closed' */
  get state() { return this.#state; }

  /** True when the socket is open and (with a token) authenticated: sends go out at once. */
  get isReady() { return this.#ready; }

  /** Channels this client is in (joined now, or re-joined on the next connect). */
  get channels() { return [...this.#channels]; }

  /**
   * Where `channel` resumes after a reconnect: {offset, epoch} (the last offset seen, the history's epoch), or null
   * when the server keeps no history or the channel is not joined.
   */
  position(channel) {
    const position = this.#positions.get(channel);
    return position ? { ...position } : null;
  }

  /** Messages waiting for the connection. */
  get queued() { return this.#queue.length; }

  /** The server's id for this connection (from "connected"), the authenticated user (from "authenticated"). */
  get connectionId() { return this.#connectionId; }
  get user() { return this.#user; }

  /** Adds a listener; returns a function that removes it. */
  on(type, listener) {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => this.off(type, listener);
  }

  /** Removes a listener added with on(). */
  off(type, listener) {
    this.#listeners.get(type)?.delete(listener);
  }

  /** Opens the connection (again, after close() or after the retries ran out). */
  connect() {
    if (this.#ws && this.#ws.readyState <= ReadyState.OPEN) return;
    this.#closedByUser = false;
    this.#attempt = 0;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#open();
  }

  /** Closes for good: no reconnection. Queued messages are discarded; pending file requests are rejected. */
  close(code = CloseCodes.NORMAL, reason = '') {
    this.#closedByUser = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#queue.length = 0;
    this.#stopHeartbeat();
    const ws = this.#ws;
    if (ws && ws.readyState <= ReadyState.OPEN) {
      this.#setState('closing');
      ws.close(code, reason);
    } else {
      this.#setState('closed');
    }
  }

  /**
   * Sends a client message (an object with `type`, serialized as JSON) or binary data (ArrayBuffer / typed array).
   * Sent at once when ready; otherwise queued until the next (re)connect. Throws ClientError 'queue-full' when the
   * queue holds maxQueue messages, and 'not-connected' after close() or when the retries ran out.
   */
  send(message) {
    const data = typeof message === 'object' && !(message instanceof ArrayBuffer) && !ArrayBuffer.isView(message)
      ? JSON.stringify(message) : message;
    if (this.#ready && this.#ws?.readyState === ReadyState.OPEN) {
      this.#ws.send(data);
      return;
    }
    if (this.#closedByUser || this.#state === 'closed' || this.#state === 'idle') {
      throw this.#fail(new ClientError('not-connected', 'the client is closed: call connect() first'));
    }
    if (this.#queue.length >= this.#options.maxQueue) {
      throw this.#fail(new ClientError('queue-full', `outgoing queue is full (${this.#options.maxQueue} messages)`));
    }
    this.#queue.push(data);
  }

  /** Joins a channel; it is re-joined after every reconnect until unsubscribe(). */
  subscribe(channel) {
    if (!isValidChannel(channel)) throw new ClientError('protocol', `invalid channel name: ${channel}`);
    this.#channels.add(channel);
    if (this.#ready) this.#ws.send(JSON.stringify({ type: 'subscribe', channel }));
  }

  /** Leaves a channel (and forgets its position: joining again later starts from then). */
  unsubscribe(channel) {
    this.#positions.delete(channel);
    if (this.#channels.delete(channel) && this.#ready) this.#ws.send(JSON.stringify({ type: 'unsubscribe', channel }));
  }

  /** Publishes any JSON value to a channel (not echoed back to this client). */
  publish(channel, content) {
    this.send({ type: 'message', channel, content });
  }

  /** Publishes bytes to a channel in the binary envelope (kind 0x01). */
  publishBinary(channel, payload) {
    this.send(encodeChannelEnvelope(channel, payload));
  }

  /** Sends an application ping now (the heartbeat does this by itself). */
  ping() {
    this.send({ type: 'ping' });
  }

  /**
   * Requests a file: resolves after file-meta and all data chunks with {name, size, data: ArrayBuffer, blob: Blob}.
   * onProgress(received, size) runs after every chunk. Rejects on a server file error or when the connection drops.
   */
  requestFile(name, { onProgress, type = 'application/octet-stream' } = {}) {
    return new Promise((resolve, reject) => {
      const request = { name, onProgress, type, resolve, reject, size: 0, received: 0, chunks: [] };
      this.send({ type: 'request-file', name });
      this.#files.push(request);
    });
  }

  #fail(error) {
    this.#emit('error', error);
    return error;
  }

  #emit(type, value) {
    const set = this.#listeners.get(type);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(value);
      } catch (error) {
        // A listener bug must not break the client's state machine.
        setTimeout(() => { throw error; });
      }
    }
  }

  #setState(state) {
    if (this.#state === state) return;
    this.#state = state;
    this.#emit('state', state);
  }

  #open() {
    this.#ready = false;
    this.#setState('connecting');
    let ws;
    try {
      ws = new WebSocket(this.#url, this.#options.protocols);
    } catch (error) {
      this.#fail(new ClientError('socket', String(error?.message ?? error)));
      this.#closedByUser = true;
      this.#setState('closed');
      return;
    }
    ws.binaryType = 'arraybuffer';
    // Close and error handlers first, at construction: a socket that fails at once still reports through them.
    ws.onclose = (event) => this.#onClose(ws, event.code, event.reason, event.wasClean);
    ws.onerror = () => {
      if (ws === this.#ws) this.#emit('error', new ClientError('socket', 'WebSocket error'));
    };
    ws.onopen = () => this.#onOpen(ws);
    ws.onmessage = (event) => this.#onMessage(ws, event.data);
    this.#ws = ws;
  }

  async #onOpen(ws) {
    if (ws !== this.#ws) return;
    if (this.#options.token === undefined || this.#options.token === null) return; // ready on "connected"
    this.#setState('authenticating');
    let token = this.#options.token;
    try {
      if (typeof token === 'function') token = await token();
    } catch (error) {
      this.#fail(new ClientError('unauthorized', `token provider failed: ${error?.message ?? error}`));
      ws.close(CloseCodes.NORMAL, 'no token');
      return;
    }
    // The token is the first message on the socket: the server processes nothing before it.
    if (ws === this.#ws && ws.readyState === ReadyState.OPEN) ws.send(JSON.stringify({ type: 'auth', token }));
  }

  #onReady(ws) {
    this.#ready = true;
    this.#attempt = 0; // a successful open resets the retry count
    this.#setState('open');
    for (const channel of this.#channels) {
      // With a position (the server keeps history) the server first sends what was missed since, then `subscribed`.
      const position = this.#positions.get(channel);
      ws.send(JSON.stringify(position ? { type: 'subscribe', channel, offset: position.offset, epoch: position.epoch } : { type: 'subscribe', channel }));
    }
    const queue = this.#queue.splice(0);
    for (const data of queue) ws.send(data);
    this.#startHeartbeat(ws);
    this.#emit('open', { id: this.#connectionId, user: this.#user, resubscribed: [...this.#channels], flushed: queue.length });
  }

  #onMessage(ws, data) {
    if (ws !== this.#ws) return;
    if (typeof data !== 'string') {
      this.#onBinary(data);
      return;
    }
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      this.#fail(new ClientError('protocol', 'server sent invalid JSON'));
      return;
    }
    switch (message?.type) {
      case 'connected':
        this.#connectionId = message.id;
        if (this.#options.token === undefined || this.#options.token === null) this.#onReady(ws);
        break;
      case 'authenticated':
        this.#user = message.user;
        this.#onReady(ws);
        break;
      case 'message':
        this.#advance(message.channel, message.offset);
        break;
      case 'subscribed':
        this.#onSubscribed(message);
        break;
      case 'pong':
        clearTimeout(this.#pongTimer);
        this.#pongTimer = null;
        break;
      case 'file-meta':
        this.#onFileMeta(message);
        break;
      case 'error':
        if (FILE_ERRORS.has(message.message) || message.message?.startsWith('too many file requests')) {
          this.#files.shift()?.reject(new ClientError('file', message.message));
        }
        this.#emit('error', Object.assign(new ClientError('server', message.message), { serverMessage: message }));
        return; // already emitted as 'error'
    }
    this.#emit(message.type, message);
  }

  #onBinary(buffer) {
    this.#emit('binary', buffer);
    const envelope = decodeEnvelope(buffer);
    if (envelope?.kind === EnvelopeKind.CHANNEL_MESSAGE || envelope?.kind === EnvelopeKind.CHANNEL_MESSAGE_WITH_OFFSET) {
      this.#advance(envelope.channel, envelope.offset);
      this.#emit('channel-binary', envelope);
    } else if (envelope?.kind === EnvelopeKind.FILE_DATA && this.#activeFile) {
      const file = this.#activeFile;
      file.chunks.push(envelope.payload);
      file.received += envelope.payload.length;
      file.onProgress?.(file.received, file.size);
      this.#emit('file-progress', { name: file.name, received: file.received, size: file.size });
      if (file.received >= file.size) this.#completeFile();
    }
  }

  // A channel's position moves to the latest offset seen. Messages without one (no history, or delivered while the
  // server's broker was down: not in the history) leave it where it is.
  #advance(channel, offset) {
    const position = this.#positions.get(channel);
    if (position && typeof offset === 'number' && offset > position.offset) position.offset = offset;
  }

  #onSubscribed(message) {
    const { channel, offset, epoch } = message;
    if (typeof offset !== 'number' || typeof epoch !== 'string' || !this.#channels.has(channel)) return;
    // Another epoch is another history: its offsets replace ours. An answer without a position (the broker was down)
    // keeps the one we have for the next resume.
    const known = this.#positions.get(channel);
    if (!known || known.epoch !== epoch || offset > known.offset) this.#positions.set(channel, { offset, epoch });
  }

  #onFileMeta(meta) {
    const file = this.#files.shift();
    if (!file) return;
    file.name = meta.name;
    file.size = meta.size;
    this.#activeFile = file;
    file.onProgress?.(0, file.size);
    if (file.size === 0) this.#completeFile();
  }

  #completeFile() {
    const file = this.#activeFile;
    this.#activeFile = null;
    const data = new Uint8Array(file.received);
    let offset = 0;
    for (const chunk of file.chunks) {
      data.set(chunk, offset);
      offset += chunk.length;
    }
    file.resolve({ name: file.name, size: file.size, data: data.buffer, blob: new Blob([data], { type: file.type }) });
  }

  #startHeartbeat(ws) {
    this.#stopHeartbeat();
    const { heartbeatInterval, heartbeatTimeout } = this.#options;
    if (!(heartbeatInterval > 0)) return;
    this.#pingTimer = setInterval(() => {
      if (ws !== this.#ws || ws.readyState !== ReadyState.OPEN) return;
      ws.send('{"type":"ping"}');
      if (this.#pongTimer === null) {
        this.#pongTimer = setTimeout(() => this.#onHeartbeatTimeout(ws), heartbeatTimeout);
      }
    }, heartbeatInterval);
  }

  #stopHeartbeat() {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#pongTimer);
    this.#pingTimer = null;
    this.#pongTimer = null;
  }

  #onHeartbeatTimeout(ws) {
    this.#pongTimer = null;
    if (ws !== this.#ws) return;
    // A server that stopped answering will not complete the closing handshake either: start it, but do not wait
    // for the browser's close event (it may take a minute); treat the connection as closed now.
    try {
      ws.close(CloseCodes.HEARTBEAT_TIMEOUT, 'Heartbeat timeout');
    } catch { /* already closing */ }
    this.#onClose(ws, CloseCodes.HEARTBEAT_TIMEOUT, 'Heartbeat timeout', false);
  }

  #onClose(ws, code, reason, wasClean) {
    if (ws !== this.#ws) return; // a socket we already gave up on (heartbeat timeout)
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    this.#ws = null;
    const wasReady = this.#ready;
    this.#ready = false;
    this.#stopHeartbeat();
    this.#rejectFiles(new ClientError('socket', `connection closed (${code}) during a file request`));
    this.#emit('close', { code, reason, wasClean, wasOpen: wasReady });
    if (this.#closedByUser) {
      this.#setState('closed');
      return;
    }
    if (code === CloseCodes.UNAUTHORIZED) {
      // Retrying with the same token cannot succeed.
      this.#queue.length = 0;
      this.#setState('closed');
      this.#fail(new ClientError('unauthorized', reason || 'Unauthorized'));
      return;
    }
    if (this.#attempt >= this.#options.maxRetries) {
      this.#queue.length = 0;
      this.#setState('closed');
      this.#fail(new ClientError('retries-exhausted', `gave up after ${this.#options.maxRetries} reconnection attempts`));
      return;
    }
    const delay = backoffDelay(this.#attempt, this.#options.baseDelay, this.#options.maxDelay);
    this.#attempt++;
    this.#setState('reconnecting');
    this.#emit('reconnecting', { attempt: this.#attempt, delay, code, reason });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (!this.#closedByUser) this.#open();
    }, delay);
  }

  #rejectFiles(error) {
    const pending = this.#activeFile ? [this.#activeFile, ...this.#files] : this.#files;
    this.#activeFile = null;
    this.#files = [];
    for (const file of pending) file.reject(error);
  }
}
