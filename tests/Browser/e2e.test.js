// End-to-end tests of clients/browser in real headless Chromium (Debian's chromium, driven by playwright-core)
// against the Host's Release build, started and restarted by these tests. Run: `node --test` in this folder
// (test.sh does it after building). Screenshots of the demo page go to artifacts/ (git-ignored).
// The channel-history test also starts a redis-server (Debian's; test.sh installs it) and a second Host on it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHmac, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const hostDll = join(root, 'src/Host/bin/Release/net10.0/Host.dll');
const artifacts = join(here, 'artifacts');
const secret = 'browser-test-secret-of-at-least-32-bytes';
const port = 20000 + Math.floor(Math.random() * 20000);
const origin = `http://127.0.0.1:${port}`;
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Fast heartbeat for the pages: a ping every second, 3 s to answer (was 1.5 s). Every page's connection must keep
// answering in time through the whole run, and on a loaded 2-core box Chromium's renderers and the Host share the
// cores with other builds and tests: a pong that takes seconds there would close a healthy page with 4000 and lose
// what was in flight. The heartbeat test still sees the stopped Host within 4 s, well inside WAIT.
const demoUrl = `${origin}/?heartbeat=1000&heartbeatTimeout=3000`;
// A hang bound for waits on something that must happen (milliseconds to a few seconds unloaded), never a speed claim.
const WAIT = { timeout: 15000 };

let host = null;
let browser = null;
let filesDir = null;
const fileBytes = randomBytes(300 * 1024); // several 64 KiB chunks
let alice = null;
let bob = null;

function base64url(value) {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** An HS256 JWT, signed like the Host expects (docs/protocol.md, Authentication). */
function mintToken(sub, key = secret) {
  const header = base64url({ alg: 'HS256', typ: 'JWT' });
  const payload = base64url({ sub, exp: Math.floor(Date.now() / 1000) + 3600 });
  const signature = createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** Starts the Host and resolves once it prints its listening line (bounded). */
function startHost(hostPort = port, env = { WS_FILES_DIR: filesDir }) {
  const child = spawn('dotnet', [hostDll, '--port', String(hostPort), '--address', '127.0.0.1'], {
    env: { ...process.env, WS_AUTH_SECRET: secret, DOTNET_NOLOGO: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`Host did not start in 20 s:\n${output}`)); }, 20000);
    const onData = (data) => {
      output += data;
      if (output.includes('listening on')) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (data) => { output += data; });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`Host exited with ${code}:\n${output}`)); });
  });
}

/** SIGTERM (graceful: 1001 to every client) and wait for the exit; SIGKILL after 15 s. */
function stopHost(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
    child.kill('SIGCONT');
    child.kill('SIGTERM');
  });
}

/** A free loopback port (the OS picks it; closed again for the caller to use). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().on('error', reject).listen(0, '127.0.0.1', () => {
      const { port: free } = server.address();
      server.close(() => resolve(free));
    });
  });
}

/** A real redis-server on `redisPort`, no persistence; resolves once it accepts connections. */
function startRedis(redisPort) {
  const child = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`redis-server did not start in 15 s:\n${output}`)); }, 15000);
    child.on('error', (error) => { clearTimeout(timer); reject(new Error(`redis-server: ${error.message} (test.sh installs it)`)); });
    child.stdout.on('data', (data) => {
      output += data;
      if (output.includes('Ready to accept connections')) { clearTimeout(timer); resolve(child); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`redis-server exited with ${code}:\n${output}`)); });
  });
}

/**
 * A TCP relay to `target` that the test controls, like a load balancer or a network path: cut() resets every relayed
 * connection and refuses new ones until open() routes them again.
 */
function startProxy(target) {
  const sockets = new Set();
  let to = target;
  const track = (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    track(client);
    if (!to) { client.resetAndDestroy(); return; }
    const upstream = createConnection(to, '127.0.0.1');
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: server.address().port,
    cut() {
      to = 0;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    open(port) { to = port; },
    close() {
      this.cut();
      return new Promise((done) => server.close(done));
    },
  })));
}

async function openDemo(user) {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.error(`[${user}] page error: ${error.message}`));
  await page.goto(demoUrl);
  await page.fill('#token', mintToken(user));
  await page.click('#connect');
  await page.waitForFunction(() => window.demo.client?.state === 'open', null, WAIT);
  return page;
}

async function joinChannel(page, channel) {
  await page.fill('#channel', channel);
  await page.click('#join');
  await page.waitForFunction((name) => window.demo.events.includes(`subscribed #${name}`), channel, WAIT);
}

async function say(page, channel, text) {
  await page.selectOption('#to', channel);
  await page.fill('#text', text);
  await page.click('#send');
}

function expectMessage(page, from, text) {
  return page.waitForFunction(([f, t]) => window.demo.messages.some((m) => m.from === f && m.body === t), [from, text], WAIT);
}

function eventCount(page, prefix) {
  return page.evaluate((p) => window.demo.events.filter((e) => e.startsWith(p)).length, prefix);
}

before(async () => {
  if (!existsSync(hostDll)) {
    const build = spawnSync('dotnet', ['build', join(root, 'src/Host'), '-c', 'Release', '-nologo', '-v', 'q'], { stdio: 'inherit', timeout: 300000 });
    assert.equal(build.status, 0, 'building the Host failed');
  }
  mkdirSync(artifacts, { recursive: true });
  filesDir = mkdtempSync(join(tmpdir(), 'engine-browser-files-'));
  writeFileSync(join(filesDir, 'data.bin'), fileBytes);
  host = await startHost();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    timeout: 30000,
  });
});

after(async () => {
  await browser?.close().catch(() => {});
  await stopHost(host);
  if (filesDir) rmSync(filesDir, { recursive: true, force: true });
});

test('the Host serves /client.js and the demo page with content type and revalidation headers', async () => {
  const script = await fetch(`${origin}/client.js`);
  assert.equal(script.status, 200);
  assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.equal(script.headers.get('cache-control'), 'no-cache');
  const etag = script.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]+"$/);
  assert.match(await script.text(), /export class EngineClient/);
  const again = await fetch(`${origin}/client.js`, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  const page = await fetch(`${origin}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  assert.match(await page.text(), /import \{ EngineClient, ReadyState \} from '\/client.js'/);
});

test('two pages authenticate, join a channel and chat both ways', async () => {
  alice = await openDemo('alice');
  bob = await openDemo('bob');
  assert.equal(await alice.evaluate(() => window.demo.client.user), 'alice');
  assert.equal(await alice.textContent('#state'), 'open');
  assert.equal(await alice.evaluate(() => window.demo.client.readyState), 1);
  await joinChannel(alice, 'lobby');
  await joinChannel(bob, 'lobby');
  await say(alice, 'lobby', 'hello bob');
  await expectMessage(bob, 'alice', 'hello bob');
  await say(bob, 'lobby', 'hi alice');
  await expectMessage(alice, 'bob', 'hi alice');
  // Never echoed to the sender.
  assert.equal(await alice.evaluate(() => window.demo.messages.filter((m) => m.from === 'alice').length), 0);
  await alice.screenshot({ path: join(artifacts, 'demo-alice-chat.png'), fullPage: true });
});

test('a file sent in the binary envelope reaches the other page byte for byte', async () => {
  const bytes = randomBytes(100 * 1024);
  await bob.evaluate(() => {
    window.received = null;
    window.demo.client.on('channel-binary', (e) => { window.received = { channel: e.channel, from: e.from, data: Array.from(e.payload) }; });
  });
  await alice.setInputFiles('#file', { name: 'photo.bin', mimeType: 'application/octet-stream', buffer: bytes });
  await bob.waitForFunction(() => window.received !== null, null, WAIT);
  const received = await bob.evaluate(() => window.received);
  assert.equal(received.channel, 'lobby');
  assert.equal(received.from, 'alice');
  assert.deepEqual(Buffer.from(received.data), bytes);
  await bob.waitForSelector(`#messages a[data-size="${bytes.length}"]`, WAIT);
  await bob.screenshot({ path: join(artifacts, 'demo-bob-file.png'), fullPage: true });
});

test('requestFile assembles file-meta and the data chunks into a Blob, with progress', async () => {
  const result = await alice.evaluate(async () => {
    const progress = [];
    const file = await window.demo.client.requestFile('data.bin', { onProgress: (received, size) => progress.push([received, size]) });
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await file.blob.arrayBuffer()));
    return { name: file.name, size: file.size, length: file.data.byteLength, digest: Array.from(digest), progress };
  });
  assert.equal(result.name, 'data.bin');
  assert.equal(result.size, fileBytes.length);
  assert.equal(result.length, fileBytes.length);
  assert.deepEqual(Buffer.from(result.digest), createHash('sha256').update(fileBytes).digest());
  assert.ok(result.progress.length >= 5, `progress reported ${result.progress.length} times`);
  assert.deepEqual(result.progress.at(-1), [fileBytes.length, fileBytes.length]);
  const missing = await alice.evaluate(() => window.demo.client.requestFile('nope.bin').then(() => 'resolved', (e) => `${e.kind}: ${e.message}`));
  assert.equal(missing, 'file: file not found');
});

test('after a Host restart on the same port both pages reconnect, re-authenticate and are re-subscribed', async () => {
  const opensBefore = [await eventCount(alice, 'open'), await eventCount(bob, 'open')];
  await stopHost(host);
  await alice.waitForFunction(() => window.demo.client.state === 'reconnecting', null, WAIT);
  await bob.waitForFunction(() => window.demo.client.state === 'reconnecting', null, WAIT);
  // Sent while the server is down: queued, flushed after the reconnect.
  await say(bob, 'lobby', 'sent while offline');
  assert.equal(await bob.evaluate(() => window.demo.client.queued), 1);
  host = await startHost();
  for (const [page, before] of [[alice, opensBefore[0]], [bob, opensBefore[1]]]) {
    await page.waitForFunction((n) => window.demo.events.filter((e) => e.startsWith('open')).length > n, before, { timeout: 30000 });
    assert.ok(await eventCount(page, 'reconnecting') >= 1);
    assert.ok(await eventCount(page, 'close 1001') >= 1, 'the graceful stop closed with 1001');
    assert.deepEqual(await page.evaluate(() => window.demo.client.channels), ['lobby']);
  }
  assert.ok(await alice.evaluate(() => window.demo.events.some((e) => e === 'open (re-subscribed: lobby)')));
  // The queued message may have reached the server before alice re-joined; what proves re-subscription is a fresh one.
  await bob.waitForFunction(() => window.demo.events.filter((e) => e === 'subscribed #lobby').length >= 2, null, WAIT);
  await alice.waitForFunction(() => window.demo.events.filter((e) => e === 'subscribed #lobby').length >= 2, null, WAIT);
  await say(alice, 'lobby', 'back after restart');
  await expectMessage(bob, 'alice', 'back after restart');
  await say(bob, 'lobby', 'me too');
  await expectMessage(alice, 'bob', 'me too');
  assert.equal(await bob.evaluate(() => window.demo.client.queued), 0);
  await alice.screenshot({ path: join(artifacts, 'demo-after-restart.png'), fullPage: true });
});

test('a server that stops answering is detected by the heartbeat: close 4000, then reconnection', async () => {
  const before = await eventCount(alice, 'open');
  host.kill('SIGSTOP');
  try {
    await alice.waitForFunction(() => window.demo.events.includes('close 4000 Heartbeat timeout'), null, WAIT);
    await alice.waitForFunction(() => window.demo.client.state === 'reconnecting' || window.demo.client.state === 'connecting', null, WAIT);
    assert.ok(await eventCount(alice, 'reconnecting') >= 2);
    await bob.waitForFunction(() => window.demo.events.includes('close 4000 Heartbeat timeout'), null, WAIT);
    await alice.screenshot({ path: join(artifacts, 'demo-heartbeat-timeout.png'), fullPage: true });
  } finally {
    host.kill('SIGCONT');
  }
  await alice.waitForFunction((n) => window.demo.events.filter((e) => e.startsWith('open')).length > n, before, { timeout: 45000 });
  await bob.waitForFunction(() => window.demo.client.state === 'open', null, { timeout: 45000 });
  await say(bob, 'lobby', 'awake again');
  await expectMessage(alice, 'bob', 'awake again');
});

test('4001 Unauthorized is final: no reconnection', async () => {
  const page = await browser.newPage();
  await page.goto(demoUrl);
  const outcome = await page.evaluate(async (url) => {
    const { EngineClient } = await import('/client.js');
    const events = [];
    const client = new EngineClient(url, { token: 'not.a.jwt' });
    client.on('close', (e) => events.push(`close ${e.code}`));
    client.on('reconnecting', () => events.push('reconnecting'));
    client.on('error', (e) => events.push(`error ${e.kind}`));
    // A window for something that must not happen (a reconnect after 4001): load can only make it see less.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    return { events, state: client.state };
  }, `ws://127.0.0.1:${port}/`);
  assert.deepEqual(outcome.events, ['close 4001', 'error unauthorized']);
  assert.equal(outcome.state, 'closed');
  await page.close();
});

test('the outgoing queue is bounded: the send past the limit throws and emits queue-full', async () => {
  const page = await browser.newPage();
  await page.goto(demoUrl);
  const outcome = await page.evaluate(async () => {
    const { EngineClient } = await import('/client.js');
    const errors = [];
    // Port 9 (discard) on loopback refuses: the client keeps reconnecting, so sends are queued.
    const client = new EngineClient('ws://127.0.0.1:9/', { maxQueue: 2, maxRetries: 1, baseDelay: 50 });
    client.on('error', (e) => errors.push(e.kind));
    client.publish('lobby', 1);
    client.publish('lobby', 2);
    let thrown = null;
    try { client.publish('lobby', 3); } catch (e) { thrown = e.kind; }
    const queued = client.queued;
    // One retry at a 50 ms base delay against a refusing port: given up well within 1.5 s even on a loaded box.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    let afterGiveUp = null;
    try { client.publish('lobby', 4); } catch (e) { afterGiveUp = e.kind; }
    return { thrown, queued, errors, state: client.state, afterGiveUp };
  });
  assert.equal(outcome.thrown, 'queue-full');
  assert.equal(outcome.queued, 2);
  assert.ok(outcome.errors.includes('queue-full'));
  assert.ok(outcome.errors.includes('retries-exhausted'), outcome.errors.join());
  assert.equal(outcome.state, 'closed');
  assert.equal(outcome.afterGiveUp, 'not-connected');
  await page.close();
});

test('close() is final: no reconnection, state closed', async () => {
  await bob.click('#disconnect');
  await bob.waitForFunction(() => window.demo.client.state === 'closed', null, WAIT);
  const reconnecting = await eventCount(bob, 'reconnecting');
  // A window for something that must not happen (a reconnect after close()): load can only make it see less.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(await eventCount(bob, 'reconnecting'), reconnecting);
  assert.equal(await bob.evaluate(() => window.demo.client.readyState), 3);
});

test('on a Host with channel history, a dropped client resumes with exactly the missed messages, recovered', async () => {
  // A second Host, on Redis with history, reached by the resuming client through a relay the test cuts.
  const redisPort = await freePort();
  const historyPort = await freePort();
  const redis = await startRedis(redisPort);
  let historyHost = null;
  let proxy = null;
  const page = await browser.newPage();
  try {
    historyHost = await startHost(historyPort, { WS_BACKPLANE: `redis://127.0.0.1:${redisPort}`, WS_HISTORY_SIZE: '100' });
    // Connected to Redis (the Host listens before that): only then do subscribers get a position.
    for (const deadline = Date.now() + 15000; ;) { // a hang bound: Redis is local, the join takes milliseconds
      const health = await (await fetch(`http://127.0.0.1:${historyPort}/healthz`)).json();
      if (health.status === 'ok') break;
      assert.ok(Date.now() < deadline, `the history Host stayed ${health.status}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    proxy = await startProxy(historyPort);
    page.on('pageerror', (error) => console.error(`[history] page error: ${error.message}`));
    await page.goto(demoUrl);
    await page.evaluate(async ({ resumeUrl, directUrl, tokens }) => {
      const { EngineClient } = await import('/client.js');
      const options = { heartbeatInterval: 0 };
      // Everything the resuming client's application sees, in order.
      const seen = window.seen = [];
      const reader = window.reader = new EngineClient(resumeUrl, { ...options, token: tokens.reader, baseDelay: 100, maxDelay: 400, maxRetries: 1000 });
      reader.on('message', (m) => seen.push(`text ${m.content.n} @${m.offset}`));
      reader.on('channel-binary', (e) => seen.push(`binary ${e.payload[0]} @${e.offset}`));
      reader.on('subscribed', (s) => seen.push(`subscribed ${s.offset} recovered=${s.recovered}`));
      reader.subscribe('news');
      // On the Host directly: the publisher, and a watcher whose offsets show a message is in the history.
      window.publisher = new EngineClient(directUrl, { ...options, token: tokens.publisher });
      const watched = window.watched = [];
      const watcher = new EngineClient(directUrl, { ...options, token: tokens.watcher });
      watcher.on('message', (m) => watched.push(m.offset));
      watcher.on('channel-binary', (e) => watched.push(e.offset));
      watcher.subscribe('news');
      await new Promise((resolve) => watcher.on('subscribed', resolve));
    }, {
      resumeUrl: `ws://127.0.0.1:${proxy.port}/`,
      directUrl: `ws://127.0.0.1:${historyPort}/`,
      tokens: { reader: mintToken('reader'), publisher: mintToken('publisher'), watcher: mintToken('watcher') },
    });
    const publish = (from, to) => page.evaluate(([first, last]) => {
      for (let n = first; n < last; n++) {
        if (n % 3 === 1) window.publisher.publishBinary('news', new Uint8Array([n]));
        else window.publisher.publish('news', { n });
      }
    }, [from, to]);
    const expectSeen = async (expected) => {
      await page.waitForFunction((count) => window.seen.length >= count, expected.length, WAIT).catch(() => {});
      assert.deepEqual(await page.evaluate(() => window.seen.splice(0)), expected);
    };
    const expectWatched = (count) => page.waitForFunction((n) => window.watched.length >= n, count, WAIT);

    await expectSeen(['subscribed 0 recovered=undefined']);
    const { epoch } = await page.evaluate(() => window.reader.position('news'));
    await publish(0, 3);
    await expectSeen(['text 0 @1', 'binary 1 @2', 'text 2 @3']);
    await expectWatched(3);

    // The connection drops; the client keeps retrying (refused) while messages are published.
    proxy.cut();
    await page.waitForFunction(() => ['reconnecting', 'connecting'].includes(window.reader.state), null, WAIT);
    await publish(3, 9);
    await expectWatched(9);
    assert.deepEqual(await page.evaluate(() => window.watched), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    proxy.open(historyPort);

    // Back: the six missed ones first, in order and once, then `subscribed` saying nothing was lost.
    await expectSeen(['text 3 @4', 'binary 4 @5', 'text 5 @6', 'text 6 @7', 'binary 7 @8', 'text 8 @9', 'subscribed 9 recovered=true']);
    assert.deepEqual(await page.evaluate(() => window.reader.position('news')), { offset: 9, epoch });
    await publish(9, 10);
    await expectSeen(['text 9 @10']);
    // Nothing more (a window for something that must not happen: load can only make it miss a stray message).
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await page.evaluate(() => window.seen), []);
    assert.deepEqual(await page.evaluate(() => window.reader.position('news')), { offset: 10, epoch });
  } finally {
    await page.close();
    await proxy?.close();
    await stopHost(historyHost);
    redis.kill('SIGKILL');
  }
});
