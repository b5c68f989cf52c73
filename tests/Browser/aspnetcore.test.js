// Chromium against the engine inside an ASP.NET Core application (src/Engine.AspNetCore, served by
// bench/AspNetCorePeer's Release build): wss:// over HTTP/2. Chromium opens a WebSocket over HTTP/2 (RFC 8441) only on
// an HTTP/2 connection it already holds to a server that advertised SETTINGS_ENABLE_CONNECT_PROTOCOL, so the page is
// loaded from the same origin first. The server prints the HTTP version Kestrel saw for each upgrade; the test reads it,
// so "it went over HTTP/2" is the server's word, not the browser's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const peerDll = join(here, '..', '..', 'bench/AspNetCorePeer/bin/Release/net10.0/AspNetCorePeer.dll');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const port = 20000 + Math.floor(Math.random() * 20000);
const origin = `https://localhost:${port}`;

let peer = null;
let output = '';
let browser = null;

before(async () => {
  assert.ok(existsSync(peerDll), `build bench/AspNetCorePeer first (${peerDll})`);
  peer = spawn('dotnet', [peerDll, '--port', String(port), '--tls-self-signed', '--compression', '--log-upgrades'], {
    env: { ...process.env, DOTNET_NOLOGO: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  peer.stdout.on('data', (data) => { output += data; });
  peer.stderr.on('data', (data) => { output += data; });
  // 20 s: the peer starts in about a second; the margin is for a loaded 2-core box.
  await new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.includes('listening on')) { clearInterval(timer); resolve(); }
    }, 50);
    setTimeout(() => { clearInterval(timer); reject(new Error(`peer did not start in 20 s:\n${output}`)); }, 20000);
    peer.on('exit', (code) => { clearInterval(timer); reject(new Error(`peer exited with ${code}:\n${output}`)); });
  });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', '--disable-quic', '--ignore-certificate-errors'],
  });
});

after(async () => {
  await browser?.close();
  if (peer && peer.exitCode === null) {
    await new Promise((resolve) => { peer.once('exit', resolve); peer.kill('SIGTERM'); });
  }
});

test('Chromium speaks to the engine over wss:// on HTTP/2 (RFC 8441), with permessage-deflate', async () => {
  const page = await browser.newPage();
  const response = await page.goto(`${origin}/`);
  assert.equal(response.status(), 200);
  const result = await page.evaluate(async (url) => {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = () => reject(new Error('WebSocket failed')); });
    const text = 'hello over HTTP/2 '.repeat(2000);
    const echoes = [];
    for (let i = 0; i < 3; i++) {
      const echo = new Promise((resolve) => { socket.onmessage = (event) => resolve(event.data); });
      socket.send(`${i}:${text}`);
      echoes.push(await echo);
    }
    const closed = new Promise((resolve) => { socket.onclose = (event) => resolve(event.code); });
    socket.close(1000, 'done');
    return { echoes, expected: [0, 1, 2].map((i) => `${i}:${text}`), extensions: socket.extensions, closeCode: await closed };
  }, `wss://localhost:${port}/ws`);
  assert.deepEqual(result.echoes, result.expected);
  assert.match(result.extensions, /^permessage-deflate/);
  assert.equal(result.closeCode, 1000);
  // The server's own record of the upgrade: Kestrel saw an extended CONNECT on HTTP/2, not an HTTP/1.1 GET.
  const upgrades = output.split('\n').filter((line) => line.startsWith('upgrade '));
  assert.deepEqual(upgrades.map((line) => line.split(' ').slice(0, 4).join(' ')), ['upgrade HTTP/2 CONNECT /ws']);
  await page.close();
});
